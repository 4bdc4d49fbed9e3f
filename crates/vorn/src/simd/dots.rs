//! Dot products of a few rows with a few candidates, lanes along the dimension (k-means++
//! seeding: each step scores T = 2 + ⌊ln k⌋ candidate rows against every seeding row).
//!
//! One call takes [`ROWS`] rows `x_r` (length d) and T ≤ [`MAX_CANDS`] candidates `c_t`
//! (row-major `T × d`) and returns `out[r][t] = x_r · c_t`. Element p of a product goes to
//! lane p mod 16 through one f32 fma (`acc_l ← fma(x_r[p], c_t[p], acc_l)`, p ascending);
//! the 16 lanes are then summed by a fixed tree — halves (l + 8), quarters (l + 4), pairs
//! (l + 2), then the last two — so every product has the same bits on every ISA and in every
//! grouping of rows and candidates, and the scalar twin [`dots_scalar`] defines them.
//!
//! Why lanes along d: with T ≤ 8 candidates the centroid-panel kernel (16 candidates per
//! register) would leave half or more of its lanes padding. Register blocking: the AVX-512
//! body keeps 4 rows × T candidates in up to 24 zmm accumulators, so a step of 16 elements
//! costs 4 + T loads for 4·T fmas (T = 5: 9 loads per 20 fmas; the earlier 2 × 4 block with
//! candidates padded to a multiple of four needed 6 per 8 and computed 8 products for 5).
//! The AVX2 body has 16 ymm registers and runs the rows in pairs, each half of the 16 lanes
//! a pass of its own (2·T accumulators).

use super::{Isa, LANES};

/// Rows per call of [`dots`].
pub const ROWS: usize = 4;
/// Most candidates per call of [`dots`].
pub const MAX_CANDS: usize = 6;

/// The fixed reduction tree: halves, then quarters, pairs, the last two (f32).
#[inline(always)]
fn tree16(a: &[f32; LANES]) -> f32 {
    let mut s8 = [0f32; 8];
    for l in 0..8 {
        s8[l] = a[l] + a[l + 8];
    }
    let mut s4 = [0f32; 4];
    for l in 0..4 {
        s4[l] = s8[l] + s8[l + 4];
    }
    let s2 = [s4[0] + s4[2], s4[1] + s4[3]];
    s2[0] + s2[1]
}

/// The scalar twin of [`dots`]: the definition of its bits.
pub fn dots_scalar<const T: usize>(rows: [&[f32]; ROWS], c: &[f32], out: &mut [[f32; T]; ROWS]) {
    let d = rows[0].len();
    for (r, x) in rows.iter().enumerate() {
        for t in 0..T {
            let mut acc = [0f32; LANES];
            for p in 0..d {
                acc[p % LANES] = x[p].mul_add(c[t * d + p], acc[p % LANES]);
            }
            out[r][t] = tree16(&acc);
        }
    }
}

/// `out[r][t] = rows[r] · c_t` for the T candidates of `c` (row-major `T × d`), with the
/// bits of [`dots_scalar`] on every ISA.
///
/// # Panics
/// If T is 0 or more than [`MAX_CANDS`], the rows' lengths differ, or `c.len() != T·d`.
#[inline]
pub fn dots<const T: usize>(isa: Isa, rows: [&[f32]; ROWS], c: &[f32], out: &mut [[f32; T]; ROWS]) {
    let d = rows[0].len();
    assert!((1..=MAX_CANDS).contains(&T));
    assert!(rows.iter().all(|r| r.len() == d) && c.len() == T * d);
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: Avx512 is only produced when the CPU has it; lengths checked above.
        Isa::Avx512 => unsafe { x86::dots_avx512::<T>(rows, c, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: Avx2 is only produced when the CPU has AVX2 and FMA; lengths checked above.
        Isa::Avx2 => unsafe { x86::dots_avx2::<T>(rows, c, out) },
        _ => dots_scalar::<T>(rows, c, out),
    }
}

/// [`dots`] with a run-time candidate count `t` (1 ≤ t ≤ [`MAX_CANDS`]) into `out[r][..t]`.
pub fn dots_upto(
    isa: Isa,
    rows: [&[f32]; ROWS],
    c: &[f32],
    t: usize,
    out: &mut [[f32; MAX_CANDS]; ROWS],
) {
    fn run<const T: usize>(
        isa: Isa,
        rows: [&[f32]; ROWS],
        c: &[f32],
        out: &mut [[f32; MAX_CANDS]; ROWS],
    ) {
        let mut o = [[0f32; T]; ROWS];
        dots::<T>(isa, rows, c, &mut o);
        for (dst, src) in out.iter_mut().zip(&o) {
            dst[..T].copy_from_slice(src);
        }
    }
    match t {
        1 => run::<1>(isa, rows, c, out),
        2 => run::<2>(isa, rows, c, out),
        3 => run::<3>(isa, rows, c, out),
        4 => run::<4>(isa, rows, c, out),
        5 => run::<5>(isa, rows, c, out),
        6 => run::<6>(isa, rows, c, out),
        _ => panic!("dots_upto: {t} candidates, expected 1..={MAX_CANDS}"),
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    #![allow(unsafe_op_in_unsafe_fn)]
    use super::{LANES, ROWS};
    use std::arch::x86_64::*;

    /// `tree16` of eight accumulators at once: 256-bit halves, 128-bit quarters
    /// (`shuffle_f32x4`), then pairs within 128-bit lanes (`shuffle_ps`); `out[q]` is the
    /// sum of `a[q]`.
    #[inline(always)]
    unsafe fn tree16x8(a: &[__m512; 8], out: &mut [f32; 8]) {
        let half = |a: __m512, b: __m512| {
            _mm512_add_ps(
                _mm512_shuffle_f32x4::<0x44>(a, b),
                _mm512_shuffle_f32x4::<0xEE>(a, b),
            )
        };
        let quarter = |a: __m512, b: __m512| {
            _mm512_add_ps(
                _mm512_shuffle_f32x4::<0x88>(a, b),
                _mm512_shuffle_f32x4::<0xDD>(a, b),
            )
        };
        let w0 = quarter(half(a[0], a[1]), half(a[2], a[3]));
        let w1 = quarter(half(a[4], a[5]), half(a[6], a[7]));
        // Lane 4q of w0 holds s4 of a[q], of w1 of a[q + 4].
        let u = _mm512_add_ps(
            _mm512_shuffle_ps::<0b01_00_01_00>(w0, w1),
            _mm512_shuffle_ps::<0b11_10_11_10>(w0, w1),
        );
        let v = _mm512_add_ps(
            _mm512_shuffle_ps::<0b10_00_10_00>(u, u),
            _mm512_shuffle_ps::<0b11_01_11_01>(u, u),
        );
        let mut lanes = [0f32; LANES];
        _mm512_storeu_ps(lanes.as_mut_ptr(), v);
        for q in 0..4 {
            out[q] = lanes[4 * q];
            out[q + 4] = lanes[4 * q + 1];
        }
    }

    /// AVX-512 [`super::dots`]: 4 rows × T candidates of zmm accumulators, 4 + T loads per
    /// 4·T fmas; the tail past d is a masked load (zeros: fma(0, 0, a) = a, as in the twin).
    ///
    /// # Safety
    /// The CPU must support AVX-512F; lengths as checked by [`super::dots`].
    #[target_feature(enable = "avx512f")]
    pub unsafe fn dots_avx512<const T: usize>(
        rows: [&[f32]; ROWS],
        c: &[f32],
        out: &mut [[f32; T]; ROWS],
    ) {
        let d = rows[0].len();
        let mut acc = [[_mm512_setzero_ps(); T]; ROWS];
        let xp = rows.map(|r| r.as_ptr());
        let cp = c.as_ptr();
        let full = d / LANES * LANES;
        let mut p = 0;
        while p < full {
            let u = xp.map(|a| _mm512_loadu_ps(a.add(p)));
            for t in 0..T {
                let ct = _mm512_loadu_ps(cp.add(t * d + p));
                for r in 0..ROWS {
                    acc[r][t] = _mm512_fmadd_ps(u[r], ct, acc[r][t]);
                }
            }
            p += LANES;
        }
        if full < d {
            let m: __mmask16 = (1u32 << (d - full)).wrapping_sub(1) as __mmask16;
            let u = xp.map(|a| _mm512_maskz_loadu_ps(m, a.add(p)));
            for t in 0..T {
                let ct = _mm512_maskz_loadu_ps(m, cp.add(t * d + p));
                for r in 0..ROWS {
                    acc[r][t] = _mm512_fmadd_ps(u[r], ct, acc[r][t]);
                }
            }
        }
        // Reduce in groups of eight accumulators (row-major order), zero-padded.
        let mut flat = [_mm512_setzero_ps(); 8 * ROWS];
        for r in 0..ROWS {
            for t in 0..T {
                flat[r * T + t] = acc[r][t];
            }
        }
        let mut sums = [0f32; 8 * ROWS];
        for g in 0..(ROWS * T).div_ceil(8) {
            let a: &[__m512; 8] = flat[8 * g..8 * g + 8].try_into().unwrap();
            let o: &mut [f32; 8] = (&mut sums[8 * g..8 * g + 8]).try_into().unwrap();
            tree16x8(a, o);
        }
        for r in 0..ROWS {
            out[r].copy_from_slice(&sums[r * T..(r + 1) * T]);
        }
    }

    /// AVX2 + FMA [`super::dots`]: the rows in pairs; the 16 lanes of the twin are two ymm
    /// halves, each half a pass with 2·T accumulators (2 + T loads per 2·T fmas); the tail
    /// past d is read from zero-padded copies.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA; lengths as checked by [`super::dots`].
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dots_avx2<const T: usize>(
        rows: [&[f32]; ROWS],
        c: &[f32],
        out: &mut [[f32; T]; ROWS],
    ) {
        let d = rows[0].len();
        let full = d / LANES * LANES;
        let rest = d - full;
        // The tail block, zero-padded: the candidates (the rows' tails per pair below).
        let mut ctail = [[0f32; LANES]; super::MAX_CANDS];
        for t in 0..T {
            ctail[t][..rest].copy_from_slice(&c[t * d + full..(t + 1) * d]);
        }
        let cp = c.as_ptr();
        for pair in 0..ROWS / 2 {
            let (x0, x1) = (rows[2 * pair], rows[2 * pair + 1]);
            let mut xtail = [[0f32; LANES]; 2];
            xtail[0][..rest].copy_from_slice(&x0[full..]);
            xtail[1][..rest].copy_from_slice(&x1[full..]);
            let (a, b) = (x0.as_ptr(), x1.as_ptr());
            // sums[h][r][t]: lanes 8h..8h+8 of output (row r of the pair, candidate t).
            let mut sums = [[[_mm256_setzero_ps(); T]; 2]; 2];
            for (h, s) in sums.iter_mut().enumerate() {
                let mut acc = [[_mm256_setzero_ps(); T]; 2];
                let mut p = h * 8;
                while p < full {
                    let u = _mm256_loadu_ps(a.add(p));
                    let v = _mm256_loadu_ps(b.add(p));
                    for t in 0..T {
                        let ct = _mm256_loadu_ps(cp.add(t * d + p));
                        acc[0][t] = _mm256_fmadd_ps(u, ct, acc[0][t]);
                        acc[1][t] = _mm256_fmadd_ps(v, ct, acc[1][t]);
                    }
                    p += LANES;
                }
                if rest > 0 {
                    let u = _mm256_loadu_ps(xtail[0].as_ptr().add(h * 8));
                    let v = _mm256_loadu_ps(xtail[1].as_ptr().add(h * 8));
                    for t in 0..T {
                        let ct = _mm256_loadu_ps(ctail[t].as_ptr().add(h * 8));
                        acc[0][t] = _mm256_fmadd_ps(u, ct, acc[0][t]);
                        acc[1][t] = _mm256_fmadd_ps(v, ct, acc[1][t]);
                    }
                }
                *s = acc;
            }
            // The twin's tree: s8 = lo + hi, s4 = s8[0..4] + s8[4..8], then
            // (s4[0] + s4[2]) + (s4[1] + s4[3]).
            for r in 0..2 {
                for t in 0..T {
                    let s8 = _mm256_add_ps(sums[0][r][t], sums[1][r][t]);
                    let s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps::<1>(s8));
                    let mut q = [0f32; 4];
                    _mm_storeu_ps(q.as_mut_ptr(), s4);
                    out[2 * pair + r][t] = (q[0] + q[2]) + (q[1] + q[3]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn check<const T: usize>(r: &mut Rng, d: usize) {
        let x: Vec<f32> = (0..ROWS * d).map(|_| r.normal() as f32).collect();
        let c: Vec<f32> = (0..T * d).map(|_| r.normal() as f32).collect();
        let rows: [&[f32]; ROWS] = std::array::from_fn(|i| &x[i * d..(i + 1) * d]);
        let mut want = [[0f32; T]; ROWS];
        dots_scalar::<T>(rows, &c, &mut want);
        for (ri, row) in rows.iter().enumerate() {
            for t in 0..T {
                let naive: f64 = (0..d).map(|p| row[p] as f64 * c[t * d + p] as f64).sum();
                let got = want[ri][t] as f64;
                assert!((got - naive).abs() <= 1e-5 * (1.0 + naive.abs()), "d={d}");
            }
        }
        for isa in crate::simd::available() {
            let mut o = [[f32::NAN; T]; ROWS];
            dots::<T>(isa, rows, &c, &mut o);
            let bits =
                |a: &[[f32; T]; ROWS]| a.concat().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&o), bits(&want), "{isa:?} T={T} d={d}");
        }
    }

    #[test]
    fn isas_agree_bitwise_and_match_naive() {
        let mut r = Rng::new(21);
        for d in [1usize, 5, 16, 17, 50, 384, 785] {
            check::<1>(&mut r, d);
            check::<2>(&mut r, d);
            check::<3>(&mut r, d);
            check::<4>(&mut r, d);
            check::<5>(&mut r, d);
            check::<6>(&mut r, d);
        }
    }

    #[test]
    fn a_product_has_the_same_bits_in_any_grouping() {
        // Row 2 against candidate 1 of a group of 5 = the same pair alone (T = 1, row 0).
        let mut r = Rng::new(3);
        let d = 100;
        let x: Vec<f32> = (0..ROWS * d).map(|_| r.normal() as f32).collect();
        let c: Vec<f32> = (0..5 * d).map(|_| r.normal() as f32).collect();
        let rows: [&[f32]; ROWS] = std::array::from_fn(|i| &x[i * d..(i + 1) * d]);
        for isa in crate::simd::available() {
            let mut five = [[0f32; 5]; ROWS];
            dots::<5>(isa, rows, &c, &mut five);
            let solo_rows: [&[f32]; ROWS] = [rows[2]; ROWS];
            let mut one = [[0f32; 1]; ROWS];
            dots::<1>(isa, solo_rows, &c[d..2 * d], &mut one);
            assert_eq!(one[0][0].to_bits(), five[2][1].to_bits(), "{isa:?}");
        }
    }
}
