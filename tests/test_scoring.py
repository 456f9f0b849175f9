"""The arithmetic of the scoring grid, checked on examples computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

from dcol.reviews.scoring import Candidate, GridCriterion, aggregate, rank

# Impact (weight 2), Feasibility (1), Partnership (1), each out of 5: the grid allows 20 points.
GRID = [
    GridCriterion(id=11, position=1, label="Impact", weight=D("2"), scale_max=D("5"),
                  threshold=D("3")),
    GridCriterion(id=12, position=2, label="Faisabilité", weight=D("1"), scale_max=D("5")),
    GridCriterion(id=13, position=3, label="Partenariat", weight=D("1"), scale_max=D("5"),
                  threshold=D("2.5")),
]
THREE_REVIEWS = [
    {11: D("4"), 12: D("3.5"), 13: D("2")},
    {11: D("2"), 12: D("4"), 13: D("3")},
    {11: D("3.5"), 12: D("4"), 13: D("2.5")},
]


def test_means_spread_weighted_total_and_score_out_of_100():
    result = aggregate(GRID, THREE_REVIEWS, divergence_threshold=D("2"))
    impact, feasibility, partnership = result.criteria
    # Impact: (4 + 2 + 3.5) / 3 = 3.1666…, shown 3.17; spread 4 - 2 = 2: a divergence.
    assert impact.mean_shown == D("3.17") and impact.spread == D("2") and impact.is_divergent
    assert not impact.is_below_threshold  # 3.17 ≥ 3
    # Feasibility: 11.5 / 3 = 3.83; spread 0.5.
    assert feasibility.mean_shown == D("3.83") and not feasibility.is_divergent
    # Partnership: 7.5 / 3 = 2.5 exactly, at its threshold: not under it.
    assert partnership.mean == D("2.5") and not partnership.is_below_threshold
    # Weighted total on the exact means: 2 × 9.5/3 + 11.5/3 + 7.5/3 = 38/3 = 12.67 of 20;
    # score 38/3 × 100 / 20 = 63.33. (Rounding the means first would give 63.35.)
    assert result.weighted_total == D("12.67") and result.max_total == D("20.00")
    assert result.score == D("63.33") and result.final_score == D("63.33")
    assert result.review_count == 3
    assert [r.criterion.label for r in result.divergent] == ["Impact"]
    assert not result.is_flagged


def test_divergence_threshold_is_configurable():
    assert not aggregate(GRID, THREE_REVIEWS, divergence_threshold=D("2.5")).divergent
    loose = aggregate(GRID, THREE_REVIEWS, divergence_threshold=D("1"))
    assert [r.criterion.label for r in loose.divergent] == ["Impact", "Partenariat"]
    # One review: no divergence whatever its scores.
    assert not aggregate(GRID, THREE_REVIEWS[:1], divergence_threshold=D("0.5")).divergent


def test_thresholds_flag_a_criterion_and_the_overall_score():
    reviews = [{11: D("3"), 12: D("5"), 13: D("2")}, {11: D("2.5"), 12: D("5"), 13: D("2.5")}]
    result = aggregate(GRID, reviews, divergence_threshold=D("2"), overall_threshold=D("70"))
    impact, _feasibility, partnership = result.criteria
    # Impact 2.75 < 3 and partnership 2.25 < 2.5: both under their thresholds.
    assert impact.is_below_threshold and partnership.is_below_threshold
    # (2 × 2.75 + 5 + 2.25) / 20 × 100 = 63.75 < 70.
    assert result.score == D("63.75") and result.is_below_overall_threshold and result.is_flagged
    passing = aggregate(GRID, reviews, divergence_threshold=D("2"), overall_threshold=D("63.75"))
    assert not passing.is_below_overall_threshold  # at the threshold is not under it


def test_consensus_replaces_the_computed_score_for_the_threshold_and_ranking():
    result = aggregate(GRID, THREE_REVIEWS, divergence_threshold=D("2"),
                       overall_threshold=D("60"), consensus=D("58.50"))
    assert result.score == D("63.33")  # still shown beside it
    assert result.final_score == D("58.50") and result.is_below_overall_threshold


def test_score_is_rounded_half_up():
    # Two criteria out of 4, weight 1: the grid allows 8 points. Means 0.25 and 0: the score is
    # 0.25 × 100 / 8 = 3.125, rounded half-up to 3.13 (half-even would give 3.12).
    grid = [GridCriterion(1, 1, "A", D("1"), D("4")), GridCriterion(2, 2, "B", D("1"), D("4"))]
    result = aggregate(grid, [{1: D("0.5"), 2: D("0")}, {1: D("0"), 2: D("0")}],
                       divergence_threshold=D("2"))
    assert result.score == D("3.13")


def test_no_score_until_every_criterion_is_scored():
    result = aggregate(GRID, [{11: D("4"), 12: D("3")}], divergence_threshold=D("2"))
    assert result.criteria[2].mean is None
    assert result.weighted_total is None and result.score is None and result.final_score is None
    assert aggregate(GRID, [], divergence_threshold=D("2")).score is None


def _candidate(reference: str, impact: str, feasibility: str, *, day: int = 1,
               requested: str | None = None) -> Candidate:
    grid = GRID[:2]  # 15 points
    reviews = [{11: D(impact), 12: D(feasibility)}]
    return Candidate(
        application_id=hash(reference) % 10_000, reference=reference, track_id=1,
        aggregate=aggregate(grid, reviews, divergence_threshold=D("2")),
        submitted_at=datetime(2026, 3, day, 12, tzinfo=UTC),
        requested_amount=D(requested) if requested else None,
    )


def test_ranking_by_final_score_with_tie_breaks_in_order():
    # Out of 15 points (impact weighs 2): A, B and C all reach 12, i.e. 80 / 100; D 100; E has
    # no review. Tie-breaks: the better impact mean first, then the earlier deposit.
    a = _candidate("A-1", "4", "4", day=2)  # 2×4 + 4 = 12 → 80
    b = _candidate("B-1", "3.5", "5", day=1)  # 2×3.5 + 5 = 12 → 80
    c = _candidate("C-1", "4.5", "3", day=5)  # 2×4.5 + 3 = 12 → 80
    d = _candidate("D-1", "5", "5", day=9)  # 15 → 100
    unscored = Candidate(99, "E-1", 1, aggregate(GRID, [], divergence_threshold=D("2")))
    ranked = rank([a, b, c, d, unscored], ["criterion:1", "submitted_at"])
    assert [(r.candidate.reference, r.rank) for r in ranked] == [
        ("D-1", 1), ("C-1", 2), ("A-1", 3), ("B-1", 4), ("E-1", 5)]
    by_reference = {r.candidate.reference: r for r in ranked}
    assert by_reference["A-1"].tie_broken_by == "criterion:1"  # impact 4.5 > 4 > 3.5
    assert by_reference["D-1"].tie_broken_by is None
    assert not any(r.is_tied for r in ranked)
    # By deposit date first instead: B (1 March), A (2 March), C (5 March).
    ranked = rank([a, b, c, d], ["submitted_at"])
    assert [r.candidate.reference for r in ranked] == ["D-1", "B-1", "A-1", "C-1"]
    assert ranked[1].rank == 2 and ranked[2].tie_broken_by == "submitted_at"


def test_equal_candidates_share_a_rank_and_the_next_rank_is_skipped():
    a = _candidate("A-1", "4", "4", day=2)
    twin = _candidate("A-2", "4", "4", day=2)
    b = _candidate("B-1", "3.5", "5", day=1)
    ranked = rank([b, twin, a], [])  # no tie-break: the three are equal at 80
    assert [r.rank for r in ranked] == [1, 1, 1] and all(r.is_tied for r in ranked)
    ranked = rank([b, twin, a], ["criterion:1"])  # still equal, ahead of B-1
    assert [(r.candidate.reference, r.rank, r.is_tied) for r in ranked] == [
        ("A-1", 1, True), ("A-2", 1, True), ("B-1", 3, False)]


def test_amount_tie_break_puts_the_smaller_request_first_and_unknown_last():
    a = _candidate("A-1", "4", "4", requested="9000")
    b = _candidate("B-1", "4", "4", requested="7000")
    c = _candidate("C-1", "4", "4")
    ranked = rank([a, b, c], ["requested_amount"])
    assert [r.candidate.reference for r in ranked] == ["B-1", "A-1", "C-1"]
