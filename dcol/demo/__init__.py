"""Demonstration data: ``flask --app dcol seed-demo`` loads it, idempotently.

The demo accounts (one per role) all use ``DEMO_PASSWORD``; ``DEMO_ACCOUNTS`` lists them as
``(role, e-mail, full name)`` for the README and the tests.
"""

from dcol.demo.data import ACCOUNTS, DEMO_ACCOUNTS, DEMO_PASSWORD, TODAY
from dcol.demo.seed import DemoRefused, seed_demo

__all__ = [
    "ACCOUNTS", "DEMO_ACCOUNTS", "DEMO_PASSWORD", "TODAY", "DemoRefused", "seed_demo",
]
