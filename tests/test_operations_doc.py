"""docs/operations.md is run, block by block, exactly as written.

Each ```bash block runs in bash (``set -euo pipefail``) after the Settings block, in one working
directory, with:

* every ``tdxverify`` in the doc's text numbered (``tdxverify_7``): each number is a link to a small
  wrapper that logs its use and runs the real CLI, with Intel's hosts routed to a PCS-shaped server on
  127.0.0.1 and ``--now`` fixed inside the bundled collateral's window; so the test knows that every
  single command of the doc ran;
* ``near``: a stand-in for the NEAR CLI that keeps the contract's state (collateral slots, approved
  measurement sets) in a file and records each call, so the test checks what would be sent;
* ``worker-quote.hex``: the quote of the tdx-v4-near-contract vector.

A block starting with ``#!`` is a script to install: it is written to ``bin/`` under the name its
first comment gives, and run by the blocks (and by this test, in the failure cases) from there.
Every block's first comment is its title; ``CHECKS`` has one entry per title, so a block added to
the doc without a check here fails the suite.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tdxverify import load_collateral
from tdxverify.testing.pcs import PcsServer, serve_collateral

from .vectors import Vector, verifiable_vectors

DOC = Path(__file__).resolve().parent.parent / "docs" / "operations.md"
NEAR = next(v for v in verifiable_vectors() if v.name == "tdx-v4-near-contract")
MPC = Path(__file__).resolve().parent.parent / "vectors" / "tdx-v4-near-mpc-dstack"
MPC_PARSED = json.loads((MPC / "expected.json").read_text())["parsed"]
PARSED = NEAR.expected["parsed"]
NEW_SET = {k: PARSED[k2] for k, k2 in (("mrtd", "mr_td"), *((f"rtmr{i}", f"rtmr{i}") for i in range(4)))}
OLD_SET = {**NEW_SET, "rtmr3": "11" * 48}
DCAP_QVL_KEYS = [
    "pck_crl_issuer_chain",
    "root_ca_crl",
    "pck_crl",
    "tcb_info_issuer_chain",
    "tcb_info",
    "tcb_info_signature",
    "qe_identity_issuer_chain",
    "qe_identity",
    "qe_identity_signature",
]
_COMMAND = re.compile(r"(?<![\w./-])tdxverify(?= )")

WRAPPER = """#!{python}
import json, os, sys, urllib.parse, urllib.request

argv = sys.argv[1:]
with open(os.environ["OPS_LOG"], "a") as fh:
    fh.write(json.dumps({{"id": os.path.basename(sys.argv[0]), "argv": argv}}) + "\\n")
base = os.environ["OPS_PCS_URL"]


class ToLocal(urllib.request.BaseHandler):
    handler_order = 100

    def https_request(self, req):
        parts = urllib.parse.urlsplit(req.full_url)
        if parts.hostname not in ("api.trustedservices.intel.com", "certificates.trustedservices.intel.com"):
            raise SystemExit("test wrapper: refusing to reach " + req.full_url)
        req.full_url = base + parts.path + ("?" + parts.query if parts.query else "")
        return req


build = urllib.request.build_opener
urllib.request.build_opener = lambda *h: build(urllib.request.ProxyHandler({{}}), ToLocal(), *h)
if argv and argv[0] not in ("parse", "eventlog", "--version", "-h", "--help") and "--now" not in argv:
    argv = [*argv, "--now", os.environ["OPS_NOW"]]
from tdxverify.cli import main

sys.exit(main(argv))
"""

FAKE_NEAR = """#!{python}
import json, os, sys

path = os.environ["OPS_NEAR_STATE"]
with open(path) as fh:
    state = json.load(fh)
args = sys.argv[1:]
state["calls"].append(args)
kind, contract, method = args[0], args[1], args[2]
if contract != state["contract"]:
    sys.exit("near stand-in: no contract on " + contract)
if kind == "call":
    payload = json.loads(args[3])
    if method == "update_collateral":
        slots = state["collateral"]
        index = payload["index"]
        if not isinstance(payload["collateral"], str) or index > len(slots) or index > 1:
            sys.exit("near stand-in: update_collateral wants {{collateral: string, index}} without gaps")
        slots[index:index + 1] = [payload["collateral"]]
    elif method == "add_approved_measurements":
        if payload.get("clear_others"):
            state["approved"] = []
        if payload["measurements"] not in state["approved"]:
            state["approved"].append(payload["measurements"])
    elif method == "remove_approved_measurements":
        state["approved"] = [m for m in state["approved"] if m != payload["measurements"]]
    else:
        sys.exit("near stand-in: unknown method " + method)
elif kind == "view":
    if method == "get_collateral":
        print(json.dumps(state["collateral"][0] if state["collateral"] else None))
    elif method == "get_approved_measurements":
        print(json.dumps(state["approved"]))
    else:
        sys.exit("near stand-in: unknown view " + method)
else:
    sys.exit("near stand-in: unknown command " + kind)
with open(path, "w") as fh:
    json.dump(state, fh)
"""


@dataclass
class Block:
    title: str
    text: str  # with each tdxverify numbered

    @property
    def script_name(self) -> str | None:
        if not self.text.startswith("#!"):
            return None
        m = re.match(r"# ([\w.-]+):", self.text.splitlines()[1])
        assert m, "an installable script's first comment starts with its file name"
        return m.group(1)


def _blocks() -> tuple[str, list[Block], int]:
    """(the Settings block, the other bash blocks, how many tdxverify commands the doc has)."""
    doc = DOC.read_text()
    fences = re.findall(r"^```(\w*)\n(.*?)^```", doc, re.M | re.S)
    for lang, text in fences:
        if lang != "bash":
            assert not any(line.lstrip().startswith("tdxverify ") for line in text.splitlines()), text
    bash = [text for lang, text in fences if lang == "bash"]
    settings = bash[0]
    assert "CONTRACT=" in settings and "tdxverify" not in settings
    count = 0

    def number(m: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"tdxverify_{count}"

    blocks = []
    for text in bash[1:]:
        lines = text.splitlines()
        numbered = "\n".join(line if line.lstrip().startswith("#") else _COMMAND.sub(number, line) for line in lines)
        title_line = lines[1] if lines[0].startswith("#!") else lines[0]
        assert title_line.startswith("# "), f"a block's first line is a '# title' comment: {text[:80]!r}"
        title = title_line[2:] if not lines[0].startswith("#!") else title_line[2:].split(":")[0]
        blocks.append(Block(title, numbered + "\n"))
    return settings, blocks, count


class Workspace:
    """The working directory, PATH, the local PCS, the NEAR stand-in's state and the command log."""

    def __init__(self, root: Path, server: PcsServer, vec: Vector) -> None:
        self.root, self.server = root, server
        self.bin = root / "bin"
        self.bin.mkdir()
        self.log = root / "commands.log"
        self.state = root / "near-state.json"
        self.now = int(vec.now or 0)
        wrapper = self.bin / "tdxverify-under-test"
        wrapper.write_text(WRAPPER.format(python=sys.executable))
        near = self.bin / "near"
        near.write_text(FAKE_NEAR.format(python=sys.executable))
        for f in (wrapper, near):
            f.chmod(f.stat().st_mode | stat.S_IXUSR)
        self.write_state(approved=[OLD_SET], collateral=[])
        (root / "worker-quote.hex").write_bytes(vec.quote_path.read_bytes())
        # The new image's worker: the NEAR MPC vector's quote and dstack event log.
        (root / "new-image-quote.bin").write_bytes((MPC / "quote.bin").read_bytes())
        (root / "new-image-tcb_info.json").write_bytes((MPC / "tcb_info.json").read_bytes())
        (root / "old-approve.json").write_text(json.dumps({"measurements": OLD_SET, "clear_others": False}))

    def link(self, count: int) -> None:
        for i in range(1, count + 1):
            (self.bin / f"tdxverify_{i}").symlink_to("tdxverify-under-test")

    def write_state(self, **kw: Any) -> None:
        state = json.loads(self.state.read_text()) if self.state.exists() else {"calls": []}
        state.update({"contract": "register.outlayer.near", **kw})
        self.state.write_text(json.dumps(state))

    def near_state(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.state.read_text())
        return result

    def env(self, now: int | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env.update(
            PATH=f"{self.bin}{os.pathsep}{os.environ['PATH']}",
            OPS_LOG=str(self.log),
            OPS_NEAR_STATE=str(self.state),
            OPS_PCS_URL=self.server.url,
            OPS_NOW=str(self.now if now is None else now),
        )
        return env

    def bash(self, script: str, now: int | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", script], cwd=self.root, env=self.env(now), capture_output=True, text=True, timeout=180
        )

    def used(self) -> set[str]:
        if not self.log.exists():
            return set()
        return {json.loads(line)["id"] for line in self.log.read_text().splitlines()}


def _calls(ws: Workspace, method: str) -> list[dict[str, Any]]:
    return [json.loads(c[3]) for c in ws.near_state()["calls"] if c[0] == "call" and c[2] == method]


def _check_initial(ws: Workspace, out: str) -> None:
    doc = json.loads((ws.root / "collateral.json").read_text())
    assert list(doc) == DCAP_QVL_KEYS
    assert load_collateral(doc) == load_collateral(NEAR.collateral or {})
    lines = out.splitlines()
    assert lines[0].startswith("FRESH:") and "max-age 30d, min-valid 3d" in lines[0]
    assert any(line.startswith("VERIFIED: TDX quote v4, TCB status UpToDate") for line in lines)
    (sent,) = _calls(ws, "update_collateral")
    assert sent["index"] == 0 and list(json.loads(sent["collateral"])) == DCAP_QVL_KEYS
    assert load_collateral(sent["collateral"]) == load_collateral(doc)
    assert ws.near_state()["collateral"] == [sent["collateral"]]


def _check_cron_run(ws: Workspace, out: str) -> None:
    assert re.search(r"collateral updated: TCB info issued 2025-09-02T07:41:59Z$", out, re.M), out
    assert "FRESH:" in out and "VERIFIED: TDX quote v4" in out
    assert len(_calls(ws, "update_collateral")) == 2
    assert not (ws.root / "collateral.new.json").exists()
    assert load_collateral(ws.root / "collateral.json") == load_collateral(NEAR.collateral or {})


def _check_monitoring(ws: Workspace, out: str) -> None:
    lines = out.splitlines()
    assert lines[0].startswith("ok: FRESH: the collateral authenticates"), out
    tcb = json.loads((NEAR.collateral or {})["tcb_info"])
    assert lines[1:] == [tcb["issueDate"], tcb["nextUpdate"], "2025-10-02T07:03:51Z", tcb["issueDate"]]


def _check_measurements(ws: Workspace, out: str) -> None:
    assert out.splitlines() == [NEW_SET[k] for k in ("mrtd", "rtmr0", "rtmr1", "rtmr2", "rtmr3")]


def _check_approve(ws: Workspace, out: str) -> None:
    (sent,) = _calls(ws, "add_approved_measurements")
    assert sent == {"measurements": NEW_SET, "clear_others": False}
    assert all(re.fullmatch(r"[0-9a-f]{96}", v) for v in sent["measurements"].values())
    assert ws.near_state()["approved"] == [OLD_SET, NEW_SET]


def _check_retire(ws: Workspace, out: str) -> None:
    (sent,) = _calls(ws, "remove_approved_measurements")
    assert sent == {"measurements": OLD_SET}
    assert ws.near_state()["approved"] == [NEW_SET]


def _before_not_approved(ws: Workspace) -> None:
    ws.write_state(approved=[OLD_SET])  # the worker runs an image nobody approved yet


def _check_new_rtmr3(ws: Workspace, out: str) -> None:
    lines = out.splitlines()
    assert lines[0] == MPC_PARSED["rtmr3"], out
    assert lines[1] == "named values (bound by their digests):"
    tcb = json.loads((MPC / "tcb_info.json").read_text())
    assert f"  compose-hash: {tcb['compose_hash']}" in lines
    assert any(line.startswith("  app-id: ") for line in lines)
    replayed = [line.split() for line in lines[lines.index("replayed:") + 1 :]]
    assert replayed == [[f"RTMR{i}", MPC_PARSED[f"rtmr{i}"], "matches", "the", "quote"] for i in range(4)]


def _check_not_approved(ws: Workspace, out: str) -> None:
    lines = out.splitlines()
    assert lines[0].startswith("NOT VERIFIED: [policy_violation]"), out
    assert not any(line.lstrip().startswith("VERIFIED") for line in lines)
    rules = [line.strip() for line in lines if line.strip().startswith(("[ok]", "[FAIL]"))]
    assert [r.split(":")[0] for r in rules] == ["[ok] status", "[ok] advisory_ids", "[FAIL] measurement"], rules
    assert NEW_SET["rtmr3"] in rules[2] and OLD_SET["rtmr3"] in rules[2]  # measured, and what is approved
    assert lines[-1] == f"measured RTMR3: {NEW_SET['rtmr3']}"


def _check_bound_key(ws: Workspace, out: str) -> None:
    assert out == "VERIFIED: TDX quote v4, TCB status UpToDate\n", out


def _check_status(ws: Workspace, out: str) -> None:
    assert json.loads(out) == {
        "status": "UpToDate",
        "advisory_ids": [],
        "platform_status": "UpToDate",
        "qe_status": "UpToDate",
        "module_status": "UpToDate",
    }


def _check_stored(ws: Workspace, out: str) -> None:
    lines = out.splitlines()
    assert lines[0].startswith("FRESH:") and lines[1].startswith("VERIFIED: TDX quote v4"), out


def _check_key(ws: Workspace, out: str) -> None:
    assert out == PARSED["report_data"][:64] + "\n"


def _nothing(ws: Workspace) -> None:
    pass


CHECKS: dict[str, tuple[Callable[[Workspace], None], Callable[[Workspace, str], None]]] = {
    "fetch the collateral for the worker's platform, check it, upload it": (_nothing, _check_initial),
    "update-collateral.sh": (_nothing, lambda ws, out: None),  # installed; run by the next block and below
    "one run of the script": (_nothing, _check_cron_run),
    "daily check of the stored collateral": (_nothing, _check_monitoring),
    "the new image's measurements, one per line": (_nothing, _check_measurements),
    "which RTMR3 does the new image produce?": (_nothing, _check_new_rtmr3),
    "approve the new image next to the old one": (_nothing, _check_approve),
    "retire the old image once no worker runs it": (_nothing, _check_retire),
    "why is this worker not accepted?": (_before_not_approved, _check_not_approved),
    "what does Intel say about this platform?": (_nothing, _check_status),
    "is the stored collateral the problem?": (_nothing, _check_stored),
    "the key the quote binds (64 hex digits)": (_nothing, _check_key),
    "does the quote bind the worker's key?": (_nothing, _check_bound_key),
}


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    server = PcsServer()
    serve_collateral(server, "TDX", NEAR.collateral or {})
    try:
        yield Workspace(tmp_path, server, NEAR)
    finally:
        server.close()


def test_every_block_has_a_check() -> None:
    _, blocks, count = _blocks()
    assert [b.title for b in blocks] == list(CHECKS)
    assert count >= 15


def test_operations_doc_runs(workspace: Workspace) -> None:
    settings, blocks, count = _blocks()
    ws = workspace
    ws.link(count)
    for block in blocks:
        before, check = CHECKS[block.title]
        name = block.script_name
        if name is not None:
            script = ws.bin / name
            script.write_text(block.text)
            script.chmod(0o755)
            continue
        before(ws)
        p = ws.bash(f"set -euo pipefail\n{settings}\n{block.text}")
        for stream in (p.stdout, p.stderr):
            assert "Traceback" not in stream and "internal_error" not in stream, stream
        assert p.returncode == 0, f"{block.title}:\n{p.stdout}\n{p.stderr}"
        check(ws, p.stdout)
    # Every tdxverify command on the page ran.
    assert ws.used() == {f"tdxverify_{i}" for i in range(1, count + 1)}


def _cron(ws: Workspace, now: int) -> subprocess.CompletedProcess[str]:
    return ws.bash(f"COLLATERAL_DIR={ws.root} QUOTE={ws.root}/worker-quote.hex update-collateral.sh", now=now)


def test_cron_script_uploads_nothing_unless_all_passes(workspace: Workspace) -> None:
    _, blocks, count = _blocks()
    ws = workspace
    ws.link(count)
    (cron,) = [b for b in blocks if b.script_name == "update-collateral.sh"]
    (ws.bin / "update-collateral.sh").write_text(cron.text)
    (ws.bin / "update-collateral.sh").chmod(0o755)
    (ws.root / "collateral.json").write_text("the collateral stored last time")
    valid_until = int(NEAR.expected["collateral_valid_until"])

    # The PCS serves collateral that expires within 3 days: fetched, but not uploaded.
    p = _cron(ws, valid_until - 2 * 86400)
    assert p.returncode == 1, p.stdout + p.stderr
    assert p.stdout.startswith("STALE: [min-valid 3d]"), p.stdout
    assert _calls(ws, "update_collateral") == []
    # A stale PCCS cache (expired at the time of the run): not even written.
    p = _cron(ws, valid_until + 60)
    assert p.returncode == 1
    assert "[crl_expired]" in p.stderr or "[collateral_expired]" in p.stderr, p.stderr
    assert "Nothing was written" in p.stderr
    assert _calls(ws, "update_collateral") == []
    # The platform's PCS is down.
    ws.server.routes.clear()
    p = _cron(ws, int(NEAR.now or 0))
    assert p.returncode == 1 and "[collateral_fetch_failed]" in p.stderr and "HTTP 404" in p.stderr
    assert _calls(ws, "update_collateral") == []
    assert (ws.root / "collateral.json").read_text() == "the collateral stored last time"
    for stream in (p.stdout, p.stderr):
        assert "Traceback" not in stream
