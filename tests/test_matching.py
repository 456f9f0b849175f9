"""Matching through the app: a dossier's suggestions with their explanations and exclusions, its
brief, the optimal proposal for a call, its confirmation (all or nothing, overrides with a reason,
audited), the rematch after a decline, the expert's history, and who may see any of it."""

from __future__ import annotations

import html
from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from dcol.extensions import db
from dcol.matching import services
from dcol.models import (
    ApplicationState,
    AuditEvent,
    CallKind,
    Expert,
    ExpertConflict,
    MatchingBrief,
    MissionProposal,
    Role,
    utcnow,
)
from tests import factories as f
from tests import workflow_support as ws
from workflows import engine

S = ApplicationState


def login(client, user):
    assert client.post("/connexion", data={"email": user.email,
                                           "password": f.PASSWORD}).status_code == 302


def text_of(response) -> str:
    return " ".join(html.unescape(response.get_data(as_text=True)).split())


@pytest.fixture
def pool(app):
    """A DCOL call whose dossier (water, Vietnam) is in matching, and a pool of four experts."""
    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    water = db.session.get(Expert, cast.expert_user.expert_id)
    water.skills, water.countries, water.languages = ["water_sanitation"], ["VN"], ["fr", "vi"]
    water.references = "Services d'eau potable en milieu rural au Vietnam ; projets pilotes d'accès à l'eau."
    climate = db.session.get(Expert, cast.other_expert_user.expert_id)
    climate.skills, climate.regions, climate.languages = ["climate"], ["asia"], ["fr", "en"]
    climate.references = "Plans climat territoriaux, stratégies bas carbone."
    retired = f.make_expert("Cabinet en sommeil", is_active=False, languages=["fr"])
    linked = f.make_expert("Conseil Lié", languages=["fr"], skills=["water_sanitation"])
    application = ws.complete_dossier(call, cast)
    application.themes = ["water_sanitation"]
    db.session.add(ExpertConflict(expert=linked, organisation_id=application.organisation_id,
                                  description="Ancien prestataire", declared_at=utcnow()))
    ws.drive_to(application, cast, S.MATCHING)
    db.session.commit()
    return call, cast, application, {"water": water, "climate": climate, "retired": retired,
                                     "linked": linked}


def test_suggestions_rank_explain_and_list_who_is_left_out_and_why(client, pool):
    call, cast, application, experts = pool
    suggestions = services.suggest_experts(application)
    assert [expert.name for expert, _ in suggestions.ranked] == [
        "Coop'Eau Conseil", "Climat Territoires Conseil"]
    best = suggestions.ranked[0][1]
    by_key = {part["key"]: part for part in best["parts"]}
    assert by_key["skills"]["matched"] == ["water_sanitation"]
    assert by_key["zone"]["countries"] == ["VN"]
    assert {"eau", "pilote"} <= set(by_key["text"]["words"])
    assert {expert.name: [r["code"] for r in reasons] for expert, reasons in suggestions.excluded
            } == {"Cabinet en sommeil": ["inactive"], "Conseil Lié": ["conflict"]}

    login(client, cast.manager)
    page = client.get(f"/dossiers/{application.id}/recherche-expert")
    assert page.status_code == 200
    text = text_of(page)
    assert "Experts suggérés (2)" in text and "Experts écartés (2)" in text
    assert "Lien déclaré avec la collectivité" in text and "Expert inactif" in text
    assert "Connaît le pays : Viêt Nam" in text or "Connaît le pays : Vietnam" in text
    assert "Mots qui rapprochent" in text


def test_the_brief_is_checked_whole_and_kept_when_refused(client, pool):
    call, cast, application, experts = pool
    login(client, cast.manager)
    data = {"themes": ["water_sanitation", "nope"], "languages": ["fr", "xx"],
            "indicative_days": "douze", "starts_on": "2027-06-01", "ends_on": "2027-03-01",
            "budget": "12 000,abc", "expected_deliverables": "Plan d'action"}
    response = client.post(f"/dossiers/{application.id}/recherche-expert/besoin", data=data)
    assert response.status_code == 422
    text = text_of(response)
    for message in ("Thème inconnu : nope.", "Langue inconnue", "Nombre de jours invalide",
                    "La fin précède le début."):
        assert message in text
    assert 'value="douze"' in response.get_data(as_text=True)
    assert db.session.get(MatchingBrief, application.id) is None


def test_the_brief_filters_the_pool_and_is_audited(client, pool):
    call, cast, application, experts = pool
    login(client, cast.manager)
    response = client.post(f"/dossiers/{application.id}/recherche-expert/besoin", data={
        "themes": ["water_sanitation"], "languages": ["fr", "vi"], "indicative_days": "12,5",
        "starts_on": "2027-03-01", "ends_on": "2027-06-30", "budget": "9 000",
        "expected_deliverables": "Diagnostic et plan d'action"})
    assert response.status_code == 302
    db.session.expire_all()
    brief = db.session.get(MatchingBrief, application.id)
    assert (brief.indicative_days, brief.budget, brief.languages) == (D("12.50"), D("9000.00"),
                                                                     ["fr", "vi"])
    entry = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.application_id == application.id, AuditEvent.event == "matching.brief")).one()
    assert entry.actor_id == cast.manager.id and entry.payload["budget"] == "9000.00"
    excluded = {expert.name: [r["code"] for r in reasons]
                for expert, reasons in services.suggest_experts(application).excluded}
    assert excluded["Climat Territoires Conseil"] == ["language"]


def test_the_brief_is_only_for_dossiers_in_matching(pool):
    call, cast, application, experts = pool
    engine.fire(application, "propose_expert", cast.manager,
                payload={"expert_id": experts["water"].id})
    with pytest.raises(engine.NotApplicable):
        services.save_brief(application, cast.manager, {"languages": ["fr"]})


def second_dossier(call, cast):
    other = ws.complete_dossier(call, cast)
    ws.drive_to(other, cast, S.MATCHING)
    return other


def test_the_call_proposal_is_confirmed_and_fires_propose_expert(client, pool):
    call, cast, application, experts = pool
    other = second_dossier(call, cast)
    services.save_brief(application, cast.manager, {
        "languages": ["fr"], "themes": ["water_sanitation"], "indicative_days": "15",
        "starts_on": "2027-03-01", "ends_on": "2027-06-30"})
    db.session.commit()
    proposal = services.propose_assignment(call)
    assert {line.application.id for line in proposal.lines} == {application.id, other.id}
    # Far ahead for both water dossiers, Coop'Eau takes both (its capacity is 3): the cost of a
    # second mission (5 points) is less than what the other expert would lose.
    assert [line.expert.name for line in proposal.lines] == ["Coop'Eau Conseil"] * 2
    first = proposal.line_of(application.id)
    assert first.expert.name == "Coop'Eau Conseil"
    assert [alternate.name for alternate, _, _ in first.alternates] == ["Climat Territoires Conseil"]
    assert first.elsewhere is None

    login(client, cast.manager)
    page = client.get(f"/appels/{call.id}/recherche-expert")
    assert page.status_code == 200 and "2 dossier(s) sur 2 avec un expert" in text_of(page)
    form = {"application_id": [str(application.id), str(other.id)]}
    for line in proposal.lines:
        key = str(line.application.id)
        form[f"pick-{key}"] = "oui"
        form[f"expert-{key}"] = str(line.expert.id)
    response = client.post(f"/appels/{call.id}/recherche-expert", data=form)
    assert response.status_code == 302
    db.session.expire_all()
    assert {a.state for a in (application, other)} == {S.EXPERT_PROPOSED}
    made = db.session.scalars(sa.select(MissionProposal).where(
        MissionProposal.application_id == application.id)).one()
    assert made.expert_id == experts["water"].id
    assert (made.indicative_days, made.indicative_start) == (D("15.00"), date(2027, 3, 1))
    assert made.explanation["score"] == first.explanation["score"]
    assert [p["key"] for p in made.explanation["parts"]][:2] == ["skills", "text"]
    assert made.override_reason == ""


def test_an_override_needs_a_reason_and_the_batch_is_all_or_nothing(client, pool):
    call, cast, application, experts = pool
    other = second_dossier(call, cast)
    proposal = services.propose_assignment(call)
    expert_of = {line.application.id: line.expert for line in proposal.lines}
    swapped = experts["climate"] if expert_of[application.id] == experts["water"] else experts["water"]
    choices = [services.Choice(other.id, expert_of[other.id].id),
               services.Choice(application.id, swapped.id)]
    with pytest.raises(services.ProposalsRefused) as refused:
        services.confirm_proposals(call, cast.manager, choices)
    assert list(refused.value.refusals) == [application.reference]
    assert "motif" in refused.value.errors[application.reference]
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MissionProposal)) == 0
    assert {application.state, other.state} == {S.MATCHING}

    choices[1] = services.Choice(application.id, swapped.id, "Connaît déjà la collectivité.")
    services.confirm_proposals(call, cast.manager, choices)
    db.session.commit()
    made = db.session.scalars(sa.select(MissionProposal).where(
        MissionProposal.application_id == application.id)).one()
    assert made.override_reason == "Connaît déjà la collectivité."
    assert made.explanation["proposed_expert_id"] == expert_of[application.id].id
    entry = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.application_id == application.id, AuditEvent.event == "propose_expert")).one()
    assert (entry.actor_id, entry.from_state, entry.to_state) == (cast.manager.id, "matching",
                                                                  "expert_proposed")
    assert entry.payload["override_reason"] == "Connaît déjà la collectivité."


def test_a_refused_confirmation_keeps_the_managers_choices(client, pool):
    call, cast, application, experts = pool
    login(client, cast.manager)
    key = str(application.id)
    response = client.post(f"/appels/{call.id}/recherche-expert", data={
        "application_id": key, f"pick-{key}": "oui", f"expert-{key}": str(experts["climate"].id),
        f"reason-{key}": ""})
    assert response.status_code == 422
    text = text_of(response)
    assert "Aucune proposition n'a été envoyée" in text
    assert f'<option value="{experts["climate"].id}" selected>' in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MissionProposal)) == 0


def test_after_a_decline_the_rematch_excludes_that_expert(client, pool):
    call, cast, application, experts = pool
    services.confirm_proposals(call, cast.manager, [services.Choice(application.id,
                                                                    experts["water"].id)])
    db.session.commit()
    engine.fire(application, "decline_mission", cast.expert_user, comment="Plan de charge complet")
    assert application.state is S.MATCHING
    suggestions = services.suggest_experts(application)
    assert [expert.name for expert, _ in suggestions.ranked] == ["Climat Territoires Conseil"]
    reasons = {expert.name: [r["code"] for r in found] for expert, found in suggestions.excluded}
    assert reasons["Coop'Eau Conseil"] == ["declined"]
    line = services.propose_assignment(call).line_of(application.id)
    assert line.expert.name == "Climat Territoires Conseil"


def test_past_satisfaction_and_current_load_feed_the_profiles(pool):
    call, cast, application, experts = pool
    done = ws.complete_dossier(call, cast)
    ws.drive_to(done, cast, S.CLOSED)  # the collectivité rated the expert 4/5 overall
    busy = ws.complete_dossier(call, cast)
    ws.drive_to(busy, cast, S.IN_PROGRESS)
    db.session.flush()
    _, profiles = services.pool()
    by_name = {profile.name: profile for profile in profiles}
    water = by_name["Coop'Eau Conseil"]
    assert (water.satisfaction, water.satisfaction_count, water.load) == (4.0, 1, 1)
    assert by_name["Climat Territoires Conseil"].satisfaction is None


@pytest.mark.parametrize("who", ["signatory", "expert_user", "reviewers", "committee", "outsider"])
def test_only_managers_see_suggestions_and_proposals(client, pool, who):
    call, cast, application, experts = pool
    user = getattr(cast, who)
    login(client, user[0] if isinstance(user, list) else user)
    for url in (f"/dossiers/{application.id}/recherche-expert",
                f"/appels/{call.id}/recherche-expert"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/appels/{call.id}/recherche-expert", data={
        "application_id": str(application.id), f"pick-{application.id}": "oui",
        f"expert-{application.id}": str(experts["water"].id)}).status_code == 404
    assert client.post(f"/dossiers/{application.id}/recherche-expert/proposer",
                       data={"expert_id": str(experts["water"].id)}).status_code == 404
    assert application.state is S.MATCHING


def test_calls_for_projects_have_no_matching(client, app):
    call = ws.make_call_for(CallKind.AAP)
    manager = f.make_user(Role.MANAGER)
    db.session.commit()
    login(client, manager)
    assert client.get(f"/appels/{call.id}/recherche-expert").status_code == 404


def test_the_proposal_says_why_a_strong_candidate_went_elsewhere_and_at_what_cost(client, pool):
    call, cast, application, experts = pool
    experts["water"].capacity = 1
    other = second_dossier(call, cast)
    other.themes = ["water_sanitation"]
    db.session.commit()
    proposal = services.propose_assignment(call)
    board = proposal.board
    lines = {line.application.id: line for line in proposal.lines}
    water_column = next(j for j, e in enumerate(proposal.experts) if e.name == "Coop'Eau Conseil")
    climate_column = next(j for j, e in enumerate(proposal.experts)
                          if e.name == "Climat Territoires Conseil")
    winner = next(line for line in lines.values() if line.expert.name == "Coop'Eau Conseil")
    loser = next(line for line in lines.values() if line.expert.name != "Coop'Eau Conseil")
    assert loser.elsewhere.expert.name == "Coop'Eau Conseil"
    assert loser.elsewhere.taken_by == [winner.application]
    rows = {line.application.id: row for row, line in enumerate(proposal.lines)}
    w, lo = rows[winner.application.id], rows[loser.application.id]
    optimum = board.points[w, water_column] + board.points[lo, climate_column]
    swapped = board.points[lo, water_column] + board.points[w, climate_column]
    assert loser.elsewhere.cost == (optimum - swapped) / 100 >= 0
    assert not loser.elsewhere.fewer_matched
    login(client, cast.manager)
    text = text_of(client.get(f"/appels/{call.id}/recherche-expert"))
    assert f"proposé pour {winner.application.reference}" in text
    assert "ferait perdre" in text


def bearer(user) -> dict:
    from dcol.accounts.services import create_api_token

    headers = {"Authorization": f"Bearer {create_api_token(user, 'tests')}"}
    db.session.commit()
    return headers


def test_the_api_gives_the_same_suggestions_and_proposal_and_confirms(client, pool):
    call, cast, application, experts = pool
    manager = bearer(cast.manager)
    found = client.get(f"/api/v1/applications/{application.id}/expert-suggestions",
                       headers=manager).get_json()
    web = services.suggest_experts(application)
    assert [s["expert"] for s in found["suggestions"]] == [e.name for e, _ in web.ranked]
    assert [s["score"] for s in found["suggestions"]] == [x["score"] for _, x in web.ranked]
    assert {e["expert"]: e["reasons"] for e in found["excluded"]} == {
        "Cabinet en sommeil": ["inactive"], "Conseil Lié": ["conflict"]}

    refused = client.put(f"/api/v1/applications/{application.id}/matching-brief", headers=manager,
                         json={"languages": ["fr"], "indicative_days": "-3"})
    assert refused.status_code == 422 and "indicative_days" in refused.get_json()["errors"]
    saved = client.put(f"/api/v1/applications/{application.id}/matching-brief", headers=manager,
                       json={"languages": ["fr", "vi"], "indicative_days": "10"})
    assert saved.status_code == 200
    assert [s["expert"] for s in saved.get_json()["suggestions"]] == ["Coop'Eau Conseil"]

    proposal = client.get(f"/api/v1/calls/{call.id}/expert-matching", headers=manager).get_json()
    (line,) = proposal["lines"]
    assert (line["reference"], line["expert"]["expert"]) == (application.reference,
                                                            "Coop'Eau Conseil")
    response = client.post(f"/api/v1/calls/{call.id}/expert-matching", headers=manager, json={
        "proposals": [{"application_id": application.id,
                       "expert_id": line["expert"]["expert_id"]}]})
    assert response.status_code == 201
    assert response.get_json() == {"application_ids": [application.id]}
    db.session.expire_all()
    assert application.state is S.EXPERT_PROPOSED


@pytest.mark.parametrize("who", ["signatory", "expert_user", "committee"])
def test_the_api_hides_matching_from_everyone_but_managers(client, pool, who):
    call, cast, application, experts = pool
    headers = bearer(getattr(cast, who))
    for url in (f"/api/v1/applications/{application.id}/expert-suggestions",
                f"/api/v1/calls/{call.id}/expert-matching"):
        assert client.get(url, headers=headers).status_code == 404
    assert client.post(f"/api/v1/calls/{call.id}/expert-matching", headers=headers, json={
        "proposals": [{"application_id": application.id,
                       "expert_id": experts["water"].id}]}).status_code == 404


def test_a_proposed_expert_sees_neither_the_scores_nor_any_ranking(client, pool):
    call, cast, application, experts = pool
    services.confirm_proposals(call, cast.manager, [services.Choice(
        application.id, experts["water"].id)])
    db.session.commit()
    login(client, cast.expert_user)
    for url in (f"/appels/{call.id}/classement", f"/dossiers/{application.id}/evaluations",
                f"/dossiers/{application.id}/recherche-expert", f"/appels/{call.id}/recherche-expert",
                f"/appels/{call.id}/export.xlsx"):
        assert client.get(url).status_code == 404, url
    page = client.get(f"/dossiers/{application.id}")
    assert page.status_code == 200
    text = text_of(page)
    for hidden in ("/ 100", "Climat Territoires Conseil", "Adéquation", "Mots qui rapprochent"):
        assert hidden not in text
    headers = bearer(cast.expert_user)
    assert client.get(f"/api/v1/calls/{call.id}/ranking", headers=headers).status_code == 404
