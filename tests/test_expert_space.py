"""The expert's side: the proposals addressed to it, each with the dossier's summary and the
proposal's terms, and its answer (accept, declaring no conflict of interest, or decline with a
reason) through the dossier's workflow. An expert sees only its own proposals, and never what the
matching computed (explanation, scores, override reason)."""

from __future__ import annotations

import html
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from dcol.extensions import db
from dcol.models import (
    ApplicationState,
    MatchingBrief,
    Mission,
    MissionProposal,
    OutgoingMail,
    ProposalStatus,
    Role,
    utcnow,
)
from tests import factories as f
from workflows import engine

S = ApplicationState


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def login(client, user):
    response = client.post("/connexion", data={"email": user.email, "password": f.PASSWORD})
    assert response.status_code == 302


@pytest.fixture
def expert_user(client, app):
    user = f.make_expert_user(name="Coop'Eau Conseil")
    db.session.commit()
    login(client, user)
    return user


def fresh(proposal: MissionProposal) -> MissionProposal:
    db.session.expire_all()
    return db.session.get(MissionProposal, proposal.id)


# --- the list and the page --------------------------------------------------------------------


def test_my_proposals_lists_mine_pending_first_then_answered(client, expert_user):
    expert = expert_user.expert
    answered = f.make_proposal_for(expert, state=S.MATCHING, status=ProposalStatus.DECLINED,
                                   title="Dossier déjà décliné", responded_at=utcnow(),
                                   decline_reason="Indisponible.")
    pending = f.make_proposal_for(expert, title="Stratégie internationale de Gennevilliers")
    someone_else = f.make_proposal_for(f.make_expert("Autre cabinet"),
                                       title="Proposition d'un autre expert")
    db.session.commit()
    page = text(client.get("/experts/propositions"))
    assert pending.application.reference in page and answered.application.reference in page
    assert page.index("Stratégie internationale de Gennevilliers") < page.index(
        answered.application.reference)
    assert "Déclinée" in page
    assert someone_else.application.reference not in page
    assert "Proposition d'un autre expert" not in page


def test_the_menu_leads_the_expert_to_its_proposals_and_profile(client, expert_user):
    page = text(client.get("/"))
    assert "Mes propositions" in page and "Ma fiche expert" in page
    assert "Vivier d'experts" not in page


@pytest.mark.parametrize("role", [Role.MANAGER, Role.APPLICANT, Role.REVIEWER])
def test_only_experts_have_proposals(client, app, role):
    proposal = f.make_proposal_for(f.make_expert())
    organisation = f.make_organisation() if role is Role.APPLICANT else None
    user = f.make_user(role, organisation=organisation)
    db.session.commit()
    login(client, user)
    assert client.get("/experts/propositions").status_code == 404
    assert client.get(f"/experts/propositions/{proposal.id}").status_code == 404
    assert "Mes propositions" not in text(client.get("/"))


def test_the_proposal_page_shows_the_dossier_and_the_terms(client, expert_user):
    organisation = f.make_organisation("Syndicat mixte Fensch Lorraine")
    proposal = f.make_proposal_for(expert_user.expert, organisation=organisation,
                                   title="Projet pilote eau potable", countries=["VN"],
                                   themes=["water_sanitation", "climate"])
    db.session.add(MatchingBrief(
        application_id=proposal.application_id, languages=["fr", "vi"],
        expected_deliverables="Note de cadrage puis plan d'action chiffré.",
        budget=Decimal("9000.00"), updated_at=utcnow()))
    db.session.commit()
    page = text(client.get(f"/experts/propositions/{proposal.id}"))
    for shown in (
        "Projet pilote eau potable", "Syndicat mixte Fensch Lorraine",
        "Appui à la reformulation d'un projet pilote eau.",  # the summary
        "Viêt Nam", "Eau et assainissement",
        f.DCOL_NEEDS["needs"], f.DCOL_NEEDS["support_expected"],
        f.DCOL_NEEDS["deliverables_expected"], f.DCOL_NEEDS["timetable"],
        "Note de cadrage puis plan d'action chiffré.", "Vietnamien",
        "12,5",  # indicative days
        "11 janvier 2027", "30 juin 2027",
        "Accepter la mission", "Décliner la mission",
    ):
        assert shown in page, shown


def test_the_proposal_page_never_shows_what_the_matching_computed(client, expert_user):
    proposal = f.make_proposal_for(
        expert_user.expert,
        explanation={"score": 87.5, "rank": 1, "criteria": {"skills": 0.9731},
                     "reasons": ["Explication interne du rapprochement"]},
        override_reason="Motif de dérogation interne",
    )
    db.session.commit()
    for path in (f"/experts/propositions/{proposal.id}", "/experts/propositions"):
        page = text(client.get(path))
        for secret in ("Explication interne du rapprochement", "Motif de dérogation interne",
                       "87,5", "87.5", "0.9731", "score", "Score"):
            assert secret not in page, (path, secret)


def test_another_experts_proposal_answers_404(client, expert_user):
    theirs = f.make_proposal_for(f.make_expert("Climat Territoires"))
    db.session.commit()
    assert client.get(f"/experts/propositions/{theirs.id}").status_code == 404
    assert client.post(f"/experts/propositions/{theirs.id}/acceptation",
                       data={"no_conflict": "y"}).status_code == 404
    assert client.post(f"/experts/propositions/{theirs.id}/refus",
                       data={"reason": "Non."}).status_code == 404
    assert client.get("/experts/propositions/999999").status_code == 404
    theirs = fresh(theirs)
    assert theirs.status is ProposalStatus.PENDING
    assert theirs.application.state is S.EXPERT_PROPOSED


# --- accepting --------------------------------------------------------------------------------


def test_expert_accepts_the_mission(client, expert_user):
    proposal = f.make_proposal_for(expert_user.expert)
    db.session.commit()
    response = client.post(f"/experts/propositions/{proposal.id}/acceptation",
                           data={"no_conflict": "y"})
    assert response.status_code == 302
    proposal = fresh(proposal)
    assert proposal.status is ProposalStatus.ACCEPTED
    assert proposal.responded_by_id == expert_user.id
    assert proposal.application.state is S.AGREEMENT
    mission = db.session.scalars(sa.select(Mission)).one()
    assert mission.application_id == proposal.application_id
    assert mission.expert_id == expert_user.expert_id
    assert mission.contracted_days == Decimal("12.50")
    page = text(client.get(f"/experts/propositions/{proposal.id}"))
    assert "Acceptée" in page and "Accepter la mission" not in page
    assert "ouvrir le dossier" in page  # the mission's expert reads the dossier


def test_accepting_needs_the_declaration_of_no_conflict(client, expert_user):
    proposal = f.make_proposal_for(expert_user.expert)
    db.session.commit()
    response = client.post(f"/experts/propositions/{proposal.id}/acceptation", data={})
    assert response.status_code == 422
    assert ("Déclarez l'absence de conflit d'intérêts avec la collectivité pour accepter."
            in text(response))
    proposal = fresh(proposal)
    assert proposal.status is ProposalStatus.PENDING
    assert proposal.application.state is S.EXPERT_PROPOSED
    assert db.session.scalars(sa.select(Mission)).all() == []


def test_a_deactivated_expert_is_told_why_it_cannot_accept(client, expert_user):
    proposal = f.make_proposal_for(expert_user.expert)
    expert_user.expert.is_active = False
    db.session.commit()
    expected = "n'est plus actif : la mission ne peut pas être acceptée."
    assert expected in text(client.get(f"/experts/propositions/{proposal.id}"))
    response = client.post(f"/experts/propositions/{proposal.id}/acceptation",
                           data={"no_conflict": "y"})
    assert response.status_code == 409
    assert expected in text(response)
    assert fresh(proposal).application.state is S.EXPERT_PROPOSED


def test_an_answered_proposal_cannot_be_answered_again(client, expert_user):
    proposal = f.make_proposal_for(expert_user.expert)
    db.session.commit()
    client.post(f"/experts/propositions/{proposal.id}/acceptation", data={"no_conflict": "y"})
    response = client.post(f"/experts/propositions/{proposal.id}/refus",
                           data={"reason": "Finalement non."})
    assert response.status_code == 409
    assert "Vous avez déjà répondu à cette proposition." in text(response)
    proposal = fresh(proposal)
    assert proposal.status is ProposalStatus.ACCEPTED
    assert proposal.application.state is S.AGREEMENT


# --- declining --------------------------------------------------------------------------------


def test_expert_declines_with_a_reason_and_the_dossier_returns_to_matching(client, expert_user):
    manager = f.make_user(Role.MANAGER)
    proposal = f.make_proposal_for(expert_user.expert, by=manager)
    db.session.commit()
    response = client.post(f"/experts/propositions/{proposal.id}/refus",
                           data={"reason": "Indisponible sur la période."})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/experts/propositions")
    proposal = fresh(proposal)
    assert proposal.status is ProposalStatus.DECLINED
    assert proposal.decline_reason == "Indisponible sur la période."
    application = proposal.application
    assert application.state is S.MATCHING
    # The expert is excluded from this dossier from now on.
    with pytest.raises(engine.GuardsFailed) as refusal:
        engine.fire(application, "propose_expert", manager,
                    payload={"expert_id": expert_user.expert_id})
    assert "L'expert « Coop'Eau Conseil » a déjà décliné ce dossier." in refusal.value.problems
    # The expert keeps the trace of its answer, no longer the dossier's content.
    page = text(client.get(f"/experts/propositions/{proposal.id}"))
    assert "Déclinée" in page and "Indisponible sur la période." in page
    assert f.DCOL_NEEDS["needs"] not in page and "Décliner la mission" not in page


@pytest.mark.parametrize("reason", ["", "   "])
def test_declining_needs_a_reason(client, expert_user, reason):
    proposal = f.make_proposal_for(expert_user.expert)
    db.session.commit()
    response = client.post(f"/experts/propositions/{proposal.id}/refus", data={"reason": reason})
    assert response.status_code == 422
    assert "Le champ « Motif du refus » est obligatoire." in text(response)
    proposal = fresh(proposal)
    assert proposal.status is ProposalStatus.PENDING
    assert proposal.application.state is S.EXPERT_PROPOSED


# --- the proposal mail ------------------------------------------------------------------------


def test_the_proposal_mail_leads_to_the_proposal_page(app):
    expert_user = f.make_expert_user(name="Coop'Eau Conseil")
    manager = f.make_user(Role.MANAGER)
    application = f.make_application(f.make_call(), f.make_organisation(), S.MATCHING)
    db.session.commit()
    engine.fire(application, "propose_expert", manager, payload={
        "expert_id": expert_user.expert_id, "indicative_days": "10",
        "indicative_start": date(2027, 1, 4).isoformat(),
        "indicative_end": date(2027, 3, 31).isoformat()})
    proposal = db.session.scalars(sa.select(MissionProposal)).one()
    mail = db.session.scalars(
        sa.select(OutgoingMail).where(OutgoingMail.to_address == expert_user.email)).one()
    assert f"/experts/propositions/{proposal.id}" in mail.body_text
    assert f"/dossiers/{application.id}" not in mail.body_text
