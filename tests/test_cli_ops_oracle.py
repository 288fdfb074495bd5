"""`fetch-collateral --quote <hex> --output f.json` from a local PCS-shaped server, then f.json fed to
dcap-qvl (``QuoteCollateralV3.from_json`` + verification) and to our ``verify``: the same verdict.

f.json is what the register guide uploads with ``update_collateral``; dcap-qvl is what the contract
runs on it, so dcap-qvl accepting it (compacted, as ``jq -c`` sends it) is the point of the test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tdxverify.cli import main
from tdxverify.testing.pcs import PcsServer

from .oracle import oracle_verify
from .test_cli_ops import ROOT_DER, pcs
from .test_pccs import VECTORS, serve_vector
from .vectors import Vector

pytest.importorskip("dcap_qvl")

pytestmark = pytest.mark.oracle

__all__ = ["pcs"]  # the fixture, imported for this module's tests


@pytest.mark.parametrize("vec", VECTORS, ids=lambda v: v.name)
def test_fetched_file_same_verdict_in_dcap_qvl_and_ours(
    vec: Vector, pcs: PcsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import dcap_qvl

    serve_vector(pcs, vec)
    out = tmp_path / "f.json"
    assert main(["fetch-collateral", "--quote", vec.quote.hex(), "--output", str(out), "--now", str(vec.now)]) == 0
    capsys.readouterr()
    text = out.read_text()
    compact = json.dumps(json.loads(text), separators=(",", ":"))  # `jq -c`
    for form in (text, compact):
        dcap_qvl.QuoteCollateralV3.from_json(form)  # loads, or raises
    theirs = oracle_verify(vec.quote, json.loads(compact), int(vec.now), ROOT_DER.read_bytes())

    rc = main([str(vec.quote_path), str(out), "--now", str(vec.now), "--json"])
    ours = json.loads(capsys.readouterr().out)
    assert (rc == 0) == ours["ok"] == theirs.ok == vec.expected["verdict"]["ok"], (ours["error"], theirs.error)
    if theirs.ok:
        assert ours["status"] == theirs.status == vec.expected["verdict"]["status"]
        assert set(ours["advisory_ids"]) == theirs.advisory_set
    # Both agree with the vector's own collateral file, too.
    assert theirs == oracle_verify(vec.quote, vec.collateral or {}, int(vec.now), ROOT_DER.read_bytes())
