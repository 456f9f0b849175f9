"""Instruction: reviews on the scoring grid, consensus, committee sessions and decisions."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dcol.models.base import N_, Base, LabelledEnum, enum_column, labelled

if TYPE_CHECKING:
    from dcol.models.applications import Application
    from dcol.models.calls import Call, Criterion
    from dcol.models.users import User


@labelled(
    {
        "pending": N_("Déclaration d'absence de conflit d'intérêts attendue"),
        "none": N_("Absence de conflit d'intérêts déclarée"),
        "conflict": N_("Conflit d'intérêts déclaré"),
    }
)
class ConflictStatus(LabelledEnum):
    PENDING = "pending"
    NONE = "none"
    CONFLICT = "conflict"


@labelled({"draft": N_("Brouillon"), "submitted": N_("Soumise")})
class ReviewState(LabelledEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


@labelled(
    {
        "favourable": N_("Favorable"),
        "reserved": N_("Favorable avec réserves"),
        "unfavourable": N_("Défavorable"),
    }
)
class Opinion(LabelledEnum):
    FAVOURABLE = "favourable"
    RESERVED = "reserved"
    UNFAVOURABLE = "unfavourable"


class Review(Base):
    """A reviewer's assignment to a dossier and the evaluation they write."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    reviewer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    assigned_at: Mapped[datetime]
    conflict_status: Mapped[ConflictStatus] = mapped_column(
        enum_column(ConflictStatus), default=ConflictStatus.PENDING
    )
    conflict_note: Mapped[str] = mapped_column(sa.Text, default="")
    conflict_declared_at: Mapped[datetime | None]
    state: Mapped[ReviewState] = mapped_column(enum_column(ReviewState), default=ReviewState.DRAFT)
    opinion: Mapped[Opinion | None] = mapped_column(enum_column(Opinion))
    overall_comment: Mapped[str] = mapped_column(sa.Text, default="")
    submitted_at: Mapped[datetime | None]
    last_reminded_at: Mapped[datetime | None]

    application: Mapped[Application] = relationship()
    reviewer: Mapped[User] = relationship(foreign_keys=[reviewer_id])
    scores: Mapped[list[ReviewScore]] = relationship(
        back_populates="review", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.UniqueConstraint("application_id", "reviewer_id"),
        sa.CheckConstraint(
            "state = 'draft' OR submitted_at IS NOT NULL", name="submitted_review_dated"
        ),
        # A reviewer's assignments, latest first (``/evaluations``, a page at a time).
        sa.Index("ix_reviews_reviewer_assigned", "reviewer_id", "assigned_at", "id"),
    )

    @property
    def is_active(self) -> bool:
        """Still counts as an assignment (a declared conflict removes it)."""
        return self.conflict_status is not ConflictStatus.CONFLICT


class ReviewScore(Base):
    __tablename__ = "review_scores"

    review_id: Mapped[int] = mapped_column(
        sa.ForeignKey("reviews.id", ondelete="CASCADE"), primary_key=True
    )
    criterion_id: Mapped[int] = mapped_column(sa.ForeignKey("criteria.id"), primary_key=True)
    score: Mapped[Decimal | None] = mapped_column(sa.Numeric(4, 1))
    comment: Mapped[str] = mapped_column(sa.Text, default="")

    review: Mapped[Review] = relationship(back_populates="scores")
    criterion: Mapped[Criterion] = relationship()

    __table_args__ = (sa.CheckConstraint("score IS NULL OR score >= 0", name="score_positive"),)


class Consensus(Base):
    """The consensus score (out of 100) and its justification, recorded by the manager."""

    __tablename__ = "consensus"

    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True
    )
    score: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2))
    justification: Mapped[str] = mapped_column(sa.Text)
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime]

    __table_args__ = (
        sa.CheckConstraint("score >= 0 AND score <= 100", name="score_within_100"),
    )


@labelled({"planned": N_("Prévue"), "open": N_("En séance"), "closed": N_("Close")})
class SessionState(LabelledEnum):
    PLANNED = "planned"
    OPEN = "open"
    CLOSED = "closed"


class CommitteeSession(Base):
    __tablename__ = "committee_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    held_at: Mapped[datetime]
    location: Mapped[str] = mapped_column(sa.String(200), default="")
    quorum: Mapped[int] = mapped_column(default=1)
    state: Mapped[SessionState] = mapped_column(
        enum_column(SessionState), default=SessionState.PLANNED
    )
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    call: Mapped[Call] = relationship()
    members: Mapped[list[CommitteeMember]] = relationship(
        back_populates="session", cascade="all, delete-orphan"
    )
    decisions: Mapped[list[CommitteeDecision]] = relationship(
        back_populates="session", cascade="all, delete-orphan"
    )

    __table_args__ = (sa.CheckConstraint("quorum >= 1", name="quorum_positive"),)


class CommitteeMember(Base):
    __tablename__ = "committee_members"

    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("committee_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    is_present: Mapped[bool] = mapped_column(default=False)

    session: Mapped[CommitteeSession] = relationship(back_populates="members")
    user: Mapped[User] = relationship()


@labelled({"select": N_("Retenu"), "waitlist": N_("Liste d'attente"), "reject": N_("Non retenu")})
class Decision(LabelledEnum):
    SELECT = "select"
    WAITLIST = "waitlist"
    REJECT = "reject"


class CommitteeDecision(Base):
    """A decision taken in session; the state change itself goes through the workflow."""

    __tablename__ = "committee_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("committee_sessions.id", ondelete="CASCADE"), index=True
    )
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"), index=True)
    decision: Mapped[Decision] = mapped_column(enum_column(Decision))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    decided_at: Mapped[datetime]
    decided_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    session: Mapped[CommitteeSession] = relationship(back_populates="decisions")
    application: Mapped[Application] = relationship()
