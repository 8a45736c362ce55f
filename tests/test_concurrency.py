"""Writers at the same moment, against two real `clientele serve` processes (one pair per
module) on the suite's database — PostgreSQL, or one SQLite file.

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
- Two calls at once, one on each process, round after round (FAMILY_ROUNDS): a new user's
  grants and first sign-in (one user row; every grant that succeeded held), the same role
  revoked twice, the same workgroup or customer domain created twice, two agents adding and
  removing tags of one customer (every tag added is there, every tag removed gone), a first
  service level set twice (one row, holding a value that was set), the main contact chosen
  twice or chosen while the contact moves (one main contact per customer, never one of
  another customer), the same project and project membership twice, orders at once, the same
  case closed twice. Every answer is a 200 without an INTERNAL_SERVER_ERROR; every call
  succeeds or gets the user error its family allows (CONFLICT, DUPLICATE, or the one a later
  call would get); and the database and the activity log hold every write that reported
  success, once.

Rounds: CLIENTELE_CONCURRENCY_ROUNDS (default 200 on PostgreSQL and on SQLite: a round is two
requests and takes a few milliseconds on either) for the editors;
CLIENTELE_CONCURRENCY_FAMILY_ROUNDS (default 20) for each two-process family.
"""

import itertools
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
from models.accounts.tables import RoleAssignment, User, Workgroup
from models.audit.activity import ActivityRecord
from models.customers.tables import Customer
from models.customers.tags import tags_by_customer
from models.partner.operations import add_contact, set_main_contact
from models.partner.tables import Contact, OrderLine, Project, ProjectMember, ServiceLevel
from models.settings import Settings
from models.support.operations import create_group, set_group_access, set_group_member, share_case
from tests.attack_support import ServerProcess, new_case
from tests.conftest import TEST_SECRET, World, grant, make_customer

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
def servers(database_url, engine, tmp_path_factory) -> Iterator[tuple[ServerProcess, ...]]:
    """Two real server processes for the module on the suite's migrated database (on SQLite,
    one file), started side by side."""
    pair = tuple(
        ServerProcess(database_url, TEST_SECRET, tmp_path_factory.mktemp(name) / "server.log")
        for name in ("concurrency", "concurrency-peer")
    )
    try:
        with ThreadPoolExecutor(max_workers=len(pair)) as pool:
            for started in [pool.submit(server.start) for server in pair]:
                started.result()
        yield pair
    finally:
        for server in pair:
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
        futures = [pool.submit(worker, thread) for thread in range(threads)]
    # The failure itself, not the broken barrier it left the other threads waiting at.
    failures = [f.exception() for f in futures if f.exception() is not None]
    failures.sort(key=lambda failure: isinstance(failure, threading.BrokenBarrierError))
    if failures:
        raise failures[0]
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


def test_two_editors_with_one_version_never_lose_an_update(servers, engine, world):
    # Given a customer and two editors, each with a connection of their own to a server
    # process of their own
    customer = world.home_customers[0]
    gid = encode_id("Customer", customer.id)  # type: ignore[arg-type]
    admin = token(ADMIN)

    def step(thread: int, client: httpx.Client, sync) -> tuple[int, str, dict]:
        server = servers[thread]
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
    servers, engine, world
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
        server = servers[thread % len(servers)]
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


def race(
    servers: tuple[ServerProcess, ...],
    field: str,
    document: str,
    variables: Callable[[int], dict],
):
    """`RACERS` admins' requests at the same moment, spread over the server processes; their
    payloads."""
    admin = token(ADMIN)

    def step(thread: int, client: httpx.Client, _sync) -> dict:
        server = servers[thread % len(servers)]
        response = server.post(admin, document, variables(thread), client=client)
        return payload_of(response, field, server)

    (payloads,) = together(RACERS, step)
    return payloads


def one_success_and_duplicates(payloads: list[dict], field: str) -> None:
    errors = sorted((p["errors"] for p in payloads), key=len)
    assert errors[0] == [], payloads
    assert errors[1:] == [[{"field": field, "code": "DUPLICATE"}]] * (len(payloads) - 1), payloads


def test_the_same_group_created_at_one_moment_is_created_once(servers, world):
    home = encode_id("Workgroup", world.home.id)  # type: ignore[arg-type]
    for round_ in range(DUPLICATE_ROUNDS):
        payloads = race(
            servers, "createGroup", CREATE_GROUP, lambda _t, r=round_: {"wg": home, "name": f"G{r}"}
        )
        one_success_and_duplicates(payloads, "name")


def test_cases_opened_at_one_moment_get_distinct_consecutive_numbers(servers, world):
    home = encode_id("Workgroup", world.home.id)  # type: ignore[arg-type]
    numbers: list[int] = []
    for round_ in range(DUPLICATE_ROUNDS):
        payloads = race(
            servers,
            "openSupportCase",
            OPEN_CASE,
            lambda thread, r=round_: {"wg": home, "title": f"Case {r}/{thread}"},
        )
        assert all(p["errors"] == [] for p in payloads), payloads
        numbers += [p["supportCase"]["number"] for p in payloads]
    assert sorted(numbers) == list(range(1, 1 + RACERS * DUPLICATE_ROUNDS))


def test_the_same_share_made_at_one_moment_is_made_once(servers, session, world):
    home = world.home
    for role in ("member", "sales_agent"):
        grant(session, f"racer-{role}@home.example", role, home)
    for round_ in range(DUPLICATE_ROUNDS):
        case = new_case(session, home, f"Shared {round_}", ADMIN)
        gid = encode_id("SupportCase", case.id)  # type: ignore[arg-type]
        payloads = race(
            servers,
            "shareSupportCase",
            SHARE,
            lambda _t, g=gid: {"case": g, "email": World.email("member")},
        )
        one_success_and_duplicates(payloads, "email")


def test_the_same_member_added_at_one_moment_is_added_once(servers, session, world):
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
            servers,
            "addGroupMember",
            ADD_MEMBER,
            lambda _t, g=gid: {"group": g, "email": World.email("member")},
        )
        one_success_and_duplicates(payloads, "email")


def test_the_same_group_access_granted_at_one_moment_is_granted_once(servers, session, world):
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
            servers,
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


def test_the_same_removal_made_at_one_moment_is_made_once(servers, engine, session, world):
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
                servers,
                "unshareSupportCase",
                UNSHARE,
                lambda _t, g=gid: {"case": g, "email": member},
            ),
            "email",
        )
        one_success_and_not_found(
            race(
                servers,
                "removeGroupMember",
                REMOVE_MEMBER,
                lambda _t: {"group": group_gid, "email": member},
            ),
            "email",
        )
        one_success_and_not_found(
            race(
                servers,
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


def test_customers_added_at_one_moment_with_the_same_new_tags_all_get_them(servers, engine, world):
    home = encode_id("Workgroup", world.home.id)  # type: ignore[arg-type]
    for round_ in range(DUPLICATE_ROUNDS):
        tags = [f"wave-{round_}", f"shared-{round_}", "common"]
        payloads = race(
            servers,
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


# ------------------------------------------------------------------ two processes, one database
#
# Each family below runs FAMILY_ROUNDS rounds on two `clientele serve` processes on the same
# database (on SQLite, the same file): thread t talks to `servers[t]`, and a
# barrier releases both calls of a round together. Every answer must be a 200 without a GraphQL
# error (an INTERNAL_SERVER_ERROR fails `payload_of`), every user error one the family allows,
# and the database must hold every write that reported success.

FAMILY_ROUNDS = int(os.environ.get("CLIENTELE_CONCURRENCY_FAMILY_ROUNDS", "20"))


def on_two_processes(
    servers: tuple[ServerProcess, ...],
    step: Callable[[int, int, ServerProcess, httpx.Client, Callable[[], Any]], Any],
    rounds: int = FAMILY_ROUNDS,
) -> list[list[Any]]:
    """`step(round, thread, server, client, sync)` in two threads, thread t talking to
    `servers[t]`, each round started together (see `together`). Results by round, then thread."""
    counters = [0, 0]

    def run(thread: int, client: httpx.Client, sync: Callable[[], Any]) -> Any:
        round_ = counters[thread]
        counters[thread] += 1
        return step(round_, thread, servers[thread], client, sync)

    return together(2, run, rounds=rounds)


def gid(type_name: str, row: Any) -> str:
    return encode_id(type_name, row.id)


def records(engine: Engine, action: str) -> list[ActivityRecord]:
    with Session(engine) as session:
        return list(
            session.execute(
                select(ActivityRecord)
                .where(ActivityRecord.action == action)
                .order_by(ActivityRecord.id)  # type: ignore[arg-type]
            ).scalars()
        )


def error(field: str | None, code: str) -> list[dict]:
    return [{"field": field, "code": code}]


GRANT_ROLE = """
mutation($email: String!, $role: Role!, $wg: ID!) {
  grantRole(email: $email, role: $role, workgroupId: $wg) {
    assignment { role email } errors { field code }
  }
}
"""
REVOKE_ROLE = """
mutation($email: String!, $role: Role!, $wg: ID!) {
  revokeRole(email: $email, role: $role, workgroupId: $wg) { errors { field code } }
}
"""
ME = "{ me { email } }"


def test_a_new_users_grants_and_first_sign_in_on_two_processes_make_one_user(
    servers, engine, world
):
    # Given an e-mail per round that has no user yet, and an admin on each process
    home = gid("Workgroup", world.home)
    admin = token(ADMIN)

    def step(round_, thread, server, client, _sync):
        email = f"new-{round_}@grants.example"
        kind = round_ % 4
        if (kind == 2 and thread == 1) or kind == 3:
            # the new user's own first request, at the moment the other process grants them a
            # role or serves their first request too
            response = server.post(token(email), ME, client=client)
            assert response.status_code == 200, (response.text, server.log()[-3000:])
            assert response.json() == {"data": {"me": {"email": email}}}, response.text
            return "sign-in", []
        # When both processes grant them a role at once: two roles, or the same one twice
        role = ("SALES_AGENT", "SUPPORT_VIEWER")[thread] if kind == 0 else "MEMBER"
        variables = {"email": email, "role": role, "wg": home}
        payload = payload_of(
            server.post(admin, GRANT_ROLE, variables, client=client), "grantRole", server
        )
        return role, payload["errors"]

    results = on_two_processes(servers, step)

    # Then two roles are both granted, the same role once (DUPLICATE for the other), a grant at
    # the moment of the user's first sign-in is granted, and both first requests are served
    expected: set[tuple[str, str]] = set()
    for round_, outcomes in enumerate(results):
        email = f"new-{round_}@grants.example"
        if round_ % 4 == 1:
            assert sorted(e for _, e in outcomes) == [[], error("role", "DUPLICATE")], outcomes
        else:
            assert all(e == [] for _, e in outcomes), (round_, outcomes)
        expected |= {(email, role.lower()) for role, e in outcomes if role != "sign-in" and e == []}
    # And each e-mail is one user, holding exactly the roles whose grant succeeded
    with Session(engine) as session:
        users = session.execute(
            select(User.email, func.count())
            .where(User.email.like("new-%@grants.example"))  # type: ignore[attr-defined]
            .group_by(User.email)
        ).all()
        held = session.execute(
            select(User.email, RoleAssignment.role)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(User.email.like("new-%@grants.example"))  # type: ignore[attr-defined]
        ).all()
    assert dict(users) == {f"new-{r}@grants.example": 1 for r in range(FAMILY_ROUNDS)}
    assert set(held) == expected and len(held) == len(expected)
    # And the activity log records each grant that succeeded, once
    granted = [
        (r.after["email"], r.after["role"].lower())  # type: ignore[index]
        for r in records(engine, "role.grant")
        if r.after["email"].endswith("@grants.example")  # type: ignore[index]
    ]
    assert sorted(granted) == sorted(expected)


def test_the_same_role_revoked_on_two_processes_at_once_is_revoked_once(
    servers, engine, session, world
):
    # Given a user per round holding sales_agent
    home = gid("Workgroup", world.home)
    admin = token(ADMIN)
    for round_ in range(FAMILY_ROUNDS):
        grant(session, f"leaving-{round_}@home.example", "sales_agent", world.home)

    def step(round_, _thread, server, client, _sync):
        variables = {"email": f"leaving-{round_}@home.example", "role": "SALES_AGENT", "wg": home}
        response = server.post(admin, REVOKE_ROLE, variables, client=client)
        return payload_of(response, "revokeRole", server)["errors"]

    # When both processes revoke it at once
    results = on_two_processes(servers, step)

    # Then one of them does, the other is told it is not held, and it is recorded once
    for outcomes in results:
        assert sorted(outcomes) == [[], error("email", "NOT_FOUND")], outcomes
    leaving = [
        r
        for r in records(engine, "role.revoke")
        if r.before["email"].startswith("leaving-")  # type: ignore[index]
    ]
    assert len(leaving) == FAMILY_ROUNDS
    with Session(engine) as s:
        left = s.execute(
            select(func.count())
            .select_from(RoleAssignment)
            .join(User, User.id == RoleAssignment.user_id)
            .where(User.email.like("leaving-%"))  # type: ignore[attr-defined]
        ).scalar_one()
    assert left == 0


CREATE_WORKGROUP = """
mutation($name: String!) { createWorkgroup(name: $name) { workgroup { id } errors { field code } } }
"""


def test_the_same_workgroup_or_customer_created_on_two_processes_at_once_is_created_once(
    servers, engine, world
):
    root, admin = token(World.GLOBAL_ADMIN), token(ADMIN)
    home = gid("Workgroup", world.home)

    def step(round_, thread, server, client, sync):
        # When both processes create a workgroup of one name at once
        response = server.post(root, CREATE_WORKGROUP, {"name": f"Racing {round_}"}, client=client)
        workgroup = payload_of(response, "createWorkgroup", server)["errors"]
        sync()
        # and then a customer with one primary domain (and names of their own) at once
        customer = {
            "workgroupId": home,
            "companyName": f"Racer {round_}/{thread}",
            "primaryDomain": f"racer-{round_}.example",
        }
        response = server.post(admin, ADD_CUSTOMER, {"input": customer}, client=client)
        return workgroup, payload_of(response, "addCustomer", server)["errors"]

    results = on_two_processes(servers, step)

    # Then each is created once, and the other call is told it exists
    for outcomes in results:
        workgroups, customers = zip(*outcomes, strict=True)
        assert sorted(workgroups) == [[], error("name", "DUPLICATE")], outcomes
        assert sorted(customers) == [[], error("primaryDomain", "DUPLICATE")], outcomes
    with Session(engine) as session:
        names = session.execute(
            select(Workgroup.name).where(Workgroup.name.like("Racing %"))  # type: ignore[attr-defined]
        ).scalars()
        assert sorted(names) == sorted(f"Racing {r}" for r in range(FAMILY_ROUNDS))
        domains = session.execute(
            select(Customer.primary_domain).where(Customer.primary_domain.like("racer-%"))  # type: ignore[attr-defined]
        ).scalars()
        assert sorted(domains) == sorted(f"racer-{r}.example" for r in range(FAMILY_ROUNDS))


ADD_TAGS = """
mutation($id: ID!, $tags: [String!]!) {
  addTags(customerId: $id, tags: $tags) { customer { tags } errors { field code } }
}
"""
REMOVE_TAGS = """
mutation($id: ID!, $tags: [String!]!) {
  removeTags(customerId: $id, tags: $tags) { customer { tags } errors { field code } }
}
"""


def tags_of(engine: Engine, customer_id: int) -> list[str]:
    with Session(engine) as session:
        return tags_by_customer(session=session, customer_ids=[customer_id])[customer_id]


def test_two_agents_changing_one_customers_tags_at_once_both_keep_their_change(
    servers, engine, world
):
    # Given one customer (tagged "alpha") and two agents, one on each process
    customer = world.home_customers[2]
    original = tags_of(engine, customer.id)
    customer_gid = gid("Customer", customer)
    agents = [token(World.email("admin_agent")), token(World.email("sales_agent"))]

    def step(round_, thread, server, client, sync):
        own = f"t{thread}-{round_}"
        # When both add a tag of their own at the same moment
        added = payload_of(
            server.post(
                agents[thread], ADD_TAGS, {"id": customer_gid, "tags": [own]}, client=client
            ),
            "addTags",
            server,
        )
        sync()
        seen = tags_of(engine, customer.id) if thread == 0 else None
        sync()
        # And then both take their own tag away again at the same moment
        removed = payload_of(
            server.post(
                agents[thread], REMOVE_TAGS, {"id": customer_gid, "tags": [own]}, client=client
            ),
            "removeTags",
            server,
        )
        return own, added, seen, removed

    results = on_two_processes(servers, step)

    # Then every change succeeded or was refused with a user error, and after both adds the
    # customer had every tag added successfully, and the original ones
    successes = 0
    for round_, ((own0, added0, seen, removed0), (own1, added1, _, removed1)) in enumerate(results):
        for own, added, removed in ((own0, added0, removed0), (own1, added1, removed1)):
            assert added["errors"] in ([], error(None, "CONFLICT")), (round_, added)
            assert removed["errors"] in ([], error(None, "CONFLICT")), (round_, removed)
            if added["errors"] == []:
                assert own in added["customer"]["tags"], (round_, added)
                assert own in seen, (round_, own, seen)
                successes += 1
            if removed["errors"] == []:
                assert own not in removed["customer"]["tags"], (round_, removed)
                successes += 1
        assert set(original) <= set(seen), (round_, seen)
    # And every removal that succeeded took its tag away and nothing else
    assert tags_of(engine, customer.id) == original
    # And the activity log has one record per successful change
    changes = [r for r in records(engine, "customer.tags") if r.target_id == customer.id]
    assert len(changes) == successes


SET_SERVICE_LEVEL = """
mutation($id: ID!, $first: Int!, $resolution: Int!, $profile: String!) {
  setServiceLevel(
    customerId: $id, firstResponseMinutes: $first, resolutionMinutes: $resolution,
    alertProfile: $profile
  ) { serviceLevel { firstResponseMinutes resolutionMinutes alertProfile } errors { field code } }
}
"""


def test_a_first_service_level_set_twice_at_once_is_one_row(servers, engine, session, world):
    # Given a customer per round without a service level
    customers = [make_customer(session, world.home, index=f"sla{r}") for r in range(FAMILY_ROUNDS)]
    admin = token(ADMIN)

    def step(round_, thread, server, client, _sync):
        # When both processes set its first service level at once (a double click; the two
        # values differ, to tell which one is stored)
        values = {"first": 10 + thread, "resolution": 100 + thread, "profile": f"Profile {thread}"}
        response = server.post(
            admin,
            SET_SERVICE_LEVEL,
            {"id": gid("Customer", customers[round_]), **values},
            client=client,
        )
        return values, payload_of(response, "setServiceLevel", server)

    results = on_two_processes(servers, step)

    # Then each took effect or got a user error, and the customer has one service level
    with Session(engine) as s:
        levels = s.execute(select(ServiceLevel)).scalars().all()
    stored_levels = {level.customer_id: level for level in levels}
    assert len(levels) == len(stored_levels) == FAMILY_ROUNDS
    logged = records(engine, "customer.service_level")
    for round_, outcomes in enumerate(results):
        written = []
        for values, payload in outcomes:
            assert payload["errors"] in ([], error(None, "CONFLICT")), (round_, payload)
            if payload["errors"] == []:
                written.append(
                    {
                        "firstResponseMinutes": values["first"],
                        "resolutionMinutes": values["resolution"],
                        "alertProfile": values["profile"],
                    }
                )
        # And the activity log has one record per call that succeeded (the two values differ,
        # so each changed something), each later one changing what the one before set
        customer_id = customers[round_].id
        changes = [r for r in logged if r.target_id == customer_id]
        assert sorted(_items(r.after) for r in changes) == sorted(map(_items, written)), (
            round_,
            changes,
            written,
        )
        for earlier, later in itertools.pairwise(changes):
            assert later.before == earlier.after, (round_, earlier.after, later.before)
        # And the stored level is the one the last successful call set: none was lost
        level = stored_levels[customer_id]
        assert {
            "firstResponseMinutes": level.first_response_minutes,
            "resolutionMinutes": level.resolution_minutes,
            "alertProfile": level.alert_profile,
        } == changes[-1].after, (round_, level, changes)


def _items(values: dict | None) -> tuple:
    return tuple(sorted((values or {}).items()))


SET_MAIN_CONTACT = """
mutation($customer: ID!, $contact: ID!) {
  setMainContact(customerId: $customer, contactId: $contact) {
    contact { id isMain } errors { field code }
  }
}
"""
MOVE_CONTACT = """
mutation($id: ID!, $customer: ID) {
  moveContact(id: $id, customerId: $customer) { contact { id } errors { field code } }
}
"""


def contacts_of(engine: Engine, customer_id: int) -> dict[int, bool]:
    with Session(engine) as session:
        return dict(
            session.execute(
                select(Contact.id, Contact.is_main).where(Contact.customer_id == customer_id)
            ).all()
        )


def test_main_contacts_chosen_and_contacts_moved_at_once_leave_one_main_contact(
    servers, engine, session, world
):
    # Given per round a customer C with contacts X and Y, and a customer D with a contact M,
    # which is D's main contact in half of the rounds where X moves to D
    rounds = []
    for r in range(FAMILY_ROUNDS):
        c = make_customer(session, world.home, index=f"main-c{r}")
        d = make_customer(session, world.home, index=f"main-d{r}")
        x, y, m = (
            add_contact(
                session=session,
                workgroup_id=world.home.id,  # type: ignore[arg-type]
                customer=customer,
                values={"first_name": name, "last_name": str(r), "email": f"{name}{r}@c.example"},
                actor_id=None,  # type: ignore[arg-type]
            )
            for name, customer in (("x", c), ("y", c), ("m", d))
        )
        if r % 3 == 1:
            set_main_contact(session=session, customer=d, contact=m, actor_id=None)  # type: ignore[arg-type]
        session.commit()
        rounds.append((c, d, x, y, m))
    admin = token(ADMIN)

    def step(round_, thread, server, client, _sync):
        c, d, x, y, _m = rounds[round_]
        if thread == 0:  # When one process makes X the main contact of C
            variables = {"customer": gid("Customer", c), "contact": gid("Contact", x)}
            response = server.post(admin, SET_MAIN_CONTACT, variables, client=client)
            return payload_of(response, "setMainContact", server)["errors"]
        if round_ % 3 == 0:  # while the other makes Y the main contact of C
            variables = {"customer": gid("Customer", c), "contact": gid("Contact", y)}
            response = server.post(admin, SET_MAIN_CONTACT, variables, client=client)
            return payload_of(response, "setMainContact", server)["errors"]
        # or moves X to D, at the same moment
        variables = {"id": gid("Contact", x), "customer": gid("Customer", d)}
        response = server.post(admin, MOVE_CONTACT, variables, client=client)
        return payload_of(response, "moveContact", server)["errors"]

    results = on_two_processes(servers, step)

    for round_, (first, second) in enumerate(results):
        c, d, x, y, m = rounds[round_]
        in_c, in_d = contacts_of(engine, c.id), contacts_of(engine, d.id)  # type: ignore[arg-type]
        if round_ % 3 == 0:
            # Then each choice took effect or got a user error, and C has one main contact,
            # one whose choice succeeded
            assert first in ([], error(None, "CONFLICT")), (round_, first)
            assert second in ([], error(None, "CONFLICT")), (round_, second)
            chosen = {contact.id for contact, e in ((x, first), (y, second)) if e == []}
            mains = [cid for cid, main in in_c.items() if main]
            assert len(mains) == 1 and mains[0] in chosen, (round_, in_c, first, second)
        else:
            # Then the move took effect; the choice took effect before it, or was refused
            # (the contact is not C's any more), and never made X a main contact of D (whether
            # or not D has one)
            assert second == [], (round_, second)
            assert first in ([], error("contactId", "INVALID"), error("contactId", "CONFLICT")), (
                round_,
                first,
            )
            assert in_c == {y.id: False}, (round_, in_c)
            assert in_d == {m.id: round_ % 3 == 1, x.id: False}, (round_, in_d, first)


CREATE_PROJECT = """
mutation($wg: ID!, $name: String!) {
  createProject(workgroupId: $wg, name: $name) { project { id } errors { field code } }
}
"""
ADD_PROJECT_MEMBER = """
mutation($project: ID!, $customer: ID!) {
  addProjectMember(projectId: $project, customerId: $customer) {
    project { id } errors { field code }
  }
}
"""
REMOVE_PROJECT_MEMBER = """
mutation($project: ID!, $customer: ID!) {
  removeProjectMember(projectId: $project, customerId: $customer) {
    project { id } errors { field code }
  }
}
"""


def test_the_same_project_and_membership_on_two_processes_at_once_are_made_once(
    servers, engine, world
):
    home = gid("Workgroup", world.home)
    customer = gid("Customer", world.home_customers[0])
    admin = token(ADMIN)
    projects: dict[int, str] = {}

    def step(round_, _thread, server, client, sync):
        # When both create a project of one name at once
        created = payload_of(
            server.post(
                admin, CREATE_PROJECT, {"wg": home, "name": f"Race {round_}"}, client=client
            ),
            "createProject",
            server,
        )
        if created["errors"] == []:
            projects[round_] = created["project"]["id"]
        sync()
        # and then both add one customer to it at once, and then both remove it at once
        variables = {"project": projects.get(round_, ""), "customer": customer}
        added = payload_of(
            server.post(admin, ADD_PROJECT_MEMBER, variables, client=client),
            "addProjectMember",
            server,
        )
        sync()
        removed = payload_of(
            server.post(admin, REMOVE_PROJECT_MEMBER, variables, client=client),
            "removeProjectMember",
            server,
        )
        return created["errors"], added["errors"], removed["errors"]

    results = on_two_processes(servers, step)

    # Then each is done once; the other call is told it is done already, or not there
    for outcomes in results:
        created, added, removed = zip(*outcomes, strict=True)
        assert sorted(created) == [[], error("name", "DUPLICATE")], outcomes
        assert sorted(added) == [[], error("customerId", "DUPLICATE")], outcomes
        assert sorted(removed) == [[], error("customerId", "NOT_FOUND")], outcomes
    with Session(engine) as session:
        names = session.execute(select(Project.name)).scalars()
        assert sorted(names) == sorted(f"Race {r}" for r in range(FAMILY_ROUNDS))
        assert session.execute(select(func.count()).select_from(ProjectMember)).scalar_one() == 0
    assert len(records(engine, "project.member.add")) == FAMILY_ROUNDS
    assert len(records(engine, "project.member.remove")) == FAMILY_ROUNDS


CREATE_ORDER = """
mutation($id: ID!, $product: String!) {
  createOrder(customerId: $id, catalog: AZURE, lines: [{product: $product, quantity: 1}]) {
    order { id } errors { field code }
  }
}
"""
CLOSE_CASE = """
mutation($case: ID!) {
  closeSupportCase(caseId: $case) { supportCase { id } errors { field code } }
}
"""


def test_orders_at_once_are_all_kept_and_a_case_closed_twice_at_once_closes_once(
    servers, engine, session, world
):
    # Given a customer, and a case per round
    customer = world.home_customers[0]
    cases = [new_case(session, world.home, f"Closing {r}", ADMIN) for r in range(FAMILY_ROUNDS)]
    admin = token(ADMIN)

    def step(round_, thread, server, client, sync):
        # When both processes place an order for the customer at once
        variables = {"id": gid("Customer", customer), "product": f"P{round_}/{thread}"}
        ordered = payload_of(
            server.post(admin, CREATE_ORDER, variables, client=client), "createOrder", server
        )
        sync()
        # and then both close one case at once
        response = server.post(
            admin, CLOSE_CASE, {"case": gid("SupportCase", cases[round_])}, client=client
        )
        return ordered["errors"], payload_of(response, "closeSupportCase", server)["errors"]

    results = on_two_processes(servers, step)

    # Then every order is kept, and each case is closed once: the other call is told it is
    # closed already, and the activity log records one closing
    for outcomes in results:
        ordered, closed = zip(*outcomes, strict=True)
        assert list(ordered) == [[], []], outcomes
        assert sorted(closed) == [[], error(None, "INVALID")], outcomes
    with Session(engine) as s:
        products = s.execute(select(OrderLine.product)).scalars()
        assert sorted(products) == sorted(f"P{r}/{t}" for r in range(FAMILY_ROUNDS) for t in (0, 1))
    assert sorted(r.target_id for r in records(engine, "case.close")) == sorted(c.id for c in cases)
