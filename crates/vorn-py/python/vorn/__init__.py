"""vorn: fast, deterministic k-means."""
from ._vorn import __version__

__all__ = ["__version__"]
