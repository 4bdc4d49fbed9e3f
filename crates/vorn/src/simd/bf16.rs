//! AVX-512 BF16 screening kernels and the exact rescoring kernel (see [`crate::linalg`]'s
//! `screen` module for the error bound that makes the screen safe).
//!
//! * [`to_bf16`]: `(x − μ)` rounded to bf16 (round to nearest even), 16 values per
//!   instruction; a u32 word holds dimensions (2p, 2p+1) in its low and high half.
//! * [`screen_tile`]: for [`MR`] rows (bf16 words, row stride `xs`) × NP panels of 16
//!   centroids (bf16 word p of lane l at `p*16 + l`), the approximate scores
//!   `s̃ = c̄n − 2·Σ x̄·c̄` by `vdpbf16ps` (two products per lane and instruction, fp32
//!   accumulation: twice the fp32 fma rate), then per lane `lower = s̃ − α_i·m_j` (stored) and
//!   `upper = s̃ + α_i·m_j` folded into a running lane-wise minimum per row.
//! * [`candidates_at_most`]: the centroids whose lower bound is within a row's threshold.
//! * [`exact_dots`]: exact fp32 dot products of 16 (row, centroid) pairs, each the same
//!   strictly sequential fma chain as the tiled kernel (the `x86` module), so the same bits;
//!   the 16 chains are interleaved so the fma latency of one chain is hidden.
#![allow(unsafe_op_in_unsafe_fn)]

use super::{LANES, MR};
use std::arch::x86_64::*;

/// Whether the CPU has the BF16 dot-product instructions (and AVX-512F).
pub fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bf16")
}

/// Writes `src − mu` (fp32 subtraction) rounded to bf16 into `dst` (length `src.len()`
/// rounded up to even; the pad is zero) and returns Σ (src − mu)² summed in fp32 over 16
/// lanes (relative error ≤ γ_{d/16+4}).
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512 BF16 ([`available`]).
#[target_feature(enable = "avx512f,avx512bf16")]
pub unsafe fn to_bf16(src: &[f32], mu: &[f32], dst: &mut [u16]) -> f32 {
    let d = src.len();
    assert!(mu.len() == d && dst.len() == d.next_multiple_of(2));
    let mut sq = _mm512_setzero_ps();
    let mut p = 0;
    while p + LANES <= d {
        let v = _mm512_sub_ps(
            _mm512_loadu_ps(src.as_ptr().add(p)),
            _mm512_loadu_ps(mu.as_ptr().add(p)),
        );
        sq = _mm512_fmadd_ps(v, v, sq);
        let b: __m256i = std::mem::transmute(_mm512_cvtneps_pbh(v));
        _mm256_storeu_si256(dst.as_mut_ptr().add(p) as *mut __m256i, b);
        p += LANES;
    }
    if p < d {
        let m: __mmask16 = (1u32 << (d - p)) as u16 - 1;
        let v = _mm512_sub_ps(
            _mm512_maskz_loadu_ps(m, src.as_ptr().add(p)),
            _mm512_maskz_loadu_ps(m, mu.as_ptr().add(p)),
        );
        sq = _mm512_fmadd_ps(v, v, sq);
        let b: __m256i = std::mem::transmute(_mm512_cvtneps_pbh(v));
        let mut tmp = [0u16; LANES];
        _mm256_storeu_si256(tmp.as_mut_ptr() as *mut __m256i, b);
        let rest = dst.len() - p;
        dst[p..].copy_from_slice(&tmp[..rest]);
    }
    _mm512_reduce_add_ps(sq)
}

/// Appends `(row, j)` for every centroid j < `k` whose value in `lower` is ≤ `thr`, in
/// ascending j.
///
/// # Safety
/// The CPU must support AVX-512F; `lower.len()` is a multiple of 16.
#[target_feature(enable = "avx512f")]
pub unsafe fn candidates_at_most(
    lower: &[f32],
    thr: f32,
    k: usize,
    row: u32,
    out: &mut Vec<(u32, u32)>,
) {
    assert!(lower.len().is_multiple_of(LANES));
    let t = _mm512_set1_ps(thr);
    for q in 0..lower.len() / LANES {
        let v = _mm512_loadu_ps(lower.as_ptr().add(q * LANES));
        let mut m = _mm512_cmp_ps_mask::<_CMP_LE_OQ>(v, t) as u32;
        while m != 0 {
            let j = q * LANES + m.trailing_zeros() as usize;
            if j < k {
                out.push((row, j as u32));
            }
            m &= m - 1;
        }
    }
}

/// Exact dot products `x_r · c_r` of 16 (row, centroid) pairs, each the exact pass's strictly
/// sequential fma chain from 0 (the same bits as a lane of the tiled `x86` kernel); the
/// 16 independent chains hide the fma latency.
///
/// # Safety
/// The CPU must support AVX-512F (which implies FMA); every pointer is valid for `d` floats.
#[target_feature(enable = "avx512f,fma")]
pub unsafe fn exact_dots(rows: &[*const f32; 16], cents: &[*const f32; 16], d: usize) -> [f32; 16] {
    let mut acc = [0f32; 16];
    for p in 0..d {
        for r in 0..16 {
            acc[r] = (*rows[r].add(p)).mul_add(*cents[r].add(p), acc[r]);
        }
    }
    acc
}

/// Screens MR rows against NP panels (see the module doc). With `TWO` the running minimum
/// is lane-wise top-2: `umin + i*32 .. +16` the least upper bounds, `+16 .. +32` the second
/// least.
///
/// # Safety
/// The CPU must support AVX-512F and AVX-512 BF16. `xb` holds MR rows of `d2` words at stride
/// `xs`; panel q's `d2 × 16` words start at `panels + q*pstride`; `cn`, `m` hold NP·16
/// values; `lower + i*ls + q*16 .. +16` and `umin + i*16·(1 + TWO) ..` (16 or 32 values) are
/// writable for i < MR.
#[target_feature(enable = "avx512f,avx512bf16")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn screen_tile<const NP: usize, const TWO: bool>(
    xb: *const u32,
    xs: usize,
    d2: usize,
    panels: *const u32,
    pstride: usize,
    cn: *const f32,
    m: *const f32,
    alpha: &[f32; MR],
    lower: *mut f32,
    ls: usize,
    umin: *mut f32,
) {
    let mut acc = [[_mm512_setzero_ps(); NP]; MR];
    for p in 0..d2 {
        let mut b = [_mm512_setzero_si512(); NP];
        for q in 0..NP {
            b[q] = _mm512_loadu_si512(panels.add(q * pstride + p * LANES) as *const __m512i);
        }
        for i in 0..MR {
            let a = _mm512_set1_epi32(*xb.add(i * xs + p) as i32);
            for q in 0..NP {
                acc[i][q] = _mm512_dpbf16_ps(
                    acc[i][q],
                    std::mem::transmute::<__m512i, __m512bh>(a),
                    std::mem::transmute::<__m512i, __m512bh>(b[q]),
                );
            }
        }
    }
    let m2 = _mm512_set1_ps(-2.0);
    let w = if TWO { 2 * LANES } else { LANES };
    for i in 0..MR {
        let al = _mm512_set1_ps(alpha[i]);
        let u = umin.add(i * w);
        let mut u1 = _mm512_loadu_ps(u);
        let mut u2 = if TWO {
            _mm512_loadu_ps(u.add(LANES))
        } else {
            u1
        };
        for q in 0..NP {
            let mq = _mm512_loadu_ps(m.add(q * LANES));
            let s = _mm512_fmadd_ps(m2, acc[i][q], _mm512_loadu_ps(cn.add(q * LANES)));
            let lo = _mm512_fnmadd_ps(al, mq, s);
            let up = _mm512_fmadd_ps(al, mq, s);
            _mm512_storeu_ps(lower.add(i * ls + q * LANES), lo);
            if TWO {
                u2 = _mm512_min_ps(u2, _mm512_max_ps(u1, up));
            }
            u1 = _mm512_min_ps(u1, up);
        }
        _mm512_storeu_ps(u, u1);
        if TWO {
            _mm512_storeu_ps(u.add(LANES), u2);
        }
    }
}
