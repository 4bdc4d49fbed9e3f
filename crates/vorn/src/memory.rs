//! Fallible allocation of the buffers whose size the caller chooses.
//!
//! Rust's `vec![0; len]` aborts the process when the allocator refuses (`handle_alloc_error`),
//! which from Python kills the interpreter. Outputs that grow with the request rather than
//! with the data already in memory (the n × k distances of `transform`, say) go through
//! [`zeroed`] instead, which turns a refused allocation into [`Error::OutOfMemory`]. It asks
//! the allocator for zeroed memory (`calloc`: fresh pages cost nothing until written), as
//! `vec!` does. On Linux with overcommit a request the system can never back (more than its
//! RAM and swap together, or beyond the address space) is refused at once; one that fits in
//! principle but not in what is free is granted and may still meet the OOM killer later.

use crate::error::{Error, Result};
use std::alloc::{alloc_zeroed, Layout};

/// Element types for which all-zero bytes are a valid value.
pub trait Zeroable: Copy + sealed::Sealed {}
impl Zeroable for f32 {}
impl Zeroable for u32 {}
impl Zeroable for f64 {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for u32 {}
    impl Sealed for f64 {}
}

/// A vector of `len` zeros, or [`Error::OutOfMemory`] naming `what` when the allocator
/// refuses (or the byte size overflows).
pub fn zeroed<T: Zeroable>(len: usize, what: &'static str) -> Result<Vec<T>> {
    let oom = || Error::OutOfMemory {
        what,
        bytes: (len as u128) * std::mem::size_of::<T>() as u128,
    };
    if len == 0 {
        return Ok(Vec::new());
    }
    let layout = Layout::array::<T>(len).map_err(|_| oom())?;
    // SAFETY: `layout` has a non-zero size (len > 0; every `Zeroable` type has a size).
    let ptr = unsafe { alloc_zeroed(layout) }.cast::<T>();
    if ptr.is_null() {
        return Err(oom());
    }
    // SAFETY: `ptr` was allocated by the global allocator with the layout of `[T; len]`,
    // which is what a `Vec<T>` of capacity `len` frees with; all-zero bytes are a valid T
    // (`Zeroable`), so all `len` elements are initialised.
    Ok(unsafe { Vec::from_raw_parts(ptr, len, len) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_gives_zeros_and_refuses_impossible_sizes_without_aborting() {
        let v: Vec<f32> = zeroed(1000, "test").unwrap();
        assert_eq!(v.len(), 1000);
        assert!(v.iter().all(|&x| x.to_bits() == 0));
        let mut v = v;
        v.push(1.0); // a normal Vec: grows and frees as usual
        assert_eq!(v.len(), 1001);
        assert!(zeroed::<u32>(0, "test").unwrap().is_empty());
        // Past the largest layout (isize::MAX bytes): refused before asking the allocator.
        let e = zeroed::<f32>(usize::MAX / 2, "huge").unwrap_err();
        assert!(matches!(e, Error::OutOfMemory { what: "huge", .. }), "{e}");
        // 2⁶² bytes: a valid layout no allocator can grant (beyond any address space).
        let e = zeroed::<f64>(1 << 59, "distances").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("distances") && msg.contains("GiB"), "{msg}");
    }
}
