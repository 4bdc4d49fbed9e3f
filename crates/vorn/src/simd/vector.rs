//! Row-to-row kernels: squared distance (Hamerly's bound tightening) and the update step's
//! accumulation. Fixed evaluation order: element p goes to lane p mod 16 through
//! one fma, lanes are then summed 0..15 in f64. The AVX-512 kernel and the scalar twin
//! therefore return identical bits.

use super::{Isa, LANES};

#[inline(always)]
fn reduce(acc: &[f32; LANES]) -> f64 {
    acc.iter().fold(0f64, |s, &v| s + v as f64)
}

#[inline(always)]
fn sqdist_body(a: &[f32], b: &[f32]) -> f64 {
    let mut acc = [0f32; LANES];
    for (ca, cb) in a.chunks(LANES).zip(b.chunks(LANES)) {
        for l in 0..ca.len() {
            let t = ca[l] - cb[l];
            acc[l] = t.mul_add(t, acc[l]);
        }
    }
    reduce(&acc)
}

/// f64 lanes for [`accumulate`].
pub const ACC_LANES: usize = 8;

#[inline(always)]
fn accumulate_body(
    row: &[f32],
    scale: f64,
    old: &[f32],
    sum: &mut [f64],
    lanes: &mut [f64; ACC_LANES],
) {
    for ((r, o), s) in row
        .chunks(ACC_LANES)
        .zip(old.chunks(ACC_LANES))
        .zip(sum.chunks_mut(ACC_LANES))
    {
        for l in 0..r.len() {
            let v = r[l] as f64 * scale;
            s[l] += v;
            let t = v - o[l] as f64;
            lanes[l] += t * t;
        }
    }
}

/// The update step's inner loop for one row x: `sum += scale·x` and
/// `lanes[p mod 8] += (scale·x_p − old_p)²`, all in f64 with no fused operations, so every
/// ISA gives the same bits (the caller sums `lanes` in order).
#[inline]
pub fn accumulate(
    isa: Isa,
    row: &[f32],
    scale: f64,
    old: &[f32],
    sum: &mut [f64],
    lanes: &mut [f64; ACC_LANES],
) {
    assert!(old.len() == row.len() && sum.len() == row.len());
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: Avx512/Avx2 are only produced when the CPU has them.
        Isa::Avx512 => unsafe { x86::accumulate_avx512(row, scale, old, sum, lanes) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { x86::accumulate_avx2(row, scale, old, sum, lanes) },
        _ => accumulate_body(row, scale, old, sum, lanes),
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    #![allow(unsafe_op_in_unsafe_fn)]
    use super::LANES;
    use std::arch::x86_64::*;

    #[inline]
    #[target_feature(enable = "avx512f")]
    pub unsafe fn sqdist(a: &[f32], b: &[f32]) -> f64 {
        let n = a.len();
        let full = n / LANES * LANES;
        let mut acc = _mm512_setzero_ps();
        let mut p = 0;
        while p < full {
            let t = _mm512_sub_ps(
                _mm512_loadu_ps(a.as_ptr().add(p)),
                _mm512_loadu_ps(b.as_ptr().add(p)),
            );
            acc = _mm512_fmadd_ps(t, t, acc);
            p += LANES;
        }
        if full < n {
            let m: __mmask16 = (1u32 << (n - full)).wrapping_sub(1) as __mmask16;
            let t = _mm512_sub_ps(
                _mm512_maskz_loadu_ps(m, a.as_ptr().add(full)),
                _mm512_maskz_loadu_ps(m, b.as_ptr().add(full)),
            );
            acc = _mm512_mask3_fmadd_ps(t, t, acc, m);
        }
        let mut out = [0f32; LANES];
        _mm512_storeu_ps(out.as_mut_ptr(), acc);
        super::reduce(&out)
    }

    #[target_feature(enable = "avx512f")]
    pub unsafe fn accumulate_avx512(
        row: &[f32],
        scale: f64,
        old: &[f32],
        sum: &mut [f64],
        lanes: &mut [f64; super::ACC_LANES],
    ) {
        // Same operations as the scalar body, in the same order, eight lanes at a time:
        // v = x·scale; sum += v; t = v − old; lanes += t·t (separate mul and add, no fma).
        let n = row.len();
        let full = n / 8 * 8;
        let sc = _mm512_set1_pd(scale);
        let mut acc = _mm512_loadu_pd(lanes.as_ptr());
        let mut p = 0;
        while p < full {
            let v = _mm512_mul_pd(_mm512_cvtps_pd(_mm256_loadu_ps(row.as_ptr().add(p))), sc);
            let sp = sum.as_mut_ptr().add(p);
            _mm512_storeu_pd(sp, _mm512_add_pd(_mm512_loadu_pd(sp), v));
            let t = _mm512_sub_pd(v, _mm512_cvtps_pd(_mm256_loadu_ps(old.as_ptr().add(p))));
            acc = _mm512_add_pd(acc, _mm512_mul_pd(t, t));
            p += 8;
        }
        _mm512_storeu_pd(lanes.as_mut_ptr(), acc);
        super::accumulate_body(&row[full..], scale, &old[full..], &mut sum[full..], lanes);
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn accumulate_avx2(
        row: &[f32],
        scale: f64,
        old: &[f32],
        sum: &mut [f64],
        lanes: &mut [f64; super::ACC_LANES],
    ) {
        super::accumulate_body(row, scale, old, sum, lanes)
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn sqdist_avx2(a: &[f32], b: &[f32]) -> f64 {
        super::sqdist_body(a, b)
    }
}

/// ‖a − b‖² (f32 lanes, f64 lane sum). `a` and `b` must have the same length.
#[inline]
pub fn sqdist(isa: Isa, a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: Avx512/Avx2 are only produced when the CPU has them; lengths checked.
        Isa::Avx512 => unsafe { x86::sqdist(a, b) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { x86::sqdist_avx2(a, b) },
        _ => sqdist_body(a, b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn accumulate_isas_agree_bitwise() {
        let mut r = Rng::new(9);
        for n in [1usize, 7, 8, 33, 130] {
            let row: Vec<f32> = (0..n).map(|_| r.normal() as f32).collect();
            let old: Vec<f32> = (0..n).map(|_| r.normal() as f32).collect();
            let mut want_s = vec![0.5f64; n];
            let mut want_l = [0f64; ACC_LANES];
            accumulate(Isa::Scalar, &row, 0.7, &old, &mut want_s, &mut want_l);
            for isa in crate::simd::available() {
                let mut s = vec![0.5f64; n];
                let mut l = [0f64; ACC_LANES];
                accumulate(isa, &row, 0.7, &old, &mut s, &mut l);
                assert_eq!(s, want_s);
                assert_eq!(l, want_l);
            }
        }
    }

    #[test]
    fn isas_agree_bitwise_and_match_naive() {
        let mut r = Rng::new(4);
        for n in [1usize, 5, 16, 17, 64, 100, 385] {
            let a: Vec<f32> = (0..n).map(|_| r.normal() as f32).collect();
            let b: Vec<f32> = (0..n).map(|_| r.normal() as f32).collect();
            let s0 = sqdist(Isa::Scalar, &a, &b);
            let naive_s: f64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| ((x - y) as f64).powi(2))
                .sum();
            assert!((s0 - naive_s).abs() < 1e-4 * (1.0 + naive_s));
            for isa in crate::simd::available() {
                assert_eq!(sqdist(isa, &a, &b).to_bits(), s0.to_bits(), "{isa:?} n={n}");
            }
        }
    }
}
