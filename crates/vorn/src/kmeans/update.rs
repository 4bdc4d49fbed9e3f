//! What the update step shares: its result ([`Update`]), exact f64 distances
//! ([`exact_dist`]), the rows' cosine scale ([`inv_norm`]) and the deterministic repair of
//! empty clusters ([`repair`]). The sums behind the new centroids and the objective are
//! `super::sums`:
//!
//! * L2: c_j = (1/|S_j|) Σ_{i∈S_j} x_i.
//! * Cosine (spherical k-means): c_j = Σ x̂_i / ‖Σ x̂_i‖ with x̂ = x/‖x‖.
//!
//! Empty clusters: each empty cluster (ascending id) takes the member of the currently
//! largest cluster (ties: lowest id) that lies farthest from that cluster's new centre
//! (ties: lowest row). This splits the largest cluster and can only lower the objective.

use crate::data::MatrixView;
use crate::metric::Metric;
use crate::simd;

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
}
