"""The export of every dossier a member of CUF's staff sees (XLSX, CSV), streamed.

One row per dossier visible to the user (``visible_applications``: every dossier for managers and
admins, those of their reviews or committee sessions for the others), filtered like the dossier
list (call, state) and in its order (``sort``, last updated first by default): reference, title,
organisation and its kind, call, track, state, the dates of creation, first deposit, last deposit
and last update, and the amounts (estimated cost, requested amount, estimated cofinancing).

The rows come from one streamed query of plain columns (``yield_per``, a server-side cursor on
PostgreSQL): no ORM object is built and the memory stays that of a batch whatever the number of
dossiers. The CSV is a generator of encoded chunks; the workbook is written in openpyxl's
write-only mode to a temporary file (see ``dcol.exports.tables``). Headers follow the user's
language.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import IO

from flask_babel import force_locale
from flask_babel import gettext as _

from dcol.applications.services import DEFAULT_SORT, visible_applications_query
from dcol.exports.tables import EURO_FORMAT, MOMENT_FORMAT, Column, Table, csv_chunks
from dcol.exports.tables import xlsx_file as write_xlsx
from dcol.extensions import db
from dcol.i18n import PARIS
from dcol.models import Application, ApplicationState, Call, Organisation, Track, User, utcnow
from dcol.permissions import Action, can
from workflows.engine import Forbidden

BATCH = 1_000  # rows fetched from the cursor at a time


def may_export_dossiers(user: User | None) -> bool:
    return can(user, Action.DOSSIERS_EXPORT)


def columns() -> list[Column]:
    return [
        (_("Référence"), None), (_("Intitulé"), None), (_("Collectivité"), None),
        (_("Type de collectivité"), None), (_("Appel"), None), (_("Volet"), None),
        (_("État"), None), (_("Créé le"), MOMENT_FORMAT), (_("Premier dépôt le"), MOMENT_FORMAT),
        (_("Dernier dépôt le"), MOMENT_FORMAT), (_("Mis à jour le"), MOMENT_FORMAT),
        (_("Coût estimé"), EURO_FORMAT), (_("Montant demandé"), EURO_FORMAT),
        (_("Cofinancement estimé"), EURO_FORMAT),
    ]


def rows(user: User, *, call_id: int | None = None, state: ApplicationState | None = None,
         sort: str = DEFAULT_SORT) -> Iterator[list]:
    """The rows of the dossiers ``user`` sees, in the order ``sort`` (see
    ``visible_applications_query``), read from one streamed query."""
    query = (
        visible_applications_query(user, call_id=call_id, state=state, sort=sort)
        .with_only_columns(
            Application.reference, Application.title, Organisation.name, Organisation.kind,
            Call.title, Track.name, Application.state, Application.created_at,
            Application.first_submitted_at, Application.submitted_at, Application.updated_at,
            Application.estimated_cost, Application.requested_amount,
            Application.estimated_cofinancing,
            maintain_column_froms=False,
        )
        .select_from(Application)
        .join(Organisation, Organisation.id == Application.organisation_id)
        .join(Call, Call.id == Application.call_id)
        .outerjoin(Track, Track.id == Application.track_id)
        .execution_options(yield_per=BATCH, stream_results=True)
    )
    for (reference, title, organisation, kind, call, track, state_, created_at,
         first_submitted_at, submitted_at, updated_at, cost, requested,
         cofinancing) in db.session.execute(query):
        yield [reference, title, organisation, kind.label, call, track or "", state_.label,
               created_at, first_submitted_at, submitted_at, updated_at, cost, requested,
               cofinancing]


def _check(user: User) -> None:
    if not may_export_dossiers(user):
        raise Forbidden(_("Seule l'équipe de CUF exporte la liste des dossiers."))


def stream_csv(user: User, *, call_id: int | None = None, state: ApplicationState | None = None,
               sort: str = DEFAULT_SORT) -> Iterator[bytes]:
    """The dossiers ``user`` sees as a CSV for French Excel, in encoded chunks produced as they
    are sent. Raises ``Forbidden`` at once (before the first chunk) for anyone but CUF's staff."""
    _check(user)
    return _csv(user, call_id, state, sort)


def _csv(user: User, call_id: int | None, state: ApplicationState | None,
         sort: str) -> Iterator[bytes]:
    with force_locale(user.locale or "fr"):
        yield from csv_chunks(columns(), rows(user, call_id=call_id, state=state, sort=sort))


def xlsx_file(user: User, *, call_id: int | None = None, state: ApplicationState | None = None,
              sort: str = DEFAULT_SORT) -> IO[bytes]:
    """The dossiers ``user`` sees as a workbook (one sheet, Dossiers) in a temporary file at its
    start, written in constant memory; the caller closes it. Raises ``Forbidden`` for anyone but
    CUF's staff."""
    _check(user)
    with force_locale(user.locale or "fr"):
        return write_xlsx([Table(_("Dossiers"), columns(),
                                 rows(user, call_id=call_id, state=state, sort=sort))])


def filename(fmt: str, today: date | None = None) -> str:
    """``dcol-dossiers-2026-11-23.csv``."""
    today = today or utcnow().astimezone(PARIS).date()
    return f"dcol-dossiers-{today.isoformat()}.{fmt}"
