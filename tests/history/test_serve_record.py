"""``tdxverify serve --record``: every verification the service answers is in the history (both databases).

The service runs as documented, in a subprocess on 127.0.0.1; requests bring
their own (forged) collateral, so nothing is fetched.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tdxverify.history import History, Window

from ..server_support import ServeProcess, http, post_json
from .fakes import COLLATERAL, FORGE, NEW, NOW, OLD, key_of

AT = datetime.fromtimestamp(NOW, timezone.utc)


def _quote(name: str, rtmr3: bytes, **kw: object) -> str:
    return base64.b64encode(FORGE.quote(rtmr3=rtmr3, report_data=key_of(name) + bytes(32), **kw)).decode()


def test_serve_records_each_verification(db_url: str, tmp_path: Path) -> None:
    root = tmp_path / "root.der"
    root.write_bytes(FORGE.root_ca_der)
    args = ["--now", str(NOW), "--root-ca", str(root), "--record", db_url, "--log-level", "warning"]
    policy = {"accepted_statuses": ["UpToDate"], "measurements": {"rtmr3": [OLD.hex()]}}
    with ServeProcess(args, tmp_path) as srv:
        ok = post_json(srv.url, {"quote": _quote("w1", OLD), "collateral": COLLATERAL, "policy": policy})
        assert ok.status == 200 and ok.json()["ok"] is True
        rejected = post_json(srv.url, {"quote": _quote("w2", NEW), "collateral": COLLATERAL, "policy": policy})
        assert rejected.status == 200 and rejected.json()["error"]["code"] == "policy_violation"
        forged = post_json(srv.url, {"quote": _quote("w3", OLD, corrupt="quote_signature"), "collateral": COLLATERAL})
        assert forged.status == 200 and forged.json()["error"]["code"] == "quote_signature_invalid"
        malformed = http(srv.url + "/v1/verify", "POST", b"{not json", {"Content-Type": "application/json"})
        assert malformed.status == 400  # a malformed request verified nothing: not recorded
        code = srv.stop()  # SIGTERM: the shutdown commits what is queued before the process exits
    # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught
    assert code in (0, -15), (tmp_path / "serve.log").read_text()
    with History(db_url) as h:
        rows = h.outcomes(Window(start=AT - timedelta(minutes=1), end=AT + timedelta(minutes=1)))
    assert [(r.ok, r.error_code, r.source) for r in rows] == [
        (True, None, "serve"),
        (False, "policy_violation", "serve"),
        (False, "quote_signature_invalid", "serve"),
    ]
    first, second, third = rows
    assert first.worker == "key:" + key_of("w1").hex() and first.rtmr3 == OLD.hex() and first.attested_at == AT
    assert second.worker == "key:" + key_of("w2").hex() and second.rtmr3 == NEW.hex()
    # The forged quote's report data proves nothing: no identity, no measurements; its kind and hash are kept.
    assert third.worker is None and third.rtmr3 is None and third.tee_type == "TDX" and third.quote_sha256


def test_serve_bad_record_url_does_not_start(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "tdxverify", "serve", "--port", "0", "--record", "mysql://x/y"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "history_url_invalid" in done.stderr
