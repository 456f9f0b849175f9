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

Streaming. The dossiers are read from a streamed query (``yield_per``, a server-side cursor on
PostgreSQL) in batches of ``BATCH`` and each batch's reviews, consensus, decisions and aggregates
load in a fixed number of queries; the CSV is a generator of encoded chunks (``stream_csv``) and
the workbook is written in openpyxl's write-only mode to a temporary file (``xlsx_file``), the
Dossiers and Évaluations sheets filled side by side batch after batch. Memory stays that of a
batch, plus the rank of each instructed dossier of the call (one integer each: the ranking needs
every aggregate of the call before the first rank is known).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO

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
    SheetWriter,
    csv_chunks,
    new_workbook,
    save_workbook,
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
BATCH = 500  # dossiers read and written together


def filename(call: Call, extension: str) -> str:
    """``instruction-DCOL12.xlsx``: ASCII only, safe in a Content-Disposition header."""
    code = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in call.code)
    return f"instruction-{code}.{extension}"


def xlsx_file(call: Call, user: User) -> IO[bytes]:
    """The call's instruction as an XLSX workbook (sheets Dossiers, Évaluations, Grille) in a
    temporary file, at its start (the caller closes it; closing deletes it). Raises
    ``Forbidden`` unless ``user`` manages the call."""
    _check(call, user)
    with force_locale(user.locale or "fr"):
        grid, ranks = grid_of(call), _ranks(call)
        workbook = new_workbook()
        dossiers = SheetWriter(workbook, _("Dossiers"), _dossier_columns(call, grid))
        reviews = SheetWriter(workbook, _("Évaluations"), _review_sheet_columns(grid))
        for batch in _batches(call, grid, ranks):
            for application in batch.applications:
                dossiers.append(_dossier_values(batch, application))
                for review in batch.reviews[application.id]:
                    reviews.append(_review_sheet_values(grid, application, review))
        dossiers.close()
        reviews.close()
        columns, rows = _grid_table(grid)
        sheet = SheetWriter(workbook, _("Grille"), columns)
        for row in rows:
            sheet.append(row)
        sheet.close()
        return save_workbook(workbook)


def export_xlsx(call: Call, user: User) -> bytes:
    """``xlsx_file`` read into memory."""
    with xlsx_file(call, user) as output:
        return output.read()


def stream_csv(call: Call, user: User) -> Iterator[bytes]:
    """The call's instruction as one CSV table, a row per (dossier, submitted review), for
    French Excel (UTF-8 with BOM, ``;``), as encoded chunks read from the database as they are
    sent. Raises ``Forbidden`` (at once, before the first chunk) unless ``user`` manages the
    call."""
    _check(call, user)
    return _csv_chunks(call, user.locale or "fr")


def export_csv(call: Call, user: User) -> bytes:
    """``stream_csv`` joined."""
    return b"".join(stream_csv(call, user))


def _csv_chunks(call: Call, locale: str) -> Iterator[bytes]:
    with force_locale(locale):
        grid = grid_of(call)
        yield from csv_chunks(_long_columns(call, grid), _long_rows(call, grid, _ranks(call)))


def _check(call: Call, user: User) -> None:
    if not can(user, Action.CALL_MANAGE, call):
        raise Forbidden(_("Seul le chargé de mission exporte l'instruction d'un appel."))


# --- what is exported -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Batch:
    """A batch of the call's dossiers with what their rows show."""

    call: Call
    grid: list[GridCriterion]
    applications: list[Application]
    aggregates: dict[int, Aggregate]
    ranks: dict[int, int]  # of the whole call
    reviews: dict[int, list[Review]]  # submitted, active, in the order of assignment
    consensus: dict[int, Consensus]
    decisions: dict[int, CommitteeDecision]  # the latest of each dossier, session loaded


def _ranks(call: Call) -> dict[int, int]:
    return {entry.candidate.application_id: entry.rank
            for track in ranking(call) for entry in track.ranked}


def _batches(call: Call, grid: list[GridCriterion], ranks: dict[int, int]) -> Iterator[_Batch]:
    """The call's deposited dossiers by number, ``BATCH`` at a time (a streamed query, then
    five queries per batch)."""
    query = (
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
        .execution_options(yield_per=BATCH, stream_results=True)
    )
    for partition in db.session.scalars(query).partitions():
        yield _load_batch(call, grid, ranks, list(partition))


def _load_batch(call: Call, grid: list[GridCriterion], ranks: dict[int, int],
                applications: list[Application]) -> _Batch:
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
    return _Batch(
        call=call,
        grid=grid,
        applications=applications,
        aggregates=aggregates(call, applications),
        ranks=ranks,
        reviews=reviews,
        consensus={c.application_id: c for c in db.session.scalars(
            sa.select(Consensus).where(Consensus.application_id.in_(ids)))},
        decisions=decisions,
    )


def _yes_no(value: bool) -> str:
    return _("oui") if value else _("non")


def _labels(results) -> str:
    return ", ".join(result.criterion.label for result in results)


def _dossier_columns(call: Call, grid: Sequence[GridCriterion]) -> list[Column]:
    total_max = sum((c.weight * c.scale_max for c in grid), Decimal(0))
    overall = (_("Note finale sous le seuil de %(threshold)s / 100",
                 threshold=format_number(call.overall_threshold))
               if call.overall_threshold is not None else _("Note finale sous le seuil"))
    return [
        (_("Référence"), None), (_("Titre"), None), (_("Collectivité"), None),
        (_("Type de collectivité"), None), (_("Volet"), None), (_("État"), None),
        (_("Montant demandé"), EURO_FORMAT), (_("Cofinancement estimé"), EURO_FORMAT),
        (_("Évaluations soumises"), COUNT_FORMAT),
        *[(_("Moyenne — %(label)s", label=c.label), SCORE_FORMAT) for c in grid],
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


def _dossier_values(instruction: _Batch, application: Application) -> list:
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


def _review_sheet_columns(grid: Sequence[GridCriterion]) -> list[Column]:
    return [(_("Référence"), None), (_("Collectivité"), None), (_("Volet"), None),
            *_review_columns(grid)]


def _review_sheet_values(grid: Sequence[GridCriterion], application: Application,
                         review: Review) -> list:
    return [application.reference, application.organisation.name,
            application.track.name if application.track else "", *_review_values(grid, review)]


def _grid_table(grid: Sequence[GridCriterion]) -> tuple[list[Column], list[list]]:
    columns = [(_("Critère"), None), (_("Poids"), SCORE_FORMAT),
               (_("Note maximale"), SCORE_FORMAT), (_("Seuil"), SCORE_FORMAT),
               (_("Contribution maximale au total"), SCORE_FORMAT)]
    rows = [[c.label, c.weight, c.scale_max, c.threshold, c.weight * c.scale_max]
            for c in grid]
    return columns, rows


def _long_columns(call: Call, grid: Sequence[GridCriterion]) -> list[Column]:
    return [*_dossier_columns(call, grid), (_("N° d'évaluation"), COUNT_FORMAT),
            *_review_columns(grid)]


def _long_rows(call: Call, grid: list[GridCriterion], ranks: dict[int, int]) -> Iterator[list]:
    for batch in _batches(call, grid, ranks):
        for application in batch.applications:
            dossier = _dossier_values(batch, application)
            reviews = batch.reviews[application.id] or [None]
            for number, review in enumerate(reviews, start=1):
                yield [*dossier, number if review is not None else None,
                       *_review_values(grid, review)]
