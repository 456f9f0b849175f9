"""Instruction pages: the recevabilité checklist, the reviewer's declaration and evaluation, the
reviews of a dossier side by side with the consensus, the call's reviewer assignments, ranking and
scoring grid. Thin: each view loads, checks the permission, calls ``dcol.reviews.services`` (or
``grid``) and renders; the services hold every rule, shared with the JSON API."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from dcol.extensions import db
from dcol.models import (
    Application,
    ApplicationState,
    Call,
    ConflictStatus,
    Opinion,
    Review,
    Role,
    User,
)
from dcol.paging import page_number, slice_of
from dcol.permissions import Action, can, load_or_404
from dcol.reviews import grid as grids
from dcol.reviews import services
from forms.base import FlaskForm
from workflows.engine import WorkflowError

bp = Blueprint("reviews", __name__)


class PostForm(FlaskForm):
    """The CSRF token of the instruction pages' forms, whose fields depend on the call (one per
    criterion or checklist point): their rules are the services'."""


def _problems(error: WorkflowError) -> tuple[list[str], dict[str, str]]:
    errors = getattr(error, "errors", {}) or {}
    problems = [error.message, *(p for p in error.problems if p not in errors.values())]
    return problems, errors


# --- the reviewer's assignments ---------------------------------------------------------------


MINE_PER_PAGE = 20


@bp.get("/evaluations")
@login_required
def mine():
    """The reviewer's assignments in four groups, what they have to do first, each with its
    count and a page at a time (``?a-declarer=2``, ``?a-rediger=``, ``?en-attente=``,
    ``?soumises=``)."""
    if Role.REVIEWER not in current_user.roles:
        abort(404)
    Group = services.AssignmentGroup
    pages = {group: page_number(request.args, group.value) for group in Group}
    assignments = services.assignments_of(current_user, pages, per_page=MINE_PER_PAGE)
    kept = {group.value: page.page for group, page in assignments.pages.items() if page.page > 1}
    return render_template("reviews/mine.html", assignments=assignments, Group=Group, kept=kept)


@bp.get("/instruction")
@login_required
def calls():
    """The calls whose instruction the user follows, with where their dossiers stand."""
    overview = services.calls_overview(current_user)
    if not overview and not current_user.has_role(Role.MANAGER, Role.ADMIN, Role.COMMITTEE):
        abort(404)
    return render_template("reviews/calls.html", overview=overview, states=list(ApplicationState))


# --- recevabilité -----------------------------------------------------------------------------


@bp.route("/dossiers/<int:application_id>/recevabilite", methods=["GET", "POST"])
@login_required
def eligibility(application_id: int):
    application = load_or_404(Application, application_id, Action.APP_VIEW)
    may_check = can(current_user, Action.APP_CHECK_ELIGIBILITY, application)
    if not may_check and not can(current_user, Action.APP_VIEW_REVIEWS, application):
        abort(404)
    form, problems, errors, values = PostForm(), [], {}, {}
    if request.method == "POST":
        if not may_check:
            abort(403)
        items = application.call.eligibility_items
        answers, values = {}, request.form
        for item in items:
            answer = request.form.get(f"item-{item.id}")
            if answer in ("oui", "non"):
                answers[item.id] = (answer == "oui", request.form.get(f"note-{item.id}", ""))
        if form.validate_on_submit():
            try:
                services.record_eligibility(application, current_user, answers)
            except WorkflowError as error:
                db.session.rollback()
                problems, errors = _problems(error)
            else:
                db.session.commit()
                flash(_("La liste de recevabilité est enregistrée. Vous pouvez maintenant déclarer "
                        "le dossier recevable, demander des compléments ou le déclarer "
                        "irrecevable."), "success")
                return redirect(url_for("applications.detail", application_id=application.id,
                                        _anchor="actions-titre"))
        else:
            problems = [_("Le formulaire a expiré : rechargez la page et réessayez.")]
    status = 422 if problems else 200
    return render_template(
        "reviews/eligibility.html", application=application, form=form, may_check=may_check,
        answers=services.eligibility_answers(application), problems=problems, errors=errors,
        values=values,
    ), status


# --- the reviewer's declaration and evaluation -------------------------------------------------


def _own_review_or_404(application_id: int) -> tuple[Application, Review]:
    application = db.session.get(Application, application_id)
    if application is None or Role.REVIEWER not in current_user.roles:
        abort(404)
    review = services.own_review(application, current_user)
    if review is None or review.conflict_status is ConflictStatus.CONFLICT:
        abort(404)
    return application, review


def _render_review(application, review, *, problems=(), errors=None, values=None, status=200):
    may_score = can(current_user, Action.APP_SCORE, application)
    return render_template(
        "reviews/review.html", application=application, review=review, form=PostForm(),
        criteria=sorted(application.call.criteria, key=lambda c: c.position),
        scores={score.criterion_id: score for score in review.scores},
        opinions=list(Opinion), may_score=may_score,
        may_view_reviews=can(current_user, Action.APP_VIEW_REVIEWS, application),
        problems=list(problems), errors=errors or {}, values=values,
    ), status


@bp.get("/dossiers/<int:application_id>/evaluation")
@login_required
def review(application_id: int):
    application, review = _own_review_or_404(application_id)
    if review.conflict_status is ConflictStatus.PENDING:
        return render_template("reviews/declaration.html", application=application,
                               review=review, form=PostForm(), problems=[], values={})
    return _render_review(application, review)


@bp.post("/dossiers/<int:application_id>/evaluation/declaration")
@login_required
def declare(application_id: int):
    application, review = _own_review_or_404(application_id)
    form = PostForm()
    has_conflict = request.form.get("conflict") == "oui"
    note = request.form.get("conflict_note", "")
    if request.form.get("conflict") not in ("oui", "non"):
        problem = _("Déclarez si vous avez ou non un conflit d'intérêts avec la collectivité.")
    elif not form.validate_on_submit():
        problem = _("Le formulaire a expiré : rechargez la page et réessayez.")
    else:
        try:
            services.declare_conflict(application, current_user, has_conflict, note)
        except WorkflowError as error:
            db.session.rollback()
            problem = " ".join(_problems(error)[0])
        else:
            db.session.commit()
            if has_conflict:
                flash(_("Votre déclaration est enregistrée : le dossier %(reference)s ne vous est "
                        "plus confié et un autre instructeur sera désigné.",
                        reference=application.reference), "success")
                return redirect(url_for("reviews.mine"))
            flash(_("Merci : vous pouvez maintenant consulter et évaluer le dossier."), "success")
            return redirect(url_for("reviews.review", application_id=application.id))
    return render_template("reviews/declaration.html", application=application, review=review,
                           form=form, problems=[problem], values=request.form), 422


@bp.post("/dossiers/<int:application_id>/evaluation")
@login_required
def save(application_id: int):
    application, review = _own_review_or_404(application_id)
    if review.conflict_status is not ConflictStatus.NONE:
        return redirect(url_for("reviews.review", application_id=application.id))
    submit = request.form.get("action") == "submit"
    scores = {
        criterion.id: (request.form.get(f"score-{criterion.id}", ""),
                       request.form.get(f"comment-{criterion.id}", ""))
        for criterion in application.call.criteria
    }
    form = PostForm()
    if not form.validate_on_submit():
        return _render_review(application, review, values=request.form, status=422, problems=[
            _("Le formulaire a expiré : rechargez la page et réessayez.")])
    try:
        services.save_review(application, current_user, scores, request.form.get("opinion"),
                             request.form.get("overall_comment", ""), submit=submit)
    except WorkflowError as error:
        db.session.rollback()
        application, review = _own_review_or_404(application_id)
        problems, errors = _problems(error)
        return _render_review(application, review, problems=problems, errors=errors,
                              values=request.form, status=error.status)
    db.session.commit()
    if submit:
        flash(_("Votre évaluation est soumise. Elle ne peut plus être modifiée, sauf si le "
                "chargé de mission la rouvre."), "success")
    else:
        flash(_("Brouillon enregistré."), "success")
    return redirect(url_for("reviews.review", application_id=application.id))


# --- a dossier's reviews ------------------------------------------------------------------------


def _render_summary(application, *, problems=(), errors=None, values=None, status=200):
    reviews = services.submitted_reviews(application)
    shows_names = services.shows_reviewer_names(current_user, application)
    return render_template(
        "reviews/summary.html", application=application, form=PostForm(),
        aggregate=services.aggregate_of(application), reviews=reviews,
        assignments=services.active_reviews(application), shows_names=shows_names,
        consensus=services.consensus_of(application),
        may_manage=can(current_user, Action.APP_MANAGE, application),
        problems=list(problems), errors=errors or {}, values=values or {},
    ), status


@bp.get("/dossiers/<int:application_id>/evaluations")
@login_required
def summary(application_id: int):
    application = load_or_404(Application, application_id, Action.APP_VIEW_REVIEWS)
    return _render_summary(application)


def _manager_post(application_id: int, operation, success: str):
    application = load_or_404(Application, application_id, Action.APP_VIEW_REVIEWS)
    form = PostForm()
    if not form.validate_on_submit():
        return _render_summary(application, values=request.form, status=422, problems=[
            _("Le formulaire a expiré : rechargez la page et réessayez.")])
    try:
        operation(application)
    except WorkflowError as error:
        db.session.rollback()
        application = load_or_404(Application, application_id, Action.APP_VIEW_REVIEWS)
        problems, errors = _problems(error)
        return _render_summary(application, problems=problems, errors=errors,
                               values=request.form, status=error.status)
    db.session.commit()
    flash(success, "success")
    return redirect(url_for("reviews.summary", application_id=application_id))


@bp.post("/dossiers/<int:application_id>/evaluations/consensus")
@login_required
def consensus(application_id: int):
    return _manager_post(
        application_id,
        lambda application: services.record_consensus(
            application, current_user, request.form.get("score", ""),
            request.form.get("justification", "")),
        _("La note de consensus est enregistrée."),
    )


@bp.post("/dossiers/<int:application_id>/evaluations/<int:review_id>/reouverture")
@login_required
def reopen(application_id: int, review_id: int):
    def operation(application):
        review = db.session.get(Review, review_id)
        if review is None or review.application_id != application.id:
            abort(404)
        services.reopen_review(application, current_user, review, request.form.get("reason", ""))

    return _manager_post(application_id, operation,
                         _("L'évaluation est rouverte : l'instructeur en est informé."))


# --- a call's reviewer assignments ---------------------------------------------------------------


def _render_assignments(call, *, problems=(), status=200):
    return render_template(
        "reviews/assignments.html", call=call, form=PostForm(), problems=list(problems),
        board=services.assignment_board(call),
    ), status


@bp.get("/appels/<int:call_id>/instructeurs")
@login_required
def assignments(call_id: int):
    call = load_or_404(Call, call_id, Action.CALL_MANAGE)
    return _render_assignments(call)


def _assignment_post(call_id: int, operation, success):
    call = load_or_404(Call, call_id, Action.CALL_MANAGE)
    if not PostForm().validate_on_submit():
        return _render_assignments(call, status=422, problems=[
            _("Le formulaire a expiré : rechargez la page et réessayez.")])
    try:
        result = operation(call)
    except WorkflowError as error:
        db.session.rollback()
        call = load_or_404(Call, call_id, Action.CALL_MANAGE)
        return _render_assignments(call, problems=_problems(error)[0], status=error.status)
    db.session.commit()
    flash(success(result), "success")
    return redirect(url_for("reviews.assignments", call_id=call_id))


def _application_of(call: Call, raw_id) -> Application:
    application = db.session.get(Application, raw_id) if str(raw_id or "").isdigit() else None
    if application is None or application.call_id != call.id:
        abort(404)
    return application


@bp.post("/appels/<int:call_id>/instructeurs/affectation")
@login_required
def assign(call_id: int):
    def operation(call):
        application = _application_of(call, request.form.get("application_id"))
        raw = request.form.get("reviewer_id", "")
        reviewer = db.session.get(User, int(raw)) if raw.isdigit() else None
        return services.assign_reviewer(application, current_user, reviewer)

    return _assignment_post(call_id, operation, lambda review: _(
        "%(name)s est affecté au dossier %(reference)s.", name=review.reviewer.full_name,
        reference=review.application.reference))


@bp.post("/appels/<int:call_id>/instructeurs/repartition")
@login_required
def assign_in_bulk(call_id: int):
    return _assignment_post(
        call_id, lambda call: services.assign_in_bulk(call, current_user),
        lambda created: _("%(count)s affectation(s) créée(s), en équilibrant la charge des "
                          "instructeurs.", count=len(created)))


@bp.post("/appels/<int:call_id>/instructeurs/<int:review_id>/retrait")
@login_required
def unassign(call_id: int, review_id: int):
    def operation(call):
        review = db.session.get(Review, review_id)
        if review is None:
            abort(404)
        application = _application_of(call, review.application_id)
        name = review.reviewer.full_name
        services.unassign_reviewer(application, current_user, review)
        return name, application.reference

    return _assignment_post(call_id, operation, lambda result: _(
        "%(name)s n'est plus affecté au dossier %(reference)s.", name=result[0],
        reference=result[1]))


# --- ranking and grid ---------------------------------------------------------------------------


RANKING_PER_PAGE = 50


def track_parameter(track_id: int | None) -> str:
    """The query parameter of a track's page on the ranking (``volet-0``: no track)."""
    return f"volet-{track_id or 0}"


@bp.get("/appels/<int:call_id>/classement")
@login_required
def ranking(call_id: int):
    """The call's ranking per track, a page of each track at a time (``?volet-<id>=<page>``);
    ranks are those of the whole track."""
    call = load_or_404(Call, call_id, Action.CALL_VIEW_RANKING)
    tracks = services.ranking(call)
    params = [track_parameter(track.track_id) for track in tracks]
    pages = [slice_of(track.ranked, page_number(request.args, param), RANKING_PER_PAGE)
             for track, param in zip(tracks, params, strict=True)]
    kept = {param: page.page for param, page in zip(params, pages, strict=True) if page.page > 1}
    return render_template(
        "reviews/ranking.html", call=call, tracks=list(zip(tracks, pages, params, strict=True)),
        kept={"call_id": call.id, **kept}, tie_breaks=services.tie_break_labels(call),
        may_export=can(current_user, Action.CALL_MANAGE, call),
    )


def _render_grid(call, *, problems=(), errors=None, values=None, status=200):
    return render_template(
        "reviews/grid.html", call=call, form=PostForm(), problems=list(problems),
        errors=errors or {}, values=values, frozen=grids.is_frozen(call),
        checklist_frozen=grids.checklist_in_use(call),
        may_edit=can(current_user, Action.CALL_EDIT, call),
        tie_break_choices=grids.tie_break_choices(call),
        criteria=sorted(call.criteria, key=lambda c: c.position),
    ), status


@bp.get("/appels/<int:call_id>/grille")
@login_required
def grid(call_id: int):
    call = load_or_404(Call, call_id, Action.CALL_VIEW_RANKING)
    return _render_grid(call)


def _criteria_from_form() -> list[dict]:
    rows, index = [], 0
    fields = ("id", "label", "guidance", "weight", "scale_max", "step", "threshold")
    while f"criteria-{index}-label" in request.form:
        row = {field: request.form.get(f"criteria-{index}-{field}", "") for field in fields}
        if request.form.get(f"criteria-{index}-remove") != "oui" and (
                row["label"].strip() or row["id"]):
            rows.append(row)
        index += 1
    return rows


@bp.post("/appels/<int:call_id>/grille")
@login_required
def edit_grid(call_id: int):
    call = load_or_404(Call, call_id, Action.CALL_EDIT)
    if not PostForm().validate_on_submit():
        return _render_grid(call, values=request.form, status=422, problems=[
            _("Le formulaire a expiré : rechargez la page et réessayez.")])
    settings = {
        "overall_threshold": request.form.get("overall_threshold", ""),
        "divergence_threshold": request.form.get("divergence_threshold", ""),
        "min_reviewers": request.form.get("min_reviewers", ""),
        "tie_breaks": [name for name in request.form.getlist("tie_breaks") if name],
    }
    try:
        grids.update_grid(call, current_user, _criteria_from_form(), settings)
    except WorkflowError as error:
        db.session.rollback()
        call = load_or_404(Call, call_id, Action.CALL_EDIT)
        problems, errors = _problems(error)
        return _render_grid(call, problems=problems, errors=errors, values=request.form,
                            status=error.status)
    db.session.commit()
    flash(_("La grille d'évaluation est enregistrée."), "success")
    return redirect(url_for("reviews.grid", call_id=call.id))


@bp.post("/appels/<int:call_id>/grille/recevabilite")
@login_required
def edit_checklist(call_id: int):
    call = load_or_404(Call, call_id, Action.CALL_EDIT)
    if not PostForm().validate_on_submit():
        return _render_grid(call, values=request.form, status=422, problems=[
            _("Le formulaire a expiré : rechargez la page et réessayez.")])
    labels = request.form.get("checklist", "").splitlines()
    try:
        grids.update_checklist(call, current_user, labels)
    except WorkflowError as error:
        db.session.rollback()
        call = load_or_404(Call, call_id, Action.CALL_EDIT)
        problems, errors = _problems(error)
        return _render_grid(call, problems=problems, errors=errors, values=request.form,
                            status=error.status)
    db.session.commit()
    flash(_("La liste de recevabilité est enregistrée."), "success")
    return redirect(url_for("reviews.grid", call_id=call.id))


@bp.get("/appels/<int:call_id>/export.<any(xlsx, csv):extension>")
@login_required
def export(call_id: int, extension: str):
    """The call's dossiers with every score, comment, aggregate and decision (CUF staff)."""
    from dcol.exports.responses import csv_response, xlsx_response
    from dcol.reviews import exports

    call = load_or_404(Call, call_id, Action.CALL_MANAGE)
    if extension == "xlsx":
        return xlsx_response(exports.xlsx_file(call, current_user),
                             exports.filename(call, extension))
    return csv_response(exports.stream_csv(call, current_user), exports.filename(call, extension))
