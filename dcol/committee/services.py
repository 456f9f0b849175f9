"""Selection committees: sessions (date, place, members, quorum, attendance), the agenda of the
call's instructed dossiers by rank with the running total of their estimated cofinancing against
the envelope, the decisions, and the promotion of a waitlisted dossier when a laureate withdraws.

A session goes planned → open → closed. The manager plans it, records who is present and opens
it once the quorum is reached; present members then decide, one dossier or several at a time.
Each decision is the dossier's workflow event (``select``, ``waitlist``, ``reject``) fired by the
member, plus a ``CommitteeDecision`` row, in the caller's transaction: a batch is all or nothing
(the view commits once, or rolls everything back). Operations flush only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from dcol.extensions import db
from dcol.finance.envelopes import ENVELOPE_STATES, engaged_cofinancing, envelope_total
from dcol.i18n import PARIS
from dcol.models import (
    Application,
    ApplicationState,
    AuditEvent,
    Call,
    CommitteeDecision,
    CommitteeMember,
    CommitteeSession,
    Decision,
    Role,
    SessionState,
    User,
    utcnow,
)
from dcol.permissions import Action, can
from dcol.reviews.scoring import Aggregate
from dcol.reviews.services import ranking
from workflows import engine
from workflows.engine import Forbidden, InvalidInput, NotApplicable, NotVisible

S = ApplicationState
# The dossiers a committee decides on; and those it already decided, which stay on the agenda.
UNDECIDED = frozenset({S.REVIEWED, S.WAITLISTED})
EVENT_OF = {Decision.SELECT: "select", Decision.WAITLIST: "waitlist", Decision.REJECT: "reject"}
# A laureate withdrawn from one of these states frees its place.
LAUREATE_STATES = frozenset({S.SELECTED, S.MATCHING, S.EXPERT_PROPOSED, S.AGREEMENT})
MAX_TITLE = 200


class SessionRefused(InvalidInput):
    """Invalid session details: ``errors`` maps each field to its French message."""

    def __init__(self, message: str, errors: dict[str, str]):
        super().__init__(message, list(errors.values()))
        self.errors = errors


class DecisionsRefused(engine.WorkflowError):
    """A batch of decisions of which at least one is refused: none is applied. ``refusals``
    maps each refused dossier's reference to its reasons; ``status`` is the worst refusal's."""

    def __init__(self, refusals: dict[str, list[str]], status: int):
        super().__init__(
            _("Aucune décision n'a été enregistrée : %(count)s dossier(s) ne peuvent pas l'être "
              "ainsi.", count=len(refusals)),
            [f"{reference} : {' '.join(reasons)}" for reference, reasons in refusals.items()],
        )
        self.refusals = refusals
        self.status = status


# --- sessions ---------------------------------------------------------------------------------


def sessions_of(call: Call, user: User) -> list[CommitteeSession]:
    """The call's sessions ``user`` may see (all for CUF staff, their own for a member)."""
    sessions = db.session.scalars(
        sa.select(CommitteeSession)
        .options(selectinload(CommitteeSession.members).joinedload(CommitteeMember.user))
        .where(CommitteeSession.call_id == call.id)
        .order_by(CommitteeSession.held_at.desc(), CommitteeSession.id.desc())
    ).all()
    return [session for session in sessions if can(user, Action.SESSION_VIEW, session)]


def committee_pool() -> list[User]:
    return list(db.session.scalars(
        sa.select(User).where(User.is_enabled.is_(True), User.role_rows.any(role=Role.COMMITTEE))
        .order_by(User.full_name, User.id)))


def _parse_details(data: dict) -> tuple[dict, dict[str, str]]:
    errors: dict[str, str] = {}
    title = (data.get("title") or "").strip()
    if not title:
        errors["title"] = _("Donnez un intitulé à la séance.")
    elif len(title) > MAX_TITLE:
        errors["title"] = _("Intitulé trop long (%(max)s caractères au plus).", max=MAX_TITLE)
    location = (data.get("location") or "").strip()
    if len(location) > MAX_TITLE:
        errors["location"] = _("Lieu trop long (%(max)s caractères au plus).", max=MAX_TITLE)
    held_at = None
    try:
        day = data.get("date")
        day = day if isinstance(day, date) else date.fromisoformat(str(day or "").strip())
        hour = data.get("time") or "09:30"
        hour = hour if isinstance(hour, time) else time.fromisoformat(str(hour).strip())
        held_at = datetime.combine(day, hour, tzinfo=PARIS)
    except ValueError:
        errors["date"] = _("Indiquez la date et l'heure de la séance (heure de Paris).")
    try:
        quorum = int(str(data.get("quorum", "")).strip())
        if quorum < 1:
            raise ValueError
    except ValueError:
        quorum = None
        errors["quorum"] = _("Le quorum est un nombre entier d'au moins 1.")
    member_ids = []
    for raw in data.get("member_ids") or []:
        try:
            member_ids.append(int(raw))
        except (TypeError, ValueError):
            errors["member_ids"] = _("Membre inconnu.")
    pool = {user.id: user for user in committee_pool()}
    members = [pool[i] for i in dict.fromkeys(member_ids) if i in pool]
    if len(members) != len(set(member_ids)):
        errors["member_ids"] = _("Seuls des membres du comité de sélection peuvent siéger.")
    elif not members:
        errors["member_ids"] = _("Choisissez les membres qui siègent.")
    elif quorum is not None and quorum > len(members):
        errors["quorum"] = _("Le quorum (%(quorum)s) dépasse le nombre de membres (%(count)s).",
                             quorum=quorum, count=len(members))
    return {"title": title, "location": location, "held_at": held_at, "quorum": quorum,
            "members": members}, errors


def save_session(call: Call, manager: User, data: dict,
                 session: CommitteeSession | None = None) -> CommitteeSession:
    """Plan a session of ``call`` (or change a planned one): title, date and time (Paris),
    location, quorum and members (users with the committee role)."""
    if not can(manager, Action.CALL_MANAGE, call):
        raise Forbidden(_("Seul le chargé de mission organise les séances du comité."))
    if session is not None and session.state is not SessionState.PLANNED:
        raise NotApplicable(_("Une séance ouverte ou close ne se modifie plus."))
    details, errors = _parse_details(data)
    if errors:
        raise SessionRefused(_("La séance n'a pas été enregistrée : corrigez les champs "
                               "signalés."), errors)
    if session is None:
        session = CommitteeSession(call_id=call.id, created_by_id=manager.id)
        db.session.add(session)
    session.title, session.location = details["title"], details["location"]
    session.held_at, session.quorum = details["held_at"], details["quorum"]
    wanted = {user.id for user in details["members"]}
    for member in list(session.members):
        if member.user_id not in wanted:
            session.members.remove(member)
    present = {member.user_id for member in session.members}
    for user in details["members"]:
        if user.id not in present:
            session.members.append(CommitteeMember(user_id=user.id, is_present=False))
    db.session.flush()
    return session


def _require_manager(session: CommitteeSession, manager: User) -> None:
    if not can(manager, Action.CALL_MANAGE, session.call):
        raise Forbidden(_("Seul le chargé de mission conduit la séance."))


def record_attendance(session: CommitteeSession, manager: User, present_ids: set[int]) -> None:
    """Who is present (members only), until the session is closed."""
    _require_manager(session, manager)
    if session.state is SessionState.CLOSED:
        raise NotApplicable(_("La séance est close : les présences ne se modifient plus."))
    members = {member.user_id for member in session.members}
    if set(present_ids) - members:
        raise InvalidInput(_("Seuls les membres de la séance peuvent être présents."))
    for member in session.members:
        member.is_present = member.user_id in present_ids
    if session.state is SessionState.OPEN and not quorum_reached(session):
        raise NotApplicable(_("Le quorum ne serait plus atteint : la séance est ouverte."))
    db.session.flush()


def members_of(session: CommitteeSession) -> list[CommitteeMember]:
    """The session's members, by name."""
    return sorted(session.members, key=lambda m: (m.user.full_name, m.user_id))


def present_members(session: CommitteeSession) -> list[CommitteeMember]:
    return [member for member in members_of(session) if member.is_present]


def quorum_reached(session: CommitteeSession) -> bool:
    return len(present_members(session)) >= session.quorum


def open_session(session: CommitteeSession, manager: User) -> None:
    _require_manager(session, manager)
    if session.state is not SessionState.PLANNED:
        raise NotApplicable(_("Seule une séance prévue peut être ouverte."))
    if not quorum_reached(session):
        raise NotApplicable(_("Quorum non atteint : %(present)s membre(s) présent(s) sur "
                              "%(quorum)s requis.", present=len(present_members(session)),
                              quorum=session.quorum))
    session.state = SessionState.OPEN
    db.session.flush()


def close_session(session: CommitteeSession, manager: User) -> None:
    _require_manager(session, manager)
    if session.state is not SessionState.OPEN:
        raise NotApplicable(_("Seule une séance ouverte peut être close."))
    session.state = SessionState.CLOSED
    db.session.flush()


# --- agenda -----------------------------------------------------------------------------------


@dataclass
class AgendaItem:
    application: Application
    track_name: str
    rank: int
    is_tied: bool
    aggregate: Aggregate
    decision: CommitteeDecision | None  # taken in this session
    running_total: Decimal  # engaged before the agenda + cofinancing down to this line
    exceeds_envelope: bool
    is_promotion_proposal: bool = False

    @property
    def is_undecided(self) -> bool:
        """Still to decide on (a waitlisted dossier may be selected or rejected later)."""
        return self.application.state in UNDECIDED


@dataclass
class Agenda:
    session: CommitteeSession
    items: list[AgendaItem] = field(default_factory=list)
    envelope: Decimal | None = None
    engaged_before: Decimal = Decimal("0")  # dossiers of the call selected outside this agenda
    selected_total: Decimal = Decimal("0")  # selected on this agenda

    @property
    def remaining(self) -> Decimal | None:
        if self.envelope is None:
            return None
        return self.envelope - self.engaged_before - self.selected_total


def agenda(session: CommitteeSession) -> Agenda:
    """The dossiers the session decides on (instructed, not yet decided, or waitlisted), and those
    it decided, in ranking order per track, with the running total of their estimated cofinancing
    on top of what the call has already engaged (a fixed number of queries)."""
    decisions = {d.application_id: d for d in db.session.scalars(
        sa.select(CommitteeDecision).where(CommitteeDecision.session_id == session.id)
        .order_by(CommitteeDecision.decided_at))}  # the latest decision of a dossier wins
    states = frozenset(UNDECIDED | {S.SELECTED, S.REJECTED, S.MATCHING, S.EXPERT_PROPOSED,
                                    S.AGREEMENT, S.WITHDRAWN})
    tracks = ranking(session.call, states)
    ids = [entry.candidate.application_id for track in tracks for entry in track.ranked]
    applications = {a.id: a for a in db.session.scalars(
        sa.select(Application).options(joinedload(Application.organisation))
        .where(Application.id.in_(ids)))}
    result = Agenda(session, envelope=envelope_total(session.call_id))
    on_agenda = [i for i in ids if applications[i].state in UNDECIDED or i in decisions]
    result.engaged_before = engaged_cofinancing(session.call_id, excluding=on_agenda)
    proposals = set(promotion_proposals(session.call))
    running = result.engaged_before
    for track in tracks:
        for entry in track.ranked:
            application = applications[entry.candidate.application_id]
            if application.id not in on_agenda:
                continue
            amount = application.estimated_cofinancing or Decimal("0")
            if application.state in UNDECIDED or application.state in ENVELOPE_STATES:
                running += amount  # what the envelope needs if it is (or stays) selected
            if application.state in ENVELOPE_STATES:
                result.selected_total += amount
            result.items.append(AgendaItem(
                application=application, track_name=track.track_name, rank=entry.rank,
                is_tied=entry.is_tied, aggregate=entry.candidate.aggregate,
                decision=decisions.get(application.id), running_total=running,
                exceeds_envelope=result.envelope is not None and running > result.envelope,
                is_promotion_proposal=application.id in proposals,
            ))
    return result


# --- decisions --------------------------------------------------------------------------------


def decide(session: CommitteeSession, member: User,
           decisions: list[tuple[int, str, str]]) -> list[CommitteeDecision]:
    """Apply ``decisions`` (each: dossier id, "select" | "waitlist" | "reject", reason) taken in
    the open session by a present member, in the caller's transaction. All or nothing: when one
    is refused, nothing is applied and ``DecisionsRefused`` says which and why."""
    if not can(member, Action.SESSION_VIEW, session):
        raise NotVisible(_("Séance introuvable."))
    if not can(member, Action.SESSION_DECIDE, session):
        raise Forbidden(_("Seuls les membres de la séance décident."))
    if session.state is not SessionState.OPEN:
        raise NotApplicable(_("La séance n'est pas ouverte : aucune décision ne peut être prise."))
    seat = next(m for m in session.members if m.user_id == member.id)
    if not seat.is_present:
        raise Forbidden(_("Seuls les membres présents à la séance décident."))
    if not decisions:
        raise InvalidInput(_("Aucune décision à enregistrer."))
    refusals: dict[str, list[str]] = {}
    worst = 0
    rows: list[CommitteeDecision] = []
    for application_id, raw_decision, reason in decisions:
        application = db.session.get(Application, application_id)
        if application is None or application.call_id != session.call_id:
            refusals[str(application_id)] = [_("Ce dossier n'est pas à l'ordre du jour.")]
            worst = max(worst, 404)
            continue
        try:
            decision = Decision(raw_decision)
        except ValueError:
            refusals[application.reference] = [_("Décision inconnue.")]
            worst = max(worst, 422)
            continue
        try:
            engine.fire(application, EVENT_OF[decision], member, comment=reason or "",
                        commit=False)
        except engine.WorkflowError as error:
            refusals[application.reference] = [error.message, *error.problems]
            worst = max(worst, error.status)
            continue
        row = CommitteeDecision(session_id=session.id, application_id=application.id,
                                decision=decision, reason=(reason or "").strip(),
                                decided_at=utcnow(), decided_by_id=member.id)
        db.session.add(row)
        rows.append(row)
    if refusals:
        raise DecisionsRefused(refusals, worst)
    db.session.flush()
    return rows


# --- promotion of the waitlist ------------------------------------------------------------------


def promotion_proposals(call: Call) -> list[int]:
    """The waitlisted dossiers proposed for promotion: in each track, as many of the best-ranked
    waitlisted dossiers as laureates withdrew there, less those already promoted."""
    withdrawn = db.session.execute(
        sa.select(Application.track_id, sa.func.count())
        .join(AuditEvent, AuditEvent.application_id == Application.id)
        .where(Application.call_id == call.id, AuditEvent.event == "withdraw",
               AuditEvent.from_state.in_([s.value for s in LAUREATE_STATES]))
        .group_by(Application.track_id)
    ).all()
    if not withdrawn:
        return []
    promoted = dict(db.session.execute(
        sa.select(Application.track_id, sa.func.count())
        .join(AuditEvent, AuditEvent.application_id == Application.id)
        .where(Application.call_id == call.id, AuditEvent.event == "select",
               AuditEvent.from_state == S.WAITLISTED.value)
        .group_by(Application.track_id)
    ).all())
    places = {track_id: count - promoted.get(track_id, 0) for track_id, count in withdrawn}
    proposals = []
    for track in ranking(call, frozenset({S.WAITLISTED})):
        free = places.get(track.track_id, 0)
        proposals += [entry.candidate.application_id for entry in track.ranked[:max(0, free)]]
    return proposals


def announce_freed_place(withdrawn: Application) -> Application | None:
    """A laureate is being withdrawn (called by the workflow before its audit entry is written):
    tell the managers and the members of the call's sessions still to be held which waitlisted
    dossier is now proposed for promotion, if any. A present member confirms it by selecting
    it in an open session. Returns the proposed dossier."""
    from dcol.mail import external_url, queue_notice
    from dcol.models.base import N_
    from workflows.notifications import manager_users

    already = set(promotion_proposals(withdrawn.call))
    (track,) = [t for t in ranking(withdrawn.call, frozenset({S.WAITLISTED}))
                if t.track_id == withdrawn.track_id] or [None]
    if track is None:
        return None
    candidates = [entry for entry in track.ranked
                  if entry.candidate.application_id not in already]
    if not candidates:
        return None
    proposed = db.session.get(Application, candidates[0].candidate.application_id)
    members = db.session.scalars(
        sa.select(User).join(CommitteeMember, CommitteeMember.user_id == User.id)
        .join(CommitteeSession, CommitteeMember.session_id == CommitteeSession.id)
        .where(CommitteeSession.call_id == withdrawn.call_id,
               CommitteeSession.state != SessionState.CLOSED).distinct()).all()
    link = external_url("committee.index", call_id=withdrawn.call_id)
    for user in {user.id: user for user in [*manager_users(), *members]}.values():
        queue_notice(
            user, N_("Place libérée : %(reference)s proposé pour promotion"),
            N_("Le dossier retenu %(withdrawn)s a été retiré. Le premier dossier de la liste "
               "d'attente du volet, %(reference)s (%(organisation)s), est proposé pour "
               "promotion : un membre présent du comité la confirme en le retenant en séance."),
            link, withdrawn=withdrawn.reference, reference=proposed.reference,
            organisation=proposed.organisation.name)
    return proposed
