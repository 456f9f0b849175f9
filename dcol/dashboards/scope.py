"""What a dashboard covers: one call, or every call (of one year or all), and the SQL pieces
the figures share."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from dcol.extensions import db
from dcol.i18n import PARIS
from dcol.models import Application, ApplicationState, Call, Envelope

S = ApplicationState


@dataclass(frozen=True)
class Scope:
    """The calls a dashboard covers: one call, or every call (opened in ``year`` if given)."""

    calls: tuple[Call, ...]
    call: Call | None = None
    year: int | None = None
    # The years in which calls opened (Europe/Paris), for the filter of the page across years.
    years: tuple[int, ...] = ()

    @property
    def call_ids(self) -> list[int]:
        return [call.id for call in self.calls]

    @property
    def first_year(self) -> int | None:
        return min((opening_year(call) for call in self.calls), default=None)


def opening_year(call: Call) -> int:
    return call.opens_at.astimezone(PARIS).year


def calls_query() -> sa.Select:
    # The envelopes and their funders are loaded with the calls: ``call_envelopes`` reads them.
    return sa.select(Call).options(
        selectinload(Call.envelopes).selectinload(Envelope.funder)
    ).order_by(Call.opens_at, Call.id)


def call_scope(call: Call) -> Scope:
    """One call's dashboard."""
    call = db.session.scalars(calls_query().where(Call.id == call.id)).one()
    return Scope(calls=(call,), call=call, year=opening_year(call),
                 years=(opening_year(call),))


def years_scope(year: int | None = None) -> Scope:
    """Every call, or those that opened in ``year`` (Europe/Paris), oldest first."""
    calls = tuple(db.session.scalars(calls_query()))
    years = tuple(sorted({opening_year(call) for call in calls}))
    if year is not None:
        calls = tuple(call for call in calls if opening_year(call) == year)
    return Scope(calls=calls, year=year, years=years)


def in_scope(scope: Scope):
    """The dossiers of the scope's calls."""
    return Application.call_id.in_(scope.call_ids)


def deposited():
    """Deposited dossiers: submitted at least once (any state but draft, and not withdrawn
    before their first deposit)."""
    return sa.and_(
        Application.state != S.DRAFT,
        sa.or_(Application.state != S.WITHDRAWN, Application.first_submitted_at.is_not(None)),
    )
