"""The national-scale data set of issue 9: CUF's network and the French local authorities it
could reach, filing dossiers year after year over 20 calls.

    .venv/bin/python -m bench.seed --database-url URL [--scale 1.0] [--seed 1]

Builds the schema with the migrations on an EMPTY database (it refuses any other), then fills it
with bulk inserts (SQLAlchemy Core, batches of a few thousand rows; on PostgreSQL psycopg 3 sends
them as multi-row inserts), a progress bar per table, and prints the rows and seconds per table.
Deterministic for a given ``--seed``. The dossiers' states follow the workflow: each dossier has
the chained audit entries of the events that led it there (``flask --app dcol audit verify``
passes), and the rows its history implies (reviews, decisions, missions, agreements, payments).
Every account's password is ``BENCH_PASSWORD``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator

import sqlalchemy as sa

from bench.seed import data as sd
from bench.seed.plan import Plan, build_plan
from bench.seed.rows import TABLE_ROWS

BATCH = 5_000


def create_seed_app(database_url: str):
    """The app on ``database_url`` (a throwaway instance folder: nothing else is read)."""
    from dcol import create_app

    return create_app({
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": tempfile.mkdtemp(prefix="dcol-bench-seed-"),
        "SECRET_KEY": "bench-seed-not-a-secret",
    })


class NotEmpty(RuntimeError):
    """The target database already holds tables: the seed never writes over data."""


def build_schema(database_url: str) -> None:
    """Refuse a database that holds any table, then migrate it to head (``flask db upgrade``)."""
    from flask_migrate import upgrade

    from dcol.extensions import db

    app = create_seed_app(database_url)
    with app.app_context():
        tables = sa.inspect(db.engine).get_table_names()
        if tables:
            raise NotEmpty(
                f"the database is not empty ({len(tables)} tables, e.g. {sorted(tables)[:3]}): "
                "the seed only fills a fresh database"
            )
        upgrade()
        db.engine.dispose()


def insert(connection: sa.Connection, table: sa.Table, rows: Iterable[dict], total: int | None,
           progress: bool) -> int:
    """Insert ``rows`` in batches; return how many."""
    from tqdm import tqdm

    count, batch = 0, []
    with tqdm(total=total, desc=f"{table.name:<26}", unit=" rows", disable=not progress,
              leave=True, mininterval=0.5) as bar:
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH:
                connection.execute(table.insert(), batch)
                count += len(batch)
                bar.update(len(batch))
                batch = []
        if batch:
            connection.execute(table.insert(), batch)
            count += len(batch)
            bar.update(len(batch))
    return count


def fill(database_url: str, plan: Plan, *, progress: bool = True) -> list[tuple[str, int, float]]:
    """Insert every table of ``plan``, in dependency order; return (table, rows, seconds)."""
    from dcol.models import Base

    engine = sa.create_engine(_normalised(database_url))
    tables = Base.metadata.tables
    report = []
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "sqlite":
                connection.exec_driver_sql("PRAGMA foreign_keys = ON")
            for label, table_name, rows_of in TABLE_ROWS:
                started = time.perf_counter()
                rows: Iterator[dict] = rows_of(plan)
                total = plan.expected.get(label)
                count = insert(connection, tables[table_name], rows, total, progress)
                report.append((label, count, time.perf_counter() - started))
            if engine.dialect.name == "postgresql":
                _advance_sequences(connection, tables.values())
                connection.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()
    return report


def _normalised(url: str) -> str:
    from dcol.config import normalise_database_url

    return normalise_database_url(url)


def _advance_sequences(connection: sa.Connection, tables: Iterable[sa.Table]) -> None:
    """Rows were inserted with their ids: move each id sequence past them for the app's inserts."""
    for table in tables:
        if "id" not in table.c or not table.c.id.primary_key:
            continue
        connection.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
        )


def seed(database_url: str, *, scale: float = 1.0, seed: int = 1,
         progress: bool = True) -> list[tuple[str, int, float]]:
    """Build the schema on the empty database at ``database_url`` and fill it; return the rows
    and seconds per table (the first lines: the schema and the plan)."""
    started = time.perf_counter()
    build_schema(database_url)
    schema_seconds = time.perf_counter() - started
    started = time.perf_counter()
    plan = build_plan(scale=scale, seed=seed)
    plan_seconds = time.perf_counter() - started
    report = fill(database_url, plan, progress=progress)
    return [("(schema: migrations)", 0, schema_seconds), ("(plan, in memory)", 0, plan_seconds),
            *report]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.seed", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True,
                        help="an EMPTY database, e.g. postgresql+psycopg://postgres@127.0.0.1/dcol_bench")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="1.0: 36,000 organisations, 100,000 dossiers (default)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error("--scale must be positive")
    started = time.perf_counter()
    try:
        report = seed(args.database_url, scale=args.scale, seed=args.seed,
                      progress=not args.quiet)
    except NotEmpty as error:
        print(f"bench.seed: {error}", file=sys.stderr)
        return 2
    total = time.perf_counter() - started
    print(f"\n{'table':<28}{'rows':>12}{'seconds':>10}")
    for label, count, seconds in report:
        print(f"{label:<28}{count:>12,}{seconds:>10.1f}")
    print(f"{'total':<28}{sum(c for _, c, _ in report):>12,}{total:>10.1f}")
    print(f"\nEvery account's password: {sd.BENCH_PASSWORD}")
    return 0

