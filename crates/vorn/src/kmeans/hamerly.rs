//! Hamerly's bound-pruned exact assignment (G. Hamerly, "Making k-means even faster",
//! SDM 2010), made label-identical to the tiled Lloyd pass.
//!
//! Per row i with label a: an upper bound u_i ≥ ‖x_i − c_a‖ and a lower bound
//! l_i ≤ min_{j≠a} ‖x_i − c_j‖. After centroids move by δ_j: u_i += δ_a, l_i −= max_{j≠a} δ_j.
//! With s_a = ½ min_{j≠a} ‖c_a − c_j‖, every other centre is at least max(l_i, 2s_a − u_i)
//! away. The row keeps its label without any distance computation when that lower bound
//! beats u_i by a margin 2E_i; otherwise u_i is tightened with one exact distance and the
//! test repeated; rows that still fail are gathered and rescanned through the same kernel.
//!
//! **Why labels equal Lloyd's bit for bit.** Lloyd picks the arg-min of the f32 scores
//! s_j = ‖c_j‖² − 2·x·c_j. Each differs from its exact value by at most
//! E_i = 4(d + 4)·2⁻²⁴·(‖x_i‖ + max‖c‖)² (+ the unit-norm defect for cosine), a standard
//! fma dot-product error bound with slack. If lb² − u² > 2E_i then every s_j exceeds s_a,
//! so the kernel would pick a as well. Bounds from scores are widened by E_i in the safe
//! direction.
//! The update then moves the rows that changed cluster in the exact fixed-point sums
//! (`super::sums`), so centroids and objective are Lloyd's bits too. Cosine works in the same Euclidean geometry on the raw rows, since
//! argmin_j ‖x − c_j‖² = argmin_j (1 − 2·x·c_j) for unit c_j.
//!
//! Where Lloyd labels in chunks (`super::chunked::eligible`), `run` does not call this
//! backend's `assign`: the same tests run per group of rows inside the chunked pass
//! (`super::pruned::label_pruned`, with [`Drift`] and the margins below).
//!
//! Memory: the bounds (two f32 per row), and per pass the ids of the rows to rescan (4 bytes
//! each), full-pass results (12 bytes per row) and gathered rows in slabs of at most
//! [`GATHER_BYTES`]. Cost per iteration: O(n + k²d) plus O(d) per tightened row and
//! O(kd) per rescanned row.

use super::lloyd::Assigner;
use super::Monitor;
use crate::data::MatrixView;
use crate::error::Result;
use crate::linalg::{top2, PackedCentroids};
use crate::metric::Metric;
use crate::simd;
use rayon::prelude::*;

const CHUNK: usize = 4096;
/// Bytes of gathered rows per rescan slab (bounds the copy whatever d and the failing
/// fraction are).
const GATHER_BYTES: usize = 8 << 20;

/// Bound-pruned assignment state.
pub(crate) struct Hamerly {
    metric: Metric,
    prev: Vec<f32>,
    upper: Vec<f32>,
    lower: Vec<f32>,
    /// Passes to run as direct full rescans (no per-row tests, no gather; they also
    /// re-tighten every bound) before testing the bounds again. All but the last of them are
    /// plain Lloyd passes ([`Assigner::plain_next`]: best score only, the chunked pass where
    /// Lloyd labels in chunks), since only the last one's bounds are ever used.
    full_left: usize,
    /// Length of the next run of full passes when a tested pass prunes too little; doubles
    /// on each failure, back to 1 on success, so data where bounds never prune (high d,
    /// no structure) costs little more than plain Lloyd.
    backoff: usize,
}

impl Hamerly {
    pub fn new(metric: Metric) -> Self {
        Hamerly {
            full_left: 0,
            backoff: 1,
            metric,
            prev: Vec::new(),
            upper: Vec::new(),
            lower: Vec::new(),
        }
    }
}

#[inline]
pub(crate) fn margin(d: usize, norm2: f32, maxc: f64, cdefect: f64) -> f64 {
    let r = (norm2 as f64).sqrt() + maxc;
    4.0 * (d as f64 + 4.0) * f64::powi(2.0, -24) * r * r + 2.0 * cdefect
}

/// The centroid terms of [`margin`] for row-major centroids `c` (k × d): the largest norm
/// max‖c‖, and for cosine the unit-norm defect max |1 − ‖c‖²| (0 for L2).
pub(crate) fn margin_terms(c: &[f32], d: usize, metric: Metric) -> (f64, f64) {
    let cnorm: Vec<f64> = c
        .chunks(d)
        .map(|r| r.iter().map(|&v| v as f64 * v as f64).sum::<f64>())
        .collect();
    let maxc = cnorm.iter().cloned().fold(0.0, f64::max).sqrt();
    let cdefect = match metric {
        Metric::L2 => 0.0,
        Metric::Cosine => cnorm.iter().map(|v| (1.0 - v).abs()).fold(0.0, f64::max),
    };
    (maxc, cdefect)
}

/// Euclidean distance through the SIMD row kernel (f32 lanes, f64 lane sum) with its
/// relative error bound: the true distance lies within `dist · (1 ± rel_err(d))`.
pub(crate) fn dist(a: &[f32], b: &[f32]) -> f64 {
    simd::vector::sqdist(simd::active(), a, b).sqrt()
}

/// Relative error bound of [`dist`]: each lane sums ⌈d/16⌉ squares of rounded differences
/// in f32, so the squared distance is within (⌈d/16⌉ + 3)·2⁻²³ relative; doubled for slack.
pub(crate) fn rel_err(d: usize) -> f64 {
    (d.div_ceil(16) as f64 + 3.0) * f64::powi(2.0, -22)
}

/// Whether a lower bound `lb` on the distances to other centroids beats the upper bound `u`
/// on the distance to the own one by the margin `e` of the row ([`margin`]): then every other
/// kernel score exceeds the own centroid's (see the module doc).
#[inline]
pub(crate) fn beats(lb: f64, u: f64, e: f64) -> bool {
    lb > u && lb * lb - u * u > 2.0 * e
}

/// Upper/lower bounds from kernel scores, widened by the error margin.
#[inline]
pub(crate) fn bounds_from_scores(norm2: f32, best: f32, second: f32, e: f64) -> (f32, f32) {
    let u = ((norm2 as f64 + best as f64 + e).max(0.0)).sqrt() as f32;
    let l = if second.is_finite() {
        ((norm2 as f64 + second as f64 - e).max(0.0)).sqrt() as f32
    } else {
        f32::INFINITY
    };
    (
        u.next_up(),
        if l.is_finite() {
            l.next_down().max(0.0)
        } else {
            l
        },
    )
}

/// How far the centroids moved since the bounds were last valid, and how far apart they are.
pub(crate) struct Drift {
    /// δ_j ≥ ‖c_j − c'_j‖ (widened by the distance's error bound).
    pub delta: Vec<f64>,
    /// The largest δ, the second largest, and the centroid with the largest.
    pub m1: f64,
    pub m2: f64,
    pub arg: usize,
    /// s_j ≤ ½ min_{o≠j} ‖c_j − c_o‖.
    pub half: Vec<f64>,
}

impl Drift {
    /// From the row-major centroids `c` and their previous values `prev` (both k × d).
    pub fn new(c: &[f32], prev: &[f32], d: usize, eps: f64) -> Self {
        let k = c.len() / d;
        let delta: Vec<f64> = (0..k)
            .into_par_iter()
            .map(|j| dist(&c[j * d..(j + 1) * d], &prev[j * d..(j + 1) * d]) * (1.0 + eps))
            .collect();
        let (mut m1, mut m2, mut arg) = (0f64, 0f64, usize::MAX);
        for (j, &v) in delta.iter().enumerate() {
            if v > m1 {
                m2 = m1;
                m1 = v;
                arg = j;
            } else if v > m2 {
                m2 = v;
            }
        }
        let half: Vec<f64> = (0..k)
            .into_par_iter()
            .map(|j| {
                let cj = &c[j * d..(j + 1) * d];
                let m = (0..k)
                    .filter(|&o| o != j)
                    .map(|o| dist(cj, &c[o * d..(o + 1) * d]))
                    .fold(f64::INFINITY, f64::min);
                0.5 * m * (1.0 - eps)
            })
            .collect();
        Drift {
            delta,
            m1,
            m2,
            arg,
            half,
        }
    }

    /// The drift of the other centroids' nearest: the largest δ_j over j ≠ a.
    #[inline]
    pub fn others(&self, a: usize) -> f64 {
        if a == self.arg {
            self.m2
        } else {
            self.m1
        }
    }

    /// The test of [`Drift::keeps_label`] given `others`, a lower bound (already valid for
    /// these centroids) on the distance to every centroid but `a`: moves `u` by a's drift
    /// and returns true when the bounds prove that the label stays; otherwise tightens `u`
    /// with `tighten()` and tests again. `u` stays a valid upper bound either way.
    #[inline]
    pub fn keeps_label_given(
        &self,
        a: usize,
        e: f64,
        u: &mut f32,
        others: f64,
        tighten: impl FnOnce() -> f64,
    ) -> bool {
        if self.keeps_before_tightening(a, e, u, others) {
            return true;
        }
        // Tighten with one exact distance (raw-row geometry for both metrics).
        self.keeps_after_tightening(a, e, u, others, tighten())
    }

    /// The first half of [`Drift::keeps_label_given`]: true (with `u` moved by a's drift)
    /// when the bounds prove the label without an exact distance; false leaves `u` as it was.
    #[inline]
    pub fn keeps_before_tightening(&self, a: usize, e: f64, u: &mut f32, others: f64) -> bool {
        let uu = *u as f64 + self.delta[a];
        if self.proves(a, e, others, uu) {
            *u = (uu as f32).next_up();
            return true;
        }
        false
    }

    /// The second half of [`Drift::keeps_label_given`], given the tightened distance `uu`.
    #[inline]
    pub fn keeps_after_tightening(
        &self,
        a: usize,
        e: f64,
        u: &mut f32,
        others: f64,
        uu: f64,
    ) -> bool {
        *u = (uu as f32).next_up();
        self.proves(a, e, others, uu)
    }

    #[inline]
    fn proves(&self, a: usize, e: f64, others: f64, uu: f64) -> bool {
        beats(others.max(2.0 * self.half[a] - uu), uu, e)
    }

    /// Hamerly's test for a row labelled `a` with margin `e` (see [`margin`]): moves its
    /// bounds `u`, `l` by the drift and returns true when they prove that the label stays;
    /// otherwise tightens `u` with `tighten()` (one exact distance, widened by its error
    /// bound) and tests again. `u` and `l` stay valid bounds either way.
    #[inline]
    pub fn keeps_label(
        &self,
        a: usize,
        e: f64,
        u: &mut f32,
        l: &mut f32,
        tighten: impl FnOnce() -> f64,
    ) -> bool {
        let ll = (*l as f64 - self.others(a)).max(0.0);
        *l = (ll as f32).next_down().max(0.0);
        self.keeps_label_given(a, e, u, *l as f64, tighten)
    }
}

impl Assigner for Hamerly {
    /// Where Lloyd labels in chunks, the same bounds run inside the chunked pass (settled rows
    /// are not read; the rescans are batched per group).
    fn prune(&self, _k: usize, _d: usize) -> bool {
        true
    }

    /// A full pass with at least one more full pass after it: its bounds would be
    /// recomputed by that last one before any test, so only its labels matter.
    fn plain_next(&self) -> bool {
        self.full_left >= 2
    }

    fn plain_done(&mut self) {
        self.full_left -= 1;
    }

    fn assign(
        &mut self,
        x: MatrixView<'_>,
        norms: &[f32],
        c: &[f32],
        labels: &mut [u32],
        mon: &dyn Monitor,
    ) -> Result<usize> {
        let (n, d) = (x.n(), x.d());
        let k = c.len() / d;
        let pc = PackedCentroids::new(c, k, d, self.metric);
        let (maxc, cdefect) = margin_terms(c, d, self.metric);
        let e_of = |i: usize| margin(d, norms[i], maxc, cdefect);
        let eps = rel_err(d);

        let was_full = self.prev.len() != c.len() || self.full_left > 0;
        let rescan: Vec<u32> = if was_full {
            self.upper.resize(n, 0.0);
            self.lower.resize(n, 0.0);
            self.full_left = self.full_left.saturating_sub(1);
            (0..n as u32).collect()
        } else {
            let dr = Drift::new(c, &self.prev, d, eps);
            let (upper, lower) = (&mut self.upper, &mut self.lower);
            let parts: Vec<Vec<u32>> = upper
                .par_chunks_mut(CHUNK)
                .zip(lower.par_chunks_mut(CHUNK))
                .enumerate()
                .map(|(ch, (us, ls))| {
                    let mut todo = Vec::new();
                    for (o, (u, l)) in us.iter_mut().zip(ls.iter_mut()).enumerate() {
                        let i = ch * CHUNK + o;
                        let a = labels[i] as usize;
                        let tighten = || dist(x.row(i), &c[a * d..(a + 1) * d]) * (1.0 + eps);
                        if !dr.keeps_label(a, e_of(i), u, l, tighten) {
                            todo.push(i as u32);
                        }
                    }
                    todo
                })
                .collect();
            parts.concat()
        };

        // Pruning that saves less than ~40% of rows costs more than it saves (tests,
        // tightening, gathering): rescan everything directly now, and back off from testing.
        let mut rescan = rescan;
        if !was_full {
            if rescan.len() * 5 > n * 3 {
                rescan = (0..n as u32).collect();
                self.full_left = self.backoff;
                self.backoff = (self.backoff * 2).min(16);
            } else {
                self.backoff = 1;
            }
        }
        let m = rescan.len();
        let mut apply = |ids: &[u32], res: &[(u32, f32, f32)]| {
            for (r, &i) in res.iter().zip(ids) {
                let i = i as usize;
                labels[i] = r.0;
                let (u, l) = bounds_from_scores(norms[i], r.1, r.2, e_of(i));
                self.upper[i] = u;
                self.lower[i] = l;
            }
        };
        if m == n {
            let mut res = vec![(0u32, 0f32, 0f32); n];
            top2(x, &pc, &mut res, &|| mon.cancelled())?;
            apply(&rescan, &res);
        } else {
            // Gather in slabs so the copy stays small whatever fraction of rows fails.
            let mut buf = Vec::new();
            let mut res = Vec::new();
            for ids in rescan.chunks((GATHER_BYTES / (4 * d)).clamp(64, 16384)) {
                buf.clear();
                for &i in ids {
                    buf.extend_from_slice(x.row(i as usize));
                }
                res.resize(ids.len(), (0u32, 0f32, 0f32));
                top2(MatrixView::new(&buf, ids.len(), d)?, &pc, &mut res, &|| {
                    mon.cancelled()
                })?;
                apply(ids, &res);
            }
        }
        self.prev.clear();
        self.prev.extend_from_slice(c);
        Ok(m)
    }
}
