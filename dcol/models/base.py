"""Declarative base, column types and enum helpers shared by every model."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names, so that Alembic migrations name them the same on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def N_(text: str) -> str:
    """Mark a string for translation where it is defined; it is translated where it is shown."""
    return text


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator):
    """A timezone-aware datetime stored in UTC on every database (SQLite drops offsets)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused: give a timezone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


Money = sa.Numeric(12, 2, asdecimal=True)
Rate = sa.Numeric(7, 4, asdecimal=True)  # a percentage such as 80.0000


class LabelledEnum(enum.StrEnum):
    """An enum whose values are English codes and whose ``label`` is the French text shown.

    Subclasses declare ``LABELS = {member_value: lazy_gettext("Libellé")}`` after the members.
    """

    @property
    def label(self) -> str:
        return str(type(self).labels()[self.value])

    @classmethod
    def labels(cls) -> dict:
        return cls._labels  # type: ignore[attr-defined]

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(member.value, member.label) for member in cls]

    def __str__(self) -> str:
        return self.value


def labelled(labels: dict[str, str]):
    """Class decorator attaching French labels (translatable) to a ``LabelledEnum``."""

    def attach(cls):
        missing = {member.value for member in cls} - set(labels)
        if missing:
            raise TypeError(f"{cls.__name__} lacks labels for {sorted(missing)}")
        cls._labels = {key: lazy_gettext(text) for key, text in labels.items()}
        return cls

    return attach


def enum_column(enum_cls: type[enum.Enum], **kwargs) -> sa.Enum:
    """Store an enum as its value in a VARCHAR with a named CHECK constraint."""
    return sa.Enum(
        enum_cls,
        name=enum_cls.__name__.lower(),
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda cls: [member.value for member in cls],
        validate_strings=True,
        **kwargs,
    )


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), Decimal: Money}


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
