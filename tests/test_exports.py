"""The instruction exports of a call, read back: the XLSX with openpyxl, the CSV with csv.

The figures are computed by hand on a grid of three weighted criteria (maximum 30 points):
Pertinence ×3 (threshold 2.5), Faisabilité ×2, Budget ×1, each out of 5; overall threshold 60.

First dossier: Pertinence (4, 2) → 3, Faisabilité (3.5, 4) → 3.75, Budget (3, 3) → 3;
total 9 + 7.5 + 3 = 19.5; 19.5 / 30 × 100 = 65; Pertinence diverges (4 − 2 = 2).
Second dossier: Pertinence (2.5, 2) → 2.25 (under 2.5), Faisabilité (3, 2.5) → 2.75,
Budget (4.5, 3.5) → 4; total 6.75 + 5.5 + 4 = 16.25; 16.25 / 30 × 100 = 54.1666… → 54.17;
consensus 58.5, still under 60. Ranks: 65 before 58.5.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from dcol.extensions import db
from dcol.models import (
    ApplicationState,
    CallKind,
    CommitteeSession,
    Criterion,
    Role,
)
from dcol.reviews import exports
from dcol.reviews import services as reviews
from tests import factories as f
from tests import workflow_support as ws
from workflows import engine

S = ApplicationState
FORMULA = '=HYPERLINK("http://exemple.invalid","Cliquez ici")'
# (score, comment) per criterion (Pertinence, Faisabilité, Budget), per reviewer, per dossier.
MARKS = [
    [(("4", "Fort ancrage territorial."), ("3.5", ""), ("3", FORMULA)),
     (("2", "Partenariat encore fragile."), ("4", "Calendrier réaliste."), ("3", ""))],
    [(("2.5", ""), ("3", ""), ("4.5", "Budget maîtrisé.")),
     (("2", ""), ("2.5", ""), ("3.5", ""))],
]
OPINIONS = [[("favourable", "Dossier solide."), ("reserved", "@ revoir : le partenariat.")],
            [("reserved", "Correct."), ("unfavourable", "Trop tôt.")]]


def number(value) -> D:
    """A cell read back by openpyxl (int or float) as the Decimal it was written from."""
    return D(str(value))


def reviewed_dossier(call, cast, marks, opinions, title):
    application = ws.complete_dossier(call, cast)
    application.title = title
    ws.drive_to(application, cast, S.UNDER_REVIEW)
    for reviewer, reviewer_marks, (opinion, comment) in zip(cast.reviewers, marks, opinions,
                                                            strict=True):
        scores = {criterion.id: mark for criterion, mark in zip(call.criteria, reviewer_marks,
                                                                strict=True)}
        reviews.save_review(application, reviewer, scores, opinion, comment, submit=True)
    assert application.state is S.REVIEWED  # the last review closed the instruction
    return application


@pytest.fixture
def instructed(app):
    call = ws.make_call_for(CallKind.DCOL)
    call.overall_threshold = D("60")
    call.criteria.extend([
        Criterion(label="Pertinence", weight=D("3"), scale_max=D("5"), threshold=D("2.5"),
                  position=1),
        Criterion(label="Faisabilité", weight=D("2"), scale_max=D("5"), position=2),
        Criterion(label="Budget", weight=D("1"), scale_max=D("5"), position=3),
    ])
    cast = ws.make_cast(call)
    cast.reviewers[0].full_name, cast.reviewers[1].full_name = "Julien Moreau", "Inès Haddad"
    first = reviewed_dossier(call, cast, MARKS[0], OPINIONS[0], "Projet pilote eau potable")
    second = reviewed_dossier(call, cast, MARKS[1], OPINIONS[1], "=1+1 Stratégie climat")
    reviews.record_consensus(second, cast.manager, "58.5", "Arbitrage du comité technique.")
    session = db.session.scalars(sa.select(CommitteeSession).where(
        CommitteeSession.call_id == call.id)).one()
    session.title, session.held_at = "Comité de décembre", datetime(2026, 12, 10, 14, tzinfo=UTC)
    engine.fire(first, "select", cast.committee, comment="Projet structurant pour le territoire.")
    db.session.commit()
    return call, cast, first, second


def sheet_rows(sheet) -> dict[str, dict]:
    """Rows keyed by their first cell, each a {header: value} mapping."""
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    return {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}


def test_xlsx_dossiers_sheet_holds_the_hand_computed_aggregates_and_the_decision(instructed):
    call, cast, first, second = instructed
    workbook = load_workbook(io.BytesIO(exports.export_xlsx(call, cast.manager)))
    assert workbook.sheetnames == ["Dossiers", "Évaluations", "Grille"]
    data = sheet_rows(workbook["Dossiers"])
    assert list(data) == [first.reference, second.reference]
    one, two = data[first.reference], data[second.reference]

    assert one["Collectivité"] == "Syndicat mixte Fensch Lorraine"
    assert one["Type de collectivité"] == "Commune" and one["Volet"] == "Stratégie internationale"
    assert one["État"] == "Retenu" and two["État"] == "Instruit"
    assert number(one["Cofinancement estimé"]) == D("10000.00") and one["Montant demandé"] is None
    assert one["Évaluations soumises"] == 2
    assert [number(one[f"Moyenne — {label}"]) for label in ("Pertinence", "Faisabilité", "Budget")
            ] == [D("3"), D("3.75"), D("3")]
    assert number(one["Total pondéré (sur 30)"]) == D("19.5")
    assert number(one["Note calculée / 100"]) == number(one["Note finale / 100"]) == D("65")
    assert one["Note de consensus / 100"] is None and one["Justification du consensus"] is None
    assert one["Critères divergents (écart d'au moins 2 points)"] == "Pertinence"
    assert one["Critères sous leur seuil"] is None and one["Note finale sous le seuil de 60 / 100"] == "non"
    assert one["Rang dans le volet"] == 1
    assert one["Décision du comité"] == "Retenu"
    assert one["Motif de la décision"] == "Projet structurant pour le territoire."
    assert one["Séance"] == "Comité de décembre"
    assert one["Date de la séance"].date() == date(2026, 12, 10)

    assert [number(two[f"Moyenne — {label}"]) for label in ("Pertinence", "Faisabilité", "Budget")
            ] == [D("2.25"), D("2.75"), D("4")]
    assert number(two["Total pondéré (sur 30)"]) == D("16.25")
    assert number(two["Note calculée / 100"]) == D("54.17")
    assert number(two["Note de consensus / 100"]) == number(two["Note finale / 100"]) == D("58.5")
    assert two["Justification du consensus"] == "Arbitrage du comité technique."
    assert two["Critères divergents (écart d'au moins 2 points)"] is None
    assert two["Critères sous leur seuil"] == "Pertinence"
    assert two["Note finale sous le seuil de 60 / 100"] == "oui"
    assert two["Rang dans le volet"] == 2 and two["Décision du comité"] is None


def test_xlsx_reviews_sheet_holds_each_reviewer_s_scores_and_comments(instructed):
    call, cast, first, second = instructed
    sheet = load_workbook(io.BytesIO(exports.export_xlsx(call, cast.manager)))["Évaluations"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header, body = rows[0], [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert header[:5] == ["Référence", "Collectivité", "Volet", "Instructeur", "Soumise le"]
    assert [(row["Référence"], row["Instructeur"]) for row in body] == [
        (first.reference, "Julien Moreau"), (first.reference, "Inès Haddad"),
        (second.reference, "Julien Moreau"), (second.reference, "Inès Haddad")]
    moreau, haddad = body[0], body[1]
    assert [number(moreau[f"Note — {label}"]) for label in ("Pertinence", "Faisabilité", "Budget")
            ] == [D("4"), D("3.5"), D("3")]
    assert moreau["Commentaire — Pertinence"] == "Fort ancrage territorial."
    assert moreau["Avis d'ensemble"] == "Favorable"
    assert moreau["Commentaire d'ensemble"] == "Dossier solide."
    assert isinstance(moreau["Soumise le"], datetime)
    assert haddad["Commentaire — Faisabilité"] == "Calendrier réaliste."
    assert haddad["Avis d'ensemble"] == "Favorable avec réserves"
    assert [number(body[3][f"Note — {label}"]) for label in ("Pertinence", "Faisabilité", "Budget")
            ] == [D("2"), D("2.5"), D("3.5")]
    assert body[3]["Avis d'ensemble"] == "Défavorable"


def test_xlsx_cells_are_typed_numbers_and_the_header_is_frozen(instructed):
    call, cast, first, _second = instructed
    workbook = load_workbook(io.BytesIO(exports.export_xlsx(call, cast.manager)))
    sheet = workbook["Dossiers"]
    header = [cell.value for cell in sheet[1]]

    def cell(name):
        return sheet.cell(row=2, column=header.index(name) + 1)

    assert cell("Cofinancement estimé").data_type == "n"
    assert cell("Cofinancement estimé").number_format == exports.EURO_FORMAT
    assert cell("Note calculée / 100").number_format == exports.SCORE_FORMAT
    assert cell("Date de la séance").is_date
    assert sheet.freeze_panes == "B2" and sheet.auto_filter.ref == sheet.dimensions
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.column_dimensions["A"].width >= len(first.reference)
    grid = [[c.value for c in row] for row in workbook["Grille"].iter_rows()]
    assert grid[1][0] == "Pertinence" and [number(v) for v in grid[1][1:]] == [
        D("3"), D("5"), D("2.5"), D("15")]


def test_text_that_a_spreadsheet_would_run_as_a_formula_is_neutralised(instructed):
    call, cast, first, second = instructed
    workbook = load_workbook(io.BytesIO(exports.export_xlsx(call, cast.manager)))
    comment = workbook["Évaluations"]
    header = [c.value for c in comment[1]]
    budget = comment.cell(row=2, column=header.index("Commentaire — Budget") + 1)
    assert budget.value == FORMULA and budget.data_type == "s" and budget.quotePrefix
    opinion = comment.cell(row=3, column=header.index("Commentaire d'ensemble") + 1)
    assert opinion.value == "@ revoir : le partenariat." and opinion.quotePrefix
    dossiers = workbook["Dossiers"]
    title = dossiers.cell(row=3, column=2)
    assert title.value == "=1+1 Stratégie climat" and title.data_type == "s"

    rows = list(csv.DictReader(io.StringIO(
        exports.export_csv(call, cast.manager).decode("utf-8-sig")), delimiter=";"))
    assert rows[0]["Commentaire — Budget"] == "'" + FORMULA
    assert rows[1]["Commentaire d'ensemble"] == "'@ revoir : le partenariat."
    assert rows[2]["Titre"] == "'=1+1 Stratégie climat"
    assert rows[0]["Commentaire — Pertinence"] == "Fort ancrage territorial."  # others untouched


def test_csv_is_one_row_per_review_for_french_excel(instructed):
    call, cast, first, second = instructed
    content = exports.export_csv(call, cast.manager)
    assert content.startswith(b"\xef\xbb\xbf") and b"\r\n" in content
    text = content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert all(len(row) == len(rows[0]) for row in rows)
    body = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [(r["Référence"], r["N° d'évaluation"], r["Instructeur"]) for r in body] == [
        (first.reference, "1", "Julien Moreau"), (first.reference, "2", "Inès Haddad"),
        (second.reference, "1", "Julien Moreau"), (second.reference, "2", "Inès Haddad")]
    one, two = body[0], body[3]
    assert one["Cofinancement estimé"] == "10000,00"
    assert [one[f"Moyenne — {label}"] for label in ("Pertinence", "Faisabilité", "Budget")] == [
        "3,00", "3,75", "3,00"]
    assert one["Total pondéré (sur 30)"] == "19,50" and one["Note calculée / 100"] == "65,00"
    assert one["Rang dans le volet"] == "1" and one["Décision du comité"] == "Retenu"
    assert one["Date de la séance"] == "10/12/2026"
    assert one["Note — Pertinence"] == "4,0" and body[1]["Note — Pertinence"] == "2,0"
    assert body[1]["Commentaire — Pertinence"] == "Partenariat encore fragile."
    assert two["Note calculée / 100"] == "54,17" and two["Note de consensus / 100"] == "58,50"
    assert two["Note finale / 100"] == "58,50" and two["Note finale sous le seuil de 60 / 100"] == "oui"
    assert two["Justification du consensus"] == "Arbitrage du comité technique."
    assert two["Note — Budget"] == "3,5" and two["Avis d'ensemble"] == "Défavorable"


def test_only_deposited_dossiers_and_submitted_reviews_are_exported(instructed):
    call, cast, first, second = instructed
    pending = ws.complete_dossier(call, cast)
    ws.drive_to(pending, cast, S.UNDER_REVIEW)
    pertinence = call.criteria[0]
    reviews.save_review(pending, cast.reviewers[0], {pertinence.id: ("1", "Brouillon secret")},
                        None, "", submit=False)
    draft = ws.complete_dossier(call, cast)
    db.session.commit()

    workbook = load_workbook(io.BytesIO(exports.export_xlsx(call, cast.manager)))
    data = sheet_rows(workbook["Dossiers"])
    assert list(data) == [first.reference, second.reference, pending.reference]
    assert draft.reference not in data
    row = data[pending.reference]
    assert row["Évaluations soumises"] == 0 and row["Note calculée / 100"] is None
    assert row["Moyenne — Pertinence"] is None and row["Rang dans le volet"] is None
    assert pending.reference not in sheet_rows(workbook["Évaluations"])

    content = exports.export_csv(call, cast.manager).decode("utf-8-sig")
    assert "Brouillon secret" not in content and draft.reference not in content
    rows = [r for r in csv.DictReader(io.StringIO(content), delimiter=";")
            if r["Référence"] == pending.reference]
    assert len(rows) == 1 and rows[0]["N° d'évaluation"] == "" and rows[0]["Instructeur"] == ""


def test_headers_follow_the_manager_s_language(instructed):
    call, cast, first, _second = instructed
    cast.manager.locale = "en"
    workbook = load_workbook(io.BytesIO(exports.export_xlsx(call, cast.manager)))
    header = [cell.value for cell in workbook.worksheets[0][1]]
    assert header[0] == "Reference" and "Computed score / 100" in header
    assert sheet_rows(workbook.worksheets[0])[first.reference]["Committee decision"] == "Selected"


@pytest.mark.parametrize("who", ["committee", "reviewer", "signatory", "admin"])
def test_only_managers_export(instructed, who):
    call, cast, _first, _second = instructed
    user = {"committee": cast.committee, "reviewer": cast.reviewers[0],
            "signatory": cast.signatory, "admin": f.make_user(Role.ADMIN)}[who]
    with pytest.raises(engine.Forbidden):
        exports.export_xlsx(call, user)
    with pytest.raises(engine.Forbidden):
        exports.export_csv(call, user)


def test_the_number_of_queries_does_not_grow_with_the_dossiers(app, instructed):
    call, cast, _first, _second = instructed

    def queries() -> int:
        db.session.expire_all()
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        sa.event.listen(db.engine, "before_cursor_execute", listener)
        try:
            exports.export_xlsx(call, cast.manager)
            exports.export_csv(call, cast.manager)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    with_two = queries()
    for title in ("Troisième", "Quatrième"):
        reviewed_dossier(call, cast, MARKS[0], OPINIONS[0], title)
    db.session.commit()
    assert queries() == with_two


def test_filename_names_the_call(instructed):
    call, _cast, _first, _second = instructed
    assert exports.filename(call, "xlsx") == f"instruction-{call.code}.xlsx"
    call.code = "DCOL 12/é"
    assert exports.filename(call, "csv") == "instruction-DCOL-12--.csv"

