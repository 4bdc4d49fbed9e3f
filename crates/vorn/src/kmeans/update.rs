//! The update step: new centroids as means of their members, the objective of the current
//! assignment, and deterministic repair of empty clusters.
//!
//! Every cluster is reduced sequentially in ascending row order, in f64, so the result has
//! the same bits at any thread count. The clusters are split into one contiguous id range
//! per thread, balanced by member count; each task streams the labels and the rows of its
//! own clusters in ascending order (sequential, prefetch-friendly reads: every row is read
//! by exactly one task) into its own `range × d` f64 sums. Extra memory O(k·d); the row
//! lists of a counting sort are only built when an empty cluster needs repairing.
//!
//! * L2: c_j = (1/|S_j|) Σ_{i∈S_j} x_i.
//! * Cosine (spherical k-means): c_j = Σ x̂_i / ‖Σ x̂_i‖ with x̂ = x/‖x‖.
//!
//! The objective returned is J(labels, old centroids) = Σ ‖x̂_i − c_{l(i)}‖², computed
//! exactly in f64 (not from the GEMM expansion), so it is accurate even for tight clusters.
//!
//! Empty clusters: each empty cluster (ascending id) takes the member of the currently
//! largest cluster (ties: lowest id) that lies farthest from that cluster's new centre
//! (ties: lowest row). This splits the largest cluster and can only lower the objective.

use crate::data::MatrixView;
use crate::metric::Metric;
use crate::simd::{self, vector::ACC_LANES};
use rayon::prelude::*;

/// Rows grouped by cluster.
pub(crate) struct Buckets {
    /// `order[start[j]..start[j+1]]` are the rows of cluster j, ascending.
    pub order: Vec<u32>,
    /// Bucket offsets, length k + 1.
    pub start: Vec<usize>,
}

impl Buckets {
    pub fn new(labels: &[u32], k: usize) -> Self {
        let mut start = vec![0usize; k + 1];
        for &l in labels {
            start[l as usize + 1] += 1;
        }
        for j in 0..k {
            start[j + 1] += start[j];
        }
        let mut fill = start.clone();
        let mut order = vec![0u32; labels.len()];
        for (i, &l) in labels.iter().enumerate() {
            order[fill[l as usize]] = i as u32;
            fill[l as usize] += 1;
        }
        Buckets { order, start }
    }
    pub fn members(&self, j: usize) -> &[u32] {
        &self.order[self.start[j]..self.start[j + 1]]
    }
    pub fn count(&self, j: usize) -> usize {
        self.start[j + 1] - self.start[j]
    }
}

/// Exact squared distance from row i (normalised for cosine) to centroid `c`, in f64:
/// element p goes to lane p mod 8 (separate multiply and add), lanes summed in order, so the
/// AVX2 and AVX-512 builds of the same body give the same bits.
#[inline]
pub(crate) fn exact_dist(x: &[f32], inv_norm: f64, c: &[f32]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if simd::active() == simd::Isa::Avx512 {
        // SAFETY: AVX-512F is present (active() checked it).
        return unsafe { exact_dist_avx512(x, inv_norm, c) };
    }
    #[cfg(target_arch = "x86_64")]
    if simd::active() == simd::Isa::Avx2 {
        // SAFETY: AVX2 is present (active() checked it).
        return unsafe { exact_dist_avx2(x, inv_norm, c) };
    }
    exact_dist_body(x, inv_norm, c)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn exact_dist_avx2(x: &[f32], inv_norm: f64, c: &[f32]) -> f64 {
    exact_dist_body(x, inv_norm, c)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn exact_dist_avx512(x: &[f32], inv_norm: f64, c: &[f32]) -> f64 {
    exact_dist_body(x, inv_norm, c)
}

#[inline(always)]
fn exact_dist_body(x: &[f32], inv_norm: f64, c: &[f32]) -> f64 {
    let mut lanes = [0f64; 8];
    let (xe, ce) = (x.chunks_exact(8), c.chunks_exact(8));
    let (xr, cr) = (xe.remainder(), ce.remainder());
    for (a, b) in xe.zip(ce) {
        for l in 0..8 {
            let t = a[l] as f64 * inv_norm - b[l] as f64;
            lanes[l] += t * t;
        }
    }
    for l in 0..xr.len().min(cr.len()) {
        let t = xr[l] as f64 * inv_norm - cr[l] as f64;
        lanes[l] += t * t;
    }
    lanes.iter().sum()
}

/// 1/‖x_i‖ for cosine, 1 for L2.
#[inline]
pub(crate) fn inv_norm(metric: Metric, norms: &[f32], i: usize) -> f64 {
    match metric {
        Metric::L2 => 1.0,
        Metric::Cosine => 1.0 / (norms[i] as f64).sqrt(),
    }
}

/// Result of one update.
pub(crate) struct Update {
    /// J(labels, old centroids).
    pub objective: f64,
    /// Empty clusters repaired.
    pub empty_splits: usize,
}

/// Splits clusters `0..k` into at most `parts` contiguous ranges of roughly equal member
/// counts (every range non-empty).
fn ranges_by_count(counts: &[usize], parts: usize) -> Vec<(usize, usize)> {
    let k = counts.len();
    let total: usize = counts.iter().sum();
    let parts = parts.clamp(1, k.max(1));
    let mut out = Vec::with_capacity(parts);
    let (mut j0, mut acc) = (0, 0usize);
    for (j, &c) in counts.iter().enumerate() {
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

/// Computes new centroids into `new_c` from `labels`, and the objective against `old_c`.
pub(crate) fn update(
    x: MatrixView<'_>,
    norms: &[f32],
    metric: Metric,
    labels: &[u32],
    old_c: &[f32],
    new_c: &mut [f32],
) -> Update {
    let d = x.d();
    let k = old_c.len() / d;
    let mut counts = vec![0usize; k];
    for &l in labels {
        counts[l as usize] += 1;
    }
    let isa = simd::active();
    let ranges = ranges_by_count(&counts, rayon::current_num_threads());
    let old64: Vec<f64> = old_c.iter().map(|&v| v as f64).collect();
    // Per range: f64 sums (range × d) and objective lanes (range × ACC_LANES).
    let parts: Vec<(Vec<f64>, Vec<[f64; ACC_LANES]>)> = ranges
        .par_iter()
        .map(|&(j0, j1)| {
            let mut sums = vec![0f64; (j1 - j0) * d];
            let mut lanes = vec![[0f64; ACC_LANES]; j1 - j0];
            for (i, &l) in labels.iter().enumerate() {
                let j = l as usize;
                if j < j0 || j >= j1 {
                    continue;
                }
                let r = j - j0;
                simd::vector::accumulate(
                    isa,
                    x.row(i),
                    inv_norm(metric, norms, i),
                    &old64[j * d..(j + 1) * d],
                    &mut sums[r * d..(r + 1) * d],
                    &mut lanes[r],
                );
            }
            (sums, lanes)
        })
        .collect();
    let mut objective = 0f64;
    for (&(j0, j1), (sums, lanes)) in ranges.iter().zip(&parts) {
        for j in j0..j1 {
            let r = j - j0;
            objective += lanes[r].iter().sum::<f64>();
            let cnt = counts[j];
            if cnt == 0 {
                continue;
            }
            finish_centroid(
                metric,
                cnt,
                &sums[r * d..(r + 1) * d],
                &old_c[j * d..(j + 1) * d],
                &mut new_c[j * d..(j + 1) * d],
            );
        }
    }
    Update {
        objective,
        empty_splits: repair(x, norms, metric, labels, &counts, new_c),
    }
}

/// Centroid of a non-empty cluster from its f64 member sum: the mean (L2) or the unit
/// direction (cosine; the old centroid is kept if the members cancel exactly).
pub(crate) fn finish_centroid(
    metric: Metric,
    cnt: usize,
    sum: &[f64],
    old: &[f32],
    out: &mut [f32],
) {
    let scale = match metric {
        Metric::L2 => 1.0 / cnt as f64,
        Metric::Cosine => {
            let nn = sum.iter().map(|v| v * v).sum::<f64>().sqrt();
            if nn > 0.0 {
                1.0 / nn
            } else {
                0.0
            }
        }
    };
    if scale == 0.0 {
        out.copy_from_slice(old);
    } else {
        for (o, &v) in out.iter_mut().zip(sum) {
            *o = (v * scale) as f32;
        }
    }
}

/// Repairs the empty clusters of `counts` in `c` (see the module docs); returns how many.
pub(crate) fn repair(
    x: MatrixView<'_>,
    norms: &[f32],
    metric: Metric,
    labels: &[u32],
    counts: &[usize],
    c: &mut [f32],
) -> usize {
    if counts.contains(&0) {
        repair_empty(x, norms, metric, &Buckets::new(labels, counts.len()), c)
    } else {
        0
    }
}

/// Re-seeds empty clusters by splitting the largest ones (see module docs).
fn repair_empty(
    x: MatrixView<'_>,
    norms: &[f32],
    metric: Metric,
    b: &Buckets,
    c: &mut [f32],
) -> usize {
    let d = x.d();
    let k = c.len() / d;
    let mut counts: Vec<usize> = (0..k).map(|j| b.count(j)).collect();
    let empties: Vec<usize> = (0..k).filter(|&j| counts[j] == 0).collect();
    let mut taken = std::collections::HashSet::new();
    for &e in &empties {
        let mut big = 0;
        for j in 1..k {
            if counts[j] > counts[big] {
                big = j;
            }
        }
        let centre = c[big * d..(big + 1) * d].to_vec();
        let mut far: Option<(f64, u32)> = None;
        for &i in b.members(big) {
            if taken.contains(&i) {
                continue;
            }
            let dist = exact_dist(
                x.row(i as usize),
                inv_norm(metric, norms, i as usize),
                &centre,
            );
            if far.is_none_or(|(fd, _)| dist > fd) {
                far = Some((dist, i));
            }
        }
        let Some((_, i)) = far else { continue };
        taken.insert(i);
        super::init::row_as_centroid(x, norms, metric, i as usize, &mut c[e * d..(e + 1) * d]);
        counts[big] -= 1;
        counts[e] = 1;
    }
    empties.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_and_objective_match_naive() {
        let data = vec![0.0, 0.0, 2.0, 0.0, 10.0, 10.0, 12.0, 10.0, 11.0, 13.0];
        let x = MatrixView::new(&data, 5, 2).unwrap();
        let labels = vec![0, 0, 1, 1, 1];
        let old = vec![0.0, 0.0, 10.0, 10.0];
        let mut new = vec![0f32; 4];
        let u = update(x, &[0.0; 5], Metric::L2, &labels, &old, &mut new);
        assert_eq!(new, vec![1.0, 0.0, 11.0, 11.0]);
        // 0 + 4 + 0 + 4 + (1 + 9)
        assert_eq!(u.objective, 18.0);
        assert_eq!(u.empty_splits, 0);
    }

    #[test]
    fn exact_dist_matches_naive_and_both_builds() {
        let mut r = crate::rng::Rng::new(8);
        for d in [1usize, 7, 8, 9, 50, 64, 785] {
            let x: Vec<f32> = (0..d).map(|_| r.normal() as f32).collect();
            let c: Vec<f32> = (0..d).map(|_| r.normal() as f32).collect();
            let naive: f64 = x
                .iter()
                .zip(&c)
                .map(|(a, b)| (*a as f64 * 0.5 - *b as f64).powi(2))
                .sum();
            let got = exact_dist(&x, 0.5, &c);
            assert!((got - naive).abs() <= 1e-12 * naive.max(1.0));
            assert_eq!(got.to_bits(), exact_dist_body(&x, 0.5, &c).to_bits());
        }
    }

    #[test]
    fn ranges_cover_all_clusters_in_order() {
        for (counts, parts) in [
            (vec![5usize, 0, 0, 7, 1, 1, 9], 3usize),
            (vec![0, 0, 0], 2),
            (vec![10], 4),
            (vec![1; 10], 10),
            (vec![100, 1, 1, 1], 2),
        ] {
            let r = ranges_by_count(&counts, parts);
            assert!(!r.is_empty() && r.len() <= parts);
            assert_eq!(r[0].0, 0);
            assert_eq!(r.last().unwrap().1, counts.len());
            for w in r.windows(2) {
                assert_eq!(w[0].1, w[1].0);
            }
            assert!(r.iter().all(|&(a, b)| a < b));
        }
    }

    #[test]
    fn thread_count_does_not_change_bits() {
        let mut r = crate::rng::Rng::new(3);
        let (n, d, k) = (3000, 19, 37);
        let data: Vec<f32> = (0..n * d).map(|_| r.normal() as f32).collect();
        let x = MatrixView::new(&data, n, d).unwrap();
        let labels: Vec<u32> = (0..n)
            .map(|i| ((i * 7 + i / 13) % (k - 3)) as u32)
            .collect();
        let old: Vec<f32> = (0..k * d).map(|_| r.normal() as f32).collect();
        let norms: Vec<f32> = (0..n)
            .map(|i| x.row(i).iter().map(|v| v * v).sum())
            .collect();
        for metric in [Metric::L2, Metric::Cosine] {
            let run = |threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let mut new = vec![0f32; k * d];
                let u = pool.install(|| update(x, &norms, metric, &labels, &old, &mut new));
                (new, u.objective.to_bits(), u.empty_splits)
            };
            let one = run(1);
            assert_eq!(one.2, 3);
            for t in [2, 3, 8] {
                assert_eq!(run(t), one, "{metric:?} threads={t}");
            }
            // The means equal a naive per-cluster f64 mean (L2).
            if metric == Metric::L2 {
                for j in 0..k - 3 {
                    let m: Vec<usize> = (0..n).filter(|&i| labels[i] as usize == j).collect();
                    for p in 0..d {
                        let s: f64 = m.iter().map(|&i| x.row(i)[p] as f64).sum();
                        assert_eq!(one.0[j * d + p], (s / m.len() as f64) as f32);
                    }
                }
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
        let u = update(x, &[0.0; 5], Metric::L2, &labels, &old, &mut new);
        assert_eq!(u.empty_splits, 1);
        assert_eq!(new, vec![3.0, 50.0, 9.0]);
    }
}
