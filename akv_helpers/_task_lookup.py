"""Paths of a Key Vault secret in a task: the injector's file, flytekit's lookup.

Both paths are facts about other software: the injector's folder is Union's,
and the lookup order is flytekit 1.16's ``secrets.get``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "FLYTEKIT_ENV_PREFIX",
    "INJECTOR_SECRETS_DIR",
    "SecretLookup",
    "describe_lookup",
    "flytekit_lookup",
]

# Folder that Union's Azure injector writes secret files to in the task's container.
INJECTOR_SECRETS_DIR = "/etc/flyte/secrets"
# Prefix of the environment variables flytekit 1.16 reads secrets from.
FLYTEKIT_ENV_PREFIX = "_FSEC_"


@dataclass(frozen=True)
class SecretLookup:
    """Places that flytekit's ``secrets.get`` reads one secret from, in order.

    Attributes
    ----------
    env_var
        Variable read first, ``_FSEC_<NAME>[_<VERSION>]`` in upper case.
    local_env_var
        Variable without the prefix, read as well in a local run.
    relative_path
        File under ``FLYTE_SECRETS_DEFAULT_DIR``, read last, in lower case.
    exportable
        Whether bash can ``export`` `env_var`: a name must consist of letters,
        digits and underscores.
    """

    env_var: str
    local_env_var: str
    relative_path: str
    exportable: bool


_SHELL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def flytekit_lookup(name: str, version: str | None = None) -> SecretLookup:
    """Return where ``secrets.get(name, group_version=version)`` looks (flytekit 1.16).

    Parameters
    ----------
    name
        First argument of ``secrets.get``.
    version
        Its ``group_version``, or ``None``.

    Returns
    -------
    SecretLookup
        The variables and the relative file path, in flytekit's order.

    Examples
    --------
    >>> lookup = flytekit_lookup("db-pass")
    >>> lookup.env_var, lookup.relative_path, lookup.exportable
    ('_FSEC_DB-PASS', 'db-pass', False)
    """
    parts = [part for part in (name, version) if part]
    local = "_".join(part.upper() for part in parts)
    env_var = FLYTEKIT_ENV_PREFIX + local
    return SecretLookup(
        env_var=env_var,
        local_env_var=local,
        relative_path="/".join(part.lower() for part in parts),
        exportable=_SHELL_NAME.fullmatch(env_var) is not None,
    )


def describe_lookup(name: str, version: str | None = None) -> str:
    """Describe in one paragraph where flytekit looks for a secret.

    Parameters
    ----------
    name, version
        Arguments of ``secrets.get``.

    Returns
    -------
    str
        Plain sentences naming both variables and the file.
    """
    lookup = flytekit_lookup(name, version)
    text = (
        f"flytekit's secrets.get looks for the environment variable "
        f"{lookup.env_var} (in a local run also {lookup.local_env_var}), then for "
        f"the file $FLYTE_SECRETS_DEFAULT_DIR/{lookup.relative_path}, which on "
        f"Union is {INJECTOR_SECRETS_DIR}/{lookup.relative_path}."
    )
    if not lookup.exportable:
        text += (
            f" The hyphen makes {lookup.env_var} impossible to export from bash, "
            "so a local run needs the file."
        )
    return text
