"""Checks of the user's own Flyte task code, read with `ast` and never run.

Each check looks at one kind of problem that `analyze_task_code` finds: how
``secrets.get`` is called, whether the versions requested and read agree, how
the value reaches the task, and whether two requests would be written to one
file. Without a task file or snippet every check is "not applicable".
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from akv_helpers._task_source import (
    INJECTOR_SECRETS_DIR,
    KIND_CASE_COLLISION,
    KIND_ENV_VAR_MOUNT,
    KIND_GET_WITH_URI,
    KIND_LATEST_AND_PINNED,
    KIND_REQUEST,
    KIND_VERSION_MISMATCH,
    SecretRequest,
    TaskCodeFinding,
    TaskCodeReport,
    analyze_task_code,
    describe_lookup,
)
from akv_helpers.diagnose.findings import Finding, Status
from akv_helpers.diagnose.runner import CheckContext, check
from akv_helpers.errors import displayable

__all__ = ["task_code_report"]

_NO_TASK = "No task file or snippet was given, so the task code was not checked."


@functools.lru_cache(maxsize=16)
def task_code_report(source: str) -> TaskCodeReport | SyntaxError:
    """Analyse `source` once for every task check; a syntax error is returned."""
    try:
        return analyze_task_code(source)
    except SyntaxError as error:
        return error


def _report(context: CheckContext, expected: str) -> TaskCodeReport | Finding:
    """Return the analysis of the task, or the finding that replaces the check."""
    source = context.task_source
    if source is None:
        return context.finding(Status.NOT_APPLICABLE, _NO_TASK, expected)
    result = task_code_report(source)
    if isinstance(result, SyntaxError):
        where = f"line {result.lineno}" if result.lineno else "an unknown line"
        return context.finding(
            Status.COULD_NOT_CHECK,
            f"The task code is not valid Python ({displayable(result.msg or '')} at "
            f"{where}), so it could not be read.",
            expected,
            "Paste the whole task module, or fix the syntax error and run again.",
            evidence=_where(context),
        )
    return result


def _where(context: CheckContext) -> dict[str, str]:
    path = context.inputs.task_path
    return {"task file": displayable(path)} if path else {}


def _failed(
    context: CheckContext, problems: Sequence[TaskCodeFinding], expected: str
) -> Finding:
    """Turn task-code problems into one failed finding, line by line."""
    observed = " ".join(f"Line {item.line}: {item.message}" for item in problems)
    fixes = list(dict.fromkeys(item.fix for item in problems))
    evidence = _where(context)
    evidence["lines"] = ", ".join(str(item.line) for item in problems)
    return context.finding(
        Status.FAILED, observed, expected, " ".join(fixes), evidence=evidence
    )


def _requests_text(requests: Sequence[SecretRequest]) -> str:
    parts = []
    for request in requests:
        version = request.version or "latest"
        parts.append(f"{request.name} ({version}, line {request.line})")
    return ", ".join(parts)


@check("task.get-with-uri", needs=("task_source",), title="secrets.get() argument")
def check_get_with_uri(context: CheckContext) -> Finding:
    """Fail when ``secrets.get`` is given the secret URI instead of its name."""
    expected = (
        "secrets.get() receives the secret name, the last segment of the URI, "
        'such as secrets.get("db-pass").'
    )
    report = _report(context, expected)
    if isinstance(report, Finding):
        return report
    problems = report.of_kind(KIND_GET_WITH_URI)
    if problems:
        return _failed(context, problems, expected)
    if not report.reads:
        return context.finding(
            Status.NOT_APPLICABLE,
            "The task code has no secrets.get() call with a literal name.",
            expected,
            evidence=_where(context),
        )
    calls = ", ".join(f"{read.name!r} (line {read.line})" for read in report.reads)
    return context.finding(
        Status.OK,
        f"secrets.get() is called with secret names: {displayable(calls)}.",
        expected,
        evidence=_where(context),
    )


@check("task.version-mismatch", needs=("task_source",), title="Requested version")
def check_version_mismatch(context: CheckContext) -> Finding:
    """Fail when the version a task requests is not the one it reads."""
    expected = (
        "A secret requested with group_version is read with the same "
        "group_version, and one requested without it is read without it."
    )
    report = _report(context, expected)
    if isinstance(report, Finding):
        return report
    problems = report.of_kind(KIND_VERSION_MISMATCH)
    if problems:
        return _failed(context, problems, expected)
    if not report.requests:
        return context.finding(
            Status.NOT_APPLICABLE,
            "The task code has no Key Vault Secret request.",
            expected,
            evidence=_where(context),
        )
    return context.finding(
        Status.OK,
        "The versions requested and read agree: "
        f"{displayable(_requests_text(report.requests))}.",
        expected,
        evidence=_where(context),
    )


@check("task.env-var-mount", needs=("task_source",), title="How the value arrives")
def check_env_var_mount(context: CheckContext) -> Finding:
    """Fail on ``MountType.ENV_VAR``, ``env_var`` and reads of look-alike variables."""
    expected = (
        "The secret is requested with Secret.MountType.FILE (or ANY) and read "
        "with secrets.get(), because Union's Azure injector writes files only, "
        f"under {INJECTOR_SECRETS_DIR}."
    )
    report = _report(context, expected)
    if isinstance(report, Finding):
        return report
    problems = report.of_kind(KIND_ENV_VAR_MOUNT)
    if problems:
        return _failed(context, problems, expected)
    if not report.requests:
        return context.finding(
            Status.NOT_APPLICABLE,
            "The task code has no Key Vault Secret request.",
            expected,
            evidence=_where(context),
        )
    lookups = " ".join(
        f"For {request.name}: {describe_lookup(request.name, request.version)}"
        for request in report.requests
    )
    return context.finding(
        Status.OK,
        "The task reads the secret from the file the injector writes. " + lookups,
        expected,
        evidence=_where(context),
    )


@check(
    "task.latest-and-pinned", needs=("task_source",), title="Latest and pinned version"
)
def check_latest_and_pinned(context: CheckContext) -> Finding:
    """Fail when the latest and a pinned version of one secret are both requested."""
    expected = (
        "Each secret is requested either as the latest version or as pinned "
        "versions, never both, because the injector cannot write a file and a "
        "folder at one path."
    )
    return _collision_check(context, KIND_LATEST_AND_PINNED, expected)


@check("task.case-collision", needs=("task_source",), title="Names differing in case")
def check_case_collision(context: CheckContext) -> Finding:
    """Fail when two requests would be written to the same lowercased path."""
    expected = (
        "No two requested secrets share a name when compared case-insensitively, "
        "because the injector writes each to its lowercased name."
    )
    return _collision_check(context, KIND_CASE_COLLISION, expected)


def _collision_check(context: CheckContext, kind: str, expected: str) -> Finding:
    report = _report(context, expected)
    if isinstance(report, Finding):
        return report
    problems = report.of_kind(kind)
    if problems:
        return _failed(context, problems, expected)
    if not report.requests:
        return context.finding(
            Status.NOT_APPLICABLE,
            "The task code has no Key Vault Secret request.",
            expected,
            evidence=_where(context),
        )
    paths = sorted({request.file_path for request in report.requests})
    return context.finding(
        Status.OK,
        f"{len(report.requests)} request(s), each written to its own path: "
        f"{displayable(', '.join(paths))}.",
        expected,
        evidence=_where(context),
    )


@check("task.secret-request", needs=("task_source",), title="Task's secret request")
def check_secret_request(context: CheckContext) -> Finding:
    """Fail on a group that is no secret URI or a read of an unrequested secret.

    When the identifier parses, also warn when no request names its secret.
    """
    expected = (
        "The task requests the secret with Secret(group=<versionless secret "
        "URI>) and reads only secrets it requests."
    )
    report = _report(context, expected)
    if isinstance(report, Finding):
        return report
    problems = report.of_kind(KIND_REQUEST)
    if problems:
        return _failed(context, problems, expected)
    if not report.requests:
        return context.finding(
            Status.WARNING,
            "The task code has no Secret(group=<Key Vault secret URI>) request, so "
            "the injector gives the task no secret.",
            expected,
            'Add secret_requests=[Secret(group="https://<vault>.vault.azure.net/'
            'secrets/<name>", mount_requirement=Secret.MountType.FILE)] to @task.',
            evidence=_where(context),
        )
    outcome = context.outcome("identifier")
    if outcome.available:
        identifier = outcome.value
        host = identifier.vault_url.lower().removeprefix("https://")
        if not any(
            request.host == host and request.name == identifier.name
            for request in report.requests
        ):
            return context.finding(
                Status.WARNING,
                f"The task requests {displayable(_requests_text(report.requests))}, "
                f"but not the secret being checked, {identifier.group_uri}.",
                expected,
                f'Request Secret(group="{identifier.group_uri}") in the task, or '
                "run the doctor with the identifier of the secret the task reads.",
                evidence=_where(context),
            )
    return context.finding(
        Status.OK,
        f"The task requests {displayable(_requests_text(report.requests))}.",
        expected,
        evidence=_where(context),
    )
