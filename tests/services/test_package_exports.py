"""Tests of the package's lazy exports of the service functions."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("azure", "flytekit", "ipywidgets")


def _run(code: str) -> str:
    completed = subprocess.run(  # noqa: S603 (this interpreter, fixed code)
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return completed.stdout


def test_import_loads_no_sdk() -> None:
    code = (
        "import json, sys\n"
        "import akv_helpers\n"
        f"heavy = {HEAVY!r}\n"
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules\n"
        "    if name.split('.')[0] in heavy})))\n"
    )
    assert json.loads(_run(code)) == []


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("resolve_typed_principal", "akv_helpers.identities"),
        ("list_identities", "akv_helpers.identities"),
        ("wait_for_access", "akv_helpers.propagation"),
    ],
)
def test_lazy_export_resolves(name: str, module: str) -> None:
    import akv_helpers

    value = getattr(akv_helpers, name)

    assert callable(value)
    assert value.__module__ == module
    assert name in akv_helpers.__all__


def test_diagnose_subpackage_holds_function() -> None:
    code = (
        "import akv_helpers.diagnose\nprint(akv_helpers.diagnose.diagnose.__module__)\n"
    )
    assert _run(code).split() == ["akv_helpers.diagnose.runner"]
