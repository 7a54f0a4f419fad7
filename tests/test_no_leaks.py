"""Secret values and tokens leak nowhere: every surface of the kit against canaries.

The simulator's secret values are canaries (``AKVSIM-CANARY-…``), stored only in
its state file. One test drives the whole kit against a reseeded simulator, with
the ``akv_helpers`` and ``azure`` loggers at DEBUG written to files. It runs
notebooks 00 to 04 with their widgets driven, every CLI command with ``-vv``, the
test task through `run_task_locally`, and public functions that raise. Then it
searches every output, executed notebook (widget state included), log, report,
generated file, profile and exception text for each canary and each token the
kit was issued, in the encodings listed in `encoded_forms`. The expected count is
zero.

Tokens are recorded as the kit's own `SimulatorCredential` receives them, in this
process and in each notebook kernel. The recorder calls the real method and only
keeps a copy of the returned token, so that the test can search for it.
"""

from __future__ import annotations

import base64
import importlib.util
import logging
import re
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
import pytest
from azure.core.pipeline import Pipeline
from azure.core.pipeline.policies import HttpLoggingPolicy, NetworkTraceLoggingPolicy
from click.testing import CliRunner, Result

import akv_helpers
from akv_helpers import assignments
from akv_helpers.cli import main
from akv_helpers.connection import ARM_SCOPE, RetrySettings, client_kwargs, connect
from akv_helpers.flyte_task import fingerprint, lay_out_secret
from akv_helpers.profile import Profile
from akv_helpers.simulator_client import SimulatorCredential, SimulatorEndpoint

PACKAGE = Path(akv_helpers.__file__).resolve().parent
VAULT_SCOPE = "https://vault.azure.net/.default"
SECRET = "https://kv-demo.vault.azure.net/secrets/db-pass"
VERSIONED_SECRET = (
    "https://kv-demo.vault.azure.net/secrets/db-pass/0f1e2d3c4b5a69788796a5b4c3d2e1f0"
)
LEGACY_SECRET = "https://kv-legacy.vault.azure.net/secrets/api-key"
PRINCIPAL = "bbbbbbbb-0000-4000-8000-000000000002"
CANARY = re.compile(r"AKVSIM-CANARY-[A-Za-z0-9_\-]+")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Settings that make azure-core log request and response bodies.
NETWORK_TRACE_SOURCE = re.compile(
    r"logging_enable|enable_http_logger|NetworkTraceLoggingPolicy|logging_body"
)
# A task whose secret request the doctor flags, so that its task checks run.
FLAGGED_TASK = (
    "from flytekit import Secret, current_context, task\n"
    "@task(secret_requests=[Secret(\n"
    f'    group="{SECRET}",\n'
    "    mount_requirement=Secret.MountType.FILE)])\n"
    "def t() -> str:\n"
    f'    return current_context().secrets.get("{SECRET}")\n'
)


def _notebook_helpers() -> ModuleType:
    """Return tests/notebooks/nbrun.py, imported once under its module name."""
    loaded = sys.modules.get("nbrun")
    if loaded is not None:
        return loaded
    path = Path(__file__).resolve().parent / "notebooks" / "nbrun.py"
    spec = importlib.util.spec_from_file_location("nbrun", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["nbrun"] = module
    spec.loader.exec_module(module)
    return module


nbrun = _notebook_helpers()
probe = nbrun.probe
text_of = nbrun.text_of


# Encodings ------------------------------------------------------------------


def _aligned_base64(raw: bytes, offset: int, encode: Callable[[bytes], bytes]) -> str:
    """Return the characters of `raw`'s base64 that do not depend on its neighbours.

    Inside a longer encoded blob, `raw` starts `offset` bytes (0, 1 or 2) after a
    3-byte boundary. The characters returned carry only bits of `raw`, so they
    appear whatever bytes come before or after it, padded or not.
    """
    text = encode(bytes(offset) + raw).decode("ascii").rstrip("=")
    start = (8 * offset + 5) // 6
    end = (8 * (offset + len(raw))) // 6
    return text[start:end]


def encoded_forms(value: str) -> dict[str, str]:
    """Return the strings searched for one secret value or token, by form name.

    The search ignores case, so the value's upper- and lower-case spellings and
    upper-case hex are covered by "plain" and "hex". Each base64 form is the
    alphabet's encoding at one byte offset, standard and URL-safe, which is a
    substring of the padded and of the unpadded encoding.
    """
    raw = value.encode("utf-8")
    forms = {"plain": value, "hex": raw.hex()}
    alphabets = {
        "base64": base64.b64encode,
        "base64url": base64.urlsafe_b64encode,
    }
    for name, encode in alphabets.items():
        for offset in range(3):
            forms[f"{name}+{offset}"] = _aligned_base64(raw, offset, encode)
    return forms


# The places searched ----------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """One occurrence: which value (by label, never the value), form and place."""

    value: str
    form: str
    place: str


@dataclass
class Haystack:
    """Everything the kit produced, by place, as bytes."""

    places: dict[str, bytes] = field(default_factory=dict)

    def add_text(self, place: str, text: str | None) -> None:
        self.places[place] = (text or "").encode("utf-8", "surrogateescape")

    def add_file(self, path: Path, root: Path) -> None:
        self.places[f"{root.name}/{path.relative_to(root)}"] = path.read_bytes()

    def add_tree(self, root: Path, skip: Callable[[Path], bool]) -> None:
        for path in sorted(root.rglob("*")):
            if path.is_file() and not skip(path):
                self.add_file(path, root)

    def add_exception(self, place: str, error: BaseException) -> None:
        """Add the traceback of `error`, chained errors included, and each repr."""
        chain: list[BaseException] = []
        current: BaseException | None = error
        while current is not None and current not in chain:
            chain.append(current)
            current = current.__cause__ or current.__context__
        text = "".join(traceback.format_exception(error))
        self.add_text(place, text + "\n".join(repr(item) for item in chain))

    def search(self, values: dict[str, str]) -> list[Hit]:
        """Return every occurrence of each labelled value, ignoring case."""
        needles = [
            (label, form, needle.lower().encode("ascii"))
            for label, value in values.items()
            for form, needle in encoded_forms(value).items()
        ]
        hits: list[Hit] = []
        for place, data in self.places.items():
            lowered = data.lower()
            for label, form, needle in needles:
                if needle in lowered:
                    hits.append(Hit(label, form, place))
        return hits

    @property
    def size(self) -> int:
        return sum(len(data) for data in self.places.values())


def describe(hit: Hit) -> str:
    return f"{hit.value} ({hit.form}) in {hit.place}"


def _is_state_file(path: Path) -> bool:
    # The state file and the temporary files it is written through.
    return path.name == "state.json" or path.name.startswith(".state.json.")


def canaries_in(state_file: Path) -> Hidden:
    return Hidden(CANARY.findall(state_file.read_text(encoding="utf-8")))


def labelled(values: set[str], kind: str) -> dict[str, str]:
    return {f"{kind} {index}": value for index, value in enumerate(sorted(values))}


# Logging and tokens -------------------------------------------------------------


@pytest.fixture
def debug_log(tmp_path: Path) -> Iterator[Path]:
    """Write every record of ``akv_helpers`` and ``azure`` at DEBUG to a file."""
    path = tmp_path / "out" / "logs" / "debug.log"
    path.parent.mkdir(parents=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    loggers = [logging.getLogger(name) for name in ("akv_helpers", "azure")]
    levels = [logger.level for logger in loggers]
    root.addHandler(handler)
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    yield path
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)
    root.removeHandler(handler)
    handler.close()


class Hidden(set[str]):
    """A set of secret values or tokens whose repr shows only their count.

    pytest prints fixture values and compared values in failure reports, and this
    keeps the secrets out of them.
    """

    def __repr__(self) -> str:
        return f"<{len(self)} hidden values>"


@pytest.fixture
def issued_tokens(monkeypatch: pytest.MonkeyPatch) -> Hidden:
    """Record each token a `SimulatorCredential` of this process receives."""
    tokens = Hidden()
    original = SimulatorCredential.get_token_info

    def recording(self: SimulatorCredential, *scopes: str, options: Any = None) -> Any:
        info = original(self, *scopes, options=options)
        tokens.add(info.token)
        return info

    monkeypatch.setattr(SimulatorCredential, "get_token_info", recording)
    return tokens


def kernel_setup(log_path: Path, token_path: Path) -> str:
    """Return a first test cell: DEBUG logs to `log_path`, tokens to `token_path`."""
    return (
        "import logging as _akv_logging\n"
        "from akv_helpers.simulator_client import SimulatorCredential as _AkvCred\n"
        f"_akv_handler = _akv_logging.FileHandler({str(log_path)!r}, "
        "encoding='utf-8')\n"
        f"_akv_handler.setFormatter(_akv_logging.Formatter({LOG_FORMAT!r}))\n"
        "_akv_logging.getLogger().addHandler(_akv_handler)\n"
        "for _akv_name in ('akv_helpers', 'azure'):\n"
        "    _akv_logging.getLogger(_akv_name).setLevel(_akv_logging.DEBUG)\n"
        "_akv_original = _AkvCred.get_token_info\n"
        "def _akv_recording(self, *scopes, options=None):\n"
        "    info = _akv_original(self, *scopes, options=options)\n"
        f"    with open({str(token_path)!r}, 'a', encoding='utf-8') as _akv_file:\n"
        "        _akv_file.write(info.token + '\\n')\n"
        "    return info\n"
        "_AkvCred.get_token_info = _akv_recording\n"
    )


# SDK client settings ---------------------------------------------------------------


def pipelines(client: object) -> list[Pipeline[Any, Any]]:
    """Return the azure-core pipelines inside an SDK client."""
    found: list[Pipeline[Any, Any]] = []
    seen: set[int] = set()
    pending: list[tuple[object, int]] = [(client, 0)]
    while pending:
        item, depth = pending.pop()
        if id(item) in seen or depth > 4:
            continue
        seen.add(id(item))
        if isinstance(item, Pipeline):
            found.append(item)
            continue
        for value in getattr(item, "__dict__", {}).values():
            pending.append((value, depth + 1))
    return found


def logging_policies(client: object) -> list[object]:
    policies: list[object] = []
    for pipeline in pipelines(client):
        for policy in pipeline._impl_policies:
            inner = getattr(policy, "_policy", policy)
            if isinstance(inner, (HttpLoggingPolicy, NetworkTraceLoggingPolicy)):
                policies.append(inner)
    return policies


# The test --------------------------------------------------------------------------


@pytest.mark.notebook
@pytest.mark.flyte
@pytest.mark.xdist_group("notebooks")
def test_no_secret_or_token_leaks(
    fresh_sim: SimulatorEndpoint,
    kit_home: Path,
    tmp_path: Path,
    debug_log: Path,
    issued_tokens: Hidden,
    record_property: Callable[[str, object], None],
) -> None:
    state_file = kit_home / "simulator" / "state.json"
    canaries = canaries_in(state_file)
    canary_count = len(canaries)
    assert canary_count >= 3, "the seeded tenant has three secret versions"
    (kit_home / "profile.json").unlink(missing_ok=True)
    out = tmp_path / "out"
    private = tmp_path / "private"
    private.mkdir()
    haystack = Haystack()

    # Notebooks 00 to 04, in order, sharing the kit home ----------------------------
    executed: dict[str, Any] = {}

    def run_notebook(name: str, cells: list[str]) -> list[Any]:
        setup = kernel_setup(
            out / "logs" / f"kernel-{name}.log", private / f"tokens-{name}.txt"
        )
        result = nbrun.run_notebook(name, kit_home, [setup, *cells], "no-leaks")
        executed[name] = result
        copy = out / "notebooks" / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(result.notebook, copy)
        return list(result.results[1:])

    (started,) = run_notebook(
        "00-start-here.ipynb",
        [
            probe(
                "start_panel._w_sign_in.click()\nstart_panel._w_save.click()",
                {"status": "start_panel._w_status.value"},
            )
        ],
    )
    assert "Profile saved" in text_of(started["status"])

    (found,) = run_notebook(
        "01-find-identity.ipynb",
        [
            probe(
                "identity_panel._w_search.click()\nidentity_panel._w_confirm.click()",
                {"table": "identity_panel._w_table.value"},
            )
        ],
    )
    assert PRINCIPAL in text_of(found["table"])

    grant_status = {"status": "grant_panel._w_status.value"}
    legacy, granted, again, revoked = run_notebook(
        "02-grant-access.ipynb",
        [
            probe(
                f"grant_panel._w_secret.value = {LEGACY_SECRET!r}\n"
                "grant_panel._w_grant.click()",
                grant_status,
            ),
            probe(
                f"grant_panel._w_secret.value = {VERSIONED_SECRET!r}\n"
                "grant_panel._w_grant.click()",
                grant_status,
            ),
            probe("grant_panel._w_grant.click()", grant_status),
            probe("grant_panel._w_revoke.click()", grant_status),
        ],
    )
    assert "access polic" in text_of(legacy["status"])
    assert "Granted" in text_of(granted["status"])
    assert "Already granted" in text_of(again["status"])
    assert "Revoked" in text_of(revoked["status"])

    task_status = {"status": "task_panel._w_status.value"}
    denied, passed, removed = run_notebook(
        "03-run-test-task.ipynb",
        [
            probe("task_panel._w_run.click()", task_status),
            probe(
                "from akv_helpers.ui import GrantPanel\n"
                "_grant = GrantPanel()\n"
                "_grant._w_grant.click()\n"
                "task_panel._w_run.click()",
                task_status,
            ),
            probe("_grant._w_revoke.click()", {"status": "_grant._w_status.value"}),
        ],
    )
    assert "access denied" in text_of(denied["status"])
    assert "Passed" in text_of(passed["status"])
    assert "Revoked" in text_of(removed["status"])

    panel = "troubleshoot_panel"
    doctor_state = {
        "status": f"{panel}._w_status.value",
        "findings": f"{panel}._w_findings.value",
    }
    failing, healthy, exported, cleaned = run_notebook(
        "04-troubleshoot.ipynb",
        [
            probe(
                f"{panel}._w_task_source.value = {FLAGGED_TASK!r}\n"
                f"{panel}._w_run.click()",
                doctor_state,
            ),
            probe(
                "from akv_helpers.ui import GrantPanel\n"
                "_grant = GrantPanel()\n"
                "_grant._w_grant.click()\n"
                f"{panel}._w_task_source.value = ''\n"
                f"{panel}._w_run.click()",
                doctor_state,
            ),
            probe(f"{panel}._w_export.click()", {"report": f"{panel}._w_report.value"}),
            probe("_grant._w_revoke.click()", {"status": "_grant._w_status.value"}),
        ],
    )
    assert re.search(r"\b\d+ checks? failed: ", text_of(failing["status"]))
    assert "No check failed" in text_of(healthy["status"])
    assert "Report exported" in text_of(exported["report"])
    assert "Revoked" in text_of(cleaned["status"])
    for name, result in executed.items():
        widgets = result.notebook.metadata.get("widgets", {})
        assert widgets, f"{name}: the executed copy holds no widget state"

    # Every CLI command, in process, with -vv ---------------------------------------
    cli_out = out / "cli"
    reports = out / "reports"
    invoked: list[str] = []

    def masked(text: str) -> str:
        for index, value in enumerate(sorted(canaries)):
            text = text.replace(value, f"<canary {index}>")
        return text

    def cli(expected_exit: int, *arguments: str, label: str = "") -> Result:
        result = CliRunner().invoke(main, ["-vv", *arguments])
        label = label or f"akv-onboard -vv {' '.join(arguments)}"
        invoked.append(label)
        haystack.add_text(f"{label} [stdout]", result.stdout)
        haystack.add_text(f"{label} [stderr]", result.stderr)
        if result.exception is not None and not isinstance(
            result.exception, SystemExit
        ):
            haystack.add_exception(f"{label} [exception]", result.exception)
        assert result.exit_code == expected_exit, (label, masked(result.output))
        return result

    principal = ("--principal-id", PRINCIPAL)
    cli(0, "simulator", "status")
    cli(0, "simulator", "scenarios")
    cli(0, "simulator", "scenarios", "--json")
    cli(0, "simulator", "requests")
    cli(0, "simulator", "requests", "--json")
    cli(0, "find-identity")
    cli(0, "find-identity", "--json")
    cli(1, "verify", SECRET, *principal)
    cli(0, "task", "generate", SECRET, "--out", str(cli_out))
    (generated,) = sorted(cli_out.glob("*.py"))
    before = cli(
        1,
        "task",
        "run",
        SECRET,
        *principal,
        "--out",
        str(cli_out),
        "--wait-timeout",
        "0",
    )
    assert "access denied" in before.stdout
    cli(0, "grant", SECRET, *principal)
    assert "already granted" in cli(0, "grant", SECRET, *principal).output.lower()
    cli(0, "grant", SECRET, *principal, "--json")
    cli(1, "grant", LEGACY_SECRET, *principal)
    cli(0, "verify", SECRET, *principal)
    after = cli(0, "task", "run", SECRET, *principal, "--out", str(cli_out))
    assert "Passed:" in after.stdout
    cli(0, "task", "check", str(generated))
    cli(0, "doctor", SECRET, "--identity", PRINCIPAL, "--json")
    cli(
        0,
        "doctor",
        SECRET,
        "--identity",
        PRINCIPAL,
        "--task",
        str(generated),
        "--report",
        str(reports),
    )
    assert {path.suffix for path in reports.iterdir()} == {".md", ".json"}
    cli(0, "revoke", SECRET, *principal)
    cli(0, "profile", "show")
    cli(0, "profile", "show", "--json")
    cli(0, "simulator", "requests", "--json")

    # The test task through the public function, and public functions that raise ---
    connection = connect(Profile(mode="simulator"))
    identifier = akv_helpers.parse_secret_identifier(SECRET)
    module = akv_helpers.write_task_module(identifier, out / "local", pinned=False)
    local_denied = akv_helpers.run_task_locally(
        connection, identifier, PRINCIPAL, module, wait_timeout=0
    )
    assert local_denied.ok is False
    onboarded = akv_helpers.onboard_secret(connection, SECRET, PRINCIPAL)
    local_passed = akv_helpers.run_task_locally(
        connection, identifier, PRINCIPAL, module
    )
    assert local_passed.ok is True, local_passed.output
    vault = akv_helpers.find_vault(connection, "kv-demo")
    plan = akv_helpers.plan_grant(
        connection.subscription_id, vault, "db-pass", PRINCIPAL
    )
    revoked_locally = assignments.revoke(connection, plan)
    for name, outcome in (
        ("run before grant", local_denied),
        ("onboard_secret", onboarded),
        ("run after grant", local_passed),
        ("revoke", revoked_locally),
    ):
        haystack.add_text(f"public function: {name} [repr]", repr(outcome))
        for attribute in ("message", "fix", "output"):
            haystack.add_text(
                f"public function: {name} [{attribute}]",
                str(getattr(outcome, attribute, "")),
            )
    a_canary = sorted(canaries)[0]
    haystack.add_text("fingerprint repr", repr(fingerprint(a_canary)))

    not_a_directory = private / "not-a-directory"
    not_a_directory.write_text("", encoding="utf-8")
    raising: dict[str, Callable[[], object]] = {
        "require_rbac on kv-legacy": lambda: akv_helpers.require_rbac(
            akv_helpers.find_vault(connection, "kv-legacy")
        ),
        "find_vault kv-missing": lambda: akv_helpers.find_vault(
            connection, "kv-missing"
        ),
        "get_secret_info missing": lambda: akv_helpers.get_secret_info(
            connection, vault, "no-such-secret"
        ),
        "onboard_secret on kv-legacy": lambda: akv_helpers.onboard_secret(
            connection, LEGACY_SECRET, PRINCIPAL
        ),
        "lay_out_secret into a file": lambda: lay_out_secret(
            not_a_directory, identifier, a_canary
        ),
    }
    # A secret value pasted where the secret identifier belongs.
    raising["save_profile with a secret value"] = lambda: akv_helpers.save_profile(
        Profile(secret_identifier=a_canary), private / "refused.json"
    )
    cli(2, "grant", a_canary, "--dry-run", label="grant <secret value> --dry-run")
    for name, call in raising.items():
        try:
            call()
        except akv_helpers.KitError as error:
            haystack.add_exception(f"exception: {name}", error)
        else:
            pytest.fail(f"{name} raised no kit error")

    # The kit never turns on azure-core's network trace -------------------------------
    trace_in_source = [
        f"{path.relative_to(PACKAGE.parent)}:{number}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if NETWORK_TRACE_SOURCE.search(line)
    ]
    assert "logging_enable" not in client_kwargs(RetrySettings())
    assert vault.vault_uri is not None
    clients = {
        "msi": connection.msi(),
        "keyvault_mgmt": connection.keyvault_mgmt(),
        "authorization": connection.authorization(),
        "secret_client": connection.secret_client(vault.vault_uri),
        "secret_client as identity": connection.secret_client(
            vault.vault_uri, connection.identity_credential(PRINCIPAL)
        ),
    }
    traced: list[str] = []
    for name, client in clients.items():
        policies = logging_policies(client)
        traces = [p for p in policies if isinstance(p, NetworkTraceLoggingPolicy)]
        headers = [p for p in policies if isinstance(p, HttpLoggingPolicy)]
        assert traces, f"{name} has no NetworkTraceLoggingPolicy to inspect"
        assert headers, f"{name} has no HttpLoggingPolicy to inspect"
        if any(policy.enable_http_logger for policy in traces):
            traced.append(f"{name}: network trace enabled")
        for policy in headers:
            if "Authorization" in policy.allowed_header_names:
                traced.append(f"{name}: Authorization header logged")

    # Tokens: the operator's and the identity's, as the kit's credential caches them
    operator_tokens = Hidden(
        {
            connection.credential.get_token(ARM_SCOPE).token,
            connection.credential.get_token(VAULT_SCOPE).token,
        }
    )
    identity_token = (
        connection.identity_credential(PRINCIPAL).get_token(VAULT_SCOPE).token
    )
    unrecorded = len(operator_tokens - issued_tokens)
    assert unrecorded == 0, "the kit's cached operator tokens were not recorded"
    kernel_tokens = Hidden(
        line
        for path in private.glob("tokens-*.txt")
        for line in path.read_text(encoding="utf-8").splitlines()
        if line
    )
    kernel_token_count = len(kernel_tokens)
    assert kernel_token_count > 0, "the notebook kernels recorded no token"
    tokens = Hidden(issued_tokens | kernel_tokens | {identity_token})

    # Gather every file, then search ---------------------------------------------------
    canaries = Hidden(canaries | canaries_in(state_file))
    # Positive control: the search finds each canary in the state file, and every
    # form of one canary inside longer text and longer encoded data.
    control = Haystack()
    control.add_file(state_file, kit_home)
    control_hits = control.search(labelled(canaries, "canary"))
    assert {hit.value for hit in control_hits} == set(labelled(canaries, "canary"))
    embedded = Haystack()
    raw = a_canary.encode("ascii")
    for offset in range(3):
        blob = b"{" * offset + raw + b"}"
        embedded.add_text(f"base64+{offset}", base64.b64encode(blob).decode())
        embedded.add_text(
            f"base64url+{offset}", base64.urlsafe_b64encode(blob).decode()
        )
    embedded.add_text("HEX", f"x{raw.hex().upper()}x")
    embedded.add_text("upper", f"<{a_canary.upper()}>")
    found_forms = {hit.form for hit in embedded.search({"canary": a_canary})}
    assert found_forms == set(encoded_forms(a_canary))

    haystack.add_tree(out, skip=lambda path: False)
    haystack.add_tree(kit_home, skip=_is_state_file)
    assert debug_log.stat().st_size > 0
    for place in (
        f"{out.name}/logs/debug.log",
        f"{kit_home.name}/simulator/simulator.log",
        f"{kit_home.name}/simulator/requests.jsonl",
        f"{kit_home.name}/profile.json",
    ):
        assert place in haystack.places, f"{place} was not searched"

    canary_hits = haystack.search(labelled(canaries, "canary"))
    token_hits = haystack.search(labelled(tokens, "token"))

    record_property("notebooks_run", len(executed))
    record_property("cli_commands_run", len(invoked))
    record_property("canaries_searched", len(canaries))
    record_property("tokens_searched", len(tokens))
    record_property("forms_per_value", len(encoded_forms(a_canary)))
    record_property("places_searched", len(haystack.places))
    record_property("bytes_searched", haystack.size)
    record_property("canary_hits", len(canary_hits))
    record_property("token_hits", len(token_hits))
    record_property("canary_hit_places", [describe(hit) for hit in canary_hits])
    record_property("token_hit_places", [describe(hit) for hit in token_hits])
    record_property("network_trace_in_source", len(trace_in_source))
    record_property("network_trace_in_clients", len(traced))

    assert trace_in_source == []
    assert traced == []
    assert token_hits == [], "\n".join(map(str, token_hits))
    assert canary_hits == [], "\n".join(map(str, canary_hits))
