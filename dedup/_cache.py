"""Where derived tables (normalization, LSH parameters) are cached between runs."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path | None:
    """``$DEDUP_CACHE_DIR``, else ``$XDG_CACHE_HOME/dedup``, else ``~/.cache/dedup``; ``None``
    when it cannot be created (the caller then recomputes)."""
    configured = os.environ.get("DEDUP_CACHE_DIR")
    if configured:
        path = Path(configured)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        path = Path(base) / "dedup"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path
