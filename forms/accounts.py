import re

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    Length,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import TextInput

from dcol.accounts.registration import NewOrganisation, RegistrationError, clean_siren
from dcol.accounts.services import MIN_PASSWORD_LENGTH
from dcol.models import OrganisationKind
from forms.base import FlaskForm

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
                message=_l(
                    "Le mot de passe doit compter au moins %(n)s caractères.", n=MIN_PASSWORD_LENGTH
                ),
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


# --- registration -------------------------------------------------------------------------

# The 18 French administrative regions (13 in mainland France, 5 overseas).
REGIONS = (
    "Auvergne-Rhône-Alpes",
    "Bourgogne-Franche-Comté",
    "Bretagne",
    "Centre-Val de Loire",
    "Corse",
    "Grand Est",
    "Hauts-de-France",
    "Île-de-France",
    "Normandie",
    "Nouvelle-Aquitaine",
    "Occitanie",
    "Pays de la Loire",
    "Provence-Alpes-Côte d'Azur",
    "Guadeloupe",
    "Guyane",
    "Martinique",
    "La Réunion",
    "Mayotte",
)
MAX_POPULATION = 100_000_000
# Mainland departments 01-95 (with 2A/2B for Corsica), overseas 971-976 and collectivités 975-988.
DEPARTMENT_CODE = r"^(0[1-9]|[1-8][0-9]|9[0-5]|2[AB]|97[1-8]|98[4-9])$"


class PopulationField(IntegerField):
    """A whole number of inhabitants; spaces between thousands are accepted (1 285 000)."""

    def process_formdata(self, valuelist):
        if valuelist:
            raw = valuelist[0].replace(" ", "").replace("\u202f", "").replace("\xa0", "")
            if not raw:
                self.data = None
                return
            try:
                self.data = int(raw)
            except ValueError:
                self.data = None
                raise ValueError(_l("Indiquez un nombre d'habitants, en chiffres.")) from None


def new_password_field() -> PasswordField:
    return PasswordField(
        _l("Mot de passe"),
        validators=[
            DataRequired(REQUIRED),
            Length(
                min=MIN_PASSWORD_LENGTH,
                message=_l(
                    "Le mot de passe doit compter au moins %(n)s caractères.", n=MIN_PASSWORD_LENGTH
                ),
            ),
        ],
        render_kw={"autocomplete": "new-password"},
    )


def confirm_password_field() -> PasswordField:
    return PasswordField(
        _l("Confirmation du mot de passe"),
        validators=[
            DataRequired(REQUIRED),
            EqualTo("password", _l("Les deux mots de passe ne correspondent pas.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class RegistrationForm(FlaskForm):
    siren = StringField(
        _l("Numéro SIREN de votre organisation"),
        validators=[DataRequired(REQUIRED), Length(max=20)],
        render_kw={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"},
    )
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
    email = EmailField(
        _l("Adresse e-mail professionnelle"),
        validators=[DataRequired(REQUIRED), Email(_l("Adresse e-mail invalide.")), Length(max=254)],
        render_kw={"autocomplete": "email"},
    )
    password = new_password_field()
    confirm = confirm_password_field()
    # Only when no organisation is registered under the SIREN yet.
    organisation_name = StringField(
        _l("Nom de l'organisation"),
        validators=[Optional(), Length(max=200)],
        render_kw={"autocomplete": "organization"},
    )
    organisation_kind = SelectField(_l("Nature de l'organisation"), validators=[Optional()])
    region = SelectField(_l("Région"), validators=[Optional()])
    department_code = StringField(
        _l("Numéro du département"),
        validators=[
            Optional(),
            Regexp(
                DEPARTMENT_CODE,
                flags=re.IGNORECASE,
                message=_l("Numéro de département invalide (par exemple 38, 2A ou 974)."),
            ),
        ],
        render_kw={"size": 4},
    )
    population = PopulationField(
        _l("Population (nombre d'habitants)"),
        validators=[Optional()],
        widget=TextInput(),
        render_kw={"inputmode": "numeric"},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation_kind.choices = [("", _l("— Choisissez —"))] + OrganisationKind.choices()
        self.region.choices = [
            ("", _l("— Choisissez (sans objet pour certaines collectivités d'outre-mer) —"))
        ] + [(r, r) for r in REGIONS]

    def validate_population(self, field):
        if field.data is not None and not 0 <= field.data <= MAX_POPULATION:
            raise ValidationError(_l("Indiquez un nombre d'habitants, en chiffres."))

    def validate_siren(self, field):
        try:
            field.data = clean_siren(field.data)
        except RegistrationError as error:
            raise ValidationError(error.message) from None

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        described = bool((self.organisation_name.data or "").strip())
        if described and not self.organisation_kind.data:
            self.organisation_kind.errors.append(_l("Choisissez la nature de l'organisation."))
            valid = False
        return valid

    def new_organisation(self) -> NewOrganisation | None:
        """The organisation described by the form, when it was described."""
        name = (self.organisation_name.data or "").strip()
        if not name or not self.organisation_kind.data:
            return None
        return NewOrganisation(
            name=name,
            kind=OrganisationKind(self.organisation_kind.data),
            region=self.region.data or None,
            department_code=(self.department_code.data or "").strip().upper() or None,
            population=self.population.data,
        )
