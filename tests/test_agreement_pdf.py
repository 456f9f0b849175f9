"""The agreement's PDF (convention, then avenants): built from hand-made contents, read back with
pypdf. Always French, amounts in French format, the funders' split never shown."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from flask_babel import force_locale
from pypdf import PdfReader

from dcol.finance.agreement_pdf import AgreementContent, PartyBlock, build_agreement_pdf
from dcol.finance.computation import CostLine, FunderPart, Inputs, Terms, compute, schedule
from tests.pdf_support import pdf_text

PREVIOUS_SHA = "3f" * 32
FUNDERS = (FunderPart("AFD", Decimal("60")), FunderPart("CDC", Decimal("40")))
PARTIES = (
    PartyBlock("cuf", "Cités Unies France", ("9 rue Christiani, 75018 Paris",), "M. Jean Dupont"),
    PartyBlock("applicant", "Ville de Tulle", ("SIREN 211 902 720",), "Mme Claire Martin, Maire"),
    PartyBlock("expert", "Cabinet Hydra Conseil", ("SIRET 123 456 789 00012",)),
)


def dcol_content(**changes) -> AgreementContent:
    breakdown = compute(
        Inputs(
            "commune",
            (CostLine("Expertise", quantity=Decimal("12.5"), unit_price=Decimal("1000")),),
        ),
        Terms(version=3, rates={"commune": Decimal("80")}, funders=FUNDERS),
    )
    content = AgreementContent(
        reference="DCOL12-0007",
        version=1,
        amendment_reason="",
        call_title="DCOL 2025 — coopération décentralisée",
        with_expert=True,
        title="Schéma directeur de l'eau",
        summary="Appui à la régie des eaux de la ville partenaire.",
        parties=PARTIES,
        expert_days=Decimal("12.5"),
        daily_rate=Decimal("1000"),
        starts_on=date(2025, 3, 1),
        ends_on=None,
        deliverables="Rapport de diagnostic et plan d'action",
        breakdown=breakdown,
        rule_version=3,
        rule_effective_from=date(2025, 1, 1),
        payments=tuple(schedule(breakdown, True, Decimal("30"))),
        issued_at=datetime(2025, 2, 10, 23, 30, tzinfo=UTC),
    )
    return replace(content, **changes)


def aap_content(**changes) -> AgreementContent:
    breakdown = compute(
        Inputs(
            "commune",
            (
                CostLine("Travaux", amount=Decimal("50000")),
                CostLine("Formation", amount=Decimal("10000")),
            ),
        ),
        Terms(
            version=1,
            rates={"commune": Decimal("33.5")},
            including_vat=True,
            ceiling=Decimal("20000"),
            funders=FUNDERS,
        ),
    )
    content = dcol_content(
        reference="AAP25-0003",
        call_title="Appel à projets 2025",
        with_expert=False,
        parties=PARTIES[:2],
        expert_days=None,
        daily_rate=None,
        starts_on=date(2025, 6, 1),
        ends_on=date(2026, 5, 31),
        deliverables="",
        breakdown=breakdown,
        rule_version=1,
        payments=tuple(schedule(breakdown, False, Decimal("30"))),
    )
    return replace(content, **changes)


def test_dcol_convention(french):
    pdf = build_agreement_pdf(dcol_content())
    assert pdf.startswith(b"%PDF")
    content = pdf_text(pdf)
    for expected in (
        "Convention de cofinancement",
        "DCOL12-0007",
        "DCOL 2025 — coopération décentralisée",
        "version 1",
        "11 février 2025 à 00:30 (heure de Paris)",  # issued_at in Paris time
        "Entre les parties",
        "Cités Unies France",
        "Ville de Tulle",
        "représentée par Mme Claire Martin, Maire",
        "Cabinet Hydra Conseil",
        "SIRET 123 456 789 00012",
        "Schéma directeur de l'eau",
        "La mission",
        "12,5",
        "1 000,00 €",
        "1 mars 2025",
        "Rapport de diagnostic et plan d'action",
        "Expertise 12 500,00 €",
        "Coût total HT 12 500,00 €",
        "Prise en charge Cités Unies France (80 %) 10 000,00 €",
        "Reste à charge de la collectivité 2 500,00 €",
        "version 3 en vigueur au 1 janvier 2025",
        "Échéancier des paiements",
        "Acompte à l'expert au démarrage 3 750,00 €",
        "Solde à l'expert à la clôture, après validation du livrable final 8 750,00 €",
        "Appel de la contribution de la collectivité",
        "auprès de la collectivité au démarrage 2 500,00 €",
        "Nom :",
        "Qualité :",
        "Signature :",
        "adresse IP",
        "SHA-256",
        "page 1 /",
    ):
        assert expected in content, expected
    assert "—" in content.split("Fin", 1)[1][:5]  # no end date yet
    assert "TVA" not in content
    assert "Avenant" not in content
    for funder in ("AFD", "CDC", "6 000,00", "4 000,00"):  # the funders' split stays hidden
        assert funder not in content


def test_call_for_projects_with_vat_and_ceiling(french):
    content = pdf_text(build_agreement_pdf(aap_content()))
    for expected in (
        "Le projet",
        "1 juin 2025",
        "31 mai 2026",
        "Coût total HT 60 000,00 €",
        "TVA 12 000,00 €",
        "Coût total TTC 72 000,00 €",
        "Subvention (33,5 %) plafonnée (le taux appliqué au coût total donnerait 24 120,00 €) "
        "20 000,00 €",
        "Reste à charge de la collectivité 52 000,00 €",
        "Avance de subvention au démarrage 6 000,00 €",
        "Solde de subvention à la clôture, après validation du livrable final 14 000,00 €",
    ):
        assert expected in content, expected
    assert "La mission" not in content
    assert "Cabinet Hydra" not in content
    assert "AFD" not in content and "CDC" not in content


@pytest.mark.parametrize(
    ("terms", "requested", "note"),
    [
        ({}, Decimal("5000"), "limitée au montant demandé"),
        (
            {"min_applicant_share": Decimal("4000")},
            None,
            "limitée par la contribution minimale de la collectivité",
        ),
    ],
)
def test_other_limits_are_explained(french, terms, requested, note):
    breakdown = compute(
        Inputs("commune", (CostLine("Travaux", amount=Decimal("10000")),), requested),
        Terms(version=1, rates={"commune": Decimal("80")}, **terms),
    )
    content = pdf_text(build_agreement_pdf(aap_content(breakdown=breakdown)))
    assert note in content
    assert "plafonnée" not in content


def test_avenant(french):
    signed = datetime(2025, 3, 2, 9, 0, tzinfo=UTC)
    avenant = dcol_content(
        version=2,
        amendment_reason="Prolongation de la mission de deux mois",
        ends_on=date(2025, 9, 30),
        previous=((1, PREVIOUS_SHA, signed),),
    )
    content = pdf_text(build_agreement_pdf(avenant))
    for expected in (
        "Avenant n° 1 à la convention",
        "version 2 (avenant n° 1)",
        "Prolongation de la mission de deux mois",
        "version 1 (convention initiale), signée le 2 mars 2025",
        PREVIOUS_SHA,
        "30 septembre 2025",
    ):
        assert expected in content, expected
    assert "Convention de cofinancement" not in content


def test_user_text_is_shown_literally(french):
    nasty = "<b>Eau & assainissement</b>"
    parties = (PartyBlock("applicant", "Ville <i>&amp; co</i>", ("a & b <br/> c",)),)
    content = pdf_text(
        build_agreement_pdf(dcol_content(title=nasty, summary="1 < 2 & 3 > 2", parties=parties))
    )
    assert nasty in content
    assert "1 < 2 & 3 > 2" in content
    assert "Ville <i>&amp; co</i>" in content
    assert "a & b <br/> c" in content


def test_french_whatever_the_reader_language_and_reproducible(app):
    with app.test_request_context(), force_locale("en"):
        first = build_agreement_pdf(dcol_content())
        second = build_agreement_pdf(dcol_content())
    assert first == second  # the same content gives the same bytes: the signed hash can be checked
    content = pdf_text(first)
    assert "La collectivité" in content
    assert "Acompte à l'expert" in content
    assert "12 500,00 €" in content
    assert "€12,500.00" not in content


def test_blocks_taller_than_a_page_flow_over_pages(french):
    """A party's block, the summary or the deliverables taller than a page split across pages
    instead of failing the agreement with a layout error."""
    paragraph = "La régie des eaux a été accompagnée pas à pas dans son diagnostic. " * 60
    long_name = "Communauté d'agglomération du bassin de la Haute-Corrèze et du plateau " * 4
    details = tuple(f"Ligne d'adresse {n} — {paragraph[:200]}" for n in range(40))
    applicant = PartyBlock("applicant", long_name, (*details, "FIN DU BLOC"), "Mme Claire Martin")
    pdf = build_agreement_pdf(
        dcol_content(
            parties=(PARTIES[0], applicant, PARTIES[2]),
            summary=paragraph * 4 + " FIN DU RÉSUMÉ",
            deliverables=paragraph * 3 + " FIN DES LIVRABLES",
        )
    )
    total = len(PdfReader(io.BytesIO(pdf)).pages)
    assert total > 5
    content = pdf_text(pdf)
    # Every part is there, in order, through to the signatures and the last page's footer.
    parts = (
        "Ligne d'adresse 0 ",
        "Ligne d'adresse 39 ",
        "FIN DU BLOC",
        "représentée par Mme Claire Martin",
        "FIN DU RÉSUMÉ",
        "FIN DES LIVRABLES",
        "Acompte à l'expert",
        "Signature :",
        f"page {total} / {total}",
    )
    positions = [content.find(part) for part in parts]
    assert -1 not in positions, dict(zip(parts, positions, strict=True))
    assert positions == sorted(positions)
