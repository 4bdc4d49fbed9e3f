//! The `vorn` command line: `cluster`, `assign` and `demo`.
//!
//! Results go to stdout (a JSON summary for `cluster` and `assign`, a short report for
//! `demo`); progress and errors go to stderr. Every failure is one line,
//! `vorn: error: <what went wrong and what to do>`, with exit status 2 for usage errors (bad
//! flags or parameter values) and 1 for everything else (missing or corrupt files, data
//! problems such as k > n). Panics are bugs; they also print a single line.

mod commands;
mod demo;
mod progress;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use vorn::{Algorithm, Init, KMeansParams, Metric};

/// Fast, deterministic k-means for dense vectors.
#[derive(Parser, Debug)]
#[command(
    name = "vorn",
    version,
    about,
    propagate_version = true,
    arg_required_else_help = true
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Fit k-means to a .npy / .fvecs / .bvecs file; print a JSON summary.
    Cluster(ClusterArgs),
    /// Label every row with its nearest centroid (from a model or a centroid file).
    Assign(AssignArgs),
    /// Cluster a built-in synthetic dataset and report time, objective and quality.
    Demo(DemoArgs),
}

/// Metric names (the core's `Metric`).
#[derive(Clone, Copy, Debug, ValueEnum)]
enum MetricArg {
    /// Squared Euclidean distance.
    L2,
    /// Cosine distance (spherical k-means).
    Cosine,
}

impl From<MetricArg> for Metric {
    fn from(m: MetricArg) -> Metric {
        match m {
            MetricArg::L2 => Metric::L2,
            MetricArg::Cosine => Metric::Cosine,
        }
    }
}

/// Backend names (the core's `Algorithm`).
#[derive(Clone, Copy, Debug, ValueEnum)]
enum AlgorithmArg {
    /// Pick per (n, d, k).
    Auto,
    /// Dense exact Lloyd.
    Lloyd,
    /// Exact Lloyd with Hamerly bound pruning (same labels as lloyd).
    Hamerly,
}

impl From<AlgorithmArg> for Algorithm {
    fn from(a: AlgorithmArg) -> Algorithm {
        match a {
            AlgorithmArg::Auto => Algorithm::Auto,
            AlgorithmArg::Lloyd => Algorithm::Lloyd,
            AlgorithmArg::Hamerly => Algorithm::Hamerly,
        }
    }
}

/// Seeding names (the core's `Init`).
#[derive(Clone, Copy, Debug, ValueEnum)]
enum InitArg {
    /// Greedy k-means++.
    #[value(name = "k-means++", alias = "kmeans++")]
    KMeansPlusPlus,
    /// k distinct rows drawn uniformly.
    Random,
}

impl From<InitArg> for Init {
    fn from(i: InitArg) -> Init {
        match i {
            InitArg::KMeansPlusPlus => Init::KMeansPlusPlus,
            InitArg::Random => Init::Random,
        }
    }
}

fn defaults() -> KMeansParams {
    KMeansParams::default()
}

#[derive(Args, Debug)]
struct ClusterArgs {
    /// Input matrix, n rows × d columns: .npy (2-D; float32 is memory-mapped without a copy),
    /// .fvecs or .bvecs.
    input: PathBuf,
    /// Number of clusters.
    #[arg(
        short = 'k',
        long = "k",
        visible_alias = "n-clusters",
        value_name = "K"
    )]
    k: usize,
    /// Distance metric.
    #[arg(long, value_enum, default_value_t = MetricArg::L2)]
    metric: MetricArg,
    /// Backend (auto resolves from n, d and k; the summary names the one that ran).
    #[arg(long, value_enum, default_value_t = AlgorithmArg::Auto)]
    algorithm: AlgorithmArg,
    /// Seeding.
    #[arg(long, value_enum, default_value_t = InitArg::KMeansPlusPlus)]
    init: InitArg,
    /// Runs from independent seedings; the lowest objective wins [default: automatic: one,
    /// or two with `--algorithm auto` when 2^22 <= n·d·k <= 2^27]. The summary reports the runs made.
    #[arg(long, value_name = "N")]
    n_init: Option<usize>,
    /// Maximum iterations per restart.
    #[arg(long, value_name = "N", default_value_t = defaults().max_iter)]
    max_iter: usize,
    /// Stop when the relative objective decrease falls to T or below.
    #[arg(long, value_name = "T", default_value_t = defaults().tol)]
    tol: f64,
    /// Seed of every random choice (same seed ⇒ same result at any thread count).
    #[arg(long, value_name = "S", default_value_t = defaults().seed)]
    seed: u64,
    /// Worker threads [default: all cores].
    #[arg(long, value_name = "T")]
    threads: Option<usize>,
    /// Train on at most N rows drawn uniformly (labels are still computed for every row).
    #[arg(long, value_name = "N")]
    sample_size: Option<usize>,
    /// k-means++ seeds from N sampled training rows [default: max(16·k, 4096)].
    #[arg(long, value_name = "N")]
    init_sample: Option<usize>,
    /// Swap steps of local search after k-means++ (0 = plain greedy k-means++)
    /// [default: automatic].
    #[arg(long, value_name = "N")]
    local_search: Option<usize>,
    /// Most split–merge moves refining the best run (0 = none) [default: automatic, l2:
    /// k moves with the auto algorithm when n·d·k ≤ 2²⁴].
    #[arg(long, value_name = "N")]
    split_merge: Option<usize>,
    /// Write the label of every row (1-D int32 .npy).
    #[arg(long, value_name = "OUT.npy")]
    labels: Option<PathBuf>,
    /// Write the k × d float32 centroids (.npy).
    #[arg(long, value_name = "OUT.npy")]
    centroids: Option<PathBuf>,
    /// Write the fitted model (.vorn; read back by `vorn assign --model`).
    #[arg(long, value_name = "OUT.vorn")]
    model: Option<PathBuf>,
    /// No progress on stderr.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Args, Debug)]
#[command(group(ArgGroup::new("source").required(true).args(["model", "centroids"])))]
struct AssignArgs {
    /// Input matrix: .npy, .fvecs or .bvecs.
    input: PathBuf,
    /// A model written by `vorn cluster --model`.
    #[arg(long, value_name = "M.vorn")]
    model: Option<PathBuf>,
    /// A k × d centroid matrix (.npy, .fvecs or .bvecs).
    #[arg(long, value_name = "C.npy")]
    centroids: Option<PathBuf>,
    /// Metric for --centroids (a model file carries its own).
    #[arg(long, value_enum, requires = "centroids", conflicts_with = "model")]
    metric: Option<MetricArg>,
    /// Write the label of every row (1-D int32 .npy).
    #[arg(long, value_name = "OUT.npy")]
    labels: Option<PathBuf>,
    /// Worker threads [default: all cores].
    #[arg(long, value_name = "T")]
    threads: Option<usize>,
    /// No progress on stderr.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Args, Debug)]
struct DemoArgs {
    /// Rows of the synthetic dataset.
    #[arg(long, value_name = "N", default_value_t = 200_000)]
    n: usize,
    /// Dimension.
    #[arg(long, value_name = "D", default_value_t = 64)]
    d: usize,
    /// Clusters to fit.
    #[arg(short = 'k', long = "k", value_name = "K", default_value_t = 100)]
    k: usize,
    /// True Gaussian centres in the data [default: K].
    #[arg(long, value_name = "C")]
    centers: Option<usize>,
    /// Seed of the data and of the fit.
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,
    /// Worker threads [default: all cores].
    #[arg(long, value_name = "T")]
    threads: Option<usize>,
    /// No progress on stderr.
    #[arg(short, long)]
    quiet: bool,
}

/// A failure, classified for the exit status.
#[derive(Debug)]
pub enum CliError {
    /// Bad flags or parameter values: exit 2.
    Usage(String),
    /// Anything else: exit 1.
    Runtime(String),
}

impl From<vorn::Error> for CliError {
    fn from(e: vorn::Error) -> Self {
        match &e {
            vorn::Error::InvalidParameter { name, message } => {
                let flag = match *name {
                    "n_clusters" => "-k",
                    "n_init" => "--n-init",
                    "max_iter" => "--max-iter",
                    "tol" => "--tol",
                    "sample_size" => "--sample-size",
                    "init_sample" => "--init-sample",
                    "local_search" => "--local-search",
                    "split_merge" => "--split-merge",
                    "n_threads" => "--threads",
                    "algorithm" => "--algorithm",
                    "metric" => "--metric",
                    "init" => "--init",
                    "centroids" => "--centroids",
                    other => other,
                };
                CliError::Usage(format!("invalid {flag}: {message}"))
            }
            vorn::Error::TooManyClusters { k, n } => CliError::Runtime(format!(
                "-k {k} is larger than the number of rows ({n}): ask for at most {n} clusters"
            )),
            _ => CliError::Runtime(e.to_string()),
        }
    }
}

/// One line, whatever the message contains.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn report_error(msg: &str) {
    // Overwrite a half-drawn progress line on a terminal.
    let clear = if std::io::stderr().is_terminal() {
        "\r\x1b[2K"
    } else {
        ""
    };
    eprintln!("{clear}vorn: error: {}", one_line(msg));
}

fn clap_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return ExitCode::from(2);
        }
        _ => {}
    }
    let text = e.render().to_string();
    // The first paragraph is the error (with e.g. the missing flags or the possible values on
    // the following lines); later paragraphs are tips and usage.
    let first = text
        .split("\n\n")
        .map(str::trim)
        .find(|p| !p.is_empty())
        .unwrap_or("invalid arguments");
    let first = one_line(first.strip_prefix("error: ").unwrap_or(first));
    let tip = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("tip:"))
        .map(|t| format!(" ({t})"))
        .unwrap_or_default();
    report_error(&format!("{first}{tip}; see 'vorn --help'"));
    ExitCode::from(2)
}

fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = if let Some(s) = info.payload().downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = info.payload().downcast_ref::<String>() {
            s.clone()
        } else {
            "panic".to_string()
        };
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        report_error(&format!(
            "internal error: {msg}{at} (this is a bug in vorn; please report it)"
        ));
    }));
}

fn main() -> ExitCode {
    install_panic_hook();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return clap_error(e),
    };
    let result = match cli.cmd {
        Cmd::Cluster(a) => commands::cluster(a),
        Cmd::Assign(a) => commands::assign(a),
        Cmd::Demo(a) => demo::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Usage(m)) => {
            report_error(&m);
            ExitCode::from(2)
        }
        Err(CliError::Runtime(m)) => {
            report_error(&m);
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn errors_are_one_line_and_classified() {
        assert_eq!(one_line("a\n  b\tc "), "a b c");
        let e: CliError = vorn::Error::param("n_init", "must be at least 1").into();
        assert!(matches!(e, CliError::Usage(m) if m == "invalid --n-init: must be at least 1"));
        let e: CliError = vorn::Error::TooManyClusters { k: 5, n: 2 }.into();
        assert!(matches!(e, CliError::Runtime(_)));
    }
}
