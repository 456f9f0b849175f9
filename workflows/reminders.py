"""Reminders sent by ``flask --app dcol workflow tick``: idempotent, safe to run every few minutes.

Owners of drafts and of dossiers awaiting changes are reminded before their deadline; reviewers
are reminded of their pending reviews every week (``send_review_reminders``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from dcol.extensions import db
from dcol.i18n import format_moment
from dcol.mail import external_url, queue_mail
from dcol.models import (
    Application,
    ApplicationState,
    AuditEvent,
    Call,
    ConflictStatus,
    OutgoingMail,
    Review,
    ReviewState,
    User,
    utcnow,
)
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


# --- reviewers --------------------------------------------------------------------------------

# A reviewer is reminded when a week has passed since they were last told or last acted: since
# the assignment while the declaration of interests is awaited; since the declaration, the start
# of the instruction (which mails them) or a reopening while the review is to write; then every
# week, at most three times per step, after which the manager is the one to act (replace them).
REVIEW_REMINDER_EVERY = timedelta(days=7)
REVIEW_REMINDER_MAX = 3
REVIEW_REMINDERS = {
    "declare": (
        N_("Rappel : déclaration d'intérêts attendue pour le dossier %(reference)s"),
        N_("Le dossier %(reference)s (%(organisation)s) vous est confié depuis %(days)s jours. "
           "Déclarez l'absence de conflit d'intérêts avec la collectivité pour pouvoir "
           "l'évaluer, ou déclarez le conflit afin qu'un autre instructeur vous remplace."),
    ),
    "write": (
        N_("Rappel : votre évaluation du dossier %(reference)s est attendue"),
        N_("Votre évaluation du dossier %(reference)s (%(organisation)s) n'est pas encore "
           "soumise. Notez chaque critère de la grille puis soumettez-la : le comité de "
           "sélection attend toutes les évaluations."),
    ),
}


def send_review_reminders(now=None) -> int:
    """Remind reviewers of their pending reviews: a declaration of interests still awaited (the
    dossier still being instructed), or a draft while the dossier is under review. Reviews that
    are submitted, or removed by a declared conflict, are never reminded. Returns the number of
    mails queued.

    Idempotent, and safe when several servers tick at once: the due reviews are locked (others
    skip them; PostgreSQL) and get their ``last_reminded_at`` in the same transaction as the mail,
    whose ``dedupe_key`` (review, step, step's start, reminder number) is unique.
    """
    from dcol.reviews.services import ASSIGNABLE_STATES

    now = now or utcnow()
    cutoff = now - REVIEW_REMINDER_EVERY
    declaring = sa.and_(Review.conflict_status == ConflictStatus.PENDING,
                        Application.state.in_(ASSIGNABLE_STATES))
    writing = sa.and_(Review.conflict_status == ConflictStatus.NONE,
                      Application.state == ApplicationState.UNDER_REVIEW)
    reviews = db.session.scalars(
        sa.select(Review)
        .join(Review.application).join(Application.organisation).join(Review.reviewer)
        .options(contains_eager(Review.application).contains_eager(Application.organisation),
                 contains_eager(Review.reviewer))
        .where(
            Review.state == ReviewState.DRAFT,
            sa.or_(declaring, writing),
            User.is_enabled.is_(True),
            Review.assigned_at <= cutoff,
            sa.or_(Review.last_reminded_at.is_(None), Review.last_reminded_at <= cutoff),
        )
        .order_by(Review.id)
        .with_for_update(of=Review, skip_locked=True)
    ).all()
    if not reviews:
        return 0
    starts = _step_starts(reviews)
    ids = {review.application_id for review in reviews}
    sent = set(db.session.scalars(
        sa.select(OutgoingMail.dedupe_key)
        .where(OutgoingMail.application_id.in_(ids),
               OutgoingMail.dedupe_key.like("reminder:review:%"))))
    queued = 0
    for review in reviews:
        step, start = starts[review.id]
        quiet_since = max(start, review.last_reminded_at or start)
        if now - quiet_since < REVIEW_REMINDER_EVERY:
            continue
        prefix = f"reminder:review:{review.id}:{step}:{start.astimezone(UTC):%Y%m%dT%H%M%SZ}:"
        number = sum(key.startswith(prefix) for key in sent) + 1
        if number > REVIEW_REMINDER_MAX:
            continue
        application, reviewer = review.application, review.reviewer
        subject, body = REVIEW_REMINDERS[step]
        mail = queue_mail(
            reviewer.email, "notice", application_id=application.id, locale=reviewer.locale,
            dedupe_key=f"{prefix}{number}", user=reviewer, subject=subject, body=body,
            params={"reference": application.reference,
                    "organisation": application.organisation.name,
                    "days": (now - review.assigned_at).days},
            link=external_url("reviews.review", application_id=application.id), comment="",
        )
        review.last_reminded_at = now
        queued += mail is not None
    db.session.flush()
    return queued


def _step_starts(reviews: list[Review]) -> dict[int, tuple[str, datetime]]:
    """Each review's pending step and when it began (two queries for all of them): the
    assignment for the declaration; for the writing, the latest of the assignment, the
    declaration, the dossier's entry under review and a reopening of this review."""
    ids = {review.application_id for review in reviews if review.conflict_status
           is ConflictStatus.NONE}
    under_review_since = dict(db.session.execute(
        sa.select(AuditEvent.application_id, sa.func.max(AuditEvent.occurred_at))
        .where(AuditEvent.application_id.in_(ids),
               AuditEvent.to_state == ApplicationState.UNDER_REVIEW.value,
               AuditEvent.from_state != ApplicationState.UNDER_REVIEW.value)
        .group_by(AuditEvent.application_id)
    ).all()) if ids else {}
    reopened: dict[tuple[int, int], datetime] = {}
    for application_id, payload, occurred_at in (db.session.execute(
        sa.select(AuditEvent.application_id, AuditEvent.payload, AuditEvent.occurred_at)
        .where(AuditEvent.application_id.in_(ids), AuditEvent.event == "review_reopened")
    ) if ids else ()):
        key = (application_id, (payload or {}).get("reviewer_id"))
        reopened[key] = max(occurred_at, reopened.get(key, occurred_at))
    starts = {}
    for review in reviews:
        if review.conflict_status is ConflictStatus.PENDING:
            starts[review.id] = ("declare", review.assigned_at)
            continue
        moments = [review.assigned_at, review.conflict_declared_at,
                   under_review_since.get(review.application_id),
                   reopened.get((review.application_id, review.reviewer_id))]
        starts[review.id] = ("write", max(m for m in moments if m is not None))
    return starts
