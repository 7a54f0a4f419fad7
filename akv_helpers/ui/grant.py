"""Step 2: grant the identity read access to one secret, verify, revoke.

After a grant the panel waits, for at most `ACCESS_WAIT_SECONDS`, until the
identity can read the secret (simulator mode only, because in Azure mode the
kit cannot sign in as the identity). Every change is shown with its Azure CLI
command, and the plan also as Terraform and Bicep.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any, ClassVar

import ipywidgets as widgets

from akv_helpers import assignments, grant_templates, identities, propagation, vaults
from akv_helpers import connection as connections
from akv_helpers._verify_revoke import (
    kit_assignments_elsewhere,
    plan_for_saved_assignment,
)
from akv_helpers.errors import KitError, NotConfiguredError
from akv_helpers.grant_plan import ScopeKind, check_role, resolve_role, shell_join
from akv_helpers.identifiers import (
    SECRET_IDENTIFIER_SHAPE,
    SecretIdentifier,
    parse_secret_identifier,
    require_cloud,
)
from akv_helpers.profile import save_profile
from akv_helpers.roles import BUILTIN_ROLES, SECRETS_USER_ROLE_ID, RoleDefinition
from akv_helpers.steps import step_place

from ._grant_html import (
    ALLOW_WRITE_LABEL,
    COPIED_FIELDS,
    _access_html,
    _grant_result_html,
    _notes_html,
    _plan_html,
    _template_html,
    _verify_html,
)
from ._panel import Panel, text_argument
from ._progress import ProgressLine
from ._render import (
    Level,
    command_block,
    definition_list,
    error_html,
    status_line,
)

__all__ = ["ACCESS_WAIT_SECONDS", "ALLOW_WRITE_LABEL", "SHOW_AS_OPTIONS", "GrantPanel"]

# How long the panel waits, by default, for a grant to take effect before it
# reports "not readable yet". Azure can take up to 10 minutes, so the status
# row asks for Grant to be pressed again, which checks again and creates nothing.
ACCESS_WAIT_SECONDS = 30.0
SHOW_AS_OPTIONS = ("Azure CLI", "Terraform", "Bicep")

logger = logging.getLogger(__name__)
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
    access_timeout
        Maximum time, in seconds, to wait after a grant until the identity can
        read the secret; `ACCESS_WAIT_SECONDS` by default.
    """

    _BUTTON_CALLS: ClassVar[dict[str, str]] = {
        "Check and plan": "grant_panel.check()",
        "Grant": "grant_panel.grant()",
        "Revoke": "grant_panel.revoke()",
    }

    def __init__(
        self,
        connection: connections.Connection | None = None,
        access_timeout: float = ACCESS_WAIT_SECONDS,
    ) -> None:
        super().__init__("Step 2: grant read access to the secret")
        self._connection = connection
        # A connection made from the profile is dropped when the profile's mode or
        # subscription changes. A connection given to the panel is kept.
        self._own_connection = connection is None
        self._access_timeout = access_timeout
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
            value=False,
            description=ALLOW_WRITE_LABEL,
            indent=False,
            layout=widgets.Layout(width="auto"),
        )
        self._w_scope = widgets.RadioButtons(
            description="Scope",
            options=_SCOPE_OPTIONS,
            value="secret",
            layout=widgets.Layout(width="auto"),
        )
        self._w_scope_note = widgets.HTML("")
        self._w_plan = widgets.HTML("")
        self._w_show_as = widgets.ToggleButtons(
            description="Show as",
            options=SHOW_AS_OPTIONS,
            value=SHOW_AS_OPTIONS[0],
            layout=widgets.Layout(display="none"),
        )
        # The plan's fields, warnings and notes; the chosen rendering follows them.
        self._plan_fields = ""
        self._progress = ProgressLine()
        self._w_show_as.observe(self._on_show_as_change, names="value")
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
            self._progress.widget,
            self._w_status,
            self._w_show_as,
            self._w_plan,
        ]

    def _buttons(self) -> list[widgets.Button]:
        return [self._w_check, self._w_grant, self._w_revoke]

    def _connect(self) -> connections.Connection:
        if self._connection is None:
            self._connection = connections.connect(self._profile)
        return self._connection

    # Text mode and profile ---------------------------------------------------

    def check(self, secret_identifier: str | None = None) -> None:
        """Check the vault and plan the grant, as the "Check and plan" button does.

        Parameters
        ----------
        secret_identifier
            Secret identifier to put in the box first, after the saved profile
            is reloaded; ``None`` keeps the box. Surrounding spaces are ignored.

        Raises
        ------
        InvalidInputError
            If `secret_identifier` is neither ``None`` nor text, before anything
            is changed or sent. An invalid identifier is shown in the status
            line instead, as for the button.
        """
        self._action(
            "Checking the vault",
            self._buttons(),
            self._check,
            set_inputs=self._secret_setter(secret_identifier),
        )

    def grant(self, secret_identifier: str | None = None) -> None:
        """Grant the planned role, as the "Grant" button does.

        Parameters
        ----------
        secret_identifier
            Secret identifier to put in the box first, as for `check`.

        Raises
        ------
        InvalidInputError
            If `secret_identifier` is neither ``None`` nor text, before anything
            is changed or sent.
        """
        self._action(
            "Granting",
            self._buttons(),
            self._grant,
            set_inputs=self._secret_setter(secret_identifier),
        )

    def revoke(self) -> None:
        """Remove the kit's role assignment, as the "Revoke" button does."""
        self._action("Revoking", self._buttons(), self._revoke)

    def _secret_setter(self, secret_identifier: object) -> Callable[[], None]:
        """Check the argument now; return what puts it into the box later."""
        text = text_argument(
            secret_identifier,
            "secret_identifier",
            f"a Key Vault secret identifier such as {SECRET_IDENTIFIER_SHAPE}",
        )

        def set_secret() -> None:
            if text is not None:
                self._w_secret.value = text

        return set_secret

    def _text_help(self) -> list[str]:
        return [
            f'grant_panel.check("{SECRET_IDENTIFIER_SHAPE}")',
            "grant_panel.grant()",
            "grant_panel.revoke()",
        ]

    def _profile_loaded(self) -> None:
        old, new = self._previous_profile, self._profile
        if self._own_connection and (
            old.mode != new.mode or old.subscription_id != new.subscription_id
        ):
            self._connection = None
        self._update_field(self._w_secret, old.secret_identifier, new.secret_identifier)
        principal = new.identity.principal_id if new.identity else None
        if self._plan is not None and self._plan.principal_id != principal:
            # The plan was made for another identity.
            self._drop_plan()

    def _drop_plan(self) -> None:
        self._plan = None
        self._plan_fields = ""
        self._w_plan.value = ""
        self._w_show_as.layout.display = "none"

    # Parsing ---------------------------------------------------------------

    def _on_secret_change(self, change: dict[str, Any]) -> None:
        self._identifier = None
        self._drop_plan()
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
        self._drop_plan()
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
            text = str(self._w_secret.value).strip()
            if not text:
                raise NotConfiguredError(
                    "No secret identifier is given.",
                    "Paste the secret's Secret Identifier from the Azure portal "
                    f"({SECRET_IDENTIFIER_SHAPE}) into the Secret box, then press "
                    "Check and plan.",
                )
            return parse_secret_identifier(text)
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
            self._require(subscription, "subscription ID", step_place("start")),
            vault,
            identifier.name,
            identity.principal_id,
            role=role.id,
            allow_write_roles=self._w_allow_write.value,
            scope=self._w_scope.value,
            principal_created_at=created_at,
        )
        self._plan = plan
        self._plan_fields = _plan_html(plan, vault) + _notes_html(notes)
        self._w_show_as.layout.display = None
        self._show_template()
        self._show(status_line("ok", "The vault uses Azure RBAC. Review the plan."))
        return plan

    def _on_show_as_change(self, _change: dict[str, Any]) -> None:
        self._show_template()

    def _show_template(self) -> None:
        """Show the plan's fields and its rendering in the "Show as" language."""
        plan = self._plan
        if plan is None:
            self._w_plan.value = ""
            return
        # "Show as" sits above the plan and switches the rendering at its end.
        self._w_plan.value = self._plan_fields + _template_html(
            plan, str(self._w_show_as.value)
        )

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
        verified: assignments.VerifyResult | None = None
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
        self._show(status_line("ok", headline) + verification)
        access = self._wait_for_access(connection, plan)
        self._show(
            status_line("ok", headline)
            + _grant_result_html(plan, result, assignment_id, verified, access)
            + "Check the assignment with the Azure CLI:"
            + command_block(grant_templates.az_verify_command(plan), "verify command")
            + verification
            + _access_html(access)
        )

    def _wait_for_access(
        self, connection: connections.Connection, plan: assignments.GrantPlan
    ) -> propagation.AccessWait | KitError:
        """Wait until the identity can read the secret, showing the progress line.

        Returns the outcome, or the error that stopped the wait, so that the
        grant already made stays on screen.
        """
        self._progress.start("Waiting until the identity can read the secret")
        try:
            return propagation.wait_for_access(
                connection,
                plan,
                timeout=self._access_timeout,
                progress=self._progress.update,
            )
        except KitError as error:
            logger.warning("Checking access failed: %s", error.message)
            return error
        finally:
            self._progress.finish()

    def _on_revoke_click(self, _button: widgets.Button) -> None:
        self._action("Revoking", self._buttons(), self._revoke)

    def _revoke(self) -> None:
        chosen = self._plan or self._check()
        plan = chosen
        if chosen.scope_kind == "secret":
            # A new panel, as after a kernel restart, shows "This secret only",
            # so the profile's record of a grant on the whole vault decides.
            plan = plan_for_saved_assignment(chosen, self._profile)
        self._working("Removing the role assignment…")
        result = assignments.revoke(self._connect(), plan)
        saved = self._profile.assignment_id
        forget = saved is None or saved.lower() == result.assignment_id.lower()
        if result.deleted and forget:
            self._save_assignment(None, False)
        identifier = self._require_identifier()
        self._show(_revoke_html(plan, result, plan is not chosen, identifier.uri))

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


def _revoke_html(
    plan: assignments.GrantPlan,
    result: assignments.RevokeResult,
    moved: bool,
    secret_uri: str,
) -> str:
    """Render a revoke's outcome, and where the kit's assignment remains.

    `moved` is true when the saved profile moved the revoke to the vault's scope.
    """
    elsewhere = kit_assignments_elsewhere(result.kept, plan)
    level: Level = "info"
    headline = "Nothing removed."
    fields: list[tuple[str, object]] = []
    command = ""
    if result.deleted:
        level = "ok"
        where = " on the whole vault" if plan.widens_scope else ""
        headline = f"Revoked: the kit's role assignment{where} was removed."
        fields = [("assignment ID", result.assignment_id), ("scope", plan.scope)]
        command = "The same removal with the Azure CLI:" + command_block(
            grant_templates.az_revoke_command(result.assignment_id),
            "revoke command",
        )
    elif elsewhere:
        level = "warning"
        other = _scope_label(elsewhere[0][0]).lower()
        headline = f"Nothing removed: the kit's assignment is on {other}."
    detail = result.message
    if moved:
        detail = (
            "The saved profile records this assignment from the last grant, so "
            "Revoke removed it although the Scope shows 'This secret only'. " + detail
        )
    for kind, item in elsewhere:
        fields += [("assignment ID", item.assignment_id), ("scope", item.scope)]
        detail += " " + _revoke_hint(plan, kind, secret_uri)
    listed = definition_list(fields, copy=COPIED_FIELDS) if fields else ""
    return status_line(level, headline, detail) + listed + command


def _scope_label(kind: ScopeKind) -> str:
    """Return the Scope option's label without its explanation."""
    labels = {value: label.split(":", 1)[0] for label, value in _SCOPE_OPTIONS}
    return labels[kind]


def _revoke_hint(plan: assignments.GrantPlan, kind: ScopeKind, secret_uri: str) -> str:
    """Say how to revoke the kit's assignment at the scope `kind`."""
    words = ["akv-onboard", "revoke", secret_uri, "--scope", kind]
    if plan.role_guid != SECRETS_USER_ROLE_ID:
        words += ["--role", plan.role_guid]
    return (
        f"To remove the kit's assignment at the {kind}'s scope, choose "
        f'"{_scope_label(kind)}" under Scope and press Revoke, or run '
        f"`{shell_join(*words)}`."
    )


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
