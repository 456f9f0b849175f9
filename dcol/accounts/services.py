"""Accounts: users, passwords (Argon2id), password-reset links and API tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from dcol.extensions import db
from dcol.mail import external_url, queue_mail
from dcol.models import ApiToken, MembershipStatus, Organisation, Role, User, utcnow

_DUMMY_PASSWORD = "dcol-timing-equaliser"


def _hasher() -> PasswordHasher:
    """Argon2id with the parameters in the configuration (RFC 9106 defaults)."""
    config = current_app.config
    return PasswordHasher(
        time_cost=config["ARGON2_TIME_COST"],
        memory_cost=config["ARGON2_MEMORY_COST"],
        parallelism=config["ARGON2_PARALLELISM"],
    )


def _dummy_hash() -> str:
    """Verifying against this keeps the time of a login for an unknown e-mail like a known one's."""
    hashes = current_app.extensions.setdefault("dcol.dummy_hash", {})
    key = (current_app.config["ARGON2_TIME_COST"], current_app.config["ARGON2_MEMORY_COST"])
    if key not in hashes:
        hashes[key] = _hasher().hash(_DUMMY_PASSWORD)
    return hashes[key]
MIN_PASSWORD_LENGTH = 12
TOKEN_PREFIX = "dcol_"


class AccountError(ValueError):
    """A refusal to show the user, in their language (translated where it is raised)."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            _("Le mot de passe doit compter au moins %(n)s caractères.", n=MIN_PASSWORD_LENGTH)
        )
    return _hasher().hash(password)


def set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)


def check_password(user: User | None, password: str) -> bool:
    """Verify ``password``; rehash transparently when Argon2 parameters have changed."""
    hasher = _hasher()
    stored = user.password_hash if user is not None and user.password_hash else _dummy_hash()
    try:
        hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
    if user is None or not user.password_hash:
        return False
    if hasher.check_needs_rehash(stored):
        user.password_hash = hasher.hash(password)
    return True


def authenticate(email: str, password: str) -> User | None:
    """The enabled user with this e-mail and password, or None (never says which was wrong)."""
    user = find_user(email)
    if not check_password(user, password) or user is None or not user.is_enabled:
        return None
    user.last_login_at = utcnow()
    return user


def find_user(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def create_user(
    email: str,
    full_name: str,
    *,
    password: str | None = None,
    roles: set[Role] | frozenset[Role] = frozenset(),
    organisation: Organisation | None = None,
    is_signatory: bool = False,
    membership_status: MembershipStatus | None = None,
    expert_id: int | None = None,
    locale: str = "fr",
) -> User:
    """Create a user; an applicant needs an organisation, an expert an expert profile."""
    email = normalise_email(email)
    if find_user(email) is not None:
        raise AccountError(_("Un compte existe déjà avec cette adresse e-mail."))
    if Role.APPLICANT in roles and organisation is None:
        raise AccountError(_("Un compte collectivité doit être rattaché à une organisation."))
    if Role.EXPERT in roles and expert_id is None:
        raise AccountError(_("Un compte expert doit être rattaché à une fiche expert."))
    user = User(
        email=email,
        full_name=full_name.strip(),
        organisation=organisation,
        is_signatory=is_signatory,
        membership_status=membership_status
        or (MembershipStatus.PENDING if organisation is not None else None),
        expert_id=expert_id,
        locale=locale,
    )
    if password is not None:
        set_password(user, password)
    for role in sorted(roles):
        user.add_role(role)
    db.session.add(user)
    db.session.flush()
    return user


# --- password reset -------------------------------------------------------------------------


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="dcol.password-reset")


def _password_fingerprint(user: User) -> str:
    """Changes with the password, so that a reset link works once."""
    return hashlib.sha256((user.password_hash or "unset").encode()).hexdigest()[:16]


def make_reset_token(user: User) -> str:
    return _reset_serializer().dumps({"uid": user.id, "pw": _password_fingerprint(user)})


def user_for_reset_token(token: str) -> User | None:
    """The user a valid, unexpired, unused reset token was made for."""
    try:
        data = _reset_serializer().loads(
            token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"]
        )
    except (SignatureExpired, BadSignature):
        return None
    user = db.session.get(User, data.get("uid"))
    if user is None or not user.is_enabled:
        return None
    if not hmac.compare_digest(data.get("pw", ""), _password_fingerprint(user)):
        return None
    return user


def request_password_reset(email: str) -> None:
    """Mail a reset link when the address is known; say nothing either way to the requester."""
    user = find_user(email)
    if user is None or not user.is_enabled:
        return
    link = external_url("accounts.reset_password", token=make_reset_token(user))
    minutes = current_app.config["PASSWORD_RESET_MAX_AGE"] // 60
    queue_mail(user.email, "password_reset", user=user, link=link, minutes=minutes,
               locale=user.locale)


def reset_password(token: str, password: str) -> User:
    user = user_for_reset_token(token)
    if user is None:
        raise AccountError(
            _("Ce lien de réinitialisation n'est plus valable. Demandez-en un nouveau.")
        )
    set_password(user, password)
    return user


# --- API tokens -----------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(user: User, name: str, expires_at: datetime | None = None) -> str:
    """Create a token and return it in clear, once; only its hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.session.add(
        ApiToken(
            user=user,
            name=name,
            prefix=token[: len(TOKEN_PREFIX) + 6],
            token_hash=_token_hash(token),
            created_at=utcnow(),
            expires_at=expires_at,
        )
    )
    db.session.flush()
    return token


def user_for_api_token(token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    now = utcnow()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if not row.user.is_enabled:
        return None
    row.last_used_at = now
    return row.user


def revoke_api_token(token_id: int, user: User) -> None:
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise AccountError(_("Jeton introuvable."))
    row.revoked_at = utcnow()
