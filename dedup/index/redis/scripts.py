"""The Redis index's server-side Lua scripts, kept as files in ``lua/`` beside this module (so
that they read as Lua, and ``redis-cli --eval`` can run one).

Key names are built inside the scripts from the prefix, which is fine on a single server (not on
Redis Cluster, which this backend does not support). A script whose first line is
``--! include NAME.lua`` gets that file (the shared helpers of ``checks.lua``: damage reports, pid
checks) in place of the line.

>>> source("query.lua").startswith(source("checks.lua"))
True
"""

from __future__ import annotations

from functools import cache
from importlib import resources

__all__ = ["source"]

INCLUDE = "--! include "


@cache
def source(name: str) -> str:
    """The text of script ``name`` (``"query.lua"``), its include resolved."""
    text = resources.files(__package__).joinpath("lua", name).read_text(encoding="utf-8")
    first, _, rest = text.partition("\n")
    if first.startswith(INCLUDE):
        return source(first[len(INCLUDE) :].strip()) + rest
    return text
