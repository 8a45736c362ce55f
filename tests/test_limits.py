"""Limits on what one document may ask for — operations, directives, estimated cost — and
the authorizer's expansion of fragments, which must be complete and stay linear."""

import re
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from graphql import parse
from sqlalchemy import event
from starlette.testclient import TestClient

from benchmarks.__main__ import Q2, Q3, Q5, Q6
from benchmarks.authorization_overhead import EVERY_FIELD
from graph.app import create_app
from graph.auth import mint_token
from graph.execution import _collect, selected_coordinates
from graph.schema import build_schema
from graph.validation import UNPAGED_LIST_SIZE, DocumentValidator
from models.settings import Settings
from tests.conftest import World, without_request_ids

README = Path(__file__).resolve().parent.parent / "README.md"
ME_USER = "limits@home.example"
# 25 fragments, each spreading the next twice, once from inside a nested inline fragment:
# 2**24 paths to one field, which execution collects once.
FAN_OUT = (
    "query { ...F0 }\n"
    + "".join(
        f"fragment F{i} on Query {{ ... on Query {{ ...F{n} ... on Query {{ ...F{n} }} }} }}\n"
        for i, n in ((i, i + 1) for i in range(24))
    )
    + "fragment F24 on Query { me { email } }\n"
)
EXPENSIVE = """
{ customers(first: 1000) { edges { node { agreements { packages { serviceAmounts {
    consumption(first: 1000) { edges { node { date quantity description } } }
} } } } } } }
"""
EXPENSIVE_WITH_VARIABLES = """
query($n: Int!) { customers(first: $n) { edges { node { agreements { packages { serviceAmounts {
    consumption(first: $n) { edges { node { date } } }
} } } } } } }
"""
SMALL_LITERALS = EXPENSIVE_WITH_VARIABLES.replace("query($n: Int!) ", "").replace("$n", "1")


def bearer(email: str, settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(email, settings)}"}


def code_of(response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


def codes_of(response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json().get("errors", [])]


@pytest.fixture(scope="module")
def _apps(database_url, engine):
    """Apps with other limits, one per set of limits, shared by the module's tests."""
    made: dict[tuple, TestClient] = {}
    yield made
    for client in made.values():
        client.close()


@pytest.fixture
def limited(_apps, settings, engine):
    """An app with other limits: returns a function that posts a query to it as Home's admin."""

    def post(query: str, variables: dict | None = None, **limits):
        key = tuple(sorted(limits.items()))
        tight = settings.model_copy(update=limits)
        if key not in _apps:
            _apps[key] = TestClient(create_app(tight, engine=engine))
        return _apps[key].post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers=bearer(World.email("admin"), tight),
        )

    return post


@pytest.fixture(scope="module")
def schema():
    return build_schema()._schema


@contextmanager
def statements(engine):
    executed: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        executed.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield executed
    finally:
        event.remove(engine, "before_cursor_execute", record)


# ------------------------------------------------------------------ directives


def test_many_repeated_directives_on_a_field_are_refused(client, settings):
    # given: ten @skip directives on one field
    query = "{ me { email" + " @skip(if: false)" * 10 + " } }"

    # when
    response = client.post("/graphql", json={"query": query}, headers=bearer(ME_USER, settings))

    # then: refused by the limit alone, before the specification's rules ran
    assert response.status_code == 400
    assert codes_of(response) == ["TOO_MANY_DIRECTIVES"]
    assert response.json()["data"] is None


@pytest.mark.parametrize(
    "query",
    [
        "query Q @a @b @c @d @e @f { me { email } }",
        "{ me { ...E @a @b @c @d @e @f } } fragment E on Viewer { email }",
        "{ me { ... on Viewer @a @b @c @d @e @f { email } } }",
        "query($v: Int @a @b @c @d @e @f) { me { email } }",
    ],
    ids=["operation", "fragment spread", "inline fragment", "variable definition"],
)
def test_the_directive_limit_holds_wherever_directives_go(client, settings, query):
    # when: six directives (the default limit is five) in one place
    response = client.post("/graphql", json={"query": query}, headers=bearer(ME_USER, settings))

    # then
    assert response.status_code == 400
    assert codes_of(response) == ["TOO_MANY_DIRECTIVES"]


def test_directives_within_the_limit_work(client, settings):
    # when: @include and @skip together, both letting the field through
    query = "{ me { email @include(if: true) @skip(if: false) } }"
    response = client.post("/graphql", json={"query": query}, headers=bearer(ME_USER, settings))

    # then
    assert response.status_code == 200
    assert response.json() == {"data": {"me": {"email": ME_USER}}}


def test_the_directive_limit_is_a_setting(limited, world):
    # when: the same two directives against a limit of one
    response = limited("{ me { email @include(if: true) @skip(if: false) } }", max_directives=1)

    # then
    assert response.status_code == 400
    assert codes_of(response) == ["TOO_MANY_DIRECTIVES"]


# ------------------------------------------------------------------ operations per document


def _operations(count: int) -> str:
    return " ".join(f"query Q{i} {{ me {{ email }} }}" for i in range(count))


def test_a_document_with_ten_operations_runs_the_named_one(client, settings):
    # when
    response = client.post(
        "/graphql",
        json={"query": _operations(10), "operationName": "Q9"},
        headers=bearer(ME_USER, settings),
    )

    # then
    assert response.status_code == 200
    assert response.json() == {"data": {"me": {"email": ME_USER}}}


def test_a_document_with_eleven_operations_is_refused(client, settings):
    # when
    response = client.post(
        "/graphql",
        json={"query": _operations(11), "operationName": "Q0"},
        headers=bearer(ME_USER, settings),
    )

    # then
    assert response.status_code == 400
    assert codes_of(response) == ["TOO_MANY_OPERATIONS"]
    assert response.json()["data"] is None


def test_the_operation_limit_is_a_setting(limited, world):
    # when: two operations against a limit of one
    response = limited(_operations(2), max_operations=1)

    # then
    assert response.status_code == 400
    assert codes_of(response) == ["TOO_MANY_OPERATIONS"]


# ------------------------------------------------------------------ estimated cost


def test_a_query_multiplying_big_pages_through_nested_lists_is_refused(client, settings, engine):
    # given: 1000 customers * their agreements * packages * service amounts * 1000 records
    headers = bearer(World.GLOBAL_ADMIN, settings)

    # when
    with statements(engine) as executed:
        response = client.post("/graphql", json={"query": EXPENSIVE}, headers=headers)

    # then: 400 before execution, with the code and the limit
    assert response.status_code == 400
    body = response.json()
    assert body["data"] is None
    assert [without_request_ids(e["extensions"]) for e in body["errors"]] == [
        {"code": "QUERY_TOO_COSTLY", "maxCost": 20_000_000}
    ]
    # and: signing in was the only database work, no customer was read
    assert executed
    assert not [s for s in executed if "FROM customer" in s]


def test_the_benchmark_query_with_every_customer_field_is_served(client, settings, world: World):
    # when: customers(first: 1000) with every customer field, the page size in a variable
    response = client.post(
        "/graphql",
        json={"query": EVERY_FIELD, "variables": {"first": 1000}},
        headers=bearer(World.email("admin"), settings),
    )

    # then
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body
    assert body["data"]["customers"]["totalCount"] == 3
    assert body["data"]["customers"]["edges"][0]["node"]["companyName"] == "Home Customer 0"


def _readme_queries() -> list[str]:
    text = README.read_text()
    found = re.findall(r"`((?:query|mutation)?\s*\{ [^`]*\})`", text)
    return [q.replace('"<id>"', '"V29ya2dyb3VwOjE="') for q in found]


def test_the_readme_shows_queries():
    # the next test is only worth something if it finds the README's examples
    assert len(_readme_queries()) >= 10


@pytest.mark.parametrize(
    "query",
    [*_readme_queries(), Q2, Q3, Q5, Q6, EVERY_FIELD],
    ids=lambda q: " ".join(q.split())[:50],
)
def test_the_documented_and_benchmarked_queries_are_within_the_default_limits(schema, query):
    # given: the validator as the service builds it from its default settings
    validator = DocumentValidator.from_settings(Settings())

    # when
    errors = validator(schema, parse(query))

    # then: valid, and within every limit (page sizes in variables count at the maximum)
    assert errors == []


def test_a_page_size_in_a_variable_counts_at_the_maximum(client, settings, world: World):
    # given: the expensive shape, with its page sizes as a variable
    headers = bearer(World.email("admin"), settings)

    # when: it is sent with a page size of 1, and the same query with literal 1s
    variable = client.post(
        "/graphql",
        json={"query": EXPENSIVE_WITH_VARIABLES, "variables": {"n": 1}},
        headers=headers,
    )
    literal = client.post("/graphql", json={"query": SMALL_LITERALS}, headers=headers)

    # then: the document is judged once, whatever the value, so the variable counts at 1000;
    # the literal version is cheap and runs
    assert variable.status_code == 400
    assert codes_of(variable) == ["QUERY_TOO_COSTLY"]
    assert literal.status_code == 200, literal.text
    assert literal.json()["data"]["customers"]["edges"][0]["node"] == {"agreements": []}


# customers(first: N) { edges { node { id } } } costs 1 + N * (edges 1 + node (1 + id 1)).
def _page(first: int) -> str:
    return f"{{ customers(first: {first}) {{ edges {{ node {{ id }} }} }} }}"


@pytest.mark.parametrize(("first", "served"), [(33, True), (34, False)], ids=["100", "103"])
def test_the_cost_limit_is_a_setting_and_exact(limited, world, first, served):
    # when: against a limit of 100
    response = limited(_page(first), max_query_cost=100)

    # then
    if served:
        assert response.status_code == 200, response.text
        assert len(response.json()["data"]["customers"]["edges"]) == 3
    else:
        assert response.status_code == 400
        assert codes_of(response) == ["QUERY_TOO_COSTLY"]


def test_a_missing_first_counts_at_the_fields_default(limited, world):
    # given: customers defaults to 50 a page: 1 + 50 * 3 = 151
    query = "{ customers { edges { node { id } } } }"

    # when
    refused = limited(query, max_query_cost=150)
    served = limited(query, max_query_cost=151)

    # then
    assert codes_of(refused) == ["QUERY_TOO_COSTLY"]
    assert served.status_code == 200, served.text


def test_a_list_without_first_counts_as_a_few_items(limited, world):
    # given: 1 + 1 * (edges 1 + node (1 + agreements (1 + LIST * id 1)))
    query = "{ customers(first: 1) { edges { node { agreements { id } } } } }"
    cost = 1 + 1 * (1 + (1 + (1 + UNPAGED_LIST_SIZE * 1)))

    # when
    refused = limited(query, max_query_cost=cost - 1)
    served = limited(query, max_query_cost=cost)

    # then
    assert codes_of(refused) == ["QUERY_TOO_COSTLY"]
    assert served.status_code == 200, served.text


def test_a_fragment_spread_twice_into_one_selection_counts_once(limited, world):
    # given: the 100-cost page, its field from a fragment spread twice (execution merges them)
    query = (
        "{ customers(first: 33) { edges { node { ...Id ...Id } } } } fragment Id on Customer { id }"
    )

    # when
    response = limited(query, max_query_cost=100)

    # then
    assert response.status_code == 200, response.text


def test_a_page_larger_than_allowed_gets_the_page_size_error(client, settings, world: World):
    # when: `first` beyond the maximum page size (it counts at the maximum for the cost)
    response = client.post(
        "/graphql",
        json={"query": _page(5000)},
        headers=bearer(World.email("admin"), settings),
    )

    # then: the specific complaint about `first`, not a cost refusal
    assert codes_of(response) == ["BAD_USER_INPUT"]
    assert "first" in response.json()["errors"][0]["message"]


def test_fragments_spreading_each_other_are_costed_as_execution_collects_them(limited):
    # when: the fan-out of 2**24 paths to `me { email }` against a limit of 2
    response = limited(FAN_OUT, max_query_cost=2)

    # then: a spread already collected into a selection adds nothing, as in execution:
    # the cost is 2 (me, email), not 2**25
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"me": {"email": World.email("admin")}}}


# ------------------------------------------------------------------ expanding fragments


def test_fragments_spread_twice_at_every_level_are_expanded_quickly(client, settings):
    # when: the fan-out document is served
    started = time.perf_counter()
    response = client.post("/graphql", json={"query": FAN_OUT}, headers=bearer(ME_USER, settings))

    # then: answered, without walking 2**24 paths in validation or in the authorizer
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"me": {"email": ME_USER}}}
    assert time.perf_counter() - started < 2


def _collect_calls(schema, document: str) -> tuple[int, frozenset]:
    """How many times the authorizer's fragment expansion recursed, counted by the profiler."""
    parsed = parse(document)
    fragments = {d.name.value: d for d in parsed.definitions if d.kind == "fragment_definition"}
    operation = next(d for d in parsed.definitions if d.kind == "operation_definition")
    calls = [0]

    def profile(frame, event, _arg):
        if event == "call" and frame.f_code is _collect.__code__:
            calls[0] += 1

    sys.setprofile(profile)
    try:
        found = selected_coordinates(schema, operation, fragments)
    finally:
        sys.setprofile(None)
    return calls[0], found


def test_each_fragment_is_expanded_once_per_set_of_parent_types(schema):
    # when: the authorizer collects the fan-out's coordinates
    calls, found = _collect_calls(schema, FAN_OUT)

    # then: the two coordinates, in a few calls per fragment (not one per path)
    assert found == {("Query", "me"), ("Viewer", "email")}
    assert calls <= 4 * 25


# The same fragment under two parents: each spread sits in an inline fragment of its own, so
# each is expanded under a different short-lived list of parent types.
RANK_THROUGH_A_SHARED_FRAGMENT = """
{ workgroups { edges { node { ... on Workgroup { ...Named } } } }
  customers { edges { node { ... on Customer { ...Named } } } } }
fragment Named on Node { ... on Customer { companyName rank } ... on Workgroup { name } }
"""


def test_a_fragment_shared_by_two_parents_is_guarded_under_both(gql, world: World):
    # when: a sales agent, who may not read Customer.rank, asks for it through a fragment
    # that is first expanded under Workgroup, then under Customer
    body = gql(World.email("sales_agent"), RANK_THROUGH_A_SHARED_FRAGMENT)

    # then: the workgroup's name and the customers' names, and rank null and FORBIDDEN
    assert body["data"]["workgroups"]["edges"] == [{"node": {"name": "Home"}}]
    nodes = [e["node"] for e in body["data"]["customers"]["edges"]]
    assert [n["companyName"] for n in nodes] == [f"Home Customer {i}" for i in range(3)]
    assert [n["rank"] for n in nodes] == [None, None, None]
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
    assert len(body["errors"]) == 3


SHARED = "fragment X on Node { ... on Customer { companyName rank } ... on Workgroup { name } }"
AROUND_WORKGROUP = ["...X", "... { ...X }", "... on Node { ...X }", "... on Workgroup { ...X }"]
AROUND_CUSTOMER = ["...X", "... { ...X }", "... on Node { ...X }", "... on Customer { ...X }"]


def _shared_fragment_documents() -> list[str]:
    documents = []
    for before in ["", "me { email }", "a: me { email } b: me { email }"]:
        for around_workgroup in AROUND_WORKGROUP:
            for around_customer in AROUND_CUSTOMER:
                workgroups = f"workgroups {{ edges {{ node {{ {around_workgroup} }} }} }}"
                customers = f"customers {{ edges {{ node {{ {around_customer} }} }} }}"
                documents.append(f"{{ {before} {workgroups} {customers} }} {SHARED}")
                documents.append(f"{{ {before} {customers} {workgroups} }} {SHARED}")
    return documents


def test_every_coordinate_of_a_shared_fragment_is_collected(schema):
    # given: the fragment reached under Workgroup and under Customer, wrapped in every way
    documents = _shared_fragment_documents()

    # when
    incomplete = []
    for document in documents:
        parsed = parse(document)
        fragments = {d.name.value: d for d in parsed.definitions if d.kind == "fragment_definition"}
        operation = next(d for d in parsed.definitions if d.kind == "operation_definition")
        coordinates = selected_coordinates(schema, operation, fragments)
        wanted = {("Customer", "rank"), ("Customer", "companyName"), ("Workgroup", "name")}
        if not wanted <= coordinates:
            incomplete.append(document)

    # then: the fragment's fields under both parents, every time (a missed coordinate would
    # go unguarded: rank would reach a sales agent)
    assert len(documents) == 96
    assert incomplete == []
