"""Fail closed on damaged collateral: only coded VerificationErrors, never internal_error, never a pass."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from tdxverify import VerificationError, Verifier

from .vectors import verifiable_vectors

VEC = next(v for v in verifiable_vectors() if v.name == "tdx-v4-near-contract")
QUOTE = VEC.quote
TEXT = VEC.collateral_path.read_text()  # type: ignore[union-attr]
DOC = json.loads(TEXT)
VERIFIER = Verifier()  # one verifier: damaged collateral must never poison its caches


def outcome(collateral: object) -> str:
    try:
        VERIFIER.verify(QUOTE, collateral, VEC.now)  # type: ignore[arg-type]
    except VerificationError as err:
        assert err.code != "internal_error", err
        assert err.message
        return err.code
    return "ok"


def test_undamaged_verifies() -> None:
    assert outcome(TEXT) == "ok"


@settings(max_examples=600)
@given(st.data())
def test_damaged_collateral_text(data: st.DataObject) -> None:
    buf = bytearray(TEXT.encode())
    pos = data.draw(st.integers(min_value=0, max_value=len(buf) - 1))
    new = data.draw(st.integers(min_value=0, max_value=255).filter(lambda b: b != buf[pos]))
    buf[pos] = new
    result = outcome(bytes(buf))
    if result == "ok":
        # Only bytes no signature covers and no parser reads may change without effect:
        # JSON whitespace between members, or the hex case of a hex-encoded CRL/signature.
        before, after = chr(TEXT.encode()[pos]), chr(new)
        assert before.isspace() or before.lower() == after.lower(), (pos, before, after)
    # Whatever happened, the undamaged collateral still verifies with the same verifier.
    assert outcome(TEXT) == "ok"


FIELDS = sorted(DOC)


@settings(max_examples=400)
@given(st.sampled_from(FIELDS), st.data())
def test_damaged_field(field: str, data: st.DataObject) -> None:
    value = DOC[field]
    choice = data.draw(st.sampled_from(["truncate", "mutate", "retype", "drop"]))
    doc = dict(DOC)
    if choice == "drop":
        del doc[field]
    elif choice == "retype":
        doc[field] = data.draw(st.sampled_from([None, 0, True, [], {}, 1.5]))
    elif choice == "truncate":
        doc[field] = value[: data.draw(st.integers(min_value=0, max_value=max(len(value) - 1, 0)))]
    else:
        pos = data.draw(st.integers(min_value=0, max_value=len(value) - 1))
        doc[field] = value[:pos] + data.draw(st.characters(codec="utf-8")) + value[pos + 1 :]
    result = outcome(doc)
    if result == "ok":
        # Harmless changes only: a hex case change, PEM line layout, or an issuer chain cut
        # right after a whole certificate (the root copy dropped: the pinned root completes it).
        if choice == "truncate":
            assert field.endswith("_chain") and doc[field].rstrip().endswith("-----END CERTIFICATE-----")
        else:
            assert choice == "mutate"
    assert outcome(TEXT) == "ok"
