"""The permission module as a matrix: every persona × object × action, allowed or not.

Each case lists who may; everybody else (including an applicant of another organisation, an
unassigned expert or reviewer, a pending member, a disabled user and an anonymous visitor) may not.
"""

from __future__ import annotations

import pytest
from flask_login import AnonymousUserMixin

from dcol.extensions import db
from dcol.models import (
    ApplicationState,
    CallKind,
    ConflictStatus,
    Document,
    DocumentKind,
    MembershipStatus,
    OrganisationStatus,
    Role,
    utcnow,
)
from dcol.permissions import Action, can
from tests import factories as f

S = ApplicationState
PERSONAS = (
    "signatory_a", "member_a", "pending_a", "signatory_b",
    "reviewer", "reviewer_conflicted", "reviewer_undeclared", "reviewer_unassigned",
    "committee", "committee_elsewhere", "manager", "admin",
    "expert", "expert_proposed", "expert_unassigned", "disabled_manager", "anonymous",
)
OWNERS = {"signatory_a", "member_a"}
OVERSEERS = {"manager", "admin"}


@pytest.fixture
def world(app):
    """Two organisations, a DCOL call with a committee, and one persona per line of the matrix."""
    org_a = f.make_organisation("Ville de Grenoble")
    org_b = f.make_organisation("Ville de Marseille")
    call = f.make_call(CallKind.DCOL)
    other_call = f.make_call(CallKind.DCOL)
    consultancy = f.make_expert("Coop'Eau Conseil")
    other_consultancy = f.make_expert("Climat Territoires Conseil")
    people = {
        "signatory_a": f.make_user(Role.APPLICANT, organisation=org_a, signatory=True),
        "member_a": f.make_user(Role.APPLICANT, organisation=org_a),
        "pending_a": f.make_user(
            Role.APPLICANT, organisation=org_a, signatory=True, membership=MembershipStatus.PENDING
        ),
        "signatory_b": f.make_user(Role.APPLICANT, organisation=org_b, signatory=True),
        "reviewer": f.make_user(Role.REVIEWER),
        "reviewer_conflicted": f.make_user(Role.REVIEWER),
        "reviewer_undeclared": f.make_user(Role.REVIEWER),
        "reviewer_unassigned": f.make_user(Role.REVIEWER),
        "committee": f.make_user(Role.COMMITTEE),
        "committee_elsewhere": f.make_user(Role.COMMITTEE),
        "manager": f.make_user(Role.MANAGER),
        "admin": f.make_user(Role.ADMIN),
        "expert": f.make_user(Role.EXPERT, expert=consultancy),
        "expert_proposed": f.make_user(Role.EXPERT, expert=other_consultancy),
        "expert_unassigned": f.make_user(Role.EXPERT, expert=f.make_expert("Autre cabinet")),
        "disabled_manager": f.make_user(Role.MANAGER, enabled=False),
        "anonymous": AnonymousUserMixin(),
    }
    session = f.seat_on_committee(call, people["committee"])
    f.seat_on_committee(other_call, people["committee_elsewhere"])

    def dossier(state: ApplicationState):
        app = f.make_application(call, org_a, state, created_by_id=people["member_a"].id)
        f.assign_reviewer(app, people["reviewer"], ConflictStatus.NONE)
        f.assign_reviewer(app, people["reviewer_conflicted"], ConflictStatus.CONFLICT)
        f.assign_reviewer(app, people["reviewer_undeclared"], ConflictStatus.PENDING)
        f.make_mission(app, consultancy)
        f.propose(app, other_consultancy, people["manager"])
        return app

    db.session.flush()
    return {"people": people, "dossier": dossier, "call": call, "org_a": org_a,
            "session": session, "consultancy": consultancy}


def allowed(world, action, obj) -> set[str]:
    return {name for name, user in world["people"].items() if can(user, action, obj)}


APPLICATION_CASES = [
    # (state, action, who may)
    *[(state, Action.APP_VIEW, OWNERS | OVERSEERS | {"reviewer", "expert", "expert_proposed"})
      for state in (S.DRAFT, S.SUBMITTED, S.UNDER_REVIEW, S.IN_PROGRESS)],
    (S.REVIEWED, Action.APP_VIEW,
     OWNERS | OVERSEERS | {"reviewer", "committee", "expert", "expert_proposed"}),
    (S.DRAFT, Action.APP_EDIT, {"signatory_a", "member_a"}),
    (S.CHANGES_REQUESTED, Action.APP_EDIT, {"signatory_a", "member_a"}),
    (S.SUBMITTED, Action.APP_EDIT, set()),
    # member_a is the dossier's author (see ``world``)
    (S.DRAFT, Action.APP_MANAGE_EDITORS, {"signatory_a", "member_a"}),
    (S.CHANGES_REQUESTED, Action.APP_MANAGE_EDITORS, {"signatory_a", "member_a"}),
    (S.SUBMITTED, Action.APP_MANAGE_EDITORS, set()),
    (S.DRAFT, Action.APP_SUBMIT, {"signatory_a"}),
    (S.CHANGES_REQUESTED, Action.APP_SUBMIT, {"signatory_a"}),
    (S.SUBMITTED, Action.APP_SUBMIT, set()),
    (S.DRAFT, Action.APP_WITHDRAW, {"signatory_a", "manager"}),
    (S.REVIEWED, Action.APP_WITHDRAW, {"signatory_a", "manager"}),
    (S.IN_PROGRESS, Action.APP_WITHDRAW, set()),
    (S.CLOSED, Action.APP_WITHDRAW, set()),
    (S.SUBMITTED, Action.APP_CHECK_ELIGIBILITY, {"reviewer", "manager"}),
    (S.UNDER_REVIEW, Action.APP_CHECK_ELIGIBILITY, set()),
    (S.UNDER_REVIEW, Action.APP_DECLARE_CONFLICT, {"reviewer_undeclared"}),
    (S.UNDER_REVIEW, Action.APP_SCORE, {"reviewer"}),
    (S.REVIEWED, Action.APP_SCORE, set()),
    (S.UNDER_REVIEW, Action.APP_VIEW_REVIEWS, OVERSEERS),
    (S.REVIEWED, Action.APP_VIEW_REVIEWS, OVERSEERS | {"committee"}),
    (S.REVIEWED, Action.APP_DECIDE, {"committee"}),
    (S.WAITLISTED, Action.APP_DECIDE, {"committee"}),
    (S.SELECTED, Action.APP_DECIDE, set()),
    (S.SUBMITTED, Action.APP_MANAGE, {"manager"}),
    (S.SUBMITTED, Action.APP_ASSIGN_REVIEWERS, {"manager"}),
    (S.IN_PROGRESS, Action.APP_VIEW_AUDIT, {"manager"}),
    (S.IN_PROGRESS, Action.APP_VIEW_FINANCE, OWNERS | OVERSEERS | {"expert"}),
    (S.REVIEWED, Action.APP_VIEW_FINANCE, OWNERS | OVERSEERS | {"expert", "committee"}),
    (S.IN_PROGRESS, Action.APP_VIEW_FUNDERS, OVERSEERS),
    (S.REVIEWED, Action.APP_VIEW_FUNDERS, OVERSEERS | {"committee"}),
    (S.IN_PROGRESS, Action.APP_REPORT, {"expert"}),
    (S.AGREEMENT, Action.APP_REPORT, set()),
    (S.AGREEMENT, Action.APP_SIGN, {"signatory_a", "manager", "expert"}),
    (S.IN_PROGRESS, Action.APP_SIGN, {"signatory_a", "manager", "expert"}),  # avenants
    (S.IN_PROGRESS, Action.APP_MESSAGE, OWNERS | {"manager", "expert"}),
    (S.IN_PROGRESS, Action.APP_VALIDATE_DELIVERABLE, {"signatory_a", "manager"}),
    (S.SUBMITTED, Action.APP_VALIDATE_DELIVERABLE, set()),
]


@pytest.mark.parametrize(
    ("state", "action", "expected"),
    APPLICATION_CASES,
    ids=[f"{state.value}-{action.value}" for state, action, _ in APPLICATION_CASES],
)
def test_application_matrix(world, state, action, expected):
    assert allowed(world, action, world["dossier"](state)) == expected


def test_documents_follow_their_dossier(world):
    app = world["dossier"](S.SUBMITTED)
    document = Document(
        application=app, kind=DocumentKind.APPLICATION, original_name="deliberation.pdf",
        stored_name="0" * 32, content_type="application/pdf", size=10, sha256="0" * 64,
        uploaded_at=utcnow(),
    )
    db.session.add(document)
    db.session.flush()
    assert allowed(world, Action.DOCUMENT_DOWNLOAD, document) == allowed(
        world, Action.APP_VIEW, app
    )
    assert "signatory_b" not in allowed(world, Action.DOCUMENT_DOWNLOAD, document)


def test_declined_proposal_no_longer_opens_the_dossier(world):
    from dcol.models import MissionProposal, ProposalStatus

    app = world["dossier"](S.MATCHING)
    proposal = db.session.query(MissionProposal).filter_by(application_id=app.id).one()
    assert allowed(world, Action.PROPOSAL_RESPOND, proposal) == {"expert_proposed"}
    proposal.status = ProposalStatus.DECLINED
    assert "expert_proposed" not in allowed(world, Action.APP_VIEW, app)
    assert allowed(world, Action.PROPOSAL_RESPOND, proposal) == set()


STAFF = {"reviewer", "reviewer_conflicted", "reviewer_undeclared", "reviewer_unassigned",
         "committee", "committee_elsewhere", "manager", "admin"}


def test_organisation_actions(world):
    org = world["org_a"]
    assert allowed(world, Action.ORG_VIEW, org) == OWNERS | STAFF
    assert allowed(world, Action.ORG_MANAGE_MEMBERS, org) == {"signatory_a"} | OVERSEERS
    assert allowed(world, Action.ORG_VALIDATE, None) == OVERSEERS
    assert allowed(world, Action.USERS_MANAGE, None) == {"admin"}


def test_expert_actions(world):
    assert allowed(world, Action.EXPERT_VIEW_POOL, None) == OVERSEERS
    assert allowed(world, Action.EXPERT_VIEW, world["consultancy"]) == OVERSEERS | {"expert"}
    assert allowed(world, Action.EXPERT_EDIT, world["consultancy"]) == OVERSEERS | {"expert"}


def test_committee_and_call_actions(world):
    call, session = world["call"], world["session"]
    assert allowed(world, Action.SESSION_VIEW, session) == OVERSEERS | {"committee"}
    assert allowed(world, Action.SESSION_DECIDE, session) == {"committee"}
    assert allowed(world, Action.CALL_VIEW_RANKING, call) == OVERSEERS | {"committee"}
    assert allowed(world, Action.CALL_EDIT, call) == {"admin"}
    assert allowed(world, Action.CALL_VIEW, call) == set(PERSONAS)  # published calls are public
    assert allowed(world, Action.APP_CREATE, call) == OWNERS | {"signatory_b"}
    call.is_published = False
    assert allowed(world, Action.CALL_VIEW, call) == STAFF
    assert allowed(world, Action.APP_CREATE, call) == set()


def test_closed_session_no_longer_decides(world):
    from dcol.models import SessionState

    app = world["dossier"](S.REVIEWED)
    world["session"].state = SessionState.CLOSED
    assert allowed(world, Action.APP_DECIDE, app) == set()
    assert allowed(world, Action.SESSION_DECIDE, world["session"]) == set()


def test_aap_reports_are_logged_by_the_applicant(app):
    org = f.make_organisation()
    signatory = f.make_user(Role.APPLICANT, organisation=org, signatory=True)
    other = f.make_user(Role.APPLICANT, organisation=f.make_organisation(), signatory=True)
    dossier = f.make_application(f.make_call(CallKind.AAP), org, S.IN_PROGRESS)
    assert can(signatory, Action.APP_REPORT, dossier)
    assert not can(other, Action.APP_REPORT, dossier)


def test_pending_organisation_members_see_nothing(app):
    org = f.make_organisation(status=OrganisationStatus.PENDING)
    signatory = f.make_user(Role.APPLICANT, organisation=org, signatory=True)
    dossier = f.make_application(f.make_call(), org)
    assert not can(signatory, Action.APP_VIEW, dossier)
    assert not can(signatory, Action.ORG_VIEW, org)


# --- through the web: whatever may not be seen answers 404 -------------------------------


def login(client, user):
    response = client.post("/connexion", data={"email": user.email, "password": f.PASSWORD})
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        (Role.APPLICANT, "/utilisateurs", 404),
        (Role.APPLICANT, "/organisations", 404),
        (Role.REVIEWER, "/organisations", 404),
        (Role.EXPERT, "/mon-organisation", 404),
        (Role.APPLICANT, "/ma-fiche-expert", 404),
        (Role.MANAGER, "/organisations", 200),
        (Role.MANAGER, "/utilisateurs", 404),
        (Role.ADMIN, "/utilisateurs", 200),
    ],
)
def test_pages_answer_404_to_who_may_not_see_them(client, app, role, path, status):
    org = f.make_organisation() if role is Role.APPLICANT else None
    expert = f.make_expert() if role is Role.EXPERT else None
    user = f.make_user(role, organisation=org, expert=expert)
    db.session.commit()
    login(client, user)
    response = client.get(path)
    assert response.status_code == status
    if status == 404:
        assert "Page introuvable" in response.get_data(as_text=True)


def test_list_filter_matches_the_rule_for_every_persona(world):
    """``visible_applications`` (SQL, for lists) and ``can(APP_VIEW)`` (per object) agree."""
    import sqlalchemy as sa

    from dcol.models import Application
    from dcol.permissions import visible_applications

    dossiers = [world["dossier"](state) for state in S]
    db.session.flush()
    for name, user in world["people"].items():
        listed = set(db.session.scalars(
            sa.select(Application.id).where(visible_applications(user))))
        expected = {d.id for d in dossiers if can(user, Action.APP_VIEW, d)}
        assert listed == expected, name
