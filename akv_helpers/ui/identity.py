"""Step 1: find Union's data-plane identity and choose it."""

from __future__ import annotations

import dataclasses
import html
from typing import Any, ClassVar

import ipywidgets as widgets

from akv_helpers import connection as connections
from akv_helpers import identities
from akv_helpers._principal_ids import _is_identity_resource_id
from akv_helpers.errors import (
    IdentityNotFoundError,
    InvalidIdError,
    InvalidInputError,
    displayable,
)
from akv_helpers.names import IDENTITY_NAME_RULE, validate_identity_name
from akv_helpers.profile import save_profile
from akv_helpers.steps import step_place

from ._panel import Panel, bool_argument, text_argument
from ._render import definition_list, status_line, table_html

__all__ = ["PRINCIPAL_ID_EXPLANATION", "IdentityPanel"]

PRINCIPAL_ID_EXPLANATION = (
    "<p>Each managed identity has two IDs. The <b>principal ID</b> (also called "
    "object ID) is the ID of its service principal in Microsoft Entra ID: Azure "
    "role-based access control checks it, so the role assignment uses it. The "
    "<b>client ID</b> (application ID) is what workload identity uses to sign the "
    "Flyte pod in as this identity; a role assignment made out to the client ID "
    "fails or grants nothing.</p>"
)

_NO_CHOICE = "(choose an identity)"
_PRINCIPAL_ID_LABEL = "principal ID (used in the role assignment)"
_CLIENT_ID_LABEL = "client ID (used by workload identity)"
# Columns of the candidates table whose IDs get a copy button.
_CLIENT_ID_COLUMN = 2
_PRINCIPAL_ID_COLUMN = 3


class IdentityPanel(Panel):
    """Panel of step 1: list matching user-assigned identities and pick one.

    Parameters
    ----------
    connection
        An existing connection; by default the panel connects from the profile.
    """

    _BUTTON_CALLS: ClassVar[dict[str, str]] = {
        "Use this identity": 'identity_panel.use("<identity name>")',
        "Find identities": "identity_panel.find()",
    }

    def __init__(self, connection: connections.Connection | None = None) -> None:
        super().__init__("Step 1: find the data-plane identity")
        self._connection = connection
        self._own_connection = connection is None
        self._candidates: list[identities.IdentityCandidate] = []
        group = self._profile.resource_group
        self._w_whole_subscription = widgets.Checkbox(
            value=group is None,
            description="Search the whole subscription",
            indent=False,
        )
        self._w_search = widgets.Button(description="Find identities", icon="search")
        self._w_table = widgets.HTML("")
        self._w_choice = widgets.Dropdown(
            options=((_NO_CHOICE, None),), value=None, description="Identity"
        )
        self._w_confirm = widgets.Button(
            description="Use this identity", icon="check", disabled=True
        )
        self._w_explanation = widgets.HTML(PRINCIPAL_ID_EXPLANATION)
        self._w_where = widgets.HTML(_where_html(group))
        self._w_search.on_click(self._on_search_click)
        self._w_choice.observe(self._on_choice_change, names="value")
        self._w_confirm.on_click(self._on_confirm_click)
        self._show_current_choice()

    def _controls(self) -> list[widgets.Widget]:
        return [
            self._w_where,
            widgets.HBox([self._w_whole_subscription, self._w_search]),
            self._w_table,
            self._w_explanation,
            widgets.HBox([self._w_choice, self._w_confirm]),
        ]

    def _buttons(self) -> list[widgets.Button]:
        return [self._w_search, self._w_confirm]

    # Text mode and profile ---------------------------------------------------

    def find(self, whole_subscription: bool = False) -> None:
        """List the matching identities, as the "Find identities" button does.

        Parameters
        ----------
        whole_subscription
            Search the whole subscription instead of the profile's data-plane
            resource group. Default False.

        Raises
        ------
        InvalidInputError
            If `whole_subscription` is not ``True`` or ``False`` (a string such
            as ``"yes"`` is rejected), before anything is changed or sent.
        """
        whole = bool_argument(whole_subscription, "whole_subscription")

        def set_box() -> None:
            self._w_whole_subscription.value = whole

        self._action(
            "Finding identities", self._buttons(), self._search, set_inputs=set_box
        )

    def use(self, name: str) -> None:
        """Save the identity `name` into the profile, as "Use this identity" does.

        The identities are listed first when no search has run yet.

        Parameters
        ----------
        name
            Identity name as the table lists it (case-insensitive, surrounding
            spaces ignored), or its resource ID when two resource groups hold
            the same name. A name that breaks Azure's naming rules, or a
            resource ID that is not an identity's, is shown as an error in the
            status line before any request.

        Raises
        ------
        InvalidInputError
            If `name` is not text, before anything is changed or sent.
        """
        expected = f"an identity name ({IDENTITY_NAME_RULE}) or its resource ID"
        if name is None:
            raise InvalidInputError(
                f"The argument name=None is invalid: name must be {expected}.",
                "Pass the name as the table lists it, such as "
                'identity_panel.use("userflyterole").',
                value="None",
                expected=expected,
            )
        text = text_argument(name, "name", expected) or ""
        self._action("Saving the identity", self._buttons(), lambda: self._use(text))

    def _use(self, name: str) -> None:
        _validate_choice(name)
        if not self._candidates:
            self._search()
        self._w_choice.value = self._candidate_index(name)
        self._confirm()

    def _candidate_index(self, name: str) -> int:
        requested = name.strip().lower()
        by_id = [
            index
            for index, candidate in enumerate(self._candidates)
            if candidate.resource_id.lower() == requested
        ]
        by_name = [
            index
            for index, candidate in enumerate(self._candidates)
            if candidate.name.lower() == requested
        ]
        matches = by_id or by_name
        if len(matches) == 1:
            return matches[0]
        listed = ", ".join(
            f"{candidate.name} ({candidate.resource_group})"
            for candidate in self._candidates
        )
        if not matches:
            raise IdentityNotFoundError(
                f"No listed identity is named {name!r}. Listed: {listed or 'none'}.",
                "Pass one of the listed names, or call "
                "identity_panel.find(whole_subscription=True) to search further.",
            )
        raise IdentityNotFoundError(
            f"Several listed identities are named {name!r}: {listed}.",
            "Pass the resource ID of the one the Union data plane uses.",
        )

    def _text_help(self) -> list[str]:
        return [
            "identity_panel.find()  # or find(whole_subscription=True)",
            'identity_panel.use("<identity name>")',
        ]

    def _profile_loaded(self) -> None:
        old, new = self._previous_profile, self._profile
        if self._own_connection and (
            old.mode != new.mode or old.subscription_id != new.subscription_id
        ):
            self._connection = None
        if old.resource_group != new.resource_group:
            self._w_where.value = _where_html(new.resource_group)
            if self._w_whole_subscription.value == (old.resource_group is None):
                self._w_whole_subscription.value = new.resource_group is None

    def _button_usable(self, button: widgets.Button) -> bool:
        if button is self._w_confirm:
            return self._w_choice.value is not None
        return True

    def _show_current_choice(self) -> None:
        chosen = self._profile.identity
        if chosen is not None and not self._w_status.value:
            self._show(
                status_line(
                    "info",
                    f"The saved profile uses the identity {chosen.name}; it stays "
                    "in use until you choose another.",
                    "To change it, press Find identities and choose one.",
                )
            )

    def _connect(self) -> connections.Connection:
        if self._connection is None:
            self._connection = connections.connect(self._profile)
        return self._connection

    def _on_search_click(self, _button: widgets.Button) -> None:
        self._action("Finding identities", self._buttons(), self._search)

    def _search(self) -> None:
        group = None
        if not self._w_whole_subscription.value:
            group = self._require(
                self._profile.resource_group,
                "data-plane resource group",
                step_place("start"),
            )
        self._working("Listing user-assigned identities…")
        self._candidates = identities.find_identities(self._connect(), group)
        self._w_table.value = _candidates_table(self._candidates)
        self._fill_choices()
        where = f"resource group {group}" if group else "the whole subscription"
        count = len(self._candidates)
        if count == 1:
            self._show(
                status_line(
                    "info",
                    f"One matching identity in {where}. Check it, then press "
                    "Use this identity.",
                )
            )
        else:
            self._show(
                status_line(
                    "info",
                    f"{count} matching identities in {where}. Choose the one the "
                    "Union data plane uses, then press Use this identity.",
                )
            )

    def _fill_choices(self) -> None:
        options: list[tuple[str, int | None]] = [(_NO_CHOICE, None)]
        for index, candidate in enumerate(self._candidates):
            label = f"{candidate.name} ({candidate.resource_group})"
            options.append((label, index))
        self._w_choice.options = tuple(options)
        self._w_choice.value = 0 if len(self._candidates) == 1 else None
        self._w_confirm.disabled = self._w_choice.value is None

    def _on_choice_change(self, change: dict[str, Any]) -> None:
        self._w_confirm.disabled = change["new"] is None

    def _on_confirm_click(self, _button: widgets.Button) -> None:
        self._action("Saving the identity", self._buttons(), self._confirm)

    def _confirm(self) -> None:
        index = self._w_choice.value
        if index is None:
            self._show(status_line("warning", "Choose an identity first."))
            return
        candidate = self._candidates[index]
        reference = identities.to_identity_ref(candidate)
        profile = dataclasses.replace(self._profile, identity=reference)
        path = save_profile(profile)
        self._profile = profile
        self._show(
            status_line("ok", f"Identity {candidate.name} saved to {path}.")
            + definition_list(
                [
                    (_PRINCIPAL_ID_LABEL, reference.principal_id),
                    (_CLIENT_ID_LABEL, reference.client_id),
                ],
                copy=(_PRINCIPAL_ID_LABEL, _CLIENT_ID_LABEL),
            )
        )


def _validate_choice(text: str) -> None:
    """Check the name or resource ID given to `IdentityPanel.use` before a request.

    Raises
    ------
    InvalidInputError
        If `text` is not a valid identity name, or starts with ``/`` and is
        not a valid resource ID of a user-assigned identity.
    """
    if not text.startswith("/"):
        validate_identity_name(text)
        return
    resource_id = text.rstrip("/")
    if not _is_identity_resource_id(resource_id):
        expected = (
            "/subscriptions/<ID>/resourceGroups/<group>/providers/"
            "Microsoft.ManagedIdentity/userAssignedIdentities/<name>"
        )
        raise InvalidIdError(
            f"The resource ID '{displayable(text)}' is not the resource ID of a "
            f"user-assigned identity. Expected {expected}.",
            "Pass the identity's name as the table lists it, or copy its resource "
            "ID from the identity's Properties page in the portal.",
            value=text,
            expected=expected,
        )
    identities.validate_identity_resource_id(resource_id)


def _candidates_table(candidates: list[identities.IdentityCandidate]) -> str:
    rows = [
        (
            candidate.name,
            candidate.resource_group,
            candidate.client_id,
            candidate.principal_id,
            ", ".join(
                f"{key}={value}" for key, value in sorted(candidate.tags.items())
            ),
        )
        for candidate in candidates
    ]
    headers = ("name", "resource group", "client ID", "principal ID", "tags")
    return table_html(
        headers, rows, copy_columns=(_CLIENT_ID_COLUMN, _PRINCIPAL_ID_COLUMN)
    )


def _where_html(group: str | None) -> str:
    where = group or "(no resource group in the profile)"
    return f"Data-plane resource group: <code>{html.escape(where)}</code>"
