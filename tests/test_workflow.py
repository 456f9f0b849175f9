"""The dossier lifecycle: every event's happy path, guards, roles, inapplicable events and stale
versions, in both variants (DCOL and call for projects)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from dcol.extensions import db
from dcol.i18n import format_money
from dcol.models import (
    ApplicationState,
    AuditEvent,
    CallKind,
    ConflictStatus,
    Expert,
    ExpertConflict,
    MissionProposal,
    OutgoingMail,
    Party,
    ProposalStatus,
    Review,
    utcnow,
)
from tests import workflow_support as ws
from workflows import engine
from workflows.dossier import EVENTS, EVENTS_BY_NAME

S = ApplicationState


@pytest.fixture(params=[CallKind.DCOL, CallKind.AAP], ids=["dcol", "aap"])
def kind(request):
    return request.param


@pytest.fixture
def journey(app, kind):
    call = ws.make_call_for(kind)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    db.session.commit()
    return call, cast, application


def audit_count(application) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).where(AuditEvent.application_id == application.id)
    )


def source_for(event_name: str, kind: CallKind) -> ApplicationState:
    """A state from which the event may be fired, reachable along the happy path."""
    preferred = {"request_changes": S.SUBMITTED, "withdraw": S.SUBMITTED, "submit": S.DRAFT,
                 "select": S.REVIEWED, "reject": S.REVIEWED}
    if event_name in preferred:
        return preferred[event_name]
    return EVENTS_BY_NAME[event_name].sources[0]


HAPPY = [
    (event.name, kind)
    for event in EVENTS
    for kind in (CallKind.DCOL, CallKind.AAP)
    if kind in event.variants
]


@pytest.mark.parametrize(("event_name", "call_kind"), HAPPY,
                         ids=[f"{e}-{k.value}" for e, k in HAPPY])
def test_event_happy_path(app, event_name, call_kind):
    call = ws.make_call_for(call_kind)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    event = EVENTS_BY_NAME[event_name]
    source = source_for(event_name, call_kind)
    if source is S.WAITLISTED:
        ws.drive_to(application, cast, S.REVIEWED)
        ws.fire_step(application, cast, "waitlist")
    elif source is S.CHANGES_REQUESTED:
        ws.drive_to(application, cast, S.SUBMITTED)
        ws.fire_step(application, cast, "request_changes")
    elif source is S.EXPERT_PROPOSED:
        ws.drive_to(application, cast, S.EXPERT_PROPOSED)
    elif source is S.FINAL_REPORT:
        ws.drive_to(application, cast, S.FINAL_REPORT)
    else:
        ws.drive_to(application, cast, source)
    ws.prepare_step(event_name, application, cast)
    before_audit = audit_count(application)
    before_mail = db.session.scalar(sa.select(sa.func.count()).select_from(OutgoingMail))

    actor, comment, payload = ws.step_request(event_name, application, cast)
    entry = engine.fire(application, event_name, actor, comment=comment, payload=payload)

    assert application.state is event.target
    assert audit_count(application) == before_audit + 1
    assert (entry.event, entry.from_state, entry.to_state) == (
        event_name, source.value, event.target.value)
    mails = db.session.scalar(sa.select(sa.func.count()).select_from(OutgoingMail))
    assert mails > before_mail, "every transition tells someone"


def test_submit_records_the_deposit(journey):
    call, cast, application = journey
    ws.fire_step(application, cast, "submit")
    assert application.submitted_at is not None
    assert application.submissions[0].content["documents"][0]["sha256"]


def test_request_changes_sets_a_response_deadline_and_resubmission_is_allowed_until_then(journey):
    call, cast, application = journey
    ws.drive_to(application, cast, S.SUBMITTED)
    ws.fire_step(application, cast, "request_changes")
    assert application.response_deadline > utcnow()
    # The call closes; the applicant may still answer until the response deadline.
    call.closes_at = utcnow()
    db.session.commit()
    ws.fire_step(application, cast, "submit")
    assert application.state is S.SUBMITTED
    assert [s.number for s in application.submissions] == [1, 2]


# --- guards: each refusal says, in French, what is missing -----------------------------------


def refused(application, event_name, actor, comment="", payload=None, version=None):
    with pytest.raises(engine.WorkflowError) as caught:
        engine.fire(application, event_name, actor, comment=comment, payload=payload or {},
                    expected_version=version)
    return caught.value


def test_submit_refused_after_deadline(journey):
    call, cast, application = journey
    call.closes_at = utcnow()
    db.session.commit()
    error = refused(application, "submit", cast.signatory)
    assert isinstance(error, engine.GuardsFailed) and error.status == 409
    assert any("date limite de dépôt est dépassée" in p for p in error.problems)
    assert application.state is S.DRAFT


def test_submit_refused_after_response_deadline(journey):
    call, cast, application = journey
    ws.drive_to(application, cast, S.SUBMITTED)
    ws.fire_step(application, cast, "request_changes")
    application.response_deadline = utcnow()
    db.session.commit()
    error = refused(application, "submit", cast.signatory)
    assert any("délai de réponse" in p for p in error.problems)


def test_submit_lists_missing_fields_and_documents(journey):
    call, cast, application = journey
    application.title = ""
    application.data = {**application.data, "needs": {}}
    for document in application.documents:
        db.session.delete(document)
    db.session.commit()
    problems = refused(application, "submit", cast.signatory).problems
    assert any("« Intitulé" in p or "« Titre" in p for p in problems)
    assert any("Besoins identifiés" in p for p in problems) or call.kind is CallKind.AAP
    assert any("Pièce obligatoire manquante : « Délibération" in p for p in problems)


def test_submit_refused_for_ineligible_organisation_or_places(journey):
    call, cast, application = journey
    call.eligible_kinds = ["region"]
    if call.kind is CallKind.AAP:
        application.countries = ["VN"]
    db.session.commit()
    problems = refused(application, "submit", cast.signatory).problems
    assert any("ne sont pas éligibles" in p for p in problems)
    if call.kind is CallKind.AAP:
        assert any("ne couvre pas : Viêt Nam" in p for p in problems)


def test_unbalanced_budget_refused(app):
    call = ws.make_call_for(CallKind.AAP)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    application.budget_lines[0].amount = Decimal("12000.00")
    db.session.commit()
    problems = refused(application, "submit", cast.signatory).problems
    assert any("pas équilibré" in p for p in problems)


def test_request_changes_needs_message_and_future_deadline(journey):
    call, cast, application = journey
    ws.drive_to(application, cast, S.SUBMITTED)
    error = refused(application, "request_changes", cast.manager,
                    payload={"response_deadline": ws.future()})
    assert isinstance(error, engine.InvalidInput) and error.status == 422
    assert "Ce qu'il faut compléter" in error.message
    error = refused(application, "request_changes", cast.manager, comment="Joindre le budget",
                    payload={"response_deadline": "2020-01-01"})
    assert any("dans le futur" in p for p in error.problems)


def test_declare_ineligible_needs_a_reason(journey):
    call, cast, application = journey
    ws.drive_to(application, cast, S.SUBMITTED)
    error = refused(application, "declare_ineligible", cast.manager)
    assert "Motif d'irrecevabilité" in error.message


def test_start_review_needs_enough_reviewers_without_conflict(journey):
    call, cast, application = journey
    ws.drive_to(application, cast, S.ELIGIBLE)
    f_review = Review(application=application, reviewer=cast.reviewers[0], assigned_at=utcnow(),
                      conflict_status=ConflictStatus.NONE)
    conflicted = Review(application=application, reviewer=cast.reviewers[1], assigned_at=utcnow(),
                        conflict_status=ConflictStatus.CONFLICT)
    db.session.add_all([f_review, conflicted])
    db.session.commit()
    problems = refused(application, "start_review", cast.manager).problems
    assert problems == ["Il faut au moins 2 instructeur(s) sans conflit d'intérêts ; 1 affecté(s)."]


def test_complete_review_waits_for_every_review(journey):
    call, cast, application = journey
    ws.drive_to(application, cast, S.UNDER_REVIEW)
    problems = refused(application, "complete_review", cast.manager).problems
    assert problems == ["2 évaluation(s) n'ont pas encore été soumise(s)."]


def test_complete_review_fires_automatically_as_dcol_itself(journey):
    call, cast, application = journey
    ws.drive_to(application, cast, S.UNDER_REVIEW)
    ws.submit_reviews(application)
    entry = engine.fire(application, "complete_review", None)
    assert application.state is S.REVIEWED and entry.actor_id is None


def test_select_refused_when_envelope_is_exhausted(journey):
    call, cast, application = journey
    ws.drive_to(application, cast, S.REVIEWED)
    # Estimated at submission: 80% of the expertise's cost (DCOL); for a call for projects the
    # scheme's share of the eligible expenses, capped by the amount requested.
    estimate = {CallKind.DCOL: "10\u202f000,00", CallKind.AAP: "8\u202f000,00"}[call.kind]
    call.envelopes[0].amount = application.estimated_cofinancing - Decimal("0.01")
    db.session.commit()
    problems = refused(application, "select", cast.committee).problems
    left = format_money(call.envelopes[0].amount)
    assert problems == [f"L'enveloppe de l'appel ne suffit pas : reste {left}, "
                        f"cofinancement du dossier {estimate}\xa0€."]
    ws.fire_step(application, cast, "waitlist")
    assert application.state is S.WAITLISTED


def test_select_counts_dossiers_already_selected(app):
    call = ws.make_call_for(CallKind.DCOL, envelope=Decimal("15000.00"))
    cast = ws.make_cast(call)
    first, second = ws.complete_dossier(call, cast), ws.complete_dossier(call, cast)
    for application in (first, second):
        ws.drive_to(application, cast, S.REVIEWED)
    ws.fire_step(first, cast, "select")
    problems = refused(second, "select", cast.committee).problems
    assert "reste 5\u202f000,00" in problems[0]


@pytest.mark.parametrize("problem", ["inactive", "conflict", "busy", "declined", "unavailable"])
def test_propose_expert_checks_the_expert(app, problem):
    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    ws.drive_to(application, cast, S.MATCHING)
    expert = db.session.get(Expert, cast.expert_user.expert_id)
    expected = {
        "inactive": "n'est plus actif",
        "conflict": "a déclaré un lien avec cette collectivité",
        "busy": "n'a plus de disponibilité",
        "declined": "a déjà décliné ce dossier",
        "unavailable": "est indisponible sur la période prévue",
    }[problem]
    payload = {"expert_id": expert.id}
    if problem == "inactive":
        expert.is_active = False
    elif problem == "conflict":
        db.session.add(ExpertConflict(expert=expert, organisation_id=application.organisation_id,
                                      declared_at=utcnow()))
    elif problem == "busy":
        expert.capacity = 0
    elif problem == "unavailable":
        from datetime import date

        from dcol.models import Unavailability

        expert.unavailabilities.append(Unavailability(starts_on=date(2027, 3, 1),
                                                      ends_on=date(2027, 3, 31)))
        payload.update(indicative_start="2027-03-15", indicative_end="2027-05-15")
    else:
        ws.fire_step(application, cast, "propose_expert")
        ws.fire_step(application, cast, "decline_mission")
    db.session.commit()
    problems = refused(application, "propose_expert", cast.manager, payload=payload).problems
    assert any(expected in p for p in problems)


def two_dossiers_in_matching(capacity: int):
    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    db.session.get(Expert, cast.expert_user.expert_id).capacity = capacity
    first, second = ws.complete_dossier(call, cast), ws.complete_dossier(call, cast)
    for application in (first, second):
        ws.drive_to(application, cast, S.MATCHING)
    return cast, first, second


def test_a_pending_proposal_takes_one_of_the_experts_slots(app):
    cast, first, second = two_dossiers_in_matching(capacity=1)
    ws.fire_step(first, cast, "propose_expert")
    problems = refused(second, "propose_expert", cast.manager,
                       payload={"expert_id": cast.expert_user.expert_id}).problems
    assert problems == ["L'expert « Coop'Eau Conseil » n'a plus de disponibilité (0 mission(s) "
                        "en cours et 1 proposition(s) en attente, pour 1 à la fois)."]
    assert second.state is S.MATCHING
    # Declined, the proposal frees the slot.
    ws.fire_step(first, cast, "decline_mission")
    ws.fire_step(second, cast, "propose_expert")
    assert second.state is S.EXPERT_PROPOSED


def test_a_withdrawn_dossier_frees_its_proposals_slot(app):
    cast, first, second = two_dossiers_in_matching(capacity=1)
    ws.fire_step(first, cast, "propose_expert")
    ws.fire_step(first, cast, "withdraw")
    ws.fire_step(second, cast, "propose_expert")
    assert second.state is S.EXPERT_PROPOSED


def test_accepting_rechecks_the_experts_capacity(app):
    cast, first, second = two_dossiers_in_matching(capacity=2)
    ws.fire_step(first, cast, "propose_expert")
    ws.fire_step(second, cast, "propose_expert")  # one pending proposal: room for a second
    ws.fire_step(first, cast, "accept_mission")  # the other proposal apart, room for this one
    db.session.get(Expert, cast.expert_user.expert_id).capacity = 1
    db.session.commit()
    error = refused(second, "accept_mission", cast.expert_user, payload={"no_conflict": True})
    assert error.status == 409
    assert error.problems == ["L'expert « Coop'Eau Conseil » n'a plus de disponibilité "
                              "(1 mission(s) en cours et 0 proposition(s) en attente, "
                              "pour 1 à la fois)."]
    assert second.state is S.EXPERT_PROPOSED


def test_a_deactivated_expert_cannot_accept(app):
    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    ws.drive_to(application, cast, S.EXPERT_PROPOSED)
    db.session.get(Expert, cast.expert_user.expert_id).is_active = False
    db.session.commit()
    expected = ("L'expert « Coop'Eau Conseil » n'est plus actif : la mission ne peut pas être "
                "acceptée.")
    error = refused(application, "accept_mission", cast.expert_user,
                    payload={"no_conflict": True})
    assert (error.status, error.problems) == (409, [expected])
    button = next(view for view in engine.describe_available(application, cast.expert_user)
                  if view.name == "accept_mission")
    assert button.unmet == (expected,)  # the expert sees why before trying
    ws.fire_step(application, cast, "decline_mission")  # declining stays possible
    assert application.state is S.MATCHING


def test_declined_mission_returns_to_matching_and_another_expert_accepts(app):
    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    ws.drive_to(application, cast, S.EXPERT_PROPOSED)
    ws.fire_step(application, cast, "decline_mission")
    assert application.state is S.MATCHING
    declined = db.session.scalars(sa.select(MissionProposal)).one()
    assert declined.status is ProposalStatus.DECLINED
    assert declined.decline_reason == "Indisponible sur la période."
    engine.fire(application, "propose_expert", cast.manager,
                payload={"expert_id": cast.other_expert_user.expert_id})
    error = refused(application, "accept_mission", cast.expert_user, payload={"no_conflict": True})
    assert error.status == 404  # the first expert no longer sees the dossier
    engine.fire(application, "accept_mission", cast.other_expert_user, payload={"no_conflict": True})
    assert application.state is S.AGREEMENT


def test_accept_mission_requires_the_declaration(app):
    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    ws.drive_to(application, cast, S.EXPERT_PROPOSED)
    problems = refused(application, "accept_mission", cast.expert_user).problems
    assert problems == ["Déclarez l'absence de conflit d'intérêts avec la collectivité pour accepter."]


def test_start_needs_locked_cofinancing_and_every_signature(journey):
    call, cast, application = journey
    ws.drive_to(application, cast, S.AGREEMENT)
    problems = refused(application, "start", cast.manager).problems
    assert "Le cofinancement de la convention n'a pas été calculé et figé." in problems
    assert "La convention n'a pas été générée." in problems
    ws.sign_agreement(application, cast, parties=[Party.CUF])
    db.session.commit()
    problems = refused(application, "start", cast.manager).problems
    assert any(p.startswith("Signature manquante : ") and "La collectivité" in p for p in problems)


def test_final_report_needs_a_report_and_a_final_deliverable(journey):
    call, cast, application = journey
    ws.drive_to(application, cast, S.IN_PROGRESS)
    problems = refused(application, "submit_final_report", ws.reporter(application, cast)).problems
    assert problems == ["Aucun rapport de mission ou d'avancement n'a été déposé.",
                        "Le livrable final n'a pas été déposé."]


def test_close_needs_validated_deliverable_and_final_cofinancing(journey):
    call, cast, application = journey
    ws.drive_to(application, cast, S.FINAL_REPORT)
    problems = refused(application, "close", cast.manager).problems
    questionnaire = ["La collectivité n'a pas répondu au questionnaire de satisfaction."]
    assert problems == ["Le livrable final n'a pas été validé par la collectivité.",
                        *(questionnaire if call.kind is CallKind.DCOL else []),
                        "Le cofinancement définitif sur coûts réels n'a pas été calculé."]


def test_close_needs_a_final_cofinancing_computed_since_the_last_final_report(journey):
    call, cast, application = journey
    ws.drive_to(application, cast, S.FINAL_REPORT)
    ws.compute_final_cofinancing(application, cast)  # on the first report's costs
    ws.fire_step(application, cast, "request_revision")
    ws.fire_step(application, cast, "submit_final_report")
    ws.validate_final_deliverable(application, cast)
    ws.answer_satisfaction(application, cast)
    db.session.commit()
    problems = refused(application, "close", cast.manager).problems
    assert problems == ["Le cofinancement définitif a été calculé avant le dernier dépôt du "
                        "rapport final : recalculez-le sur les coûts réels."]
    ws.compute_final_cofinancing(application, cast)  # on the revised report's costs
    ws.fire_step(application, cast, "close")
    assert application.state is S.CLOSED


def test_revision_sends_the_dossier_back(journey):
    call, cast, application = journey
    ws.drive_to(application, cast, S.FINAL_REPORT)
    ws.fire_step(application, cast, "request_revision")
    assert application.state is S.IN_PROGRESS
    ws.validate_final_deliverable(application, cast)
    assert ws.reporter(application, cast) is not None


def test_withdraw_cancels_a_pending_proposal(app):
    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    ws.drive_to(application, cast, S.EXPERT_PROPOSED)
    engine.fire(application, "withdraw", cast.manager, comment="Projet abandonné par la commune.")
    assert application.state is S.WITHDRAWN
    assert db.session.scalars(sa.select(MissionProposal)).one().status is ProposalStatus.CANCELLED


# --- who may fire: each role's refusal -------------------------------------------------------


ROLE_REFUSALS = [
    # (event, state to reach, persona refused, expected status)
    ("submit", S.DRAFT, "member", 403),
    ("submit", S.DRAFT, "outsider", 404),
    ("submit", S.DRAFT, "manager", 403),
    ("declare_eligible", S.SUBMITTED, "signatory", 403),
    ("declare_eligible", S.SUBMITTED, "committee", 404),
    ("start_review", S.ELIGIBLE, "reviewer", 404),
    ("select", S.REVIEWED, "manager", 403),
    ("select", S.REVIEWED, "signatory", 403),
    ("reject", S.REVIEWED, "reviewer", 403),
    ("start", S.AGREEMENT, "signatory", 403),
    ("close", S.FINAL_REPORT, "signatory", 403),
    ("submit_final_report", S.IN_PROGRESS, "manager", 403),
    ("withdraw", S.SUBMITTED, "member", 403),
    ("withdraw", S.SUBMITTED, "outsider", 404),
]


@pytest.mark.parametrize(("event_name", "state", "persona", "status"), ROLE_REFUSALS,
                         ids=[f"{e}-{p}" for e, _, p, _ in ROLE_REFUSALS])
def test_role_refused(journey, event_name, state, persona, status):
    call, cast, application = journey
    ws.drive_to(application, cast, state)
    actor = {"member": cast.member, "outsider": cast.outsider, "manager": cast.manager,
             "signatory": cast.signatory, "committee": cast.committee,
             "reviewer": cast.reviewers[0]}[persona]
    before = audit_count(application)
    error = refused(application, event_name, actor, comment="motif")
    assert error.status == status
    assert application.state is state
    assert audit_count(application) == before


def test_proposed_expert_only(app):
    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    ws.drive_to(application, cast, S.EXPERT_PROPOSED)
    error = refused(application, "accept_mission", cast.other_expert_user,
                    payload={"no_conflict": True})
    assert error.status == 404
    error = refused(application, "accept_mission", cast.manager, payload={"no_conflict": True})
    assert error.status == 403


# --- events that do not apply, unknown events, stale versions ----------------------------------


def test_event_not_applicable_in_state(journey):
    call, cast, application = journey
    error = refused(application, "close", cast.manager)
    assert isinstance(error, engine.NotApplicable) and error.status == 409
    assert "Brouillon" in error.message


def test_variant_specific_events(journey):
    call, cast, application = journey
    ws.drive_to(application, cast, S.SELECTED)
    wrong = "prepare_agreement" if call.kind is CallKind.DCOL else "start_matching"
    assert refused(application, wrong, cast.manager).status == 409


def test_final_states_never_change(journey):
    call, cast, application = journey
    ws.drive_to(application, cast, S.SUBMITTED)
    engine.fire(application, "declare_ineligible", cast.manager, comment="Hors champ.")
    for event in EVENTS:
        with pytest.raises(engine.WorkflowError):
            engine.fire(application, event.name, cast.manager, comment="x")
    assert application.state is S.INELIGIBLE


def test_unknown_event_is_invalid_input(journey):
    call, cast, application = journey
    assert refused(application, "teleport", cast.signatory).status == 422


def test_stale_version_changes_nothing(journey):
    call, cast, application = journey
    version = application.version
    application.summary = "Modifié ailleurs"
    db.session.commit()
    before = audit_count(application)
    error = refused(application, "submit", cast.signatory, version=version)
    assert isinstance(error, engine.StaleVersion) and error.status == 412
    assert application.state is S.DRAFT and audit_count(application) == before


def test_failed_effect_rolls_everything_back(journey):
    call, cast, application = journey

    def explode(ctx):
        raise RuntimeError("disk full")

    event = EVENTS_BY_NAME["submit"]
    object.__setattr__(event, "effects", (*event.effects, explode))
    try:
        with pytest.raises(RuntimeError):
            ws.fire_step(application, cast, "submit")
    finally:
        object.__setattr__(event, "effects", event.effects[:-1])
    db.session.expire_all()
    assert application.state is S.DRAFT
    assert audit_count(application) == 1  # only its creation
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutgoingMail)) == 0


def test_available_events_drive_the_buttons(journey):
    call, cast, application = journey
    names = {e.name for e in engine.available_events(application, cast.signatory)}
    assert names == {"submit", "withdraw"}
    assert {e.name for e in engine.available_events(application, cast.member)} == set()
    assert {e.name for e in engine.available_events(application, cast.manager)} == {"withdraw"}
    ws.drive_to(application, cast, S.REVIEWED)
    assert {e.name for e in engine.available_events(application, cast.committee)} == {
        "select", "waitlist", "reject"}
