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
            let (q, l) = (j / LANES, j % LANES);
            let base = q * d * LANES;
            for p in 0..d {
                panels[base + p * LANES + l] = c[p];
            }
            cn[j] = norm_term_of(metric, c);
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
}
