"""Every refusal of the lifecycle, in both variants where the event exists: each role that may
not fire an event (403 when they see the dossier, 404 when they do not), each reason left empty,
and each guard with its French message. Nothing changes on a refusal."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from dcol.extensions import db
from dcol.models import (
    ApplicationState,
    AuditEvent,
    CallKind,
    CofinancingSnapshot,
    ConflictStatus,
    Expert,
    OrganisationStatus,
    Review,
    Role,
    utcnow,
)
from dcol.permissions import Action, can
from tests import factories as f
from tests import workflow_support as ws
from workflows import engine
from workflows.dossier import EVENTS, EVENTS_BY_NAME, FINAL

S = ApplicationState
KINDS = {"dcol": CallKind.DCOL, "aap": CallKind.AAP}


@pytest.fixture(params=list(KINDS), ids=list(KINDS))
def kind(request):
    return KINDS[request.param]


@pytest.fixture
def journey(app, kind):
    call = ws.make_call_for(kind)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    db.session.commit()
    return call, cast, application


def audit_count(application) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).where(AuditEvent.application_id == application.id))


def refused(application, event_name, actor, comment="", payload=None) -> engine.WorkflowError:
    """Fire and expect a refusal that changed nothing."""
    state, before = application.state, audit_count(application)
    with pytest.raises(engine.WorkflowError) as caught:
        engine.fire(application, event_name, actor, comment=comment, payload=payload or {})
    db.session.expire_all()
    assert application.state is state and audit_count(application) == before
    return caught.value


def guard_problems(application, event_name, actor, comment="", payload=None) -> list[str]:
    error = refused(application, event_name, actor, comment, payload)
    assert isinstance(error, engine.GuardsFailed | engine.InvalidInput), error.message
    return error.problems


def fire_as_planned(application, cast, event_name, **changes):
    """Fire ``event_name`` as the happy path does, with some of its request changed."""
    actor, comment, payload = ws.step_request(event_name, application, cast)
    request = {"actor": actor, "comment": comment, "payload": payload, **changes}
    return engine.fire(application, event_name, request["actor"], comment=request["comment"],
                       payload=request["payload"])


# --- who may fire: every event, every role ----------------------------------------------------

# Who may fire each event, as the issue lists them ("dcol": dcol itself, no actor). The reviewer
# is assigned to the dossier and has declared no conflict; the expert is the one proposed (then
# the mission's).
MAY_FIRE = {
    "submit": {"signatory"},
    "request_changes": {"manager", "reviewer"},
    "declare_eligible": {"manager", "reviewer"},
    "declare_ineligible": {"manager", "reviewer"},
    "start_review": {"manager"},
    "complete_review": {"manager", "dcol"},
    "select": {"committee"},
    "waitlist": {"committee"},
    "reject": {"committee"},
    "start_matching": {"manager"},
    "propose_expert": {"manager"},
    "accept_mission": {"expert"},
    "decline_mission": {"expert"},
    "prepare_agreement": {"manager"},
    "start": {"manager", "dcol"},
    "submit_final_report": {"expert"},  # DCOL; the signatory for a call for projects
    "request_revision": {"signatory", "manager"},
    "close": {"manager"},
    "withdraw": {"signatory", "manager"},
}
MAY_FIRE_AAP = {"submit_final_report": {"signatory"}}

# The states each event is tried from: its first source, and others where who sees the dossier
# differs (the committee sees it from reviewed on, the expert once proposed).
MATRIX_SOURCES = {
    "submit": (S.DRAFT, S.CHANGES_REQUESTED),
    "request_changes": (S.SUBMITTED, S.ELIGIBLE),
    "select": (S.REVIEWED, S.WAITLISTED),
    "reject": (S.REVIEWED, S.WAITLISTED),
    "withdraw": (S.DRAFT, S.REVIEWED, S.SELECTED, S.EXPERT_PROPOSED, S.AGREEMENT),
}
MATRIX = [
    (event.name, kind, state)
    for event in EVENTS
    for kind in (CallKind.DCOL, CallKind.AAP)
    if kind in event.variants
    for state in MATRIX_SOURCES.get(event.name, event.sources[:1])
    if kind is CallKind.DCOL or state not in {S.MATCHING, S.EXPERT_PROPOSED}
]


def personas(cast) -> dict:
    return {
        "signatory": cast.signatory,
        "member": cast.member,  # applicant, not a signatory
        "outsider": cast.outsider,  # signatory of another organisation
        "reviewer": cast.reviewers[0],
        "unassigned_reviewer": f.make_user(Role.REVIEWER),
        "committee": cast.committee,
        "expert": cast.expert_user,
        "other_expert": cast.other_expert_user,  # never proposed
        "manager": cast.manager,
        "admin": f.make_user(Role.ADMIN),
        "dcol": None,
    }


def test_the_matrix_covers_every_event_in_each_of_its_variants():
    assert {(name, kind) for name, kind, _ in MATRIX} == {
        (event.name, kind) for event in EVENTS for kind in event.variants}
    assert set(MAY_FIRE) == set(EVENTS_BY_NAME)


@pytest.mark.parametrize(("event_name", "call_kind", "state"), MATRIX,
                         ids=[f"{e}-{k.value}-{s.value}" for e, k, s in MATRIX])
def test_each_role_that_may_not_fire_is_refused(app, event_name, call_kind, state):
    call = ws.make_call_for(call_kind)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    ws.reach(application, cast, state)
    if state is not S.DRAFT:
        ws.assign_reviewers(application, cast)  # cleared reviewers from the deposit on
    people = personas(cast)
    db.session.commit()
    event = EVENTS_BY_NAME[event_name]
    allowed = (MAY_FIRE_AAP if call_kind is CallKind.AAP else {}).get(event_name,
                                                                      MAY_FIRE[event_name])
    _, comment, payload = ws.step_request(event_name, application, cast)

    assert {name for name, user in people.items()
            if engine.may_fire(event, application, user)
            and (user is None or can(user, Action.APP_VIEW, application))} == allowed
    for name, user in people.items():
        if name in allowed:
            if user is not None:
                assert event in engine.available_events(application, user), name
            continue
        sees = user is None or can(user, Action.APP_VIEW, application)
        error = refused(application, event_name, user, comment or "Motif.", payload)
        if sees:
            assert (type(error), error.status) == (engine.Forbidden, 403), name
            assert error.message == (
                f"Vous n'êtes pas habilité à effectuer l'action « {event.label} ».")
            assert event not in engine.available_events(application, user), name
        else:
            assert (type(error), error.status, error.message) == (
                engine.NotVisible, 404, "Dossier introuvable."), name


VISIBLE_ALONG_DCOL = {
    # state reached: who, besides the organisation's members, CUF's managers and admins, sees it
    S.DRAFT: set(),
    S.SUBMITTED: set(),
    S.ELIGIBLE: set(),
    S.UNDER_REVIEW: {"reviewer"},
    S.REVIEWED: {"reviewer", "committee"},
    S.SELECTED: {"reviewer", "committee"},
    S.MATCHING: {"reviewer"},
    S.EXPERT_PROPOSED: {"reviewer", "expert"},
    S.AGREEMENT: {"reviewer", "expert"},
    S.IN_PROGRESS: {"reviewer", "expert"},
    S.FINAL_REPORT: {"reviewer", "expert"},
    S.CLOSED: {"reviewer", "expert"},
}


def test_who_sees_the_dossier_along_its_life(app):
    """The 404s of the matrix, stated: who sees a DCOL dossier in each state of its life."""
    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    people = personas(cast)
    del people["dcol"]
    seen = {}
    for step in (None, *ws.PATHS[CallKind.DCOL]):
        if step is not None:
            ws.fire_step(application, cast, step)
        seen[application.state] = {name for name, user in people.items()
                                   if can(user, Action.APP_VIEW, application)}
    assert seen == {state: {"signatory", "member", "manager", "admin", *others}
                    for state, others in VISIBLE_ALONG_DCOL.items()}


def test_a_reviewer_with_a_conflict_of_interest_sees_nothing(journey):
    call, cast, application = journey
    ws.drive_to(application, cast, S.SUBMITTED)
    conflicted, undeclared = f.make_user(Role.REVIEWER), f.make_user(Role.REVIEWER)
    f.assign_reviewer(application, conflicted, ConflictStatus.CONFLICT)
    f.assign_reviewer(application, undeclared, ConflictStatus.PENDING)
    db.session.commit()
    for reviewer in (conflicted, undeclared):
        assert refused(application, "declare_eligible", reviewer).status == 404


@pytest.mark.parametrize("event_name", ["declare_eligible", "request_changes",
                                        "declare_ineligible"])
def test_an_assigned_cleared_reviewer_checks_eligibility(journey, event_name):
    call, cast, application = journey
    ws.drive_to(application, cast, S.SUBMITTED)
    ws.assign_reviewers(application, cast)
    db.session.commit()
    entry = fire_as_planned(application, cast, event_name, actor=cast.reviewers[0])
    assert application.state is EVENTS_BY_NAME[event_name].target
    assert entry.actor_id == cast.reviewers[0].id


def test_final_report_is_the_experts_in_dcol(app):
    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    ws.drive_to(application, cast, S.IN_PROGRESS)
    ws.prepare_step("submit_final_report", application, cast)
    db.session.commit()
    for applicant in (cast.signatory, cast.member):
        assert refused(application, "submit_final_report", applicant).status == 403
    ws.fire_step(application, cast, "submit_final_report")
    assert application.state is S.FINAL_REPORT


def test_final_report_is_the_collectivites_in_a_call_for_projects(app):
    call = ws.make_call_for(CallKind.AAP)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    ws.drive_to(application, cast, S.IN_PROGRESS)
    ws.prepare_step("submit_final_report", application, cast)
    db.session.commit()
    assert refused(application, "submit_final_report", cast.expert_user).status == 404
    assert refused(application, "submit_final_report", cast.manager).status == 403
    ws.fire_step(application, cast, "submit_final_report")
    assert application.state is S.FINAL_REPORT


# --- reasons -----------------------------------------------------------------------------------

REASONS = [(event.name, kind) for event in EVENTS if event.reason_required
           for kind in (CallKind.DCOL, CallKind.AAP) if kind in event.variants]


def test_the_events_that_need_a_reason():
    assert {name for name, _ in REASONS} == {
        "reject", "decline_mission", "request_revision", "declare_ineligible",
        "request_changes", "withdraw"}


@pytest.mark.parametrize(("event_name", "call_kind"), REASONS,
                         ids=[f"{e}-{k.value}" for e, k in REASONS])
def test_reason_required(app, event_name, call_kind):
    call = ws.make_call_for(call_kind)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    event = EVENTS_BY_NAME[event_name]
    ws.reach(application, cast, event.sources[0])
    db.session.commit()
    actor, _, payload = ws.step_request(event_name, application, cast)
    expected = f"Le champ « {event.reason_label} » est obligatoire."
    for comment in ("", "  \n\t "):
        error = refused(application, event_name, actor, comment, payload)
        assert (type(error), error.status, error.message, error.problems) == (
            engine.InvalidInput, 422, expected, [expected]), repr(comment)


# --- submit ------------------------------------------------------------------------------------


def test_submit_refused_before_the_call_opens(journey):
    call, cast, application = journey
    call.opens_at = utcnow() + timedelta(days=2)
    db.session.commit()
    assert guard_problems(application, "submit", cast.signatory) == [
        "L'appel n'est pas encore ouvert aux dépôts."]


def test_submit_refused_for_an_unpublished_call(journey):
    call, cast, application = journey
    call.is_published = False
    db.session.commit()
    assert guard_problems(application, "submit", cast.signatory) == [
        "L'appel n'est pas encore ouvert aux dépôts."]


def test_submit_refused_for_a_call_reserved_to_members(journey):
    call, cast, application = journey
    call.members_only = True
    db.session.commit()
    assert guard_problems(application, "submit", cast.signatory) == [
        "Cet appel est réservé aux adhérents de Cités Unies France."]
    application.organisation.is_cuf_member = True
    db.session.commit()
    ws.fire_step(application, cast, "submit")
    assert application.state is S.SUBMITTED


@pytest.mark.parametrize("departments", [["69"], []], ids=["other", "none"])
def test_submit_refused_outside_the_tracks_departements(journey, departments):
    call, cast, application = journey
    track = call.tracks[0]
    track.eligible_departments = ["38"]
    track.eligible_countries = [*track.eligible_countries, "FR"] if track.eligible_countries else []
    application.countries, application.departments = ["FR"], departments
    db.session.commit()
    assert guard_problems(application, "submit", cast.signatory) == [
        "En France, le volet « Stratégie internationale » ne concerne que le(s) "
        "département(s) 38."]
    application.departments = ["38"]
    db.session.commit()
    ws.fire_step(application, cast, "submit")
    assert application.state is S.SUBMITTED


def test_organisation_not_validated(journey):
    """Its members no longer see its dossiers, so nobody may submit them; the guard still says
    why to whoever previews the event."""
    call, cast, application = journey
    application.organisation.status = OrganisationStatus.PENDING
    db.session.commit()
    assert engine.unmet_guards(EVENTS_BY_NAME["submit"], application, cast.manager) == [
        "L'organisation n'a pas encore été validée par Cités Unies France."]
    assert refused(application, "submit", cast.signatory).status == 404


# --- request_changes ---------------------------------------------------------------------------


def test_request_changes_needs_a_response_deadline(journey):
    call, cast, application = journey
    ws.drive_to(application, cast, S.SUBMITTED)
    error = refused(application, "request_changes", cast.manager, "Joindre le budget.")
    assert (type(error), error.status) == (engine.InvalidInput, 422)
    assert error.message == ("Les données envoyées pour l'action « Demander des compléments » "
                             "ne sont pas valides.")
    assert error.problems == ["Indiquez la date limite de réponse (AAAA-MM-JJ)."]


def _in_days(days: int) -> datetime:
    return utcnow() + timedelta(days=days)


INVALID_DEADLINES = [
    ("demain", "La date limite de réponse n'est pas une date valide (AAAA-MM-JJ)."),
    ("2027-02-30", "La date limite de réponse n'est pas une date valide (AAAA-MM-JJ)."),
    ("9999-12-31T23:59:59-12:00",
     "La date limite de réponse n'est pas une date valide (AAAA-MM-JJ)."),
    (12, "La date limite de réponse n'est pas une date valide (AAAA-MM-JJ)."),
    ("2020-01-01", "La date limite de réponse doit être dans le futur."),
    ("too-far", "La date limite de réponse ne peut pas dépasser le "),
]


def test_request_changes_refuses_an_invalid_deadline(journey):
    call, cast, application = journey
    ws.drive_to(application, cast, S.SUBMITTED)
    for deadline, expected in INVALID_DEADLINES:
        if deadline == "too-far":
            deadline = _in_days(2 * 365 + 2).date().isoformat()
        problems = guard_problems(application, "request_changes", cast.manager,
                                  "Joindre le budget.", {"response_deadline": deadline})
        assert len(problems) == 1 and problems[0].startswith(expected), (deadline, problems)


def test_request_changes_from_eligible_with_a_paris_deadline(journey):
    call, cast, application = journey
    ws.drive_to(application, cast, S.ELIGIBLE)
    day = _in_days(30).date()
    fire_as_planned(application, cast, "request_changes",
                    payload={"response_deadline": day.isoformat()})
    assert application.state is S.CHANGES_REQUESTED
    # The end of that day in Paris (22:59:59 or 21:59:59 UTC, depending on the season).
    assert application.response_deadline.date() == day
    assert application.response_deadline.hour in {21, 22}


# --- review, selection and envelope -------------------------------------------------------------


def test_complete_review_without_any_review(journey):
    call, cast, application = journey
    ws.drive_to(application, cast, S.UNDER_REVIEW)
    for review in db.session.scalars(sa.select(Review).where(
            Review.application_id == application.id)):
        review.conflict_status = ConflictStatus.CONFLICT  # conflicted reviews do not count
    db.session.commit()
    assert guard_problems(application, "complete_review", cast.manager) == [
        "Aucune évaluation n'a été affectée."]


ENVELOPE_EVENTS = [("select", S.REVIEWED), ("start", S.AGREEMENT)]


@pytest.mark.parametrize(("event_name", "state"), ENVELOPE_EVENTS, ids=["select", "start"])
def test_no_envelope_defined(journey, event_name, state):
    call, cast, application = journey
    ws.drive_to(application, cast, state)
    ws.prepare_step(event_name, application, cast)
    for envelope in list(call.envelopes):
        db.session.delete(envelope)
    db.session.commit()
    actor = ws.step_request(event_name, application, cast)[0]
    assert guard_problems(application, event_name, actor) == [
        "Aucune enveloppe budgétaire n'est définie pour cet appel."]


def test_estimated_cofinancing_not_computed(journey):
    """A dossier deposited without anything to estimate (no cost) cannot be selected. (At the
    start, the agreement's locked computation is what the envelope carries.)"""
    call, cast, application = journey
    ws.drive_to(application, cast, S.REVIEWED)
    db.session.execute(sa.delete(CofinancingSnapshot).where(
        CofinancingSnapshot.application_id == application.id))
    application.estimated_cofinancing = None
    db.session.commit()
    assert guard_problems(application, "select", cast.committee) == [
        "Le cofinancement estimé du dossier n'a pas été calculé."]


@pytest.mark.parametrize("event_name", ["select", "reject"])
def test_committee_decides_on_a_waitlisted_dossier(journey, event_name):
    call, cast, application = journey
    ws.reach(application, cast, S.WAITLISTED)
    entry = ws.fire_step(application, cast, event_name)
    assert application.state is EVENTS_BY_NAME[event_name].target
    assert (entry.from_state, entry.actor_id) == ("waitlisted", cast.committee.id)


# --- proposing an expert (DCOL) ----------------------------------------------------------------


@pytest.fixture
def matching(app):
    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    ws.drive_to(application, cast, S.MATCHING)
    return cast, application


def test_propose_expert_needs_an_expert_of_the_pool(matching):
    cast, application = matching
    for expert_id in (None, "", 0, -1, 2**31, 99999999999, "abc", "12a", "²", "1" * 5000, True, 1.5,
                      [1], {"id": 1}, 424242):
        payload = {} if expert_id is None else {"expert_id": expert_id}
        error = refused(application, "propose_expert", cast.manager, payload=payload)
        assert (type(error), error.status, error.problems) == (
            engine.InvalidInput, 422, ["Choisissez un expert du vivier."]), repr(expert_id)[:20]


def test_propose_expert_takes_the_id_as_a_form_sends_it(matching):
    cast, application = matching
    engine.fire(application, "propose_expert", cast.manager,
                payload={"expert_id": f" {cast.expert_user.expert_id} ", "indicative_days": "8,5"})
    assert application.state is S.EXPERT_PROPOSED


DAYS_MESSAGES = {
    "nan": "Le nombre de jours indicatif n'est pas un nombre (exemple : 12,5).",
    "range": "Le nombre de jours indicatif doit être compris entre 0 (exclu) et 365.",
    "places": "Le nombre de jours indicatif a au plus deux décimales.",
}


INVALID_DAYS = [
    ("99999999999999", "range"), ("NaN", "nan"), (float("nan"), "nan"), ("Infinity", "nan"),
    (float("inf"), "nan"), ("-1", "range"), (0, "range"), ("365.01", "range"), ("1e3", "range"),
    ("12.345", "places"), ("douze", "nan"), ("1" * 40, "nan"), (True, "nan"), ([12], "nan"),
]
BAD_DATES = "Dates indicatives invalides : format attendu AAAA-MM-JJ."
NOT_AN_OBJECT = "L'explication du rapprochement doit être un objet JSON."
TOO_BIG = "L'explication du rapprochement est trop volumineuse."
DEEP = {"k": 1}
for key in "abcdefghij":
    DEEP = {key: DEEP}  # eleven levels
INVALID_TERMS = [
    ({"indicative_start": "2027-13-01"}, BAD_DATES),
    ({"indicative_end": "fin mars"}, BAD_DATES),
    ({"indicative_start": 20270301}, BAD_DATES),
    ({"indicative_start": "2027-06-01", "indicative_end": "2027-05-31"},
     "La fin indicative précède le début."),
    ({"explanation": "str"}, NOT_AN_OBJECT),
    ({"explanation": ["eau"]}, NOT_AN_OBJECT),
    ({"explanation": {"notes": "x" * 20001}}, TOO_BIG),
    ({"explanation": DEEP}, TOO_BIG),
    ({"override_reason": 5}, "Le motif de dérogation doit être un texte."),
    ({"override_reason": "x" * 2001},
     "Le motif de dérogation est trop long (2000 caractères au plus)."),
    ({"override_reason": "a\x00b"},
     "La donnée « override_reason » contient des caractères non autorisés."),
    ({"explanation": {"note": "\ud800"}},
     "La donnée « explanation » contient des caractères non autorisés."),
    ({"expertise": "eau"}, "Donnée inattendue pour cette action : « expertise »."),
]


def test_propose_expert_refuses_invalid_indicative_days(matching):
    cast, application = matching
    for days, problem in INVALID_DAYS:
        payload = {"expert_id": cast.expert_user.expert_id, "indicative_days": days}
        error = refused(application, "propose_expert", cast.manager, payload=payload)
        assert (error.status, error.problems) == (422, [DAYS_MESSAGES[problem]]), repr(days)[:20]


def test_propose_expert_refuses_invalid_dates_explanation_or_reason(matching):
    cast, application = matching
    for extra, expected in INVALID_TERMS:
        payload = {"expert_id": cast.expert_user.expert_id, **extra}
        error = refused(application, "propose_expert", cast.manager, payload=payload)
        assert (error.status, error.problems) == (422, [expected]), repr(extra)[:40]


def test_invalid_input_is_all_listed_at_once(matching):
    cast, application = matching
    error = refused(application, "propose_expert", cast.manager, payload={
        "expert_id": "x", "indicative_days": "-2", "indicative_start": "hier",
        "explanation": "str"})
    assert error.problems == [
        "Choisissez un expert du vivier.", DAYS_MESSAGES["range"],
        "Dates indicatives invalides : format attendu AAAA-MM-JJ.",
        "L'explication du rapprochement doit être un objet JSON."]


def test_input_is_checked_before_the_state_of_things(matching):
    """A busy expert with invalid days: the input is refused (422) before the expert's load is
    even counted (409)."""
    cast, application = matching
    db.session.get(Expert, cast.expert_user.expert_id).capacity = 0
    db.session.commit()
    payload = {"expert_id": cast.expert_user.expert_id, "indicative_days": "-1"}
    assert refused(application, "propose_expert", cast.manager, payload=payload).status == 422
    payload["indicative_days"] = "10"
    error = refused(application, "propose_expert", cast.manager, payload=payload)
    assert error.status == 409 and "n'a plus de disponibilité" in error.problems[0]


# --- withdraw ----------------------------------------------------------------------------------

WITHDRAWABLE = [
    (state, kind)
    for state in EVENTS_BY_NAME["withdraw"].sources
    for kind in (CallKind.DCOL, CallKind.AAP)
    if kind is CallKind.DCOL or state not in {S.MATCHING, S.EXPERT_PROPOSED}
]


@pytest.mark.parametrize(("state", "call_kind"), WITHDRAWABLE,
                         ids=[f"{s.value}-{k.value}" for s, k in WITHDRAWABLE])
def test_withdraw_from_each_state_before_the_mission(app, state, call_kind):
    call = ws.make_call_for(call_kind)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    ws.reach(application, cast, state)
    entry = ws.fire_step(application, cast, "withdraw")
    assert application.state is S.WITHDRAWN
    assert (entry.from_state, entry.comment) == (state.value, "Projet reporté.")


@pytest.mark.parametrize("state", [S.IN_PROGRESS, S.FINAL_REPORT])
def test_no_withdrawal_once_the_mission_runs(journey, state):
    call, cast, application = journey
    ws.drive_to(application, cast, state)
    for actor in (cast.signatory, cast.manager):
        error = refused(application, "withdraw", actor, "Projet reporté.")
        assert (type(error), error.status) == (engine.NotApplicable, 409)


def test_a_withdrawn_dossier_accepts_nothing_more(journey):
    call, cast, application = journey
    ws.drive_to(application, cast, S.SUBMITTED)
    ws.fire_step(application, cast, "withdraw")
    assert application.state in FINAL
    for event in EVENTS:
        error = refused(application, event.name, cast.manager, "Motif.")
        assert (type(error), error.status) == (engine.NotApplicable, 409), event.name
