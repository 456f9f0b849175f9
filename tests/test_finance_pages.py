"""The page « Convention et financement » of a dossier: the cofinancing each reader may see, the
versions of the agreement, signing them, preparing them, and following the payments — through
the app, on the real database, each role seeing only its part."""

from __future__ import annotations

import hashlib
import html
import io
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import g
from flask.testing import FlaskClient

from dcol.extensions import db
from dcol.finance import agreements as ag
from dcol.finance import payments as pay
from dcol.models import (
    Agreement,
    ApplicationState,
    AuditEvent,
    CallKind,
    Envelope,
    Funder,
    Party,
    Payment,
    PaymentKind,
    PaymentStatus,
    Signature,
    SignatureMethod,
)
from tests import factories as f
from tests import workflow_support as ws

D = Decimal
TERMS = ag.AgreementTerms(days=D("12.5"), daily_rate=D("1000.00"))
SCAN_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def text(response) -> str:
    page = html.unescape(response.get_data(as_text=True))
    return page.replace("\u202f", " ").replace("\xa0", " ")


class UserClient(FlaskClient):
    """A browser of its own: the test's app context outlives each request, so the user that
    Flask-Login keeps in ``g`` is forgotten before each one (several users act in a test)."""

    def open(self, *args, **kwargs):
        g.pop("_login_user", None)
        return super().open(*args, **kwargs)


def client_of(app, user, address="127.0.0.1"):
    client = UserClient(app, app.response_class, use_cookies=True)
    client.environ_base["REMOTE_ADDR"] = address
    response = client.post("/connexion", data={"email": user.email, "password": f.PASSWORD})
    assert response.status_code == 302
    return client


@pytest.fixture
def dossier(app):
    """A DCOL dossier whose expert accepted the mission; the scheme's share is split between two
    funders (AFD 60 %, CDC 40 %)."""
    call = ws.make_call_for(CallKind.DCOL)
    afd = Funder(code="AFD", name="Agence française de développement")
    cdc = Funder(code="CDC", name="Caisse des Dépôts")
    call.cofinancing_rules[0].funder_split = [{"funder": "AFD", "percent": "60"},
                                              {"funder": "CDC", "percent": "40"}]
    call.envelopes.extend([Envelope(funder=afd, amount=D("60000.00")),
                           Envelope(funder=cdc, amount=D("40000.00"))])
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    ws.drive_to(application, cast, ApplicationState.AGREEMENT)
    db.session.commit()
    return application, cast


def prepared(application, cast) -> Agreement:
    agreement = ag.prepare_agreement(application, cast.manager, TERMS)
    db.session.commit()
    return agreement


def signed_by_all(application, cast) -> Agreement:
    agreement = prepared(application, cast)
    users = {Party.CUF: cast.manager, Party.APPLICANT: cast.signatory,
             Party.EXPERT: cast.expert_user}
    for party in ag.parties_of(application):
        ag.sign(agreement, users[party], ag.SignatureRequest(
            users[party].full_name, "Signataire", "192.0.2.1",
            sha256_read=agreement.document_sha256, accepted=True))
    db.session.commit()
    return agreement


def payment_of(application, kind: PaymentKind) -> Payment:
    return next(p for p in pay.payments_of(application) if p.kind is kind)


def audit_events(application) -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.event).where(
        AuditEvent.application_id == application.id)))


# --- preparing the agreement ------------------------------------------------------------------


def test_the_manager_generates_the_convention_through_the_page(app, dossier):
    application, cast = dossier
    manager = client_of(app, cast.manager)
    page = text(manager.get(f"/dossiers/{application.id}/convention"))
    assert "Générer la convention" in page and "Préparer l'avenant" not in page

    response = manager.post(f"/dossiers/{application.id}/convention/preparer", data={
        "days": "12,5", "daily_rate": "1 000,00", "mission_costs": "", "starts_on": "2027-01-11",
        "ends_on": "2027-06-30", "deliverables": "Plan d'action"})

    assert response.status_code == 302
    agreement = db.session.scalars(sa.select(Agreement)).one()
    assert agreement.version == 1 and agreement.snapshot.total_cost == D("12500.00")
    page = text(manager.get(f"/dossiers/{application.id}/convention"))
    assert "La convention est prête" in page and agreement.document_sha256 in page
    link = re.search(r'href="(/documents/\d+)">Télécharger le PDF', page).group(1)
    pdf = manager.get(link)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert hashlib.sha256(pdf.data).hexdigest() == agreement.document_sha256


def test_a_call_for_projects_agreement_defaults_to_the_budgets_eligible_expenses(app):
    call = ws.make_call_for(CallKind.AAP)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    ws.drive_to(application, cast, ApplicationState.AGREEMENT)
    db.session.commit()
    manager = client_of(app, cast.manager)
    page = text(manager.get(f"/dossiers/{application.id}/convention"))
    assert "Coût éligible du projet" in page and "Nombre de jours d'expertise" not in page

    response = manager.post(f"/dossiers/{application.id}/convention/preparer",
                            data={"project_cost": "", "starts_on": "2027-02-01"})

    assert response.status_code == 302
    agreement = db.session.scalars(sa.select(Agreement)).one()
    assert agreement.snapshot.scheme_share == D("8000.00")  # 80 % of 10 000, as requested


@pytest.mark.parametrize(("days", "message"), [
    ("douze", "Nombre de jours invalide"),
    ("", "Indiquez un nombre de jours d'expertise supérieur à zéro."),
])
def test_terms_that_cannot_be_read_are_refused_with_the_input_kept(app, dossier, days, message):
    application, cast = dossier
    response = client_of(app, cast.manager).post(
        f"/dossiers/{application.id}/convention/preparer",
        data={"days": days, "daily_rate": "1 000,00", "deliverables": "Plan d'action chiffré"})
    assert response.status_code == 422
    page = text(response)
    assert message in page
    assert 'value="1 000,00"' in page and "Plan d'action chiffré" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Agreement)) == 0


# --- signing ----------------------------------------------------------------------------------


def test_the_signatory_signs_through_the_page(app, dossier):
    application, cast = dossier
    agreement = prepared(application, cast)
    signatory = client_of(app, cast.signatory, address="198.51.100.23")
    page = text(signatory.get(f"/dossiers/{application.id}/convention"))
    assert f'value="{cast.signatory.full_name}"' in page
    assert f"dont l'empreinte SHA-256 est {agreement.document_sha256}" in page
    assert f'name="sha256_read" type="hidden" value="{agreement.document_sha256}"' in page

    response = signatory.post(f"/dossiers/{application.id}/convention/{agreement.id}/signer",
                              data={"name": "Claire Martin", "capacity": "Maire",
                                    "accepted": "y", "sha256_read": agreement.document_sha256})

    assert response.status_code == 302
    signature = db.session.scalars(sa.select(Signature)).one()
    assert (signature.party, signature.method) == (Party.APPLICANT, SignatureMethod.ELECTRONIC)
    assert signature.ip_address == "198.51.100.23"
    assert signature.document_sha256 == agreement.document_sha256
    page = text(signatory.get(f"/dossiers/{application.id}/convention"))
    assert "Votre signature est enregistrée." in page and "Claire Martin" in page
    assert "198.51.100.23" not in page  # the address is shown to CUF only
    assert "198.51.100.23" in text(client_of(app, cast.manager).get(
        f"/dossiers/{application.id}/convention"))


def test_a_signature_of_a_version_read_before_it_changed_is_refused(app, dossier):
    application, cast = dossier
    agreement = prepared(application, cast)
    response = client_of(app, cast.signatory).post(
        f"/dossiers/{application.id}/convention/{agreement.id}/signer",
        data={"name": "Claire Martin-Dupré", "capacity": "Maire", "accepted": "y",
              "sha256_read": "0" * 64})
    assert response.status_code == 422
    page = text(response)
    assert "La convention a changé depuis que vous l'avez ouverte" in page
    assert 'value="Claire Martin-Dupré"' in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 0


def test_a_signature_without_acceptance_saves_nothing(app, dossier):
    application, cast = dossier
    agreement = prepared(application, cast)
    response = client_of(app, cast.signatory).post(
        f"/dossiers/{application.id}/convention/{agreement.id}/signer",
        data={"name": "Claire Martin", "capacity": "Maire",
              "sha256_read": agreement.document_sha256})
    assert response.status_code == 422
    assert "Cochez « Lu et approuvé » pour signer." in text(response)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 0
    assert "agreement.signed" not in audit_events(application)


def test_the_manager_attaches_the_scan_another_party_signed_by_hand(app, dossier):
    application, cast = dossier
    agreement = prepared(application, cast)
    manager = client_of(app, cast.manager)
    response = manager.post(
        f"/dossiers/{application.id}/convention/{agreement.id}/signer",
        data={"autre-party": "applicant", "autre-name": "Claire Martin",
              "autre-capacity": "Maire",
              "autre-scan": (io.BytesIO(SCAN_PDF), "convention-signee.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    signature = db.session.scalars(sa.select(Signature)).one()
    assert (signature.party, signature.method) == (Party.APPLICANT, SignatureMethod.SCAN)
    page = text(manager.get(f"/dossiers/{application.id}/convention"))
    scan = re.search(r'href="(/documents/\d+)">voir le scan', page).group(1)
    assert manager.get(scan).data == SCAN_PDF


# --- who sees what ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["outsider", "reviewer", "committee", "other_expert_user"])
def test_whoever_has_no_part_in_the_dossier_gets_a_404(app, dossier, who):
    application, cast = dossier
    agreement = prepared(application, cast)
    user = cast.reviewers[0] if who == "reviewer" else getattr(cast, who)
    client = client_of(app, user)
    assert client.get(f"/dossiers/{application.id}/convention").status_code == 404
    assert client.post(f"/dossiers/{application.id}/convention/{agreement.id}/signer", data={
        "name": "X", "capacity": "Y", "accepted": "y",
        "sha256_read": agreement.document_sha256}).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 0


def test_only_a_manager_prepares_the_agreement_and_follows_payments(app, dossier):
    application, cast = dossier
    signed_by_all(application, cast)
    advance = payment_of(application, PaymentKind.EXPERT_ADVANCE)
    for user in (cast.signatory, cast.expert_user):
        client = client_of(app, user)
        page = text(client.get(f"/dossiers/{application.id}/convention"))
        assert "Préparer l'avenant" not in page and "Demander" not in page
        assert client.post(f"/dossiers/{application.id}/convention/preparer",
                           data={"days": "20", "reason": "Plus"}).status_code == 404
        assert client.post(f"/dossiers/{application.id}/paiements/{advance.id}/demander"
                           ).status_code == 404
    assert len(ag.agreements_of(application)) == 1 and advance.status is PaymentStatus.SCHEDULED


def test_the_collectivite_sees_its_amounts_but_not_the_funders(app, dossier):
    application, cast = dossier
    signed_by_all(application, cast)
    page = text(client_of(app, cast.signatory).get(f"/dossiers/{application.id}/convention"))
    assert "10 000,00" in page and "2 500,00" in page  # CUF's share and what remains to pay
    assert "Appel de la contribution de la collectivité" in page and "Acompte à l'expert" in page
    for hidden in ("Agence française de développement", "Caisse des Dépôts",
                   "Part du dispositif", "Historique des calculs"):
        assert hidden not in page, hidden


def test_the_expert_sees_its_fees_and_payments_only(app, dossier):
    application, cast = dossier
    signed_by_all(application, cast)
    page = text(client_of(app, cast.expert_user).get(f"/dossiers/{application.id}/convention"))
    for shown in ("12,5", "1 000,00", "12 500,00", "3 750,00", "8 750,00", "Acompte à l'expert"):
        assert shown in page, shown
    for hidden in ("Agence française de développement", "Caisse des Dépôts",
                   "Part du dispositif", "10 000,00", "Historique des calculs",
                   "Appel de la contribution de la collectivité"):
        assert hidden not in page, hidden


def test_the_manager_sees_the_split_between_funders_and_every_computation(app, dossier):
    application, cast = dossier
    signed_by_all(application, cast)
    page = text(client_of(app, cast.manager).get(f"/dossiers/{application.id}/convention"))
    for shown in ("Agence française de développement : 1 800,00",  # 60 % of the advance's 3 000
                  "Caisse des Dépôts", "6 000,00", "Part du dispositif",
                  "Historique des calculs", "Estimation", "Préparer l'avenant"):
        assert shown in page, shown


def test_the_dossier_page_links_to_the_finance_page_from_the_agreement_on(app, dossier):
    application, cast = dossier
    draft = ws.complete_dossier(application.call, cast)
    db.session.commit()
    signatory = client_of(app, cast.signatory)
    assert "Convention et financement" in text(signatory.get(f"/dossiers/{application.id}"))
    assert "Convention et financement" not in text(signatory.get(f"/dossiers/{draft.id}"))


# --- payments ---------------------------------------------------------------------------------


def test_the_manager_requests_then_records_a_payment(app, dossier):
    application, cast = dossier
    signed_by_all(application, cast)
    advance = payment_of(application, PaymentKind.EXPERT_ADVANCE)
    manager = client_of(app, cast.manager)

    base = f"/dossiers/{application.id}/paiements/{advance.id}"
    assert manager.post(f"{base}/demander").status_code == 302
    db.session.expire_all()
    assert advance.status is PaymentStatus.REQUESTED
    assert manager.post(f"{base}/payer").status_code == 302
    db.session.expire_all()
    assert advance.status is PaymentStatus.PAID
    events = audit_events(application)
    assert "payment.requested" in events and "payment.paid" in events


def test_a_held_balance_cannot_be_requested_before_the_final_deliverable(app, dossier):
    application, cast = dossier
    signed_by_all(application, cast)
    balance = payment_of(application, PaymentKind.EXPERT_BALANCE)
    response = client_of(app, cast.manager).post(
        f"/dossiers/{application.id}/paiements/{balance.id}/demander")
    assert response.status_code == 409
    assert "Ce paiement attend la validation du livrable final." in text(response)
    db.session.expire_all()
    assert balance.status is PaymentStatus.HELD
    assert "payment.requested" not in audit_events(application)


def test_a_payment_of_another_dossier_is_not_found(app, dossier):
    application, cast = dossier
    other = ws.complete_dossier(application.call, cast)
    payment = Payment(application=other, kind=PaymentKind.EXPERT_ADVANCE, amount=D("100.00"))
    db.session.add(payment)
    db.session.commit()
    manager = client_of(app, cast.manager)
    for action in ("demander", "payer"):
        assert manager.post(f"/dossiers/{application.id}/paiements/{payment.id}/{action}"
                            ).status_code == 404
    db.session.expire_all()
    assert payment.status is PaymentStatus.SCHEDULED


# --- the forms post the CSRF token ------------------------------------------------------------


def test_the_sign_form_posts_a_token_the_app_accepts(app, dossier):
    application, cast = dossier
    agreement = prepared(application, cast)
    app.config["WTF_CSRF_ENABLED"] = True
    client = UserClient(app, app.response_class, use_cookies=True)

    def token_of(page: str) -> str:
        return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)

    client.post("/connexion", data={"email": cast.signatory.email, "password": f.PASSWORD,
                                    "csrf_token": token_of(text(client.get("/connexion")))})
    page = text(client.get(f"/dossiers/{application.id}/convention"))
    data = {"name": "Claire Martin", "capacity": "Maire", "accepted": "y",
            "sha256_read": agreement.document_sha256}
    url = f"/dossiers/{application.id}/convention/{agreement.id}/signer"
    assert client.post(url, data=data).status_code == 400
    assert client.post(url, data={**data, "csrf_token": token_of(page)}).status_code == 302
