"""Money: cofinancing snapshots, agreements and their signatures, the payment schedule."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dcol.models.base import N_, Base, LabelledEnum, Money, enum_column, labelled

if TYPE_CHECKING:
    from dcol.models.applications import Application, Document
    from dcol.models.calls import CofinancingRule, Funder
    from dcol.models.users import User


@labelled(
    {
        "estimate": N_("Estimation"),
        "agreement": N_("Convention"),
        "final": N_("Définitif (coûts réels)"),
    }
)
class SnapshotKind(LabelledEnum):
    ESTIMATE = "estimate"
    AGREEMENT = "agreement"
    FINAL = "final"


class CofinancingSnapshot(Base):
    """One computation of a dossier's cofinancing, kept forever to be reproducible."""

    __tablename__ = "cofinancing_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    rule_id: Mapped[int] = mapped_column(sa.ForeignKey("cofinancing_rules.id"))
    kind: Mapped[SnapshotKind] = mapped_column(enum_column(SnapshotKind))
    inputs: Mapped[dict] = mapped_column(sa.JSON)
    result: Mapped[dict] = mapped_column(sa.JSON)
    total_cost: Mapped[Decimal] = mapped_column(Money)
    scheme_share: Mapped[Decimal] = mapped_column(Money)
    applicant_share: Mapped[Decimal] = mapped_column(Money)
    is_locked: Mapped[bool] = mapped_column(default=False)
    computed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    computed_at: Mapped[datetime]

    application: Mapped[Application] = relationship()
    rule: Mapped[CofinancingRule] = relationship()
    computed_by: Mapped[User | None] = relationship()
    shares: Mapped[list[CofinancingShare]] = relationship(
        back_populates="snapshot", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.CheckConstraint(
            "scheme_share + applicant_share = total_cost", name="shares_add_up"
        ),
        sa.CheckConstraint("scheme_share >= 0 AND applicant_share >= 0", name="shares_positive"),
    )


class CofinancingShare(Base):
    """A funder's part of a snapshot's scheme share (what the funder's envelope carries)."""

    __tablename__ = "cofinancing_shares"

    snapshot_id: Mapped[int] = mapped_column(
        sa.ForeignKey("cofinancing_snapshots.id", ondelete="CASCADE"), primary_key=True
    )
    funder_id: Mapped[int] = mapped_column(sa.ForeignKey("funders.id"), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Money)

    snapshot: Mapped[CofinancingSnapshot] = relationship(back_populates="shares")
    funder: Mapped[Funder] = relationship()

    __table_args__ = (sa.CheckConstraint("amount >= 0", name="amount_positive"),)


@labelled(
    {
        "draft": N_("En préparation"),
        "awaiting_signatures": N_("En attente de signatures"),
        "signed": N_("Signée"),
        "superseded": N_("Remplacée par un avenant"),
    }
)
class AgreementState(LabelledEnum):
    DRAFT = "draft"
    AWAITING_SIGNATURES = "awaiting_signatures"
    SIGNED = "signed"
    SUPERSEDED = "superseded"


class Agreement(Base):
    """A version of the convention (version 1) or of an avenant (versions 2, 3...)."""

    __tablename__ = "agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int]
    state: Mapped[AgreementState] = mapped_column(
        enum_column(AgreementState), default=AgreementState.DRAFT
    )
    snapshot_id: Mapped[int] = mapped_column(sa.ForeignKey("cofinancing_snapshots.id"))
    document_id: Mapped[int | None] = mapped_column(sa.ForeignKey("documents.id"))
    # SHA-256 of the exact PDF the parties sign.
    document_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    amendment_reason: Mapped[str] = mapped_column(sa.Text, default="")
    # What the version contracts: days, daily rate, costs, dates, deliverables (JSON strings).
    terms: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    signed_at: Mapped[datetime | None]

    application: Mapped[Application] = relationship()
    created_by: Mapped[User | None] = relationship()
    snapshot: Mapped[CofinancingSnapshot] = relationship()
    document: Mapped[Document | None] = relationship(foreign_keys=[document_id])
    signatures: Mapped[list[Signature]] = relationship(
        back_populates="agreement", cascade="all, delete-orphan"
    )

    __table_args__ = (sa.UniqueConstraint("application_id", "version"),)


@labelled({"cuf": N_("Cités Unies France"), "applicant": N_("La collectivité"), "expert": N_("L'expert")})
class Party(LabelledEnum):
    CUF = "cuf"
    APPLICANT = "applicant"
    EXPERT = "expert"


@labelled({"electronic": N_("Acceptation électronique"), "scan": N_("Scan signé à la main")})
class SignatureMethod(LabelledEnum):
    ELECTRONIC = "electronic"
    SCAN = "scan"


class Signature(Base):
    __tablename__ = "signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(
        sa.ForeignKey("agreements.id", ondelete="CASCADE"), index=True
    )
    party: Mapped[Party] = mapped_column(enum_column(Party))
    method: Mapped[SignatureMethod] = mapped_column(enum_column(SignatureMethod))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    signer_name: Mapped[str] = mapped_column(sa.String(200))
    signer_capacity: Mapped[str] = mapped_column(sa.String(200))
    signed_at: Mapped[datetime]
    ip_address: Mapped[str] = mapped_column(sa.String(45))
    document_sha256: Mapped[str] = mapped_column(sa.String(64))
    scan_document_id: Mapped[int | None] = mapped_column(sa.ForeignKey("documents.id"))

    agreement: Mapped[Agreement] = relationship(back_populates="signatures")
    user: Mapped[User] = relationship()
    scan_document: Mapped[Document | None] = relationship()

    __table_args__ = (sa.UniqueConstraint("agreement_id", "party"),)


@labelled(
    {
        "expert_advance": N_("Acompte à l'expert"),
        "expert_balance": N_("Solde à l'expert"),
        "applicant_contribution": N_("Appel de la contribution de la collectivité"),
        "grant_advance": N_("Avance de subvention"),
        "grant_balance": N_("Solde de subvention"),
        "applicant_refund": N_("Remboursement à la collectivité"),
    }
)
class PaymentKind(LabelledEnum):
    EXPERT_ADVANCE = "expert_advance"
    EXPERT_BALANCE = "expert_balance"
    APPLICANT_CONTRIBUTION = "applicant_contribution"
    GRANT_ADVANCE = "grant_advance"
    GRANT_BALANCE = "grant_balance"
    # What the collectivité paid beyond its final remainder, given back at closure.
    APPLICANT_REFUND = "applicant_refund"


@labelled(
    {
        "scheduled": N_("Prévu"),
        "held": N_("Bloqué (livrable attendu)"),
        "requested": N_("Demandé"),
        "paid": N_("Payé"),
        "cancelled": N_("Annulé"),
    }
)
class PaymentStatus(LabelledEnum):
    SCHEDULED = "scheduled"
    HELD = "held"
    REQUESTED = "requested"
    PAID = "paid"
    CANCELLED = "cancelled"


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    agreement_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agreements.id"))
    funder_id: Mapped[int | None] = mapped_column(sa.ForeignKey("funders.id"))
    kind: Mapped[PaymentKind] = mapped_column(enum_column(PaymentKind))
    amount: Mapped[Decimal] = mapped_column(Money)
    # What the call's envelope bears of it, and that part by funder code ({"AFD": "1500.00"}).
    scheme_part: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    funder_parts: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    # "start" or "closure": when it falls due (``due_on`` once the date is known).
    due: Mapped[str] = mapped_column(sa.String(10), default="start")
    due_on: Mapped[date | None]
    status: Mapped[PaymentStatus] = mapped_column(
        enum_column(PaymentStatus), default=PaymentStatus.SCHEDULED, index=True
    )
    held_for_deliverable_id: Mapped[int | None] = mapped_column(sa.ForeignKey("deliverables.id"))
    requested_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(sa.Text, default="")

    application: Mapped[Application] = relationship()
    funder: Mapped[Funder | None] = relationship()
    agreement: Mapped[Agreement | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint("amount >= 0", name="amount_positive"),
        sa.CheckConstraint("scheme_part >= 0 AND scheme_part <= amount", name="scheme_part_within"),
    )
