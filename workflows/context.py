"""What guards, effects and notifications receive when an event is fired."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from dcol.models import Application, User

if TYPE_CHECKING:
    from workflows.dossier import Event


@dataclass
class Context:
    application: Application
    event: Event
    actor: User | None  # None: dcol itself (an automatic transition)
    now: datetime
    comment: str = ""
    payload: dict = field(default_factory=dict)
    from_state: str = ""
    preview: bool = False  # only showing what is missing: take no lock, ask for no input


def needs_input(guard):
    """Mark a guard that checks what the actor types when firing (skipped in previews)."""
    guard.needs_input = True
    return guard
