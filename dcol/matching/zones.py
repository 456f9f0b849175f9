"""Where a country lies among CUF's country groups, and the languages spoken there.

CUF groups its partner countries in the regions of ``WorldRegion`` (DOMAIN.md): the Mediterranean
and France (with its overseas territories) are listed; other countries fall in their continent,
read from the first time zone CLDR gives them (``Africa/Dakar``, ``Asia/Ho_Chi_Minh``...).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from babel.core import get_global
from babel.languages import get_official_languages

from dcol.models import WorldRegion

MEDITERRANEAN = frozenset(
    {"DZ", "EG", "IL", "JO", "LB", "LY", "MA", "PS", "SY", "TN", "TR", "CY", "MT"}
)
FRANCE = frozenset(
    {"FR", "GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF", "WF", "PF", "NC", "TF"}
)
# CUF follows the Caucasus with Europe (its "Arménie" group).
EUROPE = frozenset({"AM", "GE", "AZ"})
# Islands whose first time zone is an ocean's.
_OCEAN = {"Indian": WorldRegion.AFRICA, "Atlantic": WorldRegion.AFRICA}
_OCEAN_EXCEPTIONS = {
    "MV": WorldRegion.ASIA, "IO": WorldRegion.ASIA, "CX": WorldRegion.ASIA, "CC": WorldRegion.ASIA,
    "BM": WorldRegion.AMERICAS, "FK": WorldRegion.AMERICAS, "GS": WorldRegion.AMERICAS,
    "IS": WorldRegion.EUROPE, "FO": WorldRegion.EUROPE,
}
_CONTINENTS = {
    "Africa": WorldRegion.AFRICA,
    "America": WorldRegion.AMERICAS,
    "Asia": WorldRegion.ASIA,
    "Europe": WorldRegion.EUROPE,
}


@cache
def region_of(country: str) -> WorldRegion | None:
    """CUF's region of an ISO 3166-1 alpha-2 code; None for Oceania, Antarctica and unknown codes."""
    code = country.upper()
    if code in FRANCE:
        return WorldRegion.FRANCE
    if code in MEDITERRANEAN:
        return WorldRegion.MEDITERRANEAN
    if code in EUROPE:
        return WorldRegion.EUROPE
    if code in _OCEAN_EXCEPTIONS:
        return _OCEAN_EXCEPTIONS[code]
    zones = get_global("territory_zones").get(code)
    if not zones:
        return None
    area = zones[0].split("/", 1)[0]
    return _CONTINENTS.get(area) or _OCEAN.get(area)


def regions_of(countries: Iterable[str]) -> set[WorldRegion]:
    return {region for country in countries if (region := region_of(country)) is not None}


@cache
def _official_languages(country: str) -> tuple[str, ...]:
    return tuple(code for code in get_official_languages(country.upper()) if len(code) == 2)


def local_languages(countries: Iterable[str]) -> set[str]:
    """The official languages (ISO 639-1) of the countries of the action."""
    return {code for country in countries for code in _official_languages(country)}
