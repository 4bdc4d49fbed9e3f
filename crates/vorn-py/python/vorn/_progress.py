"""Progress reporting through the ``logging`` module (logger ``"vorn"``).

The native code calls the reporter on the thread that called ``fit`` (never from a worker
thread) with ``("phase", name)``, ``("iteration", stats_dict)`` or ``("steps", {"run", "task",
"done", "total"})`` (a long seeding loop's progress, at most once a second). Messages are logged at
INFO. When ``verbose`` is set and logging is not configured at all (no handler anywhere up
the logger hierarchy), a stderr handler is attached to the ``"vorn"`` logger once so the
messages are visible, as ``verbose`` promises.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Callable, Dict

logger = logging.getLogger("vorn")
_auto_handler: "logging.Handler | None" = None


def _ensure_visible() -> None:
    global _auto_handler
    if _auto_handler is None and not logger.hasHandlers():
        _auto_handler = logging.StreamHandler(sys.stderr)
        _auto_handler.setFormatter(logging.Formatter("[vorn] %(message)s"))
        logger.addHandler(_auto_handler)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)


def reporter(what: str) -> Callable[[str, Any], None]:
    """A progress callback that logs events of the fit of ``what``."""
    _ensure_visible()

    def report(kind: str, payload: Any) -> None:
        if kind == "phase":
            logger.info("%s: phase %s", what, payload)
        elif kind == "steps":
            st: Dict[str, Any] = payload
            logger.info(
                "%s: run %d %s %d/%d", what, st["run"], st["task"], st["done"], st["total"]
            )
        elif kind == "iteration":
            s: Dict[str, Any] = payload
            logger.info(
                "%s: run %d iter %d objective %.6g moved %d empty_splits %d "
                "rows_scanned %d assign %.3fs update %.3fs",
                what,
                s["run"],
                s["iter"],
                s["objective"],
                s["moved"],
                s["empty_splits"],
                s["rows_scanned"],
                s["assign_secs"],
                s["update_secs"],
            )

    return report
