"""Signatories invite colleagues by e-mail, revoke invitations and set who signs."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from dcol.extensions import db
from dcol.models import AuditEvent, Invitation, MembershipStatus, OrganisationStatus, Role, User
from dcol.organisations import invitations
from tests import factories as f

NEW_PASSWORD = "un mot de passe bien long"


def login(client, user):
    response = client.post("/connexion", data={"email": user.email, "password": f.PASSWORD})
    assert response.status_code == 302


def logout(client):
    client.post("/deconnexion")


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def accept(client, link, **values):
    data = {
        "full_name": "Louise Bernard",
        "job_title": "Chargée de mission",
        "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
    }
    data.update(values)
    return client.post(link, data=data)


@pytest.fixture
def org(app):
    return f.make_organisation("Ville de Gennevilliers")


@pytest.fixture
def signatory(org):
    user = f.make_user(Role.APPLICANT, organisation=org, signatory=True)
    db.session.commit()
    return user


def invite(signatory, email="louise.bernard@ville.example", is_signatory=False):
    invitation, token = invitations.invite_member(
        signatory.organisation, email, is_signatory=is_signatory, invited_by=signatory
    )
    db.session.commit()
    return invitation, f"/invitation/{token}"


def test_invitation_end_to_end(client, app, org, signatory, smtp_server):
    login(client, signatory)
    response = client.post(
        f"/organisations/{org.id}/invitations",
        data={"email": "Louise.Bernard@ville.example", "is_signatory": "y"},
    )
    assert response.status_code == 302
    page = text(client.get("/mon-organisation"))
    assert "Invitation envoyée à louise.bernard@ville.example" in page
    assert "Invitations en attente" in page and "louise.bernard@ville.example" in page
    logout(client)

    (mail,) = smtp_server.messages
    assert mail["To"] == "louise.bernard@ville.example"
    assert "vous invite à rejoindre Ville de Gennevilliers" in mail["Subject"]
    link = re.search(r"http://dcol\.test(/invitation/(\S+))", mail.get_content())
    path, token = link.group(1), link.group(2)
    invitation = db.session.scalar(sa.select(Invitation))
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in invitation.token_hash
    assert invitation.expires_at - invitation.created_at == timedelta(days=7)

    form = text(client.get(path))
    assert "Rejoindre Ville de Gennevilliers" in form and "Vous serez signataire" in form
    bad = accept(client, path, confirm="autre chose")
    assert bad.status_code == 422 and "ne correspondent pas" in text(bad)
    assert NEW_PASSWORD not in text(bad)
    response = accept(client, path)
    assert response.status_code == 302
    assert response.headers["Location"] == "/mon-organisation"

    user = db.session.scalar(sa.select(User).where(User.email == "louise.bernard@ville.example"))
    assert user.is_active_member and user.is_signatory
    assert user.organisation_id == org.id and user.job_title == "Chargée de mission"
    db.session.refresh(invitation)
    assert invitation.accepted_at is not None
    # Signed in at once, as an active member who sees the organisation's page.
    assert signatory.full_name in text(client.get("/mon-organisation"))
    events = set(db.session.scalars(sa.select(AuditEvent.event)))
    assert {"invitation_sent", "invitation_accepted"} <= events
    assert [m["To"] for m in smtp_server.messages][-1] == signatory.email
    logout(client)

    # The link works once.
    used = client.get(path)
    assert used.status_code == 410 and "déjà été utilisé" in text(used)
    assert accept(client, path).status_code == 410


def test_expired_invitation_is_refused(client, app, signatory):
    invitation, link = invite(signatory)
    invitation.created_at -= timedelta(days=8)
    invitation.expires_at -= timedelta(days=8)
    db.session.commit()
    response = client.get(link)
    assert response.status_code == 410
    assert "Le lien a expiré le" in text(response)
    assert accept(client, link).status_code == 410
    assert db.session.scalar(sa.select(User).where(User.email == invitation.email)) is None
    # No longer listed among pending invitations.
    login(client, signatory)
    assert invitation.email not in text(client.get("/mon-organisation"))


def test_unknown_link_is_not_found(client, app):
    response = client.get("/invitation/nimporte-quoi")
    assert response.status_code == 404
    assert "Ce lien d'invitation est inconnu" in text(response)


def test_signatory_revokes_pending_invitation(client, app, org, signatory):
    invitation, link = invite(signatory)
    login(client, signatory)
    response = client.post(f"/organisations/{org.id}/invitations/{invitation.id}/annuler")
    assert response.status_code == 302
    assert "Aucune invitation en attente." in text(client.get("/mon-organisation"))
    logout(client)
    revoked = client.get(link)
    assert revoked.status_code == 410 and "a été annulée" in text(revoked)


def test_new_invitation_replaces_the_pending_one(client, app, signatory):
    first, first_link = invite(signatory)
    _second, second_link = invite(signatory, is_signatory=True)
    assert client.get(first_link).status_code == 410
    assert client.get(second_link).status_code == 200


def test_invitation_of_a_member_is_refused(client, app, org, signatory):
    colleague = f.make_user(Role.APPLICANT, organisation=org)
    db.session.commit()
    login(client, signatory)
    response = client.post(f"/organisations/{org.id}/invitations", data={"email": colleague.email})
    assert response.status_code == 422
    assert "déjà membre de l'organisation" in text(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 0


def test_invitation_form_errors_in_french(client, app, org, signatory):
    login(client, signatory)
    response = client.post(
        f"/organisations/{org.id}/invitations", data={"email": "pas-une-adresse"}
    )
    assert response.status_code == 422
    page = text(response)
    assert "Adresse e-mail invalide." in page and 'value="pas-une-adresse"' in page


def test_non_signatory_cannot_invite_nor_manage(client, app, org, signatory):
    member = f.make_user(Role.APPLICANT, organisation=org)
    invitation, _link = invite(signatory)
    login(client, member)
    page = text(client.get("/mon-organisation"))
    assert "Inviter un collègue" not in page and invitation.email not in page
    assert (
        client.post(
            f"/organisations/{org.id}/invitations", data={"email": "x@ville.example"}
        ).status_code
        == 403
    )
    assert (
        client.post(f"/organisations/{org.id}/invitations/{invitation.id}/annuler").status_code
        == 403
    )
    assert (
        client.post(
            f"/organisations/{org.id}/membres/{member.id}/signataire", data={"is_signatory": "y"}
        ).status_code
        == 403
    )
    db.session.expire_all()
    assert not member.is_signatory and invitation.revoked_at is None


def test_pending_member_cannot_invite(client, app, org, signatory):
    pending = f.make_user(
        Role.APPLICANT, organisation=org, signatory=True, membership=MembershipStatus.PENDING
    )
    db.session.commit()
    login(client, pending)
    assert (
        client.post(
            f"/organisations/{org.id}/invitations", data={"email": "x@ville.example"}
        ).status_code
        == 404
    )


def test_other_organisations_signatory_cannot_manage_members(client, app, org, signatory):
    invitation, _link = invite(signatory)
    outsider = f.make_user(Role.APPLICANT, organisation=f.make_organisation(), signatory=True)
    db.session.commit()
    login(client, outsider)
    assert client.get(f"/organisations/{org.id}").status_code == 404
    assert (
        client.post(
            f"/organisations/{org.id}/invitations", data={"email": "x@ville.example"}
        ).status_code
        == 404
    )
    assert (
        client.post(f"/organisations/{org.id}/invitations/{invitation.id}/annuler").status_code
        == 404
    )
    assert (
        client.post(
            f"/organisations/{org.id}/membres/{signatory.id}/signataire", data={}
        ).status_code
        == 404
    )
    # Nor reach them through their own organisation's address.
    own = outsider.organisation_id
    assert (
        client.post(f"/organisations/{own}/invitations/{invitation.id}/annuler").status_code == 404
    )
    assert (
        client.post(f"/organisations/{own}/membres/{signatory.id}/signataire", data={}).status_code
        == 404
    )
    db.session.expire_all()
    assert signatory.is_signatory and invitation.revoked_at is None


def test_last_signatory_cannot_be_withdrawn(client, app, org, signatory):
    login(client, signatory)
    page = text(client.get("/mon-organisation"))
    assert "Seul signataire" in page
    response = client.post(f"/organisations/{org.id}/membres/{signatory.id}/signataire", data={})
    assert response.status_code == 409
    assert "doit garder au moins un signataire" in text(response)
    db.session.expire_all()
    assert signatory.is_signatory


def test_signatory_sets_who_signs(client, app, org, signatory):
    colleague = f.make_user(Role.APPLICANT, organisation=org)
    db.session.commit()
    login(client, signatory)
    url = f"/organisations/{org.id}/membres/{colleague.id}/signataire"
    assert client.post(url, data={"is_signatory": "y"}).status_code == 302
    db.session.expire_all()
    assert colleague.is_signatory
    # With two signatories, one may step down, even oneself.
    own = f"/organisations/{org.id}/membres/{signatory.id}/signataire"
    assert client.post(own, data={}).status_code == 302
    db.session.expire_all()
    assert not signatory.is_signatory
    events = [e.event for e in db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))]
    assert events == ["signatory_granted", "signatory_withdrawn"]
    # Now without the right to manage members.
    assert client.post(url, data={}).status_code == 403


def test_pending_member_cannot_be_made_signatory(client, app, org, signatory):
    pending = f.make_user(Role.APPLICANT, organisation=org, membership=MembershipStatus.PENDING)
    db.session.commit()
    login(client, signatory)
    response = client.post(
        f"/organisations/{org.id}/membres/{pending.id}/signataire", data={"is_signatory": "y"}
    )
    assert response.status_code == 409
    db.session.expire_all()
    assert not pending.is_signatory


def test_invitation_void_once_inviter_no_longer_signs(client, app, org, signatory):
    _invitation, link = invite(signatory)
    f.make_user(Role.APPLICANT, organisation=org, signatory=True)
    signatory.is_signatory = False
    db.session.commit()
    response = client.get(link)
    assert response.status_code == 410
    assert "ne peut plus inviter" in text(response)


def test_pending_organisation_cannot_invite(client, app):
    manager = f.make_user(Role.MANAGER)
    org = f.make_organisation(status=OrganisationStatus.PENDING)
    db.session.commit()
    login(client, manager)
    response = client.post(
        f"/organisations/{org.id}/invitations", data={"email": "x@ville.example"}
    )
    assert response.status_code == 422
    assert "dès que Cités Unies France aura validé l'organisation" in text(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 0


def test_existing_account_of_another_organisation_is_told_what_to_do(client, app, signatory):
    elsewhere = f.make_user(Role.APPLICANT, organisation=f.make_organisation())
    _invitation, link = invite(signatory, email=elsewhere.email)
    page = text(client.get(link))
    assert "déjà celle d'un compte DCOL rattaché à une autre organisation" in page
    assert 'name="password"' not in page
    assert client.post(link, data={}).status_code == 409


def test_existing_account_free_of_organisation_joins_after_login(client, app, org, signatory):
    user = f.make_user(Role.APPLICANT, organisation=f.make_organisation(), email="l@ex.org")
    user.organisation = None
    user.membership_status = None
    db.session.commit()
    _invitation, link = invite(signatory, email="l@ex.org", is_signatory=True)
    page = text(client.get(link))
    assert "Un compte DCOL existe déjà avec l'adresse l@ex.org" in page
    assert f"/connexion?next={link}" in page
    login(client, user)
    assert "Rejoindre Ville de Gennevilliers" in text(client.get(link))
    assert client.post(link, data={}).status_code == 302
    db.session.expire_all()
    assert user.is_active_member and user.organisation_id == org.id and user.is_signatory


def test_signed_in_as_someone_else(client, app, signatory):
    _invitation, link = invite(signatory)
    login(client, signatory)
    page = text(client.get(link))
    assert "vous êtes connecté avec le compte" in page
    assert 'name="password"' not in page
