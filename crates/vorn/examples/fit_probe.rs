//! Fit probe: `cargo run --release --example fit_probe -- N D K CENTERS ALGO [SAMPLE] [INIT_SAMPLE] [TOL] [TRIALS] [MAX_ITER]`
//! (0 = unset)
//! (blobs data; prints wall and per-thread CPU seconds, iterations and MSE).
use std::time::Instant;
use vorn::data::{synth, MatrixView};
use vorn::KMeansParams;

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

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let p = |i: usize| a[i].parse::<usize>().unwrap();
    let (n, d, k, centers) = (p(0), p(1), p(2), p(3));
    let algo: vorn::Algorithm = a[4].parse().unwrap();
    let opt = |i: usize| {
        a.get(i)
            .and_then(|s| s.parse::<usize>().ok())
            .filter(|&v| v > 0)
    };
    let sample = opt(5);
    let init_sample = opt(6);
    let tol: f64 = a.get(7).map(|s| s.parse().unwrap()).unwrap_or(1e-4);
    let trials = opt(8);
    let max_iter = opt(9).unwrap_or(300);
    let b = synth::blobs(n, d, centers, 1);
    let x = MatrixView::new(&b.data, n, d).unwrap();
    let params = KMeansParams::new(k)
        .algorithm(algo)
        .sample_size(sample)
        .init_sample(init_sample)
        .n_local_trials(trials)
        .max_iter(max_iter)
        .tol(tol);
    let c0 = cpu_secs();
    let t = Instant::now();
    let m = vorn::fit(x, &params).unwrap();
    let wall = t.elapsed().as_secs_f64();
    let cpu = (cpu_secs() - c0) / rayon::current_num_threads() as f64;
    let assign: f64 = m.iteration_stats().iter().map(|s| s.assign_secs).sum();
    let update: f64 = m.iteration_stats().iter().map(|s| s.update_secs).sum();
    let scanned: usize = m.iteration_stats().iter().map(|s| s.rows_scanned).sum();
    eprintln!(
        "scanned fraction {:.3}",
        scanned as f64 / (n * m.iteration_stats().len()) as f64
    );
    println!(
        "{} n={n} d={d} k={k}: wall {wall:.2}s cpu/thread {cpu:.2}s iters {} ({}) assign {assign:.2}s update {update:.2}s mse {:.4} V {:.4}",
        m.algorithm(),
        m.n_iter(),
        m.stop_reason().name(),
        m.inertia() / n as f64,
        vorn::eval::v_measure(&b.labels, m.labels()).v_measure
    );
}
