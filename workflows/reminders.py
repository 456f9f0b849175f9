"""Reminders sent by ``flask --app dcol workflow tick``: idempotent, safe to run every few minutes."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from dcol.extensions import db
from dcol.i18n import format_moment
from dcol.mail import external_url, queue_mail
from dcol.models import Application, ApplicationState, Call, User, utcnow
from dcol.models.base import N_

# From the most urgent: the reminder sent is the closest threshold already reached.
THRESHOLDS = ((timedelta(hours=48), "48h"), (timedelta(days=7), "7d"))


def _threshold(deadline, now) -> str | None:
    if now >= deadline:
        return None
    for delta, name in THRESHOLDS:
        if now >= deadline - delta:
            return name
    return None


def _owners(application: Application) -> list[User]:
    """Who must act on a draft: its author, its co-editors and the organisation's signatories."""
    people = {}
    if application.created_by is not None:
        people[application.created_by.id] = application.created_by
    for editor in application.editors:
        people[editor.user.id] = editor.user
    for member in application.organisation.members:
        if member.is_signatory:
            people[member.id] = member
    return [person for person in people.values() if person.is_active_member]


def send_deadline_reminders(now=None) -> int:
    """Remind owners of unsubmitted drafts before the call closes, and of dossiers awaiting
    changes before their response deadline. Returns the number of mails queued."""
    now = now or utcnow()
    horizon = now + THRESHOLDS[-1][0]
    queued = 0
    drafts = db.session.scalars(
        sa.select(Application)
        .join(Call)
        .options(
            joinedload(Application.call),
            selectinload(Application.editors),
            joinedload(Application.organisation),
            joinedload(Application.created_by),
        )
        .where(
            Application.state == ApplicationState.DRAFT,
            Call.closes_at > now,
            Call.closes_at <= horizon,
        )
    ).unique()
    for application in drafts:
        queued += _remind(application, application.call.closes_at, "draft", now,
                          N_("Rappel : le dépôt de votre dossier %(reference)s ferme bientôt"),
                          N_("Votre dossier « %(title)s » n'est pas encore déposé. L'appel ferme "
                             "le %(deadline)s (heure de Paris)."))
    awaiting = db.session.scalars(
        sa.select(Application)
        .options(selectinload(Application.editors), joinedload(Application.organisation))
        .where(
            Application.state == ApplicationState.CHANGES_REQUESTED,
            Application.response_deadline > now,
            Application.response_deadline <= horizon,
        )
    )
    for application in awaiting:
        queued += _remind(application, application.response_deadline, "changes", now,
                          N_("Rappel : compléments attendus pour le dossier %(reference)s"),
                          N_("Cités Unies France attend vos compléments sur le dossier « %(title)s » "
                             "avant le %(deadline)s (heure de Paris)."))
    return queued


def _remind(application, deadline, kind, now, subject, body) -> int:
    threshold = _threshold(deadline, now)
    if threshold is None:
        return 0
    params = {
        "reference": application.reference,
        "title": application.title or application.reference,
        "organisation": application.organisation.name,
        "deadline": format_moment(deadline),
    }
    link = external_url("applications.detail", application_id=application.id)
    queued = 0
    for user in _owners(application):
        mail = queue_mail(
            user.email, "event", application_id=application.id, locale=user.locale,
            dedupe_key=f"reminder:{kind}:{application.id}:{deadline.isoformat()}:{threshold}:{user.id}",
            user=user, subject=subject, body=body, params=params, comment="",
            application=application, link=link,
        )
        queued += mail is not None
    return queued
