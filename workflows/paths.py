"""Paths through the machine: which events lead a new dossier to a given state.

Used to give seeded dossiers (demo, benchmarks) the audit trail they would have had.
"""

from __future__ import annotations

from collections import deque
from functools import cache

from dcol.models import ApplicationState, CallKind
from workflows.dossier import EVENTS, INITIAL, Event

# Detours a shortest path would not take but a real dossier often does.
PREFERRED = {ApplicationState.WITHDRAWN: ApplicationState.SUBMITTED}


@cache
def shortest_path(kind: CallKind, target: ApplicationState) -> tuple[Event, ...]:
    """The fewest events from a draft to ``target`` for a call of ``kind`` (breadth first)."""
    if target in PREFERRED:
        first = shortest_path(kind, PREFERRED[target])
        last = _search(kind, PREFERRED[target], target)
        return first + last
    return _search(kind, INITIAL, target)


def _search(kind: CallKind, start: ApplicationState, target: ApplicationState) -> tuple[Event, ...]:
    queue = deque([(start, ())])
    seen = {start}
    while queue:
        state, path = queue.popleft()
        if state is target:
            return path
        for event in EVENTS:
            if kind in event.variants and state in event.sources and event.target not in seen:
                seen.add(event.target)
                queue.append((event.target, (*path, event)))
    raise ValueError(f"{target} cannot be reached in a {kind.value} dossier")
