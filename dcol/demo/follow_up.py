"""The agreement, payments and closure of the demo's supports, as CUF's history left them.

A support at the agreement stage or under way gets its agreement from the finance services
themselves (``seed_agreement``). The services refuse to prepare, sign or close for a support
further along (final report, closed), so ``seed_past_agreement`` writes that part of its history
as they would have written it, dated in its past: the cofinancing computed by the engine, the
PDF rendered by the real renderer, every signature, the agreement in force with its payment
schedule, the payments made (through the payment services, which take a past moment), the
final cofinancing on the actual costs, the balances and the closure report; with the audit
entries in the order they happened, the workflow's own events among them.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from werkzeug.datastructures import FileStorage

from dcol import audit
from dcol.demo import data as d
from dcol.demo.rows import Refs, assign
from dcol.demo.trail import Step, record_step
from dcol.documents import storage
from dcol.documents.services import store_generated
from dcol.extensions import db
from dcol.finance import agreements as ag
from dcol.finance import payments
from dcol.finance.agreement_pdf import build_agreement_pdf
from dcol.finance.cofinancing import breakdown_of, compute_cofinancing
from dcol.finance.computation import schedule
from dcol.i18n import PARIS
from dcol.missions import closure
from dcol.missions.plan import lay_out_plan
from dcol.models import (
    Agreement,
    AgreementState,
    Application,
    ApplicationState,
    CallKind,
    DeliverableState,
    DocumentKind,
    Party,
    PaymentKind,
    Signature,
    SignatureMethod,
    SnapshotKind,
    User,
)
from workflows.guards import mission_of

S = ApplicationState
PAST_AGREEMENT = frozenset({S.FINAL_REPORT, S.CLOSED})

# The agreement is prepared the day after the mission is agreed; the parties sign in the week
# before the mission's first day, CUF last (its signature brings the agreement into force and
# starts the mission): (days before the start, hour in Paris).
PREPARED_AFTER_MISSION = timedelta(days=1)
SIGNED_BEFORE_START = {Party.APPLICANT: (6, 11), Party.EXPERT: (5, 15), Party.CUF: (4, 10)}
# A payment is asked for on the mission's first day (or a few days after closure) and made
# three weeks later.
REQUESTED_AFTER_CLOSURE = timedelta(days=3)
PAID_AFTER_REQUEST = timedelta(weeks=3)
SIGNED_FROM = "127.0.0.1"
ADVANCES = frozenset({PaymentKind.EXPERT_ADVANCE, PaymentKind.GRANT_ADVANCE})


def signers(refs: Refs, application: Application) -> list[tuple[Party, User | None]]:
    """Who signs for each party, in the order they sign: the collectivité's signatory, the
    expert (DCOL), then CUF; None for a party without an account in the demo."""
    applicant = next((user for user in refs.users.values()
                      if user.organisation_id == application.organisation_id
                      and user.is_signatory), None)
    parties = [(Party.APPLICANT, applicant)]
    if application.call.kind is CallKind.DCOL:
        mission = mission_of(application)
        parties.append((Party.EXPERT, next((user for user in refs.users.values()
                                            if user.expert_id == mission.expert_id), None)))
    return [*parties, (Party.CUF, refs.users[d.MANAGER])]


def seed_agreement(refs: Refs, application: Application) -> None:
    """The agreement of a dossier at the agreement stage (awaiting the signatures) or under way
    (signed by every party), made and signed through the finance services as CUF would."""
    if application.state not in ag.PREPARABLE_STATES or ag.agreements_of(application):
        return
    db.session.flush()
    db.session.refresh(application)
    manager = refs.users[d.MANAGER]
    agreement = ag.prepare_agreement(application, manager, ag.proposed_terms(application))
    if application.state is not S.IN_PROGRESS:
        return
    for party, user in signers(refs, application):
        if user is not None:
            request = ag.SignatureRequest(user.full_name, user.job_title or "Signataire",
                                          SIGNED_FROM, agreement.document_sha256, accepted=True)
        else:  # a party without an account in the demo posted its copy signed by hand
            user = manager
            copy = storage.path_of(agreement.document).read_bytes()
            request = ag.SignatureRequest(
                "Signataire habilité", "Par délégation", SIGNED_FROM, party=party,
                scan=FileStorage(io.BytesIO(copy), filename="convention-signee.pdf",
                                 content_type="application/pdf"))
        ag.sign(agreement, user, request)


# --- a support past its agreement --------------------------------------------------------------


def is_past_agreement(spec: dict) -> bool:
    return spec["state"] in PAST_AGREEMENT and "mission" in spec


def trail_moments(spec: dict) -> dict[str, datetime]:
    """When the workflow's events from the mission on happened, by event name."""
    mission = spec["mission"]
    moments = {
        "accept_mission": mission["created"],
        "prepare_agreement": _prepared_at(spec),
        "start": _signed_at(spec, Party.CUF),
        "submit_final_report": _final_deliverable(spec)[3],
    }
    if spec["state"] is S.CLOSED:
        moments["close"] = spec["closed"]
    return moments


def _paris(day, hour: int) -> datetime:
    return d.paris(day.year, day.month, day.day, hour)


def _prepared_at(spec: dict) -> datetime:
    return _paris((spec["mission"]["created"] + PREPARED_AFTER_MISSION).astimezone(PARIS), 10)


def _signed_at(spec: dict, party: Party) -> datetime:
    days, hour = SIGNED_BEFORE_START[party]
    return _paris(spec["mission"]["starts"] - timedelta(days=days), hour)


def _final_deliverable(spec: dict) -> tuple:
    finals = [row for row in spec["mission"].get("deliverables", []) if row[1]]
    if not finals:
        raise ValueError(f"{spec['call']}-{spec['number']:04d}: a support past its final report "
                         "has its final deliverable")
    return finals[-1]


def _check_closed(application: Application, spec: dict) -> None:
    """What the ``close`` event's guards ask of a support, in its spec."""
    if spec["state"] is not S.CLOSED:
        return
    missing = [f"{row[0]!r} validated" for row in spec["mission"].get("deliverables", [])
               if row[2] is not DeliverableState.VALIDATED]
    if closure.satisfaction_required(application) and "satisfaction" not in spec["mission"]:
        missing.append("the satisfaction questionnaire answered")
    if missing:
        raise ValueError(f"{application.reference}: closed without {', '.join(missing)}")


def seed_past_agreement(refs: Refs, application: Application, spec: dict,
                        steps: list[Step]) -> None:
    """The history of a support past its agreement, from the agreement on; ``steps`` are the
    workflow's events from the mission's start, recorded in their place among the rest."""
    if ag.agreements_of(application):
        return
    _check_closed(application, spec)
    db.session.flush()
    db.session.refresh(application)
    manager = refs.users[d.MANAGER]
    remaining = {step.event.name: step for step in steps}
    agreement = _signed_agreement(refs, application, spec, manager)
    # The last signature started the mission: dcol fires ``start`` itself.
    record_step(refs, application, spec, remaining.pop("start"), by_dcol=True)
    started = _paris(spec["mission"]["starts"], 10)
    _pay(application, manager, ADVANCES, started)
    record_step(refs, application, spec, remaining.pop("submit_final_report"))
    if "close" in remaining:
        _close(application, agreement, manager, spec["closed"])
        record_step(refs, application, spec, remaining.pop("close"))
        # After closure, CUF pays the expert's balance (or the grant's) and calls the
        # collectivité's contribution on its final amount. Called at the start on the
        # agreement's amount, the contribution would exceed what the actual costs leave it to
        # pay: the balances could not follow the final cofinancing (dcol has no refund).
        _pay(application, manager, frozenset(PaymentKind),
             spec["closed"] + REQUESTED_AFTER_CLOSURE)
    if remaining:
        raise ValueError(f"{application.reference}: no history for {sorted(remaining)}")


def _signed_agreement(refs: Refs, application: Application, spec: dict, manager: User
                      ) -> Agreement:
    """Version 1 as ``prepare_agreement`` makes it and every party signed it (the demo writes
    the rows the services would have: they no longer prepare nor sign at this stage)."""
    prepared_at = _prepared_at(spec)
    terms = ag.proposed_terms(application)
    # The inputs prepare_agreement computes from these terms.
    inputs = ag.agreement_inputs(application, terms)
    snapshot = compute_cofinancing(application, SnapshotKind.AGREEMENT, inputs, manager,
                                   prepared_at, locked=True)
    breakdown = breakdown_of(snapshot)
    if not breakdown.is_eligible:
        raise ValueError(f"{application.reference}: not eligible to the call's cofinancing")
    dcol = application.call.kind is CallKind.DCOL
    plan = schedule(breakdown, dcol, snapshot.rule.advance_percent)
    signed_at = _signed_at(spec, Party.CUF)
    # Written as it stands once every party signed (the version's state is the services' to
    # change; it never changes again here).
    agreement = Agreement(
        application=application, version=1, state=AgreementState.SIGNED, snapshot=snapshot,
        amendment_reason="", terms=terms.as_json(), created_at=prepared_at,
        created_by_id=manager.id, signed_at=signed_at,
    )
    db.session.add(agreement)
    db.session.flush()
    pdf = build_agreement_pdf(ag.agreement_content(agreement, plan))
    document = store_generated(application, DocumentKind.AGREEMENT,
                               ag.agreement_filename(agreement), pdf, manager.id, prepared_at)
    agreement.document, agreement.document_sha256 = document, document.sha256
    audit.record(application_id=application.id, actor=manager, occurred_at=prepared_at,
                 event="agreement.prepared",
                 payload={"version": 1, "sha256": document.sha256, "total": breakdown.total,
                          "scheme": breakdown.scheme, "applicant": breakdown.applicant})
    for party, user in signers(refs, application):
        _sign(agreement, party, user, manager, pdf, _signed_at(spec, party))
    # In force: the mission's terms, its plan and the payment schedule, as ``_complete`` sets
    # them (the mission as accepted already holds these terms: nothing changes on it).
    mission = mission_of(application)
    if dcol:
        assign(mission, {"contracted_days": terms.days, "daily_rate": terms.daily_rate,
                         "travel_costs": terms.mission_costs,
                         "expected_deliverables": terms.deliverables})
    assign(mission, {"starts_on": terms.starts_on, "ends_on": terms.ends_on})
    lay_out_plan(mission, dcol)
    payments.set_schedule(agreement, plan, breakdown,
                          terms.starts_on or signed_at.astimezone(PARIS).date())
    audit.record(application_id=application.id, actor=manager, occurred_at=signed_at,
                 event="agreement.in_force",
                 payload={"version": 1, "sha256": agreement.document_sha256})
    return agreement


def _sign(agreement: Agreement, party: Party, user: User | None, manager: User, pdf: bytes,
          moment: datetime) -> None:
    """A party's signature as ``ag.sign`` records it: electronic for a demo user; else the copy
    signed by hand, which the manager attached for the party."""
    application = agreement.application
    scan = None
    if user is None:
        user, name, capacity = manager, "Signataire habilité", "Par délégation"
        scan = store_generated(application, DocumentKind.SIGNED_SCAN, "convention-signee.pdf",
                               pdf, manager.id, moment)
    else:
        name, capacity = user.full_name, user.job_title or "Signataire"
    signature = Signature(
        party=party, method=SignatureMethod.SCAN if scan else SignatureMethod.ELECTRONIC,
        user_id=user.id, signer_name=name, signer_capacity=capacity, signed_at=moment,
        ip_address=SIGNED_FROM, document_sha256=agreement.document_sha256,
        scan_document_id=scan.id if scan else None,
    )
    agreement.signatures.append(signature)
    db.session.flush()
    audit.record(application_id=application.id, actor=user, occurred_at=moment,
                 event="agreement.signed",
                 payload={"version": agreement.version, "party": party.value,
                          "method": signature.method.value, "name": name, "capacity": capacity,
                          "ip": SIGNED_FROM, "sha256": signature.document_sha256,
                          "scan_sha256": scan.sha256 if scan else None})


def _pay(application: Application, manager: User, kinds: frozenset[PaymentKind],
         requested: datetime) -> None:
    """Ask for the open payments of these kinds at ``requested`` and record them paid three
    weeks later, through the payment services; only what falls before the demo's today."""
    paid = requested + PAID_AFTER_REQUEST
    due = [payment for payment in payments.payments_of(application)
           if payment.kind in kinds and payment.status in payments.OPEN]
    if requested.astimezone(PARIS).date() > d.TODAY:
        return
    for payment in due:
        payments.request_payment(payment, manager, now=requested)
    if paid.astimezone(PARIS).date() > d.TODAY:
        return
    for payment in due:
        payments.record_payment(payment, manager, now=paid)


def _close(application: Application, agreement: Agreement, manager: User,
           closed_at: datetime) -> None:
    """The final cofinancing on the actual costs, the balances that follow it and the closure
    report, as ``compute_final_cofinancing`` and the ``close`` event's effects make them (the
    service computes only at the final report stage, and the event fires only now)."""
    costs = closure.actual_costs(application)
    snapshot = compute_cofinancing(application, SnapshotKind.FINAL, costs.inputs, manager,
                                   closed_at, rule=agreement.snapshot.rule, locked=True)
    audit.record(application_id=application.id, actor=manager, occurred_at=closed_at,
                 event="cofinancing.final",
                 payload={"snapshot": snapshot.id, "total": snapshot.total_cost,
                          "scheme": snapshot.scheme_share, "committed": costs.committed_scheme})
    closure.apply_final_schedule(application)
    closure.store_closure_report(application, manager, closed_at)
