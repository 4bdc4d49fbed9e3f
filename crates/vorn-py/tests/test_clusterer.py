"""The Clostera-compatible surface: vorn.Clusterer."""

from __future__ import annotations

import inspect
import pickle

import numpy as np
import pytest

import vorn
from conftest import purity


def test_signature_matches_clostera():
    sig = inspect.signature(vorn.Clusterer)
    params = sig.parameters
    assert all(p.kind == inspect.Parameter.KEYWORD_ONLY for p in params.values())
    assert params["k"].default is inspect.Parameter.empty
    expected = {
        "metric": "l2", "algorithm": "auto", "num_subquantizers": None, "codebook_size": 256,
        "iterations": 20, "seed": 0, "opq_iterations": 3, "verbose": False,
        "lookup_table_bytes": 64 * 1024 * 1024, "init": "k-means++", "nredo": 1,
        "early_stopping": False, "training_sample": "random", "n_threads": None,
    }
    for name, default in expected.items():
        assert params[name].default == default, name


def test_fit_transform_returns_uint32_labels(blobs):
    x, truth = blobs
    c = vorn.Clusterer(k=4, metric="l2", seed=0)
    labels = c.fit_transform(x)
    assert labels.dtype == np.uint32 and labels.shape == (len(x),)
    assert purity(truth, labels) > 0.99
    np.testing.assert_array_equal(c.labels_, labels)
    assert c.labels_.dtype == np.uint32
    np.testing.assert_array_equal(c.transform(x), labels)
    np.testing.assert_array_equal(c.predict(x), labels)
    assert c.predict(x).dtype == np.uint32
    np.testing.assert_array_equal(vorn.Clusterer(k=4).fit_predict(x), labels)
    assert vorn.Clusterer(k=4).fit(x) is not None


def test_attributes(blobs):
    x, _ = blobs
    c = vorn.Clusterer(k=4, metric="cos", iterations=7, early_stopping=False).fit(x)
    assert c.metric == "cosine" and c.k == 4 and c.algorithm == "auto"
    assert c.dense_centers_.shape == (4, x.shape[1]) and c.dense_centers_.dtype == np.float32
    np.testing.assert_array_equal(c.cluster_centers_, c.dense_centers_)
    assert c.algorithm_ in ("lloyd", "hamerly") and c.auto_mode_ == c.algorithm_
    assert c.selected_k_ == 4 and c.k_selection_ is None and c.fitted_quality_mode_ == "dense"
    assert isinstance(c.clusterer_, vorn.KMeans)
    h = c.inertia_history_
    assert h.dtype == np.float64 and 1 <= len(h) <= 7
    stats = c.clusterer_.iteration_stats_
    np.testing.assert_allclose(h, [s["objective"] / len(x) for s in stats])
    assert np.all(np.diff(h) <= 1e-12)


def test_inertia_history_is_mean_per_point_of_the_best_run(blobs):
    x, _ = blobs
    c = vorn.Clusterer(k=6, nredo=3, init="random", iterations=50, early_stopping=True).fit(x)
    km = c.clusterer_
    runs = {s["run"] for s in km.iteration_stats_}
    assert runs == {0, 1, 2}
    h = c.inertia_history_
    assert h[-1] == pytest.approx(km.inertia_ / len(x))
    assert len(h) == km.n_iter_


def test_early_stopping_false_uses_all_iterations_until_fixed_point():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3000, 4)).astype(np.float32)
    c = vorn.Clusterer(k=30, iterations=12).fit(x)
    assert c.clusterer_.tol == 0.0
    assert len(c.inertia_history_) == 12  # random data does not converge in 12 iterations
    assert vorn.Clusterer(k=3, early_stopping=True)._kmeans.tol == 1e-4


def test_clostera_dense_algorithm_names(blobs):
    x, _ = blobs
    row = vorn.Clusterer(k=4, algorithm="clostera-dense-exact-row").fit(x)
    assert row.algorithm_ == "lloyd"
    rnd = vorn.Clusterer(k=4, algorithm="clostera_dense_exact_random")
    assert rnd._kmeans.init == "random"
    redo = vorn.Clusterer(k=4, algorithm="clostera-dense-exact-nredo").fit(x)
    assert {s["run"] for s in redo.clusterer_.iteration_stats_} == {0, 1, 2}
    assert vorn.Clusterer(k=4, algorithm="hamerly").fit(x).algorithm_ == "hamerly"


@pytest.mark.parametrize("algorithm", ["clostera-default", "clostera-fastest", "quality+adc"])
def test_compressed_algorithms_are_rejected(algorithm):
    with pytest.raises(ValueError, match="compressed-domain"):
        vorn.Clusterer(k=4, algorithm=algorithm)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(k=0), "k must be"),
        (dict(k=2.5), "k must be"),
        (dict(k=None), "k must be given"),
        (dict(k=4, metric="manhattan"), "metric must be"),
        (dict(k=4, algorithm="nope"), "algorithm must be"),
        (dict(k=4, init="kmeans||"), "init must be"),
        (dict(k=4, nredo=0), "nredo"),
        (dict(k=4, iterations=0), "iterations"),
        (dict(k=4, training_sample="first"), "training_sample"),
        (dict(k=4, seed=-1), "seed"),
        (dict(k=4, n_threads=0), "n_threads"),
    ],
)
def test_constructor_validates_like_clostera(kwargs, match):
    with pytest.raises(ValueError, match=match):
        vorn.Clusterer(**kwargs)


def test_farthest_first_warns_and_uses_kmeanspp():
    with pytest.warns(UserWarning, match="farthest_first"):
        c = vorn.Clusterer(k=3, init="farthest_first")
    assert c._kmeans.init == "k-means++"


def test_ignored_clostera_parameters_are_accepted(blobs):
    x, _ = blobs
    a = vorn.Clusterer(
        k=4, num_subquantizers=4, codebook_size=16, opq_iterations=0,
        lookup_table_bytes=1024, training_sample="even",
    ).fit_transform(x, batch_size=128, max_ram_bytes=1 << 20)
    b = vorn.Clusterer(k=4).fit_transform(x)
    np.testing.assert_array_equal(a, b)


def test_unsupported_method_keywords(blobs):
    x, _ = blobs
    c = vorn.Clusterer(k=2)
    with pytest.raises(ValueError, match="parquet_column"):
        c.fit(x, parquet_column="emb")
    with pytest.raises(ValueError, match="codes_output_path"):
        c.fit(x, codes_output_path="/tmp/codes")


def test_npy_path_input(tmp_path, blobs):
    x, _ = blobs
    path = tmp_path / "x.npy"
    np.save(path, x)
    a = vorn.Clusterer(k=4).fit_transform(path)
    np.testing.assert_array_equal(a, vorn.Clusterer(k=4).fit_transform(x))
    with pytest.raises(ValueError, match=".npy"):
        vorn.Clusterer(k=4).fit(tmp_path / "x.parquet")


def test_bad_npy_files_name_the_file_and_the_fault(tmp_path, blobs):
    x, _ = blobs
    good = tmp_path / "x.npy"
    np.save(good, x)
    raw = good.read_bytes()
    cases = {
        "empty.npy": (b"", "not a valid .npy file"),
        "magic.npy": (b"PK\x03\x04" + raw[4:], "not a valid .npy file"),
        "header.npy": (raw[:12], "not a valid .npy file"),
        "short.npy": (raw[:-100], r"truncated \.npy file.*shape \(1200, 8\)"),
    }
    for name, (content, match) in cases.items():
        p = tmp_path / name
        p.write_bytes(content)
        with pytest.raises(ValueError, match=match) as err:
            vorn.Clusterer(k=4).fit(p)
        assert name in str(err.value)
    obj = tmp_path / "obj.npy"
    np.save(obj, np.array([[1.0, "a"]], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="Python objects"):
        vorn.Clusterer(k=1).fit(obj)
    with pytest.raises(FileNotFoundError):
        vorn.Clusterer(k=4).fit(tmp_path / "missing.npy")
    # A whole file still fits, and a float64 one is converted.
    np.save(tmp_path / "x64.npy", x.astype(np.float64))
    np.testing.assert_array_equal(
        vorn.Clusterer(k=4).fit_transform(tmp_path / "x64.npy"),
        vorn.Clusterer(k=4).fit_transform(x.astype(np.float64)),
    )


def test_not_fitted(blobs):
    x, _ = blobs
    c = vorn.Clusterer(k=2)
    for name in ("labels_", "dense_centers_", "inertia_history_", "algorithm_"):
        with pytest.raises(ValueError, match="not fitted"):
            getattr(c, name)
        assert not hasattr(c, name)
    with pytest.raises(vorn.NotFittedError):
        c.transform(x)


def test_pickle_and_save(tmp_path, blobs):
    x, _ = blobs
    c = vorn.Clusterer(k=4, metric="cosine", seed=3).fit(x)
    back = pickle.loads(pickle.dumps(c))
    np.testing.assert_array_equal(back.labels_, c.labels_)
    np.testing.assert_array_equal(back.inertia_history_, c.inertia_history_)
    np.testing.assert_array_equal(back.predict(x), c.labels_)
    assert back.algorithm_ == c.algorithm_ and back.metric == "cosine"
    c.save(tmp_path / "c.vorn")
    np.testing.assert_array_equal(vorn.load(tmp_path / "c.vorn").predict(x), c.labels_)
    unfitted = pickle.loads(pickle.dumps(vorn.Clusterer(k=2)))
    assert unfitted.k == 2 and not hasattr(unfitted, "labels_")


def test_static_capabilities():
    algos = vorn.Clusterer.available_algorithms()
    assert isinstance(algos, dict) and "auto" in algos and "lloyd" in algos
    metrics = vorn.Clusterer.available_metrics()
    assert set(metrics) == {"l2", "cosine"}
