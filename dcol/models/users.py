"""Users, their roles and API tokens."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dcol.models.base import N_, Base, LabelledEnum, TimestampMixin, enum_column, labelled

if TYPE_CHECKING:
    from dcol.models.experts import Expert
    from dcol.models.organisations import Organisation


@labelled(
    {
        "applicant": N_("Collectivité"),
        "reviewer": N_("Instructeur"),
        "committee": N_("Membre du comité"),
        "manager": N_("Chargé de mission"),
        "expert": N_("Expert"),
        "admin": N_("Administrateur"),
    }
)
class Role(LabelledEnum):
    APPLICANT = "applicant"
    REVIEWER = "reviewer"
    COMMITTEE = "committee"
    MANAGER = "manager"
    EXPERT = "expert"
    ADMIN = "admin"


STAFF_ROLES = frozenset({Role.REVIEWER, Role.COMMITTEE, Role.MANAGER, Role.ADMIN})


@labelled({"pending": N_("En attente de validation"), "active": N_("Active"), "rejected": N_("Refusée")})
class MembershipStatus(LabelledEnum):
    PENDING = "pending"
    ACTIVE = "active"
    REJECTED = "rejected"


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[Role] = mapped_column(enum_column(Role), primary_key=True)


class User(UserMixin, TimestampMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(200))
    job_title: Mapped[str | None] = mapped_column(sa.String(200))
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    # Deactivated accounts cannot log in nor act through the API.
    is_enabled: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str] = mapped_column(sa.String(5), default="fr")
    last_login_at: Mapped[datetime | None]

    # Applicants: one organisation, a membership validated by CUF staff, the signatory flag.
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id"), index=True
    )
    membership_status: Mapped[MembershipStatus | None] = mapped_column(
        enum_column(MembershipStatus)
    )
    is_signatory: Mapped[bool] = mapped_column(default=False)

    # Experts: the consultancy (or independent expert) the user acts for.
    expert_id: Mapped[int | None] = mapped_column(sa.ForeignKey("experts.id"), index=True)

    organisation: Mapped[Organisation | None] = relationship(
        back_populates="members", foreign_keys=[organisation_id]
    )
    expert: Mapped[Expert | None] = relationship(back_populates="users")
    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
    api_tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(row.role for row in self.role_rows)

    def has_role(self, *roles: Role) -> bool:
        return not self.roles.isdisjoint(roles)

    def add_role(self, role: Role) -> None:
        if role not in self.roles:
            self.role_rows.append(UserRole(role=role))

    def remove_role(self, role: Role) -> None:
        self.role_rows[:] = [row for row in self.role_rows if row.role is not role]

    @property
    def is_staff(self) -> bool:
        return not self.roles.isdisjoint(STAFF_ROLES)

    @property
    def is_active(self) -> bool:  # Flask-Login: inactive users cannot log in
        return self.is_enabled

    @property
    def session_fingerprint(self) -> str:
        """Changes with the password: sessions and "remember me" cookies carry it, so that a new
        password (or a reset) ends every session opened with the old one."""
        return hashlib.sha256((self.password_hash or "").encode()).hexdigest()[:16]

    def get_id(self) -> str:  # Flask-Login: what the session and the remember cookie hold
        return f"{self.id}:{self.session_fingerprint}"

    @property
    def is_active_member(self) -> bool:
        """An applicant whose membership and organisation CUF staff have validated."""
        return (
            self.is_enabled
            and Role.APPLICANT in self.roles
            and self.organisation is not None
            and self.organisation.is_active
            and self.membership_status is MembershipStatus.ACTIVE
        )

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    prefix: Mapped[str] = mapped_column(sa.String(12))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="api_tokens")
