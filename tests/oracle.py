"""Differential oracle: run a quote through dcap-qvl (PyPI, Rust) and report its verdict.

dcap-qvl is a test oracle only (the ``oracle`` extra). Test modules that use
this helper call ``pytest.importorskip("dcap_qvl")`` at module level and mark
their tests ``@pytest.mark.oracle``; importing this module does not import
dcap-qvl, so it is safe to import anywhere.

dcap-qvl 0.7.0's Python API, as used here:

* ``dcap_qvl.QuoteCollateralV3.from_json(text)`` builds its collateral object
  from the QuoteCollateralV3 JSON (hex CRLs and signatures, raw JSON strings;
  extra keys such as ``pck_certificate_chain`` are ignored);
* ``dcap_qvl.verify_with_root_ca(raw_quote, collateral, root_ca_der, now_secs)``
  returns a report with ``.status`` (Intel's status names, e.g. "UpToDate")
  and ``.advisory_ids``, or raises ``ValueError`` ("Verification failed: ...").
  ``now_secs`` is unix seconds as an int.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OracleResult:
    """dcap-qvl's verdict: accepted with a status and advisories, or rejected with its message."""

    ok: bool
    status: str | None
    advisory_ids: tuple[str, ...]
    error: str | None

    @property
    def advisory_set(self) -> frozenset[str]:
        """Advisory IDs as a set (order carries no meaning)."""
        return frozenset(self.advisory_ids)


def oracle_verify(quote_bytes: bytes, collateral: Mapping[str, Any], now: int, root_ca_der: bytes) -> OracleResult:
    """Verify with dcap-qvl; every failure (malformed input, a Rust panic) is a rejection."""
    import dcap_qvl

    try:
        col = dcap_qvl.QuoteCollateralV3.from_json(json.dumps(dict(collateral)))
        report = dcap_qvl.verify_with_root_ca(bytes(quote_bytes), col, bytes(root_ca_der), int(now))
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # pyo3 turns Rust panics into PanicException, a BaseException
        return OracleResult(False, None, (), f"{type(exc).__name__}: {exc}")
    return OracleResult(True, str(report.status), tuple(str(a) for a in report.advisory_ids), None)
