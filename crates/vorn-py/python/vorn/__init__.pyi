"""Type stubs of the public ``vorn`` package."""

from os import PathLike
from typing import Any, Callable, Dict, List, Optional, Union

import numpy as np
import numpy.typing as npt

__version__: str
__all__: List[str]

_Path = Union[str, PathLike[str]]
# scikit-learn's callable init: (X, n_clusters, random_state) -> centroids.
_InitFn = Callable[[npt.NDArray[np.float32], int, np.random.RandomState], npt.ArrayLike]

class InvalidParameterError(ValueError, TypeError): ...
class NotFittedError(ValueError, AttributeError): ...
class ConvergenceWarning(UserWarning): ...

class KMeans:
    n_clusters: Any
    metric: Any
    algorithm: Any
    init: Any
    n_init: Any
    max_iter: Any
    tol: Any
    random_state: Any
    n_threads: Any
    verbose: Any
    sample_size: Any
    max_points_per_centroid: Any
    init_sample: Any
    local_search: Any
    split_merge: Any

    cluster_centers_: npt.NDArray[np.float32]
    labels_: npt.NDArray[np.int32]
    inertia_: float
    n_iter_: int
    n_features_in_: int
    algorithm_: str
    iteration_stats_: List[Dict[str, Any]]
    stop_reason_: str
    feature_names_in_: npt.NDArray[np.object_]

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        metric: str = "l2",
        algorithm: str = "auto",
        init: Union[str, npt.ArrayLike, _InitFn] = "k-means++",
        n_init: Union[int, str] = "auto",
        max_iter: int = 300,
        tol: float = 1e-4,
        random_state: Union[int, None, np.random.RandomState, np.random.Generator] = 0,
        n_threads: Optional[int] = None,
        verbose: Union[bool, int] = False,
        sample_size: Optional[int] = None,
        max_points_per_centroid: Optional[int] = None,
        init_sample: Optional[int] = None,
        local_search: Optional[int] = None,
        split_merge: Optional[int] = None,
    ) -> None: ...
    def get_params(self, deep: bool = True) -> Dict[str, Any]: ...
    def set_params(self, **params: Any) -> KMeans: ...
    def fit(self, X: npt.ArrayLike, y: Any = None) -> KMeans: ...
    def predict(self, X: npt.ArrayLike) -> npt.NDArray[np.int32]: ...
    def fit_predict(self, X: npt.ArrayLike, y: Any = None) -> npt.NDArray[np.int32]: ...
    def transform(self, X: npt.ArrayLike) -> Any: ...  # float32 ndarray unless set_output
    def fit_transform(self, X: npt.ArrayLike, y: Any = None) -> Any: ...
    def score(self, X: npt.ArrayLike, y: Any = None) -> float: ...
    def get_feature_names_out(self, input_features: Any = None) -> npt.NDArray[np.object_]: ...
    def set_output(self, *, transform: Optional[str] = None) -> KMeans: ...
    def save(self, path: _Path) -> None: ...
    @classmethod
    def load(cls, path: _Path) -> KMeans: ...
    def __sklearn_is_fitted__(self) -> bool: ...
    def __getstate__(self) -> Dict[str, Any]: ...
    def __setstate__(self, state: Dict[str, Any]) -> None: ...

class Clusterer:
    def __init__(
        self,
        *,
        k: int,
        metric: str = "l2",
        algorithm: str = "auto",
        num_subquantizers: Optional[int] = None,
        codebook_size: int = 256,
        iterations: int = 20,
        seed: int = 0,
        opq_iterations: int = 3,
        verbose: bool = False,
        lookup_table_bytes: int = 67108864,
        init: str = "k-means++",
        nredo: int = 1,
        early_stopping: bool = False,
        training_sample: str = "random",
        n_threads: Optional[int] = None,
    ) -> None: ...
    @staticmethod
    def available_algorithms() -> Dict[str, str]: ...
    @staticmethod
    def available_metrics() -> Dict[str, str]: ...
    def fit(
        self,
        data: Union[npt.ArrayLike, _Path],
        *,
        parquet_column: Optional[str] = None,
        batch_size: int = 65536,
        codes_output_path: Optional[_Path] = None,
        max_ram_bytes: Optional[int] = None,
    ) -> Clusterer: ...
    def fit_transform(self, data: Union[npt.ArrayLike, _Path], **kwargs: Any) -> npt.NDArray[np.uint32]: ...
    def fit_predict(self, data: Union[npt.ArrayLike, _Path], **kwargs: Any) -> npt.NDArray[np.uint32]: ...
    def predict(
        self,
        data: Union[npt.ArrayLike, _Path],
        *,
        parquet_column: Optional[str] = None,
        batch_size: int = 65536,
        codes_output_path: Optional[_Path] = None,
        max_ram_bytes: Optional[int] = None,
    ) -> npt.NDArray[np.uint32]: ...
    def transform(
        self,
        data: Union[npt.ArrayLike, _Path],
        *,
        parquet_column: Optional[str] = None,
        batch_size: int = 65536,
        codes_output_path: Optional[_Path] = None,
        max_ram_bytes: Optional[int] = None,
    ) -> npt.NDArray[np.uint32]: ...
    @property
    def k(self) -> int: ...
    @property
    def metric(self) -> str: ...
    @property
    def algorithm(self) -> str: ...
    @property
    def labels_(self) -> npt.NDArray[np.uint32]: ...
    @property
    def dense_centers_(self) -> npt.NDArray[np.float32]: ...
    @property
    def cluster_centers_(self) -> npt.NDArray[np.float32]: ...
    @property
    def inertia_history_(self) -> npt.NDArray[np.float64]: ...
    @property
    def inertia_(self) -> float: ...
    @property
    def n_iter_(self) -> int: ...
    @property
    def iteration_stats_(self) -> List[Dict[str, Any]]: ...
    @property
    def algorithm_(self) -> str: ...
    @property
    def auto_mode_(self) -> str: ...
    @property
    def selected_k_(self) -> int: ...
    @property
    def k_selection_(self) -> None: ...
    @property
    def fitted_quality_mode_(self) -> str: ...
    @property
    def clusterer_(self) -> KMeans: ...
    def save(self, path: _Path) -> None: ...

def assign(
    x: npt.ArrayLike,
    centroids: npt.ArrayLike,
    *,
    metric: str = "l2",
    n_threads: Optional[int] = None,
) -> npt.NDArray[np.int32]: ...
def load(path: _Path) -> KMeans: ...
def available_algorithms() -> List[str]: ...
def available_metrics() -> List[str]: ...
def simd_runtime() -> str: ...
