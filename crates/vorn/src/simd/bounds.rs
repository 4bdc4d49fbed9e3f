//! Per-centroid distance bounds of the bound-pruned Lloyd passes (`kmeans::pruned`), k per
//! row, kept as f32 lower bounds of Euclidean distances:
//!
//! * [`drop_bounds`]: after the centroids moved by δ_j ≤ `drop[j]`, every bound becomes
//!   l_j ← max(0, (l_j − drop_j)·SHRINK), still ≤ ‖x − c_j‖ by the triangle inequality
//!   (SHRINK absorbs the rounding of the subtraction), and the least of them is returned;
//! * [`bounds_from_scores`]: from a row's kernel scores s_j = ‖c_j‖² − 2·x·c_j, each within
//!   `e` of its exact value, and the row's squared norm n2:
//!   l_j = √max(0, fl(n2 + s_j)·(1 − 2⁻²¹) − e′)·SHRINK with e′ ≥ e, a lower bound of
//!   √(n2 + s_j − e) ≤ ‖x − c_j‖ since every rounding is outweighed by the factors below 1.
//!
//! Only element-wise IEEE operations and a minimum, so every ISA gives the same bits; the
//! bodies are plain loops over 16 lanes that the compiler vectorizes with the features of
//! each wrapper.

use super::Isa;

/// Factor below 1 that makes a value rounded to nearest a lower bound of the exact one:
/// fl(fl(v)·SHRINK) ≤ v·(1 + 2⁻²⁴)²·(1 − 2⁻²²) < v for v > 0 in the normal range.
pub const SHRINK: f32 = 1.0 - 1.0 / (1u32 << 22) as f32;
/// Factor applied to n2 + s_j before the margin is taken off (see the module doc).
const SUM_SHRINK: f32 = 1.0 - 1.0 / (1u32 << 21) as f32;
const W: usize = 16;

#[inline(always)]
fn drop_body(lo: &mut [f32], drop: &[f32]) -> f32 {
    let mut m = [f32::INFINITY; W];
    let mut lc = lo.chunks_exact_mut(W);
    let mut dc = drop.chunks_exact(W);
    for (l, d) in (&mut lc).zip(&mut dc) {
        for i in 0..W {
            let v = ((l[i] - d[i]) * SHRINK).max(0.0);
            l[i] = v;
            m[i] = if v < m[i] { v } else { m[i] };
        }
    }
    for (i, (l, &d)) in lc
        .into_remainder()
        .iter_mut()
        .zip(dc.remainder())
        .enumerate()
    {
        let v = ((*l - d) * SHRINK).max(0.0);
        *l = v;
        m[i] = if v < m[i] { v } else { m[i] };
    }
    m.iter()
        .fold(f32::INFINITY, |a, &b| if b < a { b } else { a })
}

#[inline(always)]
fn from_scores_body(scores: &[f32], n2: f32, e: f32, out: &mut [f32]) {
    for (o, &s) in out.iter_mut().zip(scores) {
        let t = ((n2 + s) * SUM_SHRINK - e).max(0.0);
        *o = t.sqrt() * SHRINK;
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn drop_avx2(lo: &mut [f32], drop: &[f32]) -> f32 {
        super::drop_body(lo, drop)
    }
    #[target_feature(enable = "avx512f")]
    pub unsafe fn drop_avx512(lo: &mut [f32], drop: &[f32]) -> f32 {
        super::drop_body(lo, drop)
    }
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn from_scores_avx2(scores: &[f32], n2: f32, e: f32, out: &mut [f32]) {
        super::from_scores_body(scores, n2, e, out)
    }
    #[target_feature(enable = "avx512f")]
    pub unsafe fn from_scores_avx512(scores: &[f32], n2: f32, e: f32, out: &mut [f32]) {
        super::from_scores_body(scores, n2, e, out)
    }
}

/// Moves the lower bounds `lo` by the centroids' drifts `drop` (same length) and returns the
/// least of them (+∞ entries stay +∞; +∞ if all are).
#[inline]
pub fn drop_bounds(isa: Isa, lo: &mut [f32], drop: &[f32]) -> f32 {
    assert_eq!(lo.len(), drop.len());
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: Avx512/Avx2 are only produced when the CPU has them.
        Isa::Avx512 => unsafe { x86::drop_avx512(lo, drop) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Isa::Avx2 => unsafe { x86::drop_avx2(lo, drop) },
        _ => drop_body(lo, drop),
    }
}

/// Lower bounds of the distances from a row of squared norm `n2` to every centroid, from its
/// kernel scores (each within `e` of exact; pass `e` rounded up to f32) into `out`.
#[inline]
pub fn bounds_from_scores(isa: Isa, scores: &[f32], n2: f32, e: f32, out: &mut [f32]) {
    assert_eq!(scores.len(), out.len());
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Isa::Avx512 => unsafe { x86::from_scores_avx512(scores, n2, e, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Isa::Avx2 => unsafe { x86::from_scores_avx2(scores, n2, e, out) },
        _ => from_scores_body(scores, n2, e, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn bounds_are_lower_bounds_and_every_isa_gives_the_same_bits() {
        let mut r = Rng::new(4);
        for k in [1usize, 5, 16, 17, 80, 131] {
            let lo0: Vec<f32> = (0..k)
                .map(|j| {
                    if j == 2 {
                        f32::INFINITY
                    } else {
                        (r.normal().abs() * 3.0) as f32
                    }
                })
                .collect();
            let drop: Vec<f32> = (0..k).map(|_| (r.normal().abs() * 0.5) as f32).collect();
            let scores: Vec<f32> = (0..k).map(|_| (r.normal() * 4.0 - 2.0) as f32).collect();
            let (n2, e) = (3.5f32, 1e-3f32);
            let mut want = lo0.clone();
            let least = drop_bounds(Isa::Scalar, &mut want, &drop);
            let mut wb = vec![0f32; k];
            bounds_from_scores(Isa::Scalar, &scores, n2, e, &mut wb);
            for j in 0..k {
                // Below the exact moved bound, and below the exact distance bound.
                let exact = lo0[j] as f64 - drop[j] as f64;
                assert!(want[j] == 0.0 || (want[j] as f64) < exact || lo0[j].is_infinite());
                assert!(want[j] >= 0.0);
                let t = n2 as f64 + scores[j] as f64 - e as f64;
                assert!((wb[j] as f64) <= t.max(0.0).sqrt(), "k={k} j={j}");
                assert!((wb[j] as f64) >= t.max(0.0).sqrt() * (1.0 - 1e-5) - 1e-3);
            }
            let m = want.iter().cloned().fold(f32::INFINITY, f32::min);
            assert_eq!(least.to_bits(), m.to_bits(), "k={k}");
            for isa in super::super::available() {
                let mut got = lo0.clone();
                let l = drop_bounds(isa, &mut got, &drop);
                assert_eq!(l.to_bits(), least.to_bits(), "{isa:?} k={k}");
                assert!(got
                    .iter()
                    .zip(&want)
                    .all(|(a, b)| a.to_bits() == b.to_bits()));
                let mut gb = vec![0f32; k];
                bounds_from_scores(isa, &scores, n2, e, &mut gb);
                assert!(gb.iter().zip(&wb).all(|(a, b)| a.to_bits() == b.to_bits()));
            }
        }
    }
}
