"""Source code of the Flyte test task: rendering it, and checking a user's task code.

The rendered module imports only flytekit and the standard library, so it runs on
Union unchanged. Values enter it in two ways only: as ``repr()`` literals built from
a parsed `SecretIdentifier`, and, in the docstring, after `_plain` has checked that
they hold no character that could end a string.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from string import Template
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from akv_helpers.identifiers import SecretIdentifier

__all__ = [
    "TASK_NAME",
    "WORKFLOW_NAME",
    "TaskCodeFinding",
    "check_task_code",
    "module_file_name",
    "render_task_module",
]

TASK_NAME = "read_secret"
WORKFLOW_NAME = "check_secret"

# Characters that secret identifiers, names and versions consist of once parsed.
_PLAIN = re.compile(r"[A-Za-z0-9._:/\-]+")

_HEADER = Template('''\
r"""Check that a Flyte task can read one Azure Key Vault secret.

Secret URI (the request's group): ${group}
Version: ${version_line}

The task `${task}` requests the secret from Union's Azure secret injector, reads
it with flytekit and returns its fingerprint: the length of the value and the
first 12 hex characters of its SHA-256 digest. It never returns or prints the
value itself. The workflow `${workflow}` wraps the task.

Run on Union, after the data-plane identity has been granted the role
Key Vault Secrets User on the secret:

    pyflyte run --remote ${file} ${workflow}
    union run --remote ${file} ${workflow}

Run locally with the value in a file laid out as the injector lays it out,
readable by you only:

    mkdir -m 700 secrets
    # Write the value to this file:
    #     secrets/${layout}
    FLYTE_SECRETS_DEFAULT_DIR="$$PWD/secrets" FLYTE_SECRETS_FILE_PREFIX= \\
        pyflyte run ${file} ${workflow}

Before the file, flytekit looks for the environment variable
${env_var}
which bash cannot export when the name contains a hyphen.
"""

import hashlib

import flytekit
from flytekit import Secret, task, workflow

# Union's Azure injector takes the vault and the secret name from the versionless
# secret URI in `group`, and the version from `group_version`.
SECRET_GROUP = ${group_literal}
SECRET_NAME = ${name_literal}
''')

_PINNED_BODY = Template('''\
SECRET_VERSION = ${version_literal}


@task(
    secret_requests=[
        Secret(
            group=SECRET_GROUP,
            group_version=SECRET_VERSION,
            mount_requirement=Secret.MountType.FILE,
        )
    ]
)
def ${task}() -> str:
    """Read the secret and return its fingerprint, never its value."""
    secrets = flytekit.current_context().secrets
    value = secrets.get(SECRET_NAME, group_version=SECRET_VERSION)
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()
    return f"length={len(value)} sha256={digest[:12]}"
''')

_LATEST_BODY = Template('''\


@task(
    secret_requests=[
        Secret(group=SECRET_GROUP, mount_requirement=Secret.MountType.FILE)
    ]
)
def ${task}() -> str:
    """Read the latest version of the secret and return its fingerprint."""
    value = flytekit.current_context().secrets.get(SECRET_NAME)
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()
    return f"length={len(value)} sha256={digest[:12]}"
''')

_FOOTER = Template('''\


@workflow
def ${workflow}() -> str:
    """Run `${task}` and return the fingerprint it computed."""
    return ${task}()
''')


def _plain(value: str) -> str:
    """Return `value` if it is safe inside the docstring, else raise ValueError."""
    if not _PLAIN.fullmatch(value):
        raise ValueError(f"unexpected character in {value!r}")
    return value


def module_file_name(identifier: SecretIdentifier) -> str:
    """Return the file name of the test task module for the secret.

    Parameters
    ----------
    identifier
        Parsed secret identifier.

    Returns
    -------
    str
        ``check_<name with - replaced by _>_secret.py``, a valid module name.
    """
    stem = f"check_{identifier.name.replace('-', '_')}_secret"
    if not stem.isidentifier():
        raise ValueError(f"{stem!r} is not a valid Python module name")
    return f"{stem}.py"


def render_task_module(identifier: SecretIdentifier, *, pinned: bool) -> str:
    """Render the source of a standalone Flyte module that reads one secret.

    Parameters
    ----------
    identifier
        Parsed secret identifier. Its group URI, name and version are the only
        values that enter the source.
    pinned
        Request the identifier's version with ``group_version``. Without it the
        task reads the latest version.

    Returns
    -------
    str
        Python source that imports only flytekit and the standard library.

    Raises
    ------
    ValueError
        If `pinned` is set but the identifier has no version.
    """
    version = identifier.version if pinned else None
    if pinned and version is None:
        raise ValueError("a pinned task needs a secret identifier with a version")

    name = _plain(identifier.name)
    group = _plain(identifier.group_uri)
    if version is None:
        layout = name
        env_var = f"_FSEC_{name.upper()}"
        version_line = "latest (no group_version)"
    else:
        version = _plain(version)
        layout = f"{name}/{version}"
        env_var = f"_FSEC_{name.upper()}_{version.upper()}"
        version_line = version

    header = _HEADER.substitute(
        name=name,
        version_line=version_line,
        task=TASK_NAME,
        workflow=WORKFLOW_NAME,
        group=group,
        file=module_file_name(identifier),
        layout=layout,
        env_var=env_var,
        group_literal=repr(identifier.group_uri),
        name_literal=repr(identifier.name),
    )
    if version is None:
        body = _LATEST_BODY.substitute(task=TASK_NAME)
    else:
        body = _PINNED_BODY.substitute(
            task=TASK_NAME, version_literal=repr(identifier.version)
        )
    return header + body + _FOOTER.substitute(task=TASK_NAME, workflow=WORKFLOW_NAME)


@dataclass(frozen=True)
class TaskCodeFinding:
    """A problem found in a task's secret request or in its ``secrets.get`` call.

    Attributes
    ----------
    line
        Line number in the checked source.
    message
        What is wrong.
    fix
        The corrected code or what to do.
    """

    line: int
    message: str
    fix: str


_URI = re.compile(
    r"https://(?P<host>[^/\s]+)/secrets/(?P<name>[A-Za-z0-9-]+)"
    r"(?:/(?P<version>[0-9A-Fa-f]{32}))?/?$"
)


def _constant_strings(tree: ast.Module) -> dict[str, str]:
    """Map module-level names assigned a string literal to that string."""
    constants: dict[str, str] = {}
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    constants[target.id] = node.value.value
    return constants


def _string_value(node: ast.expr | None, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None


def _call_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    for item in call.keywords:
        if item.arg == keyword:
            return item.value
    if len(call.args) > position:
        return call.args[position]
    return None


def _check_secret_request(
    call: ast.Call, constants: dict[str, str]
) -> tuple[list[TaskCodeFinding], tuple[str, str | None] | None]:
    findings: list[TaskCodeFinding] = []
    group = _string_value(_argument(call, 0, "group"), constants)
    version = _string_value(_argument(call, 2, "group_version"), constants)
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

    name = match["name"].lower()
    base = f"https://{match['host']}/secrets/{match['name']}"
    if match["version"]:
        findings.append(
            TaskCodeFinding(
                call.lineno,
                f"Secret(group={group!r}) puts the version in the group.",
                f'Use Secret(group="{base}", '
                f'group_version="{match["version"].lower()}").',
            )
        )
        version = version or match["version"]

    mount = _argument(call, 3, "mount_requirement")
    if isinstance(mount, ast.Attribute) and mount.attr == "ENV_VAR":
        findings.append(
            TaskCodeFinding(
                call.lineno,
                "Union's Azure injector rejects Secret.MountType.ENV_VAR.",
                "Use mount_requirement=Secret.MountType.FILE.",
            )
        )
    if _argument(call, 4, "env_var") is not None:
        findings.append(
            TaskCodeFinding(
                call.lineno,
                "Union's Azure injector ignores env_var: it writes a file only.",
                "Remove env_var and read the value with secrets.get().",
            )
        )
    return findings, (name, version.lower() if version else None)


def _check_get_call(
    call: ast.Call,
    constants: dict[str, str],
    requested: list[tuple[str, str | None]],
) -> list[TaskCodeFinding]:
    first = _string_value(_argument(call, 0, "group"), constants)
    if first is None:
        return []
    version = _string_value(_argument(call, 2, "group_version"), constants)
    match = _URI.match(first)
    if match is not None:
        name = match["name"].lower()
        version = version or (match["version"].lower() if match["version"] else None)
        suggestion = f'secrets.get("{name}")'
        if version:
            suggestion = f'secrets.get("{name}", group_version="{version}")'
        return [
            TaskCodeFinding(
                call.lineno,
                f"secrets.get({first!r}) passes the secret URI, so flytekit looks "
                "for a file path that never exists.",
                f"Call {suggestion}: the name is the last segment of the URI.",
            )
        ]

    names = {name for name, _ in requested}
    if requested and first.lower() not in names:
        return [
            TaskCodeFinding(
                call.lineno,
                f"secrets.get({first!r}) reads a secret that no Secret request "
                "of this module names.",
                "Request it, or read one of: " + ", ".join(sorted(names)) + ".",
            )
        ]
    return []


def _is_secrets_get(call: ast.Call) -> bool:
    """Tell whether `call` is ``<...>.secrets.get(...)`` or ``secrets.get(...)``."""
    func = call.func
    if not isinstance(func, ast.Attribute) or func.attr != "get":
        return False
    receiver = func.value
    if isinstance(receiver, ast.Name):
        return receiver.id == "secrets"
    return isinstance(receiver, ast.Attribute) and receiver.attr == "secrets"


def _collides(
    request: tuple[str, str | None], requested: list[tuple[str, str | None]]
) -> bool:
    """Tell whether the latest and a pinned version of one secret are requested."""
    name, version = request
    if version is None:
        return any(other == name and pin is not None for other, pin in requested)
    return (name, None) in requested


def check_task_code(source: str) -> list[TaskCodeFinding]:
    """Check a Flyte task's Key Vault secret requests and ``secrets.get`` calls.

    The check reads the source with `ast` and never runs it. It finds these
    problems:

    - a URI passed to ``secrets.get``;
    - a group that is not a secret URI, or that carries the version;
    - the ``ENV_VAR`` mount type and ``env_var``, which Union's Azure injector
      does not support;
    - a read of a secret that no request names;
    - the latest and a pinned version of one secret requested together, because
      the injector would need a file and a folder at one path.

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
    tree = ast.parse(source)
    constants = _constant_strings(tree)
    calls = sorted(
        (node for node in ast.walk(tree) if isinstance(node, ast.Call)),
        key=lambda node: (node.lineno, node.col_offset),
    )
    findings: list[TaskCodeFinding] = []
    requested: list[tuple[str, str | None]] = []
    for call in calls:
        if _call_name(call) == "Secret":
            found, request = _check_secret_request(call, constants)
            findings.extend(found)
            if request is not None:
                if _collides(request, requested):
                    findings.append(
                        TaskCodeFinding(
                            call.lineno,
                            f"The latest and a pinned version of {request[0]!r} are "
                            "both requested: the injector would write a file and a "
                            "folder at one path.",
                            "Request either the latest version or pinned versions.",
                        )
                    )
                requested.append(request)

    for call in calls:
        if _is_secrets_get(call):
            findings.extend(_check_get_call(call, constants, requested))
    return sorted(findings, key=lambda finding: finding.line)
