"""The expert pool: CUF's managers keep the experts' profiles (create, edit, filter, deactivate),
each expert keeps its own (all but the active flag); bad input is refused field by field in
French, with what was typed kept and nothing saved; nobody else sees any of it (404)."""

from __future__ import annotations

import html
import re
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from dcol.extensions import db
from dcol.models import (
    AuditEvent,
    Expert,
    ExpertConflict,
    ExpertKind,
    Role,
    Unavailability,
)
from tests import factories as f
from tests.query_counting import count_queries

VALID_SIRET = "73282932000074"


def text(response) -> str:
    """The page as read (entities decoded: messages from the code and from templates alike)."""
    return html.unescape(response.get_data(as_text=True))


def login(client, user):
    response = client.post("/connexion", data={"email": user.email, "password": f.PASSWORD})
    assert response.status_code == 302


def profile_form(**overrides) -> dict:
    """What the profile form posts for a complete, valid profile."""
    data = {
        "kind": "consultancy",
        "name": "Coop'Eau Conseil",
        "siret": "732 829 320 00074",
        "contact_name": "Claire Dubois",
        "email": "Contact@CoopEau.example",
        "phone": "01 23 45 67 89",
        "website": "www.coopeau.example",
        "address": "12 rue de l'Eau, 69001 Lyon",
        "skills": ["water_sanitation", "climate"],
        "keywords": "assainissement, services d'eau ; Vietnam",
        "regions": ["asia"],
        "countries": ["VN", "SN"],
        "languages": ["fr", "vi"],
        "daily_rate": "650,00",
        "vat_rate": "20",
        "capacity": "3",
        "references": "Syndicat mixte Fensch Lorraine (2023) : projet pilote eau à Binh Dinh.",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def audit_entries(event: str) -> list[AuditEvent]:
    return list(db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.event == event).order_by(AuditEvent.id)))


@pytest.fixture
def manager(client, app):
    user = f.make_user(Role.MANAGER)
    db.session.commit()
    login(client, user)
    return user


# --- the manager keeps the pool ---------------------------------------------------------------


def test_manager_creates_an_expert_and_it_is_audited(client, manager):
    response = client.post("/experts/nouveau", data=profile_form())
    assert response.status_code == 302
    expert = db.session.scalars(sa.select(Expert)).one()
    assert response.headers["Location"].endswith(f"/experts/{expert.id}")
    assert expert.kind is ExpertKind.CONSULTANCY and expert.is_active
    assert expert.siret == VALID_SIRET
    assert expert.email == "contact@coopeau.example"
    assert expert.website == "https://www.coopeau.example"
    assert expert.skills == ["water_sanitation", "climate"]
    assert expert.keywords == ["assainissement", "services d'eau", "Vietnam"]
    assert expert.countries == ["VN", "SN"] and expert.regions == ["asia"]
    assert expert.languages == ["fr", "vi"]
    assert expert.daily_rate == Decimal("650.00") and isinstance(expert.daily_rate, Decimal)
    assert expert.vat_rate == Decimal("20") and expert.capacity == 3
    [entry] = audit_entries("expert.created")
    assert entry.actor_id == manager.id and entry.application_id is None
    assert entry.payload["expert_id"] == expert.id
    assert entry.payload["profile"]["daily_rate"] == "650.00"


def test_invalid_profile_is_refused_field_by_field_keeping_the_input(client, manager):
    response = client.post("/experts/nouveau", data=profile_form(
        name="", siret="732 829 320 00075", email="pas-une-adresse", daily_rate="six cents",
        vat_rate="150", capacity="-1", website="pas un site", countries=["VN", "XX"],
    ))
    assert response.status_code == 422
    page = text(response)
    for message in (
        "Rien n'a été enregistré",
        "Indiquez le nom du cabinet ou de l'expert.",
        "Numéro SIRET invalide",
        "Adresse e-mail invalide.",
        "Montant invalide",
        "Le taux de TVA est un pourcentage entre 0 et 100.",
        "Le nombre de missions simultanées est compris entre 0 et 50.",
        "Adresse de site invalide",
        "Code pays inconnu : XX.",
    ):
        assert message in page, message
    # What was typed is shown back, to be corrected.
    assert 'value="732 829 320 00075"' in page
    assert 'value="six cents"' in page
    assert 'value="pas-une-adresse"' in page
    assert re.search(r'<option selected value="VN">|<option value="VN" selected>', page)
    assert "Claire Dubois" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Expert)) == 0
    assert audit_entries("expert.created") == []


def test_a_daily_rate_and_a_capacity_are_required(client, manager):
    response = client.post("/experts/nouveau", data=profile_form(daily_rate="", capacity=""))
    assert response.status_code == 422
    page = text(response)
    assert "Indiquez le tarif journalier hors taxes." in page
    assert "Indiquez le nombre de missions que l'expert peut mener en même temps." in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Expert)) == 0


def test_manager_edits_an_expert_and_the_changes_are_audited(client, manager):
    expert = f.make_expert("Climat Territoires Conseil", capacity=2)
    db.session.commit()
    response = client.post(f"/experts/{expert.id}", data=profile_form(
        name="Climat Territoires Conseil", daily_rate="720", capacity="1", vat_rate="5,5"))
    assert response.status_code == 302
    db.session.refresh(expert)
    assert expert.daily_rate == Decimal("720.00") and expert.capacity == 1
    assert expert.vat_rate == Decimal("5.5")
    [entry] = audit_entries("expert.updated")
    changes = entry.payload["changes"]
    assert changes["daily_rate"] == {"from": "650.00", "to": "720.00"}
    assert changes["capacity"] == {"from": 2, "to": 1}
    assert "name" not in changes


def test_a_refused_edit_leaves_the_expert_as_it_was(client, manager):
    expert = f.make_expert("Climat Territoires Conseil", capacity=2)
    db.session.commit()
    response = client.post(f"/experts/{expert.id}", data=profile_form(
        name="Nouveau nom", capacity="deux"))
    assert response.status_code == 422
    page = text(response)
    assert "Indiquez un nombre entier, par exemple 2." in page
    assert 'value="Nouveau nom"' in page and 'value="deux"' in page
    db.session.expire_all()
    expert = db.session.get(Expert, expert.id)
    assert expert.name == "Climat Territoires Conseil" and expert.capacity == 2
    assert audit_entries("expert.updated") == []


def test_manager_deactivates_and_reactivates_an_expert(client, manager):
    expert = f.make_expert()
    db.session.commit()
    assert client.post(f"/experts/{expert.id}/desactivation").status_code == 302
    db.session.refresh(expert)
    assert not expert.is_active
    assert "Inactif" in text(client.get("/experts/?statut=inactifs"))
    assert client.post(f"/experts/{expert.id}/reactivation").status_code == 302
    db.session.refresh(expert)
    assert expert.is_active
    assert [e.payload["expert_id"] for e in audit_entries("expert.deactivated")] == [expert.id]
    assert [e.payload["expert_id"] for e in audit_entries("expert.reactivated")] == [expert.id]


# --- the pool's list --------------------------------------------------------------------------


@pytest.fixture
def pool(app):
    experts = {
        "coopeau": f.make_expert("Coop'Eau Conseil", skills=["water_sanitation"],
                                 keywords=["assainissement"], regions=["asia"],
                                 countries=["VN"], languages=["fr", "vi"]),
        "climat": f.make_expert("Climat Territoires", skills=["climate", "energy"],
                                keywords=["adaptation"], regions=["africa"],
                                countries=["SN", "MA"], languages=["fr", "en"]),
        "culture": f.make_expert("Horizons Culture", kind=ExpertKind.PERSON,
                                 contact_name="Anna Petrossian", skills=["culture"],
                                 keywords=["Résidences d'artistes"], regions=["europe"],
                                 countries=["AM"], languages=["hy", "fr"]),
        "retired": f.make_expert("Ancien Cabinet Eau", skills=["water_sanitation"],
                                 regions=["asia"], languages=["fr"], is_active=False),
    }
    db.session.commit()
    return experts


def listed(client, query: str = "") -> set[str]:
    response = client.get(f"/experts/{query}")
    assert response.status_code == 200
    page = text(response)
    names = {"coopeau": "Coop'Eau Conseil", "climat": "Climat Territoires",
             "culture": "Horizons Culture", "retired": "Ancien Cabinet Eau"}
    return {key for key, name in names.items() if f">{name}</a>" in page}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"coopeau", "climat", "culture", "retired"}),
        ("?q=coop", {"coopeau"}),
        ("?q=ADAPTATION", {"climat"}),  # a keyword, whatever the case
        ("?q=petrossian", {"culture"}),  # the contact's name
        ("?q=artiste", {"culture"}),  # a part of a keyword
        ("?q=100%25", set()),  # LIKE's wildcards are searched as typed
        ("?competence=water_sanitation", {"coopeau", "retired"}),
        ("?competence=water_sanitation&statut=actifs", {"coopeau"}),
        ("?statut=inactifs", {"retired"}),
        ("?region=africa", {"climat"}),
        ("?pays=AM", {"culture"}),
        ("?langue=fr&competence=climate", {"climat"}),
        ("?langue=hy", {"culture"}),
        ("?competence=inconnue", {"coopeau", "climat", "culture", "retired"}),  # ignored
    ],
)
def test_manager_filters_the_pool(client, manager, pool, query, expected):
    assert listed(client, query) == expected


def test_the_pool_is_paginated_and_keeps_its_filters(client, manager):
    for n in range(32):
        f.make_expert(f"Cabinet {n:02d}", skills=["culture"])
    db.session.commit()
    first = text(client.get("/experts/?competence=culture"))
    assert "32 experts" in first and "Cabinet 29" in first and "Cabinet 30" not in first
    assert "page=2" in first and "competence=culture" in first
    second = text(client.get("/experts/?competence=culture&page=2"))
    assert "Cabinet 30" in second and "Cabinet 31" in second and "Cabinet 00" not in second


def test_the_pool_loads_in_a_fixed_number_of_queries(client, manager):
    def add_experts(count: int):
        for _ in range(count):
            expert = f.make_expert(skills=["water_sanitation"], countries=["VN"])
            expert.unavailabilities.append(
                Unavailability(starts_on=date(2026, 1, 1), ends_on=date(2026, 2, 1)))
            f.make_proposal_for(expert)
        db.session.commit()

    add_experts(2)
    few = count_queries(client, "/experts/?competence=water_sanitation")
    add_experts(6)
    many = count_queries(client, "/experts/?competence=water_sanitation")
    assert few == many


# --- each expert keeps its own profile --------------------------------------------------------


def test_expert_edits_its_own_profile_but_not_its_active_flag(client, app):
    expert = f.make_expert("Coop'Eau Conseil")
    user = f.make_expert_user(expert)
    db.session.commit()
    login(client, user)
    page = text(client.get(f"/experts/{expert.id}"))
    assert "Ma fiche expert" in page and "Désactiver" not in page
    response = client.post(f"/experts/{expert.id}",
                           data=profile_form(daily_rate="700", is_active=""))
    assert response.status_code == 302
    db.session.refresh(expert)
    assert expert.daily_rate == Decimal("700.00") and expert.is_active
    [entry] = audit_entries("expert.updated")
    assert entry.actor_id == user.id
    assert client.post(f"/experts/{expert.id}/desactivation").status_code == 404
    db.session.refresh(expert)
    assert expert.is_active


def test_the_former_profile_address_leads_to_the_profile(client, app):
    expert = f.make_expert()
    user = f.make_expert_user(expert)
    db.session.commit()
    login(client, user)
    response = client.get("/ma-fiche-expert")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/experts/{expert.id}")


def test_an_expert_sees_no_other_experts_profile(client, app):
    mine, theirs = f.make_expert("Coop'Eau Conseil"), f.make_expert("Climat Territoires")
    user = f.make_expert_user(mine)
    db.session.commit()
    login(client, user)
    assert client.get(f"/experts/{theirs.id}").status_code == 404
    assert client.post(f"/experts/{theirs.id}", data=profile_form(name="Piraté")).status_code == 404
    assert client.post(f"/experts/{theirs.id}/indisponibilites", data={
        "indisponibilite-starts_on": "2027-01-01",
        "indisponibilite-ends_on": "2027-01-31"}).status_code == 404
    db.session.refresh(theirs)
    assert theirs.name == "Climat Territoires" and theirs.unavailabilities == []


def pool_user(role: Role):
    if role is Role.APPLICANT:
        return f.make_user(role, organisation=f.make_organisation(), signatory=True)
    if role is Role.EXPERT:
        return f.make_expert_user()
    return f.make_user(role)


@pytest.mark.parametrize("role", [Role.APPLICANT, Role.REVIEWER, Role.COMMITTEE, Role.EXPERT])
def test_only_managers_see_the_pool(client, app, role):
    other = f.make_expert("Cabinet du vivier")
    user = pool_user(role)
    db.session.commit()
    login(client, user)
    for path in ("/experts/", "/experts/nouveau", f"/experts/{other.id}"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Page introuvable" in text(response)
    assert client.post("/experts/nouveau", data=profile_form()).status_code == 404
    assert client.post(f"/experts/{other.id}/desactivation").status_code == 404
    assert "Vivier d'experts" not in text(client.get("/"))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Expert)) == (
        2 if role is Role.EXPERT else 1)


def test_managers_find_the_pool_in_the_menu(client, manager):
    assert "Vivier d'experts" in text(client.get("/"))


# --- unavailabilities and declared links ------------------------------------------------------


def test_unavailability_periods_are_added_and_removed(client, manager):
    expert = f.make_expert()
    db.session.commit()
    response = client.post(f"/experts/{expert.id}/indisponibilites", data={
        "indisponibilite-starts_on": "2027-07-01", "indisponibilite-ends_on": "2027-08-31",
        "indisponibilite-reason": "Congés"})
    assert response.status_code == 302
    [period] = db.session.scalars(sa.select(Unavailability)).all()
    assert (period.starts_on, period.ends_on, period.reason) == (
        date(2027, 7, 1), date(2027, 8, 31), "Congés")
    assert "Congés" in text(client.get(f"/experts/{expert.id}"))
    response = client.post(f"/experts/{expert.id}/indisponibilites/{period.id}/suppression")
    assert response.status_code == 302
    assert db.session.scalars(sa.select(Unavailability)).all() == []
    assert len(audit_entries("expert.unavailability_added")) == 1
    assert len(audit_entries("expert.unavailability_removed")) == 1


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2027-08-31", "2027-07-01", "La fin de la période précède son début."),
        ("", "2027-07-01", "Indiquez le premier jour d'indisponibilité."),
        ("31/08/2027", "2027-09-01", "Date invalide"),
    ],
)
def test_a_wrong_period_is_refused(client, manager, start, end, message):
    expert = f.make_expert()
    db.session.commit()
    response = client.post(f"/experts/{expert.id}/indisponibilites", data={
        "indisponibilite-starts_on": start, "indisponibilite-ends_on": end,
        "indisponibilite-reason": "Mission à l'étranger"})
    assert response.status_code == 422
    page = text(response)
    assert message in page
    assert 'value="Mission à l\'étranger"' in page
    assert db.session.scalars(sa.select(Unavailability)).all() == []


def test_links_are_declared_by_siren_or_by_name_and_removed(client, manager):
    expert = f.make_expert()
    fensch = f.make_organisation("Syndicat mixte Fensch Lorraine")
    lyon = f.make_organisation("Ville de Lyon")
    db.session.commit()
    response = client.post(f"/experts/{expert.id}/liens", data={
        "lien-organisation": f"{fensch.siren[:3]} {fensch.siren[3:]}",
        "lien-description": "Ancien contrat d'assistance"})
    assert response.status_code == 302
    assert client.post(f"/experts/{expert.id}/liens",
                       data={"lien-organisation": "ville de lyon"}).status_code == 302
    links = {link.organisation_id: link for link in db.session.scalars(sa.select(ExpertConflict))}
    assert set(links) == {fensch.id, lyon.id}
    assert links[fensch.id].description == "Ancien contrat d'assistance"
    page = text(client.get(f"/experts/{expert.id}"))
    assert "Syndicat mixte Fensch Lorraine" in page and fensch.siren in page
    response = client.post(f"/experts/{expert.id}/liens/{lyon.id}/suppression")
    assert response.status_code == 302
    assert [link.organisation_id for link in db.session.scalars(sa.select(ExpertConflict))] == [
        fensch.id]
    assert len(audit_entries("expert.conflict_declared")) == 2
    assert len(audit_entries("expert.conflict_removed")) == 1


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("Commune inconnue", "Aucune organisation ne correspond à « Commune inconnue »."),
        ("Ville de Saint", "Plusieurs organisations correspondent à « Ville de Saint »"),
        ("123456789", "n'est pas un numéro SIREN valide"),
        ("", "Indiquez le SIREN ou le nom de l'organisation."),
    ],
)
def test_a_link_needs_exactly_one_organisation(client, manager, query, message):
    expert = f.make_expert()
    f.make_organisation("Ville de Saint-Denis")
    f.make_organisation("Ville de Saint-Étienne")
    db.session.commit()
    response = client.post(f"/experts/{expert.id}/liens", data={
        "lien-organisation": query, "lien-description": "Mandat d'élu"})
    assert response.status_code == 422
    page = text(response)
    assert message in page
    assert "Mandat d'élu" in page
    assert db.session.scalars(sa.select(ExpertConflict)).all() == []


def test_several_matches_are_named_with_their_siren(client, manager):
    expert = f.make_expert()
    saint_denis = f.make_organisation("Ville de Saint-Denis")
    db.session.commit()
    f.make_organisation("Ville de Saint-Étienne")
    db.session.commit()
    page = text(client.post(f"/experts/{expert.id}/liens", data={"lien-organisation": "saint"}))
    assert f"Ville de Saint-Denis ({saint_denis.siren})" in page


def test_an_expert_declares_its_own_links(client, app):
    expert = f.make_expert()
    user = f.make_expert_user(expert)
    org = f.make_organisation("Ville de Grenoble")
    db.session.commit()
    login(client, user)
    assert client.post(f"/experts/{expert.id}/liens",
                       data={"lien-organisation": org.siren}).status_code == 302
    assert db.session.get(ExpertConflict, (expert.id, org.id)) is not None


# --- the forms post the CSRF token ------------------------------------------------------------


def test_the_profile_forms_post_a_token_the_app_accepts(app):
    expert = f.make_expert()
    user = f.make_user(Role.MANAGER)
    db.session.commit()
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()

    def token_of(html: str, name: str = "csrf_token") -> str:
        return re.search(rf'name="{name}" type="hidden" value="([^"]+)"', html).group(1)

    login_page = text(client.get("/connexion"))
    client.post("/connexion", data={"email": user.email, "password": f.PASSWORD,
                                    "csrf_token": token_of(login_page)})
    page = text(client.get(f"/experts/{expert.id}"))
    forms = re.findall(r'<form method="post".*?</form>', page, re.S)
    assert len(forms) >= 4 and all("csrf_token" in form for form in forms)
    refused = client.post(f"/experts/{expert.id}", data=profile_form(daily_rate="800"))
    assert refused.status_code == 400
    accepted = client.post(f"/experts/{expert.id}",
                           data=profile_form(daily_rate="800", csrf_token=token_of(page)))
    assert accepted.status_code == 302
    db.session.refresh(expert)
    assert expert.daily_rate == Decimal("800.00")
