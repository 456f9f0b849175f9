"""Seed the dossiers and what happened to them: reviews, decisions, proposals, missions (their
audit trail in ``trail``, their agreement, payments and closure in ``follow_up``).

Dossiers are inserted in their state directly: this is fixture data, not a workflow.
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from dcol.demo import data as d
from dcol.demo.dossiers import DCOL11_DOSSIERS, DCOL12_DOSSIERS, EXP
from dcol.demo.follow_up import (
    is_past_agreement,
    seed_agreement,
    seed_past_agreement,
    trail_moments,
)
from dcol.demo.recent import AAP_DOSSIERS, DCOL13_DOSSIERS
from dcol.demo.rows import Refs, money, upsert
from dcol.demo.trail import (
    ASSIGNED_AFTER,
    CHECKED_AFTER,
    CONSENSUS_AFTER,
    DECIDED_AFTER_SESSION_START,
    DECLARED_AFTER,
    REVIEWED_AFTER,
    review_moments,
    seed_audit_trail,
    since_start,
    trail_of,
)
from dcol.extensions import db
from dcol.finance.cofinancing import estimate
from dcol.models import (
    Application,
    ApplicationEditor,
    ApplicationState,
    BudgetLine,
    CallKind,
    CommitteeDecision,
    ConflictStatus,
    Consensus,
    Deliverable,
    EligibilityCheck,
    Expense,
    Message,
    Milestone,
    Mission,
    MissionProposal,
    MissionReport,
    ProposalStatus,
    Review,
    ReviewScore,
    ReviewState,
    Satisfaction,
)

DOSSIERS = DCOL11_DOSSIERS + DCOL12_DOSSIERS + DCOL13_DOSSIERS + AAP_DOSSIERS

S = ApplicationState
# States in which the recevabilité checklist has been ticked.
CHECKED_STATES = frozenset(S) - {S.DRAFT, S.SUBMITTED, S.CHANGES_REQUESTED, S.INELIGIBLE}


# --- dossiers --------------------------------------------------------------------------------


def seed_dossier(refs: Refs, spec: dict) -> Application:
    """Create the dossier and its history, unless it exists: from its creation on, a dossier
    belongs to the workflow, and a demonstration that moved it on keeps its (audited) state."""
    call = refs.calls[spec["call"]]
    reference = f"{call.code}-{spec['number']:04d}"
    existing = db.session.scalars(sa.select(Application).filter_by(reference=reference)).first()
    if existing is not None:
        return existing
    organisation = refs.organisations[spec["org"]]
    budget = spec.get("budget", [])
    if call.kind is CallKind.AAP:
        expenses = [line for line in budget if line[0] is EXP]
        cost = sum((Decimal(line[2]) for line in expenses), Decimal("0"))
    else:
        cost = money(spec.get("cost"))
    submitted = spec.get("submitted")
    application = upsert(
        Application,
        {"reference": reference},
        {
            "call_id": call.id,
            "number": spec["number"],
            "track_id": refs.tracks[call.code, spec["track"]].id,
            "organisation_id": organisation.id,
            "state": spec["state"],
            "title": spec["title"],
            "summary": spec["summary"],
            "data": spec["form"],
            "themes": spec["themes"],
            "countries": spec["countries"],
            "departments": spec.get("departments", []),
            "estimated_cost": cost,
            "requested_amount": money(spec.get("requested")),
            "response_deadline": None,
            "submitted_at": submitted,
            "first_submitted_at": submitted,
            "closed_at": spec.get("closed"),
            "is_public": spec.get("public", False),
            "created_by_id": refs.user_id(spec.get("created_by")),
        },
        on_create={"created_at": spec["created"], "updated_at": submitted or spec["created"]},
    )
    for position, (kind, label, amount, eligible) in enumerate(budget, start=1):
        upsert(
            BudgetLine,
            {"application_id": application.id, "position": position},
            {"kind": kind, "label": label, "amount": Decimal(amount), "is_eligible": eligible},
        )
    for email, added_by, added_at in spec.get("editors", []):
        upsert(
            ApplicationEditor,
            {"application_id": application.id, "user_id": refs.user_id(email)},
            {"added_by_id": refs.user_id(added_by), "added_at": added_at},
        )
    for email, created_at, body in spec.get("messages", []):
        upsert(
            Message,
            {"application_id": application.id, "created_at": created_at},
            {"author_id": refs.user_id(email), "body": body},
        )
    if submitted is not None:
        # The estimate made at deposit, as the workflow makes it (a snapshot).
        db.session.flush()
        db.session.refresh(application)
        application.estimated_cofinancing = estimate(application, None, submitted)
    # A support past its agreement has its history's dates, and records its trail from the
    # mission's start with its follow-up, in order with what the services record.
    past_agreement = is_past_agreement(spec)
    known = {**review_moments(refs, spec), **trail_moments(spec)} if past_agreement else None
    steps = trail_of(application, spec, known)
    later = since_start(steps) if past_agreement else []
    seed_audit_trail(refs, application, spec, steps[: len(steps) - len(later)])
    if spec["state"] in CHECKED_STATES:
        seed_review_history(refs, application, spec)
    if "proposal" in spec:
        seed_proposal(refs, application, spec["proposal"])
    if "mission" in spec:
        seed_mission(refs, application, spec["mission"])
        if past_agreement:
            seed_past_agreement(refs, application, spec, later)
        else:
            seed_agreement(refs, application)
    return application


def seed_review_history(refs: Refs, application: Application, spec: dict) -> None:
    """Recevabilité checklist, reviews, consensus and the committee's decision."""
    submitted = spec["submitted"]
    code = spec["call"]
    for item in refs.items[code]:
        upsert(
            EligibilityCheck,
            {"application_id": application.id, "item_id": item.id},
            {
                "is_met": True,
                "note": "",
                "checked_by_id": refs.user_id(d.REVIEWER),
                "checked_at": submitted + CHECKED_AFTER,
            },
        )
    for review_spec in spec.get("reviews", []):
        seed_review(refs, application, code, submitted, review_spec)
    if "consensus" in spec:
        score, justification = spec["consensus"]
        upsert(
            Consensus,
            {"application_id": application.id},
            {
                "score": Decimal(score),
                "justification": justification,
                "recorded_by_id": refs.user_id(d.MANAGER),
                "recorded_at": submitted + CONSENSUS_AFTER,
            },
        )
    if "decision" in spec:
        title, decision, reason = spec["decision"]
        session = refs.sessions[title]
        upsert(
            CommitteeDecision,
            {"session_id": session.id, "application_id": application.id},
            {
                "decision": decision,
                "reason": reason,
                "decided_at": session.held_at + DECIDED_AFTER_SESSION_START,
                "decided_by_id": refs.user_id(d.MANAGER),
            },
        )


def seed_review(refs: Refs, application: Application, code: str, submitted, spec: dict) -> None:
    conflict = spec.get("conflict", ConflictStatus.NONE)
    is_draft = spec.get("draft", False)
    review = upsert(
        Review,
        {"application_id": application.id, "reviewer_id": refs.user_id(spec["reviewer"])},
        {
            "assigned_by_id": refs.user_id(d.MANAGER),
            "assigned_at": submitted + ASSIGNED_AFTER,
            "conflict_status": conflict,
            "conflict_declared_at": (
                None if conflict is ConflictStatus.PENDING else submitted + DECLARED_AFTER
            ),
            "state": ReviewState.DRAFT if is_draft else ReviewState.SUBMITTED,
            "opinion": spec.get("opinion"),
            "overall_comment": spec.get("comment", ""),
            "submitted_at": None if is_draft else submitted + REVIEWED_AFTER,
        },
    )
    scores = spec.get("scores", ())
    criteria = refs.criteria[code]
    if scores and len(scores) != len(criteria):
        raise ValueError(f"{application.reference}: {len(scores)} scores, {len(criteria)} criteria")
    for criterion, score in zip(criteria, scores, strict=False):
        upsert(
            ReviewScore,
            {"review_id": review.id, "criterion_id": criterion.id},
            {"score": Decimal(score)},
        )


def seed_proposal(refs: Refs, application: Application, spec: dict) -> None:
    upsert(
        MissionProposal,
        {"application_id": application.id, "expert_id": refs.experts[spec["expert"]].id},
        {
            "status": ProposalStatus.PENDING,
            "proposed_by_id": refs.user_id(d.MANAGER),
            "proposed_at": spec["proposed_at"],
            "explanation": spec["explanation"],
            "indicative_days": Decimal(spec["days"]),
            "indicative_start": spec["start"],
            "indicative_end": spec["end"],
            "responded_at": None,
            "responded_by_id": None,
        },
    )


def seed_mission(refs: Refs, application: Application, spec: dict) -> None:
    expert = refs.experts[spec["expert"]] if "expert" in spec else None
    mission = upsert(
        Mission,
        {"application_id": application.id},
        {
            "expert_id": expert.id if expert else None,
            "contracted_days": money(spec.get("days")),
            "daily_rate": money(spec.get("daily_rate")),
            "travel_costs": Decimal(spec.get("travel", "0")),
            "starts_on": spec["starts"],
            "ends_on": spec["ends"],
            "expected_deliverables": spec["expected"],
            "summary": spec.get("summary", ""),
            "created_at": spec["created"],
        },
    )
    for phase, label, due_on, done_on in spec["milestones"]:
        upsert(
            Milestone,
            {"mission_id": mission.id, "phase": phase, "label": label},
            {"due_on": due_on, "done_on": done_on},
        )
    for author, report_date, days, location, activities, expenses in spec.get("reports", []):
        report = upsert(
            MissionReport,
            {"mission_id": mission.id, "report_date": report_date},
            {
                "author_id": refs.user_id(author),
                "days_spent": Decimal(days),
                "activities": activities,
                "is_field_mission": bool(location),
                "field_location": location,
                # Reports are written on the evening of their date.
                "created_at": d.paris(report_date.year, report_date.month, report_date.day, 18),
            },
        )
        for label, amount in expenses:
            upsert(Expense, {"report_id": report.id, "label": label}, {"amount": Decimal(amount)})
    for title, is_final, state, submitted_at, accepted_at, validated_at in spec.get(
        "deliverables", []
    ):
        upsert(
            Deliverable,
            {"mission_id": mission.id, "title": title},
            {
                "is_final": is_final,
                "state": state,
                "submitted_at": submitted_at,
                "accepted_by_applicant_at": accepted_at,
                "validated_at": validated_at,
            },
        )
    if "satisfaction" in spec:
        respondent, quality, timeliness, relevance, overall, comment, answered_at = spec[
            "satisfaction"
        ]
        upsert(
            Satisfaction,
            {"mission_id": mission.id},
            {
                "respondent_id": refs.user_id(respondent),
                "quality": quality,
                "timeliness": timeliness,
                "relevance": relevance,
                "overall": overall,
                "comment": comment,
                "answered_at": answered_at,
            },
        )
