"""Saving the dossier's form without losing anything: versions across autosaves and buttons, saves
that race, amounts typed the French way, half-typed budget lines; what the form pages tell the
officer (what CUF asked for, the documents still missing), what CUF reads of a corrected deposit,
and the accessibility of these pages."""

from __future__ import annotations

import io
import re
from contextlib import contextmanager
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_babel import refresh
from werkzeug.datastructures import FileStorage

from dcol.accounts.services import create_api_token
from dcol.applications.services import (
    create_application,
    parse_amount,
    replace_budget,
    update_application,
)
from dcol.documents.services import store_upload
from dcol.extensions import db
from dcol.models import (
    Application,
    ApplicationState,
    CallKind,
    DocumentKind,
    OrganisationKind,
    Role,
    Track,
)
from tests import factories as f
from tests import workflow_support as ws
from tests.document_files import pdf_bytes
from workflows.engine import StaleVersion

S = ApplicationState
INVALID_AMOUNT = "Montant invalide : indiquez un nombre en euros, par exemple 12 500,00."


def login(client, user):
    response = client.post("/connexion", data={"email": user.email, "password": f.PASSWORD})
    assert response.status_code == 302


def signatory():
    organisation = f.make_organisation("Commune de Thorey-Lyautey", kind=OrganisationKind.COMMUNE)
    user = f.make_user(Role.APPLICANT, organisation=organisation, signatory=True)
    db.session.commit()
    return user


def draft(kind: CallKind, user) -> Application:
    call = ws.make_call_for(kind)
    application = create_application(call, user, track=call.tracks[0])
    db.session.commit()
    return application


def version_in(page: str) -> int:
    return int(re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1))


@contextmanager
def saved_meanwhile(application_id: int):
    """Someone else's save lands between the moment a request reads the dossier and the moment
    it writes: the first flush of the dossier finds its version moved on (StaleDataError)."""
    done = []

    def bump(session, flush_context, instances):
        if done or not any(isinstance(o, Application) for o in session.dirty):
            return
        done.append(True)
        session.connection().execute(
            sa.text("UPDATE applications SET version = version + 1 WHERE id = :id"),
            {"id": application_id},
        )

    sa.event.listen(db.session, "before_flush", bump)
    try:
        yield done
    finally:
        sa.event.remove(db.session, "before_flush", bump)


# --- versions: a save after an autosave, saves that race ------------------------------------


def test_refused_save_shows_the_current_version_and_keeps_the_typing(client, app):
    user = signatory()
    application = draft(CallKind.DCOL, user)
    login(client, user)
    read = application.version
    url = f"/dossiers/{application.id}/formulaire/general"
    autosaved = client.post(url, data={"version": read, "title": "Premier titre"},
                            headers={"X-Autosave": "1"})
    assert autosaved.status_code == 200

    response = client.post(url, data={"version": read, "title": "Titre corrigé", "next": ""})
    assert response.status_code == 412
    page = response.get_data(as_text=True)
    assert 'value="Titre corrigé"' in page  # what was typed is kept
    assert version_in(page) == autosaved.json["version"]  # to be saved over the current one
    assert "Vos saisies sont conservées ci-dessous." in page

    again = client.post(url, data={"version": version_in(page), "title": "Titre corrigé",
                                   "next": ""})
    assert again.status_code == 302
    db.session.expire_all()
    assert application.title == "Titre corrigé"


def test_invalid_input_shows_the_current_version(client, app):
    user = signatory()
    application = draft(CallKind.DCOL, user)
    login(client, user)
    url = f"/dossiers/{application.id}/formulaire/contact"
    response = client.post(url, data={"version": application.version, "contact_name": "Camille",
                                      "contact_email": "pas-une-adresse", "next": ""})
    assert response.status_code == 422
    db.session.expire_all()
    assert version_in(response.get_data(as_text=True)) == application.version


def test_update_racing_another_save_raises_stale_version(app):
    user = signatory()
    application = draft(CallKind.DCOL, user)
    with saved_meanwhile(application.id) as raced, pytest.raises(StaleVersion) as refusal:
        update_application(application, user, {"title": "Autre titre"},
                           expected_version=application.version)
    assert raced and "modifié entre-temps" in refusal.value.message
    db.session.rollback()


def test_budget_racing_another_save_raises_stale_version(app):
    user = signatory()
    application = draft(CallKind.AAP, user)
    with saved_meanwhile(application.id) as raced, pytest.raises(StaleVersion):
        replace_budget(application, user, [{"kind": "expense", "label": "Résidences",
                                            "amount": "1000", "is_eligible": True}])
    assert raced
    db.session.rollback()


def test_replace_budget_checks_the_version_read(app):
    user = signatory()
    application = draft(CallKind.AAP, user)
    with pytest.raises(StaleVersion):
        replace_budget(application, user, [], expected_version=application.version - 1)


@pytest.mark.parametrize("autosave", [True, False], ids=["autosave", "button"])
def test_racing_saves_answer_412_not_500(client, app, autosave):
    user = signatory()
    application = draft(CallKind.AAP, user)
    login(client, user)
    data = {"version": application.version, "requested_amount": "8000",
            "lines-0-kind": "expense", "lines-0-label": "Résidences", "lines-0-amount": "1000",
            "next": ""}
    headers = {"X-Autosave": "1"} if autosave else {}
    with saved_meanwhile(application.id) as raced:
        response = client.post(f"/dossiers/{application.id}/formulaire/budget", data=data,
                               headers=headers)
    assert raced and response.status_code == 412
    text = response.json["error"] if autosave else response.get_data(as_text=True)
    assert "modifié entre-temps" in text
    db.session.expire_all()
    assert application.requested_amount is None and application.budget_lines == []


def test_api_update_racing_another_save_answers_412(client, app):
    user = signatory()
    application = draft(CallKind.DCOL, user)
    headers = {"Authorization": f"Bearer {create_api_token(user, 'tests')}"}
    db.session.commit()
    with saved_meanwhile(application.id) as raced:
        response = client.patch(f"/api/v1/applications/{application.id}", headers=headers,
                                json={"version": application.version, "title": "Autre titre"})
    assert raced and response.status_code == 412
    assert response.mimetype == "application/problem+json"


# --- amounts --------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "amount"), [
    ("8000", "8000.00"),
    ("8000,50", "8000.50"),
    ("8 000", "8000.00"),
    ("8 000,50", "8000.50"),
    ("8\xa0000,50", "8000.50"),
    ("8\u202f000,50", "8000.50"),
    (" 12 500,5 ", "12500.50"),
    ("12500.50", "12500.50"),
    ("12,500.50", "12500.50"),
    ("12.500,50", "12500.50"),
    (Decimal("99.9"), "99.90"),
    ("", None),
])
def test_amounts_are_read_as_people_type_them(typed, amount):
    assert parse_amount(typed) == (Decimal(amount) if amount else None)


@pytest.mark.parametrize(("typed", "message"), [
    ("douze", INVALID_AMOUNT),
    ("12 500 €uros", INVALID_AMOUNT),
    ("1e5", INVALID_AMOUNT),
    ("8,000", "Montant invalide : deux décimales au plus (les centimes)."),
    ("-5", "Montant invalide : il doit être positif."),
    ("99999999999", "Montant invalide : il est trop élevé."),
])
def test_what_is_not_an_amount_gets_one_message(app, typed, message):
    with pytest.raises(ValueError) as refusal:
        parse_amount(typed)
    assert str(refusal.value) == message


def test_french_amounts_are_saved_and_shown_back_the_french_way(client, app):
    user = signatory()
    application = draft(CallKind.AAP, user)
    login(client, user)
    url = f"/dossiers/{application.id}/formulaire/budget"
    response = client.post(url, data={
        "version": application.version, "requested_amount": "8\u202f000,50",
        "lines-0-kind": "expense", "lines-0-label": "Résidences", "lines-0-amount": "10 000",
        "lines-0-is_eligible": "y",
        "lines-1-kind": "income", "lines-1-label": "Subvention", "lines-1-amount": "8\xa0000,50",
        "next": ""})
    assert response.status_code == 302
    db.session.expire_all()
    assert application.requested_amount == Decimal("8000.50")
    assert [line.amount for line in application.budget_lines] == [Decimal("10000.00"),
                                                                   Decimal("8000.50")]
    page = client.get(url).get_data(as_text=True)
    assert 'value="8\u202f000,50"' in page and 'value="10\u202f000,00"' in page
    assert "8000.50" not in page


def test_amounts_are_shown_back_the_english_way_in_english(client, app):
    user = signatory()
    application = draft(CallKind.AAP, user)
    application.requested_amount = Decimal("8000.50")
    db.session.commit()
    login(client, user)
    client.get("/langue/en")
    refresh()  # the requests share the test's application context, where the locale is kept
    page = client.get(f"/dossiers/{application.id}/formulaire/budget").get_data(as_text=True)
    assert 'value="8,000.50"' in page
    response = client.post(f"/dossiers/{application.id}/formulaire/budget", data={
        "version": application.version, "requested_amount": "8,000.50", "lines-0-kind": "expense",
        "next": ""})
    assert response.status_code == 302
    db.session.expire_all()
    assert application.requested_amount == Decimal("8000.50")


@pytest.mark.parametrize("field", ["requested_amount", "lines-0-amount"])
def test_an_unreadable_amount_gets_one_clear_message(client, app, field):
    user = signatory()
    application = draft(CallKind.AAP, user)
    login(client, user)
    data = {"version": application.version, "lines-0-kind": "expense",
            "lines-0-label": "Résidences", "lines-0-amount": "1000", "next": ""}
    data[field] = "douze mille"
    response = client.post(f"/dossiers/{application.id}/formulaire/budget", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert page.count(INVALID_AMOUNT) == 2  # in the list of errors, and at the field
    assert "doit être positif" not in page
    assert 'value="douze mille"' in page  # kept, to be corrected
    db.session.expire_all()
    assert application.budget_lines == []


# --- half-typed budget lines ----------------------------------------------------------------


def test_autosave_leaves_out_a_half_typed_budget_line_and_saves_the_rest(client, app):
    user = signatory()
    application = draft(CallKind.AAP, user)
    login(client, user)
    response = client.post(f"/dossiers/{application.id}/formulaire/budget", data={
        "version": application.version, "requested_amount": "8000",
        "lines-0-kind": "expense", "lines-0-label": "Résidences", "lines-0-amount": "10000",
        "lines-1-kind": "income", "lines-1-label": "Subvention demandée", "lines-1-amount": "",
        "lines-2-kind": "income", "lines-2-label": "", "lines-2-amount": ""},
        headers={"X-Autosave": "1"})
    assert response.status_code == 200, response.json
    assert response.json["incomplete_lines"] == 1
    db.session.expire_all()
    assert application.requested_amount == Decimal("8000.00")
    assert [(line.label, line.amount) for line in application.budget_lines] == [
        ("Résidences", Decimal("10000.00"))]


@pytest.mark.parametrize(("label", "amount", "message"), [
    ("Subvention demandée", "", "Indiquez le montant de cette ligne."),
    ("", "2000", "Indiquez l&#39;intitulé de cette ligne."),
])
def test_button_refuses_a_half_typed_budget_line_and_says_which(client, app, label, amount,
                                                                 message):
    user = signatory()
    application = draft(CallKind.AAP, user)
    login(client, user)
    response = client.post(f"/dossiers/{application.id}/formulaire/budget", data={
        "version": application.version, "requested_amount": "8000",
        "lines-0-kind": "expense", "lines-0-label": "", "lines-0-amount": "",  # left empty
        "lines-1-kind": "income", "lines-1-label": label, "lines-1-amount": amount, "next": ""})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    # Said on the line typed (the second), not on the empty one above it.
    assert re.search(rf'<p class="error" id="lines-1-error">{message}</p>', page)
    assert 'id="lines-0-error"' not in page
    assert "Ligne 2 du budget :" in page
    db.session.expire_all()
    assert application.budget_lines == [] and application.requested_amount is None


# --- what the form pages tell the officer ---------------------------------------------------


def changes_requested_dossier(kind=CallKind.DCOL):
    call = ws.make_call_for(kind)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    ws.drive_to(application, cast, S.SUBMITTED)
    ws.fire_step(application, cast, "request_changes")
    db.session.commit()
    return call, cast, application


def test_form_and_deposit_pages_show_what_cuf_asked_for(client, app):
    call, cast, application = changes_requested_dossier()
    login(client, cast.signatory)
    for path in ("formulaire/general", "formulaire/contact", "depot"):
        page = client.get(f"/dossiers/{application.id}/{path}").get_data(as_text=True)
        assert "Compléments demandés par Cités Unies France" in page
        assert "Joindre la délibération signée." in page, path
        assert "À déposer avant le" in page


def test_a_draft_shows_no_request_for_changes(client, app):
    user = signatory()
    application = draft(CallKind.DCOL, user)
    login(client, user)
    page = client.get(f"/dossiers/{application.id}/formulaire/general").get_data(as_text=True)
    assert "Compléments demandés" not in page


def documents_badge(page: str) -> str:
    item = re.search(r'<a href="[^"]*/pieces"[^>]*>Pièces</a>\s*(.*?)</li>', page, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", " ", item).split())


def test_documents_menu_entry_says_how_many_required_documents_are_provided(client, app):
    user = signatory()
    application = draft(CallKind.DCOL, user)
    requirement = application.call.document_requirements[0]
    from dcol.models import DocumentRequirement

    application.call.document_requirements.append(
        DocumentRequirement(code="budget", label="Budget détaillé", is_required=False))
    db.session.commit()
    login(client, user)
    section = f"/dossiers/{application.id}/formulaire/general"
    for path in (section, f"/dossiers/{application.id}/pieces", f"/dossiers/{application.id}/depot"):
        assert documents_badge(client.get(path).get_data(as_text=True)) == "0 sur 1"
    ws.attach(application, user, requirement=requirement)
    db.session.commit()
    assert documents_badge(client.get(section).get_data(as_text=True)) == "complet"


def test_documents_menu_entry_has_no_badge_when_nothing_is_required(client, app):
    user = signatory()
    application = draft(CallKind.DCOL, user)
    application.call.document_requirements[0].is_required = False
    db.session.commit()
    login(client, user)
    page = client.get(f"/dossiers/{application.id}/formulaire/general").get_data(as_text=True)
    assert documents_badge(page) == ""


def test_country_lists_are_enhanced_by_the_picker_and_work_without_it(client, app):
    user = signatory()
    application = draft(CallKind.AAP, user)
    login(client, user)
    for path in (f"/appels/{application.call_id}/candidater",
                 f"/dossiers/{application.id}/formulaire/project"):
        page = client.get(path).get_data(as_text=True)
        select = re.search(r"<select[^>]*name=\"countries\"[^>]*>", page).group(0)
        assert "multiple" in select and 'data-picker="countries"' in select
        assert 'data-text-remove="Retirer {name}"' in select
        assert "js/country-picker.js" in page
        assert "Maintenez Ctrl (ou Cmd) pour en choisir plusieurs." in page  # without JavaScript


# --- what CUF reads of a corrected deposit --------------------------------------------------


def test_changes_page_pairs_replaced_documents_and_speaks_french(client, app):
    call, cast, application = changes_requested_dossier(CallKind.AAP)
    call.tracks.append(Track(code="ecsi", name="Éducation à la citoyenneté mondiale",
                             position=2, eligible_countries=["AM", "SN"]))
    db.session.flush()
    update_application(application, cast.signatory, {
        "track_id": call.tracks[1].id, "countries": ["AM", "SN"], "requested_amount": "7500",
    })
    replace_budget(application, cast.signatory, [
        {"kind": "expense", "label": "Résidences", "amount": "10000", "is_eligible": False},
        {"kind": "income", "label": "Subvention demandée", "amount": "7500"},
        {"kind": "income", "label": "Fonds propres", "amount": "2500"},
    ])
    first = next(d for d in application.documents if d.requirement_id)
    store_upload(application, cast.signatory,
                 FileStorage(io.BytesIO(pdf_bytes("Délibération signée")),
                             filename="deliberation-signee.pdf"),
                 kind=DocumentKind.APPLICATION, requirement=call.document_requirements[0])
    ws.fire_step(application, cast, "submit")
    db.session.commit()
    login(client, cast.manager)
    response = client.get(f"/dossiers/{application.id}/depots/2/modifications")
    assert response.status_code == 200
    page = re.sub(r"[ \t\n]+", " ", response.get_data(as_text=True))

    assert (f"Remplacée : Délibération ou lettre de l&#39;exécutif — {first.original_name} "
            f"<code>{first.sha256[:12]}…</code> → deliberation-signee.pdf") in page
    assert "Ajoutée :" not in page and "Retirée" not in page
    assert "Stratégie internationale" in page and "Éducation à la citoyenneté mondiale" in page
    assert ">ecsi<" not in page and ">strategy<" not in page
    assert "Arménie, Sénégal" in page
    assert "8\u202f000,00\xa0€" in page and "7\u202f500,00\xa0€" in page
    assert "Dépense éligible — Résidences : 10\u202f000,00\xa0€" in page
    assert "Dépense non éligible — Résidences : 10\u202f000,00\xa0€" in page
    assert "Recette — Fonds propres : 2\u202f500,00\xa0€" in page


# --- accessibility --------------------------------------------------------------------------


def test_each_upload_button_says_what_it_sends(client, app):
    user = signatory()
    application = draft(CallKind.DCOL, user)
    login(client, user)
    page = client.get(f"/dossiers/{application.id}/pieces").get_data(as_text=True)
    buttons = re.findall(r"<button type=\"submit\">(.*?)</button>", page, re.S)
    names = [" ".join(re.sub(r"<[^>]+>", " ", b).split()) for b in buttons if "Envoyer" in b]
    assert names == ["Envoyer le fichier pour « Délibération ou lettre de l&#39;exécutif »",
                     "Envoyer la pièce libre"]


def test_error_messages_are_alerts_and_others_are_status(client, app):
    user = signatory()
    application = draft(CallKind.DCOL, user)
    login(client, user)
    url = f"/dossiers/{application.id}/formulaire/general"
    read = application.version
    client.post(url, data={"version": read, "title": "x"}, headers={"X-Autosave": "1"})
    page = client.post(url, data={"version": read, "title": "y", "next": ""}).get_data(as_text=True)
    alert = re.search(r'<div class="flashes" role="alert">(.*?)</div>', page, re.S)
    assert alert and "Le dossier a été modifié" in alert.group(1)
    assert 'role="status" aria-live="polite">\n      <p class="flash' not in page

    saved = client.post(url, data={"version": version_in(page), "title": "y", "next": ""},
                        follow_redirects=True).get_data(as_text=True)
    status = re.search(r'<div class="flashes" role="status" aria-live="polite">(.*?)</div>',
                       saved, re.S)
    assert status and "Section enregistrée." in status.group(1)
    assert 'role="alert"' not in saved


def test_deposit_button_is_described_by_what_is_missing(client, app):
    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    application = create_application(call, cast.signatory, track=call.tracks[0])
    db.session.commit()
    login(client, cast.signatory)
    page = client.get(f"/dossiers/{application.id}/depot").get_data(as_text=True)
    assert '<ul class="unmet" id="depot-manquant">' in page
    assert re.search(r'<button type="submit" class="primary" aria-describedby="depot-manquant">',
                     page)


def test_current_step_is_marked_on_its_link(client, app):
    user = signatory()
    application = draft(CallKind.DCOL, user)
    login(client, user)
    pages = {
        f"/dossiers/{application.id}/formulaire/needs": "Besoins et appui attendu",
        f"/dossiers/{application.id}/pieces": "Pièces",
        f"/dossiers/{application.id}/depot": "Récapitulatif et dépôt",
    }
    for path, step in pages.items():
        page = client.get(path).get_data(as_text=True)
        assert re.findall(r'<a href="[^"]*" aria-current="step">([^<]*)</a>', page) == [step]
        assert not re.search(r"<li[^>]*aria-current", page)


def test_tables_have_captions(client, app):
    call, cast, application = changes_requested_dossier(CallKind.AAP)
    login(client, cast.signatory)
    client.post(f"/dossiers/{application.id}/pieces", data={
        "file": (io.BytesIO(pdf_bytes("Note")), "note.pdf"), "requirement_id": ""},
        content_type="multipart/form-data")
    pages = [f"/dossiers/{application.id}/pieces", f"/dossiers/{application.id}/formulaire/budget",
             f"/dossiers/{application.id}/depot"]
    for path in pages:
        page = client.get(path).get_data(as_text=True)
        assert page.count("<table") == page.count("<caption"), path
    assert client.get(pages[0]).get_data(as_text=True).count("<caption") == 2
    application.title = "Nouveau titre"
    ws.fire_step(application, cast, "submit")
    db.session.commit()
    page = client.get(f"/dossiers/{application.id}/depots/2/modifications").get_data(as_text=True)
    assert page.count("<table") == page.count("<caption") == 1


def test_no_field_is_described_by_nothing(client, app):
    user = signatory()
    application = draft(CallKind.AAP, user)
    login(client, user)
    for section in ("general", "project", "budget", "contact"):
        page = client.get(f"/dossiers/{application.id}/formulaire/{section}").get_data(as_text=True)
        assert 'aria-describedby=""' not in page
        for ids in re.findall(r'aria-describedby="([^"]*)"', page):
            for target in ids.split():
                assert f'id="{target}"' in page, (section, target)


def test_documents_page_shows_what_cuf_asked_for(client, app):
    from dcol.extensions import db as database
    from dcol.models import ApplicationState, CallKind
    from tests import factories as fac
    from tests import workflow_support as support

    call = support.make_call_for(CallKind.DCOL)
    cast = support.make_cast(call)
    application = support.complete_dossier(call, cast)
    support.drive_to(application, cast, ApplicationState.SUBMITTED)
    support.fire_step(application, cast, "request_changes")
    database.session.commit()
    client.post("/connexion", data={"email": cast.signatory.email, "password": fac.PASSWORD})
    page = client.get(f"/dossiers/{application.id}/pieces").get_data(as_text=True)
    assert "Compléments demandés par Cités Unies France" in page
    assert "Joindre la délibération signée." in page
