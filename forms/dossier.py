"""The dossier's forms, built from the section definitions in ``dcol.applications.sections``.

Drafts accept empty fields (the completeness indicator and the ``submit`` guard say what is
missing); only the format of what is typed is checked here.
"""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from dcol.applications import sections as s
from dcol.i18n import country_choices
from dcol.models import Application, BudgetLineKind

MAX_AMOUNT = Decimal("9999999999.99")


def _money_field(label, required):
    return DecimalField(
        label, places=2, validators=[Optional(), NumberRange(
            min=0, max=MAX_AMOUNT, message=_l("Le montant doit être positif."))],
        render_kw={"inputmode": "decimal"},
    )


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
        return _money_field(label, field.required)
    if field.kind == s.CHOICE:
        return SelectField(label, choices=[("", "—")] + [(k, _(v)) for k, v in field.choices],
                           validators=[Optional()], description=description)
    if field.kind == s.TRACK:
        return SelectField(label, coerce=lambda v: int(v) if v else None,
                           choices=[("", "—")] + [(t.id, t.name) for t in application.call.tracks],
                           validators=[Optional()], description=description)
    if field.kind == s.COUNTRIES:
        return SelectMultipleField(label, choices=country_choices(), validators=[Optional()],
                                   description=description)
    if field.kind == s.DEPARTMENTS:
        return StringField(label, [Optional(), Length(max=200)], description=description)
    return TextAreaField(label, [Optional(), Length(max=20000)], description=description)


class BudgetLineForm(Form):
    kind = SelectField(_l("Type"), choices=[(k.value, k.label) for k in BudgetLineKind])
    label = StringField(_l("Intitulé"), [Optional(), Length(max=200)])
    amount = DecimalField(_l("Montant (€)"), places=2, validators=[
        Optional(), NumberRange(min=0, max=MAX_AMOUNT, message=_l("Le montant doit être positif."))],
        render_kw={"inputmode": "decimal"})
    is_eligible = BooleanField(_l("Dépense éligible"), default=True)

    def validate_label(self, field):
        if self.amount.data is not None and not (field.data or "").strip():
            raise ValidationError(_("Indiquez l'intitulé de cette ligne."))


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
            from datetime import date

            value = date.fromisoformat(value)
        data[field.key] = value
    if section.has_budget:
        data["lines"] = [
            {"kind": line.kind.value, "label": line.label, "amount": line.amount,
             "is_eligible": line.is_eligible}
            for line in application.budget_lines
        ] + [{"kind": BudgetLineKind.EXPENSE.value, "is_eligible": True}]
    return form_class(formdata=None, data=data)


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


def budget_lines_from(form) -> list[dict]:
    """The lines typed in the budget table, leaving out the empty ones. (A line's fields are read
    through ``entry.form``: a ``FormField`` has a ``label`` of its own.)"""
    lines = [entry.form for entry in form.lines]
    return [
        {"kind": line.kind.data, "label": (line.label.data or "").strip(),
         "amount": line.amount.data, "is_eligible": bool(line.is_eligible.data)}
        for line in lines
        if line.amount.data is not None or (line.label.data or "").strip()
    ]


class EditorForm(FlaskForm):
    """Make a member of the organisation co-editor of a dossier."""

    user_id = SelectField(_l("Membre de l'organisation"), coerce=int,
                          validators=[DataRequired(_l("Choisissez un membre."))])

    def __init__(self, candidates, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user_id.choices = [(member.id, member.full_name) for member in candidates]
