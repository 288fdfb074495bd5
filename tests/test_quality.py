"""The typing and lint standards hold: mypy --strict and ruff are part of the test suite."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_mypy_strict() -> None:
    result = _run(sys.executable, "-m", "mypy", "--strict", "tdxverify")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("args", [("check", "."), ("format", "--check", ".")])
def test_ruff(args: tuple[str, ...]) -> None:
    ruff = shutil.which("ruff")
    cmd = (ruff, *args) if ruff else (sys.executable, "-m", "ruff", *args)
    result = _run(*cmd)
    assert result.returncode == 0, result.stdout + result.stderr
