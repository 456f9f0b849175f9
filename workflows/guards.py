"""Guards: each returns the list of what is missing, in French (empty when the event may happen).

They read the data model simply and correctly; later issues enrich the data, not these rules.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from dcol.applications.sections import budget_problems, missing_documents, missing_fields
from dcol.calls.eligibility import eligibility_problems
from dcol.experts.loads import Load, expert_loads
from dcol.extensions import db
from dcol.finance.envelopes import envelope_problems
from dcol.i18n import format_moment
from dcol.models import (
    Agreement,
    AgreementState,
    Application,
    ApplicationState,
    AuditEvent,
    CallKind,
    CofinancingSnapshot,
    ConflictStatus,
    Deliverable,
    DeliverableState,
    EligibilityCheck,
    Expert,
    ExpertConflict,
    Mission,
    MissionProposal,
    MissionReport,
    Party,
    ProposalStatus,
    Review,
    ReviewState,
    SnapshotKind,
    Unavailability,
    User,
)
from dcol.permissions import pending_proposal_for
from workflows.context import Context, needs_input
from workflows.inputs import parse_database_id, parse_day

# --- deposit --------------------------------------------------------------------------------


def call_open(ctx: Context) -> list[str]:
    app, now = ctx.application, ctx.now
    if app.state is ApplicationState.CHANGES_REQUESTED and app.response_deadline is not None:
        if now >= app.response_deadline:
            return [
                _(
                    "Le délai de réponse aux compléments demandés est dépassé (%(deadline)s, "
                    "heure de Paris).",
                    deadline=format_moment(app.response_deadline),
                )
            ]
        return []
    call = app.call
    if not call.is_published or now < call.opens_at:
        return [_("L'appel n'est pas encore ouvert aux dépôts.")]
    if now >= call.closes_at:
        return [
            _(
                "La date limite de dépôt est dépassée (%(deadline)s, heure de Paris).",
                deadline=format_moment(call.closes_at),
            )
        ]
    return []


def required_fields(ctx: Context) -> list[str]:
    return [
        _(
            "Champ obligatoire non renseigné : « %(field)s » (section « %(section)s »).",
            field=_(field.label),
            section=_(section.title),
        )
        for section, field in missing_fields(ctx.application)
    ]


def required_documents(ctx: Context) -> list[str]:
    return [
        _("Pièce obligatoire manquante : « %(label)s ».", label=requirement.label)
        for requirement in missing_documents(ctx.application)
    ]


def budget_balanced(ctx: Context) -> list[str]:
    return [_(problem) for problem in budget_problems(ctx.application)]


def organisation_eligible(ctx: Context) -> list[str]:
    app = ctx.application
    return eligibility_problems(app.call, app.organisation, app.track, app.countries or [],
                                app.departments or [])


# --- eligibility and review -----------------------------------------------------------------


def eligibility_checklist_met(ctx: Context) -> list[str]:
    """Every point of the call's recevabilité checklist was checked, and is met."""
    app = ctx.application
    answers = {check.item_id: check.is_met for check in db.session.scalars(
        sa.select(EligibilityCheck).where(EligibilityCheck.application_id == app.id))}
    problems = []
    for item in app.call.eligibility_items:
        if item.id not in answers:
            problems.append(_("Point de recevabilité non vérifié : « %(label)s ».",
                              label=item.label))
        elif not answers[item.id]:
            problems.append(_("Point de recevabilité non satisfait : « %(label)s ».",
                              label=item.label))
    return problems


def _active_reviews(app: Application) -> list[Review]:
    return list(
        db.session.scalars(
            sa.select(Review).where(
                Review.application_id == app.id,
                Review.conflict_status != ConflictStatus.CONFLICT,
            )
        )
    )


def enough_reviewers(ctx: Context) -> list[str]:
    count, needed = len(_active_reviews(ctx.application)), ctx.application.call.min_reviewers
    if count < needed:
        return [
            _(
                "Il faut au moins %(needed)s instructeur(s) sans conflit d'intérêts ; "
                "%(count)s affecté(s).",
                needed=needed,
                count=count,
            )
        ]
    return []


def all_reviews_submitted(ctx: Context) -> list[str]:
    reviews = _active_reviews(ctx.application)
    if not reviews:
        return [_("Aucune évaluation n'a été affectée.")]
    pending = [r for r in reviews if r.state is not ReviewState.SUBMITTED]
    if pending:
        return [
            _("%(count)s évaluation(s) n'ont pas encore été soumise(s).", count=len(pending))
        ]
    return []


# --- selection and envelope -----------------------------------------------------------------


def envelope_has_room(ctx: Context) -> list[str]:
    """The call's envelopes (as a whole and each funder's) carry this dossier's cofinancing on
    top of what the others hold. When firing, the call's row is locked first, so that concurrent
    selections and starts of the same call are checked one after the other."""
    return envelope_problems(ctx.application, lock=not ctx.preview)


# --- experts --------------------------------------------------------------------------------


def _expert_load(expert: Expert, app: Application, preview: bool) -> Load:
    """The expert's missions under way and pending proposals, apart from this dossier.

    The expert's row is locked first (when firing), so that two proposals of the same expert,
    or a proposal and an acceptance, are counted one after the other."""
    if not preview:
        db.session.execute(sa.select(Expert.id).where(Expert.id == expert.id).with_for_update())
    return expert_loads([expert.id], excluding_application_id=app.id).get(expert.id, Load())


def _capacity_problems(expert: Expert, app: Application, preview: bool) -> list[str]:
    load = _expert_load(expert, app, preview)
    if load.total < expert.capacity:
        return []
    return [
        _("L'expert « %(name)s » n'a plus de disponibilité (%(missions)s mission(s) en cours et "
          "%(proposals)s proposition(s) en attente, pour %(capacity)s à la fois).",
          name=expert.name, missions=load.missions, proposals=load.proposals,
          capacity=expert.capacity)
    ]


@needs_input
def expert_available(ctx: Context) -> list[str]:
    """The chosen expert (``expert_chosen`` has checked the id) may take this dossier."""
    app, payload = ctx.application, ctx.payload
    expert = db.session.get(Expert, parse_database_id(payload.get("expert_id")))
    problems = []
    if not expert.is_active:
        problems.append(_("L'expert « %(name)s » n'est plus actif.", name=expert.name))
    conflict = db.session.get(ExpertConflict, (expert.id, app.organisation_id))
    if conflict is not None:
        problems.append(
            _("L'expert « %(name)s » a déclaré un lien avec cette collectivité.", name=expert.name)
        )
    declined = db.session.scalar(
        sa.select(MissionProposal.id).where(
            MissionProposal.application_id == app.id,
            MissionProposal.expert_id == expert.id,
            MissionProposal.status == ProposalStatus.DECLINED,
        )
    )
    if declined:
        problems.append(_("L'expert « %(name)s » a déjà décliné ce dossier.", name=expert.name))
    problems.extend(_capacity_problems(expert, app, ctx.preview))
    start = parse_day(payload.get("indicative_start"))
    end = parse_day(payload.get("indicative_end"))
    if start and end:
        overlapping = db.session.scalar(
            sa.select(Unavailability.id).where(
                Unavailability.expert_id == expert.id,
                Unavailability.starts_on <= end,
                Unavailability.ends_on >= start,
            )
        )
        if overlapping:
            problems.append(
                _("L'expert « %(name)s » est indisponible sur la période prévue.", name=expert.name)
            )
    return problems


def is_proposed_expert(actor: User, app: Application) -> bool:
    return pending_proposal_for(actor, app) is not None


def expert_still_available(ctx: Context) -> list[str]:
    """When accepting: the proposed expert is still in the pool and has room for the mission
    (this proposal apart: it already counted when it was made)."""
    app = ctx.application
    expert = db.session.scalar(
        sa.select(Expert)
        .join(MissionProposal, MissionProposal.expert_id == Expert.id)
        .where(MissionProposal.application_id == app.id,
               MissionProposal.status == ProposalStatus.PENDING)
        .limit(1)
    )
    if expert is None:
        return []  # no pending proposal: nobody may accept (see ``is_proposed_expert``)
    if not expert.is_active:
        return [_("L'expert « %(name)s » n'est plus actif : la mission ne peut pas être "
                  "acceptée.", name=expert.name)]
    return _capacity_problems(expert, app, ctx.preview)


# --- agreement and follow-up ----------------------------------------------------------------


def latest_agreement(app: Application) -> Agreement | None:
    return db.session.scalar(
        sa.select(Agreement)
        .where(Agreement.application_id == app.id, Agreement.state != AgreementState.SUPERSEDED)
        .order_by(Agreement.version.desc())
        .limit(1)
    )


def cofinancing_locked(ctx: Context) -> list[str]:
    locked = db.session.scalar(
        sa.select(CofinancingSnapshot.id).where(
            CofinancingSnapshot.application_id == ctx.application.id,
            CofinancingSnapshot.kind == SnapshotKind.AGREEMENT,
            CofinancingSnapshot.is_locked.is_(True),
        )
    )
    return [] if locked else [_("Le cofinancement de la convention n'a pas été calculé et figé.")]


def agreement_signed(ctx: Context) -> list[str]:
    app = ctx.application
    agreement = latest_agreement(app)
    if agreement is None or agreement.document_sha256 is None:
        return [_("La convention n'a pas été générée.")]
    parties = {Party.CUF, Party.APPLICANT}
    if app.call.kind is CallKind.DCOL:
        parties.add(Party.EXPERT)
    signed = {
        signature.party
        for signature in agreement.signatures
        if signature.document_sha256 == agreement.document_sha256
    }
    missing = sorted(parties - signed, key=lambda party: party.value)
    if missing:
        return [
            _("Signature manquante : %(parties)s.",
              parties=", ".join(str(party.label) for party in missing))
        ]
    return []


def mission_of(app: Application) -> Mission | None:
    return db.session.scalar(sa.select(Mission).where(Mission.application_id == app.id))


def has_report(ctx: Context) -> list[str]:
    mission = mission_of(ctx.application)
    count = 0
    if mission is not None:
        count = db.session.scalar(
            sa.select(sa.func.count()).where(MissionReport.mission_id == mission.id)
        )
    return [] if count else [_("Aucun rapport de mission ou d'avancement n'a été déposé.")]


def final_deliverable(app: Application) -> Deliverable | None:
    mission = mission_of(app)
    if mission is None:
        return None
    return db.session.scalar(
        sa.select(Deliverable)
        .where(Deliverable.mission_id == mission.id, Deliverable.is_final.is_(True))
        .order_by(Deliverable.id.desc())
        .limit(1)
    )


def has_final_deliverable(ctx: Context) -> list[str]:
    if final_deliverable(ctx.application) is None:
        return [_("Le livrable final n'a pas été déposé.")]
    return []


def final_deliverable_validated(ctx: Context) -> list[str]:
    """Validated by the collectivité, then by CUF."""
    deliverable = final_deliverable(ctx.application)
    if deliverable is None or deliverable.state is not DeliverableState.VALIDATED:
        if deliverable is not None and deliverable.state is DeliverableState.ACCEPTED_BY_APPLICANT:
            return [_("Le livrable final validé par la collectivité attend la validation de "
                      "Cités Unies France.")]
        return [_("Le livrable final n'a pas été validé par la collectivité.")]
    return []


def satisfaction_answered(ctx: Context) -> list[str]:
    """DCOL: the collectivité has answered the satisfaction questionnaire (the expert's
    history that matching reads)."""
    from dcol.missions.closure import satisfaction_of, satisfaction_required

    app = ctx.application
    if satisfaction_required(app) and satisfaction_of(app) is None:
        return [_("La collectivité n'a pas répondu au questionnaire de satisfaction.")]
    return []


def balances_can_follow(ctx: Context) -> list[str]:
    """The payment schedule can follow the final cofinancing (nothing paid beyond it)."""
    from dcol.missions.closure import schedule_problems

    return schedule_problems(ctx.application)


def entered_final_report_at(app: Application) -> datetime | None:
    """When the dossier last entered ``final_report`` (read from its audit trail)."""
    return db.session.scalar(
        sa.select(AuditEvent.occurred_at)
        .where(AuditEvent.application_id == app.id,
               AuditEvent.to_state == ApplicationState.FINAL_REPORT.value)
        .order_by(AuditEvent.sequence.desc())
        .limit(1)
    )


def final_cofinancing_computed(ctx: Context) -> list[str]:
    """A final cofinancing computed since the final report was last deposited: one computed
    before a revision was asked for does not count (the actual costs may have changed)."""
    app = ctx.application
    query = sa.select(CofinancingSnapshot.id).where(
        CofinancingSnapshot.application_id == app.id,
        CofinancingSnapshot.kind == SnapshotKind.FINAL,
    )
    if db.session.scalar(query.limit(1)) is None:
        return [_("Le cofinancement définitif sur coûts réels n'a pas été calculé.")]
    entered = entered_final_report_at(app)
    if entered is not None and db.session.scalar(
        query.where(CofinancingSnapshot.computed_at >= entered).limit(1)
    ) is None:
        return [_("Le cofinancement définitif a été calculé avant le dernier dépôt du rapport "
                  "final : recalculez-le sur les coûts réels.")]
    return []
