"""The collectivités' space end to end, through a real browser: an officer registers their commune,
CUF validates it, the officer checks eligibility, fills the dossier over several sessions, uploads
the documents, deposits it and reads the receipt; CUF asks for changes, the officer corrects and
deposits again, and CUF sees what changed between the two deposits."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader
from stdnum import luhn

from dcol.applications.services import create_application
from dcol.extensions import db
from dcol.models import Call, CallKind, DocumentRequirement, Role
from tests import factories as f
from tests import workflow_support as ws
from tests.browser.conftest import TIMEOUT_MS
from tests.conftest import empty_database
from tests.document_files import pdf_bytes

pytestmark = pytest.mark.browser

PARIS = ZoneInfo("Europe/Paris")
MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)

# The call, as the Isère department could open it: communes are eligible, at 80 %.
CALL_TITLE = "Appel à projets 2026 — Coopération culturelle avec l'Arménie et le Sénégal"
TRACK = "Coopération culturelle internationale"  # covers Armenia and Senegal only
DELIBERATION = "Délibération ou lettre de l'exécutif"
PARTNER_LETTER = "Lettre d'intention du partenaire"

# The commune, unknown to DCOL until its officer registers it.
BASE = "21380563"  # "21", then the commune's INSEE code, as for every French commune
SIREN = BASE + luhn.calc_check_digit(BASE)
COMMUNE = "Commune de Voiron"
OFFICER = "Léa Fontaine"
OFFICER_EMAIL = "lea.fontaine@voiron.example"
OFFICER_PASSWORD = "Gyumri-Voiron-2026!"
JOB = "Chargée de mission relations internationales"
MANAGER = "Sophie Laurent"
MANAGER_EMAIL = "sophie.laurent@cuf.example"

TITLE = "Jeunes artistes entre Voiron et Gyumri"
SUMMARY = "Échanges culturels entre les jeunesses de deux villes jumelles."
PARTNERS = "Ville de Gyumri (Arménie), école d'art de Gyumri"
OBJECTIVES = "Faire se rencontrer les jeunes artistes des deux villes."
ACTIVITIES = "Résidences croisées de jeunes artistes à Voiron et à Gyumri."
ACTIVITIES_CORRECTED = "Résidences croisées, puis une exposition commune à Gyumri."
CHANGES_ASKED = "Joindre la délibération signée et préciser la restitution des résidences."


@pytest.fixture(scope="module")
def open_call(live_server) -> int:
    """The id of an open call for projects whose rules admit communes, with its track, checklist,
    cofinancing rule and envelope, and the CUF manager who runs it; committed so that the server's
    threads see them, and emptied afterwards for the other tests."""
    with live_server.app.app_context():
        manager = f.make_user(Role.MANAGER, email=MANAGER_EMAIL)
        manager.full_name = MANAGER
        call = ws.make_call_for(CallKind.AAP)
        call.title = CALL_TITLE
        call.owner_name = "Département de l'Isère"
        call.tracks[0].name = TRACK
        call.document_requirements[0].label = DELIBERATION
        call.document_requirements.append(
            DocumentRequirement(code="partner_letter", label=PARTNER_LETTER, position=2)
        )
        db.session.commit()
        call_id = call.id
        db.session.remove()
    try:
        yield call_id
    finally:
        with live_server.app.app_context():
            db.session.rollback()
            empty_database()
            db.session.remove()


# --- small steps ------------------------------------------------------------------------------


def paris_moment(moment: datetime) -> str:
    """``3 décembre 2024 à 23:59``, computed here independently of the app's formatting."""
    local = moment.astimezone(PARIS)
    return f"{local.day} {MONTHS[local.month - 1]} {local.year} à {local:%H:%M}"


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def flash(page: Page):
    """The flashed messages (the dossier form has a status region of its own: the autosave's)."""
    return page.get_by_role("status").filter(has=page.locator(".flash"))


def autosave_status(page: Page):
    return page.get_by_role("status").filter(has_not=page.locator(".flash"))


def log_in(page: Page, email: str, password: str) -> None:
    page.goto("/connexion")
    page.get_by_label("Adresse e-mail", exact=True).fill(email)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Bonjour "))


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")


def menu(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name=name).click()


def dossier_nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Sections du dossier").get_by_role(
        "link", name=name, exact=True
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Pièces du dossier" if name == "Pièces" else name
    )
    page.wait_for_load_state()  # the form's script is ready for what is typed next


def save_draft(page: Page) -> None:
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(flash(page)).to_contain_text("Section enregistrée.")
    page.wait_for_load_state()  # the form's script is ready for what is typed next


def save_and_continue(page: Page, next_heading: str) -> None:
    page.get_by_role("button", name="Enregistrer et continuer").click()
    expect(flash(page)).to_contain_text("Section enregistrée.")
    expect(page.get_by_role("heading", level=1)).to_have_text(next_heading)
    page.wait_for_load_state()


def upload(page: Page, requirement: str, name: str, content: bytes) -> None:
    field = page.get_by_label(f"Fichier pour « {requirement} »")
    field.set_input_files({"name": name, "mimeType": "application/pdf", "buffer": content})
    page.get_by_role("button", name=f"Envoyer le fichier pour « {requirement} »").click()
    expect(flash(page)).to_contain_text(f"Pièce « {name} » enregistrée.")
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=requirement))
    expect(row.get_by_role("link", name=name)).to_be_visible()
    expect(row).to_contain_text(sha256(content)[:12])


def open_dossier(page: Page, reference: str) -> None:
    menu(page, "Dossiers")
    page.get_by_role("link", name=reference, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(reference)


# --- the journey's stages ---------------------------------------------------------------------


def register_the_commune(page: Page) -> None:
    page.goto("/connexion")
    page.get_by_role("link", name="Créer un compte").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Créer un compte pour votre collectivité"
    )
    # As printed on the INSEE notice, with spaces.
    page.get_by_label("Numéro SIREN de votre organisation").fill(
        f"{SIREN[:3]} {SIREN[3:6]} {SIREN[6:]}"
    )
    page.get_by_label("Nom de l'organisation").fill(COMMUNE)
    page.get_by_label("Nature de l'organisation").select_option(label="Commune")
    page.get_by_label("Région").select_option(label="Auvergne-Rhône-Alpes")
    page.get_by_label("Numéro du département").fill("38")
    page.get_by_label("Population (nombre d'habitants)").fill("20 000")
    page.get_by_label("Prénom et nom").fill(OFFICER)
    page.get_by_label("Fonction").fill(JOB)
    page.get_by_label("Adresse e-mail professionnelle").fill(OFFICER_EMAIL)
    page.get_by_label("Mot de passe", exact=True).fill(OFFICER_PASSWORD)
    page.get_by_label("Confirmation du mot de passe").fill(OFFICER_PASSWORD)
    page.get_by_role("button", name="Demander mon inscription").click()

    expect(flash(page)).to_contain_text("Votre demande d'inscription est enregistrée.")
    menu(page, "Mon organisation")
    expect(page.get_by_role("main")).to_contain_text(
        "Votre compte est en attente de validation par Cités Unies France."
    )
    log_out(page)


def validate_the_registration(cuf: Page) -> None:
    log_in(cuf, MANAGER_EMAIL, f.PASSWORD)
    menu(cuf, "Inscriptions à valider")
    card = cuf.get_by_role("article", name=COMMUNE)
    expect(card).to_contain_text(SIREN)
    expect(card).to_contain_text("Commune")
    # The first person of a new organisation is proposed as its signatory (who deposits).
    signatory = card.get_by_label("Signataire (dépose et signe au nom de l'organisation)")
    expect(signatory).to_be_checked()
    card.get_by_role("button", name=f"Valider le compte — {OFFICER}").click()
    expect(flash(cuf)).to_contain_text(f"Le compte de {OFFICER} ({COMMUNE}) est validé.")
    expect(cuf.get_by_text("Aucune inscription en attente.")).to_be_visible()


def check_eligibility(page: Page) -> str:
    """Returns the reference of the dossier created once eligible."""
    log_in(page, OFFICER_EMAIL, OFFICER_PASSWORD)
    menu(page, "Appels ouverts")
    page.get_by_role("link", name=CALL_TITLE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(CALL_TITLE)
    rates = page.get_by_role("table", name="Taux de prise en charge par type d'organisation")
    expect(rates.get_by_role("row", name="Commune (votre organisation) 80 %")).to_be_visible()
    page.get_by_role("link", name="Vérifier mon éligibilité et créer un dossier").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Vérifier mon éligibilité")
    page.get_by_label(TRACK).check()
    # The ~250 countries: a few letters (without accents), then the one wanted in the list.
    countries = page.get_by_role("combobox", name="Pays où se déroule l'action")
    countries.fill("viet")
    page.get_by_role("option", name="Viêt Nam").click()
    chosen = page.get_by_role("list", name="Pays choisis")
    expect(chosen.get_by_role("listitem")).to_have_text(["Viêt Nam×"])
    page.get_by_role("button", name="Vérifier et créer le dossier").click()
    expect(page.get_by_role("alert")).to_contain_text(
        f"Le volet « {TRACK} » ne couvre pas : Viêt Nam."
    )
    expect(chosen.get_by_role("listitem")).to_have_text(["Viêt Nam×"])  # kept, to be corrected

    # With the keyboard only: remove it, then type and choose with Enter.
    chosen.get_by_role("button", name="Retirer Viêt Nam").press("Enter")
    expect(chosen.get_by_role("listitem")).to_have_count(0)
    expect(countries).to_be_focused()
    countries.press_sequentially("armen")
    countries.press("Enter")
    expect(chosen.get_by_role("listitem")).to_have_text(["Arménie×"])
    page.get_by_role("button", name="Vérifier et créer le dossier").click()
    created = re.compile(r"Votre dossier (\S+) est créé")
    expect(flash(page)).to_contain_text(created)
    expect(page.get_by_role("heading", level=1)).to_have_text("Présentation du projet")
    page.wait_for_load_state()
    return created.search(flash(page).inner_text()).group(1)


def fill_the_dossier_across_sessions(page: Page, reference: str) -> None:
    # First session: the presentation, saved as a draft; the pre-check's track is kept.
    expect(page.get_by_label("Volet").locator("option:checked")).to_have_text(TRACK)
    page.get_by_label("Titre du projet").fill(TITLE)
    page.get_by_label("Résumé").fill(SUMMARY)
    save_draft(page)
    log_out(page)

    # Second session: the draft is still there.
    log_in(page, OFFICER_EMAIL, OFFICER_PASSWORD)
    page.get_by_role("link", name=re.compile(re.escape(reference))).click()
    page.get_by_role("link", name="Compléter le dossier").click()
    expect(page.get_by_label("Titre du projet")).to_have_value(TITLE)
    expect(page.get_by_label("Résumé")).to_have_value(SUMMARY)

    # Typing is saved without clicking anything: the status says so, and a reload shows it.
    dossier_nav(page, "Le projet")
    expect(page.get_by_role("list", name="Pays choisis")).to_have_text("Arménie×")
    page.get_by_label("Partenaires").fill(PARTNERS)
    expect(autosave_status(page)).to_contain_text("Brouillon enregistré automatiquement")
    page.reload()
    expect(page.get_by_label("Partenaires")).to_have_value(PARTNERS)

    # Leaving with unsaved typing (the browser's Back button) asks first; the officer stays.
    # (Chromium asks only after a real gesture on the page: type with the keyboard.)
    objectives = page.get_by_label("Objectifs")
    objectives.press_sequentially(OBJECTIVES)
    page.once("dialog", lambda dialog: dialog.dismiss())
    with page.expect_event("dialog") as leaving:
        page.evaluate("history.back()")
    assert leaving.value.type == "beforeunload"
    expect(page.get_by_role("heading", level=1)).to_have_text("Le projet")
    expect(objectives).to_have_value(OBJECTIVES)

    page.get_by_label("Activités prévues").fill(ACTIVITIES)
    save_and_continue(page, "Budget prévisionnel")

    page.get_by_label("Montant de subvention demandé, en euros").fill("8000")
    lines = [
        ("Dépense", "Résidences d'artistes", "10000"),
        ("Recette", "Subvention demandée", "8000"),
        ("Recette", "Fonds propres de la commune", "2000"),
    ]
    for number, (kind, label, amount) in enumerate(lines, start=1):
        page.get_by_label(f"Type de la ligne {number}").select_option(label=kind)
        page.get_by_label(f"Intitulé de la ligne {number}").fill(label)
        page.get_by_label(f"Montant de la ligne {number}").fill(amount)
        if number < len(lines):
            save_draft(page)  # each save brings a new empty line
    save_and_continue(page, "Personne à contacter")

    page.get_by_label("Nom et prénom").fill(OFFICER)
    page.get_by_label("Fonction").fill(JOB)
    page.get_by_label("Adresse e-mail", exact=True).fill(OFFICER_EMAIL)
    save_and_continue(page, "Récapitulatif et dépôt")
    for section in (
        "Présentation du projet",
        "Le projet",
        "Budget prévisionnel",
        "Personne à contacter",
    ):
        expect(
            page.get_by_role("navigation", name="Sections du dossier")
            .get_by_role("listitem")
            .filter(has=page.get_by_role("link", name=section, exact=True))
        ).to_contain_text("complet")
    expect(documents_badge(page)).to_contain_text("0 sur 2")  # the documents are still missing


def documents_badge(page: Page):
    return (
        page.get_by_role("navigation", name="Sections du dossier")
        .get_by_role("listitem")
        .filter(has=page.get_by_role("link", name="Pièces", exact=True))
    )


def upload_documents(page: Page, documents: dict[str, tuple[str, bytes]]) -> None:
    dossier_nav(page, "Pièces")
    for requirement, (name, content) in documents.items():
        upload(page, requirement, name, content)


def deposit(page: Page, number: int) -> None:
    dossier_nav(page, "Récapitulatif et dépôt")
    expect(page.get_by_role("region", name="Le projet")).to_contain_text(PARTNERS)
    expect(page.get_by_text("Le dossier est complet.")).to_be_visible()
    page.get_by_role("button", name="Déposer le dossier").click()
    expect(flash(page)).to_contain_text("le dossier est maintenant à l'état « Déposé »")
    deposits = page.get_by_role("region", name="Dépôts").get_by_role("listitem")
    expect(deposits).to_have_count(number)


def receipt_text(page: Page, number: int, tmp_path) -> str:
    """The text of the receipt of deposit ``number``, downloaded from the dossier's page."""
    deposits = page.get_by_role("region", name="Dépôts").get_by_role("listitem")
    with page.expect_download() as download:
        deposits.nth(number - 1).get_by_role("link", name="accusé de réception").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    return " ".join(" ".join(p.extract_text() for p in reader.pages).split())


def request_changes(cuf: Page, reference: str) -> str:
    """CUF asks for changes, to be made within two weeks; returns the deadline as shown."""
    open_dossier(cuf, reference)
    day = (datetime.now(PARIS) + timedelta(days=14)).date()
    cuf.get_by_label("Date limite de réponse").fill(day.isoformat())
    cuf.get_by_label("Ce qu'il faut compléter").fill(CHANGES_ASKED)
    cuf.get_by_role("button", name="Demander des compléments").click()
    expect(flash(cuf)).to_contain_text("le dossier est maintenant à l'état « À compléter »")
    return paris_moment(datetime(day.year, day.month, day.day, 23, 59, tzinfo=PARIS))


# --- the tests --------------------------------------------------------------------------------


@pytest.mark.usefixtures("open_call")
def test_commune_registers_applies_deposits_corrects_and_cuf_sees_what_changed(
    page: Page, new_page, tmp_path
):
    register_the_commune(page)
    cuf = new_page()  # CUF's manager, in a browser of her own
    validate_the_registration(cuf)

    reference = check_eligibility(page)
    fill_the_dossier_across_sessions(page, reference)
    deliberation = pdf_bytes("Délibération du conseil municipal de Voiron")
    partner_letter = pdf_bytes("Lettre d'intention de la Ville de Gyumri")
    upload_documents(
        page,
        {
            DELIBERATION: ("deliberation.pdf", deliberation),
            PARTNER_LETTER: ("lettre-gyumri.pdf", partner_letter),
        },
    )
    expect(documents_badge(page)).to_contain_text("complet")
    deposit(page, number=1)

    receipt = receipt_text(page, 1, tmp_path)
    assert "Accusé de réception" in receipt and reference in receipt
    assert sha256(deliberation) in receipt and sha256(partner_letter) in receipt

    deadline = request_changes(cuf, reference)

    # The officer sees what to complete, and by when.
    page.reload()
    next_step = page.get_by_role("note")
    expect(next_step).to_contain_text(
        "Apporter les compléments demandés et déposer à nouveau le dossier."
    )
    expect(next_step).to_contain_text(f"Échéance : {deadline} (heure de Paris).")
    expect(next_step).to_contain_text(CHANGES_ASKED)

    page.get_by_role("link", name="Compléter le dossier").click()
    dossier_nav(page, "Le projet")
    asked = page.get_by_role("note", name="Compléments demandés par Cités Unies France")
    expect(asked).to_contain_text(f"À déposer avant le {deadline}")
    expect(asked).to_contain_text(CHANGES_ASKED)  # without going back to the dossier's page
    page.get_by_label("Activités prévues").fill(ACTIVITIES_CORRECTED)
    save_draft(page)
    signed = pdf_bytes("Délibération du conseil municipal de Voiron, signée")
    upload_documents(page, {DELIBERATION: ("deliberation-signee.pdf", signed)})
    deposit(page, number=2)

    # CUF sees what changed between the two deposits: one answer and one document.
    cuf.reload()
    cuf.get_by_role("region", name="Dépôts").get_by_role("link", name="ce qui a changé").click()
    expect(cuf.get_by_role("heading", level=1)).to_have_text(
        "Ce qui a changé entre le dépôt n° 1 et le dépôt n° 2"
    )
    answers = cuf.get_by_role("table").get_by_role("row")
    expect(answers).to_have_count(2)  # the header, and the one answer that changed
    changed = answers.filter(has=cuf.get_by_role("rowheader", name="Activités prévues"))
    expect(changed.get_by_role("cell")).to_have_text([ACTIVITIES, ACTIVITIES_CORRECTED])
    main = cuf.get_by_role("main")
    expect(main).to_contain_text(
        f"Remplacée : {DELIBERATION} — deliberation.pdf {sha256(deliberation)[:12]}… → "
        f"deliberation-signee.pdf {sha256(signed)[:12]}…"
    )
    expect(main).not_to_contain_text("Ajoutée")
    expect(main).not_to_contain_text("lettre-gyumri.pdf")  # unchanged


@pytest.fixture
def officer_with_draft(live_server, open_call):
    """A validated signatory of another commune, and their fresh draft on the open call."""
    with live_server.app.app_context():
        organisation = f.make_organisation("Commune de Moirans")
        officer = f.make_user(Role.APPLICANT, organisation=organisation, signatory=True)
        call = db.session.get(Call, open_call)
        application = create_application(call, officer, track=call.tracks[0])
        db.session.commit()
        ids = officer.email, application.id
        db.session.remove()
    return ids


def test_saving_right_after_typing_saves_the_typing(page: Page, officer_with_draft):
    email, application_id = officer_with_draft
    log_in(page, email, f.PASSWORD)
    page.goto(f"/dossiers/{application_id}/formulaire/general")
    page.get_by_label("Titre du projet").fill("Résidences d'artistes")

    # On a real network the autosave (sent on mousedown, when the field loses focus) reaches the
    # server first, and its answer (the new version) comes back after the form's post (sent on
    # click) has left. On localhost they tie: hold the autosave's answer until the click is done.
    held = []

    def hold_autosave_answer(route) -> None:
        if route.request.headers.get("x-autosave") == "1":
            held.append((route, route.fetch()))
        else:
            route.continue_()

    page.route(f"**/dossiers/{application_id}/formulaire/general", hold_autosave_answer)
    page.get_by_role("button", name="Enregistrer le brouillon").hover()
    page.mouse.down()
    if autosave_status(page).inner_text().startswith("Enregistrement"):
        for _ in range(TIMEOUT_MS // 20):  # until the autosave has reached the server
            if held:
                break
            page.wait_for_timeout(20)
        assert held, "the autosave never reached the server"
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.request.resource_type == "document"
    ) as posted:
        page.mouse.up()
        for route, answer in held:
            route.fulfill(response=answer)

    assert posted.value.status == 302, f"the save button's post answered {posted.value.status}"
    expect(flash(page)).to_contain_text("Section enregistrée.")
    expect(page.get_by_label("Titre du projet")).to_have_value("Résidences d'artistes")
