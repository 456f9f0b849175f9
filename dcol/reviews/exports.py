"""Exports of a call's instruction for CUF staff (managers only: reviewers are named in them).

What is exported: the call's deposited dossiers (every state after the draft; a dossier withdrawn
before it was ever deposited is left out), in the order of their numbers.

The workbook (``export_xlsx``) has three sheets:

- **Dossiers**, one row per dossier: reference, title, organisation and its kind, track, state,
  requested amount and estimated cofinancing, the number of submitted reviews, the mean of each
  criterion, the weighted total, the computed score out of 100, the consensus and its
  justification, the final score (the consensus, else the computed one), the divergent
  criteria, the criteria under their threshold, whether the score is under the overall threshold,
  the rank in its track (instructed dossiers only, as on the ranking page) and the committee's last
  decision with its reason, session and date.
- **Évaluations**, one row per submitted review of those dossiers (drafts and assignments removed
  by a declared conflict are not shown), in the order reviewers were assigned: the reviewer, when
  the review was submitted, the score and comment of each criterion, the overall opinion and
  comment.
- **Grille**: the criteria with their weight, scale, threshold and the most they add to the
  weighted total: what the aggregates were computed with (the call's overall and divergence
  thresholds are in the headers of the Dossiers sheet).

The CSV (``export_csv``) is one table in long format, so that nothing of the workbook is lost:
one row per (dossier, submitted review), the dossier's columns repeated on each of its rows and
followed by the review's; a dossier without a submitted review has one row whose review columns
are empty. "N° d'évaluation" is 1 (or empty) on one row per dossier: filter on it before summing
amounts.

Formats and formula injection: see ``dcol.exports.tables``, which writes the workbook and the
CSV (amounts with a euro format, scores with two decimals, dates as dates in Paris time; text
that a spreadsheet would run as a formula neutralised). Headers and labels follow the requesting
user's language; number conventions stay French.

Loading takes a fixed number of queries whatever the number of dossiers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from dcol.exports.tables import (
    COUNT_FORMAT,
    DATE_FORMAT,
    EURO_FORMAT,
    MOMENT_FORMAT,
    Column,
    Table,
    csv_bytes,
    xlsx_bytes,
)
from dcol.extensions import db
from dcol.i18n import PARIS, format_number
from dcol.models import (
    Application,
    ApplicationState,
    Call,
    CommitteeDecision,
    ConflictStatus,
    Consensus,
    Review,
    ReviewState,
    User,
)
from dcol.permissions import Action, can
from dcol.reviews.scoring import Aggregate, GridCriterion
from dcol.reviews.services import aggregates, grid_of, ranking
from workflows.engine import Forbidden

SCORE_FORMAT = "0.00"


def filename(call: Call, extension: str) -> str:
    """``instruction-DCOL12.xlsx``: ASCII only, safe in a Content-Disposition header."""
    code = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in call.code)
    return f"instruction-{code}.{extension}"


def export_xlsx(call: Call, user: User) -> bytes:
    """The call's instruction as an XLSX workbook (sheets Dossiers, Évaluations, Grille).
    Raises ``Forbidden`` unless ``user`` manages the call."""
    _check(call, user)
    with force_locale(user.locale or "fr"):
        instruction = _load(call)
        return xlsx_bytes([Table(_("Dossiers"), *_dossier_table(instruction)),
                           Table(_("Évaluations"), *_review_table(instruction)),
                           Table(_("Grille"), *_grid_table(instruction))])


def export_csv(call: Call, user: User) -> bytes:
    """The call's instruction as one CSV table, a row per (dossier, submitted review), for
    French Excel (UTF-8 with BOM, ``;``). Raises ``Forbidden`` unless ``user`` manages the call."""
    _check(call, user)
    with force_locale(user.locale or "fr"):
        columns, rows = _long_table(_load(call))
    return csv_bytes(columns, rows)


def _check(call: Call, user: User) -> None:
    if not can(user, Action.CALL_MANAGE, call):
        raise Forbidden(_("Seul le chargé de mission exporte l'instruction d'un appel."))


# --- what is exported -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Instruction:
    call: Call
    grid: list[GridCriterion]
    applications: list[Application]
    aggregates: dict[int, Aggregate]
    ranks: dict[int, int]
    reviews: dict[int, list[Review]]  # submitted, active, in the order of assignment
    consensus: dict[int, Consensus]
    decisions: dict[int, CommitteeDecision]  # the latest of each dossier, session loaded


def _load(call: Call) -> _Instruction:
    applications = list(db.session.scalars(
        sa.select(Application)
        .options(joinedload(Application.organisation), joinedload(Application.track))
        .where(
            Application.call_id == call.id,
            Application.state != ApplicationState.DRAFT,
            # Withdrawn before the deposit: never submitted.
            sa.or_(Application.state != ApplicationState.WITHDRAWN,
                   Application.first_submitted_at.is_not(None)),
        )
        .order_by(Application.number, Application.id)
    ))
    ids = [application.id for application in applications]
    reviews: dict[int, list[Review]] = defaultdict(list)
    for review in db.session.scalars(
        sa.select(Review)
        .options(joinedload(Review.reviewer), selectinload(Review.scores))
        .where(Review.application_id.in_(ids), Review.state == ReviewState.SUBMITTED,
               Review.conflict_status != ConflictStatus.CONFLICT)
        .order_by(Review.assigned_at, Review.id)
    ):
        reviews[review.application_id].append(review)
    decisions = {}
    for decision in db.session.scalars(
        sa.select(CommitteeDecision).options(joinedload(CommitteeDecision.session))
        .where(CommitteeDecision.application_id.in_(ids))
        .order_by(CommitteeDecision.decided_at, CommitteeDecision.id)
    ):
        decisions[decision.application_id] = decision  # the latest wins (a promotion...)
    return _Instruction(
        call=call,
        grid=grid_of(call),
        applications=applications,
        aggregates=aggregates(call, applications),
        ranks={entry.candidate.application_id: entry.rank
               for track in ranking(call) for entry in track.ranked},
        reviews=reviews,
        consensus={c.application_id: c for c in db.session.scalars(
            sa.select(Consensus).where(Consensus.application_id.in_(ids)))},
        decisions=decisions,
    )


def _yes_no(value: bool) -> str:
    return _("oui") if value else _("non")


def _labels(results) -> str:
    return ", ".join(result.criterion.label for result in results)


def _dossier_columns(instruction: _Instruction) -> list[Column]:
    call = instruction.call
    total_max = sum((c.weight * c.scale_max for c in instruction.grid), Decimal(0))
    overall = (_("Note finale sous le seuil de %(threshold)s / 100",
                 threshold=format_number(call.overall_threshold))
               if call.overall_threshold is not None else _("Note finale sous le seuil"))
    return [
        (_("Référence"), None), (_("Titre"), None), (_("Collectivité"), None),
        (_("Type de collectivité"), None), (_("Volet"), None), (_("État"), None),
        (_("Montant demandé"), EURO_FORMAT), (_("Cofinancement estimé"), EURO_FORMAT),
        (_("Évaluations soumises"), COUNT_FORMAT),
        *[(_("Moyenne — %(label)s", label=c.label), SCORE_FORMAT) for c in instruction.grid],
        (_("Total pondéré (sur %(max)s)", max=format_number(total_max)), SCORE_FORMAT),
        (_("Note calculée / 100"), SCORE_FORMAT),
        (_("Note de consensus / 100"), SCORE_FORMAT), (_("Justification du consensus"), None),
        (_("Note finale / 100"), SCORE_FORMAT),
        (_("Critères divergents (écart d'au moins %(gap)s points)",
           gap=format_number(call.divergence_threshold)), None),
        (_("Critères sous leur seuil"), None), (overall, None),
        (_("Rang dans le volet"), COUNT_FORMAT),
        (_("Décision du comité"), None), (_("Motif de la décision"), None),
        (_("Séance"), None), (_("Date de la séance"), DATE_FORMAT),
    ]


def _dossier_values(instruction: _Instruction, application: Application) -> list:
    aggregate = instruction.aggregates[application.id]
    consensus = instruction.consensus.get(application.id)
    decision = instruction.decisions.get(application.id)
    return [
        application.reference, application.title, application.organisation.name,
        application.organisation.kind.label,
        application.track.name if application.track else "", application.state.label,
        application.requested_amount, application.estimated_cofinancing,
        len(instruction.reviews[application.id]),
        *[result.mean_shown for result in aggregate.criteria],
        aggregate.weighted_total, aggregate.score,
        consensus.score if consensus else None, consensus.justification if consensus else "",
        aggregate.final_score,
        _labels(aggregate.divergent), _labels(aggregate.below_threshold),
        _yes_no(aggregate.is_below_overall_threshold)
        if aggregate.final_score is not None and instruction.call.overall_threshold is not None
        else "",
        instruction.ranks.get(application.id),
        decision.decision.label if decision else "", decision.reason if decision else "",
        decision.session.title if decision else "",
        decision.session.held_at.astimezone(PARIS).date() if decision else None,
    ]


def _review_columns(grid: Sequence[GridCriterion]) -> list[Column]:
    columns: list[Column] = [(_("Instructeur"), None), (_("Soumise le"), MOMENT_FORMAT)]
    for criterion in grid:
        columns += [(_("Note — %(label)s", label=criterion.label), SCORE_FORMAT),
                    (_("Commentaire — %(label)s", label=criterion.label), None)]
    return [*columns, (_("Avis d'ensemble"), None), (_("Commentaire d'ensemble"), None)]


def _review_values(grid: Sequence[GridCriterion], review: Review | None) -> list:
    if review is None:
        return [None] * (4 + 2 * len(grid))
    scores = {score.criterion_id: score for score in review.scores}
    values = [review.reviewer.full_name, review.submitted_at]
    for criterion in grid:
        score = scores.get(criterion.id)
        values += [score.score if score else None, score.comment if score else ""]
    return [*values, review.opinion.label if review.opinion else "", review.overall_comment]


def _dossier_table(instruction: _Instruction) -> tuple[list[Column], list[list]]:
    return (_dossier_columns(instruction),
            [_dossier_values(instruction, a) for a in instruction.applications])


def _review_table(instruction: _Instruction) -> tuple[list[Column], list[list]]:
    columns = [(_("Référence"), None), (_("Collectivité"), None), (_("Volet"), None),
               *_review_columns(instruction.grid)]
    rows = []
    for application in instruction.applications:
        for review in instruction.reviews[application.id]:
            rows.append([application.reference, application.organisation.name,
                         application.track.name if application.track else "",
                         *_review_values(instruction.grid, review)])
    return columns, rows


def _grid_table(instruction: _Instruction) -> tuple[list[Column], list[list]]:
    columns = [(_("Critère"), None), (_("Poids"), SCORE_FORMAT),
               (_("Note maximale"), SCORE_FORMAT), (_("Seuil"), SCORE_FORMAT),
               (_("Contribution maximale au total"), SCORE_FORMAT)]
    rows = [[c.label, c.weight, c.scale_max, c.threshold, c.weight * c.scale_max]
            for c in instruction.grid]
    return columns, rows


def _long_table(instruction: _Instruction) -> tuple[list[Column], list[list]]:
    columns = [*_dossier_columns(instruction), (_("N° d'évaluation"), COUNT_FORMAT),
               *_review_columns(instruction.grid)]
    rows = []
    for application in instruction.applications:
        dossier = _dossier_values(instruction, application)
        reviews = instruction.reviews[application.id] or [None]
        for number, review in enumerate(reviews, start=1):
            rows.append([*dossier, number if review is not None else None,
                         *_review_values(instruction.grid, review)])
    return columns, rows
