"""A call's cofinancing settings: the versions of its rules and the amounts of its envelopes.

A version is never changed once created: a new one is added with the date from which it applies,
and dossiers keep the version of their first computation (``dcol.finance.cofinancing``). Both
operations check everything they are sent before writing anything, say what is wrong field by
field in French, leave an audit entry and only flush (the caller commits).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from dcol import audit
from dcol.applications.services import parse_amount
from dcol.extensions import db
from dcol.finance.cofinancing import terms_of
from dcol.finance.computation import FunderPart
from dcol.finance.envelopes import EnvelopeLine, call_envelopes
from dcol.i18n import PARIS, format_day, format_money, format_number
from dcol.models import (
    Call,
    CofinancingRule,
    CostBase,
    Envelope,
    Funder,
    OrganisationKind,
    User,
    VatMode,
    utcnow,
)
from dcol.permissions import Action, can
from workflows.engine import Forbidden, InvalidInput
from workflows.inputs import parse_day

HUNDRED = Decimal("100")
# Each percentage of a split may be rounded to the cent of a percent: 33,33 three times is a
# split in thirds (percentages are proportions of what the fixed amounts leave).
SPLIT_TOLERANCE_PER_LINE = Decimal("0.01")
CALL_ENVELOPE = "call"  # the form's key of the call's envelope as a whole (no funder)


class RulesRefused(InvalidInput):
    """An invalid version of the rules: ``errors`` maps each field to its French message
    (``rates.<kind>``, ``funder_split.<line>``, ``funder_split`` for the split as a whole...)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(_("La nouvelle version des règles n'a pas été enregistrée : corrigez les "
                           "champs signalés."), list(errors.values()))
        self.errors = errors


class EnvelopesRefused(InvalidInput):
    """Invalid envelope amounts: ``errors`` maps each envelope's field to its French message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(_("Les enveloppes n'ont pas été modifiées : corrigez les montants "
                           "signalés."), list(errors.values()))
        self.errors = errors


def may_see_cofinancing(user: User | None, call: Call) -> bool:
    """Who sees a call's envelopes and rule versions: those who run it or configure it."""
    return can(user, Action.CALL_MANAGE, call) or can(user, Action.CALL_EDIT, call)


# --- versions of the rules --------------------------------------------------------------------


def rule_versions(call: Call) -> list[CofinancingRule]:
    """The call's versions, latest first, with who created them (one query)."""
    return list(db.session.scalars(
        sa.select(CofinancingRule)
        .options(selectinload(CofinancingRule.created_by))
        .where(CofinancingRule.call_id == call.id)
        .order_by(CofinancingRule.version.desc())
    ))


def funders_by_code() -> dict[str, Funder]:
    return {funder.code: funder for funder in db.session.scalars(
        sa.select(Funder).order_by(Funder.name))}


def _latest_rule(call: Call) -> CofinancingRule | None:
    return db.session.scalar(
        sa.select(CofinancingRule).where(CofinancingRule.call_id == call.id)
        .order_by(CofinancingRule.version.desc()).limit(1))


def _percent_text(value: Decimal | str | None) -> str:
    return format_number(Decimal(value)) if value is not None else ""


def _money_text(value: Decimal | str | None) -> str:
    return format_decimal(Decimal(value), format="#,##0.00") if value is not None else ""


def rule_form_values(call: Call, today: date | None = None) -> dict:
    """What the form of a new version starts from: the latest version, as people type it, from
    today (or the latest version's date, when later)."""
    today = today or utcnow().astimezone(PARIS).date()
    latest = _latest_rule(call)
    if latest is None:
        return {"effective_from": today.isoformat(), "rates": {}, "funder_split": [],
                "cost_base": "", "vat_mode": VatMode.EXCLUDING_VAT.value, "vat_rate": "20",
                "ceiling": "", "min_applicant_share": "", "advance_percent": "30"}
    return {
        "effective_from": max(today, latest.effective_from).isoformat(),
        "rates": {kind: _percent_text(rate) for kind, rate in (latest.rates or {}).items()},
        "cost_base": latest.cost_base.value,
        "vat_mode": latest.vat_mode.value,
        "vat_rate": _percent_text(latest.vat_rate),
        "ceiling": _money_text(latest.ceiling),
        "min_applicant_share": _money_text(latest.min_applicant_share),
        "advance_percent": _percent_text(latest.advance_percent),
        "funder_split": [{"funder": part.get("funder", ""),
                          "percent": _percent_text(part.get("percent")),
                          "amount": _money_text(part.get("amount"))}
                         for part in latest.funder_split or []],
    }


def _is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _percent(value, field: str, errors: dict, *, required: bool,
             message: str | None = None) -> Decimal | None:
    """A percentage between 0 and 100 as people type it ("80", "33,33", "5,5 %"), read as an
    amount is (two decimals at most)."""
    if _is_blank(value):
        if required:
            errors[field] = message or _("Indiquez un pourcentage entre 0 et 100.")
        return None
    invalid = _("Indiquez un pourcentage entre 0 et 100, par exemple 80 ou 33,33.")
    text = value.strip().removesuffix("%") if isinstance(value, str) else value
    try:
        percent = parse_amount(text)
    except ValueError:
        errors[field] = invalid
        return None
    if percent is None or percent > HUNDRED:
        errors[field] = invalid
        return None
    return percent


def _money(value, field: str, errors: dict) -> Decimal | None:
    """An optional amount ≥ 0, as ``parse_amount`` reads it."""
    try:
        return parse_amount(value)
    except ValueError as error:
        errors[field] = str(error)
        return None


def _choice(value, enum_type, field: str, errors: dict, message: str):
    try:
        return enum_type(value)
    except (ValueError, TypeError):
        errors[field] = message
        return None


def _effective_from(value, latest: CofinancingRule | None, errors: dict) -> date | None:
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        day = parse_day(value.strip()) if isinstance(value, str) else None
    if day is None:
        errors["effective_from"] = _("Indiquez la date d'effet (AAAA-MM-JJ).")
    elif latest is not None and day < latest.effective_from:
        errors["effective_from"] = _(
            "La date d'effet ne peut pas précéder celle de la version %(version)s (%(day)s).",
            version=latest.version, day=format_day(latest.effective_from))
        return None
    return day


def _rates(value, errors: dict) -> dict[str, str]:
    if not isinstance(value, dict):
        errors["rates"] = _("Indiquez les taux par type d'organisation.")
        return {}
    kinds = {kind.value for kind in OrganisationKind}
    rates = {}
    for kind, raw in value.items():
        if kind not in kinds:
            errors[f"rates.{kind}"] = _("Type d'organisation inconnu : %(kind)s.", kind=kind)
            continue
        rate = _percent(raw, f"rates.{kind}", errors, required=False)
        if rate is not None:
            rates[kind] = str(rate)
    if not rates and not any(key.startswith("rates") for key in errors):
        errors["rates"] = _("Indiquez le taux d'au moins un type d'organisation : sans taux, "
                            "aucun dossier n'est cofinancé.")
    return rates


def _funder_split(value, errors: dict) -> list[dict]:
    """The split between funders: known funders, each once, a percentage or an amount, the
    percentages adding up to 100 (to a hundredth of a percent per line)."""
    if value is None:
        value = []
    if not isinstance(value, list):
        errors["funder_split"] = _("La répartition entre financeurs est illisible.")
        return []
    known = funders_by_code()
    parts: list[FunderPart] = []
    seen: set[str] = set()
    for index, line in enumerate(value):
        field = f"funder_split.{index}"
        if not isinstance(line, dict):
            errors[field] = _("Ligne de répartition illisible.")
            continue
        code = line.get("funder")
        code = code.strip() if isinstance(code, str) else code
        raw_percent, raw_amount = line.get("percent"), line.get("amount")
        if _is_blank(code) and _is_blank(raw_percent) and _is_blank(raw_amount):
            continue  # an empty line of the form
        if _is_blank(code):
            errors[field] = _("Choisissez le financeur de cette ligne.")
            continue
        if not isinstance(code, str) or code not in known:
            errors[field] = _("Financeur inconnu : %(code)s.", code=str(code))
            continue
        if code in seen:
            errors[field] = _("%(funder)s figure deux fois dans la répartition.",
                              funder=known[code].name)
            continue
        seen.add(code)
        if _is_blank(raw_percent) == _is_blank(raw_amount):
            errors[field] = _("Indiquez pour %(funder)s un pourcentage ou un montant fixe, pas "
                              "les deux.", funder=known[code].name)
            continue
        if not _is_blank(raw_percent):
            percent = _percent(raw_percent, field, errors, required=True)
            if percent is not None and percent <= 0:
                errors[field] = _("Le pourcentage de %(funder)s doit être supérieur à 0.",
                                  funder=known[code].name)
            elif percent is not None:
                parts.append(FunderPart(code, percent=percent))
        else:
            amount = _money(raw_amount, field, errors)
            if amount is not None and amount <= 0:
                errors[field] = _("Le montant fixe de %(funder)s doit être supérieur à 0.",
                                  funder=known[code].name)
            elif amount is not None:
                parts.append(FunderPart(code, amount=amount))
    percents = [part.percent for part in parts if part.percent is not None]
    if percents and not any(key.startswith("funder_split") for key in errors):
        total = sum(percents, Decimal("0"))
        if abs(total - HUNDRED) > SPLIT_TOLERANCE_PER_LINE * len(percents):
            errors["funder_split"] = _(
                "Les pourcentages des financeurs totalisent %(total)s %% : ils doivent totaliser "
                "100 %% (ce sont des proportions de ce que laissent les montants fixes).",
                total=format_number(total))
    return [part.as_json() for part in parts]


def add_rule_version(call: Call, actor: User, data: dict, now: datetime | None = None
                     ) -> CofinancingRule:
    """Add the next version of the call's cofinancing rules (an admin), applying to dossiers
    first computed from ``effective_from`` on; earlier versions and the dossiers that keep them
    are left as they are. ``data`` holds the fields as typed (or as values): ``effective_from``,
    ``rates`` {kind: percent, blank: not eligible}, ``cost_base``, ``vat_mode``, ``vat_rate``,
    ``ceiling``, ``min_applicant_share``, ``advance_percent`` and ``funder_split`` (lines of
    ``funder``, ``percent`` or ``amount``; blank lines are ignored). Everything is checked before
    anything is written: ``RulesRefused`` says what is wrong, field by field. Flushes only."""
    if not can(actor, Action.CALL_EDIT, call):
        raise Forbidden(_("Vous ne pouvez pas modifier les règles de cofinancement de cet appel."))
    now = now or utcnow()
    # Two admins adding a version at once: the second waits, then numbers after the first.
    db.session.execute(sa.select(Call.id).where(Call.id == call.id).with_for_update())
    latest = _latest_rule(call)
    errors: dict[str, str] = {}
    effective_from = _effective_from(data.get("effective_from"), latest, errors)
    rates = _rates(data.get("rates"), errors)
    cost_base = _choice(data.get("cost_base"), CostBase, "cost_base", errors,
                        _("Choisissez l'assiette des coûts."))
    vat_mode = _choice(data.get("vat_mode"), VatMode, "vat_mode", errors,
                       _("Choisissez si les coûts sont pris hors taxes ou toutes taxes comprises."))
    vat_rate = _percent(data.get("vat_rate"), "vat_rate", errors, required=True,
                        message=_("Indiquez le taux de TVA (entre 0 et 100)."))
    ceiling = _money(data.get("ceiling"), "ceiling", errors)
    min_share = _money(data.get("min_applicant_share"), "min_applicant_share", errors)
    advance = _percent(data.get("advance_percent"), "advance_percent", errors, required=True,
                       message=_("Indiquez le pourcentage de l'avance (entre 0 et 100)."))
    split = _funder_split(data.get("funder_split"), errors)
    if errors:
        raise RulesRefused(errors)
    rule = CofinancingRule(
        version=(latest.version if latest else 0) + 1, effective_from=effective_from,
        rates=rates, cost_base=cost_base, vat_mode=vat_mode, vat_rate=vat_rate, ceiling=ceiling,
        min_applicant_share=min_share, funder_split=split, advance_percent=advance,
        created_at=now, created_by_id=actor.id,
    )
    call.cofinancing_rules.append(rule)
    db.session.flush()
    audit.record(application_id=None, actor=actor, event="call.cofinancing_rules",
                 occurred_at=now, payload={
                     "call_id": call.id, "version": rule.version,
                     "effective_from": effective_from.isoformat(), "cost_base": cost_base.value,
                     "terms": terms_of(rule).as_json()})
    return rule


# --- envelopes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnvelopeRow:
    """An envelope of the form: an existing one, or one that may be created (the call's as a
    whole, a funder of the latest split)."""

    key: int | None  # the funder's id; None: the call's envelope as a whole
    label: str
    amount: Decimal | None  # None: not created yet
    line: EnvelopeLine | None

    @property
    def field(self) -> str:
        return envelope_field(self.key)


def envelope_field(key: int | None) -> str:
    return f"envelope-{CALL_ENVELOPE if key is None else key}"


def envelope_label(funder: Funder | None) -> str:
    return funder.name if funder is not None else _("Enveloppe de l'appel")


def envelope_rows(call: Call, lines: list[EnvelopeLine] | None = None) -> list[EnvelopeRow]:
    """The call's envelopes as the form lists them: the call's as a whole first (even when not
    created yet), each funder's, then the funders of the latest split that have none."""
    lines = call_envelopes(call) if lines is None else lines
    rows = [EnvelopeRow(line.funder.id if line.funder else None, envelope_label(line.funder),
                        line.amount, line) for line in lines]
    if not any(row.key is None for row in rows):
        rows.insert(0, EnvelopeRow(None, envelope_label(None), None, None))
    latest = _latest_rule(call)
    codes = [part.get("funder") for part in (latest.funder_split or [])] if latest else []
    if codes:
        present = {row.key for row in rows}
        for funder in db.session.scalars(sa.select(Funder).where(Funder.code.in_(codes))
                                         .order_by(Funder.name)):
            if funder.id not in present:
                rows.append(EnvelopeRow(funder.id, envelope_label(funder), None, None))
    return rows


def envelope_form_values(rows: list[EnvelopeRow]) -> dict[str, str]:
    """The envelopes' amounts as the form shows them ("100 000,00")."""
    return {row.field: _money_text(row.amount) for row in rows}


def whole_envelope(call: Call) -> EnvelopeLine | None:
    """The call's envelope as a whole, with what is reserved, committed and paid on it."""
    return next((line for line in call_envelopes(call) if line.funder is None), None)


def set_envelopes(call: Call, actor: User, amounts: dict[int | None, Decimal | str | None],
                  now: datetime | None = None) -> list[Envelope]:
    """Set the amounts of the call's envelopes (an admin): ``amounts`` maps a funder's id (None:
    the call as a whole) to its amount, as typed or as a ``Decimal``. A missing envelope is
    created when given an amount; an existing one cannot be emptied nor go below what its
    dossiers already reserve and commit on it. All or nothing: ``EnvelopesRefused`` says which
    envelope is wrong. Returns the envelopes changed. Flushes only."""
    if not can(actor, Action.CALL_EDIT, call):
        raise Forbidden(_("Vous ne pouvez pas modifier les enveloppes de cet appel."))
    now = now or utcnow()
    # The ``select`` guard locks the call's row too: an envelope is never lowered under a
    # selection being made.
    db.session.execute(sa.select(Call.id).where(Call.id == call.id).with_for_update())
    db.session.refresh(call, ["envelopes"])
    existing = {envelope.funder_id: envelope for envelope in call.envelopes}
    held = {(line.funder.id if line.funder else None): line.reserved + line.committed
            for line in call_envelopes(call)}
    funder_ids = [key for key in amounts if key is not None]
    funders = {funder.id: funder for funder in db.session.scalars(
        sa.select(Funder).where(Funder.id.in_(funder_ids)))} if funder_ids else {}
    errors: dict[str, str] = {}
    wanted: dict[int | None, Decimal] = {}
    for key, raw in amounts.items():
        field = envelope_field(key)
        if key is not None and key not in funders:
            errors[field] = _("Financeur inconnu.")
            continue
        label = envelope_label(funders.get(key) if key is not None else None)
        amount = _money(raw, field, errors)
        if field in errors:
            continue
        if amount is None:
            if key in existing:
                errors[field] = _("Indiquez le montant de l'enveloppe « %(envelope)s ».",
                                  envelope=label)
            continue
        floor = held.get(key, Decimal("0"))
        if amount < floor:
            errors[field] = _(
                "L'enveloppe « %(envelope)s » ne peut pas descendre sous ce que ses dossiers y "
                "réservent et engagent déjà : %(amount)s.", envelope=label,
                amount=format_money(floor))
            continue
        wanted[key] = amount
    if errors:
        raise EnvelopesRefused(errors)
    changed, changes = [], []
    for key, amount in wanted.items():
        envelope = existing.get(key)
        before = envelope.amount if envelope is not None else None
        if before == amount:
            continue
        if envelope is None:
            envelope = Envelope(funder_id=key, amount=amount)
            call.envelopes.append(envelope)
        else:
            envelope.amount = amount
        changed.append(envelope)
        changes.append({"funder": funders[key].code if key is not None else None,
                        "before": None if before is None else str(before),
                        "after": str(amount)})
    if changed:
        db.session.flush()
        audit.record(application_id=None, actor=actor, event="call.envelopes", occurred_at=now,
                     payload={"call_id": call.id, "envelopes": changes})
    return changed
