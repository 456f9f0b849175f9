"""Login, logout, registration, password reset and API tokens."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from dcol.accounts import registration, services
from dcol.extensions import db, limiter
from dcol.i18n import select_locale
from forms.accounts import (
    ApiTokenForm,
    ForgotPasswordForm,
    LoginForm,
    RegistrationForm,
    ResetPasswordForm,
)

bp = Blueprint("accounts", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _safe_next(target: str | None) -> str:
    """Only follow relative paths after login (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("home.index")


@bp.route("/connexion", methods=["GET", "POST"])
@limiter.limit(
    _login_limit,
    methods=["POST"],
    # Only failed attempts count (a failed login answers 422).
    deduct_when=lambda response: response.status_code == 422,
    error_message=lambda: _(
        "Trop de tentatives de connexion. Patientez quelques minutes avant de réessayer."
    ),
)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append(_("Adresse e-mail ou mot de passe incorrect."))
        else:
            db.session.commit()
            session.permanent = True  # ends after PERMANENT_SESSION_LIFETIME without activity
            login_user(user, remember=form.remember.data)
            flash(_("Bienvenue, %(name)s.", name=user.full_name), "success")
            return redirect(_safe_next(request.args.get("next")))
    return render_template("accounts/login.html", form=form), 200 if not form.errors else 422


def _registration_limit() -> str:
    return current_app.config["REGISTRATION_RATE_LIMIT"]


@bp.route("/inscription", methods=["GET", "POST"])
@limiter.limit(
    _registration_limit,
    methods=["POST"],
    error_message=lambda: _(
        "Trop de demandes d'inscription. Patientez quelques minutes avant de réessayer."
    ),
)
def register():
    """An officer registers for their organisation (SIREN); CUF staff validate afterwards."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = RegistrationForm()
    if form.validate_on_submit():
        try:
            user = registration.register_officer(
                siren=form.siren.data,
                full_name=form.full_name.data,
                job_title=form.job_title.data,
                email=form.email.data,
                password=form.password.data,
                new_organisation=form.new_organisation(),
                locale=select_locale(),
            )
        except registration.RegistrationError as error:
            db.session.rollback()
            target = getattr(form, error.field or "", None) or form.siren
            target.errors = [*target.errors, error.message]
        else:
            db.session.commit()
            session.permanent = True
            login_user(user)
            flash(
                _(
                    "Votre demande d'inscription est enregistrée. Cités Unies France va la "
                    "vérifier ; vous recevrez un e-mail dès que votre compte sera validé."
                ),
                "success",
            )
            return redirect(url_for("home.index"))
    status = 422 if form.errors else 200
    return render_template("accounts/register.html", form=form), status


@bp.post("/deconnexion")
@login_required
def logout():
    logout_user()
    flash(_("Vous êtes déconnecté."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        db.session.commit()
        flash(
            _(
                "Si un compte existe pour cette adresse, un lien de réinitialisation "
                "vient de lui être envoyé."
            ),
            "info",
        )
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot_password.html", form=form)


@bp.route("/mot-de-passe/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    if services.user_for_reset_token(token) is None:
        flash(_("Ce lien de réinitialisation n'est plus valable. Demandez-en un nouveau."), "error")
        return redirect(url_for("accounts.forgot_password"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        services.reset_password(token, form.password.data)
        db.session.commit()
        flash(_("Votre mot de passe a été modifié. Vous pouvez vous connecter."), "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form)


@bp.route("/compte/jetons", methods=["GET", "POST"])
@login_required
def api_tokens():
    form = ApiTokenForm()
    new_token = None
    if form.validate_on_submit():
        new_token = services.create_api_token(current_user, form.name.data.strip())
        db.session.commit()
        form = ApiTokenForm(formdata=None)
    tokens = [t for t in current_user.api_tokens if t.revoked_at is None]
    return render_template(
        "accounts/api_tokens.html", form=form, tokens=tokens, new_token=new_token
    )


@bp.post("/compte/jetons/<int:token_id>/revoquer")
@login_required
def revoke_api_token(token_id: int):
    try:
        services.revoke_api_token(token_id, current_user)
    except services.AccountError:
        from flask import abort

        abort(404)
    db.session.commit()
    flash(_("Le jeton a été révoqué."), "info")
    return redirect(url_for("accounts.api_tokens"))
