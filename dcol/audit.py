"""The audit trail: append-only entries, each chained by SHA-256 to the previous one of its dossier.

An entry's hash covers its content and the previous entry's hash, so editing or deleting any entry
breaks the chain from there on; ``verify_chain`` names the first entry that does not match.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from dcol.extensions import db
from dcol.models import AuditEvent, User
from dcol.models.base import N_


def _canonical(entry: AuditEvent) -> bytes:
    content = {
        "application_id": entry.application_id,
        "sequence": entry.sequence,
        "actor_id": entry.actor_id,
        "occurred_at": entry.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "event": entry.event,
        "from_state": entry.from_state,
        "to_state": entry.to_state,
        "comment": entry.comment,
        "payload": entry.payload,
        "previous_hash": entry.previous_hash,
    }
    return json.dumps(content, sort_keys=True, ensure_ascii=False, default=str).encode()


def entry_hash(entry: AuditEvent) -> str:
    return hashlib.sha256(_canonical(entry)).hexdigest()


def record(
    *,
    application_id: int | None,
    actor: User | None,
    event: str,
    occurred_at: datetime,
    from_state: str | None = None,
    to_state: str | None = None,
    comment: str = "",
    payload: dict | None = None,
) -> AuditEvent:
    """Append an entry to the dossier's chain (in the caller's transaction)."""
    previous = None
    if application_id is not None:
        previous = db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.application_id == application_id)
            .order_by(AuditEvent.sequence.desc())
            .limit(1)
        ).first()
    entry = AuditEvent(
        application_id=application_id,
        sequence=(previous.sequence + 1) if previous else 1,
        actor_id=actor.id if actor is not None else None,
        occurred_at=occurred_at,
        event=event,
        from_state=from_state,
        to_state=to_state,
        comment=comment,
        payload=json.loads(json.dumps(payload or {}, default=str)),
        previous_hash=previous.hash if previous else None,
    )
    entry.hash = entry_hash(entry)
    db.session.add(entry)
    db.session.flush()
    return entry


def history(application_id: int) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .options(sa.orm.joinedload(AuditEvent.actor))
            .where(AuditEvent.application_id == application_id)
            .order_by(AuditEvent.sequence)
        )
    )


# Titles of audit entries that record something other than a change of state (French, with
# the entry's payload as parameters).
EVENT_TITLES: dict[str, str] = {
    "editor_added": N_("Co-rédacteur ajouté : %(name)s"),
    "editor_removed": N_("Co-rédacteur retiré : %(name)s"),
    "eligibility_checked": N_("Recevabilité vérifiée"),
    "reviewer_assigned": N_("Instructeur affecté : %(name)s"),
    "reviewer_unassigned": N_("Instructeur retiré : %(name)s"),
    "conflict_declared": N_("Conflit d'intérêts déclaré : %(name)s"),
    "no_conflict_declared": N_("Absence de conflit d'intérêts déclarée : %(name)s"),
    "review_submitted": N_("Évaluation soumise : %(name)s"),
    "review_reopened": N_("Évaluation rouverte : %(name)s"),
    "consensus_recorded": N_("Note de consensus : %(score)s / 100"),
    "matching.brief": N_("Besoin d'expertise précisé"),
    "agreement.prepared": N_("Convention préparée (version %(version)s)"),
    "agreement.signed": N_("Convention signée"),
    "agreement.in_force": N_("Convention en vigueur (version %(version)s)"),
    "payment.requested": N_("Paiement demandé"),
    "payment.paid": N_("Paiement effectué"),
    "mission_plan.amended": N_("Plan de mission modifié"),
    "mission_report.logged": N_("Rapport de mission déposé"),
    "deliverable.submitted": N_("Livrable déposé : %(title)s"),
    "deliverable.accept": N_("Livrable validé par la collectivité : %(title)s"),
    "deliverable.ask_revision": N_("Révision du livrable demandée : %(title)s"),
    "deliverable.resubmit": N_("Livrable révisé déposé : %(title)s"),
    "deliverable.validate": N_("Livrable validé par Cités Unies France : %(title)s"),
    "satisfaction.answered": N_("Questionnaire de satisfaction renseigné"),
    "cofinancing.final": N_("Cofinancement définitif calculé sur les coûts réels"),
    "alert.raised": N_("Alerte de suivi levée"),
    "alert.resolved": N_("Alerte de suivi résolue"),
    "capitalisation.published": N_("Rendu public dans la capitalisation"),
    "capitalisation.unpublished": N_("Retiré de la capitalisation publique"),
}


# Entries about the instruction (who reviews, conflicts, scores...): only those who may see the
# reviews see them; the applicant and the expert never do.
STAFF_ONLY_EVENTS = frozenset({
    "eligibility_checked", "reviewer_assigned", "reviewer_unassigned", "conflict_declared",
    "no_conflict_declared", "review_submitted", "review_reopened", "consensus_recorded",
})


@dataclass(frozen=True)
class TimelineEntry:
    """An entry of a dossier's history as one user is shown it."""

    sequence: int
    event: str
    title: str  # French: the new state, or what happened
    from_state: str | None
    to_state: str | None
    occurred_at: datetime
    comment: str
    actor_name: str | None  # None: dcol itself, or someone the user is not told about


def _title(entry: AuditEvent) -> str:
    from flask_babel import gettext

    from dcol.i18n import state_label
    from workflows.dossier import EVENTS_BY_NAME

    if entry.to_state and entry.from_state != entry.to_state:
        return state_label(entry.to_state)
    if entry.event in EVENT_TITLES:
        return gettext(EVENT_TITLES[entry.event], **(entry.payload or {}))
    event = EVENTS_BY_NAME.get(entry.event)
    return gettext(event.label) if event is not None else entry.event


def timeline(application, user: User) -> list[TimelineEntry]:
    """The dossier's history for ``user`` (the dossier page and the API both show this)."""
    from dcol.permissions import Action, can, shows_audit_actor

    internal = can(user, Action.APP_VIEW_REVIEWS, application)
    return [
        TimelineEntry(
            sequence=entry.sequence,
            event=entry.event,
            title=_title(entry),
            from_state=entry.from_state,
            to_state=entry.to_state,
            occurred_at=entry.occurred_at,
            comment=entry.comment,
            actor_name=(
                entry.actor.full_name if shows_audit_actor(user, application, entry.actor) else None
            ),
        )
        for entry in history(application.id)
        if internal or entry.event not in STAFF_ONLY_EVENTS
    ]


@dataclass
class ChainProblem:
    application_id: int | None
    entry_id: int | None
    sequence: int | None
    problem: str  # French

    def __str__(self) -> str:
        where = f"dossier {self.application_id}" if self.application_id else "hors dossier"
        return f"{where}, entrée n° {self.sequence} (id {self.entry_id}) : {self.problem}"


def verify_chain(entries: list[AuditEvent]) -> ChainProblem | None:
    """The first problem in one dossier's entries (in sequence order), or None."""
    previous_hash, expected_sequence = None, 1
    for entry in entries:
        if entry.sequence != expected_sequence:
            return ChainProblem(
                entry.application_id, entry.id, entry.sequence,
                f"l'entrée n° {expected_sequence} a été supprimée",
            )
        if entry.previous_hash != previous_hash:
            return ChainProblem(
                entry.application_id, entry.id, entry.sequence,
                "le chaînage avec l'entrée précédente est rompu",
            )
        if entry_hash(entry) != entry.hash:
            return ChainProblem(
                entry.application_id, entry.id, entry.sequence,
                "le contenu de l'entrée a été modifié",
            )
        previous_hash, expected_sequence = entry.hash, expected_sequence + 1
    return None


def verify_all(batch: int = 5000) -> tuple[int, list[ChainProblem]]:
    """Check every dossier's chain; return the number of entries read and the problems found.

    Besides each link, the last transition must lead to the dossier's current state: removing
    the last transitions of a chain is detected too (entries without a state, such as a
    signature or a payment, may follow it).
    """
    from dcol.models import Application, ApplicationState

    states = dict(db.session.execute(sa.select(Application.id, Application.state)).all())
    problems: list[ChainProblem] = []
    count = 0
    current_id, current = None, []

    def close_chain() -> None:
        if not current:
            return
        problem = verify_chain(current)
        last = next((entry for entry in reversed(current) if entry.to_state), current[-1])
        if problem is None and last.to_state != states[last.application_id].value:
            problem = ChainProblem(
                last.application_id, None, last.sequence + 1,
                "les dernières entrées ont été supprimées (l'état du dossier ne correspond pas)",
            )
        if problem:
            problems.append(problem)
    query = (
        sa.select(AuditEvent)
        .where(AuditEvent.application_id.is_not(None))
        .order_by(AuditEvent.application_id, AuditEvent.sequence)
        .execution_options(yield_per=batch)
    )
    for entry in db.session.scalars(query):
        count += 1
        if entry.application_id != current_id:
            close_chain()
            current_id, current = entry.application_id, []
        current.append(entry)
    close_chain()
    chained = set(db.session.scalars(sa.select(AuditEvent.application_id).distinct()))
    for application_id, state in states.items():
        if state is not ApplicationState.DRAFT and application_id not in chained:
            problems.append(
                ChainProblem(application_id, None, 1, "toutes les entrées ont été supprimées")
            )
    return count, problems
