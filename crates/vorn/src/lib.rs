//! # vorn
//!
//! Fast, deterministic k-means for dense vectors on one machine.
//!
//! * [`fit`] / [`fit_with`]: exact k-means (greedy k-means++, random or given seeding;
//!   restarts; tolerance; optional training sample) with L2 or cosine (spherical) metric.
//! * Backends behind [`cluster::Algorithm`]: `lloyd` (tiled GEMM assignment with a fused
//!   arg-min, [`linalg`]) and `hamerly` (bound-pruned, same labels); `auto` picks statically.
//! * [`KMeansModel`]: centroids, labels, inertia, per-iteration stats; `predict`,
//!   `transform`, save/load with a checksummed versioned format.
//!
//! Guarantees: the same data, params and seed give the same bits at any thread count and any
//! batch size; every data-caused failure is an [`Error`], never a panic.
//!
//! ```
//! use vorn::{data::MatrixView, KMeansParams, Metric};
//! let blobs = vorn::data::synth::blobs(2_000, 16, 10, 42);
//! let x = MatrixView::new(&blobs.data, blobs.n, blobs.d)?;
//! let model = vorn::fit(x, &KMeansParams::new(10).metric(Metric::L2).seed(0))?;
//! let v = vorn::eval::v_measure(&blobs.labels, model.labels());
//! assert!(v.v_measure > 0.9);
//! # Ok::<(), vorn::Error>(())
//! ```

pub mod cluster;
pub mod data;
mod error;
pub mod eval;
pub mod kmeans;
pub mod linalg;
pub mod memory;
mod metric;
pub mod rng;
mod scratch;
pub mod simd;

pub use cluster::Algorithm;
pub use error::{Error, Result};
pub use kmeans::{
    fit, fit_with, Init, IterStats, KMeansModel, KMeansParams, Monitor, Silent, Steps, StopReason,
};
pub use linalg::INLINE_WORK;
pub use metric::Metric;

/// Names of the algorithms `Algorithm::from_str` accepts (canonical names).
pub fn available_algorithms() -> Vec<&'static str> {
    Algorithm::ALL.iter().map(|a| a.name()).collect()
}

/// Names of the metrics.
pub fn available_metrics() -> Vec<&'static str> {
    Metric::ALL.iter().map(|m| m.name()).collect()
}
