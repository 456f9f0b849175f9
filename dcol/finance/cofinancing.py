"""Cofinancing: the scheme's share of a cost under a call's rules.

Amounts are ``Decimal`` euros rounded half-up to the cent; the applicant's share is always the
remainder, so that the shares add up exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from dcol.i18n import to_cents
from dcol.models import Call, CofinancingRule, OrganisationKind


def rule_in_force(call: Call, on: date) -> CofinancingRule | None:
    """The version of the call's rules in force on ``on`` (the latest one before it)."""
    rules = [rule for rule in call.cofinancing_rules if rule.effective_from <= on]
    return max(rules, key=lambda rule: (rule.effective_from, rule.version)) if rules else None


def rate_for(rule: CofinancingRule, kind: OrganisationKind) -> Decimal | None:
    """The rate in percent for this kind of applicant; None when it is not eligible."""
    rate = (rule.rates or {}).get(kind.value)
    return Decimal(rate) if rate is not None else None


@dataclass(frozen=True)
class Split:
    total: Decimal
    rate: Decimal
    scheme: Decimal
    applicant: Decimal
    capped: bool


def split(rule: CofinancingRule, kind: OrganisationKind, total: Decimal) -> Split | None:
    """The scheme's share of ``total`` (rate, then ceiling) and the applicant's remainder."""
    rate = rate_for(rule, kind)
    if rate is None:
        return None
    total = to_cents(total)
    scheme = to_cents(total * rate / 100)
    capped = rule.ceiling is not None and scheme > rule.ceiling
    if capped:
        scheme = rule.ceiling
    return Split(total, rate, scheme, total - scheme, capped)
