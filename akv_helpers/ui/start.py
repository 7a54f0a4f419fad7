"""Step 0: check the environment, choose the mode, sign in, save the profile."""

from __future__ import annotations

import dataclasses
import html
import logging
import platform
import shlex
import sys
from dataclasses import dataclass
from importlib import metadata
from typing import Any, ClassVar

import ipywidgets as widgets

import akv_helpers
from akv_helpers import connection as connections
from akv_helpers import identities
from akv_helpers.clouds import CLOUDS
from akv_helpers.errors import (
    AuthenticationError,
    IdentityNotFoundError,
    InvalidInputError,
    KitError,
    NotConfiguredError,
)
from akv_helpers.identifiers import validate_guid, validate_resource_group_name
from akv_helpers.profile import Profile, load_profile, save_profile
from akv_helpers.steps import step_place

from ._panel import Panel, choice_argument, text_argument
from ._render import (
    definition_list,
    error_html,
    status_cell,
    status_line,
    table_html,
)
from ._render_check import WIDGETS_FALLBACK_TEXT, render_check, text_mode

__all__ = [
    "WIDGETS_FALLBACK_TEXT",
    "PackageStatus",
    "StartPanel",
    "check_environment",
    "environment_report",
    "widgets_check",
]

logger = logging.getLogger(__name__)

# Packages the notebooks need, in the order the environment table lists them.
CHECKED_PACKAGES = (
    "azure-core",
    "azure-identity",
    "azure-keyvault-secrets",
    "azure-mgmt-authorization",
    "azure-mgmt-keyvault",
    "azure-mgmt-msi",
    "flytekit",
    "ipywidgets",
    "jupyterlab_widgets",
)

SIGN_IN_METHODS = (
    ("Azure CLI (az login done where Jupyter runs)", "cli"),
    ("Device code (shown below)", "device_code"),
    ("Browser", "browser"),
    ("Managed identity", "managed_identity"),
)


@dataclass(frozen=True)
class PackageStatus:
    """Installed version of one package, or ``None`` when it is missing."""

    name: str
    version: str | None


def check_environment() -> list[PackageStatus]:
    """Return the Python version, the kit's version and each needed package's.

    Returns
    -------
    list[PackageStatus]
        One entry per package; `version` is ``None`` for a missing package.
    """
    statuses = [
        PackageStatus("Python", platform.python_version()),
        PackageStatus("akv_helpers", akv_helpers.__version__),
    ]
    for name in CHECKED_PACKAGES:
        try:
            version: str | None = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = None
        statuses.append(PackageStatus(name, version))
    return statuses


def environment_report() -> str:
    """Return the environment check as plain text, one package a line.

    Returns
    -------
    str
        Lines of ``name version``; a missing package reads "not installed".
    """
    statuses = check_environment()
    width = max(len(status.name) for status in statuses)
    lines = [
        f"{status.name:<{width}}  {status.version or 'not installed'}"
        for status in statuses
    ]
    lines.append(f"kernel Python: {sys.executable}")
    return "\n".join(lines)


def _environment_html(statuses: list[PackageStatus]) -> str:
    rows = [
        (
            status.name,
            status.version or "not installed",
            status_cell("ok", "OK")
            if status.version
            else status_cell("error", "missing"),
        )
        for status in statuses
    ]
    missing = [status.name for status in statuses if status.version is None]
    if missing:
        summary = status_line(
            "warning",
            f"Missing packages: {', '.join(missing)}.",
            f"Install them into this kernel's environment ({sys.executable}) with "
            "`pip install -r requirements.txt`, then restart the kernel.",
        )
    else:
        summary = status_line("ok", "Every package the notebooks need is installed.")
    return table_html(("package", "version", "status"), rows) + summary


# `widgets_check` is the render check's former name, kept for code that calls it.
widgets_check = render_check


# Labels wide enough for "Resource group", fields wide enough for a GUID.
_LABELS = {"description_width": "9em"}


def _field_layout() -> widgets.Layout:
    return widgets.Layout(width="36em")


def _button_layout() -> widgets.Layout:
    # ipywidgets buttons are a fixed 148 px wide and cut longer labels.
    return widgets.Layout(width="auto", min_width="148px")


class StartPanel(Panel):
    """Panel of step 0: mode, sign-in, tenant, subscription and resource group."""

    _BUTTON_CALLS: ClassVar[dict[str, str]] = {
        "Reset the simulator": "start_panel.reset()",
        "Apply scenario": 'start_panel.apply_scenario("<name>")',
        "Save profile": "start_panel.save()",
        "Connect to simulator": "start_panel.connect()",
        "Sign in": 'start_panel.connect(mode="azure")',
    }
    # The start panel writes a new profile, so it must act when the saved one
    # cannot be read.
    _ACTS_ON_PROFILE = False

    def __init__(self) -> None:
        super().__init__("Step 0: start here")
        self._subscription_names: dict[str, str | None] = {}
        profile = self._profile
        self._w_environment = widgets.HTML(_environment_html(check_environment()))

        self._w_mode = widgets.ToggleButtons(
            options=(("Simulator", "simulator"), ("Azure", "azure")),
            value=profile.mode,
            description="Mode",
            style=_LABELS,
        )
        self._w_cloud = widgets.Dropdown(
            options=sorted(CLOUDS),
            value=profile.cloud,
            description="Cloud",
            style=_LABELS,
            layout=_field_layout(),
        )
        self._w_method = widgets.Dropdown(
            options=SIGN_IN_METHODS,
            value="cli",
            description="Sign in with",
            style=_LABELS,
            layout=_field_layout(),
        )
        self._w_sign_in = widgets.Button(
            description="Sign in", icon="sign-in", layout=_button_layout()
        )
        self._w_device_code = widgets.HTML("")

        self._w_tenant = widgets.Text(
            value=profile.tenant_id or "",
            description="Tenant ID",
            style=_LABELS,
            layout=_field_layout(),
        )
        self._w_subscription = widgets.Combobox(
            value=profile.subscription_id or "",
            description="Subscription",
            ensure_option=False,
            style=_LABELS,
            layout=_field_layout(),
        )
        self._w_resource_group = widgets.Combobox(
            value=profile.resource_group or "",
            description="Resource group",
            placeholder="data-plane resource group",
            ensure_option=False,
            style=_LABELS,
            layout=_field_layout(),
        )

        self._w_save = widgets.Button(
            description="Save profile", icon="save", layout=_button_layout()
        )
        self._w_reset = widgets.Button(
            description="Reset the simulator",
            icon="undo",
            button_style="warning",
            layout=_button_layout(),
        )
        self._w_azure_box = widgets.VBox([self._w_cloud, self._w_method])
        self._scenarios: dict[str, str] = {}
        self._w_scenario = widgets.Dropdown(
            options=(),
            description="Scenario",
            disabled=True,
            style=_LABELS,
            layout=_field_layout(),
        )
        self._w_apply_scenario = widgets.Button(
            description="Apply scenario",
            icon="flask",
            disabled=True,
            layout=_button_layout(),
        )
        self._w_scenario_box = widgets.HBox([self._w_scenario, self._w_apply_scenario])

        self._w_mode.observe(self._on_mode_change, names="value")
        self._w_sign_in.on_click(self._on_sign_in_click)
        self._w_save.on_click(self._on_save_click)
        self._w_reset.on_click(self._on_reset_click)
        self._w_apply_scenario.on_click(self._on_apply_scenario_click)
        self._show_mode(profile.mode)

    def _controls(self) -> list[widgets.Widget]:
        return [
            self._w_environment,
            widgets.HTML("<b>Where the kit works</b>"),
            self._w_mode,
            self._w_azure_box,
            widgets.HBox([self._w_sign_in, self._w_reset]),
            self._w_scenario_box,
            self._w_device_code,
            self._w_tenant,
            self._w_subscription,
            self._w_resource_group,
            # In a box of its own the button keeps its width instead of
            # stretching across the panel.
            widgets.HBox([self._w_save]),
        ]

    def _buttons(self) -> list[widgets.Button]:
        return [self._w_sign_in, self._w_save, self._w_reset]

    # Text mode and profile ---------------------------------------------------

    def connect(self, mode: str | None = None) -> None:
        """Sign in or connect, as the "Connect to simulator" or "Sign in" button does.

        Parameters
        ----------
        mode
            ``"simulator"`` or ``"azure"`` to choose the mode first, in any case
            and with surrounding spaces ignored; ``None`` keeps the mode shown.

        Raises
        ------
        InvalidInputError
            If `mode` is neither, before anything is changed or sent.
        """
        chosen = choice_argument(mode, "mode", ("simulator", "azure"))

        def set_mode() -> None:
            if chosen is not None:
                self._w_mode.value = chosen

        self._action("Sign-in", self._buttons(), self._sign_in, set_inputs=set_mode)

    def save(
        self, subscription_id: str | None = None, resource_group: str | None = None
    ) -> None:
        """Save the profile, as the "Save profile" button does.

        Parameters
        ----------
        subscription_id
            Subscription ID to put in its box first; ``None`` keeps the box.
        resource_group
            Data-plane resource group to put in its box first; ``None`` keeps
            the box.

        Surrounding spaces are ignored. The values are checked as the button
        checks the boxes, and an invalid one is shown in the status line.

        Raises
        ------
        InvalidInputError
            If an argument is neither ``None`` nor text, before anything is
            changed or saved.
        """
        subscription = text_argument(
            subscription_id, "subscription_id", "a subscription ID (GUID)"
        )
        group = text_argument(resource_group, "resource_group", "a resource group name")

        def set_boxes() -> None:
            if subscription is not None:
                self._w_subscription.value = subscription
            if group is not None:
                self._w_resource_group.value = group

        self._action(
            "Saving the profile", self._buttons(), self._save, set_inputs=set_boxes
        )

    def reset(self) -> None:
        """Reset the simulator, as the "Reset the simulator" button does.

        In Azure mode, chosen in the panel or saved in the profile, nothing is
        changed and the status line shows the error.
        """
        self._action("Resetting the simulator", self._buttons(), self._reset)

    def apply_scenario(self, name: str) -> None:
        """Reset the simulator and apply a scenario, as "Apply scenario" does.

        Parameters
        ----------
        name
            A scenario name, such as ``"secret-disabled"``, in any case and with
            surrounding spaces ignored. `scenario_names` lists them.

        In Azure mode, chosen in the panel or saved in the profile, nothing is
        changed, the simulator is not started to check `name`, and the status
        line shows the error.

        Raises
        ------
        InvalidInputError
            If `name` is not one of the simulator's scenarios, before anything
            is changed. In Azure mode only a `name` that is not text raises.
        """
        buttons = [*self._buttons(), self._w_apply_scenario]
        if self._azure_mode_source() is not None:
            text = text_argument(name, "name", "a scenario name")
            self._action(
                "Applying the scenario",
                buttons,
                lambda: self._require_simulator_mode(
                    "apply the scenario", _scenario_command(text)
                ),
            )
            return
        if not self._scenarios:
            self._scenarios = connections.ensure_simulator().scenarios()
        chosen = choice_argument(name, "name", tuple(sorted(self._scenarios)))
        if chosen is None:
            raise InvalidInputError(
                "The argument name=None is invalid: expected a scenario name.",
                'Pass one of start_panel.scenario_names(), such as name="secret-'
                'disabled".',
                value="None",
                expected="a scenario name",
            )

        def set_choice() -> None:
            if chosen not in [value for _, value in self._w_scenario.options]:
                self._w_scenario.options = tuple(
                    (f"{item}: {text}", item)
                    for item, text in sorted(self._scenarios.items())
                )
            self._w_scenario.value = chosen

        self._action(
            "Applying the scenario",
            buttons,
            self._apply_scenario,
            set_inputs=set_choice,
        )

    def scenario_names(self) -> list[str]:
        """Return the simulator's scenario names, for `apply_scenario`."""
        if not self._scenarios:
            self._scenarios = connections.ensure_simulator().scenarios()
        return sorted(self._scenarios)

    def _text_help(self) -> list[str]:
        return [
            'start_panel.connect()  # or connect(mode="azure") to sign in to Azure',
            'start_panel.save(subscription_id="<subscription ID>", '
            'resource_group="<data-plane resource group>")',
            "start_panel.reset()  # simulator mode: bring back the demo tenant",
            'start_panel.apply_scenario("<name>")  # names: '
            "start_panel.scenario_names()",
        ]

    def _text_widgets(self) -> list[widgets.Widget]:
        # The environment table is printed by the notebook's first cell.
        return [
            self._w_mode,
            self._w_azure_box,
            self._w_device_code,
            self._w_tenant,
            self._w_subscription,
            self._w_resource_group,
        ]

    def _profile_loaded(self) -> None:
        old, new = self._previous_profile, self._profile
        if self._w_mode.value == old.mode and new.mode != old.mode:
            self._w_mode.value = new.mode
        if self._w_cloud.value == old.cloud and new.cloud in CLOUDS:
            self._w_cloud.value = new.cloud
        self._update_field(self._w_tenant, old.tenant_id, new.tenant_id)
        self._update_field(
            self._w_subscription, old.subscription_id, new.subscription_id
        )
        self._update_field(
            self._w_resource_group, old.resource_group, new.resource_group
        )

    def _show_mode(self, mode: str) -> None:
        azure = mode == "azure"
        self._w_azure_box.layout.display = "" if azure else "none"
        self._w_reset.layout.display = "none" if azure else ""
        self._w_scenario_box.layout.display = "none" if azure else ""
        self._w_sign_in.description = "Sign in" if azure else "Connect to simulator"

    def _on_mode_change(self, change: dict[str, Any]) -> None:
        self._connection = None
        self._show_mode(str(change["new"]))
        self._show(status_line("info", f"Mode set to {change['new']}; sign in next."))

    def _on_sign_in_click(self, _button: widgets.Button) -> None:
        self._action("Sign-in", self._buttons(), self._sign_in)

    def _sign_in(self) -> None:
        try:
            self._sign_in_and_fill()
        except AuthenticationError as error:
            # One line per credential tried, which a plain status line would
            # run together.
            logger.warning("Sign-in failed: %s", error.message.split("\n", 1)[0])
            self._show(_sign_in_error_html(error))

    def _sign_in_and_fill(self) -> None:
        mode = self._w_mode.value
        self._working("Signing in…")
        if mode == "azure":
            credential = connections.sign_in(
                "azure",
                self._w_method.value,
                tenant_id=self._w_tenant.value.strip() or None,
                prompt_callback=self._show_device_code,
                cloud=self._w_cloud.value,
            )
            self._connection = connections.connect(
                self._profile_from_widgets(validate=False),
                mode="azure",
                credential=credential,
                tenant_id=self._w_tenant.value.strip() or None,
                subscription_id=self._w_subscription.value.strip() or None,
            )
        else:
            # The boxes, not the saved file, so that a profile that no longer
            # reads can be replaced from here.
            self._connection = connections.connect(
                self._profile_from_widgets(validate=False), mode="simulator"
            )
            self._fill_scenarios(self._connection)
        connection = self._connection
        self._w_device_code.value = ""
        self._w_tenant.value = connection.tenant_id or ""
        self._fill_subscriptions(connection)
        self._fill_resource_groups(connection)
        self._show(
            status_line("ok", f"Signed in ({mode} mode).")
            + definition_list(
                [
                    ("tenant", connection.tenant_id),
                    ("subscription", self._w_subscription.value or None),
                    ("subscription name", self._subscription_name()),
                    ("data-plane resource group", self._w_resource_group.value or None),
                ],
                copy=("tenant", "subscription"),
            )
            + status_line("info", "Check the values above, then press Save profile.")
        )

    def _fill_subscriptions(self, connection: connections.Connection) -> None:
        subscriptions = connections.list_subscriptions(connection)
        ids = [item.subscription_id for item in subscriptions]
        self._subscription_names = {
            item.subscription_id: item.display_name for item in subscriptions
        }
        self._w_subscription.options = tuple(ids)
        if connection.subscription_id:
            self._w_subscription.value = connection.subscription_id
        elif not self._w_subscription.value and len(ids) == 1:
            self._w_subscription.value = ids[0]

    def _subscription_name(self) -> str | None:
        return self._subscription_names.get(self._w_subscription.value)

    def _fill_resource_groups(self, connection: connections.Connection) -> None:
        # The data-plane resource group is the one that contains Union's identity.
        try:
            candidates = identities.find_identities(connection)
        except IdentityNotFoundError:
            candidates = []
        groups = sorted({candidate.resource_group for candidate in candidates})
        self._w_resource_group.options = tuple(groups)
        replace = not self._w_resource_group.value or connection.mode == "simulator"
        if replace and len(groups) == 1:
            self._w_resource_group.value = groups[0]

    def _show_device_code(self, verification_uri: str, user_code: str, *_: Any) -> None:
        prompt = f"Open {verification_uri} and enter the code {user_code}."
        self._w_device_code.value = status_line(
            "info", prompt, "The panel continues when the sign-in is complete."
        )
        if text_mode():
            # The panel prints itself only once the sign-in ends.
            print(prompt, flush=True)

    def _profile_from_widgets(self, *, validate: bool = True) -> Any:
        tenant = self._w_tenant.value.strip() or None
        subscription = self._w_subscription.value.strip() or None
        group = self._w_resource_group.value.strip() or None
        if validate:
            tenant = validate_guid(tenant, "tenant ID") if tenant else None
            subscription = self._require(subscription, "subscription ID", "the sign-in")
            subscription = validate_guid(subscription, "subscription ID")
            group = self._require(group, "data-plane resource group", "the sign-in")
            group = validate_resource_group_name(group)
        # A profile file that no longer reads is replaced by the boxes alone,
        # not by the panel's older copy, whose identity, secret and assignment
        # may be stale.
        base = self._profile if self._profile_readable else Profile()
        return dataclasses.replace(
            base,
            mode=self._w_mode.value,
            cloud=self._w_cloud.value,
            tenant_id=tenant,
            subscription_id=subscription,
            resource_group=group,
        )

    def _on_save_click(self, _button: widgets.Button) -> None:
        self._action("Saving the profile", self._buttons(), self._save)

    def _save(self) -> None:
        profile = self._profile_from_widgets()
        path = save_profile(profile)
        self._profile = profile
        self._show(
            status_line(
                "ok", f"Profile saved to {path}.", "It holds no secret or token."
            )
            + definition_list(
                [
                    ("mode", profile.mode),
                    ("tenant", profile.tenant_id),
                    ("subscription", profile.subscription_id),
                    ("data-plane resource group", profile.resource_group),
                ],
                copy=("tenant", "subscription"),
            )
        )

    def _on_reset_click(self, _button: widgets.Button) -> None:
        self._action("Resetting the simulator", self._buttons(), self._reset)

    def _reset(self) -> None:
        self._require_simulator_mode(
            "reset the simulator", "akv-onboard simulator reset"
        )
        self._working("Resetting the simulator…")
        connections.ensure_simulator().reset()
        self._show(
            status_line(
                "ok",
                "Simulator reset: the demo tenant is seeded again and the role "
                "assignments the kit made are gone.",
            )
        )

    # Scenarios (simulator mode) -----------------------------------------------

    def _fill_scenarios(self, connection: connections.Connection) -> None:
        if connection.simulator is None:
            return
        self._scenarios = connection.simulator.scenarios()
        # Each option shows its one-line description, so a person can choose
        # without the command line's list.
        self._w_scenario.options = tuple(
            (f"{name}: {self._scenarios[name]}", name)
            for name in sorted(self._scenarios)
        )
        active = [
            str(name)
            for name in connection.simulator.state().get("scenarios", [])
            if str(name) in self._scenarios
        ]
        self._w_scenario.value = active[-1] if active else None
        usable = bool(self._scenarios)
        self._w_scenario.disabled = not usable
        self._w_apply_scenario.disabled = not usable

    def _on_apply_scenario_click(self, _button: widgets.Button) -> None:
        buttons = [*self._buttons(), self._w_apply_scenario]
        self._action("Applying the scenario", buttons, self._apply_scenario)
        self._w_apply_scenario.disabled = not self._scenarios

    def _apply_scenario(self) -> None:
        name = self._w_scenario.value
        self._require_simulator_mode("apply the scenario", _scenario_command(name))
        if not name:
            self._show(status_line("info", "Connect to the simulator first."))
            return
        # A scenario applied on top of earlier changes, such as the person's
        # own grant, may no longer fail; the reset makes it the only change.
        simulator = connections.ensure_simulator()
        simulator.reset()
        simulator.apply_scenario(name)
        self._show(
            status_line(
                "ok",
                f"Reset the simulator and applied the scenario {name}: "
                f"{self._scenarios.get(name, '')}",
                f"Run the doctor in {step_place('troubleshoot')} to see what it "
                "finds. Reset the simulator to bring back the seeded demo tenant.",
            )
        )

    def _azure_mode_source(self) -> str | None:
        """Name what selects Azure mode, the saved profile or this panel, if any.

        The profile is read again, because another notebook or the command
        line may have saved it since the last action.
        """
        try:
            saved_mode = load_profile().mode
        except KitError:
            saved_mode = self._profile.mode
        if saved_mode == "azure":
            return "The saved profile uses Azure mode"
        if self._w_mode.value == "azure":
            return "This panel is in Azure mode"
        return None

    def _require_simulator_mode(self, action: str, command: str) -> None:
        """Raise `NotConfiguredError` in Azure mode, before the simulator is used.

        `action` is the step for the message, such as "reset the simulator", and
        `command` is the command line that does it to the local simulator.
        """
        source = self._azure_mode_source()
        if source is None:
            return
        steps = (
            'run start_panel.connect(mode="simulator"), then start_panel.save()'
            if text_mode()
            else "choose Simulator as the Mode, press Connect to simulator, then "
            "press Save profile"
        )
        raise NotConfiguredError(
            f"{source}, so the kit did not {action}. In Azure mode the panels "
            "and the doctor work against Azure, not against the local simulator.",
            "To work with the simulator, switch to Simulator mode in "
            f"{step_place('start')}: "
            f"{steps}. To {action} without leaving Azure mode, run `{command}` in "
            "a terminal.",
        )


def _scenario_command(name: str | None) -> str:
    """Return the command line that resets the simulator and applies `name`."""
    if not name:
        return "akv-onboard simulator scenario --reset <name>"
    return shlex.join(["akv-onboard", "simulator", "scenario", "--reset", name])


def _sign_in_error_html(error: AuthenticationError) -> str:
    """Render a sign-in error with each credential's line as a list item."""
    headline, *lines = error.message.split("\n")
    if not lines:
        return error_html(error)
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    fix = f"What to do: {error.fix}" if error.fix else ""
    return status_line("error", headline, fix) + f"<ul>{items}</ul>"
