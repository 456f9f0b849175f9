"""CUF staff validate or refuse pending organisations and members."""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa

from dcol.extensions import db
from dcol.models import (
    ApplicationState,
    AuditEvent,
    MembershipStatus,
    OrganisationStatus,
    OutgoingMail,
    Role,
)
from tests import factories as f


def login(client, user):
    response = client.post("/connexion", data={"email": user.email, "password": f.PASSWORD})
    assert response.status_code == 302


def logout(client):
    client.post("/deconnexion")


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def input_tag(page: str, element_id: str) -> str:
    return re.search(rf'<input[^>]*id="{element_id}"[^>]*>', page).group(0)


def audit_entries(event: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.event == event)))


def pending_member(org, **values):
    return f.make_user(
        Role.APPLICANT, organisation=org, membership=MembershipStatus.PENDING, **values
    )


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.APPLICANT, 404),
        (Role.REVIEWER, 404),
        (Role.COMMITTEE, 404),
        (Role.EXPERT, 404),
        (Role.MANAGER, 200),
        (Role.ADMIN, 200),
    ],
)
def test_pending_page_is_for_managers_and_admins(client, app, role, status):
    org = f.make_organisation()
    user = f.make_user(
        role,
        organisation=org if role is Role.APPLICANT else None,
        signatory=role is Role.APPLICANT,
        expert=f.make_expert() if role is Role.EXPERT else None,
    )
    db.session.commit()
    login(client, user)
    assert client.get("/organisations/a-valider").status_code == status
    assert ('href="/organisations/a-valider"' in client.get("/").get_data(as_text=True)) is (
        status == 200
    )


def test_decisions_are_refused_to_non_staff(client, app):
    org = f.make_organisation()
    signatory = f.make_user(Role.APPLICANT, organisation=org, signatory=True)
    newcomer = pending_member(org)
    db.session.commit()
    login(client, signatory)
    assert client.post(f"/organisations/membres/{newcomer.id}/valider").status_code == 404
    response = client.post(
        f"/organisations/membres/{newcomer.id}/refuser",
        data={f"refus-membre-{newcomer.id}-reason": "Non"},
    )
    assert response.status_code == 404
    assert client.post(f"/organisations/{org.id}/valider").status_code == 404
    db.session.expire_all()
    assert newcomer.membership_status is MembershipStatus.PENDING


def test_manager_home_links_pending_registrations(client, app):
    manager = f.make_user(Role.MANAGER)
    new_org = f.make_organisation("Commune de Vif", status=OrganisationStatus.PENDING)
    pending_member(new_org)
    pending_member(f.make_organisation())
    db.session.commit()
    login(client, manager)
    page = text(client.get("/"))
    assert '<a href="/organisations/a-valider">1 organisation à valider</a>' in page
    assert '<a href="/organisations/a-valider">2 comptes de collectivité à valider</a>' in page
    listing = text(client.get("/organisations/a-valider"))
    assert "Commune de Vif" in listing
    assert "Nouveaux membres d'organisations validées" in listing


def test_validating_member_validates_pending_organisation_then_access_works(
    client, app, smtp_server
):
    manager = f.make_user(Role.MANAGER)
    org = f.make_organisation("Commune de Vif", status=OrganisationStatus.PENDING)
    officer = pending_member(org)
    call = f.make_call()
    dossier = f.make_application(call, org, ApplicationState.DRAFT, title="Jumelage avec Kara")
    db.session.commit()

    login(client, officer)
    assert client.get(f"/dossiers/{dossier.id}").status_code == 404
    logout(client)

    login(client, manager)
    page = text(client.get("/organisations/a-valider"))
    # The first member of a new organisation is proposed as its signatory.
    assert "checked" in input_tag(page, f"membre-{officer.id}-is_signatory")
    response = client.post(
        f"/organisations/membres/{officer.id}/valider",
        data={f"membre-{officer.id}-is_signatory": "y"},
    )
    assert response.status_code == 302
    assert "est validé" in text(client.get("/organisations/a-valider"))
    logout(client)

    db.session.expire_all()
    assert org.status is OrganisationStatus.ACTIVE
    assert org.validated_by_id == manager.id and org.validated_at is not None
    assert officer.membership_status is MembershipStatus.ACTIVE and officer.is_signatory
    (org_entry,) = audit_entries("organisation_validated")
    (member_entry,) = audit_entries("member_validated")
    assert org_entry.application_id is None and member_entry.application_id is None
    assert org_entry.actor_id == manager.id
    assert org_entry.payload["organisation_id"] == org.id
    assert member_entry.payload == {
        "user_id": officer.id,
        "organisation_id": org.id,
        "is_signatory": True,
    }
    (mail,) = [m for m in smtp_server.messages if m["To"] == officer.email]
    assert "Votre compte est validé" in mail["Subject"]
    assert "a validé l'inscription de Commune de Vif et votre compte" in mail.get_content()

    login(client, officer)
    assert client.get(f"/dossiers/{dossier.id}").status_code == 200
    assert dossier.reference in client.get("/dossiers/").get_data(as_text=True)
    assert "Commune de Vif" in text(client.get("/mon-organisation"))


def test_member_of_validated_organisation_validated_without_signature(client, app):
    manager = f.make_user(Role.MANAGER)
    org = f.make_organisation()
    f.make_user(Role.APPLICANT, organisation=org, signatory=True)
    newcomer = pending_member(org)
    db.session.commit()
    login(client, manager)
    page = text(client.get("/organisations/a-valider"))
    # An organisation that already has a signatory: the box is not ticked in advance.
    assert "checked" not in input_tag(page, f"membre-{newcomer.id}-is_signatory")
    client.post(f"/organisations/membres/{newcomer.id}/valider", data={})
    db.session.expire_all()
    assert newcomer.membership_status is MembershipStatus.ACTIVE
    assert not newcomer.is_signatory
    assert audit_entries("organisation_validated") == []


def test_refusal_needs_a_reason(client, app):
    manager = f.make_user(Role.MANAGER)
    newcomer = pending_member(f.make_organisation())
    db.session.commit()
    login(client, manager)
    response = client.post(
        f"/organisations/membres/{newcomer.id}/refuser",
        data={f"refus-membre-{newcomer.id}-reason": "   "},
    )
    assert response.status_code == 422
    page = text(response)
    assert "Indiquez le motif du refus" in page
    assert f'id="refus-membre-{newcomer.id}-reason-error"' in page
    db.session.expire_all()
    assert newcomer.membership_status is MembershipStatus.PENDING
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutgoingMail)) == 0


def test_refused_member_gets_the_reason_by_mail(client, app, smtp_server):
    manager = f.make_user(Role.MANAGER)
    org = f.make_organisation("Ville de Strasbourg")
    newcomer = pending_member(org)
    db.session.commit()
    login(client, manager)
    reason = "Votre fonction ne vous permet pas d'engager la collectivité."
    response = client.post(
        f"/organisations/membres/{newcomer.id}/refuser",
        data={f"refus-membre-{newcomer.id}-reason": reason},
    )
    assert response.status_code == 302
    logout(client)

    db.session.expire_all()
    assert newcomer.membership_status is MembershipStatus.REJECTED
    assert org.status is OrganisationStatus.ACTIVE
    (entry,) = audit_entries("member_refused")
    assert entry.comment == reason and entry.application_id is None
    assert entry.payload == {"user_id": newcomer.id, "organisation_id": org.id}
    (mail,) = smtp_server.messages
    assert mail["To"] == newcomer.email
    assert "n'a pas été acceptée" in mail["Subject"]
    assert reason in mail.get_content() and "Ville de Strasbourg" in mail.get_content()

    login(client, newcomer)
    assert "Votre inscription a été refusée" in text(client.get("/"))
    assert "Votre inscription a été refusée" in text(client.get("/mon-organisation"))


def test_refusing_organisation_refuses_its_pending_members(client, app, smtp_server):
    manager = f.make_user(Role.ADMIN)
    org = f.make_organisation("Commune fictive", status=OrganisationStatus.PENDING)
    first, second = pending_member(org), pending_member(org)
    db.session.commit()
    login(client, manager)
    reason = "Ce SIREN n'est pas celui d'une collectivité territoriale."
    response = client.post(
        f"/organisations/{org.id}/refuser", data={f"refus-organisation-{org.id}-reason": reason}
    )
    assert response.status_code == 302

    db.session.expire_all()
    assert org.status is OrganisationStatus.REJECTED
    assert {first.membership_status, second.membership_status} == {MembershipStatus.REJECTED}
    (entry,) = audit_entries("organisation_refused")
    assert entry.comment == reason
    assert sorted(entry.payload["member_ids"]) == sorted([first.id, second.id])
    assert sorted(m["To"] for m in smtp_server.messages) == sorted([first.email, second.email])
    assert all(reason in m.get_content() for m in smtp_server.messages)
    assert "Aucune inscription en attente." in text(client.get("/organisations/a-valider"))


def test_organisation_validated_alone_tells_its_members(client, app, smtp_server):
    manager = f.make_user(Role.MANAGER)
    org = f.make_organisation("Commune de Vif", status=OrganisationStatus.PENDING)
    officer = pending_member(org)
    db.session.commit()
    login(client, manager)
    assert client.post(f"/organisations/{org.id}/valider").status_code == 302
    db.session.expire_all()
    assert org.status is OrganisationStatus.ACTIVE
    assert officer.membership_status is MembershipStatus.PENDING  # validated separately
    (mail,) = smtp_server.messages
    assert mail["To"] == officer.email
    assert "Votre propre compte reste à valider" in mail.get_content()
    # Still listed, now among members of validated organisations.
    assert officer.full_name in text(client.get("/organisations/a-valider"))


def test_a_decision_is_taken_once(client, app):
    manager = f.make_user(Role.MANAGER)
    newcomer = pending_member(f.make_organisation())
    db.session.commit()
    login(client, manager)
    client.post(f"/organisations/membres/{newcomer.id}/valider", data={})
    response = client.post(
        f"/organisations/membres/{newcomer.id}/refuser",
        data={f"refus-membre-{newcomer.id}-reason": "Trop tard"},
    )
    assert response.status_code == 302
    assert "Ce compte a déjà été traité." in text(client.get("/organisations/a-valider"))
    db.session.expire_all()
    assert newcomer.membership_status is MembershipStatus.ACTIVE
    assert audit_entries("member_refused") == []


def test_member_of_refused_organisation_cannot_be_validated(client, app):
    manager = f.make_user(Role.MANAGER)
    org = f.make_organisation(status=OrganisationStatus.REJECTED)
    stray = pending_member(org)
    db.session.commit()
    login(client, manager)
    client.post(f"/organisations/membres/{stray.id}/valider", data={})
    db.session.expire_all()
    assert stray.membership_status is MembershipStatus.PENDING
    assert org.status is OrganisationStatus.REJECTED
