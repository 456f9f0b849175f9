"""Deliverables: deposited by the expert (DCOL) or the collectivité (call for projects), validated
by the collectivité or sent back for revision, then validated by CUF (``workflows.deliverable``).

The final deliverable drives the dossier: depositing it (or its revised version) fires
``submit_final_report``, and asking for its revision while the final report is in fires
``request_revision`` — in the same transaction, so either both happen or neither does.
Services flush only; the caller commits.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import FileStorage

from dcol import audit
from dcol.documents.services import store_upload
from dcol.documents.validation import UploadRefused
from dcol.extensions import db
from dcol.models import (
    Application,
    ApplicationState,
    Deliverable,
    DeliverableState,
    DocumentKind,
    User,
    utcnow,
)
from dcol.models.base import N_
from dcol.permissions import Action, can
from workflows import deliverable as course
from workflows import engine
from workflows.engine import Forbidden, InputRefused, NotApplicable
from workflows.guards import final_deliverable, mission_of
from workflows.notifications import manager_users, organisation_members, tell

MAX_TITLE = 300


def deliverables_of(application: Application) -> list[Deliverable]:
    mission = mission_of(application)
    if mission is None:
        return []
    return list(db.session.scalars(
        sa.select(Deliverable).where(Deliverable.mission_id == mission.id)
        .options(selectinload(Deliverable.files))
        .order_by(Deliverable.is_final, Deliverable.id)))


def _store(application: Application, actor: User, upload: FileStorage | None,
           deliverable: Deliverable) -> None:
    if upload is None or not upload.filename:
        raise InputRefused(_("Le livrable n'a pas été déposé."),
                           {"file": _("Joignez le fichier du livrable.")})
    try:
        document = store_upload(application, actor, upload, kind=DocumentKind.DELIVERABLE)
    except UploadRefused as refusal:
        raise InputRefused(_("Le livrable n'a pas été déposé."), {"file": refusal.message}) \
            from refusal
    previous = deliverable.current_file if deliverable.id is not None else None
    document.deliverable_id = deliverable.id
    if previous is not None:
        previous.replaced_by_id, previous.replaced_at = document.id, document.uploaded_at
    db.session.flush()
    db.session.expire(deliverable, ["files"])


def submit_deliverable(application: Application, actor: User, *, title: str, description: str,
                       is_final: bool, upload: FileStorage | None,
                       now: datetime | None = None) -> Deliverable:
    """Deposit a new deliverable with its file, audited; the final one also deposits the final
    report (``submit_final_report``, whose guards may refuse: nothing is then written)."""
    now = now or utcnow()
    if not can(actor, Action.APP_REPORT, application):
        raise Forbidden(_("Vous ne pouvez pas déposer de livrable sur ce dossier."))
    mission = mission_of(application)
    if mission is None:
        raise Forbidden(_("Ce dossier n'a pas encore de mission."))
    errors = {}
    if not title.strip():
        errors["title"] = _("Indiquez le titre du livrable.")
    elif len(title.strip()) > MAX_TITLE:
        errors["title"] = _("Le titre compte au plus %(count)s caractères.", count=MAX_TITLE)
    if is_final and final_deliverable(application) is not None:
        errors["is_final"] = _("Le livrable final est déjà déposé : déposez-en la version "
                               "révisée si une révision est demandée.")
    if errors:
        raise InputRefused(_("Le livrable n'a pas été déposé."), errors)
    deliverable = Deliverable(mission=mission, title=title.strip(),
                              description=description.strip(), is_final=is_final,
                              submitted_by_id=actor.id, submitted_at=now)
    db.session.add(deliverable)
    db.session.flush()
    _store(application, actor, upload, deliverable)
    audit.record(application_id=application.id, actor=actor, occurred_at=now,
                 event="deliverable.submitted",
                 payload={"deliverable": deliverable.id, "title": deliverable.title,
                          "final": is_final, "to": deliverable.state.value, "version": 1})
    if is_final:
        engine.fire(application, "submit_final_report", actor, commit=False)
    else:
        tell([u for u in organisation_members(application) + manager_users() if u.id != actor.id],
             application, _NEW_SUBJECT, _NEW_BODY, params={"deliverable": deliverable.title})
    return deliverable


_NEW_SUBJECT = N_("Dossier %(reference)s : nouveau livrable déposé")
_NEW_BODY = N_("Le livrable « %(deliverable)s » a été déposé. La collectivité peut le valider "
               "ou demander une révision.")


def resubmit_deliverable(deliverable: Deliverable, actor: User, upload: FileStorage | None,
                         note: str = "", now: datetime | None = None) -> None:
    """Deposit the revised version asked for (a new file; the previous one is kept, replaced).
    A final deliverable deposits the final report again."""
    now = now or utcnow()
    application = deliverable.mission.application
    if not can(actor, Action.APP_REPORT, application):
        raise Forbidden(_("Vous ne pouvez pas déposer de livrable sur ce dossier."))
    if deliverable.state is not DeliverableState.REVISION_REQUESTED:
        raise NotApplicable(_("Aucune révision n'est demandée pour ce livrable."))
    _store(application, actor, upload, deliverable)
    course.move(deliverable, "resubmit", actor, comment=note, now=now)
    if deliverable.is_final:
        engine.fire(application, "submit_final_report", actor, comment=note, commit=False)


def review_deliverable(deliverable: Deliverable, actor: User, step: str, comment: str = "",
                       now: datetime | None = None) -> None:
    """The collectivité validates (``accept``) or asks for a revision (``ask_revision``); CUF
    validates (``validate``). Asking for the final deliverable's revision once the final report
    is in sends the dossier back in progress."""
    if step not in {"accept", "ask_revision", "validate"}:
        raise ValueError(step)
    application = deliverable.mission.application
    course.move(deliverable, step, actor, comment=comment, now=now)
    if (step == "ask_revision" and deliverable.is_final
            and application.state is ApplicationState.FINAL_REPORT):
        engine.fire(application, "request_revision", actor, comment=comment, commit=False)
