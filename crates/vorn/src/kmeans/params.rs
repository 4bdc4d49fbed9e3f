//! k-means parameters: a plain struct with `Default`, chainable setters and `validate()`.

use crate::cluster::Algorithm;
use crate::error::{Error, Result};
use crate::metric::Metric;

/// Training rows per centre `auto` samples on large inputs (see [`KMeansParams::train_rows`]).
pub const AUTO_POINTS_PER_CENTROID: usize = 512;
/// Training rows per centre `auto` samples at small k (see [`KMeansParams::train_rows`]).
pub const AUTO_SMALL_K_POINTS_PER_CENTROID: usize = 1024;
/// Fewest training rows `auto` samples (see [`KMeansParams::train_rows`]).
pub const AUTO_MIN_TRAIN: usize = 65_536;
/// `auto` samples only inputs of more than twice max(512·k, this) rows (see
/// [`KMeansParams::train_rows`]).
pub const AUTO_SAMPLE_ABOVE: usize = 131_072;

/// Runs `auto` makes when one run is cheap (see [`KMeansParams::runs`]).
pub const AUTO_RESTARTS: usize = 2;
/// `auto` restarts when n·d·k (multiply-adds of one pass over the training rows) is at most
/// this (see [`KMeansParams::runs`]).
pub const AUTO_RESTART_WORK: u64 = 1 << 27;
/// ... and at least this (see [`KMeansParams::runs`]).
pub const AUTO_RESTART_MIN_WORK: u64 = 1 << 22;

/// `auto` refines its best run by split–merge moves (see [`KMeansParams::split_merge_moves`])
/// when n·d·k is at most this.
pub const AUTO_SPLIT_MERGE_WORK: u64 = 1 << 24;

/// Bound on a fit's multiply-adds below which it is short enough to run without polling for
/// cancellation ([`KMeansParams::is_quick`]): 2³⁰ multiply-adds take well under a second on
/// one core.
pub const QUICK_FIT_WORK: u64 = 1 << 30;

/// Working memory split–merge moves may take at most (the 64 MiB the fit's peak RSS allows
/// beyond the data; see [`split_merge_bytes`]).
pub const SPLIT_MERGE_MAX_BYTES: u64 = 64 << 20;

/// Upper bound of the working memory of split–merge moves on m training rows of d columns:
/// per row, a copy of its label (4 bytes), its place in the per-cluster row lists (8), and,
/// when the three clusters of a move hold every row, its packed copy (4·d), squared norm (4),
/// index (2 × 8) and local labels (2 × 8); under cosine also its unit copy (4·d).
pub(crate) fn split_merge_bytes(m: usize, d: usize, metric: Metric) -> u64 {
    let unit = if metric == Metric::Cosine {
        4 * d as u64
    } else {
        0
    };
    (m as u64).saturating_mul(48 + 4 * d as u64 + unit)
}

/// Most swap steps of automatic local search ([`KMeansParams::local_search`] unset).
///
/// A swap repairs a seeding mistake at the scale of the natural clusters (two centres in
/// one group, one across two), which matters when k is near their count; with many more
/// centres than groups Lloyd repairs such mistakes locally. Meanwhile k steps over the
/// 16·k seeding rows cost O(k²) and, at k = 1024, ~1 ms each in per-step work (draws,
/// swap evaluation, nearest-pair repair). Measured with `examples/fit_file` (25 iterations,
/// 2 threads, seeds 0–1; objective and seeding time, k steps → 256 → 128): blobs 200k ×
/// 128, k = 1024: MSE 81.105/81.089 → 81.000/80.995 → 80.979/80.969, seeding 1.6/2.1 →
/// 1.2/1.4 → 1.0/1.0 s; k = 512: 82.332/82.361 → 82.303/82.325 → 82.284/82.277; GloVe
/// 400k × 50 cosine, k = 1024: mean cosine 0.69860/0.69829 → 0.69828/0.69804 →
/// 0.69829/0.69819, seeding 1.3/1.0 → 0.8/0.5 → 0.5/0.6 s; uniform 1M × 64, k = 1024:
/// MSE 4.4512/4.4511 → 4.4513/4.4510, seeding 1.3/1.3 → 0.8/0.8 s. But at k = 256, the
/// true count of the blobs, 128 steps lost 0.6–1.3% (86.21/86.04 → 86.76/87.15), so the
/// cap sits at 256 and k ≤ 256 keeps its k steps.
pub const LOCAL_SEARCH_MAX_STEPS: usize = 256;

/// Multiply-adds of one pass over n rows of d columns with k centres, n·d·k (saturating).
pub(crate) fn pass_work(n: usize, d: usize, k: usize) -> u64 {
    (n as u64).saturating_mul(d as u64).saturating_mul(k as u64)
}

/// How the first centroids are chosen.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Init {
    /// Greedy k-means++ (Arthur & Vassilvitskii 2007): each step draws `n_local_trials`
    /// candidates with probability ∝ D² and keeps the one that lowers the potential most
    /// (scikit-learn's variant). Candidates are evaluated in parallel. Followed by
    /// `local_search` swap steps (default min(k, 256); `Some(0)` gives scikit-learn's seeding
    /// exactly).
    #[default]
    KMeansPlusPlus,
    /// k distinct rows drawn uniformly (FAISS's default).
    Random,
    /// Caller-supplied row-major `k × d` centroids (for cosine they are normalised).
    Given(Vec<f32>),
}

impl Init {
    /// Name used by the bindings (`"k-means++"`, `"random"`, `"given"`).
    pub fn name(&self) -> &'static str {
        match self {
            Init::KMeansPlusPlus => "k-means++",
            Init::Random => "random",
            Init::Given(_) => "given",
        }
    }
}

/// Parameters of a k-means fit. Every default is documented with where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansParams {
    /// Number of clusters. Default 8 (scikit-learn's `n_clusters`).
    pub k: usize,
    /// Metric. Default L2.
    pub metric: Metric,
    /// Backend. Default `Auto` (a static function of n, d, k; see [`crate::cluster::select`]).
    pub algorithm: Algorithm,
    /// Seeding. Default k-means++ (scikit-learn's default; good minima on separated data).
    pub init: Init,
    /// Runs from independent seedings; the one with the lowest objective wins (ties: the
    /// first). Default `None` = automatic (see [`KMeansParams::runs`]): one run, except that
    /// `algorithm = auto` makes two when a run is cheap.
    pub n_init: Option<usize>,
    /// Maximum Lloyd iterations per run. Default 300 (scikit-learn).
    pub max_iter: usize,
    /// Stop when the relative objective decrease (J_{t-1} − J_t)/J_{t-1} ≤ tol. Default 1e-4
    /// (scikit-learn's number, applied to the objective rather than to centre shift). A run
    /// also stops when no label changes (an exact fixed point).
    pub tol: f64,
    /// Seed of every random choice. Default 0.
    pub seed: u64,
    /// Train on at most this many rows drawn uniformly without replacement (labels are then
    /// computed for all rows). Default `None`: all rows, except that `auto` samples very
    /// large inputs (see [`KMeansParams::train_rows`]).
    pub sample_size: Option<usize>,
    /// FAISS-style cap: train on at most `k × max_points_per_centroid` rows (FAISS uses 256).
    /// Default `None`: no cap. When both caps are set the smaller applies.
    pub max_points_per_centroid: Option<usize>,
    /// Worker threads. Default `None`: the global rayon pool (all cores). Results do not
    /// depend on it.
    pub n_threads: Option<usize>,
    /// Candidates per k-means++ step. Default `None` = 2 + ⌊ln k⌋ (scikit-learn).
    pub n_local_trials: Option<usize>,
    /// Rows k-means++ seeds from (a uniform sample of the training rows). k-means++ makes k
    /// passes over its rows, so on large inputs seeding would cost more than the iterations.
    /// Default `None` = automatic: min(n_train, max(16·k, 4096)). Seeding and local search
    /// make ~2k passes over these rows and are bound by memory bandwidth, so fewer rows are
    /// much faster: on blobs 20k × 128, k=256 (seeds 0–2, with local search) 4096 rows gave
    /// MSE 84.7–85.3 in 0.32–0.45 s against 85.1–85.7 in 0.79–0.93 s from 16 384 rows; on
    /// anisotropic 100k × 768, k=64 1128–1144 against 1117–1149. Measured earlier with
    /// `examples/fit_probe` on blobs 200k × 128 (no local search): at k = 1024 the final MSE after 25 Lloyd
    /// iterations was 222.74 seeding from 16 384 rows vs 222.90 from 65 536 rows (4× the
    /// seeding time); at k = 256 (the true count) the spread between seeds of any sample size
    /// is larger than the effect of the size. FAISS trains on 256 points per centroid.
    /// Fewer rows where seeding is long (k·rows·d ≤ 2²⁵, at least 32·k, below 4096) were
    /// tried and not kept: 20 Newsgroups 18 846 × 384, k = 40 from 2184 rows and k = 80 from
    /// 2560 kept their quality (seeds 0–9, l2 and cosine, means within 0.03%) for ~10–15 ms
    /// less of 70–150 ms fits, Fashion-MNIST k = 20/40 too, but anisotropic 100k × 768 lost:
    /// k = 32 from 1365 rows mean MSE 1423.8 → 1430.2, k = 64 from 2048 1140.3 → 1143.5
    /// (seeds 0–5), against a 0.5% band; and 2048 rows at k = 10 under cosine lost 0.36%.
    /// `Some(usize::MAX)` seeds from every training row (scikit-learn's behaviour).
    pub init_sample: Option<usize>,
    /// Swap steps of local search after k-means++ (see `kmeans::local_search`): each step
    /// draws `n_local_trials` rows ∝ D² and replaces the centre whose exchange lowers the
    /// seeding rows' cost most, if any does. Default `None` = automatic: min(k,
    /// `LOCAL_SEARCH_MAX_STEPS` = 256) steps. Measured
    /// with `examples/fit_file` on the benchmark sets (25 iterations, seeds 0–2), objective
    /// with 0 → k steps: blobs 200k × 128 k=256 MSE 88.8–90.6 → 86.0–86.3; anisotropic
    /// 100k × 768 k=64 1177–1192 → 1117–1149; digits k=10 648.6–652.1 → 648.4–648.6;
    /// 20newsgroups cosine k=20 0.4244–0.4292 → 0.4279–0.4299; Fashion-MNIST and GloVe
    /// unchanged within seed spread. Fewer steps (k/4, k/2) gave less. The one set where plain
    /// k-means++ (`n_local_trials = 1`, no local search) did better is 20 Newsgroups cosine at
    /// k = 10–16 (mean cosine, seeds 0–11 / 0–7: 0.37876 → 0.38209 at k = 10, 0.41327 →
    /// 0.41443 at k = 16); it did worse at k = 5, 20 and 40 there, on GloVe k = 16,
    /// Fashion-MNIST cosine k = 10, anisotropic and blobs cosine k = 16 (−1.3 to −2.2%), and
    /// on digits (l2 k = 5: MSE 839.5 → 848.5), so it is not a rule. Cost: a step is one
    /// kernel pass over the seeding rows with one 16-wide centroid panel. `Some(0)` = plain
    /// greedy k-means++ (scikit-learn's seeding).
    pub local_search: Option<usize>,
    /// Most split–merge moves refining the best run (see `kmeans::split_merge`; under cosine
    /// on the unit rows):
    /// each splits the cluster of largest SSE, merges the cheapest pair of others, relaxes
    /// the three centres on their rows and, when that lowers their SSE, reruns Lloyd from
    /// the moved centres, keeping the result when its objective is lower (not after a run
    /// cut at `max_iter`). Default `None` =
    /// automatic (see [`KMeansParams::split_merge_moves`]); `Some(0)` disables.
    pub split_merge: Option<usize>,
}

impl Default for KMeansParams {
    fn default() -> Self {
        KMeansParams {
            k: 8,
            metric: Metric::L2,
            algorithm: Algorithm::Auto,
            init: Init::KMeansPlusPlus,
            n_init: None,
            max_iter: 300,
            tol: 1e-4,
            seed: 0,
            sample_size: None,
            max_points_per_centroid: None,
            n_threads: None,
            n_local_trials: None,
            init_sample: None,
            local_search: None,
            split_merge: None,
        }
    }
}

impl KMeansParams {
    /// Defaults with `k` clusters.
    ///
    /// ```
    /// let p = vorn::KMeansParams::new(16).seed(7).max_iter(50);
    /// assert_eq!(p.k, 16);
    /// ```
    pub fn new(k: usize) -> Self {
        KMeansParams {
            k,
            ..Default::default()
        }
    }
    /// Sets `metric`.
    pub fn metric(mut self, m: Metric) -> Self {
        self.metric = m;
        self
    }
    /// Sets `algorithm`.
    pub fn algorithm(mut self, a: Algorithm) -> Self {
        self.algorithm = a;
        self
    }
    /// Sets `init`.
    pub fn init(mut self, i: Init) -> Self {
        self.init = i;
        self
    }
    /// Sets `n_init` (`None` = automatic).
    pub fn n_init(mut self, v: impl Into<Option<usize>>) -> Self {
        self.n_init = v.into();
        self
    }
    /// Sets `max_iter`.
    pub fn max_iter(mut self, v: usize) -> Self {
        self.max_iter = v;
        self
    }
    /// Sets `tol`.
    pub fn tol(mut self, v: f64) -> Self {
        self.tol = v;
        self
    }
    /// Sets `seed`.
    pub fn seed(mut self, v: u64) -> Self {
        self.seed = v;
        self
    }
    /// Sets `sample_size`.
    pub fn sample_size(mut self, v: Option<usize>) -> Self {
        self.sample_size = v;
        self
    }
    /// Sets `max_points_per_centroid`.
    pub fn max_points_per_centroid(mut self, v: Option<usize>) -> Self {
        self.max_points_per_centroid = v;
        self
    }
    /// Sets `n_threads`.
    pub fn n_threads(mut self, v: Option<usize>) -> Self {
        self.n_threads = v;
        self
    }
    /// Sets `n_local_trials`.
    pub fn n_local_trials(mut self, v: Option<usize>) -> Self {
        self.n_local_trials = v;
        self
    }

    /// Sets `init_sample`.
    pub fn init_sample(mut self, v: Option<usize>) -> Self {
        self.init_sample = v;
        self
    }

    /// Sets `local_search` (swap steps after k-means++; `Some(0)` disables).
    pub fn local_search(mut self, v: Option<usize>) -> Self {
        self.local_search = v;
        self
    }

    /// Sets `split_merge` (most split–merge moves after the best run; `Some(0)` disables).
    pub fn split_merge(mut self, v: Option<usize>) -> Self {
        self.split_merge = v;
        self
    }

    /// Most split–merge moves on `n_train` training rows of `d` columns: `split_merge` when
    /// set; otherwise, for `algorithm = auto` under l2 with a drawn seeding (not given) and
    /// n_train·d·k ≤ 2²⁴ (`AUTO_SPLIT_MERGE_WORK`: passes of at most a few milliseconds)
    /// within 64 MiB of working memory (`SPLIT_MERGE_MAX_BYTES`), k moves; else none (a set value
    /// beyond that budget is an error).
    ///
    /// Why: on such fits a run's minimum depends on its seeding by more than the 0.5% that
    /// separates good minima, and a move costs about as much as a few local Lloyd passes.
    /// Measured on digits 1797 × 64 (Python, 2 threads, seeds 0–99; mean MSE, and share of
    /// seeds within 0.5% of the committed benchmark's best objective — 833.41 at k = 5, which
    /// these moves found, 648.42, 523.87 and 425.41 at k = 10, 20, 40; without → with
    /// moves): k = 5 841.09 → 837.88, 43% → 54% (two runs instead: 837.01, 68%); k = 10
    /// 650.80 → 649.19, 83% → 97%; k = 20 527.25 → 524.32, 47% → 79% (two runs: 525.35,
    /// 70%); k = 40 (two runs either way) 426.56 → 425.49, 78% → 91%. The median fit took 0.4–0.6 ms more (1.5 → 2.1 ms at k = 5, 3.7 → 4.2 ms at k = 20); a
    /// fit that keeps a move pays about 1 ms (k = 5, seed 0: 0.9 → 1.7 ms, MSE 845.90 →
    /// 833.41). Above the bound the single-threaded relaxations weigh more than they buy: 20
    /// Newsgroups 18 846 × 384 l2, k = 10 (n·d·k ≈ 2²⁶, seeds 0–15): mean MSE 0.85031 →
    /// 0.84984 for 42.7 → 60.7 ms. Not automatic under cosine, where moves (on the unit
    /// rows) bought less: digits k = 5–40 (seeds 0–39) mean cosine +0.02% to +0.05% for
    /// 0.4–0.6 ms; the first 4000 rows of 20 Newsgroups, k = 10: seeds within 0.5% of the best
    /// 70% → 88%, mean +0.1%, 19 → 24 ms; k = 20 +0.03%, 33 → 35 ms. (The times above
    /// predate the fused panel kernels of `kmeans::panel_lloyd`, which took the refinement of
    /// the k = 5, seed 0 fit from 0.95–1.02 to 0.68–0.77 ms.) `bench/restarts.py --cells
    /// digits:l2:5,digits:l2:10,digits:l2:20,digits:l2:40 --runs 1,2 --split-merge off,auto`
    /// reproduces the digits figures.
    pub fn split_merge_moves(&self, n_train: usize, d: usize) -> usize {
        match (self.split_merge, &self.init) {
            (Some(m), _) => m,
            (None, Init::Given(_)) => 0,
            (None, _)
                if self.algorithm == Algorithm::Auto
                    && self.metric == Metric::L2
                    && pass_work(n_train, d, self.k) <= AUTO_SPLIT_MERGE_WORK
                    && split_merge_bytes(n_train, d, self.metric) <= SPLIT_MERGE_MAX_BYTES =>
            {
                self.k
            }
            (None, _) => 0,
        }
    }

    /// Swap steps of local search after seeding `n_seed` rows: `local_search`, or
    /// min(k, `LOCAL_SEARCH_MAX_STEPS` = 256) when unset.
    pub fn local_search_steps(&self, n_seed: usize) -> usize {
        if n_seed <= self.k {
            return 0;
        }
        self.local_search
            .unwrap_or(self.k.min(LOCAL_SEARCH_MAX_STEPS))
    }

    /// Rows k-means++ seeds from, out of `n_train` training rows.
    pub fn init_rows(&self, n_train: usize) -> usize {
        let auto = self.k.saturating_mul(16).max(4096);
        self.init_sample
            .unwrap_or(auto)
            .min(n_train)
            .max(self.k.min(n_train))
    }

    /// Runs from independent seedings on `n_train` training rows of `d` columns: `n_init`
    /// when set; otherwise one, except that `algorithm = auto` makes `AUTO_RESTARTS` = 2
    /// when 2²² ≤ n_train·d·k ≤ 2²⁷ (`AUTO_RESTART_MIN_WORK`, `AUTO_RESTART_WORK`: a run of
    /// a few to a few tens of milliseconds on two cores) and the seeding is drawn (not given).
    ///
    /// Why: at small k the objective of a single run spreads over seeds by more than
    /// the 0.5% that separates good from poor minima (one bad merge or split of a natural
    /// group moves a large share of the rows), and where a run is cheap a second one is the
    /// surest repair. Measured with `examples/fit_file` (25 iterations, 2 threads, seeds
    /// 0–23; mean objective of one run → best of two): 20 Newsgroups l2 k = 10 MSE 0.85130
    /// → 0.85011, cosine k = 10 (seeds 0–39) mean cosine 0.38030 → 0.38237 (one run's mean
    /// ranked 7 of 9 benchmark rows, the best of two ranks first); digits k = 10 MSE 651.13 →
    /// 648.88, k = 20 527.27 → 525.20, k = 5 (seeds 0–39) 841.51 → 837.68. Gains shrink as
    /// k grows (20 Newsgroups cosine k = 20 +0.13%, k = 40 +0.06%) while a run's cost grows
    /// with k, hence the upper bound on work rather than on k alone. The two runs go side by
    /// side, one per half of the pool (see `fit`), so on two cores they cost ~1.25–1.6× one
    /// run. The lower bound is a choice of speed over quality for millisecond fits: there a
    /// run is mostly fixed per-run costs (k seeding steps, thread hand-offs) and, timed from
    /// Python in fresh processes as the benchmark does, a second run added ~1 ms to fits of
    /// 2–5 ms (digits 1797 × 64, k = 10: median of 12, 3.9 → 4.8 ms), the margin by which
    /// vorn leads the fastest peers there; `n_init = 2` buys the gains above.
    pub fn runs(&self, n_train: usize, d: usize) -> usize {
        match (self.n_init, &self.init) {
            (Some(r), _) => r,
            (None, Init::Given(_)) => 1,
            (None, _) if self.algorithm == Algorithm::Auto => {
                if (AUTO_RESTART_MIN_WORK..=AUTO_RESTART_WORK)
                    .contains(&pass_work(n_train, d, self.k))
                {
                    AUTO_RESTARTS
                } else {
                    1
                }
            }
            (None, _) => 1,
        }
    }

    /// Whether a fit of `n` × `d` rows is surely short: an upper bound of its multiply-adds,
    /// n·d·k·(2·max_iter + 64) per run (the passes of a run and of a split–merge rerun;
    /// seeding, local search and the moves' local passes cost at most 64 passes' worth at
    /// the k this admits), within `QUICK_FIT_WORK` = 2³⁰. The Python binding runs such fits on
    /// the calling thread without its worker thread and Ctrl-C polling (Ctrl-C then acts
    /// when the fit returns, a fraction of a second later at most): starting that thread and
    /// waking the pool from it cost ~0.05 ms of a 2.4 ms digits fit (k = 5) in a fresh process.
    pub fn is_quick(&self, n: usize, d: usize) -> bool {
        let m = self.train_rows(n);
        let passes = (self.max_iter as u64).saturating_mul(2).saturating_add(64);
        pass_work(m, d, self.k)
            .saturating_mul(passes)
            .saturating_mul(self.runs(m, d) as u64)
            <= QUICK_FIT_WORK
    }

    /// Checks the parameters alone (no data).
    pub fn validate(&self) -> Result<()> {
        if self.k == 0 {
            return Err(Error::param("n_clusters", "must be at least 1"));
        }
        if self.k > u32::MAX as usize {
            return Err(Error::param("n_clusters", "must fit in 32 bits"));
        }
        if self.n_init == Some(0) {
            return Err(Error::param("n_init", "must be at least 1"));
        }
        if self.max_iter == 0 {
            return Err(Error::param("max_iter", "must be at least 1"));
        }
        if !(self.tol >= 0.0 && self.tol.is_finite()) {
            return Err(Error::param(
                "tol",
                format!("must be a finite number >= 0, got {}", self.tol),
            ));
        }
        if self.sample_size == Some(0) {
            return Err(Error::param(
                "sample_size",
                "must be at least 1 (or unset for all rows)",
            ));
        }
        if self.max_points_per_centroid == Some(0) {
            return Err(Error::param(
                "max_points_per_centroid",
                "must be at least 1 (or unset)",
            ));
        }
        if self.n_threads == Some(0) {
            return Err(Error::param(
                "n_threads",
                "must be at least 1 (or unset for all cores)",
            ));
        }
        if self.init_sample == Some(0) {
            return Err(Error::param(
                "init_sample",
                "must be at least 1 (or unset for automatic)",
            ));
        }
        if self.n_local_trials == Some(0) {
            return Err(Error::param("n_local_trials", "must be at least 1"));
        }
        if let Init::Given(c) = &self.init {
            if c.len() % self.k != 0 || c.is_empty() {
                return Err(Error::param(
                    "init",
                    format!("{} values cannot be {} centroids", c.len(), self.k),
                ));
            }
            if self.n_init.is_some_and(|r| r > 1) {
                return Err(Error::param(
                    "n_init",
                    "must be 1 when initial centroids are given (restarts would be identical)",
                ));
            }
        }
        Ok(())
    }

    /// Checks the parameters against data of `n` rows and `d` columns.
    pub fn validate_for(&self, n: usize, d: usize) -> Result<()> {
        self.validate()?;
        if n == 0 {
            return Err(Error::EmptyInput);
        }
        if d == 0 {
            return Err(Error::ZeroDimension);
        }
        if self.k > n {
            return Err(Error::TooManyClusters { k: self.k, n });
        }
        if let Init::Given(c) = &self.init {
            if c.len() != self.k * d {
                return Err(Error::param(
                    "init",
                    format!(
                        "initial centroids must be {} x {d} ({} values), got {} values",
                        self.k,
                        self.k * d,
                        c.len()
                    ),
                ));
            }
            if let Some(i) = c.iter().position(|v| !v.is_finite()) {
                return Err(Error::param(
                    "init",
                    format!("initial centroid {} has a non-finite value", i / d),
                ));
            }
        }
        if self.split_merge.is_some_and(|m| m > 0) {
            let m = self.train_rows(n);
            let need = split_merge_bytes(m, d, self.metric);
            if need > SPLIT_MERGE_MAX_BYTES {
                return Err(Error::param(
                    "split_merge",
                    format!(
                        "needs up to {} MiB of working memory on {m} training rows of {d} \
                         columns, more than its {} MiB budget; it is meant for small fits \
                         (automatic where n·d·k <= 2^24): set it to 0, or train on a sample \
                         (sample_size)",
                        need.div_ceil(1 << 20),
                        SPLIT_MERGE_MAX_BYTES >> 20
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Rows used for training out of `n`: `sample_size` and `max_points_per_centroid` when
    /// set; otherwise, for `algorithm = auto` only, when n > 2·max(512·k, 131 072), a uniform
    /// sample of m = max(512·k, clamp(1024·k, 65 536, 131 072)) rows (labels, inertia and the
    /// final model still cover all n rows): 512 per centre from k = 256 on, at least 1024
    /// per centre below, and never fewer than 65 536. Derived from `examples/fit_file` on the
    /// benchmark sets (25 iterations, 2 threads; objective and wall time). All rows → 512·k
    /// at k = 256 (seed 0): uniform 1M × 64: MSE 4.6630 in 8.6 s → 4.6759 in 2.8 s (+0.28%;
    /// 65 536 rows: +0.41%); GloVe 400k × 50 cosine: mean cosine 0.64914 in 3.8 s → 0.64710
    /// in 2.0 s (−0.31%). 131 072 → 65 536 rows at k = 64 (seeds 0–2): uniform
    /// 0.33–0.35 s → 0.21–0.28 s, MSE +0.05/+0.07/+0.06%; GloVe 0.27–0.30 s → 0.15–0.18 s,
    /// mean cosine −0.19/−0.09/−0.05%. Below n = 2·max(512·k, 131 072) the saving is too
    /// small for the loss: blobs 200k × 128, k = 256 trained on 131 072 rows lost 0.5% for
    /// 7% of time, and k = 128 on 65 536 rows lost up to 0.76% (seed 0; seeds 1–2 gained
    /// 0.15–0.43%). Named algorithms train on all rows (scikit-learn's behaviour). On such a
    /// sample `auto` trains in stages, first on a quarter of it, then on half (see
    /// `warm::sample_stages`).
    /// Never fewer than min(k, n) rows: a `sample_size` below k trains on k rows, as k
    /// centres need k seeds (`max_points_per_centroid` ≥ 1 never caps below k).
    pub fn train_rows(&self, n: usize) -> usize {
        let mut m = n;
        if self.algorithm == Algorithm::Auto
            && self.sample_size.is_none()
            && self.max_points_per_centroid.is_none()
        {
            let per = self.k.saturating_mul(AUTO_POINTS_PER_CENTROID);
            if n / 2 > per.max(AUTO_SAMPLE_ABOVE) {
                let small = self
                    .k
                    .saturating_mul(AUTO_SMALL_K_POINTS_PER_CENTROID)
                    .clamp(AUTO_MIN_TRAIN, AUTO_SAMPLE_ABOVE);
                m = per.max(small);
            }
        }
        if let Some(s) = self.sample_size {
            m = m.min(s);
        }
        if let Some(p) = self.max_points_per_centroid {
            m = m.min(self.k.saturating_mul(p));
        }
        m.max(self.k.min(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn automatic_local_search_is_k_steps_capped_and_the_caller_wins() {
        let n = 1 << 20;
        assert_eq!(KMeansParams::new(20).local_search_steps(n), 20);
        assert_eq!(KMeansParams::new(256).local_search_steps(n), 256);
        assert_eq!(
            KMeansParams::new(1024).local_search_steps(n),
            LOCAL_SEARCH_MAX_STEPS
        );
        let set = KMeansParams::new(1024).local_search(Some(1000));
        assert_eq!(set.local_search_steps(n), 1000);
        // Nothing to search when every seeding row is a centre.
        assert_eq!(KMeansParams::new(1024).local_search_steps(1024), 0);
    }

    #[test]
    fn quick_fits_are_bounded_in_work() {
        let p = KMeansParams::new(5);
        // digits 1797 × 64: k = 5 and 10 with the default 300 iterations are quick.
        assert!(p.is_quick(1797, 64));
        assert!(KMeansParams::new(10).is_quick(1797, 64));
        // More iterations, more rows, more runs or more centres are not.
        assert!(!p.clone().max_iter(10_000).is_quick(1797, 64));
        assert!(!p.is_quick(100_000, 64));
        assert!(!p.clone().n_init(50).is_quick(1797, 64));
        assert!(!KMeansParams::new(40).is_quick(1797, 64));
        // Saturating: no overflow on absurd sizes.
        assert!(!KMeansParams::new(1 << 30)
            .max_iter(usize::MAX)
            .is_quick(usize::MAX, 1 << 20));
    }

    #[test]
    fn auto_restarts_only_cheap_runs_and_never_overrides_the_caller() {
        let p = KMeansParams::new(10);
        assert_eq!(p.runs(18_846, 384), AUTO_RESTARTS);
        assert_eq!(p.runs(1 << 20, 128), 1);
        // Millisecond fits keep one run.
        assert_eq!(p.runs(1797, 64), 1);
        assert_eq!(KMeansParams::new(16).runs(1 << 12, 64), AUTO_RESTARTS);
        assert_eq!(KMeansParams::new(16).runs((1 << 12) - 1, 64), 1);
        // The bounds are on n·d·k, inclusive.
        assert_eq!(KMeansParams::new(16).runs(1 << 16, 128), AUTO_RESTARTS);
        assert_eq!(KMeansParams::new(16).runs((1 << 16) + 1, 128), 1);
        assert_eq!(p.clone().n_init(5).runs(1 << 20, 128), 5);
        assert_eq!(p.clone().n_init(1).runs(1 << 14, 64), 1);
        let named = p.clone().algorithm(Algorithm::Lloyd);
        assert_eq!(named.runs(1 << 14, 64), 1);
        let given = KMeansParams::new(2).init(Init::Given(vec![0.0; 4]));
        assert_eq!(given.runs(1 << 16, 64), 1);
        // Never overflows.
        assert_eq!(
            KMeansParams::new(usize::MAX).runs(usize::MAX, usize::MAX),
            1
        );
    }

    #[test]
    fn auto_samples_only_large_inputs_and_never_overrides_the_caller() {
        let auto = KMeansParams::new(256);
        assert_eq!(auto.train_rows(1_000_000), 131_072);
        assert_eq!(auto.train_rows(200_000), 200_000);
        assert_eq!(auto.train_rows(262_144), 262_144);
        assert_eq!(auto.train_rows(262_146), 131_072);
        // Small k: 1024 rows per centre within [65 536, 131 072], only above n = 262 144.
        let small = |k: usize, n: usize| KMeansParams::new(k).train_rows(n);
        assert_eq!(small(64, 1_000_000), AUTO_MIN_TRAIN);
        assert_eq!(small(8, 400_000), AUTO_MIN_TRAIN);
        assert_eq!(small(100, 400_000), 102_400);
        assert_eq!(small(128, 400_000), 131_072);
        assert_eq!(small(200, 400_000), 131_072);
        assert_eq!(small(64, 262_144), 262_144);
        assert_eq!(small(128, 200_000), 200_000);
        assert_eq!(small(300, 1_000_000), 153_600);
        assert_eq!(KMeansParams::new(1024).train_rows(1_000_000), 1_000_000);
        assert_eq!(KMeansParams::new(1024).train_rows(2_000_000), 524_288);
        let named = KMeansParams::new(256).algorithm(Algorithm::Lloyd);
        assert_eq!(named.train_rows(1_000_000), 1_000_000);
        let capped = KMeansParams::new(256).sample_size(Some(500_000));
        assert_eq!(capped.train_rows(1_000_000), 500_000);
        let ppc = KMeansParams::new(256).max_points_per_centroid(Some(4096));
        assert_eq!(ppc.train_rows(2_000_000), 1_048_576);
        // Never fewer than min(k, n) rows, whatever the caps.
        let tiny = KMeansParams::new(256).sample_size(Some(10));
        assert_eq!(tiny.train_rows(1_000_000), 256);
        assert_eq!(tiny.train_rows(100), 100);
        let one = KMeansParams::new(256).max_points_per_centroid(Some(1));
        assert_eq!(one.train_rows(1_000_000), 256);
        assert_eq!(one.train_rows(100), 100);
    }
}
