"""Instruction: the recevabilité checklist, reviewer assignment and conflicts of interest, reviews
(draft, submitted, locked, reopened), the consensus, the frozen grid and who sees what."""

from __future__ import annotations

import html
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from dcol.accounts.services import create_api_token
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
from dcol.reviews import grid as grids
from dcol.reviews import services
from tests import factories as f
from tests import workflow_support as ws
from workflows import engine

S = ApplicationState


def login(client, user):
    response = client.post("/connexion", data={"email": user.email, "password": f.PASSWORD})
    assert response.status_code == 302


def logout(client):
    client.post("/deconnexion")


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def world(app):
    """A DCOL call with a two-criterion grid (impact weighs 2) and a two-point checklist, two
    reviewers, and a deposited dossier."""
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
    application = ws.complete_dossier(call, cast)
    ws.fire_step(application, cast, "submit")
    db.session.commit()
    return call, cast, application


def answer_checklist(application, user, met=(True, True)):
    items = application.call.eligibility_items
    services.record_eligibility(application, user, {
        item.id: (is_met, "") for item, is_met in zip(items, met, strict=True)})
    db.session.commit()


def under_review(application, cast):
    """Recevable, both reviewers assigned and cleared, instruction started."""
    answer_checklist(application, cast.manager)
    engine.fire(application, "declare_eligible", cast.manager)
    for reviewer in cast.reviewers:
        services.assign_reviewer(application, cast.manager, reviewer)
        services.declare_conflict(application, reviewer, False)
    db.session.commit()
    engine.fire(application, "start_review", cast.manager)


def scores(application, *values):
    criteria = sorted(application.call.criteria, key=lambda c: c.position)
    return {c.id: (value, f"Commentaire {c.label}") for c, value in zip(criteria, values,
                                                                          strict=True)}


def events_of(application) -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.event).where(
        AuditEvent.application_id == application.id).order_by(AuditEvent.sequence)))


# --- recevabilité -----------------------------------------------------------------------------


def test_declare_eligible_waits_for_the_checklist_and_every_point_met(world, client):
    call, cast, application = world
    with pytest.raises(engine.GuardsFailed) as refused:
        engine.fire(application, "declare_eligible", cast.manager)
    assert refused.value.problems == [
        "Point de recevabilité non vérifié : « Délibération signée jointe ».",
        "Point de recevabilité non vérifié : « Collectivité éligible ».",
    ]
    login(client, cast.manager)
    items = call.eligibility_items
    # Half answered: refused, the answers kept, nothing saved.
    response = client.post(f"/dossiers/{application.id}/recevabilite", data={
        f"item-{items[0].id}": "oui", f"note-{items[0].id}": "Délibération du 12 mars"})
    assert response.status_code == 422
    body = page(response)
    assert "Point non renseigné : Collectivité éligible" in body
    assert "Délibération du 12 mars" in body
    assert services.eligibility_answers(application) == {}
    response = client.post(f"/dossiers/{application.id}/recevabilite", data={
        f"item-{items[0].id}": "oui", f"item-{items[1].id}": "non",
        f"note-{items[1].id}": "Syndicat hors champ"})
    assert response.status_code == 302
    with pytest.raises(engine.GuardsFailed) as refused:
        engine.fire(application, "declare_eligible", cast.manager)
    assert refused.value.problems == [
        "Point de recevabilité non satisfait : « Collectivité éligible »."]
    # The reviewer may still declare it ineligible, with a reason.
    engine.fire(application, "declare_ineligible", cast.manager, comment="Syndicat hors champ.")
    assert application.state is S.INELIGIBLE


def test_a_met_checklist_lets_the_dossier_be_declared_eligible(world):
    _call, cast, application = world
    answer_checklist(application, cast.manager)
    engine.fire(application, "declare_eligible", cast.manager)
    assert application.state is S.ELIGIBLE
    assert "eligibility_checked" in events_of(application)


# --- assignment and conflicts of interest ------------------------------------------------------


def test_assigned_reviewer_declares_before_seeing_the_dossier(world, client):
    _call, cast, application = world
    reviewer = cast.reviewers[0]
    services.assign_reviewer(application, cast.manager, reviewer)
    db.session.commit()
    mail = db.session.scalars(sa.select(OutgoingMail).where(
        OutgoingMail.to_address == reviewer.email)).one()
    assert application.reference in mail.subject
    assert f"/dossiers/{application.id}/evaluation" in mail.body_text

    login(client, reviewer)
    assert client.get(f"/dossiers/{application.id}").status_code == 404
    assert client.get(f"/dossiers/{application.id}/pieces").status_code == 404
    declaration = page(client.get(f"/dossiers/{application.id}/evaluation"))
    assert "Déclaration d'absence de conflit d'intérêts" in declaration
    assert application.organisation.name in declaration
    assert application.summary not in declaration  # the content waits for the declaration

    response = client.post(f"/dossiers/{application.id}/evaluation/declaration",
                           data={"conflict": "non"})
    assert response.status_code == 302
    assert client.get(f"/dossiers/{application.id}").status_code == 200


def test_a_declared_conflict_removes_the_assignment_and_blocks_scoring(world, client):
    _call, cast, application = world
    reviewer, other = cast.reviewers
    answer_checklist(application, cast.manager)
    engine.fire(application, "declare_eligible", cast.manager)
    for person in (reviewer, other):
        services.assign_reviewer(application, cast.manager, person)
    db.session.commit()

    login(client, reviewer)
    # A conflict needs a word on its nature: refused, the choice kept.
    response = client.post(f"/dossiers/{application.id}/evaluation/declaration",
                           data={"conflict": "oui", "conflict_note": ""})
    assert response.status_code == 422
    assert "Dites en quelques mots la nature du lien" in page(response)
    response = client.post(f"/dossiers/{application.id}/evaluation/declaration", data={
        "conflict": "oui", "conflict_note": "Conseiller municipal de la commune."})
    assert response.status_code == 302
    review = services.own_review(application, reviewer)
    assert review.conflict_status is ConflictStatus.CONFLICT and not review.is_active
    # The managers are asked for a replacement.
    assert db.session.scalar(sa.select(OutgoingMail).where(
        OutgoingMail.to_address == cast.manager.email,
        OutgoingMail.subject.contains("Instructeur à remplacer")))
    assert "conflict_declared" in events_of(application)
    # The reviewer neither sees nor scores the dossier; the instruction cannot start short of one.
    assert client.get(f"/dossiers/{application.id}").status_code == 404
    assert client.get(f"/dossiers/{application.id}/evaluation").status_code == 404
    with pytest.raises(engine.WorkflowError):
        services.save_review(application, reviewer, scores(application, "4", "4"),
                             "favourable", "", submit=True)
    db.session.rollback()
    with pytest.raises(engine.GuardsFailed) as refused:
        engine.fire(application, "start_review", cast.manager)
    assert refused.value.problems == [
        "Il faut au moins 2 instructeur(s) sans conflit d'intérêts ; 1 affecté(s).",
    ]
    # They cannot be assigned again; another reviewer replaces them.
    with pytest.raises(services.ReviewRefused):
        services.assign_reviewer(application, cast.manager, reviewer)
    replacement = f.make_user(Role.REVIEWER)
    services.assign_reviewer(application, cast.manager, replacement)
    engine.fire(application, "start_review", cast.manager)
    assert application.state is S.UNDER_REVIEW


def test_bulk_assignment_balances_the_reviewers_loads(world):
    call, cast, first = world
    third = f.make_user(Role.REVIEWER)
    third.full_name = "Aline Bernard"
    # Julien Moreau already has a review to write elsewhere.
    elsewhere_call = ws.make_call_for(CallKind.DCOL)
    elsewhere = ws.complete_dossier(elsewhere_call, cast)
    f.assign_reviewer(elsewhere, cast.reviewers[0])
    second = ws.complete_dossier(call, cast)
    ws.fire_step(second, cast, "submit")
    db.session.commit()

    with pytest.raises(engine.Forbidden):
        services.assign_in_bulk(call, cast.reviewers[0])
    created = services.assign_in_bulk(call, cast.manager)
    db.session.commit()
    assert len(created) == 4  # two dossiers, two reviewers each
    per_dossier = {app.id: sorted(r.reviewer.full_name for r in created
                                  if r.application_id == app.id) for app in (first, second)}
    # Aline and Inès (nothing to write) take the first dossier, by name; for the second, all
    # three have one review to write: Julien (none in this call) comes first, then Aline.
    assert per_dossier[first.id] == ["Aline Bernard", "Inès Haddad"]
    assert per_dossier[second.id] == ["Aline Bernard", "Julien Moreau"]
    loads = services.reviewer_loads()
    assert [loads[r.id] for r in (*cast.reviewers, third)] == [2, 1, 2]
    assert all(r.conflict_status is ConflictStatus.PENDING for r in created)
    # Run again: every dossier has its reviewers, nothing more.
    assert services.assign_in_bulk(call, cast.manager) == []


# --- reviews ----------------------------------------------------------------------------------


def test_draft_then_submit_locks_the_review_and_the_last_one_closes_the_instruction(world, client):
    call, cast, application = world
    under_review(application, cast)
    first, second = cast.reviewers
    login(client, first)
    # A draft may be partial.
    response = client.post(f"/dossiers/{application.id}/evaluation", data={
        "action": "draft", **{f"score-{c.id}": "" for c in call.criteria},
        f"score-{call.criteria[0].id}": "4", f"comment-{call.criteria[0].id}": "Solide.",
        "overall_comment": "À compléter."})
    assert response.status_code == 302
    review = services.own_review(application, first)
    assert review.state is ReviewState.DRAFT and review.scores[0].score == D("4")
    # Submitting needs every criterion and an opinion: refused, the input kept, nothing saved.
    response = client.post(f"/dossiers/{application.id}/evaluation", data={
        "action": "submit", f"score-{call.criteria[0].id}": "4.5",
        f"score-{call.criteria[1].id}": "", "overall_comment": "Bon dossier."})
    assert response.status_code == 422
    body = page(response)
    assert "Notez le critère « Faisabilité »." in body and "Donnez votre avis d'ensemble." in body
    assert 'value="4.5"' in body and "Bon dossier." in body
    db.session.expire_all()
    assert services.own_review(application, first).scores[0].score == D("4")
    # Off the scale or off the step: refused.
    response = client.post(f"/dossiers/{application.id}/evaluation", data={
        "action": "submit", f"score-{call.criteria[0].id}": "4.3",
        f"score-{call.criteria[1].id}": "6", "opinion": "favourable"})
    assert response.status_code == 422
    assert "La note va par pas de 0,5." in page(response)
    assert "La note va de 0 à 5." in page(response)

    response = client.post(f"/dossiers/{application.id}/evaluation", data={
        "action": "submit", f"score-{call.criteria[0].id}": "4",
        f"score-{call.criteria[1].id}": "3,5", f"comment-{call.criteria[1].id}": "Calendrier serré.",
        "opinion": "favourable", "overall_comment": "Bon dossier."})
    assert response.status_code == 302
    db.session.expire_all()
    review = services.own_review(application, first)
    assert review.state is ReviewState.SUBMITTED and review.submitted_at is not None
    assert call.grid_frozen_at is not None
    # Locked: a new post is refused and changes nothing.
    response = client.post(f"/dossiers/{application.id}/evaluation", data={
        "action": "draft", f"score-{call.criteria[0].id}": "1"})
    assert response.status_code == 403
    db.session.expire_all()
    assert services.own_review(application, first).scores[0].score == D("4")
    # complete_review waits for the second review...
    assert application.state is S.UNDER_REVIEW
    with pytest.raises(engine.GuardsFailed) as refused:
        engine.fire(application, "complete_review", cast.manager)
    assert refused.value.problems == ["1 évaluation(s) n'ont pas encore été soumise(s)."]
    # ...and is fired by dcol when it comes in.
    services.save_review(application, second, scores(application, "2", "4"), "reserved", "",
                         submit=True)
    db.session.commit()
    assert application.state is S.REVIEWED
    entry = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.application_id == application.id, AuditEvent.event == "complete_review")).one()
    assert entry.actor_id is None
    # (2 × 3 + 3.75) / 15 × 100 = 65; impact 3 is at its threshold; 4 vs 2 diverge.
    aggregate = services.aggregate_of(application)
    assert aggregate.score == D("65.00") and not aggregate.below_threshold
    assert [r.criterion.label for r in aggregate.divergent] == ["Impact attendu"]


def test_a_reviewer_sees_the_other_reviews_only_after_submitting(world, client):
    _call, cast, application = world
    under_review(application, cast)
    first, second = cast.reviewers
    services.save_review(application, second, scores(application, "2", "4"), "reserved",
                         "Partenariat fragile.", submit=True)
    db.session.commit()
    login(client, first)
    assert client.get(f"/dossiers/{application.id}/evaluations").status_code == 404
    mine = page(client.get(f"/dossiers/{application.id}/evaluation"))
    assert "Partenariat fragile." not in mine and "Toutes les évaluations" not in mine
    services.save_review(application, first, scores(application, "4", "4"), "favourable", "",
                         submit=True)
    db.session.commit()
    response = client.get(f"/dossiers/{application.id}/evaluations")
    assert response.status_code == 200
    body = page(response)
    assert "Partenariat fragile." in body
    # Reviewers read each other anonymously; staff and the committee see the names.
    assert "Instructeur 1" in body and "Inès Haddad" not in body
    logout(client)
    login(client, cast.manager)
    body = page(client.get(f"/dossiers/{application.id}/evaluations"))
    assert "Inès Haddad" in body and "Julien Moreau" in body
    # Impact (4 + 2) / 2 = 3, feasibility 4: (2 × 3 + 4) / 15 × 100 = 66.67.
    assert "66,67 / 100" in body


def test_manager_reopens_a_review_with_a_reason_and_records_a_consensus(world, client):
    _call, cast, application = world
    under_review(application, cast)
    first, second = cast.reviewers
    services.save_review(application, first, scores(application, "4", "4"), "favourable", "",
                         submit=True)
    db.session.commit()
    review = services.own_review(application, first)
    with pytest.raises(engine.WorkflowError):
        services.reopen_review(application, second, review, "Erreur")
    db.session.rollback()
    login(client, cast.manager)
    response = client.post(
        f"/dossiers/{application.id}/evaluations/{review.id}/reouverture", data={"reason": ""})
    assert response.status_code == 422
    response = client.post(f"/dossiers/{application.id}/evaluations/{review.id}/reouverture",
                           data={"reason": "Note de faisabilité à revoir."})
    assert response.status_code == 302
    db.session.expire_all()
    assert services.own_review(application, first).state is ReviewState.DRAFT
    reopened = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.application_id == application.id, AuditEvent.event == "review_reopened")).one()
    assert reopened.actor_id == cast.manager.id and reopened.comment == "Note de faisabilité à revoir."
    assert db.session.scalar(sa.select(OutgoingMail).where(
        OutgoingMail.to_address == first.email, OutgoingMail.subject.contains("rouverte")))

    for reviewer in (first, second):
        services.save_review(application, reviewer, scores(application, "4", "4"), "favourable",
                             "", submit=True)
    db.session.commit()
    response = client.post(f"/dossiers/{application.id}/evaluations/consensus",
                           data={"score": "120", "justification": ""})
    assert response.status_code == 422
    body = page(response)
    assert "La note de consensus va de 0 à 100." in body and "Justifiez" in body
    response = client.post(f"/dossiers/{application.id}/evaluations/consensus", data={
        "score": "78,5", "justification": "Le comité technique retient un impact plus modeste."})
    assert response.status_code == 302
    aggregate = services.aggregate_of(application)
    assert aggregate.score == D("80.00") and aggregate.final_score == D("78.50")
    body = page(client.get(f"/dossiers/{application.id}/evaluations"))
    assert "78,5 / 100" in body and "80 / 100" in body


# --- the grid ---------------------------------------------------------------------------------


def test_admin_edits_the_grid_until_the_first_review_is_submitted(world, client):
    call, cast, application = world
    admin = f.make_user(Role.ADMIN)
    db.session.commit()
    impact, feasibility = sorted(call.criteria, key=lambda c: c.position)
    login(client, cast.manager)
    assert client.get(f"/appels/{call.id}/grille").status_code == 200  # read only
    assert client.post(f"/appels/{call.id}/grille", data={}).status_code == 404
    logout(client)
    login(client, admin)
    form = {
        "criteria-0-id": impact.id, "criteria-0-label": "Impact attendu", "criteria-0-weight": "3",
        "criteria-0-scale_max": "5", "criteria-0-step": "0,5", "criteria-0-threshold": "2,5",
        "criteria-1-id": feasibility.id, "criteria-1-label": "Faisabilité",
        "criteria-1-weight": "1", "criteria-1-scale_max": "5", "criteria-1-step": "0.5",
        "criteria-1-threshold": "",
        "criteria-2-id": "", "criteria-2-label": "Partenariat", "criteria-2-weight": "abc",
        "criteria-2-scale_max": "5", "criteria-2-step": "0.5", "criteria-2-threshold": "7",
        "overall_threshold": "60", "divergence_threshold": "1,5", "min_reviewers": "2",
        "tie_breaks": ["criterion:1", "submitted_at"],
    }
    response = client.post(f"/appels/{call.id}/grille", data=form)
    assert response.status_code == 422
    body = page(response)
    assert "Critère n° 3 : le poids est un nombre positif" in body
    assert "Critère n° 3 : le seuil va de 0 à la note maximale." in body
    assert 'value="abc"' in body
    db.session.expire_all()
    assert len(call.criteria) == 2 and impact.weight == D("2")  # nothing saved
    form.update({"criteria-2-weight": "1", "criteria-2-threshold": ""})
    assert client.post(f"/appels/{call.id}/grille", data=form).status_code == 302
    db.session.expire_all()
    assert [(c.label, c.weight, c.position) for c in call.criteria] == [
        ("Impact attendu", D("3"), 1), ("Faisabilité", D("1"), 2), ("Partenariat", D("1"), 3)]
    assert call.overall_threshold == D("60") and call.divergence_threshold == D("1.5")
    assert call.tie_breaks == ["criterion:1", "submitted_at"]

    # The first submitted review freezes it.
    under_review(application, cast)
    criteria = sorted(call.criteria, key=lambda c: c.position)
    services.save_review(application, cast.reviewers[0],
                         {c.id: ("4", "") for c in criteria}, "favourable", "", submit=True)
    db.session.commit()
    form["criteria-0-weight"] = "1"
    response = client.post(f"/appels/{call.id}/grille", data=form)
    assert response.status_code == 409
    assert "La grille est figée" in page(response)
    db.session.expire_all()
    assert criteria[0].weight == D("3")
    with pytest.raises(engine.NotApplicable):
        grids.update_grid(call, admin, [{"label": "Autre"}], {"divergence_threshold": "2",
                                                               "min_reviewers": "2"})


def test_the_checklist_is_frozen_once_used(world):
    call, cast, application = world
    admin = f.make_user(Role.ADMIN)
    grids.update_checklist(call, admin, ["Délibération signée jointe", "Budget équilibré", ""])
    assert [item.label for item in call.eligibility_items] == [
        "Délibération signée jointe", "Budget équilibré"]
    answer_checklist(application, cast.manager)
    with pytest.raises(engine.NotApplicable):
        grids.update_checklist(call, admin, ["Autre"])


# --- who sees what ----------------------------------------------------------------------------


def test_applicant_never_sees_scores_nor_reviewers(world, client):
    _call, cast, application = world
    under_review(application, cast)
    for reviewer in cast.reviewers:
        services.save_review(application, reviewer, scores(application, "4", "3"), "favourable",
                             "Très bon dossier.", submit=True)
    services.record_consensus(application, cast.manager, "75", "Consensus du comité technique.")
    db.session.commit()
    login(client, cast.signatory)
    assert client.get(f"/dossiers/{application.id}/evaluations").status_code == 404
    assert client.get(f"/dossiers/{application.id}/evaluation").status_code == 404
    assert client.get(f"/appels/{application.call_id}/classement").status_code == 404
    body = page(client.get(f"/dossiers/{application.id}"))
    for secret in ("Julien Moreau", "Inès Haddad", "Très bon dossier.", "Consensus",
                   "Instructeur affecté", "Évaluation soumise"):
        assert secret not in body
    token = create_api_token(cast.signatory, "tests")
    db.session.commit()
    logout(client)
    history = client.get(f"/api/v1/applications/{application.id}/history",
                         headers={"Authorization": f"Bearer {token}"})
    assert history.status_code == 200
    text = history.get_data(as_text=True)
    assert "Julien Moreau" not in text and "review_submitted" not in text
    assert "complete_review" in text  # the state changes themselves are the applicant's


def test_reviewer_never_sees_unassigned_dossiers(world, client):
    call, cast, application = world
    under_review(application, cast)
    other = ws.complete_dossier(call, cast)
    ws.fire_step(other, cast, "submit")
    db.session.commit()
    outsider = f.make_user(Role.REVIEWER)
    db.session.commit()
    login(client, outsider)
    for path in (f"/dossiers/{application.id}", f"/dossiers/{application.id}/evaluation",
                 f"/dossiers/{application.id}/evaluations", f"/dossiers/{other.id}",
                 f"/appels/{call.id}/classement", f"/appels/{call.id}/instructeurs"):
        assert client.get(path).status_code == 404, path
    assert application.reference not in page(client.get("/dossiers/"))
    logout(client)
    login(client, cast.reviewers[0])
    listing = page(client.get("/dossiers/"))
    assert application.reference in listing and other.reference not in listing
    assert application.reference in page(client.get("/evaluations"))


# --- the call's pages ---------------------------------------------------------------------------


def test_assignment_page_assigns_and_withdraws_by_hand(world, client):
    call, cast, application = world
    login(client, cast.manager)
    body = page(client.get(f"/appels/{call.id}/instructeurs"))
    assert application.reference in body and "2 instructeur(s) manquant(s)" in body
    reviewer = cast.reviewers[1]
    response = client.post(f"/appels/{call.id}/instructeurs/affectation",
                           data={"application_id": application.id, "reviewer_id": reviewer.id})
    assert response.status_code == 302
    review = services.own_review(application, reviewer)
    assert review is not None and review.assigned_by_id == cast.manager.id
    # Twice: refused with the reason.
    response = client.post(f"/appels/{call.id}/instructeurs/affectation",
                           data={"application_id": application.id, "reviewer_id": reviewer.id})
    assert response.status_code == 422
    assert "Inès Haddad est déjà affecté à ce dossier." in page(response)
    # A dossier of another call is not reachable through this call's page.
    other_call = ws.make_call_for(CallKind.DCOL)
    stranger = ws.complete_dossier(other_call, cast)
    db.session.commit()
    assert client.post(f"/appels/{call.id}/instructeurs/affectation", data={
        "application_id": stranger.id, "reviewer_id": reviewer.id}).status_code == 404
    response = client.post(f"/appels/{call.id}/instructeurs/{review.id}/retrait")
    assert response.status_code == 302
    assert services.own_review(application, reviewer) is None
    assert events_of(application)[-2:] == ["reviewer_assigned", "reviewer_unassigned"]
    logout(client)
    login(client, cast.reviewers[0])
    assert client.get(f"/appels/{call.id}/instructeurs").status_code == 404


def test_ranking_page_orders_by_final_score_per_track_for_staff_and_committee(world, client):
    call, cast, application = world
    call.tie_breaks = ["criterion:1"]
    second = ws.complete_dossier(call, cast)
    ws.fire_step(second, cast, "submit")
    db.session.commit()
    for dossier, marks in ((application, ("3", "5")), (second, ("4", "3"))):
        under_review(dossier, cast)
        for reviewer in cast.reviewers:
            services.save_review(dossier, reviewer, scores(dossier, *marks), "favourable", "",
                                 submit=True)
        db.session.commit()
    # Both reach (2 × 3 + 5) = (2 × 4 + 3) = 11 of 15, 73.33: impact breaks the tie.
    (track,) = services.ranking(call)
    assert [(r.candidate.reference, r.rank, r.tie_broken_by) for r in track.ranked] == [
        (second.reference, 1, None), (application.reference, 2, "criterion:1")]
    login(client, cast.committee)  # sits on a session of the call
    body = page(client.get(f"/appels/{call.id}/classement"))
    assert body.index(second.reference) < body.index(application.reference)
    assert "73,33" in body and "la meilleure moyenne au critère « Impact attendu » d'abord" in body
    assert "Exporter" not in body  # exports are for CUF staff
    logout(client)
    # A consensus changes the order.
    services.record_consensus(application, cast.manager, "74", "Partenariat solide.")
    db.session.commit()
    login(client, cast.manager)
    body = page(client.get(f"/appels/{call.id}/classement"))
    assert body.index(application.reference) < body.index(second.reference)


def test_instruction_overview_lists_the_calls_each_one_follows(world, client):
    call, cast, application = world
    other_call = ws.make_call_for(CallKind.AAP)
    db.session.commit()
    login(client, cast.manager)
    body = page(client.get("/instruction"))
    assert call.title in body and other_call.title in body and "Déposé : 1" in body
    logout(client)
    login(client, cast.committee)  # sits on a session of ``call`` only
    body = page(client.get("/instruction"))
    assert call.title in body and other_call.title not in body
    assert "Instructeurs" not in body
    logout(client)
    login(client, cast.signatory)
    assert client.get("/instruction").status_code == 404


def test_grid_refuses_absurd_numbers_and_malformed_tie_breaks_in_french(world):
    call, _cast, _application = world
    admin = f.make_user(Role.ADMIN)
    with pytest.raises(grids.GridRefused) as refused:
        grids.update_grid(call, admin, [{"label": "Impact", "weight": "1e40", "threshold": "1e40"}],
                          {"divergence_threshold": "2", "min_reviewers": "2",
                           "tie_breaks": ["criterion:x"]})
    assert set(refused.value.errors) == {"criteria-0-weight", "criteria-0-threshold", "tie_breaks"}
