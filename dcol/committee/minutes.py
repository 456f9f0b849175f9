"""The minutes (*procès-verbal*) of a committee session, as a PDF in French.

Built on demand, not stored. A ``Document`` belongs to a dossier (``application_id`` is required)
while the minutes belong to a session, and the session's own rows are their source of truth:
its members and attendance, its quorum and its ``CommitteeDecision`` rows, which nothing changes
once the session is closed (attendance and decisions are refused then). So the minutes of a
closed session read the same at every download, with no copy to keep in step, and those of a
session not yet closed are marked as a draft. Staff and the session's members download them
(SESSION_VIEW). Should a signed, frozen copy ever be needed, it would be a document of the
session with its own table and migration.
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.platypus import Paragraph
from sqlalchemy.orm import joinedload

from dcol.committee.agenda import agenda
from dcol.committee.letters import outcome_label
from dcol.committee.services import EVENT_OF, present_members, quorum_reached
from dcol.documents import pdf
from dcol.extensions import db
from dcol.i18n import format_moment, format_money, format_number
from dcol.models import (
    Application,
    CommitteeDecision,
    CommitteeSession,
    Decision,
    SessionState,
)


def minutes_filename(session: CommitteeSession) -> str:
    return f"proces-verbal-{session.call.code}-seance-{session.id}.pdf"


def build_minutes_pdf(session: CommitteeSession) -> bytes:
    """The minutes of ``session``: the call, title, date, place, members present and absent,
    the quorum, every decision in the order taken with its dossier's reference, organisation,
    score, estimated cofinancing and reason, and the totals (PDF bytes, always in French)."""
    with force_locale("fr"):
        return _build(session)


def _build(session: CommitteeSession) -> bytes:
    is_final = session.state is SessionState.CLOSED
    heading = (_("Procès-verbal du comité de sélection") if is_final
               else _("Projet de procès-verbal du comité de sélection (séance non close)"))
    present = present_members(session)
    absent = [member for member in session.members if not member.is_present]
    facts = [
        (_("Appel"), f"{session.call.title} ({session.call.code})"),
        (_("Séance"), session.title),
        (_("Date"), _("%(moment)s (heure de Paris)", moment=format_moment(session.held_at))),
        (_("Lieu"), session.location or "—"),
        (_("État"), session.state.label),
        (_("Quorum"), _("%(quorum)s membre(s) requis, %(present)s présent(s) : %(verdict)s",
                        quorum=session.quorum, present=len(present),
                        verdict=_("atteint") if quorum_reached(session) else _("non atteint"))),
        (_("Membres présents"), ", ".join(m.user.full_name for m in present) or "—"),
        (_("Membres absents"), ", ".join(m.user.full_name for m in absent) or "—"),
    ]
    story = [
        pdf.paragraph(pdf.ISSUER, "issuer"),
        pdf.paragraph(heading, "title"),
        pdf.pairs(facts),
        pdf.paragraph(_("Décisions"), "heading"),
    ]
    scores = {item.application.id: item.aggregate.final_score for item in agenda(session).items}
    decisions = db.session.scalars(
        sa.select(CommitteeDecision)
        .options(joinedload(CommitteeDecision.application).joinedload(Application.organisation))
        .where(CommitteeDecision.session_id == session.id)
        .order_by(CommitteeDecision.decided_at, CommitteeDecision.id)
    ).all()
    header = (_("Dossier"), _("Note / 100"), _("Cofinancement estimé"), _("Décision"),
              _("Motif"))
    rows = []
    counts = {decision: 0 for decision in Decision}
    totals = {decision: Decimal("0") for decision in Decision}
    for decision in decisions:
        application = decision.application
        amount = application.estimated_cofinancing
        score = scores.get(application.id)
        counts[decision.decision] += 1
        totals[decision.decision] += amount or Decimal("0")
        # The reference on a line of its own, wide enough never to be cut at its hyphens.
        dossier = Paragraph(f"{pdf.text(application.reference)}<br/>"
                            f"{pdf.text(application.organisation.name)}", pdf.styles()["cell"])
        rows.append([dossier, *(pdf.paragraph(value, "cell") for value in (
            format_number(score) if score is not None else "—",
            format_money(amount) if amount is not None else "—",
            outcome_label(EVENT_OF[decision.decision]), decision.reason or ""))])
    if not decisions:
        story.append(pdf.paragraph(_("Aucune décision n'a été prise.")))
    else:
        story.append(pdf.grid(header, rows, (0.34, 0.1, 0.16, 0.15, 0.25)))
    story += [
        pdf.paragraph(_("Totaux"), "heading"),
        pdf.paragraph(_("Dossiers retenus : %(count)s, pour un cofinancement estimé de "
                        "%(amount)s.", count=counts[Decision.SELECT],
                        amount=format_money(totals[Decision.SELECT]))),
        pdf.paragraph(_("En liste d'attente : %(waitlist)s. Non retenus : %(reject)s.",
                        waitlist=counts[Decision.WAITLIST], reject=counts[Decision.REJECT])),
    ]

    return pdf.render(
        story, title=_("Procès-verbal — %(title)s", title=session.title),
        footer=_("%(issuer)s — procès-verbal, %(title)s", issuer=pdf.ISSUER, title=session.title))
