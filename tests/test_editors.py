"""Co-editors: the author of a dossier or a signatory of its organisation lets a colleague
complete it; nobody else chooses, and nothing changes once the dossier is deposited."""

from __future__ import annotations

import pytest

from dcol.applications.services import create_application
from dcol.extensions import db
from dcol.models import ApplicationState, CallKind, MembershipStatus, OutgoingMail, Role
from dcol.permissions import Action, can
from tests import factories as f
from tests import workflow_support as ws


def login(client, user):
    from flask import g

    g.pop("_login_user", None)  # the test's app context outlives each request
    assert client.post("/connexion", data={"email": user.email,
                                           "password": f.PASSWORD}).status_code == 302


@pytest.fixture
def team(app):
    """A DCOL draft created by a member who is not a signatory, and their colleagues."""
    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    org = cast.signatory.organisation
    colleague = f.make_user(Role.APPLICANT, organisation=org, email="leila@fensch.fr")
    pending = f.make_user(Role.APPLICANT, organisation=org, membership=MembershipStatus.PENDING)
    application = create_application(call, cast.member, title="Stratégie de coopération",
                                     track=call.tracks[0])
    db.session.commit()
    return cast, application, colleague, pending


def test_author_makes_a_colleague_co_editor_who_is_told_and_may_then_edit(client, team):
    cast, application, colleague, _ = team
    assert not can(colleague, Action.APP_EDIT, application)
    login(client, cast.member)
    page = client.get(f"/dossiers/{application.id}").get_data(as_text=True)
    assert "Rédaction du dossier" in page and "Ajouter comme co-rédacteur" in page
    response = client.post(f"/dossiers/{application.id}/co-redacteurs",
                           data={"user_id": colleague.id})
    assert response.status_code == 302
    db.session.expire_all()
    assert can(colleague, Action.APP_EDIT, application)
    assert not can(colleague, Action.APP_SUBMIT, application)  # depositing stays with signatories
    mail = db.session.query(OutgoingMail).filter_by(to_address=colleague.email).one()
    assert application.reference in mail.subject
    page = client.get(f"/dossiers/{application.id}").get_data(as_text=True)
    assert f"Co-rédacteur ajouté : {colleague.full_name}" in page
    login(client, colleague)
    response = client.post(f"/dossiers/{application.id}/formulaire/general", data={
        "version": application.version, "title": "Stratégie de coopération avec Binh Dinh",
        "track": application.track_id, "summary": "", "next": ""})
    assert response.status_code == 302


def test_removed_co_editor_can_no_longer_edit(client, team):
    cast, application, colleague, _ = team
    login(client, cast.signatory)
    client.post(f"/dossiers/{application.id}/co-redacteurs", data={"user_id": colleague.id})
    response = client.post(f"/dossiers/{application.id}/co-redacteurs/{colleague.id}/retrait")
    assert response.status_code == 302
    db.session.expire_all()
    assert not can(colleague, Action.APP_EDIT, application)
    page = client.get(f"/dossiers/{application.id}").get_data(as_text=True)
    assert f"Co-rédacteur retiré : {colleague.full_name}" in page


def test_a_member_who_is_neither_author_nor_signatory_cannot_choose(client, team):
    cast, application, colleague, _ = team
    other = f.make_user(Role.APPLICANT, organisation=cast.signatory.organisation)
    db.session.commit()
    login(client, other)
    page = client.get(f"/dossiers/{application.id}").get_data(as_text=True)
    assert "Ajouter comme co-rédacteur" not in page
    response = client.post(f"/dossiers/{application.id}/co-redacteurs",
                           data={"user_id": colleague.id})
    assert response.status_code == 403
    db.session.expire_all()
    assert application.editors == []


@pytest.mark.parametrize("who", ["outsider", "pending", "stranger"])
def test_only_validated_members_of_the_organisation_become_co_editors(client, team, who):
    cast, application, _, pending = team
    person = {"outsider": cast.outsider, "pending": pending,
              "stranger": f.make_user(Role.REVIEWER)}[who]
    db.session.commit()
    login(client, cast.signatory)
    response = client.post(f"/dossiers/{application.id}/co-redacteurs",
                           data={"user_id": person.id})
    assert response.status_code == 422
    db.session.expire_all()
    assert application.editors == []


def test_another_organisation_gets_404(client, team):
    cast, application, colleague, _ = team
    login(client, cast.outsider)
    response = client.post(f"/dossiers/{application.id}/co-redacteurs",
                           data={"user_id": colleague.id})
    assert response.status_code == 404


def test_no_change_of_editors_once_deposited(client, app):
    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    ws.drive_to(application, cast, ApplicationState.SUBMITTED)
    db.session.commit()
    login(client, cast.signatory)
    assert "Ajouter comme co-rédacteur" not in client.get(
        f"/dossiers/{application.id}").get_data(as_text=True)
    response = client.post(f"/dossiers/{application.id}/co-redacteurs",
                           data={"user_id": cast.member.id})
    assert response.status_code == 403
