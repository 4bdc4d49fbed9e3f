//! Row-to-row kernel with a scalar twin that gives the same bits: [`sqdist`] (the bounds'
//! tightening), element p into lane p mod 16 through one fma, lanes then summed 0..15 in
//! f64. The AVX-512 body lives in this file, the AVX2 + FMA one in `vector_avx2`.

use super::{Isa, LANES};

#[inline(always)]
pub(super) fn reduce(acc: &[f32; LANES]) -> f64 {
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
        // SAFETY: as above.
        Isa::Avx2 => unsafe { super::vector_avx2::sqdist_avx2(a, b) },
        _ => sqdist_body(a, b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn isas_agree_bitwise_and_match_naive() {
        let mut r = Rng::new(4);
        for n in [1usize, 5, 9, 16, 17, 24, 31, 64, 100, 385, 784] {
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
