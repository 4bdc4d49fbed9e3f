//! Per-iteration statistics and stop reasons (after FAISS's `iteration_stats`).

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// No label changed: an exact fixed point.
    Converged,
    /// Relative objective decrease fell to `tol` or below.
    Tolerance,
    /// `max_iter` iterations were run.
    MaxIter,
}

impl StopReason {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            StopReason::Converged => "converged",
            StopReason::Tolerance => "tolerance",
            StopReason::MaxIter => "max_iter",
        }
    }
    /// Parses [`StopReason::name`].
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "converged" => Some(StopReason::Converged),
            "tolerance" => Some(StopReason::Tolerance),
            "max_iter" => Some(StopReason::MaxIter),
            _ => None,
        }
    }
}

/// One Lloyd iteration of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct IterStats {
    /// Restart index (0-based).
    pub run: usize,
    /// Iteration (1-based; iteration t assigns to the centroids of update t).
    pub iter: usize,
    /// Objective Σ‖x − c_l(x)‖² over training rows after this iteration's assignment.
    pub objective: f64,
    /// Rows whose label changed.
    pub moved: usize,
    /// Empty clusters repaired before this assignment.
    pub empty_splits: usize,
    /// Rows whose distances were computed in full: all rows for a dense pass; fewer when
    /// bounds prune the pass (Hamerly, and `auto`'s Lloyd from `PRUNE_MIN_D` = 512 dimensions).
    pub rows_scanned: usize,
    /// Seconds in the assignment step.
    pub assign_secs: f64,
    /// Seconds in the update step (means, objective, repair).
    pub update_secs: f64,
}
