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
workbook, ``1234,56`` in the CSV). Headers follow the requesting user's language.

Streaming. Each table's rows come from one streamed query of plain columns (``yield_per``, a
server-side cursor on PostgreSQL), its sums and counts computed by the database in that same
query: no ORM object is built, no query is issued per row or per batch, and the memory stays that
of a batch whatever the number of rows. The payments' table first asks which funders their parts
name (one query: they are the columns). The CSV is a generator of encoded chunks
(``stream_csv``); the workbook is written in openpyxl's write-only mode to a temporary file
(``xlsx_file``); see ``dcol.exports.tables``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import IO

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _

from dcol.exports.tables import (
    COUNT_FORMAT,
    DATE_FORMAT,
    DECIMAL_FORMAT,
    EURO_FORMAT,
    Table,
    csv_bytes,
    csv_chunks,
    xlsx_bytes,
)
from dcol.exports.tables import xlsx_file as write_xlsx
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
    Expert,
    Funder,
    Mission,
    MissionReport,
    Organisation,
    Payment,
    PaymentStatus,
    User,
    utcnow,
)
from dcol.models.base import Money
from dcol.permissions import Action, can
from dcol.sql import json_members
from workflows.engine import Forbidden

# The supports that have a mission to follow: from the agreement to the closure.
FOLLOW_UP_STATES = (ApplicationState.AGREEMENT, ApplicationState.IN_PROGRESS,
                    ApplicationState.FINAL_REPORT, ApplicationState.CLOSED)
FORMATS = ("xlsx", "csv")
BATCH = 1_000  # rows fetched from the cursor at a time


def _total(column) -> sa.ColumnElement:
    """The sum of ``column`` as an exact Decimal with two decimals on every database (0 when
    there is nothing to add up)."""
    return sa.type_coerce(sa.func.coalesce(sa.func.sum(column), sa.cast(0, Money)), Money)


def _of_call(query: sa.Select, call_id: int | None) -> sa.Select:
    """``query`` (of dossiers) narrowed to the call ``call_id``, if any."""
    return query if call_id is None else query.where(Application.call_id == call_id)


def _streamed(query: sa.Select, call_id: int | None) -> sa.Select:
    """``query`` narrowed to the call ``call_id`` (if any), read ``BATCH`` rows at a time."""
    return _of_call(query, call_id).execution_options(yield_per=BATCH, stream_results=True)


def _day(moment: datetime | None) -> date | None:
    return moment.astimezone(PARIS).date() if moment is not None else None


def _yes_no(value: bool) -> str:
    return _("oui") if value else _("non")


# --- missions -------------------------------------------------------------------------------


def missions_table(call_id: int | None = None) -> Table:
    """One row per support with a mission from the agreement on (one streamed query)."""
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
    return Table(_("Missions"), columns, _mission_rows(call_id))


def _mission_rows(call_id: int | None) -> Iterator[list]:
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
        sa.select(Application.reference, Call.title, Organisation.name, Expert.name,
                  Application.state, Mission.starts_on, Mission.ends_on, Mission.contracted_days,
                  logged_days, Mission.daily_rate, Mission.travel_costs, expenses, reports,
                  validated, deliverables, alerts)
        .select_from(Application)
        .join(Mission, Mission.application_id == Application.id)
        .join(Call, Call.id == Application.call_id)
        .join(Organisation, Organisation.id == Application.organisation_id)
        .outerjoin(Expert, Expert.id == Mission.expert_id)
        .where(Application.state.in_(FOLLOW_UP_STATES))
        .order_by(Call.opens_at, Application.number, Application.id)
    )
    for (reference, call, organisation, expert, state, *terms, logged, rate, travel, spent,
         report_count, validated_count, deliverable_count,
         alert_count) in db.session.execute(_streamed(query, call_id)):
        yield [reference, call, organisation, expert or "", state.label, *terms, logged, rate,
               travel, spent, report_count, validated_count, deliverable_count, alert_count]


# --- reports --------------------------------------------------------------------------------


def reports_table(call_id: int | None = None) -> Table:
    """One row per mission report, by dossier then date (one streamed query)."""
    columns = [
        (_("Référence"), None), (_("Date du rapport"), DATE_FORMAT), (_("Auteur"), None),
        (_("Jours"), DECIMAL_FORMAT), (_("Mission de terrain"), None), (_("Lieu"), None),
        (_("Activités"), None), (_("Dépenses"), EURO_FORMAT), (_("Justificatifs"), COUNT_FORMAT),
    ]
    return Table(_("Rapports"), columns, _report_rows(call_id))


def _report_rows(call_id: int | None) -> Iterator[list]:
    expenses = (sa.select(_total(Expense.amount))
                .where(Expense.report_id == MissionReport.id).scalar_subquery())
    receipts = (sa.select(sa.func.count(Expense.id))
                .where(Expense.report_id == MissionReport.id, Expense.receipt_id.is_not(None))
                .scalar_subquery())
    query = (
        sa.select(Application.reference, MissionReport.report_date, User.full_name,
                  MissionReport.days_spent, MissionReport.is_field_mission,
                  MissionReport.field_location, MissionReport.activities, expenses, receipts)
        .select_from(MissionReport)
        .join(Mission, Mission.id == MissionReport.mission_id)
        .join(Application, Application.id == Mission.application_id)
        .join(Call, Call.id == Application.call_id)
        .join(User, User.id == MissionReport.author_id)
        .order_by(Call.opens_at, Application.number, MissionReport.report_date, MissionReport.id)
    )
    for (reference, day, author, days, is_field_mission, location, activities, spent,
         receipt_count) in db.session.execute(_streamed(query, call_id)):
        yield [reference, day, author, days, _yes_no(is_field_mission), location, activities,
               spent, receipt_count]


# --- payments -------------------------------------------------------------------------------


def payments_table(call_id: int | None = None) -> Table:
    """One row per payment that is not cancelled, each funder's part in its own column (two
    queries: the funders their parts name, then the payments, streamed)."""
    names = _funders_named(call_id)
    codes = sorted(names)
    columns = [
        (_("Référence"), None), (_("Type"), None), (_("Montant"), EURO_FORMAT),
        (_("Part du dispositif"), EURO_FORMAT), (_("Statut"), None), (_("Échéance"), None),
        (_("Date d'échéance"), DATE_FORMAT), (_("Demandé le"), DATE_FORMAT),
        (_("Payé le"), DATE_FORMAT),
        *[(_("Part %(funder)s", funder=names[code]), EURO_FORMAT) for code in codes],
    ]
    return Table(_("Paiements"), columns, _payment_rows(call_id, codes))


def _exported_payments(*columns) -> sa.Select:
    """``columns`` of the payments that are not cancelled, their dossiers joined."""
    return (sa.select(*columns).select_from(Payment)
            .join(Application, Application.id == Payment.application_id)
            .where(Payment.status != PaymentStatus.CANCELLED))


def _funders_named(call_id: int | None) -> dict[str, str]:
    """The code of each funder named in the parts of the exported payments, with its name (its
    code for a funder unknown to the list of funders)."""
    keys = json_members(Payment.funder_parts)
    query = (_exported_payments(keys.c.key, Funder.name).distinct()
             .join(keys, sa.true()).outerjoin(Funder, Funder.code == keys.c.key))
    return {code: name if name is not None else code
            for code, name in db.session.execute(_of_call(query, call_id))}


def _payment_rows(call_id: int | None, codes: list[str]) -> Iterator[list]:
    query = (
        _exported_payments(Application.reference, Payment.kind, Payment.amount,
                           Payment.scheme_part, Payment.status, Payment.due, Payment.due_on,
                           Payment.requested_at, Payment.paid_at, Payment.funder_parts)
        .join(Call, Call.id == Application.call_id)
        .order_by(Call.opens_at, Application.number, Payment.id)
    )
    for (reference, kind, amount, scheme_part, status, due, due_on, requested_at, paid_at,
         parts) in db.session.execute(_streamed(query, call_id)):
        parts = parts or {}
        yield [
            reference, kind.label, amount, scheme_part, status.label,
            _("à la clôture") if due == "closure" else _("au démarrage"),
            due_on, _day(requested_at), _day(paid_at),
            *[Decimal(parts[code]) if code in parts else None for code in codes],
        ]


TABLES: dict[str, Callable[[int | None], Table]] = {
    "missions": missions_table,
    "reports": reports_table,
    "payments": payments_table,
}


def _check(user: User, table: str, fmt: str) -> None:
    if not can(user, Action.FOLLOW_UP_EXPORT):
        raise Forbidden(_("Seuls les chargés de mission et les administrateurs exportent le "
                          "suivi."))
    if table not in TABLES or fmt not in FORMATS:
        raise ValueError(f"unknown export {table}.{fmt}")


def stream_csv(user: User, table: str, call: Call | None = None) -> Iterator[bytes]:
    """The ``table`` (a key of ``TABLES``) as a CSV for French Excel, narrowed to ``call`` when
    given, headers in the user's language, in encoded chunks read from the database as they are
    sent. Raises ``Forbidden`` at once (before the first chunk) unless the user may export the
    follow-up (CUF's managers and admins)."""
    _check(user, table, "csv")
    return _csv(user.locale or "fr", table, call.id if call is not None else None)


def _csv(locale: str, table: str, call_id: int | None) -> Iterator[bytes]:
    with force_locale(locale):
        content = TABLES[table](call_id)
        yield from csv_chunks(content.columns, content.rows)


def xlsx_file(user: User, table: str, call: Call | None = None) -> IO[bytes]:
    """The ``table`` as a workbook of one sheet, narrowed to ``call`` when given, headers in the
    user's language, written in constant memory to a temporary file at its start (the caller
    closes it; closing deletes it). Raises ``Forbidden`` like ``stream_csv``."""
    _check(user, table, "xlsx")
    with force_locale(user.locale or "fr"):
        return write_xlsx([TABLES[table](call.id if call is not None else None)])


def export(user: User, table: str, fmt: str, call: Call | None = None) -> bytes:
    """The ``table`` (a key of ``TABLES``) in ``fmt`` (``xlsx`` or ``csv``), narrowed to
    ``call`` when given, headers in the user's language, read into memory (the downloads stream
    ``stream_csv`` and ``xlsx_file``). Raises ``Forbidden`` unless the user may export the
    follow-up (CUF's managers and admins)."""
    _check(user, table, fmt)
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
