//! `.fvecs` and `.bvecs` files (the TEXMEX / ANN_SIFT1M / BIGANN formats).
//!
//! # Layout
//! A sequence of rows, each self-describing, all little-endian, no file header:
//! ```text
//! .fvecs   d: i32, then d × f32     (4 + 4·d bytes per row)
//! .bvecs   d: i32, then d × u8      (4 + d bytes per row)
//! ```
//! Every row must declare the same `d`. The row count is the file size divided by the row
//! size.
//!
//! # Validation
//! [`Error::Format`] (naming the path and the row) for: an empty file, a first `d ≤ 0` or above
//! [`MAX_DIM`], a row declaring a different `d`, and a file size that is not a whole number of
//! rows (truncated). Every row header is checked before the output is allocated, and the
//! allocation size is computed with checked arithmetic from the file size (at most 4 bytes of
//! f32 per input byte), so corrupt input neither panics nor allocates more than the file
//! implies.
//!
//! The values are copied into a row-major f32 buffer (the per-row `d` fields make a zero-copy
//! view impossible); u8 values become 0.0–255.0 exactly.
//!
//! ```
//! use vorn::data::fvecs;
//! let p = std::env::temp_dir().join(format!("vorn-doc-fvecs-{}.fvecs", std::process::id()));
//! fvecs::write_fvecs(&p, &[1.0, 2.0, 3.0, 4.0], 2, 2)?;
//! let m = fvecs::read_fvecs(&p)?;
//! assert_eq!((m.n(), m.d()), (2, 2));
//! assert_eq!(m.view().row(1), &[3.0, 4.0]);
//! # std::fs::remove_file(&p).unwrap();
//! # Ok::<(), vorn::Error>(())
//! ```

use super::source::{map_file, write_atomic, MatrixSource};
use crate::error::{Error, Result};
use rayon::prelude::*;
use std::path::Path;

/// Largest dimension accepted. Real `.fvecs`/`.bvecs` data has d ≤ a few thousand; a larger
/// value in a header almost always means the file is not in this format.
pub const MAX_DIM: usize = 1 << 20;

/// The two vector-file flavours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VecsKind {
    /// `.fvecs`: f32 values.
    Fvecs,
    /// `.bvecs`: u8 values.
    Bvecs,
}

impl VecsKind {
    /// Bytes per value.
    pub fn value_size(self) -> usize {
        match self {
            VecsKind::Fvecs => 4,
            VecsKind::Bvecs => 1,
        }
    }

    fn name(self) -> &'static str {
        match self {
            VecsKind::Fvecs => ".fvecs",
            VecsKind::Bvecs => ".bvecs",
        }
    }

    fn dtype(self) -> &'static str {
        match self {
            VecsKind::Fvecs => "f32",
            VecsKind::Bvecs => "u8",
        }
    }
}

/// Reads an `.fvecs` file.
pub fn read_fvecs(path: impl AsRef<Path>) -> Result<MatrixSource> {
    read_vecs(path, VecsKind::Fvecs)
}

/// Reads a `.bvecs` file (values converted to f32).
pub fn read_bvecs(path: impl AsRef<Path>) -> Result<MatrixSource> {
    read_vecs(path, VecsKind::Bvecs)
}

/// Reads a file of the given kind; see the module docs.
pub fn read_vecs(path: impl AsRef<Path>, kind: VecsKind) -> Result<MatrixSource> {
    let path = path.as_ref();
    let file_len = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    if file_len == 0 {
        return Err(empty(path, kind));
    }
    let map = map_file(path)?;
    vecs_from_bytes(&map, kind, path)
}

fn empty(path: &Path, kind: VecsKind) -> Error {
    Error::format(
        path,
        format!("the {} file is empty: it holds no vectors", kind.name()),
    )
}

/// Parses a whole `.fvecs`/`.bvecs` file held in memory; `origin` names it in errors.
pub fn vecs_from_bytes(bytes: &[u8], kind: VecsKind, origin: &Path) -> Result<MatrixSource> {
    let (n, d) = layout(bytes, kind, origin)?;
    let vs = kind.value_size();
    let row_bytes = 4 + d * vs; // checked in `layout`
                                // n·d ≤ file size / value size, so this cannot overflow; the check is belt and braces.
    let len = n.checked_mul(d).ok_or_else(|| {
        Error::format(
            origin,
            format!("{n} rows of dimension {d} overflow the address space"),
        )
    })?;
    let mut out = vec![0f32; len];
    out.par_chunks_mut(d)
        .zip(bytes[..n * row_bytes].par_chunks(row_bytes))
        .for_each(|(o, row)| {
            let vals = &row[4..];
            match kind {
                VecsKind::Fvecs => {
                    for (v, c) in o.iter_mut().zip(vals.chunks_exact(4)) {
                        *v = f32::from_le_bytes(c.try_into().expect("4 bytes"));
                    }
                }
                VecsKind::Bvecs => {
                    for (v, &c) in o.iter_mut().zip(vals) {
                        *v = c as f32;
                    }
                }
            }
        });
    MatrixSource::owned(out, n, d, origin.into(), kind.dtype().into())
}

fn row_dim(bytes: &[u8], at: usize) -> i32 {
    i32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

/// Validates the row structure; returns (n, d).
fn layout(bytes: &[u8], kind: VecsKind, origin: &Path) -> Result<(usize, usize)> {
    let bad = |m: String| Error::format(origin, format!("not a valid {} file: {m}", kind.name()));
    if bytes.is_empty() {
        return Err(empty(origin, kind));
    }
    if bytes.len() < 4 {
        return Err(bad(format!(
            "truncated: {} bytes cannot hold the 4-byte dimension of the first row",
            bytes.len()
        )));
    }
    let d0 = row_dim(bytes, 0);
    if d0 <= 0 {
        return Err(bad(format!(
            "the first row declares dimension {d0}; it must be at least 1"
        )));
    }
    let d = d0 as usize;
    if d > MAX_DIM {
        return Err(bad(format!(
            "the first row declares dimension {d}, above the limit of {MAX_DIM} (is this really a {} file?)",
            kind.name()
        )));
    }
    let row_bytes = d
        .checked_mul(kind.value_size())
        .and_then(|b| b.checked_add(4))
        .ok_or_else(|| bad(format!("dimension {d} overflows")))?;
    let n = bytes.len() / row_bytes;
    for r in 0..n {
        let dr = row_dim(bytes, r * row_bytes);
        if dr != d0 {
            return Err(bad(format!(
                "row {r} declares dimension {dr} but row 0 declared {d0} (all rows must have the same dimension)"
            )));
        }
    }
    let rest = bytes.len() - n * row_bytes;
    if rest != 0 {
        // Distinguish a short last row from a row of another dimension.
        if rest >= 4 {
            let dr = row_dim(bytes, n * row_bytes);
            if dr != d0 {
                return Err(bad(format!(
                    "row {n} declares dimension {dr} but row 0 declared {d0} (all rows must have the same dimension)"
                )));
            }
        }
        return Err(bad(format!(
            "truncated: row {n} has {rest} of its {row_bytes} bytes (d = {d}); the file size {} is not a whole number of rows",
            bytes.len()
        )));
    }
    Ok((n, d))
}

/// The `.fvecs` bytes of a row-major `n × d` matrix.
pub fn fvecs_bytes(data: &[f32], n: usize, d: usize) -> Result<Vec<u8>> {
    let d32 = check_write(data.len(), n, d)?;
    let mut b = Vec::with_capacity(n * (4 + 4 * d));
    for row in data.chunks_exact(d) {
        b.extend_from_slice(&d32.to_le_bytes());
        for v in row {
            b.extend_from_slice(&v.to_le_bytes());
        }
    }
    Ok(b)
}

/// The `.bvecs` bytes of a row-major `n × d` matrix of bytes.
pub fn bvecs_bytes(data: &[u8], n: usize, d: usize) -> Result<Vec<u8>> {
    let d32 = check_write(data.len(), n, d)?;
    let mut b = Vec::with_capacity(n * (4 + d));
    for row in data.chunks_exact(d) {
        b.extend_from_slice(&d32.to_le_bytes());
        b.extend_from_slice(row);
    }
    Ok(b)
}

fn check_write(len: usize, n: usize, d: usize) -> Result<i32> {
    if n.checked_mul(d) != Some(len) || n == 0 || d == 0 {
        return Err(Error::ShapeMismatch { len, n, d });
    }
    i32::try_from(d)
        .ok()
        .filter(|&d| d as usize <= MAX_DIM)
        .ok_or_else(|| Error::param("d", format!("{d} exceeds the .fvecs limit of {MAX_DIM}")))
}

/// Writes a row-major `n × d` f32 matrix as `.fvecs`, atomically (temporary file + rename).
pub fn write_fvecs(path: impl AsRef<Path>, data: &[f32], n: usize, d: usize) -> Result<()> {
    let d32 = check_write(data.len(), n, d)?;
    write_atomic(path.as_ref(), |w| {
        let mut buf = Vec::with_capacity(4 + 4 * d);
        for row in data.chunks_exact(d) {
            buf.clear();
            buf.extend_from_slice(&d32.to_le_bytes());
            for v in row {
                buf.extend_from_slice(&v.to_le_bytes());
            }
            w.write_all(&buf)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("mem.fvecs")
    }

    fn msg(r: Result<MatrixSource>) -> String {
        match r {
            Err(e @ Error::Format { .. }) => e.to_string(),
            other => panic!("expected a format error, got {other:?}"),
        }
    }

    const M: [f32; 6] = [1.0, -2.0, 3.5, 4.0, 5.0, 6.0];

    #[test]
    fn fvecs_and_bvecs_round_trip() {
        let b = fvecs_bytes(&M, 2, 3).unwrap();
        assert_eq!(b.len(), 2 * 16);
        let m = vecs_from_bytes(&b, VecsKind::Fvecs, p()).unwrap();
        assert_eq!((m.n(), m.d(), m.source_dtype()), (2, 3, "f32"));
        assert_eq!(m.view().as_slice(), &M);
        let b = bvecs_bytes(&[0, 255, 7, 8], 2, 2).unwrap();
        let m = vecs_from_bytes(&b, VecsKind::Bvecs, Path::new("x.bvecs")).unwrap();
        assert_eq!(m.view().as_slice(), &[0.0, 255.0, 7.0, 8.0]);

        let dir = std::env::temp_dir().join(format!("vorn-fvecs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.fvecs");
        write_fvecs(&path, &M, 3, 2).unwrap();
        let m = read_fvecs(&path).unwrap();
        assert_eq!((m.n(), m.d()), (3, 2));
        assert_eq!(m.view().as_slice(), &M);
        let m = MatrixSource::open(&path).unwrap();
        assert_eq!((m.n(), m.d()), (3, 2));
        let bpath = dir.join("a.bvecs");
        std::fs::write(&bpath, bvecs_bytes(&[1, 2, 3], 3, 1).unwrap()).unwrap();
        assert_eq!(
            read_bvecs(&bpath).unwrap().view().as_slice(),
            &[1.0, 2.0, 3.0]
        );
        // Empty file and missing file.
        let epath = dir.join("e.fvecs");
        std::fs::write(&epath, b"").unwrap();
        assert!(msg(read_fvecs(&epath)).contains("empty"));
        assert!(matches!(
            read_fvecs(dir.join("absent.fvecs")),
            Err(Error::Io { .. })
        ));
        // A larger file (many parallel chunks).
        let big: Vec<f32> = (0..5000 * 7).map(|i| i as f32).collect();
        write_fvecs(&path, &big, 5000, 7).unwrap();
        assert_eq!(read_fvecs(&path).unwrap().view().as_slice(), big.as_slice());
    }

    #[test]
    fn truncated_files() {
        let b = fvecs_bytes(&M, 2, 3).unwrap();
        for cut in [1, 3] {
            assert!(msg(vecs_from_bytes(&b[..cut], VecsKind::Fvecs, p())).contains("truncated"));
        }
        for cut in [5, 15, 17, 20, 31] {
            let m = msg(vecs_from_bytes(&b[..cut], VecsKind::Fvecs, p()));
            assert!(
                m.contains("truncated") && m.contains("mem.fvecs"),
                "{cut}: {m}"
            );
        }
        assert!(msg(vecs_from_bytes(&[], VecsKind::Bvecs, p())).contains("empty"));
    }

    #[test]
    fn bad_dimensions() {
        for d in [0i32, -1, i32::MIN] {
            let mut b = d.to_le_bytes().to_vec();
            b.extend_from_slice(&[0; 16]);
            let m = msg(vecs_from_bytes(&b, VecsKind::Fvecs, p()));
            assert!(m.contains("at least 1"), "{d}: {m}");
        }
        // Absurd d: must not allocate 8 GiB.
        let mut b = i32::MAX.to_le_bytes().to_vec();
        b.extend_from_slice(&[0; 16]);
        assert!(msg(vecs_from_bytes(&b, VecsKind::Fvecs, p())).contains("limit"));
        // A plausible d that the file cannot hold.
        let mut b = (MAX_DIM as i32).to_le_bytes().to_vec();
        b.extend_from_slice(&[0; 16]);
        assert!(msg(vecs_from_bytes(&b, VecsKind::Bvecs, p())).contains("truncated"));
        // Inconsistent d in a later row, and in a trailing partial row.
        let mut b = fvecs_bytes(&M, 3, 2).unwrap();
        b[12..16].copy_from_slice(&3i32.to_le_bytes());
        assert!(
            msg(vecs_from_bytes(&b, VecsKind::Fvecs, p())).contains("row 1 declares dimension 3")
        );
        let mut b = fvecs_bytes(&M, 3, 2).unwrap();
        b.extend_from_slice(&5i32.to_le_bytes());
        assert!(
            msg(vecs_from_bytes(&b, VecsKind::Fvecs, p())).contains("row 3 declares dimension 5")
        );
        // .fvecs read as .bvecs: d = 3 then 12 bytes of floats, the next "d" is garbage.
        let b = fvecs_bytes(&M, 2, 3).unwrap();
        assert!(vecs_from_bytes(&b, VecsKind::Bvecs, p()).is_err());
    }

    #[test]
    fn writer_validation() {
        assert!(fvecs_bytes(&M, 4, 2).is_err());
        assert!(fvecs_bytes(&[], 0, 2).is_err());
        assert!(bvecs_bytes(&[1], 1, 1).is_ok());
        assert!(matches!(
            write_fvecs("/nonexistent/dir/x.fvecs", &M, 2, 3),
            Err(Error::Io { .. })
        ));
    }

    #[test]
    fn fuzz_truncations_and_flips_never_panic() {
        let seeds = [
            (fvecs_bytes(&M, 2, 3).unwrap(), VecsKind::Fvecs),
            (fvecs_bytes(&M, 6, 1).unwrap(), VecsKind::Fvecs),
            (
                bvecs_bytes(&[1, 2, 3, 4, 5, 6], 3, 2).unwrap(),
                VecsKind::Bvecs,
            ),
        ];
        let mut s = 0x2545_F491_4F6C_DD1Du64;
        let mut rnd = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let check = |b: &[u8], k: VecsKind| {
            if let Ok(m) = vecs_from_bytes(b, k, p()) {
                assert_eq!(m.view().as_slice().len(), m.n() * m.d());
                assert_eq!(b.len(), m.n() * (4 + m.d() * k.value_size()));
            }
        };
        for (seed, kind) in &seeds {
            for cut in 0..=seed.len() {
                check(&seed[..cut], *kind);
            }
            for i in 0..seed.len() {
                for x in [0x01u8, 0x08, 0x40, 0x80, 0xff] {
                    let mut c = seed.clone();
                    c[i] ^= x;
                    check(&c, *kind);
                    check(&c, VecsKind::Bvecs);
                }
            }
            for _ in 0..3000 {
                let mut c = seed.clone();
                for _ in 0..1 + rnd() % 3 {
                    let i = (rnd() % c.len() as u64) as usize;
                    c[i] = rnd() as u8;
                }
                let cut = c.len() - (rnd() % 5) as usize;
                check(&c[..cut], *kind);
            }
        }
    }
}
