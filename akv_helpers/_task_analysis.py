"""Analysis of a user's Flyte task code: its Key Vault secret requests and reads.

`analyze_task_code` and `check_task_code` read the source with `ast` and never
run it. Each problem they find is a `TaskCodeFinding` whose kind names the
doctor check that reports it.
"""

from __future__ import annotations

import ast
import re

from akv_helpers._task_code import (
    KIND_CASE_COLLISION,
    KIND_ENV_VAR_MOUNT,
    KIND_GET_WITH_URI,
    KIND_LATEST_AND_PINNED,
    KIND_VERSION_MISMATCH,
    SecretRead,
    SecretRequest,
    TaskCodeFinding,
    TaskCodeReport,
    argument,
    call_name,
    constant_strings,
    parse_python,
    parse_written_secret_uri,
    secrets_get_calls,
    string_value,
)
from akv_helpers._task_lookup import INJECTOR_SECRETS_DIR, describe_lookup

__all__ = ["analyze_task_code", "check_task_code"]


_URI = re.compile(
    r"https://(?P<host>[^/\s]+)/secrets/(?P<name>[A-Za-z0-9-]+)"
    r"(?:/(?P<version>[0-9A-Fa-f]{32}))?/?$"
)


def _check_secret_request(
    call: ast.Call, constants: dict[str, str]
) -> tuple[list[TaskCodeFinding], SecretRequest | None]:
    findings: list[TaskCodeFinding] = []
    group = string_value(argument(call, 0, "group"), constants)
    version = string_value(argument(call, 2, "group_version"), constants)
    if group is None:
        return findings, None

    match = _URI.match(group)
    if match is None:
        findings.append(
            TaskCodeFinding(
                call.lineno,
                f"Secret(group={group!r}) is not a Key Vault secret URI.",
                "Union's Azure injector needs the full URI as the group: "
                'Secret(group="https://<vault>.vault.azure.net/secrets/<name>").',
            )
        )
        return findings, None

    base = f"https://{match['host']}/secrets/{match['name']}"
    if match["version"]:
        findings.append(
            TaskCodeFinding(
                call.lineno,
                f"Secret(group={group!r}) puts the version in the group.",
                f'Use Secret(group="{base}", '
                f'group_version="{match["version"].lower()}").',
                KIND_VERSION_MISMATCH,
            )
        )
        version = version or match["version"]

    mount = argument(call, 3, "mount_requirement")
    if isinstance(mount, ast.Attribute) and mount.attr == "ENV_VAR":
        findings.append(
            TaskCodeFinding(
                call.lineno,
                "Union's Azure injector rejects Secret.MountType.ENV_VAR.",
                "Use mount_requirement=Secret.MountType.FILE.",
                KIND_ENV_VAR_MOUNT,
            )
        )
    if argument(call, 4, "env_var") is not None:
        findings.append(
            TaskCodeFinding(
                call.lineno,
                "Union's Azure injector ignores env_var: it writes a file only.",
                "Remove env_var and read the value with secrets.get().",
                KIND_ENV_VAR_MOUNT,
            )
        )
    request = SecretRequest(
        line=call.lineno,
        group=group,
        host=match["host"].lower(),
        name=match["name"].lower(),
        written_name=match["name"],
        version=version.lower() if version else None,
    )
    return findings, request


def _get_suggestion(name: str, version: str | None) -> str:
    if version:
        return f'secrets.get("{name}", group_version="{version}")'
    return f'secrets.get("{name}")'


def _check_get_call(
    read: SecretRead, requests: list[SecretRequest]
) -> list[TaskCodeFinding]:
    identifier = parse_written_secret_uri(read.name)
    if identifier is not None:
        version = read.version.lower() if read.version else identifier.version
        call = _get_suggestion(identifier.name, version)
        reason = "the name is the segment after /secrets/ in the URI"
        if version:
            reason += ", and the version goes into group_version"
        return [
            TaskCodeFinding(
                read.line,
                f"secrets.get({read.name!r}) passes the secret URI, so flytekit looks "
                "for a file path that never exists.",
                f"Write {call} instead: {reason}.",
                KIND_GET_WITH_URI,
            )
        ]

    names = {request.name for request in requests}
    if requests and read.name.lower() not in names:
        return [
            TaskCodeFinding(
                read.line,
                f"secrets.get({read.name!r}) reads a secret that no Secret request "
                "of this module names.",
                "Request it, or read one of: " + ", ".join(sorted(names)) + ".",
            )
        ]
    if not read.version_known:
        return []
    return _check_read_version(
        read, [r for r in requests if r.name == read.name.lower()]
    )


def _check_read_version(
    read: SecretRead, matching: list[SecretRequest]
) -> list[TaskCodeFinding]:
    """Compare the version a ``get`` reads with the versions the task requests."""
    versions = {request.version for request in matching}
    requested = read.version.lower() if read.version else None
    if not matching or requested in versions:
        return []
    name = read.name.lower()
    declared = sorted(version for version in versions if version)
    if requested is None:
        message = (
            f"secrets.get({read.name!r}) reads the latest version, but the task "
            f"requests only version {', '.join(declared)}, so the injector writes "
            f"{INJECTOR_SECRETS_DIR}/{name}/{declared[0]} and flytekit looks for "
            f"{INJECTOR_SECRETS_DIR}/{name}."
        )
        fix = f"Call {_get_suggestion(name, declared[0])}."
    elif None in versions:
        message = (
            f"secrets.get({read.name!r}, group_version={read.version!r}) reads a "
            "pinned version, but the task requests the latest, so the injector "
            f"writes {INJECTOR_SECRETS_DIR}/{name} and flytekit looks for "
            f"{INJECTOR_SECRETS_DIR}/{name}/{requested}."
        )
        fix = (
            f'Declare Secret(..., group_version="{requested}") or call '
            f"{_get_suggestion(name, None)}."
        )
    else:
        message = (
            f"secrets.get({read.name!r}, group_version={read.version!r}) reads a "
            f"version the task does not request (it requests {', '.join(declared)})."
        )
        fix = f"Call {_get_suggestion(name, declared[0])}, or request {requested}."
    return [TaskCodeFinding(read.line, message, fix, KIND_VERSION_MISMATCH)]


def _secret_read(call: ast.Call, constants: dict[str, str]) -> SecretRead | None:
    first = string_value(argument(call, 0, "group"), constants)
    if first is None:
        return None
    version_node = argument(call, 2, "group_version")
    version = string_value(version_node, constants)
    known = version_node is None or version is not None
    return SecretRead(call.lineno, first, version, known)


def _collision_findings(
    request: SecretRequest, previous: list[SecretRequest]
) -> list[TaskCodeFinding]:
    """Find requests that the injector would write to the same path."""
    findings: list[TaskCodeFinding] = []
    same_name = [other for other in previous if other.name == request.name]
    pinned = request.version is not None
    if any((other.version is not None) != pinned for other in same_name):
        findings.append(
            TaskCodeFinding(
                request.line,
                f"The latest and a pinned version of {request.name!r} are both "
                "requested: the injector would write a file and a folder at "
                f"{INJECTOR_SECRETS_DIR}/{request.name}.",
                "Request either the latest version or pinned versions.",
                KIND_LATEST_AND_PINNED,
            )
        )
    for other in same_name:
        if other.version != request.version:
            continue
        if other.written_name != request.written_name:
            findings.append(
                TaskCodeFinding(
                    request.line,
                    f"The secrets {other.written_name!r} (line {other.line}) and "
                    f"{request.written_name!r} differ only in case, but Key Vault "
                    "names are case-insensitive and the injector writes both to "
                    f"{request.file_path}.",
                    f"Request the secret once, in lowercase: {request.name!r}.",
                    KIND_CASE_COLLISION,
                )
            )
        elif other.host != request.host:
            findings.append(
                TaskCodeFinding(
                    request.line,
                    f"Secrets named {request.name!r} from {other.host} (line "
                    f"{other.line}) and {request.host} are both requested, but the "
                    f"injector writes both to {request.file_path}, so one replaces "
                    "the other.",
                    "Request one of them, or store one under another name.",
                    KIND_CASE_COLLISION,
                )
            )
        else:
            continue
        break
    return findings


_ENVIRON_FUNCTIONS = {"getenv", "getenvb"}


def _environment_variable(node: ast.AST, constants: dict[str, str]) -> str | None:
    """Return the variable name read by ``os.environ[...]``, ``.get`` or ``getenv``."""
    if isinstance(node, ast.Subscript):
        base = node.value
        if (isinstance(base, ast.Attribute) and base.attr == "environ") or (
            isinstance(base, ast.Name) and base.id == "environ"
        ):
            return string_value(node.slice, constants)
        return None
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    name = call_name(node)
    if name in _ENVIRON_FUNCTIONS:
        return string_value(argument(node, 0, "key"), constants)
    if name == "get" and isinstance(func, ast.Attribute):
        receiver = func.value
        if (isinstance(receiver, ast.Attribute) and receiver.attr == "environ") or (
            isinstance(receiver, ast.Name) and receiver.id == "environ"
        ):
            return string_value(argument(node, 0, "key"), constants)
    return None


def _shell_form(name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", name.upper())


def _environment_findings(
    tree: ast.Module, constants: dict[str, str], requests: list[SecretRequest]
) -> list[TaskCodeFinding]:
    """Find reads of an environment variable named like a requested secret."""
    by_form = {_shell_form(request.name): request for request in requests}
    findings: list[TaskCodeFinding] = []
    for node in ast.walk(tree):
        variable = _environment_variable(node, constants)
        if variable is None:
            continue
        form = _shell_form(variable)
        request = by_form.get(form.removeprefix("_FSEC_"))
        if request is None:
            continue
        findings.append(
            TaskCodeFinding(
                getattr(node, "lineno", 0),
                f"The task reads the environment variable {variable}, but Union's "
                f"Azure injector writes the secret {request.name} to the file "
                f"{request.file_path} and sets no variable. "
                + describe_lookup(request.name, request.version),
                f"Read the value with {_get_suggestion(request.name, request.version)}"
                " and, for a local run, lay the value out as that file "
                "(`akv-onboard task run` does it).",
                KIND_ENV_VAR_MOUNT,
            )
        )
    return findings


def analyze_task_code(source: str) -> TaskCodeReport:
    """Find the Key Vault secret requests and reads of a task, and their problems.

    The analysis reads the source with `ast` and never runs it. Names and
    versions count when they are string literals or module-level string
    constants.

    Parameters
    ----------
    source
        Python source of the module or snippet that defines the task.

    Returns
    -------
    TaskCodeReport
        The requests and reads found, and the problems in source order.

    Raises
    ------
    SyntaxError
        If `source` is not valid Python.
    """
    tree = parse_python(source)
    constants = constant_strings(tree)
    calls = sorted(
        (node for node in ast.walk(tree) if isinstance(node, ast.Call)),
        key=lambda node: (node.lineno, node.col_offset),
    )
    findings: list[TaskCodeFinding] = []
    requests: list[SecretRequest] = []
    for call in calls:
        if call_name(call) == "Secret":
            found, request = _check_secret_request(call, constants)
            findings.extend(found)
            if request is not None:
                findings.extend(_collision_findings(request, requests))
                requests.append(request)

    reads: list[SecretRead] = []
    for call in secrets_get_calls(tree):
        read = _secret_read(call, constants)
        if read is not None:
            reads.append(read)
            findings.extend(_check_get_call(read, requests))
    findings.extend(_environment_findings(tree, constants, requests))
    return TaskCodeReport(
        requests=tuple(requests),
        reads=tuple(reads),
        findings=tuple(sorted(findings, key=lambda finding: finding.line)),
    )


def check_task_code(source: str) -> list[TaskCodeFinding]:
    """Check a Flyte task's Key Vault secret requests and ``secrets.get`` calls.

    The check reads the source with `ast` and never runs it. It finds these
    problems:

    - a URI passed to ``secrets.get``;
    - a group that is not a secret URI, or that carries the version;
    - a ``group_version`` requested but not read, or read but not requested;
    - the ``ENV_VAR`` mount type and ``env_var``, which Union's Azure injector
      does not support, and reads of an environment variable named like a
      requested secret;
    - a read of a secret that no request names;
    - the latest and a pinned version of one secret requested together, because
      the injector would need a file and a folder at one path;
    - two requests the injector writes to one path: names that differ only in
      case, or one name from two vaults.

    Parameters
    ----------
    source
        Python source of the module that defines the task.

    Returns
    -------
    list[TaskCodeFinding]
        Problems in source order; empty when none were found.

    Raises
    ------
    SyntaxError
        If `source` is not valid Python.
    """
    return list(analyze_task_code(source).findings)
