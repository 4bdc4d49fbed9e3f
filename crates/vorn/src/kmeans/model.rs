//! The fitted model: centroids, labels, objective, statistics; predict and transform.

use super::pool::with_threads;
use super::reduce::ordered_sum;
use super::update::{exact_dist, inv_norm};
use super::{IterStats, Monitor, Silent, StopReason};
use crate::cluster::Algorithm;
use crate::data::{validate, MatrixView};
use crate::error::{Error, Result};
use crate::linalg::{assign, distances, PackedCentroids, INLINE_WORK};
use crate::metric::Metric;

/// A fitted k-means model.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansModel {
    pub(crate) centroids: Vec<f32>,
    pub(crate) k: usize,
    pub(crate) d: usize,
    pub(crate) metric: Metric,
    pub(crate) algorithm: Algorithm,
    pub(crate) labels: Vec<u32>,
    pub(crate) inertia: f64,
    pub(crate) n_iter: usize,
    pub(crate) stop: StopReason,
    pub(crate) stats: Vec<IterStats>,
    pub(crate) n_train: usize,
    /// The centroids in panel layout for `predict` / `transform`, packed on first use.
    pub(crate) packed: PackCache,
}

/// A lazily built [`PackedCentroids`] of a model's centroids (which never change after the
/// model is built). Derived data: it takes no part in equality, and a clone copies it.
#[derive(Clone, Default)]
pub(crate) struct PackCache(std::sync::OnceLock<PackedCentroids>);

impl PartialEq for PackCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for PackCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = if self.0.get().is_some() {
            "packed"
        } else {
            "empty"
        };
        write!(f, "PackCache({state})")
    }
}

impl KMeansModel {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn from_parts(
        centroids: Vec<f32>,
        k: usize,
        d: usize,
        metric: Metric,
        algorithm: Algorithm,
        labels: Vec<u32>,
        inertia: f64,
        n_iter: usize,
        stop: StopReason,
        stats: Vec<IterStats>,
        n_train: usize,
    ) -> Self {
        KMeansModel {
            centroids,
            k,
            d,
            metric,
            algorithm,
            labels,
            inertia,
            n_iter,
            stop,
            stats,
            n_train,
            packed: PackCache::default(),
        }
    }

    /// Builds a model from centroids alone (e.g. to `predict` with centroids from elsewhere).
    /// For cosine the centroids are normalised to unit length (the kernel compares by
    /// angle assuming unit centroids); an all-zero centroid is then an error.
    pub fn from_centroids(
        mut centroids: Vec<f32>,
        k: usize,
        d: usize,
        metric: Metric,
    ) -> Result<Self> {
        if k == 0 || d == 0 || centroids.len() != k * d {
            return Err(Error::param(
                "centroids",
                format!("{} values cannot be {k} x {d} centroids", centroids.len()),
            ));
        }
        if centroids.iter().any(|v| !v.is_finite()) {
            return Err(Error::param("centroids", "contain a non-finite value"));
        }
        if metric == Metric::Cosine {
            if let Some(j) = centroids
                .chunks(d)
                .position(|r| r.iter().all(|&v| v == 0.0))
            {
                return Err(Error::param(
                    "centroids",
                    format!("centroid {j} is all zeros, which has no direction under cosine"),
                ));
            }
            super::init::normalize_rows(&mut centroids, d);
        }
        Ok(KMeansModel {
            centroids,
            k,
            d,
            metric,
            algorithm: Algorithm::Lloyd,
            labels: Vec::new(),
            inertia: 0.0,
            n_iter: 0,
            stop: StopReason::MaxIter,
            stats: Vec::new(),
            n_train: 0,
            packed: PackCache::default(),
        })
    }

    /// Row-major `k × d` centroids (unit-norm for cosine).
    pub fn centroids(&self) -> &[f32] {
        &self.centroids
    }
    /// Number of clusters.
    pub fn k(&self) -> usize {
        self.k
    }
    /// Dimension.
    pub fn d(&self) -> usize {
        self.d
    }
    /// Metric.
    pub fn metric(&self) -> Metric {
        self.metric
    }
    /// The backend that ran (never `Auto`).
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
    /// Label of every row of the fitted data (nearest returned centroid).
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }
    /// Σ squared distance of every fitted row to its centroid (cosine: Σ ‖x̂ − c‖²).
    pub fn inertia(&self) -> f64 {
        self.inertia
    }
    /// Iterations of the winning run.
    pub fn n_iter(&self) -> usize {
        self.n_iter
    }
    /// Why the winning run stopped.
    pub fn stop_reason(&self) -> StopReason {
        self.stop
    }
    /// Statistics of every iteration of every run.
    pub fn iteration_stats(&self) -> &[IterStats] {
        &self.stats
    }
    /// Rows used for training.
    pub fn n_train(&self) -> usize {
        self.n_train
    }

    /// The centroids in panel layout (packed once, on first use).
    fn packed(&self) -> &PackedCentroids {
        self.packed
            .0
            .get_or_init(|| PackedCentroids::new(&self.centroids, self.k, self.d, self.metric))
    }

    /// Whether predicting or transforming `n` rows is below [`INLINE_WORK`].
    pub fn is_small(&self, n: usize) -> bool {
        n.saturating_mul(self.k).saturating_mul(self.d) <= INLINE_WORK
    }

    /// Runs `f` (the pass over `n` rows) inline on the calling thread when the pass is small,
    /// else on `n_threads` ([`with_threads`]). Results do not depend on which.
    fn sized<T: Send>(
        &self,
        n: usize,
        n_threads: Option<usize>,
        f: impl FnOnce() -> T + Send,
    ) -> Result<T> {
        if self.is_small(n) {
            Ok(f())
        } else {
            with_threads(n_threads, f)
        }
    }

    fn check(&self, x: MatrixView<'_>) -> Result<Vec<f32>> {
        if x.d() != self.d {
            return Err(Error::DimensionMismatch {
                expected: self.d,
                got: x.d(),
            });
        }
        validate(x, self.metric)
    }

    /// Nearest centroid of each row of `x` (independent of batch size and threads).
    pub fn predict(&self, x: MatrixView<'_>) -> Result<Vec<u32>> {
        self.predict_with(x, None, &Silent)
    }

    /// [`predict`](Self::predict) on `n_threads` with a monitor.
    pub fn predict_with(
        &self,
        x: MatrixView<'_>,
        n_threads: Option<usize>,
        mon: &dyn Monitor,
    ) -> Result<Vec<u32>> {
        self.check(x)?;
        let pc = self.packed();
        let run = move || assign(x, pc, &|| mon.cancelled());
        Ok(self.sized(x.n(), n_threads, run)??.labels)
    }

    /// Distance of every row to every centroid, row-major `n × k`: Euclidean distance for L2
    /// (scikit-learn's `transform`), cosine distance 1 − cos for cosine.
    pub fn transform(&self, x: MatrixView<'_>) -> Result<Vec<f32>> {
        self.transform_with(x, None, &Silent)
    }

    /// [`transform`](Self::transform) on `n_threads` with a monitor.
    pub fn transform_with(
        &self,
        x: MatrixView<'_>,
        n_threads: Option<usize>,
        mon: &dyn Monitor,
    ) -> Result<Vec<f32>> {
        let norms = self.check(x)?;
        let len = x
            .n()
            .checked_mul(self.k)
            .ok_or_else(|| Error::param("x", "n x k distances overflow usize"))?;
        let pc = self.packed();
        let mut out = crate::memory::zeroed::<f32>(len, "the n x k distances")?;
        let metric = self.metric;
        let finish = move |i: usize, s: f32| -> f32 {
            let d2 = super::init::score_to_dist(metric, norms[i], s);
            match metric {
                Metric::L2 => d2.sqrt(),
                Metric::Cosine => 0.5 * d2,
            }
        };
        let outr = &mut out;
        let run = move || distances(x, pc, outr, &finish, &|| mon.cancelled());
        self.sized(x.n(), n_threads, run)??;
        Ok(out)
    }

    /// Objective of `x` under this model: Σ squared distance to the nearest centroid
    /// (scikit-learn's `score` is its negative).
    pub fn inertia_of(&self, x: MatrixView<'_>) -> Result<f64> {
        let labels = self.predict(x)?;
        let norms = validate(x, self.metric)?;
        let d = self.d;
        let c = &self.centroids;
        Ok(ordered_sum(x.n(), |r| {
            r.map(|i| {
                let l = labels[i] as usize;
                exact_dist(
                    x.row(i),
                    inv_norm(self.metric, &norms, i),
                    &c[l * d..(l + 1) * d],
                )
            })
            .sum()
        }))
    }
}
