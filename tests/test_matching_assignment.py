"""The optimal assignment: on small random instances its total equals brute force (and SciPy's
exact solver), capacities are never exceeded and an excluded (conflicted) pair is never proposed;
it matches as many dossiers as possible, spreads loads, and beats the greedy baseline."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dcol.matching.assignment import (
    LOAD_STEP,
    net_total,
    solve,
    solve_by_assignment,
    solve_greedily,
)


@st.composite
def instances(draw):
    n = draw(st.integers(1, 5))
    m = draw(st.integers(1, 4))
    points = np.array(draw(st.lists(st.integers(0, 10_000), min_size=n * m, max_size=n * m)),
                      dtype=np.int64).reshape(n, m)
    feasible = np.array(draw(st.lists(st.booleans(), min_size=n * m, max_size=n * m)),
                        dtype=bool).reshape(n, m)
    free = np.array(draw(st.lists(st.integers(0, 3), min_size=m, max_size=m)), dtype=np.int64)
    step = draw(st.sampled_from([0, LOAD_STEP, 3000]))
    return points, feasible, free, step


def brute_force(points, feasible, free, step) -> tuple[int, int]:
    n, m = points.shape
    best = (0, 0)
    for choice in itertools.product(range(-1, m), repeat=n):
        experts = np.array(choice, dtype=np.int64)
        if any(j >= 0 and not feasible[i, j] for i, j in enumerate(choice)):
            continue
        if any((experts == j).sum() > free[j] for j in range(m)):
            continue
        best = max(best, net_total(experts, points, step))
    return best


def check_valid(assignment, feasible, free):
    for i, j in enumerate(assignment.experts.tolist()):
        assert j == -1 or feasible[i, j], "an excluded pair was proposed"
    counts = np.bincount(assignment.experts[assignment.experts >= 0], minlength=free.size)
    assert (counts <= free).all(), "a capacity was exceeded"


@settings(max_examples=300, deadline=None)
@given(instances())
def test_the_assignment_is_optimal_and_valid(instance):
    points, feasible, free, step = instance
    optimum = brute_force(points, feasible, free, step)
    flow = solve(points, feasible, free, step)
    check_valid(flow, feasible, free)
    assert flow.objective() == optimum
    exact = solve_by_assignment(points, feasible, free, step)
    check_valid(exact, feasible, free)
    assert exact.objective() == optimum
    greedy = solve_greedily(points, feasible, free, step)
    check_valid(greedy, feasible, free)
    assert greedy.objective() <= optimum


def test_matching_more_dossiers_wins_over_a_higher_total():
    # A is the best for both dossiers but has one slot; B only suits the first dossier.
    points = np.array([[9000, 1000], [9500, 0]])
    feasible = np.array([[True, True], [True, False]])
    free = np.array([1, 1])
    assignment = solve(points, feasible, free)
    assert assignment.experts.tolist() == [1, 0]
    assert assignment.objective() == (2, 10500)


def test_the_load_cost_spreads_missions_between_close_experts():
    points = np.array([[8000, 7800], [8000, 7800]])
    feasible = np.ones((2, 2), dtype=bool)
    free = np.array([2, 2])
    # A second mission for the first expert would cost 5 points (500): more than the 2 gained.
    assert sorted(solve(points, feasible, free).experts.tolist()) == [0, 1]
    assert solve(points, feasible, free, step=0).experts.tolist() == [0, 0]


def test_a_dossier_without_any_possible_expert_stays_unassigned():
    points = np.array([[5000, 6000], [7000, 100]])
    feasible = np.array([[False, False], [True, True]])
    assignment = solve(points, feasible, np.array([1, 1]))
    assert assignment.experts.tolist() == [-1, 0]
    assert solve(points, feasible, np.array([0, 0])).experts.tolist() == [-1, -1]


def test_it_beats_the_greedy_baseline_when_greed_blocks_a_better_pair():
    # Greedy takes the single best pair (9,100) and leaves the other dossier a poor expert.
    points = np.array([[9000, 100], [9100, 8000]])
    feasible = np.ones((2, 2), dtype=bool)
    free = np.array([1, 1])
    assert solve_greedily(points, feasible, free).objective() == (2, 9100 + 100)
    assert solve(points, feasible, free).objective() == (2, 9000 + 8000)
