//! Seeding: greedy k-means++, uniform random rows, or given centroids.
//!
//! Greedy k-means++ (Arthur & Vassilvitskii 2007; the "greedy" variant of scikit-learn):
//! the first centre is a uniform row; each next step draws T = `n_local_trials` candidates
//! with probability D(x)²/Σ D², evaluates the potential Σ min(D(x)², ‖x − cand‖²) of each,
//! and keeps the lowest (ties: first drawn). Candidate distances go through the same tiled
//! kernel as assignment (T candidates = one panel group), so a step costs ≈ (T+1)·2·n·d flops.
//! Sums are fixed-order ([`super::reduce`]) so the choice is identical at any thread count.

use super::reduce::CHUNK;
use super::{Init, KMeansParams, Monitor};
use crate::data::MatrixView;
use crate::error::{Error, Result};
use crate::metric::Metric;
use crate::rng::Rng;
use crate::simd;
use rayon::prelude::*;

/// Copies row `i` as a centroid (unit-normalised for cosine).
pub(crate) fn row_as_centroid(
    x: MatrixView<'_>,
    norms: &[f32],
    metric: Metric,
    i: usize,
    out: &mut [f32],
) {
    out.copy_from_slice(x.row(i));
    if metric == Metric::Cosine {
        let inv = 1.0 / (norms[i] as f64).sqrt();
        for v in out.iter_mut() {
            *v = (*v as f64 * inv) as f32;
        }
    }
}

/// Normalises every row of a row-major `k × d` buffer in place (f64 arithmetic).
pub(crate) fn normalize_rows(c: &mut [f32], d: usize) {
    for row in c.chunks_mut(d) {
        let n = row.iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt();
        if n > 0.0 {
            for v in row.iter_mut() {
                *v = (*v as f64 / n) as f32;
            }
        }
    }
}

/// Squared distance under `metric` from a kernel score (see [`crate::linalg`]).
#[inline]
pub(crate) fn score_to_dist(metric: Metric, norm2: f32, score: f32) -> f32 {
    match metric {
        Metric::L2 => (norm2 + score).max(0.0),
        // score = 1 − 2·x·c ⇒ ‖x̂ − c‖² = 2 − 2·x·c/‖x‖ = 2 − (1 − score)/‖x‖.
        Metric::Cosine => (2.0 - (1.0 - score) / norm2.sqrt()).max(0.0),
    }
}

/// Initial centroids (row-major `k × d`) for run `run`.
pub(crate) fn initialize(
    x: MatrixView<'_>,
    norms: &[f32],
    p: &KMeansParams,
    rng: &mut Rng,
    mon: &dyn Monitor,
) -> Result<Vec<f32>> {
    let (n, d, k) = (x.n(), x.d(), p.k);
    let mut c = vec![0f32; k * d];
    match &p.init {
        Init::Given(g) => {
            c.copy_from_slice(g);
            if p.metric == Metric::Cosine {
                if let Some(j) = c.chunks(d).position(|r| r.iter().all(|&v| v == 0.0)) {
                    return Err(Error::param("init", format!("initial centroid {j} is all zeros, which has no direction under cosine")));
                }
                normalize_rows(&mut c, d);
            }
        }
        Init::Random => {
            for (j, i) in rng.sample_indices(n, k).into_iter().enumerate() {
                row_as_centroid(x, norms, p.metric, i, &mut c[j * d..(j + 1) * d]);
            }
        }
        Init::KMeansPlusPlus => {
            let trials = p
                .n_local_trials
                .unwrap_or(2 + (k as f64).ln().floor() as usize);
            kmeanspp(x, norms, p.metric, k, trials, rng, mon, &mut c)?;
        }
    }
    Ok(c)
}

/// For every fixed chunk of rows (in parallel), `f(chunk_rows, d2)` with `d2` the squared
/// distances of those rows to the `t` candidates (row-major `rows × t`); returns the
/// per-chunk results in chunk order (deterministic at any thread count).
fn candidate_pass<T: Send>(
    x: MatrixView<'_>,
    norms: &[f32],
    metric: Metric,
    cands: &[f32],
    t: usize,
    mon: &dyn Monitor,
    f: impl Fn(std::ops::Range<usize>, &[f32]) -> T + Sync,
) -> Result<Vec<T>> {
    let (n, d) = (x.n(), x.d());
    let isa = simd::active();
    let out: Vec<T> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|ch| {
            let (r0, r1) = (ch * CHUNK, ((ch + 1) * CHUNK).min(n));
            let mut d2 = vec![0f32; (r1 - r0) * t];
            for i in r0..r1 {
                let row = x.row(i);
                for j in 0..t {
                    let c = &cands[j * d..(j + 1) * d];
                    d2[(i - r0) * t + j] = point_dist(isa, metric, row, norms[i], c);
                }
            }
            f(r0..r1, &d2)
        })
        .collect();
    if mon.cancelled() {
        return Err(Error::Interrupted);
    }
    Ok(out)
}

/// D²(x, c): ‖x − c‖² for L2, ‖x̂ − c‖² = 2 − 2·x·c/‖x‖ for cosine (c unit).
#[inline]
fn point_dist(isa: simd::Isa, metric: Metric, row: &[f32], norm2: f32, c: &[f32]) -> f32 {
    match metric {
        Metric::L2 => simd::vector::sqdist(isa, row, c) as f32,
        Metric::Cosine => {
            (2.0 - 2.0 * simd::vector::dot(isa, row, c) / (norm2 as f64).sqrt()).max(0.0) as f32
        }
    }
}

/// Draws a row with probability ∝ `w` using per-chunk sums `sums` (chunks of [`CHUNK`]).
fn draw(rng: &mut Rng, w: &[f32], sums: &[f64]) -> usize {
    let total: f64 = sums.iter().sum();
    if total.is_nan() || total <= 0.0 {
        return rng.below(w.len() as u64) as usize;
    }
    let mut u = rng.next_f64() * total;
    for (c, &s) in sums.iter().enumerate() {
        if u < s || c + 1 == sums.len() {
            let end = ((c + 1) * CHUNK).min(w.len());
            let mut last_pos = None;
            for i in c * CHUNK..end {
                let wi = w[i] as f64;
                if wi > 0.0 {
                    last_pos = Some(i);
                    if u < wi {
                        return i;
                    }
                    u -= wi;
                }
            }
            if let Some(i) = last_pos {
                return i;
            }
        } else {
            u -= s;
        }
    }
    // Rounding pushed u past every chunk: take the last row with positive weight.
    w.iter().rposition(|&v| v > 0.0).unwrap_or(0)
}

fn kmeanspp(
    x: MatrixView<'_>,
    norms: &[f32],
    metric: Metric,
    k: usize,
    trials: usize,
    rng: &mut Rng,
    mon: &dyn Monitor,
    c: &mut [f32],
) -> Result<()> {
    let (n, d) = (x.n(), x.d());
    let first = rng.below(n as u64) as usize;
    row_as_centroid(x, norms, metric, first, &mut c[..d]);
    let mut mind = vec![0f32; n];
    let mut sums = update_min(x, norms, metric, &c[..d], &mut mind, true, mon)?;
    let mut cand = vec![0f32; trials * d];
    for j in 1..k {
        for t in 0..trials {
            let i = draw(rng, &mind, &sums);
            row_as_centroid(x, norms, metric, i, &mut cand[t * d..(t + 1) * d]);
        }
        // Potential of each candidate, per chunk in row order: deterministic.
        let mind_ref = &mind;
        let pots = candidate_pass(x, norms, metric, &cand, trials, mon, |rows, d2| {
            let mut p = vec![0f64; trials];
            for (o, i) in rows.enumerate() {
                let m = mind_ref[i];
                for t in 0..trials {
                    p[t] += m.min(d2[o * trials + t]) as f64;
                }
            }
            p
        })?;
        let totals: Vec<f64> = (0..trials)
            .map(|t| pots.iter().map(|p| p[t]).sum())
            .collect();
        let mut best = 0;
        for t in 1..trials {
            if totals[t] < totals[best] {
                best = t;
            }
        }
        c[j * d..(j + 1) * d].copy_from_slice(&cand[best * d..(best + 1) * d]);
        sums = update_min(
            x,
            norms,
            metric,
            &c[j * d..(j + 1) * d],
            &mut mind,
            false,
            mon,
        )?;
    }
    Ok(())
}

/// `mind[i] = min(mind[i], D²(x_i, c))` (or `=` when `first`), returning per-chunk sums.
fn update_min(
    x: MatrixView<'_>,
    norms: &[f32],
    metric: Metric,
    c: &[f32],
    mind: &mut [f32],
    first: bool,
    mon: &dyn Monitor,
) -> Result<Vec<f64>> {
    let isa = simd::active();
    let sums: Vec<f64> = mind
        .par_chunks_mut(CHUNK)
        .enumerate()
        .map(|(ch, m)| {
            let r0 = ch * CHUNK;
            let mut s = 0f64;
            for (o, v) in m.iter_mut().enumerate() {
                let dist = point_dist(isa, metric, x.row(r0 + o), norms[r0 + o], c);
                *v = if first { dist } else { v.min(dist) };
                s += *v as f64;
            }
            s
        })
        .collect();
    if mon.cancelled() {
        return Err(Error::Interrupted);
    }
    Ok(sums)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draw_respects_weights() {
        let w = vec![0.0, 0.0, 5.0, 0.0];
        let sums = vec![5.0];
        let mut r = Rng::new(1);
        for _ in 0..20 {
            assert_eq!(draw(&mut r, &w, &sums), 2);
        }
    }

    #[test]
    fn kmeanspp_picks_distinct_points_on_separated_data() {
        // 4 tight groups far apart: k-means++ should pick one centre in each.
        let mut data = Vec::new();
        for g in 0..4 {
            for i in 0..50 {
                data.push(g as f32 * 100.0 + i as f32 * 0.01);
                data.push(0.0);
            }
        }
        let x = MatrixView::new(&data, 200, 2).unwrap();
        let norms: Vec<f32> = (0..200)
            .map(|i| x.row(i).iter().map(|v| v * v).sum())
            .collect();
        let p = KMeansParams::new(4);
        let c = initialize(x, &norms, &p, &mut Rng::new(0), &super::super::Silent).unwrap();
        let mut groups: Vec<i32> = c.chunks(2).map(|r| (r[0] / 100.0).round() as i32).collect();
        groups.sort();
        assert_eq!(groups, vec![0, 1, 2, 3]);
    }
}
