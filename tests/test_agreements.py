"""The agreement signed by every party, its amendments, and the payment schedule, through the
services the pages and the API call (``dcol.finance``), on the real database."""

from __future__ import annotations

import hashlib
import io
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from dcol.documents import storage
from dcol.extensions import db
from dcol.finance import agreements as ag
from dcol.finance import payments
from dcol.finance.cofinancing import breakdown_of, replay
from dcol.finance.envelopes import call_envelopes
from dcol.models import (
    AgreementState,
    ApplicationState,
    AuditEvent,
    CallKind,
    CofinancingSnapshot,
    Envelope,
    Funder,
    Party,
    PaymentKind,
    PaymentStatus,
    SignatureMethod,
    SnapshotKind,
)
from tests import workflow_support as ws
from tests.pdf_support import document_text as pdf_text
from workflows import engine

S = ApplicationState
D = Decimal
TERMS = ag.AgreementTerms(days=D("12.5"), daily_rate=D("1000.00"), starts_on=date(2027, 1, 11),
                          ends_on=date(2027, 6, 30), deliverables="Plan d'action <b>&</b> feuille de route")


def signer(cast, party):
    return {Party.CUF: cast.manager, Party.APPLICANT: cast.signatory,
            Party.EXPERT: cast.expert_user}[party]


def sign(agreement, user, **changes):
    request = ag.SignatureRequest(name=user.full_name, capacity="Maire", ip_address="203.0.113.7",
                                  sha256_read=agreement.document_sha256, accepted=True)
    request = ag.SignatureRequest(**{**request.__dict__, **changes})
    signature = ag.sign(agreement, user, request)
    db.session.commit()
    return signature


@pytest.fixture
def dcol(app):
    call = ws.make_call_for(CallKind.DCOL)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    ws.drive_to(application, cast, S.AGREEMENT)
    db.session.commit()
    return call, cast, application


def prepared(application, cast, terms=TERMS, reason=""):
    agreement = ag.prepare_agreement(application, cast.manager, terms, reason)
    db.session.commit()
    return agreement


def test_the_agreement_pdf_holds_the_parties_amounts_and_schedule(dcol):
    call, cast, application = dcol
    agreement = prepared(application, cast)

    assert agreement.version == 1 and agreement.state is AgreementState.AWAITING_SIGNATURES
    stored = storage.path_of(agreement.document).read_bytes()
    assert hashlib.sha256(stored).hexdigest() == agreement.document_sha256
    text = pdf_text(agreement.document)
    for expected in ("Convention de cofinancement", application.reference, "Cités Unies France",
                     "Syndicat mixte Fensch Lorraine", "Coop'Eau Conseil",
                     "12 500,00", "10 000,00", "2 500,00",  # total, CUF 80 %, the remainder
                     "3 750,00", "8 750,00",  # the expert's advance (30 %) and balance
                     "Plan d'action <b>&</b> feuille de route"):
        assert expected in text, expected
    snapshot = agreement.snapshot
    assert (snapshot.kind, snapshot.is_locked) == (SnapshotKind.AGREEMENT, True)
    assert (snapshot.total_cost, snapshot.scheme_share, snapshot.applicant_share) == (
        D("12500.00"), D("10000.00"), D("2500.00"))
    assert replay(snapshot) == breakdown_of(snapshot)  # reproducible from what it kept


def test_each_signature_binds_the_hash_and_the_last_one_starts_the_mission(dcol):
    call, cast, application = dcol
    agreement = prepared(application, cast)
    for party in (Party.APPLICANT, Party.EXPERT):
        signature = sign(agreement, signer(cast, party))
        assert signature.party is party and signature.method is SignatureMethod.ELECTRONIC
        assert signature.document_sha256 == agreement.document_sha256
        assert signature.ip_address == "203.0.113.7" and signature.signed_at is not None
        assert application.state is S.AGREEMENT

    sign(agreement, cast.manager, capacity="Délégué général")

    db.session.expire_all()
    assert agreement.state is AgreementState.SIGNED and application.state is S.IN_PROGRESS
    start = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.application_id == application.id, AuditEvent.event == "start")).one()
    assert start.actor_id is None  # fired by dcol on the last signature
    signed = db.session.scalars(sa.select(AuditEvent.payload).where(
        AuditEvent.application_id == application.id, AuditEvent.event == "agreement.signed"))
    assert {entry["sha256"] for entry in signed} == {agreement.document_sha256}
    schedule = {p.kind: (p.amount, p.scheme_part, p.status)
                for p in payments.payments_of(application)}
    assert schedule == {
        PaymentKind.EXPERT_ADVANCE: (D("3750.00"), D("3000.00"), PaymentStatus.SCHEDULED),
        PaymentKind.EXPERT_BALANCE: (D("8750.00"), D("7000.00"), PaymentStatus.HELD),
        PaymentKind.APPLICANT_CONTRIBUTION: (D("2500.00"), D("0.00"), PaymentStatus.SCHEDULED),
    }
    mission = ag.mission_of(application)
    assert (mission.contracted_days, mission.daily_rate) == (D("12.50"), D("1000.00"))


def test_a_signature_of_a_pdf_that_changed_is_refused(dcol):
    call, cast, application = dcol
    first = prepared(application, cast)
    read = first.document_sha256
    second = prepared(application, cast, ag.AgreementTerms(**{**TERMS.__dict__, "days": D("14")}))
    assert first.state is AgreementState.SUPERSEDED and second.version == 2

    with pytest.raises(ag.AgreementRefused) as refused:
        ag.sign(second, cast.signatory, ag.SignatureRequest(
            "Claire Martin", "Maire", "203.0.113.7", sha256_read=read, accepted=True))
    db.session.rollback()
    assert "a changé depuis que vous l'avez ouverte" in refused.value.errors["accepted"]
    assert second.signatures == []


def test_signature_needs_the_acceptance_name_and_capacity(dcol):
    call, cast, application = dcol
    agreement = prepared(application, cast)
    with pytest.raises(ag.AgreementRefused) as refused:
        ag.sign(agreement, cast.signatory, ag.SignatureRequest(
            " ", "", "203.0.113.7", sha256_read=agreement.document_sha256, accepted=False))
    assert set(refused.value.errors) == {"name", "capacity", "accepted"}


def test_nobody_signs_for_another_party_nor_twice(dcol):
    call, cast, application = dcol
    agreement = prepared(application, cast)
    for outsider in (cast.member, cast.outsider, cast.other_expert_user, cast.reviewers[0]):
        with pytest.raises(engine.WorkflowError):
            ag.sign(agreement, outsider, ag.SignatureRequest(
                "X", "Y", "203.0.113.7", sha256_read=agreement.document_sha256, accepted=True))
        db.session.rollback()
    sign(agreement, cast.signatory)
    with pytest.raises(engine.NotApplicable):
        sign(agreement, cast.signatory)


def test_a_scan_signed_by_hand_counts_as_the_partys_signature(dcol):
    call, cast, application = dcol
    agreement = prepared(application, cast)
    scan = FileStorage(io.BytesIO(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"),
                       filename="convention-signee.pdf", content_type="application/pdf")
    # The collectivité posted its signed copy: the manager attaches it on its behalf.
    signature = sign(agreement, cast.manager, name="Claire Martin", scan=scan,
                     party=Party.APPLICANT, accepted=False)
    assert signature.method is SignatureMethod.SCAN and signature.party is Party.APPLICANT
    assert signature.scan_document is not None
    assert signature.document_sha256 == agreement.document_sha256


def test_an_amendment_is_a_new_version_and_keeps_the_old_one(dcol):
    call, cast, application = dcol
    first = prepared(application, cast)
    for party in ag.parties_of(application):
        sign(first, signer(cast, party))
    advance = next(p for p in payments.payments_of(application)
                   if p.kind is PaymentKind.EXPERT_ADVANCE)
    payments.request_payment(advance, cast.manager)
    payments.record_payment(advance, cast.manager)
    db.session.commit()

    with pytest.raises(ag.AgreementRefused):  # an amendment says why
        ag.prepare_agreement(application, cast.manager, TERMS, "")
    more = ag.AgreementTerms(**{**TERMS.__dict__, "days": D("15"),
                                "mission_costs": D("1500.00")})
    amendment = prepared(application, cast, more, "Mission de terrain supplémentaire au Vietnam")

    assert amendment.version == 2 and first.state is AgreementState.SIGNED  # until signed
    text = pdf_text(amendment.document)
    assert "Avenant n° 1" in text and first.document_sha256 in text
    assert "16 500,00" in text and "13 200,00" in text  # 15 × 1 000 + 1 500; 80 %
    for party in ag.parties_of(application):
        sign(amendment, signer(cast, party))

    db.session.expire_all()
    assert (first.state, amendment.state) == (AgreementState.SUPERSEDED, AgreementState.SIGNED)
    assert first.document is not None and len(first.signatures) == 3  # the history stays
    live = {p.kind: p.amount for p in payments.payments_of(application)
            if p.status is not PaymentStatus.CANCELLED}
    # The advance paid (3 750) stands; a complement brings it to 30 % of 16 500 = 4 950.
    assert sorted(p.amount for p in payments.payments_of(application)
                  if p.kind is PaymentKind.EXPERT_ADVANCE and p.status is not PaymentStatus.CANCELLED
                  ) == [D("1200.00"), D("3750.00")]
    assert live[PaymentKind.EXPERT_BALANCE] == D("11550.00")
    assert live[PaymentKind.APPLICANT_CONTRIBUTION] == D("3300.00")
    assert application.state is S.IN_PROGRESS
    assert ag.mission_of(application).contracted_days == D("15.00")


def test_an_amendment_beyond_the_envelope_is_refused(dcol):
    call, cast, application = dcol
    first = prepared(application, cast)
    for party in ag.parties_of(application):
        sign(first, signer(cast, party))
    call.envelopes[0].amount = D("11000.00")
    db.session.commit()
    snapshots = db.session.scalar(sa.select(sa.func.count()).select_from(CofinancingSnapshot))

    with pytest.raises(engine.GuardsFailed) as refused:
        ag.prepare_agreement(application, cast.manager,
                             ag.AgreementTerms(**{**TERMS.__dict__, "days": D("20")}), "Plus")
    db.session.rollback()
    assert any("L'enveloppe de l'appel ne suffit pas" in p for p in refused.value.problems)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CofinancingSnapshot)) \
        == snapshots
    assert len(ag.agreements_of(application)) == 1


def test_the_balance_waits_for_the_final_deliverable(dcol):
    call, cast, application = dcol
    agreement = prepared(application, cast)
    for party in ag.parties_of(application):
        sign(agreement, signer(cast, party))
    balance = next(p for p in payments.payments_of(application)
                   if p.kind is PaymentKind.EXPERT_BALANCE)
    with pytest.raises(engine.NotApplicable) as refused:
        payments.request_payment(balance, cast.manager)
    assert "livrable final" in refused.value.message
    deliverable = ws.add_final_deliverable(application)
    ws.validate_final_deliverable(application, cast)
    payments.request_payment(balance, cast.manager)
    assert balance.status is PaymentStatus.REQUESTED
    assert balance.held_for_deliverable_id == deliverable.id
    with pytest.raises(engine.Forbidden):
        payments.record_payment(balance, cast.signatory)
    payments.record_payment(balance, cast.manager)
    db.session.commit()
    lines = call_envelopes(call)
    assert lines[0].paid == D("7000.00") and lines[0].committed == D("10000.00")


def test_call_for_projects_agreement_pays_the_grant_in_two_instalments(app):
    call = ws.make_call_for(CallKind.AAP)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    ws.drive_to(application, cast, S.AGREEMENT)
    db.session.commit()
    agreement = prepared(application, cast, ag.AgreementTerms(starts_on=date(2027, 2, 1)))
    # 10 000 of eligible expenses at 80 % = 8 000, the amount requested.
    assert agreement.snapshot.scheme_share == D("8000.00")
    assert ag.parties_of(application) == (Party.CUF, Party.APPLICANT)
    for party in ag.parties_of(application):
        sign(agreement, signer(cast, party))
    assert application.state is S.IN_PROGRESS
    assert {p.kind: (p.amount, p.status) for p in payments.payments_of(application)} == {
        PaymentKind.GRANT_ADVANCE: (D("2400.00"), PaymentStatus.SCHEDULED),
        PaymentKind.GRANT_BALANCE: (D("5600.00"), PaymentStatus.HELD),
    }


def test_envelopes_show_reserved_committed_and_paid_by_funder(app):
    call = ws.make_call_for(CallKind.DCOL)
    afd, cdc = Funder(code="AFD", name="Agence française de développement"), Funder(
        code="CDC", name="Caisse des Dépôts")
    call.cofinancing_rules[0].funder_split = [{"funder": "AFD", "percent": "60"},
                                              {"funder": "CDC", "percent": "40"}]
    call.envelopes.extend([Envelope(funder=afd, amount=D("60000.00")),
                           Envelope(funder=cdc, amount=D("40000.00"))])
    cast = ws.make_cast(call)
    started, selected = ws.complete_dossier(call, cast), ws.complete_dossier(call, cast)
    ws.drive_to(selected, cast, S.SELECTED)  # the estimate: 80 % of 12 500
    ws.drive_to(started, cast, S.AGREEMENT)
    db.session.commit()
    agreement = prepared(started, cast)
    for party in ag.parties_of(started):
        sign(agreement, signer(cast, party))

    lines = {line.funder.code if line.funder else None: line for line in call_envelopes(call)}
    assert (lines[None].reserved, lines[None].committed) == (D("10000.00"), D("10000.00"))
    assert (lines["AFD"].reserved, lines["AFD"].committed) == (D("6000.00"), D("6000.00"))
    assert (lines["CDC"].reserved, lines["CDC"].committed) == (D("4000.00"), D("4000.00"))
    assert lines["AFD"].remaining == D("48000.00")
