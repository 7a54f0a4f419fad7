"""Results of granting, verifying and revoking a role assignment, and of onboarding."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from akv_helpers.grant_plan import GrantPlan
from akv_helpers.vaults import SecretInfo, VaultInfo

__all__ = [
    "AssignmentInfo",
    "GrantResult",
    "OnboardingResult",
    "RevokeResult",
    "VerifyResult",
]


@dataclass(frozen=True)
class GrantResult:
    """Outcome of `grant`.

    Attributes
    ----------
    status
        ``"granted"`` (created now) or ``"already granted"``.
    assignment_id
        ARM ID of the assignment, or ``None`` when Azure did not name the
        existing one; `verify` finds it.
    created_by_kit
        Whether the assignment has the kit's deterministic name.
    """

    status: Literal["granted", "already granted"]
    assignment_id: str | None
    created_by_kit: bool


@dataclass(frozen=True)
class AssignmentInfo:
    """A role assignment that `verify` or `revoke` found.

    Attributes
    ----------
    assignment_id, name, scope
        ARM ID, name and scope of the assignment.
    role_guid
        GUID of the role definition.
    role_name
        Built-in role name, or ``None`` for a role the kit does not know.
    principal_id, principal_type
        The assignee.
    grants_read
        Whether the role's data actions cover getting a secret's value.
    covers_secret
        Whether the assignment lets the principal read the planned secret: it
        grants the read at the secret's scope or above.
    """

    assignment_id: str
    name: str
    scope: str
    role_guid: str
    role_name: str | None
    principal_id: str
    principal_type: str | None
    grants_read: bool
    covers_secret: bool = False


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of `verify`.

    Attributes
    ----------
    granted
        Whether an assignment at the secret's scope or above lets the principal
        read the secret.
    assignment_id
        The kit's assignment if it is among them, else the narrowest one.
    assignments
        Every assignment of the principal that the listing returned, those that
        cover the secret first.
    """

    granted: bool
    assignment_id: str | None
    assignments: list[AssignmentInfo] = field(default_factory=list)

    @property
    def covering(self) -> list[AssignmentInfo]:
        """Assignments that let the principal read the secret."""
        return [item for item in self.assignments if item.covers_secret]


@dataclass(frozen=True)
class RevokeResult:
    """Outcome of `revoke`.

    Attributes
    ----------
    deleted
        Whether the kit's assignment was found and deleted.
    assignment_id
        ARM ID of the kit's assignment.
    kept
        Other assignments that still let the principal read the secret; the kit
        leaves them in place.
    message
        One sentence for the user.
    """

    deleted: bool
    assignment_id: str
    kept: list[AssignmentInfo]
    message: str


@dataclass(frozen=True)
class OnboardingResult:
    """Outcome of `onboard_secret`.

    Attributes
    ----------
    vault, secret, plan, grant, verification
        The result of each step.
    notes
        Warnings that do not stop the onboarding, such as a pinned version that
        is not the current one or a vault without public network access.
    """

    vault: VaultInfo
    secret: SecretInfo
    plan: GrantPlan
    grant: GrantResult
    verification: VerifyResult
    notes: list[str] = field(default_factory=list)
