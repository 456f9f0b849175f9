"""The instruction through the JSON API: the recevabilité checklist, reviewers and their
declarations, reviews, the consensus, a call's assignments, ranking and grid, answered like the
web pages (same services, same access rules)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from dcol.extensions import db
from dcol.models import (
    ApplicationState,
    AuditEvent,
    CallKind,
    ConflictStatus,
    Criterion,
    EligibilityItem,
    OutgoingMail,
    ReviewState,
    Role,
)
from dcol.reviews import services
from tests import factories as f
from tests import workflow_support as ws
from tests.test_api import ApiClient
from tests.test_reviews import scores, under_review

S = ApplicationState


@pytest.fixture
def world(app):
    """A DCOL call with a two-criterion grid (impact weighs 2, threshold 3) and a two-point
    checklist, two named reviewers, an admin and a deposited dossier."""
    call = ws.make_call_for(CallKind.DCOL)
    call.criteria.extend([
        Criterion(label="Impact attendu", weight=D("2"), scale_max=D("5"), step=D("0.5"),
                  threshold=D("3"), position=1),
        Criterion(label="Faisabilité", weight=D("1"), scale_max=D("5"), step=D("0.5"),
                  position=2),
    ])
    call.eligibility_items.extend([
        EligibilityItem(label="Délibération signée jointe", position=1),
        EligibilityItem(label="Collectivité éligible", position=2),
    ])
    cast = ws.make_cast(call)
    cast.reviewers[0].full_name, cast.reviewers[1].full_name = "Julien Moreau", "Inès Haddad"
    admin = f.make_user(Role.ADMIN)
    application = ws.complete_dossier(call, cast)
    ws.fire_step(application, cast, "submit")
    db.session.commit()
    return call, cast, admin, application


def criteria(call):
    return sorted(call.criteria, key=lambda c: c.position)


def review_body(call, *values, opinion=None, submit=False, comment=""):
    return {"scores": [{"criterion_id": c.id, "score": value, "comment": f"Sur {c.label}."}
                       for c, value in zip(criteria(call), values, strict=True)],
            "opinion": opinion, "overall_comment": comment, "submit": submit}


def events_of(application) -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.event).where(
        AuditEvent.application_id == application.id).order_by(AuditEvent.sequence)))


# --- the whole instruction ----------------------------------------------------------------------


def test_instruction_journey_through_the_api(client, world):
    call, cast, admin, application = world
    first, second = cast.reviewers
    path = f"/applications/{application.id}"
    staff, admin_api = ApiClient(client, cast.manager), ApiClient(client, admin)
    apis = {reviewer.id: ApiClient(client, reviewer) for reviewer in cast.reviewers}

    # The admin sets the grid and the checklist while nothing uses them.
    impact, feasibility = criteria(call)
    grid = admin_api.put(f"/calls/{call.id}/grid", {
        "criteria": [
            {"id": impact.id, "label": "Impact attendu", "weight": "2", "scale_max": "5",
             "step": "0.5", "threshold": "3", "guidance": "Effets durables pour le territoire."},
            {"id": feasibility.id, "label": "Faisabilité", "weight": 1, "scale_max": 5,
             "step": 0.5, "threshold": None},
        ],
        "overall_threshold": "60", "divergence_threshold": "2", "min_reviewers": 2,
        "tie_breaks": ["criterion:1", "submitted_at"],
    })
    assert grid.status_code == 200, grid.json
    assert grid.json["overall_threshold"] == "60.00" and not grid.json["is_frozen"]
    assert grid.json["criteria"][0]["guidance"] == "Effets durables pour le territoire."
    checklist = admin_api.put(f"/calls/{call.id}/eligibility-checklist",
                              {"items": ["Délibération signée jointe", "Collectivité éligible"]})
    assert checklist.status_code == 200, checklist.json
    items = [item["id"] for item in checklist.json["eligibility_checklist"]]

    # Recevabilité: the checklist, then declare_eligible through the events.
    checks = staff.get(f"{path}/eligibility-checks").json
    assert checks["may_check"] and [i["is_met"] for i in checks["items"]] == [None, None]
    answer = staff.put(f"{path}/eligibility-checks", {"answers": [
        {"item_id": items[0], "is_met": True, "note": "Délibération du 12 mars"},
        {"item_id": items[1], "is_met": True}]})
    assert answer.status_code == 200, answer.json
    assert [i["is_met"] for i in answer.json["items"]] == [True, True]
    assert answer.json["items"][0]["note"] == "Délibération du 12 mars"
    assert staff.fire(application.id, "declare_eligible").status_code == 200

    # Two reviewers assigned by hand; each is mailed and sees only the declaration first.
    for reviewer in (first, second):
        response = staff.post(f"{path}/reviewers", {"reviewer_id": reviewer.id})
        assert response.status_code == 201, response.json
        assert response.json["conflict_status"] == "pending"
    assert db.session.scalar(sa.select(OutgoingMail).where(
        OutgoingMail.to_address == first.email, OutgoingMail.subject.contains(
            application.reference)))
    mine = apis[first.id].get("/reviews").json
    assert [t["application"]["reference"] for t in mine["to_declare"]] == [application.reference]
    assert "title" not in mine["to_declare"][0]["application"]
    pending = apis[first.id].get(f"{path}/review")
    assert pending.status_code == 200
    assert pending.json["conflict_status"] == "pending"
    assert pending.json["application"]["organisation"]["name"] == application.organisation.name
    assert "scores" not in pending.json and "title" not in pending.json["application"]
    assert apis[first.id].get(path).status_code == 404
    for reviewer in (first, second):
        declared = apis[reviewer.id].post(f"{path}/review/declaration", {"has_conflict": False})
        assert declared.status_code == 200, declared.json
        assert declared.json["conflict_status"] == "none"
        assert [s["criterion"]["label"] for s in declared.json["scores"]] == [
            "Impact attendu", "Faisabilité"]
        assert not declared.json["may_score"]  # the instruction has not started
    assert staff.fire(application.id, "start_review").status_code == 200

    # A draft, then the first review submitted: locked, and the others' reviews readable.
    draft = apis[first.id].put(f"{path}/review", review_body(call, "4", None))
    assert draft.status_code == 200, draft.json
    assert draft.json["state"] == "draft" and draft.json["may_score"]
    assert D(draft.json["scores"][0]["score"]) == 4 and draft.json["scores"][1]["score"] is None
    assert apis[first.id].get(f"{path}/reviews").status_code == 404
    submitted = apis[first.id].put(f"{path}/review", review_body(
        call, "4", 3.5, opinion="favourable", submit=True, comment="Bon dossier."))
    assert submitted.status_code == 200, submitted.json
    assert submitted.json["state"] == "submitted" and not submitted.json["may_score"]
    assert staff.get(path).json["state"] == "under_review"
    # The last review in closes the instruction (complete_review, fired by dcol).
    last = apis[second.id].put(f"{path}/review", review_body(
        call, "2", "4", opinion="reserved", submit=True, comment="Partenariat fragile."))
    assert last.status_code == 200, last.json
    assert staff.get(path).json["state"] == "reviewed"
    assert "complete_review" in events_of(application)

    # The aggregate: impact (4 + 2) / 2 = 3, at its threshold, 4 vs 2 diverge; feasibility
    # 3.75; (2 × 3 + 3.75) = 9.75 of 15: 65 / 100.
    reviews = staff.get(f"{path}/reviews")
    assert reviews.status_code == 200
    aggregate = reviews.json["aggregate"]
    assert aggregate["review_count"] == 2
    assert [(c["criterion"]["label"], D(c["mean"]), D(c["spread"]), c["is_divergent"],
             c["is_below_threshold"]) for c in aggregate["criteria"]] == [
        ("Impact attendu", D(3), D(2), True, False), ("Faisabilité", D("3.75"), D("0.5"), False,
                                                      False)]
    assert (aggregate["weighted_total"], aggregate["max_total"], aggregate["score"]) == (
        "9.75", "15.00", "65.00")
    assert aggregate["final_score"] == "65.00" and not aggregate["is_flagged"]
    assert [r["reviewer"] for r in reviews.json["reviews"]] == ["Julien Moreau", "Inès Haddad"]
    assert reviews.json["may_manage"] and len(reviews.json["assignments"]) == 2
    # A reviewer reads the others anonymously.
    anonymous = apis[first.id].get(f"{path}/reviews").json
    assert [r["reviewer"] for r in anonymous["reviews"]] == ["Instructeur 1", "Instructeur 2"]
    assert anonymous["reviews"][1]["overall_comment"] == "Partenariat fragile."
    assert not anonymous["may_manage"] and anonymous["assignments"] == []
    assert "Inès Haddad" not in str(anonymous)

    # The consensus replaces the computed score in the ranking.
    consensus = staff.put(f"/applications/{application.id}/consensus",
                          {"score": "70.5", "justification": "Impact plus modeste."})
    assert consensus.status_code == 200, consensus.json
    assert consensus.json["aggregate"]["final_score"] == "70.50"
    assert consensus.json["aggregate"]["score"] == "65.00"
    assert consensus.json["consensus"]["justification"] == "Impact plus modeste."

    # Another dossier reaches 2 × 4 + 3 = 11 of 15 (73.33): it ranks first, ours second.
    other = ws.complete_dossier(call, cast)
    ws.fire_step(other, cast, "submit")
    db.session.commit()
    under_review(other, cast)
    for reviewer in (first, second):
        services.save_review(other, reviewer, scores(other, "4", "3"), "favourable", "",
                             submit=True)
    db.session.commit()
    ranking = staff.get(f"/calls/{call.id}/ranking")
    assert ranking.status_code == 200
    assert [t["label"] for t in ranking.json["tie_breaks"]][0] == (
        "la meilleure moyenne au critère « Impact attendu » d'abord")
    (track,) = ranking.json["tracks"]
    assert [(r["rank"], r["reference"], r["final_score"]) for r in track["ranked"]] == [
        (1, other.reference, "73.33"), (2, application.reference, "70.50")]
    ours = track["ranked"][1]
    assert ours["consensus"] == "70.50" and ours["score"] == "65.00"
    assert ours["divergent"] == [impact.id] and not ours["is_flagged"]
    assert ApiClient(client, cast.committee).get(f"/calls/{call.id}/ranking").status_code == 200

    # The applicant's history holds the state changes, never reviewers nor reviews.
    history = ApiClient(client, cast.signatory).get(f"{path}/history")
    assert history.status_code == 200
    text = history.get_data(as_text=True)
    for secret in ("Julien Moreau", "Inès Haddad", "reviewer_assigned", "no_conflict_declared",
                   "review_submitted", "consensus_recorded", "eligibility_checked",
                   "Impact plus modeste."):
        assert secret not in text, secret
    assert "complete_review" in text and "declare_eligible" in text


# --- refusals -----------------------------------------------------------------------------------


def test_review_refused_in_french_keyed_by_field_and_nothing_saved(client, world):
    call, cast, _admin, application = world
    under_review(application, cast)
    reviewer = cast.reviewers[0]
    api = ApiClient(client, reviewer)
    path = f"/applications/{application.id}/review"
    impact, feasibility = criteria(call)
    assert api.put(path, review_body(call, "4", "3")).status_code == 200
    # Submitting needs every criterion and an opinion.
    response = api.put(path, review_body(call, "4.5", None, submit=True))
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.json["errors"] == {
        f"score-{feasibility.id}": "Notez le critère « Faisabilité ».",
        "opinion": "Donnez votre avis d'ensemble."}
    # Off the scale or off the step.
    response = api.put(path, review_body(call, "4.3", 6, opinion="favourable", submit=True))
    assert response.status_code == 422
    assert response.json["errors"] == {
        f"score-{impact.id}": "Impact attendu : La note va par pas de 0,5.",
        f"score-{feasibility.id}": "Faisabilité : La note va de 0 à 5."}
    # Types, unknown keys, a criterion twice, another call's criterion: refused by the API.
    body = review_body(call, "4", "3")
    body["colour"] = "bleu"
    body["scores"][0]["score"] = "beaucoup"
    errors = api.put(path, body).json["errors"]
    assert errors["colour"] == ["Champ inconnu."]
    assert errors["scores"] == {"0": {"score": ["Nombre attendu."]}}
    body = review_body(call, "4", "3")
    body["scores"].append(body["scores"][0])
    assert api.put(path, body).json["errors"] == {"scores": ["Un même critère est noté deux fois."]}
    response = api.put(path, {"scores": [{"criterion_id": 2**31 - 1, "score": "1"}]})
    assert response.status_code == 422
    assert response.json["errors"] == {
        f"criterion-{2**31 - 1}": "Ce critère ne fait pas partie de la grille."}
    db.session.expire_all()
    review = services.own_review(application, reviewer)
    assert review.state is ReviewState.DRAFT
    assert sorted(s.score for s in review.scores) == [D("3"), D("4")]


def test_a_submitted_review_is_locked_until_the_manager_reopens_it(client, world):
    call, cast, _admin, application = world
    under_review(application, cast)
    first, second = cast.reviewers
    api, staff = ApiClient(client, first), ApiClient(client, cast.manager)
    path = f"/applications/{application.id}"
    assert api.put(f"{path}/review", review_body(
        call, "4", "4", opinion="favourable", submit=True)).status_code == 200
    # Locked: refused like the web page (403), nothing changed.
    response = api.put(f"{path}/review", review_body(call, "1", "1"))
    assert response.status_code == 403
    assert response.json["detail"] == "Vous ne pouvez pas (ou plus) évaluer ce dossier."
    db.session.expire_all()
    review = services.own_review(application, first)
    assert {s.score for s in review.scores} == {D("4")}
    locked = api.get(f"{path}/review").json
    assert locked["state"] == "submitted" and not locked["may_score"]
    # Only the manager reopens, with a reason; the other reviewer cannot even see the reviews.
    assert ApiClient(client, second).post(f"{path}/reviews/{review.id}/reopen",
                                          {"reason": "Erreur"}).status_code == 404
    assert api.post(f"{path}/reviews/{review.id}/reopen",
                    {"reason": "Erreur"}).status_code == 403
    response = staff.post(f"{path}/reviews/{review.id}/reopen", {"reason": "  "})
    assert response.status_code == 422
    assert response.json["errors"] == {"reason": "Motif obligatoire."}
    assert staff.post(f"{path}/reviews/{2**31 - 1}/reopen", {"reason": "x"}).status_code == 404
    response = staff.post(f"{path}/reviews/{review.id}/reopen",
                          {"reason": "Note de faisabilité à revoir."})
    assert response.status_code == 200, response.json
    assert response.json["reviews"] == []
    assert events_of(application)[-1] == "review_reopened"
    reopened = api.put(f"{path}/review", review_body(call, "4", "3"))
    assert reopened.status_code == 200 and reopened.json["state"] == "draft"


def test_consensus_refused_in_french_and_kept_for_the_manager(client, world):
    call, cast, _admin, application = world
    under_review(application, cast)
    for reviewer in cast.reviewers:
        services.save_review(application, reviewer, scores(application, "4", "4"), "favourable",
                             "", submit=True)
    db.session.commit()
    staff = ApiClient(client, cast.manager)
    path = f"/applications/{application.id}/consensus"
    response = staff.put(path, {"score": "120", "justification": " "})
    assert response.status_code == 422
    assert response.json["errors"] == {"score": "La note de consensus va de 0 à 100.",
                                       "justification": "Justifiez la note de consensus."}
    assert staff.put(path, {"score": 75}).json["errors"] == {
        "justification": ["Champ obligatoire."]}
    assert services.consensus_of(application) is None
    assert ApiClient(client, cast.committee).put(
        path, {"score": 75, "justification": "Comité."}).status_code == 403
    assert ApiClient(client, cast.signatory).put(
        path, {"score": 75, "justification": "Nous."}).status_code == 404


def test_declared_conflict_removes_the_assignment(client, world):
    _call, cast, _admin, application = world
    reviewer = cast.reviewers[0]
    services.assign_reviewer(application, cast.manager, reviewer)
    db.session.commit()
    api = ApiClient(client, reviewer)
    path = f"/applications/{application.id}/review"
    # Scoring waits for the declaration.
    assert api.put(path, {"scores": []}).status_code == 409
    response = api.post(f"{path}/declaration", {"has_conflict": True, "note": ""})
    assert response.status_code == 422
    assert response.json["errors"] == {"note": "Précisez la nature du conflit d'intérêts."}
    assert api.post(f"{path}/declaration", {"has_conflict": "oui"}).json["errors"] == {
        "has_conflict": ["Booléen attendu."]}
    response = api.post(f"{path}/declaration",
                        {"has_conflict": True, "note": "Conseiller municipal de la commune."})
    assert response.status_code == 200
    assert response.json["conflict_status"] == "conflict" and "scores" not in response.json
    assert services.own_review(application, reviewer).conflict_status is ConflictStatus.CONFLICT
    assert "conflict_declared" in events_of(application)
    # Gone from their view; the manager's board shows it.
    assert api.get(path).status_code == 404
    assert api.post(f"{path}/declaration", {"has_conflict": False}).status_code == 404
    assert api.get("/reviews").json["to_declare"] == []
    board = ApiClient(client, cast.manager).get(
        f"/calls/{application.call_id}/reviewer-assignments").json
    (row,) = board["rows"]
    assert [r["conflict_status"] for r in row["reviews"]] == ["conflict"] and row["missing"] == 2


def test_a_declaration_is_made_once(client, world):
    _call, cast, _admin, application = world
    reviewer = cast.reviewers[0]
    f.assign_reviewer(application, reviewer, ConflictStatus.NONE)
    db.session.commit()
    response = ApiClient(client, reviewer).post(
        f"/applications/{application.id}/review/declaration", {"has_conflict": False})
    assert response.status_code == 403
    assert response.json["detail"] == "Vous avez déjà fait votre déclaration pour ce dossier."


def test_eligibility_checklist_refused_when_incomplete_and_nothing_saved(client, world):
    call, cast, _admin, application = world
    staff = ApiClient(client, cast.manager)
    path = f"/applications/{application.id}/eligibility-checks"
    first_item, second_item = call.eligibility_items
    response = staff.put(path, {"answers": [{"item_id": first_item.id, "is_met": True}]})
    assert response.status_code == 422
    assert response.json["errors"] == {
        f"item-{second_item.id}": "Point non renseigné : Collectivité éligible"}
    response = staff.put(path, {"answers": [{"item_id": first_item.id, "is_met": True}] * 2})
    assert response.json["errors"] == {"answers": ["Un même point est renseigné deux fois."]}
    assert services.eligibility_answers(application) == {}
    # The applicant and an unassigned reviewer see nothing; a reviewer before the declaration
    # neither.
    assert ApiClient(client, cast.signatory).get(path).status_code == 404
    reviewer = cast.reviewers[0]
    services.assign_reviewer(application, cast.manager, reviewer)
    db.session.commit()
    assert ApiClient(client, reviewer).get(path).status_code == 404
    services.declare_conflict(application, reviewer, False)
    db.session.commit()
    # Once cleared, the reviewer checks it (while the dossier is deposited).
    response = ApiClient(client, reviewer).put(path, {"answers": [
        {"item_id": first_item.id, "is_met": True}, {"item_id": second_item.id,
                                                     "is_met": False, "note": "Hors champ"}]})
    assert response.status_code == 200, response.json
    # The checklist then guards declare_eligible.
    refused = staff.fire(application.id, "declare_eligible")
    assert refused.status_code == 409
    assert refused.json["problems"] == [
        "Point de recevabilité non satisfait : « Collectivité éligible »."]


def test_grid_edits_refused_when_invalid_forbidden_or_frozen(client, world):
    call, cast, admin, application = world
    admin_api, staff = ApiClient(client, admin), ApiClient(client, cast.manager)
    impact, feasibility = criteria(call)
    grid = {
        "criteria": [{"id": impact.id, "label": "Impact attendu", "weight": "3"},
                     {"id": feasibility.id, "label": "Faisabilité"},
                     {"label": "Partenariat", "weight": "150", "threshold": "7"}],
        "overall_threshold": None, "divergence_threshold": "1.5", "min_reviewers": 2,
    }
    response = admin_api.put(f"/calls/{call.id}/grid", grid)
    assert response.status_code == 422
    assert response.json["errors"] == {
        "criteria-2-weight": "Critère n° 3 : le poids est un nombre positif (100 au plus).",
        "criteria-2-threshold": "Critère n° 3 : le seuil va de 0 à la note maximale."}
    assert admin_api.put(f"/calls/{call.id}/grid", {**grid, "tie_breaks": ["criterion:x"]}
                         ).json["errors"] == {
        "tie_breaks": {"0": ["Critères de départage inconnus ou répétés."]}}
    db.session.expire_all()
    assert len(call.criteria) == 2 and impact.weight == D("2")
    # The manager reads the grid but may not edit it; the applicant does not see it.
    assert staff.get(f"/calls/{call.id}/grid").json["may_edit"] is False
    assert staff.put(f"/calls/{call.id}/grid", grid).status_code == 403
    assert staff.put(f"/calls/{call.id}/eligibility-checklist",
                     {"items": ["Autre"]}).status_code == 403
    assert ApiClient(client, cast.signatory).get(f"/calls/{call.id}/grid").status_code == 404

    grid["criteria"][2].update(weight="1", threshold=None)
    response = admin_api.put(f"/calls/{call.id}/grid", grid)
    assert response.status_code == 200, response.json
    assert [(c["label"], c["weight"]) for c in response.json["criteria"]] == [
        ("Impact attendu", "3.00"), ("Faisabilité", "1.00"), ("Partenariat", "1.00")]

    # The checklist once used, the grid once a review is submitted: frozen (409).
    under_review(application, cast)
    services.save_review(application, cast.reviewers[0],
                         {c.id: ("4", "") for c in criteria(call)}, "favourable", "",
                         submit=True)
    db.session.commit()
    response = admin_api.put(f"/calls/{call.id}/grid", grid)
    assert response.status_code == 409
    assert "La grille est figée" in response.json["detail"]
    response = admin_api.put(f"/calls/{call.id}/eligibility-checklist", {"items": ["Autre"]})
    assert response.status_code == 409
    body = admin_api.get(f"/calls/{call.id}/grid").json
    assert body["is_frozen"] and body["is_checklist_frozen"]
    assert [i["label"] for i in body["eligibility_checklist"]] == [
        "Délibération signée jointe", "Collectivité éligible"]


# --- assignments ------------------------------------------------------------------------------


def test_assign_by_hand_then_withdraw(client, world):
    _call, cast, _admin, application = world
    reviewer = cast.reviewers[1]
    staff = ApiClient(client, cast.manager)
    path = f"/applications/{application.id}/reviewers"
    created = staff.post(path, {"reviewer_id": reviewer.id})
    assert created.status_code == 201
    assert created.json["reviewer"] == {"id": reviewer.id, "full_name": "Inès Haddad"}
    response = staff.post(path, {"reviewer_id": reviewer.id})
    assert response.status_code == 422
    assert response.json["errors"] == {
        "reviewer_id": "Inès Haddad est déjà affecté à ce dossier."}
    response = staff.post(path, {"reviewer_id": cast.signatory.id})
    assert response.json["errors"] == {"reviewer_id": "Choisissez un instructeur actif."}
    # The applicant may see the dossier but not assign; an unassigned reviewer sees nothing.
    assert ApiClient(client, cast.signatory).post(
        path, {"reviewer_id": reviewer.id}).status_code == 403
    assert ApiClient(client, cast.reviewers[0]).post(
        path, {"reviewer_id": reviewer.id}).status_code == 404
    assert staff.delete(f"{path}/{created.json['id']}").status_code == 204
    assert services.own_review(application, reviewer) is None
    assert events_of(application)[-2:] == ["reviewer_assigned", "reviewer_unassigned"]
    assert staff.delete(f"{path}/{created.json['id']}").status_code == 404


def test_bulk_assignment_balances_and_the_board_shows_the_loads(client, world):
    call, cast, _admin, application = world
    staff = ApiClient(client, cast.manager)
    path = f"/calls/{call.id}/reviewer-assignments"
    board = staff.get(path).json
    assert board["min_reviewers"] == 2
    assert [(r["application"]["reference"], r["missing"], r["may_assign"])
            for r in board["rows"]] == [(application.reference, 2, True)]
    response = staff.post(path, None)
    assert response.status_code == 200, response.json
    assert sorted(r["reviewer"]["full_name"] for r in response.json["created"]) == [
        "Inès Haddad", "Julien Moreau"]
    (row,) = response.json["rows"]
    assert row["missing"] == 0 and len(row["reviews"]) == 2
    loads = {entry["reviewer"]["full_name"]: (entry["load"], entry["call_load"])
             for entry in response.json["pool"]}
    assert loads["Julien Moreau"] == loads["Inès Haddad"] == (1, 1)
    assert staff.post(path, None).json["created"] == []
    for user in (cast.reviewers[0], cast.signatory, cast.committee):
        assert ApiClient(client, user).get(path).status_code == 404
        assert ApiClient(client, user).post(path, None).status_code == 404


# --- who sees what ----------------------------------------------------------------------------


def test_reviewer_sees_only_their_assignments(client, world):
    call, cast, _admin, application = world
    under_review(application, cast)
    outsider = f.make_user(Role.REVIEWER)
    db.session.commit()
    api = ApiClient(client, outsider)
    for path in (f"/applications/{application.id}/review",
                 f"/applications/{application.id}/reviews",
                 f"/applications/{application.id}/eligibility-checks",
                 f"/calls/{call.id}/ranking", f"/calls/{call.id}/grid",
                 f"/calls/{call.id}/reviewer-assignments"):
        assert api.get(path).status_code == 404, path
    assert api.put(f"/applications/{application.id}/review",
                   review_body(call, "4", "4")).status_code == 404
    nothing = api.get("/reviews").json
    assert {group: nothing[group] for group in ("to_declare", "to_write", "waiting",
                                                "submitted")} == {
        "to_declare": [], "to_write": [], "waiting": [], "submitted": []}
    assert nothing["counts"] == {"to_declare": 0, "to_write": 0, "waiting": 0, "submitted": 0}
    mine = ApiClient(client, cast.reviewers[0]).get("/reviews").json
    assert [(t["application"]["reference"], t["application"]["title"])
            for t in mine["to_write"]] == [(application.reference, application.title)]


def test_applicant_sees_no_review_nor_ranking(client, world):
    call, cast, _admin, application = world
    under_review(application, cast)
    for reviewer in cast.reviewers:
        services.save_review(application, reviewer, scores(application, "4", "3"), "favourable",
                             "Très bon dossier.", submit=True)
    db.session.commit()
    api = ApiClient(client, cast.signatory)
    for path in ("/reviews", f"/applications/{application.id}/review",
                 f"/applications/{application.id}/reviews",
                 f"/applications/{application.id}/eligibility-checks",
                 f"/calls/{call.id}/ranking", f"/calls/{call.id}/grid",
                 f"/calls/{call.id}/reviewer-assignments"):
        assert api.get(path).status_code == 404, path
    assert api.get(f"/applications/{application.id}").status_code == 200
