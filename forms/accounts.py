from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from dcol.accounts.services import MIN_PASSWORD_LENGTH

REQUIRED = _l("Ce champ est obligatoire.")


class LoginForm(FlaskForm):
    email = EmailField(
        _l("Adresse e-mail"),
        validators=[DataRequired(REQUIRED), Email(_l("Adresse e-mail invalide."))],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Mot de passe"),
        validators=[DataRequired(REQUIRED)],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField(_l("Rester connecté sur cet appareil"))


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        _l("Adresse e-mail"),
        validators=[DataRequired(REQUIRED), Email(_l("Adresse e-mail invalide."))],
        render_kw={"autocomplete": "email"},
    )


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("Nouveau mot de passe"),
        validators=[
            DataRequired(REQUIRED),
            Length(
                min=MIN_PASSWORD_LENGTH,
                message=_l("Le mot de passe doit compter au moins %(n)s caractères.",
                           n=MIN_PASSWORD_LENGTH),
            ),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Confirmation du mot de passe"),
        validators=[
            DataRequired(REQUIRED),
            EqualTo("password", _l("Les deux mots de passe ne correspondent pas.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class ApiTokenForm(FlaskForm):
    name = StringField(
        _l("Nom du jeton (à quoi il sert)"),
        validators=[DataRequired(REQUIRED), Length(max=100)],
    )
