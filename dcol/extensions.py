"""Flask extensions, created once and bound to the app in ``create_app``."""

import sqlite3

import sqlalchemy as sa
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from dcol.models.base import Base

# Models derive from our own typed Base; Flask-SQLAlchemy manages engines and the session.
db = SQLAlchemy(metadata=Base.metadata)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


@sa.event.listens_for(sa.engine.Engine, "connect")
def _sqlite_foreign_keys(dbapi_connection, connection_record):
    """SQLite enforces foreign keys only when asked, per connection."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def savepoint():
    """``db.session.begin_nested()``, safe on SQLite too.

    pysqlite (before Python 3.12) sends BEGIN only before the first write: a savepoint opened
    before any write would be the transaction itself, and releasing it would commit everything,
    out of the caller's hands. The transaction is begun first, so that the caller's rollback
    still undoes what happened inside the savepoint."""
    connection = db.session.connection()
    raw = connection.connection.driver_connection
    if isinstance(raw, sqlite3.Connection) and not raw.in_transaction:
        connection.exec_driver_sql("BEGIN")
    return db.session.begin_nested()
