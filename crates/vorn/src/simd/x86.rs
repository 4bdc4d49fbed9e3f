//! AVX-512F micro-kernel: MR = 8 rows × up to 3 panels of 16 centroids = 24 zmm accumulators,
//! one broadcast per row (the rows read in place, stride `xs`) and one vector load per panel
//! per step of p. A half last panel ([`Tile::half`]) runs on ymm accumulators: on cores that
//! split 512-bit fmas into two 256-bit halves (AMD Zen 4) that halves its cost.
#![allow(unsafe_op_in_unsafe_fn)]

use super::{Acc, LaneBest, Tile, LANES, MAX_NP, MR};
use std::arch::x86_64::*;

/// Accumulators of one tile: MR × NF full panels (zmm) and, when the tile's last panel is
/// half ([`Tile::half`]), MR × 8 lanes of it (ymm; unused otherwise).
struct Dots<const NF: usize, const R: usize> {
    full: [[__m512; NF]; R],
    half: [__m256; R],
}

// Not `#[target_feature]` so that it can be `inline(always)`: it is only called from
// AVX-512 functions and takes their features when inlined (a call returning 24 zmm through
// memory cost ~30% at d = 768).
#[inline(always)]
unsafe fn dots<const NF: usize, const H: bool, const R: usize>(
    t: &Tile<'_>,
    init: Option<&Acc>,
) -> Dots<NF, R> {
    let mut acc = Dots {
        full: [[_mm512_setzero_ps(); NF]; R],
        half: [_mm256_setzero_ps(); R],
    };
    if let Some(a) = init {
        for i in 0..R {
            let row = a.as_ptr().add(i * MAX_NP * LANES);
            for q in 0..NF {
                acc.full[i][q] = _mm512_loadu_ps(row.add(q * LANES));
            }
            if H {
                acc.half[i] = _mm256_loadu_ps(row.add(NF * LANES));
            }
        }
    }
    let x = t.x.as_ptr();
    let b = t.panels.as_ptr();
    let stride = t.pstride;
    // Element p of row i sits at x + p + i*xs.
    let rs = t.xs;
    // The next tile's rows (MR rows on) are prefetched one cache line per row every 16
    // steps, a whole tile ahead of their use (prefetches never fault; past the end of the
    // rows they are wasted, not wrong). Eight strided row streams defeat the hardware
    // prefetcher when the rows come from memory: with this, one assignment pass
    // (`examples/assign_gflops`, 2 threads, GFLOP/s, two runs each) went on 20 Newsgroups
    // 18 846 × 384, k = 10: 72/56 → 89/80; k = 20: 80/89 → 111/125; k = 40: 135/134 →
    // 170/173; Fashion-MNIST 70k × 784, k = 5: 34/47 → 54/62; k = 40: 158/171 → 181/189;
    // uniform 1M × 64, k = 64: 118/124 → 160/147; unchanged where the pass is compute-bound
    // (uniform k = 1024, 100k × 768 k = 256, blobs k = 1024: ±2%). Two tiles ahead: the same.
    let mut p0 = 0;
    while p0 < t.d {
        for i in 0..R {
            _mm_prefetch::<_MM_HINT_T0>(x.wrapping_add(p0 + (MR + i) * rs) as *const i8);
        }
        let p1 = (p0 + LANES).min(t.d);
        for p in p0..p1 {
            step::<NF, H, R>(&mut acc, b, stride, p, x.add(p), rs);
        }
        p0 = p1;
    }
    acc
}

/// One p-step: NF panel loads (and the half panel's low 8 lanes), MR broadcasts from
/// `xp + i*rs`, MR×NF zmm fmas (and MR ymm fmas).
#[inline(always)]
unsafe fn step<const NF: usize, const H: bool, const R: usize>(
    acc: &mut Dots<NF, R>,
    b: *const f32,
    stride: usize,
    p: usize,
    xp: *const f32,
    rs: usize,
) {
    let mut bv = [_mm512_setzero_ps(); NF];
    for q in 0..NF {
        // In bounds: q*stride + p*LANES + 15 < panels.len(), checked by Tile::check.
        bv[q] = _mm512_loadu_ps(b.add(q * stride + p * LANES));
    }
    let bh = if H {
        _mm256_loadu_ps(b.add(NF * stride + p * LANES))
    } else {
        _mm256_setzero_ps()
    };
    for i in 0..R {
        // In bounds: checked by Tile::check.
        let a = _mm512_set1_ps(*xp.add(i * rs));
        for q in 0..NF {
            acc.full[i][q] = _mm512_fmadd_ps(a, bv[q], acc.full[i][q]);
        }
        if H {
            acc.half[i] = _mm256_fmadd_ps(_mm512_castps512_ps256(a), bh, acc.half[i]);
        }
    }
}

#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn dot_np<const NF: usize, const H: bool, const R: usize>(
    t: &Tile<'_>,
    acc: &mut Acc,
    resume: bool,
) {
    let r = dots::<NF, H, R>(t, if resume { Some(&*acc) } else { None });
    for i in 0..R {
        let row = acc.as_mut_ptr().add(i * MAX_NP * LANES);
        for q in 0..NF {
            _mm512_storeu_ps(row.add(q * LANES), r.full[i][q]);
        }
        if H {
            _mm256_storeu_ps(row.add(NF * LANES), r.half[i]);
        }
    }
}

#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn argmin_np<const NF: usize, const H: bool, const TOP2: bool, const R: usize>(
    t: &Tile<'_>,
    init: Option<&Acc>,
    best: &mut LaneBest,
) {
    let acc = dots::<NF, H, R>(t, init);
    let m2 = _mm512_set1_ps(-2.0);
    let iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let mut cn = [_mm512_setzero_ps(); NF];
    let mut ids = [_mm512_setzero_si512(); NF];
    for q in 0..NF {
        cn[q] = _mm512_loadu_ps(t.cn.as_ptr().add(q * LANES));
        ids[q] = _mm512_add_epi32(iota, _mm512_set1_epi32((t.j0 as usize + q * LANES) as i32));
    }
    let (cnh, idsh) = if H {
        (
            _mm256_loadu_ps(t.cn.as_ptr().add(NF * LANES)),
            _mm512_add_epi32(iota, _mm512_set1_epi32((t.j0 as usize + NF * LANES) as i32)),
        )
    } else {
        (_mm256_setzero_ps(), _mm512_setzero_si512())
    };
    for i in 0..R {
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
        // Panels in ascending order, the half panel last; `lanes` masks the half one.
        let mut merge = |s: __m512, ids: __m512i, lanes: __mmask16| {
            let m = _mm512_mask_cmp_ps_mask::<_CMP_LT_OQ>(lanes, s, bv);
            if TOP2 {
                // second ← old best where s beats the best, else s where s beats the second.
                let m2nd = _mm512_mask_cmp_ps_mask::<_CMP_LT_OQ>(lanes, s, sv);
                sv = _mm512_mask_mov_ps(_mm512_mask_mov_ps(sv, m2nd, s), m, bv);
            }
            bv = _mm512_mask_mov_ps(bv, m, s);
            bi = _mm512_mask_mov_epi32(bi, m, ids);
        };
        for q in 0..NF {
            merge(_mm512_fmadd_ps(m2, acc.full[i][q], cn[q]), ids[q], 0xFFFF);
        }
        if H {
            let s = _mm256_fmadd_ps(_mm512_castps512_ps256(m2), acc.half[i], cnh);
            // The upper 8 lanes of the widened score are undefined and masked out.
            merge(_mm512_castps256_ps512(s), idsh, 0x00FF);
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
unsafe fn score_np<const NF: usize, const H: bool>(
    t: &Tile<'_>,
    init: Option<&Acc>,
    out: &mut Acc,
) {
    let acc = dots::<NF, H, MR>(t, init);
    let m2 = _mm512_set1_ps(-2.0);
    for q in 0..NF {
        let cn = _mm512_loadu_ps(t.cn.as_ptr().add(q * LANES));
        for i in 0..MR {
            let s = _mm512_fmadd_ps(m2, acc.full[i][q], cn);
            _mm512_storeu_ps(out.as_mut_ptr().add(i * MAX_NP * LANES + q * LANES), s);
        }
    }
    if H {
        let cn = _mm256_loadu_ps(t.cn.as_ptr().add(NF * LANES));
        for i in 0..MR {
            let s = _mm256_fmadd_ps(_mm512_castps512_ps256(m2), acc.half[i], cn);
            _mm256_storeu_ps(out.as_mut_ptr().add(i * MAX_NP * LANES + NF * LANES), s);
        }
    }
}

/// Calls `$f::<full panels, half>` for the tile's (np, half).
macro_rules! by_shape {
    ($t:expr, $f:ident $(::<$($g:tt),*>)? ($($a:expr),*)) => {
        match ($t.np, $t.half) {
            (1, false) => $f::<1, false $($(, $g)*)?>($($a),*),
            (2, false) => $f::<2, false $($(, $g)*)?>($($a),*),
            (1, true) => $f::<0, true $($(, $g)*)?>($($a),*),
            (2, true) => $f::<1, true $($(, $g)*)?>($($a),*),
            (_, true) => $f::<2, true $($(, $g)*)?>($($a),*),
            _ => $f::<3, false $($(, $g)*)?>($($a),*),
        }
    };
}

/// AVX-512 partial dot products.
///
/// # Safety
/// The CPU must support AVX-512F; `t` must satisfy `Tile::check`.
#[target_feature(enable = "avx512f")]
pub unsafe fn dot_tile_avx512(t: &Tile<'_>, acc: &mut Acc, resume: bool) {
    by_shape!(t, dot_np::<MR>(t, acc, resume))
}

/// [`dot_tile_avx512`] for the first `rows` rows of the tile only (rounded up to 1, 2, 4 or
/// MR): R broadcasts and R·NF fmas per step, the same bits for those rows, the rows of `acc`
/// past them unspecified.
///
/// # Safety
/// The CPU must support AVX-512F; `t` must satisfy `Tile::check`.
#[target_feature(enable = "avx512f")]
pub unsafe fn dot_tile_rows_avx512(t: &Tile<'_>, rows: usize, acc: &mut Acc) {
    match rows {
        1 => by_shape!(t, dot_np::<1>(t, acc, false)),
        2 => by_shape!(t, dot_np::<2>(t, acc, false)),
        3 | 4 => by_shape!(t, dot_np::<4>(t, acc, false)),
        _ => by_shape!(t, dot_np::<MR>(t, acc, false)),
    }
}

/// AVX-512 arg-min tile.
///
/// # Safety
/// The CPU must support AVX-512F; `t` must satisfy `Tile::check`.
#[target_feature(enable = "avx512f")]
pub unsafe fn argmin_tile_avx512(t: &Tile<'_>, init: Option<&Acc>, best: &mut LaneBest) {
    by_shape!(t, argmin_np::<false, MR>(t, init, best))
}

/// [`argmin_tile_avx512`] for a tile whose first row alone is real (a one-row batch): one
/// broadcast and NF fmas per step instead of MR of each, the same bits for that row, and the
/// other rows of `best` left as they were.
///
/// # Safety
/// The CPU must support AVX-512F; `t` must satisfy `Tile::check`.
#[target_feature(enable = "avx512f")]
pub unsafe fn argmin1_tile_avx512(t: &Tile<'_>, init: Option<&Acc>, best: &mut LaneBest) {
    by_shape!(t, argmin_np::<false, 1>(t, init, best))
}

/// AVX-512 top-2 arg-min tile.
///
/// # Safety
/// The CPU must support AVX-512F; `t` must satisfy `Tile::check`.
#[target_feature(enable = "avx512f")]
pub unsafe fn argmin2_tile_avx512(t: &Tile<'_>, init: Option<&Acc>, best: &mut LaneBest) {
    by_shape!(t, argmin_np::<true, MR>(t, init, best))
}

/// AVX-512 score tile.
///
/// # Safety
/// The CPU must support AVX-512F; `t` must satisfy `Tile::check`.
#[target_feature(enable = "avx512f")]
pub unsafe fn score_tile_avx512(t: &Tile<'_>, init: Option<&Acc>, out: &mut Acc) {
    by_shape!(t, score_np(t, init, out))
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
