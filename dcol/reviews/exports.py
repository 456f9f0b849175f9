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

Formats. Numbers are numbers: Decimal values go into the workbook as they are (openpyxl writes
their text, never through a float), amounts with a euro format, scores with two decimals, dates
as dates (Paris time). The CSV is what French Excel opens with a double click: UTF-8 *with a BOM*
(without it Excel reads Windows-1252), ``;`` as separator (``,`` being the French decimal
separator), decimal commas without thousands separators, dates as dd/mm/yyyy, CRLF line ends.
Headers and labels follow the requesting user's language; number conventions stay French.

Formula injection. Text typed by people (titles, comments, names, justifications) may start with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return, which a spreadsheet would evaluate. In the
workbook such a cell is typed as text with Excel's quote prefix: its value is exactly what was
typed and it is never evaluated, even once edited. The CSV has no types: the cell gets a leading
apostrophe (OWASP's advice). Characters XML forbids (control characters pasted from elsewhere)
are removed from both.

Loading takes a fixed number of queries whatever the number of dossiers.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import joinedload, selectinload

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

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EURO_FORMAT = '#,##0.00 "€"'
SCORE_FORMAT = "0.00"
COUNT_FORMAT = "0"
DATE_FORMAT = "DD/MM/YYYY"
MOMENT_FORMAT = "DD/MM/YYYY HH:MM"
CSV_DATE = "%d/%m/%Y"
CSV_MOMENT = "%d/%m/%Y %H:%M"
MIN_WIDTH, MAX_WIDTH, HEADER_WIDTH = 8, 60, 28

# A column: its header and its number format (None: text).
Column = tuple[str, str | None]


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
        workbook = Workbook()
        sheets = [(_("Dossiers"), *_dossier_table(instruction)),
                  (_("Évaluations"), *_review_table(instruction)),
                  (_("Grille"), *_grid_table(instruction))]
        for index, (title, columns, rows) in enumerate(sheets):
            sheet = workbook.active if index == 0 else workbook.create_sheet()
            sheet.title = title[:31]
            _write_sheet(sheet, columns, rows)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_csv(call: Call, user: User) -> bytes:
    """The call's instruction as one CSV table, a row per (dossier, submitted review), for
    French Excel (UTF-8 with BOM, ``;``). Raises ``Forbidden`` unless ``user`` manages the call."""
    _check(call, user)
    with force_locale(user.locale or "fr"):
        columns, rows = _long_table(_load(call))
    text = io.StringIO()
    writer = csv.writer(text, delimiter=";", lineterminator="\r\n")
    writer.writerow([_csv_value(header) for header, _format in columns])
    for row in rows:
        writer.writerow([_csv_value(value) for value in row])
    return ("\ufeff" + text.getvalue()).encode("utf-8")


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


# --- writing ----------------------------------------------------------------------------------


def _clean(text: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def _excel_value(value):
    if isinstance(value, datetime):  # Excel has no time zones: Paris time
        return value.astimezone(PARIS).replace(tzinfo=None, microsecond=0)
    if isinstance(value, str):
        return _clean(value)
    return value


def _write_sheet(sheet, columns: list[Column], rows: list[list]) -> None:
    sheet.append([header for header, _format in columns])
    widths = [min(len(header), HEADER_WIDTH) for header, _format in columns]
    for row_number, row in enumerate(rows, start=2):
        for index, value in enumerate(row):
            cell = sheet.cell(row=row_number, column=index + 1, value=_excel_value(value))
            number_format = columns[index][1] if index < len(columns) else None
            if isinstance(cell.value, str):
                if cell.value.startswith(FORMULA_START):
                    cell.data_type, cell.quotePrefix = "s", True  # text, never a formula
                widths[index] = max(widths[index], len(cell.value))
            elif cell.value is not None:
                if number_format:
                    cell.number_format = number_format
                widths[index] = max(widths[index], 12 if number_format == EURO_FORMAT else 10)
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    for cell in sheet[1]:
        cell.font, cell.alignment = bold, wrap
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = \
            min(max(width + 2, MIN_WIDTH), MAX_WIDTH)
    sheet.freeze_panes = "B2"  # the header row and the reference stay in view
    if rows:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f").replace(".", ",")
    if isinstance(value, datetime):
        return value.astimezone(PARIS).strftime(CSV_MOMENT)
    if isinstance(value, date):
        return value.strftime(CSV_DATE)
    if isinstance(value, str):
        value = _clean(value)
        return "'" + value if value.startswith(FORMULA_START) else value
    return str(value)
