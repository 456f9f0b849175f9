"""The dossier form in a real browser never loses what the officer typed: autosaves wait for each
other, a half-typed budget line does not stop the rest from being saved, leaving right after
typing waits for the save or asks first, and the country picker saves what is chosen."""

from __future__ import annotations

import re
import time
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import Page, Route, expect

from dcol.applications.services import create_application
from dcol.extensions import db
from dcol.models import Application, Call, CallKind, Role
from tests import factories as f
from tests import workflow_support as ws
from tests.browser.conftest import TIMEOUT_MS
from tests.conftest import empty_database

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def call_id(live_server) -> int:
    """An open call for projects (communes eligible), emptied with everything else afterwards."""
    with live_server.app.app_context():
        call = ws.make_call_for(CallKind.AAP)
        db.session.commit()
        ident = call.id
        db.session.remove()
    try:
        yield ident
    finally:
        with live_server.app.app_context():
            db.session.rollback()
            empty_database()
            db.session.remove()


@pytest.fixture
def officer(page: Page, live_server, call_id) -> int:
    """A signatory of a commune with a fresh draft, signed in on ``page``; the draft's id."""
    with live_server.app.app_context():
        organisation = f.make_organisation("Commune de Moirans")
        user = f.make_user(Role.APPLICANT, organisation=organisation, signatory=True)
        call = db.session.get(Call, call_id)
        application = create_application(call, user, track=call.tracks[0])
        db.session.commit()
        email, application_id = user.email, application.id
        db.session.remove()
    page.goto("/connexion")
    page.get_by_label("Adresse e-mail", exact=True).fill(email)
    page.get_by_label("Mot de passe", exact=True).fill(f.PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Bonjour "))
    return application_id


def stored(live_server, application_id: int) -> Application:
    """The dossier as the database has it now (detached: read its columns only)."""
    with live_server.app.app_context():
        application = db.session.get(Application, application_id)
        application.budget_lines  # noqa: B018 (loaded before the session closes)
        db.session.expunge_all()
        db.session.remove()
    return application


def eventually(live_server, application_id: int, condition) -> Application:
    """The stored dossier, once ``condition`` holds of it (an autosave's answer may be read by
    the page a moment before the test looks)."""
    for _ in range(TIMEOUT_MS // 50):
        application = stored(live_server, application_id)
        if condition(application):
            return application
        time.sleep(0.05)
    raise AssertionError("the dossier was never saved as expected")


def open_section(page: Page, application_id: int, section: str) -> str:
    path = f"/dossiers/{application_id}/formulaire/{section}"
    page.goto(path)
    page.wait_for_load_state()  # the form's scripts are ready
    return path


def autosave_status(page: Page):
    return page.locator(".autosave-status")


class Autosaves:
    """Records the autosaves the page sends to ``path``; the first ``hold`` of them are held
    before they reach the server, until ``release``."""

    def __init__(self, page: Page, path: str, hold: int = 0):
        self.sent: list[dict] = []
        self.held: list[Route] = []
        self.hold = hold
        page.route(f"**{path}", self._handle)

    def _handle(self, route: Route) -> None:
        if route.request.headers.get("x-autosave") != "1":
            route.continue_()
            return
        self.sent.append(parse_qs(route.request.post_data or ""))
        if len(self.sent) <= self.hold:
            self.held.append(route)
        else:
            route.continue_()

    def wait_for(self, page: Page, count: int) -> None:
        for _ in range(TIMEOUT_MS // 20):
            if len(self.sent) >= count:
                return
            page.wait_for_timeout(20)
        raise AssertionError(f"{len(self.sent)} autosave(s) sent, {count} expected")

    def release(self, **fulfil) -> None:
        while self.held:
            route = self.held.pop(0)
            if fulfil:
                route.fulfill(**fulfil)
            else:
                route.continue_()


def test_autosaves_wait_for_each_other(page: Page, live_server, officer):
    path = open_section(page, officer, "general")
    autosaves = Autosaves(page, path, hold=1)
    page.get_by_label("Titre du projet").fill("Résidences d'artistes")
    page.get_by_label("Résumé").click()  # leaving the title saves it
    autosaves.wait_for(page, 1)
    page.get_by_label("Résumé").fill("Des résidences croisées de jeunes artistes.")
    page.get_by_label("Titre du projet").click()  # leaving the summary asks for another save
    page.wait_for_timeout(500)
    assert len(autosaves.sent) == 1, "a second autosave left while the first was under way"

    autosaves.release()
    autosaves.wait_for(page, 2)
    # The second one went with the version the first one brought back.
    first, second = autosaves.sent
    assert int(second["version"][0]) == int(first["version"][0]) + 1
    expect(autosave_status(page)).to_contain_text("Brouillon enregistré automatiquement")
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(autosave_status(page)).not_to_contain_text("modifié")
    application = eventually(live_server, officer, lambda a: a.summary)
    assert application.title == "Résidences d'artistes"
    assert application.summary == "Des résidences croisées de jeunes artistes."


def test_autosave_keeps_the_budget_while_a_line_is_half_typed(page: Page, live_server, officer):
    open_section(page, officer, "budget")
    page.get_by_label("Montant de subvention demandé, en euros").fill("8 000,50")
    label = page.get_by_label("Intitulé de la ligne 1")
    label.press_sequentially("Résidences d'artistes")  # the amount comes next
    page.get_by_label("Type de la ligne 1").focus()  # leaving the label saves
    status = autosave_status(page)
    expect(status).to_contain_text("Brouillon enregistré automatiquement")
    expect(status).to_contain_text(
        "Les lignes de budget incomplètes (sans intitulé ou sans montant) ne sont pas encore "
        "enregistrées."
    )
    application = stored(live_server, officer)
    assert application.requested_amount == Decimal("8000.50") and application.budget_lines == []

    # Until the line is complete and saved, leaving asks first.
    page.once("dialog", lambda dialog: dialog.dismiss())
    with page.expect_event("dialog") as leaving:
        page.evaluate("history.back()")
    assert leaving.value.type == "beforeunload"

    page.get_by_label("Montant de la ligne 1").fill("10 000")
    expect(page.locator('[data-total="expense"]')).to_have_text("10 000,00 €")
    label.focus()
    expect(status).to_contain_text("Brouillon enregistré automatiquement")
    expect(status).not_to_contain_text("incomplètes")
    lines = stored(live_server, officer).budget_lines
    assert [(line.label, line.amount) for line in lines] == [
        ("Résidences d'artistes", Decimal("10000.00"))]


def test_a_save_button_pressed_as_the_status_changes_still_saves(page: Page, officer):
    open_section(page, officer, "budget")
    page.get_by_label("Intitulé de la ligne 1").fill("Résidences d'artistes")  # no amount yet
    page.get_by_label("Type de la ligne 1").focus()  # saves, but not the line: still unsaved
    expect(autosave_status(page)).to_contain_text("ne sont pas encore enregistrées")  # long
    # At the end of the page, pressing the button saves again (the focus leaves the line):
    # the shorter status ("Enregistrement…") must not shorten the page, which would move the
    # button away before the release and lose the click.
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.get_by_role("alert")).to_contain_text("Indiquez le montant de cette ligne.")
    expect(page.get_by_label("Intitulé de la ligne 1")).to_have_value("Résidences d'artistes")


def test_following_a_link_right_after_typing_waits_for_the_save(page: Page, live_server,
                                                                  officer):
    path = open_section(page, officer, "general")
    autosaves = Autosaves(page, path, hold=1)
    page.get_by_label("Titre du projet").press_sequentially("Jumelage")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.dismiss()))
    page.get_by_role("navigation", name="Sections du dossier").get_by_role(
        "link", name="Le projet").click()
    autosaves.wait_for(page, 1)
    page.wait_for_timeout(300)
    expect(page.get_by_role("heading", level=1)).to_have_text("Présentation du projet")

    autosaves.release()  # the save reaches the server only now: the page waited for it
    expect(page.get_by_role("heading", level=1)).to_have_text("Le projet")
    assert dialogs == []
    assert stored(live_server, officer).title == "Jumelage"


def test_leaving_while_a_save_is_under_way_or_failed_asks_first(page: Page, officer):
    path = open_section(page, officer, "general")
    autosaves = Autosaves(page, path, hold=1)
    title = page.get_by_label("Titre du projet")
    title.press_sequentially("Jumelage")  # typed: Chromium asks only after a real gesture
    title.evaluate("field => field.blur()")
    autosaves.wait_for(page, 1)

    page.once("dialog", lambda dialog: dialog.dismiss())
    with page.expect_event("dialog") as leaving:
        page.evaluate("history.back()")
    assert leaving.value.type == "beforeunload"

    autosaves.release(status=500, body="Erreur")
    expect(autosave_status(page)).to_contain_text("Enregistrement automatique impossible")
    page.once("dialog", lambda dialog: dialog.dismiss())
    with page.expect_event("dialog") as leaving:
        page.evaluate("history.back()")
    assert leaving.value.type == "beforeunload"
    expect(title).to_have_value("Jumelage")


def test_a_save_under_way_ends_on_the_server_after_the_page_is_left(page: Page, live_server,
                                                                    officer):
    path = open_section(page, officer, "general")
    autosaves = Autosaves(page, path, hold=1)
    title = page.get_by_label("Titre du projet")
    title.press_sequentially("Jumelage")
    title.evaluate("field => field.blur()")
    autosaves.wait_for(page, 1)
    page.on("dialog", lambda dialog: dialog.accept())  # "Leave the page?" Yes.
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Bonjour "))

    autosaves.release()  # reaches the server after the page has gone (a keepalive fetch)
    assert eventually(live_server, officer, lambda a: a.title).title == "Jumelage"


def test_countries_are_chosen_by_typing_and_removed_from_their_chip(page: Page, live_server,
                                                                    officer):
    open_section(page, officer, "project")
    search = page.get_by_role("combobox", name="Lieux de l'action (pays)")
    chosen = page.get_by_role("list", name="Pays choisis")
    expect(page.get_by_text("Tapez les premières lettres d'un pays")).to_be_visible()
    expect(page.get_by_text("Aucun pays choisi pour l'instant.")).to_be_visible()

    search.press_sequentially("senegal")  # without the accent
    options = page.get_by_role("listbox", name="Pays proposés").get_by_role("option")
    expect(options).to_have_text(["Sénégal"])
    search.press("Enter")
    search.press_sequentially("arm")
    search.press("ArrowDown")  # from the first match to the next one, if any
    search.press("ArrowUp")
    search.press("Enter")
    expect(chosen.get_by_role("listitem")).to_have_text(["Arménie×", "Sénégal×"])
    search.press_sequentially("zzz")
    expect(page.locator(".picker-none")).to_have_text("Aucun pays ne correspond à « zzz ».")
    search.press("Escape")
    search.press("Escape")
    expect(search).to_have_value("")

    search.press("Tab")  # leaving the field saves the choice
    expect(autosave_status(page)).to_contain_text("Brouillon enregistré automatiquement")
    assert sorted(stored(live_server, officer).countries) == ["AM", "SN"]

    chosen.get_by_role("button", name="Retirer Arménie").click()
    expect(chosen.get_by_role("listitem")).to_have_text(["Sénégal×"])
    expect(chosen.get_by_role("button", name="Retirer Sénégal")).to_be_focused()
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.locator(".flashes")).to_contain_text("Section enregistrée.")
    expect(chosen.get_by_role("listitem")).to_have_text(["Sénégal×"])
    assert stored(live_server, officer).countries == ["SN"]
