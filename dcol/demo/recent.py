"""Dossiers of 2026: the 13th DCOL call under way, and the Isère call for projects."""

from __future__ import annotations

from datetime import date

from dcol.demo import data as d
from dcol.demo.data import paris
from dcol.demo.dossiers import CAMILLE, EXP, FAV, INC, MARC, RES, UNFAV, S, aap_form, dcol_form
from dcol.demo.dossiers import reviews as both_reviews
from dcol.models import ConflictStatus, Decision, Phase

FIRST_SESSION = "Comité de sélection DCOL 13 — 1re session"

DCOL13_DOSSIERS = [
    {
        "call": "DCOL13",
        "number": 1,
        "org": d.FENSCH,
        "track": "strategy",
        "state": S.SELECTED,
        "title": "Stratégie internationale du Syndicat mixte Fensch Lorraine 2027-2032",
        "summary": (
            "Fort du projet pilote avec Binh Dinh, le syndicat veut se doter d'une stratégie "
            "internationale : quels partenariats, quels moyens, quelle place pour le 1 % eau."
        ),
        "themes": ["water_sanitation", "climate"],
        "countries": ["VN"],
        "cost": "7000.00",
        "created": paris(2026, 10, 1, 10),
        "submitted": paris(2026, 10, 2, 11, 15),
        "created_by": d.FENSCH_SIGNATORY,
        "form": dcol_form(
            "Coopération avec la province de Binh Dinh depuis 2007 ; appui DCOL en 2025 pour "
            "le projet pilote d'An Nhon.",
            "Province de Binh Dinh (Vietnam)",
            "Passer d'un projet à une politique internationale assumée par les élus.",
            "Diagnostic, ateliers avec les élus, rédaction de la stratégie.",
            "Stratégie internationale 2027-2032.",
            "Premier semestre 2027.",
            ("deliberation", "2026-09-24"),
            MARC,
        ),
        "reviews": both_reviews(
            (("4", "4.5", "4", "4", "3.5"), FAV, ""),
            (("4", "4", "4", "4", "3.5"), FAV, "Suite logique du précédent appui."),
        ),
        "consensus": ("79.50", "Suite logique de l'appui DCOL 11, élus mobilisés."),
        "decision": (FIRST_SESSION, Decision.SELECT, ""),
    },
    {
        "call": "DCOL13",
        "number": 2,
        "org": d.ISERE,
        "track": "climate",
        "state": S.MATCHING,
        "title": "Intégrer le climat dans les coopérations de l'Isère avec l'Arménie et le Sénégal",
        "summary": (
            "Le Département veut intégrer l'adaptation au changement climatique et la "
            "sécurité alimentaire dans ses coopérations historiques en Arménie et au Sénégal."
        ),
        "themes": ["climate", "food"],
        "countries": ["AM", "SN"],
        "cost": "11200.00",
        "created": paris(2026, 10, 2, 15),
        "submitted": paris(2026, 10, 5, 10, 30),
        "form": dcol_form(
            "Coopérations avec l'Arménie et le Sénégal depuis plus de vingt ans ; appel à "
            "projets annuel pour les collectivités iséroises.",
            "Arménie ; Sénégal",
            "Les projets agricoles soutenus subissent déjà sécheresses et épisodes de grêle.",
            "Analyse de vulnérabilité, critères climat, accompagnement des partenaires.",
            "Analyse de vulnérabilité ; grille climat ; plan d'action.",
            "Janvier à septembre 2027.",
            ("deliberation", "2026-09-18"),
            (
                "Isabelle Rey",
                "Cheffe du service coopération internationale",
                "cooperation@isere.example",
            ),
        ),
        "reviews": both_reviews(
            (("4.5", "4.5", "4", "4", "4.5"), FAV, ""),
            (("4", "4.5", "4", "4", "5"), FAV, ""),
        ),
        "consensus": ("85.00", "Excellent dossier, partenariats anciens, enjeu climat central."),
        "decision": (FIRST_SESSION, Decision.SELECT, ""),
    },
    {
        "call": "DCOL13",
        "number": 3,
        "org": d.GRESIVAUDAN,
        "track": "project",
        "state": S.EXPERT_PROPOSED,
        "title": "Projet d'assainissement autonome avec une commune rurale de Madagascar",
        "summary": (
            "La communauté de communes veut monter un projet d'assainissement autonome et de "
            "gestion des boues de vidange avec une commune rurale de la région Vakinankaratra, "
            "financé au titre du 1 % eau et assainissement."
        ),
        "themes": ["water_sanitation"],
        "countries": ["MG"],
        "cost": "9750.00",
        "created": paris(2026, 10, 1, 14),
        "submitted": paris(2026, 10, 6, 16),
        "form": dcol_form(
            "Échanges techniques entre services eau et assainissement depuis 2021.",
            "Commune rurale de la région Vakinankaratra (Madagascar)",
            "Concevoir un projet d'assainissement adapté et finançable.",
            "Diagnostic, options techniques, montage financier.",
            "Document de projet ; plan de financement.",
            "Premier semestre 2027.",
            ("deliberation", "2026-09-29"),
            (
                "Julie Bonnet",
                "Responsable du service eau et assainissement",
                "eau-assainissement@le-gresivaudan.example",
            ),
        ),
        "reviews": both_reviews(
            (("4", "3.5", "4", "4", "3.5"), FAV, ""),
            (("4", "3.5", "3.5", "4", "3.5"), FAV, ""),
        ),
        "consensus": ("75.00", "Besoin technique précis, bon ancrage des services."),
        "decision": (FIRST_SESSION, Decision.SELECT, ""),
        "proposal": {
            "expert": d.COOPEAU,
            "proposed_at": paris(2026, 11, 16, 10, 30),
            "days": "15",
            "start": date(2027, 1, 11),
            "end": date(2027, 6, 30),
            "explanation": {
                "themes": ["water_sanitation"],
                "countries": ["MG"],
                "languages": ["fr"],
                "available": True,
            },
        },
    },
    {
        "call": "DCOL13",
        "number": 4,
        "org": d.ECHIROLLES,
        "track": "strategy",
        "state": S.REVIEWED,
        "title": "Première stratégie internationale de la Ville d'Échirolles",
        "summary": (
            "Échirolles veut formaliser sa première stratégie internationale, en s'appuyant "
            "sur ses jumelages et sur les nombreuses associations de solidarité de la ville."
        ),
        "themes": ["youth_citizenship", "culture"],
        "countries": ["BF"],
        "cost": "8400.00",
        "created": paris(2026, 10, 12, 9),
        "submitted": paris(2026, 10, 22, 14, 50),
        "form": dcol_form(
            "Jumelage et échanges associatifs depuis les années 1990.",
            "Ville partenaire au Burkina Faso",
            "Donner un cadre politique et des moyens à une action internationale dispersée.",
            "Diagnostic, concertation des associations, stratégie.",
            "Stratégie internationale ; feuille de route.",
            "2027.",
            ("executive_letter", "2026-10-15"),
            (
                "Karima Mansouri",
                "Chargée de mission solidarité internationale",
                "international@echirolles.example",
            ),
        ),
        "reviews": both_reviews(
            (("4", "3.5", "3.5", "3.5", "3"), FAV, ""),
            (("3.5", "3.5", "3.5", "3.5", "3"), RES, "Moyens humains à préciser."),
        ),
        "consensus": ("69.00", "Demande pertinente ; moyens humains à confirmer."),
    },
    {
        "call": "DCOL13",
        "number": 5,
        "org": d.LYON,
        "track": "climate",
        "state": S.UNDER_REVIEW,
        "title": "Trajectoire bas carbone de la coopération avec Hô Chi Minh-Ville",
        "summary": (
            "La Métropole souhaite évaluer l'empreinte climatique de sa coopération avec "
            "Hô Chi Minh-Ville et y intégrer l'adaptation aux inondations urbaines."
        ),
        "themes": ["climate", "energy"],
        "countries": ["VN"],
        "cost": "12600.00",
        "created": paris(2026, 10, 20, 9),
        "submitted": paris(2026, 10, 27, 11),
        "form": dcol_form(
            "Coopération de longue date avec Hô Chi Minh-Ville (urbanisme, eau, mobilité).",
            "Hô Chi Minh-Ville (Vietnam)",
            "Mettre la coopération en cohérence avec le plan climat métropolitain.",
            "Bilan carbone, analyse des risques climatiques, plan d'action.",
            "Bilan carbone ; plan d'action climat de la coopération.",
            "2027.",
            ("deliberation", "2026-10-12"),
            ("Vincent Morel", "Chargé de mission Asie", "asie@grandlyon.example"),
        ),
        "reviews": [
            {"reviewer": d.REVIEWER, "conflict": ConflictStatus.NONE, "draft": True},
            {
                "reviewer": d.REVIEWER2,
                "scores": ("4", "4.5", "4", "4", "4.5"),
                "opinion": FAV,
                "comment": "Coopération exemplaire, volet climat bien posé.",
            },
        ],
    },
    {
        "call": "DCOL13",
        "number": 6,
        "org": d.PAYS_BASQUE,
        "track": "project",
        "state": S.UNDER_REVIEW,
        "title": "Montage d'un projet avec les villes de la diaspora basque en Argentine",
        "summary": (
            "Après une mission exploratoire en 2026, l'agglomération a signé une lettre "
            "d'intention avec deux villes argentines et demande un appui pour monter le projet."
        ),
        "themes": ["economic_development", "culture"],
        "countries": ["AR"],
        "cost": "9000.00",
        "created": paris(2026, 10, 26, 10),
        "submitted": paris(2026, 11, 2, 9, 40),
        "form": dcol_form(
            "Mission exploratoire en avril 2026 ; lettre d'intention signée en juin 2026.",
            "Deux villes de la province de Buenos Aires (Argentine)",
            "Transformer la lettre d'intention en projet de coopération économique et culturel.",
            "Montage du projet, plan de financement.",
            "Document de projet ; plan de financement.",
            "2027.",
            ("executive_letter", "2026-10-20"),
            (
                "Maialen Etcheverry",
                "Chargée de mission coopération",
                "cooperation@communaute-paysbasque.example",
            ),
        ),
        "reviews": [
            {"reviewer": d.REVIEWER, "conflict": ConflictStatus.PENDING, "draft": True},
            {"reviewer": d.REVIEWER2, "conflict": ConflictStatus.NONE, "draft": True},
        ],
    },
    {
        "call": "DCOL13",
        "number": 7,
        "org": d.MAYOTTE,
        "track": "strategy",
        "state": S.ELIGIBLE,
        "title": "Stratégie de coopération régionale avec les Comores et Madagascar",
        "summary": (
            "Le Département de Mayotte souhaite construire une stratégie de coopération "
            "régionale : santé, gestion des crises, jeunesse, développement économique."
        ),
        "themes": ["economic_development", "crisis_rehabilitation"],
        "countries": ["KM", "MG"],
        "created": paris(2026, 10, 28, 8),
        "submitted": paris(2026, 11, 5, 7, 30),
        "form": dcol_form(
            "Actions ponctuelles de coopération ; reconstruction après le cyclone Chido "
            "(décembre 2024).",
            "Comores ; Madagascar",
            "Définir des priorités et une organisation pour la coopération régionale.",
            "Diagnostic, concertation, stratégie.",
            "Stratégie de coopération régionale.",
            "2027.",
            ("deliberation", "2026-10-21"),
            (
                "Anli Madi",
                "Directeur de la coopération régionale",
                "cooperation.regionale@mayotte.example",
            ),
        ),
    },
    {
        "call": "DCOL13",
        "number": 8,
        "org": d.STRASBOURG,
        "track": "strategy",
        "state": S.SUBMITTED,
        "title": "Refonte de la stratégie internationale de la Ville de Strasbourg",
        "summary": (
            "Strasbourg veut refondre sa stratégie internationale autour de la solidarité avec "
            "l'Ukraine, de la jeunesse et du climat."
        ),
        "themes": ["climate", "youth_citizenship", "crisis_rehabilitation"],
        "countries": ["UA"],
        "created": paris(2026, 11, 9, 10),
        "submitted": paris(2026, 11, 18, 17, 5),
        "form": dcol_form(
            "Capitale européenne, nombreux jumelages ; solidarité avec les villes ukrainiennes "
            "depuis 2022.",
            "Villes partenaires en Ukraine",
            "Une stratégie de 2015 à actualiser.",
            "Bilan, concertation, nouvelle stratégie.",
            "Stratégie internationale 2027-2033.",
            "2027.",
            ("deliberation", "2026-11-09"),
            (
                "Thomas Klein",
                "Directeur des relations européennes et internationales",
                "international@strasbourg.example",
            ),
        ),
    },
    {
        "call": "DCOL13",
        "number": 9,
        "org": d.GRENOBLE,
        "track": "project",
        "state": S.DRAFT,
        "title": "Projet d'agriculture urbaine et d'alimentation durable avec Sfax (Tunisie)",
        "summary": (
            "Grenoble et sa ville jumelle de Sfax veulent monter un projet de jardins partagés "
            "et de circuits courts, dans la continuité de l'appui climat en cours."
        ),
        "themes": ["food", "climate"],
        "countries": ["TN"],
        "created": paris(2026, 11, 10, 9, 20),
        "created_by": d.APPLICANT,
        "form": {
            "context": {
                "history": "Jumelage avec Sfax ; échanges entre services espaces "
                "verts depuis 2019.",
                "partner_territories": "Sfax (Tunisie)",
            },
            "needs": {"needs": "Structurer un projet commun d'agriculture urbaine."},
            "contact": {
                "contact_name": CAMILLE[0],
                "contact_role": CAMILLE[1],
                "contact_email": CAMILLE[2],
            },
        },
        "editors": [(d.GRENOBLE_COLLEAGUE, d.APPLICANT, paris(2026, 11, 10, 9, 30))],
        "messages": [
            (
                d.APPLICANT,
                paris(2026, 11, 12, 14, 5),
                "Bonjour, notre délibération ne sera votée qu'au conseil municipal du 14 décembre. "
                "Pouvons-nous déposer avec une lettre du maire et compléter ensuite ?",
            ),
            (
                d.MANAGER,
                paris(2026, 11, 13, 9, 40),
                "Bonjour, oui : une lettre d'engagement signée du maire suffit pour le dépôt. "
                "Vous pourrez joindre la délibération ensuite.",
            ),
        ],
    },
]

AAP_SESSION = "Comité d'instruction — appel à projets Isère 2026"
AAP_DOSSIERS = [
    {
        "call": "AAP26-ISERE",
        "number": 1,
        "org": d.GRENOBLE,
        "track": "culture",
        "state": S.AGREEMENT,
        "title": "Résidences croisées de jeunes artistes entre Grenoble et l'Arménie",
        "summary": (
            "Deux résidences de jeunes artistes, à Grenoble puis dans la région de Shirak, "
            "avec ateliers dans les écoles de musique et restitution publique."
        ),
        "themes": ["culture", "youth_citizenship"],
        "countries": ["AM"],
        "requested": "13000.00",
        "created": paris(2026, 4, 2, 9),
        "submitted": paris(2026, 4, 24, 16, 30),
        "created_by": d.APPLICANT,
        "form": aap_form(
            "Conservatoire de Grenoble ; école de musique partenaire dans la région de Shirak.",
            "Favoriser la mobilité de jeunes artistes et les échanges entre écoles de musique.",
            "Deux résidences de trois semaines, ateliers, concert de restitution.",
            CAMILLE,
        ),
        "budget": [
            (EXP, "Voyages et hébergement des artistes", "14000.00", True),
            (EXP, "Ateliers et restitution publique", "7500.00", True),
            (EXP, "Coordination et communication", "4500.00", True),
            (INC, "Subvention demandée au Département de l'Isère", "13000.00", True),
            (INC, "Ville de Grenoble (fonds propres)", "9000.00", True),
            (INC, "Partenaire arménien (valorisation)", "4000.00", True),
        ],
        "reviews": both_reviews(
            (("4", "4", "3.5", "4"), FAV, ""),
            (("4", "3.5", "4", "3.5"), FAV, ""),
        ),
        "consensus": ("76.00", "Projet réciproque et bien budgété."),
        "decision": (AAP_SESSION, Decision.SELECT, ""),
    },
    {
        "call": "AAP26-ISERE",
        "number": 2,
        "org": d.ECHIROLLES,
        "track": "ecsi",
        "state": S.IN_PROGRESS,
        "title": "Festival jeunesse et solidarité internationale d'Échirolles",
        "summary": (
            "Interventions dans les collèges et un festival annuel pour sensibiliser les "
            "jeunes échirollois aux objectifs de développement durable."
        ),
        "themes": ["youth_citizenship"],
        "countries": ["FR"],
        "departments": ["38"],
        "requested": "10500.00",
        "created": paris(2026, 4, 8, 10),
        "submitted": paris(2026, 4, 28, 11, 15),
        "form": aap_form(
            "Collèges de la ville, associations de solidarité internationale, maison des jeunes.",
            "Sensibiliser 1 200 jeunes à la citoyenneté mondiale.",
            "Interventions en classe, expositions, festival en mai 2027.",
            (
                "Karima Mansouri",
                "Chargée de mission solidarité internationale",
                "international@echirolles.example",
            ),
        ),
        "budget": [
            (EXP, "Interventions en collèges et lycées", "9000.00", True),
            (EXP, "Festival et expositions", "12000.00", True),
            (EXP, "Valorisation du personnel municipal", "5000.00", False),
            (INC, "Subvention demandée au Département de l'Isère", "10500.00", True),
            (INC, "Ville d'Échirolles", "12500.00", True),
            (INC, "Région Auvergne-Rhône-Alpes", "3000.00", True),
        ],
        "reviews": both_reviews(
            (("4.5", "3.5", "4", "4.5"), FAV, ""),
            (("4", "3.5", "4", "4"), FAV, ""),
        ),
        "consensus": ("80.00", "Action bien ancrée dans le territoire."),
        "decision": (AAP_SESSION, Decision.SELECT, ""),
        # Calls for projects have no expert: the mission is the project's follow-up.
        "mission": {
            "starts": date(2026, 9, 1),
            "ends": date(2027, 6, 30),
            "created": paris(2026, 7, 10, 9),
            "expected": "Bilan des interventions ; bilan du festival ; bilan financier.",
            "milestones": [
                (Phase.OTHER, "Interventions dans les collèges", date(2027, 3, 31), None),
                (Phase.OTHER, "Festival", date(2027, 5, 22), None),
                (Phase.FINAL_DELIVERABLE, "Bilan final", date(2027, 6, 30), None),
            ],
        },
    },
    {
        "call": "AAP26-ISERE",
        "number": 3,
        "org": d.GRESIVAUDAN,
        "track": "culture",
        "state": S.REJECTED,
        "title": "Échanges musicaux entre le Grésivaudan et le Sénégal",
        "summary": "Tournée croisée d'ensembles musicaux amateurs entre le Grésivaudan et le "
        "Sénégal.",
        "themes": ["culture"],
        "countries": ["SN"],
        "requested": "15000.00",
        "created": paris(2026, 4, 20, 14),
        "submitted": paris(2026, 4, 30, 22, 41),
        "form": aap_form(
            "Ensembles musicaux amateurs du territoire ; partenaire sénégalais à confirmer.",
            "Faire se rencontrer des musiciens amateurs.",
            "Deux tournées de dix jours.",
            ("Julie Bonnet", "Chargée de mission culture", "culture@le-gresivaudan.example"),
        ),
        "budget": [
            (EXP, "Voyages des musiciens", "28000.00", True),
            (EXP, "Organisation des concerts", "12000.00", True),
            (INC, "Subvention demandée au Département de l'Isère", "15000.00", True),
            (INC, "Communauté de communes", "25000.00", True),
        ],
        "reviews": both_reviews(
            (("2.5", "1.5", "2.5", "3"), UNFAV, "Pas de lettre du partenaire sénégalais."),
            (("3", "2", "2", "2.5"), RES, ""),
        ),
        "consensus": (
            "47.00",
            "Partenaire sénégalais non identifié, budget déséquilibré vers les voyages.",
        ),
        "decision": (
            AAP_SESSION,
            Decision.REJECT,
            "Le partenaire sénégalais n'est pas identifié ; le comité encourage la "
            "communauté de communes à redéposer en 2027.",
        ),
    },
]
