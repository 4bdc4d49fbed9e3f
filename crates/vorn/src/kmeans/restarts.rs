//! Restarts side by side: when a run is small, `n_init` runs go in parallel waves, each on
//! one task of the pool, with their progress serialised onto the caller's monitor.

use super::Monitor;
use crate::error::Result;
use rayon::prelude::*;

/// Whether restarts on m training rows of d columns with k centres run side by side (each
/// from one task of the pool, their parallel regions then mostly staying on that task's
/// thread) rather than one after the other, each over the whole pool. Only when a pass is
/// small (m·d·k ≤ [`super::params::AUTO_RESTART_WORK`]): there a run's regions are too short
/// to keep two threads busy (digits k = 10, 1797 × 64: 3.5 ms on one thread, 2.7 ms on two;
/// 20 Newsgroups cosine k = 10, 18 846 × 384: 65 ms and 42 ms), while every run holds its
/// own labels and bounds, which on large inputs would exceed the working-memory budget. Same
/// bits either way: each run's result does not depend on where its regions execute.
/// Measured with `examples/fit_file` (2 threads, min of 15 in-process fits, two rounds; one
/// run → two one after the other → two side by side): digits k = 5 0.94–0.97 → 2.1–2.2 →
/// 1.5–1.6 ms, k = 10 2.0 → 3.6–3.9 → 2.5 ms; 20 Newsgroups cosine k = 10 40–48 → 74–84 →
/// 64–66 ms, l2 k = 10 31–33 → 49–52 → 43–47 ms. Known cost: the second run waits for a
/// second thread, and on this VM a pool thread asleep after ~0.3 s idle took 0.6 to ~4 ms
/// to start (`examples/fit_file` with `COLD=1 PHASES=1`, digits k = 40: the second run's
/// seeding began 0.6 ms or 3.5–4.2 ms after the first's), so the benchmark's fresh-process
/// fits of that cell took 6 or 11 ms against 5.3 ms back to back.
pub(super) fn side_by_side(m: usize, d: usize, k: usize) -> bool {
    super::params::pass_work(m, d, k) <= super::params::AUTO_RESTART_WORK
}

/// Runs `run(0..runs)` side by side in waves of `wave` runs (in parallel within a wave),
/// handing each result to `keep` in run order as soon as its wave is done. Only one wave's
/// results are alive at a time: each run holds n labels, so collecting all `runs` of them
/// first (as earlier versions did) took memory in proportion to `n_init` (`examples/fit_file`
/// on 500k × 16 normal rows, k = 16, `algo=lloyd n_init=100 max_iter=5`: peak RSS 270 MB,
/// now 84 MB with 32 MB of data) and could abort the process on allocation failure. `keep` sees the results in run order whatever `wave` is, so the best run (the
/// first on ties) and everything derived from it do not depend on it.
pub(super) fn in_waves<R: Send>(
    runs: usize,
    wave: usize,
    run: impl Fn(usize) -> Result<R> + Sync,
    mut keep: impl FnMut(R),
) -> Result<()> {
    let wave = wave.max(1);
    for w0 in (0..runs).step_by(wave) {
        let results: Vec<R> = (w0..(w0 + wave).min(runs))
            .into_par_iter()
            .map(&run)
            .collect::<Result<_>>()?;
        results.into_iter().for_each(&mut keep);
    }
    Ok(())
}

/// A monitor shared by runs going side by side: progress calls are made one at a time (the
/// [`Monitor`] contract), cancellation is polled without the lock.
pub(super) struct Serialised<'a> {
    inner: &'a dyn Monitor,
    lock: std::sync::Mutex<()>,
}

impl<'a> Serialised<'a> {
    pub(super) fn new(inner: &'a dyn Monitor) -> Self {
        Serialised {
            inner,
            lock: std::sync::Mutex::new(()),
        }
    }
}

impl Monitor for Serialised<'_> {
    fn cancelled(&self) -> bool {
        self.inner.cancelled()
    }
    fn phase(&self, name: &str) {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.inner.phase(name);
    }
    fn iteration(&self, stats: &super::IterStats) {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.inner.iteration(stats);
    }
    fn steps(&self, steps: &super::Steps<'_>) {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.inner.steps(steps);
    }
    fn steps_interval(&self) -> std::time::Duration {
        self.inner.steps_interval()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A run's result that counts how many are alive at once.
    struct Held<'a> {
        run: usize,
        alive: &'a AtomicUsize,
    }

    impl Drop for Held<'_> {
        fn drop(&mut self) {
            self.alive.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn runs_side_by_side_hold_one_wave_of_results_and_keep_run_order() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        for (runs, wave) in [(1usize, 1usize), (7, 1), (7, 2), (7, 3), (9, 3), (2, 8)] {
            let (alive, peak) = (AtomicUsize::new(0), AtomicUsize::new(0));
            let mut order = Vec::new();
            pool.install(|| {
                in_waves(
                    runs,
                    wave,
                    |r| {
                        let now = alive.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        Ok(Held {
                            run: r,
                            alive: &alive,
                        })
                    },
                    |h| order.push(h.run),
                )
            })
            .unwrap();
            assert_eq!(
                order,
                (0..runs).collect::<Vec<_>>(),
                "{runs} runs, wave {wave}"
            );
            let most = peak.load(Ordering::SeqCst);
            assert!(
                most <= wave.min(runs),
                "{runs} runs, wave {wave}: {most} alive at once"
            );
            assert_eq!(alive.load(Ordering::SeqCst), 0);
        }
        // An error stops the runs: no later wave starts.
        let started = AtomicUsize::new(0);
        let err = pool.install(|| {
            in_waves(
                10,
                2,
                |r| {
                    started.fetch_add(1, Ordering::SeqCst);
                    if r == 3 {
                        Err(Error::Interrupted)
                    } else {
                        Ok(r)
                    }
                },
                |_| {},
            )
        });
        assert!(matches!(err, Err(Error::Interrupted)));
        // Runs 0–3 (run 2 may be skipped once run 3 failed), none of a later wave.
        assert!((3..=4).contains(&started.load(Ordering::SeqCst)));
    }
}
