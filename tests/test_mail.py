"""The outbox: mail survives an SMTP server that is down for as long as it takes, gives up only on
a permanent refusal, and is never sent twice by concurrent senders."""

from __future__ import annotations

import socket
import threading
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller

from dcol.extensions import db
from dcol.mail import deliver_pending, queue_mail
from dcol.models import MailStatus, OutgoingMail, utcnow


def queue(n: int = 1, to: str = "maire@thorey-lyautey.fr") -> list[OutgoingMail]:
    mails = [
        queue_mail(to, "message_posted_test", body=f"Message {i}") for i in range(n)
    ]
    db.session.commit()
    return mails


@pytest.fixture(autouse=True)
def mail_template(app):
    """A minimal mail template, so that these tests do not depend on any one notification."""
    from jinja2 import ChoiceLoader, DictLoader

    app.jinja_env.loader = ChoiceLoader([
        DictLoader({"mail/message_posted_test.txt": "Essai DCOL\n{{ body }}"}),
        app.jinja_env.loader,
    ])


def make_due(mail: OutgoingMail) -> None:
    mail.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Refusing:
    """An SMTP server answering RCPT TO with ``code``; it records what it accepts."""

    def __init__(self, code: str = "250 OK"):
        self.code = code
        self.received = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.code.startswith("250"):
            envelope.rcpt_tos.append(address)
        return self.code

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.received.append(envelope.content)
        return "250 Message accepted for delivery"


@pytest.fixture
def server(app):
    handler = Refusing()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    try:
        yield handler
    finally:
        controller.stop()


def test_mail_waits_as_long_as_the_server_is_down_then_goes(app, server):
    port, app.config["MAIL_PORT"] = app.config["MAIL_PORT"], 1  # nothing listens on port 1
    (mail,) = queue()
    delays = []
    for _ in range(30):  # far more attempts than a day of cron runs would make
        make_due(mail)
        before = utcnow()
        assert deliver_pending() == 0
        assert mail.status is MailStatus.PENDING
        delays.append(mail.next_attempt_at - before)
    assert delays[0] < timedelta(minutes=3)
    assert max(delays) <= timedelta(minutes=app.config["MAIL_RETRY_MAX_MINUTES"], seconds=5)
    assert mail.attempts == 30
    app.config["MAIL_PORT"] = port
    make_due(mail)
    assert deliver_pending() == 1
    assert mail.status is MailStatus.SENT and len(server.received) == 1


def test_mail_is_not_sent_before_it_is_due(app, server):
    app.config["MAIL_PORT"], port = 1, app.config["MAIL_PORT"]
    (mail,) = queue()
    deliver_pending()
    app.config["MAIL_PORT"] = port
    assert deliver_pending() == 0  # the retry is not due yet
    assert server.received == []


def test_temporary_refusal_is_retried(app, server):
    server.code = "451 4.3.0 Try again later"
    (mail,) = queue()
    make_due(mail)
    assert deliver_pending() == 0
    assert mail.status is MailStatus.PENDING and "451" in mail.last_error
    server.code = "250 OK"
    make_due(mail)
    assert deliver_pending() == 1


def test_permanent_refusal_gives_up_and_says_why(app, server):
    server.code = "550 5.1.1 No such user here"
    (mail,) = queue(to="personne@inconnu.example")
    make_due(mail)
    assert deliver_pending() == 0
    assert mail.status is MailStatus.FAILED and "550" in mail.last_error
    make_due(mail)
    assert deliver_pending() == 0 and mail.attempts == 1  # never tried again


@pytest.mark.postgres
def test_concurrent_senders_never_send_a_mail_twice(app, server):
    mails = queue(12)
    for mail in mails:
        mail.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    barrier = threading.Barrier(3)
    counts = []

    def send():
        with app.app_context():
            barrier.wait()
            counts.append(deliver_pending())
            db.session.remove()

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == 12
    assert len(server.received) == 12
