"""Tests of the doctor's runner: shared facts, parallel checks, contained errors."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from akv_helpers.connection import Connection, SimulatorEndpoint
from akv_helpers.diagnose import (
    CHECK_MODULES,
    REGISTRY,
    DiagnosisInputs,
    Status,
    diagnose,
)
from akv_helpers.diagnose.findings import Finding
from akv_helpers.diagnose.runner import MAX_WORKERS, CheckContext, CheckRegistry
from akv_helpers.errors import KitError

SECRET = "https://kv-demo.vault.azure.net/secrets/db-pass"


def _inputs(text: str = SECRET) -> DiagnosisInputs:
    return DiagnosisInputs(text)


def test_checks_run_in_parallel() -> None:
    registry = CheckRegistry()
    barrier = threading.Barrier(2, timeout=20)
    threads: dict[str, str] = {}

    def waiting_check(context: CheckContext) -> Finding:
        # Both checks must be inside at once, or the barrier breaks.
        barrier.wait()
        threads[context.check_id] = threading.current_thread().name
        return context.finding(Status.OK, "met", "meet")

    registry.check("test.first")(waiting_check)
    registry.check("test.second")(waiting_check)

    diagnosis = diagnose(None, _inputs(), registry=registry)

    assert [f.status for f in diagnosis.findings] == [Status.OK, Status.OK]
    assert all(name.startswith("akv-diagnose") for name in threads.values())
    assert len(set(threads.values())) == 2
    assert MAX_WORKERS == 4


def test_dependants_could_not_check_offline() -> None:
    registry = CheckRegistry()
    called = []

    @registry.check("test.vault", needs=("vault",), title="Vault thing")
    def vault_check(context: CheckContext) -> Finding:
        called.append(True)
        return context.finding(Status.OK, "seen", "wanted")

    diagnosis = diagnose(None, _inputs(), registry=registry)

    finding = diagnosis.finding("test.vault")
    assert finding.status is Status.COULD_NOT_CHECK
    assert "not signed in" in finding.observed
    assert finding.title == "Vault thing"
    assert "Sign in" in finding.fix
    assert not called
    assert diagnosis.mode == "offline"


def test_dependants_name_failed_fact(connection: Connection) -> None:
    diagnosis = diagnose(
        connection, _inputs("https://kv-missing.vault.azure.net/secrets/db-pass")
    )

    assert diagnosis.finding("vault.not-found").status is Status.FAILED
    for finding_id in ("vault.permission-model", "secret.disabled", "vault.firewall"):
        finding = diagnosis.finding(finding_id)
        assert finding.status is Status.COULD_NOT_CHECK, finding_id
        assert "kv-missing" in finding.observed, finding_id


def test_kit_error_in_check_contained() -> None:
    registry = CheckRegistry()

    @registry.check("test.kit-error")
    def failing(context: CheckContext) -> Finding:
        raise KitError("The lookup broke.", "Try the lookup again.")

    finding = diagnose(None, _inputs(), registry=registry).finding("test.kit-error")

    assert finding.status is Status.COULD_NOT_CHECK
    assert "The lookup broke." in finding.observed
    assert finding.fix == "Try the lookup again."


def test_unexpected_error_in_check_contained() -> None:
    registry = CheckRegistry()

    @registry.check("test.crash")
    def crashing(context: CheckContext) -> Finding:
        token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln"
        raise RuntimeError(f"boom with {token}")

    @registry.check("test.fine")
    def fine(context: CheckContext) -> Finding:
        return context.finding(Status.OK, "fine", "fine")

    diagnosis = diagnose(None, _inputs(), registry=registry)
    crash = diagnosis.finding("test.crash")

    assert crash.status is Status.COULD_NOT_CHECK
    assert "RuntimeError" in crash.observed
    assert "eyJ" not in crash.observed + crash.fix
    assert "boom" not in crash.observed
    assert "Traceback" not in crash.observed
    assert diagnosis.finding("test.fine").status is Status.OK


def test_unexpected_error_logged_with_place(caplog: pytest.LogCaptureFixture) -> None:
    registry = CheckRegistry()

    @registry.check("test.crash")
    def crashing(context: CheckContext) -> Finding:
        raise RuntimeError("boom with s3cr3t-value")

    with caplog.at_level("DEBUG", logger="akv_helpers.diagnose.runner"):
        diagnose(None, _inputs(), registry=registry)

    lines = [r.getMessage() for r in caplog.records if "test.crash" in r.getMessage()]
    assert len(lines) == 1
    assert "RuntimeError" in lines[0]
    assert "test_runner.py:" in lines[0]
    assert "in crashing" in lines[0]
    assert "s3cr3t" not in caplog.text
    assert "boom" not in caplog.text


def test_check_with_foreign_id_rejected() -> None:
    registry = CheckRegistry()

    @registry.check("test.mine")
    def foreign(context: CheckContext) -> Finding:
        return Finding("test.other", "Other", Status.OK, "x", "y")

    finding = diagnose(None, _inputs(), registry=registry).finding("test.mine")

    assert finding.status is Status.COULD_NOT_CHECK


def test_registry_rejects_unknown_fact() -> None:
    registry = CheckRegistry()

    with pytest.raises(ValueError, match="Unknown facts"):
        registry.check("test.x", needs=("weather",))


def test_registry_rejects_duplicate_id() -> None:
    registry = CheckRegistry()

    def first(context: CheckContext) -> Finding:
        return context.finding(Status.OK, "a", "b")

    def second(context: CheckContext) -> Finding:
        return context.finding(Status.OK, "a", "b")

    registry.check("test.x")(first)

    with pytest.raises(ValueError, match="registered twice"):
        registry.check("test.x")(second)


def test_offline_runs_pure_checks() -> None:
    diagnosis = diagnose(
        None, _inputs("https://kv-demo.vault.azure.net/secrets/DB-pass")
    )

    assert diagnosis.finding("identifier.format").status is Status.OK
    assert diagnosis.finding("identifier.case").status is Status.WARNING
    assert diagnosis.finding("identifier.managed-hsm").status is Status.OK
    offline = [f for f in diagnosis.findings if f.status is Status.COULD_NOT_CHECK]
    assert {f.id for f in offline} >= {"vault.not-found", "identity.none-found"}
    assert all("not signed in" in f.observed for f in offline)


def test_facts_fetched_once(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.apply_scenario("healthy")
    fresh_sim.clear_requests()

    diagnose(connection, _inputs())

    requests = fresh_sim.requests()
    paths = [entry["path"].lower() for entry in requests]
    vault_lists = [
        p for p in paths if p.endswith("/providers/microsoft.keyvault/vaults")
    ]
    identity_lists = [p for p in paths if p.endswith("/userassignedidentities")]
    secret_gets = [p for p in paths if p.endswith("/vaults/kv-demo/secrets/db-pass")]
    assert len(vault_lists) == 1
    assert len(identity_lists) == 1
    assert len(secret_gets) == 1


def test_progress_reports_plain_steps(connection: Connection) -> None:
    steps: list[str] = []

    diagnose(connection, _inputs(), progress=steps.append)

    assert steps[0].startswith("Running ")
    assert "Finding the vault kv-demo" in steps
    assert steps[-1] == "Writing up the findings"


def test_progress_callback_errors_ignored() -> None:
    def broken(step: str) -> None:
        raise RuntimeError("display gone")

    diagnosis = diagnose(None, _inputs(), progress=broken)

    assert diagnosis.finding("identifier.format").status is Status.OK


def test_registry_lists_core_checks() -> None:
    ids = set(REGISTRY.ids())

    assert {
        "identifier.format",
        "identifier.managed-hsm",
        "identifier.cloud",
        "identifier.case",
        "identity.none-found",
        "identity.several",
        "identity.wrong-id-kind",
        "identity.principal-unresolved",
        "vault.not-found",
        "vault.permission-model",
        "vault.firewall",
        "vault.private-link",
        "secret.not-found",
        "secret.disabled",
        "secret.validity",
        "secret.version-missing",
    } <= ids


def _collect(registry: CheckRegistry, name: str, store: dict[str, object]) -> None:
    @registry.check(f"test.{name}", needs=(name,))
    def collect(context: CheckContext) -> Finding:
        store[name] = context.fact(name)
        return context.finding(Status.OK, "collected", "collected")


def test_assignments_fact_lists_principal(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.apply_scenario("healthy")
    fresh_sim.apply_scenario("grant-other-secret")
    registry = CheckRegistry()
    store: dict[str, object] = {}
    _collect(registry, "assignments", store)

    diagnose(connection, _inputs(), registry=registry)

    records = store["assignments"]
    assert isinstance(records, list)
    scopes = sorted(record.scope.rsplit("/", 1)[-1] for record in records)
    assert scopes == ["api-token", "db-pass"]
    secret_scope = next(r.scope for r in records if r.scope.endswith("/db-pass"))
    for record in records:
        assert record.principal_id == "bbbbbbbb-0000-4000-8000-000000000002"
        assert record.role_name == "Key Vault Secrets User"
        assert record.grants_read
        assert record.created_on is not None
    covering = [record for record in records if record.covers(secret_scope)]
    assert len(covering) == 1


def test_scope_assignments_fact_finds_orphan(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.apply_scenario("grant-orphaned")
    registry = CheckRegistry()
    store: dict[str, object] = {}
    _collect(registry, "scope_assignments", store)

    diagnose(connection, _inputs(), registry=registry)

    records = store["scope_assignments"]
    assert isinstance(records, list)
    principals = {record.principal_id for record in records}
    assert "eeeeeeee-0000-4000-8000-000000000005" in principals
    # The operator's Owner at the subscription is above the secret.
    assert "dddddddd-0000-4000-8000-000000000004" in principals


def test_probe_fact_codes(fresh_sim: SimulatorEndpoint, connection: Connection) -> None:
    registry = CheckRegistry()
    store: dict[str, object] = {}
    _collect(registry, "probe", store)

    diagnose(connection, _inputs(), registry=registry)

    probe = store["probe"]
    assert probe.reached  # type: ignore[attr-defined]
    assert probe.status == 403  # type: ignore[attr-defined]
    assert probe.inner_code == "ForbiddenByRbac"  # type: ignore[attr-defined]
    assert probe.versions is None  # type: ignore[attr-defined]
    getting = [
        entry
        for entry in fresh_sim.requests()
        if entry["path"].lower().startswith("/secrets/db-pass")
    ]
    assert all(
        entry["path"].lower() == "/secrets/db-pass/versions" for entry in getting
    )


def test_task_source_fact_reads_file(tmp_path: Path) -> None:
    task = tmp_path / "task.py"
    task.write_text("print('task')\n")
    registry = CheckRegistry()
    store: dict[str, object] = {}
    _collect(registry, "task_source", store)

    diagnose(None, DiagnosisInputs(SECRET, task_path=str(task)), registry=registry)

    assert store["task_source"] == "print('task')\n"


def test_task_source_fact_missing_file(tmp_path: Path) -> None:
    registry = CheckRegistry()
    store: dict[str, object] = {}
    _collect(registry, "task_source", store)
    inputs = DiagnosisInputs(SECRET, task_path=str(tmp_path / "absent.py"))

    finding = diagnose(None, inputs, registry=registry).finding("test.task_source")

    assert finding.status is Status.COULD_NOT_CHECK
    assert "absent.py" in finding.observed
    assert "could not be read" in finding.observed


def _request_key(entry: dict[str, object]) -> tuple[str, ...]:
    # ARM paths are case-insensitive, so a path in other case is the same request.
    fields = ("host", "method", "path", "query", "principal_id")
    return tuple(str(entry.get(name) or "").lower() for name in fields)


def test_healthy_run_sends_no_request_twice(
    fresh_sim: SimulatorEndpoint, connection: Connection
) -> None:
    fresh_sim.apply_scenario("healthy")
    fresh_sim.clear_requests()

    diagnosis = diagnose(connection, _inputs())

    failed = [f.id for f in diagnosis.findings if f.status is Status.FAILED]
    assert failed == []
    log = fresh_sim.requests()
    # The SDK's first request to a vault carries no token, by design: the 401
    # challenge gives it the tenant and the resource to ask a token for.
    sent = [entry for entry in log if entry.get("status") != 401]
    keys = [_request_key(entry) for entry in sent]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    assert repeated == []
    at_scope = [key for key in keys if "atscope()" in key[3]]
    assert len(at_scope) == 1


def test_package_registers_every_check_module() -> None:
    modules = {f"akv_helpers.diagnose.{name}" for name in CHECK_MODULES}
    registering = {entry.function.__module__ for entry in REGISTRY}

    assert modules <= set(sys.modules)
    assert registering <= modules
    assert "akv_helpers.diagnose.checks_secret" in registering
    assert "akv_helpers.diagnose.checks_grant_state" in registering
