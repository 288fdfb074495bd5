"""Pure TCB decisions on typed data, following Intel's Quote Verification Library.

No I/O, no cryptography, no clock: every function takes already
authenticated, typed collateral (:mod:`tdxverify.tcbinfo`), the PCK
certificate's SGX extension (:mod:`tdxverify.pck`) and parsed reports
(:mod:`tdxverify.quote`), and either returns a typed result or raises
:class:`~tdxverify.errors.TcbError` with a stable code.

The steps, in the order Intel's QVL applies them (``docs/tcb.md`` gives the
details and where dcap-qvl differs):

* :func:`qe_identity_status` - the quoting enclave against Intel's QE identity;
* :func:`tdx_module_status` - MRSIGNER_SEAM / SEAM attributes against
  ``tdxModule`` or ``tdxModuleIdentities`` and the module's TCB level;
* :func:`match_tcb_levels` / :func:`platform_tcb_level` - the platform TCB level;
* :func:`converge` - one status and the advisory IDs from all of them,
  including TDX 1.5's ``TDRelaunchAdvised``;
* :func:`evaluate_tcb` - all of the above for one quote.

``Revoked`` is returned like any other status; turning it into a failure
(``tcb_revoked``) is the pipeline's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .errors import TcbError
from .pck import PckExtension
from .quote import EnclaveReport, TdReport10, TdReport15
from .tcbinfo import (
    QeIdentity,
    QeTcbLevel,
    TcbInfo,
    TcbLevel,
    TdxModuleIdentity,
    TdxModuleTcbLevel,
)

__all__ = [
    "CONFIGURATION_NEEDED_STATUSES",
    "RESULT_STATUSES",
    "ModuleResult",
    "PlatformMatch",
    "QeResult",
    "TcbResult",
    "converge",
    "converge_with_module",
    "converge_with_qe",
    "evaluate_tcb",
    "find_module_identity",
    "match_tcb_levels",
    "module_identity_id",
    "platform_tcb_level",
    "qe_identity_status",
    "sorted_module_levels",
    "sorted_qe_levels",
    "sorted_tcb_levels",
    "td_relaunch_check",
    "tdx_module_status",
]

UP_TO_DATE = "UpToDate"
SW_HARDENING_NEEDED = "SWHardeningNeeded"
CONFIGURATION_NEEDED = "ConfigurationNeeded"
CONFIGURATION_AND_SW_HARDENING_NEEDED = "ConfigurationAndSWHardeningNeeded"
OUT_OF_DATE = "OutOfDate"
OUT_OF_DATE_CONFIGURATION_NEEDED = "OutOfDateConfigurationNeeded"
REVOKED = "Revoked"
TD_RELAUNCH_ADVISED = "TDRelaunchAdvised"
TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED = "TDRelaunchAdvisedConfigurationNeeded"

RESULT_STATUSES: frozenset[str] = frozenset(
    {
        UP_TO_DATE,
        SW_HARDENING_NEEDED,
        CONFIGURATION_NEEDED,
        CONFIGURATION_AND_SW_HARDENING_NEEDED,
        OUT_OF_DATE,
        OUT_OF_DATE_CONFIGURATION_NEEDED,
        REVOKED,
        TD_RELAUNCH_ADVISED,
        TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED,
    }
)
"""Every status :func:`converge` can return."""

CONFIGURATION_NEEDED_STATUSES: frozenset[str] = frozenset(
    {
        CONFIGURATION_NEEDED,
        OUT_OF_DATE_CONFIGURATION_NEEDED,
        CONFIGURATION_AND_SW_HARDENING_NEEDED,
        TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED,
    }
)
"""Statuses that say the platform configuration needs attention."""

# A platform status that an out-of-date QE or TDX module degrades, and what to.
_DEGRADE_TO_OUT_OF_DATE = {
    UP_TO_DATE: OUT_OF_DATE,
    SW_HARDENING_NEEDED: OUT_OF_DATE,
    CONFIGURATION_NEEDED: OUT_OF_DATE_CONFIGURATION_NEEDED,
    CONFIGURATION_AND_SW_HARDENING_NEEDED: OUT_OF_DATE_CONFIGURATION_NEEDED,
}

_COMPONENTS = 16


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class PlatformMatch:
    """The platform TCB levels Intel's QVL selects for one platform.

    ``sgx_level`` is the highest level whose SGX components and PCESVN the
    platform meets; ``level`` is the level that rates the platform: for TDX
    the highest level that also passes the TDX component comparison, for SGX
    the same as ``sgx_level``.
    """

    sgx_level: TcbLevel
    level: TcbLevel

    @property
    def status(self) -> str:
        return self.level.tcb_status


@dataclass(frozen=True)
class ModuleResult:
    """The TDX module's identity and TCB as rated by the TCB info."""

    version: int
    """TDX module major version, TEE_TCB_SVN[1]."""
    isvsvn: int
    """TDX module SVN, TEE_TCB_SVN[0]."""
    identity_id: str | None
    """The ``tdxModuleIdentities`` entry used (``TDX_01`` ...), or ``None`` when
    ``tdxModule`` was used (module version 0)."""
    tcb_level: TdxModuleTcbLevel | None
    """The module TCB level matched; ``None`` for version 0, which has none."""

    @property
    def status(self) -> str:
        """The module TCB status; version 0 modules have no TCB levels and count as UpToDate."""
        return self.tcb_level.tcb_status if self.tcb_level is not None else UP_TO_DATE

    @property
    def advisory_ids(self) -> tuple[str, ...]:
        return self.tcb_level.advisory_ids if self.tcb_level is not None else ()

    @property
    def tcb_date(self) -> datetime | None:
        return self.tcb_level.tcb_date if self.tcb_level is not None else None


@dataclass(frozen=True)
class QeResult:
    """The quoting enclave matched against Intel's QE identity."""

    identity_id: str
    """``QE`` or ``TD_QE``."""
    isvsvn: int
    tcb_level: QeTcbLevel

    @property
    def status(self) -> str:
        """The matched QE TCB level's status as Intel publishes it."""
        return self.tcb_level.tcb_status

    @property
    def effective_status(self) -> str:
        """The status convergence uses: Intel's QVL counts every QE status
        other than UpToDate and Revoked as OutOfDate."""
        if self.status in (UP_TO_DATE, REVOKED):
            return self.status
        return OUT_OF_DATE

    @property
    def advisory_ids(self) -> tuple[str, ...]:
        return self.tcb_level.advisory_ids

    @property
    def tcb_date(self) -> datetime:
        return self.tcb_level.tcb_date


@dataclass(frozen=True)
class TcbResult:
    """The converged TCB verdict for one quote."""

    status: str
    """One of :data:`RESULT_STATUSES`."""
    advisory_ids: tuple[str, ...]
    """Union of the platform, TDX module and QE level advisories, sorted."""
    platform: PlatformMatch
    qe: QeResult
    module: ModuleResult | None
    """``None`` for SGX."""

    @property
    def platform_status(self) -> str:
        """The rating platform TCB level's own status."""
        return self.platform.status

    @property
    def qe_status(self) -> str:
        return self.qe.status

    @property
    def module_status(self) -> str | None:
        return self.module.status if self.module is not None else None

    @property
    def tcb_date(self) -> datetime:
        """The ``tcbDate`` of the platform TCB level that rated the platform."""
        return self.platform.level.tcb_date

    @property
    def revoked(self) -> bool:
        return self.status == REVOKED


# --------------------------------------------------------------------------- helpers


def _svns_hex(values: bytes | tuple[int, ...]) -> str:
    return bytes(values).hex() if isinstance(values, bytes) else "[" + ",".join(map(str, values)) + "]"


def sorted_tcb_levels(tcb_info: TcbInfo) -> tuple[TcbLevel, ...]:
    """TCB levels highest first, in Intel's QVL order.

    Intel keeps levels in a set ordered by the 16 SGX component SVNs
    (lexicographically), then PCESVN, then the 16 TDX component SVNs; the
    served order is not trusted.
    """
    return tuple(
        sorted(
            tcb_info.tcb_levels,
            key=lambda lv: (lv.sgx_svns, lv.pce_svn, lv.tdx_svns or ()),
            reverse=True,
        )
    )


def sorted_module_levels(identity: TdxModuleIdentity) -> tuple[TdxModuleTcbLevel, ...]:
    """A TDX module identity's TCB levels, highest ISVSVN first."""
    return tuple(sorted(identity.tcb_levels, key=lambda lv: lv.isvsvn, reverse=True))


def sorted_qe_levels(qe_identity: QeIdentity) -> tuple[QeTcbLevel, ...]:
    """QE identity TCB levels, highest ISVSVN first."""
    return tuple(sorted(qe_identity.tcb_levels, key=lambda lv: lv.isvsvn, reverse=True))


def module_identity_id(version: int) -> str:
    """The ``tdxModuleIdentities`` id of a TDX module major version (``TDX_%02X``)."""
    return f"TDX_{version:02X}"


def find_module_identity(tcb_info: TcbInfo, version: int) -> TdxModuleIdentity | None:
    """The ``tdxModuleIdentities`` entry ``TDX_%02X`` for ``version``, matched case-insensitively."""
    wanted = module_identity_id(version)
    for identity in tcb_info.tdx_module_identities:
        if identity.id.upper() == wanted:
            return identity
    return None


def _tee_tcb_svn(value: bytes, name: str) -> bytes:
    if len(value) != _COMPONENTS:
        raise TcbError(
            f"{name} must be {_COMPONENTS} bytes, got {len(value)}; pass the TD report's field unchanged",
            code="input_invalid",
            step="tcb",
        )
    return value


# --------------------------------------------------------------------------- platform


def match_tcb_levels(tcb_info: TcbInfo, pck: PckExtension, tee_tcb_svn: bytes | None) -> PlatformMatch:
    """Select the platform TCB levels as Intel's QVL does.

    Levels are walked highest first (:func:`sorted_tcb_levels`). A level is
    met when each of the PCK certificate's 16 SGX TCB component SVNs (the
    INTEGER components, as Intel compares them, not the raw CPUSVN bytes)
    and its PCESVN are at least the level's. For TDX TCB info the level must
    also be met by TEE_TCB_SVN component by component, except that bytes 0
    and 1 are left out when TEE_TCB_SVN[1] (the module major version) is
    above 0: the module's own TCB is then judged by its module identity.

    Pass ``tee_tcb_svn`` (the TD report's 16 bytes) exactly when the TCB info
    is TDX. Raises ``tcb_level_not_found`` when no level matches.
    """
    if tcb_info.tcb_type != 0:
        # Intel defines how to compare components only for tcbType 0.
        raise TcbError(
            f"TCB info tcbType {tcb_info.tcb_type} is not supported (only 0 is defined); "
            "use TCB info from Intel PCS or a PCCS that serves tcbType 0",
            code="collateral_format",
            step="tcb",
        )
    if tcb_info.is_tdx != (tee_tcb_svn is not None):
        raise TcbError(
            f"{tcb_info.id} TCB info needs "
            + ("the TD report's TEE_TCB_SVN" if tcb_info.is_tdx else "an SGX quote, not TEE_TCB_SVN")
            + "; use the TCB info of the quote's TEE type",
            code="collateral_kind_mismatch",
            step="tcb",
        )
    if len(pck.cpu_svn_components) != _COMPONENTS:
        raise TcbError(
            f"the PCK certificate has {len(pck.cpu_svn_components)} SGX TCB components, expected {_COMPONENTS}",
            code="pck_extension_invalid",
            step="tcb",
        )
    tdx_start = 0
    if tee_tcb_svn is not None:
        _tee_tcb_svn(tee_tcb_svn, "TEE_TCB_SVN")
        # Module version > 0: the module SVN and version bytes are rated by the
        # module identity's TCB levels, not by the platform levels.
        tdx_start = 2 if tee_tcb_svn[1] > 0 else 0

    sgx_level: TcbLevel | None = None
    for level in sorted_tcb_levels(tcb_info):
        if level.pce_svn > pck.pce_svn:
            continue
        if any(have < need for have, need in zip(pck.cpu_svn_components, level.sgx_svns, strict=True)):
            continue
        if tee_tcb_svn is None:
            return PlatformMatch(sgx_level=level, level=level)
        if sgx_level is None:
            sgx_level = level
        tdx = level.tdx_svns
        if tdx is None:  # the parser guarantees TDX components for TDX TCB info
            raise TcbError(
                "a TDX TCB level has no TDX components", code="collateral_format", step="tcb"
            )  # pragma: no cover
        if all(tee_tcb_svn[i] >= tdx[i] for i in range(tdx_start, _COMPONENTS)):
            return PlatformMatch(sgx_level=sgx_level, level=level)

    platform = f"SGX components {_svns_hex(pck.cpu_svn_components)}, PCESVN {pck.pce_svn}"
    if tee_tcb_svn is not None:
        platform += f", TEE_TCB_SVN {tee_tcb_svn.hex()}"
    part = "SGX TCB level" if sgx_level is None else "TDX TCB level (the SGX part matched)"
    raise TcbError(
        f"no {part} in the TCB info for FMSPC {tcb_info.fmspc_hex} matches this platform ({platform}): "
        "its TCB is below every level Intel lists; update the platform (microcode/BIOS/TDX module) "
        "and make sure the TCB info is current",
        code="tcb_level_not_found",
        step="tcb",
    )


def platform_tcb_level(tcb_info: TcbInfo, pck: PckExtension, tee_tcb_svn: bytes | None) -> TcbLevel:
    """The TCB level that rates the platform (see :func:`match_tcb_levels`)."""
    return match_tcb_levels(tcb_info, pck, tee_tcb_svn).level


# --------------------------------------------------------------------------- TDX module


def tdx_module_status(tcb_info: TcbInfo, report: TdReport10) -> ModuleResult:
    """Check the TDX module against the TCB info and find its TCB level.

    Module major version TEE_TCB_SVN[1] == 0 uses ``tdxModule`` and has no
    module TCB level (status UpToDate). A higher version uses the
    ``tdxModuleIdentities`` entry ``TDX_%02X`` (case-insensitive); its TCB
    level is the highest whose ISVSVN is at most TEE_TCB_SVN[0].

    MRSIGNER_SEAM must equal the identity's ``mrsigner``. SEAM attributes
    must be all zero and equal the identity's ``attributes`` (Intel's rule,
    stricter than a comparison under ``attributesMask``). Raises
    ``tdx_module_mismatch``, ``tdx_module_identity_not_found`` or
    ``tcb_level_not_found``.
    """
    if not tcb_info.is_tdx or tcb_info.tdx_module is None:
        raise TcbError(
            f"{tcb_info.id} TCB info cannot rate a TDX module; use the TDX TCB info for this platform",
            code="collateral_kind_mismatch",
            step="tdx_module",
        )
    tee_tcb_svn = _tee_tcb_svn(report.tee_tcb_svn, "TEE_TCB_SVN")
    isvsvn, version = tee_tcb_svn[0], tee_tcb_svn[1]

    identity: TdxModuleIdentity | None = None
    if version == 0:
        mrsigner = tcb_info.tdx_module.mrsigner
        attributes = tcb_info.tdx_module.attributes
        source = "tdxModule"
    else:
        identity = _require_module_identity(tcb_info, version, "TEE_TCB_SVN[1]")
        mrsigner, attributes = identity.mrsigner, identity.attributes
        source = f"tdxModuleIdentities {identity.id}"

    if report.mr_signer_seam != mrsigner:
        raise TcbError(
            f"MRSIGNER_SEAM {report.mr_signer_seam.hex()} differs from the TCB info's {source} mrsigner "
            f"{mrsigner.hex()}: the TDX module is not one Intel signed for this platform",
            code="tdx_module_mismatch",
            step="tdx_module",
        )
    if any(report.seam_attributes):
        raise TcbError(
            f"SEAM attributes {report.seam_attributes.hex()} are not all zero; "
            "Intel's QVL requires zero SEAM attributes for production TDX modules",
            code="tdx_module_mismatch",
            step="tdx_module",
        )
    if report.seam_attributes != attributes:
        raise TcbError(
            f"SEAM attributes {report.seam_attributes.hex()} differ from the TCB info's {source} "
            f"attributes {attributes.hex()}",
            code="tdx_module_mismatch",
            step="tdx_module",
        )

    if identity is None:
        return ModuleResult(version=version, isvsvn=isvsvn, identity_id=None, tcb_level=None)
    for level in sorted_module_levels(identity):
        if isvsvn >= level.isvsvn:
            return ModuleResult(version=version, isvsvn=isvsvn, identity_id=identity.id, tcb_level=level)
    lowest = min(lv.isvsvn for lv in identity.tcb_levels)
    raise TcbError(
        f"TDX module SVN {isvsvn} (TEE_TCB_SVN[0]) is below every TCB level of {identity.id} "
        f"(lowest ISVSVN {lowest}); update the TDX module",
        code="tcb_level_not_found",
        step="tdx_module",
    )


def _require_module_identity(tcb_info: TcbInfo, version: int, where: str) -> TdxModuleIdentity:
    identity = find_module_identity(tcb_info, version)
    if identity is not None:
        return identity
    wanted = module_identity_id(version)
    if not tcb_info.tdx_module_identities:
        detail = "the TCB info has no tdxModuleIdentities at all (an older format)"
    else:
        known = ", ".join(i.id for i in tcb_info.tdx_module_identities)
        detail = f"it lists only {known}"
    raise TcbError(
        f"TDX module version {version} ({where}) needs the TCB info entry {wanted}, but {detail}; "
        "fetch current TCB info for this FMSPC from Intel PCS or your PCCS",
        code="tdx_module_identity_not_found",
        step="tdx_module",
    )


# --------------------------------------------------------------------------- QE


def qe_identity_status(qe_identity: QeIdentity, qe_report: EnclaveReport) -> QeResult:
    """Match the QE report against Intel's QE identity and find the QE's TCB level.

    Checks, in Intel's order: MISCSELECT under ``miscselectMask`` equals
    ``miscselect``; ATTRIBUTES under ``attributesMask`` equal ``attributes``;
    MRSIGNER equal; ISVPRODID equal. A QE in debug mode is refused even if a
    mask would let it through. The TCB level is the highest whose ISVSVN is at
    most the QE's. Raises ``qe_identity_mismatch`` or ``qe_tcb_level_not_found``.
    """

    def mismatch(what: str) -> TcbError:
        return TcbError(
            f"the quoting enclave does not match Intel's {qe_identity.id} identity: {what}; "
            "the quote was not produced by a genuine Intel quoting enclave",
            code="qe_identity_mismatch",
            step="qe_identity",
        )

    # Both sides as the report stores them: MISCSELECT little-endian.
    miscselect = int.from_bytes(qe_identity.miscselect, "little")
    miscselect_mask = int.from_bytes(qe_identity.miscselect_mask, "little")
    if qe_report.misc_select & miscselect_mask != miscselect:
        raise mismatch(
            f"MISCSELECT {qe_report.misc_select:08x} under mask {miscselect_mask:08x} is "
            f"{qe_report.misc_select & miscselect_mask:08x}, expected {miscselect:08x}"
        )
    masked = bytes(a & m for a, m in zip(qe_report.attributes, qe_identity.attributes_mask, strict=True))
    if masked != qe_identity.attributes:
        raise mismatch(
            f"ATTRIBUTES {qe_report.attributes.hex()} under mask {qe_identity.attributes_mask.hex()} are "
            f"{masked.hex()}, expected {qe_identity.attributes.hex()}"
        )
    if qe_report.attributes[0] & 0x02:
        # Intel's published mask covers DEBUG, so the comparison above already
        # refuses a debug QE; this keeps that true for any mask.
        raise mismatch("the QE runs in debug mode (ATTRIBUTES.DEBUG is set)")
    if qe_report.mr_signer != qe_identity.mrsigner:
        raise mismatch(f"MRSIGNER {qe_report.mr_signer.hex()}, expected {qe_identity.mrsigner.hex()}")
    if qe_report.isv_prod_id != qe_identity.isvprodid:
        raise mismatch(f"ISVPRODID {qe_report.isv_prod_id}, expected {qe_identity.isvprodid}")

    for level in sorted_qe_levels(qe_identity):
        if qe_report.isv_svn >= level.isvsvn:
            return QeResult(identity_id=qe_identity.id, isvsvn=qe_report.isv_svn, tcb_level=level)
    lowest = min(lv.isvsvn for lv in qe_identity.tcb_levels)
    raise TcbError(
        f"QE ISVSVN {qe_report.isv_svn} is below every TCB level of Intel's {qe_identity.id} identity "
        f"(lowest ISVSVN {lowest}); update the platform's quoting enclave",
        code="qe_tcb_level_not_found",
        step="qe_identity",
    )


# --------------------------------------------------------------------------- convergence


def converge_with_module(platform_status: str, module_status: str) -> str:
    """Merge the TDX platform level's status with the TDX module's (Intel's rule).

    A Revoked module gives Revoked; an OutOfDate module turns UpToDate and
    SWHardeningNeeded into OutOfDate, and the two configuration statuses into
    OutOfDateConfigurationNeeded; otherwise the platform status stands.
    """
    if module_status == REVOKED:
        return REVOKED
    if module_status == OUT_OF_DATE:
        return _DEGRADE_TO_OUT_OF_DATE.get(platform_status, platform_status)
    return platform_status


def converge_with_qe(status: str, qe_status: str) -> str:
    """Merge a platform (or platform + module) status with the QE's effective status.

    The same rule as :func:`converge_with_module`, applied last. ``qe_status``
    is :attr:`QeResult.effective_status` (UpToDate, OutOfDate or Revoked).
    """
    if qe_status == REVOKED:
        return REVOKED
    if qe_status == OUT_OF_DATE:
        return _DEGRADE_TO_OUT_OF_DATE.get(status, status)
    return status


def td_relaunch_check(
    tcb_info: TcbInfo,
    tee_tcb_svn2: bytes,
    *,
    sgx_status: str,
    tdx_status: str,
    module_status: str,
    qe_status: str,
) -> str:
    """TDX 1.5: advise a TD relaunch when the platform was updated under a running TD.

    Intel's QVL looks at TEE_TCB_SVN2 (the TCB the TD would get if relaunched)
    only when the QE is UpToDate, the SGX level is UpToDate, SWHardeningNeeded
    or one of the configuration statuses, the TDX status (after merging the
    module) is OutOfDate or OutOfDateConfigurationNeeded, and the module itself
    is OutOfDate. Then, if TEE_TCB_SVN2 reaches the latest TCB level (and, for
    module version TEE_TCB_SVN2[1] > 0, the latest TCB level of that module
    identity), the status becomes TDRelaunchAdvised, or
    TDRelaunchAdvisedConfigurationNeeded when the SGX or TDX status asked for
    configuration. Otherwise ``tdx_status`` is returned unchanged.
    """
    svn2 = _tee_tcb_svn(tee_tcb_svn2, "TEE_TCB_SVN2")
    if qe_status != UP_TO_DATE:
        return tdx_status
    if sgx_status not in (
        UP_TO_DATE,
        SW_HARDENING_NEEDED,
        CONFIGURATION_NEEDED,
        CONFIGURATION_AND_SW_HARDENING_NEEDED,
    ):
        return tdx_status
    if tdx_status not in (OUT_OF_DATE, OUT_OF_DATE_CONFIGURATION_NEEDED) or module_status != OUT_OF_DATE:
        return tdx_status

    latest = sorted_tcb_levels(tcb_info)[0]
    latest_tdx = latest.tdx_svns
    if latest_tdx is None:  # TDX TCB info always has TDX components
        return tdx_status  # pragma: no cover
    if svn2[1] == 0:
        module_ok = svn2[0] >= latest_tdx[0]
    else:
        identity = _require_module_identity(tcb_info, svn2[1], "TEE_TCB_SVN2[1]")
        module_ok = svn2[0] >= sorted_module_levels(identity)[0].isvsvn
    if not (module_ok and svn2[2] >= latest_tdx[2]):
        return tdx_status
    if sgx_status in CONFIGURATION_NEEDED_STATUSES or tdx_status in CONFIGURATION_NEEDED_STATUSES:
        return TD_RELAUNCH_ADVISED_CONFIGURATION_NEEDED
    return TD_RELAUNCH_ADVISED


def converge(
    platform: PlatformMatch | TcbLevel,
    qe: QeResult,
    module: ModuleResult | None = None,
    *,
    tcb_info: TcbInfo | None = None,
    tee_tcb_svn2: bytes | None = None,
    report: TdReport10 | EnclaveReport | None = None,
) -> TcbResult:
    """One TCB status and the advisory IDs, as Intel's QVL converges them.

    SGX (``module`` is ``None``): the platform level's status merged with the
    QE's. TDX: the platform level's status merged with the module's; a
    Revoked result stops there; for a TD 1.5 report (pass ``tee_tcb_svn2``
    and ``tcb_info``) the relaunch check runs; the QE's status is merged
    last. Advisory IDs are the sorted union of the platform level's, the
    module level's and the QE level's.

    ``report`` may be passed instead of ``tee_tcb_svn2``: a TD 1.5 report
    supplies its TEE_TCB_SVN2. ``platform`` should be the
    :class:`PlatformMatch` of :func:`match_tcb_levels`; a bare
    :class:`TcbLevel` is taken as both the SGX and the TDX level, which can
    only make the relaunch check stricter (it may then report OutOfDate where
    Intel advises a relaunch), never looser.
    """
    if isinstance(platform, TcbLevel):
        platform = PlatformMatch(sgx_level=platform, level=platform)
    if isinstance(report, TdReport15):
        if tee_tcb_svn2 is not None and tee_tcb_svn2 != report.tee_tcb_svn2:
            raise TcbError("tee_tcb_svn2 and report disagree", code="internal_error", step="tcb")
        tee_tcb_svn2 = report.tee_tcb_svn2
    status = platform.status
    advisories = set(platform.level.advisory_ids) | set(qe.advisory_ids)
    if module is not None:
        advisories |= set(module.advisory_ids)
        status = converge_with_module(status, module.status)
        if status != REVOKED and tee_tcb_svn2 is not None:
            if tcb_info is None:
                raise TcbError("the TD relaunch check needs the TCB info", code="internal_error", step="tcb")
            status = td_relaunch_check(
                tcb_info,
                tee_tcb_svn2,
                sgx_status=platform.sgx_level.tcb_status,
                tdx_status=status,
                module_status=module.status,
                qe_status=qe.effective_status,
            )
    elif tee_tcb_svn2 is not None:
        raise TcbError("TEE_TCB_SVN2 given without a TDX module result", code="internal_error", step="tcb")
    if status != REVOKED:
        status = converge_with_qe(status, qe.effective_status)
    return TcbResult(
        status=status,
        advisory_ids=tuple(sorted(advisories)),
        platform=platform,
        qe=qe,
        module=module,
    )


def evaluate_tcb(
    tcb_info: TcbInfo,
    qe_identity: QeIdentity,
    pck: PckExtension,
    report: TdReport10 | EnclaveReport,
    qe_report: EnclaveReport,
) -> TcbResult:
    """Every TCB decision for one quote, in Intel's order: module identity,
    QE identity, platform level, module TCB level, convergence.

    ``report`` is the quote body (a TD report for TDX, the enclave report for
    SGX). The collateral must be of the quote's kind (TDX TCB info and
    TD_QE identity for TDX, SGX TCB info and QE identity for SGX), otherwise
    ``collateral_kind_mismatch``.
    """
    wanted_qe = "QE" if isinstance(report, EnclaveReport) else "TD_QE"
    if qe_identity.id != wanted_qe:
        # Intel's QVL refuses a QE identity of the other TEE before using it.
        raise TcbError(
            f"this quote needs Intel's {wanted_qe} identity, got {qe_identity.id}; "
            "fetch the QE identity for the quote's TEE type",
            code="collateral_kind_mismatch",
            step="qe_identity",
        )
    if isinstance(report, EnclaveReport):
        if tcb_info.is_tdx:
            raise TcbError(
                "an SGX quote needs SGX TCB info, got TDX TCB info; fetch the SGX TCB info for this FMSPC",
                code="collateral_kind_mismatch",
                step="tcb",
            )
        qe = qe_identity_status(qe_identity, qe_report)
        return converge(match_tcb_levels(tcb_info, pck, None), qe)
    module = tdx_module_status(tcb_info, report)
    qe = qe_identity_status(qe_identity, qe_report)
    platform = match_tcb_levels(tcb_info, pck, report.tee_tcb_svn)
    svn2 = report.tee_tcb_svn2 if isinstance(report, TdReport15) else None
    return converge(platform, qe, module, tcb_info=tcb_info, tee_tcb_svn2=svn2)
