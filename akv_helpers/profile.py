"""The session profile that connects the onboarding steps.

The profile is a small JSON file in the kit home. It stores the mode, the cloud, IDs,
names, the secret identifier and the kit's role assignment ID, and nothing else. It
has no field for a token or a secret value. `save_profile` checks every field's shape
before it writes, so a token pasted into the wrong field is rejected.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, cast

from akv_helpers._text_checks import _invisible_problem, _list_characters, _require_text
from akv_helpers.clouds import get_cloud
from akv_helpers.errors import (
    InvalidInputError,
    KitError,
    NotConfiguredError,
    displayable,
)
from akv_helpers.identifiers import (
    filter_value,
    parse_secret_identifier,
    validate_guid,
    validate_identity_name,
    validate_resource_group_name,
)
from akv_helpers.steps import step_place

__all__ = [
    "HOME_ENVIRONMENT_VARIABLE",
    "PROFILE_FILE_NAME",
    "IdentityRef",
    "Mode",
    "Profile",
    "kit_home",
    "load_profile",
    "profile_path",
    "save_profile",
]

logger = logging.getLogger(__name__)

HOME_ENVIRONMENT_VARIABLE = "AKV_ONBOARD_HOME"
PROFILE_FILE_NAME = "profile.json"
Mode = Literal["simulator", "azure"]
_MODES: tuple[Mode, ...] = ("simulator", "azure")
_ASSIGNMENT_SEGMENT = "/providers/microsoft.authorization/roleassignments/"
# Characters that no ARM resource ID has, and that would change a request URL.
_RESOURCE_ID_FORBIDDEN = frozenset("%?#'\"\\<>")

# Prefixes of values that must never reach the profile: the simulator's secret
# values and JSON Web Tokens (every Entra ID access token starts with "eyJ").
_FORBIDDEN_PREFIXES = ("AKVSIM-CANARY-", "eyJ")


def kit_home() -> Path:
    """Return the kit home directory, creating it with mode 0700 when missing.

    The directory is ``$AKV_ONBOARD_HOME`` when that variable is set, else
    ``~/.akv-onboard``.

    Returns
    -------
    Path
        The absolute path of the directory.
    """
    configured = os.environ.get(HOME_ENVIRONMENT_VARIABLE, "").strip()
    home = Path(configured).expanduser() if configured else Path.home() / ".akv-onboard"
    home = home.absolute()
    if not home.exists():
        home.mkdir(mode=0o700, parents=True)
        # mkdir applies the umask, so set the mode again.
        home.chmod(0o700)
    return home


def profile_path() -> Path:
    """Return the path of the profile file in the kit home."""
    return kit_home() / PROFILE_FILE_NAME


@dataclass
class IdentityRef:
    """The managed identity chosen for the data plane.

    Attributes
    ----------
    name
        Identity name, such as ``userflyterole``.
    resource_group
        Resource group of the identity.
    resource_id
        ARM resource ID of the identity.
    client_id
        Client ID, which workload identity uses.
    principal_id
        Principal ID (object ID), which role assignments use.
    """

    name: str
    resource_group: str
    resource_id: str
    client_id: str
    principal_id: str

    def validated(self) -> IdentityRef:
        """Return a copy with every field checked and IDs in canonical form.

        Raises
        ------
        InvalidInputError
            If a field does not have its expected shape.
        """
        resource_id = _validate_identity_resource_id(self.resource_id)
        return IdentityRef(
            name=validate_identity_name(self.name),
            resource_group=validate_resource_group_name(self.resource_group),
            resource_id=resource_id,
            client_id=validate_guid(self.client_id, "client ID"),
            principal_id=validate_guid(self.principal_id, "principal ID"),
        )


@dataclass
class Profile:
    """The choices made so far in the onboarding steps.

    Attributes
    ----------
    mode
        ``"simulator"`` (the default) or ``"azure"``.
    cloud
        Azure cloud name. Defaults to ``"AzureCloud"``.
    tenant_id, subscription_id
        Tenant and subscription IDs, or ``None`` until chosen.
    resource_group
        Resource group of the Union data plane.
    identity
        The chosen managed identity.
    secret_identifier
        Identifier of the secret to onboard.
    assignment_id
        ARM ID of the role assignment for the secret.
    assignment_created_by_kit
        Whether the kit created that assignment, so that revoking may delete it.
    updated_at
        When the profile was last saved, in ISO 8601 UTC.
    """

    mode: Mode = "simulator"
    cloud: str = "AzureCloud"
    tenant_id: str | None = None
    subscription_id: str | None = None
    resource_group: str | None = None
    identity: IdentityRef | None = None
    secret_identifier: str | None = None
    assignment_id: str | None = None
    assignment_created_by_kit: bool = False
    updated_at: str | None = field(default=None, compare=False)

    def with_updates(self, **changes: Any) -> Profile:
        """Return a copy with `changes` applied and every field checked.

        Raises
        ------
        InvalidInputError
            If a changed value does not have its expected shape.
        TypeError
            If a keyword is not a profile field.
        """
        return dataclasses.replace(self, **changes).validated()

    def validated(self) -> Profile:
        """Return a copy with every field checked and values in canonical form.

        Raises
        ------
        InvalidInputError
            If a field does not have its expected shape.
        """
        if self.mode not in _MODES:
            raise InvalidInputError(
                f"The mode '{displayable(str(self.mode))}' is not one of "
                f"{', '.join(_MODES)}.",
                "Choose simulator (the built-in simulator) or azure.",
                value=str(self.mode),
                expected=" or ".join(_MODES),
            )
        secret = self.secret_identifier
        return dataclasses.replace(
            self,
            cloud=get_cloud(self.cloud).name,
            tenant_id=_optional(self.tenant_id, "tenant ID"),
            subscription_id=_optional(self.subscription_id, "subscription ID"),
            resource_group=(
                None
                if self.resource_group is None
                else validate_resource_group_name(self.resource_group)
            ),
            identity=None if self.identity is None else self.identity.validated(),
            secret_identifier=None
            if secret is None
            else parse_secret_identifier(secret).uri,
            assignment_id=_validate_assignment_id(self.assignment_id),
            assignment_created_by_kit=bool(self.assignment_created_by_kit),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the profile as a JSON-ready dictionary."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        """Build a checked profile from a dictionary, ignoring unknown keys.

        Raises
        ------
        InvalidInputError
            If a known field does not have its expected shape.
        TypeError
            If a field has the wrong JSON type.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        identity = values.get("identity")
        if identity is not None:
            if not isinstance(identity, dict):
                raise TypeError("identity must be an object")
            names = {f.name for f in dataclasses.fields(IdentityRef)}
            values["identity"] = IdentityRef(
                **{key: str(value) for key, value in identity.items() if key in names}
            )
        for key, value in values.items():
            if key in ("identity", "assignment_created_by_kit"):
                continue
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{key} must be a string or null")
        if not isinstance(values.get("assignment_created_by_kit", False), bool):
            raise TypeError("assignment_created_by_kit must be true or false")
        return cls(**values).validated()


def _optional(value: str | None, what: str) -> str | None:
    return None if value is None else validate_guid(value, what)


def _path_problem(text: str) -> str | None:
    """Return why `text` cannot be an Azure resource ID path, or ``None``."""
    invisible = _invisible_problem(text)
    if invisible is not None:
        return invisible
    bad = sorted({c for c in text if c in _RESOURCE_ID_FORBIDDEN})
    if bad:
        return f"contains {_list_characters(bad)}, which resource IDs do not have"
    if not text.startswith("/"):
        return "does not start with '/'"
    segments = text[1:].removesuffix("/").split("/")
    if "" in segments:
        return "has an empty path segment ('//')"
    if "." in segments or ".." in segments:
        return "has a '.' or '..' path segment"
    return None


def _validate_identity_resource_id(resource_id: str) -> str:
    expected = (
        "/subscriptions/<subscription ID>/resourceGroups/<group>/providers/"
        "Microsoft.ManagedIdentity/userAssignedIdentities/<name>"
    )
    text = _require_text(resource_id, "identity resource ID")
    problem = _path_problem(text)
    segments = text[1:].split("/")
    folded = [segment.lower() for segment in segments]
    if problem is None and (
        len(segments) != 8
        or folded[0] != "subscriptions"
        or folded[2] != "resourcegroups"
        or folded[4:7]
        != ["providers", "microsoft.managedidentity", "userassignedidentities"]
    ):
        problem = "is not the resource ID of a user-assigned managed identity"
    if problem is not None:
        raise InvalidInputError(
            f"The identity resource ID '{displayable(text)}' is invalid because "
            f"it {problem}. Expected {expected}.",
            "Use the Resource ID from the identity's Properties page.",
            value=text,
            expected=expected,
        )
    validate_guid(segments[1], "subscription ID")
    validate_resource_group_name(segments[3])
    validate_identity_name(segments[7])
    return text


def _validate_assignment_id(assignment_id: str | None) -> str | None:
    if assignment_id is None:
        return None
    text = _require_text(assignment_id, "role assignment ID")
    expected = "<scope>/providers/Microsoft.Authorization/roleAssignments/<GUID>"
    scope, found, name = text.lower().rpartition(_ASSIGNMENT_SEGMENT)
    problem = _path_problem(text)
    if problem is None and (not found or not scope.startswith("/subscriptions/")):
        problem = f"does not have the shape {expected}"
    if problem is not None:
        raise InvalidInputError(
            f"The role assignment ID '{displayable(text)}' is invalid because it "
            f"{problem}.",
            "Use the ID that the grant step returned.",
            value=text,
            expected=expected,
        )
    filter_value(name, "role assignment name")
    return text


def _reject_sensitive(data: dict[str, Any], path: Path) -> None:
    """Reject string values that look like a secret value or a token."""
    values: list[Any] = list(data.values())
    while values:
        value = values.pop()
        if isinstance(value, dict):
            values.extend(value.values())
        elif isinstance(value, str) and value.startswith(_FORBIDDEN_PREFIXES):
            raise InvalidInputError(
                f"A profile field looks like a token or a secret value, so it was "
                f"not written to {path}.",
                "Store only IDs, names and the secret identifier in the profile.",
                value="<hidden>",
                expected="IDs, names and identifiers",
            )


def load_profile(path: Path | None = None) -> Profile:
    """Read the profile, or return the default profile when the file is missing.

    Parameters
    ----------
    path
        Profile file. Defaults to `profile_path`.

    Returns
    -------
    Profile
        The stored profile, checked, or ``Profile()`` when there is no file.

    Raises
    ------
    NotConfiguredError
        If the file cannot be read or is not a valid profile. The message names
        the file and gives the fix.
    """
    target = profile_path() if path is None else path
    # A broken file names no field, so its fix points to a new profile only.
    replace = (
        f"Press Save profile in {step_place('start')} to write a new one (then "
        f"choose the identity and the secret again), or delete {target}."
    )
    fix = f"{replace} Or correct the field named above."
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Profile()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "it is not UTF-8"
        raise NotConfiguredError(
            f"The profile {target} cannot be read ({reason}).", replace
        ) from None

    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise NotConfiguredError(
            f"The profile {target} is not valid JSON (line {error.lineno}, column "
            f"{error.colno}).",
            replace,
        ) from None
    if not isinstance(data, dict):
        raise NotConfiguredError(
            f"The profile {target} does not contain a JSON object.", replace
        )
    try:
        return Profile.from_dict(cast(dict[str, Any], data))
    except (KitError, TypeError) as error:
        raise NotConfiguredError(
            f"The profile {target} has an invalid field: {error}", fix
        ) from None


def save_profile(profile: Profile, path: Path | None = None) -> Path:
    """Check and write the profile atomically, readable by the owner only.

    The file is written to a temporary file in the same directory with mode 0600
    and then moved over the old one, so a reader never sees half a profile. Keys
    are sorted. `Profile.updated_at` is set to the current time in the file; the
    object passed in is not changed.

    Parameters
    ----------
    profile
        The profile to store.
    path
        Profile file. Defaults to `profile_path`.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    InvalidInputError
        If a field does not have its expected shape or looks like a token.
    """
    target = profile_path() if path is None else path
    checked = profile.validated()
    checked.updated_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    data = checked.to_dict()
    _reject_sensitive(data, target)

    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=".profile-", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    logger.info("Saved the profile to %s", target)
    return target
