"""Writers at the same moment, against a real `clientele serve` (one per module) on the suite's
database — SQLite or PostgreSQL.

- Two editors save the same customer with the same expectedVersion, released together by a
  barrier, round after round: exactly one wins each round, the other gets CONFLICT, and no
  update is lost (final version = 1 + wins; the stored name is the last winner's).
- Several threads archive, reactivate and edit one customer in a storm: every answer is a
  success or a user error, and the activity log agrees with the final state (replaying its
  status changes gives the stored status; one record per successful mutation).
- The same write at the same moment (one group name, one share, one member, one group access,
  customers with the same new tags, cases numbered in one workgroup): one success and
  DUPLICATE user errors, never a crash; the same removal at once: one success, NOT_FOUND for
  the others, and one activity record.

Rounds: CLIENTELE_CONCURRENCY_ROUNDS (default 200 on PostgreSQL and on SQLite: a round is two
requests and takes a few milliseconds on either).
"""

import os
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from graph.auth import mint_token
from graph.ids import encode_id
from models.activity import ActivityRecord
from models.customers import Customer
from models.settings import Settings
from models.support import create_group, set_group_access, set_group_member, share_case
from tests.attack_support import ServerProcess, new_case
from tests.conftest import TEST_SECRET, World, grant

pytestmark = pytest.mark.e2e

ROUNDS = int(os.environ.get("CLIENTELE_CONCURRENCY_ROUNDS", "200"))
STORM_THREADS = 4
STORM_STEPS = 40  # per thread
ADMIN = World.email("admin")

VERSION = "query($id: ID!) { customer(id: $id) { version } }"
UPDATE = """
mutation($id: ID!, $name: String!, $version: Int) {
  updateCustomer(id: $id, input: {companyName: $name}, expectedVersion: $version) {
    customer { companyName version } errors { field code }
  }
}
"""
EDIT_CITY = """
mutation($id: ID!, $city: String!) {
  updateCustomer(id: $id, input: {city: $city}) { customer { version } errors { field code } }
}
"""
ARCHIVE = """
mutation($id: ID!) { archiveCustomer(id: $id) { customer { status } errors { field code } } }
"""
REACTIVATE = """
mutation($id: ID!) { reactivateCustomer(id: $id) { customer { status } errors { field code } } }
"""


@pytest.fixture(scope="module")
def server(database_url, engine, tmp_path_factory) -> Iterator[ServerProcess]:
    """One real server for the module, on the suite's migrated database."""
    log = tmp_path_factory.mktemp("concurrency") / "server.log"
    server = ServerProcess(database_url, TEST_SECRET, log).start()
    try:
        yield server
    finally:
        server.stop()


def token(email: str) -> str:
    return mint_token(email, Settings(jwt_secret=TEST_SECRET))


def payload_of(response: httpx.Response, field: str, server: ServerProcess) -> dict[str, Any]:
    """The mutation's payload; the request must have been answered without a GraphQL error."""
    assert response.status_code == 200, (response.status_code, response.text, server.log()[-3000:])
    body = response.json()
    assert "errors" not in body, (body, server.log()[-3000:])
    return body["data"][field]


def together(
    threads: int, step: Callable[[int, httpx.Client, Callable[[], Any]], Any], rounds: int = 1
) -> list[list[Any]]:
    """Runs `step(thread, client, sync)` in `threads` threads, `rounds` times, each thread
    with a keep-alive client of its own. A barrier starts every round only when all threads
    have finished the one before, and `sync()` waits inside a round until every thread has
    reached it. Returns the results by round, then by thread."""
    barrier = threading.Barrier(threads, timeout=60)
    results: list[list[Any]] = [[None] * threads for _ in range(rounds)]

    def worker(thread: int) -> None:
        with httpx.Client(timeout=30) as client:
            try:
                for round_ in range(rounds):
                    barrier.wait()
                    results[round_][thread] = step(thread, client, barrier.wait)
            except BaseException:
                barrier.abort()
                raise

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for future in [pool.submit(worker, thread) for thread in range(threads)]:
            future.result()
    return results


def stored(engine: Engine, customer_id: int) -> Customer:
    with Session(engine) as session:
        return session.get_one(Customer, customer_id)


def activity_of(engine: Engine, customer_id: int) -> list[ActivityRecord]:
    with Session(engine) as session:
        return list(
            session.execute(
                select(ActivityRecord)
                .where(
                    ActivityRecord.target_type == "Customer",
                    ActivityRecord.target_id == customer_id,
                )
                .order_by(ActivityRecord.id)
            ).scalars()
        )


# ------------------------------------------------------------------ lost updates


def test_two_editors_with_one_version_never_lose_an_update(server, engine, world):
    # Given a customer and two editors, each with a connection of their own
    customer = world.home_customers[0]
    gid = encode_id("Customer", customer.id)  # type: ignore[arg-type]
    admin = token(ADMIN)

    def step(thread: int, client: httpx.Client, sync) -> tuple[int, str, dict]:
        # who both read the customer's version
        read = server.post(admin, VERSION, {"id": gid}, client=client).json()
        version = read["data"]["customer"]["version"]
        name = f"Editor {thread} at {version}"
        sync()
        # When both save a change based on it at the same moment
        response = server.post(
            admin, UPDATE, {"id": gid, "name": name, "version": version}, client=client
        )
        return version, name, payload_of(response, "updateCustomer", server)

    results = together(2, step, rounds=ROUNDS)

    # Then in every round both had read what the round before left, exactly one won, and the
    # other got CONFLICT on expectedVersion
    winners: list[str] = []
    for round_, (first, second) in enumerate(results):
        assert first[0] == second[0] == 1 + round_, (round_, first, second)
        (version, won_name, won), (_, _, lost) = sorted(
            [first, second], key=lambda result: bool(result[2]["errors"])
        )
        assert won["errors"] == [], (round_, first, second)
        assert won["customer"] == {"companyName": won_name, "version": version + 1}
        assert lost["errors"] == [{"field": "expectedVersion", "code": "CONFLICT"}], (
            round_,
            first,
            second,
        )
        assert lost["customer"] is None
        winners.append(won_name)

    # And no update was lost: one version per win, the last winner's name, one record per win
    final = stored(engine, customer.id)  # type: ignore[arg-type]
    assert final.version == 1 + len(winners) == 1 + ROUNDS
    assert final.company_name == winners[-1]
    updates = [r for r in activity_of(engine, customer.id) if r.action == "customer.update"]  # type: ignore[arg-type]
    assert [r.after["companyName"] for r in updates] == winners  # type: ignore[index]


# ------------------------------------------------------------------ a storm of status changes


def test_a_storm_of_archive_reactivate_and_edits_agrees_with_the_activity_log(
    server, engine, world
):
    # Given one customer and four threads, each with a seeded mix of archive, reactivate and
    # edit (a city of its own every time, so every successful edit changes something)
    customer = world.home_customers[1]
    gid = encode_id("Customer", customer.id)  # type: ignore[arg-type]
    admin = token(ADMIN)
    rngs = [random.Random(thread) for thread in range(STORM_THREADS)]
    plans = [
        [rng.choice(["archive", "reactivate", "edit"]) for _ in range(STORM_STEPS)] for rng in rngs
    ]
    operations = {
        "archive": ("archiveCustomer", ARCHIVE, {}),
        "reactivate": ("reactivateCustomer", REACTIVATE, {}),
        "edit": ("updateCustomer", EDIT_CITY, None),
    }

    def step(thread: int, client: httpx.Client, _sync) -> list[tuple[str, list]]:
        done = []
        for index, kind in enumerate(plans[thread]):
            field, document, extra = operations[kind]
            variables = {
                "id": gid,
                **(extra if extra is not None else {"city": f"C{thread}-{index}"}),
            }
            payload = payload_of(
                server.post(admin, document, variables, client=client), field, server
            )
            done.append((kind, payload["errors"]))
        return done

    # When they all run at once
    (results,) = together(STORM_THREADS, step)
    outcomes = [outcome for thread in results for outcome in thread]

    # Then every failure is an expected user error
    allowed = {
        "archive": [{"field": None, "code": "ARCHIVED"}],
        "reactivate": [{"field": None, "code": "NOT_ARCHIVED"}],
        "edit": [{"field": None, "code": "ARCHIVED"}],
    }
    conflict = [{"field": "expectedVersion", "code": "CONFLICT"}]
    for kind, errors in outcomes:
        assert errors in ([], conflict, allowed[kind]), (kind, errors)
    successes = Counter(kind for kind, errors in outcomes if not errors)

    # And the activity log holds exactly one record per success, of the right kind
    actions = {"customer.archive": "archive", "customer.reactivate": "reactivate"}
    actions["customer.update"] = "edit"
    records = [r for r in activity_of(engine, customer.id) if r.action in actions]  # type: ignore[arg-type]
    assert Counter(actions[r.action] for r in records) == successes

    # And replaying its status changes, each from the status it needs, gives the stored state
    status = "ACTIVE"
    for record in records:
        if record.action == "customer.archive":
            assert status == "ACTIVE", record.id
            status = "ARCHIVED"
        elif record.action == "customer.reactivate":
            assert status == "ARCHIVED", record.id
            status = "ACTIVE"
        else:
            assert status == "ACTIVE", ("an archived customer was edited", record.id)
    final = stored(engine, customer.id)  # type: ignore[arg-type]
    assert final.status == status
    assert (final.archived_at is not None) == (status == "ARCHIVED")
    # And the version counts every successful change
    assert final.version == 1 + sum(successes.values())


# ------------------------------------------------------------------ duplicates at one moment


CREATE_GROUP = """
mutation($wg: ID!, $name: String!) {
  createGroup(workgroupId: $wg, name: $name) { group { id } errors { field code } }
}
"""
OPEN_CASE = """
mutation($wg: ID!, $title: String!) {
  openSupportCase(input: {workgroupId: $wg, title: $title, severity: LOW}) {
    supportCase { id number } errors { field code }
  }
}
"""
SHARE = """
mutation($case: ID!, $email: String!) {
  shareSupportCase(caseId: $case, email: $email) { supportCase { id } errors { field code } }
}
"""
ADD_MEMBER = """
mutation($group: ID!, $email: String!) {
  addGroupMember(groupId: $group, email: $email) { group { id } errors { field code } }
}
"""
GRANT_ACCESS = """
mutation($case: ID!, $group: ID!) {
  grantGroupAccess(caseId: $case, groupId: $group) { supportCase { id } errors { field code } }
}
"""
ADD_CUSTOMER = """
mutation($input: AddCustomerInput!) {
  addCustomer(input: $input) { customer { id tags } errors { field code } }
}
"""
DUPLICATE_ROUNDS = 15
RACERS = 4


def race(server: ServerProcess, field: str, document: str, variables: Callable[[int], dict]):
    """`RACERS` admins' requests at the same moment; their payloads."""
    admin = token(ADMIN)

    def step(thread: int, client: httpx.Client, _sync) -> dict:
        response = server.post(admin, document, variables(thread), client=client)
        return payload_of(response, field, server)

    (payloads,) = together(RACERS, step)
    return payloads


def one_success_and_duplicates(payloads: list[dict], field: str) -> None:
    errors = sorted((p["errors"] for p in payloads), key=len)
    assert errors[0] == [], payloads
    assert errors[1:] == [[{"field": field, "code": "DUPLICATE"}]] * (len(payloads) - 1), payloads


def test_the_same_group_created_at_one_moment_is_created_once(server, world):
    home = encode_id("Workgroup", world.home.id)  # type: ignore[arg-type]
    for round_ in range(DUPLICATE_ROUNDS):
        payloads = race(
            server, "createGroup", CREATE_GROUP, lambda _t, r=round_: {"wg": home, "name": f"G{r}"}
        )
        one_success_and_duplicates(payloads, "name")


def test_cases_opened_at_one_moment_get_distinct_consecutive_numbers(server, world):
    home = encode_id("Workgroup", world.home.id)  # type: ignore[arg-type]
    numbers: list[int] = []
    for round_ in range(DUPLICATE_ROUNDS):
        payloads = race(
            server,
            "openSupportCase",
            OPEN_CASE,
            lambda thread, r=round_: {"wg": home, "title": f"Case {r}/{thread}"},
        )
        assert all(p["errors"] == [] for p in payloads), payloads
        numbers += [p["supportCase"]["number"] for p in payloads]
    assert sorted(numbers) == list(range(1, 1 + RACERS * DUPLICATE_ROUNDS))


def test_the_same_share_made_at_one_moment_is_made_once(server, session, world):
    home = world.home
    for role in ("member", "sales_agent"):
        grant(session, f"racer-{role}@home.example", role, home)
    for round_ in range(DUPLICATE_ROUNDS):
        case = new_case(session, home, f"Shared {round_}", ADMIN)
        gid = encode_id("SupportCase", case.id)  # type: ignore[arg-type]
        payloads = race(
            server,
            "shareSupportCase",
            SHARE,
            lambda _t, g=gid: {"case": g, "email": World.email("member")},
        )
        one_success_and_duplicates(payloads, "email")


def test_the_same_member_added_at_one_moment_is_added_once(server, session, world):
    for round_ in range(DUPLICATE_ROUNDS):
        group = create_group(
            session=session,
            workgroup_id=world.home.id,  # type: ignore[arg-type]
            name=f"Racers {round_}",
            actor_id=None,  # type: ignore[arg-type]
        )
        session.commit()
        gid = encode_id("Group", group.id)  # type: ignore[arg-type]
        payloads = race(
            server,
            "addGroupMember",
            ADD_MEMBER,
            lambda _t, g=gid: {"group": g, "email": World.email("member")},
        )
        one_success_and_duplicates(payloads, "email")


def test_the_same_group_access_granted_at_one_moment_is_granted_once(server, session, world):
    group = create_group(
        session=session,
        workgroup_id=world.home.id,  # type: ignore[arg-type]
        name="Access racers",
        actor_id=None,  # type: ignore[arg-type]
    )
    session.commit()
    group_gid = encode_id("Group", group.id)  # type: ignore[arg-type]
    for round_ in range(DUPLICATE_ROUNDS):
        case = new_case(session, world.home, f"Access {round_}", ADMIN)
        gid = encode_id("SupportCase", case.id)  # type: ignore[arg-type]
        payloads = race(
            server,
            "grantGroupAccess",
            GRANT_ACCESS,
            lambda _t, g=gid: {"case": g, "group": group_gid},
        )
        one_success_and_duplicates(payloads, "groupId")


UNSHARE = """
mutation($case: ID!, $email: String!) {
  unshareSupportCase(caseId: $case, email: $email) { supportCase { id } errors { field code } }
}
"""
REMOVE_MEMBER = """
mutation($group: ID!, $email: String!) {
  removeGroupMember(groupId: $group, email: $email) { group { id } errors { field code } }
}
"""
REVOKE_ACCESS = """
mutation($case: ID!, $group: ID!) {
  revokeGroupAccess(caseId: $case, groupId: $group) { supportCase { id } errors { field code } }
}
"""


def one_success_and_not_found(payloads: list[dict], field: str) -> None:
    errors = sorted((p["errors"] for p in payloads), key=len)
    assert errors[0] == [], payloads
    assert errors[1:] == [[{"field": field, "code": "NOT_FOUND"}]] * (len(payloads) - 1), payloads


def records_of(engine: Engine, action: str) -> int:
    with Session(engine) as session:
        return session.execute(
            select(func.count()).select_from(ActivityRecord).where(ActivityRecord.action == action)
        ).scalar_one()


def test_the_same_removal_made_at_one_moment_is_made_once(server, engine, session, world):
    # Given shares, group members and group accesses, each removed by four admins at once
    member = World.email("member")
    group = create_group(
        session=session,
        workgroup_id=world.home.id,  # type: ignore[arg-type]
        name="Removal racers",
        actor_id=None,  # type: ignore[arg-type]
    )
    group_gid = encode_id("Group", group.id)  # type: ignore[arg-type]
    for round_ in range(DUPLICATE_ROUNDS):
        case = new_case(session, world.home, f"Removal {round_}", ADMIN)
        share_case(session=session, support_case=case, email=member, actor_id=None, share=True)  # type: ignore[arg-type]
        set_group_member(session=session, group=group, email=member, actor_id=None, member=True)  # type: ignore[arg-type]
        set_group_access(session=session, support_case=case, group=group, actor_id=None, grant=True)  # type: ignore[arg-type]
        session.commit()
        gid = encode_id("SupportCase", case.id)  # type: ignore[arg-type]
        # When each is taken away by four admins at the same moment
        # Then one of them does it and the others are told it is not there
        one_success_and_not_found(
            race(
                server,
                "unshareSupportCase",
                UNSHARE,
                lambda _t, g=gid: {"case": g, "email": member},
            ),
            "email",
        )
        one_success_and_not_found(
            race(
                server,
                "removeGroupMember",
                REMOVE_MEMBER,
                lambda _t: {"group": group_gid, "email": member},
            ),
            "email",
        )
        one_success_and_not_found(
            race(
                server,
                "revokeGroupAccess",
                REVOKE_ACCESS,
                lambda _t, g=gid: {"case": g, "group": group_gid},
            ),
            "groupId",
        )
    # And the activity log records each removal once
    assert records_of(engine, "case.unshare") == DUPLICATE_ROUNDS
    assert records_of(engine, "group.member.remove") == DUPLICATE_ROUNDS
    assert records_of(engine, "case.group_access.revoke") == DUPLICATE_ROUNDS


def test_customers_added_at_one_moment_with_the_same_new_tags_all_get_them(server, engine, world):
    home = encode_id("Workgroup", world.home.id)  # type: ignore[arg-type]
    for round_ in range(DUPLICATE_ROUNDS):
        tags = [f"wave-{round_}", f"shared-{round_}", "common"]
        payloads = race(
            server,
            "addCustomer",
            ADD_CUSTOMER,
            lambda thread, r=round_, t=tags: {
                "input": {
                    "workgroupId": home,
                    "companyName": f"Tagged {r}/{thread}",
                    "primaryDomain": f"tagged-{r}-{thread}.example",
                    "tags": t,
                }
            },
        )
        assert [p["errors"] for p in payloads] == [[]] * RACERS, payloads
        assert all(sorted(p["customer"]["tags"]) == sorted(tags) for p in payloads), payloads
    with Session(engine) as session:
        added = session.execute(
            select(func.count()).select_from(Customer).where(Customer.company_name.like("Tagged %"))  # type: ignore[attr-defined]
        ).scalar_one()
    assert added == RACERS * DUPLICATE_ROUNDS
