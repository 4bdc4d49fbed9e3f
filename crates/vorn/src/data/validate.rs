//! One pass over the input that rejects what would silently produce garbage.
//!
//! Checks, in row order (the *first* offending row is reported, whatever the thread count):
//! every value finite; squared row norm ‖x‖² (in f64) small enough that the f32 expansion
//! ‖x‖² + ‖c‖² − 2·x·c cannot overflow; for cosine, no zero rows and no row with
//! ‖x‖² < [`COSINE_MIN_NORM2`]. Returns the f64 squared norms rounded to f32, which later
//! stages reuse (cosine normalisation, distances).
//!
//! Why the cosine floor: the kernel scores a row against unit centroids as
//! s = fl(1 − 2·x·c) (the norm term of a unit centroid is 1, see `linalg::PackedCentroids`),
//! whose rounding error is up to 2⁻²⁴ when 2|x·c| < 1, i.e. 2⁻²⁵/‖x‖ in cos(x, c). Rows of
//! norm below 2⁻¹⁵ would have their cosines resolved more coarsely than ~10⁻³ (at norm 10⁻¹⁵
//! every centroid scores exactly 1 and all rows fell into one cluster; at 10⁻³⁰ the f32 norm
//! underflowed to 0 and its reciprocal made NaN scores), so they are rejected with the advice
//! to normalise, which makes every norm 1.
//!
//! [`check_scale`] (training data under L2) rejects data whose *largest* squared norm is
//! below [`L2_MIN_NORM2`] = 2⁻¹⁰⁰: squared distances 2⁻²⁴ (one f32 epsilon) of that or more
//! are then still normal f32 numbers (≥ 2⁻¹²⁶), while below it the distances between rows
//! become subnormal and lose bits (rows scaled by 10⁻²² agreed with the unscaled fit's labels
//! on 29% of rows, by 10⁻³⁰ all rows fell into one cluster). A batch to label is not checked
//! this way: a tiny row is then compared with centroids of the training data's scale.

use super::MatrixView;
use crate::error::{Error, Result};
use crate::metric::Metric;
use rayon::prelude::*;

/// Largest squared norm accepted: a quarter of f32::MAX leaves room for ‖x‖² + ‖c‖² + 2|x·c|.
pub const MAX_NORM2: f64 = (f32::MAX as f64) / 8.0;

/// Smallest squared row norm accepted under cosine, 2⁻³⁰ (norm 2⁻¹⁵ ≈ 3·10⁻⁵; see the module
/// docs).
pub const COSINE_MIN_NORM2: f64 = 1.0 / (1u64 << 30) as f64;

/// Smallest largest-squared-row-norm of L2 training data, 2⁻¹⁰⁰ ≈ 7.9·10⁻³¹ (see the module
/// docs).
pub const L2_MIN_NORM2: f64 = 1.0 / (1u128 << 100) as f64;

/// Squared norms of the rows, one f32 each.
pub type RowNorms = Vec<f32>;

const CHUNK: usize = 4096;

/// (‖row‖² in f64, all values finite). Eight independent f64 lanes (p mod 8, separate
/// multiply and add), summed in lane order: the same bits from the portable, AVX2 and AVX-512
/// builds of the body, without a serial dependency per element.
#[inline]
fn norm2_finite(row: &[f32]) -> (f64, bool) {
    #[cfg(target_arch = "x86_64")]
    if crate::simd::active() == crate::simd::Isa::Avx512 {
        // SAFETY: AVX-512F is present (active() checked it).
        return unsafe { norm2_finite_avx512(row) };
    }
    #[cfg(target_arch = "x86_64")]
    if crate::simd::active() == crate::simd::Isa::Avx2 {
        // SAFETY: AVX2 is present (active() checked it).
        return unsafe { norm2_finite_avx2(row) };
    }
    norm2_finite_body(row)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn norm2_finite_avx2(row: &[f32]) -> (f64, bool) {
    norm2_finite_body(row)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn norm2_finite_avx512(row: &[f32]) -> (f64, bool) {
    norm2_finite_body(row)
}

#[inline(always)]
fn norm2_finite_body(row: &[f32]) -> (f64, bool) {
    let mut lanes = [0f64; 8];
    let mut finite = true;
    let ch = row.chunks_exact(8);
    let rest = ch.remainder();
    for c in ch {
        for l in 0..8 {
            finite &= c[l].is_finite();
            lanes[l] += (c[l] as f64) * (c[l] as f64);
        }
    }
    for (l, &v) in rest.iter().enumerate() {
        finite &= v.is_finite();
        lanes[l] += (v as f64) * (v as f64);
    }
    (lanes.iter().sum(), finite)
}

/// Validates `x` for `metric` and returns the squared row norms.
pub fn validate(x: MatrixView<'_>, metric: Metric) -> Result<RowNorms> {
    let d = x.d();
    let mut norms = vec![0f32; x.n()];
    super::advise_huge_pages(&mut norms);
    let first_error: Option<(usize, Error)> = norms
        .par_chunks_mut(CHUNK)
        .enumerate()
        .filter_map(|(c, out)| {
            let r0 = c * CHUNK;
            for (k, o) in out.iter_mut().enumerate() {
                let i = r0 + k;
                let row = &x.as_slice()[i * d..(i + 1) * d];
                let (s, finite) = norm2_finite(row);
                if !finite {
                    let j = row.iter().position(|v| !v.is_finite()).unwrap_or(0);
                    return Some((
                        i,
                        Error::NonFinite {
                            row: i,
                            col: j,
                            value: row[j],
                        },
                    ));
                }
                if s > MAX_NORM2 {
                    return Some((i, Error::Overflow { row: i, norm2: s }));
                }
                if metric == Metric::Cosine && s == 0.0 {
                    return Some((i, Error::ZeroNorm { row: i }));
                }
                if metric == Metric::Cosine && s < COSINE_MIN_NORM2 {
                    return Some((
                        i,
                        Error::TinyNorm {
                            row: i,
                            norm2: s,
                            min: COSINE_MIN_NORM2,
                        },
                    ));
                }
                *o = s as f32;
            }
            None
        })
        .min_by_key(|(i, _)| *i);
    match first_error {
        Some((_, e)) => Err(e),
        None => Ok(norms),
    }
}

/// Rejects L2 training data `x` all of whose squared norms (`norms`, from [`validate`]) are
/// below [`L2_MIN_NORM2`], unless the rows are all zero (identical rows: a degenerate but
/// exact fit). Rows that small may have f32 norms of 0, so that case re-measures in f64.
pub fn check_scale(x: MatrixView<'_>, norms: &[f32], metric: Metric) -> Result<()> {
    if metric != Metric::L2 {
        return Ok(());
    }
    let mut max = norms.iter().fold(0f32, |m, &v| m.max(v)) as f64;
    if max < L2_MIN_NORM2 {
        max = x
            .as_slice()
            .chunks(x.d())
            .map(|r| norm2_finite(r).0)
            .fold(0.0, f64::max);
    }
    if max > 0.0 && max < L2_MIN_NORM2 {
        return Err(Error::Underflow {
            max_norm2: max,
            min: L2_MIN_NORM2,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norms_match_naive_and_both_builds_agree() {
        let mut r = crate::rng::Rng::new(2);
        for d in [1usize, 7, 8, 9, 50, 784] {
            let row: Vec<f32> = (0..d).map(|_| r.normal() as f32).collect();
            let naive: f64 = row.iter().map(|&v| v as f64 * v as f64).sum();
            let (s, ok) = norm2_finite(&row);
            assert!(ok && (s - naive).abs() <= 1e-12 * naive.max(1.0));
            assert_eq!(s.to_bits(), norm2_finite_body(&row).0.to_bits());
            let mut bad = row.clone();
            bad[d - 1] = f32::NEG_INFINITY;
            assert!(!norm2_finite(&bad).1);
        }
    }

    #[test]
    fn reports_first_bad_row() {
        let mut data = vec![1f32; 10_000 * 3];
        data[9000 * 3 + 1] = f32::NAN;
        data[5000 * 3 + 2] = f32::INFINITY;
        let v = MatrixView::new(&data, 10_000, 3).unwrap();
        match validate(v, Metric::L2) {
            Err(Error::NonFinite { row, col, .. }) => assert_eq!((row, col), (5000, 2)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn overflow_and_zero_norm() {
        let data = vec![0.0, 0.0, 3e19, 1.0];
        let v = MatrixView::new(&data, 2, 2).unwrap();
        assert!(matches!(
            validate(v, Metric::L2),
            Err(Error::Overflow { row: 1, .. })
        ));
        let data = vec![1.0, 0.0, 0.0, 0.0];
        let v = MatrixView::new(&data, 2, 2).unwrap();
        assert!(matches!(
            validate(v, Metric::Cosine),
            Err(Error::ZeroNorm { row: 1 })
        ));
        assert!(validate(v, Metric::L2).is_ok());
    }

    #[test]
    fn tiny_cosine_rows_and_tiny_l2_data_are_rejected() {
        // Cosine: the first row below the floor is reported, at either side of it.
        for scale in [1e-4f32, 1e-5, 1e-15, 1e-30] {
            let data = vec![1.0, 2.0, scale, scale, 3.0, 0.5];
            let v = MatrixView::new(&data, 3, 2).unwrap();
            let tiny = 2.0 * (scale as f64) * (scale as f64) < COSINE_MIN_NORM2;
            match validate(v, Metric::Cosine) {
                Err(Error::TinyNorm { row, norm2, .. }) => {
                    assert!(tiny && row == 1 && norm2 > 0.0, "{scale}")
                }
                Ok(_) => assert!(!tiny, "{scale}"),
                other => panic!("{other:?}"),
            }
            // L2 accepts the same rows (the training data's scale is set by the others).
            let norms = validate(v, Metric::L2).unwrap();
            assert!(check_scale(v, &norms, Metric::L2).is_ok());
        }
        // L2: data whose largest squared norm is below 2^-100 is rejected; zeros pass.
        for (scale, bad) in [
            (1e-14f32, false),
            (1e-16, true),
            (1e-30, true),
            (0.0, false),
        ] {
            let data: Vec<f32> = [1.0f32, -2.0, 0.5, 3.0].iter().map(|v| v * scale).collect();
            let v = MatrixView::new(&data, 2, 2).unwrap();
            let norms = validate(v, Metric::L2).unwrap();
            let r = check_scale(v, &norms, Metric::L2);
            match r {
                Err(Error::Underflow { max_norm2, .. }) => {
                    assert!(
                        bad && max_norm2 > 0.0 && max_norm2 < L2_MIN_NORM2,
                        "{scale}"
                    )
                }
                Ok(()) => assert!(!bad, "{scale}"),
                other => panic!("{other:?}"),
            }
            assert!(check_scale(v, &norms, Metric::Cosine).is_ok());
        }
    }
}
