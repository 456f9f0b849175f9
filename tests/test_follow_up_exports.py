"""Exports of the follow-up (missions, reports, payments), read back from the XLSX and the CSV."""

from __future__ import annotations

import contextvars
import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from dcol.exports import services
from dcol.exports.tables import DATE_FORMAT, EURO_FORMAT
from dcol.extensions import db
from dcol.models import (
    Alert,
    AlertKind,
    ApplicationState,
    CallKind,
    Deliverable,
    DeliverableState,
    DocumentKind,
    Expense,
    Funder,
    MissionReport,
    Payment,
    PaymentKind,
    PaymentStatus,
    Role,
    utcnow,
)
from tests import factories as f
from tests import workflow_support as ws
from tests.query_counting import grown_statements, recorded_statements
from workflows.engine import Forbidden

S = ApplicationState
TODAY = "2026-11-23"


def login(client, user):
    response = client.post("/connexion", data={"email": user.email, "password": f.PASSWORD})
    assert response.status_code == 302


def number(value) -> D:
    """A cell read back by openpyxl (int or float) as the Decimal it was written from."""
    return D(str(value))


def at(year, month, day, hour=10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def report(mission, author, day, days, expenses=(), *, field="", activities="Atelier."):
    item = MissionReport(mission=mission, author_id=author.id, report_date=day,
                         days_spent=D(days), activities=activities,
                         is_field_mission=bool(field), field_location=field,
                         created_at=utcnow())
    db.session.add(item)
    db.session.flush()
    for label, amount, with_receipt in expenses:
        receipt = (ws.attach(mission.application, author, kind=DocumentKind.EXPENSE_RECEIPT)
                   if with_receipt else None)
        db.session.add(Expense(report_id=item.id, label=label, amount=D(amount),
                               receipt_id=receipt.id if receipt else None))
    db.session.flush()
    return item


def deliverable(mission, title, state):
    db.session.add(Deliverable(mission=mission, title=title, state=state, submitted_at=utcnow()))


def payment(application, kind, amount, scheme, status, parts=None, **values):
    db.session.add(Payment(application=application, kind=kind, amount=D(amount),
                           scheme_part=D(scheme), status=status, funder_parts=parts or {},
                           **values))


@dataclass
class Data:
    dcol_call: object
    aap_call: object
    running: object
    closed: object
    project: object
    manager: object
    expert_user: object
    signatory: object


@pytest.fixture
def data(app) -> Data:
    db.session.add_all([Funder(code="AFD", name="Agence française de développement"),
                        Funder(code="CDC", name="Caisse des Dépôts")])
    dcol_call = f.make_call(code="DCOL12", title="DCOL — 12e appel", opens_at=at(2025, 5, 1),
                            closes_at=at(2025, 7, 1))
    aap_call = f.make_call(CallKind.AAP, code="AAP26", title="Isère 2026",
                           opens_at=at(2026, 3, 30), closes_at=at(2026, 5, 1))
    fensch = f.make_organisation("Syndicat mixte Fensch Lorraine")
    grenoble = f.make_organisation("Ville de Grenoble")
    isere = f.make_organisation("Commune de Voiron")
    coop_eau = f.make_expert("Coop'Eau Conseil")
    expert_user = f.make_user(Role.EXPERT, expert=coop_eau)
    signatory = f.make_user(Role.APPLICANT, organisation=isere, signatory=True)

    running = f.make_application(dcol_call, fensch, S.IN_PROGRESS, title="Eau potable")
    mission = f.make_mission(running, coop_eau)
    mission.contracted_days, mission.daily_rate = D("15.00"), D("650.00")
    mission.travel_costs = D("1200.00")
    mission.starts_on, mission.ends_on = date(2025, 11, 3), date(2026, 6, 30)
    report(mission, expert_user, date(2025, 12, 1), "2.5",
           [("Train Paris–Metz", "120.40", True), ("Repas", "35.10", False)])
    report(mission, expert_user, date(2026, 2, 16), "3", [("Billet d'avion", "890.00", True)],
           field="An Nhơn, Viêt Nam", activities="=Enquête auprès des ménages.")
    deliverable(mission, "Diagnostic", DeliverableState.VALIDATED)
    deliverable(mission, "Plan d'action", DeliverableState.SUBMITTED)
    db.session.add_all([
        Alert(application_id=running.id, kind=AlertKind.MILESTONE_LATE, key="milestone:1",
              raised_at=utcnow()),
        Alert(application_id=running.id, kind=AlertKind.NO_REPORT, key="no_report",
              raised_at=utcnow(), resolved_at=utcnow()),
    ])
    payment(running, PaymentKind.EXPERT_ADVANCE, "3000.00", "2400.00", PaymentStatus.PAID,
            {"AFD": "1200.00", "CDC": "1200.00"}, due_on=date(2025, 11, 3),
            requested_at=at(2025, 11, 4), paid_at=at(2025, 11, 20, 23))  # 21 Nov in Paris
    payment(running, PaymentKind.EXPERT_BALANCE, "7000.00", "5600.00", PaymentStatus.HELD,
            {"AFD": "2800.00", "CDC": "2800.00"}, due="closure")
    payment(running, PaymentKind.EXPERT_ADVANCE, "2500.00", "2000.00", PaymentStatus.CANCELLED,
            {"AFD": "2000.00"})

    closed = f.make_application(dcol_call, grenoble, S.CLOSED, title="Climat")
    f.make_mission(closed, f.make_expert("Climat Territoires Conseil"))
    matching = f.make_application(dcol_call, grenoble, S.EXPERT_PROPOSED, title="En attente")
    f.make_mission(matching, coop_eau)  # not under way: never exported as a mission

    project = f.make_application(aap_call, isere, S.IN_PROGRESS, title="Résidences")
    project_mission = f.make_mission(project, None)
    report(project_mission, signatory, date(2026, 9, 1), "0", [("Location de salle", "450.00",
                                                                 False)])
    payment(project, PaymentKind.GRANT_ADVANCE, "2400.00", "2400.00", PaymentStatus.REQUESTED,
            {"AFD": "2400.00"}, requested_at=at(2026, 9, 2))
    db.session.commit()
    return Data(dcol_call, aap_call, running, closed, project, f.make_user(Role.MANAGER),
                expert_user, signatory)


def xlsx_rows(content: bytes) -> tuple[list[str], list[dict]]:
    sheet = load_workbook(io.BytesIO(content)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    return rows[0], [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def csv_rows(content: bytes) -> list[dict]:
    assert content.startswith(b"\xef\xbb\xbf") and b"\r\n" in content
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))


def export(data, table, fmt, call=None):
    return services.export(data.manager, table, fmt, call)


# --- missions -------------------------------------------------------------------------------


def test_missions_add_up_what_the_reports_logged(data):
    header, rows = xlsx_rows(export(data, "missions", "xlsx"))
    assert [row["Référence"] for row in rows] == [data.running.reference, data.closed.reference,
                                                  data.project.reference]
    running = rows[0]
    assert running["Appel"] == "DCOL — 12e appel"
    assert running["Collectivité"] == "Syndicat mixte Fensch Lorraine"
    assert running["Expert"] == "Coop'Eau Conseil" and running["État"] == "En cours"
    assert running["Début de la mission"].date() == date(2025, 11, 3)
    assert running["Fin de la mission"].date() == date(2026, 6, 30)
    assert number(running["Jours contractualisés"]) == D("15")
    assert number(running["Jours consommés"]) == D("5.5")
    assert number(running["Tarif journalier"]) == D("650")
    assert number(running["Budget des frais de mission"]) == D("1200")
    assert number(running["Dépenses déclarées"]) == D("1045.50")
    assert running["Rapports"] == 2
    assert running["Livrables validés"] == 1 and running["Livrables"] == 2
    assert running["Alertes ouvertes"] == 1

    closed = rows[1]
    assert closed["État"] == "Clôturé" and closed["Expert"] == "Climat Territoires Conseil"
    assert number(closed["Jours consommés"]) == 0 and number(closed["Dépenses déclarées"]) == 0
    assert closed["Rapports"] == 0 and closed["Livrables"] == 0 and closed["Alertes ouvertes"] == 0
    assert rows[2]["Expert"] is None  # a call for projects' support has no expert


def test_missions_cells_are_typed(data):
    sheet = load_workbook(io.BytesIO(export(data, "missions", "xlsx"))).active
    header = [cell.value for cell in sheet[1]]

    def cell(name):
        return sheet.cell(row=2, column=header.index(name) + 1)

    assert cell("Dépenses déclarées").data_type == "n"
    assert cell("Dépenses déclarées").number_format == EURO_FORMAT
    assert cell("Tarif journalier").number_format == EURO_FORMAT
    assert cell("Début de la mission").is_date
    assert cell("Début de la mission").number_format == DATE_FORMAT
    assert sheet.title == "Missions" and sheet.freeze_panes == "B2"


def test_missions_csv_for_french_excel(data):
    rows = csv_rows(export(data, "missions", "csv"))
    running = rows[0]
    assert running["Dépenses déclarées"] == "1045,50" and running["Jours consommés"] == "5,50"
    assert running["Tarif journalier"] == "650,00" and running["Jours contractualisés"] == "15,00"
    assert running["Début de la mission"] == "03/11/2025" and running["Rapports"] == "2"
    # A mission with nothing logged yet: its sums are amounts too, on both databases.
    idle = next(row for row in rows if row["Rapports"] == "0")
    assert idle["Dépenses déclarées"] == "0,00" and idle["Jours consommés"] == "0,00"


# --- reports --------------------------------------------------------------------------------


def test_reports_one_row_each_with_expenses_and_receipts(data):
    header, rows = xlsx_rows(export(data, "reports", "xlsx"))
    assert header == ["Référence", "Date du rapport", "Auteur", "Jours", "Mission de terrain",
                      "Lieu", "Activités", "Dépenses", "Justificatifs"]
    assert [(row["Référence"], row["Date du rapport"].date()) for row in rows] == [
        (data.running.reference, date(2025, 12, 1)), (data.running.reference, date(2026, 2, 16)),
        (data.project.reference, date(2026, 9, 1))]
    first, field, project = rows
    assert first["Auteur"] == data.expert_user.full_name and number(first["Jours"]) == D("2.5")
    assert number(first["Dépenses"]) == D("155.50") and first["Justificatifs"] == 1
    assert first["Mission de terrain"] == "non" and first["Lieu"] is None
    assert field["Mission de terrain"] == "oui" and field["Lieu"] == "An Nhơn, Viêt Nam"
    assert number(field["Dépenses"]) == D("890") and field["Justificatifs"] == 1
    assert field["Activités"] == "=Enquête auprès des ménages."  # text, never a formula
    assert project["Auteur"] == data.signatory.full_name
    assert number(project["Dépenses"]) == D("450") and project["Justificatifs"] == 0

    _header, missions = xlsx_rows(export(data, "missions", "xlsx"))
    by_reference = {row["Référence"]: row for row in missions}
    for reference in {row["Référence"] for row in rows}:
        mine = [row for row in rows if row["Référence"] == reference]
        assert sum(number(row["Jours"]) for row in mine) == \
            number(by_reference[reference]["Jours consommés"])
        assert sum(number(row["Dépenses"]) for row in mine) == \
            number(by_reference[reference]["Dépenses déclarées"])


def test_reports_csv(data):
    rows = csv_rows(export(data, "reports", "csv"))
    assert rows[0]["Dépenses"] == "155,50" and rows[0]["Date du rapport"] == "01/12/2025"
    assert rows[1]["Activités"] == "'=Enquête auprès des ménages."
    assert rows[2]["Jours"] == "0,00"


# --- payments -------------------------------------------------------------------------------


def test_payments_without_the_cancelled_ones_with_each_funder_s_part(data):
    header, rows = xlsx_rows(export(data, "payments", "xlsx"))
    assert header[-2:] == ["Part Agence française de développement", "Part Caisse des Dépôts"]
    assert [(row["Référence"], row["Type"], row["Statut"]) for row in rows] == [
        (data.running.reference, "Acompte à l'expert", "Payé"),
        (data.running.reference, "Solde à l'expert", "Bloqué (livrable attendu)"),
        (data.project.reference, "Avance de subvention", "Demandé")]
    advance, balance, grant = rows
    assert number(advance["Montant"]) == D("3000")
    assert number(advance["Part du dispositif"]) == D("2400")
    assert advance["Échéance"] == "au démarrage"
    assert advance["Date d'échéance"].date() == date(2025, 11, 3)
    assert advance["Demandé le"].date() == date(2025, 11, 4)
    assert advance["Payé le"].date() == date(2025, 11, 21)  # Paris time
    assert balance["Échéance"] == "à la clôture" and balance["Payé le"] is None
    assert grant["Part Caisse des Dépôts"] is None
    for row in rows:  # the funders' parts add up to the scheme's part
        parts = [row["Part Agence française de développement"], row["Part Caisse des Dépôts"]]
        assert sum(number(p) for p in parts if p is not None) == number(row["Part du dispositif"])
    total = sum(number(row["Montant"]) for row in rows)
    assert total == D("12400")  # 3000 + 7000 + 2400; the cancelled 2500 is left out


def test_payments_csv(data):
    rows = csv_rows(export(data, "payments", "csv"))
    assert rows[0]["Montant"] == "3000,00" and rows[0]["Part Caisse des Dépôts"] == "1200,00"
    assert rows[0]["Payé le"] == "21/11/2025" and rows[2]["Part Caisse des Dépôts"] == ""


# --- the call filter, the pages, the permission ----------------------------------------------


@pytest.mark.parametrize("table", sorted(services.TABLES))
def test_the_call_filter(data, table):
    _header, rows = xlsx_rows(export(data, table, "xlsx", data.aap_call))
    assert {row["Référence"] for row in rows} == {data.project.reference}
    _header, rows = xlsx_rows(export(data, table, "xlsx", data.dcol_call))
    assert data.project.reference not in {row["Référence"] for row in rows}
    assert data.running.reference in {row["Référence"] for row in rows}


def test_download_pages(data, client, monkeypatch):
    monkeypatch.setattr(services, "utcnow", lambda: datetime(2026, 11, 23, 10, tzinfo=UTC))
    login(client, data.manager)
    page = client.get("/exports").get_data(as_text=True)
    assert "/exports/payments.csv" in page and "DCOL — 12e appel" in page

    response = client.get("/exports/missions.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert f"dcol-missions-{TODAY}.xlsx" in response.headers["Content-Disposition"]
    assert len(xlsx_rows(response.data)[1]) == 3

    response = client.get(f"/exports/reports.csv?call={data.aap_call.id}")
    assert response.mimetype == "text/csv"
    assert f"dcol-reports-AAP26-{TODAY}.csv" in response.headers["Content-Disposition"]
    assert [row["Référence"] for row in csv_rows(response.data)] == [data.project.reference]

    assert client.get("/exports/reports.csv?call=999999").status_code == 404
    assert client.get("/exports/budgets.csv").status_code == 404
    assert client.get("/exports/missions.pdf").status_code == 404


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.COMMITTEE, Role.APPLICANT, Role.EXPERT])
def test_others_get_a_404(data, client, role):
    if role is Role.APPLICANT:
        user = data.signatory
    elif role is Role.EXPERT:
        user = data.expert_user
    else:
        user = f.make_user(role)
        db.session.commit()
    with pytest.raises(Forbidden):
        services.export(user, "payments", "csv")
    login(client, user)
    assert client.get("/exports").status_code == 404
    for table in services.TABLES:
        assert client.get(f"/exports/{table}.xlsx").status_code == 404


def test_admins_export_too(data, client):
    admin = f.make_user(Role.ADMIN)
    db.session.commit()
    login(client, admin)
    assert client.get("/exports/payments.xlsx").status_code == 200


def test_each_table_takes_a_fixed_number_of_queries(data):
    def count(table) -> int:
        db.session.expire_all()
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        sa.event.listen(db.engine, "before_cursor_execute", listener)
        try:
            list(services.TABLES[table](None).rows)  # the rows are streamed: read them
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    before = {table: count(table) for table in services.TABLES}
    for n in range(3):
        more = f.make_application(data.dcol_call, data.running.organisation, S.FINAL_REPORT,
                                  title=f"Autre {n}")
        mission = f.make_mission(more, f.make_expert(f"Expert {n}"))
        report(mission, data.expert_user, date(2026, 1, n + 1), "1", [("Taxi", "10.00", True)])
        payment(more, PaymentKind.EXPERT_ADVANCE, "100.00", "80.00", PaymentStatus.SCHEDULED,
                {"CDC": "80.00"})
    db.session.commit()
    assert {table: count(table) for table in services.TABLES} == before


def _read(response) -> tuple[int, bytes]:
    return response.status_code, response.get_data()  # the stream ends in the same context


def downloaded_statements(client, path: str) -> tuple[list[str], bytes]:
    """The statements of one download and its body, run in a context of its own as in
    production (see ``tests.query_counting.counted_get``), the streamed body read to its end."""
    db.session.commit()
    with recorded_statements() as statements:
        status, body = contextvars.Context().run(lambda: _read(client.get(path)))
    assert status == 200 and body
    return statements, body


def add_supports(data, count: int) -> None:
    """``count`` more supports under way, each with its reports, expenses, deliverables, alert
    and payments (one of them naming a funder of its own)."""
    for n in range(count):
        more = f.make_application(data.dcol_call, data.running.organisation, S.IN_PROGRESS,
                                  title=f"Autre {n}")
        mission = f.make_mission(more, f.make_expert(f"Expert {n}"))
        for day in (1, 2):
            report(mission, data.expert_user, date(2026, day, n % 28 + 1), "1",
                   [("Taxi", "10.00", True), ("Repas", "20.00", False)])
        deliverable(mission, "Diagnostic", DeliverableState.VALIDATED)
        db.session.add(Alert(application_id=more.id, kind=AlertKind.NO_REPORT, key="no_report",
                             raised_at=utcnow()))
        payment(more, PaymentKind.EXPERT_ADVANCE, "100.00", "80.00", PaymentStatus.SCHEDULED,
                {"CDC": "40.00", f"F{n}": "40.00"})
        payment(more, PaymentKind.EXPERT_BALANCE, "100.00", "80.00", PaymentStatus.HELD,
                {"AFD": "80.00"}, due="closure")
    db.session.commit()


@pytest.mark.parametrize("fmt", services.FORMATS)
@pytest.mark.parametrize("table", sorted(services.TABLES))
def test_the_number_of_queries_does_not_grow_with_the_rows(data, client, monkeypatch, table,
                                                           fmt):
    login(client, data.manager)
    path = f"/exports/{table}.{fmt}"
    few, _body = downloaded_statements(client, path)
    add_supports(data, 12)
    monkeypatch.setattr(services, "BATCH", 5)  # read in several batches: no query per batch
    many, body = downloaded_statements(client, path)
    assert len(many) == len(few), grown_statements(few, many)
    rows = (csv_rows(body) if fmt == "csv" else xlsx_rows(body)[1])
    assert len(rows) == {"missions": 15, "reports": 27, "payments": 27}[table]


def test_downloads_are_streamed(data, client):
    login(client, data.manager)
    for table in services.TABLES:
        response = client.get(f"/exports/{table}.csv")
        assert response.is_streamed and response.headers["Cache-Control"] == "no-cache"
        assert response.get_data() == export(data, table, "csv")


@pytest.mark.parametrize("table", sorted(services.TABLES))
def test_the_rows_do_not_depend_on_the_batches(data, monkeypatch, table):
    add_supports(data, 4)
    whole = export(data, table, "csv")
    monkeypatch.setattr(services, "BATCH", 2)
    assert export(data, table, "csv") == whole
    assert len(csv_rows(whole)) == {"missions": 7, "reports": 11, "payments": 11}[table]


def test_filename():
    day = date(2026, 11, 23)
    assert services.filename("missions", "xlsx", today=day) == "dcol-missions-2026-11-23.xlsx"
