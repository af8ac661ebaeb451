"""The package's public names: each is what the README documents, whatever was imported first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHECK = """
import importlib, pkgutil, types
import dedup
for info in pkgutil.iter_modules(dedup.__path__):  # every stage imported first
    importlib.import_module(f"dedup.{info.name}")
bad = [name for name in dedup.__all__ if isinstance(getattr(dedup, name), types.ModuleType)]
assert not bad, f"module instead of the public object: {bad}"
assert sorted(dedup.__all__) == sorted(set(dedup.__all__))
print(dedup.shingles("Force’s reply, word for word", "word", 3)[0].decode(), dedup.normalize("ＦＵＬＬ"))
"""


def test_every_public_name_is_the_documented_object() -> None:
    run = subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("\n")[0] == "forces reply word full"


def test_help_does_not_import_numpy() -> None:
    code = "import sys; from dedup.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\nprint('numpy' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().endswith("False")
