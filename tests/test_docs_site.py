"""The documentation site: `mkdocs build --strict` passes, and the references cover every public name,
every command and every flag."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import tdxverify
import tdxverify.batch
import tdxverify.binding
import tdxverify.eventlog
import tdxverify.history
import tdxverify.limits
import tdxverify.near
import tdxverify.pccs
import tdxverify.server
import tdxverify.testing
import tdxverify.testing.pcs
from tdxverify.cli import COMMANDS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    assert "WARNING" not in log, log
    return out


def test_mkdocs_build_strict(site: Path) -> None:
    for page in ("index.html", "quickstart/index.html", "concepts/index.html", "api/index.html", "cli/index.html"):
        assert (site / page).is_file(), page


def test_api_page_is_generated_from_docstrings(site: Path) -> None:
    html = (site / "api" / "index.html").read_text()
    for anchor in (
        "batch.verify_many",
        "verify.Verifier",
        "errors.VerificationError",
        "testing.Forge",
        "testing.pcs.PcsServer",
    ):
        assert f'id="tdxverify.{anchor}"' in html, anchor
    assert "Verify a DCAP quote against Intel collateral." in html  # verify()'s docstring
    assert ":class:" not in html and ":func:" not in html  # Sphinx roles shown as plain code


def test_concepts_has_the_chain_of_trust_diagram(site: Path) -> None:
    html = (site / "concepts" / "index.html").read_text()
    assert '<pre class="mermaid">' in html and "Intel SGX Root CA" in html


def test_every_page_is_in_the_nav() -> None:
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in DOCS.rglob("*.md"):
        assert page.relative_to(DOCS).as_posix() in nav, f"{page.name} is not in mkdocs.yml nav"


def _public(module: ModuleType) -> list[str]:
    names: list[str] = list(module.__all__)
    # constants are described in prose; classes and functions have their own entries
    return [n for n in names if not n.isupper() and n != "__version__"]


PUBLIC_MODULES = [
    tdxverify,
    tdxverify.testing,
    tdxverify.pccs,
    tdxverify.testing.pcs,
    tdxverify.eventlog,
    tdxverify.binding,
    tdxverify.limits,
    tdxverify.batch,
    tdxverify.history,
    tdxverify.server,
    tdxverify.near,
]


@pytest.mark.parametrize("module", PUBLIC_MODULES, ids=lambda m: m.__name__)
def test_api_reference_covers_every_public_name(module: ModuleType) -> None:
    text = (DOCS / "api.md").read_text()
    documented = set(re.findall(r"^::: ([\w.]+)$", text, re.M))
    for name in _public(module):
        obj = getattr(module, name)
        # classes and functions are documented where they are defined; other names (type
        # aliases, say) where they are exported
        defined = inspect.isclass(obj) or inspect.isfunction(obj)
        where = f"{obj.__module__ if defined else module.__name__}.{name}"
        assert where in documented, f"docs/api.md has no '::: {where}'"


def test_cli_reference_covers_every_command_and_flag() -> None:
    text = (DOCS / "cli.md").read_text()
    for name, command in COMMANDS.items():
        heading = "tdxverify QUOTE COLLATERAL" if name == "verify" else f"tdxverify {name}"
        assert re.search(rf"^## `{re.escape(heading)}", text, re.M), f"no section for {name}"
        for action in command.build_parser()._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert f"`{flag}" in text, f"{name} {flag} is not in docs/cli.md"
