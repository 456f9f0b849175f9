"""Matching pages: the suggestions for one dossier (with its brief) and the optimal proposal for a
whole call. Thin: the rules are in ``dcol.matching.services`` and ``dcol.permissions``; only the
scheme's managers see them, anyone else gets a 404."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from dcol.extensions import db
from dcol.i18n import language_choices
from dcol.matching import services
from dcol.matching.scoring import PARTS
from dcol.models import Application, ApplicationState, Call, CallKind, Theme
from dcol.permissions import Action, load_or_404
from workflows.engine import WorkflowError

bp = Blueprint("matching", __name__)


def _dossier_in_matching(application_id: int) -> Application:
    application = load_or_404(Application, application_id, Action.APP_MANAGE)
    if application.call.kind is not CallKind.DCOL:
        abort(404)
    return application


def _render_suggestions(application, *, problems=(), errors=None, values=None, status=200):
    in_matching = application.state is ApplicationState.MATCHING
    suggestions = services.suggest_experts(application) if in_matching else None
    return render_template(
        "matching/suggestions.html", application=application, suggestions=suggestions,
        in_matching=in_matching, proposed=suggestions.proposed if suggestions else None,
        parts=PARTS,
        brief=suggestions.brief if suggestions else None, themes=list(Theme),
        languages=language_choices(), problems=list(problems), errors=errors or {},
        values=values,
    ), status


@bp.get("/dossiers/<int:application_id>/recherche-expert")
@login_required
def suggestions(application_id: int):
    return _render_suggestions(_dossier_in_matching(application_id))


def _brief_from_form() -> dict:
    data = {key: request.form.get(key, "") for key in (
        "indicative_days", "starts_on", "ends_on", "budget", "expected_deliverables")}
    data["themes"] = request.form.getlist("themes")
    data["languages"] = request.form.getlist("languages")
    return data


@bp.post("/dossiers/<int:application_id>/recherche-expert/besoin")
@login_required
def save_brief(application_id: int):
    application = _dossier_in_matching(application_id)
    data = _brief_from_form()
    try:
        services.save_brief(application, current_user, data)
    except services.BriefRefused as error:
        db.session.rollback()
        return _render_suggestions(application, problems=[error.message],
                                   errors=error.errors, values=data, status=422)
    except WorkflowError as error:
        db.session.rollback()
        return _render_suggestions(application, problems=[error.message, *error.problems],
                                   values=data, status=error.status)
    db.session.commit()
    flash(_("Le besoin d'expertise est enregistré : les suggestions en tiennent compte."),
          "success")
    return redirect(url_for("matching.suggestions", application_id=application.id))


@bp.post("/dossiers/<int:application_id>/recherche-expert/proposer")
@login_required
def propose(application_id: int):
    application = _dossier_in_matching(application_id)
    choice = services.Choice(application.id, request.form.get("expert_id", ""),
                             request.form.get("override_reason", ""))
    try:
        services.confirm_proposals(application.call, current_user, [choice])
    except WorkflowError as error:
        db.session.rollback()
        problems = getattr(error, "problems", []) or [error.message]
        return _render_suggestions(application, problems=problems, status=error.status,
                                   values={"expert_id": choice.expert_id,
                                           "override_reason": choice.override_reason})
    db.session.commit()
    flash(_("La proposition est envoyée à l'expert."), "success")
    return redirect(url_for("applications.detail", application_id=application.id))


# --- a whole call ---------------------------------------------------------------------------------


def _dcol_call(call_id: int) -> Call:
    call = load_or_404(Call, call_id, Action.CALL_MANAGE)
    if call.kind is not CallKind.DCOL:
        abort(404)
    return call


def _render_call(call, *, problems=(), errors=None, values=None, status=200):
    return render_template(
        "matching/call.html", call=call, proposal=services.propose_assignment(call), parts=PARTS,
        problems=list(problems), errors=errors or {}, values=values, posted=values is not None,
    ), status


@bp.get("/appels/<int:call_id>/recherche-expert")
@login_required
def call_proposal(call_id: int):
    return _render_call(_dcol_call(call_id))


@bp.post("/appels/<int:call_id>/recherche-expert")
@login_required
def confirm(call_id: int):
    call = _dcol_call(call_id)
    choices = []
    for raw_id in request.form.getlist("application_id"):
        if request.form.get(f"pick-{raw_id}") != "oui":
            continue
        choices.append(services.Choice(
            int(raw_id) if raw_id.isdigit() and len(raw_id) < 10 else 0,
            request.form.get(f"expert-{raw_id}", ""),
            request.form.get(f"reason-{raw_id}", ""),
        ))
    try:
        made = services.confirm_proposals(call, current_user, choices)
    except services.ProposalsRefused as error:
        db.session.rollback()
        return _render_call(call, problems=[error.message], errors=error.errors,
                            values=request.form, status=error.status)
    except WorkflowError as error:
        db.session.rollback()
        return _render_call(call, problems=[error.message, *error.problems],
                            values=request.form, status=error.status)
    db.session.commit()
    flash(_("%(count)s proposition(s) envoyée(s) aux experts.", count=len(made)), "success")
    return redirect(url_for("matching.call_proposal", call_id=call.id))
