"""The simulated NEAR runtime on its own: transactions, keys, gas, receipts, rollback, storage staking, views."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tdxverify import VerificationError
from tdxverify.near import (
    GAS_PRICE,
    NEAR,
    STORAGE_PRICE_PER_BYTE,
    Chain,
    NearCli,
    NearExecutionError,
    TransactionOutcome,
    format_near,
    near,
    tgas,
)
from tdxverify.near.accounts import AccessKey, FullAccess, FunctionCall, FunctionCallPermission, Transfer, borsh_size
from tdxverify.near.transaction import Transaction

from .near_contracts import Counter, some_key


def fails(out: TransactionOutcome, kind: str, *fragments: str) -> None:
    assert not out.ok and out.failure is not None, out
    assert out.failure.kind == kind, out.failure
    for fragment in fragments:
        assert fragment in out.failure.message, (fragment, out.failure.message)


@pytest.fixture
def cli() -> NearCli:
    c = NearCli(Chain())
    c.create_account("alice.near", initial_balance=near(100)).raise_for_failure()
    c.create_account("counter.near", initial_balance=near(10)).raise_for_failure()
    c.deploy("counter.near", Counter).raise_for_failure()
    return c


def balance(cli: NearCli, account: str) -> int:
    return cli.view_account(account).amount


def test_units() -> None:
    assert near(1) == NEAR == 10**24 and near("0.1") == 10**23 and tgas(300) == 3 * 10**14
    assert format_near(near("10")) == "10 NEAR" and format_near(near("0.0042")) == "0.0042 NEAR"
    for bad in (0.1, "abc", "-1", "1e-30", True):
        with pytest.raises(VerificationError):
            near(bad)  # type: ignore[arg-type]


def test_send_moves_exactly_amount_plus_burnt_gas(cli: NearCli) -> None:
    a0, c0 = balance(cli, "alice.near"), balance(cli, "counter.near")
    out = cli.send("alice.near", "counter.near", "1.5")
    assert out.ok and out.status == "SuccessValue"
    assert balance(cli, "counter.near") == c0 + near("1.5")
    assert balance(cli, "alice.near") == a0 - near("1.5") - out.tokens_burnt
    assert out.tokens_burnt == out.gas_burnt * GAS_PRICE
    fails(cli.send("alice.near", "nobody.near", 1), "AccountDoesNotExist", "nobody.near")
    # the failed transfer came back to alice; only gas was spent
    assert cli.send("alice.near", "counter.near", near(10**6)).failure_kind == "NotEnoughBalance"


def test_function_call_gas_reserved_then_refunded(cli: NearCli) -> None:
    a0 = balance(cli, "alice.near")
    out = cli.call("alice.near", "counter.near", "increment", {}, gas=tgas(300))
    assert out.ok and out.value == 1 and out.logs == ("count=1",)
    assert out.gas_burnt < tgas(10)  # 300 Tgas reserved, almost all refunded
    assert balance(cli, "alice.near") == a0 - out.tokens_burnt
    assert cli.view("counter.near", "get_count") == 1


def test_panic_rolls_back_the_receipt(cli: NearCli) -> None:
    c0 = cli.chain.snapshot_state("counter.near")
    out = cli.call("alice.near", "counter.near", "increment", {"then_panic": True})
    fails(out, "ExecutionError", "Smart contract panicked: boom after increment")
    assert out.logs == ("count=1",)  # logs of a failed call are kept, its state is not
    assert cli.chain.snapshot_state("counter.near") == c0
    assert cli.view("counter.near", "get_count") == 0


def test_exceeding_prepaid_gas_burns_it_all(cli: NearCli) -> None:
    a0 = balance(cli, "alice.near")
    out = cli.call("alice.near", "counter.near", "burn", {"gas": tgas(50)}, gas=tgas(20))
    fails(out, "GasExceeded", "Exceeded the prepaid gas")
    assert out.receipts[0].gas_burnt > tgas(20)
    assert balance(cli, "alice.near") == a0 - out.tokens_burnt
    fails(cli.call("alice.near", "counter.near", "increment", {}, gas=tgas(300) + 1), "TotalPrepaidGasExceeded")


def test_not_enough_balance_for_prepaid_gas_is_refused_before_execution(cli: NearCli) -> None:
    cli.create_account("poor.near", initial_balance=near("0.01")).raise_for_failure()
    b0 = balance(cli, "poor.near")
    out = cli.call("poor.near", "counter.near", "increment", {}, gas=tgas(300))  # needs 0.03 NEAR up front
    fails(out, "NotEnoughBalance", "poor.near")
    assert out.failure is not None and out.failure.stage == "transaction"
    assert balance(cli, "poor.near") == b0 and cli.view("counter.near", "get_count") == 0
    assert cli.call("poor.near", "counter.near", "increment", {}, gas=tgas(30)).ok  # 0.003 NEAR fits


def test_deposit_only_on_payable_methods(cli: NearCli) -> None:
    a0 = balance(cli, "alice.near")
    out = cli.call("alice.near", "counter.near", "increment", {}, deposit="1")
    fails(out, "ExecutionError", "Method increment doesn't accept deposit")
    assert balance(cli, "alice.near") == a0 - out.tokens_burnt
    paid = cli.call("alice.near", "counter.near", "donate", {}, deposit=5)
    assert paid.ok and paid.value == 5


def test_nonces_and_signatures(cli: NearCli) -> None:
    pair = cli.keychain["alice.near"][0]
    key = cli.chain.access_key("alice.near", pair.public_key)
    assert key is not None
    tx = Transaction("alice.near", pair.public_key, key.nonce + 1, "counter.near", (Transfer(1),))
    assert cli.chain.submit(tx.sign(pair)).ok
    replay = cli.chain.submit(tx.sign(pair))
    fails(replay, "InvalidNonce", "must be larger")
    tx2 = Transaction("alice.near", pair.public_key, key.nonce + 5, "counter.near", (Transfer(1),))
    fails(cli.chain.submit(tx2.sign(some_key(9))), "InvalidSignature")
    stranger = some_key(8)
    tx3 = Transaction("alice.near", stranger.public_key, 1, "counter.near", (Transfer(1),))
    fails(cli.chain.submit(tx3.sign(stranger)), "AccessKeyNotFound")
    tx4 = Transaction("ghost.near", stranger.public_key, 1, "counter.near", (Transfer(1),))
    fails(cli.chain.submit(tx4.sign(stranger)), "SignerDoesNotExist")
    tx5 = Transaction("alice.near", pair.public_key, key.nonce + 9, "Bad..Id", (Transfer(1),))
    fails(cli.chain.submit(tx5.sign(pair)), "InvalidReceiverId")


def test_new_key_nonce_follows_block_height(cli: NearCli) -> None:
    cli.chain.advance(100)
    k = some_key(4)
    cli.add_key("alice.near", k.public_key).raise_for_failure()
    view = cli.chain.access_key("alice.near", k.public_key)
    assert view is not None and view.nonce == (cli.chain.block_height - 2) * 10**6


def test_function_call_keys(cli: NearCli) -> None:
    k = some_key(5)
    cli.add_key(
        "alice.near", k.public_key, receiver_id="counter.near", method_names=("increment",), allowance="0.01"
    ).raise_for_failure()
    cli.import_key("alice.near", k)
    ok = cli.call("alice.near", "counter.near", "increment", {}, key=k.public_key)
    assert ok.ok
    fails(cli.call("alice.near", "counter.near", "donate", {}, key=k), "MethodNameMismatch", "increment")
    fails(cli.call("alice.near", "alice.near", "increment", {}, key=k), "ReceiverMismatch")
    fails(cli.call("alice.near", "counter.near", "increment", {}, key=k, deposit=1), "DepositWithFunctionCall")
    fails(cli.sign_and_send("alice.near", "counter.near", [Transfer(1)], key=k), "RequiresFullAccess")
    # a transaction reserves its full cost from the allowance; the gas refund restores the unused part
    fails(cli.call("alice.near", "counter.near", "increment", {}, key=k, gas=tgas(300)), "NotEnoughAllowance")

    def allowance() -> int:
        view = cli.view_access_key("alice.near", k.public_key)
        assert view is not None and isinstance(view.permission, FunctionCallPermission)
        assert view.permission.allowance is not None
        return view.permission.allowance

    spent = near("0.01") - allowance()
    assert spent == ok.tokens_burnt
    n = 1
    while True:
        before = allowance()
        out = cli.call("alice.near", "counter.near", "increment", {}, key=k)
        if not out.ok:
            break
        assert allowance() == before - out.tokens_burnt
        n += 1
    fails(out, "NotEnoughAllowance")
    call = FunctionCall("increment", b"{}", tgas(30))
    reserve = cli.chain.reserved_cost("alice.near", "counter.near", (call,))
    assert tgas(30) * GAS_PRICE < reserve < tgas(32) * GAS_PRICE
    assert allowance() == before < reserve  # refused, nothing taken: what is left cannot cover the reservation
    assert 20 < n < 60
    with pytest.raises(VerificationError, match="import_key"):
        cli.call("alice.near", "counter.near", "increment", {}, key=some_key(6).public_key)


def test_add_key_only_on_own_account(cli: NearCli) -> None:
    k = some_key(7)
    own = cli.call(
        "alice.near", "counter.near", "add_key_to", {"account_id": "counter.near", "public_key": str(k.public_key)}
    )
    assert own.ok and cli.chain.access_key("counter.near", k.public_key) is not None
    other = cli.call(
        "alice.near", "counter.near", "add_key_to", {"account_id": "alice.near", "public_key": str(k.public_key)}
    )
    fails(other, "ActorNoPermission", "Actor counter.near doesn't have permission to account alice.near", "AddKey")
    assert other.receipts[0].ok and not other.receipts[1].ok
    assert cli.chain.access_key("alice.near", k.public_key) is None
    # a transaction may not add keys to another account either
    from tdxverify.near.accounts import AddKey

    direct = cli.sign_and_send(
        "alice.near", "counter.near", [AddKey(some_key(3).public_key, AccessKey(0, FullAccess()))]
    )
    fails(direct, "ActorNoPermission")
    dup = cli.add_key("alice.near", cli.keychain["alice.near"][0].public_key)
    fails(dup, "AddKeyAlreadyExists")
    fails(cli.delete_key("alice.near", some_key(2).public_key), "DeleteKeyDoesNotExist")


def test_create_account_rules(cli: NearCli) -> None:
    fails(
        cli.create_account("bob.counter.near", master_account="alice.near", initial_balance="1"),
        "CreateAccountNotAllowed",
    )
    assert "bob.counter.near" not in cli.chain.accounts
    fails(cli.create_account("alice.near", initial_balance="1"), "AccountAlreadyExists")
    assert cli.create_account("bob.alice.near", initial_balance="1").ok
    assert cli.view_account("bob.alice.near").amount == near(1)


def test_storage_staking(cli: NearCli) -> None:
    acc = cli.view_account("counter.near")
    assert acc.storage_usage == 100 + 1000 + (33 + 9 + 40) + (5 + borsh_size({"count": 0, "blob": ""}) + 40)
    room = (acc.amount - acc.storage_staked) // STORAGE_PRICE_PER_BYTE
    fails(
        cli.call("alice.near", "counter.near", "store", {"size": room + 100}, gas=tgas(300)),
        "LackBalanceForState",
        "counter.near",
    )
    assert cli.view_account("counter.near").storage_usage == acc.storage_usage
    assert cli.call("alice.near", "counter.near", "store", {"size": room - 100}, gas=tgas(300)).ok
    # the signer must keep its own storage covered after paying
    alice = cli.view_account("alice.near")
    spend = alice.amount - alice.storage_staked
    fails(cli.send("alice.near", "counter.near", spend), "LackBalanceForState", "alice.near")


def test_views_change_nothing(cli: NearCli) -> None:
    h = cli.chain.block_height
    assert cli.view("counter.near", "get_count") == 0
    assert cli.view("counter.near", "sneaky_write") is None
    assert cli.view("counter.near", "get_count") == 0
    with pytest.raises(NearExecutionError) as err:
        cli.view("counter.near", "increment")
    assert err.value.failure.kind == "ProhibitedInView"
    with pytest.raises(NearExecutionError) as err:
        cli.view("counter.near", "nope")
    assert err.value.failure.kind == "MethodNotFound"
    with pytest.raises(NearExecutionError) as err:
        cli.view("alice.near", "get_count")
    assert err.value.failure.kind == "CodeDoesNotExist"
    assert cli.chain.block_height == h


def test_clock(cli: NearCli) -> None:
    chain = cli.chain
    t0, h0 = chain.now, chain.block_height
    chain.advance(60)
    assert chain.now == t0 + 60 and chain.block_height == h0 + 60
    chain.set_time(t0 + 3600)
    assert chain.now == t0 + 3600 and chain.block_timestamp == (t0 + 3600) * 10**9
    with pytest.raises(ValueError):
        chain.set_time(t0)
    cli.send("alice.near", "counter.near", 1)
    assert chain.block_height > h0 + 60


def test_outcome_json(cli: NearCli) -> None:
    out = cli.call("alice.near", "counter.near", "increment", {"then_panic": True})
    d = out.to_dict()
    assert d["status"] == "Failure" and d["failure"]["kind"] == "ExecutionError"
    assert d["receipts"][0]["actions"] == ["FunctionCall"]
    with pytest.raises(NearExecutionError) as err:
        out.raise_for_failure()
    assert err.value.code == "near_execution_failed" and "boom" in err.value.message


def test_raw_args_text_is_sent_byte_for_byte(cli: NearCli) -> None:
    fails(cli.call("alice.near", "counter.near", "increment", "{not json"), "ExecutionError", "Failed to deserialize")
    fails(cli.call("alice.near", "counter.near", "increment", "[1]"), "ExecutionError", "JSON object")
    assert cli.sign_and_send("alice.near", "counter.near", [FunctionCall("increment", b"", tgas(10))]).ok


def test_views_have_no_signer(cli: NearCli) -> None:
    from .near_contracts import WhoAmI

    cli.create_account("who.near", initial_balance=near(1)).raise_for_failure()
    cli.deploy("who.near", WhoAmI).raise_for_failure()
    with pytest.raises(NearExecutionError) as err:
        cli.view("who.near", "caller")
    assert err.value.failure.kind == "ProhibitedInView" and "no signer" in err.value.failure.message
    out = cli.call("alice.near", "who.near", "caller", {})
    assert out.ok and out.value == "alice.near"


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["alice.near", "bob.near", "carol.near"]), st.integers(0, 3), st.integers(0, 10**25)),
        max_size=12,
    )
)
def test_balances_are_conserved(transfers: list[tuple[str, int, int]]) -> None:
    """Whatever succeeds or fails, every yoctoNEAR is in some account or burnt as gas."""
    c = NearCli(Chain())
    names = ["alice.near", "bob.near", "carol.near"]
    for n in names:
        c.create_account(n, initial_balance=near(20)).raise_for_failure()
    total = sum(a.amount for a in c.chain.accounts.values())
    burnt = 0
    for sender, to, amount in transfers:
        receiver = [*names, "nobody.near"][to]
        out = c.send(sender, receiver, amount)
        burnt += out.tokens_burnt
        if out.failure is not None and out.failure.stage == "transaction":
            assert out.tokens_burnt == 0
    assert sum(a.amount for a in c.chain.accounts.values()) + burnt == total
