"""What the actor sends with an event (``Event.inputs``): parsing, and the guards that check it
before any other guard (``checks_input``: a refusal is invalid input, 422), so that the other
guards and the effects only ever see valid input."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _

from dcol.extensions import db
from dcol.i18n import PARIS, format_day
from dcol.models import Expert
from workflows.context import Context, needs_input

# Bounds of what the actor sends (beyond them, a typo rather than an intent).
MAX_RESPONSE_DELAY = timedelta(days=2 * 365)
MAX_INDICATIVE_DAYS = Decimal("365")
MAX_OVERRIDE_REASON = 2000  # characters
MAX_EXPLANATION = 20000  # characters of its JSON
MAX_EXPLANATION_DEPTH = 10
MAX_DATABASE_ID = 2**31 - 1


# --- parsing -------------------------------------------------------------------------------


def parse_deadline(value) -> datetime | None:
    """A response deadline from the payload, in UTC: an ISO date (the end of that day in Paris)
    or an ISO datetime (Paris time when it has no offset); None when it is neither, or when it
    lies beyond what a datetime can hold once in UTC."""
    try:
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, str) and value:
            moment = datetime.fromisoformat(value)
            if "T" not in value:
                moment = datetime.combine(moment.date(), time(23, 59, 59))
        else:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=PARIS)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def parse_day(value) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def parse_days(value) -> Decimal | None:
    """A number of days from the payload (``12``, ``12.5``, ``"12,5"``); None when it is not a
    finite number."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = str(value).strip().replace(",", ".")
    if not text or len(text) > 30:
        return None
    try:
        days = Decimal(text)
    except InvalidOperation:
        return None
    return days if days.is_finite() else None


def parse_database_id(value) -> int | None:
    """A row id from the payload (an integer, or its digits in a form); None when it cannot be
    one (a PostgreSQL ``integer``: 1 to 2³¹ − 1)."""
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,10}", value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 1 <= value <= MAX_DATABASE_ID else None


def _is_given(value) -> bool:
    return value is not None and value != ""


# --- checks of what the actor sends -----------------------------------------------------------


def checks_input(guard):
    """Mark a guard that validates what the actor sends when firing. Its refusals are invalid
    input (422, nothing else is checked until they are fixed): the other guards and the effects
    only ever see valid input. Skipped in previews, like every guard that needs input."""
    guard = needs_input(guard)
    guard.checks_input = True
    return guard


def has_unstorable_text(value) -> bool:
    """NUL characters (PostgreSQL refuses them) or lone surrogates (not UTF-8: the audit hash
    cannot be computed), anywhere in a JSON value. Iterative: a deep value cannot exhaust the
    stack."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
        elif isinstance(item, str) and (
            "\x00" in item or any("\ud800" <= char <= "\udfff" for char in item)
        ):
            return True
    return False


def _depth(value) -> int:
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return deepest


@checks_input
def storable_input(ctx: Context) -> list[str]:
    """Every event: only the data the event takes, and text that can be stored."""
    problems = []
    if has_unstorable_text(ctx.comment):
        problems.append(_("Le commentaire contient des caractères non autorisés."))
    for key, value in ctx.payload.items():
        if key not in ctx.event.inputs:
            problems.append(_("Donnée inattendue pour cette action : « %(key)s ».", key=key))
        elif has_unstorable_text(value):
            problems.append(
                _("La donnée « %(key)s » contient des caractères non autorisés.", key=key)
            )
    return problems


@checks_input
def response_deadline_given(ctx: Context) -> list[str]:
    raw = ctx.payload.get("response_deadline")
    if not _is_given(raw):
        return [_("Indiquez la date limite de réponse (AAAA-MM-JJ).")]
    deadline = parse_deadline(raw)
    if deadline is None:
        return [_("La date limite de réponse n'est pas une date valide (AAAA-MM-JJ).")]
    if deadline <= ctx.now:
        return [_("La date limite de réponse doit être dans le futur.")]
    latest = ctx.now + MAX_RESPONSE_DELAY
    if deadline > latest:
        return [
            _("La date limite de réponse ne peut pas dépasser le %(latest)s.",
              latest=format_day(latest))
        ]
    return []


@checks_input
def expert_chosen(ctx: Context) -> list[str]:
    expert_id = parse_database_id(ctx.payload.get("expert_id"))
    if expert_id is None or db.session.get(Expert, expert_id) is None:
        return [_("Choisissez un expert du vivier.")]
    return []


@checks_input
def proposal_terms_valid(ctx: Context) -> list[str]:
    """The indicative days and dates, and the matching's explanation and override reason."""
    payload, problems = ctx.payload, []
    if _is_given(raw_days := payload.get("indicative_days")):
        days = parse_days(raw_days)
        if days is None:
            problems.append(_("Le nombre de jours indicatif n'est pas un nombre (exemple : 12,5)."))
        elif not 0 < days <= MAX_INDICATIVE_DAYS:
            problems.append(_("Le nombre de jours indicatif doit être compris entre 0 (exclu) et "
                              "%(max)s.", max=MAX_INDICATIVE_DAYS))
        elif days != days.quantize(Decimal("0.01")):
            problems.append(_("Le nombre de jours indicatif a au plus deux décimales."))
    raw_start, raw_end = payload.get("indicative_start"), payload.get("indicative_end")
    start, end = parse_day(raw_start), parse_day(raw_end)
    if (_is_given(raw_start) and start is None) or (_is_given(raw_end) and end is None):
        problems.append(_("Dates indicatives invalides : format attendu AAAA-MM-JJ."))
    elif start and end and end < start:
        problems.append(_("La fin indicative précède le début."))
    explanation = payload.get("explanation")
    if explanation is not None and not isinstance(explanation, dict):
        problems.append(_("L'explication du rapprochement doit être un objet JSON."))
    elif explanation and _too_big(explanation):
        problems.append(_("L'explication du rapprochement est trop volumineuse."))
    reason = payload.get("override_reason")
    if reason is not None and not isinstance(reason, str):
        problems.append(_("Le motif de dérogation doit être un texte."))
    elif reason and len(reason) > MAX_OVERRIDE_REASON:
        problems.append(_("Le motif de dérogation est trop long (%(max)s caractères au plus).",
                          max=MAX_OVERRIDE_REASON))
    return problems


def _too_big(value: dict) -> bool:
    if _depth(value) > MAX_EXPLANATION_DEPTH:
        return True
    try:
        return len(json.dumps(value, default=str)) > MAX_EXPLANATION
    except (TypeError, ValueError):  # keys that are not text: not JSON
        return True


@checks_input
def no_conflict_declared(ctx: Context) -> list[str]:
    if ctx.payload.get("no_conflict") is not True:
        return [_("Déclarez l'absence de conflit d'intérêts avec la collectivité pour accepter.")]
    return []
