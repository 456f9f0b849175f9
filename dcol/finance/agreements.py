"""The agreement (*convention*) and its amendments (*avenants*).

CUF prepares a version from the terms of the support (DCOL: the expert's days, daily rate,
mission costs, dates and deliverables; call for projects: the eligible expenses): the
cofinancing is computed and locked in a snapshot, the PDF is written and its SHA-256 kept. Each
party then signs that exact PDF, electronically (name, capacity, time, IP address and the
SHA-256 of what was signed) or by attaching a scan signed by hand. The last signature makes the
version signed: it supersedes the version it amends, sets the payment schedule and the mission's
terms, and (for a first agreement) starts the mission through the workflow.

An amendment during the mission is a new version: recomputed under the dossier's rules, checked
against the envelope, signed again by everyone. Every version stays, with its PDF and signatures.
Services flush only; the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import FileStorage

from dcol import audit
from dcol.documents.services import store_generated, store_upload
from dcol.extensions import db, savepoint
from dcol.finance import payments
from dcol.finance.agreement_pdf import AgreementContent, PartyBlock, build_agreement_pdf
from dcol.finance.cofinancing import (
    breakdown_of,
    compute_cofinancing,
    estimate_inputs,
    expertise_inputs,
)
from dcol.finance.computation import CostLine, Inputs, schedule
from dcol.finance.envelopes import envelope_problems
from dcol.i18n import PARIS
from dcol.mail import external_url, queue_notice
from dcol.missions.alerts import check_alerts
from dcol.missions.plan import lay_out_plan
from dcol.models import (
    Agreement,
    AgreementState,
    Application,
    ApplicationState,
    CallKind,
    DocumentKind,
    Party,
    Signature,
    SignatureMethod,
    SnapshotKind,
    User,
    utcnow,
)
from dcol.models.base import N_
from dcol.permissions import (
    Action,
    can,
    expert_of_mission,
    is_manager,
    is_signatory_of,
)
from workflows import automatic
from workflows.engine import Forbidden, GuardsFailed, InputRefused, NotApplicable
from workflows.guards import mission_of
from workflows.notifications import manager_users, mission_expert_users, organisation_members

CUF_NAME = "Cités Unies France"
CUF_DETAILS = ("9 rue Christiani, 75018 Paris",)
PREPARABLE_STATES = frozenset({ApplicationState.AGREEMENT, ApplicationState.IN_PROGRESS})
PROJECT_COST_LABEL = N_("Dépenses éligibles du projet")


class AgreementRefused(InputRefused):
    """Invalid terms or signature: ``errors`` maps each field to its French message."""


@dataclass(frozen=True)
class AgreementTerms:
    """What a version contracts. DCOL: days, daily rate and mission costs excluding VAT; a call
    for projects: the eligible expenses (None: the project budget's eligible lines)."""

    days: Decimal | None = None
    daily_rate: Decimal | None = None
    mission_costs: Decimal = Decimal("0.00")
    project_cost: Decimal | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    deliverables: str = ""

    def as_json(self) -> dict:
        def text(value):
            return str(value) if value is not None else None

        return {"days": text(self.days), "daily_rate": text(self.daily_rate),
                "mission_costs": str(self.mission_costs), "project_cost": text(self.project_cost),
                "starts_on": text(self.starts_on), "ends_on": text(self.ends_on),
                "deliverables": self.deliverables}

    @classmethod
    def from_json(cls, data: dict) -> AgreementTerms:
        def number(key):
            return Decimal(data[key]) if data.get(key) is not None else None

        def day(key):
            return date.fromisoformat(data[key]) if data.get(key) else None

        return cls(number("days"), number("daily_rate"), number("mission_costs") or Decimal("0"),
                   number("project_cost"), day("starts_on"), day("ends_on"),
                   data.get("deliverables", ""))


# --- reading ---------------------------------------------------------------------------------


def parties_of(application: Application) -> tuple[Party, ...]:
    if application.call.kind is CallKind.DCOL:
        return (Party.CUF, Party.APPLICANT, Party.EXPERT)
    return (Party.CUF, Party.APPLICANT)


def party_of(user: User, application: Application) -> Party | None:
    """The party ``user`` signs for: CUF (a manager), the collectivité (its signatory) or the
    mission's expert."""
    if is_manager(user):
        return Party.CUF
    if is_signatory_of(user, application.organisation_id):
        return Party.APPLICANT
    if application.call.kind is CallKind.DCOL and expert_of_mission(user, application):
        return Party.EXPERT
    return None


def agreements_of(application: Application) -> list[Agreement]:
    """Every version, the latest first."""
    return list(db.session.scalars(
        sa.select(Agreement).where(Agreement.application_id == application.id)
        .options(selectinload(Agreement.signatures))
        .order_by(Agreement.version.desc())))


def to_sign(application: Application) -> Agreement | None:
    """The version awaiting signatures, if any."""
    return db.session.scalar(
        sa.select(Agreement).where(Agreement.application_id == application.id,
                                   Agreement.state == AgreementState.AWAITING_SIGNATURES)
        .order_by(Agreement.version.desc()).limit(1))


def signed_agreement(application: Application) -> Agreement | None:
    """The version in force: the latest signed one."""
    return db.session.scalar(
        sa.select(Agreement).where(Agreement.application_id == application.id,
                                   Agreement.state == AgreementState.SIGNED)
        .order_by(Agreement.version.desc()).limit(1))


def missing_parties(agreement: Agreement) -> list[Party]:
    signed = {signature.party for signature in agreement.signatures
              if signature.document_sha256 == agreement.document_sha256}
    return [party for party in parties_of(agreement.application) if party not in signed]


def proposed_terms(application: Application) -> AgreementTerms:
    """The terms to start from: the latest version's, else the mission's as accepted."""
    latest = db.session.scalar(
        sa.select(Agreement).where(Agreement.application_id == application.id)
        .order_by(Agreement.version.desc()).limit(1))
    if latest is not None and latest.terms:
        return AgreementTerms.from_json(latest.terms)
    mission = mission_of(application)
    if mission is None:
        return AgreementTerms()
    return AgreementTerms(mission.contracted_days, mission.daily_rate, mission.travel_costs,
                          None, mission.starts_on, mission.ends_on, mission.expected_deliverables)


# --- preparing a version ---------------------------------------------------------------------


def agreement_inputs(application: Application, terms: AgreementTerms) -> Inputs:
    """What a version with ``terms`` cofinances (``AgreementRefused`` when the terms are
    invalid)."""
    if application.call.kind is CallKind.DCOL:
        errors = {}
        if terms.days is None or terms.days <= 0:
            errors["days"] = _("Indiquez un nombre de jours d'expertise supérieur à zéro.")
        if terms.daily_rate is None or terms.daily_rate <= 0:
            errors["daily_rate"] = _("Indiquez le tarif journalier HT de l'expert.")
        if terms.mission_costs < 0:
            errors["mission_costs"] = _("Les frais de mission ne peuvent pas être négatifs.")
        if errors:
            raise AgreementRefused(_("La convention n'a pas été préparée : corrigez les champs "
                                     "signalés."), errors)
        return expertise_inputs(application, terms.days, terms.daily_rate, terms.mission_costs)
    if terms.project_cost is not None:
        if terms.project_cost <= 0:
            raise AgreementRefused(_("La convention n'a pas été préparée : corrigez les champs "
                                     "signalés."),
                                   {"project_cost": _("Indiquez un montant supérieur à zéro.")})
        return Inputs(application.organisation.kind.value,
                      (CostLine(PROJECT_COST_LABEL, amount=terms.project_cost),),
                      application.requested_amount)
    inputs = estimate_inputs(application)
    if inputs is None:
        raise GuardsFailed(_("Le budget du projet n'a aucune dépense éligible à cofinancer."))
    return inputs


def prepare_agreement(application: Application, actor: User, terms: AgreementTerms,
                      reason: str = "", now: datetime | None = None) -> Agreement:
    """Prepare the next version of the agreement: the first one, a new one replacing a version
    not yet signed, or an amendment of the signed one (``reason`` required). Raises a
    ``WorkflowError`` (French) and writes nothing when it cannot."""
    now = now or utcnow()
    if not can(actor, Action.APP_MANAGE, application):
        raise Forbidden(_("Seul un chargé de mission prépare la convention."))
    if application.state not in PREPARABLE_STATES:
        raise NotApplicable(_("La convention se prépare une fois l'expert ou le projet retenu, "
                              "et se modifie par avenant pendant la mission."))
    in_force = signed_agreement(application)
    reason = reason.strip()
    if in_force is not None and not reason:
        raise AgreementRefused(_("L'avenant n'a pas été préparé : corrigez les champs signalés."),
                               {"reason": _("Indiquez l'objet de l'avenant.")})
    if terms.starts_on and terms.ends_on and terms.ends_on < terms.starts_on:
        raise AgreementRefused(_("La convention n'a pas été préparée : corrigez les champs "
                                 "signalés."),
                               {"ends_on": _("La fin ne peut pas précéder le début.")})
    inputs = agreement_inputs(application, terms)
    with savepoint():
        snapshot = compute_cofinancing(application, SnapshotKind.AGREEMENT, inputs, actor, now,
                                       locked=True)
        breakdown = breakdown_of(snapshot)
        if not breakdown.is_eligible:
            raise GuardsFailed(_("Ce type de collectivité n'est pas éligible au cofinancement "
                                 "selon les règles de l'appel."))
        plan = schedule(breakdown, application.call.kind is CallKind.DCOL,
                        snapshot.rule.advance_percent)
        if in_force is not None:
            problems = payments.amendment_problems(application, plan)
            problems += envelope_problems(application, lock=True)
            if problems:
                raise GuardsFailed(_("L'avenant ne peut pas être préparé."), problems)
        for pending in db.session.scalars(sa.select(Agreement).where(
                Agreement.application_id == application.id,
                Agreement.state.in_((AgreementState.DRAFT, AgreementState.AWAITING_SIGNATURES)))):
            pending.state = AgreementState.SUPERSEDED
        version = (db.session.scalar(sa.select(sa.func.max(Agreement.version)).where(
            Agreement.application_id == application.id)) or 0) + 1
        agreement = Agreement(
            application=application, version=version, state=AgreementState.AWAITING_SIGNATURES,
            snapshot=snapshot, amendment_reason=reason, terms=terms.as_json(), created_at=now,
            created_by_id=actor.id,
        )
        db.session.add(agreement)
        db.session.flush()
        pdf = build_agreement_pdf(agreement_content(agreement, plan))
        document = store_generated(application, DocumentKind.AGREEMENT,
                                   agreement_filename(agreement), pdf, actor.id, now)
        agreement.document, agreement.document_sha256 = document, document.sha256
        audit.record(application_id=application.id, actor=actor, occurred_at=now,
                     event="agreement.prepared", comment=reason,
                     payload={"version": version, "sha256": document.sha256,
                              "total": breakdown.total, "scheme": breakdown.scheme,
                              "applicant": breakdown.applicant})
        db.session.flush()
    _tell_signers(agreement)
    return agreement


def agreement_filename(agreement: Agreement) -> str:
    if agreement.version == 1:
        return f"convention-{agreement.application.reference}.pdf"
    return f"avenant-{agreement.version - 1}-{agreement.application.reference}.pdf"


def agreement_content(agreement: Agreement, plan) -> AgreementContent:
    application, terms = agreement.application, AgreementTerms.from_json(agreement.terms)
    organisation, mission = application.organisation, mission_of(application)
    parties = [PartyBlock(Party.CUF.value, CUF_NAME, CUF_DETAILS)]
    address = ", ".join(part for part in (organisation.address, organisation.postcode,
                                          organisation.city) if part)
    parties.append(PartyBlock(Party.APPLICANT.value, organisation.name,
                              tuple(filter(None, (address, f"SIREN {organisation.siren}")))))
    if application.call.kind is CallKind.DCOL and mission is not None and mission.expert:
        expert = mission.expert
        parties.append(PartyBlock(
            Party.EXPERT.value, expert.name,
            tuple(filter(None, (expert.address, f"SIRET {expert.siret}" if expert.siret else ""))),
            expert.contact_name))
    previous = tuple(
        (older.version, older.document_sha256 or "", older.signed_at)
        for older in agreements_of(application)
        if older.version < agreement.version and older.signed_at is not None)
    rule = agreement.snapshot.rule
    return AgreementContent(
        reference=application.reference, version=agreement.version,
        amendment_reason=agreement.amendment_reason, call_title=application.call.title,
        with_expert=application.call.kind is CallKind.DCOL, title=application.title,
        summary=application.summary, parties=tuple(parties), expert_days=terms.days,
        daily_rate=terms.daily_rate, starts_on=terms.starts_on, ends_on=terms.ends_on,
        deliverables=terms.deliverables, breakdown=breakdown_of(agreement.snapshot),
        rule_version=rule.version, rule_effective_from=rule.effective_from,
        payments=tuple(plan), issued_at=agreement.created_at, previous=previous,
    )


def signers(application: Application) -> list[User]:
    """Who is asked to sign: the collectivité's signatories, the expert and the managers."""
    users = [user for user in organisation_members(application) if user.is_signatory]
    if application.call.kind is CallKind.DCOL:
        users += mission_expert_users(application)
    return users + manager_users()


def _tell_signers(agreement: Agreement) -> None:
    application = agreement.application
    link = external_url("finance.agreement", application_id=application.id)
    subject = (N_("Convention à signer — %(reference)s") if agreement.version == 1
               else N_("Avenant à signer — %(reference)s"))
    for user in signers(application):
        queue_notice(user, subject,
                     N_("La version %(version)s de la convention du dossier %(reference)s est "
                        "prête. Relisez-la et signez-la dans dcol."),
                     link, reference=application.reference, version=agreement.version)


# --- signing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignatureRequest:
    name: str
    capacity: str
    ip_address: str
    sha256_read: str = ""  # the SHA-256 of the PDF the signer was shown (electronic)
    accepted: bool = False  # the signer ticked « Lu et approuvé » (electronic)
    scan: FileStorage | None = None  # a copy signed by hand, instead
    party: Party | None = None  # a manager may attach a party's scan on its behalf


SIGNATURE_REFUSED = N_("La signature n'a pas été enregistrée : corrigez les champs signalés.")


def sign(agreement: Agreement, user: User, request: SignatureRequest,
         now: datetime | None = None) -> Signature:
    """Record ``user``'s signature of the version (electronic, or a scan signed by hand) for
    its party. The last signature makes the version signed (see the module's docstring).
    Raises a ``WorkflowError`` (French) and writes nothing when it cannot."""
    now = now or utcnow()
    application = agreement.application
    if not can(user, Action.APP_SIGN, application):
        raise Forbidden(_("Vous ne pouvez pas signer cette convention."))
    # Two parties signing at once: the second waits, then sees the first's signature.
    db.session.execute(sa.select(Agreement.id).where(Agreement.id == agreement.id)
                       .with_for_update())
    db.session.refresh(agreement)
    if agreement.state is not AgreementState.AWAITING_SIGNATURES:
        raise NotApplicable(_("Cette version de la convention n'est plus à signer."))
    party = _signing_party(user, application, request)
    if party not in missing_parties(agreement):
        raise NotApplicable(_("%(party)s a déjà signé cette version.", party=_(party.label)))
    errors = {}
    if not request.name.strip():
        errors["name"] = _("Indiquez le nom du signataire.")
    if not request.capacity.strip():
        errors["capacity"] = _("Indiquez la qualité du signataire (ex. : maire, gérant).")
    if request.scan is None:
        if not request.accepted:
            errors["accepted"] = _("Cochez « Lu et approuvé » pour signer.")
        elif request.sha256_read != agreement.document_sha256:
            errors["accepted"] = _("La convention a changé depuis que vous l'avez ouverte : "
                                   "relisez-la avant de signer.")
    if errors:
        raise AgreementRefused(_(SIGNATURE_REFUSED), errors)
    with savepoint():
        scan = None
        if request.scan is not None:
            scan = store_upload(application, user, request.scan, kind=DocumentKind.SIGNED_SCAN)
        signature = Signature(
            party=party, method=SignatureMethod.SCAN if scan else SignatureMethod.ELECTRONIC,
            user_id=user.id, signer_name=request.name.strip(),
            signer_capacity=request.capacity.strip(), signed_at=now,
            ip_address=request.ip_address[:45], document_sha256=agreement.document_sha256,
            scan_document_id=scan.id if scan else None,
        )
        agreement.signatures.append(signature)
        db.session.flush()
        audit.record(application_id=application.id, actor=user, occurred_at=now,
                     event="agreement.signed",
                     payload={"version": agreement.version, "party": party.value,
                              "method": signature.method.value, "name": signature.signer_name,
                              "capacity": signature.signer_capacity, "ip": signature.ip_address,
                              "sha256": signature.document_sha256,
                              "scan_sha256": scan.sha256 if scan else None})
        if not missing_parties(agreement):
            _complete(agreement, user, now)
    return signature


def _signing_party(user: User, application: Application, request: SignatureRequest) -> Party:
    own = party_of(user, application)
    if request.party is not None and request.party is not own:
        if own is not Party.CUF or request.scan is None:
            raise Forbidden(_("Seul un chargé de mission peut joindre le scan signé d'une "
                              "autre partie."))
        return request.party
    if own is None:
        raise Forbidden(_("Vous ne pouvez pas signer cette convention."))
    return own


def _complete(agreement: Agreement, actor: User, now: datetime) -> None:
    """The version's last signature: it comes into force."""
    application = agreement.application
    agreement.state, agreement.signed_at = AgreementState.SIGNED, now
    for older in db.session.scalars(sa.select(Agreement).where(
            Agreement.application_id == application.id, Agreement.id != agreement.id,
            Agreement.state == AgreementState.SIGNED)):
        older.state = AgreementState.SUPERSEDED
    terms = AgreementTerms.from_json(agreement.terms)
    mission = mission_of(application)
    if mission is not None:
        if application.call.kind is CallKind.DCOL:
            mission.contracted_days, mission.daily_rate = terms.days, terms.daily_rate
            mission.travel_costs = terms.mission_costs
            mission.expected_deliverables = terms.deliverables
        mission.starts_on, mission.ends_on = terms.starts_on, terms.ends_on
        lay_out_plan(mission, application.call.kind is CallKind.DCOL)
    breakdown = breakdown_of(agreement.snapshot)
    plan = schedule(breakdown, application.call.kind is CallKind.DCOL,
                    agreement.snapshot.rule.advance_percent)
    start = terms.starts_on or now.astimezone(PARIS).date()
    payments.set_schedule(agreement, plan, breakdown, start)
    audit.record(application_id=application.id, actor=actor, occurred_at=now,
                 event="agreement.in_force", payload={"version": agreement.version,
                                                      "sha256": agreement.document_sha256})
    db.session.flush()
    automatic.after_signature(application)
    check_alerts(now, [application.id], raising=False)  # an unsigned-agreement alert resolves
