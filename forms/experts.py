"""Forms of the expert pool: an expert's profile, its unavailabilities and declared links, the
pool's filters, and the expert's answer to a proposal.

The forms read what is typed (amounts, rates, dates, codes chosen from lists) and say what cannot
be read; the rules of a valid profile are the service's (``dcol.experts.services``), so that every
caller refuses the same things with the same French messages, field by field.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

import pycountry
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import Email, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from dcol.experts import services
from dcol.i18n import country_choices, language_name
from dcol.models import ExpertKind, Theme, WorldRegion
from forms.base import FlaskForm, Form, attach_errors
from forms.dossier import COUNTRIES_HINT, AmountField, country_picker_kw

_RATE = re.compile(r"\d+(?:\.\d{1,2})?")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def language_choices() -> list[tuple[str, str]]:
    """Every ISO 639-1 language as (code, name in the user's language), sorted by name."""
    choices = [(language.alpha_2, language_name(language.alpha_2))
               for language in pycountry.languages if hasattr(language, "alpha_2")]
    return sorted(choices, key=lambda choice: _fold(choice[1]))


def language_picker_kw() -> dict:
    """The texts of the picker (``js/country-picker.js``) over the languages' list."""
    return {
        "data-picker": "languages",
        "data-text-hint": _l("Tapez les premières lettres d'une langue, puis choisissez-la dans "
                             "la liste (flèches puis Entrée, ou d'un clic). Recommencez pour en "
                             "ajouter d'autres."),
        "data-text-chosen": _l("Langues choisies"),
        "data-text-empty": _l("Aucune langue choisie pour l'instant."),
        "data-text-options": _l("Langues proposées"),
        "data-text-remove": _l("Retirer {name}"),
        "data-text-added": _l("{name} ajoutée."),
        "data-text-removed": _l("{name} retirée."),
        "data-text-none": _l("Aucune langue ne correspond à « {query} »."),
    }


class CodesField(SelectMultipleField):
    """Several codes among a list. Unknown codes are the service's to refuse (with its message,
    naming them)."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("validate_choice", False)
        super().__init__(label, validators, **kwargs)


class CheckboxesField(CodesField):
    """Several choices among a few, as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class QuantityField(AmountField):
    """A number shown as typed, else without trailing zeros ("12,5", not "12,50")."""

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return format_decimal(self.data, format="#,##0.##")


class RateField(QuantityField):
    """A percentage as people type it ("20", "5,5", "5.5 %"), to two decimals at most."""

    def process_formdata(self, valuelist) -> None:
        if not valuelist:
            return
        self.data = None
        text = _SPACES.sub("", valuelist[0]).removesuffix("%").replace(",", ".")
        if not text:
            return
        if not _RATE.fullmatch(text):
            raise ValueError(_("Taux invalide : indiquez un pourcentage, par exemple 20 ou 5,5."))
        try:
            self.data = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern lets only numbers through
            raise ValueError(_("Taux invalide.")) from None


class CountField(IntegerField):
    """A whole number, with our message when it is not one."""

    def process_formdata(self, valuelist) -> None:
        if valuelist and not valuelist[0].strip():
            self.data = None
            return
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_("Indiquez un nombre entier, par exemple 2.")) from None


class DayField(DateField):
    """A day (the browser sends AAAA-MM-JJ), with our message when it is not one."""

    def process_formdata(self, valuelist) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_("Date invalide : indiquez un jour, par exemple 2026-09-15.")) \
                from None


def _with_scheme(value):
    """``www.example.fr`` → ``https://www.example.fr`` (what people usually type)."""
    value = (value or "").strip()
    if value and "://" not in value:
        return f"https://{value}"
    return value


_WEBSITE = re.compile(r"https?://[^\s/$.?#][^\s]*\.[^\s]+", re.IGNORECASE)


def _website(form, field) -> None:
    if field.data and not _WEBSITE.fullmatch(field.data):
        raise ValidationError(_("Adresse de site invalide, par exemple https://www.cabinet.fr."))


class ExpertForm(FlaskForm):
    """An expert's profile, everything but its active flag (the pool's managers switch it)."""

    kind = RadioField(_l("Type"), validate_choice=False)
    name = StringField(_l("Nom du cabinet ou de l'expert"), [Length(max=200)],
                       render_kw={"autocomplete": "organization"})
    siret = StringField(_l("Numéro SIRET (facultatif)"), [Optional(), Length(max=20)],
                        description=_l("14 chiffres, espaces acceptés."),
                        render_kw={"inputmode": "numeric", "autocomplete": "off"})
    contact_name = StringField(_l("Personne à contacter"), [Length(max=200)],
                               render_kw={"autocomplete": "name"})
    email = EmailField(_l("Adresse e-mail de contact"),
                       [Optional(), Email(_l("Adresse e-mail invalide.")), Length(max=254)],
                       render_kw={"autocomplete": "email"})
    phone = TelField(_l("Téléphone (facultatif)"), [Optional(), Length(max=40)],
                     render_kw={"autocomplete": "tel"})
    website = StringField(_l("Site internet (facultatif)"),
                          [Optional(), Length(max=300), _website], filters=[_with_scheme],
                          render_kw={"autocomplete": "url", "inputmode": "url"})
    address = StringField(_l("Adresse postale (facultatif)"), [Optional(), Length(max=300)],
                          render_kw={"autocomplete": "street-address"})
    skills = CheckboxesField(_l("Compétences"))
    keywords = StringField(_l("Mots-clés (facultatif)"), [Length(max=2000)],
                           description=_l("Séparés par des virgules, par exemple : "
                                          "assainissement, gestion des déchets, Vietnam."))
    countries = CodesField(_l("Pays d'intervention"), description=COUNTRIES_HINT)
    regions = CheckboxesField(_l("Régions d'intervention"))
    languages = CodesField(_l("Langues de travail"),
                                    description=_l("Maintenez Ctrl (ou Cmd) pour en choisir "
                                                   "plusieurs."))
    daily_rate = AmountField(_l("Tarif journalier hors taxes (€)"))
    vat_rate = RateField(_l("Taux de TVA (%)"),
                         description=_l("0 si l'expert n'est pas assujetti à la TVA."))
    capacity = CountField(_l("Missions menées en même temps, au plus"),
                          render_kw={"min": 0, "max": services.MAX_CAPACITY})
    references = TextAreaField(_l("Références (missions passées)"),
                               [Length(max=services.MAX_REFERENCES)],
                               render_kw={"rows": 6})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = ExpertKind.choices()
        self.skills.choices = Theme.choices()
        self.regions.choices = WorldRegion.choices()
        self.countries.choices = country_choices()
        self.countries.render_kw = country_picker_kw()  # js/country-picker.js
        self.languages.choices = language_choices()
        self.languages.render_kw = language_picker_kw()

    @classmethod
    def of(cls, expert) -> ExpertForm:
        """The form filled with the expert's profile."""
        data = {key: getattr(expert, key) for key in services.PROFILE_FIELDS}
        data["kind"] = expert.kind.value
        data["keywords"] = ", ".join(expert.keywords or [])
        return cls(formdata=None, data=data)

    def profile(self) -> dict:
        """The profile as typed, for the services (None where nothing could be read)."""
        values = {key: self[key].data for key in services.PROFILE_FIELDS}
        values["keywords"] = re.split(r"[,;\n]", self.keywords.data or "")
        return values

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        errors = services.profile_errors(services.clean_profile(self.profile()))
        attach_errors(self, errors)
        return valid and not any(field.errors for field in self)

    def add_errors(self, errors: dict[str, str]) -> None:
        attach_errors(self, errors)


class UnavailabilityForm(FlaskForm):
    starts_on = DayField(_l("Du"), [Optional()])
    ends_on = DayField(_l("Au (inclus)"), [Optional()])
    reason = StringField(_l("Motif (facultatif)"), [Length(max=services.MAX_REASON)])

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        errors = services.unavailability_errors(self.starts_on.data, self.ends_on.data,
                                                self.reason.data or "")
        attach_errors(self, errors)
        return valid and not any(field.errors for field in self)

    def add_errors(self, errors: dict[str, str]) -> None:
        attach_errors(self, errors)


class ConflictForm(FlaskForm):
    organisation = StringField(_l("Organisation (numéro SIREN ou nom)"), [Length(max=200)],
                               description=_l("Par exemple 212100478 ou « Ville de Lyon »."),
                               render_kw={"autocomplete": "off"})
    description = TextAreaField(_l("Nature du lien (facultatif)"),
                                [Length(max=services.MAX_DESCRIPTION)], render_kw={"rows": 2})

    def add_errors(self, errors: dict[str, str]) -> None:
        attach_errors(self, errors)


class PoolFilterForm(Form):
    """The pool's filters, read from the address (a GET form: no CSRF token)."""

    q = StringField(_l("Nom ou mot-clé"))
    competence = SelectField(_l("Compétence"), validate_choice=False)
    region = SelectField(_l("Région"), validate_choice=False)
    pays = SelectField(_l("Pays"), validate_choice=False)
    langue = SelectField(_l("Langue"), validate_choice=False)
    statut = SelectField(_l("Statut"), validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.competence.choices = [("", _("Toutes"))] + Theme.choices()
        self.region.choices = [("", _("Toutes"))] + WorldRegion.choices()
        self.pays.choices = [("", _("Tous"))] + country_choices()
        self.langue.choices = [("", _("Toutes"))] + language_choices()
        self.statut.choices = [("", _("Tous")), ("actifs", _("Actifs")),
                               ("inactifs", _("Inactifs"))]

    def _chosen(self, field) -> str | None:
        """The field's value when it is one of its choices (an odd address filters nothing)."""
        return field.data if field.data and field.data in dict(field.choices) else None

    def filters(self) -> services.PoolFilters:
        status = self._chosen(self.statut)
        return services.PoolFilters(
            text=(self.q.data or "").strip()[:200],
            skill=self._chosen(self.competence),
            region=self._chosen(self.region),
            country=self._chosen(self.pays),
            language=self._chosen(self.langue),
            active=None if status is None else status == "actifs",
        )


class AcceptProposalForm(FlaskForm):
    no_conflict = BooleanField(
        _l("Je déclare n'avoir aucun lien avec cette collectivité ni avec ce projet qui pourrait "
           "mettre en doute mon impartialité (contrat, mandat, emploi, lien familial ou "
           "personnel), et je m'engage à signaler tout lien qui apparaîtrait.")
    )


class DeclineProposalForm(FlaskForm):
    reason = TextAreaField(_l("Motif du refus"), [Length(max=10_000)], render_kw={"rows": 3},
                           description=_l("Obligatoire ; transmis au chargé de mission de "
                                          "Cités Unies France."))
