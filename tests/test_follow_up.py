"""Following a support through the services the pages call (``dcol.missions``), on the real
database: the mission plan, reports and their running totals, the deliverables' course and the
final report, satisfaction, and closure on the actual costs."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from dcol.extensions import db
from dcol.finance import payments
from dcol.finance.envelopes import call_envelopes
from dcol.matching.services import pool
from dcol.missions import closure, deliverables, plan
from dcol.missions.reports import ExpenseEntry, ReportEntry, log_report, totals_of
from dcol.models import (
    ApplicationState,
    AuditEvent,
    CallKind,
    Deliverable,
    DeliverableState,
    Document,
    DocumentKind,
    Expense,
    MissionReport,
    PaymentKind,
    PaymentStatus,
    Phase,
    utcnow,
)
from dcol.permissions import Action, can
from tests import follow_up_support as fs
from tests.pdf_support import document_text as pdf_text
from workflows import engine
from workflows.guards import mission_of

S = ApplicationState
D = Decimal


@pytest.fixture
def support(app):
    return fs.running_support(CallKind.DCOL)


def final_deposit(application, cast, title="Plan d'action"):
    deliverable = deliverables.submit_deliverable(
        application, cast.expert_user, title=title, description="Version remise au comité.",
        is_final=True, upload=fs.pdf_upload("plan.pdf", "Plan d'action v1"))
    db.session.commit()
    return deliverable


def test_signing_lays_out_the_default_plan(support):
    call, cast, application = support
    milestones = mission_of(application).milestones
    assert [m.phase for m in milestones] == [Phase.SCOPING, Phase.DIAGNOSIS, Phase.FIELD_MISSION,
                                             Phase.RESTITUTION, Phase.FINAL_DELIVERABLE]
    assert milestones[0].due_on > fs.TERMS.starts_on
    assert milestones[-1].due_on == fs.TERMS.ends_on


def test_the_plan_is_amended_with_a_reason_and_audited(support):
    call, cast, application = support
    milestones = mission_of(application).milestones
    entries = [plan.MilestoneEntry(m.phase, m.label, m.due_on, None, m.id) for m in milestones]
    entries[0] = plan.MilestoneEntry(Phase.SCOPING, "Cadrage avec les élus", entries[0].due_on,
                                     fs.STARTS_ON + timedelta(days=3), milestones[0].id)
    del entries[2]  # no field mission after all
    entries.append(plan.MilestoneEntry(Phase.OTHER, "Comité de pilotage",
                                       fs.STARTS_ON + timedelta(days=90)))
    with pytest.raises(engine.InputRefused) as refused:
        plan.amend_plan(application, cast.expert_user, entries, "")
    assert refused.value.errors == {"reason": "Indiquez le motif de la modification du plan."}
    plan.amend_plan(application, cast.expert_user, entries, "Mission de terrain annulée.")
    db.session.commit()
    milestones = mission_of(application).milestones
    assert len(milestones) == 5
    assert Phase.FIELD_MISSION not in {m.phase for m in milestones}
    assert milestones[0].label == "Cadrage avec les élus" and milestones[0].done_on is not None
    entry = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.event == "mission_plan.amended")).one()
    assert entry.actor_id == cast.expert_user.id and entry.comment == "Mission de terrain annulée."
    assert len(entry.payload["before"]) == 5 and entry.payload["before"][2]["phase"] == "field_mission"
    assert not can(cast.other_expert_user, Action.APP_EDIT_PLAN, application)
    with pytest.raises(engine.Forbidden):
        plan.amend_plan(application, cast.other_expert_user, entries, "Tentative.")


def test_a_plan_must_keep_the_final_deliverable_and_dates_done_in_the_past(support):
    call, cast, application = support
    future = utcnow().date() + timedelta(days=10)
    entries = [plan.MilestoneEntry(Phase.SCOPING, "Cadrage", fs.STARTS_ON, future)]
    with pytest.raises(engine.InputRefused) as refused:
        plan.amend_plan(application, cast.manager, entries, "Révision.")
    assert refused.value.errors == {
        "milestones-0-done_on": "La date de réalisation ne peut pas être dans le futur.",
        "milestones": "Le plan de mission doit prévoir la remise du livrable final.",
    }


def test_reports_add_up_against_the_agreement(support):
    call, cast, application = support
    fs.report(application, cast.expert_user, "4", on=fs.STARTS_ON + timedelta(days=10))
    fs.report(application, cast.expert_user, "3.5", on=fs.STARTS_ON + timedelta(days=40),
              location="An Nhon (Viêt Nam)", expenses=[("Billet d'avion", "640.00"),
                                                       ("Hébergement", "210.50")])
    totals = totals_of(mission_of(application))
    assert totals.reports == 2
    assert totals.days_logged == D("7.50") and totals.days_left == D("2.50")
    assert totals.expenses == D("850.50") and totals.expenses_budget == D("1000.00")
    assert totals.cost_logged == D("8350.50") and totals.contracted_cost == D("11000.00")
    assert not totals.days_exceeded
    field = db.session.scalars(sa.select(MissionReport).where(MissionReport.is_field_mission)).one()
    assert field.field_location == "An Nhon (Viêt Nam)"
    assert [e.receipt.kind for e in field.expenses] == [DocumentKind.EXPENSE_RECEIPT] * 2
    assert {e.receipt.mission_report_id for e in field.expenses} == {field.id}


def test_an_invalid_report_writes_nothing(support):
    call, cast, application = support
    not_a_pdf = fs.pdf_upload()
    not_a_pdf.stream.seek(0)
    not_a_pdf.stream = __import__("io").BytesIO(b"MZ\x90\x00 not a document")
    entry = ReportEntry(
        report_date=utcnow().date() + timedelta(days=3), days_spent=D("2.3"), activities=" ",
        is_field_mission=True, field_location="",
        expenses=(ExpenseEntry("Taxi", D("35.00"), None), ExpenseEntry("", D("-1"), not_a_pdf)))
    with pytest.raises(engine.InputRefused) as refused:
        log_report(application, cast.expert_user, entry)
    db.session.rollback()
    assert refused.value.errors == {
        "report_date": "La date du rapport ne peut pas être dans le futur.",
        "days_spent": "Comptez les jours par quarts de journée (0,25).",
        "activities": "Décrivez les activités menées.",
        "field_location": "Indiquez le lieu de la mission de terrain.",
        "expenses-0-receipt": "Joignez le justificatif de la dépense.",
        "expenses-1-label": "Indiquez la nature de la dépense.",
        "expenses-1-amount": "Indiquez un montant positif.",
    }
    # A receipt that is not what it claims to be is refused too, and nothing is kept.
    entry = ReportEntry(report_date=utcnow().date(), days_spent=D("1"), activities="Atelier.",
                        is_field_mission=False, field_location="",
                        expenses=(ExpenseEntry("Taxi", D("35.00"), not_a_pdf),))
    not_a_pdf.stream.seek(0)
    with pytest.raises(engine.InputRefused) as refused:
        log_report(application, cast.expert_user, entry)
    db.session.rollback()
    assert list(refused.value.errors) == ["expenses-0-receipt"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MissionReport)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Expense)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Document).where(
        Document.kind == DocumentKind.EXPENSE_RECEIPT)) == 0


def test_only_the_reporter_logs_reports(support):
    call, cast, application = support
    entry = ReportEntry(report_date=utcnow().date(), days_spent=D("1"), activities="Atelier.",
                        is_field_mission=False, field_location="")
    for user in (cast.other_expert_user, cast.signatory, cast.reviewers[0]):
        with pytest.raises(engine.Forbidden):
            log_report(application, user, entry)


def test_the_final_deliverable_needs_a_report_first(support):
    call, cast, application = support
    with pytest.raises(engine.GuardsFailed) as refused:
        final_deposit(application, cast)
    db.session.rollback()
    assert refused.value.problems == ["Aucun rapport de mission ou d'avancement n'a été déposé."]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Deliverable)) == 0
    assert application.state is S.IN_PROGRESS


def test_deliverable_course_with_a_revision(support):
    call, cast, application = support
    fs.report(application, cast.expert_user, "4", on=fs.STARTS_ON + timedelta(days=10))
    interim = deliverables.submit_deliverable(
        application, cast.expert_user, title="Note de cadrage", description="", is_final=False,
        upload=fs.pdf_upload("cadrage.pdf"))
    db.session.commit()
    assert application.state is S.IN_PROGRESS
    final = final_deposit(application, cast)
    assert application.state is S.FINAL_REPORT
    first_file = final.current_file
    with pytest.raises(engine.Forbidden):  # a member who is not a signatory
        deliverables.review_deliverable(final, cast.member, "accept")
    with pytest.raises(engine.InvalidInput):
        deliverables.review_deliverable(final, cast.signatory, "ask_revision", "  ")
    deliverables.review_deliverable(final, cast.signatory, "ask_revision",
                                    "Chiffrer les trois scénarios.")
    db.session.commit()
    assert final.state is DeliverableState.REVISION_REQUESTED
    assert application.state is S.IN_PROGRESS
    with pytest.raises(engine.NotApplicable):  # CUF validates after the collectivité
        deliverables.review_deliverable(final, cast.manager, "validate")
    db.session.rollback()
    deliverables.resubmit_deliverable(final, cast.expert_user,
                                      fs.pdf_upload("plan-v2.pdf", "Plan d'action v2"),
                                      "Scénarios chiffrés.")
    db.session.commit()
    assert application.state is S.FINAL_REPORT
    assert final.version == 2 and final.state is DeliverableState.SUBMITTED
    assert final.current_file.original_name == "plan-v2.pdf"
    db.session.refresh(first_file)
    assert first_file.replaced_by_id == final.current_file.id  # the first version is kept
    deliverables.review_deliverable(final, cast.signatory, "accept")
    deliverables.review_deliverable(final, cast.manager, "validate")
    db.session.commit()
    assert final.state is DeliverableState.VALIDATED
    assert final.accepted_by_id == cast.signatory.id and final.validated_by_id == cast.manager.id
    assert interim.state is DeliverableState.SUBMITTED
    trail = [entry for entry in db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.event.like("deliverable.%"))
        .order_by(AuditEvent.sequence)) if entry.payload["deliverable"] == final.id]
    assert [(entry.event, entry.payload.get("from"), entry.payload["to"])
            for entry in trail] == [
        ("deliverable.submitted", None, "submitted"),
        ("deliverable.ask_revision", "submitted", "revision_requested"),
        ("deliverable.resubmit", "revision_requested", "submitted"),
        ("deliverable.accept", "submitted", "accepted_by_applicant"),
        ("deliverable.validate", "accepted_by_applicant", "validated"),
    ]
    events = db.session.scalars(sa.select(AuditEvent.event).where(
        AuditEvent.to_state.is_not(None)).order_by(AuditEvent.sequence)).all()
    assert events[-3:] == ["submit_final_report", "request_revision", "submit_final_report"]


def close_ready(application, cast, *, days: str, expenses=()):
    """Report ``days`` and ``expenses``, deposit and validate the final deliverable, answer the
    questionnaire: the dossier awaits its final cofinancing."""
    fs.report(application, cast.expert_user, days, on=fs.STARTS_ON + timedelta(days=20),
              expenses=expenses, location="Quy Nhon" if expenses else "")
    final = final_deposit(application, cast)
    deliverables.review_deliverable(final, cast.signatory, "accept")
    deliverables.review_deliverable(final, cast.manager, "validate")
    db.session.commit()


def test_closing_needs_the_questionnaire_and_the_final_cofinancing(support):
    call, cast, application = support
    close_ready(application, cast, days="6")
    with pytest.raises(engine.GuardsFailed) as refused:
        engine.fire(application, "close", cast.manager)
    assert refused.value.problems == [
        "La collectivité n'a pas répondu au questionnaire de satisfaction.",
        "Le cofinancement définitif sur coûts réels n'a pas été calculé.",
    ]
    with pytest.raises(engine.InputRefused) as invalid:
        closure.answer_satisfaction(application, cast.signatory,
                                    closure.SatisfactionAnswer(6, 4, None, 4, ""))
    assert set(invalid.value.errors) == {"quality", "relevance"}
    with pytest.raises(engine.Forbidden):
        closure.answer_satisfaction(application, cast.member,
                                    closure.SatisfactionAnswer(4, 4, 4, 4, ""))
    with pytest.raises(engine.Forbidden):
        closure.compute_final_cofinancing(application, cast.expert_user)


def test_closure_on_actual_costs_below_the_agreement(support):
    call, cast, application = support
    close_ready(application, cast, days="6", expenses=[("Billet de train", "400.00")])
    closure.answer_satisfaction(application, cast.signatory,
                                closure.SatisfactionAnswer(5, 4, 5, 5, "Très utile."))
    snapshot = closure.compute_final_cofinancing(application, cast.manager)
    db.session.commit()
    # 6 days at 1 000 € + 400 € of expenses = 6 400 €; 80 % = 5 120 €; the rest 1 280 €.
    assert (snapshot.total_cost, snapshot.scheme_share, snapshot.applicant_share) == (
        D("6400.00"), D("5120.00"), D("1280.00"))
    engine.fire(application, "close", cast.manager, comment="Mission menée à bien.")
    assert application.state is S.CLOSED and application.closed_at is not None
    live = [p for p in payments.payments_of(application) if p.status is not PaymentStatus.CANCELLED]
    expert = [p for p in live if p.kind in payments.EXPERT_KINDS]
    assert sum(p.amount for p in expert) == D("6400.00")
    assert sum(p.scheme_part for p in live) == D("5120.00")
    # The final deliverable is validated: the expert's balance is no longer held.
    assert PaymentStatus.HELD not in {p.status for p in live}
    contribution = [p for p in live if p.kind is PaymentKind.APPLICANT_CONTRIBUTION]
    assert sum(p.amount for p in contribution) == D("1280.00")
    # The envelope now holds what the support really cost CUF.
    assert call_envelopes(call)[0].committed == D("5120.00")
    # Read-only: nobody reports, amends, validates or signs any more.
    for action in (Action.APP_REPORT, Action.APP_EDIT_PLAN, Action.APP_VALIDATE_DELIVERABLE,
                   Action.APP_SIGN, Action.APP_ANSWER_SATISFACTION, Action.APP_VALIDATE_FOR_CUF):
        for user in (cast.expert_user, cast.signatory, cast.manager):
            assert not can(user, action, application)


def test_the_final_cofinancing_never_exceeds_the_committed_amount(support):
    call, cast, application = support
    # 12 days for 10 contracted and 1 500 € of expenses for 1 000 € budgeted.
    close_ready(application, cast, days="12", expenses=[("Billet d'avion", "1500.00")])
    snapshot = closure.compute_final_cofinancing(application, cast.manager)
    assert snapshot.total_cost == D("11000.00") and snapshot.scheme_share == D("8800.00")
    costs = closure.actual_costs(application)
    assert costs.days == D("12.00") and costs.total == D("13500.00")
    assert costs.committed_scheme == D("8800.00")


def test_the_closure_report_holds_the_actual_figures(support):
    call, cast, application = support
    close_ready(application, cast, days="6.5", expenses=[("Billet de train", "400.00")])
    closure.answer_satisfaction(application, cast.signatory,
                                closure.SatisfactionAnswer(4, 3, 5, 4, "Restitution appréciée."))
    closure.compute_final_cofinancing(application, cast.manager)
    db.session.commit()
    engine.fire(application, "close", cast.manager)
    document = db.session.scalars(sa.select(Document).where(
        Document.application_id == application.id,
        Document.kind == DocumentKind.CLOSURE_REPORT)).one()
    text = pdf_text(document)
    assert "Bilan de clôture" in text and application.reference in text
    assert "6,5" in text and "10" in text  # days actual and contracted
    assert "6 900,00 €" in text  # 6,5 × 1 000 + 400 actually spent
    assert "5 520,00 €" in text and "8 800,00 €" in text  # CUF's share, final and planned
    assert "Plan d'action" in text and "4/5" in text and "Restitution appréciée." in text


def test_satisfaction_feeds_the_experts_history(support):
    call, cast, application = support
    close_ready(application, cast, days="6")
    closure.answer_satisfaction(application, cast.signatory,
                                closure.SatisfactionAnswer(4, 4, 4, 3, ""))
    closure.compute_final_cofinancing(application, cast.manager)
    db.session.commit()
    expert_id = cast.expert_user.expert_id
    before = next(p for p in pool()[1] if p.expert_id == expert_id)
    engine.fire(application, "close", cast.manager)
    after = next(p for p in pool()[1] if p.expert_id == expert_id)
    assert (before.satisfaction_count, after.satisfaction_count) == (0, 1)
    assert after.satisfaction == 3


def test_a_call_for_projects_closes_on_its_actual_expenses(app):
    call, cast, application = fs.running_support(CallKind.AAP)
    fs.report(application, cast.signatory, "0", on=fs.STARTS_ON + timedelta(days=30),
              expenses=[("Résidence d'artistes", "6000.00"), ("Traduction", "500.00")])
    final = deliverables.submit_deliverable(
        application, cast.signatory, title="Rapport final du projet", description="",
        is_final=True, upload=fs.pdf_upload("rapport.pdf"))
    db.session.commit()
    assert application.state is S.FINAL_REPORT
    deliverables.review_deliverable(final, cast.signatory, "accept")
    deliverables.review_deliverable(final, cast.manager, "validate")
    snapshot = closure.compute_final_cofinancing(application, cast.manager)
    db.session.commit()
    # 6 500 € spent at 80 % = 5 200 € (under the 8 000 € committed); no questionnaire needed.
    assert snapshot.scheme_share == D("5200.00")
    engine.fire(application, "close", cast.manager)
    assert application.state is S.CLOSED
    grant = [p for p in payments.payments_of(application) if p.status is not PaymentStatus.CANCELLED]
    assert sum(p.amount for p in grant) == D("5200.00")


def test_closure_after_the_advance_and_the_contribution_were_paid(support):
    """The usual course: the expert's advance and the collectivité's contribution are paid at
    the start; the actual costs come in lower. The balance takes the advance's excess off, and
    what the collectivité paid beyond its final remainder is refunded."""
    call, cast, application = support
    for payment in payments.payments_of(application):
        if payment.kind in {PaymentKind.EXPERT_ADVANCE, PaymentKind.APPLICANT_CONTRIBUTION}:
            payments.request_payment(payment, cast.manager)
            payments.record_payment(payment, cast.manager)
    db.session.commit()
    paid = {p.kind: p.amount for p in payments.payments_of(application)
            if p.status is PaymentStatus.PAID}
    # 30 % of 11 000 € to the expert; the collectivité's 20 %, 2 200 €.
    assert paid == {PaymentKind.EXPERT_ADVANCE: D("3300.00"),
                    PaymentKind.APPLICANT_CONTRIBUTION: D("2200.00")}
    close_ready(application, cast, days="3", expenses=[("Billet de train", "400.00")])
    closure.answer_satisfaction(application, cast.signatory,
                                closure.SatisfactionAnswer(4, 4, 4, 4, ""))
    closure.compute_final_cofinancing(application, cast.manager)
    db.session.commit()
    # 3 000 + 400 = 3 400 €: CUF 2 720 €, the collectivité 680 €; the advance (3 300 €) was
    # nearly all of it.
    engine.fire(application, "close", cast.manager)
    live = [p for p in payments.payments_of(application) if p.status is not PaymentStatus.CANCELLED]
    to_expert = sum(p.amount for p in live if p.kind in payments.EXPERT_KINDS)
    assert to_expert == D("3400.00")
    refund = [p for p in live if p.kind is PaymentKind.APPLICANT_REFUND]
    assert [(p.amount, p.status) for p in refund] == [(D("1520.00"), PaymentStatus.SCHEDULED)]
    payments.request_payment(refund[0], cast.manager)
    payments.record_payment(refund[0], cast.manager)
    db.session.commit()
    assert sum(p.scheme_part for p in live) == D("2720.00")
