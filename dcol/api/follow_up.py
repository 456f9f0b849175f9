"""API endpoints of a support's follow-up: the running totals, alerts, the mission plan, reports
with their expenses and receipts, deliverables and their course, the satisfaction questionnaire
and the final cofinancing. Closing is the ``close`` event (POST /applications/{id}/events).

Thin, over the services the follow-up pages call (``dcol.missions``), with the pages' access
checks: each endpoint loads the dossier for the action the page loads it for, and answers 404
when the caller may not do it or the dossier is not followed (it has no mission yet); the
services' refusals otherwise (403, 409, 422 with each field's French message).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import g
from flask.views import MethodView
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from dcol.api import problem
from dcol.api.common import DEFAULT_ERROR, ERRORS, alt, blp, not_found
from dcol.api.content import document_row
from dcol.api.follow_up_schemas import (
    DeliverableInSchema,
    DeliverableSchema,
    FinalCofinancingSchema,
    FollowUpSchema,
    MissionReportSchema,
    PlanInSchema,
    ReportInSchema,
    RevisionInSchema,
    SatisfactionInSchema,
    StepInSchema,
)
from dcol.extensions import db
from dcol.finance.cofinancing import breakdown_of, describe
from dcol.i18n import PARIS
from dcol.missions import closure, deliverables, reports
from dcol.missions import plan as mission_plan
from dcol.missions.alerts import open_alerts
from dcol.missions.views import FOLLOWED_STATES
from dcol.models import (
    Application,
    ApplicationState,
    CallKind,
    CofinancingSnapshot,
    Deliverable,
    DocumentKind,
    Mission,
    MissionReport,
    Satisfaction,
    User,
    utcnow,
)
from dcol.permissions import Action, can, expert_of_mission
from workflows import deliverable as course
from workflows import engine
from workflows.guards import mission_of

FOLLOW_UP = "/applications/<int:application_id>/follow-up"


# --- loading ----------------------------------------------------------------------------------


def load_support(application_id: int, action: Action) -> tuple[Application, Mission] | None:
    """The followed dossier (it has a mission) and its mission, when the caller may do
    ``action`` on it; None otherwise (404), as ``dcol.missions.views`` loads it."""
    application = db.session.get(Application, application_id)
    if application is None or not can(g.api_user, action, application):
        return None
    mission = mission_of(application)
    if mission is None or application.state not in FOLLOWED_STATES:
        return None
    return application, mission


def load_deliverable(mission: Mission, deliverable_id: int) -> Deliverable | None:
    deliverable = db.session.get(Deliverable, deliverable_id)
    return deliverable if deliverable is not None and deliverable.mission_id == mission.id \
        else None


def refusal(error: engine.WorkflowError, *, field: str = "", rows: dict[str, list[int]] | None
            = None):
    """The service's refusal as problem details, after rolling back (nothing is written, the
    files stored meanwhile are deleted). ``rows`` maps a table (``expenses``) to the index each
    row had in the request, so that a row's messages name the fields the client sent; a bare
    422 is keyed by ``field``."""
    db.session.rollback()
    errors = {}
    for key, message in (getattr(error, "errors", None) or {}).items():
        table, _sep, rest = key.partition("-")
        index, _sep, name = rest.partition("-")
        sent = (rows or {}).get(table)
        if sent is not None and index.isdigit() and int(index) < len(sent) and name:
            key = f"{table}-{sent[int(index)]}-{name}"
        errors[key] = message
    if error.status == 422 and not errors and field:
        errors = {field: error.message}
    return problem(error.status, _(ERRORS.get(error.status, DEFAULT_ERROR)),
                   error.message, problems=error.problems, errors=errors)


# --- what the endpoints answer ----------------------------------------------------------------


def _people(ids) -> dict[int, User]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {user.id: user for user in db.session.scalars(sa.select(User).where(User.id.in_(ids)))}


def _person(user: User | None) -> dict | None:
    return {"id": user.id, "full_name": user.full_name} if user is not None else None


def dump_report(report: MissionReport) -> dict:
    return {
        "id": report.id, "report_date": report.report_date, "author": _person(report.author),
        "days_spent": report.days_spent, "activities": report.activities,
        "is_field_mission": report.is_field_mission, "field_location": report.field_location,
        "created_at": report.created_at,
        "expenses": [{"id": e.id, "label": e.label, "amount": e.amount,
                      "receipt_id": e.receipt_id} for e in report.expenses],
        "attachments": [document_row(d) for d in report.attachments
                        if d.kind is DocumentKind.REPORT],
    }


def dump_deliverable(deliverable: Deliverable, people: dict[int, User] | None = None) -> dict:
    if people is None:
        people = _people([deliverable.submitted_by_id, deliverable.accepted_by_id,
                          deliverable.validated_by_id])
    current = deliverable.current_file
    return {
        "id": deliverable.id, "title": deliverable.title,
        "description": deliverable.description, "is_final": deliverable.is_final,
        "version": deliverable.version, "state": deliverable.state,
        "state_label": deliverable.state.label,
        "submitted_at": deliverable.submitted_at,
        "submitted_by": _person(people.get(deliverable.submitted_by_id)),
        "accepted_at": deliverable.accepted_by_applicant_at,
        "accepted_by": _person(people.get(deliverable.accepted_by_id)),
        "validated_at": deliverable.validated_at,
        "validated_by": _person(people.get(deliverable.validated_by_id)),
        "revision_comment": deliverable.revision_comment,
        "current_file_id": current.id if current is not None else None,
        "current_file": document_row(current) if current is not None else None,
        "previous_files": [document_row(d) for d in reversed(deliverable.files)
                           if d is not current],
        "steps": [{"name": step.name, "label": _(step.label),
                   "comment_required": step.comment_required}
                  for step in course.steps_for(deliverable, g.api_user)],
    }


def dump_final(snapshot: CofinancingSnapshot, with_expert: bool) -> dict:
    breakdown = breakdown_of(snapshot)
    return {
        "computed_at": snapshot.computed_at, "total_cost": snapshot.total_cost,
        "scheme_share": snapshot.scheme_share, "applicant_share": snapshot.applicant_share,
        "rate": breakdown.rate,
        "lines": [{"label": label, "amount": amount} for label, amount in breakdown.lines],
        "description": describe(breakdown, with_expert),
    }


def _satisfaction(application: Application, satisfaction: Satisfaction | None,
                  people: dict[int, User]) -> dict | None:
    """As the page shows it: the mission's expert is not shown the marks (unless a manager)."""
    if satisfaction is None:
        return None
    shows = (not expert_of_mission(g.api_user, application)
             or can(g.api_user, Action.APP_MANAGE, application))
    body = {"answered_at": satisfaction.answered_at,
            "respondent": _person(people.get(satisfaction.respondent_id)),
            "shows_ratings": shows}
    for name in (*closure.RATINGS, "comment"):
        body[name] = getattr(satisfaction, name) if shows else None
    return body


def _reports_of(mission: Mission) -> list[MissionReport]:
    return list(db.session.scalars(
        sa.select(MissionReport).where(MissionReport.mission_id == mission.id)
        .options(joinedload(MissionReport.author),
                 selectinload(MissionReport.expenses),
                 selectinload(MissionReport.attachments))
        .order_by(MissionReport.report_date.desc(), MissionReport.id.desc())))


def dump_follow_up(application: Application, mission: Mission) -> dict:
    user = g.api_user
    with_expert = application.call.kind is CallKind.DCOL
    today = utcnow().astimezone(PARIS).date()
    totals = reports.totals_of(mission)
    items = deliverables.deliverables_of(application)  # with their files
    satisfaction = closure.satisfaction_of(application)
    people = _people([*(d.submitted_by_id for d in items), *(d.accepted_by_id for d in items),
                      *(d.validated_by_id for d in items),
                      satisfaction.respondent_id if satisfaction else None])
    final = closure.final_snapshot(application)
    report_document = (closure.closure_report_of(application)
                       if application.state is ApplicationState.CLOSED else None)
    return {
        "application_id": application.id, "reference": application.reference,
        "state": application.state, "state_label": application.state.label,
        "version": application.version, "closed_at": application.closed_at,
        "with_expert": with_expert,
        "mission": {"expert": mission.expert.name if mission.expert else None,
                    "starts_on": mission.starts_on, "ends_on": mission.ends_on,
                    "expected_deliverables": mission.expected_deliverables},
        "totals": {
            **{name: getattr(totals, name) for name in (
                "reports", "days_logged", "contracted_days", "days_left", "days_exceeded",
                "days_percent", "expenses", "expenses_budget", "daily_rate", "cost_logged",
                "contracted_cost", "cost_percent", "last_report_on")},
        },
        "alerts": [{"id": alert.id, "kind": alert.kind, "kind_label": alert.kind.label,
                    "detail": alert.detail, "raised_at": alert.raised_at}
                   for alert in open_alerts(application)],
        "milestones": [{"id": m.id, "phase": m.phase, "phase_label": m.phase.label,
                        "label": m.label, "due_on": m.due_on, "done_on": m.done_on,
                        "is_late": mission_plan.is_late(m, today)}
                       for m in mission.milestones],
        "reports": [dump_report(report) for report in _reports_of(mission)],
        "deliverables": [dump_deliverable(d, people) for d in items],
        "satisfaction": _satisfaction(application, satisfaction, people),
        "final_cofinancing": dump_final(final, with_expert) if final is not None else None,
        "closure_report_id": report_document.id if report_document is not None else None,
        "may_report": can(user, Action.APP_REPORT, application),
        "may_plan": can(user, Action.APP_EDIT_PLAN, application),
        "may_answer_satisfaction": can(user, Action.APP_ANSWER_SATISFACTION, application),
        "may_compute_final_cofinancing": application.state is ApplicationState.FINAL_REPORT
        and can(user, Action.APP_MANAGE, application),
    }


# --- endpoints --------------------------------------------------------------------------------


@blp.route(FOLLOW_UP)
class FollowUp(MethodView):
    @blp.response(200, FollowUpSchema)
    @alt(401, 404)
    def get(self, application_id: int):
        """Le suivi d'un accompagnement (dossier ayant une mission) : l'avancement (jours et
        coûts consignés face à la convention), les alertes en cours, le plan de mission, les
        rapports avec leurs dépenses, les livrables et ce que l'appelant peut en faire, le
        questionnaire de satisfaction et le cofinancement définitif une fois calculé."""
        found = load_support(application_id, Action.APP_VIEW_FINANCE)
        return dump_follow_up(*found) if found else not_found()


@blp.route(f"{FOLLOW_UP}/plan")
class FollowUpPlan(MethodView):
    @blp.arguments(PlanInSchema)
    @blp.response(200, FollowUpSchema)
    @alt(401, 403, 404, 422)
    def put(self, args, application_id: int):
        """Établir ou modifier le plan de mission (chargé de mission, ou qui rend compte de
        l'accompagnement pendant qu'il se déroule) : les jalons envoyés remplacent ceux du plan
        (``id`` pour en garder un) ; une modification demande son motif (``reason``)."""
        found = load_support(application_id, Action.APP_EDIT_PLAN)
        if found is None:
            return not_found()
        application, mission = found
        entries = [mission_plan.MilestoneEntry(
            phase=row["phase"], label=row["label"], due_on=row["due_on"],
            done_on=row["done_on"], id=row["id"]) for row in args["milestones"]]
        try:
            mission_plan.amend_plan(application, g.api_user, entries, args["reason"])
            db.session.commit()
        except engine.WorkflowError as error:
            return refusal(error)
        return dump_follow_up(application, mission)


@blp.route(f"{FOLLOW_UP}/reports")
class FollowUpReports(MethodView):
    @blp.arguments(ReportInSchema, location="files")
    @blp.response(201, MissionReportSchema)
    @alt(401, 403, 404, 422)
    def post(self, args, application_id: int):
        """Déposer un rapport (multipart/form-data) : l'expert (DCOL) ou la collectivité
        (appel à projets), pendant la mission. Chaque dépense a sa nature, son montant et son
        justificatif (« expenses-<n>-label », « expenses-<n>-amount », « expenses-<n>-receipt »)
        ; les pièces jointes vont dans « attachments ». Refusé : rien n'est enregistré."""
        found = load_support(application_id, Action.APP_REPORT)
        if found is None:
            return not_found()
        application, _mission = found
        rows = [index for index, *_row in args["expenses"]]
        entry = reports.ReportEntry(
            report_date=args["report_date"], days_spent=args["days_spent"],
            activities=args["activities"], is_field_mission=args["is_field_mission"],
            field_location=args["field_location"],
            expenses=tuple(reports.ExpenseEntry(label, amount, receipt)
                           for _index, label, amount, receipt in args["expenses"]),
            attachments=tuple(upload for upload in args["attachments"] if upload.filename))
        try:
            report = reports.log_report(application, g.api_user, entry)
            db.session.commit()
        except engine.WorkflowError as error:
            return refusal(error, rows={"expenses": rows})
        return dump_report(report), 201


@blp.route(f"{FOLLOW_UP}/deliverables")
class FollowUpDeliverables(MethodView):
    @blp.arguments(DeliverableInSchema, location="files")
    @blp.response(201, DeliverableSchema)
    @alt(401, 403, 404, 409, 422)
    def post(self, args, application_id: int):
        """Déposer un livrable (multipart/form-data : ``title``, ``description``, ``is_final``,
        ``file``). Le livrable final remet aussi le rapport final de la mission
        (``submit_final_report``, dont les conditions peuvent refuser le dépôt : 409)."""
        found = load_support(application_id, Action.APP_REPORT)
        if found is None:
            return not_found()
        application, _mission = found
        try:
            deliverable = deliverables.submit_deliverable(
                application, g.api_user, title=args["title"], description=args["description"],
                is_final=args["is_final"], upload=args["file"])
            db.session.commit()
        except engine.WorkflowError as error:
            return refusal(error)
        return dump_deliverable(deliverable), 201


@blp.route(f"{FOLLOW_UP}/deliverables/<int:deliverable_id>/revision")
class FollowUpDeliverableRevision(MethodView):
    @blp.arguments(RevisionInSchema, location="files")
    @blp.response(200, DeliverableSchema)
    @alt(401, 403, 404, 409, 422)
    def post(self, args, application_id: int, deliverable_id: int):
        """Déposer la version révisée demandée (multipart/form-data : ``file``, ``note``) ; la
        version précédente est gardée. Celle du livrable final remet de nouveau le rapport
        final."""
        found = load_support(application_id, Action.APP_REPORT)
        deliverable = load_deliverable(found[1], deliverable_id) if found else None
        if deliverable is None:
            return not_found()
        try:
            deliverables.resubmit_deliverable(deliverable, g.api_user, args["file"],
                                              args["note"])
            db.session.commit()
        except engine.WorkflowError as error:
            return refusal(error)
        return dump_deliverable(deliverable)


@blp.route(f"{FOLLOW_UP}/deliverables/<int:deliverable_id>/steps")
class FollowUpDeliverableSteps(MethodView):
    @blp.arguments(StepInSchema)
    @blp.response(200, DeliverableSchema)
    @alt(401, 403, 404, 409, 422)
    def post(self, args, application_id: int, deliverable_id: int):
        """Valider un livrable (``accept``, signataire de la collectivité), en demander la
        révision (``ask_revision``, avec ``comment``), ou le valider pour Cités Unies France
        (``validate``, après la collectivité). Demander la révision du livrable final une fois
        le rapport final remis renvoie le dossier en cours de mission."""
        found = load_support(application_id, Action.APP_VIEW_FINANCE)
        deliverable = load_deliverable(found[1], deliverable_id) if found else None
        if deliverable is None:
            return not_found()
        try:
            deliverables.review_deliverable(deliverable, g.api_user, args["step"],
                                            args["comment"])
            db.session.commit()
        except engine.WorkflowError as error:
            return refusal(error, field="comment")
        return dump_deliverable(deliverable)


@blp.route(f"{FOLLOW_UP}/satisfaction")
class FollowUpSatisfaction(MethodView):
    @blp.arguments(SatisfactionInSchema)
    @blp.response(200, FollowUpSchema)
    @alt(401, 403, 404, 422)
    def put(self, args, application_id: int):
        """Répondre au questionnaire de satisfaction (signataire de la collectivité, une fois le
        rapport final remis ; la réponse peut être modifiée jusqu'à la clôture) : quatre notes
        de 1 à 5 et un commentaire."""
        found = load_support(application_id, Action.APP_ANSWER_SATISFACTION)
        if found is None:
            return not_found()
        application, mission = found
        answer = closure.SatisfactionAnswer(
            **{name: args[name] for name in closure.RATINGS}, comment=args["comment"])
        try:
            closure.answer_satisfaction(application, g.api_user, answer)
            db.session.commit()
        except engine.WorkflowError as error:
            return refusal(error)
        return dump_follow_up(application, mission)


@blp.route(f"{FOLLOW_UP}/final-cofinancing")
class FollowUpFinalCofinancing(MethodView):
    @blp.response(201, FinalCofinancingSchema)
    @alt(401, 403, 404, 409)
    def post(self, application_id: int):
        """Calculer le cofinancement définitif sur les coûts réels (chargé de mission, une fois
        le rapport final remis ; il peut être recalculé jusqu'à la clôture) : chaque coût dans
        la limite de la convention, jamais au-delà du montant engagé."""
        found = load_support(application_id, Action.APP_MANAGE)
        if found is None:
            return not_found()
        application, _mission = found
        if application.state is ApplicationState.CLOSED:  # read-only, as the page says
            return problem(403, _(ERRORS[403]), _("Le dossier est clôturé : le suivi est en "
                                                  "lecture seule."))
        try:
            snapshot = closure.compute_final_cofinancing(application, g.api_user)
            db.session.commit()
        except engine.WorkflowError as error:
            return refusal(error)
        return dump_final(snapshot, application.call.kind is CallKind.DCOL), 201
