"""Text the user typed that a shared report must not repeat, and what it shows instead.

People paste secret values into the wrong box. So the Markdown and JSON reports
repeat typed text only when it proved to be what the box expects. That is a
secret identifier that parses, an identity given by a GUID, or an identity that
the doctor found by the name or resource ID typed. Any other typed text is withheld: the
report shows what it was not, with its length and SHA-256 prefix in the form
the test task prints for a secret value (``length=N sha256=xxxxxxxxxxxx``), so
whoever typed it can recognise it.

This module is pure: it sends no request and imports neither the Azure SDK nor
the widgets.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from akv_helpers._secret_layout import fingerprint
from akv_helpers.errors import InvalidInputError, displayable
from akv_helpers.guids import validate_guid
from akv_helpers.identifiers import parse_secret_identifier

if TYPE_CHECKING:
    from akv_helpers.diagnose.findings import Diagnosis

__all__ = [
    "NOT_AN_IDENTIFIER",
    "NOT_AN_IDENTITY",
    "NOT_A_PRINCIPAL_ID",
    "describe_withheld",
    "typed_fingerprint",
    "withhold_typed_text",
    "withheld_inputs",
]

NOT_AN_IDENTIFIER = "not a valid secret identifier"
NOT_AN_IDENTITY = "not an identity the doctor found"
NOT_A_PRINCIPAL_ID = "not a principal ID"

# Characters that may continue a name. A withheld text is replaced only where
# none of them touches it, so that "kv-demo" keeps its "demo".
_NAME_CHARACTER = r"[A-Za-z0-9_\-]"
# Shorter texts, such as "vault" typed as an identity name, are also ordinary
# words of a report, so only their quoted occurrences are replaced.
_MIN_UNQUOTED_LENGTH = 8
_QUOTES = ("'", '"', "`")


def typed_fingerprint(text: str) -> str:
    """Return the length and SHA-256 prefix of `text`, as the test task prints them.

    Surrounding whitespace is not counted, as flytekit strips it from a secret
    value before the test task fingerprints it.

    Examples
    --------
    >>> typed_fingerprint(" hunter2 ")
    'length=7 sha256=f52fbd32b2b3'
    """
    return str(fingerprint(text.strip()))


def describe_withheld(text: str, reason: str) -> str:
    """Return what a report shows in place of the typed `text`, withheld for `reason`.

    Examples
    --------
    >>> describe_withheld("hunter2", NOT_AN_IDENTIFIER)
    '[not a valid secret identifier, not shown: length=7 sha256=f52fbd32b2b3]'
    """
    return f"[{reason}, not shown: {typed_fingerprint(text)}]"


def _parses(text: str) -> bool:
    try:
        parse_secret_identifier(text)
    except InvalidInputError:
        return False
    return True


def _is_guid(text: str) -> bool:
    try:
        validate_guid(text, "principal ID")
    except InvalidInputError:
        return False
    return True


def _found_identity(text: str, resolved: Mapping[str, str]) -> bool:
    """Tell whether `text` is the name or resource ID of the identity the run found."""
    resource_id = resolved.get("identity", "").rstrip("/").lower()
    if not resource_id:
        return False
    typed = text.strip().rstrip("/").lower()
    return typed in (resource_id, resource_id.rsplit("/", 1)[-1])


def withheld_inputs(diagnosis: Diagnosis) -> dict[str, tuple[str, str]]:
    """Return the typed inputs a report withholds, by field of `DiagnosisInputs`.

    Returns
    -------
    dict[str, tuple[str, str]]
        For each withheld field, such as ``"identifier_text"``, the text as
        typed and its replacement in the report.
    """
    inputs = diagnosis.inputs
    withheld: dict[str, tuple[str, str]] = {}
    identifier = inputs.identifier_text or ""
    if identifier.strip() and not _parses(identifier):
        withheld["identifier_text"] = (
            identifier,
            describe_withheld(identifier, NOT_AN_IDENTIFIER),
        )
    identity = inputs.identity_text or ""
    if (
        identity.strip()
        and not _is_guid(identity)
        and not _found_identity(identity, diagnosis.resolved)
    ):
        withheld["identity_text"] = (
            identity,
            describe_withheld(identity, NOT_AN_IDENTITY),
        )
    principal = inputs.principal_id or ""
    if principal.strip() and not _is_guid(principal):
        withheld["principal_id"] = (
            principal,
            describe_withheld(principal, NOT_A_PRINCIPAL_ID),
        )
    return withheld


def _forms(text: str) -> set[str]:
    """Return the forms in which the kit's messages may quote `text`."""
    stripped = text.strip()
    forms = {text, stripped, displayable(stripped), repr(stripped)[1:-1]}
    return {form for form in forms if form.strip()}


def _pattern(text: str) -> re.Pattern[str]:
    forms = sorted(_forms(text), key=len, reverse=True)
    quoted = "|".join(
        f"{re.escape(quote)}{re.escape(form)}{re.escape(quote)}"
        for form in forms
        for quote in _QUOTES
    )
    parts = [quoted]
    long_forms = [form for form in forms if len(form) >= _MIN_UNQUOTED_LENGTH]
    if long_forms:
        alternatives = "|".join(re.escape(form) for form in long_forms)
        parts.append(f"(?<!{_NAME_CHARACTER})(?:{alternatives})(?!{_NAME_CHARACTER})")
    return re.compile("|".join(parts), re.IGNORECASE)


def _scrubbed(value: Any, patterns: list[tuple[re.Pattern[str], str]]) -> Any:
    if isinstance(value, str):
        for pattern, replacement in patterns:
            value = pattern.sub(replacement.replace("\\", "\\\\"), value)
        return value
    if isinstance(value, Mapping):
        return {
            _scrubbed(str(key), patterns): _scrubbed(item, patterns)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_scrubbed(item, patterns) for item in value]
    return value


def withhold_typed_text(data: dict[str, Any], diagnosis: Diagnosis) -> dict[str, Any]:
    """Replace the typed text that `diagnosis` withholds everywhere in `data`.

    Parameters
    ----------
    data
        The JSON-ready dictionary of `diagnosis`, as `Diagnosis.to_dict` returns
        it, possibly redacted already.
    diagnosis
        The diagnosis whose inputs decide what is withheld.

    Returns
    -------
    dict[str, Any]
        A copy of `data`. Each withheld input field contains its replacement,
        and ``inputs["withheld"]`` lists those fields. In every other
        string, the withheld text is replaced where a message quotes it whole.
    """
    withheld = withheld_inputs(diagnosis)
    patterns = [
        (_pattern(typed), replacement) for typed, replacement in withheld.values()
    ]
    scrubbed: dict[str, Any] = _scrubbed(data, patterns)
    inputs = dict(scrubbed.get("inputs", {}))
    inputs.update({name: replacement for name, (_, replacement) in withheld.items()})
    inputs["withheld"] = sorted(withheld)
    return {**scrubbed, "inputs": inputs}
