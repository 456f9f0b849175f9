"""Marshmallow schemas of the JSON API (they also write its OpenAPI document)."""

from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

from dcol.applications.services import DEFAULT_SORT, SORTS
from dcol.models import ApplicationState, BudgetLineKind, CallKind
from dcol.models.base import N_


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class TrackSchema(Schema):
    id = fields.Int()
    code = fields.Str()
    name = fields.Str()
    eligible_countries = fields.List(fields.Str())
    eligible_departments = fields.List(fields.Str())


class CallSchema(Schema):
    id = fields.Int()
    kind = fields.Enum(CallKind, by_value=True)
    edition = fields.Int()
    code = fields.Str()
    title = fields.Str()
    summary = fields.Str()
    owner_name = fields.Str()
    opens_at = fields.AwareDateTime()
    closes_at = fields.AwareDateTime()
    tracks = fields.List(fields.Nested(TrackSchema))


class OrganisationRefSchema(Schema):
    id = fields.Int()
    name = fields.Str()


class EventViewSchema(Schema):
    name = fields.Str()
    label = fields.Str()
    reason_required = fields.Bool()
    reason_label = fields.Str()
    unmet = fields.List(fields.Str(), metadata={"description": "Ce qui manque encore (français)."})


class BudgetLineOutSchema(Schema):
    kind = fields.Enum(BudgetLineKind, by_value=True)
    label = fields.Str()
    amount = fields.Decimal(as_string=True)
    is_eligible = fields.Bool()


class ApplicationSchema(Schema):
    id = fields.Int()
    reference = fields.Str()
    call_id = fields.Int()
    track_id = fields.Int(allow_none=True)
    organisation = fields.Nested(OrganisationRefSchema)
    state = fields.Enum(ApplicationState, by_value=True)
    state_label = fields.Str()
    version = fields.Int(metadata={"description": "À renvoyer pour toute modification."})
    title = fields.Str()
    summary = fields.Str()
    data = fields.Dict(keys=fields.Str(), values=fields.Dict())
    countries = fields.List(fields.Str())
    departments = fields.List(fields.Str())
    themes = fields.List(fields.Str())
    estimated_cost = fields.Decimal(as_string=True, allow_none=True)
    requested_amount = fields.Decimal(as_string=True, allow_none=True)
    submitted_at = fields.AwareDateTime(allow_none=True)
    response_deadline = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    budget_lines = fields.List(fields.Nested(BudgetLineOutSchema), metadata={
        "description": "Appels à projets : le budget prévisionnel (dépenses et recettes)."})
    allowed_events = fields.List(fields.Nested(EventViewSchema))


class ApplicationSummarySchema(ApplicationSchema):
    class Meta:
        exclude = ("allowed_events", "data", "budget_lines")


class ApplicationPageSchema(Schema):
    items = fields.List(fields.Nested(ApplicationSummarySchema))
    page = fields.Int()
    per_page = fields.Int()
    total = fields.Int()


class ApplicationQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    call_id = fields.Int(validate=validate.Range(min=1, max=2**31 - 1))
    state = fields.Enum(ApplicationState, by_value=True)
    organisation_id = fields.Int(validate=validate.Range(min=1, max=2**31 - 1))
    sort = fields.Str(load_default=DEFAULT_SORT, validate=validate.OneOf(SORTS), metadata={
        "description": "L'ordre : une colonne, précédée de « - » pour l'ordre décroissant "
                       "(`-submitted_at` : les derniers déposés d'abord). Les dossiers jamais "
                       "déposés viennent toujours en dernier ; un dossier sans montant compte "
                       "pour le plus petit. À égalité, l'identifiant, dans le même sens.",
        "example": "-submitted_at"})
    page = fields.Int(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Int(load_default=50, validate=validate.Range(min=1, max=100))


ID = validate.Range(min=1, max=2**31 - 1)


class EligibilityRequestSchema(StrictSchema):
    """The pre-check's answers: the track and the places of the action."""

    track_id = fields.Int(validate=ID, allow_none=True, load_default=None)
    countries = fields.List(fields.Str(validate=validate.Length(equal=2)), required=True,
                            validate=validate.Length(min=1, max=250),
                            metadata={"description": "Codes ISO 3166-1 alpha-2 des pays."})
    departments = fields.List(fields.Str(validate=validate.Length(min=2, max=3)),
                              load_default=list, validate=validate.Length(max=110),
                              metadata={"description": "Départements concernés en France."})


class EligibilitySchema(Schema):
    eligible = fields.Bool()
    problems = fields.List(fields.Str(), metadata={"description": "Pourquoi pas, en français."})


class ApplicationCreateSchema(EligibilityRequestSchema):
    """A new draft: the call, then the pre-check's answers (refused with its reasons, 409)."""

    call_id = fields.Int(required=True, validate=ID)
    title = fields.Str(validate=validate.Length(max=300), load_default="")


class ApplicationUpdateSchema(StrictSchema):
    version = fields.Int(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    title = fields.Str(validate=validate.Length(max=300))
    summary = fields.Str(validate=validate.Length(max=20000))
    track_id = fields.Int(validate=validate.Range(min=1, max=2**31 - 1))
    data = fields.Dict(keys=fields.Str(validate=validate.Length(max=50)), values=fields.Dict())
    countries = fields.List(fields.Str(validate=validate.Length(equal=2)))
    departments = fields.List(fields.Str(validate=validate.Length(min=2, max=3)))
    themes = fields.List(fields.Str())
    estimated_cost = fields.Decimal(allow_none=True, places=2, allow_nan=False)
    requested_amount = fields.Decimal(allow_none=True, places=2, allow_nan=False)


class TextOrNumber(fields.Field):
    """A JSON string or number, passed on as sent (the event's guards check its value)."""

    default_error_messages = {"invalid": N_("Texte ou nombre attendu.")}  # translated in the 422

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.make_error("invalid")
        return value


class EventPayloadSchema(StrictSchema):
    """What some events take besides the comment. Only the types are checked here: the values
    are checked by the event's guards, which answer in French (422) what is wrong with them.

    Unknown keys are refused (``additionalProperties: false``): the payload is kept in the
    dossier's audit trail, so a misspelt key would otherwise be silently ignored and recorded
    for good; refusing it tells the client at once."""

    response_deadline = fields.Str(metadata={
        "description": "``request_changes`` : date limite de réponse, une date (fin de journée, "
        "heure de Paris) ou une date-heure ISO 8601, dans le futur et à deux ans au plus.",
        "oneOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}],
    })
    expert_id = fields.Int(strict=True, validate=validate.Range(min=1, max=2**31 - 1), metadata={
        "description": "``propose_expert`` : l'expert proposé (identifiant du vivier)."})
    indicative_days = TextOrNumber(metadata={
        "description": "``propose_expert`` : nombre de jours indicatif, supérieur à 0, 365 au "
        "plus, deux décimales au plus (« 12.5 », « 12,5 » ou 12.5).",
        "oneOf": [{"type": "string", "maxLength": 30}, {"type": "number"}],
    })
    indicative_start = fields.Str(metadata={
        "format": "date", "description": "``propose_expert`` : début indicatif (AAAA-MM-JJ)."})
    indicative_end = fields.Str(metadata={
        "format": "date", "description": "``propose_expert`` : fin indicative (AAAA-MM-JJ)."})
    no_conflict = fields.Bool(truthy={True}, falsy={False}, metadata={
        "description": "``accept_mission`` : l'expert déclare n'avoir aucun conflit d'intérêts "
        "avec la collectivité (doit valoir true)."})
    explanation = fields.Dict(keys=fields.Str(), metadata={
        "description": "``propose_expert`` : l'explication du rapprochement (objet JSON)."})
    override_reason = fields.Str(validate=validate.Length(max=2000), metadata={
        "description": "``propose_expert`` : motif d'une proposition qui déroge au classement."})


class EventRequestSchema(StrictSchema):
    event = fields.Str(required=True, validate=validate.Length(min=1, max=60))
    comment = fields.Str(load_default="", validate=validate.Length(max=20000))
    payload = fields.Nested(EventPayloadSchema, load_default=dict, metadata={
        "description": "Les données propres à l'événement ; toute autre clé est refusée (422)."})
    version = fields.Int(
        required=True,
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "La version lue ; une version périmée est refusée (412)."},
    )


class AuditEntrySchema(Schema):
    sequence = fields.Int()
    event = fields.Str()
    from_state = fields.Str(allow_none=True)
    to_state = fields.Str(allow_none=True)
    occurred_at = fields.AwareDateTime()
    actor = fields.Str(allow_none=True)
    comment = fields.Str()


class DocumentSchema(Schema):
    id = fields.Int()
    kind = fields.Str()
    original_name = fields.Str()
    content_type = fields.Str()
    size = fields.Int()
    sha256 = fields.Str()
    uploaded_at = fields.AwareDateTime()
    is_current = fields.Bool()
    requirement = fields.Str(allow_none=True)


class BudgetLineSchema(StrictSchema):
    kind = fields.Enum(BudgetLineKind, by_value=True, required=True)
    label = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    amount = fields.Decimal(required=True, allow_nan=False, as_string=True, metadata={
        "description": "En euros, deux décimales au plus, positif."})
    is_eligible = fields.Bool(load_default=True)


class BudgetSchema(StrictSchema):
    version = fields.Int(required=True, validate=ID,
                         metadata={"description": "La version lue ; périmée : 412."})
    lines = fields.List(fields.Nested(BudgetLineSchema), required=True,
                        validate=validate.Length(max=200))


class DocumentUploadSchema(StrictSchema):
    """A multipart body: the file and, for an item of the call's checklist, its code."""

    file = Upload(required=True)
    requirement = fields.Str(validate=validate.Length(max=40), load_default="", metadata={
        "description": "Le code de la pièce demandée (liste de l'appel) ; vide : pièce libre."})


class PersonSchema(Schema):
    id = fields.Int()
    full_name = fields.Str()


class EditorsSchema(Schema):
    author = fields.Nested(PersonSchema, allow_none=True)
    co_editors = fields.List(fields.Nested(PersonSchema))
    signatories = fields.List(fields.Nested(PersonSchema))
    candidates = fields.List(fields.Nested(PersonSchema), metadata={
        "description": "Les membres qui peuvent être désignés co-rédacteurs."})


class EditorRequestSchema(StrictSchema):
    user_id = fields.Int(required=True, validate=ID)


class MessageSchema(Schema):
    id = fields.Int()
    author = fields.Str()
    side = fields.Str(metadata={"description": "Au nom de qui écrit l'auteur."})
    body = fields.Str()
    created_at = fields.AwareDateTime()
    unread = fields.Bool()
    attachments = fields.List(fields.Nested(DocumentSchema))


class MessagePostSchema(StrictSchema):
    """A multipart body: the message and its attachments (``attachments``, repeated)."""

    body = fields.Str(required=True, validate=validate.Length(max=20000))
    attachments = fields.List(Upload(), load_default=list)


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type = fields.Str()
    title = fields.Str()
    status = fields.Int()
    detail = fields.Str()
    problems = fields.List(fields.Str())
    errors = fields.Dict()
