"""Find-or-create by natural key: what makes the demonstration data idempotent.

Every row is found by its natural key (SIREN, e-mail, call code, dossier reference...) and
created only when missing; the declared values are then applied, attribute by attribute and only
where they differ, so that a second run issues no UPDATE at all (``updated_at`` and the dossier's
``version`` stay as they were). Moments that only make sense once (creation dates, password
hashes) are set at creation.

Re-running the seed on a database used for a demonstration brings the reference data (accounts,
organisations, experts, calls) back to its declared values; dossiers and everything that happened
to them are only ever created, never rewritten, so that the workflow's changes and their audit
trail stay consistent. To replay the demonstration from the start, seed an empty database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa

from dcol.extensions import db
from dcol.models import (
    Call,
    CofinancingRule,
    CommitteeSession,
    Criterion,
    EligibilityItem,
    Expert,
    Funder,
    Organisation,
    Track,
    User,
)


@dataclass
class Refs:
    """The rows seeded so far, by natural key, for the steps that point at them."""

    funders: dict[str, Funder] = field(default_factory=dict)
    organisations: dict[str, Organisation] = field(default_factory=dict)
    experts: dict[str, Expert] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    calls: dict[str, Call] = field(default_factory=dict)
    tracks: dict[tuple[str, str], Track] = field(default_factory=dict)
    items: dict[str, list[EligibilityItem]] = field(default_factory=dict)
    criteria: dict[str, list[Criterion]] = field(default_factory=dict)
    rules: dict[str, CofinancingRule] = field(default_factory=dict)
    sessions: dict[str, CommitteeSession] = field(default_factory=dict)

    def user_id(self, email: str | None) -> int | None:
        return self.users[email].id if email else None


def upsert(model, key: dict, values: dict | None = None, *, on_create: dict | None = None):
    """The row of ``model`` with these key values, created if missing; ``values`` are applied
    either way (only where they differ), ``on_create`` only to a new row."""
    values = values or {}
    row = db.session.scalars(sa.select(model).filter_by(**key)).one_or_none()
    if row is None:
        row = model(**key, **values, **(on_create or {}))
        db.session.add(row)
        db.session.flush()
        return row
    assign(row, values)
    return row


def assign(row, values: dict) -> None:
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)


def money(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)
