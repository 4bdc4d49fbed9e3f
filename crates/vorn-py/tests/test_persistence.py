"""save/load (core model format) and pickle round trips."""

from __future__ import annotations

import copy
import os
import pickle

import numpy as np
import pytest

import vorn

FITTED = [
    "cluster_centers_", "labels_", "inertia_", "n_iter_", "n_features_in_", "algorithm_",
    "iteration_stats_", "stop_reason_",
]


def assert_same_fitted(a, b):
    for name in FITTED:
        va, vb = getattr(a, name), getattr(b, name)
        if isinstance(va, np.ndarray):
            assert va.dtype == vb.dtype and va.tobytes() == vb.tobytes(), name
        else:
            assert va == vb, name


@pytest.fixture(scope="module")
def fitted(blobs):
    x, _ = blobs
    return vorn.KMeans(5, metric="cosine", algorithm="hamerly", random_state=2, tol=1e-6).fit(x)


def test_save_load_round_trip(tmp_path, fitted, blobs):
    x, _ = blobs
    path = tmp_path / "model.vorn"
    fitted.save(path)
    assert path.exists()
    assert not [p for p in os.listdir(tmp_path) if p != "model.vorn"]  # temp file renamed
    back = vorn.load(path)
    assert isinstance(back, vorn.KMeans)
    assert_same_fitted(back, fitted)
    assert back.n_clusters == 5 and back.metric == "cosine" and back.algorithm == "hamerly"
    np.testing.assert_array_equal(back.predict(x), fitted.labels_)
    assert vorn.KMeans.load(str(path)).inertia_ == fitted.inertia_
    # Overwriting an existing file works (atomic rename).
    fitted.save(str(path))
    assert vorn.load(path).n_iter_ == fitted.n_iter_


def test_load_corrupt_file_is_value_error(tmp_path, fitted):
    path = tmp_path / "m.vorn"
    fitted.save(path)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x40
    bad = tmp_path / "corrupt.vorn"
    bad.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="corrupt"):
        vorn.load(bad)
    truncated = tmp_path / "truncated.vorn"
    truncated.write_bytes(bytes(raw[:40]))
    with pytest.raises(ValueError, match="not a valid vorn model file: truncated: the file ends after 40 bytes"):
        vorn.load(truncated)
    other = tmp_path / "other.vorn"
    other.write_text("hello, I am not a model")
    with pytest.raises(ValueError, match="VORNKM header"):
        vorn.load(other)


def test_missing_path_is_os_error(tmp_path, fitted):
    missing = tmp_path / "nope" / "m.vorn"
    with pytest.raises(OSError) as info:
        vorn.load(missing)
    assert isinstance(info.value, FileNotFoundError)
    assert info.value.filename == str(missing)
    with pytest.raises(OSError):
        fitted.save(missing)  # parent directory does not exist
    with pytest.raises(OSError):
        vorn.load(tmp_path)  # a directory


def test_pickle_fitted_keeps_every_attribute_and_params(fitted, blobs):
    x, _ = blobs
    back = pickle.loads(pickle.dumps(fitted))
    assert_same_fitted(back, fitted)
    assert back.get_params() == fitted.get_params()
    np.testing.assert_array_equal(back.transform(x[:20]), fitted.transform(x[:20]))
    deep = copy.deepcopy(fitted)
    assert_same_fitted(deep, fitted)


def test_pickle_unfitted_and_array_init(x_small):
    init = x_small[:3].copy()
    km = vorn.KMeans(3, init=init, tol=0.0)
    back = pickle.loads(pickle.dumps(km))
    assert not hasattr(back, "labels_")
    np.testing.assert_array_equal(back.init, init)
    assert back.tol == 0.0
    back.fit(x_small)
    np.testing.assert_array_equal(back.labels_, km.fit(x_small).labels_)


def test_pickle_corrupt_state_is_value_error(fitted):
    state = fitted.__getstate__()
    blob = bytearray(state["_vorn_model"])
    blob[100] ^= 1
    state["_vorn_model"] = bytes(blob)
    est = vorn.KMeans.__new__(vorn.KMeans)
    with pytest.raises(ValueError, match="corrupt"):
        est.__setstate__(state)


def test_native_model_pickles(fitted):
    m = fitted._model
    back = pickle.loads(pickle.dumps(m))
    assert back.to_bytes() == m.to_bytes()
