"""Calls as collectivités see them: open calls, their rules, and the eligibility pre-check."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from dcol.applications.services import ValidationFailed, create_application, update_application
from dcol.calls.eligibility import allowed_kinds, eligibility_problems
from dcol.extensions import db
from dcol.finance.cofinancing import ESTIMATED_COST_LABEL, rule_in_force, summary, terms_of
from dcol.finance.computation import Breakdown, CostLine, Inputs, compute
from dcol.i18n import PARIS
from dcol.models import (
    Application,
    Call,
    CallKind,
    CofinancingRule,
    Organisation,
    OrganisationKind,
    Track,
    User,
    utcnow,
)
from dcol.permissions import Action, can
from workflows.engine import Forbidden, GuardsFailed

# The cost used in worked examples on a call's page.
EXAMPLE_COST = {CallKind.DCOL: Decimal("12500.00"), CallKind.AAP: Decimal("20000.00")}


def open_calls() -> list[Call]:
    now = utcnow()
    return list(
        db.session.scalars(
            sa.select(Call)
            .options(selectinload(Call.tracks))
            .where(Call.is_published.is_(True), Call.opens_at <= now, Call.closes_at > now)
            .order_by(Call.closes_at)
        )
    )


def published_calls() -> list[Call]:
    return list(
        db.session.scalars(
            sa.select(Call).where(Call.is_published.is_(True)).order_by(Call.opens_at.desc())
        )
    )


@dataclass(frozen=True)
class RateLine:
    kind: OrganisationKind
    rate: Decimal | None  # None: not eligible


@dataclass(frozen=True)
class CallRules:
    rule: CofinancingRule | None
    rates: list[RateLine]
    example: Breakdown | None
    example_kind: OrganisationKind | None

    @property
    def example_text(self) -> str:
        """« Coût total 12 500,00 € HT — prise en charge CUF 80 % : 10 000,00 € — ... »."""
        return summary(self.example, self.rule.call.kind is CallKind.DCOL) if self.example else ""


def call_rules(call: Call, visitor_kind: OrganisationKind | None) -> CallRules:
    """The cofinancing rates by kind of applicant, and a worked example for the visitor's kind
    (or the first eligible kind)."""
    rule = rule_in_force(call, utcnow().astimezone(PARIS).date())
    if rule is None:
        return CallRules(None, [], None, None)
    kinds, terms = allowed_kinds(call, None), terms_of(rule)
    rates = [
        RateLine(kind, terms.rates.get(kind.value) if not kinds or kind.value in kinds else None)
        for kind in OrganisationKind
    ]
    example_kind = visitor_kind or next((line.kind for line in rates if line.rate), None)
    example = None
    if example_kind is not None:
        cost = CostLine(ESTIMATED_COST_LABEL, amount=EXAMPLE_COST[call.kind])
        example = compute(Inputs(example_kind.value, (cost,)), terms)
    return CallRules(rule, rates, example, example_kind)


def precheck(call: Call, organisation: Organisation, track: Track | None, countries: list[str],
             departments: list[str]) -> list[str]:
    """The pre-check before a dossier is created: why not, in French (empty: eligible)."""
    problems = []
    if not call.is_open(utcnow()):
        problems.append(_("L'appel n'est pas ouvert aux dépôts."))
    return problems + eligibility_problems(call, organisation, track, countries, departments)


def open_dossier(call: Call, user: User, track: Track | None, countries: list[str],
                 departments: list[str], title: str = "") -> Application:
    """Run the pre-check for the user's organisation and, when it is eligible, create the draft
    with its track and places (flushes only). The web form and the API both come here.

    Raises ``GuardsFailed`` with the pre-check's reasons (French) when it is not eligible.
    """
    if not can(user, Action.APP_CREATE, call):
        raise Forbidden(_("Seuls les membres validés d'une collectivité peuvent créer un dossier."))
    if track is not None and track.call_id != call.id:
        raise ValidationFailed({"track_id": _("Ce volet n'appartient pas à cet appel.")})
    problems = precheck(call, user.organisation, track, countries, departments)
    if problems:
        raise GuardsFailed(_("Votre organisation ne peut pas candidater ainsi."), problems)
    application = create_application(call, user, title=title, track=track)
    update_application(application, user, {"countries": countries, "departments": departments})
    return application
