"""Dossier operations shared by the web UI, the JSON API and the CLI."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import pycountry
import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError

from dcol import audit
from dcol.extensions import db
from dcol.models import (
    Application,
    ApplicationState,
    BudgetLine,
    BudgetLineKind,
    Call,
    Theme,
    Track,
    User,
    utcnow,
)
from dcol.permissions import Action, can, visible_applications
from workflows.engine import Forbidden, InvalidInput, NotApplicable, NotVisible, StaleVersion

EDITABLE_FIELDS = (
    "title", "summary", "track_id", "data", "countries", "departments", "themes",
    "estimated_cost", "requested_amount",
)
MAX_TEXT = 20000


class ValidationFailed(InvalidInput):
    """Invalid input: ``errors`` maps each field to its French message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(_("Certaines informations sont invalides."), list(errors.values()))
        self.errors = errors


def allocate_reference(call: Call) -> tuple[int, str]:
    """The next dossier number of the call, taken atomically (safe with several app servers)."""
    number = db.session.execute(
        sa.update(Call)
        .where(Call.id == call.id)
        .values(last_number=Call.last_number + 1)
        .returning(Call.last_number)
    ).scalar_one()
    return number, f"{call.code}-{number:04d}"


def create_application(call: Call, user: User, *, title: str = "", track: Track | None = None
                       ) -> Application:
    """A new draft for the user's organisation, recorded in the audit trail (flushes only)."""
    if not can(user, Action.CALL_VIEW, call):
        raise NotVisible(_("Appel introuvable."))
    if not can(user, Action.APP_CREATE, call):
        raise Forbidden(_("Seuls les membres validés d'une collectivité peuvent créer un dossier."))
    if now_after(call.closes_at):
        raise NotApplicable(_("Cet appel est clos : il n'est plus possible d'y créer un dossier."))
    if track is not None and track.call_id != call.id:
        raise ValidationFailed({"track_id": _("Ce volet n'appartient pas à cet appel.")})
    number, reference = allocate_reference(call)
    application = Application(
        call=call,
        track=track,
        organisation_id=user.organisation_id,
        number=number,
        reference=reference,
        title=(title or "").strip()[:300],
        created_by_id=user.id,
        data={},
    )
    db.session.add(application)
    db.session.flush()
    audit.record(
        application_id=application.id, actor=user, event="create", occurred_at=utcnow(),
        to_state=ApplicationState.DRAFT.value,
    )
    return application


def now_after(moment) -> bool:
    return utcnow() >= moment


def _text(value, field: str, errors: dict, limit: int = MAX_TEXT) -> str | None:
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[field] = _("Texte attendu.")
        return None
    if len(value) > limit:
        errors[field] = _("Texte trop long (%(limit)s caractères au plus).", limit=limit)
        return None
    return value.strip()


MAX_AMOUNT = Decimal("9999999999.99")
# What people type or paste between thousands: spaces, no-break spaces (French formatting puts
# a narrow one), thin spaces.
_THOUSANDS_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]")
_NUMBER = re.compile(r"-?(?:\d+(?:\.(\d*))?|\.(\d+))")


def parse_amount(value) -> Decimal | None:
    """An amount in euros as people type it: ``12 500,50`` (French, with ordinary or no-break
    spaces), ``12500.50``, ``12,500.50`` (when both separators appear, the last one marks the
    cents), or a number. Returns it to the cent, None when empty; raises ``ValueError`` with one
    French message when it is not an amount."""
    if value is None or isinstance(value, str) and not value.strip():
        return None
    if isinstance(value, bool):
        raise ValueError(_("Montant invalide : indiquez un nombre en euros, par exemple 12 500,00."))
    text = _THOUSANDS_SPACES.sub("", str(value))
    if "," in text and "." in text:
        grouping = "," if text.rfind(",") < text.rfind(".") else "."
        text = text.replace(grouping, "")
    text = text.replace(",", ".")
    match = _NUMBER.fullmatch(text)
    if match is None:
        raise ValueError(_("Montant invalide : indiquez un nombre en euros, par exemple 12 500,00."))
    # Counted on the text: "8,000" is refused rather than silently read as 8 euros.
    if len(match.group(1) or match.group(2) or "") > 2:
        raise ValueError(_("Montant invalide : deux décimales au plus (les centimes)."))
    try:
        amount = Decimal(text)
    except InvalidOperation as error:  # pragma: no cover - the pattern lets only numbers through
        raise ValueError(_("Montant invalide.")) from error
    if amount < 0:
        raise ValueError(_("Montant invalide : il doit être positif."))
    if amount > MAX_AMOUNT:
        raise ValueError(_("Montant invalide : il est trop élevé."))
    return amount.quantize(Decimal("0.01"))


def _amount(value, field: str, errors: dict) -> Decimal | None:
    """``parse_amount``, its message put into ``errors[field]``."""
    try:
        return parse_amount(value)
    except ValueError as error:
        errors[field] = str(error)
        return None


def _codes(value, field: str, errors: dict, valid) -> list[str] | None:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        errors[field] = _("Liste de codes attendue.")
        return None
    wrong = [code for code in value if not valid(code)]
    if wrong:
        errors[field] = _("Codes inconnus : %(codes)s.", codes=", ".join(wrong[:5]))
        return None
    return list(dict.fromkeys(value))


def _is_country(code: str) -> bool:
    return len(code) == 2 and pycountry.countries.get(alpha_2=code.upper()) is not None


def _is_department(code: str) -> bool:
    return code.isalnum() and 2 <= len(code) <= 3


def _is_theme(code: str) -> bool:
    return code in {theme.value for theme in Theme}


def _data(value, errors: dict) -> dict | None:
    """Form sections: ``{section: {field: text}}`` with short keys and text values."""
    if not isinstance(value, dict):
        errors["data"] = _("Objet attendu : des sections contenant des champs.")
        return None
    for section, fields in value.items():
        if not isinstance(section, str) or len(section) > 50 or not isinstance(fields, dict):
            errors["data"] = _("Section invalide : %(section)s.", section=str(section)[:50])
            return None
        for key, text in fields.items():
            if not isinstance(key, str) or len(key) > 50:
                errors["data"] = _("Champ invalide dans la section %(section)s.", section=section)
                return None
            if text is not None and not isinstance(text, str | int | float | bool):
                errors[f"data.{section}.{key}"] = _("Valeur invalide.")
                return None
            if isinstance(text, str) and len(text) > MAX_TEXT:
                errors[f"data.{section}.{key}"] = _("Texte trop long.")
                return None
    return value


def _check_version(application: Application, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != application.version:
        raise StaleVersion(
            _("Le dossier a été modifié depuis que vous l'avez ouvert. Rechargez-le : vos "
              "modifications n'ont pas été enregistrées.")
        )


def _flush_dossier() -> None:
    """Flush the dossier's changes. Its version is checked by the UPDATE itself: when someone
    saved it since it was read (two saves racing), nothing is written and ``StaleVersion`` says
    so, as the version check does before writing."""
    # Worded before flushing: after a failed flush the session is unusable until rolled back,
    # and choosing the language may need to read the user from the database.
    message = _("Le dossier a été modifié entre-temps par un autre enregistrement. Rechargez-le : "
                "vos modifications n'ont pas été enregistrées.")
    try:
        db.session.flush()
    except StaleDataError as error:
        raise StaleVersion(message) from error


def update_application(application: Application, user: User, changes: dict,
                       expected_version: int | None = None) -> Application:
    """Change the dossier's content while it is editable; all or nothing (flushes only)."""
    if not can(user, Action.APP_VIEW, application):
        raise NotVisible(_("Dossier introuvable."))
    if not application.is_editable:
        raise NotApplicable(
            _("Le dossier n'est plus modifiable (état « %(state)s »).", state=application.state.label)
        )
    if not can(user, Action.APP_EDIT, application):
        raise Forbidden(_("Vous n'êtes pas autorisé à modifier ce dossier."))
    _check_version(application, expected_version)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    errors: dict[str, str] = {
        field: _("Ce champ n'existe pas ou n'est pas modifiable.") for field in sorted(unknown)
    }
    clean: dict = {}
    for field in ("title", "summary"):
        if field in changes:
            clean[field] = _text(changes[field], field, errors, 300 if field == "title" else MAX_TEXT)
    if "track_id" in changes:
        track = db.session.get(Track, changes["track_id"]) if isinstance(changes["track_id"], int) else None
        if track is None or track.call_id != application.call_id:
            errors["track_id"] = _("Choisissez un volet de cet appel.")
        clean["track_id"] = track.id if track else None
    if "countries" in changes:
        codes = _codes(changes["countries"], "countries", errors, _is_country)
        clean["countries"] = [c.upper() for c in codes] if codes is not None else None
    if "departments" in changes:
        clean["departments"] = _codes(changes["departments"], "departments", errors, _is_department)
    if "themes" in changes:
        clean["themes"] = _codes(changes["themes"], "themes", errors, _is_theme)
    for field in ("estimated_cost", "requested_amount"):
        if field in changes:
            clean[field] = _amount(changes[field], field, errors)
    if "data" in changes:
        data = _data(changes["data"], errors)
        if data is not None:
            merged = {section: dict(fields) for section, fields in (application.data or {}).items()}
            for section, fields in data.items():
                merged.setdefault(section, {}).update(fields)
            clean["data"] = merged
    if errors:
        raise ValidationFailed(errors)
    for field, value in clean.items():
        setattr(application, field, value)
    application.updated_at = utcnow()
    _flush_dossier()
    return application


def replace_budget(application: Application, user: User, lines: list[dict],
                   expected_version: int | None = None) -> None:
    """Replace the call-for-projects budget with ``lines`` (kind, label, amount, is_eligible);
    all or nothing (flushes only)."""
    if not can(user, Action.APP_EDIT, application):
        raise Forbidden(_("Vous n'êtes pas autorisé à modifier ce dossier."))
    _check_version(application, expected_version)
    errors: dict[str, str] = {}
    clean = []
    for index, line in enumerate(lines):
        try:
            kind = BudgetLineKind(line.get("kind"))
        except ValueError:
            errors[f"lines-{index}-kind"] = _("Type de ligne inconnu.")
            continue
        label = (line.get("label") or "").strip()
        if not label:
            errors[f"lines-{index}-label"] = _("Indiquez l'intitulé de cette ligne.")
        if len(label) > 200:
            errors[f"lines-{index}-label"] = _("Intitulé trop long (200 caractères au plus).")
        amount = _amount(line.get("amount"), f"lines-{index}-amount", errors)
        if amount is None and f"lines-{index}-amount" not in errors:
            errors[f"lines-{index}-amount"] = _("Indiquez le montant de cette ligne.")
        clean.append(BudgetLine(kind=kind, label=label, amount=amount,
                                is_eligible=bool(line.get("is_eligible", True)),
                                position=index + 1))
    if errors:
        raise ValidationFailed(errors)
    application.budget_lines[:] = clean
    application.updated_at = utcnow()
    _flush_dossier()


# The orders of the dossier lists (page, API, export), by the API's name of their column, "-"
# before it for descending. Columns of ``applications`` only, so that an index serves each order
# (migrations 0006 and 0007). The id breaks ties in the same direction, so that pages neither
# overlap nor skip a dossier. Dossiers never deposited come last both ways; a dossier without an
# amount counts as the smallest (first ascending, last descending: one index serves both ways).
SORT_COLUMNS = {
    "updated_at": Application.updated_at,
    "reference": Application.reference,
    "submitted_at": Application.submitted_at,
    "requested_amount": Application.requested_amount,
}
SORTS = tuple(f"{direction}{key}" for key in SORT_COLUMNS for direction in ("", "-"))
DEFAULT_SORT = "-updated_at"
# The same orders as the web list's French parameter names them (``?tri=-depot``).
SORT_PARAMETERS = {
    "maj": "updated_at", "reference": "reference", "depot": "submitted_at",
    "montant": "requested_amount",
}


def sort_from_parameter(value: str | None) -> str:
    """The order a web list's ``tri`` parameter asks for (``-depot``: ``-submitted_at``); the
    default order for anything else."""
    value = value or ""
    key = SORT_PARAMETERS.get(value.removeprefix("-"))
    if key is None:
        return DEFAULT_SORT
    return f"-{key}" if value.startswith("-") else key


def sort_parameter(sort: str) -> str:
    """The web list's ``tri`` parameter of an order of ``SORTS``: the reverse of
    ``sort_from_parameter``."""
    names = {key: name for name, key in SORT_PARAMETERS.items()}
    return ("-" if sort.startswith("-") else "") + names[sort.removeprefix("-")]


def _order_by(sort: str) -> tuple[sa.ColumnElement, ...]:
    if sort not in SORTS:
        sort = DEFAULT_SORT
    descending = sort.startswith("-")
    column = SORT_COLUMNS[sort.removeprefix("-")]
    key, tie = (column.desc(), Application.id.desc()) if descending else (
        column.asc(), Application.id.asc())
    # Explicit NULLs, the same on both databases (PostgreSQL puts them last ascending, SQLite
    # first), in the order of the indexes.
    if column is Application.submitted_at:
        key = key.nulls_last()
    elif column is Application.requested_amount:
        key = key.nulls_last() if descending else key.nulls_first()
    return key, tie


def visible_applications_query(user: User, *, call_id: int | None = None,
                               state: ApplicationState | None = None,
                               organisation_id: int | None = None,
                               sort: str = DEFAULT_SORT) -> sa.Select:
    """The dossiers the user may see, filtered, in the order ``sort`` (one of ``SORTS``; the
    default, last updated first, for any other value)."""
    query = sa.select(Application).where(visible_applications(user))
    if call_id is not None:
        query = query.where(Application.call_id == call_id)
    if state is not None:
        query = query.where(Application.state == state)
    if organisation_id is not None:
        query = query.where(Application.organisation_id == organisation_id)
    return query.order_by(*_order_by(sort))
