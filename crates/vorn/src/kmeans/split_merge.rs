//! Split–merge refinement of a converged run (l2, and cosine on the unit rows).
//!
//! Lloyd stops in the local minimum its seeding leads to. At small k the minima differ by
//! whole natural groups: two centres share one group while one centre straddles two, and
//! no single-row move repairs that. A split–merge move (after Kaukoranta, Fränti &
//! Nevalainen, *Iterative split-and-merge algorithm for VQ codebook generation*, Optical
//! Engineering 37(10), 1998) moves one centre across the data at once:
//!
//! * split the cluster s with the largest SSE_s = Σ_{i: l_i = s} ‖x_i − c_s‖²;
//! * merge the pair (a, b), a, b ≠ s, whose merge costs least,
//!   Δ_ab = n_a·n_b/(n_a + n_b)·‖c_a − c_b‖² (the SSE increase of replacing both by
//!   their weighted mean);
//! * relax locally: Lloyd with three centres (the merged mean and the two halves of s,
//!   from 2-means on s seeded with its row farthest from c_s and the row farthest from
//!   that one) over the rows of a ∪ b ∪ s only, the other centres held fixed;
//! * keep the move when the relaxed SSE of those rows is below SSE_a + SSE_b + SSE_s: no
//!   other row changed, so the partition's SSE fell.
//!
//! Moves repeat on the updated partition until one is not kept or `max_moves` were made;
//! then, if any was kept, Lloyd runs on all training rows from the moved centres (its first
//! assignment can only lower the partition's SSE), and the result replaces the run when its
//! objective is lower. A local Lloyd makes at most 10 iterations (5 for the split) and
//! stops earlier when no label moves or an iteration lowers its SSE by at most 10⁻⁴ of it
//! (the runs' default `tol`). Measured and not kept (digits, seeds 0–99, mean MSE): giving
//! up on a relaxation still above the clusters' SSE after 3 iterations saved ~0.2 ms per
//! fit but kept fewer moves (k = 5: 837.88 → 838.42); a local `tol` of 10⁻³ saved nothing
//! measurable (k = 20: 524.32 → 524.71); cutting each local pass in two halves run side by
//! side made 2-thread fits slower (thread wake-ups). A move costs O(n) bookkeeping, the
//! split and the relaxation: local iterations over the rows of one or three clusters with
//! two or three centres, on the rows packed transposed ([`Panels`]: 16 rows per vector, no
//! horizontal sums). What it buys and costs on the benchmark sets:
//! [`KMeansParams::split_merge_moves`].
//!
//! Everything here is sequential in row order and uses portable f32/f64 code without fused
//! multiply-adds (compiled for AVX-512 or AVX2 where present: wider vectors, the same
//! operations per lane), so the refinement returns the same bits at any thread count and on
//! any CPU. Scores inside a relaxation are ‖c‖² − 2·x·c, the kernel's form.

use super::fit::assigner;
use super::lloyd::{run, RunResult};
use super::update::inv_norm;
use super::{IterStats, KMeansParams, Monitor};
use crate::cluster::Algorithm;
use crate::data::MatrixView;
use crate::error::{Error, Result};
use crate::metric::Metric;
use crate::simd::{self, Isa};

/// Local Lloyd iterations of a relaxation at most.
const LOCAL_ITERS: usize = 10;
/// Local Lloyd iterations of the 2-means split at most.
const SPLIT_ITERS: usize = 5;
/// A local Lloyd stops once an iteration lowers its SSE by at most this share of it (the
/// default `tol` of the runs).
const LOCAL_TOL: f64 = 1e-4;
/// Rows per panel (the lanes of one f32 vector on AVX-512).
const P: usize = 16;

/// Rows `idx` of `x` packed transposed: panel q holds element p of its rows at
/// `data[(q·d + p)·P + lane]` (rows past the end zero), and `norms` their squared norms.
struct Panels<'a> {
    isa: Isa,
    /// Spherical: every centre is rescaled to unit norm after its update.
    unit: bool,
    x: MatrixView<'a>,
    idx: Vec<usize>,
    data: Vec<f32>,
    norms: Vec<f32>,
}

impl<'a> Panels<'a> {
    #[inline(always)]
    fn new(x: MatrixView<'a>, idx: Vec<usize>, unit: bool) -> Self {
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
    fn assign<const M: usize, const FIXED: bool>(
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
    fn lloyd<const M: usize>(&self, c: &mut [f32], labels: &mut [usize], iters: usize) -> [f64; M] {
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
fn normalise(v: &mut [f32]) {
    let n2: f64 = v.iter().map(|&u| u as f64 * u as f64).sum();
    if n2 > 0.0 {
        let inv = 1.0 / n2.sqrt();
        v.iter_mut().for_each(|u| *u = (*u as f64 * inv) as f32);
    }
}

/// The index in `idx` of the row farthest from `from` (the first on ties).
#[inline(always)]
fn farthest(x: MatrixView<'_>, idx: &[usize], from: &[f32]) -> usize {
    let mut best = (0, -1.0f64);
    for (t, &i) in idx.iter().enumerate() {
        let s = simd::vector::sqdist(simd::active(), x.row(i), from);
        if s > best.1 {
            best = (t, s);
        }
    }
    best.0
}

/// A partition of the training rows being refined: centroids (k × d), labels, and each
/// cluster's SSE (which only picks the cluster to split).
struct State {
    c: Vec<f32>,
    labels: Vec<u32>,
    sse: Vec<f64>,
    /// Spherical k-means (rows and centres of unit norm).
    unit: bool,
}

impl State {
    fn new(x: MatrixView<'_>, c: Vec<f32>, labels: Vec<u32>, unit: bool) -> Self {
        let d = x.d();
        let mut sse = vec![0f64; c.len() / d];
        for (i, &l) in labels.iter().enumerate() {
            let j = l as usize;
            sse[j] += simd::vector::sqdist(simd::active(), x.row(i), &c[j * d..(j + 1) * d]);
        }
        State {
            c,
            labels,
            sse,
            unit,
        }
    }
}

/// One split–merge move on `st`: applied (true) when the local relaxation lowers the SSE of
/// the three clusters it touches; false (and `st` unchanged) otherwise, or when k < 3 or no
/// cluster holds two distinct rows.
#[inline(always)]
fn try_move(x: MatrixView<'_>, st: &mut State, k: usize) -> bool {
    if k < 3 {
        return false;
    }
    let d = x.d();
    let mut n = vec![0usize; k];
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, &l) in st.labels.iter().enumerate() {
        n[l as usize] += 1;
        members[l as usize].push(i);
    }
    let sse = &st.sse;
    let centre = |j: usize| &st.c[j * d..(j + 1) * d];
    // The cluster to split: the largest SSE (the lowest index on ties).
    let mut s = usize::MAX;
    for j in 0..k {
        if n[j] >= 2 && sse[j] > 0.0 && (s == usize::MAX || sse[j] > sse[s]) {
            s = j;
        }
    }
    if s == usize::MAX {
        return false;
    }
    // The pair to merge: the lowest cost, the first pair in (a, b) order on ties.
    let mut pair = (usize::MAX, usize::MAX, f64::INFINITY);
    for a in (0..k).filter(|&a| a != s) {
        for b in (a + 1..k).filter(|&b| b != s) {
            let tot = n[a] + n[b];
            let cost = if tot == 0 {
                0.0
            } else {
                let g: f32 = centre(a)
                    .iter()
                    .zip(centre(b))
                    .map(|(&u, &v)| (u - v) * (u - v))
                    .sum();
                (n[a] as f64 * n[b] as f64 / tot as f64) * g as f64
            };
            if cost < pair.2 {
                pair = (a, b, cost);
            }
        }
    }
    let (a, b, _) = pair;
    // Split s: 2-means from its farthest row and the row farthest from that one.
    let rows_s = &members[s];
    let f1 = rows_s[farthest(x, rows_s, centre(s))];
    let f2 = rows_s[farthest(x, rows_s, x.row(f1))];
    if f1 == f2 || x.row(f1) == x.row(f2) {
        return false;
    }
    let mut halves = [x.row(f1), x.row(f2)].concat();
    let split = Panels::new(x, rows_s.clone(), st.unit);
    split.lloyd::<2>(&mut halves, &mut vec![0; rows_s.len()], SPLIT_ITERS);
    // Merge a and b into their weighted mean.
    let (na, nb) = (n[a] as f64, n[b] as f64);
    let mut merged: Vec<f32> = if n[a] + n[b] == 0 {
        centre(a).to_vec()
    } else {
        centre(a)
            .iter()
            .zip(centre(b))
            .map(|(&u, &v)| ((na * u as f64 + nb * v as f64) / (na + nb)) as f32)
            .collect()
    };
    if st.unit {
        normalise(&mut merged);
    }
    // Relax the three centres over the rows of a ∪ b ∪ s (in row order).
    let mut rows: Vec<usize> = [a, b, s]
        .iter()
        .flat_map(|&j| members[j].iter().copied())
        .collect();
    rows.sort_unstable();
    let pan = Panels::new(x, rows, st.unit);
    let mut lab: Vec<usize> = pan
        .idx
        .iter()
        .map(|&i| {
            [a, b, s]
                .iter()
                .position(|&j| j == st.labels[i] as usize)
                .unwrap_or(0)
        })
        .collect();
    let old = [centre(a), centre(b), centre(s)].concat();
    let before: f64 = pan.assign::<3, true>(&old, &mut lab).iter().sum();
    let mut three = [&merged[..], &halves[..]].concat();
    let after = pan.lloyd::<3>(&mut three, &mut lab, LOCAL_ITERS);
    let relaxed: f64 = after.iter().sum();
    if relaxed.is_nan() || relaxed >= before * (1.0 - 1e-9) {
        return false;
    }
    let slots = [a, b, s];
    for (slot, &j) in slots.iter().enumerate() {
        st.c[j * d..(j + 1) * d].copy_from_slice(&three[slot * d..(slot + 1) * d]);
        st.sse[j] = after[slot];
    }
    for (&i, &l) in pan.idx.iter().zip(&lab) {
        st.labels[i] = slots[l] as u32;
    }
    true
}

/// Up to `max_moves` moves on `st`; returns how many were kept.
#[inline(always)]
fn moves_body(
    x: MatrixView<'_>,
    st: &mut State,
    k: usize,
    max_moves: usize,
    mon: &dyn Monitor,
) -> Result<usize> {
    let mut kept = 0;
    while kept < max_moves {
        if mon.cancelled() {
            return Err(Error::Interrupted);
        }
        if !try_move(x, st, k) {
            break;
        }
        kept += 1;
    }
    Ok(kept)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn moves_avx512(
    x: MatrixView<'_>,
    st: &mut State,
    k: usize,
    m: usize,
    mon: &dyn Monitor,
) -> Result<usize> {
    moves_body(x, st, k, m, mon)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn moves_avx2(
    x: MatrixView<'_>,
    st: &mut State,
    k: usize,
    m: usize,
    mon: &dyn Monitor,
) -> Result<usize> {
    moves_body(x, st, k, m, mon)
}

/// Up to `max_moves` split–merge moves on `st`, compiled for the widest ISA present (the
/// same bits: portable arithmetic without fused multiply-adds). Returns the moves kept.
fn moves(
    x: MatrixView<'_>,
    st: &mut State,
    k: usize,
    max_moves: usize,
    mon: &dyn Monitor,
) -> Result<usize> {
    match simd::active() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `active` returns these ISAs only when the CPU has them.
        Isa::Avx512 => unsafe { moves_avx512(x, st, k, max_moves, mon) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Isa::Avx2 => unsafe { moves_avx2(x, st, k, max_moves, mon) },
        _ => moves_body(x, st, k, max_moves, mon),
    }
}

/// Refines `best` (a run on the training rows `x`) by at most `max_moves` split–merge
/// moves and one Lloyd run (numbered `run_id` in `stats`, which receives its iterations)
/// from the moved centres; returns the better of the two runs (the rerun's `n_iter` and
/// stop reason are then the model's: it is the winning run).
#[allow(clippy::too_many_arguments)]
pub(super) fn refine(
    x: MatrixView<'_>,
    norms: &[f32],
    p: &KMeansParams,
    algorithm: Algorithm,
    best: RunResult,
    max_moves: usize,
    run_id: usize,
    stats: &mut Vec<IterStats>,
    mon: &dyn Monitor,
) -> Result<RunResult> {
    if p.k < 3 {
        return Ok(best);
    }
    // Spherical k-means: the moves work on the unit rows, where ‖x̂ − c‖² = 2 − 2·cos(x, c)
    // for unit c, the objective the runs report.
    let unit = p.metric == Metric::Cosine;
    let scaled: Option<Vec<f32>> = unit.then(|| {
        let mut v = x.as_slice().to_vec();
        for (i, row) in v.chunks_exact_mut(x.d()).enumerate() {
            let s = inv_norm(p.metric, norms, i);
            row.iter_mut().for_each(|u| *u = (*u as f64 * s) as f32);
        }
        v
    });
    let xm = match &scaled {
        Some(v) => MatrixView::new(v, x.n(), x.d())?,
        None => x,
    };
    let mut st = State::new(xm, best.centroids.clone(), best.labels.clone(), unit);
    let kept = moves(xm, &mut st, p.k, max_moves, mon)?;
    drop(scaled);
    if kept == 0 {
        return Ok(best);
    }
    let next = run(
        x,
        norms,
        p,
        st.c,
        assigner(algorithm, p).as_mut(),
        run_id,
        mon,
    )?;
    stats.extend(next.stats.iter().cloned());
    if next.objective.is_nan() || next.objective >= best.objective {
        return Ok(best);
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kmeans::Silent;

    /// Four tight groups on a line, 25 rows each.
    fn line() -> Vec<f32> {
        let mut x = Vec::new();
        for g in [0.0f32, 10.0, 20.0, 30.0] {
            for t in 0..25 {
                x.extend_from_slice(&[g + (t as f32 - 12.0) * 0.01, (t % 5) as f32 * 0.01]);
            }
        }
        x
    }

    /// Two centres sharing group 0 and one between groups 2 and 3: one move repairs it.
    #[test]
    fn repairs_a_shared_and_a_straddling_centre() {
        let x = line();
        let xv = MatrixView::new(&x, 100, 2).unwrap();
        let labels = (0..100)
            .map(|i| match i / 25 {
                0 => (i % 2) as u32,
                1 => 2,
                _ => 3,
            })
            .collect();
        let c = vec![-0.05, 0.02, 0.05, 0.02, 10.0, 0.02, 25.0, 0.02];
        let mut st = State::new(xv, c, labels, false);
        assert_eq!(moves(xv, &mut st, 4, 10, &Silent).unwrap(), 1);
        for g in [0.0f32, 10.0, 20.0, 30.0] {
            assert!(
                st.c.chunks(2).any(|cj| (cj[0] - g).abs() < 0.2),
                "no centre near {g}: {:?}",
                st.c
            );
        }
        // The labels are the groups.
        let want: Vec<u32> = (0..100).map(|i| (i / 25) as u32).collect();
        let mut relabel = [u32::MAX; 4];
        for (&l, &w) in st.labels.iter().zip(&want) {
            assert!(relabel[w as usize] == u32::MAX || relabel[w as usize] == l);
            relabel[w as usize] = l;
        }
    }

    #[test]
    fn no_move_at_the_optimum_or_below_three_centres() {
        let x = line();
        let xv = MatrixView::new(&x, 100, 2).unwrap();
        let labels: Vec<u32> = (0..100).map(|i| (i / 25) as u32).collect();
        let mut c = vec![0f32; 8];
        for (i, &l) in labels.iter().enumerate() {
            c[l as usize * 2] += x[i * 2] / 25.0;
            c[l as usize * 2 + 1] += x[i * 2 + 1] / 25.0;
        }
        let mut st = State::new(xv, c.clone(), labels.clone(), false);
        assert_eq!(moves(xv, &mut st, 4, 10, &Silent).unwrap(), 0);
        assert_eq!(st.c, c);
        let two_labels = labels.iter().map(|&l| l / 2).collect();
        let mut two = State::new(xv, vec![5.0, 0.0, 25.0, 0.0], two_labels, false);
        assert_eq!(moves(xv, &mut two, 2, 10, &Silent).unwrap(), 0);
    }

    /// The panel kernel's labels and SSE against a direct computation.
    #[test]
    fn panel_assignment_matches_direct_distances() {
        let mut s = 7u64;
        let mut r = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        };
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
        let mut s = 11u64;
        let mut r = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 20) as f32) - 8.0
        };
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
