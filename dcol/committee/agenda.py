"""A session's agenda (*ordre du jour*) and the promotion of the waiting list.

The agenda lists the call's instructed dossiers still to decide on (``reviewed`` or
``waitlisted``) and those the session already decided, by rank in each track (the ranking of
``dcol.reviews``), with the running total of their estimated cofinancing on top of what the
call's envelope already carries (``dcol.finance.envelopes``, which the ``select`` guard reads
too: the page and the guard never disagree). A closed session's agenda is what it decided.

Promotion: when a laureate withdraws (from ``selected`` up to the agreement), its place is free
in its track; the best-ranked waitlisted dossier of that track is proposed, shown on the agenda
and mailed to the managers and to the members of the call's sessions still to be held. Nothing
is selected automatically: the committee confirms the proposal by selecting the dossier in an
open session (a decision, with its letter and the envelope's check), because selecting is the
committee's decision and not the manager's (APP_DECIDE). The manager convenes that session.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from dcol.committee.services import UNDECIDED
from dcol.extensions import db
from dcol.finance.envelopes import ENVELOPE_STATES, engaged_cofinancing, envelope_total
from dcol.models import (
    Application,
    ApplicationState,
    AuditEvent,
    Call,
    CommitteeDecision,
    CommitteeMember,
    CommitteeSession,
    SessionState,
    User,
)
from dcol.models.base import N_
from dcol.paging import Slice, slice_of
from dcol.reviews.scoring import Aggregate
from dcol.reviews.services import ranking

S = ApplicationState
# A laureate withdrawn from one of these states frees its place (later, the money is engaged).
LAUREATE_STATES = frozenset({S.SELECTED, S.MATCHING, S.EXPERT_PROPOSED, S.AGREEMENT})
# Where the dossiers a session decided may be since (they stay on its agenda).
DECIDED_STATES = frozenset(ENVELOPE_STATES | {S.REJECTED, S.WITHDRAWN})


@dataclass
class AgendaItem:
    application: Application
    track_name: str
    rank: int
    is_tied: bool
    aggregate: Aggregate
    decision: CommitteeDecision | None  # the latest taken in this session
    running_total: Decimal  # engaged beforehand + what the lines down to this one need
    exceeds_envelope: bool
    is_promotion_proposal: bool = False

    @property
    def is_undecided(self) -> bool:
        """Still to decide on (a waitlisted dossier may be selected or rejected later)."""
        return self.application.state in UNDECIDED


@dataclass
class Agenda:
    session: CommitteeSession
    page: Slice = field(default_factory=lambda: Slice([], 1, 1, 0))  # of AgendaItem
    envelope: Decimal | None = None
    engaged_before: Decimal = Decimal("0")  # the call's dossiers selected outside this agenda
    selected_total: Decimal = Decimal("0")  # selected on this agenda (and not withdrawn)

    @property
    def items(self) -> list[AgendaItem]:
        """The lines of the page asked for (every line when the agenda was not paginated)."""
        return self.page.items

    @property
    def remaining(self) -> Decimal | None:
        """What the envelope still holds for new selections."""
        if self.envelope is None:
            return None
        return self.envelope - self.engaged_before - self.selected_total


def agenda(session: CommitteeSession, page: int = 1, per_page: int | None = None) -> Agenda:
    """The session's agenda in ranking order per track, with the running total against the
    envelope and the promotion proposals (a fixed number of queries). Ranks, running totals
    and the agenda's totals cover every line; the lines themselves (dossier, collectivité,
    decision) are loaded for page ``page`` of ``per_page`` only (every line without
    ``per_page``)."""
    call = session.call
    is_closed = session.state is SessionState.CLOSED
    states = frozenset(UNDECIDED | DECIDED_STATES)
    decided = sa.select(CommitteeDecision.application_id).where(
        CommitteeDecision.session_id == session.id)
    shown = Application.id.in_(decided)
    if not is_closed:
        shown = sa.or_(shown, Application.state.in_(UNDECIDED))
    on_agenda = sa.select(Application.id).where(
        Application.call_id == call.id, Application.state.in_(states), shown)
    result = Agenda(session, envelope=envelope_total(call.id),
                    engaged_before=engaged_cofinancing(call.id, excluding=on_agenda))
    listed = {row.id: row.state for row in db.session.execute(
        sa.select(Application.id, Application.state).where(
            Application.id.in_(on_agenda.scalar_subquery())))}
    tracks = ranking(call, states)
    proposals = set(promotion_proposals(call)) if not is_closed else set()
    running = result.engaged_before
    lines = []
    for track in tracks:
        for entry in track.ranked:
            state = listed.get(entry.candidate.application_id)
            if state is None:
                continue
            amount = entry.candidate.estimated_cofinancing or Decimal("0")
            if state in UNDECIDED or state in ENVELOPE_STATES:
                running += amount  # what the envelope needs if it is (or stays) selected
            if state in ENVELOPE_STATES:
                result.selected_total += amount
            lines.append((entry, track.track_name, running))
    shown_lines = slice_of(lines, page, per_page or max(1, len(lines)))
    ids = [entry.candidate.application_id for entry, _name, _total in shown_lines.items]
    applications = {a.id: a for a in db.session.scalars(
        sa.select(Application).options(joinedload(Application.organisation),
                                       joinedload(Application.track))
        .where(Application.id.in_(ids)))} if ids else {}
    decisions = {d.application_id: d for d in db.session.scalars(
        sa.select(CommitteeDecision).where(CommitteeDecision.session_id == session.id,
                                           CommitteeDecision.application_id.in_(ids))
        .order_by(CommitteeDecision.decided_at, CommitteeDecision.id))} if ids else {}
    result.page = Slice([
        AgendaItem(
            application=applications[entry.candidate.application_id],
            track_name=track_name, rank=entry.rank, is_tied=entry.is_tied,
            aggregate=entry.candidate.aggregate,
            decision=decisions.get(entry.candidate.application_id),  # the latest wins
            running_total=running_total,
            exceeds_envelope=result.envelope is not None and running_total > result.envelope,
            is_promotion_proposal=entry.candidate.application_id in proposals,
        )
        for entry, track_name, running_total in shown_lines.items
    ], shown_lines.page, shown_lines.per_page, shown_lines.total)
    return result


# --- promotion of the waiting list --------------------------------------------------------------


def _free_places(call: Call) -> dict[int | None, int]:
    """Per track, the places freed by withdrawn laureates and not yet filled from the waiting
    list, in the order things happened (a waitlisted dossier selected before any withdrawal
    fills no place)."""
    events = db.session.execute(
        sa.select(Application.track_id, AuditEvent.event)
        .join(AuditEvent, AuditEvent.application_id == Application.id)
        .where(Application.call_id == call.id, sa.or_(
            sa.and_(AuditEvent.event == "withdraw",
                    AuditEvent.from_state.in_([s.value for s in LAUREATE_STATES])),
            sa.and_(AuditEvent.event == "select", AuditEvent.from_state == S.WAITLISTED.value),
        ))
        .order_by(AuditEvent.occurred_at, AuditEvent.id)
    ).all()
    free: dict[int | None, int] = defaultdict(int)
    for track_id, event in events:
        if event == "withdraw":
            free[track_id] += 1
        elif free[track_id]:
            free[track_id] -= 1
    return {track_id: count for track_id, count in free.items() if count}


def promotion_proposals(call: Call) -> list[int]:
    """The waitlisted dossiers proposed for promotion: in each track, as many of the
    best-ranked waitlisted dossiers as there are places freed by withdrawn laureates."""
    places = _free_places(call)
    if not places:
        return []
    proposals = []
    for track in ranking(call, frozenset({S.WAITLISTED})):
        proposals += [entry.candidate.application_id
                      for entry in track.ranked[:places.get(track.track_id, 0)]]
    return proposals


def announce_freed_place(withdrawn: Application) -> Application | None:
    """A laureate is being withdrawn (called by the workflow, before the withdrawal's audit
    entry): tell the managers, and the members of the call's sessions still to be held, which
    waitlisted dossier of its track is now proposed for promotion (the managers alone, when the
    waiting list is empty). Returns the proposed dossier."""
    from dcol.mail import external_url, queue_notice
    from workflows.notifications import manager_users

    already = set(promotion_proposals(withdrawn.call))
    track = next((t for t in ranking(withdrawn.call, frozenset({S.WAITLISTED}))
                  if t.track_id == withdrawn.track_id), None)
    candidates = [entry.candidate.application_id for entry in track.ranked
                  if entry.candidate.application_id not in already] if track else []
    link = external_url("committee.index", call_id=withdrawn.call_id)
    if not candidates:
        for manager in manager_users():
            queue_notice(
                manager, N_("Place libérée par %(withdrawn)s"),
                N_("Le dossier retenu %(withdrawn)s (%(organisation)s) a été retiré. Aucun "
                   "dossier de son volet n'est en liste d'attente : rien n'est proposé pour "
                   "promotion."),
                link, withdrawn=withdrawn.reference, organisation=withdrawn.organisation.name)
        return None
    proposed = db.session.get(Application, candidates[0])
    members = db.session.scalars(
        sa.select(User).join(CommitteeMember, CommitteeMember.user_id == User.id)
        .join(CommitteeSession, CommitteeMember.session_id == CommitteeSession.id)
        .where(CommitteeSession.call_id == withdrawn.call_id,
               CommitteeSession.state != SessionState.CLOSED, User.is_enabled.is_(True))
    ).all()
    for user in {user.id: user for user in [*manager_users(), *members]}.values():
        queue_notice(
            user, N_("Place libérée : %(reference)s proposé pour promotion"),
            N_("Le dossier retenu %(withdrawn)s a été retiré. Le premier dossier de la liste "
               "d'attente du volet, %(reference)s (%(organisation)s), est proposé pour "
               "promotion : un membre présent du comité la confirme en le retenant en séance."),
            link, withdrawn=withdrawn.reference, reference=proposed.reference,
            organisation=proposed.organisation.name)
    return proposed
