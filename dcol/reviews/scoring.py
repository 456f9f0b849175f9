"""The arithmetic of a scoring grid: pure functions, no database, so that every figure a committee
reads can be checked by hand.

A dossier's reviews are aggregated criterion by criterion: the mean of the reviewers' scores, the
spread between the highest and the lowest (a divergence when it reaches the call's threshold), the
criterion's threshold. The weighted total is the sum of each mean times its weight; the score out
of 100 is that total over the highest total the grid allows. Amounts of points are ``Decimal``,
rounded half-up to two decimals only where they are shown or compared with a threshold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from dcol.models.base import N_

HUNDREDTH = Decimal("0.01")


def round2(value: Decimal) -> Decimal:
    return value.quantize(HUNDREDTH, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class GridCriterion:
    id: int
    position: int
    label: str
    weight: Decimal
    scale_max: Decimal
    threshold: Decimal | None = None


@dataclass(frozen=True)
class CriterionResult:
    criterion: GridCriterion
    scores: tuple[Decimal, ...]  # one per submitted review that scored it
    mean: Decimal | None  # exact (not rounded): None when nobody scored it
    spread: Decimal | None
    is_divergent: bool
    is_below_threshold: bool

    @property
    def mean_shown(self) -> Decimal | None:
        return round2(self.mean) if self.mean is not None else None


@dataclass(frozen=True)
class Aggregate:
    criteria: tuple[CriterionResult, ...]
    review_count: int
    weighted_total: Decimal | None  # sum of weight × mean, rounded to 0.01
    max_total: Decimal
    score: Decimal | None  # out of 100, rounded to 0.01
    consensus: Decimal | None = None  # recorded by the manager, out of 100
    is_below_overall_threshold: bool = False

    @property
    def final_score(self) -> Decimal | None:
        """The consensus when one was recorded, else the computed score."""
        return self.consensus if self.consensus is not None else self.score

    @property
    def divergent(self) -> list[CriterionResult]:
        return [result for result in self.criteria if result.is_divergent]

    @property
    def below_threshold(self) -> list[CriterionResult]:
        return [result for result in self.criteria if result.is_below_threshold]

    @property
    def is_flagged(self) -> bool:
        """Under a criterion's or the overall threshold: the committee is told."""
        return self.is_below_overall_threshold or bool(self.below_threshold)


def aggregate(
    criteria: Sequence[GridCriterion],
    reviews: Sequence[dict[int, Decimal | None]],
    *,
    divergence_threshold: Decimal,
    overall_threshold: Decimal | None = None,
    consensus: Decimal | None = None,
) -> Aggregate:
    """Aggregate the submitted reviews of one dossier (each a mapping criterion id → score).

    A criterion's mean is the mean of the scores given to it; the weighted total needs a mean for
    every criterion (None otherwise, and then no score). Divergence: the highest and lowest scores
    of a criterion differ by ``divergence_threshold`` or more (two reviews at least).
    """
    results = []
    for criterion in sorted(criteria, key=lambda c: (c.position, c.id)):
        scores = tuple(
            Decimal(review[criterion.id])
            for review in reviews
            if review.get(criterion.id) is not None
        )
        mean = sum(scores, Decimal(0)) / len(scores) if scores else None
        spread = max(scores) - min(scores) if scores else None
        results.append(
            CriterionResult(
                criterion=criterion,
                scores=scores,
                mean=mean,
                spread=spread,
                is_divergent=len(scores) >= 2 and spread >= divergence_threshold,
                is_below_threshold=(
                    mean is not None
                    and criterion.threshold is not None
                    and round2(mean) < criterion.threshold
                ),
            )
        )
    max_total = sum((c.weight * c.scale_max for c in criteria), Decimal(0))
    weighted = None
    score = None
    if results and all(result.mean is not None for result in results) and max_total > 0:
        exact = sum((r.criterion.weight * r.mean for r in results), Decimal(0))
        weighted = round2(exact)
        score = round2(exact * 100 / max_total)
    final = consensus if consensus is not None else score
    return Aggregate(
        criteria=tuple(results),
        review_count=len(reviews),
        weighted_total=weighted,
        max_total=round2(max_total),
        score=score,
        consensus=consensus,
        is_below_overall_threshold=(
            final is not None and overall_threshold is not None and final < overall_threshold
        ),
    )


# --- ranking --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """What the ranking knows of a dossier."""

    application_id: int
    reference: str
    track_id: int | None
    aggregate: Aggregate
    submitted_at: datetime | None = None
    requested_amount: Decimal | None = None
    estimated_cofinancing: Decimal | None = None


@dataclass
class Ranked:
    candidate: Candidate
    rank: int  # 1 is the best; equal candidates share a rank (1, 1, 3)
    tie_broken_by: str | None = None  # the key that separated it from the one above
    is_tied: bool = False  # still equal to a neighbour once every tie-break is applied
    keys: tuple = field(default=(), repr=False)


# Tie-break keys a call may list, in order, with what they mean (French, for the grid's page).
# Each maps a candidate to a value sorted ascending (None last): "better" sorts first.
TIE_BREAKS: dict[str, str] = {
    "submitted_at": N_("le dossier déposé le plus tôt d'abord"),
    "requested_amount": N_("le plus petit montant demandé d'abord"),
    "estimated_cofinancing": N_("le plus petit cofinancement estimé d'abord"),
    "criterion:N": N_("la meilleure moyenne au critère n° N d'abord"),
}


def _key(name: str) -> Callable[[Candidate], tuple]:
    def last_if_none(value):
        return (value is None, value if value is not None else 0)

    if name.startswith("criterion:"):
        position = int(name.split(":", 1)[1])

        def by_criterion(candidate: Candidate):
            result = next((r for r in candidate.aggregate.criteria
                           if r.criterion.position == position), None)
            mean = result.mean if result is not None else None
            return last_if_none(-mean if mean is not None else None)

        return by_criterion
    if name == "submitted_at":
        return lambda c: last_if_none(c.submitted_at)
    if name == "requested_amount":
        return lambda c: last_if_none(c.requested_amount)
    if name == "estimated_cofinancing":
        return lambda c: last_if_none(c.estimated_cofinancing)
    raise ValueError(f"unknown tie-break {name!r}")


def validate_tie_breaks(names: Sequence[str]) -> list[str]:
    """The names that are not tie-breaks dcol knows (empty: all are)."""
    wrong = []
    for name in names:
        try:
            _key(name)
        except ValueError:
            wrong.append(name)
    return wrong


def rank(candidates: Sequence[Candidate], tie_breaks: Sequence[str] = ()) -> list[Ranked]:
    """Order candidates by final score (consensus, else computed; unscored last), then by the
    call's tie-breaks in order. Candidates still equal share a rank (competition ranking)."""
    key_functions = [_key(name) for name in tie_breaks]

    def keys(candidate: Candidate) -> tuple:
        final = candidate.aggregate.final_score
        return ((final is None, -(final or 0)), *(f(candidate) for f in key_functions))

    ordered = sorted(candidates, key=lambda c: (keys(c), c.reference))
    ranked: list[Ranked] = []
    for position, candidate in enumerate(ordered, start=1):
        candidate_keys = keys(candidate)
        entry = Ranked(candidate, position, keys=candidate_keys)
        if ranked:
            above = ranked[-1]
            if above.keys == candidate_keys:
                entry.rank = above.rank
                entry.is_tied = above.is_tied = True
            elif above.keys[0] == candidate_keys[0]:
                differing = next(i for i in range(1, len(candidate_keys))
                                 if above.keys[i] != candidate_keys[i])
                entry.tie_broken_by = tie_breaks[differing - 1]
        ranked.append(entry)
    return ranked
