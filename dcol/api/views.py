"""API endpoints: thin, like the web views, over the same services."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
import swagger_ui_bundle
from flask import Blueprint, g, render_template, send_from_directory
from flask.views import MethodView
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from dcol import audit
from dcol.api import make_blueprint, problem
from dcol.api.schemas import (
    ApplicationCreateSchema,
    ApplicationPageSchema,
    ApplicationQuerySchema,
    ApplicationSchema,
    ApplicationUpdateSchema,
    AuditEntrySchema,
    CallSchema,
    DocumentSchema,
    EventRequestSchema,
    ProblemSchema,
)
from dcol.applications.services import (
    create_application,
    update_application,
    visible_applications_query,
)
from dcol.documents.storage import send_document
from dcol.extensions import db
from dcol.models import Application, Call, Document, Track
from dcol.permissions import Action, can, visible_calls
from workflows import engine

blp = make_blueprint()
ERRORS = {
    401: "Authentification requise",
    403: "Action non autorisée",
    404: "Introuvable",
    409: "Action impossible dans l'état actuel",
    412: "Version périmée",
    422: "Données invalides",
}


def _problem_from(error: engine.WorkflowError):
    return problem(
        error.status, _(ERRORS.get(error.status, "Erreur")), error.message,
        problems=error.problems, errors=getattr(error, "errors", None),
    )


def _not_found():
    return problem(404, _(ERRORS[404]), _("Cette ressource n'existe pas ou vous n'y avez pas accès."))


def _load(application_id: int) -> Application | None:
    application = db.session.get(Application, application_id)
    if application is None or not can(g.api_user, Action.APP_VIEW, application):
        return None
    return application


DUMPED_COLUMNS = (
    "id", "reference", "call_id", "track_id", "organisation", "state", "version", "title",
    "summary", "data", "countries", "departments", "themes", "estimated_cost",
    "requested_amount", "submitted_at", "response_deadline", "created_at", "updated_at",
)


def _dump(application: Application) -> dict:
    """The dossier as ``ApplicationSchema`` reads it (the response decorator serialises it)."""
    return {
        **{column: getattr(application, column) for column in DUMPED_COLUMNS},
        "state_label": application.state.label,
        "allowed_events": [
            vars(view) | {"unmet": list(view.unmet)}
            for view in engine.describe_available(application, g.api_user)
        ],
    }


RESPONSES = {code: ProblemSchema for code in (401, 403, 404, 409, 412, 422)}


def _alt(*codes):
    def decorate(func):
        for code in codes:
            func = blp.alt_response(code, schema=ProblemSchema, description=_(ERRORS[code]))(func)
        return func

    return decorate


@blp.route("/calls")
class Calls(MethodView):
    @blp.response(200, CallSchema(many=True))
    @_alt(401)
    def get(self):
        """Les appels publiés (tous les appels pour le personnel de CUF)."""
        return db.session.scalars(
            sa.select(Call)
            .options(selectinload(Call.tracks))
            .where(visible_calls(g.api_user))
            .order_by(Call.opens_at.desc())
        ).all()


@blp.route("/calls/<int:call_id>")
class CallItem(MethodView):
    @blp.response(200, CallSchema)
    @_alt(401, 404)
    def get(self, call_id: int):
        """Un appel, avec ses volets."""
        call = db.session.get(Call, call_id)
        if call is None or not can(g.api_user, Action.CALL_VIEW, call):
            return _not_found()
        return call


@blp.route("/applications")
class Applications(MethodView):
    @blp.arguments(ApplicationQuerySchema, location="query")
    @blp.response(200, ApplicationPageSchema)
    @_alt(401, 422)
    def get(self, args):
        """Les dossiers visibles, filtrés et paginés (les plus récents d'abord)."""
        query = visible_applications_query(
            g.api_user, call_id=args.get("call_id"), state=args.get("state"),
            organisation_id=args.get("organisation_id"),
        ).options(joinedload(Application.organisation))
        page = db.paginate(query, page=args["page"], per_page=args["per_page"], error_out=False)
        items = [
            {**{c: getattr(a, c) for c in DUMPED_COLUMNS}, "state_label": a.state.label}
            for a in page.items
        ]
        return {"items": items, "page": page.page, "per_page": page.per_page, "total": page.total}

    @blp.arguments(ApplicationCreateSchema)
    @blp.response(201, ApplicationSchema)
    @_alt(401, 403, 404, 409, 422)
    def post(self, args):
        """Créer un dossier (brouillon) pour son organisation."""
        call = db.session.get(Call, args["call_id"])
        if call is None:
            return _not_found()
        track = None
        if args.get("track_id") is not None:
            track = db.session.get(Track, args["track_id"])
            if track is None or track.call_id != call.id:
                return problem(422, _(ERRORS[422]), _("Ce volet n'appartient pas à cet appel."),
                               errors={"track_id": _("Ce volet n'appartient pas à cet appel.")})
        try:
            application = create_application(call, g.api_user, title=args["title"], track=track)
            db.session.commit()
        except engine.WorkflowError as error:
            db.session.rollback()
            return _problem_from(error)
        return _dump(application), 201


@blp.route("/applications/<int:application_id>")
class ApplicationItem(MethodView):
    @blp.response(200, ApplicationSchema)
    @_alt(401, 404)
    def get(self, application_id: int):
        """Un dossier, avec les actions que l'appelant peut effectuer (``allowed_events``)."""
        application = _load(application_id)
        return _dump(application) if application else _not_found()

    @blp.arguments(ApplicationUpdateSchema)
    @blp.response(200, ApplicationSchema)
    @_alt(401, 403, 404, 409, 412, 422)
    def patch(self, args, application_id: int):
        """Modifier un dossier tant qu'il est modifiable (brouillon ou à compléter)."""
        application = _load(application_id)
        if application is None:
            return _not_found()
        version = args.pop("version")
        try:
            update_application(application, g.api_user, args, expected_version=version)
            db.session.commit()
        except engine.WorkflowError as error:
            db.session.rollback()
            return _problem_from(error)
        except sa.orm.exc.StaleDataError:
            db.session.rollback()
            return problem(412, _(ERRORS[412]), _("Le dossier a été modifié entre-temps."))
        return _dump(application)


@blp.route("/applications/<int:application_id>/events")
class ApplicationEvents(MethodView):
    @blp.arguments(EventRequestSchema)
    @blp.response(200, ApplicationSchema)
    @_alt(401, 403, 404, 409, 412, 422)
    def post(self, args, application_id: int):
        """Déclencher un événement du cycle de vie (``submit``, ``select``...)."""
        application = _load(application_id)
        if application is None:
            return _not_found()
        try:
            engine.fire(application, args["event"], g.api_user, comment=args["comment"],
                        payload=args["payload"], expected_version=args.get("version"))
        except engine.WorkflowError as error:
            return _problem_from(error)
        return _dump(application)


@blp.route("/applications/<int:application_id>/history")
class ApplicationHistory(MethodView):
    @blp.response(200, AuditEntrySchema(many=True))
    @_alt(401, 404)
    def get(self, application_id: int):
        """L'historique du dossier, tiré du journal d'audit."""
        application = _load(application_id)
        if application is None:
            return _not_found()
        return [
            {
                "sequence": item.sequence, "event": item.event, "from_state": item.from_state,
                "to_state": item.to_state, "occurred_at": item.occurred_at,
                "comment": item.comment, "actor": item.actor_name,
            }
            for item in audit.timeline(application, g.api_user)
        ]


@blp.route("/applications/<int:application_id>/documents")
class ApplicationDocuments(MethodView):
    @blp.response(200, DocumentSchema(many=True))
    @_alt(401, 404)
    def get(self, application_id: int):
        """Les pièces du dossier (versions remplacées comprises)."""
        application = _load(application_id)
        if application is None:
            return _not_found()
        return [
            {"id": d.id, "kind": d.kind.value, "original_name": d.original_name,
             "content_type": d.content_type, "size": d.size, "sha256": d.sha256,
             "uploaded_at": d.uploaded_at, "is_current": d.is_current,
             "requirement": d.requirement.code if d.requirement else None}
            for d in application.documents
        ]


@blp.route("/applications/<int:application_id>/documents/<int:document_id>")
class ApplicationDocument(MethodView):
    @blp.response(200, description="Le fichier.", content_type="application/octet-stream")
    @_alt(401, 404)
    def get(self, application_id: int, document_id: int):
        """Télécharger une pièce."""
        document = db.session.get(Document, document_id)
        if (
            document is None
            or document.application_id != application_id
            or not can(g.api_user, Action.DOCUMENT_DOWNLOAD, document)
        ):
            return _not_found()
        return send_document(document)


# --- browsable documentation (Swagger UI served from the installed package, no CDN) ---------

docs_bp = Blueprint("api_docs", __name__, url_prefix="/api/docs")
SWAGGER_DIR = Path(swagger_ui_bundle.swagger_ui_path)


@docs_bp.get("/")
def docs():
    return render_template("api/docs.html")


@docs_bp.get("/static/<path:filename>")
def docs_static(filename: str):
    return send_from_directory(SWAGGER_DIR, filename)
