"""The key pages and API calls issue a fixed number of SQL statements, whatever the amount of
data they show (issue 9: dcol must stay fast with years of dossiers).

Each case builds a small world (a call with every kind of list filled with 3 items), counts the
statements of one request, adds 22 more of everything, counts again and asserts both counts are
equal — and that the page shows some of what was added, so that an empty page cannot pass.
The paginated lists are also counted at several page sizes (API) and pages (dossier list).
Counts only: timings belong to ``bench/`` and are never asserted."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pytest

from dcol import audit
from dcol.accounts.services import create_api_token
from dcol.extensions import db
from dcol.models import (
    Alert,
    AlertKind,
    Application,
    ApplicationEditor,
    ApplicationState,
    CallKind,
    CommitteeDecision,
    CommitteeMember,
    CommitteeSession,
    ConflictStatus,
    Criterion,
    Decision,
    DocumentKind,
    Mission,
    MissionReport,
    Opinion,
    ProposalStatus,
    Review,
    ReviewScore,
    ReviewState,
    Role,
    SessionState,
    Submission,
    User,
    utcnow,
)
from tests import factories as f
from tests import workflow_support as ws
from tests.query_counting import counted_get, grown_statements

S = ApplicationState
FEW, MANY = 3, 25
MARKER = re.compile(r"TEMOIN\d{4}")
_tokens = itertools.count(1)


def token() -> str:
    """A unique word carried by each thing added, to see which of them a page shows."""
    return f"TEMOIN{next(_tokens):04d}"


@dataclass
class World:
    """A DCOL call with a one-criterion grid and an envelope, everybody of its journey, an open
    committee session, and the dossier whose page is counted (under review: the first reviewer
    is assigned and cleared; the collectivité is the cast's)."""

    call: object
    cast: ws.Cast
    session: CommitteeSession
    focus: Application
    size: int = 0
    clients: dict = field(default_factory=dict)
    references: dict[str, str] = field(default_factory=dict)  # a dossier's -> its token

    def shown(self, body: str) -> set[str]:
        """The tokens of what ``body`` shows (a dossier shown by its reference alone too)."""
        return set(MARKER.findall(body)) | {
            mark for reference, mark in self.references.items() if reference in body}


def build_world() -> World:
    call = ws.make_call_for(CallKind.DCOL, envelope=Decimal("1000000.00"))
    call.criteria.append(Criterion(label="Qualité", weight=Decimal("1"), scale_max=Decimal("5"),
                                   position=1))
    cast = ws.make_cast(call)
    session = CommitteeSession(call=call, title="Comité de sélection", state=SessionState.OPEN,
                               held_at=utcnow() + timedelta(days=7), quorum=1)
    session.members.append(CommitteeMember(user=cast.committee, is_present=True))
    db.session.add(session)
    focus = f.make_application(call, cast.signatory.organisation, S.UNDER_REVIEW,
                               title="Dossier suivi", created_by_id=cast.signatory.id,
                               submitted_at=utcnow(), first_submitted_at=utcnow())
    review(focus, cast.reviewers[0], submitted=False)
    db.session.commit()
    return World(call, cast, session, focus)


def review(application: Application, reviewer: User, *, submitted: bool = True,
           mark: str = "4") -> Review:
    """A cleared review of ``reviewer`` on ``application``, submitted with ``mark`` or not."""
    item = Review(application=application, reviewer=reviewer, assigned_at=utcnow(),
                  conflict_status=ConflictStatus.NONE, conflict_declared_at=utcnow())
    if submitted:
        item.state, item.submitted_at, item.opinion = (
            ReviewState.SUBMITTED, utcnow(), Opinion.FAVOURABLE)
        item.scores.append(ReviewScore(criterion=application.call.criteria[0],
                                       score=Decimal(mark)))
    db.session.add(item)
    return item


def dossier(world: World, state: ApplicationState, *, own: bool = False,
            call=None) -> Application:
    """A dossier of the call (or of ``call``) in ``state`` (of the cast's collectivité if
    ``own``, of a new one otherwise), deposited, with the start of its history in the audit
    trail."""
    mark = token()
    organisation = (world.cast.signatory.organisation if own
                    else f.make_organisation(f"Commune {mark}"))
    now = utcnow()
    application = f.make_application(
        call or world.call, organisation, state, title=f"Projet {mark}", summary="Appui.",
        estimated_cofinancing=Decimal("10000.00"), requested_amount=Decimal("8000.00"),
        submitted_at=None if state is S.DRAFT else now,
        first_submitted_at=None if state is S.DRAFT else now)
    audit.record(application_id=application.id, actor=world.cast.signatory, event="create",
                 occurred_at=now, to_state="draft")
    if state is not S.DRAFT:
        audit.record(application_id=application.id, actor=world.cast.signatory, event="submit",
                     occurred_at=now, from_state="draft", to_state=state.value)
    world.references[application.reference] = mark
    return application


def grow(world: World, count: int) -> None:
    """``count`` more items in every list the pages show."""
    cast, expert = world.cast, world.cast.expert_user.expert
    for index in range(count):
        n = world.size + index
        # The staff list, the collectivité's list and the dashboards: every state, in calls of
        # their own too.
        dossier(world, [S.SUBMITTED, S.ELIGIBLE, S.DRAFT][n % 3], own=True)
        dossier(world, [S.SUBMITTED, S.CHANGES_REQUESTED, S.WITHDRAWN][n % 3], own=True,
                call=f.make_call(CallKind.AAP if n % 2 else CallKind.DCOL))
        # The ranking and the agenda: reviewed dossiers (two submitted reviews each), and
        # dossiers the session decided on.
        reviewed = dossier(world, S.REVIEWED)
        for reviewer, mark in zip(cast.reviewers, ("4", str(1 + n % 5)), strict=True):
            review(reviewed, reviewer, mark=mark)
        waitlisted = dossier(world, S.WAITLISTED)
        for reviewer in cast.reviewers:
            review(waitlisted, reviewer, mark="3")
        decided = dossier(world, S.SELECTED)
        for reviewer in cast.reviewers:
            review(decided, reviewer)
        db.session.add(CommitteeDecision(session=world.session, application=decided,
                                         decision=Decision.SELECT, decided_at=utcnow(),
                                         decided_by_id=cast.committee.id))
        # A reviewer's work: dossiers to instruct.
        review(dossier(world, S.UNDER_REVIEW), cast.reviewers[0], submitted=False)
        # The missions followed (the expert's), with reports and an open alert.
        running = dossier(world, S.IN_PROGRESS)
        mission = Mission(application=running, expert=expert, created_at=utcnow(),
                          contracted_days=Decimal("10"), daily_rate=Decimal("650.00"),
                          starts_on=date.today(), ends_on=date.today() + timedelta(days=90))
        mission.reports.append(MissionReport(
            author_id=cast.expert_user.id, report_date=date.today(), days_spent=Decimal("2"),
            activities="Atelier.", created_at=utcnow()))
        db.session.add_all([mission, Alert(application=running, kind=AlertKind.NO_REPORT,
                                           key="no_report", detail="Aucun rapport.",
                                           raised_at=utcnow())])
        # The expert's proposals, pending and answered.
        mark = token()
        f.make_proposal_for(
            expert, by=cast.manager, title=f"Proposition {mark}",  # each in a call of its own
            organisation=f.make_organisation(f"Commune {mark}"),
            status=ProposalStatus.PENDING if n % 2 else ProposalStatus.DECLINED)
        # The dossier page: its history, deposits, documents, co-editors and reviews.
        grow_focus(world, n)
    world.size += count
    db.session.commit()


def grow_focus(world: World, n: int) -> None:
    cast, focus = world.cast, world.focus
    mark = token()
    actors = [cast.signatory, cast.manager, cast.reviewers[0]]  # all three among the first
    audit.record(application_id=focus.id, actor=actors[n % len(actors)], event="comment",
                 occurred_at=utcnow(), comment=f"Note {mark}")
    db.session.add(Submission(application=focus, number=n + 1, submitted_at=utcnow(),
                              submitted_by_id=cast.signatory.id, content={}))
    ws.attach(focus, cast.signatory, kind=DocumentKind.APPLICATION)
    ws.attach(focus, cast.manager, kind=DocumentKind.LETTER)
    member = f.make_user(Role.APPLICANT, organisation=focus.organisation)
    member.full_name = f"Membre {mark}"
    db.session.add(ApplicationEditor(application=focus, user=member, added_at=utcnow(),
                                     added_by_id=cast.signatory.id))
    reviewer = f.make_user(Role.REVIEWER)
    reviewer.full_name = f"Instructeur {mark}"
    review(focus, reviewer, submitted=bool(n % 2))


# --- who asks ---------------------------------------------------------------------------------


class Browser:
    """A signed-in browser."""

    def __init__(self, app, user: User):
        self.client = app.test_client()
        response = self.client.post("/connexion", data={"email": user.email,
                                                         "password": f.PASSWORD})
        assert response.status_code == 302

    def count(self, path: str) -> tuple[list[str], str]:
        return counted_get(self.client, path)


class Api:
    """An API client with a bearer token."""

    def __init__(self, app, user: User):
        self.client = app.test_client()
        self.headers = {"Authorization": f"Bearer {create_api_token(user, 'tests')}"}
        db.session.commit()

    def count(self, path: str) -> tuple[list[str], str]:
        return counted_get(self.client, f"/api/v1{path}", headers=self.headers)


def someone(world: World, who: str) -> User:
    cast = world.cast
    return {"manager": cast.manager, "collectivite": cast.signatory,
            "reviewer": cast.reviewers[0], "committee": cast.committee,
            "expert": cast.expert_user}[who]


# --- the pages --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    who: str
    path: str  # formatted with the world: {call}, {focus}, {session}
    api: bool = False
    lists: bool = True  # shows the items added (an aggregate page shows figures only)

    def url(self, world: World) -> str:
        return self.path.format(call=world.call.id, focus=world.focus.id,
                                session=world.session.id)


PAGES = {
    # The staff dossier list, whole, filtered by call and state, and the collectivité's.
    "dossiers": Page("manager", "/dossiers/"),
    "dossiers-filtered": Page("manager", "/dossiers/?appel={call}&etat=reviewed"),
    "dossiers-sorted": Page("manager", "/dossiers/?appel={call}&tri=-depot&par_page=25"),
    "dossiers-collectivite": Page("collectivite", "/dossiers/"),
    "dossiers-reviewer": Page("reviewer", "/dossiers/"),
    "dossiers-committee": Page("committee", "/dossiers/"),
    # A dossier's page, for each of those who read it.
    "dossier-manager": Page("manager", "/dossiers/{focus}"),
    "dossier-collectivite": Page("collectivite", "/dossiers/{focus}"),
    "dossier-reviewer": Page("reviewer", "/dossiers/{focus}"),
    # The call's ranking and the committee's agenda.
    "ranking": Page("manager", "/appels/{call}/classement"),
    "ranking-committee": Page("committee", "/appels/{call}/classement"),
    "agenda": Page("manager", "/comites/{session}"),
    "agenda-committee": Page("committee", "/comites/{session}"),
    # The reviewer's assignments, the dossier's reviews side by side, the calls instructed.
    "reviews-reviewer": Page("reviewer", "/evaluations"),
    "reviews-of-dossier": Page("manager", "/dossiers/{focus}/evaluations"),
    "instruction": Page("manager", "/instruction", lists=False),
    # The dashboards.
    "dashboard": Page("manager", "/pilotage", lists=False),
    "dashboard-call": Page("manager", "/pilotage/appels/{call}", lists=False),
    # The expert's missions and proposals.
    "missions-expert": Page("expert", "/missions"),
    "missions-manager": Page("manager", "/missions"),
    "proposals-expert": Page("expert", "/experts/propositions"),
    # Each role's work queue (home page).
    "home-manager": Page("manager", "/", lists=False),  # counts per state
    "home-collectivite": Page("collectivite", "/"),
    "home-reviewer": Page("reviewer", "/"),
    "home-expert": Page("expert", "/"),
    # The API's dossier list: two page sizes, and filtered.
    "api-dossiers": Page("manager", "/applications?per_page=5", api=True),
    "api-dossiers-large": Page("manager", "/applications?per_page=100", api=True),
    "api-dossiers-filtered": Page("manager", "/applications?call_id={call}&state=reviewed",
                                  api=True),
    "api-dossiers-sorted": Page("manager", "/applications?sort=requested_amount&per_page=10",
                                api=True),
    "api-dossiers-collectivite": Page("collectivite", "/applications", api=True),
}


@pytest.fixture
def world(app) -> World:
    world = build_world()
    grow(world, FEW)
    return world


def asker(app, world: World, page: Page):
    user = someone(world, page.who)
    return (Api if page.api else Browser)(app, user)


# Known N+1s, in areas whose owners fix them; strict: the case fails once fixed, to be removed.
# Pages whose count still grows, with the reason (none today).
KNOWN: dict[str, str] = {}


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN[name]))
    if name in KNOWN else name
    for name in PAGES])
def test_the_page_issues_a_fixed_number_of_queries(app, world, name):
    page = PAGES[name]
    who = asker(app, world, page)
    few, body = who.count(page.url(world))
    shown_before = world.shown(body)
    grow(world, MANY - FEW)
    many, body = who.count(page.url(world))
    if page.lists:  # some of what was added is on the page (all of it, unless paginated)
        assert world.shown(body) - shown_before, "the page does not show what was added"
    assert len(many) == len(few), (
        f"{name}: {len(few)} queries with {FEW} items, {len(many)} with {MANY}",
        grown_statements(few, many))


def test_the_api_list_issues_as_many_queries_whatever_the_page_size(app, world):
    api = Api(app, world.cast.manager)
    grow(world, MANY - FEW)
    counts = {}
    for size in (1, 10, 100):
        statements, body = api.count(f"/applications?per_page={size}")
        counts[size] = len(statements)
        assert len(world.shown(body)) >= min(size, MANY)
    assert len(set(counts.values())) == 1, counts


def test_the_dossier_list_issues_as_many_queries_on_every_page(app, world):
    manager = Browser(app, world.cast.manager)
    grow(world, MANY - FEW)
    counts = {}
    for number in (1, 2, 3):  # full pages of 50, then the last one
        statements, body = manager.count(f"/dossiers/?page={number}")
        counts[number] = len(statements)
        assert world.shown(body)
    assert len(set(counts.values())) == 1, counts
