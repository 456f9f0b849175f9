"""The receipt (*accusé de réception*) of a deposit: a PDF in French, stored as a document.

It attests what was deposited and when: the dossier's reference, call and track, organisation,
the moment of deposit in Paris time, the deposit's number, a summary of the answers and the
documents with their SHA-256. Every piece of user text goes through ``escape`` because
reportlab's ``Paragraph`` reads its text as markup.
"""

from __future__ import annotations

import io
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from dcol.documents.services import store_generated
from dcol.extensions import db
from dcol.i18n import country_name, format_moment, format_money, theme_label
from dcol.models import (
    Application,
    CallKind,
    Document,
    DocumentKind,
    DocumentRequirement,
    Submission,
    User,
)

ISSUER = "Cités Unies France"
MARGIN = 2 * cm
# Fonts covering more than Latin-1 (place names such as Bình Định), when the system has them;
# otherwise reportlab's standard fonts.
_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
_FONT_FILES = {
    "regular": "DejaVuSans.ttf",
    "bold": "DejaVuSans-Bold.ttf",
    "mono": "DejaVuSansMono.ttf",
}


@lru_cache(maxsize=1)
def fonts() -> dict[str, str]:
    for folder in _FONT_DIRS:
        paths = {role: folder / name for role, name in _FONT_FILES.items()}
        if all(path.is_file() for path in paths.values()):
            names = {}
            for role, path in paths.items():
                name = f"Dcol-{path.stem}"
                pdfmetrics.registerFont(TTFont(name, str(path)))
                names[role] = name
            return names
    return {"regular": "Helvetica", "bold": "Helvetica-Bold", "mono": "Courier"}


def text(value) -> str:
    """User text made safe for a ``Paragraph``: markup shown literally, line breaks kept."""
    return escape(str(value or "")).replace("\r\n", "\n").replace("\n", "<br/>")


def receipt_filename(application: Application, submission: Submission) -> str:
    return f"accuse-de-reception-{application.reference}-depot-{submission.number}.pdf"


def _styles() -> dict[str, ParagraphStyle]:
    font = fonts()
    base = ParagraphStyle("base", fontName=font["regular"], fontSize=10, leading=13)
    return {
        "base": base,
        "issuer": ParagraphStyle(
            "issuer", parent=base, fontName=font["bold"], fontSize=11, alignment=TA_CENTER
        ),
        "title": ParagraphStyle(
            "title",
            parent=base,
            fontName=font["bold"],
            fontSize=18,
            leading=22,
            alignment=TA_CENTER,
            spaceBefore=6,
            spaceAfter=12,
        ),
        "heading": ParagraphStyle(
            "heading",
            parent=base,
            fontName=font["bold"],
            fontSize=12,
            leading=15,
            spaceBefore=12,
            spaceAfter=6,
        ),
        "label": ParagraphStyle("label", parent=base, fontName=font["bold"], fontSize=9),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8.5, leading=10.5),
        "hash": ParagraphStyle("hash", parent=base, fontName=font["mono"], fontSize=7, leading=9),
        "small": ParagraphStyle(
            "small", parent=base, fontSize=8, leading=10, textColor=colors.HexColor("#444444")
        ),
    }


def _deposit_label(number: int) -> str:
    if number == 1:
        return _("Dépôt n° 1 (premier dépôt)")
    return _("Dépôt n° %(n)s (nouveau dépôt après demande de compléments)", n=number)


def _amount(value) -> str | None:
    if value in (None, ""):
        return None
    try:
        return format_money(Decimal(str(value)))
    except InvalidOperation:
        return str(value)


def _summary_rows(application: Application, content: dict) -> list[tuple[str, str]]:
    """The key answers, as (label, value) pairs, from what was deposited."""
    track_names = {track.code: track.name for track in application.call.tracks}
    rows = [
        (_("Intitulé"), content.get("title") or "—"),
        (_("Résumé"), content.get("summary") or "—"),
    ]
    if content.get("track"):
        rows.append((_("Volet"), track_names.get(content["track"], content["track"])))
    if content.get("countries"):
        rows.append(
            (_("Pays de l'action"), ", ".join(country_name(code) for code in content["countries"]))
        )
    if content.get("departments"):
        rows.append((_("Départements"), ", ".join(content["departments"])))
    if content.get("themes"):
        rows.append((_("Thématiques"), ", ".join(theme_label(t) for t in content["themes"])))
    amounts = {
        CallKind.DCOL: (("estimated_cost", _("Coût estimé de l'expertise")),),
        CallKind.AAP: (("requested_amount", _("Montant de subvention demandé")),),
    }
    for key, label in amounts.get(application.call.kind, ()):
        if (amount := _amount(content.get(key))) is not None:
            rows.append((label, amount))
    budget = content.get("budget") or []
    if budget:
        totals = {"expense": Decimal("0"), "income": Decimal("0")}
        for line in budget:
            try:
                totals[line["kind"]] += Decimal(str(line["amount"]))
            except (KeyError, InvalidOperation):
                continue
        rows.append(
            (
                _("Budget prévisionnel"),
                _(
                    "dépenses %(expenses)s, recettes %(incomes)s",
                    expenses=format_money(totals["expense"]),
                    incomes=format_money(totals["income"]),
                ),
            )
        )
    contact = (content.get("data") or {}).get("contact") or {}
    if contact.get("contact_name"):
        who = contact["contact_name"]
        if contact.get("contact_email"):
            who += f" <{contact['contact_email']}>"
        rows.append((_("Personne à contacter"), who))
    return rows


def _documents_table(application: Application, content: dict, styles, width: float) -> Table:
    deposited = content.get("documents") or []
    labels = dict(
        db.session.execute(
            sa.select(DocumentRequirement.code, DocumentRequirement.label).where(
                DocumentRequirement.call_id == application.call_id
            )
        ).all()
    )
    sizes = (
        dict(
            db.session.execute(
                sa.select(Document.id, Document.size).where(
                    Document.id.in_([doc.get("id") for doc in deposited if doc.get("id")])
                )
            ).all()
        )
        if deposited
        else {}
    )
    header = [Paragraph(text(label), styles["label"]) for label in (_("Pièce"), _("Fichier"))]
    rows, spans = [header], []
    for doc in deposited:
        requirement = doc.get("requirement")
        kind = labels.get(requirement, requirement) if requirement else _("Pièce libre")
        name = doc.get("name") or ""
        size = sizes.get(doc.get("id"))
        if size is not None:
            name = f"{name} ({_('%(kb)s Ko', kb=max(1, round(size / 1024)))})"
        rows.append([Paragraph(text(kind), styles["cell"]), Paragraph(text(name), styles["cell"])])
        # The fingerprint on a row of its own, across the table, so that it is never cut.
        spans.append(len(rows))
        rows.append(
            [Paragraph(f"{text(_('SHA-256 :'))} {text(doc.get('sha256'))}", styles["hash"]), ""]
        )
    if not deposited:
        rows.append([Paragraph(text(_("Aucune pièce déposée.")), styles["cell"]), ""])
    table = Table(rows, colWidths=[width * 0.4, width * 0.6], repeatRows=1)
    style = [
        ("BOX", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
        ("LINEBELOW", (0, 0), (-1, 0), 0.4, colors.HexColor("#999999")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 5),
    ]
    for row in spans:
        style += [
            ("SPAN", (0, row), (-1, row)),
            ("LINEBELOW", (0, row), (-1, row), 0.4, colors.HexColor("#999999")),
            ("TOPPADDING", (0, row), (-1, row), 0),
        ]
    table.setStyle(TableStyle(style))
    return table


def build_receipt_pdf(application: Application, submission: Submission) -> bytes:
    """The receipt of ``submission`` as PDF bytes (always in French)."""
    with force_locale("fr"):
        return _build(application, submission)


def _build(application: Application, submission: Submission) -> bytes:
    styles = _styles()
    content = submission.content or {}
    call, organisation = application.call, application.organisation
    depositor = (
        db.session.get(User, submission.submitted_by_id) if submission.submitted_by_id else None
    )
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=_("Accusé de réception — %(reference)s", reference=application.reference),
        author=ISSUER,
        subject=_(
            "Dépôt n° %(number)s du dossier %(reference)s",
            number=submission.number,
            reference=application.reference,
        ),
        creator="DCOL — Cités Unies France",
    )
    width = A4[0] - 2 * MARGIN
    moment = format_moment(submission.submitted_at)

    facts = [
        (_("Référence du dossier"), application.reference),
        (_("Appel"), f"{call.title} ({call.code})"),
    ]
    if application.track is not None:
        facts.append((_("Volet"), application.track.name))
    facts.append((_("Collectivité"), f"{organisation.name} (SIREN {organisation.siren})"))
    if depositor is not None:
        facts.append((_("Déposé par"), depositor.full_name))
    facts.append((_("Date et heure du dépôt"), _("%(moment)s (heure de Paris)", moment=moment)))
    facts.append((_("Numéro de dépôt"), _deposit_label(submission.number)))

    story = [
        Paragraph(text(ISSUER), styles["issuer"]),
        Paragraph(text(_("Accusé de réception")), styles["title"]),
        Paragraph(
            text(
                _(
                    "Cités Unies France accuse réception du dossier %(reference)s, déposé le "
                    "%(moment)s (heure de Paris).",
                    reference=application.reference,
                    moment=moment,
                )
            ),
            styles["base"],
        ),
        Spacer(1, 8),
        _pairs_table(facts, styles, width),
        Paragraph(text(_("Résumé du dossier déposé")), styles["heading"]),
        _pairs_table(_summary_rows(application, content), styles, width),
        Paragraph(text(_("Pièces déposées")), styles["heading"]),
        _documents_table(application, content, styles, width),
        Spacer(1, 12),
        Paragraph(
            text(
                _(
                    "L'empreinte SHA-256 identifie chaque fichier tel qu'il a été déposé : un "
                    "fichier modifié, même d'un seul caractère, a une autre empreinte. Cet accusé "
                    "de réception atteste du dépôt ; il ne préjuge ni de la recevabilité ni de "
                    "la décision."
                )
            ),
            styles["small"],
        ),
    ]

    def footer(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(fonts()["regular"], 7.5)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(
            MARGIN,
            MARGIN / 2,
            _(
                "%(issuer)s — accusé de réception %(reference)s, dépôt n° %(number)s",
                issuer=ISSUER,
                reference=application.reference,
                number=submission.number,
            ),
        )
        canvas.drawRightString(
            A4[0] - MARGIN, MARGIN / 2, _("page %(number)s", number=doc.page)
        )
        canvas.restoreState()

    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _pairs_table(rows: list[tuple[str, str]], styles, width: float) -> Table:
    label_width = 5 * cm
    table = Table(
        [
            [Paragraph(text(label), styles["label"]), Paragraph(text(value), styles["base"])]
            for label, value in rows
        ],
        colWidths=[label_width, width - label_width],
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return table


def issue_receipt(application: Application, submission: Submission) -> Document:
    """Build the receipt of ``submission``, store it as a RECEIPT document of the dossier and
    record its SHA-256 on the submission. Flushes only; the file goes if the transaction rolls
    back."""
    pdf = build_receipt_pdf(application, submission)
    document = store_generated(application, DocumentKind.RECEIPT,
                               receipt_filename(application, submission), pdf,
                               submission.submitted_by_id, submission.submitted_at)
    submission.receipt_sha256 = document.sha256
    return document
