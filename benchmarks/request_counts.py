"""Count the Azure requests of each onboarding step, and time each step.

The simulator's request log records every request it serves. This script starts a
simulator in a temporary kit home and onboards the demo secret once. For each step it
prints the number of Azure requests the step sent, and its wall time as a ratio to one
admin health request measured in the same run. It prints ratios, not seconds, so that
a slower machine does not change what a reader compares.

Run it with `make bench` or `.venv/bin/python benchmarks/request_counts.py`.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from akv_helpers.assignments import grant, plan_grant, revoke, verify
from akv_helpers.connection import (
    SimulatorEndpoint,
    connect,
    ensure_simulator,
    stop_simulator,
)
from akv_helpers.identifiers import parse_secret_identifier
from akv_helpers.identities import find_identities
from akv_helpers.profile import Profile
from akv_helpers.vaults import find_vault, get_secret_info, require_rbac

DEMO_IDENTIFIER = "https://kv-demo.vault.azure.net/secrets/db-pass"
RESOURCE_GROUP = "rg-union-dp"
# The onboarding of one secret after sign-in may send at most this many requests.
REQUEST_BUDGET = 5
BASELINE_SAMPLES = 20


def _azure_requests(sim: SimulatorEndpoint) -> list[dict[str, Any]]:
    return [
        entry
        for entry in sim.requests()
        if not entry["path"].startswith("/_simulator/")
    ]


def _baseline_seconds(sim: SimulatorEndpoint) -> float:
    samples = []
    for _ in range(BASELINE_SAMPLES):
        start = time.perf_counter()
        sim.health()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _measure(sim: SimulatorEndpoint, step: Callable[[], Any]) -> tuple[Any, int, float]:
    sim.clear_requests()
    start = time.perf_counter()
    result = step()
    elapsed = time.perf_counter() - start
    return result, len(_azure_requests(sim)), elapsed


def run(home: Path) -> int:
    """Onboard the demo secret in the simulator at `home` and print the table."""
    sim = ensure_simulator(home)
    sim.reset()
    connection = connect(Profile(mode="simulator"))
    identifier = parse_secret_identifier(DEMO_IDENTIFIER)
    baseline = _baseline_seconds(sim)
    rows: list[tuple[str, int, float]] = []

    def record(name: str, step: Callable[[], Any]) -> Any:
        result, count, elapsed = _measure(sim, step)
        rows.append((name, count, elapsed / baseline))
        return result

    [identity] = record(
        "find the identity", lambda: find_identities(connection, RESOURCE_GROUP)
    )
    vault = record(
        "find the vault and its permission model",
        lambda: find_vault(connection, identifier.vault_name),
    )
    require_rbac(vault)
    record(
        "check the secret",
        lambda: get_secret_info(connection, vault, identifier.name),
    )
    plan = record(
        "plan the grant",
        lambda: plan_grant(
            connection.subscription_id, vault, identifier.name, identity.principal_id
        ),
    )
    record("grant", lambda: grant(connection, plan))
    record("verify", lambda: verify(connection, plan))
    record("grant again", lambda: grant(connection, plan))
    revoke(connection, plan)

    onboarding = rows[:6]
    total = sum(count for _, count, _ in onboarding)
    print(f"baseline: one simulator health request, median of {BASELINE_SAMPLES}")
    print(f"{'step':<42} {'requests':>8} {'time / baseline':>16}")
    for name, count, ratio in rows:
        print(f"{name:<42} {count:>8} {ratio:>16.1f}")
    print(f"{'onboarding one secret (first six steps)':<42} {total:>8}")
    print("The first step also fetches the operator's token and opens the connection.")
    verdict = "within" if total <= REQUEST_BUDGET else "OVER"
    print(f"request budget: {REQUEST_BUDGET}; {verdict}")
    return 0 if total <= REQUEST_BUDGET else 1


def main() -> int:
    """Run the benchmark in a temporary kit home and stop its simulator afterwards."""
    with tempfile.TemporaryDirectory(prefix="akv-bench-") as directory:
        home = Path(directory)
        os.environ["AKV_ONBOARD_HOME"] = str(home)
        try:
            return run(home)
        finally:
            stop_simulator(home)


if __name__ == "__main__":
    sys.exit(main())
