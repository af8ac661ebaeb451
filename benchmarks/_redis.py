"""A real ``redis-server`` on 127.0.0.1 at a free port, always stopped: for the filter benchmark
and, through ``tests/redis_server.py``, for the tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from benchmarks._harness import status_mb

__all__ = ["RedisServer", "MISSING"]

MISSING = "redis-server is not installed (apt-get install redis-server)"
START_TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """One ``redis-server`` process on loopback. ``persist`` turns on the append-only file in
    ``workdir`` (so a restart on the same ``workdir`` finds the data)."""

    def __init__(self, workdir: Path, *, persist: bool = False, binary: str | None = None) -> None:
        found = binary or shutil.which("redis-server")
        if found is None:
            raise FileNotFoundError(MISSING)
        self.binary = found
        self.workdir = workdir
        self.persist = persist
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, db: int = 0, prefix: str | None = None) -> str:
        return f"redis://{self.address}/{db}" + (f"?prefix={prefix}" if prefix else "")

    def start(self, port: int | None = None) -> RedisServer:
        """Start on ``port`` (a free one by default) and wait until it answers PING."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        # A free port can be taken between finding and binding it: try a few.
        for _ in range(5):
            self.port = port or _free_port()
            args = [
                self.binary,
                "--bind", "127.0.0.1",
                "--port", str(self.port),
                "--dir", str(self.workdir),
                "--save", "",
                "--appendonly", "yes" if self.persist else "no",
                "--appendfsync", "always",
                "--daemonize", "no",
                "--protected-mode", "yes",
                "--logfile", str(self.workdir / "redis.log"),
            ]  # fmt: skip
            self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if self._wait_ready():
                return self
            self.stop()
            if port:
                break
        log = self.workdir / "redis.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise RuntimeError(f"redis-server did not start on 127.0.0.1:{self.port}:\n{tail}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return True
            except OSError:
                pass
            time.sleep(0.02)
        return False

    def peak_rss_mb(self) -> float:
        """The server's own peak resident memory (``VmHWM``)."""
        if self.process is None:
            return float("nan")
        peak = status_mb("VmHWM", self.process.pid)
        return float("nan") if peak is None else peak

    def stop(self) -> None:
        """Terminate (a clean shutdown: the append-only file is complete) and wait."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def kill(self) -> None:
        """SIGKILL, as a crash or an operator's mistake would: no shutdown of any kind."""
        process, self.process = self.process, None
        if process is not None:
            process.kill()
            process.wait(timeout=10)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
