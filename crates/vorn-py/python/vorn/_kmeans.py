"""``vorn.KMeans``: a scikit-learn compatible k-means estimator (without scikit-learn)."""

from __future__ import annotations

import os
import sys
import time
import warnings
from typing import Any, Dict, List, Optional, Union

import numpy as np

from . import _progress, _vorn
from ._base import ParamsMixin
from ._convert import (
    InvalidParameterError,
    as_matrix,
    check_int,
    check_n_threads,
    check_optional_int,
    check_real,
    check_str,
    convergence_warning,
    feature_names,
    not_fitted,
    random_state_seed,
)

# Containers of ``set_output`` (scikit-learn's names).
_OUTPUTS = ("default", "pandas", "polars")

# Fitted attributes, set together by ``_set_fitted`` and removed by ``_reset``.
_FITTED = (
    "cluster_centers_",
    "labels_",
    "inertia_",
    "n_iter_",
    "n_features_in_",
    "algorithm_",
    "iteration_stats_",
    "stop_reason_",
)
_STATE_VERSION = 1
_MAX_K = 2**31 - 1  # labels are int32


class KMeans(ParamsMixin):
    """Fast, deterministic k-means (Lloyd / Hamerly) with a scikit-learn compatible API.

    Does not depend on scikit-learn, but follows its estimator contract: the constructor only
    stores its arguments (validated by ``fit``), ``get_params``/``set_params`` work, ``fit``
    returns ``self``, and fitted attributes end with ``_``.

    Parameters
    ----------
    n_clusters : int, default 8
        Number of clusters k (a Python/NumPy int, not a float or bool).
    metric : {"l2", "cosine"}, default "l2"
        ``"l2"``: squared Euclidean objective (``"euclidean"``/``"sqeuclidean"`` are
        aliases). ``"cosine"``: spherical k-means on unit-normalised rows with unit
        centroids (``"angular"`` is an alias); rows of zero norm, or of squared norm
        below 2**-30 (whose cosines f32 scores cannot resolve), are rejected. Under l2,
        training data whose largest squared row norm is below 2**-100 (squared distances
        in f32's subnormal range) is rejected: rescale it.
    algorithm : {"auto", "lloyd", "hamerly"}, default "auto"
        Backend. ``"lloyd"``: every row against every centroid through the tiled kernel;
        ``"hamerly"``: bound pruning with the same result, bit for bit (labels,
        centroids, inertia). ``"auto"`` plans statically from (n, d, k, metric):
        ``"hamerly"`` for l2 with k >= 64, d >= 128 and n·k·d >= 2**31, else ``"lloyd"``;
        on CPUs with AVX-512 a ``"hamerly"`` plan with k < 512 and d >= 512 runs as
        ``"lloyd"`` (whose chunked pass then skips bound-proven rows itself), which is
        faster there (same bits, so the result does not depend on the CPU);
        when neither ``sample_size`` nor ``max_points_per_centroid`` is set and
        n > 2·max(512·k, 131072), ``"auto"`` also trains on a uniform sample of
        max(512·k, clamp(1024·k, 65536, 131072)) rows, in stages: on every fourth
        sampled row up to iteration ``max_iter`` // 3, on every second one up to
        3·``max_iter`` // 4, then on the whole sample (labels still cover every row;
        measured cost on the benchmark sets: +0.3% objective for 3–4x less time). At k <= 64 on data of 128 MiB or more (and
        no sample set), ``"auto"`` trains on all rows but first on a uniform subset of
        min(n/4, 32 MiB) rows (up to ``max_iter`` // 2 iterations) when that subset keeps
        at least 256 rows per centre: Fashion-MNIST k = 5–40 and 100k x 768 k = 32 took
        15–40% less time, objective -0.07% to +0.18% over 18 fits. It does the same when
        it plans ``"lloyd"`` at k > 64 on all rows with n·k·d >= 2**31 and the subset keeps
        at least 64 rows per centre: 1M x 64 and GloVe 400k x 50 at k = 1024 took 25–45%
        less time, objective within 0.11% over 6 fits. The backend
        used is ``algorithm_``. ``"elkan"`` and ``"full"`` are
        accepted as aliases of ``"hamerly"`` and ``"lloyd"``.
    init : "k-means++", "random", callable or array-like of shape (n_clusters, n_features)
        Seeding: greedy k-means++ (scikit-learn's variant) followed by ``local_search``
        swap steps, k distinct random rows, the given centroids (then only one run is
        made; see ``n_init``), or, as in scikit-learn, ``init(X, n_clusters,
        random_state)`` returning them for each run (``X`` the float32 matrix,
        ``random_state`` a ``numpy.random.RandomState`` seeded from ``random_state``).
    n_init : int or "auto", default "auto"
        Runs from independent seedings; the run with the lowest objective wins (the first
        on ties). ``"auto"``: 10 for ``"random"`` and a callable ``init`` (scikit-learn's
        rule), 1 for given centroids, and for k-means++ one run, except that
        ``algorithm="auto"`` makes two when a run is cheap but not a millisecond one
        (2**22 <= n_train * n_features * n_clusters <= 2**27, e.g. 20 000 x 384 rows at
        k = 10; the two run side by side on the thread pool). With explicit centroids a
        value > 1 is reduced to 1 with a ``RuntimeWarning``. On millisecond fits, where one
        run is kept for speed, a few runs buy the best minimum cheaply: on scikit-learn's
        digits (1797 x 64), without split-merge moves (``split_merge=0``), the share of seeds
        0-99 within 0.5% of the benchmark's best row (``bench/results/full.md``; 833.41 at
        k = 5) goes from 43% with one run to 68% with 2, 84% with 4 and 96% with 6 at k = 5
        (k = 10: 83%, 97%, 100% with 1, 2, 4; k = 20: 47%, 70%, 89%), for about 0.5-0.6 ms
        per extra run (2 threads, in-process: k = 5 1.0, 1.5, 2.7 and 4.0 ms for 1, 2, 4 and
        6 runs; ``bench/restarts.py``). The moves ``auto`` makes on such fits
        (``split_merge``) take one run to 54% at k = 5 and 79% at k = 20, two runs to 70%
        and 86%.
    max_iter : int, default 300
        Maximum iterations per run.
    tol : float, default 1e-4
        Stop when the relative objective decrease is <= tol (a run also stops when no label
        changes). ``tol=0`` runs until a fixed point or ``max_iter``.
    random_state : int, None, numpy RandomState or Generator, default 0
        Seed of every random choice, in ``[0, 2**64)``. ``None`` means ``0``: vorn is always
        deterministic (unlike scikit-learn, where None draws fresh entropy). A NumPy
        ``RandomState`` or ``Generator`` gives one seed drawn from it at each ``fit``
        (advancing it, as in scikit-learn).
    n_threads : int or None, default None
        Worker threads for fit/predict/transform; None uses all cores. Results are
        bit-identical for every thread count.
    verbose : bool or int, default False
        Log progress (phases; objective and moved rows per iteration; the step count of a
        seeding loop that runs longer than a second, once a second) at INFO on the
        ``logging`` logger ``"vorn"``. If logging is not configured, a stderr handler is
        attached to that logger.
    sample_size : int or None, default None
        Train on at most this many rows drawn uniformly (labels are still computed for all
        rows), but never on fewer than ``n_clusters``: a smaller value trains on
        ``n_clusters`` rows. None: all rows, except the automatic sample of
        ``algorithm="auto"``.
    max_points_per_centroid : int or None, default None
        FAISS-style cap: train on at most ``n_clusters * max_points_per_centroid`` rows.
    init_sample : int or None, default None
        Rows k-means++ seeds from (a uniform sample of the training rows). ``None`` means
        automatic: ``min(n_train, max(16 * n_clusters, 4096))``. Pass a number >= the row
        count to seed from every row (scikit-learn's behaviour).
    local_search : int or None, default None
        Swap steps of local search after k-means++ (Lattanzi & Sohler 2019): each step draws
        ``n_local_trials`` rows with probability ∝ D² and swaps in the one that lowers the
        seeding cost most. ``None`` means automatic: ``min(n_clusters, 256)`` steps (more
        cost O(k²) and gained nothing measurable past k = 256); ``0`` is plain greedy k-means++
        (scikit-learn's seeding). Ignored unless ``init='k-means++'``.
    split_merge : int or None, default None
        Most split–merge moves refining the best run (under cosine, on the unit rows): each
        splits the cluster of largest SSE in two, merges the pair of other clusters that costs least, relaxes the
        three centres on their rows, and keeps the move when their SSE falls; Lloyd then
        reruns from the moved centres, and its result replaces the run when its inertia is
        lower; a run stopped by ``max_iter`` is not refined. It repairs what no single-row
        move can (two centres sharing one natural group while one straddles two). ``None``
        means automatic: with
        ``algorithm="auto"``, l2 and a drawn seeding, ``n_clusters`` moves at most when
        n_train·n_features·n_clusters <= 2**24 (passes of a few milliseconds), else none.
        On digits (1797 x 64, seeds 0-99) the mean MSE went from 841.09 to 837.88 at k = 5
        and from 527.25 to 524.32 at k = 20 (two runs instead: 837.01, 525.35), for 0.4-0.6
        ms more per fit (median; about 1 ms when a move is kept). Its working memory
        is at most n_train * (48 + 4 * n_features) bytes and must stay within 64 MiB
        (automatic: skipped beyond; set: ``ValueError``). ``0`` disables. Not automatic under
        cosine, where it bought less (digits k = 5-40, seeds 0-39: mean cosine +0.02% to
        +0.05% for 0.4-0.6 ms; 4000 rows of 20 Newsgroups, k = 10: seeds within 0.5% of the
        best 70% -> 88%, mean +0.1%, for 19 -> 24 ms).

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features), float32
        Centroids (unit norm for cosine).
    labels_ : ndarray of shape (n_samples,), int32
        Label of every training row (its nearest centroid in ``cluster_centers_``).
    inertia_ : float
        Sum of squared distances of the rows to their centroid (cosine: sum of
        ``||x/||x|| - c||^2 = 2 (1 - cos)``).
    n_iter_ : int
        Iterations of the winning run (after kept split–merge moves, of the Lloyd rerun
        from the moved centres).
    n_features_in_ : int
        Number of features seen by ``fit``.
    algorithm_ : str
        Backend that ran (``"lloyd"`` or ``"hamerly"``, never ``"auto"``).
    iteration_stats_ : list of dict
        One dict per iteration of every run with keys ``run``, ``iter``, ``objective``,
        ``moved``, ``empty_splits``, ``rows_scanned``, ``assign_secs``, ``update_secs``.
        Built from the fitted model on first access, then kept.
    stop_reason_ : str
        Why the winning run stopped: ``"converged"`` (no label changed), ``"tolerance"`` or
        ``"max_iter"``.

    Notes
    -----
    Input: a C-contiguous float32 array (or ``np.memmap``) is used without copying; any
    other real dtype or layout is converted with ``np.ascontiguousarray(X,
    dtype=np.float32)``. complex/object/str input raises ``TypeError``, non-2-D input,
    NaN/Inf, empty input and ``n_clusters > n_samples`` raise ``ValueError``.

    fit, predict, transform and score release the GIL and can be interrupted with Ctrl-C
    (``KeyboardInterrupt`` within ~0.1 s). If ``fit`` fails or is interrupted, the estimator
    is left unfitted.
    """

    _estimator_type = "clusterer"

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        metric: str = "l2",
        algorithm: str = "auto",
        init: Union[str, Any] = "k-means++",
        n_init: Union[int, str] = "auto",
        max_iter: int = 300,
        tol: float = 1e-4,
        random_state: Optional[int] = 0,
        n_threads: Optional[int] = None,
        verbose: Union[bool, int] = False,
        sample_size: Optional[int] = None,
        max_points_per_centroid: Optional[int] = None,
        init_sample: Optional[int] = None,
        local_search: Optional[int] = None,
        split_merge: Optional[int] = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.metric = metric
        self.algorithm = algorithm
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.n_threads = n_threads
        self.verbose = verbose
        self.sample_size = sample_size
        self.max_points_per_centroid = max_points_per_centroid
        self.init_sample = init_sample
        self.local_search = local_search
        self.split_merge = split_merge

    # ------------------------------------------------------------------ fitted state

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails.
        if name == "iteration_stats_":
            model = self.__dict__.get("_model")
            if model is not None:
                # Built on first access (a dict per iteration of every run: ~1 KB each, so
                # n_init=10**5 fits would otherwise hold ~1 GB nobody asked for), then kept.
                stats: List[Dict[str, Any]] = model.iteration_stats
                self.__dict__[name] = stats
                return stats
        if name in _FITTED:
            raise not_fitted(
                f"This {type(self).__name__} instance is not fitted yet: call fit(X) before "
                f"using {name!r}."
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __sklearn_is_fitted__(self) -> bool:
        return self.__dict__.get("_model") is not None

    def __sklearn_tags__(self) -> Any:
        """Estimator tags for scikit-learn >= 1.6 (which requires them). Only scikit-learn
        calls this, so importing it here adds no dependency."""
        from sklearn.utils import (  # type: ignore[import-not-found, unused-ignore]
            Tags,
            TargetTags,
            TransformerTags,
        )

        return Tags(
            estimator_type="clusterer",
            target_tags=TargetTags(required=False),
            transformer_tags=TransformerTags(preserves_dtype=["float32"]),
        )

    def _reset(self) -> None:
        for name in _FITTED + ("feature_names_in_",):
            self.__dict__.pop(name, None)
        self.__dict__.pop("_model", None)

    def _set_fitted(self, model: "_vorn.Model") -> None:
        self._model = model
        self.cluster_centers_ = model.centroids
        # Labels are < n_clusters < 2**31: reinterpret uint32 as int32 without a copy.
        self.labels_ = model.labels.view(np.int32)
        self.inertia_ = float(model.inertia)
        self.n_iter_ = int(model.n_iter)
        self.n_features_in_ = int(model.d)
        self.algorithm_ = model.algorithm
        self.stop_reason_ = model.stop_reason

    def _fitted_model(self, what: str) -> "_vorn.Model":
        model: Optional[_vorn.Model] = self.__dict__.get("_model")
        if model is None:
            raise not_fitted(
                f"This {type(self).__name__} instance is not fitted yet: call fit(X) before "
                f"{what}."
            )
        return model

    # ------------------------------------------------------------------ validation

    def _fit_args(self, d: int) -> Dict[str, Any]:
        """Validated keyword arguments for ``_vorn.fit`` (d = features of X)."""
        k = check_int("n_clusters", self.n_clusters, minimum=1, maximum=_MAX_K)
        metric = check_str("metric", self.metric)
        algorithm = check_str("algorithm", self.algorithm)
        init = self.init
        init_centroids = None
        if isinstance(init, str):
            name = init.lower()
            if name in ("k-means++", "kmeans++"):
                init_name = "k-means++"
            elif name == "random":
                init_name = "random"
            else:
                raise InvalidParameterError(
                    f"init must be 'k-means++', 'random', a callable or an array of shape "
                    f"(n_clusters, n_features), got {init!r}"
                )
        elif callable(init):
            init_name = "callable"  # called per run by `fit`
        else:
            init_centroids = _given_centroids(init, k, d, "init")
            init_name = "given"
        if isinstance(self.n_init, str) and self.n_init == "auto":
            # None: the core's automatic rule (`KMeansParams::runs`); scikit-learn's counts
            # for random and callable seedings.
            n_init = {"random": 10, "callable": 10, "given": 1}.get(init_name)
        else:
            n_init = check_int("n_init", self.n_init, minimum=1)
            if init_name == "given" and n_init != 1:
                warnings.warn(
                    f"explicit initial centroids were passed: performing one run instead of "
                    f"n_init={n_init}",
                    RuntimeWarning,
                    stacklevel=3,
                )
                n_init = 1
        return dict(
            k=k,
            metric=metric,
            algorithm=algorithm,
            init=init_name,
            init_centroids=init_centroids,
            n_init=n_init,
            max_iter=check_int("max_iter", self.max_iter, minimum=1),
            tol=check_real("tol", self.tol),
            seed=random_state_seed("random_state", self.random_state),
            n_threads=check_n_threads(self.n_threads),
            sample_size=check_optional_int(
                "sample_size", self.sample_size, none_means="all rows"
            ),
            max_points_per_centroid=check_optional_int(
                "max_points_per_centroid", self.max_points_per_centroid, none_means="no cap"
            ),
            init_sample=check_optional_int(
                "init_sample", self.init_sample, none_means="automatic"
            ),
            local_search=check_optional_int(
                "local_search", self.local_search, none_means="automatic", minimum=0
            ),
            split_merge=check_optional_int(
                "split_merge", self.split_merge, none_means="automatic", minimum=0
            ),
        )

    # ------------------------------------------------------------------ estimator API

    def fit(self, X: Any, y: Any = None) -> "KMeans":
        """Computes the clustering of ``X`` (n_samples x n_features). Returns ``self``.

        ``y`` is ignored (scikit-learn convention). Sample weights are not supported (there
        is no ``sample_weight`` argument; repeat rows to weight them).
        """
        self._reset()
        names = feature_names(X)
        x = as_matrix(X, "X")
        args = self._fit_args(x.shape[1])
        progress = None
        if self.verbose:
            progress = _progress.reporter(type(self).__name__)
            _progress.logger.info(
                "%s: fitting %r on %d x %d", type(self).__name__, self, *x.shape
            )
        t0 = time.perf_counter()
        if args["init"] == "callable":
            model = self._fit_from_callable(x, args, progress)
        else:
            model = _vorn.fit(x, progress=progress, **args)
        self._set_fitted(model)
        if names is not None:
            self.feature_names_in_ = names
        self._warn_if_fewer_clusters(args["k"])
        if self.verbose:
            _progress.logger.info(
                "%s: done in %.3fs: algorithm %s, %d iterations (%s), inertia %.6g",
                type(self).__name__,
                time.perf_counter() - t0,
                self.algorithm_,
                self.n_iter_,
                self.stop_reason_,
                self.inertia_,
            )
        return self

    def _fit_from_callable(self, x: np.ndarray, args: Dict[str, Any], progress: Any) -> Any:
        """scikit-learn's callable ``init``: ``init(X, n_clusters, random_state)`` returns
        the centroids of each of the ``n_init`` runs (X is the float32 matrix vorn fits,
        random_state one ``numpy.random.RandomState`` seeded from ``random_state`` and
        shared by the runs); the run with the lowest objective wins, the first on ties.
        ``iteration_stats_`` then holds the winning run's iterations."""
        k, d = args["k"], x.shape[1]
        rs = np.random.RandomState(np.random.MT19937(np.random.SeedSequence(args["seed"])))
        best = None
        for _ in range(args["n_init"]):
            c = _given_centroids(self.init(x, k, rs), k, d, "the centroids init returned")
            run = dict(args, init="given", init_centroids=c, n_init=1)
            model = _vorn.fit(x, progress=progress, **run)
            if best is None or model.inertia < best.inertia:
                best = model
        return best

    def _warn_if_fewer_clusters(self, k: int) -> None:
        """ConvergenceWarning when some centroids own no row in the final labels: with fewer
        than k distinct rows the extra centroids can only duplicate others."""
        used = int(np.count_nonzero(np.bincount(self.labels_, minlength=k)))
        if used < k:
            warnings.warn(
                f"only {used} of the {k} clusters have members in the final labels: X probably "
                f"has fewer than n_clusters distinct rows (duplicate points), and the centroids "
                f"of the empty clusters duplicate others; ask for at most {used} "
                f"cluster{'' if used == 1 else 's'}",
                convergence_warning(),
                stacklevel=3,
            )

    def _input(self, X: Any, model: "_vorn.Model") -> np.ndarray:
        """``X`` to label with the fitted model: its column names checked against
        ``feature_names_in_`` (as scikit-learn does: different names raise ``ValueError``,
        names on one side only warn), converted, and its width checked."""
        self._check_feature_names(X)
        x = as_matrix(X, "X")
        if x.shape[1] != model.d:
            raise ValueError(
                f"X has {x.shape[1]} features, but {type(self).__name__} is expecting "
                f"{model.d} features as input (the number of features seen by fit)"
            )
        return x

    def _check_feature_names(self, X: Any) -> None:
        fitted = self.__dict__.get("feature_names_in_")
        names = feature_names(X)
        me = type(self).__name__
        if fitted is None and names is None:
            return
        if names is None or fitted is None:
            warnings.warn(
                f"X does not have valid feature names, but {me} was fitted with feature names"
                if names is None
                else f"X has feature names, but {me} was fitted without feature names",
                UserWarning,
                stacklevel=4,  # the caller of predict / transform / score
            )
            return
        if _same_names(fitted, names):
            return
        unseen = sorted(set(names) - set(fitted))
        missing = sorted(set(fitted) - set(names))
        msg = "The feature names should match those that were passed during fit.\n"
        if unseen:
            msg += "Feature names unseen at fit time:\n" + "".join(f"- {n}\n" for n in unseen)
        if missing:
            msg += "Feature names seen at fit time, yet now missing:\n" + "".join(
                f"- {n}\n" for n in missing
            )
        if not unseen and not missing:
            msg += "Feature names must be in the same order as they were in fit.\n"
        raise ValueError(msg)

    def predict(self, X: Any) -> np.ndarray:
        """Index (int32) of the nearest centroid of every row of ``X``."""
        model = self._fitted_model("predict")
        x = self._input(X, model)
        return model.predict(x, n_threads=check_n_threads(self.n_threads)).view(np.int32)

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        """``fit(X).labels_``."""
        return self.fit(X).labels_

    def transform(self, X: Any) -> np.ndarray:
        """Distance (float32, n_samples x n_clusters) of every row to every centroid:
        Euclidean distance for l2, cosine distance ``1 - cos`` for cosine. A result too
        large to allocate raises ``MemoryError`` (transform the rows in batches)."""
        model = self._fitted_model("transform")
        x = self._input(X, model)
        out = model.transform(x, n_threads=check_n_threads(self.n_threads))
        return self._wrap_output(out, X)

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        """``fit(X).transform(X)``."""
        return self.fit(X).transform(X)

    # ------------------------------------------------------------------ output container

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the :meth:`transform` columns, ``kmeans0`` to ``kmeans{k-1}`` (the names
        scikit-learn gives a clusterer's distance columns). ``input_features``, if given,
        must name the ``n_features_in_`` input columns (``feature_names_in_`` when the fit
        saw column names)."""
        model = self._fitted_model("get_feature_names_out")
        if input_features is not None:
            given = np.asarray(input_features, dtype=object)
            fitted = self.__dict__.get("feature_names_in_")
            if fitted is not None and not _same_names(given, fitted):
                raise ValueError("input_features is not equal to feature_names_in_")
            if len(given) != model.d:
                raise ValueError(
                    f"input_features should have length equal to number of features "
                    f"({model.d}), got {len(given)}"
                )
        prefix = type(self).__name__.lower()
        return np.asarray([f"{prefix}{j}" for j in range(model.k)], dtype=object)

    def set_output(self, *, transform: Optional[str] = None) -> "KMeans":
        """The container :meth:`transform` and :meth:`fit_transform` return, as scikit-learn's
        ``set_output``: ``"default"`` (the float32 ndarray), ``"pandas"`` or ``"polars"`` (a
        data frame with the :meth:`get_feature_names_out` columns; pandas keeps the index of
        a frame passed in); ``None`` leaves the setting as it is. Unset, scikit-learn's
        global ``transform_output`` applies when scikit-learn is imported. Returns ``self``.
        """
        if transform is None:
            return self
        if transform not in _OUTPUTS:
            raise ValueError(
                f"transform must be one of {', '.join(map(repr, _OUTPUTS))} or None, "
                f"got {transform!r}"
            )
        # The attribute scikit-learn's own estimators keep it in (its clone copies it).
        self._sklearn_output_config = {"transform": transform}
        return self

    def _wrap_output(self, out: np.ndarray, X: Any) -> Any:
        """``out`` in the container chosen by :meth:`set_output`."""
        how = self.__dict__.get("_sklearn_output_config", {}).get("transform")
        if how is None:
            sk = sys.modules.get("sklearn")
            get_config = getattr(sk, "get_config", None)
            how = get_config().get("transform_output", "default") if get_config else "default"
        if how == "default":
            return out
        columns = list(self.get_feature_names_out())
        try:
            if how == "pandas":
                import pandas as pd

                index = X.index if isinstance(X, pd.DataFrame) else None
                return pd.DataFrame(out, columns=columns, index=index, copy=False)
            import polars as pl

            return pl.DataFrame(out, schema=columns, orient="row")
        except ImportError as e:
            raise ImportError(
                f"set_output(transform={how!r}) needs {how}, which is not installed: "
                f"pip install {how}, or set_output(transform='default')"
            ) from e

    def score(self, X: Any, y: Any = None) -> float:
        """Opposite of the objective of ``X`` under the fitted centroids (higher is better),
        like scikit-learn's ``KMeans.score``."""
        model = self._fitted_model("score")
        return -float(model.inertia_of(self._input(X, model)))

    # ------------------------------------------------------------------ persistence

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Writes the fitted model to ``path`` in vorn's model format (versioned,
        checksummed, written to a temporary file and renamed: atomic).

        The file holds centroids, metric, backend, labels, inertia and iteration stats;
        hyper-parameters other than n_clusters/metric/algorithm are not stored (pickle the
        estimator to keep them).
        """
        self._fitted_model("save").save(os.fspath(path))

    @classmethod
    def load(cls, path: Union[str, "os.PathLike[str]"]) -> "KMeans":
        """Reads a model file written by :meth:`save` as a fitted estimator.

        Missing or unreadable files raise ``OSError``; a file that is not a valid vorn model
        (wrong type, truncated, corrupt) raises ``ValueError``.
        """
        model = _vorn.Model.load(os.fspath(path))
        est = cls(n_clusters=int(model.k), metric=model.metric, algorithm=model.algorithm)
        est._set_fitted(model)
        return est

    def __getstate__(self) -> Dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in _FITTED and k != "_model"}
        model = self.__dict__.get("_model")
        state["_vorn_state_version"] = _STATE_VERSION
        state["_vorn_model"] = None if model is None else model.to_bytes()
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        state = dict(state)
        version = state.pop("_vorn_state_version", None)
        if version != _STATE_VERSION:
            raise ValueError(
                f"cannot unpickle a vorn.KMeans of state version {version!r} (this vorn "
                f"reads version {_STATE_VERSION})"
            )
        blob = state.pop("_vorn_model", None)
        self.__dict__.update(state)
        if blob is not None:
            self._set_fitted(_vorn.Model.from_bytes(blob, "<pickle>"))


def load(path: Union[str, "os.PathLike[str]"]) -> KMeans:
    """Reads a model file written by ``KMeans.save`` as a fitted :class:`KMeans`."""
    return KMeans.load(path)


def iteration_stats_of_best_run(stats: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The iterations of the winning run (lowest final objective; ties: first run)."""
    runs: Dict[int, List[Dict[str, Any]]] = {}
    for s in stats:
        runs.setdefault(s["run"], []).append(s)
    best = None
    for r in sorted(runs):
        if best is None or runs[r][-1]["objective"] < runs[best][-1]["objective"]:
            best = r
    return [] if best is None else runs[best]


def _given_centroids(init: Any, k: int, d: int, what: str) -> np.ndarray:
    """Caller-given centroids as a (k, d) float32 matrix, else InvalidParameterError."""
    try:
        c = as_matrix(init, "init")
    except (TypeError, ValueError) as e:
        raise InvalidParameterError(f"{what}: {e}" if what != "init" else str(e)) from None
    if c.shape != (k, d):
        raise InvalidParameterError(
            f"{what} has shape {c.shape} but must be (n_clusters, n_features) = ({k}, {d})"
        )
    return c


def _same_names(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two name arrays are equal, element by element and in order."""
    return len(a) == len(b) and bool(np.all(a == b))
