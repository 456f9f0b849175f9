"""Supports under way, their agreement prepared and signed through the real finance services,
for the follow-up tests (reports, deliverables, alerts, closure)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from werkzeug.datastructures import FileStorage

from dcol.extensions import db
from dcol.finance import agreements as ag
from dcol.missions.reports import ExpenseEntry, ReportEntry, log_report
from dcol.models import ApplicationState, CallKind, Party
from tests import workflow_support as ws
from tests.document_files import pdf_bytes

S = ApplicationState
D = Decimal
# 10 days at 1 000 € and 1 000 € of mission costs: 11 000 € excl. VAT, 8 800 € for CUF at 80 %.
# The mission started ten weeks ago and ends in four months, so that reports can be dated.
STARTS_ON = date.today() - timedelta(weeks=10)
TERMS = ag.AgreementTerms(days=D("10"), daily_rate=D("1000.00"), mission_costs=D("1000.00"),
                          starts_on=STARTS_ON, ends_on=STARTS_ON + timedelta(days=200),
                          deliverables="Diagnostic et plan d'action")
PROJECT_TERMS = ag.AgreementTerms(starts_on=STARTS_ON, ends_on=STARTS_ON + timedelta(days=300))


def signer(cast, party):
    return {Party.CUF: cast.manager, Party.APPLICANT: cast.signatory,
            Party.EXPERT: cast.expert_user}[party]


def sign_every_party(agreement, cast, now: datetime | None = None) -> None:
    for party in ag.parties_of(agreement.application):
        user = signer(cast, party)
        ag.sign(agreement, user, ag.SignatureRequest(
            name=user.full_name, capacity="Signataire", ip_address="203.0.113.7",
            sha256_read=agreement.document_sha256, accepted=True), now=now)
    db.session.commit()


def running_support(kind: CallKind = CallKind.DCOL, terms=None, now: datetime | None = None):
    """A dossier whose agreement every party signed: the mission runs (IN_PROGRESS)."""
    call = ws.make_call_for(kind)
    cast = ws.make_cast(call)
    application = ws.complete_dossier(call, cast)
    ws.drive_to(application, cast, S.AGREEMENT)
    db.session.commit()
    terms = terms or (TERMS if kind is CallKind.DCOL else PROJECT_TERMS)
    agreement = ag.prepare_agreement(application, cast.manager, terms, "", now=now)
    db.session.commit()
    sign_every_party(agreement, cast, now)
    assert application.state is S.IN_PROGRESS
    return call, cast, application


def pdf_upload(name: str = "justificatif.pdf", text: str = "Facture") -> FileStorage:
    import io

    return FileStorage(io.BytesIO(pdf_bytes(text)), filename=name,
                       content_type="application/pdf")


def report(application, author, days: str, *, on: date, expenses=(), location: str = "",
           now: datetime | None = None):
    """Log a report through the real service; ``expenses``: (label, amount) pairs, each with a
    real PDF receipt."""
    entry = ReportEntry(
        report_date=on, days_spent=D(days), activities="Entretiens et atelier de diagnostic.",
        is_field_mission=bool(location), field_location=location,
        expenses=tuple(ExpenseEntry(label, D(amount), pdf_upload()) for label, amount in expenses))
    logged = log_report(application, author, entry, now=now)
    db.session.commit()
    return logged
