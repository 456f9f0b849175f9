"""The one place that answers "may user U do action A on object O?".

Every view, the JSON API, the CLI and the workflows ask ``can(user, action, obj)``; templates
only read the answers. Whatever a user may not see is answered with a 404 by ``load_or_404``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

import sqlalchemy as sa
from flask import abort

from dcol.extensions import db
from dcol.models import (
    Application,
    ApplicationState,
    Call,
    CommitteeMember,
    CommitteeSession,
    ConflictStatus,
    Document,
    DocumentKind,
    Expert,
    Mission,
    MissionProposal,
    Organisation,
    ProposalStatus,
    Review,
    ReviewState,
    Role,
    SessionState,
    User,
)


class Action(enum.StrEnum):
    # Calls
    CALL_VIEW = "call.view"
    CALL_EDIT = "call.edit"
    CALL_VIEW_RANKING = "call.view_ranking"
    CALL_MANAGE = "call.manage"  # run the call: reviewers, committee sessions, exports
    # Dossiers
    APP_CREATE = "application.create"  # obj: the Call
    APP_VIEW = "application.view"
    APP_EDIT = "application.edit"
    APP_SUBMIT = "application.submit"
    APP_WITHDRAW = "application.withdraw"
    APP_SIGN = "application.sign"
    APP_MESSAGE = "application.message"
    APP_MANAGE_EDITORS = "application.manage_editors"
    APP_CHECK_ELIGIBILITY = "application.check_eligibility"
    APP_ASSIGN_REVIEWERS = "application.assign_reviewers"
    APP_DECLARE_CONFLICT = "application.declare_conflict"
    APP_SCORE = "application.score"
    APP_VIEW_REVIEWS = "application.view_reviews"
    APP_DECIDE = "application.decide"
    APP_MANAGE = "application.manage"
    APP_VIEW_FINANCE = "application.view_finance"
    APP_VIEW_FUNDERS = "application.view_funders"
    APP_REPORT = "application.report"
    APP_VALIDATE_DELIVERABLE = "application.validate_deliverable"
    APP_VIEW_AUDIT = "application.view_audit"
    APP_EDIT_PLAN = "application.edit_plan"  # the mission plan (milestones)
    APP_VALIDATE_FOR_CUF = "application.validate_for_cuf"  # CUF's validation of deliverables
    APP_ANSWER_SATISFACTION = "application.answer_satisfaction"
    APP_PUBLISH = "application.publish"  # open a closed support to collectivités' search
    DOCUMENT_DOWNLOAD = "document.download"
    # Organisations and people
    ORG_VIEW = "organisation.view"
    ORG_MANAGE_MEMBERS = "organisation.manage_members"
    ORG_VALIDATE = "organisation.validate"
    USERS_MANAGE = "users.manage"
    # Experts and missions
    EXPERT_VIEW_POOL = "expert.view_pool"
    EXPERT_VIEW = "expert.view"
    EXPERT_EDIT = "expert.edit"
    PROPOSAL_RESPOND = "proposal.respond"
    # Follow-up across dossiers
    DASHBOARD_VIEW = "dashboard.view"  # obj: a Call, or None for every call
    FOLLOW_UP_EXPORT = "follow_up.export"
    DOSSIERS_EXPORT = "dossiers.export"  # the dossiers one sees, as a spreadsheet
    CAPITALISATION_SEARCH = "capitalisation.search"
    CAPITALISATION_VIEW = "capitalisation.view"  # obj: a closed Application
    # Committee
    SESSION_VIEW = "session.view"
    SESSION_DECIDE = "session.decide"


Rule = Callable[[User, object], bool]
_RULES: dict[Action, Rule] = {}

# Dossiers a committee member may see: those that reached the committee.
COMMITTEE_STATES = frozenset(
    {
        ApplicationState.REVIEWED,
        ApplicationState.WAITLISTED,
        ApplicationState.SELECTED,
        ApplicationState.REJECTED,
    }
)
PRE_AGREEMENT_STATES = frozenset(
    {
        ApplicationState.DRAFT,
        ApplicationState.SUBMITTED,
        ApplicationState.CHANGES_REQUESTED,
        ApplicationState.ELIGIBLE,
        ApplicationState.UNDER_REVIEW,
        ApplicationState.REVIEWED,
        ApplicationState.SELECTED,
        ApplicationState.WAITLISTED,
        ApplicationState.MATCHING,
        ApplicationState.EXPERT_PROPOSED,
        ApplicationState.AGREEMENT,
    }
)


def rule(*actions: Action):
    def register(func: Rule) -> Rule:
        for action in actions:
            if action in _RULES:
                raise RuntimeError(f"two rules for {action}")
            _RULES[action] = func
        return func

    return register


def can(user: User | None, action: Action, obj: object = None) -> bool:
    """True when ``user`` may do ``action`` on ``obj``. Anonymous and disabled users may only
    read published calls."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_enabled:
        return action is Action.CALL_VIEW and isinstance(obj, Call) and obj.is_published
    return _RULES[action](user, obj)


def require(user: User | None, action: Action, obj: object = None) -> None:
    """Abort with 404 when ``user`` may not do ``action`` on ``obj``."""
    if not can(user, action, obj):
        abort(404)


def load_or_404(model: type, object_id: int, action: Action, user: User | None = None):
    """Load ``model`` by id for ``action``, answering 404 both when missing and when forbidden."""
    from flask_login import current_user

    obj = db.session.get(model, object_id)
    if obj is None:
        abort(404)
    require(user if user is not None else current_user, action, obj)
    return obj


# --- relationships between a user and a dossier --------------------------------------------


def is_manager(user: User) -> bool:
    return Role.MANAGER in user.roles


def is_staff_overseer(user: User) -> bool:
    """Managers and admins see every dossier."""
    return user.has_role(Role.MANAGER, Role.ADMIN)


def is_member_of(user: User, organisation_id: int) -> bool:
    return user.is_active_member and user.organisation_id == organisation_id


def is_signatory_of(user: User, organisation_id: int) -> bool:
    return is_member_of(user, organisation_id) and user.is_signatory


def is_editor_of(user: User, application: Application) -> bool:
    """The dossier's author, a signatory of its organisation, or a co-editor."""
    if not is_member_of(user, application.organisation_id):
        return False
    return (
        user.is_signatory
        or application.created_by_id == user.id
        or any(editor.user_id == user.id for editor in application.editors)
    )


def review_of(user: User, application: Application) -> Review | None:
    if Role.REVIEWER not in user.roles:
        return None
    return db.session.scalar(
        sa.select(Review).where(
            Review.application_id == application.id, Review.reviewer_id == user.id
        )
    )


def is_cleared_reviewer(user: User, application: Application) -> bool:
    """Assigned to the dossier and has declared the absence of a conflict of interest."""
    review = review_of(user, application)
    return review is not None and review.conflict_status is ConflictStatus.NONE


def sits_on_committee(user: User, call_id: int) -> bool:
    """A committee member of one of the call's sessions (whatever its state): they see the
    call's dossiers that reached the committee. Deciding needs more (``sits_in_open_session``)."""
    if Role.COMMITTEE not in user.roles:
        return False
    query = (
        sa.select(CommitteeMember.user_id)
        .join(CommitteeSession)
        .where(CommitteeMember.user_id == user.id, CommitteeSession.call_id == call_id)
    )
    return db.session.scalar(query.limit(1)) is not None


def expert_of_mission(user: User, application: Application) -> bool:
    if Role.EXPERT not in user.roles or user.expert_id is None:
        return False
    mission_expert = db.session.scalar(
        sa.select(Mission.expert_id).where(Mission.application_id == application.id)
    )
    return mission_expert is not None and mission_expert == user.expert_id


def pending_proposal_for(user: User, application: Application) -> MissionProposal | None:
    if Role.EXPERT not in user.roles or user.expert_id is None:
        return None
    return db.session.scalar(
        sa.select(MissionProposal).where(
            MissionProposal.application_id == application.id,
            MissionProposal.expert_id == user.expert_id,
            MissionProposal.status == ProposalStatus.PENDING,
        )
    )


# --- calls ----------------------------------------------------------------------------------


@rule(Action.CALL_VIEW)
def _call_view(user: User, call: Call) -> bool:
    return call.is_published or user.is_staff


@rule(Action.CALL_EDIT)
def _call_edit(user: User, call: Call | None) -> bool:
    return Role.ADMIN in user.roles


@rule(Action.CALL_MANAGE)
def _call_manage(user: User, call: Call) -> bool:
    return is_manager(user)


@rule(Action.CALL_VIEW_RANKING)
def _call_ranking(user: User, call: Call) -> bool:
    return is_staff_overseer(user) or sits_on_committee(user, call.id)


@rule(Action.APP_CREATE)
def _app_create(user: User, call: Call) -> bool:
    return user.is_active_member and call.is_published


# --- dossiers -------------------------------------------------------------------------------


@rule(Action.APP_VIEW)
def _app_view(user: User, app: Application) -> bool:
    return (
        is_staff_overseer(user)
        or is_member_of(user, app.organisation_id)
        or is_cleared_reviewer(user, app)
        or (app.state in COMMITTEE_STATES and sits_on_committee(user, app.call_id))
        or expert_of_mission(user, app)
        or pending_proposal_for(user, app) is not None
    )


@rule(Action.APP_EDIT)
def _app_edit(user: User, app: Application) -> bool:
    return app.is_editable and is_editor_of(user, app)


@rule(Action.APP_MANAGE_EDITORS)
def _app_manage_editors(user: User, app: Application) -> bool:
    """The organisation's signatories and the dossier's author choose its co-editors while the
    dossier can be edited."""
    if not app.is_editable or not is_member_of(user, app.organisation_id):
        return False
    return user.is_signatory or app.created_by_id == user.id


@rule(Action.APP_SUBMIT)
def _app_submit(user: User, app: Application) -> bool:
    return app.is_editable and is_signatory_of(user, app.organisation_id)


@rule(Action.APP_WITHDRAW)
def _app_withdraw(user: User, app: Application) -> bool:
    if app.state not in PRE_AGREEMENT_STATES:
        return False
    return is_manager(user) or is_signatory_of(user, app.organisation_id)


@rule(Action.APP_SIGN)
def _app_sign(user: User, app: Application) -> bool:
    """The agreement before the mission, its amendments during it."""
    if app.state not in {ApplicationState.AGREEMENT, ApplicationState.IN_PROGRESS}:
        return False
    return (
        is_manager(user)
        or is_signatory_of(user, app.organisation_id)
        or expert_of_mission(user, app)
    )


@rule(Action.APP_MESSAGE)
def _app_message(user: User, app: Application) -> bool:
    return (
        is_manager(user)
        or is_member_of(user, app.organisation_id)
        or expert_of_mission(user, app)
    )


@rule(Action.APP_CHECK_ELIGIBILITY)
def _app_check_eligibility(user: User, app: Application) -> bool:
    if app.state not in {ApplicationState.SUBMITTED, ApplicationState.ELIGIBLE}:
        return False
    return is_manager(user) or is_cleared_reviewer(user, app)


@rule(Action.APP_ASSIGN_REVIEWERS, Action.APP_MANAGE, Action.APP_VIEW_AUDIT)
def _app_manage(user: User, app: Application) -> bool:
    return is_manager(user)


@rule(Action.APP_DECLARE_CONFLICT)
def _app_declare_conflict(user: User, app: Application) -> bool:
    review = review_of(user, app)
    return review is not None and review.conflict_status is ConflictStatus.PENDING


@rule(Action.APP_SCORE)
def _app_score(user: User, app: Application) -> bool:
    review = review_of(user, app)
    return (
        app.state is ApplicationState.UNDER_REVIEW
        and review is not None
        and review.conflict_status is ConflictStatus.NONE
        and review.state is ReviewState.DRAFT
    )


@rule(Action.APP_VIEW_REVIEWS)
def _app_view_reviews(user: User, app: Application) -> bool:
    if is_staff_overseer(user):
        return True
    if app.state in COMMITTEE_STATES and sits_on_committee(user, app.call_id):
        return True
    # A reviewer sees the others' reviews only once their own is submitted.
    review = review_of(user, app)
    return (
        review is not None
        and review.conflict_status is ConflictStatus.NONE
        and review.state is ReviewState.SUBMITTED
    )


@rule(Action.APP_DECIDE)
def _app_decide(user: User, app: Application) -> bool:
    """The committee decides in session: a member present at an open session of the call whose
    quorum is reached (wherever the event is fired from: the session page, the dossier page or
    the API). The decision is recorded against that session by the workflow."""
    return app.state in {
        ApplicationState.REVIEWED,
        ApplicationState.WAITLISTED,
    } and sits_in_open_session(user, app.call_id)


@rule(Action.APP_VIEW_FINANCE)
def _app_view_finance(user: User, app: Application) -> bool:
    return (
        is_staff_overseer(user)
        or is_member_of(user, app.organisation_id)
        or (app.state in COMMITTEE_STATES and sits_on_committee(user, app.call_id))
        or expert_of_mission(user, app)
    )


@rule(Action.APP_VIEW_FUNDERS)
def _app_view_funders(user: User, app: Application) -> bool:
    return is_staff_overseer(user) or (
        app.state in COMMITTEE_STATES and sits_on_committee(user, app.call_id)
    )


@rule(Action.APP_REPORT)
def _app_report(user: User, app: Application) -> bool:
    return app.state is ApplicationState.IN_PROGRESS and reports_on(user, app)


@rule(Action.APP_VALIDATE_DELIVERABLE)
def _app_validate_deliverable(user: User, app: Application) -> bool:
    if app.state not in {ApplicationState.IN_PROGRESS, ApplicationState.FINAL_REPORT}:
        return False
    return is_manager(user) or is_signatory_of(user, app.organisation_id)


def reports_on(user: User, app: Application) -> bool:
    """Who reports on the support: the expert (DCOL) or the dossier's editors (call for
    projects)."""
    if app.call.kind.value == "dcol":
        return expert_of_mission(user, app)
    return is_editor_of(user, app)


@rule(Action.APP_EDIT_PLAN)
def _app_edit_plan(user: User, app: Application) -> bool:
    """The mission plan is set when the agreement is signed and amended while the support runs,
    by CUF or by whoever reports on it."""
    if app.state is ApplicationState.AGREEMENT:
        return is_manager(user)
    if app.state is not ApplicationState.IN_PROGRESS:
        return False
    return is_manager(user) or reports_on(user, app)


@rule(Action.APP_VALIDATE_FOR_CUF)
def _app_validate_for_cuf(user: User, app: Application) -> bool:
    return app.state in {ApplicationState.IN_PROGRESS, ApplicationState.FINAL_REPORT} and \
        is_manager(user)


@rule(Action.APP_ANSWER_SATISFACTION)
def _app_answer_satisfaction(user: User, app: Application) -> bool:
    """The collectivité's signatories, once the final report is in and before closure."""
    return app.state is ApplicationState.FINAL_REPORT and is_signatory_of(user,
                                                                          app.organisation_id)


@rule(Action.APP_PUBLISH)
def _app_publish(user: User, app: Application) -> bool:
    return app.state is ApplicationState.CLOSED and is_manager(user)


@rule(Action.DOCUMENT_DOWNLOAD)
def _document_download(user: User, document: Document) -> bool:
    """A document follows its dossier; a message's attachment follows the message thread; the
    current file of a closed support's deliverable follows the capitalisation search."""
    if document.message_id is not None:
        return can(user, Action.APP_MESSAGE, document.application)
    if (document.kind is DocumentKind.DELIVERABLE and document.deliverable_id is not None
            and document.is_current and can(user, Action.CAPITALISATION_VIEW, document.application)):
        return True
    return can(user, Action.APP_VIEW, document.application)


# --- organisations and users ----------------------------------------------------------------


@rule(Action.ORG_VIEW)
def _org_view(user: User, org: Organisation) -> bool:
    return user.is_staff or is_member_of(user, org.id)


@rule(Action.ORG_MANAGE_MEMBERS)
def _org_manage(user: User, org: Organisation) -> bool:
    return user.has_role(Role.MANAGER, Role.ADMIN) or is_signatory_of(user, org.id)


@rule(Action.ORG_VALIDATE)
def _org_validate(user: User, obj: object) -> bool:
    return user.has_role(Role.MANAGER, Role.ADMIN)


@rule(Action.USERS_MANAGE)
def _users_manage(user: User, obj: object) -> bool:
    return Role.ADMIN in user.roles


# --- experts --------------------------------------------------------------------------------


@rule(Action.EXPERT_VIEW_POOL)
def _expert_pool(user: User, obj: object) -> bool:
    return user.has_role(Role.MANAGER, Role.ADMIN)


@rule(Action.EXPERT_VIEW, Action.EXPERT_EDIT)
def _expert_profile(user: User, expert: Expert) -> bool:
    if user.has_role(Role.MANAGER, Role.ADMIN):
        return True
    return Role.EXPERT in user.roles and user.expert_id == expert.id


@rule(Action.PROPOSAL_RESPOND)
def _proposal_respond(user: User, proposal: MissionProposal) -> bool:
    return (
        Role.EXPERT in user.roles
        and user.expert_id == proposal.expert_id
        and proposal.status is ProposalStatus.PENDING
    )


# --- follow-up across dossiers -------------------------------------------------------------


def reviews_in_call(user: User, call_id: int) -> bool:
    """Assigned to one of the call's dossiers (whatever the declaration)."""
    if Role.REVIEWER not in user.roles:
        return False
    query = (
        sa.select(Review.id).join(Application, Application.id == Review.application_id)
        .where(Review.reviewer_id == user.id, Application.call_id == call_id)
    )
    return db.session.scalar(query.limit(1)) is not None


@rule(Action.DASHBOARD_VIEW)
def _dashboard_view(user: User, call: Call | None) -> bool:
    """CUF's managers and admins see every call and the figures across years; a reviewer or a
    committee member sees the dashboard of the calls they work on, nothing beyond."""
    if is_staff_overseer(user):
        return True
    if call is None:
        return False
    return reviews_in_call(user, call.id) or sits_on_committee(user, call.id)


@rule(Action.FOLLOW_UP_EXPORT)
def _follow_up_export(user: User, obj: object) -> bool:
    return is_staff_overseer(user)


@rule(Action.DOSSIERS_EXPORT)
def _dossiers_export(user: User, obj: object) -> bool:
    """CUF's staff (managers, admins, reviewers, committee members) export the dossiers they
    see; applicants and experts do not."""
    return user.is_staff


@rule(Action.CAPITALISATION_SEARCH)
def _capitalisation_search(user: User, obj: object) -> bool:
    return user.is_staff or user.is_active_member or (
        Role.EXPERT in user.roles and user.expert_id is not None)


@rule(Action.CAPITALISATION_VIEW)
def _capitalisation_view(user: User, app: Application) -> bool:
    """A closed support: CUF's staff see them all, others only those CUF has made public."""
    if app.state is not ApplicationState.CLOSED or not can(user, Action.CAPITALISATION_SEARCH):
        return False
    return user.is_staff or app.is_public


# --- committee ------------------------------------------------------------------------------


def seat_of(user: User, session: CommitteeSession) -> CommitteeMember | None:
    """The user's seat in the session (committee members only)."""
    if Role.COMMITTEE not in user.roles:
        return None
    return next((m for m in session.members if m.user_id == user.id), None)


def present_count(session: CommitteeSession) -> int:
    return sum(1 for member in session.members if member.is_present)


def has_quorum(session: CommitteeSession) -> bool:
    return present_count(session) >= session.quorum


def open_sessions_sat_at(user: User, call_id: int) -> sa.Select:
    """The open sessions of the call where ``user`` is present and whose quorum is reached:
    where they decide."""
    present = (
        sa.select(sa.func.count())
        .select_from(CommitteeMember)
        .where(CommitteeMember.session_id == CommitteeSession.id,
               CommitteeMember.is_present.is_(True))
        .correlate(CommitteeSession)
        .scalar_subquery()
    )
    return (
        sa.select(CommitteeSession)
        .join(CommitteeMember)
        .where(
            CommitteeMember.user_id == user.id,
            CommitteeMember.is_present.is_(True),
            CommitteeSession.call_id == call_id,
            CommitteeSession.state == SessionState.OPEN,
            present >= CommitteeSession.quorum,
        )
    )


def sits_in_open_session(user: User, call_id: int) -> bool:
    """Present at an open session of the call whose quorum is reached (one query)."""
    if Role.COMMITTEE not in user.roles:
        return False
    return db.session.scalar(open_sessions_sat_at(user, call_id).limit(1)) is not None


@rule(Action.SESSION_VIEW)
def _session_view(user: User, session: CommitteeSession) -> bool:
    """CUF's managers and admins see every session; a committee member sees the sessions they
    sit on (and their agenda), nothing else."""
    return is_staff_overseer(user) or seat_of(user, session) is not None


@rule(Action.SESSION_DECIDE)
def _session_decide(user: User, session: CommitteeSession) -> bool:
    """A member present at the open session, once its quorum is reached."""
    seat = seat_of(user, session)
    return (
        session.state is SessionState.OPEN
        and seat is not None
        and seat.is_present
        and has_quorum(session)
    )



def visible_calls(user: User | None) -> sa.ColumnElement[bool]:
    """A SQL condition on ``Call`` matching exactly the calls ``can(user, CALL_VIEW)`` allows."""
    if user is not None and getattr(user, "is_authenticated", False) and user.is_staff:
        return sa.true()
    return Call.is_published.is_(True)


def shows_audit_actor(user: User, application: Application, actor: User | None) -> bool:
    """Whether ``user`` is told who made a change in the dossier's history: CUF's managers see
    every name; anyone else sees their own name and those of the organisation's members, never
    which reviewer or committee member acted."""
    if actor is None:
        return False
    return (
        can(user, Action.APP_VIEW_AUDIT, application)
        or actor.id == user.id
        or (actor.organisation_id is not None
            and actor.organisation_id == application.organisation_id)
    )


def visible_applications(user: User | None) -> sa.ColumnElement[bool]:
    """A SQL condition on ``Application`` matching exactly the dossiers ``can(user, APP_VIEW)``
    allows, so that lists filter in the database (one query, whatever their size)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_enabled:
        return sa.false()
    if is_staff_overseer(user):
        return sa.true()
    conditions = []
    if user.is_active_member:
        conditions.append(Application.organisation_id == user.organisation_id)
    if Role.REVIEWER in user.roles:
        conditions.append(
            Application.id.in_(
                sa.select(Review.application_id).where(
                    Review.reviewer_id == user.id,
                    Review.conflict_status == ConflictStatus.NONE,
                )
            )
        )
    if Role.COMMITTEE in user.roles:
        conditions.append(
            sa.and_(
                Application.state.in_(COMMITTEE_STATES),
                Application.call_id.in_(
                    sa.select(CommitteeSession.call_id)
                    .join(CommitteeMember)
                    .where(CommitteeMember.user_id == user.id)
                ),
            )
        )
    if Role.EXPERT in user.roles and user.expert_id is not None:
        conditions.append(
            Application.id.in_(
                sa.select(Mission.application_id).where(Mission.expert_id == user.expert_id)
            )
        )
        conditions.append(
            Application.id.in_(
                sa.select(MissionProposal.application_id).where(
                    MissionProposal.expert_id == user.expert_id,
                    MissionProposal.status == ProposalStatus.PENDING,
                )
            )
        )
    return sa.or_(*conditions) if conditions else sa.false()


def visible_follow_ups(user: User | None) -> sa.ColumnElement[bool]:
    """A SQL condition on ``Application`` (joined to its ``Mission``) matching the dossiers whose
    follow-up ``user`` reads (``Action.APP_VIEW_FINANCE`` once a mission exists): every one for
    CUF's managers and admins, the collectivité's own, the expert's missions — never a
    reviewer's."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_enabled:
        return sa.false()
    if is_staff_overseer(user):
        return sa.true()
    conditions = []
    if user.is_active_member:
        conditions.append(Application.organisation_id == user.organisation_id)
    if Role.EXPERT in user.roles and user.expert_id is not None:
        conditions.append(Mission.expert_id == user.expert_id)
    return sa.or_(*conditions) if conditions else sa.false()


missing = set(Action) - set(_RULES)
if missing:  # every action must have exactly one rule
    raise RuntimeError(f"actions without a rule: {sorted(missing)}")
