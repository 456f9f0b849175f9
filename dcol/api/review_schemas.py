"""Marshmallow schemas of the instruction's API: the recevabilité checklist, reviewers, reviews,
the consensus, the call's assignments, ranking and scoring grid.

Scores, weights, thresholds and amounts are decimals written as strings ("3.5"), like the
dossiers' amounts; inputs take a string or a number. The rules on their values (scale, step,
thresholds) are the services', which answer in French with each error keyed by its field.
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from dcol.api.schemas import ID, PersonSchema, StrictSchema
from dcol.models import ApplicationState, ConflictStatus, Opinion, ReviewState
from dcol.models.base import N_

TEXT = validate.Length(max=10_000)


def sane_magnitude(value) -> None:
    """Only absurd magnitudes are refused here (the services check the real ranges, in
    French): they would fit neither the columns nor the decimal context."""
    if value is not None and abs(value) >= 1_000_000:
        raise ValidationError(N_("Nombre invalide."))


# The shape of a tie-break's name (``criterion:2``...); the grid's service checks the rest.
TIE_BREAK = validate.Regexp(r"^[a-z_]{1,30}(:[0-9]{1,3})?$",
                            error=N_("Critères de départage inconnus ou répétés."))


def decimal_in(**kwargs) -> fields.Decimal:
    return fields.Decimal(as_string=True, allow_nan=False, validate=sane_magnitude, **kwargs)


def decimal_out(**kwargs) -> fields.Decimal:
    return fields.Decimal(as_string=True, allow_none=True, **kwargs)


def no_duplicates(rows: list[dict], key: str, field: str, message: str) -> None:
    seen = [row[key] for row in rows]
    if len(seen) != len(set(seen)):
        raise ValidationError({field: [message]})


# --- shared pieces ------------------------------------------------------------------------------


class NamedRefSchema(Schema):
    id = fields.Int()
    name = fields.Str()


class CallRefSchema(Schema):
    id = fields.Int()
    title = fields.Str()


class DossierRefSchema(Schema):
    """What a reviewer sees of a dossier before declaring the absence of a conflict of
    interest, and what lists show of it."""

    id = fields.Int()
    reference = fields.Str()
    title = fields.Str(metadata={"description": "Absent tant que la déclaration est attendue."})
    organisation = fields.Nested(NamedRefSchema)
    organisation_kind = fields.Str(metadata={"description": "Le type de collectivité (français)."})
    call = fields.Nested(CallRefSchema)
    track = fields.Str(allow_none=True, metadata={"description": "Le volet."})
    state = fields.Enum(ApplicationState, by_value=True, metadata={
        "description": "Absent tant que la déclaration est attendue."})
    state_label = fields.Str()


class CriterionSchema(Schema):
    id = fields.Int()
    position = fields.Int()
    label = fields.Str()
    guidance = fields.Str()
    weight = decimal_out()
    scale_max = decimal_out()
    step = decimal_out()
    threshold = decimal_out(metadata={"description": "Seuil du critère (moyenne), ou null."})


# --- recevabilité ---------------------------------------------------------------------------------


class EligibilityAnswerSchema(Schema):
    item_id = fields.Int()
    label = fields.Str()
    position = fields.Int()
    is_met = fields.Bool(allow_none=True, metadata={"description": "null : point non vérifié."})
    note = fields.Str()
    checked_at = fields.AwareDateTime(allow_none=True)


class EligibilityChecksSchema(Schema):
    may_check = fields.Bool(metadata={"description": "L'appelant peut renseigner la liste."})
    items = fields.List(fields.Nested(EligibilityAnswerSchema))


class EligibilityAnswerInSchema(StrictSchema):
    item_id = fields.Int(required=True, validate=ID)
    is_met = fields.Bool(required=True, truthy={True}, falsy={False})
    note = fields.Str(load_default="", validate=TEXT)


class EligibilityChecksInSchema(StrictSchema):
    answers = fields.List(fields.Nested(EligibilityAnswerInSchema), required=True,
                          validate=validate.Length(max=100), metadata={
                              "description": "Une réponse par point de la liste de l'appel ; "
                              "erreurs : ``item-<id du point>``."})

    @validates_schema
    def _distinct(self, data, **kwargs):
        no_duplicates(data.get("answers", []), "item_id", "answers",
                      N_("Un même point est renseigné deux fois."))


# --- reviewers and the reviewer's own review ----------------------------------------------------


class ReviewerRequestSchema(StrictSchema):
    reviewer_id = fields.Int(required=True, validate=ID)


class AssignmentSchema(Schema):
    """An assignment of a reviewer to a dossier (CUF staff)."""

    id = fields.Int(metadata={"description": "L'affectation (pour la retirer)."})
    application_id = fields.Int()
    reviewer = fields.Nested(PersonSchema)
    conflict_status = fields.Enum(ConflictStatus, by_value=True)
    conflict_status_label = fields.Str()
    state = fields.Enum(ReviewState, by_value=True)
    state_label = fields.Str()
    assigned_at = fields.AwareDateTime()
    submitted_at = fields.AwareDateTime(allow_none=True)


class ScoreSchema(Schema):
    criterion = fields.Nested(CriterionSchema)
    score = decimal_out()
    comment = fields.Str()


class OwnReviewSchema(Schema):
    """The caller's review. While the declaration on conflicts of interest is awaited, only
    ``id``, ``conflict_status`` and the dossier's reference, collectivité and call."""

    id = fields.Int()
    conflict_status = fields.Enum(ConflictStatus, by_value=True)
    conflict_status_label = fields.Str()
    application = fields.Nested(DossierRefSchema)
    state = fields.Enum(ReviewState, by_value=True)
    state_label = fields.Str()
    submitted_at = fields.AwareDateTime(allow_none=True)
    scores = fields.List(fields.Nested(ScoreSchema), metadata={
        "description": "Un par critère de la grille, dans l'ordre."})
    opinion = fields.Enum(Opinion, by_value=True, allow_none=True)
    opinion_label = fields.Str(allow_none=True)
    overall_comment = fields.Str()
    may_score = fields.Bool(metadata={"description": "L'évaluation peut être modifiée."})
    may_view_reviews = fields.Bool(metadata={
        "description": "Les autres évaluations sont lisibles (``GET .../reviews``)."})


class DeclarationSchema(StrictSchema):
    has_conflict = fields.Bool(required=True, truthy={True}, falsy={False})
    note = fields.Str(load_default="", validate=TEXT, metadata={
        "description": "La nature du lien, obligatoire en cas de conflit (vue du seul chargé de "
        "mission)."})


class ScoreInSchema(StrictSchema):
    criterion_id = fields.Int(required=True, validate=ID)
    score = decimal_in(allow_none=True, load_default=None, metadata={
        "description": "De 0 à la note maximale du critère, par pas ; null : non noté."})
    comment = fields.Str(load_default="", validate=TEXT)


class ReviewInSchema(StrictSchema):
    scores = fields.List(fields.Nested(ScoreInSchema), load_default=list,
                         validate=validate.Length(max=100), metadata={
                             "description": "L'évaluation entière : un critère absent n'est pas "
                             "noté. Erreurs : ``score-<id du critère>``, ``comment-<id>``."})
    opinion = fields.Enum(Opinion, by_value=True, allow_none=True, load_default=None)
    overall_comment = fields.Str(load_default="", validate=TEXT)
    submit = fields.Bool(load_default=False, truthy={True}, falsy={False}, metadata={
        "description": "true : soumettre (chaque critère noté, un avis) ; l'évaluation est "
        "alors verrouillée."})

    @validates_schema
    def _distinct(self, data, **kwargs):
        no_duplicates(data.get("scores", []), "criterion_id", "scores",
                      N_("Un même critère est noté deux fois."))


# --- a dossier's reviews --------------------------------------------------------------------------


class CriterionResultSchema(Schema):
    criterion = fields.Nested(CriterionSchema)
    scores = fields.List(decimal_out(), metadata={"description": "Une note par évaluation."})
    mean = decimal_out(metadata={"description": "Moyenne arrondie au centième."})
    spread = decimal_out(metadata={"description": "Écart entre la plus haute et la plus basse."})
    is_divergent = fields.Bool()
    is_below_threshold = fields.Bool()


class AggregateSchema(Schema):
    review_count = fields.Int()
    criteria = fields.List(fields.Nested(CriterionResultSchema))
    weighted_total = decimal_out()
    max_total = decimal_out()
    score = decimal_out(metadata={"description": "Note calculée sur 100."})
    consensus = decimal_out(metadata={"description": "Note de consensus sur 100."})
    final_score = decimal_out(metadata={"description": "Le consensus, sinon la note calculée."})
    overall_threshold = decimal_out()
    divergence_threshold = decimal_out()
    is_below_overall_threshold = fields.Bool()
    is_flagged = fields.Bool(metadata={"description": "Sous un seuil (critère ou global)."})


class ConsensusSchema(Schema):
    score = decimal_out()
    justification = fields.Str()
    recorded_at = fields.AwareDateTime()


class ReviewScoreSchema(Schema):
    criterion_id = fields.Int()
    score = decimal_out()
    comment = fields.Str()


class SubmittedReviewSchema(Schema):
    id = fields.Int()
    reviewer = fields.Str(metadata={
        "description": "Son nom pour le personnel de CUF et le comité, « Instructeur 1 »... "
        "pour les autres instructeurs."})
    opinion = fields.Enum(Opinion, by_value=True, allow_none=True)
    opinion_label = fields.Str(allow_none=True)
    overall_comment = fields.Str()
    submitted_at = fields.AwareDateTime()
    scores = fields.List(fields.Nested(ReviewScoreSchema))


class ReviewsSchema(Schema):
    application = fields.Nested(DossierRefSchema)
    aggregate = fields.Nested(AggregateSchema)
    consensus = fields.Nested(ConsensusSchema, allow_none=True)
    reviews = fields.List(fields.Nested(SubmittedReviewSchema))
    assignments = fields.List(fields.Nested(AssignmentSchema), metadata={
        "description": "Les instructeurs affectés (chargé de mission seulement)."})
    may_manage = fields.Bool(metadata={
        "description": "L'appelant peut rouvrir une évaluation et fixer le consensus."})


class ReopenSchema(StrictSchema):
    reason = fields.Str(required=True, validate=TEXT)


class ConsensusInSchema(StrictSchema):
    score = decimal_in(required=True, metadata={"description": "Sur 100, deux décimales."})
    justification = fields.Str(required=True, validate=TEXT)


# --- the call's assignments ---------------------------------------------------------------------


class BoardRowSchema(Schema):
    application = fields.Nested(DossierRefSchema)
    reviews = fields.List(fields.Nested(AssignmentSchema), metadata={
        "description": "Toutes les affectations, conflits déclarés compris."})
    missing = fields.Int(metadata={"description": "Instructeurs à affecter pour le minimum."})
    may_assign = fields.Bool()


class PoolEntrySchema(Schema):
    reviewer = fields.Nested(PersonSchema)
    load = fields.Int(metadata={"description": "Évaluations à rédiger, tous appels."})
    call_load = fields.Int(metadata={"description": "Évaluations à rédiger dans cet appel."})


class AssignmentBoardSchema(Schema):
    min_reviewers = fields.Int()
    rows = fields.List(fields.Nested(BoardRowSchema))
    pool = fields.List(fields.Nested(PoolEntrySchema))


class BulkAssignmentSchema(AssignmentBoardSchema):
    created = fields.List(fields.Nested(AssignmentSchema), metadata={
        "description": "Les affectations créées par cette répartition."})


# --- ranking and grid ---------------------------------------------------------------------------


class TieBreakSchema(Schema):
    name = fields.Str()
    label = fields.Str()


class RankedSchema(Schema):
    rank = fields.Int(metadata={"description": "Les ex aequo partagent un rang (1, 1, 3)."})
    application_id = fields.Int()
    reference = fields.Str()
    is_tied = fields.Bool()
    tie_broken_by = fields.Str(allow_none=True, metadata={
        "description": "Le critère de départage qui l'a séparé du dossier au-dessus."})
    score = decimal_out()
    consensus = decimal_out()
    final_score = decimal_out()
    requested_amount = decimal_out()
    estimated_cofinancing = decimal_out()
    is_flagged = fields.Bool()
    is_below_overall_threshold = fields.Bool()
    below_threshold = fields.List(fields.Int(), metadata={
        "description": "Les critères (id) dont la moyenne est sous le seuil."})
    divergent = fields.List(fields.Int(), metadata={
        "description": "Les critères (id) où les instructeurs divergent."})


class TrackRankingSchema(Schema):
    track_id = fields.Int(allow_none=True)
    track_name = fields.Str()
    total = fields.Int(metadata={"description": "Les dossiers classés du volet."})
    page = fields.Int(metadata={"description": "La page donnée (la dernière quand ``page`` "
                                               "va au-delà)."})
    ranked = fields.List(fields.Nested(RankedSchema), metadata={
        "description": "Cette page du classement du volet ; le rang est celui du volet entier."})


class RankingQuerySchema(StrictSchema):
    track_id = fields.Int(validate=ID, metadata={"description": "Un seul volet."})
    page = fields.Int(load_default=1, validate=validate.Range(min=1, max=100000), metadata={
        "description": "La page de chaque volet."})
    per_page = fields.Int(load_default=50, validate=validate.Range(min=1, max=100))


class RankingSchema(Schema):
    tie_breaks = fields.List(fields.Nested(TieBreakSchema))
    per_page = fields.Int()
    tracks = fields.List(fields.Nested(TrackRankingSchema))


class ChecklistItemSchema(Schema):
    id = fields.Int()
    position = fields.Int()
    label = fields.Str()


class GridSchema(Schema):
    criteria = fields.List(fields.Nested(CriterionSchema))
    overall_threshold = decimal_out()
    divergence_threshold = decimal_out()
    min_reviewers = fields.Int()
    tie_breaks = fields.List(fields.Str())
    tie_break_choices = fields.List(fields.Nested(TieBreakSchema))
    is_frozen = fields.Bool(metadata={
        "description": "Figée depuis la première évaluation soumise : plus modifiable."})
    frozen_at = fields.AwareDateTime(allow_none=True)
    eligibility_checklist = fields.List(fields.Nested(ChecklistItemSchema))
    is_checklist_frozen = fields.Bool(metadata={
        "description": "La liste de recevabilité a servi : plus modifiable."})
    may_edit = fields.Bool()


class CriterionInSchema(StrictSchema):
    id = fields.Int(validate=ID, allow_none=True, load_default=None, metadata={
        "description": "Un critère existant (à garder), ou null pour un nouveau critère."})
    label = fields.Str(required=True, validate=validate.Length(max=1000))
    guidance = fields.Str(load_default="", validate=TEXT)
    weight = decimal_in(allow_none=True, load_default=None, metadata={
        "description": "Défaut 1."})
    scale_max = decimal_in(allow_none=True, load_default=None, metadata={
        "description": "Défaut 5."})
    step = decimal_in(allow_none=True, load_default=None, metadata={"description": "Défaut 0.5."})
    threshold = decimal_in(allow_none=True, load_default=None)


class GridInSchema(StrictSchema):
    criteria = fields.List(fields.Nested(CriterionInSchema), required=True,
                           validate=validate.Length(max=100), metadata={
                               "description": "La grille entière, dans l'ordre ; un critère "
                               "absent est supprimé. Erreurs : ``criteria-<rang>-<champ>``."})
    overall_threshold = decimal_in(allow_none=True, load_default=None)
    divergence_threshold = decimal_in(required=True)
    min_reviewers = fields.Int(required=True, validate=validate.Range(min=-1000, max=1000))
    tie_breaks = fields.List(fields.Str(validate=TIE_BREAK), load_default=list,
                             validate=validate.Length(max=40), metadata={
                                 "description": "Parmi ``tie_break_choices`` de la grille."})


class ChecklistInSchema(StrictSchema):
    items = fields.List(fields.Str(validate=validate.Length(max=1000)), required=True,
                        validate=validate.Length(max=100), metadata={
                            "description": "Les intitulés des points, dans l'ordre."})


# --- the reviewer's assignments -----------------------------------------------------------------


class ReviewerTaskSchema(Schema):
    id = fields.Int(metadata={"description": "L'affectation."})
    application = fields.Nested(DossierRefSchema)
    assigned_at = fields.AwareDateTime()
    submitted_at = fields.AwareDateTime(allow_none=True)


ASSIGNMENT_GROUPS = ("to_declare", "to_write", "waiting", "submitted")


class ReviewerAssignmentsQuerySchema(StrictSchema):
    group = fields.Str(validate=validate.OneOf(ASSIGNMENT_GROUPS), metadata={
        "description": "Un seul groupe (les autres listes sont alors vides)."})
    page = fields.Int(load_default=1, validate=validate.Range(min=1, max=100000), metadata={
        "description": "La page de chaque groupe (la dernière quand elle va au-delà)."})
    per_page = fields.Int(load_default=50, validate=validate.Range(min=1, max=100))


class AssignmentCountsSchema(Schema):
    to_declare = fields.Int()
    to_write = fields.Int()
    waiting = fields.Int()
    submitted = fields.Int()


class ReviewerAssignmentsSchema(Schema):
    counts = fields.Nested(AssignmentCountsSchema, metadata={
        "description": "Le nombre d'affectations de chaque groupe."})
    per_page = fields.Int()
    pages = fields.Nested(AssignmentCountsSchema, metadata={
        "description": "La page donnée de chaque groupe."})
    to_declare = fields.List(fields.Nested(ReviewerTaskSchema), metadata={
        "description": "Déclaration sur les conflits d'intérêts attendue."})
    to_write = fields.List(fields.Nested(ReviewerTaskSchema), metadata={
        "description": "Instruction ouverte, évaluation à rédiger."})
    waiting = fields.List(fields.Nested(ReviewerTaskSchema), metadata={
        "description": "L'instruction n'a pas encore commencé."})
    submitted = fields.List(fields.Nested(ReviewerTaskSchema))
