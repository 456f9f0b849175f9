"""Following a dossier: the next step and its deadline, and what changed between two deposits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _

from dcol.applications.sections import sections_for
from dcol.models import Application, ApplicationState, CallKind, Submission

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


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    after: str


def _flat(content: dict, application: Application) -> dict[str, tuple[str, str]]:
    """Each answer of a deposit by key, with its label, as text."""
    values: dict[str, tuple[str, str]] = {}
    data = content.get("data", {})
    for section in sections_for(application):
        for field in section.fields:
            key = field.key if field.key != "track" else "track"
            if field.key in {"title", "summary", "track", "countries", "departments",
                             "estimated_cost", "requested_amount"}:
                raw = content.get(key)
            else:
                raw = data.get(section.key, {}).get(field.key)
            if isinstance(raw, list):
                raw = ", ".join(raw)
            values[f"{section.key}.{field.key}"] = (_(field.label), "" if raw is None else str(raw))
    budget = "; ".join(f"{line['label']} {line['amount']}" for line in content.get("budget", []))
    values["budget"] = (_("Budget prévisionnel"), budget)
    return values


def submission_changes(application: Application, previous: Submission,
                       current: Submission) -> dict:
    """Answers that changed, and documents added, removed or replaced, between two deposits."""
    before, after = _flat(previous.content, application), _flat(current.content, application)
    answers = [
        Change(label, before.get(key, ("", ""))[1], value)
        for key, (label, value) in after.items()
        if before.get(key, ("", ""))[1] != value
    ]
    old_docs = {doc["sha256"]: doc for doc in previous.content.get("documents", [])}
    new_docs = {doc["sha256"]: doc for doc in current.content.get("documents", [])}
    return {
        "answers": answers,
        "added": [doc for sha, doc in new_docs.items() if sha not in old_docs],
        "removed": [doc for sha, doc in old_docs.items() if sha not in new_docs],
    }
