"""The permission ladder for every root query field: anonymous, signed in without a role, a
role in another workgroup, each role of the workgroup field by field, a global admin, and a
user whose roles differ between workgroups (the spec is tests/permission_table).

The tests of this module only read; they share one world built once (see `ladder`).
"""

from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from graph.ids import encode_id
from graph.schema import build_schema
from models.customers.tables import Customer
from tests.conftest import ROLES, World
from tests.permission_table import (
    CUSTOMER_FIELDS,
    CUSTOMER_READS,
    CUSTOMER_VIEWERS,
    MIXED,
    Ladder,
    errors_at,
    forbidden_paths,
    granted_to,
    ladder_world,
    select_field,
)

ME = "query { me { email roles { role workgroup { name } } } }"
WORKGROUPS = "query { workgroups { totalCount edges { node { name customers { totalCount } } } } }"
CUSTOMERS = """
query($workgroupId: ID) {
  customers(workgroupId: $workgroupId) {
    totalCount edges { node { id companyName workgroup { name } } }
  }
}
"""
CUSTOMER_BY_ID = "query($id: ID!) { customer(id: $id) { id companyName rank } }"
WORKGROUP_BY_ID = "query($id: ID!) { workgroup(id: $id) { id name customers { totalCount } } }"
NODE_BY_ID = """
query($id: ID!) {
  node(id: $id) { ... on Customer { id companyName rank } ... on Workgroup { id name } }
}
"""
# One selection of Customer fields through every path that reaches a customer.
EVERY_PATH = """
query Everywhere($id: ID!, $workgroupId: ID!) {{
  customer(id: $id) {{ id {fields} }}
  node(id: $id) {{ ... on Customer {{ id {fields} }} }}
  customers(status: null) {{ edges {{ node {{ id {fields} }} }} }}
  workgroup(id: $workgroupId) {{ customers(status: null) {{ edges {{ node {{ id {fields} }} }} }} }}
  workgroups {{ edges {{ node {{
    customers(status: null) {{ edges {{ node {{ id {fields} }} }} }}
  }} }} }}
}}
"""
EVERY_FIELD = " ".join(select_field(name) for name in CUSTOMER_FIELDS)
MIXED_ROWS = """
query($home: ID!, $away: ID!) {
  customers { edges { node { id companyName primaryDomain rank businessId workgroup { name } } } }
  home: customer(id: $home) { rank }
  away: customer(id: $away) { rank }
}
"""

# Every root query field, with a query that reaches it.
ROOT_QUERIES = {
    "me": ME,
    "node": NODE_BY_ID,
    "workgroups": WORKGROUPS,
    "workgroup": WORKGROUP_BY_ID,
    "customers": CUSTOMERS,
    "customer": CUSTOMER_BY_ID,
}

# Who is signed in, by a short name used in test ids.
VIEWERS = {
    **{role: World.email(role) for role in ROLES},
    "nobody": World.NOBODY,
    "admin_away": World.ADMIN_AWAY,
    "global_admin": World.GLOBAL_ADMIN,
    "mixed": MIXED,
}
# docs/permissions.md: the workgroups each viewer sees by name ("Workgroup name": every role), and
# the workgroups whose customers they see ("Customer identity": every role but member).
# fmt: off
VISIBILITY: dict[str, tuple[set[str], set[str]]] = {
    #                  workgroups         customers of
    "admin":             ({"Home"},         {"Home"}),
    "admin_agent":       ({"Home"},         {"Home"}),
    "sales_agent":       ({"Home"},         {"Home"}),
    "customer_activity": ({"Home"},         {"Home"}),
    "training_manager":  ({"Home"},         {"Home"}),
    "support_viewer":    ({"Home"},         {"Home"}),
    "member":            ({"Home"},         set()),
    "nobody":            (set(),            set()),
    "admin_away":        ({"Away"},         {"Away"}),
    "global_admin":      ({"Home", "Away"}, {"Home", "Away"}),
    "mixed":             ({"Home", "Away"}, {"Home", "Away"}),
}
# The roles each viewer holds, as `me` lists them.
OWN_ROLES: dict[str, list[dict[str, Any]]] = {
    **{role: [{"role": role.upper(), "workgroup": {"name": "Home"}}] for role in ROLES},
    "nobody":       [],
    "admin_away":   [{"role": "ADMIN", "workgroup": {"name": "Away"}}],
    "global_admin": [{"role": "ADMIN", "workgroup": None}],
    "mixed":        [{"role": "ADMIN", "workgroup": {"name": "Home"}},
                     {"role": "SALES_AGENT", "workgroup": {"name": "Away"}}],
}
# fmt: on
MIXED_ROLES = {"Home": "admin", "Away": "sales_agent"}
# An id of the right type that names nothing.
MISSING_CUSTOMER = encode_id("Customer", 999999)
MISSING_WORKGROUP = encode_id("Workgroup", 999999)


@pytest.fixture(scope="module")
def ladder(engine, database_url) -> Iterator[Ladder]:
    yield from ladder_world(engine, database_url)


@pytest.fixture(autouse=True)
def _empty_tables() -> Iterator[None]:
    """Overrides the per-test emptying of conftest: this module only reads, and `ladder`
    empties the tables once when the module is done."""
    yield


def customers_of(ladder: Ladder, workgroup_names: set[str]):
    """The world's active customers of those workgroups."""
    world = ladder.world
    rows = []
    if "Home" in workgroup_names:
        rows += world.home_customers[:-1]
    if "Away" in workgroup_names:
        rows += world.away_customers
    return rows


def gid(customer) -> str:
    return encode_id("Customer", customer.id)


# ------------------------------------------------------------------ anonymous


def forged_token() -> str:
    claims = {"email": World.email("admin"), "exp": 4102444800}  # 2100-01-01
    return jwt.encode(claims, "not-the-secret-" + "y" * 40, algorithm="HS256")


@pytest.mark.parametrize("credentials", ["no token", "bad token"])
@pytest.mark.parametrize("root", list(ROOT_QUERIES))
def test_anonymous_gets_401_unauthenticated(ladder: Ladder, root: str, credentials: str):
    # given a request without a token, or with one the service did not sign
    headers = {} if credentials == "no token" else {"Authorization": f"Bearer {forged_token()}"}
    variables = {"id": gid(ladder.world.home_customers[0])}
    if root == "workgroup":
        variables = {"id": ladder.home_id()}

    # when it asks for the root field
    response = ladder.gql.post(None, ROOT_QUERIES[root], variables, headers=headers)

    # then nothing is executed: HTTP 401 and UNAUTHENTICATED
    assert response.status_code == 401
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "data" not in body


# ------------------------------------------------------------------ which rows each viewer sees


@pytest.mark.parametrize("viewer", list(VIEWERS))
def test_me_answers_with_the_viewers_own_roles(ladder: Ladder, viewer: str):
    # given a signed-in viewer
    # when they ask who they are
    body = ladder.gql(VIEWERS[viewer], ME)

    # then they see their e-mail and exactly the roles they hold
    assert "errors" not in body
    me = body["data"]["me"]
    assert me["email"] == VIEWERS[viewer]
    assert sorted(me["roles"], key=repr) == sorted(OWN_ROLES[viewer], key=repr)


@pytest.mark.parametrize("viewer", list(VIEWERS))
def test_workgroups_lists_the_viewers_workgroups_by_name(ladder: Ladder, viewer: str):
    # given a viewer and the workgroups and customers §3 lets them see
    workgroups, customers = VISIBILITY[viewer]

    # when they list workgroups with the number of customers in each
    body = ladder.gql(VIEWERS[viewer], WORKGROUPS)

    # then exactly their workgroups are listed, each counting only customers they may see
    assert "errors" not in body
    listed = {
        edge["node"]["name"]: edge["node"]["customers"]["totalCount"]
        for edge in body["data"]["workgroups"]["edges"]
    }
    assert listed == {
        name: len(customers_of(ladder, {name} & customers)) for name in sorted(workgroups)
    }
    assert body["data"]["workgroups"]["totalCount"] == len(workgroups)


@pytest.mark.parametrize("viewer", list(VIEWERS))
def test_customers_lists_exactly_the_visible_rows(ladder: Ladder, viewer: str):
    # given a viewer and the workgroups whose customers §3 lets them see
    _, customers = VISIBILITY[viewer]
    expected = customers_of(ladder, customers)

    # when they list customers across their workgroups
    body = ladder.gql(VIEWERS[viewer], CUSTOMERS)

    # then they get those rows and no other, and the count agrees
    assert "errors" not in body
    nodes = [edge["node"] for edge in body["data"]["customers"]["edges"]]
    assert sorted(node["id"] for node in nodes) == sorted(gid(c) for c in expected)
    assert sorted(node["companyName"] for node in nodes) == sorted(c.company_name for c in expected)
    assert body["data"]["customers"]["totalCount"] == len(expected)


@pytest.mark.parametrize("workgroup", ["Home", "Away"])
@pytest.mark.parametrize("viewer", list(VIEWERS))
def test_customers_of_an_invisible_workgroup_answer_like_a_missing_one(
    ladder: Ladder, viewer: str, workgroup: str
):
    # given a viewer and one workgroup, by id
    _, customers = VISIBILITY[viewer]
    workgroup_id = ladder.home_id() if workgroup == "Home" else ladder.away_id()

    # when they list that workgroup's customers, and those of a workgroup that does not exist
    response = ladder.gql.post(VIEWERS[viewer], CUSTOMERS, {"workgroupId": workgroup_id})
    missing = ladder.once(VIEWERS[viewer], CUSTOMERS, {"workgroupId": MISSING_WORKGROUP})

    # then they get the customers they may see there; where they may see none, the answer is
    # byte for byte the answer for a workgroup that does not exist
    assert response.status_code == missing.status_code == 200
    data = response.json()["data"]["customers"]
    expected = customers_of(ladder, {workgroup} & customers)
    assert sorted(edge["node"]["id"] for edge in data["edges"]) == sorted(gid(c) for c in expected)
    assert data["totalCount"] == len(expected)
    if not expected:
        assert response.content == missing.content


BY_ID_TARGETS = ["home customer", "archived home customer", "away customer"]


def target_customer(ladder: Ladder, target: str):
    world = ladder.world
    return {
        "home customer": world.home_customers[0],
        "archived home customer": ladder.archived,
        "away customer": world.away_customers[0],
    }[target]


@pytest.mark.parametrize("target", BY_ID_TARGETS)
@pytest.mark.parametrize("viewer", list(VIEWERS))
@pytest.mark.parametrize("root", ["customer", "node"])
def test_a_customer_by_id_is_null_unless_visible_exactly_like_a_missing_id(
    ladder: Ladder, root: str, viewer: str, target: str
):
    # given a customer, and whether §3 lets the viewer see rows of its workgroup
    customer = target_customer(ladder, target)
    workgroup = "Home" if customer.workgroup_id == ladder.world.home.id else "Away"
    visible = workgroup in VISIBILITY[viewer][1]
    query = CUSTOMER_BY_ID if root == "customer" else NODE_BY_ID

    # when they fetch it by id, and fetch an id of the same type that names nothing
    response = ladder.once(VIEWERS[viewer], query, {"id": gid(customer)})
    missing = ladder.once(VIEWERS[viewer], query, {"id": MISSING_CUSTOMER})

    # then a visible customer is there; an invisible one is null, and the whole response is
    # byte for byte the response for the missing id (no error, no hint it exists)
    assert response.status_code == missing.status_code == 200
    assert missing.json() == {"data": {root: None}}
    found = response.json()["data"][root]
    if visible:
        assert found["id"] == gid(customer)
        assert found["companyName"] == customer.company_name
    else:
        assert found is None
        assert response.content == missing.content


@pytest.mark.parametrize("target", [*BY_ID_TARGETS, "missing customer"])
@pytest.mark.parametrize("viewer", list(VIEWERS))
def test_node_answers_exactly_like_customer(ladder: Ladder, viewer: str, target: str):
    # given a customer id (or one that names nothing)
    customer_id = MISSING_CUSTOMER
    if target != "missing customer":
        customer_id = gid(target_customer(ladder, target))

    # when the viewer fetches it through customer(id:) and through node(id:), selecting the
    # same fields
    by_customer = ladder.once(VIEWERS[viewer], CUSTOMER_BY_ID, {"id": customer_id}).json()
    by_node = ladder.once(VIEWERS[viewer], NODE_BY_ID, {"id": customer_id}).json()

    # then both give the same data and the same errors (here: rank's FORBIDDEN) at the same
    # place
    assert by_node["data"]["node"] == by_customer["data"]["customer"]
    assert {path[1:]: code for path, code in errors_at(by_node).items()} == {
        path[1:]: code for path, code in errors_at(by_customer).items()
    }


@pytest.mark.parametrize("workgroup", ["Home", "Away"])
@pytest.mark.parametrize("viewer", list(VIEWERS))
@pytest.mark.parametrize("root", ["workgroup", "node"])
def test_a_workgroup_by_id_is_null_unless_visible_exactly_like_a_missing_id(
    ladder: Ladder, root: str, viewer: str, workgroup: str
):
    # given a workgroup, and whether §3 lets the viewer see it
    workgroups, customers = VISIBILITY[viewer]
    workgroup_id = ladder.home_id() if workgroup == "Home" else ladder.away_id()
    query = WORKGROUP_BY_ID if root == "workgroup" else NODE_BY_ID

    # when they fetch it by id, and fetch an id of the same type that names nothing
    response = ladder.once(VIEWERS[viewer], query, {"id": workgroup_id})
    missing = ladder.once(VIEWERS[viewer], query, {"id": MISSING_WORKGROUP})

    # then a visible workgroup shows its name; an invisible one answers like the missing id
    assert response.status_code == missing.status_code == 200
    assert missing.json() == {"data": {root: None}}
    body = response.json()
    assert "errors" not in body
    found = body["data"][root]
    if workgroup in workgroups:
        assert found["id"] == workgroup_id
        assert found["name"] == workgroup
        if root == "workgroup":
            count = len(customers_of(ladder, {workgroup} & customers))
            assert found["customers"] == {"totalCount": count}
    else:
        assert found is None
        assert response.content == missing.content


@pytest.mark.parametrize("viewer", ["member", "nobody", "admin_away"])
def test_no_path_leads_outside_viewers_to_a_home_customer(ladder: Ladder, viewer: str):
    # given a viewer who may see no customer of Home, and a Home customer's id
    home_ids = [gid(c) for c in ladder.world.home_customers]
    variables = {"id": home_ids[0], "workgroupId": ladder.home_id()}

    # when they select every Customer field through every path that reaches a customer
    body = ladder.gql(VIEWERS[viewer], EVERY_PATH.format(fields=EVERY_FIELD), variables)

    # then no Home customer (nor an error about one) is anywhere in the answer
    data = body["data"]
    assert data["customer"] is None
    assert data["node"] is None
    assert not any(home_id in repr(body) for home_id in home_ids)
    assert "errors" not in body
    if viewer == "member":  # member sees the workgroup, with no customers in it
        assert data["workgroup"] == {"customers": {"edges": []}}
        assert data["customers"] == {"edges": []}
        assert data["workgroups"] == {"edges": [{"node": {"customers": {"edges": []}}}]}
    else:
        assert data["workgroup"] is None


# ------------------------------------------------------------------ field by field


def test_the_ladder_has_a_row_for_every_customer_field():
    # given the schema's Customer type
    fields = set(build_schema()._schema.type_map["Customer"].fields)  # type: ignore[union-attr]

    # then the table of the design decides each of its fields, and nothing else
    assert set(CUSTOMER_FIELDS) == fields


def customer_objects(data: dict[str, Any]) -> list[tuple[tuple, dict[str, Any]]]:
    """(path, object) of every customer in an answer to EVERY_PATH."""
    found = [(("customer",), data["customer"]), (("node",), data["node"])]
    found += [
        (("customers", "edges", i, "node"), edge["node"])
        for i, edge in enumerate(data["customers"]["edges"])
    ]
    found += [
        (("workgroup", "customers", "edges", i, "node"), edge["node"])
        for i, edge in enumerate(data["workgroup"]["customers"]["edges"])
    ]
    for w, workgroup in enumerate(data["workgroups"]["edges"]):
        found += [
            (("workgroups", "edges", w, "node", "customers", "edges", i, "node"), edge["node"])
            for i, edge in enumerate(workgroup["node"]["customers"]["edges"])
        ]
    return found


def check_fields(
    ladder: Ladder, body: dict[str, Any], roles: dict[str, str], fields: list[str]
) -> None:
    """Each customer in `body` shows each of `fields` if §3 grants it to the role the viewer
    holds in the customer's workgroup (`roles`: workgroup name -> role), and is otherwise null
    there with a FORBIDDEN error at that exact path (and no other error)."""
    expected_forbidden = set()
    for path, customer in customer_objects(body["data"]):
        values = ladder.values[customer["id"]]
        role = roles[values["workgroup"]["name"]]
        for field in fields:
            if role in granted_to(CUSTOMER_READS, field):
                assert customer[field] == values[field], (path, field)
            else:
                assert customer[field] is None, (path, field)
                expected_forbidden.add((*path, field))
    errors = {path: code for path, code in errors_at(body).items() if path[-1] in fields}
    assert errors == dict.fromkeys(expected_forbidden, "FORBIDDEN")


def every_field_answer(ladder: Ladder, email: str, customer: Customer, workgroup_id: str):
    """The answer to EVERY_PATH selecting every Customer field, `customer` by id."""
    variables = {"id": gid(customer), "workgroupId": workgroup_id}
    response = ladder.once(email, EVERY_PATH.format(fields=EVERY_FIELD), variables)
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize("field", CUSTOMER_FIELDS)
@pytest.mark.parametrize("role", sorted(CUSTOMER_VIEWERS))
def test_each_customer_field_through_every_path(ladder: Ladder, role: str, field: str):
    # given a role of Home and one Customer field
    # when the role selects every field by id, by node, in the list and in its workgroup
    body = every_field_answer(ladder, World.email(role), ladder.archived, ladder.home_id())

    # then on every Home customer the field is its value where §3 grants it, else null with
    # FORBIDDEN at that exact path
    check_fields(ladder, body, {"Home": role}, [field])


@pytest.mark.parametrize("role", sorted(CUSTOMER_VIEWERS))
def test_denied_fields_leave_the_rest_of_the_answer_intact(ladder: Ladder, role: str):
    # given a role of Home
    home_ids = sorted(gid(c) for c in ladder.world.home_customers)

    # when it selects every Customer field through every path at once
    body = every_field_answer(ladder, World.email(role), ladder.archived, ladder.home_id())

    # then every Home customer (and no other) is there on every path, and the only errors are
    # one FORBIDDEN per denied field of each of them
    data = body["data"]
    assert data["customer"]["id"] == data["node"]["id"] == gid(ladder.archived)
    assert sorted(e["node"]["id"] for e in data["customers"]["edges"]) == home_ids
    assert sorted(e["node"]["id"] for e in data["workgroup"]["customers"]["edges"]) == home_ids
    assert len(data["workgroups"]["edges"]) == 1
    check_fields(ladder, body, {"Home": role}, CUSTOMER_FIELDS)
    denied = [f for f in CUSTOMER_FIELDS if role not in granted_to(CUSTOMER_READS, f)]
    objects = 2 + 3 * len(ladder.world.home_customers)  # by id, node, three lists
    assert len(body.get("errors", [])) == objects * len(denied)
    assert set(errors_at(body).values()) <= {"FORBIDDEN"}


def test_global_admin_reads_every_field_of_both_workgroups(ladder: Ladder):
    # given the global admin (admin in every workgroup)
    variables = {"id": gid(ladder.world.away_customers[0]), "workgroupId": ladder.away_id()}

    # when they select every field through every path
    body = ladder.gql(World.GLOBAL_ADMIN, EVERY_PATH.format(fields=EVERY_FIELD), variables)

    # then both workgroups' customers are there with every field, and nothing is refused
    assert "errors" not in body
    data = body["data"]
    assert sorted(e["node"]["id"] for e in data["customers"]["edges"]) == sorted(ladder.values)
    assert [len(w["node"]["customers"]["edges"]) for w in data["workgroups"]["edges"]] == [2, 3]
    check_fields(ladder, body, {"Home": "admin", "Away": "admin"}, CUSTOMER_FIELDS)


@pytest.mark.parametrize("field", CUSTOMER_FIELDS)
def test_mixed_roles_decide_each_field_by_the_rows_workgroup(ladder: Ladder, field: str):
    # given a user who is admin in Home and sales_agent in Away
    # when they select every field through every path, an Away customer by id
    body = every_field_answer(ladder, MIXED, ladder.world.away_customers[0], ladder.away_id())

    # then on each customer the field is decided by the role held in that customer's
    # workgroup, in the same response
    assert {values["workgroup"]["name"] for _, values in customer_objects(body["data"])} == {
        "Home",
        "Away",
    }
    check_fields(ladder, body, MIXED_ROLES, [field])


def test_mixed_roles_decide_each_row_by_its_workgroup(ladder: Ladder):
    # given a user who is admin in Home and sales_agent in Away
    home, away = ladder.world.home_customers[0], ladder.world.away_customers[0]

    # when they list customers across both workgroups and fetch one of each by id
    body = ladder.gql(MIXED, MIXED_ROWS, {"home": gid(home), "away": gid(away)})

    # then rank and businessId are there for Home rows and null + FORBIDDEN for Away rows,
    # in the same response; the list data both roles may read is there for all rows
    data = body["data"]
    edges = data["customers"]["edges"]
    assert sorted(e["node"]["id"] for e in edges) == sorted(
        gid(c) for c in customers_of(ladder, {"Home", "Away"})
    )
    expected_forbidden = {("away", "rank")}
    for i, edge in enumerate(edges):
        node, values = edge["node"], ladder.values[edge["node"]["id"]]
        assert node["companyName"] == values["companyName"]
        assert node["primaryDomain"] == values["primaryDomain"]
        if node["workgroup"]["name"] == "Home":
            assert (node["rank"], node["businessId"]) == (values["rank"], values["businessId"])
        else:
            assert (node["rank"], node["businessId"]) == (None, None)
            expected_forbidden |= {
                ("customers", "edges", i, "node", "rank"),
                ("customers", "edges", i, "node", "businessId"),
            }
    assert {e["node"]["workgroup"]["name"] for e in edges} == {"Home", "Away"}
    assert data["home"] == {"rank": home.rank}
    assert data["away"] == {"rank": None}
    assert forbidden_paths(body) == expected_forbidden
    assert len(body["errors"]) == len(expected_forbidden)
