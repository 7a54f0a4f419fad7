"""Error handling and output formats shared by the commands."""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from akv_helpers.errors import KitError

__all__ = ["KitCommandError", "as_dict", "echo_json", "echo_table", "kit_errors"]

logger = logging.getLogger(__name__)

_F = TypeVar("_F", bound=Callable[..., Any])


class KitCommandError(click.ClickException):
    """A kit error shown as ``Error: <message>`` and its fix, with exit code 1."""

    def __init__(self, error: KitError) -> None:
        super().__init__(error.message)
        self.fix = error.fix

    def show(self, file: Any = None) -> None:
        """Print the message and the fix on stderr."""
        click.echo(f"Error: {self.format_message()}", err=True)
        if self.fix:
            click.echo(self.fix, err=True)


def kit_errors(function: _F) -> _F:
    """Turn the kit's errors raised by a command into `KitCommandError`."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except KitError as error:
            logger.debug("Command failed", exc_info=True)
            raise KitCommandError(error) from None

    return cast(_F, wrapper)


def echo_json(data: Any) -> None:
    """Print `data` as indented JSON on stdout."""
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def echo_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Print rows as a left-aligned table with a header line."""
    cells = [[str(value) for value in row] for row in rows]
    widths = [
        max([len(header), *(len(row[i]) for row in cells)])
        for i, header in enumerate(headers)
    ]
    lines = [headers, *cells]
    for line in lines:
        text = "  ".join(value.ljust(widths[i]) for i, value in enumerate(line))
        click.echo(text.rstrip())


def as_dict(value: Any) -> Any:
    """Convert a dataclass, list or mapping into JSON-ready data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            item.name: as_dict(getattr(value, item.name))
            for item in dataclasses.fields(value)
            if item.repr
        }
    if isinstance(value, (list, tuple)):
        return [as_dict(item) for item in value]
    if isinstance(value, dict):
        return {str(key): as_dict(item) for key, item in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value
