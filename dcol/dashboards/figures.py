"""The figures of the staff dashboards, for one call or for every call (of one year or all).

Each function takes a ``Scope`` (see ``dcol.dashboards.scope``) and answers a small frozen dataclass, computed with aggregate
queries over the scope's calls: the number of queries depends on the number of calls (the
envelopes are read call by call through ``dcol.finance.envelopes``), never on the number of
dossiers. ``dashboard`` gathers them all for a page.

A dossier is *deposited* once it has been submitted: any state but draft, and not withdrawn
before its first deposit. A support is *signed* once its agreement is signed: in progress, final
report or closed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

from dcol.dashboards.scope import Scope, deposited, in_scope
from dcol.extensions import db
from dcol.finance.envelopes import EnvelopeLine
from dcol.finance.envelopes import calls_envelopes as envelope_lines
from dcol.i18n import theme_label
from dcol.models import (
    Alert,
    AlertKind,
    Application,
    ApplicationState,
    AuditEvent,
    Call,
    Expert,
    Mission,
    Organisation,
    OrganisationKind,
    Track,
)
from dcol.sql import json_elements
from workflows.dossier import FINAL, STATES

S = ApplicationState
ZERO = Decimal("0.00")
DAY_MS = Decimal(86_400_000)
TENTH = Decimal("0.1")

# The stages of the funnel: how many dossiers ever reached each (from the audit trail).
FUNNEL_STAGES = (S.SUBMITTED, S.ELIGIBLE, S.REVIEWED, S.SELECTED, S.AGREEMENT, S.IN_PROGRESS,
                 S.CLOSED)
SIGNED_STATES = frozenset({S.IN_PROGRESS, S.FINAL_REPORT, S.CLOSED})
MISSION_STATES = (S.IN_PROGRESS, S.FINAL_REPORT)


# --- dossiers by state and the funnel -------------------------------------------------------


@dataclass(frozen=True)
class Count:
    key: str  # the code counted (a state, a kind, a theme...) or the name (region, track)
    label: str  # French
    count: int


@dataclass(frozen=True)
class StateCounts:
    drafts: int  # not deposited yet
    abandoned_drafts: int  # withdrawn before their first deposit
    by_state: tuple[Count, ...]  # the deposited dossiers by current state, in lifecycle order

    @property
    def deposited(self) -> int:
        return sum(item.count for item in self.by_state)


def state_counts(scope: Scope) -> StateCounts:
    """Dossiers by current state (one query): drafts apart, then every other state, zeros
    included, in the order of the lifecycle."""
    never_deposited = sa.func.sum(
        sa.case((Application.first_submitted_at.is_(None), 1), else_=0))
    rows = db.session.execute(
        sa.select(Application.state, sa.func.count(Application.id), never_deposited)
        .where(in_scope(scope)).group_by(Application.state)
    ).all()
    totals = {state: (count, int(never or 0)) for state, count, never in rows}
    drafts = totals.get(S.DRAFT, (0, 0))[0]
    withdrawn, abandoned = totals.get(S.WITHDRAWN, (0, 0))
    counts = []
    for state in STATES:
        if state is S.DRAFT:
            continue
        count = withdrawn - abandoned if state is S.WITHDRAWN else totals.get(state, (0, 0))[0]
        counts.append(Count(state.value, state.label, count))
    return StateCounts(drafts=drafts, abandoned_drafts=abandoned, by_state=tuple(counts))


@dataclass(frozen=True)
class FunnelStage:
    state: ApplicationState
    label: str
    reached: int  # dossiers that ever entered this state
    percent: Decimal | None  # of the dossiers deposited (the first stage), to one decimal


def funnel(scope: Scope) -> tuple[FunnelStage, ...]:
    """How many dossiers reached each stage, read from the audit trail (one query): a dossier
    counts once per stage, however many times it entered it."""
    reached = dict(db.session.execute(
        sa.select(AuditEvent.to_state, sa.func.count(sa.distinct(AuditEvent.application_id)))
        .join(Application, Application.id == AuditEvent.application_id)
        .where(in_scope(scope), AuditEvent.to_state.in_([s.value for s in FUNNEL_STAGES]))
        .group_by(AuditEvent.to_state)
    ).all())
    first = reached.get(FUNNEL_STAGES[0].value, 0)
    return tuple(
        FunnelStage(state, state.label, reached.get(state.value, 0),
                    _percent(reached.get(state.value, 0), first))
        for state in FUNNEL_STAGES
    )


def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(100 * part) / whole).quantize(TENTH, rounding=ROUND_HALF_UP)


# --- deposited dossiers by kind of organisation, region, dimension and theme -----------------


def by_kind(scope: Scope) -> tuple[Count, ...]:
    """Deposited dossiers by kind of organisation, in the order of ``OrganisationKind``."""
    counts = dict(db.session.execute(
        sa.select(Organisation.kind, sa.func.count(Application.id))
        .join(Organisation, Organisation.id == Application.organisation_id)
        .where(in_scope(scope), deposited()).group_by(Organisation.kind)
    ).all())
    return tuple(Count(kind.value, kind.label, counts[kind])
                 for kind in OrganisationKind if counts.get(kind))


def by_region(scope: Scope) -> tuple[Count, ...]:
    """Deposited dossiers by the organisation's French region, the largest first."""
    rows = db.session.execute(
        sa.select(Organisation.region, sa.func.count(Application.id))
        .join(Organisation, Organisation.id == Application.organisation_id)
        .where(in_scope(scope), deposited()).group_by(Organisation.region)
    ).all()
    counts = [Count(region or "", region or _("Région non renseignée"), count)
              for region, count in rows]
    return tuple(sorted(counts, key=lambda item: (-item.count, item.key == "", item.label)))


def by_track(scope: Scope) -> tuple[Count, ...]:
    """Deposited dossiers by dimension (the call's tracks, *volets*), by name: across calls,
    the tracks of the same name are counted together. In the calls' order of tracks."""
    rows = db.session.execute(
        sa.select(Track.name, sa.func.min(Track.position), sa.func.count(Application.id))
        .select_from(Application)
        .outerjoin(Track, Track.id == Application.track_id)
        .where(in_scope(scope), deposited()).group_by(Track.name)
    ).all()
    rows = sorted(rows, key=lambda row: (row[0] is None, row[1] or 0, row[0] or ""))
    return tuple(Count(name or "", name or _("Sans volet"), count) for name, _position, count
                 in rows)


def by_theme(scope: Scope) -> tuple[Count, ...]:
    """Deposited dossiers by theme (a dossier counts once in each of its themes), the most
    frequent first."""
    themes = json_elements(Application.themes)
    rows = db.session.execute(
        sa.select(themes.c.value, sa.func.count(sa.distinct(Application.id)))
        .select_from(Application).join(themes, sa.true())
        .where(in_scope(scope), deposited()).group_by(themes.c.value)
    ).all()
    counts = [Count(code, theme_label(code), count) for code, count in rows]
    return tuple(sorted(counts, key=lambda item: (-item.count, item.label)))


# --- envelopes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallEnvelopes:
    """A call's envelopes as ``dcol.finance.envelopes`` reads them (the call as a whole first,
    then each funder's)."""

    call: Call
    lines: tuple[EnvelopeLine, ...]

    @property
    def whole(self) -> EnvelopeLine | None:
        return next((line for line in self.lines if line.funder is None), None)

    @property
    def committed(self) -> Decimal:
        """Committed on the call: on its envelope as a whole, or on its funders' when it has
        only those."""
        if self.whole is not None:
            return self.whole.committed
        return sum((line.committed for line in self.lines), ZERO)


def envelopes(scope: Scope) -> tuple[CallEnvelopes, ...]:
    """Each call's envelopes with what is reserved, committed and paid (a fixed number of
    queries, whatever the number of calls and dossiers)."""
    lines = envelope_lines(list(scope.calls))
    return tuple(CallEnvelopes(call, tuple(lines[call.id])) for call in scope.calls)


# --- time spent in each stage ---------------------------------------------------------------


@dataclass(frozen=True)
class StageDuration:
    state: ApplicationState
    label: str
    stays: int  # completed stays: entered, then left
    median_days: Decimal | None
    mean_days: Decimal | None
    ongoing: int  # dossiers still in the state: not counted in the median nor the mean


def stage_durations(scope: Scope) -> tuple[StageDuration, ...]:
    """How long dossiers stayed in each state before leaving it, from consecutive transitions
    of the audit trail, computed by the database (one query). A stay still running is not
    counted (``ongoing`` says how many there are). States with neither stays nor dossiers in
    them are left out."""
    by_dossier = {"partition_by": AuditEvent.application_id, "order_by": AuditEvent.sequence}
    events = (
        sa.select(AuditEvent.application_id, AuditEvent.sequence, AuditEvent.to_state,
                  AuditEvent.occurred_at,
                  sa.func.lag(AuditEvent.to_state).over(**by_dossier).label("previous"))
        .join(Application, Application.id == AuditEvent.application_id)
        .where(in_scope(scope), AuditEvent.to_state.is_not(None))
        .subquery()
    )
    # The changes of state only (an event may keep the state), each with when the next began.
    changes = (
        sa.select(events.c.to_state.label("state"), events.c.occurred_at.label("entered"),
                  sa.func.lead(events.c.occurred_at).over(
                      partition_by=events.c.application_id, order_by=events.c.sequence
                  ).label("left"))
        .where(sa.or_(events.c.previous.is_(None), events.c.previous != events.c.to_state))
        .subquery()
    )
    # Completed stays ranked by length (for the median), the running ones apart.
    running = changes.c.left.is_(None)
    part = {"partition_by": (changes.c.state, running)}
    ms = _milliseconds(changes.c.entered, changes.c.left)
    ranked = sa.select(
        changes.c.state, running.label("running"), ms.label("ms"),
        sa.func.row_number().over(**part, order_by=ms).label("rank"),
        sa.func.count().over(**part).label("n"),
    ).subquery()
    middle = sa.and_(sa.not_(ranked.c.running),
                     ranked.c.rank.in_([(ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2]))
    completed, ongoing = {}, {}
    for state, count, still, total, middles, middle_count in db.session.execute(
            sa.select(ranked.c.state,
                      sa.func.sum(sa.case((ranked.c.running, 0), else_=1)),
                      sa.func.sum(sa.case((ranked.c.running, 1), else_=0)),
                      sa.func.sum(ranked.c.ms),
                      sa.func.sum(sa.case((middle, ranked.c.ms), else_=0)),
                      sa.func.sum(sa.case((middle, 1), else_=0)))
            .group_by(ranked.c.state)):
        completed[state] = (int(count), int(total or 0), int(middles), int(middle_count))
        ongoing[state] = int(still)
    result = []
    for state in STATES:
        if state in FINAL:
            continue
        count, total, middles, middle_count = completed.get(state.value, (0, 0, 0, 0))
        if not count and not ongoing.get(state.value):
            continue
        result.append(StageDuration(
            state, state.label, count,
            _tenth(Decimal(middles) / middle_count / DAY_MS) if count else None,
            _tenth(Decimal(total) / count / DAY_MS) if count else None,
            ongoing.get(state.value, 0),
        ))
    return tuple(result)


def _milliseconds(start, end):
    """The whole milliseconds from ``start`` to ``end``, two timestamps (UTC)."""
    if db.engine.dialect.name == "postgresql":
        seconds = sa.extract("epoch", end - start)
    else:
        seconds = (sa.func.julianday(end) - sa.func.julianday(start)) * 86400
    return sa.cast(sa.func.round(seconds * 1000), sa.BigInteger)


def _tenth(value: Decimal) -> Decimal:
    return Decimal(value).quantize(TENTH, rounding=ROUND_HALF_UP)


# --- missions in progress -------------------------------------------------------------------


@dataclass(frozen=True)
class OpenAlert:
    kind: AlertKind
    label: str
    detail: str
    raised_at: datetime


@dataclass(frozen=True)
class MissionRow:
    application_id: int
    reference: str
    title: str
    state: ApplicationState
    call_code: str
    organisation: str
    expert: str | None  # None for calls for projects (no expert)
    alerts: tuple[OpenAlert, ...]


@dataclass(frozen=True)
class Missions:
    running: int  # supports in progress or in final report
    alerted: int  # of which with at least one open alert
    rows: tuple[MissionRow, ...]  # the first MISSION_ROWS: those with alerts first


# The dashboard lists this many running supports; the follow-up list (``/missions``) has them all.
MISSION_ROWS = 50


def missions_in_progress(scope: Scope) -> Missions:
    """Supports running (in progress or final report) with their open alerts (three queries):
    how many, then the first ``MISSION_ROWS``, those with alerts first, then by reference."""
    running = sa.and_(in_scope(scope), Application.state.in_(MISSION_STATES))
    alerted = (sa.select(Alert.id).where(Alert.application_id == Application.id,
                                         Alert.resolved_at.is_(None)).exists())
    count, with_alerts = db.session.execute(
        sa.select(sa.func.count(Application.id), sa.func.sum(sa.case((alerted, 1), else_=0)))
        .where(running)).one()
    rows = db.session.execute(
        sa.select(Application.id, Application.reference, Application.title, Application.state,
                  Call.code, Organisation.name, Expert.name)
        .join(Call, Call.id == Application.call_id)
        .join(Organisation, Organisation.id == Application.organisation_id)
        .outerjoin(Mission, Mission.application_id == Application.id)
        .outerjoin(Expert, Expert.id == Mission.expert_id)
        .where(running)
        .order_by(sa.case((alerted, 0), else_=1), Application.reference)
        .limit(MISSION_ROWS)
    ).all()
    alerts: dict[int, list[OpenAlert]] = defaultdict(list)
    if rows:
        for alert in db.session.scalars(
            sa.select(Alert)
            .where(Alert.application_id.in_([row[0] for row in rows]),
                   Alert.resolved_at.is_(None))
            .order_by(Alert.raised_at, Alert.id)
        ):
            alerts[alert.application_id].append(
                OpenAlert(alert.kind, alert.kind.label, alert.detail, alert.raised_at))
    return Missions(count or 0, int(with_alerts or 0), tuple(
        MissionRow(app_id, reference, title, state, call_code, organisation, expert,
                   tuple(alerts.get(app_id, ())))
        for app_id, reference, title, state, call_code, organisation, expert in rows
    ))


# --- headline figures -----------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    first_year: int | None  # the year the scope's first call opened
    deposited: int
    collectivites_supported: int  # distinct organisations with a signed support
    supports_closed: int
    supports_in_progress: int  # in progress or final report
    experts_mobilised: int  # distinct experts of the signed supports
    countries: tuple[str, ...]  # ISO codes of the signed supports' places of action
    cofinancing_committed: Decimal  # on the scope's envelopes (financial)


def headline(scope: Scope, states: StateCounts, calls_envelopes: tuple[CallEnvelopes, ...]
             ) -> Headline:
    """The headline figures (three queries), from the state counts and envelopes already
    read for the page."""
    signed = sa.and_(in_scope(scope), Application.state.in_(SIGNED_STATES))
    organisations, closed, running = db.session.execute(
        sa.select(
            sa.func.count(sa.distinct(Application.organisation_id)),
            sa.func.sum(sa.case((Application.state == S.CLOSED, 1), else_=0)),
            sa.func.sum(sa.case((Application.state.in_(MISSION_STATES), 1), else_=0)),
        ).where(signed)
    ).one()
    experts = db.session.scalar(
        sa.select(sa.func.count(sa.distinct(Mission.expert_id)))
        .join(Application, Application.id == Mission.application_id)
        .where(signed, Mission.expert_id.is_not(None))
    )
    places = json_elements(Application.countries)
    countries = db.session.scalars(
        sa.select(places.c.value).select_from(Application)
        .join(places, sa.true()).where(signed).distinct()
    ).all()
    return Headline(
        first_year=scope.first_year,
        deposited=states.deposited,
        collectivites_supported=organisations or 0,
        supports_closed=int(closed or 0),
        supports_in_progress=int(running or 0),
        experts_mobilised=experts or 0,
        countries=tuple(sorted(countries)),
        cofinancing_committed=sum((item.committed for item in calls_envelopes), ZERO),
    )


# --- per call (the page across years) -------------------------------------------------------


@dataclass(frozen=True)
class CallRow:
    call: Call
    deposited: int
    signed: int  # supports whose agreement is signed
    committed: Decimal | None  # None: the call has no envelope


def call_rows(scope: Scope, calls_envelopes: tuple[CallEnvelopes, ...]) -> tuple[CallRow, ...]:
    """Each call of the scope with its deposited dossiers and signed supports (one query)."""
    counts = {
        call_id: (deposited or 0, signed or 0)
        for call_id, deposited, signed in db.session.execute(
            sa.select(
                Application.call_id,
                sa.func.sum(sa.case((deposited(), 1), else_=0)),
                sa.func.sum(sa.case((Application.state.in_(SIGNED_STATES), 1), else_=0)),
            ).where(in_scope(scope)).group_by(Application.call_id)
        )
    }
    committed = {item.call.id: item.committed if item.lines else None for item in calls_envelopes}
    return tuple(
        CallRow(call, int(counts.get(call.id, (0, 0))[0]), int(counts.get(call.id, (0, 0))[1]),
                committed.get(call.id))
        for call in scope.calls
    )


# --- the whole dashboard ----------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    scope: Scope
    headline: Headline
    states: StateCounts
    funnel: tuple[FunnelStage, ...]
    kinds: tuple[Count, ...]
    regions: tuple[Count, ...]
    tracks: tuple[Count, ...]
    themes: tuple[Count, ...]
    envelopes: tuple[CallEnvelopes, ...]
    durations: tuple[StageDuration, ...]
    missions: Missions
    calls: tuple[CallRow, ...]


def dashboard(scope: Scope) -> Dashboard:
    """Every figure of a dashboard page, in a number of queries that depends on the number of
    calls only."""
    states = state_counts(scope)
    calls_envelopes = envelopes(scope)
    return Dashboard(
        scope=scope,
        headline=headline(scope, states, calls_envelopes),
        states=states,
        funnel=funnel(scope),
        kinds=by_kind(scope),
        regions=by_region(scope),
        tracks=by_track(scope),
        themes=by_theme(scope),
        envelopes=calls_envelopes,
        durations=stage_durations(scope),
        missions=missions_in_progress(scope),
        calls=call_rows(scope, calls_envelopes),
    )
