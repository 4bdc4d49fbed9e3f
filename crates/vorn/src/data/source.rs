//! Matrices loaded from files: a [`MatrixSource`] owns either a read-only memory map (zero-copy
//! `.npy` of little-endian `<f4` in C order) or a converted `Vec<f32>`, and lends a
//! [`MatrixView`] over it.
//!
//! [`MatrixSource::open`] picks the reader from the file extension ([`FileFormat`]):
//! `.npy` ([`super::npy`]), `.fvecs` / `.bvecs` ([`super::fvecs`]).
//!
//! A memory-mapped source reflects the file: if another process truncates or rewrites the file
//! while it is mapped, reads may fault (SIGBUS) or see the new bytes. Do not modify input files
//! while vorn runs on them.

use super::MatrixView;
use crate::error::{Error, Result};
use memmap2::Mmap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// File formats vorn reads dense matrices from, recognised by extension (case-insensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// NumPy `.npy` (2-D, see [`super::npy`]).
    Npy,
    /// `.fvecs`: per row an int32 `d` then `d` little-endian f32.
    Fvecs,
    /// `.bvecs`: per row an int32 `d` then `d` u8.
    Bvecs,
}

impl FileFormat {
    /// Every format, in a stable order.
    pub const ALL: [FileFormat; 3] = [FileFormat::Npy, FileFormat::Fvecs, FileFormat::Bvecs];

    /// The extension without the dot (`"npy"`, `"fvecs"`, `"bvecs"`).
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Npy => "npy",
            FileFormat::Fvecs => "fvecs",
            FileFormat::Bvecs => "bvecs",
        }
    }

    /// The format of `path` by its extension, or `None` for an unknown extension.
    ///
    /// ```
    /// use vorn::data::FileFormat;
    /// assert_eq!(FileFormat::from_path("a/b.NPY"), Some(FileFormat::Npy));
    /// assert_eq!(FileFormat::from_path("x.csv"), None);
    /// ```
    pub fn from_path(path: impl AsRef<Path>) -> Option<FileFormat> {
        let ext = path.as_ref().extension()?.to_str()?.to_ascii_lowercase();
        FileFormat::ALL.into_iter().find(|f| f.extension() == ext)
    }

    /// The error for a path whose extension is not one of [`FileFormat::ALL`].
    pub(crate) fn unknown(path: &Path) -> Error {
        let ext = match path.extension() {
            Some(e) => format!("extension '.{}'", e.to_string_lossy()),
            None => "no extension".to_string(),
        };
        Error::format(
            path,
            format!("unknown input format ({ext}): expected a .npy, .fvecs or .bvecs file"),
        )
    }
}

enum Storage {
    /// `map[offset .. offset + 4·n·d]` holds the f32 values; `map.as_ptr() + offset` is
    /// 4-byte aligned and the host is little-endian (checked at construction).
    Mapped {
        map: Mmap,
        offset: usize,
    },
    Owned(Vec<f32>),
}

/// An `n × d` f32 matrix loaded from a file (or a buffer), memory-mapped or owned.
pub struct MatrixSource {
    storage: Storage,
    n: usize,
    d: usize,
    path: PathBuf,
    dtype: String,
}

impl std::fmt::Debug for MatrixSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatrixSource")
            .field("n", &self.n)
            .field("d", &self.d)
            .field("path", &self.path)
            .field("dtype", &self.dtype)
            .field("zero_copy", &self.is_zero_copy())
            .finish()
    }
}

impl MatrixSource {
    /// Opens `path` with the reader its extension names (see [`FileFormat`]).
    ///
    /// Errors: [`Error::Io`] if the file cannot be opened or mapped, [`Error::Format`] for an
    /// unknown extension or content that is not a valid non-empty 2-D matrix.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        match FileFormat::from_path(path) {
            Some(FileFormat::Npy) => super::npy::read_npy(path),
            Some(FileFormat::Fvecs) => super::fvecs::read_fvecs(path),
            Some(FileFormat::Bvecs) => super::fvecs::read_bvecs(path),
            None => Err(FileFormat::unknown(path)),
        }
    }

    /// Wraps an owned row-major buffer (fails like [`MatrixView::new`]).
    pub fn from_vec(data: Vec<f32>, n: usize, d: usize) -> Result<Self> {
        Self::owned(data, n, d, PathBuf::new(), "f32".into())
    }

    pub(crate) fn owned(
        data: Vec<f32>,
        n: usize,
        d: usize,
        path: PathBuf,
        dtype: String,
    ) -> Result<Self> {
        MatrixView::new(&data, n, d)?;
        Ok(MatrixSource {
            storage: Storage::Owned(data),
            n,
            d,
            path,
            dtype,
        })
    }

    /// A zero-copy source over `map[offset..]`, or `None` if the bytes cannot be borrowed as
    /// f32 (misaligned, or a big-endian host). The caller has checked that
    /// `offset + 4·n·d <= map.len()` and that n, d > 0.
    pub(crate) fn mapped(
        map: Mmap,
        offset: usize,
        n: usize,
        d: usize,
        path: PathBuf,
        dtype: String,
    ) -> std::result::Result<Self, Mmap> {
        let len = n
            .checked_mul(d)
            .and_then(|l| l.checked_mul(4))
            .and_then(|b| b.checked_add(offset));
        let fits = len.is_some_and(|end| end <= map.len());
        let aligned = (map.as_ptr() as usize)
            .wrapping_add(offset)
            .is_multiple_of(std::mem::align_of::<f32>());
        if !(cfg!(target_endian = "little") && fits && aligned && n > 0 && d > 0) {
            return Err(map);
        }
        Ok(MatrixSource {
            storage: Storage::Mapped { map, offset },
            n,
            d,
            path,
            dtype,
        })
    }

    /// The matrix.
    pub fn view(&self) -> MatrixView<'_> {
        MatrixView::new(self.as_slice(), self.n, self.d).expect("shape checked at construction")
    }

    fn as_slice(&self) -> &[f32] {
        match &self.storage {
            Storage::Owned(v) => v,
            Storage::Mapped { map, offset } => {
                let bytes = &map[*offset..*offset + self.n * self.d * 4];
                // SAFETY: `mapped` checked that the range lies inside the map, that its start is
                // aligned for f32 and that the host is little-endian (so the file's '<f4' bytes
                // are native f32s). Every bit pattern is a valid f32. The map is read-only and
                // lives as long as `self`, which the returned borrow cannot outlive.
                unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<f32>(), self.n * self.d) }
            }
        }
    }

    /// Rows.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Columns.
    pub fn d(&self) -> usize {
        self.d
    }

    /// True when the matrix is borrowed from a memory map rather than converted into RAM.
    pub fn is_zero_copy(&self) -> bool {
        matches!(self.storage, Storage::Mapped { .. })
    }

    /// The file it came from (empty for [`from_vec`](Self::from_vec)).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The element type on disk, e.g. `"<f4"`, `"<f8"`, `"|u1"` for `.npy`, `"f32"` for
    /// `.fvecs`, `"u8"` for `.bvecs`.
    pub fn source_dtype(&self) -> &str {
        &self.dtype
    }

    /// The values as an owned buffer (copies a memory-mapped source).
    pub fn into_vec(self) -> Vec<f32> {
        match self.storage {
            Storage::Owned(v) => v,
            Storage::Mapped { .. } => self.as_slice().to_vec(),
        }
    }
}

/// Opens `path` read-only and maps it; directories and unreadable files are [`Error::Io`].
pub(crate) fn map_file(path: &Path) -> Result<Mmap> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "is a directory"),
        ));
    }
    // SAFETY: the map is read-only; concurrent modification of the file by another process is
    // documented as unsupported in the module docs (as for every memory-mapped reader).
    unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path, e))
}

/// Writes a file atomically: `fill` writes into a temporary file in the target directory,
/// which is synced and renamed over `path`. On failure the temporary file is removed.
pub(crate) fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().ok_or_else(|| {
        Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path"),
        )
    })?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let write = || -> std::io::Result<()> {
        let f = File::create(&tmp)?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        fill(&mut w)?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_extension() {
        assert_eq!(FileFormat::from_path("x.fvecs"), Some(FileFormat::Fvecs));
        assert_eq!(FileFormat::from_path("x.BVECS"), Some(FileFormat::Bvecs));
        assert_eq!(FileFormat::from_path("x"), None);
        let e = MatrixSource::open("data.csv").unwrap_err();
        assert!(matches!(e, Error::Format { .. }));
        assert!(e.to_string().contains(".csv"), "{e}");
    }

    #[test]
    fn from_vec_checks_shape() {
        assert!(MatrixSource::from_vec(vec![1.0; 6], 2, 3).is_ok());
        assert!(matches!(
            MatrixSource::from_vec(vec![1.0; 5], 2, 3),
            Err(Error::ShapeMismatch { .. })
        ));
        let s = MatrixSource::from_vec(vec![1.0, 2.0], 1, 2).unwrap();
        assert!(!s.is_zero_copy());
        assert_eq!(s.view().row(0), &[1.0, 2.0]);
        assert_eq!(s.into_vec(), vec![1.0, 2.0]);
    }

    #[test]
    fn missing_file_and_directory_are_io_errors() {
        assert!(matches!(
            MatrixSource::open("/nonexistent/dir/x.npy"),
            Err(Error::Io { .. })
        ));
        let dir = std::env::temp_dir().join(format!("vorn-src-{}.npy", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(matches!(MatrixSource::open(&dir), Err(Error::Io { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
