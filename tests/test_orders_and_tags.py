"""Tags and orders of a customer: adding and removing tags (trimmed, case-insensitive, no
duplicates, a maximum count) as the list filter sees them; orders from each catalogue with
their lines, and the lines refused; archived customers; who may read and do what; one activity
record per successful change and none for a failed or refused one."""

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

import models
from graph.ids import encode_id
from models.customers.operations import archive_customer
from models.customers.tables import TAGS_PER_CUSTOMER_MAX, Customer
from models.partner.operations import create_order
from tests.conftest import ROLES, GraphQLClient, World, make_customer, table_rows

ADMIN = World.email("admin")
CHANGERS = {"admin", "admin_agent", "sales_agent"}
READERS = {"admin", "admin_agent", "sales_agent"}
IDENTITY_ONLY = {"customer_activity", "training_manager", "support_viewer"}
CATALOGS = ["AZURE", "MARKETPLACE", "SOFTWARE", "ONLINE_SERVICES"]

TAGS_PAYLOAD = "customer { id tags } errors { field code }"
ADD_TAGS = f"""
mutation($customerId: ID!, $tags: [String!]!) {{
  addTags(customerId: $customerId, tags: $tags) {{ {TAGS_PAYLOAD} }}
}}
"""
REMOVE_TAGS = f"""
mutation($customerId: ID!, $tags: [String!]!) {{
  removeTags(customerId: $customerId, tags: $tags) {{ {TAGS_PAYLOAD} }}
}}
"""
TAGGED = """
query($tag: String) { customers(tag: $tag, first: 100) { totalCount edges { node { id } } } }
"""
ORDER = "id catalog createdAt lines { product quantity }"
CREATE_ORDER = f"""
mutation($customerId: ID!, $catalog: Catalog!, $lines: [OrderLineInput!]!) {{
  createOrder(customerId: $customerId, catalog: $catalog, lines: $lines) {{
    order {{ {ORDER} }} errors {{ field code }}
  }}
}}
"""
CUSTOMER_ORDERS = f"query($id: ID!) {{ customer(id: $id) {{ id orders {{ {ORDER} }} }} }}"

TABLES = ("customer", "tag", "customer_tag", "customer_order", "order_line", "activity_record")


# ---------------------------------------------------------------- helpers


def gid(kind: str, pk: int | None) -> str:
    return encode_id(kind, pk)  # type: ignore[arg-type]


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    return table_rows(engine, TABLES)


def activity_count(engine: Engine) -> int:
    return len(snapshot(engine)["activity_record"])


def errors_at(body: dict) -> dict[tuple, str]:
    return {tuple(e["path"]): e["extensions"]["code"] for e in body.get("errors", [])}


def codes(payload: dict) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in payload["errors"]]


def tagged(gql, tag: str) -> list[str]:
    body = gql(ADMIN, TAGGED, {"tag": tag})
    return [edge["node"]["id"] for edge in body["data"]["customers"]["edges"]]


def orders_of(gql, customer: Customer) -> list[dict[str, Any]]:
    body = gql(ADMIN, CUSTOMER_ORDERS, {"id": gid("Customer", customer.id)})
    assert "errors" not in body, body["errors"]
    return body["data"]["customer"]["orders"]


def lines(*pairs: tuple[str, int]) -> list[dict[str, Any]]:
    return [{"product": product, "quantity": quantity} for product, quantity in pairs]


@dataclass
class Scene:
    world: World
    alpha: Customer  # tagged "alpha"; has one order
    beta: Customer  # tagged "beta"; no orders


@pytest.fixture
def scene(session, world: World) -> Scene:
    alpha, beta = world.home_customers[0], world.home_customers[1]
    create_order(
        session=session,
        customer=alpha,
        catalog=models.core.enums.Catalog.SOFTWARE,
        lines=[("Office seats", 25), ("Visio", 2)],
        actor_id=None,  # type: ignore[arg-type]
    )
    session.commit()
    return Scene(world, alpha, beta)


# ---------------------------------------------------------------- tags


def test_added_tags_are_trimmed_deduplicated_and_found_by_the_list_filter(
    gql, engine, scene: Scene
):
    # Given a customer tagged "alpha", and no customer tagged "gold"
    assert tagged(gql, "gold") == []
    before = activity_count(engine)

    # When tags are added with spaces, capitals and repeats, one of them already there
    body = gql(
        ADMIN,
        ADD_TAGS,
        {
            "customerId": gid("Customer", scene.alpha.id),
            "tags": [" Gold ", "gold", "GOLD", "ALPHA", "big   deal"],
        },
    )

    # Then each tag is there once, trimmed, with the first spelling kept for a known one
    payload = body["data"]["addTags"]
    assert payload["errors"] == []
    assert payload["customer"]["tags"] == ["alpha", "big deal", "Gold"]
    # and the list filter finds the customer by any spelling
    alpha = gid("Customer", scene.alpha.id)
    assert tagged(gql, "gold") == [alpha]
    assert tagged(gql, "  GOLD ") == [alpha]
    assert tagged(gql, "Big Deal") == [alpha]
    # and one activity record was written
    assert activity_count(engine) == before + 1


def test_removed_tags_leave_the_list_filter(gql, engine, scene: Scene):
    # Given "alpha" on the first and third home customers, "gold" added to the first
    customer_id = gid("Customer", scene.alpha.id)
    gql(ADMIN, ADD_TAGS, {"customerId": customer_id, "tags": ["gold"]})
    third = gid("Customer", scene.world.home_customers[2].id)
    assert tagged(gql, "alpha") == [customer_id, third]
    before = activity_count(engine)

    # When "alpha" is removed from the first in other capitals, with a tag it does not have
    body = gql(ADMIN, REMOVE_TAGS, {"customerId": customer_id, "tags": [" ALPHA", "never-had"]})

    # Then it keeps only "gold", and the filter finds only the third customer by "alpha"
    payload = body["data"]["removeTags"]
    assert payload == {"customer": {"id": customer_id, "tags": ["gold"]}, "errors": []}
    assert tagged(gql, "alpha") == [third]
    assert tagged(gql, "gold") == [customer_id]
    assert activity_count(engine) == before + 1


def test_a_customer_has_at_most_the_maximum_number_of_tags(gql, engine, scene: Scene):
    # Given a customer with one tag
    customer_id = gid("Customer", scene.alpha.id)
    before = snapshot(engine)

    # When one tag too many is added
    too_many = [f"t{i}" for i in range(TAGS_PER_CUSTOMER_MAX)]
    refused = gql(ADMIN, ADD_TAGS, {"customerId": customer_id, "tags": too_many})

    # Then TOO_LONG, and nothing changed
    payload = refused["data"]["addTags"]
    assert (payload["customer"], codes(payload)) == (None, [("tags", "TOO_LONG")])
    assert snapshot(engine) == before

    # When exactly the maximum is reached (repeats in other capitals do not count)
    just_enough = [*too_many[:-1], "T0", "ALPHA"]
    accepted = gql(ADMIN, ADD_TAGS, {"customerId": customer_id, "tags": just_enough})

    # Then all of them are there
    tags = accepted["data"]["addTags"]["customer"]["tags"]
    assert len(tags) == TAGS_PER_CUSTOMER_MAX
    assert {"alpha", "t0", "t48"} <= set(tags)


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        pytest.param(["ok", "   "], [("tags", "REQUIRED")], id="blank"),
        pytest.param([""], [("tags", "REQUIRED")], id="empty"),
        pytest.param(["x" * 51], [("tags", "TOO_LONG")], id="too-long"),
        pytest.param(["bell\x07"], [("tags", "INVALID")], id="control-character"),
    ],
)
def test_an_invalid_tag_adds_nothing(gql, engine, scene: Scene, tags, expected):
    # Given the tables as they are
    before = snapshot(engine)

    # When a blank, overlong or control-character tag is added (with a valid one)
    body = gql(ADMIN, ADD_TAGS, {"customerId": gid("Customer", scene.alpha.id), "tags": tags})

    # Then a user error, and nothing changed
    payload = body["data"]["addTags"]
    assert (payload["customer"], codes(payload)) == (None, expected)
    assert snapshot(engine) == before


ROUNDS = 8


def test_two_agents_adding_one_new_tag_to_two_customers_at_once_both_succeed(
    gql, app, settings, engine, scene: Scene
):
    # Given two sales agents who, in each round, add the same new tag at the same time, each to
    # another customer
    customers = [gid("Customer", scene.alpha.id), gid("Customer", scene.beta.id)]
    barrier = threading.Barrier(2, timeout=60)

    def worker(thread: int) -> list[Any]:
        results = []
        try:
            with TestClient(app) as http:
                client = GraphQLClient(http, settings)
                for round_ in range(ROUNDS):
                    barrier.wait()
                    body = client(
                        World.email("sales_agent"),
                        ADD_TAGS,
                        {"customerId": customers[thread], "tags": [f"new-{round_}"]},
                    )
                    if "errors" in body:  # a crash: keep its code, go on with the rounds
                        results.append([(None, e["extensions"]["code"]) for e in body["errors"]])
                    else:
                        results.append(codes(body["data"]["addTags"]))
        except BaseException:
            barrier.abort()
            raise
        return results

    # When they do so for a few rounds
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = [future.result() for future in [pool.submit(worker, t) for t in range(2)]]

    # Then every change succeeded — never a crash — and both customers carry every new tag
    assert outcomes == [[[]] * ROUNDS] * 2
    assert [tagged(gql, f"new-{i}") for i in range(ROUNDS)] == [customers] * ROUNDS


# ---------------------------------------------------------------- orders


def test_an_order_from_each_catalogue_is_listed_with_its_lines(gql, engine, scene: Scene):
    # Given a customer without orders
    assert orders_of(gql, scene.beta) == []
    before = activity_count(engine)

    # When an order with two lines is placed from each catalogue, spaces around a product
    placed = {}
    for number, catalog in enumerate(CATALOGS, start=1):
        body = gql(
            ADMIN,
            CREATE_ORDER,
            {
                "customerId": gid("Customer", scene.beta.id),
                "catalog": catalog,
                "lines": lines((f" {catalog} A ", number), (f"{catalog} B", 1_000_000)),
            },
        )
        payload = body["data"]["createOrder"]
        assert payload["errors"] == [], catalog
        placed[catalog] = payload["order"]

    # Then each payload has its order with its lines in their order, products trimmed
    assert {c: (o["catalog"], o["lines"]) for c, o in placed.items()} == {
        catalog: (catalog, lines((f"{catalog} A", number), (f"{catalog} B", 1_000_000)))
        for number, catalog in enumerate(CATALOGS, start=1)
    }
    assert all(order["id"] and order["createdAt"] for order in placed.values())
    # and the customer lists them exactly so, newest first, with one activity record each
    assert orders_of(gql, scene.beta) == list(reversed(placed.values()))
    assert activity_count(engine) == before + len(CATALOGS)


def test_orders_are_listed_newest_first_each_with_its_own_lines(gql, engine, scene: Scene):
    # Given a customer with a SOFTWARE order
    customer_id = gid("Customer", scene.alpha.id)

    # When an AZURE order and then a MARKETPLACE order are placed
    for catalog, product in (("AZURE", "VM hours"), ("MARKETPLACE", "Firewall")):
        body = gql(
            ADMIN,
            CREATE_ORDER,
            {"customerId": customer_id, "catalog": catalog, "lines": lines((product, 7))},
        )
        assert body["data"]["createOrder"]["errors"] == []

    # Then the orders come newest first, each with only its lines
    orders = orders_of(gql, scene.alpha)
    assert [(o["catalog"], o["lines"]) for o in orders] == [
        ("MARKETPLACE", lines(("Firewall", 7))),
        ("AZURE", lines(("VM hours", 7))),
        ("SOFTWARE", lines(("Office seats", 25), ("Visio", 2))),
    ]
    # and other customers have none
    assert orders_of(gql, scene.beta) == []


@pytest.mark.parametrize(
    ("order_lines", "expected"),
    [
        pytest.param([], [("lines", "REQUIRED")], id="no-lines"),
        pytest.param(lines(("", 1)), [("lines.0.product", "REQUIRED")], id="empty-product"),
        pytest.param(lines(("  ", 1)), [("lines.0.product", "REQUIRED")], id="blank-product"),
        pytest.param(lines(("A", 0)), [("lines.0.quantity", "INVALID")], id="quantity-0"),
        pytest.param(lines(("A", -3)), [("lines.0.quantity", "INVALID")], id="negative"),
        pytest.param(lines(("A", 1_000_001)), [("lines.0.quantity", "INVALID")], id="too-many"),
        pytest.param(
            lines(("A", 1), ("", 2), ("C", 0)),
            [("lines.1.product", "REQUIRED"), ("lines.2.quantity", "INVALID")],
            id="good-then-bad",
        ),
        pytest.param(lines(("P" * 201, 1)), [("lines.0.product", "TOO_LONG")], id="long-name"),
    ],
)
def test_an_order_with_a_bad_line_writes_nothing(gql, engine, scene: Scene, order_lines, expected):
    # Given the tables as they are
    before = snapshot(engine)

    # When an order is placed without lines, or with a blank product or a bad quantity
    body = gql(
        ADMIN,
        CREATE_ORDER,
        {"customerId": gid("Customer", scene.beta.id), "catalog": "AZURE", "lines": order_lines},
    )

    # Then user errors point at each bad line, and nothing was written — not even good lines
    payload = body["data"]["createOrder"]
    assert (payload["order"], codes(payload)) == (None, expected)
    assert snapshot(engine) == before


# ---------------------------------------------------------------- archived customers


@pytest.mark.parametrize(
    ("mutation", "document", "variables"),
    [
        ("addTags", ADD_TAGS, {"tags": ["new"]}),
        ("removeTags", REMOVE_TAGS, {"tags": ["old"]}),
        ("createOrder", CREATE_ORDER, {"catalog": "AZURE", "lines": lines(("A", 1))}),
    ],
)
def test_tags_and_orders_of_an_archived_customer_cannot_change(
    gql, engine, session, world: World, mutation, document, variables
):
    # Given an archived customer tagged "old"
    gone = make_customer(session, world.home, index="gone", tags=["old"])
    archive_customer(session=session, customer=gone, expected_version=None, actor_id=None)
    session.commit()
    before = snapshot(engine)

    # When its tags change or an order is placed for it
    body = gql(ADMIN, document, {"customerId": gid("Customer", gone.id), **variables})

    # Then ARCHIVED, and nothing changed
    assert codes(body["data"][mutation]) == [("customerId", "ARCHIVED")]
    assert snapshot(engine) == before


# ---------------------------------------------------------------- who may do what


MUTATIONS = {
    "addTags": lambda s: (ADD_TAGS, {"customerId": gid("Customer", s.alpha.id), "tags": ["x"]}),
    "removeTags": lambda s: (
        REMOVE_TAGS,
        {"customerId": gid("Customer", s.alpha.id), "tags": ["alpha"]},
    ),
    "createOrder": lambda s: (
        CREATE_ORDER,
        {
            "customerId": gid("Customer", s.beta.id),
            "catalog": "ONLINE_SERVICES",
            "lines": lines(("Mailboxes", 40)),
        },
    ),
}


def attempt(gql, engine, email: str, mutation: str, scene: Scene) -> tuple[str, int, bool]:
    """(outcome, activity records written, whether anything else changed)."""
    document, variables = MUTATIONS[mutation](scene)
    before = snapshot(engine)
    body = gql(email, document, variables)
    after = snapshot(engine)
    written = len(after["activity_record"]) - len(before["activity_record"])
    before.pop("activity_record")
    after.pop("activity_record")
    if "errors" in body:
        assert body["data"] is None, body
        return "/".join(sorted(set(errors_at(body).values()))), written, before != after
    payload = body["data"][mutation]
    return ("ok" if payload["errors"] == [] else str(codes(payload))), written, before != after


@pytest.mark.parametrize("role", ROLES)
def test_tag_and_order_mutations_by_role(gql, engine, scene: Scene, role):
    # Given a user holding `role` in the home workgroup
    email = World.email(role)

    # When they add and remove a tag and place an order
    outcomes = {name: attempt(gql, engine, email, name, scene) for name in MUTATIONS}

    # Then admins, admin agents and sales agents succeed, each with one activity record;
    # everyone else is FORBIDDEN, with nothing changed and nothing recorded
    expected = ("ok", 1, True) if role in CHANGERS else ("FORBIDDEN", 0, False)
    assert outcomes == dict.fromkeys(MUTATIONS, expected)


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_an_admin_of_another_workgroup_cannot_find_the_customer(
    gql, engine, scene: Scene, mutation
):
    # Given an admin of the other workgroup only

    # When they change a home customer's tags or order for it
    outcome = attempt(gql, engine, World.ADMIN_AWAY, mutation, scene)

    # Then the customer is not found, and nothing changed
    assert outcome == (str([("customerId", "NOT_FOUND")]), 0, False)


@pytest.mark.parametrize("role", ROLES)
def test_orders_by_role(gql, engine, scene: Scene, role):
    # Given a customer with a SOFTWARE order of two lines

    # When a user holding `role` at home reads its orders
    body = gql(World.email(role), CUSTOMER_ORDERS, {"id": gid("Customer", scene.alpha.id)})

    # Then readers see the order and its lines; roles that see only the customer's identity
    # get null and FORBIDDEN; a member does not see the customer at all
    customer = body["data"]["customer"]
    if role in READERS:
        assert "errors" not in body
        assert [(o["catalog"], o["lines"]) for o in customer["orders"]] == [
            ("SOFTWARE", lines(("Office seats", 25), ("Visio", 2)))
        ]
    elif role in IDENTITY_ONLY:
        assert customer == {"id": gid("Customer", scene.alpha.id), "orders": None}
        assert errors_at(body) == {("customer", "orders"): "FORBIDDEN"}
    else:
        assert (customer, errors_at(body)) == (None, {})
