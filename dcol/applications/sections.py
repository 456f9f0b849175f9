"""What a dossier asks for, per kind of call: its sections and fields, and which are required.

The forms (issue: collectivités' space), the completeness indicator and the ``submit`` guard all
read these definitions, so that they never disagree on what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from dcol.models import Application, BudgetLineKind, CallKind
from dcol.models.base import N_

# Fields stored in a column of ``applications`` rather than in ``Application.data``.
COLUMN_FIELDS = frozenset(
    {"title", "summary", "track", "countries", "departments", "estimated_cost", "requested_amount"}
)


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    required: bool = True

    def value(self, application: Application, section: str):
        if self.key == "track":
            return application.track_id
        if self.key in COLUMN_FIELDS:
            return getattr(application, self.key)
        return (application.data or {}).get(section, {}).get(self.key)


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    fields: tuple[Field, ...]


CONTACT = Section(
    "contact",
    N_("Personne à contacter"),
    (
        Field("contact_name", N_("Nom et prénom")),
        Field("contact_role", N_("Fonction")),
        Field("contact_email", N_("Adresse e-mail")),
        Field("contact_phone", N_("Téléphone"), required=False),
    ),
)

SECTIONS: dict[CallKind, tuple[Section, ...]] = {
    CallKind.DCOL: (
        Section(
            "general",
            N_("Présentation"),
            (
                Field("title", N_("Intitulé de la demande d'appui")),
                Field("track", N_("Dimension de l'appui")),
                Field("summary", N_("Résumé")),
            ),
        ),
        Section(
            "context",
            N_("Contexte et historique de l'action internationale"),
            (
                Field("history", N_("Contexte et historique de l'action internationale")),
                Field("partner_territories", N_("Territoires partenaires")),
                Field("countries", N_("Pays concernés")),
                Field("existing_partnerships", N_("Partenariats existants"), required=False),
            ),
        ),
        Section(
            "needs",
            N_("Besoins et appui attendu"),
            (
                Field("needs", N_("Besoins identifiés")),
                Field("support_expected", N_("Appui attendu de l'expert")),
                Field("deliverables_expected", N_("Livrables attendus")),
                Field("timetable", N_("Calendrier souhaité")),
                Field("estimated_cost", N_("Coût estimé de l'expertise (si connu)"), required=False),
            ),
        ),
        Section(
            "commitment",
            N_("Engagement politique"),
            (
                Field("commitment_kind", N_("Forme de l'engagement (délibération ou lettre de l'exécutif)")),
                Field("commitment_date", N_("Date de la délibération ou de la lettre"), required=False),
            ),
        ),
        CONTACT,
    ),
    CallKind.AAP: (
        Section(
            "general",
            N_("Présentation du projet"),
            (
                Field("title", N_("Titre du projet")),
                Field("track", N_("Volet")),
                Field("summary", N_("Résumé")),
            ),
        ),
        Section(
            "project",
            N_("Le projet"),
            (
                Field("countries", N_("Lieux de l'action (pays)")),
                Field("departments", N_("Départements concernés en France"), required=False),
                Field("partners", N_("Partenaires")),
                Field("objectives", N_("Objectifs")),
                Field("activities", N_("Activités prévues")),
            ),
        ),
        Section(
            "budget",
            N_("Budget prévisionnel"),
            (Field("requested_amount", N_("Montant de subvention demandé")),),
        ),
        CONTACT,
    ),
}


def _is_blank(value) -> bool:
    return value is None or (isinstance(value, str | list | dict) and len(value) == 0) or (
        isinstance(value, str) and not value.strip()
    )


def missing_fields(application: Application) -> list[tuple[Section, Field]]:
    """Required fields left empty, in the order of the form."""
    return [
        (section, field)
        for section in SECTIONS[application.call.kind]
        for field in section.fields
        if field.required and _is_blank(field.value(application, section.key))
    ]


def budget_problems(application: Application) -> list[str]:
    """For a call for projects: at least one expense, and a balanced budget (French messages)."""
    if application.call.kind is not CallKind.AAP:
        return []
    expenses = sum(
        (line.amount for line in application.budget_lines if line.kind is BudgetLineKind.EXPENSE), 0
    )
    incomes = sum(
        (line.amount for line in application.budget_lines if line.kind is BudgetLineKind.INCOME), 0
    )
    if not expenses:
        return [N_("Le budget prévisionnel ne comporte aucune dépense.")]
    if expenses != incomes:
        return [N_("Le budget n'est pas équilibré : le total des recettes doit égaler celui des dépenses.")]
    return []
