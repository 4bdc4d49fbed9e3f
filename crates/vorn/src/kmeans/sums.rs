//! Cluster sums carried from one Lloyd iteration to the next in exact fixed point, so that an
//! iteration reads the rows that changed cluster instead of every row.
//!
//! Per cluster j, with members M_j = {i : l(i) = j}, the update needs the count n_j, the
//! vector sum and, for the objective, the sum of squared norms, all about a fixed origin o:
//!
//! * `S_j[p] = Σ_{i∈M_j} q_p(s_i·x_ip − o_p)`, with s_i = 1 (l2) or 1/‖x_i‖ (cosine);
//! * `Q_j = Σ_{i∈M_j} r(‖s_i·x_i − o‖²)`.
//!
//! q_p rounds to an integer multiple of 2^(e_p − B) (ties to even), where 2^e_p bounds
//! |s·x_p − o_p| ≤ ρ + |o_p| over all rows (ρ = the largest row norm, from the norms the fit
//! already has, for l2; 1 for cosine's unit rows) and B = min(50, 61 − ⌈log₂(n + 1)⌉), so
//! every per-row term fits 51 bits and every sum of at most n + 1 of them an i64; r does the
//! same for the squared norms with steps 2⁻⁶¹ of their bound, summed in i128. Integer addition
//! is exact and associative, so a sum is a function of the members alone: adding the rows
//! that joined a cluster and subtracting those that left gives the bits of summing its
//! members afresh, in any order, at any thread count. That is why moving rows is enough, and
//! why every backend (dense, Hamerly's bounds, per-centroid bounds) returns the same
//! centroids and objective bits from the same labels. The origin is the mean of the run's
//! initial centroids, so data far from zero loses no precision to the expansion below.
//!
//! Precision: a term's rounding error is at most 2^(e_p − B − 1) ≤ (ρ + |o_p|)·2^−B, i.e.
//! ≤ 2⁻⁵⁰ of the largest row norm for n < 2¹¹, 2⁻⁴¹ at n = 10⁶, 2⁻³¹ at n = 10⁹; a mean's
//! error is bounded by the same (an f64 running sum of n terms has a worst-case error of
//! n·2⁻⁵³ relative to Σ|x|, the f32 centroid itself 2⁻²⁴ of its coordinates).
//!
//! Centroids: c_j = o + S_j·2^(e − B) / n_j (l2); the direction of n_j·o + S_j·2^(e − B)
//! (cosine). The objective of the labels against the centroids C they were assigned to is
//! the expansion J = Σ_j [Q_j − 2·Σ_p (c_jp − o_p)·S_jp + n_j·‖c_j − o‖²] in f64 (each
//! cluster's term clamped at 0): its rounding is ~10⁻¹⁶ of Σ‖s·x − o‖², small against J
//! unless the clusters are ~10⁻¹⁰ tighter than the data's spread about o (Lloyd's stopping
//! test compares J with a relative tolerance of 10⁻⁴ by default).
//!
//! Who adds the rows: the chunked labelling pass (`super::chunked`) gathers the changes while
//! a group's rows are in cache — every row on the run's first pass, then the rows whose label
//! changed, subtracted from their old cluster and added to the new ([`Delta`], merged
//! exactly) — and passes that label otherwise ([`Sums::track`]) move the rows that changed
//! (or sum every row afresh when at least half moved). Per iteration this costs the moved
//! rows' two terms and O(k·d) for the centroids and the objective; the old f64 sums re-read
//! every row, which was 36% of a Fashion-MNIST k = 40 fit once the bounds skip most rows'
//! distances (`examples/fit_file`, perf).

use super::update::{repair, Update};
use crate::data::MatrixView;
use crate::metric::Metric;
use crate::simd::{self, Isa};
use rayon::prelude::*;

/// Most bits of a per-row term.
const MAX_BITS: i32 = 50;
/// Bits of the squared-norm steps below their bound.
const R_BITS: i32 = 61;

/// 2^e as an f64 (exact), for −1022 ≤ e ≤ 1023.
fn pow2(e: i32) -> f64 {
    debug_assert!((-1022..=1023).contains(&e));
    f64::from_bits(((e + 1023) as u64) << 52)
}

/// The least e with 2^e ≥ v, for finite v > 0 (0 for v = 0).
fn exp_bound(v: f64) -> i32 {
    if v <= 0.0 {
        return 0;
    }
    let mut e = v.log2().ceil() as i32;
    while pow2(e) < v {
        e += 1;
    }
    while e > -1022 && pow2(e - 1) >= v {
        e -= 1;
    }
    e
}

/// ⌈log₂ m⌉ for m ≥ 1.
fn ceil_log2(m: usize) -> i32 {
    (usize::BITS - (m.max(1) - 1).leading_zeros()) as i32
}

/// Exact fixed-point cluster sums (see the module docs).
pub(crate) struct Sums {
    d: usize,
    metric: Metric,
    /// Origin per column (f64).
    origin: Vec<f64>,
    /// 2^(B − e_p) and its inverse, per column.
    scale: Vec<f64>,
    unscale: Vec<f64>,
    /// 2^(R_BITS − e_R) for the squared norms, and its inverse.
    rscale: f64,
    runscale: f64,
    /// k × d vector sums, k squared-norm sums, k member counts.
    s: Vec<i64>,
    q: Vec<i128>,
    counts: Vec<usize>,
    /// Whether `s`, `q`, `counts` hold the sums of the last labels given.
    ready: bool,
}

impl Sums {
    /// Sums for the `k` clusters of the rows of `x`, about the mean `o` of the initial
    /// centroids `c0` (not yet filled: the first [`Sums::track`] or [`Sums::add`] does). The
    /// bound |s·x_p − o_p| ≤ ρ + |o_p| needs no pass over the rows: ρ = max ‖x_i‖ (from
    /// the squared norms `norms`, widened for their rounding) for l2, 1 for the unit rows of
    /// cosine.
    pub(crate) fn new(n: usize, norms: &[f32], metric: Metric, c0: &[f32], k: usize) -> Self {
        let d = c0.len() / k;
        let bits = MAX_BITS.min(61 - ceil_log2(n + 1));
        let mut origin = vec![0f64; d];
        for c in c0.chunks_exact(d) {
            for (o, &v) in origin.iter_mut().zip(c) {
                *o += v as f64;
            }
        }
        for o in origin.iter_mut() {
            *o /= k as f64;
        }
        // Widened by 2⁻¹⁰ for the rounding of the f32 squared norms; `exp_bound` rounds up to
        // a power of two and B leaves every sum below 2⁶¹, so a larger rounding could not
        // overflow either.
        let rho = match metric {
            Metric::L2 => (norms.iter().fold(0f32, |m, &v| m.max(v)) as f64).sqrt(),
            Metric::Cosine => 1.0,
        } * (1.0 + 1.0 / 1024.0)
            + f64::MIN_POSITIVE;
        let half: Vec<f64> = origin
            .iter()
            .map(|o| (rho + o.abs()) * (1.0 + 1e-12))
            .collect();
        let e: Vec<i32> = half.iter().map(|&h| exp_bound(h)).collect();
        let rmax: f64 = half.iter().map(|&h| h * h).sum::<f64>() * (1.0 + 1e-9);
        let er = exp_bound(rmax);
        Sums {
            d,
            metric,
            origin,
            scale: e.iter().map(|&e| pow2(bits - e)).collect(),
            unscale: e.iter().map(|&e| pow2(e - bits)).collect(),
            rscale: pow2(R_BITS - er),
            runscale: pow2(er - R_BITS),
            s: vec![0; k * d],
            q: vec![0; k],
            counts: vec![0; k],
            ready: false,
        }
    }

    /// Whether the sums hold those of the last labels given.
    pub(crate) fn ready(&self) -> bool {
        self.ready
    }

    /// What a pass needs to compute rows' terms itself ([`Delta::row`]).
    pub(crate) fn terms<'a>(&'a self, norms: &'a [f32]) -> RowTerms<'a> {
        RowTerms {
            isa: simd::active(),
            metric: self.metric,
            norms,
            origin: &self.origin,
            scale: &self.scale,
            rscale: self.rscale,
        }
    }

    /// Adds the changes `delta` gathered by a pass: onto the sums, or as the sums themselves
    /// when `fresh` (the pass added every row).
    pub(crate) fn add(&mut self, delta: Delta, fresh: bool) {
        if fresh || !self.ready {
            debug_assert!(fresh);
            self.s = delta.s;
            self.q = delta.q;
            self.counts = delta.counts.iter().map(|&c| c as usize).collect();
        } else {
            for (a, b) in self.s.iter_mut().zip(&delta.s) {
                *a = a.wrapping_add(*b);
            }
            for (a, b) in self.q.iter_mut().zip(&delta.q) {
                *a += b;
            }
            for (a, &b) in self.counts.iter_mut().zip(&delta.counts) {
                *a = (*a as i64 + b) as usize;
            }
        }
        self.ready = true;
    }

    /// Brings the sums from the labels `prev` (those of the last call) to `labels`: moves the
    /// rows whose label changed, or sums every row afresh on the first call or when at least
    /// half of the rows moved (the same bits either way).
    pub(crate) fn track(&mut self, x: MatrixView<'_>, norms: &[f32], prev: &[u32], labels: &[u32]) {
        let n = labels.len();
        if self.ready {
            let moved: Vec<u32> = (0..n as u32)
                .filter(|&i| prev[i as usize] != labels[i as usize])
                .collect();
            if 2 * moved.len() < n {
                self.apply_moves(x, norms, prev, labels, &moved);
                return;
            }
        }
        self.rebuild(x, norms, labels);
        self.ready = true;
    }

    fn rebuild(&mut self, x: MatrixView<'_>, norms: &[f32], labels: &[u32]) {
        let k = self.counts.len();
        let mut counts = vec![0usize; k];
        for &l in labels {
            counts[l as usize] += 1;
        }
        let (mut sums, mut qs) = (vec![0i64; self.s.len()], vec![0i128; k]);
        let rt = self.terms(norms);
        by_ranges(self.d, &mut sums, &mut qs, &counts, &|j0, j1, s, q| {
            let d = s.len() / (j1 - j0);
            for (i, &l) in labels.iter().enumerate() {
                let j = l as usize;
                if j >= j0 && j < j1 {
                    let r = j - j0;
                    q[r] += rt.add::<false>(x.row(i), i, &mut s[r * d..(r + 1) * d]);
                }
            }
        });
        (self.s, self.q, self.counts) = (sums, qs, counts);
    }

    fn apply_moves(
        &mut self,
        x: MatrixView<'_>,
        norms: &[f32],
        prev: &[u32],
        labels: &[u32],
        moved: &[u32],
    ) {
        let k = self.counts.len();
        let mut work = vec![0usize; k];
        for &i in moved {
            let (a, b) = (prev[i as usize] as usize, labels[i as usize] as usize);
            work[a] += 1;
            work[b] += 1;
            self.counts[a] -= 1;
            self.counts[b] += 1;
        }
        let (mut sums, mut qs) = (std::mem::take(&mut self.s), std::mem::take(&mut self.q));
        let rt = self.terms(norms);
        by_ranges(self.d, &mut sums, &mut qs, &work, &|j0, j1, s, q| {
            let d = s.len() / (j1 - j0);
            for &i in moved {
                let i = i as usize;
                let (a, b) = (prev[i] as usize, labels[i] as usize);
                if a >= j0 && a < j1 {
                    let r = a - j0;
                    q[r] -= rt.add::<true>(x.row(i), i, &mut s[r * d..(r + 1) * d]);
                }
                if b >= j0 && b < j1 {
                    let r = b - j0;
                    q[r] += rt.add::<false>(x.row(i), i, &mut s[r * d..(r + 1) * d]);
                }
            }
        });
        (self.s, self.q) = (sums, qs);
    }

    /// The next centroids into `new_c` (non-empty clusters; empty ones repaired as in
    /// [`super::update`]) and the objective of the tracked labels against `old_c`.
    pub(crate) fn update(
        &self,
        x: MatrixView<'_>,
        norms: &[f32],
        labels: &[u32],
        old_c: &[f32],
        new_c: &mut [f32],
    ) -> Update {
        debug_assert!(self.ready);
        let d = self.d;
        let mut objective = 0f64;
        for (j, &cnt) in self.counts.iter().enumerate() {
            if cnt == 0 {
                continue;
            }
            let s = &self.s[j * d..(j + 1) * d];
            let c = &old_c[j * d..(j + 1) * d];
            let (mut cross, mut cc) = (0f64, 0f64);
            for p in 0..d {
                let cd = c[p] as f64 - self.origin[p];
                cross += cd * (s[p] as f64 * self.unscale[p]);
                cc += cd * cd;
            }
            let qj = self.q[j] as f64 * self.runscale;
            objective += (qj - 2.0 * cross + cnt as f64 * cc).max(0.0);
            let out = &mut new_c[j * d..(j + 1) * d];
            match self.metric {
                Metric::L2 => {
                    let inv = 1.0 / cnt as f64;
                    for p in 0..d {
                        let mean = s[p] as f64 * self.unscale[p] * inv;
                        out[p] = (self.origin[p] + mean) as f32;
                    }
                }
                Metric::Cosine => {
                    // The direction of Σ x̂ = n_j·o + S_j (its mean's direction).
                    let inv = 1.0 / cnt as f64;
                    let mean = |p: usize| self.origin[p] + s[p] as f64 * self.unscale[p] * inv;
                    let nn = (0..d).map(|p| mean(p) * mean(p)).sum::<f64>().sqrt();
                    if nn > 0.0 {
                        let inv = 1.0 / nn;
                        for p in 0..d {
                            out[p] = (mean(p) * inv) as f32;
                        }
                    } else {
                        out.copy_from_slice(c);
                    }
                }
            }
        }
        Update {
            objective,
            empty_splits: repair(x, norms, self.metric, labels, &self.counts, new_c),
        }
    }
}

/// A task over the clusters j0..j1 with their slices of the vector and squared-norm sums.
type RangeTask<'a> = dyn Fn(usize, usize, &mut [i64], &mut [i128]) + Sync + 'a;

/// Runs `each(j0, j1, s, q)` in parallel for contiguous cluster ranges balanced by `work`
/// (per-cluster work), each with its own slices of the `k × d` sums `s` and of `q`.
fn by_ranges(d: usize, s: &mut [i64], q: &mut [i128], work: &[usize], each: &RangeTask<'_>) {
    let ranges = ranges_by_count(work, rayon::current_num_threads());
    let mut parts: Vec<(usize, usize, &mut [i64], &mut [i128])> = Vec::new();
    let (mut s, mut q) = (s, q);
    for &(j0, j1) in &ranges {
        let (sa, sb) = s.split_at_mut((j1 - j0) * d);
        let (qa, qb) = q.split_at_mut(j1 - j0);
        parts.push((j0, j1, sa, qa));
        s = sb;
        q = qb;
    }
    parts
        .into_par_iter()
        .for_each(|(j0, j1, s, q)| each(j0, j1, s, q));
}

/// Splits clusters `0..k` into at most `parts` contiguous ranges of roughly equal `work`
/// (every range non-empty).
pub(crate) fn ranges_by_count(work: &[usize], parts: usize) -> Vec<(usize, usize)> {
    let k = work.len();
    let total: usize = work.iter().sum();
    let parts = parts.clamp(1, k.max(1));
    let mut out = Vec::with_capacity(parts);
    let (mut j0, mut acc) = (0, 0usize);
    for (j, &c) in work.iter().enumerate() {
        acc += c;
        let cut = total * (out.len() + 1) / parts;
        if acc >= cut && out.len() + 1 < parts && j + 1 < k {
            out.push((j0, j + 1));
            j0 = j + 1;
        }
    }
    out.push((j0, k));
    out
}

/// s_i: 1 (l2) or 1/‖x_i‖ (cosine).
#[inline]
fn row_scale(metric: Metric, norms: &[f32], i: usize) -> f64 {
    match metric {
        Metric::L2 => 1.0,
        Metric::Cosine => 1.0 / (norms[i] as f64).sqrt(),
    }
}

/// Changes to the sums gathered by one pass over part of the rows (the rows added, or the
/// rows that changed cluster moved), merged exactly in any order.
pub(crate) struct Delta {
    s: Vec<i64>,
    q: Vec<i128>,
    counts: Vec<i64>,
}

impl Delta {
    pub(crate) fn new(k: usize, d: usize) -> Self {
        Delta {
            s: vec![0; k * d],
            q: vec![0; k],
            counts: vec![0; k],
        }
    }

    /// Adds row i (of `row`) to cluster j, or takes it out of it (`NEG`).
    #[inline]
    pub(crate) fn row<const NEG: bool>(
        &mut self,
        t: &RowTerms<'_>,
        row: &[f32],
        i: usize,
        j: usize,
    ) {
        let d = row.len();
        let r = t.add::<NEG>(row, i, &mut self.s[j * d..(j + 1) * d]);
        if NEG {
            self.q[j] -= r;
            self.counts[j] -= 1;
        } else {
            self.q[j] += r;
            self.counts[j] += 1;
        }
    }

    /// Merges `o` into `self` (exact).
    pub(crate) fn merge(mut self, o: Delta) -> Delta {
        for (a, b) in self.s.iter_mut().zip(&o.s) {
            *a = a.wrapping_add(*b);
        }
        for (a, b) in self.q.iter_mut().zip(&o.q) {
            *a += b;
        }
        for (a, b) in self.counts.iter_mut().zip(&o.counts) {
            *a += b;
        }
        self
    }
}

/// What a row's terms need.
pub(crate) struct RowTerms<'a> {
    isa: Isa,
    metric: Metric,
    norms: &'a [f32],
    origin: &'a [f64],
    scale: &'a [f64],
    rscale: f64,
}

impl RowTerms<'_> {
    /// Adds (`NEG`: subtracts) row i's vector term into `s` and returns its squared-norm
    /// term.
    #[inline]
    pub(crate) fn add<const NEG: bool>(&self, row: &[f32], i: usize, s: &mut [i64]) -> i128 {
        let sc = row_scale(self.metric, self.norms, i);
        let r = simd::fixed::row_term::<NEG>(self.isa, row, sc, self.origin, self.scale, s);
        (r * self.rscale).round_ties_even() as i128
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::validate;
    use crate::rng::Rng;

    fn naive(
        x: MatrixView<'_>,
        norms: &[f32],
        metric: Metric,
        labels: &[u32],
        c: &[f32],
    ) -> (Vec<f64>, f64) {
        let (n, d) = (x.n(), x.d());
        let k = c.len() / d;
        let mut sums = vec![0f64; k * d];
        let mut cnt = vec![0usize; k];
        let mut obj = 0f64;
        for i in 0..n {
            let j = labels[i] as usize;
            let s = match metric {
                Metric::L2 => 1.0,
                Metric::Cosine => 1.0 / (norms[i] as f64).sqrt(),
            };
            cnt[j] += 1;
            for p in 0..d {
                let v = x.row(i)[p] as f64 * s;
                sums[j * d + p] += v;
                obj += (v - c[j * d + p] as f64).powi(2);
            }
        }
        let mut means = vec![0f64; k * d];
        for j in 0..k {
            let nn = (0..d).map(|p| sums[j * d + p].powi(2)).sum::<f64>().sqrt();
            for p in 0..d {
                means[j * d + p] = match metric {
                    Metric::L2 => sums[j * d + p] / cnt[j].max(1) as f64,
                    Metric::Cosine => sums[j * d + p] / nn,
                };
            }
        }
        (means, obj)
    }

    #[test]
    fn moves_give_the_bits_of_a_rebuild_and_match_naive_means() {
        let mut r = Rng::new(5);
        for &(n, d, k, off) in &[
            (3000usize, 13usize, 17usize, 0f32),
            (500, 40, 5, 1e4),
            (2000, 9, 30, -3.0),
        ] {
            let data: Vec<f32> = (0..n * d).map(|_| r.normal() as f32 + off).collect();
            let x = MatrixView::new(&data, n, d).unwrap();
            for metric in [Metric::L2, Metric::Cosine] {
                let norms = validate(x, metric).unwrap();
                let mut c: Vec<f32> = (0..k * d).map(|_| r.normal() as f32 + off).collect();
                if metric == Metric::Cosine {
                    crate::kmeans::init::normalize_rows(&mut c, d);
                }
                let l0: Vec<u32> = (0..n).map(|i| (i % k) as u32).collect();
                // Move a third of the rows, then more than half.
                let l1: Vec<u32> = (0..n)
                    .map(|i| {
                        if i % 3 == 0 {
                            ((i / 3) % k) as u32
                        } else {
                            l0[i]
                        }
                    })
                    .collect();
                let l2: Vec<u32> = (0..n).map(|i| ((i * 7 + 1) % k) as u32).collect();
                let mut inc = Sums::new(n, &norms, metric, &c, k);
                inc.track(x, &norms, &l0, &l0);
                for (prev, next) in [(&l0, &l1), (&l1, &l2), (&l2, &l1)] {
                    inc.track(x, &norms, prev, next);
                    let mut fresh = Sums::new(n, &norms, metric, &c, k);
                    fresh.track(x, &norms, next, next);
                    assert_eq!(inc.s, fresh.s, "{metric:?} n={n}");
                    assert_eq!(inc.q, fresh.q);
                    assert_eq!(inc.counts, fresh.counts);
                    let (mut a, mut b) = (vec![0f32; k * d], vec![0f32; k * d]);
                    let ua = inc.update(x, &norms, next, &c, &mut a);
                    let ub = fresh.update(x, &norms, next, &c, &mut b);
                    assert_eq!(ua.objective.to_bits(), ub.objective.to_bits());
                    assert_eq!(a, b);
                    let (means, obj) = naive(x, &norms, metric, next, &c);
                    for (g, w) in a.iter().zip(&means) {
                        let tol = 1e-6 * (1.0 + w.abs()) + 1e-7 * off.abs() as f64;
                        assert!((*g as f64 - w).abs() <= tol, "{metric:?} {g} vs {w}");
                    }
                    assert!(
                        (ua.objective - obj).abs() <= 1e-9 * obj,
                        "{} vs {obj}",
                        ua.objective
                    );
                }
            }
        }
    }

    #[test]
    fn thread_count_does_not_change_bits() {
        let mut r = Rng::new(3);
        let (n, d, k) = (5000, 19, 37);
        let data: Vec<f32> = (0..n * d).map(|_| r.normal() as f32).collect();
        let x = MatrixView::new(&data, n, d).unwrap();
        let labels: Vec<u32> = (0..n)
            .map(|i| ((i * 7 + i / 13) % (k - 3)) as u32)
            .collect();
        let moved: Vec<u32> = (0..n)
            .map(|i| {
                if i % 5 == 0 {
                    (i % k) as u32
                } else {
                    labels[i]
                }
            })
            .collect();
        let old: Vec<f32> = (0..k * d).map(|_| r.normal() as f32).collect();
        for metric in [Metric::L2, Metric::Cosine] {
            let norms = validate(x, metric).unwrap();
            let run = |threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                pool.install(|| {
                    let mut s = Sums::new(n, &norms, metric, &old, k);
                    s.track(x, &norms, &labels, &labels);
                    s.track(x, &norms, &labels, &moved);
                    let mut new = vec![0f32; k * d];
                    let u = s.update(x, &norms, &moved, &old, &mut new);
                    (new, u.objective.to_bits(), u.empty_splits)
                })
            };
            let one = run(1);
            for t in [2, 3, 8] {
                assert_eq!(run(t), one, "{metric:?} threads={t}");
            }
        }
    }

    #[test]
    fn empty_cluster_takes_farthest_point_of_largest() {
        let data = vec![0.0, 1.0, 2.0, 9.0, 50.0];
        let x = MatrixView::new(&data, 5, 1).unwrap();
        let labels = vec![0, 0, 0, 0, 1];
        let old = vec![0.0, 50.0, 7.0];
        let mut new = vec![0f32; 3];
        let mut s = Sums::new(5, &[0.0, 1.0, 4.0, 81.0, 2500.0], Metric::L2, &old, 3);
        s.track(x, &[0.0; 5], &labels, &labels);
        let u = s.update(x, &[0.0; 5], &labels, &old, &mut new);
        assert_eq!(u.empty_splits, 1);
        assert_eq!(new, vec![3.0, 50.0, 9.0]);
        // 0 + 1 + 4 + 81 + 0 against the old centroids (the empty one adds nothing).
        assert_eq!(u.objective, 86.0);
    }

    #[test]
    fn ranges_cover_all_clusters_in_order() {
        for (work, parts) in [
            (vec![5usize, 0, 0, 7, 1, 1, 9], 3usize),
            (vec![0, 0, 0], 2),
            (vec![10], 4),
            (vec![1; 10], 10),
            (vec![100, 1, 1, 1], 2),
        ] {
            let r = ranges_by_count(&work, parts);
            assert!(!r.is_empty() && r.len() <= parts);
            assert_eq!(r[0].0, 0);
            assert_eq!(r.last().unwrap().1, work.len());
            for w in r.windows(2) {
                assert_eq!(w[0].1, w[1].0);
            }
            assert!(r.iter().all(|&(a, b)| a < b));
        }
    }

    #[test]
    fn bounds_and_helpers() {
        assert_eq!(ceil_log2(1), 0);
        assert_eq!(ceil_log2(2), 1);
        assert_eq!(ceil_log2(3), 2);
        assert_eq!(ceil_log2(1 << 20), 20);
        for v in [1e-300, 1e-40, 0.3, 1.0, 2.0, 3.0, 1e30] {
            let e = exp_bound(v);
            assert!(pow2(e) >= v && pow2(e - 1) < v, "{v}");
        }
    }
}
