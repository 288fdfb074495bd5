"""docs/architecture.md's module table is the import order: each module imports only rows above it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tdxverify"
DOC = ROOT / "docs" / "architecture.md"


def _rows() -> list[str]:
    """The table's modules, top to bottom, as dotted names relative to the package ('' is the root)."""
    text = DOC.read_text()
    table = text[text.index("| module |") :]
    names: list[str] = []
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        first = line.split("|")[1]
        for token in re.findall(r"`([^`]+)`", first):
            name = token.removesuffix("/").removesuffix(".py").replace("/", ".")
            names.append("" if name == "__init__" else name)
    return names


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _row(rows: list[str], module: str) -> int:
    """The index of the most specific row covering a module."""
    best = -1
    for i, name in enumerate(rows):
        covers = module == name or (name != "" and module.startswith(name + "."))
        if covers and (best < 0 or len(name) > len(rows[best])):
            best = i
    assert best >= 0, f"tdxverify.{module} has no row in docs/architecture.md"
    return best


def _imports(path: Path, module: str) -> list[str]:
    """The tdxverify modules a file imports (top level or inside functions), relative to the package."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    package = [p for p in package if p]
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [
                a.name.removeprefix("tdxverify").lstrip(".") for a in node.names if a.name.split(".")[0] == "tdxverify"
            ]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if (node.module or "").split(".")[0] == "tdxverify":
                    found.append(node.module.removeprefix("tdxverify").lstrip("."))  # type: ignore[union-attr]
                continue
            base = ".".join(package[: len(package) - (node.level - 1)])
            if node.module:
                found.append(f"{base}.{node.module}".strip("."))
            else:
                for alias in node.names:
                    candidate = f"{base}.{alias.name}".strip(".")
                    is_module = (PACKAGE / candidate.replace(".", "/")).with_suffix(".py").exists()
                    found.append(candidate if is_module else base)
    return found


def test_every_module_has_a_row_and_imports_only_rows_above_it() -> None:
    rows = _rows()
    assert "errors" in rows and "cli" in rows
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_of(path)
        mine = _row(rows, module)
        top = module.split(".")[0]
        for target in _imports(path, module):
            if "." in module and target.split(".")[0] == top:
                continue  # modules of one package import each other freely
            theirs = _row(rows, target)
            assert theirs <= mine, f"tdxverify.{module} ({rows[mine]!r}) imports tdxverify.{target} ({rows[theirs]!r})"
