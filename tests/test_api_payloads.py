"""Payloads of POST /applications/{id}/events: whatever a client sends, a refusal is a 422 in
French that changes nothing (never a server error), and valid values are stored as meant."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from dcol.accounts.services import create_api_token
from dcol.extensions import db
from dcol.models import ApplicationState, AuditEvent, CallKind, MissionProposal, utcnow
from tests import workflow_support as ws

S = ApplicationState
EVENTS_PATH = "/api/v1/applications/{}/events"


class Client:
    def __init__(self, client, user):
        self.client = client
        self.headers = {"Authorization": f"Bearer {create_api_token(user, 'tests')}"}
        db.session.commit()

    def version(self, application_id) -> int:
        return self.client.get(f"/api/v1/applications/{application_id}",
                               headers=self.headers).json["version"]

    def fire(self, application, event, comment="", payload=None, **body):
        body = {"event": event, "comment": comment, "payload": payload or {},
                "version": self.version(application.id), **body}
        return self.post(application, json.dumps(body))

    def post(self, application, raw: str):
        return self.client.post(EVENTS_PATH.format(application.id), data=raw,
                                headers={**self.headers, "Content-Type": "application/json"})


@pytest.fixture
def dcol(app):
    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    db.session.commit()
    return cast, application


def audit_count(application) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).where(AuditEvent.application_id == application.id))


def assert_refused(response, application, state, audit_before):
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    db.session.expire_all()
    assert application.state is state
    assert audit_count(application) == audit_before
    return response.json


def far(days: int) -> str:
    return (utcnow() + timedelta(days=days)).date().isoformat()


DEADLINES = [
    # (response_deadline, what the refusal says)
    ("9999-12-31T23:59:59-12:00", "n'est pas une date valide"),  # beyond datetime once in UTC
    ("0001-01-01T00:00:00+14:00", "n'est pas une date valide"),
    ("0001-01-01", "doit être dans le futur"),
    ("9999-12-31", "ne peut pas dépasser le"),
    ("2020-01-01", "doit être dans le futur"),
    ("31/12/2027", "n'est pas une date valide"),
    ("", "Indiquez la date limite de réponse"),
]


@pytest.mark.parametrize(("deadline", "expected"), DEADLINES, ids=[d for d, _ in DEADLINES])
def test_request_changes_refuses_deadlines_out_of_range(client, dcol, deadline, expected):
    cast, application = dcol
    ws.drive_to(application, cast, S.SUBMITTED)
    before = audit_count(application)
    response = Client(client, cast.manager).fire(
        application, "request_changes", "Joindre le budget.", {"response_deadline": deadline})
    body = assert_refused(response, application, S.SUBMITTED, before)
    assert body["detail"] == ("Les données envoyées pour l'action « Demander des compléments » "
                              "ne sont pas valides.")
    assert any(expected in problem for problem in body["problems"]), body["problems"]


def test_request_changes_accepts_a_deadline_within_two_years(client, dcol):
    cast, application = dcol
    ws.drive_to(application, cast, S.SUBMITTED)
    response = Client(client, cast.manager).fire(
        application, "request_changes", "Joindre le budget.",
        {"response_deadline": far(700) + "T12:00:00+02:00"})
    assert response.status_code == 200, response.json
    db.session.expire_all()
    assert application.response_deadline.isoformat().startswith(far(700) + "T10:00:00")
    assert far(700) in response.json["response_deadline"]


PROPOSALS = [
    # (payload beyond the expert, where the refusal is reported, what it says)
    ({"expert_id": 99999999999}, "errors", "Doit être compris entre 1 et 2147483647."),
    ({"expert_id": "12"}, "errors", "Nombre entier attendu."),
    ({"expert_id": 424242}, "problems", "Choisissez un expert du vivier."),
    ({"indicative_days": "99999999999999"}, "problems", "doit être compris entre 0 (exclu) et 365"),
    ({"indicative_days": "NaN"}, "problems", "n'est pas un nombre"),
    ({"indicative_days": "Infinity"}, "problems", "n'est pas un nombre"),
    ({"indicative_days": "-3"}, "problems", "doit être compris entre 0 (exclu) et 365"),
    ({"indicative_days": 0}, "problems", "doit être compris entre 0 (exclu) et 365"),
    ({"indicative_days": "12.345"}, "problems", "au plus deux décimales"),
    ({"indicative_days": "douze"}, "problems", "n'est pas un nombre"),
    ({"indicative_days": True}, "errors", "Texte ou nombre attendu."),
    ({"indicative_start": "2027-02-30"}, "problems", "Dates indicatives invalides"),
    ({"indicative_start": "2027-06-01", "indicative_end": "2027-05-01"}, "problems",
     "La fin indicative précède le début."),
    ({"explanation": "str"}, "errors", "Objet attendu."),
    ({"override_reason": 5}, "errors", "Texte attendu."),
    ({"override_reason": "x" * 2001}, "errors", "Trop long (2000 caractères au plus)."),
    ({"override_reason": "motif\x00"}, "problems", "contient des caractères non autorisés"),
    ({"expertId": 1}, "errors", "Champ inconnu."),
]


@pytest.mark.parametrize(("extra", "where", "expected"), PROPOSALS,
                         ids=[json.dumps(extra)[:40] for extra, _, _ in PROPOSALS])
def test_propose_expert_refuses_invalid_payloads(client, dcol, extra, where, expected):
    cast, application = dcol
    ws.drive_to(application, cast, S.MATCHING)
    before = audit_count(application)
    payload = {"expert_id": cast.expert_user.expert_id, **extra}
    response = Client(client, cast.manager).fire(application, "propose_expert", "", payload)
    body = assert_refused(response, application, S.MATCHING, before)
    if where == "errors":  # the schema: the types
        found = json.dumps(body["errors"]["payload"], ensure_ascii=False)
    else:  # the guards: the values, in French
        found = " ".join(body["problems"])
    assert expected in found, body
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MissionProposal)) == 0


def test_nan_and_infinite_json_numbers_are_refused(client, dcol):
    """Python's JSON parser reads NaN and 1e999 (infinity) as numbers: the guards refuse them."""
    cast, application = dcol
    ws.drive_to(application, cast, S.MATCHING)
    api, before = Client(client, cast.manager), audit_count(application)
    for literal in ("NaN", "1e999", "-Infinity"):
        raw = (f'{{"event": "propose_expert", "version": {api.version(application.id)}, '
               f'"payload": {{"expert_id": {cast.expert_user.expert_id}, '
               f'"indicative_days": {literal}}}}}')
        body = assert_refused(api.post(application, raw), application, S.MATCHING, before)
        assert any("n'est pas un nombre" in p for p in body["problems"]), (literal, body)


def test_payload_keys_of_another_event_are_refused(client, dcol):
    cast, application = dcol
    ws.drive_to(application, cast, S.SUBMITTED)
    before = audit_count(application)
    response = Client(client, cast.manager).fire(application, "declare_eligible", "",
                                                 {"expert_id": 1})
    body = assert_refused(response, application, S.SUBMITTED, before)
    assert body["problems"] == ["Donnée inattendue pour cette action : « expert_id »."]


def test_comment_with_unstorable_characters_is_refused(client, dcol):
    cast, application = dcol
    ws.drive_to(application, cast, S.SUBMITTED)
    before = audit_count(application)
    api = Client(client, cast.manager)
    for comment in ("nul \x00 byte", "lone \ud800 surrogate"):
        response = api.fire(application, "declare_ineligible", comment)
        body = assert_refused(response, application, S.SUBMITTED, before)
        assert body["problems"] == ["Le commentaire contient des caractères non autorisés."]


def test_accept_mission_needs_a_real_boolean(client, dcol):
    cast, application = dcol
    ws.drive_to(application, cast, S.EXPERT_PROPOSED)
    before = audit_count(application)
    api = Client(client, cast.expert_user)
    response = api.fire(application, "accept_mission", payload={"no_conflict": "yes"})
    body = assert_refused(response, application, S.EXPERT_PROPOSED, before)
    assert body["errors"]["payload"]["no_conflict"] == ["Booléen attendu."]
    response = api.fire(application, "accept_mission", payload={"no_conflict": False})
    body = assert_refused(response, application, S.EXPERT_PROPOSED, before)
    assert body["problems"] == [
        "Déclarez l'absence de conflit d'intérêts avec la collectivité pour accepter."]
    assert api.fire(application, "accept_mission", payload={"no_conflict": True}).status_code == 200


def test_version_is_required(client, dcol):
    cast, application = dcol
    api = Client(client, cast.signatory)
    response = api.post(application, json.dumps({"event": "submit"}))
    assert response.status_code == 422
    assert response.json["errors"]["version"] == ["Champ obligatoire."]
    db.session.expire_all()
    assert application.state is S.DRAFT


def test_a_valid_proposal_is_stored_as_meant(client, dcol):
    cast, application = dcol
    ws.drive_to(application, cast, S.MATCHING)
    payload = {"expert_id": cast.expert_user.expert_id, "indicative_days": "12,5",
               "indicative_start": "2027-03-01", "indicative_end": "2027-04-30",
               "explanation": {"score": 0.82, "reasons": ["eau", "Viêt Nam"]},
               "override_reason": "Seul expert disponible au printemps."}
    response = Client(client, cast.manager).fire(application, "propose_expert", "", payload)
    assert response.status_code == 200, response.json
    proposal = db.session.scalars(sa.select(MissionProposal)).one()
    assert proposal.indicative_days == Decimal("12.50")
    assert (proposal.indicative_start.isoformat(), proposal.indicative_end.isoformat()) == (
        "2027-03-01", "2027-04-30")
    assert proposal.explanation == payload["explanation"]
    assert proposal.override_reason == "Seul expert disponible au printemps."


def test_openapi_document_types_the_payload(client, app):
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    request, payload = schemas["EventRequest"], schemas["EventPayload"]
    assert set(request["required"]) == {"event", "version"}
    assert payload["additionalProperties"] is False
    properties = payload["properties"]
    assert properties["expert_id"]["type"] == "integer"
    assert properties["expert_id"]["maximum"] == 2**31 - 1
    assert {s["format"] for s in properties["response_deadline"]["oneOf"]} == {"date", "date-time"}
    assert {s["type"] for s in properties["indicative_days"]["oneOf"]} == {"string", "number"}
    assert properties["indicative_start"]["format"] == "date"
    assert properties["indicative_end"]["format"] == "date"
    assert properties["no_conflict"]["type"] == "boolean"
    assert properties["explanation"]["type"] == "object"
    assert properties["override_reason"]["type"] == "string"
