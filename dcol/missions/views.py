"""The follow-up of a support: mission plan, reports, deliverables, satisfaction and closure.

Thin, as the finance pages: each view loads the dossier for its action (404 for whoever may not
see it or do it), validates the form, calls one service of ``dcol.missions``, commits on success
and rolls back on any refusal — the page again, with the user's input and the service's French
messages: 422 for bad input, the refusal's status otherwise. Once closed, the dossier is
read-only: no action allows a change any more (``dcol.permissions``), and closing or computing
again is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from dcol.extensions import db
from dcol.finance.cofinancing import breakdown_of, describe
from dcol.i18n import PARIS, format_money
from dcol.missions import closure, deliverables, reports
from dcol.missions import plan as mission_plan
from dcol.missions.alerts import open_alerts
from dcol.models import (
    Alert,
    Application,
    ApplicationState,
    CallKind,
    Deliverable,
    Document,
    Expense,
    Mission,
    MissionReport,
    User,
    utcnow,
)
from dcol.permissions import (
    Action,
    can,
    expert_of_mission,
    load_or_404,
    visible_follow_ups,
)
from forms.base import attach_errors
from forms.missions import (
    DeliverableForm,
    PlanForm,
    ReportForm,
    ResubmitForm,
    SatisfactionForm,
    attach_row_errors,
)
from workflows import deliverable as course
from workflows import engine
from workflows.dossier import EVENTS_BY_NAME
from workflows.engine import InputRefused, WorkflowError
from workflows.guards import mission_of

bp = Blueprint("missions", __name__)

S = ApplicationState
FOLLOWED_STATES = (S.AGREEMENT, S.IN_PROGRESS, S.FINAL_REPORT, S.CLOSED)
REVIEW_STEPS = frozenset({"accept", "ask_revision", "validate"})
PER_PAGE = 50


# --- loading ---------------------------------------------------------------------------------


def _support_or_404(application_id: int, action: Action) -> tuple[Application, Mission]:
    """The dossier, once followed (it has a mission), for ``action``; 404 otherwise."""
    application = load_or_404(Application, application_id, action)
    mission = mission_of(application)
    if mission is None or application.state not in FOLLOWED_STATES:
        abort(404)
    return application, mission


def _deliverable_or_404(mission: Mission, deliverable_id: int) -> Deliverable:
    """The mission's deliverable (one of another dossier is not found here)."""
    deliverable = db.session.get(Deliverable, deliverable_id)
    if deliverable is None or deliverable.mission_id != mission.id:
        abort(404)
    return deliverable


def _writable(application: Application) -> None:
    """A closed support is read-only (what the manager could still ask is refused)."""
    if application.state is S.CLOSED:
        abort(403)


def _problems(error: WorkflowError) -> list[str]:
    return [error.message, *(p for p in error.problems if p != error.message)]


def _follow_up_url(application: Application, anchor: str | None = None) -> str:
    return url_for("missions.follow_up", application_id=application.id, _anchor=anchor)


def _with_expert(application: Application) -> bool:
    return application.call.kind is CallKind.DCOL


# --- the follow-up page ----------------------------------------------------------------------


@dataclass(frozen=True)
class DeliverableView:
    deliverable: Deliverable
    current_file: Document | None
    previous_files: list[Document]
    steps: list[course.Step]


def _reports_of(mission: Mission) -> list[MissionReport]:
    return list(db.session.scalars(
        sa.select(MissionReport).where(MissionReport.mission_id == mission.id)
        .options(joinedload(MissionReport.author),
                 selectinload(MissionReport.expenses).joinedload(Expense.receipt),
                 selectinload(MissionReport.attachments))
        .order_by(MissionReport.report_date.desc(), MissionReport.id.desc())))


def _deliverable_views(application: Application, user: User) -> list[DeliverableView]:
    views = []
    for deliverable in deliverables.deliverables_of(application):  # with their files
        current = deliverable.current_file
        views.append(DeliverableView(
            deliverable, current,
            [d for d in reversed(deliverable.files) if d is not current],
            course.steps_for(deliverable, user)))
    return views


def _people(ids) -> dict[int, User]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {user.id: user for user in db.session.scalars(sa.select(User).where(User.id.in_(ids)))}


def _closure_block(application: Application, user: User) -> dict:
    """What the manager needs to close: actual against planned costs, the final cofinancing,
    what the ``close`` event still misses."""
    try:
        costs = closure.actual_costs(application)
    except WorkflowError:
        costs = None
    snapshot = closure.final_snapshot(application)
    event = EVENTS_BY_NAME["close"]
    closable = engine.applies(event, application) and engine.may_fire(event, application, user)
    return {
        "costs": costs,
        "final_snapshot": snapshot,
        "final_lines": describe(breakdown_of(snapshot), _with_expert(application))
        if snapshot is not None else [],
        "may_compute": application.state is S.FINAL_REPORT
        and can(user, Action.APP_MANAGE, application),
        "close_event": event if closable else None,
        "unmet": engine.unmet_guards(event, application, user) if closable else [],
    }


def _render_follow_up(application: Application, mission: Mission, *, problems=(),
                      failed: str | None = None, values: dict | None = None, status: int = 200):
    user = current_user
    manages = can(user, Action.APP_MANAGE, application)
    today = utcnow().astimezone(PARIS).date()
    views = _deliverable_views(application, user)
    satisfaction = closure.satisfaction_of(application)
    people = _people([*(v.deliverable.submitted_by_id for v in views),
                      *(v.deliverable.accepted_by_id for v in views),
                      *(v.deliverable.validated_by_id for v in views),
                      satisfaction.respondent_id if satisfaction else None])
    return render_template(
        "missions/follow_up.html",
        application=application, mission=mission, with_expert=_with_expert(application),
        totals=reports.totals_of(mission), alerts=open_alerts(application),
        milestones=mission.milestones,
        late={m.id for m in mission.milestones if mission_plan.is_late(m, today)},
        reports=_reports_of(mission), deliverables=views, people=people,
        satisfaction=satisfaction,
        shows_ratings=not expert_of_mission(user, application) or manages,
        may_report=can(user, Action.APP_REPORT, application),
        may_plan=can(user, Action.APP_EDIT_PLAN, application),
        may_answer=can(user, Action.APP_ANSWER_SATISFACTION, application),
        manages=manages,
        closure=_closure_block(application, user) if manages else None,
        closure_report=closure.closure_report_of(application) if application.state is S.CLOSED else None,
        problems=list(problems), failed=failed, values=values or {},
    ), status


@bp.get("/dossiers/<int:application_id>/suivi")
@login_required
def follow_up(application_id: int):
    application, mission = _support_or_404(application_id, Action.APP_VIEW_FINANCE)
    return _render_follow_up(application, mission)


# --- reports ---------------------------------------------------------------------------------


def _render_report(application, mission, form, problems=(), status=200):
    return render_template(
        "missions/report.html", application=application, form=form,
        with_expert=_with_expert(application), totals=reports.totals_of(mission),
        problems=list(problems)), status


@bp.route("/dossiers/<int:application_id>/suivi/rapports/nouveau", methods=["GET", "POST"])
@login_required
def new_report(application_id: int):
    application, mission = _support_or_404(application_id, Action.APP_REPORT)
    if request.method == "GET":
        form = ReportForm(formdata=None, data={"report_date": utcnow().astimezone(PARIS).date()})
        return _render_report(application, mission, form)
    form = ReportForm()
    if not form.validate_on_submit():
        return _render_report(application, mission, form, [
            _("Le rapport n'a pas été enregistré : corrigez les champs signalés.")], 422)
    entry, rows = form.entry()
    try:
        reports.log_report(application, current_user, entry)
    except InputRefused as error:
        db.session.rollback()
        return _render_report(application, mission, form, [
            error.message, *attach_row_errors(form, "expenses", error.errors, rows)], 422)
    except WorkflowError as error:
        db.session.rollback()
        return _render_report(application, mission, form, _problems(error), error.status)
    db.session.commit()
    flash(_("Le rapport est enregistré."), "success")
    return redirect(_follow_up_url(application, "rapports"))


# --- the mission plan ------------------------------------------------------------------------


def _render_plan(application, mission, form, problems=(), status=200):
    return render_template(
        "missions/plan.html", application=application, form=form,
        amending=bool(mission.milestones), with_expert=_with_expert(application),
        problems=list(problems)), status


@bp.route("/dossiers/<int:application_id>/suivi/plan", methods=["GET", "POST"])
@login_required
def plan(application_id: int):
    application, mission = _support_or_404(application_id, Action.APP_EDIT_PLAN)
    if request.method == "GET":
        return _render_plan(application, mission, PlanForm.of(mission.milestones))
    form = PlanForm()
    if not form.validate_on_submit():
        return _render_plan(application, mission, form, [
            _("Le plan de mission n'a pas été enregistré : corrigez les champs signalés.")], 422)
    entries, rows = form.entries()
    try:
        mission_plan.amend_plan(application, current_user, entries, form.reason.data or "")
    except InputRefused as error:
        db.session.rollback()
        return _render_plan(application, mission, form, [
            error.message, *attach_row_errors(form, "milestones", error.errors, rows)], 422)
    except WorkflowError as error:
        db.session.rollback()
        return _render_plan(application, mission, form, _problems(error), error.status)
    db.session.commit()
    flash(_("Le plan de mission est enregistré."), "success")
    return redirect(_follow_up_url(application, "plan"))


# --- deliverables ----------------------------------------------------------------------------


def _render_deliverable(application, form, problems=(), status=200, deliverable=None):
    return render_template(
        "missions/deliverable.html", application=application, form=form,
        deliverable=deliverable, problems=list(problems)), status


@bp.route("/dossiers/<int:application_id>/suivi/livrables/nouveau", methods=["GET", "POST"])
@login_required
def new_deliverable(application_id: int):
    application, _mission = _support_or_404(application_id, Action.APP_REPORT)
    if request.method == "GET":
        return _render_deliverable(application, DeliverableForm(formdata=None))
    form = DeliverableForm()
    if not form.validate_on_submit():
        return _render_deliverable(application, form, [
            _("Le livrable n'a pas été déposé : corrigez les champs signalés.")], 422)
    try:
        deposited = deliverables.submit_deliverable(
            application, current_user, title=form.title.data or "",
            description=form.description.data or "", is_final=bool(form.is_final.data),
            upload=form.file.data)
    except InputRefused as error:
        db.session.rollback()
        return _render_deliverable(application, form,
                                   [error.message, *attach_errors(form, error.errors)], 422)
    except WorkflowError as error:
        db.session.rollback()
        return _render_deliverable(application, form, _problems(error), error.status)
    db.session.commit()
    if deposited.is_final:
        flash(_("Le livrable final est déposé : le rapport final de la mission est remis."),
              "success")
    else:
        flash(_("Le livrable est déposé."), "success")
    return redirect(_follow_up_url(application, "livrables"))


@bp.route("/dossiers/<int:application_id>/suivi/livrables/<int:deliverable_id>/revision",
          methods=["GET", "POST"])
@login_required
def resubmit(application_id: int, deliverable_id: int):
    application, mission = _support_or_404(application_id, Action.APP_REPORT)
    deliverable = _deliverable_or_404(mission, deliverable_id)
    if request.method == "GET":
        if not any(step.name == "resubmit" for step in course.steps_for(deliverable,
                                                                         current_user)):
            abort(404)
        return _render_deliverable(application, ResubmitForm(formdata=None),
                                   deliverable=deliverable)
    form = ResubmitForm()
    if not form.validate_on_submit():
        return _render_deliverable(application, form, [
            _("La version révisée n'a pas été déposée : corrigez les champs signalés.")], 422,
            deliverable=deliverable)
    try:
        deliverables.resubmit_deliverable(deliverable, current_user, form.file.data,
                                          form.note.data or "")
    except InputRefused as error:
        db.session.rollback()
        return _render_deliverable(application, form,
                                   [error.message, *attach_errors(form, error.errors)], 422,
                                   deliverable=deliverable)
    except WorkflowError as error:
        db.session.rollback()
        return _render_deliverable(application, form, _problems(error), error.status,
                                   deliverable=deliverable)
    db.session.commit()
    flash(_("La version révisée du livrable est déposée."), "success")
    return redirect(_follow_up_url(application, "livrables"))


@bp.post("/dossiers/<int:application_id>/suivi/livrables/<int:deliverable_id>/<step>")
@login_required
def deliverable_step(application_id: int, deliverable_id: int, step: str):
    application, mission = _support_or_404(application_id, Action.APP_VIEW_FINANCE)
    deliverable = _deliverable_or_404(mission, deliverable_id)
    if step not in REVIEW_STEPS:
        abort(404)
    comment = request.form.get("comment", "")
    try:
        deliverables.review_deliverable(deliverable, current_user, step, comment)
    except WorkflowError as error:
        db.session.rollback()
        return _render_follow_up(application, mission, problems=_problems(error),
                                 failed=f"{step}-{deliverable.id}", values={"comment": comment},
                                 status=error.status)
    db.session.commit()
    flash(_("« %(title)s » : %(state)s.", title=deliverable.title,
            state=deliverable.state.label), "success")
    return redirect(_follow_up_url(application, f"livrable-{deliverable.id}"))


# --- satisfaction ----------------------------------------------------------------------------


def _render_satisfaction(application, form, problems=(), status=200):
    return render_template("missions/satisfaction.html", application=application, form=form,
                           problems=list(problems)), status


@bp.route("/dossiers/<int:application_id>/suivi/satisfaction", methods=["GET", "POST"])
@login_required
def satisfaction(application_id: int):
    application, _mission = _support_or_404(application_id, Action.APP_ANSWER_SATISFACTION)
    if request.method == "GET":
        return _render_satisfaction(application,
                                    SatisfactionForm.of(closure.satisfaction_of(application)))
    form = SatisfactionForm()
    if not form.validate_on_submit():
        return _render_satisfaction(application, form, [
            _("Le questionnaire n'a pas été enregistré : corrigez les champs signalés.")], 422)
    try:
        closure.answer_satisfaction(application, current_user, form.answer())
    except InputRefused as error:
        db.session.rollback()
        return _render_satisfaction(application, form,
                                    [error.message, *attach_errors(form, error.errors)], 422)
    except WorkflowError as error:
        db.session.rollback()
        return _render_satisfaction(application, form, _problems(error), error.status)
    db.session.commit()
    flash(_("Merci : votre réponse au questionnaire de satisfaction est enregistrée."),
          "success")
    return redirect(_follow_up_url(application, "satisfaction"))


# --- closure ---------------------------------------------------------------------------------


@bp.post("/dossiers/<int:application_id>/suivi/cofinancement-definitif")
@login_required
def compute_final(application_id: int):
    application, mission = _support_or_404(application_id, Action.APP_MANAGE)
    _writable(application)
    try:
        snapshot = closure.compute_final_cofinancing(application, current_user)
    except WorkflowError as error:
        db.session.rollback()
        return _render_follow_up(application, mission, problems=_problems(error),
                                 status=error.status)
    db.session.commit()
    flash(_("Le cofinancement définitif est calculé : %(amount)s à la charge du dispositif.",
            amount=format_money(snapshot.scheme_share)), "success")
    return redirect(_follow_up_url(application, "cloture"))


@bp.post("/dossiers/<int:application_id>/suivi/cloture")
@login_required
def close(application_id: int):
    application, mission = _support_or_404(application_id, Action.APP_MANAGE)
    _writable(application)
    comment = request.form.get("comment", "")
    try:
        engine.fire(application, "close", current_user, comment=comment,
                    expected_version=request.form.get("version", type=int))
    except WorkflowError as error:
        db.session.rollback()
        application, mission = _support_or_404(application_id, Action.APP_MANAGE)
        return _render_follow_up(application, mission, problems=_problems(error),
                                 failed="close", values={"comment": comment},
                                 status=error.status)
    flash(_("Le dossier est clôturé : le bilan de clôture est disponible."), "success")
    return redirect(_follow_up_url(application))


# --- the supports being followed -------------------------------------------------------------


@bp.get("/missions")
@login_required
def index():
    state = request.args.get("etat")
    chosen = next((s for s in FOLLOWED_STATES if s.value == state), None)
    query = (
        sa.select(Mission).join(Mission.application)
        .where(visible_follow_ups(current_user),
               Application.state.in_([chosen] if chosen else FOLLOWED_STATES))
        .options(contains_eager(Mission.application).joinedload(Application.organisation),
                 contains_eager(Mission.application).joinedload(Application.call),
                 joinedload(Mission.expert))
        .order_by(Application.updated_at.desc(), Application.id.desc())
    )
    page = db.paginate(query, per_page=PER_PAGE, error_out=False)
    missions = list(page.items)
    alerts = dict(db.session.execute(
        sa.select(Alert.application_id, sa.func.count(Alert.id))
        .where(Alert.application_id.in_([m.application_id for m in missions]),
               Alert.resolved_at.is_(None))
        .group_by(Alert.application_id)).all()) if missions else {}
    return render_template(
        "missions/index.html", page=page, missions=missions,
        totals=reports.totals_by_mission(missions), alerts=alerts,
        states=FOLLOWED_STATES, state=chosen)
