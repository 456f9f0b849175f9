"""Test set-up: a real database (SQLite by default, PostgreSQL when TEST_DATABASE_URL is set),
built by the Alembic migrations once per run and emptied after every test."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from dcol import create_app
from dcol.extensions import db, limiter
from dcol.models import Base

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
IS_POSTGRES = bool(TEST_DATABASE_URL and TEST_DATABASE_URL.startswith("postgres"))


def pytest_collection_modifyitems(config, items):
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (set TEST_DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords and not IS_POSTGRES:
            item.add_marker(skip_pg)


@pytest.fixture(scope="session")
def instance_dir():
    with tempfile.TemporaryDirectory(prefix="dcol-test-") as path:
        yield Path(path)


@pytest.fixture(scope="session")
def database_url(instance_dir, worker_id):
    """SQLite: a file per test session. PostgreSQL: the given database, or one per xdist worker
    (created beside it) so that parallel workers never share tables."""
    if not TEST_DATABASE_URL:
        return f"sqlite:///{instance_dir / 'test.sqlite3'}"
    if worker_id == "master":
        return TEST_DATABASE_URL
    url = sa.engine.make_url(TEST_DATABASE_URL)
    name = f"{url.database}_{worker_id}"
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        exists = connection.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        )
        if not exists:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def make_config(instance_dir: Path, database_url: str, **overrides) -> dict:
    config = {
        "TESTING": True,
        "INSTANCE_PATH": str(instance_dir),
        "SECRET_KEY": "test-secret-key-not-for-production",
        "DATABASE_URL": database_url,
        "WTF_CSRF_ENABLED": False,
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": 1,  # nothing listens: tests that check mail start their own server
        "SERVER_NAME": "dcol.test",
        "RATELIMIT_STORAGE_URI": "memory://",
        # Cheap hashing keeps the suite fast; production keeps the RFC 9106 parameters.
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 1024,
        "ARGON2_PARALLELISM": 1,
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="session")
def _schema(instance_dir, database_url):
    """Build the schema once with the migrations, as production does."""
    from flask_migrate import upgrade

    app = create_app(make_config(instance_dir, database_url))
    with app.app_context():
        db.session.execute(sa.text("SELECT 1"))
        if IS_POSTGRES:
            # A fresh schema every run.
            db.session.execute(sa.text("DROP SCHEMA public CASCADE"))
            db.session.execute(sa.text("CREATE SCHEMA public"))
            db.session.commit()
        upgrade()
        db.engine.dispose()
    return True


@pytest.fixture
def app(_schema, instance_dir, database_url):
    app = create_app(make_config(instance_dir, database_url))
    limiter.reset()
    with app.app_context():
        yield app
        db.session.rollback()
        empty_database()
        db.session.remove()
        db.engine.dispose()  # each test's app has its own pool: close its connections


def empty_database() -> None:
    tables = [t for t in reversed(Base.metadata.sorted_tables)]
    if IS_POSTGRES:
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        # organisations.validated_by_id -> users closes a cycle: break it first.
        db.session.execute(sa.text("UPDATE organisations SET validated_by_id = NULL"))
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture
def french(app):
    """A request in the default language (French), for building documents outside a view."""
    with app.test_request_context():
        yield


@pytest.fixture
def client(app):
    return app.test_client()


from tests.factories import factories  # noqa: E402,F401  (fixture)


class _Inbox:
    """Collects what the real SMTP server (aiosmtpd) receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes
        from email.policy import default

        self.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(app):
    """A real SMTP server on a free local port; the app sends its mail there."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    try:
        yield inbox
    finally:
        controller.stop()
