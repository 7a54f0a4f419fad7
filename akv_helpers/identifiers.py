"""Key Vault secret identifiers, Azure names and IDs, and ARM scopes.

Everything here is pure: no request is sent and no Azure package is imported. The
naming rules follow the Azure documentation on resource naming. Vault names are 3–24
letters, digits and hyphens, start with a letter, end with a letter or digit and
contain no ``--``. Secret names are 1–127 letters, digits and hyphens, and a secret
version is 32 hexadecimal characters. Key Vault compares names case-insensitively,
so vault and secret names are returned lowercased.
"""

from __future__ import annotations

from akv_helpers.guids import GUID_SHAPE, filter_value, validate_guid
from akv_helpers.names import (
    IDENTITY_NAME_RULE,
    MAX_SECRET_NAME_LENGTH,
    RESOURCE_GROUP_NAME_RULE,
    SECRET_NAME_RULE,
    SECRET_VERSION_LENGTH,
    SECRET_VERSION_RULE,
    VAULT_NAME_RULE,
    is_union_identity_name,
    suggest_secret_name,
    validate_identity_name,
    validate_resource_group_name,
    validate_secret_name,
    validate_secret_version,
    validate_vault_name,
)
from akv_helpers.scopes import (
    ROLE_ASSIGNMENT_NAMESPACE,
    SECRET_SCOPE_SHAPE,
    SecretScope,
    build_secret_scope,
    build_secret_scope_for_identifier,
    build_vault_scope,
    parse_secret_scope,
    role_assignment_name,
    scope_contains,
)
from akv_helpers.secret_ids import (
    SECRET_IDENTIFIER_SHAPE,
    SecretIdentifier,
    parse_secret_identifier,
    require_cloud,
)

__all__ = [
    "GUID_SHAPE",
    "MAX_SECRET_NAME_LENGTH",
    "SECRET_VERSION_LENGTH",
    "IDENTITY_NAME_RULE",
    "RESOURCE_GROUP_NAME_RULE",
    "ROLE_ASSIGNMENT_NAMESPACE",
    "SECRET_IDENTIFIER_SHAPE",
    "SECRET_NAME_RULE",
    "SECRET_SCOPE_SHAPE",
    "SECRET_VERSION_RULE",
    "VAULT_NAME_RULE",
    "SecretIdentifier",
    "SecretScope",
    "build_secret_scope",
    "build_secret_scope_for_identifier",
    "build_vault_scope",
    "filter_value",
    "is_union_identity_name",
    "parse_secret_identifier",
    "require_cloud",
    "parse_secret_scope",
    "role_assignment_name",
    "scope_contains",
    "suggest_secret_name",
    "validate_guid",
    "validate_identity_name",
    "validate_resource_group_name",
    "validate_secret_name",
    "validate_secret_version",
    "validate_vault_name",
]
