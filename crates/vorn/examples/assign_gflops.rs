//! Quick GFLOP/s probe of one assignment pass: `cargo run --release --example assign_gflops --
//! N D K` on normal random data, or `-- PATH K` on a matrix file (centroids = K rows spread
//! over the file). `REPS=r` times r passes (default 3) and reports the best.
use std::time::Instant;
use vorn::data::MatrixView;
use vorn::linalg::{assign, PackedCentroids};
use vorn::Metric;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (x, n, d, k) = if args[0].parse::<usize>().is_err() {
        let src = vorn::data::MatrixSource::open(&args[0]).expect("readable matrix");
        let v = src.view();
        (
            v.as_slice().to_vec(),
            v.n(),
            v.d(),
            args[1].parse().unwrap(),
        )
    } else {
        let a: Vec<usize> = args.iter().map(|s| s.parse().unwrap()).collect();
        let (n, d, k) = (a[0], a[1], a[2]);
        let mut r = vorn::rng::Rng::new(1);
        ((0..n * d).map(|_| r.normal() as f32).collect(), n, d, k)
    };
    let c: Vec<f32> = (0..k)
        .flat_map(|j| x[(j * n / k) * d..(j * n / k + 1) * d].iter().copied())
        .collect();
    let xv = MatrixView::new(&x, n, d).unwrap();
    let pc = PackedCentroids::new(&c, k, d, Metric::L2);
    let _ = assign(xv.rows(0, n.min(10000)), &pc, &|| false).unwrap();
    let mut best = f64::INFINITY;
    let mut best_cpu = f64::INFINITY;
    let threads = rayon::current_num_threads() as f64;
    // REPS=r passes (default 3); the best is reported.
    let reps: usize = std::env::var("REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    for _ in 0..reps {
        let c0 = cpu_secs();
        let t = Instant::now();
        let out = assign(xv, &pc, &|| false).unwrap();
        std::hint::black_box(out);
        best = best.min(t.elapsed().as_secs_f64());
        best_cpu = best_cpu.min((cpu_secs() - c0) / threads);
    }
    let f = 2.0 * n as f64 * k as f64 * d as f64 / 1e9;
    println!(
        "n={n} d={d} k={k} simd={} wall={best:.3}s {:.1} GFLOP/s | per-thread cpu={best_cpu:.3}s {:.1} GFLOP/s",
        vorn::simd::active().name(),
        f / best,
        f / best_cpu
    );
}

/// User + system CPU seconds of this process (from /proc, 10 ms ticks).
fn cpu_secs() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let f: Vec<&str> = s
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}
