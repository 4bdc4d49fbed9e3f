//! Seeding: greedy k-means++, uniform random rows, or given centroids.
//!
//! Greedy k-means++ (Arthur & Vassilvitskii 2007; the "greedy" variant of scikit-learn): the
//! first centre is a uniform row; each next step draws T = `n_local_trials` candidates with
//! probability D(x)²/Σ D², evaluates the potential Σ min(D(x)², ‖x − cand‖²) of each, and keeps
//! the lowest (ties: first drawn). Candidate distances go through the same tiled kernel as
//! assignment, so a step costs ≈ (T+1)·2·n·d flops: with the seeding rows packed as its panels
//! and the T candidates as its rows ([`super::row_panels`]), except below
//! `scorer::ROWS_MIN_STEPS` steps for T ≤ 8 from d = 128, where the lane-along-d dots kernel
//! serves ([`super::scorer::Scorer::for_seeding`]). A step's distances and its candidates'
//! potentials are one parallel pass over fixed 4096-row chunks when there are enough of them.
//! Sums are fixed-order ([`super::reduce`]) so the choice is identical at any thread count.
//!
//! Not done: triangle-inequality pruning of a step's rows (Raff, "Exact acceleration of
//! k-means++ and k-means‖", IJCAI 2021): a row i can skip candidate c when
//! ‖c − μ_{owner(i)}‖ ≥ 2·D(xᵢ), the same result bits. Simulated on this benchmark's seeding
//! samples (plain k-means++, all k steps), it would leave this share of the row-candidate
//! distances to compute: per row 61% (blobs k = 1024), 94% (GloVe k = 1024), 97% (uniform
//! k = 1024), 99% (20 Newsgroups k = 80); per cluster (2·radius) 94–100%. Distances
//! concentrate in 50–384 dimensions, so the bookkeeping would cost more than it saves.

use super::local_search::local_search;
use super::monitor::StepReporter;
use super::reduce::{chunk_sums, CHUNK};
use super::scorer::{Scorer, ROWS_MIN_STEPS};
use super::{Init, KMeansParams, Monitor};
use crate::data::MatrixView;
use crate::error::{Error, Result};
use crate::metric::Metric;
use crate::rng::Rng;
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
    run: usize,
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
            let scorer = Scorer::new(x, norms, p.metric).for_seeding(k, trials);
            let mut steps = StepReporter::new(mon, run, "k-means++", k);
            kmeanspp(
                &scorer,
                k,
                trials,
                rng,
                mon,
                &mut |j| steps.advance(j),
                &mut c,
            )?;
            // A long seeding's packed rows are freed before local search, whose batches of up
            // to MAX_NP · 16 candidates fill the candidate panels and which allocates its own
            // n × batch distances; a short seeding's are kept, its batches of T would pad them.
            let scorer = if k >= ROWS_MIN_STEPS {
                scorer.unpacked()
            } else {
                scorer
            };
            let swaps = p.local_search_steps(x.n());
            let mut steps = StepReporter::new(mon, run, "local search", swaps);
            let mut tick = |j| steps.advance(j);
            local_search(&scorer, k, trials, swaps, rng, mon, &mut tick, &mut c)?;
        }
    }
    Ok(c)
}

/// Draws a row with probability ∝ `w` using per-chunk sums `sums` (chunks of [`CHUNK`]).
pub(super) fn draw(rng: &mut Rng, w: &[f32], sums: &[f64]) -> usize {
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

pub(super) fn kmeanspp(
    scorer: &Scorer<'_>,
    k: usize,
    trials: usize,
    rng: &mut Rng,
    mon: &dyn Monitor,
    tick: &mut dyn FnMut(usize),
    c: &mut [f32],
) -> Result<()> {
    let (x, norms, metric) = (scorer.x, scorer.norms, scorer.metric);
    let (n, d) = (x.n(), x.d());
    let first = rng.below(n as u64) as usize;
    row_as_centroid(x, norms, metric, first, &mut c[..d]);
    let mut mind = scorer.d2(&c[..d], 1);
    let mut sums = chunk_sums(n, |r| r.map(|i| mind[i] as f64).sum());
    let mut cand = vec![0f32; trials * d];
    let mut d2 = Vec::new();
    tick(1);
    for j in 1..k {
        if mon.cancelled() {
            return Err(Error::Interrupted);
        }
        for t in 0..trials {
            let i = draw(rng, &mind, &sums);
            row_as_centroid(x, norms, metric, i, &mut cand[t * d..(t + 1) * d]);
        }
        // Potential of each candidate: per-chunk sums in row order, chunks in order.
        let pots = scorer.d2_potentials(&cand, trials, &mind, &mut d2);

        let mut best = 0;
        let mut best_total = f64::INFINITY;
        for t in 0..trials {
            let total: f64 = pots.iter().map(|p| p[t]).sum();
            if total < best_total {
                best_total = total;
                best = t;
            }
        }
        c[j * d..(j + 1) * d].copy_from_slice(&cand[best * d..(best + 1) * d]);
        // The new D² and its chunk sums in one pass (each sum in row order, as `chunk_sums`).
        mind.par_chunks_mut(CHUNK)
            .zip(sums.par_iter_mut())
            .enumerate()
            .for_each(|(ch, (m, s))| {
                let col = d2[ch * CHUNK * trials..].iter().skip(best).step_by(trials);
                for (v, &e) in m.iter_mut().zip(col) {
                    *v = v.min(e);
                }
                *s = m.iter().map(|&v| v as f64).sum();
            });
        tick(j + 1);
    }
    Ok(())
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
        let c = initialize(x, &norms, &p, &mut Rng::new(0), 0, &super::super::Silent).unwrap();
        let mut groups: Vec<i32> = c.chunks(2).map(|r| (r[0] / 100.0).round() as i32).collect();
        groups.sort();
        assert_eq!(groups, vec![0, 1, 2, 3]);
    }

    #[test]
    fn packed_short_seedings_give_the_bits_of_candidate_panels() {
        // d < 128: `initialize` packs the rows for k-means++ and local search; the same steps
        // on a plain scorer (candidate panels) must pick the same centres to the bit, at
        // k < 32 (one candidate batch per swap) and 32 <= k < 128 (batched swaps).
        use crate::data::{synth, validate};
        use crate::kmeans::Silent;
        for (n, d, k, metric) in [
            (1500, 64, 5, Metric::L2),
            (2000, 20, 40, Metric::L2),
            (1200, 50, 12, Metric::Cosine),
        ] {
            let data = synth::blobs(n, d, 8, 3).data;
            let x = MatrixView::new(&data, n, d).unwrap();
            let norms = validate(x, metric).unwrap();
            let p = KMeansParams::new(k).metric(metric);
            let got = initialize(x, &norms, &p, &mut Rng::new(7), 0, &Silent).unwrap();
            let trials = 2 + (k as f64).ln().floor() as usize;
            let plain = Scorer::new(x, &norms, metric);
            assert!(plain.for_seeding(k, trials).is_packed());
            let mut want = vec![0f32; k * d];
            let mut rng = Rng::new(7);
            kmeanspp(&plain, k, trials, &mut rng, &Silent, &mut |_| {}, &mut want).unwrap();
            let swaps = p.local_search_steps(n);
            local_search(
                &plain,
                k,
                trials,
                swaps,
                &mut rng,
                &Silent,
                &mut |_| {},
                &mut want,
            )
            .unwrap();
            let bits = |c: &[f32]| c.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "n={n} d={d} k={k} {metric:?}");
        }
    }
}
