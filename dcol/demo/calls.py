"""The calls of the demonstration: DCOL 11 (closed), 12 (in follow-up), 13 (open) and the
Isère 2026 call for projects, each with its tracks, checklists, grid, rules and envelopes; and
the committee sessions."""

from __future__ import annotations

from datetime import date

from dcol.demo.data import COMMITTEE, MANAGER, paris
from dcol.models import CallKind, CostBase, OrganisationKind, SessionState, VatMode

LOCAL_AUTHORITY_KINDS = [kind.value for kind in OrganisationKind if kind.is_local_authority]
# DCOL covers 80 % of the expertise for French collectivités; "other" is absent: not eligible.
DCOL_RATES = {kind: "80.00" for kind in LOCAL_AUTHORITY_KINDS}
DCOL_FUNDER_SPLIT = [
    {"funder": "AFD", "percent": "50"},
    {"funder": "CDC", "percent": "30"},
    {"funder": "DCTCIV", "percent": "20"},
]

# (code, name, description, eligible countries, eligible departments)
DCOL_TRACKS = [
    (
        "strategy",
        "Élaboration d'une stratégie internationale",
        "Définir les priorités, les partenariats et l'organisation de l'action internationale de la "
        "collectivité.",
        [],
        [],
    ),
    (
        "project",
        "Montage de projet",
        "Concevoir un projet de coopération avec un territoire partenaire : diagnostic, objectifs, "
        "plan d'action, budget et recherche de financements.",
        [],
        [],
    ),
    (
        "climate",
        "Intégration des enjeux climatiques",
        "Prendre en compte l'atténuation et l'adaptation au changement climatique dans l'action "
        "internationale de la collectivité.",
        [],
        [],
    ),
]

DCOL_DOCUMENTS = [
    # (code, label, description, required, track code)
    (
        "engagement",
        "Délibération ou lettre d'engagement de l'exécutif",
        "Délibération de l'assemblée ou lettre signée du maire ou du président, engageant la "
        "collectivité à prendre en charge 20 % du coût de l'expertise.",
        True,
        None,
    ),
    (
        "presentation",
        "Note de présentation de la demande",
        "Deux à cinq pages : contexte, partenaires, besoins, appui attendu.",
        True,
        None,
    ),
    (
        "partnership",
        "Convention ou accord de partenariat existant",
        "Si la collectivité coopère déjà avec le territoire concerné.",
        False,
        None,
    ),
]

DCOL_ELIGIBILITY = [
    "Le demandeur est une collectivité territoriale française ou un groupement de collectivités.",
    "L'engagement de l'exécutif (délibération ou lettre signée) est joint.",
    "La demande relève d'une des trois dimensions de l'appui (stratégie, projet, climat).",
    "Les pièces obligatoires sont fournies et lisibles.",
    "La collectivité s'engage à prendre en charge 20 % du coût de l'expertise.",
]

DCOL_CRITERIA = [
    # (label, guidance, weight, threshold)
    (
        "Pertinence de la demande",
        "Adéquation entre les besoins exprimés, la dimension choisie et l'appui d'un expert.",
        "25",
        "2.5",
    ),
    (
        "Qualité du partenariat",
        "Ancienneté, réciprocité et implication du territoire partenaire.",
        "20",
        None,
    ),
    (
        "Faisabilité et calendrier",
        "Moyens humains mobilisés par la collectivité, réalisme du calendrier.",
        "20",
        "2",
    ),
    (
        "Impact et durabilité",
        "Effets attendus sur l'action internationale et appropriation des résultats.",
        "20",
        None,
    ),
    (
        "Prise en compte du climat",
        "Place donnée à l'atténuation et à l'adaptation au changement climatique.",
        "15",
        None,
    ),
]


def _dcol_call(edition: int, opens, closes, information, committee, frozen, envelope, summary):
    return {
        "code": f"DCOL{edition}",
        "kind": CallKind.DCOL,
        "edition": edition,
        "title": f"DCOL — {edition}e appel à candidature",
        "summary": summary,
        "owner_name": "Cités Unies France",
        "opens_at": opens,
        "closes_at": closes,
        "information_session_at": information,
        "committee_planned_on": committee,
        "grid_frozen_at": frozen,
        "eligible_kinds": LOCAL_AUTHORITY_KINDS,
        "members_only": False,
        "overall_threshold": "60.00",
        "tie_breaks": ["criterion:1", "submitted_at"],
        "tracks": DCOL_TRACKS,
        "documents": DCOL_DOCUMENTS,
        "eligibility": DCOL_ELIGIBILITY,
        "criteria": DCOL_CRITERIA,
        "rule": {
            "effective_from": opens.date(),
            "rates": DCOL_RATES,
            "cost_base": CostBase.EXPERT_DAYS,
            "vat_mode": VatMode.EXCLUDING_VAT,
            "vat_rate": "20",
            "ceiling": None,
            "funder_split": DCOL_FUNDER_SPLIT,
            "advance_percent": "30",
            "created_at": opens,
        },
        # Total, then the share of each funder (50 / 30 / 20 %).
        "envelopes": {
            None: envelope[0],
            "AFD": envelope[1],
            "CDC": envelope[2],
            "DCTCIV": envelope[3],
        },
    }


CALLS = [
    _dcol_call(
        11,
        paris(2024, 10, 23),
        paris(2024, 12, 3, 23, 59),
        paris(2024, 10, 17, 10),
        date(2025, 2, 6),
        paris(2024, 12, 4, 9),
        ("200000.00", "100000.00", "60000.00", "40000.00"),
        "Le dispositif DCOL finance l'appui individuel d'un expert sélectionné, porté et "
        "cofinancé par Cités Unies France, à hauteur de 80 % de son coût pour les collectivités "
        "territoriales françaises. Trois dimensions : élaboration d'une stratégie "
        "internationale, montage de projet, intégration des enjeux climatiques.",
    ),
    _dcol_call(
        12,
        paris(2025, 5, 15),
        paris(2025, 7, 4, 23, 59),
        paris(2025, 5, 22, 10),
        date(2025, 9, 18),
        paris(2025, 7, 7, 9),
        ("230000.00", "115000.00", "69000.00", "46000.00"),
        "12e appel à candidature du dispositif DCOL, lancé en mai 2025. Les appuis retenus sont "
        "en cours de réalisation : projets de coopération, stratégies internationales et "
        "intégration des enjeux climatiques. Cités Unies France prend en charge 80 % du coût "
        "de l'expertise.",
    ),
    _dcol_call(
        13,
        paris(2026, 10, 1),
        paris(2027, 1, 15, 23, 59),
        paris(2026, 10, 8, 10),
        date(2027, 2, 4),
        paris(2026, 10, 9, 9),
        ("250000.00", "125000.00", "75000.00", "50000.00"),
        "13e appel à candidature du dispositif DCOL, ouvert du 1er octobre 2026 au "
        "15 janvier 2027. Les dossiers complets sont instruits au fil de l'eau et présentés au "
        "comité de sélection suivant. Cités Unies France sélectionne l'expert dans son vivier, "
        "le contractualise et prend en charge 80 % du coût de l'appui.",
    ),
    {
        "code": "AAP26-ISERE",
        "kind": CallKind.AAP,
        "edition": 2026,
        "title": "Appel à projets 2026 — coopération internationale du Département de l'Isère",
        "summary": (
            "Le Département de l'Isère soutient les projets internationaux des collectivités "
            "iséroises sur deux volets au choix : la coopération culturelle internationale, en "
            "Arménie ou au Sénégal (partenariats existants du Département), et l'éducation à "
            "la citoyenneté mondiale en Isère. Subvention de 50 % des dépenses éligibles, dans "
            "la limite de 15 000 €. Dépôt du 30 mars au 1er mai 2026."
        ),
        "owner_name": "Département de l'Isère",
        "opens_at": paris(2026, 3, 30),
        "closes_at": paris(2026, 5, 1, 23, 59),
        "information_session_at": paris(2026, 4, 7, 14),
        "committee_planned_on": date(2026, 6, 18),
        "grid_frozen_at": paris(2026, 5, 4, 9),
        "eligible_kinds": ["commune", "intercommunality", "syndicate"],
        "members_only": False,
        "overall_threshold": "55.00",
        "tie_breaks": ["criterion:1", "submitted_at"],
        "tracks": [
            (
                "culture",
                "Coopération culturelle internationale",
                "Échanges artistiques et culturels avec les territoires partenaires du "
                "Département en Arménie et au Sénégal.",
                ["AM", "SN"],
                [],
            ),
            (
                "ecsi",
                "Éducation à la citoyenneté mondiale",
                "Actions d'éducation à la citoyenneté et à la solidarité internationale menées "
                "en Isère.",
                ["FR"],
                ["38"],
            ),
        ],
        "documents": [
            (
                "engagement",
                "Délibération ou lettre d'engagement de l'exécutif",
                "Délibération ou lettre signée du maire ou du président.",
                True,
                None,
            ),
            (
                "presentation",
                "Note de présentation du projet",
                "Objectifs, activités, partenaires, calendrier.",
                True,
                None,
            ),
            (
                "budget",
                "Budget prévisionnel équilibré",
                "Dépenses et recettes du projet, dont les autres cofinancements.",
                True,
                None,
            ),
            (
                "rib",
                "Relevé d'identité bancaire (RIB)",
                "Au nom de la collectivité porteuse.",
                True,
                None,
            ),
            (
                "partner_letter",
                "Lettre d'intention du partenaire arménien ou sénégalais",
                "Signée par l'autorité locale partenaire.",
                True,
                "culture",
            ),
        ],
        "eligibility": [
            "Le porteur est une commune, une intercommunalité ou un syndicat de l'Isère.",
            "Le projet relève de l'un des deux volets de l'appel.",
            "Les actions ont lieu en Arménie ou au Sénégal (volet 1), ou en Isère (volet 2).",
            "Le budget est équilibré et la subvention demandée ne dépasse pas 50 % des "
            "dépenses éligibles, dans la limite de 15 000 €.",
            "La délibération ou la lettre d'engagement signée est jointe.",
        ],
        "criteria": [
            (
                "Pertinence au regard du volet",
                "Cohérence avec les objectifs du volet et les partenariats du Département.",
                "30",
                "2.5",
            ),
            (
                "Qualité et réciprocité du partenariat",
                "Implication des partenaires dans la conception et la conduite du projet.",
                "25",
                None,
            ),
            (
                "Faisabilité et budget",
                "Réalisme du calendrier, du budget et des cofinancements.",
                "25",
                "2",
            ),
            (
                "Impact et implication des habitants",
                "Public touché, participation des jeunes et des associations du territoire.",
                "20",
                None,
            ),
        ],
        "rule": {
            "effective_from": date(2026, 3, 30),
            "rates": {"commune": "50.00", "intercommunality": "50.00", "syndicate": "50.00"},
            "cost_base": CostBase.PROJECT_BUDGET,
            "vat_mode": VatMode.INCLUDING_VAT,
            "vat_rate": "20",
            "ceiling": "15000.00",
            "funder_split": [],
            "advance_percent": "50",
            "created_at": paris(2026, 3, 16, 9),
        },
        "envelopes": {None: "60000.00"},
    },
]

# Selection committees: (call, title, held at, location, state, members (e-mail, present)).
CUF_OFFICE = "Cités Unies France, 9 rue Christiani, 75018 Paris"
SESSIONS = [
    (
        "DCOL11",
        "Comité de sélection DCOL 11",
        paris(2025, 2, 6, 14),
        CUF_OFFICE,
        SessionState.CLOSED,
        [(COMMITTEE, True), (MANAGER, True)],
    ),
    (
        "DCOL12",
        "Comité de sélection DCOL 12",
        paris(2025, 9, 18, 14),
        CUF_OFFICE,
        SessionState.CLOSED,
        [(COMMITTEE, True), (MANAGER, True)],
    ),
    (
        "DCOL13",
        "Comité de sélection DCOL 13 — 1re session",
        paris(2026, 11, 5, 14),
        "Visioconférence",
        SessionState.CLOSED,
        [(COMMITTEE, True), (MANAGER, True)],
    ),
    (
        "DCOL13",
        "Comité de sélection DCOL 13 — 2e session",
        paris(2027, 2, 4, 14),
        CUF_OFFICE,
        SessionState.PLANNED,
        [(COMMITTEE, False), (MANAGER, False)],
    ),
    (
        "AAP26-ISERE",
        "Comité d'instruction — appel à projets Isère 2026",
        paris(2026, 6, 18, 10),
        "Hôtel du Département, Grenoble",
        SessionState.CLOSED,
        [(COMMITTEE, True), (MANAGER, True)],
    ),
]
