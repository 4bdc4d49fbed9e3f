//! Lloyd with a few centres (M ≤ 3) on a subset of the rows, for split–merge moves
//! ([`super::split_merge`]).
//!
//! The rows are packed transposed, 16 to a panel: `data[(q·d + p)·16 + l]` is element p
//! of row 16·q + l (rows past the end zero); the buffers are reused from one packing to the
//! next. The distance scores of a panel's 16 rows to centre j are then one vector per
//! centre, `acc_j = Σ_p x_p·c_j[p]` (products rounded, added in p order: no horizontal sums,
//! no fused multiply-adds), s_j = ‖c_j‖² − 2·acc_j, and a row's label is the least s_j
//! (ties to the lowest j), its distance max(0, ‖x‖² + s_j). Labels live as per-panel lane
//! masks (`[u16; M]`, bit l of mask j: row l has label j), which is what the update and the
//! masked vector operations use. The SSE of a label is summed in f64 per lane over the
//! panels, then over the 16 lanes. The update sums each centre's rows lane by lane
//! (`lanes[(j·d + p)·16 + l]`, masked adds in panel order, 16 elements at a time in
//! registers) and folds the 16 lanes pairwise; the mean is rescaled to unit norm for
//! spherical k-means. The kernels are written for AVX-512, AVX2 (`x86`) and portable code
//! that make the same operations per lane, so every ISA gives the same bits; everything else
//! is sequential in row order.
//!
//! Cost per local iteration on n rows: n·d·M products and additions for the scores and n·d
//! masked additions for the sums, both in 16-wide vectors. Fusing the label choice and the
//! SSE into the score kernel (they were a scalar loop over the rows) and summing in
//! registers (a masked store reloaded at the next panel stalled store forwarding) took the
//! refinement of a digits fit (k = 5, seed 0: two moves on 1069 and 1233 rows and the
//! Lloyd rerun; `examples/fit_file`, 2 threads, median of 40, four alternating pairs) from
//! 0.95–1.02 to 0.68–0.77 ms, with the same fingerprints.
//! Memory: d + 1 floats and two indices per row, 2·M·d·16 floats of lanes.

use crate::data::MatrixView;
use crate::scratch::Buf;
use crate::simd::{self, Isa};

/// A local Lloyd stops once an iteration lowers its SSE by at most this share of it (the
/// default `tol` of the runs).
const LOCAL_TOL: f64 = 1e-4;
/// Rows per panel (the lanes of one f32 vector on AVX-512).
const P: usize = 16;

/// Label masks of a panel's rows: bit l of `m[j]` is set when row l of the panel has label j
/// (each real row in exactly one mask, padding rows in none).
pub(super) type Masks<const M: usize> = [u16; M];

/// The label of row `t` (in `idx` order) in `masks` (0 when it is in none).
#[inline(always)]
pub(super) fn label_of<const M: usize>(masks: &[Masks<M>], t: usize) -> usize {
    let m = &masks[t / P];
    (0..M).find(|&j| m[j] >> (t % P) & 1 == 1).unwrap_or(0)
}

/// Rows `idx` of `x` packed transposed: panel q holds element p of its rows at
/// `data[(q·d + p)·P + lane]` (rows past the end zero), and `norms` their squared norms.
/// [`Panels::pack`] reuses the buffers, so the moves of one refinement allocate them once.
pub(super) struct Panels<'a> {
    isa: Isa,
    /// Spherical: every centre is rescaled to unit norm after its update.
    unit: bool,
    x: MatrixView<'a>,
    pub(super) idx: Vec<usize>,
    data: Buf,
    norms: Vec<f32>,
}

impl<'a> Panels<'a> {
    /// No rows yet ([`Panels::pack`] fills them); room for all rows of `x` without
    /// reallocating, in a kept buffer when one fits (`crate::scratch`: the seeding's packed
    /// rows have this size), so packing touches no fresh pages.
    pub(super) fn new(x: MatrixView<'a>, unit: bool) -> Self {
        Panels {
            isa: simd::active(),
            unit,
            x,
            idx: Vec::new(),
            data: Buf::with_capacity(x.n().div_ceil(P) * x.d() * P),
            norms: Vec::new(),
        }
    }

    /// Packs the rows `idx` (replacing the previous ones).
    pub(super) fn pack(&mut self, idx: Vec<usize>) {
        let (x, d) = (self.x, self.x.d());
        let q = idx.len().div_ceil(P);
        // Every element is written below (padding lanes with zeros), so growth alone is zeroed.
        self.data.resize(q * d * P, 0.0);
        self.norms.resize(q * P, 0.0);
        for (panel, rows) in self.data.chunks_exact_mut(d * P).zip(idx.chunks(P)) {
            for l in 0..P {
                let lane = panel[l..].iter_mut().step_by(P);
                match rows.get(l) {
                    Some(&i) => lane.zip(x.row(i)).for_each(|(o, &v)| *o = v),
                    None => lane.for_each(|o| *o = 0.0),
                }
            }
        }
        // Squared norms lane by lane, in element order.
        for (panel, nq) in self
            .data
            .chunks_exact(d * P)
            .zip(self.norms.chunks_exact_mut(P))
        {
            let mut acc = [0f32; P];
            for xs in panel.chunks_exact(P) {
                for (a, &v) in acc.iter_mut().zip(xs) {
                    *a += v * v;
                }
            }
            nq.copy_from_slice(&acc);
        }
        self.idx = idx;
    }

    /// Label masks of the packed rows from a label (< M) per row of `idx`.
    pub(super) fn masks<const M: usize>(&self, label: impl Fn(usize) -> usize) -> Vec<Masks<M>> {
        let mut m = vec![[0u16; M]; self.idx.len().div_ceil(P)];
        for (t, &i) in self.idx.iter().enumerate() {
            m[t / P][label(i)] |= 1 << (t % P);
        }
        m
    }

    /// Labels every row with the nearest of the M centroids `c` (M × d; ties to the lowest
    /// index) into `masks`, each row's distance taken as max(0, ‖x‖² + ‖c‖² − 2·x·c); with
    /// `FIXED`, the labels in `masks` are kept. Returns the SSE per label (each lane's f64
    /// sum over the panels in order, then the 16 lanes in order).
    #[inline(always)]
    pub(super) fn assign<const M: usize, const FIXED: bool>(
        &self,
        c: &[f32],
        masks: &mut [Masks<M>],
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
        let mut lanes = [[0f64; P]; M];
        let n = self.idx.len();
        assign_panels::<M, FIXED>(
            self.isa,
            &self.data,
            &self.norms,
            n,
            &ct,
            &cn,
            masks,
            &mut lanes,
        );
        lanes.map(|l| l.iter().sum())
    }

    /// Lloyd with the M centroids `c` (updated in place) over the rows, at most `iters`
    /// iterations, stopping when no label moves or the SSE fell by at most [`LOCAL_TOL`] of
    /// itself. A centre left without rows keeps its place. Ends with the labels of the last
    /// centroids in `masks`; returns their SSE per label.
    #[inline(always)]
    pub(super) fn lloyd<const M: usize>(
        &self,
        c: &mut [f32],
        masks: &mut [Masks<M>],
        iters: usize,
    ) -> [f64; M] {
        let d = self.x.d();
        let mut prev: Vec<Masks<M>> = Vec::new();
        // Per-lane sums: lanes[(j·d + p)·P + l] adds element p of the rows of lane l with
        // label j, in row order; a centre is the fixed pairwise sum of its lanes / count.
        let mut lanes = vec![0f32; M * d * P];
        let mut sse = self.assign::<M, false>(c, masks);
        let mut prev_sse = f64::INFINITY;
        for _ in 0..iters {
            let total: f64 = sse.iter().sum();
            if masks == &prev[..]
                || (prev_sse.is_finite() && prev_sse - total <= LOCAL_TOL * prev_sse)
            {
                break;
            }
            prev_sse = total;
            let mut counts = [0u32; M];
            for mq in masks.iter() {
                for j in 0..M {
                    counts[j] += mq[j].count_ones();
                }
            }
            sum_lanes::<M>(self.isa, &self.data, masks, &mut lanes);
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
            prev.clear();
            prev.extend_from_slice(masks);
            sse = self.assign::<M, false>(c, masks);
        }
        sse
    }
}

/// The lanes of a panel holding real rows when `left` rows remain from its first one.
#[inline(always)]
fn valid_lanes(left: usize) -> u16 {
    if left >= P {
        u16::MAX
    } else {
        (1u16 << left) - 1
    }
}

/// max(v, 0) as the x86 max instructions compute it: v when v > 0, else 0 (NaN → 0).
#[inline(always)]
fn clamp0(v: f32) -> f32 {
    if v > 0.0 {
        v
    } else {
        0.0
    }
}

/// The assignment of every panel of `data` (the first `n` lanes real): per lane, scores
/// s_j = ‖c_j‖² − 2·acc_j ([`dots`]), the label the least s_j (the lowest j on ties; with
/// `FIXED` the one in `masks`), and `lanes[j][l] += clamp0(‖x‖² + s_j)` as f64 for the
/// lanes of label j, panel after panel. Same operations per lane on every ISA.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn assign_panels<const M: usize, const FIXED: bool>(
    isa: Isa,
    data: &[f32],
    norms: &[f32],
    n: usize,
    ct: &[[f32; M]],
    cn: &[f32; M],
    masks: &mut [Masks<M>],
    lanes: &mut [[f64; P]; M],
) {
    let d = ct.len();
    assert!(data.len() == masks.len() * d * P && norms.len() == masks.len() * P);
    assert!(n <= masks.len() * P && n + P > masks.len() * P);
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `active` returns Avx512 only when the CPU has AVX-512F; lengths asserted.
        Isa::Avx512 => unsafe {
            x86::assign_panels_avx512::<M, FIXED>(data, norms, n, ct, cn, masks, lanes)
        },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above, for AVX2.
        Isa::Avx2 => unsafe {
            x86::assign_panels_avx2::<M, FIXED>(data, norms, n, ct, cn, masks, lanes)
        },
        _ => {
            for (q, (panel, mq)) in data.chunks_exact(d * P).zip(masks.iter_mut()).enumerate() {
                let mut acc = [[0f32; P]; M];
                dots(Isa::Scalar, panel, ct, &mut acc);
                let valid = valid_lanes(n - q * P);
                let nq = &norms[q * P..(q + 1) * P];
                let mut out = [0u16; M];
                for l in (0..P).filter(|l| valid >> l & 1 == 1) {
                    let score = |j: usize| cn[j] - 2.0 * acc[j][l];
                    let (j, s) = if FIXED {
                        match (0..M).find(|&j| mq[j] >> l & 1 == 1) {
                            Some(j) => (j, score(j)),
                            None => continue,
                        }
                    } else {
                        let mut best = (0, score(0));
                        for j in 1..M {
                            if score(j) < best.1 {
                                best = (j, score(j));
                            }
                        }
                        best
                    };
                    out[j] |= 1 << l;
                    lanes[j][l] += clamp0(nq[l] + s) as f64;
                }
                if !FIXED {
                    *mq = out;
                }
            }
        }
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

/// `lanes[(j·d + p)·P + l] = Σ_{q: bit l of masks[q][j]} data[(q·d + p)·P + l]`, the panels
/// q added in order into a zeroed lane (every ISA makes the same additions). Panel by panel,
/// so the M·d·P sums stay in L1 while each panel is read once, in order (running over the
/// panels for one p at a time read them d·P floats apart, a stride that maps every load to
/// one L1 set).
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
                            if mq[j] >> l & 1 == 1 {
                                o[l] += xs[l];
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86;

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
        let mut pan = Panels::new(xv, false);
        // A first, larger packing must leave nothing behind in the reused buffers.
        pan.pack((0..n).collect());
        pan.pack(idx.clone());
        let mut lab = pan.masks::<3>(|_| 0);
        let sse = pan.assign::<3, false>(&c, &mut lab);
        let dist = |i: usize, j: usize| -> f64 {
            (0..d)
                .map(|p| ((x[i * d + p] - c[j * d + p]) as f64).powi(2))
                .sum()
        };
        let mut want = [0f64; 3];
        for (t, &i) in idx.iter().enumerate() {
            let best = (0..3)
                .min_by(|&a, &b| dist(i, a).total_cmp(&dist(i, b)))
                .unwrap();
            assert_eq!(label_of(&lab, t), best, "row {i}");
            want[best] += dist(i, best);
        }
        for j in 0..3 {
            assert!(
                (sse[j] - want[j]).abs() <= 1e-4 * want[j],
                "{sse:?} vs {want:?}"
            );
        }
        // Every real row in exactly one mask, padding lanes in none.
        let held: u32 = lab.iter().flatten().map(|m| m.count_ones()).sum();
        assert_eq!(held as usize, idx.len());
        // Fixed labels: the SSE of the rows to the centroids they are given.
        let given = |i: usize| (i * 7 + 1) % 3;
        let mut fixed = pan.masks::<3>(given);
        let kept = fixed.clone();
        let sse = pan.assign::<3, true>(&c, &mut fixed);
        assert_eq!(fixed, kept);
        let mut want = [0f64; 3];
        for &i in &idx {
            want[given(i)] += dist(i, given(i));
        }
        for j in 0..3 {
            assert!(
                (sse[j] - want[j]).abs() <= 1e-4 * want[j],
                "{sse:?} vs {want:?}"
            );
        }
    }

    /// The dispatched kernels give the scalar code's bits on every ISA the CPU has.
    #[test]
    fn kernels_match_the_scalar_bits_on_every_isa() {
        let mut r = uniform(11, 8.0);
        let (q, d) = (5, 23);
        let data: Vec<f32> = (0..q * d * P).map(|_| r()).collect();
        // Centroids 1 and 2 are equal (ties go to 1).
        let mut ct: Vec<[f32; 3]> = (0..d).map(|_| [r(), r(), r()]).collect();
        ct.iter_mut().for_each(|t| t[2] = t[1]);
        let norms: Vec<f32> = (0..q * P).map(|_| r().abs() * 100.0).collect();
        let (c0, c1) = (r().abs() * 50.0, r().abs() * 50.0);
        let cn = [c0, c1, c1];
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
        let n = q * P - 5;
        let assigned = |isa: Isa, fixed: bool| {
            let mut m = masks.clone();
            let mut lanes = [[0.5f64; P]; 3];
            if fixed {
                assign_panels::<3, true>(isa, &data, &norms, n, &ct, &cn, &mut m, &mut lanes);
            } else {
                assign_panels::<3, false>(isa, &data, &norms, n, &ct, &cn, &mut m, &mut lanes);
            }
            let bits: Vec<u64> = lanes.iter().flatten().map(|v| v.to_bits()).collect();
            (m, bits)
        };
        let want_fixed = assigned(Isa::Scalar, true);
        let want_free = assigned(Isa::Scalar, false);
        assert_eq!(want_fixed.0, masks);
        assert_ne!(want_free.0, masks);
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
            assert_eq!(assigned(isa, true), want_fixed, "{isa:?} fixed");
            assert_eq!(assigned(isa, false), want_free, "{isa:?}");
        }
    }
}
