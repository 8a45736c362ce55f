"""When every database connection is busy, a request is refused with a clean 503, not a 500."""

from starlette.testclient import TestClient

from graph.app import create_app
from models.db import make_engine
from tests.conftest import World, token_for

ME = "query { me { email } }"


def test_a_request_that_gets_no_connection_in_time_is_a_503(database_url, settings, world):
    # Given an app whose only connection is taken, and that waits 0.2 s for one
    engine = make_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    app = create_app(settings, engine=engine)
    held = engine.connect()
    try:
        with TestClient(app) as client:
            # When a signed-in user asks something
            response = client.post(
                "/graphql",
                json={"query": ME},
                headers={"Authorization": f"Bearer {token_for(World.email('admin'), settings)}"},
            )
    finally:
        held.close()

    # Then it is told to come back, with the request id, and the pool is fine afterwards
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "UNAVAILABLE"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    with TestClient(app) as client:
        again = client.post(
            "/graphql",
            json={"query": ME},
            headers={"Authorization": f"Bearer {token_for(World.email('admin'), settings)}"},
        )
    assert again.json()["data"]["me"]["email"] == World.email("admin")
    engine.dispose()
