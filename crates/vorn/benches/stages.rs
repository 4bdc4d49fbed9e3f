//! Criterion benches of the hot stages: one assignment pass (tiled kernel, fused arg-min; where
//! the bf16 screen applies, also the exact kernel alone as `assign_exact`),
//! the top-2 pass used by Hamerly rescans, the all-distances pass (`transform`), and whole
//! fits per backend. `cargo bench -p vorn --bench stages`. Timings belong here and in
//! `bench/`, never in tests.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use vorn::data::{synth, MatrixView};
use vorn::linalg::{assign, distances, top2, PackedCentroids};
use vorn::{Algorithm, KMeansParams, Metric};

fn gaussian(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut r = vorn::rng::Rng::new(seed);
    (0..n * d).map(|_| r.normal() as f32).collect()
}

fn passes(c: &mut Criterion) {
    let mut g = c.benchmark_group("pass");
    g.sample_size(10);
    for &(n, d, k) in &[
        (100_000usize, 64usize, 1024usize),
        (20_000, 768, 256),
        (100_000, 128, 256),
        (100_000, 64, 16),
    ] {
        let x = gaussian(n, d, 1);
        let cs = gaussian(k, d, 2);
        let xv = MatrixView::new(&x, n, d).unwrap();
        let pc = PackedCentroids::new(&cs, k, d, Metric::L2);
        g.throughput(Throughput::Elements((2 * n * k * d) as u64));
        let id = format!("{n}x{d}x{k}");
        g.bench_function(BenchmarkId::new("assign", &id), |b| {
            b.iter(|| black_box(assign(xv, &pc, &|| false).unwrap()))
        });
        if pc.screened() {
            let exact = PackedCentroids::new_exact(&cs, k, d, Metric::L2);
            g.bench_function(BenchmarkId::new("assign_exact", &id), |b| {
                b.iter(|| black_box(assign(xv, &exact, &|| false).unwrap()))
            });
        }
        let mut out = vec![(0u32, 0f32, 0f32); n];
        g.bench_function(BenchmarkId::new("top2", &id), |b| {
            b.iter(|| top2(xv, &pc, &mut out, &|| false).unwrap())
        });
        if n * k <= 4_000_000 {
            let mut all = vec![0f32; n * k];
            g.bench_function(BenchmarkId::new("distances", &id), |b| {
                b.iter(|| distances(xv, &pc, &mut all, &|_, s| s, &|| false).unwrap())
            });
        }
    }
    g.finish();
}

fn fits(c: &mut Criterion) {
    let mut g = c.benchmark_group("fit");
    g.sample_size(10);
    let b = synth::blobs(50_000, 32, 64, 3);
    let x = MatrixView::new(&b.data, b.n, b.d).unwrap();
    for algo in [Algorithm::Lloyd, Algorithm::Hamerly] {
        let p = KMeansParams::new(64).algorithm(algo).max_iter(20);
        g.bench_function(BenchmarkId::new("blobs-50k-32-k64", algo.name()), |bch| {
            bch.iter(|| black_box(vorn::fit(x, &p).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, passes, fits);
criterion_main!(benches);
