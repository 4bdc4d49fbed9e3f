//! The Lloyd loop, generic over the assignment backend.
//!
//! Iteration t (FAISS's convention): assign every row to the nearest of C_t, then update.
//! The update also yields J_t = J(labels_t, C_t), from exact fixed-point cluster sums that
//! carry over between iterations (`super::sums`: only the rows that changed cluster are read). The loop stops when no label moved
//! (t > 1), when (J_{t−1} − J_t) ≤ tol·J_{t−1}, or after `max_iter`; the model keeps C_t and
//! labels_t, which are therefore always consistent (labels are the assignment to the returned
//! centroids). J is non-increasing: J(l_t, C_t) ≤ J(l_{t−1}, C_t) ≤ J(l_{t−1}, C_{t−1})
//! (computed, up to the expansion's rounding, ~10⁻¹⁶ of the data's spread about its middle).

use super::chunked::{eligible, label_chunks};
use super::pruned::{label_pruned, Bounds};
use super::sums::Sums;
use super::{IterStats, KMeansParams, Monitor, StopReason};
use crate::data::MatrixView;
use crate::error::{Error, Result};
use crate::linalg::{assign_with, PackedCentroids};
use crate::simd;
use std::time::Instant;

/// The assignment seam: every backend labels rows with their exact nearest centroid.
pub(crate) trait Assigner {
    /// Writes the nearest centroid of every row into `labels` (which holds the previous
    /// labels on later calls). Returns the number of rows whose distances were computed.
    fn assign(
        &mut self,
        x: MatrixView<'_>,
        norms: &[f32],
        c: &[f32],
        labels: &mut [u32],
        mon: &dyn Monitor,
    ) -> Result<usize>;

    /// True for the plain dense pass, which `run` runs as the chunked labelling pass
    /// ([`super::chunked`]) when k·d is small.
    fn dense(&self) -> bool {
        false
    }

    /// True when the next pass needs only the labels (a backend's full pass whose bounds a
    /// later full pass recomputes anyway): `run` then labels with the plain dense pass
    /// (the chunked pass where Lloyd labels in chunks) and calls [`Assigner::plain_done`].
    fn plain_next(&self) -> bool {
        false
    }

    /// Tells the backend that `run` made its next pass a plain one.
    fn plain_done(&mut self) {}

    /// True when, at shapes where Lloyd labels in chunks, `run` should label with Hamerly's
    /// bounds inside the chunked pass ([`super::pruned::label_pruned`]: the labels of the
    /// dense pass) instead of calling [`Assigner::assign`].
    fn prune(&self, _k: usize, _d: usize) -> bool {
        false
    }

    /// True when, at shapes where Lloyd labels in chunks, `run` should prune with a lower bound per row
    /// and centroid (`super::pruned::Bounds::new`) rather than Hamerly's one.
    fn per_centroid(&self, _n: usize, _k: usize, _d: usize) -> bool {
        false
    }
}

/// Plain Lloyd: every row against every centroid through the tiled kernel.
pub(crate) struct Dense {
    metric: crate::Metric,
    scores: Vec<f32>,
    prune: bool,
}

impl Dense {
    pub fn new(metric: crate::Metric) -> Self {
        Dense {
            metric,
            scores: Vec::new(),
            prune: false,
        }
    }

    /// Plain Lloyd whose chunked passes are pruned by Hamerly's bounds from
    /// [`PRUNE_MIN_D`] dimensions on (`auto`'s executor of a Lloyd plan; the same bits).
    pub fn pruned(metric: crate::Metric) -> Self {
        Dense {
            prune: true,
            ..Dense::new(metric)
        }
    }
}

/// Fewest dimensions from which `auto`'s Lloyd prunes its chunked passes with Hamerly's bounds
/// ([`Dense::pruned`]). A skipped row saves k·d fmas of the kernel and costs a bound test, and
/// a row that fails it costs one exact distance (d fmas), a copy and the top-2 pass; where the
/// pass is bound by reading the rows, the rows stream in while the kernel works on fewer of
/// them. `examples/fit_file`, 2 threads, 25 iterations, min of 5, alternating, dense → pruned:
/// Fashion-MNIST 70k × 784, k = 20: 420–508 → 335–341 ms; k = 40: 387–408 → 323–349;
/// anisotropic 100k × 768, k = 32: 185–205 → 149–170; k = 64: 444–494 → 374–419. Lower
/// dimensions lost: 20 Newsgroups 18 846 × 384 (unit rows, where bounds prune 0–50% of the
/// rows), l2 k = 10: 40–44 → 52–64 ms; cosine k = 80: 198–225 → 240–249; digits k = 10:
/// 3.7 → 4.7–5.0. Fashion-MNIST k = 5 and 10 gain a little (six alternating pairs each,
/// min of 5: k = 5 111–126 → 96–114 ms, k = 10 99–113 → 97–102 ms).
/// Not where the dense pass is bf16-screened (`linalg::screened`), whose rescans would run
/// unscreened: anisotropic k = 256, 2.86–3.48 → 3.16–3.78 s. On a pass whose bounds fail for
/// more than 60% of the rows the run backs off to dense passes ([`Pruning`]).
pub(crate) const PRUNE_MIN_D: usize = 512;

/// Fewest centroids from which `auto`'s Lloyd prunes its chunked passes with a lower bound
/// per row and centroid (Elkan's; `super::pruned`) instead of Hamerly's one bound, from
/// [`PRUNE_MIN_D`] dimensions; from [`PER_CENTROID_MIN_D`] to there, where it had no bounds,
/// from [`PER_CENTROID_MIN_K_LOW_D`] centroids; either way when the bounds fit
/// [`PER_CENTROID_BYTES`]. A row then skips the kernel unless a centroid's own bound,
/// lowered by that centroid's drift alone, falls below its upper bound, where Hamerly's
/// bound falls by the largest drift of all: on 20 Newsgroups l2 k = 80 the rows rescanned
/// per pass from the 8th iteration on fell from 30–82% of n (Hamerly) to 17–48% (both after
/// tightening; a numpy replay of Lloyd's iterations; vorn's own run rescans 23–47% from its
/// 7th pass). Each row pays k bound updates and one exact distance per pass, and a fresh
/// process first-touches the 4·n·k bytes, so few or short centroids gain nothing.
///
/// Measured with `examples/fit_file COLD=1` (the benchmark's protocol: a fresh process, a
/// warm-up fit, then the timed one), 2 threads, AVX-512, alternating runs, median (min) ms,
/// before → with these bounds: Fashion-MNIST 70k × 784 (before: Hamerly's bound) k = 20,
/// 4 runs, 308 (295) → 251 (227); k = 40 500 (489) → 414 (406); 20 Newsgroups 18 846 × 384
/// (before: no bounds), 6 runs: l2 k = 80 197 (193) → 181 (179), cosine k = 80 207 (197) →
/// 187 (177), cosine k = 40 121 (107) → 112 (103), l2 k = 40 94 (87) → 94 (91); but l2
/// k = 20 71 (62) → 79 (68) and cosine k = 20 65 (62) → 65 (60), hence the higher bar
/// below d = 512; anisotropic 100k × 768, 4 runs: k = 32 175 (145) → 166 (153), k = 64
/// 330 (321) → 341 (321), equal within noise. In-process (`REPEAT=5`, min): digits 1797 × 64
/// k = 10 1.57 → 2.00 ms, 20 Newsgroups l2 k = 16 59 → 62.
pub(crate) const PER_CENTROID_MIN_K: usize = 20;
/// See [`PER_CENTROID_MIN_K`].
pub(crate) const PER_CENTROID_MIN_K_LOW_D: usize = 40;
/// See [`PER_CENTROID_MIN_K`].
pub(crate) const PER_CENTROID_MIN_D: usize = 128;
/// Most bytes of per-centroid bounds (4·n·k) a run keeps: 32 MiB, half the 64 MiB of
/// working memory a fit may take beyond its data (20 Newsgroups k = 80: 6 MiB; anisotropic
/// 100k × 768 k = 64: 24 MiB).
pub(crate) const PER_CENTROID_BYTES: usize = 32 << 20;

/// State of the pruned chunked passes of one run: the bounds, and a back-off like Hamerly's
/// when the bounds stop pruning.
struct Pruning {
    bounds: Bounds,
    /// Plain dense passes still to run before the bounds are recomputed.
    dense_left: usize,
    /// Length of the next run of dense passes after a pass that pruned too little.
    backoff: usize,
}

impl Assigner for Dense {
    fn assign(
        &mut self,
        x: MatrixView<'_>,
        _norms: &[f32],
        c: &[f32],
        labels: &mut [u32],
        mon: &dyn Monitor,
    ) -> Result<usize> {
        let pc = PackedCentroids::new(c, c.len() / x.d(), x.d(), self.metric);
        self.scores.resize(x.n(), 0.0);
        assign_with(simd::active(), x, &pc, labels, &mut self.scores, &|| {
            mon.cancelled()
        })?;
        Ok(x.n())
    }

    fn dense(&self) -> bool {
        true
    }

    fn prune(&self, k: usize, d: usize) -> bool {
        self.prune && d >= PRUNE_MIN_D && !crate::linalg::screened(k, d)
    }

    fn per_centroid(&self, n: usize, k: usize, d: usize) -> bool {
        self.prune
            && d >= PER_CENTROID_MIN_D
            && k >= if d >= PRUNE_MIN_D {
                PER_CENTROID_MIN_K
            } else {
                PER_CENTROID_MIN_K_LOW_D
            }
            && n.saturating_mul(k).saturating_mul(4) <= PER_CENTROID_BYTES
            && !crate::linalg::screened(k, d)
    }
}

/// Outcome of one run.
pub(crate) struct RunResult {
    pub centroids: Vec<f32>,
    pub labels: Vec<u32>,
    pub objective: f64,
    pub n_iter: usize,
    pub stop: StopReason,
    pub stats: Vec<IterStats>,
}

/// Runs Lloyd iterations from `c0`.
pub(crate) fn run(
    x: MatrixView<'_>,
    norms: &[f32],
    p: &KMeansParams,
    c0: Vec<f32>,
    assigner: &mut dyn Assigner,
    run_id: usize,
    mon: &dyn Monitor,
) -> Result<RunResult> {
    let n = x.n();
    let mut c = c0;
    let mut next = c.clone();
    let mut labels = vec![0u32; n];
    let mut prev_labels = vec![u32::MAX; n];
    let mut prev_obj: Option<f64> = None;
    // Every backend's labels go through the same exact sums (`Sums`: the rows that changed
    // cluster are moved), so every backend returns the same bits from the same labels.
    let chunked = eligible(n, c.len() / x.d(), x.d());
    let chunks = assigner.dense() && chunked;
    // Bounds between the chunked passes, when the backend prunes them.
    let kk = c.len() / x.d();
    let per = assigner.per_centroid(n, kk, x.d());
    let mut pruning = (chunked && (per || assigner.prune(kk, x.d()))).then(|| Pruning {
        bounds: Bounds::new(per),
        dense_left: 0,
        backoff: 1,
    });
    // Kernel scores of the chunked passes (sized on the first one).
    let mut scores = Vec::new();
    let mut dense = Dense::new(p.metric);
    let mut sums = Sums::new(n, norms, p.metric, &c, kk);
    let mut stats = Vec::new();
    for t in 1..=p.max_iter {
        if mon.cancelled() {
            return Err(Error::Interrupted);
        }
        let t0 = Instant::now();
        let plain = !chunks && assigner.plain_next();
        if plain {
            assigner.plain_done();
        }
        let prune_now = pruning.as_ref().is_some_and(|q| q.dense_left == 0);
        if let Some(q) = pruning.as_mut().filter(|_| !prune_now) {
            q.dense_left -= 1;
        }
        let (scanned, t1) = if let Some(q) = pruning.as_mut().filter(|_| prune_now) {
            let fresh = q.bounds.fresh();
            let (b, s) = (&mut q.bounds, Some(&mut sums));
            let scanned = label_pruned(x, norms, p.metric, &c, &mut labels, b, s, mon)?;
            // Pruning that saves less than ~40% of the rows costs more than it saves (tests,
            // tightening, copies): run dense passes, then renew the bounds with a full pass.
            if !fresh && scanned * 5 > n * 3 {
                q.dense_left = q.backoff - 1;
                q.backoff = (q.backoff * 2).min(16);
                q.bounds.reset();
            } else if !fresh {
                q.backoff = 1;
            }
            (scanned, Instant::now())
        } else if chunks || (plain && chunked) || pruning.is_some() {
            scores.resize(n, 0.0);
            let s = Some(&mut sums);
            label_chunks(x, norms, p.metric, &c, &mut labels, &mut scores, s, mon)?;
            (n, Instant::now())
        } else {
            let a: &mut dyn Assigner = if plain { &mut dense } else { &mut *assigner };
            let scanned = a.assign(x, norms, &c, &mut labels, mon)?;
            sums.track(x, norms, &prev_labels, &labels);
            (scanned, Instant::now())
        };
        let upd = sums.update(x, norms, &labels, &c, &mut next);
        let moved = labels
            .iter()
            .zip(&prev_labels)
            .filter(|(a, b)| a != b)
            .count();
        let st = IterStats {
            run: run_id,
            iter: t,
            objective: upd.objective,
            moved,
            empty_splits: upd.empty_splits,
            rows_scanned: scanned,
            assign_secs: (t1 - t0).as_secs_f64(),
            update_secs: t1.elapsed().as_secs_f64(),
        };
        mon.iteration(&st);
        stats.push(st);
        let obj = upd.objective;
        let stop = if t > 1 && moved == 0 {
            Some(StopReason::Converged)
        } else if prev_obj.is_some_and(|po| po - obj <= p.tol * po) {
            Some(StopReason::Tolerance)
        } else if t == p.max_iter {
            Some(StopReason::MaxIter)
        } else {
            None
        };
        if let Some(stop) = stop {
            return Ok(RunResult {
                centroids: c,
                labels,
                objective: obj,
                n_iter: t,
                stop,
                stats,
            });
        }
        prev_obj = Some(obj);
        std::mem::swap(&mut c, &mut next);
        prev_labels.copy_from_slice(&labels);
    }
    unreachable!("max_iter >= 1 is validated")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::validate;
    use crate::kmeans::hamerly::Hamerly;
    use crate::kmeans::Silent;
    use crate::metric::Metric;
    use crate::rng::Rng;

    /// The two runs returned the same labels, iteration count, objective and centroid bits.
    /// Start centroids from `rows` (normalised for cosine) and plain Lloyd's run from them.
    fn start_and_lloyd(
        x: MatrixView<'_>,
        norms: &[f32],
        p: &KMeansParams,
        rows: &[f32],
        metric: Metric,
    ) -> (Vec<f32>, RunResult) {
        let mut c0 = rows.to_vec();
        if metric == Metric::Cosine {
            crate::kmeans::init::normalize_rows(&mut c0, x.d());
        }
        let l = run(x, norms, p, c0.clone(), &mut Dense::new(metric), 0, &Silent).unwrap();
        (c0, l)
    }

    fn assert_same_run(a: &RunResult, b: &RunResult, ctx: &str) {
        assert_eq!(a.labels, b.labels, "{ctx}");
        assert_eq!(a.n_iter, b.n_iter, "{ctx}");
        assert_eq!(a.objective.to_bits(), b.objective.to_bits(), "{ctx}");
        let bits = |c: &[f32]| c.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a.centroids), bits(&b.centroids), "{ctx}");
    }

    /// Hamerly, counting the passes `run` made plain.
    struct Counting(Hamerly, usize);

    impl Assigner for Counting {
        fn assign(
            &mut self,
            x: MatrixView<'_>,
            norms: &[f32],
            c: &[f32],
            labels: &mut [u32],
            mon: &dyn Monitor,
        ) -> Result<usize> {
            self.0.assign(x, norms, c, labels, mon)
        }
        fn plain_next(&self) -> bool {
            self.0.plain_next()
        }
        fn plain_done(&mut self) {
            self.1 += 1;
            self.0.plain_done()
        }
    }

    #[test]
    fn pruned_lloyd_keeps_lloyds_bits_and_backs_off_where_bounds_fail() {
        // `auto`'s Lloyd (`Dense::pruned`) at d = PRUNE_MIN_D, where it prunes its chunked
        // passes with Hamerly's bounds below PER_CENTROID_MIN_K centroids and with
        // per-centroid bounds from there, and at PER_CENTROID_MIN_D from
        // PER_CENTROID_MIN_K_LOW_D centroids: blobs (the bounds prune most rows once Lloyd
        // settles) and pure noise (they prune little, and the passes back off to dense ones).
        // Same labels, centroids, objective and iteration count as plain Lloyd.
        let (n, d, k) = (3000usize, PRUNE_MIN_D, 16usize);
        let (pk, lk, ld) = (
            PER_CENTROID_MIN_K,
            PER_CENTROID_MIN_K_LOW_D,
            PER_CENTROID_MIN_D,
        );
        let dp = Dense::pruned(Metric::L2);
        // The chunked pass needs k ≤ chunk/8: more rows for the larger k.
        let nl = 12_000;
        assert!(super::eligible(n, pk, d) && super::eligible(nl, lk, ld));
        assert!(dp.prune(k, d) && !dp.per_centroid(n, k, d));
        assert!(!dp.prune(k, d - 1));
        assert!(!Dense::new(Metric::L2).prune(k, d));
        assert!(dp.per_centroid(n, pk, d) && !dp.per_centroid(n, pk - 1, d));
        assert!(dp.per_centroid(n, lk, ld) && !dp.per_centroid(n, lk - 1, ld));
        assert!(!dp.per_centroid(n, pk, d - 1) && !dp.per_centroid(n, lk, ld - 1));
        assert!(!Dense::new(Metric::L2).per_centroid(n, lk, ld));
        let most = PER_CENTROID_BYTES / 4 / lk;
        assert!(dp.per_centroid(most, lk, 200) && !dp.per_centroid(most + 1, lk, 200));
        for (n, d, k) in [(n, d, k), (n, d, pk), (nl, ld, lk)] {
            pruned_run_case(n, d, k);
        }
    }

    fn pruned_run_case(n: usize, d: usize, k: usize) {
        let mut r = Rng::new(17);
        // 4k blobs for k clusters: Lloyd keeps moving for several passes.
        // Centres ~16 apart whatever d (noise ‖·‖ ≈ √(2d) between two rows).
        let spread = 0.5 * (512.0 / d as f64).sqrt();
        let centres: Vec<f32> = (0..4 * k * d)
            .map(|_| (spread * r.normal()) as f32)
            .collect();
        for noise in [false, true] {
            let data: Vec<f32> = (0..n * d)
                .map(|e| {
                    let (i, p) = (e / d, e % d);
                    let c = if noise {
                        0.0
                    } else {
                        centres[(i % (4 * k)) * d + p]
                    };
                    c + r.normal() as f32
                })
                .collect();
            let x = MatrixView::new(&data, n, d).unwrap();
            for metric in [Metric::L2, Metric::Cosine] {
                let norms = validate(x, metric).unwrap();
                let p = KMeansParams::new(k).metric(metric).tol(0.0).max_iter(12);
                let (c0, l) = start_and_lloyd(x, &norms, &p, &data[(n - k) * d..], metric);
                let b = run(x, &norms, &p, c0, &mut Dense::pruned(metric), 0, &Silent).unwrap();
                let ctx = format!("{n} x {d}, k = {k}, noise={noise} {metric:?}");
                assert_same_run(&l, &b, &ctx);
                let scans: Vec<usize> = b.stats.iter().map(|s| s.rows_scanned).collect();
                if !noise {
                    assert!(
                        scans.iter().any(|&s| s * 4 < n),
                        "{ctx}: the bounds pruned little: {scans:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn plain_passes_of_a_bounded_backend_keep_lloyds_bits() {
        // Unstructured gaussian data: the bounds prune little, Hamerly backs off into runs of
        // full passes, and all but the last of each run are plain. Chunked (k·d small) and
        // unchunked (k > chunk/8) shapes.
        let mut r = Rng::new(5);
        for &(n, d, k) in &[(4000usize, 24usize, 20usize), (2000, 16, 300)] {
            assert_eq!(super::eligible(n, k, d), k == 20);
            let data: Vec<f32> = (0..n * d).map(|_| r.normal() as f32).collect();
            let x = MatrixView::new(&data, n, d).unwrap();
            for metric in [Metric::L2, Metric::Cosine] {
                let norms = validate(x, metric).unwrap();
                let p = KMeansParams::new(k).metric(metric).tol(0.0).max_iter(30);
                let (c0, l) = start_and_lloyd(x, &norms, &p, &data[..k * d], metric);
                let mut h = Counting(Hamerly::new(metric), 0);
                let b = run(x, &norms, &p, c0, &mut h, 0, &Silent).unwrap();
                assert!(h.1 > 0, "{n} x {d}, k = {k}, {metric:?}: no plain pass");
                assert_same_run(&l, &b, &format!("{n} x {d}, k = {k}, {metric:?}"));
            }
        }
    }
}
