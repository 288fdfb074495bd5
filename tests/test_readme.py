"""The README's Python examples run as written (names they leave to the reader are supplied)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def run(block: str, **names: object) -> dict[str, object]:
    namespace: dict[str, object] = dict(names)
    cwd = os.getcwd()
    os.chdir(ROOT)  # the examples use repository-relative paths
    try:
        exec(compile(block, "README.md", "exec"), namespace)
    finally:
        os.chdir(cwd)
    return namespace


def test_library_example_verifies_the_bundled_vector() -> None:
    ns = run(BLOCKS[0])
    verdict = ns["verdict"]
    assert verdict.status == "UpToDate"  # type: ignore[attr-defined]
    assert verdict.rtmr3.hex().startswith("287a9242")  # type: ignore[attr-defined]


def test_forge_example() -> None:
    forge_block = next(b for b in BLOCKS if "Forge(" in b)
    import tdxverify

    ns = run(forge_block, tdxverify=tdxverify, my_rtmr3=b"\x01" * 48, my_key_hash=b"\x02" * 32)
    assert ns["verdict"].status == "UpToDate"  # type: ignore[attr-defined]
    with pytest.raises(tdxverify.VerificationError) as info:
        forge = ns["forge"]
        tdxverify.verify(ns["bad"], forge.collateral(), now=forge.now, root_ca=forge.root_ca_der)  # type: ignore[arg-type,attr-defined]
    assert info.value.code == "quote_signature_invalid"
