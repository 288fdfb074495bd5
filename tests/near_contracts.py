"""Small contracts the NEAR runtime tests deploy next to the register contract."""

from __future__ import annotations

from typing import Any, ClassVar

from tdxverify.near import Contract, Env, KeyPair, PublicKey, call, init, view


class Recorder(Contract):
    """Plays the receiver of worker keys (``outlayer.near``): records who called ``resolve_execution``."""

    code_size: ClassVar[int] = 20_000

    @init
    def new(self, env: Env, args: dict[str, Any]) -> None:
        env.state = {"calls": []}

    @call
    def resolve_execution(self, env: Env, args: dict[str, Any]) -> None:
        env.state["calls"].append([env.predecessor_account_id, str(env.signer_account_pk)])
        env.log(f"resolved by {env.predecessor_account_id}")

    @call
    def other_method(self, env: Env, args: dict[str, Any]) -> None:
        env.state["calls"].append(["other", env.predecessor_account_id])

    @view
    def get_calls(self, env: Env, args: dict[str, Any]) -> list[Any]:
        return list(env.state["calls"])


class Counter(Contract):
    """A counter for runtime tests: rollback on panic, payable methods, storage growth, gas burning, keys."""

    code_size: ClassVar[int] = 1_000

    @init
    def new(self, env: Env, args: dict[str, Any]) -> None:
        env.state = {"count": 0, "blob": ""}

    @call
    def increment(self, env: Env, args: dict[str, Any]) -> int:
        env.state["count"] += 1
        env.log(f"count={env.state['count']}")
        if args.get("then_panic"):
            env.panic("boom after increment")
        return int(env.state["count"])

    @call(payable=True)
    def donate(self, env: Env, args: dict[str, Any]) -> int:
        return env.attached_deposit

    @call
    def store(self, env: Env, args: dict[str, Any]) -> None:
        env.state["blob"] = "x" * int(args["size"])

    @call
    def burn(self, env: Env, args: dict[str, Any]) -> None:
        env.burn(int(args["gas"]))

    @call
    def add_key_to(self, env: Env, args: dict[str, Any]) -> Any:
        key = PublicKey.parse(args["public_key"])
        p = env.promise(args["account_id"])
        env.promise_add_access_key(p, key, None, "anyone.near", ())
        return p

    @view
    def get_count(self, env: Env, args: dict[str, Any]) -> int:
        return int(env.state["count"])

    @view
    def sneaky_write(self, env: Env, args: dict[str, Any]) -> None:
        env.state["count"] = 99  # a view's changes are never written


def some_key(seed: int) -> KeyPair:
    return KeyPair.from_seed(bytes([seed]) * 32)


class WhoAmI(Contract):
    """Reads the predecessor in a view: NEAR refuses (views have no signer)."""

    code_size: ClassVar[int] = 100

    @init
    def new(self, env: Env, args: dict[str, Any]) -> None:
        env.state = {}

    @view
    def caller(self, env: Env, args: dict[str, Any]) -> str:
        return env.predecessor_account_id
