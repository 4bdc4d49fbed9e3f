"""vorn: fast, deterministic k-means for dense vectors.

* :class:`KMeans`: scikit-learn compatible estimator (no scikit-learn dependency).
* :class:`Clusterer`: Clostera-compatible surface (switch by changing the import).
* :func:`assign`: nearest-centroid labels through the core tiled kernel.
* :func:`load`: read a model file written by ``KMeans.save``.
* :func:`available_algorithms`, :func:`available_metrics`, :func:`simd_runtime`.

Same data, parameters and seed give bit-identical results at any ``n_threads``. Long calls
release the GIL and stop with ``KeyboardInterrupt`` on Ctrl-C.
"""

from __future__ import annotations

from typing import Any, List, Optional

import numpy as np

from . import _vorn
from ._clusterer import Clusterer
from ._convert import (
    ConvergenceWarning,
    InvalidParameterError,
    NotFittedError,
    as_matrix,
    check_n_threads,
)
from ._kmeans import KMeans, load
from ._vorn import __version__

__all__ = [
    "KMeans",
    "Clusterer",
    "NotFittedError",
    "InvalidParameterError",
    "ConvergenceWarning",
    "assign",
    "load",
    "available_algorithms",
    "available_metrics",
    "simd_runtime",
    "__version__",
]


def available_algorithms() -> List[str]:
    """Canonical algorithm names accepted by ``KMeans(algorithm=...)``, ``"auto"`` first."""
    return list(_vorn.available_algorithms())


def available_metrics() -> List[str]:
    """Canonical metric names accepted by ``metric=...``."""
    return list(_vorn.available_metrics())


def simd_runtime() -> str:
    """The distance-kernel family in use: ``"avx512"``, ``"avx2"`` or ``"scalar"``
    (detected at first use; the ``VORN_SIMD`` environment variable overrides)."""
    return str(_vorn.simd_runtime())


def assign(
    x: Any,
    centroids: Any,
    *,
    metric: str = "l2",
    n_threads: Optional[int] = None,
) -> np.ndarray:
    """Index (int32) of the nearest of ``centroids`` (k x d) for every row of ``x`` (n x d).

    Runs the core's tiled assignment kernel (the one k-means uses): ``2 n k d`` flops. Inputs
    are converted like ``KMeans.fit`` input (float32 C-contiguous arrays are not copied).
    For ``metric="cosine"`` rows and centroids are compared by angle. Ties go to the lowest
    centroid index. Releases the GIL; Ctrl-C raises ``KeyboardInterrupt``.
    """
    xm = as_matrix(x, "x")
    cm = as_matrix(centroids, "centroids")
    if not isinstance(metric, str):
        raise InvalidParameterError(f"metric must be a string, got {metric!r}")
    labels = _vorn.assign(xm, cm, metric=metric, n_threads=check_n_threads(n_threads))
    return labels.view(np.int32)
