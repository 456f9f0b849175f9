"""Languages, time zone and the French formatting of dates and euro amounts (Flask-Babel)."""

from __future__ import annotations

import gettext as gettext_module
import os
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pycountry
from babel.lists import format_list
from babel.units import format_unit
from flask import current_app, has_request_context, request, session
from flask_babel import format_currency, format_date, format_datetime, format_decimal, get_locale
from flask_login import current_user
from wtforms.i18n import messages_path as wtforms_messages_path

from dcol.extensions import babel

PARIS = ZoneInfo("Europe/Paris")
CENT = Decimal("0.01")


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    if getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def init_app(app) -> None:
    translations = Path(app.root_path) / "translations"
    try:
        compile_catalogs(translations)
    except OSError:  # a read-only install ships compiled catalogs
        app.logger.warning("Could not compile the translation catalogs in %s", translations)
    # WTForms' own messages ("Not a valid choice.") come from its catalogs (domain "wtforms"),
    # merged with ours: the forms read them through Flask-Babel (see ``forms.base``).
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_domain="messages;wtforms",
        default_translation_directories=f"{translations};{wtforms_messages_path()}",
    )
    app.jinja_env.filters.update(
        money=format_money,
        number=format_number,
        date_fr=format_day,
        datetime_fr=format_moment,
        time_left=format_time_left,
        country_name=country_name,
        language_name=language_name,
        theme_label=theme_label,
        region_label=region_label,
        state_label=state_label,
    )
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.globals["get_locale"] = get_locale

    @app.get("/langue/<code>")
    def set_language(code: str):
        from flask import redirect, url_for

        if code in app.config["LANGUAGES"]:
            session["locale"] = code
        target = request.referrer
        if not target or not target.startswith(request.host_url):
            target = url_for("home.index")
        return redirect(target)


def format_number(value: Decimal | int | None) -> str:
    """A score, a weight or a mean in the user's way, to two decimals at most ("3,5", "82,33")."""
    if value is None:
        return ""
    rounded = Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
    return format_decimal(rounded, format="#,##0.##")


def to_cents(amount: Decimal) -> Decimal:
    """Round an amount to the cent, half-up, as every amount in dcol is."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(amount: Decimal | int | None) -> str:
    """``Decimal("12500")`` → ``12 500,00 €`` (in French)."""
    if amount is None:
        return "—"
    return format_currency(to_cents(Decimal(amount)), "EUR")


def format_day(value: date | datetime | None, fmt: str = "long") -> str:
    """``date(2024, 12, 3)`` → ``3 décembre 2024``."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return format_date(value.astimezone(PARIS).date(), fmt)
    return format_date(value, fmt)


MOMENT_FORMATS = {"fr": "d MMMM yyyy 'à' HH:mm", "en": "d MMMM yyyy 'at' HH:mm"}


def format_moment(value: datetime | None) -> str:
    """An aware datetime shown in Europe/Paris: ``3 décembre 2024 à 23:59``."""
    if value is None:
        return "—"
    return format_datetime(value, MOMENT_FORMATS.get(_language(), MOMENT_FORMATS["fr"]))


def format_time_left(moment: datetime, now: datetime | None = None) -> str:
    """Time left before a deadline, precise enough to act on: ``12 jours``, ``1 jour et
    6 heures``, ``5 heures``, ``40 minutes`` (rounded down: never more than what is left)."""
    from dcol.models import utcnow

    seconds = max(0, int((moment - (now or utcnow())).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    language = _language()
    if days >= 2:
        parts = [(days, "duration-day")]
    elif days == 1:
        parts = [(1, "duration-day")] + ([(hours, "duration-hour")] if hours else [])
    elif hours:
        parts = [(hours, "duration-hour")]
    else:
        parts = [(max(minutes, 1), "duration-minute")]
    return format_list(
        [format_unit(value, unit, length="long", locale=language) for value, unit in parts],
        locale=language,
    )


@lru_cache(maxsize=8)
def _iso_translations(domain: str, language: str) -> gettext_module.NullTranslations:
    return gettext_module.translation(
        domain, pycountry.LOCALES_DIR, languages=[language], fallback=True
    )


def _language() -> str:
    try:
        return str(get_locale() or "fr")
    except RuntimeError:  # outside a request
        return "fr"


def country_name(code: str) -> str:
    """``"VN"`` → ``"Viet Nam"`` in the user's language (French by default)."""
    country = pycountry.countries.get(alpha_2=code.upper()) if code else None
    if country is None:
        return code
    name = getattr(country, "common_name", None) or country.name
    return _iso_translations("iso3166-1", _language()).gettext(name)


def language_name(code: str) -> str:
    language = pycountry.languages.get(alpha_2=code.lower()) if code else None
    if language is None:
        return code
    return _iso_translations("iso639-3", _language()).gettext(language.name)


def state_label(value: str) -> str:
    from dcol.models import ApplicationState

    try:
        return ApplicationState(value).label
    except ValueError:
        return value


def theme_label(value: str) -> str:
    from dcol.models import Theme

    try:
        return Theme(value).label
    except ValueError:
        return value


def region_label(value: str) -> str:
    from dcol.models import WorldRegion

    try:
        return WorldRegion(value).label
    except ValueError:
        return value


def compile_catalogs(directory: Path) -> None:
    """Compile each ``messages.po`` whose ``.mo`` is missing or older (the .mo are not committed)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in directory.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file)
        # Written aside then renamed: workers starting together never read a partial catalog.
        temporary = mo_path.with_name(f".{mo_path.name}.{os.getpid()}")
        with temporary.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        os.replace(temporary, mo_path)


def country_choices() -> list[tuple[str, str]]:
    """Every country as (ISO code, name in the user's language), sorted by name."""
    import unicodedata

    def fold(text: str) -> str:
        return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()

    choices = [(country.alpha_2, country_name(country.alpha_2)) for country in pycountry.countries]
    return sorted(choices, key=lambda choice: fold(choice[1]))


def language_choices() -> list[tuple[str, str]]:
    """Every language with an ISO 639-1 code, as (code, name in the user's language), by name."""
    choices = [
        (language.alpha_2, language_name(language.alpha_2))
        for language in pycountry.languages
        if hasattr(language, "alpha_2")
    ]
    return sorted(choices, key=lambda choice: choice[1].casefold())
