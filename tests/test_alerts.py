"""Follow-up alerts (``dcol.missions.alerts``, run by ``workflow tick``): each fires exactly when its
condition holds, once (with its mails), is resolved when the condition clears, and is not raised
again after that; a new situation raises a new alert."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import sqlalchemy as sa

from dcol.extensions import db
from dcol.finance import agreements as ag
from dcol.i18n import PARIS
from dcol.missions import plan
from dcol.missions.alerts import check_alerts, open_alerts
from dcol.models import (
    Alert,
    AlertKind,
    ApplicationState,
    AuditEvent,
    CallKind,
    OutgoingMail,
    utcnow,
)
from tests import follow_up_support as fs
from tests import workflow_support as ws
from workflows.guards import mission_of

S = ApplicationState


def on(day, hour: int = 9) -> datetime:
    """A moment of ``day`` in Paris."""
    return datetime.combine(day, time(hour), tzinfo=PARIS)


def alerts(application) -> list[tuple[AlertKind, bool]]:
    db.session.expire_all()
    return [(alert.kind, alert.resolved_at is None) for alert in db.session.scalars(
        sa.select(Alert).where(Alert.application_id == application.id).order_by(Alert.id))]


def mails_about(kind_subject: str) -> list[str]:
    return list(db.session.scalars(sa.select(OutgoingMail.to_address).where(
        OutgoingMail.subject.contains(kind_subject))))


def tick(now) -> int:
    raised = check_alerts(now)
    db.session.commit()
    return raised


def quiet_plan(application) -> None:
    """Every milestone done, to watch the other alerts alone."""
    for milestone in mission_of(application).milestones:
        milestone.done_on = fs.STARTS_ON
    db.session.commit()


@pytest.fixture
def support(app):
    return fs.running_support(CallKind.DCOL)


def test_days_beyond_the_contract_alert_once_until_an_amendment(support):
    call, cast, application = support
    quiet_plan(application)
    today = fs.STARTS_ON + timedelta(weeks=4)
    fs.report(application, cast.expert_user, "10", on=today - timedelta(days=1))
    assert tick(on(today)) == 0  # exactly the contracted days: no alert
    fs.report(application, cast.expert_user, "0.5", on=today)
    assert tick(on(today)) == 1
    assert alerts(application) == [(AlertKind.DAYS_EXCEEDED, True)]
    alert = open_alerts(application)[0]
    assert alert.detail == "10,5 jours consignés pour 10 contractualisés"
    sent = mails_about("jours contractualisés dépassés")
    assert sorted(sent) == sorted([cast.manager.email, cast.expert_user.email])
    assert tick(on(today + timedelta(days=1))) == 0  # once
    assert len(mails_about("jours contractualisés dépassés")) == 2
    # An amendment to 12 days resolves it, and it is not raised again.
    amendment = ag.prepare_agreement(application, cast.manager,
                                     ag.AgreementTerms(**{**fs.TERMS.__dict__, "days": 12}),
                                     "Deux jours de restitution supplémentaires.")
    db.session.commit()
    fs.sign_every_party(amendment, cast)
    tick(on(today + timedelta(days=2)))
    assert alerts(application) == [(AlertKind.DAYS_EXCEEDED, False)]
    assert tick(on(today + timedelta(days=3))) == 0
    # Beyond the new contract: a new situation, a new alert.
    fs.report(application, cast.expert_user, "2", on=today + timedelta(days=3))
    assert tick(on(today + timedelta(days=3))) == 1
    assert alerts(application) == [(AlertKind.DAYS_EXCEEDED, False), (AlertKind.DAYS_EXCEEDED, True)]


def test_a_late_milestone_alerts_from_the_day_after_its_date(support):
    call, cast, application = support
    fs.report(application, cast.expert_user, "1", on=fs.STARTS_ON + timedelta(days=1))
    scoping = mission_of(application).milestones[0]
    due = scoping.due_on
    assert tick(on(due, 20)) == 0  # due today: not late yet
    assert tick(on(due + timedelta(days=1))) == 1
    assert open_alerts(application)[0].kind is AlertKind.MILESTONE_LATE
    assert scoping.label in open_alerts(application)[0].detail
    assert tick(on(due + timedelta(days=2))) == 0
    # Marked done: resolved, and never raised again for it.
    milestones = mission_of(application).milestones
    entries = [plan.MilestoneEntry(m.phase, m.label, m.due_on, m.done_on, m.id) for m in milestones]
    entries[0] = plan.MilestoneEntry(scoping.phase, scoping.label, due, due, scoping.id)
    plan.amend_plan(application, cast.expert_user, entries, "Cadrage tenu.",
                    now=on(due + timedelta(days=3)))
    db.session.commit()
    assert tick(on(due + timedelta(days=3))) == 0
    assert alerts(application) == [(AlertKind.MILESTONE_LATE, False)]
    assert tick(on(due + timedelta(days=4))) == 0
    resolved = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.event == "alert.resolved")).one()
    assert resolved.payload["kind"] == "milestone_late"


def test_no_report_alerts_after_the_calls_number_of_weeks(support):
    call, cast, application = support
    call.report_every_weeks = 3
    db.session.commit()
    quiet_plan(application)
    # Signed today (in Paris), after the planned start: counted from the signature.
    start = utcnow().astimezone(PARIS).date()
    assert tick(on(start + timedelta(weeks=3) - timedelta(days=1))) == 0
    assert tick(on(start + timedelta(weeks=3))) == 1
    assert open_alerts(application)[0].kind is AlertKind.NO_REPORT
    assert tick(on(start + timedelta(weeks=3, days=1))) == 0
    # A report resolves it; three weeks after that report, a new alert.
    reported = start + timedelta(weeks=3, days=2)
    fs.report(application, cast.expert_user, "1", on=reported, now=on(reported, 18))
    assert tick(on(reported, 19)) == 0
    assert alerts(application) == [(AlertKind.NO_REPORT, False)]
    assert tick(on(reported + timedelta(weeks=3) - timedelta(days=1))) == 0
    assert tick(on(reported + timedelta(weeks=3))) == 1
    assert alerts(application) == [(AlertKind.NO_REPORT, False), (AlertKind.NO_REPORT, True)]


def test_an_agreement_unsigned_too_long(app):
    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    ws.drive_to(application, cast, S.AGREEMENT)
    db.session.commit()
    agreement = ag.prepare_agreement(application, cast.manager, fs.TERMS)
    db.session.commit()
    issued = agreement.created_at
    assert tick(issued + timedelta(days=30) - timedelta(minutes=1)) == 0
    assert tick(issued + timedelta(days=30)) == 1
    alert = open_alerts(application)[0]
    assert alert.kind is AlertKind.AGREEMENT_UNSIGNED and "version 1" in alert.detail
    sent = mails_about("convention non signée")
    assert cast.signatory.email in sent and cast.manager.email in sent
    assert tick(issued + timedelta(days=31)) == 0
    fs.sign_every_party(agreement, cast)  # the last signature resolves it at once
    assert application.state is S.IN_PROGRESS
    assert alerts(application) == [(AlertKind.AGREEMENT_UNSIGNED, False)]
    tick(issued + timedelta(days=32))
    assert [kind for kind, _ in alerts(application)].count(AlertKind.AGREEMENT_UNSIGNED) == 1
    assert len(mails_about("convention non signée")) == len(sent)


def test_tick_raises_the_alerts_and_mails_them_once(app, support, smtp_server):
    call, cast, application = support
    fs.report(application, cast.expert_user, "11", on=fs.STARTS_ON + timedelta(days=5))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["workflow", "tick"])
    assert result.exit_code == 0, result.output
    assert "alerte(s) levée(s)" in result.output
    subjects = [message["Subject"] for message in smtp_server.messages]
    assert sum("jours contractualisés dépassés" in s for s in subjects) == 2
    alert_mail = next(m for m in smtp_server.messages
                      if "jours contractualisés dépassés" in m["Subject"])
    assert f"/dossiers/{application.id}/suivi" in alert_mail.get_body().get_content()
    runner.invoke(args=["workflow", "tick"])
    subjects = [message["Subject"] for message in smtp_server.messages]
    assert sum("jours contractualisés dépassés" in s for s in subjects) == 2
