"""Strict parsing of Intel TCB info and QE identity (tdxverify.tcbinfo)."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tdxverify.errors import CollateralError
from tdxverify.tcbinfo import (
    TCB_STATUSES,
    QeIdentity,
    TcbInfo,
    parse_qe_identity,
    parse_tcb_info,
)

from .vectors import VECTORS_DIR

PCS_DIR = VECTORS_DIR / "intel-pcs-responses"
COLLATERAL_FILES = sorted(VECTORS_DIR.glob("*/collateral.json"))


def _pcs_inner(path: Path) -> tuple[str, bytes]:
    """The exact served bytes of the one member besides ``signature`` in a PCS body."""
    raw = path.read_bytes()
    obj = json.loads(raw)
    (member,) = (k for k in obj if k != "signature")
    # The bodies are compact JSON: {"<member>":<value>,"signature":"..."}.
    head = b'{"' + member.encode() + b'":'
    assert raw.startswith(head)
    end = raw.rindex(b',"signature"')
    inner = raw[len(head) : end]
    assert json.loads(inner) == obj[member]
    return member, inner


def _collateral(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _tdx_tcb_info() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_collateral(VECTORS_DIR / "tdx-v4-phala-uptodate/collateral.json")["tcb_info"])
    return data


def _qe_identity() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_collateral(VECTORS_DIR / "tdx-v4-phala-uptodate/collateral.json")["qe_identity"])
    return data


def _sgx_v2_tcb_info() -> dict[str, Any]:
    """An SGX TCB info version 2 built from the SGX vector's version 3 levels."""
    v3: dict[str, Any] = json.loads(_collateral(VECTORS_DIR / "sgx-v3-phala/collateral.json")["tcb_info"])
    levels = []
    for lv in v3["tcbLevels"]:
        tcb = {f"sgxtcbcomp{i + 1:02d}svn": c["svn"] for i, c in enumerate(lv["tcb"]["sgxtcbcomponents"])}
        tcb["pcesvn"] = lv["tcb"]["pcesvn"]
        levels.append({**lv, "tcb": tcb})
    out = {k: v for k, v in v3.items() if k not in ("id", "tcbLevels")}
    out["version"] = 2
    out["tcbLevels"] = levels
    return out


def _set(obj: Any, path: list[Any], value: Any) -> Any:
    out = copy.deepcopy(obj)
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return out


def _delete(obj: Any, path: list[Any]) -> Any:
    out = copy.deepcopy(obj)
    target = out
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return out


def _tcb_error(data: Any) -> CollateralError:
    with pytest.raises(CollateralError) as info:
        parse_tcb_info(json.dumps(data))
    err = info.value
    assert err.code == "collateral_format"
    assert err.step == "tcb_info"
    return err


def _qe_error(data: Any) -> CollateralError:
    with pytest.raises(CollateralError) as info:
        parse_qe_identity(json.dumps(data))
    err = info.value
    assert err.code == "collateral_format"
    assert err.step == "qe_identity"
    return err


# ------------------------------------------------------------------ real collateral


@pytest.mark.parametrize("path", COLLATERAL_FILES, ids=lambda p: p.parent.name)
def test_real_collateral_parses(path: Path) -> None:
    coll = _collateral(path)
    tcb = parse_tcb_info(coll["tcb_info"])
    src = json.loads(coll["tcb_info"])
    assert isinstance(tcb, TcbInfo)
    assert tcb.id == src["id"]
    assert tcb.version == src["version"] == 3
    assert tcb.fmspc == bytes.fromhex(src["fmspc"])
    assert tcb.pce_id == bytes.fromhex(src["pceId"])
    assert tcb.tcb_evaluation_data_number == src["tcbEvaluationDataNumber"]
    assert tcb.issue_date.tzinfo is not None
    assert tcb.issue_date.isoformat().replace("+00:00", "Z") == src["issueDate"]
    assert tcb.next_update.isoformat().replace("+00:00", "Z") == src["nextUpdate"]
    assert len(tcb.tcb_levels) == len(src["tcbLevels"])
    for level, lsrc in zip(tcb.tcb_levels, src["tcbLevels"], strict=True):
        assert level.sgx_svns == tuple(c["svn"] for c in lsrc["tcb"]["sgxtcbcomponents"])
        assert level.pce_svn == lsrc["tcb"]["pcesvn"]
        assert level.tcb_status == lsrc["tcbStatus"]
        assert level.advisory_ids == tuple(lsrc.get("advisoryIDs", ()))
        if tcb.id == "TDX":
            assert level.tdx_svns == tuple(c["svn"] for c in lsrc["tcb"]["tdxtcbcomponents"])
        else:
            assert level.tdx_components is None
    if tcb.id == "TDX":
        assert tcb.tdx_module is not None
        assert tcb.tdx_module.mrsigner == bytes.fromhex(src["tdxModule"]["mrsigner"])
        assert len(tcb.tdx_module_identities) == len(src.get("tdxModuleIdentities", []))
        for ident, isrc in zip(tcb.tdx_module_identities, src["tdxModuleIdentities"], strict=True):
            assert ident.id == isrc["id"]
            assert [lv.isvsvn for lv in ident.tcb_levels] == [lv["tcb"]["isvsvn"] for lv in isrc["tcbLevels"]]
    else:
        assert tcb.tdx_module is None
        assert tcb.tdx_module_identities == ()

    qe = parse_qe_identity(coll["qe_identity"].encode())
    qsrc = json.loads(coll["qe_identity"])
    assert isinstance(qe, QeIdentity)
    assert qe.id == qsrc["id"]
    assert qe.mrsigner == bytes.fromhex(qsrc["mrsigner"])
    assert qe.isvprodid == qsrc["isvprodid"]
    assert qe.attributes_mask == bytes.fromhex(qsrc["attributesMask"])
    assert [lv.isvsvn for lv in qe.tcb_levels] == [lv["tcb"]["isvsvn"] for lv in qsrc["tcbLevels"]]
    assert qe.id == ("TD_QE" if tcb.id == "TDX" else "QE")


@pytest.mark.parametrize("path", sorted(PCS_DIR.glob("*.json")), ids=lambda p: p.name)
def test_real_pcs_responses_parse(path: Path) -> None:
    member, inner = _pcs_inner(path)
    if member == "tcbInfo":
        tcb = parse_tcb_info(inner)
        assert tcb.id == "TDX"
        assert tcb.fmspc == bytes.fromhex(json.loads(inner)["fmspc"])
    else:
        assert member == "enclaveIdentity"
        qe = parse_qe_identity(inner)
        assert qe.id == "TD_QE"
        assert qe.isvprodid == 2


def test_tcb_info_without_module_identities() -> None:
    _, inner = _pcs_inner(PCS_DIR / "tdx-tcbinfo-v3.json")
    tcb = parse_tcb_info(inner)
    assert tcb.tdx_module is not None
    assert tcb.tdx_module_identities == ()


def test_lowercase_fmspc_accepted() -> None:
    tcb = parse_tcb_info(_collateral(VECTORS_DIR / "tdx-v4-near-contract/collateral.json")["tcb_info"])
    assert tcb.fmspc_hex == "20A06F000000"


def test_dates_are_aware_utc() -> None:
    tcb = parse_tcb_info(json.dumps(_set(_tdx_tcb_info(), ["issueDate"], "2025-09-02T07:41:59Z")))
    assert tcb.issue_date == datetime(2025, 9, 2, 7, 41, 59, tzinfo=timezone.utc)


def test_sgx_v2_parses() -> None:
    tcb = parse_tcb_info(json.dumps(_sgx_v2_tcb_info()))
    assert tcb.id == "SGX"
    assert tcb.version == 2
    assert tcb.tcb_levels[0].sgx_svns == tuple(
        c["svn"]
        for c in json.loads(_collateral(VECTORS_DIR / "sgx-v3-phala/collateral.json")["tcb_info"])["tcbLevels"][0][
            "tcb"
        ]["sgxtcbcomponents"]
    )
    assert tcb.tcb_levels[0].tdx_components is None


def test_unknown_fields_ignored() -> None:
    data = _set(_tdx_tcb_info(), ["someFutureField"], {"x": [1, 2]})
    data = _set(data, ["tcbLevels", 0, "extra"], True)
    assert parse_tcb_info(json.dumps(data)) == parse_tcb_info(json.dumps(_tdx_tcb_info()))


def test_bytes_and_str_inputs_agree() -> None:
    text = json.dumps(_tdx_tcb_info(), indent=2)
    assert parse_tcb_info(text) == parse_tcb_info(text.encode())


# ------------------------------------------------------------------ negative: JSON level


def test_duplicate_key_rejected() -> None:
    text = json.dumps(_tdx_tcb_info())
    dup = text.replace('"version": 3', '"version": 3, "version": 3', 1)
    with pytest.raises(CollateralError) as info:
        parse_tcb_info(dup)
    assert info.value.code == "collateral_format"
    assert "'version' more than once" in info.value.message


def test_nested_duplicate_key_rejected() -> None:
    text = json.dumps(_qe_identity())
    dup = text.replace('{"isvsvn": 4}', '{"isvsvn": 4, "isvsvn": 9}', 1)
    assert dup != text
    with pytest.raises(CollateralError, match="more than once"):
        parse_qe_identity(dup)


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xfe{}",
        b"[]",
        b"42",
        b"null",
        b"",
        b"{",
        b'"tcbInfo"',
        b'{"version": NaN}',
        b'{"version": 1e999}',
    ],
)
def test_not_a_json_object(raw: bytes) -> None:
    with pytest.raises(CollateralError) as info:
        parse_tcb_info(raw)
    assert info.value.code == "collateral_format"
    assert "tcbInfo" in info.value.message


def test_invalid_utf8_rejected() -> None:
    raw = json.dumps(_tdx_tcb_info()).encode().replace(b'"TDX"', b'"TD\xc3"', 1)
    with pytest.raises(CollateralError, match="UTF-8"):
        parse_tcb_info(raw)


def test_non_text_input_rejected() -> None:
    with pytest.raises(CollateralError):
        parse_tcb_info(123)  # type: ignore[arg-type]


# ------------------------------------------------------------------ negative: fields


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        (["version"], True, "tcbInfo.version must be an integer"),
        (["version"], 3.0, "tcbInfo.version must be an integer"),
        (["version"], "3", "tcbInfo.version must be an integer"),
        (["version"], 4, "tcbInfo.version is 4"),
        (["version"], 1, "tcbInfo.version is 1"),
        (["id"], "TDX2", "tcbInfo.id"),
        (["id"], 3, "tcbInfo.id must be a string"),
        (["fmspc"], "B0C06F0000", "tcbInfo.fmspc must be 12 hex digits"),
        (["fmspc"], "B0C06F00000G", "tcbInfo.fmspc must be 12 hex digits"),
        (["fmspc"], "B0C06F 00000", "tcbInfo.fmspc must be 12 hex digits"),
        (["pceId"], "000", "tcbInfo.pceId"),
        (["issueDate"], "2025-06-19 10:16:03", "tcbInfo.issueDate"),
        (["issueDate"], "2025-06-19T10:16:03+00:00", "tcbInfo.issueDate"),
        (["issueDate"], "2025-02-30T10:16:03Z", "tcbInfo.issueDate is not a valid date"),
        (["nextUpdate"], 1750329147, "tcbInfo.nextUpdate must be a string"),
        (["tcbType"], None, "tcbInfo.tcbType must be an integer"),
        (["tcbEvaluationDataNumber"], -1, "tcbInfo.tcbEvaluationDataNumber must be between"),
        (["tcbEvaluationDataNumber"], False, "tcbInfo.tcbEvaluationDataNumber must be an integer"),
        (["tdxModule"], [], "tcbInfo.tdxModule must be a JSON object"),
        (["tdxModule", "mrsigner"], "00" * 47, "tcbInfo.tdxModule.mrsigner must be 96 hex digits"),
        (["tdxModule", "attributesMask"], "FF" * 16, "tcbInfo.tdxModule.attributesMask must be 16 hex"),
        (["tdxModuleIdentities"], {}, "tcbInfo.tdxModuleIdentities must be a JSON array"),
        (["tdxModuleIdentities", 0, "id"], None, "tcbInfo.tdxModuleIdentities[0].id must be a string"),
        (["tdxModuleIdentities", 1, "id"], "tdx_03", "tcbInfo.tdxModuleIdentities[1].id repeats"),
        (
            ["tdxModuleIdentities", 1, "tcbLevels"],
            [],
            "tcbInfo.tdxModuleIdentities[1].tcbLevels must not be empty",
        ),
        (
            ["tdxModuleIdentities", 1, "tcbLevels", 1, "tcb", "isvsvn"],
            4,
            "tcbInfo.tdxModuleIdentities[1].tcbLevels[1] repeats isvsvn 4",
        ),
        (
            ["tdxModuleIdentities", 1, "tcbLevels", 0, "tcb", "isvsvn"],
            256,
            "tcbInfo.tdxModuleIdentities[1].tcbLevels[0].tcb.isvsvn must be between 0 and 255",
        ),
        (
            ["tdxModuleIdentities", 0, "tcbLevels", 0, "tcbStatus"],
            "Fine",
            "tcbInfo.tdxModuleIdentities[0].tcbLevels[0].tcbStatus has unknown status",
        ),
        (
            ["tdxModuleIdentities", 1, "tcbLevels", 1, "tcbStatus"],
            "ConfigurationNeeded",
            "tcbInfo.tdxModuleIdentities[1].tcbLevels[1].tcbStatus has unknown status",
        ),
        (["tcbLevels"], [], "tcbInfo.tcbLevels must not be empty"),
        (["tcbLevels"], None, "tcbInfo.tcbLevels must be a JSON array"),
        (["tcbLevels", 1], "level", "tcbInfo.tcbLevels[1] must be a JSON object"),
        (["tcbLevels", 1, "tcb"], [], "tcbInfo.tcbLevels[1].tcb must be a JSON object"),
        (
            ["tcbLevels", 1, "tcb", "pcesvn"],
            65536,
            "tcbInfo.tcbLevels[1].tcb.pcesvn must be between 0 and 65535",
        ),
        (["tcbLevels", 1, "tcb", "pcesvn"], True, "tcbInfo.tcbLevels[1].tcb.pcesvn must be an integer"),
        (
            ["tcbLevels", 1, "tcb", "sgxtcbcomponents", 2, "svn"],
            True,
            "tcbInfo.tcbLevels[1].tcb.sgxtcbcomponents[2].svn must be an integer",
        ),
        (
            ["tcbLevels", 1, "tcb", "sgxtcbcomponents", 2, "svn"],
            256,
            "tcbInfo.tcbLevels[1].tcb.sgxtcbcomponents[2].svn must be between 0 and 255",
        ),
        (
            ["tcbLevels", 1, "tcb", "sgxtcbcomponents", 2, "svn"],
            -1,
            "tcbInfo.tcbLevels[1].tcb.sgxtcbcomponents[2].svn must be between",
        ),
        (
            ["tcbLevels", 0, "tcb", "sgxtcbcomponents", 0, "category"],
            7,
            "tcbInfo.tcbLevels[0].tcb.sgxtcbcomponents[0].category must be a string",
        ),
        (
            ["tcbLevels", 0, "tcb", "tdxtcbcomponents", 15],
            7,
            "tcbInfo.tcbLevels[0].tcb.tdxtcbcomponents[15] must be a JSON object",
        ),
        (["tcbLevels", 0, "tcbStatus"], "uptodate", "tcbInfo.tcbLevels[0].tcbStatus has unknown status"),
        (
            ["tcbLevels", 0, "tcbStatus"],
            "TDRelaunchAdvised",
            "tcbInfo.tcbLevels[0].tcbStatus has unknown status",
        ),
        (["tcbLevels", 0, "tcbDate"], "yesterday", "tcbInfo.tcbLevels[0].tcbDate"),
        (
            ["tcbLevels", 1, "advisoryIDs"],
            "INTEL-SA-00106",
            "tcbInfo.tcbLevels[1].advisoryIDs must be a JSON array",
        ),
        (["tcbLevels", 1, "advisoryIDs", 3], 5, "tcbInfo.tcbLevels[1].advisoryIDs[3] must be a string"),
    ],
)
def test_bad_tcb_info_field(path: list[Any], value: Any, where: str) -> None:
    err = _tcb_error(_set(_tdx_tcb_info(), path, value))
    assert where in err.message


@pytest.mark.parametrize(
    ("path", "where"),
    [
        (["version"], "tcbInfo.version is missing"),
        (["id"], "tcbInfo.id is missing"),
        (["issueDate"], "tcbInfo.issueDate is missing"),
        (["nextUpdate"], "tcbInfo.nextUpdate is missing"),
        (["fmspc"], "tcbInfo.fmspc is missing"),
        (["pceId"], "tcbInfo.pceId is missing"),
        (["tcbType"], "tcbInfo.tcbType is missing"),
        (["tcbEvaluationDataNumber"], "tcbInfo.tcbEvaluationDataNumber is missing"),
        (["tdxModule"], "tcbInfo.tdxModule is missing"),
        (["tdxModule", "attributes"], "tcbInfo.tdxModule.attributes is missing"),
        (["tdxModuleIdentities", 0, "mrsigner"], "tcbInfo.tdxModuleIdentities[0].mrsigner is missing"),
        (
            ["tdxModuleIdentities", 0, "tcbLevels", 0, "tcbDate"],
            "tdxModuleIdentities[0].tcbLevels[0].tcbDate is",
        ),
        (["tcbLevels"], "tcbInfo.tcbLevels is missing"),
        (["tcbLevels", 0, "tcb"], "tcbInfo.tcbLevels[0].tcb is missing"),
        (["tcbLevels", 0, "tcbStatus"], "tcbInfo.tcbLevels[0].tcbStatus is missing"),
        (["tcbLevels", 0, "tcbDate"], "tcbInfo.tcbLevels[0].tcbDate is missing"),
        (["tcbLevels", 1, "tcb", "pcesvn"], "tcbInfo.tcbLevels[1].tcb.pcesvn is missing"),
        (["tcbLevels", 1, "tcb", "tdxtcbcomponents"], "tcbInfo.tcbLevels[1].tcb.tdxtcbcomponents is missing"),
        (["tcbLevels", 1, "tcb", "sgxtcbcomponents", 4, "svn"], "sgxtcbcomponents[4].svn is missing"),
        (
            ["tcbLevels", 1, "tcb", "sgxtcbcomponents", 4],
            "sgxtcbcomponents must have exactly 16 components, has 15",
        ),
        (
            ["tcbLevels", 1, "tcb", "tdxtcbcomponents", 0],
            "tdxtcbcomponents must have exactly 16 components, has 15",
        ),
    ],
)
def test_missing_tcb_info_field(path: list[Any], where: str) -> None:
    err = _tcb_error(_delete(_tdx_tcb_info(), path))
    assert where in err.message


def test_seventeen_components_rejected() -> None:
    data = _tdx_tcb_info()
    data["tcbLevels"][0]["tcb"]["sgxtcbcomponents"].append({"svn": 0})
    assert "must have exactly 16 components, has 17" in _tcb_error(data).message


def test_advisory_ids_optional_and_empty() -> None:
    data = _set(_tdx_tcb_info(), ["tcbLevels", 1, "advisoryIDs"], [])
    assert parse_tcb_info(json.dumps(data)).tcb_levels[1].advisory_ids == ()


def test_duplicate_tcb_level_rejected() -> None:
    data = _tdx_tcb_info()
    data["tcbLevels"].append(copy.deepcopy(data["tcbLevels"][0]))
    assert "tcbInfo.tcbLevels[2] repeats the TCB of tcbLevels[0]" in _tcb_error(data).message


def test_sgx_tcb_info_rejects_tdx_module() -> None:
    sgx = json.loads(_collateral(VECTORS_DIR / "sgx-v3-phala/collateral.json")["tcb_info"])
    sgx["tdxModule"] = _tdx_tcb_info()["tdxModule"]
    assert "tcbInfo.tdxModule must not appear in SGX TCB info" in _tcb_error(sgx).message


def test_sgx_tcb_info_ignores_tdx_components() -> None:
    sgx = json.loads(_collateral(VECTORS_DIR / "sgx-v3-phala/collateral.json")["tcb_info"])
    sgx["tcbLevels"][0]["tcb"]["tdxtcbcomponents"] = [{"svn": 1}] * 3
    assert parse_tcb_info(json.dumps(sgx)).tcb_levels[0].tdx_components is None


def test_sgx_v2_negative() -> None:
    v2 = _sgx_v2_tcb_info()
    assert "tcbInfo.tcbLevels[0].tcb.sgxtcbcomp07svn is missing" in (
        _tcb_error(_delete(v2, ["tcbLevels", 0, "tcb", "sgxtcbcomp07svn"])).message
    )
    assert "sgxtcbcomp16svn must be an integer" in (
        _tcb_error(_set(v2, ["tcbLevels", 0, "tcb", "sgxtcbcomp16svn"], False)).message
    )
    assert "must be absent or 'SGX'" in _tcb_error(_set(v2, ["id"], "TDX")).message
    assert parse_tcb_info(json.dumps(_set(v2, ["id"], "SGX"))).id == "SGX"


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        (["version"], 1, "enclaveIdentity.version is 1"),
        (["version"], 3, "enclaveIdentity.version is 3"),
        (["version"], True, "enclaveIdentity.version must be an integer"),
        (["id"], "XQE", "enclaveIdentity.id is 'XQE'"),
        (["miscselect"], "0000000", "enclaveIdentity.miscselect must be 8 hex digits"),
        (["miscselectMask"], "FFFFFFFFFF", "enclaveIdentity.miscselectMask must be 8 hex digits"),
        (["attributes"], "11" * 15, "enclaveIdentity.attributes must be 32 hex digits"),
        (["attributesMask"], "zz" * 16, "enclaveIdentity.attributesMask must be 32 hex digits"),
        (["mrsigner"], "DC" * 48, "enclaveIdentity.mrsigner must be 64 hex digits"),
        (["isvprodid"], 2.5, "enclaveIdentity.isvprodid must be an integer"),
        (["isvprodid"], 70000, "enclaveIdentity.isvprodid must be between 0 and 65535"),
        (["issueDate"], "2025-06-19T10:32:27.000Z", "enclaveIdentity.issueDate must be a UTC date"),
        (["tcbLevels"], [], "enclaveIdentity.tcbLevels must not be empty"),
        (
            ["tcbLevels", 0, "tcb", "isvsvn"],
            True,
            "enclaveIdentity.tcbLevels[0].tcb.isvsvn must be an integer",
        ),
        (
            ["tcbLevels", 0, "tcbStatus"],
            "Unknown",
            "enclaveIdentity.tcbLevels[0].tcbStatus has unknown status",
        ),
        (
            ["tcbLevels", 0, "tcbStatus"],
            "SWHardeningNeeded",
            "enclaveIdentity.tcbLevels[0].tcbStatus has unknown status",
        ),
        (
            ["tcbLevels", 0, "advisoryIDs"],
            [None],
            "enclaveIdentity.tcbLevels[0].advisoryIDs[0] must be a string",
        ),
    ],
)
def test_bad_qe_identity_field(path: list[Any], value: Any, where: str) -> None:
    err = _qe_error(_set(_qe_identity(), path, value))
    assert where in err.message


@pytest.mark.parametrize(
    "key",
    [
        "id",
        "version",
        "issueDate",
        "nextUpdate",
        "tcbEvaluationDataNumber",
        "miscselect",
        "miscselectMask",
        "attributes",
        "attributesMask",
        "mrsigner",
        "isvprodid",
        "tcbLevels",
    ],
)
def test_missing_qe_identity_field(key: str) -> None:
    assert f"enclaveIdentity.{key} is missing" in _qe_error(_delete(_qe_identity(), [key])).message


def test_qe_duplicate_isvsvn_rejected() -> None:
    data = _qe_identity()
    data["tcbLevels"].append(copy.deepcopy(data["tcbLevels"][0]))
    assert "enclaveIdentity.tcbLevels[1] repeats isvsvn 4" in _qe_error(data).message


# ------------------------------------------------------------------ property-based


def _component(svn: int) -> dict[str, Any]:
    return {"svn": svn}


_svn = st.integers(0, 255)
_status = st.sampled_from(sorted(TCB_STATUSES))
_date = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(timezone.utc)
).map(lambda d: d.replace(microsecond=0))


def _iso(d: datetime) -> str:
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


@st.composite
def _tdx_tcb_info_json(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 6))
    svn_sets = draw(
        st.lists(
            st.tuples(
                st.lists(_svn, min_size=16, max_size=16),
                st.integers(0, 65535),
                st.lists(_svn, min_size=16, max_size=16),
            ),
            min_size=n,
            max_size=n,
            unique_by=lambda t: (tuple(t[0]), t[1], tuple(t[2])),
        )
    )
    levels = []
    for sgx, pce, tdx in svn_sets:
        level: dict[str, Any] = {
            "tcb": {
                "sgxtcbcomponents": [_component(s) for s in sgx],
                "pcesvn": pce,
                "tdxtcbcomponents": [_component(s) for s in tdx],
            },
            "tcbDate": _iso(draw(_date)),
            "tcbStatus": draw(_status),
        }
        advisories = draw(st.lists(st.from_regex(r"INTEL-SA-[0-9]{5}", fullmatch=True), max_size=4))
        keep_empty: bool = draw(st.booleans())
        if advisories or keep_empty:
            level["advisoryIDs"] = advisories
        levels.append(level)
    return {
        "id": "TDX",
        "version": 3,
        "issueDate": _iso(draw(_date)),
        "nextUpdate": _iso(draw(_date)),
        "fmspc": draw(st.binary(min_size=6, max_size=6)).hex(),
        "pceId": draw(st.binary(min_size=2, max_size=2)).hex().upper(),
        "tcbType": draw(st.integers(0, 3)),
        "tcbEvaluationDataNumber": draw(st.integers(0, 2**32 - 1)),
        "tdxModule": {
            "mrsigner": draw(st.binary(min_size=48, max_size=48)).hex(),
            "attributes": "00" * 8,
            "attributesMask": "FF" * 8,
        },
        "tcbLevels": levels,
    }


@given(_tdx_tcb_info_json())
def test_generated_tcb_info_round_trips(data: dict[str, Any]) -> None:
    tcb = parse_tcb_info(json.dumps(data))
    assert tcb.fmspc.hex() == data["fmspc"]
    assert tcb.pce_id.hex().upper() == data["pceId"]
    assert tcb.tcb_evaluation_data_number == data["tcbEvaluationDataNumber"]
    assert _iso(tcb.issue_date) == data["issueDate"]
    for level, src in zip(tcb.tcb_levels, data["tcbLevels"], strict=True):
        assert list(level.sgx_svns) == [c["svn"] for c in src["tcb"]["sgxtcbcomponents"]]
        assert list(level.tdx_svns or ()) == [c["svn"] for c in src["tcb"]["tdxtcbcomponents"]]
        assert level.pce_svn == src["tcb"]["pcesvn"]
        assert level.tcb_status == src["tcbStatus"]
        assert list(level.advisory_ids) == src.get("advisoryIDs", [])
        assert _iso(level.tcb_date) == src["tcbDate"]


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a scalar leaf of a JSON value."""
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in _paths(v, (*prefix, k))]
    if isinstance(obj, list):
        return [p for i, v in enumerate(obj) for p in _paths(v, (*prefix, i))]
    return [prefix]


_REAL_TCB = _tdx_tcb_info()
_REAL_LEAVES = _paths(_REAL_TCB)


@given(
    st.sampled_from(_REAL_LEAVES),
    st.one_of(
        st.none(),
        st.booleans(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.lists(st.integers(), max_size=2),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    ),
)
def test_mistyped_leaf_rejected_with_its_path(path: tuple[Any, ...], value: Any) -> None:
    """Any scalar field replaced by a value of a JSON type it never has fails, naming the field."""
    bad = _set(_REAL_TCB, list(path), value)
    err = _tcb_error(bad)
    dotted = "tcbInfo" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    assert dotted in err.message


@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_escape(raw: bytes) -> None:
    for parse in (parse_tcb_info, parse_qe_identity):
        try:
            parse(raw)
        except CollateralError as err:
            assert err.code == "collateral_format"


@given(
    st.sampled_from(_paths(_qe_identity())),
    st.one_of(st.none(), st.booleans(), st.floats(allow_nan=False, allow_infinity=False)),
)
def test_mistyped_qe_leaf_rejected_with_its_path(path: tuple[Any, ...], value: Any) -> None:
    err = _qe_error(_set(_qe_identity(), list(path), value))
    dotted = "enclaveIdentity" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    assert dotted in err.message
