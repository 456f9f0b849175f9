"""The follow-up's exports for CUF's managers and admins: missions, reports and payments, as an
XLSX workbook or a CSV for French Excel (written by ``dcol.exports.tables``).

- **Missions**: one row per support under way or done (agreement, in progress, final report,
  closed) that has a mission: its terms (contracted days, daily rate, travel budget) beside what
  was logged (days and expenses of its reports), its deliverables and its open alerts.
- **Rapports**: one row per mission report: date, author, days, field mission, activities, the
  total of its expenses and how many of them carry a receipt.
- **Paiements**: one row per payment of the schedule that is not cancelled, with each funder's
  part in a column of its own.

Each table may be narrowed to one call. Amounts are Decimal (numbers with a euro format in the
workbook, ``1234,56`` in the CSV); each table loads in a fixed number of queries whatever its
number of rows. Headers follow the requesting user's language.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import contains_eager, joinedload

from dcol.exports.tables import (
    COUNT_FORMAT,
    DATE_FORMAT,
    DECIMAL_FORMAT,
    EURO_FORMAT,
    Table,
    csv_bytes,
    xlsx_bytes,
)
from dcol.extensions import db
from dcol.i18n import PARIS
from dcol.models import (
    Alert,
    Application,
    ApplicationState,
    Call,
    Deliverable,
    DeliverableState,
    Expense,
    Funder,
    Mission,
    MissionReport,
    Payment,
    PaymentStatus,
    User,
    utcnow,
)
from dcol.models.base import Money
from dcol.permissions import Action, can
from workflows.engine import Forbidden

# The supports that have a mission to follow: from the agreement to the closure.
FOLLOW_UP_STATES = (ApplicationState.AGREEMENT, ApplicationState.IN_PROGRESS,
                    ApplicationState.FINAL_REPORT, ApplicationState.CLOSED)
FORMATS = ("xlsx", "csv")


def _total(column) -> sa.ColumnElement:
    """The sum of ``column`` as an exact Decimal with two decimals on every database (0 when
    there is nothing to add up)."""
    return sa.type_coerce(sa.func.coalesce(sa.func.sum(column), 0), Money)


def _day(moment: datetime | None) -> date | None:
    return moment.astimezone(PARIS).date() if moment is not None else None


def _yes_no(value: bool) -> str:
    return _("oui") if value else _("non")


# --- missions -------------------------------------------------------------------------------


def missions_table(call_id: int | None = None) -> Table:
    """One row per support with a mission from the agreement on (one query)."""
    logged_days = (sa.select(_total(MissionReport.days_spent))
                   .where(MissionReport.mission_id == Mission.id).scalar_subquery())
    expenses = (sa.select(_total(Expense.amount))
                .join(MissionReport, MissionReport.id == Expense.report_id)
                .where(MissionReport.mission_id == Mission.id).scalar_subquery())
    reports = (sa.select(sa.func.count(MissionReport.id))
               .where(MissionReport.mission_id == Mission.id).scalar_subquery())
    validated = (sa.select(sa.func.count(Deliverable.id))
                 .where(Deliverable.mission_id == Mission.id,
                        Deliverable.state == DeliverableState.VALIDATED).scalar_subquery())
    deliverables = (sa.select(sa.func.count(Deliverable.id))
                    .where(Deliverable.mission_id == Mission.id).scalar_subquery())
    alerts = (sa.select(sa.func.count(Alert.id))
              .where(Alert.application_id == Application.id, Alert.resolved_at.is_(None))
              .scalar_subquery())
    query = (
        sa.select(Application, Mission, logged_days, expenses, reports, validated, deliverables,
                  alerts)
        .join(Mission, Mission.application_id == Application.id)
        .join(Application.call)
        .options(contains_eager(Application.call), joinedload(Application.organisation),
                 joinedload(Mission.expert))
        .where(Application.state.in_(FOLLOW_UP_STATES))
        .order_by(Call.opens_at, Application.number, Application.id)
    )
    if call_id is not None:
        query = query.where(Application.call_id == call_id)
    columns = [
        (_("Référence"), None), (_("Appel"), None), (_("Collectivité"), None),
        (_("Expert"), None), (_("État"), None),
        (_("Début de la mission"), DATE_FORMAT), (_("Fin de la mission"), DATE_FORMAT),
        (_("Jours contractualisés"), DECIMAL_FORMAT), (_("Jours consommés"), DECIMAL_FORMAT),
        (_("Tarif journalier"), EURO_FORMAT), (_("Budget des frais de mission"), EURO_FORMAT),
        (_("Dépenses déclarées"), EURO_FORMAT), (_("Rapports"), COUNT_FORMAT),
        (_("Livrables validés"), COUNT_FORMAT), (_("Livrables"), COUNT_FORMAT),
        (_("Alertes ouvertes"), COUNT_FORMAT),
    ]
    rows = []
    for (application, mission, days, spent, report_count, validated_count, deliverable_count,
         alert_count) in db.session.execute(query):
        rows.append([
            application.reference, application.call.title, application.organisation.name,
            mission.expert.name if mission.expert else "", application.state.label,
            mission.starts_on, mission.ends_on, mission.contracted_days, days,
            mission.daily_rate, mission.travel_costs, spent, report_count, validated_count,
            deliverable_count, alert_count,
        ])
    return Table(_("Missions"), columns, rows)


# --- reports --------------------------------------------------------------------------------


def reports_table(call_id: int | None = None) -> Table:
    """One row per mission report, by dossier then date (one query)."""
    expenses = (sa.select(_total(Expense.amount))
                .where(Expense.report_id == MissionReport.id).scalar_subquery())
    receipts = (sa.select(sa.func.count(Expense.id))
                .where(Expense.report_id == MissionReport.id, Expense.receipt_id.is_not(None))
                .scalar_subquery())
    query = (
        sa.select(MissionReport, Application.reference, expenses, receipts)
        .join(Mission, Mission.id == MissionReport.mission_id)
        .join(Application, Application.id == Mission.application_id)
        .join(Application.call)
        .options(joinedload(MissionReport.author))
        .order_by(Call.opens_at, Application.number, MissionReport.report_date, MissionReport.id)
    )
    if call_id is not None:
        query = query.where(Application.call_id == call_id)
    columns = [
        (_("Référence"), None), (_("Date du rapport"), DATE_FORMAT), (_("Auteur"), None),
        (_("Jours"), DECIMAL_FORMAT), (_("Mission de terrain"), None), (_("Lieu"), None),
        (_("Activités"), None), (_("Dépenses"), EURO_FORMAT), (_("Justificatifs"), COUNT_FORMAT),
    ]
    rows = [
        [reference, report.report_date, report.author.full_name, report.days_spent,
         _yes_no(report.is_field_mission), report.field_location, report.activities, spent,
         receipt_count]
        for report, reference, spent, receipt_count in db.session.execute(query)
    ]
    return Table(_("Rapports"), columns, rows)


# --- payments -------------------------------------------------------------------------------


def payments_table(call_id: int | None = None) -> Table:
    """One row per payment that is not cancelled, each funder's part in its own column (two
    queries: the payments, then the names of the funders they name)."""
    query = (
        sa.select(Payment)
        .join(Payment.application)
        .join(Application.call)
        .options(contains_eager(Payment.application).contains_eager(Application.call))
        .where(Payment.status != PaymentStatus.CANCELLED)
        .order_by(Call.opens_at, Application.number, Payment.id)
    )
    if call_id is not None:
        query = query.where(Application.call_id == call_id)
    payments = list(db.session.scalars(query))
    codes = sorted({code for payment in payments for code in payment.funder_parts or {}})
    names = {code: code for code in codes}
    if codes:
        names.update((code, name) for code, name in db.session.execute(
            sa.select(Funder.code, Funder.name).where(Funder.code.in_(codes))))
    columns = [
        (_("Référence"), None), (_("Type"), None), (_("Montant"), EURO_FORMAT),
        (_("Part du dispositif"), EURO_FORMAT), (_("Statut"), None), (_("Échéance"), None),
        (_("Date d'échéance"), DATE_FORMAT), (_("Demandé le"), DATE_FORMAT),
        (_("Payé le"), DATE_FORMAT),
        *[(_("Part %(funder)s", funder=names[code]), EURO_FORMAT) for code in codes],
    ]
    rows = []
    for payment in payments:
        parts = payment.funder_parts or {}
        rows.append([
            payment.application.reference, payment.kind.label, payment.amount,
            payment.scheme_part, payment.status.label,
            _("à la clôture") if payment.due == "closure" else _("au démarrage"),
            payment.due_on, _day(payment.requested_at), _day(payment.paid_at),
            *[Decimal(parts[code]) if code in parts else None for code in codes],
        ])
    return Table(_("Paiements"), columns, rows)


TABLES: dict[str, Callable[[int | None], Table]] = {
    "missions": missions_table,
    "reports": reports_table,
    "payments": payments_table,
}


def export(user: User, table: str, fmt: str, call: Call | None = None) -> bytes:
    """The ``table`` (a key of ``TABLES``) in ``fmt`` (``xlsx`` or ``csv``), narrowed to
    ``call`` when given, headers in the user's language. Raises ``Forbidden`` unless the user
    may export the follow-up (CUF's managers and admins)."""
    if not can(user, Action.FOLLOW_UP_EXPORT):
        raise Forbidden(_("Seuls les chargés de mission et les administrateurs exportent le "
                          "suivi."))
    if table not in TABLES or fmt not in FORMATS:
        raise ValueError(f"unknown export {table}.{fmt}")
    with force_locale(user.locale or "fr"):
        content = TABLES[table](call.id if call is not None else None)
        if fmt == "xlsx":
            return xlsx_bytes([content])
        return csv_bytes(content.columns, content.rows)


def filename(table: str, fmt: str, call: Call | None = None, today: date | None = None) -> str:
    """``dcol-missions-2026-11-23.xlsx`` (``dcol-missions-DCOL12-2026-11-23.xlsx`` for one call):
    ASCII only, safe in a Content-Disposition header."""
    today = today or utcnow().astimezone(PARIS).date()
    parts = ["dcol", table]
    if call is not None:
        parts.append("".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-"
                             for c in call.code))
    return f"{'-'.join(parts)}-{today.isoformat()}.{fmt}"
