"""Matching operations: the brief of a dossier, the suggestions for one dossier, the optimal
proposal for a whole call, and its confirmation (which fires ``propose_expert``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pycountry
import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from dcol import audit
from dcol.applications.services import parse_amount
from dcol.experts.loads import Load, expert_loads
from dcol.extensions import db, savepoint
from dcol.matching.assignment import Assignment, solve
from dcol.matching.scoring import Need, Profile, ScoreBoard, score
from dcol.models import (
    Application,
    ApplicationState,
    Call,
    Expert,
    MatchingBrief,
    Mission,
    MissionProposal,
    ProposalStatus,
    Satisfaction,
    Theme,
    User,
    utcnow,
)
from dcol.permissions import Action, can
from workflows import engine
from workflows.engine import InvalidInput, NotApplicable
from workflows.inputs import MAX_INDICATIVE_DAYS, MAX_OVERRIDE_REASON, parse_database_id, parse_days

MAX_DELIVERABLES = 5000  # characters
# Above this many dossiers, the proposal does not re-solve once per dossier to price what
# giving it its best candidate would cost.
MAX_PRICED = 150


class BriefRefused(InvalidInput):
    """Invalid brief: ``errors`` maps each field to its French message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(_("Le besoin d'expertise n'a pas été enregistré : corrigez les champs "
                           "signalés."), list(errors.values()))
        self.errors = errors


class ProposalsRefused(engine.BatchRefused):
    """A confirmation of which at least one proposal is refused: none is made."""

    def __init__(self, refusals: dict[str, list[str]], status: int):
        super().__init__(
            _("Aucune proposition n'a été envoyée : %(count)s dossier(s) ne peuvent pas l'être "
              "ainsi.", count=len(refusals)), refusals, status)


# --- the brief --------------------------------------------------------------------------------


def brief_of(application: Application) -> MatchingBrief:
    """The dossier's brief, or (unsaved) the one its content suggests: its themes, French, and
    the deliverables it expects."""
    return db.session.get(MatchingBrief, application.id) or _suggested_brief(application)


def briefs_of(applications: list[Application]) -> dict[int, MatchingBrief]:
    """``brief_of`` for many dossiers, in one query."""
    saved = {brief.application_id: brief for brief in db.session.scalars(
        sa.select(MatchingBrief).where(
            MatchingBrief.application_id.in_([a.id for a in applications])))}
    return {a.id: saved.get(a.id) or _suggested_brief(a) for a in applications}


def _suggested_brief(application: Application) -> MatchingBrief:
    needs = (application.data or {}).get("needs", {})
    return MatchingBrief(
        application_id=application.id, themes=list(application.themes or []), languages=["fr"],
        indicative_days=None, starts_on=None, ends_on=None, budget=None,
        expected_deliverables=needs.get("deliverables_expected", "") or "",
    )


def _day(raw: str, key: str, errors: dict) -> date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[key] = _("Date invalide : format attendu AAAA-MM-JJ.")
        return None


def save_brief(application: Application, actor: User, data) -> MatchingBrief:
    """Record what is sought for this dossier (a manager, while the dossier is in matching).
    ``data`` maps field names to text as posted (``themes`` and ``languages`` are lists). All
    fields are checked before anything is written; ``BriefRefused`` says what is wrong."""
    if not can(actor, Action.APP_MANAGE, application):
        raise engine.Forbidden(_("Vous ne pouvez pas modifier ce dossier."))
    if application.state is not ApplicationState.MATCHING:
        raise NotApplicable(_("Le besoin d'expertise se prépare pendant la recherche d'expert."))
    errors: dict[str, str] = {}
    themes = [value for value in data.get("themes", []) if value]
    if unknown := [value for value in themes if value not in {t.value for t in Theme}]:
        errors["themes"] = _("Thème inconnu : %(values)s.", values=", ".join(unknown))
    languages = [value.strip().lower() for value in data.get("languages", []) if value.strip()]
    if [code for code in languages if pycountry.languages.get(alpha_2=code) is None]:
        errors["languages"] = _("Langue inconnue : choisissez dans la liste.")
    elif not languages:
        errors["languages"] = _("Indiquez au moins une langue de travail.")
    days = None
    if (raw_days := str(data.get("indicative_days", "") or "").strip()):
        days = parse_days(raw_days)
        if days is None:
            errors["indicative_days"] = _("Nombre de jours invalide (exemple : 12,5).")
        elif not 0 < days <= MAX_INDICATIVE_DAYS or days != days.quantize(Decimal("0.01")):
            errors["indicative_days"] = _(
                "Le nombre de jours doit être compris entre 0 (exclu) et %(max)s, avec au plus "
                "deux décimales.", max=MAX_INDICATIVE_DAYS)
    starts_on = _day(data.get("starts_on"), "starts_on", errors)
    ends_on = _day(data.get("ends_on"), "ends_on", errors)
    if starts_on and ends_on and ends_on < starts_on:
        errors["ends_on"] = _("La fin précède le début.")
    budget = None
    try:
        budget = parse_amount(data.get("budget"))
    except ValueError as error:
        errors["budget"] = str(error)
    else:
        if budget is not None and budget < 0:
            errors["budget"] = _("Le budget ne peut pas être négatif.")
    deliverables = str(data.get("expected_deliverables", "") or "").strip()
    if len(deliverables) > MAX_DELIVERABLES:
        errors["expected_deliverables"] = _("Texte trop long (%(max)s caractères au plus).",
                                            max=MAX_DELIVERABLES)
    if errors:
        raise BriefRefused(errors)
    brief = db.session.get(MatchingBrief, application.id)
    if brief is None:
        brief = MatchingBrief(application_id=application.id)
        db.session.add(brief)
    brief.themes, brief.languages = themes, sorted(set(languages))
    brief.indicative_days = days.quantize(Decimal("0.01")) if days is not None else None
    brief.starts_on, brief.ends_on, brief.budget = starts_on, ends_on, budget
    brief.expected_deliverables = deliverables
    brief.updated_by_id, brief.updated_at = actor.id, utcnow()
    db.session.flush()
    audit.record(application_id=application.id, actor=actor, event="matching.brief",
                 occurred_at=brief.updated_at, payload=brief_payload(brief))
    return brief


def brief_payload(brief: MatchingBrief) -> dict:
    return {
        "themes": list(brief.themes or []),
        "languages": list(brief.languages or []),
        "indicative_days": None if brief.indicative_days is None else str(brief.indicative_days),
        "starts_on": brief.starts_on.isoformat() if brief.starts_on else None,
        "ends_on": brief.ends_on.isoformat() if brief.ends_on else None,
        "budget": None if brief.budget is None else str(brief.budget),
        "expected_deliverables": brief.expected_deliverables or "",
    }


# --- from the database to the scoring's plain values ----------------------------------------------


def _need_text(application: Application, brief: MatchingBrief) -> str:
    data = application.data or {}
    needs, context = data.get("needs", {}), data.get("context", {})
    parts = [application.title, application.summary, needs.get("needs"),
             needs.get("support_expected"), brief.expected_deliverables or
             needs.get("deliverables_expected"), context.get("partner_territories")]
    return "\n".join(str(part) for part in parts if part)


def needs_of(applications: list[Application], briefs: dict[int, MatchingBrief]) -> list[Need]:
    """The dossiers as the scoring reads them, with their briefs and the experts who declined."""
    ids = [application.id for application in applications]
    declined: dict[int, set[int]] = {}
    for application_id, expert_id in db.session.execute(
        sa.select(MissionProposal.application_id, MissionProposal.expert_id).where(
            MissionProposal.application_id.in_(ids),
            MissionProposal.status == ProposalStatus.DECLINED)
    ):
        declined.setdefault(application_id, set()).add(expert_id)
    needs = []
    for application in applications:
        brief = briefs[application.id]
        needs.append(Need(
            application_id=application.id,
            reference=application.reference,
            organisation_id=application.organisation_id,
            themes=tuple(brief.themes or ()),
            countries=tuple(application.countries or ()),
            languages=tuple(brief.languages or ()),
            starts_on=brief.starts_on,
            ends_on=brief.ends_on,
            days=brief.indicative_days,
            budget=brief.budget if brief.budget is not None else application.estimated_cost,
            text=_need_text(application, brief),
            declined=frozenset(declined.get(application.id, ())),
        ))
    return needs


def _profile_text(expert: Expert) -> str:
    with force_locale("fr"):  # the dossiers are written in French
        skills = [Theme(value).label for value in expert.skills or ()
                  if value in Theme._value2member_map_]
    return "\n".join([expert.references or "", ", ".join(expert.keywords or ()), ", ".join(skills)])


def pool() -> tuple[list[Expert], list[Profile]]:
    """Every expert of the pool (inactive ones too, to say why they are left out) with their
    loads, periods, conflicts and satisfaction, in a fixed number of queries."""
    experts = db.session.scalars(
        sa.select(Expert)
        .options(selectinload(Expert.unavailabilities), selectinload(Expert.conflicts))
        .order_by(Expert.name, Expert.id)
    ).all()
    loads = expert_loads()
    satisfaction = {
        expert_id: (float(mean), count)
        for expert_id, mean, count in db.session.execute(
            sa.select(Mission.expert_id, sa.func.avg(Satisfaction.overall), sa.func.count())
            .join(Satisfaction, Satisfaction.mission_id == Mission.id)
            .join(Application, Mission.application_id == Application.id)
            .where(Application.state == ApplicationState.CLOSED, Mission.expert_id.is_not(None))
            .group_by(Mission.expert_id)
        )
    }
    profiles = []
    for expert in experts:
        mean, count = satisfaction.get(expert.id, (None, 0))
        profiles.append(Profile(
            expert_id=expert.id,
            name=expert.name,
            daily_rate=expert.daily_rate,
            capacity=expert.capacity,
            load=loads.get(expert.id, Load()).total,
            is_active=expert.is_active,
            skills=tuple(expert.skills or ()),
            countries=tuple(expert.countries or ()),
            regions=tuple(expert.regions or ()),
            languages=tuple(expert.languages or ()),
            unavailable=tuple((u.starts_on, u.ends_on) for u in expert.unavailabilities),
            conflicts=frozenset(c.organisation_id for c in expert.conflicts),
            satisfaction=mean,
            satisfaction_count=count,
            text=_profile_text(expert),
        ))
    return list(experts), profiles


# --- suggestions for one dossier --------------------------------------------------------------


@dataclass
class Suggestions:
    application: Application
    brief: MatchingBrief
    ranked: list[tuple[Expert, dict]]  # expert, explanation (see ``ScoreBoard.explain``)
    excluded: list[tuple[Expert, list[dict]]]  # expert, reasons
    proposed: Expert | None  # the expert the call's optimal assignment gives this dossier


def suggest_experts(application: Application) -> Suggestions:
    """The pool for a dossier in matching: the experts that pass the hard filters, best first
    with each part of their score, the others with every reason that leaves them out, and the
    expert the call's proposal gives it (scored with the call's other dossiers, once)."""
    proposal = propose_assignment(application.call, price=False)
    row = proposal.row_of(application.id)
    if row is None:
        raise NotApplicable(_("Ce dossier n'est pas en recherche d'expert (état : %(state)s).",
                               state=application.state.label))
    board, experts, line = proposal.board, proposal.experts, proposal.lines[row]
    return Suggestions(
        application=application,
        brief=line.brief,
        ranked=[(experts[j], board.explain(row, j)) for j in board.ranking(row)],
        excluded=[(experts[j], reasons) for j, reasons in board.exclusions(row)],
        proposed=line.expert,
    )


# --- the proposal for a whole call ----------------------------------------------------------------


@dataclass
class Elsewhere:
    """The dossier's best-scored candidate, which the optimum gave to other dossiers."""

    expert: Expert
    explanation: dict
    taken_by: list[Application]
    cost: int | None = None  # points lost overall by giving it to this dossier (None: not priced)
    fewer_matched: bool = False  # giving it here would leave another dossier without an expert


@dataclass
class Line:
    application: Application
    brief: MatchingBrief
    expert: Expert | None
    explanation: dict | None
    alternates: list[tuple[Expert, dict, list[Application]]] = field(default_factory=list)
    elsewhere: Elsewhere | None = None
    options: list[tuple[Expert, float]] = field(default_factory=list)  # every candidate, best first


@dataclass
class CallProposal:
    call: Call
    lines: list[Line]
    assignment: Assignment
    board: ScoreBoard
    experts: list[Expert]

    def row_of(self, application_id: int) -> int | None:
        return next((row for row, line in enumerate(self.lines)
                     if line.application.id == application_id), None)

    def line_of(self, application_id: int) -> Line | None:
        row = self.row_of(application_id)
        return None if row is None else self.lines[row]


def dossiers_in_matching(call: Call) -> list[Application]:
    return list(db.session.scalars(
        sa.select(Application)
        .options(selectinload(Application.organisation))
        .where(Application.call_id == call.id, Application.state == ApplicationState.MATCHING)
        .order_by(Application.number)
    ))


def propose_assignment(call: Call, *, price: bool = True) -> CallProposal:
    """The optimal assignment of the call's dossiers in matching, each line with its expert, two
    alternates and, when its best candidate went elsewhere, where and (with ``price``, re-solving
    once per such dossier) at what cost."""
    applications = dossiers_in_matching(call)
    experts, profiles = pool()
    briefs = briefs_of(applications)
    needs = needs_of(applications, briefs)
    board = score(needs, profiles)
    free = board.free_slots()
    assignment = solve(board.points, board.feasible, free)
    holders: dict[int, list[Application]] = {}
    for row, column in enumerate(assignment.experts.tolist()):
        if column >= 0:
            holders.setdefault(column, []).append(applications[row])
    lines = []
    for row, application in enumerate(applications):
        column = int(assignment.experts[row])
        ranking = board.ranking(row)
        line = Line(
            application=application,
            brief=briefs[application.id],
            expert=experts[column] if column >= 0 else None,
            explanation=board.explain(row, column) if column >= 0 else None,
            options=[(experts[j], int(board.points[row, j]) / 100) for j in ranking],
        )
        others = [j for j in ranking if j != column]
        line.alternates = [(experts[j], board.explain(row, j),
                            [a for a in holders.get(j, []) if a.id != application.id])
                           for j in others[:2]]
        if ranking and ranking[0] != column:
            best = ranking[0]
            line.elsewhere = Elsewhere(experts[best], board.explain(row, best),
                                       holders.get(best, []))
            if price and len(applications) <= MAX_PRICED:
                forced = board.feasible.copy()
                forced[row, :] = False
                forced[row, best] = True
                alternative = solve(board.points, forced, free)
                line.elsewhere.fewer_matched = alternative.assigned < assignment.assigned
                line.elsewhere.cost = (assignment.total - alternative.total) / 100
        lines.append(line)
    return CallProposal(call, lines, assignment, board, experts)


# --- confirming ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """A dossier to propose to an expert; a different expert than the proposal's needs a reason."""

    application_id: int
    expert_id: object
    override_reason: str = ""


def confirm_proposals(call: Call, actor: User, choices: list[Choice]) -> list[MissionProposal]:
    """Send the chosen proposals, all or none: each fires ``propose_expert`` with the brief's
    terms and the explanation of the pair; an expert other than the one the optimum proposed needs
    a reason, kept with the proposal and its audit entry. ``ProposalsRefused`` says which could not
    be sent and why (then none is)."""
    if not choices:
        raise InvalidInput(_("Cochez au moins un dossier à proposer."))
    proposal = propose_assignment(call, price=False)
    column_of = {expert.id: j for j, expert in enumerate(proposal.experts)}
    row_of = {line.application.id: row for row, line in enumerate(proposal.lines)}
    refusals: dict[str, list[str]] = {}
    statuses = [0]
    made: list[MissionProposal] = []

    def refuse(key: str, reasons: list[str], status: int) -> None:
        refusals.setdefault(key, []).extend(reasons)
        statuses.append(status)

    with savepoint():
        seen: set[int] = set()
        for choice in choices:
            row = row_of.get(choice.application_id)
            if row is None or choice.application_id in seen:
                refuse(str(choice.application_id),
                       [_("Ce dossier n'est pas (ou plus) en recherche d'expert dans cet appel.")],
                       404 if row is None else 422)
                continue
            seen.add(choice.application_id)
            line = proposal.lines[row]
            expert_id = parse_database_id(choice.expert_id)
            reason = (choice.override_reason or "").strip()
            is_override = line.expert is None or expert_id != line.expert.id
            if is_override and not reason:
                refuse(line.application.reference,
                       [_("Indiquez le motif pour lequel vous proposez un autre expert que celui "
                          "de la proposition.")], 422)
                continue
            if len(reason) > MAX_OVERRIDE_REASON:
                refuse(line.application.reference, [_(
                    "Le motif de dérogation est trop long (%(max)s caractères au plus).",
                    max=MAX_OVERRIDE_REASON)], 422)
                continue
            explanation: dict = {}
            if expert_id in column_of:
                explanation = proposal.board.explain(row, column_of[expert_id])
                explanation["proposed_expert_id"] = line.expert.id if line.expert else None
            brief = line.brief
            payload = {
                "expert_id": expert_id,
                "explanation": explanation,
                "override_reason": reason if is_override else "",
            }
            if brief.indicative_days is not None:
                payload["indicative_days"] = str(brief.indicative_days)
            if brief.starts_on:
                payload["indicative_start"] = brief.starts_on.isoformat()
            if brief.ends_on:
                payload["indicative_end"] = brief.ends_on.isoformat()
            try:
                engine.fire(line.application, "propose_expert", actor, payload=payload,
                            commit=False)
            except engine.WorkflowError as error:
                refuse(line.application.reference, [error.message, *error.problems],
                       error.status)
                continue
            made.append(db.session.scalars(
                sa.select(MissionProposal).where(
                    MissionProposal.application_id == line.application.id,
                    MissionProposal.status == ProposalStatus.PENDING)
            ).one())
        if refusals:
            raise ProposalsRefused(refusals, max(statuses))
    return made

