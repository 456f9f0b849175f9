"""Missions: proposals to experts, the mission plan, reports, deliverables, satisfaction, alerts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dcol.models.base import N_, Base, LabelledEnum, Money, enum_column, labelled

if TYPE_CHECKING:
    from dcol.models.applications import Application, Document
    from dcol.models.experts import Expert
    from dcol.models.users import User


@labelled(
    {
        "pending": N_("En attente de réponse"),
        "accepted": N_("Acceptée"),
        "declined": N_("Déclinée"),
        "cancelled": N_("Annulée"),
    }
)
class ProposalStatus(LabelledEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class MissionProposal(Base):
    """CUF's proposal of an expert for a DCOL dossier, and the expert's answer."""

    __tablename__ = "mission_proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    expert_id: Mapped[int] = mapped_column(sa.ForeignKey("experts.id"), index=True)
    status: Mapped[ProposalStatus] = mapped_column(
        enum_column(ProposalStatus), default=ProposalStatus.PENDING
    )
    proposed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    proposed_at: Mapped[datetime]
    # The matching explanation at the time of the proposal, and the reason of an override.
    explanation: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    override_reason: Mapped[str] = mapped_column(sa.Text, default="")
    indicative_days: Mapped[Decimal | None] = mapped_column(sa.Numeric(6, 2))
    indicative_start: Mapped[date | None]
    indicative_end: Mapped[date | None]
    responded_at: Mapped[datetime | None]
    responded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decline_reason: Mapped[str] = mapped_column(sa.Text, default="")

    application: Mapped[Application] = relationship()
    expert: Mapped[Expert] = relationship()


class MatchingBrief(Base):
    """What CUF looks for in an expert for a DCOL dossier in matching: the working languages, the
    planned period and days, the budget and the expected deliverables. The suggestions filter and
    score the pool against it, and the proposal sent to the expert carries its terms."""

    __tablename__ = "matching_briefs"

    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True
    )
    # The skills sought (``Theme`` values) and the ISO 639-1 codes the expert must work in.
    themes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    indicative_days: Mapped[Decimal | None] = mapped_column(sa.Numeric(6, 2))
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    # The budget of the expertise excluding VAT; None: the dossier's estimated cost.
    budget: Mapped[Decimal | None] = mapped_column(Money)
    expected_deliverables: Mapped[str] = mapped_column(sa.Text, default="")
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[datetime]

    application: Mapped[Application] = relationship()

    __table_args__ = (
        sa.CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
        sa.CheckConstraint("indicative_days > 0", name="days_positive"),
        sa.CheckConstraint("budget >= 0", name="budget_positive"),
    )


class Mission(Base):
    """The support being delivered: the expert's mission (DCOL) or the project (aap)."""

    __tablename__ = "missions"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("applications.id", ondelete="CASCADE"), unique=True
    )
    expert_id: Mapped[int | None] = mapped_column(sa.ForeignKey("experts.id"), index=True)
    contracted_days: Mapped[Decimal | None] = mapped_column(sa.Numeric(6, 2))
    daily_rate: Mapped[Decimal | None] = mapped_column(Money)
    travel_costs: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    expected_deliverables: Mapped[str] = mapped_column(sa.Text, default="")
    summary: Mapped[str] = mapped_column(sa.Text, default="")  # for capitalisation
    created_at: Mapped[datetime]

    application: Mapped[Application] = relationship()
    expert: Mapped[Expert | None] = relationship()
    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="mission", cascade="all, delete-orphan", order_by="Milestone.due_on"
    )
    reports: Mapped[list[MissionReport]] = relationship(
        back_populates="mission", cascade="all, delete-orphan", order_by="MissionReport.report_date"
    )
    deliverables: Mapped[list[Deliverable]] = relationship(
        back_populates="mission", cascade="all, delete-orphan", order_by="Deliverable.id"
    )


@labelled(
    {
        "scoping": N_("Cadrage"),
        "diagnosis": N_("Diagnostic"),
        "field_mission": N_("Mission de terrain"),
        "restitution": N_("Restitution"),
        "final_deliverable": N_("Livrable final"),
        "other": N_("Autre"),
    }
)
class Phase(LabelledEnum):
    SCOPING = "scoping"
    DIAGNOSIS = "diagnosis"
    FIELD_MISSION = "field_mission"
    RESTITUTION = "restitution"
    FINAL_DELIVERABLE = "final_deliverable"
    OTHER = "other"


class Milestone(Base):
    __tablename__ = "milestones"

    id: Mapped[int] = mapped_column(primary_key=True)
    mission_id: Mapped[int] = mapped_column(
        sa.ForeignKey("missions.id", ondelete="CASCADE"), index=True
    )
    phase: Mapped[Phase] = mapped_column(enum_column(Phase))
    label: Mapped[str] = mapped_column(sa.String(200))
    due_on: Mapped[date]
    done_on: Mapped[date | None]

    mission: Mapped[Mission] = relationship(back_populates="milestones")


class MissionReport(Base):
    __tablename__ = "mission_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    mission_id: Mapped[int] = mapped_column(
        sa.ForeignKey("missions.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    report_date: Mapped[date]
    days_spent: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2))
    activities: Mapped[str] = mapped_column(sa.Text)
    is_field_mission: Mapped[bool] = mapped_column(default=False)
    field_location: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime]

    mission: Mapped[Mission] = relationship(back_populates="reports")
    author: Mapped[User] = relationship()
    expenses: Mapped[list[Expense]] = relationship(
        back_populates="report", cascade="all, delete-orphan", order_by="Expense.id"
    )
    attachments: Mapped[list[Document]] = relationship(
        primaryjoin="MissionReport.id == Document.mission_report_id", viewonly=True,
        order_by="Document.id",
    )

    __table_args__ = (sa.CheckConstraint("days_spent >= 0", name="days_positive"),)


class Expense(Base):
    __tablename__ = "expenses"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(
        sa.ForeignKey("mission_reports.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(sa.String(200))
    amount: Mapped[Decimal] = mapped_column(Money)
    receipt_id: Mapped[int | None] = mapped_column(sa.ForeignKey("documents.id"))

    report: Mapped[MissionReport] = relationship(back_populates="expenses")
    receipt: Mapped[Document | None] = relationship()

    __table_args__ = (sa.CheckConstraint("amount >= 0", name="amount_positive"),)


@labelled(
    {
        "submitted": N_("Déposé"),
        "revision_requested": N_("Révision demandée"),
        "accepted_by_applicant": N_("Validé par la collectivité"),
        "validated": N_("Validé par CUF"),
    }
)
class DeliverableState(LabelledEnum):
    SUBMITTED = "submitted"
    REVISION_REQUESTED = "revision_requested"
    ACCEPTED_BY_APPLICANT = "accepted_by_applicant"
    VALIDATED = "validated"


class Deliverable(Base):
    __tablename__ = "deliverables"

    id: Mapped[int] = mapped_column(primary_key=True)
    mission_id: Mapped[int] = mapped_column(
        sa.ForeignKey("missions.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(sa.String(300))
    description: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    is_final: Mapped[bool] = mapped_column(default=False)
    state: Mapped[DeliverableState] = mapped_column(
        enum_column(DeliverableState), default=DeliverableState.SUBMITTED
    )
    # How many times it was deposited (1, then one more per revision).
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    revision_comment: Mapped[str] = mapped_column(sa.Text, default="")
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    submitted_at: Mapped[datetime]
    accepted_by_applicant_at: Mapped[datetime | None]
    accepted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    validated_at: Mapped[datetime | None]
    validated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    mission: Mapped[Mission] = relationship(back_populates="deliverables")
    files: Mapped[list[Document]] = relationship(
        primaryjoin="Deliverable.id == Document.deliverable_id", viewonly=True,
        order_by="Document.id",
    )

    @property
    def current_file(self) -> Document | None:
        return next((doc for doc in reversed(self.files) if doc.is_current), None)


class Satisfaction(Base):
    """The collectivité's satisfaction questionnaire at closure (ratings 1–5)."""

    __tablename__ = "satisfactions"

    mission_id: Mapped[int] = mapped_column(
        sa.ForeignKey("missions.id", ondelete="CASCADE"), primary_key=True
    )
    respondent_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    quality: Mapped[int]
    timeliness: Mapped[int]
    relevance: Mapped[int]
    overall: Mapped[int]
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    answered_at: Mapped[datetime]

    __table_args__ = (
        sa.CheckConstraint(
            "quality BETWEEN 1 AND 5 AND timeliness BETWEEN 1 AND 5 "
            "AND relevance BETWEEN 1 AND 5 AND overall BETWEEN 1 AND 5",
            name="ratings_one_to_five",
        ),
    )


@labelled(
    {
        "days_exceeded": N_("Jours consommés au-delà des jours contractualisés"),
        "milestone_late": N_("Jalon en retard"),
        "no_report": N_("Aucun rapport depuis plusieurs semaines"),
        "agreement_unsigned": N_("Convention non signée"),
    }
)
class AlertKind(LabelledEnum):
    DAYS_EXCEEDED = "days_exceeded"
    MILESTONE_LATE = "milestone_late"
    NO_REPORT = "no_report"
    AGREEMENT_UNSIGNED = "agreement_unsigned"


class Alert(Base):
    """A follow-up alert, raised once per condition (``key``) and resolved when it clears."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[AlertKind] = mapped_column(enum_column(AlertKind))
    key: Mapped[str] = mapped_column(sa.String(100))
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    raised_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]

    application: Mapped[Application] = relationship()

    __table_args__ = (sa.UniqueConstraint("application_id", "key"),)
