"""The demonstration data: idempotent, true to the story, and usable by every demo account."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from stdnum.fr import siren

from dcol.accounts.services import authenticate
from dcol.demo import ACCOUNTS, DEMO_ACCOUNTS, DEMO_PASSWORD, TODAY, seed_demo
from dcol.extensions import db
from dcol.finance.payments import EXPERT_KINDS, payments_of
from dcol.models import (
    Application,
    ApplicationState,
    AuditEvent,
    Base,
    Call,
    CallKind,
    DeliverableState,
    MembershipStatus,
    Mission,
    MissionProposal,
    Organisation,
    PaymentKind,
    PaymentStatus,
    ProposalStatus,
    Role,
    SnapshotKind,
    User,
)

PARIS = ZoneInfo("Europe/Paris")


def seed() -> str:
    """Seed and commit as ``flask seed-demo`` does, then forget every loaded object."""
    summary = seed_demo()
    db.session.commit()
    db.session.remove()
    return summary


def snapshot() -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table, column by column, sorted: equal snapshots, equal data."""
    return {
        table.name: sorted(
            tuple(repr(value) for value in row) for row in db.session.execute(sa.select(table))
        )
        for table in Base.metadata.sorted_tables
    }


def test_seeding_twice_leaves_exactly_the_same_data(app):
    first_summary = seed()
    first = snapshot()
    for table in (
        "organisations",
        "users",
        "experts",
        "calls",
        "applications",
        "reviews",
        "missions",
        "mission_reports",
        "committee_sessions",
        "mission_proposals",
    ):
        assert first[table], f"the demo seeds no {table}"

    second_summary = seed()
    second = snapshot()

    assert {name: len(rows) for name, rows in second.items()} == {
        name: len(rows) for name, rows in first.items()
    }
    for name in first:
        assert second[name] == first[name], f"{name} changed on the second run"
    assert second_summary == first_summary


EXPECTED_ON_HOME = {
    "applicant": ["DCOL13-0009", "AAP26-ISERE-0001"],
    "reviewer": ["DCOL13-0005", "Évaluation à rédiger", "DCOL13-0006", "absence de conflit"],
    "committee": ["Comité de sélection DCOL 13 — 2e session"],
    "manager": [
        "1 dossier déposé dont la recevabilité est à vérifier",
        "1 rapport final à valider avant clôture",
        "1 organisation à valider",
    ],
    "expert": ["DCOL13-0003", "Proposition de mission à examiner", "DCOL12-0002"],
    "admin": ["1 compte de collectivité à valider"],
}


@pytest.mark.parametrize(("role", "email", "full_name"), DEMO_ACCOUNTS)
def test_demo_account_logs_in_and_lands_on_its_home_page(app, client, role, email, full_name):
    seed()

    response = client.post("/connexion", data={"email": email, "password": DEMO_PASSWORD})

    assert response.status_code == 302
    assert urlparse(response.headers["Location"]).path == "/"
    page = client.get("/").get_data(as_text=True)
    assert full_name in page
    assert f'data-role="{role}"' in page
    for text in EXPECTED_ON_HOME[role]:
        assert text in page


def test_demo_accounts_cover_every_role_once():
    assert sorted(role for role, _, _ in DEMO_ACCOUNTS) == sorted(role.value for role in Role)
    declared = {spec["email"]: spec for spec in ACCOUNTS}
    for role, email, full_name in DEMO_ACCOUNTS:
        assert declared[email]["name"] == full_name
        assert declared[email]["roles"] == [Role(role)]


def test_every_seeded_account_opens_with_the_demo_password(app):
    seed()
    for spec in ACCOUNTS:
        assert authenticate(spec["email"], DEMO_PASSWORD) is not None, spec["email"]


def test_pending_member_is_told_to_wait(app, client):
    seed()
    pending = db.session.scalar(
        sa.select(User).where(
            User.membership_status == MembershipStatus.PENDING, User.is_signatory.is_(True)
        )
    )
    client.post("/connexion", data={"email": pending.email, "password": DEMO_PASSWORD})
    assert "en attente de validation" in client.get("/").get_data(as_text=True)


def test_every_organisation_has_a_valid_siren(app):
    seed()
    sirens = db.session.scalars(sa.select(Organisation.siren)).all()
    assert len(sirens) >= 12
    assert [number for number in sirens if not siren.is_valid(number)] == []


def test_demo_is_never_loaded_into_a_real_database(app):
    from tests.factories import make_user

    make_user(Role.ADMIN, email="admin@cites-unies-france.org")
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0 and "pas ceux de la démonstration" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) == 0


def test_demo_water_consultancy_is_in_the_pool(app):
    from dcol.models import Expert, Theme

    seed()
    coop_eau = db.session.scalar(sa.select(Expert).where(Expert.name == "Coop'Eau Conseil"))
    assert Theme.WATER_SANITATION.value in coop_eau.skills


def test_demo_covers_the_calls_and_collectivites_of_the_story(app):
    seed()
    calls = {call.code: call for call in db.session.scalars(sa.select(Call))}
    assert {"DCOL11", "DCOL12", "DCOL13", "AAP26-ISERE"} <= set(calls)
    assert calls["AAP26-ISERE"].kind is CallKind.AAP
    assert [track.code for track in calls["AAP26-ISERE"].tracks] == ["culture", "ecsi"]
    assert [track.code for track in calls["DCOL13"].tracks] == ["strategy", "project", "climate"]
    assert calls["DCOL11"].closes_at == datetime(2024, 12, 3, 23, 59, tzinfo=PARIS)

    noon = datetime.combine(TODAY, time(12), tzinfo=PARIS)
    assert [code for code, call in sorted(calls.items()) if call.is_open(noon)] == ["DCOL13"]

    names = set(db.session.scalars(sa.select(Organisation.name)))
    assert {
        "Syndicat mixte Fensch Lorraine",
        "Ville de Gennevilliers",
        "Commune de Thorey-Lyautey",
        "Région Réunion",
        "Ville de Marseille",
        "Ville de Grenoble",
    } <= names

    supports = db.session.execute(
        sa.select(Organisation.name, Application.state)
        .join(Application.organisation)
        .join(Application.call)
        .where(Call.code == "DCOL12", Application.state != ApplicationState.REJECTED)
    ).all()
    assert sorted(supports) == [
        ("Commune de Thorey-Lyautey", ApplicationState.IN_PROGRESS),
        ("Région Réunion", ApplicationState.FINAL_REPORT),
        ("Ville de Gennevilliers", ApplicationState.IN_PROGRESS),
        ("Ville de Grenoble", ApplicationState.IN_PROGRESS),
        ("Ville de Marseille", ApplicationState.IN_PROGRESS),
    ]


def test_dossier_numbers_and_cofinancing_follow_the_call_rules(app):
    seed()
    for call in db.session.scalars(sa.select(Call)):
        dossiers = db.session.scalars(sa.select(Application).where(Application.call == call)).all()
        assert call.last_number == max(dossier.number for dossier in dossiers)
        for dossier in dossiers:
            assert dossier.reference == f"{call.code}-{dossier.number:04d}"
            if call.kind is CallKind.DCOL and dossier.estimated_cost is not None:
                expected = (dossier.estimated_cost * Decimal("0.80")).quantize(
                    Decimal("0.01"), rounding=ROUND_HALF_UP
                )
                assert dossier.estimated_cofinancing == expected, dossier.reference
            mission = db.session.scalar(sa.select(Mission).filter_by(application_id=dossier.id))
            if mission is not None and mission.expert_id is not None:
                days_cost = mission.contracted_days * mission.daily_rate + mission.travel_costs
                assert dossier.estimated_cost == days_cost, dossier.reference
            if call.kind is CallKind.AAP:
                assert dossier.estimated_cofinancing <= Decimal("15000.00")
                assert dossier.estimated_cofinancing == dossier.requested_amount


def test_demo_expert_has_a_pending_proposal(app):
    seed()
    expert = db.session.scalar(sa.select(User).where(User.email == "expert@demo.dcol.fr"))
    proposal = db.session.scalar(
        sa.select(MissionProposal).where(MissionProposal.expert_id == expert.expert_id)
    )
    assert proposal.status is ProposalStatus.PENDING
    assert proposal.application.state is ApplicationState.EXPERT_PROPOSED


def test_reseeding_restores_reference_data_but_keeps_what_happened_to_dossiers(app):
    seed()
    dossier = db.session.scalar(sa.select(Application).filter_by(reference="DCOL13-0008"))
    dossier.state = ApplicationState.ELIGIBLE  # as the workflow would, during a demonstration
    camille = db.session.scalar(sa.select(User).filter_by(email="collectivite@demo.dcol.fr"))
    camille.full_name = "Camille Renommée"
    db.session.commit()

    seed()

    dossier = db.session.scalar(sa.select(Application).filter_by(reference="DCOL13-0008"))
    assert dossier.state is ApplicationState.ELIGIBLE
    camille = db.session.scalar(sa.select(User).filter_by(email="collectivite@demo.dcol.fr"))
    assert camille.full_name == "Camille Martin"


def test_demo_dossiers_have_an_intact_audit_trail_leading_to_their_state(app):
    from dcol.audit import verify_all
    from dcol.demo import seed_demo

    seed_demo()
    db.session.commit()
    count, problems = verify_all()
    assert problems == []
    assert count > 19  # every dossier at least has its creation


# --- supports past the agreement ---------------------------------------------------------------

SIGNED_STATES = (ApplicationState.IN_PROGRESS, ApplicationState.FINAL_REPORT,
                 ApplicationState.CLOSED)


def dossiers_in(*states: ApplicationState) -> list[Application]:
    return list(db.session.scalars(
        sa.select(Application).where(Application.state.in_(states)).order_by(Application.id)))


def test_every_support_under_way_or_further_has_its_signed_agreement(app):
    from dcol.finance import agreements as ag
    from tests.pdf_support import document_text

    seed()
    supports = dossiers_in(*SIGNED_STATES)
    assert {support.state for support in supports} == set(SIGNED_STATES)
    for support in supports:
        agreement = ag.signed_agreement(support)
        assert agreement is not None and agreement.version == 1, support.reference
        assert ag.missing_parties(agreement) == [], support.reference
        assert agreement.snapshot.kind is SnapshotKind.AGREEMENT and agreement.snapshot.is_locked
        assert agreement.document.sha256 == agreement.document_sha256
        assert support.reference in document_text(agreement.document), support.reference
        assert [p for p in payments_of(support) if p.status is not PaymentStatus.CANCELLED]


def test_supports_past_the_agreement_were_signed_in_their_past_and_tell_it_in_order(app):
    from dcol.finance import agreements as ag

    seed()
    supports = dossiers_in(ApplicationState.FINAL_REPORT, ApplicationState.CLOSED)
    assert supports
    for support in supports:
        agreement = ag.signed_agreement(support)
        mission = db.session.scalar(sa.select(Mission).filter_by(application_id=support.id))
        signed_on = agreement.signed_at.astimezone(PARIS).date()
        # Signed by every party in the days before the mission's first day.
        assert mission.starts_on - timedelta(days=14) <= signed_on <= mission.starts_on
        assert agreement.created_at < min(s.signed_at for s in agreement.signatures)
        assert max(s.signed_at for s in agreement.signatures) == agreement.signed_at
        # The mission holds the agreement's terms, and its advance was paid during it.
        assert (mission.starts_on.isoformat(), mission.ends_on.isoformat()) == (
            agreement.terms["starts_on"], agreement.terms["ends_on"])
        advance = next(p for p in payments_of(support)
                       if p.kind in {PaymentKind.EXPERT_ADVANCE, PaymentKind.GRANT_ADVANCE})
        assert advance.status is PaymentStatus.PAID
        assert agreement.signed_at < advance.paid_at < datetime.combine(TODAY, time(), PARIS)
        # The trail reads in order: the agreement between the mission's acceptance and its
        # start, the payments, the final report, the closure (the follow-up alerts are raised
        # at the real time of seeding).
        entries = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.application_id == support.id, AuditEvent.event.not_like("alert.%"))
            .order_by(AuditEvent.sequence)).all()
        moments = [entry.occurred_at for entry in entries]
        assert moments == sorted(moments), support.reference
        events = [entry.event for entry in entries]
        assert events.index("agreement.prepared") < events.index("agreement.in_force") < \
            events.index("start") < events.index("payment.paid") < \
            events.index("submit_final_report")
        assert entries[events.index("start")].occurred_at == agreement.signed_at
        assert entries[-1].occurred_at.astimezone(PARIS).date() <= TODAY


def test_closed_supports_have_their_final_cofinancing_and_closure_report(app):
    from dcol.finance import agreements as ag
    from dcol.missions import closure
    from tests.pdf_support import document_text

    seed()
    supports = dossiers_in(ApplicationState.CLOSED)
    assert supports
    for support in supports:
        committed = ag.signed_agreement(support).snapshot
        final = closure.final_snapshot(support)
        assert final is not None and final.is_locked, support.reference
        assert final.computed_at == support.closed_at
        assert final.rule_id == committed.rule_id
        assert Decimal("0") < final.scheme_share <= committed.scheme_share
        # The closure's prerequisites: the deliverables validated, the questionnaire answered.
        mission = db.session.scalar(sa.select(Mission).filter_by(application_id=support.id))
        assert {d.state for d in mission.deliverables} == {DeliverableState.VALIDATED}
        assert closure.satisfaction_of(support) is not None
        # The balances followed the final cofinancing, and were paid.
        live = [p for p in payments_of(support) if p.status is not PaymentStatus.CANCELLED]
        assert {p.status for p in live} == {PaymentStatus.PAID}
        assert sum(p.scheme_part for p in live) == final.scheme_share
        if support.call.kind is CallKind.DCOL:  # CUF pays the expert, the collectivité its part
            assert sum(p.amount for p in live if p.kind in EXPERT_KINDS) == final.total_cost
            assert sum(p.amount for p in live
                       if p.kind is PaymentKind.APPLICANT_CONTRIBUTION) == final.applicant_share
        report = closure.closure_report_of(support)
        assert report is not None and report.uploaded_at == support.closed_at
        text = document_text(report)
        assert "Bilan de clôture" in text and support.reference in text
        assert "Convention en vigueur (version 1)" in text
        assert text.count("Clôturé") == 1  # the closure once in its timeline


def test_closed_supports_are_committed_on_their_calls_envelopes(app):
    from dcol.finance import agreements as ag
    from dcol.finance.envelopes import call_envelopes
    from dcol.missions import closure

    seed()
    closed_calls = {support.call for support in dossiers_in(ApplicationState.CLOSED)}
    assert closed_calls
    for call in closed_calls:
        expected = Decimal("0.00")
        for support in dossiers_in(*SIGNED_STATES):
            if support.call_id != call.id:
                continue
            if support.state is ApplicationState.CLOSED:
                expected += closure.final_snapshot(support).scheme_share
            else:
                expected += ag.signed_agreement(support).snapshot.scheme_share
        whole = next(line for line in call_envelopes(call) if line.funder is None)
        assert whole.committed == expected > 0
        assert whole.paid > 0
