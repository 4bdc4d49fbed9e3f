//! AVX-512 and AVX2 bodies of the packed local Lloyd's kernels (`super::dots`,
//! `super::sum_lanes`, `super::assign_panels`): the same operations per lane as their portable
//! twins, in the same order (products rounded then added, no fused multiply-adds; masked
//! adds keep a lane; maxima as `super::clamp0`), so every ISA returns the same bits.
#![allow(unsafe_op_in_unsafe_fn)]

use super::P;
use std::arch::x86_64::*;

#[inline]
#[target_feature(enable = "avx512f")]
pub unsafe fn dots_avx512<const M: usize>(panel: &[f32], ct: &[[f32; M]], acc: &mut [[f32; P]; M]) {
    let mut r = [_mm512_setzero_ps(); M];
    let mut xp = panel.as_ptr();
    for cp in ct {
        let xv = _mm512_loadu_ps(xp);
        for j in 0..M {
            r[j] = _mm512_add_ps(r[j], _mm512_mul_ps(xv, _mm512_set1_ps(cp[j])));
        }
        xp = xp.add(P);
    }
    for j in 0..M {
        _mm512_storeu_ps(acc[j].as_mut_ptr(), r[j]);
    }
}

/// Elements summed in registers at a time (16 of the 32 vector registers).
const BLOCK: usize = 16;

/// Per label, blocks of [`BLOCK`] elements summed in registers over the panels (a
/// masked store of a sum reloaded at the next panel would stall store forwarding).
#[target_feature(enable = "avx512f")]
pub unsafe fn sum_lanes_avx512<const M: usize>(
    data: &[f32],
    masks: &[[u16; M]],
    lanes: &mut [f32],
) {
    let d = lanes.len() / (M * P);
    for j in 0..M {
        let out = lanes.as_mut_ptr().add(j * d * P);
        let mut p0 = 0;
        while p0 + BLOCK <= d {
            let mut acc = [_mm512_setzero_ps(); BLOCK];
            for (q, mq) in masks.iter().enumerate() {
                if mq[j] == 0 {
                    continue;
                }
                let xp = data.as_ptr().add((q * d + p0) * P);
                for (t, a) in acc.iter_mut().enumerate() {
                    *a = _mm512_mask_add_ps(*a, mq[j], *a, _mm512_loadu_ps(xp.add(t * P)));
                }
            }
            for (t, a) in acc.iter().enumerate() {
                _mm512_storeu_ps(out.add((p0 + t) * P), *a);
            }
            p0 += BLOCK;
        }
        for p in p0..d {
            let mut a = _mm512_setzero_ps();
            for (q, mq) in masks.iter().enumerate() {
                let x = _mm512_loadu_ps(data.as_ptr().add((q * d + p) * P));
                a = _mm512_mask_add_ps(a, mq[j], a, x);
            }
            _mm512_storeu_ps(out.add(p * P), a);
        }
    }
}

#[target_feature(enable = "avx512f")]
pub unsafe fn assign_panels_avx512<const M: usize, const FIXED: bool>(
    data: &[f32],
    norms: &[f32],
    n: usize,
    ct: &[[f32; M]],
    cn: &[f32; M],
    masks: &mut [[u16; M]],
    lanes: &mut [[f64; P]; M],
) {
    let d = ct.len();
    let (two, zero) = (_mm512_set1_ps(2.0), _mm512_setzero_ps());
    let mut lo = [_mm512_setzero_pd(); M];
    let mut hi = [_mm512_setzero_pd(); M];
    for j in 0..M {
        lo[j] = _mm512_loadu_pd(lanes[j].as_ptr());
        hi[j] = _mm512_loadu_pd(lanes[j].as_ptr().add(8));
    }
    for (q, mq) in masks.iter_mut().enumerate() {
        let mut acc = [[0f32; P]; M];
        dots_avx512(&data[q * d * P..(q + 1) * d * P], ct, &mut acc);
        let valid = super::valid_lanes(n - q * P);
        let nv = _mm512_loadu_ps(norms.as_ptr().add(q * P));
        let mut s = [zero; M];
        for j in 0..M {
            let r = _mm512_loadu_ps(acc[j].as_ptr());
            s[j] = _mm512_sub_ps(_mm512_set1_ps(cn[j]), _mm512_mul_ps(two, r));
        }
        // Per label: the lanes it holds and the clamped distances they add.
        let mut lab = [0u16; M];
        let mut dist = [zero; M];
        if FIXED {
            for j in 0..M {
                lab[j] = mq[j] & valid;
                dist[j] = _mm512_max_ps(_mm512_add_ps(nv, s[j]), zero);
            }
        } else {
            let mut best = s[0];
            lab[0] = u16::MAX;
            for j in 1..M {
                let lt = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(s[j], best);
                best = _mm512_mask_blend_ps(lt, best, s[j]);
                for m in lab.iter_mut().take(j) {
                    *m &= !lt;
                }
                lab[j] = lt;
            }
            let dv = _mm512_max_ps(_mm512_add_ps(nv, best), zero);
            for j in 0..M {
                lab[j] &= valid;
                dist[j] = dv;
            }
            *mq = lab;
        }
        for j in 0..M {
            if lab[j] == 0 {
                continue;
            }
            let dl = _mm512_cvtps_pd(_mm512_castps512_ps256(dist[j]));
            let dh = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(
                _mm512_castps_pd(dist[j]),
            )));
            lo[j] = _mm512_mask_add_pd(lo[j], lab[j] as u8, lo[j], dl);
            hi[j] = _mm512_mask_add_pd(hi[j], (lab[j] >> 8) as u8, hi[j], dh);
        }
    }
    for j in 0..M {
        _mm512_storeu_pd(lanes[j].as_mut_ptr(), lo[j]);
        _mm512_storeu_pd(lanes[j].as_mut_ptr().add(8), hi[j]);
    }
}

/// The 4-lane f64 masks of the 16 bits of `m` (lanes 0–3, 4–7, 8–11, 12–15).
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn quad_masks(m: u16) -> [__m256d; 4] {
    let bits = _mm256_setr_epi64x(1, 2, 4, 8);
    let mut out = [_mm256_setzero_pd(); 4];
    for (t, o) in out.iter_mut().enumerate() {
        let v = _mm256_set1_epi64x(((m >> (4 * t)) & 0xf) as i64);
        *o = _mm256_castsi256_pd(_mm256_cmpeq_epi64(_mm256_and_si256(v, bits), bits));
    }
    out
}

#[target_feature(enable = "avx2")]
pub unsafe fn assign_panels_avx2<const M: usize, const FIXED: bool>(
    data: &[f32],
    norms: &[f32],
    n: usize,
    ct: &[[f32; M]],
    cn: &[f32; M],
    masks: &mut [[u16; M]],
    lanes: &mut [[f64; P]; M],
) {
    let d = ct.len();
    let (two, zero) = (_mm256_set1_ps(2.0), _mm256_setzero_ps());
    for (q, mq) in masks.iter_mut().enumerate() {
        let mut acc = [[0f32; P]; M];
        dots_avx2(&data[q * d * P..(q + 1) * d * P], ct, &mut acc);
        let valid = super::valid_lanes(n - q * P);
        let np = norms.as_ptr().add(q * P);
        let (n0, n1) = (_mm256_loadu_ps(np), _mm256_loadu_ps(np.add(8)));
        let mut s = [(zero, zero); M];
        for j in 0..M {
            let c = _mm256_set1_ps(cn[j]);
            let (r0, r1) = (
                _mm256_loadu_ps(acc[j].as_ptr()),
                _mm256_loadu_ps(acc[j].as_ptr().add(8)),
            );
            s[j] = (
                _mm256_sub_ps(c, _mm256_mul_ps(two, r0)),
                _mm256_sub_ps(c, _mm256_mul_ps(two, r1)),
            );
        }
        let mut lab = [0u16; M];
        let mut dist = [(zero, zero); M];
        if FIXED {
            for j in 0..M {
                lab[j] = mq[j] & valid;
                dist[j] = (
                    _mm256_max_ps(_mm256_add_ps(n0, s[j].0), zero),
                    _mm256_max_ps(_mm256_add_ps(n1, s[j].1), zero),
                );
            }
        } else {
            let mut best = s[0];
            lab[0] = u16::MAX;
            for j in 1..M {
                let l0 = _mm256_cmp_ps::<_CMP_LT_OQ>(s[j].0, best.0);
                let l1 = _mm256_cmp_ps::<_CMP_LT_OQ>(s[j].1, best.1);
                best = (
                    _mm256_blendv_ps(best.0, s[j].0, l0),
                    _mm256_blendv_ps(best.1, s[j].1, l1),
                );
                let lt = (_mm256_movemask_ps(l0) | _mm256_movemask_ps(l1) << 8) as u16;
                for m in lab.iter_mut().take(j) {
                    *m &= !lt;
                }
                lab[j] = lt;
            }
            let dv = (
                _mm256_max_ps(_mm256_add_ps(n0, best.0), zero),
                _mm256_max_ps(_mm256_add_ps(n1, best.1), zero),
            );
            for j in 0..M {
                lab[j] &= valid;
                dist[j] = dv;
            }
            *mq = lab;
        }
        for j in 0..M {
            if lab[j] == 0 {
                continue;
            }
            let qm = quad_masks(lab[j]);
            let (d0, d1) = dist[j];
            let quads = [
                _mm256_cvtps_pd(_mm256_castps256_ps128(d0)),
                _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(d0)),
                _mm256_cvtps_pd(_mm256_castps256_ps128(d1)),
                _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(d1)),
            ];
            for (t, (v, m)) in quads.iter().zip(qm).enumerate() {
                let o = lanes[j].as_mut_ptr().add(4 * t);
                let a = _mm256_loadu_pd(o);
                _mm256_storeu_pd(o, _mm256_blendv_pd(a, _mm256_add_pd(a, *v), m));
            }
        }
    }
}

/// Lane masks of the 16 bits of `m`: lanes 0–7, lanes 8–15.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn lane_masks(m: u16) -> (__m256, __m256) {
    let bits = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    let lo = _mm256_set1_epi32((m & 0xff) as i32);
    let hi = _mm256_set1_epi32((m >> 8) as i32);
    (
        _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(lo, bits), bits)),
        _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(hi, bits), bits)),
    )
}

/// Elements summed in registers at a time by the AVX2 body (two 8-lane halves each: 12 of
/// the 16 vector registers).
const BLOCK_AVX2: usize = 6;

/// As [`sum_lanes_avx512`], blocks of [`BLOCK_AVX2`] elements in registers: summing into
/// memory was compiled to masked stores reloaded at the next panel (store-forwarding
/// stalls), 37% of a digits k = 5 fit's samples under `VORN_SIMD=avx2`.
#[target_feature(enable = "avx2")]
pub unsafe fn sum_lanes_avx2<const M: usize>(data: &[f32], masks: &[[u16; M]], lanes: &mut [f32]) {
    let d = lanes.len() / (M * P);
    let masks2: Vec<[(__m256, __m256); M]> = masks
        .iter()
        .map(|mq| {
            let mut v = [(_mm256_setzero_ps(), _mm256_setzero_ps()); M];
            for j in 0..M {
                v[j] = lane_masks(mq[j]);
            }
            v
        })
        .collect();
    for j in 0..M {
        let out = lanes.as_mut_ptr().add(j * d * P);
        let mut p0 = 0;
        while p0 < d {
            let w = (d - p0).min(BLOCK_AVX2);
            let mut acc = [(_mm256_setzero_ps(), _mm256_setzero_ps()); BLOCK_AVX2];
            for (q, (mq, lm)) in masks.iter().zip(&masks2).enumerate() {
                if mq[j] == 0 {
                    continue;
                }
                let (m0, m1) = lm[j];
                let xp = data.as_ptr().add((q * d + p0) * P);
                for (t, a) in acc.iter_mut().enumerate().take(w) {
                    let x = xp.add(t * P);
                    let s0 = _mm256_add_ps(a.0, _mm256_loadu_ps(x));
                    let s1 = _mm256_add_ps(a.1, _mm256_loadu_ps(x.add(8)));
                    *a = (_mm256_blendv_ps(a.0, s0, m0), _mm256_blendv_ps(a.1, s1, m1));
                }
            }
            for (t, a) in acc.iter().enumerate().take(w) {
                let o = out.add((p0 + t) * P);
                _mm256_storeu_ps(o, a.0);
                _mm256_storeu_ps(o.add(8), a.1);
            }
            p0 += w;
        }
    }
}

#[inline]
#[target_feature(enable = "avx2")]
pub unsafe fn dots_avx2<const M: usize>(panel: &[f32], ct: &[[f32; M]], acc: &mut [[f32; P]; M]) {
    let mut lo = [_mm256_setzero_ps(); M];
    let mut hi = [_mm256_setzero_ps(); M];
    let mut xp = panel.as_ptr();
    for cp in ct {
        let (xl, xh) = (_mm256_loadu_ps(xp), _mm256_loadu_ps(xp.add(8)));
        for j in 0..M {
            let cv = _mm256_set1_ps(cp[j]);
            lo[j] = _mm256_add_ps(lo[j], _mm256_mul_ps(xl, cv));
            hi[j] = _mm256_add_ps(hi[j], _mm256_mul_ps(xh, cv));
        }
        xp = xp.add(P);
    }
    for j in 0..M {
        _mm256_storeu_ps(acc[j].as_mut_ptr(), lo[j]);
        _mm256_storeu_ps(acc[j].as_mut_ptr().add(8), hi[j]);
    }
}
