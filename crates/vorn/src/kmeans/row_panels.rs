//! Seeding rows packed as 16-row panels: the distances of a k-means++ step with the roles
//! of rows and candidates swapped in the micro-kernel.
//!
//! A k-means++ step scores T = 2 + ⌊ln k⌋ candidates (T = 8 at k = 1024, 9 up to k = 2980)
//! against every seeding row. With the candidates as the kernel's 16-wide centroid panels
//! most lanes are padding (T = 9: 16 lanes for 9; T = 8: a half panel, eight 256-bit fmas
//! and nine loads per step of p for eight rows). Here the rows are the panels instead (a
//! packed copy, `m × d` floats, made once per seeding) and the candidates the kernel's
//! broadcast rows: a call is up to 8 candidates × 48 seeding rows, every lane real, the
//! shape of the assignment pass; a last short group of candidates runs with as many
//! broadcast rows as it has ([`simd::dot_tile_rows`]).
//!
//! The cost of a step is then that of the assignment kernel: blobs k = 1024 (T = 8, d = 128)
//! k-means++ 1.6× faster than with the dots kernel ([`crate::simd::dots`], whose lane
//! reduction costs a third of its work at d = 128); measurements at
//! `scorer::ROWS_MIN_STEPS`.
//!
//! Same bits as the candidate-panel path: a dot product is the same sequential fma chain
//! over p either way (fma(a, b, c) = fma(b, a, c)), and the kernel's score
//! fma(−2, x·c, ‖c‖²) equals the f32 sum ‖c‖² + (−2·x·c) because −2·x·c is exact (the
//! sum is the one rounding of both). Only at |x·c| near f32::MAX, where −2·x·c overflows and
//! fma would not, could they differ; such rows' squared norms already overflow. (Not the
//! bits of the dots kernel, whose sums are lane-reduced: seedings that used it, T ≤ 8 from
//! d = 128 on, now pick different rows where two candidates' potentials differ by rounding
//! only; over seeds the results are as good, measured at `scorer::ROWS_MIN_STEPS`.)

use crate::data::MatrixView;
use crate::linalg::norm_term_of;
use crate::metric::Metric;
use crate::scratch::Buf;
use crate::simd::{self, Acc, Tile, LANES, MAX_NP, MR};

/// Largest packed copy made (bytes); past it seeding keeps the other kernels. The copy sits
/// beside the gathered seeding sample (up to 64 B·k·d) while k-means++ runs, so it is held
/// to a fixed amount rather than doubling the sample: 32 MiB covers the seeding samples of
/// k = 2048 at d = 128 and of k ≤ 512 at d = 1024 (8192 rows × 1024 floats).
pub(super) const MAX_BYTES: usize = 32 << 20;

/// The rows of a matrix in panel layout: row `16q + l`, element p at
/// `panels[(q·d + p)·16 + l]`; rows past n are zeros.
pub(super) struct RowPanels {
    panels: Buf,
    /// ‖x‖ of every row for cosine (√ of its squared norm, as the distance takes it), else
    /// empty.
    roots: Vec<f32>,
    n: usize,
    d: usize,
}

/// Candidates of one step in the kernel's row layout: row-major, zero rows up to a multiple
/// of MR, with their norm terms.
pub(super) struct Cands {
    rows: Vec<f32>,
    cn: Vec<f32>,
}

impl Cands {
    pub(super) fn new(c: &[f32], t: usize, d: usize, metric: Metric) -> Self {
        let mut rows = vec![0f32; t.div_ceil(MR) * MR * d];
        rows[..t * d].copy_from_slice(&c[..t * d]);
        let cn = c
            .chunks(d)
            .take(t)
            .map(|r| norm_term_of(metric, r))
            .collect();
        Cands { rows, cn }
    }
}

impl RowPanels {
    /// Packs the rows of `x` (parallel over panels), with their squared norms `norms`.
    pub(super) fn new(x: MatrixView<'_>, norms: &[f32], metric: Metric) -> Self {
        use rayon::prelude::*;
        let (n, d) = (x.n(), x.d());
        // A kept buffer when one fits (`crate::scratch`): no fresh pages to fault in.
        let mut panels = Buf::zeroed(n.div_ceil(LANES) * d * LANES);
        panels
            .par_chunks_mut(d * LANES)
            .enumerate()
            .for_each(|(q, panel)| {
                for l in 0..LANES.min(n - q * LANES) {
                    for (p, &v) in x.row(q * LANES + l).iter().enumerate() {
                        panel[p * LANES + l] = v;
                    }
                }
            });
        let roots = match metric {
            Metric::L2 => Vec::new(),
            Metric::Cosine => norms.iter().map(|v| v.sqrt()).collect(),
        };
        RowPanels {
            panels,
            roots,
            n,
            d,
        }
    }

    /// Whether packing `n × d` rows stays within [`MAX_BYTES`].
    pub(super) fn fits(n: usize, d: usize) -> bool {
        n.div_ceil(LANES)
            .saturating_mul(LANES * d * 4)
            .le(&MAX_BYTES)
    }

    /// D² of rows `r0 .. r0 + o.len() / t` (`r0` a multiple of 16) to the `t` candidates,
    /// row-major into `o`, under `metric` with the rows' norms `norms` (all rows).
    pub(super) fn rows(
        &self,
        c: &Cands,
        t: usize,
        metric: Metric,
        norms: &[f32],
        r0: usize,
        o: &mut [f32],
    ) {
        debug_assert!(r0.is_multiple_of(LANES) && r0 + o.len() / t <= self.n);
        let d = self.d;
        let isa = simd::active();
        let end = r0 + o.len() / t;
        let zeros = [0f32; MAX_NP * LANES];
        let mut acc = [0f32; MR * MAX_NP * LANES];
        let mut q = r0 / LANES;
        while q * LANES < end {
            let np = (end.div_ceil(LANES) - q).min(MAX_NP);
            let rows = (q * LANES..end.min((q + np) * LANES)).len();
            for g in (0..t).step_by(MR) {
                let real = (t - g).min(MR);
                let tile = Tile {
                    x: &c.rows[g * d..(g + MR) * d],
                    xs: d,
                    d,
                    panels: &self.panels[q * d * LANES..(q + np) * d * LANES],
                    pstride: d * LANES,
                    cn: &zeros[..np * LANES],
                    np,
                    j0: 0,
                    half: false,
                };
                simd::dot_tile_rows(isa, &tile, real, &mut acc);
                // Per row: ‖x‖² (L2) or ‖x‖ (cosine).
                let nr = match metric {
                    Metric::L2 => &norms[q * LANES..][..rows],
                    Metric::Cosine => &self.roots[q * LANES..][..rows],
                };
                let dst = &mut o[(q * LANES - r0) * t + g..];
                store_dists(isa, metric, &c.cn[g..g + real], nr, &acc, t, dst);
            }
            q += np;
        }
    }
}

/// Stores the distances of a tile: candidate i (of `cn.len()`, norm terms `cn`) against
/// the `nr.len()` rows of the panel group, from their dot products in `acc`, into column i
/// of the row-major `dst` (`t` per row). Each is [`super::init::score_to_dist`] of the score
/// ‖c‖² + (−2·x·c) (= the kernel's fma(−2, x·c, ‖c‖²), module docs) with the row's ‖x‖² (L2)
/// or the precomputed root ‖x‖ (cosine) in `nr`: the same operations per element, so the same
/// bits on every ISA; compiled for AVX-512 or AVX2 where present so that a candidate's rows
/// (contiguous in `acc`) convert in wide vectors (the cosine division was most of it).
#[inline]
fn store_dists(
    isa: simd::Isa,
    metric: Metric,
    cn: &[f32],
    nr: &[f32],
    acc: &Acc,
    t: usize,
    dst: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    match isa {
        // SAFETY: `simd::active()` only returns these when the CPU has the features.
        simd::Isa::Avx512 => return unsafe { store_dists_avx512(metric, cn, nr, acc, t, dst) },
        simd::Isa::Avx2 => return unsafe { store_dists_avx2(metric, cn, nr, acc, t, dst) },
        _ => {}
    }
    let _ = isa;
    store_dists_body(metric, cn, nr, acc, t, dst)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn store_dists_avx512(
    m: Metric,
    cn: &[f32],
    nr: &[f32],
    acc: &Acc,
    t: usize,
    dst: &mut [f32],
) {
    store_dists_body(m, cn, nr, acc, t, dst)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn store_dists_avx2(
    m: Metric,
    cn: &[f32],
    nr: &[f32],
    acc: &Acc,
    t: usize,
    dst: &mut [f32],
) {
    store_dists_body(m, cn, nr, acc, t, dst)
}

#[inline(always)]
fn store_dists_body(metric: Metric, cn: &[f32], nr: &[f32], acc: &Acc, t: usize, dst: &mut [f32]) {
    let rows = nr.len();
    let mut dist = [0f32; MAX_NP * LANES];
    for (i, &c) in cn.iter().enumerate() {
        let dots = &acc[i * MAX_NP * LANES..][..rows];
        let out = &mut dist[..rows];
        match metric {
            Metric::L2 => {
                for ((o, &n2), &dot) in out.iter_mut().zip(nr).zip(dots) {
                    *o = (n2 + (c + -2.0 * dot)).max(0.0);
                }
            }
            Metric::Cosine => {
                for ((o, &root), &dot) in out.iter_mut().zip(nr).zip(dots) {
                    *o = (2.0 - (1.0 - (c + -2.0 * dot)) / root).max(0.0);
                }
            }
        }
        for (l, &v) in out.iter().enumerate() {
            dst[l * t + i] = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_is_held_to_max_bytes() {
        assert!(RowPanels::fits(8192, 1024));
        // One row more starts a 16-row panel past the limit.
        assert!(!RowPanels::fits(8193, 1024));
        assert!(RowPanels::fits(65536, 128) && !RowPanels::fits(65537, 128));
        assert!(!RowPanels::fits(usize::MAX / 2, 3));
    }
}
