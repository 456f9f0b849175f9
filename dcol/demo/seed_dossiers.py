"""Seed the dossiers and what happened to them: reviews, decisions, proposals, missions.

Dossiers are inserted in their state directly: this is fixture data, not a workflow.
"""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from dcol.demo import data as d
from dcol.demo.dossiers import DCOL11_DOSSIERS, DCOL12_DOSSIERS, EXP
from dcol.demo.recent import AAP_DOSSIERS, DCOL13_DOSSIERS
from dcol.demo.rows import Refs, money, upsert
from dcol.documents import storage
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
    User,
)

DOSSIERS = DCOL11_DOSSIERS + DCOL12_DOSSIERS + DCOL13_DOSSIERS + AAP_DOSSIERS

# What happened to a dossier after its deposit, relative to ``submitted``.
CHECKED_AFTER = timedelta(days=3)
ASSIGNED_AFTER = timedelta(days=7)
DECLARED_AFTER = timedelta(days=8)
REVIEWED_AFTER = timedelta(days=17)
CONSENSUS_AFTER = timedelta(days=20)
DECIDED_AFTER_SESSION_START = timedelta(hours=2)

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
    seed_audit_trail(refs, application, spec)
    if spec["state"] in CHECKED_STATES:
        seed_review_history(refs, application, spec)
    if "proposal" in spec:
        seed_proposal(refs, application, spec["proposal"])
    if "mission" in spec:
        seed_mission(refs, application, spec["mission"])
        seed_agreement(refs, application)
    return application


# Who fires each event in the demo's history, and how long after the previous step.
TRAIL_ACTORS = {
    "declare_eligible": d.REVIEWER, "declare_ineligible": d.REVIEWER,
    "request_changes": d.REVIEWER, "select": d.COMMITTEE, "waitlist": d.COMMITTEE,
    "reject": d.COMMITTEE,
}
TRAIL_STEP = timedelta(days=6)


def seed_audit_trail(refs: Refs, application: Application, spec: dict) -> None:
    """The chained audit entries the dossier would have: its creation, then the events that
    lead a draft to its state (the machine's shortest path), dated between its deposit and
    its closure (or today)."""
    from dcol.audit import record
    from workflows.paths import shortest_path

    author = spec.get("created_by") or d.APPLICANT
    record(application_id=application.id, actor=refs.users[author], event="create",
           occurred_at=spec["created"], to_state=S.DRAFT.value)
    path = shortest_path(application.call.kind, spec["state"])
    if not path:
        return
    moment = spec["submitted"]
    last = spec.get("closed") or min(
        moment + TRAIL_STEP * len(path), d.paris(d.TODAY.year, d.TODAY.month, d.TODAY.day, 9)
    )
    step = (last - moment) / max(len(path) - 1, 1)
    state = S.DRAFT
    for index, event in enumerate(path):
        comment = ""
        if event.name in {"reject", "declare_ineligible"}:
            comment = spec.get("decision", (None, None, ""))[2] or "Décision motivée."
        elif event.name == "withdraw":
            comment = "Retrait à la demande de la collectivité."
        record(application_id=application.id, actor=_trail_actor(refs, event.name, spec, author),
               event=event.name, occurred_at=_office_hours(moment + step * index, index),
               from_state=state.value, to_state=event.target.value, comment=comment)
        state = event.target


def _office_hours(moment, index: int):
    """The same day, at a plausible office time in Paris (the first step keeps its own time)."""
    if index == 0:
        return moment
    local = moment.astimezone(d.PARIS)
    return local.replace(hour=9 + index % 8, minute=(index * 17) % 60, second=0, microsecond=0)


def _trail_actor(refs: Refs, event_name: str, spec: dict, author: str) -> User:
    if event_name == "submit":
        return refs.users[author]
    if event_name in {"accept_mission", "submit_final_report"} and "mission" in spec:
        expert = refs.experts.get(spec["mission"].get("expert"))
        if expert is not None:
            user = db.session.scalars(
                sa.select(User).where(User.expert_id == expert.id).order_by(User.id).limit(1)
            ).first()
            if user is not None:
                return user
    if event_name == "submit_final_report":
        return refs.users[author]
    return refs.users[TRAIL_ACTORS.get(event_name, d.MANAGER)]


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


def seed_agreement(refs: Refs, application: Application) -> None:
    """The agreement of a dossier at the agreement stage (awaiting the signatures) or under way
    (signed by every party), made and signed through the finance services as CUF would. Dossiers
    further along keep none: the services no longer prepare or sign at those stages."""
    from dcol.finance import agreements as ag

    if application.state not in {S.AGREEMENT, S.IN_PROGRESS} or ag.agreements_of(application):
        return
    db.session.flush()
    db.session.refresh(application)
    manager = refs.users[d.MANAGER]
    agreement = ag.prepare_agreement(application, manager, ag.proposed_terms(application))
    if application.state is not S.IN_PROGRESS:
        return
    signatory = next((user for user in refs.users.values()
                      if user.organisation_id == application.organisation_id
                      and user.is_signatory), None)
    signers = [(ag.Party.APPLICANT, signatory)]
    if application.call.kind is CallKind.DCOL:
        mission = ag.mission_of(application)
        signers.append((ag.Party.EXPERT, next((user for user in refs.users.values()
                                               if user.expert_id == mission.expert_id), None)))
    signers.append((ag.Party.CUF, manager))
    for party, user in signers:
        if user is not None:
            request = ag.SignatureRequest(user.full_name, user.job_title or "Signataire",
                                          "127.0.0.1", agreement.document_sha256, accepted=True)
        else:  # a party without an account in the demo posted its copy signed by hand
            user = manager
            copy = storage.path_of(agreement.document).read_bytes()
            request = ag.SignatureRequest(
                "Signataire habilité", "Par délégation", "127.0.0.1", party=party,
                scan=FileStorage(io.BytesIO(copy), filename="convention-signee.pdf",
                                 content_type="application/pdf"))
        ag.sign(agreement, user, request)
