"""Closing a support: the collectivité's satisfaction questionnaire, the final cofinancing on the
actual costs, the payment schedule's balances, the closure report (*bilan de clôture*).

The manager computes the final cofinancing once the final report is in (it can be computed again
until closure), then closes: the ``close`` event checks that the final deliverable is validated,
the questionnaire answered (DCOL) and the final cofinancing computed since the last final report;
its effects reschedule the balances on the final amounts and write the closure report. The
dossier is then read-only. Services flush only; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _

from dcol import audit
from dcol.documents.services import store_generated
from dcol.extensions import db
from dcol.finance import payments
from dcol.finance.agreements import AgreementTerms, signed_agreement
from dcol.finance.cofinancing import (
    EXPERT_DAYS_LABEL,
    MISSION_COSTS_LABEL,
    breakdown_of,
    compute_cofinancing,
    latest_snapshot,
)
from dcol.finance.computation import CENT, CostLine, Inputs, PlannedPayment, schedule
from dcol.i18n import PARIS
from dcol.missions import closure_pdf as pdf
from dcol.missions.reports import totals_of
from dcol.models import (
    Application,
    ApplicationState,
    AuditEvent,
    CallKind,
    CofinancingSnapshot,
    Document,
    DocumentKind,
    MissionReport,
    PaymentStatus,
    Satisfaction,
    SnapshotKind,
    User,
    utcnow,
)
from dcol.models.base import N_
from dcol.permissions import Action, can
from workflows.engine import Forbidden, InputRefused, NotApplicable
from workflows.guards import mission_of

ZERO = Decimal("0.00")
ACTUAL_EXPENSES_LABEL = N_("Frais de mission réalisés")
ACTUAL_PROJECT_LABEL = N_("Dépenses réalisées du projet")
RATINGS = ("quality", "timeliness", "relevance", "overall")


# --- satisfaction ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SatisfactionAnswer:
    quality: int | None
    timeliness: int | None
    relevance: int | None
    overall: int | None
    comment: str


def satisfaction_of(application: Application) -> Satisfaction | None:
    mission = mission_of(application)
    return db.session.get(Satisfaction, mission.id) if mission is not None else None


def answer_satisfaction(application: Application, actor: User, answer: SatisfactionAnswer,
                        now: datetime | None = None) -> Satisfaction:
    """The collectivité's answer (ratings 1 to 5 and a comment), which it may change until
    closure. It feeds the expert's history that matching reads."""
    now = now or utcnow()
    if not can(actor, Action.APP_ANSWER_SATISFACTION, application):
        raise Forbidden(_("Seul un signataire de la collectivité répond au questionnaire, une "
                          "fois le rapport final déposé."))
    errors = {name: _("Choisissez une note de 1 à 5.") for name in RATINGS
              if getattr(answer, name) not in range(1, 6)}
    if errors:
        raise InputRefused(_("Le questionnaire n'a pas été enregistré."), errors)
    mission = mission_of(application)
    satisfaction = db.session.get(Satisfaction, mission.id) or Satisfaction(mission_id=mission.id)
    db.session.add(satisfaction)
    for name in RATINGS:
        setattr(satisfaction, name, getattr(answer, name))
    satisfaction.comment, satisfaction.respondent_id = answer.comment.strip(), actor.id
    satisfaction.answered_at = now
    db.session.flush()
    audit.record(application_id=application.id, actor=actor, occurred_at=now,
                 event="satisfaction.answered",
                 payload={name: getattr(answer, name) for name in RATINGS})
    return satisfaction


# --- final cofinancing ------------------------------------------------------------------------


@dataclass(frozen=True)
class ActualCosts:
    """What the reports say was spent, and what the final cofinancing takes into account: the
    actual costs, each capped by what the agreement contracted (more needs an amendment)."""

    days: Decimal
    contracted_days: Decimal | None
    daily_rate: Decimal | None
    expenses: Decimal
    expenses_budget: Decimal | None
    total: Decimal  # as logged
    committed_total: Decimal  # the agreement's total cost
    committed_scheme: Decimal  # the agreement's share of the scheme
    inputs: Inputs


def actual_costs(application: Application) -> ActualCosts:
    agreement = signed_agreement(application)
    mission = mission_of(application)
    if agreement is None or mission is None:
        raise NotApplicable(_("Ce dossier n'a pas de convention signée."))
    committed = agreement.snapshot
    totals = totals_of(mission)
    kind = application.organisation.kind.value
    with force_locale("fr"):  # kept in French in the snapshot, as the closure report prints it
        if application.call.kind is CallKind.DCOL:
            terms = AgreementTerms.from_json(agreement.terms)
            days = min(totals.days_logged, terms.days)
            expenses = min(totals.expenses, terms.mission_costs)
            lines = [CostLine(_(EXPERT_DAYS_LABEL), quantity=days, unit_price=terms.daily_rate)]
            if expenses:
                lines.append(CostLine(_(ACTUAL_EXPENSES_LABEL), amount=expenses))
            inputs = Inputs(kind, tuple(lines), committed=committed.scheme_share)
            budget = terms.mission_costs
        else:
            spent = min(totals.expenses, committed.total_cost)
            inputs = Inputs(kind, (CostLine(_(ACTUAL_PROJECT_LABEL), amount=spent),),
                            application.requested_amount, committed=committed.scheme_share)
            budget = committed.total_cost
    return ActualCosts(days=totals.days_logged, contracted_days=mission.contracted_days,
                       daily_rate=mission.daily_rate, expenses=totals.expenses,
                       expenses_budget=budget, total=totals.cost_logged,
                       committed_total=committed.total_cost,
                       committed_scheme=committed.scheme_share, inputs=inputs)


def compute_final_cofinancing(application: Application, actor: User,
                              now: datetime | None = None) -> CofinancingSnapshot:
    """Compute the final cofinancing on the actual costs (never above the amount committed) and
    keep it as a locked snapshot, audited. Allowed while the final report is in."""
    now = now or utcnow()
    if not can(actor, Action.APP_MANAGE, application):
        raise Forbidden(_("Seul un chargé de mission calcule le cofinancement définitif."))
    if application.state is not ApplicationState.FINAL_REPORT:
        raise NotApplicable(_("Le cofinancement définitif se calcule une fois le rapport final "
                              "déposé."))
    costs = actual_costs(application)
    agreement = signed_agreement(application)
    snapshot = compute_cofinancing(application, SnapshotKind.FINAL, costs.inputs, actor, now,
                                   rule=agreement.snapshot.rule, locked=True)
    audit.record(application_id=application.id, actor=actor, occurred_at=now,
                 event="cofinancing.final",
                 payload={"snapshot": snapshot.id, "total": snapshot.total_cost,
                          "scheme": snapshot.scheme_share,
                          "committed": costs.committed_scheme})
    return snapshot


def final_snapshot(application: Application) -> CofinancingSnapshot | None:
    return latest_snapshot(application, SnapshotKind.FINAL)


def final_schedule(application: Application) -> list[PlannedPayment]:
    """The payments the final cofinancing leads to."""
    snapshot = final_snapshot(application)
    return schedule(breakdown_of(snapshot), application.call.kind is CallKind.DCOL,
                    snapshot.rule.advance_percent)


def schedule_problems(application: Application) -> list[str]:
    """Why the balances cannot follow the final cofinancing (more already requested or paid
    than it leaves due: to regularise before closing)."""
    if final_snapshot(application) is None or signed_agreement(application) is None:
        return []
    return payments.amendment_problems(application, final_schedule(application))


def apply_final_schedule(application: Application) -> None:
    """The balances follow the final cofinancing: what is only scheduled or held is set again
    on the final amounts (requested and paid payments stand)."""
    agreement = signed_agreement(application)
    snapshot = final_snapshot(application)
    start = agreement.signed_at.astimezone(PARIS).date() if agreement.signed_at else \
        utcnow().astimezone(PARIS).date()
    payments.set_schedule(agreement, final_schedule(application), breakdown_of(snapshot), start)


def satisfaction_required(application: Application) -> bool:
    """DCOL supports feed the expert's history: closing waits for the questionnaire."""
    return application.call.kind is CallKind.DCOL


# --- the closure report ------------------------------------------------------------------------


def closure_report_of(application: Application) -> Document | None:
    return db.session.scalar(
        sa.select(Document).where(Document.application_id == application.id,
                                  Document.kind == DocumentKind.CLOSURE_REPORT)
        .order_by(Document.id.desc()).limit(1))


def _timeline(application: Application, closed_at: datetime) -> tuple[pdf.TimelineEntry, ...]:
    entries = db.session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.application_id == application.id,
            sa.or_(AuditEvent.to_state.is_not(None), AuditEvent.event == "agreement.in_force"))
        .order_by(AuditEvent.sequence))
    timeline = []
    for entry in entries:
        if entry.to_state is not None:
            label = ApplicationState(entry.to_state).label
        else:
            label = _(audit.EVENT_TITLES[entry.event], **(entry.payload or {}))
        timeline.append(pdf.TimelineEntry(entry.occurred_at, str(label)))
    timeline.append(pdf.TimelineEntry(closed_at, str(ApplicationState.CLOSED.label)))
    return tuple(timeline)


def _cost_rows(breakdown, keys: dict[str, str]) -> tuple[pdf.CostRow, ...]:
    return tuple(pdf.CostRow(label, amount, keys.get(label, "")) for label, amount in
                 breakdown.lines)


def closure_content(application: Application, actor: User | None, now: datetime
                    ) -> pdf.ClosureContent:
    """What the closure report says, read from the dossier (in French)."""
    mission = mission_of(application)
    agreement = signed_agreement(application)
    planned = breakdown_of(agreement.snapshot)
    final = breakdown_of(final_snapshot(application))
    costs = actual_costs(application)
    totals = totals_of(mission)
    reports = list(db.session.scalars(sa.select(MissionReport).where(
        MissionReport.mission_id == mission.id).order_by(MissionReport.report_date)))
    satisfaction = satisfaction_of(application)
    respondent = db.session.get(User, satisfaction.respondent_id) if satisfaction else None
    with force_locale("fr"):
        dcol = application.call.kind is CallKind.DCOL
        keys = {_(EXPERT_DAYS_LABEL): "days", _(MISSION_COSTS_LABEL): "expenses"}
        if dcol:
            actual = [pdf.CostRow(_(EXPERT_DAYS_LABEL),
                                  (costs.days * (costs.daily_rate or ZERO)).quantize(CENT), "days")]
            actual.append(pdf.CostRow(_(ACTUAL_EXPENSES_LABEL), costs.expenses, "expenses"))
        else:
            actual = [pdf.CostRow(_(ACTUAL_PROJECT_LABEL), costs.expenses, "expenses")]
        return pdf.ClosureContent(
            reference=application.reference, call_title=application.call.title,
            with_expert=dcol, title=application.title or application.reference,
            organisation=application.organisation.name,
            expert=mission.expert.name if mission.expert else None,
            summary=mission.summary or application.summary,
            timeline=_timeline(application, now),
            milestones=tuple(pdf.MilestoneLine(str(m.phase.label), m.label, m.due_on, m.done_on)
                             for m in mission.milestones),
            contracted_days=mission.contracted_days, actual_days=costs.days,
            daily_rate=mission.daily_rate,
            planned_costs=_cost_rows(planned, keys), actual_costs=tuple(actual),
            planned_total=planned.total, actual_total=costs.total, retained_total=final.total,
            planned=pdf.share_row(planned), final=pdf.share_row(final),
            reports_count=totals.reports,
            field_missions=tuple(r.field_location for r in reports if r.is_field_mission),
            expenses_total=totals.expenses,
            deliverables=tuple(
                pdf.DeliverableLine(d.title, d.is_final, d.version, str(d.state.label),
                                    d.submitted_at, d.validated_at)
                for d in mission.deliverables),
            satisfaction=pdf.SatisfactionBlock(
                satisfaction.quality, satisfaction.timeliness, satisfaction.relevance,
                satisfaction.overall, satisfaction.comment, satisfaction.answered_at,
                respondent.full_name if respondent else "") if satisfaction else None,
            payments=tuple(
                pdf.PaymentLine(str(p.kind.label), p.amount, str(p.status.label), p.paid_at)
                for p in payments.payments_of(application)
                if p.status is not PaymentStatus.CANCELLED),
            closed_at=now, closed_by=actor.full_name if actor else "Cités Unies France",
        )


def store_closure_report(application: Application, actor: User | None, now: datetime
                         ) -> Document:
    """Write the closure report PDF and keep it as a document of the dossier (flushes only)."""
    content = pdf.build_closure_pdf(closure_content(application, actor, now))
    return store_generated(application, DocumentKind.CLOSURE_REPORT,
                           f"bilan-de-cloture-{application.reference}.pdf", content,
                           actor.id if actor else None, now)
