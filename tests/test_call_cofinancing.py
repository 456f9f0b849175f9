"""A call's cofinancing page: the envelopes with what dossiers reserve on them, the versions of the
rules (a new version applies to dossiers deposited after it, never to one already computed),
their checks (all or nothing, French messages, typed values kept), the envelopes' amounts, the
audit entries, and who sees any of it."""

from __future__ import annotations

import html
import re
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from dcol.extensions import db
from dcol.finance import rules
from dcol.finance.cofinancing import rule_of
from dcol.models import (
    ApplicationState,
    AuditEvent,
    CallKind,
    CofinancingRule,
    Envelope,
    Funder,
    Role,
    utcnow,
)
from tests import factories as f
from tests import workflow_support as ws

S = ApplicationState


def login(client, user):
    assert client.post("/connexion", data={"email": user.email,
                                           "password": f.PASSWORD}).status_code == 302


def text_of(response) -> str:
    """The page's text, without tags, its spaces (no-break ones too) made plain."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))
                    .split())


@pytest.fixture
def setting(app):
    """A DCOL call (envelope 100 000 €, version 1: 80 % for communes) with a dossier deposited
    under version 1 (its estimate, 80 % of 12 500 €, is a snapshot), two funders and an admin."""
    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    deposited = ws.complete_dossier(call, cast)
    ws.fire_step(deposited, cast, "submit")
    db.session.add_all([Funder(code="AFD", name="Agence française de développement"),
                        Funder(code="CDC", name="Caisse des Dépôts"),
                        Funder(code="MEAE", name="Ministère de l'Europe et des Affaires étrangères")])
    admin = f.make_user(Role.ADMIN)
    db.session.commit()
    return call, cast, deposited, admin


def rule_form(**changes) -> dict:
    form = {"effective_from": utcnow().date().isoformat(), "cost_base": "expert_days",
            "vat_mode": "excluding_vat", "vat_rate": "20", "ceiling": "", "min_applicant_share": "",
            "advance_percent": "30", "rate-commune": "70", "rate-syndicate": "70",
            "split_funder": ["", ""], "split_percent": ["", ""], "split_amount": ["", ""]}
    form.update(changes)
    return form


def versions(call) -> list[int]:
    return list(db.session.scalars(sa.select(CofinancingRule.version).where(
        CofinancingRule.call_id == call.id).order_by(CofinancingRule.version)))


def test_a_new_version_applies_to_dossiers_deposited_after_it_and_is_audited(client, setting):
    call, cast, deposited, admin = setting
    login(client, admin)
    page = client.get(f"/appels/{call.id}/cofinancement")
    assert page.status_code == 200
    assert 'name="rate-commune" value="80"' in page.get_data(as_text=True)  # prefilled from v1

    response = client.post(f"/appels/{call.id}/cofinancement/regles", data=rule_form(
        split_funder=["AFD", "CDC", ""], split_percent=["100", "", ""],
        split_amount=["", "1 000,00", ""]))
    assert response.status_code == 302
    db.session.expire_all()
    later = ws.complete_dossier(call, cast)
    ws.fire_step(later, cast, "submit")

    today = utcnow().date()
    assert rule_of(deposited, today).version == 1
    assert deposited.estimated_cofinancing == D("10000.00")
    assert rule_of(later, today).version == 2
    assert later.estimated_cofinancing == D("8750.00")  # 70 % of 12 500
    entry = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.event == "call.cofinancing_rules")).one()
    assert entry.actor_id == admin.id and entry.application_id is None
    assert entry.payload["call_id"] == call.id and entry.payload["version"] == 2
    assert entry.payload["terms"]["rates"] == {"commune": "70.00", "syndicate": "70.00"}
    assert entry.payload["terms"]["funders"] == [{"funder": "AFD", "percent": "100.00"},
                                                 {"funder": "CDC", "amount": "1000.00"}]

    text = text_of(client.get(f"/appels/{call.id}/cofinancement"))
    assert text.index("Version 2 — en vigueur") < text.index("Version 1 — en vigueur")
    assert "Agence française de développement : 100 %" in text
    assert "Caisse des Dépôts : 1 000,00 € (montant fixe)" in text


def test_percentages_in_thirds_are_accepted_as_proportions(setting):
    call, cast, deposited, admin = setting
    rule = rules.add_rule_version(call, admin, {
        "effective_from": utcnow().date(), "rates": {"commune": "80"}, "cost_base": "expert_days",
        "vat_mode": "excluding_vat", "vat_rate": "20", "advance_percent": "30",
        "funder_split": [{"funder": code, "percent": "33,33"} for code in ("AFD", "CDC", "MEAE")]})
    assert rule.version == 2 and len(rule.funder_split) == 3


def test_percentages_not_adding_up_are_refused_with_the_values_kept(client, setting):
    call, cast, deposited, admin = setting
    login(client, admin)
    response = client.post(f"/appels/{call.id}/cofinancement/regles", data=rule_form(
        **{"rate-commune": "75,5"}, split_funder=["AFD", "CDC", ""],
        split_percent=["50", "40", ""], split_amount=["", "", ""]))
    assert response.status_code == 422
    assert "Les pourcentages des financeurs totalisent 90 % : ils doivent totaliser 100 %" in (
        text_of(response))
    page = response.get_data(as_text=True)
    assert 'name="split_percent" value="40"' in page and 'value="75,5"' in page
    db.session.expire_all()
    assert versions(call) == [1]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.event == "call.cofinancing_rules")) == 0


@pytest.mark.parametrize("changes, message", [
    ({"split_funder": ["XYZ"], "split_percent": ["100"], "split_amount": [""]},
     "Financeur inconnu : XYZ."),
    ({"split_funder": ["AFD"], "split_percent": ["100"], "split_amount": ["500"]},
     "un pourcentage ou un montant fixe, pas les deux"),
    ({"rate-commune": "120"}, "Indiquez un pourcentage entre 0 et 100"),
    ({"effective_from": "2000-01-01"}, "La date d'effet ne peut pas précéder celle de la version 1"),
])
def test_an_invalid_version_is_refused_field_by_field(client, setting, changes, message):
    call, cast, deposited, admin = setting
    login(client, admin)
    response = client.post(f"/appels/{call.id}/cofinancement/regles", data=rule_form(**changes))
    assert response.status_code == 422
    assert message in text_of(response)
    db.session.expire_all()
    assert versions(call) == [1]


def test_the_envelope_shows_what_a_selected_dossier_reserves_and_cannot_go_below_it(
        client, setting):
    call, cast, deposited, admin = setting
    for step in ("declare_eligible", "start_review", "complete_review", "select"):
        ws.fire_step(deposited, cast, step)
    assert deposited.state is S.SELECTED
    db.session.commit()

    login(client, cast.manager)
    detail = text_of(client.get(f"/appels/{call.id}"))
    assert ("Enveloppe Montant 100 000,00 € Réservé 10 000,00 € Engagé 0,00 € Payé 0,00 € "
            "Disponible 90 000,00 €") in detail
    page = client.get(f"/appels/{call.id}/cofinancement")
    assert page.status_code == 200
    assert ("Enveloppe de l'appel 100 000,00 € 10 000,00 € 0,00 € 0,00 € 90 000,00 €"
            in text_of(page))
    assert 'id="nouvelle-version"' not in page.get_data(as_text=True)  # managers do not edit

    client.post("/deconnexion")
    login(client, admin)
    refused = client.post(f"/appels/{call.id}/cofinancement/enveloppes",
                          data={"envelope-call": "5 000"})
    assert refused.status_code == 422
    assert ("L'enveloppe « Enveloppe de l'appel » ne peut pas descendre sous ce que ses dossiers "
            "y réservent et engagent déjà : 10 000,00 €.") in text_of(refused)
    assert 'value="5 000"' in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(sa.select(Envelope.amount).where(
        Envelope.call_id == call.id)) == D("100000.00")

    assert client.post(f"/appels/{call.id}/cofinancement/enveloppes",
                       data={"envelope-call": "60 000,00"}).status_code == 302
    db.session.expire_all()
    assert db.session.scalar(sa.select(Envelope.amount).where(
        Envelope.call_id == call.id)) == D("60000.00")
    entry = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.event == "call.envelopes")).one()
    assert entry.actor_id == admin.id
    assert entry.payload["envelopes"] == [{"funder": None, "before": "100000.00",
                                           "after": "60000.00"}]


def test_a_manager_sees_the_page_but_may_not_change_the_rules(client, setting):
    call, cast, deposited, admin = setting
    login(client, cast.manager)
    response = client.post(f"/appels/{call.id}/cofinancement/regles", data=rule_form())
    assert response.status_code == 403
    db.session.expire_all()
    assert versions(call) == [1]


@pytest.mark.parametrize("who", ["signatory", "reviewer", "expert"])
def test_others_get_404_and_do_not_see_the_envelope(client, setting, who):
    call, cast, deposited, admin = setting
    user = {"signatory": cast.signatory, "reviewer": cast.reviewers[0],
            "expert": cast.expert_user}[who]
    login(client, user)
    assert client.get(f"/appels/{call.id}/cofinancement").status_code == 404
    assert client.post(f"/appels/{call.id}/cofinancement/regles",
                       data=rule_form()).status_code == 404
    assert client.post(f"/appels/{call.id}/cofinancement/enveloppes",
                       data={"envelope-call": "1"}).status_code == 404
    detail = client.get(f"/appels/{call.id}")
    assert detail.status_code == 200
    assert 'id="enveloppe"' not in detail.get_data(as_text=True)
    assert "/cofinancement" not in detail.get_data(as_text=True)
