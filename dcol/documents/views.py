"""Document pages: a dossier's checklist and attachments with their history, uploads, downloads
and the receipts of its deposits."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user, login_required

from dcol.applications.followup import changes_asked
from dcol.applications.sections import completeness
from dcol.documents.services import (
    UploadForbidden,
    dossier_documents,
    receipt_of,
    requirements_for,
    store_upload,
)
from dcol.documents.storage import send_document
from dcol.documents.validation import ACCEPT, UploadRefused, allowed_labels
from dcol.extensions import db
from dcol.models import Application, Document, DocumentKind, Submission
from dcol.permissions import Action, can, load_or_404
from forms.documents import UploadForm

bp = Blueprint("documents", __name__)

FREE_ATTACHMENT = "libre"  # the error target of the free-attachment form


@bp.app_template_filter("file_size")
def file_size(size: int | None) -> str:
    """``12345`` → ``12,1 Ko`` (in the user's language)."""
    if size is None:
        return "—"
    if size < 1024:
        return _("%(n)s octets", n=size)
    if size < 1024 * 1024:
        return _("%(n)s Ko", n=format_decimal(round(size / 1024, 1)))
    return _("%(n)s Mo", n=format_decimal(round(size / (1024 * 1024), 1)))


def _render_index(
    application: Application,
    form: UploadForm | None = None,
    *,
    error: str | None = None,
    error_target: str | None = None,
    status: int = 200,
):
    return render_template(
        "documents/index.html",
        application=application,
        documents=dossier_documents(application),
        form=form or UploadForm(),
        can_upload=can(current_user, Action.APP_EDIT, application),
        completeness=completeness(application),
        changes_asked=changes_asked(application),
        accept=ACCEPT,
        allowed=allowed_labels(),
        max_mb=current_app.config["MAX_UPLOAD_MB"],
        error=error,
        error_target=error_target,
        free_attachment=FREE_ATTACHMENT,
    ), status


@bp.get("/dossiers/<int:application_id>/pieces")
@login_required
def index(application_id: int):
    application = load_or_404(Application, application_id, Action.APP_VIEW)
    return _render_index(application)


@bp.post("/dossiers/<int:application_id>/pieces")
@login_required
def upload(application_id: int):
    application = load_or_404(Application, application_id, Action.APP_VIEW)
    form = UploadForm()
    target = form.requirement_id.data or FREE_ATTACHMENT
    if not form.validate_on_submit():
        return _render_index(
            application,
            form,
            status=400,
            error=_("Le formulaire n'a pas pu être vérifié. Rechargez la page et réessayez."),
            error_target=target,
        )
    requirement = None
    if form.requirement_id.data:
        requirement = next(
            (
                item
                for item in requirements_for(application)
                if str(item.id) == form.requirement_id.data
            ),
            None,
        )
        if requirement is None:
            return _render_index(
                application,
                form,
                status=422,
                error_target=target,
                error=_("Cette pièce n'est pas demandée pour ce dossier."),
            )
    kind = DocumentKind.APPLICATION if requirement is not None else DocumentKind.ATTACHMENT
    try:
        document = store_upload(
            application, current_user, form.file.data, kind=kind, requirement=requirement
        )
        db.session.commit()
    except UploadRefused as refusal:
        db.session.rollback()
        status = 403 if isinstance(refusal, UploadForbidden) else 422
        return _render_index(
            application, form, error=refusal.message, error_target=target, status=status
        )
    flash(_("Pièce « %(name)s » enregistrée.", name=document.original_name), "success")
    return redirect(url_for("documents.index", application_id=application.id))


@bp.get("/documents/<int:document_id>")
@login_required
def download(document_id: int):
    document = load_or_404(Document, document_id, Action.DOCUMENT_DOWNLOAD)
    return send_document(document)


@bp.get("/dossiers/<int:application_id>/accuse-de-reception/<int:number>")
@login_required
def receipt(application_id: int, number: int):
    """The receipt of the dossier's deposit number ``number``."""
    application = load_or_404(Application, application_id, Action.APP_VIEW)
    submission = db.session.scalar(
        sa.select(Submission).where(
            Submission.application_id == application.id, Submission.number == number
        )
    )
    document = receipt_of(submission) if submission is not None else None
    if document is None:
        abort(404)
    return send_document(document)
