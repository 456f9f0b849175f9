"""The outbox: mails are written in the transaction of the change and sent after it commits."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from dcol.models.base import N_, Base, LabelledEnum, enum_column, labelled


@labelled({"pending": N_("À envoyer"), "sent": N_("Envoyé"), "failed": N_("Échec définitif")})
class MailStatus(LabelledEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutgoingMail(Base):
    __tablename__ = "outgoing_mails"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str | None] = mapped_column(sa.Text)
    # [{"filename": ..., "stored_name": ..., "content_type": ...}]
    attachments: Mapped[list[dict]] = mapped_column(sa.JSON, default=list)
    application_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("applications.id", ondelete="SET NULL"), index=True
    )
    template: Mapped[str] = mapped_column(sa.String(100))
    # Makes reminders idempotent: the same key is never queued twice.
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    status: Mapped[MailStatus] = mapped_column(
        enum_column(MailStatus), default=MailStatus.PENDING, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
