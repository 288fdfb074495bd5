"""The operator's command line (issue 10): what the register guide runs, done with tdxverify.

fetch-collateral --quote HEX|FILE writing dcap-qvl's collateral JSON, collateral --max-age/--min-valid,
parse --field, --version, closed pipes and full disks, '-' twice, swapped arguments, mis-encoded quote
text, trailing bytes, and a rejected quote never printing a VERIFIED line.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tdxverify import load_collateral
from tdxverify.cli import main
from tdxverify.errors import VerificationError
from tdxverify.quote import decode_quote_file, parse_quote
from tdxverify.testing.pcs import PROXY_VARS, PcsServer

from .test_pccs import NEAR, VECTORS, ToLocal, serve_vector
from .vectors import Vector, all_vectors

ROOT = Path(__file__).resolve().parent.parent
ROOT_DER = ROOT / "vectors" / "intel-sgx-root-ca.der"
SGX = next(v for v in VECTORS if v.name == "sgx-v3-phala")
PHALA = next(v for v in VECTORS if v.name == "tdx-v4-phala-uptodate")


@pytest.fixture
def pcs(monkeypatch: pytest.MonkeyPatch) -> Iterator[PcsServer]:
    """A PCS-shaped server on 127.0.0.1; Intel's hosts are routed to it (nothing reaches the network)."""
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    s = PcsServer()
    build = urllib.request.build_opener

    def local_opener(*handlers: Any) -> urllib.request.OpenerDirector:
        return build(urllib.request.ProxyHandler({}), ToLocal(s.url), *handlers)

    monkeypatch.setattr(urllib.request, "build_opener", local_opener)
    yield s
    s.close()


def _no_traceback(text: str) -> None:
    assert "Traceback" not in text and "internal_error" not in text and "Exception ignored" not in text, text


def _cli(*args: str, stdin: bytes | None = None, **kw: Any) -> subprocess.CompletedProcess[bytes]:
    """The installed command in a child process (what an operator's shell runs)."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}  # 127.0.0.1 only, never a proxy
    return subprocess.run(
        [sys.executable, "-m", "tdxverify", *args],
        input=stdin,
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        env=env,
        **kw,
    )


# --------------------------------------------------------------------------- fetch-collateral


@pytest.mark.parametrize("vec", [NEAR, SGX, PHALA], ids=lambda v: v.name)
def test_fetch_quote_hex_writes_dcap_qvl_json(
    vec: Vector, pcs: PcsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    serve_vector(pcs, vec)
    out = tmp_path / "f.json"
    hex_quote = vec.quote.hex()
    # Intel PCS by default (routed to the local server), exactly as the guide's dcap-qvl command line.
    assert main(["fetch-collateral", "--quote", hex_quote, "--output", str(out), "--now", str(vec.now)]) == 0
    err = capsys.readouterr().err
    assert "from Intel PCS" in err and "(dcap-qvl)" in err and len(err) < 1000
    text = out.read_text()
    doc = json.loads(text)
    assert list(doc) == [
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
    # Byte-exact signed spans: the very text the vector's collateral holds (and Intel signed).
    assert vec.collateral is not None
    for key in ("tcb_info", "tcb_info_signature", "qe_identity", "qe_identity_signature", "pck_crl", "root_ca_crl"):
        assert doc[key] == vec.collateral[key], key
    assert load_collateral(out) == load_collateral(vec.collateral)
    assert load_collateral(out).format == "dcap-qvl"


@pytest.mark.parametrize("form", ["hex-arg", "file", "positional"])
def test_fetch_quote_forms(form: str, pcs: PcsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    serve_vector(pcs, NEAR)
    out = tmp_path / "c.json"
    quote = {"hex-arg": ["--quote", "0x" + NEAR.quote.hex()], "file": ["--quote", str(NEAR.quote_path)]}.get(
        form, [str(NEAR.quote_path)]
    )
    assert main(["fetch-collateral", *quote, "-o", str(out), "--pccs-url", pcs.url, "--now", str(NEAR.now)]) == 0
    assert load_collateral(out) == load_collateral(NEAR.collateral or {})


def test_fetch_quote_usage(pcs: PcsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    q = str(NEAR.quote_path)
    assert main(["fetch-collateral", q, "--quote", q]) == 2
    assert "give the quote once" in capsys.readouterr().err
    assert main(["fetch-collateral", "-o", str(tmp_path / "c.json")]) == 2
    assert "no quote given" in capsys.readouterr().err
    # A 10,000-digit argument that is not a file is the quote itself; damaged, the message stays short.
    damaged = "zz" + NEAR.quote.hex()[2:]
    assert main(["fetch-collateral", "--quote", damaged, "--now", str(NEAR.now)]) == 1
    err = capsys.readouterr().err
    assert "offset 0" in err and "not a hex digit" in err
    assert max(len(line) for line in err.splitlines()) < 400
    # A short argument that is neither a file nor a quote is a missing file.
    assert main(["fetch-collateral", "--quote", str(tmp_path / "nope.hex")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert pcs.requests == []


def test_fetch_pcs_bundle_and_both_forms_load_equal(
    pcs: PcsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    serve_vector(pcs, NEAR)
    base = ["fetch-collateral", "--quote", str(NEAR.quote_path), "--now", str(NEAR.now)]
    assert main([*base, "-o", str(tmp_path / "b.json"), "--format", "pcs-bundle"]) == 0
    assert main([*base, "-o", str(tmp_path / "d.json")]) == 0
    assert main([*base, "--format", "dcap-qvl"]) == 0
    stdout_doc = capsys.readouterr().out
    bundle, dcap = load_collateral(tmp_path / "b.json"), load_collateral(tmp_path / "d.json")
    assert (bundle.format, dcap.format) == ("pcs-bundle", "dcap-qvl")
    assert bundle == dcap == load_collateral(stdout_doc)
    assert "source" in json.loads((tmp_path / "b.json").read_text())
    assert "source" not in json.loads((tmp_path / "d.json").read_text())
    # What `update_collateral "$(jq -c . collateral.json)"` sends: the compact form, same collateral.
    compact = json.dumps(json.loads((tmp_path / "d.json").read_text()), separators=(",", ":"))
    assert load_collateral(compact) == dcap
    # A NEAR view returns the stored collateral as a JSON string: that loads too.
    assert load_collateral(json.dumps(compact).encode()) == dcap
    assert main(["collateral", str(tmp_path / "b.json"), "--now", str(NEAR.now)]) == 0
    assert main(["collateral", str(tmp_path / "d.json"), "--now", str(NEAR.now)]) == 0


def test_fetch_keeps_mode_and_follows_symlinks(pcs: PcsServer, tmp_path: Path) -> None:
    serve_vector(pcs, NEAR)
    base = ["fetch-collateral", "--quote", str(NEAR.quote_path), "--now", str(NEAR.now)]
    existing = tmp_path / "collateral.json"
    existing.write_text("old")
    os.chmod(existing, 0o644)
    assert main([*base, "-o", str(existing)]) == 0
    assert stat.S_IMODE(existing.stat().st_mode) == 0o644
    assert load_collateral(existing) == load_collateral(NEAR.collateral or {})
    os.chmod(existing, 0o640)
    assert main([*base, "-o", str(existing)]) == 0
    assert stat.S_IMODE(existing.stat().st_mode) == 0o640
    # A new file gets what any new file gets under the umask.
    mask = os.umask(0o022)
    os.umask(mask)
    new = tmp_path / "new.json"
    assert main([*base, "-o", str(new)]) == 0
    assert stat.S_IMODE(new.stat().st_mode) == 0o666 & ~mask
    # A symlink stays a symlink; its target is replaced.
    link = tmp_path / "current.json"
    link.symlink_to(existing)
    assert main([*base, "-o", str(link)]) == 0
    assert link.is_symlink() and load_collateral(link) == load_collateral(existing)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["collateral.json", "current.json", "new.json"]


def test_fetch_output_full_disk(pcs: PcsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    serve_vector(pcs, NEAR)
    full = tmp_path / "full"
    full.symlink_to("/dev/full")  # a device is written in place, never replaced
    rc = main(["fetch-collateral", "--quote", str(NEAR.quote_path), "--now", str(NEAR.now), "-o", str(full)])
    assert rc == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err
    _no_traceback(err)
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


# --------------------------------------------------------------------------- collateral --max-age / --min-valid


def test_collateral_rules(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(NEAR.collateral_path)
    now = str(NEAR.now)  # TCB info issued 14d 23h earlier; the PCK CRL expires 14d 23h later
    assert main(["collateral", path, "--now", now, "--max-age", "30d", "--min-valid", "3d"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("FRESH:") and "max-age 30d" in out and "min-valid 3d" in out
    for args, failed in (
        (["--max-age", "14d"], ["max_age:tcb_info", "max_age:qe_identity"]),
        (["--max-age", "359h"], ["max_age:tcb_info", "max_age:qe_identity"]),
        (["--max-age", "21590m"], ["max_age:qe_identity"]),
        (["--min-valid", "15d"], ["min_valid:collateral"]),
        (["--min-valid", "1295000s"], ["min_valid:collateral"]),
    ):
        assert main(["collateral", path, "--now", now, *args]) == 1, args
        out = capsys.readouterr().out
        first = out.splitlines()[0]
        assert first.startswith(f"STALE: [{args[0][2:]} {args[1]}]"), first
        assert "[FAIL]" in out
        assert main(["collateral", path, "--now", now, *args, "--json"]) == 1
        report = json.loads(capsys.readouterr().out)
        assert report["ok"] is False and report["fresh"] is True and report["error"] is None
        assert report["failed_rules"] == failed, args
    assert main(["collateral", path, "--now", now, "--max-age", "16d", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["failed_rules"] == [] and [r["ok"] for r in report["rules"]] == [True, True]
    assert report["rules"][0]["limit"] == "16d" and report["rules"][0]["limit_seconds"] == 16 * 86400


def test_collateral_json_facts(capsys: pytest.CaptureFixture[str]) -> None:
    """The facts the guide reads with jq (.tcbInfo.issueDate ...) are fields, with the same meaning."""
    assert NEAR.collateral is not None
    tcb = json.loads(NEAR.collateral["tcb_info"])
    qe = json.loads(NEAR.collateral["qe_identity"])
    assert main(["collateral", str(NEAR.collateral_path), "--now", str(NEAR.now), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["tcb_info"]["issue_date"] == tcb["issueDate"] and r["tcb_info"]["next_update"] == tcb["nextUpdate"]
    assert r["qe_identity"]["issue_date"] == qe["issueDate"] and r["qe_identity"]["next_update"] == qe["nextUpdate"]
    assert r["tcb_evaluation_data_number"] == tcb["tcbEvaluationDataNumber"]
    assert r["tcb_info"]["fmspc"] == tcb["fmspc"].upper()
    assert r["tcb_info"]["age_seconds"] == 14 * 86400 + 23 * 3600 + 40 * 60 + 56
    assert r["pck_crl"]["next_update"] == r["expires_at"] and r["root_ca_crl"]["this_update"]


def test_collateral_rules_when_expired(capsys: pytest.CaptureFixture[str]) -> None:
    later = str(NEAR.expected["collateral_valid_until"] + 86400)
    assert main(["collateral", str(NEAR.collateral_path), "--now", later, "--min-valid", "3d", "--json"]) == 1
    r = json.loads(capsys.readouterr().out)
    assert r["error"]["code"] in {"crl_expired", "collateral_expired"} and r["failed_rules"] == ["min_valid:collateral"]


@pytest.mark.parametrize("bad", ["30x", "-3d", "d", "", "3 days", "1e3s"])
def test_collateral_rule_usage(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["collateral", str(NEAR.collateral_path), f"--max-age={bad}"]) == 2
    assert main(["collateral", str(NEAR.collateral_path), f"--min-valid={bad}"]) == 2
    assert "give a duration" in capsys.readouterr().err


# --------------------------------------------------------------------------- parse --field


@pytest.mark.parametrize("vec", all_vectors(), ids=lambda v: v.name)
def test_parse_field(vec: Vector, capsys: pytest.CaptureFixture[str]) -> None:
    parsed = vec.expected["parsed"]
    names = [k for k in ("mr_td", "rtmr0", "rtmr1", "rtmr2", "rtmr3", "mr_enclave", "report_data") if k in parsed]
    for name in names:
        assert main(["parse", str(vec.quote_path), "--field", name]) == 0
        assert capsys.readouterr().out == parsed[name] + "\n"
    assert main(["parse", str(vec.quote_path), *(a for n in names for a in ("--field", n.upper()))]) == 0
    assert capsys.readouterr().out.splitlines() == [parsed[n] for n in names]
    assert main(["parse", str(vec.quote_path), "--field", "fmspc"]) == 0
    assert capsys.readouterr().out == parsed["fmspc"] + "\n"
    quote = parse_quote(vec.quote)
    assert main(["parse", str(vec.quote_path), "--field", "trailing_bytes"]) == 0
    assert capsys.readouterr().out == f"{len(quote.trailing_data)}\n"


def test_parse_field_aliases_and_usage(capsys: pytest.CaptureFixture[str]) -> None:
    mrtd = NEAR.expected["parsed"]["mr_td"]
    for spelling in ("MRTD", "mrtd", "mr-td", "MR_TD"):
        assert main(["parse", NEAR.quote.hex(), "--field", spelling]) == 0
        assert capsys.readouterr().out == mrtd + "\n"
    assert main(["parse", str(NEAR.quote_path), "--field", "rtmr9"]) == 2
    err = capsys.readouterr().err
    assert "--field rtmr9" in err and "rtmr3" in err
    assert main(["parse", str(SGX.quote_path), "--field", "rtmr3"]) == 2  # an SGX quote has no RTMRs
    assert main(["parse", str(SGX.quote_path), "--field", "mr_signer"]) == 0


# --------------------------------------------------------------------------- version, pipes, disks, stdin


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from tdxverify import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"tdxverify {__version__}\n"
    p = _cli("--version")
    assert p.returncode == 0 and p.stdout.decode() == f"tdxverify {__version__}\n"


def _closed_pipe_run(*args: str) -> subprocess.CompletedProcess[bytes]:
    r, w = os.pipe()
    os.close(r)  # the reader is gone before anything is written: every write hits a closed pipe
    try:
        return _run_with_stdout(w, *args)
    finally:
        os.close(w)


def _run_with_stdout(fd: int, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "tdxverify", *args], stdout=fd, stderr=subprocess.PIPE, cwd=ROOT, timeout=60
    )


@pytest.mark.parametrize(
    "args,code",
    [
        ([str(NEAR.quote_path), str(NEAR.collateral_path), "--now", str(NEAR.now)], 0),
        ([str(NEAR.quote_path), str(NEAR.collateral_path), "--now", str(NEAR.now), "--json"], 0),
        ([str(NEAR.quote_path), str(NEAR.collateral_path), "--now", "2020-01-01"], 1),
        (["parse", str(NEAR.quote_path)], 0),
        (["collateral", str(NEAR.collateral_path), "--now", str(NEAR.now)], 0),
        (["--version"], 0),
    ],
)
def test_closed_pipe_is_quiet(args: list[str], code: int) -> None:
    p = _closed_pipe_run(*args)
    assert p.returncode == code
    assert p.stderr == b""


def test_head_one() -> None:
    """`tdxverify Q C --now T | head -1`: the verdict line, exit 0, nothing on stderr."""
    cmd = f'{sys.executable} -m tdxverify parse {NEAR.quote_path} | head -1; echo "rc=${{PIPESTATUS[0]}}"'
    p = subprocess.run(["bash", "-c", cmd], capture_output=True, cwd=ROOT, timeout=60)
    assert p.stdout.decode().splitlines()[-1] == "rc=0"
    assert p.stderr == b""
    cmd = f"{sys.executable} -m tdxverify {NEAR.quote_path} {NEAR.collateral_path} --now {NEAR.now} | head -1"
    p = subprocess.run(["bash", "-c", cmd + '; echo "rc=${PIPESTATUS[0]}"'], capture_output=True, cwd=ROOT, timeout=60)
    lines = p.stdout.decode().splitlines()
    assert lines[0].startswith("VERIFIED: TDX quote v4") and lines[-1] == "rc=0"
    assert p.stderr == b""


@pytest.mark.parametrize(
    "args",
    [
        [str(NEAR.quote_path), str(NEAR.collateral_path), "--now", str(NEAR.now)],
        ["parse", str(NEAR.quote_path), "--json"],
        ["collateral", str(NEAR.collateral_path), "--now", str(NEAR.now), "--json"],
    ],
)
def test_full_disk(args: list[str]) -> None:
    with open("/dev/full", "wb") as full:
        p = _run_with_stdout(full.fileno(), *args)
    assert p.returncode == 2
    err = p.stderr.decode()
    assert err.startswith("error: cannot write the output: No space left on device")
    _no_traceback(err)


def test_stdin_only_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-", "-"]) == 2
    assert "QUOTE and COLLATERAL are both '-'" in capsys.readouterr().err
    assert main([str(NEAR.quote_path), "-", "--policy", "-"]) == 2
    assert main(["collateral", "-", "--root-ca", "-"]) == 2
    assert main(["fetch-collateral", "--quote", "-", "--tls-ca", "-"]) == 2
    # One '-' is fine.
    p = _cli("-", str(NEAR.collateral_path), "--now", str(NEAR.now), stdin=NEAR.quote_path.read_bytes())
    assert p.returncode == 0 and p.stdout.startswith(b"VERIFIED:")


# --------------------------------------------------------------------------- verdict lines, swapped arguments


def test_rejected_quote_never_prints_verified(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"measurements": {"rtmr3": ["11" * 48]}}))
    args = [str(NEAR.quote_path), str(NEAR.collateral_path), "--now", str(NEAR.now), "--policy", str(policy)]
    assert main(args) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("NOT VERIFIED: [policy_violation]")
    assert not any(re.match(r"\s*VERIFIED", line) for line in lines), out
    assert "VERIFIED" not in out.replace("NOT VERIFIED", "")
    assert any("[FAIL]" in line and "rtmr3" in line for line in lines), out
    assert "genuine" in lines[1] and "not accepted" in lines[1]
    # Accepted by the policy: the first line is the verdict.
    policy.write_text(json.dumps({"measurements": {"rtmr3": [NEAR.expected["parsed"]["rtmr3"]]}}))
    assert main(args) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("VERIFIED: TDX quote v4, TCB status UpToDate")


def test_swapped_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    q, c = str(NEAR.quote_path), str(NEAR.collateral_path)
    assert main([c, q, "--now", str(NEAR.now)]) == 2
    err = capsys.readouterr().err
    assert "the arguments look swapped" in err and "tdxverify QUOTE COLLATERAL" in err and "pathlib" not in err
    assert main([q, q, "--now", str(NEAR.now)]) == 2
    assert "holds a quote, not collateral JSON" in capsys.readouterr().err
    zeros = tmp_path / "zeros.bin"
    zeros.write_bytes(bytes(5000))
    assert main([str(zeros), c, "--now", str(NEAR.now)]) == 1
    out = capsys.readouterr().out
    assert "5000 zero bytes, not a quote" in out and "pathlib" not in out
    assert main([str(zeros), c, "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "input_invalid"
    assert main(["parse", c]) == 1
    assert "holds JSON, not a quote" in capsys.readouterr().err
    assert main(["collateral", q]) == 2
    assert "holds a quote, not collateral JSON" in capsys.readouterr().err


def _damaged() -> dict[str, tuple[bytes, str]]:
    h = NEAR.quote.hex()
    return {
        "stray-pair": ((h[:200] + "zq" + h[202:]).encode(), "'z' at offset 200 (line 1, column 201)"),
        "bom": (b"\xef\xbb\xbf" + h.encode(), "UTF-8 byte-order mark"),
        "utf16": (("\ufeff" + h).encode("utf-16-le"), "UTF-16"),
        "nbsp": ((h[:64] + "\n" + "\u00a0" + h[64:]).encode(), "U+00A0) at offset 65 (line 2, column 1)"),
        "quoted": (f'"{h}"'.encode(), "'\"' at offset 0"),
        "nul": (h.encode() + b"\x00", "U+0000"),
    }


@pytest.mark.parametrize("case", list(_damaged()))
def test_mis_encoded_quote_text(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, words = _damaged()[case]
    f = tmp_path / "quote.hex"
    f.write_bytes(data)
    assert main([str(f), str(NEAR.collateral_path), "--now", str(NEAR.now)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("NOT VERIFIED: [input_invalid] at step load") and words in out, out
    assert "version" not in out
    assert main(["parse", str(f), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "input_invalid"


@pytest.mark.parametrize("vec", all_vectors(), ids=lambda v: v.name)
def test_raw_binary_still_read(vec: Vector, tmp_path: Path) -> None:
    f = tmp_path / "quote.bin"
    f.write_bytes(vec.quote)
    assert decode_quote_file(f.read_bytes()) == vec.quote
    assert vec.quote[0] in (3, 4, 5) and vec.quote[1] == 0


@given(st.integers(min_value=0, max_value=len(NEAR.quote.hex()) - 1), st.sampled_from("ghijklmnopqrstuvwxyz\"'#"))
def test_stray_character_position(pos: int, ch: str) -> None:
    assume(not (pos == 1 and ch == "x"))  # "0x..." is the hex prefix, not damage
    h = NEAR.quote.hex()
    damaged = (h[:pos] + ch + h[pos + 1 :]).encode()
    with pytest.raises(VerificationError) as info:
        decode_quote_file(damaged)
    assert info.value.code == "input_invalid"
    assert f"at offset {pos} (line 1, column {pos + 1})" in info.value.message


@given(st.binary(max_size=300))
def test_quote_file_decoding_total(data: bytes) -> None:
    """Any bytes: a raw quote candidate, or a coded error; never another exception."""
    try:
        decode_quote_file(data)
    except VerificationError as err:
        assert err.code == "input_invalid"


# --------------------------------------------------------------------------- trailing bytes


def test_trailing_bytes_reported(capsys: pytest.CaptureFixture[str]) -> None:
    trailing = len(parse_quote(NEAR.quote).trailing_data)
    assert trailing > 0
    args = [str(NEAR.quote_path), str(NEAR.collateral_path), "--now", str(NEAR.now)]
    assert main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["trailing_bytes"] == trailing
    assert main(args) == 0
    assert re.search(rf"^  trailing bytes\s+{trailing} after the quote", capsys.readouterr().out, re.M)
    assert main([*args[:2], "--now", "2020-01-01", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["trailing_bytes"] == trailing
    assert main(["parse", str(NEAR.quote_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["quote"]["trailing_bytes"] == trailing
    assert main(["parse", str(NEAR.quote_path)]) == 0
    assert f"trailing_bytes: {trailing}" in capsys.readouterr().out
    exact = NEAR.quote[: len(NEAR.quote) - trailing]
    assert main(["parse", exact.hex(), "--field", "trailing_bytes"]) == 0
    assert capsys.readouterr().out == "0\n"


@pytest.mark.parametrize(
    "args",
    [
        ["fetch-collateral", "QUOTE", "QUOTE"],
        ["fetch-collateral", "--quote", "QUOTE", "--now", "QUOTE"],
        ["QUOTE", "QUOTE", "QUOTE"],
        ["QUOTE", "/nonexistent/" + "d" * 5000 + ".json"],
        ["parse", "QUOTE", "--field", "QUOTE"],
        ["collateral", "/nonexistent/" + "c" * 9000],
        ["collateral", str(NEAR.collateral_path), "--max-age", "QUOTE"],
    ],
)
def test_no_line_echoes_a_long_argument(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    hex_quote = NEAR.quote.hex()
    assert main([hex_quote if a == "QUOTE" else a for a in args]) == 2
    captured = capsys.readouterr()
    lines = (captured.out + captured.err).splitlines()
    assert lines and max(len(line) for line in lines) < 600, max(lines, key=len)[:700]


def test_fetch_output_to_a_pipe(tmp_path: Path) -> None:
    """`-o /dev/stdout` into a pipe: written in place (a pipe cannot be replaced)."""
    server = PcsServer()
    try:
        serve_vector(server, NEAR)
        p = _cli(
            "fetch-collateral", "--quote", str(NEAR.quote_path), "--pccs-url", server.url, "--now", str(NEAR.now),
            "-o", "/dev/stdout",
        )  # fmt: skip
    finally:
        server.close()
    assert p.returncode == 0, p.stderr
    assert load_collateral(p.stdout) == load_collateral(NEAR.collateral or {})
