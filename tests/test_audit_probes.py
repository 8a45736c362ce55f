"""The probes of public GraphQL auditing tools (graphql-cop, InQL, clairvoyance, BatchQL) against
a real `clientele serve` in production mode, over HTTP.

Every probe must be refused or harmless, and every answer JSON with a request id: no Python
traceback, no debug or tracing output, no "Did you mean …", and no name from the schema that the
client did not send. tests/test_http.py, tests/test_limits.py and tests/test_production_mode.py
test the same defences in-process; this module proves them on the running service.
"""

import json
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    get_introspection_query,
)
from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine

from graph.ids import encode_id
from graph.schema import build_schema
from models.accounts.tables import User
from models.customers.tables import Customer
from tests.attack_support import ServerProcess, dump_tables
from tests.conftest import TEST_SECRET, World
from tests.test_e2e_server import token

pytestmark = pytest.mark.e2e

ADMIN = World.email("admin")
VIEWER = "auditor@probe.example"  # signed in, without roles
ME = "{ me { email } }"
ME_AND_CUSTOMERS = "{ me { email } customers { totalCount } }"
TYPENAME = "query cop { __typename }"
ADD_CUSTOMER = """
mutation Add($input: AddCustomerInput!) { addCustomer(input: $input) { customer { id } } }
"""
QUERY_THEN_ADD_CUSTOMER = "query Who { me { email } }\n" + ADD_CUSTOMER

# 1. Alias overloading (graphql-cop, BatchQL's alias batching): 100 aliases of one field.
ALIASES_100 = "{ " + " ".join(f"a{i}: me {{ email }}" for i in range(100)) + " }"
ALIASED_MUTATIONS_100 = (
    "mutation Add($input: AddCustomerInput!) { "
    + " ".join(f"a{i}: addCustomer(input: $input) {{ customer {{ id }} }}" for i in range(100))
    + " }"
)

# 2. Batching (BatchQL): one document with more operations than allowed.
OPERATIONS_11 = " ".join(f"query Q{i} {{ me {{ email }} }}" for i in range(11))

# 3. Directive overloading: repeated known directives, graphql-cop's unknown `@aa`.
SKIP_10 = "{ me @skip(if: false)" + " @skip(if: false)" * 9 + " { email } }"
UNKNOWN_DIRECTIVE_10 = "query cop { __typename" + " @aa" * 10 + " }"
INCLUDE_ON_INLINE_FRAGMENT_10 = (
    "{ ... on Query" + " @include(if: true)" * 10 + " { me { email } } }"
)

# 4. Circular introspection (graphql-cop), 16 levels; InQL's and clairvoyance's full query.
CIRCULAR_INTROSPECTION = (
    "query cop { __schema { types { " + "fields { type { " * 7 + "name" + " } }" * 7 + " } } }"
)
FULL_INTROSPECTION = get_introspection_query(descriptions=True)

# 5. Plain introspection.
INTROSPECT_SCHEMA = "{ __schema { types { name } } }"
INTROSPECT_TYPE = '{ __type(name: "Customer") { fields { name } } }'
INTROSPECT_ROOT = "query { __schema { queryType { name } } }"

# 6. Typos (clairvoyance): document, variables, the schema names a suggestion would reveal.
UPDATE_CUSTOMER = """
mutation($id: ID!, $input: UpdateCustomerInput!) {
  updateCustomer(id: $id, input: $input) { errors { code } }
}
"""
TYPOS: dict[str, tuple[str, dict | None, tuple[str, ...]]] = {
    "field": ("{ me { emial } }", None, ("email",)),
    "root field": ("{ custmers { totalCount } }", None, ("customers",)),
    "argument": ("{ customers(frist: 1) { totalCount } }", None, ("first",)),
    "type in a fragment": (
        "fragment f on Custmer { id } { me { email } }",
        None,
        ("Customer",),
    ),
    "type in an inline fragment": (
        '{ node(id: "x") { ... on Custmer { id } } }',
        None,
        ("Customer",),
    ),
    "sub-selection": ("{ customers { edgs { node { id } } } }", None, ("edges",)),
    "enum literal": ("{ customers(status: ACTIV) { totalCount } }", None, ("ACTIVE", "ARCHIVED")),
    "enum variable": (
        "query($s: CustomerStatus) { customers(status: $s) { totalCount } }",
        {"s": "ACTIV"},
        ("ACTIVE", "ARCHIVED"),
    ),
    "input field variable": (
        UPDATE_CUSTOMER,
        {"id": "x", "input": {"compnyName": "Typo"}},
        ("companyName",),
    ),
}
# Probes whose validation message names a type the client did not send (see the xfail below).
TYPE_NAMING_PROBES: dict[str, tuple[str, dict | None, str]] = {
    "field typo": ("{ me { emial } }", None, "Viewer"),
    "sub-selection typo": ("{ customers { edgs { node { id } } } }", None, "CustomerConnection"),
    "enum typo": ("{ customers(status: ACTIV) { totalCount } }", None, "CustomerStatus"),
    "no sub-selection": ("{ customers }", None, "CustomerConnection"),
    "enum argument given an int": (
        "{ customers(status: 1) { totalCount } }",
        None,
        "CustomerStatus",
    ),
    "variable of another type": (
        "query($s: String) { customers(status: $s) { totalCount } }",
        {"s": "ACTIVE"},
        "CustomerStatus",
    ),
}

# 7. GraphQL IDEs at the usual paths.
IDE_PATHS = ["/graphiql", "/playground", "/altair", "/voyager", "/graphql/console"]

# 10. Field duplication (graphql-cop): 500 times one field.
DUPLICATED_FIELD_500 = "query cop { " + "__typename " * 500 + "}"

# 11. Unhandled errors.
UNCLOSED_SELECTION = "query cop { __typename {}"  # graphql-cop's "unhandled error" probe
PAGE = "query($n: Int!) { customers(first: $n) { totalCount } }"
TWO_MEGABYTES = 2_000_000

TRACEBACK_MARKERS = ("Traceback", 'File "', ".py")
DEBUG_WORDS = ("tracing", "debug", "exception", "stacktrace")
ERROR_KEYS = {"message", "locations", "path", "extensions"}
DOCUMENTED_EXTENSIONS = {"code", "requestId", "argument", "maxCost", "coordinate"}
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Types every GraphQL schema has, and the roots that `{ __typename }` names in production.
UNSECRET_TYPES = {"String", "Int", "Float", "Boolean", "ID", "Query", "Mutation"}
# The cost refusal advises smaller pages (`first`), the documented page size argument.
ADVISED_NAMES = {"first"}
QUOTED = re.compile(r"'([^']*)'|\"([^\"]*)\"|`([^`]*)`")
IDENTIFIER = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")


# ------------------------------------------------------------------ the server


@pytest.fixture(scope="module")
def server(database_url, engine, tmp_path_factory) -> Iterator[ServerProcess]:
    """One production-mode server for the module, on the suite's (migrated) database."""
    log = tmp_path_factory.mktemp("audit") / "server.log"
    server = ServerProcess(database_url, TEST_SECRET, log, CLIENTELE_ENV="production")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _nothing_unexpected_logged(server) -> Iterator[None]:
    """No probe makes the server log an error or a traceback."""
    before = len(server.log())
    yield
    logged = server.log()[before:]
    assert "Traceback" not in logged, logged
    assert not re.search(r"\bERROR\b", logged), logged


@pytest.fixture
def http(server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def _forget_the_viewer(engine) -> Iterator[None]:
    """The server stores VIEWER when it first signs in, which the suite does not see (and so
    does not empty the tables after a test that only signed in): removed after the module."""
    yield
    with engine.begin() as connection:
        connection.execute(delete(User).where(User.email == VIEWER))  # type: ignore[arg-type]


@pytest.fixture
def viewer(_forget_the_viewer) -> dict[str, str]:
    """A user without roles: enough wherever no data is needed."""
    return {"Authorization": f"Bearer {token(VIEWER)}"}


@pytest.fixture
def admin(world: World) -> dict[str, str]:
    """Home's admin, who may add customers to Home."""
    return {"Authorization": f"Bearer {token(ADMIN)}"}


@pytest.fixture
def new_customer(world: World) -> dict[str, Any]:
    """Variables of ADD_CUSTOMER that add a customer to Home when posted as JSON."""
    return {
        "input": {
            "workgroupId": encode_id("Workgroup", world.home.id),  # type: ignore[arg-type]
            "companyName": "Probe Inc",
            "primaryDomain": "probe.example",
        }
    }


def customers_in(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(Customer)).scalar_one()


def post(http: httpx.Client, headers: dict, query: str, variables: dict | None = None):
    return http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


def post_raw(http: httpx.Client, headers: dict, body: bytes) -> httpx.Response:
    return http.post(
        "/graphql", content=body, headers={**headers, "Content-Type": "application/json"}
    )


# ------------------------------------------------------------------ what every answer must be


@lru_cache(maxsize=1)
def schema_names() -> tuple[frozenset[str], frozenset[str]]:
    """The schema's type names (without UNSECRET_TYPES), and its field, argument, input field
    and enum value names."""
    schema = build_schema()._schema
    types, members = set(), set()
    for name, named in schema.type_map.items():
        if name.startswith("__"):
            continue
        types.add(name)
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in named.fields.items():
                members.add(field_name)
                members.update(field.args)
        elif isinstance(named, GraphQLInputObjectType):
            members.update(named.fields)
        elif isinstance(named, GraphQLEnumType):
            members.update(named.values)
    return frozenset(types - UNSECRET_TYPES), frozenset(members)


def named_but_not_sent(body: dict, sent: str) -> tuple[set[str], set[str]]:
    """(types, other schema names) quoted in the error messages that `sent` does not contain."""
    messages = " ".join(error["message"] for error in body.get("errors", []))
    quoted = {
        identifier
        for groups in QUOTED.findall(messages)
        for part in groups
        for identifier in IDENTIFIER.findall(part)
    }
    unsent = quoted - set(IDENTIFIER.findall(sent)) - ADVISED_NAMES
    types, members = schema_names()
    return unsent & types, unsent & members


def assert_clean(response: httpx.Response, sent: str = "", *, type_names: bool = True) -> dict:
    """The answer is JSON with a request id, shows no traceback, debug output or suggestion,
    and names nothing of the schema that `sent` (the request) does not (with `type_names`
    false: no field, argument or enum value)."""
    request_id = response.headers["x-request-id"]
    assert REQUEST_ID.fullmatch(request_id)
    assert response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    text = response.text
    for marker in TRACEBACK_MARKERS:
        assert marker not in text, text
    for word in DEBUG_WORDS:
        assert word not in text.lower(), text
    assert "Did you mean" not in text
    assert set(body) <= {"data", "errors"}
    for error in body.get("errors", []):
        assert set(error) <= ERROR_KEYS
        assert set(error["extensions"]) <= DOCUMENTED_EXTENSIONS
        assert error["extensions"].get("requestId", request_id) == request_id
    types, members = named_but_not_sent(body, sent)
    assert not members, text
    if type_names:
        assert not types, text
    return body


def code_of(body: dict) -> str:
    return body["errors"][0]["extensions"]["code"]


def sent_text(query: str, variables: dict | None = None) -> str:
    return query + json.dumps(variables or {})


def assert_refused_with_request_id(response: httpx.Response, status: int, code: str) -> dict:
    """A refusal by the HTTP layer: the status and code, the request id in the body too."""
    body = assert_clean(response)
    assert response.status_code == status, response.text
    assert code_of(body) == code
    assert body["errors"][0]["extensions"]["requestId"] == response.headers["x-request-id"]
    assert "data" not in body
    return body


# ------------------------------------------------------------------ 1. alias overloading


@pytest.mark.parametrize(
    ("query", "with_input"),
    [(ALIASES_100, False), (ALIASED_MUTATIONS_100, True)],
    ids=["a field", "a mutation"],
)
def test_a_hundred_aliases_are_refused(http, admin, engine, new_customer, query, with_input):
    # given
    variables = new_customer if with_input else None
    before = dump_tables(engine)

    # when: one field, or one mutation, a hundred times under aliases
    response = post(http, admin, query, variables)

    # then: refused before execution, nothing changed
    body = assert_clean(response, sent_text(query, variables))
    assert response.status_code == 400
    assert code_of(body) == "TOO_MANY_ALIASES"
    assert body["data"] is None
    assert dump_tables(engine) == before


# ------------------------------------------------------------------ 2. batching


def test_a_json_array_of_ten_operations_is_refused(http, admin, engine, new_customer):
    # given: ten mutations that would each add a customer
    batch = [
        {
            "query": ADD_CUSTOMER,
            "variables": {
                "input": {**new_customer["input"], "primaryDomain": f"batch-{i}.example"}
            },
        }
        for i in range(10)
    ]
    before = dump_tables(engine)

    # when
    response = http.post("/graphql", json=batch, headers=admin)

    # then: refused as a whole, nothing executed
    assert_refused_with_request_id(response, 400, "BATCHING_NOT_SUPPORTED")
    assert dump_tables(engine) == before


def test_eleven_operations_in_one_document_are_refused(http, viewer):
    # when: BatchQL's other batching, by operation name
    response = post(http, viewer, OPERATIONS_11)

    # then
    body = assert_clean(response, OPERATIONS_11)
    assert response.status_code == 400
    assert code_of(body) == "TOO_MANY_OPERATIONS"
    assert body["data"] is None


# ------------------------------------------------------------------ 3. directive overloading


@pytest.mark.parametrize(
    "query",
    [SKIP_10, UNKNOWN_DIRECTIVE_10, INCLUDE_ON_INLINE_FRAGMENT_10],
    ids=["@skip on a field", "unknown @aa (graphql-cop)", "@include on an inline fragment"],
)
def test_ten_directives_in_one_place_are_refused(http, viewer, query):
    # when
    response = post(http, viewer, query)

    # then: refused by the limit, before the directives are even looked up
    body = assert_clean(response, query)
    assert response.status_code == 400
    assert code_of(body) == "TOO_MANY_DIRECTIVES"
    assert body["data"] is None


# ------------------------------------------------------------------ 4. and 5. introspection


@pytest.mark.parametrize(
    "query",
    [CIRCULAR_INTROSPECTION, FULL_INTROSPECTION],
    ids=["circular, 16 levels (graphql-cop)", "full (InQL, clairvoyance)"],
)
def test_deep_introspection_is_refused(http, viewer, query):
    # when
    response = post(http, viewer, query)

    # then: too deep, and no schema in the answer
    body = assert_clean(response, query)
    assert response.status_code == 400
    assert code_of(body) == "QUERY_TOO_DEEP"
    assert body["data"] is None
    assert "companyName" not in response.text


@pytest.mark.parametrize(
    "query",
    [INTROSPECT_SCHEMA, INTROSPECT_TYPE, INTROSPECT_ROOT],
    ids=["__schema", "__type", "__schema.queryType"],
)
def test_introspection_is_refused(http, viewer, query):
    # when
    response = post(http, viewer, query)

    # then
    body = assert_clean(response, query)
    assert response.status_code == 400
    assert code_of(body) == "GRAPHQL_VALIDATION_FAILED"
    assert "introspection has been disabled" in body["errors"][0]["message"]
    assert body["data"] is None
    assert "companyName" not in response.text


# ------------------------------------------------------------------ 6. suggestions


@pytest.mark.parametrize(("query", "variables", "hidden"), TYPOS.values(), ids=TYPOS.keys())
def test_a_typo_gets_a_validation_error_without_suggestions(http, viewer, query, variables, hidden):
    # when: a name is misspelt
    response = post(http, viewer, query, variables)

    # then: a validation error that suggests nothing and names no field, argument or value
    # the client did not send (type names: see the test below)
    body = assert_clean(response, sent_text(query, variables), type_names=False)
    assert response.status_code == 400
    assert code_of(body) == "GRAPHQL_VALIDATION_FAILED"
    assert body["data"] is None
    messages = " ".join(error["message"] for error in body["errors"])
    for name in hidden:
        assert not re.search(rf"\b{name}\b", messages), messages


# graphql-core's messages name a type ("on type 'Viewer'", "of type 'CustomerConnection'",
# "in 'CustomerStatus' enum") that the client may not have sent; clairvoyance maps a schema from
# such messages once suggestions are off. In production they are reworded without it.
@pytest.mark.parametrize(
    ("query", "variables", "type_name"),
    TYPE_NAMING_PROBES.values(),
    ids=TYPE_NAMING_PROBES.keys(),
)
def test_a_validation_error_names_no_type_the_client_did_not_send(
    http, viewer, query, variables, type_name
):
    # when
    response = post(http, viewer, query, variables)

    # then: the error names no type that the document does not
    assert response.status_code == 400
    types, _ = named_but_not_sent(response.json(), sent_text(query, variables))
    assert type_name not in types, response.text


# ------------------------------------------------------------------ 7. GraphiQL


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed in"])
def test_a_browser_gets_no_graphiql(http, viewer, signed_in):
    # given
    headers = {"Accept": "text/html,application/xhtml+xml", **(viewer if signed_in else {})}

    # when: a browser opens the endpoint
    response = http.get("/graphql", headers=headers)

    # then: a JSON refusal, no page
    assert_refused_with_request_id(response, 400, "BAD_REQUEST")
    assert "graphiql" not in response.text.lower()
    assert "<html" not in response.text.lower()


@pytest.mark.parametrize("path", IDE_PATHS)
def test_no_ide_at_the_usual_paths(http, path):
    # when
    response = http.get(path, headers={"Accept": "text/html"})

    # then: nothing there
    assert response.status_code == 404
    assert not response.headers["content-type"].startswith("text/html")
    assert REQUEST_ID.fullmatch(response.headers["x-request-id"])
    for word in ("graphiql", "playground", "altair", "voyager", "<html"):
        assert word not in response.text.lower()


# ------------------------------------------------------------------ 8. GET


def test_a_get_query_is_answered(http, viewer):
    # when: graphql-cop's GET query
    response = http.get("/graphql", params={"query": "{me{email}}"}, headers=viewer)

    # then: a normal answer, as documented
    body = assert_clean(response, "{me{email}}")
    assert response.status_code == 200
    assert body == {"data": {"me": {"email": VIEWER}}}


GET_MUTATIONS = {
    "addCustomer": (ADD_CUSTOMER, None),
    "mutation { __typename } (graphql-cop)": ("mutation cop { __typename }", None),
    "picked by operationName": (QUERY_THEN_ADD_CUSTOMER, "Add"),
}


@pytest.mark.parametrize(
    ("query", "operation_name"), GET_MUTATIONS.values(), ids=GET_MUTATIONS.keys()
)
def test_a_get_mutation_is_405_and_changes_nothing(
    http, admin, engine, new_customer, query, operation_name
):
    # given
    before = dump_tables(engine)
    params = {"query": query, "variables": json.dumps(new_customer)}
    if operation_name:
        params["operationName"] = operation_name

    # when
    response = http.get("/graphql", params=params, headers=admin)

    # then
    assert_refused_with_request_id(response, 405, "METHOD_NOT_ALLOWED")
    assert dump_tables(engine) == before


def test_a_get_of_a_query_and_a_mutation_runs_no_mutation(http, admin, engine, new_customer):
    # given: a document whose first operation is a query, the second a mutation, no name
    before = dump_tables(engine)
    params = {"query": QUERY_THEN_ADD_CUSTOMER, "variables": json.dumps(new_customer)}

    # when
    response = http.get("/graphql", params=params, headers=admin)

    # then: the first operation (the query) ran, the mutation did not (strawberry runs the
    # first operation when none is named, where the specification asks for an error)
    body = assert_clean(response, json.dumps(params))
    assert response.status_code == 200
    assert body == {"data": {"me": {"email": ADMIN}}}
    assert dump_tables(engine) == before


# ------------------------------------------------------------------ 9. CSRF-style posts


CSRF_POSTS = {
    "form-encoded": lambda h, variables: {
        "data": {"query": ADD_CUSTOMER, "variables": json.dumps(variables)},
        "headers": h,
    },
    "multipart": lambda h, variables: {
        "files": {
            "query": (None, ADD_CUSTOMER),
            "variables": (None, json.dumps(variables)),
        },
        "headers": h,
    },
    "multipart upload spec": lambda h, variables: {
        "files": {
            "operations": (None, json.dumps({"query": ADD_CUSTOMER, "variables": variables}))
        },
        "headers": h,
    },
    "text/plain JSON": lambda h, variables: {
        "content": json.dumps({"query": ADD_CUSTOMER, "variables": variables}),
        "headers": {**h, "Content-Type": "text/plain"},
    },
}


@pytest.mark.parametrize("request_of", CSRF_POSTS.values(), ids=CSRF_POSTS.keys())
def test_a_post_a_browser_form_can_send_is_415_and_changes_nothing(
    http, admin, engine, new_customer, request_of
):
    # given
    before = dump_tables(engine)

    # when: the mutation in a body that a cross-site form may send without a preflight
    response = http.post("/graphql", **request_of(admin, new_customer))

    # then
    assert_refused_with_request_id(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert dump_tables(engine) == before


def test_the_same_mutation_as_json_does_add_the_customer(http, admin, engine, new_customer):
    # given: the mutation of the refused probes above
    before = customers_in(engine)

    # when: posted as JSON
    response = post(http, admin, ADD_CUSTOMER, new_customer)

    # then: it works, so the refusals above were the transport's doing
    body = assert_clean(response, sent_text(ADD_CUSTOMER, new_customer))
    assert response.status_code == 200
    assert body["data"]["addCustomer"]["customer"]["id"]
    assert customers_in(engine) == before + 1


# ------------------------------------------------------------------ 10. tracing and debug


@pytest.mark.parametrize(
    "query",
    [TYPENAME, ME_AND_CUSTOMERS],
    ids=["__typename (graphql-cop)", "data"],
)
def test_a_served_query_has_no_tracing_or_debug_output(http, admin, query):
    # when
    response = post(http, admin, query)

    # then: data and nothing else (no `extensions`), nothing debug-like anywhere
    body = assert_clean(response, query)
    assert response.status_code == 200
    assert set(body) == {"data"}
    for name in ("server-timing", "x-debug", "x-trace"):
        assert name not in response.headers


def test_a_field_repeated_500_times_is_answered_once(http, viewer):
    # when: graphql-cop's field duplication
    response = post(http, viewer, DUPLICATED_FIELD_500)

    # then: harmless, the field once in the answer
    body = assert_clean(response, DUPLICATED_FIELD_500)
    assert response.status_code == 200
    assert body == {"data": {"__typename": "Query"}}


# ------------------------------------------------------------------ 11. unhandled errors


def _padded(size: int) -> bytes:
    return json.dumps({"query": ME, "padding": "x" * size}).encode()


def _chunks(size: int) -> Iterator[bytes]:
    yield b'{"query": "{ me { email } }", "padding": "'
    for _ in range(size // 100_000):
        yield b"x" * 100_000
    yield b'"}'


BAD_BODIES = {
    "truncated JSON": b'{"query": "{ me { email } }"',
    "empty": b"",
    "not UTF-8": b"\xff\xfe not utf-8",
    "not JSON": b"{query: 1}",
    "JSON nested 2000 levels": b'{"query": "{ me { email } }", "variables": {"v": '
    + b"[" * 2000
    + b"]" * 2000
    + b"}}",
    "a string": b'"{ me { email } }"',
    "a number": b"42",
    "null": b"null",
    "true": b"true",
    "query not a string": b'{"query": 7}',
    "variables a list": b'{"query": "{ me { email } }", "variables": [1]}',
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_a_body_that_is_no_graphql_request_is_400(http, viewer, body):
    # when
    response = post_raw(http, viewer, body)

    # then
    assert_refused_with_request_id(response, 400, "BAD_REQUEST")


@pytest.mark.parametrize("send", ["declared", "chunked"])
def test_a_two_megabyte_body_is_413(http, viewer, send):
    # given: twice the default limit, with a Content-Length or streamed without one
    body = _padded(TWO_MEGABYTES) if send == "declared" else _chunks(TWO_MEGABYTES)

    # when
    response = http.post(
        "/graphql", content=body, headers={**viewer, "Content-Type": "application/json"}
    )

    # then
    assert_refused_with_request_id(response, 413, "PAYLOAD_TOO_LARGE")


BAD_VALUES = {
    "variable of the wrong type": (PAGE, {"n": "ten"}, "GRAPHQL_VALIDATION_FAILED"),
    "variable 2**40": (PAGE, {"n": 2**40}, "GRAPHQL_VALIDATION_FAILED"),
    "variable 2**70": (PAGE, {"n": 2**70}, "GRAPHQL_VALIDATION_FAILED"),
    "variable 1.5": (PAGE, {"n": 1.5}, "GRAPHQL_VALIDATION_FAILED"),
    "literal 2**40": (
        f"{{ customers(first: {2**40}) {{ totalCount }} }}",
        None,
        "GRAPHQL_VALIDATION_FAILED",
    ),
    "literal of 400 digits": (
        f"{{ customers(first: {10**399}) {{ totalCount }} }}",
        None,
        "GRAPHQL_VALIDATION_FAILED",
    ),
    "selection nested 1300 levels": (
        "{ me " + "{ a " * 1300 + "}" * 1300 + " }",
        None,
        "GRAPHQL_PARSE_FAILED",
    ),
    "unclosed selection (graphql-cop)": (UNCLOSED_SELECTION, None, "GRAPHQL_PARSE_FAILED"),
    "NUL character": (ME + "\u0000", None, "GRAPHQL_PARSE_FAILED"),
}


@pytest.mark.parametrize(("query", "variables", "code"), BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_a_bad_value_or_document_is_a_clean_400(http, viewer, query, variables, code):
    # when
    response = post(http, viewer, query, variables)

    # then: refused before execution, no traceback
    body = assert_clean(response, sent_text(query, variables))
    assert response.status_code == 400
    assert code_of(body) == code
    assert body["data"] is None


def test_a_variable_nested_a_thousand_levels_is_a_clean_400(http, viewer):
    # given: a list in a list … a thousand levels deep, where a string is expected
    query = "query($s: String) { customers(search: $s) { totalCount } }"
    nested = "[" * 1000 + "]" * 1000
    body = f'{{"query": {json.dumps(query)}, "variables": {{"s": {nested}}}}}'

    # when
    response = post_raw(http, viewer, body.encode())

    # then
    answer = assert_clean(response, query)
    assert response.status_code == 400
    assert code_of(answer) == "GRAPHQL_VALIDATION_FAILED"
    assert answer["data"] is None


@pytest.mark.parametrize("first", [-1, 1001], ids=["negative", "over the page size"])
def test_a_page_size_out_of_range_is_bad_user_input(http, admin, first):
    # when
    response = post(http, admin, PAGE, {"n": first})

    # then: the field is null with an error naming the argument
    body = assert_clean(response, sent_text(PAGE, {"n": first}))
    assert response.status_code == 200
    assert body["data"] == {"customers": None}
    assert code_of(body) == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["argument"] == "first"


# ------------------------------------------------------------------ without a token


@pytest.mark.parametrize(
    "query",
    [ALIASES_100, CIRCULAR_INTROSPECTION, INTROSPECT_SCHEMA, "{ me { emial } }", ADD_CUSTOMER],
    ids=["aliases", "circular introspection", "introspection", "typo", "mutation"],
)
def test_an_anonymous_probe_is_401(http, query):
    # when: the tools' default, no credentials
    response = post(http, {}, query)

    # then: nothing about the document or the schema
    assert_refused_with_request_id(response, 401, "UNAUTHENTICATED")
    assert response.headers["www-authenticate"] == "Bearer"


# ------------------------------------------------------------------ 12. request ids


# response -> how to get it, given the signed-in user's headers and the headers to add
RESPONSES = {
    "200": lambda http, auth, extra: post(http, {**auth, **extra}, ME),
    "400 refused document": lambda http, auth, extra: post(http, {**auth, **extra}, ALIASES_100),
    "400 batch": lambda http, auth, extra: http.post(
        "/graphql", json=[{"query": ME}], headers={**auth, **extra}
    ),
    "401": lambda http, auth, extra: post(http, extra, ME),
    "405": lambda http, auth, extra: http.get(
        "/graphql", params={"query": "mutation { __typename }"}, headers={**auth, **extra}
    ),
    "413": lambda http, auth, extra: post_raw(http, {**auth, **extra}, _padded(TWO_MEGABYTES)),
    "415": lambda http, auth, extra: http.post(
        "/graphql", data={"query": ME}, headers={**auth, **extra}
    ),
    "404": lambda http, auth, extra: http.get("/graphiql", headers=extra),
    "healthz": lambda http, auth, extra: http.get("/healthz", headers=extra),
}


@pytest.mark.parametrize("send", RESPONSES.values(), ids=RESPONSES.keys())
def test_every_response_has_a_request_id_and_echoes_a_sane_one(http, viewer, send):
    # when: sent without and with an id of the client's
    fresh = send(http, viewer, {})
    echoed = send(http, viewer, {"X-Request-ID": "audit-probe.1_A"})

    # then: a fresh id of ours, or the client's (in an error body too, where there is one)
    assert re.fullmatch(r"[0-9a-f]{32}", fresh.headers["x-request-id"])
    assert echoed.headers.get_list("x-request-id") == ["audit-probe.1_A"]
    assert echoed.status_code == fresh.status_code
    if echoed.headers["content-type"].startswith("application/json"):
        for error in echoed.json().get("errors", []):
            assert error["extensions"].get("requestId", "audit-probe.1_A") == "audit-probe.1_A"


@pytest.mark.parametrize(
    "incoming", ["has spaces", "x" * 65, "semi;colon", "<script>", ""], ids=repr
)
def test_a_malformed_request_id_is_replaced(http, viewer, incoming):
    # when
    response = http.post(
        "/graphql", json={"query": ME}, headers={**viewer, "X-Request-ID": incoming}
    )

    # then: one fresh id instead
    assert response.status_code == 200
    assert response.headers.get_list("x-request-id") != [incoming]
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
    assert len(response.headers.get_list("x-request-id")) == 1
