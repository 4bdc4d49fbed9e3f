//! `auto`'s staged training, end to end: its training sample in stages (a quarter, half, then
//! all of it; `kmeans::warm::sample_stages`) and its warm starts on a subset before all rows
//! (`kmeans::warm::warm_rows`): which rows each stage scans, the same bits at any thread count,
//! and the quality of one stage on the same rows.

mod common;
use common::*;
use vorn::data::synth;
use vorn::{fit, Algorithm, KMeansParams};

/// The first pass of each stage scanned exactly that stage's rows, `stages` in order, and
/// every stage ran (later passes of a stage may scan fewer: bound-pruned passes count only the
/// rows whose distances they computed).
fn assert_stage_scans(m: &vorn::KMeansModel, stages: &[usize]) {
    let scans: Vec<usize> = m.iteration_stats().iter().map(|s| s.rows_scanned).collect();
    let mut left = stages.iter();
    let mut cur = *left.next().expect("a stage");
    assert_eq!(scans[0], cur, "{scans:?}");
    for &s in &scans[1..] {
        if s > cur {
            cur = *left.next().expect("no more stages than given");
            assert_eq!(s, cur, "{scans:?}");
        }
    }
    assert_eq!(left.next(), None, "every stage ran: {scans:?}");
}

#[test]
fn auto_trains_in_stages_on_large_inputs_deterministically() {
    // n > 2·131 072: `auto` trains on a 65 536-row sample, first on a quarter of it, then on
    // half. One run (the stage checks read one run's iteration statistics).
    let b = synth::blobs(300_000, 4, 12, 8);
    let x = view(&b.data, b.n, b.d);
    let p = KMeansParams::new(12).max_iter(30).n_init(1);
    let fit_on = |threads: usize| fit(x, &p.clone().n_threads(Some(threads))).unwrap();
    let m = fit_on(1);
    assert_eq!(m.n_train(), 65_536);
    assert!(m.n_iter() <= 30);
    // Iterations are numbered across the stages.
    let it: Vec<usize> = m.iteration_stats().iter().map(|s| s.iter).collect();
    assert_eq!(it, (1..=m.n_iter()).collect::<Vec<_>>());
    // The stages scan a quarter, half and all of the sample.
    assert_stage_scans(&m, &[16_384, 32_768, 65_536]);
    assert_same_bits_at_2_and_3_threads(&m, fit_on);
    // Same quality as one stage on the same sample, and the true blobs are found.
    let one = fit(
        x,
        &KMeansParams::new(12)
            .algorithm(Algorithm::Lloyd)
            .sample_size(Some(65_536))
            .max_iter(30),
    )
    .unwrap();
    assert!(
        m.inertia() <= one.inertia() * 1.01,
        "{} vs {}",
        m.inertia(),
        one.inertia()
    );
    assert!(vorn::eval::v_measure(&b.labels, m.labels()).v_measure > 0.9);
}

#[test]
fn auto_warm_starts_heavy_lloyd_passes_deterministically() {
    // 131 072 × 64, k = 256: n·k·d = 2³¹ and d < 128, so `auto` runs Lloyd on all rows, first
    // on a 32 768-row subset (128 per centre).
    let b = synth::blobs(131_072, 64, 256, 5);
    let x = view(&b.data, b.n, b.d);
    let p = KMeansParams::new(256).max_iter(20);
    let fit_on = |threads: usize| fit(x, &p.clone().n_threads(Some(threads))).unwrap();
    let m = fit_on(1);
    assert_eq!(m.algorithm(), Algorithm::Lloyd);
    assert_eq!(m.n_train(), 131_072);
    assert_stage_scans(&m, &[32_768, 131_072]);
    assert_same_bits_at_2_and_3_threads(&m, fit_on);
    // Within 0.5% of Lloyd on all rows from the same seeding.
    let lloyd = fit(x, &p.clone().algorithm(Algorithm::Lloyd)).unwrap();
    assert!(
        m.inertia() <= lloyd.inertia() * 1.005,
        "{} vs {}",
        m.inertia(),
        lloyd.inertia()
    );
    // The labels are the nearest final centroid of every row (the last stage saw all rows).
    assert_labels_are_nearest_centroids(x, &m, 101);
}

#[test]
fn auto_warm_starts_small_k_on_large_data_deterministically() {
    // 65 536 × 512 (128 MiB), k = 8: `auto` trains on all rows, first on a 16 384-row subset.
    let b = synth::blobs(65_536, 512, 8, 21);
    let x = view(&b.data, b.n, b.d);
    let p = KMeansParams::new(8).max_iter(30);
    let fit_on = |threads: usize| fit(x, &p.clone().n_threads(Some(threads))).unwrap();
    let m = fit_on(1);
    assert_eq!(m.n_train(), 65_536);
    let it: Vec<usize> = m.iteration_stats().iter().map(|s| s.iter).collect();
    assert_eq!(it, (1..=m.n_iter()).collect::<Vec<_>>());
    assert_stage_scans(&m, &[16_384, 65_536]);
    assert_same_bits_at_2_and_3_threads(&m, fit_on);
    // Same quality as Lloyd on all rows from the same seeding, and the true blobs are found.
    let lloyd = fit(x, &p.clone().algorithm(Algorithm::Lloyd)).unwrap();
    assert!(
        m.inertia() <= lloyd.inertia() * 1.001,
        "{} vs {}",
        m.inertia(),
        lloyd.inertia()
    );
    assert!(vorn::eval::v_measure(&b.labels, m.labels()).v_measure > 0.9);
    // The labels are the nearest final centroid of every row (the last stage saw all rows).
    assert_labels_are_nearest_centroids(x, &m, 97);
}
