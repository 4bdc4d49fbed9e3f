//! Lloyd with a few centres (M ≤ 3) on a subset of the rows, for split–merge moves
//! ([`super::split_merge`]).
//!
//! The rows are packed transposed once, 16 to a panel: `data[(q·d + p)·16 + l]` is element p
//! of row 16·q + l (rows past the end zero). The distance scores of a panel's 16 rows to
//! centre j are then one vector per centre, `acc_j = Σ_p x_p·c_j[p]` (products rounded,
//! added in p order: no horizontal sums, no fused multiply-adds), and a row's distance is
//! max(0, ‖x‖² + ‖c_j‖² − 2·acc_j), ties to the lowest j. The update sums each centre's rows
//! lane by lane (`lanes[(j·d + p)·16 + l]`, a zero added where the label differs) and folds
//! the 16 lanes pairwise; the mean is rescaled to unit norm for spherical k-means. The
//! kernels are written for AVX-512, AVX2 and portable code that make the same operations per
//! lane, so every ISA gives the same bits; everything else is sequential in row order.
//! Memory: d + 1 floats and two indices per row, 2·M·d·16 floats of lanes.

use crate::data::MatrixView;
use crate::simd::{self, Isa};

/// A local Lloyd stops once an iteration lowers its SSE by at most this share of it (the
/// default `tol` of the runs).
const LOCAL_TOL: f64 = 1e-4;
/// Rows per panel (the lanes of one f32 vector on AVX-512).
const P: usize = 16;

/// Rows `idx` of `x` packed transposed: panel q holds element p of its rows at
/// `data[(q·d + p)·P + lane]` (rows past the end zero), and `norms` their squared norms.
pub(super) struct Panels<'a> {
    isa: Isa,
    /// Spherical: every centre is rescaled to unit norm after its update.
    unit: bool,
    x: MatrixView<'a>,
    pub(super) idx: Vec<usize>,
    data: Vec<f32>,
    norms: Vec<f32>,
}

impl<'a> Panels<'a> {
    #[inline(always)]
    pub(super) fn new(x: MatrixView<'a>, idx: Vec<usize>, unit: bool) -> Self {
        let d = x.d();
        let q = idx.len().div_ceil(P);
        let mut data = vec![0f32; q * d * P];
        for (panel, rows) in data.chunks_exact_mut(d * P).zip(idx.chunks(P)) {
            let rows: Vec<&[f32]> = rows.iter().map(|&i| x.row(i)).collect();
            for (p, out) in panel.chunks_exact_mut(P).enumerate() {
                for (o, r) in out.iter_mut().zip(&rows) {
                    *o = r[p];
                }
            }
        }
        // Squared norms lane by lane, in element order.
        let mut norms = vec![0f32; q * P];
        for (panel, nq) in data.chunks_exact(d * P).zip(norms.chunks_exact_mut(P)) {
            let mut acc = [0f32; P];
            for xs in panel.chunks_exact(P) {
                for (a, &v) in acc.iter_mut().zip(xs) {
                    *a += v * v;
                }
            }
            nq.copy_from_slice(&acc);
        }
        Panels {
            isa: simd::active(),
            unit,
            x,
            idx,
            data,
            norms,
        }
    }

    /// Labels every row with the nearest of the M centroids `c` (M × d; ties to the lowest
    /// index) and returns the SSE, each row's distance taken as max(0, ‖x‖² + ‖c‖² − 2·x·c).
    /// With `FIXED`, the labels are kept and the SSE is that of the rows to their centroids.
    /// Returns the SSE per label.
    #[inline(always)]
    pub(super) fn assign<const M: usize, const FIXED: bool>(
        &self,
        c: &[f32],
        labels: &mut [usize],
    ) -> [f64; M] {
        let d = self.x.d();
        let mut cn = [0f32; M];
        // Centroids transposed: ct[p][j] = c_j[p].
        let mut ct = vec![[0f32; M]; d];
        for (j, cj) in c.chunks_exact(d).enumerate() {
            cn[j] = cj.iter().map(|&v| v * v).sum();
            for (t, &v) in ct.iter_mut().zip(cj) {
                t[j] = v;
            }
        }
        let mut sse = [0f64; M];
        for (q, panel) in self.data.chunks_exact(d * P).enumerate() {
            let mut acc = [[0f32; P]; M];
            dots(self.isa, panel, &ct, &mut acc);
            let rows = (self.idx.len() - q * P).min(P);
            for l in 0..rows {
                if FIXED {
                    let j = labels[q * P + l];
                    sse[j] += (self.norms[q * P + l] + (cn[j] - 2.0 * acc[j][l])).max(0.0) as f64;
                    continue;
                }
                let mut best = (0, cn[0] - 2.0 * acc[0][l]);
                for j in 1..M {
                    let s = cn[j] - 2.0 * acc[j][l];
                    if s < best.1 {
                        best = (j, s);
                    }
                }
                labels[q * P + l] = best.0;
                sse[best.0] += (self.norms[q * P + l] + best.1).max(0.0) as f64;
            }
        }
        sse
    }

    /// Lloyd with the M centroids `c` (updated in place) over the rows, at most `iters`
    /// iterations, stopping when no label moves or the SSE fell by at most [`LOCAL_TOL`] of
    /// itself. A centre left without rows keeps its place. Ends with the labels of the last
    /// centroids in `labels`; returns their SSE per label.
    #[inline(always)]
    pub(super) fn lloyd<const M: usize>(
        &self,
        c: &mut [f32],
        labels: &mut [usize],
        iters: usize,
    ) -> [f64; M] {
        let d = self.x.d();
        let mut prev = vec![usize::MAX; self.idx.len()];
        // Per-lane sums: lanes[(j·d + p)·P + l] adds element p of the rows of lane l with
        // label j, in row order; a centre is the fixed pairwise sum of its lanes / count.
        let mut lanes = vec![0f32; M * d * P];
        let mut masks = vec![[0u16; M]; self.idx.len().div_ceil(P)];
        let mut sse = self.assign::<M, false>(c, labels);
        let mut prev_sse = f64::INFINITY;
        for _ in 0..iters {
            let total: f64 = sse.iter().sum();
            if labels == &prev[..]
                || (prev_sse.is_finite() && prev_sse - total <= LOCAL_TOL * prev_sse)
            {
                break;
            }
            prev_sse = total;
            let mut counts = [0usize; M];
            for (t, mq) in masks.iter_mut().enumerate() {
                *mq = [0u16; M];
                let rows = &labels[t * P..((t + 1) * P).min(labels.len())];
                for (l, &j) in rows.iter().enumerate() {
                    counts[j] += 1;
                    mq[j] |= 1 << l;
                }
            }
            sum_lanes::<M>(self.isa, &self.data, &masks, &mut lanes);
            for j in 0..M {
                if counts[j] > 0 {
                    let inv = 1.0 / counts[j] as f32;
                    for (p, cv) in c[j * d..(j + 1) * d].iter_mut().enumerate() {
                        let mut a: [f32; P] = lanes[(j * d + p) * P..(j * d + p + 1) * P]
                            .try_into()
                            .expect("P lanes");
                        let mut w = P;
                        while w > 1 {
                            w /= 2;
                            for l in 0..w {
                                a[l] += a[l + w];
                            }
                        }
                        *cv = a[0] * inv;
                    }
                    if self.unit {
                        normalise(&mut c[j * d..(j + 1) * d]);
                    }
                }
            }
            prev.copy_from_slice(labels);
            sse = self.assign::<M, false>(c, labels);
        }
        sse
    }
}

/// `acc[j][l] = Σ_p panel[p·P + l]·ct[p][j]`, each product rounded, then added in p order
/// (no fused multiply-add, so every ISA gives the same bits).
#[inline(always)]
fn dots<const M: usize>(isa: Isa, panel: &[f32], ct: &[[f32; M]], acc: &mut [[f32; P]; M]) {
    debug_assert_eq!(panel.len(), ct.len() * P);
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `active` returns Avx512 only when the CPU has AVX-512F; lengths asserted.
        Isa::Avx512 => unsafe { x86::dots_avx512(panel, ct, acc) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above, for AVX2.
        Isa::Avx2 => unsafe { x86::dots_avx2(panel, ct, acc) },
        _ => {
            for (xs, cp) in panel.chunks_exact(P).zip(ct) {
                for (a, &cv) in acc.iter_mut().zip(cp) {
                    for (al, &xl) in a.iter_mut().zip(xs) {
                        *al += xl * cv;
                    }
                }
            }
        }
    }
}

/// `lanes[(j·d + p)·P + l] = Σ_q (bit l of masks[q][j] ? data[(q·d + p)·P + l] : 0)`, the
/// panels q added in order (zeros included, so every ISA makes the same additions).
#[inline(always)]
fn sum_lanes<const M: usize>(isa: Isa, data: &[f32], masks: &[[u16; M]], lanes: &mut [f32]) {
    let d = lanes.len() / (M * P);
    assert_eq!(data.len(), masks.len() * d * P);
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `active` returns Avx512 only when the CPU has AVX-512F; lengths asserted.
        Isa::Avx512 => unsafe { x86::sum_lanes_avx512::<M>(data, masks, lanes) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above, for AVX2.
        Isa::Avx2 => unsafe { x86::sum_lanes_avx2::<M>(data, masks, lanes) },
        _ => {
            lanes.fill(0.0);
            for (q, mq) in masks.iter().enumerate() {
                let panel = &data[q * d * P..(q + 1) * d * P];
                for j in 0..M {
                    let out = &mut lanes[j * d * P..(j + 1) * d * P];
                    for (o, xs) in out.chunks_exact_mut(P).zip(panel.chunks_exact(P)) {
                        for l in 0..P {
                            o[l] += if mq[j] >> l & 1 == 1 { xs[l] } else { 0.0 };
                        }
                    }
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    #![allow(unsafe_op_in_unsafe_fn)]
    use super::P;
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx512f")]
    pub unsafe fn dots_avx512<const M: usize>(
        panel: &[f32],
        ct: &[[f32; M]],
        acc: &mut [[f32; P]; M],
    ) {
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

    #[target_feature(enable = "avx512f")]
    pub unsafe fn sum_lanes_avx512<const M: usize>(
        data: &[f32],
        masks: &[[u16; M]],
        lanes: &mut [f32],
    ) {
        let d = lanes.len() / (M * P);
        for p in 0..d {
            let mut acc = [_mm512_setzero_ps(); M];
            let mut xp = data.as_ptr().add(p * P);
            for mq in masks {
                let xv = _mm512_loadu_ps(xp);
                for j in 0..M {
                    acc[j] = _mm512_add_ps(acc[j], _mm512_maskz_mov_ps(mq[j], xv));
                }
                xp = xp.add(d * P);
            }
            for j in 0..M {
                _mm512_storeu_ps(lanes.as_mut_ptr().add((j * d + p) * P), acc[j]);
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

    #[target_feature(enable = "avx2")]
    pub unsafe fn sum_lanes_avx2<const M: usize>(
        data: &[f32],
        masks: &[[u16; M]],
        lanes: &mut [f32],
    ) {
        let d = lanes.len() / (M * P);
        let lm: Vec<[(__m256, __m256); M]> = masks
            .iter()
            .map(|mq| {
                let mut v = [(_mm256_setzero_ps(), _mm256_setzero_ps()); M];
                for j in 0..M {
                    v[j] = lane_masks(mq[j]);
                }
                v
            })
            .collect();
        for p in 0..d {
            let mut lo = [_mm256_setzero_ps(); M];
            let mut hi = [_mm256_setzero_ps(); M];
            let mut xp = data.as_ptr().add(p * P);
            for mq in &lm {
                let (x0, x1) = (_mm256_loadu_ps(xp), _mm256_loadu_ps(xp.add(8)));
                for j in 0..M {
                    lo[j] = _mm256_add_ps(lo[j], _mm256_and_ps(mq[j].0, x0));
                    hi[j] = _mm256_add_ps(hi[j], _mm256_and_ps(mq[j].1, x1));
                }
                xp = xp.add(d * P);
            }
            for j in 0..M {
                let o = lanes.as_mut_ptr().add((j * d + p) * P);
                _mm256_storeu_ps(o, lo[j]);
                _mm256_storeu_ps(o.add(8), hi[j]);
            }
        }
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn dots_avx2<const M: usize>(
        panel: &[f32],
        ct: &[[f32; M]],
        acc: &mut [[f32; P]; M],
    ) {
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
}

/// Rescales `v` to unit norm (a zero vector stays as it is).
#[inline(always)]
pub(super) fn normalise(v: &mut [f32]) {
    let n2: f64 = v.iter().map(|&u| u as f64 * u as f64).sum();
    if n2 > 0.0 {
        let inv = 1.0 / n2.sqrt();
        v.iter_mut().for_each(|u| *u = (*u as f64 * inv) as f32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in [−h, h) (a 64-bit LCG's high bits).
    fn uniform(mut s: u64, h: f32) -> impl FnMut() -> f32 {
        move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 2.0 * h
        }
    }

    /// The panel kernel's labels and SSE against a direct computation.
    #[test]
    fn panel_assignment_matches_direct_distances() {
        let mut r = uniform(7, 0.5);
        let (n, d) = (37, 19);
        let x: Vec<f32> = (0..n * d).map(|_| r()).collect();
        let c: Vec<f32> = (0..3 * d).map(|_| r()).collect();
        let xv = MatrixView::new(&x, n, d).unwrap();
        let idx: Vec<usize> = (0..n).filter(|i| i % 3 != 1).collect();
        let pan = Panels::new(xv, idx.clone(), false);
        let mut lab = vec![0; idx.len()];
        let sse: f64 = pan.assign::<3, false>(&c, &mut lab).iter().sum();
        let mut want = 0f64;
        for (t, &i) in idx.iter().enumerate() {
            let dist = |j: usize| -> f64 {
                (0..d)
                    .map(|p| ((x[i * d + p] - c[j * d + p]) as f64).powi(2))
                    .sum()
            };
            let best = (0..3).min_by(|&a, &b| dist(a).total_cmp(&dist(b))).unwrap();
            assert_eq!(lab[t], best, "row {i}");
            want += dist(best);
        }
        assert!((sse - want).abs() < 1e-4 * want, "{sse} vs {want}");
    }

    /// The dispatched kernels give the scalar code's bits on every ISA the CPU has.
    #[test]
    fn kernels_match_the_scalar_bits_on_every_isa() {
        let mut r = uniform(11, 8.0);
        let (q, d) = (5, 23);
        let data: Vec<f32> = (0..q * d * P).map(|_| r()).collect();
        let ct: Vec<[f32; 3]> = (0..d).map(|_| [r(), r(), r()]).collect();
        let masks: Vec<[u16; 3]> = (0..q)
            .map(|t| {
                let a = (t as u16).wrapping_mul(40503) ^ 0x5a5a;
                [a & 0x0f0f, a & !0x0f0f, !a]
            })
            .collect();
        let mut want_dots = [[0f32; P]; 3];
        dots(Isa::Scalar, &data[..d * P], &ct, &mut want_dots);
        let mut want_sums = vec![0f32; 3 * d * P];
        sum_lanes::<3>(Isa::Scalar, &data, &masks, &mut want_sums);
        for isa in simd::available() {
            let mut got = [[0f32; P]; 3];
            dots(isa, &data[..d * P], &ct, &mut got);
            let bits =
                |a: &[[f32; P]; 3]| a.iter().flatten().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want_dots), "{isa:?}");
            let mut sums = vec![1f32; 3 * d * P];
            sum_lanes::<3>(isa, &data, &masks, &mut sums);
            let b: Vec<u32> = sums.iter().map(|v| v.to_bits()).collect();
            let w: Vec<u32> = want_sums.iter().map(|v| v.to_bits()).collect();
            assert_eq!(b, w, "{isa:?}");
        }
    }
}
