"""Login, logout, password hashing and reset by e-mail, API tokens, throttling."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import g

from dcol.accounts import services
from dcol.extensions import db
from dcol.models import ApiToken, MailStatus, OutgoingMail, Role, utcnow
from tests.factories import PASSWORD, make_user


def login(client, email, password=PASSWORD):
    return client.post("/connexion", data={"email": email, "password": password})


def test_password_is_stored_with_argon2id(app):
    user = make_user(Role.MANAGER)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_short_password_refused_in_french(app):
    user = make_user(Role.MANAGER)
    with pytest.raises(services.AccountError, match="au moins 12 caractères"):
        services.set_password(user, "court")


def test_login_then_logout(client, app):
    user = make_user(Role.REVIEWER)
    db.session.commit()
    response = login(client, user.email.upper())  # e-mails are case-insensitive
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert user.full_name in page
    assert 'data-role="reviewer"' in page
    assert client.post("/deconnexion").headers["Location"] == "/connexion"
    assert client.get("/compte/jetons").headers["Location"].startswith("/connexion")


def test_wrong_password_gives_french_error_and_keeps_email(client, app):
    user = make_user(Role.REVIEWER)
    db.session.commit()
    response = login(client, user.email, "not the password")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Adresse e-mail ou mot de passe incorrect." in body
    assert f'value="{user.email}"' in body


def test_disabled_user_cannot_log_in(client, app):
    user = make_user(Role.MANAGER, enabled=False)
    db.session.commit()
    assert login(client, user.email).status_code == 422


def test_disabled_user_is_logged_out_of_open_sessions(client, app):
    user = make_user(Role.MANAGER)
    db.session.commit()
    login(client, user.email)
    user.is_enabled = False
    db.session.commit()
    assert client.get("/organisations").status_code == 302  # back to the login page


def test_repeated_failures_are_throttled(client, app):
    user = make_user(Role.MANAGER)
    db.session.commit()
    for _ in range(5):
        assert login(client, user.email, "wrong password!").status_code == 422
    response = login(client, user.email)  # even the right password waits
    assert response.status_code == 429
    assert "Trop de tentatives" in response.get_data(as_text=True)


def test_successful_logins_are_not_throttled(client, app):
    user = make_user(Role.MANAGER)
    db.session.commit()
    for _ in range(7):
        assert login(client, user.email).status_code == 302
        client.post("/deconnexion")


def test_open_redirect_after_login_refused(client, app):
    user = make_user(Role.MANAGER)
    db.session.commit()
    response = client.post(
        "/connexion?next=//evil.example/", data={"email": user.email, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/"


def test_password_reset_by_email_link(client, app, smtp_server):
    user = make_user(Role.MANAGER)
    db.session.commit()
    response = client.post("/mot-de-passe-oublie", data={"email": user.email})
    assert response.status_code == 302
    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    assert mail["To"] == user.email
    assert "Réinitialisation" in mail["Subject"]
    link = re.search(r"http://dcol\.test(/mot-de-passe/\S+)", mail.get_content()).group(1)

    new_password = "un tout nouveau mot de passe"
    response = client.post(link, data={"password": new_password, "confirm": new_password})
    assert response.status_code == 302
    assert login(client, user.email, new_password).status_code == 302
    client.post("/deconnexion")
    # The link works once.
    assert client.get(link).status_code == 302
    assert "plus valable" in client.get(link, follow_redirects=True).get_data(as_text=True)


def test_password_reset_link_expires(client, app):
    user = make_user(Role.MANAGER)
    db.session.commit()
    token = services.make_reset_token(user)
    app.config["PASSWORD_RESET_MAX_AGE"] = -1
    assert services.user_for_reset_token(token) is None


def test_reset_request_for_unknown_email_reveals_nothing(client, app):
    response = client.post("/mot-de-passe-oublie", data={"email": "nobody@example.org"})
    assert response.status_code == 302
    assert db.session.query(OutgoingMail).count() == 0


def test_reset_form_keeps_french_errors(client, app):
    user = make_user(Role.MANAGER)
    db.session.commit()
    link = f"/mot-de-passe/{services.make_reset_token(user)}"
    body = client.post(link, data={"password": "short", "confirm": "other"}).get_data(as_text=True)
    assert "au moins 12 caractères" in body
    assert "ne correspondent pas" in body


def test_mail_is_kept_and_retried_when_smtp_is_down(client, app):
    user = make_user(Role.MANAGER)
    db.session.commit()
    client.post("/mot-de-passe-oublie", data={"email": user.email})  # port 1: refused
    mail = db.session.query(OutgoingMail).one()
    assert mail.status is MailStatus.PENDING
    assert mail.attempts == 1
    assert mail.next_attempt_at > utcnow()
    assert "ConnectionRefusedError" in mail.last_error


def test_pending_mail_delivered_later(client, app, smtp_server):
    from dcol.mail import deliver_pending

    app.config["MAIL_PORT"], port = 1, app.config["MAIL_PORT"]
    user = make_user(Role.MANAGER)
    db.session.commit()
    client.post("/mot-de-passe-oublie", data={"email": user.email})
    mail = db.session.query(OutgoingMail).one()
    assert mail.status is MailStatus.PENDING
    app.config["MAIL_PORT"] = port
    mail.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert deliver_pending() == 1
    assert mail.status is MailStatus.SENT
    assert len(smtp_server.messages) == 1


def test_api_token_stored_hashed_and_authenticates(client, app):
    user = make_user(Role.MANAGER)
    token = services.create_api_token(user, "intégration")
    db.session.commit()
    row = db.session.query(ApiToken).one()
    assert token not in (row.token_hash, row.prefix)
    assert services.user_for_api_token(token) == user
    assert services.user_for_api_token(token + "x") is None
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/applications", headers=headers).status_code == 200
    # A token opens the JSON API only: the web pages still ask to sign in.
    response = client.get("/organisations", headers=headers)
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]


def _get(client, path):
    """A request that loads its user afresh: the test's application context (and its ``g``,
    where Flask-Login keeps the current user) outlives each request, unlike in production."""
    g.pop("_login_user", None)
    return client.get(path)


def _sign_in(client, email, password):
    g.pop("_login_user", None)
    return client.post("/connexion", data={"email": email, "password": password, "remember": "y"})


def test_new_password_ends_the_other_sessions_and_remember_cookies(app):
    user = make_user(Role.MANAGER)
    db.session.commit()
    elsewhere, here = app.test_client(), app.test_client()
    for client in (elsewhere, here):
        _sign_in(client, user.email, PASSWORD)
        assert _get(client, "/organisations").status_code == 200
    here.delete_cookie("session", domain="dcol.test")
    assert _get(here, "/organisations").status_code == 200  # "remember me" signs in again
    services.set_password(user, "un tout nouveau mot de passe")
    db.session.commit()
    # Neither the session nor the "remember me" cookie opened with the old password works.
    response = _get(elsewhere, "/organisations")
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]
    here.delete_cookie("session", domain="dcol.test")
    assert _get(here, "/organisations").status_code == 302
    fresh = app.test_client()
    _sign_in(fresh, user.email, "un tout nouveau mot de passe")
    assert _get(fresh, "/organisations").status_code == 200


def test_session_of_a_disabled_user_ends(client, app):
    user = make_user(Role.MANAGER)
    db.session.commit()
    client.post("/connexion", data={"email": user.email, "password": PASSWORD})
    assert _get(client, "/organisations").status_code == 200
    user.is_enabled = False
    db.session.commit()
    response = _get(client, "/organisations")
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]


def test_revoked_or_expired_token_refused(app):
    user = make_user(Role.MANAGER)
    token = services.create_api_token(user, "ancien")
    row = db.session.query(ApiToken).one()
    row.revoked_at = utcnow()
    assert services.user_for_api_token(token) is None
    token2 = services.create_api_token(user, "expiré", expires_at=utcnow() - timedelta(days=1))
    assert services.user_for_api_token(token2) is None


def test_token_of_disabled_user_refused(app):
    user = make_user(Role.MANAGER, enabled=False)
    token = services.create_api_token(user, "x")
    assert services.user_for_api_token(token) is None


def test_api_token_page_shows_token_once(client, app):
    user = make_user(Role.REVIEWER)
    db.session.commit()
    login(client, user.email)
    body = client.post("/compte/jetons", data={"name": "Tableur"}).get_data(as_text=True)
    token = re.search(r"(dcol_[\w-]+)", body).group(1)
    assert services.user_for_api_token(token) == user
    assert token not in client.get("/compte/jetons").get_data(as_text=True)


def test_cannot_revoke_someone_elses_token(client, app):
    owner = make_user(Role.REVIEWER)
    services.create_api_token(owner, "x")
    other = make_user(Role.REVIEWER)
    db.session.commit()
    login(client, other.email)
    token_id = db.session.query(ApiToken.id).scalar()
    assert client.post(f"/compte/jetons/{token_id}/revoquer").status_code == 404


def test_throttling_shared_through_redis_when_configured(instance_dir, database_url, _schema):
    """With several app servers, the login counters live in Redis (real server on 6379)."""
    import uuid

    import redis

    from dcol import create_app
    from dcol.extensions import limiter
    from tests.conftest import empty_database, make_config

    store = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1)
    try:
        store.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis server on 127.0.0.1:6379")
    config = make_config(
        instance_dir,
        database_url,
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0",
        RATELIMIT_KEY_PREFIX=f"dcol-test-{uuid.uuid4().hex}",
    )
    servers = [create_app(config), create_app(config)]
    with servers[0].app_context():
        user = make_user(Role.MANAGER)
        db.session.commit()
        email = user.email
    try:
        for attempt in range(5):
            app_server = servers[attempt % 2]
            response = app_server.test_client().post(
                "/connexion", data={"email": email, "password": "wrong password!"}
            )
            assert response.status_code == 422
        response = servers[1].test_client().post(
            "/connexion", data={"email": email, "password": PASSWORD}
        )
        assert response.status_code == 429
        # The counters are in Redis, where every worker of every app server reads them.
        assert store.keys(f"*{config['RATELIMIT_KEY_PREFIX']}*")
    finally:
        with servers[0].app_context():
            limiter.reset()
            empty_database()
