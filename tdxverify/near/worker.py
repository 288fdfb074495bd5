"""A simulated TEE worker: an ed25519 key, a forged quote binding it, and ``register_worker_key`` with retries.

It behaves like the deployed worker: the key survives restarts (pass the
same ``key``); report data is the raw public key followed by 32 zero bytes;
it first checks whether its key is already on the key account; it calls
``register_worker_key`` with 300 Tgas and no deposit, and on failure waits
``retry_interval`` seconds of simulated time before trying again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..testing import Forge
from .facade import NearCli
from .keys import KeyPair, PublicKey
from .outcome import NearExecutionError, TransactionOutcome
from .register import DEFAULT_METHOD_NAMES, DEFAULT_RECEIVER
from .units import TGAS

__all__ = ["Measurements", "RegistrationResult", "SimulatedWorker"]

REGISTER_GAS = 300 * TGAS


@dataclass(frozen=True)
class Measurements:
    """The TD's measurements (48 bytes each): what the image decides."""

    mr_td: bytes = b"\x11" * 48
    rtmr0: bytes = b"\x20" * 48
    rtmr1: bytes = b"\x21" * 48
    rtmr2: bytes = b"\x22" * 48
    rtmr3: bytes = b"\x33" * 48

    def to_contract(self) -> dict[str, str]:
        """The ``measurements`` argument of ``add_approved_measurements`` (lowercase hex)."""
        return {
            "mrtd": self.mr_td.hex(),
            "rtmr0": self.rtmr0.hex(),
            "rtmr1": self.rtmr1.hex(),
            "rtmr2": self.rtmr2.hex(),
            "rtmr3": self.rtmr3.hex(),
        }

    def quote_fields(self) -> dict[str, bytes]:
        """Forge overrides that put these measurements in a quote."""
        return {"mr_td": self.mr_td, "rtmr0": self.rtmr0, "rtmr1": self.rtmr1, "rtmr2": self.rtmr2, "rtmr3": self.rtmr3}


@dataclass(frozen=True)
class RegistrationResult:
    """What :meth:`SimulatedWorker.register` did: attempts made, each outcome, whether the key is on chain."""

    registered: bool
    already_registered: bool
    attempts: int
    outcomes: tuple[TransactionOutcome, ...] = field(default=())
    waits: int = 0
    """Polls that found the measurements not approved yet (no transaction sent), with ``wait_for_approval``."""

    @property
    def last(self) -> TransactionOutcome | None:
        """The last outcome, if any attempt was made."""
        return self.outcomes[-1] if self.outcomes else None


def _load_or_create_key(path: Path, *, self_account: str) -> KeyPair:
    """The worker's key from ``path`` (NEAR credentials JSON), made and written there on first start."""
    if path.exists():
        data = json.loads(path.read_text())
        return KeyPair.from_near_secret(str(data["private_key"]))
    pair = KeyPair.generate()
    body = {"account_id": self_account, "public_key": str(pair.public_key), "private_key": pair.to_near_secret()}
    path.write_text(json.dumps(body, indent=2) + "\n")
    return pair


class SimulatedWorker:
    """One worker VM.

    ``cli``: the facade (its chain is the worker's chain); ``forge``: makes
    the worker's quotes; ``signer_id``: the account that signs
    ``register_worker_key`` (the contract's ``init_worker_account``);
    ``contract_id``: where the register contract is; ``key_account_id``:
    where the key is added (default: ``contract_id``); ``measurements``: the
    image; ``key`` or ``key_file`` (NEAR credentials JSON, created on the
    first start and reused after a restart); ``quote_overrides``: extra forge fields (``td_attributes`` for a
    debug TD ...). ``quote_factory`` replaces the forge entirely (e.g. a
    real quote from a vector).
    """

    def __init__(
        self,
        cli: NearCli,
        forge: Forge | None,
        *,
        signer_id: str,
        contract_id: str,
        key_account_id: str | None = None,
        measurements: Measurements | None = None,
        key: KeyPair | None = None,
        retry_interval: float = 60.0,
        max_attempts: int = 10,
        quote_overrides: dict[str, Any] | None = None,
        quote_factory: Callable[[PublicKey], bytes] | None = None,
        key_file: str | os.PathLike[str] | None = None,
    ) -> None:
        if forge is None and quote_factory is None:
            raise ValueError("give a forge or a quote_factory")
        if key is None and key_file is not None:
            key = _load_or_create_key(Path(key_file), self_account=key_account_id or contract_id)
        self.cli = cli
        self.forge = forge
        self.signer_id = signer_id
        self.contract_id = contract_id
        self.key_account_id = key_account_id or contract_id
        self.measurements = measurements or Measurements()
        self.key = key or KeyPair.generate()
        self.retry_interval = retry_interval
        self.max_attempts = max_attempts
        self.quote_overrides = dict(quote_overrides or {})
        self.quote_factory = quote_factory

    @property
    def public_key(self) -> PublicKey:
        """The worker's public key."""
        return self.key.public_key

    @property
    def report_data(self) -> bytes:
        """What the worker asks the TD to put in the quote: raw key || 32 zero bytes."""
        return self.public_key.data + bytes(32)

    def quote(self) -> bytes:
        """A fresh quote binding the worker's key."""
        if self.quote_factory is not None:
            return self.quote_factory(self.public_key)
        assert self.forge is not None
        fields: dict[str, Any] = {**self.measurements.quote_fields(), "report_data": self.report_data}
        fields.update(self.quote_overrides)
        return self.forge.quote(**fields)

    def is_registered(self) -> bool:
        """Whether the key is already an access key of the key account."""
        return self.cli.chain.access_key(self.key_account_id, self.public_key) is not None

    def measurements_approved(self) -> bool:
        """Whether the contract approves this image: its full set (``is_measurements_approved``) or its RTMR3."""
        contract = self.contract_id
        m = self.measurements
        try:
            if self.cli.view(contract, "is_measurements_approved", {"measurements": m.to_contract()}) is True:
                return True
        except NearExecutionError:
            pass
        try:
            return m.rtmr3.hex() in self.cli.view(contract, "get_approved_rtmr3")
        except NearExecutionError:
            return False

    def attempt(self, quote: bytes | None = None) -> TransactionOutcome:
        """One ``register_worker_key`` call (300 Tgas, no deposit) with a fresh quote or ``quote``."""
        raw = quote if quote is not None else self.quote()
        args = {"public_key": str(self.public_key), "tdx_quote_hex": raw.hex()}
        return self.cli.call(self.signer_id, self.contract_id, "register_worker_key", args, gas=REGISTER_GAS)

    def register(
        self,
        *,
        max_attempts: int | None = None,
        on_failure: Callable[[int, TransactionOutcome], None] | None = None,
        wait_for_approval: bool = False,
        on_wait: Callable[[int], None] | None = None,
    ) -> RegistrationResult:
        """Register, retrying every ``retry_interval`` simulated seconds up to ``max_attempts``.

        Returns at once if the key is already on the key account.
        ``on_failure(attempt, outcome)`` runs after each failed attempt, before
        the wait (a test refreshes collateral there, as an operator would).
        With ``wait_for_approval`` the worker first polls the contract's views
        every ``retry_interval`` until its measurements are approved (up to
        ``max_attempts`` polls, ``on_wait(poll)`` after each), sending nothing
        meanwhile — as the deployed worker does.
        """
        if self.is_registered():
            return RegistrationResult(True, True, 0)
        limit = max_attempts if max_attempts is not None else self.max_attempts
        waits = 0
        if wait_for_approval:
            while not self.measurements_approved():
                waits += 1
                if on_wait is not None:
                    on_wait(waits)
                if waits >= limit:
                    return RegistrationResult(False, False, 0, (), waits)
                self.cli.chain.advance(self.retry_interval)
        outcomes: list[TransactionOutcome] = []
        for n in range(1, limit + 1):
            out = self.attempt()
            outcomes.append(out)
            if out.ok and self.is_registered():
                return RegistrationResult(True, False, n, tuple(outcomes), waits)
            if on_failure is not None:
                on_failure(n, out)
            if n < limit:
                self.cli.chain.advance(self.retry_interval)
        return RegistrationResult(self.is_registered(), False, limit, tuple(outcomes), waits)

    def call_as_operator(
        self,
        method: str = DEFAULT_METHOD_NAMES[0],
        args: dict[str, Any] | None = None,
        *,
        receiver_id: str = DEFAULT_RECEIVER,
        gas: int = 100 * TGAS,
    ) -> TransactionOutcome:
        """Sign a call with the registered key (as the key account): what the worker does once registered."""
        self.cli.import_key(self.key_account_id, self.key)
        return self.cli.call(self.key_account_id, receiver_id, method, args or {}, gas=gas, key=self.key)

    def to_json(self) -> str:
        """The worker's identity for logs: key, accounts, measurements."""
        return json.dumps(
            {
                "public_key": str(self.public_key),
                "signer_id": self.signer_id,
                "contract_id": self.contract_id,
                "key_account_id": self.key_account_id,
                "measurements": self.measurements.to_contract(),
            }
        )
