"""The scikit-learn estimator contract, checked without scikit-learn."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import vorn

PARAMS = [
    "algorithm", "init", "init_sample", "local_search", "max_iter", "max_points_per_centroid",
    "metric", "n_clusters", "n_init", "n_threads", "random_state", "sample_size", "split_merge",
    "tol", "verbose",
]
FITTED = [
    "cluster_centers_", "labels_", "inertia_", "n_iter_", "n_features_in_", "algorithm_",
    "iteration_stats_", "stop_reason_",
]


def test_signature_defaults():
    sig = inspect.signature(vorn.KMeans)
    defaults = {k: p.default for k, p in sig.parameters.items()}
    assert defaults == {
        "n_clusters": 8, "metric": "l2", "algorithm": "auto", "init": "k-means++",
        "n_init": "auto", "max_iter": 300, "tol": 1e-4, "random_state": 0, "n_threads": None,
        "verbose": False, "sample_size": None, "max_points_per_centroid": None,
        "init_sample": None, "local_search": None, "split_merge": None,
    }
    # Everything but n_clusters is keyword-only.
    kinds = {k: p.kind for k, p in sig.parameters.items()}
    assert kinds.pop("n_clusters") == inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert set(kinds.values()) == {inspect.Parameter.KEYWORD_ONLY}


def test_get_params_round_trip():
    km = vorn.KMeans(5, metric="cosine", tol=0.0, random_state=3)
    p = km.get_params()
    assert sorted(p) == PARAMS
    assert p["n_clusters"] == 5 and p["metric"] == "cosine" and p["random_state"] == 3
    assert km.get_params(deep=False) == p
    assert km.set_params(n_clusters=7, verbose=True) is km
    assert km.n_clusters == 7 and km.get_params()["verbose"] is True
    with pytest.raises(ValueError, match="Invalid parameter 'nclusters'"):
        km.set_params(nclusters=3)


def test_init_stores_params_verbatim_without_validation():
    odd = object()
    km = vorn.KMeans(n_clusters=8.7, metric=odd, n_init="whatever", tol=-1)
    assert km.n_clusters == 8.7 and km.metric is odd and km.tol == -1
    # No attribute other than the parameters is set by __init__.
    assert sorted(vars(km)) == PARAMS


def test_clone_contract(blobs):
    x, _ = blobs
    init = x[:4].copy()
    km = vorn.KMeans(4, init=init, random_state=9, n_threads=2, metric="l2").fit(x)
    params = km.get_params()
    clone = type(km)(**params)
    for name, value in params.items():
        assert getattr(clone, name) is value  # scikit-learn's clone checks identity
    assert not hasattr(clone, "cluster_centers_")
    clone.fit(x)
    assert clone.cluster_centers_.tobytes() == km.cluster_centers_.tobytes()
    assert repr(clone) == repr(km)


def test_fitted_attributes_end_with_underscore_and_only_exist_after_fit(blobs):
    x, _ = blobs
    km = vorn.KMeans(3)
    for name in FITTED:
        assert not hasattr(km, name)
    assert not km.__sklearn_is_fitted__()
    km.fit(x)
    assert km.__sklearn_is_fitted__()
    public_new = [v for v in vars(km) if v not in PARAMS and not v.startswith("_")]
    # iteration_stats_ is built on first access (see test_kmeans), then kept like the rest.
    assert sorted(public_new) == sorted(set(FITTED) - {"iteration_stats_"})
    assert km.iteration_stats_
    public_new = [v for v in vars(km) if v not in PARAMS and not v.startswith("_")]
    assert sorted(public_new) == sorted(FITTED)
    assert all(v.endswith("_") for v in public_new)


def test_not_fitted_error(x_small):
    km = vorn.KMeans(3)
    assert issubclass(vorn.NotFittedError, ValueError)
    assert issubclass(vorn.NotFittedError, AttributeError)
    for call in (km.predict, km.transform, km.score):
        with pytest.raises(vorn.NotFittedError, match="not fitted"):
            call(x_small)
    with pytest.raises(vorn.NotFittedError, match="cluster_centers_"):
        km.cluster_centers_
    with pytest.raises(vorn.NotFittedError):
        km.save("/tmp/never-written.vorn")
    with pytest.raises(AttributeError):
        km.no_such_attribute


def test_repr_shows_non_default_params():
    assert repr(vorn.KMeans()) == "KMeans()"
    assert repr(vorn.KMeans(3, metric="cosine")) == "KMeans(n_clusters=3, metric='cosine')"
    assert "init=array" in repr(vorn.KMeans(2, init=np.zeros((2, 2))))


def test_y_is_ignored(x_small):
    y = np.arange(len(x_small))
    a = vorn.KMeans(3).fit(x_small, y)
    b = vorn.KMeans(3).fit(x_small)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    # No sample_weight argument: weights are not supported (not silently ignored).
    with pytest.raises(TypeError, match="sample_weight"):
        vorn.KMeans(3).fit(x_small, sample_weight=np.ones(len(x_small)))


def test_estimator_type():
    assert vorn.KMeans._estimator_type == "clusterer"


def test_with_scikit_learn_when_installed(blobs):
    """Optional: the real scikit-learn utilities accept vorn.KMeans (skipped without it)."""
    pytest.importorskip("sklearn")
    from sklearn.base import clone, is_clusterer
    from sklearn.exceptions import NotFittedError as SkNotFitted
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.utils.validation import check_is_fitted

    x, _ = blobs
    km = vorn.KMeans(4)
    with pytest.raises(SkNotFitted):
        check_is_fitted(km)
    km.fit(x)
    check_is_fitted(km)
    assert is_clusterer(km)
    c = clone(km)
    assert c.get_params() == km.get_params() and not hasattr(c, "labels_")
    pipe = make_pipeline(StandardScaler(), vorn.KMeans(4)).fit(x)
    assert pipe.transform(x).shape == (len(x), 4)
    search = GridSearchCV(vorn.KMeans(), {"n_clusters": [2, 4]}, cv=2).fit(x)
    assert search.best_params_["n_clusters"] == 4


def test_errors_and_warnings_are_scikit_learns_once_it_is_imported(x_small):
    """With scikit-learn imported, vorn's NotFittedError and ConvergenceWarning are also
    scikit-learn's classes (so its checks, except clauses and warning filters match them);
    vorn itself never imports scikit-learn for that."""
    pytest.importorskip("sklearn")
    from sklearn.exceptions import ConvergenceWarning as SkConvergence
    from sklearn.exceptions import NotFittedError as SkNotFitted

    km = vorn.KMeans(3)
    for call in (km.predict, km.transform, km.score):
        with pytest.raises(SkNotFitted) as e:
            call(x_small)
        assert isinstance(e.value, vorn.NotFittedError)
    with pytest.raises(SkNotFitted):
        km.cluster_centers_
    assert not hasattr(km, "labels_")  # still an AttributeError
    # It pickles (joblib sends errors back from its workers).
    import pickle

    with pytest.raises(SkNotFitted) as e:
        km.predict(x_small)
    back = pickle.loads(pickle.dumps(e.value))
    assert isinstance(back, SkNotFitted) and isinstance(back, vorn.NotFittedError)
    assert back.args == e.value.args
    with pytest.warns(SkConvergence) as w:
        vorn.KMeans(3).fit(np.ones((10, 2), np.float32))
    assert all(issubclass(r.category, vorn.ConvergenceWarning) for r in w)


def test_importing_vorn_does_not_import_scikit_learn():
    import subprocess
    import sys

    code = "import sys, vorn; sys.exit('sklearn' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_scikit_learn_check_estimator_passes():
    """scikit-learn's own estimator checks (all of them, in its current version)."""
    pytest.importorskip("sklearn")
    import warnings

    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(vorn.KMeans(n_clusters=3, n_threads=1), on_fail=None)
    failed = [
        (r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"
    ]
    assert results and not failed, failed


def test_feature_names_out_name_the_transform_columns(x_small):
    km = vorn.KMeans(3)
    with pytest.raises(vorn.NotFittedError):
        km.get_feature_names_out()
    km.fit(x_small)
    names = km.get_feature_names_out()
    assert names.dtype == object and list(names) == ["kmeans0", "kmeans1", "kmeans2"]
    assert list(km.get_feature_names_out([f"f{i}" for i in range(x_small.shape[1])])) == list(names)
    with pytest.raises(ValueError, match="input_features should have length"):
        km.get_feature_names_out(["just-one"])


def test_set_output_validates_and_is_not_a_parameter(x_small):
    km = vorn.KMeans(3)
    assert km.set_output() is km and km.set_output(transform="default") is km
    assert "_sklearn_output_config" not in type(km)(**km.get_params()).__dict__
    with pytest.raises(ValueError, match="transform must be one of"):
        km.set_output(transform="arrow")
    out = km.fit(x_small).transform(x_small)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32


def test_set_output_pandas_keeps_values_columns_and_index(x_small):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(x_small, index=np.arange(len(x_small)) + 1000)
    km = vorn.KMeans(3, random_state=4).set_output(transform="pandas")
    got = km.fit_transform(df)
    want = vorn.KMeans(3, random_state=4).fit(x_small).transform(x_small)
    assert isinstance(got, pd.DataFrame)
    assert list(got.columns) == list(km.get_feature_names_out())
    assert got.index.equals(df.index)
    np.testing.assert_array_equal(got.to_numpy(), want)
    # Back to arrays.
    assert isinstance(km.set_output(transform="default").transform(df), np.ndarray)


def test_set_output_through_scikit_learn_pipelines_and_global_config(x_small):
    pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    import pandas as pd
    import sklearn
    from sklearn.base import clone
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = make_pipeline(StandardScaler(), vorn.KMeans(3)).set_output(transform="pandas")
    out = pipe.fit_transform(x_small)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["kmeans0", "kmeans1", "kmeans2"]
    assert list(pipe.get_feature_names_out()) == list(out.columns)
    # scikit-learn's clone carries the setting, as for its own estimators.
    km = vorn.KMeans(3).set_output(transform="pandas")
    assert isinstance(clone(km).fit(x_small).transform(x_small), pd.DataFrame)
    # Unset, scikit-learn's global setting applies; an explicit one wins over it.
    with sklearn.config_context(transform_output="pandas"):
        assert isinstance(vorn.KMeans(3).fit(x_small).transform(x_small), pd.DataFrame)
        explicit = vorn.KMeans(3).set_output(transform="default").fit(x_small)
        assert isinstance(explicit.transform(x_small), np.ndarray)


def test_feature_names_in_like_scikit_learn(x_small):
    pd = pytest.importorskip("pandas")
    cols = [f"f{i}" for i in range(x_small.shape[1])]
    df = pd.DataFrame(x_small, columns=cols)
    km = vorn.KMeans(3, random_state=1).fit(df)
    assert km.feature_names_in_.dtype == object and list(km.feature_names_in_) == cols
    np.testing.assert_array_equal(km.predict(df), km.labels_)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        km.predict(x_small)
    with pytest.raises(ValueError, match="(?s)unseen at fit time:\n- g0.*yet now missing:\n- f0"):
        km.transform(df.rename(columns={"f0": "g0"}))
    with pytest.raises(ValueError, match="same order"):
        km.score(df[cols[::-1]])
    with pytest.raises(ValueError, match="input_features is not equal to feature_names_in_"):
        km.get_feature_names_out(["x"] * len(cols))
    # Names of mixed types are refused; integer column names are no feature names.
    with pytest.raises(TypeError, match="only supported if all input features have string"):
        vorn.KMeans(3).fit(pd.DataFrame(x_small, columns=[0] + cols[1:]))
    plain = vorn.KMeans(3).fit(pd.DataFrame(x_small))
    assert not hasattr(plain, "feature_names_in_")
    with pytest.warns(UserWarning, match="X has feature names, but KMeans was fitted without"):
        plain.predict(df)
    # A refit without names drops them.
    km.fit(x_small)
    assert not hasattr(km, "feature_names_in_")


def test_scikit_learn_feature_name_checks_pass():
    """scikit-learn's checks of column names and get_feature_names_out (not in
    check_estimator's default list), run one by one."""
    pytest.importorskip("pandas")
    pytest.importorskip("sklearn")
    from sklearn.utils import estimator_checks as ec

    for check in (
        ec.check_dataframe_column_names_consistency,
        ec.check_transformer_get_feature_names_out,
        ec.check_transformer_get_feature_names_out_pandas,
        ec.check_get_feature_names_out_error,
    ):
        check("KMeans", vorn.KMeans(3, n_threads=1))


def test_callable_init_like_scikit_learn(x_small):
    calls = []

    def pick(X, n_clusters, random_state):
        assert X.dtype == np.float32 and X.shape == x_small.shape
        assert isinstance(random_state, np.random.RandomState)
        calls.append(1)
        return X[random_state.choice(len(X), n_clusters, replace=False)]

    km = vorn.KMeans(3, init=pick, random_state=5).fit(x_small)
    assert len(calls) == 10  # n_init="auto": 10 runs, as scikit-learn
    # The winner is the best of those runs: each run equals a fit from its centroids.
    rs = np.random.RandomState(np.random.MT19937(np.random.SeedSequence(5)))
    runs = [
        vorn.KMeans(3, init=x_small[rs.choice(len(x_small), 3, replace=False)]).fit(x_small)
        for _ in range(10)
    ]
    best = min(runs, key=lambda m: m.inertia_)  # min keeps the first on ties
    np.testing.assert_array_equal(km.cluster_centers_, best.cluster_centers_)
    assert km.inertia_ == best.inertia_
    # Deterministic, n_init honoured, bad returns named.
    again = vorn.KMeans(3, init=pick, random_state=5).fit(x_small)
    np.testing.assert_array_equal(again.cluster_centers_, km.cluster_centers_)
    calls.clear()
    vorn.KMeans(3, init=pick, n_init=2).fit(x_small)
    assert len(calls) == 2
    with pytest.raises(vorn.InvalidParameterError, match="the centroids init returned has shape"):
        vorn.KMeans(3, init=lambda X, k, rs: X[:2]).fit(x_small)
