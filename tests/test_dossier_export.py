"""The export of every dossier a staff member sees (``/dossiers/export.csv`` and ``.xlsx``),
streamed, read back with csv and openpyxl: who may download it, which dossiers and columns it
holds, the list's filters, and a number of queries that does not grow with the dossiers."""

from __future__ import annotations

import contextvars
import csv
import io
from decimal import Decimal as D

import pytest
from openpyxl import load_workbook

from dcol.exports.tables import XLSX_MIMETYPE
from dcol.extensions import db
from dcol.models import ApplicationState, OrganisationKind, Role
from tests import factories as f
from tests.query_counting import grown_statements, recorded_statements

S = ApplicationState
FORMULA = "=1+1 Stratégie climat"


def login(client, user):
    response = client.post("/connexion", data={"email": user.email, "password": f.PASSWORD})
    assert response.status_code == 302


def read_csv(response) -> list[dict]:
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff")  # Excel's BOM
    return list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))


@pytest.fixture
def dossiers(app):
    """Two calls; three dossiers of two organisations; a reviewer assigned to one of them."""
    first, second = f.make_call(title="Appel DCOL 12"), f.make_call(title="Appel AAP 3")
    mairie = f.make_organisation("Ville de Lyon")
    region = f.make_organisation("Région Bretagne", kind=OrganisationKind.REGION)
    submitted = f.make_application(first, mairie, S.SUBMITTED, title=FORMULA,
                                   requested_amount=D("8000.50"),
                                   estimated_cofinancing=D("6400.40"))
    draft = f.make_application(first, region, S.DRAFT)
    other = f.make_application(second, region, S.UNDER_REVIEW)
    reviewer = f.make_user(Role.REVIEWER)
    f.assign_reviewer(other, reviewer)
    manager = f.make_user(Role.MANAGER)
    applicant = f.make_user(Role.APPLICANT, organisation=mairie)
    expert = f.make_expert_user()
    db.session.commit()
    return {"calls": (first, second), "applications": (submitted, draft, other),
            "manager": manager, "reviewer": reviewer, "applicant": applicant, "expert": expert}


def test_a_manager_exports_every_dossier_as_csv(client, dossiers):
    login(client, dossiers["manager"])
    response = client.get("/dossiers/export.csv")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = read_csv(response)
    submitted, draft, other = dossiers["applications"]
    assert sorted(row["Référence"] for row in rows) == sorted(
        [submitted.reference, draft.reference, other.reference])
    row = next(row for row in rows if row["Référence"] == submitted.reference)
    assert row["Intitulé"] == "'" + FORMULA  # neutralised, never run by a spreadsheet
    assert row["Collectivité"] == "Ville de Lyon" and row["Appel"] == "Appel DCOL 12"
    assert row["Volet"] == "Stratégie internationale" and row["État"] == S.SUBMITTED.label
    assert row["Montant demandé"] == "8000,50" and row["Cofinancement estimé"] == "6400,40"
    assert row["Coût estimé"] == "12500,00"
    assert row["Mis à jour le"].count("/") == 2  # a French date, Paris time
    assert next(r for r in rows if r["Référence"] == draft.reference)[
        "Type de collectivité"] == OrganisationKind.REGION.label


def test_the_workbook_holds_typed_cells(client, dossiers):
    login(client, dossiers["manager"])
    response = client.get("/dossiers/export.xlsx")
    assert response.status_code == 200
    assert response.mimetype == XLSX_MIMETYPE
    sheet = load_workbook(io.BytesIO(response.get_data()))["Dossiers"]
    table = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header, body = table[0], [dict(zip(table[0], row, strict=True)) for row in table[1:]]
    assert len(body) == 3 and header[0] == "Référence"
    submitted = dossiers["applications"][0]
    row = next(row for row in body if row["Référence"] == submitted.reference)
    assert D(str(row["Montant demandé"])) == D("8000.50")
    assert row["Intitulé"] == FORMULA
    cell = sheet.cell(row=body.index(row) + 2, column=header.index("Intitulé") + 1)
    assert cell.data_type == "s" and cell.quotePrefix
    assert sheet.freeze_panes == "B2" and sheet.auto_filter.ref == sheet.dimensions


def test_a_reviewer_exports_only_the_dossiers_of_their_reviews(client, dossiers):
    login(client, dossiers["reviewer"])
    rows = read_csv(client.get("/dossiers/export.csv"))
    assert [row["Référence"] for row in rows] == [dossiers["applications"][2].reference]


def test_the_export_follows_the_list_s_filters(client, dossiers):
    login(client, dossiers["manager"])
    first, _second = dossiers["calls"]
    rows = read_csv(client.get(f"/dossiers/export.csv?appel={first.id}&etat=draft"))
    assert [row["Référence"] for row in rows] == [dossiers["applications"][1].reference]
    page = client.get(f"/dossiers/?appel={first.id}&etat=draft").get_data(as_text=True)
    assert f"/dossiers/export.csv?appel={first.id}&amp;etat=draft" in page


@pytest.mark.parametrize("who", ["applicant", "expert"])
def test_applicants_and_experts_get_a_404_and_no_link(client, dossiers, who):
    login(client, dossiers[who])
    assert client.get("/dossiers/export.csv").status_code == 404
    assert client.get("/dossiers/export.xlsx").status_code == 404
    assert "/dossiers/export." not in client.get("/dossiers/").get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_the_login(client, dossiers):
    assert client.get("/dossiers/export.csv").status_code == 302


def _read(response) -> tuple[int, bytes]:
    return response.status_code, response.get_data()  # the stream ends in the same context


def downloaded_statements(client, path: str) -> list[str]:
    """The statements of one download, run in a context of its own as in production (see
    ``tests.query_counting.counted_get``), the streamed body read to its end."""
    db.session.commit()
    with recorded_statements() as statements:
        status, body = contextvars.Context().run(lambda: _read(client.get(path)))
    assert status == 200 and body
    return statements


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_number_of_queries_does_not_grow_with_the_dossiers(client, dossiers, fmt):
    login(client, dossiers["manager"])
    few = downloaded_statements(client, f"/dossiers/export.{fmt}")
    call = dossiers["calls"][0]
    for _index in range(30):
        f.make_application(call, f.make_organisation(), S.SUBMITTED)
    many = downloaded_statements(client, f"/dossiers/export.{fmt}")
    assert len(many) == len(few), grown_statements(few, many)
