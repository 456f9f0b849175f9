"""What a dossier asks for, per kind of call: its sections and fields, and which are required.

The forms, the completeness indicator and the ``submit`` guard all read these definitions, so that
they never disagree on what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from dcol.documents.services import requirements_for
from dcol.models import Application, BudgetLineKind, CallKind
from dcol.models.base import N_

# Fields stored in a column of ``applications`` rather than in ``Application.data``.
COLUMN_FIELDS = frozenset(
    {"title", "summary", "track", "countries", "departments", "estimated_cost", "requested_amount"}
)
# Field kinds, which the forms turn into inputs.
TEXT, LONG_TEXT, EMAIL, PHONE, DATE, MONEY, CHOICE, TRACK, COUNTRIES, DEPARTMENTS = (
    "text", "long_text", "email", "phone", "date", "money", "choice", "track", "countries",
    "departments",
)

COMMITMENT_CHOICES = (
    ("deliberation", N_("Délibération de l'assemblée")),
    ("letter", N_("Lettre de l'exécutif (maire, président)")),
)


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    kind: str = LONG_TEXT
    required: bool = True
    hint: str = ""
    choices: tuple[tuple[str, str], ...] = ()

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
    has_budget: bool = False  # the call-for-projects budget table


CONTACT = Section(
    "contact",
    N_("Personne à contacter"),
    (
        Field("contact_name", N_("Nom et prénom"), TEXT),
        Field("contact_role", N_("Fonction"), TEXT),
        Field("contact_email", N_("Adresse e-mail"), EMAIL),
        Field("contact_phone", N_("Téléphone"), PHONE, required=False),
    ),
)

SECTIONS: dict[CallKind, tuple[Section, ...]] = {
    CallKind.DCOL: (
        Section(
            "general",
            N_("Présentation"),
            (
                Field("title", N_("Intitulé de la demande d'appui"), TEXT),
                Field("track", N_("Dimension de l'appui"), TRACK),
                Field("summary", N_("Résumé"), hint=N_("En quelques lignes : la collectivité, "
                                                       "son projet, l'appui attendu.")),
            ),
        ),
        Section(
            "context",
            N_("Contexte et historique de l'action internationale"),
            (
                Field("history", N_("Contexte et historique de l'action internationale"),
                      hint=N_("Depuis quand, avec qui, sur quels sujets votre collectivité "
                              "agit-elle à l'international ?")),
                Field("partner_territories", N_("Territoires partenaires")),
                Field("countries", N_("Pays concernés"), COUNTRIES),
                Field("existing_partnerships", N_("Partenariats existants"), required=False),
            ),
        ),
        Section(
            "needs",
            N_("Besoins et appui attendu"),
            (
                Field("needs", N_("Besoins identifiés")),
                Field("support_expected", N_("Appui attendu de l'expert")),
                Field("deliverables_expected", N_("Livrables attendus"),
                      hint=N_("Par exemple : diagnostic, stratégie rédigée, plan d'action, "
                              "note de projet.")),
                Field("timetable", N_("Calendrier souhaité"), TEXT),
                Field("estimated_cost", N_("Coût estimé de l'expertise (si connu), en euros HT"),
                      MONEY, required=False),
            ),
        ),
        Section(
            "commitment",
            N_("Engagement politique"),
            (
                Field("commitment_kind", N_("Forme de l'engagement"), CHOICE,
                      choices=COMMITMENT_CHOICES),
                Field("commitment_date", N_("Date de la délibération ou de la lettre"), DATE,
                      required=False),
            ),
        ),
        CONTACT,
    ),
    CallKind.AAP: (
        Section(
            "general",
            N_("Présentation du projet"),
            (
                Field("title", N_("Titre du projet"), TEXT),
                Field("track", N_("Volet"), TRACK),
                Field("summary", N_("Résumé")),
            ),
        ),
        Section(
            "project",
            N_("Le projet"),
            (
                Field("countries", N_("Lieux de l'action (pays)"), COUNTRIES),
                Field("departments", N_("Départements concernés en France"), DEPARTMENTS,
                      required=False, hint=N_("Numéros de département, par exemple 38.")),
                Field("partners", N_("Partenaires")),
                Field("objectives", N_("Objectifs")),
                Field("activities", N_("Activités prévues")),
            ),
        ),
        Section(
            "budget",
            N_("Budget prévisionnel"),
            (Field("requested_amount", N_("Montant de subvention demandé, en euros"), MONEY),),
            has_budget=True,
        ),
        CONTACT,
    ),
}


def sections_for(application: Application) -> tuple[Section, ...]:
    return SECTIONS[application.call.kind]


def section_by_key(application: Application, key: str) -> Section | None:
    return next((s for s in sections_for(application) if s.key == key), None)


def _is_blank(value) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list | dict) and len(value) == 0


def missing_fields(application: Application) -> list[tuple[Section, Field]]:
    """Required fields left empty, in the order of the form."""
    return [
        (section, field)
        for section in sections_for(application)
        for field in section.fields
        if field.required and _is_blank(field.value(application, section.key))
    ]


@dataclass(frozen=True)
class Completeness:
    """What the dossier's menu says of each page: iterating gives, for each section, how many
    required fields are filled out of how many; ``documents`` says how many of the documents the
    call requires are provided, out of how many."""

    sections: list[tuple[Section, int, int]]
    documents: tuple[int, int]

    def __iter__(self):
        return iter(self.sections)


def completeness(application: Application) -> Completeness:
    """For each section: how many required fields are filled, out of how many; and the
    required documents provided."""
    missing = {(s.key, f.key) for s, f in missing_fields(application)}
    result = []
    for section in sections_for(application):
        required = [f for f in section.fields if f.required]
        filled = sum((section.key, f.key) not in missing for f in required)
        if section.has_budget:
            required.append(None)
            filled += not budget_problems(application)
        result.append((section, filled, len(required)))
    return Completeness(result, required_documents(application))


def missing_documents(application: Application) -> list:
    """The call's required documents for this dossier (its track's too) without a current file,
    in the checklist's order: what the ``submit`` guard refuses and the menu's badge counts."""
    provided = {document.requirement_id for document in application.documents
                if document.is_current and document.requirement_id is not None}
    return [item for item in requirements_for(application)
            if item.is_required and item.id not in provided]


def required_documents(application: Application) -> tuple[int, int]:
    """How many of the documents the call requires of this dossier have a current file, out of
    how many."""
    required = sum(item.is_required for item in requirements_for(application))
    return required - len(missing_documents(application)), required


def budget_totals(application: Application) -> dict:
    expenses = sum((line.amount for line in application.budget_lines
                    if line.kind is BudgetLineKind.EXPENSE), 0)
    eligible = sum((line.amount for line in application.budget_lines
                    if line.kind is BudgetLineKind.EXPENSE and line.is_eligible), 0)
    incomes = sum((line.amount for line in application.budget_lines
                   if line.kind is BudgetLineKind.INCOME), 0)
    return {"expenses": expenses, "eligible": eligible, "incomes": incomes,
            "balance": incomes - expenses}


def budget_problems(application: Application) -> list[str]:
    """For a call for projects: at least one expense, a balanced budget, and the amount
    requested among the incomes (French messages, to translate where shown)."""
    if application.call.kind is not CallKind.AAP:
        return []
    totals = budget_totals(application)
    if not totals["expenses"]:
        return [N_("Le budget prévisionnel ne comporte aucune dépense.")]
    problems = []
    if totals["expenses"] != totals["incomes"]:
        problems.append(
            N_("Le budget n'est pas équilibré : le total des recettes doit égaler celui des dépenses.")
        )
    if application.requested_amount is not None and application.requested_amount > totals["incomes"]:
        problems.append(N_("Le montant demandé dépasse le total des recettes prévues."))
    return problems
