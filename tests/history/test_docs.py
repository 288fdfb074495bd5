"""docs/history.md's Python example runs as a script and prints what the text block after it says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "history.md").read_text()


def test_library_example_runs_as_written(tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```\n\n```text\n(.*?)```", DOC, re.S)
    assert len(blocks) == 1
    script, expected = blocks[0]
    (tmp_path / "example.py").write_text(script)
    done = subprocess.run(
        [sys.executable, str(tmp_path / "example.py")], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected


def test_no_block_claims_to_run_what_cannot() -> None:
    # Shell lines with placeholders (QUOTE, OLD, near call ...) are prose: never labelled sh/console.
    assert re.findall(r"```(sh|console|bash)\n", DOC) == []
