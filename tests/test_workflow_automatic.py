"""Automatic transitions: dcol closes the instruction when the last review is in and starts the
mission on the last signature, as itself, within the caller's transaction, and never undoes the
caller's work when it cannot."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from dcol.extensions import db
from dcol.models import (
    Agreement,
    ApplicationState,
    AuditEvent,
    CallKind,
    CofinancingSnapshot,
    OutgoingMail,
    Party,
    Review,
    ReviewState,
    Signature,
    SignatureMethod,
    utcnow,
)
from tests import workflow_support as ws
from workflows import automatic, engine
from workflows.dossier import EVENTS_BY_NAME

S = ApplicationState


@pytest.fixture(params=[CallKind.DCOL, CallKind.AAP], ids=["dcol", "aap"])
def journey(app, request):
    call = ws.make_call_for(request.param)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    db.session.commit()
    return call, cast, application


def entries(application) -> list[AuditEvent]:
    return list(db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.application_id == application.id)
        .order_by(AuditEvent.sequence)))


def submit_review(review: Review) -> None:
    """What the review service (a later issue) writes before calling the hook."""
    review.state, review.submitted_at = ReviewState.SUBMITTED, utcnow()
    db.session.flush()


def reviews_of(application) -> list[Review]:
    return list(db.session.scalars(
        sa.select(Review).where(Review.application_id == application.id).order_by(Review.id)))


# --- complete_review when the last review is in ------------------------------------------------


def test_instruction_closes_when_the_last_review_is_in_and_not_before(journey):
    call, cast, application = journey
    ws.drive_to(application, cast, S.UNDER_REVIEW)
    first, second = reviews_of(application)
    before = len(entries(application))

    submit_review(first)
    assert automatic.after_review_submitted(application) is None
    assert application.state is S.UNDER_REVIEW and len(entries(application)) == before

    submit_review(second)
    entry = automatic.after_review_submitted(application)
    db.session.commit()  # the caller commits: the review and the transition together

    db.session.expire_all()
    assert application.state is S.REVIEWED
    assert (entry.event, entry.from_state, entry.to_state) == (
        "complete_review", "under_review", "reviewed")
    assert entry.actor_id is None  # dcol itself
    assert [e.event for e in entries(application)][-1] == "complete_review"
    assert len(entries(application)) == before + 1
    assert all(review.state is ReviewState.SUBMITTED for review in reviews_of(application))


def test_the_automatic_transition_belongs_to_the_callers_transaction(journey):
    call, cast, application = journey
    ws.drive_to(application, cast, S.UNDER_REVIEW)
    before = len(entries(application))
    for review in reviews_of(application):
        submit_review(review)
    assert automatic.after_review_submitted(application) is not None
    db.session.rollback()  # the caller fails afterwards: the transition goes with its work
    db.session.expire_all()
    assert application.state is S.UNDER_REVIEW and len(entries(application)) == before
    assert {review.state for review in reviews_of(application)} == {ReviewState.DRAFT}


def test_a_transition_without_commit_goes_with_a_caller_that_wrote_nothing_yet(journey):
    """Even first in its transaction (pysqlite sends BEGIN only before a write, and a savepoint
    opened first would commit on release), the transition is undone by the caller's rollback."""
    call, cast, application = journey
    ws.drive_to(application, cast, S.UNDER_REVIEW)
    ws.submit_reviews(application)
    db.session.commit()
    before = len(entries(application))
    engine.fire(application, "complete_review", None, commit=False)
    assert application.state is S.REVIEWED
    db.session.rollback()
    db.session.expire_all()
    assert application.state is S.UNDER_REVIEW and len(entries(application)) == before


def test_hooks_do_nothing_in_other_states(journey):
    call, cast, application = journey
    ws.drive_to(application, cast, S.ELIGIBLE)
    before = len(entries(application))
    assert automatic.after_review_submitted(application) is None
    assert automatic.after_signature(application) is None
    assert application.state is S.ELIGIBLE and len(entries(application)) == before


def test_only_system_events_fire_automatically(journey):
    call, cast, application = journey
    assert {name for name, event in EVENTS_BY_NAME.items() if event.system} == {
        "complete_review", "start"}
    assert automatic.fire_when_ready(application, "submit") is None
    assert application.state is S.DRAFT


# --- start on the last signature ---------------------------------------------------------------


def parties_of(kind: CallKind) -> list[Party]:
    parties = [Party.CUF, Party.APPLICANT]
    return [*parties, Party.EXPERT] if kind is CallKind.DCOL else parties


def sign(agreement: Agreement, party: Party, user) -> None:
    """What the signature service (a later issue) writes before calling the hook."""
    agreement.signatures.append(Signature(
        party=party, method=SignatureMethod.ELECTRONIC, user_id=user.id,
        signer_name=user.full_name, signer_capacity="Signataire", signed_at=utcnow(),
        ip_address="127.0.0.1", document_sha256=agreement.document_sha256,
    ))
    db.session.flush()


def test_mission_starts_on_the_last_signature_and_not_before(journey):
    call, cast, application = journey
    ws.drive_to(application, cast, S.AGREEMENT)
    agreement = ws.sign_agreement(application, cast, parties=[])
    signer = {Party.CUF: cast.manager, Party.APPLICANT: cast.signatory,
              Party.EXPERT: cast.expert_user}
    *first, last = parties_of(call.kind)
    before = len(entries(application))
    for party in first:
        sign(agreement, party, signer[party])
        assert automatic.after_signature(application) is None, party
        assert application.state is S.AGREEMENT
    assert len(entries(application)) == before

    sign(agreement, last, signer[last])
    entry = automatic.after_signature(application)
    db.session.commit()

    db.session.expire_all()
    assert application.state is S.IN_PROGRESS
    assert (entry.event, entry.actor_id) == ("start", None)
    assert len(entries(application)) == before + 1
    assert len(db.session.get(Agreement, agreement.id).signatures) == len(parties_of(call.kind))


def test_mission_does_not_start_while_the_cofinancing_is_not_locked(journey):
    call, cast, application = journey
    ws.drive_to(application, cast, S.AGREEMENT)
    agreement = ws.sign_agreement(application, cast)  # every signature
    db.session.get(CofinancingSnapshot, agreement.snapshot_id).is_locked = False
    db.session.flush()
    assert automatic.after_signature(application) is None
    assert application.state is S.AGREEMENT
    db.session.get(CofinancingSnapshot, agreement.snapshot_id).is_locked = True
    assert automatic.after_signature(application) is not None
    assert application.state is S.IN_PROGRESS


def test_a_late_refusal_keeps_the_callers_work(journey, monkeypatch):
    """The preview passed but the real check refuses (as when a concurrent selection takes the
    envelope meanwhile): the hook does nothing, and the caller's signature stands."""
    call, cast, application = journey
    ws.drive_to(application, cast, S.AGREEMENT)
    *first, last = parties_of(call.kind)
    agreement = ws.sign_agreement(application, cast, parties=first)
    agreement.snapshot.is_locked = False  # what the real check will refuse
    db.session.commit()
    before = len(entries(application))
    sign(agreement, last, cast.expert_user if last is Party.EXPERT else cast.signatory)
    monkeypatch.setattr(engine, "unmet_guards", lambda *args, **kwargs: [])

    assert automatic.after_signature(application) is None

    db.session.commit()  # the caller's signature was neither rolled back nor lost
    db.session.expire_all()
    assert application.state is S.AGREEMENT and len(entries(application)) == before
    assert {s.party for s in db.session.get(Agreement, agreement.id).signatures} == set(
        parties_of(call.kind))


def test_a_failure_during_the_transition_undoes_the_transition_only(journey):
    """A concurrent change of the dossier makes the transition fail once begun: its savepoint
    is rolled back, the caller's signature and everything before it stand."""
    call, cast, application = journey
    ws.drive_to(application, cast, S.AGREEMENT)
    agreement = ws.sign_agreement(application, cast, parties=parties_of(call.kind)[:-1])
    db.session.commit()
    before, mails = len(entries(application)), db.session.scalar(
        sa.select(sa.func.count()).select_from(OutgoingMail))
    last = parties_of(call.kind)[-1]
    sign(agreement, last, cast.expert_user if last is Party.EXPERT else cast.signatory)
    application.summary = "Modifié par l'appelant"  # the caller's own change of the dossier

    def concurrent_change(ctx):
        raise StaleDataError("the dossier's version changed")

    event = EVENTS_BY_NAME["start"]
    object.__setattr__(event, "effects", (*event.effects, concurrent_change))
    try:
        assert automatic.after_signature(application) is None
    finally:
        object.__setattr__(event, "effects", event.effects[:-1])

    db.session.commit()
    db.session.expire_all()
    assert application.state is S.AGREEMENT
    assert application.summary == "Modifié par l'appelant"
    assert len(entries(application)) == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutgoingMail)) == mails
    assert len(db.session.get(Agreement, agreement.id).signatures) == len(parties_of(call.kind))


def test_automatic_start_still_checks_the_envelope(app):
    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    ws.drive_to(application, cast, S.AGREEMENT)
    call.envelopes[0].amount = Decimal("5000.00")  # cut after the selection
    ws.sign_agreement(application, cast)
    assert automatic.after_signature(application) is None
    assert application.state is S.AGREEMENT
    problems = engine.unmet_guards(EVENTS_BY_NAME["start"], application, None)
    assert any("L'enveloppe de l'appel ne suffit pas" in p for p in problems)
