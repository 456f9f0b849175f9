"""The expert pool: consultancies and independent experts, their availability and conflicts."""

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
    from dcol.models.organisations import Organisation
    from dcol.models.users import User


@labelled({"consultancy": N_("Cabinet"), "person": N_("Expert indépendant")})
class ExpertKind(LabelledEnum):
    CONSULTANCY = "consultancy"
    PERSON = "person"


@labelled(
    {
        "africa": N_("Afrique"),
        "americas": N_("Amériques"),
        "asia": N_("Asie"),
        "mediterranean": N_("Méditerranée"),
        "europe": N_("Europe"),
        "france": N_("France (dont outre-mer)"),
    }
)
class WorldRegion(LabelledEnum):
    """CUF's country groups, used as zones of experts."""

    AFRICA = "africa"
    AMERICAS = "americas"
    ASIA = "asia"
    MEDITERRANEAN = "mediterranean"
    EUROPE = "europe"
    FRANCE = "france"


class Expert(TimestampMixin, Base):
    __tablename__ = "experts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[ExpertKind] = mapped_column(enum_column(ExpertKind))
    siret: Mapped[str | None] = mapped_column(sa.String(14))
    contact_name: Mapped[str] = mapped_column(sa.String(200), default="")
    email: Mapped[str] = mapped_column(sa.String(254))
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    website: Mapped[str | None] = mapped_column(sa.String(300))
    address: Mapped[str | None] = mapped_column(sa.String(300))
    # Theme values (controlled vocabulary) and free keywords.
    skills: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    keywords: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # ISO 3166-1 alpha-2 country codes and WorldRegion values.
    countries: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    regions: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # ISO 639-1 language codes.
    languages: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    daily_rate: Mapped[Decimal] = mapped_column(Money)  # excluding VAT
    vat_rate: Mapped[Decimal] = mapped_column(Rate, default=Decimal("20"))
    capacity: Mapped[int] = mapped_column(default=2)  # concurrent missions
    references: Mapped[str] = mapped_column(sa.Text, default="")
    is_active: Mapped[bool] = mapped_column(default=True)

    users: Mapped[list[User]] = relationship(back_populates="expert")
    unavailabilities: Mapped[list[Unavailability]] = relationship(
        back_populates="expert", cascade="all, delete-orphan", order_by="Unavailability.starts_on"
    )
    conflicts: Mapped[list[ExpertConflict]] = relationship(
        back_populates="expert", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.CheckConstraint("capacity >= 0", name="capacity_positive"),
        sa.CheckConstraint("daily_rate >= 0", name="daily_rate_positive"),
    )

    def __repr__(self) -> str:
        return f"<Expert {self.name!r}>"


class Unavailability(Base):
    __tablename__ = "expert_unavailabilities"

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(
        sa.ForeignKey("experts.id", ondelete="CASCADE"), index=True
    )
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    reason: Mapped[str] = mapped_column(sa.String(200), default="")

    expert: Mapped[Expert] = relationship(back_populates="unavailabilities")

    __table_args__ = (sa.CheckConstraint("ends_on >= starts_on", name="ends_after_start"),)


class ExpertConflict(Base):
    """A link declared between an expert and an organisation: it may not serve it."""

    __tablename__ = "expert_conflicts"

    expert_id: Mapped[int] = mapped_column(
        sa.ForeignKey("experts.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id"), primary_key=True
    )
    description: Mapped[str] = mapped_column(sa.Text, default="")
    declared_at: Mapped[datetime]

    expert: Mapped[Expert] = relationship(back_populates="conflicts")
    organisation: Mapped[Organisation] = relationship()
