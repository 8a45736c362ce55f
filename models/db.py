"""Engine, sessions and the column types shared by every table."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session

# As many connections as request threads (Starlette runs sync work on anyio's default 40),
# so a burst of requests waits for a thread, not for a connection.
POOL_SIZE = 40


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every database (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_engine(url: str, **kwargs) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        if "poolclass" not in kwargs:
            kwargs.setdefault("pool_size", POOL_SIZE)
            kwargs.setdefault("max_overflow", 0)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # JIT compilation costs more than it saves on this service's short queries (measured:
    # a member's case list took 190-430 ms with it, 39-62 ms without).
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", POOL_SIZE // 2)
        kwargs.setdefault("max_overflow", POOL_SIZE // 2)
    return create_engine(url, pool_pre_ping=True, connect_args={"options": "-c jit=off"}, **kwargs)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# Reads of tenant tables are narrowed to the request's viewer by the session
# (policies.restriction). A read that must see every row says so, and why, with this
# execution option; the session then leaves it alone.
UNRESTRICTED = "clientele_unrestricted"
RESTRICTED = "clientele_restricted"  # set on reads the viewer's restriction was added to


def unrestricted(statement, why: str):
    """`statement`, marked to read every row whatever the viewer (`why` says for what)."""
    return statement.execution_options(**{UNRESTRICTED: why})


def system_session(engine: Engine, why: str, **kwargs) -> Session:
    """A session for work that is nobody's request (the mail sender, import runs, the command
    line): it reads every row, and says why."""
    session = Session(engine, **kwargs)
    session.info[UNRESTRICTED] = why
    return session
