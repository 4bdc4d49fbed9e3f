//! AVX2 + FMA version of the row-to-row kernel of [`super::vector`], for CPUs without
//! AVX-512: the scalar twin's operations per element and lane, so the bits are the twin's;
//! the tests compare every ISA with it.
#![allow(unsafe_op_in_unsafe_fn)]

use super::vector::reduce;
use super::LANES;
use std::arch::x86_64::*;

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
