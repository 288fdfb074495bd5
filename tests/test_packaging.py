"""The release: `python -m build` makes an sdist and a wheel; the wheel is clean, carries what the
package needs and nothing else, and works from a fresh virtual environment with no source tree."""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

import tdxverify

ROOT = Path(__file__).resolve().parent.parent


def _run(cmd: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: build with the setuptools already installed (no download); the wheel is
    # built from the sdist, so the sdist is proven complete too.
    proc = _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)], ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def _wheel(dist: Path) -> Path:
    [wheel] = dist.glob("*.whl")
    return wheel


def test_build_makes_an_sdist_and_a_wheel_of_this_version(dist: Path) -> None:
    version = tdxverify.__version__
    assert (dist / f"tdxverify-{version}.tar.gz").is_file()
    assert _wheel(dist).name == f"tdxverify-{version}-py3-none-any.whl"


def test_wheel_contents(dist: Path) -> None:
    proc = _run([sys.executable, "-m", "check_wheel_contents", str(_wheel(dist))], ROOT)
    assert proc.returncode == 0 and ": OK" in proc.stdout, proc.stdout + proc.stderr
    names = zipfile.ZipFile(_wheel(dist)).namelist()
    for needed in ("tdxverify/py.typed", "tdxverify/data/intel-sgx-root-ca.der", "tdxverify/data/verdict.schema.json"):
        assert needed in names
    top = {n.split("/")[0] for n in names}
    assert top == {"tdxverify", f"tdxverify-{tdxverify.__version__}.dist-info"}  # no tests, vectors, docs
    assert not [n for n in names if "conftest" in n or n.endswith((".bin", ".hex"))]
    metadata = zipfile.ZipFile(_wheel(dist)).read(f"tdxverify-{tdxverify.__version__}.dist-info/METADATA").decode()
    assert f"Version: {tdxverify.__version__}\n" in metadata
    assert "Provides-Extra: dask" in metadata and "Provides-Extra: docs" in metadata


def test_sdist_carries_tests_docs_and_vectors(dist: Path) -> None:
    with tarfile.open(next(dist.glob("*.tar.gz"))) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for needed in (
        "tests/test_batch.py",
        "docs/index.md",
        "mkdocs.yml",
        "vectors/intel-sgx-root-ca.der",
        "CHANGELOG.md",
    ):
        assert needed in names


def _readme_first_command() -> str:
    block = re.search(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert block is not None
    first = block.group(1).strip().splitlines()[0]
    install, _, command = first.partition(" && ")
    assert install == "python3 -m pip install ." and command.startswith("tdxverify ")
    return command


def test_wheel_in_a_fresh_venv(dist: Path, tmp_path: Path) -> None:
    """Install only the wheel (dependencies may come from the system site) and use it with no source tree."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    proc = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            "--ignore-installed",  # a tdxverify in the system site (e.g. an editable one) must not count
            str(_wheel(dist)),
        ],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr

    nowhere = tmp_path / "elsewhere"  # no source tree here
    nowhere.mkdir()
    probe = "import tdxverify, importlib.metadata as m; print(tdxverify.__file__); print(m.version('tdxverify'))"
    proc = _run([str(python), "-I", "-c", probe], nowhere)
    assert proc.returncode == 0, proc.stderr
    where, version = proc.stdout.split()
    assert Path(where).is_relative_to(env_dir), f"tdxverify imported from {where}, not from the wheel"
    assert version == tdxverify.__version__
    proc = _run([str(python), "-I", "-c", "import tdxverify"], nowhere)
    assert proc.returncode == 0, proc.stderr

    # The README's first command, after its install step, from the checkout (it names a bundled vector);
    # `python -I -m tdxverify` keeps the checkout off sys.path, so the wheel's code runs.
    command = _readme_first_command()
    args = command.split()[1:]
    proc = _run([str(python), "-I", "-m", "tdxverify", *args], ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("VERIFIED: TDX quote v4, TCB status UpToDate")
    script = env_dir / "bin" / "tdxverify"
    proc = _run([str(script), *args], ROOT)
    assert proc.returncode == 0 and proc.stdout.startswith("VERIFIED"), proc.stdout + proc.stderr
