//! Data: matrix views over row-major `n × d` f32 buffers, validation, file formats and
//! synthetic generators.
//!
//! A [`MatrixView`] borrows; nothing in vorn copies the caller's data unless it says so.

pub mod fvecs;
mod gather;
mod matrix;
pub mod npy;
mod source;
pub mod synth;
mod validate;

pub(crate) use gather::advise_huge_pages;
pub use gather::gather_rows;
pub use matrix::MatrixView;
pub(crate) use source::write_atomic;
pub use source::{FileFormat, MatrixSource};
pub use validate::{check_scale, validate, RowNorms, COSINE_MIN_NORM2, L2_MIN_NORM2, MAX_NORM2};
