//! Named clustering algorithms and the static `auto` selector.
//!
//! | name      | assignment                                   | exact? |
//! |-----------|----------------------------------------------|--------|
//! | `lloyd`   | every row × every centroid, tiled GEMM kernel | yes    |
//! | `hamerly` | Hamerly bounds (2010) skip rows whose label provably cannot change; the rest go through the same kernel | yes: the same labels, centroids and objective as `lloyd`, bit for bit |
//!
//! `auto` is a static function of (n, d, k, metric) — see [`select`] — so the same call always
//! runs the same backend. It also trains on at most 512 rows per centre (see
//! [`crate::KMeansParams::train_rows`]). When it trains on all rows it first trains on a
//! uniform subset of min(n/4, 32 MiB) rows, then finishes on all rows, in three cases
//! (`kmeans::warm::warm_rows`): k ≤ 64 on data of 128 MiB or more (memory-bound passes), k ≤
//! 64 on data of 16–128 MiB (mid-size), and Lloyd at k > 64 with passes of n·k·d ≥ 2³¹ while
//! the subset keeps 64 rows per centre. Where Lloyd fuses its assignment and update and
//! d ≥ 512 (`kmeans::lloyd::PRUNE_MIN_D`; not where the pass is bf16-screened), `auto`'s
//! Lloyd skips, inside its chunked labelling pass, the rows whose Hamerly bounds prove that their label
//! stays: the same bits, fewer distances. Unless `n_init` is set, `auto` also makes two runs
//! from independent seedings when one is cheap (2²² ≤ n·d·k ≤ 2²⁷; see
//! [`crate::KMeansParams::runs`]) and keeps the better, and under l2 with n·d·k ≤ 2²⁴ it
//! refines the kept run by split–merge moves (see
//! [`crate::KMeansParams::split_merge_moves`]).

use crate::error::{Error, Result};
use crate::metric::Metric;
use std::fmt;
use std::str::FromStr;

/// A k-means backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Algorithm {
    /// Pick per (n, d, k): see [`select`].
    #[default]
    Auto,
    /// Dense exact Lloyd on the tiled kernel.
    Lloyd,
    /// Exact Lloyd with Hamerly bound pruning.
    Hamerly,
}

impl Algorithm {
    /// Every name accepted, `auto` first.
    pub const ALL: [Algorithm; 3] = [Algorithm::Auto, Algorithm::Lloyd, Algorithm::Hamerly];

    /// Canonical name.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Auto => "auto",
            Algorithm::Lloyd => "lloyd",
            Algorithm::Hamerly => "hamerly",
        }
    }

    /// The concrete backend that runs a fit of `n` training rows, `d` dims and `k` clusters
    /// on this CPU (`auto`: [`select_on`] with the active kernels).
    pub fn resolve(self, n: usize, d: usize, k: usize, metric: Metric) -> Algorithm {
        match self {
            Algorithm::Auto => select_on(crate::simd::active(), n, d, k, metric),
            a => a,
        }
    }
}

/// The `auto` backend rule: `hamerly` for L2 with k ≥ 64 centres in d ≥ 128 dimensions
/// and n·k·d ≥ 2³¹ (a pass of at least ~4 GFLOP), `lloyd` otherwise.
///
/// Both give the same bits (labels, centroids, objective); the choice is only about time.
/// Hamerly's bounds skip the distance computations of rows whose label provably cannot
/// change, but each iteration pays for bound bookkeeping and its full passes need the two
/// best scores, so it only wins when the bounds prune most rows of long passes. Derived from the committed benchmark runs
/// (2 threads, 25-iteration cap, fit + labels, medians of 3, lloyd → hamerly). Medium run
/// (`bench/results/medium.md`): blobs 200k × 128, k = 256: 1.30 → 1.04 s; anisotropic
/// 100k × 768, k = 64: 1.19 → 1.10 s; but uniform 1M × 64, k = 256: 7.4 → 8.4 s; GloVe
/// 400k × 50 cosine, k = 256: 3.8 → 4.7 s; 20newsgroups 19k × 384, k = 20: 0.20 → 0.29 s and
/// cosine k = 80: 0.46 → 0.50 s; Fashion-MNIST 70k × 784, k = 10: 0.75 → 0.86 s. Full run
/// (`bench/results/full.md`, AMD EPYC): blobs k = 512: 1.96 → 1.73 s, k = 1024: 5.22 → 4.94 s;
/// aniso k = 64–128: equal within noise (0.63 → 0.64 s, ≈ 2.6 s both); but 20newsgroups l2
/// k = 80 (n·k·d = 0.58 · 10⁹): 0.354 → 0.387 s, hence the work threshold. Few centres leave
/// little to prune; low dimension makes a distance as cheap as a bound test; short passes do
/// not repay the bookkeeping; spherical data (unit rows, cosine) has centres too close for the
/// triangle inequality to separate.
///
/// This is `auto`'s *plan*: it is the same on every CPU, and what depends on the backend
/// beyond time (the warm start of `kmeans::fit`, which only Lloyd-planned fits take) follows
/// the plan, so `auto` returns the same bits everywhere. Which backend then executes a
/// Hamerly plan is [`select_on`].
pub fn select(n: usize, d: usize, k: usize, metric: Metric) -> Algorithm {
    let work = n.saturating_mul(d).saturating_mul(k);
    if metric == Metric::L2 && k >= 64 && d >= 128 && work >= 1 << 31 {
        Algorithm::Hamerly
    } else {
        Algorithm::Lloyd
    }
}

/// Centres from which AVX-512 runs every Hamerly plan with Hamerly (see [`select_on`]).
pub const HAMERLY_MIN_K_AVX512: usize = 512;

/// The backend that executes `auto` on `isa`: [`select`]'s plan, except that AVX-512 runs a
/// Hamerly plan with fewer than [`HAMERLY_MIN_K_AVX512`] centres in d ≥ 512 dimensions
/// (`kmeans::lloyd::PRUNE_MIN_D`) with Lloyd. Both backends return the same bits (labels,
/// centroids, objective; `tests/properties.rs`), so this choice changes only the time, and
/// it may depend on the CPU.
///
/// Why: from d = 512 `auto`'s Lloyd skips bound-proven rows inside its chunked pass, and with
/// the AVX-512 kernel (and from k = 256 at d ≥ 128 its bf16 screen) that pass is so cheap
/// that Hamerly's bookkeeping, its top-2 passes (screened only from k = 512) and its
/// separate update no longer pay below k = 512. Below d = 512 Lloyd has no bounds, and
/// Hamerly's pruning wins. Benchmark rows, 2 threads, 25-iteration cap, fit + labels,
/// seconds, auto (Lloyd) → hamerly, AVX-512 (AMD EPYC): anisotropic 100k × 768
/// (`bench/results/full.json` at 301035c, medians of 3): k = 64: 0.313 → 0.337; k = 128:
/// 1.312 → 1.332; k = 256: 2.959 → 3.159; `examples/fit_file`, seed 0, alternating:
/// k = 64 0.340/0.333 → 0.323/0.326, k = 128 1.319/1.298 → 1.331/1.314 (equal within
/// noise). But blobs 200k × 128 (full.json at 301035c): k = 128: 0.595 → 0.470; k = 256:
/// 0.536 → 0.464; `examples/fit_file`, seeds 0–1, alternating, lloyd → hamerly: k = 128
/// 0.585/0.551/0.515/0.535 → 0.453/0.439/0.425/0.453, k = 256 0.545/0.519/0.533/0.519 →
/// 0.448/0.419/0.450/0.427. (Until 301035c the exception held at every d; it had been
/// derived from an older Hamerly on blobs k = 128: 0.477 → 0.813, k = 256: 0.493 → 0.620.)
/// AVX2 (AMD EPYC without AVX-512, `bench/results/full-avx2.json`): blobs k = 128: 1.289 →
/// 1.135; k = 256: 1.480 → 1.157; k = 512: 3.160 → 2.893; k = 1024: 7.655 → 7.284;
/// anisotropic k = 128: 2.912 → 2.675 (k = 256: 8.4 → 10.3, the one cell where the AVX2
/// plan loses).
pub fn select_on(isa: crate::simd::Isa, n: usize, d: usize, k: usize, metric: Metric) -> Algorithm {
    match select(n, d, k, metric) {
        Algorithm::Hamerly
            if isa == crate::simd::Isa::Avx512
                && k < HAMERLY_MIN_K_AVX512
                && d >= crate::kmeans::PRUNE_MIN_D =>
        {
            Algorithm::Lloyd
        }
        a => a,
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Algorithm::Auto),
            "lloyd" | "full" | "dense" => Ok(Algorithm::Lloyd),
            "hamerly" | "elkan" | "bounded" => Ok(Algorithm::Hamerly),
            _ => Err(Error::param(
                "algorithm",
                format!("unknown algorithm {s:?}; expected one of 'auto', 'lloyd', 'hamerly'"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_static_and_never_auto() {
        let l2 = Metric::L2;
        assert_eq!(select(1797, 64, 10, l2), Algorithm::Lloyd);
        assert_eq!(select(200_000, 128, 256, l2), Algorithm::Hamerly);
        assert_eq!(select(100_000, 768, 64, l2), Algorithm::Hamerly);
        assert_eq!(select(200_000, 128, 256, Metric::Cosine), Algorithm::Lloyd);
        assert_eq!(select(1_000_000, 64, 256, l2), Algorithm::Lloyd);
        assert_eq!(select(1_000_000, 128, 4, l2), Algorithm::Lloyd);
        // 20newsgroups l2 at k = 80: 0.58 · 10⁹ < 2³¹, a pass too short for the bounds.
        assert_eq!(select(18_846, 384, 80, l2), Algorithm::Lloyd);
        assert_eq!(select(65_536, 128, 256, l2), Algorithm::Hamerly);
        assert_eq!(select(65_535, 128, 256, l2), Algorithm::Lloyd);
        assert_eq!(
            Algorithm::Auto.resolve(18_846, 384, 20, l2),
            Algorithm::Lloyd
        );
        assert_eq!(
            Algorithm::Lloyd.resolve(200_000, 128, 256, l2),
            Algorithm::Lloyd
        );
        for a in Algorithm::ALL {
            assert_eq!(a.name().parse::<Algorithm>().unwrap(), a);
        }
    }

    #[test]
    fn avx512_runs_high_dimensional_hamerly_plans_below_512_centres_with_lloyd() {
        use crate::simd::Isa;
        let l2 = Metric::L2;
        // Anisotropic 100k × 768: `auto`'s Lloyd prunes its own chunked pass from d = 512.
        for (n, d, k) in [(100_000, 768, 64), (100_000, 768, 256), (100_000, 512, 511)] {
            assert_eq!(select(n, d, k, l2), Algorithm::Hamerly);
            assert_eq!(select_on(Isa::Avx2, n, d, k, l2), Algorithm::Hamerly);
            assert_eq!(select_on(Isa::Scalar, n, d, k, l2), Algorithm::Hamerly);
            assert_eq!(select_on(Isa::Avx512, n, d, k, l2), Algorithm::Lloyd);
        }
        // Blobs 200k × 128 (d < 512), 512 centres, or d = 511: Hamerly everywhere.
        for (n, d, k) in [
            (200_000, 128, 128),
            (200_000, 128, 256),
            (200_000, 128, 512),
            (100_000, 768, 512),
            (100_000, 511, 256),
        ] {
            for isa in [Isa::Scalar, Isa::Avx2, Isa::Avx512] {
                assert_eq!(
                    select_on(isa, n, d, k, l2),
                    Algorithm::Hamerly,
                    "{n} {d} {k}"
                );
            }
        }
        // Lloyd plans stay Lloyd everywhere.
        for isa in [Isa::Scalar, Isa::Avx2, Isa::Avx512] {
            assert_eq!(select_on(isa, 1_000_000, 64, 1024, l2), Algorithm::Lloyd);
        }
        assert_eq!(
            Algorithm::Auto.resolve(100_000, 768, 128, l2),
            select_on(crate::simd::active(), 100_000, 768, 128, l2)
        );
    }
}
