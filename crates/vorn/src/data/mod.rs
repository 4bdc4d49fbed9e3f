//! Data: matrix views over row-major `n × d` f32 buffers, validation, file formats and
//! synthetic generators.
//!
//! A [`MatrixView`] borrows; nothing in vorn copies the caller's data unless it says so.

mod matrix;
pub mod synth;
mod validate;

pub use matrix::MatrixView;
pub use validate::{validate, RowNorms};
