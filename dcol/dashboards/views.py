"""Staff dashboards: per call and across years.

CUF's managers and admins see every call and the figures across years; a reviewer or a committee
member sees the dashboard of the calls they work on and nothing else (404 otherwise, see
``Action.DASHBOARD_VIEW``).
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from dcol.dashboards.charts import dashboard_charts
from dcol.dashboards.figures import dashboard
from dcol.dashboards.scope import call_scope, years_scope
from dcol.models import Call
from dcol.permissions import Action, can, load_or_404, require

bp = Blueprint("dashboards", __name__)


@bp.get("/pilotage")
@login_required
def index():
    """Every call, or those that opened in the year asked for (``?annee=2025``)."""
    require(current_user, Action.DASHBOARD_VIEW)
    board = dashboard(years_scope(request.args.get("annee", type=int)))
    return render_template("dashboards/index.html", board=board, charts=dashboard_charts(board),
                           sees_follow_up=True)


@bp.get("/pilotage/appels/<int:call_id>")
@login_required
def call(call_id: int):
    call = load_or_404(Call, call_id, Action.DASHBOARD_VIEW)
    board = dashboard(call_scope(call))
    # The follow-up of the supports (missions, their alerts and links to the dossiers) is for
    # those who follow every call; reviewers and committee members see the call's figures.
    return render_template("dashboards/call.html", board=board, charts=dashboard_charts(board),
                           sees_follow_up=can(current_user, Action.DASHBOARD_VIEW))
