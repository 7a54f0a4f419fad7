"""Source code of the Flyte test task, rendered for one secret.

The rendered module imports only flytekit and the standard library, so it runs on
Union unchanged. Values enter it in two ways only: as ``repr()`` literals built from
a parsed `SecretIdentifier`, and, in the docstring, after `_plain` has checked that
they hold no character that could end a string.

The analysis of a user's task code lives in `akv_helpers._task_analysis`, and
its records in `akv_helpers._task_code`; this module re-exports their names.
"""

from __future__ import annotations

import re
from string import Template
from typing import TYPE_CHECKING

from akv_helpers._task_analysis import analyze_task_code, check_task_code
from akv_helpers._task_code import (
    KIND_CASE_COLLISION,
    KIND_ENV_VAR_MOUNT,
    KIND_GET_WITH_URI,
    KIND_LATEST_AND_PINNED,
    KIND_REQUEST,
    KIND_VERSION_MISMATCH,
    SecretRead,
    SecretRequest,
    TaskCodeFinding,
    TaskCodeReport,
)
from akv_helpers._task_lookup import (
    INJECTOR_SECRETS_DIR,
    SecretLookup,
    describe_lookup,
    flytekit_lookup,
)

if TYPE_CHECKING:
    from akv_helpers.identifiers import SecretIdentifier

__all__ = [
    "INJECTOR_SECRETS_DIR",
    "KIND_CASE_COLLISION",
    "KIND_ENV_VAR_MOUNT",
    "KIND_GET_WITH_URI",
    "KIND_LATEST_AND_PINNED",
    "KIND_REQUEST",
    "KIND_VERSION_MISMATCH",
    "TASK_NAME",
    "WORKFLOW_NAME",
    "SecretLookup",
    "SecretRead",
    "SecretRequest",
    "TaskCodeFinding",
    "TaskCodeReport",
    "analyze_task_code",
    "check_task_code",
    "describe_lookup",
    "flytekit_lookup",
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
