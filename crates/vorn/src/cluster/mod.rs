//! Named clustering algorithms and the static `auto` selector.
//!
//! | name      | assignment                                   | exact? |
//! |-----------|----------------------------------------------|--------|
//! | `lloyd`   | every row × every centroid, tiled GEMM kernel | yes    |
//! | `hamerly` | Hamerly bounds (2010) skip rows whose label provably cannot change; the rest go through the same kernel | yes: same labels as `lloyd` |
//!
//! `auto` is a static function of (n, d, k) — see [`select`] — so the same call always runs
//! the same backend.

use crate::error::{Error, Result};
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

    /// The concrete backend for a fit of `n` training rows, `d` dims and `k` clusters.
    pub fn resolve(self, n: usize, d: usize, k: usize) -> Algorithm {
        match self {
            Algorithm::Auto => select(n, d, k),
            a => a,
        }
    }
}

/// The `auto` rule. Bound pruning pays when a full pass is expensive relative to the
/// per-row bookkeeping and most rows settle early: few dimensions and few clusters make the
/// GEMM pass cheap per row, so pruning saves little. Measured on this project's benchmark
/// set (see bench/README.md): Hamerly wins for k ≥ 16 with d ≤ 64 and for k ≥ 64 otherwise.
pub fn select(n: usize, d: usize, k: usize) -> Algorithm {
    let _ = n;
    if (d <= 64 && k >= 16) || k >= 64 {
        Algorithm::Hamerly
    } else {
        Algorithm::Lloyd
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
