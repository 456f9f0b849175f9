"""Organisations: the collectivités that apply, and invitations to join them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.fr import siren as siren_number

from dcol.models.base import N_, Base, LabelledEnum, TimestampMixin, enum_column, labelled

if TYPE_CHECKING:
    from dcol.models.users import User


@labelled(
    {
        "commune": N_("Commune"),
        "intercommunality": N_("Intercommunalité (métropole, communauté urbaine, d'agglomération, de communes)"),
        "syndicate": N_("Syndicat (mixte, intercommunal)"),
        "department": N_("Département"),
        "region": N_("Région"),
        "overseas": N_("Collectivité d'outre-mer"),
        "other": N_("Autre organisme"),
    }
)
class OrganisationKind(LabelledEnum):
    COMMUNE = "commune"
    INTERCOMMUNALITY = "intercommunality"
    SYNDICATE = "syndicate"
    DEPARTMENT = "department"
    REGION = "region"
    OVERSEAS = "overseas"
    OTHER = "other"

    @property
    def is_local_authority(self) -> bool:
        """French collectivités territoriales and their groupings (80 % DCOL rate)."""
        return self is not OrganisationKind.OTHER


@labelled({"pending": N_("En attente de validation"), "active": N_("Validée"), "rejected": N_("Refusée")})
class OrganisationStatus(LabelledEnum):
    PENDING = "pending"
    ACTIVE = "active"
    REJECTED = "rejected"


class Organisation(TimestampMixin, Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[OrganisationKind] = mapped_column(enum_column(OrganisationKind))
    siren: Mapped[str] = mapped_column(sa.String(9), unique=True)
    status: Mapped[OrganisationStatus] = mapped_column(
        enum_column(OrganisationStatus), default=OrganisationStatus.PENDING, index=True
    )
    # French administrative region (e.g. "Auvergne-Rhône-Alpes") and department code ("38", "974").
    region: Mapped[str | None] = mapped_column(sa.String(100))
    department_code: Mapped[str | None] = mapped_column(sa.String(3))
    population: Mapped[int | None] = mapped_column(sa.Integer)
    is_cuf_member: Mapped[bool] = mapped_column(default=False)
    address: Mapped[str | None] = mapped_column(sa.String(300))
    postcode: Mapped[str | None] = mapped_column(sa.String(10))
    city: Mapped[str | None] = mapped_column(sa.String(120))
    website: Mapped[str | None] = mapped_column(sa.String(300))
    validated_at: Mapped[datetime | None]
    validated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", use_alter=True))

    members: Mapped[list[User]] = relationship(
        back_populates="organisation", foreign_keys="User.organisation_id"
    )

    __table_args__ = (
        sa.CheckConstraint("length(siren) = 9", name="siren_nine_digits"),
        sa.CheckConstraint("population IS NULL OR population >= 0", name="population_positive"),
    )

    @validates("siren")
    def _validate_siren(self, key: str, value: str) -> str:
        """Only a valid SIREN (nine digits, Luhn check digit) is ever stored, whoever writes it."""
        try:
            return siren_number.validate(value)
        except StdnumValidationError as error:
            raise ValueError(f"invalid SIREN {value!r}: {error}") from None

    @property
    def is_active(self) -> bool:
        return self.status is OrganisationStatus.ACTIVE

    def __repr__(self) -> str:
        return f"<Organisation {self.siren} {self.name!r}>"


class Invitation(Base):
    """An expiring invitation, sent by a signatory, for a colleague to join the organisation."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    is_signatory: Mapped[bool] = mapped_column(default=False)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    invited_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    organisation: Mapped[Organisation] = relationship()
    invited_by: Mapped[User] = relationship(foreign_keys=[invited_by_id])
