"""Memory and time of the streamed exports (issue 9, point 3): the export of every dossier
(``/dossiers/export.csv|xlsx``, ``dcol.applications.exports``) and the instruction of the call
with the most dossiers (``/appels/<id>/export.csv|xlsx``, ``dcol.reviews.exports``).

Each export runs in a fresh Python process of its own, so that the peaks do not mix: the process
builds the app on the database, opens a test client's session as the first manager (the first
``manager.N``; the session is written in the cookie, the password is not checked: Argon2's 64 MiB
would be a peak of its own), requests the export through its real route and writes the response's body chunk by chunk
to a temporary file (on disk, never held in memory), then counts the file's rows (CSV: a
streaming ``csv`` reader; XLSX: the first sheet's ``<row`` elements, read through the zip). The
parent reads the process's peak resident memory from ``os.wait4`` (``ru_maxrss``). A *baseline*
process does the same up to one trivial request (the app built, the export modules imported,
signed in, a 404): an export's own cost is its peak minus the baseline. Streaming means that cost does
not grow with the number of dossiers: compare two databases, e.g. 10,000 and 100,000 dossiers
(``bench.seed --scale 0.1`` and ``--scale 1``). From the repository root:

    .venv/bin/python -m bench.exports --database-url URL [--database-url URL2 ...]

"Rows" are the data rows (the header left out): one per dossier for the dossiers' export; the
instruction's CSV has one per (dossier, submitted review), its workbook's first sheet one per
deposited dossier. "Seconds" run from the request to the last byte written (counting excluded).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
EXPORTS = ("dossiers.csv", "dossiers.xlsx", "instruction.csv", "instruction.xlsx")
BASELINE = "baseline"
SHEET = "xl/worksheets/sheet1.xml"  # the first sheet: Dossiers in both workbooks
CHUNK = 1 << 16


# --- the data: who signs in, which call --------------------------------------------------------


def bench_app(database_url: str):
    """The app on ``database_url`` (a throwaway instance folder: nothing else is read)."""
    from bench.seed import create_seed_app

    return create_seed_app(database_url)


def sign_in(client, email: str) -> None:
    """Open ``email``'s session in the test client's cookie, as the login form does but without
    verifying the password: Argon2 takes 64 MiB, a peak that would hide the export's own."""
    import sqlalchemy as sa
    from flask_login.utils import _create_identifier

    from dcol.extensions import db
    from dcol.models import User

    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        raise SystemExit(f"no user {email}")
    with client.application.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()  # Flask-Login's "strong" session protection
    with client.session_transaction() as session:
        session.permanent = True
        session.update(_user_id=user.get_id(), _fresh=True, _id=identifier)


def find_targets(database_url: str) -> dict:
    """The first manager (``manager.N`` if any, else an admin who manages), the call with the
    most dossiers and the number of dossiers."""
    import sqlalchemy as sa

    from dcol.extensions import db
    from dcol.models import Application, Role, User, UserRole

    app = bench_app(database_url)
    with app.app_context():
        manager = db.session.scalar(
            sa.select(User.email).join(UserRole).where(UserRole.role == Role.MANAGER,
                                                       User.is_enabled.is_(True))
            .order_by(User.email.like("manager.%").desc(), User.id).limit(1))
        call_id, call_dossiers = db.session.execute(
            sa.select(Application.call_id, sa.func.count()).group_by(Application.call_id)
            .order_by(sa.func.count().desc(), Application.call_id).limit(1)).one()
        dossiers = db.session.scalar(sa.select(sa.func.count()).select_from(Application))
        db.session.remove()
        db.engine.dispose()
    if manager is None:
        raise SystemExit("the database has no manager: seed it first (python -m bench.seed)")
    return {"email": manager, "call_id": call_id, "call_dossiers": call_dossiers,
            "dossiers": dossiers}


# --- one export, in this process ---------------------------------------------------------------


def url_of(export: str, call_id: int) -> str:
    what, extension = export.split(".")
    return (f"/dossiers/export.{extension}" if what == "dossiers"
            else f"/appels/{call_id}/export.{extension}")


def csv_rows(output: IO[bytes]) -> int:
    """The data rows of a CSV file (quoted line breaks included), read as a stream."""
    text = io.TextIOWrapper(output, encoding="utf-8-sig", newline="")
    try:
        return sum(1 for _row in csv.reader(text, delimiter=";")) - 1
    finally:
        text.detach()


def xlsx_rows(output: IO[bytes]) -> int:
    """The data rows of a workbook's first sheet, its XML read as a stream."""
    count, tail = 0, b""
    with zipfile.ZipFile(output) as workbook, workbook.open(SHEET) as sheet:
        while chunk := sheet.read(CHUNK):
            data = tail + chunk
            count += data.count(b"<row ")
            tail = data[-4:]  # a "<row " cut by the chunk's end is counted with the next one
    return count - 1


def measure(database_url: str, export: str, *, email: str, call_id: int | None = None) -> dict:
    """Sign in as ``email`` and run ``export`` (one of ``EXPORTS``, or ``BASELINE``) through its
    route, writing the body to a temporary file: its rows, bytes and seconds."""
    from flask import g

    import dcol.applications.exports  # noqa: F401 (imported in the baseline too)
    import dcol.reviews.exports  # noqa: F401
    from dcol.extensions import db

    app = bench_app(database_url)
    with app.app_context():
        client = app.test_client()
        sign_in(client, email)
        db.session.remove()  # the requests start from an empty session, as in production
        if export == BASELINE:
            response = client.get("/dossiers/export.txt")  # no such format: a 404 page
            result = {"rows": 0, "bytes": 0, "seconds": 0.0, "status": response.status_code}
        else:
            with tempfile.TemporaryFile(prefix="dcol-bench-export-") as output:
                start = time.perf_counter()
                response = client.get(url_of(export, call_id), buffered=False)
                size = 0
                try:
                    for chunk in response.iter_encoded():
                        output.write(chunk)
                        size += len(chunk)
                finally:
                    response.close()
                seconds = time.perf_counter() - start
                output.seek(0)
                rows = (csv_rows(output) if export.endswith(".csv") else xlsx_rows(output)) \
                    if response.status_code == 200 else 0
            result = {"rows": rows, "bytes": size, "seconds": seconds,
                      "status": response.status_code}
        g.pop("_login_user", None)
        db.session.remove()
        db.engine.dispose()
    return result


# --- one export, in a fresh process ------------------------------------------------------------


def run_isolated(database_url: str, export: str, *, email: str, call_id: int | None) -> dict:
    """``measure`` in a child process; adds its peak resident memory in KiB (``os.wait4``)."""
    command = [sys.executable, "-m", "bench.exports", "--child", export,
               "--database-url", database_url, "--email", email]
    if call_id is not None:
        command += ["--call-id", str(call_id)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE)
    output = process.stdout.read()
    process.stdout.close()
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    if process.returncode != 0:
        raise SystemExit(f"{export} on {database_url} failed (exit {process.returncode})")
    result = json.loads(output.decode().strip().splitlines()[-1])
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    result["peak_kib"] = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss
    return result


def mib(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"


def format_table(rows: list[dict]) -> str:
    lines = [
        "| export | database dossiers | rows | bytes written | seconds | peak RSS | baseline "
        "| export's own (peak − baseline) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        flag = "" if r["status"] == 200 else f" (HTTP {r['status']})"
        lines.append(
            f"| {r['export']}{flag} | {r['dossiers']:,} | {r['rows']:,} | {r['bytes']:,} "
            f"| {r['seconds']:.2f} s | {mib(r['peak_kib'])} | {mib(r['baseline_kib'])} "
            f"| **{mib(r['peak_kib'] - r['baseline_kib'])}** |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", action="append", required=True,
                        help="a seeded database (repeat the option to compare several)")
    parser.add_argument("--only", help="run only the exports whose name contains this text")
    parser.add_argument("--child", choices=(*EXPORTS, BASELINE), help=argparse.SUPPRESS)
    parser.add_argument("--email", help=argparse.SUPPRESS)
    parser.add_argument("--call-id", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:  # one measure in this (fresh) process, its result on stdout as JSON
        result = measure(args.database_url[0], args.child, email=args.email,
                         call_id=args.call_id)
        print(json.dumps(result))
        return 0

    exports = [name for name in EXPORTS if not args.only or args.only in name]
    rows = []
    for database_url in args.database_url:
        targets = find_targets(database_url)
        print(f"{database_url}: {targets['dossiers']:,} dossiers; call {targets['call_id']} "
              f"({targets['call_dossiers']:,} dossiers); as {targets['email']}", flush=True)
        options = {"email": targets["email"], "call_id": targets["call_id"]}
        baseline = run_isolated(database_url, BASELINE, **options)["peak_kib"]
        print(f"  baseline: peak {mib(baseline)}", flush=True)
        for export in exports:
            result = run_isolated(database_url, export, **options)
            result.update(export=export, dossiers=targets["dossiers"], baseline_kib=baseline)
            rows.append(result)
            print(f"  {export:<17} {result['rows']:>9,} rows {result['bytes']:>13,} bytes "
                  f"{result['seconds']:7.2f} s  peak {mib(result['peak_kib'])} "
                  f"(+{mib(result['peak_kib'] - baseline)})", flush=True)
    print()
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
