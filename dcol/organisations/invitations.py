"""Invitations: a signatory invites a colleague by e-mail, with a link valid for seven days.

Only the SHA-256 of the link's token is stored (like API tokens). Someone invited by a validated
signatory becomes an active member at once: CUF staff have already validated the organisation and
the person vouching for the colleague.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from dcol import audit
from dcol.accounts.services import create_user, find_user, normalise_email
from dcol.extensions import db
from dcol.mail import external_url, queue_mail
from dcol.models import Invitation, MembershipStatus, Organisation, Role, User, utcnow
from dcol.organisations.services import OrganisationError
from dcol.permissions import Action, can

INVITATION_VALIDITY = timedelta(days=7)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def pending_invitations(organisation: Organisation) -> list[Invitation]:
    """Invitations neither accepted, revoked nor expired, newest first."""
    return list(
        db.session.scalars(
            sa.select(Invitation)
            .options(joinedload(Invitation.invited_by))
            .where(
                Invitation.organisation_id == organisation.id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > utcnow(),
            )
            .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        )
    )


def invite_member(
    organisation: Organisation, email: str, *, is_signatory: bool, invited_by: User
) -> tuple[Invitation, str]:
    """Create an invitation and mail its link; return it with the token (in clear, never stored).

    A new invitation to the same address replaces the pending one.
    """
    if not organisation.is_active:
        raise OrganisationError(
            _("L'organisation doit d'abord être validée par Cités Unies France.")
        )
    email = normalise_email(email)
    existing = find_user(email)
    if (
        existing is not None
        and existing.organisation_id == organisation.id
        and existing.membership_status is MembershipStatus.ACTIVE
    ):
        raise OrganisationError(_("Cette personne est déjà membre de l'organisation."))
    now = utcnow()
    for previous in pending_invitations(organisation):
        if previous.email == email:
            previous.revoked_at = now
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        organisation=organisation,
        email=email,
        is_signatory=is_signatory,
        token_hash=_token_hash(token),
        invited_by=invited_by,
        created_at=now,
        expires_at=now + INVITATION_VALIDITY,
    )
    db.session.add(invitation)
    db.session.flush()
    audit.record(
        application_id=None,
        actor=invited_by,
        event="invitation_sent",
        occurred_at=now,
        payload={
            "invitation_id": invitation.id,
            "organisation_id": organisation.id,
            "email": email,
            "is_signatory": is_signatory,
        },
    )
    queue_mail(
        email,
        "invitation",
        invitation=invitation,
        organisation=organisation,
        inviter=invited_by,
        link=external_url("organisations.accept_invitation", token=token),
    )
    return invitation, token


def revoke_invitation(invitation: Invitation, actor: User) -> None:
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise OrganisationError(_("Cette invitation n'est plus en attente."))
    now = utcnow()
    invitation.revoked_at = now
    audit.record(
        application_id=None,
        actor=actor,
        event="invitation_revoked",
        occurred_at=now,
        payload={"invitation_id": invitation.id, "organisation_id": invitation.organisation_id},
    )


# --- the invitee's side ---------------------------------------------------------------------


class InvitationStatus(enum.Enum):
    VALID = "valid"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    REVOKED = "revoked"
    VOID = "void"  # the organisation or the inviter's right to invite is gone


class Situation(enum.Enum):
    """Where the invitee stands, for the page to say what to do."""

    NEW_ACCOUNT = "new_account"  # no account with this address: choose a name and password
    LOG_IN = "log_in"  # an account that may join exists: log in with it first
    JOIN = "join"  # logged in with that account: confirm
    ALREADY_MEMBER = "already_member"
    OTHER_ORGANISATION = "other_organisation"  # an account that cannot join (another org, staff)
    WRONG_USER = "wrong_user"  # logged in as someone else


@dataclass
class InvitationCheck:
    status: InvitationStatus
    invitation: Invitation | None = None

    @property
    def is_valid(self) -> bool:
        return self.status is InvitationStatus.VALID


def check_invitation(token: str) -> InvitationCheck:
    """What the link with this token is worth now."""
    invitation = db.session.scalar(
        sa.select(Invitation)
        .options(joinedload(Invitation.organisation), joinedload(Invitation.invited_by))
        .where(Invitation.token_hash == _token_hash(token))
    )
    if invitation is None:
        return InvitationCheck(InvitationStatus.UNKNOWN)
    if invitation.accepted_at is not None:
        status = InvitationStatus.USED
    elif invitation.revoked_at is not None:
        status = InvitationStatus.REVOKED
    elif invitation.expires_at <= utcnow():
        status = InvitationStatus.EXPIRED
    elif not invitation.organisation.is_active or not can(
        invitation.invited_by, Action.ORG_MANAGE_MEMBERS, invitation.organisation
    ):
        status = InvitationStatus.VOID
    else:
        status = InvitationStatus.VALID
    return InvitationCheck(status, invitation)


def _may_join(user: User, organisation: Organisation) -> bool:
    """An account joins only when it belongs to no other organisation and has no other role."""
    return user.organisation_id in (None, organisation.id) and user.roles <= {Role.APPLICANT}


def situation(invitation: Invitation, current: User | None) -> Situation:
    existing = find_user(invitation.email)
    if current is not None and (existing is None or current.id != existing.id):
        return Situation.WRONG_USER
    if existing is None:
        return Situation.NEW_ACCOUNT
    if (
        existing.organisation_id == invitation.organisation_id
        and existing.membership_status is MembershipStatus.ACTIVE
    ):
        return Situation.ALREADY_MEMBER
    if not _may_join(existing, invitation.organisation):
        return Situation.OTHER_ORGANISATION
    return Situation.JOIN if current is not None else Situation.LOG_IN


def _valid_invitation(token: str) -> Invitation:
    check = check_invitation(token)
    if not check.is_valid:
        raise OrganisationError(_("Cette invitation n'est plus valable."))
    return check.invitation


def accept_invitation(
    token: str, *, full_name: str, password: str, job_title: str | None = None
) -> User:
    """Create the invitee's account as an active member of the organisation."""
    invitation = _valid_invitation(token)
    user = create_user(
        invitation.email,
        full_name,
        password=password,
        roles={Role.APPLICANT},
        organisation=invitation.organisation,
        is_signatory=invitation.is_signatory,
        membership_status=MembershipStatus.ACTIVE,
    )
    if job_title and job_title.strip():
        user.job_title = job_title.strip()
    _mark_accepted(invitation, user)
    return user


def join_with_invitation(token: str, user: User) -> None:
    """Attach an existing account (the invitation's address, free of any other organisation)."""
    invitation = _valid_invitation(token)
    if situation(invitation, user) is not Situation.JOIN:
        raise OrganisationError(
            _("Ce compte ne peut pas rejoindre l'organisation par ce lien.")
        )
    user.organisation = invitation.organisation
    user.membership_status = MembershipStatus.ACTIVE
    user.is_signatory = invitation.is_signatory
    user.add_role(Role.APPLICANT)
    _mark_accepted(invitation, user)


def _mark_accepted(invitation: Invitation, user: User) -> None:
    now = utcnow()
    invitation.accepted_at = now
    db.session.flush()
    audit.record(
        application_id=None,
        actor=user,
        event="invitation_accepted",
        occurred_at=now,
        payload={
            "invitation_id": invitation.id,
            "user_id": user.id,
            "organisation_id": invitation.organisation_id,
            "is_signatory": invitation.is_signatory,
        },
    )
    inviter = invitation.invited_by
    if inviter.is_enabled:
        queue_mail(
            inviter.email,
            "invitation_accepted",
            inviter=inviter,
            user=user,
            organisation=invitation.organisation,
            link=external_url("organisations.detail", organisation_id=invitation.organisation_id),
            locale=inviter.locale,
        )
