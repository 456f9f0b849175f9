"""API endpoints for the instruction: the recevabilité checklist, reviewers and their
declarations, reviews, the consensus, and a call's assignments, ranking and scoring grid.

Thin, over ``dcol.reviews.services`` and ``dcol.reviews.grid`` (the web pages' services), with
the web pages' access checks: 404 for what the caller may not see, the services' refusals
otherwise (403, 409, 422 with each error keyed by its field).
"""

from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_babel import gettext as _

from dcol.api import problem
from dcol.api.common import DEFAULT_ERROR, ERRORS, alt, blp, load_application, not_found
from dcol.api.review_schemas import (
    AssignmentBoardSchema,
    AssignmentSchema,
    BulkAssignmentSchema,
    ChecklistInSchema,
    ConsensusInSchema,
    DeclarationSchema,
    EligibilityChecksInSchema,
    EligibilityChecksSchema,
    GridInSchema,
    GridSchema,
    OwnReviewSchema,
    RankingQuerySchema,
    RankingSchema,
    ReopenSchema,
    ReviewerAssignmentsQuerySchema,
    ReviewerAssignmentsSchema,
    ReviewerRequestSchema,
    ReviewInSchema,
    ReviewsSchema,
)
from dcol.extensions import db
from dcol.models import Application, Call, ConflictStatus, Criterion, Review, Role, User
from dcol.paging import slice_of
from dcol.permissions import Action, can
from dcol.reviews import grid as grids
from dcol.reviews import services
from workflows import engine


def refusal(error: engine.WorkflowError, *, field: str = "", rename: dict[str, str] | None = None):
    """The service's refusal as problem details, after rolling back: its field errors keyed by
    the API's field names (``rename`` maps a service key or key prefix to them), and a bare 422
    keyed by ``field``."""
    db.session.rollback()
    errors = {}
    for key, message in (getattr(error, "errors", None) or {}).items():
        for old, new in (rename or {}).items():
            if key == old or key.startswith(f"{old}-"):
                key = new + key.removeprefix(old)
                break
        errors[key] = message
    if error.status == 422 and not errors and field:
        errors = {field: error.message}
    return problem(error.status, _(ERRORS.get(error.status, DEFAULT_ERROR)), error.message,
                   problems=error.problems, errors=errors)


def load_call(call_id: int, action: Action) -> Call | None:
    call = db.session.get(Call, call_id)
    return call if call is not None and can(g.api_user, action, call) else None


# --- what the endpoints answer --------------------------------------------------------------


def dossier_ref(application: Application, *, cleared: bool = True) -> dict:
    """The dossier as lists show it; before the declaration (``cleared`` false) only what the
    declaration page shows: reference, collectivité and call."""
    body = {
        "id": application.id, "reference": application.reference,
        "organisation": {"id": application.organisation.id,
                         "name": application.organisation.name},
        "organisation_kind": application.organisation.kind.label,
        "call": {"id": application.call.id, "title": application.call.title},
        "track": application.track.name if application.track else None,
    }
    if cleared:
        body.update(title=application.title, state=application.state,
                    state_label=application.state.label)
    return body


def criteria_of(call: Call) -> list[Criterion]:
    return sorted(call.criteria, key=lambda c: (c.position, c.id))


def assignment_row(review: Review) -> dict:
    return {
        "id": review.id, "application_id": review.application_id,
        "reviewer": {"id": review.reviewer.id, "full_name": review.reviewer.full_name},
        "conflict_status": review.conflict_status,
        "conflict_status_label": review.conflict_status.label,
        "state": review.state, "state_label": review.state.label,
        "assigned_at": review.assigned_at, "submitted_at": review.submitted_at,
    }


def dump_own_review(application: Application, review: Review) -> dict:
    body = {
        "id": review.id, "conflict_status": review.conflict_status,
        "conflict_status_label": review.conflict_status.label,
        "application": dossier_ref(application, cleared=False),
    }
    if review.conflict_status is not ConflictStatus.NONE:
        return body
    saved = {score.criterion_id: score for score in review.scores}
    body.update(
        application=dossier_ref(application), state=review.state,
        state_label=review.state.label, submitted_at=review.submitted_at,
        scores=[{"criterion": criterion,
                 "score": saved[criterion.id].score if criterion.id in saved else None,
                 "comment": saved[criterion.id].comment if criterion.id in saved else ""}
                for criterion in criteria_of(application.call)],
        opinion=review.opinion, opinion_label=review.opinion.label if review.opinion else None,
        overall_comment=review.overall_comment,
        may_score=can(g.api_user, Action.APP_SCORE, application),
        may_view_reviews=can(g.api_user, Action.APP_VIEW_REVIEWS, application),
    )
    return body


def dump_reviews(application: Application) -> dict:
    """The dossier's submitted reviews beside their aggregate and the consensus; the reviewers'
    names only for those who may see them ("Instructeur 1"... for the others)."""
    call = application.call
    aggregate = services.aggregate_of(application)
    criteria = {criterion.id: criterion for criterion in call.criteria}
    shows_names = services.shows_reviewer_names(g.api_user, application)
    may_manage = can(g.api_user, Action.APP_MANAGE, application)
    consensus = services.consensus_of(application)
    submitted = services.submitted_reviews(application)
    scores: dict[int, list] = {}
    for review in sorted(submitted, key=lambda review: review.id):
        for row in review.scores:
            if row.score is not None:
                scores.setdefault(row.criterion_id, []).append(row.score)
    return {
        "application": dossier_ref(application),
        "aggregate": {
            "review_count": aggregate.review_count,
            "criteria": [
                {"criterion": criteria[result.criterion.id], "scores": scores.get(result.criterion.id, []),
                 "mean": result.mean_shown, "spread": result.spread,
                 "is_divergent": result.is_divergent,
                 "is_below_threshold": result.is_below_threshold}
                for result in aggregate.criteria
            ],
            "weighted_total": aggregate.weighted_total, "max_total": aggregate.max_total,
            "score": aggregate.score, "consensus": aggregate.consensus,
            "final_score": aggregate.final_score,
            "overall_threshold": call.overall_threshold,
            "divergence_threshold": call.divergence_threshold,
            "is_below_overall_threshold": aggregate.is_below_overall_threshold,
            "is_flagged": aggregate.is_flagged,
        },
        "consensus": consensus and {"score": consensus.score,
                                    "justification": consensus.justification,
                                    "recorded_at": consensus.recorded_at},
        "reviews": [
            {"id": review.id,
             "reviewer": review.reviewer.full_name if shows_names
             else _("Instructeur %(n)s", n=index),
             "opinion": review.opinion,
             "opinion_label": review.opinion.label if review.opinion else None,
             "overall_comment": review.overall_comment, "submitted_at": review.submitted_at,
             "scores": [{"criterion_id": s.criterion_id, "score": s.score, "comment": s.comment}
                        for s in sorted(review.scores, key=lambda s: (
                            criteria[s.criterion_id].position, s.criterion_id))]}
            for index, review in enumerate(submitted, start=1)
        ],
        "assignments": [assignment_row(review) for review in services.active_reviews(application)]
        if may_manage else [],
        "may_manage": may_manage,
    }


def dump_board(call: Call) -> dict:
    board = services.assignment_board(call)
    return {
        "min_reviewers": call.min_reviewers,
        "rows": [{"application": dossier_ref(row.application),
                  "reviews": [assignment_row(review) for review in row.reviews],
                  "missing": row.missing, "may_assign": row.may_assign} for row in board.rows],
        "pool": [{"reviewer": {"id": entry.reviewer.id, "full_name": entry.reviewer.full_name},
                  "load": entry.load, "call_load": entry.call_load} for entry in board.pool],
    }


def dump_grid(call: Call) -> dict:
    return {
        "criteria": criteria_of(call), "overall_threshold": call.overall_threshold,
        "divergence_threshold": call.divergence_threshold, "min_reviewers": call.min_reviewers,
        "tie_breaks": call.tie_breaks or [],
        "tie_break_choices": [{"name": name, "label": label}
                              for name, label in grids.tie_break_choices(call)],
        "is_frozen": grids.is_frozen(call), "frozen_at": call.grid_frozen_at,
        "eligibility_checklist": list(call.eligibility_items),
        "is_checklist_frozen": grids.checklist_in_use(call),
        "may_edit": can(g.api_user, Action.CALL_EDIT, call),
    }


# --- a dossier: recevabilité, reviewers, the caller's review, all reviews ----------------------


@blp.route("/applications/<int:application_id>/eligibility-checks")
class ApplicationEligibilityChecks(MethodView):
    @staticmethod
    def _load(application_id: int) -> Application | None:
        application = load_application(application_id)
        if application is None or not (
            can(g.api_user, Action.APP_CHECK_ELIGIBILITY, application)
            or can(g.api_user, Action.APP_VIEW_REVIEWS, application)
        ):
            return None
        return application

    @staticmethod
    def _dump(application: Application) -> dict:
        answers = services.eligibility_answers(application)
        return {
            "may_check": can(g.api_user, Action.APP_CHECK_ELIGIBILITY, application),
            "items": [
                {"item_id": item.id, "label": item.label, "position": item.position,
                 "is_met": answers[item.id].is_met if item.id in answers else None,
                 "note": answers[item.id].note if item.id in answers else "",
                 "checked_at": answers[item.id].checked_at if item.id in answers else None}
                for item in application.call.eligibility_items
            ],
        }

    @blp.response(200, EligibilityChecksSchema)
    @alt(401, 404)
    def get(self, application_id: int):
        """La liste de recevabilité de l'appel et les réponses données pour ce dossier
        (instructeurs du dossier et personnel de CUF)."""
        application = self._load(application_id)
        return self._dump(application) if application else not_found()

    @blp.arguments(EligibilityChecksInSchema)
    @blp.response(200, EligibilityChecksSchema)
    @alt(401, 403, 404, 422)
    def put(self, args, application_id: int):
        """Renseigner chaque point de la liste de recevabilité (le dossier déposé), avant de
        déclencher ``declare_eligible``, ``request_changes`` ou ``declare_ineligible``."""
        application = self._load(application_id)
        if application is None:
            return not_found()
        answers = {row["item_id"]: (row["is_met"], row["note"]) for row in args["answers"]}
        try:
            services.record_eligibility(application, g.api_user, answers)
            db.session.commit()
        except engine.WorkflowError as error:
            return refusal(error, field="answers")
        return self._dump(application)


@blp.route("/applications/<int:application_id>/reviewers")
class ApplicationReviewers(MethodView):
    @blp.arguments(ReviewerRequestSchema)
    @blp.response(201, AssignmentSchema)
    @alt(401, 403, 404, 409, 422)
    def post(self, args, application_id: int):
        """Affecter un instructeur au dossier (chargé de mission) ; il est prévenu par e-mail et
        déclare l'absence de conflit d'intérêts avant de voir le dossier."""
        application = load_application(application_id)
        if application is None:
            return not_found()
        try:
            review = services.assign_reviewer(application, g.api_user,
                                              db.session.get(User, args["reviewer_id"]))
            db.session.commit()
        except engine.WorkflowError as error:
            return refusal(error, field="reviewer_id")
        return assignment_row(review), 201


@blp.route("/applications/<int:application_id>/reviewers/<int:review_id>")
class ApplicationReviewer(MethodView):
    @blp.response(204)
    @alt(401, 403, 404, 409)
    def delete(self, application_id: int, review_id: int):
        """Retirer une affectation dont l'évaluation n'est pas soumise (chargé de mission)."""
        application = load_application(application_id)
        review = db.session.get(Review, review_id)
        if application is None or review is None or review.application_id != application.id:
            return not_found()
        try:
            services.unassign_reviewer(application, g.api_user, review)
            db.session.commit()
        except engine.WorkflowError as error:
            return refusal(error)
        return "", 204


def own_review_or_none(application_id: int) -> tuple[Application, Review] | None:
    """The caller's assignment to the dossier, unless they declared a conflict (then, as for
    anyone not assigned, nothing)."""
    application = db.session.get(Application, application_id)
    if application is None or Role.REVIEWER not in g.api_user.roles:
        return None
    review = services.own_review(application, g.api_user)
    if review is None or review.conflict_status is ConflictStatus.CONFLICT:
        return None
    return application, review


@blp.route("/applications/<int:application_id>/review")
class ApplicationOwnReview(MethodView):
    @blp.response(200, OwnReviewSchema)
    @alt(401, 404)
    def get(self, application_id: int):
        """Son évaluation du dossier (instructeur affecté) : la grille, ses notes, son état.
        Tant que la déclaration sur les conflits d'intérêts est attendue, seuls la référence,
        la collectivité et l'appel."""
        found = own_review_or_none(application_id)
        return dump_own_review(*found) if found else not_found()

    @blp.arguments(ReviewInSchema)
    @blp.response(200, OwnReviewSchema)
    @alt(401, 403, 404, 409, 422)
    def put(self, args, application_id: int):
        """Enregistrer son évaluation en brouillon, ou la soumettre (``submit``) : elle est
        alors verrouillée (403 ensuite, sauf réouverture). La dernière évaluation soumise clôt
        l'instruction (``complete_review``)."""
        found = own_review_or_none(application_id)
        if found is None:
            return not_found()
        application, review = found
        if review.conflict_status is ConflictStatus.PENDING:
            return problem(409, _(ERRORS[409]), _("Déclarez si vous avez ou non un conflit "
                                                  "d'intérêts avec la collectivité."))
        scores = {row["criterion_id"]: (row["score"], row["comment"]) for row in args["scores"]}
        try:
            services.save_review(application, g.api_user, scores,
                                 args["opinion"].value if args["opinion"] else None,
                                 args["overall_comment"], submit=args["submit"])
            db.session.commit()
        except engine.WorkflowError as error:
            return refusal(error)
        return dump_own_review(application, services.own_review(application, g.api_user))


@blp.route("/applications/<int:application_id>/review/declaration")
class ApplicationDeclaration(MethodView):
    @blp.arguments(DeclarationSchema)
    @blp.response(200, OwnReviewSchema)
    @alt(401, 403, 404, 422)
    def post(self, args, application_id: int):
        """Déclarer, avant de lire le dossier, l'absence de conflit d'intérêts ou un conflit
        (avec sa nature) : un conflit retire l'affectation et un remplaçant est demandé."""
        found = own_review_or_none(application_id)
        if found is None:
            return not_found()
        application, _review = found
        try:
            review = services.declare_conflict(application, g.api_user, args["has_conflict"],
                                               args["note"])
            db.session.commit()
        except engine.WorkflowError as error:
            return refusal(error, rename={"conflict_note": "note"})
        return dump_own_review(application, review)


def load_reviews(application_id: int) -> Application | None:
    application = db.session.get(Application, application_id)
    if application is None or not can(g.api_user, Action.APP_VIEW_REVIEWS, application):
        return None
    return application


@blp.route("/applications/<int:application_id>/reviews")
class ApplicationReviews(MethodView):
    @blp.response(200, ReviewsSchema)
    @alt(401, 404)
    def get(self, application_id: int):
        """Les évaluations soumises et leur synthèse : par critère la moyenne, l'écart, les
        divergences et les seuils ; le total pondéré, la note sur 100, le consensus et la note
        finale. Personnel de CUF, comité, et chaque instructeur une fois la sienne soumise."""
        application = load_reviews(application_id)
        return dump_reviews(application) if application else not_found()


@blp.route("/applications/<int:application_id>/reviews/<int:review_id>/reopen")
class ApplicationReviewReopen(MethodView):
    @blp.arguments(ReopenSchema)
    @blp.response(200, ReviewsSchema)
    @alt(401, 403, 404, 409, 422)
    def post(self, args, application_id: int, review_id: int):
        """Rouvrir une évaluation soumise pendant l'instruction (chargé de mission, avec un
        motif gardé dans l'historique) ; l'instructeur est prévenu."""
        application = load_reviews(application_id)
        review = db.session.get(Review, review_id)
        if application is None or review is None or review.application_id != application.id:
            return not_found()
        try:
            services.reopen_review(application, g.api_user, review, args["reason"])
            db.session.commit()
        except engine.WorkflowError as error:
            return refusal(error, field="reason")
        return dump_reviews(application)


@blp.route("/applications/<int:application_id>/consensus")
class ApplicationConsensus(MethodView):
    @blp.arguments(ConsensusInSchema)
    @blp.response(200, ReviewsSchema)
    @alt(401, 403, 404, 409, 422)
    def put(self, args, application_id: int):
        """Enregistrer la note de consensus sur 100 et sa justification (chargé de mission) ;
        elle remplace la note calculée dans le classement."""
        application = load_reviews(application_id)
        if application is None:
            return not_found()
        try:
            services.record_consensus(application, g.api_user, args["score"],
                                      args["justification"])
            db.session.commit()
        except engine.WorkflowError as error:
            return refusal(error)
        return dump_reviews(application)


# --- a call: assignments, ranking, grid ------------------------------------------------------


@blp.route("/calls/<int:call_id>/reviewer-assignments")
class CallReviewerAssignments(MethodView):
    @blp.response(200, AssignmentBoardSchema)
    @alt(401, 404)
    def get(self, call_id: int):
        """Les dossiers en instruction de l'appel avec leurs instructeurs, et la charge de
        chaque instructeur (chargé de mission)."""
        call = load_call(call_id, Action.CALL_MANAGE)
        return dump_board(call) if call else not_found()

    @blp.response(200, BulkAssignmentSchema)
    @alt(401, 403, 404, 409)
    def post(self, call_id: int):
        """Compléter les affectations de l'appel en équilibrant la charge : chaque dossier en
        attente reçoit le nombre d'instructeurs requis."""
        call = load_call(call_id, Action.CALL_MANAGE)
        if call is None:
            return not_found()
        try:
            created = services.assign_in_bulk(call, g.api_user)
            db.session.commit()
        except engine.WorkflowError as error:
            return refusal(error)
        return {**dump_board(call), "created": [assignment_row(review) for review in created]}


def ranked_row(entry) -> dict:
    aggregate = entry.candidate.aggregate
    return {"rank": entry.rank, "application_id": entry.candidate.application_id,
            "reference": entry.candidate.reference, "is_tied": entry.is_tied,
            "tie_broken_by": entry.tie_broken_by, "score": aggregate.score,
            "consensus": aggregate.consensus, "final_score": aggregate.final_score,
            "requested_amount": entry.candidate.requested_amount,
            "estimated_cofinancing": entry.candidate.estimated_cofinancing,
            "is_flagged": aggregate.is_flagged,
            "is_below_overall_threshold": aggregate.is_below_overall_threshold,
            "below_threshold": [r.criterion.id for r in aggregate.below_threshold],
            "divergent": [r.criterion.id for r in aggregate.divergent]}


@blp.route("/calls/<int:call_id>/ranking")
class CallRanking(MethodView):
    @blp.arguments(RankingQuerySchema, location="query")
    @blp.response(200, RankingSchema)
    @alt(401, 404, 422)
    def get(self, args, call_id: int):
        """Le classement des dossiers instruits, par volet, selon la note finale puis les
        critères de départage de l'appel (personnel de CUF et comité) : une page de chaque
        volet (``page``, ``per_page``), le rang restant celui du volet entier."""
        call = load_call(call_id, Action.CALL_VIEW_RANKING)
        if call is None:
            return not_found()
        labels = dict(grids.tie_break_choices(call))
        tracks = []
        for track in services.ranking(call):
            if "track_id" in args and track.track_id != args["track_id"]:
                continue
            page = slice_of(track.ranked, args["page"], args["per_page"])
            tracks.append({"track_id": track.track_id, "track_name": track.track_name,
                           "total": page.total, "page": page.page,
                           "ranked": [ranked_row(entry) for entry in page.items]})
        return {
            "tie_breaks": [{"name": name, "label": labels.get(name, name)}
                           for name in call.tie_breaks or []],
            "per_page": args["per_page"], "tracks": tracks,
        }


@blp.route("/calls/<int:call_id>/grid")
class CallGrid(MethodView):
    @blp.response(200, GridSchema)
    @alt(401, 404)
    def get(self, call_id: int):
        """La grille d'évaluation de l'appel, ses réglages et sa liste de recevabilité
        (personnel de CUF et comité)."""
        call = load_call(call_id, Action.CALL_VIEW_RANKING)
        return dump_grid(call) if call else not_found()

    @blp.arguments(GridInSchema)
    @blp.response(200, GridSchema)
    @alt(401, 403, 404, 409, 422)
    def put(self, args, call_id: int):
        """Remplacer la grille (critères) et ses réglages (administrateurs), jusqu'à la
        première évaluation soumise : ensuite elle est figée (409)."""
        call = load_call(call_id, Action.CALL_VIEW_RANKING)
        if call is None:
            return not_found()
        criteria = args.pop("criteria")
        try:
            grids.update_grid(call, g.api_user, criteria, args)
            db.session.commit()
        except engine.WorkflowError as error:
            return refusal(error)
        return dump_grid(call)


@blp.route("/calls/<int:call_id>/eligibility-checklist")
class CallEligibilityChecklist(MethodView):
    @blp.arguments(ChecklistInSchema)
    @blp.response(200, GridSchema)
    @alt(401, 403, 404, 409, 422)
    def put(self, args, call_id: int):
        """Remplacer la liste de recevabilité de l'appel (administrateurs), tant qu'elle n'a
        servi pour aucun dossier."""
        call = load_call(call_id, Action.CALL_VIEW_RANKING)
        if call is None:
            return not_found()
        try:
            grids.update_checklist(call, g.api_user, args["items"])
            db.session.commit()
        except engine.WorkflowError as error:
            return refusal(error, rename={"checklist": "items"})
        return dump_grid(call)


# --- the reviewer's assignments ---------------------------------------------------------------


API_GROUPS = {
    "to_declare": services.AssignmentGroup.TO_DECLARE,
    "to_write": services.AssignmentGroup.TO_WRITE,
    "waiting": services.AssignmentGroup.WAITING,
    "submitted": services.AssignmentGroup.SUBMITTED,
}


@blp.route("/reviews")
class Reviews(MethodView):
    @blp.arguments(ReviewerAssignmentsQuerySchema, location="query")
    @blp.response(200, ReviewerAssignmentsSchema)
    @alt(401, 404, 422)
    def get(self, args):
        """Ses affectations d'instructeur : déclarations à faire, évaluations à rédiger,
        instructions pas encore ouvertes, évaluations soumises ; le nombre de chacune et une
        page de chaque groupe (ou d'un seul, ``group``), les dernières confiées d'abord."""
        if Role.REVIEWER not in g.api_user.roles:
            return not_found()
        chosen = (API_GROUPS[args["group"]],) if "group" in args else tuple(API_GROUPS.values())
        assignments = services.assignments_of(
            g.api_user, {group: args["page"] for group in chosen}, per_page=args["per_page"],
            groups=chosen)

        def tasks(reviews: list[Review]) -> list[dict]:
            return [{"id": review.id,
                     "application": dossier_ref(review.application, cleared=review.conflict_status
                                                is ConflictStatus.NONE),
                     "assigned_at": review.assigned_at, "submitted_at": review.submitted_at}
                    for review in reviews]

        return {
            "counts": {name: assignments.counts[group] for name, group in API_GROUPS.items()},
            "pages": {name: assignments.pages[group].page for name, group in API_GROUPS.items()},
            "per_page": args["per_page"],
            **{name: tasks(assignments.pages[group].items) for name, group in API_GROUPS.items()},
        }
