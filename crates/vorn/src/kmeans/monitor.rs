//! Progress and cancellation: the core calls these between tiles and iterations.
//!
//! Phases and iterations are reported as they happen. Long loops inside a phase (the k
//! steps of k-means++ seeding, the swap steps of local search) report [`Steps`] at most
//! once per [`Monitor::steps_interval`], so a fit of seconds says nothing extra and a
//! seeding of a minute (k = 8192) is not silent. Reports never change results.

use super::IterStats;
use std::time::{Duration, Instant};

/// Progress of a loop inside a phase: `done` of `total` steps of `task` in run `run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Steps<'a> {
    /// The run (independent seeding) the loop belongs to, from 0.
    pub run: usize,
    /// What the steps are: `"k-means++"` or `"local search"`.
    pub task: &'a str,
    /// Steps finished, 1 ≤ `done` ≤ `total`.
    pub done: usize,
    /// Steps of the loop.
    pub total: usize,
}

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
    /// A loop inside a phase advanced. Sent at most once per [`Monitor::steps_interval`]
    /// per loop, plus its last step when anything was sent before it.
    fn steps(&self, _steps: &Steps<'_>) {}
    /// Least time between two [`Monitor::steps`] reports of one loop (default 1 s; zero
    /// reports every step).
    fn steps_interval(&self) -> Duration {
        Duration::from_secs(1)
    }
}

/// Rate-limits the [`Steps`] reports of one loop to [`Monitor::steps_interval`].
pub(crate) struct StepReporter<'m> {
    mon: &'m dyn Monitor,
    run: usize,
    task: &'static str,
    total: usize,
    interval: Duration,
    last: Instant,
    sent: bool,
}

impl<'m> StepReporter<'m> {
    pub(crate) fn new(mon: &'m dyn Monitor, run: usize, task: &'static str, total: usize) -> Self {
        StepReporter {
            mon,
            run,
            task,
            total,
            interval: mon.steps_interval(),
            last: Instant::now(),
            sent: false,
        }
    }

    /// `done` steps are finished.
    pub(crate) fn advance(&mut self, done: usize) {
        let end = done >= self.total;
        if (end && self.sent) || (!end && self.last.elapsed() >= self.interval) {
            self.mon.steps(&Steps {
                run: self.run,
                task: self.task,
                done,
                total: self.total,
            });
            self.last = Instant::now();
            self.sent = true;
        }
    }
}

/// A monitor that reports nothing and never cancels.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Monitor for Silent {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Log(Mutex<Vec<usize>>, Duration);
    impl Monitor for Log {
        fn steps(&self, s: &Steps<'_>) {
            assert_eq!((s.run, s.task, s.total), (3, "k-means++", 5));
            self.0.lock().unwrap().push(s.done);
        }
        fn steps_interval(&self) -> Duration {
            self.1
        }
    }

    #[test]
    fn every_step_with_a_zero_interval_nothing_for_a_quick_loop() {
        let log = Log(Mutex::new(Vec::new()), Duration::ZERO);
        let mut r = StepReporter::new(&log, 3, "k-means++", 5);
        (1..=5).for_each(|d| r.advance(d));
        assert_eq!(*log.0.lock().unwrap(), [1, 2, 3, 4, 5]);
        // A loop shorter than the interval reports nothing, not even its end.
        let log = Log(Mutex::new(Vec::new()), Duration::from_secs(3600));
        let mut r = StepReporter::new(&log, 3, "k-means++", 5);
        (1..=5).for_each(|d| r.advance(d));
        assert!(log.0.lock().unwrap().is_empty());
    }

    #[test]
    fn a_slow_loop_reports_at_the_interval_and_its_end() {
        let log = Log(Mutex::new(Vec::new()), Duration::from_millis(30));
        let mut r = StepReporter::new(&log, 3, "k-means++", 5);
        r.advance(1);
        std::thread::sleep(Duration::from_millis(40));
        r.advance(2);
        r.advance(3);
        r.advance(4);
        r.advance(5);
        assert_eq!(*log.0.lock().unwrap(), [2, 5]);
    }
}
