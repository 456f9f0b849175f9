"""The benchmarks' measurements (dcol/instrumentation.py): SQL statements and server time as
response headers, only when DCOL_INSTRUMENT is on."""

from __future__ import annotations

import re

import pytest

from dcol import create_app
from dcol.config import load_config
from dcol.extensions import db
from dcol.models import Role
from tests import factories as f
from tests.conftest import make_config
from tests.query_counting import recorded_statements

SERVER_TIMING = re.compile(r"^app;dur=(\d+\.\d+), db;dur=(\d+\.\d+)$")


@pytest.fixture
def instrumented(app, instance_dir, database_url):
    """A second app on the same database, with the measurements on (``app`` empties the
    database afterwards)."""
    other = create_app(make_config(instance_dir, database_url, DCOL_INSTRUMENT=True))
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def login(client, user):
    response = client.post("/connexion", data={"email": user.email, "password": f.PASSWORD})
    assert response.status_code == 302


def timings(response) -> tuple[float, float]:
    match = SERVER_TIMING.match(response.headers["Server-Timing"])
    assert match, response.headers["Server-Timing"]
    return float(match[1]), float(match[2])


def test_off_by_default(app, client):
    assert app.config["DCOL_INSTRUMENT"] is False
    response = client.get("/connexion")
    assert response.status_code == 200
    assert "Server-Timing" not in response.headers
    assert "X-Query-Count" not in response.headers
    assert client.get("/_instrument/ping").status_code == 404


def test_switched_on_by_the_environment(app, monkeypatch):
    monkeypatch.setenv("DCOL_INSTRUMENT", "1")
    load_config(app, None)
    assert app.config["DCOL_INSTRUMENT"] is True
    monkeypatch.setenv("DCOL_INSTRUMENT", "0")
    load_config(app, None)
    assert app.config["DCOL_INSTRUMENT"] is False


def test_bare_endpoint_issues_no_query(instrumented):
    response = instrumented.test_client().get("/_instrument/ping")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok"
    assert response.headers["X-Query-Count"] == "0"
    app_ms, db_ms = timings(response)
    assert db_ms == 0.0 and app_ms > 0


def test_counts_every_statement_of_a_page(app, instrumented):
    manager = f.make_user(Role.MANAGER)
    call = f.make_call()
    for _ in range(3):
        f.make_application(call, f.make_organisation())
    db.session.commit()

    client = instrumented.test_client()
    login(client, manager)
    with instrumented.app_context(), recorded_statements() as statements:
        response = client.get("/dossiers/")
    assert response.status_code == 200
    count = int(response.headers["X-Query-Count"])
    assert count == len(statements) > 0
    app_ms, db_ms = timings(response)
    assert 0 < db_ms <= app_ms

    # Each request starts from zero: the same page counts the same again.
    again = client.get("/dossiers/")
    assert int(again.headers["X-Query-Count"]) == count


def test_statements_outside_a_request_are_not_counted(app, instrumented):
    client = instrumented.test_client()
    with instrumented.app_context():
        for _ in range(5):
            db.session.execute(db.select(db.literal(1)))
        db.session.rollback()
    assert client.get("/_instrument/ping").headers["X-Query-Count"] == "0"
