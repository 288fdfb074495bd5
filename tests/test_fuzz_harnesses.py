"""A short coverage-guided run of every fuzz target, as CI does on each change (``fuzz`` extra: atheris).

Where atheris is not installed, ``fuzz/run.py`` falls back to its hypothesis engine, so the
targets still run. Long runs: ``python fuzz/run.py TARGET --seconds 300`` (docs/fuzzing.md).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fuzz.harnesses import TARGETS

ROOT = Path(__file__).resolve().parent.parent
SECONDS = 2


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_short_fuzz_run(name: str, tmp_path: Path) -> None:
    cmd = [sys.executable, str(ROOT / "fuzz" / "run.py"), name, "--seconds", str(SECONDS), "--workdir", str(tmp_path)]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    if importlib.util.find_spec("atheris") is not None:
        runs = re.search(r"stat::number_of_executed_units: (\d+)", out)
        assert runs is not None and int(runs.group(1)) > 50, out
        corpus = list((tmp_path / "corpus" / name).iterdir())
        assert len(corpus) >= len(list(TARGETS[name].seeds())) // 2
    else:
        runs = re.search(r"rc=0, (\d+) inputs", out)
        assert runs is not None and int(runs.group(1)) > 50, out
    assert not (tmp_path / "artifacts" / name).exists() or not any((tmp_path / "artifacts" / name).iterdir())
