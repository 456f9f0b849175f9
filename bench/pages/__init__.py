"""Latency, query count and throughput of dcol's key pages, served by gunicorn (issue 9).

    .venv/bin/python -m bench.pages --database-url URL [--requests 50] [--warmup 5]

Starts gunicorn on a loopback port with ``DATABASE_URL`` = the bench database and the
measurements on (``DCOL_INSTRUMENT=1``: ``Server-Timing`` and ``X-Query-Count`` headers, see
``dcol/instrumentation.py``), signs in as the right users found in the data (a member of CUF's
staff, the collectivité with the most dossiers, the expert with the most missions; a bearer token
made for the staff member for the API, deleted at the end), then, for each page: a warm-up, then
``--requests`` sequential requests, reporting median and p95 of the server-side time (the
application's ``app`` and ``db`` durations) and of the client-side latency, the query count
(min–max: it must not move) and the sequential throughput; then the concurrent throughput with
``wrk`` when installed (a Python thread pool otherwise). ``GET /_instrument/ping`` (no query, no
template), served by the same gunicorn, gives the framework's ceiling.

gunicorn runs ``sync`` workers by default (``--workers 3``): dcol's requests are CPU-bound
(ORM, Jinja) and the GIL would serialise ``gthread``'s threads anyway; one process per core plus
one keeps both cores busy while a worker waits for PostgreSQL (itself on the same two cores), and
each worker holds a single database connection. In production a buffering reverse proxy (nginx)
in front shields sync workers from slow clients. ``--worker-class gthread --threads N`` measures
the other choice.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent.parent
SERVER_TIMING = re.compile(r"app;dur=([\d.]+), db;dur=([\d.]+)")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PASSWORDS = ("dcol-bench-2026", "dcol-demo-2026")  # bench.seed's, then the demo's


# --- the data: who to sign in as, which call, dossier and session ------------------------------


@dataclass
class Targets:
    staff: str
    applicant: str
    expert: str
    reviewer: str
    call_id: int
    application_id: int
    session_id: int | None
    state: str
    token: str
    token_id: int
    counts: dict = field(default_factory=dict)

    @property
    def deep_page(self) -> int:
        """A page far down the staff's list (the 20th, or the last one on small data)."""
        return max(1, min(20, self.counts.get("dossiers", 0) // 50))


def find_targets(database_url: str) -> Targets:
    """Pick the users and objects whose pages are the heaviest in the data, and make an API token
    for the staff member (in a throwaway instance folder: nothing else is read)."""
    import sqlalchemy as sa

    from dcol import create_app
    from dcol.accounts.services import create_api_token
    from dcol.extensions import db
    from dcol.models import (
        ApiToken,
        Application,
        ApplicationState,
        CommitteeDecision,
        Mission,
        Review,
        Role,
        User,
        UserRole,
    )

    app = create_app({"DATABASE_URL": database_url,
                      "INSTANCE_PATH": tempfile.mkdtemp(prefix="dcol-bench-pages-")})
    with app.app_context():
        staff = db.session.scalar(
            sa.select(User).join(UserRole).where(UserRole.role == Role.MANAGER,
                                                 User.is_enabled.is_(True))
            .order_by(User.id).limit(1))
        organisation_id = db.session.scalar(
            sa.select(Application.organisation_id).group_by(Application.organisation_id)
            .order_by(sa.func.count().desc(), Application.organisation_id).limit(1))
        applicant = db.session.scalar(
            sa.select(User).where(User.organisation_id == organisation_id,
                                  User.is_enabled.is_(True))
            .order_by(User.id).limit(1))
        expert_id = db.session.scalar(
            sa.select(Mission.expert_id).where(Mission.expert_id.is_not(None))
            .group_by(Mission.expert_id).order_by(sa.func.count().desc(), Mission.expert_id)
            .limit(1))
        expert = db.session.scalar(
            sa.select(User).where(User.expert_id == expert_id).order_by(User.id).limit(1))
        reviewer = db.session.scalar(
            sa.select(User).where(User.id == sa.select(Review.reviewer_id)
                                  .group_by(Review.reviewer_id)
                                  .order_by(sa.func.count().desc(), Review.reviewer_id)
                                  .limit(1).scalar_subquery()))
        call_id = db.session.scalar(
            sa.select(Application.call_id).group_by(Application.call_id)
            .order_by(sa.func.count().desc(), Application.call_id).limit(1))
        # A dossier far along (a mission being followed), so its page shows the most.
        application_id = db.session.scalar(
            sa.select(Application.id).join(Mission, Mission.application_id == Application.id)
            .where(Application.call_id == call_id).order_by(Application.id).limit(1)
        ) or db.session.scalar(
            sa.select(Application.id).where(Application.call_id == call_id)
            .order_by(Application.id).limit(1))
        session_id = db.session.scalar(
            sa.select(CommitteeDecision.session_id).group_by(CommitteeDecision.session_id)
            .order_by(sa.func.count().desc(), CommitteeDecision.session_id).limit(1))
        if None in (staff, applicant, expert, reviewer, call_id, application_id):
            raise SystemExit("the database lacks a manager, an applicant, an expert or a dossier: "
                             "seed it first (python -m bench.seed, or flask seed-demo)")
        token = create_api_token(staff, "bench.pages")
        token_id = db.session.scalar(sa.select(sa.func.max(ApiToken.id)))
        counts = {name: db.session.scalar(sa.select(sa.func.count()).select_from(model))
                  for name, model in (("dossiers", Application), ("missions", Mission),
                                      ("users", User))}
        db.session.commit()
        return Targets(
            staff=staff.email, applicant=applicant.email, expert=expert.email,
            reviewer=reviewer.email, call_id=call_id, application_id=application_id,
            session_id=session_id,
            state=ApplicationState.SUBMITTED.value, token=token, token_id=token_id,
            counts=counts,
        )


def delete_token(database_url: str, token_id: int) -> None:
    import sqlalchemy as sa

    from dcol.config import normalise_database_url

    engine = sa.create_engine(normalise_database_url(database_url))
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM api_tokens WHERE id = :id"), {"id": token_id})
    engine.dispose()


# --- gunicorn ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_instance(extra_config: str = "") -> str:
    """A throwaway instance folder: its config.py lifts the login throttling (every bench user
    signs in from 127.0.0.1) and keeps mail on the console."""
    path = tempfile.mkdtemp(prefix="dcol-bench-instance-")
    Path(path, "config.py").write_text(
        'LOGIN_RATE_LIMIT = "100000 per minute"\n'
        'MAIL_BACKEND = "console"\n' + extra_config
    )
    return path


@dataclass
class Server:
    process: subprocess.Popen
    base: str
    instance: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.instance, ignore_errors=True)


def start_gunicorn(database_url: str, *, workers: int, worker_class: str, threads: int,
                   port: int | None = None, instrument: bool = True) -> Server:
    port = port or free_port()
    instance = bench_instance()
    env = dict(os.environ, DATABASE_URL=database_url, DCOL_INSTANCE_PATH=instance,
               DCOL_INSTRUMENT="1" if instrument else "0")
    command = [
        str(Path(sys.executable).with_name("gunicorn")), "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--worker-class", worker_class, "--threads", str(threads),
        "--log-level", "warning", "--timeout", "120", "dcol:create_app()",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    server = Server(process, f"http://127.0.0.1:{port}", instance)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}")
        try:
            if requests.get(server.base + "/connexion", timeout=10).status_code == 200:
                return server
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.3)
    server.stop()
    raise SystemExit("gunicorn did not answer within 120 s")


def sign_in(base: str, email: str, passwords=PASSWORDS) -> requests.Session:
    session = requests.Session()
    for password in passwords:
        page = session.get(base + "/connexion")
        token = CSRF.search(page.text)
        data = {"email": email, "password": password}
        if token:
            data["csrf_token"] = token[1]
        response = session.post(base + "/connexion", data=data, allow_redirects=False)
        if response.status_code == 302:
            return session
    raise SystemExit(f"could not sign in as {email} (tried the bench and demo passwords)")


# --- measuring -----------------------------------------------------------------------------------


@dataclass
class Page:
    name: str
    path: str
    who: str  # staff, applicant, expert, reviewer, api, anonymous


def key_pages(t: Targets) -> list[Page]:
    pages = [
        Page("bare endpoint (ceiling)", "/_instrument/ping", "anonymous"),
        Page("dossier list, staff, 50/page", "/dossiers/", "staff"),
        Page(f"dossier list, staff, page {t.deep_page}", f"/dossiers/?page={t.deep_page}",
             "staff"),
        Page("dossier list, staff, call + state", f"/dossiers/?appel={t.call_id}&etat={t.state}",
             "staff"),
        Page("dossier list, staff, call, by deposit, 100/page",
             f"/dossiers/?appel={t.call_id}&tri=-depot&par_page=100", "staff"),
        Page("dossier list, collectivité", "/dossiers/", "applicant"),
        Page("dossier page", f"/dossiers/{t.application_id}", "staff"),
        Page("reviews of a reviewer (/evaluations)", "/evaluations", "reviewer"),
        Page("reviews of a reviewer, submitted page 100", "/evaluations?soumises=100",
             "reviewer"),
        Page("call ranking", f"/appels/{t.call_id}/classement", "staff"),
        Page("committee sessions of the call", f"/appels/{t.call_id}/comites", "staff"),
    ]
    if t.session_id:
        pages.append(Page("committee agenda", f"/comites/{t.session_id}", "staff"))
    pages += [
        Page("dashboard /pilotage", "/pilotage", "staff"),
        Page("dashboard of the call", f"/pilotage/appels/{t.call_id}", "staff"),
        Page("missions, expert", "/missions", "expert"),
        Page("missions, staff", "/missions", "staff"),
        Page("API dossier list, 50/page", "/api/v1/applications?per_page=50", "api"),
        Page("API dossier list, 100/page", "/api/v1/applications?per_page=100", "api"),
        Page("API dossier list, call + state",
             f"/api/v1/applications?call_id={t.call_id}&state={t.state}", "api"),
    ]
    return pages


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


@dataclass
class Result:
    page: Page
    status: int
    app_ms: list[float]
    db_ms: list[float]
    client_ms: list[float]
    queries: list[int]
    sequential_rps: float
    concurrent_rps: float | None = None

    def row(self) -> dict:
        return {
            "page": self.page.name, "path": self.page.path, "as": self.page.who,
            "status": self.status,
            "server_median_ms": statistics.median(self.app_ms),
            "server_p95_ms": percentile(self.app_ms, 0.95),
            "db_median_ms": statistics.median(self.db_ms),
            "client_median_ms": statistics.median(self.client_ms),
            "client_p95_ms": percentile(self.client_ms, 0.95),
            "queries": f"{min(self.queries)}" if min(self.queries) == max(self.queries)
            else f"{min(self.queries)}-{max(self.queries)}",
            "sequential_rps": self.sequential_rps, "concurrent_rps": self.concurrent_rps,
        }


def measure(session: requests.Session, base: str, page: Page, *, warmup: int,
            count: int) -> Result:
    url = base + page.path
    for _ in range(warmup):
        session.get(url)
    app_ms, db_ms, client_ms, queries = [], [], [], []
    status = 200
    started = time.perf_counter()
    for _ in range(count):
        before = time.perf_counter()
        response = session.get(url, allow_redirects=False)
        client_ms.append((time.perf_counter() - before) * 1000)
        if response.status_code != 200:
            status = response.status_code
        timing = SERVER_TIMING.search(response.headers.get("Server-Timing", ""))
        if not timing:
            raise SystemExit(f"{page.path}: no Server-Timing header (instrumentation off?)")
        app_ms.append(float(timing[1]))
        db_ms.append(float(timing[2]))
        queries.append(int(response.headers["X-Query-Count"]))
    elapsed = time.perf_counter() - started
    return Result(page, status, app_ms, db_ms, client_ms, queries, count / elapsed)


def headers_of(session: requests.Session) -> dict:
    headers = dict(session.headers)
    cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    if cookies:
        headers["Cookie"] = cookies
    headers.pop("Accept-Encoding", None)
    return headers


def concurrent_rps(url: str, headers: dict, *, connections: int, seconds: float) -> float:
    """Requests per second with ``connections`` concurrent clients: wrk when installed, a
    Python thread pool otherwise (which then measures the client as much as the server)."""
    wrk = shutil.which("wrk")
    if wrk:
        command = [wrk, "-t", "2", "-c", str(connections), "-d", f"{seconds:g}s"]
        for name, value in headers.items():
            if name.lower() in {"cookie", "authorization"}:
                command += ["-H", f"{name}: {value}"]
        output = subprocess.run(command + [url], capture_output=True, text=True,
                                check=True).stdout
        if "Non-2xx" in output:
            raise SystemExit(f"wrk got errors on {url}:\n{output}")
        return float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])

    deadline = time.monotonic() + seconds

    def client(_):
        done = 0
        with requests.Session() as session:
            session.headers.update(headers)
            while time.monotonic() < deadline:
                session.get(url).raise_for_status()
                done += 1
        return done

    with ThreadPoolExecutor(connections) as pool:
        return sum(pool.map(client, range(connections))) / seconds


def format_table(rows: list[dict]) -> str:
    lines = [
        "| page | as | server p50 | server p95 | of which SQL p50 | client p50 | client p95 "
        "| queries | req/s sequential | req/s concurrent |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        concurrent = "–" if r["concurrent_rps"] is None else f"{r['concurrent_rps']:.0f}"
        flag = "" if r["status"] == 200 else f" (HTTP {r['status']})"
        lines.append(
            f"| {r['page']}{flag} | {r['as']} | {r['server_median_ms']:.1f} ms "
            f"| **{r['server_p95_ms']:.1f} ms** | {r['db_median_ms']:.1f} ms "
            f"| {r['client_median_ms']:.1f} ms | {r['client_p95_ms']:.1f} ms | {r['queries']} "
            f"| {r['sequential_rps']:.0f} | {concurrent} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pages", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="the seeded bench database")
    parser.add_argument("--requests", type=int, default=50, help="measured requests per page")
    parser.add_argument("--warmup", type=int, default=5, help="requests before measuring")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--connections", type=int, default=8,
                        help="concurrent connections for the throughput (0: skip it)")
    parser.add_argument("--seconds", type=float, default=5, help="duration of each wrk run")
    parser.add_argument("--only", help="measure only the pages whose name contains this")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)

    targets = find_targets(args.database_url)
    print(f"data: {targets.counts}; call {targets.call_id}, dossier {targets.application_id}, "
          f"committee session {targets.session_id}")
    print(f"as: staff {targets.staff}, collectivité {targets.applicant}, "
          f"expert {targets.expert}, reviewer {targets.reviewer}")
    server = start_gunicorn(args.database_url, workers=args.workers,
                            worker_class=args.worker_class, threads=args.threads)
    try:
        sessions = {
            "anonymous": requests.Session(),
            "staff": sign_in(server.base, targets.staff),
            "applicant": sign_in(server.base, targets.applicant),
            "expert": sign_in(server.base, targets.expert),
            "reviewer": sign_in(server.base, targets.reviewer),
            "api": requests.Session(),
        }
        sessions["api"].headers["Authorization"] = f"Bearer {targets.token}"
        rows = []
        for page in key_pages(targets):
            if args.only and args.only not in page.name:
                continue
            session = sessions[page.who]
            result = measure(session, server.base, page, warmup=args.warmup,
                             count=args.requests)
            if args.connections and result.status == 200:
                result.concurrent_rps = concurrent_rps(
                    server.base + page.path, headers_of(session),
                    connections=args.connections, seconds=args.seconds)
            row = result.row()
            rows.append(row)
            print(f"  {row['page']:<40} server p95 {row['server_p95_ms']:7.1f} ms  "
                  f"queries {row['queries']:>5}  HTTP {row['status']}", flush=True)
    finally:
        server.stop()
        delete_token(args.database_url, targets.token_id)
    print()
    print(f"gunicorn: {args.workers} {args.worker_class} workers × {args.threads} threads; "
          f"{args.requests} requests per page after {args.warmup} of warm-up; concurrent: "
          f"{'wrk' if shutil.which('wrk') else 'Python threads'}, {args.connections} "
          f"connections, {args.seconds:g} s")
    print(format_table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps({"targets": targets.counts, "rows": rows},
                                              indent=2))
    return 0
