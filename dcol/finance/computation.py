"""The cofinancing computation: a pure function from a cost and a version of a call's rules to a
breakdown, and the payment schedule that follows from a breakdown.

Nothing here reads the database or the clock: the same inputs and terms always give the same
result, which is what a snapshot keeps (``Terms.as_json``, ``Inputs.as_json``,
``Breakdown.as_json``) so that a computation can be replayed years later.

Every amount is a ``Decimal`` in euros rounded half-up to the cent. Shares are never rounded
independently: the applicant's share is the remainder of the total, the last part of any split
is what the others leave, so every split adds up exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from fractions import Fraction

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal("100")

# Why the scheme's share is below the rate applied to the total (``Breakdown.limited_by``).
CEILING = "ceiling"
REQUESTED = "requested"
MIN_APPLICANT_SHARE = "min_applicant_share"
COMMITTED = "committed"


def cents(amount: Decimal) -> Decimal:
    """``amount`` rounded half-up to the cent."""
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def percent_of(amount: Decimal, percent: Decimal) -> Decimal:
    return cents(Decimal(amount) * Decimal(percent) / HUNDRED)


def _optional(value) -> Decimal | None:
    return Decimal(value) if value is not None else None


def _text(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


@dataclass(frozen=True)
class FunderPart:
    """A funder's part of the scheme's share: a percentage of what the fixed amounts leave, or a
    fixed amount. Percentages are proportions: 33.33 three times splits in three equal thirds."""

    funder: str  # the funder's code (AFD, CDC, DCTCIV...)
    percent: Decimal | None = None
    amount: Decimal | None = None

    def as_json(self) -> dict:
        if self.amount is not None:
            return {"funder": self.funder, "amount": str(self.amount)}
        return {"funder": self.funder, "percent": str(self.percent)}

    @classmethod
    def from_json(cls, data: dict) -> FunderPart:
        return cls(data["funder"], _optional(data.get("percent")), _optional(data.get("amount")))


@dataclass(frozen=True)
class Terms:
    """One version of a call's cofinancing rules, as the computation reads them."""

    version: int
    rates: dict[str, Decimal]  # kind of applicant -> percent; absent: not eligible
    including_vat: bool = False
    vat_rate: Decimal = Decimal("20")
    ceiling: Decimal | None = None
    min_applicant_share: Decimal | None = None
    funders: tuple[FunderPart, ...] = ()
    advance_percent: Decimal = Decimal("30")

    def as_json(self) -> dict:
        return {
            "version": self.version,
            "rates": {kind: str(rate) for kind, rate in sorted(self.rates.items())},
            "including_vat": self.including_vat,
            "vat_rate": str(self.vat_rate),
            "ceiling": _text(self.ceiling),
            "min_applicant_share": _text(self.min_applicant_share),
            "funders": [part.as_json() for part in self.funders],
            "advance_percent": str(self.advance_percent),
        }

    @classmethod
    def from_json(cls, data: dict) -> Terms:
        return cls(
            version=data["version"],
            rates={kind: Decimal(rate) for kind, rate in data["rates"].items()},
            including_vat=data["including_vat"],
            vat_rate=Decimal(data["vat_rate"]),
            ceiling=_optional(data["ceiling"]),
            min_applicant_share=_optional(data["min_applicant_share"]),
            funders=tuple(FunderPart.from_json(part) for part in data["funders"]),
            advance_percent=Decimal(data["advance_percent"]),
        )


@dataclass(frozen=True)
class CostLine:
    """A line of the cost excluding VAT: an amount, or a quantity times a unit price (expert days
    times the daily rate)."""

    label: str
    amount: Decimal | None = None
    quantity: Decimal | None = None
    unit_price: Decimal | None = None

    @property
    def total(self) -> Decimal:
        if self.quantity is not None:
            return cents(self.quantity * self.unit_price)
        return cents(self.amount)

    def as_json(self) -> dict:
        return {"label": self.label, "amount": _text(self.amount),
                "quantity": _text(self.quantity), "unit_price": _text(self.unit_price)}

    @classmethod
    def from_json(cls, data: dict) -> CostLine:
        return cls(data["label"], _optional(data["amount"]), _optional(data["quantity"]),
                   _optional(data["unit_price"]))


@dataclass(frozen=True)
class Inputs:
    """What is cofinanced: the applicant's kind, the cost lines excluding VAT and, for a call for
    projects, the amount the applicant requested (the scheme never gives more). At closure, the
    amount the signed agreement committed: the final share never exceeds it."""

    applicant_kind: str
    lines: tuple[CostLine, ...]
    requested: Decimal | None = None
    committed: Decimal | None = None

    def as_json(self) -> dict:
        return {"applicant_kind": self.applicant_kind,
                "lines": [line.as_json() for line in self.lines],
                "requested": _text(self.requested),
                "committed": _text(self.committed)}

    @classmethod
    def from_json(cls, data: dict) -> Inputs:
        return cls(data["applicant_kind"],
                   tuple(CostLine.from_json(line) for line in data["lines"]),
                   _optional(data["requested"]), _optional(data.get("committed")))


@dataclass(frozen=True)
class Breakdown:
    lines: tuple[tuple[str, Decimal], ...]
    cost_excluding_vat: Decimal
    vat: Decimal  # zero when the base excludes VAT
    total: Decimal  # the base the rate applies to
    including_vat: bool
    rate: Decimal | None  # None: this kind of applicant is not eligible
    at_rate: Decimal  # the rate applied to the total, before any limit
    scheme: Decimal
    applicant: Decimal
    limited_by: str | None  # CEILING, REQUESTED, COMMITTED or MIN_APPLICANT_SHARE
    funders: tuple[tuple[str | None, Decimal], ...]  # None: the scheme's own funds

    @property
    def is_eligible(self) -> bool:
        return self.rate is not None

    def as_json(self) -> dict:
        return {
            "lines": [[label, str(amount)] for label, amount in self.lines],
            "cost_excluding_vat": str(self.cost_excluding_vat),
            "vat": str(self.vat),
            "total": str(self.total),
            "including_vat": self.including_vat,
            "rate": _text(self.rate),
            "at_rate": str(self.at_rate),
            "scheme": str(self.scheme),
            "applicant": str(self.applicant),
            "limited_by": self.limited_by,
            "funders": [[code, str(amount)] for code, amount in self.funders],
        }

    @classmethod
    def from_json(cls, data: dict) -> Breakdown:
        return cls(
            lines=tuple((label, Decimal(amount)) for label, amount in data["lines"]),
            cost_excluding_vat=Decimal(data["cost_excluding_vat"]),
            vat=Decimal(data["vat"]),
            total=Decimal(data["total"]),
            including_vat=data["including_vat"],
            rate=_optional(data["rate"]),
            at_rate=Decimal(data["at_rate"]),
            scheme=Decimal(data["scheme"]),
            applicant=Decimal(data["applicant"]),
            limited_by=data["limited_by"],
            funders=tuple((code, Decimal(amount)) for code, amount in data["funders"]),
        )


def compute(inputs: Inputs, terms: Terms) -> Breakdown:
    """The breakdown of ``inputs`` under ``terms``.

    The total is the cost excluding VAT, plus the VAT at the terms' rate when the base includes
    it. The scheme's share is the applicant kind's rate of the total, then lowered by the
    ceiling, the amount requested, the amount committed and the applicant's minimum contribution
    (the lowest binds).
    The applicant pays the rest. The scheme's share is split between the funders."""
    lines = tuple((line.label, line.total) for line in inputs.lines)
    if any(amount < 0 for _, amount in lines) or min(inputs.requested or ZERO,
                                                       inputs.committed or ZERO) < 0:
        raise ValueError("costs and the amount requested cannot be negative")
    cost = sum((amount for _, amount in lines), ZERO)
    vat = percent_of(cost, terms.vat_rate) if terms.including_vat else ZERO
    total = cost + vat
    rate = terms.rates.get(inputs.applicant_kind)
    at_rate = percent_of(total, rate) if rate is not None else ZERO
    scheme, limited_by = at_rate, None
    limits = (
        (CEILING, terms.ceiling),
        (REQUESTED, inputs.requested),
        (COMMITTED, inputs.committed),
        (MIN_APPLICANT_SHARE, None if terms.min_applicant_share is None
         else max(total - terms.min_applicant_share, ZERO)),
    )
    for name, limit in limits:
        # A limit is never exceeded, not even by rounding: a fraction of a cent is dropped.
        limit = None if limit is None else Decimal(limit).quantize(CENT, rounding=ROUND_DOWN)
        if limit is not None and limit < scheme:
            scheme, limited_by = limit, name
    return Breakdown(
        lines=lines, cost_excluding_vat=cost, vat=vat, total=total,
        including_vat=terms.including_vat, rate=rate, at_rate=at_rate, scheme=scheme,
        applicant=total - scheme, limited_by=limited_by,
        funders=split_between_funders(scheme, terms.funders),
    )


def split_between_funders(amount: Decimal, parts: tuple[FunderPart, ...]
                          ) -> tuple[tuple[str | None, Decimal], ...]:
    """``amount`` between funders: the fixed amounts first, in order (never more than what is
    left), then what is left in proportion to the percentages. With no percentage, what is left
    stays the scheme's own (``None``). Every cent is allotted: the parts add up to ``amount``."""
    if not parts:
        return ()
    shares: dict[str | None, Decimal] = {}
    left = amount
    for part in parts:
        if part.amount is not None:
            given = min(cents(part.amount), left)
            shares[part.funder] = shares.get(part.funder, ZERO) + given
            left -= given
    weighted = [(part.funder, part.percent) for part in parts if part.amount is None]
    if weighted:
        for funder, given in zip([funder for funder, _ in weighted],
                                 allot(left, [weight for _, weight in weighted]), strict=True):
            shares[funder] = shares.get(funder, ZERO) + given
    elif left:
        shares[None] = left
    return tuple(shares.items())


def allot(amount: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """``amount`` in cents in proportion to ``weights`` (largest remainders; ties go to the first
    in order): the parts add up to ``amount`` exactly and each is within a cent of its due."""
    total_weight = sum((Fraction(weight) for weight in weights), Fraction(0))
    amount_cents = int(cents(amount) / CENT)
    if total_weight == 0:
        due = [Fraction(0)] * len(weights)
        due[-1] = Fraction(amount_cents)
    else:
        due = [Fraction(amount_cents) * Fraction(weight) / total_weight for weight in weights]
    floors = [math.floor(d) for d in due]
    missing = amount_cents - sum(floors)
    order = sorted(range(len(due)), key=lambda i: (-(due[i] - floors[i]), i))
    for index in order[:missing]:
        floors[index] += 1
    return [Decimal(count) * CENT for count in floors]


# --- the payment schedule -------------------------------------------------------------------

EXPERT_ADVANCE = "expert_advance"
EXPERT_BALANCE = "expert_balance"
APPLICANT_CONTRIBUTION = "applicant_contribution"
GRANT_ADVANCE = "grant_advance"
GRANT_BALANCE = "grant_balance"
AT_START = "start"
AT_CLOSURE = "closure"


@dataclass(frozen=True)
class PlannedPayment:
    kind: str  # one of the kinds above (``PaymentKind`` values)
    amount: Decimal
    scheme_part: Decimal  # what the scheme's envelope bears of it
    due: str  # AT_START or AT_CLOSURE
    held_until_final_deliverable: bool
    funders: tuple[tuple[str | None, Decimal], ...] = field(default=())


def schedule(breakdown: Breakdown, with_expert: bool, advance_percent: Decimal
             ) -> list[PlannedPayment]:
    """The payments that follow from a breakdown.

    With an expert (DCOL), CUF pays the expert's invoices, an advance at the start and the
    balance at closure, and calls the collectivité's contribution at the start. Otherwise (call
    for projects), the grant is paid in two instalments: an advance at the start and the balance
    after the final report. Balances are held until the final deliverable is validated. Each
    payment's part borne by the scheme, and that part's split between funders, add up exactly
    to the breakdown's."""
    if not 0 <= advance_percent <= 100:
        raise ValueError("an advance is between 0 and 100 % of the amount")
    scheme_advance = percent_of(breakdown.scheme, advance_percent)
    funders_advance = split_like(scheme_advance, breakdown.funders)
    funders_balance = tuple((code, share - given) for (code, share), (_, given)
                            in zip(breakdown.funders, funders_advance, strict=True))
    balance = breakdown.scheme - scheme_advance
    if with_expert:
        advance = percent_of(breakdown.total, advance_percent)
        return [
            PlannedPayment(EXPERT_ADVANCE, advance, scheme_advance, AT_START, False,
                           funders_advance),
            PlannedPayment(EXPERT_BALANCE, breakdown.total - advance, balance, AT_CLOSURE, True,
                           funders_balance),
            PlannedPayment(APPLICANT_CONTRIBUTION, breakdown.applicant, ZERO, AT_START, False),
        ]
    return [
        PlannedPayment(GRANT_ADVANCE, scheme_advance, scheme_advance, AT_START, False,
                       funders_advance),
        PlannedPayment(GRANT_BALANCE, balance, balance, AT_CLOSURE, True, funders_balance),
    ]


def split_like(amount: Decimal, shares: tuple[tuple[str | None, Decimal], ...]
                ) -> tuple[tuple[str | None, Decimal], ...]:
    """``amount`` split in proportion to ``shares`` (each part at most its share)."""
    if not shares:
        return ()
    parts = allot(amount, [share for _, share in shares])
    return tuple((code, part) for (code, _), part in zip(shares, parts, strict=True))
