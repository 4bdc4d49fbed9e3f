//! Row-to-row kernels, each with a scalar twin that gives the same bits:
//!
//! * [`sqdist`] (Hamerly's bound tightening): element p goes to lane p mod 16 through one
//!   fma, lanes are then summed 0..15 in f64.
//! * [`accumulate`] / [`accumulate_group`] (the update step): f64 sums `S += s·x` and the
//!   exact objective terms `(s·x_p − c_p)²`, through 32 independent chains folded into 8
//!   lanes per call; a group of rows of one cluster is added chunk by chunk so the sums stay
//!   in registers while the rows pass.
//!
//! AVX-512 bodies live in this file, AVX2 + FMA ones in `vector_avx2`.

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

/// f64 objective lanes of [`accumulate`] and [`accumulate_group`].
pub const ACC_LANES: usize = 8;
/// Independent f64 chains inside one call (element p → chain p mod 32), folded into the
/// [`ACC_LANES`] lanes at the end of the call as `lanes[l] += (c[l] + c[l+8]) + (c[l+16] +
/// c[l+24])`, so the additions of a row do not wait on each other's latency.
pub(super) const CHAINS: usize = 32;

#[inline(always)]
pub(super) fn fold(ch: &[f64; CHAINS], lanes: &mut [f64; ACC_LANES]) {
    for l in 0..ACC_LANES {
        lanes[l] += (ch[l] + ch[l + 8]) + (ch[l + 16] + ch[l + 24]);
    }
}

/// The update step's inner loop for one row x: `sum += scale·x` and the objective terms
/// `(scale·x_p − old_p)²` added into `lanes` (element p through chain p mod 32, see
/// `CHAINS`), all in f64 with no fused operations, so every ISA gives the same bits (the
/// caller sums `lanes` in order). `old` is the old centroid widened to f64 once per pass
/// (exact), which saves a conversion per element.
#[inline]
pub fn accumulate(
    isa: Isa,
    row: &[f32],
    scale: f64,
    old: &[f64],
    sum: &mut [f64],
    lanes: &mut [f64; ACC_LANES],
) {
    assert!(old.len() == row.len() && sum.len() == row.len());
    // x·1 = x exactly, so skipping the unit scale changes no bit.
    let scaled = scale != 1.0;
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: Avx512 is only produced when the CPU has it; lengths checked above.
        Isa::Avx512 => unsafe {
            if scaled {
                x86::accumulate_row_avx512::<true>(row, scale, old, sum, lanes)
            } else {
                x86::accumulate_row_avx512::<false>(row, scale, old, sum, lanes)
            }
        },
        _ => {
            let sc = [scale];
            let scales = scaled.then_some(&sc[..]);
            accumulate_group(isa, row, row.len(), &[0], scales, old, sum, lanes, 0)
        }
    }
}

/// Elements per chunk of [`accumulate_group`] (one pass over the chains).
const GROUP_CHUNK: usize = CHAINS;

#[inline(always)]
fn accumulate_group_body(
    x: &[f32],
    d: usize,
    rows: &[u32],
    scales: Option<&[f64]>,
    old: &[f64],
    sum: &mut [f64],
    lanes: &mut [f64; CHAINS],
) {
    for c0 in (0..d).step_by(GROUP_CHUNK) {
        let c1 = (c0 + GROUP_CHUNK).min(d);
        for (m, &i) in rows.iter().enumerate() {
            let scale = scales.map_or(1.0, |s| s[m]);
            let r = &x[i as usize * d..];
            for p in c0..c1 {
                let v = r[p] as f64 * scale;
                sum[p] += v;
                let t = v - old[p];
                lanes[p % CHAINS] += t * t;
            }
        }
    }
}

/// [`accumulate`] for several rows of one cluster at once (rows `rows` of the row-major
/// matrix `x` with `d` columns, ascending, with their scales; `None` = all 1, which skips
/// the products since x·1 = x exactly): for each chunk of 32 elements, the rows in order,
/// so `sum` and `old` are read once per chunk instead of once per row. Per element,
/// `sum[p]` receives the rows in order (the same bits as one [`accumulate`] per row); chain
/// p mod 32 receives (chunk, row) in lexicographic order and is folded into `lanes` once per
/// call. Every ISA gives the same bits.
///
/// `ahead` > 0 asks the vector kernel to prefetch into L2, while it works, the elements
/// `ahead` places past those it reads (a hint only: it changes no result). The fused Lloyd
/// pass passes one row block (`ROW_BLOCK · d`), so the next block's rows arrive while this
/// block is added up instead of stalling the next assignment.
#[inline]
#[allow(clippy::too_many_arguments)]
pub fn accumulate_group(
    isa: Isa,
    x: &[f32],
    d: usize,
    rows: &[u32],
    scales: Option<&[f64]>,
    old: &[f64],
    sum: &mut [f64],
    lanes: &mut [f64; ACC_LANES],
    ahead: usize,
) {
    assert!(old.len() == d && sum.len() == d);
    assert!(scales.is_none_or(|s| s.len() == rows.len()));
    assert!(rows.iter().all(|&i| (i as usize + 1) * d <= x.len()));
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: Avx512 is only produced when the CPU has it; row bounds checked above.
        Isa::Avx512 => unsafe {
            match scales {
                Some(s) => {
                    x86::accumulate_group_avx512::<true>(x, d, rows, s, old, sum, lanes, ahead)
                }
                None => {
                    x86::accumulate_group_avx512::<false>(x, d, rows, &[], old, sum, lanes, ahead)
                }
            }
        },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: Avx2 is only produced when the CPU has AVX2 and FMA; bounds checked above.
        Isa::Avx2 => unsafe {
            use super::vector_avx2::accumulate_group_avx2;
            match scales {
                Some(s) => accumulate_group_avx2::<true>(x, d, rows, s, old, sum, lanes, ahead),
                None => accumulate_group_avx2::<false>(x, d, rows, &[], old, sum, lanes, ahead),
            }
        },
        _ => {
            let mut ch = [0f64; CHAINS];
            accumulate_group_body(x, d, rows, scales, old, sum, &mut ch);
            fold(&ch, lanes);
        }
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

    /// Mask of the elements e..e+8 that lie below d (0 past d).
    #[inline(always)]
    fn mask8(d: usize, e: usize) -> u8 {
        ((1u32 << d.saturating_sub(e).min(8)) - 1) as u8
    }

    /// The fold of [`super::fold`] on the four chain registers, added into `lanes`.
    #[inline(always)]
    unsafe fn fold512(acc: &[__m512d; 4], lanes: &mut [f64; super::ACC_LANES]) {
        let f = _mm512_add_pd(_mm512_add_pd(acc[0], acc[1]), _mm512_add_pd(acc[2], acc[3]));
        let lp = lanes.as_mut_ptr();
        _mm512_storeu_pd(lp, _mm512_add_pd(_mm512_loadu_pd(lp), f));
    }

    /// AVX-512 [`super::accumulate`]: [`accumulate_group_avx512`] for one row, without
    /// holding the sums in registers (each is touched once); the same operations per element
    /// and chain, and the same fold.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn accumulate_row_avx512<const SCALED: bool>(
        row: &[f32],
        scale: f64,
        old: &[f64],
        sum: &mut [f64],
        lanes: &mut [f64; super::ACC_LANES],
    ) {
        let d = row.len();
        let sc = _mm512_set1_pd(scale);
        let (xp, sp, op) = (row.as_ptr(), sum.as_mut_ptr(), old.as_ptr());
        let mut acc = [_mm512_setzero_pd(); 4];
        // Whole chunks of 32 elements without masks, then the partial last one with them.
        let full = d / 32 * 32;
        let mut p = 0;
        while p < full {
            for (q, a) in acc.iter_mut().enumerate() {
                let e = p + 8 * q;
                let mut v = _mm512_cvtps_pd(_mm256_loadu_ps(xp.add(e)));
                if SCALED {
                    v = _mm512_mul_pd(v, sc);
                }
                _mm512_storeu_pd(sp.add(e), _mm512_add_pd(_mm512_loadu_pd(sp.add(e)), v));
                let t = _mm512_sub_pd(v, _mm512_loadu_pd(op.add(e)));
                *a = _mm512_add_pd(*a, _mm512_mul_pd(t, t));
            }
            p += 32;
        }
        if full < d {
            for (q, a) in acc.iter_mut().enumerate() {
                let e = full + 8 * q;
                let m = mask8(d, e);
                let xv = _mm512_castps512_ps256(_mm512_maskz_loadu_ps(m as __mmask16, xp.add(e)));
                let mut v = _mm512_cvtps_pd(xv);
                if SCALED {
                    v = _mm512_mul_pd(v, sc);
                }
                let s = _mm512_add_pd(_mm512_maskz_loadu_pd(m, sp.add(e)), v);
                _mm512_mask_storeu_pd(sp.add(e), m, s);
                let t = _mm512_sub_pd(v, _mm512_maskz_loadu_pd(m, op.add(e)));
                *a = _mm512_mask_add_pd(*a, m, *a, _mm512_mul_pd(t, t));
            }
        }
        fold512(&acc, lanes);
    }

    /// One chunk of [`accumulate_group_avx512`]: elements p..p+32 of every row of the group,
    /// the sums held in registers. `MASKED`: elements past d are neither read nor written
    /// (the last, partial chunk); otherwise p + 32 ≤ d and every access is a plain one.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn group_chunk<const SCALED: bool, const MASKED: bool>(
        xp: *const f32,
        d: usize,
        p: usize,
        rows: &[u32],
        scales: &[f64],
        sp: *mut f64,
        op: *const f64,
        acc: &mut [__m512d; 4],
        ahead: usize,
    ) {
        let mut m = [0xffu8; 4];
        if MASKED {
            for (q, mq) in m.iter_mut().enumerate() {
                *mq = mask8(d, p + 8 * q);
            }
        }
        let mut s = [_mm512_setzero_pd(); 4];
        let mut o = [_mm512_setzero_pd(); 4];
        for q in 0..4 {
            if MASKED {
                s[q] = _mm512_maskz_loadu_pd(m[q], sp.add(p + 8 * q));
                o[q] = _mm512_maskz_loadu_pd(m[q], op.add(p + 8 * q));
            } else {
                s[q] = _mm512_loadu_pd(sp.add(p + 8 * q));
                o[q] = _mm512_loadu_pd(op.add(p + 8 * q));
            }
        }
        for (mi, &i) in rows.iter().enumerate() {
            let r = xp.add(i as usize * d + p);
            if ahead > 0 {
                // The 32 elements `ahead` on: two cache lines (prefetches never fault).
                let f = r.wrapping_add(ahead) as *const i8;
                _mm_prefetch::<_MM_HINT_T1>(f);
                _mm_prefetch::<_MM_HINT_T1>(f.wrapping_add(64));
            }
            let sc = _mm512_set1_pd(if SCALED { scales[mi] } else { 1.0 });
            for q in 0..4 {
                let xv = if MASKED {
                    // AVX-512F only: a masked 512-bit load of which the low half is used.
                    _mm512_castps512_ps256(_mm512_maskz_loadu_ps(m[q] as __mmask16, r.add(8 * q)))
                } else {
                    _mm256_loadu_ps(r.add(8 * q))
                };
                let mut v = _mm512_cvtps_pd(xv);
                if SCALED {
                    v = _mm512_mul_pd(v, sc);
                }
                s[q] = _mm512_add_pd(s[q], v);
                let t = _mm512_sub_pd(v, o[q]);
                acc[q] = if MASKED {
                    _mm512_mask_add_pd(acc[q], m[q], acc[q], _mm512_mul_pd(t, t))
                } else {
                    _mm512_add_pd(acc[q], _mm512_mul_pd(t, t))
                };
            }
        }
        for q in 0..4 {
            if MASKED {
                _mm512_mask_storeu_pd(sp.add(p + 8 * q), m[q], s[q]);
            } else {
                _mm512_storeu_pd(sp.add(p + 8 * q), s[q]);
            }
        }
    }

    /// AVX-512 [`super::accumulate_group`]: per chunk of 32 elements, the four 8-lane sum
    /// vectors stay in registers while the rows pass; the 32 chains live in four registers
    /// for the whole call and are folded in registers (same order per element and chain as
    /// the scalar body, and the same fold).
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn accumulate_group_avx512<const SCALED: bool>(
        x: &[f32],
        d: usize,
        rows: &[u32],
        scales: &[f64],
        old: &[f64],
        sum: &mut [f64],
        lanes: &mut [f64; super::ACC_LANES],
        ahead: usize,
    ) {
        let mut acc = [_mm512_setzero_pd(); 4];
        let (xp, sp, op) = (x.as_ptr(), sum.as_mut_ptr(), old.as_ptr());
        // Whole chunks of 32 elements without masks, then the partial last chunk with them:
        // the same operations on the same elements either way (a full mask changes no bit).
        let full = d / 32 * 32;
        let mut p = 0;
        while p < full {
            group_chunk::<SCALED, false>(xp, d, p, rows, scales, sp, op, &mut acc, ahead);
            p += 32;
        }
        if full < d {
            group_chunk::<SCALED, true>(xp, d, full, rows, scales, sp, op, &mut acc, ahead);
        }
        fold512(&acc, lanes);
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
    fn accumulate_isas_agree_bitwise_and_match_naive() {
        let mut r = Rng::new(9);
        for n in [1usize, 7, 8, 33, 40, 64, 130, 784] {
            let row: Vec<f32> = (0..n).map(|_| r.normal() as f32).collect();
            let old: Vec<f64> = (0..n).map(|_| r.normal() as f32 as f64).collect();
            for scale in [0.7, 1.0] {
                let mut want_s = vec![0.5f64; n];
                let mut want_l = [0f64; ACC_LANES];
                accumulate(Isa::Scalar, &row, scale, &old, &mut want_s, &mut want_l);
                for p in 0..n {
                    assert_eq!(want_s[p], 0.5 + row[p] as f64 * scale);
                }
                let naive: f64 = (0..n)
                    .map(|p| (row[p] as f64 * scale - old[p]).powi(2))
                    .sum();
                let got: f64 = want_l.iter().sum();
                assert!(
                    (got - naive).abs() <= 1e-12 * naive,
                    "n={n} {got} vs {naive}"
                );
                for isa in crate::simd::available() {
                    let mut s = vec![0.5f64; n];
                    let mut l = [0f64; ACC_LANES];
                    accumulate(isa, &row, scale, &old, &mut s, &mut l);
                    assert_eq!(s, want_s, "{isa:?} n={n} scale={scale}");
                    assert_eq!(l, want_l, "{isa:?} n={n} scale={scale}");
                }
            }
        }
    }

    #[test]
    fn accumulate_group_equals_per_row_sums_and_isas_agree() {
        let mut r = Rng::new(12);
        for d in [1usize, 7, 8, 31, 32, 33, 64, 100, 784] {
            let n = 9;
            let x: Vec<f32> = (0..n * d).map(|_| r.normal() as f32).collect();
            let old: Vec<f64> = (0..d).map(|_| r.normal() as f32 as f64).collect();
            let rows: Vec<u32> = vec![0, 2, 3, 7, 8];
            for scales in [
                None,
                Some(vec![1.0; 5]),
                Some(vec![0.5, 1.0, 0.3, 2.0, 0.7]),
            ] {
                let sc = |m: usize| scales.as_ref().map_or(1.0, |s| s[m]);
                // Sums: the same bits as one `accumulate` per row in order.
                let mut want_s = vec![0.25f64; d];
                let mut per_row_l = [0f64; ACC_LANES];
                for (m, &i) in rows.iter().enumerate() {
                    let row = &x[i as usize * d..(i as usize + 1) * d];
                    accumulate(Isa::Scalar, row, sc(m), &old, &mut want_s, &mut per_row_l);
                }
                let mut s0 = vec![0.25f64; d];
                let mut l0 = [0f64; ACC_LANES];
                accumulate_group(
                    Isa::Scalar,
                    &x,
                    d,
                    &rows,
                    scales.as_deref(),
                    &old,
                    &mut s0,
                    &mut l0,
                    0,
                );
                assert_eq!(s0, want_s, "d={d}");
                let (a, b): (f64, f64) = (l0.iter().sum(), per_row_l.iter().sum());
                assert!((a - b).abs() <= 1e-12 * b, "d={d} {a} vs {b}");
                for isa in crate::simd::available() {
                    let mut s = vec![0.25f64; d];
                    let mut l = [0f64; ACC_LANES];
                    accumulate_group(
                        isa,
                        &x,
                        d,
                        &rows,
                        scales.as_deref(),
                        &old,
                        &mut s,
                        &mut l,
                        64 * d, // prefetching past the rows changes nothing
                    );
                    assert_eq!(s, s0, "{isa:?} d={d}");
                    assert_eq!(l, l0, "{isa:?} d={d}");
                }
            }
        }
    }

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
