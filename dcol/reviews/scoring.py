"""The arithmetic of a scoring grid: pure functions, no database, so that every figure a committee
reads can be checked by hand.

A dossier's reviews are aggregated criterion by criterion: the mean of the reviewers' scores, the
spread between the highest and the lowest (a divergence when it reaches the call's threshold), the
criterion's threshold. The weighted total is the sum of each mean times its weight; the score out
of 100 is that total over the highest total the grid allows. Amounts of points are ``Decimal``,
rounded half-up to two decimals only where they are shown or compared with a threshold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from typing import NamedTuple

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


class CriterionStats(NamedTuple):
    """What a dossier's submitted reviews gave one criterion: how many scored it, the sum of
    their scores, the lowest and the highest. That is all its result needs, so the database
    computes them for a whole call in one GROUP BY and ``criterion_stats`` computes the very same
    from reviews in memory. (A tuple: a call's ranking makes tens of thousands.)"""

    count: int
    total: Decimal
    low: Decimal
    high: Decimal


def criterion_stats(reviews: Sequence[dict[int, Decimal | None]]) -> dict[int, CriterionStats]:
    """The statistics of each criterion scored in ``reviews`` (each a mapping criterion id →
    score; a missing or None score is not counted)."""
    scores: dict[int, list[Decimal]] = {}
    for review in reviews:
        for criterion_id, score in review.items():
            if score is not None:
                scores.setdefault(criterion_id, []).append(Decimal(score))
    return {
        criterion_id: CriterionStats(len(values), sum(values, Decimal(0)), min(values),
                                     max(values))
        for criterion_id, values in scores.items()
    }


@dataclass(frozen=True)
class CriterionResult:
    criterion: GridCriterion
    count: int  # the submitted reviews that scored it
    mean: Decimal | None  # exact (not rounded): None when nobody scored it
    spread: Decimal | None
    is_divergent: bool
    is_below_threshold: bool

    @property
    def mean_shown(self) -> Decimal | None:
        return round2(self.mean) if self.mean is not None else None


@dataclass(frozen=True)
class Aggregate:
    """A dossier's aggregate. The score and what ranks it are computed at once; the result of
    each criterion (divergence, threshold) only when read, since a call's ranking needs them for
    the rows it shows only."""

    grid: tuple[GridCriterion, ...]  # by position
    stats: Mapping[int, CriterionStats] = field(repr=False, compare=False)
    review_count: int
    divergence_threshold: Decimal
    weighted_total: Decimal | None  # sum of weight × mean, rounded to 0.01
    max_total: Decimal
    score: Decimal | None  # out of 100, rounded to 0.01
    consensus: Decimal | None = None  # recorded by the manager, out of 100
    is_below_overall_threshold: bool = False

    @property
    def final_score(self) -> Decimal | None:
        """The consensus when one was recorded, else the computed score."""
        return self.consensus if self.consensus is not None else self.score

    def mean_at(self, position: int) -> Decimal | None:
        """The exact mean of the criterion at ``position`` (None: unscored or no such
        criterion). Computed for that criterion alone: a tie-break reads one or two."""
        criterion = next((c for c in self.grid if c.position == position), None)
        return _mean(self.stats.get(criterion.id)) if criterion is not None else None

    @cached_property
    def criteria(self) -> tuple[CriterionResult, ...]:
        results = []
        for criterion in self.grid:
            stats = self.stats.get(criterion.id)
            mean = _mean(stats)
            spread = stats.high - stats.low if mean is not None else None
            results.append(CriterionResult(
                criterion=criterion,
                count=stats.count if mean is not None else 0,
                mean=mean,
                spread=spread,
                is_divergent=mean is not None and stats.count >= 2
                and spread >= self.divergence_threshold,
                is_below_threshold=(
                    mean is not None
                    and criterion.threshold is not None
                    and round2(mean) < criterion.threshold
                ),
            ))
        return tuple(results)

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


def _mean(stats: CriterionStats | None) -> Decimal | None:
    return stats.total / stats.count if stats is not None and stats.count else None


def aggregate(
    criteria: Sequence[GridCriterion],
    reviews: Sequence[dict[int, Decimal | None]],
    *,
    divergence_threshold: Decimal,
    overall_threshold: Decimal | None = None,
    consensus: Decimal | None = None,
) -> Aggregate:
    """Aggregate the submitted reviews of one dossier (each a mapping criterion id → score):
    ``aggregate_stats`` on their ``criterion_stats``."""
    return aggregate_stats(criteria, criterion_stats(reviews), review_count=len(reviews),
                           divergence_threshold=divergence_threshold,
                           overall_threshold=overall_threshold, consensus=consensus)


def aggregate_stats(
    criteria: Sequence[GridCriterion],
    stats: Mapping[int, CriterionStats],
    *,
    review_count: int,
    divergence_threshold: Decimal,
    overall_threshold: Decimal | None = None,
    consensus: Decimal | None = None,
) -> Aggregate:
    """Aggregate a dossier's ``review_count`` submitted reviews from the statistics of each
    criterion (criterion id → ``CriterionStats``).

    A criterion's mean is the mean of the scores given to it; the weighted total needs a mean for
    every criterion (None otherwise, and then no score). Divergence: the highest and lowest scores
    of a criterion differ by ``divergence_threshold`` or more (two reviews at least).
    """
    grid = tuple(sorted(criteria, key=lambda c: (c.position, c.id)))
    max_total = sum((c.weight * c.scale_max for c in grid), Decimal(0))
    weighted = None
    score = None
    if grid and max_total > 0:
        exact = Decimal(0)
        for criterion in grid:
            mean = _mean(stats.get(criterion.id))
            if mean is None:
                break
            exact += criterion.weight * mean
        else:
            weighted = round2(exact)
            score = round2(exact * 100 / max_total)
    final = consensus if consensus is not None else score
    return Aggregate(
        grid=grid,
        stats=stats,
        review_count=review_count,
        divergence_threshold=divergence_threshold,
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
            mean = candidate.aggregate.mean_at(position)
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

    keyed = sorted(((keys(c), c) for c in candidates), key=lambda kc: (kc[0], kc[1].reference))
    ranked: list[Ranked] = []
    for position, (candidate_keys, candidate) in enumerate(keyed, start=1):
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
