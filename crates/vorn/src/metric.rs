//! Distance metrics: the only name for a metric in vorn.
//!
//! * `L2`: squared Euclidean distance ‖x − c‖². k-means minimises Σ ‖xᵢ − c_{l(i)}‖².
//! * `Cosine`: spherical k-means. Rows are compared by angle; the objective is
//!   Σ ‖x̂ᵢ − c_{l(i)}‖² = Σ 2·(1 − cos(xᵢ, c_{l(i)})) with x̂ = x/‖x‖ and unit centroids
//!   (Dhillon & Modha, 2001). Rows are never normalised in place.

use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// A distance metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Metric {
    /// Squared Euclidean distance.
    #[default]
    L2,
    /// Cosine distance (spherical k-means).
    Cosine,
}

impl Metric {
    /// Every metric, in a stable order.
    pub const ALL: [Metric; 2] = [Metric::L2, Metric::Cosine];

    /// The canonical lower-case name (`"l2"`, `"cosine"`).
    pub fn name(self) -> &'static str {
        match self {
            Metric::L2 => "l2",
            Metric::Cosine => "cosine",
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Metric {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "l2" | "euclidean" | "sqeuclidean" => Ok(Metric::L2),
            "cosine" | "angular" => Ok(Metric::Cosine),
            _ => Err(Error::param(
                "metric",
                format!("unknown metric {s:?}; expected one of 'l2', 'cosine'"),
            )),
        }
    }
}
