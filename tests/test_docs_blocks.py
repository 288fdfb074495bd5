"""Every runnable code block of README.md and docs/ runs as written (see tests/docblocks.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .docblocks import ROOT, Block, BlockFailed, all_blocks, blocks_of, matches, run_block, sh_commands

BLOCKS = all_blocks()


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: f"{b.name}-{b.lang}")
def test_block_runs_as_written(block: Block, tmp_path: Path) -> None:
    run_block(block, tmp_path)


def test_every_doc_with_code_is_collected() -> None:
    files = {b.path.relative_to(ROOT).as_posix() for b in BLOCKS}
    assert "README.md" in files and "docs/batch.md" in files
    assert sum(b.lang == "python" for b in BLOCKS) >= 10


def test_output_matching_rules() -> None:
    assert matches("a\nb ... d\n", "a\nb c c d\n")
    assert matches("a\n...\nz\n", "a\nb\nc\nz\n")
    assert matches("a\n...\n", "a\n")
    assert not matches("a\nb\n", "a\nc\n")
    assert not matches("a\n", "a\nextra\n")


def test_a_wrong_expected_output_fails(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("```python\nprint(1 + 1)\n```\n\n```text\n3\n```\n")
    [block] = blocks_of(doc)
    assert block.expected == "3\n"
    with pytest.raises(BlockFailed, match="output differs"):
        run_block(block, tmp_path)


def test_a_failing_console_command_fails(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("```console\n$ tdxverify parse /nonexistent\n```\n")
    [block] = blocks_of(doc)
    with pytest.raises(BlockFailed, match="exited 2"):
        run_block(block, tmp_path)


def test_sh_blocks_run_their_tdxverify_commands() -> None:
    assert sh_commands("python3 -m pip install . && tdxverify a b --now 1\npython3 -m pytest\n") == [
        "tdxverify a b --now 1"
    ]
