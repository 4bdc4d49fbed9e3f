//! Property tests of the k-means engine against naive references.

mod common;
use common::*;
use vorn::data::synth;
use vorn::{fit, Algorithm, Init, KMeansParams, Metric};

#[test]
fn same_init_same_labels_as_naive_lloyd() {
    for &(n, d, k, seed) in &[
        (300usize, 5usize, 7usize, 1u64),
        (500, 17, 20, 2),
        (257, 64, 50, 3),
    ] {
        let x = gaussian(n, d, seed);
        let init = x[..k * d].to_vec();
        for algo in [Algorithm::Lloyd, Algorithm::Hamerly] {
            let iters = 6;
            let p = KMeansParams::new(k)
                .init(Init::Given(init.clone()))
                .max_iter(iters + 1)
                .tol(0.0)
                .algorithm(algo);
            let m = fit(view(&x, n, d), &p).unwrap();
            // vorn ran m.n_iter() assignments; the naive loop does the same number.
            let (naive, c) = naive_lloyd(&x, n, d, &init, m.n_iter() - 1);
            assert_eq!(m.labels(), &naive[..], "{algo:?} n={n} d={d} k={k}");
            for (a, b) in m.centroids().iter().zip(&c) {
                assert!((*a as f64 - b).abs() <= 1e-5 * (1.0 + b.abs()));
            }
        }
    }
}

#[test]
fn objective_never_increases() {
    for metric in [Metric::L2, Metric::Cosine] {
        for seed in 0..4 {
            let b = synth::blobs(3000, 12, 15, seed);
            for algo in [Algorithm::Lloyd, Algorithm::Hamerly] {
                let p = KMeansParams::new(25)
                    .metric(metric)
                    .seed(seed)
                    .tol(0.0)
                    .max_iter(60)
                    .algorithm(algo);
                let m = fit(view(&b.data, b.n, b.d), &p).unwrap();
                let obj: Vec<f64> = m.iteration_stats().iter().map(|s| s.objective).collect();
                for w in obj.windows(2) {
                    assert!(
                        w[1] <= w[0] * (1.0 + 1e-12),
                        "{metric:?} {algo:?}: {} -> {}",
                        w[0],
                        w[1]
                    );
                }
                // The iterations' objective is the fixed-point sums' expansion, the model's
                // inertia the exact sum: equal to ~1e-16 of the data's spread.
                let last = *obj.last().unwrap();
                assert!(
                    (m.inertia() - last).abs() <= 1e-12 * last,
                    "{}",
                    m.inertia()
                );
            }
        }
    }
}

#[test]
fn inertia_is_exact_sum_of_squared_distances() {
    let b = synth::blobs(2000, 8, 6, 5);
    let m = fit(view(&b.data, b.n, b.d), &KMeansParams::new(6)).unwrap();
    let c: Vec<f64> = m.centroids().iter().map(|&v| v as f64).collect();
    let d = b.d;
    let naive: f64 = (0..b.n)
        .map(|i| {
            sqdist(
                &b.data[i * d..(i + 1) * d],
                &c[m.labels()[i] as usize * d..][..d],
            )
        })
        .sum();
    assert!((m.inertia() - naive).abs() <= 1e-9 * naive);
    // Labels are the nearest returned centroid.
    assert_eq!(m.predict(view(&b.data, b.n, b.d)).unwrap(), m.labels());
}

#[test]
fn more_clusters_lower_objective() {
    let b = synth::blobs(4000, 10, 32, 9);
    let mut last = f64::INFINITY;
    for k in [2, 4, 8, 16, 32, 64] {
        let m = fit(view(&b.data, b.n, b.d), &KMeansParams::new(k).n_init(2)).unwrap();
        assert!(m.inertia() < last, "k={k}: {} !< {last}", m.inertia());
        last = m.inertia();
    }
}

#[test]
fn bit_identical_across_thread_counts() {
    let b = synth::blobs(20_000, 24, 40, 11);
    for metric in [Metric::L2, Metric::Cosine] {
        for algo in [Algorithm::Lloyd, Algorithm::Hamerly] {
            for sample in [None, Some(5000)] {
                let base = KMeansParams::new(40)
                    .metric(metric)
                    .algorithm(algo)
                    .sample_size(sample)
                    .n_init(2)
                    .seed(3);
                let runs: Vec<_> = [1, 2, 8]
                    .iter()
                    .map(|&t| {
                        fit(view(&b.data, b.n, b.d), &base.clone().n_threads(Some(t))).unwrap()
                    })
                    .collect();
                for r in &runs[1..] {
                    assert_eq!(r.labels(), runs[0].labels());
                    assert!(r
                        .centroids()
                        .iter()
                        .zip(runs[0].centroids())
                        .all(|(a, b)| a.to_bits() == b.to_bits()));
                    assert_eq!(r.inertia().to_bits(), runs[0].inertia().to_bits());
                    assert_eq!(r.n_iter(), runs[0].n_iter());
                }
            }
        }
    }
}

#[test]
fn hamerly_equals_lloyd_bitwise_and_prunes() {
    // Shapes where Lloyd fuses its update into the pass (k > 32 per-row sums; k <= 32
    // grouped sums) and one where it does not (k > chunk/8): Hamerly's centroids, labels and
    // objective are Lloyd's bits in all of them.
    for (n, d, k, prune) in [
        (20_000usize, 8usize, 64usize, true),
        (6_000, 24, 12, false),
        (3_000, 40, 400, false),
    ] {
        for metric in [Metric::L2, Metric::Cosine] {
            let x = gaussian(n, d, 12);
            let p = KMeansParams::new(k)
                .metric(metric)
                .seed(1)
                .tol(0.0)
                .max_iter(40);
            let l = fit(view(&x, n, d), &p.clone().algorithm(Algorithm::Lloyd)).unwrap();
            let h = fit(view(&x, n, d), &p.clone().algorithm(Algorithm::Hamerly)).unwrap();
            assert!(l.n_iter() > 3, "{n} x {d}, k = {k}");
            assert_eq!(l.labels(), h.labels());
            assert_eq!(l.n_iter(), h.n_iter());
            assert_eq!(
                l.inertia().to_bits(),
                h.inertia().to_bits(),
                "{n} x {d}, k = {k}"
            );
            assert!(l
                .centroids()
                .iter()
                .zip(h.centroids())
                .all(|(a, b)| a.to_bits() == b.to_bits()));
            if prune {
                let scanned: usize = h.iteration_stats().iter().map(|s| s.rows_scanned).sum();
                let total: usize = l.iteration_stats().iter().map(|s| s.rows_scanned).sum();
                assert!(
                    scanned * 2 < total,
                    "{metric:?}: hamerly scanned {scanned} of {total}"
                );
            }
        }
    }
}

#[test]
fn predict_is_batch_invariant() {
    // 5000 × 60 × 33 multiply-adds run on the pool; batches of up to 1000 rows (below
    // vorn::INLINE_WORK) on the calling thread.
    let b = synth::blobs(5000, 33, 20, 4);
    assert!(b.n * 60 * b.d > vorn::INLINE_WORK && 1000 * 60 * b.d <= vorn::INLINE_WORK);
    let m = fit(view(&b.data, b.n, b.d), &KMeansParams::new(60)).unwrap();
    let fresh = m.clone();
    let whole = m.predict(view(&b.data, b.n, b.d)).unwrap();
    // The packed centroids kept by the model are not part of it: equal to an unused clone,
    // and the bytes round-trip.
    assert_eq!(m, fresh);
    let back = vorn::KMeansModel::from_bytes(&m.to_bytes(), std::path::Path::new("mem")).unwrap();
    assert_eq!(back, m);
    assert_eq!(back.predict(view(&b.data, b.n, b.d)).unwrap(), whole);
    let whole_t = m.transform(view(&b.data, b.n, b.d)).unwrap();
    for batch in [1, 7, 64, 1000] {
        let mut got = Vec::new();
        let mut got_t = Vec::new();
        for s in (0..b.n).step_by(batch) {
            let e = (s + batch).min(b.n);
            let v = view(&b.data[s * b.d..e * b.d], e - s, b.d);
            got.extend(m.predict(v).unwrap());
            got_t.extend(m.transform(v).unwrap());
        }
        assert_eq!(got, whole);
        assert!(got_t
            .iter()
            .zip(&whole_t)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}

#[test]
fn transform_matches_naive_distances() {
    let b = synth::blobs(500, 9, 5, 8);
    for metric in [Metric::L2, Metric::Cosine] {
        let m = fit(
            view(&b.data, b.n, b.d),
            &KMeansParams::new(5).metric(metric),
        )
        .unwrap();
        let t = m.transform(view(&b.data, b.n, b.d)).unwrap();
        let d = b.d;
        for i in 0..b.n {
            let row = &b.data[i * d..(i + 1) * d];
            for j in 0..5 {
                let c = &m.centroids()[j * d..(j + 1) * d];
                let want = match metric {
                    Metric::L2 => row
                        .iter()
                        .zip(c)
                        .map(|(a, b)| ((a - b) as f64).powi(2))
                        .sum::<f64>()
                        .sqrt(),
                    Metric::Cosine => {
                        let dot: f64 = row
                            .iter()
                            .zip(c)
                            .map(|(a, b)| (*a as f64) * (*b as f64))
                            .sum();
                        let nx: f64 = row.iter().map(|a| (*a as f64).powi(2)).sum::<f64>().sqrt();
                        let nc: f64 = c.iter().map(|a| (*a as f64).powi(2)).sum::<f64>().sqrt();
                        1.0 - dot / (nx * nc)
                    }
                };
                let got = t[i * 5 + j] as f64;
                assert!(
                    (got - want).abs() < 2e-3 * (1.0 + want),
                    "{metric:?} {got} vs {want}"
                );
            }
        }
    }
}

#[test]
fn cosine_centroids_are_unit_and_scale_invariant() {
    let b = synth::blobs(3000, 16, 8, 2);
    let scaled: Vec<f32> = b
        .data
        .chunks(16)
        .enumerate()
        .flat_map(|(i, r)| r.iter().map(move |v| v * (1.0 + (i % 5) as f32)))
        .collect();
    let p = KMeansParams::new(8).metric(Metric::Cosine);
    let m1 = fit(view(&b.data, b.n, b.d), &p).unwrap();
    let m2 = fit(view(&scaled, b.n, b.d), &p).unwrap();
    for c in m1.centroids().chunks(16) {
        let n: f64 = c.iter().map(|v| (*v as f64).powi(2)).sum();
        assert!((n - 1.0).abs() < 1e-5);
    }
    // The same partition, up to the order of the clusters (`auto` makes two runs here, and
    // which of two equally good runs wins may differ in the last bits).
    let mut table = vec![0usize; 8 * 8];
    for (a, b) in m1.labels().iter().zip(m2.labels()) {
        table[*a as usize * 8 + *b as usize] += 1;
    }
    let agree: usize = table.chunks(8).map(|r| *r.iter().max().unwrap()).sum();
    assert!(agree as f64 > 0.99 * b.n as f64);
}

#[test]
fn fewer_distinct_points_than_k() {
    let mut x = vec![0f32; 100 * 3];
    for i in 0..100 {
        x[i * 3] = (i % 3) as f32; // 3 distinct points
    }
    for algo in [Algorithm::Lloyd, Algorithm::Hamerly] {
        let m = fit(view(&x, 100, 3), &KMeansParams::new(5).algorithm(algo)).unwrap();
        assert!(m.centroids().iter().all(|v| v.is_finite()));
        assert_eq!(m.inertia(), 0.0);
        assert!(m.iteration_stats().iter().any(|s| s.empty_splits > 0));
    }
    let same = vec![1.5f32; 40];
    let m = fit(view(&same, 10, 4), &KMeansParams::new(10)).unwrap();
    assert!(m.centroids().iter().all(|&v| v == 1.5));
}

#[test]
fn sample_trains_on_subset_and_labels_all_rows() {
    let b = synth::blobs(10_000, 8, 10, 3);
    let p = KMeansParams::new(10).sample_size(Some(2000));
    let m = fit(view(&b.data, b.n, b.d), &p).unwrap();
    assert_eq!(m.n_train(), 2000);
    assert_eq!(m.labels().len(), 10_000);
    assert_eq!(m.predict(view(&b.data, b.n, b.d)).unwrap(), m.labels());
    let p = KMeansParams::new(10).max_points_per_centroid(Some(50));
    assert_eq!(fit(view(&b.data, b.n, b.d), &p).unwrap().n_train(), 500);
    let v = vorn::eval::v_measure(&b.labels, m.labels());
    assert!(v.v_measure > 0.9, "{v:?}");
}

#[test]
fn restarts_keep_the_best_objective() {
    let b = synth::blobs(3000, 6, 12, 6);
    let m = fit(
        view(&b.data, b.n, b.d),
        &KMeansParams::new(12)
            .init(Init::Random)
            .n_init(4)
            .split_merge(Some(0)),
    )
    .unwrap();
    let mut finals = [f64::INFINITY; 4];
    for s in m.iteration_stats() {
        finals[s.run] = s.objective;
    }
    let best = finals.iter().cloned().fold(f64::INFINITY, f64::min);
    assert!((m.inertia() - best).abs() <= 1e-12 * best);
    assert!(finals
        .iter()
        .filter(|&&f| f > best)
        .all(|&f| f > m.inertia()));
}

/// Four tight groups of 50 rows on a line, at 0, 10, 20 and 30.
fn four_groups() -> Vec<f32> {
    let mut x = Vec::new();
    for g in [0.0f32, 10.0, 20.0, 30.0] {
        for t in 0..50 {
            x.extend_from_slice(&[g + (t as f32 - 25.0) * 0.01, (t % 7) as f32 * 0.01]);
        }
    }
    x
}

#[test]
fn split_merge_repairs_a_minimum_lloyd_cannot_leave() {
    // Two centres in the group at 0 and one between the groups at 20 and 30: a fixed point
    // of Lloyd, 50 rows each side of the middle centre at distance ~5.
    let x = four_groups();
    let v = view(&x, 200, 2);
    let init = Init::Given(vec![-0.1, 0.03, 0.1, 0.03, 10.0, 0.03, 25.0, 0.03]);
    let p = KMeansParams::new(4).init(init).algorithm(Algorithm::Lloyd);
    let stuck = fit(v, &p).unwrap();
    // A given seeding is not refined unless asked.
    assert_eq!(
        fit(v, &p.clone().split_merge(None)).unwrap().inertia(),
        stuck.inertia()
    );
    assert!(stuck.inertia() > 1000.0, "{}", stuck.inertia());
    let fixed = fit(v, &p.clone().split_merge(Some(4))).unwrap();
    assert!(fixed.inertia() < 10.0, "{}", fixed.inertia());
    for g in [0.0f32, 10.0, 20.0, 30.0] {
        assert!(fixed.centroids().chunks(2).any(|c| (c[0] - g).abs() < 0.1));
    }
    // The model stays a Lloyd fixed point: labels are the assignment to the centroids.
    assert_eq!(fixed.predict(v).unwrap(), fixed.labels());
    // Its iterations: the stuck run's, then the rerun's (numbered after the runs).
    let runs: std::collections::BTreeSet<usize> =
        fixed.iteration_stats().iter().map(|s| s.run).collect();
    assert_eq!(runs.into_iter().collect::<Vec<_>>(), [0, 1]);
}

#[test]
fn split_merge_never_worsens_and_keeps_bits_across_threads() {
    for seed in 0..6 {
        let b = synth::blobs(3000, 12, 9, seed + 40);
        let x = view(&b.data, b.n, b.d);
        let p = KMeansParams::new(9).seed(seed).init(Init::Random);
        let off = fit(x, &p.clone().split_merge(Some(0))).unwrap();
        let fit_on = |t: usize| fit(x, &p.clone().n_threads(Some(t))).unwrap();
        let on = fit_on(1);
        assert!(on.inertia() <= off.inertia(), "seed {seed}");
        assert_eq!(on.predict(x).unwrap(), on.labels());
        assert_same_bits_at_2_and_3_threads(&on, fit_on);
    }
}

#[test]
fn split_merge_under_cosine_is_asked_for_never_worse_and_keeps_bits() {
    for seed in 0..4 {
        let b = synth::blobs(2000, 10, 8, seed + 60);
        let x = view(&b.data, b.n, b.d);
        let p = KMeansParams::new(8)
            .metric(Metric::Cosine)
            .seed(seed)
            .init(Init::Random);
        let off = fit(x, &p).unwrap();
        let fit_on = |t: usize| fit(x, &p.clone().split_merge(Some(8)).n_threads(Some(t))).unwrap();
        let on = fit_on(1);
        assert!(on.inertia() <= off.inertia(), "seed {seed}");
        assert_eq!(on.predict(x).unwrap(), on.labels());
        // Unit centroids.
        for c in on.centroids().chunks(10) {
            let n2: f32 = c.iter().map(|v| v * v).sum();
            assert!((n2 - 1.0).abs() < 1e-5, "{n2}");
        }
        assert_same_bits_at_2_and_3_threads(&on, fit_on);
    }
}

#[test]
fn split_merge_is_automatic_for_l2_auto_only() {
    let p = KMeansParams::new(5);
    assert_eq!(p.split_merge_moves(500, 4), 5);
    assert_eq!(p.clone().split_merge(Some(0)).split_merge_moves(500, 4), 0);
    assert_eq!(
        p.clone().metric(Metric::Cosine).split_merge_moves(500, 4),
        0
    );
    assert_eq!(
        p.clone()
            .algorithm(Algorithm::Lloyd)
            .split_merge_moves(500, 4),
        0
    );
    // Beyond 2²⁴ multiply-adds per pass: none.
    assert_eq!(p.split_merge_moves(1 << 22, 8), 0);
    // Beyond its 64 MiB working-memory budget: none when automatic, an error when asked for
    // (before any work), naming the way out.
    let wide = KMeansParams::new(3);
    assert_eq!(wide.split_merge_moves(1_000_000, 2), 3);
    assert_eq!(wide.split_merge_moves(2_000_000, 2), 0);
    assert!(wide
        .clone()
        .split_merge(Some(3))
        .validate_for(40_000, 400)
        .is_ok());
    let e = wide
        .split_merge(Some(3))
        .validate_for(50_000, 400)
        .unwrap_err();
    assert!(matches!(
        e,
        vorn::Error::InvalidParameter {
            name: "split_merge",
            ..
        }
    ));
    assert!(
        e.to_string().contains("MiB") && e.to_string().contains("set it to 0"),
        "{e}"
    );
}

#[test]
fn auto_runs_twice_side_by_side_when_a_run_is_cheap() {
    // 2²² ≤ n·d·k = 24 000·16·12 ≤ 2²⁷: two runs (side by side on 2 or 3 threads, one after
    // the other on 1), the better kept; same bits at every thread count.
    let b = synth::blobs(24_000, 16, 12, 6);
    let x = view(&b.data, b.n, b.d);
    let fit_on = |t: usize| fit(x, &KMeansParams::new(12).n_threads(Some(t))).unwrap();
    let m = fit_on(1);
    let runs: std::collections::BTreeSet<usize> =
        m.iteration_stats().iter().map(|s| s.run).collect();
    assert_eq!(runs.into_iter().collect::<Vec<_>>(), [0, 1]);
    let mut finals = [f64::INFINITY; 2];
    for s in m.iteration_stats() {
        finals[s.run] = s.objective;
    }
    let best = finals[0].min(finals[1]);
    assert!((m.inertia() - best).abs() <= 1e-12 * best);
    // Run 0 is the one-run fit.
    let one = fit(x, &KMeansParams::new(12).n_init(1)).unwrap();
    assert!((one.inertia() - finals[0]).abs() <= 1e-12 * finals[0]);
    assert!(m.inertia() <= one.inertia());
    if finals[0] <= finals[1] {
        assert_eq!(m.centroids(), one.centroids());
    }
    assert_same_bits_at_2_and_3_threads(&m, fit_on);
    // A named backend keeps one run.
    let lloyd = fit(x, &KMeansParams::new(12).algorithm(Algorithm::Lloyd)).unwrap();
    assert!(lloyd.iteration_stats().iter().all(|s| s.run == 0));
}

#[test]
fn cosine_from_centroids_normalises_external_centroids() {
    // Regression: non-unit external centroids must give the same labels as their unit versions.
    let x = gaussian(2000, 6, 21);
    let raw: Vec<f32> = gaussian(10, 6, 22)
        .iter()
        .enumerate()
        .map(|(i, v)| v * (1.0 + (i / 6) as f32 * 3.0))
        .collect();
    let mut unit = raw.clone();
    for r in unit.chunks_mut(6) {
        let n = r.iter().map(|v| v * v).sum::<f32>().sqrt();
        r.iter_mut().for_each(|v| *v /= n);
    }
    let a = vorn::KMeansModel::from_centroids(raw, 10, 6, Metric::Cosine).unwrap();
    let b = vorn::KMeansModel::from_centroids(unit, 10, 6, Metric::Cosine).unwrap();
    let v = view(&x, 2000, 6);
    let la = a.predict(v).unwrap();
    assert_eq!(la, b.predict(v).unwrap());
    // And they are the arg-max cosine.
    for i in 0..2000 {
        let row = &x[i * 6..(i + 1) * 6];
        let cos = |j: usize| -> f64 {
            row.iter()
                .zip(&b.centroids()[j * 6..(j + 1) * 6])
                .map(|(p, q)| (*p as f64) * (*q as f64))
                .sum()
        };
        let best = (0..10).map(cos).fold(f64::NEG_INFINITY, f64::max);
        assert!(cos(la[i] as usize) >= best - 1e-5);
    }
}

#[test]
fn seeding_reports_its_steps_per_run_without_changing_the_result() {
    use std::sync::Mutex;
    use std::time::Duration;
    /// Every report, as (run, task, done, total).
    struct Log(Mutex<Vec<(usize, String, usize, usize)>>);
    impl vorn::Monitor for Log {
        fn steps(&self, s: &vorn::Steps<'_>) {
            let e = (s.run, s.task.to_string(), s.done, s.total);
            self.0.lock().unwrap().push(e);
        }
        fn steps_interval(&self) -> Duration {
            Duration::ZERO
        }
    }
    let b = synth::blobs(3000, 8, 6, 4);
    let x = view(&b.data, b.n, b.d);
    let k = 24;
    let p = KMeansParams::new(k).seed(9).n_init(2).local_search(Some(7));
    let log = Log(Mutex::new(Vec::new()));
    let m = vorn::fit_with(x, &p, &log).unwrap();
    let log = log.0.into_inner().unwrap();
    for run in 0..2 {
        for (task, total) in [("k-means++", k), ("local search", 7)] {
            let done: Vec<usize> = log
                .iter()
                .filter(|e| e.0 == run && e.1 == task)
                .inspect(|e| assert_eq!(e.3, total))
                .map(|e| e.2)
                .collect();
            // Every step of k-means++; local search reports per batch of swap steps.
            if task == "k-means++" {
                assert_eq!(done, (1..=k).collect::<Vec<_>>(), "run {run}");
            } else {
                assert!(done.windows(2).all(|w| w[0] < w[1]), "run {run}: {done:?}");
                assert_eq!(done.last(), Some(&total), "run {run}");
            }
        }
    }
    let quiet = fit(x, &p).unwrap();
    assert_eq!(quiet.centroids(), m.centroids());
    assert_eq!(quiet.labels(), m.labels());
}

#[test]
fn seeding_with_packed_rows_is_bit_identical_across_thread_counts() {
    // k ≥ 128: k-means++ packs its rows as kernel panels (init::ROWS_MIN_STEPS); 9000 seeding
    // rows are three chunks, cut differently into tasks at 1, 2 and 3 threads.
    let b = synth::blobs(9000, 6, 50, 2);
    let p = KMeansParams::new(130)
        .init_sample(Some(9000))
        .max_iter(3)
        .seed(5);
    let one = fit(view(&b.data, b.n, b.d), &p.clone().n_threads(Some(1))).unwrap();
    assert_same_bits_at_2_and_3_threads(&one, |t| {
        fit(view(&b.data, b.n, b.d), &p.clone().n_threads(Some(t))).unwrap()
    });
}
