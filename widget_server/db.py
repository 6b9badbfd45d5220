"""Database plumbing: declarative base, naming convention, engine and per-context session."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


_AFTER_COMMIT = "ridepledge.after_commit"


def schedule_after_commit(session: Session, task: str, *args: str) -> None:
    """Run `task(*args)` as a job once `session` commits (`Database.transaction` enqueues it);
    a rollback drops it. The same task with the same arguments is scheduled once."""
    pending = session.info.setdefault(_AFTER_COMMIT, [])
    if (task, args) not in pending:
        pending.append((task, args))


def unschedule_after_commit(session: Session, task: str, *args: str) -> None:
    """Take back `task(*args)` scheduled earlier in this transaction (nothing ran yet)."""
    pending = session.info.get(_AFTER_COMMIT, [])
    if (task, args) in pending:
        pending.remove((task, args))


def take_scheduled(session: Session) -> list[tuple[str, tuple]]:
    """The jobs scheduled so far, removed from the session."""
    return session.info.pop(_AFTER_COMMIT, [])


def discard_scheduled(session: Session) -> None:
    """Forget the jobs scheduled so far (the transaction rolled back)."""
    session.info.pop(_AFTER_COMMIT, None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 10,
    pool_timeout: int = 5,
    statement_timeout_ms: int = 0,
) -> Engine:
    """An engine for `url`. PostgreSQL gets a sized pool (per process: a gunicorn worker holds
    at most pool_size + max_overflow connections), a short wait for a free connection (a full
    pool answers 503 quickly instead of queueing requests) and a statement timeout, so one slow
    query cannot hold a connection for ever. SQLite gets WAL, a busy timeout and enforced
    foreign keys."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith("sqlite"):
        connect_args = {"connect_timeout": 5}
        if statement_timeout_ms:
            connect_args["options"] = f"-c statement_timeout={int(statement_timeout_ms)}"
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            pool_recycle=1800,
            connect_args=connect_args,
        )
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


class Database:
    """Owns the engine of an app and hands out one session per app context (request or job)."""

    def init_app(self, app: Flask) -> None:
        settings = app.config["SETTINGS"]
        app.extensions["ridepledge.engine"] = make_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout,
            statement_timeout_ms=settings.db_statement_timeout_ms,
        )
        app.teardown_appcontext(self._close_session)

    @property
    def engine(self) -> Engine:
        return current_app.extensions["ridepledge.engine"]

    @property
    def session(self) -> Session:
        """The session of the current app context; created on first use."""
        if "db_session" not in g:
            g.db_session = Session(bind=self.engine, expire_on_commit=False)
        return g.db_session

    @staticmethod
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    def end_reads(self) -> None:
        """End the transaction the request's reads so far began (authentication, lookups;
        nothing is pending), so that a slow outside call which follows (a DNS lookup) holds
        no connection, snapshot or lock."""
        self.session.commit()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Commit the current session on success, roll back on error: the edge of a unit of work.

        After the commit, the jobs the domain scheduled are enqueued. The data is saved by then,
        so a queue that cannot take a job (Redis down) is logged, not raised: the caller still
        answers success, and the periodic sweep finds the work in the database."""
        session = self.session
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            discard_scheduled(session)
            raise
        jobs = take_scheduled(session)
        if jobs:
            enqueue = current_app.extensions["ridepledge.enqueue"]
            for task, args in jobs:
                try:
                    enqueue(task, *args)
                except Exception:
                    # Committed already: failing the request now would make the caller retry
                    # work that is done. The queue (Redis) is only a doorbell; the minute sweep
                    # finds this work in the database and does it.
                    log.warning("could not queue %s%r; the sweep will do it", task, args)
