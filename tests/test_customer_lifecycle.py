"""Archiving and reactivating customers (never deleting them), and optimistic concurrency:
a stale `expectedVersion` is a CONFLICT user error, never a lost update."""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

from graph.ids import encode_id
from models.audit.activity import ActivityRecord
from models.customers.tables import Customer
from tests.conftest import GraphQLClient, World, make_customer

ADMIN = World.email("admin")

CUSTOMER_FIELDS = """
  id companyName status primaryDomain domains primaryLocation city state address postalCode
  phone fax industry companySize rank businessId renewalPolicy relationship tags version
  createdAt archivedAt
"""
PAYLOAD = f"customer {{ {CUSTOMER_FIELDS} }} errors {{ field code message }}"
ADD = f"mutation($input: AddCustomerInput!) {{ addCustomer(input: $input) {{ {PAYLOAD} }} }}"
UPDATE = f"""
mutation($id: ID!, $input: UpdateCustomerInput!, $expectedVersion: Int) {{
  updateCustomer(id: $id, input: $input, expectedVersion: $expectedVersion) {{ {PAYLOAD} }}
}}
"""
ARCHIVE = f"""
mutation($id: ID!, $expectedVersion: Int) {{
  archiveCustomer(id: $id, expectedVersion: $expectedVersion) {{ {PAYLOAD} }}
}}
"""
REACTIVATE = f"""
mutation($id: ID!, $expectedVersion: Int) {{
  reactivateCustomer(id: $id, expectedVersion: $expectedVersion) {{ {PAYLOAD} }}
}}
"""
CUSTOMER = f"query($id: ID!) {{ customer(id: $id) {{ {CUSTOMER_FIELDS} }} }}"
LIST = """
query($status: CustomerStatus) {
  customers(status: $status, first: 100) { totalCount edges { node { id status } } }
}
"""
MUTATION_NAMES = "{ __schema { mutationType { fields { name } } } }"

FULL_VALUES: dict[str, Any] = {
    "company_name": "Keep Everything GmbH",
    "primary_domain": "keep.example",
    "domains": ["keep-mail.example", "keep.example.org"],
    "primary_location": "AT",
    "city": "Wien",
    "state": "Wien",
    "address": "Ring 1",
    "postal_code": "1010",
    "phone": "+43 1 234",
    "fax": "+43 1 235",
    "industry": "LEGAL",
    "company_size": "EMPLOYEES_11_50",
    "rank": 7,
    "business_id": "ATU12345678",
    "renewal_policy": "DO_NOT_AUTO_RENEW",
    "relationship": "INDIRECT_RESELLER",
    "tags": ["Gold", "renewal-2025"],
}
ROUNDS = 20


def gid(customer: Customer) -> str:
    return encode_id("Customer", customer.id)  # type: ignore[arg-type]


def stored(engine: Engine, customer_id: int) -> dict[str, Any]:
    with Session(engine) as session:
        return session.get_one(Customer, customer_id).model_dump()


def activity_count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(ActivityRecord)).scalar_one()


def activity_actions(engine: Engine, customer_id: int) -> list[str]:
    with Session(engine) as session:
        return list(
            session.execute(
                select(ActivityRecord.action)
                .where(ActivityRecord.target_type == "Customer")
                .where(ActivityRecord.target_id == customer_id)
                .order_by(ActivityRecord.id)
            ).scalars()
        )


def listed_ids(gql, status: str | None = "ACTIVE") -> list[str]:
    body = gql(ADMIN, LIST, {"status": status})
    return [edge["node"]["id"] for edge in body["data"]["customers"]["edges"]]


def errors_of(payload: dict) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in payload["errors"]]


@pytest.fixture
def keeper(session, world) -> Customer:
    """A home customer with every field set and two tags."""
    return make_customer(session, world.home, **FULL_VALUES)


# ---------------------------------------------------------------- archive and reactivate


def test_archiving_moves_a_customer_to_the_archived_list(gql, world, engine, keeper):
    # given: the customer is in the default list and not in the archived one
    assert gid(keeper) in listed_ids(gql)
    assert gid(keeper) not in listed_ids(gql, "ARCHIVED")

    # when: it is archived
    body = gql(ADMIN, ARCHIVE, {"id": gid(keeper), "expectedVersion": 1})

    # then: ARCHIVED with a time, version 2; only in the archived list (and in the unfiltered one)
    payload = body["data"]["archiveCustomer"]
    assert payload["errors"] == []
    assert payload["customer"]["status"] == "ARCHIVED"
    assert payload["customer"]["archivedAt"] is not None
    assert payload["customer"]["version"] == 2
    assert gid(keeper) not in listed_ids(gql)
    assert listed_ids(gql, "ARCHIVED") == [gid(keeper)]
    assert gid(keeper) in listed_ids(gql, None)
    assert activity_actions(engine, keeper.id) == ["customer.add", "customer.archive"]  # type: ignore[arg-type]


def test_archived_customers_are_still_counted_apart(gql, world):
    # given: three active home customers
    # when: one is archived
    gql(ADMIN, ARCHIVE, {"id": gid(world.home_customers[1])})

    # then: the default count drops by one and the archived count is one
    active = gql(ADMIN, LIST, {"status": "ACTIVE"})["data"]["customers"]["totalCount"]
    archived = gql(ADMIN, LIST, {"status": "ARCHIVED"})["data"]["customers"]["totalCount"]
    assert (active, archived) == (2, 1)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"companyName": "Changed"}, id="name"),
        pytest.param({"tags": ["other"]}, id="tags"),
        pytest.param({"companyName": ""}, id="invalid-too"),
    ],
)
def test_an_archived_customer_cannot_be_edited(gql, world, engine, keeper, change):
    # given: an archived customer
    gql(ADMIN, ARCHIVE, {"id": gid(keeper)})
    before, records = stored(engine, keeper.id), activity_count(engine)  # type: ignore[arg-type]

    # when: it is edited (with the right version, even)
    body = gql(ADMIN, UPDATE, {"id": gid(keeper), "input": change, "expectedVersion": 2})

    # then: ARCHIVED, and the row and the activity log are as they were
    payload = body["data"]["updateCustomer"]
    assert payload["customer"] is None
    assert errors_of(payload) == [(None, "ARCHIVED")]
    assert stored(engine, keeper.id) == before  # type: ignore[arg-type]
    assert activity_count(engine) == records


def test_reactivation_brings_the_customer_back_whole(gql, world, engine, keeper):
    # given: the customer as it was before it was archived
    original = gql(ADMIN, CUSTOMER, {"id": gid(keeper)})["data"]["customer"]
    assert original["tags"] == ["Gold", "renewal-2025"]
    gql(ADMIN, ARCHIVE, {"id": gid(keeper)})

    # when: it is reactivated
    body = gql(ADMIN, REACTIVATE, {"id": gid(keeper), "expectedVersion": 2})

    # then: every field and tag is back, archivedAt is cleared, and it is in the default list
    payload = body["data"]["reactivateCustomer"]
    assert payload["errors"] == []
    restored = gql(ADMIN, CUSTOMER, {"id": gid(keeper)})["data"]["customer"]
    assert restored == payload["customer"]
    assert {**restored, "version": None} == {**original, "version": None}
    assert restored["archivedAt"] is None
    assert restored["status"] == "ACTIVE"
    assert restored["version"] == 3
    assert gid(keeper) in listed_ids(gql)
    assert listed_ids(gql, "ARCHIVED") == []
    actions = activity_actions(engine, keeper.id)  # type: ignore[arg-type]
    assert actions == ["customer.add", "customer.archive", "customer.reactivate"]


def test_a_reactivated_customer_can_be_edited_again(gql, world, keeper):
    # given: a customer archived and reactivated
    gql(ADMIN, ARCHIVE, {"id": gid(keeper)})
    gql(ADMIN, REACTIVATE, {"id": gid(keeper)})

    # when: it is edited
    body = gql(ADMIN, UPDATE, {"id": gid(keeper), "input": {"city": "Graz"}, "expectedVersion": 3})

    # then: the change is accepted
    payload = body["data"]["updateCustomer"]
    assert payload["errors"] == []
    assert (payload["customer"]["city"], payload["customer"]["version"]) == ("Graz", 4)


@pytest.mark.parametrize(
    ("archived", "mutation", "root", "code"),
    [
        pytest.param(True, ARCHIVE, "archiveCustomer", "ARCHIVED", id="archive-twice"),
        pytest.param(
            False, REACTIVATE, "reactivateCustomer", "NOT_ARCHIVED", id="reactivate-active"
        ),
    ],
)
def test_a_status_change_to_the_current_status_is_refused(
    gql, world, engine, keeper, archived, mutation, root, code
):
    # given: the customer already in the status the mutation would give it
    if archived:
        gql(ADMIN, ARCHIVE, {"id": gid(keeper)})
    before, records = stored(engine, keeper.id), activity_count(engine)  # type: ignore[arg-type]

    # when: the mutation runs
    body = gql(ADMIN, mutation, {"id": gid(keeper)})

    # then: a user error, and nothing changed (not even the version or archivedAt)
    payload = body["data"][root]
    assert payload["customer"] is None
    assert errors_of(payload) == [(None, code)]
    assert stored(engine, keeper.id) == before  # type: ignore[arg-type]
    assert activity_count(engine) == records


def test_the_schema_has_no_way_to_delete_a_customer(gql, world):
    # given: the served schema
    # when: its mutations are listed
    body = gql(ADMIN, MUTATION_NAMES)
    names = [field["name"] for field in body["data"]["__schema"]["mutationType"]["fields"]]

    # then: the customer mutations are there, and none of them deletes or removes customers
    assert {"addCustomer", "updateCustomer", "archiveCustomer", "reactivateCustomer"} <= set(names)
    customer_mutations = [n.lower() for n in names if "customer" in n.lower()]
    destructive = ("delete", "remove", "destroy", "purge")
    assert [n for n in customer_mutations if any(word in n for word in destructive)] == []


# ---------------------------------------------------------------- versions and conflicts


@pytest.mark.parametrize(
    ("mutation", "root", "variables", "archived_first"),
    [
        pytest.param(UPDATE, "updateCustomer", {"input": {"city": "X"}}, False, id="update"),
        pytest.param(ARCHIVE, "archiveCustomer", {}, False, id="archive"),
        pytest.param(REACTIVATE, "reactivateCustomer", {}, True, id="reactivate"),
    ],
)
@pytest.mark.parametrize("stale", [1, 3], ids=["behind", "ahead"])
def test_a_stale_expected_version_is_a_conflict(
    gql, world, engine, keeper, mutation, root, variables, archived_first, stale
):
    # given: a customer whose version has moved on to 2 (by an update, or by archiving it)
    if archived_first:
        gql(ADMIN, ARCHIVE, {"id": gid(keeper)})
    else:
        gql(ADMIN, UPDATE, {"id": gid(keeper), "input": {"city": "Linz"}})
    before, records = stored(engine, keeper.id), activity_count(engine)  # type: ignore[arg-type]
    assert before["version"] == 2

    # when: a change is sent with a version other than 2
    body = gql(ADMIN, mutation, {"id": gid(keeper), "expectedVersion": stale, **variables})

    # then: CONFLICT on expectedVersion; nothing changed
    payload = body["data"][root]
    assert payload["customer"] is None
    assert errors_of(payload) == [("expectedVersion", "CONFLICT")]
    assert stored(engine, keeper.id) == before  # type: ignore[arg-type]
    assert activity_count(engine) == records


def test_of_two_updates_from_the_same_version_the_first_wins(gql, world, engine, keeper):
    # given: two editors who both loaded version 1
    version = gql(ADMIN, CUSTOMER, {"id": gid(keeper)})["data"]["customer"]["version"]
    assert version == 1

    # when: both save a different name, one after the other
    first = gql(
        ADMIN,
        UPDATE,
        {"id": gid(keeper), "input": {"companyName": "First"}, "expectedVersion": version},
    )
    second = gql(
        ADMIN,
        UPDATE,
        {"id": gid(keeper), "input": {"companyName": "Second"}, "expectedVersion": version},
    )

    # then: the first is stored at version 2; the second gets CONFLICT and did not overwrite it
    assert first["data"]["updateCustomer"]["errors"] == []
    assert first["data"]["updateCustomer"]["customer"]["version"] == 2
    assert errors_of(second["data"]["updateCustomer"]) == [("expectedVersion", "CONFLICT")]
    row = stored(engine, keeper.id)  # type: ignore[arg-type]
    assert (row["company_name"], row["version"]) == ("First", 2)


def test_an_update_without_expected_version_still_bumps_the_version(gql, world, engine, keeper):
    # given: a customer at version 1
    # when: it is updated without expectedVersion
    body = gql(ADMIN, UPDATE, {"id": gid(keeper), "input": {"phone": "+43 1 999"}})

    # then: the change is applied and a later update based on version 1 is refused
    assert body["data"]["updateCustomer"]["customer"]["version"] == 2
    late = gql(
        ADMIN, UPDATE, {"id": gid(keeper), "input": {"phone": "+43 1 000"}, "expectedVersion": 1}
    )
    assert errors_of(late["data"]["updateCustomer"]) == [("expectedVersion", "CONFLICT")]
    assert stored(engine, keeper.id)["phone"] == "+43 1 999"  # type: ignore[arg-type]


Step = Callable[[GraphQLClient, Callable[[], Any], int, int], Any]


def run_in_lockstep(app, settings, threads: int, rounds: int, step: Step) -> list[list[Any]]:
    """Runs `step(client, together, thread, round)` in `threads` threads, each with its own
    TestClient; every round starts only when all threads have finished the previous one, and
    `together()` waits inside a round until every thread reaches it. Returns the results by
    thread and round; an exception in any thread breaks the barrier and fails the caller."""
    barrier = threading.Barrier(threads, timeout=60)

    def worker(thread: int) -> list[Any]:
        results = []
        try:
            with TestClient(app) as http:
                client = GraphQLClient(http, settings)
                for round_ in range(rounds):
                    barrier.wait()
                    results.append(step(client, barrier.wait, thread, round_))
        except BaseException:
            barrier.abort()
            raise
        return results

    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(worker, thread) for thread in range(threads)]
        return [future.result() for future in futures]


def test_concurrent_updates_never_lose_one(app, settings, world, engine, keeper):
    # given: two threads, each with its own client, that read the customer and then, together,
    # save a change based on the version they read
    def step(client: GraphQLClient, together, thread: int, round_: int) -> dict[str, Any]:
        read = client(ADMIN, CUSTOMER, {"id": gid(keeper)})["data"]["customer"]
        together()
        name = f"thread {thread} round {round_}"
        body = client(
            ADMIN,
            UPDATE,
            {
                "id": gid(keeper),
                "input": {"companyName": name},
                "expectedVersion": read["version"],
            },
        )
        payload = body["data"]["updateCustomer"]
        return {
            "read": read,
            "name": name,
            "errors": errors_of(payload),
            "won": not payload["errors"],
        }

    # when: they do so for 20 rounds
    results = run_in_lockstep(app, settings, threads=2, rounds=ROUNDS, step=step)

    # then: in every round both read the same version and what the last round stored,
    # exactly one won and the other got CONFLICT
    winners = []
    for round_ in range(ROUNDS):
        a, b = results[0][round_], results[1][round_]
        assert a["read"] == b["read"]
        assert a["read"]["version"] == 1 + round_
        if winners:
            assert a["read"]["companyName"] == winners[-1]
        assert sorted([a["won"], b["won"]]) == [False, True], (round_, a, b)
        loser = b if a["won"] else a
        assert loser["errors"] == [("expectedVersion", "CONFLICT")]
        winners.append(a["name"] if a["won"] else b["name"])
    # and: the final version counts every win, the stored name is the last winner's, and the
    # activity log holds exactly one update per win
    row = stored(engine, keeper.id)  # type: ignore[arg-type]
    assert row["version"] == 1 + len(winners) == 1 + ROUNDS
    assert row["company_name"] == winners[-1]
    actions = activity_actions(engine, keeper.id)  # type: ignore[arg-type]
    assert actions == ["customer.add"] + ["customer.update"] * ROUNDS


def test_concurrent_adds_of_one_domain_add_one_customer(app, settings, world, engine):
    # given: two threads that add a customer with the same new primary domain at the same time
    workgroup_id = encode_id("Workgroup", world.home.id)

    def step(client: GraphQLClient, together, thread: int, round_: int) -> list:
        values = {
            "workgroupId": workgroup_id,
            "companyName": f"Racer {thread}/{round_}",
            "primaryDomain": f"race-{round_}.example",
        }
        response = client.post(ADMIN, ADD, {"input": values})
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        return errors_of(body["data"]["addCustomer"])

    # when: they do so for 20 rounds
    results = run_in_lockstep(app, settings, threads=2, rounds=ROUNDS, step=step)

    # then: every round added exactly one customer; the other got DUPLICATE, never a crash
    for round_ in range(ROUNDS):
        outcomes = sorted([results[0][round_], results[1][round_]])
        assert outcomes == [[], [("primaryDomain", "DUPLICATE")]], (round_, outcomes)
    with Session(engine) as session:
        racers = session.execute(
            select(func.count()).select_from(Customer).where(Customer.company_name.like("Racer %"))  # type: ignore[attr-defined]
        ).scalar_one()
    assert racers == ROUNDS
