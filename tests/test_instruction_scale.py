"""The instruction pages at scale (issue 9): aggregates computed from the database's per-criterion
statistics agree with the arithmetic on the reviews in memory; the reviewer's assignments, the
call's ranking and the committee's agenda are shown a page at a time, with counts, ranks and
running totals computed over everything."""

from __future__ import annotations

import html
import random
from datetime import timedelta
from decimal import Decimal as D

import pytest

from dcol.extensions import db
from dcol.models import (
    ApplicationState,
    CallKind,
    ConflictStatus,
    Criterion,
    Review,
    ReviewScore,
    ReviewState,
    Role,
    utcnow,
)
from dcol.reviews import services
from dcol.reviews.scoring import aggregate
from tests import factories as f
from tests import workflow_support as ws

S = ApplicationState


def login(client, user):
    response = client.post("/connexion", data={"email": user.email, "password": f.PASSWORD})
    assert response.status_code == 302


def page(response) -> str:
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def call_and_cast(app):
    call = ws.make_call_for(CallKind.DCOL)
    call.criteria.extend([
        Criterion(label="Impact", weight=D("2"), scale_max=D("5"), step=D("0.5"),
                  threshold=D("3"), position=1),
        Criterion(label="Faisabilité", weight=D("1.5"), scale_max=D("5"), step=D("0.5"),
                  threshold=D("2.5"), position=2),
        Criterion(label="Partenariat", weight=D("1"), scale_max=D("4"), step=D("0.5"),
                  position=3),
    ])
    cast = ws.make_cast(call)
    db.session.commit()
    return call, cast


def add_review(application, reviewer, scores: dict, *, state=ReviewState.SUBMITTED,
               conflict=ConflictStatus.NONE, days_ago: int = 0) -> Review:
    review = Review(application_id=application.id, reviewer_id=reviewer.id,
                    assigned_at=utcnow() - timedelta(days=days_ago), conflict_status=conflict,
                    state=state,
                    submitted_at=utcnow() if state is ReviewState.SUBMITTED else None)
    review.scores = [ReviewScore(criterion_id=criterion_id, score=score)
                     for criterion_id, score in scores.items()]
    db.session.add(review)
    db.session.flush()
    return review


def test_database_statistics_agree_with_the_arithmetic_in_memory_on_random_reviews(
        call_and_cast):
    call, cast = call_and_cast
    draw = random.Random(9)
    criteria = sorted(call.criteria, key=lambda c: c.position)
    reviewers = [f.make_user(Role.REVIEWER) for _ in range(5)]
    applications, counted = [], {}
    for _ in range(8):
        application = ws.complete_dossier(call, cast)
        applications.append(application)
        counted[application.id] = []
        for reviewer in draw.sample(reviewers, draw.randint(0, 5)):
            scores = {c.id: D(draw.randint(0, int(c.scale_max * 2))) / 2 for c in criteria
                      if draw.random() < 0.9}  # now and then a criterion left unscored
            state = draw.choice([ReviewState.SUBMITTED] * 3 + [ReviewState.DRAFT])
            conflict = draw.choice([ConflictStatus.NONE] * 4 + [ConflictStatus.CONFLICT])
            add_review(application, reviewer, scores, state=state, conflict=conflict)
            if state is ReviewState.SUBMITTED and conflict is ConflictStatus.NONE:
                counted[application.id].append(scores)
    db.session.commit()
    from_database = services.aggregates(call, applications)
    grid = services.grid_of(call)
    for application in applications:
        expected = aggregate(grid, counted[application.id],
                             divergence_threshold=call.divergence_threshold,
                             overall_threshold=call.overall_threshold)
        got = from_database[application.id]
        assert (got.review_count, got.weighted_total, got.max_total, got.score,
                got.is_below_overall_threshold) == (
            expected.review_count, expected.weighted_total, expected.max_total, expected.score,
            expected.is_below_overall_threshold)
        assert got.criteria == expected.criteria
        assert [got.mean_at(c.position) for c in criteria] == [
            r.mean for r in expected.criteria]


def test_reviewer_page_counts_every_group_and_pages_each_on_its_own(call_and_cast, client):
    call, cast = call_and_cast
    reviewer = f.make_user(Role.REVIEWER)
    by_group = {group: [] for group in services.AssignmentGroup}
    for days, (application_state, conflict, state, group) in enumerate([
        (S.UNDER_REVIEW, ConflictStatus.PENDING, ReviewState.DRAFT,
         services.AssignmentGroup.TO_DECLARE),
        (S.UNDER_REVIEW, ConflictStatus.NONE, ReviewState.DRAFT,
         services.AssignmentGroup.TO_WRITE),
        (S.SUBMITTED, ConflictStatus.NONE, ReviewState.DRAFT, services.AssignmentGroup.WAITING),
        (S.UNDER_REVIEW, ConflictStatus.NONE, ReviewState.SUBMITTED,
         services.AssignmentGroup.SUBMITTED),
        (S.UNDER_REVIEW, ConflictStatus.CONFLICT, ReviewState.DRAFT, None),
    ] * 3):
        application = ws.complete_dossier(call, cast)
        ws.reach(application, cast, application_state)
        add_review(application, reviewer, {}, state=state, conflict=conflict, days_ago=days)
        if group is not None:
            by_group[group].append(application.reference)
    db.session.commit()
    assignments = services.assignments_of(reviewer, {services.AssignmentGroup.SUBMITTED: 2},
                                          per_page=2)
    # Three of each; the declared conflicts are left out.
    assert assignments.counts == {group: 3 for group in services.AssignmentGroup}
    # Latest assignment first; page 2 of the submitted ones holds the oldest.
    submitted = assignments.pages[services.AssignmentGroup.SUBMITTED]
    assert (submitted.page, submitted.pages, submitted.total) == (2, 2, 3)
    assert [r.application.reference for r in submitted.items] == [
        by_group[services.AssignmentGroup.SUBMITTED][-1]]
    declare = assignments.pages[services.AssignmentGroup.TO_DECLARE]
    assert [r.application.reference for r in declare.items] == by_group[
        services.AssignmentGroup.TO_DECLARE][:2]
    # A page past the last one gives the last one.
    last = services.assignments_of(reviewer, {services.AssignmentGroup.WAITING: 99}, per_page=2)
    assert last.pages[services.AssignmentGroup.WAITING].page == 2
    login(client, reviewer)
    body = page(client.get("/evaluations?soumises=2"))
    assert 'Évaluations soumises <span class="detail">(3)</span>' in body
    assert by_group[services.AssignmentGroup.SUBMITTED][-1] in body  # past the last page (20 a page): the last one
    for group in services.AssignmentGroup:
        assert f'id="{group.value}"' in body
    assert body.index('id="a-declarer"') < body.index('id="a-rediger"') < body.index(
        'id="en-attente"') < body.index('id="soumises"')


def test_ranking_page_shows_a_page_of_each_track_with_the_track_wide_rank(call_and_cast, client,
                                                                          monkeypatch):
    from dcol.reviews import views

    call, cast = call_and_cast
    criteria = sorted(call.criteria, key=lambda c: c.position)
    reviewer = cast.reviewers[0]
    references = []
    for n in range(5):
        application = ws.complete_dossier(call, cast)
        ws.reach(application, cast, S.REVIEWED)
        db.session.query(Review).filter_by(application_id=application.id).delete()
        add_review(application, reviewer, {c.id: D(n) for c in criteria})
        references.append(application.reference)
    db.session.commit()
    monkeypatch.setattr(views, "RANKING_PER_PAGE", 2)
    login(client, cast.manager)
    (track,) = services.ranking(call)
    param = views.track_parameter(track.track_id)
    assert [entry.candidate.reference for entry in track.ranked] == references[::-1]
    body = page(client.get(f"/appels/{call.id}/classement?{param}=2"))
    shown = [reference for reference in references if reference in body]
    assert shown == references[1:3]  # ranks 3 and 4 of the track
    assert "Rangs 3 à 4 sur 5" in body and f"{param}=3" in body and f"{param}=1" in body
    api = client.get(f"/api/v1/calls/{call.id}/ranking?per_page=2&page=3",
                     headers={"Authorization": f"Bearer {api_token(cast.manager)}"}).json
    (only,) = api["tracks"]
    assert (only["total"], only["page"]) == (5, 3)
    assert [(row["reference"], row["rank"]) for row in only["ranked"]] == [(references[0], 5)]


def api_token(user) -> str:
    from dcol.accounts.services import create_api_token

    token = create_api_token(user, "tests")
    db.session.commit()
    return token


def test_paginated_instruction_pages_show_a_reviewer_only_their_own(call_and_cast, client):
    """A reviewer's groups, counts and pages hold their own assignments only, on the page and
    through the API; a collectivité gets 404 on the reviewer's page and on any ranking page."""
    call, cast = call_and_cast
    mine_reviewer, other_reviewer = f.make_user(Role.REVIEWER), f.make_user(Role.REVIEWER)
    own, others = ws.complete_dossier(call, cast), ws.complete_dossier(call, cast)
    for application in (own, others):
        ws.reach(application, cast, S.UNDER_REVIEW)
    add_review(own, mine_reviewer, {})
    add_review(others, other_reviewer, {})
    db.session.commit()
    login(client, mine_reviewer)
    body = page(client.get("/evaluations?soumises=5&a-rediger=2"))
    assert own.reference in body and others.reference not in body
    api = client.get("/api/v1/reviews?group=submitted&page=3",
                     headers={"Authorization": f"Bearer {api_token(mine_reviewer)}"}).json
    assert sum(api["counts"].values()) == 1
    client.post("/deconnexion")
    login(client, cast.signatory)
    assert client.get("/evaluations?soumises=2").status_code == 404
    assert client.get(f"/appels/{call.id}/classement?volet-0=2").status_code == 404
