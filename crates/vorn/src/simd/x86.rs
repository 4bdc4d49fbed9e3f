//! AVX-512F micro-kernel: MR = 8 rows × up to 3 panels of 16 centroids = 24 zmm accumulators,
//! one broadcast per row (the rows read in place, stride `xs`) and one vector load per panel
//! per step of p.
#![allow(unsafe_op_in_unsafe_fn)]

use super::{Acc, LaneBest, Tile, LANES, MAX_NP, MR};
use std::arch::x86_64::*;

// Not `#[target_feature]` so that it can be `inline(always)`: it is only called from
// AVX-512 functions and takes their features when inlined (a call returning 24 zmm through
// memory cost ~30% at d = 768).
#[inline(always)]
unsafe fn dots<const NP: usize>(t: &Tile<'_>, init: Option<&Acc>) -> [[__m512; NP]; MR] {
    let mut acc = [[_mm512_setzero_ps(); NP]; MR];
    if let Some(a) = init {
        for i in 0..MR {
            for q in 0..NP {
                acc[i][q] = _mm512_loadu_ps(a.as_ptr().add(i * MAX_NP * LANES + q * LANES));
            }
        }
    }
    let x = t.x.as_ptr();
    let b = t.panels.as_ptr();
    let stride = t.pstride;
    // Element p of row i sits at x + p + i*xs.
    let rs = t.xs;
    for p in 0..t.d {
        step::<NP>(&mut acc, b, stride, p, x.add(p), rs);
    }
    acc
}

/// One p-step: NP panel loads, MR broadcasts from `xp + i*rs`, MR×NP fmas.
#[inline(always)]
unsafe fn step<const NP: usize>(
    acc: &mut [[__m512; NP]; MR],
    b: *const f32,
    stride: usize,
    p: usize,
    xp: *const f32,
    rs: usize,
) {
    let mut bv = [_mm512_setzero_ps(); NP];
    for q in 0..NP {
        // In bounds: q*stride + p*LANES + 15 < panels.len(), checked by Tile::check.
        bv[q] = _mm512_loadu_ps(b.add(q * stride + p * LANES));
    }
    for i in 0..MR {
        // In bounds: checked by Tile::check for both layouts.
        let a = _mm512_set1_ps(*xp.add(i * rs));
        for q in 0..NP {
            acc[i][q] = _mm512_fmadd_ps(a, bv[q], acc[i][q]);
        }
    }
}

#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn dot_np<const NP: usize>(t: &Tile<'_>, acc: &mut Acc, resume: bool) {
    let r = dots::<NP>(t, if resume { Some(&*acc) } else { None });
    for i in 0..MR {
        for q in 0..NP {
            _mm512_storeu_ps(
                acc.as_mut_ptr().add(i * MAX_NP * LANES + q * LANES),
                r[i][q],
            );
        }
    }
}

#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn argmin_np<const NP: usize, const TOP2: bool>(
    t: &Tile<'_>,
    init: Option<&Acc>,
    best: &mut LaneBest,
) {
    let acc = dots::<NP>(t, init);
    let m2 = _mm512_set1_ps(-2.0);
    let iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let mut cn = [_mm512_setzero_ps(); NP];
    let mut ids = [_mm512_setzero_si512(); NP];
    for q in 0..NP {
        cn[q] = _mm512_loadu_ps(t.cn.as_ptr().add(q * LANES));
        ids[q] = _mm512_add_epi32(iota, _mm512_set1_epi32((t.j0 as usize + q * LANES) as i32));
    }
    for i in 0..MR {
        let vp = best.v.as_mut_ptr().add(i * LANES);
        let ip = best.idx.as_mut_ptr().add(i * LANES) as *mut __m512i;
        let sp = best.v2.as_mut_ptr().add(i * LANES);
        let mut bv = _mm512_loadu_ps(vp);
        let mut bi = _mm512_loadu_si512(ip);
        let mut sv = if TOP2 {
            _mm512_loadu_ps(sp)
        } else {
            _mm512_setzero_ps()
        };
        for q in 0..NP {
            let s = _mm512_fmadd_ps(m2, acc[i][q], cn[q]);
            let m = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(s, bv);
            if TOP2 {
                // second ← old best where s beats the best, else s where s beats the second.
                let m2nd = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(s, sv);
                sv = _mm512_mask_mov_ps(_mm512_mask_mov_ps(sv, m2nd, s), m, bv);
            }
            bv = _mm512_mask_mov_ps(bv, m, s);
            bi = _mm512_mask_mov_epi32(bi, m, ids[q]);
        }
        _mm512_storeu_ps(vp, bv);
        _mm512_storeu_si512(ip, bi);
        if TOP2 {
            _mm512_storeu_ps(sp, sv);
        }
    }
}

#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn score_np<const NP: usize>(t: &Tile<'_>, init: Option<&Acc>, out: &mut Acc) {
    let acc = dots::<NP>(t, init);
    let m2 = _mm512_set1_ps(-2.0);
    for q in 0..NP {
        let cn = _mm512_loadu_ps(t.cn.as_ptr().add(q * LANES));
        for i in 0..MR {
            let s = _mm512_fmadd_ps(m2, acc[i][q], cn);
            _mm512_storeu_ps(out.as_mut_ptr().add(i * MAX_NP * LANES + q * LANES), s);
        }
    }
}

/// AVX-512 partial dot products.
///
/// # Safety
/// The CPU must support AVX-512F; `t` must satisfy `Tile::check`.
#[target_feature(enable = "avx512f")]
pub unsafe fn dot_tile_avx512(t: &Tile<'_>, acc: &mut Acc, resume: bool) {
    match t.np {
        1 => dot_np::<1>(t, acc, resume),
        2 => dot_np::<2>(t, acc, resume),
        _ => dot_np::<3>(t, acc, resume),
    }
}

/// AVX-512 arg-min tile.
///
/// # Safety
/// The CPU must support AVX-512F; `t` must satisfy `Tile::check`.
#[target_feature(enable = "avx512f")]
pub unsafe fn argmin_tile_avx512(t: &Tile<'_>, init: Option<&Acc>, best: &mut LaneBest) {
    match t.np {
        1 => argmin_np::<1, false>(t, init, best),
        2 => argmin_np::<2, false>(t, init, best),
        _ => argmin_np::<3, false>(t, init, best),
    }
}

/// AVX-512 top-2 arg-min tile.
///
/// # Safety
/// The CPU must support AVX-512F; `t` must satisfy `Tile::check`.
#[target_feature(enable = "avx512f")]
pub unsafe fn argmin2_tile_avx512(t: &Tile<'_>, init: Option<&Acc>, best: &mut LaneBest) {
    match t.np {
        1 => argmin_np::<1, true>(t, init, best),
        2 => argmin_np::<2, true>(t, init, best),
        _ => argmin_np::<3, true>(t, init, best),
    }
}

/// AVX-512 score tile.
///
/// # Safety
/// The CPU must support AVX-512F; `t` must satisfy `Tile::check`.
#[target_feature(enable = "avx512f")]
pub unsafe fn score_tile_avx512(t: &Tile<'_>, init: Option<&Acc>, out: &mut Acc) {
    match t.np {
        1 => score_np::<1>(t, init, out),
        2 => score_np::<2>(t, init, out),
        _ => score_np::<3>(t, init, out),
    }
}

/// AVX-512 [`super::finish_rows`]: the minimum over the ordered lanes, then the lowest id
/// among the lanes equal to it (NaN lanes never win, as in the scalar reduction).
///
/// # Safety
/// The CPU must support AVX-512F; `labels.len() <= MR`, `scores.len() == labels.len()`.
#[target_feature(enable = "avx512f")]
pub unsafe fn finish_rows_avx512(b: &LaneBest, labels: &mut [u32], scores: &mut [f32]) {
    let inf = _mm512_set1_ps(f32::INFINITY);
    for i in 0..labels.len() {
        let v = _mm512_loadu_ps(b.v.as_ptr().add(i * LANES));
        let ix = _mm512_loadu_si512(b.idx.as_ptr().add(i * LANES) as *const __m512i);
        let ord = _mm512_cmp_ps_mask::<_CMP_ORD_Q>(v, v);
        let m = _mm512_reduce_min_ps(_mm512_mask_mov_ps(inf, ord, v));
        let eq = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(v, _mm512_set1_ps(m)) & ord;
        *labels.get_unchecked_mut(i) = _mm512_mask_reduce_min_epu32(eq, ix);
        *scores.get_unchecked_mut(i) = m;
    }
}
