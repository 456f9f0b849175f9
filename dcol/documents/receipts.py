"""The receipt (*accusé de réception*) of a deposit: a PDF in French, stored as a document.

It attests what was deposited and when: the dossier's reference, call and track, organisation,
the moment of deposit in Paris time, the deposit's number, a summary of the answers and the
documents with their SHA-256. Its layout is the house's (``dcol.documents.pdf``): user text shown
literally, the same deposit giving the same bytes, "page n / total" so that a reader sees the
receipt is whole.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.platypus import Spacer, Table

from dcol.documents import pdf
from dcol.documents.pdf import ISSUER, paragraph
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


def receipt_filename(application: Application, submission: Submission) -> str:
    return f"accuse-de-reception-{application.reference}-depot-{submission.number}.pdf"


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


def _documents_table(application: Application, content: dict) -> Table:
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
    rows, spans = [[paragraph(label, "label") for label in (_("Pièce"), _("Fichier"))]], []
    for doc in deposited:
        requirement = doc.get("requirement")
        kind = labels.get(requirement, requirement) if requirement else _("Pièce libre")
        name = doc.get("name") or ""
        size = sizes.get(doc.get("id"))
        if size is not None:
            name = f"{name} ({_('%(kb)s Ko', kb=max(1, round(size / 1024)))})"
        rows.append([paragraph(kind, "cell"), paragraph(name, "cell")])
        # The fingerprint on a row of its own, across the table, so that it is never cut; no
        # rule between a file and its fingerprint (hence not ``pdf.grid``'s inner grid).
        spans.append(len(rows))
        rows.append([paragraph(f"{_('SHA-256 :')} {doc.get('sha256') or ''}", "hash"), ""])
    if not deposited:
        rows.append([paragraph(_("Aucune pièce déposée."), "cell"), ""])
    style = [
        ("BOX", (0, 0), (-1, -1), 0.4, pdf.GRID),
        ("LINEBELOW", (0, 0), (-1, 0), 0.4, pdf.GRID),
        ("BACKGROUND", (0, 0), (-1, 0), pdf.HEADER),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 5),
    ]
    for row in spans:
        style += [
            ("SPAN", (0, row), (-1, row)),
            ("LINEBELOW", (0, row), (-1, row), 0.4, pdf.GRID),
            ("TOPPADDING", (0, row), (-1, row), 0),
        ]
    return Table(rows, colWidths=[pdf.WIDTH * 0.4, pdf.WIDTH * 0.6], repeatRows=1, style=style)


def build_receipt_pdf(application: Application, submission: Submission) -> bytes:
    """The receipt of ``submission`` as PDF bytes (always in French)."""
    with force_locale("fr"):
        return _build(application, submission)


def _build(application: Application, submission: Submission) -> bytes:
    content = submission.content or {}
    call, organisation = application.call, application.organisation
    depositor = (
        db.session.get(User, submission.submitted_by_id) if submission.submitted_by_id else None
    )
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
        paragraph(ISSUER, "issuer"),
        paragraph(_("Accusé de réception"), "title"),
        paragraph(
            _(
                "Cités Unies France accuse réception du dossier %(reference)s, déposé le "
                "%(moment)s (heure de Paris).",
                reference=application.reference,
                moment=moment,
            )
        ),
        Spacer(1, 8),
        pdf.pairs(facts),
        paragraph(_("Résumé du dossier déposé"), "heading"),
        pdf.pairs(_summary_rows(application, content)),
        paragraph(_("Pièces déposées"), "heading"),
        _documents_table(application, content),
        Spacer(1, 12),
        paragraph(
            _(
                "L'empreinte SHA-256 identifie chaque fichier tel qu'il a été déposé : un "
                "fichier modifié, même d'un seul caractère, a une autre empreinte. Cet accusé "
                "de réception atteste du dépôt ; il ne préjuge ni de la recevabilité ni de "
                "la décision."
            ),
            "small",
        ),
    ]
    return pdf.render(
        story,
        title=_("Accusé de réception — %(reference)s", reference=application.reference),
        subject=_(
            "Dépôt n° %(number)s du dossier %(reference)s",
            number=submission.number,
            reference=application.reference,
        ),
        footer=_(
            "%(issuer)s — accusé de réception %(reference)s, dépôt n° %(number)s",
            issuer=ISSUER,
            reference=application.reference,
            number=submission.number,
        ),
    )


def issue_receipt(application: Application, submission: Submission) -> Document:
    """Build the receipt of ``submission``, store it as a RECEIPT document of the dossier and
    record its SHA-256 on the submission. Flushes only; the file goes if the transaction rolls
    back."""
    content = build_receipt_pdf(application, submission)
    document = store_generated(
        application,
        DocumentKind.RECEIPT,
        receipt_filename(application, submission),
        content,
        submission.submitted_by_id,
        submission.submitted_at,
    )
    submission.receipt_sha256 = document.sha256
    return document
