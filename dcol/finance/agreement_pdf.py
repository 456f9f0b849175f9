"""The agreement (*convention*, or *avenant* from version 2 on) as a PDF, always in French.

``dcol.finance.agreements`` gathers what the document says into an ``AgreementContent`` (plain
data, no database access here) and stores the bytes this module renders; the parties sign the
SHA-256 of those exact bytes.

The document is reproducible: the same content always gives the same bytes (reportlab's
invariant mode; the date of issue is in the text, not in the PDF's metadata). It never shows
how the scheme's share is split between funders: the expert signs it too.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table

from dcol.documents.receipts import fonts, text
from dcol.finance.computation import (
    APPLICANT_CONTRIBUTION,
    AT_START,
    CEILING,
    MIN_APPLICANT_SHARE,
    REQUESTED,
    Breakdown,
    PlannedPayment,
)
from dcol.i18n import format_day, format_moment, format_money, format_number
from dcol.models.finance import Party, PaymentKind

ISSUER = "Cités Unies France"
MARGIN = 2 * cm
WIDTH = A4[0] - 2 * MARGIN - 12  # the frame pads its content by 6 pt on each side
GRID = colors.HexColor("#999999")


@dataclass(frozen=True)
class PartyBlock:
    party: str  # ``Party`` value: "cuf", "applicant" or "expert"
    name: str  # Cités Unies France, the collectivité's name, the expert's (consultancy's) name
    details: tuple[str, ...] = ()  # address, SIRET... one line each
    represented_by: str = ""  # "Mme Claire Martin, Maire" when known


@dataclass(frozen=True)
class AgreementContent:
    reference: str  # the dossier's reference (DCOL12-0007)
    version: int  # 1: the convention; 2, 3...: the avenants
    amendment_reason: str  # empty for version 1
    call_title: str
    with_expert: bool  # DCOL (an expert's mission) or a call for projects (a grant)
    title: str  # the object: the dossier's title
    summary: str
    parties: tuple[PartyBlock, ...]
    expert_days: Decimal | None  # DCOL only
    daily_rate: Decimal | None  # DCOL only, excluding VAT
    starts_on: date | None
    ends_on: date | None
    deliverables: str
    breakdown: Breakdown
    rule_version: int
    rule_effective_from: date
    payments: tuple[PlannedPayment, ...]
    issued_at: datetime
    # Earlier versions this one amends: (version, SHA-256 of its PDF, when it was signed).
    previous: tuple[tuple[int, str, datetime | None], ...] = ()


def build_agreement_pdf(content: AgreementContent) -> bytes:
    """The agreement as PDF bytes, in French whatever the reader's language (gettext needs an
    app context)."""
    with force_locale("fr"):
        return _build(content)


@lru_cache(maxsize=1)
def _styles() -> dict[str, ParagraphStyle]:
    font = fonts()
    base = ParagraphStyle("base", fontName=font["regular"], fontSize=10, leading=13)
    bold = ParagraphStyle("bold", base, fontName=font["bold"])
    derived = {
        "issuer": (bold, {"fontSize": 11, "alignment": TA_CENTER, "spaceAfter": 4}),
        "title": (bold, {"fontSize": 17, "leading": 21, "alignment": TA_CENTER, "spaceAfter": 12}),
        "heading": (
            bold,
            {"fontSize": 12, "leading": 15, "spaceBefore": 12, "spaceAfter": 6, "keepWithNext": 1},
        ),
        "label": (bold, {"fontSize": 9}),
        "amount": (base, {"alignment": TA_RIGHT}),
        "hash": (base, {"fontName": font["mono"], "fontSize": 7, "leading": 9}),
        "small": (base, {"fontSize": 8, "leading": 10, "textColor": colors.HexColor("#444444")}),
    }
    styles = {
        name: ParagraphStyle(name, parent, **attributes)
        for name, (parent, attributes) in derived.items()
    }
    return {"base": base, "bold": bold, **styles}


def _p(value, style: str = "base") -> Paragraph:
    """A paragraph of plain text: markup in ``value`` is shown literally."""
    return Paragraph(text(value), _styles()[style])


def _document_name(version: int) -> str:
    if version == 1:
        return _("Convention de cofinancement")
    return _("Avenant n° %(number)s à la convention de cofinancement", number=version - 1)


def _version_label(version: int) -> str:
    if version == 1:
        return _("version 1 (convention initiale)")
    return _("version %(version)s (avenant n° %(number)s)", version=version, number=version - 1)


def _label(enum, value: str) -> str:
    """The French label of an enum's value (the value itself if unknown)."""
    try:
        return enum(value).label
    except ValueError:
        return value


def _pairs(rows: list[tuple[str, str]]) -> Table:
    """(label, text) rows, without rules."""
    return Table(
        [[_p(label, "label"), _p(value)] for label, value in rows],
        colWidths=[5 * cm, WIDTH - 5 * cm],
        style=[
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ],
    )


def _grid(
    heading: str,
    header: tuple[str, ...],
    rows: list[list],
    widths: tuple[float, ...],
    strong: tuple[int, ...] = (),
) -> KeepTogether:
    """A section's heading and its ruled table (header first; ``strong`` rows shaded)."""
    table = Table(
        [[_p(label, "label") for label in header], *rows],
        colWidths=[WIDTH * part for part in widths],
        repeatRows=1,
        style=[
            ("BOX", (0, 0), (-1, -1), 0.4, GRID),
            ("INNERGRID", (0, 0), (-1, -1), 0.25, GRID),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            *[("BACKGROUND", (0, row), (-1, row), colors.HexColor("#f3f3f3")) for row in strong],
        ],
    )
    return KeepTogether([_p(heading, "heading"), table])


def _parties(parties: tuple[PartyBlock, ...]) -> Table:
    rows = []
    for party in parties:
        lines = [party.name, *party.details]
        if party.represented_by:
            lines.append(_("représentée par %(who)s", who=party.represented_by))
        rows.append((_label(Party, party.party), "\n".join(lines)))
    return _pairs(rows)


def _object(content: AgreementContent) -> list:
    rows = [(_("Intitulé"), content.title), (_("Résumé"), content.summary)]
    if content.version == 1:
        return [_pairs(rows)]
    rows.append((_("Motif de l'avenant"), content.amendment_reason or "—"))
    story = [_pairs(rows)]
    if content.previous:
        story.append(
            _p(
                _(
                    "Le présent avenant modifie les versions suivantes de la convention, "
                    "identifiées par l'empreinte SHA-256 de leur fichier PDF ; il en reprend "
                    "l'ensemble des stipulations, à jour :"
                )
            )
        )
    for version, sha256, signed_at in content.previous:
        signed = _("signée le %(day)s", day=format_day(signed_at)) if signed_at else _("non signée")
        story += [
            Spacer(1, 3),
            _p(f"• {_version_label(version)}, {signed}"),
            _p(f"{_('SHA-256 :')} {sha256}", "hash"),
        ]
    return story


def _mission(content: AgreementContent) -> list:
    dates = [(_("Début"), format_day(content.starts_on)), (_("Fin"), format_day(content.ends_on))]
    if not content.with_expert:
        return [_p(_("Le projet"), "heading"), _pairs(dates)]
    days = format_number(content.expert_days) if content.expert_days is not None else "—"
    rows = [
        (_("Nombre de jours d'expertise"), days),
        (_("Tarif journalier HT"), format_money(content.daily_rate)),
        *dates,
        (_("Livrables attendus"), content.deliverables or "—"),
    ]
    return [_p(_("La mission"), "heading"), _pairs(rows)]


def _limit_note(breakdown: Breakdown) -> str:
    note = {
        CEILING: _("plafonnée"),
        REQUESTED: _("limitée au montant demandé"),
        MIN_APPLICANT_SHARE: _("limitée par la contribution minimale de la collectivité"),
    }.get(breakdown.limited_by, "")
    if note and breakdown.rate is not None:
        note = _(
            "%(note)s (le taux appliqué au coût total donnerait %(amount)s)",
            note=note,
            amount=format_money(breakdown.at_rate),
        )
    return note


def _financing(content: AgreementContent) -> list:
    """The cost, the scheme's share and the applicant's; never the split between funders."""
    breakdown = content.breakdown

    def row(label: str, amount: Decimal, style: str = "base", note: str = "") -> list:
        cell = [_p(label, style)] + ([_p(note, "small")] if note else [])
        return [cell, _p(format_money(amount), "amount")]

    rows, strong = [row(label, amount) for label, amount in breakdown.lines], []

    def total(label: str, amount: Decimal, note: str = "") -> None:
        strong.append(len(rows) + 1)  # + 1: the header
        rows.append(row(label, amount, "bold", note))

    total(_("Coût total HT"), breakdown.cost_excluding_vat)
    if breakdown.including_vat:
        rows.append(row(_("TVA"), breakdown.vat))
        total(_("Coût total TTC"), breakdown.total)
    share = _("Prise en charge Cités Unies France") if content.with_expert else _("Subvention")
    if breakdown.rate is not None:
        share = f"{share} ({format_number(breakdown.rate)}\u00a0%)"  # 33,5 %: French spacing
    total(share, breakdown.scheme, _limit_note(breakdown))
    total(_("Reste à charge de la collectivité"), breakdown.applicant)
    rules = _(
        "Règles de cofinancement de l'appel, version %(version)s en vigueur au %(day)s.",
        version=content.rule_version,
        day=format_day(content.rule_effective_from),
    )
    return [
        _grid(
            _("Plan de financement"), (_("Poste"), _("Montant")), rows, (0.7, 0.3), tuple(strong)
        ),
        Spacer(1, 4),
        _p(rules, "small"),
    ]


def _schedule(payments: tuple[PlannedPayment, ...]) -> KeepTogether:
    rows = []
    for payment in payments:
        what = [_p(_label(PaymentKind, payment.kind))]
        if payment.kind == APPLICANT_CONTRIBUTION:
            what.append(_p(_("appelée par Cités Unies France auprès de la collectivité"), "small"))
        when = _("au démarrage") if payment.due == AT_START else _("à la clôture")
        if payment.held_until_final_deliverable:
            when = _("%(when)s, après validation du livrable final", when=when)
        rows.append([what, _p(when), _p(format_money(payment.amount), "amount")])
    header = (_("Paiement"), _("Échéance"), _("Montant"))
    return _grid(_("Échéancier des paiements"), header, rows, (0.42, 0.36, 0.22))


def _signatures(parties: tuple[PartyBlock, ...]) -> list:
    story = [
        _p(_("Signatures"), "heading"),
        _p(
            _(
                "Chaque partie signe à la main un exemplaire imprimé du présent document, ou "
                "l'accepte électroniquement dans dcol. L'acceptation électronique enregistre le nom "
                "et la qualité du signataire, la date et l'heure, l'adresse IP et l'empreinte "
                "SHA-256 de ce fichier PDF exact : un document modifié, même d'un seul caractère, "
                "aurait une autre empreinte."
            ),
            "small",
        ),
    ]
    for party in parties:
        caption = _label(Party, party.party)
        if caption != party.name:  # Cités Unies France is named once
            caption = f"{caption} — {party.name}"
        blanks = (_("Nom :"), _("Qualité :"), _("Date :"), _("Signature :"))
        table = Table(
            [[_p(caption, "bold"), ""], *[[_p(label, "label"), ""] for label in blanks]],
            colWidths=[3 * cm, WIDTH - 3 * cm],
            rowHeights=[None, 18, 18, 18, 50],  # room for a handwritten signature
            style=[
                ("SPAN", (0, 0), (-1, 0)),
                ("LINEBELOW", (1, 1), (1, -1), 0.4, GRID),
                ("VALIGN", (0, 0), (-1, -2), "BOTTOM"),
                ("VALIGN", (0, -1), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ],
        )
        story.append(KeepTogether([Spacer(1, 10), table]))
    return story


def _numbered_canvas(draw_footer):
    """A canvas keeping its pages until the end, so that each can say "page n / total"."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages = []

        def showPage(self):  # reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            for state in self._pages:
                self.__dict__.update(state)
                draw_footer(self, len(self._pages))
                super().showPage()
            super().save()

    return NumberedCanvas


def _build(content: AgreementContent) -> bytes:
    name = _document_name(content.version)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=f"{name} — {content.reference}",
        author=ISSUER,
        subject=content.call_title,
        creator="DCOL — Cités Unies France",
        invariant=True,  # no clock nor random identifier in the file: same content, same bytes
    )
    moment = _("%(moment)s (heure de Paris)", moment=format_moment(content.issued_at))
    story = [
        _p(ISSUER, "issuer"),
        _p(name, "title"),
        _pairs(
            [
                (_("Référence du dossier"), content.reference),
                (_("Appel"), content.call_title),
                (_("Version"), _version_label(content.version)),
                (_("Date d'émission"), moment),
            ]
        ),
        _p(_("Entre les parties"), "heading"),
        _parties(content.parties),
        _p(_("Objet"), "heading"),
        *_object(content),
        *_mission(content),
        *_financing(content),
        _schedule(content.payments),
        *_signatures(content.parties),
    ]
    footer_text = _(
        "%(issuer)s — %(name)s, dossier %(reference)s, version %(version)s",
        issuer=ISSUER,
        name=name,
        reference=content.reference,
        version=content.version,
    )

    def footer(canvas: Canvas, total: int) -> None:
        canvas.saveState()
        canvas.setFont(fonts()["regular"], 7.5)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(MARGIN, MARGIN / 2, footer_text)
        page = _("page %(number)s / %(total)s", number=canvas.getPageNumber(), total=total)
        canvas.drawRightString(A4[0] - MARGIN, MARGIN / 2, page)
        canvas.restoreState()

    document.build(story, canvasmaker=_numbered_canvas(footer))
    return buffer.getvalue()
