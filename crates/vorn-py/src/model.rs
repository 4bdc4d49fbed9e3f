//! The native model object and the functions that produce or use one.
//!
//! Arrays arrive here already converted by the Python layer (`vorn._convert.as_matrix`):
//! C-contiguous, aligned, native-endian float32. They are borrowed, never copied: the core
//! reads the NumPy buffer (or memmap) in place.

use crate::errors::{guard, to_py};
use crate::run::{interruptible, quick, sized, stats_dict};
use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};
use std::path::PathBuf;
use std::str::FromStr;
use vorn::data::MatrixView;
use vorn::{Algorithm, Init, KMeansModel, KMeansParams, Metric};

/// Borrows a converted array as a core matrix view (zero copy).
pub(crate) fn view<'a>(a: &'a PyReadonlyArray2<'_, f32>, name: &str) -> PyResult<MatrixView<'a>> {
    let (n, d) = (a.shape()[0], a.shape()[1]);
    let s = a.as_slice().map_err(|_| {
        PyValueError::new_err(format!(
            "{name} is not a C-contiguous, aligned float32 array; pass a copy made by \
             np.array({name}, dtype=np.float32, order='C')"
        ))
    })?;
    MatrixView::new(s, n, d).map_err(to_py)
}

fn parse_metric(s: &str) -> PyResult<Metric> {
    Metric::from_str(s).map_err(to_py)
}

fn parse_algorithm(s: &str) -> PyResult<Algorithm> {
    Algorithm::from_str(s).map_err(to_py)
}

/// Scales every centroid to unit norm (f64 arithmetic, like the core's seeding does).
///
/// The core's cosine kernel scores `1 − 2·x·c`, which ranks by angle only for unit
/// centroids, and `KMeansModel::from_centroids` takes centroids as given; centroids from
/// outside (e.g. `vorn.assign`) are therefore normalised here. Zero rows have no direction.
fn normalize_centroids(c: &mut [f32], d: usize) -> PyResult<()> {
    for (j, row) in c.chunks_mut(d).enumerate() {
        let n = row.iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt();
        if !n.is_finite() {
            // Non-finite values are reported by the core's own check.
            continue;
        }
        if n == 0.0 {
            return Err(PyValueError::new_err(format!(
                "centroid {j} is all zeros, which has no direction under metric='cosine'"
            )));
        }
        for v in row.iter_mut() {
            *v = (*v as f64 / n) as f32;
        }
    }
    Ok(())
}

/// A fitted k-means model (core `KMeansModel`). Immutable; safe to share between threads.
#[pyclass(module = "vorn._vorn", name = "Model", frozen)]
pub(crate) struct PyModel {
    inner: KMeansModel,
}

#[pymethods]
impl PyModel {
    /// Row-major `k × d` float32 centroids (a copy).
    #[getter]
    fn centroids<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let m = &self.inner;
        let a = Array2::from_shape_vec((m.k(), m.d()), m.centroids().to_vec())
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(a.into_pyarray(py))
    }
    /// Labels of the fitted rows, uint32 (a copy; empty for models built from centroids).
    #[getter]
    fn labels<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u32>> {
        self.inner.labels().to_vec().into_pyarray(py)
    }
    #[getter]
    fn inertia(&self) -> f64 {
        self.inner.inertia()
    }
    #[getter]
    fn n_iter(&self) -> usize {
        self.inner.n_iter()
    }
    #[getter]
    fn stop_reason(&self) -> &'static str {
        self.inner.stop_reason().name()
    }
    #[getter]
    fn algorithm(&self) -> &'static str {
        self.inner.algorithm().name()
    }
    #[getter]
    fn metric(&self) -> &'static str {
        self.inner.metric().name()
    }
    #[getter]
    fn k(&self) -> usize {
        self.inner.k()
    }
    #[getter]
    fn d(&self) -> usize {
        self.inner.d()
    }
    #[getter]
    fn n_train(&self) -> usize {
        self.inner.n_train()
    }
    /// Statistics of every iteration of every run, as a list of dicts.
    #[getter]
    fn iteration_stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = self
            .inner
            .iteration_stats()
            .iter()
            .map(|s| stats_dict(py, s))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    /// Nearest centroid of each row, uint32. GIL released, interruptible.
    #[pyo3(signature = (x, *, n_threads=None))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f32>,
        n_threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyArray1<u32>>> {
        let xv = view(&x, "X")?;
        let m = &self.inner;
        let small = m.is_small(xv.n());
        let labels = sized(py, small, move |mon| m.predict_with(xv, n_threads, mon))?;
        Ok(labels.into_pyarray(py))
    }

    /// Distances to every centroid, float32 `n × k` (Euclidean for l2, 1 − cos for cosine).
    #[pyo3(signature = (x, *, n_threads=None))]
    fn transform<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f32>,
        n_threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let xv = view(&x, "X")?;
        let m = &self.inner;
        let n = xv.n();
        let small = m.is_small(n);
        let out = sized(py, small, move |mon| m.transform_with(xv, n_threads, mon))?;
        let a = Array2::from_shape_vec((n, m.k()), out)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(a.into_pyarray(py))
    }

    /// Σ squared distance of the rows of `x` to their nearest centroid (cosine: Σ ‖x̂ − c‖²).
    fn inertia_of(&self, py: Python<'_>, x: PyReadonlyArray2<'_, f32>) -> PyResult<f64> {
        let xv = view(&x, "X")?;
        let m = &self.inner;
        interruptible(py, None, move |_| m.inertia_of(xv))
    }

    /// The versioned, checksummed model bytes (`KMeansModel::to_bytes`).
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let b = guard(|| Ok(self.inner.to_bytes()))?;
        Ok(PyBytes::new(py, &b))
    }

    /// Parses [`to_bytes`] output; a corrupt buffer raises ValueError.
    #[staticmethod]
    #[pyo3(signature = (data, origin="<bytes>"))]
    fn from_bytes(py: Python<'_>, data: &[u8], origin: &str) -> PyResult<Self> {
        let origin = PathBuf::from(origin);
        let inner =
            py.detach(|| guard(|| KMeansModel::from_bytes(data, &origin).map_err(to_py)))?;
        Ok(PyModel { inner })
    }

    /// Writes the model file atomically (temporary file + rename).
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let m = &self.inner;
        py.detach(|| guard(|| m.save(&path).map_err(to_py)))
    }

    /// Reads a model file; missing/unreadable -> OSError, corrupt -> ValueError.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let inner = py.detach(|| guard(|| KMeansModel::load(&path).map_err(to_py)))?;
        Ok(PyModel { inner })
    }

    /// A model from `k × d` float32 centroids alone (for predict/transform).
    #[staticmethod]
    #[pyo3(signature = (centroids, *, metric="l2"))]
    fn from_centroids(centroids: PyReadonlyArray2<'_, f32>, metric: &str) -> PyResult<Self> {
        let (k, d) = (centroids.shape()[0], centroids.shape()[1]);
        if k == 0 || d == 0 {
            return Err(PyValueError::new_err(format!(
                "centroids must be a (k, d) array with k >= 1 and d >= 1, got shape ({k}, {d})"
            )));
        }
        let c = view(&centroids, "centroids")?;
        let metric = parse_metric(metric)?;
        let inner = guard(|| {
            let mut values = c.as_slice().to_vec();
            if metric == Metric::Cosine {
                normalize_centroids(&mut values, d)?;
            }
            KMeansModel::from_centroids(values, k, d, metric).map_err(to_py)
        })?;
        Ok(PyModel { inner })
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let ctor = py.get_type::<PyModel>().getattr("from_bytes")?;
        let bytes = slf.get().to_bytes(py)?;
        PyTuple::new(py, [ctor.into_any(), PyTuple::new(py, [bytes])?.into_any()])
    }

    fn __repr__(&self) -> String {
        let m = &self.inner;
        format!(
            "<vorn Model k={} d={} metric={} algorithm={}>",
            m.k(),
            m.d(),
            m.metric(),
            m.algorithm()
        )
    }
}

/// Fits k-means; see `vorn.KMeans` for the meaning of every argument but the last two.
/// `progress(kind, payload)`, if given, receives `("phase", name)`, `("iteration", dict)` and
/// `("steps", {"run", "task", "done", "total"})` from the long loops of seeding, at most one
/// per loop every `progress_interval` seconds (0: every step) plus the loop's last step.
#[pyfunction]
#[pyo3(signature = (
    x, k, *, metric="l2", algorithm="auto", init="k-means++", init_centroids=None, n_init=None,
    max_iter=300, tol=1e-4, seed=0, n_threads=None, sample_size=None,
    max_points_per_centroid=None, init_sample=None, local_search=None, split_merge=None,
    progress=None,
    progress_interval=1.0
))]
pub(crate) fn fit(
    py: Python<'_>,
    x: PyReadonlyArray2<'_, f32>,
    k: usize,
    metric: &str,
    algorithm: &str,
    init: &str,
    init_centroids: Option<PyReadonlyArray2<'_, f32>>,
    n_init: Option<usize>,
    max_iter: usize,
    tol: f64,
    seed: u64,
    n_threads: Option<usize>,
    sample_size: Option<usize>,
    max_points_per_centroid: Option<usize>,
    init_sample: Option<usize>,
    local_search: Option<usize>,
    split_merge: Option<usize>,
    progress: Option<Py<PyAny>>,
    progress_interval: f64,
) -> PyResult<PyModel> {
    if !(progress_interval.is_finite() && progress_interval >= 0.0) {
        return Err(PyValueError::new_err(format!(
            "progress_interval must be a finite number of seconds >= 0, got {progress_interval}"
        )));
    }
    let progress = progress.map(|callable| crate::run::Progress {
        callable,
        steps_interval: std::time::Duration::from_secs_f64(progress_interval),
    });
    let xv = view(&x, "X")?;
    let init = match (init, &init_centroids) {
        ("k-means++" | "kmeans++", None) => Init::KMeansPlusPlus,
        ("random", None) => Init::Random,
        ("given", Some(c)) => Init::Given(view(c, "init")?.as_slice().to_vec()),
        (other, _) => {
            return Err(PyValueError::new_err(format!(
                "invalid init {other:?}: expected 'k-means++', 'random' or an array of shape (n_clusters, n_features)"
            )))
        }
    };
    let params = KMeansParams::new(k)
        .metric(parse_metric(metric)?)
        .algorithm(parse_algorithm(algorithm)?)
        .init(init)
        .n_init(n_init)
        .max_iter(max_iter)
        .tol(tol)
        .seed(seed)
        .n_threads(n_threads)
        .sample_size(sample_size)
        .max_points_per_centroid(max_points_per_centroid)
        .init_sample(init_sample)
        .local_search(local_search)
        .split_merge(split_merge);
    let p = &params;
    // A surely short fit runs on this thread (no worker thread, no Ctrl-C polling: a
    // KeyboardInterrupt acts when it returns); see `KMeansParams::is_quick`.
    let inner = if progress.is_none() && params.is_quick(xv.n(), xv.d()) {
        quick(py, move |mon| vorn::fit_with(xv, p, mon))?
    } else {
        interruptible(py, progress, move |mon| vorn::fit_with(xv, p, mon))?
    };
    Ok(PyModel { inner })
}

/// Nearest-centroid labels (uint32) of `x` through the core tiled kernel.
#[pyfunction]
#[pyo3(signature = (x, centroids, *, metric="l2", n_threads=None))]
pub(crate) fn assign<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f32>,
    centroids: PyReadonlyArray2<'py, f32>,
    metric: &str,
    n_threads: Option<usize>,
) -> PyResult<Bound<'py, PyArray1<u32>>> {
    let model = PyModel::from_centroids(centroids, metric)?;
    model.predict(py, x, n_threads)
}

/// Test hook: the address of the buffer the Rust side borrows for `x` (zero-copy check).
#[pyfunction]
pub(crate) fn _borrowed_ptr(x: PyReadonlyArray2<'_, f32>) -> PyResult<usize> {
    Ok(view(&x, "X")?.as_slice().as_ptr() as usize)
}

/// Test hook: panics (on a worker thread when `in_worker`), to check the RuntimeError mapping.
#[pyfunction]
pub(crate) fn _panic_for_test(py: Python<'_>, in_worker: bool) -> PyResult<()> {
    if in_worker {
        interruptible(py, None, |_| -> vorn::Result<()> {
            panic!("deliberate test panic")
        })
    } else {
        guard(|| panic!("deliberate test panic"))
    }
}
