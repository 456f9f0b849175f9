"""Instruction: the eligibility checklist, reviewers and their conflicts of interest, reviews,
the consensus, and the aggregates and ranking built from them.

Each operation checks its permission, flushes only (the caller commits), writes an audit entry in
the dossier's chain (``dcol.audit``; these entries are shown to CUF staff only) and queues its
mails. State changes stay with ``workflows``: the last review in fires ``complete_review`` through
``workflows.automatic``.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from dcol import audit
from dcol.extensions import db
from dcol.i18n import format_number
from dcol.mail import external_url, queue_notice
from dcol.models import (
    Application,
    ApplicationState,
    Call,
    ConflictStatus,
    Consensus,
    Criterion,
    EligibilityCheck,
    Opinion,
    Review,
    ReviewScore,
    ReviewState,
    Role,
    User,
    utcnow,
)
from dcol.models.base import N_
from dcol.paging import Slice, last_page
from dcol.permissions import Action, can
from dcol.reviews.scoring import (
    Aggregate,
    Candidate,
    CriterionStats,
    GridCriterion,
    Ranked,
    aggregate_stats,
    rank,
)
from workflows import automatic
from workflows.engine import Forbidden, InvalidInput, NotApplicable, NotVisible
from workflows.notifications import manager_users

S = ApplicationState
# Reviewers are assigned from the deposit until the instruction is over.
ASSIGNABLE_STATES = frozenset({S.SUBMITTED, S.ELIGIBLE, S.UNDER_REVIEW})
# Dossiers that appear in a call's ranking: instructed, whatever was decided since.
RANKED_STATES = frozenset({
    S.REVIEWED, S.WAITLISTED, S.SELECTED, S.REJECTED, S.MATCHING, S.EXPERT_PROPOSED,
    S.AGREEMENT, S.IN_PROGRESS, S.FINAL_REPORT, S.CLOSED,
})
MAX_COMMENT = 10_000

class ReviewRefused(InvalidInput):
    """Invalid input on a review form: ``errors`` maps each field to its French message."""

    def __init__(self, message: str, errors: dict[str, str] | None = None):
        super().__init__(message, list((errors or {}).values()))
        self.errors = errors or {}


def _record(application: Application, actor: User | None, event: str, comment: str = "",
            **payload) -> None:
    audit.record(application_id=application.id, actor=actor, event=event, occurred_at=utcnow(),
                 comment=comment, payload=payload)


def _require(user: User, action: Action, application: Application, message: str) -> None:
    if not can(user, Action.APP_VIEW, application) and not can(user, action, application):
        raise NotVisible(_("Dossier introuvable."))
    if not can(user, action, application):
        raise Forbidden(message)


# --- eligibility checklist ------------------------------------------------------------------


def record_eligibility(application: Application, user: User,
                       answers: dict[int, tuple[bool, str]]) -> list[EligibilityCheck]:
    """Record the reviewer's answer to each point of the call's recevabilité checklist
    (``{item id: (is met, note)}``); every point must be answered."""
    _require(user, Action.APP_CHECK_ELIGIBILITY, application,
             _("La recevabilité se vérifie par un instructeur ou le chargé de mission, tant que "
               "le dossier est déposé."))
    items = application.call.eligibility_items
    missing = [item for item in items if item.id not in answers]
    unknown = set(answers) - {item.id for item in items}
    if unknown:
        raise ReviewRefused(_("Ce point ne fait pas partie de la liste de l'appel."))
    if missing:
        raise ReviewRefused(
            _("Répondez à chaque point de la liste de recevabilité."),
            {f"item-{item.id}": _("Point non renseigné : %(label)s", label=item.label)
             for item in missing},
        )
    existing = {check.item_id: check for check in db.session.scalars(
        sa.select(EligibilityCheck).where(EligibilityCheck.application_id == application.id))}
    now, checks = utcnow(), []
    for item in items:
        is_met, note = answers[item.id]
        if len(note or "") > MAX_COMMENT:
            raise ReviewRefused(_("Note trop longue."))
        check = existing.get(item.id) or EligibilityCheck(application_id=application.id,
                                                          item_id=item.id)
        check.is_met, check.note = bool(is_met), (note or "").strip()
        check.checked_by_id, check.checked_at = user.id, now
        db.session.add(check)
        checks.append(check)
    _record(application, user, "eligibility_checked",
            unmet=[item.id for item in items if not answers[item.id][0]])
    db.session.flush()
    return checks


def eligibility_answers(application: Application) -> dict[int, EligibilityCheck]:
    return {check.item_id: check for check in db.session.scalars(
        sa.select(EligibilityCheck).where(EligibilityCheck.application_id == application.id))}


# --- reviewers --------------------------------------------------------------------------------


def active_reviews(application: Application) -> list[Review]:
    """The dossier's assignments that count (a declared conflict removes one)."""
    return list(db.session.scalars(
        sa.select(Review)
        .options(joinedload(Review.reviewer), selectinload(Review.scores))
        .where(Review.application_id == application.id,
               Review.conflict_status != ConflictStatus.CONFLICT)
        .order_by(Review.assigned_at, Review.id)
    ))


def reviewer_pool() -> list[User]:
    return list(db.session.scalars(
        sa.select(User).join(User.role_rows)
        .where(User.is_enabled.is_(True), User.role_rows.any(role=Role.REVIEWER))
        .order_by(User.full_name, User.id).distinct()
    ))


def reviewer_loads(call: Call | None = None) -> dict[int, int]:
    """Reviews each reviewer still has to write (pending or draft, not conflicted), across every
    call or within one: what bulk assignment balances."""
    query = (
        sa.select(Review.reviewer_id, sa.func.count(Review.id))
        .where(Review.state == ReviewState.DRAFT,
               Review.conflict_status != ConflictStatus.CONFLICT)
        .group_by(Review.reviewer_id)
    )
    if call is not None:
        query = query.join(Application, Review.application_id == Application.id).where(
            Application.call_id == call.id)
    return dict(db.session.execute(query).all())


def assign_reviewer(application: Application, actor: User, reviewer: User | None) -> Review:
    """Assign ``reviewer`` to the dossier; they are mailed and must declare the absence of a
    conflict of interest before seeing it."""
    _require(actor, Action.APP_ASSIGN_REVIEWERS, application,
             _("Seul le chargé de mission affecte les instructeurs."))
    if application.state not in ASSIGNABLE_STATES:
        raise NotApplicable(_("On n'affecte plus d'instructeur à un dossier à l'état « %(state)s ».",
                              state=application.state.label))
    if reviewer is None or Role.REVIEWER not in reviewer.roles or not reviewer.is_enabled:
        raise ReviewRefused(_("Choisissez un instructeur actif."))
    previous = db.session.scalar(sa.select(Review).where(
        Review.application_id == application.id, Review.reviewer_id == reviewer.id))
    if previous is not None:
        if previous.conflict_status is ConflictStatus.CONFLICT:
            raise ReviewRefused(_("%(name)s a déclaré un conflit d'intérêts avec ce dossier.",
                                  name=reviewer.full_name))
        raise ReviewRefused(_("%(name)s est déjà affecté à ce dossier.", name=reviewer.full_name))
    review = Review(application_id=application.id, reviewer_id=reviewer.id,
                    assigned_by_id=actor.id, assigned_at=utcnow(),
                    conflict_status=ConflictStatus.PENDING, state=ReviewState.DRAFT)
    db.session.add(review)
    db.session.flush()
    _record(application, actor, "reviewer_assigned", reviewer_id=reviewer.id,
            name=reviewer.full_name)
    queue_notice(reviewer, N_("Dossier %(reference)s à instruire"),
            N_("Le dossier %(reference)s (%(organisation)s) vous est confié. Déclarez d'abord "
               "l'absence de conflit d'intérêts avec la collectivité : vous pourrez alors le lire "
               "et l'évaluer."),
            external_url("reviews.review", application_id=application.id),
            reference=application.reference, organisation=application.organisation.name)
    return review


def unassign_reviewer(application: Application, actor: User, review: Review) -> None:
    """Withdraw an assignment whose review is not submitted (the manager only)."""
    _require(actor, Action.APP_ASSIGN_REVIEWERS, application,
             _("Seul le chargé de mission affecte les instructeurs."))
    if review.application_id != application.id:
        raise NotVisible(_("Évaluation introuvable."))
    if review.state is ReviewState.SUBMITTED:
        raise NotApplicable(_("Une évaluation soumise ne se retire pas ; rouvrez-la au besoin."))
    name = review.reviewer.full_name
    db.session.delete(review)
    _record(application, actor, "reviewer_unassigned", reviewer_id=review.reviewer_id, name=name)
    db.session.flush()


def assign_in_bulk(call: Call, actor: User) -> list[Review]:
    """Give every dossier of the call awaiting instruction (deposited, eligible or under review)
    the call's minimum number of reviewers, choosing each time the reviewer with the fewest
    reviews to write (then the fewest in this call, then by name), never one already assigned
    or who declared a conflict with that dossier. Returns the new assignments."""
    if not can(actor, Action.CALL_MANAGE, call):
        raise Forbidden(_("Seul le chargé de mission affecte les instructeurs."))
    pool = reviewer_pool()
    if not pool:
        raise NotApplicable(_("Aucun instructeur actif n'est disponible."))
    loads, call_loads = defaultdict(int, reviewer_loads()), defaultdict(int, reviewer_loads(call))
    applications = db.session.scalars(
        sa.select(Application).options(joinedload(Application.organisation))
        .where(Application.call_id == call.id,
               Application.state.in_([S.ELIGIBLE, S.UNDER_REVIEW, S.SUBMITTED]))
        .order_by(Application.number)
    ).all()
    taken: dict[int, set[int]] = defaultdict(set)
    for application_id, reviewer_id in db.session.execute(
        sa.select(Review.application_id, Review.reviewer_id)
        .join(Application, Review.application_id == Application.id)
        .where(Application.call_id == call.id)
    ):
        taken[application_id].add(reviewer_id)
    active = defaultdict(int)
    for application_id, count in db.session.execute(
        sa.select(Review.application_id, sa.func.count(Review.id))
        .join(Application, Review.application_id == Application.id)
        .where(Application.call_id == call.id,
               Review.conflict_status != ConflictStatus.CONFLICT)
        .group_by(Review.application_id)
    ):
        active[application_id] = count
    created = []
    for application in applications:
        for _slot in range(max(0, call.min_reviewers - active[application.id])):
            candidates = [r for r in pool if r.id not in taken[application.id]
                          and r.organisation_id != application.organisation_id]
            if not candidates:
                break
            reviewer = min(candidates, key=lambda r: (loads[r.id], call_loads[r.id],
                                                      r.full_name, r.id))
            created.append(assign_reviewer(application, actor, reviewer))
            taken[application.id].add(reviewer.id)
            loads[reviewer.id] += 1
            call_loads[reviewer.id] += 1
    return created


def declare_conflict(application: Application, reviewer: User, has_conflict: bool,
                     note: str = "") -> Review:
    """The reviewer's declaration before reading the dossier. A conflict removes the assignment
    (the review no longer counts, and they never see the dossier) and the managers are asked for
    a replacement."""
    _require(reviewer, Action.APP_DECLARE_CONFLICT, application,
             _("Vous avez déjà fait votre déclaration pour ce dossier."))
    note = (note or "").strip()
    if has_conflict and not note:
        raise ReviewRefused(_("Dites en quelques mots la nature du lien avec la collectivité."),
                            {"conflict_note": _("Précisez la nature du conflit d'intérêts.")})
    if len(note) > MAX_COMMENT:
        raise ReviewRefused(_("Texte trop long."))
    review = db.session.scalar(sa.select(Review).where(
        Review.application_id == application.id, Review.reviewer_id == reviewer.id))
    review.conflict_status = ConflictStatus.CONFLICT if has_conflict else ConflictStatus.NONE
    review.conflict_note = note
    review.conflict_declared_at = utcnow()
    _record(application, reviewer, "conflict_declared" if has_conflict else "no_conflict_declared",
            reviewer_id=reviewer.id, name=reviewer.full_name)
    if has_conflict:
        link = external_url("reviews.assignments", call_id=application.call_id)
        for manager in manager_users():
            queue_notice(manager, N_("Instructeur à remplacer sur %(reference)s"),
                    N_("%(name)s a déclaré un conflit d'intérêts avec le dossier %(reference)s "
                       "(%(organisation)s) : affectez un autre instructeur."), link,
                    name=reviewer.full_name, reference=application.reference,
                    organisation=application.organisation.name)
    db.session.flush()
    return review


# --- reviews ----------------------------------------------------------------------------------


def grid_of(call: Call) -> list[GridCriterion]:
    return [
        GridCriterion(id=c.id, position=c.position, label=c.label, weight=c.weight,
                      scale_max=c.scale_max, threshold=c.threshold)
        for c in sorted(call.criteria, key=lambda c: (c.position, c.id))
    ]


def own_review(application: Application, reviewer: User) -> Review | None:
    return db.session.scalar(
        sa.select(Review).options(selectinload(Review.scores))
        .where(Review.application_id == application.id, Review.reviewer_id == reviewer.id))


def _parse_score(raw, criterion: Criterion) -> Decimal | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = Decimal(str(raw).strip().replace(",", "."))
    except InvalidOperation:
        raise ValueError(_("Note invalide.")) from None
    if not value.is_finite() or value < 0 or value > criterion.scale_max:
        raise ValueError(_("La note va de 0 à %(max)s.", max=format_number(criterion.scale_max)))
    if criterion.step and (value / criterion.step) % 1 != 0:
        raise ValueError(_("La note va par pas de %(step)s.", step=format_number(criterion.step)))
    return value


def save_review(application: Application, reviewer: User, scores: dict[int, tuple],
                opinion: str | None, overall_comment: str, *, submit: bool) -> Review:
    """Save the reviewer's scores and comments (``{criterion id: (score, comment)}``) as a
    draft, or submit them: every criterion scored and an overall opinion given. A submitted
    review is locked; the first one freezes the call's grid; the last one in closes the
    instruction (``complete_review``, fired by dcol)."""
    _require(reviewer, Action.APP_SCORE, application,
             _("Vous ne pouvez pas (ou plus) évaluer ce dossier."))
    review = own_review(application, reviewer)
    criteria = {c.id: c for c in application.call.criteria}
    errors: dict[str, str] = {}
    clean: dict[int, tuple[Decimal | None, str]] = {}
    for criterion_id in set(scores) - set(criteria):
        errors[f"criterion-{criterion_id}"] = _("Ce critère ne fait pas partie de la grille.")
    for criterion in criteria.values():
        raw_score, comment = scores.get(criterion.id, (None, ""))
        comment = (comment or "").strip()
        try:
            value = _parse_score(raw_score, criterion)
        except ValueError as error:
            errors[f"score-{criterion.id}"] = f"{criterion.label} : {error}"
            continue
        if len(comment) > MAX_COMMENT:
            errors[f"comment-{criterion.id}"] = _("Commentaire trop long.")
        if submit and value is None:
            errors[f"score-{criterion.id}"] = _("Notez le critère « %(label)s ».",
                                                label=criterion.label)
        clean[criterion.id] = (value, comment)
    try:
        opinion_value = Opinion(opinion) if opinion else None
    except ValueError:
        errors["opinion"] = _("Avis inconnu.")
        opinion_value = None
    if submit and opinion_value is None and "opinion" not in errors:
        errors["opinion"] = _("Donnez votre avis d'ensemble.")
    overall_comment = (overall_comment or "").strip()
    if len(overall_comment) > MAX_COMMENT:
        errors["overall_comment"] = _("Commentaire trop long.")
    if submit and not criteria:
        errors["grid"] = _("La grille d'évaluation de l'appel est vide.")
    if errors:
        raise ReviewRefused(
            _("L'évaluation n'a pas été soumise : complétez ce qui manque.") if submit
            else _("Certaines informations sont invalides ; rien n'a été enregistré."),
            errors,
        )
    existing = {score.criterion_id: score for score in review.scores}
    for criterion_id, (value, comment) in clean.items():
        row = existing.get(criterion_id)
        if row is None:  # appended from the review's side, so that it joins the session
            row = ReviewScore(criterion_id=criterion_id)
            review.scores.append(row)
        row.score, row.comment = value, comment
    review.opinion, review.overall_comment = opinion_value, overall_comment
    if submit:
        now = utcnow()
        review.state, review.submitted_at = ReviewState.SUBMITTED, now
        call = application.call
        if call.grid_frozen_at is None:
            call.grid_frozen_at = now
        _record(application, reviewer, "review_submitted", reviewer_id=reviewer.id,
                name=reviewer.full_name)
        db.session.flush()
        automatic.after_review_submitted(application)
    db.session.flush()
    return review


def reopen_review(application: Application, manager: User, review: Review, reason: str) -> None:
    """Reopen a submitted review for its reviewer, while the instruction goes on (the manager
    only, with a reason kept in the history)."""
    _require(manager, Action.APP_MANAGE, application,
             _("Seul le chargé de mission rouvre une évaluation."))
    if review.application_id != application.id or review.state is not ReviewState.SUBMITTED:
        raise NotApplicable(_("Seule une évaluation soumise peut être rouverte."))
    if application.state is not S.UNDER_REVIEW:
        raise NotApplicable(_("L'instruction de ce dossier est close : l'évaluation ne peut plus "
                              "être rouverte."))
    reason = (reason or "").strip()
    if not reason:
        raise ReviewRefused(_("Indiquez pourquoi l'évaluation est rouverte."),
                            {"reason": _("Motif obligatoire.")})
    review.state, review.submitted_at = ReviewState.DRAFT, None
    _record(application, manager, "review_reopened", reviewer_id=review.reviewer_id,
            name=review.reviewer.full_name, comment=reason[:MAX_COMMENT])
    queue_notice(review.reviewer, N_("Évaluation de %(reference)s rouverte"),
            N_("Le chargé de mission a rouvert votre évaluation du dossier %(reference)s. "
               "Vous pouvez la modifier puis la soumettre à nouveau."),
            external_url("reviews.review", application_id=application.id),
            reference=application.reference, comment=reason[:MAX_COMMENT])
    db.session.flush()


def record_consensus(application: Application, manager: User, score, justification: str
                     ) -> Consensus:
    """The consensus score out of 100 and its justification, shown beside the reviewers'
    scores and used by the ranking."""
    _require(manager, Action.APP_MANAGE, application,
             _("Seul le chargé de mission enregistre une note de consensus."))
    if application.state not in {S.UNDER_REVIEW, S.REVIEWED, S.WAITLISTED}:
        raise NotApplicable(_("La note de consensus s'enregistre pendant l'instruction et avant "
                              "la décision."))
    errors = {}
    try:
        value = Decimal(str(score).strip().replace(",", "."))
        if not value.is_finite() or not 0 <= value <= 100:
            raise InvalidOperation
        value = value.quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        errors["score"] = _("La note de consensus va de 0 à 100.")
    justification = (justification or "").strip()
    if not justification:
        errors["justification"] = _("Justifiez la note de consensus.")
    elif len(justification) > MAX_COMMENT:
        errors["justification"] = _("Texte trop long.")
    if errors:
        raise ReviewRefused(_("La note de consensus n'a pas été enregistrée."), errors)
    consensus = db.session.get(Consensus, application.id) or Consensus(
        application_id=application.id)
    consensus.score, consensus.justification = value, justification
    consensus.recorded_by_id, consensus.recorded_at = manager.id, utcnow()
    db.session.add(consensus)
    _record(application, manager, "consensus_recorded", score=str(value),
            comment=justification)
    db.session.flush()
    return consensus


# --- aggregates and ranking -------------------------------------------------------------------


def _counted_reviews():
    """The reviews that make a dossier's aggregate: submitted, not removed by a conflict."""
    return sa.and_(Review.state == ReviewState.SUBMITTED,
                   Review.conflict_status != ConflictStatus.CONFLICT)


def criterion_stats_of(which) -> dict[int, dict[int, CriterionStats]]:
    """For each dossier ``which`` (a condition on ``Application``) keeps, the ``CriterionStats`` of each
    criterion over its counted reviews: one GROUP BY, whatever the number of dossiers (what
    ``scoring.criterion_stats`` computes in memory)."""
    rows = db.session.execute(
        sa.select(Review.application_id, ReviewScore.criterion_id,
                  sa.func.count(ReviewScore.score),
                  # Scores have one decimal: the sum is exact, also where SQLite adds floats
                  # (the type's result processor rounds it back to one decimal).
                  sa.func.sum(ReviewScore.score, type_=sa.Numeric(12, 1)),
                  sa.func.min(ReviewScore.score), sa.func.max(ReviewScore.score))
        .join(Application, Application.id == Review.application_id)
        .join(ReviewScore, ReviewScore.review_id == Review.id)
        .where(which, _counted_reviews(),
               ReviewScore.score.is_not(None))
        .group_by(Review.application_id, ReviewScore.criterion_id)
    )
    result: dict[int, dict[int, CriterionStats]] = defaultdict(dict)
    for application_id, criterion_id, *stats in rows:
        result[application_id][criterion_id] = CriterionStats(*stats)
    return result


def _review_count():
    """A dossier's counted reviews, as a scalar subquery correlated to ``Application``."""
    return (sa.select(sa.func.count(Review.id))
            .where(Review.application_id == Application.id, _counted_reviews())
            .correlate(Application).scalar_subquery())


def _aggregates(call: Call, which, columns=()) -> list[tuple[Aggregate, sa.Row]]:
    """The aggregate of each dossier of ``call`` that ``which`` (a condition on
    ``Application``) keeps, with its ``columns`` of ``Application`` (two queries)."""
    grid = grid_of(call)
    stats = criterion_stats_of(which)
    rows = db.session.execute(
        sa.select(Application.id, Consensus.score, _review_count(), *columns)
        .outerjoin(Consensus, Consensus.application_id == Application.id)
        .where(which)
    ).all()
    return [
        (aggregate_stats(
            grid, stats.get(row[0], {}), review_count=row[2],
            divergence_threshold=call.divergence_threshold,
            overall_threshold=call.overall_threshold, consensus=row[1],
        ), row)
        for row in rows
    ]


def aggregates(call: Call, applications: list[Application]) -> dict[int, Aggregate]:
    """The aggregate of each dossier of ``call`` (a fixed number of queries)."""
    ids = [application.id for application in applications]
    if not ids:
        return {}
    return {row[0]: result for result, row in _aggregates(call, Application.id.in_(ids))}


def aggregate_of(application: Application) -> Aggregate:
    return aggregates(application.call, [application])[application.id]


@dataclass(frozen=True)
class TrackRanking:
    track_id: int | None
    track_name: str
    ranked: list[Ranked]


def ranking(call: Call, states: frozenset = RANKED_STATES) -> list[TrackRanking]:
    """The call's instructed dossiers ranked per track (the call's tie-breaks), in a fixed
    number of queries. Every dossier is ranked; the per-criterion results of an aggregate
    (divergences, thresholds) are computed when read, for the rows a page shows."""
    selected = sa.and_(Application.call_id == call.id, Application.state.in_(states))
    tracks = {track.id: track.name for track in call.tracks}
    groups: dict[int | None, list[Candidate]] = defaultdict(list)
    for result, row in _aggregates(call, selected, (
            Application.reference, Application.track_id, Application.first_submitted_at,
            Application.submitted_at, Application.requested_amount,
            Application.estimated_cofinancing)):
        groups[row.track_id].append(Candidate(
            application_id=row.id, reference=row.reference, track_id=row.track_id,
            aggregate=result, submitted_at=row.first_submitted_at or row.submitted_at,
            requested_amount=row.requested_amount,
            estimated_cofinancing=row.estimated_cofinancing,
        ))
    order = [track.id for track in call.tracks] + [None]
    return [
        TrackRanking(track_id, tracks.get(track_id, _("Sans volet")),
                     rank(groups[track_id], call.tie_breaks or []))
        for track_id in order if groups.get(track_id)
    ]


def tie_break_labels(call: Call) -> list[str]:
    """The call's tie-breaks, in order, as the ranking page explains them."""
    from dcol.reviews.grid import tie_break_choices

    labels = dict(tie_break_choices(call))
    return [labels.get(name, name) for name in call.tie_breaks or []]


# --- what pages show ----------------------------------------------------------------------------


def submitted_reviews(application: Application) -> list[Review]:
    """The dossier's submitted reviews that count, in the order they were assigned."""
    return [review for review in active_reviews(application)
            if review.state is ReviewState.SUBMITTED]


def consensus_of(application: Application) -> Consensus | None:
    return db.session.get(Consensus, application.id)


def shows_reviewer_names(user: User, application: Application) -> bool:
    """CUF staff and the committee see who wrote each review; a reviewer reading the others'
    reviews (once theirs is submitted) sees them as "Instructeur 1, 2..."."""
    from dcol.permissions import is_staff_overseer, sits_on_committee

    return is_staff_overseer(user) or sits_on_committee(user, application.call_id)


class AssignmentGroup(enum.Enum):
    """Where a reviewer's assignment stands, in the order their page lists them (what they have
    to do first). The value is the group's query parameter on that page."""

    TO_DECLARE = "a-declarer"  # the declaration on conflicts of interest is awaited
    TO_WRITE = "a-rediger"  # cleared, the instruction is open, not submitted yet
    WAITING = "en-attente"  # cleared, the instruction has not started yet (or is over)
    SUBMITTED = "soumises"


def _assignment_group():
    """The group of a review (joined to its dossier) as a SQL expression; a declared conflict
    removes the assignment and is filtered out before."""
    G = AssignmentGroup
    return sa.case(
        (Review.conflict_status == ConflictStatus.PENDING, G.TO_DECLARE.value),
        (Review.state == ReviewState.SUBMITTED, G.SUBMITTED.value),
        (Application.state == S.UNDER_REVIEW, G.TO_WRITE.value),
        else_=G.WAITING.value,
    )


@dataclass(frozen=True)
class ReviewerAssignments:
    counts: dict[AssignmentGroup, int]
    pages: dict[AssignmentGroup, Slice]  # of Review, latest assignment first


def _assignment_rows(reviewer: User, pages: dict[AssignmentGroup, int], per_page: int,
                     groups: tuple[AssignmentGroup, ...]) -> list[sa.Row]:
    """One pass over the reviewer's assignments: each group's total, and the ids on the
    wanted page of each of ``groups`` (plus the first of every group, which carries its
    total)."""
    group = _assignment_group()
    numbered = (
        sa.select(
            Review.id, group.label("grp"),
            sa.func.row_number().over(partition_by=group, order_by=(
                Review.assigned_at.desc(), Review.id.desc())).label("rn"),
            sa.func.count().over(partition_by=group).label("total"))
        .join(Application, Review.application_id == Application.id)
        .where(Review.reviewer_id == reviewer.id,
               Review.conflict_status != ConflictStatus.CONFLICT)
        .subquery()
    )
    wanted = [sa.and_(numbered.c.grp == g.value,
                      numbered.c.rn.between((pages[g] - 1) * per_page + 1, pages[g] * per_page))
              for g in groups]
    return db.session.execute(
        sa.select(numbered.c.id, numbered.c.grp, numbered.c.rn, numbered.c.total)
        .where(sa.or_(numbered.c.rn == 1, *wanted))
    ).all()


def assignments_of(reviewer: User, pages: dict[AssignmentGroup, int] | None = None,
                   per_page: int = 20,
                   groups: tuple[AssignmentGroup, ...] = tuple(AssignmentGroup)
                   ) -> ReviewerAssignments:
    """A reviewer's assignments (a declared conflict removes one) for their own page: how many
    in each group and, for each of ``groups``, its page ``pages[group]`` (1 by default; the last
    when past it) of ``per_page``, latest assignment first, with dossier, collectivité and call
    loaded. Two queries (a third when a page past the last one was asked for)."""
    wanted = {g: max(1, (pages or {}).get(g, 1)) for g in AssignmentGroup}
    rows = _assignment_rows(reviewer, wanted, per_page, groups)
    counts = {g: 0 for g in AssignmentGroup}
    for row in rows:
        counts[AssignmentGroup(row.grp)] = row.total
    clamped = {g: min(page, last_page(counts[g], per_page)) for g, page in wanted.items()}
    if any(clamped[g] != wanted[g] for g in groups):
        rows = _assignment_rows(reviewer, clamped, per_page, groups)
    on_page: dict[AssignmentGroup, list[int]] = defaultdict(list)
    for row in sorted(rows, key=lambda row: row.rn):
        g = AssignmentGroup(row.grp)
        if g in groups and (clamped[g] - 1) * per_page < row.rn <= clamped[g] * per_page:
            on_page[g].append(row.id)
    ids = [i for g in groups for i in on_page[g]]
    reviews = {review.id: review for review in db.session.scalars(
        sa.select(Review)
        .options(joinedload(Review.application).joinedload(Application.organisation),
                 joinedload(Review.application).joinedload(Application.call),
                 joinedload(Review.application).joinedload(Application.track))
        .where(Review.id.in_(ids))).unique()} if ids else {}
    return ReviewerAssignments(counts, {
        g: Slice([reviews[i] for i in on_page[g]], clamped[g], per_page, counts[g])
        for g in AssignmentGroup})


@dataclass(frozen=True)
class BoardRow:
    application: Application
    reviews: list[Review]  # every assignment, conflicts included (shown as such)
    missing: int  # reviewers still to assign to reach the call's minimum
    may_assign: bool


@dataclass(frozen=True)
class PoolEntry:
    reviewer: User
    load: int  # reviews to write, every call
    call_load: int  # reviews to write in this call


@dataclass(frozen=True)
class AssignmentBoard:
    rows: list[BoardRow]
    pool: list[PoolEntry]


def assignment_board(call: Call) -> AssignmentBoard:
    """The call's dossiers under instruction with their reviewers, and the reviewers' loads: the
    manager's assignment page (a fixed number of queries)."""
    applications = db.session.scalars(
        sa.select(Application).options(joinedload(Application.organisation))
        .where(Application.call_id == call.id,
               Application.state.in_([*ASSIGNABLE_STATES, S.REVIEWED]))
        .order_by(Application.number)
    ).all()
    reviews: dict[int, list[Review]] = defaultdict(list)
    for review in db.session.scalars(
        sa.select(Review).options(joinedload(Review.reviewer))
        .where(Review.application_id.in_([a.id for a in applications]))
        .order_by(Review.assigned_at, Review.id)
    ):
        reviews[review.application_id].append(review)
    rows = []
    for application in applications:
        active = [r for r in reviews[application.id] if r.is_active]
        rows.append(BoardRow(application, reviews[application.id],
                             max(0, call.min_reviewers - len(active)),
                             application.state in ASSIGNABLE_STATES))
    loads, call_loads = reviewer_loads(), reviewer_loads(call)
    pool = [PoolEntry(user, loads.get(user.id, 0), call_loads.get(user.id, 0))
            for user in reviewer_pool()]
    return AssignmentBoard(rows, pool)


@dataclass(frozen=True)
class CallOverview:
    call: Call
    counts: dict[ApplicationState, int]  # dossiers per state, drafts left out


def calls_overview(user: User) -> list[CallOverview]:
    """The calls whose instruction ``user`` follows (every call for CUF's managers and admins,
    those of their sessions for a committee member), newest first, with their dossiers' states
    (two queries)."""
    calls = [call for call in db.session.scalars(
        sa.select(Call).order_by(Call.opens_at.desc(), Call.id.desc()))
        if can(user, Action.CALL_VIEW_RANKING, call)]
    counts: dict[int, dict] = defaultdict(dict)
    for call_id, state, count in db.session.execute(
        sa.select(Application.call_id, Application.state, sa.func.count())
        .where(Application.call_id.in_([call.id for call in calls]), Application.state != S.DRAFT)
        .group_by(Application.call_id, Application.state)
    ):
        counts[call_id][state] = count
    return [CallOverview(call, counts[call.id]) for call in calls]
