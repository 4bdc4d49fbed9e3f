//! Thread pools for fits and passes: each call runs on a worker of a pool of the asked
//! size, borrowed from a cache of idle pools (see [`with_threads`]).

use crate::error::{Error, Result};

/// Runs `f` on a worker of a pool of `n` threads, or of the current pool (`None`: the pool
/// the caller runs in, else rayon's global pool).
///
/// `f` itself runs on a pool thread, not on the caller's: every parallel region inside it
/// then starts on a worker, where forking is a push onto a local deque. Called from outside
/// any pool (the CLI's main thread, the Python binding's worker) and run there, each region
/// would instead be injected into the pool and the caller blocked on a latch until a worker
/// took it, a cost of tens of microseconds per region: a digits fit (k = 5, 1797 × 64) has
/// hundreds of regions and took 2.0–2.5 ms that way against 1.1–1.5 ms on a worker (2
/// threads, best of 60 in-process fits).
///
/// An explicit size borrows an idle pool of that size ([`PoolCache`]): starting and joining
/// threads on every call cost ~100–200 µs, more than a `predict` of 100 rows. A pool serves
/// one caller at a time, so callers on several threads (single-threaded fits from a Python
/// thread pool, say) still run side by side, each on a pool of its own.
pub(crate) fn with_threads<T: Send>(n: Option<usize>, f: impl FnOnce() -> T + Send) -> Result<T> {
    match n {
        None => Ok(rayon::scope(move |_| f())),
        Some(t) => {
            let pool = PoolCache::take(t)?;
            let out = pool.install(f);
            PoolCache::give_back(t, pool);
            Ok(out)
        }
    }
}

/// Idle thread pools by size, lent to one caller at a time by [`with_threads`].
struct PoolCache;

/// Idle pools kept in all (their threads sleep; beyond this a returned pool is dropped).
const IDLE_POOLS: usize = 8;

static IDLE: std::sync::Mutex<Vec<(usize, rayon::ThreadPool)>> = std::sync::Mutex::new(Vec::new());

impl PoolCache {
    /// An idle pool of `t` threads, or a new one.
    fn take(t: usize) -> Result<rayon::ThreadPool> {
        let idle = {
            let mut v = IDLE.lock().unwrap_or_else(|e| e.into_inner());
            v.iter()
                .position(|(n, _)| *n == t)
                .map(|i| v.swap_remove(i).1)
        };
        match idle {
            Some(p) => Ok(p),
            None => rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .thread_name(|i| format!("vorn-{i}"))
                .build()
                .map_err(|e| Error::param("n_threads", format!("cannot start {t} threads: {e}"))),
        }
    }

    /// Returns a pool after use (dropped when [`IDLE_POOLS`] are already kept).
    fn give_back(t: usize, pool: rayon::ThreadPool) {
        let mut v = IDLE.lock().unwrap_or_else(|e| e.into_inner());
        if v.len() < IDLE_POOLS {
            v.push((t, pool));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_runs_on_a_pool_worker_of_the_asked_size() {
        // Outside any pool, `None` still runs the work on a worker (of the global pool).
        assert_eq!(rayon::current_thread_index(), None);
        let inside = with_threads(None, rayon::current_thread_index).unwrap();
        assert!(inside.is_some());
        let (idx, n) = with_threads(Some(3), || {
            (rayon::current_thread_index(), rayon::current_num_threads())
        })
        .unwrap();
        assert!(idx.is_some());
        assert_eq!(n, 3);
        let name = |t| with_threads(Some(t), || std::thread::current().name().map(String::from));
        assert!(name(3).unwrap().unwrap().starts_with("vorn-"));
        // Nested calls run inline on the worker that is already in a pool.
        let nested = with_threads(Some(2), || with_threads(None, rayon::current_num_threads));
        assert_eq!(nested.unwrap().unwrap(), 2);
    }

    #[test]
    fn an_idle_pool_of_the_same_size_is_reused() {
        // Size 5 is used by no other test, so the pool put back is the one taken next.
        let threads = || {
            with_threads(Some(5), || {
                let mut ids: Vec<String> =
                    rayon::broadcast(|_| format!("{:?}", std::thread::current().id()));
                ids.sort();
                ids
            })
            .unwrap()
        };
        let first = threads();
        assert_eq!(first.len(), 5);
        assert_eq!(threads(), first);
    }

    #[test]
    fn explicit_sizes_from_two_threads_run_side_by_side() {
        // Each caller waits inside its pool until the other one is inside its own: with one
        // shared single-thread pool the second would queue and the first would time out.
        use std::sync::mpsc::channel;
        use std::time::Duration;
        let (to_b, from_a) = channel();
        let (to_a, from_b) = channel();
        let side = |tx: std::sync::mpsc::Sender<()>, rx: std::sync::mpsc::Receiver<()>| {
            std::thread::spawn(move || {
                with_threads(Some(1), move || {
                    tx.send(()).unwrap();
                    rx.recv_timeout(Duration::from_secs(10)).is_ok()
                })
                .unwrap()
            })
        };
        let (a, b) = (side(to_b, from_b), side(to_a, from_a));
        assert!(a.join().unwrap() && b.join().unwrap());
    }
}
