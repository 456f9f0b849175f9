"""What follows a transition, in the same transaction (the engine has already moved the state).

Effects read the payload only after the event's ``checks_input`` guards have accepted it: they
parse it with the guards' own functions and never meet invalid input.
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from dcol.documents.receipts import issue_receipt
from dcol.extensions import db
from dcol.finance.cofinancing import estimate
from dcol.models import (
    ApplicationState,
    DocumentKind,
    Expert,
    Mission,
    MissionProposal,
    ProposalStatus,
    Submission,
)
from workflows.context import Context
from workflows.inputs import parse_database_id, parse_day, parse_days, parse_deadline

DEPOSITED_KINDS = frozenset({DocumentKind.APPLICATION, DocumentKind.ATTACHMENT})


def record_submission(ctx: Context) -> None:
    """Date the deposit, keep what was deposited (to compare it with the next deposit) and
    issue its receipt, in the same transaction."""
    app = ctx.application
    app.submitted_at = ctx.now
    if app.first_submitted_at is None:
        app.first_submitted_at = ctx.now
    app.response_deadline = None
    app.estimated_cofinancing = estimate(app, ctx.actor, ctx.now)
    number = len(app.submissions) + 1
    submission = Submission(
        number=number,
        submitted_at=ctx.now,
        submitted_by_id=ctx.actor.id if ctx.actor else None,
        content=submission_content(app),
    )
    app.submissions.append(submission)
    db.session.flush()
    issue_receipt(app, submission)


def submission_content(app) -> dict:
    """Everything the applicant deposits, in plain JSON."""
    return {
        "title": app.title,
        "summary": app.summary,
        "track": app.track.code if app.track else None,
        "countries": list(app.countries or []),
        "departments": list(app.departments or []),
        "themes": list(app.themes or []),
        "estimated_cost": str(app.estimated_cost) if app.estimated_cost is not None else None,
        "requested_amount": str(app.requested_amount) if app.requested_amount is not None else None,
        "data": app.data or {},
        "budget": [
            {"kind": line.kind.value, "label": line.label, "amount": str(line.amount),
             "eligible": line.is_eligible}
            for line in app.budget_lines
        ],
        "documents": [
            {"id": doc.id, "name": doc.original_name, "sha256": doc.sha256,
             "requirement": doc.requirement.code if doc.requirement else None}
            for doc in app.documents
            # What the applicant deposited: not receipts, nor message attachments.
            if doc.replaced_by_id is None and doc.kind in DEPOSITED_KINDS
        ],
    }


def set_response_deadline(ctx: Context) -> None:
    ctx.application.response_deadline = parse_deadline(ctx.payload.get("response_deadline"))


def _days(value) -> Decimal | None:
    days = parse_days(value)
    return days.quantize(Decimal("0.01")) if days is not None else None


def create_proposal(ctx: Context) -> None:
    payload = ctx.payload
    db.session.add(
        MissionProposal(
            application=ctx.application,
            expert_id=parse_database_id(payload["expert_id"]),
            proposed_by_id=ctx.actor.id,
            proposed_at=ctx.now,
            explanation=payload.get("explanation") or {},
            override_reason=payload.get("override_reason") or "",
            indicative_days=_days(payload.get("indicative_days")),
            indicative_start=parse_day(payload.get("indicative_start")),
            indicative_end=parse_day(payload.get("indicative_end")),
        )
    )


def _pending_proposal(ctx: Context) -> MissionProposal:
    return db.session.scalars(
        sa.select(MissionProposal).where(
            MissionProposal.application_id == ctx.application.id,
            MissionProposal.status == ProposalStatus.PENDING,
        )
    ).one()


def accept_proposal(ctx: Context) -> None:
    proposal = _pending_proposal(ctx)
    proposal.status = ProposalStatus.ACCEPTED
    proposal.responded_at, proposal.responded_by_id = ctx.now, ctx.actor.id
    expert = db.session.get(Expert, proposal.expert_id)
    needs = (ctx.application.data or {}).get("needs", {})
    db.session.add(
        Mission(
            application=ctx.application,
            expert=expert,
            contracted_days=proposal.indicative_days,
            daily_rate=expert.daily_rate,
            starts_on=proposal.indicative_start,
            ends_on=proposal.indicative_end,
            expected_deliverables=needs.get("deliverables_expected", ""),
            created_at=ctx.now,
        )
    )


def decline_proposal(ctx: Context) -> None:
    proposal = _pending_proposal(ctx)
    proposal.status = ProposalStatus.DECLINED
    proposal.responded_at, proposal.responded_by_id = ctx.now, ctx.actor.id
    proposal.decline_reason = ctx.comment


def open_project_follow_up(ctx: Context) -> None:
    """A call-for-projects dossier is followed as a mission without an expert."""
    db.session.add(Mission(application=ctx.application, expert=None, created_at=ctx.now))


def mark_closed(ctx: Context) -> None:
    ctx.application.closed_at = ctx.now


def settle_balances(ctx: Context) -> None:
    """The payment schedule's balances follow the final cofinancing."""
    from dcol.missions.closure import apply_final_schedule

    apply_final_schedule(ctx.application)


def write_closure_report(ctx: Context) -> None:
    """The closure report (*bilan de clôture*), kept as a document of the dossier."""
    from dcol.missions.closure import store_closure_report

    store_closure_report(ctx.application, ctx.actor, ctx.now)


def cancel_pending_proposals(ctx: Context) -> None:
    for proposal in db.session.scalars(
        sa.select(MissionProposal).where(
            MissionProposal.application_id == ctx.application.id,
            MissionProposal.status == ProposalStatus.PENDING,
        )
    ):
        proposal.status = ProposalStatus.CANCELLED


def record_committee_decision(ctx: Context) -> None:
    """The committee's decision (select, waitlist or reject) recorded against the open session
    where the member sits, whichever page or API fired it."""
    from dcol.committee.services import record_decision

    record_decision(ctx.application, ctx.event.name, ctx.actor, ctx.comment, ctx.now)


def write_decision_letter(ctx: Context) -> None:
    """The committee's decision letter (select, waitlist or reject), stored on the dossier; the
    organisation's mail carries it (``notifications.EVENT_ATTACHMENTS``)."""
    from dcol.committee.letters import issue_decision_letter

    issue_decision_letter(ctx.application, ctx.event.name, ctx.comment, ctx.now, ctx.actor,
                          promoted=ctx.from_state == ApplicationState.WAITLISTED.value)


def offer_freed_place(ctx: Context) -> None:
    """A laureate withdrawn frees a place: the first waitlisted dossier of its track is proposed
    for promotion to the managers and the committee (never selected automatically)."""
    from dcol.committee.agenda import LAUREATE_STATES, announce_freed_place

    if ctx.from_state in {state.value for state in LAUREATE_STATES}:
        announce_freed_place(ctx.application)
