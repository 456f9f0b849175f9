"""The expert pool's operations: the profiles kept by CUF and by the experts themselves, their
unavailabilities and declared links with organisations, the search of the pool; and the expert's
side: the proposals addressed to it and its answers.

Each operation checks its permission, says what is wrong field by field (``ExpertRefused``, in
French) before writing anything, flushes only (the caller commits) and leaves an audit entry
outside any dossier's chain (``application_id=None``). An answer to a proposal is a workflow event
of the dossier (``accept_mission``, ``decline_mission``): the engine writes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pycountry
import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.fr import siren as siren_number
from stdnum.fr import siret as siret_number

from dcol import audit
from dcol.extensions import db
from dcol.models import (
    Expert,
    ExpertConflict,
    ExpertKind,
    Organisation,
    Theme,
    Unavailability,
    User,
    WorldRegion,
    utcnow,
)
from dcol.permissions import Action, can
from dcol.sql import json_elements
from workflows.engine import InvalidInput, NotVisible

MAX_CAPACITY = 50
MAX_KEYWORDS = 30
MAX_KEYWORD_LENGTH = 60
MAX_REFERENCES = 20_000
MAX_REASON = 200
MAX_DESCRIPTION = 2_000
# How many homonyms a refused organisation search names, to help choosing.
MAX_CANDIDATES_NAMED = 5

# The profile's fields, as the forms and the operations exchange them (typed values).
PROFILE_FIELDS = (
    "kind", "name", "siret", "contact_name", "email", "phone", "website", "address",
    "skills", "keywords", "countries", "regions", "languages",
    "daily_rate", "vat_rate", "capacity", "references",
)


class ExpertRefused(InvalidInput):
    """Input refused: ``errors`` maps each field to its French message."""

    def __init__(self, errors: dict[str, str]):
        message = _("Les informations saisies ne sont pas valides : corrigez les champs signalés.")
        super().__init__(message, list(errors.values()))
        self.errors = errors


def _require(user: User, action: Action, obj: object) -> None:
    if not can(user, action, obj):
        raise NotVisible(_("Expert introuvable."))


# --- rules of a profile -------------------------------------------------------------------


def _text(value) -> str:
    return str(value or "").strip()


def _unique(values) -> list[str]:
    """The values in their order, without blanks nor repeats."""
    seen, result = set(), []
    for value in values or []:
        value = _text(value)
        if value and value.casefold() not in seen:
            seen.add(value.casefold())
            result.append(value)
    return result


def clean_profile(values: dict) -> dict:
    """The profile's values trimmed: text stripped (None for an empty optional one), codes
    without repeats, a SIRET as its 14 digits when it can be read."""
    cleaned = {key: values.get(key) for key in PROFILE_FIELDS}
    for key in ("name", "contact_name", "email", "references"):
        cleaned[key] = _text(cleaned[key])
    for key in ("siret", "phone", "website", "address"):
        cleaned[key] = _text(cleaned[key]) or None
    if cleaned["siret"]:
        cleaned["siret"] = siret_number.compact(cleaned["siret"])
    cleaned["email"] = cleaned["email"].lower()
    cleaned["countries"] = [code.upper() for code in _unique(cleaned["countries"])]
    cleaned["languages"] = [code.lower() for code in _unique(cleaned["languages"])]
    for key in ("skills", "regions", "keywords"):
        cleaned[key] = _unique(cleaned[key])
    return cleaned


def _unknown(codes: list[str], known) -> list[str]:
    return [code for code in codes if not known(code)]


def profile_errors(values: dict) -> dict[str, str]:
    """What is wrong with a (cleaned) profile, by field, in French; empty when it may be saved.
    A field missing from ``values`` or None where a value is required is said to be missing."""
    errors: dict[str, str] = {}
    kinds = {kind.value for kind in ExpertKind}
    if values.get("kind") not in kinds:
        errors["kind"] = _("Choisissez : cabinet ou expert indépendant.")
    if not values.get("name"):
        errors["name"] = _("Indiquez le nom du cabinet ou de l'expert.")
    if not values.get("email"):
        errors["email"] = _("Indiquez l'adresse e-mail de contact.")
    if values.get("siret"):
        try:
            siret_number.validate(values["siret"])
        except StdnumValidationError:
            errors["siret"] = _("Numéro SIRET invalide : 14 chiffres, dont le dernier est une clé "
                                "de contrôle (vérifiez-le sur votre avis de situation INSEE).")
    themes, regions = {t.value for t in Theme}, {r.value for r in WorldRegion}
    checks = {
        "skills": (lambda code: code in themes, _("Compétence inconnue : %(codes)s.")),
        "regions": (lambda code: code in regions, _("Région inconnue : %(codes)s.")),
        "countries": (lambda code: pycountry.countries.get(alpha_2=code) is not None,
                      _("Code pays inconnu : %(codes)s.")),
        "languages": (lambda code: len(code) == 2
                      and pycountry.languages.get(alpha_2=code) is not None,
                      _("Code langue inconnu : %(codes)s.")),
    }
    for key, (known, message) in checks.items():
        unknown = _unknown(values.get(key) or [], known)
        if unknown:
            errors[key] = message % {"codes": ", ".join(unknown)}
    keywords = values.get("keywords") or []
    if len(keywords) > MAX_KEYWORDS:
        errors["keywords"] = _("%(max)s mots-clés au plus.", max=MAX_KEYWORDS)
    elif any(len(keyword) > MAX_KEYWORD_LENGTH for keyword in keywords):
        errors["keywords"] = _("Chaque mot-clé fait au plus %(max)s caractères.",
                               max=MAX_KEYWORD_LENGTH)
    rate = values.get("daily_rate")
    if rate is None:
        errors["daily_rate"] = _("Indiquez le tarif journalier hors taxes.")
    elif rate < 0:
        errors["daily_rate"] = _("Le tarif journalier ne peut pas être négatif.")
    vat = values.get("vat_rate")
    if vat is None:
        errors["vat_rate"] = _("Indiquez le taux de TVA (0 si l'expert n'y est pas assujetti).")
    elif not Decimal(0) <= vat <= Decimal(100):
        errors["vat_rate"] = _("Le taux de TVA est un pourcentage entre 0 et 100.")
    capacity = values.get("capacity")
    if capacity is None:
        errors["capacity"] = _("Indiquez le nombre de missions que l'expert peut mener en même "
                               "temps.")
    elif not 0 <= capacity <= MAX_CAPACITY:
        errors["capacity"] = _("Le nombre de missions simultanées est compris entre 0 et "
                               "%(max)s.", max=MAX_CAPACITY)
    if len(values.get("references") or "") > MAX_REFERENCES:
        errors["references"] = _("Les références font au plus %(max)s caractères.",
                                 max=MAX_REFERENCES)
    return errors


def _checked_profile(values: dict) -> dict:
    cleaned = clean_profile(values)
    errors = profile_errors(cleaned)
    if errors:
        raise ExpertRefused(errors)
    cleaned["kind"] = ExpertKind(cleaned["kind"])
    return cleaned


def _record(actor: User, event: str, expert: Expert, comment: str = "", **payload) -> None:
    audit.record(application_id=None, actor=actor, event=event, occurred_at=utcnow(),
                 comment=comment, payload={"expert_id": expert.id, "name": expert.name, **payload})


# --- the profile ----------------------------------------------------------------------------


def create_expert(actor: User, values: dict) -> Expert:
    """A new expert of the pool (active), from a profile that ``profile_errors`` accepts; raises
    ``ExpertRefused`` (nothing written) otherwise. Managers only."""
    _require(actor, Action.EXPERT_VIEW_POOL, None)
    profile = _checked_profile(values)
    expert = Expert(**profile, is_active=True)
    db.session.add(expert)
    db.session.flush()
    _record(actor, "expert.created", expert,
            profile={key: _auditable(value) for key, value in profile.items()})
    return expert


def _auditable(value):
    return value.value if isinstance(value, ExpertKind) else value


def update_expert(expert: Expert, actor: User, values: dict) -> list[str]:
    """Replace the expert's profile (never its active flag) and return the fields that changed,
    recorded with their former and new values; raises ``ExpertRefused`` (nothing written)
    when ``profile_errors`` refuses it. Managers, and the expert on its own profile."""
    _require(actor, Action.EXPERT_EDIT, expert)
    profile = _checked_profile(values)
    changes = {}
    for key, value in profile.items():
        former = getattr(expert, key)
        if former != value:
            changes[key] = {"from": _auditable(former), "to": _auditable(value)}
            setattr(expert, key, value)
    if changes:
        db.session.flush()
        _record(actor, "expert.updated", expert, changes=changes)
    return list(changes)


def set_expert_active(expert: Expert, actor: User, active: bool) -> bool:
    """Take the expert out of the pool (no new proposal, no acceptance of a pending one) or put
    it back; returns whether anything changed. Managers only."""
    _require(actor, Action.EXPERT_VIEW_POOL, None)
    _require(actor, Action.EXPERT_EDIT, expert)
    if expert.is_active is active:
        return False
    expert.is_active = active
    db.session.flush()
    _record(actor, "expert.reactivated" if active else "expert.deactivated", expert)
    return True


# --- unavailabilities -----------------------------------------------------------------------


def unavailability_errors(starts_on: date | None, ends_on: date | None,
                          reason: str = "") -> dict[str, str]:
    errors = {}
    if starts_on is None:
        errors["starts_on"] = _("Indiquez le premier jour d'indisponibilité.")
    if ends_on is None:
        errors["ends_on"] = _("Indiquez le dernier jour d'indisponibilité.")
    elif starts_on is not None and ends_on < starts_on:
        errors["ends_on"] = _("La fin de la période précède son début.")
    if len(_text(reason)) > MAX_REASON:
        errors["reason"] = _("Le motif fait au plus %(max)s caractères.", max=MAX_REASON)
    return errors


def add_unavailability(expert: Expert, actor: User, starts_on: date | None,
                       ends_on: date | None, reason: str = "") -> Unavailability:
    """A period (both days included) when the expert cannot be proposed a mission."""
    _require(actor, Action.EXPERT_EDIT, expert)
    errors = unavailability_errors(starts_on, ends_on, reason)
    if errors:
        raise ExpertRefused(errors)
    period = Unavailability(starts_on=starts_on, ends_on=ends_on, reason=_text(reason))
    expert.unavailabilities.append(period)
    db.session.flush()
    _record(actor, "expert.unavailability_added", expert, starts_on=starts_on.isoformat(),
            ends_on=ends_on.isoformat(), reason=period.reason)
    return period


def remove_unavailability(expert: Expert, actor: User, unavailability_id: int) -> None:
    _require(actor, Action.EXPERT_EDIT, expert)
    period = db.session.get(Unavailability, unavailability_id)
    if period is None or period.expert_id != expert.id:
        raise NotVisible(_("Période introuvable."))
    expert.unavailabilities.remove(period)
    db.session.flush()
    _record(actor, "expert.unavailability_removed", expert,
            starts_on=period.starts_on.isoformat(), ends_on=period.ends_on.isoformat())


# --- declared links with organisations ------------------------------------------------------


def find_organisation(query: str) -> Organisation:
    """The one organisation meant by ``query``: a SIREN (or a SIRET: its first 9 digits), else a
    name (the same name first, ignoring case, then a part of it). Raises ``ExpertRefused`` on
    ``organisation`` when none or several match, naming the candidates."""
    text = _text(query)
    if not text:
        raise ExpertRefused({"organisation": _("Indiquez le SIREN ou le nom de l'organisation.")})
    digits = "".join(text.split()).replace(".", "")
    if digits.isdigit():
        if len(digits) == 14:
            digits = digits[:9]
        if len(digits) != 9 or not siren_number.is_valid(digits):
            raise ExpertRefused({"organisation": _(
                "« %(query)s » n'est pas un numéro SIREN valide (9 chiffres).", query=text)})
        organisation = db.session.scalar(sa.select(Organisation).where(Organisation.siren == digits))
        if organisation is None:
            raise ExpertRefused({"organisation": _(
                "Aucune organisation inscrite n'a le SIREN %(siren)s.", siren=digits)})
        return organisation
    same_name = sa.func.lower(Organisation.name) == text.lower()
    matches = db.session.scalars(
        sa.select(Organisation).where(same_name).order_by(Organisation.name, Organisation.id)
        .limit(MAX_CANDIDATES_NAMED + 1)
    ).all()
    if not matches:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        matches = db.session.scalars(
            sa.select(Organisation).where(Organisation.name.ilike(pattern, escape="\\"))
            .order_by(Organisation.name, Organisation.id).limit(MAX_CANDIDATES_NAMED + 1)
        ).all()
    if not matches:
        raise ExpertRefused({"organisation": _(
            "Aucune organisation ne correspond à « %(query)s ». Vérifiez l'orthographe ou "
            "indiquez son numéro SIREN.", query=text)})
    if len(matches) > 1:
        named = ", ".join(f"{o.name} ({o.siren})" for o in matches[:MAX_CANDIDATES_NAMED])
        if len(matches) > MAX_CANDIDATES_NAMED:
            named += ", …"
        raise ExpertRefused({"organisation": _(
            "Plusieurs organisations correspondent à « %(query)s » : %(names)s. Indiquez le "
            "numéro SIREN de celle qui vous concerne.", query=text, names=named)})
    return matches[0]


def declare_link(expert: Expert, actor: User, organisation_query: str,
                 description: str = "") -> ExpertConflict:
    """Declare a link between the expert and an organisation (found by ``find_organisation``):
    the expert will not be proposed for its dossiers."""
    _require(actor, Action.EXPERT_EDIT, expert)
    description = _text(description)
    errors = {}
    if len(description) > MAX_DESCRIPTION:
        errors["description"] = _("La description fait au plus %(max)s caractères.",
                                  max=MAX_DESCRIPTION)
    try:
        organisation = find_organisation(organisation_query)
    except ExpertRefused as error:
        raise ExpertRefused({**error.errors, **errors}) from None
    if db.session.get(ExpertConflict, (expert.id, organisation.id)) is not None:
        errors["organisation"] = _("Un lien avec « %(name)s » est déjà déclaré.",
                                   name=organisation.name)
    if errors:
        raise ExpertRefused(errors)
    link = ExpertConflict(organisation=organisation, description=description,
                          declared_at=utcnow())
    expert.conflicts.append(link)
    db.session.flush()
    _record(actor, "expert.conflict_declared", expert, organisation_id=organisation.id,
            siren=organisation.siren, description=description)
    return link


def remove_link(expert: Expert, actor: User, organisation_id: int) -> None:
    _require(actor, Action.EXPERT_EDIT, expert)
    link = db.session.get(ExpertConflict, (expert.id, organisation_id))
    if link is None:
        raise NotVisible(_("Lien introuvable."))
    expert.conflicts.remove(link)
    db.session.flush()
    _record(actor, "expert.conflict_removed", expert, organisation_id=organisation_id)


def conflicts_of(expert: Expert) -> list[ExpertConflict]:
    """The expert's declared links with their organisations (two queries), by name."""
    links = db.session.scalars(
        sa.select(ExpertConflict)
        .options(selectinload(ExpertConflict.organisation))
        .where(ExpertConflict.expert_id == expert.id)
    ).all()
    return sorted(links, key=lambda link: (link.organisation.name.casefold(), link.organisation_id))


# --- the pool -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolFilters:
    """What the pool's list is narrowed to (None or empty: no filter)."""

    text: str = ""  # a part of the name, of the contact's name or of a keyword
    skill: str | None = None  # a Theme value
    region: str | None = None  # a WorldRegion value
    country: str | None = None  # ISO 3166-1 alpha-2
    language: str | None = None  # ISO 639-1
    active: bool | None = None


def json_contains(column, value: str):
    """A SQL condition: the JSON list ``column`` holds ``value`` (SQLite and PostgreSQL)."""
    elements = json_elements(column)
    return sa.exists(sa.select(1).select_from(elements).where(elements.c.value == value))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def pool_query(filters: PoolFilters) -> sa.Select:
    """The pool's experts matching ``filters``, by name, with their unavailabilities loaded
    (one more query for the whole page)."""
    query = sa.select(Expert).options(selectinload(Expert.unavailabilities))
    if filters.text:
        pattern = f"%{_escape_like(filters.text.strip())}%"
        keywords = json_elements(Expert.keywords)
        query = query.where(sa.or_(
            Expert.name.ilike(pattern, escape="\\"),
            Expert.contact_name.ilike(pattern, escape="\\"),
            sa.exists(sa.select(1).select_from(keywords)
                      .where(keywords.c.value.ilike(pattern, escape="\\"))),
        ))
    for column, value in ((Expert.skills, filters.skill), (Expert.regions, filters.region),
                          (Expert.countries, filters.country),
                          (Expert.languages, filters.language)):
        if value:
            query = query.where(json_contains(column, value))
    if filters.active is not None:
        query = query.where(Expert.is_active.is_(filters.active))
    return query.order_by(sa.func.lower(Expert.name), Expert.id)


def current_unavailability(expert: Expert, today: date) -> Unavailability | None:
    """The period the expert is unavailable on ``today``, if any (from the loaded periods)."""
    return next((period for period in expert.unavailabilities
                 if period.starts_on <= today <= period.ends_on), None)
