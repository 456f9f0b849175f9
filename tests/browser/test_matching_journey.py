"""Expert matching through a real browser: the manager reads the optimal proposal for the call's
dossiers in matching and confirms it, the proposed expert declines with a reason, the dossier goes
back to matching without that expert, the manager confirms the new proposal, and the other expert
declares no conflict and accepts: the dossier reaches the agreement stage."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from dcol.extensions import db
from dcol.models import (
    Application,
    ApplicationState,
    CallKind,
    Expert,
    Mission,
    MissionProposal,
    ProposalStatus,
)
from tests import workflow_support as ws
from tests.browser.test_selection_journey import flash, log_in
from tests.conftest import empty_database

pytestmark = pytest.mark.browser
S = ApplicationState


@pytest.fixture
def world(live_server):
    """A DCOL call with one water dossier (Vietnam) in matching, and two experts: a water
    consultancy that knows Vietnam, and a climate consultancy."""
    with live_server.app.app_context():
        call = ws.make_call_for(CallKind.DCOL)
        call.title = "DCOL — 13e appel"
        cast = ws.make_cast(call)
        water = db.session.get(Expert, cast.expert_user.expert_id)
        water.skills, water.countries, water.languages = ["water_sanitation"], ["VN"], ["fr", "vi"]
        water.references = "Projets pilotes d'eau potable en zone rurale au Vietnam."
        climate = db.session.get(Expert, cast.other_expert_user.expert_id)
        climate.skills, climate.regions, climate.languages = ["climate"], ["asia"], ["fr"]
        climate.references = "Plans climat et adaptation des services urbains."
        application = ws.complete_dossier(call, cast)
        application.title = "Eau potable à An Nhon"
        application.themes = ["water_sanitation"]
        ws.drive_to(application, cast, S.MATCHING)
        db.session.commit()
        ids = {
            "call": call.id, "application": application.id, "reference": application.reference,
            "manager": cast.manager.email, "water_user": cast.expert_user.email,
            "climate_user": cast.other_expert_user.email, "water": water.id,
            "climate": climate.id,
        }
        db.session.remove()
    try:
        yield ids
    finally:
        with live_server.app.app_context():
            db.session.rollback()
            empty_database()
            db.session.remove()


def confirm_the_proposal(page: Page, world, expert_name: str) -> None:
    page.goto(f"/appels/{world['call']}/recherche-expert")
    row = page.locator(f'tr[data-reference="{world["reference"]}"]')
    expect(row.locator("td.proposed")).to_contain_text(expert_name)
    expect(row.get_by_label("Proposer à l'expert")).to_be_checked()
    page.get_by_role("button", name="Envoyer les propositions cochées").click()
    expect(flash(page)).to_contain_text("1 proposition(s) envoyée(s) aux experts")


def open_the_proposal(page: Page, world) -> None:
    page.goto("/experts/propositions")
    page.get_by_role("link", name=re.compile(world["reference"])).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Proposition de mission")
    expect(page.locator("main")).to_contain_text("Eau potable à An Nhon")
    expect(page.locator("main")).not_to_contain_text("/ 100")


def test_propose_decline_rematch_accept(page, new_page, live_server, world):
    # The manager reads the proposal: the water consultancy, with the climate one as alternate.
    log_in(page, world["manager"])
    page.goto(f"/appels/{world['call']}/recherche-expert")
    row = page.locator(f'tr[data-reference="{world["reference"]}"]')
    expect(row.locator("td.proposed")).to_contain_text("Coop'Eau Conseil")
    expect(row.locator("td.alternates")).to_contain_text("Climat Territoires Conseil")
    row.locator("td.proposed summary").click()
    expect(row.locator('tr[data-part="zone"]')).to_contain_text("Viêt Nam")
    confirm_the_proposal(page, world, "Coop'Eau Conseil")

    # The water consultancy declines, with its reason.
    water = new_page()
    log_in(water, world["water_user"])
    open_the_proposal(water, world)
    water.get_by_label("Motif du refus").fill("Équipe entièrement mobilisée jusqu'en juin.")
    water.get_by_role("button", name="Décliner la mission").click()
    expect(flash(water)).to_be_visible()

    # Back in matching: the decline is listed, and the proposal now goes to the other expert.
    page.goto(f"/dossiers/{world['application']}/recherche-expert")
    excluded = page.locator('table.excluded tr[data-expert="Coop\'Eau Conseil"]')
    expect(excluded).to_contain_text("A déjà décliné ce dossier")
    confirm_the_proposal(page, world, "Climat Territoires Conseil")

    # The climate consultancy must declare no conflict before accepting.
    climate = new_page()
    log_in(climate, world["climate_user"])
    open_the_proposal(climate, world)
    climate.get_by_role("button", name="Accepter la mission").click()
    expect(climate.locator(".error, .flash-error").first).to_be_visible()
    climate.get_by_label(re.compile("Je déclare n'avoir aucun lien")).check()
    climate.get_by_role("button", name="Accepter la mission").click()
    expect(flash(climate)).to_be_visible()

    page.goto(f"/dossiers/{world['application']}")
    expect(page.locator("#etat-dossier")).to_have_text("Conventionnement")
    with live_server.app.app_context():
        application = db.session.get(Application, world["application"])
        assert application.state is S.AGREEMENT
        statuses = {p.expert_id: p.status for p in db.session.scalars(
            sa.select(MissionProposal).where(MissionProposal.application_id == application.id))}
        assert statuses == {world["water"]: ProposalStatus.DECLINED,
                            world["climate"]: ProposalStatus.ACCEPTED}
        mission = db.session.scalars(sa.select(Mission).where(
            Mission.application_id == application.id)).one()
        assert mission.expert_id == world["climate"]
        db.session.remove()
