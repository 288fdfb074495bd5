"""The register contract: verify a worker's TDX quote at block time, then add its key as a FunctionCall key.

One contract, two interfaces (both callable on the same deployment):

* the deployment guide's: ``new {owner_id, operator_account_id}``,
  ``get_operator_account``, ``update_collateral {collateral}`` (object or
  string), ``add_approved_rtmr3 / remove_approved_rtmr3 {rtmr3}``,
  ``get_collateral``, ``get_approved_rtmr3``;
* the deployed contract's (fastnear/near-outlayer ``register-contract``):
  ``new {owner_id, init_worker_account, outlayer_contract_id}``, approved
  measurement sets (``add_approved_measurements {measurements,
  clear_others?}``, ``remove_approved_measurements``,
  ``clear_all_approved_measurements``, ``is_measurements_approved``,
  ``get_approved_measurements``), collateral slots (``update_collateral
  {collateral, index}``, at most 2, no gaps, ``get_collaterals``; the slot
  whose TCB info FMSPC equals the quote's is used), ``remove_worker_keys``,
  ``transfer_ownership``.

``register_worker_key {public_key, tdx_quote_hex}`` checks, in order, each
failure a panic (no state changes): caller, stored collateral, quote hex,
quote parse and FMSPC slot, ``tdxverify.verify`` at block time, status
exactly UpToDate, no advisories, approved RTMR3 or measurement set,
``report_data[0:32]`` equals the raw ed25519 key; then a promise adds the
key to the key account: the contract's own account (deployed) or
``operator_account_id`` (guide) — which NEAR refuses unless it is the
contract's own account.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from cryptography import x509

import tdxverify

from ..errors import VerificationError
from ..pck import pck_extension_of
from .contract import Contract, Env, Promise, call, init, view
from .keys import PublicKey
from .units import NEAR

__all__ = ["DEFAULT_METHOD_NAMES", "DEFAULT_RECEIVER", "KEY_ALLOWANCE", "MAX_COLLATERALS", "RegisterContract"]

MAX_COLLATERALS = 2
KEY_ALLOWANCE = 10 * NEAR
"""Allowance of each worker key: 10 NEAR for gas."""
DEFAULT_RECEIVER = "outlayer.near"
DEFAULT_METHOD_NAMES = (
    "resolve_execution",
    "submit_execution_output_and_resolve",
    "resume_topup",
    "resume_delete_payment_key",
)
MEASUREMENT_FIELDS = ("mrtd", "rtmr0", "rtmr1", "rtmr2", "rtmr3")


def _str_arg(env: Env, args: dict[str, Any], name: str) -> str:
    value = args.get(name)
    if not isinstance(value, str):
        got = "missing" if name not in args else f"a {type(value).__name__}"
        env.panic(f"Failed to deserialize input from JSON: `{name}` must be a string ({got})")
    return value


def _account_arg(env: Env, args: dict[str, Any], name: str) -> str:
    from .accounts import is_valid_account_id

    value = _str_arg(env, args, name)
    if not is_valid_account_id(value):
        env.panic(f"Failed to deserialize input from JSON: `{name}` {value!r} is not a valid account ID")
    return value


def _check_hex96(env: Env, name: str, value: object) -> str:
    if not isinstance(value, str):
        env.panic(f"Invalid {name} format: expected a string of 96 hex characters")
    text: str = value
    env.require(len(text) == 96, f"Invalid {name} format: expected 96 hex characters, got {len(text)}")
    env.require(all(c in "0123456789abcdefABCDEF" for c in text), f"Invalid {name} format: must be hex string")
    return text


def _measurements_arg(env: Env, args: dict[str, Any]) -> dict[str, str]:
    m = args.get("measurements")
    if not isinstance(m, dict) or set(m) != set(MEASUREMENT_FIELDS):
        env.panic(
            "Failed to deserialize input from JSON: `measurements` must be an object with exactly "
            "mrtd, rtmr0, rtmr1, rtmr2, rtmr3 (96 hex characters each)"
        )
    return {f: _check_hex96(env, f, m[f]) for f in MEASUREMENT_FIELDS}


def _warn_case(env: Env, values: list[str]) -> None:
    if any(v != v.lower() for v in values):
        env.log("Warning: stored as given; quotes are compared as lowercase hex, so upper-case entries never match")


def collateral_fmspc(text: str) -> str | None:
    """The FMSPC (upper-case hex) of stored collateral text, or ``None`` if it has none readable."""
    try:
        return tdxverify.load_collateral(text).tcb_info.fmspc_hex
    except (VerificationError, ValueError, TypeError):
        return None


class RegisterContract(Contract):
    """The register contract (see the module docstring for both interfaces)."""

    code_size: ClassVar[int] = 527_840
    """Size of fastnear/near-outlayer ``register-contract/res/register_contract.wasm`` (cf0f06dd), in bytes."""

    # ------------------------------------------------------------------ init

    @init
    def new(self, env: Env, args: dict[str, Any]) -> None:
        """Guide: ``{owner_id, operator_account_id[, init_worker_account]}``; deployed:
        ``{owner_id, init_worker_account, outlayer_contract_id}``. Both accept ``method_names``
        (a simulation extension; default: the deployed contract's four methods)."""
        owner = _account_arg(env, args, "owner_id")
        if "operator_account_id" in args:
            operator = _account_arg(env, args, "operator_account_id")
            registrar = _account_arg(env, args, "init_worker_account") if "init_worker_account" in args else operator
            key_account: str | None = operator
        else:
            registrar = _account_arg(env, args, "init_worker_account")
            key_account = None  # the contract's own account
        receiver = (
            _account_arg(env, args, "outlayer_contract_id") if "outlayer_contract_id" in args else DEFAULT_RECEIVER
        )
        methods = args.get("method_names", list(DEFAULT_METHOD_NAMES))
        if not isinstance(methods, list) or not methods or not all(isinstance(m, str) and m for m in methods):
            env.panic("Failed to deserialize input from JSON: `method_names` must be a non-empty list of method names")
        env.state = {
            "owner_id": owner,
            "init_worker_account": registrar,
            "operator_account_id": key_account,
            "outlayer_contract_id": receiver,
            "method_names": list(methods),
            "approved_measurements": [],
            "approved_rtmr3": [],
            "collaterals": [],
        }

    # ------------------------------------------------------------------ owner methods

    def _assert_owner(self, env: Env) -> None:
        env.require(env.predecessor_account_id == env.state["owner_id"], "Only owner can call this method")

    @call
    def update_collateral(self, env: Env, args: dict[str, Any]) -> None:
        """Store collateral in slot ``index`` (default 0); ``collateral`` is the JSON text or the object."""
        self._assert_owner(env)
        if "collateral" not in args:
            env.panic(
                "Failed to deserialize input from JSON: missing field `collateral` (pass "
                '{"collateral": <collateral JSON as a string>, "index": 0}, e.g. '
                "\"$(jq -c '{collateral: tojson, index: 0}' collateral.json)\")"
            )
        raw = args["collateral"]
        if isinstance(raw, dict):
            text = json.dumps(raw, separators=(",", ":"))
        elif isinstance(raw, str):
            text = raw
        else:
            env.panic("Failed to deserialize input from JSON: `collateral` must be a string (or a JSON object)")
        index = args.get("index", 0)
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            env.panic("Failed to deserialize input from JSON: `index` must be an unsigned integer")
        slots: list[str] = env.state["collaterals"]
        env.require(index < MAX_COLLATERALS, f"index must be < {MAX_COLLATERALS} (MAX_COLLATERALS)")
        if index < len(slots):
            slots[index] = text
        elif index == len(slots):
            slots.append(text)
        else:
            env.panic("Fill lower collateral indices first (no gaps allowed)")
        env.log(f"Quote collateral updated at index {index} (total slots: {len(slots)})")

    @call
    def add_approved_rtmr3(self, env: Env, args: dict[str, Any]) -> None:
        """Approve one RTMR3 (96 hex characters): any MRTD/RTMR0-2 with it registers."""
        self._assert_owner(env)
        rtmr3 = _check_hex96(env, "rtmr3", args.get("rtmr3"))
        approved: list[str] = env.state["approved_rtmr3"]
        if rtmr3 not in approved:
            approved.append(rtmr3)
        _warn_case(env, [rtmr3])
        env.log(f"Approved RTMR3 added: {rtmr3} (total: {len(approved)})")

    @call
    def remove_approved_rtmr3(self, env: Env, args: dict[str, Any]) -> None:
        """Withdraw an approved RTMR3 (keys already added stay until ``remove_worker_keys``)."""
        self._assert_owner(env)
        rtmr3 = _check_hex96(env, "rtmr3", args.get("rtmr3"))
        approved: list[str] = env.state["approved_rtmr3"]
        env.state["approved_rtmr3"] = [r for r in approved if r != rtmr3]
        env.log(f"Approved RTMR3 removed: {rtmr3} (remaining: {len(env.state['approved_rtmr3'])})")

    @call
    def add_approved_measurements(self, env: Env, args: dict[str, Any]) -> None:
        """Approve a full set {mrtd, rtmr0, rtmr1, rtmr2, rtmr3}; ``clear_others`` drops every other set first."""
        self._assert_owner(env)
        m = _measurements_arg(env, args)
        clear = args.get("clear_others", False)
        if clear is not None and not isinstance(clear, bool):
            env.panic("Failed to deserialize input from JSON: `clear_others` must be a boolean")
        approved: list[dict[str, str]] = env.state["approved_measurements"]
        if clear:
            env.log(f"Cleared {len(approved)} existing measurement entries")
            approved.clear()
        if m not in approved:
            approved.append(m)
        _warn_case(env, list(m.values()))
        env.log("Approved measurements added: " + ", ".join(f"{f}={m[f]}" for f in MEASUREMENT_FIELDS))
        env.log(f"Total approved measurements: {len(approved)}")

    @call
    def remove_approved_measurements(self, env: Env, args: dict[str, Any]) -> None:
        """Withdraw one approved measurement set."""
        self._assert_owner(env)
        m = _measurements_arg(env, args)
        env.state["approved_measurements"] = [a for a in env.state["approved_measurements"] if a != m]
        env.log(f"Approved measurements removed. Remaining: {len(env.state['approved_measurements'])}")

    @call
    def clear_all_approved_measurements(self, env: Env, args: dict[str, Any]) -> None:
        """Withdraw every approved measurement set."""
        self._assert_owner(env)
        count = len(env.state["approved_measurements"])
        env.state["approved_measurements"] = []
        env.log(f"Cleared all {count} measurement entries")

    @call
    def remove_worker_keys(self, env: Env, args: dict[str, Any]) -> None:
        """Delete worker keys from the key account, one detached promise each (a missing key fails alone)."""
        self._assert_owner(env)
        raw = args.get("public_keys")
        if not isinstance(raw, list):
            env.panic("Failed to deserialize input from JSON: `public_keys` must be a list of 'ed25519:...' keys")
        keys = [self._key(env, k, "public_keys") for k in raw]
        target = self._key_account(env)
        for key in keys:
            env.log(f"Removing worker key: {key}")
            env.promise_delete_key(env.promise(target), key)
        env.log(f"Scheduled removal of {len(keys)} worker key(s)")

    @call
    def transfer_ownership(self, env: Env, args: dict[str, Any]) -> None:
        """Hand the owner role to ``new_owner``."""
        self._assert_owner(env)
        new_owner = _account_arg(env, args, "new_owner")
        env.log(f"Ownership transferred: {env.state['owner_id']} -> {new_owner}")
        env.state["owner_id"] = new_owner

    # ------------------------------------------------------------------ views

    @view
    def get_operator_account(self, env: Env, args: dict[str, Any]) -> str:
        """The account worker keys are added to."""
        return self._key_account(env)

    @view
    def get_init_worker_account(self, env: Env, args: dict[str, Any]) -> str:
        """The only account allowed to call ``register_worker_key``."""
        return str(env.state["init_worker_account"])

    @view
    def get_owner(self, env: Env, args: dict[str, Any]) -> str:
        """The owner."""
        return str(env.state["owner_id"])

    @view
    def get_collateral(self, env: Env, args: dict[str, Any]) -> str | None:
        """Slot 0 as the stored JSON **string** (or null)."""
        slots: list[str] = env.state["collaterals"]
        return slots[0] if slots else None

    @view
    def get_collaterals(self, env: Env, args: dict[str, Any]) -> list[str]:
        """Every collateral slot, as strings."""
        return list(env.state["collaterals"])

    @view
    def get_approved_rtmr3(self, env: Env, args: dict[str, Any]) -> list[str]:
        """Approved RTMR3 values."""
        return list(env.state["approved_rtmr3"])

    @view
    def get_approved_measurements(self, env: Env, args: dict[str, Any]) -> list[dict[str, str]]:
        """Approved measurement sets."""
        return [dict(m) for m in env.state["approved_measurements"]]

    @view
    def is_measurements_approved(self, env: Env, args: dict[str, Any]) -> bool:
        """Whether exactly this set is approved (sets only; see ``get_approved_rtmr3`` for RTMR3 entries)."""
        m = _measurements_arg(env, args)
        return m in env.state["approved_measurements"]

    # ------------------------------------------------------------------ registration

    @staticmethod
    def _key(env: Env, value: object, name: str) -> PublicKey:
        try:
            return PublicKey.parse(value)
        except VerificationError as exc:
            env.panic(f"Failed to deserialize input from JSON: `{name}`: {exc.message}")

    @staticmethod
    def _key_account(env: Env) -> str:
        operator = env.state["operator_account_id"]
        return operator if operator is not None else env.current_account_id

    @call
    def register_worker_key(self, env: Env, args: dict[str, Any]) -> Promise:
        """Verify the worker's quote and add its key (see the module docstring for the order of checks)."""
        key = self._key(env, args.get("public_key"), "public_key")  # near-sdk parses arguments first
        quote_hex = _str_arg(env, args, "tdx_quote_hex")
        st = env.state
        registrar = st["init_worker_account"]
        env.require(env.predecessor_account_id == registrar, f"Only {registrar} can call register_worker_key")
        slots: list[str] = list(st["collaterals"])
        env.require(
            bool(slots), "No quote collateral cached: no collateral stored, the owner must call update_collateral"
        )
        # hex::decode: an even number of hex digits, nothing else (no 0x, no whitespace)
        bad = next((i for i, c in enumerate(quote_hex) if c not in "0123456789abcdefABCDEF"), None)
        if bad is not None:
            env.panic(f"Invalid quote hex encoding: invalid character {quote_hex[bad]!r} at index {bad}")
        if len(quote_hex) % 2:
            env.panic("Invalid quote hex encoding: odd number of digits")
        quote_bytes = bytes.fromhex(quote_hex)
        try:
            quote = tdxverify.parse_quote(quote_bytes)
        except VerificationError as exc:
            env.panic(f"Failed to parse TDX quote: {exc}")
        fmspc = _quote_fmspc(quote)
        if fmspc is None:
            env.panic("No FMSPC in TDX quote: it carries no PCK certificate chain")
        chosen: str | None = None
        for text in slots:
            env.parse_json(len(text) // 20)  # a byte scan for "fmspc", not a full parse (as deployed)
            slot_fmspc = collateral_fmspc(text)
            if slot_fmspc is not None and slot_fmspc.lower() == str(fmspc).lower():
                chosen = text
                break
        if chosen is None:
            env.panic(
                f"No cached collateral for quote FMSPC {str(fmspc).lower()} "
                "(owner must update_collateral for this platform)"
            )
        measured, binding = self._verify(env, quote, str(chosen))
        env.log(f"📋 Verified TDX quote. report_data binding (hex): {binding.hex()}")
        env.log("📋 Measurements from TDX quote: " + ", ".join(f"{f}={measured[f]}" for f in MEASUREMENT_FIELDS))
        approved = measured in st["approved_measurements"] or measured["rtmr3"] in st["approved_rtmr3"]
        env.require(
            approved,
            "Worker measurements not approved. "
            + ", ".join(f"{f.upper()}={measured[f]}" for f in MEASUREMENT_FIELDS)
            + ". (owner: add_approved_rtmr3 {rtmr3} or add_approved_measurements {measurements})",
        )
        env.require(
            binding == key.data,
            "Public key mismatch: provided key doesn't match TDX quote report_data "
            f"(report_data[0:32]={binding.hex()}, key {key} = {key.data.hex()})",
        )
        env.log(f"✅ TEE verification passed: curve=ED25519, binding={binding.hex()}")
        target = self._key_account(env)
        methods = tuple(st["method_names"])
        receiver = st["outlayer_contract_id"]
        env.log(
            f"Adding access key to {target}: key={key}, allowance=10 NEAR, methods={','.join(methods)}, "
            f"receiver={receiver}"
        )
        p = env.promise(target)
        env.promise_add_access_key(p, key, KEY_ALLOWANCE, receiver, methods)
        return p

    @staticmethod
    def _verify(env: Env, quote: tdxverify.Quote, collateral: str) -> tuple[dict[str, str], bytes]:
        env.parse_json(len(collateral))
        env.burn(env.gas_model.quote_verification)
        try:
            verdict = tdxverify.verify(
                quote, collateral, now=env.block_timestamp_seconds, root_ca=env.extra.get("root_ca")
            )
        except VerificationError as exc:
            env.panic(f"TDX quote verification failed: [{exc.code}] {exc.message}")
        if verdict.status != "UpToDate":
            env.panic(
                f"TDX quote verification failed: TDX TCB status not acceptable: {verdict.status} "
                "(platform needs a firmware/microcode update)"
            )
        if verdict.advisory_ids:
            env.panic(
                "TDX quote verification failed: TDX platform has outstanding security advisories: "
                + ", ".join(verdict.advisory_ids)
            )
        values = (verdict.mr_td, verdict.rtmr0, verdict.rtmr1, verdict.rtmr2, verdict.rtmr3)
        if any(v is None for v in values):
            env.panic("TDX quote verification failed: Quote is not TDX format (expected a TD report)")
        measured = {f: v.hex() for f, v in zip(MEASUREMENT_FIELDS, values, strict=True) if v is not None}
        return measured, verdict.report_data[:32]


def _quote_fmspc(quote: tdxverify.Quote) -> str | None:
    chain = quote.pck_chain
    if not chain:
        return None
    try:
        return pck_extension_of(x509.load_der_x509_certificate(chain[0])).fmspc_hex
    except (VerificationError, ValueError):
        return None
