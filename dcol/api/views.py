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
from dcol.api import problem
from dcol.api.common import ERRORS, alt, blp, load_application, not_found, problem_from
from dcol.api.schemas import (
    ApplicationCreateSchema,
    ApplicationPageSchema,
    ApplicationQuerySchema,
    ApplicationSchema,
    ApplicationUpdateSchema,
    AuditEntrySchema,
    CallSchema,
    EligibilityRequestSchema,
    EligibilitySchema,
    EventRequestSchema,
)
from dcol.applications.services import update_application, visible_applications_query
from dcol.calls.services import open_dossier, precheck
from dcol.extensions import db
from dcol.models import Application, Call, Track
from dcol.permissions import Action, can, visible_calls
from workflows import engine

DUMPED_COLUMNS = (
    "id", "reference", "call_id", "track_id", "organisation", "state", "version", "title",
    "summary", "data", "countries", "departments", "themes", "estimated_cost",
    "requested_amount", "submitted_at", "response_deadline", "created_at", "updated_at",
)


def dump_application(application: Application) -> dict:
    """The dossier as ``ApplicationSchema`` reads it (the response decorator serialises it)."""
    return {
        **{column: getattr(application, column) for column in DUMPED_COLUMNS},
        "state_label": application.state.label,
        "budget_lines": application.budget_lines,
        "allowed_events": [
            vars(view) | {"unmet": list(view.unmet)}
            for view in engine.describe_available(application, g.api_user)
        ],
    }


@blp.route("/calls")
class Calls(MethodView):
    @blp.response(200, CallSchema(many=True))
    @alt(401)
    def get(self):
        """Les appels publiés (tous les appels pour le personnel de CUF)."""
        return db.session.scalars(
            sa.select(Call)
            .options(selectinload(Call.tracks))
            .where(visible_calls(g.api_user))
            .order_by(Call.opens_at.desc())
        ).all()


@blp.route("/calls/<int:call_id>/eligibility")
class CallEligibility(MethodView):
    @blp.arguments(EligibilityRequestSchema)
    @blp.response(200, EligibilitySchema)
    @alt(401, 404, 422)
    def post(self, args, call_id: int):
        """La vérification d'éligibilité de son organisation, sans rien créer."""
        call = db.session.get(Call, call_id)
        if call is None or not can(g.api_user, Action.CALL_VIEW, call):
            return not_found()
        if not g.api_user.is_active_member:
            return {"eligible": False, "problems": [
                _("Seuls les membres validés d'une collectivité peuvent candidater.")]}
        track = db.session.get(Track, args["track_id"]) if args["track_id"] else None
        if track is not None and track.call_id != call.id:
            track = None
        problems = precheck(call, g.api_user.organisation, track, args["countries"],
                            args["departments"])
        return {"eligible": not problems, "problems": problems}


@blp.route("/calls/<int:call_id>")
class CallItem(MethodView):
    @blp.response(200, CallSchema)
    @alt(401, 404)
    def get(self, call_id: int):
        """Un appel, avec ses volets."""
        call = db.session.get(Call, call_id)
        if call is None or not can(g.api_user, Action.CALL_VIEW, call):
            return not_found()
        return call


@blp.route("/applications")
class Applications(MethodView):
    @blp.arguments(ApplicationQuerySchema, location="query")
    @blp.response(200, ApplicationPageSchema)
    @alt(401, 422)
    def get(self, args):
        """Les dossiers visibles, filtrés, triés (par défaut les derniers mis à jour d'abord) et
        paginés."""
        query = visible_applications_query(
            g.api_user, call_id=args.get("call_id"), state=args.get("state"),
            organisation_id=args.get("organisation_id"), sort=args["sort"],
        ).options(joinedload(Application.organisation))
        page = db.paginate(query, page=args["page"], per_page=args["per_page"], error_out=False)
        items = [
            {**{c: getattr(a, c) for c in DUMPED_COLUMNS}, "state_label": a.state.label}
            for a in page.items
        ]
        return {"items": items, "page": page.page, "per_page": page.per_page, "total": page.total}

    @blp.arguments(ApplicationCreateSchema)
    @blp.response(201, ApplicationSchema)
    @alt(401, 403, 404, 409, 422)
    def post(self, args):
        """Créer un dossier (brouillon) pour son organisation, après la vérification
        d'éligibilité (volet, lieux de l'action) : refusé avec ses motifs (409) sinon."""
        call = db.session.get(Call, args["call_id"])
        if call is None or not can(g.api_user, Action.CALL_VIEW, call):
            return not_found()
        track = db.session.get(Track, args["track_id"]) if args["track_id"] else None
        try:
            application = open_dossier(call, g.api_user, track, args["countries"],
                                       args["departments"], title=args["title"])
            db.session.commit()
        except engine.WorkflowError as error:
            db.session.rollback()
            return problem_from(error)
        return dump_application(application), 201


@blp.route("/applications/<int:application_id>")
class ApplicationItem(MethodView):
    @blp.response(200, ApplicationSchema)
    @alt(401, 404)
    def get(self, application_id: int):
        """Un dossier, avec les actions que l'appelant peut effectuer (``allowed_events``)."""
        application = load_application(application_id)
        return dump_application(application) if application else not_found()

    @blp.arguments(ApplicationUpdateSchema)
    @blp.response(200, ApplicationSchema)
    @alt(401, 403, 404, 409, 412, 422)
    def patch(self, args, application_id: int):
        """Modifier un dossier tant qu'il est modifiable (brouillon ou à compléter)."""
        application = load_application(application_id)
        if application is None:
            return not_found()
        version = args.pop("version")
        try:
            update_application(application, g.api_user, args, expected_version=version)
            db.session.commit()
        except engine.WorkflowError as error:
            db.session.rollback()
            return problem_from(error)
        except sa.orm.exc.StaleDataError:  # a concurrent change, found at the commit's flush
            db.session.rollback()
            return problem(412, _(ERRORS[412]), _("Le dossier a été modifié entre-temps."))
        return dump_application(application)


@blp.route("/applications/<int:application_id>/events")
class ApplicationEvents(MethodView):
    @blp.arguments(EventRequestSchema)
    @blp.response(200, ApplicationSchema)
    @alt(401, 403, 404, 409, 412, 422)
    def post(self, args, application_id: int):
        """Déclencher un événement du cycle de vie (``submit``, ``select``...)."""
        application = load_application(application_id)
        if application is None:
            return not_found()
        try:
            engine.fire(application, args["event"], g.api_user, comment=args["comment"],
                        payload=args["payload"], expected_version=args.get("version"))
        except engine.WorkflowError as error:
            return problem_from(error)
        return dump_application(application)


@blp.route("/applications/<int:application_id>/history")
class ApplicationHistory(MethodView):
    @blp.response(200, AuditEntrySchema(many=True))
    @alt(401, 404)
    def get(self, application_id: int):
        """L'historique du dossier, tiré du journal d'audit."""
        application = load_application(application_id)
        if application is None:
            return not_found()
        return [
            {
                "sequence": item.sequence, "event": item.event, "from_state": item.from_state,
                "to_state": item.to_state, "occurred_at": item.occurred_at,
                "comment": item.comment, "actor": item.actor_name,
            }
            for item in audit.timeline(application, g.api_user)
        ]


# --- browsable documentation (Swagger UI served from the installed package, no CDN) ---------

docs_bp = Blueprint("api_docs", __name__, url_prefix="/api/docs")
SWAGGER_DIR = Path(swagger_ui_bundle.swagger_ui_path)


@docs_bp.get("/")
def docs():
    return render_template("api/docs.html")


@docs_bp.get("/static/<path:filename>")
def docs_static(filename: str):
    return send_from_directory(SWAGGER_DIR, filename)
