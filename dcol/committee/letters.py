"""The committee's decision letters, in French: one template per outcome (retenu, liste d'attente,
non retenu with its reason).

A letter is written in the same transaction as the decision (the workflow effect
``write_decision_letter``), stored as a ``LETTER`` document of the dossier (the applicant downloads
it from the dossier, ``DOCUMENT_DOWNLOAD``) and attached to the organisation's mail of the event
(``workflows.notifications.EVENT_ATTACHMENTS``). It never shows a score or a reviewer.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.platypus import Spacer

from dcol.documents import pdf, storage
from dcol.documents.pdf import ISSUER, paragraph
from dcol.documents.services import store_generated
from dcol.extensions import db
from dcol.i18n import format_day, format_money
from dcol.models import Application, CallKind, Document, DocumentKind, User
from dcol.permissions import Action, can

OUTCOME_WORDS = {"select": "retenu", "waitlist": "liste-d-attente", "reject": "non-retenu"}
_WRITTEN_KEY = "dcol_committee_letters"  # stored names written in this database session


def letter_filename(application: Application, event_name: str) -> str:
    return f"courrier-decision-{application.reference}-{OUTCOME_WORDS[event_name]}.pdf"


def _paragraphs(
    application: Application, event_name: str, reason: str, promoted: bool
) -> list[str]:
    call = application.call
    title = application.title or application.reference
    if event_name == "select":
        opening = (
            _(
                "Une place s'étant libérée, nous avons le plaisir de vous informer que le comité "
                "de sélection de l'appel « %(call)s » a retenu votre dossier « %(title)s », "
                "jusqu'ici en liste d'attente.",
                call=call.title,
                title=title,
            )
            if promoted
            else _(
                "Nous avons le plaisir de vous informer que le comité de sélection de l'appel "
                "« %(call)s » a retenu votre dossier « %(title)s ».",
                call=call.title,
                title=title,
            )
        )
        paragraphs = [opening]
        if application.estimated_cofinancing is not None:
            paragraphs.append(
                _(
                    "Le cofinancement estimé de Cités Unies France s'élève à %(amount)s. Son montant "
                    "définitif sera fixé par la convention.",
                    amount=format_money(application.estimated_cofinancing),
                )
            )
        paragraphs.append(
            _(
                "Le chargé de mission de Cités Unies France va maintenant rechercher dans le vivier "
                "l'expert le plus adapté à votre besoin, puis vous proposer la convention."
            )
            if call.kind is CallKind.DCOL
            else _(
                "Le chargé de mission de Cités Unies France va maintenant préparer la convention "
                "qui vous sera proposée à la signature."
            )
        )
        return paragraphs
    if event_name == "waitlist":
        return [
            _(
                "Le comité de sélection de l'appel « %(call)s » a placé votre dossier « %(title)s » "
                "en liste d'attente.",
                call=call.title,
                title=title,
            ),
            _(
                "Si une place se libère, votre dossier pourra être retenu par le comité : nous vous "
                "en informerions aussitôt."
            ),
        ]
    return [
        _(
            "Nous avons le regret de vous informer que le comité de sélection de l'appel "
            "« %(call)s » n'a pas retenu votre dossier « %(title)s », pour le motif suivant :",
            call=call.title,
            title=title,
        ),
        reason,
        _(
            "L'équipe de Cités Unies France reste à votre disposition pour en parler et vous aider "
            "à préparer une prochaine candidature."
        ),
    ]


def outcome_label(event_name: str) -> str:
    return {"select": _("Retenu"), "waitlist": _("Liste d'attente"), "reject": _("Non retenu")}[
        event_name
    ]


def build_letter_pdf(
    application: Application, event_name: str, reason: str, on: datetime, promoted: bool = False
) -> bytes:
    """The letter of ``event_name`` (select, waitlist or reject) dated ``on`` (aware), as PDF
    bytes, always in French; ``promoted``: selected from the waiting list."""
    with force_locale("fr"):
        facts = [
            (_("Dossier"), application.reference),
            (_("Appel"), f"{application.call.title} ({application.call.code})"),
            (_("Collectivité"), application.organisation.name),
            (_("Décision"), outcome_label(event_name)),
        ]
        if application.track is not None:
            facts.insert(2, (_("Volet"), application.track.name))
        story = [
            paragraph(ISSUER, "issuer"),
            Spacer(1, 18),
            paragraph(application.organisation.name),
            Spacer(1, 12),
            paragraph(_("Paris, le %(date)s", date=format_day(on))),
            Spacer(1, 12),
            paragraph(
                _(
                    "Objet : dossier %(reference)s — décision du comité de sélection",
                    reference=application.reference,
                ),
                "label",
            ),
            Spacer(1, 8),
            pdf.pairs(facts),
            Spacer(1, 12),
            paragraph(_("Madame, Monsieur,")),
            Spacer(1, 8),
        ]
        for passage in _paragraphs(application, event_name, reason, promoted):
            story += [paragraph(passage), Spacer(1, 8)]
        story += [
            paragraph(
                _(
                    "Nous vous prions d'agréer, Madame, Monsieur, l'expression de nos "
                    "salutations distinguées."
                )
            ),
            Spacer(1, 18),
            paragraph(_("Le chargé de mission DCOL, pour Cités Unies France")),
        ]
        return pdf.render(
            story,
            title=_(
                "Décision du comité de sélection — %(reference)s", reference=application.reference
            ),
        )


def issue_decision_letter(
    application: Application,
    event_name: str,
    reason: str,
    on: datetime,
    by: User | None,
    promoted: bool = False,
) -> Document:
    """Write the letter and store it as a LETTER document of the dossier. Flushes only; the
    file is deleted again if the transaction rolls back."""
    content = build_letter_pdf(application, event_name, reason, on, promoted)
    document = store_generated(
        application,
        DocumentKind.LETTER,
        letter_filename(application, event_name),
        content,
        by.id if by is not None else None,
        on,
    )
    db.session.info.setdefault(_WRITTEN_KEY, []).append(document.stored_name)
    return document


def letters_written() -> int:
    """A mark in the letters written by this database session (see ``forget_letters_since``)."""
    return len(db.session.info.get(_WRITTEN_KEY, []))


def forget_letters_since(mark: int) -> None:
    """Delete the files of the letters written since ``mark``, whose rows a rolled-back
    savepoint has just undone (a transaction's rollback deletes them anyway)."""
    written = db.session.info.get(_WRITTEN_KEY, [])
    for stored_name in written[mark:]:
        storage.delete_file(stored_name)
    del written[mark:]


def decision_letters(application: Application, user: User) -> list[Document]:
    """The dossier's decision letters ``user`` may download, the latest first."""
    letters = db.session.scalars(
        sa.select(Document)
        .where(Document.application_id == application.id, Document.kind == DocumentKind.LETTER)
        .order_by(Document.uploaded_at.desc(), Document.id.desc())
    ).all()
    # A letter is the dossier's own file: downloading it is seeing the dossier (the download
    # rule's other cases, message attachments and deliverables, are not letters). Checked once
    # for them all: checked per letter, a reviewer's assignment was queried again for each one.
    if not letters or not can(user, Action.APP_VIEW, application):
        return []
    return [letter for letter in letters
            if letter.message_id is None or can(user, Action.DOCUMENT_DOWNLOAD, letter)]
