"""docs/contract-simulation.md: its facade example runs as written, its fixture examples pass as tests."""

from __future__ import annotations

import re
from pathlib import Path

from tdxverify.near import Measurements
from tdxverify.near.deployment import Deployment
from tdxverify.near.worker import SimulatedWorker

DOC = (Path(__file__).resolve().parent.parent / "docs" / "contract-simulation.md").read_text()
# python blocks run as written; text blocks are API synopses (tests/docblocks.py's rule)
BLOCKS = re.findall(r"```(?:python|text)\n(.*?)```", DOC, re.S)


def test_facade_example_runs() -> None:
    block = next(b for b in BLOCKS if "cli = NearCli()" in b)
    ns: dict[str, object] = {}
    exec(compile(block, "contract-simulation.md", "exec"), ns)
    assert ns["out"].ok  # type: ignore[attr-defined]


def test_fixture_examples_pass(
    near_ready: Deployment, near_make_worker: object, near_measurements: Measurements
) -> None:
    block = next(b for b in BLOCKS if "def test_roll_over" in b)
    ns: dict[str, object] = {}
    exec(compile(block, "contract-simulation.md", "exec"), ns)
    ns["test_roll_over"](near_ready, near_make_worker, near_measurements)  # type: ignore[operator]
    ns["test_unapproved"](near_make_worker, near_measurements)  # type: ignore[operator]


def test_worker_example_names_exist(near_worker: SimulatedWorker) -> None:
    block = next(b for b in BLOCKS if "worker.register(on_failure=hook)" in b)
    for name in re.findall(r"worker\.(\w+)", block):
        assert hasattr(near_worker, name), name
