"""The simulator's fault injection admin API and the faults' wire behaviour."""

from __future__ import annotations

import http.client
import ssl
import time
from typing import Any

import pytest

from .conftest import SUBSCRIPTION, RunningSimulator

VAULTS = f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.KeyVault/vaults"
VAULTS_URL_QUERY = "?api-version=2026-05-15"


def _status(sim: RunningSimulator, body: Any) -> tuple[int, Any]:
    status, parsed, _ = sim.raw(
        "POST",
        f"{sim.arm_url}/_simulator/faults",
        body,
        {"X-Simulator-Key": sim.discovery["admin_key"]},
    )
    return status, parsed


def _list_vaults(sim: RunningSimulator) -> tuple[int, Any, dict[str, str]]:
    token = sim.token("dddddddd-0000-4000-8000-000000000004")
    return sim.raw(
        "GET",
        f"{sim.arm_url}{VAULTS}{VAULTS_URL_QUERY}",
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.mark.parametrize(
    "body",
    [
        {"route": "vaults.list", "kind": "teapot", "count": 1},
        {"route": "no.such.route", "kind": "500", "count": 1},
        {"route": "GET (", "kind": "500", "count": 1},
        {"route": "vaults.list", "kind": "500"},
        {"route": "vaults.list", "kind": "500", "fraction": 1.5},
        {"route": "vaults.list", "kind": "500", "count": -1},
        {"route": "vaults.list", "kind": "drop-after-commit", "count": 1},
        {"route": "vaults.list", "kind": "status", "count": 1},
    ],
    ids=[
        "kind",
        "route",
        "regex",
        "no-count",
        "fraction",
        "negative",
        "drop",
        "status",
    ],
)
def test_fault_rule_rejected(sim: RunningSimulator, body: dict[str, Any]) -> None:
    status, parsed = _status(sim, body)
    assert status == 400
    assert parsed["error"]["code"] == "BadRequest"
    assert sim.admin("GET", "faults")["value"] == []


def test_fault_listed_counted_and_reset(sim: RunningSimulator) -> None:
    sim.admin(
        "POST",
        "faults",
        {"route": "vaults.list", "kind": "429", "count": 1, "retry_after": 2},
    )

    first = _list_vaults(sim)
    second = _list_vaults(sim)

    assert first[0] == 429
    assert first[1]["error"]["code"] == "TooManyRequests"
    assert first[2]["retry-after"] == "2"
    assert second[0] == 200
    [rule] = sim.admin("GET", "faults")["value"]
    assert rule["applied"] == 1
    assert rule["matched"] == 2
    log = sim.admin("GET", "requests")["value"]
    assert [entry["fault"] for entry in log] == ["429", None]
    sim.admin("POST", "reset")
    assert sim.admin("GET", "faults")["value"] == []


def test_fault_custom_route_and_clear(sim: RunningSimulator) -> None:
    sim.admin(
        "POST",
        "faults",
        {"route": "GET /subscriptions/.*/vaults", "kind": "503", "count": 5},
    )
    assert _list_vaults(sim)[0] == 503
    sim.admin("DELETE", "faults")
    assert _list_vaults(sim)[0] == 200


def test_fault_reset_closes_connection(sim: RunningSimulator) -> None:
    sim.admin("POST", "faults", {"route": "vaults.list", "kind": "reset", "count": 1})

    with pytest.raises((ConnectionError, http.client.HTTPException, ssl.SSLError)):
        _list_vaults(sim)

    [entry] = sim.admin("GET", "requests")["value"]
    assert entry["fault"] == "reset"
    assert entry["status"] is None


def test_fault_slow_does_not_block(sim: RunningSimulator) -> None:
    sim.admin(
        "POST",
        "faults",
        {"route": "vaults.list", "kind": "slow", "delay": 0.5, "count": 1},
    )
    token = sim.token("dddddddd-0000-4000-8000-000000000004")
    slow = http.client.HTTPSConnection(
        "127.0.0.1",
        int(sim.arm_url.rsplit(":", 1)[1]),
        context=sim.ssl_context(),
        timeout=5,
    )
    started = time.monotonic()
    slow.request(
        "GET", VAULTS + VAULTS_URL_QUERY, headers={"Authorization": f"Bearer {token}"}
    )

    # Another request is served while the slow one waits.
    assert sim.admin("GET", "health")["status"] == "ok"
    assert time.monotonic() - started < 0.4
    response = slow.getresponse()
    response.read()
    slow.close()

    assert response.status == 200
    assert time.monotonic() - started >= 0.5


def test_fault_fraction_repeatable(sim: RunningSimulator) -> None:
    runs = []
    for _ in range(2):
        sim.admin("DELETE", "faults")
        sim.admin(
            "POST",
            "faults",
            {"route": "vaults.list", "kind": "500", "fraction": 0.5, "seed": 3},
        )
        runs.append([_list_vaults(sim)[0] for _ in range(8)])
    assert runs[0] == runs[1]
    assert set(runs[0]) == {200, 500}
