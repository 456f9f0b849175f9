"""Capitalisation: searching closed supports to learn from them.

Thin: the search and a support's page load what the user may see (``dcol.permissions``: 404
otherwise); the manager's publication form calls ``services.set_public``, commits once it
succeeded and rolls back otherwise (the page again with the refusal: 422 for a missing reason,
409 for a support already so).
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from dcol.capitalisation import services
from dcol.extensions import db
from dcol.models import Application
from dcol.permissions import Action, can, load_or_404, require
from forms.base import attach_errors
from forms.capitalisation import PublicationForm, SearchForm
from workflows.engine import WorkflowError

bp = Blueprint("capitalisation", __name__)


@bp.get("/capitalisation")
@login_required
def search():
    require(current_user, Action.CAPITALISATION_SEARCH)
    form = SearchForm(request.args, services.facets(current_user))
    results = services.search(current_user, form.text, form.filters(),
                              page=request.args.get("page", 1, type=int),
                              per_page=services.PER_PAGE)
    return render_template("capitalisation/search.html", form=form, results=results,
                           chosen=form.chosen(), sees_all=current_user.is_staff)


def _render_detail(application: Application, form: PublicationForm | None = None,
                   problems: list[str] | None = None, status: int = 200):
    support = services.support_of(application)
    files = [d.current_file for d in support.deliverables if d.current_file is not None]
    may_publish = can(current_user, Action.APP_PUBLISH, application)
    if may_publish and form is None:
        form = PublicationForm(formdata=None,
                               data={"public": "non" if application.is_public else "oui"})
    return render_template(
        "capitalisation/detail.html", application=application, support=support,
        downloadable={doc.id for doc in files if can(current_user, Action.DOCUMENT_DOWNLOAD, doc)},
        sees_dossier=can(current_user, Action.APP_VIEW, application),
        form=form if may_publish else None, problems=problems or [],
        sees_all=current_user.is_staff,
    ), status


@bp.get("/capitalisation/<int:application_id>")
@login_required
def detail(application_id: int):
    application = load_or_404(Application, application_id, Action.CAPITALISATION_VIEW)
    return _render_detail(application)


@bp.post("/capitalisation/<int:application_id>/publication")
@login_required
def publish(application_id: int):
    """Open the closed support to collectivités and experts, or withdraw it (managers)."""
    application = load_or_404(Application, application_id, Action.APP_PUBLISH)
    form = PublicationForm()
    if not form.validate_on_submit():
        db.session.rollback()
        return _render_detail(application, form, status=422)
    try:
        services.set_public(application, current_user, form.is_public, form.reason.data)
    except WorkflowError as error:
        db.session.rollback()
        application = load_or_404(Application, application_id, Action.APP_PUBLISH)
        errors = getattr(error, "errors", None)
        problems = attach_errors(form, errors) if errors else [error.message]
        return _render_detail(application, form, problems, status=error.status)
    db.session.commit()
    flash(_("L'accompagnement est ouvert à la recherche des collectivités et des experts.")
          if form.is_public else
          _("L'accompagnement n'est plus visible que des équipes de Cités Unies France."),
          "success")
    return redirect(url_for("capitalisation.detail", application_id=application.id))
