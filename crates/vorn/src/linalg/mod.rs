//! Blocked distance computation: ‖x‖² + ‖c‖² − 2·x·cᵀ in cache-sized tiles with a fused
//! per-tile arg-min, never materialising the n × k matrix.
//!
//! # Blocking
//! Rows are processed in blocks of [`ROW_BLOCK`] (parallel unit, rayon); centroids in blocks
//! of panels sized to stay in L2 (~384 KiB); inside, micro-tiles of 8 rows × 48 centroids
//! (see [`crate::simd`]). Cost: 2·n·k·d flops, memory traffic O(n·d + (n/ROW_BLOCK)·k·d).
//! Because the per-pair arithmetic never depends on the blocking, labels are identical at
//! any thread count or batch size.
//!
//! Negative squared distances from cancellation are clamped to 0.
//!
//! # Screening
//! With AVX-512 BF16 and k ≥ 512 (k ≥ 256 when d ≥ 128) a row block is first scored in bf16
//! and only the centroids a rigorous error bound cannot exclude are rescored exactly
//! (`screen`): the labels and scores keep the exact pass's bits.

mod assign;
mod packed;
mod screen;

pub(crate) use assign::rows_per_poll;
pub use assign::{assign, assign_rows, assign_with, distances, top2, AssignOutput, BlockScratch};
pub(crate) use assign::{scores_block, top2_block};
pub(crate) use packed::norm_term_of;
pub use packed::PackedCentroids;
/// Whether this machine's passes may be bf16-screened at all (AVX-512 BF16 kernels active,
/// `VORN_BF16` not `0`).
pub use screen::enabled as screen_enabled;
/// Whether passes against k centroids of d dimensions are bf16-screened on this machine.
pub(crate) use screen::wanted as screened;
pub use screen::{ScreenPanels, SCREEN_MIN_K, TOP2_MIN_K};

/// Rows per parallel block.
pub const ROW_BLOCK: usize = 64;

/// Multiply-adds (rows·k·d) up to which an assignment or distance pass called from outside
/// the thread pool runs its row blocks in order on the calling thread, and
/// `KMeansModel::predict` / `transform` (and the Python binding's worker thread) skip the
/// pool altogether: 2²³ is ~150 µs of kernel work on one core, about what handing a pass to
/// the pool costs on a 2-core VM (starting the binding's worker, waking pool threads and
/// waiting for them: 4096 × 128 centroids, 9 rows took ~220 µs pooled against ~150 µs in
/// place, and 9–64 rows against 1024 × 128 ~40–76 µs in place). The results are the same
/// either way: every block is computed alone.
pub const INLINE_WORK: usize = 1 << 23;
