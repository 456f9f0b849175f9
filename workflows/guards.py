"""Guards: each returns the list of what is missing, in French (empty when the event may happen).

They read the data model simply and correctly; later issues enrich the data, not these rules.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import gettext as _

from dcol.applications.sections import budget_problems, missing_fields
from dcol.calls.eligibility import eligibility_problems
from dcol.extensions import db
from dcol.i18n import PARIS, format_day, format_moment
from dcol.models import (
    Agreement,
    AgreementState,
    Application,
    ApplicationState,
    AuditEvent,
    Call,
    CallKind,
    CofinancingSnapshot,
    ConflictStatus,
    Deliverable,
    DeliverableState,
    Document,
    DocumentRequirement,
    Envelope,
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

# Dossiers whose cofinancing counts against the call's envelope (reserved, committed or paid).
ENVELOPE_STATES = frozenset(
    {
        ApplicationState.SELECTED,
        ApplicationState.MATCHING,
        ApplicationState.EXPERT_PROPOSED,
        ApplicationState.AGREEMENT,
        ApplicationState.IN_PROGRESS,
        ApplicationState.FINAL_REPORT,
        ApplicationState.CLOSED,
    }
)
# Missions that occupy one of the expert's slots (a pending proposal occupies one too).
BUSY_STATES = frozenset(
    {ApplicationState.AGREEMENT, ApplicationState.IN_PROGRESS, ApplicationState.FINAL_REPORT}
)
# Bounds of what the actor sends (beyond them, a typo rather than an intent).
MAX_RESPONSE_DELAY = timedelta(days=2 * 365)
MAX_INDICATIVE_DAYS = Decimal("365")
MAX_OVERRIDE_REASON = 2000  # characters
MAX_EXPLANATION = 20000  # characters of its JSON
MAX_EXPLANATION_DEPTH = 10
MAX_DATABASE_ID = 2**31 - 1


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
    app = ctx.application
    requirements = db.session.scalars(
        sa.select(DocumentRequirement)
        .where(
            DocumentRequirement.call_id == app.call_id,
            DocumentRequirement.is_required.is_(True),
            sa.or_(
                DocumentRequirement.track_id.is_(None),
                DocumentRequirement.track_id == app.track_id,
            ),
        )
        .order_by(DocumentRequirement.position)
    ).all()
    provided = set(
        db.session.scalars(
            sa.select(Document.requirement_id).where(
                Document.application_id == app.id, Document.replaced_by_id.is_(None)
            )
        )
    )
    return [
        _("Pièce obligatoire manquante : « %(label)s ».", label=requirement.label)
        for requirement in requirements
        if requirement.id not in provided
    ]


def budget_balanced(ctx: Context) -> list[str]:
    return [_(problem) for problem in budget_problems(ctx.application)]


def organisation_eligible(ctx: Context) -> list[str]:
    app = ctx.application
    return eligibility_problems(app.call, app.organisation, app.track, app.countries or [],
                                app.departments or [])


# --- eligibility and review -----------------------------------------------------------------


def parse_deadline(value) -> datetime | None:
    """A response deadline from the payload, in UTC: an ISO date (the end of that day in Paris)
    or an ISO datetime (Paris time when it has no offset); None when it is neither, or when it
    lies beyond what a datetime can hold once in UTC."""
    try:
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, str) and value:
            moment = datetime.fromisoformat(value)
            if "T" not in value:
                moment = datetime.combine(moment.date(), time(23, 59, 59))
        else:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=PARIS)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def parse_day(value) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def parse_days(value) -> Decimal | None:
    """A number of days from the payload (``12``, ``12.5``, ``"12,5"``); None when it is not a
    finite number."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = str(value).strip().replace(",", ".")
    if not text or len(text) > 30:
        return None
    try:
        days = Decimal(text)
    except InvalidOperation:
        return None
    return days if days.is_finite() else None


def parse_database_id(value) -> int | None:
    """A row id from the payload (an integer, or its digits in a form); None when it cannot be
    one (a PostgreSQL ``integer``: 1 to 2³¹ − 1)."""
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,10}", value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 1 <= value <= MAX_DATABASE_ID else None


def _is_given(value) -> bool:
    return value is not None and value != ""


# --- what the actor sends: checked before any other guard ----------------------------------


def checks_input(guard):
    """Mark a guard that validates what the actor sends when firing. Its refusals are invalid
    input (422, nothing else is checked until they are fixed): the other guards and the effects
    only ever see valid input. Skipped in previews, like every guard that needs input."""
    guard = needs_input(guard)
    guard.checks_input = True
    return guard


def _has_unstorable_text(value) -> bool:
    """NUL characters (PostgreSQL refuses them) or lone surrogates (not UTF-8: the audit hash
    cannot be computed), anywhere in a JSON value. Iterative: a deep value cannot exhaust the
    stack."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
        elif isinstance(item, str) and (
            "\x00" in item or any("\ud800" <= char <= "\udfff" for char in item)
        ):
            return True
    return False


def _depth(value) -> int:
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return deepest


@checks_input
def storable_input(ctx: Context) -> list[str]:
    """Every event: only the data the event takes, and text that can be stored."""
    problems = []
    if _has_unstorable_text(ctx.comment):
        problems.append(_("Le commentaire contient des caractères non autorisés."))
    for key, value in ctx.payload.items():
        if key not in ctx.event.inputs:
            problems.append(_("Donnée inattendue pour cette action : « %(key)s ».", key=key))
        elif _has_unstorable_text(value):
            problems.append(
                _("La donnée « %(key)s » contient des caractères non autorisés.", key=key)
            )
    return problems


@checks_input
def response_deadline_given(ctx: Context) -> list[str]:
    raw = ctx.payload.get("response_deadline")
    if not _is_given(raw):
        return [_("Indiquez la date limite de réponse (AAAA-MM-JJ).")]
    deadline = parse_deadline(raw)
    if deadline is None:
        return [_("La date limite de réponse n'est pas une date valide (AAAA-MM-JJ).")]
    if deadline <= ctx.now:
        return [_("La date limite de réponse doit être dans le futur.")]
    latest = ctx.now + MAX_RESPONSE_DELAY
    if deadline > latest:
        return [
            _("La date limite de réponse ne peut pas dépasser le %(latest)s.",
              latest=format_day(latest))
        ]
    return []


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
    """The call's envelope covers this dossier's cofinancing on top of those already engaged.

    The call row is locked first, so that concurrent selections are checked one after the other.
    """
    app = ctx.application
    if not ctx.preview:
        db.session.execute(sa.select(Call.id).where(Call.id == app.call_id).with_for_update())
    total = db.session.scalar(
        sa.select(sa.func.sum(Envelope.amount)).where(
            Envelope.call_id == app.call_id, Envelope.funder_id.is_(None)
        )
    )
    if total is None:
        total = db.session.scalar(
            sa.select(sa.func.sum(Envelope.amount)).where(Envelope.call_id == app.call_id)
        )
    if total is None:
        return [_("Aucune enveloppe budgétaire n'est définie pour cet appel.")]
    if app.estimated_cofinancing is None:
        return [_("Le cofinancement estimé du dossier n'a pas été calculé.")]
    engaged = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Application.estimated_cofinancing), 0)).where(
            Application.call_id == app.call_id,
            Application.id != app.id,
            Application.state.in_(ENVELOPE_STATES),
        )
    )
    remaining = Decimal(total) - Decimal(engaged)
    if app.estimated_cofinancing > remaining:
        from dcol.i18n import format_money

        return [
            _(
                "L'enveloppe de l'appel ne suffit pas : reste %(remaining)s, "
                "cofinancement du dossier %(amount)s.",
                remaining=format_money(remaining),
                amount=format_money(app.estimated_cofinancing),
            )
        ]
    return []


# --- experts --------------------------------------------------------------------------------


@checks_input
def expert_chosen(ctx: Context) -> list[str]:
    expert_id = parse_database_id(ctx.payload.get("expert_id"))
    if expert_id is None or db.session.get(Expert, expert_id) is None:
        return [_("Choisissez un expert du vivier.")]
    return []


@checks_input
def proposal_terms_valid(ctx: Context) -> list[str]:
    """The indicative days and dates, and the matching's explanation and override reason."""
    payload, problems = ctx.payload, []
    if _is_given(raw_days := payload.get("indicative_days")):
        days = parse_days(raw_days)
        if days is None:
            problems.append(_("Le nombre de jours indicatif n'est pas un nombre (exemple : 12,5)."))
        elif not 0 < days <= MAX_INDICATIVE_DAYS:
            problems.append(_("Le nombre de jours indicatif doit être compris entre 0 (exclu) et "
                              "%(max)s.", max=MAX_INDICATIVE_DAYS))
        elif days != days.quantize(Decimal("0.01")):
            problems.append(_("Le nombre de jours indicatif a au plus deux décimales."))
    raw_start, raw_end = payload.get("indicative_start"), payload.get("indicative_end")
    start, end = parse_day(raw_start), parse_day(raw_end)
    if (_is_given(raw_start) and start is None) or (_is_given(raw_end) and end is None):
        problems.append(_("Dates indicatives invalides : format attendu AAAA-MM-JJ."))
    elif start and end and end < start:
        problems.append(_("La fin indicative précède le début."))
    explanation = payload.get("explanation")
    if explanation is not None and not isinstance(explanation, dict):
        problems.append(_("L'explication du rapprochement doit être un objet JSON."))
    elif explanation and _too_big(explanation):
        problems.append(_("L'explication du rapprochement est trop volumineuse."))
    reason = payload.get("override_reason")
    if reason is not None and not isinstance(reason, str):
        problems.append(_("Le motif de dérogation doit être un texte."))
    elif reason and len(reason) > MAX_OVERRIDE_REASON:
        problems.append(_("Le motif de dérogation est trop long (%(max)s caractères au plus).",
                          max=MAX_OVERRIDE_REASON))
    return problems


def _too_big(value: dict) -> bool:
    if _depth(value) > MAX_EXPLANATION_DEPTH:
        return True
    try:
        return len(json.dumps(value, default=str)) > MAX_EXPLANATION
    except (TypeError, ValueError):  # keys that are not text: not JSON
        return True


def _expert_load(expert: Expert, app: Application, preview: bool) -> tuple[int, int]:
    """The expert's missions under way and pending proposals, apart from this dossier.

    The expert's row is locked first (when firing), so that two proposals of the same expert,
    or a proposal and an acceptance, are counted one after the other."""
    if not preview:
        db.session.execute(sa.select(Expert.id).where(Expert.id == expert.id).with_for_update())
    missions = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Mission)
        .join(Application, Mission.application_id == Application.id)
        .where(Mission.expert_id == expert.id, Application.id != app.id,
               Application.state.in_(BUSY_STATES))
    )
    proposals = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(MissionProposal)
        .join(Application, MissionProposal.application_id == Application.id)
        .where(MissionProposal.expert_id == expert.id, Application.id != app.id,
               MissionProposal.status == ProposalStatus.PENDING,
               Application.state == ApplicationState.EXPERT_PROPOSED)
    )
    return missions, proposals


def _capacity_problems(expert: Expert, app: Application, preview: bool) -> list[str]:
    missions, proposals = _expert_load(expert, app, preview)
    if missions + proposals < expert.capacity:
        return []
    return [
        _("L'expert « %(name)s » n'a plus de disponibilité (%(missions)s mission(s) en cours et "
          "%(proposals)s proposition(s) en attente, pour %(capacity)s à la fois).",
          name=expert.name, missions=missions, proposals=proposals, capacity=expert.capacity)
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


@checks_input
def no_conflict_declared(ctx: Context) -> list[str]:
    if ctx.payload.get("no_conflict") is not True:
        return [_("Déclarez l'absence de conflit d'intérêts avec la collectivité pour accepter.")]
    return []


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
    deliverable = final_deliverable(ctx.application)
    if deliverable is None or deliverable.state not in {
        DeliverableState.ACCEPTED_BY_APPLICANT,
        DeliverableState.VALIDATED,
    }:
        return [_("Le livrable final n'a pas été validé par la collectivité.")]
    return []


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
