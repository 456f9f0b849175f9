"""Organisations and their members: validation by CUF staff, and who signs for the organisation.

Every decision writes an audit entry (outside any dossier's chain) and mails the people concerned,
in the caller's transaction. Invitations live in ``dcol.organisations.invitations``.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from dcol import audit
from dcol.extensions import db
from dcol.mail import external_url, queue_mail
from dcol.models import (
    MembershipStatus,
    Organisation,
    OrganisationStatus,
    User,
    utcnow,
)

MAX_REASON_LENGTH = 2000


class OrganisationError(ValueError):
    """A refusal to show the user, in their language (translated where it is raised)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- what awaits validation -------------------------------------------------------------------


@dataclass
class PendingRegistrations:
    organisations: list[Organisation]  # pending, with their members
    members: list[User]  # pending members of organisations already validated

    @property
    def is_empty(self) -> bool:
        return not self.organisations and not self.members


def pending_registrations() -> PendingRegistrations:
    """Pending organisations (oldest first) and pending members of validated organisations."""
    organisations = db.session.scalars(
        sa.select(Organisation)
        .options(selectinload(Organisation.members))
        .where(Organisation.status == OrganisationStatus.PENDING)
        .order_by(Organisation.created_at, Organisation.id)
    ).all()
    members = db.session.scalars(
        sa.select(User)
        .join(User.organisation)
        .options(joinedload(User.organisation))
        .where(
            User.membership_status == MembershipStatus.PENDING,
            User.is_enabled.is_(True),
            Organisation.status == OrganisationStatus.ACTIVE,
        )
        .order_by(User.created_at, User.id)
    ).all()
    return PendingRegistrations(list(organisations), list(members))


def signatory_count(organisation: Organisation) -> int:
    """Active, enabled members who sign for the organisation."""
    return db.session.scalar(
        sa.select(sa.func.count(User.id)).where(
            User.organisation_id == organisation.id,
            User.is_signatory.is_(True),
            User.is_enabled.is_(True),
            User.membership_status == MembershipStatus.ACTIVE,
        )
    )


def organisations_with_signatory(organisation_ids: set[int]) -> set[int]:
    """Among these organisations, those that have an active signatory (one query)."""
    if not organisation_ids:
        return set()
    return set(
        db.session.scalars(
            sa.select(User.organisation_id)
            .where(
                User.organisation_id.in_(organisation_ids),
                User.is_signatory.is_(True),
                User.is_enabled.is_(True),
                User.membership_status == MembershipStatus.ACTIVE,
            )
            .distinct()
        )
    )


# --- staff decisions ------------------------------------------------------------------------


def _clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise OrganisationError(_("Indiquez le motif du refus : il est envoyé à la personne."))
    if len(reason) > MAX_REASON_LENGTH:
        raise OrganisationError(
            _("Le motif ne doit pas dépasser %(n)s caractères.", n=MAX_REASON_LENGTH)
        )
    return reason


def validate_organisation(organisation: Organisation, actor: User, *, notify: bool = True) -> None:
    """Validate a pending organisation. Its pending members stay pending (validated one by one);
    with ``notify``, its enabled members are told."""
    if organisation.status is not OrganisationStatus.PENDING:
        raise OrganisationError(_("Cette organisation a déjà été traitée."))
    now = utcnow()
    organisation.status = OrganisationStatus.ACTIVE
    organisation.validated_at = now
    organisation.validated_by_id = actor.id
    audit.record(
        application_id=None,
        actor=actor,
        event="organisation_validated",
        occurred_at=now,
        payload={"organisation_id": organisation.id, "siren": organisation.siren},
    )
    if notify:
        for member in _members_to_notify(organisation):
            queue_mail(
                member.email,
                "organisation_validated",
                user=member,
                organisation=organisation,
                link=external_url("home.index"),
                locale=member.locale,
            )


def refuse_organisation(organisation: Organisation, actor: User, reason: str) -> None:
    """Refuse a pending organisation with a reason; its pending members are refused with it and
    each is mailed the reason."""
    reason = _clean_reason(reason)
    if organisation.status is not OrganisationStatus.PENDING:
        raise OrganisationError(_("Cette organisation a déjà été traitée."))
    now = utcnow()
    organisation.status = OrganisationStatus.REJECTED
    refused = [m for m in organisation.members if m.membership_status is MembershipStatus.PENDING]
    for member in refused:
        member.membership_status = MembershipStatus.REJECTED
        member.is_signatory = False
    audit.record(
        application_id=None,
        actor=actor,
        event="organisation_refused",
        occurred_at=now,
        comment=reason,
        payload={
            "organisation_id": organisation.id,
            "siren": organisation.siren,
            "member_ids": [m.id for m in refused],
        },
    )
    for member in refused:
        if member.is_enabled:
            queue_mail(
                member.email,
                "organisation_refused",
                user=member,
                organisation=organisation,
                reason=reason,
                locale=member.locale,
            )


def validate_member(member: User, actor: User, *, is_signatory: bool) -> None:
    """Make a pending member active (signatory or not).

    A member of a pending organisation validates the organisation too: checking the person and
    their mandate is what validating a new organisation amounts to, and an organisation without
    an active member has no use.
    """
    organisation = member.organisation
    if organisation is None or member.membership_status is not MembershipStatus.PENDING:
        raise OrganisationError(_("Ce compte a déjà été traité."))
    if organisation.status is OrganisationStatus.REJECTED:
        raise OrganisationError(
            _("L'organisation de ce compte a été refusée : refusez aussi le compte.")
        )
    organisation_validated = organisation.status is OrganisationStatus.PENDING
    if organisation_validated:
        validate_organisation(organisation, actor, notify=False)
    member.membership_status = MembershipStatus.ACTIVE
    member.is_signatory = is_signatory
    audit.record(
        application_id=None,
        actor=actor,
        event="member_validated",
        occurred_at=utcnow(),
        payload={
            "user_id": member.id,
            "organisation_id": organisation.id,
            "is_signatory": is_signatory,
        },
    )
    queue_mail(
        member.email,
        "member_validated",
        user=member,
        organisation=organisation,
        organisation_validated=organisation_validated,
        link=external_url("home.index"),
        locale=member.locale,
    )


def refuse_member(member: User, actor: User, reason: str) -> None:
    """Refuse a pending member with a reason, mailed to them. Their organisation is unchanged."""
    reason = _clean_reason(reason)
    if member.organisation is None or member.membership_status is not MembershipStatus.PENDING:
        raise OrganisationError(_("Ce compte a déjà été traité."))
    member.membership_status = MembershipStatus.REJECTED
    member.is_signatory = False
    audit.record(
        application_id=None,
        actor=actor,
        event="member_refused",
        occurred_at=utcnow(),
        comment=reason,
        payload={"user_id": member.id, "organisation_id": member.organisation_id},
    )
    queue_mail(
        member.email,
        "member_refused",
        user=member,
        organisation=member.organisation,
        reason=reason,
        locale=member.locale,
    )


def _members_to_notify(organisation: Organisation) -> list[User]:
    return [
        m
        for m in organisation.members
        if m.is_enabled
        and m.membership_status in {MembershipStatus.PENDING, MembershipStatus.ACTIVE}
    ]


# --- signatories ----------------------------------------------------------------------------


def set_signatory(
    organisation: Organisation, member: User, is_signatory: bool, actor: User
) -> bool:
    """Grant or withdraw the signatory flag of an active member; return whether it changed.

    The organisation always keeps at least one signatory: someone must be able to submit, sign
    and invite.
    """
    if member.organisation_id != organisation.id:
        raise OrganisationError(_("Cette personne n'est pas membre de l'organisation."))
    if member.membership_status is not MembershipStatus.ACTIVE or not member.is_enabled:
        raise OrganisationError(
            _("Seul un membre dont le compte est validé et actif peut être signataire.")
        )
    if member.is_signatory == is_signatory:
        return False
    if not is_signatory and signatory_count(organisation) <= 1:
        raise OrganisationError(
            _(
                "L'organisation doit garder au moins un signataire : désignez-en un autre "
                "avant de retirer celui-ci."
            )
        )
    member.is_signatory = is_signatory
    audit.record(
        application_id=None,
        actor=actor,
        event="signatory_granted" if is_signatory else "signatory_withdrawn",
        occurred_at=utcnow(),
        payload={"user_id": member.id, "organisation_id": organisation.id},
    )
    return True
