"""The payment schedule of a dossier, and each payment's course: scheduled (or held until the
final deliverable is validated), requested, paid.

The schedule follows the signed agreement (``dcol.finance.computation.schedule``). When an
amendment comes into force, what is already requested or paid stays; what was only scheduled is
cancelled and scheduled again for what the amendment leaves to pay: an advance tops up to its
new amount, the balance takes the rest. Services flush only; the caller commits.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _

from dcol import audit
from dcol.extensions import db
from dcol.finance.computation import (
    APPLICANT_CONTRIBUTION,
    AT_CLOSURE,
    AT_START,
    EXPERT_ADVANCE,
    EXPERT_BALANCE,
    GRANT_ADVANCE,
    GRANT_BALANCE,
    Breakdown,
    PlannedPayment,
    split_like,
)
from dcol.i18n import format_money
from dcol.models import (
    Agreement,
    Application,
    ApplicationState,
    DeliverableState,
    Payment,
    PaymentKind,
    PaymentStatus,
    User,
    utcnow,
)
from dcol.permissions import Action, can
from workflows.engine import Forbidden, NotApplicable

ZERO = Decimal("0.00")
ENGAGED = frozenset({PaymentStatus.REQUESTED, PaymentStatus.PAID})
OPEN = frozenset({PaymentStatus.SCHEDULED, PaymentStatus.HELD})
# Each advance and the balance that completes it; the applicant's contribution stands alone.
BALANCE_OF = {EXPERT_ADVANCE: EXPERT_BALANCE, GRANT_ADVANCE: GRANT_BALANCE}
PAYABLE_STATES = frozenset({ApplicationState.IN_PROGRESS, ApplicationState.FINAL_REPORT,
                            ApplicationState.CLOSED})
# Payments that go to the expert or the applicant (the others are the applicant's contribution).
EXPERT_KINDS = frozenset({PaymentKind.EXPERT_ADVANCE, PaymentKind.EXPERT_BALANCE})


def payments_of(application: Application) -> list[Payment]:
    return list(db.session.scalars(
        sa.select(Payment).where(Payment.application_id == application.id)
        .order_by(Payment.id)))


def _engaged(application: Application) -> dict[str, tuple[Decimal, Decimal]]:
    """What is already requested or paid, by kind: (amount, scheme part). A refund to the
    collectivité counts against its contribution."""
    engaged: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for payment in payments_of(application):
        if payment.status in ENGAGED:
            kind, sign = payment.kind.value, 1
            if payment.kind is PaymentKind.APPLICANT_REFUND:
                kind, sign = APPLICANT_CONTRIBUTION, -1
            engaged[kind][0] += sign * payment.amount
            engaged[kind][1] += sign * payment.scheme_part
    return {kind: (amount, scheme) for kind, (amount, scheme) in engaged.items()}


def _still_due(plan: list[PlannedPayment], engaged: dict[str, tuple[Decimal, Decimal]]
               ) -> list[tuple[PlannedPayment, Decimal, Decimal]]:
    """For each planned payment, what remains to schedule: (planned, amount, scheme part). An
    advance already engaged beyond its new amount is taken off its balance."""
    by_kind = {payment.kind: payment for payment in plan}
    due = []
    for payment in plan:
        amount, scheme = engaged.get(payment.kind, (ZERO, ZERO))
        if payment.kind in BALANCE_OF.values():
            advance = next(kind for kind, balance in BALANCE_OF.items()
                           if balance == payment.kind)
            advance_amount, advance_scheme = engaged.get(advance, (ZERO, ZERO))
            planned = by_kind[advance]
            amount += max(advance_amount - planned.amount, ZERO)
            scheme += max(advance_scheme - planned.scheme_part, ZERO)
        due.append((payment, payment.amount - amount, payment.scheme_part - scheme))
    return due


def amendment_problems(application: Application, plan: list[PlannedPayment]) -> list[str]:
    """Why an amendment with this schedule cannot come into force (French; empty if it can):
    more was already requested or paid than it leaves due."""
    problems = []
    for payment, amount, scheme in _still_due(plan, _engaged(application)):
        # An advance engaged beyond its new amount is taken off its balance (which then tells);
        # a contribution paid beyond the new remainder is refunded to the collectivité.
        if payment.kind in BALANCE_OF or payment.kind == APPLICANT_CONTRIBUTION:
            continue
        if amount < 0 or scheme < 0:
            problems.append(_("« %(kind)s » : %(engaged)s déjà demandés ou payés, plus que le "
                              "montant de l'avenant.", kind=_(PaymentKind(payment.kind).label),
                              engaged=format_money(payment.amount - amount)))
    return problems


def set_schedule(agreement: Agreement, plan: list[PlannedPayment], breakdown: Breakdown,
                 start: date) -> None:
    """The schedule of the agreement coming into force (see the module's docstring)."""
    application = agreement.application
    engaged = _engaged(application)
    # At closure (or after), the final deliverable may already be validated: nothing is held.
    released = _final_deliverable_validated(application) is not None
    for payment in payments_of(application):
        if payment.status in OPEN:
            payment.status = PaymentStatus.CANCELLED
    for planned, amount, scheme in _still_due(plan, engaged):
        if amount < 0 and planned.kind == APPLICANT_CONTRIBUTION:
            db.session.add(Payment(
                application=application, agreement=agreement, kind=PaymentKind.APPLICANT_REFUND,
                amount=-amount, scheme_part=ZERO, funder_parts={}, due=AT_CLOSURE, due_on=None,
                status=PaymentStatus.SCHEDULED))
            continue
        if amount <= 0:
            continue
        untouched = planned.kind not in engaged and planned.amount == amount
        funders = planned.funders if untouched else split_like(scheme, breakdown.funders)
        db.session.add(Payment(
            application=application, agreement=agreement, kind=PaymentKind(planned.kind),
            amount=amount, scheme_part=scheme,
            funder_parts={code: str(part) for code, part in funders if code is not None},
            due=planned.due, due_on=start if planned.due == AT_START else None,
            status=PaymentStatus.HELD if planned.held_until_final_deliverable and not released
            else PaymentStatus.SCHEDULED,
        ))
    db.session.flush()


def _final_deliverable_validated(application: Application):
    from workflows.guards import final_deliverable

    deliverable = final_deliverable(application)
    if deliverable is not None and deliverable.state is DeliverableState.VALIDATED:
        return deliverable
    return None


def request_payment(payment: Payment, actor: User, now: datetime | None = None) -> None:
    """Request the payment: the expert's invoice or the grant's instalment is asked for, or the
    collectivité's contribution called. A held payment waits for the final deliverable."""
    now = now or utcnow()
    application = payment.application
    _check_manager(actor, application)
    if payment.status not in OPEN:
        raise NotApplicable(_("Ce paiement n'est plus à demander."))
    if payment.status is PaymentStatus.HELD:
        deliverable = _final_deliverable_validated(application)
        if deliverable is None:
            raise NotApplicable(_("Ce paiement attend la validation du livrable final."))
        payment.held_for_deliverable_id = deliverable.id
    payment.status, payment.requested_at = PaymentStatus.REQUESTED, now
    _record(payment, actor, now, "payment.requested")


def record_payment(payment: Payment, actor: User, now: datetime | None = None) -> None:
    """Record that the requested payment was made (or the contribution received)."""
    now = now or utcnow()
    _check_manager(actor, payment.application)
    if payment.status is not PaymentStatus.REQUESTED:
        raise NotApplicable(_("Seul un paiement demandé peut être marqué comme payé."))
    payment.status, payment.paid_at = PaymentStatus.PAID, now
    _record(payment, actor, now, "payment.paid")


def _check_manager(actor: User, application: Application) -> None:
    if not can(actor, Action.APP_MANAGE, application):
        raise Forbidden(_("Seul un chargé de mission suit les paiements."))
    if application.state not in PAYABLE_STATES:
        raise NotApplicable(_("Les paiements suivent la signature de la convention."))


def _record(payment: Payment, actor: User, now: datetime, event: str) -> None:
    db.session.flush()
    audit.record(application_id=payment.application_id, actor=actor, occurred_at=now, event=event,
                 payload={"payment": payment.id, "kind": payment.kind.value,
                          "amount": payment.amount})

