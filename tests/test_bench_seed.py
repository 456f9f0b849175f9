"""The national-scale data set (``bench.seed``), at a small scale, into a fresh database."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from flask import g

from bench.seed import NotEmpty, create_seed_app, seed
from bench.seed.data import BENCH_PASSWORD
from dcol.extensions import db
from dcol.models import Application, ApplicationState, AuditEvent, Organisation, Review, User

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
SCALE = 0.005


@pytest.fixture(scope="module")
def seeded_url(tmp_path_factory):
    """A fresh database seeded at ``SCALE``: a SQLite file, or a PostgreSQL database of its own
    (beside TEST_DATABASE_URL, dropped afterwards)."""
    if not TEST_DATABASE_URL:
        url = f"sqlite:///{tmp_path_factory.mktemp('bench') / 'seed.sqlite3'}"
        seed(url, scale=SCALE, seed=3, progress=False)
        yield url
        return
    base = sa.engine.make_url(TEST_DATABASE_URL)
    name = f"{base.database}_bench_seed"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        seed(url, scale=SCALE, seed=3, progress=False)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def seeded_app(seeded_url):
    app = create_seed_app(seeded_url)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False, SERVER_NAME="dcol.test",
                      RATELIMIT_STORAGE_URI="memory://")
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_counts_follow_the_scale(seeded_app):
    assert count(Organisation) == 200  # the floor: 36,000 × 0.005 = 180
    assert count(Application) == 500  # 100,000 × 0.005
    reviews_per_reviewed = count(Review) / db.session.scalar(
        sa.select(sa.func.count(sa.distinct(Review.application_id))))
    assert 4 <= reviews_per_reviewed <= 6


def test_every_state_is_present(seeded_app):
    states = set(db.session.scalars(sa.select(Application.state).distinct()))
    assert states == set(ApplicationState)


def test_every_audit_trail_is_intact_and_leads_to_the_state(seeded_app):
    from dcol.audit import verify_all

    entries, problems = verify_all()
    assert problems == []
    assert entries == count(AuditEvent) > count(Application)


def login(client, user: User) -> None:
    response = client.post("/connexion", data={"email": user.email, "password": BENCH_PASSWORD})
    assert response.status_code == 302


def test_permissions_hold_on_the_seeded_data(seeded_app):
    manager = db.session.scalars(
        sa.select(User).where(User.email.like("manager.%")).order_by(User.id)).first()
    applicant = db.session.scalars(
        sa.select(User).where(User.email.like("signataire.%")).order_by(User.id)).first()
    own, foreign = (
        db.session.scalar(sa.select(Application.id).where(condition).order_by(Application.id))
        for condition in (Application.organisation_id == applicant.organisation_id,
                          Application.organisation_id != applicant.organisation_id))
    client = seeded_app.test_client()
    login(client, manager)
    assert client.get("/dossiers/").status_code == 200
    assert client.get(f"/dossiers/{foreign}").status_code == 200
    g.pop("_login_user", None)  # the fixture's app context outlives the manager's requests
    client = seeded_app.test_client()
    login(client, applicant)
    assert client.get(f"/dossiers/{own}").status_code == 200
    assert client.get(f"/dossiers/{foreign}").status_code == 404


def test_seed_refuses_a_database_that_is_not_empty(seeded_url):
    with pytest.raises(NotEmpty):
        seed(seeded_url, scale=SCALE, seed=3, progress=False)


def test_bench_exports_write_a_row_per_dossier(seeded_app, seeded_url):
    """``bench.exports`` measures the real exports: a row per dossier in the export of every
    dossier, a row per deposited dossier in the instruction's workbook and one per (dossier,
    submitted review) in its CSV (behaviour only: no timing, no memory)."""
    from bench.exports import find_targets, measure
    from dcol.models import ConflictStatus, ReviewState

    targets = find_targets(seeded_url)
    assert targets["email"].startswith("manager.")
    assert targets["dossiers"] == count(Application)
    for export in ("dossiers.csv", "dossiers.xlsx"):
        result = measure(seeded_url, export, email=targets["email"])
        assert (result["status"], result["rows"]) == (200, count(Application))
        assert result["bytes"] > 0
    deposited = db.session.scalars(sa.select(Application.id).where(
        Application.call_id == targets["call_id"], Application.state != ApplicationState.DRAFT,
        sa.or_(Application.state != ApplicationState.WITHDRAWN,
               Application.first_submitted_at.is_not(None)))).all()
    reviews = dict(db.session.execute(
        sa.select(Review.application_id, sa.func.count())
        .where(Review.application_id.in_(deposited), Review.state == ReviewState.SUBMITTED,
               Review.conflict_status != ConflictStatus.CONFLICT)
        .group_by(Review.application_id)).all())
    assert deposited and reviews
    workbook = measure(seeded_url, "instruction.xlsx", email=targets["email"],
                       call_id=targets["call_id"])
    assert (workbook["status"], workbook["rows"]) == (200, len(deposited))
    table = measure(seeded_url, "instruction.csv", email=targets["email"],
                    call_id=targets["call_id"])
    assert (table["status"], table["rows"]) == (
        200, sum(max(reviews.get(dossier, 0), 1) for dossier in deposited))
