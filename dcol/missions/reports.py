"""Mission reports: what the expert (DCOL) or the collectivité (call for projects) logs as the
support runs — the date, the days spent, the activities, a field mission and where, the expenses
with their receipts, attachments — and the running totals against what the agreement contracted.

Services flush only; the caller commits (and a refusal leaves nothing written: the files stored
for a refused report are deleted when the transaction rolls back).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from dcol import audit
from dcol.documents.services import store_upload
from dcol.documents.validation import UploadRefused
from dcol.extensions import db
from dcol.i18n import PARIS
from dcol.models import (
    Agreement,
    AgreementState,
    Application,
    CallKind,
    CofinancingSnapshot,
    DocumentKind,
    Expense,
    Mission,
    MissionReport,
    User,
    utcnow,
)
from dcol.permissions import Action, can
from workflows.engine import Forbidden, InputRefused
from workflows.guards import mission_of

ZERO = Decimal("0.00")
MAX_DAYS_PER_REPORT = Decimal("60")
MAX_EXPENSES = 20
MAX_ATTACHMENTS = 5


@dataclass(frozen=True)
class ExpenseEntry:
    label: str
    amount: Decimal | None
    receipt: FileStorage | None


@dataclass(frozen=True)
class ReportEntry:
    report_date: date | None
    days_spent: Decimal | None
    activities: str
    is_field_mission: bool
    field_location: str
    expenses: tuple[ExpenseEntry, ...] = ()
    attachments: tuple[FileStorage, ...] = ()


def _has_file(upload: FileStorage | None) -> bool:
    return upload is not None and bool(upload.filename)


def _check(entry: ReportEntry, mission: Mission, today: date, with_expert: bool) -> dict[str, str]:
    errors = {}
    if entry.report_date is None:
        errors["report_date"] = _("Indiquez la date du rapport.")
    elif entry.report_date > today:
        errors["report_date"] = _("La date du rapport ne peut pas être dans le futur.")
    elif mission.starts_on is not None and entry.report_date < mission.starts_on:
        errors["report_date"] = _("La date du rapport précède le début de la mission.")
    if entry.days_spent is None and with_expert:
        errors["days_spent"] = _("Indiquez le nombre de jours consacrés.")
    elif entry.days_spent is not None and not ZERO <= entry.days_spent <= MAX_DAYS_PER_REPORT:
        errors["days_spent"] = _("Indiquez entre 0 et %(max)s jours.", max=MAX_DAYS_PER_REPORT)
    elif entry.days_spent is not None and entry.days_spent % Decimal("0.25"):
        errors["days_spent"] = _("Comptez les jours par quarts de journée (0,25).")
    if not entry.activities.strip():
        errors["activities"] = _("Décrivez les activités menées.")
    if entry.is_field_mission and not entry.field_location.strip():
        errors["field_location"] = _("Indiquez le lieu de la mission de terrain.")
    if len(entry.expenses) > MAX_EXPENSES:
        errors["expenses"] = _("Au plus %(count)s dépenses par rapport.", count=MAX_EXPENSES)
    for index, expense in enumerate(entry.expenses):
        prefix = f"expenses-{index}-"
        if not expense.label.strip():
            errors[prefix + "label"] = _("Indiquez la nature de la dépense.")
        if expense.amount is None or expense.amount <= 0:
            errors[prefix + "amount"] = _("Indiquez un montant positif.")
        if not _has_file(expense.receipt):
            errors[prefix + "receipt"] = _("Joignez le justificatif de la dépense.")
    if len([a for a in entry.attachments if _has_file(a)]) > MAX_ATTACHMENTS:
        errors["attachments"] = _("Au plus %(count)s pièces jointes par rapport.",
                                  count=MAX_ATTACHMENTS)
    return errors


def log_report(application: Application, actor: User, entry: ReportEntry,
               now: datetime | None = None) -> MissionReport:
    """Log a report with its expenses, receipts and attachments, audited. Raises
    ``InputRefused`` (each field's French message) or ``Forbidden``."""
    now = now or utcnow()
    if not can(actor, Action.APP_REPORT, application):
        raise Forbidden(_("Vous ne pouvez pas déposer de rapport sur ce dossier."))
    mission = mission_of(application)
    if mission is None:
        raise Forbidden(_("Ce dossier n'a pas encore de mission."))
    with_expert = application.call.kind is CallKind.DCOL
    errors = _check(entry, mission, now.astimezone(PARIS).date(), with_expert)
    if errors:
        raise InputRefused(_("Le rapport n'a pas été enregistré."), errors)
    report = MissionReport(
        mission=mission, author_id=actor.id, report_date=entry.report_date,
        days_spent=entry.days_spent or ZERO, activities=entry.activities.strip(),
        is_field_mission=entry.is_field_mission,
        field_location=entry.field_location.strip() if entry.is_field_mission else "",
        created_at=now,
    )
    db.session.add(report)
    db.session.flush()
    upload_errors = {}
    for index, expense in enumerate(entry.expenses):
        try:
            receipt = store_upload(application, actor, expense.receipt,
                                   kind=DocumentKind.EXPENSE_RECEIPT)
        except UploadRefused as refusal:
            upload_errors[f"expenses-{index}-receipt"] = refusal.message
            continue
        receipt.mission_report_id = report.id
        report.expenses.append(Expense(label=expense.label.strip(), amount=expense.amount,
                                       receipt=receipt))
    for upload in entry.attachments:
        if not _has_file(upload):
            continue
        try:
            document = store_upload(application, actor, upload, kind=DocumentKind.REPORT)
        except UploadRefused as refusal:
            upload_errors["attachments"] = refusal.message
            continue
        document.mission_report_id = report.id
    if upload_errors:
        raise InputRefused(_("Le rapport n'a pas été enregistré."), upload_errors)
    db.session.flush()
    audit.record(application_id=application.id, actor=actor, occurred_at=now,
                 event="mission_report.logged",
                 payload={"report": report.id, "date": report.report_date.isoformat(),
                          "days": report.days_spent,
                          "expenses": sum((e.amount for e in report.expenses), ZERO)})
    return report


@dataclass(frozen=True)
class Totals:
    """A support's running totals against its agreement."""

    reports: int
    days_logged: Decimal
    contracted_days: Decimal | None
    expenses: Decimal
    expenses_budget: Decimal | None  # DCOL: the travel costs contracted
    daily_rate: Decimal | None
    contracted_cost: Decimal | None  # the agreement's total cost
    last_report_on: date | None

    @property
    def days_left(self) -> Decimal | None:
        if self.contracted_days is None:
            return None
        return self.contracted_days - self.days_logged

    @property
    def days_exceeded(self) -> bool:
        return self.contracted_days is not None and self.days_logged > self.contracted_days

    @property
    def cost_logged(self) -> Decimal:
        """The days at the daily rate plus the expenses (DCOL), or the expenses (project)."""
        fees = self.days_logged * self.daily_rate if self.daily_rate is not None else ZERO
        return (fees + self.expenses).quantize(Decimal("0.01"))

    @property
    def days_percent(self) -> int | None:
        if not self.contracted_days:
            return None
        return int(self.days_logged * 100 / self.contracted_days)

    @property
    def cost_percent(self) -> int | None:
        if not self.contracted_cost:
            return None
        return int(self.cost_logged * 100 / self.contracted_cost)


def totals_by_mission(missions: Sequence[Mission]) -> dict[int, Totals]:
    """The running totals of several missions (three queries whatever their number)."""
    ids = [mission.id for mission in missions]
    if not ids:
        return {}
    reports = {row.mission_id: row for row in db.session.execute(
        sa.select(MissionReport.mission_id, sa.func.count(MissionReport.id).label("count"),
                  sa.func.coalesce(sa.func.sum(MissionReport.days_spent), 0).label("days"),
                  sa.func.max(MissionReport.report_date).label("last"))
        .where(MissionReport.mission_id.in_(ids)).group_by(MissionReport.mission_id))}
    expenses = dict(db.session.execute(
        sa.select(MissionReport.mission_id, sa.func.sum(Expense.amount))
        .join(Expense, Expense.report_id == MissionReport.id)
        .where(MissionReport.mission_id.in_(ids)).group_by(MissionReport.mission_id)).all())
    contracted = _contracted_costs([mission.application_id for mission in missions])
    result = {}
    for mission in missions:
        row = reports.get(mission.id)
        dcol = mission.expert_id is not None or mission.contracted_days is not None
        result[mission.id] = Totals(
            reports=row.count if row else 0,
            days_logged=Decimal(row.days if row else 0).quantize(Decimal("0.01")),
            contracted_days=mission.contracted_days,
            expenses=Decimal(expenses.get(mission.id) or 0).quantize(Decimal("0.01")),
            expenses_budget=mission.travel_costs if dcol else None,
            daily_rate=mission.daily_rate,
            contracted_cost=contracted.get(mission.application_id),
            last_report_on=row.last if row else None,
        )
    return result


def _contracted_costs(application_ids: list[int]) -> dict[int, Decimal]:
    """Each dossier's total cost in the agreement in force (one query)."""
    in_force = (
        sa.select(sa.func.max(Agreement.snapshot_id))
        .where(Agreement.application_id.in_(application_ids),
               Agreement.state == AgreementState.SIGNED)
        .group_by(Agreement.application_id)
    )
    return dict(db.session.execute(
        sa.select(CofinancingSnapshot.application_id, CofinancingSnapshot.total_cost)
        .where(CofinancingSnapshot.id.in_(in_force))).all())


def totals_of(mission: Mission) -> Totals:
    return totals_by_mission([mission])[mission.id]
