"""Registration of local-authority officers, for an organisation identified by its SIREN.

An officer joins the organisation already known under that SIREN, or registers it; the new member
(and the new organisation) stay pending until CUF staff validate them
(``dcol.organisations.services``).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.fr import siren as siren_number

from dcol import audit
from dcol.accounts.services import AccountError, create_user, find_user, normalise_email
from dcol.extensions import db, savepoint
from dcol.mail import external_url, queue_mail
from dcol.models import (
    MembershipStatus,
    Organisation,
    OrganisationKind,
    OrganisationStatus,
    Role,
    User,
    utcnow,
)
from dcol.models.base import N_

INVALID_SIREN = N_(
    "Numéro SIREN invalide : il compte 9 chiffres et le dernier est une clé de contrôle "
    "(vérifiez-le sur l'avis de situation INSEE ou annuaire-entreprises.data.gouv.fr)."
)


class RegistrationError(AccountError):
    """A refusal to show on the registration form, next to ``field`` when given."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class NewOrganisation:
    """What the registrant tells of an organisation that DCOL does not know yet."""

    name: str
    kind: OrganisationKind
    region: str | None = None
    department_code: str | None = None
    population: int | None = None


def clean_siren(value: str) -> str:
    """The nine digits of a valid SIREN (spaces and dots accepted), or RegistrationError."""
    try:
        return siren_number.validate(value or "")
    except StdnumValidationError:
        raise RegistrationError(_(INVALID_SIREN), field="siren") from None


def organisation_by_siren(siren: str) -> Organisation | None:
    return db.session.scalar(sa.select(Organisation).where(Organisation.siren == siren))


def register_officer(
    *,
    siren: str,
    full_name: str,
    email: str,
    password: str,
    job_title: str | None = None,
    new_organisation: NewOrganisation | None = None,
    locale: str = "fr",
) -> User:
    """Register an officer as a pending member of the organisation with this SIREN.

    A known organisation is joined (``new_organisation`` is then ignored); an unknown one is
    created, pending, from ``new_organisation`` (required then). Managers are told that a
    registration awaits validation and the registrant gets an acknowledgement; both mails and the
    audit entries belong to the caller's transaction, which must be rolled back on error.
    """
    siren = clean_siren(siren)
    email = normalise_email(email)
    if find_user(email) is not None:
        raise RegistrationError(
            _(
                "Un compte existe déjà avec cette adresse e-mail. Connectez-vous, ou utilisez "
                "« Mot de passe oublié ? » sur la page de connexion."
            ),
            field="email",
        )
    organisation = organisation_by_siren(siren)
    created = False
    if organisation is None:
        if new_organisation is None:
            raise RegistrationError(
                _(
                    "Aucune organisation n'est encore inscrite avec ce SIREN : indiquez son nom "
                    "et sa nature ci-dessous pour l'inscrire."
                ),
                field="organisation_name",
            )
        organisation = _create_organisation(siren, new_organisation)
        created = True
    elif organisation.status is OrganisationStatus.REJECTED:
        raise RegistrationError(
            _(
                "L'inscription de cette organisation a été refusée par Cités Unies France. "
                "Contactez l'équipe DCOL si vous pensez qu'il s'agit d'une erreur."
            ),
            field="siren",
        )

    user = create_user(
        email,
        full_name,
        password=password,
        roles={Role.APPLICANT},
        organisation=organisation,
        membership_status=MembershipStatus.PENDING,
        locale=locale,
    )
    if job_title and job_title.strip():
        user.job_title = job_title.strip()
    now = utcnow()
    if created:
        audit.record(
            application_id=None,
            actor=user,
            event="organisation_registered",
            occurred_at=now,
            payload={"organisation_id": organisation.id, "siren": organisation.siren},
        )
    audit.record(
        application_id=None,
        actor=user,
        event="member_registered",
        occurred_at=now,
        payload={"user_id": user.id, "organisation_id": organisation.id},
    )
    _notify_registration(user, organisation, created)
    return user


def _create_organisation(siren: str, data: NewOrganisation) -> Organisation:
    organisation = Organisation(
        name=data.name.strip(),
        kind=data.kind,
        siren=siren,
        status=OrganisationStatus.PENDING,
        region=data.region or None,
        department_code=(data.department_code or "").strip().upper() or None,
        population=data.population,
    )
    try:
        # A savepoint: when another registration created the same SIREN in between, the unique
        # constraint answers and the officer is asked to join it instead of a duplicate.
        with savepoint():
            db.session.add(organisation)
    except IntegrityError:
        raise RegistrationError(
            _(
                "Cette organisation vient d'être inscrite par quelqu'un d'autre : "
                "renvoyez le formulaire pour la rejoindre."
            ),
            field="siren",
        ) from None
    return organisation


def _notify_registration(user: User, organisation: Organisation, created: bool) -> None:
    managers = db.session.scalars(
        sa.select(User)
        .where(User.is_enabled.is_(True), User.role_rows.any(role=Role.MANAGER))
        .order_by(User.id)
    ).all()
    link = external_url("organisations.pending")
    for manager in managers:
        queue_mail(
            manager.email,
            "registration_pending",
            user=user,
            organisation=organisation,
            created=created,
            link=link,
            recipient=manager,
            locale=manager.locale,
        )
    queue_mail(
        user.email,
        "registration_received",
        user=user,
        organisation=organisation,
        created=created,
        link=external_url("accounts.login"),
        locale=user.locale,
    )
