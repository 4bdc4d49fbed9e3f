#![allow(unsafe_op_in_unsafe_fn)]
//! AVX-512F micro-kernel: MR = 8 rows × up to 3 panels of 16 centroids = 24 zmm accumulators,
//! one broadcast (embedded in the fma) per row and one vector load per panel per step of p.

use super::{LaneBest, Tile, LANES, MAX_NP, MR};
use std::arch::x86_64::*;

#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn dots<const NP: usize>(t: &Tile<'_>) -> [[__m512; NP]; MR] {
    let mut acc = [[_mm512_setzero_ps(); NP]; MR];
    let x = t.x.as_ptr();
    let b = t.panels.as_ptr();
    let stride = t.d * LANES;
    let ldx = t.ldx;
    for p in 0..t.d {
        let mut bv = [_mm512_setzero_ps(); NP];
        for q in 0..NP {
            // SAFETY: q*stride + p*LANES + 15 < NP*d*LANES, checked by Tile::check.
            bv[q] = unsafe { _mm512_loadu_ps(b.add(q * stride + p * LANES)) };
        }
        for i in 0..MR {
            // SAFETY: i*ldx + p < MR*ldx, checked by Tile::check.
            let a = _mm512_set1_ps(unsafe { *x.add(i * ldx + p) });
            for q in 0..NP {
                acc[i][q] = _mm512_fmadd_ps(a, bv[q], acc[i][q]);
            }
        }
    }
    acc
}

#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn argmin_np<const NP: usize>(t: &Tile<'_>, best: &mut LaneBest) {
    let acc = unsafe { dots::<NP>(t) };
    let m2 = _mm512_set1_ps(-2.0);
    let iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let mut cn = [_mm512_setzero_ps(); NP];
    let mut ids = [_mm512_setzero_si512(); NP];
    for q in 0..NP {
        cn[q] = unsafe { _mm512_loadu_ps(t.cn.as_ptr().add(q * LANES)) };
        ids[q] = _mm512_add_epi32(iota, _mm512_set1_epi32((t.j0 as usize + q * LANES) as i32));
    }
    for i in 0..MR {
        let vp = unsafe { best.v.as_mut_ptr().add(i * LANES) };
        let ip = unsafe { best.idx.as_mut_ptr().add(i * LANES) } as *mut __m512i;
        let mut bv = unsafe { _mm512_loadu_ps(vp) };
        let mut bi = unsafe { _mm512_loadu_si512(ip) };
        for q in 0..NP {
            let s = _mm512_fmadd_ps(m2, acc[i][q], cn[q]);
            let m = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(s, bv);
            bv = _mm512_mask_mov_ps(bv, m, s);
            bi = _mm512_mask_mov_epi32(bi, m, ids[q]);
        }
        unsafe {
            _mm512_storeu_ps(vp, bv);
            _mm512_storeu_si512(ip, bi);
        }
    }
}

#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn score_np<const NP: usize>(t: &Tile<'_>, out: &mut [f32; MR * MAX_NP * LANES]) {
    let acc = unsafe { dots::<NP>(t) };
    let m2 = _mm512_set1_ps(-2.0);
    for q in 0..NP {
        let cn = unsafe { _mm512_loadu_ps(t.cn.as_ptr().add(q * LANES)) };
        for i in 0..MR {
            let s = _mm512_fmadd_ps(m2, acc[i][q], cn);
            unsafe { _mm512_storeu_ps(out.as_mut_ptr().add(i * MAX_NP * LANES + q * LANES), s) };
        }
    }
}

/// AVX-512 arg-min tile.
///
/// # Safety
/// The CPU must support AVX-512F; `t` must satisfy `Tile::check`.
#[target_feature(enable = "avx512f")]
pub unsafe fn argmin_tile_avx512(t: &Tile<'_>, best: &mut LaneBest) {
    unsafe {
        match t.np {
            1 => argmin_np::<1>(t, best),
            2 => argmin_np::<2>(t, best),
            _ => argmin_np::<3>(t, best),
        }
    }
}

/// AVX-512 score tile.
///
/// # Safety
/// The CPU must support AVX-512F; `t` must satisfy `Tile::check`.
#[target_feature(enable = "avx512f")]
pub unsafe fn score_tile_avx512(t: &Tile<'_>, out: &mut [f32; MR * MAX_NP * LANES]) {
    unsafe {
        match t.np {
            1 => score_np::<1>(t, out),
            2 => score_np::<2>(t, out),
            _ => score_np::<3>(t, out),
        }
    }
}
