"""The collectivités' space: calls, the eligibility pre-check, the dossier form section by
section (drafts, autosave, completeness, budget), the summary and deposit, corrections."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from dcol.extensions import db
from dcol.models import (
    Application,
    ApplicationState,
    CallKind,
    MembershipStatus,
    OrganisationKind,
    Role,
    utcnow,
)
from tests import factories as f
from tests import workflow_support as ws

S = ApplicationState


def login(client, user):
    response = client.post("/connexion", data={"email": user.email, "password": f.PASSWORD})
    assert response.status_code == 302


@pytest.fixture
def dcol_call(app):
    call = ws.make_call_for(CallKind.DCOL)
    call.title = "DCOL — 13e appel à candidature"
    call.tracks[0].name = "Élaboration d'une stratégie internationale"
    db.session.commit()
    return call


@pytest.fixture
def isere_call(app):
    call = ws.make_call_for(CallKind.AAP)
    call.title = "Appel à projets 2026 — Département de l'Isère"
    from dcol.models import Track

    call.tracks[0].name = "Coopération culturelle internationale"
    call.tracks.append(Track(code="ecsi", name="Éducation à la citoyenneté mondiale",
                             eligible_countries=["FR"], eligible_departments=["38"], position=2))
    db.session.commit()
    return call


def signatory_of(kind=OrganisationKind.COMMUNE):
    org = f.make_organisation("Commune de Thorey-Lyautey", kind=kind)
    user = f.make_user(Role.APPLICANT, organisation=org, signatory=True)
    db.session.commit()
    return user


# --- calls ----------------------------------------------------------------------------------


def test_public_list_of_open_calls_with_deadline_and_time_left(client, dcol_call):
    f.make_call(title="Appel clos", is_open=False)
    dcol_call.closes_at = utcnow() + timedelta(days=12, hours=3)
    db.session.commit()
    page = client.get("/appels/").get_data(as_text=True)
    assert "DCOL — 13e appel à candidature" in page
    assert "Appel clos" not in page
    assert "Encore 12\xa0jours" in page  # not rounded to "2 semaines"


def test_call_page_shows_rules_rate_for_visitor_and_worked_example(client, dcol_call):
    user = signatory_of()
    login(client, user)
    page = client.get(f"/appels/{dcol_call.id}").get_data(as_text=True)
    assert "Élaboration d&#39;une stratégie internationale" in page
    assert "Délibération ou lettre de l&#39;exécutif" in page
    assert "votre organisation" in page
    assert ("Coût total 12\u202f500,00\xa0€ HT — prise en charge CUF 80 % : 10\u202f000,00\xa0€ — "
            "reste à charge : 2\u202f500,00\xa0€") in page
    assert "Vérifier mon éligibilité" in page


def test_worked_example_shows_a_binding_ceiling(client, isere_call):
    isere_call.cofinancing_rules[0].rates = {"department": "50.00", "commune": "50.00"}
    isere_call.cofinancing_rules[0].ceiling = Decimal("8000.00")
    db.session.commit()
    page = client.get(f"/appels/{isere_call.id}").get_data(as_text=True)
    assert "subvention 50 % : 8\u202f000,00\xa0€ — reste à charge : 12\u202f000,00\xa0€" in page
    assert "plafond atteint" in page


# --- pre-check ------------------------------------------------------------------------------


def test_precheck_refuses_in_french_and_creates_nothing(client, isere_call):
    user = signatory_of()
    login(client, user)
    culture = isere_call.tracks[0]
    response = client.post(f"/appels/{isere_call.id}/candidater",
                           data={"track": culture.id, "countries": ["VN"]})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "ne couvre pas : Viêt Nam" in page
    assert '<option selected value="VN">' in page  # the answer is kept
    assert db.session.query(Application).count() == 0


def test_precheck_places_within_france(client, isere_call):
    user = signatory_of()
    login(client, user)
    ecsi = isere_call.tracks[1]
    response = client.post(f"/appels/{isere_call.id}/candidater",
                           data={"track": ecsi.id, "countries": ["FR"], "departments": "69"})
    assert "ne concerne que le(s) département(s) 38" in response.get_data(as_text=True)
    response = client.post(f"/appels/{isere_call.id}/candidater",
                           data={"track": ecsi.id, "countries": ["FR"], "departments": "38"})
    assert response.status_code == 302
    application = db.session.query(Application).one()
    assert (application.track_id, application.countries, application.departments) == (
        ecsi.id, ["FR"], ["38"])
    assert application.state is S.DRAFT


def test_precheck_refuses_an_ineligible_kind(client, dcol_call):
    user = signatory_of(OrganisationKind.OTHER)
    login(client, user)
    response = client.post(f"/appels/{dcol_call.id}/candidater",
                           data={"track": dcol_call.tracks[0].id, "countries": ["SN"]})
    assert "« Autre organisme » ne sont pas éligibles" in response.get_data(as_text=True)


def test_precheck_after_deadline(client, dcol_call):
    user = signatory_of()
    dcol_call.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    login(client, user)
    response = client.post(f"/appels/{dcol_call.id}/candidater",
                           data={"track": dcol_call.tracks[0].id, "countries": ["SN"]})
    assert "pas ouvert aux dépôts" in response.get_data(as_text=True)


def test_pending_member_cannot_create(client, dcol_call):
    org = f.make_organisation()
    user = f.make_user(Role.APPLICANT, organisation=org, membership=MembershipStatus.PENDING)
    db.session.commit()
    login(client, user)
    response = client.get(f"/appels/{dcol_call.id}/candidater")
    assert response.status_code == 302


# --- the form -------------------------------------------------------------------------------


def draft_for(call, user) -> Application:
    from dcol.applications.services import create_application

    application = create_application(call, user, track=call.tracks[0])
    db.session.commit()
    return application


def test_section_saves_a_draft_and_the_completeness_follows(client, dcol_call):
    user = signatory_of()
    application = draft_for(dcol_call, user)
    login(client, user)
    page = client.get(f"/dossiers/{application.id}/formulaire/general").get_data(as_text=True)
    assert "0 sur 3" in page or "1 sur 3" in page  # the track is already chosen
    response = client.post(f"/dossiers/{application.id}/formulaire/general", data={
        "version": application.version, "title": "Stratégie internationale de Thorey",
        "track": dcol_call.tracks[0].id, "summary": "", "next": ""})
    assert response.status_code == 302
    db.session.expire_all()
    assert application.title == "Stratégie internationale de Thorey"
    page = client.get(f"/dossiers/{application.id}/formulaire/general").get_data(as_text=True)
    assert "2 sur 3" in page and "À compléter" in page


def test_invalid_input_is_kept_and_nothing_saved(client, dcol_call):
    user = signatory_of()
    application = draft_for(dcol_call, user)
    login(client, user)
    response = client.post(f"/dossiers/{application.id}/formulaire/contact", data={
        "version": application.version, "contact_name": "Camille Martin",
        "contact_role": "Élue", "contact_email": "pas-une-adresse", "next": ""})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Adresse e-mail invalide." in page
    assert 'value="Camille Martin"' in page
    db.session.expire_all()
    assert application.data == {}


def test_autosave_answers_json_and_refuses_a_stale_version(client, dcol_call):
    user = signatory_of()
    application = draft_for(dcol_call, user)
    login(client, user)
    read = application.version
    response = client.post(f"/dossiers/{application.id}/formulaire/needs",
                           data={"version": read, "needs": "Un diagnostic"},
                           headers={"X-Autosave": "1"})
    assert response.status_code == 200
    body = response.json
    assert body["version"] > read
    assert {"section": "needs", "filled": 1, "required": 4} in body["completeness"]
    stale = client.post(f"/dossiers/{application.id}/formulaire/needs",
                        data={"version": read, "needs": "Autre"},
                        headers={"X-Autosave": "1"})
    assert stale.status_code == 412
    db.session.expire_all()
    assert application.data["needs"]["needs"] == "Un diagnostic"


def test_budget_table_totals_and_unbalanced_message(client, isere_call):
    user = signatory_of()
    application = draft_for(isere_call, user)
    login(client, user)
    response = client.post(f"/dossiers/{application.id}/formulaire/budget", data={
        "version": application.version, "requested_amount": "8000",
        "lines-0-kind": "expense", "lines-0-label": "Résidences d'artistes",
        "lines-0-amount": "10000", "lines-0-is_eligible": "y",
        "lines-1-kind": "income", "lines-1-label": "Subvention demandée", "lines-1-amount": "8000",
        "next": ""})
    assert response.status_code == 302
    page = client.get(f"/dossiers/{application.id}/formulaire/budget").get_data(as_text=True)
    assert "10\u202f000,00\xa0€" in page and "8\u202f000,00\xa0€" in page
    assert "pas équilibré" in page


def test_budget_line_without_label_is_refused_and_kept(client, isere_call):
    user = signatory_of()
    application = draft_for(isere_call, user)
    login(client, user)
    response = client.post(f"/dossiers/{application.id}/formulaire/budget", data={
        "version": application.version, "requested_amount": "8000",
        "lines-0-kind": "expense", "lines-0-label": "", "lines-0-amount": "1500", "next": ""})
    assert response.status_code == 422
    assert "Indiquez l&#39;intitulé de cette ligne." in response.get_data(as_text=True)
    assert 'value="1500' in response.get_data(as_text=True)
    db.session.expire_all()
    assert application.budget_lines == [] and application.requested_amount is None


def test_submitted_dossier_is_read_only_for_the_applicant(client, app):
    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    ws.fire_step(application, cast, "submit")
    db.session.commit()
    login(client, cast.signatory)
    response = client.post(f"/dossiers/{application.id}/formulaire/general",
                           data={"version": application.version, "title": "Changé"})
    assert response.status_code == 302
    db.session.expire_all()
    assert application.title == "Projet pilote eau potable"


def test_deposit_page_lists_what_is_missing(client, dcol_call):
    user = signatory_of()
    application = draft_for(dcol_call, user)
    login(client, user)
    page = client.get(f"/dossiers/{application.id}/depot").get_data(as_text=True)
    assert "Avant de pouvoir déposer" in page
    assert "Pièce obligatoire manquante" in page


def test_resubmission_shows_cuf_what_changed(client, app):
    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    ws.drive_to(application, cast, S.SUBMITTED)
    ws.fire_step(application, cast, "request_changes")
    db.session.commit()
    login(client, cast.signatory)
    page = client.get(f"/dossiers/{application.id}").get_data(as_text=True)
    assert "Joindre la délibération signée." in page  # what to complete
    client.post(f"/dossiers/{application.id}/formulaire/needs", data={
        "version": application.version, "needs": "Reformuler le projet pilote et chiffrer.",
        "support_expected": "Analyse", "deliverables_expected": "Plan", "timetable": "2027",
        "next": ""})
    db.session.expire_all()
    ws.attach(application, cast.signatory, requirement=call.document_requirements[0])
    db.session.commit()
    response = client.post(f"/dossiers/{application.id}/evenements/submit",
                           data={"version": application.version})
    assert response.status_code == 302
    client.post("/deconnexion")
    login(client, cast.manager)
    page = client.get(f"/dossiers/{application.id}/depots/2/modifications").get_data(as_text=True)
    assert "Reformuler le projet pilote et chiffrer." in page
    assert "Ajoutée :" in page


def test_follow_up_shows_next_step_and_deadline(client, dcol_call):
    user = signatory_of()
    application = draft_for(dcol_call, user)
    login(client, user)
    page = client.get(f"/dossiers/{application.id}").get_data(as_text=True)
    assert "Prochaine étape" in page and "déposer avant la date limite" in page
    assert "Échéance :" in page


def test_other_organisation_cannot_open_the_form(client, dcol_call):
    user = signatory_of()
    application = draft_for(dcol_call, user)
    other = f.make_user(Role.APPLICANT, organisation=f.make_organisation(), signatory=True)
    db.session.commit()
    login(client, other)
    assert client.get(f"/dossiers/{application.id}/formulaire/general").status_code == 404
    assert client.post(f"/dossiers/{application.id}/formulaire/general",
                       data={"title": "x"}).status_code == 404
    assert client.get(f"/dossiers/{application.id}/depot").status_code == 404


def test_non_signatory_cannot_submit_or_withdraw(client, app):
    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    db.session.commit()
    login(client, cast.member)
    page = client.get(f"/dossiers/{application.id}/depot").get_data(as_text=True)
    assert "Déposer le dossier" not in page
    for event in ("submit", "withdraw"):
        response = client.post(f"/dossiers/{application.id}/evenements/{event}",
                               data={"version": application.version, "comment": "x"})
        assert response.status_code == 403


def test_script_in_text_fields_is_escaped(client, dcol_call):
    user = signatory_of()
    application = draft_for(dcol_call, user)
    application.title = "<script>alert(1)</script>"
    db.session.commit()
    login(client, user)
    for path in (f"/dossiers/{application.id}", f"/dossiers/{application.id}/depot",
                 f"/dossiers/{application.id}/formulaire/general", "/dossiers/"):
        page = client.get(path).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


