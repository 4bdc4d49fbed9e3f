//! Whole fits give the same bits on every kernel family the CPU runs.
//!
//! The kernels are tested one by one against their scalar twin (`simd::tests`); this checks
//! the claim users rely on, end to end: the same data, parameters and seed give the same
//! centroids, labels, inertia and iteration count whether the AVX-512 kernels (with and
//! without the bf16 screen), the AVX2 + FMA ones or the scalar twin run. The kernel family
//! is chosen once per process (`VORN_SIMD`, `VORN_BF16`), so the test re-runs its own
//! binary once per family (`VORN_ISA_CHILD=1`), each run printing a fingerprint per fit,
//! and compares the fingerprints. The fits cover what differs between the families: the
//! chunked Lloyd pass with restarts side by side, the bf16-screened assignment (k ≥ 256 at
//! d ≥ 128), Hamerly's bounds, cosine, and `auto`'s training sample with its last
//! labelling pass.
//!
//! `harness = false` (see Cargo.toml): `main` is the test.

use std::process::Command;
use vorn::data::{synth, MatrixView};
use vorn::{fit, Algorithm, KMeansParams, Metric};

/// FNV-1a over the bytes of everything a fit returns that must not depend on the kernels.
fn fingerprint(m: &vorn::KMeansModel) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for v in m.centroids() {
        eat(&v.to_bits().to_le_bytes());
    }
    for l in m.labels() {
        eat(&l.to_le_bytes());
    }
    eat(&m.inertia().to_bits().to_le_bytes());
    eat(&(m.n_iter() as u64).to_le_bytes());
    h
}

/// (name, data rows, d, k, metric, algorithm): each fit is a few hundred milliseconds even
/// with the scalar kernels.
fn cases() -> Vec<(&'static str, usize, usize, usize, Metric, Algorithm)> {
    vec![
        // Fused assign + update, two runs side by side (2²² ≤ n·d·k ≤ 2²⁷).
        (
            "chunked-restarts",
            4_000,
            64,
            20,
            Metric::L2,
            Algorithm::Auto,
        ),
        // Separate assignment, bf16-screened on AVX-512 BF16 (k ≥ 256, d ≥ 128).
        ("screened", 3_000, 128, 300, Metric::L2, Algorithm::Auto),
        // Hamerly's bounds and their top-2 passes.
        ("hamerly", 5_000, 40, 64, Metric::L2, Algorithm::Hamerly),
        ("cosine", 6_000, 24, 12, Metric::Cosine, Algorithm::Auto),
        // `auto` trains on 65 536 of the rows (in stages), then labels them all.
        ("sampled", 270_000, 8, 4, Metric::L2, Algorithm::Auto),
    ]
}

fn child() {
    println!(
        "isa {} screen {}",
        vorn::simd::active().name(),
        vorn::linalg::screen_enabled()
    );
    for (name, n, d, k, metric, algorithm) in cases() {
        let data = synth::blobs(n, d, k.min(32), n as u64 + d as u64).data;
        let x = MatrixView::new(&data, n, d).unwrap();
        let p = KMeansParams::new(k)
            .metric(metric)
            .algorithm(algorithm)
            .max_iter(12)
            .seed(7)
            .n_threads(Some(2));
        let m = fit(x, &p).expect("fit");
        println!("case {name} {:016x}", fingerprint(&m));
    }
}

/// Runs this binary as a child with `env` set; returns (isa line, case lines).
fn run_child(env: &[(&str, &str)]) -> (String, Vec<String>) {
    let exe = std::env::current_exe().expect("own path");
    let mut cmd = Command::new(exe);
    cmd.env("VORN_ISA_CHILD", "1")
        .env_remove("VORN_SIMD")
        .env_remove("VORN_BF16");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("child runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "child {env:?} failed: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = text.lines();
    let isa = lines.next().expect("isa line").to_owned();
    let cases: Vec<String> = lines
        .filter(|l| l.starts_with("case "))
        .map(str::to_owned)
        .collect();
    assert_eq!(cases.len(), self::cases().len(), "{text}");
    (isa, cases)
}

fn main() {
    if std::env::var_os("VORN_ISA_CHILD").is_some() {
        child();
        return;
    }
    // Every family this CPU can run: `VORN_SIMD` only narrows (scalar, or avx2 when present).
    let runs: [&[(&str, &str)]; 4] = [
        &[],
        &[("VORN_BF16", "0")],
        &[("VORN_SIMD", "avx2")],
        &[("VORN_SIMD", "scalar")],
    ];
    let mut seen: Vec<(String, Vec<String>)> = Vec::new();
    for env in runs {
        let (isa, cases) = run_child(env);
        if seen.iter().any(|(i, _)| *i == isa) {
            continue; // the CPU lacks that family: the same one ran again
        }
        eprintln!("{isa}: {} fits", cases.len());
        seen.push((isa, cases));
    }
    let (isa0, want) = &seen[0];
    for (isa, got) in &seen[1..] {
        for (w, g) in want.iter().zip(got) {
            assert_eq!(g, w, "{isa} differs from {isa0}");
        }
    }
    assert!(
        seen.iter().any(|(i, _)| i.starts_with("isa scalar")),
        "the scalar twin always runs"
    );
    println!("isa: the same bits from {} kernel families", seen.len());
}
