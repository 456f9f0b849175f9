"""The dossier's forms, built from the section definitions in ``dcol.applications.sections``.

Drafts accept empty fields (the completeness indicator and the ``submit`` guard say what is
missing); only the format of what is typed is checked here.
"""

from __future__ import annotations

from datetime import date

from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    Field,
    FieldList,
    FormField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, StopValidation
from wtforms.widgets import TextInput

from dcol.applications import sections as s
from dcol.applications.services import parse_amount
from dcol.i18n import country_choices
from dcol.models import Application, BudgetLineKind
from forms.base import FlaskForm, Form


class AmountField(Field):
    """An amount in euros, read as ``dcol.applications.services.parse_amount`` reads it
    ("12 500,50", "12500.50"...) and shown back the user's way ("12 500,50" in French). What
    cannot be read gets that function's one message, and no other validator runs."""

    widget = TextInput()

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off"})
        super().__init__(label, validators, **kwargs)

    def _value(self) -> str:
        if self.raw_data:  # as typed, to correct it
            return self.raw_data[0]
        if self.data is None:
            return ""
        return format_decimal(self.data, format="#,##0.00")

    def process_formdata(self, valuelist) -> None:
        if valuelist:
            self.data = None
            self.data = parse_amount(valuelist[0])  # a ValueError becomes the field's error

    def pre_validate(self, form) -> None:
        if self.process_errors:
            raise StopValidation()


def _money_field(label, description=""):
    return AmountField(label, [Optional()], description=description)


# The texts of the country picker (dcol/static/js/country-picker.js), which enhances the
# <select multiple> of countries; "{name}" and "{query}" are filled in by the script.
def country_picker_kw() -> dict:
    return {
        "data-picker": "countries",
        "data-text-hint": _l("Tapez les premières lettres d'un pays, puis choisissez-le dans la "
                             "liste (flèches puis Entrée, ou d'un clic). Recommencez pour en "
                             "ajouter d'autres."),
        "data-text-chosen": _l("Pays choisis"),
        "data-text-empty": _l("Aucun pays choisi pour l'instant."),
        "data-text-options": _l("Pays proposés"),
        "data-text-remove": _l("Retirer {name}"),
        "data-text-added": _l("{name} ajouté."),
        "data-text-removed": _l("{name} retiré."),
        "data-text-none": _l("Aucun pays ne correspond à « {query} »."),
    }


COUNTRIES_HINT = _l("Maintenez Ctrl (ou Cmd) pour en choisir plusieurs.")


def _field_for(field: s.Field, application: Application):
    label = _(field.label)
    description = _(field.hint) if field.hint else ""
    if field.kind == s.TEXT:
        return StringField(label, [Optional(), Length(max=300)], description=description)
    if field.kind == s.EMAIL:
        return EmailField(label, [Optional(), Email(_l("Adresse e-mail invalide."))],
                          description=description)
    if field.kind == s.PHONE:
        return TelField(label, [Optional(), Length(max=40)], description=description)
    if field.kind == s.DATE:
        return DateField(label, [Optional()], description=description)
    if field.kind == s.MONEY:
        return _money_field(label, description)
    if field.kind == s.CHOICE:
        return SelectField(label, choices=[("", "—")] + [(k, _(v)) for k, v in field.choices],
                           validators=[Optional()], description=description)
    if field.kind == s.TRACK:
        return SelectField(label, coerce=lambda v: int(v) if v else None,
                           choices=[("", "—")] + [(t.id, t.name) for t in application.call.tracks],
                           validators=[Optional()], description=description)
    if field.kind == s.COUNTRIES:
        return SelectMultipleField(label, choices=country_choices(), validators=[Optional()],
                                   description=description or COUNTRIES_HINT,
                                   render_kw=country_picker_kw())
    if field.kind == s.DEPARTMENTS:
        return StringField(label, [Optional(), Length(max=200)], description=description)
    return TextAreaField(label, [Optional(), Length(max=20000)], description=description)


class BudgetLineForm(Form):
    # Labels in the language of the page (computed when the field is rendered).
    kind = SelectField(_l("Type"), choices=BudgetLineKind.choices)
    # A line's missing label or amount is said by ``replace_budget`` (an autosave leaves
    # such a line out instead: see ``budget_lines_from``).
    label = StringField(_l("Intitulé"), [Optional(), Length(max=200)])
    amount = AmountField(_l("Montant (€)"), [Optional()])
    is_eligible = BooleanField(_l("Dépense éligible"), default=True)


def section_form(application: Application, section: s.Section, formdata=None) -> FlaskForm:
    """A form for one section, filled from the dossier (or from ``formdata`` when posted)."""
    attributes = {field.key: _field_for(field, application) for field in section.fields}
    attributes["version"] = HiddenField()
    if section.has_budget:
        attributes["lines"] = FieldList(FormField(BudgetLineForm), min_entries=1)
    form_class = type(f"{section.key.title()}SectionForm", (FlaskForm,), attributes)
    if formdata is not None:
        return form_class(formdata=formdata)
    data = {"version": application.version}
    for field in section.fields:
        value = field.value(application, section.key)
        if field.kind == s.DEPARTMENTS:
            value = ", ".join(value or [])
        elif field.kind == s.DATE and value:
            value = date.fromisoformat(value)
        data[field.key] = value
    if section.has_budget:
        data["lines"] = [
            {"kind": line.kind.value, "label": line.label, "amount": line.amount,
             "is_eligible": line.is_eligible}
            for line in application.budget_lines
        ] + [{"kind": BudgetLineKind.EXPENSE.value, "is_eligible": True}]
    return form_class(formdata=None, data=data)


def form_errors(form) -> dict[str, str]:
    """The form's errors by the name of the field as posted (``lines-0-amount`` for a budget
    line's amount), one text each."""
    errors = {}
    for field in form:
        if isinstance(field, FieldList):
            for entry in field:
                errors.update(form_errors(entry.form))
        elif field.errors:
            errors[field.name] = " ".join(str(message) for message in field.errors)
    return errors


def changes_from(form, section: s.Section) -> dict:
    """What the form says, as the changes ``update_application`` takes."""
    changes: dict = {}
    data: dict = {}
    for field in section.fields:
        value = getattr(form, field.key).data
        if field.kind == s.TRACK:
            if value is not None:
                changes["track_id"] = value
        elif field.kind == s.DEPARTMENTS:
            changes[field.key] = [c.strip().upper() for c in (value or "").replace(";", ",").split(",")
                                  if c.strip()]
        elif field.kind == s.MONEY:
            changes[field.key] = str(value) if value is not None else None
        elif field.key in s.COLUMN_FIELDS:
            changes[field.key] = value if value is not None else ""
        elif field.kind == s.DATE:
            data[field.key] = value.isoformat() if value else ""
        else:
            data[field.key] = value or ""
    if data:
        changes["data"] = {section.key: data}
    return changes


def _is_blank_line(line) -> bool:
    return line.amount.data is None and not (line.label.data or "").strip()


def _is_complete_line(line) -> bool:
    return line.amount.data is not None and bool((line.label.data or "").strip())


def budget_lines_from(form, *, skip_incomplete: bool = False) -> list[dict]:
    """The lines typed in the budget table, leaving out the empty ones and, with
    ``skip_incomplete`` (an autosave while a line is being typed), those without a label or an
    amount. Each line says its ``row`` in the table. (A line's fields are read through
    ``entry.form``: a ``FormField`` has a ``label`` of its own.)"""
    lines = []
    for row, entry in enumerate(form.lines):
        line = entry.form
        if _is_blank_line(line) or skip_incomplete and not _is_complete_line(line):
            continue
        lines.append({"kind": line.kind.data, "label": (line.label.data or "").strip(),
                      "amount": line.amount.data, "is_eligible": bool(line.is_eligible.data),
                      "row": row})
    return lines


def incomplete_budget_lines(form) -> int:
    """How many lines of the table are half typed (a label without an amount, or the reverse)."""
    return sum(not _is_blank_line(entry.form) and not _is_complete_line(entry.form)
               for entry in form.lines)


def budget_errors_by_row(errors: dict[str, str], lines: list[dict]) -> dict[str, str]:
    """``replace_budget``'s errors (``lines-<index in lines>-<field>``) keyed by the row of the
    table they are about (``lines-<row>-<field>``), as the form names its fields."""
    by_row = {}
    for key, message in errors.items():
        prefix, _sep, rest = key.partition("-")
        index, _sep, name = rest.partition("-")
        if prefix == "lines" and index.isdigit() and int(index) < len(lines):
            key = f"lines-{lines[int(index)]['row']}-{name}"
        by_row[key] = message
    return by_row


class EditorForm(FlaskForm):
    """Make a member of the organisation co-editor of a dossier."""

    user_id = SelectField(_l("Membre de l'organisation"), coerce=int,
                          validators=[DataRequired(_l("Choisissez un membre."))])

    def __init__(self, candidates, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user_id.choices = [(member.id, member.full_name) for member in candidates]
