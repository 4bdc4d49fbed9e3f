//! AVX2 + FMA versions of the row-to-row kernels of [`super::vector`], for CPUs without
//! AVX-512. Each performs the scalar twin's operations per element and chain (f64 products
//! and sums, never fused, into chain p mod 32 for [`accumulate_group_avx2`]), so the bits are
//! the twin's; the tests compare every ISA with it.
#![allow(unsafe_op_in_unsafe_fn)]

use super::vector::{fold, reduce, ACC_LANES, CHAINS};
use super::LANES;
use std::arch::x86_64::*;

/// Elements per vector block of [`accumulate_group_avx2`]: four ymm of f64.
const BLOCK: usize = 16;

/// [`super::vector::accumulate_group`] on AVX2. Within a chunk of 32 elements every element
/// owns its chain, so elements may be processed in any grouping as long as each sees the rows
/// in order: blocks of 16 elements keep their four sum, old and chain registers while the
/// rows pass; the last < 16 elements of a chunk run the twin's scalar operations.
///
/// # Safety
/// The CPU must support AVX2 and FMA; `old.len() == sum.len() == d`, every row
/// `(i + 1)·d ≤ x.len()`, `scales.len() == rows.len()` when `SCALED`.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn accumulate_group_avx2<const SCALED: bool>(
    x: &[f32],
    d: usize,
    rows: &[u32],
    scales: &[f64],
    old: &[f64],
    sum: &mut [f64],
    lanes: &mut [f64; ACC_LANES],
    ahead: usize,
) {
    let mut ch = [0f64; CHAINS];
    let (xp, sp, op, cp) = (x.as_ptr(), sum.as_mut_ptr(), old.as_ptr(), ch.as_mut_ptr());
    let mut c0 = 0;
    while c0 < d {
        let c1 = (c0 + CHAINS).min(d);
        let mut p = c0;
        while p + BLOCK <= c1 {
            let mut s = [_mm256_setzero_pd(); 4];
            let mut o = [_mm256_setzero_pd(); 4];
            let mut a = [_mm256_setzero_pd(); 4];
            for q in 0..4 {
                s[q] = _mm256_loadu_pd(sp.add(p + 4 * q));
                o[q] = _mm256_loadu_pd(op.add(p + 4 * q));
                a[q] = _mm256_loadu_pd(cp.add(p - c0 + 4 * q));
            }
            for (mi, &i) in rows.iter().enumerate() {
                let r = xp.add(i as usize * d + p);
                if ahead > 0 {
                    _mm_prefetch::<_MM_HINT_T1>(r.wrapping_add(ahead) as *const i8);
                }
                let sc = _mm256_set1_pd(if SCALED { scales[mi] } else { 1.0 });
                for q in 0..4 {
                    let mut v = _mm256_cvtps_pd(_mm_loadu_ps(r.add(4 * q)));
                    if SCALED {
                        v = _mm256_mul_pd(v, sc);
                    }
                    s[q] = _mm256_add_pd(s[q], v);
                    let t = _mm256_sub_pd(v, o[q]);
                    a[q] = _mm256_add_pd(a[q], _mm256_mul_pd(t, t));
                }
            }
            for q in 0..4 {
                _mm256_storeu_pd(sp.add(p + 4 * q), s[q]);
                _mm256_storeu_pd(cp.add(p - c0 + 4 * q), a[q]);
            }
            p += BLOCK;
        }
        if p < c1 {
            for (mi, &i) in rows.iter().enumerate() {
                let scale = if SCALED { scales[mi] } else { 1.0 };
                let r = xp.add(i as usize * d);
                for e in p..c1 {
                    let v = *r.add(e) as f64 * scale;
                    *sp.add(e) += v;
                    let t = v - *op.add(e);
                    *cp.add(e - c0) += t * t;
                }
            }
        }
        c0 = c1;
    }
    fold(&ch, lanes);
}

/// Mask of the lanes e..e+8 that lie below n, for `_mm256_maskload_ps` (sign bit set).
#[inline(always)]
unsafe fn lane_mask(n: usize, e: usize) -> __m256i {
    let live = n.saturating_sub(e).min(8) as i32;
    _mm256_cmpgt_epi32(
        _mm256_set1_epi32(live),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    )
}

/// [`super::vector::sqdist`] on AVX2: lanes 0..8 and 8..16 of the twin's 16 f32 lanes in
/// two registers, element p through one fma into lane p mod 16; the partial last chunk reads
/// zeros past the end, and fma(0, 0, acc) = acc since every lane is a sum of squares (≥ +0).
/// Then the twin's f64 lane sum, so the bits are the twin's.
///
/// # Safety
/// The CPU must support AVX2 and FMA; `a.len() == b.len()`.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn sqdist_avx2(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len();
    let (ap, bp) = (a.as_ptr(), b.as_ptr());
    let full = n / LANES * LANES;
    let mut lo = _mm256_setzero_ps();
    let mut hi = _mm256_setzero_ps();
    let mut p = 0;
    while p < full {
        let t0 = _mm256_sub_ps(_mm256_loadu_ps(ap.add(p)), _mm256_loadu_ps(bp.add(p)));
        let t1 = _mm256_sub_ps(
            _mm256_loadu_ps(ap.add(p + 8)),
            _mm256_loadu_ps(bp.add(p + 8)),
        );
        lo = _mm256_fmadd_ps(t0, t0, lo);
        hi = _mm256_fmadd_ps(t1, t1, hi);
        p += LANES;
    }
    if full < n {
        let (m0, m1) = (lane_mask(n, full), lane_mask(n, full + 8));
        let t0 = _mm256_sub_ps(
            _mm256_maskload_ps(ap.add(full), m0),
            _mm256_maskload_ps(bp.add(full), m0),
        );
        let t1 = _mm256_sub_ps(
            _mm256_maskload_ps(ap.add(full + 8), m1),
            _mm256_maskload_ps(bp.add(full + 8), m1),
        );
        lo = _mm256_fmadd_ps(t0, t0, lo);
        hi = _mm256_fmadd_ps(t1, t1, hi);
    }
    let mut out = [0f32; LANES];
    _mm256_storeu_ps(out.as_mut_ptr(), lo);
    _mm256_storeu_ps(out.as_mut_ptr().add(8), hi);
    reduce(&out)
}
