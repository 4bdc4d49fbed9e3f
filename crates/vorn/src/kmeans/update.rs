//! The update step: new centroids as means of their members, the objective of the current
//! assignment, and deterministic repair of empty clusters.
//!
//! Rows are bucketed by label with a counting sort (O(n), rows ascending inside a bucket);
//! each cluster is then reduced by one task, sequentially in row order, in f64. The result
//! therefore has the same bits at any thread count, with O(n + k·d) extra memory.
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

/// Exact squared distance from row i (normalised for cosine) to centroid `c`, in f64.
#[inline]
pub(crate) fn exact_dist(x: &[f32], inv_norm: f64, c: &[f32]) -> f64 {
    let mut s = 0f64;
    for (a, b) in x.iter().zip(c) {
        let t = *a as f64 * inv_norm - *b as f64;
        s += t * t;
    }
    s
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
    let b = Buckets::new(labels, k);
    let isa = simd::active();
    let objs: Vec<f64> = new_c
        .par_chunks_mut(d)
        .enumerate()
        .map(|(j, out)| {
            let old = &old_c[j * d..(j + 1) * d];
            let mut sum = vec![0f64; d];
            let mut lanes = [0f64; ACC_LANES];
            for &i in b.members(j) {
                let i = i as usize;
                let inv = inv_norm(metric, norms, i);
                simd::vector::accumulate(isa, x.row(i), inv, old, &mut sum, &mut lanes);
            }
            let obj: f64 = lanes.iter().sum();
            let cnt = b.count(j);
            if cnt > 0 {
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
                    // Members cancel exactly (cosine): keep the old direction.
                    out.copy_from_slice(old);
                } else {
                    for p in 0..d {
                        out[p] = (sum[p] * scale) as f32;
                    }
                }
            }
            obj
        })
        .collect();
    let objective = objs.iter().sum();
    let empty_splits = repair_empty(x, norms, metric, &b, new_c);
    Update {
        objective,
        empty_splits,
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
