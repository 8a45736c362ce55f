"""Several server processes, one database: a grant or revoke made through one process is
enforced by the other on its next request (roles are read from the database per request;
no process keeps a copy that could go stale)."""

import time

import pytest

from graph.auth import mint_token
from graph.ids import encode_id
from tests.conftest import TEST_SECRET, World
from tests.servers import running_server

GRANT = """
mutation($email: String!, $workgroupId: ID!) {
  grantRole(email: $email, role: CUSTOMER_ACTIVITY, workgroupId: $workgroupId) {
    errors { code }
  }
}
"""
REVOKE = GRANT.replace("grantRole", "revokeRole")
DASHBOARD = "query { customerActivity { agreements { number } } }"
DELEGATE = "delegate@home.example"


def wait_for(check, within: float) -> float:
    """Seconds until `check()` holds, failing after `within` seconds."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > within:
            pytest.fail(f"not true within {within} s")
        time.sleep(0.05)
    return time.monotonic() - started


def forbidden(response) -> bool:
    body = response.json()
    return body["data"]["customerActivity"] is None and any(
        e["extensions"]["code"] == "FORBIDDEN" for e in body.get("errors", [])
    )


@pytest.mark.e2e
def test_grant_and_revoke_through_one_process_take_effect_in_another(
    database_url, settings, world: World
):
    admin = mint_token(World.email("admin"), settings)
    delegate = mint_token(DELEGATE, settings)
    home = encode_id("Workgroup", world.home.id)
    with (
        running_server(database_url, TEST_SECRET) as first,
        running_server(database_url, TEST_SECRET) as second,
    ):
        # Given the delegate is refused the dashboard by the second process
        assert forbidden(second.graphql(delegate, DASHBOARD))

        # When an admin grants customer_activity through the first process
        granted = first.graphql(admin, GRANT, {"email": DELEGATE, "workgroupId": home})
        assert granted.json()["data"]["grantRole"]["errors"] == []

        # Then the second process serves the dashboard within a second
        wait_for(lambda: not forbidden(second.graphql(delegate, DASHBOARD)), within=1.0)

        # When the role is revoked through the first process
        revoked = first.graphql(admin, REVOKE, {"email": DELEGATE, "workgroupId": home})
        assert revoked.json()["data"]["revokeRole"]["errors"] == []

        # Then the second process refuses again within a second
        wait_for(lambda: forbidden(second.graphql(delegate, DASHBOARD)), within=1.0)
