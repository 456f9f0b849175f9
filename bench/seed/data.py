"""Reference data of the national-scale data set (``bench.seed``): French departments and
regions, name parts, how organisations are spread over kinds, the calls, and the funnel of
dossier states per age of call. Declarative only; ``bench.seed`` draws from it."""

from __future__ import annotations

from datetime import date

from dcol.demo.data import PARIS, paris
from dcol.models import ApplicationState, OrganisationKind, Theme

S = ApplicationState
K = OrganisationKind

# The data set tells the story as seen on this day (a Sunday evening in Paris).
NOW = paris(2026, 11, 22, 20)
TODAY = date(2026, 11, 22)

# Scale 1.0 sizes (``--scale`` multiplies each; a floor keeps small scales meaningful).
SIZES = {
    "organisations": 36_000,
    "experts": 1_000,
    "dossiers": 100_000,
}
CALLS = 20  # never scaled: the lists are per call, the data grows inside them
REVIEWERS, COMMITTEE, MANAGERS = 20, 6, 6
BENCH_PASSWORD = "dcol-bench-2026"

# (code, name, region): metropolitan France (Corsica as 2A/2B) and the overseas departments.
REGIONS = {
    "ARA": "Auvergne-Rhône-Alpes", "BFC": "Bourgogne-Franche-Comté", "BRE": "Bretagne",
    "CVL": "Centre-Val de Loire", "COR": "Corse", "GES": "Grand Est", "HDF": "Hauts-de-France",
    "IDF": "Île-de-France", "NOR": "Normandie", "NAQ": "Nouvelle-Aquitaine", "OCC": "Occitanie",
    "PDL": "Pays de la Loire", "PAC": "Provence-Alpes-Côte d'Azur", "GUA": "Guadeloupe",
    "MTQ": "Martinique", "GUF": "Guyane", "REU": "La Réunion", "MAY": "Mayotte",
}
_DEPARTMENTS_BY_REGION = {
    "ARA": "01 Ain,03 Allier,07 Ardèche,15 Cantal,26 Drôme,38 Isère,42 Loire,43 Haute-Loire,"
           "63 Puy-de-Dôme,69 Rhône,73 Savoie,74 Haute-Savoie",
    "BFC": "21 Côte-d'Or,25 Doubs,39 Jura,58 Nièvre,70 Haute-Saône,71 Saône-et-Loire,"
           "89 Yonne,90 Territoire de Belfort",
    "BRE": "22 Côtes-d'Armor,29 Finistère,35 Ille-et-Vilaine,56 Morbihan",
    "CVL": "18 Cher,28 Eure-et-Loir,36 Indre,37 Indre-et-Loire,41 Loir-et-Cher,45 Loiret",
    "COR": "2A Corse-du-Sud,2B Haute-Corse",
    "GES": "08 Ardennes,10 Aube,51 Marne,52 Haute-Marne,54 Meurthe-et-Moselle,55 Meuse,"
           "57 Moselle,67 Bas-Rhin,68 Haut-Rhin,88 Vosges",
    "HDF": "02 Aisne,59 Nord,60 Oise,62 Pas-de-Calais,80 Somme",
    "IDF": "75 Paris,77 Seine-et-Marne,78 Yvelines,91 Essonne,92 Hauts-de-Seine,"
           "93 Seine-Saint-Denis,94 Val-de-Marne,95 Val-d'Oise",
    "NOR": "14 Calvados,27 Eure,50 Manche,61 Orne,76 Seine-Maritime",
    "NAQ": "16 Charente,17 Charente-Maritime,19 Corrèze,23 Creuse,24 Dordogne,33 Gironde,"
           "40 Landes,47 Lot-et-Garonne,64 Pyrénées-Atlantiques,79 Deux-Sèvres,86 Vienne,"
           "87 Haute-Vienne",
    "OCC": "09 Ariège,11 Aude,12 Aveyron,30 Gard,31 Haute-Garonne,32 Gers,34 Hérault,46 Lot,"
           "48 Lozère,65 Hautes-Pyrénées,66 Pyrénées-Orientales,81 Tarn,82 Tarn-et-Garonne",
    "PDL": "44 Loire-Atlantique,49 Maine-et-Loire,53 Mayenne,72 Sarthe,85 Vendée",
    "PAC": "04 Alpes-de-Haute-Provence,05 Hautes-Alpes,06 Alpes-Maritimes,13 Bouches-du-Rhône,"
           "83 Var,84 Vaucluse",
    "GUA": "971 Guadeloupe", "MTQ": "972 Martinique", "GUF": "973 Guyane",
    "REU": "974 La Réunion", "MAY": "976 Mayotte",
}
DEPARTMENTS: list[tuple[str, str, str]] = [
    (code, name, REGIONS[region])
    for region, text in _DEPARTMENTS_BY_REGION.items()
    for code, name in (item.split(" ", 1) for item in text.split(","))
]
OVERSEAS_CODES = {"971", "972", "973", "974", "976"}

# How the ~35,000 local authorities split (communes dominate, as in France); "other" are the
# associations and public bodies that register too. Weights, not counts.
KIND_WEIGHTS = {
    K.COMMUNE: 880, K.INTERCOMMUNALITY: 35, K.SYNDICATE: 60, K.DEPARTMENT: 3, K.REGION: 1,
    K.OVERSEAS: 1, K.OTHER: 20,
}
# First two digits of the SIREN, by kind (INSEE numbers public bodies so: 21 communes,
# 22 departments, 23 regions, 24/25 groupings); the rest is a counter and a Luhn digit.
SIREN_PREFIX = {
    K.COMMUNE: "21", K.DEPARTMENT: "22", K.REGION: "23", K.INTERCOMMUNALITY: "24",
    K.SYNDICATE: "25", K.OVERSEAS: "26", K.OTHER: "77",
}
CUF_MEMBER_SHARE = 3_400 / 36_000

NAME_ROOTS = (
    "Saint-Martin", "Beaumont", "Villeneuve", "Montagne", "Fontaine", "Bellevue", "Châteauneuf",
    "Rochefort", "Pontcharra", "Valmont", "Clairvaux", "Mirebeau", "Champagnac", "Lavaur",
    "Sainte-Croix", "Brignoles", "Aurillac", "Mornant", "Gourdon", "Saint-Aubin", "Mauriac",
    "Bourg-Neuf", "Longeville", "Marsac", "Plouguerneau", "Kervignac", "Hautefort", "Val-Fleuri",
    "Ribérac", "Sarlat", "Échirolles", "Montbrison", "Vauvert", "Lunel", "Crolles", "Thorigny",
)
NAME_SUFFIXES = (
    "", "", "", "-sur-Loire", "-sur-Mer", "-les-Bains", "-en-Vercors", "-le-Château",
    "-sur-Saône", "-d'Azur", "-la-Forêt", "-le-Vieux", "-en-Bresse", "-sur-Lot",
)
FIRST_NAMES = (
    "Camille", "Léa", "Manon", "Chloé", "Inès", "Sarah", "Julie", "Claire", "Amina", "Fatou",
    "Thomas", "Lucas", "Hugo", "Karim", "Julien", "Nicolas", "Mamadou", "Pierre", "Antoine",
    "Sophie", "Nadia", "Élodie", "Yann", "Malik", "Anne", "Paul", "Marie", "Louis", "Emma",
)
LAST_NAMES = (
    "Martin", "Bernard", "Dubois", "Durand", "Lefebvre", "Moreau", "Laurent", "Simon", "Michel",
    "Garcia", "Roux", "Fournier", "Girard", "Bonnet", "Mercier", "Diallo", "Nguyen", "Haddad",
    "Petrossian", "Lambert", "Fontaine", "Chevalier", "Robin", "Gauthier", "Perrin", "Morel",
)
COUNTRIES = (
    "SN", "BF", "ML", "MG", "BJ", "CM", "MA", "TN", "LB", "PS", "AM", "VN", "KH", "LA", "HT",
    "AR", "BR", "CL", "MX", "JP", "CA", "UA", "PL", "DE", "IL", "CI", "NE", "TG", "MR", "DZ",
)
TITLE_VERBS = (
    "Appui à", "Élaboration de", "Renforcement de", "Montage de", "Diagnostic de",
    "Structuration de", "Accompagnement de",
)
TITLE_OBJECTS = (
    "la stratégie internationale", "la gestion de l'eau potable", "la coopération culturelle",
    "la filière déchets", "l'adaptation au changement climatique", "l'éducation à la citoyenneté",
    "la gouvernance locale", "l'accès à l'énergie", "la sécurité alimentaire",
    "l'égalité femmes-hommes", "la jeunesse et la mobilité", "le développement économique local",
)
EXPERT_SUFFIXES = ("Conseil", "Territoires", "Coopération", "Partenariats", "Expertise", "Études")
FUNDERS = [
    ("AFD", "Agence française de développement"),
    ("CDC", "Caisse des Dépôts"),
    ("DCTCIV", "Délégation pour les collectivités territoriales et la société civile (MEAE)"),
]
# Departments running their own call for projects (code, owner name, department code).
AAP_OWNERS = [
    ("ISERE", "Département de l'Isère", "38"),
    ("GIRONDE", "Département de la Gironde", "33"),
    ("NORD", "Département du Nord", "59"),
    ("HERAULT", "Département de l'Hérault", "34"),
    ("BRETAGNE", "Région Bretagne", "35"),
    ("RHONE", "Département du Rhône", "69"),
    ("FINISTERE", "Département du Finistère", "29"),
    ("VAR", "Département du Var", "83"),
]

# The 20 calls, oldest first: (kind, year, month it opens). DCOL opens twice a year on most
# years; each year a department or a region runs a call for projects.
CALL_PLAN = [
    ("dcol", 2019, 4), ("aap", 2019, 3), ("dcol", 2019, 10), ("dcol", 2020, 5),
    ("aap", 2020, 3), ("dcol", 2021, 4), ("aap", 2021, 3), ("dcol", 2021, 10),
    ("dcol", 2022, 5), ("aap", 2022, 3), ("dcol", 2023, 4), ("aap", 2023, 3),
    ("dcol", 2023, 10), ("dcol", 2024, 5), ("aap", 2024, 3), ("dcol", 2025, 5),
    ("aap", 2025, 3), ("dcol", 2025, 10), ("aap", 2026, 3), ("dcol", 2026, 10),
]

# The funnel: share of a call's dossiers in each state, by the call's age.
# - "archived": the committee sat long ago; every support is closed or nearly.
# - "follow_up": decided within the last two years; supports under way.
# - "instruction": still open or being reviewed; nothing decided yet.
FUNNEL = {
    "archived": {
        S.DRAFT: 14, S.WITHDRAWN: 6, S.INELIGIBLE: 8, S.REJECTED: 38, S.WAITLISTED: 1,
        S.CLOSED: 26, S.FINAL_REPORT: 1, S.IN_PROGRESS: 1,
    },
    "follow_up": {
        S.DRAFT: 12, S.WITHDRAWN: 5, S.INELIGIBLE: 7, S.REJECTED: 28, S.WAITLISTED: 5,
        S.SELECTED: 3, S.MATCHING: 3, S.EXPERT_PROPOSED: 2, S.AGREEMENT: 6, S.IN_PROGRESS: 13,
        S.FINAL_REPORT: 6, S.CLOSED: 10,
    },
    "instruction": {
        S.DRAFT: 32, S.SUBMITTED: 24, S.CHANGES_REQUESTED: 7, S.ELIGIBLE: 9, S.INELIGIBLE: 4,
        S.UNDER_REVIEW: 12, S.REVIEWED: 8, S.WITHDRAWN: 4,
    },
}
# Days between an event and the one before it on the trail (low, high); the committee's
# decisions are pinned to its session instead.
EVENT_DAYS = {
    "request_changes": (3, 12), "declare_eligible": (3, 15), "declare_ineligible": (3, 15),
    "start_review": (2, 10), "complete_review": (10, 30), "start_matching": (5, 15),
    "propose_expert": (10, 30), "accept_mission": (2, 10), "prepare_agreement": (10, 30),
    "start": (15, 45), "submit_final_report": (120, 240), "close": (15, 45),
    "withdraw": (5, 60),
}
__all__ = ["PARIS"]
THEMES = [theme.value for theme in Theme]
