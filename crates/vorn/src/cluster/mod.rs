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

/// The `auto` rule: `hamerly` for k ≥ 5 unless the whole problem is tiny (n·k·d < 2²⁵, a
/// fit of a few milliseconds, where the bound bookkeeping is not repaid), `lloyd` otherwise.
///
/// Both give the same labels; the choice is only about time. Hamerly's bounds skip the
/// distance computations of rows whose label provably cannot change, and back off to direct
/// full passes when they prune too little, so its worst case is plain Lloyd plus a few
/// percent. Measured with `cargo run --release --example fit_probe -- N D K CENTERS ALGO`
/// on 2 cores (assignment seconds, lloyd → hamerly, same labels):
///
/// | data (n × d, k)                   | lloyd  | hamerly | rows scanned |
/// |-----------------------------------|--------|---------|--------------|
/// | blobs 200k × 128, k = 256          | 3.45 s | 0.52 s  | 8.5 %        |
/// | blobs 200k × 16, k = 16            | 1.12 s | 0.45 s  |              |
/// | one Gaussian 100k × 768, k = 64    | 17.5 s | 18.4 s  | 100 %        |
/// | one Gaussian 200k × 64, k = 1024   | 13.9 s | 13.2 s  |              |
///
/// For k ≤ 4 a full pass costs little more than the bound bookkeeping and is bound by
/// memory bandwidth either way, so plain Lloyd is kept there; likewise for tiny inputs
/// (bench quick run, digits 1797 × 64, k = 10: lloyd 6 ms, hamerly 14 ms).
pub fn select(n: usize, d: usize, k: usize) -> Algorithm {
    let work = n.saturating_mul(d).saturating_mul(k);
    if k >= 5 && work >= 1 << 25 {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_static_and_never_auto() {
        assert_eq!(select(1797, 64, 10), Algorithm::Lloyd);
        assert_eq!(select(200_000, 128, 256), Algorithm::Hamerly);
        assert_eq!(select(1_000_000, 64, 4), Algorithm::Lloyd);
        assert_eq!(Algorithm::Auto.resolve(18_846, 384, 20), Algorithm::Hamerly);
        assert_eq!(
            Algorithm::Lloyd.resolve(200_000, 128, 256),
            Algorithm::Lloyd
        );
        for a in Algorithm::ALL {
            assert_eq!(a.name().parse::<Algorithm>().unwrap(), a);
        }
    }
}
