"""Marshmallow schemas of the follow-up's API (``dcol.api.follow_up``): what it answers, and what
it reads — JSON bodies, and multipart/form-data bodies for what carries files.

Days, amounts and dates are read as the web forms read them (``parse_amount``: "2,5" or "2.5";
days as AAAA-MM-JJ), with the same French messages; the rules (a date not in the future, a
receipt per expense...) are the services', which answer each field's message.
"""

from __future__ import annotations

from datetime import date

from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, post_load, validate
from werkzeug.datastructures import FileStorage

from dcol.api.schemas import DocumentSchema, PersonSchema, StrictSchema
from dcol.applications.services import parse_amount
from dcol.missions.reports import MAX_EXPENSES
from dcol.models import AlertKind, ApplicationState, DeliverableState, Phase
from dcol.models.base import N_

ID = validate.Range(min=1, max=2**31 - 1)
REVIEW_STEPS = ("accept", "ask_revision", "validate")
MAX_TEXT = 20_000


# --- fields read as the web forms read them ---------------------------------------------------


class Day(fields.Field):
    """A day, AAAA-MM-JJ; empty: none (the service says when one is needed)."""

    default_error_messages = {
        "invalid": N_("Date invalide : indiquez un jour, par exemple 2026-09-15."),
    }

    def __init__(self, **kwargs):
        metadata = {"type": "string", "format": "date", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return value.isoformat() if value is not None else None

    def _deserialize(self, value, attr, data, **kwargs):
        if value is None or isinstance(value, str) and not value.strip():
            return None
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise self.make_error("invalid") from None


class DecimalText(fields.Field):
    """A number to the cent as people type it ("120,50", "120.50", "1 200,50"), read by
    ``parse_amount``; empty: none."""

    def __init__(self, message: str = "", example: str = "120,50", **kwargs):
        self.message = message
        metadata = {"type": "string", "maxLength": 30, "example": example,
                    **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and len(value) > 30:
            raise ValidationError(self.message or N_("Nombre invalide."))
        try:
            return parse_amount(value)
        except ValueError as error:
            raise ValidationError(self.message or str(error)) from None


class FileUpload(Upload):
    """A file of a multipart body (a plain text part under its name is refused)."""

    default_error_messages = {"invalid": N_("Fichier attendu.")}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, FileStorage):
            raise self.make_error("invalid")
        return value


# --- what the endpoints read ------------------------------------------------------------------


class MilestoneInSchema(StrictSchema):
    id = fields.Int(strict=True, validate=ID, allow_none=True, load_default=None, metadata={
        "description": "Un jalon du plan à garder (et modifier) ; absent : un nouveau jalon."})
    phase = fields.Enum(Phase, by_value=True, required=True)
    label = fields.Str(load_default="", validate=validate.Length(max=200))
    due_on = Day(load_default=None, allow_none=True, metadata={"description": "Prévu le."})
    done_on = Day(load_default=None, allow_none=True, metadata={"description": "Réalisé le."})


class PlanInSchema(StrictSchema):
    """The whole plan: the milestones sent replace the plan's (those left out are removed)."""

    milestones = fields.List(fields.Nested(MilestoneInSchema), required=True,
                             validate=validate.Length(max=100), metadata={
                                 "description": "Les erreurs d'un jalon sont rendues sous "
                                                "« milestones-<rang>-<champ> »."})
    reason = fields.Str(load_default="", validate=validate.Length(max=5_000), metadata={
        "description": "Le motif ; obligatoire pour modifier un plan déjà établi."})


class _ReportInBase(StrictSchema):
    """A multipart body: the report, its expenses as indexed fields, its attachments."""

    report_date = Day(load_default=None, metadata={"description": "Date du rapport."})
    days_spent = DecimalText(N_("Nombre de jours invalide : indiquez un nombre, par exemple "
                                "12,5."), example="2,5", load_default=None, metadata={
        "description": "Jours consacrés depuis le dernier rapport, par quarts de journée "
                       "(« 2,5 »). Obligatoire pour une mission d'expert (DCOL)."})
    activities = fields.Str(load_default="", validate=validate.Length(max=MAX_TEXT))
    is_field_mission = fields.Bool(load_default=False)
    field_location = fields.Str(load_default="", validate=validate.Length(max=200))
    attachments = fields.List(FileUpload(), load_default=list, metadata={
        "description": "Pièces jointes (comptes rendus, photos…), champ répété."})

    @post_load
    def gather_expenses(self, data: dict, **kwargs) -> dict:
        """The expenses' indexed fields as rows ``(index sent, label, amount, receipt)``; a
        row left wholly blank is left out, as the web form does."""
        rows = []
        for index in range(MAX_EXPENSES):
            label = data.pop(f"expense_{index}_label", "")
            amount = data.pop(f"expense_{index}_amount", None)
            receipt = data.pop(f"expense_{index}_receipt", None)
            if receipt is not None and not receipt.filename:
                receipt = None
            if label.strip() or amount is not None or receipt is not None:
                rows.append((index, label, amount, receipt))
        data["expenses"] = rows
        return data


def _expense_fields() -> dict:
    declared = {}
    for index in range(MAX_EXPENSES):
        prefix = f"expenses-{index}-"
        declared[f"expense_{index}_label"] = fields.Str(
            data_key=prefix + "label", load_default="", validate=validate.Length(max=200),
            metadata={"description": f"Dépense n° {index} : sa nature."})
        declared[f"expense_{index}_amount"] = DecimalText(
            data_key=prefix + "amount", load_default=None,
            metadata={"description": f"Dépense n° {index} : montant TTC en euros."})
        declared[f"expense_{index}_receipt"] = FileUpload(
            data_key=prefix + "receipt", load_default=None,
            metadata={"description": f"Dépense n° {index} : justificatif (PDF ou image)."})
    return declared


ReportInSchema = _ReportInBase.from_dict(_expense_fields(), name="ReportInSchema")
ReportInSchema.__doc__ = (
    "Un corps multipart/form-data : le rapport, ses dépenses en champs indexés "
    f"(« expenses-0-label », « expenses-0-amount », « expenses-0-receipt » ; {MAX_EXPENSES} au "
    "plus, une ligne vide est ignorée) et ses pièces jointes (« attachments », répété).")


class DeliverableInSchema(StrictSchema):
    """A multipart body: the deliverable and its file."""

    title = fields.Str(load_default="", validate=validate.Length(max=1_000))
    description = fields.Str(load_default="", validate=validate.Length(max=10_000))
    is_final = fields.Bool(load_default=False, metadata={
        "description": "Le livrable final : son dépôt remet le rapport final de la mission."})
    file = FileUpload(required=True)


class RevisionInSchema(StrictSchema):
    """A multipart body: the revised version's file and what changed."""

    file = FileUpload(required=True)
    note = fields.Str(load_default="", validate=validate.Length(max=5_000))


class StepInSchema(StrictSchema):
    step = fields.Str(required=True, validate=validate.OneOf(REVIEW_STEPS), metadata={
        "description": "« accept » et « ask_revision » : signataire de la collectivité "
                       "(« ask_revision » aussi pour un chargé de mission) ; « validate » : "
                       "Cités Unies France, après la collectivité."})
    comment = fields.Str(load_default="", validate=validate.Length(max=5_000), metadata={
        "description": "Ce qui doit être revu : obligatoire pour « ask_revision »."})


def _rating() -> fields.Int:
    return fields.Int(required=True, strict=True, validate=validate.Range(min=1, max=5))


class SatisfactionInSchema(StrictSchema):
    quality = _rating()
    timeliness = _rating()
    relevance = _rating()
    overall = _rating()
    comment = fields.Str(load_default="", validate=validate.Length(max=10_000))


# --- what the endpoints answer ----------------------------------------------------------------


class FollowUpTotalsSchema(Schema):
    reports = fields.Int()
    days_logged = fields.Decimal(as_string=True)
    contracted_days = fields.Decimal(as_string=True, allow_none=True)
    days_left = fields.Decimal(as_string=True, allow_none=True)
    days_exceeded = fields.Bool()
    days_percent = fields.Int(allow_none=True)
    expenses = fields.Decimal(as_string=True)
    expenses_budget = fields.Decimal(as_string=True, allow_none=True, metadata={
        "description": "DCOL : les frais de mission prévus par la convention."})
    daily_rate = fields.Decimal(as_string=True, allow_none=True)
    cost_logged = fields.Decimal(as_string=True, metadata={
        "description": "Les jours au tarif journalier plus les dépenses (DCOL), ou les "
                       "dépenses (appel à projets)."})
    contracted_cost = fields.Decimal(as_string=True, allow_none=True)
    cost_percent = fields.Int(allow_none=True)
    last_report_on = Day(allow_none=True)


class FollowUpAlertSchema(Schema):
    id = fields.Int()
    kind = fields.Enum(AlertKind, by_value=True)
    kind_label = fields.Str()
    detail = fields.Str()
    raised_at = fields.AwareDateTime()


class MilestoneSchema(Schema):
    id = fields.Int()
    phase = fields.Enum(Phase, by_value=True)
    phase_label = fields.Str()
    label = fields.Str()
    due_on = Day()
    done_on = Day(allow_none=True)
    is_late = fields.Bool()


class ExpenseSchema(Schema):
    id = fields.Int()
    label = fields.Str()
    amount = fields.Decimal(as_string=True)
    receipt_id = fields.Int(allow_none=True, metadata={
        "description": "Le justificatif : GET /applications/{id}/documents/{receipt_id}."})


class MissionReportSchema(Schema):
    id = fields.Int()
    report_date = Day()
    author = fields.Nested(PersonSchema)
    days_spent = fields.Decimal(as_string=True)
    activities = fields.Str()
    is_field_mission = fields.Bool()
    field_location = fields.Str()
    created_at = fields.AwareDateTime()
    expenses = fields.List(fields.Nested(ExpenseSchema))
    attachments = fields.List(fields.Nested(DocumentSchema))


class DeliverableStepSchema(Schema):
    name = fields.Str()
    label = fields.Str()
    comment_required = fields.Bool()


class DeliverableSchema(Schema):
    id = fields.Int()
    title = fields.Str()
    description = fields.Str()
    is_final = fields.Bool()
    version = fields.Int(metadata={"description": "1, puis un de plus par version révisée."})
    state = fields.Enum(DeliverableState, by_value=True)
    state_label = fields.Str()
    submitted_at = fields.AwareDateTime()
    submitted_by = fields.Nested(PersonSchema, allow_none=True)
    accepted_at = fields.AwareDateTime(allow_none=True, metadata={
        "description": "Validé par la collectivité le."})
    accepted_by = fields.Nested(PersonSchema, allow_none=True)
    validated_at = fields.AwareDateTime(allow_none=True, metadata={
        "description": "Validé par Cités Unies France le."})
    validated_by = fields.Nested(PersonSchema, allow_none=True)
    revision_comment = fields.Str(metadata={"description": "La dernière révision demandée."})
    current_file_id = fields.Int(allow_none=True)
    current_file = fields.Nested(DocumentSchema, allow_none=True)
    previous_files = fields.List(fields.Nested(DocumentSchema), metadata={
        "description": "Les versions précédentes, de la plus récente à la plus ancienne."})
    steps = fields.List(fields.Nested(DeliverableStepSchema), metadata={
        "description": "Ce que l'appelant peut faire maintenant : « resubmit » (POST …/revision)"
                       " ou une étape de POST …/steps."})


class SatisfactionSchema(Schema):
    answered_at = fields.AwareDateTime()
    respondent = fields.Nested(PersonSchema, allow_none=True)
    quality = fields.Int(allow_none=True)
    timeliness = fields.Int(allow_none=True)
    relevance = fields.Int(allow_none=True)
    overall = fields.Int(allow_none=True)
    comment = fields.Str(allow_none=True)
    shows_ratings = fields.Bool(metadata={
        "description": "Faux pour l'expert de la mission : les notes et le commentaire ne lui "
                       "sont pas montrés (null)."})


class CostLineSchema(Schema):
    label = fields.Str()
    amount = fields.Decimal(as_string=True)


class FinalCofinancingSchema(Schema):
    computed_at = fields.AwareDateTime()
    total_cost = fields.Decimal(as_string=True)
    scheme_share = fields.Decimal(as_string=True, metadata={
        "description": "La part du dispositif (jamais au-delà du montant engagé)."})
    applicant_share = fields.Decimal(as_string=True, metadata={"description": "Reste à charge."})
    rate = fields.Decimal(as_string=True, allow_none=True)
    lines = fields.List(fields.Nested(CostLineSchema), metadata={
        "description": "Les coûts réels retenus, chacun dans la limite de la convention."})
    description = fields.List(fields.Str(), metadata={"description": "Le calcul, en français."})


class MissionRefSchema(Schema):
    expert = fields.Str(allow_none=True)
    starts_on = Day(allow_none=True)
    ends_on = Day(allow_none=True)
    expected_deliverables = fields.Str()


class FollowUpSchema(Schema):
    application_id = fields.Int()
    reference = fields.Str()
    state = fields.Enum(ApplicationState, by_value=True)
    state_label = fields.Str()
    version = fields.Int(metadata={"description": "Pour « close » (POST …/events)."})
    closed_at = fields.AwareDateTime(allow_none=True)
    with_expert = fields.Bool(metadata={"description": "Une mission d'expert (DCOL)."})
    mission = fields.Nested(MissionRefSchema)
    totals = fields.Nested(FollowUpTotalsSchema)
    alerts = fields.List(fields.Nested(FollowUpAlertSchema))
    milestones = fields.List(fields.Nested(MilestoneSchema))
    reports = fields.List(fields.Nested(MissionReportSchema), metadata={
        "description": "Du plus récent au plus ancien."})
    deliverables = fields.List(fields.Nested(DeliverableSchema))
    satisfaction = fields.Nested(SatisfactionSchema, allow_none=True)
    final_cofinancing = fields.Nested(FinalCofinancingSchema, allow_none=True)
    closure_report_id = fields.Int(allow_none=True, metadata={
        "description": "Le bilan de clôture (PDF), une fois le dossier clôturé."})
    may_report = fields.Bool(metadata={"description": "Déposer un rapport ou un livrable."})
    may_plan = fields.Bool(metadata={"description": "Modifier le plan de mission."})
    may_answer_satisfaction = fields.Bool()
    may_compute_final_cofinancing = fields.Bool()
