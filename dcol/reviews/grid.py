"""A call's scoring grid and review settings, as an admin edits them.

The grid (criteria with label, guidance, weight, scale, step and threshold), the overall and
divergence thresholds, the number of reviewers per dossier and the ranking's tie-breaks are
edited until the first review of the call is submitted (``Call.grid_frozen_at``, set by
``save_review``): from then on scores already given must keep their meaning, and any change is
refused. The recevabilité checklist is edited until a reviewer first answers it for a dossier of
the call.

The web form and the API send the same plain values (strings or numbers); every rule is checked
here, each error keyed by its field (``criteria-0-weight``...), and nothing is saved unless all
of it is valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import gettext as _

from dcol.extensions import db
from dcol.models import (
    Application,
    Call,
    Criterion,
    EligibilityCheck,
    EligibilityItem,
    ReviewScore,
    User,
)
from dcol.permissions import Action, can
from dcol.reviews.scoring import TIE_BREAKS, validate_tie_breaks
from workflows.engine import Forbidden, InvalidInput, NotApplicable

MAX_CRITERIA = 30
MAX_ITEMS = 40
MAX_LABEL = 200
MAX_ITEM_LABEL = 300
MAX_GUIDANCE = 5_000
MAX_REVIEWERS = 10


class GridRefused(InvalidInput):
    """Invalid grid: ``errors`` maps each field to its French message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(_("La grille n'a pas été enregistrée : corrigez les champs signalés."),
                         list(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class GridSettings:
    overall_threshold: Decimal | None
    divergence_threshold: Decimal
    min_reviewers: int
    tie_breaks: list[str]


def is_frozen(call: Call) -> bool:
    return call.grid_frozen_at is not None


def checklist_in_use(call: Call) -> bool:
    """Whether a reviewer already answered the checklist for a dossier of the call."""
    return db.session.scalar(
        sa.select(EligibilityCheck.application_id)
        .join(Application, EligibilityCheck.application_id == Application.id)
        .where(Application.call_id == call.id).limit(1)
    ) is not None


def _decimal(raw, *, places: int = 2) -> Decimal | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise ValueError
    try:
        value = Decimal(str(raw).strip().replace(",", ".").replace("\u202f", "").replace(" ", ""))
    except InvalidOperation:
        raise ValueError from None
    if not value.is_finite() or abs(value) >= 1_000_000:
        raise ValueError
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise ValueError
    return value


def _text(raw) -> str:
    return raw.strip() if isinstance(raw, str) else ""


def _parse_criterion(index: int, row: dict, errors: dict[str, str]) -> dict:
    key = f"criteria-{index}-"
    label, guidance = _text(row.get("label")), _text(row.get("guidance"))
    if not label:
        errors[key + "label"] = _("Critère n° %(n)s : intitulé obligatoire.", n=index + 1)
    elif len(label) > MAX_LABEL:
        errors[key + "label"] = _("Critère n° %(n)s : intitulé trop long (%(max)s caractères au "
                                  "plus).", n=index + 1, max=MAX_LABEL)
    if len(guidance) > MAX_GUIDANCE:
        errors[key + "guidance"] = _("Critère n° %(n)s : consignes trop longues.", n=index + 1)
    values = {}
    checks = {
        # field: (default, places, test, message)
        "weight": (Decimal("1"), 2, lambda v: Decimal("0") < v <= Decimal("100"),
                   _("Critère n° %(n)s : le poids est un nombre positif (100 au plus).",
                     n=index + 1)),
        "scale_max": (Decimal("5"), 1, lambda v: Decimal("0") < v <= Decimal("100"),
                      _("Critère n° %(n)s : la note maximale est un nombre positif (100 au plus).",
                        n=index + 1)),
        "step": (Decimal("0.5"), 2, lambda v: Decimal("0") < v <= Decimal("10"),
                 _("Critère n° %(n)s : le pas de notation est un nombre positif (0,5 par "
                   "exemple).", n=index + 1)),
    }
    for field, (default, places, test, message) in checks.items():
        try:
            value = _decimal(row.get(field), places=places)
        except ValueError:
            errors[key + field] = message
            continue
        value = default if value is None else value
        if not test(value):
            errors[key + field] = message
        values[field] = value
    try:
        threshold = _decimal(row.get("threshold"), places=1)
    except ValueError:
        threshold = None
        errors[key + "threshold"] = _("Critère n° %(n)s : seuil invalide.", n=index + 1)
    scale, step = values.get("scale_max"), values.get("step")
    if scale is not None and step is not None and (scale / step) % 1 != 0:
        errors[key + "step"] = _("Critère n° %(n)s : la note maximale doit être un multiple du "
                                 "pas de notation.", n=index + 1)
    if threshold is not None and scale is not None and not 0 <= threshold <= scale:
        errors[key + "threshold"] = _("Critère n° %(n)s : le seuil va de 0 à la note maximale.",
                                      n=index + 1)
    raw_id = row.get("id")
    try:
        criterion_id = int(raw_id) if raw_id not in (None, "") else None
    except (TypeError, ValueError):
        criterion_id = None
        errors[key + "id"] = _("Critère n° %(n)s : identifiant invalide.", n=index + 1)
    return {"id": criterion_id, "label": label, "guidance": guidance, "threshold": threshold,
            **values}


def _parse_settings(data: dict, errors: dict[str, str]) -> GridSettings:
    overall = divergence = None
    try:
        overall = _decimal(data.get("overall_threshold"))
        if overall is not None and not 0 <= overall <= 100:
            raise ValueError
    except ValueError:
        errors["overall_threshold"] = _("Le seuil global est une note sur 100 (de 0 à 100).")
    try:
        divergence = _decimal(data.get("divergence_threshold"), places=1)
        if divergence is None or divergence <= 0 or divergence >= 100:
            raise ValueError
    except ValueError:
        errors["divergence_threshold"] = _("L'écart signalé comme divergence est un nombre de "
                                           "points positif (2 par exemple).")
    try:
        reviewers = int(str(data.get("min_reviewers", "")).strip())
        if not 1 <= reviewers <= MAX_REVIEWERS:
            raise ValueError
    except ValueError:
        reviewers = 0
        errors["min_reviewers"] = _("Le nombre d'instructeurs par dossier va de 1 à %(max)s.",
                                    max=MAX_REVIEWERS)
    tie_breaks = [name.strip() for name in data.get("tie_breaks") or [] if str(name).strip()]
    if validate_tie_breaks(tie_breaks) or len(set(tie_breaks)) != len(tie_breaks):
        errors["tie_breaks"] = _("Critères de départage inconnus ou répétés.")
    return GridSettings(overall, divergence or Decimal("2"), reviewers, tie_breaks)


def update_grid(call: Call, user: User, criteria: list[dict], settings: dict) -> None:
    """Replace the call's grid by ``criteria`` (each a dict: id of an existing criterion or None,
    label, guidance, weight, scale_max, step, threshold; in the order shown) and its review
    ``settings`` (overall_threshold, divergence_threshold, min_reviewers, tie_breaks)."""
    if not can(user, Action.CALL_EDIT, call):
        raise Forbidden(_("Seuls les administrateurs modifient la grille d'évaluation."))
    if is_frozen(call):
        raise NotApplicable(_("La grille est figée depuis la première évaluation soumise : elle "
                              "ne peut plus être modifiée."))
    errors: dict[str, str] = {}
    if len(criteria) > MAX_CRITERIA:
        errors["criteria"] = _("%(max)s critères au plus.", max=MAX_CRITERIA)
    rows = [_parse_criterion(index, row if isinstance(row, dict) else {}, errors)
            for index, row in enumerate(criteria[:MAX_CRITERIA])]
    if not rows:
        errors["criteria"] = _("La grille compte au moins un critère.")
    existing = {criterion.id: criterion for criterion in call.criteria}
    for index, row in enumerate(rows):
        if row["id"] is not None and row["id"] not in existing:
            errors[f"criteria-{index}-id"] = _("Critère n° %(n)s : ce critère n'est pas de cet "
                                               "appel.", n=index + 1)
    parsed = _parse_settings(settings, errors)
    for name in parsed.tie_breaks if "tie_breaks" not in errors else ():
        if name.startswith("criterion:") and not 1 <= int(name.split(":")[1]) <= len(rows):
            errors["tie_breaks"] = _("Le départage renvoie à un critère qui n'existe pas.")
    if errors:
        raise GridRefused(errors)

    kept = {row["id"] for row in rows if row["id"] is not None}
    removed = [criterion for criterion_id, criterion in existing.items() if criterion_id not in kept]
    if removed:  # draft reviews may have scored them: those scores go with the criterion
        db.session.execute(sa.delete(ReviewScore).where(
            ReviewScore.criterion_id.in_([criterion.id for criterion in removed])))
        for criterion in removed:
            call.criteria.remove(criterion)
    for position, row in enumerate(rows, start=1):
        criterion = existing[row["id"]] if row["id"] is not None else Criterion()
        criterion.label, criterion.guidance = row["label"], row["guidance"]
        criterion.weight, criterion.scale_max = row["weight"], row["scale_max"]
        criterion.step, criterion.threshold = row["step"], row["threshold"]
        criterion.position = position
        if criterion.id is None:
            call.criteria.append(criterion)
    call.criteria.sort(key=lambda criterion: criterion.position)
    call.overall_threshold = parsed.overall_threshold
    call.divergence_threshold = parsed.divergence_threshold
    call.min_reviewers = parsed.min_reviewers
    call.tie_breaks = parsed.tie_breaks
    db.session.flush()


def update_checklist(call: Call, user: User, labels: list[str]) -> None:
    """Replace the call's recevabilité checklist by ``labels`` (in order), until a reviewer first
    answers it for one of the call's dossiers."""
    if not can(user, Action.CALL_EDIT, call):
        raise Forbidden(_("Seuls les administrateurs modifient la liste de recevabilité."))
    if checklist_in_use(call):
        raise NotApplicable(_("La liste de recevabilité a déjà servi pour un dossier de l'appel : "
                              "elle ne peut plus être modifiée."))
    cleaned = [label.strip() for label in labels if isinstance(label, str) and label.strip()]
    errors = {}
    if len(cleaned) > MAX_ITEMS:
        errors["checklist"] = _("%(max)s points au plus.", max=MAX_ITEMS)
    for index, label in enumerate(cleaned):
        if len(label) > MAX_ITEM_LABEL:
            errors[f"checklist-{index}"] = _("Point n° %(n)s : trop long (%(max)s caractères au "
                                             "plus).", n=index + 1, max=MAX_ITEM_LABEL)
    if errors:
        raise GridRefused(errors)
    current = list(call.eligibility_items)
    for position, label in enumerate(cleaned, start=1):
        if position <= len(current):
            current[position - 1].label, current[position - 1].position = label, position
        else:
            call.eligibility_items.append(EligibilityItem(label=label, position=position))
    for item in current[len(cleaned):]:
        call.eligibility_items.remove(item)
    db.session.flush()


def tie_break_choices(call: Call) -> list[tuple[str, str]]:
    """Every tie-break the call may use, with its French description."""
    choices = [(f"criterion:{c.position}", _("la meilleure moyenne au critère « %(label)s » "
                                             "d'abord", label=c.label))
               for c in sorted(call.criteria, key=lambda c: c.position)]
    choices += [(name, _(label)) for name, label in TIE_BREAKS.items() if name != "criterion:N"]
    return choices

