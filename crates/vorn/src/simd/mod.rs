//! Runtime-dispatched distance micro-kernels, each with a scalar twin.
//!
//! # The kernel
//! For a tile of [`MR`] rows `x₀..x₇` and up to [`MAX_NP`] *panels* of [`LANES`] centroids,
//! the kernel computes every dot product `x_i · c_j` by a strictly sequential fused
//! multiply-add chain over the dimension, `acc ← fma(x_i[p], c_j[p], acc)` for p = 0, 1, …,
//! d − 1, then the score `s_ij = ‖c_j‖² − 2·(x_i · c_j)` with one more fma. Because every
//! (i, j) pair sees exactly the same operations whatever tile, thread or batch it falls in,
//! and because `f32::mul_add` is the same correctly rounded fma as the vector instruction,
//! the AVX-512 kernel and the scalar twin produce **identical bits**. That is what makes
//! labels independent of thread count and batch size, and what the tests check.
//!
//! Centroids are packed into panels: panel q holds centroids 16q..16q+15 as a `d × 16`
//! row-major block (element (p, l) at `p*16 + l`), zero-padded past k with `‖c‖² = +∞` so
//! padding never wins. When the last panel holds at most 8 centroids the tile says so
//! ([`Tile::half`]) and the kernels compute only its first 8 lanes (the AVX-512 kernel with
//! 256-bit registers for that panel): k = 20 computes 24 lanes per row instead of 32. Each
//! (i, j) pair still sees the same fma chain, so the labels and scores keep their bits.
//!
//! Two consumers of the score tile exist: a fused lane-wise arg-min (labels; ties go to the
//! lowest centroid id) and a store (all scores, for `transform`).
//!
//! Kernels: AVX-512F (`x86`), AVX2 + FMA (`avx2`, for CPUs without AVX-512) and the scalar
//! twin; with AVX-512 BF16, `bf16` screens large-k passes at twice the fp32 rate and rescores
//! the candidates with the fp32 chain (same bits; `crate::linalg`'s screen, `VORN_BF16=0`
//! turns it off). `VORN_SIMD=scalar` forces the scalar twin, `VORN_SIMD=avx2` the AVX2 kernel;
//! `VORN_SIMD=avx512` insists on AVX-512.
//!
//! Beside the tile kernel: [`vector`] (the bounds' exact row-to-centroid distance),
//! [`fixed`] (the fixed-point row terms of Lloyd's cluster sums) and [`dots`] (k-means++ seeding: a few rows against a few candidates, lanes
//! along the dimension), each with its own scalar twin; [`bounds`] (per-centroid distance
//! bounds of the pruned passes).

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
pub mod bf16;
pub mod bounds;
pub mod dots;
pub mod fixed;
mod scalar;
pub mod vector;
#[cfg(target_arch = "x86_64")]
mod vector_avx2;
#[cfg(target_arch = "x86_64")]
mod x86;

use std::sync::OnceLock;

/// Rows per micro-tile.
pub const MR: usize = 8;
/// Centroids per panel (one 512-bit register of f32).
pub const LANES: usize = 16;
/// Panels per kernel call.
pub const MAX_NP: usize = 3;

/// The instruction set a kernel runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// Portable Rust (software fma when the CPU lacks one).
    Scalar,
    /// Hand-written AVX2 + FMA kernel (register blocks of 4 rows × 16 centroids, or 8 × 8).
    Avx2,
    /// Hand-written AVX-512F kernel.
    Avx512,
}

impl Isa {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }
}

fn detect() -> Isa {
    let want = std::env::var("VORN_SIMD")
        .unwrap_or_default()
        .to_ascii_lowercase();
    #[cfg(target_arch = "x86_64")]
    {
        let has512 = std::arch::is_x86_feature_detected!("avx512f");
        let has2 = std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma");
        match want.as_str() {
            "scalar" => return Isa::Scalar,
            "avx2" if has2 => return Isa::Avx2,
            _ => {}
        }
        if has512 {
            return Isa::Avx512;
        }
        if has2 {
            return Isa::Avx2;
        }
    }
    let _ = want;
    Isa::Scalar
}

/// The kernel family in use (detected once; `VORN_SIMD` overrides).
pub fn active() -> Isa {
    static ISA: OnceLock<Isa> = OnceLock::new();
    *ISA.get_or_init(detect)
}

/// Lane-wise running minimum for one micro-tile: `v[i*LANES + l]` is the best score seen in
/// lane `l` of row `i`, `idx` its centroid id, `v2` the second best of that lane (kept only
/// by the top-2 kernels). Cache-line aligned: the AVX2 kernel reads and writes its lanes as
/// aligned 8-lane vectors (`avx2.rs`).
#[derive(Clone)]
#[repr(C, align(64))]
pub struct LaneBest {
    /// Best scores.
    pub v: [f32; MR * LANES],
    /// Their centroid ids.
    pub idx: [u32; MR * LANES],
    /// Second-best scores per lane (top-2 kernels only).
    pub v2: [f32; MR * LANES],
}

impl Default for LaneBest {
    fn default() -> Self {
        LaneBest {
            v: [f32::INFINITY; MR * LANES],
            idx: [u32::MAX; MR * LANES],
            v2: [f32::INFINITY; MR * LANES],
        }
    }
}

impl LaneBest {
    /// Reduces row `i` to (best score, lowest id achieving it).
    #[inline]
    pub fn finish(&self, i: usize) -> (f32, u32) {
        let v = &self.v[i * LANES..(i + 1) * LANES];
        let ix = &self.idx[i * LANES..(i + 1) * LANES];
        let mut best = f32::INFINITY;
        let mut id = u32::MAX;
        for l in 0..LANES {
            if v[l] < best || (v[l] == best && ix[l] < id) {
                best = v[l];
                id = ix[l];
            }
        }
        (best, id)
    }

    /// Reduces row `i` to (best, lowest id achieving it, second best over all centroids);
    /// valid after the top-2 kernels. The global second best is the smallest of every lane's
    /// second and every other lane's best.
    #[inline]
    pub fn finish2(&self, i: usize) -> (f32, u32, f32) {
        let (best, id) = self.finish(i);
        let v = &self.v[i * LANES..(i + 1) * LANES];
        let ix = &self.idx[i * LANES..(i + 1) * LANES];
        let v2 = &self.v2[i * LANES..(i + 1) * LANES];
        let mut second = f32::INFINITY;
        for l in 0..LANES {
            second = second.min(v2[l]);
            if ix[l] != id {
                second = second.min(v[l]);
            }
        }
        (best, id, second)
    }
}

/// Reduces the first `labels.len()` (≤ MR) rows of a micro-tile to (label, score) exactly as
/// [`LaneBest::finish`] does, on `isa` (AVX-512: two horizontal reductions per row).
#[inline]
pub fn finish_rows(isa: Isa, b: &LaneBest, labels: &mut [u32], scores: &mut [f32]) {
    assert!(labels.len() <= MR && scores.len() == labels.len());
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Isa::Avx512` is only produced when the CPU has AVX-512F; length checked.
        Isa::Avx512 => unsafe { x86::finish_rows_avx512(b, labels, scores) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Isa::Avx2` is only produced when the CPU has AVX2 and FMA; length checked.
        Isa::Avx2 => unsafe { avx2::finish_rows_avx2(b, labels, scores) },
        _ => {
            for (i, (l, s)) in labels.iter_mut().zip(scores.iter_mut()).enumerate() {
                (*s, *l) = b.finish(i);
            }
        }
    }
}

/// A tile of partial dot products: `acc[i * MAX_NP * LANES + q * LANES + l]` for row i,
/// centroid `16q + l` of the tile.
pub type Acc = [f32; MR * MAX_NP * LANES];

/// Arguments of one kernel call: MR rows × `np` panels over a range of `d` consecutive
/// dimensions (the whole dimension, or one chunk of it).
pub struct Tile<'a> {
    /// The MR rows, read in place: element p of row i is `x[i * xs + p]`.
    pub x: &'a [f32],
    /// Row stride (≥ d).
    pub xs: usize,
    /// Dimensions in this call.
    pub d: usize,
    /// Panel data: panel q's first value of this range is at `panels[q * pstride]`.
    pub panels: &'a [f32],
    /// Distance between consecutive panels (`d_total * LANES`).
    pub pstride: usize,
    /// Squared norms of the tile's centroids (`np * LANES`).
    pub cn: &'a [f32],
    /// Number of panels, 1..=MAX_NP.
    pub np: usize,
    /// Id of the first centroid of the first panel.
    pub j0: u32,
    /// The last panel holds at most [`HALF`] centroids: its lanes `HALF..LANES` are padding
    /// (‖c‖² = +∞) and the kernels skip them, so their dot products and scores are left
    /// unwritten and they never enter an arg-min (which padding could not win anyway).
    pub half: bool,
}

/// Lanes of a half panel (one 256-bit register of f32).
pub const HALF: usize = 8;

impl Tile<'_> {
    #[inline]
    fn check(&self) {
        assert!(self.np >= 1 && self.np <= MAX_NP);
        assert!(self.xs >= self.d && self.x.len() >= (MR - 1) * self.xs + self.d);
        assert!(self.pstride >= self.d * LANES);
        assert!(self.panels.len() >= (self.np - 1) * self.pstride + self.d * LANES);
        assert!(self.cn.len() >= self.np * LANES);
        debug_assert!(
            !self.half
                || self.cn[(self.np - 1) * LANES + HALF..self.np * LANES]
                    .iter()
                    .all(|v| *v == f32::INFINITY),
            "a half panel's upper lanes must be padding"
        );
    }

    /// Lanes of panel q the kernels compute ([`HALF`] for a half last panel, else [`LANES`]).
    #[inline(always)]
    pub fn lanes(&self, q: usize) -> usize {
        if self.half && q + 1 == self.np {
            HALF
        } else {
            LANES
        }
    }
}

/// Partial dot products over this tile's range into `acc`, continuing from `acc` when
/// `resume` (the sequential fma chain simply goes on, so chunking never changes a bit).
#[inline]
pub fn dot_tile(isa: Isa, t: &Tile<'_>, acc: &mut Acc, resume: bool) {
    t.check();
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `active()`/`available()` only return Avx512/Avx2 when the CPU has the
        // features; bounds checked above.
        Isa::Avx512 => unsafe { x86::dot_tile_avx512(t, acc, resume) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { avx2::dot_tile_avx2(t, acc, resume) },
        _ => scalar::dot_tile(t, acc, resume),
    }
}

/// [`dot_tile`] (not resumed) for a tile of which only the first `rows` rows are real: on
/// AVX-512 the kernel computes just those (rounded up to 1, 2, 4 or MR rows), so a short
/// last tile costs its share; elsewhere the whole tile. The real rows' dot products have the
/// bits of [`dot_tile`]; the other rows of `acc` are unspecified.
#[inline]
pub fn dot_tile_rows(isa: Isa, t: &Tile<'_>, rows: usize, acc: &mut Acc) {
    t.check();
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as in `dot_tile`.
        Isa::Avx512 if rows < MR => unsafe { x86::dot_tile_rows_avx512(t, rows, acc) },
        _ => dot_tile(isa, t, acc, false),
    }
}

/// Fused scores + lane-wise arg-min update on `isa`, continuing the dot products from
/// `init` if given (the last chunk of a chunked pass).
#[inline]
pub fn argmin_tile(isa: Isa, t: &Tile<'_>, init: Option<&Acc>, best: &mut LaneBest) {
    t.check();
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Isa::Avx512 => unsafe { x86::argmin_tile_avx512(t, init, best) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { avx2::argmin_tile_avx2(t, init, best) },
        _ => scalar::argmin_tile(t, init, best),
    }
}

/// [`argmin_tile`] for a tile of which only the first `rows` rows are real (the others are
/// padding whose results the caller ignores): with one real row the AVX-512 kernel computes
/// that row alone (a one-row `predict` costs 1/8 of a tile); the bits of the real rows are
/// those of [`argmin_tile`].
#[inline]
pub fn argmin_tile_rows(
    isa: Isa,
    t: &Tile<'_>,
    rows: usize,
    init: Option<&Acc>,
    best: &mut LaneBest,
) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 if rows == 1 => {
            t.check();
            // SAFETY: as above.
            unsafe { x86::argmin1_tile_avx512(t, init, best) }
        }
        _ => argmin_tile(isa, t, init, best),
    }
}

/// [`argmin_tile`] that also keeps each lane's second-best score (for bound-pruned backends).
#[inline]
pub fn argmin2_tile(isa: Isa, t: &Tile<'_>, init: Option<&Acc>, best: &mut LaneBest) {
    t.check();
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Isa::Avx512 => unsafe { x86::argmin2_tile_avx512(t, init, best) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { avx2::argmin2_tile_avx2(t, init, best) },
        _ => scalar::argmin2_tile(t, init, best),
    }
}

/// Scores of the tile into `out` (layout of [`Acc`]; columns `< np * LANES` valid),
/// continuing the dot products from `init` if given.
#[inline]
pub fn score_tile(isa: Isa, t: &Tile<'_>, init: Option<&Acc>, out: &mut Acc) {
    t.check();
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Isa::Avx512 => unsafe { x86::score_tile_avx512(t, init, out) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { avx2::score_tile_avx2(t, init, out) },
        _ => scalar::score_tile(t, init, out),
    }
}

/// Asks the CPU to bring `row` into L1 ahead of its use (a hint: it changes no result).
#[inline]
pub fn prefetch(row: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p = row.as_ptr() as *const i8;
        for b in (0..std::mem::size_of_val(row)).step_by(64) {
            // SAFETY: prefetching never faults (SSE, baseline on x86_64); the address is
            // within or one line past the row.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(b)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = row;
}

/// All ISAs usable on this CPU (for tests comparing kernels with their twin).
pub fn available() -> Vec<Isa> {
    let mut v = vec![Isa::Scalar];
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            v.push(Isa::Avx2);
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            v.push(Isa::Avx512);
        }
    }
    v
}

#[cfg(test)]
mod tests;
