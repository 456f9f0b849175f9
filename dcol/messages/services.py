"""The message thread of a dossier, between its organisation, CUF and (once assigned) the
mission's expert: posting with attachments, reading, unread markers and mail notification."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from flask_babel import format_number, ngettext
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.datastructures import FileStorage

from dcol.documents.services import store_upload
from dcol.documents.validation import UploadRefused
from dcol.extensions import db, savepoint
from dcol.mail import external_url, queue_mail
from dcol.models import (
    Application,
    DocumentKind,
    Message,
    ThreadReadMarker,
    User,
    utcnow,
)
from dcol.permissions import Action, can, is_member_of
from workflows.engine import InvalidInput, NotVisible
from workflows.inputs import has_unstorable_text
from workflows.notifications import manager_users, mission_expert_users, organisation_members

MAX_BODY = 10_000
MAX_ATTACHMENTS = 5


class MessageRefused(InvalidInput):
    """A message that may not be posted; ``field`` is the form field at fault."""

    def __init__(self, message: str, field: str = "body"):
        super().__init__(message)
        self.field = field


class MessageForbidden(NotVisible):
    """The author may not take part in this dossier's thread (answered as not found)."""


def post_message(
    application: Application,
    author: User,
    body: str,
    uploads: Sequence[FileStorage] = (),
) -> Message:
    """Add ``author``'s message, with its attachments, to the dossier's thread and queue the
    mails telling the other side (never the author).

    Raises ``MessageForbidden`` when the author may not message on the dossier and
    ``MessageRefused`` (French message) for an empty or too long body, too many attachments or a
    refused attachment. Flushes only: on a refusal the caller rolls back, and then neither the
    message nor any attachment (row or stored file) is kept.
    """
    if not can(author, Action.APP_MESSAGE, application):
        raise MessageForbidden(_("Ce dossier n'existe pas ou ne vous est pas accessible."))
    body = (body or "").strip()
    if not body:
        raise MessageRefused(_("Écrivez votre message avant de l'envoyer."))
    if has_unstorable_text(body):
        raise MessageRefused(_("Le message contient des caractères non autorisés."))
    if len(body) > MAX_BODY:
        raise MessageRefused(
            _(
                "Le message est trop long : %(length)s caractères pour %(max)s au plus.",
                length=format_number(len(body)),
                max=format_number(MAX_BODY),
            )
        )
    if len(uploads) > MAX_ATTACHMENTS:
        raise MessageRefused(
            ngettext(
                "Joignez au plus %(num)d fichier par message.",
                "Joignez au plus %(num)d fichiers par message.",
                MAX_ATTACHMENTS,
            ),
            field="attachments",
        )
    message = Message(
        application_id=application.id, author_id=author.id, body=body, created_at=utcnow()
    )
    db.session.add(message)
    db.session.flush()
    for upload in uploads:
        try:
            store_upload(application, author, upload, kind=DocumentKind.MESSAGE, message=message)
        except UploadRefused as refusal:
            raise MessageRefused(
                _(
                    "La pièce jointe « %(name)s » a été refusée : %(reason)s",
                    name=upload.filename or "",
                    reason=refusal.message,
                ),
                field="attachments",
            ) from refusal
    # The attachments relationship is view-only: reload it now that the documents exist.
    db.session.expire(message, ["attachments"])
    notify(message, application, author)
    return message


def recipients_of(application: Application, author: User) -> list[User]:
    """Who is told of ``author``'s new message: the other side of the thread.

    When the organisation writes, CUF's managers and the mission's expert (if any); when CUF or
    the expert writes, the organisation's members. Never the author, and only people who may
    read the thread.
    """
    if is_member_of(author, application.organisation_id):
        candidates = manager_users() + mission_expert_users(application)
    else:
        candidates = organisation_members(application)
    recipients, seen = [], {author.id}
    for user in candidates:
        if user.id in seen:
            continue
        seen.add(user.id)
        if can(user, Action.APP_MESSAGE, application):
            recipients.append(user)
    return recipients


def notify(message: Message, application: Application, author: User) -> int:
    """Queue the mails announcing ``message``; return how many."""
    link = external_url("messages.thread", application_id=application.id)
    recipients = recipients_of(application, author)
    for user in recipients:
        queue_mail(
            user.email,
            "message_posted",
            application_id=application.id,
            locale=user.locale,
            user=user,
            author=author,
            side_of=side_of,  # called in the recipient's language
            application=application,
            message=message,
            link=link,
        )
    return len(recipients)


def side_of(user: User, application: Application) -> str:
    """For whom ``user`` speaks in the thread: the organisation, the expert or CUF."""
    if user.organisation_id is not None and user.organisation_id == application.organisation_id:
        return application.organisation.name
    if user.expert is not None:
        return _("expert — %(name)s", name=user.expert.name)
    return _("Cités Unies France")


def thread(application: Application, user: User) -> list[Message]:
    """The dossier's messages, oldest first, with their authors (and the authors' expert firms)
    and attachments, in a fixed number of queries whatever their number.

    Raises ``MessageForbidden`` when ``user`` may not take part in the thread; whoever may
    reads all of it.
    """
    if not can(user, Action.APP_MESSAGE, application):
        raise MessageForbidden(_("Ce dossier n'existe pas ou ne vous est pas accessible."))
    return list(
        db.session.scalars(
            sa.select(Message)
            .options(
                selectinload(Message.author).selectinload(User.expert),
                selectinload(Message.attachments),
            )
            .where(Message.application_id == application.id)
            .order_by(Message.created_at, Message.id)
        )
    )


def last_read_at(application: Application, user: User) -> datetime | None:
    """When ``user`` last read the dossier's thread (None: never)."""
    return db.session.scalar(
        sa.select(ThreadReadMarker.last_read_at).where(
            ThreadReadMarker.application_id == application.id,
            ThreadReadMarker.user_id == user.id,
        )
    )


def is_unread(message: Message, user: User, read_at: datetime | None) -> bool:
    """True for someone else's message posted after ``read_at`` (the user's last visit)."""
    return message.author_id != user.id and (read_at is None or message.created_at > read_at)


def mark_read(application: Application, user: User, up_to: datetime | None = None) -> None:
    """Record that ``user`` has read the thread up to ``up_to``: by default its newest message
    now, so that a message posted while the page is being built stays unread. Nothing is
    written for an empty thread, and the marker never moves back."""
    if up_to is None:
        up_to = db.session.scalar(
            sa.select(sa.func.max(Message.created_at)).where(
                Message.application_id == application.id
            )
        )
        if up_to is None:
            return
    marker = db.session.get(ThreadReadMarker, (application.id, user.id))
    if marker is None:
        try:
            # Two tabs opening the thread at once may both insert: keep whichever came first.
            with savepoint():
                db.session.add(
                    ThreadReadMarker(
                        application_id=application.id, user_id=user.id, last_read_at=up_to
                    )
                )
            return
        except IntegrityError:
            marker = db.session.get(ThreadReadMarker, (application.id, user.id))
    if marker is not None and marker.last_read_at < up_to:
        marker.last_read_at = up_to
        db.session.flush()


def _unread_query(user: User) -> sa.Select:
    """(application_id, unread): the messages of others newer than ``user``'s marker."""
    marker = ThreadReadMarker
    return (
        sa.select(Message.application_id, sa.func.count(Message.id).label("unread"))
        .outerjoin(
            marker,
            sa.and_(marker.application_id == Message.application_id, marker.user_id == user.id),
        )
        .where(
            Message.author_id != user.id,
            sa.or_(marker.last_read_at.is_(None), Message.created_at > marker.last_read_at),
        )
        .group_by(Message.application_id)
    )


def unread_counts(user: User, application_ids: Iterable[int]) -> dict[int, int]:
    """How many messages of others ``user`` has not read, for each of ``application_ids`` that
    has any, in one query. The caller passes dossiers whose thread ``user`` may read."""
    ids = list(application_ids)
    if not ids:
        return {}
    rows = db.session.execute(_unread_query(user).where(Message.application_id.in_(ids)))
    return {application_id: count for application_id, count in rows}


def unread_count(application: Application, user: User) -> int:
    """How many messages of others ``user`` has not read in the dossier's thread."""
    return unread_counts(user, [application.id]).get(application.id, 0)


def unread_threads(
    user: User, condition: sa.ColumnElement[bool], limit: int
) -> list[tuple[Application, int]]:
    """The dossiers matching ``condition`` whose thread holds messages ``user`` has not read,
    with how many, most unread first (one query), for work queues."""
    counts = _unread_query(user).subquery()
    rows = db.session.execute(
        sa.select(Application, counts.c.unread)
        .join(counts, counts.c.application_id == Application.id)
        .options(joinedload(Application.organisation))
        .where(condition)
        .order_by(counts.c.unread.desc(), Application.id)
        .limit(limit)
    )
    return [(application, count) for application, count in rows]
