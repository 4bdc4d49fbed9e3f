//! The one error type of the core.
//!
//! Every failure that data or a caller can cause is a variant here, with a message that says
//! what was wrong and what to do instead. Panics are reserved for broken internal contracts.

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong in vorn because of its input, its parameters or the outside world.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input has no rows.
    #[error("input has no rows: pass at least one vector")]
    EmptyInput,

    /// The input rows have zero columns.
    #[error("input has 0 features per row (d = 0): pass vectors with at least one dimension")]
    ZeroDimension,

    /// A buffer's length does not match the declared shape.
    #[error("buffer of {len} values does not hold a {n} x {d} matrix")]
    ShapeMismatch { len: usize, n: usize, d: usize },

    /// A value is NaN or infinite.
    #[error(
        "row {row}, column {col} is {value}: remove or impute non-finite values before clustering"
    )]
    NonFinite { row: usize, col: usize, value: f32 },

    /// A row is finite but so large that squared distances overflow f32.
    #[error("row {row} has squared norm {norm2:.3e}, which overflows f32 distance arithmetic: rescale the data (e.g. divide by its max absolute value)")]
    Overflow { row: usize, norm2: f64 },

    /// A row has zero norm under the cosine metric.
    #[error("row {row} has zero norm, so its cosine similarity is undefined: drop it or use metric='l2'")]
    ZeroNorm { row: usize },

    /// A row's norm is so small that f32 cosine scores cannot resolve its direction.
    #[error("row {row} has squared norm {norm2:.3e}, below the {min:.3e} (2^-30) that cosine needs in f32 (its cosines would be resolved only to about 3e-8 / norm): normalise the rows first (X / np.linalg.norm(X, axis=1, keepdims=True)) or scale the data up")]
    TinyNorm { row: usize, norm2: f64, min: f64 },

    /// Every row is so small that squared distances fall into f32's subnormal range.
    #[error("the largest squared row norm is {max_norm2:.3e}, below {min:.3e} (2^-100): squared distances this small fall into f32's subnormal range and lose their precision; rescale the data (e.g. divide by its max absolute value)")]
    Underflow { max_norm2: f64, min: f64 },

    /// More clusters were asked for than there are rows.
    #[error(
        "n_clusters = {k} is larger than the number of rows ({n}): ask for at most {n} clusters"
    )]
    TooManyClusters { k: usize, n: usize },

    /// A new matrix does not have the dimension the model was fitted with.
    #[error("input has {got} features per row but the model was fitted with {expected}")]
    DimensionMismatch { expected: usize, got: usize },

    /// A parameter is out of its valid range.
    #[error("invalid parameter {name}: {message}")]
    InvalidParameter { name: &'static str, message: String },

    /// The run was cancelled by its monitor (e.g. Ctrl-C).
    #[error("interrupted")]
    Interrupted,

    /// An operating-system I/O failure on a path.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A buffer the request needs could not be allocated (see [`crate::memory`]).
    #[error("cannot allocate {} for {what}: not enough memory; ask for less at a time (e.g. transform the rows in batches)", human_bytes(*bytes))]
    OutOfMemory { what: &'static str, bytes: u128 },

    /// A file exists but its content is not what it should be.
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
}

impl Error {
    /// Shorthand for [`Error::InvalidParameter`].
    pub fn param(name: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidParameter {
            name,
            message: message.into(),
        }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Shorthand for [`Error::Format`].
    pub fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Format {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// A byte count in GiB (or MiB / bytes when small), for messages.
fn human_bytes(b: u128) -> String {
    const MIB: f64 = (1u64 << 20) as f64;
    let f = b as f64;
    if f >= 1024.0 * MIB {
        format!("{:.1} GiB ({b} bytes)", f / (1024.0 * MIB))
    } else if f >= MIB {
        format!("{:.1} MiB ({b} bytes)", f / MIB)
    } else {
        format!("{b} bytes")
    }
}
