"""Step 2: grant the identity read access to one secret, verify, revoke."""

from __future__ import annotations

import dataclasses
from typing import Any

import ipywidgets as widgets

from akv_helpers import assignments, identities, vaults
from akv_helpers import connection as connections
from akv_helpers.errors import KitError
from akv_helpers.grant_plan import ScopeKind, check_role, resolve_role
from akv_helpers.identifiers import (
    SECRET_IDENTIFIER_SHAPE,
    SecretIdentifier,
    parse_secret_identifier,
    require_cloud,
)
from akv_helpers.profile import save_profile
from akv_helpers.roles import BUILTIN_ROLES, SECRETS_USER_ROLE_ID, RoleDefinition

from ._panel import Panel
from ._render import (
    Level,
    code_block,
    definition_list,
    error_html,
    status_line,
    table_html,
)

__all__ = ["ALLOW_WRITE_LABEL", "GrantPanel"]

ALLOW_WRITE_LABEL = "Allow a role that can change or delete secrets"
_SCOPE_OPTIONS: tuple[tuple[str, ScopeKind], ...] = (
    ("This secret only", "secret"),
    ("The whole vault: every secret in it, current and future", "vault"),
)


class GrantPanel(Panel):
    """Panel of step 2: plan, create, verify and revoke one role assignment.

    Parameters
    ----------
    connection
        An existing connection; by default the panel connects from the profile.
    """

    def __init__(self, connection: connections.Connection | None = None) -> None:
        super().__init__("Step 2: grant read access to the secret")
        self._connection = connection
        self._identifier: SecretIdentifier | None = None
        self._plan: assignments.GrantPlan | None = None
        self._w_secret = widgets.Text(
            description="Secret",
            placeholder=SECRET_IDENTIFIER_SHAPE,
            layout=widgets.Layout(width="48em"),
            continuous_update=False,
        )
        self._w_parsed = widgets.HTML("")
        self._w_check = widgets.Button(description="Check and plan", icon="search")
        self._w_grant = widgets.Button(
            description="Grant", icon="key", button_style="primary"
        )
        self._w_revoke = widgets.Button(
            description="Revoke", icon="trash", button_style="danger"
        )
        self._w_role = widgets.Dropdown(
            description="Role",
            options=_role_options(),
            value=SECRETS_USER_ROLE_ID,
            layout=widgets.Layout(width="36em"),
        )
        self._w_allow_write = widgets.Checkbox(
            value=False, description=ALLOW_WRITE_LABEL, indent=False
        )
        self._w_scope = widgets.RadioButtons(
            description="Scope", options=_SCOPE_OPTIONS, value="secret"
        )
        self._w_scope_note = widgets.HTML("")
        self._w_plan = widgets.HTML("")
        self._w_secret.observe(self._on_secret_change, names="value")
        for choice in (self._w_role, self._w_allow_write, self._w_scope):
            choice.observe(self._on_choice_change, names="value")
        self._w_check.on_click(self._on_check_click)
        self._w_grant.on_click(self._on_grant_click)
        self._w_revoke.on_click(self._on_revoke_click)
        if self._profile.secret_identifier:
            self._w_secret.value = self._profile.secret_identifier

    def _controls(self) -> list[widgets.Widget]:
        return [
            widgets.HTML(
                "Paste the secret's <b>Secret Identifier</b> from the Azure portal "
                "(with or without the version)."
            ),
            self._w_secret,
            self._w_parsed,
            self._w_role,
            self._w_allow_write,
            self._w_scope,
            self._w_scope_note,
            widgets.HBox([self._w_check, self._w_grant, self._w_revoke]),
            self._w_plan,
        ]

    def _buttons(self) -> list[widgets.Button]:
        return [self._w_check, self._w_grant, self._w_revoke]

    def _connect(self) -> connections.Connection:
        if self._connection is None:
            self._connection = connections.connect(self._profile)
        return self._connection

    # Parsing ---------------------------------------------------------------

    def _on_secret_change(self, change: dict[str, Any]) -> None:
        self._identifier = None
        self._plan = None
        self._w_plan.value = ""
        self._w_parsed.value = ""
        text = str(change["new"]).strip()
        if not text:
            return
        try:
            identifier = parse_secret_identifier(text)
        except Exception as error:  # ipywidgets would only log it
            self._show(error_html(error))
            return
        self._identifier = identifier
        self._w_parsed.value = definition_list(
            [
                ("vault", identifier.vault_name),
                ("secret name", identifier.name),
                ("version", identifier.version or "latest (none given)"),
                ("vault URL", identifier.vault_url),
            ]
        )
        self._show(status_line("info", "Identifier parsed. Press Check and plan."))

    def _on_choice_change(self, _change: dict[str, Any]) -> None:
        """Drop the plan when the role, the override or the scope changes."""
        self._plan = None
        self._w_plan.value = ""
        if self._w_scope.value == "vault":
            self._w_scope_note.value = status_line(
                "warning",
                "The whole vault: the role would apply to every secret in the "
                "vault, current and future, not only this one.",
                "Check and plan shows exactly what is granted; Grant asks once "
                "more before it grants on the vault.",
            )
        else:
            self._w_scope_note.value = ""

    def _require_identifier(self) -> SecretIdentifier:
        if self._identifier is None:
            # The text box is empty or invalid. Parsing it again raises the error
            # that quotes the value.
            return parse_secret_identifier(
                self._require(self._w_secret.value, "secret identifier", "this box")
            )
        return self._identifier

    # Plan ------------------------------------------------------------------

    def _on_check_click(self, _button: widgets.Button) -> None:
        self._action("Checking the vault", self._buttons(), self._check)

    def _check(self) -> assignments.GrantPlan:
        identifier = self._require_identifier()
        identity = self._require_identity()
        # The role is checked before any request.
        role = self._checked_role()
        self._working(f"Looking up the vault {identifier.vault_name}…")
        connection = self._connect()
        require_cloud(identifier, connection.cloud.name)
        vault = vaults.find_vault(connection, identifier.vault_name)
        vaults.require_rbac(vault, identity.principal_id)
        secret = vaults.get_secret_info(connection, vault, identifier.name)
        notes = vaults.grant_notes(connection, identifier, vault, secret)
        created_at = identities.identity_created_at(
            connection, identity.principal_id, identity
        )
        subscription = self._profile.subscription_id or connection.subscription_id
        plan = assignments.plan_grant(
            self._require(subscription, "subscription ID", "00-start-here"),
            vault,
            identifier.name,
            identity.principal_id,
            role=role.id,
            allow_write_roles=self._w_allow_write.value,
            scope=self._w_scope.value,
            principal_created_at=created_at,
        )
        self._plan = plan
        self._w_plan.value = _plan_html(plan, vault) + _notes_html(notes)
        self._show(status_line("ok", "The vault uses Azure RBAC. Review the plan."))
        return plan

    def _checked_role(self) -> RoleDefinition:
        """Return the chosen role, or raise the error that names the override."""
        role = resolve_role(str(self._w_role.value))
        check_role(
            role,
            allow_write_roles=bool(self._w_allow_write.value),
            override=f"the checkbox {ALLOW_WRITE_LABEL!r}",
        )
        return role

    # Grant, verify, revoke -------------------------------------------------

    def _on_grant_click(self, _button: widgets.Button) -> None:
        self._action("Granting", self._buttons(), self._grant)

    def _grant(self) -> None:
        plan = self._plan
        if plan is None:
            plan = self._check()
            if plan.widens_scope:
                # A vault-wide grant is shown before it is made: the user reads
                # the plan's warning and presses Grant again.
                self._show(
                    status_line(
                        "warning",
                        "Nothing granted yet: the plan covers the whole vault.",
                        "Read the plan, then press Grant again to grant on the "
                        "vault, or choose 'This secret only'.",
                    )
                )
                return
        self._working("Creating the role assignment…")
        connection = self._connect()
        result = assignments.grant(connection, plan)
        # The grant is made at this point: a failed check afterwards must not hide it.
        assignment_id = result.assignment_id
        try:
            verified = assignments.verify(connection, plan)
        except KitError as error:
            verification = status_line(
                "warning",
                "Not verified: listing the identity's assignments failed.",
                f"{error.message} Press Grant again later to check; it will not "
                "create a second assignment.",
            )
        else:
            verification = _verify_html(verified)
            assignment_id = assignment_id or verified.assignment_id
        self._save_assignment(assignment_id, result.created_by_kit)
        if result.status == "already granted":
            headline = "Already granted: the identity has this role on this secret."
        else:
            headline = "Granted: the role assignment was created."
        self._show(
            status_line("ok", headline)
            + definition_list([("assignment ID", assignment_id)])
            + verification
        )

    def _on_revoke_click(self, _button: widgets.Button) -> None:
        self._action("Revoking", self._buttons(), self._revoke)

    def _revoke(self) -> None:
        plan = self._plan or self._check()
        self._working("Removing the role assignment…")
        result = assignments.revoke(self._connect(), plan)
        if result.deleted:
            self._save_assignment(None, False)
            headline = "Revoked: the kit's role assignment was removed."
            level: Level = "ok"
        else:
            headline = "Nothing removed."
            level = "info"
        self._show(
            status_line(level, headline, result.message)
            + definition_list([("assignment ID", result.assignment_id)])
        )

    def _save_assignment(self, assignment_id: str | None, created_by_kit: bool) -> None:
        identifier = self._require_identifier()
        profile = dataclasses.replace(
            self._profile,
            secret_identifier=identifier.original or str(identifier),
            assignment_id=assignment_id,
            assignment_created_by_kit=created_by_kit,
        )
        save_profile(profile)
        self._profile = profile


def _role_options() -> list[tuple[str, str]]:
    """Return the role dropdown's options, Key Vault Secrets User first."""
    first = BUILTIN_ROLES[SECRETS_USER_ROLE_ID]
    others = sorted(
        (role for role in BUILTIN_ROLES.values() if role.id != first.id),
        key=lambda role: role.name,
    )
    return [(f"{first.name} (reads secret values only)", first.id)] + [
        (role.name, role.id) for role in others
    ]


def _plan_html(plan: assignments.GrantPlan, vault: vaults.VaultInfo) -> str:
    where = "the whole vault" if plan.widens_scope else "this secret only"
    fields = definition_list(
        [
            ("vault", f"{vault.name} (resource group {vault.resource_group})"),
            ("permission model", vault.permission_model),
            ("role", f"{plan.role_name} ({plan.role_guid})"),
            ("principal ID", f"{plan.principal_id} ({plan.principal_type})"),
            ("scope", f"{plan.scope} ({where})"),
            ("assignment name", plan.assignment_name),
        ]
    )
    warnings = ""
    widening = plan.widening_warning()
    if widening is not None:
        warnings += status_line("warning", widening)
    if plan.write_permissions:
        warnings += status_line(
            "warning",
            f"{plan.role_name} can also change or delete secrets "
            f"({', '.join(plan.write_permissions)}).",
            f"It is planned because {ALLOW_WRITE_LABEL!r} is ticked.",
        )
    return (
        "<b>Plan</b>"
        + fields
        + warnings
        + "The same assignment with the Azure CLI:"
        + code_block(plan.az_command)
    )


def _notes_html(notes: list[str]) -> str:
    """Render the notes of `vaults.grant_notes` as warning or note lines."""
    lines = []
    for note in notes:
        level: Level = "warning" if note.startswith("Warning:") else "info"
        text = note.split(":", 1)[1].strip() if ":" in note else note
        lines.append(status_line(level, text))
    return "".join(lines)


def _verify_html(verified: assignments.VerifyResult) -> str:
    if verified.granted:
        headline = status_line(
            "ok", "Verified: the identity's role assignments cover this secret."
        )
    else:
        headline = status_line(
            "warning",
            "Not verified: no listed assignment covers this secret yet.",
            "Azure can take a few minutes to list a new assignment; press Grant "
            "again to check.",
        )
    rows = [
        (
            item.role_name or item.role_guid,
            item.scope,
            "yes" if item.covers_secret else "no",
            item.assignment_id,
        )
        for item in verified.assignments
    ]
    headers = ("role", "scope", "covers this secret", "assignment ID")
    return (
        headline
        + "The identity's role assignments on this vault:"
        + table_html(headers, rows)
    )
