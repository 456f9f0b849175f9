"""All models, importable from ``dcol.models`` (Alembic sees them all through this module)."""

from dcol.models.applications import (
    EDITABLE_STATES,
    FINAL_STATES,
    Application,
    ApplicationEditor,
    ApplicationState,
    BudgetLine,
    BudgetLineKind,
    Document,
    DocumentKind,
    EligibilityCheck,
    Message,
    Submission,
    ThreadReadMarker,
)
from dcol.models.audit import AuditEvent
from dcol.models.base import Base, LabelledEnum, utcnow
from dcol.models.calls import (
    Call,
    CallKind,
    CofinancingRule,
    CostBase,
    Criterion,
    DocumentRequirement,
    EligibilityItem,
    Envelope,
    Funder,
    Theme,
    Track,
    VatMode,
)
from dcol.models.experts import Expert, ExpertConflict, ExpertKind, Unavailability, WorldRegion
from dcol.models.finance import (
    Agreement,
    AgreementState,
    CofinancingShare,
    CofinancingSnapshot,
    Party,
    Payment,
    PaymentKind,
    PaymentStatus,
    Signature,
    SignatureMethod,
    SnapshotKind,
)
from dcol.models.mail import MailStatus, OutgoingMail
from dcol.models.missions import (
    Alert,
    AlertKind,
    Deliverable,
    DeliverableState,
    Expense,
    MatchingBrief,
    Milestone,
    Mission,
    MissionProposal,
    MissionReport,
    Phase,
    ProposalStatus,
    Satisfaction,
)
from dcol.models.organisations import Invitation, Organisation, OrganisationKind, OrganisationStatus
from dcol.models.reviews import (
    CommitteeDecision,
    CommitteeMember,
    CommitteeSession,
    ConflictStatus,
    Consensus,
    Decision,
    Opinion,
    Review,
    ReviewScore,
    ReviewState,
    SessionState,
)
from dcol.models.users import STAFF_ROLES, ApiToken, MembershipStatus, Role, User, UserRole

__all__ = [name for name in dir() if not name.startswith("_")]
