"""The HTTP layer in development mode: what a request must look like, its limits, request ids."""

import json
import time

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from graph.app import create_app
from graph.auth import mint_token
from models.accounts.tables import Workgroup
from tests.conftest import World

ME = "{ me { email } }"
ME_NAMED = "query Who { me { email } }"
TWO_OPERATIONS = "query Who { me { email } } query Count { customers { totalCount } }"
CUSTOMERS_BY_STATUS = """
query Customers($status: CustomerStatus) { customers(status: $status) { totalCount } }
"""
CREATE_WORKGROUP = """
mutation { createWorkgroup(name: "Made Over GET") { workgroup { name } errors { code } } }
"""
SUBSCRIPTION = "subscription { me { email } }"
ONLY_A_FRAGMENT = "fragment Mine on Query { me { email } }"


# Levels count fields with a selection set: workgroups is 1, the innermost customers is 12.
AT_DEPTH_LIMIT = """
{ workgroups { edges { node { customers { edges { node {
    workgroup { customers { edges { node { workgroup { customers { totalCount } } } } } }
} } } } } } }
"""
BEYOND_DEPTH_LIMIT = """
{ workgroups { edges { node { customers { edges { node {
    workgroup { customers { edges { node { workgroup { customers {
        pageInfo { hasNextPage }
    } } } } } }
} } } } } } }
"""
DEEP_THROUGH_FRAGMENTS = """
query { workgroups { edges { node { ...W } } } }
fragment W on Workgroup { customers { edges { node { ...C } } } }
fragment C on Customer { workgroup { customers { edges { node { ...D } } } } }
fragment D on Customer { workgroup { customers { pageInfo { hasNextPage } } } }
"""
FRAGMENT_FAN_OUT = (
    "query { ...F0 }\n"
    + "".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}\n" for i in range(24))
    + "fragment F24 on Query { me { email } }\n"
)
ALIASES_30 = "{ " + " ".join(f"a{i}: me {{ email }}" for i in range(30)) + " }"
ALIASES_31 = "{ " + " ".join(f"a{i}: me {{ email }}" for i in range(31)) + " }"
TOO_MANY_TOKENS = "{ " + "__typename " * 4001 + "}"


def bearer(email: str, settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(email, settings)}"}


def code_of(response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


VIEWER = "someone@http.example"


@pytest.fixture
def viewer(settings) -> dict[str, str]:
    """A signed-in user without roles: enough wherever no data is needed."""
    return bearer(VIEWER, settings)


@pytest.fixture
def admin(settings, world: World) -> dict[str, str]:
    return bearer(World.email("admin"), settings)


# ------------------------------------------------------------------ the request body


@pytest.mark.parametrize(
    "body",
    [b'{"query": "{ me { email } }"', b"", b"\xff\xfe not utf-8", b"{query: 1}"],
    ids=["truncated", "empty", "not utf-8", "not json"],
)
def test_malformed_json_is_400(client, viewer, body):
    # given: a body that is not JSON, sent as JSON
    headers = {**viewer, "Content-Type": "application/json"}

    # when
    response = client.post("/graphql", content=body, headers=headers)

    # then
    assert response.status_code == 400
    assert code_of(response) == "BAD_REQUEST"


@pytest.mark.parametrize(
    "payload",
    [
        "just a string",
        None,
        {"variables": {}},
        {"query": 7},
        {"query": ME, "variables": ["not", "an", "object"]},
        {"query": ME, "operationName": 5},
    ],
    ids=["string", "null", "no query", "query not a string", "variables a list", "name a number"],
)
def test_json_of_the_wrong_shape_is_400(client, viewer, payload):
    # when: valid JSON that is not a GraphQL request
    response = client.post(
        "/graphql",
        content=json.dumps(payload),
        headers={**viewer, "Content-Type": "application/json"},
    )

    # then
    assert response.status_code == 400
    assert code_of(response) == "BAD_REQUEST"


@pytest.mark.parametrize(
    "send",
    [
        lambda c, h: c.post("/graphql", content=ME, headers={**h, "Content-Type": "text/plain"}),
        lambda c, h: c.post("/graphql", data={"query": ME}, headers=h),
        lambda c, h: c.post("/graphql", files={"query": ("q.graphql", ME.encode())}, headers=h),
        lambda c, h: c.post(
            "/graphql", content=ME, headers={**h, "Content-Type": "application/graphql"}
        ),
        lambda c, h: c.post("/graphql", content=b'{"query": "{ me { email } }"}', headers=h),
    ],
    ids=["text/plain", "form-encoded", "multipart", "application/graphql", "no content type"],
)
def test_a_post_that_is_not_json_is_415(client, viewer, send):
    # when: the query is sent with another content type
    response = send(client, viewer)

    # then
    assert response.status_code == 415
    assert code_of(response) == "UNSUPPORTED_MEDIA_TYPE"


def test_json_with_a_charset_parameter_is_accepted(client, viewer):
    # given: the content type with a charset, in odd case
    headers = {**viewer, "Content-Type": "Application/JSON; charset=utf-8"}

    # when
    response = client.post("/graphql", content=b'{"query": "{ me { email } }"}', headers=headers)

    # then
    assert response.status_code == 200
    assert response.json() == {"data": {"me": {"email": VIEWER}}}


def test_a_batch_is_400_batching_not_supported(client, viewer):
    # when: two operations in a JSON array
    response = client.post("/graphql", json=[{"query": ME}, {"query": ME}], headers=viewer)

    # then: refused as a whole, nothing executed
    assert response.status_code == 400
    assert code_of(response) == "BATCHING_NOT_SUPPORTED"
    assert "data" not in response.json()


def test_the_operation_name_picks_the_operation(client, admin):
    # when: a document with two operations names the second
    response = client.post(
        "/graphql", json={"query": TWO_OPERATIONS, "operationName": "Count"}, headers=admin
    )

    # then: only that one ran
    assert response.status_code == 200
    assert response.json() == {"data": {"customers": {"totalCount": 3}}}


@pytest.mark.parametrize(
    ("query", "operation_name"),
    [(ME_NAMED, "Nobody"), (ONLY_A_FRAGMENT, None), ("", None)],
    ids=["unknown operation name", "no operation", "empty query"],
)
def test_a_document_without_the_operation_is_400(client, viewer, query, operation_name):
    # when
    response = client.post(
        "/graphql", json={"query": query, "operationName": operation_name}, headers=viewer
    )

    # then
    assert response.status_code == 400
    assert code_of(response) == "BAD_REQUEST"


def test_a_subscription_is_refused_as_unsupported(client, viewer):
    # when: a subscription is posted (the schema has none)
    response = client.post("/graphql", json={"query": SUBSCRIPTION}, headers=viewer)

    # then: a plain bad request, not "mutations only over POST"
    assert response.status_code == 400
    assert code_of(response) == "BAD_REQUEST"
    assert "ubscription" in response.json()["errors"][0]["message"]


def test_variables_are_used(client, admin):
    # when: the same query with two values of a variable
    active = client.post(
        "/graphql",
        json={"query": CUSTOMERS_BY_STATUS, "variables": {"status": "ACTIVE"}},
        headers=admin,
    )
    archived = client.post(
        "/graphql",
        json={"query": CUSTOMERS_BY_STATUS, "variables": {"status": "ARCHIVED"}},
        headers=admin,
    )

    # then
    assert active.json() == {"data": {"customers": {"totalCount": 3}}}
    assert archived.json() == {"data": {"customers": {"totalCount": 0}}}


# ------------------------------------------------------------------ GET


def test_a_get_query_works(client, admin):
    # when: the query, its variables and its operation name are in the query string
    response = client.get(
        "/graphql",
        params={
            "query": CUSTOMERS_BY_STATUS,
            "variables": '{"status": "ACTIVE"}',
            "operationName": "Customers",
        },
        headers=admin,
    )

    # then
    assert response.status_code == 200
    assert response.json() == {"data": {"customers": {"totalCount": 3}}}


@pytest.mark.parametrize("variables", ["{not json", "[1, 2]", '"text"'])
def test_a_get_with_bad_variables_is_400(client, viewer, variables):
    # when
    response = client.get("/graphql", params={"query": ME, "variables": variables}, headers=viewer)

    # then
    assert response.status_code == 400
    assert code_of(response) == "BAD_REQUEST"


def test_a_get_without_a_query_for_a_program_is_400_json(client, viewer):
    # when: a GET without a query from something that does not want HTML
    response = client.get("/graphql", headers={**viewer, "Accept": "application/json"})

    # then
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert code_of(response) == "BAD_REQUEST"


def test_a_get_mutation_is_405_and_changes_nothing(client, settings, session, world: World):
    # given: the global admin, who may create workgroups
    headers = bearer(World.GLOBAL_ADMIN, settings)
    count = select(func.count()).select_from(Workgroup)
    before = session.execute(count).scalar_one()

    # when: the mutation comes over GET
    response = client.get("/graphql", params={"query": CREATE_WORKGROUP}, headers=headers)

    # then: 405 and no workgroup was made
    assert response.status_code == 405
    assert code_of(response) == "METHOD_NOT_ALLOWED"
    session.expire_all()
    assert session.execute(count).scalar_one() == before

    # and: the same mutation over POST does make one (so the GET really was refused)
    posted = client.post("/graphql", json={"query": CREATE_WORKGROUP}, headers=headers)
    assert posted.json()["data"]["createWorkgroup"] == {
        "workgroup": {"name": "Made Over GET"},
        "errors": [],
    }
    session.expire_all()
    assert session.execute(count).scalar_one() == before + 1


def test_other_methods_are_405(client, viewer):
    # when
    response = client.put("/graphql", json={"query": ME}, headers=viewer)

    # then
    assert response.status_code == 405


# ------------------------------------------------------------------ size and shape limits


@pytest.fixture
def small_client(settings, engine):
    """The app with a 300-byte body limit."""
    with TestClient(
        create_app(settings.model_copy(update={"max_body_bytes": 300}), engine=engine)
    ) as c:
        yield c


def _body_of_size(size: int) -> bytes:
    prefix, suffix = b'{"query": "{ me { email } }"', b"}"
    return prefix + b" " * (size - len(prefix) - len(suffix)) + suffix


def test_a_body_at_the_limit_is_served(small_client, viewer):
    # given: exactly 300 bytes of valid JSON
    body = _body_of_size(300)

    # when
    response = small_client.post(
        "/graphql", content=body, headers={**viewer, "Content-Type": "application/json"}
    )

    # then
    assert response.status_code == 200
    assert response.json() == {"data": {"me": {"email": VIEWER}}}


def test_a_body_over_the_limit_is_413(small_client, viewer):
    # given: 301 bytes, with a Content-Length saying so
    body = _body_of_size(301)

    # when
    response = small_client.post(
        "/graphql", content=body, headers={**viewer, "Content-Type": "application/json"}
    )

    # then
    assert response.status_code == 413
    assert code_of(response) == "PAYLOAD_TOO_LARGE"


def test_a_chunked_body_over_the_limit_is_413(small_client, viewer):
    # given: a body streamed in chunks, without a Content-Length
    def chunks():
        yield b'{"query": "{ me { email } }", "padding": "'
        for _ in range(10):
            yield b"x" * 100
        yield b'"}'

    # when
    response = small_client.post(
        "/graphql", content=chunks(), headers={**viewer, "Content-Type": "application/json"}
    )

    # then
    assert response.status_code == 413
    assert code_of(response) == "PAYLOAD_TOO_LARGE"


def test_the_default_limit_refuses_a_megabyte(client, viewer):
    # when: a body just over the default 1,000,000 bytes
    response = client.post(
        "/graphql",
        content=_body_of_size(1_000_001),
        headers={**viewer, "Content-Type": "application/json"},
    )

    # then
    assert response.status_code == 413


def test_a_query_at_the_depth_limit_is_served(client, admin):
    # when: 12 levels deep (the default limit)
    response = client.post("/graphql", json={"query": AT_DEPTH_LIMIT}, headers=admin)

    # then
    assert response.status_code == 200, response.text
    assert "errors" not in response.json()


@pytest.mark.parametrize(
    "query", [BEYOND_DEPTH_LIMIT, DEEP_THROUGH_FRAGMENTS], ids=["inline", "through fragments"]
)
def test_a_too_deep_query_is_400_query_too_deep(client, viewer, query):
    # when: 13 levels deep
    response = client.post("/graphql", json={"query": query}, headers=viewer)

    # then: refused before execution
    assert response.status_code == 400
    assert code_of(response) == "QUERY_TOO_DEEP"
    assert response.json()["data"] is None


def test_fragments_spread_many_times_are_measured_quickly(client, viewer):
    # given: 25 fragments, each spreading the next one twice (2**24 paths, depth 1)
    started = time.perf_counter()

    # when
    response = client.post("/graphql", json={"query": FRAGMENT_FAN_OUT}, headers=viewer)

    # then: answered, and in well under a second of validation
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"me": {"email": VIEWER}}}
    assert time.perf_counter() - started < 5


def test_thirty_aliases_are_allowed(client, viewer):
    # when
    response = client.post("/graphql", json={"query": ALIASES_30}, headers=viewer)

    # then
    assert response.status_code == 200
    assert len(response.json()["data"]) == 30


def test_more_aliases_than_the_limit_is_400_too_many_aliases(client, viewer):
    # when
    response = client.post("/graphql", json={"query": ALIASES_31}, headers=viewer)

    # then
    assert response.status_code == 400
    assert code_of(response) == "TOO_MANY_ALIASES"


def test_too_many_tokens_is_a_parse_error(client, viewer):
    # when: a document of more than 4000 tokens
    response = client.post("/graphql", json={"query": TOO_MANY_TOKENS}, headers=viewer)

    # then: the parser gives up
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert "tokens" in error["message"]


def test_a_syntax_error_is_a_parse_error(client, viewer):
    # when
    response = client.post("/graphql", json={"query": "{ me { email }"}, headers=viewer)

    # then
    assert response.status_code == 400
    assert code_of(response) == "GRAPHQL_PARSE_FAILED"


# ------------------------------------------------------------------ request ids and health


RESPONSES = {
    "200": lambda c, h: c.post("/graphql", json={"query": ME}, headers=h),
    "400": lambda c, h: c.post("/graphql", json=[], headers=h),
    "401": lambda c, h: c.post("/graphql", json={"query": ME}),
    "405": lambda c, h: c.get("/graphql", params={"query": CREATE_WORKGROUP}, headers=h),
    "415": lambda c, h: c.post("/graphql", content=ME, headers=h),
    "404": lambda c, h: c.get("/nowhere"),
    "healthz": lambda c, h: c.get("/healthz"),
}


@pytest.mark.parametrize("send", RESPONSES.values(), ids=RESPONSES.keys())
def test_every_response_carries_a_request_id(client, viewer, send):
    # when
    response = send(client, viewer)

    # then: a fresh id, and the same one in the error body if there is one
    request_id = response.headers["x-request-id"]
    assert len(request_id) == 32 and int(request_id, 16) >= 0
    if (
        response.headers["content-type"].startswith("application/json")
        and response.status_code >= 400
        and "errors" in response.json()
    ):
        assert response.json()["errors"][0]["extensions"]["requestId"] == request_id


def test_a_sane_request_id_is_echoed(client, viewer):
    # given
    headers = {**viewer, "X-Request-ID": "trace-2026.11_22-abc"}

    # when: one served and one refused request carry it
    served = client.post("/graphql", json={"query": ME}, headers=headers)
    refused = client.post("/graphql", json=[{"query": ME}], headers=headers)

    # then
    assert served.headers["x-request-id"] == "trace-2026.11_22-abc"
    assert refused.headers["x-request-id"] == "trace-2026.11_22-abc"
    assert refused.json()["errors"][0]["extensions"]["requestId"] == "trace-2026.11_22-abc"


@pytest.mark.parametrize(
    "incoming", ["has spaces in it", "x" * 65, "semi;colon", "new\\nline"], ids=str
)
def test_an_insane_request_id_is_replaced(client, viewer, incoming):
    # when
    response = client.post(
        "/graphql", json={"query": ME}, headers={**viewer, "X-Request-ID": incoming}
    )

    # then: a fresh id instead, and only one header
    assert response.headers["x-request-id"] != incoming
    assert len(response.headers.get_list("x-request-id")) == 1
    assert len(response.headers["x-request-id"]) == 32


def test_two_requests_get_different_ids(client, viewer):
    # when
    first = client.post("/graphql", json={"query": ME}, headers=viewer)
    second = client.post("/graphql", json={"query": ME}, headers=viewer)

    # then
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def test_healthz_is_ok(client):
    # when: no credentials needed
    response = client.get("/healthz")

    # then
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
