"""Task-code checks of the doctor, run offline on task files and snippets."""

from __future__ import annotations

from pathlib import Path

import pytest

from akv_helpers._task_source import (
    KIND_CASE_COLLISION,
    KIND_ENV_VAR_MOUNT,
    KIND_VERSION_MISMATCH,
    analyze_task_code,
    flytekit_lookup,
)
from akv_helpers.diagnose import DiagnosisInputs, Status, diagnose
from akv_helpers.flyte_task import render_task_module
from akv_helpers.identifiers import parse_secret_identifier

URI = "https://kv-demo.vault.azure.net/secrets/db-pass"
VERSION = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
OTHER_VERSION = "7c4a8d09ca3762af61e59520943dc264"
TASK_CHECKS = (
    "task.get-with-uri",
    "task.version-mismatch",
    "task.env-var-mount",
    "task.latest-and-pinned",
    "task.case-collision",
    "task.secret-request",
)

READ = "return flytekit.current_context().secrets.get"
HEADER = "import os\nimport flytekit\nfrom flytekit import Secret, task\n"


def task_source(requests: list[str], body: list[str]) -> str:
    """Return a task module with `requests` as Secret(...) calls and `body` lines."""
    secret_list = ", ".join(requests)
    lines = [HEADER, f"@task(secret_requests=[{secret_list}])", "def t() -> str:"]
    lines += [f"    {line}" for line in body]
    return "\n".join(lines) + "\n"


def run_doctor(source: str | None = None, path: str | None = None, uri: str = URI):
    return diagnose(
        None,
        DiagnosisInputs(identifier_text=uri, task_source=source, task_path=path),
    )


H12_SOURCE = (
    "from flytekit import Secret, current_context, task\n"
    "@task(secret_requests=[Secret(\n"
    f'    group="{URI}",\n'
    "    mount_requirement=Secret.MountType.FILE)])\n"
    "def t() -> str:\n"
    f'    return current_context().secrets.get("{URI}")\n'
)


def test_h12_get_with_uri_fix() -> None:
    finding = run_doctor(H12_SOURCE).finding("task.get-with-uri")

    assert finding.status is Status.FAILED
    assert 'secrets.get("db-pass")' in finding.fix
    assert "Line 6" in finding.observed
    assert finding.evidence["lines"] == "6"


def test_h12_other_checks_pass() -> None:
    diagnosis = run_doctor(H12_SOURCE)

    for check_id in TASK_CHECKS[1:]:
        assert diagnosis.finding(check_id).status is Status.OK, check_id


def test_h13_lookup_names_variable_and_file() -> None:
    source = task_source(
        [f'Secret(group="{URI}", mount_requirement=Secret.MountType.FILE)'],
        ['return flytekit.current_context().secrets.get("db-pass")'],
    )
    finding = run_doctor(source).finding("task.env-var-mount")

    assert finding.status is Status.OK
    assert "_FSEC_DB-PASS" in finding.observed
    assert "$FLYTE_SECRETS_DEFAULT_DIR/db-pass" in finding.observed
    assert "/etc/flyte/secrets/db-pass" in finding.observed
    assert "hyphen makes _FSEC_DB-PASS impossible to export from bash" in (
        finding.observed
    )


def test_h13_exported_variable_read() -> None:
    source = task_source(
        [f'Secret(group="{URI}", mount_requirement=Secret.MountType.FILE)'],
        ['return os.environ["DB_PASS"]'],
    )
    finding = run_doctor(source).finding("task.env-var-mount")

    assert finding.status is Status.FAILED
    assert "DB_PASS" in finding.observed
    assert "_FSEC_DB-PASS" in finding.observed
    assert "/etc/flyte/secrets/db-pass" in finding.observed
    assert "impossible to export from bash" in finding.observed
    assert 'secrets.get("db-pass")' in finding.fix


def test_flytekit_lookup_pinned() -> None:
    lookup = flytekit_lookup("DB-Pass", VERSION)

    assert lookup.env_var == f"_FSEC_DB-PASS_{VERSION.upper()}"
    assert lookup.local_env_var == f"DB-PASS_{VERSION.upper()}"
    assert lookup.relative_path == f"db-pass/{VERSION}"
    assert lookup.exportable is False


def test_flytekit_lookup_exportable() -> None:
    assert flytekit_lookup("dbpass").exportable is True


@pytest.mark.parametrize(
    ("environment_read", "variable"),
    [
        ('os.getenv("DB_PASS")', "DB_PASS"),
        ('os.environ.get("_FSEC_DB_PASS")', "_FSEC_DB_PASS"),
        ('os.environ["db-pass"]', "db-pass"),
    ],
    ids=["getenv", "environ-get-prefixed", "environ-subscript"],
)
def test_env_var_reads_flagged(environment_read: str, variable: str) -> None:
    source = task_source(
        [f'Secret(group="{URI}")'], [f"return {environment_read} or ''"]
    )
    finding = run_doctor(source).finding("task.env-var-mount")

    assert finding.status is Status.FAILED
    assert variable in finding.observed


def test_unrelated_env_var_ignored() -> None:
    source = task_source(
        [f'Secret(group="{URI}")'],
        [
            'home = os.environ["HOME"]',
            'return flytekit.current_context().secrets.get("db-pass")',
        ],
    )

    assert run_doctor(source).finding("task.env-var-mount").status is Status.OK


def test_env_var_mount_type() -> None:
    source = task_source(
        [f'Secret(group="{URI}", mount_requirement=Secret.MountType.ENV_VAR)'],
        ['return flytekit.current_context().secrets.get("db-pass")'],
    )
    finding = run_doctor(source).finding("task.env-var-mount")

    assert finding.status is Status.FAILED
    assert "rejects Secret.MountType.ENV_VAR" in finding.observed
    assert "Secret.MountType.FILE" in finding.fix


VERSION_CASES = [
    pytest.param(
        [f'Secret(group="{URI}", group_version="{VERSION}")'],
        'secrets.get("db-pass")',
        f'secrets.get("db-pass", group_version="{VERSION}")',
        id="pinned-request-latest-read",
    ),
    pytest.param(
        [f'Secret(group="{URI}")'],
        f'secrets.get("db-pass", group_version="{VERSION}")',
        f'group_version="{VERSION}"',
        id="latest-request-pinned-read",
    ),
    pytest.param(
        [f'Secret(group="{URI}", group_version="{VERSION}")'],
        f'secrets.get("db-pass", group_version="{OTHER_VERSION}")',
        f'secrets.get("db-pass", group_version="{VERSION}")',
        id="other-version-read",
    ),
    pytest.param(
        [f'Secret(group="{URI}/{VERSION}")'],
        f'secrets.get("db-pass", group_version="{VERSION}")',
        f'Secret(group="{URI}", group_version="{VERSION}")',
        id="version-in-group",
    ),
]


@pytest.mark.parametrize(("requests", "read", "fix"), VERSION_CASES)
def test_version_mismatch(requests: list[str], read: str, fix: str) -> None:
    source = task_source(requests, [f"return flytekit.current_context().{read}"])
    finding = run_doctor(source).finding("task.version-mismatch")

    assert finding.status is Status.FAILED
    assert fix in finding.fix


def test_version_from_constant_matches() -> None:
    source = f'VERSION = "{VERSION}"\n' + task_source(
        [f'Secret(group="{URI}", group_version=VERSION)'],
        [f'{READ}("db-pass", group_version=VERSION)'],
    )

    assert run_doctor(source).finding("task.version-mismatch").status is Status.OK


def test_version_unknown_expression_skipped() -> None:
    source = task_source(
        [f'Secret(group="{URI}", group_version="{VERSION}")'],
        [f'{READ}("db-pass", group_version=pick())'],
    )
    report = analyze_task_code(source)

    assert report.of_kind(KIND_VERSION_MISMATCH) == []


def test_latest_and_pinned() -> None:
    source = task_source(
        [f'Secret(group="{URI}")', f'Secret(group="{URI}", group_version="{VERSION}")'],
        ['return flytekit.current_context().secrets.get("db-pass")'],
    )
    finding = run_doctor(source).finding("task.latest-and-pinned")

    assert finding.status is Status.FAILED
    assert "file and a folder" in finding.observed
    assert "Request either the latest version or pinned versions" in finding.fix


def test_case_collision() -> None:
    upper = "https://kv-demo.vault.azure.net/secrets/DB-Pass"
    source = task_source(
        [f'Secret(group="{URI}")', f'Secret(group="{upper}")'],
        ['return flytekit.current_context().secrets.get("db-pass")'],
    )
    finding = run_doctor(source).finding("task.case-collision")

    assert finding.status is Status.FAILED
    assert "'db-pass' (line 5) and 'DB-Pass' differ only in case" in finding.observed
    assert "/etc/flyte/secrets/db-pass" in finding.observed
    assert "'db-pass'" in finding.fix


def test_same_name_two_vaults_collide() -> None:
    other = "https://kv-other.vault.azure.net/secrets/db-pass"
    report = analyze_task_code(
        task_source([f'Secret(group="{URI}")', f'Secret(group="{other}")'], ["pass"])
    )
    collisions = report.of_kind(KIND_CASE_COLLISION)

    assert len(collisions) == 1
    assert "kv-other.vault.azure.net" in collisions[0].message


def test_distinct_secrets_no_collision() -> None:
    other = "https://kv-demo.vault.azure.net/secrets/api-token"
    source = task_source(
        [f'Secret(group="{URI}")', f'Secret(group="{other}")'], ["pass"]
    )
    diagnosis = run_doctor(source)

    assert diagnosis.finding("task.case-collision").status is Status.OK
    assert diagnosis.finding("task.latest-and-pinned").status is Status.OK


def test_generated_module_passes_every_check() -> None:
    for pinned in (False, True):
        identifier = parse_secret_identifier(f"{URI}/{VERSION}")
        source = render_task_module(identifier, pinned=pinned)
        diagnosis = run_doctor(source, uri=identifier.uri)
        for check_id in TASK_CHECKS:
            finding = diagnosis.finding(check_id)
            assert finding.status is Status.OK, (check_id, pinned, finding.observed)


def test_no_task_not_applicable() -> None:
    diagnosis = run_doctor()

    for check_id in TASK_CHECKS:
        finding = diagnosis.finding(check_id)
        assert finding.status is Status.NOT_APPLICABLE, check_id
        assert finding.fix == ""


def test_task_file_path_read(tmp_path: Path) -> None:
    path = tmp_path / "my_task.py"
    path.write_text(H12_SOURCE, encoding="utf-8")
    finding = run_doctor(path=str(path)).finding("task.get-with-uri")

    assert finding.status is Status.FAILED
    assert finding.evidence["task file"] == str(path)


def test_missing_task_file_could_not_check(tmp_path: Path) -> None:
    finding = run_doctor(path=str(tmp_path / "absent.py")).finding("task.get-with-uri")

    assert finding.status is Status.COULD_NOT_CHECK
    assert "absent.py" in finding.observed


def test_syntax_error_could_not_check() -> None:
    finding = run_doctor("def t(:\n    pass\n").finding("task.case-collision")

    assert finding.status is Status.COULD_NOT_CHECK
    assert "not valid Python" in finding.observed
    assert "line 1" in finding.observed


def test_snippet_without_request_warns() -> None:
    snippet = 'value = flytekit.current_context().secrets.get("db-pass")\n'
    diagnosis = run_doctor(snippet)

    assert diagnosis.finding("task.secret-request").status is Status.WARNING
    assert diagnosis.finding("task.get-with-uri").status is Status.OK
    assert diagnosis.finding("task.version-mismatch").status is Status.NOT_APPLICABLE


def test_request_for_other_secret_warns() -> None:
    other = "https://kv-demo.vault.azure.net/secrets/api-token"
    source = task_source(
        [f'Secret(group="{other}")'],
        ['return flytekit.current_context().secrets.get("api-token")'],
    )
    finding = run_doctor(source).finding("task.secret-request")

    assert finding.status is Status.WARNING
    assert URI in finding.observed
    assert f'Secret(group="{URI}")' in finding.fix


def test_unrequested_read_fails() -> None:
    source = task_source(
        [f'Secret(group="{URI}")'],
        ['return flytekit.current_context().secrets.get("api-token")'],
    )
    finding = run_doctor(source).finding("task.secret-request")

    assert finding.status is Status.FAILED
    assert "no Secret request" in finding.observed
    assert "db-pass" in finding.fix


def test_group_not_uri_fails() -> None:
    source = task_source(['Secret(group="db-pass")'], ["pass"])
    finding = run_doctor(source).finding("task.secret-request")

    assert finding.status is Status.FAILED
    assert "not a Key Vault secret URI" in finding.observed


def test_env_var_kind_for_env_var_argument() -> None:
    report = analyze_task_code(
        task_source([f'Secret(group="{URI}", env_var="DB")'], ["pass"])
    )

    assert [item.kind for item in report.findings] == [KIND_ENV_VAR_MOUNT]


H12_DATA_FLOW = [
    pytest.param(
        ["s = flytekit.current_context().secrets", f's.get("{URI}")'],
        id="secrets-bound-to-name",
    ),
    pytest.param(
        ["ctx = flytekit.current_context()", f'return ctx.secrets.get("{URI}")'],
        id="context-bound-to-name",
    ),
    pytest.param(
        [
            "from flytekit import current_context as cc",
            "context = cc()",
            "manager = context.secrets",
            f'return manager.get("{URI}")',
        ],
        id="aliased-import-two-steps",
    ),
    pytest.param(
        [
            "from flytekit import current_context",
            f'return current_context().secrets.get("{URI}")',
        ],
        id="imported-function",
    ),
]


@pytest.mark.parametrize("body", H12_DATA_FLOW)
def test_h12_get_with_uri_data_flow(body: list[str]) -> None:
    source = task_source([f'Secret(group="{URI}")'], body)
    finding = run_doctor(source).finding("task.get-with-uri")

    assert finding.status is Status.FAILED
    assert 'secrets.get("db-pass")' in finding.fix


def test_other_get_not_a_secret_read() -> None:
    source = task_source(
        [f'Secret(group="{URI}")'],
        ["s = {'a': 1}", f's.get("{URI}")', 'return os.environ.get("HOME")'],
    )
    finding = run_doctor(source).finding("task.get-with-uri")

    assert finding.status is Status.NOT_APPLICABLE
