"""What every API module shares: the blueprint, problem details from refusals, loading a
dossier for the caller."""

from __future__ import annotations

from flask import g
from flask_babel import gettext as _

from dcol.api import make_blueprint, problem
from dcol.api.schemas import ProblemSchema
from dcol.extensions import db
from dcol.models import Application
from dcol.models.base import N_
from dcol.permissions import Action, can
from workflows import engine

blp = make_blueprint()
ERRORS = {
    401: N_("Authentification requise"),
    403: N_("Action non autorisée"),
    404: N_("Introuvable"),
    409: N_("Action impossible dans l'état actuel"),
    412: N_("Version périmée"),
    422: N_("Données invalides"),
}
DEFAULT_ERROR = N_("Erreur")


def problem_from(error: engine.WorkflowError):
    return problem(
        error.status, _(ERRORS.get(error.status, DEFAULT_ERROR)), error.message,
        problems=error.problems, errors=getattr(error, "errors", None),
    )


def not_found():
    return problem(404, _(ERRORS[404]), _("Cette ressource n'existe pas ou vous n'y avez pas accès."))


def load_application(application_id: int) -> Application | None:
    application = db.session.get(Application, application_id)
    if application is None or not can(g.api_user, Action.APP_VIEW, application):
        return None
    return application


def alt(*codes):
    def decorate(func):
        for code in codes:
            func = blp.alt_response(code, schema=ProblemSchema, description=_(ERRORS[code]))(func)
        return func

    return decorate
