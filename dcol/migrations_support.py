"""How Alembic writes our custom column types into migration scripts."""

from __future__ import annotations

from dcol.models.base import UTCDateTime


def render_item(type_: str, obj, autogen_context):
    """Write ``UTCDateTime`` as the plain timezone-aware DateTime it stores."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False
