"""Event-log replay on the real vectors, the log shapes dstack serves, hostile logs, and verify(event_log=...)."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import pytest

from tdxverify import VerificationError, verify
from tdxverify.eventlog import (
    MAX_EVENT_LOG_SIZE,
    detect_format,
    load_event_log,
    parse_ccel,
    parse_ccel_table,
    parse_event_log,
)

from .eventlog_builders import RawEvent, ccel_log, runtime_digest, spec_id_event
from .vectors import VECTORS_DIR, Vector, event_log_vectors

MPC = VECTORS_DIR / "tdx-v4-near-mpc-dstack"
GCP = VECTORS_DIR / "tdx-v4-gcp-cos-ccel"
MPC_EXPECTED = json.loads((MPC / "expected.json").read_text())
GCP_EXPECTED = json.loads((GCP / "expected.json").read_text())
TCB_INFO = json.loads((MPC / "tcb_info.json").read_text())
DSTACK_TYPE = 0x08000001


def rtmrs(parsed: dict[str, str]) -> list[str]:
    return [parsed[f"rtmr{i}"] for i in range(4)]


def test_dstack_vector_replays_to_the_quote_and_names_its_events() -> None:
    log = load_event_log(MPC / "tcb_info.json")
    assert log.format == "dstack"
    assert [r.hex() for r in log.rtmrs] == rtmrs(MPC_EXPECTED["parsed"])
    assert len(log.events) == 29
    assert log.compose_hash is not None and log.compose_hash.hex() == TCB_INFO["compose_hash"]
    assert log.app_id is not None and log.app_id.hex() == "2911e1f733466216dedb862d6d669e11256ee7a3"
    names = [e.name for e in log.events if e.rtmr == 3]
    assert names[:5] == ["system-preparing", "app-id", "compose-hash", "instance-id", "boot-mr-done"]
    assert log.value("key-provider") is not None and b"local-sgx" in log.value("key-provider")  # type: ignore[operator]
    assert log.os_image_hash is None  # this dstack version logs no os-image-hash event
    # The compose hash is what the TD's MRCONFIGID carries too (dstack's convention), byte for byte.
    assert MPC_EXPECTED["parsed"]["mr_config_id"][2:66] == log.compose_hash.hex()
    assert all(e.data_bound for e in log.events if e.rtmr == 3)


def test_ccel_vector_replays_rtmr0_to_3() -> None:
    log, spec = parse_ccel((GCP / "ccel_data.bin").read_bytes())
    assert len(log.events) == GCP_EXPECTED["event_log"]["events"] == 43
    assert [r.hex() for r in log.rtmrs] == rtmrs(GCP_EXPECTED["parsed"])
    assert spec.algorithms == ((0x000C, 48),)
    kinds = {e.type_name for e in log.events}
    assert {
        "EV_EFI_PLATFORM_FIRMWARE_BLOB2",
        "EV_EFI_VARIABLE_DRIVER_CONFIG",
        "EV_EFI_VARIABLE_BOOT",
        "EV_EFI_BOOT_SERVICES_APPLICATION",
        "EV_SEPARATOR",
        "EV_IPL",
        "EV_EFI_ACTION",
    } <= kinds
    secure_boot = log.events[2]
    assert secure_boot.description is not None and secure_boot.description.endswith(":SecureBoot (1 bytes of data)")
    cmdline = log.value("kernel-cmdline")
    assert cmdline is not None and cmdline.startswith(b"/syslinux/vmlinuz.A init=/usr/lib/systemd/systemd")
    # The ACPI table says where the log lives and how long its area is: exactly the file's size.
    table = parse_ccel_table((GCP / "ccel_table.bin").read_bytes())
    assert (table.cc_type, table.log_area_length) == (2, len((GCP / "ccel_data.bin").read_bytes()))
    assert table.log_area_address == 0xBEDBF000
    # The quote was requested with nonce.bin as its report data.
    assert (GCP / "nonce.bin").read_bytes().hex() == GCP_EXPECTED["parsed"]["report_data"]
    # Format detection and the loader agree with the direct parser.
    assert detect_format((GCP / "ccel_data.bin").read_bytes()) == "ccel"
    assert load_event_log(GCP / "ccel_data.bin").rtmrs == log.rtmrs


def test_event_log_vectors_are_found() -> None:
    assert {v.name for v in event_log_vectors()} >= {"tdx-v4-near-mpc-dstack", "tdx-v4-gcp-cos-ccel"}


@pytest.mark.parametrize("vec", event_log_vectors(), ids=lambda v: v.name)
def test_every_event_log_vector_replays_to_its_quote(vec: Vector) -> None:
    assert vec.event_log_path is not None
    log = load_event_log(vec.event_log_path)
    assert [r.hex() for r in log.rtmrs] == rtmrs(vec.expected["parsed"])


@pytest.mark.parametrize(
    "shape",
    ["bare list", "event_log string", "tcb_info string", "tcb_info object", "GetQuote response"],
)
def test_dstack_shapes(shape: str) -> None:
    events = TCB_INFO["event_log"]
    doc: object = {
        "bare list": events,
        "event_log string": {"event_log": json.dumps(events)},
        "tcb_info string": {"app_id": "x", "tcb_info": json.dumps(TCB_INFO)},
        "tcb_info object": {"tcb_info": TCB_INFO},
        "GetQuote response": {"quote": "00", "event_log": json.dumps(events)},
    }[shape]
    log = parse_event_log(json.dumps(doc))
    assert [r.hex() for r in log.rtmrs] == rtmrs(MPC_EXPECTED["parsed"])


def _mutated_events(**change: object) -> str:
    events = [dict(e) for e in TCB_INFO["event_log"]]
    idx = next(i for i, e in enumerate(events) if e["event"] == "compose-hash")
    events[idx].update(change)
    return json.dumps(events)


@pytest.mark.parametrize(
    "change,words",
    [
        ({"event_payload": "00" * 32}, "the event was altered"),
        ({"event": "compose-hash2"}, "the event was altered"),
        ({"event_type": DSTACK_TYPE + 1}, "the event was altered"),
        ({"digest": "00" * 48}, "the event was altered"),
        ({"digest": "00" * 47}, "47 bytes, not 48"),
        ({"digest": 5}, "hex string"),
        ({"imr": 4}, "imr must be an integer from 0 to 3"),
        ({"imr": True}, "imr must be an integer"),
        ({"event_payload": "zz"}, "not hex"),
        ({"event_payload": "00 11"}, "other than hex digits"),
        ({"extra": 1}, "unknown key"),
    ],
)
def test_altered_dstack_events_are_refused(change: dict[str, object], words: str) -> None:
    with pytest.raises(VerificationError) as info:
        parse_event_log(_mutated_events(**change))
    assert info.value.code == "event_log_invalid"
    assert words in info.value.message


def test_tcb_info_claims_are_cross_checked() -> None:
    lying = dict(TCB_INFO, rtmr3="00" * 48)
    with pytest.raises(VerificationError) as info:
        parse_event_log(json.dumps(lying))
    assert info.value.code == "event_log_mismatch" and "RTMR3" in info.value.message
    lying = dict(TCB_INFO, compose_hash="11" * 32)
    with pytest.raises(VerificationError) as info:
        parse_event_log(json.dumps(lying))
    assert info.value.code == "event_log_invalid" and "compose_hash" in info.value.message


@pytest.mark.parametrize(
    "text,words",
    [
        ("[1]", "not an object"),
        ('{"foo": []}', "neither an 'event_log' nor a 'tcb_info'"),
        ('{"event_log": "[not json"}', "embedded JSON string"),
        ('[{"imr": 3}, ]', "not valid JSON"),
        ('{"event_log": [], "event_log": []}', "more than once"),
        ("[" * 100000, "nested too deeply"),
        ('{"tcb_info": {"tcb_info": {"tcb_info": []}}}', "expected a list of events"),
    ],
)
def test_malformed_dstack_documents(text: str, words: str) -> None:
    with pytest.raises(VerificationError) as info:
        parse_event_log(text, "dstack")
    assert info.value.code == "event_log_invalid"
    assert words in info.value.message


def test_imr3_without_recomputable_digest_and_named_boot_events() -> None:
    ok = RawEvent(3, DSTACK_TYPE, runtime_digest(DSTACK_TYPE, "app-id", b"\x01"), b"\x01", "app-id")
    entry = {"imr": 1, "event_type": 4, "digest": "00" * 48, "event": "", "event_payload": "00000000"}
    doc = [entry]
    with pytest.raises(VerificationError, match="EV_SEPARATOR"):
        parse_event_log(json.dumps(doc))
    named_boot = {"imr": 1, "event_type": 0xD, "digest": "00" * 48, "event": "compose-hash", "event_payload": ""}
    with pytest.raises(VerificationError, match="only runtime events"):
        parse_event_log(json.dumps([named_boot]))
    log = parse_event_log(
        json.dumps(
            [
                {
                    "imr": 3,
                    "event_type": ok.event_type,
                    "digest": ok.digest.hex(),
                    "event": "app-id",
                    "event_payload": "01",
                }
            ]
        )
    )
    assert log.app_id == b"\x01"


def _ccel(events: list[RawEvent], padding: int = 64) -> bytes:
    return ccel_log(events, padding)


SEP = RawEvent(1, 4, hashlib.sha384(bytes(4)).digest(), bytes(4))


MALFORMED_CCEL = [
    (b"\x00\x00\x00\x00\x03\x00\x00", "needs 4 bytes"),
    (struct.pack("<II", 0, 1) + bytes(40), "not EV_NO_ACTION"),
    (struct.pack("<II", 9, 3) + bytes(40), "MR index 9"),
    (struct.pack("<II", 0, 3) + b"\x01" + bytes(19) + bytes(4), "SHA-1 digest field is not zero"),
    (struct.pack("<II", 0, 3) + bytes(20) + struct.pack("<I", 0xFFFFFFF0), "needs 4294967280 bytes"),
    (spec_id_event().replace(b"Spec ID Event03", b"Spec ID Event02"), "not a Spec ID event"),
    (spec_id_event(((0x000B, 32),)), "no SHA-384"),
    (spec_id_event(((0x000C, 32),)), "digest size of 32"),
    (spec_id_event(((0x000C, 48), (0x000C, 48))), "twice"),
    (spec_id_event() + struct.pack("<III", 1, 4, 2), "carries 2 digests"),
    (spec_id_event() + struct.pack("<III", 1, 4, 1) + struct.pack("<H", 0xB), "not declared"),
    (spec_id_event() + struct.pack("<III", 1, 4, 1) + struct.pack("<H", 0xC) + bytes(10), "needs 48 bytes"),
    (_ccel([SEP], 0)[:-2], "needs 4 bytes, only 2 remain"),
    (_ccel([SEP], 0) + b"\x01", "non-padding bytes"),
    (_ccel([SEP]) + b"\x01", "non-padding bytes"),
    (_ccel([RawEvent(5, 4, SEP.digest, bytes(4))]), "MR index 5"),
    (_ccel([RawEvent(0, 4, SEP.digest, bytes(4))]), "MR index 0"),
    (_ccel([RawEvent(1, 4, bytes(48), bytes(4))]), "not the SHA-384 of its data"),
    (_ccel([RawEvent(1, 0x80000007, bytes(48), b"Calling")]), "EV_EFI_ACTION"),
]


@pytest.mark.parametrize("data,words", MALFORMED_CCEL, ids=[w for _, w in MALFORMED_CCEL])
def test_malformed_ccel(data: bytes, words: str) -> None:
    with pytest.raises(VerificationError) as info:
        parse_event_log(data, "ccel")
    assert info.value.code == "event_log_invalid"
    assert words in info.value.message


def test_ccel_table_errors() -> None:
    table = (GCP / "ccel_table.bin").read_bytes()
    for bad, words in (
        (table[:55], "not an ACPI CCEL table"),
        (b"XCEL" + table[4:], "not an ACPI CCEL table"),
        (table + b"\0", "says it is 56 bytes"),
        (table[:40] + b"\x01" + table[41:], "checksum"),
    ):
        with pytest.raises(VerificationError) as info:
            parse_ccel_table(bad)
        assert info.value.code == "event_log_invalid" and words in info.value.message


def test_ccel_padding_and_no_action() -> None:
    no_action = RawEvent(1, 3, bytes(48), b"StartupLocality\0\x03")
    for pad in (b"", bytes(100), b"\xff" * 100, bytes(3)):
        log = parse_event_log(_ccel([SEP, no_action], 0) + pad, "ccel")
        assert [e.rtmr for e in log.events] == [0, None]
        assert log.events[1].description == "StartupLocality"


def test_size_limit_and_detection() -> None:
    with pytest.raises(VerificationError) as info:
        parse_event_log(b"[" + b" " * MAX_EVENT_LOG_SIZE + b"]")
    assert info.value.code == "input_too_large"
    assert parse_event_log(b"[ ]", max_size=3).events == ()
    with pytest.raises(VerificationError) as info:
        parse_event_log(b"[]", max_size=1)
    assert info.value.code == "input_too_large"
    for junk in (b"", b"hello", b"\x00" * 8):
        with pytest.raises(VerificationError) as info:
            parse_event_log(junk)
        assert info.value.code == "event_log_invalid" and "--event-log-format" in info.value.message
    assert detect_format(b"\xef\xbb\xbf  [") == "dstack"
    with pytest.raises(VerificationError) as info:
        parse_event_log(b"\xff\xfe[]", "dstack")
    assert info.value.code == "event_log_invalid"
    with pytest.raises(VerificationError) as info:
        load_event_log(Path("/nonexistent/log.json"))
    assert info.value.code == "input_invalid"


# ----------------------------------------------------------------------------- verify(event_log=...)


def _verify_mpc(event_log: object) -> object:
    return verify(
        (MPC / "quote.bin").read_bytes(),
        MPC / "collateral.json",
        now=MPC_EXPECTED["now"],
        event_log=event_log,  # type: ignore[arg-type]
    )


def test_verify_with_the_real_dstack_log() -> None:
    v = _verify_mpc(MPC / "tcb_info.json")
    assert v.event_log is not None  # type: ignore[attr-defined]
    doc = v.to_dict()  # type: ignore[attr-defined]
    assert doc["event_log"]["app_compose_hash"] == TCB_INFO["compose_hash"]
    assert doc["event_log"]["rtmrs"]["rtmr3"] == MPC_EXPECTED["parsed"]["rtmr3"]
    assert len(doc["event_log"]["events"]) == 29
    assert _verify_mpc(None).event_log is None  # type: ignore[attr-defined]


def test_verify_with_another_log_names_the_first_differing_rtmr() -> None:
    with pytest.raises(VerificationError) as info:
        _verify_mpc(GCP / "ccel_data.bin")
    err = info.value
    assert err.code == "event_log_mismatch" and err.step == "event_log"
    assert "RTMR0 to " + GCP_EXPECTED["parsed"]["rtmr0"] in err.message
    assert MPC_EXPECTED["parsed"]["rtmr0"] in err.message
    # Only RTMR3 differs: one runtime event dropped.
    events = [e for e in TCB_INFO["event_log"] if e["event"] != "mpc-image-digest"]
    with pytest.raises(VerificationError) as info:
        _verify_mpc(json.dumps(events))
    assert info.value.code == "event_log_mismatch" and "RTMR3" in info.value.message
    assert "RTMR0" not in info.value.message


def test_event_log_for_an_sgx_quote_is_refused() -> None:
    sgx = VECTORS_DIR / "sgx-v3-phala"
    exp = json.loads((sgx / "expected.json").read_text())
    with pytest.raises(VerificationError) as info:
        verify((sgx / "quote.bin").read_bytes(), sgx / "collateral.json", now=exp["now"], event_log=b"[]")
    assert info.value.code == "event_log_invalid" and "SGX" in info.value.message
