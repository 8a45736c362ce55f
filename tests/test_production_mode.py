"""Production mode: no introspection, no suggestions, no GraphiQL, masked errors, a real secret.
Plus the development-mode counterparts that show the difference is the mode's doing."""

import logging

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from graph.app import ConfigurationError, create_app
from graph.auth import mint_token
from models.access.roles import grant_role
from models.core.enums import Role
from models.db import make_engine, session_scope
from models.migrate import upgrade
from models.settings import DEVELOPMENT_JWT_SECRET, Settings
from tests.conftest import World
from tests.test_cli import empty_database

PRODUCTION_SECRET = "production-secret-" + "p" * 40
INTROSPECT_SCHEMA = "{ __schema { types { name } } }"
INTROSPECT_TYPE = '{ __type(name: "Customer") { fields { name } } }'
TYPENAME = "{ __typename }"
FIELD_TYPO = "{ me { emial } }"
ENUM_TYPO = "{ customers(status: ACTIV) { totalCount } }"
CUSTOMERS_BY_STATUS = "query($s: CustomerStatus) { customers(status: $s) { totalCount } }"
UPDATE = """
mutation($id: ID!, $input: UpdateCustomerInput!) {
  updateCustomer(id: $id, input: $input) { errors { code } }
}
"""
ME = "{ me { email } }"
CUSTOMERS = "{ me { email } customers { totalCount } }"


def production_settings(database_url: str, **overrides) -> Settings:
    values = {"env": "production", "jwt_secret": PRODUCTION_SECRET, "database_url": database_url}
    return Settings(**{**values, **overrides})


@pytest.fixture
def prod_settings(database_url) -> Settings:
    return production_settings(database_url)


@pytest.fixture
def prod(prod_settings, engine) -> TestClient:
    with TestClient(create_app(prod_settings, engine=engine)) as client:
        yield client


def post(client, settings, query, variables=None, email=World.email("admin")):
    headers = {"Authorization": f"Bearer {mint_token(email, settings)}"}
    return client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )


def messages(response) -> list[str]:
    return [error["message"] for error in response.json()["errors"]]


# ------------------------------------------------------------------ introspection


@pytest.mark.parametrize("query", [INTROSPECT_SCHEMA, INTROSPECT_TYPE], ids=["schema", "type"])
def test_production_refuses_introspection(prod, prod_settings, query):
    # when
    response = post(prod, prod_settings, query)

    # then: refused before execution, nothing about the schema in the answer
    assert response.status_code == 400
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "introspection" in body["errors"][0]["message"]
    assert "companyName" not in response.text


def test_production_still_answers_typename(prod, prod_settings):
    # when: __typename is not introspection of the schema
    response = post(prod, prod_settings, TYPENAME)

    # then
    assert response.json() == {"data": {"__typename": "Query"}}


def test_development_allows_introspection(gql):
    # when
    body = gql(World.email("admin"), INTROSPECT_SCHEMA)

    # then
    names = {t["name"] for t in body["data"]["__schema"]["types"]}
    assert {"Customer", "Workgroup", "Query", "Mutation"} <= names


# ------------------------------------------------------------------ suggestions


TYPOS = {
    "field": (FIELD_TYPO, None),
    "enum literal": (ENUM_TYPO, None),
    "enum variable": (CUSTOMERS_BY_STATUS, {"s": "ACTIV"}),
    "input field variable": (UPDATE, {"id": "x", "input": {"compnyName": "Typo"}}),
}


@pytest.mark.parametrize(("query", "variables"), TYPOS.values(), ids=TYPOS.keys())
def test_production_makes_no_suggestions(prod, prod_settings, query, variables):
    # when: a name is misspelt
    response = post(prod, prod_settings, query, variables)

    # then: the error says what is wrong but suggests nothing
    assert response.status_code == 400
    text_ = " ".join(messages(response))
    assert text_
    assert "Did you mean" not in text_
    for hidden in ("'email'", "'ACTIVE'", "'companyName'", "'companySize'"):
        assert hidden not in text_


@pytest.mark.parametrize(("query", "variables"), TYPOS.values(), ids=TYPOS.keys())
def test_development_does_suggest(client, settings, query, variables):
    # when
    response = post(client, settings, query, variables)

    # then
    assert response.status_code == 400
    assert "Did you mean" in " ".join(messages(response))


# ------------------------------------------------------------------ GraphiQL


def test_production_serves_no_graphiql(prod):
    # when: a browser opens the endpoint
    response = prod.get("/graphql", headers={"Accept": "text/html,application/xhtml+xml"})

    # then: no HTML, a JSON refusal
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert "<html" not in response.text.lower()
    assert "graphiql" not in response.text.lower()


def test_development_serves_graphiql_to_a_browser(client):
    # when
    response = client.get("/graphql", headers={"Accept": "text/html,application/xhtml+xml"})

    # then
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text.lower()
    assert "graphiql" in response.text.lower()


# ------------------------------------------------------------------ masked errors


@pytest.fixture(scope="module")
def broken_url(request, tmp_path_factory):
    """A migrated database with a global admin, whose customer table has then been dropped."""
    with empty_database(request.config, tmp_path_factory.mktemp("broken")) as url:
        broken = make_engine(url)
        upgrade(broken)
        with session_scope(broken) as session:
            grant_role(
                session=session,
                email=World.GLOBAL_ADMIN,
                role=Role.ADMIN,
                workgroup_id=None,
                actor_id=None,
            )
        cascade = " CASCADE" if broken.dialect.name == "postgresql" else ""
        with broken.begin() as connection:
            connection.execute(text(f"DROP TABLE customer{cascade}"))
        yield url, broken
        broken.dispose()


def test_production_masks_an_unexpected_error(broken_url, caplog):
    # given: a production app on a database that lost its customer table
    url, broken = broken_url
    settings = production_settings(url)
    client = TestClient(create_app(settings, engine=broken))

    # when: the customers are read
    with caplog.at_level(logging.ERROR, logger="clientele"):
        response = post(client, settings, CUSTOMERS, email=World.GLOBAL_ADMIN)

    # then: a generic error at the field's path, with the request id
    request_id = response.headers["x-request-id"]
    errors = response.json()["errors"]
    assert [e["message"] for e in errors] == ["Unexpected error."]
    assert errors[0]["path"] == ["customers"]
    assert errors[0]["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    assert "table" not in response.text.lower()

    # and: the details are in the log, under the same request id
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert logged
    assert any(r.exc_info and "customer" in str(r.exc_info[1]).lower() for r in logged)


def test_development_shows_the_unexpected_error(broken_url):
    # given: the same broken database, in development mode
    url, broken = broken_url
    settings = Settings(env="development", jwt_secret=PRODUCTION_SECRET, database_url=url)
    client = TestClient(create_app(settings, engine=broken))

    # when
    response = post(client, settings, CUSTOMERS, email=World.GLOBAL_ADMIN)

    # then: the real message, still coded as an internal error
    error = response.json()["errors"][0]
    assert error["message"] != "Unexpected error."
    assert "customer" in error["message"].lower()
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"


NO_NEW_USERS = {
    "sqlite": [
        "CREATE TRIGGER no_new_users BEFORE INSERT ON app_user "
        "BEGIN SELECT RAISE(ABORT, 'no new users'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION no_new_users() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN RAISE EXCEPTION 'no new users'; END $$",
        "CREATE TRIGGER no_new_users BEFORE INSERT ON app_user "
        "FOR EACH ROW EXECUTE FUNCTION no_new_users()",
    ],
}


def test_production_masks_an_error_before_execution(broken_url, caplog):
    # given: a database that refuses to store new users, so a first sign-in fails
    url, broken = broken_url
    with broken.begin() as connection:
        for statement in NO_NEW_USERS[broken.dialect.name]:
            connection.execute(text(statement))
    settings = production_settings(url)
    client = TestClient(create_app(settings, engine=broken), raise_server_exceptions=False)

    # when: somebody new signs in
    with caplog.at_level(logging.ERROR, logger="clientele"):
        response = post(client, settings, ME, email="newcomer@prod.example")

    # then: a JSON 500 with the generic message and the request id, the cause only in the log
    request_id = response.headers["x-request-id"]
    assert response.status_code == 500
    assert response.json() == {
        "errors": [
            {
                "message": "Unexpected error.",
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
            }
        ]
    }
    assert any(request_id in r.getMessage() for r in caplog.records)


# ------------------------------------------------------------------ start-up checks


@pytest.mark.parametrize(
    "secret",
    [DEVELOPMENT_JWT_SECRET, "", "short-secret", "s" * 31],
    ids=["default", "empty", "short", "31 characters"],
)
def test_production_refuses_to_start_without_a_real_secret(database_url, engine, secret):
    # given
    settings = production_settings(database_url, jwt_secret=secret)

    # when / then
    with pytest.raises(ConfigurationError, match="CLIENTELE_JWT_SECRET"):
        create_app(settings, engine=engine)


def test_production_starts_with_a_32_character_secret(database_url, engine):
    # given: the shortest secret allowed
    settings = production_settings(database_url, jwt_secret="s" * 32)

    # when
    client = TestClient(create_app(settings, engine=engine))

    # then: it serves
    assert post(client, settings, ME).json() == {"data": {"me": {"email": World.email("admin")}}}


def test_development_accepts_the_default_secret(database_url, engine):
    # given
    settings = Settings(env="development", database_url=database_url)

    # when
    app = create_app(settings, engine=engine)

    # then
    assert app.state.endpoint.settings.jwt_secret == DEVELOPMENT_JWT_SECRET


@pytest.fixture(scope="module")
def empty_url(request, tmp_path_factory):
    with empty_database(request.config, tmp_path_factory.mktemp("empty")) as url:
        yield url


@pytest.mark.parametrize("env", ["development", "production"])
def test_an_unmigrated_database_is_refused(empty_url, env):
    # given: a database without the schema
    settings = production_settings(empty_url, env=env)
    empty = make_engine(empty_url)

    # when / then: the message says what to run
    with pytest.raises(ConfigurationError, match="clientele migrate"):
        create_app(settings, engine=empty)
    empty.dispose()
