"""Exports of the follow-up: missions, reports and payments (XLSX, CSV).

Thin: CUF's managers and admins (``Action.FOLLOW_UP_EXPORT``) choose a table, a call and a format
on the index; the download builds the file with ``dcol.exports.services``. Anyone else gets a 404.
"""

from __future__ import annotations

import io

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request, send_file
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from dcol.exports import services
from dcol.exports.tables import CSV_MIMETYPE, XLSX_MIMETYPE
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
MIMETYPES = {"xlsx": XLSX_MIMETYPE, "csv": CSV_MIMETYPE}


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
    content = services.export(current_user, table, fmt, call)
    return send_file(io.BytesIO(content), mimetype=MIMETYPES[fmt], as_attachment=True,
                     download_name=services.filename(table, fmt, call), max_age=0)
