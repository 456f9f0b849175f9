"""Configuration, migrations, security headers, error pages, French formatting, CLI."""

from __future__ import annotations

import re
import stat
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from dcol import create_app
from dcol.accounts.services import find_user, user_for_api_token
from dcol.extensions import db
from dcol.i18n import country_name, format_day, format_moment, format_money
from dcol.migrations_support import render_item
from dcol.models import Base, OrganisationKind, Role
from tests.factories import PASSWORD, make_organisation, make_user

# --- configuration ------------------------------------------------------------------------


def test_secret_key_generated_once_into_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    config = {"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "sqlite://"}
    first = create_app(config).config["SECRET_KEY"]
    key_file = tmp_path / "secret_key"
    assert len(first) >= 40
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert create_app(config).config["SECRET_KEY"] == first  # stable across restarts


def test_workers_starting_together_share_one_secret_key(tmp_path):
    from concurrent.futures import ProcessPoolExecutor

    from dcol.config import _instance_secret_key

    with ProcessPoolExecutor(max_workers=4) as pool:
        keys = set(pool.map(_instance_secret_key, [tmp_path] * 8))
    assert len(keys) == 1 and len(keys.pop()) >= 40
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary file left


def test_environment_overrides_instance_config(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text('MAX_UPLOAD_MB = 5\nMAIL_SERVER = "smtp.instance"\n')
    monkeypatch.setenv("MAIL_SERVER", "smtp.env")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db/dcol")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["MAX_UPLOAD_MB"] == 5
    assert app.config["MAX_CONTENT_LENGTH"] == 6 * 1024 * 1024
    assert app.config["MAIL_SERVER"] == "smtp.env"
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/dcol"
    assert not (tmp_path / "secret_key").exists()


def test_default_database_is_sqlite_in_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'dcol.sqlite3'}"


# --- migrations ---------------------------------------------------------------------------


def test_migrations_match_the_models(app):
    """The schema the migrations built (on this run's database) is exactly the models'."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_item": render_item}
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def _quoted_values(sql: str) -> set[str]:
    return set(re.findall(r"'([^']*)'", sql))


def test_check_constraints_match_the_models(app):
    """What autogenerate does not compare: the named CHECK constraints, including the list of
    values of every enum column, so that adding an enum value without a migration fails here."""
    inspector = sa.inspect(db.engine)
    for table in Base.metadata.sorted_tables:
        in_models = {
            constraint.name: _quoted_values(str(constraint.sqltext.compile(
                dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})))
            for constraint in table.constraints
            if isinstance(constraint, sa.CheckConstraint)
        }
        in_database = {
            check["name"]: _quoted_values(check["sqltext"])
            for check in inspector.get_check_constraints(table.name)
        }
        assert in_database == in_models, table.name


def test_database_is_at_the_latest_migration(app):
    from alembic.script import ScriptDirectory
    from flask_migrate import Config

    from dcol import ROOT

    config = Config(str(ROOT / "migrations" / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    heads = ScriptDirectory.from_config(config).get_heads()
    current = db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
    assert [current] == heads


def test_constraints_hold_in_the_database(app):
    from sqlalchemy.exc import IntegrityError

    org = make_organisation()
    db.session.commit()
    with pytest.raises(IntegrityError):
        db.session.execute(
            sa.text("UPDATE organisations SET population = -1 WHERE id = :id"), {"id": org.id}
        )
        db.session.flush()
    db.session.rollback()
    with pytest.raises(IntegrityError):
        db.session.execute(
            sa.text("UPDATE organisations SET kind = 'empire' WHERE id = :id"), {"id": org.id}
        )
    db.session.rollback()


def test_naive_datetimes_are_refused(app):
    org = make_organisation()
    org.validated_at = datetime(2026, 1, 1)
    with pytest.raises(sa.exc.StatementError, match="naive"):
        db.session.flush()
    db.session.rollback()


def test_datetimes_come_back_aware_in_utc(app):
    org = make_organisation()
    org.validated_at = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(type(org), org.id).validated_at == datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


# --- security -----------------------------------------------------------------------------


def test_security_headers(client):
    response = client.get("/connexion")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_session_cookie_is_httponly_and_samesite(client, app):
    user = make_user(Role.MANAGER)
    db.session.commit()
    response = client.post("/connexion", data={"email": user.email, "password": PASSWORD})
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_cookies_are_secure_when_the_site_is_served_over_https(instance_dir, database_url):
    from tests.conftest import make_config

    app = create_app(make_config(instance_dir, database_url, BASE_URL="https://dcol.example.org"))
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    with app.app_context():
        user = make_user(Role.MANAGER)
        db.session.commit()
        client = app.test_client()
        response = client.post("/connexion", data={"email": user.email, "password": PASSWORD,
                                                   "remember": "y"})
        cookies = response.headers.getlist("Set-Cookie")
        session = next(c for c in cookies if c.startswith("session="))
        remember = next(c for c in cookies if c.startswith("remember_token="))
        assert "Secure" in session and "Secure" in remember and "HttpOnly" in remember
        # The session lasts 8 hours of inactivity, not until the browser is closed (or forever).
        assert "Expires=" in session
        from tests.conftest import empty_database

        db.session.rollback()
        empty_database()
        db.engine.dispose()


def test_cookies_work_over_plain_http_in_development(app):
    assert app.config["BASE_URL"].startswith("http://")
    assert not app.config["SESSION_COOKIE_SECURE"]


def test_csrf_is_enforced_on_forms(app):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    user = make_user(Role.MANAGER)
    db.session.commit()
    response = client.post("/connexion", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "Le formulaire a expiré" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("code", "title"),
    [(400, "Requête incorrecte"), (403, "Accès refusé"), (404, "Page introuvable"),
     (413, "Fichier trop volumineux"), (500, "Erreur interne")],
)
def test_error_pages_in_french(app, code, title):
    from flask import abort

    @app.get(f"/test-error-{code}")
    def raise_error():
        if code == 500:
            raise RuntimeError("boom")
        abort(code)

    response = app.test_client().get(f"/test-error-{code}")
    assert response.status_code == code
    body = response.get_data(as_text=True)
    assert title in body
    assert 'lang="fr"' in body
    assert "boom" not in body


def test_api_errors_are_problem_details(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json["title"] == "Page introuvable"


def test_upload_over_the_limit_answers_413_in_french(app):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = app.test_client().post("/connexion", data={"email": "x" * 5000})
    assert response.status_code == 413
    assert "Fichier trop volumineux" in response.get_data(as_text=True)


# --- French formatting --------------------------------------------------------------------


def test_amounts_and_dates_formatted_the_french_way(app):
    with app.test_request_context():
        assert format_money(Decimal("12500")) == "12\u202f500,00\xa0€"
        assert format_money(Decimal("0.005")) == "0,01\xa0€"  # half-up to the cent
        assert format_day(date(2024, 12, 3)) == "3 décembre 2024"
        # Stored in UTC, shown in Europe/Paris: 22:59 UTC is 23:59 in Paris in winter.
        assert format_moment(datetime(2024, 12, 3, 22, 59, tzinfo=UTC)) == "3 décembre 2024 à 23:59"
        assert country_name("VN") == "Viêt Nam"
        assert OrganisationKind.REGION.label == "Région"


def test_english_is_available(client):
    client.get("/langue/en")
    body = client.get("/connexion").get_data(as_text=True)
    assert 'lang="en"' in body
    assert "Sign in" in body
    assert "Email address" in body


# --- CLI ----------------------------------------------------------------------------------


def test_cli_creates_user_sets_password_and_prints_token(app):
    org = make_organisation()
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["users", "create", "camille@grenoble.fr", "--name", "Camille Martin",
              "--role", "applicant", "--siren", org.siren, "--signatory",
              "--password", PASSWORD],
    )
    assert result.exit_code == 0, result.output
    user = find_user("camille@grenoble.fr")
    assert user.is_active_member and user.is_signatory
    result = runner.invoke(args=["users", "set-password", "camille@grenoble.fr",
                                 "--password", "un autre mot de passe"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["users", "token", "camille@grenoble.fr"])
    assert result.exit_code == 0
    assert user_for_api_token(result.output.strip()) == user


def test_cli_refuses_duplicates_and_short_passwords(app):
    make_user(Role.MANAGER, email="sophie@cuf.fr")
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "sophie@cuf.fr", "--name", "S",
                                 "--password", PASSWORD])
    assert result.exit_code != 0
    assert "existe déjà" in result.output
    result = runner.invoke(args=["users", "set-password", "sophie@cuf.fr", "--password", "court"])
    assert result.exit_code != 0
    assert "au moins 12 caractères" in result.output


def test_cli_refuses_an_invalid_siren(app):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "x@mairie.fr", "--name", "X", "--role", "applicant",
              "--siren", "123456789", "--password", PASSWORD])
    assert result.exit_code != 0 and "Numéro SIREN invalide" in result.output


@pytest.mark.parametrize("siren", ["123456789", "ABCDEFGHI", "21380185", ""])
def test_an_invalid_siren_is_never_stored(app, siren):
    from dcol.models import Organisation

    with pytest.raises(ValueError, match="invalid SIREN"):
        Organisation(name="Commune fictive", kind=OrganisationKind.COMMUNE, siren=siren)


def test_a_siren_is_stored_in_its_compact_form(app):
    from dcol.models import Organisation

    org = Organisation(name="Ville de Grenoble", kind=OrganisationKind.COMMUNE,
                       siren="213 801 855")
    assert org.siren == "213801855"


def test_behind_a_trusted_proxy_the_client_address_is_used(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "sqlite://",
                      "TRUSTED_PROXIES": 1, "SECRET_KEY": "x"})

    @app.get("/whoami")
    def whoami():
        from flask import request

        return f"{request.remote_addr} {request.scheme}"

    response = app.test_client().get(
        "/whoami", headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"})
    assert response.get_data(as_text=True) == "203.0.113.9 https"
