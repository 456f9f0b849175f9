"""The dossier lifecycle, declared in one place: states, events, who may fire them, guards, effects
and notifications. DCOL dossiers go through expert matching; calls for projects (``aap``) go from
selection straight to the agreement.

Read it as a table: each ``Event`` says from which states to which state, for which kind of call,
who may fire it (a permission of ``dcol.permissions``, or the proposed expert), whether a reason is
required, what the actor sends besides the comment (inputs: any other key is refused), what must
hold (guards, each explaining in French what is missing; those marked ``checks_input`` validate
the inputs first), what follows (effects), and who is told (notifications).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from dcol.models import ApplicationState, CallKind
from dcol.models.base import N_
from dcol.permissions import Action
from workflows import effects, guards, inputs, notifications

S = ApplicationState
BOTH = frozenset({CallKind.DCOL, CallKind.AAP})
DCOL = frozenset({CallKind.DCOL})
AAP = frozenset({CallKind.AAP})

STATES = tuple(ApplicationState)
INITIAL = S.DRAFT
FINAL = frozenset({S.INELIGIBLE, S.REJECTED, S.CLOSED, S.WITHDRAWN})


@dataclass(frozen=True)
class Event:
    name: str
    label: str  # the button, in French
    sources: tuple[ApplicationState, ...]
    target: ApplicationState
    who: str  # for people: who may fire it, in French
    permission: Action | None  # None: see ``actor_check``
    variants: frozenset[CallKind] = BOTH
    reason_required: bool = False
    reason_label: str = N_("Commentaire")
    inputs: tuple[str, ...] = ()  # the payload's keys the event takes
    guards: tuple[Callable, ...] = ()
    effects: tuple[Callable, ...] = ()
    notify: tuple[Callable, ...] = ()
    actor_check: Callable | None = None  # when the permission is not enough
    system: bool = False  # may also be fired by dcol itself (no actor)
    extra: dict = field(default_factory=dict)


EVENTS: tuple[Event, ...] = (
    Event(
        "submit", N_("Déposer le dossier"),
        (S.DRAFT, S.CHANGES_REQUESTED), S.SUBMITTED,
        N_("signataire de la collectivité"), Action.APP_SUBMIT,
        guards=(guards.call_open, guards.required_fields, guards.required_documents,
                guards.budget_balanced, guards.organisation_eligible),
        effects=(effects.record_submission,),
        notify=(notifications.to_organisation,),
    ),
    Event(
        "request_changes", N_("Demander des compléments"),
        (S.SUBMITTED, S.ELIGIBLE), S.CHANGES_REQUESTED,
        N_("instructeur ou chargé de mission"), Action.APP_CHECK_ELIGIBILITY,
        reason_required=True, reason_label=N_("Ce qu'il faut compléter"),
        inputs=("response_deadline",),
        guards=(inputs.response_deadline_given,),
        effects=(effects.set_response_deadline,),
        notify=(notifications.to_organisation,),
    ),
    Event(
        "declare_eligible", N_("Déclarer recevable"),
        (S.SUBMITTED,), S.ELIGIBLE,
        N_("instructeur ou chargé de mission"), Action.APP_CHECK_ELIGIBILITY,
        guards=(guards.eligibility_checklist_met,),
        notify=(notifications.to_organisation,),
    ),
    Event(
        "declare_ineligible", N_("Déclarer irrecevable"),
        (S.SUBMITTED,), S.INELIGIBLE,
        N_("instructeur ou chargé de mission"), Action.APP_CHECK_ELIGIBILITY,
        reason_required=True, reason_label=N_("Motif d'irrecevabilité"),
        notify=(notifications.to_organisation,),
    ),
    Event(
        "start_review", N_("Mettre en instruction"),
        (S.ELIGIBLE,), S.UNDER_REVIEW,
        N_("chargé de mission"), Action.APP_MANAGE,
        guards=(guards.enough_reviewers,),
        notify=(notifications.to_reviewers,),
    ),
    Event(
        "complete_review", N_("Clore l'instruction"),
        (S.UNDER_REVIEW,), S.REVIEWED,
        N_("chargé de mission, ou automatiquement à la dernière évaluation"), Action.APP_MANAGE,
        guards=(guards.all_reviews_submitted,),
        notify=(notifications.to_managers,),
        system=True,
    ),
    Event(
        "select", N_("Retenir"),
        (S.REVIEWED, S.WAITLISTED), S.SELECTED,
        N_("comité de sélection"), Action.APP_DECIDE,
        guards=(guards.envelope_has_room,),
        effects=(effects.record_committee_decision, effects.write_decision_letter),
        notify=(notifications.to_organisation,),
    ),
    Event(
        "waitlist", N_("Placer en liste d'attente"),
        (S.REVIEWED,), S.WAITLISTED,
        N_("comité de sélection"), Action.APP_DECIDE,
        effects=(effects.record_committee_decision, effects.write_decision_letter),
        notify=(notifications.to_organisation,),
    ),
    Event(
        "reject", N_("Ne pas retenir"),
        (S.REVIEWED, S.WAITLISTED), S.REJECTED,
        N_("comité de sélection"), Action.APP_DECIDE,
        reason_required=True, reason_label=N_("Motif de la décision"),
        effects=(effects.record_committee_decision, effects.write_decision_letter),
        notify=(notifications.to_organisation,),
    ),
    Event(
        "start_matching", N_("Lancer la recherche d'expert"),
        (S.SELECTED,), S.MATCHING,
        N_("chargé de mission"), Action.APP_MANAGE, variants=DCOL,
        notify=(notifications.to_organisation,),
    ),
    Event(
        "propose_expert", N_("Proposer l'expert"),
        (S.MATCHING,), S.EXPERT_PROPOSED,
        N_("chargé de mission"), Action.APP_MANAGE, variants=DCOL,
        inputs=("expert_id", "indicative_days", "indicative_start", "indicative_end",
                "explanation", "override_reason"),
        guards=(inputs.expert_chosen, inputs.proposal_terms_valid, guards.expert_available),
        effects=(effects.create_proposal,),
        notify=(notifications.to_proposed_expert,),
    ),
    Event(
        "accept_mission", N_("Accepter la mission"),
        (S.EXPERT_PROPOSED,), S.AGREEMENT,
        N_("l'expert proposé"), None, variants=DCOL,
        actor_check=guards.is_proposed_expert,
        inputs=("no_conflict",),
        guards=(inputs.no_conflict_declared, guards.expert_still_available),
        effects=(effects.accept_proposal,),
        notify=(notifications.to_managers, notifications.to_organisation),
    ),
    Event(
        "decline_mission", N_("Décliner la mission"),
        (S.EXPERT_PROPOSED,), S.MATCHING,
        N_("l'expert proposé"), None, variants=DCOL,
        actor_check=guards.is_proposed_expert,
        reason_required=True, reason_label=N_("Motif du refus"),
        effects=(effects.decline_proposal,),
        notify=(notifications.to_managers,),
    ),
    Event(
        "prepare_agreement", N_("Préparer la convention"),
        (S.SELECTED,), S.AGREEMENT,
        N_("chargé de mission"), Action.APP_MANAGE, variants=AAP,
        effects=(effects.open_project_follow_up,),
        notify=(notifications.to_organisation,),
    ),
    Event(
        "start", N_("Démarrer la mission"),
        (S.AGREEMENT,), S.IN_PROGRESS,
        N_("chargé de mission, ou automatiquement à la dernière signature"), Action.APP_MANAGE,
        guards=(guards.cofinancing_locked, guards.agreement_signed, guards.envelope_has_room),
        notify=(notifications.to_organisation, notifications.to_mission_expert),
        system=True,
    ),
    Event(
        "submit_final_report", N_("Déposer le rapport final"),
        (S.IN_PROGRESS,), S.FINAL_REPORT,
        N_("l'expert (DCOL) ou la collectivité (appel à projets)"), Action.APP_REPORT,
        guards=(guards.has_report, guards.has_final_deliverable),
        notify=(notifications.to_organisation, notifications.to_managers),
    ),
    Event(
        "request_revision", N_("Demander une révision"),
        (S.FINAL_REPORT,), S.IN_PROGRESS,
        N_("signataire de la collectivité ou chargé de mission"), Action.APP_VALIDATE_DELIVERABLE,
        reason_required=True, reason_label=N_("Ce qui doit être revu"),
        notify=(notifications.to_reporters,),
    ),
    Event(
        "close", N_("Clôturer"),
        (S.FINAL_REPORT,), S.CLOSED,
        N_("chargé de mission"), Action.APP_MANAGE,
        guards=(guards.final_deliverable_validated, guards.satisfaction_answered,
                guards.final_cofinancing_computed, guards.balances_can_follow),
        effects=(effects.mark_closed, effects.settle_balances, effects.write_closure_report),
        notify=(notifications.to_organisation, notifications.to_mission_expert),
    ),
    Event(
        "withdraw", N_("Retirer le dossier"),
        tuple(s for s in STATES if s not in FINAL and s not in {S.IN_PROGRESS, S.FINAL_REPORT}),
        S.WITHDRAWN,
        N_("signataire de la collectivité ou chargé de mission"), Action.APP_WITHDRAW,
        reason_required=True, reason_label=N_("Motif du retrait"),
        effects=(effects.cancel_pending_proposals, effects.offer_freed_place),
        notify=(notifications.to_organisation, notifications.to_managers),
    ),
)

EVENTS_BY_NAME: dict[str, Event] = {event.name: event for event in EVENTS}
