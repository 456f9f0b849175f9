"""Searching text whatever its case and accents, in the database, on SQLite and PostgreSQL alike.

Neither database folds accents by itself (PostgreSQL's ``unaccent`` is an extension, SQLite's
``lower`` knows ASCII only), so the query is turned into a regular expression instead: each letter
becomes the class of every letter that folds to it, in both cases — "reseau" looks for
``r[eEéÉèÈêÊëË…]s[eEéÉ…]au`` — and the column is searched as it is stored. Letters fold as
``dcol.matching.text`` folds them (Unicode decomposition, accents dropped), so that the search
and the matching agree on what "the same word" is. ``ColumnOperators.regexp_match`` runs the
expression with PostgreSQL's ``~`` and, on SQLite, with Python's ``re`` (SQLAlchemy registers
it): only what both engines read alike is written (classes, and backslash before every other
character that is not a letter or a digit).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import sqlalchemy as sa

from dcol.matching.text import fold

# Latin letters (with Latin-1, Latin Extended A and B and Latin Extended Additional, which
# Vietnamese place names use).
_LETTER_RANGES = ((0x41, 0x5A), (0x61, 0x7A), (0xC0, 0x24F), (0x1E00, 0x1EFF))
# Typographic and straight apostrophes are the same character to whoever types a search.
_APOSTROPHES = "'\u2019\u02bc"
MAX_WORDS = 8
MAX_LENGTH = 200


def folded(text: str) -> str:
    """``text`` lower-cased without its accents ("Réseau" → "reseau")."""
    return fold(text).lower()


@cache
def _variants() -> dict[str, str]:
    """Each folded letter and the class of the letters that fold to it ("e" → "EeÈÉÊË…")."""
    classes: dict[str, list[str]] = {}
    for first, last in _LETTER_RANGES:
        for code in range(first, last + 1):
            char = chr(code)
            key = folded(char)
            if len(key) == 1 and key.isalpha():
                classes.setdefault(key, []).append(char)
    return {key: "".join(sorted(set(chars))) for key, chars in classes.items()}


def _escape(char: str) -> str:
    """A character that is not a letter, literal for both Python's ``re`` and PostgreSQL."""
    return char if char.isalnum() else "\\" + char


def pattern(word: str) -> str:
    """A regular expression finding ``word`` whatever the case and the accents of the text."""
    variants, parts = _variants(), []
    for char in unicodedata.normalize("NFC", word):
        key = folded(char)
        if char in _APOSTROPHES:
            parts.append("[" + "".join(_escape(c) for c in _APOSTROPHES) + "]")
        elif len(key) == 1 and key in variants:
            parts.append("[" + variants[key] + "]")
        elif key:  # a lone combining accent matches whatever it would have accented
            parts.append(_escape(char))
    return "".join(parts)


def words(text: str | None) -> list[str]:
    """The words of a search (at most ``MAX_WORDS``, the text cut at ``MAX_LENGTH``)."""
    return (text or "").strip()[:MAX_LENGTH].split()[:MAX_WORDS]


def contains(column: sa.ColumnElement[str], word: str) -> sa.ColumnElement[bool]:
    """``column`` contains ``word``, whatever the case and the accents of either."""
    return column.regexp_match(pattern(word))


def matches(text: str, word: str) -> bool:
    """What ``contains`` answers in the database, in Python."""
    return re.search(pattern(word), text) is not None
