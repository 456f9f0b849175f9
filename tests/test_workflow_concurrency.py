"""Concurrent fires on PostgreSQL: exactly one of two identical events wins; concurrent selections
never overcommit the envelope."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa

from dcol.extensions import db
from dcol.models import Application, ApplicationState, AuditEvent, CallKind, User
from tests import workflow_support as ws
from workflows import engine

pytestmark = pytest.mark.postgres
S = ApplicationState


def race(app, jobs):
    """Run each job (application id, event, actor id, comment) in its own thread and session,
    all firing at the same moment; return each outcome ("ok" or the error's class name)."""
    barrier = threading.Barrier(len(jobs))
    outcomes = [None] * len(jobs)

    def run(index, application_id, event, actor_id, comment):
        with app.app_context():
            application = db.session.get(Application, application_id)
            actor = db.session.get(User, actor_id)
            version = application.version
            barrier.wait()
            try:
                engine.fire(application, event, actor, comment=comment, expected_version=version)
                outcomes[index] = "ok"
            except engine.WorkflowError as error:
                outcomes[index] = type(error).__name__
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, *job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def test_two_concurrent_fires_of_the_same_event_one_wins(app):
    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    ws.drive_to(application, cast, S.SUBMITTED)
    db.session.commit()
    job = (application.id, "declare_eligible", cast.manager.id, "")
    for round_number in range(1, 6):  # a race is a race: run it a few times
        outcomes = race(app, [job, job])
        assert sorted(outcomes) == ["StaleVersion", "ok"]
        db.session.expire_all()
        assert application.state is S.ELIGIBLE
        entries = db.session.scalars(sa.select(AuditEvent.event).where(
            AuditEvent.application_id == application.id)).all()
        assert entries.count("declare_eligible") == round_number  # one per round
        # back to submitted for the next round
        ws.fire_step(application, cast, "request_changes")
        ws.fire_step(application, cast, "submit")
        db.session.commit()


def test_concurrent_selections_never_overcommit_the_envelope(app):
    call = ws.make_call_for(CallKind.DCOL, envelope=Decimal("15000.00"))
    cast = ws.make_cast(call)
    dossiers = [ws.complete_dossier(call, cast) for _ in range(3)]
    for application in dossiers:
        ws.drive_to(application, cast, S.REVIEWED)
    db.session.commit()
    outcomes = race(app, [(a.id, "select", cast.committee.id, "") for a in dossiers])
    assert sorted(outcomes) == ["GuardsFailed", "GuardsFailed", "ok"]
    db.session.expire_all()
    selected = [a for a in dossiers if a.state is S.SELECTED]
    assert len(selected) == 1
    assert sum(a.estimated_cofinancing for a in selected) <= Decimal("15000.00")


def test_concurrent_selections_never_overcommit_a_funders_envelope(app):
    """The call as a whole has room for both, the AFD's envelope for one only."""
    from dcol.models import CofinancingShare, Envelope, Funder

    call = ws.make_call_for(CallKind.DCOL, envelope=Decimal("100000.00"))
    afd = Funder(code="AFD-RACE", name="Agence française de développement")
    call.cofinancing_rules[0].funder_split = [{"funder": "AFD-RACE", "percent": "100"}]
    call.envelopes.append(Envelope(funder=afd, amount=Decimal("15000.00")))
    cast = ws.make_cast(call)
    dossiers = [ws.complete_dossier(call, cast) for _ in range(2)]
    for application in dossiers:
        ws.drive_to(application, cast, S.REVIEWED)  # deposited: AFD carries 10 000 of each
    db.session.commit()
    outcomes = race(app, [(a.id, "select", cast.committee.id, "") for a in dossiers])
    assert sorted(outcomes) == ["GuardsFailed", "ok"]
    db.session.expire_all()
    selected = [a for a in dossiers if a.state is S.SELECTED]
    assert len(selected) == 1
    afd_shares = db.session.scalars(sa.select(CofinancingShare.amount).where(
        CofinancingShare.funder_id == afd.id)).all()
    assert afd_shares == [Decimal("10000.00")] * 2  # each estimate, one of them engaged


def test_a_concurrent_amendment_and_selection_never_overcommit_the_envelope(app):
    """A mission under way asks for more (an amendment) while the committee selects another
    dossier: the envelope has room for one of them; whichever comes second is refused."""
    from dcol.finance import agreements as ag
    from dcol.finance.envelopes import engaged_cofinancing

    call = ws.make_call_for(CallKind.DCOL, envelope=Decimal("25000.00"))
    cast = ws.make_cast(call)
    running, candidate = ws.complete_dossier(call, cast), ws.complete_dossier(call, cast)
    ws.drive_to(running, cast, S.AGREEMENT)
    terms = ag.AgreementTerms(days=Decimal("12.5"), daily_rate=Decimal("1000.00"))
    agreement = ag.prepare_agreement(running, cast.manager, terms)  # 12 500 → 10 000
    for user in (cast.signatory, cast.expert_user, cast.manager):
        ag.sign(agreement, user, ag.SignatureRequest(
            user.full_name, "Signataire", "127.0.0.1", agreement.document_sha256, True))
    ws.drive_to(candidate, cast, S.REVIEWED)  # its estimate: 10 000
    db.session.commit()
    assert running.state is S.IN_PROGRESS
    barrier, outcomes = threading.Barrier(2), [None, None]

    def amend():
        with app.app_context():
            application = db.session.get(Application, running.id)
            manager = db.session.get(User, cast.manager.id)
            more = ag.AgreementTerms(days=Decimal("20"), daily_rate=Decimal("1000.00"))
            barrier.wait()
            try:
                ag.prepare_agreement(application, manager, more, "Mission de terrain")
                db.session.commit()
                outcomes[0] = "ok"
            except engine.WorkflowError as error:
                db.session.rollback()
                outcomes[0] = type(error).__name__
            finally:
                db.session.remove()

    def select():
        with app.app_context():
            application = db.session.get(Application, candidate.id)
            committee = db.session.get(User, cast.committee.id)
            barrier.wait()
            try:
                engine.fire(application, "select", committee)
                outcomes[1] = "ok"
            except engine.WorkflowError as error:
                outcomes[1] = type(error).__name__
            finally:
                db.session.remove()

    threads = [threading.Thread(target=amend), threading.Thread(target=select)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["GuardsFailed", "ok"]
    db.session.expire_all()
    assert engaged_cofinancing(call.id) <= Decimal("25000.00")
