"""Reports of a diagnosis, as Markdown for people and JSON for tools.

Both are redacted before they are written: anything that looks like a JSON Web
Token, a bearer token, an ``Authorization`` header, an ``access_token`` field or
a simulator canary value is replaced. Typed text that did not prove to be a
secret identifier or an identity, which may be a secret value pasted into the
wrong box, is withheld (see `akv_helpers.diagnose.typed_text`). The Markdown
report reads on its own: it repeats the inputs, the resolved IDs, every finding
that needs attention with its fix and commands, and the changes the kit made,
with the commands to repeat them.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from akv_helpers.diagnose.findings import Diagnosis, Status
from akv_helpers.diagnose.typed_text import withhold_typed_text

__all__ = [
    "TextBlock",
    "export_report",
    "redact",
    "render_json",
    "render_markdown",
    "text_blocks",
]

# Each pattern with its replacement. The JWT pattern matches a base64url JSON
# header ("eyJ" is the encoding of '{"') and the segments after it.
_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"AKVSIM-CANARY-[A-Za-z0-9_\-]*"), "[redacted secret value]"),
    (re.compile(r"eyJ[A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]*){0,2}"), "[redacted token]"),
    (
        re.compile(r"\b(Bearer|PoP)\s+[A-Za-z0-9._~+/=\-]+", re.IGNORECASE),
        r"\1 [redacted token]",
    ),
    (
        re.compile(
            r"\b(Authorization)(\s*[:=]\s*)(?!\[redacted|Bearer\b|PoP\b)[^\s,;\"']+",
            re.IGNORECASE,
        ),
        r"\1\2[redacted]",
    ),
    (
        re.compile(r"(\"?access_token\"?\s*[:=]\s*\"?)[^\s,;\"'}]+", re.IGNORECASE),
        r"\1[redacted token]",
    ),
)

_TITLE = "Key Vault secret doctor report"

# A line that names what follows it, such as "Azure CLI:" or "Terraform:".
_LABEL = re.compile(r"[A-Z][A-Za-z ]{0,30}:(\s|$)")
_LIST_ITEM = re.compile(r"\s*- ")


@dataclass(frozen=True)
class TextBlock:
    """A paragraph, a bulleted list or a code snippet of a finding's text.

    Attributes
    ----------
    kind
        ``"prose"`` (one paragraph, which may be rewrapped), ``"list"`` (one
        item a line) or ``"code"`` (lines printed as they are).
    lines
        The block's lines, without trailing whitespace.
    """

    kind: Literal["prose", "list", "code"]
    lines: tuple[str, ...]


def _split_block(lines: list[str]) -> list[TextBlock]:
    if len(lines) == 1:
        return [TextBlock("prose", (lines[0].strip(),))]
    if all(_LIST_ITEM.match(line) for line in lines):
        return [TextBlock("list", tuple(line.strip() for line in lines))]
    head, rest = lines[0], lines[1:]
    if _LABEL.match(head) or head.rstrip().endswith(":"):
        if all(_LIST_ITEM.match(line) for line in rest):
            tail = TextBlock("list", tuple(line.strip() for line in rest))
        else:
            tail = TextBlock("code", tuple(rest))
        return [TextBlock("prose", (head.strip(),)), tail]
    return [TextBlock("code", tuple(lines))]


def text_blocks(text: str) -> list[TextBlock]:
    r"""Split a finding's text into paragraphs, lists and code snippets.

    Blank lines separate blocks. A one-line block is a paragraph. In a longer
    block, lines starting with ``- `` are a list, and the lines under a label
    such as ``Terraform:`` are code. Consecutive code blocks are joined with a
    blank line, so a snippet with blank lines stays one snippet.

    Examples
    --------
    >>> [block.kind for block in text_blocks("Run this:\n\nAzure CLI:\naz login")]
    ['prose', 'prose', 'code']
    """
    blocks: list[TextBlock] = []
    for chunk in re.split(r"\n[ \t]*\n", text.strip("\n")):
        lines = [line.rstrip() for line in chunk.splitlines() if line.strip()]
        if not lines:
            continue
        for block in _split_block(lines):
            previous = blocks[-1] if blocks else None
            if (
                block.kind == "code"
                and previous is not None
                and previous.kind == "code"
            ):
                blocks[-1] = TextBlock("code", (*previous.lines, "", *block.lines))
            else:
                blocks.append(block)
    return blocks


def redact(text: str) -> str:
    """Replace anything in `text` that looks like a token or a secret value.

    Examples
    --------
    >>> redact("Authorization: Bearer abc.def")
    'Authorization: Bearer [redacted token]'
    """
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {redact(str(key)): _redacted(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redacted(item) for item in value]
    return value


def _report_data(diagnosis: Diagnosis) -> dict[str, Any]:
    shared = diagnosis.replace(
        findings=[item.shareable() for item in diagnosis.findings]
    )
    data = _redacted(shared.to_dict())
    assert isinstance(data, dict)
    # Withheld after the redaction, so that a redacted value keeps its marker.
    return withhold_typed_text(data, diagnosis)


def render_json(diagnosis: Diagnosis) -> str:
    """Return the diagnosis as redacted, indented JSON ending in a newline."""
    return json.dumps(_report_data(diagnosis), indent=2, ensure_ascii=False) + "\n"


# Characters that start Markdown or HTML markup anywhere in a line. CommonMark
# allows a backslash before any ASCII punctuation, and GFM tables read "\|" as
# a pipe inside a cell, in a code span too.
_INLINE_MARKUP = re.compile(r"([\\`*_\[\]<>&|~#])")
# Text that starts a list item or a setext underline when it begins a line;
# "#" and ">" are escaped everywhere by _INLINE_MARKUP.
_BLOCK_START = re.compile(r"^([-+=])")
_ORDERED_START = re.compile(r"^(\d+)([.)])")
_BACKTICK_RUN = re.compile(r"`+")


def _inline(value: object) -> str:
    """Return `value` as Markdown text on one line that renders as written.

    Whitespace, newlines included, is collapsed into single spaces.
    """
    text = " ".join(str(value).split())
    text = _INLINE_MARKUP.sub(r"\\\1", text)
    text = _BLOCK_START.sub(r"\\\1", text)
    return _ORDERED_START.sub(r"\1\\\2", text)


def _cell(value: object) -> str:
    text = _inline(value)
    return text if text else "—"


def _longest_backtick_run(lines: Sequence[str]) -> int:
    return max(
        (len(run) for line in lines for run in _BACKTICK_RUN.findall(line)),
        default=0,
    )


def _code(value: object, *, in_table: bool = False) -> str:
    """Return `value` as a code span, with more backticks than any run inside it.

    In a table cell, pipes are escaped, which GFM removes again inside code.
    """
    text = " ".join(str(value).split())
    if not text:
        return "—"
    if in_table:
        text = text.replace("|", "\\|")
    fence = "`" * (_longest_backtick_run([text]) + 1)
    if text.startswith("`") or text.endswith("`"):
        text = f" {text} "
    return f"{fence}{text}{fence}"


def _fenced(lines: Sequence[str], info: str = "", indent: str = "") -> list[str]:
    """Return `lines` as a fenced code block, its fence longer than any run inside."""
    fence = "`" * max(3, _longest_backtick_run(lines) + 1)
    body = [f"{indent}{line}" if line else "" for line in lines]
    return [f"{indent}{fence}{info}", *body, f"{indent}{fence}"]


def _table(header: tuple[str, str], rows: list[tuple[str, str]]) -> list[str]:
    lines = [f"| {header[0]} | {header[1]} |", "|---|---|"]
    lines.extend(f"| {_cell(left)} | {right} |" for left, right in rows)
    return lines


def _typed_cell(inputs: dict[str, Any], name: str) -> str:
    """Return the input `name` as a code span, or as text when it is withheld.

    A withheld input states what the text was not, which is no value to copy.
    """
    value = inputs.get(name) or ""
    if name in inputs.get("withheld", ()):
        return _cell(value)
    return _code(value, in_table=True)


def _inputs_section(data: dict[str, Any]) -> list[str]:
    inputs = data["inputs"]
    task = inputs.get("task_path") or (
        "given as source code" if inputs.get("task_source_given") else "none"
    )
    rows = [
        ("Secret identifier", _typed_cell(inputs, "identifier_text")),
        ("Identity given", _typed_cell(inputs, "identity_text")),
        ("Principal ID given", _typed_cell(inputs, "principal_id")),
        ("Task", _cell(task)),
    ]
    return ["## Inputs", "", *_table(("Input", "Value"), rows), ""]


def _resolved_section(data: dict[str, Any]) -> list[str]:
    resolved: dict[str, str] = data["resolved"]
    lines = ["## Resolved IDs", ""]
    if not resolved:
        return [*lines, "The run resolved no IDs.", ""]
    rows = [(key, _code(value, in_table=True)) for key, value in resolved.items()]
    return [*lines, *_table(("What", "Value"), rows), ""]


def _findings_table(findings: list[dict[str, Any]]) -> list[str]:
    lines = ["## Findings", "", "| Status | Check | Title |", "|---|---|---|"]
    for item in findings:
        status, title = _cell(item["status"]), _cell(item["title"])
        check_id = _code(item["id"], in_table=True)
        lines.append(f"| {status} | {check_id} | {title} |")
    return [*lines, ""]


def _markdown_field(label: str, text: str) -> list[str]:
    """Render a finding's field as a list item, keeping its lists and code."""
    blocks = text_blocks(text)
    if not blocks:
        return [f"- **{label}:** —"]
    first, rest = blocks[0], blocks[1:]
    lines: list[str] = []
    if first.kind == "prose":
        lines.append(f"- **{label}:** {_inline(first.lines[0])}")
    else:
        lines.append(f"- **{label}:**")
        rest = blocks
    for block in rest:
        lines.append("")
        if block.kind == "prose":
            lines.append("  " + _inline(block.lines[0]))
        elif block.kind == "list":
            lines.extend(f"  - {_inline(line[2:])}" for line in block.lines)
        else:
            lines.extend(_fenced(block.lines, indent="  "))
    return lines


def _finding_details(item: dict[str, Any]) -> list[str]:
    status = _inline(item["status"].capitalize())
    title = _inline(item["title"])
    lines = [
        f"### {status}: {title} ({_code(item['id'])})",
        "",
        *_markdown_field("Observed", item["observed"]),
        *_markdown_field("Expected", item["expected"]),
    ]
    if item["fix"]:
        lines.extend(_markdown_field("Fix", item["fix"]))
    evidence: dict[str, str] = item["evidence"]
    if evidence:
        shown = "; ".join(
            f"{_inline(key)}: {_code(value)}" for key, value in evidence.items()
        )
        lines.append(f"- **Evidence:** {shown}")
    if item["commands"]:
        lines.extend(["", *_fenced(item["commands"], "sh")])
    return [*lines, ""]


def _details_section(findings: list[dict[str, Any]]) -> list[str]:
    # A "not applicable" finding is shown when it carries advice, such as the
    # private link finding. The others only state that their subject is absent.
    shown = [
        item
        for item in findings
        if item["status"] != Status.OK.value
        and (
            item["status"] != Status.NOT_APPLICABLE.value
            or item["fix"]
            or item["commands"]
        )
    ]
    lines = ["## What to do", ""]
    if not shown:
        return [*lines, "No check needs action.", ""]
    for item in shown:
        lines.extend(_finding_details(item))
    return lines


def _changes_section(changes: list[dict[str, Any]]) -> list[str]:
    lines = ["## Changes the kit made", ""]
    if not changes:
        return [*lines, "The session profile records no change made by the kit.", ""]
    for change in changes:
        made = "created by the kit" if change.get("created_by_kit") else "found"
        rows = [
            ("Kind", _cell(change.get("kind", "role assignment"))),
            ("Assignment ID", _code(change.get("assignment_id", ""), in_table=True)),
            ("Scope", _code(change.get("scope", ""), in_table=True)),
            ("Principal ID", _code(change.get("principal_id", ""), in_table=True)),
            ("Role", _cell(change.get("role", ""))),
            ("Origin", _cell(made)),
        ]
        lines.extend([*_table(("Field", "Value"), rows), ""])
        commands = change.get("commands") or []
        if commands:
            lines.extend(
                ["Commands to repeat, check or undo it:", "", *_fenced(commands, "sh")]
            )
        lines.append("")
    return lines


def render_markdown(diagnosis: Diagnosis) -> str:
    """Return a redacted Markdown report that reads without the kit.

    Parameters
    ----------
    diagnosis
        The result of `akv_helpers.diagnose.diagnose`.

    Returns
    -------
    str
        The header with the inputs and resolved IDs, a findings table with
        failures first, the details of every finding that is not ok, and the
        changes the kit made with the commands to repeat them.
    """
    data = _report_data(diagnosis)
    counts = ", ".join(f"{n} {status}" for status, n in data["counts"].items() if n)
    summary = (
        f"Run at {data['started_at'] or 'an unknown time'} in {data['mode']} mode, "
        f"in {data['duration_seconds']:.1f} s. {data['verdict']} Findings: "
        f"{counts or 'none'}."
    )
    lines = [
        f"# {_TITLE}",
        "",
        _inline(summary),
        "",
        *_inputs_section(data),
        *_resolved_section(data),
        *_findings_table(data["findings"]),
        *_details_section(data["findings"]),
        *_changes_section(data["changes"]),
    ]
    return redact("\n".join(lines).rstrip() + "\n")


def _file_stem(diagnosis: Diagnosis) -> str:
    stamp = re.sub(r"[^0-9A-Za-z]", "", diagnosis.started_at) or "report"
    return f"akv-doctor-{stamp}"


def _write_private(path: Path, text: str) -> None:
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    path.chmod(0o600)


def export_report(diagnosis: Diagnosis, directory: Path | str) -> tuple[Path, Path]:
    """Write the Markdown and JSON reports into `directory`, readable by you only.

    Parameters
    ----------
    diagnosis
        The result of `akv_helpers.diagnose.diagnose`.
    directory
        Folder for the reports; created with mode 0700 when missing.

    Returns
    -------
    tuple[Path, Path]
        Paths of the Markdown and the JSON file, both with mode 0600, named
        ``akv-doctor-<start time>.md`` and ``.json``.
    """
    folder = Path(directory).expanduser()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    stem = _file_stem(diagnosis)
    markdown_path = folder / f"{stem}.md"
    json_path = folder / f"{stem}.json"
    _write_private(markdown_path, render_markdown(diagnosis))
    _write_private(json_path, render_json(diagnosis))
    return markdown_path, json_path
