"""The English interface is complete and stays so: every message of the source has an English
translation with the same placeholders, key pages hold no French once English is chosen, and
WTForms' own messages follow the user's language."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po
from flask_babel import force_locale, refresh

from dcol.applications.services import create_application
from dcol.extensions import db
from dcol.models import CallKind, DocumentRequirement, OrganisationKind, Role
from tests import factories as f
from tests import workflow_support as ws

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "dcol" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
# What `make translations` extracts: babel.cfg's mapping, Babel's keywords and the Makefile's -k.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "N_": None}
SOURCE_DIRS = {"dcol", "forms", "workflows", "templates"}  # those babel.cfg maps
# %(name)s in Python and Jinja, %% for a literal percent, {name} in texts given to JavaScript.
PLACEHOLDER = re.compile(r"%\(\w+\)[sdf]|%%|\{\w+\}")


def _extract(into: Path) -> Catalog:
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config, str(ROOT / "babel.cfg"))

    def only_sources(path: str) -> bool:
        relative = Path(path).relative_to(ROOT)
        return relative.parts[0] in SOURCE_DIRS and "__pycache__" not in relative.parts

    catalog = Catalog()
    for filename, lineno, message, _comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS, directory_filter=only_sources
    ):
        catalog.add(message, None, [(filename, lineno)], context=context)
    # Through a file, as `pybabel extract` does (flags such as python-format come from there).
    with into.open("wb") as pot:
        write_po(pot, catalog)
    with into.open("rb") as pot:
        return read_po(pot)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> Catalog:
    return _extract(tmp_path_factory.mktemp("i18n") / "messages.pot")


@pytest.fixture(scope="module")
def english() -> Catalog:
    with CATALOG.open("rb") as po:
        return read_po(po, locale="en")


def _forms(text: str | tuple | list) -> list[str]:
    return list(text) if isinstance(text, tuple | list) else [text]


def test_extraction_finds_messages_of_every_kind_of_source(extracted):
    ids = {_forms(message.id)[0] for message in extracted if message.id}
    assert "Connectez-vous pour accéder à cette page." in ids  # N_ in dcol/security.py
    assert "Adresse e-mail professionnelle" in ids  # _l in forms/
    assert "Enregistrer le brouillon" in ids  # a template using {% do %}
    assert "%(num)d dossier retenu à engager" in ids  # ngettext


def test_every_message_has_an_english_translation(extracted, english):
    untranslated, fuzzy, wrong_placeholders = [], [], []
    for message in extracted:
        if not message.id:
            continue
        translation = english.get(message.id)
        strings = _forms(translation.string) if translation is not None else []
        if not strings or not all(s.strip() for s in strings):
            untranslated.append(message.id)
            continue
        if translation.fuzzy:
            fuzzy.append(message.id)
        sources = _forms(message.id)
        for index, string in enumerate(strings):
            source = sources[min(index, len(sources) - 1)]
            if sorted(PLACEHOLDER.findall(source)) != sorted(PLACEHOLDER.findall(string)):
                wrong_placeholders.append((source, string))
    assert not untranslated, f"translate these (make translations): {untranslated}"
    assert not fuzzy, f"review these fuzzy translations: {fuzzy}"
    assert not wrong_placeholders, wrong_placeholders


# --- pages in English -----------------------------------------------------------------------

# Names that stay French in English: the network's, and the link to the French interface.
PROPER_NAMES = ("Cités Unies France", "Français")
FRENCH = re.compile(
    r"[àâçéèêëîïôûùœ]|\b(le|la|les|des|du|une|est|pour|avec|vous|votre|vos|dans|sur|pas|aux|"
    r"dossiers?|pièces?|appels?)\b",
    re.IGNORECASE,
)


def _shown_text(page: str) -> str:
    """What a reader (or a screen reader) gets: text, and attributes holding words — including
    the data-* texts given to JavaScript. Select options are lists of names (countries)."""
    page = re.sub(r"<(script|style|select)\b.*?</\1>", " ", page, flags=re.S)
    attributes = re.findall(
        r'\b(?:title|placeholder|aria-label|alt|data-[\w-]+)="([^"]*)"', page
    )
    words = [value for value in attributes if not re.fullmatch(r"[\w/.:#-]*", value)]  # no codes
    text = " ".join([re.sub(r"<[^>]+>", " ", page), *words])
    text = html.unescape(text)
    for name in PROPER_NAMES:
        text = text.replace(name, " ")
    return text


def _leftover_french(page: str) -> list[str]:
    text = _shown_text(page)
    return sorted({text[max(0, m.start() - 30):m.end() + 30].strip()
                   for m in FRENCH.finditer(text)})


@pytest.fixture
def english_world(app, client):
    """A call for projects, an officer of a local authority and a draft, all named in English
    (so that any French on the page comes from the interface), seen in English."""
    call = ws.make_call_for(CallKind.AAP)
    call.title = "Decentralised cooperation 2026"
    call.tracks[0].name = "International strategy"
    call.document_requirements[0].label = "Council resolution"
    call.document_requirements.append(
        DocumentRequirement(code="budget", label="Detailed budget", is_required=False, position=2)
    )
    organisation = f.make_organisation("Testville", kind=OrganisationKind.COMMUNE)
    officer = f.make_user(Role.APPLICANT, organisation=organisation, signatory=True)
    officer.full_name = "Alex Smith"
    application = create_application(call, officer, title="Clean water", track=call.tracks[0])
    db.session.commit()
    client.get("/langue/en")
    refresh()  # the requests share the test's application context, where the locale is kept
    response = client.post("/connexion", data={"email": officer.email, "password": f.PASSWORD})
    assert response.status_code == 302
    return application


def test_login_page_has_no_french_in_english(client):
    client.get("/langue/en")
    refresh()
    page = client.get("/connexion").get_data(as_text=True)
    assert "Sign in" in page and "Forgotten your password?" in page
    assert _leftover_french(page) == []


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/appels/", ["Open calls", "Decentralised cooperation 2026"]),
        ("/dossiers/{id}/formulaire/general", ["Save draft", "Save and continue", "required for submission"]),
        ("/dossiers/{id}/formulaire/budget", ["Budget lines", "Total expenditure", "Amount (€)"]),
        ("/dossiers/{id}/pieces", ["Application documents", "Documents required by the call",
                                   "To be provided", "Other documents"]),
    ],
)
def test_key_pages_have_no_french_in_english(client, english_world, path, expected):
    response = client.get(path.format(id=english_world.id))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'lang="en"' in page
    for text in expected:
        assert text in html.unescape(page), text
    assert _leftover_french(page) == []


def test_autosave_texts_come_from_the_page_in_its_language(client, english_world):
    page = client.get(f"/dossiers/{english_world.id}/formulaire/general").get_data(as_text=True)
    assert 'data-complete="complete"' in page
    assert 'data-partial="{filled} of {total}"' in page
    assert 'data-saved="Draft saved automatically at {time}."' in page
    script = (ROOT / "dcol" / "static" / "js" / "dossier-form.js").read_text()
    assert '"complet"' not in script and " sur " not in script


# --- WTForms' own messages ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "message"), [("fr", "N'est pas un choix valide."), ("en", "Not a valid choice.")]
)
def test_wtforms_messages_follow_the_language(client, app, language, message):
    """WTForms words "Not a valid choice." itself, on a page's form and on a budget line (a
    subform): both come from WTForms' catalogs, in the user's language."""
    officer = f.make_user(Role.APPLICANT, organisation=f.make_organisation(), signatory=True)
    application = create_application(ws.make_call_for(CallKind.AAP), officer)
    db.session.commit()
    client.get(f"/langue/{language}")
    refresh()
    response = client.post("/inscription", data={
        "siren": "213801855", "full_name": "Alex Smith", "email": "alex@example.org",
        "password": f.PASSWORD, "password_confirm": f.PASSWORD, "organisation_name": "Testville",
        "organisation_kind": "nonsense"})
    assert response.status_code == 422
    assert message in html.unescape(response.get_data(as_text=True))

    client.post("/connexion", data={"email": officer.email, "password": f.PASSWORD})
    response = client.post(f"/dossiers/{application.id}/formulaire/budget", data={
        "version": application.version, "lines-0-kind": "nonsense", "lines-0-label": "Travel",
        "lines-0-amount": "1000", "next": ""})
    assert response.status_code == 422
    assert message in html.unescape(response.get_data(as_text=True))


def test_csrf_refusal_by_a_form_is_in_the_users_language(app):
    """A form that checks its own CSRF token (no CSRFProtect before it) refuses in the user's
    language, not with Flask-WTF's English "The CSRF token is missing."."""
    from forms.accounts import LoginForm

    app.config["WTF_CSRF_ENABLED"] = True
    with app.test_request_context("/connexion", method="POST", data={"email": "a@b.fr"}):
        for language, expected in [
            ("fr", "Le formulaire a expiré ou n'a pas pu être vérifié."),
            ("en", "The form has expired or could not be verified."),
        ]:
            with force_locale(language):
                form = LoginForm()
                assert not form.validate()
                assert form.csrf_token.errors[0].startswith(expected)
                assert form.csrf_token.label.text in ("Jeton de sécurité", "Security token")
