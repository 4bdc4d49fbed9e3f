//! The fixed-point row terms of Lloyd's cluster sums (`kmeans::sums` has the maths): one row's
//! elements `t_p = s·x_p − o_p` rounded to integer multiples of 1/scale_p and added into
//! (or subtracted from) an i64 sum, with Σ t_p² in f64. AVX-512 and AVX2 bodies perform the
//! scalar twin's operations per element and lane, so every ISA gives the same bits.

use super::Isa;

/// 1.5·2⁵²: adding it to |t| ≤ 2⁵¹ rounds t to an integer (ties to even) held in the low
/// mantissa bits.
const MAGIC: f64 = 6_755_399_441_055_744.0;
/// The vector term of one row into `s` (see the module docs) and its squared norm about the
/// origin in f64 (element p into lane p mod 8, lanes summed in order: the same bits from
/// every build of the body).
#[inline]
pub fn row_term<const NEG: bool>(
    isa: Isa,
    row: &[f32],
    sc: f64,
    origin: &[f64],
    scale: &[f64],
    s: &mut [i64],
) -> f64 {
    let d = row.len();
    assert!(origin.len() == d && scale.len() == d && s.len() == d);
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: Avx512 is only produced when the CPU has AVX-512F.
        Isa::Avx512 => unsafe { row_term_avx512::<NEG>(row, sc, origin, scale, s) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: Avx2 is only produced when the CPU has AVX2.
        Isa::Avx2 => unsafe { row_term_avx2::<NEG>(row, sc, origin, scale, s) },
        _ => row_term_body::<NEG>(row, sc, origin, scale, s),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(unsafe_op_in_unsafe_fn)]
unsafe fn row_term_avx512<const NEG: bool>(
    row: &[f32],
    sc: f64,
    origin: &[f64],
    scale: &[f64],
    s: &mut [i64],
) -> f64 {
    use std::arch::x86_64::*;
    let n8 = row.len() / 8 * 8;
    let (scv, magic) = (_mm512_set1_pd(sc), _mm512_set1_pd(MAGIC));
    let mbits = _mm512_set1_epi64(MAGIC.to_bits() as i64);
    let mut acc = _mm512_setzero_pd();
    let mut p = 0;
    while p < n8 {
        let xv = _mm512_cvtps_pd(_mm256_loadu_ps(row.as_ptr().add(p)));
        let t = _mm512_sub_pd(
            _mm512_mul_pd(xv, scv),
            _mm512_loadu_pd(origin.as_ptr().add(p)),
        );
        acc = _mm512_add_pd(acc, _mm512_mul_pd(t, t));
        let scaled = _mm512_mul_pd(t, _mm512_loadu_pd(scale.as_ptr().add(p)));
        let q = _mm512_sub_epi64(_mm512_castpd_si512(_mm512_add_pd(scaled, magic)), mbits);
        let sp = s.as_mut_ptr().add(p) as *mut __m512i;
        let old = _mm512_loadu_si512(sp as *const _);
        let new = if NEG {
            _mm512_sub_epi64(old, q)
        } else {
            _mm512_add_epi64(old, q)
        };
        _mm512_storeu_si512(sp as *mut _, new);
        p += 8;
    }
    let mut lanes = [0f64; 8];
    _mm512_storeu_pd(lanes.as_mut_ptr(), acc);
    tail::<NEG>(row, sc, origin, scale, s, n8, &mut lanes);
    lanes.iter().sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(unsafe_op_in_unsafe_fn)]
unsafe fn row_term_avx2<const NEG: bool>(
    row: &[f32],
    sc: f64,
    origin: &[f64],
    scale: &[f64],
    s: &mut [i64],
) -> f64 {
    use std::arch::x86_64::*;
    let n8 = row.len() / 8 * 8;
    let (scv, magic) = (_mm256_set1_pd(sc), _mm256_set1_pd(MAGIC));
    let mbits = _mm256_set1_epi64x(MAGIC.to_bits() as i64);
    // Lanes 0..3 and 4..7 of the eight f64 lanes.
    let mut acc = [_mm256_setzero_pd(); 2];
    let mut p = 0;
    while p < n8 {
        for (h, a) in acc.iter_mut().enumerate() {
            let e = p + 4 * h;
            let xv = _mm256_cvtps_pd(_mm_loadu_ps(row.as_ptr().add(e)));
            let t = _mm256_sub_pd(
                _mm256_mul_pd(xv, scv),
                _mm256_loadu_pd(origin.as_ptr().add(e)),
            );
            *a = _mm256_add_pd(*a, _mm256_mul_pd(t, t));
            let scaled = _mm256_mul_pd(t, _mm256_loadu_pd(scale.as_ptr().add(e)));
            let q = _mm256_sub_epi64(_mm256_castpd_si256(_mm256_add_pd(scaled, magic)), mbits);
            let sp = s.as_mut_ptr().add(e) as *mut __m256i;
            let old = _mm256_loadu_si256(sp);
            let new = if NEG {
                _mm256_sub_epi64(old, q)
            } else {
                _mm256_add_epi64(old, q)
            };
            _mm256_storeu_si256(sp, new);
        }
        p += 8;
    }
    let mut lanes = [0f64; 8];
    _mm256_storeu_pd(lanes.as_mut_ptr(), acc[0]);
    _mm256_storeu_pd(lanes.as_mut_ptr().add(4), acc[1]);
    tail::<NEG>(row, sc, origin, scale, s, n8, &mut lanes);
    lanes.iter().sum()
}

/// Elements `n8..` of [`row_term_body`] (element n8 + l into lane l).
#[inline(always)]
fn tail<const NEG: bool>(
    row: &[f32],
    sc: f64,
    origin: &[f64],
    scale: &[f64],
    s: &mut [i64],
    n8: usize,
    lanes: &mut [f64; 8],
) {
    for p in n8..row.len() {
        let t = row[p] as f64 * sc - origin[p];
        lanes[p - n8] += t * t;
        let v = quantize(t, scale[p]);
        s[p] = if NEG {
            s[p].wrapping_sub(v)
        } else {
            s[p].wrapping_add(v)
        };
    }
}

/// round(t·scale) for |t·scale| ≤ 2⁵¹ (ties to even).
#[inline(always)]
pub(crate) fn quantize(t: f64, scale: f64) -> i64 {
    ((t * scale + MAGIC).to_bits() as i64).wrapping_sub(MAGIC.to_bits() as i64)
}

#[inline(always)]
fn row_term_body<const NEG: bool>(
    row: &[f32],
    sc: f64,
    origin: &[f64],
    scale: &[f64],
    s: &mut [i64],
) -> f64 {
    let mut lanes = [0f64; 8];
    let xe = row.chunks_exact(8);
    let n8 = row.len() / 8 * 8;
    for (((xc, oc), kc), sc8) in xe
        .zip(origin.chunks_exact(8))
        .zip(scale.chunks_exact(8))
        .zip(s.chunks_exact_mut(8))
    {
        for l in 0..8 {
            let t = xc[l] as f64 * sc - oc[l];
            lanes[l] += t * t;
            let v = quantize(t, kc[l]);
            sc8[l] = if NEG {
                sc8[l].wrapping_sub(v)
            } else {
                sc8[l].wrapping_add(v)
            };
        }
    }
    tail::<NEG>(row, sc, origin, scale, s, n8, &mut lanes);
    lanes.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn every_isa_gives_the_same_terms() {
        let mut r = Rng::new(9);
        for d in [1usize, 7, 8, 9, 50, 785] {
            let x: Vec<f32> = (0..d).map(|_| r.normal() as f32 * 100.0).collect();
            let origin: Vec<f64> = (0..d).map(|_| r.normal()).collect();
            let scale: Vec<f64> = (0..d)
                .map(|p| f64::from_bits(((40 - (p % 5) as i64 + 1023) as u64) << 52))
                .collect();
            let want = {
                let mut s = vec![3i64; d];
                let r = row_term_body::<false>(&x, 0.5, &origin, &scale, &mut s);
                (s, r.to_bits())
            };
            for isa in crate::simd::available() {
                let mut s = vec![3i64; d];
                let r = row_term::<false>(isa, &x, 0.5, &origin, &scale, &mut s);
                assert_eq!((s.clone(), r.to_bits()), want, "{isa:?} d={d}");
                row_term::<true>(isa, &x, 0.5, &origin, &scale, &mut s);
                assert_eq!(s, vec![3i64; d]);
            }
        }
    }

    #[test]
    fn quantize_rounds_to_nearest_even() {
        assert_eq!(quantize(2.5, 1.0), 2);
        assert_eq!(quantize(-3.5, 1.0), -4);
        assert_eq!(quantize(1.25, 4.0), 5);
    }
}
