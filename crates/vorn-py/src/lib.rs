//! Python bindings for vorn: conversion, validation, error mapping and GIL release only.
//!
//! The Python package (`python/vorn`) holds the estimators; this extension module
//! (`vorn._vorn`) exposes the core: `fit`, `Model` (predict, transform, inertia, I/O),
//! `assign`, and the capability queries. See `errors` for how failures map to exceptions and
//! `run` for GIL release, Ctrl-C and progress.

mod errors;
mod model;
mod run;

use pyo3::prelude::*;

/// Canonical algorithm names (`auto` first).
#[pyfunction]
fn available_algorithms() -> Vec<&'static str> {
    vorn::available_algorithms()
}

/// Canonical metric names.
#[pyfunction]
fn available_metrics() -> Vec<&'static str> {
    vorn::available_metrics()
}

/// The SIMD kernel family in use (`avx512`, `avx2` or `scalar`; `VORN_SIMD` overrides).
#[pyfunction]
fn simd_runtime() -> &'static str {
    vorn::simd::active().name()
}

#[pymodule]
fn _vorn(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<model::PyModel>()?;
    m.add_function(wrap_pyfunction!(model::fit, m)?)?;
    m.add_function(wrap_pyfunction!(model::assign, m)?)?;
    m.add_function(wrap_pyfunction!(model::_borrowed_ptr, m)?)?;
    m.add_function(wrap_pyfunction!(model::_panic_for_test, m)?)?;
    m.add_function(wrap_pyfunction!(available_algorithms, m)?)?;
    m.add_function(wrap_pyfunction!(available_metrics, m)?)?;
    m.add_function(wrap_pyfunction!(simd_runtime, m)?)?;
    Ok(())
}
