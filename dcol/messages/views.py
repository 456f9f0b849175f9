"""The message thread page of a dossier: read it (which marks it read) and post to it."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import format_number
from flask_babel import gettext as _
from flask_login import current_user, login_required

from dcol.documents.validation import ACCEPT, allowed_labels
from dcol.extensions import db
from dcol.messages import services
from dcol.models import Application
from dcol.permissions import Action, load_or_404
from forms.messages import MessageForm

bp = Blueprint("messages", __name__)


def _render_thread(application: Application, form: MessageForm, *, status: int = 200):
    read_at = services.last_read_at(application, current_user)
    if status == 200:
        # Before loading the thread: the commit expires what the session holds.
        services.mark_read(application, current_user)
        db.session.commit()
    messages = services.thread(application, current_user)
    unread = {m.id for m in messages if services.is_unread(m, current_user, read_at)}
    return render_template(
        "messages/thread.html",
        application=application,
        messages=messages,
        unread=unread,
        side_of=services.side_of,
        form=form,
        accept=ACCEPT,
        allowed=allowed_labels(),
        max_mb=current_app.config["MAX_UPLOAD_MB"],
        max_body=format_number(services.MAX_BODY),
        max_attachments=services.MAX_ATTACHMENTS,
    ), status


@bp.get("/dossiers/<int:application_id>/messages")
@login_required
def thread(application_id: int):
    application = load_or_404(Application, application_id, Action.APP_MESSAGE)
    return _render_thread(application, MessageForm())


@bp.post("/dossiers/<int:application_id>/messages")
@login_required
def post(application_id: int):
    application = load_or_404(Application, application_id, Action.APP_MESSAGE)
    form = MessageForm()
    if not form.validate_on_submit():
        form.body.errors = [
            _("Le formulaire n'a pas pu être vérifié. Rechargez la page et réessayez.")
        ]
        return _render_thread(application, form, status=400)
    try:
        message = services.post_message(
            application, current_user, form.body.data or "", form.uploads()
        )
        db.session.commit()
    except services.MessageRefused as refusal:
        db.session.rollback()
        application = load_or_404(Application, application_id, Action.APP_MESSAGE)
        getattr(form, refusal.field).errors = [refusal.message]
        return _render_thread(application, form, status=422)
    flash(_("Votre message a été envoyé."), "success")
    return redirect(
        url_for("messages.thread", application_id=application.id, _anchor=f"message-{message.id}")
    )
