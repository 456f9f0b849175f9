"""Forms of a support's follow-up: a mission report with its expenses and attachments, the
mission plan, a deliverable and its revised version, the satisfaction questionnaire.

The forms read what is typed (French decimals, days, files, rows of a table) and leave the rules
to the services (``dcol.missions``), whose French messages are put back on the fields — and on
the rows of a table, which the services number among the rows actually sent to them.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, MultipleFileField
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, Optional

from dcol.missions.closure import RATINGS, SatisfactionAnswer
from dcol.missions.plan import MilestoneEntry
from dcol.missions.reports import ExpenseEntry, ReportEntry
from dcol.models import Milestone, Phase, Satisfaction
from forms.base import FlaskForm, Form, attach_errors
from forms.dossier import AmountField
from forms.experts import DayField
from forms.finance import DaysField

BLANK_EXPENSE_ROWS = 3
BLANK_MILESTONE_ROWS = 2


def _has_file(upload) -> bool:
    return upload is not None and bool(getattr(upload, "filename", None))


def _typed(field) -> bool:
    """Something was typed in the field (readable or not)."""
    return any(isinstance(value, str) and value.strip() for value in field.raw_data or ())


def attach_row_errors(form, table: str, errors: dict[str, str], rows: list[int]) -> list[str]:
    """Put a service's messages on their fields, the messages about a table's rows
    (``<table>-<index among the rows sent>-<field>``) on the row of the form they came from
    (``rows[index]``); return the messages that name no field (to show above the form)."""
    rest, unplaced = {}, []
    entries = getattr(form, table).entries
    for key, message in errors.items():
        prefix, _sep, tail = key.partition("-")
        index, _sep, name = tail.partition("-")
        if prefix == table and index.isdigit() and int(index) < len(rows):
            field = entries[rows[int(index)]].form._fields.get(name)
            if field is not None:
                if not field.errors:
                    field.errors = [message]
                continue
        if key == table:  # the table as a whole: above the form
            unplaced.append(message)
            continue
        rest[key] = message
    return unplaced + attach_errors(form, rest)


# --- reports ---------------------------------------------------------------------------------


class ExpenseRowForm(Form):
    label = StringField(_l("Nature de la dépense"), [Length(max=200)])
    amount = AmountField(_l("Montant TTC (€)"), [Optional()])
    receipt = FileField(_l("Justificatif (PDF ou image)"))

    def is_blank(self) -> bool:
        return (not (self.label.data or "").strip() and not _typed(self.amount)
                and not _has_file(self.receipt.data))


class ReportForm(FlaskForm):
    report_date = DayField(_l("Date du rapport"), [Optional()])
    days_spent = DaysField(_l("Jours consacrés depuis le dernier rapport"), [Optional()],
                           description=_l("Par quarts de journée : 0,25 ; 0,5 ; 1,75…"))
    activities = TextAreaField(_l("Activités menées"), [Length(max=20_000)],
                               render_kw={"rows": 6})
    is_field_mission = BooleanField(_l("Ce rapport couvre une mission de terrain"))
    field_location = StringField(_l("Lieu de la mission de terrain"), [Length(max=200)],
                                 description=_l("Par exemple : Quy Nhon, province de Binh Dinh "
                                                "(Viêt Nam)."))
    expenses = FieldList(FormField(ExpenseRowForm), min_entries=BLANK_EXPENSE_ROWS)
    attachments = MultipleFileField(_l("Pièces jointes (facultatif)"),
                                    description=_l("Comptes rendus, photos, listes de "
                                                   "présence… Plusieurs fichiers possibles."))

    def entry(self) -> tuple[ReportEntry, list[int]]:
        """What the report says, leaving out the blank expense rows, and the row of each
        expense sent (to put the service's messages back on it)."""
        rows = [row for row, item in enumerate(self.expenses) if not item.form.is_blank()]
        expenses = tuple(
            ExpenseEntry(label=self.expenses[row].form.label.data or "",
                         amount=self.expenses[row].form.amount.data,
                         receipt=self.expenses[row].form.receipt.data)
            for row in rows)
        entry = ReportEntry(
            report_date=self.report_date.data, days_spent=self.days_spent.data,
            activities=self.activities.data or "",
            is_field_mission=bool(self.is_field_mission.data),
            field_location=self.field_location.data or "",
            expenses=expenses,
            attachments=tuple(upload for upload in self.attachments.data or ()
                              if _has_file(upload)))
        return entry, rows


# --- the mission plan ------------------------------------------------------------------------


class MilestoneRowForm(Form):
    id = HiddenField()
    phase = SelectField(_l("Phase"), choices=Phase.choices)
    label = StringField(_l("Intitulé du jalon"), [Length(max=200)])
    due_on = DayField(_l("Date prévue"), [Optional()])
    done_on = DayField(_l("Réalisé le"), [Optional()])
    remove = BooleanField(_l("Supprimer"))

    def milestone_id(self) -> int | None:
        text = (self.id.data or "").strip()
        if not text:
            return None
        # Anything else than an id of this plan is the service's to refuse.
        return int(text) if text.isdigit() else 0

    def is_blank(self) -> bool:
        return (self.milestone_id() is None and not (self.label.data or "").strip()
                and not _typed(self.due_on) and not _typed(self.done_on))


class PlanForm(FlaskForm):
    milestones = FieldList(FormField(MilestoneRowForm))
    reason = TextAreaField(_l("Motif de la modification"), [Length(max=5_000)],
                           render_kw={"rows": 3})

    @classmethod
    def of(cls, milestones: list[Milestone]) -> PlanForm:
        rows = [{"id": str(m.id), "phase": m.phase.value, "label": m.label, "due_on": m.due_on,
                 "done_on": m.done_on} for m in milestones]
        rows += [{"phase": Phase.OTHER.value}] * BLANK_MILESTONE_ROWS
        return cls(formdata=None, data={"milestones": rows})

    def entries(self) -> tuple[list[MilestoneEntry], list[int]]:
        """The milestones to keep, change or add (the removed and the blank rows left out), and
        the row of each."""
        rows = [row for row, item in enumerate(self.milestones)
                if not item.form.is_blank() and not item.form.remove.data]
        entries = []
        for row in rows:
            item = self.milestones[row].form
            entries.append(MilestoneEntry(
                phase=Phase(item.phase.data), label=item.label.data or "",
                due_on=item.due_on.data, done_on=item.done_on.data, id=item.milestone_id()))
        return entries, rows


# --- deliverables ----------------------------------------------------------------------------


class DeliverableForm(FlaskForm):
    title = StringField(_l("Titre du livrable"), [Length(max=300)])
    description = TextAreaField(_l("Description (facultatif)"), [Length(max=10_000)],
                                render_kw={"rows": 4})
    is_final = BooleanField(_l("C'est le livrable final"),
                            description=_l("Le livrable final dépose le rapport final de la "
                                           "mission : la collectivité puis Cités Unies France "
                                           "le valident avant la clôture."))
    file = FileField(_l("Fichier du livrable"))


class ResubmitForm(FlaskForm):
    file = FileField(_l("Version révisée du livrable"))
    note = TextAreaField(_l("Ce qui a changé (facultatif)"), [Length(max=5_000)],
                         render_kw={"rows": 3})


# --- satisfaction ----------------------------------------------------------------------------

RATING_CHOICES = [(value, str(value)) for value in range(1, 6)]
RATING_LABELS = {
    "quality": _l("Qualité du travail de l'expert"),
    "timeliness": _l("Respect des délais"),
    "relevance": _l("Pertinence des recommandations"),
    "overall": _l("Satisfaction globale"),
}


def _rating_value(value) -> int | None:
    """A rating as sent: none chosen is None (the service says a rating is needed)."""
    if value is None or isinstance(value, str) and not value.strip():
        return None
    return int(value)


def _rating(name: str) -> RadioField:
    # Whether a rating is given and from 1 to 5 is the service's to say.
    return RadioField(RATING_LABELS[name], choices=RATING_CHOICES, coerce=_rating_value,
                      validate_choice=False)


class SatisfactionForm(FlaskForm):
    quality = _rating("quality")
    timeliness = _rating("timeliness")
    relevance = _rating("relevance")
    overall = _rating("overall")
    comment = TextAreaField(_l("Commentaire (facultatif)"), [Length(max=10_000)],
                            render_kw={"rows": 4})

    @classmethod
    def of(cls, satisfaction: Satisfaction | None) -> SatisfactionForm:
        if satisfaction is None:
            return cls(formdata=None)
        data = {name: getattr(satisfaction, name) for name in RATINGS}
        return cls(formdata=None, data={**data, "comment": satisfaction.comment})

    def answer(self) -> SatisfactionAnswer:
        return SatisfactionAnswer(**{name: getattr(self, name).data for name in RATINGS},
                                  comment=self.comment.data or "")

    def ratings(self) -> list:
        return [getattr(self, name) for name in RATINGS]
