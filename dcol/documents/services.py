"""Operations on a dossier's documents: store an upload, list the checklist with its history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import FileStorage

from dcol.documents import storage
from dcol.documents.validation import UploadRefused, validate_upload
from dcol.extensions import db
from dcol.models import (
    Application,
    Document,
    DocumentKind,
    DocumentRequirement,
    Message,
    Submission,
    User,
    utcnow,
)
from dcol.permissions import Action, can

# The kinds a user uploads through ``store_upload``, with the permission each needs.
UPLOAD_PERMISSIONS = {
    DocumentKind.APPLICATION: Action.APP_EDIT,
    DocumentKind.ATTACHMENT: Action.APP_EDIT,
    DocumentKind.MESSAGE: Action.APP_MESSAGE,
    DocumentKind.SIGNED_SCAN: Action.APP_SIGN,
    DocumentKind.REPORT: Action.APP_REPORT,
    DocumentKind.EXPENSE_RECEIPT: Action.APP_REPORT,
    DocumentKind.DELIVERABLE: Action.APP_REPORT,
}
# What the applicant deposits (the checklist and free attachments).
DOSSIER_KINDS = (DocumentKind.APPLICATION, DocumentKind.ATTACHMENT)


class UploadForbidden(UploadRefused):
    """The user may not add this document to the dossier (now)."""


def requirements_for(application: Application) -> list[DocumentRequirement]:
    """The call's checklist for this dossier: items of the whole call and of its track."""
    return list(
        db.session.scalars(
            sa.select(DocumentRequirement)
            .where(
                DocumentRequirement.call_id == application.call_id,
                sa.or_(
                    DocumentRequirement.track_id.is_(None),
                    DocumentRequirement.track_id == application.track_id,
                ),
            )
            .order_by(DocumentRequirement.position, DocumentRequirement.id)
        )
    )


def store_upload(
    application: Application,
    user: User,
    upload: FileStorage,
    *,
    kind: DocumentKind,
    requirement: DocumentRequirement | None = None,
    message: Message | None = None,
) -> Document:
    """Check ``upload`` (permission, name, size, real type) and store it as a document of the
    dossier, under a generated name with its SHA-256.

    A checklist item's current document is replaced, not deleted: it keeps its row and file, with
    ``replaced_by_id`` and ``replaced_at`` set. Raises ``UploadRefused`` (French message; nothing
    written) or its subclass ``UploadForbidden``. Flushes only: the caller commits; the stored
    file is deleted again if the transaction rolls back.
    """
    if kind not in UPLOAD_PERMISSIONS:
        raise ValueError(f"documents of kind {kind} are not uploaded by users")
    if requirement is not None and kind is not DocumentKind.APPLICATION:
        raise ValueError("only checklist documents (kind APPLICATION) have a requirement")
    if (message is not None) != (kind is DocumentKind.MESSAGE):
        raise ValueError("message attachments (and only they) need their message")
    if not can(user, UPLOAD_PERMISSIONS[kind], application):
        if kind is DocumentKind.MESSAGE:
            raise UploadForbidden(
                _("Vous ne pouvez pas joindre de pièce aux messages de ce dossier.")
            )
        raise UploadForbidden(
            _("Ce dossier n'est pas modifiable : il a été déposé ou vous n'en êtes pas rédacteur.")
        )
    if requirement is not None and requirement.id not in {
        item.id for item in requirements_for(application)
    }:
        raise UploadRefused(_("Cette pièce n'est pas demandée pour ce dossier."))
    if message is not None and message.application_id not in (None, application.id):
        raise ValueError("the message belongs to another dossier")

    checked = validate_upload(upload)
    if requirement is not None:
        # Serialise concurrent uploads to one dossier (a no-op on SQLite, which locks anyway).
        db.session.execute(
            sa.select(Application.id).where(Application.id == application.id).with_for_update()
        )
    stored_name, sha256 = storage.write_file(checked.content, session=db.session)
    try:
        now = utcnow()
        if message is not None and message.id is None:
            db.session.flush()
        document = Document(
            application=application,
            kind=kind,
            requirement_id=requirement.id if requirement is not None else None,
            message_id=message.id if message is not None else None,
            original_name=checked.name,
            stored_name=stored_name,
            content_type=checked.content_type,
            size=len(checked.content),
            sha256=sha256,
            uploaded_by_id=user.id,
            uploaded_at=now,
        )
        db.session.add(document)
        db.session.flush()
        if requirement is not None:
            _replace_current(application, requirement, document, now)
    except Exception:
        storage.delete_file(stored_name)
        raise
    return document


def store_generated(application: Application, kind: DocumentKind, name: str, content: bytes,
                    by_id: int | None, at: datetime) -> Document:
    """Store a PDF dcol wrote itself (receipt, letter, agreement) as a document of the dossier,
    under a generated name with its SHA-256. Flushes only; the file goes if the transaction rolls
    back."""
    stored_name, sha256 = storage.write_file(content, session=db.session)
    try:
        document = Document(
            application=application, kind=kind, original_name=name, stored_name=stored_name,
            content_type="application/pdf", size=len(content), sha256=sha256,
            uploaded_by_id=by_id, uploaded_at=at,
        )
        db.session.add(document)
        db.session.flush()
    except Exception:
        storage.delete_file(stored_name)
        raise
    return document


def _replace_current(
    application: Application, requirement: DocumentRequirement, document: Document, now
) -> None:
    """Point the requirement's previous current document(s) at ``document``."""
    previous = db.session.scalars(
        sa.select(Document).where(
            Document.application_id == application.id,
            Document.requirement_id == requirement.id,
            Document.kind == DocumentKind.APPLICATION,
            Document.replaced_by_id.is_(None),
            Document.id != document.id,
        )
    ).all()
    for old in previous:
        old.replaced_by_id, old.replaced_at = document.id, now
    db.session.flush()


@dataclass
class ChecklistItem:
    requirement: DocumentRequirement
    current: Document | None = None
    history: list[Document] = field(default_factory=list)  # replaced versions, newest first


@dataclass
class DossierDocuments:
    checklist: list[ChecklistItem]
    attachments: list[Document]
    receipts: list[tuple[Submission, Document | None]]


def dossier_documents(application: Application) -> DossierDocuments:
    """The checklist with each item's current document and replaced versions, the free
    attachments and the receipts of each deposit (a fixed number of queries)."""
    documents = db.session.scalars(
        sa.select(Document)
        .options(selectinload(Document.uploaded_by))
        .where(
            Document.application_id == application.id,
            Document.kind.in_((*DOSSIER_KINDS, DocumentKind.RECEIPT)),
        )
        .order_by(Document.uploaded_at.desc(), Document.id.desc())
    ).all()
    items = {
        requirement.id: ChecklistItem(requirement) for requirement in requirements_for(application)
    }
    attachments = []
    receipts_by_hash = {}
    for document in documents:
        if document.kind is DocumentKind.RECEIPT:
            receipts_by_hash[document.sha256] = document
        elif document.kind is DocumentKind.ATTACHMENT or document.requirement_id not in items:
            if document.is_current:
                attachments.append(document)
        elif document.is_current:
            items[document.requirement_id].current = document
        else:
            items[document.requirement_id].history.append(document)
    submissions = db.session.scalars(
        sa.select(Submission)
        .where(Submission.application_id == application.id)
        .order_by(Submission.number)
    ).all()
    return DossierDocuments(
        checklist=list(items.values()),
        attachments=attachments,
        receipts=[
            (submission, receipts_by_hash.get(submission.receipt_sha256))
            for submission in submissions
        ],
    )


def receipt_of(submission: Submission) -> Document | None:
    """The receipt document issued for ``submission``."""
    if submission.receipt_sha256 is None:
        return None
    return db.session.scalars(
        sa.select(Document)
        .where(
            Document.application_id == submission.application_id,
            Document.kind == DocumentKind.RECEIPT,
            Document.sha256 == submission.receipt_sha256,
        )
        .order_by(Document.id.desc())
    ).first()
