//! f32 work buffers kept between calls, so that the next small fit writes into memory
//! the process already touched instead of fresh pages.
//!
//! Why: a fit's large temporary buffers (the seeding's packed rows, the split–merge panels)
//! are freed at its end, and glibc returns freed memory of that size to the system
//! (`munmap`, or trimming the heap top). The next fit then page-faults on every 4 KiB it
//! writes: ~2.7 µs per fault on this VM (first touch of an anonymous page), 160–290 faults
//! in the first full fit of a process on digits (1797 × 64, k = 5), about 0.5 ms of a
//! 2.3–2.9 ms fit (`examples/fit_file` with `COLD=1 PHASES=1` counts them). Buffers taken
//! here come from the last ones given back when they are large enough.
//!
//! Bound: at most [`SLOTS`] buffers and [`KEEP_BYTES`] of capacity in all are kept; a larger
//! buffer is freed as usual. Large fits pay the faults, a negligible share of their time.

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

/// Capacity kept between calls, in bytes, at most.
pub(crate) const KEEP_BYTES: usize = 8 << 20;
/// Buffers kept between calls, at most.
pub(crate) const SLOTS: usize = 4;

/// Kept buffers (one process-wide [`KEPT`]; tests make their own).
pub(crate) struct Pool(Mutex<Vec<Vec<f32>>>);

static KEPT: Pool = Pool(Mutex::new(Vec::new()));

impl Pool {
    /// The kept buffer of the smallest capacity of at least `cap` elements, emptied, or a new
    /// one of capacity `cap`.
    fn take(&self, cap: usize) -> Vec<f32> {
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let best = (0..kept.len())
            .filter(|&i| kept[i].capacity() >= cap)
            .min_by_key(|&i| kept[i].capacity());
        let mut v = match best {
            Some(i) => kept.swap_remove(i),
            None => Vec::with_capacity(cap),
        };
        v.clear();
        v
    }

    /// Keeps `v` within the bounds, freeing the smallest buffers first (the large ones save
    /// more faults); a buffer over [`KEEP_BYTES`] is freed at once.
    fn give(&self, v: Vec<f32>) {
        let bytes = v.capacity() * 4;
        if bytes == 0 || bytes > KEEP_BYTES {
            return;
        }
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        kept.push(v);
        while kept.len() > SLOTS
            || kept.iter().map(|v| v.capacity() * 4).sum::<usize>() > KEEP_BYTES
        {
            let i = (0..kept.len())
                .min_by_key(|&i| kept[i].capacity())
                .expect("non-empty");
            kept.swap_remove(i);
        }
    }
}

/// A work buffer: a `Vec<f32>` that goes back to its pool when dropped.
pub(crate) struct Buf(Vec<f32>, &'static Pool);

impl Buf {
    /// An empty buffer of capacity at least `cap`, kept from an earlier call if one fits.
    pub(crate) fn with_capacity(cap: usize) -> Buf {
        Buf(KEPT.take(cap), &KEPT)
    }

    /// `len` zeros.
    pub(crate) fn zeroed(len: usize) -> Buf {
        let mut b = Buf::with_capacity(len);
        b.0.resize(len, 0.0);
        b
    }
}

impl Deref for Buf {
    type Target = Vec<f32>;
    fn deref(&self) -> &Vec<f32> {
        &self.0
    }
}

impl DerefMut for Buf {
    fn deref_mut(&mut self) -> &mut Vec<f32> {
        &mut self.0
    }
}

impl Drop for Buf {
    fn drop(&mut self) {
        self.1.give(std::mem::take(&mut self.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buf(pool: &'static Pool, len: usize) -> Buf {
        let mut b = Buf(pool.take(len), pool);
        b.resize(len, 0.0);
        b
    }

    #[test]
    fn buffers_are_reused_within_the_bounds() {
        let pool: &'static Pool = Box::leak(Box::new(Pool(Mutex::new(Vec::new()))));
        let a = buf(pool, 1000);
        assert!(a.iter().all(|&v| v == 0.0) && a.len() == 1000);
        let ptr = a.as_ptr();
        drop(a);
        // A smaller request reuses the kept allocation, emptied; zeroed again on resize.
        let mut b = Buf(pool.take(500), pool);
        assert!(b.is_empty());
        assert_eq!(b.as_ptr(), ptr);
        b.resize(500, 1.0);
        drop(b);
        let c = buf(pool, 800);
        assert_eq!(c.as_ptr(), ptr);
        assert!(c.iter().all(|&v| v == 0.0));
        // Larger than any kept buffer: a new one.
        let d = buf(pool, 2000);
        assert_ne!(d.as_ptr(), ptr);
        drop((c, d));
        assert_eq!(pool.0.lock().unwrap().len(), 2);
        // Too large to keep.
        drop(buf(pool, KEEP_BYTES / 4 + 1));
        assert_eq!(pool.0.lock().unwrap().len(), 2);
        // More buffers than slots: the smallest go.
        let many: Vec<Buf> = (1..=SLOTS + 2).map(|i| buf(pool, i * 4096)).collect();
        drop(many);
        let k = pool.0.lock().unwrap();
        assert_eq!(k.len(), SLOTS);
        assert!(k.iter().all(|v| v.capacity() >= 3 * 4096));
        assert!(k.iter().map(|v| v.capacity() * 4).sum::<usize>() <= KEEP_BYTES);
    }
}
