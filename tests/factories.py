"""Small factories for tests: organisations, users per role, calls, dossiers in a given state.

Dossiers are inserted in the state a test needs, as fixtures; in the application only
``workflows`` changes a state.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from stdnum import luhn

from dcol.accounts.services import create_user
from dcol.extensions import db
from dcol.models import (
    Application,
    ApplicationState,
    Call,
    CallKind,
    CommitteeMember,
    CommitteeSession,
    ConflictStatus,
    Expert,
    ExpertKind,
    MembershipStatus,
    Mission,
    MissionProposal,
    Organisation,
    OrganisationKind,
    OrganisationStatus,
    ProposalStatus,
    Review,
    Role,
    SessionState,
    Track,
    utcnow,
)

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


def valid_siren(seed: int) -> str:
    base = f"{20000000 + seed:08d}"
    return base + luhn.calc_check_digit(base)


def make_organisation(name: str | None = None, **values) -> Organisation:
    n = next(_counter)
    values.setdefault("kind", OrganisationKind.COMMUNE)
    values.setdefault("status", OrganisationStatus.ACTIVE)
    org = Organisation(name=name or f"Commune de Test {n}", siren=valid_siren(n), **values)
    db.session.add(org)
    db.session.flush()
    return org


def make_user(
    *roles: Role,
    organisation: Organisation | None = None,
    signatory: bool = False,
    expert: Expert | None = None,
    membership: MembershipStatus = MembershipStatus.ACTIVE,
    enabled: bool = True,
    email: str | None = None,
):
    n = next(_counter)
    user = create_user(
        email or f"user{n}@example.org",
        f"Utilisateur {n}",
        password=PASSWORD,
        roles=set(roles),
        organisation=organisation,
        is_signatory=signatory,
        membership_status=membership if organisation else None,
        expert_id=expert.id if expert else None,
    )
    user.is_enabled = enabled
    db.session.flush()
    return user


def make_call(kind: CallKind = CallKind.DCOL, *, is_open: bool = True, **values) -> Call:
    n = next(_counter)
    now = utcnow()
    call = Call(
        kind=kind,
        edition=values.pop("edition", 12),
        code=values.pop("code", f"{kind.value.upper()}{n}"),
        title=values.pop("title", f"Appel de test {n}"),
        is_published=values.pop("is_published", True),
        opens_at=values.pop("opens_at", now - timedelta(days=30)),
        closes_at=values.pop("closes_at", now + timedelta(days=30) if is_open else now - timedelta(days=1)),
        eligible_kinds=values.pop("eligible_kinds", [k.value for k in OrganisationKind if k.is_local_authority]),
        **values,
    )
    call.tracks.append(Track(code="strategy", name="Stratégie internationale", position=1))
    db.session.add(call)
    db.session.flush()
    return call


def make_application(
    call: Call, organisation: Organisation, state: ApplicationState = ApplicationState.DRAFT,
    **values
) -> Application:
    call.last_number += 1
    app = Application(
        call=call,
        track=call.tracks[0] if call.tracks else None,
        organisation=organisation,
        number=call.last_number,
        reference=f"{call.code}-{call.last_number:04d}",
        state=state,
        title=values.pop("title", "Stratégie internationale de la collectivité"),
        estimated_cost=values.pop("estimated_cost", Decimal("12500.00")),
        **values,
    )
    db.session.add(app)
    db.session.flush()
    return app


def make_expert(name: str = "Coop'Eau Conseil", **values) -> Expert:
    expert = Expert(
        name=name,
        kind=values.pop("kind", ExpertKind.CONSULTANCY),
        email=values.pop("email", f"contact{next(_counter)}@expert.example"),
        daily_rate=values.pop("daily_rate", Decimal("650.00")),
        **values,
    )
    db.session.add(expert)
    db.session.flush()
    return expert


def assign_reviewer(app: Application, reviewer, status: ConflictStatus = ConflictStatus.NONE) -> Review:
    review = Review(application=app, reviewer=reviewer, assigned_at=utcnow(), conflict_status=status)
    db.session.add(review)
    db.session.flush()
    return review


def seat_on_committee(call: Call, member) -> CommitteeSession:
    """An open session of the call where ``member`` sits, present (quorum 1): they may decide."""
    session = CommitteeSession(call=call, title="Comité de sélection", held_at=utcnow() + timedelta(days=7),
                               state=SessionState.OPEN, quorum=1)
    session.members.append(CommitteeMember(user=member, is_present=True))
    db.session.add(session)
    db.session.flush()
    return session


def make_mission(app: Application, expert: Expert) -> Mission:
    mission = Mission(application=app, expert=expert, created_at=utcnow())
    db.session.add(mission)
    db.session.flush()
    return mission


def propose(app: Application, expert: Expert, by) -> MissionProposal:
    proposal = MissionProposal(application=app, expert=expert, proposed_by_id=by.id, proposed_at=utcnow())
    db.session.add(proposal)
    db.session.flush()
    return proposal


def make_expert_user(expert: Expert | None = None, **values):
    """A user acting for ``expert`` (a new one, from ``values``, unless given)."""
    return make_user(Role.EXPERT, expert=expert or make_expert(**values))


DCOL_NEEDS = {
    "needs": "Reformuler un projet pilote d'accès à l'eau dans trois communes rurales.",
    "support_expected": "Analyse, réorientation, plan d'action et mission de terrain.",
    "deliverables_expected": "Rapport de diagnostic et plan d'action.",
    "timetable": "Premier semestre 2027",
}


def make_proposal_for(
    expert: Expert,
    *,
    by=None,
    organisation: Organisation | None = None,
    state: ApplicationState = ApplicationState.EXPERT_PROPOSED,
    status: ProposalStatus = ProposalStatus.PENDING,
    **values,
) -> MissionProposal:
    """A DCOL dossier in ``state`` (awaiting the expert's answer by default) with a proposal of
    ``expert``, made with the matching's explanation and an override reason, which the expert
    must never be shown."""
    by = by or make_user(Role.MANAGER)
    app = make_application(
        values.pop("call", None) or make_call(), organisation or make_organisation(), state,
        summary=values.pop("summary", "Appui à la reformulation d'un projet pilote eau."),
        countries=values.pop("countries", ["VN"]),
        themes=values.pop("themes", ["water_sanitation"]),
        data=values.pop("data", {"needs": dict(DCOL_NEEDS)}),
        **{key: values.pop(key) for key in ("title",) if key in values},
    )
    proposal = MissionProposal(
        application=app, expert=expert, proposed_by_id=by.id, proposed_at=utcnow(), status=status,
        explanation=values.pop("explanation", {"score": 87.5, "rank": 1,
                                               "reasons": ["Explication interne du rapprochement"]}),
        override_reason=values.pop("override_reason", "Motif de dérogation interne"),
        indicative_days=values.pop("indicative_days", Decimal("12.50")),
        indicative_start=values.pop("indicative_start", date(2027, 1, 11)),
        indicative_end=values.pop("indicative_end", date(2027, 6, 30)),
        **values,
    )
    db.session.add(proposal)
    db.session.flush()
    return proposal


@pytest.fixture
def factories():
    """Access to the factories from a test: ``factories.make_user(Role.MANAGER)``."""
    import tests.factories as module

    return module
