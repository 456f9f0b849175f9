"""The envelopes' sums are computed by the database (``dcol.finance.envelopes``): they must
equal the rule applied dossier by dossier to the raw rows, to the cent, on every envelope of
every call, whole and per funder, including what was paid."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import sqlalchemy as sa

from dcol.demo import seed_demo
from dcol.extensions import db
from dcol.finance.envelopes import (
    COMMITTED_STATES,
    ENVELOPE_STATES,
    call_envelopes,
    engaged_cofinancing,
)
from dcol.models import (
    Agreement,
    AgreementState,
    Application,
    ApplicationState,
    Call,
    CofinancingSnapshot,
    Payment,
    PaymentStatus,
    SnapshotKind,
)

ZERO = Decimal("0.00")


def expected_lines(call: Call) -> dict[str | None, tuple[Decimal, Decimal, Decimal]]:
    """(reserved, committed, paid) per funder code (None: the call as a whole), dossier by
    dossier in Python, as the rule reads."""
    held: dict = defaultdict(lambda: ZERO)
    committed: dict = defaultdict(lambda: ZERO)
    for application in db.session.scalars(sa.select(Application).where(
            Application.call_id == call.id, Application.state.in_(ENVELOPE_STATES))):
        snapshots = sorted(db.session.scalars(sa.select(CofinancingSnapshot).where(
            CofinancingSnapshot.application_id == application.id)), key=lambda s: s.id)
        latest = [s for s in snapshots if s.kind in (SnapshotKind.ESTIMATE, SnapshotKind.AGREEMENT)]
        final = [s for s in snapshots if s.kind is SnapshotKind.FINAL]
        signed_ids = [a.snapshot_id for a in db.session.scalars(sa.select(Agreement).where(
            Agreement.application_id == application.id, Agreement.state == AgreementState.SIGNED))]
        by_id = {s.id: s for s in snapshots}

        def split(snapshot):
            return {None: snapshot.scheme_share,
                    **{share.funder.code: share.amount for share in snapshot.shares}}

        if application.state is ApplicationState.CLOSED and final:
            own = own_committed = split(final[-1])
        else:
            own = split(latest[-1]) if latest else {None: application.estimated_cofinancing or ZERO}
            own_committed = {}
            if application.state in COMMITTED_STATES and signed_ids:
                own_committed = split(by_id[max(signed_ids)])
                for code, amount in own_committed.items():
                    own[code] = max(own.get(code, ZERO), amount)
        for code, amount in own.items():
            held[code] += amount
        for code, amount in own_committed.items():
            committed[code] += amount
    paid: dict = defaultdict(lambda: ZERO)
    for payment in db.session.scalars(sa.select(Payment).join(Application).where(
            Application.call_id == call.id, Payment.status == PaymentStatus.PAID)):
        paid[None] += payment.scheme_part
        for code, amount in (payment.funder_parts or {}).items():
            paid[code] += Decimal(amount)
    return {code: (held[code] - committed[code], committed[code], paid[code])
            for code in set(held) | set(committed) | set(paid)}


def test_envelope_sums_equal_the_rule_dossier_by_dossier(app):
    seed_demo()
    db.session.commit()
    checked = funders = 0
    for call in db.session.scalars(sa.select(Call)):
        expected = expected_lines(call)
        for line in call_envelopes(call):
            code = line.funder.code if line.funder else None
            assert (line.reserved, line.committed, line.paid) == expected.get(
                code, (ZERO, ZERO, ZERO)), (call.code, code)
            checked += 1
            funders += line.funder is not None
        whole = expected.get(None, (ZERO, ZERO, ZERO))
        assert engaged_cofinancing(call.id) == whole[0] + whole[1]
    assert checked and funders  # the demo has envelopes per funder too
    paid = [line for call in db.session.scalars(sa.select(Call)) for line in call_envelopes(call)
            if line.paid]
    assert any(line.funder is not None for line in paid)  # funders' parts of payments


def test_engaged_cofinancing_leaves_out_the_dossiers_excluded(app):
    seed_demo()
    db.session.commit()
    call, application = next(
        (call, application) for call in db.session.scalars(sa.select(Call))
        for application in db.session.scalars(sa.select(Application).where(
            Application.call_id == call.id, Application.state.in_(ENVELOPE_STATES))))
    everything = engaged_cofinancing(call.id)
    by_list = engaged_cofinancing(call.id, excluding=[application.id])
    by_select = engaged_cofinancing(call.id, excluding=sa.select(Application.id).where(
        Application.id == application.id))
    assert by_list == by_select < everything
