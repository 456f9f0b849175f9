"""The matching's hard filters and each part of its score, on hand-built dossiers and experts
whose numbers are worked out by hand; the explanation shown to the manager matches them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from dcol.matching.scoring import FILTERS, PARTS, Need, Profile, score
from dcol.matching.text import match_texts
from dcol.matching.zones import local_languages, region_of

WATER_NEED = Need(
    application_id=1, reference="DCOL13-0001", organisation_id=10,
    themes=("water_sanitation", "climate"), countries=("VN",), languages=("fr",),
    starts_on=date(2027, 3, 1), ends_on=date(2027, 6, 30), days=D("20"), budget=D("14000"),
)


def expert(expert_id=1, **values) -> Profile:
    values.setdefault("name", f"Expert {expert_id}")
    values.setdefault("daily_rate", D("650"))
    values.setdefault("capacity", 4)
    values.setdefault("languages", ("fr",))
    return Profile(expert_id=expert_id, **values)


def reasons(need: Need, profile: Profile) -> list[str]:
    board = score([need], [profile])
    return [reason["code"] for _, found in board.exclusions(0) for reason in found]


@pytest.mark.parametrize(("profile", "need", "expected"), [
    (expert(is_active=False), WATER_NEED, ["inactive"]),
    (expert(conflicts=frozenset({10})), WATER_NEED, ["conflict"]),
    (expert(conflicts=frozenset({11})), WATER_NEED, []),
    (expert(1), Need(**{**WATER_NEED.__dict__, "declined": frozenset({1})}), ["declined"]),
    (expert(languages=("en",)), WATER_NEED, ["language"]),
    (expert(languages=("fr",)), Need(**{**WATER_NEED.__dict__, "languages": ("fr", "vi")}),
     ["language"]),
    (expert(capacity=2, load=2), WATER_NEED, ["capacity"]),
    (expert(capacity=0), WATER_NEED, ["capacity"]),
    (expert(capacity=3, load=2), WATER_NEED, []),
    (expert(unavailable=((date(2027, 6, 15), date(2027, 7, 31)),)), WATER_NEED, ["unavailable"]),
    (expert(unavailable=((date(2027, 7, 1), date(2027, 7, 31)),)), WATER_NEED, []),
    (expert(unavailable=((date(2027, 1, 1), date(2027, 12, 31)),)),
     Need(**{**WATER_NEED.__dict__, "starts_on": None, "ends_on": None}), []),
])
def test_each_hard_filter_excludes_with_its_reason(profile, need, expected):
    assert reasons(need, profile) == expected
    board = score([need], [profile])
    assert (board.ranking(0) == []) == bool(expected)


def test_every_reason_of_an_excluded_expert_is_listed_with_its_details():
    profile = expert(is_active=False, languages=("en",), capacity=1, load=1,
                     conflicts=frozenset({10}),
                     unavailable=((date(2027, 5, 1), date(2027, 5, 15)),))
    (column, found), = score([WATER_NEED], [profile]).exclusions(0)
    assert [reason["code"] for reason in found] == [
        "inactive", "conflict", "language", "capacity", "unavailable"]
    by_code = {reason["code"]: reason for reason in found}
    assert by_code["language"]["missing"] == ["fr"]
    assert (by_code["capacity"]["load"], by_code["capacity"]["capacity"]) == (1, 1)
    assert by_code["unavailable"]["periods"] == [(date(2027, 5, 1), date(2027, 5, 15))]
    assert {f.code for f in FILTERS} == set(by_code) | {"declined"}


def part(board, key, row=0, column=0):
    return next(p for p in board.explain(row, column)["parts"] if p["key"] == key)


def test_score_parts_worked_out_by_hand():
    # Skills: 1 of the 2 sought → 0.5. No text on either side → 0. Knows Vietnam → 1. Speaks
    # Vietnamese, the only local language → 1. Budget 14,000 € over 20 days allows 700 €/day;
    # 875 €/day is 175 € over → 1 − 175/700 = 0.75. One mission out of 4 → 0.75. Satisfaction
    # 4.5/5 → (4.5 − 1)/4 = 0.875.
    profile = expert(skills=("water_sanitation", "culture"), countries=("VN",),
                     languages=("fr", "vi"), daily_rate=D("875"), capacity=4, load=1,
                     satisfaction=4.5, satisfaction_count=2)
    board = score([WATER_NEED], [profile])
    values = {p["key"]: p["value"] for p in board.explain(0, 0)["parts"]}
    assert values == {"skills": 0.5, "text": 0.0, "zone": 1.0, "language": 1.0, "rate": 0.75,
                      "load": 0.75, "satisfaction": 0.875}
    # 30×0.5 + 20×0 + 15×1 + 10×1 + 10×0.75 + 5×0.75 + 10×0.875 = 60
    assert board.explain(0, 0)["score"] == 60.0
    assert part(board, "skills")["matched"] == ["water_sanitation"]
    assert part(board, "skills")["missing"] == ["climate"]
    assert part(board, "rate")["affordable"] == "700.00"
    assert part(board, "language")["spoken"] == ["vi"]


def test_weights_add_up_to_100_and_the_parts_points_add_up_to_the_score():
    assert sum(p.weight for p in PARTS) == 100
    profiles = [expert(1, skills=("climate",), regions=("asia",), daily_rate=D("800")),
                expert(2, skills=("water_sanitation",), countries=("LA",), load=3),
                expert(3, satisfaction=2.0, satisfaction_count=1, daily_rate=D("1500"))]
    board = score([WATER_NEED], profiles)
    for column in range(3):
        explained = board.explain(0, column)
        assert sum(p["points"] for p in explained["parts"]) == pytest.approx(
            explained["score"], abs=0.01)
        for p in explained["parts"]:
            assert p["points"] == pytest.approx(p["weight"] * p["value"], abs=0.01)


@pytest.mark.parametrize(("profile", "zone", "detail"), [
    (expert(countries=("VN",)), 1.0, {"countries": ["VN"], "regions": ["asia"]}),
    (expert(countries=("LA",)), 0.5, {"countries": [], "regions": ["asia"]}),
    (expert(regions=("asia",)), 0.5, {"countries": [], "regions": ["asia"]}),
    (expert(countries=("SN",), regions=("africa",)), 0.0, {"countries": [], "regions": []}),
])
def test_zone_fit_country_then_region(profile, zone, detail):
    found = part(score([WATER_NEED], [profile]), "zone")
    assert found["value"] == zone
    assert {"countries": found["countries"], "regions": found["regions"]} == detail


def test_language_fit_counts_the_local_languages_spoken():
    need = Need(**{**WATER_NEED.__dict__, "countries": ("MG",)})  # French, Malagasy, English
    assert local_languages(["MG"]) == {"fr", "mg", "en"}
    assert part(score([need], [expert(languages=("fr", "en"))]), "language")["value"] == \
        pytest.approx(2 / 3, abs=1e-4)
    no_local = Need(**{**WATER_NEED.__dict__, "countries": ("US",)})
    assert part(score([no_local], [expert()]), "language")["value"] == 1.0


@pytest.mark.parametrize(("rate", "budget", "days", "value"), [
    (D("700"), D("14000"), D("20"), 1.0),
    (D("350"), D("14000"), D("20"), 1.0),
    (D("1050"), D("14000"), D("20"), 0.5),
    (D("1400"), D("14000"), D("20"), 0.0),
    (D("3000"), D("14000"), D("20"), 0.0),
    (D("650"), None, D("20"), 0.5),
    (D("650"), D("14000"), None, 0.5),
])
def test_daily_rate_against_the_budget(rate, budget, days, value):
    need = Need(**{**WATER_NEED.__dict__, "budget": budget, "days": days})
    assert part(score([need], [expert(daily_rate=rate)]), "rate")["value"] == value


@pytest.mark.parametrize(("load", "capacity", "value"), [(0, 4, 1.0), (1, 4, 0.75), (2, 3, 0.3333)])
def test_current_load(load, capacity, value):
    assert part(score([WATER_NEED], [expert(load=load, capacity=capacity)]), "load")["value"] == value


@pytest.mark.parametrize(("mean", "count", "value"), [(5.0, 3, 1.0), (1.0, 1, 0.0), (3.0, 2, 0.5),
                                                      (None, 0, 0.5)])
def test_past_satisfaction(mean, count, value):
    profile = expert(satisfaction=mean, satisfaction_count=count)
    assert part(score([WATER_NEED], [profile]), "satisfaction")["value"] == value


def test_text_similarity_shows_the_words_that_drove_it():
    need = Need(**{**WATER_NEED.__dict__, "text": "Projet pilote d'eau potable et d'assainissement "
                   "dans trois communes rurales de la province de Binh Dinh au Vietnam."})
    water = expert(1, text="Services d'eau potable en milieu rural, assainissement autonome, "
                           "missions au Vietnam et au Laos.")
    culture = expert(2, text="Coopération culturelle, patrimoine, musées et festivals.")
    board = score([need], [water, culture])
    words = part(board, "text", column=0)["words"]
    assert {"eau", "potable", "assainissement", "vietnam"} <= set(words)
    assert part(board, "text", column=0)["value"] > 0.2
    assert part(board, "text", column=1)["value"] == 0.0
    assert part(board, "text", column=1)["words"] == []
    assert board.ranking(0) == [0, 1]


def test_text_handles_accents_plurals_and_french_stop_words():
    match = match_texts(["Élaboration d'une stratégie internationale"],
                        ["strategies internationales ; elaboration"])
    assert match.similarity[0, 0] == pytest.approx(1.0)
    assert match.driving_words(0, 0)[0] in {"élaboration", "stratégie", "internationale"}
    only_stop_words = match_texts(["le la les de des et"], ["de la et"])
    assert only_stop_words.similarity[0, 0] == 0.0


def test_cuf_regions_of_countries():
    assert [region_of(c) for c in ("VN", "SN", "MG", "AR", "MA", "AM", "UA", "RE", "AU")] == [
        "asia", "africa", "africa", "americas", "mediterranean", "europe", "europe", "france",
        None]


def test_ranking_breaks_ties_by_name():
    profiles = [expert(1, name="Zeta"), expert(2, name="Alpha")]
    assert score([WATER_NEED], profiles).ranking(0) == [1, 0]
