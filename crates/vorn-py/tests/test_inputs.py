"""Input conversion, zero copy, and the bad-input matrix."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import vorn
from vorn._convert import _borrowed_ptr
from conftest import make_blobs


@pytest.fixture(scope="module")
def data():
    return make_blobs(n=400, d=6, k=3, seed=2)[0]


@pytest.fixture(scope="module")
def reference(data):
    return vorn.KMeans(3).fit(data)


def assert_same_fit(km, ref):
    assert km.cluster_centers_.tobytes() == ref.cluster_centers_.tobytes()
    assert km.labels_.tobytes() == ref.labels_.tobytes()


# ---------------------------------------------------------------- zero copy


def test_c_contiguous_float32_is_borrowed(data):
    assert data.dtype == np.float32 and data.flags.c_contiguous
    assert _borrowed_ptr(data) == data.ctypes.data
    ro = data.copy()
    ro.flags.writeable = False
    assert _borrowed_ptr(ro) == ro.ctypes.data
    rows = data[10:50]  # a contiguous row slice is a view, also borrowed
    assert _borrowed_ptr(rows) == rows.ctypes.data


def test_memmap_is_borrowed_and_fits(tmp_path, data, reference):
    path = tmp_path / "x.f32"
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=data.shape)
    mm[:] = data
    mm.flush()
    ro = np.memmap(path, dtype=np.float32, mode="r", shape=data.shape)
    assert _borrowed_ptr(ro) == ro.ctypes.data
    assert_same_fit(vorn.KMeans(3).fit(ro), reference)
    npy = tmp_path / "x.npy"
    np.save(npy, data)
    loaded = np.load(npy, mmap_mode="r")
    assert isinstance(loaded, np.memmap)
    assert _borrowed_ptr(loaded) == loaded.ctypes.data
    np.testing.assert_array_equal(reference.predict(loaded), reference.labels_)


def test_ready_float32_returns_itself_and_edge_arrays_are_still_checked(data, reference):
    # A plain native float32 C-order 2-D array is returned as it is (as_matrix's fast path);
    # the float32 arrays the fast path must not take keep the full checks' outcome.
    from vorn._convert import as_matrix

    assert as_matrix(data) is data
    for empty in (np.zeros((0, 3), np.float32), np.zeros((3, 0), np.float32)):
        with pytest.raises(ValueError, match="while a minimum of 1 is required"):
            as_matrix(empty)
    for wrong_ndim in (np.zeros(3, np.float32), np.zeros((2, 2, 2), np.float32)):
        with pytest.raises(ValueError, match="must be a 2-D array"):
            as_matrix(wrong_ndim)
    # Misaligned float32 (a view one byte into a buffer): copied into an aligned array.
    buf = np.zeros(data.size * 4 + 1, np.uint8)
    odd = buf[1:].view(np.float32).reshape(data.shape)
    odd[:] = data
    assert not odd.flags.aligned
    got = as_matrix(odd)
    assert got.flags.aligned and got.ctypes.data != odd.ctypes.data
    np.testing.assert_array_equal(got, data)
    # Bug fixed: such an array reached Rust as it was and was refused as "not C-contiguous",
    # with a remedy (np.ascontiguousarray) that returns it unchanged.
    assert_same_fit(vorn.KMeans(3).fit(odd), reference)
    np.testing.assert_array_equal(reference.predict(odd), reference.labels_)
    # A subclass (memmap) takes the full path and is still borrowed, not copied.
    sub = data.view(np.memmap)
    assert type(sub) is np.memmap and as_matrix(sub).ctypes.data == sub.ctypes.data


def test_converted_inputs_are_copied(data):
    for arr in (data.astype(np.float64), np.asfortranarray(data), data[:, ::2], data[::2]):
        assert _borrowed_ptr(arr) != arr.ctypes.data
    big_endian = data.astype(">f4")
    assert _borrowed_ptr(big_endian) != big_endian.ctypes.data


# ---------------------------------------------------------------- conversions that work


@pytest.mark.parametrize(
    "convert",
    [
        lambda x: x.astype(np.float64),
        lambda x: x.astype(">f4"),
        lambda x: np.asfortranarray(x),
        lambda x: x.tolist(),
    ],
    ids=["float64", "big-endian", "fortran", "list"],
)
def test_converted_layouts_give_the_same_result(data, reference, convert):
    assert_same_fit(vorn.KMeans(3).fit(convert(data)), reference)


def test_strided_arrays_give_the_same_result_as_contiguous(data):
    wide = np.zeros((data.shape[0] * 2, data.shape[1] * 3), dtype=np.float32)
    wide[::2, ::3] = data
    strided = wide[::2, ::3]
    assert not strided.flags.c_contiguous
    ref = vorn.KMeans(3).fit(np.ascontiguousarray(strided))
    assert_same_fit(vorn.KMeans(3).fit(strided), ref)
    np.testing.assert_array_equal(ref.predict(strided), ref.labels_)
    np.testing.assert_array_equal(ref.transform(strided), ref.transform(data))


@pytest.mark.parametrize("dtype", [np.float16, np.int32, np.int64, np.uint8, np.bool_])
def test_other_real_dtypes_work(dtype):
    rng = np.random.default_rng(0)
    x = (rng.random((200, 4)) * 10).astype(dtype)
    # As booleans every row is (1, 1, 1, 1): one distinct row for two clusters.
    one_row = dtype is np.bool_
    with pytest.warns(vorn.ConvergenceWarning) if one_row else contextlib.nullcontext():
        km = vorn.KMeans(2).fit(x)
    assert km.cluster_centers_.dtype == np.float32
    with pytest.warns(vorn.ConvergenceWarning) if one_row else contextlib.nullcontext():
        ref = vorn.KMeans(2).fit(np.ascontiguousarray(x, dtype=np.float32))
    assert_same_fit(km, ref)
    np.testing.assert_array_equal(km.predict(x), km.labels_)


def test_identical_rows_work_and_report_empty_repairs():
    x = np.full((100, 3), 2.5, dtype=np.float32)
    with pytest.warns(vorn.ConvergenceWarning, match="only 1 of the 4 clusters"):
        km = vorn.KMeans(4).fit(x)
    assert km.inertia_ == 0.0
    assert sum(s["empty_splits"] for s in km.iteration_stats_) > 0
    np.testing.assert_array_equal(km.predict(x), km.labels_)
    with pytest.warns(vorn.ConvergenceWarning, match="ask for at most 1 cluster$"):
        k_eq_n = vorn.KMeans(5).fit(np.ones((5, 2), dtype=np.float32))
    assert k_eq_n.labels_.shape == (5,)


def test_duplicates_fewer_distinct_points_than_k():
    x = np.repeat(np.eye(3, dtype=np.float32), 20, axis=0)
    with pytest.warns(vorn.ConvergenceWarning, match="only 3 of the 5 clusters.*at most 3 clusters$"):
        km = vorn.KMeans(5).fit(x)
    assert km.inertia_ == pytest.approx(0.0, abs=1e-6)
    assert len(np.unique(km.labels_)) == 3


# ---------------------------------------------------------------- rejected inputs


@pytest.mark.parametrize(
    "x, exc, match",
    [
        (np.array([[1.0, np.nan], [0.0, 1.0]], np.float32), ValueError, "row 0, column 1 is NaN"),
        (np.array([[1.0, 2.0], [np.inf, 1.0]], np.float32), ValueError, "row 1, column 0 is inf"),
        (np.zeros((0, 3), np.float32), ValueError, r"0 sample\(s\) \(shape=\(0, 3\)\)"),
        (np.zeros((5, 0), np.float32), ValueError, r"0 feature\(s\) \(shape=\(5, 0\)\)"),
        (np.zeros(5, np.float32), ValueError, r"2-D.*Reshape your data.*reshape\(-1, 1\)"),
        (np.zeros((2, 3, 4), np.float32), ValueError, "2-D"),
        (np.float32(3.0), ValueError, "2-D"),
        (np.ones((4, 2), np.complex64), TypeError, "complex"),
        (np.ones((4, 2), np.complex128), TypeError, r"\.real"),
        (np.array([["a", "b"], ["c", "d"]]), TypeError, "not a real number"),
        # None converts to NaN (as in pandas and scikit-learn), which the core names.
        (np.array([[1, None], [3, 4]], dtype=object), ValueError, "row 0, column 1 is NaN"),
        (np.array([[1, "a"], [3, 4]], dtype=object), TypeError, "object.*not a real number"),
        (np.array([[1, 2j], [3, 4]], dtype=object), TypeError, "object.*not a real number"),
        (np.array([[3e20, 1.0], [0.0, 1.0]], np.float32), ValueError, "overflows"),
    ],
    ids=[
        "nan", "inf", "empty", "d0", "1d", "3d", "0d", "complex64", "complex128", "str",
        "object-none", "object-str", "object-complex", "overflow",
    ],
)
def test_bad_inputs(x, exc, match):
    with pytest.raises(exc, match=match):
        vorn.KMeans(1).fit(x)
    est = vorn.KMeans(1).fit(np.ones((3, 2), np.float32))
    if getattr(x, "ndim", 0) == 2 and x.shape[1] == 2:
        with pytest.raises(exc, match=match):
            est.predict(x)


def test_paths_are_not_arrays(tmp_path, x_small):
    # A path passed where an array belongs names itself and points to the readers, instead
    # of numpy's "dtype <U.. is not a real number type".
    path = tmp_path / "x.npy"
    np.save(path, x_small)
    est = vorn.KMeans(2).fit(x_small)
    for p in (str(path), path, str(path).encode()):
        with pytest.raises(TypeError, match=r"not an array of numbers.*np\.load.*Clusterer"):
            vorn.KMeans(2).fit(p)
        with pytest.raises(TypeError, match="not an array of numbers"):
            est.predict(p)


def test_complex_input_is_a_type_error_and_the_value_error_scikit_learn_raises():
    x = np.ones((4, 2), np.complex128)
    for exc in (TypeError, ValueError):
        with pytest.raises(exc, match="^Complex data not supported: X has complex dtype"):
            vorn.KMeans(1).fit(x)


def test_object_arrays_of_numbers_are_converted_like_float64(x_small):
    # scikit-learn accepts them (mixed pandas frames come as object arrays); the fit is the
    # one of the same numbers as float64.
    obj = x_small.astype(np.float64).astype(object)
    assert obj.dtype == object
    a = vorn.KMeans(3, random_state=2).fit(obj)
    b = vorn.KMeans(3, random_state=2).fit(x_small.astype(np.float64))
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.predict(obj[:5]), b.labels_[:5])
    # A Python int beyond float64 is out of range, not a crash.
    big = obj.copy()
    big[1, 1] = 10**400
    with pytest.raises(ValueError, match="beyond the range of float32"):
        vorn.KMeans(3).fit(big)
    # An element that is no number names numpy's reason (scikit-learn's check matches it).
    bad = obj.copy()
    bad[0, 0] = {"foo": "bar"}
    with pytest.raises(TypeError, match="argument must be a string.* number"):
        vorn.KMeans(3).fit(bad)


def test_numpy_random_states_seed_the_fit_like_scikit_learn(x_small):
    fit = lambda rs: vorn.KMeans(3, init="random", random_state=rs).fit(x_small)  # noqa: E731

    def draw(g):
        return int(
            g.randint(0, 2**64, dtype=np.uint64)
            if isinstance(g, np.random.RandomState)
            else g.integers(0, 2**64, dtype=np.uint64)
        )

    for make in (np.random.RandomState, np.random.default_rng):
        a, b = fit(make(7)), fit(make(7))
        np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
        # One seed is drawn per fit, advancing the generator as scikit-learn does; each fit
        # is the one of the int seed drawn for it (whose centroids may coincide: on three
        # clear blobs every seed finds them, in one of six orders).
        g = make(7)
        s1, s2 = draw(g), draw(g)
        assert s1 != s2
        shared = make(7)
        first, second = fit(shared), fit(shared)
        np.testing.assert_array_equal(first.cluster_centers_, fit(s1).cluster_centers_)
        np.testing.assert_array_equal(second.cluster_centers_, fit(s2).cluster_centers_)
        np.testing.assert_array_equal(a.cluster_centers_, first.cluster_centers_)


def test_sparse_input_is_rejected_with_a_hint():
    class FakeSparse:  # duck-typed like scipy.sparse (scipy is not a dependency)
        nnz = 1

        def tocsr(self):
            return self

    with pytest.raises(TypeError, match=r"sparse input is not supported.*toarray"):
        vorn.KMeans(1).fit(FakeSparse())


def test_bad_inputs_leave_estimator_unfitted(x_small):
    km = vorn.KMeans(3).fit(x_small)
    bad = x_small.copy()
    bad[7, 1] = np.nan
    with pytest.raises(ValueError, match="row 7"):
        km.fit(bad)
    assert not hasattr(km, "cluster_centers_")


def test_cosine_zero_row():
    x = np.array([[1, 0], [0, 0], [0, 1]], np.float32)
    with pytest.raises(ValueError, match="zero norm"):
        vorn.KMeans(2, metric="cosine").fit(x)
    vorn.KMeans(2).fit(x)  # fine under l2


@pytest.mark.parametrize("scale", [1e-15, 1e-30])
def test_cosine_rows_too_small_for_f32_scores(scale):
    # Regression: at 1e-15 every centroid scored exactly 1 (all rows in one cluster, with a
    # duplicate-rows warning); at 1e-30 the f32 norm underflowed and a NaN score made an
    # out-of-bounds label (an internal error).
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 8)).astype(np.float32)
    x[50] *= np.float32(scale)
    with pytest.raises(ValueError, match=r"row 50 has squared norm .* normalise the rows"):
        vorn.KMeans(4, metric="cosine").fit(x)
    km = vorn.KMeans(4, metric="cosine", random_state=0).fit(x[:50])
    with pytest.raises(ValueError, match="row 0 has squared norm"):
        km.predict(x[50:51])
    # Normalised as the message advises, the rows are accepted and the tiny row is
    # labelled like its unscaled direction.
    unit = x / np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True).astype(np.float32)
    km = vorn.KMeans(4, metric="cosine", random_state=0).fit(unit)
    x50 = x[50] / np.float32(scale)
    assert km.labels_[50] == km.predict(x50[None, :])[0]
    # Under l2 a tiny row among normal ones is fine.
    vorn.KMeans(4).fit(x)


@pytest.mark.parametrize("scale", [1e-18, 1e-22, 1e-30])
def test_l2_data_too_small_for_f32_distances(scale):
    # Regression: at 1e-22 the labels agreed with the unscaled fit's on 29% of rows, at 1e-30
    # every row fell into one cluster, silently (a duplicate-rows warning at most).
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 8)).astype(np.float32)
    with pytest.raises(ValueError, match=r"largest squared row norm .* rescale the data"):
        vorn.KMeans(4).fit(x * np.float32(scale))
    with pytest.warns(vorn.ConvergenceWarning):  # identical rows: degenerate but exact
        vorn.KMeans(4).fit(np.zeros((20, 8), np.float32))
    # A trained model labels tiny rows (they are compared with centroids of normal scale).
    km = vorn.KMeans(4, random_state=0).fit(x)
    assert km.predict(x[:3] * np.float32(scale)).shape == (3,)


def test_float64_beyond_float32_range_names_the_value():
    # Regression: 1e300 became inf in the cast (a numpy RuntimeWarning) and the core then
    # reported "column 1 is inf", a value the caller never passed.
    x = np.ones((4, 3))
    x[2, 1] = -2e39
    with pytest.raises(ValueError, match=r"X\[2, 1\] = -2e\+39 is beyond the range of float32"):
        vorn.KMeans(2).fit(x)
    x[2, 1] = np.nan  # a NaN is still the core's message
    with pytest.raises(ValueError, match="row 2, column 1 is NaN"):
        vorn.KMeans(2).fit(x)


def test_float64_that_underflows_to_all_zeros_is_rejected():
    # Regression: distinct float64 rows of magnitude 1e-300 became identical zero rows in
    # float32, and the fit "succeeded" with a duplicate-rows warning.
    x = np.random.default_rng(0).standard_normal((10, 3)) * 1e-300
    with pytest.raises(ValueError, match=r"all are below float32's smallest magnitude"):
        vorn.KMeans(2).fit(x)
    with pytest.warns(vorn.ConvergenceWarning):  # genuinely zero data stays a degenerate fit
        vorn.KMeans(2).fit(np.zeros((10, 3)))


def test_masked_arrays():
    x = np.ma.masked_array(np.arange(12.0).reshape(6, 2), mask=False)
    ref = vorn.KMeans(2, random_state=0).fit(np.arange(12.0).reshape(6, 2))
    got = vorn.KMeans(2, random_state=0).fit(x)  # nothing masked: the data is used
    np.testing.assert_array_equal(got.labels_, ref.labels_)
    x[3, 1] = np.ma.masked
    with pytest.raises(ValueError, match=r"masked array with 1 masked value\(s\)"):
        vorn.KMeans(2).fit(x)
    with pytest.raises(ValueError, match="masked array"):
        ref.predict(x)


def test_predict_with_wrong_dimension(x_small):
    km = vorn.KMeans(3).fit(x_small)
    wrong = np.ones((4, x_small.shape[1] + 1), np.float32)
    for call in (km.predict, km.transform, km.score):
        with pytest.raises(ValueError, match=r"X has 6 features, but KMeans is expecting 5"):
            call(wrong)
    # The native model checks too (the core's message).
    with pytest.raises(ValueError, match=r"has 6 features per row but the model was fitted with 5"):
        km._model.predict(wrong)


# ---------------------------------------------------------------- bad parameters


@pytest.mark.parametrize(
    "params, exc, match",
    [
        (dict(n_clusters=0), ValueError, "n_clusters must be an int >= 1"),
        (dict(n_clusters=-3), ValueError, "n_clusters"),
        (dict(n_clusters=8.7), TypeError, "n_clusters must be an int.*float 8.7"),
        (dict(n_clusters=3.0), TypeError, "n_clusters"),
        (dict(n_clusters=True), TypeError, "n_clusters.*bool"),
        (dict(n_clusters="3"), TypeError, "n_clusters"),
        (dict(n_clusters=2**40), ValueError, "n_clusters"),
        (dict(n_clusters=2**64), ValueError, r"n_clusters must be an int >= 1 and <= \d+, got"),
        (dict(metric="manhattan"), ValueError, "unknown metric"),
        (dict(metric=2), TypeError, "metric must be a string"),
        (dict(algorithm="elkan2"), ValueError, "unknown algorithm"),
        (dict(init="kmeans||"), ValueError, "init must be"),
        (dict(init=np.zeros((2, 5))), ValueError, r"init has shape \(2, 5\).*\(3, 5\)"),
        (dict(init=np.full((3, 5), np.nan)), ValueError, "non-finite"),
        (dict(init=np.zeros((3, 5), complex)), TypeError, "complex"),
        (dict(n_init=0), ValueError, "n_init"),
        (dict(n_init="many"), TypeError, "n_init"),
        # Below the minimum the message names the minimum only (not a 2**63 - 1 maximum).
        (dict(max_iter=0), ValueError, r"^max_iter must be an int >= 1, got 0$"),
        (dict(tol=-1.0), ValueError, "tol"),
        (dict(tol=float("nan")), ValueError, "tol"),
        (dict(tol="small"), TypeError, "tol"),
        (dict(random_state=-1), ValueError, "random_state"),
        (dict(random_state=2**64), ValueError, "random_state"),
        (dict(random_state=1.5), TypeError, "int seed"),
        (dict(n_threads=0), ValueError, "n_threads"),
        (dict(n_threads=1.5), TypeError, "n_threads"),
        (dict(sample_size=0), ValueError, "sample_size"),
        (dict(max_points_per_centroid=0), ValueError, "max_points_per_centroid"),
        (dict(local_search=-1), ValueError, "local_search must be an int >= 0"),
        (dict(local_search="3"), TypeError, "local_search"),
        (dict(local_search=True), TypeError, "local_search.*bool"),
        (dict(split_merge=-1), ValueError, "split_merge must be an int >= 0"),
        (dict(split_merge=2.0), TypeError, "split_merge"),
    ],
)
def test_bad_params(x_small, params, exc, match):
    params.setdefault("n_clusters", 3)
    km = vorn.KMeans(**params)  # never raises: validation happens in fit
    with pytest.raises(exc, match=match):
        km.fit(x_small)
    assert not hasattr(km, "labels_")


def test_param_errors_are_both_value_and_type_errors(x_small):
    assert issubclass(vorn.InvalidParameterError, ValueError)
    assert issubclass(vorn.InvalidParameterError, TypeError)
    with pytest.raises(vorn.InvalidParameterError):
        vorn.KMeans(n_clusters=8.7).fit(x_small)


def test_too_many_clusters(x_small):
    with pytest.raises(ValueError, match=r"n_clusters = 301 is larger than the number of rows \(300\)"):
        vorn.KMeans(301).fit(x_small)


def test_numpy_integer_params_are_accepted(x_small):
    km = vorn.KMeans(np.int64(3), max_iter=np.int32(50), random_state=np.uint64(4)).fit(x_small)
    assert km.cluster_centers_.shape == (3, 5)
