"""Co-editors: members of the organisation invited to complete a dossier with its author.

The organisation's signatories may edit all its dossiers; any other member edits the dossiers
they created and those they are made co-editor of (``dcol.permissions.is_editor_of``).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from dcol import audit
from dcol.extensions import db
from dcol.mail import external_url, queue_mail
from dcol.models import (
    Application,
    ApplicationEditor,
    MembershipStatus,
    User,
    utcnow,
)
from dcol.permissions import Action, can, is_editor_of
from workflows.engine import Forbidden, InvalidInput, NotVisible


@dataclass(frozen=True)
class Editors:
    author: User | None
    signatories: list[User]  # edit every dossier of the organisation
    co_editors: list[User]
    candidates: list[User]  # members who may be made co-editor


def editors_of(application: Application) -> Editors:
    """Who edits the dossier, and which members could be made co-editor (two queries)."""
    members = db.session.scalars(
        sa.select(User)
        .where(
            User.organisation_id == application.organisation_id,
            User.membership_status == MembershipStatus.ACTIVE,
            User.is_enabled.is_(True),
        )
        .order_by(User.full_name, User.id)
    ).all()
    co_editor_ids = {editor.user_id for editor in application.editors}
    author = next((m for m in members if m.id == application.created_by_id), None)
    return Editors(
        author=author,
        signatories=[m for m in members if m.is_signatory],
        co_editors=[m for m in members if m.id in co_editor_ids],
        candidates=[m for m in members if not is_editor_of(m, application)],
    )


def check_may_manage(application: Application, actor: User) -> None:
    """Raise ``NotVisible`` or ``Forbidden`` (French) unless ``actor`` may choose co-editors."""
    if not can(actor, Action.APP_VIEW, application):
        raise NotVisible(_("Dossier introuvable."))
    if not can(actor, Action.APP_MANAGE_EDITORS, application):
        raise Forbidden(
            _("Seuls l'auteur du dossier et les signataires de l'organisation choisissent ses "
              "co-rédacteurs, tant que le dossier est modifiable.")
        )


def add_editor(application: Application, actor: User, member: User | None) -> ApplicationEditor:
    """Make ``member`` (an active member of the dossier's organisation) a co-editor, record it in
    the dossier's history and tell them by mail. Flushes only."""
    check_may_manage(application, actor)
    if (
        member is None
        or member.organisation_id != application.organisation_id
        or not member.is_active_member
    ):
        raise InvalidInput(_("Choisissez un membre validé de votre organisation."))
    if is_editor_of(member, application):
        raise InvalidInput(
            _("%(name)s peut déjà modifier ce dossier.", name=member.full_name)
        )
    now = utcnow()
    editor = ApplicationEditor(user_id=member.id, added_by_id=actor.id, added_at=now)
    application.editors.append(editor)
    audit.record(
        application_id=application.id, actor=actor, event="editor_added", occurred_at=now,
        payload={"user_id": member.id, "name": member.full_name},
    )
    queue_mail(
        member.email, "editor_added", application_id=application.id, locale=member.locale,
        user=member, actor=actor, application=application,
        link=external_url("applications.detail", application_id=application.id),
    )
    db.session.flush()
    return editor


def remove_editor(application: Application, actor: User, member_id: int) -> None:
    """Withdraw a co-editor's right to edit the dossier (the author and signatories keep
    theirs). Flushes only."""
    check_may_manage(application, actor)
    editor = next((e for e in application.editors if e.user_id == member_id), None)
    if editor is None:
        raise InvalidInput(_("Cette personne n'est pas co-rédactrice de ce dossier."))
    name = editor.user.full_name
    application.editors.remove(editor)
    audit.record(
        application_id=application.id, actor=actor, event="editor_removed",
        occurred_at=utcnow(), payload={"user_id": member_id, "name": name},
    )
    db.session.flush()
