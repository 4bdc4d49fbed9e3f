//! k-means: parameters, seeding, the Lloyd loop over an assignment seam, bound pruning,
//! empty-cluster repair, per-iteration statistics, the fitted model and its file format.
//!
//! Objective (L2): J = Σᵢ ‖xᵢ − c_{l(i)}‖² (scikit-learn's `inertia_`); cosine: see
//! [`crate::Metric`]. Complexity of one Lloyd iteration: 2·n·k·d flops for assignment plus
//! O(n·d) for the update.
//!
//! ```
//! use vorn::{data::MatrixView, KMeansParams};
//! let b = vorn::data::synth::blobs(1000, 8, 5, 1);
//! let x = MatrixView::new(&b.data, b.n, b.d).unwrap();
//! let model = vorn::fit(x, &KMeansParams::new(5).seed(3)).unwrap();
//! assert_eq!(model.labels().len(), 1000);
//! assert_eq!(model.predict(x).unwrap(), model.labels());
//! ```

mod chunked;
mod fit;
mod hamerly;
mod init;
mod io;
mod lloyd;
mod local_search;
mod model;
mod monitor;
mod panel_lloyd;
mod params;
mod pool;
mod pruned;
pub(crate) mod reduce;
mod relabel;
mod restarts;
mod row_panels;
mod scorer;
mod split_merge;
mod stats;
mod sums;
mod update;
mod warm;

pub use fit::{fit, fit_with};
pub(crate) use lloyd::PRUNE_MIN_D;
pub use model::KMeansModel;
pub use monitor::{Monitor, Silent, Steps};
pub use params::{Init, KMeansParams};
pub use stats::{IterStats, StopReason};
