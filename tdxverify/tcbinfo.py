"""Typed, strictly validated Intel TCB info and QE identity.

Parses the exact JSON text of the inner object Intel signs (the value of
``tcbInfo`` / ``enclaveIdentity`` in a PCS v4 response, which is also what
dcap-qvl's ``tcb_info`` / ``qe_identity`` strings hold) into frozen
dataclasses. Nothing here authenticates: callers verify the signature over
the same raw bytes first (``tdxverify.collateral``).

Strictness, each failure a :class:`~tdxverify.errors.CollateralError` with
code ``collateral_format`` and a message naming the JSON path:

* valid UTF-8, one JSON object, no duplicate keys, no NaN/Infinity;
* every required field present with its JSON type (``true`` is not an
  integer, ``1.0`` is not an integer), integers in their range;
* hex strings of the exact length (either case), dates as
  ``YYYY-MM-DDThh:mm:ssZ``;
* 16 SGX TCB components per level, and 16 TDX components for ``id`` "TDX";
* TCB statuses from the set Intel's QVL accepts for that kind of level
  (platform, TDX module, QE): an unknown status fails closed;
* no duplicate TCB levels (Intel's QVL rejects them too).

Unknown fields are ignored, as Intel's QVL and dcap-qvl do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from typing import Any

from .errors import CollateralError
from .strictjson import JsonProblem, loads_strict

__all__ = [
    "MODULE_TCB_STATUSES",
    "QE_IDENTITY_IDS",
    "QE_IDENTITY_VERSIONS",
    "QE_TCB_STATUSES",
    "TCB_INFO_VERSIONS",
    "TCB_STATUSES",
    "QeIdentity",
    "QeTcbLevel",
    "TcbComponent",
    "TcbInfo",
    "TcbLevel",
    "TdxModule",
    "TdxModuleIdentity",
    "TdxModuleTcbLevel",
    "parse_qe_identity",
    "parse_tcb_info",
]

TCB_STATUSES: frozenset[str] = frozenset(
    {
        "UpToDate",
        "SWHardeningNeeded",
        "ConfigurationNeeded",
        "ConfigurationAndSWHardeningNeeded",
        "OutOfDate",
        "OutOfDateConfigurationNeeded",
        "Revoked",
    }
)
"""Every platform ``tcbStatus`` value Intel publishes; anything else is rejected."""

MODULE_TCB_STATUSES: frozenset[str] = frozenset({"UpToDate", "OutOfDate", "Revoked"})
"""Statuses a TDX module identity TCB level may have (Intel's QVL accepts only these)."""

QE_TCB_STATUSES: frozenset[str] = frozenset(
    {"UpToDate", "ConfigurationNeeded", "OutOfDate", "OutOfDateConfigurationNeeded", "Revoked"}
)
"""Statuses a QE identity TCB level may have (the set Intel's QVL parses)."""

TCB_INFO_VERSIONS: frozenset[int] = frozenset({2, 3})
"""TCB info versions understood: 2 (SGX only, PCS v3 API) and 3 (SGX and TDX, PCS v4 API)."""

QE_IDENTITY_VERSIONS: frozenset[int] = frozenset({2})
"""QE identity versions understood."""

QE_IDENTITY_IDS: frozenset[str] = frozenset({"QE", "QVE", "TD_QE"})
"""Enclave identity IDs Intel publishes."""

SGX_COMPONENT_COUNT = 16
TDX_COMPONENT_COUNT = 16

_UINT8 = 0xFF
_UINT16 = 0xFFFF
_UINT32 = 0xFFFFFFFF
_INT32_MIN = -(2**31)
_INT32_MAX = 2**31 - 1

_HEX = re.compile(r"[0-9a-fA-F]*")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z")
_V2_COMPONENT_KEYS = tuple(f"sgxtcbcomp{i:02d}svn" for i in range(1, SGX_COMPONENT_COUNT + 1))


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class TcbComponent:
    """One SGX or TDX TCB component of a TCB level."""

    svn: int
    category: str | None = None
    type: str | None = None


@dataclass(frozen=True)
class TcbLevel:
    """One platform TCB level: the SVNs it requires and the status it gives."""

    sgx_components: tuple[TcbComponent, ...]
    pce_svn: int
    tdx_components: tuple[TcbComponent, ...] | None
    """16 components for TDX TCB info; ``None`` for SGX TCB info."""
    tcb_date: datetime
    tcb_status: str
    advisory_ids: tuple[str, ...] = ()

    @cached_property
    def sgx_svns(self) -> tuple[int, ...]:
        """The 16 SGX component SVNs."""
        return tuple(c.svn for c in self.sgx_components)

    @cached_property
    def tdx_svns(self) -> tuple[int, ...] | None:
        """The 16 TDX component SVNs, or ``None`` for SGX TCB info."""
        if self.tdx_components is None:
            return None
        return tuple(c.svn for c in self.tdx_components)


@dataclass(frozen=True)
class TdxModule:
    """``tdxModule``: the identity of TDX modules of major version 0."""

    mrsigner: bytes
    """48 bytes, compared with the TD report's MRSIGNER_SEAM."""
    attributes: bytes
    """8 bytes, compared with SEAM attributes under ``attributes_mask``."""
    attributes_mask: bytes


@dataclass(frozen=True)
class TdxModuleTcbLevel:
    """A TCB level of a TDX module identity, keyed by the module's ISVSVN."""

    isvsvn: int
    tcb_date: datetime
    tcb_status: str
    advisory_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class TdxModuleIdentity:
    """One ``tdxModuleIdentities`` entry (``id`` like ``TDX_01``)."""

    id: str
    mrsigner: bytes
    attributes: bytes
    attributes_mask: bytes
    tcb_levels: tuple[TdxModuleTcbLevel, ...]
    """In served order; decisions sort them (highest ISVSVN first)."""


@dataclass(frozen=True)
class TcbInfo:
    """Intel TCB info for one FMSPC (the inner ``tcbInfo`` object)."""

    id: str
    """``"SGX"`` or ``"TDX"`` (version 2 has no ``id``: it is SGX)."""
    version: int
    issue_date: datetime
    next_update: datetime
    fmspc: bytes
    pce_id: bytes
    tcb_type: int
    tcb_evaluation_data_number: int
    tdx_module: TdxModule | None
    """Present (required) for TDX TCB info, ``None`` for SGX."""
    tdx_module_identities: tuple[TdxModuleIdentity, ...]
    """Possibly empty; older TDX TCB info has none."""
    tcb_levels: tuple[TcbLevel, ...]
    """In served order; decisions sort them (highest first)."""

    @property
    def is_tdx(self) -> bool:
        return self.id == "TDX"

    @property
    def fmspc_hex(self) -> str:
        """FMSPC as Intel writes it: 12 upper-case hex digits."""
        return self.fmspc.hex().upper()


@dataclass(frozen=True)
class QeTcbLevel:
    """A QE identity TCB level, keyed by the QE's ISVSVN."""

    isvsvn: int
    tcb_date: datetime
    tcb_status: str
    advisory_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class QeIdentity:
    """Intel's identity of a quoting enclave (the inner ``enclaveIdentity`` object)."""

    id: str
    """``"QE"`` (SGX), ``"TD_QE"`` (TDX) or ``"QVE"``."""
    version: int
    issue_date: datetime
    next_update: datetime
    tcb_evaluation_data_number: int
    miscselect: bytes
    miscselect_mask: bytes
    attributes: bytes
    attributes_mask: bytes
    mrsigner: bytes
    isvprodid: int
    tcb_levels: tuple[QeTcbLevel, ...]
    """In served order; decisions sort them (highest ISVSVN first)."""


# --------------------------------------------------------------------------- JSON access


class _Reader:
    """Typed access to one JSON object, with the object's path for messages."""

    def __init__(self, value: Any, path: str, fail: Callable[[str, str], CollateralError]) -> None:
        if not isinstance(value, dict):
            raise fail(path, f"must be a JSON object, not {_kind(value)}")
        self.obj: dict[str, Any] = value
        self.path = path
        self.fail = fail

    def at(self, key: str) -> str:
        return f"{self.path}.{key}"

    def has(self, key: str) -> bool:
        return key in self.obj

    def get(self, key: str) -> Any:
        if key not in self.obj:
            raise self.fail(self.at(key), "is missing")
        return self.obj[key]

    def int_(self, key: str, lo: int = 0, hi: int = _UINT32) -> int:
        value = self.get(key)
        # bool is a subclass of int in Python; JSON true/false is not a number.
        if type(value) is not int:
            raise self.fail(self.at(key), f"must be an integer, not {_kind(value)}")
        if not lo <= value <= hi:
            raise self.fail(self.at(key), f"must be between {lo} and {hi}, got {value}")
        return value

    def str_(self, key: str) -> str:
        value = self.get(key)
        if type(value) is not str:
            raise self.fail(self.at(key), f"must be a string, not {_kind(value)}")
        return value

    def opt_str(self, key: str) -> str | None:
        return self.str_(key) if key in self.obj else None

    def hex_(self, key: str, size: int) -> bytes:
        value = self.str_(key)
        if len(value) != 2 * size or not _HEX.fullmatch(value):
            raise self.fail(self.at(key), f"must be {2 * size} hex digits ({size} bytes), got {value!r:.80}")
        return bytes.fromhex(value)

    def date(self, key: str) -> datetime:
        value = self.str_(key)
        m = _DATE.fullmatch(value)
        if m is None:
            raise self.fail(self.at(key), f"must be a UTC date like 2025-09-02T07:41:59Z, got {value!r:.80}")
        try:
            y, mo, d, h, mi, sec = (int(g) for g in m.groups())
            return datetime(y, mo, d, h, mi, sec, tzinfo=timezone.utc)
        except ValueError as exc:
            raise self.fail(self.at(key), f"is not a valid date ({exc}): {value!r}") from None

    def list_(self, key: str, *, nonempty: bool = False) -> list[Any]:
        value = self.get(key)
        if type(value) is not list:
            raise self.fail(self.at(key), f"must be a JSON array, not {_kind(value)}")
        if nonempty and not value:
            raise self.fail(self.at(key), "must not be empty")
        return value

    def child(self, key: str) -> _Reader:
        return _Reader(self.get(key), self.at(key), self.fail)

    def status(self, allowed: frozenset[str] = TCB_STATUSES, key: str = "tcbStatus") -> str:
        value = self.str_(key)
        if value not in allowed:
            raise self.fail(
                self.at(key), f"has unknown status {value!r:.80} (allowed here: {', '.join(sorted(allowed))})"
            )
        return value

    def advisory_ids(self, key: str = "advisoryIDs") -> tuple[str, ...]:
        if key not in self.obj:
            return ()  # optional in every version
        items = self.list_(key)
        for i, item in enumerate(items):
            if type(item) is not str:
                raise self.fail(f"{self.at(key)}[{i}]", f"must be a string, not {_kind(item)}")
        return tuple(items)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number with a fraction or exponent"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _failer(what: str, step: str) -> Callable[[str, str], CollateralError]:
    def fail(path: str, problem: str) -> CollateralError:
        return CollateralError(
            f"{what} is malformed: {path} {problem}; fetch fresh collateral from Intel PCS or your PCCS",
            code="collateral_format",
            step=step,
        )

    return fail


def _load(raw: bytes | str, root: str, fail: Callable[[str, str], CollateralError]) -> _Reader:
    if isinstance(raw, (bytes, bytearray, memoryview)):
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise fail(root, f"is not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    elif isinstance(raw, str):
        text = raw
    else:
        raise fail(root, f"must be JSON text (bytes or str), not {type(raw).__name__}")
    try:
        value = loads_strict(text)
    except JsonProblem as exc:
        raise fail(root, str(exc)) from None
    return _Reader(value, root, fail)


# --------------------------------------------------------------------------- TCB info


def parse_tcb_info(raw: bytes | str) -> TcbInfo:
    """Parse the inner ``tcbInfo`` JSON text (v2 SGX, v3 SGX/TDX) into a :class:`TcbInfo`.

    Raises :class:`CollateralError` (``collateral_format``, step ``tcb_info``)
    naming the offending field path.
    """
    fail = _failer("TCB info", "tcb_info")
    r = _load(raw, "tcbInfo", fail)

    version = r.int_("version")
    if version not in TCB_INFO_VERSIONS:
        raise fail(r.at("version"), f"is {version}; supported TCB info versions are 2 and 3")
    if version == 2:
        # Version 2 has no id and describes SGX platforms only; an id that says
        # otherwise is contradictory, so refuse rather than guess.
        if r.has("id") and r.str_("id") != "SGX":
            raise fail(r.at("id"), "must be absent or 'SGX' in TCB info version 2")
        tcb_id = "SGX"
    else:
        tcb_id = r.str_("id")
        if tcb_id not in ("SGX", "TDX"):
            raise fail(r.at("id"), f"is {tcb_id!r:.80}; expected 'SGX' or 'TDX'")

    issue_date = r.date("issueDate")
    next_update = r.date("nextUpdate")
    fmspc = r.hex_("fmspc", 6)
    pce_id = r.hex_("pceId", 2)
    tcb_type = r.int_("tcbType", _INT32_MIN, _INT32_MAX)
    tcb_evaluation_data_number = r.int_("tcbEvaluationDataNumber")

    tdx_module: TdxModule | None = None
    identities: tuple[TdxModuleIdentity, ...] = ()
    if tcb_id == "TDX":
        tdx_module = _tdx_module(r.child("tdxModule"))
        if r.has("tdxModuleIdentities"):
            identities = _tdx_module_identities(r, fail)
    else:
        for key in ("tdxModule", "tdxModuleIdentities"):
            if r.has(key):
                raise fail(r.at(key), "must not appear in SGX TCB info")

    levels_json = r.list_("tcbLevels", nonempty=True)
    levels: list[TcbLevel] = []
    seen: dict[tuple[Any, ...], int] = {}
    for i, item in enumerate(levels_json):
        level = _tcb_level(_Reader(item, f"{r.at('tcbLevels')}[{i}]", fail), version, tcb_id)
        svns = (level.sgx_svns, level.pce_svn, level.tdx_svns)
        if svns in seen:
            raise fail(f"{r.at('tcbLevels')}[{i}]", f"repeats the TCB of tcbLevels[{seen[svns]}]")
        seen[svns] = i
        levels.append(level)

    return TcbInfo(
        id=tcb_id,
        version=version,
        issue_date=issue_date,
        next_update=next_update,
        fmspc=fmspc,
        pce_id=pce_id,
        tcb_type=tcb_type,
        tcb_evaluation_data_number=tcb_evaluation_data_number,
        tdx_module=tdx_module,
        tdx_module_identities=identities,
        tcb_levels=tuple(levels),
    )


def _tdx_module(r: _Reader) -> TdxModule:
    return TdxModule(
        mrsigner=r.hex_("mrsigner", 48),
        attributes=r.hex_("attributes", 8),
        attributes_mask=r.hex_("attributesMask", 8),
    )


def _tdx_module_identities(r: _Reader, fail: Callable[[str, str], CollateralError]) -> tuple[TdxModuleIdentity, ...]:
    out: list[TdxModuleIdentity] = []
    ids: dict[str, int] = {}
    for i, item in enumerate(r.list_("tdxModuleIdentities")):
        ir = _Reader(item, f"{r.at('tdxModuleIdentities')}[{i}]", fail)
        ident = ir.str_("id")
        # Lookup is case-insensitive, so two entries differing only in case
        # would make the choice ambiguous.
        folded = ident.upper()
        if folded in ids:
            raise fail(ir.at("id"), f"repeats the id {ident!r:.80} of tdxModuleIdentities[{ids[folded]}]")
        ids[folded] = i
        levels: list[TdxModuleTcbLevel] = []
        seen: dict[int, int] = {}
        for j, lv in enumerate(ir.list_("tcbLevels", nonempty=True)):
            lr = _Reader(lv, f"{ir.at('tcbLevels')}[{j}]", fail)
            isvsvn = lr.child("tcb").int_("isvsvn", 0, _UINT8)
            if isvsvn in seen:
                raise fail(lr.path, f"repeats isvsvn {isvsvn} of tcbLevels[{seen[isvsvn]}]")
            seen[isvsvn] = j
            levels.append(
                TdxModuleTcbLevel(
                    isvsvn=isvsvn,
                    tcb_date=lr.date("tcbDate"),
                    tcb_status=lr.status(MODULE_TCB_STATUSES),
                    advisory_ids=lr.advisory_ids(),
                )
            )
        out.append(
            TdxModuleIdentity(
                id=ident,
                mrsigner=ir.hex_("mrsigner", 48),
                attributes=ir.hex_("attributes", 8),
                attributes_mask=ir.hex_("attributesMask", 8),
                tcb_levels=tuple(levels),
            )
        )
    return tuple(out)


def _components(r: _Reader, key: str, count: int) -> tuple[TcbComponent, ...]:
    items = r.list_(key)
    if len(items) != count:
        raise r.fail(r.at(key), f"must have exactly {count} components, has {len(items)}")
    out = []
    for i, item in enumerate(items):
        cr = _Reader(item, f"{r.at(key)}[{i}]", r.fail)
        out.append(
            TcbComponent(svn=cr.int_("svn", 0, _UINT8), category=cr.opt_str("category"), type=cr.opt_str("type"))
        )
    return tuple(out)


def _tcb_level(r: _Reader, version: int, tcb_id: str) -> TcbLevel:
    tcb = r.child("tcb")
    if version == 2:
        sgx = tuple(TcbComponent(svn=tcb.int_(k, 0, _UINT8)) for k in _V2_COMPONENT_KEYS)
        tdx = None
    else:
        sgx = _components(tcb, "sgxtcbcomponents", SGX_COMPONENT_COUNT)
        tdx = _components(tcb, "tdxtcbcomponents", TDX_COMPONENT_COUNT) if tcb_id == "TDX" else None
    return TcbLevel(
        sgx_components=sgx,
        pce_svn=tcb.int_("pcesvn", 0, _UINT16),
        tdx_components=tdx,
        tcb_date=r.date("tcbDate"),
        tcb_status=r.status(),
        advisory_ids=r.advisory_ids(),
    )


# --------------------------------------------------------------------------- QE identity


def parse_qe_identity(raw: bytes | str) -> QeIdentity:
    """Parse the inner ``enclaveIdentity`` JSON text (version 2) into a :class:`QeIdentity`.

    Raises :class:`CollateralError` (``collateral_format``, step ``qe_identity``)
    naming the offending field path.
    """
    fail = _failer("QE identity", "qe_identity")
    r = _load(raw, "enclaveIdentity", fail)

    version = r.int_("version")
    if version not in QE_IDENTITY_VERSIONS:
        raise fail(r.at("version"), f"is {version}; the supported QE identity version is 2")
    ident = r.str_("id")
    if ident not in QE_IDENTITY_IDS:
        raise fail(r.at("id"), f"is {ident!r:.80}; expected one of {', '.join(sorted(QE_IDENTITY_IDS))}")

    levels: list[QeTcbLevel] = []
    seen: dict[int, int] = {}
    for i, item in enumerate(r.list_("tcbLevels", nonempty=True)):
        lr = _Reader(item, f"{r.at('tcbLevels')}[{i}]", fail)
        isvsvn = lr.child("tcb").int_("isvsvn", 0, _UINT16)
        if isvsvn in seen:
            raise fail(lr.path, f"repeats isvsvn {isvsvn} of tcbLevels[{seen[isvsvn]}]")
        seen[isvsvn] = i
        levels.append(
            QeTcbLevel(
                isvsvn=isvsvn,
                tcb_date=lr.date("tcbDate"),
                tcb_status=lr.status(QE_TCB_STATUSES),
                advisory_ids=lr.advisory_ids(),
            )
        )

    return QeIdentity(
        id=ident,
        version=version,
        issue_date=r.date("issueDate"),
        next_update=r.date("nextUpdate"),
        tcb_evaluation_data_number=r.int_("tcbEvaluationDataNumber"),
        miscselect=r.hex_("miscselect", 4),
        miscselect_mask=r.hex_("miscselectMask", 4),
        attributes=r.hex_("attributes", 16),
        attributes_mask=r.hex_("attributesMask", 16),
        mrsigner=r.hex_("mrsigner", 32),
        isvprodid=r.int_("isvprodid", 0, _UINT16),
        tcb_levels=tuple(levels),
    )
