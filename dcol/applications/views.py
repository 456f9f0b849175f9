"""Dossier pages: the list of visible dossiers, a dossier's page with its timeline and the
buttons of the events the user may fire."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from dcol import audit
from dcol.applications.services import visible_applications_query
from dcol.extensions import db
from dcol.models import Application, ApplicationState, Call, Expert
from dcol.permissions import Action, can, load_or_404
from workflows import engine

bp = Blueprint("applications", __name__, url_prefix="/dossiers")

# What a form posts for each event, beyond the comment (see ``_payload_from_form``).
PAYLOAD_FIELDS = {
    "request_changes": ("response_deadline",),
    "propose_expert": ("expert_id", "indicative_days", "indicative_start", "indicative_end"),
    "accept_mission": ("no_conflict",),
}


@bp.get("/")
@login_required
def index():
    call_id = request.args.get("appel", type=int)
    state = request.args.get("etat")
    try:
        state_filter = ApplicationState(state) if state else None
    except ValueError:
        state_filter = None
    query = visible_applications_query(current_user, call_id=call_id, state=state_filter).options(
        joinedload(Application.organisation), joinedload(Application.call)
    )
    page = db.paginate(query, per_page=50)
    calls = db.session.scalars(sa.select(Call).order_by(Call.opens_at.desc())).all()
    return render_template(
        "applications/index.html", page=page, calls=calls, states=list(ApplicationState),
        call_id=call_id, state=state_filter,
    )


def _render_detail(application: Application, *, failed: str | None = None,
                   problems: list[str] | None = None, values: dict | None = None, status=200):
    events = engine.describe_available(application, current_user)
    experts = []
    if any(event.name == "propose_expert" for event in events):
        experts = db.session.scalars(
            sa.select(Expert).where(Expert.is_active.is_(True)).order_by(Expert.name)
        ).all()
    return render_template(
        "applications/detail.html",
        application=application,
        history=audit.history(application.id),
        events=events,
        experts=experts,
        failed=failed,
        problems=problems or [],
        values=values or {},
        can_see_audit_actors=can(current_user, Action.APP_VIEW_AUDIT, application),
    ), status


@bp.get("/<int:application_id>")
@login_required
def detail(application_id: int):
    application = load_or_404(Application, application_id, Action.APP_VIEW)
    return _render_detail(application)


def _payload_from_form(event_name: str) -> dict:
    payload = {}
    for field in PAYLOAD_FIELDS.get(event_name, ()):
        if field == "no_conflict":
            payload[field] = request.form.get(field) == "oui"
        elif request.form.get(field):
            payload[field] = request.form[field].strip()
    return payload


@bp.post("/<int:application_id>/evenements/<event_name>")
@login_required
def fire_event(application_id: int, event_name: str):
    application = load_or_404(Application, application_id, Action.APP_VIEW)
    comment = request.form.get("comment", "")
    payload = _payload_from_form(event_name)
    try:
        engine.fire(
            application, event_name, current_user, comment=comment, payload=payload,
            expected_version=request.form.get("version", type=int),
        )
    except engine.WorkflowError as error:
        db.session.rollback()
        application = load_or_404(Application, application_id, Action.APP_VIEW)
        values = {"comment": comment, **{k: str(v) for k, v in payload.items()}}
        return _render_detail(application, failed=event_name,
                              problems=[error.message, *error.problems], values=values,
                              status=error.status)
    flash(_("C'est fait : le dossier est maintenant à l'état « %(state)s ».",
            state=application.state.label), "success")
    return redirect(url_for("applications.detail", application_id=application.id))
