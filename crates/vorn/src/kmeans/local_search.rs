//! Local search after k-means++ seeding (swap steps), after Lattanzi & Sohler, "A better
//! k-means++ algorithm via local search" (ICML 2019), with the greedy multi-candidate draw of
//! scikit-learn's k-means++.
//!
//! State: for every seeding row i the nearest centre l₁(i) at squared distance d₁(i) and the
//! second nearest l₂(i), d₂(i) (d₂ = +∞ when k = 1); the cost is Φ = Σᵢ d₁(i).
//! One step draws T candidate rows with probability d₁(i)/Φ and, for every candidate y and
//! every centre j, evaluates exactly the cost of replacing centre j by y:
//!
//! ```text
//!   Φ(j → y) = Σᵢ min(‖xᵢ − y‖², d₁(i))                          (y joins, nobody leaves)
//!            + Σ_{i : l₁(i) = j} [min(‖xᵢ − y‖², d₂(i)) − min(‖xᵢ − y‖², d₁(i))]
//! ```
//!
//! (the rows of cluster j fall back to their second centre unless y is nearer). All T·k
//! swaps cost the T distances of every row (the assignment kernel) plus O(n·T) additions;
//! the candidates of up to min(k/16, 48/T) consecutive steps are drawn together and share
//! one kernel pass, because that pass is bound by streaming the rows from memory. The best swap is applied when it lowers Φ by more than a
//! relative 1e-6; then rows whose l₁ or l₂ was j get their two nearest centres recomputed
//! (≈ 2n/k rows), the others only compare with y. Where n·k distances fit 16 MiB, all of
//! them are kept and a swap overwrites column j with y's (already computed for the draw),
//! so the recomputation is a rescan of those rows' k distances rather than a kernel call. A step therefore costs O(n·d·T) instead
//! of the O(n·k·d) of re-running k-means++, and a run of `steps` swaps O(steps·n·d·T).
//!
//! Why: Lloyd iterations only move centres locally, so a seeding that put two centres in one
//! well-separated group and one centre across two groups stays that way. A swap moves a
//! centre across the space. Measured on the benchmark's blobs (20k × 128, 256 centres of
//! varied spread, seeds 0–2): k swap steps before 25 Lloyd iterations brought the MSE from
//! 87.8–90.4 to 86.7–87.2.
//!
//! Determinism: every sum is over fixed row chunks combined in chunk order, the draws come
//! from the run's generator, and ties go to the first candidate and the lowest centre id, so
//! the result does not depend on the thread count.

use super::init::{draw, row_as_centroid, score_to_dist};
use super::reduce::{chunk_sums, CHUNK};
use super::scorer::Scorer;
use super::Monitor;
use crate::data::MatrixView;
use crate::error::{Error, Result};
use crate::linalg::{distances, PackedCentroids};
use crate::metric::Metric;
use crate::rng::Rng;
use crate::scratch::Buf;
use crate::simd::{LANES, MAX_NP};
use rayon::prelude::*;

/// The two nearest centres of one row.
#[derive(Clone, Copy, Debug)]
pub(super) struct Near {
    l1: u32,
    l2: u32,
    d1: f32,
    d2: f32,
}

impl Near {
    /// Offers centre `j` at distance `v`: it becomes the first or the second when strictly
    /// nearer (a tie keeps the centres already there).
    #[inline]
    fn insert(&mut self, j: u32, v: f32) {
        if v < self.d1 {
            self.l2 = self.l1;
            self.d2 = self.d1;
            self.l1 = j;
            self.d1 = v;
        } else if v < self.d2 {
            self.l2 = j;
            self.d2 = v;
        }
    }
}

/// Distances kept for every (row, centre) pair during a local search when n·k is at most
/// this many (16 MiB of f32) and the seeding kernel gives the assignment kernel's bits
/// ([`Scorer::assignment_bits`]): a swap then overwrites one column with the candidate's
/// distances it already has and rescans the rows that lost a centre, instead of
/// recomputing them with the kernel; the same bits either way.
const DENSE_PAIRS: usize = 1 << 22;

/// Distance-matrix scratch per slab when recomputing nearest pairs (bytes).
const SLAB_BYTES: usize = 4 << 20;

/// The two nearest of a row's distances `row` to the k centres (ties to the lowest id).
#[inline]
fn nearest_of(row: &[f32]) -> Near {
    let mut e = Near {
        l1: 0,
        l2: 0,
        d1: f32::INFINITY,
        d2: f32::INFINITY,
    };
    for (j, &v) in row.iter().enumerate() {
        e.insert(j as u32, v);
    }
    if row.len() == 1 {
        e.l2 = 0;
    }
    e
}

/// Squared distances (under `metric`) of the rows of `x` to the centres `pc`, row-major
/// into `out` (n × k).
fn distances_to(
    x: MatrixView<'_>,
    norms: &[f32],
    metric: Metric,
    pc: &PackedCentroids,
    out: &mut [f32],
    mon: &dyn Monitor,
) -> Result<()> {
    let cancel = || mon.cancelled();
    distances(
        x,
        pc,
        out,
        &|r, s| score_to_dist(metric, norms[r], s),
        &cancel,
    )
}

/// Two nearest centres of every row of `x` (squared distances under `metric`; ties to the
/// lowest id). Works in row slabs so the n × k distance block never exceeds [`SLAB_BYTES`].
fn nearest_two(
    x: MatrixView<'_>,
    norms: &[f32],
    metric: Metric,
    pc: &PackedCentroids,
    mon: &dyn Monitor,
) -> Result<Vec<Near>> {
    let (n, d, k) = (x.n(), x.d(), pc.k());
    let slab = (SLAB_BYTES / (4 * k)).max(64);
    let mut out = Vec::with_capacity(n);
    let mut buf = vec![0f32; slab.min(n) * k];
    for r0 in (0..n).step_by(slab) {
        let r1 = (r0 + slab).min(n);
        let v = MatrixView::new(&x.as_slice()[r0 * d..r1 * d], r1 - r0, d)?;
        let b = &mut buf[..(r1 - r0) * k];
        distances_to(v, &norms[r0..r1], metric, pc, b, mon)?;
        out.par_extend(b.par_chunks(k).map(nearest_of));
    }
    Ok(out)
}

/// Runs up to `steps` swap steps with `trials` candidates each on the seeding rows of
/// `scorer`, improving the row-major `k × d` centres `c` in place. Returns the number of
/// swaps applied and the final nearest pairs (empty when nothing was searched).
#[allow(clippy::too_many_arguments)]
pub(super) fn local_search(
    scorer: &Scorer<'_>,
    k: usize,
    trials: usize,
    steps: usize,
    rng: &mut Rng,
    mon: &dyn Monitor,
    tick: &mut dyn FnMut(usize),
    c: &mut [f32],
) -> Result<(usize, Vec<Near>)> {
    search(scorer, k, trials, steps, rng, mon, tick, c, DENSE_PAIRS)
}

/// [`local_search`], keeping every (row, centre) distance when n·k ≤ `dense_pairs`.
#[allow(clippy::too_many_arguments)]
fn search(
    scorer: &Scorer<'_>,
    k: usize,
    trials: usize,
    steps: usize,
    rng: &mut Rng,
    mon: &dyn Monitor,
    tick: &mut dyn FnMut(usize),
    c: &mut [f32],
    dense_pairs: usize,
) -> Result<(usize, Vec<Near>)> {
    if steps == 0 || scorer.x.n() <= k {
        return Ok((0, Vec::new()));
    }
    let (x, norms, metric) = (scorer.x, scorer.norms, scorer.metric);
    let (n, d) = (x.n(), x.d());
    // The centres in panel layout, kept up to date swap by swap (one centre repacked).
    let mut pc = PackedCentroids::new_exact(c, k, d, metric);
    // Every (row, centre) distance when they fit DENSE_PAIRS, else the nearest pairs only.
    // (A kept buffer, `crate::scratch`: no fresh pages to fault in on the next small fit.)
    let mut dense = (n.saturating_mul(k) <= dense_pairs && scorer.assignment_bits())
        .then(|| Buf::zeroed(n * k));
    let mut near = match dense.as_mut() {
        Some(dm) => {
            distances_to(x, norms, metric, &pc, dm, mon)?;
            dm.par_chunks(k).map(nearest_of).collect()
        }
        None => nearest_two(x, norms, metric, &pc, mon)?,
    };
    // Candidates of several steps share one kernel pass (up to MAX_NP panels): the pass
    // streams all seeding rows from memory whatever the panel count, so batching makes the
    // distance part of a step several times cheaper. They are drawn together from the D² of
    // the batch's start; a candidate made useless by an earlier swap of its batch simply
    // yields no improving swap.
    // With few centres one swap moves a large share of the D² mass, so stale draws would be
    // poor: batches grow with k (k/16 steps, at most what fits the panels; 1 below k = 32).
    let per_pass = ((MAX_NP * LANES) / trials).min(k / 16).max(1);
    let mut swaps = 0;
    let mut done = 0;
    let mut rows = Vec::new();
    while done < steps {
        if mon.cancelled() {
            return Err(Error::Interrupted);
        }
        let g = per_pass.min(steps - done);
        done += g;
        let w = g * trials;
        let mind: Vec<f32> = near.iter().map(|e| e.d1).collect();
        let sums = chunk_sums(n, |r| r.map(|i| mind[i] as f64).sum());
        let phi: f64 = sums.iter().sum();
        if phi.is_nan() || phi <= 0.0 {
            break;
        }
        let mut cand = vec![0f32; w * d];
        for t in 0..w {
            let i = draw(rng, &mind, &sums);
            row_as_centroid(x, norms, metric, i, &mut cand[t * d..(t + 1) * d]);
        }
        let dc = scorer.d2(&cand, w);
        for step in 0..g {
            let cols = step * trials..(step + 1) * trials;
            if let Some((t, j)) = best_swap(&near, &dc, w, cols, k) {
                swaps += 1;
                c[j * d..(j + 1) * d].copy_from_slice(&cand[t * d..(t + 1) * d]);
                match dense.as_mut() {
                    Some(dm) => apply_swap_dense(&mut near, dm, k, &dc, w, t, j),
                    None => {
                        pc.replace(j, &c[j * d..(j + 1) * d], metric);
                        apply_swap(
                            x, norms, metric, &pc, &mut near, &dc, w, t, j, &mut rows, mon,
                        )?;
                    }
                }
            }
        }
        tick(done);
    }
    Ok((swaps, near))
}

/// The best exchange (candidate column t of `dc`, centre j) among the candidates `cols` if it
/// lowers Φ by more than a relative 1e-6. `dc` is row-major n × `w`.
fn best_swap(
    near: &[Near],
    dc: &[f32],
    w: usize,
    cols: std::ops::Range<usize>,
    k: usize,
) -> Option<(usize, usize)> {
    let n = near.len();
    let trials = cols.len();
    // Per chunk, slots: [0, T) = Σ min(dc_t, d₁) per candidate t; T = Φ; then
    // T + 1 + j·T + t = Σ over cluster j of min(dc_t, d₂) − min(dc_t, d₁) (`swap_sums`).
    let base = trials + 1;
    let cand = SwapCands {
        dc,
        w,
        c0: cols.start,
        trials,
    };
    let parts: Vec<Vec<f64>> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|ch| swap_sums(near, &cand, k, ch * CHUNK..((ch + 1) * CHUNK).min(n)))
        .collect();
    let mut total = vec![0f64; base + k * trials];
    for p in &parts {
        for (acc, v) in total.iter_mut().zip(p) {
            *acc += v;
        }
    }
    let phi = total[trials];
    let mut best = (f64::INFINITY, 0usize, 0usize);
    for t in 0..trials {
        for j in 0..k {
            let cost = total[t] + total[base + j * trials + t];
            if cost < best.0 {
                best = (cost, t, j);
            }
        }
    }
    let (cost, t, j) = best;
    (!cost.is_nan() && cost < phi * (1.0 - 1e-6)).then_some((cols.start + t, j))
}

/// The sums of one chunk of rows for [`best_swap`], laid out `[gain₀..gain_T, Φ, clu]` with
/// `clu[j·T + t]` = Σ over the chunk's rows of cluster j of min(dc_t, d₂) − min(dc_t, d₁),
/// each sum in row order. Common candidate counts (T ≤ 12) run with T known at compile time:
/// the T gains stay in registers and a row's T cluster updates are one short vector
/// (the same additions in the same order, hence the same bits as [`swap_sums_any`]). The
/// generic loop kept the gains in memory, a store-to-load chain per row. Seeding phase of
/// `examples/fit_file` (2 threads, three alternating pairs, median of 40 fits): digits
/// 1797 × 64, k = 10: 1.64–1.74 → 1.21–1.43 ms; k = 40: 4.90–4.92 → 4.08–4.67 ms; blobs
/// 200k × 128, k = 1024: the swap sums fell from 4.4% to 2.5% of the perf samples of a
/// seeding plus one iteration. Same fingerprints on digits k = 10/40, 20 Newsgroups k = 80
/// and blobs k = 256.
fn swap_sums(near: &[Near], c: &SwapCands<'_>, k: usize, rows: std::ops::Range<usize>) -> Vec<f64> {
    fn fixed<const T: usize>(
        near: &[Near],
        c: &SwapCands<'_>,
        k: usize,
        rows: std::ops::Range<usize>,
    ) -> Vec<f64> {
        let (dc, w, c0) = (c.dc, c.w, c.c0);
        let mut p = vec![0f64; T + 1 + k * T];
        let (head, clu) = p.split_at_mut(T + 1);
        let mut gain = [0f64; T];
        let mut phi = 0f64;
        for i in rows {
            let e = near[i];
            phi += e.d1 as f64;
            let row: &[f32; T] = dc[i * w + c0..][..T].try_into().unwrap();
            let l1 = e.l1 as usize;
            let cl: &mut [f64; T] = (&mut clu[l1 * T..(l1 + 1) * T]).try_into().unwrap();
            for t in 0..T {
                let m1 = row[t].min(e.d1) as f64;
                let m2 = row[t].min(e.d2) as f64;
                gain[t] += m1;
                cl[t] += m2 - m1;
            }
        }
        head[..T].copy_from_slice(&gain);
        head[T] = phi;
        p
    }
    macro_rules! by_count {
        ($($t:literal)*) => {
            match c.trials {
                $($t => return fixed::<$t>(near, c, k, rows),)*
                _ => {}
            }
        };
    }
    by_count!(1 2 3 4 5 6 7 8 9 10 11 12);
    swap_sums_any(near, c, k, rows)
}

/// The candidate columns `c0..c0 + trials` of the row-major `n × w` distances `dc`.
struct SwapCands<'a> {
    dc: &'a [f32],
    w: usize,
    c0: usize,
    trials: usize,
}

/// [`swap_sums`] for any candidate count: the definition of its sums and their order.
fn swap_sums_any(
    near: &[Near],
    c: &SwapCands<'_>,
    k: usize,
    rows: std::ops::Range<usize>,
) -> Vec<f64> {
    let (dc, w, c0, trials) = (c.dc, c.w, c.c0, c.trials);
    let base = trials + 1;
    let mut p = vec![0f64; base + k * trials];
    for i in rows {
        let e = near[i];
        p[trials] += e.d1 as f64;
        let row = &dc[i * w + c0..i * w + c0 + trials];
        let off = base + e.l1 as usize * trials;
        let (gain, clu) = p.split_at_mut(off);
        for (t, &a) in row.iter().enumerate() {
            let m1 = a.min(e.d1) as f64;
            let m2 = a.min(e.d2) as f64;
            gain[t] += m1;
            clu[t] += m2 - m1;
        }
    }
    p
}

/// [`apply_swap`] with every (row, centre) distance at hand in `dm` (n × k): column j
/// becomes candidate column t of `dc`, rows that lose their first or second centre rescan
/// their row of `dm`, the others only compare with the new centre. One parallel pass, no
/// kernel call: on digits (1797 × 64, k = 5) a swap's update fell from ~40 to a few µs.
/// The candidate's distances are the seeding kernel's, those a recomputation would give
/// where [`Scorer::assignment_bits`] holds, the only place this is used.
fn apply_swap_dense(
    near: &mut [Near],
    dm: &mut [f32],
    k: usize,
    dc: &[f32],
    w: usize,
    t: usize,
    j: usize,
) {
    let ju = j as u32;
    near.par_iter_mut()
        .zip(dm.par_chunks_mut(k))
        .enumerate()
        .for_each(|(i, (e, row))| {
            let a = dc[i * w + t];
            row[j] = a;
            if e.l1 == ju || e.l2 == ju {
                *e = nearest_of(row);
            } else {
                e.insert(ju, a);
            }
        });
}

/// Updates the nearest pairs after centre `j` became candidate column `t` of `dc` (`pc`: the
/// centres after the swap): rows that lose their first or second centre get both recomputed
/// from scratch, the others only compare with the new centre.
#[allow(clippy::too_many_arguments)]
fn apply_swap(
    x: MatrixView<'_>,
    norms: &[f32],
    metric: Metric,
    pc: &PackedCentroids,
    near: &mut [Near],
    dc: &[f32],
    w: usize,
    t: usize,
    j: usize,
    rows: &mut Vec<f32>,
    mon: &dyn Monitor,
) -> Result<()> {
    let (n, d) = (x.n(), x.d());
    let ju = j as u32;
    let hit: Vec<usize> = (0..n)
        .filter(|&i| near[i].l1 == ju || near[i].l2 == ju)
        .collect();
    near.par_iter_mut().enumerate().for_each(|(i, e)| {
        if e.l1 == ju || e.l2 == ju {
            return;
        }
        e.insert(ju, dc[i * w + t]);
    });
    if !hit.is_empty() {
        // The rows that lost a centre are copied into `rows` (kept across swaps, so after the
        // first swaps no new pages are touched) and get both nearest centres recomputed; the
        // kernel gives every (row, centre) pair the same bits wherever the row sits. With few
        // centres (≈ 2n/k rows hit, k ≲ 16) this replaced recomputing every row in place:
        // digits (1797 × 64) k = 10 fits 3.2–3.6 → 2.6–2.9 ms, k = 5 1.2–1.7 → 1.2–1.4 ms
        // (`examples/fit_file … threads=2`, REPEAT=40, alternating; same fingerprints);
        // Fashion-MNIST k = 5 seeding unchanged within noise (10–40 ms either way). A fresh
        // buffer per swap had made this path slower than the in-place one (1.4–3.9 ms per
        // swap at Fashion-MNIST k = 5, from first-touching megabytes of new pages).
        rows.clear();
        for &i in &hit {
            rows.extend_from_slice(x.row(i));
        }
        let hn: Vec<f32> = hit.iter().map(|&i| norms[i]).collect();
        let v = MatrixView::new(rows, hit.len(), d)?;
        for (&i, e) in hit.iter().zip(nearest_two(v, &hn, metric, pc, mon)?) {
            near[i] = e;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{synth, validate};
    use crate::kmeans::init::kmeanspp;
    use crate::kmeans::Silent;

    /// Squared distance of row `x` to centre `c` under `metric`, in f64.
    fn dist(metric: Metric, x: &[f32], c: &[f32]) -> f64 {
        let xn = match metric {
            Metric::L2 => 1.0,
            _ => x.iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt(),
        };
        x.iter()
            .zip(c)
            .map(|(&a, &b)| (a as f64 / xn - b as f64).powi(2))
            .sum()
    }

    fn nearest(metric: Metric, x: &[f32], c: &[f32], d: usize) -> Vec<(usize, f64)> {
        x.chunks(d)
            .map(|r| {
                c.chunks(d).map(|cj| dist(metric, r, cj)).enumerate().fold(
                    (0, f64::INFINITY),
                    |b, (j, v)| if v < b.1 { (j, v) } else { b },
                )
            })
            .collect()
    }

    #[test]
    fn swaps_lower_the_seeding_cost_and_keep_the_nearest_pairs_exact() {
        // k = 40: few rows lose a centre per swap; k = 4: about half of them do.
        for (metric, k) in [
            (Metric::L2, 40),
            (Metric::Cosine, 40),
            (Metric::L2, 4),
            (Metric::Cosine, 4),
        ] {
            let (n, d) = (3000, 8);
            let b = synth::blobs(n, d, 25, 7);
            let x = MatrixView::new(&b.data, n, d).unwrap();
            let norms = validate(x, metric).unwrap();
            let scorer = Scorer::new(x, &norms, metric);
            let mut rng = Rng::new(3);
            let mut c = vec![0f32; k * d];
            kmeanspp(&scorer, k, 5, &mut rng, &Silent, &mut |_| {}, &mut c).unwrap();
            let before: f64 = nearest(metric, &b.data, &c, d).iter().map(|e| e.1).sum();
            let (swaps, near) =
                local_search(&scorer, k, 5, 60, &mut rng, &Silent, &mut |_| {}, &mut c).unwrap();
            let after = nearest(metric, &b.data, &c, d);
            let cost: f64 = after.iter().map(|e| e.1).sum();
            assert!(
                swaps > 0,
                "{metric:?}: no swap on blobs with k > true centres"
            );
            assert!(cost < before, "{metric:?}: {cost} !< {before}");
            // The incrementally maintained state equals a brute-force recomputation.
            for (i, (e, &(l, v))) in near.iter().zip(&after).enumerate() {
                let tol = 1e-3 * (1.0 + v);
                assert!(
                    (e.d1 as f64 - v).abs() <= tol,
                    "row {i}: d1 {} vs {v}",
                    e.d1
                );
                let dl = dist(metric, x.row(i), &c[e.l1 as usize * d..][..d]);
                assert!(
                    e.l1 as usize == l || (dl - v).abs() <= tol,
                    "row {i}: label"
                );
                let second = c
                    .chunks(d)
                    .enumerate()
                    .filter(|&(j, _)| j != e.l1 as usize)
                    .map(|(_, cj)| dist(metric, x.row(i), cj))
                    .fold(f64::INFINITY, f64::min);
                assert!((e.d2 as f64 - second).abs() <= tol, "row {i}: d2");
                assert_ne!(e.l1, e.l2, "row {i}");
            }
        }
    }

    /// Keeping every (row, centre) distance and recomputing the rows that lose a centre
    /// with the kernel give the same centres and nearest pairs, bit for bit (l2 and cosine,
    /// few and many centres; from d = 128 the dense path needs packed rows, without which
    /// the seeding's dots kernel sums in another order and the kernel path serves).
    #[test]
    fn dense_distances_and_kernel_recomputation_agree_bit_for_bit() {
        for (metric, k, d) in [
            (Metric::L2, 5, 8),
            (Metric::Cosine, 5, 8),
            (Metric::L2, 40, 8),
            (Metric::L2, 6, 130),
            (Metric::Cosine, 12, 130),
        ] {
            let n = 2000;
            let b = synth::blobs(n, d, 25, 11);
            let x = MatrixView::new(&b.data, n, d).unwrap();
            let norms = validate(x, metric).unwrap();
            let scorer = Scorer::new(x, &norms, metric);
            // From d = 128, rows packed as panels (a long seeding's scorer).
            let scorer = if d >= 128 {
                scorer.for_seeding(crate::kmeans::scorer::ROWS_MIN_STEPS, 3)
            } else {
                scorer
            };
            assert!(
                scorer.assignment_bits(),
                "the dense path must be the one tested"
            );
            let mut seed = vec![0f32; k * d];
            kmeanspp(
                &scorer,
                k,
                3,
                &mut Rng::new(5),
                &Silent,
                &mut |_| {},
                &mut seed,
            )
            .unwrap();
            let run = |dense_pairs: usize| {
                let mut c = seed.clone();
                let mut rng = Rng::new(9);
                let (swaps, near) = search(
                    &scorer,
                    k,
                    3,
                    30,
                    &mut rng,
                    &Silent,
                    &mut |_| {},
                    &mut c,
                    dense_pairs,
                )
                .unwrap();
                let bits: Vec<(u32, u32, u32, u32)> = near
                    .iter()
                    .map(|e| (e.l1, e.l2, e.d1.to_bits(), e.d2.to_bits()))
                    .collect();
                let cb: Vec<u32> = c.iter().map(|v| v.to_bits()).collect();
                (swaps, cb, bits)
            };
            let dense = run(usize::MAX);
            assert!(dense.0 > 0, "{metric:?} k={k} d={d}: no swap");
            assert_eq!(dense, run(0), "{metric:?} k={k} d={d}");
        }
    }

    #[test]
    fn swap_sums_have_the_bits_of_the_generic_loop_for_every_candidate_count() {
        let (n, k) = (300, 7);
        let mut r = Rng::new(11);
        let near: Vec<Near> = (0..n)
            .map(|_| {
                let (a, b) = (r.next_f64() as f32, r.next_f64() as f32);
                let l1 = r.below(k as u64) as u32;
                Near {
                    l1,
                    l2: (l1 + 1) % k as u32,
                    d1: a.min(b),
                    d2: a.max(b),
                }
            })
            .collect();
        for trials in 1..=13 {
            // Two candidate groups side by side (w = 2·trials); the second one is summed.
            let w = 2 * trials;
            let dc: Vec<f32> = (0..n * w).map(|_| 1.2 * r.next_f64() as f32).collect();
            for rows in [0..n, 17..233] {
                let c = SwapCands {
                    dc: &dc,
                    w,
                    c0: trials,
                    trials,
                };
                let got = swap_sums(&near, &c, k, rows.clone());
                let want = swap_sums_any(&near, &c, k, rows);
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "trials {trials}");
            }
        }
    }

    #[test]
    fn nothing_to_do_when_every_row_can_be_a_centre() {
        let (n, d) = (12, 3);
        let b = synth::blobs(n, d, 2, 1);
        let x = MatrixView::new(&b.data, n, d).unwrap();
        let norms = validate(x, Metric::L2).unwrap();
        let scorer = Scorer::new(x, &norms, Metric::L2);
        let mut c: Vec<f32> = b.data.clone();
        let before = c.clone();
        let (swaps, _) = local_search(
            &scorer,
            n,
            3,
            10,
            &mut Rng::new(0),
            &Silent,
            &mut |_| {},
            &mut c,
        )
        .unwrap();
        assert_eq!((swaps, c), (0, before));
    }

    #[test]
    fn single_centre_moves_towards_the_mass() {
        // k = 1: d₂ = ∞, a swap replaces the only centre when a row is a better medoid.
        let d = 2;
        let mut data = vec![0f32; 200 * d];
        for (i, v) in data.chunks_mut(d).enumerate() {
            v[0] = if i == 0 { 100.0 } else { (i % 7) as f32 * 0.1 };
        }
        let x = MatrixView::new(&data, 200, d).unwrap();
        let norms = validate(x, Metric::L2).unwrap();
        let scorer = Scorer::new(x, &norms, Metric::L2);
        let mut c = vec![100.0f32, 0.0];
        let (swaps, near) = local_search(
            &scorer,
            1,
            4,
            5,
            &mut Rng::new(0),
            &Silent,
            &mut |_| {},
            &mut c,
        )
        .unwrap();
        assert!(swaps >= 1);
        assert!(c[0] < 1.0, "centre stayed at the outlier: {c:?}");
        assert!(near.iter().all(|e| e.l1 == 0 && e.d2.is_infinite()));
    }
}
