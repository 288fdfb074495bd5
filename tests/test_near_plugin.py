"""The pytest plugin: registered as a pytest11 entry point, cheap to load, and the example suite passes with it."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "contract_simulation"


def _registered() -> bool:
    return any(
        ep.name == "tdxverify_near" and ep.value == "tdxverify.near.pytest_plugin"
        for ep in entry_points(group="pytest11")
    )


def test_entry_point_declared() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert "[project.entry-points.pytest11]\n" in text
    assert 'tdxverify_near = "tdxverify.near.pytest_plugin"' in text


def test_plugin_is_cheap_to_import() -> None:
    code = (
        "import sys, tdxverify.near.pytest_plugin as p;"
        "heavy = [m for m in sys.modules if m.startswith(('tdxverify.near.', 'tdxverify.testing'))];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "['tdxverify.near.pytest_plugin']"


def test_example_suite_passes_with_only_the_fixtures() -> None:
    # installed (pip install -e .): the entry point loads the plugin; otherwise load it by name
    extra = [] if _registered() else ["-p", "tdxverify.near.pytest_plugin"]
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", *extra, str(EXAMPLES)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "6 passed" in out.stdout, out.stdout
    assert "conftest" not in {p.name for p in EXAMPLES.iterdir()}  # no glue


def test_fixture_names_do_not_collide() -> None:
    import ast

    import tdxverify.near.pytest_plugin as plugin

    tree = ast.parse(Path(plugin.__file__).read_text())
    fixtures = [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and any("fixture" in ast.unparse(d) for d in node.decorator_list)
    ]
    assert len(fixtures) == 9
    assert all(name.startswith("near_") for name in fixtures), fixtures
    # and no hooks: the plugin adds fixtures only, so it cannot change how other suites collect or run
    assert not [n for n in vars(plugin) if n.startswith("pytest_")]
