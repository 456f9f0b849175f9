"""Reference data of the demonstration: funders, collectivités, experts and accounts.

Everything here is declarative; ``dcol.demo.seed`` finds or creates each row by its natural key.
Amounts are strings turned into ``Decimal`` when seeded, never floats.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from dcol.models import ExpertKind, MembershipStatus, OrganisationKind, Role, Theme, WorldRegion

PARIS = ZoneInfo("Europe/Paris")
# The demonstration tells the story as seen on this day.
TODAY = date(2026, 11, 22)


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A moment in Paris local time, timezone-aware (stored in UTC)."""
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


DEMO_PASSWORD = "dcol-demo-2026"

# --- funders ---------------------------------------------------------------------------------

FUNDERS = [
    ("AFD", "Agence française de développement"),
    ("CDC", "Caisse des Dépôts"),
    ("DCTCIV", "Délégation pour les collectivités territoriales et la société civile (MEAE)"),
]

# --- collectivités ---------------------------------------------------------------------------
# SIRENs follow INSEE's numbering of public bodies with a computed Luhn check digit: they pass
# python-stdnum's validation but are illustrative; check the SIRENE register before real use.

FENSCH = "255702417"
GENNEVILLIERS = "219200367"
THOREY = "215405226"
REUNION = "239740012"
MARSEILLE = "211300553"
GRENOBLE = "213801855"
ISERE = "223800012"
LYON = "200046977"
MAYOTTE = "229760012"
STRASBOURG = "216704825"
PAYS_BASQUE = "200067015"
ECHIROLLES = "213801517"
GRESIVAUDAN = "200018125"
VIF = "213805450"

K = OrganisationKind
# fmt: off
ORGANISATIONS = [
    # (SIREN, name, kind, region, department, population, CUF member, postcode, city)
    (FENSCH, "Syndicat mixte Fensch Lorraine", K.SYNDICATE, "Grand Est", "57", 68000, True, "57700", "Hayange"),
    (GENNEVILLIERS, "Ville de Gennevilliers", K.COMMUNE, "Île-de-France", "92", 48600, True, "92230", "Gennevilliers"),
    (THOREY, "Commune de Thorey-Lyautey", K.COMMUNE, "Grand Est", "54", 150, False, "54115", "Thorey-Lyautey"),
    (REUNION, "Région Réunion", K.REGION, "La Réunion", "974", 885700, True, "97400", "Saint-Denis"),
    (MARSEILLE, "Ville de Marseille", K.COMMUNE, "Provence-Alpes-Côte d'Azur", "13", 873000, True, "13002", "Marseille"),
    (GRENOBLE, "Ville de Grenoble", K.COMMUNE, "Auvergne-Rhône-Alpes", "38", 156700, True, "38000", "Grenoble"),
    (ISERE, "Département de l'Isère", K.DEPARTMENT, "Auvergne-Rhône-Alpes", "38", 1285000, True, "38000", "Grenoble"),
    (LYON, "Métropole de Lyon", K.INTERCOMMUNALITY, "Auvergne-Rhône-Alpes", "69", 1424000, True, "69003", "Lyon"),
    (MAYOTTE, "Département de Mayotte", K.OVERSEAS, "Mayotte", "976", 321000, False, "97600", "Mamoudzou"),
    (STRASBOURG, "Ville de Strasbourg", K.COMMUNE, "Grand Est", "67", 291300, True, "67000", "Strasbourg"),
    (PAYS_BASQUE, "Communauté d'agglomération Pays Basque", K.INTERCOMMUNALITY, "Nouvelle-Aquitaine", "64", 316000, True, "64100", "Bayonne"),
    (ECHIROLLES, "Ville d'Échirolles", K.COMMUNE, "Auvergne-Rhône-Alpes", "38", 37200, True, "38130", "Échirolles"),
    (GRESIVAUDAN, "Communauté de communes Le Grésivaudan", K.INTERCOMMUNALITY, "Auvergne-Rhône-Alpes", "38", 101000, False, "38190", "Crolles"),
    (VIF, "Commune de Vif", K.COMMUNE, "Auvergne-Rhône-Alpes", "38", 8800, False, "38450", "Vif"),
]
# fmt: on
# Registered but not yet validated by CUF staff; every other organisation is active.
PENDING_ORGANISATIONS = {VIF}
ORGANISATIONS_VALIDATED_AT = paris(2024, 9, 2, 10)

# --- experts ---------------------------------------------------------------------------------

COOPEAU = "Coop'Eau Conseil"
CLIMACTIONS = "Clim'Actions Territoires"
HORIZONS = "Horizons Coopération"
MEDITERRANEE = "Méditerranée Partenariats"
SAHEL = "Sahel Développement Local"
PETROSSIAN = "Anna Petrossian"
ROUX = "Jean-Pierre Roux"

T, W = Theme, WorldRegion
EXPERTS = [
    {
        "name": COOPEAU,
        "kind": ExpertKind.CONSULTANCY,
        "contact_name": "Thomas Nguyen",
        "email": "contact@coopeau-conseil.example",
        "skills": [T.WATER_SANITATION, T.CLIMATE],
        "keywords": [
            "eau potable",
            "assainissement",
            "gouvernance des services d'eau",
            "syndicats des eaux",
            "loi Oudin-Santini",
            "projet pilote",
        ],
        "countries": ["VN", "KH", "LA", "MG", "SN", "BF"],
        "regions": [W.ASIA, W.AFRICA],
        "languages": ["fr", "en", "vi"],
        "daily_rate": "650.00",
        "capacity": 2,
        "references": (
            "Syndicat mixte Fensch Lorraine (2025) : réorientation d'un projet pilote d'accès à "
            "l'eau avec la province de Binh Dinh (Vietnam), mission de terrain et enquête sur les "
            "besoins locaux.\nSyndicat des eaux d'Île-de-France : évaluation de projets financés "
            "au titre du 1 % eau au Cambodge et au Laos.\nAppui à des communes rurales de "
            "Madagascar pour la délégation de service public de l'eau."
        ),
    },
    {
        "name": CLIMACTIONS,
        "kind": ExpertKind.CONSULTANCY,
        "contact_name": "Karim Haddad",
        "email": "bonjour@climactions.example",
        "skills": [T.CLIMATE, T.ENERGY, T.WASTE],
        "keywords": [
            "adaptation",
            "atténuation",
            "bilan carbone",
            "plan climat (PCAET)",
            "coopération bas carbone",
        ],
        "countries": ["MA", "TN", "SN", "CI", "BF"],
        "regions": [W.MEDITERRANEAN, W.AFRICA, W.FRANCE],
        "languages": ["fr", "en", "ar"],
        "daily_rate": "700.00",
        "capacity": 3,
        "references": (
            "Bilan carbone des actions internationales d'une métropole et trajectoire de "
            "réduction (2024).\nAccompagnement de villes marocaines et tunisiennes dans leurs "
            "plans d'adaptation au changement climatique.\nFormation des services relations "
            "internationales à la prise en compte du climat dans les projets de coopération."
        ),
    },
    {
        "name": HORIZONS,
        "kind": ExpertKind.CONSULTANCY,
        "contact_name": "Aminata Diallo",
        "email": "contact@horizons-cooperation.example",
        "skills": [T.ECONOMIC_DEVELOPMENT, T.GENDER, T.YOUTH_CITIZENSHIP],
        "keywords": [
            "stratégie internationale",
            "coopération régionale",
            "océan Indien",
            "évaluation",
            "ingénierie de projet",
        ],
        "countries": ["MG", "KM", "MU", "SN", "ML", "HT"],
        "regions": [W.AFRICA, W.AMERICAS, W.FRANCE],
        "languages": ["fr", "en", "mg"],
        "daily_rate": "720.00",
        "capacity": 2,
        "references": (
            "Élaboration de stratégies internationales pour deux conseils départementaux et une "
            "région d'outre-mer.\nÉvaluation à mi-parcours de programmes de coopération "
            "décentralisée avec Madagascar et les Comores.\nAnimation de démarches "
            "participatives avec les acteurs de la solidarité internationale du territoire."
        ),
    },
    {
        "name": MEDITERRANEE,
        "kind": ExpertKind.CONSULTANCY,
        "contact_name": "Youssef Benali",
        "email": "equipe@mediterranee-partenariats.example",
        "skills": [T.ECONOMIC_DEVELOPMENT, T.WASTE, T.CRISIS_REHABILITATION],
        "keywords": [
            "gestion des déchets",
            "développement économique local",
            "jumelages",
            "Maghreb",
            "Liban",
        ],
        "countries": ["MA", "TN", "DZ", "LB", "PS"],
        "regions": [W.MEDITERRANEAN],
        "languages": ["fr", "ar", "en"],
        "daily_rate": "680.00",
        "capacity": 2,
        "references": (
            "Montage d'un projet de tri et de valorisation des déchets entre une ville "
            "francilienne et une commune marocaine.\nAppui aux municipalités libanaises après "
            "l'explosion du port de Beyrouth (2020-2022).\nDiagnostic des partenariats de "
            "jumelage d'une métropole avec le Maghreb."
        ),
    },
    {
        "name": SAHEL,
        "kind": ExpertKind.CONSULTANCY,
        "contact_name": "Ousmane Sow",
        "email": "contact@sahel-dl.example",
        "skills": [T.FOOD, T.WATER_SANITATION, T.GENDER, T.ECONOMIC_DEVELOPMENT],
        "keywords": [
            "décentralisation",
            "maîtrise d'ouvrage communale",
            "sécurité alimentaire",
            "filières agricoles",
        ],
        "countries": ["SN", "BF", "ML", "NE", "MR"],
        "regions": [W.AFRICA],
        "languages": ["fr", "wo", "en"],
        "daily_rate": "560.00",
        "capacity": 2,
        "references": (
            "Appui à la maîtrise d'ouvrage de communes rurales sénégalaises (2019-2024).\n"
            "Étude de faisabilité d'un projet de sécurité alimentaire au Burkina Faso pour un "
            "département français."
        ),
    },
    {
        "name": PETROSSIAN,
        "kind": ExpertKind.PERSON,
        "contact_name": "Anna Petrossian",
        "email": "anna.petrossian@expert.example",
        "skills": [T.CULTURE, T.YOUTH_CITIZENSHIP, T.CRISIS_REHABILITATION],
        "keywords": [
            "coopération culturelle",
            "reconstruction",
            "échanges de jeunes",
            "patrimoine",
        ],
        "countries": ["AM", "UA", "GE", "MD"],
        "regions": [W.EUROPE],
        "languages": ["fr", "hy", "uk", "ru", "en"],
        "daily_rate": "550.00",
        "capacity": 1,
        "references": (
            "Coordination d'échanges culturels entre collectivités françaises et arméniennes "
            "(Gyumri, Vanadzor).\nAppui aux villes françaises solidaires de l'Ukraine pour la "
            "reconstruction d'équipements scolaires (2023-2025)."
        ),
    },
    {
        "name": ROUX,
        "kind": ExpertKind.PERSON,
        "contact_name": "Jean-Pierre Roux",
        "email": "jp.roux@expert.example",
        "skills": [T.ECONOMIC_DEVELOPMENT],
        "keywords": ["stratégie internationale", "Amérique latine", "Haïti"],
        "countries": ["HT", "AR", "BR"],
        "regions": [W.AMERICAS],
        "languages": ["fr", "es", "pt"],
        "daily_rate": "600.00",
        "capacity": 1,
        "is_active": False,
        "references": (
            "Stratégies internationales de villes moyennes tournées vers l'Amérique latine "
            "(2012-2022). A cessé son activité de conseil en 2025."
        ),
    },
]

EXPERT_CONFLICTS = [
    (
        MEDITERRANEE,
        MARSEILLE,
        "L'associé fondateur a dirigé la mission Méditerranée de la Ville de Marseille "
        "jusqu'en 2023.",
        paris(2025, 1, 15, 9),
    ),
]

UNAVAILABILITIES = [
    (HORIZONS, date(2026, 12, 14), date(2027, 1, 8), "Mission longue à Madagascar"),
    (PETROSSIAN, date(2027, 3, 1), date(2027, 3, 31), "Congé"),
]

# --- accounts --------------------------------------------------------------------------------

APPLICANT = "collectivite@demo.dcol.fr"
REVIEWER = "instructeur@demo.dcol.fr"
COMMITTEE = "comite@demo.dcol.fr"
MANAGER = "chargee-dcol@demo.dcol.fr"
EXPERT = "expert@demo.dcol.fr"
ADMIN = "admin@demo.dcol.fr"
GRENOBLE_COLLEAGUE = "collegue-grenoble@demo.dcol.fr"
FENSCH_SIGNATORY = "fensch@demo.dcol.fr"
PENDING_MEMBER = "vif@demo.dcol.fr"
REVIEWER2 = "instructrice@demo.dcol.fr"
CLIMACTIONS_USER = "climactions@demo.dcol.fr"
HORIZONS_USER = "horizons@demo.dcol.fr"
MEDITERRANEE_USER = "mediterranee@demo.dcol.fr"

# One account per role, for the README and the tests: (role, e-mail, full name).
DEMO_ACCOUNTS = [
    (Role.APPLICANT.value, APPLICANT, "Camille Martin"),
    (Role.REVIEWER.value, REVIEWER, "Julien Moreau"),
    (Role.COMMITTEE.value, COMMITTEE, "Hélène Dubois"),
    (Role.MANAGER.value, MANAGER, "Sophie Laurent"),
    (Role.EXPERT.value, EXPERT, "Thomas Nguyen"),
    (Role.ADMIN.value, ADMIN, "Administrateur DCOL"),
]

ACTIVE = MembershipStatus.ACTIVE
# Every account, the demo ones first. All share ``DEMO_PASSWORD``.
ACCOUNTS = [
    {
        "email": APPLICANT,
        "name": "Camille Martin",
        "roles": [Role.APPLICANT],
        "job_title": "Chargée des relations internationales",
        "organisation": GRENOBLE,
        "membership": ACTIVE,
        "signatory": True,
    },
    {
        "email": REVIEWER,
        "name": "Julien Moreau",
        "roles": [Role.REVIEWER],
        "job_title": "Chargé de mission Afrique, instructeur DCOL",
    },
    {
        "email": COMMITTEE,
        "name": "Hélène Dubois",
        "roles": [Role.COMMITTEE],
        "job_title": "Membre du comité de sélection DCOL",
    },
    {
        "email": MANAGER,
        "name": "Sophie Laurent",
        "roles": [Role.MANAGER],
        "job_title": "Chargée de mission DCOL",
    },
    {
        "email": EXPERT,
        "name": "Thomas Nguyen",
        "roles": [Role.EXPERT],
        "job_title": "Consultant eau et assainissement",
        "expert": COOPEAU,
    },
    {
        "email": ADMIN,
        "name": "Administrateur DCOL",
        "roles": [Role.ADMIN],
        "job_title": "Administration de la plateforme",
    },
    {
        "email": GRENOBLE_COLLEAGUE,
        "name": "Lucas Garnier",
        "roles": [Role.APPLICANT],
        "job_title": "Chargé de projets solidarité internationale",
        "organisation": GRENOBLE,
        "membership": ACTIVE,
        "signatory": False,
    },
    {
        "email": FENSCH_SIGNATORY,
        "name": "Marc Schneider",
        "roles": [Role.APPLICANT],
        "job_title": "Directeur du syndicat",
        "organisation": FENSCH,
        "membership": ACTIVE,
        "signatory": True,
    },
    {
        "email": PENDING_MEMBER,
        "name": "Élodie Roche",
        "roles": [Role.APPLICANT],
        "job_title": "Adjointe au maire chargée de la solidarité internationale",
        "organisation": VIF,
        "membership": MembershipStatus.PENDING,
        "signatory": True,
    },
    {
        "email": REVIEWER2,
        "name": "Claire Petit",
        "roles": [Role.REVIEWER],
        "job_title": "Chargée de mission Méditerranée, instructrice DCOL",
    },
    {
        "email": CLIMACTIONS_USER,
        "name": "Karim Haddad",
        "roles": [Role.EXPERT],
        "job_title": "Associé, Clim'Actions Territoires",
        "expert": CLIMACTIONS,
    },
    {
        "email": HORIZONS_USER,
        "name": "Aminata Diallo",
        "roles": [Role.EXPERT],
        "job_title": "Directrice, Horizons Coopération",
        "expert": HORIZONS,
    },
    {
        "email": MEDITERRANEE_USER,
        "name": "Youssef Benali",
        "roles": [Role.EXPERT],
        "job_title": "Consultant, Méditerranée Partenariats",
        "expert": MEDITERRANEE,
    },
]
