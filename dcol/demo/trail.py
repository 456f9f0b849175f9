"""The audit trail the demo's dossiers would have: their creation, then the events that lead a
draft to its state (the machine's shortest path), each with its author and its moment.

Most dossiers spread those events evenly between their deposit and their closure (or today).
A support past its agreement has a history with known dates (the reviews, the committee, the
mission, the signatures, the final report, the closure): its events are pinned to them, and the
others spread between, so that the trail, the agreement and the closure report tell one story.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

import sqlalchemy as sa

from dcol.audit import record
from dcol.demo import data as d
from dcol.demo.rows import Refs
from dcol.extensions import db
from dcol.models import Application, ApplicationState, User
from workflows.dossier import Event
from workflows.paths import shortest_path

S = ApplicationState

# What happened to a dossier after its deposit, relative to ``submitted``.
CHECKED_AFTER = timedelta(days=3)
ASSIGNED_AFTER = timedelta(days=7)
DECLARED_AFTER = timedelta(days=8)
REVIEWED_AFTER = timedelta(days=17)
CONSENSUS_AFTER = timedelta(days=20)
DECIDED_AFTER_SESSION_START = timedelta(hours=2)

# Who fires each event in the demo's history, and how long after the previous step.
TRAIL_ACTORS = {
    "declare_eligible": d.REVIEWER, "declare_ineligible": d.REVIEWER,
    "request_changes": d.REVIEWER, "select": d.COMMITTEE, "waitlist": d.COMMITTEE,
    "reject": d.COMMITTEE,
}
TRAIL_STEP = timedelta(days=6)


@dataclass(frozen=True)
class Step:
    """One event of the trail: from which state, and when."""

    event: Event
    from_state: ApplicationState
    moment: datetime


def review_moments(refs: Refs, spec: dict) -> dict[str, datetime]:
    """When the instruction's events happened, as ``seed_review_history`` dates them."""
    submitted = spec["submitted"]
    moments = {
        "declare_eligible": submitted + CHECKED_AFTER,
        "start_review": submitted + ASSIGNED_AFTER,
        "complete_review": submitted + REVIEWED_AFTER,
    }
    if "decision" in spec:
        moments["select"] = refs.sessions[spec["decision"][0]].held_at + DECIDED_AFTER_SESSION_START
    return moments


def trail_of(application: Application, spec: dict,
             known: dict[str, datetime] | None = None) -> list[Step]:
    """The events that lead a draft to the dossier's state, each dated: pinned to ``known``
    moments (by event name) when given, else spread between the deposit and the closure (or
    today)."""
    path = shortest_path(application.call.kind, spec["state"])
    if not path:
        return []
    moments = _pinned(application, path, spec, known) if known else _spread(path, spec)
    steps, state = [], S.DRAFT
    for event, moment in zip(path, moments, strict=True):
        steps.append(Step(event, state, moment))
        state = event.target
    return steps


def since_start(steps: list[Step]) -> list[Step]:
    """The steps from the mission's start on (none before it)."""
    names = [step.event.name for step in steps]
    return steps[names.index("start"):] if "start" in names else []


def _spread(path: tuple[Event, ...], spec: dict) -> list[datetime]:
    moment = spec["submitted"]
    last = spec.get("closed") or min(
        moment + TRAIL_STEP * len(path), d.paris(d.TODAY.year, d.TODAY.month, d.TODAY.day, 9)
    )
    step = (last - moment) / max(len(path) - 1, 1)
    return [_office_hours(moment + step * index, index) for index in range(len(path))]


def _pinned(application: Application, path: tuple[Event, ...], spec: dict,
            known: dict[str, datetime]) -> list[datetime]:
    """Known moments where the path has them; each event between spread evenly between the
    known ones around it (after the last known one, a ``TRAIL_STEP`` apart)."""
    dated = {0: spec["submitted"]}
    dated.update({index: known[event.name] for index, event in enumerate(path)
                  if index and event.name in known})
    pinned = sorted(dated)
    for before, after in pairwise(pinned):
        if dated[after] <= dated[before]:
            raise ValueError(f"{application.reference}: {path[after].name} on {dated[after]} "
                             f"does not follow {path[before].name} on {dated[before]}")
    moments = []
    for index in range(len(path)):
        if index in dated:
            moments.append(dated[index])
            continue
        before = max(i for i in pinned if i < index)
        after = next((i for i in pinned if i > index), None)
        if after is None:
            moment = dated[before] + TRAIL_STEP * (index - before)
        else:
            moment = dated[before] + (dated[after] - dated[before]) * (index - before) / (
                after - before)
        moments.append(_office_hours(moment, index))
    return moments


def _office_hours(moment: datetime, index: int) -> datetime:
    """The same day, at a plausible office time in Paris (the first step keeps its own time)."""
    if index == 0:
        return moment
    local = moment.astimezone(d.PARIS)
    return local.replace(hour=9 + index % 8, minute=(index * 17) % 60, second=0, microsecond=0)


def seed_audit_trail(refs: Refs, application: Application, spec: dict,
                     steps: list[Step]) -> None:
    """The chained audit entries of the dossier's creation and of ``steps`` (the rest of its
    trail, if any, is recorded by its follow-up, in order with what the services record)."""
    author = spec.get("created_by") or d.APPLICANT
    record(application_id=application.id, actor=refs.users[author], event="create",
           occurred_at=spec["created"], to_state=S.DRAFT.value)
    for step in steps:
        record_step(refs, application, spec, step)


def record_step(refs: Refs, application: Application, spec: dict, step: Step, *,
                by_dcol: bool = False) -> None:
    """The audit entry of one step, as the workflow writes it (``by_dcol``: fired by dcol
    itself, without an author, as the last signature starts the mission)."""
    name = step.event.name
    comment = ""
    if name in {"reject", "declare_ineligible"}:
        comment = spec.get("decision", (None, None, ""))[2] or "Décision motivée."
    elif name == "withdraw":
        comment = "Retrait à la demande de la collectivité."
    author = spec.get("created_by") or d.APPLICANT
    record(application_id=application.id,
           actor=None if by_dcol else _trail_actor(refs, name, spec, author), event=name,
           occurred_at=step.moment, from_state=step.from_state.value,
           to_state=step.event.target.value, comment=comment)


def _trail_actor(refs: Refs, event_name: str, spec: dict, author: str) -> User:
    if event_name == "submit":
        return refs.users[author]
    if event_name in {"accept_mission", "submit_final_report"} and "mission" in spec:
        expert = refs.experts.get(spec["mission"].get("expert"))
        if expert is not None:
            user = db.session.scalars(
                sa.select(User).where(User.expert_id == expert.id).order_by(User.id).limit(1)
            ).first()
            if user is not None:
                return user
    if event_name == "submit_final_report":
        return refs.users[author]
    return refs.users[TRAIL_ACTORS.get(event_name, d.MANAGER)]
