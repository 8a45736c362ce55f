"""`clientele` in-process: migrate, seed, token, grant, export-schema."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import jwt
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

import models
from graph.cli import main
from graph.schema import schema_sdl
from models.accounts.tables import RoleAssignment, User, Workgroup
from models.db import make_engine
from models.migrate import current_revision, head_revision
from models.settings import get_settings
from tests.conftest import POSTGRES_ADMIN_URL, TEST_SECRET, World

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "schema.graphql"
ME = "{ me { email roles { role workgroup { name } } } customers { totalCount } }"


@contextmanager
def empty_database(config: pytest.Config, tmp_path: Path) -> Iterator[str]:
    """The URL of a database without any schema, on the backend the suite runs on."""
    if config.getoption("--db") == "sqlite":
        yield f"sqlite:///{tmp_path / f'empty-{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"clientele_empty_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def cli_env(monkeypatch, tmp_path):
    """A clean CLIENTELE_* environment in a directory without a .env file; returns a function
    that points the CLI at a database."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("CLIENTELE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CLIENTELE_JWT_SECRET", TEST_SECRET)

    def use(database_url: str) -> None:
        monkeypatch.setenv("CLIENTELE_DATABASE_URL", database_url)
        get_settings.cache_clear()

    get_settings.cache_clear()
    yield use
    get_settings.cache_clear()


@pytest.fixture
def empty_url(request, tmp_path) -> Iterator[str]:
    with empty_database(request.config, tmp_path) as url:
        yield url


def row_counts(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in models.metadata.sorted_tables
        }


# ------------------------------------------------------------------ migrate and seed


def test_migrate_brings_an_empty_database_to_the_latest_revision(cli_env, empty_url, capsys):
    # given: a database without a schema
    cli_env(empty_url)
    engine = make_engine(empty_url)
    assert current_revision(engine) is None

    # when
    code = main(["migrate"])

    # then: at head, and it says so
    assert code == 0
    assert current_revision(engine) == head_revision()
    assert f"revision {head_revision()}" in capsys.readouterr().out

    # and: a second run changes nothing and still succeeds
    assert main(["migrate"]) == 0
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_seed_refuses_an_unmigrated_database(cli_env, empty_url, capsys):
    # given
    cli_env(empty_url)

    # when
    code = main(["seed", "--demo"])

    # then: a non-zero exit that says what to do
    assert code != 0
    assert "clientele migrate" in capsys.readouterr().err


def test_seed_without_demo_does_nothing(cli_env, database_url, engine, capsys):
    # given
    cli_env(database_url)

    # when
    code = main(["seed"])

    # then
    assert code != 0
    assert "--demo" in capsys.readouterr().err
    assert sum(row_counts(engine).values()) == 0


def test_seed_demo_twice_loads_once(cli_env, database_url, engine, capsys):
    # given: an empty, migrated database
    cli_env(database_url)

    # when: the demo data is loaded twice
    first_code = main(["seed", "--demo"])
    first_out = capsys.readouterr().out
    after_first = row_counts(engine)
    second_code = main(["seed", "--demo"])
    second_out = capsys.readouterr().out

    # then: the first loads it, the second is a no-op with the very same counts
    assert (first_code, second_code) == (0, 0)
    assert "loaded" in first_out
    assert "nothing changed" in second_out
    assert after_first["customer"] > 0
    assert after_first["workgroup"] == 2
    assert row_counts(engine) == after_first


# ------------------------------------------------------------------ token


def test_token_prints_a_jwt_that_authenticates(cli_env, database_url, client, world, capsys):
    # given
    cli_env(database_url)

    # when
    code = main(["token", World.email("admin")])
    token = capsys.readouterr().out.strip()

    # then: a signed HS256 token for that address, which the service accepts
    assert code == 0
    claims = jwt.decode(token, TEST_SECRET, algorithms=["HS256"])
    assert claims["email"] == World.email("admin")
    response = client.post(
        "/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert response.json()["data"]["me"]["email"] == World.email("admin")
    assert response.json()["data"]["customers"]["totalCount"] == 3


def test_token_ttl_sets_the_expiry(cli_env, database_url, capsys):
    # given
    cli_env(database_url)

    # when
    assert main(["token", "someone@cli.example", "--ttl", "90"]) == 0
    token = capsys.readouterr().out.strip()

    # then
    claims = jwt.decode(token, TEST_SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 90


# ------------------------------------------------------------------ grant


def test_grant_creates_the_user_and_the_role_in_a_workgroup(
    cli_env, database_url, client, world, session, capsys
):
    # given: an address that is not a user yet
    cli_env(database_url)
    email = "New.Seller@Cli.example"

    # when
    code = main(["grant", email, "sales_agent", "--workgroup", "Home"])

    # then: the user exists (lower-cased) with the role in Home only
    assert code == 0
    assert "Home" in capsys.readouterr().out
    user = session.execute(select(User).where(User.email == email.lower())).scalar_one()
    held = session.execute(
        select(RoleAssignment.role, RoleAssignment.workgroup_id).where(
            RoleAssignment.user_id == user.id
        )
    ).all()
    assert held == [("sales_agent", world.home.id)]

    # and: on sign-in they act as a sales agent of Home
    token = main_token(email, capsys)
    body = client.post(
        "/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert body["data"]["me"]["roles"] == [{"role": "SALES_AGENT", "workgroup": {"name": "Home"}}]
    assert body["data"]["customers"]["totalCount"] == 3


def test_grant_star_gives_a_global_role(cli_env, database_url, client, world, session, capsys):
    # given
    cli_env(database_url)
    email = "boss@cli.example"

    # when
    code = main(["grant", email, "admin", "--workgroup", "*"])

    # then: one role without a workgroup, which reaches every workgroup's customers
    assert code == 0
    assert "every workgroup" in capsys.readouterr().out
    user = session.execute(select(User).where(User.email == email)).scalar_one()
    held = session.execute(
        select(RoleAssignment.role, RoleAssignment.workgroup_id).where(
            RoleAssignment.user_id == user.id
        )
    ).all()
    assert held == [("admin", None)]
    token = main_token(email, capsys)
    body = client.post(
        "/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert body["data"]["me"]["roles"] == [{"role": "ADMIN", "workgroup": None}]
    assert body["data"]["customers"]["totalCount"] == 5


def test_grant_twice_keeps_one_role(cli_env, database_url, world, session, capsys):
    # given
    cli_env(database_url)

    # when
    assert main(["grant", "twice@cli.example", "member", "--workgroup", "Away"]) == 0
    assert main(["grant", "TWICE@cli.example", "member", "--workgroup", "Away"]) == 0

    # then
    count = session.execute(
        select(func.count())
        .select_from(RoleAssignment)
        .join(User, User.id == RoleAssignment.user_id)
        .where(User.email == "twice@cli.example")
    ).scalar_one()
    assert count == 1


def test_grant_in_an_unknown_workgroup_fails_and_creates_nothing(
    cli_env, database_url, world, session, capsys
):
    # given
    cli_env(database_url)

    # when
    code = main(["grant", "ghost@cli.example", "admin", "--workgroup", "Atlantis"])

    # then
    assert code != 0
    assert "Atlantis" in capsys.readouterr().err
    assert session.execute(select(User).where(User.email == "ghost@cli.example")).first() is None
    assert session.execute(select(Workgroup).where(Workgroup.name == "Atlantis")).first() is None


def test_grant_refuses_an_unknown_role(cli_env, database_url, capsys):
    # given
    cli_env(database_url)

    # when / then: argparse rejects it with a usage error
    with pytest.raises(SystemExit) as exit_info:
        main(["grant", "x@cli.example", "emperor", "--workgroup", "*"])
    assert exit_info.value.code == 2
    assert "emperor" in capsys.readouterr().err


def main_token(email: str, capsys) -> str:
    assert main(["token", email]) == 0
    return capsys.readouterr().out.strip()


# ------------------------------------------------------------------ export-schema


def test_export_schema_writes_the_checked_in_sdl(cli_env, tmp_path, capsys):
    # given
    target = tmp_path / "exported.graphql"

    # when
    code = main(["export-schema", str(target)])

    # then: the same text as schema.graphql
    assert code == 0
    assert target.read_text() == SCHEMA_FILE.read_text()
    assert str(target) in capsys.readouterr().out


def test_export_schema_prints_the_sdl_without_a_path(cli_env, capsys):
    # when
    code = main(["export-schema"])

    # then
    assert code == 0
    assert capsys.readouterr().out == schema_sdl() == SCHEMA_FILE.read_text()
