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
from sqlalchemy.orm import aliased, joinedload

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
from dcol.sql import json_members

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
    """What dossiers hold on a call's envelopes: in all (``total``) and by funder id."""

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


# --- what each dossier holds, in SQL ---------------------------------------------------------
#
# The rule is written once, as SQL, so that the sums over a whole call (the guards, the agenda,
# the dashboards of every call) are computed by the database and never load a row per dossier.
# A dossier counting against its envelopes holds the amounts of two snapshots:
# - ``held_id``: its latest computation (estimate or agreement), or its final cofinancing once
#   closed on its actual costs (which frees the rest);
# - ``committed_id``: once its agreement is signed, the signed computation (the final one once
#   closed); none before.
# It holds the larger of the two, in all and per funder: a pending amendment that lowers the
# amount frees nothing before it is signed. A dossier without any computation (deposited before
# the estimate was kept as a snapshot) holds its estimate, committed nowhere.


def _latest_snapshot_ids(call_ids: list[int], kinds) -> sa.Subquery:
    return (
        sa.select(CofinancingSnapshot.application_id, sa.func.max(CofinancingSnapshot.id).label("id"))
        .join(Application, Application.id == CofinancingSnapshot.application_id)
        .where(Application.call_id.in_(call_ids), CofinancingSnapshot.kind.in_(kinds))
        .group_by(CofinancingSnapshot.application_id)
        .subquery()
    )


def _positions(call_ids: list[int], excluding=(), only: int | None = None) -> sa.Subquery:
    """One row per dossier of these calls counting against its envelopes (or only the dossier
    ``only``): its call, its two snapshots and its estimate. ``excluding`` is a list of dossier
    ids or a select of them."""
    current = _latest_snapshot_ids(call_ids, (SnapshotKind.ESTIMATE, SnapshotKind.AGREEMENT))
    signed = (
        sa.select(Agreement.application_id, sa.func.max(Agreement.snapshot_id).label("id"))
        .join(Application, Application.id == Agreement.application_id)
        .where(Application.call_id.in_(call_ids), Agreement.state == AgreementState.SIGNED)
        .group_by(Agreement.application_id)
        .subquery()
    )
    final = _latest_snapshot_ids(call_ids, (SnapshotKind.FINAL,))
    closed_on_actuals = sa.and_(Application.state == S.CLOSED, final.c.id.is_not(None))
    query = (
        sa.select(
            Application.call_id, Application.id.label("application_id"),
            Application.estimated_cofinancing.label("estimated"),
            sa.case((closed_on_actuals, final.c.id), else_=current.c.id).label("held_id"),
            sa.case((closed_on_actuals, final.c.id),
                    (sa.and_(Application.state.in_(COMMITTED_STATES), signed.c.id.is_not(None)),
                     signed.c.id)).label("committed_id"),
        )
        .outerjoin(current, current.c.application_id == Application.id)
        .outerjoin(signed, signed.c.application_id == Application.id)
        .outerjoin(final, final.c.application_id == Application.id)
        .where(Application.call_id.in_(call_ids), Application.state.in_(ENVELOPE_STATES))
    )
    if only is not None:
        query = query.where(Application.id == only)
    if isinstance(excluding, sa.Select) or excluding:
        query = query.where(Application.id.not_in(excluding))
    return query.subquery()


def _greater(a, b):
    return sa.case((a >= b, a), else_=b)


def _dossier_totals(positions: sa.Subquery) -> sa.Select:
    """Per dossier: its call, id, what it holds in all and what it has committed."""
    held = aliased(CofinancingSnapshot)
    committed = aliased(CofinancingSnapshot)
    committed_amount = sa.func.coalesce(committed.scheme_share, 0)
    return (
        sa.select(positions.c.call_id, positions.c.application_id,
                  _greater(sa.func.coalesce(held.scheme_share, positions.c.estimated, 0),
                           committed_amount).label("total"),
                  committed_amount.label("committed"))
        .outerjoin(held, held.id == positions.c.held_id)
        .outerjoin(committed, committed.id == positions.c.committed_id)
    )


def _dossier_funder_shares(positions: sa.Subquery) -> sa.Select:
    """Per dossier and funder: its call, id, the funder, what the dossier holds on the funder's
    envelope and what it has committed there."""
    share = CofinancingShare
    either = sa.union_all(
        sa.select(positions.c.call_id, positions.c.application_id, share.funder_id,
                  share.amount.label("held"), sa.literal(0).label("committed"))
        .join(share, share.snapshot_id == positions.c.held_id),
        sa.select(positions.c.call_id, positions.c.application_id, share.funder_id,
                  share.amount.label("held"), share.amount.label("committed"))
        .join(share, share.snapshot_id == positions.c.committed_id),
    ).subquery()
    return (
        sa.select(either.c.call_id, either.c.application_id, either.c.funder_id,
                  sa.func.max(either.c.held).label("total"),
                  sa.func.max(either.c.committed).label("committed"))
        .group_by(either.c.call_id, either.c.application_id, either.c.funder_id)
    )


def _cents(column):
    """A sum of amounts in whole cents: exact on SQLite too, whose numbers are binary floats."""
    return sa.func.sum(sa.cast(sa.func.round(column * 100), sa.BigInteger))


def _euros(cents) -> Decimal:
    return (Decimal(int(cents or 0)) / 100).quantize(ZERO)


def engaged_by_call(call_ids: list[int], excluding=()) -> dict[int, Holding]:
    """What the dossiers of these calls (apart from ``excluding``: ids or a select of them)
    hold on their call's envelopes, summed by call (two queries whatever the number of calls
    and dossiers)."""
    result = {call_id: Holding() for call_id in call_ids}
    if not call_ids:
        return result
    positions = _positions(call_ids, excluding)
    totals = _dossier_totals(positions).subquery()
    for call_id, total, committed in db.session.execute(
            sa.select(totals.c.call_id, _cents(totals.c.total), _cents(totals.c.committed))
            .group_by(totals.c.call_id)):
        result[call_id].total, result[call_id].committed = _euros(total), _euros(committed)
    shares = _dossier_funder_shares(positions).subquery()
    for call_id, funder_id, total, committed in db.session.execute(
            sa.select(shares.c.call_id, shares.c.funder_id, _cents(shares.c.total),
                      _cents(shares.c.committed))
            .group_by(shares.c.call_id, shares.c.funder_id)):
        result[call_id].by_funder[funder_id] = _euros(total)
        result[call_id].committed_by_funder[funder_id] = _euros(committed)
    return result


def holding_of(application: Application) -> Holding | None:
    """What the dossier holds on its call's envelopes (None when it does not count against
    them: before its selection, or withdrawn or rejected)."""
    positions = _positions([application.call_id], only=application.id)
    row = db.session.execute(_dossier_totals(positions)).one_or_none()
    if row is None:
        return None
    holding = Holding(Decimal(row.total).quantize(ZERO), Decimal(row.committed).quantize(ZERO))
    for share in db.session.execute(_dossier_funder_shares(positions)):
        holding.by_funder[share.funder_id] = Decimal(share.total).quantize(ZERO)
        holding.committed_by_funder[share.funder_id] = Decimal(share.committed).quantize(ZERO)
    return holding


def envelope_total(call_id: int) -> Decimal | None:
    """The call's envelope as a whole (without a funder), or the sum of the funders' envelopes
    when it has only those; None when the call has none."""
    total = db.session.scalar(sa.select(sa.func.sum(Envelope.amount)).where(
        Envelope.call_id == call_id, Envelope.funder_id.is_(None)))
    if total is None:
        total = db.session.scalar(
            sa.select(sa.func.sum(Envelope.amount)).where(Envelope.call_id == call_id))
    return Decimal(total) if total is not None else None


def engaged_cofinancing(call_id: int, excluding=()) -> Decimal:
    """What the call's dossiers (apart from ``excluding``: ids or a select of them) hold on its
    envelope."""
    return engaged_by_call([call_id], excluding)[call_id].total


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
    own = holding_of(application) or _holding_if_engaged(application)
    if own is None:
        return [_("Le cofinancement estimé du dossier n'a pas été calculé.")]
    others = engaged_by_call([application.call_id], excluding=[application.id])[
        application.call_id]
    problems = []
    remaining = total - others.total
    if own.total > remaining:
        problems.append(_("L'enveloppe de l'appel ne suffit pas : reste %(remaining)s, "
                          "cofinancement du dossier %(amount)s.",
                          remaining=format_money(remaining), amount=format_money(own.total)))
    for envelope in db.session.scalars(sa.select(Envelope).where(
            Envelope.call_id == application.call_id, Envelope.funder_id.is_not(None))):
        wanted = own.by_funder.get(envelope.funder_id, ZERO)
        left = envelope.amount - others.by_funder.get(envelope.funder_id, ZERO)
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
    engaged = engaged_by_call(ids)
    paid_by_call = _paid(ids)
    envelopes_by_call = defaultdict(list)
    for envelope in db.session.scalars(sa.select(Envelope).where(Envelope.call_id.in_(ids))
                                       .options(joinedload(Envelope.funder))):
        envelopes_by_call[envelope.call_id].append(envelope)
    result = {}
    for call_id in ids:
        held = engaged[call_id]
        paid_total, paid_by_funder = paid_by_call.get(call_id, (ZERO, {}))
        lines = []
        envelopes = sorted(envelopes_by_call[call_id],
                           key=lambda e: (e.funder_id is not None, e.funder.name if e.funder else ""))
        for envelope in envelopes:
            if envelope.funder_id is None:
                total, committed, paid = held.total, held.committed, paid_total
            else:
                total = held.by_funder.get(envelope.funder_id, ZERO)
                committed = held.committed_by_funder.get(envelope.funder_id, ZERO)
                paid = paid_by_funder.get(envelope.funder.code, ZERO)
            lines.append(EnvelopeLine(envelope.funder, envelope.amount, total - committed,
                                      committed, paid))
        result[call_id] = lines
    return result


def _paid(call_ids: list[int]) -> dict[int, tuple[Decimal, dict[str, Decimal]]]:
    """The scheme's part of each call's payments made, in all and by funder code (two
    queries)."""
    paid = sa.and_(Application.call_id.in_(call_ids), Payment.status == PaymentStatus.PAID)
    totals = {call_id: _euros(cents) for call_id, cents in db.session.execute(
        sa.select(Application.call_id, _cents(Payment.scheme_part))
        .join(Application, Application.id == Payment.application_id)
        .where(paid).group_by(Application.call_id))}
    by_funder: dict[int, dict[str, Decimal]] = defaultdict(dict)
    parts = json_members(Payment.funder_parts)
    for call_id, code, cents in db.session.execute(
            sa.select(Application.call_id, parts.c.key,
                      _cents(sa.cast(parts.c.value, sa.Numeric(12, 2))))
            .select_from(Payment).join(Application, Application.id == Payment.application_id)
            .join(parts, sa.true()).where(paid).group_by(Application.call_id, parts.c.key)):
        by_funder[call_id][code] = _euros(cents)
    return {call_id: (total, by_funder.get(call_id, {})) for call_id, total in totals.items()}
