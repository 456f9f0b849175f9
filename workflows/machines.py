"""One ``transitions`` machine per workflow, shared by every row it drives.

A row's state is lent to the machine for the time of one step, through a plain token (no name
clashes with the model's attributes, no state reset when a row is loaded): see the traps listed
in STYLE.md. The caller assigns the state the machine returns, in its own transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from transitions import Machine, MachineError


class _Token:
    def __init__(self, state: str):
        self.state = state


class StateMachine:
    def __init__(self, states: Iterable[str], steps: Iterable[tuple[str, Iterable[str], str]]):
        """``steps``: (trigger, source states, target state)."""
        self._machine = Machine(
            model=None,
            states=list(states),
            transitions=[{"trigger": trigger, "source": list(sources), "dest": target}
                         for trigger, sources, target in steps],
            initial=None,
            auto_transitions=False,
            ignore_invalid_triggers=False,
        )
        self._lock = threading.Lock()

    def next_state(self, trigger: str, state: str) -> str | None:
        """The state ``trigger`` leads to from ``state``; None when it does not apply."""
        token = _Token(state)
        with self._lock:
            self._machine.add_model(token, initial=state)
            try:
                self._machine.events[trigger].trigger(token)
            except MachineError:
                return None
            finally:
                self._machine.remove_model(token)
        return token.state
