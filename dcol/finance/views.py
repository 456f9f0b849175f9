"""Money pages: a dossier's cofinancing, agreement, signatures and payments; a call's rules and
envelopes. Thin: the rules are in ``dcol.finance`` and ``dcol.permissions``.

Each view loads the dossier for its action (404 for whoever may not see it), validates the form,
calls one service, commits on success and rolls back on a refusal (the page again, with the
user's input and the service's French messages: 422 for bad input, the refusal's status
otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from dcol.documents.validation import UploadRefused
from dcol.extensions import db
from dcol.finance import agreements as ag
from dcol.finance import payments as pay
from dcol.finance.cofinancing import breakdown_of, describe, latest_snapshot
from dcol.models import (
    Agreement,
    Application,
    CallKind,
    CofinancingSnapshot,
    Funder,
    Party,
    Payment,
    PaymentStatus,
    SnapshotKind,
)
from dcol.permissions import Action, can, load_or_404
from forms.base import attach_errors
from forms.finance import PartyScanForm, SignForm, TermsForm
from workflows.engine import WorkflowError

bp = Blueprint("finance", __name__)

# The prefix of the manager's form attaching another party's scan (its fields never clash with
# the manager's own signature form).
OTHER_PARTY = "autre"
REQUESTABLE = frozenset({PaymentStatus.SCHEDULED, PaymentStatus.HELD})


@dataclass(frozen=True)
class ExpertFees:
    """What the mission's expert is shown of the money: its own fees, nothing of the split."""

    days: Decimal | None
    daily_rate: Decimal | None
    mission_costs: Decimal
    total: Decimal | None  # known once a version of the agreement is prepared


def _funder_names(codes) -> dict[str | None, str]:
    names: dict[str | None, str] = {None: _("Fonds propres du dispositif")}
    codes = sorted({code for code in codes if code})
    if codes:
        names.update((funder.code, funder.name) for funder in db.session.scalars(
            sa.select(Funder).where(Funder.code.in_(codes))))
    return names


def _snapshots(application: Application) -> list[CofinancingSnapshot]:
    return list(db.session.scalars(
        sa.select(CofinancingSnapshot)
        .where(CofinancingSnapshot.application_id == application.id)
        .options(selectinload(CofinancingSnapshot.rule),
                 selectinload(CofinancingSnapshot.computed_by))
        .order_by(CofinancingSnapshot.id.desc())))


def _render(application: Application, *, terms_form: TermsForm | None = None,
            sign_form: SignForm | None = None, scan_form: PartyScanForm | None = None,
            problems=(), status: int = 200):
    user = current_user
    manages = can(user, Action.APP_MANAGE, application)
    party = ag.party_of(user, application)
    as_expert = party is Party.EXPERT and not manages
    sees_funders = can(user, Action.APP_VIEW_FUNDERS, application) and not as_expert
    snapshot = (latest_snapshot(application, SnapshotKind.AGREEMENT)
                or latest_snapshot(application, SnapshotKind.ESTIMATE))
    breakdown = breakdown_of(snapshot) if snapshot is not None else None
    with_expert = application.call.kind is CallKind.DCOL

    payments = pay.payments_of(application)
    fees = None
    if as_expert:
        payments = [payment for payment in payments if payment.kind in pay.EXPERT_KINDS]
        terms = ag.proposed_terms(application)
        fees = ExpertFees(terms.days, terms.daily_rate, terms.mission_costs,
                          breakdown.total if snapshot is not None
                          and snapshot.kind is SnapshotKind.AGREEMENT else None)

    pending = ag.to_sign(application)
    missing = ag.missing_parties(pending) if pending is not None else []
    signs = pending is not None and can(user, Action.APP_SIGN, application)
    may_sign = signs and party in missing
    others = [p for p in missing if p is not party] if signs and manages else []
    if may_sign and sign_form is None:
        sign_form = SignForm(formdata=None, data={"name": user.full_name,
                                                  "capacity": user.job_title or ""})
    if may_sign:
        sign_form.sha256_read.data = pending.document_sha256  # the version shown
    if others and scan_form is None:
        scan_form = PartyScanForm(formdata=None, prefix=OTHER_PARTY, parties=others)

    may_prepare = manages and application.state in ag.PREPARABLE_STATES
    if may_prepare and terms_form is None:
        terms_form = TermsForm.of(ag.proposed_terms(application))

    codes = [code for code, _amount in breakdown.funders] if breakdown else []
    codes += [code for payment in payments for code in payment.funder_parts or {}]
    return render_template(
        "finance/agreement.html", application=application, with_expert=with_expert,
        manages=manages, as_expert=as_expert, sees_funders=sees_funders,
        shows_scheme_part=(manages or sees_funders) and not as_expert,
        snapshot=snapshot, breakdown=breakdown,
        plan_lines=describe(breakdown, with_expert) if breakdown and not as_expert else [],
        funder_names=_funder_names(codes) if sees_funders else {}, fees=fees,
        history=_snapshots(application) if manages else [],
        versions=ag.agreements_of(application), pending=pending if may_sign else None,
        sign_form=sign_form if may_sign else None, to_attach=pending if others else None,
        scan_form=scan_form if others else None,
        terms_form=terms_form if may_prepare else None,
        amending=ag.signed_agreement(application) is not None,
        payments=payments, requestable=REQUESTABLE, requested=PaymentStatus.REQUESTED,
        problems=list(problems),
    ), status


def _problems(error: WorkflowError) -> list[str]:
    return [error.message, *(p for p in error.problems if p != error.message)]


@bp.get("/dossiers/<int:application_id>/convention")
@login_required
def agreement(application_id: int):
    application = load_or_404(Application, application_id, Action.APP_VIEW_FINANCE)
    return _render(application)


@bp.post("/dossiers/<int:application_id>/convention/preparer")
@login_required
def prepare(application_id: int):
    application = load_or_404(Application, application_id, Action.APP_MANAGE)
    form = TermsForm()
    status = 422
    if not form.validate_on_submit():
        problems = [_("La convention n'a pas été préparée : corrigez les champs signalés.")]
    else:
        try:
            version = ag.prepare_agreement(application, current_user, form.terms(),
                                           form.reason.data or "")
        except ag.AgreementRefused as error:
            problems = [error.message, *attach_errors(form, error.errors)]
        except WorkflowError as error:
            problems, status = _problems(error), error.status
        else:
            db.session.commit()
            if version.version == 1:
                flash(_("La convention est prête : chaque partie est invitée à la signer."),
                      "success")
            else:
                flash(_("L'avenant n° %(n)s est prêt : chaque partie est invitée à le signer.",
                        n=version.version - 1), "success")
            return redirect(url_for("finance.agreement", application_id=application.id))
    db.session.rollback()
    return _render(application, terms_form=form, problems=problems, status=status)


@bp.post("/dossiers/<int:application_id>/convention/<int:agreement_id>/signer")
@login_required
def sign(application_id: int, agreement_id: int):
    application = load_or_404(Application, application_id, Action.APP_VIEW_FINANCE)
    version = db.session.get(Agreement, agreement_id)
    if version is None or version.application_id != application.id:
        abort(404)
    sign_form = scan_form = None
    if f"{OTHER_PARTY}-party" in request.form:
        missing = ag.missing_parties(version)
        form = scan_form = PartyScanForm(prefix=OTHER_PARTY, parties=missing)
        signature = ag.SignatureRequest(
            name=form.name.data or "", capacity=form.capacity.data or "",
            ip_address=request.remote_addr or "", scan=form.scan.data,
            party=form.chosen_party())
    else:
        form = sign_form = SignForm()
        signature = ag.SignatureRequest(
            name=form.name.data or "", capacity=form.capacity.data or "",
            ip_address=request.remote_addr or "", sha256_read=form.sha256_read.data or "",
            accepted=bool(form.accepted.data), scan=form.scan.data or None)
    status = 422
    if not form.validate_on_submit():
        problems = [_(ag.SIGNATURE_REFUSED)]
    else:
        try:
            ag.sign(version, current_user, signature)
        except ag.AgreementRefused as error:
            problems = [error.message, *attach_errors(form, error.errors)]
            if "accepted" in error.errors:
                form.accepted.data = False  # accept again, the version shown
        except UploadRefused as refusal:
            problems = [_(ag.SIGNATURE_REFUSED)]
            form.scan.errors = [refusal.message]
        except WorkflowError as error:
            problems, status = _problems(error), error.status
        else:
            db.session.commit()
            if scan_form is not None:
                flash(_("Le scan signé de %(party)s est enregistré.",
                        party=signature.party.label), "success")
            else:
                flash(_("Votre signature est enregistrée."), "success")
            return redirect(url_for("finance.agreement", application_id=application.id))
    db.session.rollback()
    return _render(application, sign_form=sign_form, scan_form=scan_form, problems=problems,
                   status=status)


def _payment_or_404(application_id: int, payment_id: int) -> tuple[Application, Payment]:
    application = load_or_404(Application, application_id, Action.APP_MANAGE)
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.application_id != application.id:
        abort(404)
    return application, payment


def _follow_payment(application_id: int, payment_id: int, service, done):
    """Move one payment of the dossier along (``service``); ``done(payment)`` is the flash."""
    application, payment = _payment_or_404(application_id, payment_id)
    try:
        service(payment, current_user)
    except WorkflowError as error:
        db.session.rollback()
        return _render(application, problems=_problems(error), status=error.status)
    db.session.commit()
    flash(done(payment), "success")
    return redirect(url_for("finance.agreement", application_id=application.id,
                            _anchor="paiements"))


@bp.post("/dossiers/<int:application_id>/paiements/<int:payment_id>/demander")
@login_required
def request_payment(application_id: int, payment_id: int):
    return _follow_payment(application_id, payment_id, pay.request_payment, lambda payment: _(
        "« %(kind)s » : paiement demandé.", kind=payment.kind.label))


@bp.post("/dossiers/<int:application_id>/paiements/<int:payment_id>/payer")
@login_required
def record_payment(application_id: int, payment_id: int):
    return _follow_payment(application_id, payment_id, pay.record_payment, lambda payment: _(
        "« %(kind)s » : paiement enregistré comme payé.", kind=payment.kind.label))
