"""Calls (DCOL appels à candidature and appels à projets) and everything configured per call."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dcol.models.base import (
    N_,
    Base,
    LabelledEnum,
    Money,
    Rate,
    TimestampMixin,
    enum_column,
    labelled,
)

if TYPE_CHECKING:
    from dcol.models.users import User


@labelled({"dcol": N_("DCOL — appel à candidature"), "aap": N_("Appel à projets")})
class CallKind(LabelledEnum):
    DCOL = "dcol"
    AAP = "aap"


@labelled(
    {
        "climate": N_("Climat"),
        "water_sanitation": N_("Eau et assainissement"),
        "crisis_rehabilitation": N_("Crises et réhabilitation"),
        "economic_development": N_("Développement économique"),
        "gender": N_("Genre"),
        "youth_citizenship": N_("Jeunesse et éducation à la citoyenneté (ECSI)"),
        "culture": N_("Culture"),
        "food": N_("Alimentation"),
        "energy": N_("Énergie"),
        "waste": N_("Déchets"),
    }
)
class Theme(LabelledEnum):
    """The controlled vocabulary of CUF's thematic groups, shared by dossiers and experts."""

    CLIMATE = "climate"
    WATER_SANITATION = "water_sanitation"
    CRISIS_REHABILITATION = "crisis_rehabilitation"
    ECONOMIC_DEVELOPMENT = "economic_development"
    GENDER = "gender"
    YOUTH_CITIZENSHIP = "youth_citizenship"
    CULTURE = "culture"
    FOOD = "food"
    ENERGY = "energy"
    WASTE = "waste"


@labelled(
    {
        "expert_days": N_("Jours d'expertise × tarif journalier + frais de mission"),
        "project_budget": N_("Dépenses éligibles du budget du projet"),
    }
)
class CostBase(LabelledEnum):
    EXPERT_DAYS = "expert_days"
    PROJECT_BUDGET = "project_budget"


@labelled({"excluding_vat": N_("Hors taxes (HT)"), "including_vat": N_("Toutes taxes comprises (TTC)")})
class VatMode(LabelledEnum):
    EXCLUDING_VAT = "excluding_vat"
    INCLUDING_VAT = "including_vat"


class Call(TimestampMixin, Base):
    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[CallKind] = mapped_column(enum_column(CallKind))
    edition: Mapped[int]
    # Prefix of dossier references: "DCOL12" gives DCOL12-0007.
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    # Who runs the call for projects (e.g. Département de l'Isère); CUF for DCOL.
    owner_name: Mapped[str] = mapped_column(sa.String(200), default="Cités Unies France")
    is_published: Mapped[bool] = mapped_column(default=False)
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    information_session_at: Mapped[datetime | None]
    committee_planned_on: Mapped[date | None]

    # Eligibility: organisation kinds allowed (OrganisationKind values), CUF members only or not.
    eligible_kinds: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    members_only: Mapped[bool] = mapped_column(default=False)

    # Review
    min_reviewers: Mapped[int] = mapped_column(default=2)
    # Follow-up alerts: a mission without a report for this many weeks, an agreement unsigned
    # this many days after it was issued.
    report_every_weeks: Mapped[int] = mapped_column(default=6, server_default="6")
    signature_within_days: Mapped[int] = mapped_column(default=30, server_default="30")
    overall_threshold: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 2))  # out of 100
    divergence_threshold: Mapped[Decimal] = mapped_column(sa.Numeric(3, 1), default=Decimal("2"))
    # Ordered tie-break keys for the ranking, e.g. ["criterion:1", "submitted_at"].
    tie_breaks: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    grid_frozen_at: Mapped[datetime | None]

    # Sequence of dossier numbers, incremented under a row lock.
    last_number: Mapped[int] = mapped_column(default=0)

    tracks: Mapped[list[Track]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="Track.position"
    )
    document_requirements: Mapped[list[DocumentRequirement]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="DocumentRequirement.position"
    )
    eligibility_items: Mapped[list[EligibilityItem]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="EligibilityItem.position"
    )
    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="Criterion.position"
    )
    cofinancing_rules: Mapped[list[CofinancingRule]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="CofinancingRule.version"
    )
    envelopes: Mapped[list[Envelope]] = relationship(
        back_populates="call", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.CheckConstraint("closes_at > opens_at", name="closes_after_opening"),
        sa.CheckConstraint("min_reviewers >= 0", name="min_reviewers_positive"),
        sa.CheckConstraint("report_every_weeks > 0", name="report_every_weeks_positive"),
        sa.CheckConstraint("signature_within_days > 0", name="signature_within_days_positive"),
    )

    def is_open(self, at: datetime) -> bool:
        return self.is_published and self.opens_at <= at < self.closes_at

    def __repr__(self) -> str:
        return f"<Call {self.code}>"


class Track(Base):
    """A volet of a call (for DCOL: the dimension — strategy, project, climate)."""

    __tablename__ = "tracks"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(sa.String(40))
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    # Places where the action may take place: ISO 3166-1 alpha-2 codes; empty = anywhere.
    eligible_countries: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # For tracks acting in France: French department codes ("38"); empty = any.
    eligible_departments: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # Organisation kinds allowed on this track on top of the call's rule; empty = the call's.
    eligible_kinds: Mapped[list[str]] = mapped_column(sa.JSON, default=list)

    call: Mapped[Call] = relationship(back_populates="tracks")

    __table_args__ = (sa.UniqueConstraint("call_id", "code"),)


class DocumentRequirement(Base):
    """An item of the call's document checklist."""

    __tablename__ = "document_requirements"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    track_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tracks.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(sa.String(40))
    label: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    is_required: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)

    call: Mapped[Call] = relationship(back_populates="document_requirements")

    __table_args__ = (sa.UniqueConstraint("call_id", "code"),)


class EligibilityItem(Base):
    """A point of the recevabilité checklist a reviewer ticks."""

    __tablename__ = "eligibility_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(sa.String(300))
    position: Mapped[int] = mapped_column(default=0)

    call: Mapped[Call] = relationship(back_populates="eligibility_items")


class Criterion(Base):
    """A criterion of the call's scoring grid."""

    __tablename__ = "criteria"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(sa.String(200))
    guidance: Mapped[str] = mapped_column(sa.Text, default="")
    weight: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2), default=Decimal("1"))
    scale_max: Mapped[Decimal] = mapped_column(sa.Numeric(4, 1), default=Decimal("5"))
    step: Mapped[Decimal] = mapped_column(sa.Numeric(3, 2), default=Decimal("0.5"))
    threshold: Mapped[Decimal | None] = mapped_column(sa.Numeric(4, 1))
    position: Mapped[int] = mapped_column(default=0)

    call: Mapped[Call] = relationship(back_populates="criteria")

    __table_args__ = (
        sa.CheckConstraint("weight > 0", name="weight_positive"),
        sa.CheckConstraint("scale_max > 0", name="scale_positive"),
    )


class Funder(Base):
    """A funder of a scheme: AFD, Caisse des Dépôts, the ministry (DCTCIV)..."""

    __tablename__ = "funders"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))


class CofinancingRule(Base):
    """One version of a call's cofinancing rules; dossiers keep the version they used."""

    __tablename__ = "cofinancing_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    effective_from: Mapped[date]
    # OrganisationKind value -> rate in percent as a string ("80.00"); absent = not eligible.
    rates: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    cost_base: Mapped[CostBase] = mapped_column(enum_column(CostBase))
    vat_mode: Mapped[VatMode] = mapped_column(enum_column(VatMode), default=VatMode.EXCLUDING_VAT)
    vat_rate: Mapped[Decimal] = mapped_column(Rate, default=Decimal("20"))
    ceiling: Mapped[Decimal | None] = mapped_column(Money)
    min_applicant_share: Mapped[Decimal | None] = mapped_column(Money)
    # [{"funder": "AFD", "percent": "50"} | {"funder": "CDC", "amount": "2000.00"}, ...]
    funder_split: Mapped[list[dict]] = mapped_column(sa.JSON, default=list)
    # Payment schedule: advance percentage at start, the balance at closure.
    advance_percent: Mapped[Decimal] = mapped_column(Rate, default=Decimal("30"))
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    call: Mapped[Call] = relationship(back_populates="cofinancing_rules")
    created_by: Mapped[User | None] = relationship()

    __table_args__ = (sa.UniqueConstraint("call_id", "version"),)


class Envelope(Base):
    """The budget of a call, as a whole (no funder) or for one funder."""

    __tablename__ = "envelopes"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    funder_id: Mapped[int | None] = mapped_column(sa.ForeignKey("funders.id"))
    amount: Mapped[Decimal] = mapped_column(Money)

    call: Mapped[Call] = relationship(back_populates="envelopes")
    funder: Mapped[Funder | None] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("call_id", "funder_id"),
        sa.CheckConstraint("amount >= 0", name="amount_positive"),
    )
