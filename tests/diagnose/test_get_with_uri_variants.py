"""The doctor's task.get-with-uri check on the ways a secret URI gets written."""

from __future__ import annotations

import pytest

from akv_helpers.diagnose import DiagnosisInputs, Status, diagnose

URI = "https://kv-demo.vault.azure.net/secrets/db-pass"
VERSION = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
CHECK = "task.get-with-uri"


def task(argument: str, group: str = URI) -> str:
    """Return a task module that requests `group` and reads `argument`."""
    return (
        "from flytekit import Secret, current_context, task\n"
        f"@task(secret_requests=[Secret(group={group!r},\n"
        "    mount_requirement=Secret.MountType.FILE)])\n"
        "def t() -> int:\n"
        f"    return len(current_context().secrets.get({argument!r}))\n"
    )


def run_check(source: str, uri: str = URI):
    diagnosis = diagnose(None, DiagnosisInputs(identifier_text=uri, task_source=source))
    return diagnosis.finding(CHECK)


# The argument as written, and the call the fix must name.
VARIANTS = [
    pytest.param(URI, 'secrets.get("db-pass")', id="exact"),
    pytest.param(URI.upper(), 'secrets.get("db-pass")', id="upper-case"),
    pytest.param(
        "HTTPS://kv-demo.vault.azure.net/secrets/db-pass",
        'secrets.get("db-pass")',
        id="upper-case-scheme",
    ),
    pytest.param(f"  {URI} \n", 'secrets.get("db-pass")', id="spaces"),
    pytest.param(
        "kv-demo.vault.azure.net/secrets/db-pass",
        'secrets.get("db-pass")',
        id="no-scheme",
    ),
    pytest.param(
        "http://kv-demo.vault.azure.net/secrets/db-pass",
        'secrets.get("db-pass")',
        id="http",
    ),
    pytest.param(f"{URI}/", 'secrets.get("db-pass")', id="trailing-slash"),
    pytest.param(f"{URI}?api-version=7.4", 'secrets.get("db-pass")', id="query"),
    pytest.param(f"{URI}#latest", 'secrets.get("db-pass")', id="fragment"),
    pytest.param(
        f"{URI}/{VERSION}",
        f'secrets.get("db-pass", group_version="{VERSION}")',
        id="versioned",
    ),
    pytest.param(
        f"{URI}/{VERSION.upper()}?api-version=7.4",
        f'secrets.get("db-pass", group_version="{VERSION}")',
        id="versioned-query",
    ),
    pytest.param(
        "https://kv-demo.vault.azure.cn/secrets/db-pass",
        'secrets.get("db-pass")',
        id="china",
    ),
    pytest.param(
        "https://kv-demo.vault.usgovcloudapi.net/secrets/DB-Pass",
        'secrets.get("db-pass")',
        id="us-government",
    ),
]


@pytest.mark.parametrize(("argument", "call"), VARIANTS)
def test_get_with_uri_variant_fails(argument: str, call: str) -> None:
    finding = run_check(task(argument))

    assert finding.id == CHECK
    assert finding.status is Status.FAILED, finding.observed
    assert f"Write {call} instead" in finding.fix
    assert "Line 5" in finding.observed


def test_get_with_uri_versioned_fix_reason() -> None:
    finding = run_check(task(f"{URI}/{VERSION}"))

    assert "the version goes into group_version" in finding.fix


def test_get_with_uri_group_version_kept() -> None:
    # A group_version argument next to a versionless URI stays in the fix.
    source = task(URI).replace(
        f"get({URI!r})", f"get({URI!r}, group_version={VERSION!r})"
    )

    finding = run_check(source)

    assert finding.status is Status.FAILED, finding.observed
    assert f'secrets.get("db-pass", group_version="{VERSION}")' in finding.fix


@pytest.mark.parametrize(
    "argument",
    [
        pytest.param("db-pass", id="name"),
        pytest.param("DB-Pass", id="name-upper-case"),
    ],
)
def test_get_with_name_passes(argument: str) -> None:
    finding = run_check(task(argument))

    assert finding.id == CHECK
    assert finding.status is Status.OK
    assert finding.fix == ""


@pytest.mark.parametrize(
    "argument",
    [
        pytest.param("https://kv-demo.vault.azure.net/keys/db-pass", id="key-uri"),
        pytest.param("https://kv-demo.vault.azure.net/secrets/", id="no-name"),
        pytest.param("kv-demo/db-pass", id="path-not-uri"),
    ],
)
def test_get_with_other_text_not_uri(argument: str) -> None:
    finding = run_check(task(argument))

    assert finding.status is Status.OK
