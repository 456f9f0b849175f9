"""The cofinancing computation: hand-computed breakdowns, funder splits and payment schedules,
then properties over random costs and terms (every split adds up to the cent, no share is
negative, every limit holds, and a JSON snapshot replays to the same result)."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from dcol.finance.computation import (
    APPLICANT_CONTRIBUTION,
    CEILING,
    EXPERT_ADVANCE,
    EXPERT_BALANCE,
    GRANT_ADVANCE,
    GRANT_BALANCE,
    MIN_APPLICANT_SHARE,
    REQUESTED,
    Breakdown,
    CostLine,
    FunderPart,
    Inputs,
    Terms,
    allot,
    compute,
    schedule,
    split_between_funders,
)

CENT = Decimal("0.01")
D = Decimal
RATES = {"commune": D("80"), "departement": D("50")}


def amount_of(total: str, kind: str = "commune", requested: str | None = None) -> Inputs:
    return Inputs(kind, (CostLine("Expertise", amount=D(total)),),
                  D(requested) if requested is not None else None)


def terms(**changes) -> Terms:
    return Terms(version=1, rates=changes.pop("rates", RATES), **changes)


def assert_cents(*amounts: Decimal) -> None:
    for amount in amounts:
        assert amount == amount.quantize(CENT), f"{amount} has more than two decimals"


# --- hand-computed breakdowns -------------------------------------------------------------

def test_expert_days_at_eighty_percent_for_a_commune():
    # 12.5 days x 1 000,00 = 12 500,00 HT; 80 % -> 10 000,00; the commune pays 2 500,00.
    days = Inputs("commune", (CostLine("Days", quantity=D("12.5"), unit_price=D("1000.00")),))
    # 15 x 750,00 = 11 250,00, + 1 250,00 travel = 12 500,00: the same breakdown.
    mixed = Inputs("commune", (CostLine("Days", quantity=D("15"), unit_price=D("750.00")),
                               CostLine("Travel", amount=D("1250.00"))))
    for inputs in (days, mixed):
        b = compute(inputs, terms())
        assert (b.cost_excluding_vat, b.vat, b.total) == (D("12500.00"), D("0"), D("12500.00"))
        assert (b.rate, b.scheme, b.applicant, b.limited_by) == (
            D("80"), D("10000.00"), D("2500.00"), None)


def test_a_ceiling_that_binds():
    # 40 000,00 x 80 % = 32 000,00 > 25 000,00: the scheme gives 25 000, the commune 15 000.
    b = compute(amount_of("40000.00"), terms(ceiling=D("25000.00")))
    assert (b.at_rate, b.scheme, b.applicant) == (D("32000.00"), D("25000.00"), D("15000.00"))
    assert b.limited_by == CEILING


def test_a_ceiling_that_does_not_bind():
    # 20 000,00 x 80 % = 16 000,00 <= 25 000,00 (and equal to the ceiling does not bind either).
    b = compute(amount_of("20000.00"), terms(ceiling=D("25000.00")))
    assert (b.scheme, b.applicant, b.limited_by) == (D("16000.00"), D("4000.00"), None)
    b = compute(amount_of("20000.00"), terms(ceiling=D("16000.00")))
    assert (b.scheme, b.limited_by) == (D("16000.00"), None)


def test_vat_included():
    # 10 000,00 HT + 20 % = 12 000,00 TTC; 80 % -> 9 600,00; applicant 2 400,00.
    b = compute(amount_of("10000.00"), terms(including_vat=True))
    assert (b.cost_excluding_vat, b.vat, b.total) == (D("10000.00"), D("2000.00"),
                                                      D("12000.00"))
    assert (b.scheme, b.applicant) == (D("9600.00"), D("2400.00"))


def test_vat_rounds_half_up():
    # 10,13 x 5,5 % = 0,55715 -> 0,56.
    b = compute(amount_of("10.13"), terms(including_vat=True, vat_rate=D("5.5")))
    assert (b.vat, b.total) == (D("0.56"), D("10.69"))
    # 203,00 x 5,5 % = 11,165 exactly -> 11,17 half-up (banker's rounding would give 11,16).
    b = compute(amount_of("203.00"), terms(including_vat=True, vat_rate=D("5.5")))
    assert (b.vat, b.total) == (D("11.17"), D("214.17"))


def test_uneven_amounts_round_to_the_cent_and_still_add_up():
    # 10 000,01 x 80 % = 8 000,008 -> 8 000,01; the applicant pays the rest, 2 000,00.
    b = compute(amount_of("10000.01"), terms())
    assert (b.scheme, b.applicant) == (D("8000.01"), D("2000.00"))
    # 10 000,05 x 80 % = 8 000,04 exactly; applicant 2 000,01.
    b = compute(amount_of("10000.05"), terms())
    assert (b.scheme, b.applicant) == (D("8000.04"), D("2000.01"))


def test_a_half_cent_share_rounds_up():
    # 100,06 x 75 % = 75,045 exactly -> 75,05 half-up (not 75,04); applicant 25,01.
    b = compute(amount_of("100.06"), terms(rates={"commune": D("75")}))
    assert (b.scheme, b.applicant) == (D("75.05"), D("25.01"))


def test_the_amount_requested_limits_the_share():
    # 80 % of 12 500,00 = 10 000,00, but only 7 000,00 was requested.
    b = compute(amount_of("12500.00", requested="7000.00"), terms())
    assert (b.scheme, b.applicant, b.limited_by) == (D("7000.00"), D("5500.00"), REQUESTED)


def test_the_minimum_applicant_contribution_binds():
    # 80 % of 12 500,00 = 10 000,00 leaves 2 500,00 < 3 000,00: the scheme gives 9 500,00.
    b = compute(amount_of("12500.00"), terms(min_applicant_share=D("3000.00")))
    assert (b.scheme, b.applicant, b.limited_by) == (D("9500.00"), D("3000.00"),
                                                     MIN_APPLICANT_SHARE)
    # A minimum above the total: the scheme gives nothing, the applicant pays everything.
    b = compute(amount_of("2000.00"), terms(min_applicant_share=D("3000.00")))
    assert (b.scheme, b.applicant, b.limited_by) == (D("0.00"), D("2000.00"),
                                                     MIN_APPLICANT_SHARE)


def test_a_kind_without_a_rate_is_not_eligible():
    b = compute(amount_of("12500.00", kind="association"), terms())
    assert not b.is_eligible
    assert (b.rate, b.scheme, b.applicant, b.limited_by) == (None, D("0"), D("12500.00"), None)


# --- hand-computed funder splits ----------------------------------------------------------

def test_three_equal_thirds_give_the_odd_cent_to_the_first():
    # 1 000 000 cents / 3 = 333 333,33... each: 333 333 + the leftover cent to the first.
    parts = tuple(FunderPart(code, percent=D("33.33")) for code in ("AFD", "CDC", "MEAE"))
    assert split_between_funders(D("10000.00"), parts) == (
        ("AFD", D("3333.34")), ("CDC", D("3333.33")), ("MEAE", D("3333.33")))


def test_a_fifty_thirty_twenty_split():
    parts = (FunderPart("AFD", percent=D("50")), FunderPart("CDC", percent=D("30")),
             FunderPart("MEAE", percent=D("20")))
    assert split_between_funders(D("10000.00"), parts) == (
        ("AFD", D("5000.00")), ("CDC", D("3000.00")), ("MEAE", D("2000.00")))


def test_a_fixed_amount_then_percentages_of_the_rest():
    # 10 000,00 - CDC 2 000,00 = 8 000,00, then 75 % / 25 % -> 6 000,00 / 2 000,00.
    parts = (FunderPart("AFD", percent=D("75")), FunderPart("CDC", amount=D("2000.00")),
             FunderPart("MEAE", percent=D("25")))
    shares = dict(split_between_funders(D("10000.00"), parts))
    assert shares == {"CDC": D("2000.00"), "AFD": D("6000.00"), "MEAE": D("2000.00")}


def test_a_fixed_amount_bigger_than_the_share_gets_only_the_share():
    parts = (FunderPart("CDC", amount=D("5000.00")), FunderPart("AFD", percent=D("100")))
    assert dict(split_between_funders(D("3000.00"), parts)) == {
        "CDC": D("3000.00"), "AFD": D("0.00")}


def test_fixed_amounts_only_leave_the_rest_to_the_schemes_own_funds():
    parts = (FunderPart("CDC", amount=D("2000.00")), FunderPart("AFD", amount=D("3000.00")))
    assert dict(split_between_funders(D("10000.00"), parts)) == {
        "CDC": D("2000.00"), "AFD": D("3000.00"), None: D("5000.00")}


# --- hand-computed schedules --------------------------------------------------------------

SPLIT = (FunderPart("AFD", percent=D("50")), FunderPart("CDC", percent=D("30")),
         FunderPart("MEAE", percent=D("20")))


def check_funder_parts(payments, b: Breakdown) -> None:
    for payment in payments:
        if payment.funders:
            assert sum(part for _, part in payment.funders) == payment.scheme_part
    for code, share in b.funders:
        paid = sum(dict(payment.funders).get(code, D(0)) for payment in payments)
        assert paid == share, code


def test_the_schedule_with_an_expert():
    # 12 500,00 at 80 %: scheme 10 000,00. Advance 30 %: the expert gets 3 750,00 at the start,
    # of which the scheme bears 3 000,00; the balance 8 750,00 (scheme 7 000,00) is held until
    # the final deliverable; the commune's 2 500,00 is called at the start.
    b = compute(amount_of("12500.00"), terms(funders=SPLIT))
    payments = schedule(b, with_expert=True, advance_percent=D("30"))
    assert [(p.kind, p.amount, p.scheme_part, p.held_until_final_deliverable)
            for p in payments] == [
        (EXPERT_ADVANCE, D("3750.00"), D("3000.00"), False),
        (EXPERT_BALANCE, D("8750.00"), D("7000.00"), True),
        (APPLICANT_CONTRIBUTION, D("2500.00"), D("0"), False),
    ]
    # AFD 5 000 = 1 500 + 3 500, CDC 3 000 = 900 + 2 100, MEAE 2 000 = 600 + 1 400.
    assert dict(payments[0].funders) == {"AFD": D("1500.00"), "CDC": D("900.00"),
                                         "MEAE": D("600.00")}
    check_funder_parts(payments, b)


def test_the_schedule_without_an_expert():
    # A grant of 10 000,00: 3 000,00 advance, 7 000,00 balance held until the final report.
    b = compute(amount_of("12500.00"), terms(funders=SPLIT))
    payments = schedule(b, with_expert=False, advance_percent=D("30"))
    assert [(p.kind, p.amount, p.scheme_part, p.held_until_final_deliverable)
            for p in payments] == [
        (GRANT_ADVANCE, D("3000.00"), D("3000.00"), False),
        (GRANT_BALANCE, D("7000.00"), D("7000.00"), True),
    ]
    check_funder_parts(payments, b)


# --- properties ---------------------------------------------------------------------------

def amounts(high: int) -> st.SearchStrategy[Decimal]:
    return st.integers(0, high * 100).map(lambda c: D(c).scaleb(-2))


percents = st.integers(0, 10_000).map(lambda c: D(c).scaleb(-2))
cost_lines = st.one_of(
    st.builds(lambda a: CostLine("Amount", amount=a), amounts(2_000_000)),
    st.builds(lambda q, u: CostLine("Days", quantity=q, unit_price=u),
              amounts(100), amounts(20_000)),
)
FUNDERS = ("AFD", "CDC", "DCTCIV", "MEAE", "REGION")


@st.composite
def funder_parts(draw) -> tuple[FunderPart, ...]:
    codes = draw(st.lists(st.sampled_from(FUNDERS), unique=True, max_size=len(FUNDERS)))
    return tuple(FunderPart(code, amount=draw(amounts(200_000))) if draw(st.booleans())
                 else FunderPart(code, percent=draw(percents)) for code in codes)


inputs_strategy = st.builds(
    Inputs, st.sampled_from(["commune"] * 3 + ["departement", "association"]),
    st.lists(cost_lines, min_size=1, max_size=5).map(tuple),
    st.none() | amounts(10_000_000))
terms_strategy = st.builds(
    Terms, version=st.integers(1, 50),
    rates=st.fixed_dictionaries({"commune": percents}, optional={"departement": percents}),
    including_vat=st.booleans(), vat_rate=st.sampled_from([D("5.5"), D("10"), D("20")]) | percents,
    ceiling=st.none() | amounts(10_000_000), min_applicant_share=st.none() | amounts(1_000_000),
    funders=funder_parts(), advance_percent=percents)


def half_up(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@settings(max_examples=400, deadline=None)
@given(inputs_strategy, terms_strategy)
def test_every_share_adds_up_and_every_limit_holds(inputs, terms):
    b = compute(inputs, terms)
    funder_shares = [share for _, share in b.funders]
    assert_cents(b.cost_excluding_vat, b.vat, b.total, b.at_rate, b.scheme, b.applicant,
                 *funder_shares)
    assert b.total == b.cost_excluding_vat + b.vat
    assert b.scheme + b.applicant == b.total
    assert min([b.scheme, b.applicant, *funder_shares]) >= 0
    if b.rate is None:
        assert (b.scheme, b.applicant) == (0, b.total)
    else:
        assert b.scheme <= half_up(b.total * b.rate / 100) == b.at_rate
    limits = {CEILING: terms.ceiling, REQUESTED: inputs.requested}
    if terms.min_applicant_share is not None:
        assert b.applicant >= min(terms.min_applicant_share, b.total)
        limits[MIN_APPLICANT_SHARE] = max(b.total - terms.min_applicant_share, 0)
    for limit in limits.values():
        assert limit is None or b.scheme <= limit
    # The lowest bound is the share, and limited_by names one that binds.
    assert b.scheme == min([b.at_rate, *(v for v in limits.values() if v is not None)])
    if b.limited_by is None:
        assert b.scheme == b.at_rate
    else:
        assert b.scheme == limits[b.limited_by] < b.at_rate
    if terms.funders:
        assert sum(funder_shares) == b.scheme
        assert len({code for code, _ in b.funders}) == len(b.funders)
    else:
        assert b.funders == ()


@settings(max_examples=300, deadline=None)
@given(inputs_strategy, terms_strategy, st.booleans())
def test_the_schedule_pays_exactly_the_shares(inputs, terms, with_expert):
    b = compute(inputs, terms)
    payments = schedule(b, with_expert, terms.advance_percent)
    for payment in payments:
        assert_cents(payment.amount, payment.scheme_part, *(p for _, p in payment.funders))
        assert 0 <= payment.scheme_part <= payment.amount
        assert all(part >= 0 for _, part in payment.funders)
    assert sum(payment.scheme_part for payment in payments) == b.scheme
    check_funder_parts(payments, b)
    if with_expert:
        expert = [p for p in payments if p.kind in (EXPERT_ADVANCE, EXPERT_BALANCE)]
        assert sum(p.amount for p in expert) == b.total
        (contribution,) = [p for p in payments if p.kind == APPLICANT_CONTRIBUTION]
        assert contribution.amount == b.applicant
    else:
        assert all(p.amount == p.scheme_part for p in payments)


@settings(max_examples=300, deadline=None)
@given(amounts(10_000_000),
       st.lists(percents, min_size=1, max_size=6).filter(lambda ws: sum(ws) > 0))
def test_allot_adds_up_and_stays_within_a_cent_of_the_due(amount, weights):
    parts = allot(amount, weights)
    assert_cents(*parts)
    assert sum(parts) == amount
    for part, weight in zip(parts, weights, strict=True):
        due = Fraction(amount) * Fraction(weight) / Fraction(sum(weights))
        assert abs(Fraction(part) - due) < Fraction(CENT)


@settings(max_examples=200, deadline=None)
@given(inputs_strategy, terms_strategy)
def test_a_json_snapshot_replays_to_the_same_result(inputs, terms):
    b = compute(inputs, terms)
    assert compute(inputs, terms) == b
    through_json = json.loads(json.dumps({"inputs": inputs.as_json(), "terms": terms.as_json(),
                                          "breakdown": b.as_json()}))
    replayed_terms = Terms.from_json(through_json["terms"])
    replayed_inputs = Inputs.from_json(through_json["inputs"])
    assert (replayed_terms, replayed_inputs) == (terms, inputs)
    assert Breakdown.from_json(through_json["breakdown"]) == b
    assert compute(replayed_inputs, replayed_terms) == b
