"""The instruction exports of a call, read back: the XLSX with openpyxl, the CSV with csv."""

from __future__ import annotations

import csv
import io
from decimal import Decimal as D

import pytest
from openpyxl import load_workbook

from dcol.committee import services as committee
from dcol.extensions import db
from dcol.models import ApplicationState, CallKind, Criterion, Role
from dcol.reviews import exports
from dcol.reviews import services as reviews
from tests import factories as f
from tests import workflow_support as ws
from workflows import engine

S = ApplicationState


@pytest.fixture
def instructed(app):
    call = ws.make_call_for(CallKind.DCOL)
    call.criteria.extend([
        Criterion(label="Impact", weight=D("2"), scale_max=D("5"), position=1),
        Criterion(label="Faisabilité", weight=D("1"), scale_max=D("5"), position=2),
    ])
    cast = ws.make_cast(call)
    cast.reviewers[0].full_name, cast.reviewers[1].full_name = "Julien Moreau", "Inès Haddad"
    impact, feasibility = call.criteria
    marks = [((("4", "Fort impact."), ("3", "")), (("2", "=HYPERLINK(\"x\")"), ("4", ""))),
             ((("3", ""), ("3", "")), (("3.5", ""), ("2.5", "")))]
    dossiers = []
    for dossier_marks in marks:
        application = ws.complete_dossier(call, cast)
        ws.drive_to(application, cast, S.UNDER_REVIEW)
        for reviewer, ((s1, c1), (s2, c2)) in zip(cast.reviewers, dossier_marks, strict=True):
            reviews.save_review(application, reviewer, {impact.id: (s1, c1),
                                                        feasibility.id: (s2, c2)},
                                "favourable", "Avis général.", submit=True)
        dossiers.append(application)
    reviews.record_consensus(dossiers[1], cast.manager, "62.5", "Arbitrage du comité technique.")
    session = committee.save_session(call, cast.manager, {
        "title": "Comité de décembre", "date": "2026-12-10", "quorum": 1,
        "member_ids": [cast.committee.id]})
    committee.record_attendance(session, cast.manager, {cast.committee.id})
    committee.open_session(session, cast.manager)
    committee.decide(session, cast.committee, [(dossiers[0].id, "select", "")])
    db.session.commit()
    return call, cast, dossiers


def test_xlsx_holds_every_score_the_aggregates_and_the_decision(instructed):
    call, cast, (first, second) = instructed
    sheet = load_workbook(io.BytesIO(exports.export_xlsx(call, cast.manager))).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header = rows[0]
    data = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    one, two = data[first.reference], data[second.reference]
    # First: impact (4 + 2) / 2 = 3, feasibility 3.5: (2 × 3 + 3.5) / 15 × 100 = 63.33.
    assert one["Moyenne — Impact"] == 3 and one["Moyenne — Faisabilité"] == 3.5
    assert one["Total pondéré"] == 9.5 and one["Note calculée / 100"] == 63.33
    assert one["Critères divergents"] == "Impact"
    assert one["Note Impact — instructeur 1"] == 4 and one["Commentaire Impact — instructeur 1"] == "Fort impact."
    assert one["Instructeur 2"] == "Inès Haddad"
    assert one["Commentaire Impact — instructeur 2"] == "'=HYPERLINK(\"x\")"  # not a formula
    assert one["Décision du comité"] == "Retenu" and one["Séance"] == "Comité de décembre"
    assert one["Cofinancement estimé"] == 10000
    assert sheet.cell(row=2, column=header.index("Cofinancement estimé") + 1).number_format \
        == exports.EURO_FORMAT
    # Second: impact 3.25, feasibility 2.75: (6.5 + 2.75) / 15 × 100 = 61.67; consensus 62.5.
    assert two["Note calculée / 100"] == 61.67 and two["Note de consensus / 100"] == 62.5
    assert two["Note finale / 100"] == 62.5 and two["Décision du comité"] is None
    assert one["Rang dans le volet"] == 1 and two["Rang dans le volet"] == 2  # 63.33 > 62.5
    assert sheet.freeze_panes == "B2"


def test_csv_has_the_same_rows_for_french_spreadsheets(instructed):
    call, cast, (first, _second) = instructed
    content = exports.export_csv(call, cast.manager)
    assert content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    header, row = rows[0], dict(zip(rows[0], rows[1], strict=True))
    assert len(rows) == 3 and "Note calculée / 100" in header
    assert row["Référence"] == first.reference and row["Note calculée / 100"] == "63,33"
    assert row["Commentaire Impact — instructeur 2"].startswith("'=")


def test_only_managers_export(instructed, client):
    call, cast, _dossiers = instructed
    for user in (cast.committee, cast.reviewers[0], cast.signatory, f.make_user(Role.ADMIN)):
        with pytest.raises(engine.Forbidden):
            exports.export_xlsx(call, user)
    client.post("/connexion", data={"email": cast.manager.email, "password": f.PASSWORD})
    response = client.get(f"/appels/{call.id}/export.xlsx")
    assert response.status_code == 200 and "instruction-" in response.headers["Content-Disposition"]
    assert client.get(f"/appels/{call.id}/export.csv").mimetype == "text/csv"
