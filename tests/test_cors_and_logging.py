"""Browsers from the allowed origins only (CORS), and the request id on every log line."""

import io
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from graph import logs
from graph.app import ConfigurationError, create_app
from graph.auth import mint_token
from models.access.roles import grant_role
from models.core.enums import Role
from models.db import make_engine, session_scope
from models.migrate import upgrade
from models.settings import Settings
from tests.conftest import TEST_SECRET, World
from tests.servers import running_server
from tests.test_cli import empty_database

ROOT = Path(__file__).resolve().parent.parent
APP = "https://app.example"
DEV = "http://localhost:5173"
OTHER = "https://evil.example"
ME = "{ me { email } }"
ME_USER = "logs@home.example"
CUSTOMERS = "{ customers { totalCount } }"


def bearer(email: str, settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(email, settings)}"}


def preflight(client: TestClient, origin: str, method: str = "POST"):
    return client.options(
        "/graphql",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


@pytest.fixture
def cors_client(settings, engine):
    with TestClient(
        create_app(settings.model_copy(update={"cors_origins": [APP, DEV]}), engine=engine)
    ) as client:
        yield client


# ------------------------------------------------------------------ CORS


@pytest.mark.parametrize("origin", [APP, DEV])
def test_a_preflight_from_an_allowed_origin_is_answered(cors_client, origin):
    # when: the browser asks whether it may POST with a bearer token
    response = preflight(cors_client, origin)

    # then: yes, for that origin, without credentials mode, and with a request id
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == origin
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed_headers = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed_headers
    assert "content-type" in allowed_headers
    assert "access-control-allow-credentials" not in response.headers
    assert len(response.headers["x-request-id"]) == 32


def test_a_preflight_from_another_origin_gets_no_cors_headers(cors_client):
    # when
    response = preflight(cors_client, OTHER)

    # then: refused, and nothing that would let the browser go on
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


def test_a_preflight_for_another_method_is_refused(cors_client):
    # when: an allowed origin asks for DELETE
    response = preflight(cors_client, APP, method="DELETE")

    # then
    assert response.status_code == 400


def test_a_request_from_an_allowed_origin_may_read_the_answer(cors_client, settings):
    # when
    response = cors_client.post(
        "/graphql",
        json={"query": ME},
        headers={"Origin": APP, **bearer("spa@home.example", settings)},
    )

    # then: the answer, readable by that origin, its request id too
    assert response.json() == {"data": {"me": {"email": "spa@home.example"}}}
    assert response.headers["access-control-allow-origin"] == APP
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()
    assert "origin" in response.headers["vary"].lower()


def test_a_request_from_another_origin_gets_no_cors_headers(cors_client, settings):
    # when: a page elsewhere posts (CORS is not authentication: the token decides)
    response = cors_client.post(
        "/graphql",
        json={"query": ME},
        headers={"Origin": OTHER, **bearer("spa@home.example", settings)},
    )

    # then: the browser will not let that page read it
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_without_the_setting_no_origin_is_allowed(client, settings):
    # when: the default app sees a preflight and a request from a browser
    asked = preflight(client, APP)
    headers = {"Origin": APP, **bearer("x@home.example", settings)}
    sent = client.post("/graphql", json={"query": ME}, headers=headers)

    # then: no CORS headers at all
    assert asked.status_code == 405
    assert "access-control-allow-origin" not in asked.headers
    assert sent.status_code == 200
    assert "access-control-allow-origin" not in sent.headers


def test_origins_are_read_comma_separated_from_the_environment(monkeypatch):
    # given
    monkeypatch.setenv("CLIENTELE_CORS_ORIGINS", f"{APP}, {DEV},")

    # when
    settings = Settings(_env_file=None)

    # then
    assert settings.cors_origins == [APP, DEV]


@pytest.mark.parametrize(
    "origin",
    ["*", "https://app.example/", "app.example", "https://*.example", "ftp://app.example"],
    ids=["wildcard", "trailing slash", "no scheme", "wildcard host", "not http"],
)
def test_an_origin_that_is_not_one_refuses_to_start(settings, engine, origin):
    # when / then
    with pytest.raises(ConfigurationError, match="CLIENTELE_CORS_ORIGINS"):
        create_app(settings.model_copy(update={"cors_origins": [origin]}), engine=engine)


# ------------------------------------------------------------------ request ids in the log


@pytest.fixture(scope="module")
def broken(request, tmp_path_factory):
    """A migrated database with a global admin, whose customer table has then been dropped."""
    with empty_database(request.config, tmp_path_factory.mktemp("broken-log")) as url:
        engine = make_engine(url)
        upgrade(engine)
        with session_scope(engine) as session:
            grant_role(
                session=session,
                email=World.GLOBAL_ADMIN,
                role=Role.ADMIN,
                workgroup_id=None,
                actor_id=None,
            )
        cascade = " CASCADE" if engine.dialect.name == "postgresql" else ""
        with engine.begin() as connection:
            connection.execute(text(f"DROP TABLE customer{cascade}"))
        yield url, engine
        engine.dispose()


@pytest.fixture
def log_lines():
    """What the service's own line format prints for the `clientele` loggers."""
    stream = io.StringIO()
    handler = logs.handler(stream)
    logger = logging.getLogger("clientele")
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)


def test_the_log_of_an_unexpected_error_carries_the_responses_request_id(broken, caplog, log_lines):
    # given: a production app on a database that lost its customer table
    url, engine = broken
    settings = Settings(env="production", jwt_secret=TEST_SECRET, database_url=url)
    client = TestClient(create_app(settings, engine=engine))

    # when: two requests fail, one with an id of the client's, one with a fresh id
    with caplog.at_level(logging.ERROR, logger="clientele"):
        given = client.post(
            "/graphql",
            json={"query": CUSTOMERS},
            headers={"X-Request-ID": "client-id-1", **bearer(World.GLOBAL_ADMIN, settings)},
        )
        fresh = client.post(
            "/graphql", json={"query": CUSTOMERS}, headers=bearer(World.GLOBAL_ADMIN, settings)
        )

    # then: each error record, made in the worker thread that executed the operation,
    # carries the id its response was sent with
    ids = [given.headers["x-request-id"], fresh.headers["x-request-id"]]
    assert ids[0] == "client-id-1"
    assert [r.json()["errors"][0]["extensions"]["requestId"] for r in (given, fresh)] == ids
    records = [r for r in caplog.records if r.name.startswith("clientele")]
    assert [r.request_id for r in records] == ids
    assert all(r.exc_info for r in records)

    # and: the service's line format prints it on each record's first line
    first_lines = [line for line in log_lines.getvalue().splitlines() if " ERROR " in line]
    assert len(first_lines) == 2
    for line, request_id in zip(first_lines, ids, strict=True):
        assert re.match(rf"\S+ \S+ ERROR clientele\.\S+ \[{re.escape(request_id)}\] ", line)


def test_a_record_outside_any_request_says_so(caplog):
    # when
    with caplog.at_level(logging.INFO, logger="clientele"):
        logging.getLogger("clientele.test").info("between requests")

    # then
    assert [r.request_id for r in caplog.records] == ["-"]


def test_serve_logging_prints_the_request_id(tmp_path):
    # given: a fresh interpreter, configured as `clientele serve` is (no root handler)
    program = (
        "import logging\n"
        "from graph.logs import REQUEST_ID, configure_logging\n"
        "configure_logging('INFO')\n"
        "logging.getLogger('clientele.http').debug('not at INFO')\n"
        "logging.getLogger('clientele.http').info('outside')\n"
        "REQUEST_ID.set('abc-123')\n"
        "logging.getLogger('clientele.graphql').warning('inside')\n"
    )

    # when
    result = subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    # then: one line per record, each with the level, the logger and the request id
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert re.fullmatch(r"\S+ \S+ INFO clientele\.http \[-\] outside", lines[0])
    assert re.fullmatch(r"\S+ \S+ WARNING clientele\.graphql \[abc-123\] inside", lines[1])


@pytest.mark.e2e
def test_clientele_serve_logs_an_error_under_the_responses_request_id(broken):
    # given: `clientele serve` in production mode on the broken database
    url, _ = broken
    settings = Settings(jwt_secret=TEST_SECRET)
    with running_server(url, TEST_SECRET, CLIENTELE_ENV="production") as server:
        # when: a read fails
        response = server.graphql(mint_token(World.GLOBAL_ADMIN, settings), CUSTOMERS)
        request_id = response.headers["x-request-id"]
    output = server.process.stdout.read()  # type: ignore[union-attr]

    # then: masked for the client, and logged with its id on the line
    assert response.json()["errors"][0]["message"] == "Unexpected error."
    assert re.search(rf" ERROR clientele\.\S+ \[{request_id}\] ", output), output


def test_an_unreachable_database_is_503_logged_under_the_request_id(tmp_path, caplog):
    # given: an app whose database cannot be opened
    url = f"sqlite:///{tmp_path / 'missing' / 'nowhere.db'}"
    settings = Settings(jwt_secret=TEST_SECRET, database_url=url)
    app = create_app(settings, engine=make_engine(url), check_migrations=False)

    # when
    with caplog.at_level(logging.ERROR, logger="clientele"), TestClient(app) as client:
        response = client.post("/graphql", json={"query": ME}, headers=bearer(ME_USER, settings))

    # then: 503 UNAVAILABLE with the request id, and the cause logged under the same id
    request_id = response.headers["x-request-id"]
    assert response.status_code == 503
    assert response.json()["errors"][0]["extensions"] == {
        "code": "UNAVAILABLE",
        "requestId": request_id,
    }
    records = [r for r in caplog.records if r.name.startswith("clientele")]
    assert [r.request_id for r in records] == [request_id]
    assert records[0].exc_info
