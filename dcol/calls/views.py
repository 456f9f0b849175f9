"""Calls: the public list of open calls, a call's page with its rules, the pre-check that
creates a dossier, and (for those who run or configure a call) its envelopes and the versions of
its cofinancing rules."""

from __future__ import annotations

from itertools import zip_longest

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from dcol.calls.services import call_rules, open_calls, open_dossier
from dcol.extensions import db
from dcol.finance import rules as finance_rules
from dcol.finance.envelopes import call_envelopes
from dcol.i18n import format_day
from dcol.models import Call, CostBase, OrganisationKind, Track, VatMode, utcnow
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
    sees_cofinancing = finance_rules.may_see_cofinancing(current_user, call)
    return render_template(
        "calls/detail.html", call=call, rules=rules, organisation=organisation,
        is_open=call.is_open(utcnow()),
        may_apply=can(current_user, Action.APP_CREATE, call),
        sees_cofinancing=sees_cofinancing,
        envelope=finance_rules.whole_envelope(call) if sees_cofinancing else None,
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


# --- envelopes and versions of the cofinancing rules ------------------------------------------


def _call_for_cofinancing(call_id: int) -> Call:
    call = load_or_404(Call, call_id, Action.CALL_VIEW)
    if not finance_rules.may_see_cofinancing(current_user, call):
        abort(404)
    return call


def _render_cofinancing(call: Call, *, problems=(), rule_errors=None, rule_values=None,
                        envelope_errors=None, envelope_values=None, status=200):
    lines = call_envelopes(call)
    rows = finance_rules.envelope_rows(call, lines)
    if envelope_values is None:
        envelope_values = finance_rules.envelope_form_values(rows)
    return render_template(
        "calls/cofinancing.html", call=call, lines=lines, rows=rows,
        versions=finance_rules.rule_versions(call),
        funders=finance_rules.funders_by_code(), kinds=list(OrganisationKind),
        cost_bases=list(CostBase), vat_modes=list(VatMode),
        may_edit=can(current_user, Action.CALL_EDIT, call), problems=list(problems),
        rule_errors=rule_errors or {}, rule_posted=rule_values is not None,
        rule_values=rule_values or finance_rules.rule_form_values(call),
        envelope_errors=envelope_errors or {}, envelope_values=envelope_values,
    ), status


@bp.get("/<int:call_id>/cofinancement")
@login_required
def cofinancing(call_id: int):
    return _render_cofinancing(_call_for_cofinancing(call_id))


def _rule_from_form() -> dict:
    data = {key: request.form.get(key, "") for key in (
        "effective_from", "cost_base", "vat_mode", "vat_rate", "ceiling", "min_applicant_share",
        "advance_percent")}
    data["rates"] = {kind.value: request.form.get(f"rate-{kind.value}", "")
                     for kind in OrganisationKind}
    data["funder_split"] = [
        {"funder": funder, "percent": percent, "amount": amount}
        for funder, percent, amount in zip_longest(
            request.form.getlist("split_funder"), request.form.getlist("split_percent"),
            request.form.getlist("split_amount"), fillvalue="")
    ]
    return data


@bp.post("/<int:call_id>/cofinancement/regles")
@login_required
def add_rule_version(call_id: int):
    call = _call_for_cofinancing(call_id)
    data = _rule_from_form()
    try:
        rule = finance_rules.add_rule_version(call, current_user, data)
    except finance_rules.RulesRefused as error:
        db.session.rollback()
        return _render_cofinancing(call, problems=[error.message], rule_errors=error.errors,
                                   rule_values=data, status=error.status)
    except WorkflowError as error:
        db.session.rollback()
        return _render_cofinancing(call, problems=[error.message], rule_values=data,
                                   status=error.status)
    db.session.commit()
    flash(_("La version %(version)s des règles de cofinancement est enregistrée : elle "
            "s'applique aux dossiers déposés à partir du %(day)s.", version=rule.version,
            day=format_day(rule.effective_from)), "success")
    return redirect(url_for("calls.cofinancing", call_id=call.id))


@bp.post("/<int:call_id>/cofinancement/enveloppes")
@login_required
def set_envelopes(call_id: int):
    call = _call_for_cofinancing(call_id)
    amounts = {row.key: request.form.get(row.field, "")
               for row in finance_rules.envelope_rows(call)}
    values = {finance_rules.envelope_field(key): value for key, value in amounts.items()}
    try:
        finance_rules.set_envelopes(call, current_user, amounts)
    except finance_rules.EnvelopesRefused as error:
        db.session.rollback()
        return _render_cofinancing(call, problems=[error.message], envelope_errors=error.errors,
                                   envelope_values=values, status=error.status)
    except WorkflowError as error:
        db.session.rollback()
        return _render_cofinancing(call, problems=[error.message], envelope_values=values,
                                   status=error.status)
    db.session.commit()
    flash(_("Les enveloppes de l'appel sont enregistrées."), "success")
    return redirect(url_for("calls.cofinancing", call_id=call.id))
