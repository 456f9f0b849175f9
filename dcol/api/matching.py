"""API endpoints of the expert matching (scheme managers only): a dossier's brief and its
suggestions with their explanations and exclusions, and a call's optimal proposal and its
confirmation. Thin, over ``dcol.matching.services``, which the web pages use too."""

from __future__ import annotations

from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from dcol.api.common import alt, blp, not_found, problem_from
from dcol.api.schemas import StrictSchema
from dcol.extensions import db
from dcol.matching import services
from dcol.models import Application, ApplicationState, Call, CallKind
from dcol.permissions import Action, can
from workflows import engine
from workflows.inputs import MAX_OVERRIDE_REASON

DATABASE_ID = validate.Range(min=1, max=2**31 - 1)


# --- schemas ----------------------------------------------------------------------------------


class BriefInputSchema(StrictSchema):
    themes = fields.List(fields.Str(validate=validate.Length(max=40)), load_default=list,
                         validate=validate.Length(max=20), metadata={
                             "description": "Compétences recherchées (valeurs des thèmes)."})
    languages = fields.List(fields.Str(validate=validate.Length(max=3)), required=True,
                            validate=validate.Length(max=20), metadata={
                                "description": "Langues de travail exigées (ISO 639-1)."})
    indicative_days = fields.Str(load_default="", validate=validate.Length(max=30))
    starts_on = fields.Str(load_default="", validate=validate.Length(max=10),
                           metadata={"description": "AAAA-MM-JJ"})
    ends_on = fields.Str(load_default="", validate=validate.Length(max=10),
                         metadata={"description": "AAAA-MM-JJ"})
    budget = fields.Str(load_default="", validate=validate.Length(max=30), metadata={
        "description": "En euros HT ; vide : le coût estimé du dossier."})
    expected_deliverables = fields.Str(load_default="",
                                       validate=validate.Length(max=services.MAX_DELIVERABLES))


class BriefSchema(Schema):
    themes = fields.List(fields.Str())
    languages = fields.List(fields.Str())
    indicative_days = fields.Str(allow_none=True)
    starts_on = fields.Str(allow_none=True)
    ends_on = fields.Str(allow_none=True)
    budget = fields.Str(allow_none=True)
    expected_deliverables = fields.Str()


class PartSchema(Schema):
    key = fields.Str()
    label = fields.Str()
    weight = fields.Int()
    value = fields.Float(metadata={"description": "Adéquation, de 0 à 1."})
    points = fields.Float(metadata={"description": "Poids × adéquation."})


class ExplanationSchema(Schema):
    expert_id = fields.Int()
    expert = fields.Str()
    score = fields.Float(metadata={"description": "Sur 100 : la somme des points des critères."})
    parts = fields.List(fields.Dict(), metadata={
        "description": "Chaque critère (clé, libellé, poids, adéquation, points) avec ce qui "
                       "l'explique (compétences trouvées et manquantes, mots, zone, langues, "
                       "tarif, charge, satisfaction)."})


class ExclusionSchema(Schema):
    expert_id = fields.Int()
    expert = fields.Str()
    reasons = fields.List(fields.Str(), metadata={
        "description": "inactive, conflict, declined, language, capacity, unavailable"})


class SuggestionsSchema(Schema):
    application_id = fields.Int()
    state = fields.Str()
    brief = fields.Nested(BriefSchema)
    suggestions = fields.List(fields.Nested(ExplanationSchema))
    excluded = fields.List(fields.Nested(ExclusionSchema))


class AlternateSchema(Schema):
    expert_id = fields.Int()
    expert = fields.Str()
    score = fields.Float()
    proposed_for = fields.List(fields.Str())


class ElsewhereSchema(AlternateSchema):
    cost = fields.Float(allow_none=True, metadata={
        "description": "Points perdus au total en lui confiant ce dossier."})
    fewer_matched = fields.Bool()


class LineSchema(Schema):
    application_id = fields.Int()
    reference = fields.Str()
    organisation = fields.Str()
    expert = fields.Nested(ExplanationSchema, allow_none=True)
    alternates = fields.List(fields.Nested(AlternateSchema))
    best_candidate_elsewhere = fields.Nested(ElsewhereSchema, allow_none=True)
    candidates = fields.List(fields.Int(), metadata={
        "description": "Les experts possibles, du meilleur au moins bon."})


class CallProposalSchema(Schema):
    call_id = fields.Int()
    matched = fields.Int()
    total = fields.Float(metadata={"description": "Somme des notes, moins le coût de charge."})
    lines = fields.List(fields.Nested(LineSchema))


class ChoiceSchema(StrictSchema):
    application_id = fields.Int(required=True, strict=True, validate=DATABASE_ID)
    expert_id = fields.Int(required=True, strict=True, validate=DATABASE_ID)
    override_reason = fields.Str(load_default="", validate=validate.Length(
        max=MAX_OVERRIDE_REASON), metadata={
            "description": "Obligatoire pour un autre expert que celui de la proposition."})


class ChoicesSchema(StrictSchema):
    proposals = fields.List(fields.Nested(ChoiceSchema), required=True,
                            validate=validate.Length(min=1, max=500), metadata={
                                "description": "Toutes envoyées, ou aucune."})


class ProposalsMadeSchema(Schema):
    application_ids = fields.List(fields.Int())


# --- helpers ----------------------------------------------------------------------------------


def _dossier(application_id: int) -> Application | None:
    application = db.session.get(Application, application_id)
    if (application is None or application.call.kind is not CallKind.DCOL
            or not can(g.api_user, Action.APP_MANAGE, application)):
        return None
    return application


def _call(call_id: int) -> Call | None:
    call = db.session.get(Call, call_id)
    if call is None or call.kind is not CallKind.DCOL or not can(g.api_user, Action.CALL_MANAGE,
                                                                 call):
        return None
    return call


def _dump_suggestions(application: Application) -> dict:
    suggestions = services.suggest_experts(application)
    return {
        "application_id": application.id, "state": application.state.value,
        "brief": services.brief_payload(suggestions.brief),
        "suggestions": [explanation for _, explanation in suggestions.ranked],
        "excluded": [{"expert_id": expert.id, "expert": expert.name,
                      "reasons": [reason["code"] for reason in reasons]}
                     for expert, reasons in suggestions.excluded],
    }


def _alternate(expert, explanation, holders) -> dict:
    return {"expert_id": expert.id, "expert": expert.name, "score": explanation["score"],
            "proposed_for": [a.reference for a in holders]}


def _dump_proposal(proposal: services.CallProposal) -> dict:
    lines = []
    for line in proposal.lines:
        elsewhere = None
        if line.elsewhere:
            e = line.elsewhere
            elsewhere = {**_alternate(e.expert, e.explanation, e.taken_by), "cost": e.cost,
                         "fewer_matched": e.fewer_matched}
        lines.append({
            "application_id": line.application.id, "reference": line.application.reference,
            "organisation": line.application.organisation.name,
            "expert": line.explanation,
            "alternates": [_alternate(*alternate) for alternate in line.alternates],
            "best_candidate_elsewhere": elsewhere,
            "candidates": [expert.id for expert, _ in line.options],
        })
    return {"call_id": proposal.call.id, "matched": proposal.assignment.assigned,
            "total": proposal.assignment.total / 100, "lines": lines}


# --- endpoints --------------------------------------------------------------------------------


@blp.route("/applications/<int:application_id>/expert-suggestions")
class ExpertSuggestions(MethodView):
    @blp.response(200, SuggestionsSchema)
    @alt(401, 404)
    def get(self, application_id: int):
        """Les experts suggérés pour un dossier en recherche d'expert, du meilleur au moins bon,
        avec chaque critère de leur note ; et les experts écartés, avec leurs motifs."""
        application = _dossier(application_id)
        if application is None:
            return not_found()
        if application.state is not ApplicationState.MATCHING:
            return {"application_id": application.id, "state": application.state.value,
                    "brief": services.brief_payload(services.brief_of(application)),
                    "suggestions": [], "excluded": []}
        return _dump_suggestions(application)


@blp.route("/applications/<int:application_id>/matching-brief")
class MatchingBriefResource(MethodView):
    @blp.arguments(BriefInputSchema)
    @blp.response(200, SuggestionsSchema)
    @alt(401, 403, 404, 409, 422)
    def put(self, args, application_id: int):
        """Le besoin d'expertise du dossier (pendant la recherche d'expert) : compétences,
        langues exigées, jours, période, budget, livrables. Renvoie les suggestions qui en
        découlent."""
        application = _dossier(application_id)
        if application is None:
            return not_found()
        try:
            services.save_brief(application, g.api_user, args)
            db.session.commit()
        except engine.WorkflowError as error:
            db.session.rollback()
            return problem_from(error)
        return _dump_suggestions(application)


@blp.route("/calls/<int:call_id>/expert-matching")
class CallExpertMatching(MethodView):
    @blp.response(200, CallProposalSchema)
    @alt(401, 404)
    def get(self, call_id: int):
        """La proposition optimale pour les dossiers de l'appel en recherche d'expert : pour
        chacun l'expert, deux suppléants, et, si son meilleur candidat est allé ailleurs, où et
        à quel coût."""
        call = _call(call_id)
        return _dump_proposal(services.propose_assignment(call)) if call else not_found()

    @blp.arguments(ChoicesSchema)
    @blp.response(201, ProposalsMadeSchema)
    @alt(401, 403, 404, 409, 422)
    def post(self, args, call_id: int):
        """Envoyer des propositions aux experts (« propose_expert ») : toutes, ou aucune (le
        refus nomme chaque dossier et pourquoi, dans ``errors``). Un autre expert que celui de
        la proposition demande ``override_reason``."""
        call = _call(call_id)
        if call is None:
            return not_found()
        choices = [services.Choice(item["application_id"], item["expert_id"],
                                   item["override_reason"]) for item in args["proposals"]]
        try:
            made = services.confirm_proposals(call, g.api_user, choices)
            db.session.commit()
        except engine.WorkflowError as error:
            db.session.rollback()
            return problem_from(error)
        return {"application_ids": [proposal.application_id for proposal in made]}, 201
