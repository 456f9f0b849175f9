"""The expert pool (CUF's managers) and the experts' own space: profiles, unavailabilities and
declared links, the pool's list, the proposals addressed to an expert and its answers.

Thin: each view loads, checks the permission (404 for whatever the user may not see), validates
the form, calls ``dcol.experts.services`` and renders or redirects; it commits once the service
succeeded and rolls back otherwise (refused input: 422, the user's input kept).
"""

from __future__ import annotations

from decimal import Decimal

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from dcol.experts import proposals as answers
from dcol.experts import services
from dcol.experts.loads import Load, expert_loads
from dcol.experts.services import ExpertRefused
from dcol.extensions import db
from dcol.i18n import PARIS
from dcol.models import Expert, ExpertKind, MissionProposal, ProposalStatus, Role, utcnow
from dcol.permissions import Action, can, load_or_404, require
from forms.experts import (
    AcceptProposalForm,
    ConflictForm,
    DeclineProposalForm,
    ExpertForm,
    PoolFilterForm,
    UnavailabilityForm,
)
from workflows.engine import InvalidInput, NotVisible, WorkflowError

bp = Blueprint("experts", __name__, url_prefix="/experts")

PER_PAGE = 30
# Prefixes of the profile page's smaller forms, so that their fields never clash with the
# profile's own.
UNAVAILABILITY, LINK = "indisponibilite", "lien"


def _today():
    return utcnow().astimezone(PARIS).date()


# --- the pool -------------------------------------------------------------------------------


@bp.get("/")
@login_required
def index():
    require(current_user, Action.EXPERT_VIEW_POOL)
    filter_form = PoolFilterForm(request.args)
    page = db.paginate(services.pool_query(filter_form.filters()), per_page=PER_PAGE)
    loads = expert_loads([expert.id for expert in page.items]) if page.items else {}
    filters = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template(
        "experts/index.html", page=page, filter_form=filter_form, filters=filters,
        loads=loads, empty_load=Load(), today=_today(),
        unavailable=services.current_unavailability,
    )


NEW_EXPERT = {"kind": ExpertKind.CONSULTANCY.value, "vat_rate": Decimal("20"), "capacity": 2}


@bp.route("/nouveau", methods=["GET", "POST"])
@login_required
def create():
    require(current_user, Action.EXPERT_VIEW_POOL)
    if request.method == "GET":
        return render_template("experts/new.html", form=ExpertForm(data=NEW_EXPERT))
    form = ExpertForm()
    if form.validate_on_submit():
        try:
            expert = services.create_expert(current_user, form.profile())
        except ExpertRefused as error:
            db.session.rollback()
            form.add_errors(error.errors)
        else:
            db.session.commit()
            flash(_("« %(name)s » a rejoint le vivier. Vous pouvez indiquer ses indisponibilités "
                    "et ses liens avec des organisations.", name=expert.name), "success")
            return redirect(url_for("experts.profile", expert_id=expert.id))
    db.session.rollback()
    return render_template("experts/new.html", form=form, invalid=True), 422


# --- a profile ------------------------------------------------------------------------------


def _render_profile(expert: Expert, *, form=None, unavailability_form=None, conflict_form=None,
                    status: int = 200):
    manages_pool = can(current_user, Action.EXPERT_VIEW_POOL)
    return render_template(
        "experts/profile.html",
        expert=expert,
        form=form or ExpertForm.of(expert),
        unavailability_form=unavailability_form
        or UnavailabilityForm(formdata=None, prefix=UNAVAILABILITY),
        conflict_form=conflict_form or ConflictForm(formdata=None, prefix=LINK),
        conflicts=services.conflicts_of(expert),
        is_own=Role.EXPERT in current_user.roles and current_user.expert_id == expert.id,
        manages_pool=manages_pool,
        load=expert_loads([expert.id]).get(expert.id, Load()) if manages_pool else None,
        invalid=status == 422,
    ), status


def _profile_url(expert: Expert, anchor: str | None = None) -> str:
    return url_for("experts.profile", expert_id=expert.id, _anchor=anchor)


@bp.route("/<int:expert_id>", methods=["GET", "POST"])
@login_required
def profile(expert_id: int):
    """The expert's profile: the pool's managers edit any, an expert its own ("Ma fiche")."""
    expert = load_or_404(Expert, expert_id, Action.EXPERT_VIEW)
    if request.method == "GET":
        return _render_profile(expert)
    require(current_user, Action.EXPERT_EDIT, expert)
    form = ExpertForm()
    if form.validate_on_submit():
        try:
            changed = services.update_expert(expert, current_user, form.profile())
        except ExpertRefused as error:
            db.session.rollback()
            form.add_errors(error.errors)
        else:
            db.session.commit()
            if changed:
                flash(_("La fiche est enregistrée."), "success")
            else:
                flash(_("Aucune modification : la fiche était déjà à jour."), "info")
            return redirect(_profile_url(expert))
    db.session.rollback()
    return _render_profile(load_or_404(Expert, expert_id, Action.EXPERT_EDIT), form=form,
                           status=422)


@bp.post("/<int:expert_id>/indisponibilites")
@login_required
def add_unavailability(expert_id: int):
    expert = load_or_404(Expert, expert_id, Action.EXPERT_EDIT)
    form = UnavailabilityForm(prefix=UNAVAILABILITY)
    if form.validate_on_submit():
        try:
            services.add_unavailability(expert, current_user, form.starts_on.data,
                                        form.ends_on.data, form.reason.data or "")
        except ExpertRefused as error:
            db.session.rollback()
            form.add_errors(error.errors)
        else:
            db.session.commit()
            flash(_("La période d'indisponibilité est ajoutée."), "success")
            return redirect(_profile_url(expert, "indisponibilites"))
    db.session.rollback()
    return _render_profile(load_or_404(Expert, expert_id, Action.EXPERT_EDIT),
                           unavailability_form=form, status=422)


@bp.post("/<int:expert_id>/indisponibilites/<int:unavailability_id>/suppression")
@login_required
def remove_unavailability(expert_id: int, unavailability_id: int):
    expert = load_or_404(Expert, expert_id, Action.EXPERT_EDIT)
    try:
        services.remove_unavailability(expert, current_user, unavailability_id)
    except NotVisible:
        abort(404)
    db.session.commit()
    flash(_("La période d'indisponibilité est retirée."), "success")
    return redirect(_profile_url(expert, "indisponibilites"))


@bp.post("/<int:expert_id>/liens")
@login_required
def declare_link(expert_id: int):
    expert = load_or_404(Expert, expert_id, Action.EXPERT_EDIT)
    form = ConflictForm(prefix=LINK)
    if form.validate_on_submit():
        try:
            link = services.declare_link(expert, current_user, form.organisation.data or "",
                                         form.description.data or "")
        except ExpertRefused as error:
            db.session.rollback()
            form.add_errors(error.errors)
        else:
            name = link.organisation.name
            db.session.commit()
            flash(_("Le lien avec « %(name)s » est déclaré : l'expert ne sera pas proposé pour "
                    "ses dossiers.", name=name), "success")
            return redirect(_profile_url(expert, "liens"))
    db.session.rollback()
    return _render_profile(load_or_404(Expert, expert_id, Action.EXPERT_EDIT),
                           conflict_form=form, status=422)


@bp.post("/<int:expert_id>/liens/<int:organisation_id>/suppression")
@login_required
def remove_link(expert_id: int, organisation_id: int):
    expert = load_or_404(Expert, expert_id, Action.EXPERT_EDIT)
    try:
        services.remove_link(expert, current_user, organisation_id)
    except NotVisible:
        abort(404)
    db.session.commit()
    flash(_("Le lien déclaré est retiré."), "success")
    return redirect(_profile_url(expert, "liens"))


def _set_active(expert_id: int, active: bool):
    require(current_user, Action.EXPERT_VIEW_POOL)
    expert = load_or_404(Expert, expert_id, Action.EXPERT_EDIT)
    services.set_expert_active(expert, current_user, active)
    pending = expert_loads([expert.id]).get(expert.id, Load()).proposals
    db.session.commit()
    if active:
        flash(_("« %(name)s » est de nouveau actif : il peut recevoir des propositions.",
                name=expert.name), "success")
    else:
        message = _("« %(name)s » est désactivé : il n'est plus suggéré et ne peut plus recevoir "
                    "de proposition.", name=expert.name)
        if pending:
            message += " " + ngettext(
                "Sa proposition en attente ne pourra pas être acceptée.",
                "Ses %(num)d propositions en attente ne pourront pas être acceptées.", pending)
        flash(message, "success")
    return redirect(_profile_url(expert))


@bp.post("/<int:expert_id>/desactivation")
@login_required
def deactivate(expert_id: int):
    return _set_active(expert_id, False)


@bp.post("/<int:expert_id>/reactivation")
@login_required
def reactivate(expert_id: int):
    return _set_active(expert_id, True)


# --- the expert's side: its proposals -------------------------------------------------------


@bp.get("/propositions")
@login_required
def proposals():
    try:
        items = answers.proposals_of(current_user)
    except NotVisible:
        abort(404)
    pending = [p for p in items if p.status is ProposalStatus.PENDING]
    answered = [p for p in items if p.status is not ProposalStatus.PENDING]
    return render_template("experts/proposals.html", pending=pending, answered=answered)


def _proposal_or_404(proposal_id: int) -> MissionProposal:
    """A proposal addressed to the user's expert; 404 for any other (or none)."""
    proposal = db.session.get(MissionProposal, proposal_id)
    if proposal is None or not answers.is_addressed_to(current_user, proposal):
        abort(404)
    return proposal


def _render_proposal(proposal: MissionProposal, *, accept_form=None, decline_form=None,
                     problems: list[str] | None = None, status: int = 200):
    return render_template(
        "experts/proposal.html",
        proposal=answers.proposal_summary(proposal, current_user),
        accept_form=accept_form or AcceptProposalForm(formdata=None),
        decline_form=decline_form or DeclineProposalForm(formdata=None),
        problems=problems or [],
    ), status


def _problems(error: WorkflowError) -> list[str]:
    return [error.message, *(p for p in error.problems if p != error.message)]


@bp.get("/propositions/<int:proposal_id>")
@login_required
def proposal(proposal_id: int):
    return _render_proposal(_proposal_or_404(proposal_id))


@bp.post("/propositions/<int:proposal_id>/acceptation")
@login_required
def accept(proposal_id: int):
    proposal = _proposal_or_404(proposal_id)
    form = AcceptProposalForm()
    if not form.validate_on_submit():
        abort(400)  # only the CSRF token can be wrong
    try:
        answers.accept_proposal(proposal, current_user, no_conflict=bool(form.no_conflict.data))
    except WorkflowError as error:
        db.session.rollback()
        if isinstance(error, InvalidInput) and not form.no_conflict.data:
            form.no_conflict.errors = list(error.problems)
        return _render_proposal(_proposal_or_404(proposal_id), accept_form=form,
                                problems=_problems(error), status=error.status)
    db.session.commit()
    flash(_("Merci : vous avez accepté la mission. Cités Unies France prépare la convention, qui "
            "vous sera proposée à la signature."), "success")
    return redirect(url_for("experts.proposal", proposal_id=proposal_id))


@bp.post("/propositions/<int:proposal_id>/refus")
@login_required
def decline(proposal_id: int):
    proposal = _proposal_or_404(proposal_id)
    form = DeclineProposalForm()
    if not form.validate_on_submit():
        if form.errors.keys() - {"reason"}:
            abort(400)  # the CSRF token
        db.session.rollback()
        return _render_proposal(proposal, decline_form=form,
                                problems=[str(e) for e in form.reason.errors], status=422)
    try:
        answers.decline_proposal(proposal, current_user, form.reason.data or "")
    except WorkflowError as error:
        db.session.rollback()
        if isinstance(error, InvalidInput) and not (form.reason.data or "").strip():
            form.reason.errors = [error.message]
        return _render_proposal(_proposal_or_404(proposal_id), decline_form=form,
                                problems=_problems(error), status=error.status)
    db.session.commit()
    flash(_("Vous avez décliné la proposition ; Cités Unies France en est informé. Merci de votre "
            "réponse."), "success")
    return redirect(url_for("experts.proposals"))
