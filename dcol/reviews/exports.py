"""Exports of a call's instruction for CUF staff: every deposited dossier with each reviewer's
score and comment per criterion, the aggregates, the rank in its track and the committee's
decision.

Layout: one row per dossier. Fixed columns (reference, organisation, track, state, amounts, rank,
aggregates, consensus, decision), then per criterion its mean and, for each review in order
(reviewer 1, 2...), the reviewer's name, opinion and overall comment followed by their score and
comment per criterion. The XLSX has the same rows with numbers as numbers (amounts in euros,
Decimal never converted through float), a frozen header and filters; the CSV is UTF-8 with a BOM
and ``;`` separators, as French spreadsheet software expects. Cells of user text that a
spreadsheet would read as a formula (starting with = + - @) are prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import joinedload, selectinload

from dcol.extensions import db
from dcol.models import (
    Application,
    ApplicationState,
    Call,
    CommitteeDecision,
    CommitteeSession,
    Consensus,
    Review,
    ReviewState,
    User,
)
from dcol.permissions import Action, can
from dcol.reviews.services import aggregates, grid_of, ranking
from workflows.engine import Forbidden

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EURO_FORMAT = '#,##0.00 "€"'


def filename(call: Call, extension: str) -> str:
    return f"instruction-{call.code}.{extension}"


def _safe(value):
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _rows(call: Call) -> tuple[list[str], list[list], set[int]]:
    """The header, the rows, and the indexes of the money columns."""
    applications = db.session.scalars(
        sa.select(Application)
        .options(joinedload(Application.organisation), joinedload(Application.track))
        .where(Application.call_id == call.id, Application.state != ApplicationState.DRAFT)
        .order_by(Application.number)
    ).all()
    ids = [a.id for a in applications]
    grid = grid_of(call)
    by_id = aggregates(call, list(applications))
    ranks = {entry.candidate.application_id: entry.rank
             for track in ranking(call) for entry in track.ranked}
    reviews: dict[int, list[Review]] = defaultdict(list)
    for review in db.session.scalars(
        sa.select(Review).options(joinedload(Review.reviewer), selectinload(Review.scores))
        .where(Review.application_id.in_(ids), Review.state == ReviewState.SUBMITTED)
        .order_by(Review.assigned_at, Review.id)
    ):
        if review.is_active:
            reviews[review.application_id].append(review)
    consensus = {c.application_id: c for c in db.session.scalars(
        sa.select(Consensus).where(Consensus.application_id.in_(ids)))}
    decisions: dict[int, tuple[CommitteeDecision, CommitteeSession]] = {}
    for decision, session in db.session.execute(
        sa.select(CommitteeDecision, CommitteeSession)
        .join(CommitteeSession, CommitteeDecision.session_id == CommitteeSession.id)
        .where(CommitteeDecision.application_id.in_(ids))
        .order_by(CommitteeDecision.decided_at, CommitteeDecision.id)
    ):
        decisions[decision.application_id] = (decision, session)  # the latest wins
    deciders = {u.id: u.full_name for u in db.session.scalars(sa.select(User).where(
        User.id.in_({d.decided_by_id for d, _s in decisions.values()})))}
    most_reviews = max((len(r) for r in reviews.values()), default=0)

    header = [_("Référence"), _("Collectivité"), _("Type"), _("Volet"), _("État"),
              _("Montant demandé"), _("Cofinancement estimé"), _("Rang dans le volet"),
              _("Évaluations soumises"), _("Total pondéré"), _("Note calculée / 100"),
              _("Note de consensus / 100"), _("Justification du consensus"),
              _("Note finale / 100"), _("Sous un seuil"), _("Critères divergents"),
              _("Décision du comité"), _("Motif de la décision"), _("Séance"),
              _("Décidé par")]
    money = {5, 6}
    for criterion in grid:
        header.append(_("Moyenne — %(label)s", label=criterion.label))
    for n in range(1, most_reviews + 1):
        header += [_("Instructeur %(n)s", n=n), _("Avis — instructeur %(n)s", n=n),
                   _("Commentaire d'ensemble — instructeur %(n)s", n=n)]
        for criterion in grid:
            header += [_("Note %(label)s — instructeur %(n)s", label=criterion.label, n=n),
                       _("Commentaire %(label)s — instructeur %(n)s", label=criterion.label,
                         n=n)]
    rows = []
    for application in applications:
        aggregate = by_id[application.id]
        agreed = consensus.get(application.id)
        decided = decisions.get(application.id)
        row = [
            application.reference, application.organisation.name,
            application.organisation.kind.label,
            application.track.name if application.track else "", application.state.label,
            application.requested_amount, application.estimated_cofinancing,
            ranks.get(application.id), len(reviews[application.id]), aggregate.weighted_total,
            aggregate.score, agreed.score if agreed else None,
            agreed.justification if agreed else "", aggregate.final_score,
            _("oui") if aggregate.is_flagged else _("non"),
            ", ".join(r.criterion.label for r in aggregate.divergent),
            decided[0].decision.label if decided else "",
            decided[0].reason if decided else "",
            decided[1].title if decided else "",
            deciders.get(decided[0].decided_by_id, "") if decided else "",
        ]
        row += [result.mean_shown for result in aggregate.criteria]
        for index in range(most_reviews):
            review = reviews[application.id][index] if index < len(reviews[application.id]) \
                else None
            if review is None:
                row += [None] * (3 + 2 * len(grid))
                continue
            scores = {s.criterion_id: s for s in review.scores}
            row += [review.reviewer.full_name, review.opinion.label if review.opinion else "",
                    review.overall_comment]
            for criterion in grid:
                score = scores.get(criterion.id)
                row += [score.score if score else None, score.comment if score else ""]
        rows.append([_safe(value) for value in row])
    return header, rows, money


def _check(call: Call, user: User) -> None:
    if not can(user, Action.CALL_MANAGE, call):
        raise Forbidden(_("Seul le chargé de mission exporte l'instruction d'un appel."))


def export_xlsx(call: Call, user: User) -> bytes:
    _check(call, user)
    with force_locale("fr"):
        header, rows, money = _rows(call)
        workbook = Workbook()
        sheet = workbook.active
        sheet.title = _("Dossiers")
        sheet.append(header)
        for row in rows:
            sheet.append(row)
        for index, title in enumerate(header, start=1):
            letter = get_column_letter(index)
            sheet.column_dimensions[letter].width = min(max(12, len(str(title)) + 2), 45)
            if index - 1 in money:
                for cell in sheet[letter][1:]:
                    cell.number_format = EURO_FORMAT
        sheet.freeze_panes = "B2"
        sheet.auto_filter.ref = sheet.dimensions
        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue()


def export_csv(call: Call, user: User) -> bytes:
    _check(call, user)
    with force_locale("fr"):
        header, rows, _money = _rows(call)
    text = io.StringIO()
    writer = csv.writer(text, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else (format(v, "f").replace(".", ",")
                                               if isinstance(v, Decimal) else v) for v in row])
    return ("\ufeff" + text.getvalue()).encode("utf-8")
