"""The closure report (*bilan de clôture*) of a support as a PDF, always in French.

``dcol.missions.closure`` gathers what the report says into a ``ClosureContent`` (plain data, no
database access here) and stores the bytes this module renders: the timeline, the days and costs
planned against actual, the cofinancing of the agreement against the final one, the reports,
deliverables, the collectivité's satisfaction and the payments.

The same content always gives the same bytes (the layout of ``dcol.documents.pdf``, in
reportlab's invariant mode; the moment of closure is in the text, not in the PDF's metadata). Like the agreement, it never shows how the scheme's
share is split between funders: the content has no place for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.platypus import KeepTogether, Paragraph, Spacer

from dcol.documents import pdf
from dcol.documents.pdf import ISSUER, paragraph
from dcol.finance.agreement_pdf import limit_note
from dcol.finance.computation import Breakdown
from dcol.i18n import format_day, format_moment, format_money, format_number


@dataclass(frozen=True)
class TimelineEntry:
    moment: datetime
    label: str  # "Dossier déposé", "Convention signée", "Rapport final déposé"...


@dataclass(frozen=True)
class MilestoneLine:
    phase: str  # the phase's label
    label: str
    due_on: date
    done_on: date | None


@dataclass(frozen=True)
class CostRow:
    label: str
    amount: Decimal
    # Planned and actual rows with the same key (without one: the same label) share a line of
    # the table, so "Frais de mission et de déplacement" can face "Frais de mission réalisés".
    key: str = ""


@dataclass(frozen=True)
class ShareRow:
    total: Decimal  # the cost the rate applies to
    rate: Decimal | None  # None: not eligible
    scheme: Decimal  # the share of Cités Unies France (DCOL) or the grant (call for projects)
    applicant: Decimal  # reste à charge
    limited_by: str = ""  # why the share is below the rate, in French ("plafonnée..."), or ""


@dataclass(frozen=True)
class DeliverableLine:
    title: str
    is_final: bool
    version: int
    state: str  # the state's label
    submitted_on: date | datetime | None
    validated_on: date | datetime | None


@dataclass(frozen=True)
class SatisfactionBlock:
    quality: int  # 1 to 5
    timeliness: int
    relevance: int
    overall: int
    comment: str
    answered_at: datetime
    respondent: str


@dataclass(frozen=True)
class PaymentLine:
    kind: str  # the kind's label
    amount: Decimal
    status: str  # the status's label
    paid_on: date | datetime | None


@dataclass(frozen=True)
class ClosureContent:
    reference: str
    call_title: str
    with_expert: bool  # DCOL (an expert's mission) or a call for projects (a grant)
    title: str
    organisation: str
    expert: str | None
    summary: str
    timeline: tuple[TimelineEntry, ...]
    milestones: tuple[MilestoneLine, ...]
    contracted_days: Decimal | None  # DCOL only
    actual_days: Decimal
    daily_rate: Decimal | None  # DCOL only, excluding VAT
    planned_costs: tuple[CostRow, ...]
    actual_costs: tuple[CostRow, ...]
    planned_total: Decimal
    actual_total: Decimal
    retained_total: Decimal  # what the final cofinancing was computed on
    planned: ShareRow  # the signed agreement's
    final: ShareRow
    reports_count: int
    field_missions: tuple[str, ...]  # places
    expenses_total: Decimal
    deliverables: tuple[DeliverableLine, ...]
    satisfaction: SatisfactionBlock | None
    payments: tuple[PaymentLine, ...]
    closed_at: datetime
    closed_by: str


def build_closure_pdf(content: ClosureContent) -> bytes:
    """The closure report as PDF bytes, in French whatever the reader's language (gettext needs
    an app context)."""
    with force_locale("fr"):
        return _build(content)


def share_row(breakdown: Breakdown) -> ShareRow:
    """A cofinancing as the report shows it (never the funders' split)."""
    return ShareRow(
        total=breakdown.total,
        rate=breakdown.rate,
        scheme=breakdown.scheme,
        applicant=breakdown.applicant,
        limited_by=limit_note(breakdown),
    )


def _heading(value: str) -> Paragraph:
    return paragraph(value, "heading")


def _empty(value: str) -> Paragraph:
    return paragraph(value, "small")


def _signed(value: Decimal | None, show) -> str:
    """A difference with its sign ("+1 250,00 €", "-2"); "—" when it cannot be told."""
    if value is None:
        return "—"
    shown = show(abs(value))
    if value > 0:
        return f"+{shown}"
    return f"-{shown}" if value < 0 else shown


def _difference(planned: Decimal | None, actual: Decimal | None) -> Decimal | None:
    return None if planned is None or actual is None else actual - planned


def _days(value: Decimal | None) -> str:
    return "—" if value is None else format_number(value)


def _rate(value: Decimal | None) -> str:
    return "—" if value is None else f"{format_number(value)}\u00a0%"  # 80 %: French spacing


# --- sections ---------------------------------------------------------------------------------


def _identification(content: ClosureContent) -> list:
    rows = [
        (_("Référence du dossier"), content.reference),
        (_("Collectivité"), content.organisation),
        (_("Appel"), content.call_title),
    ]
    if content.with_expert:
        rows.append((_("Expert"), content.expert or "—"))
    rows.append((_("Objet"), content.title))
    return [
        _heading(_("Identification")),
        pdf.pairs(rows),
        paragraph(_("Résumé"), "label"),
        Spacer(1, 2),
        paragraph(content.summary or "—"),  # outside the table: a long summary flows over pages
    ]


def _milestone_gap(milestone: MilestoneLine) -> tuple[str, bool]:
    """What the milestone's date says, and whether it is to be marked."""
    if milestone.done_on is None:
        return _("non réalisé"), True
    late = (milestone.done_on - milestone.due_on).days
    if late > 0:
        return _("en retard de %(days)s j", days=late), True
    return _("dans les délais"), False


def _calendar(content: ClosureContent) -> list:
    story = [_heading(_("Calendrier"))]
    if content.timeline:
        rows = [
            [paragraph(format_moment(entry.moment), "cell"), paragraph(entry.label, "cell")]
            for entry in sorted(content.timeline, key=lambda entry: entry.moment)
        ]
        story.append(pdf.grid((_("Date (heure de Paris)"), _("Étape")), rows, (0.35, 0.65)))
    else:
        story.append(_empty(_("Aucune étape enregistrée.")))
    story += [Spacer(1, 8), paragraph(_("Jalons du plan de mission"), "bold"), Spacer(1, 4)]
    if not content.milestones:
        return [*story, _empty(_("Aucun jalon."))]
    rows, marked = [], []
    for milestone in content.milestones:
        gap, is_marked = _milestone_gap(milestone)
        if is_marked:
            marked.append(len(rows) + 1)  # + 1: the header
        rows.append(
            [
                paragraph(milestone.phase, "cell"),
                paragraph(milestone.label, "cell"),
                paragraph(format_day(milestone.due_on, "short"), "cell"),
                paragraph(format_day(milestone.done_on, "short"), "cell"),
                paragraph(gap, "strong_cell" if is_marked else "cell"),
            ]
        )
    late = len(marked)
    done = sum(1 for milestone in content.milestones if milestone.done_on is not None)
    header = (_("Phase"), _("Jalon"), _("Prévu le"), _("Réalisé le"), _("Écart"))
    summary = _(
        "%(done)s jalon(s) réalisé(s) sur %(total)s ; %(late)s en retard ou non réalisé(s).",
        done=done,
        total=len(content.milestones),
        late=late,
    )
    return [
        *story,
        pdf.grid(header, rows, (0.2, 0.36, 0.14, 0.14, 0.16), marked=tuple(marked)),
        Spacer(1, 3),
        paragraph(summary, "small"),
    ]


def _cost_lines(content: ClosureContent) -> list[tuple[str, Decimal | None, Decimal | None]]:
    """(label, planned, actual), planned and actual rows of the same key on one line."""
    lines: dict[str, list] = {}
    for row in content.planned_costs:
        lines.setdefault(row.key or row.label, [row.label, None, None])[1] = row.amount
    for row in content.actual_costs:
        lines.setdefault(row.key or row.label, [row.label, None, None])[2] = row.amount
    return [tuple(line) for line in lines.values()]


def _costs(content: ClosureContent) -> list:
    rows, strong = [], []

    def add(label, planned: str, actual: str, gap: str, bold: bool = False, note: str = "") -> None:
        if bold:
            strong.append(len(rows) + 1)  # + 1: the header
        number = "strong_amount" if bold else "amount"
        cell = [paragraph(label, "strong_cell" if bold else "cell")] + (
            [paragraph(note, "small")] if note else []
        )
        rows.append(
            [cell, paragraph(planned, number), paragraph(actual, number), paragraph(gap, number)]
        )

    def money(label, planned: Decimal | None, actual: Decimal | None, **options) -> None:
        gap = _signed(_difference(planned, actual), format_money)
        add(label, format_money(planned), format_money(actual), gap, **options)

    if content.with_expert:
        rate = (
            _("au tarif journalier de %(rate)s HT", rate=format_money(content.daily_rate))
            if content.daily_rate is not None
            else ""
        )
        gap = _signed(_difference(content.contracted_days, content.actual_days), format_number)
        add(
            _("Nombre de jours d'expertise"),
            _days(content.contracted_days),
            _days(content.actual_days),
            gap,
            note=rate,
        )
    for label, planned, actual in _cost_lines(content):
        money(label, planned, actual)
    money(_("Coût total"), content.planned_total, content.actual_total, bold=True)
    money(
        _("Coût retenu pour le cofinancement définitif"),
        content.planned_total,
        content.retained_total,
        bold=True,
        note=_("les coûts réalisés, chacun dans la limite de la convention"),
    )
    heading = _("Jours et coûts") if content.with_expert else _("Coûts du projet")
    header = ("", _("Prévu"), _("Réalisé"), _("Écart"))
    story = [_heading(heading), pdf.grid(header, rows, (0.46, 0.18, 0.18, 0.18), tuple(strong))]
    beyond = content.actual_total - content.retained_total
    if beyond > 0:
        story += [
            Spacer(1, 3),
            paragraph(
                _(
                    "Les coûts réalisés dépassent de %(amount)s ce que prévoit la convention : "
                    "ce dépassement n'est pas cofinancé.",
                    amount=format_money(beyond),
                ),
                "small",
            ),
        ]
    return story


def _cofinancing(content: ClosureContent) -> list:
    """The agreement's cofinancing against the final one; never the split between funders."""
    planned, final = content.planned, content.final
    share = _("Prise en charge Cités Unies France") if content.with_expert else _("Subvention")

    def money(label: str, before: Decimal, after: Decimal, bold: bool = False) -> list:
        number = "strong_amount" if bold else "amount"
        return [
            paragraph(label, "strong_cell" if bold else "cell"),
            paragraph(format_money(before), number),
            paragraph(format_money(after), number),
            paragraph(_signed(after - before, format_money), number),
        ]

    rate_gap = _signed(_difference(planned.rate, final.rate), format_number)
    if rate_gap not in ("—", "0"):
        rate_gap = f"{rate_gap}\u00a0pt"  # percentage points
    rate = [paragraph(_rate(planned.rate), "amount"), paragraph(_rate(final.rate), "amount")]
    rows = [
        money(_("Coût retenu"), planned.total, final.total),
        [paragraph(_("Taux"), "cell"), *rate, paragraph(rate_gap, "amount")],
        money(share, planned.scheme, final.scheme, bold=True),
        money(_("Reste à charge de la collectivité"), planned.applicant, final.applicant, True),
    ]
    strong = (3, 4)  # the shares (the header is row 0)
    header = ("", _("Prévu à la convention"), _("Définitif"), _("Écart"))
    story = [
        _heading(_("Cofinancement")),
        pdf.grid(header, rows, (0.4, 0.2, 0.2, 0.2), strong),
    ]
    notes = (
        (planned, _("%(share)s prévue : %(note)s.", share=share, note=planned.limited_by)),
        (final, _("%(share)s définitive : %(note)s.", share=share, note=final.limited_by)),
    )
    for row, note in notes:
        if row.limited_by:
            story += [Spacer(1, 3), paragraph(note, "small")]
    return story


def _reports(content: ClosureContent) -> list:
    places = ", ".join(content.field_missions) if content.field_missions else _("aucune")
    expenses = _("Frais de mission déclarés") if content.with_expert else _("Dépenses déclarées")
    rows = [
        (_("Rapports déposés"), str(content.reports_count)),
        (
            _("Missions de terrain"),
            f"{len(content.field_missions)} — {places}" if content.field_missions else places,
        ),
        (expenses, format_money(content.expenses_total)),
    ]
    if content.with_expert:
        rows.insert(1, (_("Jours déclarés"), _days(content.actual_days)))
    return [_heading(_("Rapports de mission")), pdf.pairs(rows)]


def _deliverables(content: ClosureContent) -> list:
    story = [_heading(_("Livrables"))]
    if not content.deliverables:
        return [*story, _empty(_("Aucun livrable."))]
    rows, strong = [], []
    for deliverable in content.deliverables:
        title = [paragraph(deliverable.title, "cell")]
        if deliverable.is_final:
            strong.append(len(rows) + 1)  # + 1: the header
            title.append(paragraph(_("livrable final"), "small"))
        rows.append(
            [
                title,
                paragraph(str(deliverable.version), "amount"),
                paragraph(deliverable.state, "cell"),
                paragraph(format_day(deliverable.submitted_on, "short"), "cell"),
                paragraph(format_day(deliverable.validated_on, "short"), "cell"),
            ]
        )
    header = (_("Livrable"), _("Version"), _("État"), _("Déposé le"), _("Validé le"))
    return [*story, pdf.grid(header, rows, (0.4, 0.12, 0.2, 0.14, 0.14), tuple(strong))]


def _satisfaction(content: ClosureContent) -> list:
    story = [_heading(_("Satisfaction de la collectivité"))]
    answer = content.satisfaction
    if answer is None:
        return [*story, paragraph(_("Questionnaire non renseigné."))]
    ratings = (
        (_("Qualité du travail de l'expert"), answer.quality),
        (_("Respect des délais"), answer.timeliness),
        (_("Pertinence des recommandations"), answer.relevance),
        (_("Satisfaction globale"), answer.overall),
    )
    answered = _(
        "Répondu le %(moment)s par %(who)s.",
        moment=format_moment(answer.answered_at),
        who=answer.respondent,
    )
    return [
        *story,
        pdf.pairs([(label, f"{value}/5") for label, value in ratings]),
        paragraph(_("Commentaire"), "label"),
        Spacer(1, 2),
        paragraph(answer.comment or "—"),  # outside the table: a long comment flows over pages
        Spacer(1, 3),
        paragraph(answered, "small"),
    ]


def _payments(content: ClosureContent) -> list:
    story = [_heading(_("Paiements"))]
    if not content.payments:
        return [*story, _empty(_("Aucun paiement."))]
    rows = [
        [
            paragraph(payment.kind, "cell"),
            paragraph(payment.status, "cell"),
            paragraph(format_day(payment.paid_on, "short"), "cell"),
            paragraph(format_money(payment.amount), "amount"),
        ]
        for payment in content.payments
    ]
    header = (_("Paiement"), _("Statut"), _("Payé le"), _("Montant"))
    return [*story, pdf.grid(header, rows, (0.44, 0.2, 0.16, 0.2))]


# --- the document -----------------------------------------------------------------------------


def _build(content: ClosureContent) -> bytes:
    name = _("Bilan de clôture")
    closed = _(
        "Dossier clôturé le %(moment)s (heure de Paris) par %(who)s.",
        moment=format_moment(content.closed_at),
        who=content.closed_by,
    )
    story = [
        paragraph(ISSUER, "issuer"),
        paragraph(name, "title"),
        paragraph(_("Dossier %(reference)s", reference=content.reference), "subtitle"),
        paragraph(closed),
        *_identification(content),
        *_calendar(content),
        KeepTogether(_costs(content)),
        KeepTogether(_cofinancing(content)),
        KeepTogether(_reports(content)),
        *_deliverables(content),
        *_satisfaction(content),
        *_payments(content),
    ]
    footer = _(
        "%(issuer)s — bilan de clôture %(reference)s, clôturé le %(day)s par %(who)s",
        issuer=ISSUER,
        reference=content.reference,
        day=format_day(content.closed_at),
        who=content.closed_by,
    )
    return pdf.render(
        story, title=f"{name} — {content.reference}", subject=content.call_title, footer=footer
    )
