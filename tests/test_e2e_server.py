"""End to end: `clientele serve` as a real process, spoken to over HTTP."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from graph.auth import mint_token
from models.settings import Settings
from tests.conftest import TEST_SECRET, World
from tests.test_cli import empty_database

pytestmark = pytest.mark.e2e

CLIENTELE = Path(sys.executable).with_name("clientele")
CUSTOMERS = "{ customers { totalCount edges { node { companyName city rank tags } } } }"
INTROSPECTION = "{ __schema { types { name } } }"
START_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env(**settings: str) -> dict[str, str]:
    """The current environment without any CLIENTELE_* variable, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTELE_")}
    env.update({f"CLIENTELE_{name.upper()}": value for name, value in settings.items()})
    return env


def run_serve(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """`clientele serve` that is expected to refuse to start (killed after 30 s if it does)."""
    return subprocess.run(
        [str(CLIENTELE), "serve", "--port", str(free_port())],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.fixture(scope="module")
def server(database_url, engine, tmp_path_factory) -> Iterator[str]:
    """One production-mode server for the module, on the suite's (migrated) database."""
    port = free_port()
    workdir = tmp_path_factory.mktemp("server")
    log_path = workdir / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(CLIENTELE), "serve", "--port", str(port)],
            env=server_env(database_url=database_url, jwt_secret=TEST_SECRET, env="production"),
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"the server exited ({process.returncode}):\n{log_path.read_text()}")
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not become healthy:\n{log_path.read_text()}")
            time.sleep(0.05)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def http(server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=10) as client:
        yield client


def token(email: str) -> str:
    return mint_token(email, Settings(jwt_secret=TEST_SECRET))


def graphql(http: httpx.Client, email: str | None, query: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token(email)}"} if email else {}
    return http.post("/graphql", json={"query": query}, headers=headers)


# ------------------------------------------------------------------ the running server


def test_healthz(http):
    # when
    response = http.get("/healthz")

    # then
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_no_token_is_401(http, world: World):
    # when
    response = graphql(http, None, CUSTOMERS)

    # then
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert response.headers["www-authenticate"] == "Bearer"


def test_admin_reads_their_customers(http, world: World):
    # when
    response = graphql(http, World.email("admin"), CUSTOMERS)

    # then: Home's three customers with their internal data, nothing of Away's
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body
    assert body["data"]["customers"]["totalCount"] == 3
    assert [e["node"] for e in body["data"]["customers"]["edges"]] == [
        {"companyName": f"Home Customer {i}", "city": "Berlin", "rank": i, "tags": [tag]}
        for i, tag in enumerate(["alpha", "beta", "alpha"])
    ]


def test_sales_agent_gets_forbidden_rank_and_the_rest(http, world: World):
    # when
    response = graphql(http, World.email("sales_agent"), CUSTOMERS)

    # then: rank is null with a FORBIDDEN error per row; the other fields are there
    assert response.status_code == 200
    body = response.json()
    nodes = [e["node"] for e in body["data"]["customers"]["edges"]]
    assert [n["companyName"] for n in nodes] == [f"Home Customer {i}" for i in range(3)]
    assert [n["rank"] for n in nodes] == [None, None, None]
    assert [n["city"] for n in nodes] == ["Berlin"] * 3
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
    assert {tuple(e["path"][-1:]) for e in body["errors"]} == {("rank",)}


def test_the_server_runs_in_production_mode(http, world: World):
    # when: introspection, and a browser's GET
    introspection = graphql(http, World.email("admin"), INTROSPECTION)
    browser = http.get("/graphql", headers={"Accept": "text/html"})

    # then: both refused
    assert introspection.status_code == 400
    assert introspection.json()["data"] is None
    assert browser.status_code == 400
    assert "<html" not in browser.text.lower()


def test_the_server_echoes_the_request_id(http):
    # when
    response = http.get("/healthz", headers={"X-Request-ID": "e2e-check-1"})

    # then
    assert response.headers["x-request-id"] == "e2e-check-1"


# ------------------------------------------------------------------ refusing to start


def test_serve_refuses_an_unmigrated_database(request, tmp_path):
    # given: a database without the schema
    with empty_database(request.config, tmp_path) as url:
        # when
        result = run_serve(server_env(database_url=url, jwt_secret=TEST_SECRET), tmp_path)

    # then: a non-zero exit that says what to run, and no server
    assert result.returncode != 0
    assert "clientele migrate" in result.stderr
    assert "Serving" not in result.stdout


@pytest.mark.parametrize("secret", [None, "s" * 31], ids=["unset, so the default", "short"])
def test_serve_in_production_refuses_a_weak_secret(database_url, engine, tmp_path, secret):
    # given: production mode on a migrated database, without a secret of its own
    settings = {"database_url": database_url, "env": "production"}
    if secret is not None:
        settings["jwt_secret"] = secret

    # when
    result = run_serve(server_env(**settings), tmp_path)

    # then
    assert result.returncode != 0
    assert "Refusing to start" in result.stderr
    assert "CLIENTELE_JWT_SECRET" in result.stderr
    assert "Serving" not in result.stdout
