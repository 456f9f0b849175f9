"""Committee pages: a call's sessions, a session with its attendance, agenda and decision forms,
and its minutes. Thin: the rules are in ``dcol.committee.services`` and ``dcol.permissions``;
whatever the user may not see answers 404."""

from __future__ import annotations

import io
import re

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from dcol.committee import agenda as agendas
from dcol.committee import letters, minutes, services
from dcol.extensions import db
from dcol.i18n import PARIS
from dcol.models import Application, Call, CommitteeSession, Decision
from dcol.paging import page_number
from dcol.permissions import Action, can, has_quorum, load_or_404, present_count
from forms.base import FlaskForm
from workflows.engine import WorkflowError

bp = Blueprint("committee", __name__)


class PostForm(FlaskForm):
    """The CSRF token of the committee's forms (their rules are the services')."""


@bp.app_template_global()
def decision_letters(application: Application) -> list:
    """The dossier's decision letters the current user may download (for the dossier page)."""
    return letters.decision_letters(application, current_user)


def _expired() -> list[str]:
    return [_("Le formulaire a expiré : rechargez la page et réessayez.")]


def _details_from_form() -> dict:
    return {"title": request.form.get("title", ""), "date": request.form.get("date", ""),
            "time": request.form.get("time", ""), "location": request.form.get("location", ""),
            "quorum": request.form.get("quorum", ""),
            "member_ids": request.form.getlist("member_ids")}


def _decisions_from_form() -> list[services.DecisionRequest]:
    """One ``decision-<dossier id>`` choice per agenda line (empty: no decision), with its
    ``reason-<dossier id>``, in the agenda's order."""
    chosen = []
    for key, value in request.form.items():
        match = re.fullmatch(r"decision-([0-9]{1,10})", key)
        if match and value:
            chosen.append(services.DecisionRequest(
                int(match[1]), value, request.form.get(f"reason-{match[1]}", "")))
    return chosen


# --- a call's sessions ------------------------------------------------------------------------


def _render_index(call, *, problems=(), errors=None, values=None, status=200):
    proposals = agendas.promotion_proposals(call)
    return render_template(
        "committee/index.html", call=call, form=PostForm(),
        sessions=services.sessions_of(call, current_user),
        may_manage=can(current_user, Action.CALL_MANAGE, call), pool=services.committee_pool(),
        proposals=[db.session.get(Application, i) for i in proposals], problems=list(problems),
        errors=errors or {}, values=values,
    ), status


@bp.get("/appels/<int:call_id>/comites")
@login_required
def index(call_id: int):
    return _render_index(load_or_404(Call, call_id, Action.CALL_VIEW_RANKING))


@bp.post("/appels/<int:call_id>/comites")
@login_required
def create(call_id: int):
    call = load_or_404(Call, call_id, Action.CALL_MANAGE)
    if not PostForm().validate_on_submit():
        return _render_index(call, problems=_expired(), values=request.form, status=422)
    try:
        session = services.save_session(call, current_user, _details_from_form())
    except WorkflowError as error:
        db.session.rollback()
        return _render_index(load_or_404(Call, call_id, Action.CALL_MANAGE),
                             problems=[error.message], values=request.form,
                             errors=getattr(error, "errors", {}), status=error.status)
    db.session.commit()
    flash(_("La séance « %(title)s » est programmée.", title=session.title), "success")
    return redirect(url_for("committee.session", session_id=session.id))


# --- a session --------------------------------------------------------------------------------


AGENDA_PER_PAGE = 100


def _render_session(session, *, problems=(), errors=None, values=None, status=200):
    """The session's page; its agenda a page at a time (``?page=``), running totals and ranks
    computed over the whole agenda."""
    agenda = agendas.agenda(session, page_number(request.args, "page"), AGENDA_PER_PAGE)
    return render_template(
        "committee/session.html", session=session, call=session.call, form=PostForm(),
        agenda=agenda, decisions=list(Decision),
        may_manage=can(current_user, Action.CALL_MANAGE, session.call),
        may_decide=can(current_user, Action.SESSION_DECIDE, session),
        quorum_reached=has_quorum(session), present_count=present_count(session),
        pool=services.committee_pool(), problems=list(problems), errors=errors or {},
        values=values, held_at_local=session.held_at.astimezone(PARIS),
    ), status


@bp.get("/comites/<int:session_id>")
@login_required
def session(session_id: int):
    return _render_session(load_or_404(CommitteeSession, session_id, Action.SESSION_VIEW))


def _session_post(session_id: int, operation, success):
    """Run ``operation(session)`` and commit, or roll back and show the page again with the
    refusal and what was typed."""
    session = load_or_404(CommitteeSession, session_id, Action.SESSION_VIEW)
    if not PostForm().validate_on_submit():
        return _render_session(session, problems=_expired(), values=request.form, status=422)
    try:
        result = operation(session)
    except WorkflowError as error:
        db.session.rollback()
        session = load_or_404(CommitteeSession, session_id, Action.SESSION_VIEW)
        return _render_session(session, problems=[error.message, *error.problems],
                               errors=getattr(error, "errors", {}), values=request.form,
                               status=error.status)
    db.session.commit()
    flash(success(result) if callable(success) else success, "success")
    # Back to the agenda's page the form was posted from (decisions are taken a page at a time).
    page = page_number(request.args, "page")
    return redirect(url_for("committee.session", session_id=session_id,
                            page=page if page > 1 else None))


@bp.post("/comites/<int:session_id>")
@login_required
def edit(session_id: int):
    return _session_post(
        session_id,
        lambda session: services.save_session(session.call, current_user, _details_from_form(),
                                              session),
        _("La séance est enregistrée."))


@bp.post("/comites/<int:session_id>/presences")
@login_required
def attendance(session_id: int):
    present = request.form.getlist("present")
    return _session_post(
        session_id, lambda session: services.record_attendance(session, current_user, present),
        _("Les présences sont enregistrées."))


@bp.post("/comites/<int:session_id>/ouverture")
@login_required
def open_session(session_id: int):
    return _session_post(session_id,
                         lambda session: services.open_session(session, current_user),
                         _("La séance est ouverte : les membres présents peuvent décider."))


@bp.post("/comites/<int:session_id>/cloture")
@login_required
def close_session(session_id: int):
    return _session_post(session_id,
                         lambda session: services.close_session(session, current_user),
                         _("La séance est close. Le procès-verbal est définitif."))


@bp.post("/comites/<int:session_id>/decisions")
@login_required
def decide(session_id: int):
    """One decision or several (one per agenda line): all recorded, or none."""
    chosen = _decisions_from_form()
    return _session_post(
        session_id, lambda session: services.decide(session, current_user, chosen),
        lambda rows: _("%(count)s décision(s) enregistrée(s) ; les collectivités en sont "
                       "informées par courrier.", count=len(rows)))


@bp.get("/comites/<int:session_id>/proces-verbal.pdf")
@login_required
def minutes_pdf(session_id: int):
    session = load_or_404(CommitteeSession, session_id, Action.SESSION_VIEW)
    return send_file(io.BytesIO(minutes.build_minutes_pdf(session)),
                     mimetype="application/pdf", as_attachment=True,
                     download_name=minutes.minutes_filename(session), max_age=0)
