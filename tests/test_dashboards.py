"""The staff dashboards: figures checked against counts made here, row by row, from the seeded
demo data; time per stage on audit entries with known timestamps; charts without script nor
outside reference; who sees which dashboard; a fixed number of queries per page."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from dcol import audit
from dcol.dashboards import figures
from dcol.dashboards.scope import Scope, call_scope, years_scope
from dcol.demo import DEMO_PASSWORD, seed_demo
from dcol.extensions import db
from dcol.finance.envelopes import call_envelopes
from dcol.models import (
    Alert,
    AlertKind,
    Application,
    ApplicationState,
    AuditEvent,
    Call,
    CallKind,
    Envelope,
    Funder,
    Mission,
    OrganisationKind,
    Role,
    Track,
    User,
    utcnow,
)
from tests import factories as f
from tests.query_counting import count_queries

S = ApplicationState
PARIS = ZoneInfo("Europe/Paris")
SIGNED = {S.IN_PROGRESS, S.FINAL_REPORT, S.CLOSED}
FUNNEL = [S.SUBMITTED, S.ELIGIBLE, S.REVIEWED, S.SELECTED, S.AGREEMENT, S.IN_PROGRESS, S.CLOSED]
SVG_NAMESPACE = "http://www.w3.org/2000/svg"


def login(client, email: str, password: str = f.PASSWORD) -> None:
    response = client.post("/connexion", data={"email": email, "password": password})
    assert response.status_code == 302


def is_deposited(application: Application) -> bool:
    if application.state is S.DRAFT:
        return False
    return application.state is not S.WITHDRAWN or application.first_submitted_at is not None


@pytest.fixture
def demo(app):
    seed_demo()
    db.session.commit()
    return app


def all_applications() -> list[Application]:
    return list(db.session.scalars(sa.select(Application)))


def scopes() -> list[tuple[Scope, set[int]]]:
    """Every call alone, every call together, and each year: each with its call ids."""
    calls = list(db.session.scalars(sa.select(Call)))
    result = [(call_scope(call), {call.id}) for call in calls]
    result.append((years_scope(), {call.id for call in calls}))
    for year in {call.opens_at.astimezone(PARIS).year for call in calls}:
        result.append((years_scope(year), {
            call.id for call in calls if call.opens_at.astimezone(PARIS).year == year}))
    return result


# --- figures against the seeded data ----------------------------------------------------------


def test_years_are_those_the_calls_opened_in_paris(demo):
    assert years_scope().years == (2024, 2025, 2026)
    assert [call.code for call in years_scope(2026).calls] == ["AAP26-ISERE", "DCOL13"]
    assert years_scope(2019).calls == ()


def test_dossiers_by_state_equal_the_dossiers_counted_one_by_one(demo):
    applications = all_applications()
    assert any(a.state is S.DRAFT for a in applications)  # drafts exist, and are kept apart
    for scope, call_ids in scopes():
        mine = [a for a in applications if a.call_id in call_ids]
        counts = figures.state_counts(scope)
        assert counts.drafts == sum(1 for a in mine if a.state is S.DRAFT)
        assert counts.abandoned_drafts == sum(
            1 for a in mine if a.state is S.WITHDRAWN and a.first_submitted_at is None)
        expected = Counter(a.state.value for a in mine if is_deposited(a))
        assert {item.key: item.count for item in counts.by_state if item.count} == expected
        assert counts.deposited == sum(expected.values())
        # In lifecycle order, draft excluded.
        assert [item.key for item in counts.by_state] == [s.value for s in S if s is not S.DRAFT]


def test_funnel_counts_the_dossiers_that_reached_each_stage_in_the_audit_trail(demo):
    reached = defaultdict(set)  # (call id, state) -> dossiers
    call_of = {a.id: a.call_id for a in all_applications()}
    for entry in db.session.scalars(sa.select(AuditEvent)):
        if entry.application_id is not None and entry.to_state:
            reached[call_of[entry.application_id], entry.to_state].add(entry.application_id)
    for scope, call_ids in scopes():
        stages = figures.funnel(scope)
        assert [stage.state for stage in stages] == FUNNEL
        for stage in stages:
            expected = len(set().union(*(reached[call_id, stage.state.value]
                                         for call_id in call_ids)))
            assert stage.reached == expected, (scope.call_ids, stage.state)
    everything = figures.funnel(years_scope())
    assert everything[0].reached == 18 and everything[0].percent == Decimal("100.0")
    closed = everything[-1]
    assert closed.reached == 1 and closed.percent == Decimal("5.6")  # 1 / 18


def test_deposited_dossiers_by_kind_region_track_and_theme(demo):
    applications = all_applications()
    tracks = {track.id: track.name for track in db.session.scalars(sa.select(Track))}
    for scope, call_ids in scopes():
        mine = [a for a in applications if a.call_id in call_ids and is_deposited(a)]
        assert {item.key: item.count for item in figures.by_kind(scope)} == Counter(
            a.organisation.kind.value for a in mine)
        assert [item.key for item in figures.by_kind(scope)] == [
            kind.value for kind in OrganisationKind
            if any(a.organisation.kind is kind for a in mine)]
        assert {item.key: item.count for item in figures.by_region(scope)} == Counter(
            a.organisation.region or "" for a in mine)
        assert {item.key: item.count for item in figures.by_track(scope)} == Counter(
            tracks[a.track_id] if a.track_id else "" for a in mine)
        assert {item.key: item.count for item in figures.by_theme(scope)} == Counter(
            theme for a in mine for theme in set(a.themes))
    labels = {item.key: item.label for item in figures.by_theme(years_scope())}
    assert labels["youth_citizenship"] == "Jeunesse et éducation à la citoyenneté (ECSI)"
    kinds = {item.key: item.label for item in figures.by_kind(years_scope())}
    assert kinds["syndicate"] == "Syndicat (mixte, intercommunal)"


def test_headline_figures(demo):
    applications = all_applications()
    missions = {m.application_id: m for m in db.session.scalars(sa.select(Mission))}
    for scope, call_ids in scopes():
        signed = [a for a in applications if a.call_id in call_ids and a.state in SIGNED]
        board = figures.dashboard(scope)
        headline = board.headline
        assert headline.deposited == sum(
            1 for a in applications if a.call_id in call_ids and is_deposited(a))
        assert headline.collectivites_supported == len({a.organisation_id for a in signed})
        assert headline.supports_closed == sum(1 for a in signed if a.state is S.CLOSED)
        assert headline.supports_in_progress == sum(1 for a in signed if a.state is not S.CLOSED)
        assert headline.experts_mobilised == len({
            missions[a.id].expert_id for a in signed
            if a.id in missions and missions[a.id].expert_id is not None})
        assert set(headline.countries) == {code for a in signed for code in a.countries}
        committed = Decimal("0.00")
        for call in db.session.scalars(sa.select(Call).where(Call.id.in_(call_ids))):
            whole = [line for line in call_envelopes(call) if line.funder is None]
            committed += whole[0].committed
        assert headline.cofinancing_committed == committed
    everything = figures.dashboard(years_scope()).headline
    assert everything.first_year == 2024
    assert everything.collectivites_supported == 7
    assert everything.supports_closed == 1
    assert everything.cofinancing_committed > 0


def raise_alert(application: Application, kind: AlertKind, resolved: bool = False) -> None:
    db.session.add(Alert(application_id=application.id, kind=kind, key=f"{kind.value}:test",
                         detail="Alerte de test.", raised_at=utcnow() - timedelta(days=3),
                         resolved_at=utcnow() if resolved else None))
    db.session.flush()


def test_missions_in_progress_carry_their_open_alerts(demo):
    applications = {a.id: a for a in all_applications()}
    running = {a.id for a in applications.values() if a.state in {S.IN_PROGRESS, S.FINAL_REPORT}}
    by_reference = {a.reference: a for a in applications.values()}
    raise_alert(by_reference["DCOL12-0004"], AlertKind.MILESTONE_LATE)
    raise_alert(by_reference["DCOL12-0004"], AlertKind.DAYS_EXCEEDED, resolved=True)
    raise_alert(by_reference["DCOL12-0003"], AlertKind.NO_REPORT)  # final report
    raise_alert(by_reference["AAP26-ISERE-0001"], AlertKind.AGREEMENT_UNSIGNED)  # not running
    open_alerts = defaultdict(list)
    for alert in db.session.scalars(sa.select(Alert).where(Alert.resolved_at.is_(None))):
        open_alerts[alert.application_id].append(alert.kind)
    missions = figures.missions_in_progress(years_scope())
    rows = missions.rows
    assert {row.application_id for row in rows} == running
    assert missions.running == len(running)
    assert missions.alerted == len({row.application_id for row in rows if row.alerts}) == len(
        running & set(open_alerts))
    for row in rows:
        assert sorted(alert.kind for alert in row.alerts) == sorted(open_alerts[row.application_id])
        assert row.organisation == applications[row.application_id].organisation.name
    alerted = [row for row in rows if row.alerts]
    assert alerted and rows[: len(alerted)] == tuple(alerted)  # those with alerts first
    assert any(row.expert is None for row in rows)  # the call for projects has no expert

    # A resolved alert is no longer shown.
    row = alerted[0]
    for alert in db.session.scalars(sa.select(Alert).where(
            Alert.application_id == row.application_id)):
        alert.resolved_at = utcnow()
    db.session.flush()
    again = {r.application_id: r for r in figures.missions_in_progress(years_scope()).rows}
    assert again[row.application_id].alerts == ()


def test_the_dashboard_lists_the_first_running_supports_and_links_to_all(
        demo, client, monkeypatch):
    """At national scale thousands of supports run at once: the dashboard counts them all, lists
    the first ones (those with alerts first) and links to the follow-up list."""
    running = sorted((a for a in all_applications()
                      if a.state in {S.IN_PROGRESS, S.FINAL_REPORT}), key=lambda a: a.reference)
    assert len(running) >= 2
    for alert in db.session.scalars(sa.select(Alert)):  # the demo's own
        alert.resolved_at = utcnow()
    raise_alert(running[-1], AlertKind.NO_REPORT)  # the last by reference, first when listed
    db.session.commit()
    monkeypatch.setattr(figures, "MISSION_ROWS", 1)
    login(client, "chargee-dcol@demo.dcol.fr", DEMO_PASSWORD)
    page = client.get("/pilotage").get_data(as_text=True)
    assert re.findall(r'<tr data-reference="([^"]+)"', page) == [running[-1].reference]
    assert (f"{len(running)} accompagnement(s) en cours, dont 1 avec au moins une alerte "
            "ouverte.") in page
    assert "Les 1 premiers sont listés" in page and 'href="/missions"' in page


def test_the_pages_show_the_seeded_figures(demo, client):
    login(client, "chargee-dcol@demo.dcol.fr", DEMO_PASSWORD)
    page = client.get("/pilotage").get_data(as_text=True)
    applications = all_applications()
    signed = [a for a in applications if a.state in SIGNED]
    shown = dict(re.findall(r'data-figure="([a-z-]+)"><strong>([^<]+)</strong>', page))
    assert shown["deposited"] == str(sum(1 for a in applications if is_deposited(a)))
    assert shown["collectivites"] == str(len({a.organisation_id for a in signed}))
    assert shown["closed"] == str(sum(1 for a in signed if a.state is S.CLOSED))
    assert "collectivités accompagnées depuis 2024" in page
    calls = re.findall(r'<tr data-call="([^"]+)">', page)
    assert calls == ["DCOL11", "DCOL12", "AAP26-ISERE", "DCOL13"]

    filtered = client.get("/pilotage?annee=2026").get_data(as_text=True)
    assert re.findall(r'<tr data-call="([^"]+)">', filtered) == ["AAP26-ISERE", "DCOL13"]
    in_2026 = [a for a in applications if a.call.code in {"AAP26-ISERE", "DCOL13"}]
    shown = dict(re.findall(r'data-figure="([a-z-]+)"><strong>([^<]+)</strong>', filtered))
    assert shown["deposited"] == str(sum(1 for a in in_2026 if is_deposited(a)))
    assert '<option value="2026" selected>' in filtered
    empty = client.get("/pilotage?annee=2019").get_data(as_text=True)
    assert "Aucun appel ne s'est ouvert en 2019." in empty
    assert re.findall(r'<tr data-call="([^"]+)">', empty) == []

    dcol12 = db.session.scalar(sa.select(Call).where(Call.code == "DCOL12"))
    page = client.get(f"/pilotage/appels/{dcol12.id}").get_data(as_text=True)
    running = [a for a in applications if a.call_id == dcol12.id
               and a.state in {S.IN_PROGRESS, S.FINAL_REPORT}]
    assert sorted(re.findall(r'<tr data-reference="([^"]+)"', page)) == sorted(
        a.reference for a in running)
    assert f'href="/dossiers/{running[0].id}"' in page


# --- time spent in each stage -----------------------------------------------------------------


def test_time_per_stage_from_consecutive_transitions(app):
    call = f.make_call()
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def days(n: float) -> datetime:
        return start + timedelta(days=n)

    def journey(application, steps):
        previous = None
        for moment, event, state in steps:
            audit.record(application_id=application.id, actor=None, event=event,
                         occurred_at=moment, from_state=previous if state else None,
                         to_state=state)
            previous = state or previous

    first = f.make_application(call, f.make_organisation(), S.ELIGIBLE)
    journey(first, [
        (days(0), "create", "draft"),
        (days(2), "submit", "submitted"),
        (days(3), "reviewer_assigned", None),  # not a change of state
        (days(5), "declare_eligible", "eligible"),
    ])
    second = f.make_application(call, f.make_organisation(), S.ELIGIBLE)
    journey(second, [
        (days(0), "create", "draft"),
        (days(4), "submit", "submitted"),
        (days(6), "request_changes", "changes_requested"),
        (days(7.5), "submit", "submitted"),  # a second stay in "submitted"
        (days(8.5), "declare_eligible", "eligible"),
    ])
    other_call = f.make_call()
    elsewhere = f.make_application(other_call, f.make_organisation(), S.SUBMITTED)
    journey(elsewhere, [(days(0), "create", "draft"), (days(30), "submit", "submitted")])

    durations = {item.state: item for item in figures.stage_durations(call_scope(call))}
    assert list(durations) == [S.DRAFT, S.SUBMITTED, S.CHANGES_REQUESTED, S.ELIGIBLE]
    draft = durations[S.DRAFT]  # 2 and 4 days
    assert (draft.stays, draft.median_days, draft.mean_days, draft.ongoing) == (
        2, Decimal("3.0"), Decimal("3.0"), 0)
    submitted = durations[S.SUBMITTED]  # 3, then 2 and 1 day
    assert (submitted.stays, submitted.median_days, submitted.mean_days) == (
        3, Decimal("2.0"), Decimal("2.0"))
    changes = durations[S.CHANGES_REQUESTED]  # a day and a half
    assert (changes.stays, changes.median_days, changes.mean_days) == (
        1, Decimal("1.5"), Decimal("1.5"))
    eligible = durations[S.ELIGIBLE]  # both still there: not counted, said apart
    assert (eligible.stays, eligible.median_days, eligible.ongoing) == (0, None, 2)

    # The funnel counts a dossier once per stage, however many times it entered it.
    reached = {stage.state: stage.reached for stage in figures.funnel(call_scope(call))}
    assert reached[S.SUBMITTED] == 2 and reached[S.ELIGIBLE] == 2 and reached[S.REVIEWED] == 0

    across = {item.state: item for item in figures.stage_durations(years_scope())}
    assert across[S.DRAFT].stays == 3 and across[S.DRAFT].median_days == Decimal("4.0")
    assert across[S.SUBMITTED].ongoing == 1


# --- charts -----------------------------------------------------------------------------------


def test_charts_are_inline_svg_with_no_script_and_no_outside_reference(demo, client):
    login(client, "chargee-dcol@demo.dcol.fr", DEMO_PASSWORD)
    dcol12 = db.session.scalar(sa.select(Call).where(Call.code == "DCOL12"))
    for url in ("/pilotage", f"/pilotage/appels/{dcol12.id}"):
        page = client.get(url).get_data(as_text=True)
        charts = re.findall(r"<svg\b.*?</svg>", page, flags=re.S)
        assert len(charts) == 8, url  # states, funnel, 4 breakdowns, envelopes, durations
        for svg in charts:
            assert "<script" not in svg
            assert "<!--" not in svg
            assert set(re.findall(r"https?://[^\s\"'<>)]*", svg)) == {SVG_NAMESPACE}
            assert re.search(r'<svg [^>]*role="img"', svg)
            assert re.search(r'<svg [^>]*aria-label="[^"]+"', svg)
            assert "<?xml" not in svg
        # Each chart's figures are in a table too.
        assert page.count('<details class="chart-figures"') == 8
    assert "Dossiers déposés par thème" in page
    assert "Médiane" in page and "Aucune donnée" not in page


def test_a_call_without_dossiers_shows_its_empty_figures_without_charts(app, client):
    manager = f.make_user(Role.MANAGER)
    call = f.make_call()
    db.session.commit()
    login(client, manager.email)
    page = client.get(f"/pilotage/appels/{call.id}").get_data(as_text=True)
    assert "<svg" not in page
    assert "Aucun dossier déposé." in page
    assert "Aucune enveloppe n'est définie." in page


# --- who sees what ----------------------------------------------------------------------------


@pytest.fixture
def two_calls(app):
    """Call A (a reviewer and a committee member work on it) and call B, with envelopes of
    amounts found nowhere else."""
    call_a = f.make_call(code="APPELA")
    call_b = f.make_call(code="APPELB")
    call_a.envelopes.append(Envelope(amount=Decimal("123456.00")))
    call_b.envelopes.append(Envelope(amount=Decimal("654321.00")))
    org = f.make_organisation()
    application = f.make_application(call_a, org, S.IN_PROGRESS, first_submitted_at=utcnow())
    f.make_application(call_b, f.make_organisation(), S.IN_PROGRESS, first_submitted_at=utcnow())
    reviewer = f.make_user(Role.REVIEWER)
    f.assign_reviewer(application, reviewer)
    committee = f.make_user(Role.COMMITTEE)
    f.seat_on_committee(call_a, committee)
    users = {
        "manager": f.make_user(Role.MANAGER),
        "admin": f.make_user(Role.ADMIN),
        "reviewer": reviewer,
        "committee": committee,
        "collectivite": f.make_user(Role.APPLICANT, organisation=org, signatory=True),
        "expert": f.make_expert_user(),
        "other_reviewer": f.make_user(Role.REVIEWER),
    }
    db.session.commit()
    return call_a.id, call_b.id, {name: user.email for name, user in users.items()}


@pytest.mark.parametrize(("who", "index", "call_a", "call_b"), [
    ("manager", 200, 200, 200),
    ("admin", 200, 200, 200),
    ("reviewer", 404, 200, 404),
    ("committee", 404, 200, 404),
    ("other_reviewer", 404, 404, 404),
    ("collectivite", 404, 404, 404),
    ("expert", 404, 404, 404),
])
def test_who_sees_which_dashboard(two_calls, client, who, index, call_a, call_b):
    call_a_id, call_b_id, emails = two_calls
    login(client, emails[who])
    assert client.get("/pilotage").status_code == index
    assert client.get("/pilotage?annee=2026").status_code == index
    assert client.get(f"/pilotage/appels/{call_a_id}").status_code == call_a
    assert client.get(f"/pilotage/appels/{call_b_id}").status_code == call_b


def test_anonymous_visitors_are_sent_to_the_sign_in_page(two_calls, client):
    call_a_id, _call_b, _emails = two_calls
    for url in ("/pilotage", f"/pilotage/appels/{call_a_id}"):
        response = client.get(url)
        assert response.status_code == 302 and "/connexion" in response.headers["Location"]


def test_a_reviewer_sees_no_money_but_their_calls(two_calls, client):
    call_a_id, call_b_id, emails = two_calls
    login(client, emails["reviewer"])
    page = client.get(f"/pilotage/appels/{call_a_id}").get_data(as_text=True)
    assert "123\u202f456,00\xa0€" in page  # their call's envelope
    assert "654\u202f321" not in page and "APPELB" not in page
    # The follow-up of the supports and the page across calls are for CUF's overseers.
    assert 'id="missions"' not in page
    assert 'href="/pilotage"' not in page

    client.post("/deconnexion")
    login(client, emails["manager"])
    page = client.get(f"/pilotage/appels/{call_a_id}").get_data(as_text=True)
    assert 'id="missions"' in page and 'href="/pilotage"' in page


def test_missing_call_is_404(two_calls, client):
    _a, _b, emails = two_calls
    login(client, emails["manager"])
    assert client.get("/pilotage/appels/999999").status_code == 404


# --- a fixed number of queries ------------------------------------------------------------------


def add_dossiers(call: Call, count: int, funder: Funder) -> None:
    """``count`` running supports with everything the pages read: organisation, track, themes,
    countries, transitions in the audit trail, mission and expert, open alerts."""
    states = [S.IN_PROGRESS, S.DRAFT, S.CLOSED, S.SUBMITTED, S.FINAL_REPORT, S.REJECTED]
    for index in range(count):
        state = states[index % len(states)]
        kind = list(OrganisationKind)[index % len(OrganisationKind)]
        org = f.make_organisation(kind=kind, region=f"Région {index}")
        application = f.make_application(
            call, org, state, themes=["climate", "culture"], countries=["SN", f"M{index % 9}"],
            first_submitted_at=None if state is S.DRAFT else utcnow())
        moment = utcnow() - timedelta(days=40)
        previous = None
        for step, to_state in enumerate(("draft", "submitted", state.value)):
            audit.record(application_id=application.id, actor=None, event=f"step{step}",
                         occurred_at=moment + timedelta(days=step * 3), from_state=previous,
                         to_state=to_state)
            previous = to_state
        if state in SIGNED:
            f.make_mission(application, f.make_expert(f"Cabinet {call.code} {index}"))
            db.session.add(Alert(application=application, kind=AlertKind.NO_REPORT,
                                 key=f"no_report:{index}", detail="Aucun rapport.",
                                 raised_at=utcnow()))
    db.session.commit()


def test_the_pages_load_in_a_fixed_number_of_queries(app, client):
    manager = f.make_user(Role.MANAGER)
    funder = Funder(code="AFD", name="Agence française de développement")
    dcol, aap = f.make_call(code="DCOLQ"), f.make_call(CallKind.AAP, code="AAPQ")
    for call in (dcol, aap):
        call.envelopes.extend([Envelope(amount=Decimal("50000.00")),
                               Envelope(amount=Decimal("20000.00"), funder=funder)])
    db.session.commit()
    login(client, manager.email)

    add_dossiers(dcol, 3, funder)
    add_dossiers(aap, 2, funder)
    urls = ("/pilotage", "/pilotage?annee=2026", f"/pilotage/appels/{dcol.id}")
    few = [count_queries(client, url) for url in urls]

    add_dossiers(dcol, 12, funder)
    add_dossiers(aap, 9, funder)
    many = [count_queries(client, url) for url in urls]

    assert many == few
    assert db.session.scalar(sa.select(sa.func.count(Application.id))) == 26
    assert db.session.scalar(sa.select(sa.func.count(User.id))) >= 1
