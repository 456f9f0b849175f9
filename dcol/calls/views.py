"""Calls: the public list of open calls, a call's page with its rules, and the pre-check that
creates a dossier."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from dcol.calls.services import call_rules, open_calls, open_dossier
from dcol.extensions import db
from dcol.models import Call, Track, utcnow
from dcol.permissions import Action, can, load_or_404
from forms.calls import PrecheckForm
from workflows.engine import WorkflowError

bp = Blueprint("calls", __name__, url_prefix="/appels")


@bp.get("/")
def index():
    return render_template("calls/index.html", calls=open_calls(), now=utcnow())


def _visitor_organisation():
    if getattr(current_user, "is_authenticated", False) and current_user.is_active_member:
        return current_user.organisation
    return None


@bp.get("/<int:call_id>")
def detail(call_id: int):
    call = load_or_404(Call, call_id, Action.CALL_VIEW)
    organisation = _visitor_organisation()
    rules = call_rules(call, organisation.kind if organisation else None)
    return render_template(
        "calls/detail.html", call=call, rules=rules, organisation=organisation,
        is_open=call.is_open(utcnow()),
        may_apply=can(current_user, Action.APP_CREATE, call),
    )


@bp.route("/<int:call_id>/candidater", methods=["GET", "POST"])
@login_required
def apply(call_id: int):
    """The eligibility pre-check; when eligible, the draft is created with its answers."""
    call = load_or_404(Call, call_id, Action.CALL_VIEW)
    if not can(current_user, Action.APP_CREATE, call):
        flash(_("Seuls les membres validés d'une collectivité peuvent déposer un dossier."),
              "error")
        return redirect(url_for("calls.detail", call_id=call.id))
    form = PrecheckForm(call)
    problems: list[str] = []
    if form.validate_on_submit():
        track = db.session.get(Track, form.track.data)
        try:
            application = open_dossier(call, current_user, track, form.countries.data,
                                       form.department_codes())
        except WorkflowError as error:
            db.session.rollback()
            problems = error.problems or [error.message]
        else:
            db.session.commit()
            flash(_("Votre dossier %(reference)s est créé. Vous pouvez le compléter à votre "
                    "rythme : chaque section s'enregistre comme brouillon.",
                    reference=application.reference), "success")
            return redirect(url_for("applications.edit_section",
                                    application_id=application.id, section="general"))
    status = 422 if problems or form.errors else 200
    return render_template("calls/apply.html", call=call, form=form, problems=problems,
                           organisation=current_user.organisation), status
