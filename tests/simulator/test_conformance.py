"""Field-by-field comparison of simulator answers with Azure's published examples.

Each Azure REST API example (and each SDK test recording) shows a response body. The
same operation is sent to the simulator, and every field path of the example's body
must be present in the simulator's body with a JSON value of the same type. Values may
differ; ``null`` on either side matches any type, since Azure sends ``null`` for unset
optional fields.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from .conftest import (
    IDENTITY,
    OPERATOR,
    SECRET_SCOPE,
    SECRETS_USER,
    SUBSCRIPTION,
    VAULT_SCOPE,
    RunningSimulator,
)

EXAMPLES = Path(
    os.environ.get("AKV_AZURE_EXAMPLES")
    or Path(__file__).resolve().parents[2] / ".." / "shared" / "azure-examples"
)
pytestmark = pytest.mark.skipif(
    not EXAMPLES.is_dir(), reason=f"Azure example folder not found at {EXAMPLES}"
)

_SUB = f"/subscriptions/{SUBSCRIPTION}"
_AUTH = "/providers/Microsoft.Authorization"
_DEFINITION = f"{_SUB}{_AUTH}/roleDefinitions/{SECRETS_USER}"


def _kind(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def field_paths(value: Any, prefix: str = "") -> dict[str, str | None]:
    """Map every field path of a JSON value (list items as ``[]``) to its JSON type."""
    paths: dict[str, str | None] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else key
            paths[path] = _kind(item)
            # Tag names are user data, not fields of the resource.
            if key != "tags":
                paths.update(field_paths(item, path))
    elif isinstance(value, list):
        # Items of scalar lists (permission names, tags) are values, not fields.
        for item in value:
            if isinstance(item, (dict, list)):
                paths.setdefault(f"{prefix}[]", _kind(item))
                for path, kind in field_paths(item, f"{prefix}[]").items():
                    paths.setdefault(path, kind)
    return paths


def differences(example: Any, actual: Any) -> list[str]:
    """List the example's field paths that the simulator lacks or types differently."""
    expected = field_paths(example)
    found = field_paths(actual)
    problems = []
    for path, kind in sorted(expected.items()):
        if path not in found:
            problems.append(f"missing {path}")
        elif kind is not None and found[path] is not None and found[path] != kind:
            problems.append(f"{path}: simulator has {found[path]}, Azure has {kind}")
    return problems


def _assert_conforms(label: str, example: Any, actual: Any) -> None:
    problems = differences(example, actual)
    assert not problems, f"{label}: " + "; ".join(problems)


def _load(relative: str) -> Any:
    return json.loads((EXAMPLES / relative).read_text(encoding="utf-8"))


def _arm(sim: RunningSimulator, method: str, path: str, version: str, body: Any = None):
    token = sim.token(OPERATOR)
    separator = "&" if "?" in path else "?"
    url = f"{sim.arm_url}{path}{separator}api-version={version}"
    return sim.raw(method, url, body, {"Authorization": f"Bearer {token}"})


def _assignment_body(principal: str = IDENTITY) -> dict[str, Any]:
    return {
        "properties": {
            "roleDefinitionId": _DEFINITION,
            "principalId": principal,
            "principalType": "ServicePrincipal",
        }
    }


def _create_assignment(sim: RunningSimulator, scope: str = SECRET_SCOPE):
    name = str(uuid.uuid4())
    path = f"{scope}{_AUTH}/roleAssignments/{name}"
    status, body, _ = _arm(sim, "PUT", path, "2022-04-01", _assignment_body())
    assert status == 201, body
    return name, path, body


MSI_CASES = {
    "msi/IdentityGet.json": (
        f"{_SUB}/resourceGroups/rg-union-dp/providers/Microsoft.ManagedIdentity/"
        "userAssignedIdentities/userflyterole"
    ),
    "msi/IdentityListByResourceGroup.json": (
        f"{_SUB}/resourceGroups/rg-union-dp/providers/Microsoft.ManagedIdentity/"
        "userAssignedIdentities"
    ),
    "msi/IdentityListBySubscription.json": (
        f"{_SUB}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
    ),
}


@pytest.mark.parametrize("relative", sorted(MSI_CASES))
def test_msi_examples(sim: RunningSimulator, relative: str) -> None:
    sim.admin("POST", "config", {"page_size": 1})
    example = _load(relative)
    status, body, _ = _arm(sim, "GET", MSI_CASES[relative], "2024-11-30")
    assert status == 200, body
    _assert_conforms(relative, example["responses"]["200"]["body"], body)


def test_role_assignment_create_example(sim: RunningSimulator) -> None:
    example = _load("authorization/RoleAssignments_CreateForResource.json")["responses"]
    name = str(uuid.uuid4())
    path = f"{SECRET_SCOPE}{_AUTH}/roleAssignments/{name}"
    status, created, _ = _arm(sim, "PUT", path, "2022-04-01", _assignment_body())
    assert status == 201, created
    _assert_conforms("create 201", example["201"]["body"], created)
    status, repeated, _ = _arm(sim, "PUT", path, "2022-04-01", _assignment_body())
    assert status == 200, repeated
    _assert_conforms("create 200", example["200"]["body"], repeated)


def test_role_assignment_get_examples(sim: RunningSimulator) -> None:
    _, path, created = _create_assignment(sim)
    status, by_scope, _ = _arm(sim, "GET", path, "2022-04-01")
    assert status == 200
    _assert_conforms(
        "get",
        _load("authorization/RoleAssignments_Get.json")["responses"]["200"]["body"],
        by_scope,
    )
    status, by_id, _ = _arm(sim, "GET", created["id"], "2022-04-01")
    assert status == 200
    example = _load("authorization/RoleAssignments_GetById.json")["responses"]["200"][
        "body"
    ]
    _assert_conforms("get by id", example, by_id)


def test_role_assignment_list_example(sim: RunningSimulator) -> None:
    _create_assignment(sim)
    status, listed, _ = _arm(
        sim, "GET", f"{VAULT_SCOPE}{_AUTH}/roleAssignments", "2022-04-01"
    )
    assert status == 200
    example = _load("authorization/RoleAssignments_ListForScope.json")["responses"][
        "200"
    ]
    _assert_conforms("list", example["body"], listed)


def test_role_assignment_delete_example(sim: RunningSimulator) -> None:
    _, path, _ = _create_assignment(sim)
    status, deleted, _ = _arm(sim, "DELETE", path, "2022-04-01")
    assert status == 200
    example = _load("authorization/RoleAssignments_Delete.json")["responses"]
    _assert_conforms("delete", example["200"]["body"], deleted)
    status, again, _ = _arm(sim, "DELETE", path, "2022-04-01")
    assert status == 204
    assert again is None


@pytest.mark.parametrize(
    ("relative", "path"),
    [
        ("authorization/GetRoleDefinitionByName.json", _DEFINITION),
        (
            "authorization/GetRoleDefinitionById.json",
            f"{_AUTH}/roleDefinitions/{SECRETS_USER}",
        ),
    ],
)
def test_role_definition_examples(
    sim: RunningSimulator, relative: str, path: str
) -> None:
    status, body, _ = _arm(sim, "GET", path, "2022-04-01")
    assert status == 200, body
    _assert_conforms(relative, _load(relative)["responses"]["200"]["body"], body)


_LEGACY = f"{_SUB}/resourceGroups/rg-app-secrets/providers/Microsoft.KeyVault"
_LEGACY += "/vaults/kv-legacy"


@pytest.mark.parametrize(
    ("relative", "status_key", "path"),
    [
        ("keyvault-mgmt/getVault.json", "200", _LEGACY),
        # The simulator serves no vault writes; the vault a PUT would return is
        # compared through GET, which returns the same resource shape.
        ("keyvault-mgmt/createVaultWithNetworkAcls.json", "200", _LEGACY),
        ("keyvault-mgmt/createVaultWithNetworkAcls.json", "201", _LEGACY),
        ("keyvault-mgmt/getSecret.json", "200", f"{VAULT_SCOPE}/secrets/db-pass"),
    ],
)
def test_keyvault_mgmt_examples(
    sim: RunningSimulator, relative: str, status_key: str, path: str
) -> None:
    status, body, _ = _arm(sim, "GET", path, "2026-05-15")
    assert status == 200, body
    _assert_conforms(relative, _load(relative)["responses"][status_key]["body"], body)


def _vault_get(sim: RunningSimulator, path_and_query: str, principal: str = IDENTITY):
    token = sim.token(principal, "https://vault.azure.net/.default")
    url = sim.vault_url("kv-demo") + path_and_query.lstrip("/")
    return sim.raw("GET", url, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize(
    ("relative", "path"),
    [
        (
            "keyvault-data/GetSecret-example.json",
            "secrets/db-pass/0f1e2d3c4b5a69788796a5b4c3d2e1f0?api-version=2026-04-01",
        ),
        (
            "keyvault-data/GetSecrets-example.json",
            "secrets?api-version=2026-04-01&maxresults=1",
        ),
        (
            "keyvault-data/GetSecretVersions-example.json",
            "secrets/db-pass/versions?api-version=2026-04-01&maxresults=1",
        ),
    ],
)
def test_keyvault_data_examples(
    sim: RunningSimulator, relative: str, path: str
) -> None:
    _create_assignment(sim, VAULT_SCOPE)
    status, body, _ = _vault_get(sim, path)
    assert status == 200, body
    _assert_conforms(relative, _load(relative)["responses"]["200"]["body"], body)


RECORDINGS = (
    sorted((EXAMPLES / "recordings").glob("*.json")) if EXAMPLES.is_dir() else []
)
_SERVED = re.compile(r"^/secrets/[^/]+(/[0-9a-f]{32}|/versions|/)?$")


@pytest.mark.parametrize("recording", RECORDINGS, ids=lambda p: p.name[:60])
def test_recorded_responses(sim: RunningSimulator, recording: Path) -> None:
    _create_assignment(sim, VAULT_SCOPE)
    entries = json.loads(recording.read_text(encoding="utf-8"))["Entries"]
    problems: list[str] = []
    compared = 0
    for index, entry in enumerate(entries):
        path = re.sub(r"^https://[^/]+", "", entry["RequestUri"].split("?")[0])
        example = entry.get("ResponseBody")
        if entry["StatusCode"] == 401:
            url = sim.vault_url("kv-demo") + "secrets/db-pass?api-version=2026-04-01"
            status, actual, _ = sim.raw("GET", url)
        elif (
            entry["RequestMethod"] == "GET"
            and _SERVED.match(path)
            and entry["StatusCode"] == 200
        ):
            if path.endswith("/versions"):
                query = "?api-version=2026-04-01&maxresults=6"
                status, actual, _ = _vault_get(sim, "secrets/db-pass/versions" + query)
            else:
                status, actual, _ = _vault_get(
                    sim, "secrets/api-token/?api-version=2026-04-01"
                )
        else:
            # Writes, deletes and deleted-secret reads are not operations the kit uses,
            # and the simulator does not serve them.
            continue
        compared += 1
        if status != entry["StatusCode"]:
            problems.append(
                f"entry {index}: status {status}, recorded {entry['StatusCode']}"
            )
        problems += [f"entry {index}: {p}" for p in differences(example, actual)]
    assert compared >= 2
    assert not problems, f"{recording.name}: " + "; ".join(problems)
