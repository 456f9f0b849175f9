"""A call's envelope: what it holds and what is already engaged on it. The ``select`` guard and
the committee's agenda both read it here, so that they never disagree."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from dcol.extensions import db
from dcol.models import Application, ApplicationState, Envelope

# Dossiers whose cofinancing counts against the call's envelope (reserved, committed or paid).
ENVELOPE_STATES = frozenset({
    ApplicationState.SELECTED,
    ApplicationState.MATCHING,
    ApplicationState.EXPERT_PROPOSED,
    ApplicationState.AGREEMENT,
    ApplicationState.IN_PROGRESS,
    ApplicationState.FINAL_REPORT,
    ApplicationState.CLOSED,
})


def envelope_total(call_id: int) -> Decimal | None:
    """The scheme's own envelope of the call (envelopes without a funder), or every envelope
    when all have a funder; None when the call has none."""
    total = db.session.scalar(sa.select(sa.func.sum(Envelope.amount)).where(
        Envelope.call_id == call_id, Envelope.funder_id.is_(None)))
    if total is None:
        total = db.session.scalar(
            sa.select(sa.func.sum(Envelope.amount)).where(Envelope.call_id == call_id))
    return Decimal(total) if total is not None else None


def engaged_cofinancing(call_id: int, excluding: list[int] | tuple[int, ...] = ()) -> Decimal:
    """The estimated cofinancing of the call's dossiers already selected (or further along),
    apart from ``excluding``."""
    query = sa.select(sa.func.coalesce(sa.func.sum(Application.estimated_cofinancing), 0)).where(
        Application.call_id == call_id, Application.state.in_(ENVELOPE_STATES))
    if excluding:
        query = query.where(Application.id.not_in(list(excluding)))
    return Decimal(db.session.scalar(query))
