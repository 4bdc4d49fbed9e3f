//! `vorn demo`: k-means on a deterministic labelled synthetic dataset generated in-process
//! (Gaussian blobs with varied spreads, [`vorn::data::synth::blobs`]), with a short report:
//! dataset, time per phase, objective, iterations and stop reason, agreement with the true
//! components (V-measure, ARI) and the SIMD kernels in use.
//!
//! The default (200 000 × 64, 100 true centres, k = 100) fits in a few seconds on two cores in
//! a release build.

use crate::commands::set_threads;
use crate::progress::Progress;
use crate::{CliError, DemoArgs};
use std::io::Write;
use std::time::Instant;
use vorn::data::MatrixView;
use vorn::{Init, KMeansParams, Metric};

/// Largest dataset the demo generates (values), 8 GiB of f32.
const MAX_VALUES: usize = 1 << 31;

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// `vorn demo`.
pub fn run(a: DemoArgs) -> Result<(), CliError> {
    let centers = a.centers.unwrap_or(a.k);
    for (flag, v) in [
        ("--n", a.n),
        ("--d", a.d),
        ("-k", a.k),
        ("--centers", centers),
    ] {
        if v == 0 {
            return Err(CliError::Usage(format!(
                "invalid {flag}: must be at least 1"
            )));
        }
    }
    match a.n.checked_mul(a.d) {
        Some(v) if v <= MAX_VALUES => {}
        _ => {
            return Err(CliError::Usage(format!(
                "invalid --n/--d: {} × {} values exceed the demo's limit of {MAX_VALUES}",
                a.n, a.d
            )))
        }
    }
    let threads = set_threads(a.threads)?;
    let progress = Progress::new(a.quiet, 1);

    progress.begin_transient("generate");
    let t = Instant::now();
    let blobs = vorn::data::synth::blobs(a.n, a.d, centers, a.seed);
    let gen_secs = t.elapsed().as_secs_f64();
    let x = MatrixView::new(&blobs.data, blobs.n, blobs.d)?;

    let params = KMeansParams::new(a.k)
        .metric(Metric::L2)
        .init(Init::KMeansPlusPlus)
        .seed(a.seed)
        .n_threads(a.threads);
    let t = Instant::now();
    let model = vorn::fit_with(x, &params, &progress)?;
    let secs = t.elapsed().as_secs_f64();
    let times = progress.finish();

    let v = vorn::eval::v_measure(&blobs.labels, model.labels());
    let ari = vorn::eval::adjusted_rand(&blobs.labels, model.labels());
    let inertia = model.inertia();
    let mse = inertia / a.n as f64;
    let phases: Vec<String> = times
        .iter()
        .filter(|(n, _)| n != "generate")
        .map(|(n, s)| format!("{n} {s:.2} s"))
        .collect();
    let tol_text = format!(
        "tolerance (relative objective decrease <= {:e})",
        params.tol
    );
    let stop = match model.stop_reason() {
        vorn::StopReason::Converged => "converged (no label changed)",
        vorn::StopReason::Tolerance => &tol_text,
        vorn::StopReason::MaxIter => "max_iter reached",
    };

    let report = format!(
        "vorn demo: exact k-means on synthetic Gaussian blobs\n\
         \x20 dataset     {n} x {d} f32 ({size:.1} MiB), {centers} true centres, seed {seed} (generated in {gen_secs:.2} s)\n\
         \x20 fit         k = {k}, k-means++, metric l2, algorithm {algo}, {threads} thread(s), SIMD {simd}\n\
         \x20 time        {secs:.2} s ({phases})\n\
         \x20 objective   inertia {inertia:.6e}, MSE {mse:.4} per point ({mse_d:.4} per dimension)\n\
         \x20 iterations  {iters}, stopped: {stop}\n\
         \x20 quality     V-measure {vm:.4} vs the true centres (homogeneity {h:.4}, completeness {c:.4}), ARI {ari:.4}\n",
        n = a.n,
        d = a.d,
        size = mib(a.n * a.d * 4),
        seed = a.seed,
        k = a.k,
        algo = model.algorithm().name(),
        simd = vorn::simd::active().name(),
        phases = phases.join(", "),
        mse_d = mse / a.d as f64,
        iters = model.n_iter(),
        vm = v.v_measure,
        h = v.homogeneity,
        c = v.completeness,
    );
    let mut out = std::io::stdout().lock();
    match out.write_all(report.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::Runtime(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}
