"""Signing in and out through a real browser: each demo role's home page and menu, French
errors, throttled password guessing and the skip link."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from dcol.demo import DEMO_ACCOUNTS, DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("demo_data")]

LOGIN_PATH = "/connexion"
WRONG_PASSWORD = "not-the-demo-password"
APPLICANT_EMAIL = next(email for role, email, _ in DEMO_ACCOUNTS if role == "applicant")

# What a visitor who is not signed in sees.
ANONYMOUS_MENU = ["Appels ouverts"]
# The whole menu each role sees, in order: what is absent matters as much as what is there.
MENUS = {
    "applicant": ["Accueil", "Dossiers", "Appels ouverts", "Mon organisation",
                  "Suivi des accompagnements", "Capitalisation", "Jetons d'API"],
    "reviewer": ["Accueil", "Dossiers", "Mes évaluations", "Capitalisation", "Jetons d'API"],
    "committee": ["Accueil", "Dossiers", "Instruction des appels", "Capitalisation",
                  "Jetons d'API"],
    "manager": ["Accueil", "Dossiers", "Instruction des appels", "Vivier d'experts",
                "Suivi des accompagnements", "Pilotage", "Capitalisation", "Organisations",
                "Inscriptions à valider", "Jetons d'API"],
    "expert": ["Accueil", "Dossiers", "Mes propositions", "Ma fiche expert",
               "Suivi des accompagnements", "Capitalisation", "Jetons d'API"],
    "admin": [
        "Accueil", "Dossiers", "Instruction des appels", "Vivier d'experts",
        "Suivi des accompagnements", "Pilotage", "Capitalisation", "Organisations",
        "Inscriptions à valider", "Utilisateurs", "Jetons d'API",
    ],
}
QUEUE_HEADINGS = {
    "applicant": "Dossiers de mon organisation à compléter",
    "reviewer": "Évaluations qui vous sont confiées",
    "committee": "Vos prochains comités de sélection",
    "manager": "À traiter par le chargé de mission",
    "expert": "Propositions et missions",
    "admin": "Administration",
}


def submit_login(page: Page, email: str, password: str) -> None:
    page.get_by_label("Adresse e-mail", exact=True).fill(email)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    page.get_by_role("button", name="Se connecter").click()


def test_demo_accounts_cover_every_role():
    # The parametrised journey below is only complete if every role has its demo account.
    assert sorted(role for role, _, _ in DEMO_ACCOUNTS) == sorted(MENUS)


@pytest.mark.parametrize(
    ("role", "email", "full_name"), DEMO_ACCOUNTS, ids=[role for role, _, _ in DEMO_ACCOUNTS]
)
def test_each_role_signs_in_to_their_work_queue_and_menu_then_signs_out(
    page: Page, role: str, email: str, full_name: str
):
    page.goto(LOGIN_PATH)
    submit_login(page, email, DEMO_PASSWORD)

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page).to_have_title(re.compile(r"^Mon espace — "))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Bonjour {full_name}")
    queues = page.locator("section.work-queue")
    expect(queues).to_have_count(1)
    queue = page.locator(f'section[data-role="{role}"]')
    expect(queue).to_be_visible()
    expect(queue.get_by_role("heading", level=2)).to_contain_text(QUEUE_HEADINGS[role])
    menu = page.get_by_role("navigation", name="Menu principal")
    expect(menu.get_by_role("link")).to_have_text(MENUS[role])
    expect(menu.get_by_role("link", name="Accueil")).to_have_attribute("aria-current", "page")

    page.get_by_role("button", name="Se déconnecter").click()

    expect(page).to_have_url(re.compile(re.escape(LOGIN_PATH) + "$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
    expect(page.get_by_role("status")).to_contain_text("Vous êtes déconnecté.")
    expect(page.get_by_role("navigation", name="Menu principal").get_by_role("link")).to_have_text(
        ANONYMOUS_MENU
    )
    # The session is really gone: a members' page sends back to the login form.
    page.goto("/compte/jetons")
    expect(page).to_have_url(re.compile(re.escape(LOGIN_PATH) + r"\?next="))


def test_wrong_password_shows_french_error_and_keeps_the_email(page: Page):
    page.goto(LOGIN_PATH)

    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        submit_login(page, APPLICANT_EMAIL, WRONG_PASSWORD)

    assert answer.value.status == 422
    password = page.get_by_label("Mot de passe", exact=True)
    expect(page.get_by_text("Adresse e-mail ou mot de passe incorrect.")).to_be_visible()
    expect(password).to_have_accessible_description("Adresse e-mail ou mot de passe incorrect.")
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(password).to_be_focused()
    expect(password).to_have_value("")
    expect(page.get_by_label("Adresse e-mail", exact=True)).to_have_value(APPLICANT_EMAIL)
    expect(page.get_by_role("navigation", name="Menu principal").get_by_role("link")).to_have_text(
        ANONYMOUS_MENU
    )


def test_sixth_failed_login_within_a_minute_is_refused_with_429(page: Page):
    page.goto(LOGIN_PATH)
    for attempt in range(1, 6):
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            submit_login(page, APPLICANT_EMAIL, f"{WRONG_PASSWORD}-{attempt}")
        assert answer.value.status == 422, f"attempt {attempt}"
        expect(page.get_by_text("Adresse e-mail ou mot de passe incorrect.")).to_be_visible()

    # Throttled, even with the right password: guessing further is pointless.
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        submit_login(page, APPLICANT_EMAIL, DEMO_PASSWORD)

    assert answer.value.status == 429
    assert int(answer.value.headers["retry-after"]) > 0
    expect(page).to_have_title(re.compile(r"^Trop de tentatives — "))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Trop de tentatives")
    expect(page.get_by_role("main")).to_contain_text("Patientez quelques minutes")
    expect(page.get_by_role("navigation", name="Menu principal").get_by_role("link")).to_have_text(
        ANONYMOUS_MENU
    )


def test_skip_link_is_the_first_tab_stop_and_moves_focus_to_the_content(page: Page):
    page.goto(LOGIN_PATH)

    page.keyboard.press("Tab")

    skip_link = page.get_by_role("link", name="Aller au contenu")
    expect(skip_link).to_be_focused()
    expect(skip_link).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()
