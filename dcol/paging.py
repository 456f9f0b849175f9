"""Pages of a list shown a slice at a time, each list with its own page parameter when several
share a page (a reviewer's four groups, a call's tracks, a committee's agenda)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Slice:
    """Page ``page`` (from 1) of a list of ``total`` items, ``per_page`` a page: the shape of
    Flask-SQLAlchemy's pagination, which the templates' pagers read."""

    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return last_page(self.total, self.per_page)

    @property
    def first(self) -> int:
        """The position (from 1) of the page's first item (0 when the list is empty)."""
        return (self.page - 1) * self.per_page + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.total, self.page * self.per_page)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def page_number(args: Mapping[str, str], name: str) -> int:
    """The page that the query parameter ``name`` asks for: 1 unless a positive integer."""
    raw = str(args.get(name) or "")
    return min(int(raw), 10**6) if raw.isdigit() and int(raw) > 0 else 1


def last_page(total: int, per_page: int) -> int:
    """The number of the last page of ``total`` items (1 for none)."""
    return max(1, -(-total // per_page))


def slice_of(items: Sequence, page: int, per_page: int) -> Slice:
    """Page ``page`` of ``items`` (the last one when ``page`` is past it)."""
    page = min(max(1, page), last_page(len(items), per_page))
    start = (page - 1) * per_page
    return Slice(list(items[start:start + per_page]), page, per_page, len(items))
