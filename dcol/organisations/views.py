"""Organisations: the organisation's page and its members, invitations, and staff validation."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from dcol.accounts.services import AccountError
from dcol.extensions import db, limiter
from dcol.models import Invitation, MembershipStatus, Organisation, User
from dcol.organisations import invitations, services
from dcol.organisations.invitations import InvitationStatus, Situation
from dcol.organisations.services import OrganisationError
from dcol.permissions import Action, can, load_or_404, require
from forms.organisations import (
    AcceptInvitationForm,
    ConfirmForm,
    InvitationForm,
    RefusalForm,
    SignatoryForm,
    ValidateMemberForm,
)

bp = Blueprint("organisations", __name__)


# --- the organisation's page ----------------------------------------------------------------


def _organisation_url(organisation: Organisation) -> str:
    if current_user.organisation_id == organisation.id:
        return url_for("organisations.mine")
    return url_for("organisations.detail", organisation_id=organisation.id)


def _render_detail(
    organisation: Organisation,
    *,
    invite_form: InvitationForm | None = None,
    problem: str | None = None,
    status: int = 200,
):
    can_manage = can(current_user, Action.ORG_MANAGE_MEMBERS, organisation)
    members = [
        m
        for m in organisation.members
        if m.membership_status in {MembershipStatus.ACTIVE, MembershipStatus.PENDING}
    ]
    return render_template(
        "organisations/detail.html",
        org=organisation,
        members=sorted(members, key=lambda m: (m.full_name.casefold(), m.id)),
        can_manage=can_manage,
        invitations=invitations.pending_invitations(organisation) if can_manage else [],
        invite_form=invite_form or InvitationForm(formdata=None),
        signatory_count=services.signatory_count(organisation),
        problem=problem,
    ), status


@bp.get("/mon-organisation")
@login_required
def mine():
    """The member's own organisation; a pending or refused member sees nothing of it."""
    if current_user.organisation_id is None:
        abort(404)
    if not current_user.is_active_member:
        return render_template("organisations/pending_account.html")
    organisation = load_or_404(Organisation, current_user.organisation_id, Action.ORG_VIEW)
    return _render_detail(organisation)


@bp.get("/organisations/<int:organisation_id>")
@login_required
def detail(organisation_id: int):
    organisation = load_or_404(Organisation, organisation_id, Action.ORG_VIEW)
    return _render_detail(organisation)


def _manageable(organisation_id: int) -> Organisation:
    """The organisation whose members the user manages: 404 when they may not even see it,
    403 when they see it without managing it (a member who is not a signatory)."""
    organisation = load_or_404(Organisation, organisation_id, Action.ORG_VIEW)
    if not can(current_user, Action.ORG_MANAGE_MEMBERS, organisation):
        abort(403)
    return organisation


@bp.post("/organisations/<int:organisation_id>/invitations")
@login_required
def invite(organisation_id: int):
    organisation = _manageable(organisation_id)
    form = InvitationForm()
    if form.validate_on_submit():
        try:
            invitation, _token = invitations.invite_member(
                organisation,
                form.email.data,
                is_signatory=form.is_signatory.data,
                invited_by=current_user,
            )
        except OrganisationError as error:
            form.email.errors.append(error.message)
        else:
            db.session.commit()
            flash(
                _(
                    "Invitation envoyée à %(email)s : le lien est valable 7 jours.",
                    email=invitation.email,
                ),
                "success",
            )
            return redirect(_organisation_url(organisation))
    db.session.rollback()
    return _render_detail(_manageable(organisation_id), invite_form=form, status=422)


@bp.post("/organisations/<int:organisation_id>/invitations/<int:invitation_id>/annuler")
@login_required
def revoke_invitation(organisation_id: int, invitation_id: int):
    organisation = _manageable(organisation_id)
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.organisation_id != organisation.id:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        invitations.revoke_invitation(invitation, current_user)
    except OrganisationError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(
            _(
                "L'invitation de %(email)s est annulée : son lien ne fonctionne plus.",
                email=invitation.email,
            ),
            "info",
        )
    return redirect(_organisation_url(organisation))


@bp.post("/organisations/<int:organisation_id>/membres/<int:user_id>/signataire")
@login_required
def set_signatory(organisation_id: int, user_id: int):
    organisation = _manageable(organisation_id)
    member = db.session.get(User, user_id)
    if member is None or member.organisation_id != organisation.id:
        abort(404)
    form = SignatoryForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        changed = services.set_signatory(organisation, member, form.is_signatory.data, current_user)
    except OrganisationError as error:
        db.session.rollback()
        return _render_detail(_manageable(organisation_id), problem=error.message, status=409)
    db.session.commit()
    if changed:
        message = (
            _("%(name)s est désormais signataire.", name=member.full_name)
            if member.is_signatory
            else _("%(name)s n'est plus signataire.", name=member.full_name)
        )
        flash(message, "success")
    return redirect(_organisation_url(organisation))


# --- staff validation -----------------------------------------------------------------------


def _member_forms(member: User, default_signatory: bool):
    return (
        ValidateMemberForm(
            formdata=None, prefix=f"membre-{member.id}", is_signatory=default_signatory
        ),
        RefusalForm(formdata=None, prefix=f"refus-membre-{member.id}"),
    )


def _render_pending(*, failed: tuple[str, int] | None = None, failed_form=None, status=200):
    pending = services.pending_registrations()
    with_signatory = services.organisations_with_signatory(
        {m.organisation_id for m in pending.members}
    )
    member_forms = {}
    for organisation in pending.organisations:
        for member in organisation.members:
            if member.membership_status is MembershipStatus.PENDING:
                # The first member of a new organisation is usually its signatory.
                member_forms[member.id] = _member_forms(member, True)
    for member in pending.members:
        member_forms[member.id] = _member_forms(
            member, member.organisation_id not in with_signatory
        )
    organisation_forms = {
        org.id: RefusalForm(formdata=None, prefix=f"refus-organisation-{org.id}")
        for org in pending.organisations
    }
    if failed is not None:
        kind, object_id = failed
        if kind == "member" and object_id in member_forms:
            member_forms[object_id] = (member_forms[object_id][0], failed_form)
        elif kind == "organisation":
            organisation_forms[object_id] = failed_form
    return render_template(
        "organisations/pending.html",
        pending=pending,
        member_forms=member_forms,
        organisation_forms=organisation_forms,
        member_pending=MembershipStatus.PENDING,
    ), status


@bp.get("/organisations/a-valider")
@login_required
def pending():
    require(current_user, Action.ORG_VALIDATE)
    return _render_pending()


def _pending_organisation(organisation_id: int) -> Organisation:
    require(current_user, Action.ORG_VALIDATE)
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None:
        abort(404)
    return organisation


def _pending_member(user_id: int) -> User:
    require(current_user, Action.ORG_VALIDATE)
    member = db.session.get(User, user_id)
    if member is None or member.organisation_id is None:
        abort(404)
    return member


def _decided(message: str):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("organisations.pending"))


def _refused_decision(error: OrganisationError):
    db.session.rollback()
    flash(error.message, "error")
    return redirect(url_for("organisations.pending"))


@bp.post("/organisations/<int:organisation_id>/valider")
@login_required
def validate_organisation(organisation_id: int):
    organisation = _pending_organisation(organisation_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.validate_organisation(organisation, current_user)
    except OrganisationError as error:
        return _refused_decision(error)
    return _decided(_("L'organisation %(name)s est validée.", name=organisation.name))


@bp.post("/organisations/<int:organisation_id>/refuser")
@login_required
def refuse_organisation(organisation_id: int):
    organisation = _pending_organisation(organisation_id)
    form = RefusalForm(prefix=f"refus-organisation-{organisation.id}")
    if not form.validate_on_submit():
        return _render_pending(
            failed=("organisation", organisation.id), failed_form=form, status=422
        )
    try:
        services.refuse_organisation(organisation, current_user, form.reason.data)
    except OrganisationError as error:
        return _refused_decision(error)
    return _decided(
        _(
            "L'inscription de l'organisation %(name)s est refusée ; le motif a été "
            "envoyé à ses membres.",
            name=organisation.name,
        )
    )


@bp.post("/organisations/membres/<int:user_id>/valider")
@login_required
def validate_member(user_id: int):
    member = _pending_member(user_id)
    form = ValidateMemberForm(prefix=f"membre-{member.id}")
    if not form.validate_on_submit():
        abort(400)
    try:
        services.validate_member(member, current_user, is_signatory=form.is_signatory.data)
    except OrganisationError as error:
        return _refused_decision(error)
    return _decided(
        _(
            "Le compte de %(name)s (%(org)s) est validé.",
            name=member.full_name,
            org=member.organisation.name,
        )
    )


@bp.post("/organisations/membres/<int:user_id>/refuser")
@login_required
def refuse_member(user_id: int):
    member = _pending_member(user_id)
    form = RefusalForm(prefix=f"refus-membre-{member.id}")
    if not form.validate_on_submit():
        return _render_pending(failed=("member", member.id), failed_form=form, status=422)
    try:
        services.refuse_member(member, current_user, form.reason.data)
    except OrganisationError as error:
        return _refused_decision(error)
    return _decided(
        _("Le compte de %(name)s est refusé ; le motif lui a été envoyé.", name=member.full_name)
    )


# --- the invitee's side ---------------------------------------------------------------------


def _invitation_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@limiter.limit(_invitation_limit, methods=["POST"])
def accept_invitation(token: str):
    """The link of an invitation mail: create an account, or join with an existing one."""
    check = invitations.check_invitation(token)
    if not check.is_valid:
        status = 404 if check.status is InvitationStatus.UNKNOWN else 410
        return render_template(
            "organisations/invitation_invalid.html", check=check, Status=InvitationStatus
        ), status
    invitation = check.invitation
    user = current_user if current_user.is_authenticated else None
    situation = invitations.situation(invitation, user)
    form = AcceptInvitationForm()
    confirm_form = ConfirmForm()
    if request.method == "POST":
        if situation is Situation.NEW_ACCOUNT and form.validate_on_submit():
            try:
                user = invitations.accept_invitation(
                    token,
                    full_name=form.full_name.data,
                    job_title=form.job_title.data,
                    password=form.password.data,
                )
            except (OrganisationError, AccountError) as error:
                db.session.rollback()
                form.full_name.errors.append(str(error))
            else:
                db.session.commit()
                login_user(user)
                return _welcome(user)
        elif situation is Situation.JOIN and confirm_form.validate_on_submit():
            try:
                invitations.join_with_invitation(token, current_user)
            except OrganisationError as error:
                db.session.rollback()
                flash(error.message, "error")
            else:
                db.session.commit()
                return _welcome(current_user)
        elif situation is not Situation.NEW_ACCOUNT:
            abort(409)
    return render_template(
        "organisations/invitation.html",
        invitation=invitation,
        situation=situation,
        Situation=Situation,
        form=form,
        confirm_form=ConfirmForm(formdata=None),
    ), 422 if form.errors else 200


def _welcome(user: User):
    flash(
        _(
            "Bienvenue, %(name)s : vous êtes membre de %(org)s.",
            name=user.full_name,
            org=user.organisation.name,
        ),
        "success",
    )
    return redirect(url_for("organisations.mine"))
