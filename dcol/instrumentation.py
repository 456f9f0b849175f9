"""Per-request measurements for benchmarks: SQL statements and server-side time.

Enabled only by configuration (``DCOL_INSTRUMENT=1`` in the environment, or the app config key
``DCOL_INSTRUMENT``); when it is off, ``init_app`` returns at once and nothing is installed.
When on, every response carries:

- ``Server-Timing: app;dur=<ms>, db;dur=<ms>``: the time spent in the application (from the
  WSGI call to the response's headers, so everything Flask and dcol do: sessions, login,
  queries, rendering), and, inside it, the time spent executing SQL;
- ``X-Query-Count: <n>``: the number of SQL statements sent to the database meanwhile.

A streamed response (exports) is measured up to its headers only. It also registers
``GET /_instrument/ping``, a bare endpoint (no database, no template) that gives the
framework's ceiling when served by the same gunicorn (``bench/pages``).
"""

from __future__ import annotations

import contextvars
from time import perf_counter

import sqlalchemy as sa

# The measurements of the request being served (None outside one); one per thread or task.
_current: contextvars.ContextVar[_Stats | None] = contextvars.ContextVar(
    "dcol_instrumentation", default=None
)


class _Stats:
    __slots__ = ("queries", "db_seconds", "statement_started")

    def __init__(self) -> None:
        self.queries = 0
        self.db_seconds = 0.0
        self.statement_started = 0.0


class InstrumentMiddleware:
    """WSGI middleware adding the measurements' headers to every response."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        stats = _Stats()
        token = _current.set(stats)
        started = perf_counter()

        def start_with_measurements(status, headers, exc_info=None):
            app_ms = (perf_counter() - started) * 1000
            headers.append(
                ("Server-Timing", f"app;dur={app_ms:.2f}, db;dur={stats.db_seconds * 1000:.2f}")
            )
            headers.append(("X-Query-Count", str(stats.queries)))
            return start_response(status, headers, exc_info)

        try:
            return self.wsgi_app(environ, start_with_measurements)
        finally:
            _current.reset(token)


def _before_execute(conn, cursor, statement, parameters, context, executemany):
    stats = _current.get()
    if stats is not None:
        # A request's statements run one after the other, in its own thread.
        stats.queries += 1
        stats.statement_started = perf_counter()


def _after_execute(conn, cursor, statement, parameters, context, executemany):
    stats = _current.get()
    if stats is not None:
        stats.db_seconds += perf_counter() - stats.statement_started


def init_app(app) -> None:
    """Install the measurements when ``DCOL_INSTRUMENT`` is set; otherwise do nothing."""
    if not app.config.get("DCOL_INSTRUMENT"):
        return
    from dcol.extensions import db

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", _before_execute)
    sa.event.listen(engine, "after_cursor_execute", _after_execute)
    app.wsgi_app = InstrumentMiddleware(app.wsgi_app)

    def ping():
        return "ok", 200, {"Content-Type": "text/plain"}

    app.add_url_rule("/_instrument/ping", "instrument_ping", ping, methods=["GET"])
