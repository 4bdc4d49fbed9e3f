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
//! horizontal sums; `kmeans::panel_lloyd`). What it buys and costs on the benchmark sets:
//! [`KMeansParams::split_merge_moves`].
//!
//! Everything here is sequential in row order and uses portable f32/f64 code without fused
//! multiply-adds, or kernels that make the same operations per lane on every ISA
//! (`kmeans::panel_lloyd`), so the refinement returns the same bits at any thread count and
//! on any CPU. Scores inside a relaxation are ‖c‖² − 2·x·c, the kernel's form.

use super::fit::assigner;
use super::lloyd::{run, RunResult};
use super::panel_lloyd::{label_of, normalise, Panels};
use super::update::inv_norm;
use super::{IterStats, KMeansParams, Monitor};
use crate::cluster::Algorithm;
use crate::data::MatrixView;
use crate::error::{Error, Result};
use crate::metric::Metric;
use crate::simd;

/// Local Lloyd iterations of a relaxation at most.
const LOCAL_ITERS: usize = 10;
/// Local Lloyd iterations of the 2-means split at most.
const SPLIT_ITERS: usize = 5;

/// The index in `idx` of the row farthest from `from` (the first on ties).
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
fn try_move<'a>(x: MatrixView<'a>, st: &mut State, pan: &mut Panels<'a>, k: usize) -> bool {
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
    pan.pack(rows_s.clone());
    let mut split_masks = pan.masks::<2>(|_| 0);
    pan.lloyd::<2>(&mut halves, &mut split_masks, SPLIT_ITERS);
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
    pan.pack(rows);
    let mut lab = pan.masks::<3>(|i| {
        [a, b, s]
            .iter()
            .position(|&j| j == st.labels[i] as usize)
            .unwrap_or(0)
    });
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
    for (t, &i) in pan.idx.iter().enumerate() {
        st.labels[i] = slots[label_of(&lab, t)] as u32;
    }
    true
}

/// Up to `max_moves` split–merge moves on `st`; returns how many were kept.
fn moves(
    x: MatrixView<'_>,
    st: &mut State,
    k: usize,
    max_moves: usize,
    mon: &dyn Monitor,
) -> Result<usize> {
    let mut kept = 0;
    // One set of panels for the split's rows, then the relaxation's.
    let mut pan = Panels::new(x, st.unit);
    while kept < max_moves {
        if mon.cancelled() {
            return Err(Error::Interrupted);
        }
        if !try_move(x, st, &mut pan, k) {
            break;
        }
        kept += 1;
    }
    Ok(kept)
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
}
