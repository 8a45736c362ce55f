"""Hostile input gets a clear error, quickly, and changes nothing: documents that would make
validation quadratic, NUL characters, dates at the edges of the calendar, huge CSV headers,
uploads refused before their body is read, and clients that hang up mid-body.

Work is bounded by counting (validation passes, selections walked, body bytes received,
comparisons made), never by the clock."""

import asyncio
import logging

import pytest
from graphql import FieldNode, OverlappingFieldsCanBeMergedRule, parse, visit
from graphql.language import Visitor
from starlette.testclient import TestClient

import graph.validation as validation
import models
from graph.app import create_app
from graph.auth import mint_token
from graph.ids import encode_id
from graph.schema import build_schema
from models.imports import jobs as imports
from models.settings import Settings
from tests.conftest import World, table_rows

ME_USER = "hostile@home.example"
ADMIN = World.email("admin")

# ------------------------------------------------------------------ documents

# The report's document: 13 KB, 990 copies of one selection (1980 fields), under the token limit.
COPIES_990 = "{" + " me { email }" * 990 + "}"
# graphql-cop's field duplication: 500 identical fields, which execution merges into one.
TYPENAME_500 = "{" + " __typename" * 500 + "}"
# 500 identical copies of a selection with a sub-selection (1000 fields): merged, one compared.
COPIES_500 = "{" + " me { email }" * 500 + "}"
THREE_SELECTIONS = "{ me { email id } }"


def variants_of_me(count: int) -> str:
    """`me` selected `count` times in one place, each copy different (its own variable in
    @include), so that no two of them are merged as identical."""
    variables = ", ".join(f"$v{i}: Boolean = true" for i in range(count))
    copies = " ".join(f"me @include(if: $v{i}) {{ email }}" for i in range(count))
    return f"query({variables}) {{ {copies} }}"


# Each fragment spreads the next at two different places (aliased fields): 2**20 paths once
# expanded, in a document of a few hundred tokens.
DOUBLING = (
    "query($id: ID!) { customer(id: $id) { ...F0 } }"
    + "".join(
        f" fragment F{i} on Customer {{"
        f" a: workgroup {{ customers(first: 1) {{ edges {{ node {{ ...F{i + 1} }} }} }} }}"
        f" b: workgroup {{ customers(first: 1) {{ edges {{ node {{ ...F{i + 1} }} }} }} }} }}"
        for i in range(20)
    )
    + " fragment F20 on Customer { id }"
)
SAME_TOKENS = "{ me { nope } }"
SAME_TOKENS_RESPACED = "# the same document\n{\n  me {\n    nope ,,\n  }\n}\n"

# ------------------------------------------------------------------ NUL

CUSTOMERS_SEARCH = "query($s: String) { customers(search: $s) { totalCount } }"
CUSTOMERS_SEARCH_LITERAL = '{ customers(search: "harbor\\u0000") { totalCount } }'
SUPPORT_CASES_SEARCH = "query($s: String) { supportCases(search: $s) { totalCount } }"
EXPLAIN_ACCESS = """
query($email: String!, $wg: ID!) {
  explainAccess(email: $email, coordinate: "Customer.rank", workgroupId: $wg) { allowed }
}
"""
ACTIVITY_BY_ACTOR = "query($s: String) { activity(actorEmail: $s) { totalCount } }"
ADD_CUSTOMER = """
mutation($input: AddCustomerInput!) {
  addCustomer(input: $input) { customer { id } errors { field code } }
}
"""
ADD_CUSTOMER_LITERAL = """
mutation { addCustomer(input: {workgroupId: "%s", companyName: "Acme\\u0000 Ltd",
  primaryDomain: "acme.example"}) { customer { id } errors { field code } } }
"""
OPEN_CASE = """
mutation($input: OpenSupportCaseInput!) {
  openSupportCase(input: $input) { supportCase { id } errors { field code } }
}
"""
GRANT_ROLE = """
mutation($email: String!, $wg: ID!) {
  grantRole(email: $email, role: SALES_AGENT, workgroupId: $wg) { errors { field code } }
}
"""
ADD_CONTACT = """
mutation($input: AddContactInput!) {
  addContact(input: $input) { contact { id } errors { field code } }
}
"""
ADD_TAGS = """
mutation($id: ID!, $tags: [String!]!) {
  addTags(customerId: $id, tags: $tags) { errors { field code } }
}
"""

# ------------------------------------------------------------------ dates

ACTIVITY_BETWEEN = """
query($from: DateTime, $to: DateTime) { activity(from: $from, to: $to) { totalCount } }
"""
ADD_CONTRACT = """
mutation($id: ID!, $input: AddContractInput!) {
  addContract(customerId: $id, input: $input) { contract { startsOn endsOn } errors { field code } }
}
"""


def bearer(email: str, settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(email, settings)}"}


def codes_of(response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json().get("errors", [])]


@pytest.fixture(scope="module")
def _apps(database_url, engine):
    made: dict[tuple, TestClient] = {}
    yield made
    for client in made.values():
        client.close()


@pytest.fixture
def limited(_apps, settings, engine):
    """Posts a query, as ME_USER, to an app with other limits."""

    def post(query: str, variables: dict | None = None, **limits):
        key = tuple(sorted(limits.items()))
        tight = settings.model_copy(update=limits)
        if key not in _apps:
            _apps[key] = TestClient(create_app(tight, engine=engine))
        return _apps[key].post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers=bearer(ME_USER, tight),
        )

    return post


@pytest.fixture
def validations(monkeypatch) -> list[tuple]:
    """Every call of graphql-core's validate() by the service: (document, rules)."""
    calls: list[tuple] = []
    real = validation.validate

    def recording(schema, document, rules, *args, **kwargs):
        calls.append((document, tuple(rules)))
        return real(schema, document, rules, *args, **kwargs)

    monkeypatch.setattr(validation, "validate", recording)
    return calls


def overlap_checks(calls: list[tuple]) -> list:
    """The documents the specification's (quadratic) overlapping-fields rule was run on."""
    return [document for document, rules in calls if OverlappingFieldsCanBeMergedRule in rules]


def fields_named(document, name: str) -> int:
    found = [0]

    class Count(Visitor):
        def enter_field(self, node: FieldNode, *_args):
            if node.name.value == name:
                found[0] += 1

    visit(document, Count())
    return found[0]


# ================================================================== 1. validation is bounded


def test_990_copies_of_a_field_are_refused_before_the_overlap_check(client, settings, validations):
    # when: the 13 KB document of 990 copies of `me { email }` is sent
    response = client.post(
        "/graphql", json={"query": COPIES_990}, headers=bearer(ME_USER, settings)
    )

    # then: a clear 400 with the limit
    assert response.status_code == 400
    body = response.json()
    assert body["data"] is None
    assert codes_of(response) == ["TOO_MANY_SELECTIONS"]
    assert body["errors"][0]["extensions"]["maxSelections"] == 1500
    # and: only the cheap limit pass ran; the quadratic specification rules never did
    assert len(validations) == 1
    assert overlap_checks(validations) == []


@pytest.mark.parametrize(("limit", "served"), [(3, True), (2, False)])
def test_the_selection_limit_is_a_setting_and_exact(limited, limit, served):
    # when: a document of three selections (me, email, id) against a limit of `limit`
    response = limited(THREE_SELECTIONS, max_selections=limit)

    # then
    if served:
        assert response.status_code == 200, response.text
        assert response.json()["data"]["me"]["email"] == ME_USER
    else:
        assert response.status_code == 400
        assert codes_of(response) == ["TOO_MANY_SELECTIONS"]


def test_fragments_count_wherever_they_are_spread_and_the_count_stops_at_the_limit(
    limited, validations
):
    # given: fragments doubling at every level: 2**20 paths, far too many to walk
    document = parse(DOUBLING)

    # when: the selections are counted against the default limit
    count, _ = validation._walk(document, 1500)

    # then: the walk stopped one step past the limit (each step counts one selection)
    assert count == 1501

    # and when: it is sent (depth, aliases and cost set out of the way)
    response = limited(
        DOUBLING,
        {"id": encode_id("Customer", 1)},
        max_query_depth=1000,
        max_aliases=1000,
        max_query_cost=2**62,
    )

    # then: refused by the selection count alone, before the specification's rules
    assert response.status_code == 400
    assert codes_of(response) == ["TOO_MANY_SELECTIONS"]
    assert overlap_checks(validations) == []


def test_more_than_30_different_copies_of_a_field_in_one_place_are_refused(
    client, settings, validations
):
    # when: 31 copies of `me` that differ (so none is merged away) in one selection set
    response = client.post(
        "/graphql", json={"query": variants_of_me(31)}, headers=bearer(ME_USER, settings)
    )

    # then: refused before the overlapping-fields rule compares 465 pairs
    assert response.status_code == 400
    assert codes_of(response) == ["TOO_MANY_REPEATED_FIELDS"]
    assert response.json()["errors"][0]["extensions"]["maxRepeatedFields"] == 30
    assert overlap_checks(validations) == []


def test_30_different_copies_of_a_field_in_one_place_are_served(client, settings):
    # when
    response = client.post(
        "/graphql", json={"query": variants_of_me(30)}, headers=bearer(ME_USER, settings)
    )

    # then
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"me": {"email": ME_USER}}}


def test_identical_copies_are_merged_before_the_overlap_check(client, settings, validations):
    # when: 500 identical copies of `me { email }` (1000 selections, within the limit)
    response = client.post(
        "/graphql", json={"query": COPIES_500}, headers=bearer(ME_USER, settings)
    )

    # then: served, as execution merges them
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"me": {"email": ME_USER}}}
    # and: the overlapping-fields rule saw one `me`, not 500 (no 124,750 comparisons)
    [checked] = overlap_checks(validations)
    assert fields_named(checked, "me") == 1
    assert fields_named(parse(COPIES_500), "me") == 500


def test_graphql_cops_500_duplicated_fields_are_still_answered(client, settings, validations):
    # when
    response = client.post(
        "/graphql", json={"query": TYPENAME_500}, headers=bearer(ME_USER, settings)
    )

    # then
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"__typename": "Query"}}
    [checked] = overlap_checks(validations)
    assert fields_named(checked, "__typename") == 1


def test_the_verdict_cache_ignores_whitespace_commas_and_comments(validations):
    # given: a validator and two spellings of the same invalid document
    schema = build_schema()._schema
    validator = validation.DocumentValidator.from_settings(Settings())
    first = validator(schema, parse(SAME_TOKENS))
    passes = len(validations)

    # when: the other spelling is validated
    second = validator(schema, parse(SAME_TOKENS_RESPACED))

    # then: the cached verdict, without validating again, placed in the second document
    assert len(validations) == passes
    assert [e.message for e in second] == [e.message for e in first]
    assert [(loc.line, loc.column) for loc in first[0].locations] == [(1, 8)]
    assert [(loc.line, loc.column) for loc in second[0].locations] == [(4, 5)]

    # and: a document with other tokens is validated anew
    validator(schema, parse("{ me { nope2 } }"))
    assert len(validations) > passes


# ================================================================== 3. NUL characters


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (CUSTOMERS_SEARCH, {"s": "harbor\x00"}),
        (CUSTOMERS_SEARCH_LITERAL, None),
        (SUPPORT_CASES_SEARCH, {"s": "\x00"}),
        (ACTIVITY_BY_ACTOR, {"s": "admin\x00@home.example"}),
        (EXPLAIN_ACCESS, {"email": "sales\x00@home.example", "wg": "WG"}),
    ],
    ids=["customers search", "customers search literal", "supportCases search", "actor", "explain"],
)
def test_a_nul_in_a_query_argument_is_bad_user_input(client, settings, world, query, variables):
    # given
    if variables and variables.get("wg") == "WG":
        variables = {**variables, "wg": encode_id("Workgroup", world.home.id)}

    # when
    response = client.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers=bearer(ADMIN, settings),
    )

    # then: the same clear refusal on SQLite and PostgreSQL, nothing executed
    assert response.status_code == 400, response.text
    assert response.json()["data"] is None
    assert codes_of(response) == ["BAD_USER_INPUT"]
    assert "NUL" in response.json()["errors"][0]["message"]


def _mutations(world) -> list[tuple[str, str, dict | None]]:
    workgroup = encode_id("Workgroup", world.home.id)
    customer = encode_id("Customer", world.home_customers[0].id)
    return [
        (
            "addCustomer",
            ADD_CUSTOMER,
            {
                "input": {
                    "workgroupId": workgroup,
                    "companyName": "Acme\x00 Ltd",
                    "primaryDomain": "acme.example",
                }
            },
        ),
        ("addCustomer literal", ADD_CUSTOMER_LITERAL % workgroup, None),
        (
            "openSupportCase",
            OPEN_CASE,
            {"input": {"workgroupId": workgroup, "title": "Down\x00", "severity": "A"}},
        ),
        ("grantRole", GRANT_ROLE, {"email": "new\x00@home.example", "wg": workgroup}),
        (
            "addContact",
            ADD_CONTACT,
            {
                "input": {
                    "workgroupId": workgroup,
                    "firstName": "Ada",
                    "lastName": "Lovelace",
                    "email": "ada\x00@home0.example",
                }
            },
        ),
        ("addTags", ADD_TAGS, {"id": customer, "tags": ["ok", "bad\x00tag"]}),
    ]


MUTATION_NAMES = [
    "addCustomer",
    "addCustomer literal",
    "openSupportCase",
    "grantRole",
    "addContact",
    "addTags",
]


@pytest.mark.parametrize("name", MUTATION_NAMES)
def test_a_nul_in_a_mutations_input_is_bad_user_input_and_changes_nothing(
    client, settings, world, engine, name
):
    # given
    _, mutation, variables = next(m for m in _mutations(world) if m[0] == name)
    tables = list(models.metadata.tables)
    before = table_rows(engine, tables)

    # when
    response = client.post(
        "/graphql",
        json={"query": mutation, "variables": variables or {}},
        headers=bearer(ADMIN, settings),
    )

    # then: refused before anything ran, and every table is as it was
    assert response.status_code == 400, response.text
    assert response.json()["data"] is None
    assert codes_of(response) == ["BAD_USER_INPUT"]
    assert table_rows(engine, tables) == before


def test_text_without_nul_still_goes_through(client, settings, world):
    # when: the same search without the NUL
    response = client.post(
        "/graphql",
        json={"query": CUSTOMERS_SEARCH, "variables": {"s": "Home Customer 1"}},
        headers=bearer(ADMIN, settings),
    )

    # then
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"customers": {"totalCount": 1}}}


# ================================================================== 4. dates at the edges


@pytest.mark.parametrize(
    ("variables", "argument"),
    [
        ({"from": "0001-01-01T00:00:00+14:00"}, "from"),
        ({"to": "9999-12-31T23:59:59-12:00"}, "to"),
        ({"from": "0001-01-01T00:00:00+14:00", "to": "9999-12-31T23:59:59-12:00"}, "from"),
    ],
    ids=["from", "to", "both"],
)
def test_a_moment_outside_the_calendar_in_utc_is_bad_user_input(
    client, settings, world, variables, argument
):
    # when
    response = client.post(
        "/graphql",
        json={"query": ACTIVITY_BETWEEN, "variables": variables},
        headers=bearer(ADMIN, settings),
    )

    # then: a clear error at the field, not an overflow
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] == {"activity": None}
    assert codes_of(response) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["argument"] == argument


def test_the_first_and_last_moments_in_utc_are_served(client, settings, world):
    # when: the widest range that exists in UTC
    response = client.post(
        "/graphql",
        json={
            "query": ACTIVITY_BETWEEN,
            "variables": {"from": "0001-01-01T00:00:00Z", "to": "9999-12-31T23:59:59+00:00"},
        },
        headers=bearer(ADMIN, settings),
    )

    # then
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body
    assert body["data"]["activity"]["totalCount"] >= 0


def test_a_contract_may_run_from_the_first_to_the_last_day(client, settings, world):
    # when
    response = client.post(
        "/graphql",
        json={
            "query": ADD_CONTRACT,
            "variables": {
                "id": encode_id("Customer", world.home_customers[0].id),
                "input": {
                    "name": "Forever",
                    "type": "HOURLY",
                    "startsOn": "0001-01-01",
                    "endsOn": "9999-12-31",
                },
            },
        },
        headers=bearer(ADMIN, settings),
    )

    # then
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    assert body["data"]["addContract"] == {
        "contract": {"startsOn": "0001-01-01", "endsOn": "9999-12-31"},
        "errors": [],
    }


# ================================================================== 2. CSV headers


def test_a_12000_column_header_is_refused_before_it_is_split(client, settings, world, monkeypatch):
    # given: a file whose header names 12,000 columns
    header = ",".join(f"column {n}" for n in range(12_000))
    readers = []
    real_reader = imports.csv.reader
    monkeypatch.setattr(
        imports.csv, "reader", lambda *a, **k: readers.append(1) or real_reader(*a, **k)
    )

    # when
    response = client.post(
        f"/imports/customers?workgroupId={encode_id('Workgroup', world.home.id)}",
        content=(header + "\r\nA,a.example\r\n").encode(),
        headers={**bearer(ADMIN, settings), "Content-Type": "text/csv"},
    )

    # then: a clear 400, and the header was never split into 12,000 cells
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "more than 1000 columns" in response.json()["errors"][0]["message"]
    assert readers == []


def test_a_header_at_the_column_limit_is_accepted(client, settings, world):
    # given: 1000 columns, the first two the required ones
    header = ["company name", "primary domain"] + [f"extra {n}" for n in range(998)]

    # when
    response = client.post(
        f"/imports/customers?workgroupId={encode_id('Workgroup', world.home.id)}",
        content=(",".join(header) + "\r\nA,a.example\r\n").encode(),
        headers={**bearer(ADMIN, settings), "Content-Type": "text/csv"},
    )

    # then
    assert response.status_code == 201, response.text
    assert len(response.json()["importJob"]["columns"]) == 1000


def test_a_repeated_column_among_1000_is_named(client, settings, world):
    # given
    header = ["company name", "primary domain"] + [f"extra {n}" for n in range(997)]
    header.append("extra 5")

    # when
    response = client.post(
        f"/imports/customers?workgroupId={encode_id('Workgroup', world.home.id)}",
        content=(",".join(header) + "\r\nA,a.example\r\n").encode(),
        headers={**bearer(ADMIN, settings), "Content-Type": "text/csv"},
    )

    # then
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "Column names must differ: extra 5."


class Counted(str):
    """A string that counts how often it is compared for equality."""

    comparisons = 0

    def __eq__(self, other):
        Counted.comparisons += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_checking_a_mapping_of_many_columns_takes_linear_work():
    # given: 2,000 columns, each mapped (the mapping a client sends may be as long)
    columns = [Counted(f"column {n}") for n in range(2000)]
    pairs = [(Counted(f"column {n}"), "companyName") for n in range(2000)]
    Counted.comparisons = 0

    # when
    errors = imports.check_mapping("CUSTOMERS", columns, pairs)

    # then: the problems found, with a few comparisons per column, not one per pair of them
    assert any("companyName" in e.message for e in errors)
    assert Counted.comparisons <= 10 * len(columns)


# ================================================================== 5. uploads before the body


class Upload:
    """Drives one POST through the ASGI app, feeding its body chunk by chunk and counting
    the bytes the app took before it started to answer."""

    CHUNK = b"x" * 65_536

    def __init__(self, app, path: str, headers: dict[str, str], chunks: int, *, hang_up=False):
        self.app = app
        self.path, _, self.query = path.partition("?")
        self.headers = headers
        self.chunks = chunks
        self.hang_up = hang_up  # disconnect after the first chunk
        self.sent = 0  # chunks handed to the app
        self.bytes_before_answer: int | None = None
        self.status: int | None = None
        self.body = b""

    def body_bytes(self) -> int:
        return self.chunks * len(self.CHUNK)

    async def receive(self) -> dict:
        if self.hang_up and self.sent == 1:
            return {"type": "http.disconnect"}
        self.sent += 1
        return {"type": "http.request", "body": self.CHUNK, "more_body": self.sent < self.chunks}

    async def send(self, message: dict) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.bytes_before_answer = self.sent * len(self.CHUNK)
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    def run(self) -> "Upload":
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": self.path,
            "raw_path": self.path.encode(),
            "root_path": "",
            "query_string": self.query.encode(),
            "headers": [(k.lower().encode(), v.encode()) for k, v in self.headers.items()],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        asyncio.run(self.app(scope, self.receive, self.send))
        return self


FORTY_FIVE_MB = 45_000_000 // len(Upload.CHUNK)  # chunks


def _import_path(world) -> str:
    return f"/imports/customers?workgroupId={encode_id('Workgroup', world.home.id)}"


@pytest.mark.parametrize(
    ("who", "status"),
    [("garbage", 401), (None, 401), (World.email("sales_agent"), 403), (World.ADMIN_AWAY, 404)],
    ids=["bad token", "no token", "no import role", "other workgroup"],
)
def test_an_upload_that_will_be_refused_is_refused_before_its_body_is_read(
    app, settings, world, who, status
):
    # given: a 45 MB upload that declares its length
    headers = {"Content-Type": "text/csv", "Content-Length": str(45_000_000)}
    if who == "garbage":
        headers["Authorization"] = "Bearer garbage"
    elif who is not None:
        headers.update(bearer(who, settings))

    # when
    upload = Upload(app, _import_path(world), headers, FORTY_FIVE_MB).run()

    # then: refused without taking a single byte of the body
    assert upload.status == status
    assert upload.bytes_before_answer == 0
    assert upload.sent == 0


def test_a_declared_length_over_the_limit_is_413_before_the_body_is_read(app, settings, world):
    # given: an admin, who may import, declaring more than CLIENTELE_IMPORT_MAX_BYTES
    headers = {
        **bearer(ADMIN, settings),
        "Content-Type": "text/csv",
        "Content-Length": str(settings.import_max_bytes + 1),
    }

    # when
    upload = Upload(app, _import_path(world), headers, FORTY_FIVE_MB).run()

    # then
    assert upload.status == 413
    assert upload.sent == 0
    assert b"PAYLOAD_TOO_LARGE" in upload.body


def test_an_undeclared_body_is_read_only_up_to_the_limit(settings, engine, world):
    # given: a limit of 1 MB, and an admin streaming 45 MB without a Content-Length
    small = create_app(settings.model_copy(update={"import_max_bytes": 1_000_000}), engine=engine)
    headers = {**bearer(ADMIN, settings), "Content-Type": "text/csv"}

    # when
    upload = Upload(small, _import_path(world), headers, FORTY_FIVE_MB).run()

    # then: 413 once the limit is passed, the rest never read
    assert upload.status == 413
    assert upload.bytes_before_answer <= 1_000_000 + len(Upload.CHUNK)
    assert upload.sent < FORTY_FIVE_MB


# ================================================================== 6. clients that hang up


@pytest.mark.parametrize("endpoint", ["graphql", "import"])
def test_a_client_that_hangs_up_mid_body_leaves_one_log_line(
    app, settings, world, caplog, endpoint
):
    # given: a request that declares 10 chunks and hangs up after the first
    path = "/graphql" if endpoint == "graphql" else _import_path(world)
    content_type = "application/json" if endpoint == "graphql" else "text/csv"
    headers = {
        **bearer(ADMIN, settings),
        "Content-Type": content_type,
        "Content-Length": str(10 * len(Upload.CHUNK)),
        "X-Request-ID": f"hang-up-{endpoint}",
    }

    # when
    with caplog.at_level(logging.DEBUG):
        upload = Upload(app, path, headers, 10, hang_up=True).run()

    # then: no exception escaped; one record, under the request id, without a traceback
    assert upload.sent == 1
    records = [r for r in caplog.records if f"hang-up-{endpoint}" in r.getMessage()]
    assert len(records) == 1
    assert records[0].request_id == f"hang-up-{endpoint}"
    assert records[0].exc_info is None
    assert not [r for r in caplog.records if r.exc_info]
