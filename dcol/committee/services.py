"""Selection committees: sessions (date, place, members, quorum, attendance) and their decisions.

A session goes planned → open → closed. The call's manager plans it (title, date and time in
Paris, location, quorum, members chosen among the users with the committee role), records who
is present, opens it once the quorum is reached and closes it. While it is open, a member present
decides on the agenda's dossiers (``dcol.committee.agenda``), one or several at a time.

A decision is the dossier's workflow event (``select``, ``waitlist``, ``reject``) fired by the
member; the workflow's effects record the ``CommitteeDecision`` against the session and write the
decision letter, in the same transaction (so a decision fired from the dossier page or the API's
``/events`` is recorded just the same). Who may decide is ``dcol.permissions``' APP_DECIDE and
SESSION_DECIDE. Operations flush only; the caller commits.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from dcol.extensions import db, savepoint
from dcol.i18n import PARIS
from dcol.models import (
    Application,
    ApplicationState,
    Call,
    CommitteeDecision,
    CommitteeMember,
    CommitteeSession,
    Decision,
    Role,
    SessionState,
    User,
)
from dcol.permissions import (
    Action,
    can,
    has_quorum,
    open_sessions_sat_at,
    present_count,
    seat_of,
)
from workflows import engine
from workflows.engine import Forbidden, InvalidInput, NotApplicable, NotVisible

S = ApplicationState
# The dossiers a committee decides on (a waitlisted dossier may still be selected or rejected).
UNDECIDED = frozenset({S.REVIEWED, S.WAITLISTED})
EVENT_OF = {Decision.SELECT: "select", Decision.WAITLIST: "waitlist", Decision.REJECT: "reject"}
DECISION_OF = {event: decision for decision, event in EVENT_OF.items()}
MAX_TEXT = 200  # title and location
MAX_REASON = 5000
MAX_DATABASE_ID = 2**31 - 1
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100
DEFAULT_TIME = time(9, 30)

# The session a batch of decisions is being taken in, for the effect that records them (a
# member could sit at two open sessions of the same call).
_SITTING: ContextVar[int | None] = ContextVar("committee_sitting_session", default=None)


class SessionRefused(InvalidInput):
    """Invalid session details: ``errors`` maps each field to its French message."""

    def __init__(self, message: str, errors: dict[str, str]):
        super().__init__(message, list(errors.values()))
        self.errors = errors


class DecisionsRefused(engine.BatchRefused):
    """A batch of decisions of which at least one is refused: none is applied."""

    def __init__(self, refusals: dict[str, list[str]], status: int):
        super().__init__(
            _("Aucune décision n'a été enregistrée : %(count)s dossier(s) ne peuvent pas l'être "
              "ainsi.", count=len(refusals)), refusals, status)


# --- sessions ---------------------------------------------------------------------------------


def sessions_of(call: Call, user: User) -> list[CommitteeSession]:
    """The call's sessions ``user`` may see (all for CUF staff, their own for a member), latest
    first, members loaded."""
    sessions = db.session.scalars(
        sa.select(CommitteeSession)
        .options(selectinload(CommitteeSession.members).joinedload(CommitteeMember.user))
        .where(CommitteeSession.call_id == call.id)
        .order_by(CommitteeSession.held_at.desc(), CommitteeSession.id.desc())
    ).all()
    return [session for session in sessions if can(user, Action.SESSION_VIEW, session)]


def committee_pool() -> list[User]:
    """Who may sit on a session: enabled users with the committee role."""
    return list(db.session.scalars(
        sa.select(User).where(User.is_enabled.is_(True), User.role_rows.any(role=Role.COMMITTEE))
        .order_by(User.full_name, User.id)))


def parse_moment(data: dict) -> datetime | None:
    """When the session is held, in UTC: ``held_at`` (ISO 8601; Paris time without an offset)
    or ``date`` (YYYY-MM-DD) and ``time`` (HH:MM, Paris; 09:30 by default). None if invalid."""
    try:
        if data.get("held_at") not in (None, ""):
            raw = data["held_at"]
            moment = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw).strip())
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=PARIS)
        else:
            raw_day, raw_time = data.get("date"), data.get("time")
            day = raw_day if isinstance(raw_day, date) else date.fromisoformat(
                str(raw_day or "").strip())
            hour = raw_time if isinstance(raw_time, time) else (
                time.fromisoformat(str(raw_time).strip()) if str(raw_time or "").strip()
                else DEFAULT_TIME)
            moment = datetime.combine(day, hour.replace(tzinfo=None), tzinfo=PARIS)
        moment = moment.astimezone(UTC)
    except (ValueError, TypeError, OverflowError):
        return None
    return moment if EARLIEST_YEAR <= moment.year <= LATEST_YEAR else None


def _member_ids(raw_ids) -> list[int] | None:
    if isinstance(raw_ids, str | bytes) or not hasattr(raw_ids, "__iter__"):
        return None
    ids = []
    for raw in raw_ids:
        if isinstance(raw, bool):
            return None
        try:
            ids.append(int(str(raw).strip()))
        except ValueError:
            return None
    return list(dict.fromkeys(ids))


def _parse_details(data: dict) -> tuple[dict, dict[str, str]]:
    errors: dict[str, str] = {}
    title = str(data.get("title") or "").strip()
    if not title:
        errors["title"] = _("Donnez un intitulé à la séance.")
    elif len(title) > MAX_TEXT:
        errors["title"] = _("Intitulé trop long (%(max)s caractères au plus).", max=MAX_TEXT)
    location = str(data.get("location") or "").strip()
    if len(location) > MAX_TEXT:
        errors["location"] = _("Lieu trop long (%(max)s caractères au plus).", max=MAX_TEXT)
    held_at = parse_moment(data)
    if held_at is None:
        errors["date"] = _("Indiquez la date et l'heure de la séance (heure de Paris).")
    try:
        quorum = int(str(data.get("quorum", "")).strip())
        if not 1 <= quorum <= 1000:
            raise ValueError
    except ValueError:
        quorum = None
        errors["quorum"] = _("Le quorum est un nombre entier d'au moins 1.")
    ids = _member_ids(data.get("member_ids") or [])
    pool = {user.id: user for user in committee_pool()}
    members = [pool[i] for i in ids or [] if i in pool]
    if ids is None or len(members) != len(ids):
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
    """Plan a session of ``call`` (or change a planned one): ``title``, when (``date`` and
    ``time`` in Paris, or ``held_at``), ``location``, ``quorum`` (at least 1, at most the number
    of members) and ``member_ids`` (users with the committee role). Every field is checked
    before anything is written: ``SessionRefused`` names each wrong field."""
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
    seated = {member.user_id for member in session.members}
    for user in details["members"]:
        if user.id not in seated:
            session.members.append(CommitteeMember(user_id=user.id, is_present=False))
    db.session.flush()
    return session


def _require_manager(session: CommitteeSession, manager: User) -> None:
    if not can(manager, Action.CALL_MANAGE, session.call):
        raise Forbidden(_("Seul le chargé de mission conduit la séance."))


def record_attendance(session: CommitteeSession, manager: User, present_ids) -> None:
    """Who is present (members only), until the session is closed; an open session keeps its
    quorum."""
    _require_manager(session, manager)
    if session.state is SessionState.CLOSED:
        raise NotApplicable(_("La séance est close : les présences ne se modifient plus."))
    ids = _member_ids(present_ids)
    members = {member.user_id for member in session.members}
    if ids is None or set(ids) - members:
        raise InvalidInput(_("Seuls les membres de la séance peuvent être présents."))
    for member in session.members:
        member.is_present = member.user_id in ids
    if session.state is SessionState.OPEN and not has_quorum(session):
        raise NotApplicable(_("La séance est ouverte : le quorum doit rester atteint "
                              "(%(quorum)s membre(s) présent(s) au moins).",
                              quorum=session.quorum))
    db.session.flush()


def present_members(session: CommitteeSession) -> list[CommitteeMember]:
    return [member for member in session.members if member.is_present]


def quorum_reached(session: CommitteeSession) -> bool:
    return has_quorum(session)


def _quorum_message(session: CommitteeSession) -> str:
    return _("Quorum non atteint : %(present)s membre(s) présent(s) sur %(quorum)s requis.",
             present=present_count(session), quorum=session.quorum)


def open_session(session: CommitteeSession, manager: User) -> None:
    """Open a planned session whose quorum is reached: its present members may decide."""
    _require_manager(session, manager)
    if session.state is not SessionState.PLANNED:
        raise NotApplicable(_("Seule une séance prévue peut être ouverte."))
    if not has_quorum(session):
        raise NotApplicable(_quorum_message(session))
    session.state = SessionState.OPEN
    db.session.flush()


def close_session(session: CommitteeSession, manager: User) -> None:
    """Close an open session: its decisions, and so its minutes, no longer change."""
    _require_manager(session, manager)
    if session.state is not SessionState.OPEN:
        raise NotApplicable(_("Seule une séance ouverte peut être close."))
    session.state = SessionState.CLOSED
    db.session.flush()


# --- decisions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionRequest:
    application_id: int
    decision: str  # "select", "waitlist" or "reject"
    reason: str = ""


def _refusal_to_decide(session: CommitteeSession, member: User) -> engine.WorkflowError | None:
    """Why ``member`` may not decide in ``session`` now, in French (None: they may)."""
    if not can(member, Action.SESSION_VIEW, session):
        return NotVisible(_("Séance introuvable."))
    seat = seat_of(member, session)
    if seat is None:
        return Forbidden(_("Seuls les membres de la séance décident."))
    if session.state is not SessionState.OPEN:
        return NotApplicable(_("La séance n'est pas ouverte : aucune décision ne peut être "
                               "prise."))
    if not seat.is_present:
        return Forbidden(_("Seuls les membres présents à la séance décident."))
    if not has_quorum(session):
        return NotApplicable(_quorum_message(session))
    if not can(member, Action.SESSION_DECIDE, session):  # the rule itself has the last word
        return Forbidden(_("Seuls les membres présents à la séance décident."))
    return None


def decide(session: CommitteeSession, member: User,
           decisions: list[DecisionRequest | tuple]) -> list[CommitteeDecision]:
    """Apply ``decisions`` (each: dossier id, "select" | "waitlist" | "reject", reason; a
    rejection needs its reason), taken in the open session by a present member, in rank order
    as given. All or nothing: the batch runs in a savepoint; when one decision is refused
    (the envelope runs out, a reason is missing...), nothing of the batch remains, not even its
    letters, and ``DecisionsRefused`` says which and why. Returns the recorded decisions."""
    refused = _refusal_to_decide(session, member)
    if refused is not None:
        raise refused
    requests = [item if isinstance(item, DecisionRequest) else DecisionRequest(*item)
                for item in decisions]
    if not requests:
        raise InvalidInput(_("Aucune décision à enregistrer."))
    from dcol.committee.letters import forget_letters_since, letters_written

    written_before = letters_written()
    refusals: dict[str, list[str]] = {}
    statuses = [0]
    rows: list[CommitteeDecision] = []

    def refuse(key: str, reasons: list[str], status: int) -> None:
        listed = refusals.setdefault(key, [])
        for reason in reasons:
            if reason not in listed:
                listed.append(reason)
        statuses.append(status)

    token = _SITTING.set(session.id)
    try:
        with savepoint():
            seen: set[int] = set()
            for request in requests:
                application = (db.session.get(Application, request.application_id)
                               if 1 <= request.application_id <= MAX_DATABASE_ID else None)
                if application is None or application.call_id != session.call_id:
                    # Its id only, as sent: another call's dossier is not the member's to see.
                    refuse(str(request.application_id),
                           [_("Ce dossier n'est pas à l'ordre du jour.")], 404)
                    continue
                reason = str(request.reason or "").strip()
                if application.id in seen:
                    refuse(application.reference,
                           [_("Une seule décision par dossier à la fois.")], 422)
                elif request.decision not in DECISION_OF:
                    refuse(application.reference, [_("Décision inconnue.")], 422)
                elif len(reason) > MAX_REASON:
                    refuse(application.reference, [_("Motif trop long (%(max)s caractères au "
                                                     "plus).", max=MAX_REASON)], 422)
                else:
                    try:
                        engine.fire(application, request.decision, member, comment=reason,
                                    commit=False)
                        rows.append(latest_decision(session, application))
                    except engine.WorkflowError as error:
                        refuse(application.reference, [error.message, *error.problems],
                               error.status)
                seen.add(application.id)
            if refusals:
                raise DecisionsRefused(refusals, max(statuses))
    except DecisionsRefused:
        forget_letters_since(written_before)
        raise
    finally:
        _SITTING.reset(token)
    return rows


def latest_decision(session: CommitteeSession, application: Application
                    ) -> CommitteeDecision | None:
    return db.session.scalar(
        sa.select(CommitteeDecision)
        .where(CommitteeDecision.session_id == session.id,
               CommitteeDecision.application_id == application.id)
        .order_by(CommitteeDecision.id.desc()).limit(1))


def sitting_session(call_id: int, member: User) -> CommitteeSession | None:
    """The open session of the call where ``member`` is present and the quorum reached: the one
    the committee page works in, else the latest."""
    if Role.COMMITTEE not in member.roles:
        return None
    sessions = db.session.scalars(open_sessions_sat_at(member, call_id).order_by(
        CommitteeSession.held_at.desc(), CommitteeSession.id.desc())).all()
    preferred = _SITTING.get()
    return next((s for s in sessions if s.id == preferred), sessions[0] if sessions else None)


def record_decision(application: Application, event_name: str, member: User | None,
                    reason: str, now: datetime) -> CommitteeDecision:
    """The committee's decision on ``application`` (its workflow event ``event_name``), recorded
    against the session the member sits at. Called by the workflow, inside the transition."""
    session = sitting_session(application.call_id, member) if member is not None else None
    if session is None:
        raise NotApplicable(_("Le comité décide en séance : ouvrez une séance de l'appel, avec "
                              "le quorum, où vous êtes présent."))
    row = CommitteeDecision(session_id=session.id, application_id=application.id,
                            decision=DECISION_OF[event_name], reason=reason, decided_at=now,
                            decided_by_id=member.id)
    db.session.add(row)
    db.session.flush()
    return row
