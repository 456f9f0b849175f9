"""Capitalisation: searching closed supports (text, filters), who sees which, making one public."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from dcol.capitalisation import services
from dcol.capitalisation.services import SearchFilters
from dcol.capitalisation.text import matches
from dcol.documents.storage import write_file
from dcol.extensions import db
from dcol.models import (
    Application,
    ApplicationState,
    AuditEvent,
    CallKind,
    Deliverable,
    DeliverableState,
    Document,
    DocumentKind,
    MembershipStatus,
    OrganisationKind,
    Role,
    utcnow,
)
from dcol.permissions import Action, can
from tests import factories as f
from workflows.engine import Forbidden, InputRefused, NotApplicable

S = ApplicationState


def login(client, user):
    response = client.post("/connexion", data={"email": user.email, "password": f.PASSWORD})
    assert response.status_code == 302


def text_of(response) -> str:
    """The page's text, without tags, its spaces (no-break ones too) made plain."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))
                    .split())


def at(year, month, day) -> datetime:
    return datetime(year, month, day, 9, tzinfo=UTC)


def deliverable(mission, title, *, final=False, file_name=None, content=b"%PDF-1.4 plan"):
    item = Deliverable(mission=mission, title=title, is_final=final,
                       state=DeliverableState.VALIDATED, submitted_at=utcnow())
    db.session.add(item)
    db.session.flush()
    if file_name:
        stored, sha256 = write_file(content)
        db.session.add(Document(
            application_id=mission.application_id, kind=DocumentKind.DELIVERABLE,
            deliverable_id=item.id, original_name=file_name, stored_name=stored,
            content_type="application/pdf", size=len(content), sha256=sha256,
            uploaded_at=utcnow()))
        db.session.flush()
    return item


@dataclass
class World:
    water: Application  # closed, public (Fensch Lorraine, Coop'Eau Conseil, call of 2023)
    climate: Application  # closed, not public (Grenoble, Climat Territoires, call of 2025)
    culture: Application  # closed, public, a call for projects: no expert
    running: Application  # in progress, marked public: never in the capitalisation
    manager: object
    admin: object
    reviewer: object
    committee: object
    member: object  # a member of a collectivité with no closed support (Marseille)
    own_member: object  # a member of Grenoble, whose support is not public
    pending_member: object  # a membership CUF has not validated yet
    expert_user: object  # Climat Territoires Conseil: its own support is not public
    other_expert_user: object  # an expert with no closed support


@pytest.fixture
def world(app) -> World:
    call_2023 = f.make_call(code="DCOL9", edition=9, title="DCOL — 9e appel",
                            opens_at=at(2023, 6, 1), closes_at=at(2023, 7, 15))
    call_2023.tracks[0].code, call_2023.tracks[0].name = "project", "Montage de projet"
    call_2025 = f.make_call(code="DCOL11", edition=11, title="DCOL — 11e appel",
                            opens_at=at(2024, 10, 23), closes_at=at(2024, 12, 3))
    call_2025.tracks[0].code, call_2025.tracks[0].name = "climate", "Enjeux climatiques"
    aap = f.make_call(CallKind.AAP, code="AAP26", title="Isère 2026",
                      opens_at=at(2026, 3, 30), closes_at=at(2026, 5, 1))
    fensch = f.make_organisation("Syndicat mixte Fensch Lorraine", kind=OrganisationKind.SYNDICATE,
                                 region="Grand Est")
    grenoble = f.make_organisation("Ville de Grenoble", region="Auvergne-Rhône-Alpes")
    gennevilliers = f.make_organisation("Ville de Gennevilliers")
    marseille = f.make_organisation("Ville de Marseille")
    coop_eau = f.make_expert("Coop'Eau Conseil")
    climat = f.make_expert("Climat Territoires Conseil")
    money = {"estimated_cost": Decimal("12500.00"), "requested_amount": Decimal("9876.54"),
             "estimated_cofinancing": Decimal("10000.00")}

    water = f.make_application(
        call_2023, fensch, S.CLOSED, title="Projet pilote d'accès à l'eau à An Nhon",
        summary="Reformuler un projet pilote avec la province de Binh Dinh.",
        themes=["water_sanitation"], countries=["VN"], closed_at=at(2024, 6, 20),
        is_public=True, **money)
    mission = f.make_mission(water, coop_eau)
    mission.summary = "Après analyse et réorientation, services d'eau dans trois communes rurales."
    mission.starts_on, mission.ends_on = date(2023, 11, 6), date(2024, 5, 31)
    mission.daily_rate, mission.contracted_days = Decimal("650.00"), Decimal("15")
    mission.travel_costs = Decimal("2345.67")
    deliverable(mission, "Étude des besoins locaux", file_name="etude-besoins.pdf")
    deliverable(mission, "Plan d'action", final=True, file_name="plan-action.pdf")

    climate = f.make_application(
        call_2025, grenoble, S.CLOSED, title="Le climat dans l'action internationale",
        summary="Intégrer les enjeux climatiques aux coopérations.", themes=["climate"],
        countries=["SN", "BF"], closed_at=at(2026, 4, 2), **money)
    mission = f.make_mission(climate, climat)
    mission.summary = "Une feuille de route climat pour les partenariats de la ville."
    deliverable(mission, "Feuille de route", final=True)

    culture = f.make_application(
        aap, gennevilliers, S.CLOSED, title="Résidences d'artistes à Gyumri",
        summary="Échanges culturels entre jeunes.", themes=["culture"], countries=["AM"],
        closed_at=at(2026, 11, 2), is_public=True, **money)
    running = f.make_application(
        call_2025, marseille, S.IN_PROGRESS, title="Réseau d'eau et climat à Marseille",
        summary="Eau potable.", themes=["water_sanitation"], countries=["VN"], is_public=True,
        **money)
    f.make_mission(running, coop_eau)

    world = World(
        water=water, climate=climate, culture=culture, running=running,
        manager=f.make_user(Role.MANAGER), admin=f.make_user(Role.ADMIN),
        reviewer=f.make_user(Role.REVIEWER), committee=f.make_user(Role.COMMITTEE),
        member=f.make_user(Role.APPLICANT, organisation=marseille, signatory=True),
        own_member=f.make_user(Role.APPLICANT, organisation=grenoble, signatory=True),
        pending_member=f.make_user(Role.APPLICANT, organisation=marseille,
                                   membership=MembershipStatus.PENDING),
        expert_user=f.make_user(Role.EXPERT, expert=climat),
        other_expert_user=f.make_expert_user(name="Territoires Solidaires"),
    )
    db.session.commit()
    return world


def titles(user, query="", **filters) -> set[str]:
    results = services.search(user, query, SearchFilters(**filters))
    return {support.application.title for support in results.supports}


WATER, CLIMATE = "Projet pilote d'accès à l'eau à An Nhon", "Le climat dans l'action internationale"
CULTURE = "Résidences d'artistes à Gyumri"


# --- text -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "expected"), [
    ("ACCES", {WATER}),  # the title, without its accent, in capitals
    ("réorientation rurales", {WATER}),  # two words of the mission's summary
    ("ETUDE des BESOINS", {WATER}),  # a deliverable's title
    ("feuille de route", {CLIMATE}),  # the mission's summary and a deliverable
    ("coop’eau", {WATER}),  # the expert, typographic apostrophe
    ("fensch", {WATER}),  # the organisation
    ("gyumri", {CULTURE}),  # a support without expert nor mission
    ("echanges culturels", {CULTURE}),  # the dossier's summary
    ("climatiques", {CLIMATE}),
    ("eau climat", set()),  # every word must be found in the same support
    ("inexistant", set()),
    ("", {WATER, CLIMATE, CULTURE}),
    ("%", set()),  # LIKE's and regular expressions' characters are plain characters
    (".*", set()),
])
def test_text_search_ignores_case_and_accents(world, query, expected):
    assert titles(world.manager, query) == expected


def test_accented_query_finds_unaccented_text():
    assert matches("Reseau d'eau potable", "réseau")
    assert matches("RÉSEAU D’EAU", "reseau d'eau")
    assert matches("Viêt Nam", "VIET")
    assert not matches("Résidences", "residents")


def test_results_come_most_recently_closed_first_a_page_at_a_time(world):
    results = services.search(world.manager, "", SearchFilters(), page=1, per_page=2)
    assert [s.application.title for s in results.supports] == [CULTURE, CLIMATE]
    assert results.page.total == 3 and results.page.pages == 2
    second = services.search(world.manager, "", SearchFilters(), page=2, per_page=2)
    assert [s.application.title for s in second.supports] == [WATER]
    water = second.supports[0]
    assert water.expert.name == "Coop'Eau Conseil"
    assert [d.title for d in water.deliverables] == ["Étude des besoins locaux", "Plan d'action"]


# --- filters --------------------------------------------------------------------------------


@pytest.mark.parametrize(("filters", "expected"), [
    ({"theme": "water_sanitation"}, {WATER}),
    ({"theme": "climate"}, {CLIMATE}),
    ({"country": "BF"}, {CLIMATE}),
    ({"country": "VN"}, {WATER}),
    ({"dimension": "project"}, {WATER}),
    ({"dimension": "climate"}, {CLIMATE}),
    ({"year": 2023}, {WATER}),
    ({"year": 2024}, {CLIMATE}),  # the 11th call opened in October 2024
    ({"year": 2026}, {CULTURE}),
    ({"year": 2025}, set()),
    ({"theme": "climate", "country": "VN"}, set()),
])
def test_each_filter_narrows_the_search(world, filters, expected):
    assert titles(world.manager, **filters) == expected


def test_expert_filter(world):
    climat = world.expert_user.expert_id
    assert titles(world.manager, expert_id=climat) == {CLIMATE}
    assert titles(world.manager, "feuille", expert_id=climat) == {CLIMATE}
    assert titles(world.manager, "eau", expert_id=climat) == set()


def test_facets_offer_what_the_user_may_see(world):
    everything = services.facets(world.manager)
    assert everything.themes == ["climate", "culture", "water_sanitation"]
    assert everything.countries == ["AM", "BF", "SN", "VN"]
    assert dict(everything.dimensions) == {"project": "Montage de projet",
                                           "climate": "Enjeux climatiques",
                                           "strategy": "Stratégie internationale"}
    assert [name for _id, name in everything.experts] == ["Climat Territoires Conseil",
                                                          "Coop'Eau Conseil"]
    assert everything.years == [2026, 2024, 2023]
    public = services.facets(world.member)
    assert public.themes == ["culture", "water_sanitation"] and "BF" not in public.countries
    assert [name for _id, name in public.experts] == ["Coop'Eau Conseil"]


def test_filters_from_the_address_only_take_offered_values(world, client):
    login(client, world.member)
    hidden_expert = world.expert_user.expert_id  # only on a support that is not public
    page = text_of(client.get(f"/capitalisation?expert={hidden_expert}&theme=climate"))
    assert "2 accompagnements" in page  # the odd values filtered nothing, and leaked nothing
    assert "Climat Territoires Conseil" not in page


# --- who sees what --------------------------------------------------------------------------


USERS = ("manager", "admin", "reviewer", "committee", "member", "own_member", "pending_member",
         "expert_user", "other_expert_user")


@pytest.mark.parametrize("who", USERS)
def test_search_shows_exactly_what_the_permission_allows(world, who):
    user = getattr(world, who)
    found = {s.application.id for s in services.search(user, "", SearchFilters()).supports}
    for application in (world.water, world.climate, world.culture, world.running):
        assert (application.id in found) is can(user, Action.CAPITALISATION_VIEW, application), \
            application.title


@pytest.mark.parametrize("who", ["manager", "admin", "reviewer", "committee"])
def test_cuf_staff_see_every_closed_support(world, who):
    assert titles(getattr(world, who)) == {WATER, CLIMATE, CULTURE}


@pytest.mark.parametrize("who", ["member", "own_member", "expert_user", "other_expert_user"])
def test_collectivites_and_experts_see_only_public_closed_supports(world, client, who):
    user = getattr(world, who)
    assert titles(user) == {WATER, CULTURE}  # of any organisation, and not even their own
    login(client, user)
    page = text_of(client.get("/capitalisation"))
    assert WATER in page and CULTURE in page
    assert CLIMATE not in page and "Réseau d'eau et climat" not in page
    assert client.get(f"/capitalisation/{world.water.id}").status_code == 200
    assert client.get(f"/capitalisation/{world.climate.id}").status_code == 404
    assert client.get(f"/capitalisation/{world.running.id}").status_code == 404


def test_a_collectivite_still_sees_its_own_dossiers(world, client):
    login(client, world.own_member)
    assert CLIMATE in text_of(client.get("/dossiers/"))


def test_a_membership_not_yet_validated_sees_nothing(world, client):
    assert titles(world.pending_member) == set()
    login(client, world.pending_member)
    assert client.get("/capitalisation").status_code == 404
    assert client.get(f"/capitalisation/{world.water.id}").status_code == 404


def test_anonymous_visitors_are_sent_to_the_login_page(world, client):
    assert client.get("/capitalisation").status_code == 302
    assert client.get(f"/capitalisation/{world.water.id}").status_code == 302


def test_dossiers_never_closed_never_appear(world, client):
    login(client, world.manager)
    assert "Réseau d'eau et climat" not in text_of(client.get("/capitalisation?q=eau"))
    assert client.get(f"/capitalisation/{world.running.id}").status_code == 404
    assert titles(world.manager, "marseille") == set()


# --- the pages ------------------------------------------------------------------------------


def test_detail_shows_the_support_and_its_deliverables(world, client):
    login(client, world.member)
    response = client.get(f"/capitalisation/{world.water.id}")
    page = text_of(response)
    for shown in (WATER, "Syndicat mixte Fensch Lorraine", "Syndicat (mixte, intercommunal)",
                  "Grand Est", "DCOL — 9e appel", "Montage de projet", "Eau et assainissement",
                  "Coop'Eau Conseil", "trois communes rurales", "province de Binh Dinh",
                  "Étude des besoins locaux", "Plan d'action", "20 juin 2024"):
        assert shown in page, shown
    assert "Rendre public" not in page  # managers only


def test_deliverable_links_follow_the_download_permission(world, client):
    files = db.session.scalars(
        sa.select(Document).where(Document.application_id == world.water.id)).all()
    for user in (world.manager, world.member):
        client.post("/deconnexion")
        login(client, user)
        page = client.get(f"/capitalisation/{world.water.id}").get_data(as_text=True)
        for document in files:
            link = f'href="/documents/{document.id}"'
            if can(user, Action.DOCUMENT_DOWNLOAD, document):
                assert link in page
                assert client.get(f"/documents/{document.id}").status_code == 200
            else:
                assert link not in page and document.original_name in page
    assert can(world.manager, Action.DOCUMENT_DOWNLOAD, files[0])


@pytest.mark.parametrize("who", ["manager", "member", "reviewer", "expert_user"])
def test_no_amount_is_ever_shown(world, client, who):
    login(client, getattr(world, who))
    pages = [client.get("/capitalisation"), client.get(f"/capitalisation/{world.water.id}"),
             client.get(f"/capitalisation/{world.culture.id}")]
    for response in pages:
        assert response.status_code == 200
        page = text_of(response)
        assert "€" not in page and "EUR" not in page
        for amount in ("12 500", "12500", "9 876", "9876", "10 000", "650", "2 345", "2345"):
            assert amount not in page, amount


def test_search_page_keeps_the_search_in_its_links(world, client, monkeypatch):
    monkeypatch.setattr(services, "PER_PAGE", 1)
    login(client, world.manager)
    response = client.get("/capitalisation?q=l’ACTION&annee=2024&theme=unknown")
    body = response.get_data(as_text=True)
    assert "1 accompagnement" in text_of(response) and CLIMATE in text_of(response)
    assert 'value="l’ACTION"' in body  # the words searched stay in the field
    assert '<option selected value="2024">' in body

    response = client.get("/capitalisation?q=conseil")  # both experts' supports
    body = html.unescape(response.get_data(as_text=True))
    assert "Page 1 sur 2" in text_of(response) and CLIMATE in text_of(response)
    assert 'href="/capitalisation?page=2&q=conseil"' in body
    second = client.get("/capitalisation?page=2&q=conseil")
    assert WATER in text_of(second) and CLIMATE not in text_of(second)


def test_the_search_takes_a_fixed_number_of_queries(world):
    def count() -> int:
        db.session.expire_all()
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        sa.event.listen(db.engine, "before_cursor_execute", listener)
        try:
            results = services.search(world.manager, "", SearchFilters())
            for support in results.supports:  # what the page reads
                _ = (support.application.organisation.name, support.application.call.title,
                     support.application.track, support.expert,
                     [d.title for d in support.deliverables])
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    with_three = count()
    for n in range(3):
        more = f.make_application(world.water.call, world.water.organisation, S.CLOSED,
                                  title=f"Autre {n}", closed_at=at(2024, 1, n + 1))
        deliverable(f.make_mission(more, f.make_expert(f"Expert {n}")), f"Livrable {n}")
    db.session.commit()
    assert count() == with_three


# --- making a support public ----------------------------------------------------------------


def test_manager_makes_a_support_public_and_it_is_audited(world, client):
    login(client, world.manager)
    page = text_of(client.get(f"/capitalisation/{world.climate.id}"))
    assert "Réservé aux équipes de Cités Unies France" in page and "Rendre public" in page
    response = client.post(f"/capitalisation/{world.climate.id}/publication",
                           data={"public": "oui", "reason": "Bilan exemplaire, accord de la ville."})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Application, world.climate.id).is_public
    entry = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.application_id == world.climate.id).order_by(AuditEvent.sequence.desc())
    ).first()
    assert entry.event == services.PUBLISHED and entry.actor_id == world.manager.id
    assert entry.comment == "Bilan exemplaire, accord de la ville."
    assert entry.payload == {"is_public": True}

    client.post("/deconnexion")
    login(client, world.member)
    assert client.get(f"/capitalisation/{world.climate.id}").status_code == 200
    assert CLIMATE in text_of(client.get("/capitalisation"))


def test_manager_withdraws_a_public_support(world):
    services.set_public(world.water, world.manager, False, "Demande de la collectivité.")
    db.session.commit()
    assert titles(world.member) == {CULTURE}
    assert titles(world.manager) == {WATER, CLIMATE, CULTURE}
    entry = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.application_id == world.water.id)).one()
    assert entry.event == services.UNPUBLISHED and entry.comment == "Demande de la collectivité."


def test_a_reason_is_required(world, client):
    login(client, world.manager)
    response = client.post(f"/capitalisation/{world.climate.id}/publication",
                           data={"public": "oui", "reason": "  "})
    assert response.status_code == 422
    assert "Indiquez pourquoi." in text_of(response)
    db.session.expire_all()
    assert not db.session.get(Application, world.climate.id).is_public
    with pytest.raises(InputRefused):
        services.set_public(world.climate, world.manager, True, " ")


def test_publishing_twice_is_refused(world, client):
    with pytest.raises(NotApplicable):
        services.set_public(world.water, world.manager, True, "Encore.")
    login(client, world.manager)
    response = client.post(f"/capitalisation/{world.water.id}/publication",
                           data={"public": "oui", "reason": "Encore."})
    assert response.status_code == 409 and "déjà public" in text_of(response)


@pytest.mark.parametrize("who", ["admin", "reviewer", "own_member", "expert_user"])
def test_only_managers_publish(world, client, who):
    user = getattr(world, who)
    with pytest.raises(Forbidden):
        services.set_public(world.climate, user, True, "Pourquoi pas.")
    login(client, user)
    assert "Rendre public" not in text_of(client.get(f"/capitalisation/{world.water.id}"))
    response = client.post(f"/capitalisation/{world.climate.id}/publication",
                           data={"public": "oui", "reason": "Pourquoi pas."})
    assert response.status_code == 404
    db.session.expire_all()
    assert not db.session.get(Application, world.climate.id).is_public


def test_a_support_not_closed_cannot_be_published(world, client):
    with pytest.raises(Forbidden):
        services.set_public(world.running, world.manager, False, "Pas encore clôturé.")
    login(client, world.manager)
    response = client.post(f"/capitalisation/{world.running.id}/publication",
                           data={"public": "non", "reason": "Pas encore clôturé."})
    assert response.status_code == 404
