//! Running core work with the GIL released, interruptible by Ctrl-C, with progress.
//!
//! The core call runs on a scoped worker thread with a [`ChannelMonitor`]: `cancelled()` is an
//! atomic load (the core polls it every few milliseconds from its pool threads), `phase()`,
//! `iteration()` and `steps()` send events on a channel. The calling thread releases the GIL and waits on
//! that channel with a [`POLL`] timeout; between waits it briefly re-attaches to Python to run
//! `check_signals()` (which raises `KeyboardInterrupt` on Ctrl-C when called from the main
//! thread) and to hand progress events to a Python callable. On a Python error it sets the
//! cancel flag, waits for the worker to stop and returns that error. Python code (signal
//! handlers, logging) therefore only ever runs on the calling thread.

use crate::errors::{panic_to_py, to_py};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};
use vorn::{IterStats, Monitor, Silent, Steps};

/// Longest wait between two signal checks.
const POLL: Duration = Duration::from_millis(50);

/// A progress event from the worker.
enum Event {
    Phase(String),
    Iteration(IterStats),
    /// A [`Steps`] report: run, task, done, total.
    Steps(usize, &'static str, usize, usize),
}

/// Where progress goes: a Python callable, and the least time between two step reports of
/// one loop ([`Monitor::steps_interval`]).
pub(crate) struct Progress {
    pub(crate) callable: Py<PyAny>,
    pub(crate) steps_interval: Duration,
}

/// The monitor handed to the core.
struct ChannelMonitor<'a> {
    cancel: &'a AtomicBool,
    tx: Sender<Event>,
    /// The steps interval when progress is reported, `None` when it is not.
    report: Option<Duration>,
}

impl Monitor for ChannelMonitor<'_> {
    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
    fn phase(&self, name: &str) {
        if self.report.is_some() {
            let _ = self.tx.send(Event::Phase(name.to_owned()));
        }
    }
    fn iteration(&self, stats: &IterStats) {
        if self.report.is_some() {
            let _ = self.tx.send(Event::Iteration(stats.clone()));
        }
    }
    fn steps(&self, s: &Steps<'_>) {
        if self.report.is_some() {
            // The core's task names are a fixed set; anything else is passed as "steps".
            let task = match s.task {
                "k-means++" => "k-means++",
                "local search" => "local search",
                _ => "steps",
            };
            let _ = self.tx.send(Event::Steps(s.run, task, s.done, s.total));
        }
    }
    fn steps_interval(&self) -> Duration {
        // Unreported: the core's reporter then never fires before its last step.
        self.report.unwrap_or(Duration::MAX)
    }
}

/// One iteration's statistics as a Python dict.
pub(crate) fn stats_dict<'py>(py: Python<'py>, s: &IterStats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("run", s.run)?;
    d.set_item("iter", s.iter)?;
    d.set_item("objective", s.objective)?;
    d.set_item("moved", s.moved)?;
    d.set_item("empty_splits", s.empty_splits)?;
    d.set_item("rows_scanned", s.rows_scanned)?;
    d.set_item("assign_secs", s.assign_secs)?;
    d.set_item("update_secs", s.update_secs)?;
    Ok(d)
}

/// Calls `progress("phase", name)`, `progress("iteration", stats_dict)` or
/// `progress("steps", {"run", "task", "done", "total"})`.
fn deliver(py: Python<'_>, progress: &Py<PyAny>, ev: Event) -> PyResult<()> {
    match ev {
        Event::Phase(name) => progress.call1(py, ("phase", name))?,
        Event::Iteration(s) => progress.call1(py, ("iteration", stats_dict(py, &s)?))?,
        Event::Steps(run, task, done, total) => {
            let d = PyDict::new(py);
            d.set_item("run", run)?;
            d.set_item("task", task)?;
            d.set_item("done", done)?;
            d.set_item("total", total)?;
            progress.call1(py, ("steps", d))?
        }
    };
    Ok(())
}

/// Runs `f` on a worker thread with the GIL released; see the module docs.
///
/// `progress`, if given, is called on the calling thread with `(kind, payload)` for every
/// event. Panics in `f` become `RuntimeError`, core errors are mapped by [`to_py`].
pub(crate) fn interruptible<T, F>(py: Python<'_>, progress: Option<Progress>, f: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce(&dyn Monitor) -> vorn::Result<T> + Send,
{
    let report = progress.as_ref().map(|p| p.steps_interval);
    // Borrowed into the detached closure so the callable is dropped with the GIL held.
    let progress = progress.as_ref().map(|p| &p.callable);
    py.detach(move || {
        let cancel = AtomicBool::new(false);
        let (tx, rx) = mpsc::channel::<Event>();
        std::thread::scope(|s| {
            let cancel = &cancel;
            let worker = s.spawn(move || {
                let mon = ChannelMonitor { cancel, tx, report };
                let out = catch_unwind(AssertUnwindSafe(|| f(&mon)));
                // Dropping the monitor drops the sender: the waiting loop sees Disconnected.
                drop(mon);
                out
            });
            let mut failure: Option<PyErr> = None;
            let mut last_check = Instant::now();
            loop {
                let wait = POLL.saturating_sub(last_check.elapsed());
                let event = match rx.recv_timeout(wait) {
                    Ok(ev) => Some(ev),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                };
                let due = last_check.elapsed() >= POLL;
                if event.is_none() && !due {
                    continue;
                }
                let res = Python::attach(|py| -> PyResult<()> {
                    if let (Some(ev), Some(p)) = (event, progress) {
                        deliver(py, p, ev)?;
                    }
                    if due {
                        py.check_signals()?;
                    }
                    Ok(())
                });
                if due {
                    last_check = Instant::now();
                }
                if let Err(e) = res {
                    cancel.store(true, Ordering::Relaxed);
                    failure = Some(e);
                    // Cancelled: block until the worker stops (it drops the sender), dropping
                    // any events it still sends.
                    while rx.recv().is_ok() {}
                    break;
                }
            }
            let joined = worker.join();
            if let Some(e) = failure {
                return Err(e);
            }
            match joined {
                Ok(out) => settle(out),
                Err(payload) => Err(panic_to_py(payload)),
            }
        })
    })
}

/// Runs `f` on the calling thread with the GIL released and without the worker thread and
/// signal polling of [`interruptible`]: for passes of at most [`vorn::INLINE_WORK`]
/// multiply-adds (at most ~150 µs) and fits that `KMeansParams::is_quick` bounds (well under
/// a second), where starting that thread costs a noticeable share of the work and Ctrl-C
/// can wait for the return. Errors and panics map as in [`interruptible`].
pub(crate) fn quick<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce(&dyn Monitor) -> vorn::Result<T> + Send,
{
    py.detach(move || settle(catch_unwind(AssertUnwindSafe(|| f(&Silent)))))
}

/// The Python result of a core call run under `catch_unwind`: its value, its error mapped by
/// [`to_py`], or its panic as `RuntimeError`.
fn settle<T>(out: std::thread::Result<vorn::Result<T>>) -> PyResult<T> {
    match out {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(to_py(e)),
        Err(payload) => Err(panic_to_py(payload)),
    }
}

/// [`quick`] when `small`, else [`interruptible`] without progress.
pub(crate) fn sized<T, F>(py: Python<'_>, small: bool, f: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce(&dyn Monitor) -> vorn::Result<T> + Send,
{
    if small {
        quick(py, f)
    } else {
        interruptible(py, None, f)
    }
}
