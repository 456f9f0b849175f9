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


def cost_base(application) -> Decimal | None:
    """What the scheme cofinances, as the dossier says it before any agreement: the expertise's
    estimated cost (DCOL) or the eligible expenses of the project budget (call for projects)."""
    from dcol.models import BudgetLineKind, CallKind

    if application.call.kind is CallKind.AAP:
        eligible = [line.amount for line in application.budget_lines
                    if line.kind is BudgetLineKind.EXPENSE and line.is_eligible]
        return sum(eligible, Decimal("0")) if eligible else None
    return application.estimated_cost


def estimate_cofinancing(application, on: date) -> Decimal | None:
    """The scheme's estimated share for the dossier under the rule in force on ``on``: what the
    committee's agenda adds up and the envelope check of ``select`` reserves. For a call for
    projects it never exceeds the amount requested. None when it cannot be estimated yet."""
    rule = rule_in_force(application.call, on)
    base = cost_base(application)
    if rule is None or base is None:
        return None
    result = split(rule, application.organisation.kind, base)
    if result is None:
        return None
    if application.requested_amount is not None:
        return min(result.scheme, application.requested_amount)
    return result.scheme
