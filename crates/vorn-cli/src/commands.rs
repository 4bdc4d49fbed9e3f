//! `vorn cluster` and `vorn assign`, and what they share: loading the input, checking and
//! writing outputs, the objective of given labels, the JSON summary.

use crate::progress::Progress;
use crate::{AssignArgs, CliError, ClusterArgs};
use rayon::prelude::*;
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use vorn::data::{npy, FileFormat, MatrixSource, MatrixView};
use vorn::{KMeansModel, KMeansParams, Metric};

/// Sizes the global pool when `--threads` is given; returns the thread count in use.
pub fn set_threads(threads: Option<usize>) -> Result<usize, CliError> {
    if let Some(t) = threads {
        if t == 0 {
            return Err(CliError::Usage(
                "invalid --threads: must be at least 1 (omit it for all cores)".into(),
            ));
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
            .map_err(|e| CliError::Runtime(format!("cannot start {t} threads: {e}")))?;
    }
    Ok(rayon::current_num_threads())
}

/// An output path named by `flag`: checked before any work so that a typo does not cost a
/// whole fit.
pub struct Output<'a> {
    pub flag: &'static str,
    pub path: &'a Path,
    pub npy: bool,
}

/// Checks outputs: `.npy` where required, an existing directory, not a directory itself,
/// no two outputs on one path, none on the input.
pub fn check_outputs(input: &Path, outs: &[Output<'_>]) -> Result<(), CliError> {
    for (i, o) in outs.iter().enumerate() {
        let shown = o.path.display();
        if o.npy && FileFormat::from_path(o.path) != Some(FileFormat::Npy) {
            return Err(CliError::Usage(format!(
                "{} {shown}: the file name must end in .npy",
                o.flag
            )));
        }
        if outs[..i].iter().any(|p| p.path == o.path) {
            return Err(CliError::Usage(format!(
                "{} {shown}: the same path is given for two outputs",
                o.flag
            )));
        }
        if same_file(input, o.path) {
            return Err(CliError::Usage(format!(
                "{} {shown}: this would overwrite the input; choose another path",
                o.flag
            )));
        }
        let dir = match o.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        if !dir.is_dir() {
            return Err(CliError::Runtime(format!(
                "{} {shown}: directory {} does not exist",
                o.flag,
                dir.display()
            )));
        }
        if o.path.is_dir() {
            return Err(CliError::Runtime(format!(
                "{} {shown}: is a directory; give a file name",
                o.flag
            )));
        }
    }
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Opens an input matrix (format by extension).
pub fn load(path: &Path) -> Result<MatrixSource, CliError> {
    if FileFormat::from_path(path).is_none() {
        let ext = path
            .extension()
            .map(|e| format!("'.{}'", e.to_string_lossy()))
            .unwrap_or_else(|| "no extension".into());
        return Err(CliError::Runtime(format!(
            "{}: unknown input format ({ext}): expected .npy, .fvecs or .bvecs",
            path.display()
        )));
    }
    Ok(MatrixSource::open(path)?)
}

/// Σ squared distance of every row to its labelled centroid (cosine: rows normalised), summed
/// in a fixed order so that the value does not depend on the thread count.
pub fn objective(x: MatrixView<'_>, c: &[f32], labels: &[u32], metric: Metric) -> f64 {
    const CH: usize = 4096;
    let d = x.d();
    let parts: Vec<f64> = (0..x.n().div_ceil(CH))
        .into_par_iter()
        .map(|b| {
            let mut s = 0f64;
            for i in b * CH..((b + 1) * CH).min(x.n()) {
                let row = x.row(i);
                let l = labels[i] as usize;
                let cr = &c[l * d..(l + 1) * d];
                let scale = match metric {
                    Metric::Cosine => {
                        let n2: f64 = row.iter().map(|&v| v as f64 * v as f64).sum();
                        1.0 / n2.sqrt()
                    }
                    _ => 1.0,
                };
                s += row
                    .iter()
                    .zip(cr)
                    .map(|(&v, &w)| {
                        let t = v as f64 * scale - w as f64;
                        t * t
                    })
                    .sum::<f64>();
            }
            s
        })
        .collect();
    parts.iter().sum()
}

/// Smallest and largest cluster, and the number of empty clusters.
pub fn cluster_sizes(labels: &[u32], k: usize) -> Value {
    let mut counts = vec![0usize; k];
    for &l in labels {
        if let Some(c) = counts.get_mut(l as usize) {
            *c += 1;
        }
    }
    json!({
        "min": counts.iter().min().copied().unwrap_or(0),
        "max": counts.iter().max().copied().unwrap_or(0),
        "empty": counts.iter().filter(|&&c| c == 0).count(),
    })
}

/// The warning `vorn cluster` prints when clusters end empty (the data has fewer distinct
/// rows than k), or None.
pub fn empty_warning(sizes: &Value, k: usize) -> Option<String> {
    let empty = sizes["empty"].as_u64().unwrap_or(0) as usize;
    (empty > 0).then(|| {
        format!(
            "only {} of the {k} clusters have members in the final labels: the input probably \
             has fewer than k distinct rows (duplicate points), and the centroids of the empty \
             clusters duplicate others; ask for at most {} clusters",
            k - empty,
            k - empty
        )
    })
}

fn path_json(p: &Option<PathBuf>) -> Value {
    match p {
        Some(p) => Value::String(p.display().to_string()),
        None => Value::Null,
    }
}

/// Prints a JSON value to stdout; a closed pipe (`| head`) is not an error.
pub fn print_json(v: &Value) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(v)
        .map_err(|e| CliError::Runtime(format!("cannot format the summary: {e}")))?;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::Runtime(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

fn input_json(src: &MatrixSource, path: &Path) -> Value {
    json!({
        "path": path.display().to_string(),
        "dtype": src.source_dtype(),
        "zero_copy": src.is_zero_copy(),
    })
}

fn phases_json(times: &[(String, f64)]) -> Value {
    Value::Object(
        times
            .iter()
            .map(|(n, s)| (n.clone(), json!(s)))
            .collect::<serde_json::Map<_, _>>(),
    )
}

/// `vorn cluster`.
pub fn cluster(a: ClusterArgs) -> Result<(), CliError> {
    let t_all = Instant::now();
    check_outputs(
        &a.input,
        &[
            Output {
                flag: "--labels",
                path: a.labels.as_deref().unwrap_or(Path::new("")),
                npy: true,
            },
            Output {
                flag: "--centroids",
                path: a.centroids.as_deref().unwrap_or(Path::new("")),
                npy: true,
            },
            Output {
                flag: "--model",
                path: a.model.as_deref().unwrap_or(Path::new("")),
                npy: false,
            },
        ]
        .into_iter()
        .filter(|o| !o.path.as_os_str().is_empty())
        .collect::<Vec<_>>(),
    )?;
    let params = KMeansParams::new(a.k)
        .metric(a.metric.into())
        .algorithm(a.algorithm.into())
        .init(a.init.into())
        .n_init(a.n_init)
        .max_iter(a.max_iter)
        .tol(a.tol)
        .seed(a.seed)
        .sample_size(a.sample_size)
        .init_sample(a.init_sample)
        .local_search(a.local_search)
        .split_merge(a.split_merge)
        .n_threads(a.threads);
    params.validate()?;
    let threads = set_threads(a.threads)?;
    let progress = Progress::new(a.quiet, 1);

    progress.begin_transient("load");
    let src = load(&a.input)?;
    let x = src.view();
    params.validate_for(x.n(), x.d())?;
    let runs = params.runs(params.train_rows(x.n()), x.d());
    progress.set_runs(runs);

    let t_fit = Instant::now();
    let model = vorn::fit_with(x, &params, &progress)?;
    let fit_secs = t_fit.elapsed().as_secs_f64();

    progress.begin("write");
    if let Some(p) = &a.labels {
        npy::write_labels(p, model.labels())?;
    }
    if let Some(p) = &a.centroids {
        npy::write_npy_2d(p, model.centroids(), model.k(), model.d())?;
    }
    if let Some(p) = &a.model {
        model.save(p)?;
    }
    let times = progress.finish();

    let n = x.n();
    let sizes = cluster_sizes(model.labels(), model.k());
    if let Some(msg) = empty_warning(&sizes, model.k()) {
        if !a.quiet {
            eprintln!("vorn: warning: {msg}");
        }
    }
    print_json(&json!({
        "command": "cluster",
        "input": input_json(&src, &a.input),
        "n": n,
        "d": x.d(),
        "k": model.k(),
        "metric": model.metric().name(),
        "algorithm": model.algorithm().name(),
        "init": params.init.name(),
        "n_init": runs,
        "max_iter": params.max_iter,
        "tol": params.tol,
        "seed": params.seed,
        "threads": threads,
        "n_train": model.n_train(),
        "n_iter": model.n_iter(),
        "stop_reason": model.stop_reason().name(),
        "inertia": model.inertia(),
        "mse": model.inertia() / n as f64,
        "cluster_sizes": sizes,
        "seconds": fit_secs,
        "total_seconds": t_all.elapsed().as_secs_f64(),
        "phase_seconds": phases_json(&times),
        "simd": vorn::simd::active().name(),
        "outputs": {
            "labels": path_json(&a.labels),
            "centroids": path_json(&a.centroids),
            "model": path_json(&a.model),
        },
    }))
}

/// `vorn assign`.
pub fn assign(a: AssignArgs) -> Result<(), CliError> {
    let t_all = Instant::now();
    let outs: Vec<Output<'_>> = a
        .labels
        .as_deref()
        .map(|p| Output {
            flag: "--labels",
            path: p,
            npy: true,
        })
        .into_iter()
        .collect();
    check_outputs(&a.input, &outs)?;
    let threads = set_threads(a.threads)?;
    let progress = Progress::new(a.quiet, 1);

    progress.begin_transient("load");
    let (model, source) = match (&a.model, &a.centroids) {
        (Some(m), _) => (
            KMeansModel::load(m)?,
            json!({ "model": m.display().to_string() }),
        ),
        (None, Some(c)) => {
            let cs = load(c)?;
            let (k, d) = (cs.n(), cs.d());
            let metric: Metric = a.metric.map(Into::into).unwrap_or_default();
            let m = KMeansModel::from_centroids(cs.into_vec(), k, d, metric)?;
            (m, json!({ "centroids": c.display().to_string() }))
        }
        (None, None) => {
            return Err(CliError::Usage(
                "give --model M.vorn or --centroids C.npy".into(),
            ))
        }
    };
    let src = load(&a.input)?;
    let x = src.view();
    if x.d() != model.d() {
        return Err(CliError::Runtime(format!(
            "{}: rows have {} columns but the centroids have {}",
            a.input.display(),
            x.d(),
            model.d()
        )));
    }

    progress.begin("assign");
    let t = Instant::now();
    let labels = model.predict_with(x, a.threads, &progress)?;
    let secs = t.elapsed().as_secs_f64();
    let inertia = objective(x, model.centroids(), &labels, model.metric());

    progress.begin("write");
    if let Some(p) = &a.labels {
        npy::write_labels(p, &labels)?;
    }
    let times = progress.finish();

    print_json(&json!({
        "command": "assign",
        "input": input_json(&src, &a.input),
        "source": source,
        "n": x.n(),
        "d": x.d(),
        "k": model.k(),
        "metric": model.metric().name(),
        "threads": threads,
        "inertia": inertia,
        "mse": inertia / x.n() as f64,
        "cluster_sizes": cluster_sizes(&labels, model.k()),
        "seconds": secs,
        "total_seconds": t_all.elapsed().as_secs_f64(),
        "phase_seconds": phases_json(&times),
        "simd": vorn::simd::active().name(),
        "outputs": { "labels": path_json(&a.labels) },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objective_matches_direct_sum() {
        let data = [0.0f32, 0.0, 3.0, 4.0, 1.0, 1.0];
        let x = MatrixView::new(&data, 3, 2).unwrap();
        let c = [0.0f32, 0.0, 3.0, 3.0];
        let l2 = objective(x, &c, &[0, 1, 0], Metric::L2);
        assert!((l2 - (0.0 + 1.0 + 2.0)).abs() < 1e-12);
        let s = cluster_sizes(&[0, 0, 2], 4);
        assert_eq!(s, json!({"min": 0, "max": 2, "empty": 2}));
        let w = empty_warning(&s, 4).expect("two empty clusters warn");
        assert!(w.starts_with("only 2 of the 4 clusters"), "{w}");
        assert!(w.ends_with("at most 2 clusters"), "{w}");
        assert_eq!(empty_warning(&cluster_sizes(&[0, 1, 2, 3], 4), 4), None);
    }

    #[test]
    fn outputs_are_checked_before_work() {
        let input = Path::new("in.npy");
        let bad = |flag, p: &str, npy| {
            check_outputs(
                input,
                &[Output {
                    flag,
                    path: Path::new(p),
                    npy,
                }],
            )
        };
        assert!(matches!(
            bad("--labels", "l.txt", true),
            Err(CliError::Usage(_))
        ));
        assert!(matches!(
            bad("--labels", "/nonexistent/l.npy", true),
            Err(CliError::Runtime(_))
        ));
        assert!(bad("--model", "m.vorn", false).is_ok());
        let two = [
            Output {
                flag: "--labels",
                path: Path::new("a.npy"),
                npy: true,
            },
            Output {
                flag: "--centroids",
                path: Path::new("a.npy"),
                npy: true,
            },
        ];
        assert!(matches!(
            check_outputs(input, &two),
            Err(CliError::Usage(_))
        ));
    }
}
