"""Character checks and message parts shared by the name, ID and scope parsers."""

from __future__ import annotations

import unicodedata

from akv_helpers.errors import InvalidInputError, displayable

_PORTAL_HINT = (
    "In the Azure portal, open the key vault, then Secrets, the secret and the "
    'version, and copy "Secret Identifier".'
)
_HEX = frozenset("0123456789abcdefABCDEF")
_ASCII_WHITESPACE = frozenset(" \t\n\r")

# ASCII characters that text copied from chat tools, documents or web pages is
# known to replace with look-alikes. NFKC covers the fullwidth forms.
_LOOKALIKES = {
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y",
    "і": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "һ": "h", "ԛ": "q", "ԝ": "w",
    "ο": "o", "ρ": "p", "Α": "A", "Β": "B", "Ε": "E", "Η": "H", "Ι": "I",
    "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Χ": "X",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H",
    "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X",
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
    "\u2212": "-", "\u2215": "/", "\u2044": "/",
}  # fmt: skip


def _describe_character(character: str) -> str:
    code = f"U+{ord(character):04X}"
    name = unicodedata.name(character, "")
    described = f"{name}, {code}" if name else code
    if character == " ":
        return f"a space ({described})"
    if character == "'":
        return f'"\'" ({described})'
    return f"'{displayable(character)}' ({described})"


def _list_characters(characters: list[str], limit: int = 5) -> str:
    """Quote `characters` for a message, naming those that are not plain ASCII."""
    shown: list[str] = []
    for character in characters[:limit]:
        if character.isascii() and character.isprintable() and character not in " '":
            shown.append(f"'{character}'")
        else:
            shown.append(_describe_character(character))
    if len(characters) > limit:
        shown.append(f"{len(characters) - limit} more")
    return ", ".join(shown)


def _ascii_lookalike(character: str) -> str | None:
    if character in _LOOKALIKES:
        return _LOOKALIKES[character]
    normalized = unicodedata.normalize("NFKC", character)
    if normalized.isascii() and normalized.isprintable() and len(normalized) == 1:
        return normalized
    return None


def _invisible_problem(text: str) -> str | None:
    """Return the reason `text` contains whitespace or a non-printable character."""
    for position, character in enumerate(text, start=1):
        if character.isspace() or not character.isprintable():
            if _is_strippable(character):
                kind = "whitespace"
            elif unicodedata.category(character) == "Cc":
                kind = "a control character"
            else:
                kind = "an invisible character"
            return (
                f"contains {kind}, {_describe_character(character)}, "
                f"at position {position}"
            )
    return None


def _non_ascii_problem(text: str) -> tuple[str, str | None] | None:
    """Return the reason `text` contains a non-ASCII character, and a suggestion.

    The suggestion is `text` with look-alike characters replaced by their ASCII
    originals, or ``None`` when some character has no ASCII original.
    """
    for position, character in enumerate(text, start=1):
        if not character.isascii():
            lookalike = _ascii_lookalike(character)
            reason = (
                f"contains the non-ASCII character {_describe_character(character)} "
                f"at position {position}"
            )
            if lookalike is not None:
                reason += f", which looks like '{lookalike}'"
            return reason, _replace_lookalikes(text)
    return None


# Scripts with letters that look like Latin ones. A name that mixes Latin letters
# with one of these is almost always a paste that went through a look-alike.
_CONFUSABLE_SCRIPTS = ("CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE", "COPTIC")


def _lookalike_problem(text: str) -> tuple[str, str | None] | None:
    """Return why `text` has a look-alike letter where Unicode names are allowed.

    Names such as resource group names may be Unicode, so only two kinds of
    character are rejected: compatibility forms that NFKC folds into another
    character, such as fullwidth letters, and letters of a script listed in
    `_CONFUSABLE_SCRIPTS` next to Latin letters. The suggestion is `text` with
    look-alikes replaced, or ``None`` when some character has no ASCII original.
    """
    has_latin = any(c.isascii() and c.isalpha() for c in text)
    for position, character in enumerate(text, start=1):
        if character.isascii():
            continue
        lookalike = _ascii_lookalike(character)
        script = unicodedata.name(character, "").split(" ", 1)[0]
        if unicodedata.normalize("NFKC", character) != character:
            reason = (
                f"contains the compatibility character "
                f"{_describe_character(character)} at position {position}"
            )
        elif has_latin and script in _CONFUSABLE_SCRIPTS:
            reason = (
                f"mixes Latin letters with the {script.title()} character "
                f"{_describe_character(character)} at position {position}"
            )
        else:
            continue
        if lookalike is not None:
            reason += f", which looks like '{lookalike}'"
        return reason, _replace_lookalikes(text)
    return None


def _character_problem(text: str) -> tuple[str, str | None] | None:
    """Return the reason `text` has a character no Azure name or URL allows here."""
    invisible = _invisible_problem(text)
    if invisible is not None:
        return invisible, None
    return _non_ascii_problem(text)


def _replace_lookalikes(text: str) -> str | None:
    characters: list[str] = []
    for character in text:
        if character.isascii():
            characters.append(character)
            continue
        lookalike = _ascii_lookalike(character)
        if lookalike is None:
            return None
        characters.append(lookalike)
    return "".join(characters)


def _retype_fix(suggestion: str | None, what: str) -> str:
    if suggestion is not None:
        return f"Type the {what} again by hand: {_quote(suggestion)}."
    return f"Type the {what} again by hand, using ASCII characters only."


def _require_text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(
            f"The {what} must be text, not {type(value).__name__}.",
            f"Pass the {what} as a string.",
            value=type(value).__name__,
            expected="a string",
        )
    return _strip_surrounding_space(value)


def _is_strippable(character: str) -> bool:
    return character in _ASCII_WHITESPACE or unicodedata.category(character) == "Zs"


def _strip_surrounding_space(text: str) -> str:
    """Remove surrounding spaces, tabs and line ends, but no control character.

    Spaces (Unicode category Zs), tabs and line ends are removed. `str.strip`
    would also remove form feeds, vertical tabs, U+001C–U+001F, U+0085 and the
    line and paragraph separators; they are kept, so that the checks reject
    them as control or invisible characters.
    """
    start, end = 0, len(text)
    while start < end and _is_strippable(text[start]):
        start += 1
    while end > start and _is_strippable(text[end - 1]):
        end -= 1
    return text[start:end]


def _quote(value: str) -> str:
    """Quote a value for a message, escaped and cut by `displayable`."""
    return f"'{displayable(value)}'"


def _use_instead(suggestion: str) -> str:
    return f"Use {_quote(suggestion)} instead."


_SENTENCE_ENDS = (".", "!", "?", "…", ":")


def count_noun(number: int, noun: str) -> str:
    """Return `number` followed by `noun`, with an "s" unless the number is 1.

    Examples
    --------
    >>> count_noun(1, "check"), count_noun(2, "assignment")
    ('1 check', '2 assignments')
    """
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def end_sentence(text: str) -> str:
    """Return `text` ending with one period, unless it already ends a sentence.

    Messages are joined from parts, some of which end with a period and some
    not, so every join that adds a period goes through here.

    Examples
    --------
    >>> end_sentence("not exercised."), end_sentence("not exercised")
    ('not exercised.', 'not exercised.')
    """
    stripped = text.rstrip()
    if not stripped or stripped.endswith(_SENTENCE_ENDS):
        return stripped
    return stripped + "."


def join_sentences(*parts: str) -> str:
    """Join message parts into sentences, without doubled punctuation.

    Empty parts are skipped; each part is ended with `end_sentence`.

    Examples
    --------
    >>> join_sentences("Passed: the task read db-pass.", "", "Run it on Union")
    'Passed: the task read db-pass. Run it on Union.'
    """
    return " ".join(end_sentence(part) for part in parts if part.strip())
