"""The OpenAPI document is valid, and schemathesis, generating requests from it, finds no server
error: on every operation as an applicant with dossiers of their own, and on the lifecycle's
events as a manager, an assigned reviewer and a proposed expert, against dossiers in various
states, so that the generated payloads reach the events' guards."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error

from dcol.accounts.services import create_api_token
from dcol.extensions import db
from dcol.models import ApplicationState, CallKind, Expert
from tests import workflow_support as ws
from workflows.dossier import EVENTS, EVENTS_BY_NAME

S = ApplicationState
EVENTS_PATH = "/api/v1/applications/{application_id}/events"


def test_openapi_document_validates(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json
    validate(document)
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "/api/v1/applications/{application_id}/events" in document["paths"]


def test_api_docs_page_is_served_without_network(client):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    assert b"swagger-ui-bundle.js" in page.data
    assert client.get("/api/docs/static/swagger-ui-bundle.js").status_code == 200


@pytest.fixture
def applicant_token(app):
    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    ws.complete_dossier(call, cast)
    token = create_api_token(cast.signatory, "schemathesis")
    db.session.commit()
    return token


def test_no_server_error(app, applicant_token):
    """Every operation, fed generated input (valid and invalid), answers without a 5xx."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {applicant_token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8

    for operation in operations:

        @settings(max_examples=25, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def no_server_error(case):
            response = case.call(headers=headers)
            case.validate_response(response, checks=[not_a_server_error])

        no_server_error()


STAFF_STATES = {
    CallKind.DCOL: (S.SUBMITTED, S.ELIGIBLE, S.UNDER_REVIEW, S.REVIEWED, S.MATCHING, S.MATCHING,
                    S.EXPERT_PROPOSED, S.EXPERT_PROPOSED, S.AGREEMENT, S.FINAL_REPORT),
    CallKind.AAP: (S.SUBMITTED, S.SELECTED, S.IN_PROGRESS),
}


@pytest.fixture
def staff_world(app):
    """Dossiers in the states where staff and experts fire events (with what the next events
    need besides the state: reviewers, reviews, signatures...), and tokens for the DCOL call's
    manager, first reviewer and expert."""
    dossier_ids, expert_ids = [], []
    for kind, states in STAFF_STATES.items():
        call = ws.make_call_for(kind)
        cast = ws.make_cast(call)
        expert = db.session.get(Expert, cast.expert_user.expert_id)
        expert.capacity = 20
        expert_ids.append(expert.id)
        for state in states:
            application = ws.complete_dossier(call, cast)
            ws.reach(application, cast, state)
            ws.assign_reviewers(application, cast)
            for event in EVENTS:
                if state in event.sources and kind in event.variants:
                    ws.prepare_step(event.name, application, cast)
            dossier_ids.append(application.id)
        if kind is CallKind.DCOL:
            people = {"manager": cast.manager, "reviewer": cast.reviewers[0],
                      "expert": cast.expert_user}
    tokens = {name: create_api_token(user, "schemathesis") for name, user in people.items()}
    db.session.commit()
    return dossier_ids, tokens, expert_ids


def test_no_server_error_on_events_as_staff(app, client, staff_world):
    """Generated event requests never make a server error. They are aimed at the dossiers the
    caller sees, with their current version (to pass the version check), and mostly at an event
    the caller may fire now, with a reason when it needs one and only the payload keys it takes,
    so that the guards read the generated values."""
    dossier_ids, tokens, expert_ids = staff_world
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = next(result.ok() for result in schema.get_all_operations()
                     if result.ok().path == EVENTS_PATH)
    answered = []

    def fuzz(persona: str, examples: int) -> None:
        headers = {"Authorization": f"Bearer {tokens[persona]}"}
        listing = client.get("/api/v1/applications?per_page=100", headers=headers).json
        seen = [item["id"] for item in listing["items"]]
        assert seen, persona

        def aim_at(application_id: int, aimed: bool):
            """The dossier's current state for the caller: the first one from ``application_id``
            on where the caller has events to fire, when ``aimed``."""
            start = seen.index(application_id)
            current, allowed = None, []
            for candidate in (seen[start:] + seen[:start])[:4]:
                response = client.get(f"/api/v1/applications/{candidate}", headers=headers)
                if response.status_code != 200:
                    continue  # no longer seen (an expert who declined)
                current = response.json
                # Not withdraw: it would soon end every dossier's life.
                allowed = [event["name"] for event in current["allowed_events"]
                           if event["name"] != "withdraw"]
                if allowed or not aimed:
                    break
            return current, allowed

        @settings(max_examples=examples, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(), application_id=st.sampled_from(seen),
               aimed=st.sampled_from([True, True, True, False]),
               pick=st.integers(min_value=0, max_value=20), only_its_keys=st.booleans())
        def no_server_error(case, application_id, aimed, pick, only_its_keys):
            current, allowed = aim_at(application_id, aimed)
            if current is not None and isinstance(case.body, dict):
                application_id = current["id"]
                case.body["version"] = current["version"]
                if aimed and allowed:
                    event = EVENTS_BY_NAME[allowed[pick % len(allowed)]]
                    case.body["event"] = event.name
                    if event.reason_required and not (case.body.get("comment") or "").strip():
                        case.body["comment"] = "Motif."
                    payload = case.body.get("payload")
                    if only_its_keys and isinstance(payload, dict):
                        payload = {k: v for k, v in payload.items() if k in event.inputs}
                        if "expert_id" in payload and pick % 2:  # one of the pool's, at times
                            payload["expert_id"] = expert_ids[pick % len(expert_ids)]
                        case.body["payload"] = payload
            case.path_parameters = {"application_id": application_id}
            response = case.call(headers=headers)
            case.validate_response(response, checks=[not_a_server_error])
            answered.append(response.status_code)

        no_server_error()

    fuzz("manager", 80)
    fuzz("reviewer", 25)
    fuzz("expert", 20)
    # The guards were reached: refusals for invalid input or unmet conditions, and successes.
    assert {200, 409, 422} <= set(answered), sorted(set(answered))
