//! Writing `.npy` files: version 1.0 (2.0 when the header exceeds 64 KiB), little-endian,
//! C order, header space-padded to a 64-byte boundary and ending in `'\n'`; files are written
//! to a temporary file and renamed over the target. Re-exported from [`crate::data::npy`].

use super::MAGIC;
use crate::data::source::write_atomic;
use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

/// Types [`write_npy`] can store.
pub trait NpyElement: Copy + Sync {
    /// Little-endian descr.
    const DESCR: &'static str;
    /// Appends the little-endian bytes of `self`.
    fn put(self, out: &mut Vec<u8>);
}

macro_rules! npy_element {
    ($($t:ty => $d:literal),*) => {$(
        impl NpyElement for $t {
            const DESCR: &'static str = $d;
            #[inline]
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}
npy_element!(f32 => "<f4", f64 => "<f8", u8 => "|u1", u32 => "<u4", i32 => "<i4", i64 => "<i8");

/// A shape as Python writes it: `(3,)`, `(2, 4)`, `()`.
pub(super) fn shape_tuple(shape: &[usize]) -> String {
    match shape {
        [a] => format!("({a},)"),
        s => format!(
            "({})",
            s.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The preamble and padded header of a C-order array of `descr` with `shape`.
pub(super) fn header_bytes(descr: &str, shape: &[usize]) -> Vec<u8> {
    let shape_s = shape_tuple(shape);
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_s}, }}");
    for (major, pre) in [(1u8, 10usize), (2, 12)] {
        let unpadded = pre + dict.len() + 1;
        let total = unpadded.div_ceil(64) * 64;
        let hlen = total - pre;
        if major == 1 && hlen > u16::MAX as usize {
            continue;
        }
        let mut b = Vec::with_capacity(total);
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&[major, 0]);
        if major == 1 {
            b.extend_from_slice(&(hlen as u16).to_le_bytes());
        } else {
            b.extend_from_slice(&(hlen as u32).to_le_bytes());
        }
        b.extend_from_slice(dict.as_bytes());
        b.resize(total - 1, b' ');
        b.push(b'\n');
        return b;
    }
    unreachable!("a version 2.0 header holds any shape")
}

fn check_shape(len: usize, shape: &[usize]) -> Result<()> {
    let prod = shape.iter().try_fold(1usize, |a, &s| a.checked_mul(s));
    if prod != Some(len) || shape.is_empty() {
        return Err(Error::param(
            "shape",
            format!("{len} values do not form an array of shape {shape:?}"),
        ));
    }
    Ok(())
}

fn put_all<T: NpyElement>(data: &[T], w: &mut dyn Write) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1 << 16);
    for chunk in data.chunks((1 << 16) / std::mem::size_of::<T>().max(1)) {
        buf.clear();
        for &v in chunk {
            v.put(&mut buf);
        }
        w.write_all(&buf)?;
    }
    Ok(())
}

/// A complete `.npy` file in memory: `data` in C order with `shape`.
pub fn npy_bytes<T: NpyElement>(data: &[T], shape: &[usize]) -> Result<Vec<u8>> {
    check_shape(data.len(), shape)?;
    let mut b = header_bytes(T::DESCR, shape);
    put_all(data, &mut b).expect("writing to a Vec cannot fail");
    Ok(b)
}

/// Writes `data` (C order, `shape`) to `path` atomically (temporary file + rename).
pub fn write_npy<T: NpyElement>(path: impl AsRef<Path>, data: &[T], shape: &[usize]) -> Result<()> {
    check_shape(data.len(), shape)?;
    let header = header_bytes(T::DESCR, shape);
    write_atomic(path.as_ref(), |w| {
        w.write_all(&header)?;
        put_all(data, w)
    })
}

/// Writes a row-major `n × d` matrix (e.g. centroids as `<f4`).
pub fn write_npy_2d<T: NpyElement>(
    path: impl AsRef<Path>,
    data: &[T],
    n: usize,
    d: usize,
) -> Result<()> {
    write_npy(path, data, &[n, d])
}

/// Writes a vector (e.g. labels as `<u4`, `<i4` or `<i8`).
pub fn write_npy_1d<T: NpyElement>(path: impl AsRef<Path>, data: &[T]) -> Result<()> {
    write_npy(path, data, &[data.len()])
}

/// Writes cluster labels as a 1-D array: `<i4` (the dtype scikit-learn's `labels_` has) when
/// every label fits in i32, which it does for any realistic k, else `<u4`. No copy is made:
/// the little-endian bytes of a u32 below 2³¹ are those of the same i32.
pub fn write_labels(path: impl AsRef<Path>, labels: &[u32]) -> Result<()> {
    let descr = if labels.iter().all(|&l| l <= i32::MAX as u32) {
        "<i4"
    } else {
        "<u4"
    };
    let header = header_bytes(descr, &[labels.len()]);
    write_atomic(path.as_ref(), |w| {
        w.write_all(&header)?;
        put_all(labels, w)
    })
}
