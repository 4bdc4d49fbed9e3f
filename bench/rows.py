"""The rows of the benchmark: one library configuration each.

A row's ``run(x, k, metric, cfg)`` is called inside a fresh runner process. It must do the
whole user-visible job: fit on all n rows and produce a label for every row, and return
``(centroids float32 k x d, labels int n, info dict)``. Everything it does (including any
copy or normalisation a library needs the caller to do) is inside the timed section.

Peers are imported lazily inside ``run`` so that the parent harness, the report writer and the
CI smoke test (numpy + vorn only) can import this module.

``cfg`` fields: threads (int), seed (int), max_iter (int or None = the library's default).
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Callable

import numpy as np


def _normalised_copy(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=1, keepdims=True)
    n[n == 0] = 1
    return (x / n).astype(np.float32, copy=False)


# ------------------------------------------------------------------------------------- vorn

def _vorn(algorithm: str):
    def run(x, k, metric, cfg):
        import vorn

        # `auto` chooses its runs (like clostera-auto its restarts); named backends make one.
        kw = dict(metric=metric, algorithm=algorithm, random_state=cfg.seed,
                  n_threads=cfg.threads, n_init="auto" if algorithm == "auto" else 1,
                  init="k-means++")
        if cfg.max_iter is not None:
            kw["max_iter"] = cfg.max_iter
        m = vorn.KMeans(k, **kw)
        m.fit(x)
        labels = m.labels_
        info = {"n_iter": _maybe_int(getattr(m, "n_iter_", None)),
                "algorithm_selected": str(getattr(m, "algorithm_", algorithm)),
                "reported_objective": _maybe_float(getattr(m, "inertia_", None))}
        return np.asarray(m.cluster_centers_, dtype=np.float32), labels, info

    return run


# ------------------------------------------------------------------------------------ FAISS

def _faiss(max_points_per_centroid: int | None):
    def run(x, k, metric, cfg):
        import faiss

        faiss.omp_set_num_threads(cfg.threads)
        xx = x
        if metric == "cosine":
            xx = np.array(x, dtype=np.float32, copy=True)
            faiss.normalize_L2(xx)
        kw = dict(seed=cfg.seed, verbose=False, spherical=(metric == "cosine"))
        if cfg.max_iter is not None:
            kw["niter"] = cfg.max_iter
        mppc = max_points_per_centroid if max_points_per_centroid is not None else 256
        kw["max_points_per_centroid"] = int(min(mppc, 2**31 - 1))
        km = faiss.Kmeans(x.shape[1], k, **kw)
        km.train(xx)
        _, idx = km.index.search(xx, 1)
        info = {"n_iter": int(len(km.obj)) if km.obj is not None else None,
                "reported_objective": float(km.obj[-1]) if km.obj is not None and len(km.obj) else None,
                "omp_max_threads": int(faiss.omp_get_max_threads())}
        return np.asarray(km.centroids, dtype=np.float32), idx.reshape(-1), info

    return run


# --------------------------------------------------------------------------------- Clostera

def _clostera(algorithm: str):
    def run(x, k, metric, cfg):
        import clostera

        kw = dict(k=k, metric="cos" if metric == "cosine" else "l2", algorithm=algorithm, seed=cfg.seed)
        if cfg.max_iter is not None:
            kw["iterations"] = cfg.max_iter
        c = clostera.Clusterer(**kw)
        labels = c.fit_transform(x)
        # dense_centers_: decoded float centroids (the PQ paths cluster in code space)
        centres = np.asarray(c.dense_centers_, dtype=np.float32)
        hist = c.inertia_history_
        info = {"algorithm_selected": str(c.algorithm_),
                "n_iter": int(len(hist)) if hist is not None else None,
                "reported_objective": float(hist[-1]) if hist is not None and len(hist) else None}
        return centres, labels, info

    return run


# ---------------------------------------------------------------------------- scikit-learn

def _sklearn():
    def run(x, k, metric, cfg):
        from sklearn.cluster import KMeans

        xx = _normalised_copy(x) if metric == "cosine" else x
        kw = dict(n_clusters=k, init="k-means++", n_init=1, random_state=cfg.seed)
        if cfg.max_iter is not None:
            kw["max_iter"] = cfg.max_iter
        m = KMeans(**kw).fit(xx)
        info = {"n_iter": int(m.n_iter_), "reported_objective": float(m.inertia_)}
        return np.asarray(m.cluster_centers_, dtype=np.float32), m.labels_, info

    return run


def _maybe_int(v):
    try:
        return None if v is None else int(v)
    except (TypeError, ValueError):
        return None


def _maybe_float(v):
    try:
        return None if v is None else float(v)
    except (TypeError, ValueError):
        return None


@dataclass
class Row:
    name: str
    library: str      # vorn | faiss | clostera | sklearn
    module: str       # python module that must be importable
    params: dict
    run: Callable = field(repr=False)

    @property
    def is_vorn(self) -> bool:
        return self.library == "vorn"

    def available(self) -> bool:
        return importlib.util.find_spec(self.module) is not None


ROWS = [
    Row("vorn-auto", "vorn", "vorn", {"algorithm": "auto", "init": "k-means++", "n_init": "auto"}, _vorn("auto")),
    Row("vorn-lloyd", "vorn", "vorn", {"algorithm": "lloyd", "init": "k-means++", "n_init": 1}, _vorn("lloyd")),
    Row("vorn-hamerly", "vorn", "vorn", {"algorithm": "hamerly", "init": "k-means++", "n_init": 1}, _vorn("hamerly")),
    Row("faiss-sampled", "faiss", "faiss",
        {"class": "faiss.Kmeans", "max_points_per_centroid": 256, "init": "random",
         "cosine": "normalize_L2 + spherical=True"}, _faiss(256)),
    Row("faiss-full", "faiss", "faiss",
        {"class": "faiss.Kmeans", "max_points_per_centroid": 2**31 - 1, "init": "random",
         "cosine": "normalize_L2 + spherical=True"}, _faiss(2**31 - 1)),
    Row("clostera-auto", "clostera", "clostera", {"algorithm": "auto"}, _clostera("auto")),
    Row("clostera-dense-exact-row", "clostera", "clostera", {"algorithm": "clostera-dense-exact-row"},
        _clostera("clostera-dense-exact-row")),
    Row("clostera-dense-exact-random", "clostera", "clostera", {"algorithm": "clostera-dense-exact-random"},
        _clostera("clostera-dense-exact-random")),
    Row("clostera-fastest", "clostera", "clostera", {"algorithm": "clostera-fastest"},
        _clostera("clostera-fastest")),
    Row("sklearn", "sklearn", "sklearn",
        {"class": "sklearn.cluster.KMeans", "init": "k-means++", "n_init": 1, "algorithm": "lloyd",
         "cosine": "rows normalised, then L2 k-means"}, _sklearn()),
]
ROWS_BY_NAME = {r.name: r for r in ROWS}
