"""Home pages: the public landing, each role's work queue, and the pages of the menu."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from dcol.calls.services import open_calls
from dcol.extensions import db
from dcol.home.services import navigation_for, work_queue
from dcol.models import Organisation, User
from dcol.permissions import Action, can, require

bp = Blueprint("home", __name__)


@bp.app_context_processor
def inject_navigation():
    user = current_user
    nav = navigation_for(user) if getattr(user, "is_authenticated", False) else []
    return {"navigation": nav, "can": can, "Action": Action}


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return render_template("home/landing.html", calls=open_calls())
    return render_template("home/index.html", sections=work_queue(current_user))


@bp.get("/ma-fiche-expert")
@login_required
def expert_profile():
    """The expert's own profile, kept in the experts area (this address still leads there)."""
    if current_user.expert is None:
        abort(404)
    require(current_user, Action.EXPERT_VIEW, current_user.expert)
    return redirect(url_for("experts.profile", expert_id=current_user.expert_id))


@bp.get("/organisations")
@login_required
def organisations():
    require(current_user, Action.ORG_VALIDATE)
    page = db.paginate(
        sa.select(Organisation)
        .options(selectinload(Organisation.members))
        .order_by(Organisation.name, Organisation.id),
        per_page=50,
    )
    return render_template("home/organisations.html", page=page)


@bp.get("/utilisateurs")
@login_required
def users():
    require(current_user, Action.USERS_MANAGE)
    page = db.paginate(
        sa.select(User)
        .options(selectinload(User.organisation), selectinload(User.expert))
        .order_by(User.full_name, User.id),
        per_page=50,
    )
    return render_template("home/users.html", page=page)
