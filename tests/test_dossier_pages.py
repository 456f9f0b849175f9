"""The dossier page: state, timeline from the audit trail, one button per available event."""

from __future__ import annotations

from dcol.extensions import db
from dcol.models import ApplicationState, CallKind
from tests import factories as f
from tests import workflow_support as ws

S = ApplicationState


def login(client, user):
    response = client.post("/connexion", data={"email": user.email, "password": f.PASSWORD})
    assert response.status_code == 302


def setup_dossier(state=S.DRAFT, kind=CallKind.DCOL):
    call = ws.make_call_for(kind)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    ws.drive_to(application, cast, state)
    db.session.commit()
    return cast, application


def test_page_shows_state_timeline_and_buttons(client, app):
    cast, application = setup_dossier(S.SUBMITTED)
    login(client, cast.manager)
    page = client.get(f"/dossiers/{application.id}").get_data(as_text=True)
    assert 'id="etat-dossier">Déposé<' in page
    assert 'data-event="declare_eligible"' in page and 'data-event="request_changes"' in page
    assert 'data-event="submit"' not in page
    assert page.count("<li><time") == 2  # created, submitted


def test_firing_from_the_page(client, app):
    cast, application = setup_dossier(S.SUBMITTED)
    login(client, cast.manager)
    response = client.post(f"/dossiers/{application.id}/evenements/declare_eligible",
                           data={"version": application.version, "comment": ""})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "maintenant à l&#39;état « Recevable »" in page
    db.session.expire_all()
    assert application.state is S.ELIGIBLE


def test_missing_reason_keeps_what_was_typed(client, app):
    cast, application = setup_dossier(S.SUBMITTED)
    login(client, cast.manager)
    response = client.post(
        f"/dossiers/{application.id}/evenements/request_changes",
        data={"version": application.version, "comment": "", "response_deadline": ws.future()},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Le champ « Ce qu&#39;il faut compléter » est obligatoire." in page
    assert f'value="{ws.future()}"' in page
    db.session.expire_all()
    assert application.state is S.SUBMITTED


def test_unmet_guards_are_shown_and_refusal_explained(client, app):
    cast, application = setup_dossier(S.DRAFT)
    application.title = ""
    db.session.commit()
    login(client, cast.signatory)
    page = client.get(f"/dossiers/{application.id}").get_data(as_text=True)
    assert "Champ obligatoire non renseigné" in page
    response = client.post(f"/dossiers/{application.id}/evenements/submit",
                           data={"version": application.version})
    assert response.status_code == 409
    assert "ne peut pas encore être effectuée" in response.get_data(as_text=True)


def test_stale_page_is_refused(client, app):
    cast, application = setup_dossier(S.SUBMITTED)
    login(client, cast.manager)
    response = client.post(f"/dossiers/{application.id}/evenements/declare_eligible",
                           data={"version": application.version - 1})
    assert response.status_code == 412
    assert "modifié depuis que vous l&#39;avez ouvert" in response.get_data(as_text=True)


def test_other_organisation_gets_404_and_no_data(client, app):
    cast, application = setup_dossier(S.SUBMITTED)
    login(client, cast.outsider)
    response = client.get(f"/dossiers/{application.id}")
    assert response.status_code == 404
    assert application.title not in response.get_data(as_text=True)
    assert client.post(f"/dossiers/{application.id}/evenements/withdraw",
                       data={"comment": "x"}).status_code == 404
    assert application.reference not in client.get("/dossiers/").get_data(as_text=True)


def test_applicant_does_not_see_reviewers_names_in_the_timeline(client, app):
    cast, application = setup_dossier(S.REVIEWED)
    login(client, cast.signatory)
    page = client.get(f"/dossiers/{application.id}").get_data(as_text=True)
    assert cast.manager.full_name not in page
    assert "Instruit" in page


def test_list_shows_only_visible_dossiers(client, app):
    cast, application = setup_dossier(S.SUBMITTED)
    login(client, cast.member)
    page = client.get("/dossiers/").get_data(as_text=True)
    assert application.reference in page


def test_page_and_api_name_the_same_actors(client, app):
    """Who acted is decided in one place: the page's timeline and the API's history agree."""
    from dcol.accounts.services import create_api_token

    cast, application = setup_dossier(S.REVIEWED)
    token = create_api_token(cast.signatory, "tests")
    db.session.commit()
    history = client.get(f"/api/v1/applications/{application.id}/history",
                         headers={"Authorization": f"Bearer {token}"}).json
    named = {entry["actor"] for entry in history} - {None}
    assert named == {cast.signatory.full_name}  # the organisation's own, not CUF's staff
    login(client, cast.signatory)
    page = client.get(f"/dossiers/{application.id}").get_data(as_text=True)
    assert f"({cast.signatory.full_name})" in page
    for staff in (cast.manager, *cast.reviewers):
        assert staff.full_name not in page


def test_manager_sees_every_actor_and_french_titles(client, app):
    cast, application = setup_dossier(S.REVIEWED)
    login(client, cast.manager)
    page = client.get(f"/dossiers/{application.id}").get_data(as_text=True)
    assert f"({cast.manager.full_name})" in page
    assert "Recevable" in page and "En instruction" in page


def test_dossier_filter_lists_only_calls_the_user_may_see(client, app):
    cast, application = setup_dossier(S.SUBMITTED)
    f.make_call(title="Appel en préparation, non publié", is_published=False)
    db.session.commit()
    login(client, cast.signatory)
    page = client.get("/dossiers/").get_data(as_text=True)
    assert application.call.title in page
    assert "Appel en préparation, non publié" not in page
