"""The OpenAPI document is valid, and schemathesis, generating requests from it, finds no server
error (as an applicant with dossiers of their own)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error

from dcol.accounts.services import create_api_token
from dcol.extensions import db
from dcol.models import CallKind
from tests import workflow_support as ws


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
