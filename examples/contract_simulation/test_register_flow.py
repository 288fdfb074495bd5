"""Example: a register-contract test suite that needs no glue, only the ``near_*`` fixtures."""

from __future__ import annotations


def test_worker_registers_and_gets_a_function_call_key(near_ready, near_worker):
    result = near_worker.register()
    assert result.registered, result.last.failure
    key = next(k for k in near_ready.operator_keys() if k.public_key == near_worker.public_key)
    assert key.permission.receiver_id == "outlayer.near"
    assert "resolve_execution" in key.permission.method_names


def test_unapproved_image_is_refused_with_its_measurements(near_make_worker, near_measurements):
    from dataclasses import replace

    new_image = replace(near_measurements, rtmr3=b"\x44" * 48)
    out = near_make_worker(new_image).attempt()
    assert out.failure_kind == "ExecutionError"
    assert "Worker measurements not approved" in out.failure_message
    assert "44" * 48 in out.failure_message


def test_rtmr3_roll_over(near_ready, near_make_worker, near_measurements):
    from dataclasses import replace

    new_image = replace(near_measurements, rtmr3=b"\x45" * 48)
    assert near_ready.approve_rtmr3(new_image.rtmr3).ok
    assert near_make_worker(new_image).register().registered
    assert near_make_worker(near_measurements).register().registered  # the old set is still approved
    assert near_ready.owner_call("remove_approved_measurements", {"measurements": near_measurements.to_contract()}).ok
    assert not near_make_worker(near_measurements, max_attempts=1).register().registered


def test_expired_collateral_then_refresh(near_ready, near_forge, near_worker):
    stale = near_forge.collateral(
        tcb_info=near_forge.tcb_info(issue_date="2025-05-01T00:00:00Z", next_update="2025-05-31T00:00:00Z")
    )
    assert near_ready.update_collateral(stale).ok
    out = near_worker.attempt()
    assert "TDX quote verification failed" in out.failure_message
    assert "collateral_expired" in out.failure_message
    assert near_ready.update_collateral(near_forge.collateral()).ok  # fresh collateral
    assert near_worker.register().registered


def test_guide_layout_cannot_add_keys(near_guide_deployment, near_forge, near_measurements):
    near_guide_deployment.update_collateral(near_forge.collateral()).raise_for_failure()
    near_guide_deployment.approve_rtmr3(near_measurements.rtmr3).raise_for_failure()
    out = near_guide_deployment.worker(near_forge, near_measurements).attempt()
    assert out.failure_kind == "ActorNoPermission"


def test_views_with_the_cli_facade(near_cli, near_deployment):
    assert near_cli.view(near_deployment.contract_id, "get_operator_account") == "operator.outlayer.near"
    assert near_cli.view_account("worker1.outlayer.near").amount > 0
