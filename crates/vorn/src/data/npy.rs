//! NumPy `.npy` files (format versions 1.0, 2.0 and 3.0).
//!
//! # Layout
//! ```text
//! magic        b"\x93NUMPY"                          6 bytes
//! version      major u8, minor u8                    1.0 | 2.0 | 3.0
//! header_len   u16 LE (v1) | u32 LE (v2, v3)
//! header       a Python dict literal, space-padded, ending in '\n', e.g.
//!              {'descr': '<f4', 'fortran_order': False, 'shape': (1000, 128), }
//! data         prod(shape) items of `descr`, C (row-major) or Fortran (column-major) order
//! ```
//! The data starts at `6 + 2 + 2 (or 4) + header_len`; NumPy pads the header so that this
//! offset is a multiple of 64.
//!
//! # Reading ([`read_npy`])
//! Only 2-D arrays `(n, d)` are matrices. The file is memory-mapped; when the dtype is
//! little-endian `<f4`, the order is C and the data offset is 4-byte aligned, the matrix is
//! borrowed from the map without a copy ([`MatrixSource::is_zero_copy`]). Otherwise the values
//! are converted to f32 in row-major order: from `<f8`, `<f2`, signed and unsigned integers of
//! 1–8 bytes, bool, and from Fortran order. 64-bit integers and doubles are rounded to the
//! nearest f32.
//!
//! Rejected with [`Error::Format`] naming the path and what to pass instead: big-endian
//! multi-byte dtypes, complex, object, string, datetime, void and structured dtypes,
//! `longdouble`, `.npz` archives, other than 2 dimensions, zero rows or columns.
//!
//! Every size is checked against the bytes actually present before anything is allocated, so
//! a corrupt header claiming a huge shape fails fast; corrupt input never panics.
//!
//! # Writing ([`write_npy`])
//! Version 1.0 (2.0 if the header would not fit 64 KiB), little-endian, C order, header padded
//! to a 64-byte boundary, written to a temporary file and renamed over the target.
//!
//! ```
//! use vorn::data::npy;
//! let p = std::env::temp_dir().join(format!("vorn-doc-npy-{}.npy", std::process::id()));
//! npy::write_npy_2d(&p, &[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3)?;
//! let m = npy::read_npy(&p)?;
//! assert_eq!((m.n(), m.d()), (2, 3));
//! assert_eq!(m.view().row(1), &[4.0, 5.0, 6.0]);
//! assert!(m.is_zero_copy());
//! # std::fs::remove_file(&p).unwrap();
//! # Ok::<(), vorn::Error>(())
//! ```

use super::source::{map_file, MatrixSource};
use crate::error::{Error, Result};
use dict::{Lit, Parser};
use rayon::prelude::*;
use std::path::Path;

/// The six magic bytes every `.npy` file starts with.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

#[path = "npy_dict.rs"]
mod dict;
#[path = "npy_write.rs"]
mod write;

pub use write::{npy_bytes, write_labels, write_npy, write_npy_1d, write_npy_2d, NpyElement};

/// Element types that can be read (and converted to f32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NpyDtype {
    /// `|b1`: bool, one byte, 0 or 1.
    Bool,
    /// `|i1`.
    I1,
    /// `<i2`.
    I2,
    /// `<i4`.
    I4,
    /// `<i8`.
    I8,
    /// `|u1`.
    U1,
    /// `<u2`.
    U2,
    /// `<u4`.
    U4,
    /// `<u8`.
    U8,
    /// `<f2`: IEEE half precision.
    F2,
    /// `<f4`: IEEE single precision (zero-copy when C order and aligned).
    F4,
    /// `<f8`: IEEE double precision.
    F8,
}

impl NpyDtype {
    /// Bytes per item.
    pub fn size(self) -> usize {
        use NpyDtype::*;
        match self {
            Bool | I1 | U1 => 1,
            I2 | U2 | F2 => 2,
            I4 | U4 | F4 => 4,
            I8 | U8 | F8 => 8,
        }
    }

    /// Canonical little-endian descr, e.g. `"<f4"`, `"|u1"`.
    pub fn descr(self) -> &'static str {
        use NpyDtype::*;
        match self {
            Bool => "|b1",
            I1 => "|i1",
            I2 => "<i2",
            I4 => "<i4",
            I8 => "<i8",
            U1 => "|u1",
            U2 => "<u2",
            U4 => "<u4",
            U8 => "<u8",
            F2 => "<f2",
            F4 => "<f4",
            F8 => "<f8",
        }
    }

    fn is_integer(self) -> bool {
        !matches!(self, NpyDtype::F2 | NpyDtype::F4 | NpyDtype::F8)
    }

    /// Parses a descr string; the error says what the dtype is and what to pass instead.
    pub fn parse(descr: &str) -> std::result::Result<NpyDtype, String> {
        use NpyDtype::*;
        let unsupported = |what: &str, hint: &str| {
            Err(format!("{what} dtype '{descr}' is not supported: {hint}"))
        };
        if !descr.is_ascii() || descr.is_empty() {
            return unsupported(
                "unknown",
                "pass a float32 array, e.g. np.save(path, x.astype('<f4'))",
            );
        }
        let b = descr.as_bytes();
        let (order, rest) = match b[0] {
            b'<' | b'>' | b'|' | b'=' => (b[0], &descr[1..]),
            _ => (b'=', descr),
        };
        let Some(kind) = rest.chars().next() else {
            return unsupported(
                "unknown",
                "pass a float32 array, e.g. np.save(path, x.astype('<f4'))",
            );
        };
        let size: Option<usize> = rest[1..].parse().ok();
        let dtype = match (kind, size) {
            ('b', Some(1)) | ('?', None) => Bool,
            ('i', Some(1)) => I1,
            ('i', Some(2)) => I2,
            ('i', Some(4)) => I4,
            ('i', Some(8)) => I8,
            ('u', Some(1)) => U1,
            ('u', Some(2)) => U2,
            ('u', Some(4)) => U4,
            ('u', Some(8)) => U8,
            ('f', Some(2)) => F2,
            ('f', Some(4)) => F4,
            ('f', Some(8)) => F8,
            ('f', _) => {
                return unsupported(
                    "extended-precision float",
                    "pass float32 or float64, e.g. np.save(path, x.astype('<f4'))",
                )
            }
            ('c', _) => {
                return unsupported(
                    "complex",
                    "pass a real array, e.g. np.save(path, np.abs(x).astype('<f4')) or x.real",
                )
            }
            ('O', _) => {
                return unsupported(
                    "object",
                    "object arrays need pickle; pass a numeric array, e.g. np.save(path, x.astype('<f4'))",
                )
            }
            ('S' | 'a' | 'U', _) => {
                return unsupported(
                    "string",
                    "parse the values into numbers first, e.g. np.save(path, x.astype('<f4'))",
                )
            }
            ('M' | 'm', _) => {
                return unsupported(
                    "datetime",
                    "convert to numbers first, e.g. x.astype('int64').astype('<f4')",
                )
            }
            ('V', _) => {
                return unsupported(
                    "void/structured",
                    "pass a plain 2-D float array, e.g. numpy.lib.recfunctions.structured_to_unstructured(x).astype('<f4')",
                )
            }
            ('i' | 'u' | 'b', _) => {
                return unsupported("integer", "pass an array of 1, 2, 4 or 8-byte integers or float32")
            }
            _ => {
                return unsupported(
                    "unknown",
                    "pass a float32 array, e.g. np.save(path, x.astype('<f4'))",
                )
            }
        };
        let big = order == b'>' || (order == b'=' && cfg!(target_endian = "big"));
        if big && dtype.size() > 1 {
            return Err(format!(
                "big-endian dtype '{descr}' is not supported: pass little-endian data, e.g. np.save(path, x.astype('{}'))",
                dtype.descr()
            ));
        }
        Ok(dtype)
    }
}

/// A parsed `.npy` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    /// Format version (major, minor).
    pub version: (u8, u8),
    /// Element type.
    pub dtype: NpyDtype,
    /// True for column-major (Fortran) data.
    pub fortran_order: bool,
    /// Array shape.
    pub shape: Vec<usize>,
    /// Offset of the first data byte from the start of the file.
    pub data_offset: usize,
}

impl NpyHeader {
    /// Parses the header at the start of `bytes` (only the header needs to be present);
    /// `origin` names the file in errors.
    pub fn parse(bytes: &[u8], origin: &Path) -> Result<NpyHeader> {
        let bad = |m: String| Error::format(origin, format!("not a valid .npy file: {m}"));
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            if bytes.starts_with(b"PK\x03\x04") {
                return Err(Error::format(
                    origin,
                    "this is an .npz archive, not an .npy file: extract one array, e.g. np.save('x.npy', np.load(path)['arr_0'])",
                ));
            }
            if MAGIC.starts_with(bytes) {
                return Err(bad(format!(
                    "truncated: the file has only {} bytes",
                    bytes.len()
                )));
            }
            return Err(bad(
                "bad magic: it does not start with \\x93NUMPY (write it with numpy.save)".into(),
            ));
        }
        if bytes.len() < 8 {
            return Err(bad("truncated before the format version".into()));
        }
        let (major, minor) = (bytes[6], bytes[7]);
        let (len_bytes, start) = match major {
            1 => (2, 10),
            2 | 3 => (4, 12),
            _ => {
                return Err(bad(format!(
                    "format version {major}.{minor} is not supported (1.0, 2.0 and 3.0 are)"
                )))
            }
        };
        if bytes.len() < start {
            return Err(bad("truncated in the header length".into()));
        }
        let mut hl = [0u8; 4];
        hl[..len_bytes].copy_from_slice(&bytes[8..start]);
        let header_len = u32::from_le_bytes(hl) as usize;
        let end = start
            .checked_add(header_len)
            .filter(|&e| e <= bytes.len())
            .ok_or_else(|| {
                bad(format!(
                    "truncated header: it claims {header_len} bytes but the file has {} after the preamble",
                    bytes.len() - start
                ))
            })?;
        let text = String::from_utf8_lossy(&bytes[start..end]);
        let snippet = || -> String {
            let t: String = text.chars().take(120).collect();
            format!("{t:?}")
        };
        let dict = Parser::new(&text)
            .document()
            .ok_or_else(|| bad(format!("cannot parse the header dictionary {}", snippet())))?;
        let Lit::Dict(entries) = dict else {
            return Err(bad(format!(
                "the header is not a dictionary: {}",
                snippet()
            )));
        };
        let get = |key: &str| {
            entries
                .iter()
                .find(|(k, _)| matches!(k, Lit::Str(s) if s == key))
                .map(|(_, v)| v)
        };
        let missing = |key: &str| bad(format!("the header has no '{key}' entry: {}", snippet()));
        let dtype = match get("descr").ok_or_else(|| missing("descr"))? {
            Lit::Str(s) => NpyDtype::parse(s).map_err(|m| Error::format(origin, m))?,
            Lit::Seq(..) => {
                return Err(Error::format(
                    origin,
                    "structured dtype (record array) is not supported: pass a plain 2-D float array, e.g. numpy.lib.recfunctions.structured_to_unstructured(x).astype('<f4')",
                ))
            }
            _ => return Err(bad(format!("'descr' is not a string: {}", snippet()))),
        };
        let fortran_order = match get("fortran_order").ok_or_else(|| missing("fortran_order"))? {
            Lit::Bool(b) => *b,
            _ => {
                return Err(bad(format!(
                    "'fortran_order' is not True or False: {}",
                    snippet()
                )))
            }
        };
        let shape = match get("shape").ok_or_else(|| missing("shape"))? {
            Lit::Seq(items, _) => items
                .iter()
                .map(|v| match v {
                    Lit::Int(i) => usize::try_from(*i).ok(),
                    _ => None,
                })
                .collect::<Option<Vec<usize>>>()
                .ok_or_else(|| bad(format!("'shape' is not a tuple of sizes: {}", snippet())))?,
            _ => return Err(bad(format!("'shape' is not a tuple: {}", snippet()))),
        };
        Ok(NpyHeader {
            version: (major, minor),
            dtype,
            fortran_order,
            shape,
            data_offset: end,
        })
    }

    /// Bytes of data the header announces (`None` if it overflows).
    pub fn data_len(&self) -> Option<usize> {
        self.shape
            .iter()
            .try_fold(self.dtype.size(), |acc, &s| acc.checked_mul(s))
    }

    /// Checks that `file_len` bytes hold all the announced data; returns the data length.
    fn check_len(&self, file_len: usize, origin: &Path) -> Result<usize> {
        let shape = self.shape_str();
        let nbytes = self.data_len().ok_or_else(|| {
            Error::format(
                origin,
                format!("not a valid .npy file: shape {shape} overflows"),
            )
        })?;
        let avail = file_len.saturating_sub(self.data_offset);
        if nbytes > avail {
            return Err(Error::format(
                origin,
                format!(
                    "truncated .npy file: shape {shape} of '{}' needs {nbytes} data bytes but the file has {avail}",
                    self.dtype.descr()
                ),
            ));
        }
        Ok(nbytes)
    }

    fn shape_str(&self) -> String {
        write::shape_tuple(&self.shape)
    }

    /// Checks a matrix header against the file length: returns (n, d, data bytes).
    fn matrix(&self, file_len: usize, origin: &Path) -> Result<(usize, usize, usize)> {
        let &[n, d] = self.shape.as_slice() else {
            return Err(Error::format(
                origin,
                format!(
                    "expected a 2-D array (n, d), got shape {} with {} dimension(s): reshape it, e.g. np.save(path, x.reshape(len(x), -1))",
                    self.shape_str(),
                    self.shape.len()
                ),
            ));
        };
        let nbytes = self.check_len(file_len, origin)?;
        if n == 0 || d == 0 {
            return Err(Error::format(
                origin,
                format!("the array has shape ({n}, {d}): pass at least one row and one column"),
            ));
        }
        Ok((n, d, nbytes))
    }
}

/// Reads a 2-D `.npy` file as an f32 matrix; see the module docs.
pub fn read_npy(path: impl AsRef<Path>) -> Result<MatrixSource> {
    let path = path.as_ref();
    let map = map_file(path)?;
    let h = NpyHeader::parse(&map, path)?;
    let (n, d, nbytes) = h.matrix(map.len(), path)?;
    let descr = h.dtype.descr().to_string();
    let map = if h.dtype == NpyDtype::F4 && !h.fortran_order {
        match MatrixSource::mapped(map, h.data_offset, n, d, path.into(), descr.clone()) {
            Ok(src) => return Ok(src),
            Err(map) => map,
        }
    } else {
        map
    };
    let data = to_f32(&map[h.data_offset..h.data_offset + nbytes], &h, n, d);
    MatrixSource::owned(data, n, d, path.into(), descr)
}

/// Parses a whole `.npy` file held in memory (always converted into an owned buffer);
/// `origin` names it in errors.
pub fn npy_from_bytes(bytes: &[u8], origin: &Path) -> Result<MatrixSource> {
    let h = NpyHeader::parse(bytes, origin)?;
    let (n, d, nbytes) = h.matrix(bytes.len(), origin)?;
    let data = to_f32(&bytes[h.data_offset..h.data_offset + nbytes], &h, n, d);
    MatrixSource::owned(data, n, d, origin.into(), h.dtype.descr().into())
}

/// Reads a 1-D `.npy` of integers (any width, signed or unsigned, or bool) as u32 labels,
/// e.g. ground-truth classes. Values outside `0..=u32::MAX` are an [`Error::Format`].
pub fn read_labels(path: impl AsRef<Path>) -> Result<Vec<u32>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let h = NpyHeader::parse(&bytes, path)?;
    if h.shape.len() != 1 {
        return Err(Error::format(
            path,
            format!(
                "expected a 1-D array of labels, got shape {}: pass e.g. np.save(path, y.ravel())",
                h.shape_str()
            ),
        ));
    }
    if !h.dtype.is_integer() {
        return Err(Error::format(
            path,
            format!(
                "labels must be integers, got '{}': pass e.g. np.save(path, y.astype('<i8'))",
                h.dtype.descr()
            ),
        ));
    }
    let nbytes = h.check_len(bytes.len(), path)?;
    let s = h.dtype.size();
    let data = &bytes[h.data_offset..h.data_offset + nbytes];
    let mut out = Vec::with_capacity(h.shape[0]);
    for (i, c) in data.chunks_exact(s).enumerate() {
        let v: i128 = match h.dtype {
            NpyDtype::Bool | NpyDtype::U1 => c[0] as i128,
            NpyDtype::I1 => c[0] as i8 as i128,
            NpyDtype::I2 => i16::from_le_bytes(arr(c)) as i128,
            NpyDtype::U2 => u16::from_le_bytes(arr(c)) as i128,
            NpyDtype::I4 => i32::from_le_bytes(arr(c)) as i128,
            NpyDtype::U4 => u32::from_le_bytes(arr(c)) as i128,
            NpyDtype::I8 => i64::from_le_bytes(arr(c)) as i128,
            NpyDtype::U8 => u64::from_le_bytes(arr(c)) as i128,
            NpyDtype::F2 | NpyDtype::F4 | NpyDtype::F8 => unreachable!("checked is_integer"),
        };
        let v = u32::try_from(v).map_err(|_| {
            Error::format(
                path,
                format!("label {v} at index {i} is not in 0..=4294967295"),
            )
        })?;
        out.push(v);
    }
    Ok(out)
}

#[inline]
fn arr<const S: usize>(c: &[u8]) -> [u8; S] {
    c.try_into().expect("chunk of exactly S bytes")
}

/// IEEE half → single, exact for every input (subnormals, infinities, NaN payloads).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let man = (h & 0x3ff) as u32;
    if exp == 0 {
        // Zero or subnormal: man · 2⁻²⁴ is exact in f32.
        let v = man as f32 * (1.0 / 16_777_216.0);
        return if sign != 0 { -v } else { v };
    }
    let bits = if exp == 0x1f {
        sign | 0x7f80_0000 | (man << 13)
    } else {
        sign | ((exp + 112) << 23) | (man << 13)
    };
    f32::from_bits(bits)
}

/// Converts `data` (exactly n·d items of `h.dtype`) to row-major f32.
fn to_f32(data: &[u8], h: &NpyHeader, n: usize, d: usize) -> Vec<f32> {
    use NpyDtype::*;
    let fo = h.fortran_order;
    match h.dtype {
        Bool => convert::<1>(data, n, d, fo, |c| (c[0] != 0) as u8 as f32),
        U1 => convert::<1>(data, n, d, fo, |c| c[0] as f32),
        I1 => convert::<1>(data, n, d, fo, |c| c[0] as i8 as f32),
        I2 => convert::<2>(data, n, d, fo, |c| i16::from_le_bytes(*c) as f32),
        U2 => convert::<2>(data, n, d, fo, |c| u16::from_le_bytes(*c) as f32),
        F2 => convert::<2>(data, n, d, fo, |c| f16_to_f32(u16::from_le_bytes(*c))),
        I4 => convert::<4>(data, n, d, fo, |c| i32::from_le_bytes(*c) as f32),
        U4 => convert::<4>(data, n, d, fo, |c| u32::from_le_bytes(*c) as f32),
        F4 => convert::<4>(data, n, d, fo, |c| f32::from_le_bytes(*c)),
        I8 => convert::<8>(data, n, d, fo, |c| i64::from_le_bytes(*c) as f32),
        U8 => convert::<8>(data, n, d, fo, |c| u64::from_le_bytes(*c) as f32),
        F8 => convert::<8>(data, n, d, fo, |c| f64::from_le_bytes(*c) as f32),
    }
}

/// Rows per parallel block.
const BLOCK_ROWS: usize = 1024;

fn convert<const S: usize>(
    data: &[u8],
    n: usize,
    d: usize,
    fortran: bool,
    f: impl Fn(&[u8; S]) -> f32 + Sync,
) -> Vec<f32> {
    debug_assert_eq!(data.len(), n * d * S);
    let mut out = vec![0f32; n * d];
    if !fortran {
        out.par_chunks_mut(BLOCK_ROWS * d)
            .zip(data.par_chunks(BLOCK_ROWS * d * S))
            .for_each(|(o, src)| {
                for (v, c) in o.iter_mut().zip(src.chunks_exact(S)) {
                    *v = f(&arr(c));
                }
            });
    } else {
        // Element (i, j) sits at item j·n + i. Each block of output rows reads a contiguous
        // run of every column.
        out.par_chunks_mut(BLOCK_ROWS * d)
            .enumerate()
            .for_each(|(b, o)| {
                let r0 = b * BLOCK_ROWS;
                let rows = o.len() / d;
                for j in 0..d {
                    let col = &data[(j * n + r0) * S..(j * n + r0 + rows) * S];
                    for (ii, c) in col.chunks_exact(S).enumerate() {
                        o[ii * d + j] = f(&arr(c));
                    }
                }
            });
    }
    out
}

#[cfg(test)]
#[path = "npy_tests.rs"]
mod tests;
