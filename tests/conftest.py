"""Shared fixtures: a migrated database per run (SQLite, or PostgreSQL with --db postgresql),
emptied after every test; an in-process app; per-role viewers; small factories."""

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session
from starlette.testclient import TestClient

import models
from graph.app import create_app
from graph.auth import mint_token
from graph.customers.queries import forget_recorded_views
from models.access.roles import grant_role
from models.accounts.tables import Workgroup
from models.accounts.users import get_or_create_user
from models.core.enums import Role
from models.customers.operations import add_customer
from models.customers.tables import Customer
from models.db import make_engine
from models.migrate import upgrade
from models.settings import Settings
from models.workgroups.operations import create_workgroup
from policies import Authorizer
from tests import restriction_guard, servers

POSTGRES_ADMIN_URL = os.environ.get(
    "CLIENTELE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TEST_SECRET = "test-secret-" + "x" * 40
ROLES = [role.value for role in Role]


def pytest_addoption(parser):
    parser.addoption(
        "--db",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="database the suite runs on (default: sqlite)",
    )


def _postgres_problem() -> str | None:
    try:
        engine = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # any failure to connect means: no PostgreSQL here
        return f"{type(error).__name__}: {str(error).splitlines()[0]}"
    return None


def pytest_collection_modifyitems(config, items):
    if config.getoption("--db") != "postgresql":
        return
    problem = _postgres_problem()
    if problem is None:
        return
    if os.environ.get("CI"):
        raise pytest.UsageError(f"CI needs PostgreSQL at {POSTGRES_ADMIN_URL}: {problem}")
    reason = f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}; PostgreSQL leg skipped"
    config.issue_config_time_warning(pytest.PytestWarning(reason), stacklevel=2)
    for item in items:
        item.add_marker(pytest.mark.skip(reason=reason))


def pytest_report_header(config):
    return f"database: {config.getoption('--db')}"


# ------------------------------------------------------------------ database


@pytest.fixture(scope="session")
def database_url(request, tmp_path_factory) -> Iterator[str]:
    if request.config.getoption("--db") == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'clientele.db'}"
        return
    name = f"clientele_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


_writes = [0]  # statements that may have changed rows, through any engine of this process


def _count_writes(_conn, _cursor, statement, *_args) -> None:
    if not statement.lstrip()[:6].upper().startswith("SELECT"):
        _writes[0] += 1


event.listen(Engine, "before_cursor_execute", _count_writes)
restriction_guard.install()


@pytest.fixture(autouse=True)
def _every_read_restricted() -> Iterator[None]:
    """Fails a test during which a request read a tenant table without the restriction."""
    before = len(restriction_guard.unguarded)
    yield
    found = restriction_guard.unguarded[before:]
    assert not found, "reads of tenant tables without the viewer's restriction:\n" + "\n".join(
        found
    )


@pytest.fixture(scope="session")
def engine(database_url) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def _empty_tables(request) -> Iterator[None]:
    writes_before, started_before = _writes[0], servers.started
    yield
    if "engine" not in request.fixturenames:
        return
    # A test that wrote nothing (in this process or through a server it started) leaves
    # nothing to empty; skipping spares a DELETE of every table per read-only test.
    if _writes[0] == writes_before and servers.started == started_before:
        return
    empty_tables(request.getfixturevalue("engine"))


def empty_tables(engine: Engine) -> None:
    """Every row gone and ids counting from 1 again. DELETE, dependents first: on tables this
    small it takes PostgreSQL ~6 ms where TRUNCATE takes ~120 ms (new files for each table)."""
    forget_recorded_views()  # this process's memory of rows that are about to go
    with engine.begin() as connection:
        for table in reversed(models.metadata.sorted_tables):
            connection.execute(text(f"DELETE FROM {table.name}"))
        if engine.dialect.name == "postgresql":
            connection.execute(
                text(
                    "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass,"
                    " start_value, false) FROM pg_sequences WHERE schemaname = current_schema()"
                )
            )


def table_rows(engine: Engine, tables) -> dict[str, list[tuple]]:
    """Every row of `tables`, by primary key, read on a connection of its own (nothing a session
    caches hides a change): compare two of these to show that a refused change changed nothing."""
    found = {}
    with engine.connect() as connection:
        for name in tables:
            table = models.metadata.tables[name]
            rows = connection.execute(select(table).order_by(*table.primary_key.columns))
            found[name] = [tuple(row) for row in rows]
    return found


@pytest.fixture
def session(engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


# ------------------------------------------------------------------ app


@pytest.fixture
def settings(database_url) -> Settings:
    return Settings(database_url=database_url, jwt_secret=TEST_SECRET, env="development")


@pytest.fixture
def authorizer() -> Authorizer:
    return Authorizer.from_files()


@pytest.fixture
def app(settings, engine, authorizer):
    return create_app(settings, engine=engine, authorizer=authorizer)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def without_request_ids(body: Any) -> Any:
    """The body with every `requestId` (new for each request) taken out."""
    if isinstance(body, dict):
        return {k: without_request_ids(v) for k, v in body.items() if k != "requestId"}
    if isinstance(body, list):
        return [without_request_ids(v) for v in body]
    return body


def token_for(email: str, settings: Settings) -> str:
    return mint_token(email, settings)


@dataclass
class GraphQLClient:
    http: TestClient
    settings: Settings

    def post(self, email: str | None, query: str, variables: dict | None = None, **kwargs):
        headers = kwargs.pop("headers", {})
        if email is not None:
            headers["Authorization"] = f"Bearer {token_for(email, self.settings)}"
        return self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    def __call__(self, email: str | None, query: str, variables: dict | None = None) -> dict:
        response = self.post(email, query, variables)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def gql(client, settings) -> GraphQLClient:
    """gql(email, query, variables) -> the JSON body of a 200 response."""
    return GraphQLClient(client, settings)


# ------------------------------------------------------------------ factories and a world


def make_workgroup(session: Session, name: str) -> Workgroup:
    workgroup = create_workgroup(session=session, name=name, actor_id=None)
    session.commit()
    return workgroup


def make_customer(session: Session, workgroup: Workgroup, **values: Any) -> Customer:
    index = values.pop("index", None) or uuid.uuid4().hex[:8]
    defaults = {
        "company_name": f"Company {index}",
        "primary_domain": f"company-{index}.example",
    }
    customer = add_customer(
        session=session,
        workgroup_id=workgroup.id,  # type: ignore[arg-type]
        values={**defaults, **values},
        actor_id=None,
    )
    session.commit()
    return customer


def grant(session: Session, email: str, role: str, workgroup: Workgroup | None) -> None:
    grant_role(
        session=session,
        email=email,
        role=Role(role),
        workgroup_id=workgroup.id if workgroup else None,
        actor_id=None,
    )
    session.commit()


@dataclass
class World:
    """Two workgroups, one user per role in `home`, an admin of `away`, a global admin,
    a signed-in user without roles, and a few customers in each workgroup."""

    home: Workgroup
    away: Workgroup
    home_customers: list[Customer]
    away_customers: list[Customer]

    @staticmethod
    def email(role: str) -> str:
        return f"{role}@home.example"

    ADMIN_AWAY = "admin@away.example"
    GLOBAL_ADMIN = "root@clientele.example"
    NOBODY = "nobody@home.example"


@pytest.fixture
def world(session) -> World:
    home = make_workgroup(session, "Home")
    away = make_workgroup(session, "Away")
    for role in ROLES:
        grant(session, World.email(role), role, home)
    grant(session, World.ADMIN_AWAY, "admin", away)
    grant(session, World.GLOBAL_ADMIN, "admin", None)
    get_or_create_user(session=session, email=World.NOBODY)
    session.commit()
    home_customers = [
        make_customer(
            session,
            home,
            index=f"home{i}",
            company_name=f"Home Customer {i}",
            primary_location="DE",
            city="Berlin",
            rank=i,
            business_id=f"H-{i}",
            tags=["alpha"] if i % 2 == 0 else ["beta"],
        )
        for i in range(3)
    ]
    away_customers = [
        make_customer(
            session, away, index=f"away{i}", company_name=f"Away Customer {i}", rank=10 + i
        )
        for i in range(2)
    ]
    return World(home, away, home_customers, away_customers)
