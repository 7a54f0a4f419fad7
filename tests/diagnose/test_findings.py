"""Tests of the doctor's findings model."""

from __future__ import annotations

import json

import pytest

from akv_helpers.diagnose.findings import (
    Diagnosis,
    DiagnosisInputs,
    Finding,
    Status,
    sort_findings,
)


def _finding(finding_id: str, status: Status) -> Finding:
    return Finding(finding_id, finding_id.title(), status, "seen", "wanted")


def test_sort_findings_failures_first() -> None:
    findings = [
        _finding("na", Status.NOT_APPLICABLE),
        _finding("ok", Status.OK),
        _finding("cnc", Status.COULD_NOT_CHECK),
        _finding("warn", Status.WARNING),
        _finding("fail", Status.FAILED),
    ]

    ordered = [finding.id for finding in sort_findings(findings)]

    assert ordered == ["fail", "warn", "cnc", "ok", "na"]


def test_sort_findings_stable_within_status() -> None:
    findings = [
        _finding("ok-1", Status.OK),
        _finding("fail-1", Status.FAILED),
        _finding("ok-2", Status.OK),
        _finding("fail-2", Status.FAILED),
    ]

    ordered = [finding.id for finding in sort_findings(findings)]

    assert ordered == ["fail-1", "fail-2", "ok-1", "ok-2"]


def test_finding_to_dict() -> None:
    finding = Finding(
        "vault.permission-model",
        "Vault permission model",
        Status.FAILED,
        "access policies",
        "Azure RBAC",
        fix="switch",
        evidence={"enableRbacAuthorization": "false"},
        commands=["az keyvault update"],
    )

    data = finding.to_dict()

    assert data == {
        "id": "vault.permission-model",
        "title": "Vault permission model",
        "status": "failed",
        "observed": "access policies",
        "expected": "Azure RBAC",
        "fix": "switch",
        "evidence": {"enableRbacAuthorization": "false"},
        "commands": ["az keyvault update"],
    }
    assert json.loads(json.dumps(data)) == data


def test_finding_status_from_text() -> None:
    finding = Finding("a", "A", "could not check", "x", "y")  # type: ignore[arg-type]

    assert finding.status is Status.COULD_NOT_CHECK
    assert str(finding.status) == "could not check"


def test_finding_rejects_empty_id() -> None:
    with pytest.raises(ValueError, match="id"):
        Finding("", "A", Status.OK, "x", "y")


def test_finding_is_frozen() -> None:
    finding = _finding("a", Status.OK)

    with pytest.raises(AttributeError):
        finding.status = Status.FAILED  # type: ignore[misc]


def test_diagnosis_failed_and_counts() -> None:
    inputs = DiagnosisInputs("https://kv-demo.vault.azure.net/secrets/db-pass")
    healthy = Diagnosis(inputs, findings=[_finding("a", Status.WARNING)])
    broken = Diagnosis(inputs, findings=[_finding("a", Status.FAILED)])

    assert not healthy.failed
    assert broken.failed
    assert broken.counts()["failed"] == 1
    assert broken.counts()["ok"] == 0
    assert broken.finding("a").status is Status.FAILED
    with pytest.raises(KeyError):
        broken.finding("missing")


def test_diagnosis_to_dict_omits_task_source() -> None:
    inputs = DiagnosisInputs(
        "https://kv-demo.vault.azure.net/secrets/db-pass",
        task_source="password = 'do-not-copy'",
        task_path="tasks/read_secret.py",
    )
    diagnosis = Diagnosis(inputs, resolved={"principal ID": "bbbb"}, mode="simulator")

    data = diagnosis.to_dict()

    assert "do-not-copy" not in json.dumps(data)
    assert data["inputs"]["task_source_given"] is True
    assert data["inputs"]["task_path"] == "tasks/read_secret.py"
    assert data["resolved"] == {"principal ID": "bbbb"}
    assert data["failed"] is False
    assert data["mode"] == "simulator"
