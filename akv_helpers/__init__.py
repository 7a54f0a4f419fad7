"""Onboard Flyte tasks on Union's Azure data plane to Azure Key Vault secrets.

Each onboarding step is a plain function here, so scripts and editors other than
JupyterLab can run it without the widgets:

>>> import akv_helpers
>>> akv_helpers.parse_secret_identifier(
...     "https://kv-demo.vault.azure.net/secrets/db-pass/"
... ).group_uri
'https://kv-demo.vault.azure.net/secrets/db-pass'

The pure modules (identifiers, errors, profile) load with the package. The services load
on first use, because they import the Azure SDK; flytekit and ipywidgets load only in
the modules that use them, so `import akv_helpers` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from akv_helpers.errors import KitError
from akv_helpers.identifiers import (
    SecretIdentifier,
    build_secret_scope,
    parse_secret_identifier,
)
from akv_helpers.profile import Profile, load_profile, save_profile

__version__ = "0.1.0"

# Public names of the service modules, imported on first attribute access.
_LAZY_NAMES = {
    "connect": "akv_helpers.connection",
    "Connection": "akv_helpers.connection",
    "sign_in": "akv_helpers.connection",
    "ensure_simulator": "akv_helpers.connection",
    "stop_simulator": "akv_helpers.connection",
    "find_identities": "akv_helpers.identities",
    "list_identities": "akv_helpers.identities",
    "resolve_principal_id": "akv_helpers.identities",
    "resolve_typed_principal": "akv_helpers.identities",
    "find_vault": "akv_helpers.vaults",
    "require_rbac": "akv_helpers.vaults",
    "get_secret_info": "akv_helpers.vaults",
    "plan_grant": "akv_helpers.assignments",
    "grant": "akv_helpers.assignments",
    "verify": "akv_helpers.assignments",
    "revoke": "akv_helpers.assignments",
    "onboard_secret": "akv_helpers.assignments",
    "render_task_module": "akv_helpers.flyte_task",
    "write_task_module": "akv_helpers.flyte_task",
    "run_task_locally": "akv_helpers.flyte_task",
    "remote_run_commands": "akv_helpers.flyte_task",
    "wait_for_access": "akv_helpers.propagation",
}

__all__ = [
    "build_secret_scope",
    "connect",
    "Connection",
    "ensure_simulator",
    "find_identities",
    "find_vault",
    "get_secret_info",
    "grant",
    "KitError",
    "list_identities",
    "load_profile",
    "onboard_secret",
    "parse_secret_identifier",
    "plan_grant",
    "Profile",
    "remote_run_commands",
    "render_task_module",
    "require_rbac",
    "resolve_principal_id",
    "resolve_typed_principal",
    "revoke",
    "run_task_locally",
    "save_profile",
    "SecretIdentifier",
    "sign_in",
    "stop_simulator",
    "verify",
    "wait_for_access",
    "write_task_module",
]

if TYPE_CHECKING:
    from akv_helpers.assignments import (
        grant,
        onboard_secret,
        plan_grant,
        revoke,
        verify,
    )
    from akv_helpers.connection import (
        Connection,
        connect,
        ensure_simulator,
        sign_in,
        stop_simulator,
    )
    from akv_helpers.flyte_task import (
        remote_run_commands,
        render_task_module,
        run_task_locally,
        write_task_module,
    )
    from akv_helpers.identities import (
        find_identities,
        list_identities,
        resolve_principal_id,
        resolve_typed_principal,
    )
    from akv_helpers.propagation import wait_for_access
    from akv_helpers.vaults import find_vault, get_secret_info, require_rbac


def __getattr__(name: str) -> Any:
    module_name = _LAZY_NAMES.get(name)
    if module_name is None:
        raise AttributeError(f"module 'akv_helpers' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value
