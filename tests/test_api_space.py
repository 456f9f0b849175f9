"""The collectivités' space through the JSON API: the pre-check, the budget, documents, the
message thread, co-editors and receipts, answered like the web pages (same services)."""

from __future__ import annotations

from io import BytesIO

import pytest

from dcol.extensions import db
from dcol.models import Application, ApplicationState, CallKind, Role
from tests import factories as f
from tests import workflow_support as ws
from tests.document_files import pdf_bytes
from tests.test_api import ApiClient

S = ApplicationState


@pytest.fixture
def aap(app):
    call = ws.make_call_for(CallKind.AAP)
    cast = ws.make_cast(call)
    db.session.commit()
    return call, cast


def create(api, call, countries=("AM",)):
    response = api.post("/applications", {"call_id": call.id, "track_id": call.tracks[0].id,
                                          "countries": list(countries), "title": "Résidences"})
    assert response.status_code == 201, response.json
    return response.json


def test_precheck_says_why_not_and_creation_is_refused_the_same(client, aap):
    call, cast = aap
    api = ApiClient(client, cast.signatory)
    answer = api.post(f"/calls/{call.id}/eligibility",
                      {"track_id": call.tracks[0].id, "countries": ["VN"]})
    assert answer.status_code == 200
    assert answer.json["eligible"] is False
    assert any("ne couvre pas : Viêt Nam" in problem for problem in answer.json["problems"])
    response = api.post("/applications", {"call_id": call.id, "track_id": call.tracks[0].id,
                                          "countries": ["VN"]})
    assert response.status_code == 409
    assert response.json["problems"] == answer.json["problems"]
    assert db.session.query(Application).count() == 0


def test_precheck_of_an_unvalidated_member(client, aap):
    call, cast = aap
    pending = f.make_user(Role.APPLICANT, organisation=cast.signatory.organisation,
                          membership=f.MembershipStatus.PENDING)
    api = ApiClient(client, pending)
    answer = api.post(f"/calls/{call.id}/eligibility",
                      {"track_id": call.tracks[0].id, "countries": ["AM"]}).json
    assert answer["eligible"] is False


def test_budget_is_replaced_with_a_version_and_refused_when_stale_or_invalid(client, aap):
    call, cast = aap
    api = ApiClient(client, cast.signatory)
    created = create(api, call)
    lines = [{"kind": "expense", "label": "Résidences d'artistes", "amount": "10000.00"},
             {"kind": "income", "label": "Subvention demandée", "amount": "8000.00"}]
    response = api.put(f"/applications/{created['id']}/budget",
                       {"version": created["version"], "lines": lines})
    assert response.status_code == 200, response.json
    assert [(line["label"], line["amount"]) for line in response.json["budget_lines"]] == [
        ("Résidences d'artistes", "10000.00"), ("Subvention demandée", "8000.00")]
    stale = api.put(f"/applications/{created['id']}/budget",
                    {"version": created["version"], "lines": []})
    assert stale.status_code == 412
    invalid = api.put(f"/applications/{created['id']}/budget", {
        "version": response.json["version"],
        "lines": [{"kind": "expense", "label": "Billets", "amount": "-5"}]})
    assert invalid.status_code == 422
    assert "positif" in " ".join(invalid.json["errors"].values())
    assert len(api.get(f"/applications/{created['id']}").json["budget_lines"]) == 2


def test_documents_are_checked_by_content_and_replaced_with_their_history(client, aap):
    call, cast = aap
    api = ApiClient(client, cast.signatory)
    created = create(api, call)
    code = call.document_requirements[0].code
    path = f"/applications/{created['id']}/documents"
    first = api.upload(path, {"file": (BytesIO(pdf_bytes("v1")), "deliberation.pdf"),
                              "requirement": code})
    assert first.status_code == 201 and first.json["requirement"] == code
    second = api.upload(path, {"file": (BytesIO(pdf_bytes("v2")), "deliberation-v2.pdf"),
                               "requirement": code})
    assert second.status_code == 201
    listed = api.get(path).json
    assert [(d["original_name"], d["is_current"]) for d in listed] == [
        ("deliberation.pdf", False), ("deliberation-v2.pdf", True)]
    fake = api.upload(path, {"file": (BytesIO(b"MZ\x90\x00 not a pdf"), "budget.pdf")})
    assert fake.status_code == 422 and "type accepté" in fake.json["detail"]
    unknown = api.upload(path, {"file": (BytesIO(pdf_bytes()), "x.pdf"), "requirement": "nope"})
    assert unknown.status_code == 422
    download = api.get(f"{path}/{second.json['id']}")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")


def test_documents_of_another_organisation_answer_404(client, aap):
    call, cast = aap
    created = create(ApiClient(client, cast.signatory), call)
    outsider = ApiClient(client, cast.outsider)
    path = f"/applications/{created['id']}/documents"
    assert outsider.get(path).status_code == 404
    assert outsider.upload(path, {"file": (BytesIO(pdf_bytes()), "x.pdf")}).status_code == 404


def test_member_who_may_not_edit_cannot_upload(client, aap):
    call, cast = aap
    created = create(ApiClient(client, cast.signatory), call)
    response = ApiClient(client, cast.member).upload(
        f"/applications/{created['id']}/documents", {"file": (BytesIO(pdf_bytes()), "x.pdf")})
    assert response.status_code == 403


def test_messages_are_posted_read_and_mailed(client, aap):
    call, cast = aap
    applicant = ApiClient(client, cast.signatory)
    created = create(applicant, call)
    path = f"/applications/{created['id']}/messages"
    posted = applicant.upload(path, {"body": "Bonjour, une question sur le budget.",
                                     "attachments": [(BytesIO(pdf_bytes()), "devis.pdf")]})
    assert posted.status_code == 201, posted.json
    assert posted.json["attachments"][0]["original_name"] == "devis.pdf"
    manager = ApiClient(client, cast.manager)
    thread = manager.get(path).json
    assert [(m["body"], m["unread"], m["side"]) for m in thread] == [
        ("Bonjour, une question sur le budget.", True, cast.signatory.organisation.name)]
    assert manager.get(path).json[0]["unread"] is False  # reading marks it read
    empty = applicant.upload(path, {"body": "   "})
    assert empty.status_code == 422 and "Écrivez votre message" in empty.json["detail"]
    assert ApiClient(client, cast.outsider).get(path).status_code == 404
    assert ApiClient(client, cast.reviewers[0]).get(path).status_code == 404


def test_co_editors_through_the_api(client, aap):
    call, cast = aap
    api = ApiClient(client, cast.signatory)
    created = create(api, call)
    path = f"/applications/{created['id']}/editors"
    editors = api.get(path).json
    assert cast.member.id in {person["id"] for person in editors["candidates"]}
    added = api.post(path, {"user_id": cast.member.id})
    assert added.status_code == 201
    assert [p["id"] for p in added.json["co_editors"]] == [cast.member.id]
    assert api.post(path, {"user_id": cast.outsider.id}).status_code == 422
    member = ApiClient(client, cast.member)
    assert member.get(path).json["candidates"] == []  # the co-editor does not choose
    assert member.post(path, {"user_id": cast.member.id}).status_code == 403
    assert api.delete(f"{path}/{cast.member.id}").status_code == 204
    assert api.get(path).json["co_editors"] == []
    assert ApiClient(client, cast.outsider).get(path).status_code == 404
    assert ApiClient(client, cast.manager).get(path).status_code == 404


def test_receipt_of_a_deposit(client, aap):
    call, cast = aap
    application = ws.complete_dossier(call, cast)
    ws.fire_step(application, cast, "submit")
    db.session.commit()
    response = ApiClient(client, cast.signatory).get(f"/applications/{application.id}/receipts/1")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert ApiClient(client, cast.signatory).get(
        f"/applications/{application.id}/receipts/2").status_code == 404
    assert ApiClient(client, cast.outsider).get(
        f"/applications/{application.id}/receipts/1").status_code == 404
