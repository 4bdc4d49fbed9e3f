//! Borrowed row-major matrices.

use crate::error::{Error, Result};

/// A borrowed, row-major `n × d` matrix of `f32` (row `i` is `data[i*d .. (i+1)*d]`).
#[derive(Debug, Clone, Copy)]
pub struct MatrixView<'a> {
    data: &'a [f32],
    n: usize,
    d: usize,
}

impl<'a> MatrixView<'a> {
    /// Wraps `data` as an `n × d` matrix. Fails if `data.len() != n * d`, `n == 0` or `d == 0`.
    ///
    /// ```
    /// let v = vorn::data::MatrixView::new(&[1.0, 2.0, 3.0, 4.0], 2, 2).unwrap();
    /// assert_eq!(v.row(1), &[3.0, 4.0]);
    /// ```
    pub fn new(data: &'a [f32], n: usize, d: usize) -> Result<Self> {
        if n == 0 {
            return Err(Error::EmptyInput);
        }
        if d == 0 {
            return Err(Error::ZeroDimension);
        }
        match n.checked_mul(d) {
            Some(len) if len == data.len() => Ok(MatrixView { data, n, d }),
            _ => Err(Error::ShapeMismatch {
                len: data.len(),
                n,
                d,
            }),
        }
    }

    /// Number of rows.
    #[inline]
    pub fn n(&self) -> usize {
        self.n
    }

    /// Number of columns (the dimension).
    #[inline]
    pub fn d(&self) -> usize {
        self.d
    }

    /// The whole buffer.
    #[inline]
    pub fn as_slice(&self) -> &'a [f32] {
        self.data
    }

    /// Row `i`.
    #[inline]
    pub fn row(&self, i: usize) -> &'a [f32] {
        &self.data[i * self.d..(i + 1) * self.d]
    }

    /// Rows `start..end` as a view.
    pub fn rows(&self, start: usize, end: usize) -> MatrixView<'a> {
        assert!(start < end && end <= self.n);
        MatrixView {
            data: &self.data[start * self.d..end * self.d],
            n: end - start,
            d: self.d,
        }
    }
}
