"""Counting the SQL statements a request (or any block of code) issues, for the tests that keep
a page's queries fixed whatever the data (counts, never timings)."""

from __future__ import annotations

import contextvars
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from dcol.extensions import db


@contextmanager
def recorded_statements() -> Iterator[list[str]]:
    """The statements sent to the database inside the block (the mails queued meanwhile are
    sent after the request, through the outbox: their statements are not the page's)."""
    statements: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if "outgoing_mails" not in statement:
            statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", note)


def _get_in_own_context(client, path: str, headers: dict | None):
    with client.application.app_context():
        return client.get(path, headers=headers)


def counted_get(client, path: str, *, headers: dict | None = None) -> tuple[list[str], str]:
    """The statements one GET of ``path`` issues, and the page it answers (which must be a
    200).

    The test's data is committed first, then the request runs as in production: in an
    application context of its own, hence with its own database session and its own ``g``.
    (Within the test's application context, the request would share the test's session, where
    objects already loaded save queries, and its ``g``, where the signed-in user and the locale
    of an earlier request are cached: counts would depend on what ran before.)"""
    db.session.commit()
    with recorded_statements() as statements:
        response = contextvars.Context().run(_get_in_own_context, client, path, headers)
    assert response.status_code == 200, (path, response.status_code)
    return statements, response.get_data(as_text=True)


def count_queries(client, path: str, *, headers: dict | None = None) -> int:
    """The number of statements one GET of ``path`` issues (see ``counted_get``)."""
    return len(counted_get(client, path, headers=headers)[0])


def grown_statements(few: list[str], many: list[str]) -> list[str]:
    """The statements issued more often in ``many`` than in ``few`` (an N+1's), for a failing
    assertion to name them."""
    grown = Counter(many)
    grown.subtract(Counter(few))
    return [f"{times} more: {statement}" for statement, times in grown.most_common() if times > 0]
