"""Who is told of each transition, and what they are told (French, translatable).

Each audience is a function from the context to the users who receive the mail; the texts are in
``MESSAGES``, by event and audience, rendered through ``templates/mail/event.txt``.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from dcol.documents.services import receipt_of
from dcol.extensions import db
from dcol.i18n import format_moment
from dcol.mail import external_url, queue_mail
from dcol.models import (
    Application,
    CallKind,
    ConflictStatus,
    Document,
    DocumentKind,
    MembershipStatus,
    MissionProposal,
    ProposalStatus,
    Review,
    Role,
    User,
    UserRole,
)
from dcol.models.base import N_
from workflows.context import Context
from workflows.guards import mission_of


def organisation_members(application: Application) -> list[User]:
    """The active, enabled members of the dossier's organisation."""
    return list(
        db.session.scalars(
            sa.select(User).where(
                User.organisation_id == application.organisation_id,
                User.membership_status == MembershipStatus.ACTIVE,
                User.is_enabled.is_(True),
            )
        )
    )


def manager_users() -> list[User]:
    """Every enabled manager (chargé de mission)."""
    return list(
        db.session.scalars(
            sa.select(User)
            .join(UserRole)
            .where(UserRole.role == Role.MANAGER, User.is_enabled.is_(True))
        )
    )


def mission_expert_users(application: Application) -> list[User]:
    """The enabled users of the expert of the dossier's mission (none before assignment)."""
    mission = mission_of(application)
    return _expert_users(mission.expert_id if mission else None)


def to_organisation(ctx: Context) -> list[User]:
    return organisation_members(ctx.application)


def to_managers(ctx: Context) -> list[User]:
    return manager_users()


def to_reviewers(ctx: Context) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .join(Review, Review.reviewer_id == User.id)
            .where(
                Review.application_id == ctx.application.id,
                Review.conflict_status != ConflictStatus.CONFLICT,
                User.is_enabled.is_(True),
            )
        )
    )


def _expert_users(expert_id: int | None) -> list[User]:
    if expert_id is None:
        return []
    return list(
        db.session.scalars(
            sa.select(User).where(User.expert_id == expert_id, User.is_enabled.is_(True))
        )
    )


def to_proposed_expert(ctx: Context) -> list[User]:
    expert_id = db.session.scalar(
        sa.select(MissionProposal.expert_id).where(
            MissionProposal.application_id == ctx.application.id,
            MissionProposal.status == ProposalStatus.PENDING,
        )
    )
    return _expert_users(expert_id)


def to_mission_expert(ctx: Context) -> list[User]:
    return mission_expert_users(ctx.application)


def to_reporters(ctx: Context) -> list[User]:
    """Whoever writes the reports: the expert (DCOL) or the collectivité (call for projects)."""
    return reporters_of(ctx.application)


# (event, audience) -> (subject, body). Placeholders: reference, title, organisation, deadline.
MESSAGES: dict[tuple[str, str], tuple[str, str]] = {
    ("submit", "to_organisation"): (
        N_("Dossier %(reference)s déposé"),
        N_("Votre dossier « %(title)s » a bien été déposé. L'accusé de réception est disponible "
           "dans votre espace. Cités Unies France va en vérifier la recevabilité."),
    ),
    ("request_changes", "to_organisation"): (
        N_("Dossier %(reference)s : compléments demandés"),
        N_("Cités Unies France vous demande de compléter le dossier « %(title)s » avant le "
           "%(deadline)s (heure de Paris). Voici ce qu'il faut compléter :"),
    ),
    ("declare_eligible", "to_organisation"): (
        N_("Dossier %(reference)s recevable"),
        N_("Votre dossier « %(title)s » est recevable. Il va être instruit."),
    ),
    ("declare_ineligible", "to_organisation"): (
        N_("Dossier %(reference)s irrecevable"),
        N_("Votre dossier « %(title)s » a été déclaré irrecevable, pour le motif suivant :"),
    ),
    ("start_review", "to_reviewers"): (
        N_("Dossier %(reference)s à instruire"),
        N_("Le dossier « %(title)s » (%(organisation)s) vous est confié pour instruction. "
           "Déclarez d'abord l'absence de conflit d'intérêts, puis rédigez votre évaluation."),
    ),
    ("complete_review", "to_managers"): (
        N_("Dossier %(reference)s instruit"),
        N_("Toutes les évaluations du dossier « %(title)s » ont été soumises."),
    ),
    ("select", "to_organisation"): (
        N_("Dossier %(reference)s retenu"),
        N_("Le comité de sélection a retenu votre dossier « %(title)s ». Félicitations !"),
    ),
    ("waitlist", "to_organisation"): (
        N_("Dossier %(reference)s en liste d'attente"),
        N_("Le comité de sélection a placé votre dossier « %(title)s » en liste d'attente. "
           "Vous serez informé si une place se libère."),
    ),
    ("reject", "to_organisation"): (
        N_("Dossier %(reference)s non retenu"),
        N_("Le comité de sélection n'a pas retenu votre dossier « %(title)s », pour le motif "
           "suivant :"),
    ),
    ("start_matching", "to_organisation"): (
        N_("Dossier %(reference)s : recherche d'expert"),
        N_("Cités Unies France recherche dans son vivier l'expert le plus adapté à votre besoin."),
    ),
    ("propose_expert", "to_proposed_expert"): (
        N_("Proposition de mission %(reference)s"),
        N_("Cités Unies France vous propose la mission « %(title)s » pour %(organisation)s. "
           "Consultez la proposition dans votre espace pour l'accepter ou la décliner."),
    ),
    ("accept_mission", "to_managers"): (
        N_("Mission %(reference)s acceptée par l'expert"),
        N_("L'expert a accepté la mission « %(title)s ». La convention peut être préparée."),
    ),
    ("accept_mission", "to_organisation"): (
        N_("Dossier %(reference)s : un expert a accepté votre mission"),
        N_("Un expert du vivier de Cités Unies France a accepté la mission « %(title)s ». "
           "La convention va vous être proposée à la signature."),
    ),
    ("decline_mission", "to_managers"): (
        N_("Mission %(reference)s déclinée par l'expert"),
        N_("L'expert a décliné la mission « %(title)s ». Le dossier revient en recherche "
           "d'expert. Motif :"),
    ),
    ("prepare_agreement", "to_organisation"): (
        N_("Dossier %(reference)s : convention en préparation"),
        N_("La convention de votre projet « %(title)s » est en préparation ; elle vous sera "
           "proposée à la signature."),
    ),
    ("start", "to_organisation"): (
        N_("Dossier %(reference)s : la mission démarre"),
        N_("La convention est signée par toutes les parties : « %(title)s » démarre."),
    ),
    ("start", "to_mission_expert"): (
        N_("Mission %(reference)s : démarrage"),
        N_("La convention est signée par toutes les parties : la mission « %(title)s » démarre."),
    ),
    ("submit_final_report", "to_organisation"): (
        N_("Dossier %(reference)s : rapport final déposé"),
        N_("Le rapport final de « %(title)s » a été déposé. Merci de valider le livrable final "
           "ou de demander une révision."),
    ),
    ("submit_final_report", "to_managers"): (
        N_("Dossier %(reference)s : rapport final déposé"),
        N_("Le rapport final de « %(title)s » a été déposé."),
    ),
    ("request_revision", "to_reporters"): (
        N_("Dossier %(reference)s : révision demandée"),
        N_("Une révision du rapport final de « %(title)s » est demandée :"),
    ),
    ("close", "to_organisation"): (
        N_("Dossier %(reference)s clôturé"),
        N_("Le dossier « %(title)s » est clôturé. Le bilan de clôture est disponible dans votre "
           "espace. Merci de votre confiance."),
    ),
    ("close", "to_mission_expert"): (
        N_("Mission %(reference)s clôturée"),
        N_("La mission « %(title)s » est clôturée. Merci pour votre engagement."),
    ),
    ("withdraw", "to_organisation"): (
        N_("Dossier %(reference)s retiré"),
        N_("Le dossier « %(title)s » a été retiré ou classé sans suite. Motif :"),
    ),
    ("withdraw", "to_managers"): (
        N_("Dossier %(reference)s retiré"),
        N_("Le dossier « %(title)s » (%(organisation)s) a été retiré ou classé sans suite. Motif :"),
    ),
}


def receipt_attachments(ctx: Context) -> list[dict]:
    """The receipt of the deposit just recorded (see ``effects.record_submission``)."""
    submissions = ctx.application.submissions
    receipt = receipt_of(submissions[-1]) if submissions else None
    if receipt is None:
        return []
    return [
        {
            "filename": receipt.original_name,
            "stored_name": receipt.stored_name,
            "content_type": receipt.content_type,
        }
    ]


def letter_attachments(ctx: Context) -> list[dict]:
    """The committee's decision letter just written (see ``effects.write_decision_letter``)."""
    letter = db.session.scalar(
        sa.select(Document).where(Document.application_id == ctx.application.id,
                                  Document.kind == DocumentKind.LETTER)
        .order_by(Document.uploaded_at.desc(), Document.id.desc()).limit(1))
    if letter is None:
        return []
    return [{"filename": letter.original_name, "stored_name": letter.stored_name,
             "content_type": letter.content_type}]


def proposal_link(ctx: Context) -> str:
    """The proposed expert's page of its pending proposal, where it accepts or declines."""
    proposal_id = db.session.scalar(
        sa.select(MissionProposal.id).where(
            MissionProposal.application_id == ctx.application.id,
            MissionProposal.status == ProposalStatus.PENDING,
        )
    )
    if proposal_id is None:
        return external_url("applications.detail", application_id=ctx.application.id)
    return external_url("experts.proposal", proposal_id=proposal_id)


# The link of an audience's mail when it is not the dossier's page, by audience.
AUDIENCE_LINKS: dict[str, Callable[[Context], str]] = {
    "to_proposed_expert": proposal_link,
}


# Files attached to every mail of an event, by event name.
EVENT_ATTACHMENTS: dict[str, Callable[[Context], list[dict]]] = {
    "submit": receipt_attachments,
    "select": letter_attachments,
    "waitlist": letter_attachments,
    "reject": letter_attachments,
}


def queue_for(ctx: Context) -> int:
    """Queue the event's mails in the current transaction; return how many."""
    app, count = ctx.application, 0
    attach = EVENT_ATTACHMENTS.get(ctx.event.name)
    attachments = attach(ctx) if attach is not None and ctx.event.notify else []
    params = {
        "reference": app.reference,
        "title": app.title or app.reference,
        "organisation": app.organisation.name,
        "deadline": format_moment(app.response_deadline) if app.response_deadline else "",
    }
    link = external_url("applications.detail", application_id=app.id)
    seen: set[int] = set()
    for audience in ctx.event.notify:
        subject, body = MESSAGES[(ctx.event.name, audience.__name__)]
        link_of = AUDIENCE_LINKS.get(audience.__name__)
        audience_link = link_of(ctx) if link_of is not None else link
        for user in audience(ctx):
            if user.id in seen:
                continue
            seen.add(user.id)
            queue_mail(
                user.email,
                "event",
                application_id=app.id,
                locale=user.locale,
                user=user,
                subject=subject,
                body=body,
                params=params,
                comment=ctx.comment,
                application=app,
                link=audience_link,
                attachments=attachments,
            )
            count += 1
    return count


def tell(users: list[User], application: Application, subject: str, body: str, *,
         comment: str = "", link: str | None = None, params: dict | None = None,
         dedupe_prefix: str | None = None) -> int:
    """Queue a follow-up mail (``templates/mail/event.txt``) about the dossier to each user once;
    with ``dedupe_prefix``, never twice to the same user for the same prefix. Returns how many
    mails were queued."""
    params = {
        "reference": application.reference,
        "title": application.title or application.reference,
        "organisation": application.organisation.name,
        **(params or {}),
    }
    link = link or external_url("applications.detail", application_id=application.id)
    queued, seen = 0, set()
    for user in users:
        if user.id in seen:
            continue
        seen.add(user.id)
        mail = queue_mail(
            user.email, "event", application_id=application.id, locale=user.locale,
            dedupe_key=f"{dedupe_prefix}:{user.id}" if dedupe_prefix else None, user=user,
            subject=subject, body=body, params=params, comment=comment, application=application,
            link=link, attachments=[],
        )
        queued += mail is not None
    return queued


def reporters_of(application: Application) -> list[User]:
    """Whoever reports on the support: the mission's expert (DCOL) or the collectivité."""
    if application.call.kind is CallKind.DCOL:
        return mission_expert_users(application)
    return organisation_members(application)


def signatories_of(application: Application) -> list[User]:
    return [user for user in organisation_members(application) if user.is_signatory]
