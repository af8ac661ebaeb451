"""A real ``redis-server`` for the tests: started on 127.0.0.1 with a free port, always stopped.

Without the Debian package ``redis-server`` the tests that need it are skipped, except in CI
(``CI`` set), where ``.ci/run`` installs it and a missing server is a failure.

Use the session fixture ``redis_server`` (import it into the test module), or
:class:`RedisServer` directly for a server of a test's own (one to kill, one with persistence).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from benchmarks._redis import MISSING, RedisServer

__all__ = ["RedisServer", "redis_server", "require_redis_server"]


def require_redis_server() -> str:
    """The path of ``redis-server``; skip without it, or fail in CI."""
    path = shutil.which("redis-server")
    if path is None:
        message = MISSING
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must install it for the Redis index tests", pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A server for the whole session, without persistence."""
    server = RedisServer(tmp_path_factory.mktemp("redis"), binary=require_redis_server())
    with server:
        yield server
