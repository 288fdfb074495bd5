"""Find and run the code blocks of Markdown documentation, as written.

Conventions (docs/contributing: "Code blocks in the docs"):

- ```` ```python ````: a complete script, run as a file from the repository
  root (so paths like ``vectors/...`` resolve) with this interpreter. If the
  very next block is ```` ```text ````, it is the script's expected standard
  output.
- ```` ```console ````: lines starting with ``$ `` are commands run by bash from
  the repository root; the lines after a command, up to the next ``$ ``, are
  its expected output (standard output and error together). A command ending
  in ``# exit N`` must exit with N, any other with 0.
- ```` ```sh ````: every ``tdxverify ...`` command in it runs and must exit 0;
  the other commands of a line joined by ``&&`` (``pip install``, the test
  suite itself) are what the wheel test and CI run, and are not repeated.
- ```` ```json ````: must parse as JSON.
- ```` ```text ```` elsewhere and unlabelled blocks are prose: synopses,
  placeholders, diagrams. Never label a block python/console/sh that
  cannot run as written.

Expected output matches line by line after trailing spaces are dropped; a
``...`` inside a line matches any text, and a line that is only ``...``
matches any number of lines.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^(?P<indent>[ ]*)```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ ]*$", re.S | re.M)
RUNNABLE = ("python", "console", "sh", "json")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    lang: str
    body: str
    expected: str | None = None

    @property
    def name(self) -> str:
        where = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{where}:{self.line}"


def _dedent(body: str, indent: str) -> str:
    return "".join(line[len(indent) :] if line.startswith(indent) else line for line in body.splitlines(True))


def blocks_of(path: Path) -> list[Block]:
    """Runnable blocks of one Markdown file, each python block with the text block that follows it."""
    text = path.read_text(encoding="utf-8")
    found = list(FENCE.finditer(text))
    out: list[Block] = []
    for i, m in enumerate(found):
        lang = m.group("lang")
        if lang not in RUNNABLE:
            continue
        body = _dedent(m.group("body"), m.group("indent"))
        expected = None
        if lang == "python" and i + 1 < len(found):
            nxt = found[i + 1]
            between = text[m.end() : nxt.start()]
            if nxt.group("lang") == "text" and not between.strip():
                expected = _dedent(nxt.group("body"), nxt.group("indent"))
        out.append(Block(path, text.count("\n", 0, m.start()) + 1, lang, body, expected))
    return out


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def all_blocks() -> list[Block]:
    return [b for p in doc_files() for b in blocks_of(p)]


def _line_matches(pattern: str, line: str) -> bool:
    parts = [re.escape(p) for p in pattern.split("...")]
    return re.fullmatch(".*".join(parts), line, re.S) is not None


def matches(expected: str, actual: str) -> bool:
    """Does ``actual`` output fit ``expected`` (with ``...`` wildcards)?"""
    exp = [line.rstrip() for line in expected.rstrip("\n").splitlines()]
    act = [line.rstrip() for line in actual.rstrip("\n").splitlines()]

    def fit(i: int, j: int) -> bool:
        if i == len(exp):
            return j == len(act)
        if exp[i] == "...":
            return any(fit(i + 1, k) for k in range(j, len(act) + 1))
        return j < len(act) and _line_matches(exp[i], act[j]) and fit(i + 1, j + 1)

    return fit(0, 0)


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    # The console script of this interpreter's environment comes first on PATH.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("COLUMNS", "120")
    return env


def _shell(command: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


class BlockFailed(AssertionError):
    pass


def run_block(block: Block, tmp: Path, timeout: float = 300) -> None:
    """Run one block; raise :class:`BlockFailed` saying what differed."""
    if block.lang == "json":
        try:
            json.loads(block.body)
        except ValueError as exc:
            raise BlockFailed(f"{block.name}: not JSON ({exc})") from None
        return
    if block.lang == "python":
        script = tmp / "block.py"
        script.write_text(block.body, encoding="utf-8")
        proc = subprocess.run(
            [sys.executable, str(script)],
            cwd=ROOT,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if proc.returncode != 0:
            raise BlockFailed(f"{block.name}: exit {proc.returncode}\n{proc.stderr[-3000:]}")
        if block.expected is not None and not matches(block.expected, proc.stdout):
            raise BlockFailed(f"{block.name}: output differs\n--- expected\n{block.expected}--- got\n{proc.stdout}")
        return
    if block.lang == "console":
        for command, expected, code in _console_steps(block.body):
            proc = _shell(command, timeout)
            output = proc.stdout + proc.stderr
            if proc.returncode != code:
                raise BlockFailed(f"{block.name}: `{command}` exited {proc.returncode}, not {code}\n{output[-3000:]}")
            if not matches(expected, output):
                raise BlockFailed(
                    f"{block.name}: `{command}` output differs\n--- expected\n{expected}--- got\n{output}"
                )
        return
    if block.lang == "sh":
        for command in sh_commands(block.body):
            proc = _shell(command, timeout)
            if proc.returncode != 0:
                raise BlockFailed(f"{block.name}: `{command}` exited {proc.returncode}\n{proc.stderr[-3000:]}")
        return
    raise BlockFailed(f"{block.name}: no runner for {block.lang!r}")


def _console_steps(body: str) -> list[tuple[str, str, int]]:
    steps: list[tuple[str, list[str], int]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            command = line[2:]
            m = re.search(r"\s+# exit (\d+)\s*$", command)
            code = int(m.group(1)) if m else 0
            steps.append((command[: m.start()] if m else command, [], code))
        elif steps:
            steps[-1][1].append(line)
        elif line.strip():
            raise BlockFailed(f"console block starts with output, not a '$ ' command: {line!r}")
    return [(c, "\n".join(out) + ("\n" if out else ""), code) for c, out, code in steps]


def sh_commands(body: str) -> list[str]:
    """The ``tdxverify`` commands of a sh block (each ``&&`` segment that starts with it)."""
    out = []
    for line in body.splitlines():
        for segment in line.split("&&"):
            seg = segment.strip()
            if seg.startswith("tdxverify ") or seg == "tdxverify":
                out.append(seg)
    return out
