"""Dossiers (applications), their documents, submissions, budget and message thread."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dcol.models.base import N_, Base, LabelledEnum, Money, TimestampMixin, enum_column, labelled

if TYPE_CHECKING:
    from dcol.models.calls import Call, DocumentRequirement, EligibilityItem, Track
    from dcol.models.organisations import Organisation
    from dcol.models.users import User


@labelled(
    {
        "draft": N_("Brouillon"),
        "submitted": N_("Déposé"),
        "changes_requested": N_("À compléter"),
        "ineligible": N_("Irrecevable"),
        "eligible": N_("Recevable"),
        "under_review": N_("En instruction"),
        "reviewed": N_("Instruit"),
        "selected": N_("Retenu"),
        "waitlisted": N_("Liste d'attente"),
        "rejected": N_("Non retenu"),
        "matching": N_("Recherche d'expert"),
        "expert_proposed": N_("Expert proposé"),
        "agreement": N_("Conventionnement"),
        "in_progress": N_("En cours"),
        "final_report": N_("Rapport final déposé"),
        "closed": N_("Clôturé"),
        "withdrawn": N_("Retiré / classé sans suite"),
    }
)
class ApplicationState(LabelledEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    CHANGES_REQUESTED = "changes_requested"
    INELIGIBLE = "ineligible"
    ELIGIBLE = "eligible"
    UNDER_REVIEW = "under_review"
    REVIEWED = "reviewed"
    SELECTED = "selected"
    WAITLISTED = "waitlisted"
    REJECTED = "rejected"
    MATCHING = "matching"
    EXPERT_PROPOSED = "expert_proposed"
    AGREEMENT = "agreement"
    IN_PROGRESS = "in_progress"
    FINAL_REPORT = "final_report"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES


FINAL_STATES = frozenset(
    {
        ApplicationState.INELIGIBLE,
        ApplicationState.REJECTED,
        ApplicationState.CLOSED,
        ApplicationState.WITHDRAWN,
    }
)
# States in which the applicant may still edit the dossier's content.
EDITABLE_STATES = frozenset({ApplicationState.DRAFT, ApplicationState.CHANGES_REQUESTED})


class Application(TimestampMixin, Base):
    """A dossier: one organisation's application to one call, driven by ``workflows``."""

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id"), index=True)
    track_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tracks.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    number: Mapped[int]
    reference: Mapped[str] = mapped_column(sa.String(30), unique=True)
    # Only workflows/ writes this column (see workflows.engine).
    state: Mapped[ApplicationState] = mapped_column(
        enum_column(ApplicationState), default=ApplicationState.DRAFT, index=True
    )
    version: Mapped[int] = mapped_column(default=1)
    title: Mapped[str] = mapped_column(sa.String(300), default="")
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    # Form sections, by section then field, as entered (see forms/).
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    themes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # Places of the action: ISO country codes, and French department codes for actions in France.
    countries: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    departments: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    estimated_cost: Mapped[Decimal | None] = mapped_column(Money)
    requested_amount: Mapped[Decimal | None] = mapped_column(Money)
    # The estimated cofinancing used by the committee agenda and the envelope check.
    estimated_cofinancing: Mapped[Decimal | None] = mapped_column(Money)
    response_deadline: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    first_submitted_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # Closed supports CUF has opened to collectivités in the capitalisation search.
    is_public: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    call: Mapped[Call] = relationship()
    track: Mapped[Track | None] = relationship()
    organisation: Mapped[Organisation] = relationship()
    created_by: Mapped[User | None] = relationship()
    editors: Mapped[list[ApplicationEditor]] = relationship(
        back_populates="application", cascade="all, delete-orphan"
    )
    documents: Mapped[list[Document]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="Document.id"
    )
    budget_lines: Mapped[list[BudgetLine]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="BudgetLine.position"
    )
    submissions: Mapped[list[Submission]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="Submission.number"
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.UniqueConstraint("call_id", "number"),
        sa.Index("ix_applications_call_state", "call_id", "state"),
        # The lists' order (newest first), whole or filtered by call, state or organisation.
        sa.Index("ix_applications_updated", "updated_at", "id"),
        sa.Index("ix_applications_call_updated", "call_id", "updated_at", "id"),
        sa.Index("ix_applications_call_state_updated", "call_id", "state", "updated_at", "id"),
        sa.Index("ix_applications_state_updated", "state", "updated_at", "id"),
        sa.Index("ix_applications_organisation_updated", "organisation_id", "updated_at", "id"),
    )

    @property
    def is_editable(self) -> bool:
        return self.state in EDITABLE_STATES

    def __repr__(self) -> str:
        return f"<Application {self.reference} {self.state.value}>"


# The lists' other orders (``visible_applications_query``), whole or filtered by call or state
# (migration 0007). Deposit dates put the dossiers never deposited last both ways: one index a
# direction. An amount counts NULL as the smallest: one index, scanned either way.
_SUBMITTED_DESC = (Application.submitted_at.desc().nulls_last(), Application.id.desc())
_AMOUNT = (Application.requested_amount.nulls_first(), Application.id)
sa.Index("ix_applications_submitted", Application.submitted_at, Application.id)
sa.Index("ix_applications_submitted_desc", *_SUBMITTED_DESC)
sa.Index("ix_applications_amount", *_AMOUNT)
sa.Index("ix_applications_call_reference", Application.call_id, Application.reference,
         Application.id)
sa.Index("ix_applications_call_submitted", Application.call_id, Application.submitted_at,
         Application.id)
sa.Index("ix_applications_call_submitted_desc", Application.call_id, *_SUBMITTED_DESC)
sa.Index("ix_applications_call_amount", Application.call_id, *_AMOUNT)
sa.Index("ix_applications_state_reference", Application.state, Application.reference,
         Application.id)
sa.Index("ix_applications_state_submitted", Application.state, Application.submitted_at,
         Application.id)
sa.Index("ix_applications_state_submitted_desc", Application.state, *_SUBMITTED_DESC)
sa.Index("ix_applications_state_amount", Application.state, *_AMOUNT)


class ApplicationEditor(Base):
    """A member of the organisation invited to co-edit a dossier."""

    __tablename__ = "application_editors"

    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    added_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    added_at: Mapped[datetime]

    application: Mapped[Application] = relationship(back_populates="editors")
    user: Mapped[User] = relationship(foreign_keys=[user_id])


class Submission(Base):
    """What was deposited at each submission, to compare a resubmission with the one before."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    submitted_at: Mapped[datetime]
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    content: Mapped[dict] = mapped_column(sa.JSON)  # fields, budget and documents with hashes
    receipt_sha256: Mapped[str | None] = mapped_column(sa.String(64))

    application: Mapped[Application] = relationship(back_populates="submissions")

    __table_args__ = (sa.UniqueConstraint("application_id", "number"),)


@labelled({"expense": N_("Dépense"), "income": N_("Recette")})
class BudgetLineKind(LabelledEnum):
    EXPENSE = "expense"
    INCOME = "income"


class BudgetLine(Base):
    """A line of a call-for-projects budget."""

    __tablename__ = "budget_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[BudgetLineKind] = mapped_column(enum_column(BudgetLineKind))
    label: Mapped[str] = mapped_column(sa.String(200))
    amount: Mapped[Decimal] = mapped_column(Money)
    is_eligible: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)

    application: Mapped[Application] = relationship(back_populates="budget_lines")

    __table_args__ = (sa.CheckConstraint("amount >= 0", name="amount_positive"),)


@labelled(
    {
        "application": N_("Pièce du dossier"),
        "attachment": N_("Pièce libre"),
        "message": N_("Pièce jointe à un message"),
        "receipt": N_("Accusé de réception"),
        "report": N_("Rapport de mission"),
        "expense_receipt": N_("Justificatif de dépense"),
        "deliverable": N_("Livrable"),
        "agreement": N_("Convention"),
        "signed_scan": N_("Convention signée (scan)"),
        "letter": N_("Courrier de décision"),
        "closure_report": N_("Bilan de clôture"),
    }
)
class DocumentKind(LabelledEnum):
    APPLICATION = "application"
    ATTACHMENT = "attachment"
    MESSAGE = "message"
    RECEIPT = "receipt"
    REPORT = "report"
    EXPENSE_RECEIPT = "expense_receipt"
    DELIVERABLE = "deliverable"
    AGREEMENT = "agreement"
    SIGNED_SCAN = "signed_scan"
    LETTER = "letter"
    CLOSURE_REPORT = "closure_report"


class Document(Base):
    """A stored file. Every document belongs to a dossier, whose permissions it follows."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[DocumentKind] = mapped_column(enum_column(DocumentKind))
    requirement_id: Mapped[int | None] = mapped_column(sa.ForeignKey("document_requirements.id"))
    message_id: Mapped[int | None] = mapped_column(sa.ForeignKey("messages.id"), index=True)
    mission_report_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("mission_reports.id"), index=True
    )
    deliverable_id: Mapped[int | None] = mapped_column(sa.ForeignKey("deliverables.id"), index=True)
    original_name: Mapped[str] = mapped_column(sa.String(255))
    stored_name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[datetime]
    # A replaced document stays, pointing at its successor.
    replaced_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("documents.id"))
    replaced_at: Mapped[datetime | None]

    application: Mapped[Application] = relationship(back_populates="documents")
    requirement: Mapped[DocumentRequirement | None] = relationship()
    uploaded_by: Mapped[User | None] = relationship()

    __table_args__ = (sa.CheckConstraint("size >= 0", name="size_positive"),)

    @property
    def is_current(self) -> bool:
        return self.replaced_by_id is None


class Message(Base):
    """A message of the dossier's thread between the organisation, CUF and the expert."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime]

    author: Mapped[User] = relationship()
    attachments: Mapped[list[Document]] = relationship(
        primaryjoin="Message.id == Document.message_id", viewonly=True
    )


class ThreadReadMarker(Base):
    """Up to when a user has read a dossier's thread (for unread markers)."""

    __tablename__ = "thread_read_markers"

    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    last_read_at: Mapped[datetime]


class EligibilityCheck(Base):
    """A reviewer's answer to one point of the call's recevabilité checklist."""

    __tablename__ = "eligibility_checks"

    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("eligibility_items.id"), primary_key=True)
    is_met: Mapped[bool]
    note: Mapped[str] = mapped_column(sa.Text, default="")
    checked_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    checked_at: Mapped[datetime]

    item: Mapped[EligibilityItem] = relationship()
