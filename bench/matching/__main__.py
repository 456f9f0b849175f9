"""Benchmark of the matching (issue 6): N dossiers × M experts with capacities and random conflicts.

For each seed, a synthetic but realistic pool is scored (``score``), then assigned by the
production solver (``solve``, OR-Tools min-cost flow), by the independent exact solver
(``solve_by_assignment``, SciPy) and by the greedy baseline; every assignment is checked (no
excluded pair, no capacity exceeded), both exact objectives must be equal, and the greedy's gap is
reported. No database, no Flask app. From the repository root:

    .venv/bin/python -m bench.matching --dossiers 1000 --experts 1000 --conflicts 0.05 --seeds 3
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from datetime import date, timedelta
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path

import numpy as np

from dcol.matching.assignment import Assignment, solve, solve_by_assignment, solve_greedily
from dcol.matching.scoring import FILTER_BY_CODE, Need, Profile, ScoreBoard, score
from dcol.matching.zones import local_languages
from dcol.models.calls import Theme
from dcol.models.experts import WorldRegion

# CUF's partner countries, the most frequent first (weights are relative).
COUNTRIES = {"SN": 10, "BF": 8, "MG": 8, "ML": 6, "MA": 6, "TN": 6, "LB": 6, "VN": 6, "BJ": 5,
             "HT": 5, "NE": 4, "MR": 4, "DZ": 4, "PS": 4, "AM": 4, "UA": 4, "CM": 3, "TG": 3,
             "KH": 2, "AR": 2, "CN": 2, "JP": 2, "US": 1}
THEME_WEIGHTS = {"water_sanitation": 14, "climate": 12, "economic_development": 11, "waste": 10,
                 "energy": 9, "food": 9, "youth_citizenship": 9, "culture": 9, "gender": 8,
                 "crisis_rehabilitation": 9}
THEME_WORDS = {
    "climate": ["plan climat", "adaptation au changement climatique", "îlots de chaleur",
                "résilience urbaine", "inondations", "végétalisation", "bilan carbone"],
    "water_sanitation": ["eau potable", "assainissement", "forages", "réseau d'adduction",
                         "station d'épuration", "latrines", "service public de l'eau"],
    "crisis_rehabilitation": ["reconstruction", "post-séisme", "urgence", "déplacés",
                              "réhabilitation des bâtiments", "gestion des risques"],
    "economic_development": ["développement économique local", "marché", "filières",
                             "artisanat", "tourisme", "fiscalité locale", "emploi des jeunes"],
    "gender": ["égalité femmes-hommes", "budget sensible au genre", "violences faites aux femmes",
               "autonomisation des femmes", "parité"],
    "youth_citizenship": ["jeunesse", "conseil municipal des jeunes", "participation citoyenne",
                          "volontariat", "éducation populaire", "échanges scolaires"],
    "culture": ["patrimoine", "musée", "bibliothèque", "festival", "médiation culturelle",
                "inventaire du patrimoine", "archives"],
    "food": ["sécurité alimentaire", "agriculture urbaine", "circuits courts", "maraîchage",
             "restauration scolaire", "projet alimentaire territorial", "agroécologie"],
    "energy": ["efficacité énergétique", "éclairage public solaire", "électrification rurale",
               "énergies renouvelables", "rénovation thermique", "photovoltaïque"],
    "waste": ["gestion des déchets", "collecte des ordures ménagères", "tri sélectif",
              "compostage", "décharge contrôlée", "économie circulaire"],
}
METHODS = ["un diagnostic", "une étude de faisabilité", "un schéma directeur", "un plan d'action",
           "la formation des agents", "la rédaction du cahier des charges", "le suivi-évaluation",
           "le renforcement de la maîtrise d'ouvrage"]
NEED_SENTENCES = [
    "La collectivité partenaire souhaite être accompagnée pour {m} sur {a} et {b}.",
    "Le besoin porte sur {m} : {a}, {b} et {c}.",
    "L'expert appuiera les services techniques pour {m}, en particulier sur {a}.",
    "Une attention particulière sera portée à {c} et à {b}.",
    "Les élus attendent {m} permettant de prioriser les investissements en {a}.",
]
REFERENCE_SENTENCES = [
    "Quinze ans d'expérience en {a} et {b}.",
    "Réalisations : {m} sur {a} pour des villes partenaires.",
    "A conduit {m} en matière de {b}, avec les équipes locales.",
    "Références récentes : {a}, {c}.",
]
FIRST_NAMES = ["Camille", "Nadia", "Moussa", "Claire", "Thomas", "Aminata", "Linh", "Karim",
               "Sophie", "Jean", "Fatou", "Hugo", "Mariam", "Paul", "Inès", "Ousmane"]
LAST_NAMES = ["Martin", "Diallo", "Nguyen", "Benali", "Rakoto", "Traoré", "Dubois", "Haddad",
              "Petit", "Sow", "Garcia", "Moreau", "Kaboré", "Lefèvre", "Mansour", "Bernard"]
START = date(2026, 1, 1)


def _pick(rng, weights: dict[str, int], k: int) -> list[str]:
    keys = list(weights)
    p = np.array([weights[key] for key in keys], dtype=float)
    return [keys[i] for i in rng.choice(len(keys), size=k, replace=False, p=p / p.sum())]


def _text(rng, themes, sentences, count: int) -> str:
    words = [w for t in themes for w in THEME_WORDS[t]]
    lines = []
    for template in rng.choice(sentences, size=count, replace=False):
        a, b, c = (words[i] for i in rng.choice(len(words), size=3, replace=False))
        lines.append(template.format(m=METHODS[rng.integers(len(METHODS))], a=a, b=b, c=c))
    return " ".join(lines)


def generate(dossiers: int, experts: int, conflicts: float, seed: int):
    """Seeded synthetic dossiers (``Need``) and experts (``Profile``); pair (i, j) is conflicted
    with probability ``conflicts``, through the expert's conflicts with dossier i's organisation."""
    rng = np.random.default_rng(seed)
    needs = []
    for i in range(dossiers):
        themes = _pick(rng, THEME_WEIGHTS, int(rng.integers(1, 4)))
        countries = _pick(rng, COUNTRIES, int(rng.integers(1, 3)))
        languages = ["fr"]
        if "AR" in countries or rng.random() < 0.04:
            languages.append("es")
        elif {"US", "CN", "JP", "VN", "UA", "AM", "KH"} & set(countries) or rng.random() < 0.06:
            languages.append("en")
        starts_on = ends_on = budget = None
        if rng.random() < 0.9:
            starts_on = START + timedelta(days=int(rng.integers(0, 540)))
            ends_on = starts_on + timedelta(days=int(rng.integers(30, 181)))
        days = Decimal(int(rng.integers(5, 41)))
        if rng.random() < 0.9:
            budget = days * Decimal(int(rng.integers(50, 111)) * 10)
        needs.append(Need(
            application_id=i + 1, reference=f"DCOL-2026-{i + 1:04d}", organisation_id=10_000 + i,
            themes=tuple(themes), countries=tuple(countries), languages=tuple(languages),
            starts_on=starts_on, ends_on=ends_on, days=days, budget=budget,
            text=_text(rng, themes, NEED_SENTENCES, int(rng.integers(3, 6))),
        ))
    conflicted = rng.random((dossiers, experts)) < conflicts
    organisations = np.array([need.organisation_id for need in needs], dtype=np.int64)
    regions = [region.value for region in WorldRegion]
    profiles = []
    for j in range(experts):
        skills = _pick(rng, THEME_WEIGHTS, int(rng.integers(1, 5)))
        countries = _pick(rng, COUNTRIES, int(rng.integers(1, 5)))
        languages = {code for code, share in (("fr", 0.96), ("en", 0.7), ("es", 0.2), ("ar", 0.1))
                     if rng.random() < share}
        languages |= {code for code in sorted(local_languages(countries)) if rng.random() < 0.5}
        capacity = int(rng.choice([1, 2, 3], p=[0.3, 0.45, 0.25]))
        load = int(rng.integers(1, capacity + 1)) if rng.random() < 0.4 else 0
        unavailable = []
        for _ in range(int(rng.choice([0, 1, 2, 3], p=[0.45, 0.35, 0.15, 0.05]))):
            start = START + timedelta(days=int(rng.integers(0, 720)))
            unavailable.append((start, start + timedelta(days=int(rng.integers(7, 61)))))
        count = int(rng.integers(1, 7)) if rng.random() < 0.4 else 0
        references = _text(rng, skills, REFERENCE_SENTENCES, int(rng.integers(2, 5)))
        words = [THEME_WORDS[t][int(rng.integers(len(THEME_WORDS[t])))] for t in skills]
        labels = [str(Theme(t).label) for t in skills]  # as ``services._profile_text`` writes it
        profiles.append(Profile(
            expert_id=j + 1,
            name=f"{FIRST_NAMES[rng.integers(16)]} {LAST_NAMES[rng.integers(16)]}",
            daily_rate=Decimal(int(rng.integers(45, 121)) * 10), capacity=capacity, load=load,
            skills=tuple(skills), countries=tuple(countries),
            regions=tuple(map(str, rng.choice(regions, int(rng.integers(0, 3)), replace=False))),
            languages=tuple(sorted(languages)), unavailable=tuple(unavailable),
            conflicts=frozenset(organisations[conflicted[:, j]].tolist()),
            satisfaction=float(np.clip(rng.normal(4.0, 0.6), 1, 5)) if count else None,
            satisfaction_count=count,
            text="\n".join([references, ", ".join(words), ", ".join(labels)]),
        ))
    return needs, profiles


def timed(repeat: int, function, *args):
    """The function's last result and its median wall time over ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = function(*args)
        times.append(time.perf_counter() - started)
    return result, statistics.median(times)


def check(assignment: Assignment, board: ScoreBoard, free: np.ndarray) -> None:
    chosen = assignment.experts >= 0
    rows, columns = np.flatnonzero(chosen), assignment.experts[chosen]
    assert board.feasible[rows, columns].all(), "an excluded pair was assigned"
    assert (np.bincount(columns, minlength=free.size) <= free).all(), "a capacity was exceeded"


def run(dossiers: int, experts: int, conflicts: float, seed: int, repeat: int) -> dict:
    needs, profiles = generate(dossiers, experts, conflicts, seed)
    board, score_time = timed(repeat, score, needs, profiles)
    points, feasible, free = board.points, board.feasible, board.free_slots()
    best, solve_time = timed(repeat, solve, points, feasible, free)
    exact, exact_time = timed(repeat, solve_by_assignment, points, feasible, free)
    greedy, greedy_time = timed(repeat, solve_greedily, points, feasible, free)
    for assignment in (best, exact, greedy):
        check(assignment, board, free)
    assert best.objective() == exact.objective(), (best.objective(), exact.objective())
    assert greedy.objective() <= best.objective()
    conflicted = (board.reasons & FILTER_BY_CODE["conflict"].bit) != 0
    return {
        "seed": seed, "feasible": int(feasible.sum()), "conflicts": float(conflicted.mean()),
        "slots": int(free.sum()), "score": score_time, "solve": solve_time,
        "exact": exact_time, "greedy": greedy_time, "best": best.objective(),
        "equal": best.objective() == exact.objective(), "greedy_objective": greedy.objective(),
    }


def table(rows: list[dict]) -> str:
    lines = ["| seed | feasible pairs | conflicted | free slots | `score` | `solve` | score + solve"
             " | exact (SciPy) | greedy | optimum: matched, net points | = exact"
             " | greedy: matched, net points | greedy gap |", "|" + " --- |" * 13]
    for r in rows:
        (matched, total), (g_matched, g_total) = r["best"], r["greedy_objective"]
        gap = total - g_total
        lines.append(
            f"| {r['seed']} | {r['feasible']:,} | {r['conflicts']:.2%} | {r['slots']:,}"
            f" | {r['score']:.2f} s | **{r['solve']:.2f} s** | {r['score'] + r['solve']:.2f} s"
            f" | {r['exact']:.2f} s | {r['greedy']:.2f} s | {matched:,}, {total / 100:,.2f}"
            f" | {'yes' if r['equal'] else 'NO'}"
            f" | {g_matched:,}, {g_total / 100:,.2f} | {gap / 100:,.2f} ({gap / total:.2%}) |")
    median = {key: statistics.median(r[key] for r in rows)
              for key in ("score", "solve", "exact", "greedy")}
    both = statistics.median(r["score"] + r["solve"] for r in rows)
    lines.append(f"| median | | | | {median['score']:.2f} s | **{median['solve']:.2f} s**"
                 f" | {both:.2f} s | {median['exact']:.2f} s | {median['greedy']:.2f} s | | | | |")
    return "\n".join(lines)


def machine() -> str:
    info = Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []
    cpu = next((line.split(":", 1)[1].strip() for line in info
                if line.startswith("model name")), platform.processor())
    libraries = ", ".join(f"{name} {version(name)}"
                          for name in ("numpy", "scipy", "scikit-learn", "ortools"))
    return (f"{len(os.sched_getaffinity(0))} cores ({cpu}), Python {platform.python_version()},"
            f" {libraries}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.matching", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dossiers", type=int, default=1000)
    parser.add_argument("--experts", type=int, default=1000)
    parser.add_argument("--conflicts", type=float, default=0.05, help="share of conflicted pairs")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 1..N, one instance each")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per step (median)")
    args = parser.parse_args(argv)
    print(f"Matching, {args.dossiers:,} dossiers × {args.experts:,} experts, "
          f"{args.conflicts:.0%} conflicts, median of {args.repeat} runs; {machine()}\n")
    rows = [run(args.dossiers, args.experts, args.conflicts, seed, args.repeat)
            for seed in range(1, args.seeds + 1)]
    print(table(rows))


if __name__ == "__main__":
    main()
