"""docs/measurements.md's Python examples run as written and compute what they say."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "measurements.md").read_text(), re.S)
EXPECTED = json.loads((ROOT / "vectors" / "tdx-v4-near-mpc-dstack" / "expected.json").read_text())


def run(block: str) -> dict[str, object]:
    namespace: dict[str, object] = {}
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        exec(compile(block, "measurements.md", "exec"), namespace)
    finally:
        os.chdir(cwd)
    return namespace


def test_verify_with_event_log_example() -> None:
    ns = run(BLOCKS[0])
    verdict = ns["verdict"]
    assert verdict.event_log is ns["log"]  # type: ignore[attr-defined]
    assert verdict.to_dict()["event_log"]["app_compose_hash"].startswith("2911e1f7")  # type: ignore[attr-defined]


def test_rtmr3_before_deploying_example() -> None:
    ns = run(BLOCKS[1])
    assert ns["rtmr3"].hex() == EXPECTED["parsed"]["rtmr3"]  # type: ignore[attr-defined]
