"""The agreement (*convention*, or *avenant* from version 2 on) as a PDF, always in French.

``dcol.finance.agreements`` gathers what the document says into an ``AgreementContent`` (plain
data, no database access here) and stores the bytes this module renders; the parties sign the
SHA-256 of those exact bytes.

The document is reproducible: the same content always gives the same bytes (the layout of
``dcol.documents.pdf``, in reportlab's invariant mode; the date of issue is in the text, not in
the PDF's metadata). Its tables split a row taller than a page (a party's long block, a long
summary) rather than failing. It never shows how the scheme's share is split between funders:
the expert signs it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.lib.units import cm
from reportlab.platypus import KeepTogether, Spacer, Table

from dcol.documents import pdf
from dcol.documents.pdf import ISSUER, WIDTH, paragraph
from dcol.finance.computation import (
    APPLICANT_CONTRIBUTION,
    AT_START,
    CEILING,
    COMMITTED,
    MIN_APPLICANT_SHARE,
    REQUESTED,
    Breakdown,
    PlannedPayment,
)
from dcol.i18n import format_day, format_moment, format_money, format_number
from dcol.models.finance import Party, PaymentKind


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


def _parties(parties: tuple[PartyBlock, ...]) -> Table:
    rows = []
    for party in parties:
        lines = [party.name, *party.details]
        if party.represented_by:
            lines.append(_("représentée par %(who)s", who=party.represented_by))
        rows.append((_label(Party, party.party), "\n".join(lines)))
    return pdf.pairs(rows)


def _object(content: AgreementContent) -> list:
    rows = [(_("Intitulé"), content.title), (_("Résumé"), content.summary)]
    if content.version == 1:
        return [pdf.pairs(rows)]
    rows.append((_("Motif de l'avenant"), content.amendment_reason or "—"))
    story = [pdf.pairs(rows)]
    if content.previous:
        story.append(
            paragraph(
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
            paragraph(f"• {_version_label(version)}, {signed}"),
            paragraph(f"{_('SHA-256 :')} {sha256}", "hash"),
        ]
    return story


def _mission(content: AgreementContent) -> list:
    dates = [(_("Début"), format_day(content.starts_on)), (_("Fin"), format_day(content.ends_on))]
    if not content.with_expert:
        return [paragraph(_("Le projet"), "heading"), pdf.pairs(dates)]
    days = format_number(content.expert_days) if content.expert_days is not None else "—"
    rows = [
        (_("Nombre de jours d'expertise"), days),
        (_("Tarif journalier HT"), format_money(content.daily_rate)),
        *dates,
        (_("Livrables attendus"), content.deliverables or "—"),
    ]
    return [paragraph(_("La mission"), "heading"), pdf.pairs(rows)]


def limit_note(breakdown: Breakdown) -> str:
    """Why the scheme's share of ``breakdown`` is below its rate applied to the cost, in French
    ("" when it is not). The closure report explains its shares with it too."""
    with force_locale("fr"):
        note = {
            CEILING: _("plafonnée"),
            REQUESTED: _("limitée au montant demandé"),
            MIN_APPLICANT_SHARE: _("limitée par la contribution minimale de la collectivité"),
            COMMITTED: _("limitée au montant prévu à la convention"),
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

    def row(label: str, amount: Decimal, strong: bool = False, note: str = "") -> list:
        cell = [paragraph(label, "strong_cell" if strong else "cell")]
        if note:
            cell.append(paragraph(note, "small"))
        return [cell, paragraph(format_money(amount), "strong_amount" if strong else "amount")]

    rows, strong = [row(label, amount) for label, amount in breakdown.lines], []

    def total(label: str, amount: Decimal, note: str = "") -> None:
        strong.append(len(rows) + 1)  # + 1: the header
        rows.append(row(label, amount, True, note))

    total(_("Coût total HT"), breakdown.cost_excluding_vat)
    if breakdown.including_vat:
        rows.append(row(_("TVA"), breakdown.vat))
        total(_("Coût total TTC"), breakdown.total)
    share = _("Prise en charge Cités Unies France") if content.with_expert else _("Subvention")
    if breakdown.rate is not None:
        share = f"{share} ({format_number(breakdown.rate)}\u00a0%)"  # 33,5 %: French spacing
    total(share, breakdown.scheme, limit_note(breakdown))
    total(_("Reste à charge de la collectivité"), breakdown.applicant)
    rules = _(
        "Règles de cofinancement de l'appel, version %(version)s en vigueur au %(day)s.",
        version=content.rule_version,
        day=format_day(content.rule_effective_from),
    )
    return [
        paragraph(_("Plan de financement"), "heading"),  # kept with its table
        pdf.grid((_("Poste"), _("Montant")), rows, (0.7, 0.3), strong),
        Spacer(1, 4),
        paragraph(rules, "small"),
    ]


def _schedule(payments: tuple[PlannedPayment, ...]) -> list:
    rows = []
    for payment in payments:
        what = [paragraph(_label(PaymentKind, payment.kind), "cell")]
        if payment.kind == APPLICANT_CONTRIBUTION:
            called = _("appelée par Cités Unies France auprès de la collectivité")
            what.append(paragraph(called, "small"))
        when = _("au démarrage") if payment.due == AT_START else _("à la clôture")
        if payment.held_until_final_deliverable:
            when = _("%(when)s, après validation du livrable final", when=when)
        rows.append(
            [what, paragraph(when, "cell"), paragraph(format_money(payment.amount), "amount")]
        )
    header = (_("Paiement"), _("Échéance"), _("Montant"))
    return [
        paragraph(_("Échéancier des paiements"), "heading"),
        pdf.grid(header, rows, (0.42, 0.36, 0.22)),
    ]


def _signatures(parties: tuple[PartyBlock, ...]) -> list:
    story = [
        paragraph(_("Signatures"), "heading"),
        paragraph(
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
            [
                [paragraph(caption, "bold"), ""],
                *[[paragraph(label, "label"), ""] for label in blanks],
            ],
            colWidths=[3 * cm, WIDTH - 3 * cm],
            rowHeights=[None, 18, 18, 18, 50],  # room for a handwritten signature
            style=[
                ("SPAN", (0, 0), (-1, 0)),
                ("LINEBELOW", (1, 1), (1, -1), 0.4, pdf.GRID),
                ("VALIGN", (0, 0), (-1, -2), "BOTTOM"),
                ("VALIGN", (0, -1), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ],
        )
        story.append(KeepTogether([Spacer(1, 10), table]))
    return story


def _build(content: AgreementContent) -> bytes:
    name = _document_name(content.version)
    moment = _("%(moment)s (heure de Paris)", moment=format_moment(content.issued_at))
    story = [
        paragraph(ISSUER, "issuer"),
        paragraph(name, "title"),
        pdf.pairs(
            [
                (_("Référence du dossier"), content.reference),
                (_("Appel"), content.call_title),
                (_("Version"), _version_label(content.version)),
                (_("Date d'émission"), moment),
            ]
        ),
        paragraph(_("Entre les parties"), "heading"),
        _parties(content.parties),
        paragraph(_("Objet"), "heading"),
        *_object(content),
        *_mission(content),
        *_financing(content),
        *_schedule(content.payments),
        *_signatures(content.parties),
    ]
    footer = _(
        "%(issuer)s — %(name)s, dossier %(reference)s, version %(version)s",
        issuer=ISSUER,
        name=name,
        reference=content.reference,
        version=content.version,
    )
    return pdf.render(
        story, title=f"{name} — {content.reference}", subject=content.call_title, footer=footer
    )
