"""Dossier pages: the list of visible dossiers, a dossier's page with its timeline and the
buttons of the events the user may fire."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from dcol import audit
from dcol.applications import sections
from dcol.applications.editors import add_editor, check_may_manage, editors_of, remove_editor
from dcol.applications.exports import may_export_dossiers
from dcol.applications.followup import changes_asked, next_step, submission_changes
from dcol.applications.services import (
    DEFAULT_SORT,
    ValidationFailed,
    replace_budget,
    sort_from_parameter,
    sort_parameter,
    update_application,
    visible_applications_query,
)
from dcol.extensions import db
from dcol.models import Application, ApplicationState, Call, Role, Submission, User
from dcol.permissions import Action, can, is_member_of, load_or_404, visible_calls
from dcol.reviews.services import own_review
from forms.dossier import (
    EditorForm,
    budget_errors_by_row,
    budget_lines_from,
    changes_from,
    form_errors,
    incomplete_budget_lines,
    section_form,
)
from workflows import engine
from workflows.dossier import EVENTS_BY_NAME

bp = Blueprint("applications", __name__, url_prefix="/dossiers")
PAGE_SIZES = (25, 50, 100)  # the dossier list's ``par_page``
DEFAULT_PAGE_SIZE = 50


@bp.get("/")
@login_required
def index():
    call_id = request.args.get("appel", type=int)
    state = request.args.get("etat")
    try:
        state_filter = ApplicationState(state) if state else None
    except ValueError:
        state_filter = None
    sort = sort_from_parameter(request.args.get("tri"))
    per_page = request.args.get("par_page", type=int)
    if per_page not in PAGE_SIZES:
        per_page = DEFAULT_PAGE_SIZE
    query = visible_applications_query(
        current_user, call_id=call_id, state=state_filter, sort=sort,
    ).options(joinedload(Application.organisation), joinedload(Application.call))
    page = db.paginate(query, per_page=per_page)
    calls = db.session.scalars(
        sa.select(Call).where(visible_calls(current_user)).order_by(Call.opens_at.desc())
    ).all()
    # What every link of the list keeps (sort headers, pager, export); defaults left out.
    filters = {
        "appel": call_id, "etat": state_filter.value if state_filter else None,
        "tri": sort_parameter(sort) if sort != DEFAULT_SORT else None,
        "par_page": per_page if per_page != DEFAULT_PAGE_SIZE else None,
    }
    return render_template(
        "applications/index.html", page=page, calls=calls, states=list(ApplicationState),
        call_id=call_id, state=state_filter, sort_name=sort_parameter(sort), per_page=per_page,
        page_sizes=PAGE_SIZES, filters=filters, may_export=may_export_dossiers(current_user),
    )


def _render_detail(application: Application, *, failed: str | None = None,
                   problems: list[str] | None = None, values: dict | None = None, status=200):
    events = engine.describe_available(application, current_user)
    editors = editor_form = None
    if is_member_of(current_user, application.organisation_id):
        editors = editors_of(application)
        if can(current_user, Action.APP_MANAGE_EDITORS, application):
            editor_form = EditorForm(editors.candidates)
    return render_template(
        "applications/detail.html",
        application=application,
        history=audit.timeline(application, current_user),
        events=events,
        failed=failed,
        problems=problems or [],
        values=values or {},
        next_step=next_step(application),
        can_edit=can(current_user, Action.APP_EDIT, application),
        editors=editors,
        editor_form=editor_form,
        own_review=own_review(application, current_user)
        if Role.REVIEWER in current_user.roles else None,
    ), status


@bp.get("/<int:application_id>")
@login_required
def detail(application_id: int):
    application = load_or_404(Application, application_id, Action.APP_VIEW)
    return _render_detail(application)


def _payload_from_form(event_name: str) -> dict:
    """The event's inputs (``Event.inputs``) as the form posts them; a checkbox says "oui"."""
    event = EVENTS_BY_NAME.get(event_name)
    payload = {}
    for field in event.inputs if event else ():
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


# --- co-editors --------------------------------------------------------------------------------


@bp.post("/<int:application_id>/co-redacteurs")
@login_required
def add_co_editor(application_id: int):
    application = load_or_404(Application, application_id, Action.APP_VIEW)
    form = EditorForm(editors_of(application).candidates)
    try:
        check_may_manage(application, current_user)
        if not form.validate_on_submit():
            raise engine.InvalidInput(
                " ".join(str(e) for errors in form.errors.values() for e in errors))
        member = db.session.get(User, form.user_id.data)
        add_editor(application, current_user, member)
        db.session.commit()
    except engine.WorkflowError as error:
        db.session.rollback()
        application = load_or_404(Application, application_id, Action.APP_VIEW)
        return _render_detail(application, problems=[error.message], status=error.status)
    flash(_("%(name)s peut maintenant compléter ce dossier.", name=member.full_name), "success")
    return redirect(url_for("applications.detail", application_id=application.id,
                            _anchor="redaction"))


@bp.post("/<int:application_id>/co-redacteurs/<int:user_id>/retrait")
@login_required
def remove_co_editor(application_id: int, user_id: int):
    application = load_or_404(Application, application_id, Action.APP_VIEW)
    try:
        remove_editor(application, current_user, user_id)
        db.session.commit()
    except engine.WorkflowError as error:
        db.session.rollback()
        application = load_or_404(Application, application_id, Action.APP_VIEW)
        return _render_detail(application, problems=[error.message], status=error.status)
    flash(_("Co-rédacteur retiré."), "success")
    return redirect(url_for("applications.detail", application_id=application.id,
                            _anchor="redaction"))


# --- the dossier's form, section by section ---------------------------------------------------


def _wants_json() -> bool:
    return request.headers.get("X-Autosave") == "1"


@bp.route("/<int:application_id>/formulaire/<section>", methods=["GET", "POST"])
@login_required
def edit_section(application_id: int, section: str):
    """One section of the form; each save keeps a draft (autosave posts here too)."""
    application = load_or_404(Application, application_id, Action.APP_VIEW)
    definition = sections.section_by_key(application, section)
    if definition is None:
        abort(404)
    if not can(current_user, Action.APP_EDIT, application):
        if _wants_json():
            return jsonify(error=_("Ce dossier n'est plus modifiable.")), 409
        flash(_("Ce dossier n'est pas modifiable : il a été déposé ou vous n'en êtes pas "
                "rédacteur."), "info")
        return redirect(url_for("applications.detail", application_id=application.id))
    if request.method == "GET":
        form = section_form(application, definition)
        return _render_section(application, definition, form)

    form = section_form(application, definition, formdata=request.form)
    autosave = _wants_json()
    errors: dict[str, str] = {}
    incomplete_lines = 0
    if form.validate():
        lines: list[dict] = []
        try:
            update_application(application, current_user, changes_from(form, definition),
                               expected_version=int(form.version.data or 0) or None)
            if definition.has_budget:
                # An autosave while a line is half typed saves the rest; a button refuses it.
                lines = budget_lines_from(form, skip_incomplete=autosave)
                incomplete_lines = incomplete_budget_lines(form) if autosave else 0
                replace_budget(application, current_user, lines)
            db.session.commit()
        except ValidationFailed as error:
            db.session.rollback()
            errors = budget_errors_by_row(error.errors, lines)
        except engine.WorkflowError as error:
            db.session.rollback()
            if autosave:
                return jsonify(error=error.message), error.status
            flash(error.message, "error")
            return _render_section(application, definition, form, status=error.status)
    else:
        errors = form_errors(form)
    if errors:
        db.session.rollback()
        application = load_or_404(Application, application_id, Action.APP_VIEW)
        if autosave:
            return jsonify(error=_("Certaines informations sont invalides."), errors=errors), 422
        return _render_section(application, definition, form, errors=errors, status=422)
    if autosave:
        return jsonify(version=application.version, saved_at=application.updated_at.isoformat(),
                       incomplete_lines=incomplete_lines,
                       completeness=[{"section": sec.key, "filled": filled, "required": total}
                                     for sec, filled, total in sections.completeness(application)])
    flash(_("Section enregistrée."), "success")
    following = request.form.get("next")
    if following and sections.section_by_key(application, following):
        return redirect(url_for("applications.edit_section", application_id=application.id,
                                section=following))
    if following == "depot":
        return redirect(url_for("applications.deposit", application_id=application.id))
    return redirect(url_for("applications.edit_section", application_id=application.id,
                            section=definition.key))


def _render_section(application, definition, form, errors=None, status=200):
    all_sections = sections.sections_for(application)
    position = all_sections.index(definition)
    following = all_sections[position + 1].key if position + 1 < len(all_sections) else "depot"
    # After a refusal the form shows what was typed, to be saved again: with the version the
    # dossier has now, not the one posted (which an autosave may have moved on meanwhile).
    form.version.data = application.version
    return render_template(
        "applications/section.html", application=application, section=definition, form=form,
        errors=errors or {}, completeness=sections.completeness(application),
        missing={f.key for sec, f in sections.missing_fields(application)
                 if sec.key == definition.key},
        following=following,
        totals=sections.budget_totals(application) if definition.has_budget else None,
        budget_problems=sections.budget_problems(application) if definition.has_budget else [],
        changes_asked=changes_asked(application),
        stale=status == 412,
    ), status


@bp.get("/<int:application_id>/depot")
@login_required
def deposit(application_id: int):
    """The summary before deposit: every answer, the documents, and what is still missing."""
    application = load_or_404(Application, application_id, Action.APP_VIEW)
    submit = EVENTS_BY_NAME["submit"]
    return render_template(
        "applications/deposit.html", application=application,
        sections=sections.sections_for(application),
        completeness=sections.completeness(application),
        unmet=engine.unmet_guards(submit, application, current_user),
        may_submit=submit in engine.available_events(application, current_user),
        totals=sections.budget_totals(application),
        changes_asked=changes_asked(application),
    )


@bp.get("/<int:application_id>/depots/<int:number>/modifications")
@login_required
def changes(application_id: int, number: int):
    """What changed between a deposit and the one before it."""
    application = load_or_404(Application, application_id, Action.APP_VIEW)
    current = db.session.scalar(sa.select(Submission).where(
        Submission.application_id == application.id, Submission.number == number))
    previous = db.session.scalar(sa.select(Submission).where(
        Submission.application_id == application.id, Submission.number == number - 1))
    if current is None or previous is None:
        abort(404)
    return render_template("applications/changes.html", application=application,
                           current=current, previous=previous,
                           changes=submission_changes(application, previous, current))


@bp.get("/export.<any(xlsx, csv):fmt>")
@login_required
def export(fmt: str):
    """Every dossier the staff member sees, filtered like the list, streamed (XLSX or CSV)."""
    from dcol.applications import exports
    from dcol.exports.responses import csv_response, xlsx_response

    if not exports.may_export_dossiers(current_user):
        abort(404)
    state = request.args.get("etat")
    filters = {"call_id": request.args.get("appel", type=int),
               "state": ApplicationState(state) if state in ApplicationState._value2member_map_
               else None,
               "sort": sort_from_parameter(request.args.get("tri"))}
    if fmt == "xlsx":
        return xlsx_response(exports.xlsx_file(current_user, **filters), exports.filename(fmt))
    return csv_response(exports.stream_csv(current_user, **filters), exports.filename(fmt))
