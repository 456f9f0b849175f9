"""The audit trail: append-only, each entry chained by SHA-256 to the previous one of its dossier."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dcol.models.base import Base

if TYPE_CHECKING:
    from dcol.models.users import User


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The dossier concerned; None for events about accounts or configuration.
    application_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("applications.id"), index=True
    )
    # Position in the dossier's chain (1, 2, ...), unique so that two writers cannot fork it.
    sequence: Mapped[int | None]
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))  # None: the system
    occurred_at: Mapped[datetime]
    event: Mapped[str] = mapped_column(sa.String(60))
    from_state: Mapped[str | None] = mapped_column(sa.String(32))
    to_state: Mapped[str | None] = mapped_column(sa.String(32))
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    payload: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    previous_hash: Mapped[str | None] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))

    actor: Mapped[User | None] = relationship()

    __table_args__ = (sa.UniqueConstraint("application_id", "sequence"),)
