"""The expert's side: the proposals addressed to an expert, what it may read of them, and its
answer (accept, declaring no conflict, or decline with a reason), through the workflow."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from dcol.extensions import db
from dcol.models import (
    Application,
    MatchingBrief,
    MissionProposal,
    ProposalStatus,
    Role,
    User,
)
from dcol.permissions import Action, can
from workflows import engine
from workflows.dossier import EVENTS_BY_NAME
from workflows.engine import NotApplicable, NotVisible

# --- the expert's side: the proposals addressed to it ---------------------------------------


def is_addressed_to(user: User, proposal: MissionProposal) -> bool:
    """The proposal was made to the expert the user acts for (whatever its status)."""
    return (
        Role.EXPERT in user.roles
        and user.expert_id is not None
        and user.expert_id == proposal.expert_id
    )


def proposals_of(user: User) -> list[MissionProposal]:
    """The proposals made to the user's expert, with their dossiers and organisations (one
    query): pending ones first, then the others, the latest first."""
    if Role.EXPERT not in user.roles or user.expert_id is None:
        raise NotVisible(_("Page introuvable."))
    pending_first = sa.case((MissionProposal.status == ProposalStatus.PENDING, 0), else_=1)
    latest = sa.func.coalesce(MissionProposal.responded_at, MissionProposal.proposed_at)
    return list(db.session.scalars(
        sa.select(MissionProposal)
        .options(joinedload(MissionProposal.application).joinedload(Application.organisation))
        .where(MissionProposal.expert_id == user.expert_id)
        .order_by(pending_first, latest.desc(), MissionProposal.id.desc())
    ))


@dataclass(frozen=True)
class DossierSummary:
    """What the proposed expert reads of the dossier to decide."""

    summary: str
    countries: list[str]
    themes: list[str]
    needs: str
    support_expected: str
    deliverables_expected: str
    timetable: str
    # From CUF's matching brief, when there is one.
    languages: list[str] = field(default_factory=list)
    brief_deliverables: str = ""


@dataclass(frozen=True)
class ProposalSummary:
    """A proposal as its expert is shown it. Built field by field, so that nothing of the
    matching (explanation, scores, override reason, other candidates) can reach the page."""

    id: int
    status: ProposalStatus
    proposed_at: datetime
    responded_at: datetime | None
    decline_reason: str
    indicative_days: Decimal | None
    indicative_start: date | None
    indicative_end: date | None
    application_id: int
    reference: str
    title: str
    organisation: str
    organisation_kind: str
    call_title: str
    track: str
    dossier: DossierSummary | None  # while the expert may read the dossier
    may_open_dossier: bool
    may_respond: bool
    unmet: list[str]  # why accepting is not possible now (the declaration apart)


def _dossier_summary(application: Application) -> DossierSummary:
    needs = (application.data or {}).get("needs") or {}
    brief = db.session.get(MatchingBrief, application.id)
    return DossierSummary(
        summary=application.summary or "",
        countries=list(application.countries or []),
        themes=list(application.themes or []),
        needs=needs.get("needs") or "",
        support_expected=needs.get("support_expected") or "",
        deliverables_expected=needs.get("deliverables_expected") or "",
        timetable=needs.get("timetable") or "",
        languages=list(brief.languages or []) if brief else [],
        brief_deliverables=(brief.expected_deliverables or "") if brief else "",
    )


def proposal_summary(proposal: MissionProposal, user: User) -> ProposalSummary:
    """The proposal page's content for ``user``, to whom it must be addressed. The dossier's
    summary is given while the user may read the dossier (a pending proposal, or the mission
    once accepted), as everywhere else in dcol."""
    if not is_addressed_to(user, proposal):
        raise NotVisible(_("Proposition introuvable."))
    application = proposal.application
    may_read = can(user, Action.APP_VIEW, application)
    may_respond = can(user, Action.PROPOSAL_RESPOND, proposal)
    unmet = []
    if may_respond:
        event = EVENTS_BY_NAME["accept_mission"]
        unmet = engine.unmet_guards(event, application, user) if engine.applies(
            event, application) else [_("Ce dossier n'attend plus de réponse de votre part.")]
    return ProposalSummary(
        id=proposal.id,
        status=proposal.status,
        proposed_at=proposal.proposed_at,
        responded_at=proposal.responded_at,
        decline_reason=proposal.decline_reason or "",
        indicative_days=proposal.indicative_days,
        indicative_start=proposal.indicative_start,
        indicative_end=proposal.indicative_end,
        application_id=application.id,
        reference=application.reference,
        title=application.title or "",
        organisation=application.organisation.name,
        organisation_kind=application.organisation.kind.label,
        call_title=application.call.title,
        track=application.track.name if application.track else "",
        dossier=_dossier_summary(application) if may_read else None,
        may_open_dossier=may_read,
        may_respond=may_respond,
        unmet=unmet,
    )


def _check_may_respond(proposal: MissionProposal, actor: User) -> None:
    if not is_addressed_to(actor, proposal):
        raise NotVisible(_("Proposition introuvable."))
    if proposal.status is ProposalStatus.CANCELLED:
        raise NotApplicable(_("Cette proposition a été annulée par Cités Unies France."))
    if proposal.status is not ProposalStatus.PENDING:
        raise NotApplicable(_("Vous avez déjà répondu à cette proposition."))


def accept_proposal(proposal: MissionProposal, actor: User, *, no_conflict: bool) -> None:
    """Accept the mission, declaring the absence of any conflict of interest, through the
    dossier's ``accept_mission`` event (the dossier goes to agreement, the mission is created).
    Raises a ``WorkflowError`` when refused, having written nothing; the caller commits."""
    _check_may_respond(proposal, actor)
    engine.fire(proposal.application, "accept_mission", actor,
                payload={"no_conflict": no_conflict}, commit=False)


def decline_proposal(proposal: MissionProposal, actor: User, reason: str) -> None:
    """Decline the mission with a reason, through the dossier's ``decline_mission`` event: the
    dossier returns to matching and this expert cannot be proposed it again. Raises a
    ``WorkflowError`` when refused (a missing reason among others), having written nothing; the
    caller commits."""
    _check_may_respond(proposal, actor)
    engine.fire(proposal.application, "decline_mission", actor, comment=reason or "",
                commit=False)
