//! End-to-end tests of the `vorn` binary on small temporary files.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use vorn::data::{fvecs, npy, synth};
use vorn::KMeansModel;

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("vorn-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
    fn path(&self, f: &str) -> PathBuf {
        self.0.join(f)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const N: usize = 300;
const D: usize = 8;
const K: usize = 4;

fn data() -> synth::Labelled {
    synth::blobs(N, D, K, 11)
}

fn vorn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vorn"))
        .args(args)
        .output()
        .expect("run the vorn binary")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn ok_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Asserts the exit status and a single `vorn: error:` line on stderr; returns that line.
fn fails(out: &Output, code: i32) -> String {
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "stderr is not one line: {err:?}");
    assert!(err.starts_with("vorn: error: "), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
    assert!(
        out.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    err
}

#[test]
fn cluster_npy_writes_outputs_that_read_back() {
    let t = Scratch::new("npy");
    let b = data();
    let input = t.path("x.npy");
    npy::write_npy_2d(&input, &b.data, N, D).unwrap();
    let (labels, cents, model) = (t.path("l.npy"), t.path("c.npy"), t.path("m.vorn"));
    let out = vorn(&[
        "cluster",
        s(&input),
        "-k",
        "4",
        "--seed",
        "3",
        "--labels",
        s(&labels),
        "--centroids",
        s(&cents),
        "--model",
        s(&model),
        "--quiet",
    ]);
    let j = ok_json(&out);
    assert!(
        out.stderr.is_empty(),
        "--quiet printed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for key in [
        "n",
        "d",
        "k",
        "metric",
        "algorithm",
        "seed",
        "threads",
        "n_iter",
        "stop_reason",
        "inertia",
        "seconds",
        "simd",
        "n_train",
        "outputs",
    ] {
        assert!(j.get(key).is_some(), "missing {key}: {j}");
    }
    assert_eq!(
        (j["n"].as_u64(), j["d"].as_u64(), j["k"].as_u64()),
        (Some(300), Some(8), Some(4))
    );
    assert_eq!(j["metric"], "l2");
    assert!(
        ["lloyd", "hamerly"].contains(&j["algorithm"].as_str().unwrap()),
        "{j}"
    );
    assert_eq!(j["seed"], 3);
    assert_eq!(j["input"]["zero_copy"], true);
    assert_eq!(j["outputs"]["labels"], s(&labels));
    assert!(j["inertia"].as_f64().unwrap() > 0.0);

    let l = npy::read_labels(&labels).unwrap();
    assert_eq!(l.len(), N);
    assert!(l.iter().all(|&v| (v as usize) < K));
    let c = npy::read_npy(&cents).unwrap();
    assert_eq!((c.n(), c.d()), (K, D));
    let m = KMeansModel::load(&model).unwrap();
    assert_eq!(m.labels(), l.as_slice());
    assert_eq!(m.centroids(), c.view().as_slice());
    assert!((m.inertia() - j["inertia"].as_f64().unwrap()).abs() <= 1e-9 * m.inertia());
    assert!(vorn::eval::v_measure(&b.labels, &l).v_measure > 0.9);
}

#[test]
fn fvecs_gives_the_same_labels_as_npy_at_any_thread_count() {
    let t = Scratch::new("fvecs");
    let b = data();
    let (xn, xf) = (t.path("x.npy"), t.path("x.fvecs"));
    npy::write_npy_2d(&xn, &b.data, N, D).unwrap();
    fvecs::write_fvecs(&xf, &b.data, N, D).unwrap();
    let (l1, l2) = (t.path("l1.npy"), t.path("l2.npy"));
    let j = ok_json(&vorn(&[
        "cluster",
        s(&xn),
        "-k",
        "4",
        "--threads",
        "1",
        "--labels",
        s(&l1),
    ]));
    assert_eq!(j["threads"], 1);
    let j = ok_json(&vorn(&[
        "cluster",
        s(&xf),
        "-k",
        "4",
        "--threads",
        "2",
        "--labels",
        s(&l2),
    ]));
    assert_eq!((j["n"].as_u64(), j["d"].as_u64()), (Some(300), Some(8)));
    assert_eq!(j["input"]["dtype"], "f32");
    assert_eq!(std::fs::read(&l1).unwrap(), std::fs::read(&l2).unwrap());

    // .bvecs: bytes converted to f32.
    let xb = t.path("x.bvecs");
    let bytes: Vec<u8> = b
        .data
        .iter()
        .map(|v| (v.clamp(-10.0, 10.0) * 12.0 + 128.0) as u8)
        .collect();
    std::fs::write(&xb, fvecs::bvecs_bytes(&bytes, N, D).unwrap()).unwrap();
    let lb = t.path("lb.npy");
    let j = ok_json(&vorn(&[
        "cluster",
        s(&xb),
        "-k",
        "4",
        "-q",
        "--labels",
        s(&lb),
    ]));
    assert_eq!(j["input"]["dtype"], "u8");
    assert!(npy::read_labels(&lb).unwrap().iter().all(|&v| v < 4));
}

#[test]
fn assign_reproduces_cluster_labels() {
    let t = Scratch::new("assign");
    let b = data();
    let input = t.path("x.npy");
    npy::write_npy_2d(&input, &b.data, N, D).unwrap();
    for metric in ["l2", "cosine"] {
        let (l, c, m) = (t.path("l.npy"), t.path("c.npy"), t.path("m.vorn"));
        ok_json(&vorn(&[
            "cluster",
            s(&input),
            "-k",
            "5",
            "--metric",
            metric,
            "--init",
            "random",
            "--labels",
            s(&l),
            "--centroids",
            s(&c),
            "--model",
            s(&m),
            "-q",
        ]));
        let want = npy::read_labels(&l).unwrap();

        let la = t.path("la.npy");
        let j = ok_json(&vorn(&[
            "assign",
            s(&input),
            "--model",
            s(&m),
            "--labels",
            s(&la),
            "-q",
        ]));
        assert_eq!(j["metric"], metric);
        assert_eq!(j["k"], 5);
        assert_eq!(npy::read_labels(&la).unwrap(), want, "{metric} via --model");

        let lc = t.path("lc.npy");
        let j = ok_json(&vorn(&[
            "assign",
            s(&input),
            "--centroids",
            s(&c),
            "--metric",
            metric,
            "--labels",
            s(&lc),
            "--threads",
            "1",
            "-q",
        ]));
        assert_eq!(j["n"], 300);
        assert!(j["inertia"].as_f64().unwrap() > 0.0);
        assert_eq!(
            npy::read_labels(&lc).unwrap(),
            want,
            "{metric} via --centroids"
        );
    }
}

#[test]
fn progress_goes_to_stderr_and_json_to_stdout() {
    let t = Scratch::new("progress");
    let b = data();
    let input = t.path("x.npy");
    npy::write_npy_2d(&input, &b.data, N, D).unwrap();
    let out = vorn(&[
        "cluster",
        s(&input),
        "-k",
        "4",
        "--n-init",
        "2",
        "--sample-size",
        "100",
    ]);
    let j = ok_json(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("init") && err.contains("objective"), "{err}");
    assert!(err.contains("run 2/2"), "{err}");
    assert!(!err.contains('\r'), "a pipe gets plain lines: {err:?}");
    assert_eq!(j["n_init"], 2);
    assert_eq!(
        (j["n"].as_u64(), j["n_train"].as_u64()),
        (Some(300), Some(100))
    );
}

#[test]
fn fewer_distinct_rows_than_k_warn_on_stderr_unless_quiet() {
    let t = Scratch::new("dups");
    // Three distinct rows, 20 copies each, five clusters.
    let rows: Vec<f32> = (0..60)
        .flat_map(|i| (0..3).map(move |j| f32::from(u8::from(i / 20 == j))))
        .collect();
    let input = t.path("dups.npy");
    npy::write_npy_2d(&input, &rows, 60, 3).unwrap();
    let out = vorn(&["cluster", s(&input), "-k", "5"]);
    let j = ok_json(&out);
    assert_eq!(j["cluster_sizes"]["empty"], 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("vorn: warning: only 3 of the 5 clusters have members"),
        "{err}"
    );
    let quiet = vorn(&["cluster", s(&input), "-k", "5", "--quiet"]);
    ok_json(&quiet);
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("warning"));
}

#[test]
fn local_search_option_runs_and_rejects_bad_values() {
    let t = Scratch::new("local-search");
    let b = data();
    let input = t.path("x.npy");
    npy::write_npy_2d(&input, &b.data, N, D).unwrap();
    let labels = t.path("l.npy");
    for steps in ["0", "3"] {
        let j = ok_json(&vorn(&[
            "cluster",
            s(&input),
            "-k",
            "4",
            "--seed",
            "3",
            "--local-search",
            steps,
            "--labels",
            s(&labels),
            "-q",
        ]));
        assert!(j["inertia"].as_f64().unwrap() > 0.0, "{j}");
        let l = npy::read_labels(&labels).unwrap();
        assert_eq!(l.len(), N);
        assert!(l.iter().all(|&v| (v as usize) < K));
        assert!(vorn::eval::v_measure(&b.labels, &l).v_measure > 0.9);
    }
    let x = s(&input);
    // A separate "-1" is read as an unknown flag (still a usage error, exit 2).
    fails(
        &vorn(&["cluster", x, "-k", "4", "--local-search", "-1", "-q"]),
        2,
    );
    for bad in [
        "--local-search=-1",
        "--local-search=1.5",
        "--local-search=many",
    ] {
        let e = fails(&vorn(&["cluster", x, "-k", "4", bad, "-q"]), 2);
        assert!(e.contains("--local-search"), "{e}");
    }
}

#[test]
fn split_merge_option_never_worsens_and_rejects_bad_values() {
    let t = Scratch::new("split-merge");
    let b = data();
    let input = t.path("x.npy");
    npy::write_npy_2d(&input, &b.data, N, D).unwrap();
    let x = s(&input);
    for metric in ["l2", "cosine"] {
        let inertia = |moves: &str| {
            let j = ok_json(&vorn(&[
                "cluster",
                x,
                "-k",
                "4",
                "--metric",
                metric,
                "--init",
                "random",
                "--split-merge",
                moves,
                "-q",
            ]));
            j["inertia"].as_f64().unwrap()
        };
        assert!(inertia("4") <= inertia("0"), "{metric}");
    }
    for bad in ["--split-merge=-1", "--split-merge=two"] {
        let e = fails(&vorn(&["cluster", x, "-k", "4", bad, "-q"]), 2);
        assert!(e.contains("--split-merge"), "{e}");
    }
}

#[test]
fn runtime_errors_are_one_line_with_exit_1() {
    let t = Scratch::new("errors");
    let b = data();
    let input = t.path("x.npy");
    npy::write_npy_2d(&input, &b.data, N, D).unwrap();

    let e = fails(&vorn(&["cluster", s(&t.path("absent.npy")), "-k", "3"]), 1);
    assert!(e.contains("absent.npy"), "{e}");

    let csv = t.path("x.csv");
    std::fs::write(&csv, "1,2\n3,4\n").unwrap();
    let e = fails(&vorn(&["cluster", s(&csv), "-k", "2"]), 1);
    assert!(e.contains(".csv") && e.contains(".npy"), "{e}");

    let corrupt = t.path("corrupt.npy");
    let mut bytes = std::fs::read(&input).unwrap();
    bytes.truncate(100);
    std::fs::write(&corrupt, &bytes).unwrap();
    let e = fails(&vorn(&["cluster", s(&corrupt), "-k", "2"]), 1);
    assert!(e.contains("corrupt.npy") && e.contains("truncated"), "{e}");
    std::fs::write(&corrupt, b"this is not numpy").unwrap();
    fails(&vorn(&["cluster", s(&corrupt), "-k", "2"]), 1);

    let e = fails(&vorn(&["cluster", s(&input), "-k", "301"]), 1);
    assert!(e.contains("301") && e.contains("300"), "{e}");

    let e = fails(
        &vorn(&[
            "cluster",
            s(&input),
            "-k",
            "2",
            "--labels",
            "/nonexistent/dir/l.npy",
        ]),
        1,
    );
    assert!(e.contains("does not exist"), "{e}");

    // assign: a model of another dimension, and a corrupt model file.
    let m = t.path("m.vorn");
    ok_json(&vorn(&[
        "cluster",
        s(&input),
        "-k",
        "3",
        "--model",
        s(&m),
        "-q",
    ]));
    let other = t.path("y.npy");
    npy::write_npy_2d(&other, &[1.0f32; 12], 4, 3).unwrap();
    let e = fails(&vorn(&["assign", s(&other), "--model", s(&m)]), 1);
    assert!(e.contains("columns"), "{e}");
    std::fs::write(&m, b"VORNKM garbage").unwrap();
    fails(&vorn(&["assign", s(&input), "--model", s(&m)]), 1);

    // NaN in the data.
    let mut nan = b.data.clone();
    nan[5 * D + 2] = f32::NAN;
    npy::write_npy_2d(&input, &nan, N, D).unwrap();
    let e = fails(&vorn(&["cluster", s(&input), "-k", "2", "-q"]), 1);
    assert!(e.contains("row 5"), "{e}");
}

#[test]
fn usage_errors_are_one_line_with_exit_2() {
    let t = Scratch::new("usage");
    let input = t.path("x.npy");
    npy::write_npy_2d(&input, &[1.0f32, 2.0, 3.0, 4.0], 2, 2).unwrap();
    let x = s(&input);
    for args in [
        vec!["cluster", x],
        vec!["cluster", x, "-k", "2", "--metric", "manhattan"],
        vec!["cluster", x, "-k", "2", "--bogus"],
        vec!["cluster", x, "-k", "0"],
        vec!["cluster", x, "-k", "2", "--tol", "-1"],
        vec!["cluster", x, "-k", "2", "--threads", "0"],
        vec!["cluster", x, "-k", "2", "--labels", "labels.txt"],
        vec!["assign", x],
        vec!["assign", x, "--model", "m.vorn", "--metric", "cosine"],
        vec!["frobnicate"],
    ] {
        fails(&vorn(&args), 2);
    }
    // Help and version are not errors.
    assert!(vorn(&["--version"]).status.success());
    let h = vorn(&["cluster", "--help"]);
    assert!(h.status.success());
    let help = String::from_utf8_lossy(&h.stdout);
    assert!(help.contains("--sample-size"), "{help}");
    assert!(help.contains("--local-search"), "{help}");
}

#[test]
fn demo_runs_small() {
    let out = vorn(&["demo", "--n", "2000", "--k", "10", "-q"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "2000 x 64",
        "k = 10",
        "inertia",
        "MSE",
        "iterations",
        "V-measure",
        "SIMD",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    fails(&vorn(&["demo", "--n", "5", "--k", "10", "-q"]), 1);
    fails(&vorn(&["demo", "--d", "0"]), 2);
}
