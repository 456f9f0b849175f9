"""A dossier's cofinancing: which version of the call's rules applies, what is cofinanced, and
each computation kept as a snapshot (inputs, rule version, result, who, when).

The arithmetic is ``dcol.finance.computation`` (pure); this module feeds it from the database
and keeps what it returns. A dossier keeps the version of the rules of its first computation
(the estimate made when it was deposited): later versions of the call's rules apply to later
dossiers, never to one already computed.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

from dcol.extensions import db
from dcol.finance.computation import (
    CEILING,
    COMMITTED,
    MIN_APPLICANT_SHARE,
    REQUESTED,
    Breakdown,
    CostLine,
    FunderPart,
    Inputs,
    Terms,
    compute,
)
from dcol.i18n import PARIS, format_money, format_number
from dcol.models import (
    Application,
    BudgetLineKind,
    Call,
    CallKind,
    CofinancingRule,
    CofinancingShare,
    CofinancingSnapshot,
    Funder,
    SnapshotKind,
    User,
    VatMode,
)
from dcol.models.base import N_

# The labels of the cost lines dcol writes itself (translated when shown; kept in French in the
# snapshot, as the agreement prints them).
EXPERT_DAYS_LABEL = N_("Jours d'expertise")
MISSION_COSTS_LABEL = N_("Frais de mission et de déplacement")
ESTIMATED_COST_LABEL = N_("Coût estimé de l'expertise")


def rule_in_force(call: Call, on: date) -> CofinancingRule | None:
    """The version of the call's rules in force on ``on`` (the latest one before it)."""
    rules = [rule for rule in call.cofinancing_rules if rule.effective_from <= on]
    return max(rules, key=lambda rule: (rule.effective_from, rule.version)) if rules else None


def rule_of(application: Application, on: date) -> CofinancingRule | None:
    """The version the dossier keeps: the one of its first computation, else the one in force
    on ``on``."""
    first = db.session.scalar(
        sa.select(CofinancingSnapshot.rule_id)
        .where(CofinancingSnapshot.application_id == application.id)
        .order_by(CofinancingSnapshot.id)
        .limit(1)
    )
    if first is not None:
        return db.session.get(CofinancingRule, first)
    return rule_in_force(application.call, on)


def terms_of(rule: CofinancingRule) -> Terms:
    return Terms(
        version=rule.version,
        rates={kind: Decimal(rate) for kind, rate in (rule.rates or {}).items()},
        including_vat=rule.vat_mode is VatMode.INCLUDING_VAT,
        vat_rate=Decimal(rule.vat_rate),
        ceiling=rule.ceiling,
        min_applicant_share=rule.min_applicant_share,
        funders=tuple(FunderPart.from_json(part) for part in rule.funder_split or []),
        advance_percent=Decimal(rule.advance_percent),
    )


def expertise_inputs(application: Application, days: Decimal, daily_rate: Decimal,
                     mission_costs: Decimal) -> Inputs:
    """A DCOL expertise: days × daily rate, plus field-mission and travel costs (excl. VAT)."""
    lines = [CostLine(EXPERT_DAYS_LABEL, quantity=days, unit_price=daily_rate)]
    if mission_costs:
        lines.append(CostLine(MISSION_COSTS_LABEL, amount=mission_costs))
    return Inputs(application.organisation.kind.value, tuple(lines))


def estimate_inputs(application: Application) -> Inputs | None:
    """What the dossier says before any agreement: the expertise's estimated cost (DCOL), or the
    eligible expenses of the project budget and the amount requested (call for projects).
    None when there is nothing to compute yet."""
    kind = application.organisation.kind.value
    if application.call.kind is CallKind.AAP:
        lines = tuple(CostLine(line.label, amount=line.amount) for line in application.budget_lines
                      if line.kind is BudgetLineKind.EXPENSE and line.is_eligible)
        return Inputs(kind, lines, application.requested_amount) if lines else None
    if application.estimated_cost is None:
        return None
    return Inputs(kind, (CostLine(ESTIMATED_COST_LABEL, amount=application.estimated_cost),))


def compute_cofinancing(application: Application, kind: SnapshotKind, inputs: Inputs,
                        actor: User | None, now: datetime, *, rule: CofinancingRule | None = None,
                        locked: bool = False) -> CofinancingSnapshot:
    """Compute the dossier's cofinancing under the version of the rules it keeps and keep the
    computation as a snapshot, with each funder's part (flushes only)."""
    rule = rule or rule_of(application, now.astimezone(PARIS).date())
    if rule is None:
        raise LookupError(f"call {application.call_id} has no cofinancing rules")
    terms = terms_of(rule)
    breakdown = compute(inputs, terms)
    funders = {funder.code: funder for funder in db.session.scalars(
        sa.select(Funder).where(Funder.code.in_([code for code, _ in breakdown.funders if code])))}
    snapshot = CofinancingSnapshot(
        application=application, rule=rule, kind=kind,
        inputs={"inputs": inputs.as_json(), "terms": terms.as_json()},
        result=breakdown.as_json(), total_cost=breakdown.total, scheme_share=breakdown.scheme,
        applicant_share=breakdown.applicant, is_locked=locked,
        computed_by_id=actor.id if actor is not None else None, computed_at=now,
        shares=[CofinancingShare(funder=funders[code], amount=amount)
                for code, amount in breakdown.funders if code is not None],
    )
    db.session.add(snapshot)
    db.session.flush()
    return snapshot


def estimate(application: Application, actor: User | None, now: datetime) -> Decimal | None:
    """The estimate made when the dossier is deposited (a snapshot): the scheme's share the
    committee's agenda adds up and the envelope reserves. None when it cannot be computed."""
    inputs = estimate_inputs(application)
    rule = rule_of(application, now.astimezone(PARIS).date())
    if inputs is None or rule is None:
        return None
    snapshot = compute_cofinancing(application, SnapshotKind.ESTIMATE, inputs, actor, now,
                                   rule=rule)
    return snapshot.scheme_share if breakdown_of(snapshot).is_eligible else None


def breakdown_of(snapshot: CofinancingSnapshot) -> Breakdown:
    return Breakdown.from_json(snapshot.result)


def replay(snapshot: CofinancingSnapshot) -> Breakdown:
    """The snapshot's computation made again from what it kept (equal to its result)."""
    return compute(Inputs.from_json(snapshot.inputs["inputs"]),
                   Terms.from_json(snapshot.inputs["terms"]))


def latest_snapshot(application: Application, *kinds: SnapshotKind) -> CofinancingSnapshot | None:
    return db.session.scalar(
        sa.select(CofinancingSnapshot)
        .where(CofinancingSnapshot.application_id == application.id,
               CofinancingSnapshot.kind.in_(kinds or tuple(SnapshotKind)))
        .order_by(CofinancingSnapshot.id.desc())
        .limit(1)
    )


def percent(value: Decimal) -> str:
    """``Decimal("80.00")`` → ``80 %``; ``33.5`` → ``33,5 %``."""
    return f"{format_number(Decimal(value).normalize())} %"


LIMITS = {
    CEILING: N_("plafonnée à %(amount)s par dossier"),
    REQUESTED: N_("limitée au montant demandé, %(amount)s"),
    COMMITTED: N_("limitée au montant engagé par la convention, %(amount)s"),
    MIN_APPLICANT_SHARE: N_("limitée pour laisser la contribution minimale de la collectivité"),
}


def describe(breakdown: Breakdown, with_expert: bool = True) -> list[str]:
    """The breakdown as a French reader follows it, line by line."""
    lines = [f"{_(label)} : {format_money(amount)}" for label, amount in breakdown.lines]
    if breakdown.including_vat:
        lines.append(_("TVA : %(amount)s", amount=format_money(breakdown.vat)))
    lines.append(summary(breakdown, with_expert))
    if breakdown.limited_by is not None:
        lines.append(_("Prise en charge %(limit)s (taux appliqué : %(amount)s).",
                       limit=_(LIMITS[breakdown.limited_by], amount=format_money(breakdown.scheme)),
                       amount=format_money(breakdown.at_rate)))
    return lines


def summary(breakdown: Breakdown, with_expert: bool = True) -> str:
    """« Coût total 12 500,00 € HT — prise en charge CUF 80 % : 10 000,00 € — reste à charge :
    2 500,00 € »."""
    vat = _("TTC") if breakdown.including_vat else _("HT")
    if not breakdown.is_eligible:
        return _("Coût total %(total)s %(vat)s — non éligible au cofinancement — reste à charge : "
                 "%(applicant)s", total=format_money(breakdown.total), vat=vat,
                 applicant=format_money(breakdown.applicant))
    rate = percent(breakdown.rate)
    share = (_("prise en charge CUF %(rate)s", rate=rate) if with_expert
             else _("subvention %(rate)s", rate=rate))
    return _("Coût total %(total)s %(vat)s — %(share)s : %(scheme)s — reste à charge : "
             "%(applicant)s", total=format_money(breakdown.total), vat=vat, share=share,
             scheme=format_money(breakdown.scheme), applicant=format_money(breakdown.applicant))
