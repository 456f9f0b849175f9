"""Forms of the organisations area: staff validation, members, invitations."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length

from dcol.organisations.services import MAX_REASON_LENGTH
from forms.accounts import REQUIRED, confirm_password_field, new_password_field
from forms.base import FlaskForm


class ValidateMemberForm(FlaskForm):
    is_signatory = BooleanField(_l("Signataire (dépose et signe au nom de l'organisation)"))


class RefusalForm(FlaskForm):
    reason = TextAreaField(
        _l("Motif du refus (envoyé à la personne)"),
        validators=[
            DataRequired(_l("Indiquez le motif du refus : il est envoyé à la personne.")),
            Length(
                max=MAX_REASON_LENGTH,
                message=_l("Le motif ne doit pas dépasser %(n)s caractères.", n=MAX_REASON_LENGTH),
            ),
        ],
        render_kw={"rows": 2},
    )


class InvitationForm(FlaskForm):
    email = EmailField(
        _l("Adresse e-mail de la personne à inviter"),
        validators=[DataRequired(REQUIRED), Email(_l("Adresse e-mail invalide.")), Length(max=254)],
        render_kw={"autocomplete": "off"},
    )
    is_signatory = BooleanField(
        _l("Signataire : pourra déposer, signer et inviter au nom de l'organisation")
    )


class SignatoryForm(FlaskForm):
    is_signatory = BooleanField()


class AcceptInvitationForm(FlaskForm):
    full_name = StringField(
        _l("Prénom et nom"),
        validators=[DataRequired(REQUIRED), Length(max=200)],
        render_kw={"autocomplete": "name"},
    )
    job_title = StringField(
        _l("Fonction"),
        validators=[DataRequired(REQUIRED), Length(max=200)],
        render_kw={"autocomplete": "organization-title"},
    )
    password = new_password_field()
    confirm = confirm_password_field()


class ConfirmForm(FlaskForm):
    """A button only (CSRF-protected)."""
