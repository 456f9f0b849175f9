"""How busy experts are: the one definition shared by the proposal guards and the matching."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from dcol.extensions import db
from dcol.models import Application, ApplicationState, Mission, MissionProposal, ProposalStatus

# Missions that occupy one of the expert's slots (a pending proposal occupies one too).
BUSY_STATES = frozenset(
    {ApplicationState.AGREEMENT, ApplicationState.IN_PROGRESS, ApplicationState.FINAL_REPORT}
)


@dataclass(frozen=True)
class Load:
    missions: int = 0  # missions in agreement, under way or awaiting closure
    proposals: int = 0  # proposals awaiting the expert's answer

    @property
    def total(self) -> int:
        return self.missions + self.proposals


def expert_loads(
    expert_ids: Iterable[int] | None = None, *, excluding_application_id: int | None = None
) -> dict[int, Load]:
    """Each expert's load (experts without any are absent: read with ``.get(id, Load())``), in two
    grouped queries, leaving one dossier out when asked (the one being proposed or accepted)."""
    missions = (
        sa.select(Mission.expert_id, sa.func.count())
        .join(Application, Mission.application_id == Application.id)
        .where(Mission.expert_id.is_not(None), Application.state.in_(BUSY_STATES))
        .group_by(Mission.expert_id)
    )
    proposals = (
        sa.select(MissionProposal.expert_id, sa.func.count())
        .join(Application, MissionProposal.application_id == Application.id)
        .where(MissionProposal.status == ProposalStatus.PENDING,
               Application.state == ApplicationState.EXPERT_PROPOSED)
        .group_by(MissionProposal.expert_id)
    )
    if expert_ids is not None:
        ids = list(expert_ids)
        missions = missions.where(Mission.expert_id.in_(ids))
        proposals = proposals.where(MissionProposal.expert_id.in_(ids))
    if excluding_application_id is not None:
        missions = missions.where(Application.id != excluding_application_id)
        proposals = proposals.where(Application.id != excluding_application_id)
    counts: dict[int, list[int]] = {}
    for expert_id, count in db.session.execute(missions):
        counts.setdefault(expert_id, [0, 0])[0] = count
    for expert_id, count in db.session.execute(proposals):
        counts.setdefault(expert_id, [0, 0])[1] = count
    return {expert_id: Load(*pair) for expert_id, pair in counts.items()}
