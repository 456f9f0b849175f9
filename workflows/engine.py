"""The engine: fire an event on a dossier for an actor, in one transaction.

``fire`` checks the version read, that the event applies, who is acting, the reason, what the actor
sent (invalid input: 422) and the guards (409); then moves the state through the ``transitions``
machine, runs the effects, writes exactly one audit entry, queues the notifications and commits.
Any failure rolls everything back. Within a caller's transaction (``commit=False``, used by the
automatic transitions of ``workflows.automatic``) a failure undoes the transition only.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from dcol import audit
from dcol.extensions import db, savepoint
from dcol.models import Application, ApplicationState, AuditEvent, User, utcnow
from dcol.permissions import Action, can
from workflows import inputs
from workflows.context import Context
from workflows.dossier import EVENTS, EVENTS_BY_NAME, STATES, Event
from workflows.machines import StateMachine
from workflows.notifications import queue_for


class WorkflowError(Exception):
    """A refusal, with a French message; ``status`` is the HTTP status the API answers."""

    status = 400

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.problems = problems or []


class NotVisible(WorkflowError):
    status = 404


class Forbidden(WorkflowError):
    status = 403


class NotApplicable(WorkflowError):
    status = 409


class GuardsFailed(WorkflowError):
    status = 409


class StaleVersion(WorkflowError):
    status = 412


class InvalidInput(WorkflowError):
    status = 422


class InputRefused(InvalidInput):
    """Invalid input a page shows on its fields: ``errors`` maps each field to its French
    message (see ``forms.base.attach_errors``)."""

    def __init__(self, message: str, errors: dict[str, str]):
        super().__init__(message, list(errors.values()))
        self.errors = errors


class BatchRefused(WorkflowError):
    """A batch of events of which at least one is refused: none is applied. ``refusals`` maps
    each refused dossier's reference (or the id sent, for a dossier the actor may not see) to its
    reasons; ``status`` is the highest of the refusals' statuses."""

    def __init__(self, message: str, refusals: dict[str, list[str]], status: int):
        super().__init__(message, [f"{reference} : {' '.join(reasons)}"
                                   for reference, reasons in refusals.items()])
        self.refusals = refusals
        self.errors = {reference: " ".join(reasons) for reference, reasons in refusals.items()}
        self.status = status


# One machine for every dossier: a dossier's state is lent to it for the time of one event.
_machine = StateMachine(
    [state.value for state in STATES],
    [(event.name, [s.value for s in event.sources], event.target.value) for event in EVENTS],
)


def _next_state(event: Event, state: ApplicationState) -> ApplicationState:
    target = _machine.next_state(event.name, state.value)
    if target is None:
        raise NotApplicable(_("Cette action n'est pas possible dans l'état actuel."))
    return ApplicationState(target)


def applies(event: Event, application: Application) -> bool:
    return application.call.kind in event.variants and application.state in event.sources


def may_fire(event: Event, application: Application, actor: User | None) -> bool:
    """Whether ``actor`` is among those who may fire ``event`` (None: dcol itself)."""
    if actor is None:
        return event.system
    if event.actor_check is not None:
        return event.actor_check(actor, application)
    return can(actor, event.permission, application)


def available_events(application: Application, user: User) -> list[Event]:
    """The events ``user`` may fire on the dossier now (the buttons of the UI)."""
    return [
        event
        for event in EVENTS
        if applies(event, application) and may_fire(event, application, user)
    ]


def unmet_guards(
    event: Event, application: Application, actor: User | None, comment: str = "",
    payload: dict | None = None,
) -> list[str]:
    """What is missing for the event, in French, leaving out what the actor will type."""
    ctx = Context(application, event, actor, utcnow(), comment.strip(), payload or {},
                  preview=True)
    return [
        problem
        for guard in event.guards
        if not getattr(guard, "needs_input", False)
        for problem in guard(ctx)
    ]


def fire(
    application: Application,
    event_name: str,
    actor: User | None,
    *,
    comment: str = "",
    payload: dict | None = None,
    expected_version: int | None = None,
    commit: bool = True,
) -> AuditEvent:
    """Fire ``event_name`` on ``application`` as ``actor`` (None: dcol itself).

    Raises a ``WorkflowError`` (nothing changed) or returns the audit entry of the transition.

    With ``commit`` (the default) the transaction is committed, or rolled back on any failure.
    With ``commit=False`` the transition joins the caller's transaction and never undoes the
    caller's work: a refusal is raised before anything is written (the session is left as it
    was), and the transition itself runs in a savepoint, which a failure rolls back alone.
    """
    comment, payload = comment.strip(), payload or {}
    if not commit:
        event, ctx = _check(application, event_name, actor, comment, payload, expected_version)
        try:
            with savepoint():
                return _transition(event, ctx)
        except (StaleDataError, IntegrityError) as error:
            raise _concurrent_change() from error
    try:
        event, ctx = _check(application, event_name, actor, comment, payload, expected_version)
        entry = _transition(event, ctx)
        db.session.commit()
        return entry
    except (StaleDataError, IntegrityError) as error:
        db.session.rollback()
        raise _concurrent_change() from error
    except Exception:
        db.session.rollback()
        raise


def _concurrent_change() -> StaleVersion:
    return StaleVersion(
        _("Le dossier a été modifié entre-temps par quelqu'un d'autre. "
          "Rechargez-le avant de recommencer.")
    )


def _check(application, event_name, actor, comment, payload, expected_version
           ) -> tuple[Event, Context]:
    """Everything that may refuse the event, before anything is written."""
    event = EVENTS_BY_NAME.get(event_name)
    if event is None:
        raise InvalidInput(_("Action inconnue : %(name)s.", name=event_name))
    if actor is not None and not can(actor, Action.APP_VIEW, application):
        raise NotVisible(_("Dossier introuvable."))
    if expected_version is not None and expected_version != application.version:
        raise StaleVersion(
            _("Le dossier a été modifié depuis que vous l'avez ouvert (version %(read)s, "
              "version actuelle %(current)s). Rechargez-le avant de recommencer.",
              read=expected_version, current=application.version)
        )
    if not applies(event, application):
        raise NotApplicable(
            _("L'action « %(event)s » n'est pas possible pour un dossier à l'état « %(state)s ».",
              event=_(event.label), state=application.state.label)
        )
    if not may_fire(event, application, actor):
        raise Forbidden(_("Vous n'êtes pas habilité à effectuer l'action « %(event)s ».",
                          event=_(event.label)))
    if event.reason_required and not comment:
        raise InvalidInput(
            _("Le champ « %(field)s » est obligatoire.", field=_(event.reason_label)),
            [_("Le champ « %(field)s » est obligatoire.", field=_(event.reason_label))],
        )
    ctx = Context(application, event, actor, utcnow(), comment, payload,
                  from_state=application.state.value)
    # What the actor sent comes first: the other guards and the effects only see valid input.
    input_checks = [inputs.storable_input,
                    *(guard for guard in event.guards if getattr(guard, "checks_input", False))]
    invalid = [problem for guard in input_checks for problem in guard(ctx)]
    if invalid:
        raise InvalidInput(
            _("Les données envoyées pour l'action « %(event)s » ne sont pas valides.",
              event=_(event.label)),
            invalid,
        )
    problems = [
        problem
        for guard in event.guards
        if not getattr(guard, "checks_input", False)
        for problem in guard(ctx)
    ]
    if problems:
        raise GuardsFailed(
            _("L'action « %(event)s » ne peut pas encore être effectuée.", event=_(event.label)),
            problems,
        )
    return event, ctx


def _transition(event: Event, ctx: Context) -> AuditEvent:
    application = ctx.application
    target = _next_state(event, application.state)
    application.state = target  # the only assignment of a dossier's state in dcol
    for effect in event.effects:
        effect(ctx)
    db.session.flush()  # the version check happens here: a concurrent change fails now
    entry = audit.record(
        application_id=application.id,
        actor=ctx.actor,
        event=event.name,
        occurred_at=ctx.now,
        from_state=ctx.from_state,
        to_state=target.value,
        comment=ctx.comment,
        payload=ctx.payload,
    )
    queue_for(ctx)
    return entry


@dataclass(frozen=True)
class EventView:
    """An available event with what is still missing, for buttons and the API."""

    name: str
    label: str
    reason_required: bool
    reason_label: str
    unmet: tuple[str, ...]


def describe_available(application: Application, user: User) -> list[EventView]:
    return [
        EventView(event.name, _(event.label), event.reason_required, _(event.reason_label),
                  tuple(unmet_guards(event, application, user)))
        for event in available_events(application, user)
    ]
