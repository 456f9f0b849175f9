"""The committee's documents, in French: the decision letter sent to the applicant (one template
per outcome) and the minutes (*procès-verbal*) of a session.

A letter is written in the same transaction as the decision (a workflow effect), stored as a
``LETTER`` document of the dossier and attached to the organisation's mail. The minutes are
built on demand from the session's rows, which are their source of truth: a session's
decisions cannot change once it is closed, so the minutes of a closed session never change
either, and an open session's minutes show the decisions taken so far.
"""

from __future__ import annotations

import io
from decimal import Decimal

from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import cm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from dcol.documents import storage
from dcol.documents.receipts import ISSUER, MARGIN, _pairs_table, _styles, text
from dcol.extensions import db
from dcol.i18n import format_day, format_moment, format_money, format_number
from dcol.models import Application, CallKind, Decision, Document, DocumentKind

# --- decision letters ---------------------------------------------------------------------------

OUTCOMES = ("select", "waitlist", "reject")


def letter_filename(application: Application, event_name: str) -> str:
    word = {"select": "retenu", "waitlist": "liste-d-attente", "reject": "non-retenu"}[event_name]
    return f"courrier-decision-{application.reference}-{word}.pdf"


def _letter_paragraphs(application: Application, event_name: str, reason: str) -> list[str]:
    call = application.call
    title = application.title or application.reference
    if event_name == "select":
        next_step = (
            _("Le chargé de mission de Cités Unies France va maintenant rechercher dans le vivier "
              "l'expert le plus adapté à votre besoin, puis vous proposer la convention.")
            if call.kind is CallKind.DCOL else
            _("Le chargé de mission de Cités Unies France va maintenant préparer la convention "
              "qui vous sera proposée à la signature.")
        )
        amount = application.estimated_cofinancing
        paragraphs = [
            _("Nous avons le plaisir de vous informer que le comité de sélection de l'appel "
              "« %(call)s » a retenu votre dossier « %(title)s ».", call=call.title, title=title),
        ]
        if amount is not None:
            paragraphs.append(_(
                "Le cofinancement estimé du dispositif s'élève à %(amount)s. Son montant définitif "
                "sera fixé par la convention.", amount=format_money(amount)))
        paragraphs.append(next_step)
        return paragraphs
    if event_name == "waitlist":
        return [
            _("Le comité de sélection de l'appel « %(call)s » a placé votre dossier « %(title)s » "
              "en liste d'attente.", call=call.title, title=title),
            _("Si une place se libère, votre dossier pourra être retenu par le comité : nous vous "
              "en informerions aussitôt."),
        ]
    return [
        _("Nous avons le regret de vous informer que le comité de sélection de l'appel "
          "« %(call)s » n'a pas retenu votre dossier « %(title)s », pour le motif suivant :",
          call=call.title, title=title),
        reason,
        _("L'équipe de Cités Unies France reste à votre disposition pour en parler et vous aider "
          "à préparer une prochaine candidature."),
    ]


def build_letter_pdf(application: Application, event_name: str, reason: str, on) -> bytes:
    """The decision letter of ``event_name`` (select, waitlist or reject), dated ``on`` (an aware
    datetime), as PDF bytes, always in French."""
    with force_locale("fr"):
        styles = _styles()
        buffer = io.BytesIO()
        document = SimpleDocTemplate(
            buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
            bottomMargin=MARGIN, author=ISSUER,
            title=_("Décision du comité de sélection — %(reference)s",
                    reference=application.reference),
        )
        organisation = application.organisation
        story = [
            Paragraph(text(ISSUER), styles["issuer"]),
            Spacer(1, 18),
            Paragraph(text(organisation.name), styles["base"]),
            Spacer(1, 12),
            Paragraph(text(_("Paris, le %(date)s", date=format_day(on))), styles["base"]),
            Spacer(1, 12),
            Paragraph(text(_("Objet : dossier %(reference)s — décision du comité de sélection",
                             reference=application.reference)), styles["label"]),
            Spacer(1, 12),
            Paragraph(text(_("Madame, Monsieur,")), styles["base"]),
            Spacer(1, 8),
        ]
        for paragraph in _letter_paragraphs(application, event_name, reason):
            story += [Paragraph(text(paragraph), styles["base"]), Spacer(1, 8)]
        story += [
            Paragraph(text(_("Nous vous prions d'agréer, Madame, Monsieur, l'expression de nos "
                             "salutations distinguées.")), styles["base"]),
            Spacer(1, 18),
            Paragraph(text(_("Le chargé de mission DCOL, pour Cités Unies France")),
                      styles["base"]),
        ]
        document.build(story)
        return buffer.getvalue()


def issue_decision_letter(application: Application, event_name: str, reason: str, on,
                          by_id: int | None) -> Document:
    """Write the letter, store it as a LETTER document of the dossier. Flushes only; the file
    goes if the transaction rolls back."""
    pdf = build_letter_pdf(application, event_name, reason, on)
    stored_name, sha256 = storage.write_file(pdf, session=db.session)
    document = Document(
        application=application, kind=DocumentKind.LETTER,
        original_name=letter_filename(application, event_name), stored_name=stored_name,
        content_type="application/pdf", size=len(pdf), sha256=sha256, uploaded_by_id=by_id,
        uploaded_at=on,
    )
    db.session.add(document)
    db.session.flush()
    return document


# --- minutes -------------------------------------------------------------------------------------


def minutes_filename(session) -> str:
    return f"proces-verbal-{session.call.code}-seance-{session.id}.pdf"


def build_minutes_pdf(session) -> bytes:
    """The minutes of ``session``: who sat, the quorum, every decision with its dossier's score,
    estimated cofinancing and reason, and the totals (PDF bytes, in French)."""
    from dcol.committee.services import agenda, members_of, present_members, quorum_reached

    with force_locale("fr"):
        styles = _styles()
        buffer = io.BytesIO()
        document = SimpleDocTemplate(
            buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
            bottomMargin=MARGIN, author=ISSUER,
            title=_("Procès-verbal — %(title)s", title=session.title),
        )
        width = A4[0] - 2 * MARGIN
        present = present_members(session)
        absent = [m for m in members_of(session) if not m.is_present]
        facts = [
            (_("Appel"), session.call.title),
            (_("Séance"), session.title),
            (_("Date"), format_moment(session.held_at)),
            (_("Lieu"), session.location or "—"),
            (_("État"), session.state.label),
            (_("Quorum"), _("%(quorum)s membre(s) requis, %(present)s présent(s) : %(verdict)s",
                            quorum=session.quorum, present=len(present),
                            verdict=_("atteint") if quorum_reached(session) else _("non atteint"))),
            (_("Membres présents"), ", ".join(m.user.full_name for m in present) or "—"),
            (_("Membres absents"), ", ".join(m.user.full_name for m in absent) or "—"),
        ]
        story = [
            Paragraph(text(ISSUER), styles["issuer"]),
            Paragraph(text(_("Procès-verbal du comité de sélection")), styles["title"]),
            _pairs_table(facts, styles, width),
            Paragraph(text(_("Décisions")), styles["heading"]),
        ]
        items = {item.application.id: item for item in agenda(session).items}
        rows = [[Paragraph(text(h), styles["label"]) for h in (
            _("Dossier"), _("Collectivité"), _("Note"), _("Cofinancement estimé"),
            _("Décision"), _("Motif"))]]
        selected_total, counts = Decimal("0"), {}
        decisions = sorted(session.decisions, key=lambda d: (d.decided_at, d.id))
        for decision in decisions:
            application = decision.application
            item = items.get(application.id)
            score = item.aggregate.final_score if item is not None else None
            amount = application.estimated_cofinancing
            if decision.decision is Decision.SELECT and amount is not None:
                selected_total += amount
            counts[decision.decision] = counts.get(decision.decision, 0) + 1
            rows.append([Paragraph(text(v), styles["cell"]) for v in (
                application.reference, application.organisation.name,
                f"{format_number(score)} / 100" if score is not None else "—",
                format_money(amount) if amount is not None else "—",
                decision.decision.label, decision.reason or "")])
        if len(rows) == 1:
            story.append(Paragraph(text(_("Aucune décision n'a été prise.")), styles["base"]))
        else:
            # The reference column fits a whole reference ("DCOL13-0007"), never split.
            table = Table(rows, colWidths=[3.4 * cm, 3.2 * cm, 1.8 * cm, 2.6 * cm, 2.2 * cm,
                                           width - 13.2 * cm], repeatRows=1)
            table.setStyle(TableStyle([
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
            ]))
            story.append(table)
        story += [
            Spacer(1, 12),
            Paragraph(text(_("Dossiers retenus : %(count)s, pour un cofinancement estimé de "
                             "%(amount)s.", count=counts.get(Decision.SELECT, 0),
                             amount=format_money(selected_total))), styles["base"]),
            Paragraph(text(_("En liste d'attente : %(waitlist)s. Non retenus : %(reject)s.",
                             waitlist=counts.get(Decision.WAITLIST, 0),
                             reject=counts.get(Decision.REJECT, 0))),
                      styles["base"]),
        ]
        document.build(story)
        return buffer.getvalue()
