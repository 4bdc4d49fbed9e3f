//! Progress on stderr through the core's [`vorn::Monitor`] trait.
//!
//! On a terminal one self-updating line (`\r` + clear-to-end) shows the phase, the iteration
//! and its objective, or the step count of a long seeding; otherwise (a pipe or a log file)
//! every phase, iteration and step report (at most one a second per loop, see
//! [`vorn::Monitor::steps_interval`]) is one plain line. `--quiet` silences both. Phase durations are recorded either way for the summary.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Instant;
use vorn::{IterStats, Monitor, Steps};

/// Seconds spent per phase name, in first-seen order.
pub type PhaseTimes = Vec<(String, f64)>;

struct State {
    current: Option<(String, Instant)>,
    times: PhaseTimes,
    line_open: bool,
}

/// A [`Monitor`] that reports to stderr.
pub struct Progress {
    enabled: bool,
    tty: bool,
    runs: std::sync::atomic::AtomicUsize,
    start: Instant,
    state: Mutex<State>,
}

impl Progress {
    /// A reporter; `quiet` silences output (timings are still kept). `runs` is the number of
    /// runs from independent seedings, shown as "run r/n" when more than one (see
    /// [`Progress::set_runs`]).
    pub fn new(quiet: bool, runs: usize) -> Self {
        Progress {
            enabled: !quiet,
            tty: std::io::stderr().is_terminal(),
            runs: runs.into(),
            start: Instant::now(),
            state: Mutex::new(State {
                current: None,
                times: Vec::new(),
                line_open: false,
            }),
        }
    }

    /// Sets the number of runs once known (automatic `n_init` depends on the data's shape).
    pub fn set_runs(&self, runs: usize) {
        self.runs.store(runs, std::sync::atomic::Ordering::Relaxed);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock only loses progress output; keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn emit(&self, st: &mut State, text: &str) {
        if !self.enabled {
            return;
        }
        let t = self.start.elapsed().as_secs_f64();
        let mut err = std::io::stderr().lock();
        // Progress is best effort: a closed stderr must not stop the work.
        let _ = if self.tty {
            st.line_open = true;
            write!(err, "\r\x1b[2Kvorn [{t:7.2}s] {text}")
        } else {
            writeln!(err, "vorn [{t:7.2}s] {text}")
        };
        let _ = err.flush();
    }

    fn close_phase(st: &mut State) {
        if let Some((name, t0)) = st.current.take() {
            let dt = t0.elapsed().as_secs_f64();
            match st.times.iter_mut().find(|(n, _)| *n == name) {
                Some((_, s)) => *s += dt,
                None => st.times.push((name, dt)),
            }
        }
    }

    /// Starts a phase of the CLI itself (e.g. `"write"`).
    pub fn begin(&self, name: &str) {
        self.start_phase(name, true);
    }

    /// Starts a phase shown only on a terminal (where the next line overwrites it), so that
    /// e.g. a missing input file gives just the one error line in a log.
    pub fn begin_transient(&self, name: &str) {
        self.start_phase(name, self.tty);
    }

    fn start_phase(&self, name: &str, show: bool) {
        let mut st = self.lock();
        Self::close_phase(&mut st);
        st.current = Some((name.to_string(), Instant::now()));
        if show {
            self.emit(&mut st, name);
        }
    }

    /// Ends the current phase and the progress line; returns the time of every phase.
    pub fn finish(&self) -> PhaseTimes {
        let mut st = self.lock();
        Self::close_phase(&mut st);
        if st.line_open {
            let _ = writeln!(std::io::stderr());
            st.line_open = false;
        }
        st.times.clone()
    }
}

impl Monitor for Progress {
    fn phase(&self, name: &str) {
        self.begin(name);
    }

    fn iteration(&self, s: &IterStats) {
        let run = self.run_label(s.run);
        let text = format!(
            "iterate {run}iter {:>3}  objective {:.6e}  moved {}{}",
            s.iter,
            s.objective,
            s.moved,
            if s.empty_splits > 0 {
                format!("  empty clusters repaired {}", s.empty_splits)
            } else {
                String::new()
            }
        );
        let mut st = self.lock();
        self.emit(&mut st, &text);
    }

    fn steps(&self, s: &Steps<'_>) {
        let text = self.steps_text(s);
        let mut st = self.lock();
        self.emit(&mut st, &text);
    }
}

impl Progress {
    /// The line of a [`Steps`] report, e.g. `init run 2/3 k-means++ 512/4096`.
    fn steps_text(&self, s: &Steps<'_>) -> String {
        format!(
            "init {}{} {}/{}",
            self.run_label(s.run),
            s.task,
            s.done,
            s.total
        )
    }

    /// `"run r/n "` when the fit makes more than one run, else empty.
    fn run_label(&self, run: usize) -> String {
        let runs = self.runs.load(std::sync::atomic::Ordering::Relaxed);
        if runs > 1 {
            format!("run {}/{} ", run + 1, runs)
        } else {
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_accumulate_in_order() {
        let p = Progress::new(true, 2);
        p.phase("init");
        p.phase("iterate");
        p.phase("init");
        p.begin("write");
        let t = p.finish();
        let names: Vec<&str> = t.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["init", "iterate", "write"]);
        assert!(t.iter().all(|(_, s)| *s >= 0.0));
    }

    #[test]
    fn step_lines_name_the_run_only_when_there_are_several() {
        let s = Steps {
            run: 1,
            task: "k-means++",
            done: 512,
            total: 4096,
        };
        assert_eq!(
            Progress::new(true, 3).steps_text(&s),
            "init run 2/3 k-means++ 512/4096"
        );
        assert_eq!(
            Progress::new(true, 1).steps_text(&s),
            "init k-means++ 512/4096"
        );
    }
}
