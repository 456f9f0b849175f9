"""The mission plan: its phases and milestones with their dates (scoping, diagnosis, field
mission, restitution, final deliverable).

A plan is laid out when the agreement comes into force, spread over the mission's dates, and
amended while the support runs by CUF or by whoever reports on it: each amendment says why and
keeps the plan before and after in the audit trail. Services flush only; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _

from dcol import audit
from dcol.extensions import db
from dcol.i18n import PARIS, format_day
from dcol.models import Application, Milestone, Mission, Phase, User, utcnow
from dcol.models.base import N_
from dcol.permissions import Action, can
from workflows.engine import Forbidden, InputRefused
from workflows.guards import mission_of

# The default plan: each phase's milestone at this share of the mission's duration.
DEFAULT_PLAN = (
    (Phase.SCOPING, N_("Réunion de cadrage"), 0.10),
    (Phase.DIAGNOSIS, N_("Diagnostic partagé"), 0.35),
    (Phase.FIELD_MISSION, N_("Mission de terrain"), 0.60),
    (Phase.RESTITUTION, N_("Restitution aux élus et aux partenaires"), 0.85),
    (Phase.FINAL_DELIVERABLE, N_("Remise du livrable final"), 1.00),
)
PROJECT_PLAN = (
    (Phase.SCOPING, N_("Lancement du projet"), 0.05),
    (Phase.FIELD_MISSION, N_("Mise en œuvre"), 0.50),
    (Phase.RESTITUTION, N_("Bilan avec les partenaires"), 0.90),
    (Phase.FINAL_DELIVERABLE, N_("Rapport final"), 1.00),
)
MAX_MILESTONES = 30


@dataclass(frozen=True)
class MilestoneEntry:
    """A milestone as entered: ``id`` is None for a new one."""

    phase: Phase
    label: str
    due_on: date | None
    done_on: date | None = None
    id: int | None = None


def lay_out_plan(mission: Mission, with_expert: bool) -> None:
    """Give the mission its default plan, spread between its start and end dates, unless it
    already has one (the agreement's amendments keep the plan as amended)."""
    if mission.milestones or mission.starts_on is None or mission.ends_on is None:
        return
    span = max((mission.ends_on - mission.starts_on).days, 0)
    with force_locale("fr"):  # stored as written, in the scheme's language
        for phase, label, share in DEFAULT_PLAN if with_expert else PROJECT_PLAN:
            mission.milestones.append(Milestone(
                phase=phase, label=_(label),
                due_on=mission.starts_on + timedelta(days=round(span * share))))
    db.session.flush()


def _as_json(milestones) -> list[dict]:
    return [{"phase": m.phase.value, "label": m.label, "due_on": m.due_on.isoformat(),
             "done_on": m.done_on.isoformat() if m.done_on else None} for m in milestones]


def _check(entries: list[MilestoneEntry], today: date, reason: str, amending: bool
           ) -> dict[str, str]:
    errors = {}
    for index, entry in enumerate(entries):
        if not entry.label.strip():
            errors[f"milestones-{index}-label"] = _("Indiquez l'intitulé du jalon.")
        if entry.due_on is None:
            errors[f"milestones-{index}-due_on"] = _("Indiquez la date prévue du jalon.")
        if entry.done_on is not None and entry.done_on > today:
            errors[f"milestones-{index}-done_on"] = _(
                "La date de réalisation ne peut pas être dans le futur.")
    if not entries:
        errors["milestones"] = _("Le plan de mission compte au moins un jalon.")
    elif len(entries) > MAX_MILESTONES:
        errors["milestones"] = _("Le plan de mission compte au plus %(count)s jalons.",
                                 count=MAX_MILESTONES)
    elif not any(entry.phase is Phase.FINAL_DELIVERABLE for entry in entries):
        errors["milestones"] = _("Le plan de mission doit prévoir la remise du livrable final.")
    if amending and not reason.strip():
        errors["reason"] = _("Indiquez le motif de la modification du plan.")
    return errors


def amend_plan(application: Application, actor: User, entries: list[MilestoneEntry],
               reason: str, now: datetime | None = None) -> Mission:
    """Replace the mission's milestones by ``entries`` (kept by id, added, removed), with the
    reason, audited with the plan before and after. Raises ``InputRefused`` (nothing changed)
    when an entry is invalid or ``Forbidden``."""
    now = now or utcnow()
    if not can(actor, Action.APP_EDIT_PLAN, application):
        raise Forbidden(_("Vous ne pouvez pas modifier le plan de cette mission."))
    mission = mission_of(application)
    if mission is None:
        raise Forbidden(_("Ce dossier n'a pas encore de mission."))
    errors = _check(entries, now.astimezone(PARIS).date(), reason, bool(mission.milestones))
    existing = {milestone.id: milestone for milestone in mission.milestones}
    if any(entry.id is not None and entry.id not in existing for entry in entries):
        errors["milestones"] = _("Un jalon modifié n'appartient pas à ce plan : rechargez la page.")
    if errors:
        raise InputRefused(_("Le plan de mission n'a pas été enregistré."), errors)
    before = _as_json(mission.milestones)
    kept = {entry.id for entry in entries if entry.id is not None}
    for milestone in list(mission.milestones):
        if milestone.id not in kept:
            mission.milestones.remove(milestone)
    for entry in entries:
        milestone = existing.get(entry.id) if entry.id is not None else None
        if milestone is None:
            milestone = Milestone(phase=entry.phase, label="", due_on=entry.due_on)
            mission.milestones.append(milestone)
        milestone.phase, milestone.label = entry.phase, entry.label.strip()
        milestone.due_on, milestone.done_on = entry.due_on, entry.done_on
    db.session.flush()
    mission.milestones.sort(key=lambda m: (m.due_on, m.id))
    audit.record(application_id=application.id, actor=actor, occurred_at=now,
                 event="mission_plan.amended", comment=reason.strip(),
                 payload={"before": before, "after": _as_json(mission.milestones)})
    return mission


def is_late(milestone: Milestone, today: date) -> bool:
    return milestone.done_on is None and milestone.due_on < today


def describe_milestone(milestone: Milestone) -> str:
    """« Diagnostic partagé — prévu le 12 mars 2026 »."""
    return _("%(label)s — prévu le %(day)s", label=milestone.label,
             day=format_day(milestone.due_on))
