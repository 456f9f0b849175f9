"""The optimal assignment of dossiers to experts, as a min-cost flow.

source → each dossier (1 unit) → each expert that passes the filters (cost: minus the pair's
points) → the expert's free slots (the k-th extra mission of this batch costs ``step × k``, so
loads balance) → sink; each dossier may also go straight to the sink, unassigned, at no cost.
Every assignment also earns a bonus larger than any possible total, so the optimum first matches
as many dossiers as it can, then maximises the points net of the load costs.

``solve`` uses OR-Tools' min-cost flow. ``solve_by_assignment`` (SciPy's Hungarian-type solver,
each expert repeated once per free slot) and ``solve_greedily`` are the independent exact solver
and the baseline that the tests and ``bench/matching`` compare it with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow
from scipy.optimize import linear_sum_assignment

# The cost of each further mission given to the same expert in one batch, in points (hundredths
# of a point out of 100): a second mission costs 5 points, a third 10...
LOAD_STEP = 500


@dataclass(frozen=True)
class Assignment:
    experts: np.ndarray  # per dossier, the column of its expert, or -1
    assigned: int
    total: int  # the points of the pairs, minus the load costs

    def objective(self) -> tuple[int, int]:
        return self.assigned, self.total


def net_total(experts: np.ndarray, points: np.ndarray, step: int = LOAD_STEP) -> tuple[int, int]:
    """How many dossiers an assignment matches, and its points net of the load costs."""
    chosen = experts[experts >= 0]
    rows = np.flatnonzero(experts >= 0)
    total = int(points[rows, chosen].sum())
    counts = np.bincount(chosen, minlength=points.shape[1]) if chosen.size else np.zeros(1, int)
    total -= int(step * (counts * (counts - 1) // 2).sum())  # 0 + step + 2·step + ...
    return int(chosen.size), total


def _bonus(points: np.ndarray, free: np.ndarray, step: int) -> int:
    # Larger than the spread of any total, so that one more match always wins.
    highest = int(np.abs(points).max()) if points.size else 0
    return points.shape[0] * (highest + step * int(free.max(initial=0))) + 1


def solve(points: np.ndarray, feasible: np.ndarray, free: np.ndarray,
          step: int = LOAD_STEP) -> Assignment:
    """The optimal assignment; ``points`` and ``feasible`` are dossiers × experts, ``free`` the
    experts' free slots."""
    n, m = points.shape
    rows, columns = np.nonzero(feasible & (free[None, :] > 0))
    if rows.size == 0:
        return Assignment(np.full(n, -1, dtype=np.int64), 0, 0)
    bonus = _bonus(points, free, step)
    source, sink = 0, n + m + 1
    dossier_nodes = np.arange(1, n + 1, dtype=np.int64)
    expert_of_slot = np.repeat(np.arange(m, dtype=np.int64), free)
    slot_rank = np.concatenate([np.arange(k, dtype=np.int64) for k in free]) if m else np.array([])
    tails = np.concatenate([
        np.full(n, source), rows + 1, n + 1 + expert_of_slot, dossier_nodes,
    ]).astype(np.int32)
    heads = np.concatenate([
        dossier_nodes, n + 1 + columns, np.full(expert_of_slot.size, sink), np.full(n, sink),
    ]).astype(np.int32)
    costs = np.concatenate([
        np.zeros(n, dtype=np.int64), -(points[rows, columns].astype(np.int64) + bonus),
        step * slot_rank, np.zeros(n, dtype=np.int64),
    ])
    capacities = np.ones(tails.size, dtype=np.int64)
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(tails, heads, capacities, costs)
    flow.set_node_supply(source, n)
    flow.set_node_supply(sink, -n)
    status = flow.solve()
    if status != flow.OPTIMAL:  # cannot happen: every dossier may stay unassigned
        raise RuntimeError(f"min-cost flow failed with status {status}")
    pair_arcs = arcs[n: n + rows.size]
    used = flow.flows(pair_arcs) > 0
    experts = np.full(n, -1, dtype=np.int64)
    experts[rows[used]] = columns[used]
    return Assignment(experts, *net_total(experts, points, step))


def solve_by_assignment(points: np.ndarray, feasible: np.ndarray, free: np.ndarray,
                        step: int = LOAD_STEP) -> Assignment:
    """The same optimum by SciPy's ``linear_sum_assignment``: one column per free slot of each
    expert (the k-th costing ``step × k`` more), plus one "unassigned" column per dossier."""
    n, m = points.shape
    bonus = _bonus(points, free, step)
    expert_of_slot = np.repeat(np.arange(m), free)
    slot_rank = np.concatenate([np.arange(k) for k in free]) if m else np.array([], dtype=int)
    gain = points[:, expert_of_slot].astype(np.float64) + bonus - step * slot_rank[None, :]
    cost = np.where(feasible[:, expert_of_slot], -gain, np.inf)
    cost = np.hstack([cost, np.where(np.eye(n, dtype=bool), 0.0, np.inf)])
    rows, columns = linear_sum_assignment(cost)
    experts = np.full(n, -1, dtype=np.int64)
    slots = columns < expert_of_slot.size
    experts[rows[slots]] = expert_of_slot[columns[slots]]
    return Assignment(experts, *net_total(experts, points, step))


def solve_greedily(points: np.ndarray, feasible: np.ndarray, free: np.ndarray,
                   step: int = LOAD_STEP) -> Assignment:
    """The baseline: take the best remaining pair while its dossier is free and its expert has a
    slot left."""
    n, _ = points.shape
    rows, columns = np.nonzero(feasible)
    order = np.lexsort((columns, rows, -points[rows, columns]))
    left = free.copy()
    experts = np.full(n, -1, dtype=np.int64)
    for i, j in zip(rows[order].tolist(), columns[order].tolist(), strict=True):
        if experts[i] < 0 and left[j] > 0:
            experts[i] = j
            left[j] -= 1
    return Assignment(experts, *net_total(experts, points, step))
