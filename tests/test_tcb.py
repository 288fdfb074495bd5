"""TCB decisions (tdxverify.tcb): real vectors, then hand-built cases for every rule."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

import pytest
from cryptography import x509
from hypothesis import given
from hypothesis import strategies as st

from tdxverify.errors import TcbError
from tdxverify.pck import PckExtension, pck_extension_of
from tdxverify.quote import EnclaveReport, TdReport10, TdReport15, parse_quote
from tdxverify.tcb import (
    RESULT_STATUSES,
    ModuleResult,
    PlatformMatch,
    QeResult,
    converge,
    converge_with_module,
    converge_with_qe,
    evaluate_tcb,
    find_module_identity,
    match_tcb_levels,
    module_identity_id,
    platform_tcb_level,
    qe_identity_status,
    sorted_tcb_levels,
    td_relaunch_check,
    tdx_module_status,
)
from tdxverify.tcbinfo import (
    MODULE_TCB_STATUSES,
    QE_TCB_STATUSES,
    TCB_STATUSES,
    QeIdentity,
    QeTcbLevel,
    TcbComponent,
    TcbInfo,
    TcbLevel,
    TdxModule,
    TdxModuleIdentity,
    TdxModuleTcbLevel,
    parse_qe_identity,
    parse_tcb_info,
)

from .vectors import VECTORS_DIR, Vector, verifiable_vectors

DATE = datetime(2024, 3, 13, tzinfo=timezone.utc)
QE_MRSIGNER = bytes.fromhex("DC9E2A7C6F948F17474E34A7FC43ED030F7C1563F1BABDDF6340C82E0E54A8C5")
QE_ATTRIBUTES = bytes.fromhex("11000000000000000000000000000000")
QE_ATTRIBUTES_MASK = bytes.fromhex("FBFFFFFFFFFFFFFF0000000000000000")
SEAM_SIGNER = bytes(48)
OTHER_SIGNER = bytes.fromhex("AB" * 48)


# ------------------------------------------------------------------ builders


def svn16(*head: int) -> tuple[int, ...]:
    """16 SVNs: ``head`` then zeros."""
    return tuple(head) + (0,) * (16 - len(head))


def level(
    sgx: tuple[int, ...] = svn16(),
    pce: int = 0,
    tdx: tuple[int, ...] | None = svn16(),
    status: str = "UpToDate",
    advisories: tuple[str, ...] = (),
    date: datetime = DATE,
) -> TcbLevel:
    return TcbLevel(
        sgx_components=tuple(TcbComponent(svn=s) for s in sgx),
        pce_svn=pce,
        tdx_components=None if tdx is None else tuple(TcbComponent(svn=s) for s in tdx),
        tcb_date=date,
        tcb_status=status,
        advisory_ids=advisories,
    )


def module_level(isvsvn: int, status: str = "UpToDate", advisories: tuple[str, ...] = ()) -> TdxModuleTcbLevel:
    return TdxModuleTcbLevel(isvsvn=isvsvn, tcb_date=DATE, tcb_status=status, advisory_ids=advisories)


def identity(
    ident: str = "TDX_01",
    levels: tuple[TdxModuleTcbLevel, ...] = (module_level(4), module_level(2, "OutOfDate", ("INTEL-SA-M",))),
    mrsigner: bytes = SEAM_SIGNER,
    attributes: bytes = bytes(8),
    mask: bytes = b"\xff" * 8,
) -> TdxModuleIdentity:
    return TdxModuleIdentity(
        id=ident, mrsigner=mrsigner, attributes=attributes, attributes_mask=mask, tcb_levels=levels
    )


def tdx_info(
    levels: tuple[TcbLevel, ...] = (level(),),
    identities: tuple[TdxModuleIdentity, ...] = (identity(),),
    module: TdxModule | None = None,
    tcb_type: int = 0,
) -> TcbInfo:
    return TcbInfo(
        id="TDX",
        version=3,
        issue_date=DATE,
        next_update=DATE,
        fmspc=bytes.fromhex("B0C06F000000"),
        pce_id=bytes(2),
        tcb_type=tcb_type,
        tcb_evaluation_data_number=17,
        tdx_module=module or TdxModule(mrsigner=SEAM_SIGNER, attributes=bytes(8), attributes_mask=b"\xff" * 8),
        tdx_module_identities=identities,
        tcb_levels=levels,
    )


def sgx_info(levels: tuple[TcbLevel, ...]) -> TcbInfo:
    return replace(tdx_info(levels), id="SGX", tdx_module=None, tdx_module_identities=())


def pck(components: tuple[int, ...] = svn16(), pce_svn: int = 0) -> PckExtension:
    return PckExtension(
        ppid=bytes(16),
        cpu_svn_components=components,
        pce_svn=pce_svn,
        cpu_svn=bytes(components),
        pce_id=bytes(2),
        fmspc=bytes.fromhex("B0C06F000000"),
        sgx_type=0,
    )


def td_report(
    tee_tcb_svn: bytes = bytes(16),
    *,
    mr_signer_seam: bytes = SEAM_SIGNER,
    seam_attributes: bytes = bytes(8),
    tee_tcb_svn2: bytes | None = None,
) -> TdReport10:
    fields: dict[str, Any] = {
        "raw": b"",
        "tee_tcb_svn": tee_tcb_svn,
        "mr_seam": bytes(48),
        "mr_signer_seam": mr_signer_seam,
        "seam_attributes": seam_attributes,
        "td_attributes": bytes(8),
        "xfam": bytes(8),
        "mr_td": bytes(48),
        "mr_config_id": bytes(48),
        "mr_owner": bytes(48),
        "mr_owner_config": bytes(48),
        "rtmr0": bytes(48),
        "rtmr1": bytes(48),
        "rtmr2": bytes(48),
        "rtmr3": bytes(48),
        "report_data": bytes(64),
    }
    if tee_tcb_svn2 is None:
        return TdReport10(**fields)
    return TdReport15(**fields, tee_tcb_svn2=tee_tcb_svn2, mr_service_td=bytes(48))


def tee(*head: int) -> bytes:
    return bytes(svn16(*head))


def qe_report(
    *,
    isv_svn: int = 4,
    attributes: bytes = QE_ATTRIBUTES,
    misc_select: int = 0,
    mr_signer: bytes = QE_MRSIGNER,
    isv_prod_id: int = 2,
) -> EnclaveReport:
    return EnclaveReport(
        raw=b"",
        cpu_svn=bytes(16),
        misc_select=misc_select,
        attributes=attributes,
        mr_enclave=bytes(32),
        mr_signer=mr_signer,
        isv_prod_id=isv_prod_id,
        isv_svn=isv_svn,
        report_data=bytes(64),
    )


def qe_identity(
    levels: tuple[QeTcbLevel, ...] = (
        QeTcbLevel(isvsvn=4, tcb_date=DATE, tcb_status="UpToDate"),
        QeTcbLevel(isvsvn=2, tcb_date=DATE, tcb_status="OutOfDate", advisory_ids=("INTEL-SA-Q",)),
    ),
    *,
    attributes_mask: bytes = QE_ATTRIBUTES_MASK,
    miscselect: bytes = bytes(4),
    miscselect_mask: bytes = b"\xff" * 4,
    ident: str = "TD_QE",
) -> QeIdentity:
    return QeIdentity(
        id=ident,
        version=2,
        issue_date=DATE,
        next_update=DATE,
        tcb_evaluation_data_number=17,
        miscselect=miscselect,
        miscselect_mask=miscselect_mask,
        attributes=QE_ATTRIBUTES,
        attributes_mask=attributes_mask,
        mrsigner=QE_MRSIGNER,
        isvprodid=2,
        tcb_levels=levels,
    )


def qe_result(status: str, advisories: tuple[str, ...] = ()) -> QeResult:
    return QeResult(
        identity_id="TD_QE",
        isvsvn=4,
        tcb_level=QeTcbLevel(isvsvn=4, tcb_date=DATE, tcb_status=status, advisory_ids=advisories),
    )


def module_result(status: str | None, advisories: tuple[str, ...] = ()) -> ModuleResult:
    if status is None:  # module version 0: no module TCB level
        return ModuleResult(version=0, isvsvn=3, identity_id=None, tcb_level=None)
    return ModuleResult(version=1, isvsvn=3, identity_id="TDX_01", tcb_level=module_level(3, status, advisories))


def platform(status: str, advisories: tuple[str, ...] = (), sgx_status: str | None = None) -> PlatformMatch:
    rating = level(status=status, advisories=advisories)
    sgx = rating if sgx_status is None else level(sgx=svn16(9), status=sgx_status)
    return PlatformMatch(sgx_level=sgx, level=rating)


def _code(exc: pytest.ExceptionInfo[TcbError]) -> str:
    return exc.value.code


# ------------------------------------------------------------------ real vectors


def _pck_leaf(v: Vector) -> x509.Certificate:
    quote = parse_quote(v.quote)
    chain = quote.pck_chain
    if chain:
        return x509.load_der_x509_certificate(chain[0])
    coll = v.collateral
    assert coll is not None
    return x509.load_pem_x509_certificates(coll["pck_certificate_chain"].encode())[0]


def _evaluate(v: Vector) -> Any:
    quote = parse_quote(v.quote)
    coll = v.collateral
    assert coll is not None
    qrc = quote.signature_data.qe_report_certification
    assert qrc is not None
    return evaluate_tcb(
        parse_tcb_info(coll["tcb_info"]),
        parse_qe_identity(coll["qe_identity"]),
        pck_extension_of(_pck_leaf(v)),
        quote.report,
        qrc.qe_report,
    )


VECTORS = verifiable_vectors()
ACCEPTED = [v for v in VECTORS if v.expected["verdict"]["ok"]]
REJECTED = [v for v in VECTORS if not v.expected["verdict"]["ok"]]


def test_vectors_present() -> None:
    names = {v.name for v in VECTORS}
    assert {"sgx-v3-phala", "tdx-v4-phala-uptodate", "tdx-v5-phala-no-tcb-level"} <= names
    assert ACCEPTED
    assert REJECTED


@pytest.mark.parametrize("vector", ACCEPTED, ids=lambda v: v.name)
def test_real_vector_status_and_advisories(vector: Vector) -> None:
    result = _evaluate(vector)
    expected = vector.expected["verdict"]
    assert result.status == expected["status"]
    assert set(result.advisory_ids) == set(expected["advisory_ids"])
    assert list(result.advisory_ids) == sorted(set(result.advisory_ids))
    assert result.status in RESULT_STATUSES
    assert result.qe_status == "UpToDate"
    if parse_quote(vector.quote).tee == "TDX":
        assert result.module is not None
        assert result.module_status == "UpToDate"
    else:
        assert result.module is None


def test_sgx_vector_details() -> None:
    (vector,) = (v for v in VECTORS if v.name == "sgx-v3-phala")
    result = _evaluate(vector)
    assert result.status == "ConfigurationAndSWHardeningNeeded"
    assert result.advisory_ids == ("INTEL-SA-00289", "INTEL-SA-00615")
    assert result.platform_status == "ConfigurationAndSWHardeningNeeded"
    assert result.tcb_date == result.platform.level.tcb_date


@pytest.mark.parametrize("vector", REJECTED, ids=lambda v: v.name)
def test_real_vector_rejected(vector: Vector) -> None:
    assert "No matching TCB level" in vector.expected["verdict"]["reference_error"]
    with pytest.raises(TcbError) as info:
        _evaluate(vector)
    assert info.value.code == "tcb_level_not_found"
    assert "90C06F000000" in info.value.message


def test_module_identity_used_for_real_tdx_vector() -> None:
    (vector,) = (v for v in VECTORS if v.name == "tdx-v4-phala-uptodate")
    quote = parse_quote(vector.quote)
    assert isinstance(quote.report, TdReport10)
    assert quote.report.tee_tcb_svn[1] == 1  # module version 1 -> TDX_01
    coll = vector.collateral
    assert coll is not None
    module = tdx_module_status(parse_tcb_info(coll["tcb_info"]), quote.report)
    assert module.identity_id == "TDX_01"
    assert module.tcb_level is not None
    assert module.tcb_level.isvsvn <= quote.report.tee_tcb_svn[0]


def test_real_tcb_info_without_identities_refuses_versioned_module() -> None:
    """Intel PCS TCB info from before tdxModuleIdentities existed."""
    raw = (VECTORS_DIR / "intel-pcs-responses/tdx-tcbinfo-v3.json").read_text()
    info = parse_tcb_info(json.dumps(json.loads(raw)["tcbInfo"]))
    assert info.tdx_module_identities == ()
    with pytest.raises(TcbError) as exc:
        tdx_module_status(info, td_report(tee(3, 1, 5)))
    assert exc.value.code == "tdx_module_identity_not_found"
    assert "no tdxModuleIdentities at all" in exc.value.message
    # Version 0 still works from tdxModule alone.
    assert tdx_module_status(info, td_report(tee(3, 0, 5))).status == "UpToDate"


# ------------------------------------------------------------------ platform level


def test_levels_sorted_not_served_order() -> None:
    low = level(sgx=svn16(1), status="OutOfDate", advisories=("SA-LOW",))
    high = level(sgx=svn16(2), status="UpToDate")
    info = tdx_info((low, high))  # served lowest first
    assert sorted_tcb_levels(info) == (high, low)
    assert platform_tcb_level(info, pck(svn16(3)), tee()) == high
    assert platform_tcb_level(info, pck(svn16(1)), tee()) == low


def test_sort_is_lexicographic_then_pcesvn_then_tdx() -> None:
    a = level(sgx=svn16(2, 0), status="SWHardeningNeeded")
    b = level(sgx=svn16(1, 5), status="ConfigurationNeeded")
    c = level(sgx=svn16(2, 0), pce=3, status="UpToDate")
    d = level(sgx=svn16(2, 0), pce=3, tdx=svn16(0, 0, 1), status="OutOfDate")
    info = tdx_info((b, a, d, c))
    assert sorted_tcb_levels(info) == (d, c, a, b)
    # Meets every level: the lexicographically highest wins.
    assert platform_tcb_level(info, pck(svn16(2, 5), 3), tee(0, 0, 1)) == d
    # TDX component 2 too low for d.
    assert platform_tcb_level(info, pck(svn16(2, 5), 3), tee()) == c
    # PCESVN too low for c and d.
    assert platform_tcb_level(info, pck(svn16(2, 5), 2), tee()) == a
    # Component 0 too low for a, c, d.
    assert platform_tcb_level(info, pck(svn16(1, 5), 9), tee(9, 9, 9)) == b


def test_every_component_counts() -> None:
    for i in range(16):
        need = [0] * 16
        need[i] = 2
        info = tdx_info((level(sgx=tuple(need)),))
        have = [9] * 16
        have[i] = 1
        with pytest.raises(TcbError) as exc:
            platform_tcb_level(info, pck(tuple(have)), tee())
        assert _code(exc) == "tcb_level_not_found"
        have[i] = 2
        assert platform_tcb_level(info, pck(tuple(have)), tee()).tcb_status == "UpToDate"


def test_pck_components_not_raw_cpusvn() -> None:
    """The 16 INTEGER components decide, not the CPUSVN octet string."""
    info = sgx_info((level(sgx=svn16(5), tdx=None),))
    ext = replace(pck(svn16(5)), cpu_svn=bytes(16))
    assert platform_tcb_level(info, ext, None).tcb_status == "UpToDate"
    ext = replace(pck(svn16(4)), cpu_svn=bytes([9] * 16))
    with pytest.raises(TcbError):
        platform_tcb_level(info, ext, None)


def test_index_one_rule() -> None:
    """TEE_TCB_SVN[1] > 0: bytes 0 and 1 are left out of the platform comparison."""
    info = tdx_info((level(tdx=svn16(5, 0, 2), status="UpToDate"), level(status="OutOfDate")))
    # Module version 1 with SVN 3 < 5: still the UpToDate platform level.
    assert platform_tcb_level(info, pck(), tee(3, 1, 2)).tcb_status == "UpToDate"
    # Version 0: byte 0 is compared, 3 < 5, so the lower level.
    assert platform_tcb_level(info, pck(), tee(3, 0, 2)).tcb_status == "OutOfDate"
    assert platform_tcb_level(info, pck(), tee(5, 0, 2)).tcb_status == "UpToDate"
    # Byte 2 is compared either way.
    assert platform_tcb_level(info, pck(), tee(9, 1, 1)).tcb_status == "OutOfDate"
    # Byte 1 itself is compared when it is 0 (needs >= level's byte 1).
    info2 = tdx_info((level(tdx=svn16(0, 1), status="UpToDate"), level(status="OutOfDate")))
    assert platform_tcb_level(info2, pck(), tee(0, 0)).tcb_status == "OutOfDate"


def test_sgx_and_tdx_levels_selected_separately() -> None:
    top = level(sgx=svn16(2), tdx=svn16(0, 0, 5), status="UpToDate")
    mid = level(sgx=svn16(2), tdx=svn16(0, 0, 1), status="OutOfDate")
    info = tdx_info((top, mid))
    match = match_tcb_levels(info, pck(svn16(2)), tee(0, 0, 1))
    assert match.sgx_level == top
    assert match.level == mid
    assert match.status == "OutOfDate"


def test_no_level_messages() -> None:
    info = tdx_info((level(sgx=svn16(5), tdx=svn16(0, 0, 5)),))
    with pytest.raises(TcbError) as exc:
        platform_tcb_level(info, pck(svn16(4)), tee())
    assert _code(exc) == "tcb_level_not_found"
    assert "no SGX TCB level" in exc.value.message
    with pytest.raises(TcbError) as exc:
        platform_tcb_level(info, pck(svn16(5)), tee(0, 0, 4))
    assert _code(exc) == "tcb_level_not_found"
    assert "TDX TCB level (the SGX part matched)" in exc.value.message
    assert "TEE_TCB_SVN 000004" in exc.value.message


def test_pcesvn_compared() -> None:
    info = sgx_info((level(pce=11, tdx=None, status="UpToDate"), level(pce=5, tdx=None, status="OutOfDate")))
    assert platform_tcb_level(info, pck(pce_svn=11), None).tcb_status == "UpToDate"
    assert platform_tcb_level(info, pck(pce_svn=10), None).tcb_status == "OutOfDate"
    with pytest.raises(TcbError):
        platform_tcb_level(info, pck(pce_svn=4), None)


def test_platform_input_checks() -> None:
    with pytest.raises(TcbError) as exc:
        platform_tcb_level(tdx_info(tcb_type=1), pck(), tee())
    assert _code(exc) == "collateral_format"
    with pytest.raises(TcbError) as exc:
        platform_tcb_level(tdx_info(), pck(), None)
    assert _code(exc) == "collateral_kind_mismatch"
    with pytest.raises(TcbError) as exc:
        platform_tcb_level(sgx_info((level(tdx=None),)), pck(), tee())
    assert _code(exc) == "collateral_kind_mismatch"
    with pytest.raises(TcbError) as exc:
        platform_tcb_level(tdx_info(), pck(), bytes(15))
    assert _code(exc) == "input_invalid"
    with pytest.raises(TcbError) as exc:
        platform_tcb_level(tdx_info(), replace(pck(), cpu_svn_components=(0,) * 15), tee())
    assert _code(exc) == "pck_extension_invalid"


# ------------------------------------------------------------------ TDX module


def test_module_version_zero_uses_tdx_module() -> None:
    info = tdx_info(identities=(identity(mrsigner=OTHER_SIGNER),))
    result = tdx_module_status(info, td_report(tee(7, 0)))
    assert result.identity_id is None
    assert result.tcb_level is None
    assert result.status == "UpToDate"
    assert result.advisory_ids == ()
    assert result.tcb_date is None
    with pytest.raises(TcbError) as exc:
        tdx_module_status(info, td_report(tee(7, 0), mr_signer_seam=OTHER_SIGNER))
    assert _code(exc) == "tdx_module_mismatch"
    assert "tdxModule mrsigner" in exc.value.message


def test_module_identity_selected_by_version() -> None:
    info = tdx_info(
        identities=(
            identity("TDX_03", (module_level(3),), mrsigner=OTHER_SIGNER),
            identity("TDX_01", (module_level(2, "OutOfDate", ("SA-2",)), module_level(4))),  # served ascending
        )
    )
    result = tdx_module_status(info, td_report(tee(4, 1)))
    assert result.identity_id == "TDX_01"
    assert result.status == "UpToDate"
    result = tdx_module_status(info, td_report(tee(3, 1)))
    assert result.status == "OutOfDate"
    assert result.advisory_ids == ("SA-2",)
    with pytest.raises(TcbError) as exc:
        tdx_module_status(info, td_report(tee(1, 1)))
    assert _code(exc) == "tcb_level_not_found"
    assert "TDX_01" in exc.value.message
    # TDX_03 has its own signer.
    with pytest.raises(TcbError) as exc:
        tdx_module_status(info, td_report(tee(3, 3)))
    assert _code(exc) == "tdx_module_mismatch"
    assert tdx_module_status(info, td_report(tee(3, 3), mr_signer_seam=OTHER_SIGNER)).identity_id == "TDX_03"


def test_module_identity_id_case_insensitive_and_hex() -> None:
    assert module_identity_id(1) == "TDX_01"
    assert module_identity_id(0x1A) == "TDX_1A"
    info = tdx_info(identities=(identity("tdx_1a"),))
    found = find_module_identity(info, 0x1A)
    assert found is not None
    assert found.id == "tdx_1a"
    assert tdx_module_status(info, td_report(tee(4, 0x1A))).identity_id == "tdx_1a"
    assert find_module_identity(info, 26 + 1) is None


def test_missing_module_identity() -> None:
    info = tdx_info(identities=(identity("TDX_01"), identity("TDX_03")))
    with pytest.raises(TcbError) as exc:
        tdx_module_status(info, td_report(tee(4, 2)))
    assert _code(exc) == "tdx_module_identity_not_found"
    assert "TDX_02" in exc.value.message
    assert "TDX_01, TDX_03" in exc.value.message


@pytest.mark.parametrize("version", [0, 1])
def test_seam_attributes_must_be_zero(version: int) -> None:
    # Even a mask that ignores every bit does not let non-zero SEAM attributes through.
    lax = b"\x00" * 8
    info = tdx_info(
        identities=(identity(mask=lax),),
        module=TdxModule(mrsigner=SEAM_SIGNER, attributes=bytes(8), attributes_mask=lax),
    )
    with pytest.raises(TcbError) as exc:
        tdx_module_status(info, td_report(tee(4, version), seam_attributes=b"\x01" + bytes(7)))
    assert _code(exc) == "tdx_module_mismatch"
    assert "not all zero" in exc.value.message


@pytest.mark.parametrize("version", [0, 1])
def test_seam_attributes_must_equal_identity(version: int) -> None:
    odd = b"\x00" * 7 + b"\x80"
    info = tdx_info(
        identities=(identity(attributes=odd, mask=bytes(8)),),
        module=TdxModule(mrsigner=SEAM_SIGNER, attributes=odd, attributes_mask=bytes(8)),
    )
    with pytest.raises(TcbError) as exc:
        tdx_module_status(info, td_report(tee(4, version)))
    assert _code(exc) == "tdx_module_mismatch"
    assert "differ from" in exc.value.message


def test_module_needs_tdx_tcb_info() -> None:
    with pytest.raises(TcbError) as exc:
        tdx_module_status(sgx_info((level(tdx=None),)), td_report())
    assert _code(exc) == "collateral_kind_mismatch"


# ------------------------------------------------------------------ QE identity


def test_qe_levels() -> None:
    ident = qe_identity(
        (
            QeTcbLevel(isvsvn=2, tcb_date=DATE, tcb_status="OutOfDate", advisory_ids=("SA-Q",)),  # served ascending
            QeTcbLevel(isvsvn=4, tcb_date=DATE, tcb_status="UpToDate"),
        )
    )
    assert qe_identity_status(ident, qe_report(isv_svn=8)).status == "UpToDate"
    assert qe_identity_status(ident, qe_report(isv_svn=4)).status == "UpToDate"
    result = qe_identity_status(ident, qe_report(isv_svn=3))
    assert result.status == "OutOfDate"
    assert result.advisory_ids == ("SA-Q",)
    assert result.tcb_level.isvsvn == 2
    assert result.identity_id == "TD_QE"
    with pytest.raises(TcbError) as exc:
        qe_identity_status(ident, qe_report(isv_svn=1))
    assert _code(exc) == "qe_tcb_level_not_found"
    assert "lowest ISVSVN 2" in exc.value.message


@pytest.mark.parametrize(
    ("report", "field"),
    [
        (qe_report(mr_signer=bytes(32)), "MRSIGNER"),
        (qe_report(isv_prod_id=1), "ISVPRODID"),
        (qe_report(misc_select=1), "MISCSELECT"),
        (qe_report(attributes=bytes.fromhex("31000000000000000000000000000000")), "ATTRIBUTES"),
        # DEBUG (bit 1) is inside Intel's mask: a debug QE fails the comparison.
        (qe_report(attributes=bytes.fromhex("13000000000000000000000000000000")), "ATTRIBUTES"),
    ],
)
def test_qe_mismatch(report: EnclaveReport, field: str) -> None:
    with pytest.raises(TcbError) as exc:
        qe_identity_status(qe_identity(), report)
    assert _code(exc) == "qe_identity_mismatch"
    assert field in exc.value.message
    assert exc.value.step == "qe_identity"


def test_qe_masks() -> None:
    # Bit 2 (MODE64BIT) of the first byte is outside Intel's mask FB...: it may be either.
    mode64 = qe_report(attributes=bytes.fromhex("15" + "00" * 15))
    assert qe_identity_status(qe_identity(), mode64).status == "UpToDate"
    # Bytes 8..15 are outside the mask: anything goes there.
    high = qe_report(attributes=QE_ATTRIBUTES[:8] + b"\xff" * 8)
    assert qe_identity_status(qe_identity(), high).status == "UpToDate"
    # MISCSELECT bits outside the mask are ignored.
    lax = qe_identity(miscselect_mask=bytes.fromhex("FEFFFFFF"))
    assert qe_identity_status(lax, qe_report(misc_select=1)).status == "UpToDate"
    with pytest.raises(TcbError):
        qe_identity_status(lax, qe_report(misc_select=0x100))


def test_qe_miscselect_is_little_endian() -> None:
    ident = qe_identity(miscselect=bytes.fromhex("01000000"))
    assert qe_identity_status(ident, qe_report(misc_select=1)).status == "UpToDate"
    with pytest.raises(TcbError):
        qe_identity_status(ident, qe_report(misc_select=0x01000000))


def test_debug_qe_refused_even_with_lax_mask() -> None:
    lax = qe_identity(attributes_mask=bytes.fromhex("F9FFFFFFFFFFFFFF0000000000000000"))
    with pytest.raises(TcbError) as exc:
        qe_identity_status(lax, qe_report(attributes=bytes.fromhex("13" + "00" * 15)))
    assert _code(exc) == "qe_identity_mismatch"
    assert "debug" in exc.value.message


# ------------------------------------------------------------------ convergence


@pytest.mark.parametrize(
    ("platform_status", "qe_status", "expected"),
    [
        ("UpToDate", "UpToDate", "UpToDate"),
        ("SWHardeningNeeded", "UpToDate", "SWHardeningNeeded"),
        ("ConfigurationNeeded", "UpToDate", "ConfigurationNeeded"),
        ("ConfigurationAndSWHardeningNeeded", "UpToDate", "ConfigurationAndSWHardeningNeeded"),
        ("OutOfDate", "UpToDate", "OutOfDate"),
        ("OutOfDateConfigurationNeeded", "UpToDate", "OutOfDateConfigurationNeeded"),
        ("Revoked", "UpToDate", "Revoked"),
        ("UpToDate", "OutOfDate", "OutOfDate"),
        ("SWHardeningNeeded", "OutOfDate", "OutOfDate"),
        ("ConfigurationNeeded", "OutOfDate", "OutOfDateConfigurationNeeded"),
        ("ConfigurationAndSWHardeningNeeded", "OutOfDate", "OutOfDateConfigurationNeeded"),
        ("OutOfDate", "OutOfDate", "OutOfDate"),
        ("OutOfDateConfigurationNeeded", "OutOfDate", "OutOfDateConfigurationNeeded"),
        ("Revoked", "OutOfDate", "Revoked"),
        ("UpToDate", "Revoked", "Revoked"),
        ("ConfigurationNeeded", "Revoked", "Revoked"),
        # Intel counts every QE status but UpToDate and Revoked as OutOfDate.
        ("UpToDate", "ConfigurationNeeded", "OutOfDate"),
        ("ConfigurationNeeded", "OutOfDateConfigurationNeeded", "OutOfDateConfigurationNeeded"),
    ],
)
def test_sgx_convergence(platform_status: str, qe_status: str, expected: str) -> None:
    result = converge(platform(platform_status), qe_result(qe_status))
    assert result.status == expected
    assert result.platform_status == platform_status
    assert result.qe_status == qe_status
    assert result.module_status is None
    assert result.revoked == (expected == "Revoked")


@pytest.mark.parametrize(
    ("platform_status", "module_status", "qe_status", "expected"),
    [
        ("UpToDate", None, "UpToDate", "UpToDate"),  # module version 0
        ("UpToDate", "UpToDate", "UpToDate", "UpToDate"),
        ("UpToDate", "OutOfDate", "UpToDate", "OutOfDate"),
        ("SWHardeningNeeded", "OutOfDate", "UpToDate", "OutOfDate"),
        ("ConfigurationNeeded", "OutOfDate", "UpToDate", "OutOfDateConfigurationNeeded"),
        ("ConfigurationAndSWHardeningNeeded", "OutOfDate", "UpToDate", "OutOfDateConfigurationNeeded"),
        ("OutOfDate", "UpToDate", "UpToDate", "OutOfDate"),
        ("OutOfDateConfigurationNeeded", "OutOfDate", "UpToDate", "OutOfDateConfigurationNeeded"),
        ("ConfigurationNeeded", "UpToDate", "UpToDate", "ConfigurationNeeded"),
        ("UpToDate", "Revoked", "UpToDate", "Revoked"),
        ("UpToDate", "Revoked", "OutOfDate", "Revoked"),
        ("Revoked", "UpToDate", "UpToDate", "Revoked"),
        ("UpToDate", "UpToDate", "OutOfDate", "OutOfDate"),
        ("ConfigurationNeeded", "UpToDate", "OutOfDate", "OutOfDateConfigurationNeeded"),
        ("UpToDate", "OutOfDate", "OutOfDate", "OutOfDate"),
        ("UpToDate", "UpToDate", "Revoked", "Revoked"),
    ],
)
def test_tdx_convergence(platform_status: str, module_status: str | None, qe_status: str, expected: str) -> None:
    result = converge(platform(platform_status), qe_result(qe_status), module_result(module_status))
    assert result.status == expected
    assert result.module_status == (module_status or "UpToDate")


def test_converge_helpers_leave_unknown_alone() -> None:
    assert converge_with_module("TDRelaunchAdvised", "UpToDate") == "TDRelaunchAdvised"
    assert converge_with_qe("TDRelaunchAdvisedConfigurationNeeded", "UpToDate") == (
        "TDRelaunchAdvisedConfigurationNeeded"
    )


def test_advisory_ids_are_sorted_union() -> None:
    result = converge(
        platform("OutOfDate", ("INTEL-SA-B", "INTEL-SA-A")),
        qe_result("OutOfDate", ("INTEL-SA-D", "INTEL-SA-A")),
        module_result("OutOfDate", ("INTEL-SA-C", "INTEL-SA-B")),
    )
    assert result.advisory_ids == ("INTEL-SA-A", "INTEL-SA-B", "INTEL-SA-C", "INTEL-SA-D")
    # SGX: the SGX-only platform level's advisories are not used for TDX rating.
    result = converge(
        PlatformMatch(sgx_level=level(advisories=("SA-SGX-ONLY",)), level=level(advisories=("SA-TDX",))),
        qe_result("UpToDate"),
        module_result(None),
    )
    assert result.advisory_ids == ("SA-TDX",)


# ------------------------------------------------------------------ TDX 1.5 relaunch


RELAUNCH_INFO = tdx_info(
    levels=(
        level(tdx=svn16(7, 0, 3), status="UpToDate"),
        level(tdx=svn16(5, 0, 2), status="OutOfDate", advisories=("SA-OLD",)),
    ),
    identities=(
        identity("TDX_01", (module_level(6), module_level(4, "OutOfDate", ("SA-MOD",)))),
        identity("TDX_02", (module_level(9), module_level(1, "OutOfDate"))),
    ),
)


def _relaunch(svn2: bytes, **kw: str) -> str:
    args = {
        "sgx_status": "UpToDate",
        "tdx_status": "OutOfDate",
        "module_status": "OutOfDate",
        "qe_status": "UpToDate",
    }
    args.update(kw)
    return td_relaunch_check(RELAUNCH_INFO, svn2, **args)


@pytest.mark.parametrize(
    ("svn2", "overrides", "expected"),
    [
        # Module version 0 in TEE_TCB_SVN2: bytes 0 and 2 against the latest TCB level (7, _, 3).
        (tee(7, 0, 3), {}, "TDRelaunchAdvised"),
        (tee(9, 0, 9), {}, "TDRelaunchAdvised"),
        (tee(6, 0, 3), {}, "OutOfDate"),
        (tee(7, 0, 2), {}, "OutOfDate"),
        (tee(7, 0, 3), {"sgx_status": "ConfigurationNeeded"}, "TDRelaunchAdvisedConfigurationNeeded"),
        (
            tee(7, 0, 3),
            {"sgx_status": "ConfigurationAndSWHardeningNeeded"},
            "TDRelaunchAdvisedConfigurationNeeded",
        ),
        (
            tee(7, 0, 3),
            {"tdx_status": "OutOfDateConfigurationNeeded"},
            "TDRelaunchAdvisedConfigurationNeeded",
        ),
        (tee(7, 0, 3), {"sgx_status": "SWHardeningNeeded"}, "TDRelaunchAdvised"),
        # Preconditions: each one failing leaves the status alone.
        (tee(7, 0, 3), {"qe_status": "OutOfDate"}, "OutOfDate"),
        (tee(7, 0, 3), {"sgx_status": "OutOfDate"}, "OutOfDate"),
        (tee(7, 0, 3), {"sgx_status": "Revoked"}, "OutOfDate"),
        (tee(7, 0, 3), {"module_status": "UpToDate"}, "OutOfDate"),
        (tee(7, 0, 3), {"tdx_status": "UpToDate"}, "UpToDate"),
        (
            tee(7, 0, 3),
            {"tdx_status": "ConfigurationNeeded", "module_status": "UpToDate"},
            "ConfigurationNeeded",
        ),
        # Module version 1 in TEE_TCB_SVN2: byte 0 against TDX_01's latest ISVSVN (6).
        (tee(6, 1, 3), {}, "TDRelaunchAdvised"),
        (tee(5, 1, 3), {}, "OutOfDate"),
        (tee(6, 1, 2), {}, "OutOfDate"),
        # Version 2: TDX_02's latest is 9.
        (tee(8, 2, 3), {}, "OutOfDate"),
        (tee(9, 2, 3), {}, "TDRelaunchAdvised"),
    ],
)
def test_relaunch_check(svn2: bytes, overrides: dict[str, str], expected: str) -> None:
    assert _relaunch(svn2, **overrides) == expected


def test_relaunch_unknown_module_version() -> None:
    with pytest.raises(TcbError) as exc:
        _relaunch(tee(9, 3, 9))
    assert _code(exc) == "tdx_module_identity_not_found"
    assert "TEE_TCB_SVN2[1]" in exc.value.message


def test_relaunch_end_to_end() -> None:
    """A TD 1.5 quote whose module is OutOfDate but whose TEE_TCB_SVN2 is current."""
    qe = qe_identity()
    report = td_report(tee(4, 1, 3), tee_tcb_svn2=tee(6, 1, 3))
    result = evaluate_tcb(RELAUNCH_INFO, qe, pck(), report, qe_report())
    assert result.platform_status == "UpToDate"
    assert result.module_status == "OutOfDate"
    assert result.status == "TDRelaunchAdvised"
    assert result.advisory_ids == ("SA-MOD",)
    # The same quote as TDX 1.0 (no TEE_TCB_SVN2) stays OutOfDate.
    result10 = evaluate_tcb(RELAUNCH_INFO, qe, pck(), td_report(tee(4, 1, 3)), qe_report())
    assert result10.status == "OutOfDate"
    # An out-of-date QE cancels the advice.
    result_qe = evaluate_tcb(RELAUNCH_INFO, qe, pck(), report, qe_report(isv_svn=3))
    assert result_qe.status == "OutOfDate"
    assert result_qe.advisory_ids == ("INTEL-SA-Q", "SA-MOD")


def test_converge_accepts_report_and_bare_level() -> None:
    qe = qe_result("UpToDate")
    module = module_result("OutOfDate")
    report = td_report(tee(4, 1, 3), tee_tcb_svn2=tee(6, 1, 3))
    top = RELAUNCH_INFO.tcb_levels[0]
    via_report = converge(PlatformMatch(top, top), qe, module, tcb_info=RELAUNCH_INFO, report=report)
    assert via_report.status == "TDRelaunchAdvised"
    # A bare TcbLevel is used as both the SGX and the TDX level.
    assert converge(top, qe, module, tcb_info=RELAUNCH_INFO, report=report).status == "TDRelaunchAdvised"
    # With an OutOfDate rating level as the SGX level too, no relaunch is advised (stricter than Intel).
    low = RELAUNCH_INFO.tcb_levels[1]
    assert converge(low, qe, module, tcb_info=RELAUNCH_INFO, report=report).status == "OutOfDate"
    assert converge(PlatformMatch(top, low), qe, module, tcb_info=RELAUNCH_INFO, report=report).status == (
        "TDRelaunchAdvised"
    )
    # A TD 1.0 report has no TEE_TCB_SVN2: no relaunch check.
    assert converge(top, qe, module, tcb_info=RELAUNCH_INFO, report=td_report(tee(4, 1, 3))).status == "OutOfDate"
    with pytest.raises(TcbError) as exc:
        converge(top, qe, module, tcb_info=RELAUNCH_INFO, report=report, tee_tcb_svn2=tee(1))
    assert _code(exc) == "internal_error"


def test_converge_argument_checks() -> None:
    with pytest.raises(TcbError) as exc:
        converge(platform("UpToDate"), qe_result("UpToDate"), module_result("OutOfDate"), tee_tcb_svn2=tee())
    assert _code(exc) == "internal_error"
    with pytest.raises(TcbError) as exc:
        converge(platform("UpToDate"), qe_result("UpToDate"), None, tee_tcb_svn2=tee())
    assert _code(exc) == "internal_error"
    with pytest.raises(TcbError) as exc:
        _relaunch(bytes(3))
    assert _code(exc) == "input_invalid"


# ------------------------------------------------------------------ evaluate_tcb


def test_evaluate_sgx_and_kind_checks() -> None:
    info = sgx_info((level(sgx=svn16(2), tdx=None, status="SWHardeningNeeded", advisories=("SA-1",)),))
    result = evaluate_tcb(info, qe_identity(ident="QE"), pck(svn16(2)), qe_report(), qe_report())
    assert result.status == "SWHardeningNeeded"
    assert result.advisory_ids == ("SA-1",)
    assert result.module is None
    with pytest.raises(TcbError) as exc:
        evaluate_tcb(tdx_info(), qe_identity(ident="QE"), pck(), qe_report(), qe_report())
    assert _code(exc) == "collateral_kind_mismatch"
    assert "SGX TCB info" in exc.value.message
    # The QE identity must match the quote's TEE too.
    with pytest.raises(TcbError) as exc:
        evaluate_tcb(info, qe_identity(ident="TD_QE"), pck(svn16(2)), qe_report(), qe_report())
    assert _code(exc) == "collateral_kind_mismatch"
    assert "QE identity" in exc.value.message
    with pytest.raises(TcbError) as exc:
        evaluate_tcb(tdx_info(), qe_identity(ident="QE"), pck(), td_report(tee(4, 1)), qe_report())
    assert _code(exc) == "collateral_kind_mismatch"


def test_evaluate_tdx_module_checked_first() -> None:
    # Wrong module signer and no platform level: the module mismatch is reported, as Intel orders it.
    info = tdx_info(levels=(level(sgx=svn16(9)),))
    with pytest.raises(TcbError) as exc:
        evaluate_tcb(info, qe_identity(), pck(), td_report(tee(4, 1), mr_signer_seam=OTHER_SIGNER), qe_report())
    assert _code(exc) == "tdx_module_mismatch"


# ------------------------------------------------------------------ properties


_svn = st.integers(0, 4)
_svns = st.tuples(*([_svn] * 16))


@st.composite
def _levels(draw: st.DrawFn) -> tuple[TcbLevel, ...]:
    n = draw(st.integers(1, 6))
    out = []
    seen = set()
    for _ in range(n):
        lv = level(
            sgx=draw(_svns),
            pce=draw(st.integers(0, 3)),
            tdx=draw(_svns),
            status=draw(st.sampled_from(sorted(TCB_STATUSES))),
        )
        key = (lv.sgx_svns, lv.pce_svn, lv.tdx_svns)
        if key not in seen:
            seen.add(key)
            out.append(lv)
    return tuple(out)


def _meets(lv: TcbLevel, ext: PckExtension, svn: bytes) -> bool:
    tdx = lv.tdx_svns
    assert tdx is not None
    start = 2 if svn[1] > 0 else 0
    return (
        ext.pce_svn >= lv.pce_svn
        and all(a >= b for a, b in zip(ext.cpu_svn_components, lv.sgx_svns, strict=True))
        and all(svn[i] >= tdx[i] for i in range(start, 16))
    )


@given(_levels(), _svns, st.integers(0, 3), _svns, st.permutations(range(6)))
def test_platform_level_is_highest_met(
    levels: tuple[TcbLevel, ...],
    comps: tuple[int, ...],
    pce_svn: int,
    tee_svn: tuple[int, ...],
    order: list[int],
) -> None:
    served = tuple(levels[i] for i in order if i < len(levels))
    info = tdx_info(levels=served)
    ext = pck(comps, pce_svn)
    svn = bytes(tee_svn)
    met = [lv for lv in sorted_tcb_levels(info) if _meets(lv, ext, svn)]
    if met:
        assert platform_tcb_level(info, ext, svn) == met[0]
    else:
        with pytest.raises(TcbError) as exc:
            platform_tcb_level(info, ext, svn)
        assert exc.value.code == "tcb_level_not_found"


@given(
    st.sampled_from(sorted(TCB_STATUSES)),
    st.sampled_from(sorted(QE_TCB_STATUSES)),
    st.one_of(st.none(), st.sampled_from(sorted(MODULE_TCB_STATUSES))),
)
def test_convergence_closed_and_revoked_dominates(
    platform_status: str, qe_status: str, module_status: str | None
) -> None:
    result = converge(platform(platform_status), qe_result(qe_status), module_result(module_status))
    assert result.status in RESULT_STATUSES
    if "Revoked" in (platform_status, qe_status, module_status):
        assert result.status == "Revoked"
    else:
        assert result.status != "Revoked"
    if platform_status == "UpToDate" and qe_status == "UpToDate" and module_status in (None, "UpToDate"):
        assert result.status == "UpToDate"
    if result.status == "UpToDate":
        assert platform_status == "UpToDate"
