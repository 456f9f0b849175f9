"""Load test of issue 9: 50 concurrent users (collectivités, reviewers, experts) for 2 minutes.

    .venv/bin/python -m bench.load --database-url URL [--users 50] [--minutes 2]

Picks the accounts in the data (collectivité members with dossiers, reviewers with reviews,
experts with missions), starts gunicorn on a loopback port (as ``bench.pages`` does, without
the measurement headers), runs ``bench/locustfile.py`` headless for the given time (locust stops
by itself: ``--run-time``), then prints the requests, the error count and the latency
percentiles of every path and in total, from locust's CSV.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.pages import PASSWORDS, ROOT, start_gunicorn


def find_accounts(database_url: str, per_role: int) -> dict:
    import sqlalchemy as sa

    from dcol import create_app
    from dcol.extensions import db
    from dcol.models import Application, Mission, Review, User

    app = create_app({"DATABASE_URL": database_url,
                      "INSTANCE_PATH": tempfile.mkdtemp(prefix="dcol-bench-load-")})
    with app.app_context():
        def emails(query) -> list[str]:
            return list(db.session.scalars(query.limit(per_role)))

        busy_organisations = (
            sa.select(Application.organisation_id).group_by(Application.organisation_id)
            .having(sa.func.count() >= 2).scalar_subquery())
        accounts = {
            "applicant": emails(
                sa.select(User.email).where(User.organisation_id.in_(busy_organisations),
                                            User.is_enabled.is_(True)).order_by(User.id)),
            "reviewer": emails(
                sa.select(User.email).where(
                    User.id.in_(sa.select(Review.reviewer_id)), User.is_enabled.is_(True))
                .order_by(User.id)),
            "expert": emails(
                sa.select(User.email).where(
                    User.expert_id.in_(sa.select(Mission.expert_id)), User.is_enabled.is_(True))
                .order_by(User.id)),
        }
    missing = [role for role, found in accounts.items() if not found]
    if missing:
        raise SystemExit(f"no account for {missing}: seed the database first")
    return accounts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--minutes", type=float, default=2)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--password", default=PASSWORDS[0])
    parser.add_argument("--classes", nargs="*", default=[],
                        help="only these users of the locustfile (Collectivite, Reviewer, Expert)")
    args = parser.parse_args(argv)

    accounts = find_accounts(args.database_url, per_role=args.users)
    accounts["password"] = args.password
    print({role: len(found) for role, found in accounts.items() if role != "password"},
          "accounts per role")
    work = Path(tempfile.mkdtemp(prefix="dcol-bench-load-"))
    (work / "accounts.json").write_text(json.dumps(accounts))
    server = start_gunicorn(args.database_url, workers=args.workers,
                            worker_class=args.worker_class, threads=args.threads,
                            instrument=False)
    try:
        command = [
            str(Path(sys.executable).with_name("locust")), "-f", str(ROOT / "bench/locustfile.py"),
            "--headless", "--users", str(args.users), "--spawn-rate", str(args.spawn_rate),
            "--run-time", f"{int(args.minutes * 60)}s", "--stop-timeout", "10",
            "--host", server.base, "--csv", str(work / "load"), "--only-summary",
            "--loglevel", "WARNING", *args.classes,
        ]
        env = dict(os.environ, BENCH_ACCOUNTS=str(work / "accounts.json"))
        completed = subprocess.run(command, cwd=ROOT, env=env,
                                   timeout=args.minutes * 60 + 120)
    finally:
        server.stop()
    with open(work / "load_stats.csv") as handle:
        rows = list(csv.DictReader(handle))
    print()
    print(f"{args.users} users ({' '.join(args.classes) or 'all roles'}), {args.minutes:g} min, gunicorn {args.workers} "
          f"{args.worker_class} workers × {args.threads} threads")
    print("| path | requests | errors | p50 | p95 | p99 | max | req/s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        name = f"{row['Type']} {row['Name']}".strip() if row["Name"] != "Aggregated" else \
            "**all**"
        print(f"| {name} | {row['Request Count']} | {row['Failure Count']} | {row['50%']} ms "
              f"| {row['95%']} ms | {row['99%']} ms | {float(row['Max Response Time']):.0f} ms "
              f"| {float(row['Requests/s']):.1f} |")
    failures = sum(int(row["Failure Count"]) for row in rows if row["Name"] == "Aggregated")
    return 1 if failures or completed.returncode not in (0, 1) else 0


if __name__ == "__main__":
    sys.exit(main())
