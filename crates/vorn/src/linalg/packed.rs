//! Centroids packed into 16-wide panels for the micro-kernel (see [`crate::simd`]).

use super::screen::{self, ScreenPanels};
use crate::metric::Metric;
use crate::simd::LANES;

/// The kernel's norm term of one centroid: ‖c‖² (summed in f64) for L2, the constant 1 for
/// cosine (see [`PackedCentroids::new`]).
pub(crate) fn norm_term_of(metric: Metric, c: &[f32]) -> f32 {
    match metric {
        Metric::L2 => c.iter().map(|&v| v as f64 * v as f64).sum::<f64>() as f32,
        Metric::Cosine => 1.0,
    }
}

/// Centroids in panel layout with their squared norms.
#[derive(Debug, Clone)]
pub struct PackedCentroids {
    k: usize,
    d: usize,
    npanels: usize,
    panels: Vec<f32>,
    cn: Vec<f32>,
    /// bf16 screening panels (the `screen` module), for shapes where the screen pays.
    screen: Option<ScreenPanels>,
}

impl PackedCentroids {
    /// Packs row-major `k × d` centroids. For cosine the norm term is the constant 1, so the
    /// arg-min of `1 − 2·x·c` is the arg-max of the cosine whatever ‖x‖ is (centroids are unit).
    /// With AVX-512 BF16 and a large k, bf16 screening panels are packed as well
    /// (see [`crate::linalg`]); passes give the same bits with or without them.
    pub fn new(centroids: &[f32], k: usize, d: usize, metric: Metric) -> Self {
        Self::pack(centroids, k, d, metric, screen::wanted(k, d))
    }

    /// [`Self::new`] without screening panels: every pass takes the exact kernel alone (the
    /// same bits), for callers that only compute distances (all scores, or nearest pairs
    /// during seeding) and would pay for packing them, and for tests.
    pub fn new_exact(centroids: &[f32], k: usize, d: usize, metric: Metric) -> Self {
        Self::pack(centroids, k, d, metric, false)
    }

    fn pack(centroids: &[f32], k: usize, d: usize, metric: Metric, screened: bool) -> Self {
        assert_eq!(centroids.len(), k * d);
        let npanels = k.div_ceil(LANES);
        let mut panels = vec![0f32; npanels * d * LANES];
        let mut cn = vec![f32::INFINITY; npanels * LANES];
        for j in 0..k {
            let c = &centroids[j * d..(j + 1) * d];
            put(&mut panels, &mut cn, d, j, c, metric);
        }
        let screen = if screened {
            ScreenPanels::new(centroids, k, d, metric)
        } else {
            None
        };
        PackedCentroids {
            k,
            d,
            npanels,
            panels,
            cn,
            screen,
        }
    }

    /// Whether passes against these centroids are bf16-screened.
    pub fn screened(&self) -> bool {
        self.screen.is_some()
    }

    pub(crate) fn screen(&self) -> Option<&ScreenPanels> {
        self.screen.as_ref()
    }

    /// Number of centroids.
    pub fn k(&self) -> usize {
        self.k
    }
    /// Dimension.
    pub fn d(&self) -> usize {
        self.d
    }
    /// Number of 16-wide panels.
    pub fn npanels(&self) -> usize {
        self.npanels
    }
    /// Panels `q0..q1` as one slice.
    pub(crate) fn panels(&self, q0: usize, q1: usize) -> &[f32] {
        &self.panels[q0 * self.d * LANES..q1 * self.d * LANES]
    }
    /// Norm terms of panels `q0..q1`.
    pub(crate) fn cn(&self, q0: usize, q1: usize) -> &[f32] {
        &self.cn[q0 * LANES..q1 * LANES]
    }
    /// Whether a tile of panels ending at `q1` has a half last panel ([`crate::simd::Tile::half`]):
    /// `q1` is the last panel and it holds at most [`crate::simd::HALF`] centroids.
    pub(crate) fn half(&self, q1: usize) -> bool {
        q1 == self.npanels && self.k - (self.npanels - 1) * LANES <= crate::simd::HALF
    }
    /// Norm term of centroid `j`.
    pub fn norm_term(&self, j: usize) -> f32 {
        self.cn[j]
    }

    /// Replaces centroid `j` by `c` in place: the same panels and norm terms as packing the
    /// updated centroids anew, at the cost of one centroid instead of k (local search swaps
    /// one centre at a time). Not for screened packings, whose bf16 panels it would leave
    /// stale.
    pub(crate) fn replace(&mut self, j: usize, c: &[f32], metric: Metric) {
        assert!(self.screen.is_none(), "replace on screened centroids");
        assert!(j < self.k && c.len() == self.d);
        put(&mut self.panels, &mut self.cn, self.d, j, c, metric);
    }
}

/// Writes centroid `j` into its panel lane and its norm term.
fn put(panels: &mut [f32], cn: &mut [f32], d: usize, j: usize, c: &[f32], metric: Metric) {
    let (q, l) = (j / LANES, j % LANES);
    let base = q * d * LANES;
    for (p, &v) in c.iter().enumerate() {
        panels[base + p * LANES + l] = v;
    }
    cn[j] = norm_term_of(metric, c);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacing_a_centroid_equals_packing_anew() {
        // k = 37: three panels, the last partial; d = 5.
        let (k, d) = (37usize, 5usize);
        let mut c: Vec<f32> = (0..k * d).map(|i| (i as f32 * 0.37).sin()).collect();
        for metric in [Metric::L2, Metric::Cosine] {
            let mut pc = PackedCentroids::new_exact(&c, k, d, metric);
            for (j, v) in [(0usize, 2.5f32), (16, -1.0), (36, 0.125)] {
                c[j * d..(j + 1) * d]
                    .iter_mut()
                    .for_each(|x| *x = *x * v + 0.5);
                pc.replace(j, &c[j * d..(j + 1) * d], metric);
                let fresh = PackedCentroids::new_exact(&c, k, d, metric);
                assert_eq!(pc.panels, fresh.panels, "{metric:?} j={j}");
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&pc.cn), bits(&fresh.cn), "{metric:?} j={j}");
            }
        }
    }
}
