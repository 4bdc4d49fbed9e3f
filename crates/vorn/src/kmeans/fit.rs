//! The fit driver: validation, training sample, runs (side by side: `restarts`; in stages:
//! `warm`), split–merge refinement of the best run (`split_merge`), final full-data labels.

use super::hamerly::Hamerly;
use super::init::initialize;
use super::lloyd::{Assigner, Dense, RunResult};
use super::model::KMeansModel;
use super::pool::with_threads;
use super::relabel::{exact_objective, labels_and_objective};
use super::restarts::{in_waves, side_by_side, Serialised};
use super::split_merge::refine;
use super::warm::{sample_stages, stage_order, staged, warm_first_iters, warm_rows, Stage};
use super::{KMeansParams, Monitor, Silent};
use crate::cluster::Algorithm;
use crate::data::{check_scale, gather_rows, validate, MatrixView};
use crate::error::Result;
use crate::rng::Rng;

/// Stream ids for the seeded generator.
const SAMPLE_STREAM: u64 = 0x5A4D;
const WARM_STREAM: u64 = 0x5741;

/// Fits k-means to `x`; see [`fit_with`].
pub fn fit(x: MatrixView<'_>, params: &KMeansParams) -> Result<KMeansModel> {
    fit_with(x, params, &Silent)
}

/// Initial centroids of one run; k-means++ seeds from a uniform sample of the training rows
/// (see [`KMeansParams::init_sample`]).
fn seed_centroids(
    train: MatrixView<'_>,
    tnorms: &[f32],
    p: &KMeansParams,
    rng: &mut Rng,
    run: usize,
    mon: &dyn Monitor,
) -> Result<Vec<f32>> {
    let m = p.init_rows(train.n());
    if m >= train.n() || !matches!(p.init, super::Init::KMeansPlusPlus) {
        return initialize(train, tnorms, p, rng, run, mon);
    }
    let idx = rng.sample_indices(train.n(), m);
    let d = train.d();
    let buf = gather_rows(train, &idx);
    let norms: Vec<f32> = idx.iter().map(|&i| tnorms[i]).collect();
    initialize(MatrixView::new(&buf, m, d)?, &norms, p, rng, run, mon)
}

pub(super) fn assigner(algorithm: Algorithm, p: &KMeansParams) -> Box<dyn Assigner> {
    match algorithm {
        Algorithm::Hamerly => Box::new(Hamerly::new(p.metric)),
        _ if p.algorithm == Algorithm::Auto => Box::new(Dense::pruned(p.metric)),
        _ => Box::new(Dense::new(p.metric)),
    }
}

/// Fits k-means to `x` with progress and cancellation through `mon`.
///
/// Same `x`, `params` (whatever `n_threads`) ⇒ the same centroids and labels, bit for bit.
pub fn fit_with(
    x: MatrixView<'_>,
    params: &KMeansParams,
    mon: &dyn Monitor,
) -> Result<KMeansModel> {
    params.validate_for(x.n(), x.d())?;
    with_threads(params.n_threads, move || fit_inner(x, params, mon))?
}

fn fit_inner(x: MatrixView<'_>, p: &KMeansParams, mon: &dyn Monitor) -> Result<KMeansModel> {
    let (n, d, k) = (x.n(), x.d(), p.k);
    mon.phase("validate");
    let norms = validate(x, p.metric)?;
    check_scale(x, &norms, p.metric)?;
    mon.phase("sample");
    let m = p.train_rows(n);
    // `auto` trains on its sample in stages, on nested prefixes of it (`warm::staged`).
    let stages = (p.algorithm == Algorithm::Auto && m < n && p.max_iter >= 4)
        .then(|| sample_stages(m, k, p.max_iter));
    let (train_buf, train_norms): (Option<Vec<f32>>, Vec<f32>) = if m < n {
        let mut idx = Rng::derive(p.seed, SAMPLE_STREAM).sample_indices(n, m);
        if let Some(st) = &stages {
            // Gathered so that every stage is a prefix holding every second (fourth) row.
            idx = stage_order(&idx, st.len());
        }
        (
            Some(gather_rows(x, &idx)),
            idx.iter().map(|&i| norms[i]).collect(),
        )
    } else {
        (None, Vec::new())
    };
    let (train, tnorms) = match &train_buf {
        Some(b) => (MatrixView::new(b, m, d)?, &train_norms[..]),
        None => (x, &norms[..]),
    };
    // The backend that runs, and `auto`'s CPU-independent plan, which alone decides the
    // warm start (the backends return the same bits; `cluster::select_on`).
    let algorithm = p.algorithm.resolve(m, d, k, p.metric);
    let plan = match p.algorithm {
        Algorithm::Auto => crate::cluster::select(m, d, k, p.metric),
        a => a,
    };
    // Warm-start subset when `auto` trains on all rows (see `warm_rows`), gathered once.
    let warm: Option<(Vec<f32>, Vec<f32>)> = warm_rows(n, d, k, p, plan).map(|s| {
        let idx = Rng::derive(p.seed, WARM_STREAM).sample_indices(n, s);
        (
            gather_rows(x, &idx),
            idx.iter().map(|&i| norms[i]).collect(),
        )
    });

    // What every run trains on, stage by stage (`warm::staged`): the warm-start subset then
    // all rows, the nested prefixes of `auto`'s sample, or one stage on the training rows.
    let run_stages: Vec<Stage<'_>> = if let Some((wb, wn)) = &warm {
        let first = MatrixView::new(wb, wn.len(), d)?;
        let iters = warm_first_iters(k, p.max_iter, wn.len());
        vec![(first, &wn[..], iters), (train, tnorms, p.max_iter)]
    } else if let Some(st) = &stages {
        st.iter()
            .map(|&(rows, end)| (train.rows(0, rows), &tnorms[..rows], end))
            .collect()
    } else {
        vec![(train, tnorms, p.max_iter)]
    };
    // One run from the seeding of stream r.
    let one_run = |r: usize, mon: &dyn Monitor| -> Result<RunResult> {
        let mut rng = Rng::derive(p.seed, r as u64);
        mon.phase("init");
        let c0 = seed_centroids(train, tnorms, p, &mut rng, r, mon)?;
        mon.phase("iterate");
        staged(&run_stages, p, algorithm, c0, r, mon)
    };
    // The lowest objective wins, the first run on ties: the same choice in either order.
    // One after the other, only the best run so far is kept (each holds n labels).
    let mut stats = Vec::new();
    let mut best: Option<RunResult> = None;
    let mut keep = |res: RunResult| {
        stats.extend(res.stats.iter().cloned());
        if best.as_ref().is_none_or(|b| res.objective < b.objective) {
            best = Some(res);
        }
    };
    let runs = p.runs(m, d);
    if runs > 1 && side_by_side(m, d, k) {
        let serial = Serialised::new(mon);
        let wave = rayon::current_num_threads();
        in_waves(runs, wave, |r| one_run(r, &serial), &mut keep)?;
    } else {
        for r in 0..runs {
            keep(one_run(r, mon)?);
        }
    }
    let mut best = best.expect("at least one run");
    // A run cut at `max_iter` is not refined: the cap bounds the work asked for.
    let moves = p.split_merge_moves(m, d);
    if moves > 0 && best.stop != super::StopReason::MaxIter {
        mon.phase("split-merge");
        best = refine(
            train, tnorms, p, algorithm, best, moves, runs, &mut stats, mon,
        )?;
    }
    drop(train_buf);
    drop(warm);

    let (labels, inertia) = if m < n {
        mon.phase("assign");
        labels_and_objective(x, &norms, p.metric, &best.centroids, mon)?
    } else {
        // The run's objective is the sums' f64 expansion; the model's inertia is exact.
        let inertia = exact_objective(x, &norms, p.metric, &best.centroids, &best.labels);
        (best.labels, inertia)
    };
    Ok(KMeansModel::from_parts(
        best.centroids,
        k,
        d,
        p.metric,
        algorithm,
        labels,
        inertia,
        best.n_iter,
        best.stop,
        stats,
        m,
    ))
}
