"""Input conversion and parameter checks shared by the estimators.

Arrays
------
vorn computes in float32 on row-major (C-contiguous) ``n x d`` matrices.

* A C-contiguous, aligned, native-endian ``float32`` ndarray (including ``np.memmap`` and
  read-only arrays) is passed to Rust **without copying**: the core reads its buffer in place.
* Every other real input (float64, float16, integer and bool dtypes, Fortran-ordered,
  strided or sliced arrays, lists, pandas frames) is converted once with
  ``np.ascontiguousarray(x, dtype=np.float32)``. Pass float32 C-contiguous data to avoid
  that copy (and the float64 -> float32 rounding).
* object arrays (mixed pandas frames, say) are converted through float64 when every element
  is a real number or None (which becomes NaN, rejected below), as scikit-learn does; any
  other element raises ``TypeError``.
* complex, string, datetime and structured dtypes raise ``TypeError`` (complex: an error that
  is also a ``ValueError``, which scikit-learn raises for it); anything that is not 2-D
  raises ``ValueError``. NaN / Inf values, empty inputs and ``d = 0`` are rejected
  by the core with ``ValueError``.
* Conversion never changes data silently beyond rounding: a finite value beyond float32's
  range (which would become inf), nonzero float64 data that would become all zeros, and a
  masked array with masked entries (whose underlying data would be read) raise
  ``ValueError`` naming the value or what to do.
"""

from __future__ import annotations

import math
import numbers
import os
import sys
from typing import Any, Optional

import numpy as np

from . import _vorn

_U64 = 2**64
_F32 = np.dtype(np.float32)  # numpy's one native float32 descriptor


class InvalidParameterError(ValueError, TypeError):
    """A hyper-parameter has the wrong type or an out-of-range value.

    Subclasses both ``ValueError`` and ``TypeError`` (as scikit-learn's error of the same
    name does), so ``except ValueError`` and ``except TypeError`` both catch it.
    """


class NotFittedError(ValueError, AttributeError):
    """The estimator is used (predict, transform, a fitted attribute, ...) before ``fit``.

    Subclasses ``ValueError`` and ``AttributeError`` like scikit-learn's ``NotFittedError``,
    so ``hasattr(est, "cluster_centers_")`` is ``False`` on an unfitted estimator.
    """


class ConvergenceWarning(UserWarning):
    """The fit returned, but not the clustering asked for: fewer distinct clusters than
    ``n_clusters`` (duplicate rows), as scikit-learn's warning of the same name."""


def as_matrix(x: Any, name: str = "X") -> np.ndarray:
    """``x`` as a C-contiguous float32 2-D array, borrowing it when it already is one."""
    # What vorn reads as it is (a plain ndarray of native float32, 2-D, non-empty, C-order,
    # aligned) returns before the checks below, which would all pass: they cost ~0.7 µs
    # of a ~4 µs one-row predict. Anything else (subclasses, other dtype objects) takes
    # the full path, which returns the same array for such input.
    if (
        type(x) is np.ndarray
        and x.dtype is _F32
        and x.ndim == 2
        and x.size
        and x.flags.c_contiguous
        and x.flags.aligned
    ):
        return x
    if not isinstance(x, np.ndarray) and _is_sparse(x):
        raise TypeError(
            f"{name} is a sparse matrix ({type(x).__name__}); sparse input is not supported: "
            f"pass a dense array ({name}.toarray())"
        )
    if isinstance(x, (str, bytes, os.PathLike)):
        raise TypeError(
            f"{name} is a {type(x).__name__} ({x!r:.80}), not an array of numbers: load the "
            f"data first (np.load(path, mmap_mode='r') for a .npy file), or pass the .npy "
            f"path to vorn.Clusterer.fit, which reads it"
        )
    # numpy loads `numpy.ma` lazily (~10 ms): no masked array exists unless it was imported.
    ma = sys.modules.get("numpy.ma")
    if ma is not None and isinstance(x, ma.MaskedArray):
        masked = int(ma.count_masked(x))
        if masked:
            raise ValueError(
                f"{name} is a masked array with {masked} masked value(s), which vorn would "
                f"read as their underlying data: drop the rows that hold them "
                f"({name}.data[~np.ma.getmaskarray({name}).any(axis=1)]) or fill them "
                f"({name}.filled(value))"
            )
        x = ma.getdata(x)
    arr = x if isinstance(x, np.ndarray) else np.asarray(x)
    dt = arr.dtype
    if dt.kind == "O":
        arr = _object_to_float(arr, name)
        dt = arr.dtype
    if dt.kind == "c":
        raise _ComplexDataError(
            f"Complex data not supported: {name} has complex dtype {dt}; vorn clusters real "
            f"vectors: pass the real part "
            f"({name}.real), the magnitude (np.abs({name})) or real and imaginary parts as "
            f"separate features (np.hstack([{name}.real, {name}.imag]))"
        )
    if dt.kind not in "fiub":
        raise TypeError(
            f"{name} has dtype {dt}, which is not a real number type: pass a 2-D array of "
            f"numbers of shape (n_samples, n_features), ideally float32"
        )
    # Centroid matrices (``init``, ``centroids``) are described by their own row count.
    rows = "n_clusters" if name in ("init", "centroids") else "n_samples"
    if arr.ndim != 2:
        hint = (
            f". Reshape your data: {name}.reshape(-1, 1) for a single feature, "
            f"{name}.reshape(1, -1) for a single {'sample' if rows == 'n_samples' else 'centroid'}"
            if arr.ndim == 1
            else ""
        )
        raise ValueError(
            f"{name} must be a 2-D array of shape ({rows}, n_features), got a "
            f"{arr.ndim}-D array of shape {arr.shape}{hint}"
        )
    n, d = arr.shape
    if n == 0 or d == 0:
        what = ("sample(s)" if rows == "n_samples" else "centroid(s)") if n == 0 else "feature(s)"
        raise ValueError(
            f"{name} has 0 {what} (shape={arr.shape}) while a minimum of 1 is required: "
            f"pass at least one row of at least one feature"
        )
    if not (
        dt == np.float32
        and dt.isnative
        and arr.flags.c_contiguous
        and arr.flags.aligned
    ):
        src = arr
        with np.errstate(over="raise"):
            try:
                arr = np.ascontiguousarray(src, dtype=np.float32)
            except FloatingPointError:
                _raise_out_of_range(src, name)
        # ascontiguousarray returns a C-order float32 array that is not 4-byte aligned (a
        # view at an odd offset of a byte buffer) as it is; the Rust side reads f32 slices,
        # so such an array is copied into a fresh, aligned one.
        if not arr.flags.aligned:
            arr = arr.copy()
        # The prefix settles it for almost all data without a second full pass.
        if dt.kind == "f" and dt.itemsize > 4 and not _any_nonzero(arr) and src.any():
            big = float(np.nanmax(np.abs(src)))
            raise ValueError(
                f"{name}'s values are not all zero, but all are below float32's smallest "
                f"magnitude (~1.4e-45; the largest is {big:.3e}) and become 0 in the float32 "
                f"vorn computes in: rescale the data (e.g. divide by its max absolute value)"
            )
    return arr


def feature_names(x: Any) -> Optional[np.ndarray]:
    """The column names of a data frame ``x`` (pandas, polars, ...) as an object array when
    all of them are strings, else None; names of mixed types raise ``TypeError``, as in
    scikit-learn (whose ``feature_names_in_`` this feeds)."""
    cols = getattr(x, "columns", None)
    if cols is None or isinstance(x, np.ndarray):
        return None
    names = np.asarray(list(cols), dtype=object)
    is_str = [isinstance(c, str) for c in names]
    if names.size and all(is_str):
        return names
    if any(is_str):
        kinds = sorted({type(c).__name__ for c in names})
        raise TypeError(
            f"Feature names are only supported if all input features have string names, but "
            f"your input has {kinds} as feature name / column name types. If you want feature "
            f"names to be stored and validated, you must convert them all to strings, by "
            f"using X.columns = X.columns.astype(str) for example. Otherwise you can remove "
            f"feature / column names from your input data, or convert them all to a "
            f"non-string data type."
        )
    return None


class _ComplexDataError(TypeError, ValueError):
    """Complex input: a ``TypeError`` (a dtype vorn does not cluster) that is also the
    ``ValueError`` scikit-learn raises for complex data, so code written for either catches
    it."""


def _object_to_float(arr: np.ndarray, name: str) -> np.ndarray:
    """An object array of real numbers as float64 (scikit-learn converts them too; None
    becomes NaN); an element that is not one (a string, a dict, a complex number) raises
    TypeError carrying numpy's reason."""
    try:
        return np.asarray(arr, dtype=np.float64)
    except OverflowError as e:  # a Python int beyond float64
        raise ValueError(
            f"{name} holds a number beyond the range of float32 (+-3.4e38), in which vorn "
            f"computes ({e}): rescale the data (e.g. divide by its max absolute value)"
        ) from e
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"{name} has dtype object and holds an element that is not a real number ({e}): "
            f"pass a 2-D array of numbers of shape (n_samples, n_features), ideally float32"
        ) from e


def not_fitted(message: str) -> "NotFittedError":
    """A :class:`NotFittedError` carrying ``message``; when scikit-learn is already imported,
    one that is also scikit-learn's ``NotFittedError`` (see :func:`_sklearn_flavour`)."""
    return _sklearn_flavour(NotFittedError, "NotFittedError")(message)


def convergence_warning() -> type:
    """The :class:`ConvergenceWarning` category to warn with: also scikit-learn's when it is
    already imported (see :func:`_sklearn_flavour`), so its warning filters apply."""
    return _sklearn_flavour(ConvergenceWarning, "ConvergenceWarning")


_FLAVOURS: dict = {}


def _sklearn_flavour(cls: type, sk_name: str) -> type:
    """``cls``, or, when ``sklearn.exceptions`` is already imported, a subclass of ``cls`` and
    of ``sklearn.exceptions.<sk_name>`` (made once), so ``except`` clauses, ``pytest.raises``
    and warning filters written against scikit-learn's class match vorn's. vorn never
    imports scikit-learn for this (it costs ~0.7 s): code that names scikit-learn's class
    has imported it already."""
    sk = sys.modules.get("sklearn.exceptions")
    sk_cls = getattr(sk, sk_name, None) if sk is not None else None
    if not isinstance(sk_cls, type) or issubclass(cls, sk_cls):
        return cls
    key = (cls, sk_cls)
    if key not in _FLAVOURS:
        _FLAVOURS[key] = type(
            cls.__name__,
            (cls, sk_cls),
            # Pickled (joblib sends a worker's errors back) as a rebuild in the receiving
            # process, where the class made here does not exist under its name.
            {"__module__": cls.__module__, "__reduce__": _reduce_flavoured(cls, sk_name)},
        )
    return _FLAVOURS[key]


def _reduce_flavoured(cls: type, sk_name: str) -> Any:
    def __reduce__(self: BaseException) -> Any:
        return (_rebuild_flavoured, (cls, sk_name, self.args))

    return __reduce__


def _rebuild_flavoured(cls: type, sk_name: str, args: tuple) -> BaseException:
    return _sklearn_flavour(cls, sk_name)(*args)


def _any_nonzero(arr: np.ndarray) -> bool:
    flat = arr.reshape(-1)
    return bool(flat[:4096].any() or flat.any())


def _raise_out_of_range(src: np.ndarray, name: str) -> None:
    """Raises the ValueError for a value finite in ``src`` but beyond float32's range."""
    f32max = float(np.finfo(np.float32).max)
    with np.errstate(invalid="ignore"):
        bad = np.isfinite(src) & (np.abs(src) > f32max)
    if not bad.any():  # overflow is the only error the conversion raises; stay defensive
        raise ValueError(f"{name} cannot be converted to float32 without overflow")
    r, c = (int(v) for v in np.argwhere(bad)[0])
    raise ValueError(
        f"{name}[{r}, {c}] = {src[r, c]:.6g} is beyond the range of float32 (+-3.4e38), in "
        f"which vorn computes: rescale the data (e.g. divide by its max absolute value)"
    )


def _is_sparse(x: Any) -> bool:
    """scipy.sparse matrices/arrays (detected without importing scipy)."""
    return type(x).__module__.startswith("scipy.sparse") or (
        hasattr(x, "tocsr") and hasattr(x, "nnz")
    )


def _borrowed_ptr(x: Any) -> int:
    """Test hook: address of the buffer Rust borrows for ``x`` after the public conversion.

    Equal to ``x.ctypes.data`` exactly when ``x`` is used without a copy.
    """
    return _vorn._borrowed_ptr(as_matrix(x))


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def check_int(
    name: str,
    value: Any,
    *,
    minimum: int = 1,
    maximum: int = 2**63 - 1,
    none_means: str = "",
) -> int:
    """``value`` as an int in ``[minimum, maximum]`` (bool and float are rejected)."""
    kind = f"an int >= {minimum}" + (f" or None ({none_means})" if none_means else "")
    if not _is_int(value):
        raise InvalidParameterError(
            f"{name} must be {kind}, got {type(value).__name__} {value!r}"
        )
    v = int(value)
    if v < minimum:
        raise InvalidParameterError(f"{name} must be {kind}, got {v}")
    if v > maximum:
        raise InvalidParameterError(f"{name} must be {kind} and <= {maximum}, got {v}")
    return v


def check_optional_int(
    name: str, value: Any, *, none_means: str, minimum: int = 1, maximum: int = 2**63 - 1
) -> Optional[int]:
    """Like :func:`check_int`, but None is allowed (and means ``none_means``)."""
    if value is None:
        return None
    return check_int(name, value, minimum=minimum, maximum=maximum, none_means=none_means)


def check_real(name: str, value: Any, *, minimum: float = 0.0) -> float:
    """``value`` as a finite float >= ``minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise InvalidParameterError(
            f"{name} must be a finite number >= {minimum}, got {type(value).__name__} {value!r}"
        )
    v = float(value)
    if not (math.isfinite(v) and v >= minimum):
        raise InvalidParameterError(f"{name} must be a finite number >= {minimum}, got {v}")
    return v


def check_str(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidParameterError(
            f"{name} must be a string, got {type(value).__name__} {value!r}"
        )
    return value


def check_seed(name: str, value: Any) -> int:
    """An int seed in [0, 2**64); None means 0 (vorn is always deterministic)."""
    if value is None:
        return 0
    if not _is_int(value):
        raise InvalidParameterError(
            f"{name} must be an int in [0, 2**64) or None (= 0), got "
            f"{type(value).__name__} {value!r}: pass an int seed"
        )
    v = int(value)
    if not 0 <= v < _U64:
        raise InvalidParameterError(f"{name} must be in [0, 2**64), got {v}")
    return v


def random_state_seed(name: str, value: Any) -> int:
    """:func:`check_seed`, also accepting scikit-learn's other ``random_state`` values: a
    ``numpy.random.RandomState`` or ``Generator`` gives one seed drawn from it (advancing
    it, as scikit-learn's estimators do), so the same generator state gives the same fit.

    ``numpy.random`` is only looked at when something imported it already: without it no
    such generator can exist, and touching ``np.random`` would import it (numpy loads it
    lazily), which cost ~13 ms and ~5 MiB of resident libraries (libcrypto through
    ``secrets``) on the first fit of every process that seeds with an int."""
    rnd = sys.modules.get("numpy.random")
    if rnd is not None:
        if isinstance(value, rnd.RandomState):
            return int(value.randint(0, _U64, dtype=np.uint64))
        if isinstance(value, rnd.Generator):
            return int(value.integers(0, _U64, dtype=np.uint64))
    return check_seed(name, value)


def check_n_threads(value: Any) -> Optional[int]:
    return check_optional_int("n_threads", value, maximum=4096, none_means="all cores")
