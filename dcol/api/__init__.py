"""The JSON API under /api/v1: bearer tokens, problem details (RFC 9457), OpenAPI 3."""

from __future__ import annotations

import re

from flask import g, jsonify, request
from flask_babel import gettext as _
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict

from dcol.extensions import csrf
from dcol.models.base import N_

# Marshmallow's messages, in the user's language (French by default); the named groups fill the
# placeholders of the same name.
_MESSAGES = [
    (r"^Missing data for required field\.$", N_("Champ obligatoire.")),
    (r"^Unknown field\.$", N_("Champ inconnu.")),
    (r"^Field may not be null\.$", N_("Ce champ ne peut pas être vide.")),
    (r"^Not a valid integer\.$", N_("Nombre entier attendu.")),
    (r"^Not a valid number\.$", N_("Nombre attendu.")),
    (r"^Not a valid string\.$", N_("Texte attendu.")),
    (r"^Not a valid boolean\.$", N_("Booléen attendu.")),
    (r"^Not a valid list\.$", N_("Liste attendue.")),
    (r"^Not a valid mapping type\.$", N_("Objet attendu.")),
    (r"^Invalid input type\.$", N_("Type de données invalide.")),
    (r"^Must be one of: .*$", N_("Valeur non permise.")),
    (r"^Longer than maximum length (?P<max>\d+)\.$", N_("Trop long (%(max)s caractères au plus).")),
    (r"^Shorter than minimum length (?P<min>\d+)\.$",
     N_("Trop court (%(min)s caractères au moins).")),
    (r"^Length must be (?P<length>\d+)\.$", N_("Longueur attendue : %(length)s caractères.")),
    (r"^Must be greater than or equal to (?P<min>.+) and less than or equal to (?P<max>.+)\.$",
     N_("Doit être compris entre %(min)s et %(max)s.")),
    (r"^Must be greater than or equal to (?P<min>.+)\.$",
     N_("Doit être supérieur ou égal à %(min)s.")),
    (r"^Special numeric values \(nan or infinity\) are not permitted\.$",
     N_("Nombre invalide.")),
    (r"^Invalid JSON body\.|^Invalid JSON.*$", N_("Corps JSON invalide.")),
]


def _localise(messages):
    if isinstance(messages, dict):
        return {key: _localise(value) for key, value in messages.items()}
    if isinstance(messages, list):
        return [_localise(message) for message in messages]
    if isinstance(messages, str):
        for pattern, replacement in _MESSAGES:
            match = re.match(pattern, messages)
            if match:
                return _(replacement, **match.groupdict())
        return _(messages)  # our own messages (marked where they are declared)
    return messages


def problem(status: int, title: str, detail: str, **extra):
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body.update({key: value for key, value in extra.items() if value})
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="dcol"'
    return response


def validation_messages(error) -> dict | None:
    """The field errors marshmallow attached to a 422 raised by flask-smorest, in the user's
    language."""
    data = getattr(error, "data", None) or {}
    messages = data.get("messages")
    if not messages:
        return None
    flat = {}
    for location, fields in messages.items():
        flat.update(
            _localise(fields) if isinstance(fields, dict) else {location: _localise(fields)}
        )
    return flat


class Api(SmorestApi):
    def _register_error_handlers(self):
        """Errors are answered by ``dcol.security`` (problem details under /api/)."""


api = Api()


def init_app(app) -> None:
    app.config.update(
        API_TITLE="dcol",
        API_VERSION="1.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="v1/openapi.json",
        API_SPEC_OPTIONS={
            "info": {
                "description": "API des dossiers DCOL et appels à projets de Cités Unies France. "
                "Authentification : en-tête « Authorization: Bearer <jeton> ». Les erreurs "
                "suivent la RFC 9457 (problem details), en français.",
            },
            "components": {
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}
            },
            "security": [{"bearerAuth": []}],
        },
    )
    api.init_app(app)
    from dcol import DatabaseId

    api.register_converter(
        DatabaseId, lambda converter: {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
    )
    from dcol.api import committee, content, follow_up, matching, reviews, views  # noqa: F401  (their routes join the blueprint)

    api.register_blueprint(views.blp)
    csrf.exempt(views.blp)
    app.register_blueprint(views.docs_bp)


class Parser(FlaskParser):
    def load_files(self, req, schema):
        """A multipart body's files and its other fields, read by one schema (documented as
        one multipart/form-data body)."""
        return self._makeproxy(CombinedMultiDict([req.files, req.form]), schema)


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = Parser()


def make_blueprint() -> Blueprint:
    blp = ApiBlueprint("api", __name__, url_prefix="/api/v1",
                       description="Appels et dossiers")

    @blp.before_request
    def authenticate():
        """The API takes bearer tokens only (no session cookies: no CSRF exposure)."""
        from dcol.accounts.services import user_for_api_token

        header = request.headers.get("Authorization", "")
        user = None
        if header.startswith("Bearer "):
            user = user_for_api_token(header.removeprefix("Bearer ").strip())
        if user is None:
            return problem(401, _("Authentification requise"),
                           _("Fournissez un jeton d'API valide dans l'en-tête Authorization."))
        g.api_user = user
        return None

    return blp
