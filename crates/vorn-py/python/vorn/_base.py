"""A dependency-free implementation of scikit-learn's parameter protocol.

``get_params`` / ``set_params`` / ``__repr__`` are derived from the ``__init__`` signature,
whose arguments every estimator stores verbatim (no validation, no conversion), so that
``type(est)(**est.get_params())`` is an unfitted copy of ``est`` (scikit-learn's ``clone``).
Validation happens in ``fit``.
"""

from __future__ import annotations

import inspect
from typing import Any, Dict, List

_SCALARS = (str, int, float, bool, type(None))


class ParamsMixin:
    """get_params / set_params / repr from the ``__init__`` signature."""

    @classmethod
    def _param_names(cls) -> List[str]:
        sig = inspect.signature(cls.__init__)
        return sorted(
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        )

    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        """The constructor arguments, as stored (``deep`` is accepted for compatibility;
        vorn estimators hold no nested estimators)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> "ParamsMixin":
        """Sets constructor arguments (validated at the next ``fit``); returns ``self``."""
        valid = self._param_names()
        for key in params:
            if key not in valid:
                raise ValueError(
                    f"Invalid parameter {key!r} for estimator {type(self).__name__}. "
                    f"Valid parameters are: {valid!r}."
                )
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        parts = []
        for p in sig.parameters.values():
            if p.name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            v = getattr(self, p.name, p.default)
            d = p.default
            same = (
                isinstance(v, _SCALARS)
                and isinstance(d, _SCALARS)
                and type(v) is type(d)
                and v == d
            )
            if not same:
                shown = "array" if hasattr(v, "shape") else repr(v)
                parts.append(f"{p.name}={shown}")
        return f"{type(self).__name__}({', '.join(parts)})"
