"""Following a dossier: the next step and its deadline, and what changed between two deposits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import gettext as _

from dcol.applications import sections as s
from dcol.extensions import db
from dcol.i18n import country_name, format_day, format_money
from dcol.models import (
    Application,
    ApplicationState,
    AuditEvent,
    BudgetLineKind,
    CallKind,
    Submission,
)

S = ApplicationState


@dataclass(frozen=True)
class NextStep:
    text: str
    deadline: datetime | None = None


def next_step(application: Application) -> NextStep | None:
    """What happens next for the dossier, said to anyone following it (French)."""
    state, call = application.state, application.call
    dcol = call.kind is CallKind.DCOL
    steps = {
        S.DRAFT: NextStep(_("Compléter le dossier puis le déposer avant la date limite."),
                          call.closes_at),
        S.CHANGES_REQUESTED: NextStep(
            _("Apporter les compléments demandés et déposer à nouveau le dossier."),
            application.response_deadline),
        S.SUBMITTED: NextStep(_("Cités Unies France vérifie la recevabilité du dossier.")),
        S.ELIGIBLE: NextStep(_("Le dossier est recevable ; son instruction va commencer.")),
        S.UNDER_REVIEW: NextStep(_("Les instructeurs évaluent le dossier.")),
        S.REVIEWED: NextStep(_("Le comité de sélection va se prononcer.")),
        S.WAITLISTED: NextStep(_("Le dossier sera retenu si une place se libère dans l'enveloppe.")),
        S.SELECTED: NextStep(_("Cités Unies France recherche l'expert le plus adapté.") if dcol
                             else _("La convention va être préparée.")),
        S.MATCHING: NextStep(_("Cités Unies France recherche l'expert le plus adapté.")),
        S.EXPERT_PROPOSED: NextStep(_("L'expert proposé examine la mission.")),
        S.AGREEMENT: NextStep(_("La convention doit être signée par toutes les parties.")),
        S.IN_PROGRESS: NextStep(_("La mission est en cours ; le rapport final la conclura.") if dcol
                                else _("Le projet est en cours ; le rapport final le conclura.")),
        S.FINAL_REPORT: NextStep(_("Le livrable final doit être validé avant la clôture.")),
    }
    return steps.get(state)


def changes_asked(application: Application) -> str | None:
    """What Cités Unies France asked to complete (the reason of the last request for changes),
    while the dossier waits for it."""
    if application.state is not S.CHANGES_REQUESTED:
        return None
    return db.session.scalar(
        sa.select(AuditEvent.comment)
        .where(AuditEvent.application_id == application.id,
               AuditEvent.event == "request_changes")
        .order_by(AuditEvent.sequence.desc())
        .limit(1)
    ) or None


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    after: str


def _shown(field: s.Field, raw, application: Application) -> str:
    """An answer of a deposit as the dossier's pages show it (names, not codes; French amounts
    and dates)."""
    if raw is None or raw == "" or raw == []:
        return ""
    if field.kind == s.TRACK:
        track = next((t for t in application.call.tracks if t.code == raw), None)
        return track.name if track else str(raw)
    if field.kind == s.COUNTRIES:
        return ", ".join(country_name(code) for code in raw)
    if isinstance(raw, list):
        return ", ".join(str(item) for item in raw)
    if field.kind == s.MONEY:
        try:
            return format_money(Decimal(str(raw)))
        except InvalidOperation:
            return str(raw)
    if field.kind == s.DATE:
        try:
            return format_day(date.fromisoformat(str(raw)))
        except ValueError:
            return str(raw)
    if field.kind == s.CHOICE:
        return next((_(label) for code, label in field.choices if code == raw), str(raw))
    return str(raw)


def _budget_line(line: dict) -> str:
    """``Dépense éligible — Résidences : 10 000,00 €`` (eligibility says something of expenses
    only)."""
    kind = BudgetLineKind(line["kind"])
    if kind is BudgetLineKind.INCOME:
        what = kind.label
    elif line.get("eligible", True):
        what = _("Dépense éligible")
    else:
        what = _("Dépense non éligible")
    return _(
        "%(kind)s — %(label)s : %(amount)s",
        kind=what,
        label=line["label"],
        amount=format_money(Decimal(str(line["amount"]))),
    )


def _flat(content: dict, application: Application) -> dict[str, tuple[str, str]]:
    """Each answer of a deposit by key, with its label, as text."""
    values: dict[str, tuple[str, str]] = {}
    data = content.get("data", {})
    for section in s.sections_for(application):
        for field in section.fields:
            if field.key in s.COLUMN_FIELDS:
                raw = content.get(field.key)
            else:
                raw = data.get(section.key, {}).get(field.key)
            values[f"{section.key}.{field.key}"] = (_(field.label),
                                                    _shown(field, raw, application))
    if application.call.kind is CallKind.AAP or content.get("budget"):
        budget = "\n".join(_budget_line(line) for line in content.get("budget", []))
        values["budget"] = (_("Budget prévisionnel"), budget)
    return values


@dataclass(frozen=True)
class Replacement:
    label: str  # the checklist item's
    before: dict  # the deposited documents, as kept in ``Submission.content``
    after: dict


def submission_changes(application: Application, previous: Submission,
                       current: Submission) -> dict:
    """Answers that changed, and documents added, removed or replaced (a checklist item whose
    file changed), between two deposits."""
    before, after = _flat(previous.content, application), _flat(current.content, application)
    answers = [
        Change(label, before.get(key, ("", ""))[1], value)
        for key, (label, value) in after.items()
        if before.get(key, ("", ""))[1] != value
    ]
    old_docs = {doc["sha256"]: doc for doc in previous.content.get("documents", [])}
    new_docs = {doc["sha256"]: doc for doc in current.content.get("documents", [])}
    added = [doc for sha, doc in new_docs.items() if sha not in old_docs]
    removed = [doc for sha, doc in old_docs.items() if sha not in new_docs]
    labels = {item.code: item.label for item in application.call.document_requirements}
    replaced = []
    for doc in list(added):
        code = doc.get("requirement")
        old = next((o for o in removed if code is not None and o.get("requirement") == code), None)
        if old is not None:
            replaced.append(Replacement(labels.get(code, code), old, doc))
            added.remove(doc)
            removed.remove(old)
    return {"answers": answers, "added": added, "removed": removed, "replaced": replaced}
