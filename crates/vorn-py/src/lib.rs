//! Python bindings for vorn (conversion, validation, error mapping, GIL release only).
use pyo3::prelude::*;

#[pymodule]
fn _vorn(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
