"""Transitions dcol makes itself, as the issue describes them: the instruction closes when the
last review is in, and the mission starts on the last signature of the agreement.

The services that submit a review or record a signature call these hooks within their own
transaction, after writing their change. A hook fires the event as dcol itself (no actor, one
audit entry without author) when the dossier is in the right state and every guard holds;
otherwise it does nothing, and never undoes the caller's work:

- the guards are first read as a preview (``unmet_guards``: no lock is taken, nothing written),
  so that a dossier still waiting for a review or a signature costs two or three queries;
- the event is then fired with ``commit=False``: the guards are checked again for real (with
  their locks, such as the envelope's), and a refusal at that point (a concurrent selection took
  the envelope meanwhile) is raised before anything is written; the transition itself runs in a
  savepoint, so a failure there (a concurrent change of the dossier) rolls back the transition
  alone. Either way the hook swallows the refusal: the caller's review or signature stands, and
  the manager can still fire the event by hand.

The caller commits (and its mails, the transition's included, leave after the commit).
"""

from __future__ import annotations

import logging

from dcol.extensions import db
from dcol.models import Application, AuditEvent
from workflows import engine
from workflows.dossier import EVENTS_BY_NAME

logger = logging.getLogger(__name__)


def after_review_submitted(application: Application) -> AuditEvent | None:
    """Close the instruction (``complete_review``) when the last review is in.

    Returns the transition's audit entry, or None when nothing happened."""
    return fire_when_ready(application, "complete_review")


def after_signature(application: Application) -> AuditEvent | None:
    """Start the mission (``start``) on the agreement's last signature, once its cofinancing is
    locked. Returns the transition's audit entry, or None when nothing happened."""
    return fire_when_ready(application, "start")


def fire_when_ready(application: Application, event_name: str) -> AuditEvent | None:
    """Fire ``event_name`` as dcol itself within the caller's transaction when it applies and
    its guards hold; otherwise do nothing (see the module's docstring)."""
    event = EVENTS_BY_NAME[event_name]
    if not event.system or not engine.applies(event, application):
        return None
    db.session.flush()  # the guards read what the caller has just written
    if engine.unmet_guards(event, application, None):
        return None
    try:
        return engine.fire(application, event_name, None, commit=False)
    except engine.WorkflowError as error:
        logger.info("%s not fired automatically on dossier %s: %s %s", event_name,
                    application.id, error.message, error.problems)
        return None
