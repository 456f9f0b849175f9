"""Exports of the follow-up: missions, reports and payments (XLSX, CSV).

Thin: CUF's managers and admins (``Action.FOLLOW_UP_EXPORT``) choose a table, a call and a format
on the index; the download streams the file built by ``dcol.exports.services`` (a CSV as it is
read from the database, a workbook from its temporary file). Anyone else gets a 404.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from dcol.exports import services
from dcol.exports.responses import csv_response, xlsx_response
from dcol.extensions import db
from dcol.models import Call
from dcol.permissions import Action, require

bp = Blueprint("exports", __name__)

# What each table holds, shown on the index (French).
DESCRIPTIONS = {
    "missions": (_l("Missions"),
                 _l("Une ligne par accompagnement, de la convention à la clôture : expert, dates, "
                    "jours contractualisés et consommés, tarif journalier, budget et dépenses de "
                    "mission, rapports, livrables validés, alertes ouvertes.")),
    "reports": (_l("Rapports de mission"),
                _l("Une ligne par rapport : date, auteur, jours, mission de terrain et lieu, "
                   "activités, total des dépenses et nombre de justificatifs.")),
    "payments": (_l("Paiements"),
                 _l("Une ligne par paiement de l'échéancier (hors paiements annulés) : type, "
                    "montant, part du dispositif, statut, échéance, dates de demande et de "
                    "paiement, part de chaque financeur.")),
}


def _chosen_call() -> Call | None:
    """The call of ``?call=<id>``; 404 for a call that does not exist."""
    call_id = request.args.get("call", type=int)
    if call_id is None:
        return None
    call = db.session.get(Call, call_id)
    if call is None:
        abort(404)
    return call


@bp.get("/exports")
@login_required
def index():
    require(current_user, Action.FOLLOW_UP_EXPORT)
    calls = db.session.scalars(sa.select(Call).order_by(Call.opens_at.desc(), Call.id)).all()
    return render_template("exports/index.html", calls=calls, call=_chosen_call(),
                           descriptions=DESCRIPTIONS, formats=services.FORMATS)


@bp.get("/exports/<any(missions, reports, payments):table>.<any(xlsx, csv):fmt>")
@login_required
def download(table: str, fmt: str):
    require(current_user, Action.FOLLOW_UP_EXPORT)
    call = _chosen_call()
    name = services.filename(table, fmt, call)
    if fmt == "xlsx":
        return xlsx_response(services.xlsx_file(current_user, table, call), name)
    return csv_response(services.stream_csv(current_user, table, call), name)
