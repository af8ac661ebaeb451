"""Settings dedup reads from the environment, checked where they are read."""

from __future__ import annotations

import os

__all__ = ["SettingError", "threads"]


class SettingError(Exception):
    """An environment variable holds a value dedup cannot use: the run stops with this message."""


def threads() -> int | None:
    """``DEDUP_THREADS``, the most threads a kernel may use; ``None`` when it is not set."""
    configured = os.environ.get("DEDUP_THREADS", "").strip()
    if not configured:
        return None
    if not configured.isdigit() or int(configured) < 1:
        raise SettingError(f"DEDUP_THREADS must be a whole number of threads, 1 or more, not {configured!r}")
    return int(configured)
