"""Reminders to reviewers through ``workflow tick``: a pending declaration of interests, or a draft
review while the dossier is under review, is reminded a week after the reviewer was last told or
last acted, then every week, three times at most; never a submitted review or a conflicted one."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from dcol.extensions import db
from dcol.mail import external_url
from dcol.models import (
    ApplicationState,
    CallKind,
    ConflictStatus,
    Criterion,
    OutgoingMail,
    Review,
    Role,
    utcnow,
)
from dcol.reviews import services as reviews
from tests import factories as f
from tests import workflow_support as ws
from workflows import engine
from workflows.reminders import REVIEW_REMINDER_MAX, send_review_reminders

S = ApplicationState
DAY = timedelta(days=1)


def reminders_to(user) -> list[OutgoingMail]:
    return list(db.session.scalars(
        sa.select(OutgoingMail)
        .where(OutgoingMail.to_address == user.email, OutgoingMail.subject.like("%Rappel%"))
        .order_by(OutgoingMail.id)))


def review_of(application, reviewer) -> Review:
    return db.session.scalar(sa.select(Review).where(
        Review.application_id == application.id, Review.reviewer_id == reviewer.id))


@pytest.fixture
def call_and_cast(app):
    call = ws.make_call_for(CallKind.DCOL)
    call.criteria.append(Criterion(label="Pertinence", weight=Decimal("1"), position=1))
    return call, ws.make_cast(call)


def deposited(call, cast, state=S.SUBMITTED):
    application = ws.complete_dossier(call, cast)
    ws.drive_to(application, cast, state)
    return application


def test_a_pending_declaration_is_reminded_weekly_three_times_at_most(call_and_cast):
    call, cast = call_and_cast
    application = deposited(call, cast)
    reviewer = cast.reviewers[0]
    review = f.assign_reviewer(application, reviewer, ConflictStatus.PENDING)
    db.session.commit()
    start = review.assigned_at

    assert send_review_reminders(now=start + 6 * DAY) == 0
    assert send_review_reminders(now=start + 7 * DAY) == 1
    mail = reminders_to(reviewer)[0]
    assert application.reference in mail.subject and "déclaration d'intérêts" in mail.subject
    assert mail.application_id == application.id
    assert external_url("reviews.review", application_id=application.id) in mail.body_text
    assert "depuis 7 jours" in mail.body_text
    assert review.last_reminded_at == start + 7 * DAY
    # Ticks every few minutes: nothing more until a week has passed since the reminder.
    for later in (7 * DAY + timedelta(minutes=5), 10 * DAY, 13 * DAY):
        assert send_review_reminders(now=start + later) == 0
    assert send_review_reminders(now=start + 14 * DAY) == 1
    assert send_review_reminders(now=start + 21 * DAY) == 1
    assert send_review_reminders(now=start + 28 * DAY) == 0  # three is enough
    assert send_review_reminders(now=start + 60 * DAY) == 0
    assert len(reminders_to(reviewer)) == REVIEW_REMINDER_MAX == 3


def test_a_draft_review_is_reminded_a_week_after_the_instruction_starts(call_and_cast):
    call, cast = call_and_cast
    application = deposited(call, cast, S.ELIGIBLE)
    ws.assign_reviewers(application, cast)  # declared free of conflicts, long ago
    for reviewer in cast.reviewers:
        review_of(application, reviewer).assigned_at = utcnow() - 30 * DAY
    db.session.commit()
    assert send_review_reminders(now=utcnow() + DAY) == 0  # nothing to write before the start
    started = utcnow()
    ws.fire_step(application, cast, "start_review")  # mails the reviewers
    db.session.commit()

    assert send_review_reminders(now=started + 6 * DAY) == 0
    assert send_review_reminders(now=started + 7 * DAY + timedelta(minutes=1)) == 2
    mail = reminders_to(cast.reviewers[1])[0]
    assert mail.subject == f"[DCOL] Rappel : votre évaluation du dossier {application.reference} " \
                           "est attendue"
    assert send_review_reminders(now=started + 8 * DAY) == 0


def test_submitted_conflicted_and_closed_reviews_are_never_reminded(call_and_cast):
    call, cast = call_and_cast
    application = deposited(call, cast, S.ELIGIBLE)
    writer, conflicted, late = cast.reviewers[0], cast.reviewers[1], f.make_user(Role.REVIEWER)
    f.assign_reviewer(application, writer, ConflictStatus.NONE)
    f.assign_reviewer(application, late, ConflictStatus.NONE)
    f.assign_reviewer(application, conflicted, ConflictStatus.PENDING)
    reviews.declare_conflict(application, conflicted, True, "Ancien agent de la collectivité.")
    engine.fire(application, "start_review", cast.manager)
    criterion = call.criteria[0]
    reviews.save_review(application, writer, {criterion.id: ("4", "")}, "favourable", "",
                        submit=True)
    ineligible = deposited(call, cast)
    f.assign_reviewer(ineligible, conflicted, ConflictStatus.PENDING)
    ws.fire_step(ineligible, cast, "declare_ineligible")
    disabled = f.make_user(Role.REVIEWER, enabled=False)
    f.assign_reviewer(ineligible, disabled, ConflictStatus.PENDING)
    db.session.commit()

    assert send_review_reminders(now=utcnow() + 8 * DAY) == 1
    assert [m.to_address for m in db.session.scalars(
        sa.select(OutgoingMail).where(OutgoingMail.subject.like("%Rappel%")))] == [late.email]
    assert reminders_to(writer) == reminders_to(conflicted) == []


def test_reopening_a_review_restarts_its_reminders(call_and_cast, monkeypatch):
    call, cast = call_and_cast
    application = deposited(call, cast, S.UNDER_REVIEW)
    first, second = cast.reviewers
    start = utcnow()
    criterion = call.criteria[0]
    reviews.save_review(application, first, {criterion.id: ("4", "")}, "favourable", "",
                        submit=True)
    db.session.commit()
    assert send_review_reminders(now=start + 7 * DAY + timedelta(minutes=1)) == 1  # the second
    monkeypatch.setattr(reviews, "utcnow", lambda: start + 10 * DAY)
    reviews.reopen_review(application, cast.manager, review_of(application, first),
                          "Note à justifier.")
    monkeypatch.undo()
    db.session.commit()

    assert send_review_reminders(now=start + 14 * DAY + timedelta(minutes=1)) == 1  # the second
    assert reminders_to(first) == []
    assert send_review_reminders(now=start + 17 * DAY + timedelta(minutes=1)) == 1
    assert len(reminders_to(first)) == 1 and len(reminders_to(second)) == 2


def test_tick_mails_the_reviewer_once(app, smtp_server, call_and_cast):
    call, cast = call_and_cast
    application = deposited(call, cast)
    review = f.assign_reviewer(application, cast.reviewers[0], ConflictStatus.PENDING)
    review.assigned_at = utcnow() - 8 * DAY
    db.session.commit()
    runner = app.test_cli_runner()

    result = runner.invoke(args=["workflow", "tick"])
    assert result.exit_code == 0, result.output
    mails = [m for m in smtp_server.messages if "Rappel" in m["Subject"]]
    assert [m["To"] for m in mails] == [cast.reviewers[0].email]
    assert application.reference in mails[0]["Subject"]
    assert f"/dossiers/{application.id}/evaluation" in mails[0].get_content()

    runner.invoke(args=["workflow", "tick"])
    assert len([m for m in smtp_server.messages if "Rappel" in m["Subject"]]) == 1


@pytest.mark.postgres
def test_two_servers_ticking_at_once_send_one_reminder(app, call_and_cast):
    call, cast = call_and_cast
    application = deposited(call, cast)
    for reviewer in cast.reviewers:
        f.assign_reviewer(application, reviewer, ConflictStatus.PENDING)
    db.session.commit()
    now = utcnow() + 8 * DAY
    barrier = threading.Barrier(2)
    counts, errors = [], []

    def tick():
        with app.app_context():
            try:
                barrier.wait()
                counts.append(send_review_reminders(now=now))
                db.session.commit()
            except Exception as error:  # a duplicate key would land here
                errors.append(error)
            finally:
                db.session.remove()

    for _round in range(3):
        threads = [threading.Thread(target=tick) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        now += 7 * DAY
    assert errors == [] and len(counts) == 6
    assert sum(counts) == 6  # two reviewers, three reminders each, none twice
    for reviewer in cast.reviewers:
        assert len(reminders_to(reviewer)) == 3
