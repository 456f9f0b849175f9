"""Instruction and selection through a real browser: the manager assigns two reviewers to each
dossier, both declare no conflict and score, the ranking follows, a committee session is opened
with its quorum, a member decides, and the decision letters and the minutes are read back."""

from __future__ import annotations

import re
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from dcol.committee import services as committee
from dcol.documents.storage import path_of
from dcol.extensions import db
from dcol.models import (
    Application,
    ApplicationState,
    CallKind,
    Criterion,
    Document,
    DocumentKind,
)
from tests import factories as f
from tests import workflow_support as ws
from tests.conftest import empty_database
from tests.pdf_support import pdf_text

pytestmark = pytest.mark.browser
S = ApplicationState


def log_in(page: Page, email: str) -> None:
    page.goto("/connexion")
    page.get_by_label("Adresse e-mail", exact=True).fill(email)
    page.get_by_label("Mot de passe", exact=True).fill(f.PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Bonjour "))


def flash(page: Page):
    return page.locator(".flash-success").last


@pytest.fixture
def world(live_server):
    """A DCOL call with a two-criterion grid, two eligible dossiers of a syndicate, two
    reviewers, a manager, and a planned session with one committee member (quorum 1)."""
    with live_server.app.app_context():
        call = ws.make_call_for(CallKind.DCOL)
        call.title = "DCOL — 13e appel"
        call.criteria.extend([
            Criterion(label="Pertinence", weight=D("2"), scale_max=D("5"), position=1),
            Criterion(label="Faisabilité", weight=D("1"), scale_max=D("5"), position=2),
        ])
        cast = ws.make_cast(call)
        cast.reviewers[0].full_name, cast.reviewers[1].full_name = "Julien Moreau", "Inès Haddad"
        cast.committee.full_name = "Claire Dubois"
        first = ws.complete_dossier(call, cast)
        first.title = "Eau potable à Hué"
        second = ws.complete_dossier(call, cast)
        second.title = "Déchets à Dakar"
        for application in (first, second):
            ws.drive_to(application, cast, S.ELIGIBLE)
        session = committee.save_session(call, cast.manager, {
            "title": "Comité DCOL de décembre", "date": "2026-12-10", "time": "10:00",
            "quorum": 1, "member_ids": [cast.committee.id]})
        db.session.commit()
        ids = {
            "call": call.id, "session": session.id, "first": first.id, "second": second.id,
            "first_ref": first.reference, "second_ref": second.reference,
            "manager": cast.manager.email, "committee": cast.committee.email,
            "reviewers": [r.email for r in cast.reviewers],
        }
        db.session.remove()
    try:
        yield ids
    finally:
        with live_server.app.app_context():
            db.session.rollback()
            empty_database()
            db.session.remove()


def score(page: Page, reference: str, marks: tuple[str, str], opinion: str) -> None:
    page.goto("/evaluations")
    page.get_by_role("link", name=re.compile(reference)).first.click()
    page.get_by_label("Je déclare n'avoir aucun conflit d'intérêts").check()
    page.get_by_role("button", name="Enregistrer ma déclaration").click()
    expect(flash(page)).to_contain_text("vous pouvez maintenant consulter et évaluer")
    page.get_by_role("textbox", name="Pertinence", exact=True).fill(marks[0])
    page.get_by_role("textbox", name="Faisabilité", exact=True).fill(marks[1])
    page.get_by_label(opinion, exact=True).check()
    page.get_by_label("Commentaire d'ensemble").fill("Dossier examiné en détail.")
    page.get_by_role("button", name="Soumettre l'évaluation").click()
    expect(flash(page)).to_contain_text("Votre évaluation est soumise")
    expect(page.locator("#etat-evaluation")).to_contain_text("Soumise")


def test_assign_score_rank_decide_and_read_the_letters(page, new_page, live_server, world):
    # The manager gives each dossier two reviewers, balancing their loads, then starts both.
    log_in(page, world["manager"])
    page.goto(f"/appels/{world['call']}/instructeurs")
    page.get_by_role("button", name="Compléter les affectations en équilibrant la charge").click()
    expect(flash(page)).to_contain_text("4 affectation(s) créée(s)")
    for key in ("first", "second"):
        page.goto(f"/dossiers/{world[key]}")
        page.locator('form[data-event="start_review"]').get_by_role(
            "button", name="Mettre en instruction").click()
        expect(page.locator("#etat-dossier")).to_have_text("En instruction")

    # Both reviewers declare no conflict and score both dossiers.
    marks = {  # (pertinence, faisabilité) per reviewer and dossier
        0: {"first_ref": ("4", "3"), "second_ref": ("3", "3")},
        1: {"first_ref": ("5", "4"), "second_ref": ("3,5", "2")},
    }
    for index, email in enumerate(world["reviewers"]):
        reviewer = new_page()
        log_in(reviewer, email)
        for key in ("first_ref", "second_ref"):
            score(reviewer, world[key], marks[index][key], "Favorable")

    # The ranking: first (2 × 4.5 + 3.5) / 15 = 83.33, second (2 × 3.25 + 2.5) / 15 = 60.
    page.goto(f"/appels/{world['call']}/classement")
    rows = page.locator("table.ranking tbody tr")
    expect(rows.nth(0)).to_contain_text(world["first_ref"])
    expect(rows.nth(0)).to_contain_text("83,33")
    expect(rows.nth(1)).to_contain_text(world["second_ref"])
    expect(rows.nth(1)).to_contain_text("60")

    # The manager records attendance and opens the session.
    page.goto(f"/comites/{world['session']}")
    attendance = page.locator("form").filter(
        has=page.get_by_role("button", name="Enregistrer les présences"))
    attendance.get_by_label("Claire Dubois").check()
    attendance.get_by_role("button", name="Enregistrer les présences").click()
    expect(page.locator("dd#quorum")).to_contain_text("atteint")
    page.get_by_role("button", name="Ouvrir la séance").click()
    expect(page.locator("#etat-seance")).to_have_text("En séance")

    # The member sees the agenda by rank, with the running total, and decides both at once.
    member = new_page()
    log_in(member, world["committee"])
    member.goto(f"/comites/{world['session']}")
    agenda = member.locator("#agenda tbody tr")
    expect(agenda.nth(0)).to_contain_text(world["first_ref"])
    expect(agenda.nth(1)).to_contain_text("20 000,00")  # two estimates of 10 000 €
    member.get_by_label(f"Décision pour {world['first_ref']}").select_option(label="Retenu")
    member.get_by_label(f"Décision pour {world['second_ref']}").select_option(label="Non retenu")
    member.get_by_label(f"Motif pour {world['second_ref']}").fill("Partenariat à consolider.")
    member.get_by_role("button", name="Enregistrer les décisions").click()
    expect(flash(member)).to_contain_text("2 décision(s) enregistrée(s)")
    expect(agenda.nth(1)).to_contain_text("Partenariat à consolider.")

    # The manager closes the session; its minutes name the member present and both decisions.
    page.reload()
    page.get_by_role("button", name="Clore la séance").click()
    expect(page.locator("#etat-seance")).to_have_text("Close")
    minutes = page.request.get(f"/comites/{world['session']}/proces-verbal.pdf")
    assert minutes.ok and minutes.headers["content-type"] == "application/pdf"
    text = pdf_text(minutes.body())
    assert "Membres présents Claire Dubois" in text
    assert world["first_ref"] in text.replace(" ", "")
    assert world["second_ref"] in text.replace(" ", "")
    assert "Partenariat à consolider." in text and "Dossiers retenus : 1" in text

    # Each dossier has its letter, stored on the dossier and attached to its mail.
    with live_server.app.app_context():
        first = db.session.get(Application, world["first"])
        second = db.session.get(Application, world["second"])
        assert (first.state, second.state) == (S.SELECTED, S.REJECTED)
        letters = {
            application.id: pdf_text(path_of(db.session.scalars(sa.select(Document).where(
                Document.application_id == application.id,
                Document.kind == DocumentKind.LETTER)).one()).read_bytes())
            for application in (first, second)
        }
        db.session.remove()
    assert "a retenu votre dossier « Eau potable à Hué »" in letters[world["first"]]
    assert "n'a pas retenu votre dossier « Déchets à Dakar »" in letters[world["second"]]
    assert "Partenariat à consolider." in letters[world["second"]]
