"""The matching's score: hard filters, then a score out of 100 made of parts a manager can read.

Pure functions over plain values (``Need`` for a dossier, ``Profile`` for an expert), computed for
every dossier and expert at once as matrices so that a whole call, or the benchmark's 1,000 × 1,000,
is scored in one pass; ``explain`` reads one pair back with each part, its weight and its details.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import numpy as np

from dcol.matching.text import TextMatch, match_texts
from dcol.matching.zones import local_languages, region_of, regions_of
from dcol.models.base import N_


@dataclass(frozen=True)
class Need:
    """What a dossier in matching asks of an expert (from its matching brief)."""

    application_id: int
    reference: str
    organisation_id: int
    themes: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()  # required
    starts_on: date | None = None
    ends_on: date | None = None
    days: Decimal | None = None
    budget: Decimal | None = None  # excluding VAT
    text: str = ""
    declined: frozenset[int] = frozenset()  # experts who declined this dossier


@dataclass(frozen=True)
class Profile:
    """An expert of the pool, with its load and its history."""

    expert_id: int
    name: str
    daily_rate: Decimal
    capacity: int
    load: int = 0
    is_active: bool = True
    skills: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    unavailable: tuple[tuple[date, date], ...] = ()
    conflicts: frozenset[int] = frozenset()  # organisation ids
    satisfaction: float | None = None  # mean overall rating (1–5) of closed missions
    satisfaction_count: int = 0
    text: str = ""

    @property
    def free_slots(self) -> int:
        return max(self.capacity - self.load, 0)


# --- hard filters -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Filter:
    bit: int
    code: str
    label: str


FILTERS = (
    Filter(1, "inactive", N_("Expert inactif")),
    Filter(2, "conflict", N_("Lien déclaré avec la collectivité")),
    Filter(4, "declined", N_("A déjà décliné ce dossier")),
    Filter(8, "language", N_("Langue de travail manquante")),
    Filter(16, "capacity", N_("Plus de disponibilité")),
    Filter(32, "unavailable", N_("Indisponible sur la période prévue")),
)
FILTER_BY_CODE = {f.code: f for f in FILTERS}


# --- score parts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartSpec:
    key: str
    label: str
    weight: int  # the weights add up to 100, so a part's points are weight × value


PARTS = (
    PartSpec("skills", N_("Compétences recherchées"), 30),
    PartSpec("text", N_("Proximité des besoins et des références"), 20),
    PartSpec("zone", N_("Zone géographique"), 15),
    PartSpec("language", N_("Langues du terrain"), 10),
    PartSpec("rate", N_("Tarif journalier au regard du budget"), 10),
    PartSpec("load", N_("Charge actuelle"), 5),
    PartSpec("satisfaction", N_("Satisfaction des missions passées"), 10),
)
TOTAL_WEIGHT = sum(part.weight for part in PARTS)
ZONE_COUNTRY, ZONE_REGION = 1.0, 0.5
NEUTRAL = 0.5  # a part without the data to judge it (no budget, no closed mission yet)
# Scores are kept as integer points (hundredths of a point out of 100) for the solver.
POINTS = 100


def _binary(rows: Sequence[Sequence[str]], vocabulary: dict[str, int]) -> np.ndarray:
    matrix = np.zeros((len(rows), len(vocabulary)), dtype=np.float64)
    for i, values in enumerate(rows):
        for value in values:
            if value in vocabulary:
                matrix[i, vocabulary[value]] = 1.0
    return matrix


def _vocabulary(*groups: Sequence[Sequence[str]]) -> dict[str, int]:
    values = sorted({value for group in groups for row in group for value in row})
    return {value: i for i, value in enumerate(values)}


def _affordable_rate(need: Need) -> float:
    if need.budget is None or not need.days:
        return np.nan
    return float(need.budget / need.days)


@dataclass
class ScoreBoard:
    """Every dossier (rows) against every expert (columns): filters, parts and total points."""

    needs: Sequence[Need]
    profiles: Sequence[Profile]
    reasons: np.ndarray  # int, a bit per ``Filter`` that excludes the pair
    parts: dict[str, np.ndarray]  # each in [0, 1]
    points: np.ndarray  # int64, the score out of 100 in hundredths
    text: TextMatch
    local: list[set[str]] = field(default_factory=list)
    expert_regions: list[set[str]] = field(default_factory=list)

    @property
    def feasible(self) -> np.ndarray:
        return self.reasons == 0

    def free_slots(self) -> np.ndarray:
        return np.array([profile.free_slots for profile in self.profiles], dtype=np.int64)

    def ranking(self, row: int) -> list[int]:
        """The experts that pass the filters for this dossier, best first (then by name)."""
        columns = np.flatnonzero(self.feasible[row])
        return sorted(columns.tolist(),
                      key=lambda j: (-int(self.points[row, j]), self.profiles[j].name, j))

    def exclusions(self, row: int) -> list[tuple[int, list[dict]]]:
        """The experts filtered out for this dossier, each with every reason and its details."""
        excluded = []
        for j in np.flatnonzero(self.reasons[row]).tolist():
            excluded.append((j, self._reasons(row, j)))
        return sorted(excluded, key=lambda item: (self.profiles[item[0]].name, item[0]))

    def _reasons(self, row: int, column: int) -> list[dict]:
        need, profile, bits = self.needs[row], self.profiles[column], int(self.reasons[row, column])
        reasons = []
        for f in FILTERS:
            if not bits & f.bit:
                continue
            detail: dict = {}
            if f.code == "language":
                detail["missing"] = sorted(set(need.languages) - set(profile.languages))
            elif f.code == "capacity":
                detail.update(load=profile.load, capacity=profile.capacity)
            elif f.code == "unavailable":
                detail["periods"] = [
                    (start, end)
                    for start, end in profile.unavailable
                    if _overlaps(need, start, end)
                ]
            reasons.append({"code": f.code, "label": f.label, **detail})
        return reasons

    def explain(self, row: int, column: int) -> dict:
        """One pair's score, part by part, as plain JSON (kept with the proposal)."""
        need, profile = self.needs[row], self.profiles[column]
        affordable = None
        if need.budget is not None and need.days:
            affordable = str((need.budget / need.days).quantize(Decimal("0.01")))
        details = {
            "skills": {
                "matched": [t for t in need.themes if t in profile.skills],
                "missing": [t for t in need.themes if t not in profile.skills],
            },
            "text": {
                "similarity": round(float(self.parts["text"][row, column]), 4),
                "words": self.text.driving_words(row, column),
            },
            "zone": {
                "countries": [c for c in need.countries if c in profile.countries],
                "regions": sorted(
                    {r.value for r in regions_of(need.countries)} & self.expert_regions[column]
                ),
            },
            "language": {
                "local": sorted(self.local[row]),
                "spoken": sorted(self.local[row] & set(profile.languages)),
            },
            "rate": {
                "daily_rate": str(profile.daily_rate),
                "affordable": affordable,
                "budget": None if need.budget is None else str(need.budget),
                "days": None if need.days is None else str(need.days),
            },
            "load": {"load": profile.load, "capacity": profile.capacity},
            "satisfaction": {
                "mean": None if profile.satisfaction is None else round(profile.satisfaction, 2),
                "count": profile.satisfaction_count,
            },
        }
        parts = []
        for spec in PARTS:
            value = float(self.parts[spec.key][row, column])
            parts.append({
                "key": spec.key, "label": spec.label, "weight": spec.weight,
                "value": round(value, 4), "points": round(spec.weight * value, 2),
                **details[spec.key],
            })
        return {
            "expert_id": profile.expert_id,
            "expert": profile.name,
            "score": int(self.points[row, column]) / POINTS,
            "parts": parts,
        }


def _overlaps(need: Need, start: date, end: date) -> bool:
    return bool(need.starts_on and need.ends_on and start <= need.ends_on and end >= need.starts_on)


def score(needs: Sequence[Need], profiles: Sequence[Profile]) -> ScoreBoard:
    """Filter and score every dossier against every expert."""
    n, m = len(needs), len(profiles)
    reasons = np.zeros((n, m), dtype=np.int64)
    bits = {f.code: f.bit for f in FILTERS}
    column = {profile.expert_id: j for j, profile in enumerate(profiles)}

    inactive = np.array([not p.is_active for p in profiles], dtype=bool)
    full = np.array([p.load >= p.capacity for p in profiles], dtype=bool)
    reasons[:, inactive] |= bits["inactive"]
    reasons[:, full] |= bits["capacity"]

    rows_of_organisation: dict[int, list[int]] = {}
    for i, need in enumerate(needs):
        rows_of_organisation.setdefault(need.organisation_id, []).append(i)
        for expert_id in need.declined:
            if expert_id in column:
                reasons[i, column[expert_id]] |= bits["declined"]
    for j, profile in enumerate(profiles):
        for organisation_id in profile.conflicts:
            for i in rows_of_organisation.get(organisation_id, ()):
                reasons[i, j] |= bits["conflict"]

    languages = _vocabulary([n_.languages for n_ in needs], [p.languages for p in profiles])
    required = _binary([n_.languages for n_ in needs], languages)
    spoken = _binary([p.languages for p in profiles], languages)
    missing = required @ (1.0 - spoken).T
    reasons[missing > 0] |= bits["language"]

    with_period = np.array([bool(n_.starts_on and n_.ends_on) for n_ in needs], dtype=bool)
    starts = np.array([n_.starts_on.toordinal() if n_.starts_on else 0 for n_ in needs])
    ends = np.array([n_.ends_on.toordinal() if n_.ends_on else 0 for n_ in needs])
    for j, profile in enumerate(profiles):
        for start, end in profile.unavailable:
            rows = with_period & (starts <= end.toordinal()) & (ends >= start.toordinal())
            reasons[rows, j] |= bits["unavailable"]

    parts: dict[str, np.ndarray] = {}

    themes = _vocabulary([n_.themes for n_ in needs], [p.skills for p in profiles])
    sought = _binary([n_.themes for n_ in needs], themes)
    offered = _binary([p.skills for p in profiles], themes)
    sought_count = sought.sum(axis=1, keepdims=True)
    parts["skills"] = np.divide(sought @ offered.T, sought_count,
                                out=np.zeros((n, m)), where=sought_count > 0)

    text = match_texts([n_.text for n_ in needs], [p.text for p in profiles])
    parts["text"] = text.similarity

    countries = _vocabulary([n_.countries for n_ in needs], [p.countries for p in profiles])
    country_hit = (_binary([n_.countries for n_ in needs], countries)
                   @ _binary([p.countries for p in profiles], countries).T) > 0
    need_regions = [{r.value for r in regions_of(n_.countries)} for n_ in needs]
    expert_regions = [
        set(p.regions) | {r.value for c in p.countries if (r := region_of(c)) is not None}
        for p in profiles
    ]
    region_vocabulary = _vocabulary(need_regions, expert_regions)
    region_hit = (_binary(need_regions, region_vocabulary)
                  @ _binary(expert_regions, region_vocabulary).T) > 0
    parts["zone"] = np.where(country_hit, ZONE_COUNTRY, np.where(region_hit, ZONE_REGION, 0.0))

    local = [local_languages(n_.countries) for n_ in needs]
    local_vocabulary = _vocabulary(local, [p.languages for p in profiles])
    local_matrix = _binary(local, local_vocabulary)
    local_count = local_matrix.sum(axis=1, keepdims=True)
    parts["language"] = np.divide(
        local_matrix @ _binary([p.languages for p in profiles], local_vocabulary).T, local_count,
        out=np.ones((n, m)), where=local_count > 0)

    affordable = np.array([_affordable_rate(n_) for n_ in needs], dtype=np.float64)[:, None]
    rates = np.array([float(p.daily_rate) for p in profiles], dtype=np.float64)[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        over = np.clip(1.0 - (rates - affordable) / affordable, 0.0, 1.0)
    parts["rate"] = np.where(np.isnan(affordable), NEUTRAL,
                             np.where(rates <= affordable, 1.0, np.nan_to_num(over)))
    parts["rate"] = np.broadcast_to(parts["rate"], (n, m))

    load = np.array([1.0 - p.load / p.capacity if p.capacity > 0 else 0.0 for p in profiles])
    parts["load"] = np.broadcast_to(np.clip(load, 0.0, 1.0)[None, :], (n, m))
    satisfaction = np.array([
        NEUTRAL if p.satisfaction is None else (p.satisfaction - 1.0) / 4.0 for p in profiles
    ])
    parts["satisfaction"] = np.broadcast_to(np.clip(satisfaction, 0.0, 1.0)[None, :], (n, m))

    total = sum(spec.weight * parts[spec.key] for spec in PARTS) / TOTAL_WEIGHT * 100
    points = np.rint(total * POINTS).astype(np.int64) if n and m else np.zeros((n, m), np.int64)
    return ScoreBoard(needs, profiles, reasons, parts, points, text, local, expert_regions)
