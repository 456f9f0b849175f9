"""The follow-up of a DCOL support through a real browser: the expert logs two reports (one with a
field mission, an expense and its receipt, an attachment) and deposits the final deliverable; the
collectivité's signatory asks for a revision, the expert deposits version 2, the signatory
validates it and answers the satisfaction questionnaire; CUF's manager validates, computes the
final cofinancing on the actual costs and closes; the closure report is downloaded and read back.

The agreement (10 days at 1 000 € HT and 1 000 € of mission costs: 11 000 €, 8 800 € for CUF at
80 %) is signed beforehand through the real finance services (tests/follow_up_support.py)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from dcol.extensions import db
from dcol.i18n import PARIS
from dcol.models import (
    Application,
    ApplicationState,
    AuditEvent,
    CallKind,
    Deliverable,
    DeliverableState,
    Document,
    DocumentKind,
    Expense,
    MissionReport,
    Satisfaction,
    utcnow,
)
from tests import factories as f
from tests.conftest import empty_database
from tests.document_files import pdf_bytes
from tests.follow_up_support import running_support
from tests.pdf_support import pdf_text
from workflows.guards import mission_of

pytestmark = pytest.mark.browser
S = ApplicationState

EXPERT = "Julien Moreau"
SIGNATORY = "Camille Martin"
MANAGER = "Sophie Laurent"
FIELD_PLACE = "Quy Nhon, province de Binh Dinh (Viêt Nam)"
EXPENSE = "Billet de train Paris–Roissy"
FINAL_TITLE = "Diagnostic et plan d'action"
REVISION_ASKED = "Chiffrer les trois scénarios du plan d'action."
CLOSING_COMMENT = "Mission menée à bien, restitution appréciée des élus."
SATISFACTION_COMMENT = "Expert disponible et recommandations concrètes."


def log_in(page: Page, email: str) -> None:
    page.goto("/connexion")
    page.get_by_label("Adresse e-mail", exact=True).fill(email)
    page.get_by_label("Mot de passe", exact=True).fill(f.PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Bonjour "))


def flash(page: Page):
    return page.locator(".flash-success").last


def pdf_file(folder: Path, name: str, text: str) -> Path:
    """A real PDF on disk, as a person picks it in the file chooser."""
    path = folder / name
    path.write_bytes(pdf_bytes(text))
    return path


def open_follow_up(page: Page, reference: str) -> None:
    """From the main menu to the support's follow-up page."""
    page.get_by_role("navigation", name="Menu principal").get_by_role(
        "link", name="Suivi des accompagnements"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Suivi des accompagnements")
    page.get_by_role("link", name=reference, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Suivi de la mission — {reference}")


def deliverable(page: Page):
    return page.locator("article.deliverable").filter(has_text=FINAL_TITLE)


def totals(page: Page):
    return page.locator("#totaux").first


@pytest.fixture
def support(live_server):
    """A DCOL support under way, its agreement signed by every party; committed so that the
    server's threads see it, emptied afterwards for the other tests.

    Prepared in a request context: outside one, with no SERVER_NAME (as the live server runs),
    ``dcol.mail.external_url`` pushes a request context of its own whose teardown delivers the
    mails queued so far, committing the services' transaction halfway."""
    with live_server.app.test_request_context():
        _call, cast, application = running_support(CallKind.DCOL)
        cast.expert_user.full_name = EXPERT
        cast.signatory.full_name = SIGNATORY
        cast.manager.full_name = MANAGER
        db.session.commit()
        ids = {
            "id": application.id,
            "reference": application.reference,
            "expert": cast.expert_user.email,
            "signatory": cast.signatory.email,
            "manager": cast.manager.email,
            "today": utcnow().astimezone(PARIS).date(),
        }
        db.session.remove()
    try:
        yield ids
    finally:
        with live_server.app.app_context():
            db.session.rollback()
            empty_database()
            db.session.remove()


def test_reports_revision_validation_satisfaction_and_closure(
    page: Page, new_page, live_server, support, tmp_path
):
    reference, today = support["reference"], support["today"]

    # 1. The expert logs a first report: 3 days, no field mission, no expense.
    log_in(page, support["expert"])
    open_follow_up(page, reference)
    expect(page.locator("#etat-dossier")).to_have_text("En cours")
    expect(totals(page)).to_contain_text("0 jours sur 10 contractualisés")
    page.get_by_role("link", name="Nouveau rapport").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nouveau rapport de mission")
    page.get_by_label("Date du rapport").fill((today - timedelta(weeks=3)).isoformat())
    page.get_by_label("Jours consacrés depuis le dernier rapport").fill("3")
    page.get_by_label("Activités menées").fill("Entretiens avec les services de l'eau.")
    page.get_by_role("button", name="Enregistrer le rapport").click()
    expect(flash(page)).to_have_text("Le rapport est enregistré.")
    expect(totals(page)).to_contain_text("3 jours sur 10 contractualisés")

    # Then a second one: 3,5 days, a field mission, an expense with its receipt, an attachment.
    page.get_by_role("link", name="Nouveau rapport").click()
    page.get_by_label("Date du rapport").fill((today - timedelta(weeks=1)).isoformat())
    page.get_by_label("Jours consacrés depuis le dernier rapport").fill("3,5")
    page.get_by_label("Activités menées").fill("Mission de terrain et atelier de diagnostic.")
    page.get_by_label("Ce rapport couvre une mission de terrain").check()
    page.get_by_label("Lieu de la mission de terrain").fill(FIELD_PLACE)
    page.get_by_label("Nature de la dépense — ligne 1").fill(EXPENSE)
    page.get_by_label("Montant TTC (€) — ligne 1").fill("245,80")
    page.get_by_label("Justificatif (PDF ou image) — ligne 1").set_input_files(
        pdf_file(tmp_path, "billet-train.pdf", "Billet de train 245,80 EUR")
    )
    page.get_by_label("Pièces jointes (facultatif)").set_input_files(
        pdf_file(tmp_path, "compte-rendu-atelier.pdf", "Compte rendu de l'atelier")
    )
    page.get_by_role("button", name="Enregistrer le rapport").click()
    expect(flash(page)).to_have_text("Le rapport est enregistré.")

    # The running totals: 6,5 days of 10, 6 500 € of fees and 245,80 € of expenses.
    expect(totals(page)).to_contain_text("6,5 jours sur 10 contractualisés")
    expect(totals(page)).to_contain_text("65 %")
    expect(totals(page)).to_contain_text(
        "6 745,80 € sur 11 000,00 € prévus par la convention (61 %)"
    )
    expect(totals(page)).to_contain_text("245,80 € sur 1 000,00 € budgétés")
    reports = page.locator("article.mission-report")
    expect(reports).to_have_count(2)
    latest = reports.first  # the most recent first
    expect(latest).to_contain_text(FIELD_PLACE)
    expect(latest.get_by_role("row", name=re.compile(EXPENSE))).to_contain_text("245,80 €")
    expect(latest.get_by_role("link", name="billet-train.pdf")).to_be_visible()
    expect(latest.get_by_role("link", name="compte-rendu-atelier.pdf")).to_be_visible()

    # 2. The expert deposits the final deliverable: the final report is in.
    page.get_by_role("link", name="Déposer un livrable").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Déposer un livrable")
    page.get_by_label("Titre du livrable").fill(FINAL_TITLE)
    page.get_by_label("Description (facultatif)").fill("Diagnostic du service de l'eau.")
    page.get_by_label("C'est le livrable final").check()
    page.get_by_label("Fichier du livrable").set_input_files(
        pdf_file(tmp_path, "plan-action-v1.pdf", "Plan d'action, version 1")
    )
    page.get_by_role("button", name="Déposer le livrable").click()
    expect(flash(page)).to_have_text(
        "Le livrable final est déposé : le rapport final de la mission est remis."
    )
    expect(page.locator("#etat-dossier")).to_have_text("Rapport final déposé")
    expect(deliverable(page)).to_contain_text("livrable final")
    expect(deliverable(page)).to_have_attribute("data-state", "submitted")
    expect(page.get_by_role("link", name="Nouveau rapport")).to_have_count(0)

    # 3. The collectivité's signatory asks for a revision, with what is to be reviewed.
    signatory = new_page()
    log_in(signatory, support["signatory"])
    open_follow_up(signatory, reference)
    expect(deliverable(signatory).get_by_role("link", name="plan-action-v1.pdf")).to_be_visible()
    deliverable(signatory).get_by_label("Ce qui doit être revu").fill(REVISION_ASKED)
    deliverable(signatory).get_by_role("button", name="Demander une révision").click()
    expect(flash(signatory)).to_have_text(f"« {FINAL_TITLE} » : Révision demandée.")
    expect(signatory.locator("#etat-dossier")).to_have_text("En cours")
    expect(deliverable(signatory).locator(".revision-comment")).to_have_text(REVISION_ASKED)

    # 4. The expert reads what to review and deposits version 2.
    page.reload()
    expect(page.locator("#etat-dossier")).to_have_text("En cours")
    expect(deliverable(page)).to_contain_text(REVISION_ASKED)
    deliverable(page).get_by_role("link", name="Déposer la version révisée").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Déposer la version révisée")
    page.get_by_label("Version révisée du livrable").set_input_files(
        pdf_file(tmp_path, "plan-action-v2.pdf", "Plan d'action, version 2")
    )
    page.get_by_label("Ce qui a changé (facultatif)").fill("Les trois scénarios sont chiffrés.")
    page.get_by_role("button", name="Déposer la version révisée").click()
    expect(flash(page)).to_have_text("La version révisée du livrable est déposée.")
    expect(page.locator("#etat-dossier")).to_have_text("Rapport final déposé")
    version = (
        deliverable(page)
        .locator("dt", has_text=re.compile(r"^Version$"))
        .locator("xpath=following-sibling::dd[1]")
    )
    expect(version).to_have_text("2")
    expect(deliverable(page).get_by_role("link", name="plan-action-v2.pdf")).to_be_visible()
    expect(deliverable(page).locator(".previous-versions")).to_contain_text("plan-action-v1.pdf")

    # 5. The signatory validates version 2 and answers the satisfaction questionnaire.
    signatory.reload()
    deliverable(signatory).get_by_role("button", name="Valider le livrable").click()
    expect(flash(signatory)).to_have_text(f"« {FINAL_TITLE} » : Validé par la collectivité.")
    expect(deliverable(signatory)).to_have_attribute("data-state", "accepted_by_applicant")
    expect(deliverable(signatory)).to_contain_text(f"par {SIGNATORY}")
    signatory.get_by_role("link", name="Répondre au questionnaire de satisfaction").first.click()
    expect(signatory.get_by_role("heading", level=1)).to_have_text("Questionnaire de satisfaction")
    ratings = {
        "Qualité du travail de l'expert": "4",
        "Respect des délais": "3",
        "Pertinence des recommandations": "5",
        "Satisfaction globale": "4",
    }
    for question, mark in ratings.items():
        signatory.get_by_role("group", name=question).get_by_label(mark, exact=True).check()
    signatory.get_by_label("Commentaire (facultatif)").fill(SATISFACTION_COMMENT)
    signatory.get_by_role("button", name="Enregistrer ma réponse").click()
    expect(flash(signatory)).to_contain_text(
        "votre réponse au questionnaire de satisfaction est enregistrée"
    )
    expect(signatory.locator("#notes dd")).to_have_text(
        ["4/5", "3/5", "5/5", "4/5", SATISFACTION_COMMENT]
    )

    # 6. CUF's manager validates the deliverable, computes the final cofinancing and closes.
    manager = new_page()
    log_in(manager, support["manager"])
    open_follow_up(manager, reference)
    deliverable(manager).get_by_role("button", name="Valider pour Cités Unies France").click()
    expect(flash(manager)).to_have_text(f"« {FINAL_TITLE} » : Validé par CUF.")
    expect(deliverable(manager)).to_have_attribute("data-state", "validated")
    cost_rows = manager.locator("table.actual-costs tbody tr")
    expect(cost_rows).to_have_count(4)
    # Actual against planned: days, mission costs, total cost, the scheme's share.
    expect(cost_rows.nth(0).get_by_role("cell")).to_contain_text(["6,5", "10"])
    expect(cost_rows.nth(1).get_by_role("cell")).to_contain_text(["245,80 €", "1 000,00 €"])
    expect(cost_rows.nth(2).get_by_role("cell")).to_contain_text(["6 745,80 €", "11 000,00 €"])
    expect(cost_rows.nth(3).get_by_role("cell")).to_contain_text(["à calculer", "8 800,00 €"])
    manager.get_by_role("button", name="Calculer le cofinancement définitif").click()
    # 6 500 € of days and 245,80 € of expenses, both within the agreement: 80 % of 6 745,80 €.
    expect(flash(manager)).to_have_text(
        "Le cofinancement définitif est calculé : 5 396,64 € à la charge du dispositif."
    )
    expect(cost_rows.nth(3).get_by_role("cell")).to_contain_text(["5 396,64 €", "8 800,00 €"])
    expect(manager.locator("#cofinancement-definitif")).to_be_visible()
    closing = manager.locator("form#cloturer")
    expect(closing.locator("ul.unmet")).to_have_count(0)  # nothing missing any more
    closing.get_by_label("Commentaire").fill(CLOSING_COMMENT)
    closing.get_by_role("button", name="Clôturer").click()
    expect(flash(manager)).to_have_text(
        "Le dossier est clôturé : le bilan de clôture est disponible."
    )
    expect(manager.locator("#etat-dossier")).to_have_text("Clôturé")
    expect(manager.locator("#lecture-seule")).to_contain_text("Le suivi est en lecture seule")
    expect(manager.locator("form#cloturer")).to_have_count(0)
    expect(manager.locator("form#calculer-definitif")).to_have_count(0)

    # 7. The closure report, downloaded from the page and read back.
    with manager.expect_download() as download:
        manager.get_by_role("link", name="Télécharger le bilan de clôture (PDF)").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.name == f"bilan-de-cloture-{reference}.pdf"
    text = pdf_text(path.read_bytes())
    for expected in (
        f"Bilan de clôture Dossier {reference}",
        f"par {MANAGER}.",
        # days and costs: planned, actual, difference
        "Nombre de jours d'expertise au tarif journalier de 1 000,00 € HT 10 6,5 -3,5",
        "Jours d'expertise 10 000,00 € 6 500,00 € -3 500,00 €",
        "Frais de mission et de déplacement 1 000,00 € 245,80 € -754,20 €",
        "Coût total 11 000,00 € 6 745,80 € -4 254,20 €",
        # the cofinancing in the agreement, then the final one on the actual costs
        "Coût retenu 11 000,00 € 6 745,80 € -4 254,20 €",
        "Taux 80 % 80 % 0",
        "Prise en charge Cités Unies France 8 800,00 € 5 396,64 € -3 403,36 €",
        "Reste à charge de la collectivité 2 200,00 € 1 349,16 € -850,84 €",
        # the reports, the deliverable, the questionnaire
        f"Rapports déposés 2 Jours déclarés 6,5 Missions de terrain 1 — {FIELD_PLACE}",
        "Frais de mission déclarés 245,80 €",
        f"{FINAL_TITLE} livrable final 2 Validé par CUF",
        "Qualité du travail de l'expert 4/5 Respect des délais 3/5 "
        "Pertinence des recommandations 5/5 Satisfaction globale 4/5",
        f"{SATISFACTION_COMMENT} Répondu le",
        f"par {SIGNATORY}.",
    ):
        assert expected in text, (expected, text)
    assert re.search("Rapport final déposé .*En cours .*Rapport final déposé .*Clôturé", text)

    # The expert's page, too, says the support is closed and read-only.
    page.reload()
    expect(page.locator("#lecture-seule")).to_contain_text(
        "Le suivi est en lecture seule : plus aucun rapport, livrable ni modification du plan "
        "ne peut être enregistré."
    )
    expect(page.get_by_role("link", name="Nouveau rapport")).to_have_count(0)
    expect(page.get_by_role("link", name="Déposer un livrable")).to_have_count(0)

    # What the database keeps.
    with live_server.app.app_context():
        application = db.session.get(Application, support["id"])
        assert application.state is S.CLOSED and application.closed_at is not None
        mission = mission_of(application)
        logged = db.session.scalars(
            sa.select(MissionReport)
            .where(MissionReport.mission_id == mission.id)
            .order_by(MissionReport.report_date)
        ).all()
        assert [r.days_spent for r in logged] == [D("3.00"), D("3.50")]
        assert [r.field_location for r in logged] == ["", FIELD_PLACE]
        expense = db.session.scalars(sa.select(Expense)).one()
        assert (expense.label, expense.amount) == (EXPENSE, D("245.80"))
        assert expense.receipt.original_name == "billet-train.pdf"
        final = db.session.scalars(
            sa.select(Deliverable).where(Deliverable.mission_id == mission.id)
        ).one()
        assert final.is_final and final.version == 2
        assert final.state is DeliverableState.VALIDATED
        assert final.current_file.original_name == "plan-action-v2.pdf"
        satisfaction = db.session.get(Satisfaction, mission.id)
        assert (
            satisfaction.quality,
            satisfaction.timeliness,
            satisfaction.relevance,
            satisfaction.overall,
        ) == (4, 3, 5, 4)
        closed = db.session.scalars(
            sa.select(AuditEvent).where(
                AuditEvent.application_id == application.id, AuditEvent.to_state == S.CLOSED.value
            )
        ).one()
        assert closed.comment == CLOSING_COMMENT
        assert (
            db.session.scalar(
                sa.select(sa.func.count(Document.id)).where(
                    Document.application_id == application.id,
                    Document.kind == DocumentKind.CLOSURE_REPORT,
                )
            )
            == 1
        )
        db.session.remove()
