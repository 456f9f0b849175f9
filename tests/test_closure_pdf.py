"""The closure report's PDF (bilan de clôture): built from hand-made contents, read back with
pypdf. Always French, amounts in French format, planned against actual, the funders' split never
shown."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from flask_babel import force_locale
from pypdf import PdfReader

from dcol.finance.computation import CostLine, FunderPart, Inputs, Terms, compute
from dcol.missions.closure_pdf import (
    ClosureContent,
    CostRow,
    DeliverableLine,
    MilestoneLine,
    PaymentLine,
    SatisfactionBlock,
    ShareRow,
    TimelineEntry,
    build_closure_pdf,
    share_row,
)
from tests.pdf_support import pdf_text

FUNDERS = (FunderPart("AFD", Decimal("60")), FunderPart("CDC", Decimal("40")))


def page_count(content: bytes) -> int:
    return len(PdfReader(io.BytesIO(content)).pages)


def moment(day: int, month: int, hour: int = 10) -> datetime:
    return datetime(2025, month, day, hour, 0, tzinfo=UTC)


def dcol_content(**changes) -> ClosureContent:
    content = ClosureContent(
        reference="DCOL12-0007",
        call_title="DCOL 2025 — coopération décentralisée",
        with_expert=True,
        title="Schéma directeur de l'eau",
        organisation="Ville de Tulle",
        expert="Cabinet Hydra Conseil",
        summary="Appui à la régie des eaux de la ville partenaire.",
        timeline=(
            TimelineEntry(moment(3, 2, 22), "Convention signée"),  # out of order on purpose
            TimelineEntry(moment(10, 1), "Dossier déposé"),
            TimelineEntry(moment(30, 11), "Dossier clôturé"),
        ),
        milestones=(
            MilestoneLine("Diagnostic", "Réunion de lancement", date(2025, 3, 1), date(2025, 3, 1)),
            MilestoneLine("Diagnostic", "Mission de terrain", date(2025, 5, 1), date(2025, 5, 6)),
            MilestoneLine("Restitution", "Atelier de restitution", date(2025, 9, 1), None),
        ),
        contracted_days=Decimal("12.5"),
        actual_days=Decimal("11"),
        daily_rate=Decimal("1000"),
        planned_costs=(
            CostRow("Jours d'expertise", Decimal("12500"), "days"),
            CostRow("Frais de mission et de déplacement", Decimal("1500"), "expenses"),
        ),
        actual_costs=(
            CostRow("Jours d'expertise", Decimal("11000"), "days"),
            CostRow("Frais de mission réalisés", Decimal("1800"), "expenses"),
        ),
        planned_total=Decimal("14000"),
        actual_total=Decimal("12800"),
        retained_total=Decimal("12500"),
        planned=ShareRow(Decimal("14000"), Decimal("80"), Decimal("11200"), Decimal("2800")),
        final=ShareRow(Decimal("12500"), Decimal("80"), Decimal("10000"), Decimal("2500")),
        reports_count=4,
        field_missions=("Quy Nhơn", "An Nhơn"),
        expenses_total=Decimal("1800"),
        deliverables=(
            DeliverableLine("Note de cadrage", False, 1, "Validé", date(2025, 3, 20), moment(2, 4)),
            DeliverableLine("Rapport final", True, 2, "Validé", date(2025, 11, 2), moment(12, 11)),
        ),
        satisfaction=SatisfactionBlock(
            quality=4,
            timeliness=3,
            relevance=5,
            overall=2,
            comment="Expert très disponible, restitution un peu tardive.",
            answered_at=moment(20, 11),
            respondent="Claire Martin",
        ),
        payments=(
            PaymentLine("Acompte à l'expert", Decimal("3360"), "Payé", date(2025, 3, 15)),
            PaymentLine("Solde à l'expert", Decimal("6640"), "Programmé", None),
        ),
        closed_at=datetime(2025, 11, 30, 23, 30, tzinfo=UTC),
        closed_by="Jean Dupont",
    )
    return replace(content, **changes)


def aap_content(**changes) -> ClosureContent:
    breakdown_at = {  # a ceiling in the agreement, the committed amount at the end
        "planned": compute(
            Inputs("commune", (CostLine("Travaux", amount=Decimal("60000")),)),
            Terms(
                version=1,
                rates={"commune": Decimal("50")},
                ceiling=Decimal("20000"),
                funders=FUNDERS,
            ),
        ),
        "final": compute(
            Inputs(
                "commune",
                (CostLine("Travaux", amount=Decimal("45000")),),
                committed=Decimal("20000"),
            ),
            Terms(
                version=1,
                rates={"commune": Decimal("50")},
                ceiling=Decimal("30000"),
                funders=FUNDERS,
            ),
        ),
    }
    content = dcol_content(
        reference="AAP25-0003",
        call_title="Appel à projets 2025",
        with_expert=False,
        title="Festival des cultures partagées",
        organisation="Département de l'Isère",
        expert=None,
        contracted_days=None,
        actual_days=Decimal("0"),
        daily_rate=None,
        planned_costs=(CostRow("Dépenses éligibles du projet", Decimal("60000"), "project"),),
        actual_costs=(CostRow("Dépenses réalisées du projet", Decimal("45000"), "project"),),
        planned_total=Decimal("60000"),
        actual_total=Decimal("45000"),
        retained_total=Decimal("45000"),
        planned=share_row(breakdown_at["planned"]),
        final=share_row(breakdown_at["final"]),
        field_missions=(),
        expenses_total=Decimal("45000"),
        satisfaction=None,
        payments=(PaymentLine("Avance de subvention", Decimal("6000"), "Payé", date(2025, 6, 3)),),
    )
    return replace(content, **changes)


def test_dcol_closure_report(french):
    pdf = build_closure_pdf(dcol_content())
    assert pdf.startswith(b"%PDF")
    content = pdf_text(pdf)
    for expected in (
        "Bilan de clôture",
        "Dossier DCOL12-0007",
        "1 décembre 2025 à 00:30 (heure de Paris) par Jean Dupont",  # closed_at in Paris time
        # identification
        "Collectivité Ville de Tulle",
        "DCOL 2025 — coopération décentralisée",
        "Expert Cabinet Hydra Conseil",
        "Schéma directeur de l'eau",
        "Appui à la régie des eaux de la ville partenaire.",
        # timeline, in order, then milestones
        "Dossier déposé",
        "Réunion de lancement",
        "dans les délais",
        "en retard de 5 j",
        "non réalisé",
        "2 jalon(s) réalisé(s) sur 3 ; 2 en retard ou non réalisé(s).",
        # days and costs: planned, actual, difference
        "Jours et coûts",
        "Nombre de jours d'expertise au tarif journalier de 1 000,00 € HT 12,5 11 -1,5",
        "Jours d'expertise 12 500,00 € 11 000,00 € -1 500,00 €",
        "Frais de mission et de déplacement 1 500,00 € 1 800,00 € +300,00 €",
        "Coût total 14 000,00 € 12 800,00 € -1 200,00 €",
        "Coût retenu pour le cofinancement définitif",
        "14 000,00 € 12 500,00 € -1 500,00 €",
        "dépassent de 300,00 € ce que prévoit la convention",
        # both cofinancings
        "Prévu à la convention Définitif Écart",
        "Coût retenu 14 000,00 € 12 500,00 € -1 500,00 €",
        "Taux 80 % 80 % 0",
        "Prise en charge Cités Unies France 11 200,00 € 10 000,00 € -1 200,00 €",
        "Reste à charge de la collectivité 2 800,00 € 2 500,00 € -300,00 €",
        # reports
        "Rapports déposés 4",
        "Jours déclarés 11",
        "Missions de terrain 2 — Quy Nhơn, An Nhơn",
        "Frais de mission déclarés 1 800,00 €",
        # deliverables
        "Note de cadrage",
        "Rapport final livrable final 2 Validé",
        "12/11/2025",
        # satisfaction
        "Qualité du travail de l'expert 4/5",
        "Respect des délais 3/5",
        "Pertinence des recommandations 5/5",
        "Satisfaction globale 2/5",
        "Expert très disponible, restitution un peu tardive.",
        "Répondu le 20 novembre 2025 à 11:00 par Claire Martin.",
        # payments and footer
        "Acompte à l'expert Payé 15/03/2025 3 360,00 €",
        "Solde à l'expert Programmé — 6 640,00 €",
        "bilan de clôture DCOL12-0007, clôturé le 1 décembre 2025 par Jean Dupont",
        "page 1 /",
    ):
        assert expected in content, expected
    assert content.index("Dossier déposé") < content.index("Convention signée")
    assert "Questionnaire non renseigné" not in content
    assert "Coûts du projet" not in content


def test_call_for_projects_closure(french):
    content = pdf_text(build_closure_pdf(aap_content()))
    for expected in (
        "Dossier AAP25-0003",
        "Collectivité Département de l'Isère",
        "Coûts du projet",
        # rows of the same key share a line, under the agreement's label
        "Dépenses éligibles du projet 60 000,00 € 45 000,00 € -15 000,00 €",
        "Subvention 20 000,00 € 20 000,00 € 0,00 €",
        "Reste à charge de la collectivité 40 000,00 € 25 000,00 € -15 000,00 €",
        "Taux 50 % 50 % 0",
        "Subvention prévue : plafonnée (le taux appliqué au coût total donnerait 30 000,00 €).",
        "Subvention définitive : limitée au montant prévu à la convention (le taux appliqué au "
        "coût total donnerait 22 500,00 €).",
        "Dépenses déclarées 45 000,00 €",
        "Missions de terrain aucune",
        "Questionnaire non renseigné",
        "Avance de subvention Payé 03/06/2025 6 000,00 €",
    ):
        assert expected in content, expected
    for absent in (
        "Expert ",
        "Jours d'expertise",
        "Jours déclarés",
        "Jours et coûts",
        "Prise en charge Cités Unies France",
        "Dépenses réalisées du projet",  # its line is the agreement's
        "dépassent",  # nothing spent beyond the agreement
        "/5",
    ):
        assert absent not in content, absent


def test_rate_change_in_points(french):
    final = ShareRow(Decimal("12500"), Decimal("70"), Decimal("8750"), Decimal("3750"))
    content = pdf_text(build_closure_pdf(dcol_content(final=final)))
    assert "Taux 80 % 70 % -10 pt" in content
    assert "Reste à charge de la collectivité 2 800,00 € 3 750,00 € +950,00 €" in content


def test_funders_split_never_shown(french):
    content = pdf_text(build_closure_pdf(aap_content()))
    # 20 000 € split 60/40 between the funders would show 12 000 € and 8 000 €.
    for funder in ("AFD", "CDC", "12 000,00", "8 000,00"):
        assert funder not in content


def test_empty_sections_say_so(french):
    content = pdf_text(
        build_closure_pdf(
            dcol_content(
                timeline=(),
                milestones=(),
                deliverables=(),
                payments=(),
                field_missions=(),
                expert=None,
                satisfaction=None,
            )
        )
    )
    for expected in (
        "Aucune étape enregistrée.",
        "Aucun jalon.",
        "Aucun livrable.",
        "Aucun paiement.",
        "Missions de terrain aucune",
        "Expert —",
        "Questionnaire non renseigné.",
    ):
        assert expected in content, expected


def test_user_text_is_shown_literally(french):
    nasty = "<b>Eau & assainissement</b>"
    content = pdf_text(
        build_closure_pdf(
            dcol_content(
                title=nasty,
                organisation="Ville <i>&amp; co</i>",
                summary="1 < 2 & 3 > 2",
                deliverables=(DeliverableLine("a & b <br/> c", True, 1, "Validé", None, None),),
            )
        )
    )
    for expected in (nasty, "Ville <i>&amp; co</i>", "1 < 2 & 3 > 2", "a & b <br/> c"):
        assert expected in content, expected


def test_long_texts_flow_over_pages(french):
    paragraph = "La régie des eaux a été accompagnée pas à pas dans son diagnostic. " * 60
    long_name = "Cabinet d'études et de conseil en gestion des services d'eau potable " * 4
    content = dcol_content(
        summary="\n".join([paragraph] * 4) + " FIN DU RÉSUMÉ",  # longer than a page
        title=paragraph * 4 + " FIN DE L'OBJET",  # a table's cell longer than a page
        expert=long_name,
        closed_by=long_name,  # the footer cuts it rather than overflowing
        milestones=tuple(
            MilestoneLine("Diagnostic", f"Jalon {n} — {paragraph[:300]}", date(2025, 3, 1), None)
            for n in range(40)
        ),
        deliverables=(
            DeliverableLine(
                "Livrable 0 " + paragraph * 4 + " FIN DU LIVRABLE", True, 1, "Validé", None, None
            ),
            *(
                DeliverableLine(f"Livrable {n} " + paragraph, False, 1, "Validé", None, None)
                for n in range(1, 3)
            ),
        ),
        satisfaction=replace(
            dcol_content().satisfaction, comment=paragraph * 3 + " FIN DU COMMENTAIRE"
        ),
    )
    pdf = build_closure_pdf(content)
    pages = page_count(pdf)
    assert pages > 8
    text = pdf_text(pdf)
    for expected in (
        "FIN DU RÉSUMÉ",
        "FIN DE L'OBJET",
        "Jalon 0 ",
        "Jalon 39 ",
        "FIN DU LIVRABLE",
        "Livrable 2 ",
        "Satisfaction globale 2/5",
        "FIN DU COMMENTAIRE",
        "Solde à l'expert",
        "clôturé le 1 décembre 2025 par Cabinet d'études",
    ):
        assert expected in text, expected
    assert f"… page {pages} / {pages}" in text  # the footer's name is cut to fit


def test_french_whatever_the_reader_language_and_reproducible(app):
    with app.test_request_context(), force_locale("en"):
        first = build_closure_pdf(dcol_content())
        second = build_closure_pdf(dcol_content())
        other = build_closure_pdf(dcol_content(actual_days=Decimal("11.5")))
    assert first == second  # the same content gives the same bytes
    assert other != first
    content = pdf_text(first)
    assert "Bilan de clôture" in content
    assert "10 000,00 €" in content
    assert "€10,000.00" not in content
