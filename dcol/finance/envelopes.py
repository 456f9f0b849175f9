"""A call's envelopes and what is engaged on them. The ``select`` and ``start`` guards, the
committee's agenda and the call's page all read them here, so that they never disagree.

A call has an envelope as a whole (no funder) and optionally one per funder. Each dossier from
its selection on holds an amount on them: the scheme's share of its latest computation (the
estimate made at deposit, then the agreement's and its amendments'), split between funders as
that computation split it. The amount is

- *reserved* while the agreement is not signed (selected, matching, agreement), and for the part
  of a pending amendment above the signed agreement;
- *committed* once the agreement is signed (in progress, final report, closed);
- *paid* as the scheme's part of the payments made.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from dcol.extensions import db
from dcol.finance.cofinancing import latest_snapshot
from dcol.i18n import format_money
from dcol.models import (
    Agreement,
    AgreementState,
    Application,
    ApplicationState,
    Call,
    CofinancingShare,
    CofinancingSnapshot,
    Envelope,
    Funder,
    Payment,
    PaymentStatus,
    SnapshotKind,
)

S = ApplicationState
ZERO = Decimal("0.00")
# Dossiers whose cofinancing counts against the call's envelope.
ENVELOPE_STATES = frozenset({
    S.SELECTED, S.MATCHING, S.EXPERT_PROPOSED, S.AGREEMENT, S.IN_PROGRESS, S.FINAL_REPORT,
    S.CLOSED,
})
COMMITTED_STATES = frozenset({S.IN_PROGRESS, S.FINAL_REPORT, S.CLOSED})


@dataclass
class Holding:
    """What one dossier holds on the call's envelopes: in all (``total``) and by funder id."""

    total: Decimal = ZERO
    committed: Decimal = ZERO
    by_funder: dict[int, Decimal] = field(default_factory=dict)
    committed_by_funder: dict[int, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class EnvelopeLine:
    funder: Funder | None
    amount: Decimal
    reserved: Decimal
    committed: Decimal
    paid: Decimal

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.reserved - self.committed


def _latest_snapshot_ids(call_ids: list[int], kinds) -> sa.Subquery:
    return (
        sa.select(CofinancingSnapshot.application_id, sa.func.max(CofinancingSnapshot.id).label("id"))
        .join(Application, Application.id == CofinancingSnapshot.application_id)
        .where(Application.call_id.in_(call_ids), CofinancingSnapshot.kind.in_(kinds))
        .group_by(CofinancingSnapshot.application_id)
        .subquery()
    )


def holdings(call_id: int, excluding: tuple[int, ...] | list[int] = ()) -> dict[int, Holding]:
    """What each dossier of the call holds on its envelopes (three queries)."""
    return holdings_by_call([call_id], excluding).get(call_id, {})


def holdings_by_call(call_ids: list[int], excluding: tuple[int, ...] | list[int] = ()
                     ) -> dict[int, dict[int, Holding]]:
    """What each dossier of these calls holds on its call's envelopes, by call (three queries
    whatever the number of calls)."""
    current = _latest_snapshot_ids(call_ids, (SnapshotKind.ESTIMATE, SnapshotKind.AGREEMENT))
    signed = (
        sa.select(Agreement.application_id, sa.func.max(Agreement.snapshot_id).label("id"))
        .join(Application, Application.id == Agreement.application_id)
        .where(Application.call_id.in_(call_ids), Agreement.state == AgreementState.SIGNED)
        .group_by(Agreement.application_id)
        .subquery()
    )
    final = _latest_snapshot_ids(call_ids, (SnapshotKind.FINAL,))
    query = (
        sa.select(Application.call_id, Application.id, Application.state,
                  Application.estimated_cofinancing, current.c.id, signed.c.id, final.c.id)
        .outerjoin(current, current.c.application_id == Application.id)
        .outerjoin(signed, signed.c.application_id == Application.id)
        .outerjoin(final, final.c.application_id == Application.id)
        .where(Application.call_id.in_(call_ids), Application.state.in_(ENVELOPE_STATES))
    )
    if excluding:
        query = query.where(Application.id.not_in(list(excluding)))
    rows = db.session.execute(query).all()
    snapshot_ids = {sid for row in rows for sid in row[4:] if sid is not None}
    amounts = dict(db.session.execute(
        sa.select(CofinancingSnapshot.id, CofinancingSnapshot.scheme_share)
        .where(CofinancingSnapshot.id.in_(snapshot_ids))).all()) if snapshot_ids else {}
    shares: dict[int, dict[int, Decimal]] = defaultdict(dict)
    if snapshot_ids:
        for snapshot_id, funder_id, amount in db.session.execute(
                sa.select(CofinancingShare.snapshot_id, CofinancingShare.funder_id,
                          CofinancingShare.amount)
                .where(CofinancingShare.snapshot_id.in_(snapshot_ids))):
            shares[snapshot_id][funder_id] = amount
    result: dict[int, dict[int, Holding]] = {call_id: {} for call_id in call_ids}
    for call_id, application_id, state, estimated, current_id, signed_id, final_id in rows:
        holding = Holding()
        if state is S.CLOSED and final_id is not None:
            # Closed on its actual costs: it holds its final cofinancing, and frees the rest.
            holding.total = holding.committed = amounts[final_id]
            holding.by_funder = dict(shares[final_id])
            holding.committed_by_funder = dict(shares[final_id])
            result[call_id][application_id] = holding
            continue
        if current_id is not None:
            holding.total, holding.by_funder = amounts[current_id], dict(shares[current_id])
        else:  # deposited before the estimate was kept as a snapshot
            holding.total = estimated or ZERO
        if state in COMMITTED_STATES and signed_id is not None:
            holding.committed = amounts[signed_id]
            holding.committed_by_funder = dict(shares[signed_id])
            # A pending amendment that lowers the amount frees nothing before it is signed.
            holding.total = max(holding.total, holding.committed)
            for funder_id, amount in holding.committed_by_funder.items():
                holding.by_funder[funder_id] = max(holding.by_funder.get(funder_id, ZERO), amount)
        result[call_id][application_id] = holding
    return result


def envelope_total(call_id: int) -> Decimal | None:
    """The call's envelope as a whole (without a funder), or the sum of the funders' envelopes
    when it has only those; None when the call has none."""
    total = db.session.scalar(sa.select(sa.func.sum(Envelope.amount)).where(
        Envelope.call_id == call_id, Envelope.funder_id.is_(None)))
    if total is None:
        total = db.session.scalar(
            sa.select(sa.func.sum(Envelope.amount)).where(Envelope.call_id == call_id))
    return Decimal(total) if total is not None else None


def engaged_cofinancing(call_id: int, excluding: tuple[int, ...] | list[int] = ()) -> Decimal:
    """What the call's dossiers (apart from ``excluding``) hold on its envelope."""
    return sum((holding.total for holding in holdings(call_id, excluding).values()), ZERO)


def envelope_problems(application: Application, lock: bool) -> list[str]:
    """Why the call's envelopes cannot carry what the dossier needs on top of what the others
    hold (French; empty when they can). With ``lock``, the call's row is locked first, so that
    concurrent checks of the same call run one after the other until their transactions end."""
    if lock:
        db.session.execute(sa.select(Call.id).where(Call.id == application.call_id)
                           .with_for_update())
    total = envelope_total(application.call_id)
    if total is None:
        return [_("Aucune enveloppe budgétaire n'est définie pour cet appel.")]
    need = holdings(application.call_id, excluding=())
    own = need.get(application.id) or _holding_if_engaged(application)
    if own is None:
        return [_("Le cofinancement estimé du dossier n'a pas été calculé.")]
    others = [holding for application_id, holding in need.items()
              if application_id != application.id]
    problems = []
    remaining = total - sum((holding.total for holding in others), ZERO)
    if own.total > remaining:
        problems.append(_("L'enveloppe de l'appel ne suffit pas : reste %(remaining)s, "
                          "cofinancement du dossier %(amount)s.",
                          remaining=format_money(remaining), amount=format_money(own.total)))
    for envelope in db.session.scalars(sa.select(Envelope).where(
            Envelope.call_id == application.call_id, Envelope.funder_id.is_not(None))):
        wanted = own.by_funder.get(envelope.funder_id, ZERO)
        left = envelope.amount - sum((holding.by_funder.get(envelope.funder_id, ZERO)
                                      for holding in others), ZERO)
        if wanted > left:
            problems.append(_("L'enveloppe de %(funder)s ne suffit pas : reste %(remaining)s, "
                              "part du dossier %(amount)s.", funder=envelope.funder.name,
                              remaining=format_money(left), amount=format_money(wanted)))
    return problems


def _holding_if_engaged(application: Application) -> Holding | None:
    """What the dossier would hold once selected: its latest computation (it is not counted yet,
    its state being before selection)."""
    snapshot = latest_snapshot(application, SnapshotKind.ESTIMATE, SnapshotKind.AGREEMENT)
    if snapshot is not None:
        return Holding(snapshot.scheme_share,
                       by_funder={share.funder_id: share.amount for share in snapshot.shares})
    if application.estimated_cofinancing is None:
        return None
    return Holding(application.estimated_cofinancing)


def call_envelopes(call: Call) -> list[EnvelopeLine]:
    """Each envelope of the call with what is reserved, committed and paid on it (the call as a
    whole first, then each funder's)."""
    return calls_envelopes([call])[call.id]


def calls_envelopes(calls: list[Call]) -> dict[int, list[EnvelopeLine]]:
    """``call_envelopes`` of several calls, by call id, in a fixed number of queries whatever
    the number of calls (the dashboards show them all)."""
    ids = [call.id for call in calls]
    positions_by_call = holdings_by_call(ids)
    paid_by_call = _paid(ids)
    envelopes_by_call = defaultdict(list)
    for envelope in db.session.scalars(sa.select(Envelope).where(Envelope.call_id.in_(ids))
                                       .options(joinedload(Envelope.funder))):
        envelopes_by_call[envelope.call_id].append(envelope)
    result = {}
    for call_id in ids:
        positions = positions_by_call.get(call_id, {})
        paid_total, paid_by_funder = paid_by_call.get(call_id, (ZERO, {}))
        lines = []
        envelopes = sorted(envelopes_by_call[call_id],
                           key=lambda e: (e.funder_id is not None, e.funder.name if e.funder else ""))
        for envelope in envelopes:
            if envelope.funder_id is None:
                committed = sum((h.committed for h in positions.values()), ZERO)
                held = sum((h.total for h in positions.values()), ZERO)
                paid = paid_total
            else:
                committed = sum((h.committed_by_funder.get(envelope.funder_id, ZERO)
                                 for h in positions.values()), ZERO)
                held = sum((h.by_funder.get(envelope.funder_id, ZERO)
                            for h in positions.values()), ZERO)
                paid = paid_by_funder.get(envelope.funder.code, ZERO)
            lines.append(EnvelopeLine(envelope.funder, envelope.amount, held - committed,
                                      committed, paid))
        result[call_id] = lines
    return result


def _paid(call_ids: list[int]) -> dict[int, tuple[Decimal, dict[str, Decimal]]]:
    """The scheme's part of each call's payments made, in all and by funder code."""
    totals: dict[int, Decimal] = defaultdict(lambda: ZERO)
    by_funder: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for call_id, scheme_part, funder_parts in db.session.execute(
            sa.select(Application.call_id, Payment.scheme_part, Payment.funder_parts)
            .join(Application, Application.id == Payment.application_id)
            .where(Application.call_id.in_(call_ids), Payment.status == PaymentStatus.PAID)):
        totals[call_id] += scheme_part
        for code, amount in (funder_parts or {}).items():
            by_funder[call_id][code] += Decimal(amount)
    return {call_id: (totals[call_id], dict(by_funder[call_id])) for call_id in totals}
