//! Mapping of core errors and panics to Python exceptions.
//!
//! | core                         | Python              |
//! |------------------------------|---------------------|
//! | `Error::Io`                  | `OSError` (with errno and filename, so `FileNotFoundError` etc.) |
//! | `Error::Interrupted`         | `KeyboardInterrupt` |
//! | every other variant          | `ValueError`        |
//! | a panic (internal bug)       | `RuntimeError("internal error ... please report")` |
//!
//! Users never see pyo3's `PanicException`: every entry point runs under [`guard`] or
//! [`crate::run::interruptible`], which catch unwinding panics.

use pyo3::exceptions::{
    PyKeyboardInterrupt, PyMemoryError, PyOSError, PyRuntimeError, PyValueError,
};
use pyo3::PyErr;
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Converts a core error into the Python exception documented in the module table.
pub(crate) fn to_py(e: vorn::Error) -> PyErr {
    match e {
        vorn::Error::Io { path, source } => {
            let msg = source.to_string();
            let path = path.to_string_lossy().into_owned();
            match source.raw_os_error() {
                // OSError(errno, strerror, filename) picks the subclass (FileNotFoundError, ...).
                Some(errno) => PyOSError::new_err((errno, msg, path)),
                None => PyOSError::new_err(format!("{path}: {msg}")),
            }
        }
        vorn::Error::Interrupted => PyKeyboardInterrupt::new_err("interrupted"),
        e @ vorn::Error::OutOfMemory { .. } => PyMemoryError::new_err(e.to_string()),
        other => PyValueError::new_err(other.to_string()),
    }
}

/// The message of a panic payload.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_owned()
    }
}

/// A panic payload as the `RuntimeError` users see.
pub(crate) fn panic_to_py(payload: Box<dyn Any + Send>) -> PyErr {
    PyRuntimeError::new_err(format!(
        "internal error in vorn ({}); this is a bug, please report it with the call that triggered it",
        panic_message(payload.as_ref())
    ))
}

/// Runs `f`, turning a panic into `RuntimeError`.
pub(crate) fn guard<T>(f: impl FnOnce() -> pyo3::PyResult<T>) -> pyo3::PyResult<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| Err(panic_to_py(p)))
}
