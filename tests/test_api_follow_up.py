"""A support's follow-up through the JSON API only: reports with expenses and receipts, the
mission plan, the final deliverable's course, satisfaction, the final cofinancing and closure —
through the same services as the pages, refused the same way (422 with each field's message
and nothing written, 403/404 as the pages answer)."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error

from dcol.documents.storage import upload_folder
from dcol.extensions import db
from dcol.i18n import PARIS
from dcol.missions import deliverables
from dcol.models import (
    ApplicationState,
    AuditEvent,
    CallKind,
    CofinancingSnapshot,
    Deliverable,
    Document,
    DocumentKind,
    Expense,
    Milestone,
    MissionReport,
    Satisfaction,
    SnapshotKind,
    utcnow,
)
from tests import workflow_support as ws
from tests.document_files import image_bytes, pdf_bytes
from tests.follow_up_support import pdf_upload, running_support
from tests.test_api import ApiClient

S = ApplicationState
D = Decimal
REPORT_KINDS = (DocumentKind.REPORT, DocumentKind.EXPENSE_RECEIPT, DocumentKind.DELIVERABLE)


def today():
    return utcnow().astimezone(PARIS).date()


def pdf(name: str = "facture.pdf", content: str = "Facture"):
    return io.BytesIO(pdf_bytes(content)), name


def stored_files() -> set[str]:
    return {path.name for path in upload_folder().iterdir()}


def report_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(MissionReport.id)))


def documents_of(application, *kinds) -> list[Document]:
    return list(db.session.scalars(sa.select(Document).where(
        Document.application_id == application.id, Document.kind.in_(kinds))))


def report_body(**overrides) -> dict:
    body = {
        "report_date": today().isoformat(), "days_spent": "2,5",
        "activities": "Entretiens avec les services de l'eau ; atelier de diagnostic.",
        "is_field_mission": "true", "field_location": "Quy Nhon (Viêt Nam)",
        "expenses-0-label": "Billet de train Paris–Metz", "expenses-0-amount": "120,50",
        "expenses-0-receipt": pdf("billet.pdf"),
        "attachments": [pdf("compte-rendu.pdf", "Compte rendu"),
                        (io.BytesIO(image_bytes("PNG")), "atelier.png")],
    }
    body.update(overrides)
    return body


@pytest.fixture
def support(app):
    """A DCOL support under way: 10 days at 1 000 € and 1 000 € of mission costs contracted,
    8 800 € for CUF (tests/follow_up_support.py)."""
    return running_support(CallKind.DCOL)


def path(application, tail: str = "") -> str:
    return f"/applications/{application.id}/follow-up{tail}"


# --- a whole follow-up ------------------------------------------------------------------------


def test_a_whole_follow_up_through_the_api(client, support):
    _call, cast, application = support
    expert, signatory = ApiClient(client, cast.expert_user), ApiClient(client, cast.signatory)
    member, manager = ApiClient(client, cast.member), ApiClient(client, cast.manager)

    # What the expert reads before anything is logged: the agreement's terms, the default plan.
    body = expert.get(path(application)).json
    assert body["state"] == "in_progress" and body["with_expert"] is True
    assert body["mission"]["expert"] == "Coop'Eau Conseil"
    assert (body["totals"]["contracted_days"], body["totals"]["days_logged"]) == ("10.00", "0.00")
    assert body["totals"]["contracted_cost"] == "11000.00"
    assert body["reports"] == [] and body["deliverables"] == [] and body["satisfaction"] is None
    assert (body["may_report"], body["may_plan"], body["may_answer_satisfaction"]) == \
        (True, True, False)
    milestones = body["milestones"]
    assert milestones[-1]["phase"] == "final_deliverable"
    assert member.get(path(application)).json["may_report"] is False

    # The plan amended: the scoping done, with the reason kept in the audit trail.
    rows = [{"id": m["id"], "phase": m["phase"], "label": m["label"], "due_on": m["due_on"]}
            for m in milestones]
    rows[0]["done_on"] = today().isoformat()
    response = expert.put(path(application, "/plan"),
                          {"milestones": rows, "reason": "Cadrage tenu plus tôt."})
    assert response.status_code == 200, response.json
    assert response.json["milestones"][0]["done_on"] == today().isoformat()
    entry = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.event == "mission_plan.amended")).one()
    assert entry.comment == "Cadrage tenu plus tôt." and entry.actor_id == cast.expert_user.id

    # A report with an expense, its receipt and two attachments.
    response = expert.upload(path(application, "/reports"), report_body())
    assert response.status_code == 201, response.json
    report = response.json
    assert (report["days_spent"], report["field_location"]) == ("2.50", "Quy Nhon (Viêt Nam)")
    assert report["author"]["id"] == cast.expert_user.id
    [expense] = report["expenses"]
    assert (expense["label"], expense["amount"]) == ("Billet de train Paris–Metz", "120.50")
    assert [d["original_name"] for d in report["attachments"]] == ["compte-rendu.pdf",
                                                                   "atelier.png"]
    receipt = db.session.get(Document, expense["receipt_id"])
    assert receipt.kind is DocumentKind.EXPENSE_RECEIPT and receipt.original_name == "billet.pdf"
    download = member.get(f"/applications/{application.id}/documents/{receipt.id}")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")

    # The collectivité reads the report and the running totals (2,5 × 1 000 € + 120,50 €).
    body = member.get(path(application)).json
    assert body["totals"]["days_logged"] == "2.50" and body["totals"]["expenses"] == "120.50"
    assert body["totals"]["cost_logged"] == "2620.50"
    assert body["reports"][0]["expenses"][0]["receipt_id"] == receipt.id

    # The final deliverable deposits the final report.
    response = expert.upload(path(application, "/deliverables"), {
        "title": "Plan d'action", "description": "Diagnostic et scénarios.", "is_final": "true",
        "file": pdf("plan-v1.pdf", "Plan v1")})
    assert response.status_code == 201, response.json
    final = response.json
    assert (final["is_final"], final["state"], final["version"]) == (True, "submitted", 1)
    assert final["submitted_by"]["id"] == cast.expert_user.id and final["steps"] == []
    first_file = final["current_file_id"]
    assert expert.get(f"/applications/{application.id}").json["state"] == "final_report"
    steps = f"{path(application)}/deliverables/{final['id']}/steps"
    seen = signatory.get(path(application)).json["deliverables"][0]
    assert [s["name"] for s in seen["steps"]] == ["accept", "ask_revision"]
    assert seen["current_file_id"] == first_file

    # A revision: its comment is needed; it sends the dossier back in progress.
    response = signatory.post(steps, {"step": "ask_revision", "comment": "  "})
    assert response.status_code == 422
    assert response.json["errors"]["comment"] == "Indiquez ce qui doit être revu."
    response = signatory.post(steps, {"step": "ask_revision",
                                      "comment": "Chiffrer les trois scénarios."})
    assert response.status_code == 200, response.json
    assert response.json["state"] == "revision_requested"
    assert response.json["revision_comment"] == "Chiffrer les trois scénarios."
    assert expert.get(f"/applications/{application.id}").json["state"] == "in_progress"
    assert [s["name"] for s in expert.get(path(application)).json["deliverables"][0]["steps"]] \
        == ["resubmit"]

    # The revised version: version 2, the first file kept among the previous ones.
    revision = f"{path(application)}/deliverables/{final['id']}/revision"
    response = expert.upload(revision, {"file": pdf("plan-v2.pdf", "Plan v2"),
                                        "note": "Scénarios chiffrés."})
    assert response.status_code == 200, response.json
    assert (response.json["version"], response.json["state"]) == (2, "submitted")
    assert response.json["current_file"]["original_name"] == "plan-v2.pdf"
    assert [d["id"] for d in response.json["previous_files"]] == [first_file]
    assert expert.get(f"/applications/{application.id}").json["state"] == "final_report"

    # The collectivité accepts, then CUF validates (not before).
    assert manager.post(steps, {"step": "validate"}).status_code == 409
    response = signatory.post(steps, {"step": "accept"})
    assert response.status_code == 200 and response.json["state"] == "accepted_by_applicant"
    assert response.json["accepted_by"]["id"] == cast.signatory.id
    response = manager.post(steps, {"step": "validate"})
    assert response.status_code == 200 and response.json["state"] == "validated"
    assert response.json["validated_by"]["id"] == cast.manager.id

    # The questionnaire, by the signatory; the expert is not shown the marks.
    answer = {"quality": 4, "timeliness": 5, "relevance": 4, "overall": 5,
              "comment": "Restitution très appréciée des élus."}
    assert signatory.get(path(application)).json["may_answer_satisfaction"] is True
    response = signatory.put(path(application, "/satisfaction"), answer)
    assert response.status_code == 200, response.json
    assert response.json["satisfaction"]["overall"] == 5
    assert member.get(path(application)).json["satisfaction"]["comment"] == answer["comment"]
    shown = expert.get(path(application)).json["satisfaction"]
    assert shown["shows_ratings"] is False and shown["overall"] is None
    assert shown["comment"] is None and shown["respondent"]["id"] == cast.signatory.id

    # Closing waits for the final cofinancing, computed on the actual costs.
    assert manager.fire(application.id, "close", "Mission menée à bien.").status_code == 409
    response = manager.post(path(application, "/final-cofinancing"), None)
    assert response.status_code == 201, response.json
    # 2,5 days at 1 000 € and 120,50 € of expenses: 2 620,50 €, 80 % for CUF.
    assert (response.json["total_cost"], response.json["scheme_share"],
            response.json["applicant_share"]) == ("2620.50", "2096.40", "524.10")
    assert {"label": "Frais de mission réalisés", "amount": "120.50"} in response.json["lines"]
    assert member.get(path(application)).json["final_cofinancing"]["scheme_share"] == "2096.40"

    response = manager.fire(application.id, "close", "Mission menée à bien.")
    assert response.status_code == 200, response.json
    assert response.json["state"] == "closed"
    body = signatory.get(path(application)).json
    assert body["state"] == "closed" and body["closure_report_id"] is not None
    assert not any((body["may_report"], body["may_plan"], body["may_answer_satisfaction"],
                    body["may_compute_final_cofinancing"]))
    assert body["deliverables"][0]["steps"] == []

    # Read-only from now on.
    assert manager.post(path(application, "/final-cofinancing"), None).status_code == 403
    assert expert.upload(path(application, "/reports"), report_body()).status_code == 404
    assert signatory.put(path(application, "/satisfaction"), answer).status_code == 404
    assert manager.post(steps, {"step": "ask_revision", "comment": "Encore."}).status_code \
        == 403
    assert db.session.scalar(sa.select(sa.func.count(CofinancingSnapshot.id)).where(
        CofinancingSnapshot.kind == SnapshotKind.FINAL)) == 1


def test_a_project_report_needs_no_days(client, app):
    """A call for projects: the collectivité reports, without days."""
    _call, cast, application = running_support(CallKind.AAP)
    signatory = ApiClient(client, cast.signatory)
    response = signatory.upload(path(application, "/reports"), report_body(
        days_spent="", is_field_mission="false", field_location="", attachments=[]))
    assert response.status_code == 201, response.json
    assert response.json["days_spent"] == "0.00"
    body = signatory.get(path(application)).json
    assert body["with_expert"] is False and body["totals"]["expenses"] == "120.50"


# --- refusals ---------------------------------------------------------------------------------


def test_an_invalid_report_is_refused_with_field_errors_and_nothing_written(client, support):
    _call, cast, application = support
    expert = ApiClient(client, cast.expert_user)
    files_before = stored_files()

    # What the body cannot be read as: days, an amount, a file sent as text.
    response = expert.upload(path(application, "/reports"), report_body(**{
        "days_spent": "deux jours", "expenses-0-amount": "12,345",
        "expenses-0-receipt": "facture.pdf"}))
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    errors = response.json["errors"]
    assert errors["days_spent"] == ["Nombre de jours invalide : indiquez un nombre, par exemple "
                                    "12,5."]
    assert "deux décimales" in errors["expenses-0-amount"][0]
    assert errors["expenses-0-receipt"] == ["Fichier attendu."]

    # What the service refuses, each message on the field sent: no activities, a date to
    # come, the second expense (row 3 of the request) without its receipt.
    response = expert.upload(path(application, "/reports"), report_body(**{
        "activities": "  ", "report_date": (today() + timedelta(days=3)).isoformat(),
        "expenses-3-label": "Taxi", "expenses-3-amount": "30"}))
    assert response.status_code == 422
    assert response.json["detail"] == "Le rapport n'a pas été enregistré."
    assert response.json["errors"] == {
        "activities": "Décrivez les activités menées.",
        "report_date": "La date du rapport ne peut pas être dans le futur.",
        "expenses-3-receipt": "Joignez le justificatif de la dépense.",
    }

    # A receipt that is not what it claims to be: refused once the files are read, and the
    # files already stored for the report are deleted.
    response = expert.upload(path(application, "/reports"), report_body(**{
        "expenses-2-label": "Hôtel", "expenses-2-amount": "80",
        "expenses-2-receipt": (io.BytesIO(b"MZ\x90\x00 not a pdf at all"), "facture.pdf")}))
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["expenses-2-receipt"]
    assert response.json["errors"]["expenses-2-receipt"].startswith(
        "Le fichier « facture.pdf » n'est pas d'un type accepté.")

    assert report_count() == 0
    assert db.session.scalar(sa.select(sa.func.count(Expense.id))) == 0
    assert documents_of(application, *REPORT_KINDS) == []
    assert stored_files() == files_before


def test_invalid_plan_deliverable_and_answer_are_refused(client, support):
    _call, cast, application = support
    expert, signatory = ApiClient(client, cast.expert_user), ApiClient(client, cast.signatory)
    milestones = expert.get(path(application)).json["milestones"]
    rows = [{"id": m["id"], "phase": m["phase"], "label": m["label"], "due_on": m["due_on"]}
            for m in milestones]

    # A plan exists: amending it needs a reason; a row's message names its rank.
    broken = [*rows, {"phase": "restitution", "label": " ", "due_on": "2026-13-01"}]
    response = expert.put(path(application, "/plan"), {"milestones": broken})
    assert response.status_code == 422
    assert "Date invalide" in response.json["errors"]["milestones"]["5"]["due_on"][0]
    broken[-1]["due_on"] = today().isoformat()
    response = expert.put(path(application, "/plan"), {"milestones": broken})
    assert response.status_code == 422
    assert response.json["errors"] == {
        f"milestones-{len(rows)}-label": "Indiquez l'intitulé du jalon.",
        "reason": "Indiquez le motif de la modification du plan.",
    }
    response = expert.put(path(application, "/plan"),
                          {"milestones": rows[:1], "reason": "Plus court."})
    assert response.status_code == 422
    assert response.json["errors"]["milestones"] == \
        "Le plan de mission doit prévoir la remise du livrable final."
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Milestone.id))) == len(rows)

    # A deliverable without a title; a final one before any report (the guards: 409).
    files_before = stored_files()
    response = expert.upload(path(application, "/deliverables"),
                             {"title": " ", "file": pdf("plan.pdf")})
    assert response.status_code == 422
    assert response.json["errors"] == {"title": "Indiquez le titre du livrable."}
    response = expert.upload(path(application, "/deliverables"),
                             {"title": "Plan d'action", "is_final": "true",
                              "file": pdf("plan.pdf")})
    assert response.status_code == 409
    assert response.json["problems"]
    assert expert.upload(path(application, "/deliverables"),
                         {"title": "Plan d'action"}).json["errors"]["file"] == \
        ["Champ obligatoire."]
    assert db.session.scalar(sa.select(sa.func.count(Deliverable.id))) == 0
    assert stored_files() == files_before
    assert expert.get(f"/applications/{application.id}").json["state"] == "in_progress"

    # The questionnaire: ratings from 1 to 5, every one of them (once the final report is in).
    ws.log_report(application, cast.expert_user)
    deliverables.submit_deliverable(application, cast.expert_user, title="Plan d'action",
                                    description="", is_final=True, upload=pdf_upload())
    db.session.commit()
    response = signatory.put(path(application, "/satisfaction"),
                             {"quality": 7, "timeliness": 5, "relevance": 4})
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"quality", "overall"}
    response = signatory.put(path(application, "/satisfaction"),
                             {"quality": 4, "timeliness": 5, "relevance": 4, "overall": 5,
                              "colour": "bleu"})
    assert response.status_code == 422
    assert response.json["errors"] == {"colour": ["Champ inconnu."]}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Satisfaction)) == 0


# --- who sees what, who does what -------------------------------------------------------------


def every_call(application, deliverable_id: int) -> list[tuple[str, str, object]]:
    """Each endpoint with a body the service would take."""
    deliverable = f"/deliverables/{deliverable_id}"
    return [
        ("get", "", None),
        ("put", "/plan", {"milestones": [{"phase": "final_deliverable", "label": "Remise",
                                          "due_on": today().isoformat()}], "reason": "Motif."}),
        ("upload", "/reports", report_body()),
        ("upload", "/deliverables", {"title": "Note", "file": pdf("note.pdf")}),
        ("upload", f"{deliverable}/revision", {"file": pdf("v2.pdf")}),
        ("post", f"{deliverable}/steps", {"step": "accept"}),
        ("post", f"{deliverable}/steps", {"step": "ask_revision", "comment": "À revoir."}),
        ("post", f"{deliverable}/steps", {"step": "validate"}),
        ("put", "/satisfaction", {"quality": 4, "timeliness": 4, "relevance": 4, "overall": 4}),
        ("post", "/final-cofinancing", None),
    ]


def call(api: ApiClient, method: str, url: str, body):
    if method == "get":
        return api.get(url)
    if method == "upload":
        return api.upload(url, body)
    return getattr(api, method)(url, body)


@pytest.fixture
def final_report_in(support):
    """The support with a report and its final deliverable deposited (final report in)."""
    _call, cast, application = support
    ws.log_report(application, cast.expert_user)
    final = deliverables.submit_deliverable(
        application, cast.expert_user, title="Plan d'action", description="", is_final=True,
        upload=pdf_upload())
    db.session.commit()
    return cast, application, final


def test_who_may_not_see_the_follow_up_gets_404_everywhere(client, final_report_in):
    cast, application, final = final_report_in
    reviewer = cast.reviewers[0]  # assigned and cleared: sees the dossier, not its follow-up
    assert ApiClient(client, reviewer).get(f"/applications/{application.id}").status_code == 200
    for user in (cast.other_expert_user, cast.outsider, reviewer):
        api = ApiClient(client, user)
        for method, tail, body in every_call(application, final.id):
            response = call(api, method, path(application, tail), body)
            assert response.status_code == 404, (user.email, method, tail, response.json)
            assert response.mimetype == "application/problem+json"
    db.session.expire_all()
    assert report_count() == 1
    assert db.session.get(Deliverable, final.id).state.value == "submitted"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Satisfaction)) == 0


def test_a_dossier_not_yet_followed_and_another_dossiers_deliverable_are_not_found(
        client, final_report_in):
    cast, _application, final = final_report_in
    call_ = ws.make_call_for(CallKind.DCOL)
    other_cast = ws.make_cast(call_)
    pending = ws.complete_dossier(call_, other_cast)  # deposited: no mission yet
    _c, _cast, other = running_support(CallKind.DCOL)
    db.session.commit()
    manager = ApiClient(client, cast.manager)
    assert manager.get(path(pending)).status_code == 404
    assert manager.post(path(other, f"/deliverables/{final.id}/steps"),
                        {"step": "validate"}).status_code == 404
    assert manager.get(f"/applications/{2**31 - 1}/follow-up").status_code == 404


def test_a_member_who_is_not_signatory_is_answered_as_the_pages_answer(client, final_report_in):
    cast, application, final = final_report_in
    member = ApiClient(client, cast.member)
    statuses = {(method, tail.rsplit("/", 1)[-1], str(body and body.get("step"))):
                call(member, method, path(application, tail), body).status_code
                for method, tail, body in every_call(application, final.id)}
    assert statuses == {
        ("get", "", "None"): 200,  # reads the follow-up
        ("put", "plan", "None"): 404,
        ("upload", "reports", "None"): 404,
        ("upload", "deliverables", "None"): 404,
        ("upload", "revision", "None"): 404,
        ("post", "steps", "accept"): 403,  # the deliverable is seen, the step is not theirs
        ("post", "steps", "ask_revision"): 403,
        ("post", "steps", "validate"): 403,
        ("put", "satisfaction", "None"): 404,
        ("post", "final-cofinancing", "None"): 404,
    }
    db.session.expire_all()
    assert db.session.get(Deliverable, final.id).state.value == "submitted"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Satisfaction)) == 0
    # The expert may not take the collectivité's steps either (403, as on the page).
    expert = ApiClient(client, cast.expert_user)
    assert expert.post(path(application, f"/deliverables/{final.id}/steps"),
                       {"step": "accept"}).status_code == 403


def test_the_follow_up_loads_in_a_fixed_number_of_queries(client, support):
    _call, cast, application = support
    manager = ApiClient(client, cast.manager)
    expert = ApiClient(client, cast.expert_user)

    def queries() -> int:
        statements = []
        db.session.commit()

        def count(*args):
            if "outgoing_mails" not in args[2]:
                statements.append(args[2])

        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert manager.get(path(application)).status_code == 200
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    assert expert.upload(path(application, "/reports"), report_body()).status_code == 201
    few = queries()
    for _ in range(3):
        assert expert.upload(path(application, "/reports"), report_body()).status_code == 201
    assert queries() == few


# --- the OpenAPI document ---------------------------------------------------------------------


def test_the_follow_up_is_documented(client):
    document = client.get("/api/v1/openapi.json").json
    validate(document)
    base = "/api/v1/applications/{application_id}/follow-up"
    paths = document["paths"]
    assert set(paths[base]) >= {"get"} and "put" in paths[f"{base}/plan"]
    assert "put" in paths[f"{base}/satisfaction"]
    assert "post" in paths[f"{base}/final-cofinancing"]
    assert "post" in paths[f"{base}/deliverables/{{deliverable_id}}/steps"]
    for tail in ("/reports", "/deliverables", "/deliverables/{deliverable_id}/revision"):
        body = paths[base + tail]["post"]["requestBody"]["content"]
        assert list(body) == ["multipart/form-data"], tail
    report = document["components"]["schemas"]["ReportIn"]["properties"]
    assert report["expenses-0-receipt"]["format"] == "binary"
    assert report["attachments"]["items"]["format"] == "binary"
    assert {"404", "422"} <= set(paths[base + "/reports"]["post"]["responses"])


def test_generated_requests_make_no_server_error(app, client, final_report_in):
    """Requests generated from the document, aimed at a followed dossier and its deliverable,
    as each of the people who act on it, never make a server error."""
    cast, application, final = final_report_in
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()
                  if "/follow-up" in result.ok().path]
    assert len(operations) == 8
    answered = set()

    def fuzz(operation, headers: dict) -> None:
        @settings(max_examples=12, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def no_server_error(case):
            case.path_parameters = {"application_id": application.id,
                                    "deliverable_id": final.id}
            response = case.call(headers=headers)
            case.validate_response(response, checks=[not_a_server_error])
            answered.add(response.status_code)

        no_server_error()

    for user in (cast.expert_user, cast.signatory, cast.manager):
        headers = ApiClient(client, user).headers
        for operation in operations:
            fuzz(operation, headers)
    assert {200, 422} <= answered, sorted(answered)
