//! Progress and cancellation: the core calls these between tiles and iterations.

use super::IterStats;

/// Receives progress and may cancel. Methods may be called from any thread of the pool
/// (never concurrently with themselves from inside one parallel section); `cancelled` is
/// polled between slabs of work a few milliseconds apart, so it must be cheap (an atomic
/// load). Bindings that need signal handling poll signals on their own thread and set a flag.
pub trait Monitor: Sync {
    /// Return true to stop the fit with [`crate::Error::Interrupted`].
    fn cancelled(&self) -> bool {
        false
    }
    /// A phase started (`"validate"`, `"init"`, `"iterate"`, `"assign"`).
    fn phase(&self, _name: &str) {}
    /// An iteration finished.
    fn iteration(&self, _stats: &IterStats) {}
}

/// A monitor that reports nothing and never cancels.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Monitor for Silent {}
