"""``vorn.Clusterer``: the Clostera-compatible surface (switch by changing the import)."""

from __future__ import annotations

import os
import warnings
from typing import Any, Dict, List, Optional, Union

import numpy as np

from ._convert import (
    InvalidParameterError,
    as_matrix,
    check_int,
    check_n_threads,
    check_seed,
    not_fitted,
)
from ._kmeans import KMeans, iteration_stats_of_best_run

_METRICS = {
    "l2": "l2",
    "euclidean": "l2",
    "sqeuclidean": "l2",
    "squared-l2": "l2",
    "cos": "cosine",
    "cosine": "cosine",
    "cosine-sim": "cosine",
    "cosine-similarity": "cosine",
    "angular": "cosine",
    "spherical": "cosine",
}

# Clostera's dense exact algorithm names -> (vorn algorithm, init override, restarts override)
_DENSE = {
    "clostera-dense-exact-row": ("lloyd", None, None),
    "dense-exact-row": ("lloyd", None, None),
    "clostera-dense-exact-random": ("lloyd", "random", None),
    "dense-exact-random": ("lloyd", "random", None),
    "clostera-dense-exact-nredo": ("lloyd", None, 3),
    "dense-exact-nredo": ("lloyd", None, 3),
}
_NATIVE = {"auto": "auto", "lloyd": "lloyd", "full": "lloyd", "dense": "lloyd",
           "hamerly": "hamerly", "elkan": "hamerly", "bounded": "hamerly"}
_INITS = {
    "k-means++": "k-means++",
    "kmeans++": "k-means++",
    "pq-kmeans++": "k-means++",
    "pq-kmeans-plus-plus": "k-means++",
    "random": "random",
}
_FARTHEST = {"farthest-first", "farthest", "deterministic"}
_TRAINING_SAMPLES = {
    "random", "even", "lightweight-coreset", "linspace", "evenly-spaced", "deterministic",
    "rng", "uniform", "uniform-random", "coreset", "lightweight",
    "lightweight-coreset-sampling",
}

_ALGORITHM_DOCS = {
    "auto": "Plan 'lloyd' or 'hamerly' statically from (n, d, k, metric); AVX-512 runs hamerly plans below k = 512 with lloyd (same bits).",
    "lloyd": "Exact Lloyd: every row against every centroid through the tiled GEMM kernel.",
    "hamerly": "Exact Lloyd with Hamerly bound pruning (the same bits as 'lloyd').",
    "clostera-dense-exact-row": "Alias of 'lloyd' with k-means++ seeding.",
    "clostera-dense-exact-random": "Alias of 'lloyd' with random seeding.",
    "clostera-dense-exact-nredo": "Alias of 'lloyd' with k-means++ seeding and 3 restarts.",
}
_METRIC_DOCS = {
    "l2": "Squared Euclidean objective (aliases: euclidean, sqeuclidean, squared_l2).",
    "cosine": "Spherical k-means on unit-normalised rows (aliases: cos, cosine_similarity, "
    "angular, spherical).",
}


def _norm(s: Any, what: str) -> str:
    if not isinstance(s, str):
        raise InvalidParameterError(f"{what} must be a string, got {type(s).__name__} {s!r}")
    return s.strip().lower().replace("_", "-")


def open_npy(path: str) -> np.ndarray:
    """The array of the .npy file ``path``, memory-mapped (read-only).

    Checks the header and the file size first, so that a corrupt or truncated file raises a
    ``ValueError`` naming the file and what is wrong with it, rather than numpy's parser or
    ``mmap`` messages ("EOF: reading array header", "mmap length is greater than file size").
    A missing or unreadable file raises the ``OSError`` of opening it.
    """
    fmt = np.lib.format
    with open(path, "rb") as f:
        try:
            version = fmt.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(f)
            else:
                shape, fortran, dtype = fmt.read_array_header_2_0(f)
        except ValueError as e:
            raise ValueError(f"{path}: not a valid .npy file (bad header: {e})") from None
        offset = f.tell()
    if dtype.hasobject:
        raise ValueError(
            f"{path}: the .npy file holds Python objects (dtype {dtype}), which vorn does not "
            f"unpickle: save a numeric array (np.save(path, x.astype(np.float32)))"
        )
    need = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    have = os.path.getsize(path)
    if have < need:
        raise ValueError(
            f"{path}: truncated .npy file: its header announces a {dtype} array of shape "
            f"{tuple(shape)} ({need - offset} bytes of data) but the file holds only "
            f"{max(have - offset, 0)} bytes after the header"
        )
    return np.load(path, mmap_mode="r")


class Clusterer:
    """Clostera-compatible k-means: ``from vorn import Clusterer`` instead of
    ``from clostera import Clusterer``.

    ``fit_transform``/``fit_predict``/``transform``/``predict`` return uint32 labels;
    ``labels_`` (uint32), ``dense_centers_``/``cluster_centers_`` (float32, k x d),
    ``inertia_history_`` (float64: objective of each iteration of the winning run divided by
    the number of training rows, i.e. the mean per point) and ``algorithm_`` (the vorn
    backend that ran: ``"lloyd"`` or ``"hamerly"``) are set by fitting. Parameters are
    validated at construction, as Clostera does. All clustering is exact dense k-means; it
    runs through :class:`vorn.KMeans` (available as ``clusterer_``).

    Clostera parameters
    -------------------
    Accepted with the same meaning:
        ``k``; ``metric`` (Clostera's aliases: l2/euclidean/sqeuclidean/squared_l2,
        cos/cosine/cosine_similarity/angular/spherical; default ``"l2"`` here, required in
        Clostera); ``seed``; ``iterations`` (maximum iterations, default 20);
        ``early_stopping`` (False: iterate until ``iterations`` or an exact fixed point,
        i.e. ``tol=0``; True: stop when the relative objective decrease is <= 1e-4);
        ``nredo`` (restarts, best objective wins); ``verbose`` (progress through the
        ``logging`` logger ``"vorn"``).
    ``algorithm``:
        ``"auto"``, vorn's ``"lloyd"``/``"hamerly"``, and Clostera's dense exact names
        ``clostera-dense-exact-row`` / ``-random`` / ``-nredo`` (mapped to ``lloyd`` with
        k-means++ / random seeding / 3 restarts). Compressed-domain names
        (``clostera-default``, ``clostera-fastest``, ``quality+...``) are **rejected** with
        ``ValueError``: vorn has no PQ/OPQ clustering yet.
    ``init``:
        ``"k-means++"`` (default here) and ``"random"`` as in Clostera.
        ``"farthest_first"`` (Clostera's default) is not implemented: it is accepted with a
        ``UserWarning`` and k-means++ is used.
    Accepted and ignored (they only affect compressed algorithms or sampling strategies
    vorn does not have): ``num_subquantizers``, ``codebook_size``, ``opq_iterations``,
    ``lookup_table_bytes``, ``training_sample`` (validated against Clostera's names; vorn
    trains on every row).
    vorn-only: ``n_threads`` (None = all cores; results do not depend on it).

    Method keywords: ``batch_size`` and ``max_ram_bytes`` are accepted and ignored (results
    do not depend on batching); ``parquet_column`` and ``codes_output_path`` must be None
    (``ValueError`` otherwise). ``data`` may be an array or a path to a ``.npy`` file (memory
    mapped, not copied, when it holds C-ordered float32).

    Not provided: ``encoded_centers_``, ``encoder_`` (PQ only), automatic k selection.
    """

    def __init__(
        self,
        *,
        k: int,
        metric: str = "l2",
        algorithm: str = "auto",
        num_subquantizers: Optional[int] = None,
        codebook_size: int = 256,
        iterations: int = 20,
        seed: int = 0,
        opq_iterations: int = 3,
        verbose: bool = False,
        lookup_table_bytes: int = 64 * 1024 * 1024,
        init: str = "k-means++",
        nredo: int = 1,
        early_stopping: bool = False,
        training_sample: str = "random",
        n_threads: Optional[int] = None,
    ) -> None:
        if k is None:
            raise InvalidParameterError("k must be given: automatic k selection is not supported")
        self._k = check_int("k", k, minimum=1, maximum=2**31 - 1)
        m = _norm(metric, "metric")
        if m not in _METRICS:
            raise InvalidParameterError(
                f"metric must be one of 'l2'/'euclidean' or 'cos'/'cosine'/'cosine_similarity', "
                f"got {metric!r}"
            )
        self._metric = _METRICS[m]
        a = _norm(algorithm, "algorithm")
        restarts = None
        init_override = None
        if a in _NATIVE:
            backend = _NATIVE[a]
        elif a in _DENSE:
            backend, init_override, restarts = _DENSE[a]
        elif a.startswith(("clostera-", "quality", "adc", "hybrid", "pq", "opq")):
            raise InvalidParameterError(
                f"algorithm {algorithm!r} is a compressed-domain (PQ/OPQ) algorithm, which "
                f"vorn does not implement: use algorithm='auto' (exact dense k-means)"
            )
        else:
            raise InvalidParameterError(
                f"algorithm must be 'auto' or one of {sorted(_ALGORITHM_DOCS)}, got {algorithm!r}"
            )
        self._algorithm = a
        i = _norm(init, "init")
        if i in _FARTHEST:
            warnings.warn(
                "init='farthest_first' is not implemented in vorn; using k-means++ seeding",
                UserWarning,
                stacklevel=2,
            )
            i = "k-means++"
        if i not in _INITS:
            raise InvalidParameterError(
                f"init must be one of 'kmeans++', 'random' or 'farthest_first', got {init!r}"
            )
        self._init = init
        self._iterations = check_int("iterations", iterations, minimum=1)
        self._seed = check_seed("seed", seed)
        self._nredo = check_int("nredo", nredo, minimum=1)
        self._early_stopping = bool(early_stopping)
        self._verbose = bool(verbose)
        ts = _norm(training_sample, "training_sample")
        if ts not in _TRAINING_SAMPLES:
            raise InvalidParameterError(
                f"training_sample must be one of 'random', 'even' or 'lightweight_coreset', "
                f"got {training_sample!r}"
            )
        self._ignored = dict(
            num_subquantizers=num_subquantizers,
            codebook_size=codebook_size,
            opq_iterations=opq_iterations,
            lookup_table_bytes=lookup_table_bytes,
            training_sample=training_sample,
        )
        n_init = self._nredo if restarts is None or self._nredo != 1 else restarts
        self._kmeans = KMeans(
            n_clusters=self._k,
            metric=self._metric,
            algorithm=backend,
            init=init_override or _INITS[i],
            n_init=n_init,
            max_iter=self._iterations,
            tol=1e-4 if self._early_stopping else 0.0,
            random_state=self._seed,
            n_threads=n_threads,
            verbose=self._verbose,
        )
        check_n_threads(n_threads)
        self._inertia_history: Optional[np.ndarray] = None

    available_algorithms = staticmethod(lambda: dict(_ALGORITHM_DOCS))
    available_metrics = staticmethod(lambda: dict(_METRIC_DOCS))

    # ------------------------------------------------------------------ data

    @staticmethod
    def _data(
        data: Any,
        parquet_column: Optional[str],
        codes_output_path: Any,
    ) -> Any:
        if parquet_column is not None:
            raise ValueError(
                "parquet_column is not supported by vorn: load the column (e.g. with pyarrow) "
                "and pass a 2-D float32 array"
            )
        if codes_output_path is not None:
            raise ValueError(
                "codes_output_path is not supported: vorn clusters in the dense domain and "
                "produces no PQ codes"
            )
        if isinstance(data, (str, os.PathLike)):
            path = os.fspath(data)
            if not str(path).lower().endswith(".npy"):
                raise ValueError(
                    f"{path}: vorn.Clusterer reads .npy files only; load other formats "
                    f"yourself and pass an array"
                )
            return open_npy(path)
        # As an array: Clostera has no feature names, so a frame's column names are not
        # kept (KMeans would check them at predict time).
        return data if isinstance(data, np.ndarray) else as_matrix(data, "X")

    # ------------------------------------------------------------------ API

    def fit(
        self,
        data: Any,
        *,
        parquet_column: Optional[str] = None,
        batch_size: int = 65_536,
        codes_output_path: Any = None,
        max_ram_bytes: Optional[int] = None,
    ) -> "Clusterer":
        """Fits on ``data`` (array or .npy path). Returns ``self``."""
        self._inertia_history = None
        x = self._data(data, parquet_column, codes_output_path)
        self._kmeans.fit(x)
        self._inertia_history = self._history()
        return self

    def fit_transform(self, data: Any, **kwargs: Any) -> np.ndarray:
        """Fits and returns the uint32 label of every row."""
        self.fit(data, **kwargs)
        return self.labels_

    fit_predict = fit_transform

    def predict(
        self,
        data: Any,
        *,
        parquet_column: Optional[str] = None,
        batch_size: int = 65_536,
        codes_output_path: Any = None,
        max_ram_bytes: Optional[int] = None,
    ) -> np.ndarray:
        """uint32 label (nearest centroid) of every row of ``data``."""
        self._require()
        x = self._data(data, parquet_column, codes_output_path)
        return self._kmeans.predict(x).view(np.uint32)

    transform = predict

    # ------------------------------------------------------------------ attributes

    def _require(self) -> KMeans:
        if not self._kmeans.__sklearn_is_fitted__():
            raise not_fitted("clusterer is not fitted; call fit or fit_transform first")
        return self._kmeans

    def _history(self) -> np.ndarray:
        km = self._kmeans
        n_train = max(int(km._model.n_train), 1)
        best = iteration_stats_of_best_run(km.iteration_stats_)
        return np.array([s["objective"] for s in best], dtype=np.float64) / n_train

    @property
    def k(self) -> int:
        return self._k

    @property
    def metric(self) -> str:
        """Canonical vorn metric name (``"l2"`` or ``"cosine"``)."""
        return self._metric

    @property
    def algorithm(self) -> str:
        """The requested algorithm (normalised)."""
        return self._algorithm

    @property
    def labels_(self) -> np.ndarray:
        return self._require().labels_.view(np.uint32)

    @property
    def dense_centers_(self) -> np.ndarray:
        return self._require().cluster_centers_

    @property
    def cluster_centers_(self) -> np.ndarray:
        return self._require().cluster_centers_

    @property
    def inertia_history_(self) -> np.ndarray:
        self._require()
        if self._inertia_history is None:
            self._inertia_history = self._history()
        return self._inertia_history

    @property
    def inertia_(self) -> float:
        return self._require().inertia_

    @property
    def n_iter_(self) -> int:
        return self._require().n_iter_

    @property
    def iteration_stats_(self) -> List[Dict[str, Any]]:
        return self._require().iteration_stats_

    @property
    def algorithm_(self) -> str:
        return self._require().algorithm_

    auto_mode_ = algorithm_

    @property
    def selected_k_(self) -> int:
        return int(self._require().cluster_centers_.shape[0])

    @property
    def k_selection_(self) -> None:
        return None

    @property
    def fitted_quality_mode_(self) -> str:
        self._require()
        return "dense"

    @property
    def clusterer_(self) -> KMeans:
        """The underlying fitted :class:`vorn.KMeans`."""
        return self._require()

    # ------------------------------------------------------------------ persistence

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Writes the fitted model file (see :meth:`vorn.KMeans.save`)."""
        self._require().save(path)

    def __getstate__(self) -> Dict[str, Any]:
        state = dict(self.__dict__)
        state["_inertia_history"] = None  # recomputed from the pickled model
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        return (
            f"Clusterer(k={self._k}, metric={self._metric!r}, algorithm={self._algorithm!r}, "
            f"seed={self._seed})"
        )
