"""The course of a deliverable, declared in one place.

The expert (DCOL) or the collectivité (call for projects) deposits a deliverable; the
collectivité's signatory validates it or asks for a revision with a comment; the reporter deposits
the revised version; CUF's manager validates it last. A final deliverable also drives the dossier
(``dcol.missions.deliverables``): depositing it fires ``submit_final_report``, asking for its
revision fires ``request_revision``.

Read it as a table: each ``Step`` says from which states to which state, who may take it, whether
a comment is required, and who is told. ``move`` is the only code that changes a deliverable's
state: it checks the step, writes one audit entry (who, when, from, to, why) and queues the mails,
in the caller's transaction (it flushes only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _

from dcol import audit
from dcol.extensions import db
from dcol.models import Application, Deliverable, DeliverableState, User, utcnow
from dcol.models.base import N_
from dcol.permissions import Action, can, is_signatory_of
from workflows.engine import Forbidden, InvalidInput, NotApplicable
from workflows.machines import StateMachine
from workflows.notifications import manager_users, organisation_members, reporters_of, tell

D = DeliverableState


def _signatory(user: User, app: Application) -> bool:
    return can(user, Action.APP_VALIDATE_DELIVERABLE, app) and is_signatory_of(
        user, app.organisation_id)


def _validator(user: User, app: Application) -> bool:
    return can(user, Action.APP_VALIDATE_DELIVERABLE, app)


def _reporter(user: User, app: Application) -> bool:
    return can(user, Action.APP_REPORT, app)


def _cuf(user: User, app: Application) -> bool:
    return can(user, Action.APP_VALIDATE_FOR_CUF, app)


@dataclass(frozen=True)
class Step:
    name: str
    label: str  # the button, in French
    sources: tuple[DeliverableState, ...]
    target: DeliverableState
    who: str  # in French
    allowed: Callable[[User, Application], bool]
    comment_required: bool = False
    notify: tuple[Callable[[Application], list[User]], ...] = ()
    subject: str = ""
    body: str = ""


STEPS: tuple[Step, ...] = (
    Step(
        "accept", N_("Valider le livrable"),
        (D.SUBMITTED,), D.ACCEPTED_BY_APPLICANT,
        N_("signataire de la collectivité"), _signatory,
        notify=(lambda app: manager_users(), reporters_of),
        subject=N_("Dossier %(reference)s : livrable validé par la collectivité"),
        body=N_("La collectivité a validé le livrable « %(deliverable)s ». Cités Unies France "
                "va le valider à son tour."),
    ),
    Step(
        "ask_revision", N_("Demander une révision"),
        (D.SUBMITTED, D.ACCEPTED_BY_APPLICANT), D.REVISION_REQUESTED,
        N_("signataire de la collectivité ou chargé de mission"), _validator,
        comment_required=True,
        notify=(reporters_of,),
        subject=N_("Dossier %(reference)s : révision du livrable demandée"),
        body=N_("Une révision du livrable « %(deliverable)s » est demandée :"),
    ),
    Step(
        "resubmit", N_("Déposer la version révisée"),
        (D.REVISION_REQUESTED,), D.SUBMITTED,
        N_("l'expert (DCOL) ou la collectivité (appel à projets)"), _reporter,
        notify=(organisation_members, lambda app: manager_users()),
        subject=N_("Dossier %(reference)s : livrable révisé déposé"),
        body=N_("La version révisée du livrable « %(deliverable)s » a été déposée."),
    ),
    Step(
        "validate", N_("Valider pour Cités Unies France"),
        (D.ACCEPTED_BY_APPLICANT,), D.VALIDATED,
        N_("chargé de mission"), _cuf,
        notify=(organisation_members, reporters_of),
        subject=N_("Dossier %(reference)s : livrable validé"),
        body=N_("Cités Unies France a validé le livrable « %(deliverable)s »."),
    ),
)
STEPS_BY_NAME: dict[str, Step] = {step.name: step for step in STEPS}

_machine = StateMachine(
    [state.value for state in DeliverableState],
    [(step.name, [s.value for s in step.sources], step.target.value) for step in STEPS],
)


def _next_state(step: Step, state: DeliverableState) -> DeliverableState:
    target = _machine.next_state(step.name, state.value)
    if target is None:
        raise NotApplicable(_("Ce livrable n'est pas dans un état qui le permet."))
    return DeliverableState(target)


def steps_for(deliverable: Deliverable, user: User) -> list[Step]:
    """The steps ``user`` may take on the deliverable now (for the page's buttons)."""
    app = deliverable.mission.application
    return [step for step in STEPS
            if deliverable.state in step.sources and step.allowed(user, app)]


def move(deliverable: Deliverable, step_name: str, actor: User, *, comment: str = "",
         now: datetime | None = None) -> None:
    """Take the step on the deliverable as ``actor`` (see the module's docstring). Raises a
    ``WorkflowError`` before changing anything when it is not allowed."""
    step = STEPS_BY_NAME[step_name]
    now, comment = now or utcnow(), comment.strip()
    app = deliverable.mission.application
    if not step.allowed(actor, app):
        raise Forbidden(_("Vous ne pouvez pas faire cela sur ce livrable."))
    target = _next_state(step, deliverable.state)
    if step.comment_required and not comment:
        raise InvalidInput(_("Indiquez ce qui doit être revu."),
                           [_("Indiquez ce qui doit être revu.")])
    before = deliverable.state
    deliverable.state = target  # the only assignment of a deliverable's state in dcol
    if target is D.ACCEPTED_BY_APPLICANT:
        deliverable.accepted_by_applicant_at, deliverable.accepted_by_id = now, actor.id
    elif target is D.VALIDATED:
        deliverable.validated_at, deliverable.validated_by_id = now, actor.id
    elif target is D.REVISION_REQUESTED:
        deliverable.revision_comment = comment
    elif target is D.SUBMITTED:
        deliverable.version += 1
        deliverable.submitted_at, deliverable.submitted_by_id = now, actor.id
        deliverable.accepted_by_applicant_at = deliverable.accepted_by_id = None
    db.session.flush()
    audit.record(application_id=app.id, actor=actor, occurred_at=now,
                 event=f"deliverable.{step.name}", comment=comment,
                 payload={"deliverable": deliverable.id, "title": deliverable.title,
                          "from": before.value, "to": target.value,
                          "version": deliverable.version})
    users = [user for audience in step.notify for user in audience(app) if user.id != actor.id]
    tell(users, app, step.subject, step.body, comment=comment,
         params={"deliverable": deliverable.title})
