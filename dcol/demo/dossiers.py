"""The dossiers of the demonstration, in the state the story has reached on ``TODAY``.

Each dossier names its call, number, organisation (SIREN), track and state; what happened to it
(reviews, consensus, committee decision, expert proposal, mission) is declared with it. Dates of
eligibility checks, review assignments and consensus follow from ``submitted`` (see ``seed``).
"""

from __future__ import annotations

from datetime import date

from dcol.demo import data as d
from dcol.demo.data import paris
from dcol.models import (
    ApplicationState,
    BudgetLineKind,
    Decision,
    DeliverableState,
    Opinion,
    Phase,
)

S = ApplicationState
FAV, RES, UNFAV = Opinion.FAVOURABLE, Opinion.RESERVED, Opinion.UNFAVOURABLE
EXP, INC = BudgetLineKind.EXPENSE, BudgetLineKind.INCOME


def dcol_form(
    history, partners, needs, support, deliverables, timetable, commitment, contact, existing=""
):
    """``Application.data`` of a DCOL dossier, by section then field (see applications.sections)."""
    name, role, email = contact
    kind, signed_on = commitment
    return {
        "context": {
            "history": history,
            "partner_territories": partners,
            "existing_partnerships": existing,
        },
        "needs": {
            "needs": needs,
            "support_expected": support,
            "deliverables_expected": deliverables,
            "timetable": timetable,
        },
        "commitment": {"commitment_kind": kind, "commitment_date": signed_on},
        "contact": {"contact_name": name, "contact_role": role, "contact_email": email},
    }


def aap_form(partners, objectives, activities, contact):
    name, role, email = contact
    return {
        "project": {"partners": partners, "objectives": objectives, "activities": activities},
        "contact": {"contact_name": name, "contact_role": role, "contact_email": email},
    }


def reviews(first, second):
    """Two submitted reviews: (scores, opinion, comment) by each demo reviewer."""
    return [
        {"reviewer": email, "scores": scores, "opinion": opinion, "comment": comment}
        for email, (scores, opinion, comment) in ((d.REVIEWER, first), (d.REVIEWER2, second))
    ]


CAMILLE = ("Camille Martin", "Chargée des relations internationales", d.APPLICANT)
MARC = ("Marc Schneider", "Directeur du syndicat", d.FENSCH_SIGNATORY)

DCOL11_DOSSIERS = [
    {
        "call": "DCOL11",
        "number": 1,
        "org": d.FENSCH,
        "track": "project",
        "state": S.CLOSED,
        "title": "Projet pilote d'accès à l'eau potable avec la province de Binh Dinh (Vietnam)",
        "summary": (
            "Le Syndicat mixte Fensch Lorraine coopère depuis 2007 avec la province de Binh Dinh "
            "aux côtés d'un syndicat des eaux. Il sollicite un appui pour concevoir un projet "
            "pilote d'accès à l'eau potable : analyse et réorientation du projet initial, plan "
            "d'action, mission de terrain et enquête sur les besoins locaux."
        ),
        "themes": ["water_sanitation"],
        "countries": ["VN"],
        "cost": "15360.00",
        "created": paris(2024, 11, 4, 9, 30),
        "submitted": paris(2024, 11, 25, 16, 40),
        "closed": paris(2025, 12, 15, 10),
        "public": True,
        "created_by": d.FENSCH_SIGNATORY,
        "form": dcol_form(
            "Coopération engagée en 2007 avec la province de Binh Dinh, avec l'appui d'un "
            "syndicat des eaux lorrain, au titre du 1 % eau (loi Oudin-Santini). Réhabilitation "
            "de réseaux entre 2010 et 2020.",
            "Province de Binh Dinh (Vietnam), ville-district d'An Nhon",
            "Le projet pilote initial, centré sur une station de traitement, ne répond plus aux "
            "attentes des autorités provinciales : il faut le réorienter vers les besoins des "
            "communes rurales.",
            "Analyse du projet initial, propositions de réorientation, plan d'action, mission de "
            "terrain et enquête sur les besoins locaux.",
            "Note d'analyse et de réorientation ; plan d'action du projet pilote.",
            "De mars à octobre 2025, mission de terrain au printemps.",
            ("deliberation", "2024-11-14"),
            MARC,
            existing="Accord de coopération décentralisée renouvelé en 2022 avec le Comité "
            "populaire de la province de Binh Dinh.",
        ),
        "reviews": reviews(
            (("4", "4", "3.5", "4", "3.5"), FAV, "Besoin clair, partenariat ancien et actif."),
            (("4.5", "4", "4", "3.5", "3"), FAV, "Dossier solide ; climat à mieux intégrer."),
        ),
        "consensus": (
            "79.00",
            "Partenariat ancien et besoin d'appui clairement identifié ; "
            "l'expert veillera à la place de l'adaptation au climat.",
        ),
        "decision": ("Comité de sélection DCOL 11", Decision.SELECT, "Retenu à l'unanimité."),
        "mission": {
            "expert": d.COOPEAU,
            "days": "18",
            "daily_rate": "620.00",
            "travel": "4200.00",
            "starts": date(2025, 3, 3),
            "ends": date(2025, 10, 31),
            "created": paris(2025, 2, 20, 10),
            "expected": "Note d'analyse et de réorientation ; plan d'action du projet pilote ; "
            "rapport d'enquête sur les besoins locaux.",
            "summary": "Après analyse et réorientation, le pilote a été reformulé : services "
            "d'eau dans 3 communes rurales d'An Nhon, sur 3 ans, porté par la province.",
            "milestones": [
                (
                    Phase.SCOPING,
                    "Réunion de cadrage avec le syndicat",
                    date(2025, 3, 14),
                    date(2025, 3, 14),
                ),
                (
                    Phase.DIAGNOSIS,
                    "Analyse du projet initial et note de réorientation",
                    date(2025, 4, 30),
                    date(2025, 4, 28),
                ),
                (
                    Phase.FIELD_MISSION,
                    "Mission de terrain et enquête sur les besoins",
                    date(2025, 6, 15),
                    date(2025, 6, 13),
                ),
                (
                    Phase.RESTITUTION,
                    "Restitution aux élus du syndicat",
                    date(2025, 9, 19),
                    date(2025, 9, 19),
                ),
                (
                    Phase.FINAL_DELIVERABLE,
                    "Plan d'action du projet pilote",
                    date(2025, 10, 31),
                    date(2025, 10, 24),
                ),
            ],
            "reports": [
                (
                    d.EXPERT,
                    date(2025, 3, 31),
                    "3",
                    "",
                    "Cadrage avec le syndicat, entretiens "
                    "avec les élus et le syndicat des eaux partenaire, revue du projet initial.",
                    [],
                ),
                (
                    d.EXPERT,
                    date(2025, 6, 16),
                    "8",
                    "Binh Dinh (Vietnam), An Nhon",
                    "Rencontres avec le Comité populaire provincial et la compagnie des eaux, "
                    "enquête auprès de 240 ménages de 5 communes rurales.",
                    [
                        ("Billet d'avion Paris – Quy Nhon", "1480.00"),
                        ("Hébergement et déplacements sur place", "960.00"),
                        ("Interprétariat vietnamien-français", "720.00"),
                    ],
                ),
                (
                    d.EXPERT,
                    date(2025, 10, 24),
                    "7",
                    "",
                    "Rédaction du plan d'action, "
                    "restitution aux élus le 19 septembre, finalisation du livrable final.",
                    [],
                ),
            ],
            "deliverables": [
                (
                    "Note d'analyse et de réorientation du projet pilote",
                    False,
                    DeliverableState.VALIDATED,
                    paris(2025, 4, 28, 17),
                    paris(2025, 5, 5, 11),
                    paris(2025, 5, 7, 15),
                ),
                (
                    "Plan d'action du projet pilote d'eau potable — 3 communes rurales d'An Nhon",
                    True,
                    DeliverableState.VALIDATED,
                    paris(2025, 10, 24, 12),
                    paris(2025, 11, 7, 10),
                    paris(2025, 11, 12, 16),
                ),
            ],
            "satisfaction": (
                d.FENSCH_SIGNATORY,
                5,
                4,
                5,
                5,
                "Un appui décisif : le projet "
                "pilote est désormais porté par nos partenaires de la province.",
                paris(2025, 12, 10, 9),
            ),
        },
    },
]

DCOL12_DOSSIERS = [
    {
        "call": "DCOL12",
        "number": 1,
        "org": d.GENNEVILLIERS,
        "track": "project",
        "state": S.IN_PROGRESS,
        "title": "Projet de coopération sur la gestion des déchets ménagers au Maroc",
        "summary": (
            "La Ville de Gennevilliers souhaite monter avec sa commune partenaire de la région "
            "de Souss-Massa un projet de collecte, de tri et de valorisation des déchets "
            "ménagers associant les associations de quartier des deux villes."
        ),
        "themes": ["waste", "economic_development"],
        "countries": ["MA"],
        "cost": "12400.00",
        "created": paris(2025, 6, 2, 10),
        "submitted": paris(2025, 6, 27, 15, 12),
        "form": dcol_form(
            "Jumelage depuis 2009, échanges de jeunes et d'agents municipaux, soutien à une "
            "coopérative de femmes.",
            "Commune partenaire de la région de Souss-Massa (Maroc)",
            "La commune partenaire doit réorganiser sa collecte ; la Ville veut un projet "
            "structuré et finançable plutôt que des dons ponctuels de matériel.",
            "Diagnostic de la filière, choix des options techniques, montage du projet et du "
            "plan de financement.",
            "Diagnostic, document de projet, plan de financement.",
            "Fin 2025 à fin 2026.",
            ("deliberation", "2025-06-12"),
            (
                "Nadia Ferhat",
                "Responsable des relations internationales",
                "relations.internationales@ville-gennevilliers.example",
            ),
        ),
        "reviews": reviews(
            (("4", "4.5", "3.5", "3.5", "3"), FAV, "Partenariat mûr, besoin bien posé."),
            (("3.5", "4", "4", "3.5", "3.5"), FAV, ""),
        ),
        "consensus": ("74.50", "Projet cohérent et partenariat solide."),
        "decision": ("Comité de sélection DCOL 12", Decision.SELECT, ""),
        "mission": {
            "expert": d.MEDITERRANEE,
            "days": "15",
            "daily_rate": "680.00",
            "travel": "2200.00",
            "starts": date(2025, 11, 17),
            "ends": date(2026, 12, 18),
            "created": paris(2025, 10, 30, 11),
            "expected": "Diagnostic de la filière ; document de projet ; plan de financement.",
            "milestones": [
                (
                    Phase.SCOPING,
                    "Cadrage avec la direction des relations internationales",
                    date(2025, 12, 5),
                    date(2025, 12, 5),
                ),
                (
                    Phase.DIAGNOSIS,
                    "Diagnostic de la filière déchets",
                    date(2026, 3, 13),
                    date(2026, 3, 20),
                ),
                (
                    Phase.FIELD_MISSION,
                    "Mission de terrain au Maroc",
                    date(2026, 6, 12),
                    date(2026, 6, 12),
                ),
                (
                    Phase.RESTITUTION,
                    "Restitution aux élus des deux villes",
                    date(2026, 11, 27),
                    None,
                ),
                (
                    Phase.FINAL_DELIVERABLE,
                    "Document de projet et plan de financement",
                    date(2026, 12, 18),
                    None,
                ),
            ],
            "reports": [
                (
                    d.MEDITERRANEE_USER,
                    date(2026, 2, 20),
                    "4",
                    "",
                    "Entretiens avec les "
                    "services propreté et l'association de quartier, analyse des données.",
                    [],
                ),
                (
                    d.MEDITERRANEE_USER,
                    date(2026, 6, 12),
                    "6",
                    "Région de Souss-Massa (Maroc)",
                    "Visite des points de collecte, ateliers avec les élus et la coopérative de "
                    "femmes.",
                    [
                        ("Billet d'avion Paris – Agadir", "420.00"),
                        ("Hébergement et repas", "510.00"),
                    ],
                ),
            ],
        },
    },
    {
        "call": "DCOL12",
        "number": 2,
        "org": d.THOREY,
        "track": "project",
        "state": S.IN_PROGRESS,
        "title": "Accès à l'eau et assainissement scolaire avec une commune rurale du Sénégal",
        "summary": (
            "Petite commune de 150 habitants, Thorey-Lyautey accompagne depuis dix ans une "
            "commune rurale sénégalaise. Elle veut monter un projet d'accès à l'eau et de "
            "latrines pour trois écoles, finançable au titre du 1 % eau."
        ),
        "themes": ["water_sanitation"],
        "countries": ["SN"],
        "cost": "9600.00",
        "created": paris(2025, 6, 5, 18),
        "submitted": paris(2025, 7, 1, 21, 3),
        "form": dcol_form(
            "Échanges entre écoles depuis 2015 grâce à une association de la commune ; envoi "
            "de fournitures scolaires.",
            "Commune rurale de la région de Fatick (Sénégal)",
            "Sans service technique, la commune a besoin d'un appui pour passer des échanges "
            "scolaires à un projet d'infrastructures.",
            "Diagnostic des besoins des écoles, montage technique et financier, dossier pour "
            "l'agence de l'eau.",
            "Étude de besoins, document de projet, dossier de demande de financement.",
            "Décembre 2025 à décembre 2026.",
            ("deliberation", "2025-06-20"),
            ("Nathalie Collin", "Secrétaire de mairie", "mairie@thorey-lyautey.example"),
        ),
        "reviews": reviews(
            (("4.5", "3.5", "3", "4", "3"), FAV, "Petite commune très motivée, appui essentiel."),
            (("4", "3.5", "3.5", "4", "3"), RES, "Veiller à la capacité de suivi de la commune."),
        ),
        "consensus": (
            "72.00",
            "Appui indispensable pour une très petite commune ; suivi rapproché prévu par CUF.",
        ),
        "decision": ("Comité de sélection DCOL 12", Decision.SELECT, ""),
        "mission": {
            "expert": d.COOPEAU,
            "days": "12",
            "daily_rate": "650.00",
            "travel": "1800.00",
            "starts": date(2025, 12, 1),
            "ends": date(2026, 12, 11),
            "created": paris(2025, 11, 14, 9),
            "expected": "Étude de besoins des trois écoles ; document de projet ; dossier de "
            "demande à l'agence de l'eau Rhin-Meuse.",
            "milestones": [
                (
                    Phase.SCOPING,
                    "Réunion de cadrage en mairie",
                    date(2025, 12, 12),
                    date(2025, 12, 12),
                ),
                (
                    Phase.FIELD_MISSION,
                    "Mission de terrain au Sénégal",
                    date(2026, 10, 9),
                    date(2026, 10, 9),
                ),
                (
                    Phase.FINAL_DELIVERABLE,
                    "Document de projet et dossier de financement",
                    date(2026, 12, 11),
                    None,
                ),
            ],
            "reports": [
                (
                    d.EXPERT,
                    date(2026, 3, 6),
                    "3",
                    "",
                    "Cadrage avec le conseil municipal et "
                    "l'association, recueil des données sur les trois écoles.",
                    [],
                ),
                (
                    d.EXPERT,
                    date(2026, 10, 9),
                    "5",
                    "Région de Fatick (Sénégal)",
                    "Visite des écoles et des forages, réunion avec le conseil municipal "
                    "partenaire.",
                    [
                        ("Billet d'avion Paris – Dakar", "690.00"),
                        ("Location de véhicule", "340.00"),
                    ],
                ),
            ],
        },
    },
    {
        "call": "DCOL12",
        "number": 3,
        "org": d.REUNION,
        "track": "strategy",
        "state": S.FINAL_REPORT,
        "title": "Stratégie internationale et de coopération régionale dans l'océan Indien",
        "summary": (
            "La Région Réunion souhaite renouveler sa stratégie internationale 2027-2032 : "
            "priorités de coopération régionale avec les pays de l'océan Indien, articulation "
            "avec les programmes européens et implication des acteurs réunionnais."
        ),
        "themes": ["economic_development", "climate"],
        "countries": ["MG", "KM", "MU", "SC"],
        "cost": "17900.00",
        "created": paris(2025, 5, 28, 8),
        "submitted": paris(2025, 6, 30, 9),
        "form": dcol_form(
            "Coopération régionale ancienne (Commission de l'océan Indien, programmes Interreg "
            "océan Indien) ; stratégie précédente arrivée à échéance.",
            "Madagascar, Comores, Maurice, Seychelles",
            "Une stratégie à actualiser et à partager avec les services et les partenaires.",
            "Bilan de la stratégie précédente, concertation, rédaction de la stratégie.",
            "Bilan ; stratégie internationale 2027-2032 ; plan d'action.",
            "Novembre 2025 à octobre 2026.",
            ("executive_letter", "2025-06-24"),
            (
                "Patrick Hoarau",
                "Directeur des affaires européennes et internationales",
                "international@regionreunion.example",
            ),
        ),
        "reviews": reviews(
            (("4.5", "4", "4", "4.5", "3.5"), FAV, ""),
            (("4", "4.5", "4", "4", "4"), FAV, "Ambition régionale forte."),
        ),
        "consensus": ("83.00", "Demande structurante pour la coopération régionale."),
        "decision": ("Comité de sélection DCOL 12", Decision.SELECT, ""),
        "mission": {
            "expert": d.HORIZONS,
            "days": "20",
            "daily_rate": "720.00",
            "travel": "3500.00",
            "starts": date(2025, 11, 3),
            "ends": date(2026, 10, 30),
            "created": paris(2025, 10, 20, 14),
            "expected": "Bilan de la stratégie précédente ; stratégie 2027-2032 ; plan d'action.",
            "milestones": [
                (
                    Phase.SCOPING,
                    "Cadrage avec la direction des affaires internationales",
                    date(2025, 11, 14),
                    date(2025, 11, 14),
                ),
                (
                    Phase.DIAGNOSIS,
                    "Bilan de la stratégie précédente",
                    date(2026, 1, 30),
                    date(2026, 1, 30),
                ),
                (
                    Phase.FIELD_MISSION,
                    "Concertation à Madagascar et aux Comores",
                    date(2026, 5, 22),
                    date(2026, 5, 22),
                ),
                (
                    Phase.FINAL_DELIVERABLE,
                    "Stratégie internationale 2027-2032",
                    date(2026, 10, 30),
                    date(2026, 11, 6),
                ),
            ],
            "reports": [
                (
                    d.HORIZONS_USER,
                    date(2026, 1, 30),
                    "6",
                    "",
                    "Entretiens avec les services, "
                    "les élus et les partenaires réunionnais ; bilan de la stratégie.",
                    [],
                ),
                (
                    d.HORIZONS_USER,
                    date(2026, 5, 22),
                    "8",
                    "Antananarivo (Madagascar) et Moroni (Comores)",
                    "Ateliers de concertation avec les partenaires et la Commission de l'océan "
                    "Indien.",
                    [
                        ("Billets d'avion La Réunion – Madagascar – Comores", "1150.00"),
                        ("Hébergement", "780.00"),
                    ],
                ),
                (
                    d.HORIZONS_USER,
                    date(2026, 10, 30),
                    "6",
                    "",
                    "Rédaction de la stratégie "
                    "et du plan d'action, séminaire de restitution à Saint-Denis.",
                    [],
                ),
            ],
            "deliverables": [
                (
                    "Stratégie internationale et de coopération régionale 2027-2032",
                    True,
                    DeliverableState.SUBMITTED,
                    paris(2026, 11, 6, 11),
                    None,
                    None,
                ),
            ],
        },
    },
    {
        "call": "DCOL12",
        "number": 4,
        "org": d.MARSEILLE,
        "track": "climate",
        "state": S.IN_PROGRESS,
        "title": "Intégrer les enjeux climatiques dans la coopération méditerranéenne de Marseille",
        "summary": (
            "La Ville de Marseille veut mesurer l'empreinte climatique de ses coopérations "
            "méditerranéennes et orienter ses projets vers l'adaptation des villes partenaires "
            "(chaleur, eau, littoral)."
        ),
        "themes": ["climate"],
        "countries": ["MA", "TN", "LB"],
        "cost": "11300.00",
        "created": paris(2025, 6, 10, 14),
        "submitted": paris(2025, 7, 3, 17, 45),
        "form": dcol_form(
            "Nombreux partenariats méditerranéens ; plan climat municipal adopté en 2024.",
            "Villes partenaires au Maroc, en Tunisie et au Liban",
            "Aligner l'action internationale sur le plan climat de la Ville.",
            "Bilan carbone de l'action internationale, grille d'analyse climat des projets, "
            "formation des agents.",
            "Bilan carbone ; grille d'analyse ; plan d'action climat de l'action internationale.",
            "Décembre 2025 à décembre 2026.",
            ("executive_letter", "2025-06-30"),
            (
                "Sarah Benhamou",
                "Cheffe du service des relations internationales",
                "relations-internationales@marseille.example",
            ),
        ),
        "reviews": reviews(
            (("4", "3.5", "4", "4", "5"), FAV, ""),
            (("4", "4", "3.5", "3.5", "4.5"), FAV, ""),
        ),
        "consensus": ("78.50", "Démarche exemplaire pour le volet climat."),
        "decision": ("Comité de sélection DCOL 12", Decision.SELECT, ""),
        "mission": {
            "expert": d.CLIMACTIONS,
            "days": "14",
            "daily_rate": "700.00",
            "travel": "1500.00",
            "starts": date(2025, 12, 8),
            "ends": date(2026, 12, 18),
            "created": paris(2025, 11, 24, 10),
            "expected": "Bilan carbone ; grille d'analyse climat ; plan d'action.",
            "milestones": [
                (
                    Phase.DIAGNOSIS,
                    "Bilan carbone de l'action internationale",
                    date(2026, 4, 17),
                    date(2026, 4, 17),
                ),
                (Phase.RESTITUTION, "Formation des agents", date(2026, 10, 16), None),
                (Phase.FINAL_DELIVERABLE, "Plan d'action climat", date(2026, 12, 18), None),
            ],
            "reports": [
                (
                    d.CLIMACTIONS_USER,
                    date(2026, 4, 17),
                    "5",
                    "",
                    "Collecte des données de "
                    "déplacements et d'achats, premier bilan carbone présenté aux services.",
                    [],
                ),
            ],
        },
    },
    {
        "call": "DCOL12",
        "number": 5,
        "org": d.GRENOBLE,
        "track": "climate",
        "state": S.IN_PROGRESS,
        "title": "Bilan carbone et trajectoire climat de l'action internationale de Grenoble",
        "summary": (
            "Grenoble souhaite doter son action internationale d'une trajectoire climat : "
            "bilan carbone des échanges, critères climat pour les projets avec ses villes "
            "partenaires et adaptation au changement climatique."
        ),
        "themes": ["climate", "energy"],
        "countries": ["TN", "BF"],
        "cost": "9300.00",
        "created": paris(2025, 6, 16, 9),
        "submitted": paris(2025, 7, 2, 12, 20),
        "created_by": d.APPLICANT,
        "form": dcol_form(
            "Partenariats anciens en Tunisie et au Burkina Faso ; Capitale verte européenne 2022.",
            "Villes partenaires en Tunisie et au Burkina Faso",
            "Mettre l'action internationale en cohérence avec le plan climat de la Ville.",
            "Bilan carbone, trajectoire, critères climat pour les projets.",
            "Bilan carbone ; trajectoire climat ; critères d'analyse des projets.",
            "Janvier 2026 à janvier 2027.",
            ("deliberation", "2025-06-23"),
            CAMILLE,
        ),
        "reviews": reviews(
            (("4", "4", "4", "3.5", "4.5"), FAV, ""),
            (("3.5", "4", "4", "4", "4.5"), FAV, ""),
        ),
        "consensus": ("78.00", "Démarche cohérente avec le plan climat de la Ville."),
        "decision": ("Comité de sélection DCOL 12", Decision.SELECT, ""),
        "mission": {
            "expert": d.CLIMACTIONS,
            "days": "12",
            "daily_rate": "700.00",
            "travel": "900.00",
            "starts": date(2026, 1, 12),
            "ends": date(2027, 1, 29),
            "created": paris(2025, 12, 15, 10),
            "expected": "Bilan carbone ; trajectoire climat ; critères d'analyse des projets.",
            "milestones": [
                (
                    Phase.SCOPING,
                    "Cadrage avec la direction des relations internationales",
                    date(2026, 1, 23),
                    date(2026, 1, 23),
                ),
                (Phase.DIAGNOSIS, "Bilan carbone", date(2026, 5, 29), date(2026, 5, 29)),
                (
                    Phase.FINAL_DELIVERABLE,
                    "Trajectoire climat et critères",
                    date(2027, 1, 29),
                    None,
                ),
            ],
            "reports": [
                (
                    d.CLIMACTIONS_USER,
                    date(2026, 5, 29),
                    "4",
                    "",
                    "Bilan carbone des échanges 2023-2025 et premières pistes de réduction.",
                    [],
                ),
            ],
        },
    },
    {
        "call": "DCOL12",
        "number": 6,
        "org": d.PAYS_BASQUE,
        "track": "project",
        "state": S.REJECTED,
        "title": "Coopération avec les territoires de la diaspora basque en Argentine",
        "summary": (
            "La Communauté d'agglomération souhaite structurer des échanges économiques et "
            "culturels avec des villes argentines liées à la diaspora basque."
        ),
        "themes": ["economic_development", "culture"],
        "countries": ["AR"],
        "cost": "8000.00",
        "created": paris(2025, 6, 18, 11),
        "submitted": paris(2025, 7, 4, 22, 10),
        "form": dcol_form(
            "Contacts informels par les associations basques ; pas encore de convention.",
            "Villes de la province de Buenos Aires (Argentine)",
            "Identifier les partenaires et les thèmes d'un futur projet.",
            "Mission exploratoire et montage d'un projet.",
            "Rapport de mission ; document de projet.",
            "2026.",
            ("executive_letter", "2025-07-01"),
            (
                "Maialen Etcheverry",
                "Chargée de mission coopération",
                "cooperation@communaute-paysbasque.example",
            ),
        ),
        "reviews": reviews(
            (("3", "2", "2.5", "2.5", "2"), RES, "Partenariat encore à construire."),
            (("2.5", "1.5", "2.5", "2", "2"), UNFAV, "Pas de partenaire identifié à ce stade."),
        ),
        "consensus": ("48.50", "Partenariat insuffisamment formalisé."),
        "decision": (
            "Comité de sélection DCOL 12",
            Decision.REJECT,
            "Partenariat insuffisamment formalisé ; la collectivité est encouragée à "
            "redéposer une demande une fois ses partenaires identifiés.",
        ),
    },
]
