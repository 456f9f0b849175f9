"""What awaits each user's action, by role, and the navigation their roles open."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from dcol.extensions import db
from dcol.models import (
    Application,
    ApplicationState,
    Call,
    CommitteeMember,
    CommitteeSession,
    ConflictStatus,
    MembershipStatus,
    Mission,
    MissionProposal,
    Organisation,
    OrganisationStatus,
    ProposalStatus,
    Review,
    ReviewState,
    Role,
    SessionState,
    User,
    utcnow,
)
from dcol.permissions import Action, can

QUEUE_LIMIT = 20


@dataclass
class Task:
    title: str
    detail: str = ""
    url: str | None = None


@dataclass
class Section:
    role: Role
    heading: str
    empty: str
    tasks: list[Task] = field(default_factory=list)


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    # Whether the user is shown the item: the same permission its page checks.
    shows: Callable[[User], bool] = lambda user: True


def _is_applicant(user: User) -> bool:
    return Role.APPLICANT in user.roles


NAVIGATION = (
    NavItem("home.index", _l("Accueil")),
    NavItem("applications.index", _l("Dossiers")),
    NavItem("reviews.mine", _l("Mes évaluations"), lambda user: Role.REVIEWER in user.roles),
    NavItem("reviews.calls", _l("Instruction des appels"),
            lambda user: user.has_role(Role.MANAGER, Role.ADMIN, Role.COMMITTEE)),
    NavItem("calls.index", _l("Appels ouverts"), _is_applicant),
    NavItem("organisations.mine", _l("Mon organisation"),
            lambda user: _is_applicant(user) and user.organisation_id is not None),
    NavItem("experts.proposals", _l("Mes propositions"),
            lambda user: Role.EXPERT in user.roles and user.expert_id is not None),
    NavItem("home.expert_profile", _l("Ma fiche expert"),
            lambda user: user.expert is not None and can(user, Action.EXPERT_VIEW, user.expert)),
    NavItem("experts.index", _l("Vivier d'experts"), lambda user: can(user, Action.EXPERT_VIEW_POOL)),
    NavItem("missions.index", _l("Suivi des accompagnements"),
            lambda user: user.has_role(Role.MANAGER, Role.ADMIN) or user.is_active_member
            or (Role.EXPERT in user.roles and user.expert_id is not None)),
    NavItem("dashboards.index", _l("Pilotage"), lambda user: can(user, Action.DASHBOARD_VIEW)),
    NavItem("capitalisation.search", _l("Capitalisation"),
            lambda user: can(user, Action.CAPITALISATION_SEARCH)),
    NavItem("home.organisations", _l("Organisations"),
            lambda user: can(user, Action.ORG_VALIDATE)),
    NavItem("organisations.pending", _l("Inscriptions à valider"),
            lambda user: can(user, Action.ORG_VALIDATE)),
    NavItem("home.users", _l("Utilisateurs"), lambda user: can(user, Action.USERS_MANAGE)),
    NavItem("accounts.api_tokens", _l("Jetons d'API")),
)


def navigation_for(user: User) -> list[NavItem]:
    return [item for item in NAVIGATION if item.shows(user)]


def _dossier_task(app: Application, detail: str = "") -> Task:
    from flask import url_for

    return Task(
        f"{app.reference} — {app.title or app.organisation.name}",
        detail or app.state.label,
        url_for("applications.detail", application_id=app.id),
    )


def _applicant_section(user: User) -> Section:
    section = Section(
        Role.APPLICANT,
        str(_l("Dossiers de mon organisation à compléter")),
        str(_l("Aucun dossier n'attend d'action de votre part.")),
    )
    if user.membership_status is MembershipStatus.REJECTED:
        section.tasks.append(
            Task(
                str(_l("Votre inscription a été refusée par Cités Unies France.")),
                str(_l("Le motif vous a été envoyé par e-mail.")),
            )
        )
        return section
    if not user.is_active_member:
        section.tasks.append(
            Task(
                str(_l("Votre compte est en attente de validation par Cités Unies France.")),
                str(_l("Vous pourrez déposer un dossier dès qu'il sera validé.")),
            )
        )
        return section
    apps = db.session.scalars(
        sa.select(Application)
        .options(joinedload(Application.organisation))
        .where(
            Application.organisation_id == user.organisation_id,
            Application.state.in_(
                [ApplicationState.DRAFT, ApplicationState.CHANGES_REQUESTED,
                 ApplicationState.AGREEMENT]
            ),
        )
        .order_by(Application.updated_at.desc())
        .limit(QUEUE_LIMIT)
    )
    section.tasks = [_dossier_task(app) for app in apps]
    section.tasks.extend(
        _unread_message_tasks(user, Application.organisation_id == user.organisation_id)
    )
    return section


def _unread_message_tasks(user: User, condition: sa.ColumnElement[bool]) -> list[Task]:
    """One task per dossier (matching ``condition``) whose thread holds unread messages."""
    from flask import url_for
    from flask_babel import ngettext

    from dcol.messages.services import unread_threads

    return [
        Task(
            ngettext("%(num)d message non lu — %(reference)s",
                     "%(num)d messages non lus — %(reference)s", count,
                     reference=app.reference),
            app.title or app.organisation.name,
            url_for("messages.thread", application_id=app.id),
        )
        for app, count in unread_threads(user, condition, QUEUE_LIMIT)
    ]


def _reviewer_section(user: User) -> Section:
    from flask import url_for

    section = Section(
        Role.REVIEWER,
        str(_l("Évaluations qui vous sont confiées")),
        str(_l("Aucune évaluation en attente.")),
    )
    reviews = db.session.scalars(
        sa.select(Review)
        .options(joinedload(Review.application).joinedload(Application.organisation))
        .where(
            Review.reviewer_id == user.id,
            Review.state == ReviewState.DRAFT,
            Review.conflict_status != ConflictStatus.CONFLICT,
        )
        .order_by(Review.assigned_at)
        .limit(QUEUE_LIMIT)
    )
    for review in reviews:
        detail = (
            str(_l("Déclaration d'absence de conflit d'intérêts attendue"))
            if review.conflict_status is ConflictStatus.PENDING
            else str(_l("Évaluation à rédiger"))
        )
        task = _dossier_task(review.application, detail)
        task.url = url_for("reviews.review", application_id=review.application_id)
        section.tasks.append(task)
    return section


def _committee_section(user: User) -> Section:
    section = Section(
        Role.COMMITTEE,
        str(_l("Vos prochains comités de sélection")),
        str(_l("Aucun comité programmé.")),
    )
    sessions = db.session.scalars(
        sa.select(CommitteeSession)
        .join(CommitteeMember)
        .options(joinedload(CommitteeSession.call))
        .where(CommitteeMember.user_id == user.id, CommitteeSession.state != SessionState.CLOSED)
        .order_by(CommitteeSession.held_at)
        .limit(QUEUE_LIMIT)
    )
    from flask import url_for

    from dcol.i18n import format_moment

    section.tasks = [Task(s.title, f"{s.call.title} — {format_moment(s.held_at)}",
                          url_for("committee.session", session_id=s.id)) for s in sessions]
    return section


def _manager_section(user: User) -> Section:
    section = Section(
        Role.MANAGER,
        str(_l("À traiter par le chargé de mission")),
        str(_l("Rien en attente.")),
    )
    counts = dict(
        db.session.execute(
            sa.select(Application.state, sa.func.count())
            .where(
                Application.state.in_(
                    [
                        ApplicationState.SUBMITTED,
                        ApplicationState.ELIGIBLE,
                        ApplicationState.SELECTED,
                        ApplicationState.MATCHING,
                        ApplicationState.AGREEMENT,
                        ApplicationState.FINAL_REPORT,
                    ]
                )
            )
            .group_by(Application.state)
        ).all()
    )
    from flask import url_for
    from flask_babel import ngettext

    # Literal ngettext calls, so that both forms are extracted for translation.
    wording = {
        ApplicationState.SUBMITTED: lambda num: ngettext(
            "%(num)d dossier déposé dont la recevabilité est à vérifier",
            "%(num)d dossiers déposés dont la recevabilité est à vérifier",
            num,
        ),
        ApplicationState.ELIGIBLE: lambda num: ngettext(
            "%(num)d dossier recevable à mettre en instruction",
            "%(num)d dossiers recevables à mettre en instruction",
            num,
        ),
        ApplicationState.SELECTED: lambda num: ngettext(
            "%(num)d dossier retenu à engager",
            "%(num)d dossiers retenus à engager",
            num,
        ),
        ApplicationState.MATCHING: lambda num: ngettext(
            "%(num)d dossier en recherche d'expert",
            "%(num)d dossiers en recherche d'expert",
            num,
        ),
        ApplicationState.AGREEMENT: lambda num: ngettext(
            "%(num)d convention en cours de signature",
            "%(num)d conventions en cours de signature",
            num,
        ),
        ApplicationState.FINAL_REPORT: lambda num: ngettext(
            "%(num)d rapport final à valider avant clôture",
            "%(num)d rapports finaux à valider avant clôture",
            num,
        ),
    }
    for state, wording_of in wording.items():
        if counts.get(state):
            section.tasks.append(
                Task(
                    wording_of(counts[state]),
                    url=url_for("applications.index", etat=state.value),
                )
            )
    section.tasks.extend(_unread_message_tasks(user, sa.true()))
    section.tasks.extend(_pending_validations())
    return section


def _pending_validations() -> list[Task]:
    tasks = []
    from flask import url_for
    from flask_babel import ngettext

    url = url_for("organisations.pending")
    orgs = db.session.scalar(
        sa.select(sa.func.count()).where(Organisation.status == OrganisationStatus.PENDING)
    )
    if orgs:
        tasks.append(
            Task(
                ngettext("%(num)d organisation à valider", "%(num)d organisations à valider", orgs),
                url=url,
            )
        )
    members = db.session.scalar(
        sa.select(sa.func.count()).where(User.membership_status == MembershipStatus.PENDING)
    )
    if members:
        tasks.append(
            Task(
                ngettext(
                    "%(num)d compte de collectivité à valider",
                    "%(num)d comptes de collectivité à valider",
                    members,
                ),
                url=url,
            )
        )
    return tasks


def _expert_section(user: User) -> Section:
    section = Section(
        Role.EXPERT,
        str(_l("Propositions et missions")),
        str(_l("Aucune proposition ni mission en cours.")),
    )
    if user.expert_id is None:
        return section
    proposals = db.session.scalars(
        sa.select(MissionProposal)
        .options(joinedload(MissionProposal.application).joinedload(Application.organisation))
        .where(
            MissionProposal.expert_id == user.expert_id,
            MissionProposal.status == ProposalStatus.PENDING,
        )
        .limit(QUEUE_LIMIT)
    )
    for proposal in proposals:
        section.tasks.append(
            _dossier_task(proposal.application, str(_l("Proposition de mission à examiner")))
        )
    missions = db.session.scalars(
        sa.select(Mission)
        .join(Application)
        .options(joinedload(Mission.application).joinedload(Application.organisation))
        .where(
            Mission.expert_id == user.expert_id,
            Application.state.in_([ApplicationState.AGREEMENT, ApplicationState.IN_PROGRESS]),
        )
        .limit(QUEUE_LIMIT)
    )
    for mission in missions:
        section.tasks.append(_dossier_task(mission.application))
    return section


def _admin_section(user: User) -> Section:
    section = Section(
        Role.ADMIN, str(_l("Administration")), str(_l("Rien en attente."))
    )
    now = utcnow()
    open_calls = db.session.scalars(
        sa.select(Call)
        .where(Call.is_published.is_(True), Call.opens_at <= now, Call.closes_at > now)
        .order_by(Call.closes_at)
    )
    from dcol.i18n import format_moment

    for call in open_calls:
        section.tasks.append(
            Task(call.title, str(_l("Ouvert jusqu'au %(date)s", date=format_moment(call.closes_at))))
        )
    section.tasks.extend(_pending_validations())
    return section


_SECTIONS = {
    Role.APPLICANT: _applicant_section,
    Role.REVIEWER: _reviewer_section,
    Role.COMMITTEE: _committee_section,
    Role.MANAGER: _manager_section,
    Role.EXPERT: _expert_section,
    Role.ADMIN: _admin_section,
}


def work_queue(user: User) -> list[Section]:
    """One section per role of the user, in a fixed order, listing what awaits them."""
    return [build(user) for role, build in _SECTIONS.items() if role in user.roles]
