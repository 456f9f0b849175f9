"""Mail: queue into the outbox within the caller's transaction, deliver after commit.

Delivery retries with a growing delay, so nothing is lost while the SMTP server is down;
``flask --app dcol mail send`` (and later ``workflow tick``) delivers what is pending.
"""

from __future__ import annotations

import smtplib
import ssl
import sys
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, g, has_request_context, render_template, url_for
from flask_babel import force_locale

from dcol.extensions import db
from dcol.models import MailStatus, OutgoingMail, utcnow


def external_url(endpoint: str, **values) -> str:
    """An absolute link for a mail, also outside a request (CLI, cron): from BASE_URL."""
    if has_request_context() or current_app.config.get("SERVER_NAME"):
        return url_for(endpoint, _external=True, **values)
    # Bound to BASE_URL without pushing a request: a request context's teardown would deliver
    # (and commit) the mails the caller has queued so far in its open transaction.
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/",
                                       url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)


def queue_mail(
    to: str,
    template: str,
    *,
    application_id: int | None = None,
    dedupe_key: str | None = None,
    locale: str = "fr",
    attachments: list[dict] | None = None,
    **context,
) -> OutgoingMail | None:
    """Render ``templates/mail/<template>.txt`` (first line: the subject) into the outbox.

    ``attachments`` are stored files, ``{"filename", "stored_name", "content_type"}`` each,
    read from the upload folder when the mail is sent. Returns None when a mail with the same
    ``dedupe_key`` was already queued.
    """
    if dedupe_key is not None and db.session.scalar(
        sa.select(OutgoingMail.id).where(OutgoingMail.dedupe_key == dedupe_key)
    ):
        return None
    with force_locale(locale):
        rendered = render_template(f"mail/{template}.txt", **context)
    subject, _, body = rendered.strip().partition("\n")
    now = utcnow()
    mail = OutgoingMail(
        to_address=to,
        subject=subject.removeprefix("Subject:").strip(),
        body_text=body.strip() + "\n",
        application_id=application_id,
        template=template,
        dedupe_key=dedupe_key,
        attachments=[
            {
                "filename": item["filename"],
                "stored_name": item["stored_name"],
                "content_type": item.get("content_type") or "application/octet-stream",
            }
            for item in attachments or []
        ],
        created_at=now,
        next_attempt_at=now,
    )
    db.session.add(mail)
    db.session.flush()
    g.setdefault("queued_mail_ids", []).append(mail.id)
    return mail


def queue_notice(user, subject: str, body: str, link: str, comment: str = "", **params):
    """A mail from ``templates/mail/notice.txt``: ``subject`` and ``body`` are French texts
    (marked with ``N_``) translated in the recipient's language with ``params``."""
    return queue_mail(user.email, "notice", locale=user.locale, user=user, subject=subject,
                      body=body, params=params, link=link, comment=comment)


def _is_permanent(error: Exception) -> bool:
    """An SMTP refusal that will not change by retrying (5xx: unknown recipient, refused
    sender...); anything else (server down, timeouts, 4xx) is transient."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500


def retry_delay(attempts: int) -> timedelta:
    """2, 4, 8... minutes after each failed attempt, then every MAIL_RETRY_MAX_MINUTES."""
    cap = current_app.config["MAIL_RETRY_MAX_MINUTES"]
    return timedelta(minutes=min(2 ** min(attempts, 20), cap))


def _next_due(ids: list[int] | None) -> OutgoingMail | None:
    """The next mail due, locked for this process (others skip it: never sent twice)."""
    query = (
        sa.select(OutgoingMail)
        .where(OutgoingMail.status == MailStatus.PENDING, OutgoingMail.next_attempt_at <= utcnow())
        .order_by(OutgoingMail.next_attempt_at, OutgoingMail.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if ids is not None:
        query = query.where(OutgoingMail.id.in_(ids))
    return db.session.scalars(query).first()


def deliver_pending(ids: list[int] | None = None, limit: int = 200) -> int:
    """Send the pending mails that are due (or only ``ids``), one transaction each; return how
    many went out.

    Nothing is lost while the SMTP server is unreachable: the mail is retried with a growing
    delay, for as long as it takes. Only a permanent refusal (5xx) marks it failed.
    """
    sent = 0
    for _ in range(limit):
        mail = _next_due(ids)
        if mail is None:
            break
        mail.attempts += 1
        try:
            _send(mail)
        except (OSError, smtplib.SMTPException) as error:
            mail.last_error = f"{type(error).__name__}: {error}"[:2000]
            if _is_permanent(error):
                mail.status = MailStatus.FAILED
                current_app.logger.error("Mail #%s refused for good: %s", mail.id, error)
            else:
                mail.next_attempt_at = utcnow() + retry_delay(mail.attempts)
        else:
            mail.status = MailStatus.SENT
            mail.sent_at = utcnow()
            sent += 1
        db.session.commit()
    return sent


def _build_message(mail: OutgoingMail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(domain="dcol.cites-unies-france.org")
    message.set_content(mail.body_text)
    for attachment in mail.attachments or []:
        _attach(message, mail, attachment)
    return message


def _attach(message: EmailMessage, mail: OutgoingMail, attachment: dict) -> None:
    from dcol.documents.storage import stored_path

    try:
        content = stored_path(attachment["stored_name"]).read_bytes()
    except (OSError, ValueError, KeyError):
        # A file that is gone will not come back: send the mail without it (the link in the
        # mail still leads to the dossier) rather than retry in vain.
        current_app.logger.error("Mail #%s: attachment %r missing", mail.id, attachment)
        return
    maintype, _, subtype = (attachment.get("content_type") or "").partition("/")
    if not maintype or not subtype:
        maintype, subtype = "application", "octet-stream"
    message.add_attachment(
        content,
        maintype=maintype,
        subtype=subtype,
        filename=attachment.get("filename") or "piece-jointe",
    )


def _send(mail: OutgoingMail) -> None:
    config = current_app.config
    message = _build_message(mail)
    if config["MAIL_BACKEND"] == "console":
        print(f"--- mail #{mail.id} ---\n{message}", file=sys.stderr)
        return
    smtp_class = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
    with smtp_class(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=10) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls(context=ssl.create_default_context())
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(message)


def init_app(app) -> None:
    @app.teardown_request
    def deliver_after_commit(error):
        """Send this request's mails once its transaction is over (rolled-back ones are gone)."""
        ids = g.pop("queued_mail_ids", None)
        if error is None and ids:
            try:
                deliver_pending(ids)
            except Exception:  # delivery is retried later; never fail the request for it
                app.logger.exception("Mail delivery failed")
                db.session.rollback()
