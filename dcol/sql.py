"""SQL pieces that differ between SQLite and PostgreSQL, written once."""

from __future__ import annotations

import sqlalchemy as sa

from dcol.extensions import db


def _is_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


def json_elements(column):
    """The elements of a JSON array column as a table of one column, ``value`` (text): SQLite's
    ``json_each``, PostgreSQL's ``json_array_elements_text``. Join it with ``sa.true()``, or use
    it in a correlated EXISTS."""
    if _is_postgresql():
        return sa.func.json_array_elements_text(column).table_valued("value")
    return sa.func.json_each(column).table_valued("value")


def json_members(column):
    """The members of a JSON object column as a table of two columns, ``key`` and ``value``
    (text); nothing for a SQL or JSON null or a value that is not an object (on which
    PostgreSQL's ``json_each_text`` fails)."""
    if _is_postgresql():
        objects = sa.case((sa.func.json_typeof(column) == "object", column))
        return sa.func.json_each_text(objects).table_valued("key", "value")
    objects = sa.case((sa.func.json_type(column) == "object", column))
    return sa.func.json_each(objects).table_valued("key", "value")
