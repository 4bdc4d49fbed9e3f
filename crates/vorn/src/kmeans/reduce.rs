//! Deterministic parallel reductions: fixed-size chunks, partials summed in chunk order, so
//! the result has the same bits at any thread count.

use rayon::prelude::*;

/// Rows per partial sum.
pub const CHUNK: usize = 4096;

/// Σ over `0..n` of `f(range)` evaluated per fixed chunk, combined in chunk order.
pub fn ordered_sum(n: usize, f: impl Fn(std::ops::Range<usize>) -> f64 + Sync) -> f64 {
    chunk_sums(n, f).iter().sum()
}

/// The per-chunk partials of [`ordered_sum`].
pub fn chunk_sums(n: usize, f: impl Fn(std::ops::Range<usize>) -> f64 + Sync) -> Vec<f64> {
    let chunks = n.div_ceil(CHUNK);
    (0..chunks)
        .into_par_iter()
        .map(|c| f(c * CHUNK..((c + 1) * CHUNK).min(n)))
        .collect()
}
