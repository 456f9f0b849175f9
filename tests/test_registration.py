"""Registration of an officer for an organisation identified by its SIREN."""

from __future__ import annotations

from html import unescape

import pytest
import sqlalchemy as sa

from dcol.extensions import db
from dcol.models import (
    ApplicationState,
    AuditEvent,
    MembershipStatus,
    Organisation,
    OrganisationKind,
    OrganisationStatus,
    OutgoingMail,
    Role,
    User,
)
from tests import factories as f

NEW_PASSWORD = "un mot de passe bien long"
ISERE_SIREN = "223800012"  # not in the test data until registered


def form(siren: str, **values) -> dict:
    data = {
        "siren": siren,
        "full_name": "Camille Martin",
        "job_title": "Chargée des relations internationales",
        "email": "camille.martin@ville.example",
        "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
    }
    data.update(values)
    return data


def new_organisation(**values) -> dict:
    data = {
        "organisation_name": "Département de l'Isère",
        "organisation_kind": "department",
        "region": "Auvergne-Rhône-Alpes",
        "department_code": "38",
        "population": "1 285 000",
    }
    data.update(values)
    return data


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def spaced(siren: str) -> str:
    return f"{siren[:3]} {siren[3:6]} {siren[6:]}"


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_login_page_links_to_registration(client, app):
    page = client.get("/connexion").get_data(as_text=True)
    assert 'href="/inscription"' in page and "Créer un compte" in page


def test_officer_joins_known_organisation_as_pending_member(client, app, smtp_server):
    org = f.make_organisation("Ville de Grenoble")
    manager = f.make_user(Role.MANAGER)
    db.session.commit()

    # The organisation's description is ignored for a known SIREN: never a duplicate.
    response = client.post("/inscription", data=form(spaced(org.siren), **new_organisation()))

    assert response.status_code == 302
    assert count(Organisation) == 1
    user = db.session.scalar(sa.select(User).where(User.email == "camille.martin@ville.example"))
    assert user.organisation_id == org.id
    assert user.membership_status is MembershipStatus.PENDING
    assert not user.is_signatory and user.roles == {Role.APPLICANT}
    assert user.job_title == "Chargée des relations internationales"
    assert org.name == "Ville de Grenoble"  # unchanged
    events = db.session.scalars(sa.select(AuditEvent.event)).all()
    assert events == ["member_registered"]

    by_recipient = {m["To"]: m for m in smtp_server.messages}
    assert "Inscription à valider : Ville de Grenoble" in by_recipient[manager.email]["Subject"]
    assert "/organisations/a-valider" in by_recipient[manager.email].get_content()
    acknowledgement = by_recipient[user.email]
    assert "demande d'inscription est enregistrée" in acknowledgement["Subject"]
    assert "rejoindre Ville de Grenoble" in acknowledgement.get_content()


def test_officer_registers_unknown_organisation_pending(client, app):
    response = client.post("/inscription", data=form(ISERE_SIREN, **new_organisation()))

    assert response.status_code == 302
    org = db.session.scalar(sa.select(Organisation))
    assert (org.siren, org.name, org.kind) == (
        ISERE_SIREN,
        "Département de l'Isère",
        OrganisationKind.DEPARTMENT,
    )
    assert (org.region, org.department_code, org.population) == (
        "Auvergne-Rhône-Alpes",
        "38",
        1285000,
    )
    assert org.status is OrganisationStatus.PENDING
    assert org.members[0].membership_status is MembershipStatus.PENDING
    events = set(db.session.scalars(sa.select(AuditEvent.event)))
    assert events == {"organisation_registered", "member_registered"}
    assert all(entry.application_id is None for entry in db.session.scalars(sa.select(AuditEvent)))


def test_second_officer_of_new_organisation_joins_it(client, app):
    client.post("/inscription", data=form(ISERE_SIREN, **new_organisation()))
    client.post("/deconnexion")
    response = client.post(
        "/inscription",
        data=form(
            ISERE_SIREN,
            email="autre@isere.example",
            **new_organisation(organisation_name="Conseil départemental de l'Isère"),
        ),
    )
    assert response.status_code == 302
    org = db.session.scalar(sa.select(Organisation))
    assert count(Organisation) == 1 and org.name == "Département de l'Isère"
    assert len(org.members) == 2


def test_unknown_siren_asks_for_the_organisation_and_keeps_input(client, app):
    response = client.post("/inscription", data=form(ISERE_SIREN))
    page = text(response)
    assert response.status_code == 422
    assert "Aucune organisation n'est encore inscrite avec ce SIREN" in page
    assert 'value="camille.martin@ville.example"' in page
    assert f'value="{ISERE_SIREN}"' in page
    assert NEW_PASSWORD not in page  # passwords are never sent back
    assert count(User) == 0 and count(Organisation) == 0 and count(OutgoingMail) == 0


@pytest.mark.parametrize("siren", ["123456789", "12345", "12345678A", "2138054501"])
def test_invalid_siren_is_refused_in_french(client, app, siren):
    response = client.post("/inscription", data=form(siren, **new_organisation()))
    page = text(response)
    assert response.status_code == 422
    assert "Numéro SIREN invalide" in page and "clé de contrôle" in page
    assert 'value="Camille Martin"' in page and "Département de l'Isère" in page
    assert count(User) == 0 and count(Organisation) == 0


def test_duplicate_email_refused_and_nothing_half_saved(client, app):
    f.make_user(Role.REVIEWER, email="camille.martin@ville.example")
    db.session.commit()
    response = client.post(
        "/inscription",
        data=form(ISERE_SIREN, email="Camille.Martin@Ville.example", **new_organisation()),
    )
    page = text(response)
    assert response.status_code == 422
    assert "Un compte existe déjà avec cette adresse e-mail" in page
    assert count(Organisation) == 0 and count(User) == 1
    assert count(AuditEvent) == 0 and count(OutgoingMail) == 0


def test_organisation_kind_needed_with_its_name(client, app):
    response = client.post(
        "/inscription",
        data=form(
            ISERE_SIREN,
            **new_organisation(organisation_kind="", department_code="999", population="beaucoup"),
        ),
    )
    page = text(response)
    assert response.status_code == 422
    assert "Choisissez la nature de l'organisation." in page
    assert "Numéro de département invalide" in page
    assert "Indiquez un nombre d'habitants, en chiffres." in page
    assert 'value="beaucoup"' in page
    assert count(Organisation) == 0


def test_password_rules_in_french(client, app):
    org = f.make_organisation()
    db.session.commit()
    response = client.post(
        "/inscription", data=form(org.siren, password="court", confirm="autre chose")
    )
    page = text(response)
    assert response.status_code == 422
    assert "au moins 12 caractères" in page and "ne correspondent pas" in page
    assert count(User) == 0


def test_refused_organisation_cannot_be_joined(client, app):
    org = f.make_organisation(status=OrganisationStatus.REJECTED)
    db.session.commit()
    response = client.post("/inscription", data=form(org.siren))
    assert response.status_code == 422
    assert "a été refusée par Cités Unies France" in text(response)
    assert count(User) == 0


def test_pending_officer_sees_nothing_of_the_organisation(client, app):
    org = f.make_organisation("Ville de Marseille")
    colleague = f.make_user(Role.APPLICANT, organisation=org, signatory=True)
    dossier = f.make_application(
        f.make_call(), org, ApplicationState.DRAFT, title="Coopération avec Alger"
    )
    db.session.commit()

    # Registering logs the officer in; their account waits for CUF.
    client.post("/inscription", data=form(org.siren))

    home = client.get("/").get_data(as_text=True)
    assert "en attente de validation" in home
    assert dossier.reference not in home
    assert client.get(f"/dossiers/{dossier.id}").status_code == 404
    listing_response = client.get("/dossiers/")
    assert listing_response.status_code == 200
    listing = text(listing_response)
    assert dossier.reference not in listing and "Coopération avec Alger" not in listing
    mine = client.get("/mon-organisation")
    assert mine.status_code == 200
    page = text(mine)
    assert "en attente de validation" in page
    assert colleague.full_name not in page and colleague.email not in page
    assert client.get(f"/organisations/{org.id}").status_code == 404


def test_signed_in_user_is_sent_home(client, app):
    user = f.make_user(Role.MANAGER)
    db.session.commit()
    client.post("/connexion", data={"email": user.email, "password": f.PASSWORD})
    assert client.get("/inscription").headers["Location"] == "/"


def test_registration_is_throttled(client, app):
    for _ in range(10):
        assert client.post("/inscription", data=form("123456789")).status_code == 422
    response = client.post("/inscription", data=form("123456789"))
    assert response.status_code == 429
    assert "Trop de demandes d'inscription" in text(response)


def test_a_registration_that_fails_late_leaves_no_organisation_behind(app):
    """The new organisation is inserted in a savepoint (to catch a concurrent duplicate SIREN);
    a failure after it must still undo it when the caller rolls back (SQLite included)."""
    from dcol.accounts.registration import NewOrganisation, register_officer
    from dcol.accounts.services import AccountError
    from dcol.models import Organisation, OrganisationKind

    with pytest.raises(AccountError):
        register_officer(
            siren=f.valid_siren(987), full_name="Jeanne Petit", email="jeanne@vif.fr",
            password="court",  # refused once the organisation is already inserted
            new_organisation=NewOrganisation("Commune de Vif", OrganisationKind.COMMUNE),
        )
    db.session.rollback()
    assert db.session.query(Organisation).count() == 0
