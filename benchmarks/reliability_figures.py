"""Run the reliability tests and write their figures to docs/RELIABILITY.md.

The script runs the reliability test modules with pytest in a subprocess, with
the plugin `_figures_plugin` recording each test's outcome, parameters and
``record_property`` values as JSON. From that JSON alone it writes the page:
faults survived by kind and route, bad inputs rejected, secret-value and token
hits, and notebooks stored without outputs. A module that does not exist is
listed as not present. The script exits with pytest's exit status, so a failing
test fails ``make figures`` after the page is written.

Run it with `make figures` or `.venv/bin/python benchmarks/reliability_figures.py`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = Path(__file__).resolve().parent
DEFAULT_OUTPUT = REPO / "docs" / "RELIABILITY.md"
COMMAND = "python benchmarks/reliability_figures.py"
NO_LEAKS = "tests/test_no_leaks.py"
BAD_INPUTS = "tests/test_bad_inputs.py"
NOTEBOOK_FILES = "tests/notebooks/test_notebook_files.py"
STORED_WITHOUT_OUTPUTS = "test_notebook_stored_without_outputs"
# The fixture of tests/test_bad_inputs.py that asserts the request log is empty.
REQUEST_LOG_FIXTURE = "quiet"


@dataclass(frozen=True)
class Module:
    """A test module the figures come from."""

    path: str
    checks: str


SIMULATOR_FAULTS = "tests/simulator/test_faults.py"
SERVICE_FAULTS = "tests/services/test_faults.py"
MODULES = (
    Module(SIMULATOR_FAULTS, "faults the simulator injects"),
    Module(SERVICE_FAULTS, "faults survived by the kit"),
    Module(BAD_INPUTS, "bad inputs rejected before any request"),
    Module("tests/test_identifier_properties.py", "identifier parser properties"),
    Module(NO_LEAKS, "secret values and tokens in every output"),
    Module(NOTEBOOK_FILES, "committed notebooks"),
)

# Figures of tests/test_no_leaks.py, in the order shown, with their meaning.
LEAK_FIGURES = (
    ("notebooks_run", "notebooks executed with their widgets driven"),
    ("cli_commands_run", "CLI commands run with `-vv`"),
    ("canaries_searched", "secret values (canaries) searched for"),
    ("tokens_searched", "tokens searched for"),
    ("forms_per_value", "forms searched per value (plain, hex, base64)"),
    ("places_searched", "outputs, files and exception texts searched"),
    ("bytes_searched", "bytes searched"),
    ("canary_hits", "**secret-value hits**"),
    ("token_hits", "**token hits**"),
    ("network_trace_in_source", "network-trace settings in the package source"),
    ("network_trace_in_clients", "SDK clients with network trace or auth logging"),
)


# Running the tests ----------------------------------------------------------------


def pytest_command(paths: list[str], workers: int) -> list[str]:
    command = [sys.executable, "-m", "pytest", *paths, "-q", "-p", "no:cacheprovider"]
    command += ["-p", "_figures_plugin"]
    if workers > 0:
        command += ["-n", str(workers), "--dist", "loadgroup"]
    return command


def run_tests(paths: list[str], workers: int) -> tuple[dict[str, Any], float]:
    """Run pytest on `paths` and return the plugin's JSON and the wall time."""
    environment = dict(os.environ)
    inherited = environment.get("PYTHONPATH")
    search_path = [str(BENCHMARKS), str(REPO)] + ([inherited] if inherited else [])
    environment["PYTHONPATH"] = os.pathsep.join(search_path)
    with tempfile.TemporaryDirectory(prefix="akv-figures-") as directory:
        output = Path(directory) / "outcomes.json"
        environment["AKV_FIGURES_JSON"] = str(output)
        started = time.monotonic()
        subprocess.run(
            pytest_command(paths, workers), cwd=REPO, env=environment, check=False
        )
        elapsed = time.monotonic() - started
        if not output.exists():
            sys.exit("pytest ended without writing the outcomes file")
        return json.loads(output.read_text(encoding="utf-8")), elapsed


def git_revision() -> str:
    def git(*arguments: str) -> str:
        completed = subprocess.run(
            ["git", "--no-optional-locks", *arguments],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        return completed.stdout.strip() if completed.returncode == 0 else ""

    commit = git("rev-parse", "--short=12", "HEAD") or "unknown"
    changed = git("status", "--porcelain", "--untracked-files=no")
    return f"{commit} with uncommitted changes" if changed else commit


# Reading the outcomes --------------------------------------------------------------


def module_of(test: dict[str, Any]) -> str:
    return str(test["nodeid"]).split("::", 1)[0]


def function_of(test: dict[str, Any]) -> str:
    return re.sub(r"\[.*\]$", "", str(test["nodeid"]).split("::")[-1])


def tests_in(outcomes: dict[str, Any], path: str) -> list[dict[str, Any]]:
    return [test for test in outcomes["tests"] if module_of(test) == path]


def tally(tests: Iterable[dict[str, Any]]) -> Counter[str]:
    return Counter(str(test["outcome"]) for test in tests)


def ratio(tests: list[dict[str, Any]]) -> str:
    passed = tally(tests)["passed"]
    return f"{passed}/{len(tests)}"


def others(counts: Counter[str]) -> str:
    shown = [f"{counts[name]} {name}" for name in sorted(counts) if name != "passed"]
    return ", ".join(shown) or "none"


def value_of(test: dict[str, Any], name: str) -> object:
    """Return a recorded property, else a parameter, else a parameter's field."""
    if name in test["properties"]:
        return test["properties"][name]
    if name in test["params"]:
        return test["params"][name]
    for value in test["params"].values():
        if isinstance(value, dict) and name in value:
            return value[name]
    return None


# Writing the page ------------------------------------------------------------------


def table(headers: list[str], rows: Iterable[Sequence[object]]) -> list[str]:
    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return lines


def modules_section(outcomes: dict[str, Any], present: set[str]) -> list[str]:
    rows: list[list[object]] = []
    for module in MODULES:
        tests = tests_in(outcomes, module.path)
        if module.path not in present:
            rows.append([f"`{module.path}`", module.checks, "not present", "", ""])
        elif module.path in outcomes["collection_errors"]:
            rows.append([f"`{module.path}`", module.checks, "collection error", "", ""])
        else:
            counts = tally(tests)
            seconds = sum(float(test["duration"]) for test in tests)
            rows.append(
                [
                    f"`{module.path}`",
                    module.checks,
                    ratio(tests),
                    others(counts),
                    f"{seconds:.1f}",
                ]
            )
    headers = ["module", "checks", "passed", "other outcomes", "seconds"]
    return ["## Test modules", "", *table(headers, rows), ""]


def by_test(tests: list[dict[str, Any]]) -> list[str]:
    """Return a table of passed/total cases per test function."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for test in tests:
        groups[function_of(test)].append(test)
    rows = (
        [f"`{name}`", ratio(group), others(tally(group))]
        for name, group in sorted(groups.items())
    )
    return table(["test", "passed", "other outcomes"], rows)


def known_gaps(tests: list[dict[str, Any]]) -> list[str]:
    """Return the expected failures grouped by their reason, or nothing."""
    reasons = Counter(
        str(test.get("xfail_reason") or "no reason given")
        for test in tests
        if test["outcome"] in ("xfailed", "xpassed")
    )
    if not reasons:
        return []
    lines = ["Known gaps, marked as expected failures (cases, reason):", ""]
    lines += [f"- {count}: {reason}" for reason, count in sorted(reasons.items())]
    return [*lines, ""]


def faults_section(outcomes: dict[str, Any], present: set[str]) -> list[str]:
    lines = ["## Faults survived", ""]
    if SERVICE_FAULTS not in present:
        lines += [f"`{SERVICE_FAULTS}`: not present.", ""]
    else:
        tests = tests_in(outcomes, SERVICE_FAULTS)
        lines += [
            f"From `{SERVICE_FAULTS}`, through the real SDK clients. A passed case "
            "survived its fault: the kit either recovered within azure-core's "
            "retry budget, or gave up with a kit error that names the operation, "
            "left no partial change and created no second assignment.",
            "",
            *by_test(tests),
            "",
            *fault_matrix(tests),
            "",
            *known_gaps(tests),
        ]
    lines += ["### The simulator's fault injection", ""]
    if SIMULATOR_FAULTS not in present:
        return [*lines, f"`{SIMULATOR_FAULTS}`: not present.", ""]
    tests = tests_in(outcomes, SIMULATOR_FAULTS)
    return [*lines, f"From `{SIMULATOR_FAULTS}`:", "", *by_test(tests), ""]


def fault_matrix(tests: list[dict[str, Any]]) -> list[str]:
    """Return a kind × route table of passed/total fault cases."""
    cells: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for test in tests:
        kind, route = value_of(test, "kind"), value_of(test, "route")
        if kind is not None and route is not None:
            cells[(str(kind), str(route))].append(test)
    if not cells:
        return ["No case named its fault kind and route."]
    kinds = sorted({kind for kind, _ in cells})
    routes = sorted({route for _, route in cells})
    rows = [
        [
            f"`{kind}`",
            *(
                ratio(cells[(kind, route)]) if cells.get((kind, route)) else ""
                for route in routes
            ),
        ]
        for kind in kinds
    ]
    heading = "By fault kind (rows) and route (columns), passed/total cases:"
    return [heading, "", *table(["kind", *(f"`{r}`" for r in routes)], rows)]


def bad_inputs_section(outcomes: dict[str, Any], present: set[str]) -> list[str]:
    lines = ["## Bad inputs rejected", ""]
    if BAD_INPUTS not in present:
        return [*lines, f"`{BAD_INPUTS}`: not present.", ""]
    tests = tests_in(outcomes, BAD_INPUTS)
    counts = tally(tests)

    values = {
        json.dumps(value_of(test, "value"))
        for test in tests
        if value_of(test, "value") is not None
    }
    watched = [test for test in tests if REQUEST_LOG_FIXTURE in test["fixtures"]]

    sent = [
        value_of(test, "requests_sent")
        for test in tests
        if "requests_sent" in test["properties"]
    ]

    lines += [
        f"- Cases passed: {counts['passed']} of {len(tests)} ({others(counts)}).",
        f"- Distinct bad values in the parametrized cases: {len(values)}.",
        f"- Cases that use the fixture `{REQUEST_LOG_FIXTURE}`, whose check asserts "
        "that no request reached the simulator and no role assignment changed: "
        f"{len(watched)}, of which {tally(watched)['passed']} passed.",
    ]
    if sent:
        total = sum(int(str(value)) for value in sent)
        lines.append(f"- Requests sent, as {len(sent)} cases recorded them: {total}.")
    lines.append("")

    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for test in tests:
        kind = value_of(test, "kind")
        by_kind[f"`{kind}`" if kind is not None else "(no kind)"].append(test)
    kind_rows = (
        [kind, ratio(group), others(tally(group))]
        for kind, group in sorted(by_kind.items())
    )
    return [
        *lines,
        *by_test(tests),
        "",
        *table(["input kind", "passed", "other outcomes"], kind_rows),
        "",
        *known_gaps(tests),
    ]


def leaks_section(outcomes: dict[str, Any], present: set[str]) -> list[str]:
    lines = ["## Secret values and tokens", ""]
    if NO_LEAKS not in present:
        return [*lines, f"`{NO_LEAKS}`: not present.", ""]
    tests = tests_in(outcomes, NO_LEAKS)
    if not tests:
        return [*lines, f"`{NO_LEAKS}` ran no test.", ""]
    lines += [
        "One end-to-end test runs notebooks 00 to 04, every CLI command, the test "
        "task and public functions that raise, with the `akv_helpers` and `azure` "
        "loggers at DEBUG. It then searches every output, executed notebook "
        "(widget state included), log, report, generated file, the profile and "
        "every exception text for each canary secret value and each token the "
        "kit was issued. The search ignores case and covers hex and base64 "
        "(standard and URL-safe, at each byte offset).",
        "",
    ]
    for test in tests:
        properties = test["properties"]
        lines.append(f"`{test['nodeid']}`: {test['outcome']}.")
        lines.append("")
        rows = [
            [meaning, properties.get(name, "not recorded")]
            for name, meaning in LEAK_FIGURES
        ]
        lines += table(["figure", "value"], rows)
        for name in ("canary_hit_places", "token_hit_places"):
            places = properties.get(name) or []
            if places:
                lines += ["", f"{name.replace('_', ' ').capitalize()}:", ""]
                lines += [f"- {place}" for place in places]
        lines.append("")
    return lines


def notebooks_section(outcomes: dict[str, Any], present: set[str]) -> list[str]:
    lines = ["## Notebooks stored without outputs", ""]
    if NOTEBOOK_FILES not in present:
        return [*lines, f"`{NOTEBOOK_FILES}`: not present.", ""]
    tests = [
        test
        for test in tests_in(outcomes, NOTEBOOK_FILES)
        if function_of(test) == STORED_WITHOUT_OUTPUTS
    ]
    lines += [
        f"`{NOTEBOOK_FILES}::{STORED_WITHOUT_OUTPUTS}` checks that no code cell "
        "of a committed notebook has outputs or an execution count: "
        f"{ratio(tests)} notebooks passed.",
        "",
    ]
    lines += table(
        ["notebook", "outcome"],
        ([notebook_name(test), test["outcome"]] for test in tests),
    )
    return [*lines, ""]


def notebook_name(test: dict[str, Any]) -> str:
    path = value_of(test, "path")
    return f"`{Path(str(path)).name}`" if path else f"`{test['nodeid']}`"


def render(
    outcomes: dict[str, Any],
    present: set[str],
    command: list[str],
    elapsed: float,
) -> str:
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    shown_command = " ".join(
        Path(part).name if part == sys.executable else part for part in command
    )
    lines = [
        f"<!-- Generated by `{COMMAND}`. Do not edit by hand: run `make figures`. -->",
        "",
        "# Reliability figures",
        "",
        f"Generated by `{COMMAND}` from commit {git_revision()} on {generated}, "
        f"with Python {platform.python_version()} on {platform.system()}. "
        f"The script ran `{shown_command}` ({elapsed:.0f} s, pytest exit status "
        f"{outcomes['exit_status']}). Every figure below comes from that run.",
        "",
    ]
    for section in (
        modules_section,
        faults_section,
        bad_inputs_section,
        leaks_section,
        notebooks_section,
    ):
        lines += section(outcomes, present)
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "-n",
        "--workers",
        type=int,
        default=2,
        help="number of pytest-xdist workers, or 0 to run without xdist",
    )
    arguments = parser.parse_args()

    present = {module.path for module in MODULES if (REPO / module.path).is_file()}
    paths = [module.path for module in MODULES if module.path in present]
    outcomes, elapsed = run_tests(paths, arguments.workers)
    page = render(outcomes, present, pytest_command(paths, arguments.workers), elapsed)
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(page, encoding="utf-8")
    print(f"Wrote {arguments.output}")
    return int(outcomes["exit_status"])


if __name__ == "__main__":
    sys.exit(main())
