"""Appraisal: is a verified quote good enough for *me*?

:func:`tdxverify.verify` answers "is this a genuine quote from a TCB Intel
rates X?". A :class:`Policy` then answers the operator's question: which TCB
statuses and advisories are acceptable, which measurements (or event-log
values: compose hash, app id, OS image hash) are approved, what the report data
must bind (a public key, a key hash), how old collateral may be. Every rule is
reported in the verdict (``verdict.policy``), passed or not.

Rules are checked for type when the policy is built, in Python as from JSON: a
wrong type is ``policy_invalid``, never a rule that silently means something
else (a ``bytes`` "set" would be a substring test; a dict would pass as the
list of its keys; ``null`` would switch a rule off).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from .binding import HASH_ALGORITHMS, KeyHash, parse_public_key
from .errors import PolicyError
from .strictjson import JsonProblem, loads_strict
from .tcb import RESULT_STATUSES
from .verdict import PolicyCheck, PolicyResult, Verdict

__all__ = ["MAX_POLICY_SIZE", "MEASUREMENT_NAMES", "MEASUREMENT_SIZES", "POLICY_KEYS", "Policy", "load_policy"]

# Names usable in Policy.measurements (the CLI JSON's measurement keys) -> their size in bytes.
MEASUREMENT_SIZES: Mapping[str, int] = MappingProxyType(
    {
        "mr_td": 48,
        "rtmr0": 48,
        "rtmr1": 48,
        "rtmr2": 48,
        "rtmr3": 48,
        "mr_seam": 48,
        "mr_signer_seam": 48,
        "mr_config_id": 48,
        "mr_owner": 48,
        "mr_owner_config": 48,
        "mr_service_td": 48,
        "td_attributes": 8,
        "xfam": 8,
        "mr_enclave": 32,
        "mr_signer": 32,
    }
)
MEASUREMENT_NAMES = frozenset(MEASUREMENT_SIZES)

MAX_POLICY_SIZE = 4 * 1024 * 1024
"""Largest policy text :func:`load_policy` reads (``input_too_large`` beyond)."""

# Every status a verdict can carry (Revoked never reaches appraisal: it fails verification).
_STATUSES = RESULT_STATUSES - {"Revoked"}
_SHOWN_APPROVED = 4


def _invalid(msg: str) -> PolicyError:
    return PolicyError(f"policy: {msg}", code="policy_invalid", step="policy")


def _string_set(value: object, name: str) -> frozenset[str]:
    # A str or a mapping is iterable too, and would silently become its characters / keys.
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise _invalid(f"{name} must be a set or list of strings, not {type(value).__name__}")
    out = list(value)
    if not all(isinstance(v, str) for v in out):
        raise _invalid(f"{name} must hold strings only")
    return frozenset(out)


def _bytes_set(value: object, name: str, size: int | None) -> frozenset[bytes]:
    if isinstance(value, (str, bytes, bytearray, Mapping)) or not isinstance(value, Iterable):
        # bytes in particular: `x in b"..."` is a substring test, which would approve any slice.
        raise _invalid(f"{name} must be a set or list of byte strings, not {type(value).__name__}")
    out = set()
    for v in value:
        if not isinstance(v, (bytes, bytearray)):
            raise _invalid(f"{name} must hold bytes values (bytes.fromhex(...)), not {type(v).__name__}")
        if size is not None and len(v) != size:
            raise _invalid(f"{name} has a {len(v)}-byte value; {name.split('.')[-1]} is {size} bytes")
        out.add(bytes(v))
    if not out:
        raise _invalid(f"{name} has an empty approved list: nothing could pass")
    return frozenset(out)


@dataclass(frozen=True)
class Policy:
    """Appraisal rules applied after cryptographic verification.

    ``None`` / empty rules do not constrain. The defaults accept only
    ``UpToDate`` and reject debug TDs and TDs with a bound service TD.
    Sets may be given as any iterable (list, tuple, set); they are stored as
    frozensets.
    """

    accepted_statuses: frozenset[str] = frozenset({"UpToDate"})
    accepted_advisory_ids: frozenset[str] | None = None
    """When set, every advisory ID in the verdict must be listed here (empty: no advisory at all)."""
    allow_debug: bool = False
    allow_service_td: bool = False
    """Accept a non-zero MRSERVICETD (TD 1.5): a service TD can then act on this TD."""
    require_sept_ve_disable: bool = False
    measurements: Mapping[str, frozenset[bytes]] = field(default_factory=dict)
    """Approved values per measurement name (e.g. ``{"rtmr3": {...}}``): the quote's must be one."""
    report_data: bytes | None = None
    """The exact 64 bytes of report data, or a prefix of them (e.g. a 32-byte key hash)."""
    public_key: bytes | None = None
    """A raw 32-byte ed25519 key that must be the first 32 bytes of report data (the register contract's layout)."""
    key_hash: KeyHash | None = None
    """Report data must start with ``key_hash.prefix || H(key_hash.message)`` (e.g. NEAR MPC's layout)."""
    report_data_rest_zero: bool = True
    """With ``public_key`` / ``key_hash``: the report data after the bound bytes must be zero."""
    event_values: Mapping[str, frozenset[bytes]] = field(default_factory=dict)
    """Approved values of named event-log values (``compose-hash``, ``app-id``, ``os-image-hash``...);
    requires verifying with an event log, which must hold the name exactly once."""
    min_tcb_evaluation_data_number: int | None = None
    max_collateral_age_seconds: int | None = None
    """Reject collateral whose TCB info or QE identity was issued longer ago than this."""

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # normalising a frozen instance once, while it is being built
        set_(self, "accepted_statuses", _string_set(self.accepted_statuses, "accepted_statuses"))
        unknown = set(self.accepted_statuses) - _STATUSES
        if unknown:
            raise _invalid(f"unknown TCB status(es) {sorted(unknown)}; known: {sorted(_STATUSES)}")
        if not self.accepted_statuses:
            raise _invalid("accepted_statuses is empty: no quote could ever pass")
        if self.accepted_advisory_ids is not None:
            set_(self, "accepted_advisory_ids", _string_set(self.accepted_advisory_ids, "accepted_advisory_ids"))
        for flag in ("allow_debug", "allow_service_td", "require_sept_ve_disable", "report_data_rest_zero"):
            if not isinstance(getattr(self, flag), bool):
                raise _invalid(f"{flag} must be True or False, not {type(getattr(self, flag)).__name__}")
        set_(self, "measurements", self._named_sets(self.measurements, "measurements"))
        bad = set(self.measurements) - MEASUREMENT_NAMES
        if bad:
            raise _invalid(f"unknown measurement name(s) {sorted(bad)}; known: {sorted(MEASUREMENT_NAMES)}")
        set_(self, "event_values", self._named_sets(self.event_values, "event_values"))
        if self.report_data is not None:
            if not isinstance(self.report_data, (bytes, bytearray)):
                raise _invalid(f"report_data must be bytes (bytes.fromhex(...)), not {type(self.report_data).__name__}")
            set_(self, "report_data", bytes(self.report_data))
            if not 0 < len(self.report_data) <= 64:
                raise _invalid("report_data must be 1 to 64 bytes")
        if self.public_key is not None:
            set_(self, "public_key", parse_public_key(self.public_key))
        if self.key_hash is not None and not isinstance(self.key_hash, KeyHash):
            raise _invalid(f"key_hash must be a tdxverify.binding.KeyHash, not {type(self.key_hash).__name__}")
        if self.public_key is not None and self.key_hash is not None:
            raise _invalid("public_key and key_hash both say what report data starts with: give one of them")
        bound = self._bound_prefix()
        if bound is not None and self.report_data is not None:
            short, long_ = sorted((bound, self.report_data), key=len)
            if not long_.startswith(short):
                which = "public_key" if self.public_key is not None else "key_hash"
                raise _invalid(f"report_data {self.report_data.hex()} contradicts {which} ({bound.hex()})")
        for num in ("min_tcb_evaluation_data_number", "max_collateral_age_seconds"):
            v = getattr(self, num)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                raise _invalid(f"{num} must be a non-negative integer")

    @staticmethod
    def _named_sets(value: object, what: str) -> dict[str, frozenset[bytes]]:
        if not isinstance(value, Mapping):
            raise _invalid(f"{what} must be a mapping of name -> set of bytes, not {type(value).__name__}")
        out: dict[str, frozenset[bytes]] = {}
        for name, values in value.items():
            if not isinstance(name, str) or not name:
                raise _invalid(f"{what} names must be non-empty strings")
            size = MEASUREMENT_SIZES.get(name) if what == "measurements" else None
            out[name] = _bytes_set(values, f"{what}.{name}", size)
        return out

    def _bound_prefix(self) -> bytes | None:
        if self.public_key is not None:
            return self.public_key
        if self.key_hash is not None:
            return self.key_hash.expected
        return None

    def evaluate(self, verdict: Verdict, now: datetime) -> PolicyResult:
        """Apply every rule to a verdict; never raises for a failed rule."""
        checks = [self._status(verdict)]
        if self.accepted_advisory_ids is not None:
            extra = sorted(set(verdict.advisory_ids) - self.accepted_advisory_ids)
            checks.append(
                PolicyCheck(
                    "advisory_ids",
                    not extra,
                    f"not accepted: {', '.join(extra)}" if extra else "all advisories accepted",
                )
            )
        measured = verdict.measurements()
        for name in sorted(self.measurements):
            value = measured.get(name)
            ok = value is not None and bytes.fromhex(value) in self.measurements[name]
            shown = value if value is not None else f"absent from a {verdict.tee_type} quote"
            checks.append(_approval(f"measurement:{name}", name, shown, ok, self.measurements[name]))
        if self.require_sept_ve_disable:
            attrs = measured.get("td_attributes")
            on = attrs is not None and bool(bytes.fromhex(attrs)[3] & 0x10)
            checks.append(PolicyCheck("sept_ve_disable", on, "SEPT_VE_DISABLE is " + ("set" if on else "not set")))
        rd = verdict.report_data
        if self.report_data is not None:
            ok = rd.startswith(self.report_data)
            checks.append(
                PolicyCheck(
                    "report_data",
                    ok,
                    "report data binds the expected value"
                    if ok
                    else f"report data {rd[: len(self.report_data)].hex()} != expected {self.report_data.hex()}",
                )
            )
        checks += self._binding(rd)
        checks += self._events(verdict)
        if self.min_tcb_evaluation_data_number is not None:
            n = verdict.tcb_evaluation_data_number
            ok = n >= self.min_tcb_evaluation_data_number
            checks.append(
                PolicyCheck(
                    "tcb_evaluation_data_number",
                    ok,
                    f"{n} >= {self.min_tcb_evaluation_data_number}"
                    if ok
                    else f"{n} < {self.min_tcb_evaluation_data_number}: refresh collateral from Intel PCS",
                )
            )
        if self.max_collateral_age_seconds is not None:
            checks.append(self._age(verdict, now))
        return PolicyResult(tuple(checks))

    def _binding(self, rd: bytes) -> list[PolicyCheck]:
        bound = self._bound_prefix()
        if bound is None:
            return []
        if self.public_key is not None:
            ok = rd[:32] == self.public_key
            check = PolicyCheck(
                "public_key",
                ok,
                "report data starts with the public key"
                if ok
                else f"report data starts with {rd[:32].hex()}, not the public key {self.public_key.hex()}",
            )
        else:
            kh = self.key_hash
            assert kh is not None
            ok = rd.startswith(bound)
            check = PolicyCheck(
                "key_hash",
                ok,
                f"report data starts with {kh.prefix.hex() + ' || ' if kh.prefix else ''}{kh.algorithm} of the keys"
                if ok
                else f"report data starts with {rd[: len(bound)].hex()}, not the expected {bound.hex()} "
                f"({kh.prefix.hex() + ' || ' if kh.prefix else ''}{kh.algorithm} of the given bytes)",
            )
        out = [check]
        if self.report_data_rest_zero:
            start = max(len(bound), len(self.report_data or b""))
            rest = rd[start:]
            ok = not any(rest)
            out.append(
                PolicyCheck(
                    "report_data_rest",
                    ok,
                    f"report data bytes {start}-63 are zero"
                    if ok
                    else f"report data bytes {start}-63 are {rest.hex()}, not zero (report_data_rest_zero)",
                )
            )
        return out

    def _events(self, verdict: Verdict) -> list[PolicyCheck]:
        out = []
        log = verdict.event_log
        for name in sorted(self.event_values):
            approved = self.event_values[name]
            rule = f"event:{name}"
            if log is None:
                out.append(PolicyCheck(rule, False, f"no event log was given, so {name} is unknown (--event-log)"))
                continue
            values = log.named.get(name, ())
            if len(values) != 1:
                how = f"does not name {name}" if not values else f"names {name} {len(values)} times"
                out.append(PolicyCheck(rule, False, f"the event log {how}; exactly one value is required"))
                continue
            out.append(_approval(rule, name, values[0].hex(), values[0] in approved, approved))
        return out

    def _age(self, verdict: Verdict, now: datetime) -> PolicyCheck:
        # The older of TCB info and QE identity decides: either may be the stale one.
        c = verdict.collateral
        parts = (("TCB info", c.tcb_info_issue_date), ("QE identity", c.qe_identity_issue_date))
        ages = [(int((now - issued).total_seconds()), what) for what, issued in parts]
        age, oldest = max(ages)
        ok = age <= self.max_collateral_age_seconds  # type: ignore[operator]
        shown = ", ".join(f"{what} {a}s" for a, what in ages)
        return PolicyCheck(
            "collateral_age",
            ok,
            f"collateral age: {shown} (limit {self.max_collateral_age_seconds}s)"
            + ("" if ok else f": the {oldest} is too old; refresh collateral"),
        )

    def _status(self, verdict: Verdict) -> PolicyCheck:
        ok = verdict.status in self.accepted_statuses
        detail = f"TCB status {verdict.status} is " + ("accepted" if ok else "not accepted")
        if not ok:
            detail += f" (accepted: {', '.join(sorted(self.accepted_statuses))})"
            if verdict.advisory_ids:
                detail += f" (advisories: {', '.join(verdict.advisory_ids)})"
        return PolicyCheck("status", ok, detail)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Policy:
        """Build from JSON-like data (hex strings for bytes). Unknown keys and ``null`` values are errors."""
        if not isinstance(data, Mapping):
            raise _invalid("a policy must be a JSON object")
        unknown = [k for k in data if k not in POLICY_KEYS]
        if unknown:
            # A misspelt rule must not silently stop constraining anything.
            more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            raise _invalid(f"unknown key(s) {unknown[:5]}{more}; known: {sorted(POLICY_KEYS)}")
        nulls = sorted(k for k, v in data.items() if v is None)
        if nulls:
            # null is not "off": an unset rule is an absent key, so a null is most likely a templating slip.
            raise _invalid(f"{', '.join(nulls)} is null: omit the key to leave the rule unset")
        kwargs: dict[str, Any] = {}
        for key in ("accepted_statuses", "accepted_advisory_ids"):
            if key in data:
                kwargs[key] = frozenset(_strings(data[key], key))
        for flag in ("allow_debug", "allow_service_td", "require_sept_ve_disable", "report_data_rest_zero"):
            if flag in data:
                if not isinstance(data[flag], bool):
                    raise _invalid(f"{flag} must be true or false")
                kwargs[flag] = data[flag]
        for key in ("measurements", "event_values"):
            if key in data:
                m = data[key]
                if not isinstance(m, Mapping):
                    raise _invalid(f"{key} must be an object of name -> list of hex values")
                kwargs[key] = {
                    str(k): [_hex(v, f"{key}.{k}[{i}]") for i, v in enumerate(_strings(vs, f"{key}.{k}"))]
                    for k, vs in m.items()
                }
        if "report_data" in data:
            kwargs["report_data"] = _hex(data["report_data"], "report_data")
        if "public_key" in data:
            if not isinstance(data["public_key"], str):
                raise _invalid("public_key must be a string: 64 hex digits or 'ed25519:<base58>'")
            kwargs["public_key"] = parse_public_key(data["public_key"])
        if "key_hash" in data:
            kwargs["key_hash"] = _key_hash(data["key_hash"])
        for num in ("min_tcb_evaluation_data_number", "max_collateral_age_seconds"):
            if num in data:
                v = data[num]
                if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                    raise _invalid(f"{num} must be a non-negative integer")
                kwargs[num] = v
        return cls(**kwargs)


POLICY_KEYS = frozenset(
    {
        "accepted_statuses",
        "accepted_advisory_ids",
        "allow_debug",
        "allow_service_td",
        "require_sept_ve_disable",
        "measurements",
        "report_data",
        "public_key",
        "key_hash",
        "report_data_rest_zero",
        "event_values",
        "min_tcb_evaluation_data_number",
        "max_collateral_age_seconds",
    }
)
_KEY_HASH_KEYS = frozenset({"algorithm", "keys", "message", "prefix"})


def _approval(rule: str, name: str, shown: str, ok: bool, approved: frozenset[bytes]) -> PolicyCheck:
    if ok:
        return PolicyCheck(rule, True, f"{name} {shown} is approved")
    listed = sorted(v.hex() for v in approved)
    more = f" and {len(listed) - _SHOWN_APPROVED} more" if len(listed) > _SHOWN_APPROVED else ""
    return PolicyCheck(
        rule,
        False,
        f"{name} {shown} is not on the approved list (approved: {', '.join(listed[:_SHOWN_APPROVED])}{more})",
    )


def _key_hash(value: Any) -> KeyHash:
    if not isinstance(value, Mapping):
        raise _invalid('key_hash must be an object {"algorithm", "keys" or "message", "prefix"}')
    unknown = set(value) - _KEY_HASH_KEYS
    if unknown:
        raise _invalid(f"key_hash has unknown key(s) {sorted(unknown)}; known: {sorted(_KEY_HASH_KEYS)}")
    if any(v is None for v in value.values()):
        raise _invalid("key_hash has a null member: omit it instead")
    algorithm = value.get("algorithm")
    if not isinstance(algorithm, str) or algorithm not in HASH_ALGORITHMS:
        raise _invalid(f"key_hash.algorithm must be one of {sorted(HASH_ALGORITHMS)}")
    prefix = _hex(value["prefix"], "key_hash.prefix") if "prefix" in value else b""
    if ("keys" in value) == ("message" in value):
        raise _invalid("key_hash needs exactly one of 'keys' (a list of public keys) and 'message' (hex)")
    if "keys" in value:
        return KeyHash.of_keys(_strings(value["keys"], "key_hash.keys"), algorithm, prefix)
    return KeyHash(algorithm, _hex(value["message"], "key_hash.message"), prefix)


def _strings(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _invalid(f"{name} must be a list of strings")
    return value


def _hex(value: Any, name: str) -> bytes:
    if not isinstance(value, str):
        raise _invalid(f"{name} must be a hex string")
    text = value[2:] if value[:2] in ("0x", "0X") else value
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise _invalid(f"{name} is not valid hex") from None


def policy_mapping(text: str) -> Mapping[str, Any]:
    """Parse policy JSON text (strict: no duplicate keys, size-limited) into its mapping, unvalidated."""
    if len(text) > MAX_POLICY_SIZE:
        raise PolicyError(
            f"the policy is {len(text)} characters, over the {MAX_POLICY_SIZE} limit", code="input_too_large"
        )
    try:
        data = loads_strict(text)
    except JsonProblem as exc:
        raise _invalid(f"the policy file {exc}") from None
    if not isinstance(data, Mapping):
        raise _invalid("a policy must be a JSON object")
    return data


def load_policy(src: str | os.PathLike[str] | Mapping[str, Any]) -> Policy:
    """Load a policy from a JSON file path, JSON text, or a mapping."""
    if isinstance(src, Mapping):
        return Policy.from_mapping(src)
    text: str
    if isinstance(src, str) and src.lstrip().startswith("{"):
        text = src
    else:
        try:
            with open(src, encoding="utf-8") as fh:
                text = fh.read(MAX_POLICY_SIZE + 1)
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(f"cannot read policy file {os.fspath(src)!r}: {exc}", code="input_invalid") from None
    return Policy.from_mapping(policy_mapping(text))
