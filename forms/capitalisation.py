"""The capitalisation's forms: the search (a GET form) and the manager's publication form."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length

from dcol.capitalisation.services import Facets, SearchFilters
from dcol.capitalisation.text import MAX_LENGTH, folded
from dcol.i18n import country_name, theme_label
from forms.base import FlaskForm, Form


class SearchForm(Form):
    """The search, read from the address (no CSRF token). The filters offer the values found
    among the supports the user may see; any other value filters nothing."""

    q = StringField(_l("Mots recherchés"), [Length(max=MAX_LENGTH)],
                    description=_l("Dans l'intitulé, les résumés, les livrables, le nom de la "
                                   "collectivité ou de l'expert ; majuscules et accents "
                                   "indifférents."))
    theme = SelectField(_l("Thématique"), validate_choice=False)
    pays = SelectField(_l("Pays"), validate_choice=False)
    volet = SelectField(_l("Volet"), validate_choice=False)
    expert = SelectField(_l("Expert"), validate_choice=False)
    annee = SelectField(_l("Année de l'appel"), validate_choice=False)

    def __init__(self, formdata, facets: Facets):
        super().__init__(formdata)
        every = [("", _("Toutes"))]
        self.theme.choices = every + sorted(
            ((value, theme_label(value)) for value in facets.themes),
            key=lambda choice: folded(choice[1]))
        self.pays.choices = [("", _("Tous"))] + sorted(
            ((code, country_name(code)) for code in facets.countries),
            key=lambda choice: folded(choice[1]))
        self.volet.choices = [("", _("Tous"))] + facets.dimensions
        self.expert.choices = [("", _("Tous"))] + [(str(i), name) for i, name in facets.experts]
        self.annee.choices = every + [(str(year), str(year)) for year in facets.years]

    @staticmethod
    def _chosen(field) -> str | None:
        """The field's value when it is one of its choices (an odd address filters nothing)."""
        return field.data if field.data and field.data in dict(field.choices) else None

    @property
    def text(self) -> str:
        return (self.q.data or "").strip()[:MAX_LENGTH]

    def filters(self) -> SearchFilters:
        expert, year = self._chosen(self.expert), self._chosen(self.annee)
        return SearchFilters(
            theme=self._chosen(self.theme),
            country=self._chosen(self.pays),
            dimension=self._chosen(self.volet),
            expert_id=int(expert) if expert else None,
            year=int(year) if year else None,
        )

    def chosen(self) -> dict[str, str]:
        """The search as address parameters (for the pages' links)."""
        chosen = {"q": self.text} if self.text else {}
        for field in (self.theme, self.pays, self.volet, self.expert, self.annee):
            if (value := self._chosen(field)) is not None:
                chosen[field.name] = value
        return chosen


class PublicationForm(FlaskForm):
    """Make a closed support public (or private again): the target and why."""

    public = HiddenField(validators=[AnyOf(["oui", "non"])])
    reason = TextAreaField(_l("Motif"), [DataRequired(message=_l("Indiquez pourquoi.")),
                                         Length(max=2000)], render_kw={"rows": 3})

    @property
    def is_public(self) -> bool:
        return self.public.data == "oui"
