"""Forms of the agreement page: the terms of a version (the manager), a party's signature and the
scan of another party's signature attached by a manager.

The forms read what is typed (French decimals, days, files); the rules of valid terms and of a
valid signature are the services' (``dcol.finance.agreements``), whose messages are put back on
the fields they name.
"""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from dcol.applications.services import parse_amount
from dcol.finance.agreements import AgreementTerms
from dcol.models import Party
from forms.base import FlaskForm
from forms.dossier import AmountField
from forms.experts import DayField, QuantityField


class DaysField(QuantityField):
    """A number of days as people type it ("12,5", "12.5"), to two decimals at most."""

    def process_formdata(self, valuelist) -> None:
        if not valuelist:
            return
        self.data = None
        try:
            self.data = parse_amount(valuelist[0])
        except ValueError:
            raise ValueError(_("Nombre de jours invalide : indiquez un nombre, par exemple "
                               "12,5.")) from None


class TermsForm(FlaskForm):
    """What a version of the agreement contracts. DCOL: the expertise; a call for projects: the
    eligible expenses. The fields of the other kind are simply left empty."""

    days = DaysField(_l("Nombre de jours d'expertise"), [Optional()])
    daily_rate = AmountField(_l("Tarif journalier HT (€)"), [Optional()])
    mission_costs = AmountField(_l("Frais de mission et de déplacement HT (€)"), [Optional()],
                                description=_l("Laissé vide : aucun frais de mission."))
    project_cost = AmountField(_l("Coût éligible du projet (€)"), [Optional()],
                               description=_l("Laissé vide : les dépenses éligibles du budget "
                                              "du projet."))
    starts_on = DayField(_l("Début"), [Optional()])
    ends_on = DayField(_l("Fin"), [Optional()])
    deliverables = TextAreaField(_l("Livrables attendus"), [Length(max=10_000)],
                                 render_kw={"rows": 4})
    reason = TextAreaField(_l("Objet de l'avenant"), [Length(max=5_000)], render_kw={"rows": 3},
                           description=_l("Obligatoire pour modifier une convention signée ; "
                                          "repris dans l'avenant."))

    @classmethod
    def of(cls, terms: AgreementTerms) -> TermsForm:
        """The form filled with ``terms`` (those of the latest version, else the mission's)."""
        return cls(formdata=None, data={
            "days": terms.days, "daily_rate": terms.daily_rate,
            "mission_costs": terms.mission_costs or None, "project_cost": terms.project_cost,
            "starts_on": terms.starts_on, "ends_on": terms.ends_on,
            "deliverables": terms.deliverables or "",
        })

    def terms(self) -> AgreementTerms:
        return AgreementTerms(
            days=self.days.data, daily_rate=self.daily_rate.data,
            mission_costs=self.mission_costs.data or Decimal("0.00"),
            project_cost=self.project_cost.data, starts_on=self.starts_on.data,
            ends_on=self.ends_on.data, deliverables=(self.deliverables.data or "").strip(),
        )


class SignForm(FlaskForm):
    """A party's own signature: « Lu et approuvé » on the PDF whose SHA-256 was shown, or the
    scan of the copy it signed by hand."""

    name = StringField(_l("Nom du signataire"), [Length(max=200)],
                       render_kw={"autocomplete": "name"})
    capacity = StringField(_l("Qualité"), [Length(max=200)],
                           description=_l("Par exemple : maire, gérant, délégué général."),
                           render_kw={"autocomplete": "organization-title"})
    accepted = BooleanField()
    sha256_read = HiddenField()
    scan = FileField(_l("Ou joindre la convention signée à la main (scan)"),
                     description=_l("Au lieu de l'acceptation électronique : le PDF ou la photo "
                                    "de la convention signée."))


class PartyScanForm(FlaskForm):
    """A manager attaches the scan of the copy another party signed by hand."""

    party = SelectField(_l("Partie"), validate_choice=False)
    name = StringField(_l("Nom du signataire"), [Length(max=200)])
    capacity = StringField(_l("Qualité"), [Length(max=200)])
    scan = FileField(_l("Convention signée (scan)"))

    def __init__(self, *args, parties: list[Party] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.party.choices = [(party.value, party.label) for party in parties]

    def chosen_party(self) -> Party | None:
        if self.party.data not in dict(self.party.choices):
            return None
        return Party(self.party.data)

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.chosen_party() is None:
            self.party.errors = [*self.party.errors, _("Choisissez la partie qui a signé.")]
            valid = False
        if not self.scan.data:
            self.scan.errors = [*self.scan.errors,
                                _("Joignez la convention signée à la main par cette partie.")]
            valid = False
        return valid
