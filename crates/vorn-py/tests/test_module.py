"""Module-level functions, the private panic hook, stubs."""

from __future__ import annotations

import ast
import pathlib

import numpy as np
import pytest

import vorn
from vorn import _vorn
from conftest import make_blobs

PKG = pathlib.Path(vorn.__file__).parent


def test_capabilities():
    assert vorn.available_algorithms() == ["auto", "lloyd", "hamerly"]
    assert vorn.available_metrics() == ["l2", "cosine"]
    assert vorn.simd_runtime() in ("avx512", "avx2", "scalar")
    assert isinstance(vorn.__version__, str)


@pytest.mark.parametrize("k", [37, 600])  # 600: the bf16-screened pass where the CPU has it
@pytest.mark.parametrize("metric", ["l2", "cosine"])
def test_assign_matches_brute_force(metric, k):
    x, _ = make_blobs(n=500, d=20, k=5, seed=4)
    rng = np.random.default_rng(1)
    c = rng.standard_normal((k, 20)).astype(np.float32)
    labels = vorn.assign(x, c, metric=metric)
    assert labels.dtype == np.int32 and labels.shape == (500,)
    if metric == "l2":
        d = ((x[:, None, :].astype(np.float64) - c[None].astype(np.float64)) ** 2).sum(-1)
    else:
        xn = x / np.linalg.norm(x, axis=1, keepdims=True)
        cn = c / np.linalg.norm(c, axis=1, keepdims=True)
        d = -(xn.astype(np.float64) @ cn.T.astype(np.float64))
    ref = d.argmin(1)
    # The float32 kernel may break near-ties differently; they must be genuine near-ties.
    diff = labels != ref
    assert diff.mean() < 0.01
    rows = np.nonzero(diff)[0]
    np.testing.assert_allclose(d[rows, labels[rows]], d[rows, ref[rows]], rtol=1e-4, atol=1e-4)
    for t in (1, 2):
        assert vorn.assign(x, c, metric=metric, n_threads=t).tobytes() == labels.tobytes()
    # Any batch size, including batches too small to be screened: the same labels.
    for a, b in ((0, 3), (3, 10), (100, 164), (437, 500)):
        assert vorn.assign(x[a:b], c, metric=metric).tobytes() == labels[a:b].tobytes()


def test_assign_equals_predict(blobs):
    x, _ = blobs
    km = vorn.KMeans(4).fit(x)
    np.testing.assert_array_equal(vorn.assign(x, km.cluster_centers_), km.labels_)
    np.testing.assert_array_equal(
        vorn.assign(x.astype(np.float64), km.cluster_centers_.astype(np.float64)), km.labels_
    )


def test_assign_errors():
    x = np.ones((4, 3), np.float32)
    with pytest.raises(ValueError, match="features per row"):
        vorn.assign(x, np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match="non-finite"):
        vorn.assign(x, np.full((2, 3), np.nan, np.float32))
    with pytest.raises(ValueError, match="unknown metric"):
        vorn.assign(x, np.ones((2, 3), np.float32), metric="hamming")
    with pytest.raises(ValueError, match=r"centroids has 0 centroid\(s\)"):
        vorn.assign(x, np.ones((0, 3), np.float32))
    with pytest.raises(ValueError, match=r"shape \(n_clusters, n_features\).*single centroid"):
        vorn.assign(x, np.ones(3, np.float32))
    with pytest.raises(ValueError, match=r"centroids must be a \(k, d\) array.*\(0, 3\)"):
        _vorn.assign(x, np.ones((0, 3), np.float32))
    with pytest.raises(ValueError, match="centroid 1 is all zeros"):
        vorn.assign(x, np.array([[1, 0, 0], [0, 0, 0]], np.float32), metric="cosine")


def test_native_layer_maps_core_errors_to_value_error():
    # The Python layer pre-checks these; the native layer must still map the core's errors.
    with pytest.raises(ValueError, match="input has no rows"):
        _vorn.fit(np.zeros((0, 3), np.float32), 1)
    with pytest.raises(ValueError, match=r"0 features per row \(d = 0\)"):
        _vorn.fit(np.zeros((3, 0), np.float32), 1)
    with pytest.raises(ValueError, match="n_clusters: must be at least 1"):
        _vorn.fit(np.ones((3, 2), np.float32), 0)
    with pytest.raises(ValueError, match="n_threads"):
        _vorn.fit(np.ones((3, 2), np.float32), 1, n_threads=0)
    with pytest.raises(ValueError, match="not a C-contiguous, aligned float32 array"):
        _vorn.fit(np.ones((3, 4), np.float32)[:, ::2], 1)
    odd = np.zeros(3 * 2 * 4 + 1, np.uint8)[1:].view(np.float32).reshape(3, 2)
    with pytest.raises(ValueError, match="not a C-contiguous, aligned float32 array"):
        _vorn.fit(odd, 1)  # misaligned: the Python layer copies it, the native layer refuses
    with pytest.raises(TypeError):
        _vorn.fit(np.ones((3, 2), np.float64), 1)  # the Python layer converts; native does not


@pytest.mark.parametrize("in_worker", [False, True])
def test_panics_become_runtime_error_not_panic_exception(in_worker):
    with pytest.raises(RuntimeError, match="internal error.*please report") as info:
        _vorn._panic_for_test(in_worker)
    # pyo3's PanicException derives from BaseException, not RuntimeError.
    assert type(info.value) is RuntimeError


def test_stubs_cover_the_public_api():
    assert (PKG / "py.typed").exists()
    stub = PKG / "__init__.pyi"
    tree = ast.parse(stub.read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.ImportFrom):
            names.update(a.asname or a.name for a in node.names)
    missing = set(vorn.__all__) - names
    assert not missing, missing
    native = ast.parse((PKG / "_vorn.pyi").read_text())
    native_names = {n.name for n in native.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    for name in ("fit", "assign", "Model", "available_algorithms", "simd_runtime"):
        assert name in native_names
        assert hasattr(_vorn, name)


LAZY_CHILD = r"""
import sys
import numpy as np
import vorn
before = set(sys.modules)
x = (np.arange(4000, dtype=np.float32).reshape(500, 8) * 7919) % 101
km = vorn.KMeans(4, random_state=3).fit(x)
km.predict(x); km.transform(x); km.score(x)
vorn.KMeans(4, random_state=None).fit_predict(x.astype(np.float64))
c = vorn.Clusterer(k=4, seed=1).fit(x)
c.predict(x)
print(" ".join(sorted(m for m in set(sys.modules) - before if m.startswith("numpy."))))
"""


def test_fits_do_not_import_numpy_submodules_numpy_loads_lazily():
    # numpy 2 loads numpy.random (~13 ms, with libcrypto) and numpy.ma (~10 ms) on first
    # attribute access; checking an int seed or a plain ndarray must not pay for them.
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", LAZY_CHILD], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [], out.stdout
