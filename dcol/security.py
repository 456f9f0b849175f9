"""Security headers, error pages in French, and how a request is authenticated."""

from __future__ import annotations

import hmac

from flask import render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from dcol.extensions import db, login_manager
from dcol.models.base import N_

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

ERROR_TITLES = {
    400: N_("Requête incorrecte"),
    403: N_("Accès refusé"),
    404: N_("Page introuvable"),
    405: N_("Action non permise"),
    412: N_("Version périmée"),
    401: N_("Authentification requise"),
    422: N_("Données invalides"),
    413: N_("Fichier trop volumineux"),
    429: N_("Trop de tentatives"),
    500: N_("Erreur interne"),
}
DEFAULT_ERROR_TITLE = N_("Erreur")
ERROR_TEXTS = {
    400: N_("La requête n'a pas pu être comprise. Revenez à la page précédente et réessayez."),
    403: N_("Vous n'avez pas les droits nécessaires pour accéder à cette page."),
    404: N_("La page demandée n'existe pas ou vous n'y avez pas accès."),
    405: N_("Cette action n'est pas permise sur cette page."),
    412: N_("Le dossier a été modifié entre-temps. Rechargez la page avant de recommencer."),
    401: N_("Fournissez un jeton d'API valide dans l'en-tête Authorization."),
    422: N_("Certaines informations sont invalides."),
    413: N_("Le fichier envoyé dépasse la taille maximale autorisée (%(max_mb)s Mo)."),
    429: N_("Trop de tentatives en peu de temps. Patientez quelques minutes avant de réessayer."),
    500: N_(
        "Une erreur inattendue s'est produite ; elle a été enregistrée. Réessayez dans quelques "
        "instants et, si elle persiste, écrivez à l'équipe DCOL de Cités Unies France."
    ),
}


def init_app(app) -> None:
    login_manager.login_view = "accounts.login"
    # Marked here, translated by Flask-Login when it flashes it (in the visitor's language).
    login_manager.login_message = N_("Connectez-vous pour accéder à cette page.")
    login_manager.localize_callback = _
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(session_id: str):
        """The user of a session (see ``User.get_id``): enabled, and with the same password as
        when the session was opened."""
        from dcol.models import User

        user_id, _, fingerprint = session_id.partition(":")
        if not user_id.isdigit() or len(user_id) > 10:
            return None
        user = db.session.get(User, int(user_id))
        if user is None or not user.is_enabled:
            return None
        if not hmac.compare_digest(fingerprint, user.session_fingerprint):
            return None
        return user

    @login_manager.request_loader
    def load_user_from_token(req):
        """Bearer tokens authenticate calls to the JSON API only, never the web pages."""
        if not req.path.startswith("/api/"):
            return None
        header = req.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        from dcol.accounts.services import user_for_api_token

        return user_for_api_token(header.removeprefix("Bearer ").strip())

    @app.after_request
    def set_security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=()"
        )
        if request.is_secure:
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(
            400,
            _("Le formulaire a expiré ou n'a pas pu être vérifié. Rechargez la page et réessayez."),
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        from dcol.api import validation_messages

        errors = validation_messages(error)
        if errors:
            return render_error(error.code or 422, _("Certaines informations sont invalides."),
                                errors=errors)
        if error.code == 429 and getattr(getattr(error, "limit", None), "error_message", None):
            # A limit's own message (translated when raised); without one, the limiter's
            # description is the limit itself ("5 per 1 minute"): the generic text is shown.
            return render_error(429, str(error.description))
        return render_error(error.code or 500)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        app.logger.exception("Unhandled error")
        db.session.rollback()
        return render_error(500)


def wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json"
    )


def render_error(code: int, detail: str | None = None, errors: dict | None = None):
    from flask import current_app

    title = _(ERROR_TITLES.get(code, DEFAULT_ERROR_TITLE))
    text = detail or _(ERROR_TEXTS.get(code, ERROR_TEXTS[500]), max_mb=current_app.config["MAX_UPLOAD_MB"])
    if wants_json():
        from dcol.api import problem

        return problem(code, title, text, errors=errors)
    return render_template("errors/error.html", code=code, title=title, text=text), code
