"""Every script in examples/ runs as a user would run it (its own process, from another directory)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(p for p in (ROOT / "examples").rglob("*.py") if 'if __name__ == "__main__"' in p.read_text())
EXPECT = {
    "verify_with_policy.py": ["ACCEPTED: TDX quote, TCB UpToDate", "[FAIL] measurement:rtmr3"],
    "fetch_and_monitor_collateral.py": ["fresh, 14d 23h left", "refresh, 2d 23h left", "fails closed: [crl_expired]"],
    "batch_reaudit.py": ["last month's collateral: {'UpToDate': 200}", "after the revocation: {'tcb_revoked': 200}"],
}


def test_the_examples_are_there() -> None:
    assert {p.name for p in SCRIPTS} >= set(EXPECT)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT / "examples")))
def test_example_runs(script: Path, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    for line in EXPECT.get(script.name, []):
        assert line in proc.stdout, f"{script.name}: {line!r} not in\n{proc.stdout}"
