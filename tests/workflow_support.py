"""Builds dossiers ready for each event of the lifecycle, for the workflow tests.

What later issues will do through their own screens (reviews, signatures, reports...) is written
here straight into the data model, which is what the guards read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from dcol.applications.services import create_application, update_application
from dcol.extensions import db
from dcol.models import (
    Agreement,
    AgreementState,
    Application,
    CallKind,
    CofinancingRule,
    CofinancingSnapshot,
    CostBase,
    Deliverable,
    DeliverableState,
    Document,
    DocumentKind,
    DocumentRequirement,
    Envelope,
    MissionReport,
    Party,
    ReviewState,
    Role,
    Signature,
    SignatureMethod,
    SnapshotKind,
    User,
    utcnow,
)
from dcol.models import Track as TrackModel
from tests import factories as f
from workflows.guards import mission_of

DCOL_DATA = {
    "context": {
        "history": "Coopération décentralisée avec la province de Binh Dinh depuis 2007.",
        "partner_territories": "Province de Binh Dinh (Viêt Nam)",
    },
    "needs": {
        "needs": "Reformuler un projet pilote d'accès à l'eau.",
        "support_expected": "Analyse, plan d'action, mission de terrain.",
        "deliverables_expected": "Rapport de diagnostic et plan d'action.",
        "timetable": "Premier semestre 2027",
    },
    "commitment": {"commitment_kind": "deliberation"},
    "contact": {
        "contact_name": "Camille Martin",
        "contact_role": "Chargée des relations internationales",
        "contact_email": "camille.martin@example.org",
    },
}
AAP_DATA = {
    "project": {
        "partners": "Ville de Gyumri",
        "objectives": "Échanges culturels entre jeunes.",
        "activities": "Résidences d'artistes.",
    },
    "contact": DCOL_DATA["contact"],
}


@dataclass
class Cast:
    """Everybody a dossier's journey needs."""

    signatory: User
    member: User
    manager: User
    reviewers: list[User]
    committee: User
    expert_user: User
    other_expert_user: User
    outsider: User  # a signatory of another organisation


def make_cast(call) -> Cast:
    org = f.make_organisation("Syndicat mixte Fensch Lorraine")
    consultancy = f.make_expert("Coop'Eau Conseil", capacity=3)
    other = f.make_expert("Climat Territoires Conseil", capacity=3)
    committee = f.make_user(Role.COMMITTEE)
    f.seat_on_committee(call, committee)
    cast = Cast(
        signatory=f.make_user(Role.APPLICANT, organisation=org, signatory=True),
        member=f.make_user(Role.APPLICANT, organisation=org),
        manager=f.make_user(Role.MANAGER),
        reviewers=[f.make_user(Role.REVIEWER), f.make_user(Role.REVIEWER)],
        committee=committee,
        expert_user=f.make_user(Role.EXPERT, expert=consultancy),
        other_expert_user=f.make_user(Role.EXPERT, expert=other),
        outsider=f.make_user(Role.APPLICANT, organisation=f.make_organisation(), signatory=True),
    )
    return cast


def make_call_for(kind: CallKind, envelope: Decimal = Decimal("100000.00")):
    call = f.make_call(kind, min_reviewers=2)
    if kind is CallKind.AAP:
        call.tracks[0].eligible_countries = ["AM", "SN"]
    call.document_requirements.append(
        DocumentRequirement(code="deliberation", label="Délibération ou lettre de l'exécutif")
    )
    call.envelopes.append(Envelope(amount=envelope))
    call.cofinancing_rules.append(
        CofinancingRule(
            version=1, effective_from=utcnow().date(), rates={"commune": "80.00", "syndicate": "80.00"},
            cost_base=CostBase.EXPERT_DAYS if kind is CallKind.DCOL else CostBase.PROJECT_BUDGET,
            created_at=utcnow(),
        )
    )
    db.session.flush()
    return call


def complete_dossier(call, cast: Cast) -> Application:
    """A draft with every required field and document: ready to be submitted."""
    track = db.session.get(TrackModel, call.tracks[0].id)
    application = create_application(call, cast.signatory, title="Projet pilote eau potable",
                                     track=track)
    changes = {
        "summary": "Appui à la reformulation d'un projet pilote.",
        "data": DCOL_DATA if call.kind is CallKind.DCOL else AAP_DATA,
        "countries": ["VN"] if call.kind is CallKind.DCOL else ["AM"],
        "estimated_cost": "12500.00",
    }
    if call.kind is CallKind.AAP:
        changes["requested_amount"] = "8000.00"
    update_application(application, cast.signatory, changes)
    if call.kind is CallKind.AAP:
        from dcol.models import BudgetLine, BudgetLineKind

        application.budget_lines.extend([
            BudgetLine(kind=BudgetLineKind.EXPENSE, label="Résidences", amount=Decimal("10000.00")),
            BudgetLine(kind=BudgetLineKind.INCOME, label="Subvention demandée", amount=Decimal("8000.00")),
            BudgetLine(kind=BudgetLineKind.INCOME, label="Fonds propres", amount=Decimal("2000.00")),
        ])
    attach(application, cast.signatory, requirement=call.document_requirements[0])
    application.estimated_cofinancing = Decimal("10000.00")
    db.session.flush()
    return application


def attach(application, user, requirement=None, kind=DocumentKind.APPLICATION) -> Document:
    content = f"document {utcnow().isoformat()}".encode()
    document = Document(
        application=application, kind=kind, requirement=requirement,
        original_name="deliberation.pdf", stored_name=hashlib.md5(content).hexdigest(),
        content_type="application/pdf", size=len(content),
        sha256=hashlib.sha256(content).hexdigest(), uploaded_by_id=user.id, uploaded_at=utcnow(),
    )
    db.session.add(document)
    db.session.flush()
    return document


def assign_reviewers(application, cast: Cast) -> None:
    from dcol.models import ConflictStatus, Review

    assigned = set(db.session.scalars(
        sa.select(Review.reviewer_id).where(Review.application_id == application.id)))
    for reviewer in cast.reviewers:
        if reviewer.id not in assigned:
            f.assign_reviewer(application, reviewer, ConflictStatus.NONE)


def submit_reviews(application) -> None:
    from dcol.models import Review

    for review in db.session.query(Review).filter_by(application_id=application.id):
        review.state, review.submitted_at = ReviewState.SUBMITTED, utcnow()
    db.session.flush()


def sign_agreement(application, cast: Cast, parties=None) -> Agreement:
    """An agreement signed by ``parties`` (every party by default), its snapshot computed by the
    real cofinancing engine on 12 500 € (DCOL: 12,5 days at 1 000 €). The signatures themselves
    go through the real service in tests/test_agreements.py."""
    from dcol.finance.agreements import AgreementTerms
    from dcol.finance.cofinancing import compute_cofinancing, expertise_inputs
    from dcol.finance.computation import CostLine, Inputs

    existing = db.session.scalar(sa.select(Agreement).where(Agreement.application_id == application.id))
    if existing is not None:
        return existing
    now = utcnow()
    dcol = application.call.kind is CallKind.DCOL
    if dcol:
        terms = AgreementTerms(days=Decimal("12.5"), daily_rate=Decimal("1000.00"),
                               starts_on=now.date(), ends_on=now.date() + timedelta(days=180),
                               deliverables="Plan d'action")
        inputs = expertise_inputs(application, terms.days, terms.daily_rate, Decimal("0"))
    else:
        terms = AgreementTerms(project_cost=Decimal("12500.00"), starts_on=now.date(),
                               ends_on=now.date() + timedelta(days=365))
        inputs = Inputs(application.organisation.kind.value,
                        (CostLine("Dépenses éligibles du projet", amount=Decimal("12500.00")),),
                        application.requested_amount)
    snapshot = compute_cofinancing(application, SnapshotKind.AGREEMENT, inputs, None, now,
                                   locked=True)
    if parties is None:
        parties = [Party.CUF, Party.APPLICANT]
        if dcol:
            parties.append(Party.EXPERT)
    every_party = {Party.CUF, Party.APPLICANT} | ({Party.EXPERT} if dcol else set())
    agreement = Agreement(application=application, version=1, snapshot=snapshot,
                          state=AgreementState.SIGNED if set(parties) == every_party
                          else AgreementState.AWAITING_SIGNATURES,
                          signed_at=now if set(parties) == every_party else None,
                          document_sha256="a" * 64, terms=terms.as_json(), created_at=now)
    signer = {Party.CUF: cast.manager, Party.APPLICANT: cast.signatory, Party.EXPERT: cast.expert_user}
    for party in parties:
        agreement.signatures.append(Signature(
            party=party, method=SignatureMethod.ELECTRONIC, user_id=signer[party].id,
            signer_name=signer[party].full_name, signer_capacity="Signataire", signed_at=now,
            ip_address="127.0.0.1", document_sha256="a" * 64,
        ))
    mission = mission_of(application)
    if mission is not None:
        mission.contracted_days, mission.daily_rate = terms.days, terms.daily_rate
        mission.starts_on, mission.ends_on = terms.starts_on, terms.ends_on
    db.session.add(agreement)
    db.session.flush()
    return agreement


def log_report(application, author, days: str = "2") -> MissionReport:
    from dcol.missions.reports import ReportEntry
    from dcol.missions.reports import log_report as log

    return log(application, author, ReportEntry(
        report_date=utcnow().date(), days_spent=Decimal(days),
        activities="Atelier de diagnostic.", is_field_mission=False, field_location=""))


def add_final_deliverable(application) -> Deliverable:
    """The final deliverable's row (its deposit through the real service, which also fires
    ``submit_final_report``, is tested in tests/test_follow_up.py)."""
    from workflows.guards import final_deliverable

    if (existing := final_deliverable(application)) is not None:
        return existing
    deliverable = Deliverable(mission=mission_of(application), title="Plan d'action",
                              is_final=True, submitted_at=utcnow())
    db.session.add(deliverable)
    db.session.flush()
    return deliverable


def validate_final_deliverable(application, cast: Cast) -> None:
    """The collectivité then CUF validate the final deliverable (the real course)."""
    from workflows import deliverable as course
    from workflows.guards import final_deliverable

    deliverable = final_deliverable(application)
    if deliverable.state is DeliverableState.SUBMITTED:
        course.move(deliverable, "accept", cast.signatory)
    if deliverable.state is DeliverableState.ACCEPTED_BY_APPLICANT:
        course.move(deliverable, "validate", cast.manager)
    db.session.flush()


def answer_satisfaction(application, cast: Cast) -> None:
    from dcol.missions.closure import SatisfactionAnswer, answer_satisfaction, satisfaction_of

    if satisfaction_of(application) is None:
        answer_satisfaction(application, cast.signatory, SatisfactionAnswer(4, 5, 4, 4, "Utile."))


def compute_final_cofinancing(application, cast: Cast) -> None:
    """The final cofinancing on the actual costs (the real service), unless one computed since
    the last final report exists."""
    from dcol.missions.closure import compute_final_cofinancing as compute
    from workflows.guards import entered_final_report_at

    entered = entered_final_report_at(application)
    query = sa.select(CofinancingSnapshot.id).where(
        CofinancingSnapshot.application_id == application.id,
        CofinancingSnapshot.kind == SnapshotKind.FINAL)
    if entered is not None:
        query = query.where(CofinancingSnapshot.computed_at >= entered)
    if db.session.scalar(query.limit(1)):
        return
    compute(application, cast.manager)
    db.session.flush()


def future(days: int = 14) -> str:
    return (utcnow() + timedelta(days=days)).date().isoformat()


# --- driving a dossier along its lifecycle ----------------------------------------------------

def prepare_step(step: str, application, cast: Cast) -> None:
    """What must be true before ``step`` besides the state (done by later issues' screens)."""
    if step == "start_review":
        assign_reviewers(application, cast)
    elif step == "complete_review":
        submit_reviews(application)
    elif step == "start":
        sign_agreement(application, cast)
    elif step == "submit_final_report":
        log_report(application, reporter(application, cast))
        add_final_deliverable(application)
    elif step == "close":
        validate_final_deliverable(application, cast)
        answer_satisfaction(application, cast)
        compute_final_cofinancing(application, cast)


def reporter(application, cast: Cast) -> User:
    return cast.expert_user if application.call.kind is CallKind.DCOL else cast.signatory


def step_request(step: str, application, cast: Cast) -> tuple[User, str, dict]:
    """Who fires ``step`` on the happy path, with which comment and payload."""
    actors = {
        "submit": cast.signatory, "request_changes": cast.manager,
        "declare_eligible": cast.manager, "declare_ineligible": cast.manager,
        "start_review": cast.manager, "complete_review": cast.manager,
        "select": cast.committee, "waitlist": cast.committee, "reject": cast.committee,
        "start_matching": cast.manager, "propose_expert": cast.manager,
        "accept_mission": cast.expert_user, "decline_mission": cast.expert_user,
        "prepare_agreement": cast.manager, "start": cast.manager,
        "submit_final_report": reporter(application, cast), "request_revision": cast.signatory,
        "close": cast.manager, "withdraw": cast.signatory,
    }
    payloads = {
        "request_changes": {"response_deadline": future()},
        "propose_expert": {"expert_id": cast.expert_user.expert_id, "indicative_days": "15"},
        "accept_mission": {"no_conflict": True},
    }
    comments = {
        "request_changes": "Joindre la délibération signée.",
        "declare_ineligible": "Organisation hors champ.",
        "reject": "Projet insuffisamment mûr.",
        "decline_mission": "Indisponible sur la période.",
        "request_revision": "Compléter le chiffrage.",
        "withdraw": "Projet reporté.",
    }
    return actors[step], comments.get(step, ""), payloads.get(step, {})


PATHS = {
    CallKind.DCOL: ("submit", "declare_eligible", "start_review", "complete_review", "select",
                    "start_matching", "propose_expert", "accept_mission", "start",
                    "submit_final_report", "close"),
    CallKind.AAP: ("submit", "declare_eligible", "start_review", "complete_review", "select",
                   "prepare_agreement", "start", "submit_final_report", "close"),
}


def fire_step(application, cast: Cast, step: str):
    from workflows import engine

    prepare_step(step, application, cast)
    actor, comment, payload = step_request(step, application, cast)
    return engine.fire(application, step, actor, comment=comment, payload=payload)


def drive_to(application, cast: Cast, target) -> None:
    """Fire the happy path's events until the dossier reaches ``target``."""
    from dcol.models import ApplicationState
    from workflows.dossier import EVENTS_BY_NAME

    target = ApplicationState(target)
    for step in PATHS[application.call.kind]:
        if application.state is target:
            return
        fire_step(application, cast, step)
        assert application.state is EVENTS_BY_NAME[step].target
    assert application.state is target, f"{target} is not on the happy path"


# Detours to the states the happy path does not go through: (state before, event).
DETOURS = {
    "waitlisted": ("reviewed", "waitlist"),
    "changes_requested": ("submitted", "request_changes"),
}


def reach(application, cast: Cast, target) -> None:
    """Bring the dossier to ``target``, along the happy path or one of its ``DETOURS``."""
    from dcol.models import ApplicationState

    target = ApplicationState(target)
    if target.value in DETOURS:
        before, step = DETOURS[target.value]
        drive_to(application, cast, before)
        fire_step(application, cast, step)
    else:
        drive_to(application, cast, target)
    assert application.state is target
