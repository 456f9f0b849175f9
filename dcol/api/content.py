"""API endpoints for what a dossier holds besides its answers: the budget, documents, the message
thread, co-editors and deposit receipts. Thin, over the services the web pages use."""

from __future__ import annotations

import sqlalchemy as sa
from flask import g
from flask.views import MethodView
from flask_babel import gettext as _

from dcol.api import problem
from dcol.api.common import ERRORS, alt, blp, load_application, not_found, problem_from
from dcol.api.schemas import (
    ApplicationSchema,
    BudgetSchema,
    DocumentSchema,
    DocumentUploadSchema,
    EditorRequestSchema,
    EditorsSchema,
    MessagePostSchema,
    MessageSchema,
)
from dcol.api.views import dump_application
from dcol.applications.editors import add_editor, editors_of, remove_editor
from dcol.applications.services import replace_budget
from dcol.documents.services import (
    UploadForbidden,
    receipt_of,
    requirements_for,
    store_upload,
)
from dcol.documents.storage import send_document
from dcol.documents.validation import UploadRefused
from dcol.extensions import db
from dcol.messages import services as messages
from dcol.models import Document, DocumentKind, Submission, User
from dcol.permissions import Action, can
from workflows import engine


def document_row(document: Document) -> dict:
    return {
        "id": document.id, "kind": document.kind.value, "original_name": document.original_name,
        "content_type": document.content_type, "size": document.size,
        "sha256": document.sha256, "uploaded_at": document.uploaded_at,
        "is_current": document.is_current,
        "requirement": document.requirement.code if document.requirement else None,
    }


@blp.route("/applications/<int:application_id>/budget")
class ApplicationBudget(MethodView):
    @blp.arguments(BudgetSchema)
    @blp.response(200, ApplicationSchema)
    @alt(401, 403, 404, 409, 412, 422)
    def put(self, args, application_id: int):
        """Remplacer le budget prévisionnel (appel à projets) par ces lignes."""
        application = load_application(application_id)
        if application is None:
            return not_found()
        lines = [
            {"kind": line["kind"].value, "label": line["label"], "amount": line["amount"],
             "is_eligible": line["is_eligible"]}
            for line in args["lines"]
        ]
        try:
            replace_budget(application, g.api_user, lines, expected_version=args["version"])
            db.session.commit()
        except engine.WorkflowError as error:
            db.session.rollback()
            return problem_from(error)
        return dump_application(application)


@blp.route("/applications/<int:application_id>/documents")
class ApplicationDocuments(MethodView):
    @blp.response(200, DocumentSchema(many=True))
    @alt(401, 404)
    def get(self, application_id: int):
        """Les pièces du dossier (versions remplacées comprises)."""
        application = load_application(application_id)
        if application is None:
            return not_found()
        return [
            document_row(d) for d in application.documents
            if can(g.api_user, Action.DOCUMENT_DOWNLOAD, d)
        ]

    @blp.arguments(DocumentUploadSchema, location="files")
    @blp.response(201, DocumentSchema)
    @alt(401, 403, 404, 422)
    def post(self, args, application_id: int):
        """Déposer une pièce (multipart/form-data : ``file``, et ``requirement`` pour une pièce
        de la liste de l'appel). Le contenu est vérifié (PDF, DOCX, XLSX, ODT, ODS, JPEG, PNG)
        ainsi que la taille ; une pièce déjà fournie est remplacée et gardée dans l'historique."""
        application = load_application(application_id)
        if application is None:
            return not_found()
        code = args["requirement"].strip()
        requirement = None
        if code:
            requirement = next(
                (item for item in requirements_for(application) if item.code == code), None)
            if requirement is None:
                return problem(422, _(ERRORS[422]),
                               _("Cette pièce n'est pas demandée pour ce dossier."),
                               errors={"requirement": _("Code de pièce inconnu.")})
        kind = DocumentKind.APPLICATION if requirement is not None else DocumentKind.ATTACHMENT
        try:
            document = store_upload(application, g.api_user, args["file"], kind=kind,
                                    requirement=requirement)
            db.session.commit()
        except UploadRefused as refusal:
            db.session.rollback()
            status = 403 if isinstance(refusal, UploadForbidden) else 422
            return problem(status, _(ERRORS[status]), refusal.message)
        return document_row(document), 201


@blp.route("/applications/<int:application_id>/documents/<int:document_id>")
class ApplicationDocument(MethodView):
    @blp.response(200, description="Le fichier.", content_type="application/octet-stream")
    @alt(401, 404)
    def get(self, application_id: int, document_id: int):
        """Télécharger une pièce."""
        document = db.session.get(Document, document_id)
        if (
            document is None
            or document.application_id != application_id
            or not can(g.api_user, Action.DOCUMENT_DOWNLOAD, document)
        ):
            return not_found()
        return send_document(document)


@blp.route("/applications/<int:application_id>/receipts/<int:number>")
class ApplicationReceipt(MethodView):
    @blp.response(200, description="L'accusé de réception (PDF).", content_type="application/pdf")
    @alt(401, 404)
    def get(self, application_id: int, number: int):
        """L'accusé de réception du dépôt n° ``number`` du dossier."""
        application = load_application(application_id)
        if application is None:
            return not_found()
        submission = db.session.scalar(sa.select(Submission).where(
            Submission.application_id == application.id, Submission.number == number))
        document = receipt_of(submission) if submission is not None else None
        return send_document(document) if document is not None else not_found()


@blp.route("/applications/<int:application_id>/messages")
class ApplicationMessages(MethodView):
    @blp.response(200, MessageSchema(many=True))
    @alt(401, 404)
    def get(self, application_id: int):
        """Le fil de messages du dossier, du plus ancien au plus récent ; le lire le marque lu
        (``unread`` dit ce qui ne l'était pas)."""
        application = load_application(application_id)
        if application is None or not can(g.api_user, Action.APP_MESSAGE, application):
            return not_found()
        read_at = messages.last_read_at(application, g.api_user)
        thread = messages.thread(application, g.api_user)
        messages.mark_read(application, g.api_user)
        db.session.commit()
        return [
            {"id": m.id, "author": m.author.full_name,
             "side": messages.side_of(m.author, application), "body": m.body,
             "created_at": m.created_at, "unread": messages.is_unread(m, g.api_user, read_at),
             "attachments": [document_row(d) for d in m.attachments]}
            for m in thread
        ]

    @blp.arguments(MessagePostSchema, location="files")
    @blp.response(201, MessageSchema)
    @alt(401, 404, 422)
    def post(self, args, application_id: int):
        """Écrire dans le fil (multipart/form-data : ``body`` et, au besoin, des fichiers
        ``attachments``) ; l'autre partie est prévenue par e-mail."""
        application = load_application(application_id)
        if application is None or not can(g.api_user, Action.APP_MESSAGE, application):
            return not_found()
        uploads = [f for f in args["attachments"] if f and f.filename]
        try:
            message = messages.post_message(application, g.api_user, args["body"], uploads)
            db.session.commit()
        except engine.WorkflowError as error:
            db.session.rollback()
            return problem_from(error)
        return {"id": message.id, "author": g.api_user.full_name,
                "side": messages.side_of(g.api_user, application), "body": message.body,
                "created_at": message.created_at, "unread": False,
                "attachments": [document_row(d) for d in message.attachments]}, 201


def _editors(application) -> dict:
    editors = editors_of(application)
    person = lambda user: {"id": user.id, "full_name": user.full_name}  # noqa: E731
    return {
        "author": person(editors.author) if editors.author else None,
        "co_editors": [person(u) for u in editors.co_editors],
        "signatories": [person(u) for u in editors.signatories],
        "candidates": [person(u) for u in editors.candidates]
        if can(g.api_user, Action.APP_MANAGE_EDITORS, application) else [],
    }


@blp.route("/applications/<int:application_id>/editors")
class ApplicationEditors(MethodView):
    @blp.response(200, EditorsSchema)
    @alt(401, 404)
    def get(self, application_id: int):
        """Qui rédige le dossier (membres de l'organisation seulement)."""
        application = load_application(application_id)
        if application is None or g.api_user.organisation_id != application.organisation_id:
            return not_found()
        return _editors(application)

    @blp.arguments(EditorRequestSchema)
    @blp.response(201, EditorsSchema)
    @alt(401, 403, 404, 422)
    def post(self, args, application_id: int):
        """Désigner un membre validé de l'organisation co-rédacteur (auteur ou signataire)."""
        application = load_application(application_id)
        if application is None or g.api_user.organisation_id != application.organisation_id:
            return not_found()
        try:
            add_editor(application, g.api_user, db.session.get(User, args["user_id"]))
            db.session.commit()
        except engine.WorkflowError as error:
            db.session.rollback()
            return problem_from(error)
        return _editors(application), 201


@blp.route("/applications/<int:application_id>/editors/<int:user_id>")
class ApplicationEditor(MethodView):
    @blp.response(204)
    @alt(401, 403, 404, 422)
    def delete(self, application_id: int, user_id: int):
        """Retirer un co-rédacteur."""
        application = load_application(application_id)
        if application is None or g.api_user.organisation_id != application.organisation_id:
            return not_found()
        try:
            remove_editor(application, g.api_user, user_id)
            db.session.commit()
        except engine.WorkflowError as error:
            db.session.rollback()
            return problem_from(error)
        return "", 204
