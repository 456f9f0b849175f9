"""The eligibility pre-check, before a dossier is created."""

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Optional

from dcol.i18n import country_choices
from forms.base import FlaskForm
from forms.dossier import country_picker_kw


class PrecheckForm(FlaskForm):
    track = RadioField(_l("Volet"), coerce=int,
                       validators=[InputRequired(_l("Choisissez un volet."))])
    countries = SelectMultipleField(
        _l("Pays où se déroule l'action"),
        validators=[InputRequired(_l("Choisissez au moins un pays."))],
    )
    departments = StringField(
        _l("Départements concernés en France (numéros séparés par des virgules)"),
        validators=[Optional()],
    )

    def __init__(self, call, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.track.choices = [(track.id, track.name) for track in call.tracks]
        self.countries.choices = country_choices()
        self.countries.render_kw = country_picker_kw()  # js/country-picker.js

    def department_codes(self) -> list[str]:
        raw = self.departments.data or ""
        return [code.strip().upper() for code in raw.replace(";", ",").split(",") if code.strip()]
