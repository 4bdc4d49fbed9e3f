"""KMeans: fitted attributes, semantics of predict/transform/score, quality, determinism."""

from __future__ import annotations

import numpy as np
import pytest

import vorn
from conftest import completeness, make_blobs, purity


def test_fit_returns_self_and_sets_attributes(blobs):
    x, _ = blobs
    km = vorn.KMeans(4)
    assert km.fit(x) is km
    n, d = x.shape
    assert km.cluster_centers_.shape == (4, d)
    assert km.cluster_centers_.dtype == np.float32
    assert km.labels_.shape == (n,)
    assert km.labels_.dtype == np.int32
    assert isinstance(km.inertia_, float) and km.inertia_ > 0
    assert isinstance(km.n_iter_, int) and 1 <= km.n_iter_ <= 300
    assert km.n_features_in_ == d
    assert km.algorithm_ in ("lloyd", "hamerly")
    assert km.stop_reason_ in ("converged", "tolerance", "max_iter")
    stats = km.iteration_stats_
    assert isinstance(stats, list) and len(stats) >= km.n_iter_
    assert set(stats[0]) == {
        "run", "iter", "objective", "moved", "empty_splits", "rows_scanned",
        "assign_secs", "update_secs",
    }
    assert stats[-1]["objective"] == pytest.approx(km.inertia_, rel=1e-9)
    objs = [s["objective"] for s in stats]
    assert all(b <= a * (1 + 1e-9) for a, b in zip(objs, objs[1:]))


def test_iteration_stats_are_built_on_first_access_and_reset_by_refit():
    # A dict per iteration of every run (~1 KB each): n_init=2000 on a small input would hold
    # megabytes of them; they are made only when asked for, once, and a refit replaces them.
    x, _ = make_blobs(n=300, d=4, k=3, seed=1, spread=2.0)
    km = vorn.KMeans(3, n_init=2000, max_iter=5, split_merge=0).fit(x)
    assert "iteration_stats_" not in vars(km)
    stats = km.iteration_stats_
    assert {s["run"] for s in stats} == set(range(2000))
    assert km.iteration_stats_ is stats
    km.set_params(n_init=1).fit(x)
    assert {s["run"] for s in km.iteration_stats_} == {0}
    with pytest.raises(vorn.NotFittedError, match="iteration_stats_"):
        vorn.KMeans(3).iteration_stats_


def test_n_init_auto_runs_twice_when_a_run_is_cheap():
    # 2**22 <= n * d * k = 20 000 * 64 * 4 <= 2**27: two runs, the better one kept.
    x, _ = make_blobs(n=20_000, d=64, k=4, seed=3, spread=3.0)
    km = vorn.KMeans(4, n_threads=2).fit(x)
    stats = km.iteration_stats_
    assert sorted({s["run"] for s in stats}) == [0, 1]
    finals = []
    for r in (0, 1):
        objs = [s["objective"] for s in stats if s["run"] == r]
        assert all(b <= a * (1 + 1e-9) for a, b in zip(objs, objs[1:]))
        finals.append(objs[-1])
    assert min(finals) == pytest.approx(km.inertia_, rel=1e-9)
    one = vorn.KMeans(4, n_init=1).fit(x)
    assert km.inertia_ <= one.inertia_
    # Same bits on one thread (the runs one after the other).
    km1 = vorn.KMeans(4, n_threads=1).fit(x)
    np.testing.assert_array_equal(km1.cluster_centers_, km.cluster_centers_)
    np.testing.assert_array_equal(km1.labels_, km.labels_)
    # A named backend, an explicit n_init or a millisecond fit keep one run.
    for kw, data in ((dict(algorithm="lloyd"), x), (dict(n_init=1), x), ({}, x[:1000])):
        r = vorn.KMeans(4, **kw).fit(data)
        assert {s["run"] for s in r.iteration_stats_} == {0}


def test_quality_on_blobs(blobs):
    x, truth = blobs
    km = vorn.KMeans(4, random_state=3).fit(x)
    assert purity(truth, km.labels_) > 0.99
    assert completeness(truth, km.labels_) > 0.99
    # Inertia matches its definition.
    c = km.cluster_centers_.astype(np.float64)
    manual = ((x.astype(np.float64) - c[km.labels_]) ** 2).sum()
    assert km.inertia_ == pytest.approx(manual, rel=1e-4)


def test_labels_consistent_with_predict(blobs):
    x, _ = blobs
    km = vorn.KMeans(6, random_state=1).fit(x)
    np.testing.assert_array_equal(km.predict(x), km.labels_)
    assert km.predict(x).dtype == np.int32
    np.testing.assert_array_equal(vorn.KMeans(6, random_state=1).fit_predict(x), km.labels_)


def test_labels_consistent_with_predict_when_training_on_a_sample(blobs):
    x, truth = blobs
    km = vorn.KMeans(4, sample_size=200).fit(x)
    np.testing.assert_array_equal(km.predict(x), km.labels_)
    assert purity(truth, km.labels_) > 0.99
    km2 = vorn.KMeans(4, max_points_per_centroid=50).fit(x)
    np.testing.assert_array_equal(km2.predict(x), km2.labels_)


def test_init_sample_seeds_from_a_subset_deterministically(blobs):
    x, truth = blobs
    a = vorn.KMeans(4, init_sample=50, random_state=3).fit(x)
    b = vorn.KMeans(4, init_sample=50, random_state=3, n_threads=1).fit(x)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert purity(truth, a.labels_) > 0.99
    full = vorn.KMeans(4, init_sample=10**9, random_state=3).fit(x)
    assert full.get_params()["init_sample"] == 10**9
    with pytest.raises(ValueError, match="init_sample"):
        vorn.KMeans(4, init_sample=0).fit(x)


def test_split_merge_repairs_a_stuck_minimum():
    # Four tight groups on a line; the given seeding puts two centres in the first group and
    # one between the last two, a fixed point of Lloyd.
    t = np.arange(50, dtype=np.float32)
    x = np.concatenate(
        [np.stack([g + (t - 25) * 0.01, (t % 7) * 0.01], axis=1) for g in (0, 10, 20, 30)]
    ).astype(np.float32)
    init = np.array([[-0.1, 0.03], [0.1, 0.03], [10, 0.03], [25, 0.03]], np.float32)
    stuck = vorn.KMeans(4, init=init, algorithm="lloyd").fit(x)
    assert stuck.inertia_ > 1000
    # A given seeding is refined only when asked.
    assert vorn.KMeans(4, init=init).fit(x).inertia_ == stuck.inertia_
    fixed = vorn.KMeans(4, init=init, algorithm="lloyd", split_merge=4).fit(x)
    assert fixed.get_params()["split_merge"] == 4
    assert fixed.inertia_ < 10
    assert sorted(np.round(fixed.cluster_centers_[:, 0]).tolist()) == [0, 10, 20, 30]
    np.testing.assert_array_equal(fixed.predict(x), fixed.labels_)


def test_split_merge_auto_never_worse_and_deterministic(blobs):
    x, _ = blobs
    for seed in range(4):
        off = vorn.KMeans(7, split_merge=0, random_state=seed, init="random").fit(x)
        on = vorn.KMeans(7, random_state=seed, init="random").fit(x)
        assert on.inertia_ <= off.inertia_
        again = vorn.KMeans(7, random_state=seed, init="random", n_threads=1).fit(x)
        np.testing.assert_array_equal(again.cluster_centers_, on.cluster_centers_)
        np.testing.assert_array_equal(again.labels_, on.labels_)
        # Under cosine only when asked for (on the unit rows); never worse either.
        cos_off = vorn.KMeans(7, metric="cosine", random_state=seed, init="random").fit(x)
        cos_on = vorn.KMeans(7, metric="cosine", random_state=seed, init="random",
                             split_merge=7).fit(x)
        assert cos_on.inertia_ <= cos_off.inertia_
        np.testing.assert_allclose(np.linalg.norm(cos_on.cluster_centers_, axis=1), 1, rtol=1e-5)


@pytest.mark.parametrize("local_search", [None, 0, 1, 25])
def test_local_search_fits_and_is_deterministic(blobs, local_search):
    x, truth = blobs
    km = vorn.KMeans(4, local_search=local_search, random_state=5)
    assert km.get_params()["local_search"] == local_search
    assert km.fit(x) is km
    assert km.cluster_centers_.shape == (4, x.shape[1])
    assert km.labels_.shape == (x.shape[0],) and km.labels_.dtype == np.int32
    assert set(np.unique(km.labels_)) <= set(range(4))
    assert np.isfinite(km.inertia_) and km.inertia_ > 0
    np.testing.assert_array_equal(km.predict(x), km.labels_)
    assert purity(truth, km.labels_) > 0.99
    again = vorn.KMeans(4, local_search=local_search, random_state=5, n_threads=1).fit(x)
    np.testing.assert_array_equal(again.cluster_centers_, km.cluster_centers_)
    # Ignored (but still validated) with other seedings.
    vorn.KMeans(4, init="random", local_search=local_search).fit(x)


@pytest.mark.parametrize(
    "value, exc", [(-1, ValueError), ("3", TypeError), (True, TypeError), (2.0, TypeError)]
)
def test_local_search_rejects_bad_values(blobs, value, exc):
    x, _ = blobs
    km = vorn.KMeans(4, local_search=value)  # stored verbatim, validated by fit
    assert km.get_params()["local_search"] is value
    with pytest.raises(exc, match="local_search") as info:
        km.fit(x)
    assert isinstance(info.value, vorn.InvalidParameterError)
    assert not hasattr(km, "labels_")


def test_transform_is_euclidean_distance(blobs):
    x, _ = blobs
    km = vorn.KMeans(4).fit(x)
    t = km.transform(x[:50])
    assert t.shape == (50, 4) and t.dtype == np.float32
    ref = np.sqrt(
        ((x[:50, None, :].astype(np.float64) - km.cluster_centers_[None]) ** 2).sum(-1)
    )
    np.testing.assert_allclose(t, ref, rtol=1e-3, atol=1e-3)
    np.testing.assert_array_equal(t.argmin(1), km.predict(x[:50]))
    ft = vorn.KMeans(4).fit_transform(x)
    np.testing.assert_array_equal(ft, km.transform(x))


def test_transform_cosine_is_one_minus_cos(blobs):
    x, _ = blobs
    km = vorn.KMeans(3, metric="cosine").fit(x)
    c = km.cluster_centers_
    np.testing.assert_allclose(np.linalg.norm(c, axis=1), 1.0, rtol=1e-5)
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    ref = 1.0 - xn @ c.T
    np.testing.assert_allclose(km.transform(x), ref, atol=1e-4)
    np.testing.assert_array_equal(km.predict(x), km.labels_)


def test_score_is_negative_inertia(blobs):
    x, _ = blobs
    km = vorn.KMeans(4).fit(x)
    assert km.score(x) == pytest.approx(-km.inertia_, rel=1e-9)
    assert km.score(x[:10]) > km.score(x)


def test_more_clusters_lower_objective(blobs):
    x, _ = blobs
    inertias = [vorn.KMeans(k).fit(x).inertia_ for k in (2, 4, 8)]
    assert inertias[0] > inertias[1] > inertias[2]


@pytest.mark.parametrize("algorithm", ["lloyd", "hamerly"])
@pytest.mark.parametrize("metric", ["l2", "cosine"])
def test_bit_identical_across_thread_counts(algorithm, metric):
    x, _ = make_blobs(n=3000, d=12, k=5, seed=7)
    runs = [
        vorn.KMeans(
            20, metric=metric, algorithm=algorithm, n_threads=t, n_init=2, random_state=5
        ).fit(x)
        for t in (1, 2, 8)
    ]
    ref = runs[0]
    assert ref.algorithm_ == algorithm
    for km in runs[1:]:
        assert km.cluster_centers_.tobytes() == ref.cluster_centers_.tobytes()
        assert km.labels_.tobytes() == ref.labels_.tobytes()
        assert km.inertia_ == ref.inertia_
        assert km.n_iter_ == ref.n_iter_
        assert km.transform(x[:100]).tobytes() == ref.transform(x[:100]).tobytes()
    default = vorn.KMeans(
        20, metric=metric, algorithm=algorithm, n_init=2, random_state=5
    ).fit(x)
    assert default.cluster_centers_.tobytes() == ref.cluster_centers_.tobytes()


def test_lloyd_and_hamerly_agree(blobs):
    x, _ = blobs
    a = vorn.KMeans(8, algorithm="lloyd").fit(x)
    b = vorn.KMeans(8, algorithm="hamerly").fit(x)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    # Same bits, not just the same labels: centroids and inertia too.
    np.testing.assert_array_equal(a.cluster_centers_.view(np.uint32), b.cluster_centers_.view(np.uint32))
    assert a.inertia_ == b.inertia_
    assert b.iteration_stats_[-1]["rows_scanned"] <= x.shape[0]


def test_seed_determinism_and_none_means_zero(blobs):
    x, _ = blobs
    a = vorn.KMeans(5, random_state=11).fit(x)
    b = vorn.KMeans(5, random_state=11).fit(x)
    assert a.cluster_centers_.tobytes() == b.cluster_centers_.tobytes()
    z = vorn.KMeans(5, random_state=0).fit(x)
    n = vorn.KMeans(5, random_state=None).fit(x)
    assert z.cluster_centers_.tobytes() == n.cluster_centers_.tobytes()


def test_init_random_and_n_init(blobs):
    x, truth = blobs
    km = vorn.KMeans(4, init="random", n_init=3).fit(x)
    assert {s["run"] for s in km.iteration_stats_} == {0, 1, 2}
    assert purity(truth, km.labels_) > 0.95
    auto = vorn.KMeans(4, init="random", n_init="auto").fit(x)
    assert {s["run"] for s in auto.iteration_stats_} == set(range(10))


def test_init_array(blobs):
    x, truth = blobs
    start = np.stack([x[truth == j][0] for j in range(4)]).astype(np.float64)
    km = vorn.KMeans(4, init=start).fit(x)
    assert purity(truth, km.labels_) > 0.99
    # n_init > 1 with explicit centroids: one run and a warning (scikit-learn's behaviour).
    with pytest.warns(RuntimeWarning, match="one run"):
        km2 = vorn.KMeans(4, init=start, n_init=3).fit(x)
    assert {s["run"] for s in km2.iteration_stats_} == {0}
    np.testing.assert_array_equal(km2.labels_, km.labels_)
    # An array init is stored verbatim (clone contract).
    assert vorn.KMeans(4, init=start).init is start


def test_max_iter_and_tol():
    x, _ = make_blobs(n=2000, d=4, k=20, seed=3, spread=3.0)
    km = vorn.KMeans(20, max_iter=2, tol=0.0).fit(x)
    assert km.n_iter_ == 2 and km.stop_reason_ == "max_iter"
    km = vorn.KMeans(20, tol=0.0).fit(x)
    assert km.stop_reason_ in ("converged", "tolerance")


def test_refit_replaces_state(blobs):
    x, _ = blobs
    km = vorn.KMeans(3).fit(x)
    km.set_params(n_clusters=5).fit(x[:, :4])
    assert km.cluster_centers_.shape == (5, 4)
    assert km.n_features_in_ == 4


def test_fewer_distinct_rows_than_clusters_warns():
    # Two distinct points, four clusters: two centroids can own no row.
    x = np.vstack([np.zeros((50, 3)), np.ones((50, 3))]).astype(np.float32)
    with pytest.warns(vorn.ConvergenceWarning, match=r"only 2 of the 4 clusters have members"):
        km = vorn.KMeans(4).fit(x)
    assert np.count_nonzero(np.bincount(km.labels_, minlength=4)) == 2
    assert km.inertia_ == 0.0
    # One repeated row: the same through the Clostera-style front.
    with pytest.warns(vorn.ConvergenceWarning, match=r"only 1 of the 3 clusters"):
        vorn.Clusterer(k=3).fit(np.ones((20, 2), np.float32))


def test_enough_distinct_rows_do_not_warn(blobs):
    import warnings

    x, _ = blobs
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vorn.KMeans(8, random_state=0).fit(x)


def test_small_calls_match_batch_results_and_map_errors():
    # Calls of at most 2**23 multiply-adds (n * k * d) run on the calling thread, larger ones
    # on the thread pool: the same labels and distances either way, and the same errors.
    x, _ = make_blobs(n=160_000, d=8, k=4, seed=9)
    for metric in ("l2", "cosine"):
        km = vorn.KMeans(7, metric=metric, random_state=3, max_iter=20).fit(x)
        assert x.shape[0] * 7 * 8 > 2**23  # the batch takes the pooled path
        one_by_one = np.concatenate([km.predict(x[i : i + 1]) for i in range(50)])
        np.testing.assert_array_equal(one_by_one, km.labels_[:50])
        np.testing.assert_array_equal(km.predict(x[:3]), km.predict(x)[:3])
        assert km.transform(x[:2]).tobytes() == km.transform(x)[:2].tobytes()
        bad = x[:1].copy()
        bad[0, 1] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            km.predict(bad)
        with pytest.raises(ValueError, match="features"):
            km.predict(x[:1, :-1])


AUTO_CHILD = """
import hashlib, sys
import numpy as np, vorn
rng = np.random.default_rng(3)
centres = rng.normal(size=(64, 128)).astype(np.float32) * 4
x = (centres[rng.integers(0, 64, 65536)] + rng.normal(size=(65536, 128))).astype(np.float32)
km = vorn.KMeans(256, max_iter=4, random_state=1, n_threads=2).fit(x)
h = hashlib.sha256(km.cluster_centers_.tobytes() + km.labels_.tobytes())
print(km.algorithm_, h.hexdigest(), repr(km.inertia_))
"""


def test_auto_gives_the_same_bits_on_every_instruction_set():
    # n·k·d = 2**31: `auto` plans Hamerly; AVX-512 runs that plan with Lloyd (k < 512) and
    # AVX2 with Hamerly. The backends agree bit for bit, so the result must not depend on
    # the kernels (VORN_SIMD=avx2 forces the AVX2 ones on an AVX-512 CPU).
    import os
    import subprocess
    import sys

    def run(simd):
        env = dict(os.environ)
        env.pop("VORN_SIMD", None)
        if simd:
            env["VORN_SIMD"] = simd
        out = subprocess.run(
            [sys.executable, "-c", AUTO_CHILD], env=env, capture_output=True, text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout.split()

    native, avx2 = run(None), run("avx2")
    assert native[0] in ("lloyd", "hamerly") and avx2[0] in ("lloyd", "hamerly")
    assert native[1:] == avx2[1:]


def test_transform_too_large_for_memory_raises_memory_error_not_abort():
    # 2**23 rows x 2**22 centroids of float32 distances = 128 TiB: no machine grants it. The
    # allocation is refused and surfaces as MemoryError (it used to abort the interpreter).
    from vorn import _vorn

    model = _vorn.Model.from_centroids(np.zeros((1 << 22, 1), np.float32))
    x = np.ones((1 << 23, 1), np.float32)
    with pytest.raises(MemoryError, match=r"n x k distances.*transform the rows in batches"):
        model.transform(x)
    # The model still works afterwards.
    assert model.transform(x[:3]).shape == (3, 1 << 22)
