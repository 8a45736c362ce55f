"""Contracts, the service level and projects: adding a contract of each type with its rate,
amount and dates; setting the SLA targets and alert profile (and setting them again);
projects, their members and the list filtered by project; archived customers; who may read
and do what; one activity record per successful change and none for a failed or refused one;
and the cost of the nested customer overview, which does not grow with the customers."""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

from graph.ids import encode_id
from models.customers.operations import archive_customer
from models.customers.tables import Customer
from models.partner.operations import create_project, set_project_member
from models.partner.tables import (
    Contact,
    Contract,
    CustomerOrder,
    OrderLine,
    Project,
    ProjectMember,
    ServiceLevel,
)
from tests.conftest import (
    ROLES,
    GraphQLClient,
    World,
    grant,
    make_customer,
    make_workgroup,
    table_rows,
)

ADMIN = World.email("admin")
EDITORS = {"admin", "admin_agent"}
READERS = {"admin", "admin_agent", "sales_agent"}
IDENTITY_ONLY = {"customer_activity", "training_manager", "support_viewer"}
CONTRACT_TYPES = [
    "RETAINER_FLAT_FEE",
    "HOURLY",
    "BLOCK_HOURS",
    "BLOCK_MONEY",
    "REMOTE_MONITORING",
    "ONLINE_BACKUP",
    "PROJECT_ONE_TIME_FEE",
    "PROJECT_HOURLY_RATE",
]

CONTRACT = "id name type rate amount startsOn endsOn"
ADD_CONTRACT = f"""
mutation($customerId: ID!, $input: AddContractInput!) {{
  addContract(customerId: $customerId, input: $input) {{
    contract {{ {CONTRACT} }} errors {{ field code }}
  }}
}}
"""
SERVICE_LEVEL = "firstResponseMinutes resolutionMinutes alertProfile"
SET_SERVICE_LEVEL = f"""
mutation($customerId: ID!, $first: Int!, $resolution: Int!, $profile: String!) {{
  setServiceLevel(
    customerId: $customerId, firstResponseMinutes: $first, resolutionMinutes: $resolution,
    alertProfile: $profile
  ) {{ serviceLevel {{ {SERVICE_LEVEL} }} errors {{ field code }} }}
}}
"""
PROJECT_PAYLOAD = "project { id name } errors { field code }"
CREATE_PROJECT = f"""
mutation($workgroupId: ID!, $name: String!) {{
  createProject(workgroupId: $workgroupId, name: $name) {{ {PROJECT_PAYLOAD} }}
}}
"""
ADD_MEMBER = f"""
mutation($projectId: ID!, $customerId: ID!) {{
  addProjectMember(projectId: $projectId, customerId: $customerId) {{ {PROJECT_PAYLOAD} }}
}}
"""
REMOVE_MEMBER = f"""
mutation($projectId: ID!, $customerId: ID!) {{
  removeProjectMember(projectId: $projectId, customerId: $customerId) {{ {PROJECT_PAYLOAD} }}
}}
"""
CUSTOMER_BILLING = f"""
query($id: ID!) {{
  customer(id: $id) {{
    id contracts {{ {CONTRACT} }} serviceLevel {{ {SERVICE_LEVEL} }} projects {{ id name }}
  }}
}}
"""
WORKGROUP_PROJECTS = "query($id: ID!) { workgroup(id: $id) { id projects { id name } } }"
IN_PROJECT = """
query($projectId: ID, $status: CustomerStatus = ACTIVE) {
  customers(projectId: $projectId, status: $status, first: 100) {
    totalCount edges { node { id } }
  }
}
"""
OVERVIEW = """
query {
  customers(first: 100) { edges { node {
    contacts { email } mainContact { email } orders { catalog lines { product } }
    contracts { name } serviceLevel { alertProfile } projects { name }
  } } }
}
"""

TABLES = (
    "customer",
    "contract",
    "service_level",
    "project",
    "project_member",
    "activity_record",
)


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


def billing_of(gql, customer: Customer) -> dict[str, Any]:
    body = gql(ADMIN, CUSTOMER_BILLING, {"id": gid("Customer", customer.id)})
    assert "errors" not in body, body["errors"]
    return body["data"]["customer"]


def members(gql, project_id: str | None, email: str = ADMIN, status: str | None = "ACTIVE"):
    body = gql(email, IN_PROJECT, {"projectId": project_id, "status": status})
    assert "errors" not in body, body["errors"]
    connection = body["data"]["customers"]
    ids = [edge["node"]["id"] for edge in connection["edges"]]
    assert connection["totalCount"] == len(ids)
    return ids


def workgroup_projects(gql, workgroup, email: str = ADMIN) -> list[str]:
    body = gql(email, WORKGROUP_PROJECTS, {"id": gid("Workgroup", workgroup.id)})
    assert "errors" not in body, body["errors"]
    return [project["name"] for project in body["data"]["workgroup"]["projects"]]


def contract_input(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Managed desktop",
        "type": "HOURLY",
        "rate": 95.5,
        "amount": 12000,
        "startsOn": "2025-01-01",
        "endsOn": "2025-12-31",
        **overrides,
    }


def sla(customer: Customer, first: int, resolution: int, profile: str) -> dict[str, Any]:
    return {
        "customerId": gid("Customer", customer.id),
        "first": first,
        "resolution": resolution,
        "profile": profile,
    }


@dataclass
class Scene:
    world: World
    first: Customer
    second: Customer
    third: Customer
    migration: Project  # first and second are members
    rollout: Project  # no members
    away_project: Project


@pytest.fixture
def scene(session, world: World) -> Scene:
    first, second, third = world.home_customers

    def project(workgroup, name: str) -> Project:
        created = create_project(
            session=session,
            workgroup_id=workgroup.id,
            name=name,
            actor_id=None,  # type: ignore[arg-type]
        )
        session.commit()
        return created

    migration = project(world.home, "Migration")
    rollout = project(world.home, "rollout")
    away_project = project(world.away, "Away work")
    for customer in (first, second):
        set_project_member(
            session=session,
            project=migration,
            customer=customer,
            member=True,
            actor_id=None,  # type: ignore[arg-type]
        )
    session.commit()
    return Scene(world, first, second, third, migration, rollout, away_project)


@pytest.fixture
def archived(session, world: World) -> Customer:
    gone = make_customer(session, world.home, index="gone", company_name="Gone Ltd")
    archive_customer(session=session, customer=gone, expected_version=None, actor_id=None)
    session.commit()
    return gone


# ---------------------------------------------------------------- contracts


def test_a_contract_of_each_type_is_listed_with_its_terms(gql, engine, scene: Scene):
    # Given a customer without contracts
    assert billing_of(gql, scene.first)["contracts"] == []
    before = activity_count(engine)

    # When a contract of each type is added with rate, amount and dates, spaces around the name
    added = {}
    for number, contract_type in enumerate(CONTRACT_TYPES, start=1):
        body = gql(
            ADMIN,
            ADD_CONTRACT,
            {
                "customerId": gid("Customer", scene.first.id),
                "input": contract_input(
                    name=f" {contract_type} deal ",
                    type=contract_type,
                    rate=number + 0.25,
                    amount=number * 1000,
                    startsOn=f"2025-{number:02d}-01",
                    endsOn=f"2026-{number:02d}-28",
                ),
            },
        )
        payload = body["data"]["addContract"]
        assert payload["errors"] == [], contract_type
        added[contract_type] = payload["contract"]

    # Then each payload has its contract, the name trimmed
    assert {t: {k: v for k, v in c.items() if k != "id"} for t, c in added.items()} == {
        contract_type: {
            "name": f"{contract_type} deal",
            "type": contract_type,
            "rate": number + 0.25,
            "amount": number * 1000.0,
            "startsOn": f"2025-{number:02d}-01",
            "endsOn": f"2026-{number:02d}-28",
        }
        for number, contract_type in enumerate(CONTRACT_TYPES, start=1)
    }
    # and the customer lists them exactly so, in the order added, with one activity record each
    assert billing_of(gql, scene.first)["contracts"] == list(added.values())
    assert activity_count(engine) == before + len(CONTRACT_TYPES)


def test_a_contract_needs_only_a_name_and_a_type(gql, engine, scene: Scene):
    # Given a customer with no contracts

    # When two contracts are added, one with only a name and a type, one ending the day it starts
    bare = gql(
        ADMIN,
        ADD_CONTRACT,
        {
            "customerId": gid("Customer", scene.first.id),
            "input": {"name": "Backup", "type": "ONLINE_BACKUP"},
        },
    )
    one_day = gql(
        ADMIN,
        ADD_CONTRACT,
        {
            "customerId": gid("Customer", scene.first.id),
            "input": contract_input(
                name="Workshop", rate=None, startsOn="2025-03-03", endsOn="2025-03-03"
            ),
        },
    )

    # Then both are listed in the order added, the terms not given null
    assert bare["data"]["addContract"]["errors"] == []
    assert one_day["data"]["addContract"]["errors"] == []
    contracts = billing_of(gql, scene.first)["contracts"]
    assert [(c["name"], c["rate"], c["amount"], c["startsOn"], c["endsOn"]) for c in contracts] == [
        ("Backup", None, None, None, None),
        ("Workshop", None, 12000.0, "2025-03-03", "2025-03-03"),
    ]


def test_rates_and_amounts_keep_their_cents(gql, engine, scene: Scene):
    # Given a customer with no contracts

    # When a contract is added with the largest amount and a rate in cents
    body = gql(
        ADMIN,
        ADD_CONTRACT,
        {
            "customerId": gid("Customer", scene.first.id),
            "input": contract_input(rate=0.01, amount=9999999999.99),
        },
    )

    # Then both read back to the cent, and are stored as exact decimals
    assert body["data"]["addContract"]["errors"] == []
    [contract] = billing_of(gql, scene.first)["contracts"]
    assert (contract["rate"], contract["amount"]) == (0.01, 9999999999.99)
    with Session(engine) as session:
        stored = session.execute(select(Contract)).scalar_one()
    assert (stored.rate, stored.amount) == (Decimal("0.01"), Decimal("9999999999.99"))


def test_a_rate_in_fractions_of_a_cent_is_answered_as_it_is_stored(gql, engine, scene: Scene):
    # Given a customer with no contracts

    # When a contract is added with a rate of a tenth of a cent more than 19.99
    body = gql(
        ADMIN,
        ADD_CONTRACT,
        {"customerId": gid("Customer", scene.first.id), "input": contract_input(rate=19.991)},
    )

    # Then the payload either refuses it or says what was stored: never a rate that a later
    # read contradicts
    payload = body["data"]["addContract"]
    if payload["errors"]:
        assert codes(payload) == [("rate", "INVALID")]
        assert billing_of(gql, scene.first)["contracts"] == []
    else:
        [stored] = billing_of(gql, scene.first)["contracts"]
        assert payload["contract"]["rate"] == stored["rate"]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param(
            {"startsOn": "2025-06-01", "endsOn": "2025-05-31"},
            [("endsOn", "INVALID")],
            id="ends-before-it-starts",
        ),
        pytest.param({"name": "  "}, [("name", "REQUIRED")], id="blank-name"),
        pytest.param({"name": "N" * 201}, [("name", "TOO_LONG")], id="long-name"),
        pytest.param({"rate": -0.01}, [("rate", "INVALID")], id="negative-rate"),
        pytest.param({"amount": 1e10}, [("amount", "INVALID")], id="amount-too-large"),
        pytest.param(
            {"name": "", "rate": -1, "endsOn": "2024-12-31"},
            [("name", "REQUIRED"), ("rate", "INVALID"), ("endsOn", "INVALID")],
            id="all-at-once",
        ),
    ],
)
def test_an_invalid_contract_writes_nothing(gql, engine, scene: Scene, overrides, expected):
    # Given the tables as they are
    before = snapshot(engine)

    # When a contract ending before it starts, without a name or with bad money is added
    body = gql(
        ADMIN,
        ADD_CONTRACT,
        {"customerId": gid("Customer", scene.first.id), "input": contract_input(**overrides)},
    )

    # Then user errors name each problem, and nothing was written
    payload = body["data"]["addContract"]
    assert (payload["contract"], codes(payload)) == (None, expected)
    assert snapshot(engine) == before


# ---------------------------------------------------------------- the service level


def test_the_service_level_is_set_and_replaced(gql, engine, scene: Scene):
    # Given a customer without a service level
    assert billing_of(gql, scene.first)["serviceLevel"] is None
    before = activity_count(engine)

    # When its targets and alert profile are set
    body = gql(ADMIN, SET_SERVICE_LEVEL, sla(scene.first, 30, 480, " Gold "))

    # Then the payload and the customer read them back, with one activity record
    expected = {"firstResponseMinutes": 30, "resolutionMinutes": 480, "alertProfile": "Gold"}
    assert body["data"]["setServiceLevel"] == {"serviceLevel": expected, "errors": []}
    assert billing_of(gql, scene.first)["serviceLevel"] == expected
    assert activity_count(engine) == before + 1

    # When they are set again
    again = gql(ADMIN, SET_SERVICE_LEVEL, sla(scene.first, 60, 60, "Silver"))

    # Then the second replaces the first: one service level, with the new values
    replaced = {"firstResponseMinutes": 60, "resolutionMinutes": 60, "alertProfile": "Silver"}
    assert again["data"]["setServiceLevel"]["serviceLevel"] == replaced
    assert billing_of(gql, scene.first)["serviceLevel"] == replaced
    assert billing_of(gql, scene.second)["serviceLevel"] is None
    assert len(snapshot(engine)["service_level"]) == 1
    assert activity_count(engine) == before + 2


@pytest.mark.parametrize(
    ("first", "resolution", "profile", "expected"),
    [
        pytest.param(60, 59, "Gold", [("resolutionMinutes", "INVALID")], id="resolution-first"),
        pytest.param(0, 60, "Gold", [("firstResponseMinutes", "INVALID")], id="zero-response"),
        pytest.param(30, -1, "Gold", [("resolutionMinutes", "INVALID")], id="negative"),
        pytest.param(30, 525_601, "Gold", [("resolutionMinutes", "INVALID")], id="over-a-year"),
        pytest.param(30, 60, "  ", [("alertProfile", "REQUIRED")], id="blank-profile"),
    ],
)
def test_an_invalid_service_level_keeps_the_one_there(
    gql, engine, scene: Scene, first, resolution, profile, expected
):
    # Given a customer with a service level
    gql(ADMIN, SET_SERVICE_LEVEL, sla(scene.first, 15, 240, "Platinum"))
    before = snapshot(engine)

    # When it is set with resolution before first response, a target out of range or no profile
    body = gql(ADMIN, SET_SERVICE_LEVEL, sla(scene.first, first, resolution, profile))

    # Then a user error, and the service level there is kept
    payload = body["data"]["setServiceLevel"]
    assert (payload["serviceLevel"], codes(payload)) == (None, expected)
    assert snapshot(engine) == before
    assert billing_of(gql, scene.first)["serviceLevel"] == {
        "firstResponseMinutes": 15,
        "resolutionMinutes": 240,
        "alertProfile": "Platinum",
    }


@pytest.mark.parametrize(
    ("mutation", "document", "variables"),
    [
        ("addContract", ADD_CONTRACT, {"input": contract_input()}),
        (
            "setServiceLevel",
            SET_SERVICE_LEVEL,
            {"first": 30, "resolution": 60, "profile": "Gold"},
        ),
    ],
)
def test_contracts_and_service_level_of_an_archived_customer_cannot_change(
    gql, engine, archived: Customer, mutation, document, variables
):
    # Given an archived customer
    before = snapshot(engine)

    # When a contract is added or its service level set
    body = gql(ADMIN, document, {"customerId": gid("Customer", archived.id), **variables})

    # Then ARCHIVED, and nothing changed
    assert codes(body["data"][mutation]) == [("customerId", "ARCHIVED")]
    assert snapshot(engine) == before


# ---------------------------------------------------------------- projects


def test_a_created_project_is_listed_by_its_workgroup_by_name(gql, engine, scene: Scene):
    # Given projects "Migration" and "rollout" at home
    assert workgroup_projects(gql, scene.world.home) == ["Migration", "rollout"]
    before = activity_count(engine)

    # When an admin creates "Network refresh", with spaces around the name
    body = gql(
        ADMIN,
        CREATE_PROJECT,
        {"workgroupId": gid("Workgroup", scene.world.home.id), "name": "  Network refresh "},
    )

    # Then the payload has it, and the workgroup lists it among the others by name
    payload = body["data"]["createProject"]
    assert payload["errors"] == []
    assert payload["project"]["name"] == "Network refresh"
    assert workgroup_projects(gql, scene.world.home) == ["Migration", "Network refresh", "rollout"]
    assert activity_count(engine) == before + 1
    # and the other workgroup's list is its own
    assert workgroup_projects(gql, scene.world.away, World.ADMIN_AWAY) == ["Away work"]


@pytest.mark.parametrize("name", ["Migration", "migration", " MIGRATION  "])
def test_a_project_name_is_unique_in_a_workgroup(gql, engine, scene: Scene, name):
    # Given a project "Migration" at home
    before = snapshot(engine)

    # When another is created with the same name, in any capitals
    body = gql(
        ADMIN, CREATE_PROJECT, {"workgroupId": gid("Workgroup", scene.world.home.id), "name": name}
    )

    # Then DUPLICATE, and nothing was written
    payload = body["data"]["createProject"]
    assert (payload["project"], codes(payload)) == (None, [("name", "DUPLICATE")])
    assert snapshot(engine) == before


def test_another_workgroup_may_use_the_same_project_name(gql, engine, scene: Scene):
    # Given a project "Migration" at home

    # When the other workgroup's admin creates one with that name
    body = gql(
        World.ADMIN_AWAY,
        CREATE_PROJECT,
        {"workgroupId": gid("Workgroup", scene.world.away.id), "name": "Migration"},
    )

    # Then it is created there
    assert body["data"]["createProject"]["errors"] == []
    assert workgroup_projects(gql, scene.world.away, World.ADMIN_AWAY) == [
        "Away work",
        "Migration",
    ]


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        pytest.param({"name": ""}, [("name", "REQUIRED")], id="blank-name"),
        pytest.param({"name": "P" * 201}, [("name", "TOO_LONG")], id="long-name"),
        pytest.param(
            {"workgroupId": encode_id("Workgroup", 99999)},
            [("workgroupId", "NOT_FOUND")],
            id="unknown-workgroup",
        ),
    ],
)
def test_an_invalid_project_is_not_created(gql, engine, scene: Scene, variables, expected):
    # Given the tables as they are
    before = snapshot(engine)

    # When a project without a name, with too long a name or in no workgroup is created
    body = gql(
        ADMIN,
        CREATE_PROJECT,
        {"workgroupId": gid("Workgroup", scene.world.home.id), "name": "New", **variables},
    )

    # Then a user error, and nothing was written
    payload = body["data"]["createProject"]
    assert (payload["project"], codes(payload)) == (None, expected)
    assert snapshot(engine) == before


def test_the_list_filtered_by_project_shows_exactly_its_members(gql, engine, scene: Scene):
    # Given "Migration" with the first and second customers, "rollout" with none
    migration, rollout = gid("Project", scene.migration.id), gid("Project", scene.rollout.id)
    first, second, third = (gid("Customer", c.id) for c in (scene.first, scene.second, scene.third))
    assert members(gql, migration) == [first, second]
    assert members(gql, rollout) == []
    before = activity_count(engine)

    # When the third joins "Migration" and the first leaves it, and the third joins "rollout"
    joined = gql(ADMIN, ADD_MEMBER, {"projectId": migration, "customerId": third})
    left = gql(ADMIN, REMOVE_MEMBER, {"projectId": migration, "customerId": first})
    rolled = gql(ADMIN, ADD_MEMBER, {"projectId": rollout, "customerId": third})

    # Then each payload names its project, with one activity record each
    assert joined["data"]["addProjectMember"] == {
        "project": {"id": migration, "name": "Migration"},
        "errors": [],
    }
    assert left["data"]["removeProjectMember"]["errors"] == []
    assert rolled["data"]["addProjectMember"]["errors"] == []
    assert activity_count(engine) == before + 3
    # and each filtered list is exactly the members now
    assert members(gql, migration) == [second, third]
    assert members(gql, rollout) == [third]
    # and each customer lists its projects by name
    assert billing_of(gql, scene.first)["projects"] == []
    assert billing_of(gql, scene.second)["projects"] == [{"id": migration, "name": "Migration"}]
    assert [p["name"] for p in billing_of(gql, scene.third)["projects"]] == [
        "Migration",
        "rollout",
    ]


@pytest.mark.parametrize(
    "project_id",
    [
        pytest.param(lambda s: gid("Project", 99999), id="unknown"),
        pytest.param(lambda s: "not-an-id", id="garbage"),
        pytest.param(lambda s: gid("Customer", s.migration.id), id="id-of-another-type"),
        pytest.param(lambda s: gid("Project", s.away_project.id), id="other-workgroup"),
    ],
)
def test_the_list_filtered_by_a_project_that_is_not_there_is_empty(
    gql, engine, session, scene: Scene, project_id
):
    # Given the other workgroup's project has the other workgroup's customer as a member
    set_project_member(
        session=session,
        project=scene.away_project,
        customer=scene.world.away_customers[0],
        member=True,
        actor_id=None,  # type: ignore[arg-type]
    )
    session.commit()

    # When a home admin filters by an unknown id, garbage, another type's id or that project
    found = members(gql, project_id(scene))

    # Then the list is empty
    assert found == []


def test_the_list_filtered_by_project_combines_with_status(gql, engine, session, scene: Scene):
    # Given "rollout" with an active member and one archived after joining
    gone = make_customer(session, scene.world.home, index="gone", company_name="Gone Ltd")
    for customer in (gone, scene.third):
        set_project_member(
            session=session,
            project=scene.rollout,
            customer=customer,
            member=True,
            actor_id=None,  # type: ignore[arg-type]
        )
    archive_customer(session=session, customer=gone, expected_version=None, actor_id=None)
    session.commit()
    rollout = gid("Project", scene.rollout.id)

    # When the list is filtered by the project with each status
    active = members(gql, rollout)
    archived = members(gql, rollout, status="ARCHIVED")
    every = members(gql, rollout, status=None)

    # Then each status shows its members only
    assert active == [gid("Customer", scene.third.id)]
    assert archived == [gid("Customer", gone.id)]
    assert sorted(every) == sorted(active + archived)


@pytest.mark.parametrize(
    ("mutation", "document", "project", "customer", "expected"),
    [
        pytest.param(
            "addProjectMember",
            ADD_MEMBER,
            lambda s: s.migration,
            lambda s: s.first,
            [("customerId", "DUPLICATE")],
            id="already-a-member",
        ),
        pytest.param(
            "removeProjectMember",
            REMOVE_MEMBER,
            lambda s: s.rollout,
            lambda s: s.first,
            [("customerId", "NOT_FOUND")],
            id="not-a-member",
        ),
        pytest.param(
            "addProjectMember",
            ADD_MEMBER,
            lambda s: s.migration,
            lambda s: s.world.away_customers[0],
            [("customerId", "NOT_FOUND")],
            id="customer-of-another-workgroup",
        ),
        pytest.param(
            "addProjectMember",
            ADD_MEMBER,
            lambda s: s.away_project,
            lambda s: s.third,
            [("projectId", "NOT_FOUND")],
            id="project-of-another-workgroup",
        ),
    ],
)
def test_a_membership_change_that_cannot_happen_changes_nothing(
    gql, engine, scene: Scene, mutation, document, project, customer, expected
):
    # Given the tables as they are
    before = snapshot(engine)

    # When a member is added again, a non-member removed, or a project and a customer of
    # different workgroups are joined
    body = gql(
        ADMIN,
        document,
        {
            "projectId": gid("Project", project(scene).id),
            "customerId": gid("Customer", customer(scene).id),
        },
    )

    # Then a user error, and nothing changed
    payload = body["data"][mutation]
    assert (payload["project"], codes(payload)) == (None, expected)
    assert snapshot(engine) == before


def test_a_global_admin_cannot_join_a_project_and_a_customer_of_different_workgroups(
    gql, engine, scene: Scene
):
    # Given a global admin, who sees both workgroups
    before = snapshot(engine)

    # When they add a customer of the other workgroup to a home project
    body = gql(
        World.GLOBAL_ADMIN,
        ADD_MEMBER,
        {
            "projectId": gid("Project", scene.migration.id),
            "customerId": gid("Customer", scene.world.away_customers[0].id),
        },
    )

    # Then NOT_FOUND on customerId, and nothing changed
    assert codes(body["data"]["addProjectMember"]) == [("customerId", "NOT_FOUND")]
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    ("mutation", "document", "project"),
    [
        pytest.param("addProjectMember", ADD_MEMBER, "rollout", id="join"),
        pytest.param("removeProjectMember", REMOVE_MEMBER, "migration", id="leave"),
    ],
)
def test_the_projects_of_an_archived_customer_cannot_change(
    gql, engine, session, scene: Scene, mutation, document, project
):
    # Given a customer of "Migration" that was then archived
    gone = scene.second
    archive_customer(session=session, customer=gone, expected_version=None, actor_id=None)
    session.commit()
    before = snapshot(engine)

    # When it joins "rollout" or leaves "Migration"
    body = gql(
        ADMIN,
        document,
        {
            "projectId": gid("Project", getattr(scene, project).id),
            "customerId": gid("Customer", gone.id),
        },
    )

    # Then ARCHIVED, and nothing changed: reactivation brings its projects back as they were
    assert codes(body["data"][mutation]) == [("customerId", "ARCHIVED")]
    assert snapshot(engine) == before


# ---------------------------------------------------------------- at the same time

ROUNDS = 8


def in_lockstep(app, settings, rounds: int, step: Callable[[GraphQLClient, int, int], Any]):
    """Runs `step(client, thread, round)` in two threads, each with its own client; both start
    each round together. Returns the results by round: [(thread 0's, thread 1's), ...]."""
    barrier = threading.Barrier(2, timeout=60)

    def worker(thread: int) -> list[Any]:
        results = []
        try:
            with TestClient(app) as http:
                client = GraphQLClient(http, settings)
                for round_ in range(rounds):
                    barrier.wait()
                    results.append(step(client, thread, round_))
        except BaseException:
            barrier.abort()
            raise
        return results

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(worker, thread) for thread in range(2)]
        first, second = (future.result() for future in futures)
    return list(zip(first, second, strict=True))


def payload_codes(body: dict, mutation: str) -> list[tuple[str | None, str]]:
    """The user errors of the payload, or the GraphQL errors' codes if there is none."""
    if "errors" in body:
        return [(None, e["extensions"]["code"]) for e in body["errors"]]
    return codes(body["data"][mutation])


@pytest.mark.parametrize("capitals", ["same", "different"])
def test_two_admins_creating_one_project_name_at_once_create_one(
    app, settings, engine, world: World, capitals
):
    # Given two admins who, in each round, create a project of one new name at the same time
    # (in the same or in different capitals)
    workgroup_id = gid("Workgroup", world.home.id)

    def step(client: GraphQLClient, thread: int, round_: int):
        name = f"Race {round_}" if thread == 0 or capitals == "same" else f"RACE {round_}"
        body = client(ADMIN, CREATE_PROJECT, {"workgroupId": workgroup_id, "name": name})
        return payload_codes(body, "createProject")

    # When they do so for a few rounds
    results = in_lockstep(app, settings, ROUNDS, step)

    # Then every round created one project and told the other admin DUPLICATE — never a crash
    assert [sorted(pair) for pair in results] == [[[], [("name", "DUPLICATE")]]] * ROUNDS
    with Session(engine) as session:
        names = session.execute(select(Project.name)).scalars().all()
    assert sorted(name.lower() for name in names) == [f"race {i}" for i in range(ROUNDS)]


@pytest.mark.parametrize(
    ("mutation", "document", "loser"),
    [
        pytest.param("addProjectMember", ADD_MEMBER, ("customerId", "DUPLICATE"), id="join"),
        pytest.param("removeProjectMember", REMOVE_MEMBER, ("customerId", "NOT_FOUND"), id="leave"),
    ],
)
def test_two_admins_changing_one_membership_at_once_change_it_once(
    app, settings, engine, session, world: World, mutation, document, loser
):
    # Given a project per round (the customer a member of each when it is to leave them), and
    # two admins who add or remove the same customer at the same time
    customer = world.home_customers[0]
    projects = []
    for i in range(ROUNDS):
        project = create_project(
            session=session,
            workgroup_id=world.home.id,
            name=f"P{i}",
            actor_id=None,  # type: ignore[arg-type]
        )
        if mutation == "removeProjectMember":
            set_project_member(
                session=session,
                project=project,
                customer=customer,
                member=True,
                actor_id=None,  # type: ignore[arg-type]
            )
        projects.append(project)
    session.commit()

    def step(client: GraphQLClient, thread: int, round_: int):
        variables = {
            "projectId": gid("Project", projects[round_].id),
            "customerId": gid("Customer", customer.id),
        }
        return payload_codes(client(ADMIN, document, variables), mutation)

    # When they do so for a few rounds
    results = in_lockstep(app, settings, ROUNDS, step)

    # Then every round changed the membership once and told the other admin why not — never
    # a crash
    assert [sorted(pair) for pair in results] == [[[], [loser]]] * ROUNDS
    expected_members = ROUNDS if mutation == "addProjectMember" else 0
    assert len(snapshot(engine)["project_member"]) == expected_members


# ---------------------------------------------------------------- who may do what


MUTATIONS = {
    "addContract": lambda s: (
        ADD_CONTRACT,
        {"customerId": gid("Customer", s.first.id), "input": contract_input()},
    ),
    "setServiceLevel": lambda s: (SET_SERVICE_LEVEL, sla(s.first, 30, 60, "Gold")),
    "createProject": lambda s: (
        CREATE_PROJECT,
        {"workgroupId": gid("Workgroup", s.world.home.id), "name": "Audit"},
    ),
    "addProjectMember": lambda s: (
        ADD_MEMBER,
        {"projectId": gid("Project", s.rollout.id), "customerId": gid("Customer", s.third.id)},
    ),
    "removeProjectMember": lambda s: (
        REMOVE_MEMBER,
        {"projectId": gid("Project", s.migration.id), "customerId": gid("Customer", s.first.id)},
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
def test_contract_and_project_mutations_by_role(gql, engine, scene: Scene, role):
    # Given a user holding `role` in the home workgroup
    email = World.email(role)

    # When they try every contract, service level and project mutation
    outcomes = {name: attempt(gql, engine, email, name, scene) for name in MUTATIONS}

    # Then admins and admin agents succeed, each with one activity record; everyone else —
    # sales agents too — is FORBIDDEN, with nothing changed and nothing recorded
    expected = ("ok", 1, True) if role in EDITORS else ("FORBIDDEN", 0, False)
    assert outcomes == dict.fromkeys(MUTATIONS, expected)


NOT_FOUND_AWAY = {
    "addContract": "customerId",
    "setServiceLevel": "customerId",
    "createProject": "workgroupId",
    "addProjectMember": "projectId",
    "removeProjectMember": "projectId",
}


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_an_admin_of_another_workgroup_finds_nothing_to_change(gql, engine, scene: Scene, mutation):
    # Given an admin of the other workgroup only

    # When they try a mutation on a home customer, project or the home workgroup
    outcome = attempt(gql, engine, World.ADMIN_AWAY, mutation, scene)

    # Then it is not found, like one that does not exist, and nothing changed
    assert outcome == (str([(NOT_FOUND_AWAY[mutation], "NOT_FOUND")]), 0, False)


def test_a_sales_agent_who_is_admin_elsewhere_may_not_change_contracts_here(
    gql, engine, session, scene: Scene
):
    # Given a user who is sales agent at home and admin of the other workgroup
    mixed = "mixed@home.example"
    grant(session, mixed, "sales_agent", scene.world.home)
    grant(session, mixed, "admin", scene.world.away)

    # When they try every contract, service level and project mutation at home
    outcomes = {name: attempt(gql, engine, mixed, name, scene) for name in MUTATIONS}

    # Then each is FORBIDDEN, with nothing changed
    assert outcomes == dict.fromkeys(MUTATIONS, ("FORBIDDEN", 0, False))


READ_ALL = f"""
query($customerId: ID!, $workgroupId: ID!) {{
  customer(id: $customerId) {{
    id contracts {{ {CONTRACT} }} serviceLevel {{ {SERVICE_LEVEL} }} projects {{ id name }}
  }}
  workgroup(id: $workgroupId) {{ id projects {{ id name }} }}
}}
"""
CUSTOMER_FIELDS = ("contracts", "serviceLevel", "projects")


@pytest.mark.parametrize("role", ROLES)
def test_contract_service_level_and_project_fields_by_role(gql, engine, scene: Scene, role):
    # Given a customer with a contract, a service level and the project "Migration"
    gql(
        ADMIN,
        ADD_CONTRACT,
        {"customerId": gid("Customer", scene.first.id), "input": contract_input()},
    )
    gql(ADMIN, SET_SERVICE_LEVEL, sla(scene.first, 30, 60, "Gold"))

    # When a user holding `role` at home reads them, and the workgroup's projects
    body = gql(
        World.email(role),
        READ_ALL,
        {
            "customerId": gid("Customer", scene.first.id),
            "workgroupId": gid("Workgroup", scene.world.home.id),
        },
    )

    # Then readers see them all; roles that see only the customer's identity get null and
    # FORBIDDEN for each; a member does not see the customer, and no role but the readers
    # sees the workgroup's projects
    customer, workgroup = body["data"]["customer"], body["data"]["workgroup"]
    errors = errors_at(body)
    assert workgroup["id"] == gid("Workgroup", scene.world.home.id)
    if role in READERS:
        assert "errors" not in body
        assert [c["name"] for c in customer["contracts"]] == ["Managed desktop"]
        assert customer["serviceLevel"]["alertProfile"] == "Gold"
        assert [p["name"] for p in customer["projects"]] == ["Migration"]
        assert [p["name"] for p in workgroup["projects"]] == ["Migration", "rollout"]
        return
    assert workgroup["projects"] is None
    forbidden = {("workgroup", "projects"): "FORBIDDEN"}
    if role in IDENTITY_ONLY:
        assert customer == {"id": gid("Customer", scene.first.id), **dict.fromkeys(CUSTOMER_FIELDS)}
        forbidden |= {("customer", field): "FORBIDDEN" for field in CUSTOMER_FIELDS}
    else:
        assert customer is None
    assert errors == forbidden


@pytest.mark.parametrize("role", ROLES)
def test_only_roles_that_read_projects_may_filter_the_list_by_one(gql, engine, scene: Scene, role):
    # Given "Migration" with the first and second customers
    variables = {"projectId": gid("Project", scene.migration.id), "status": "ACTIVE"}

    # When a user holding `role` at home filters the customer list by it
    body = gql(World.email(role), IN_PROJECT, variables)

    # Then readers of Customer.projects get exactly the members; roles that see the customers
    # but not their projects are refused, as for any filter by a field they may not read (the
    # list would reveal who is in the project); a member sees no customers anyway
    customers = body["data"]["customers"]
    if role in READERS:
        assert "errors" not in body
        assert [edge["node"]["id"] for edge in customers["edges"]] == [
            gid("Customer", scene.first.id),
            gid("Customer", scene.second.id),
        ]
    elif role in IDENTITY_ONLY:
        assert customers is None
        assert errors_at(body) == {("customers",): "FORBIDDEN"}
    else:
        assert "errors" not in body
        assert customers["totalCount"] == 0


def test_a_viewer_of_another_workgroup_sees_none_of_its_projects(gql, engine, scene: Scene):
    # Given projects in both workgroups

    # When the other workgroup's admin reads home's projects and filters the list by one
    body = gql(World.ADMIN_AWAY, WORKGROUP_PROJECTS, {"id": gid("Workgroup", scene.world.home.id)})
    found = members(gql, gid("Project", scene.migration.id), email=World.ADMIN_AWAY)

    # Then the workgroup is not there and the list is empty
    assert body["data"]["workgroup"] is None
    assert found == []


# ---------------------------------------------------------------- cost


@contextmanager
def counting_statements(engine: Engine):
    executed: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        executed.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield executed
    finally:
        event.remove(engine, "before_cursor_execute", count)


def add_overview_customers(session: Session, workgroup, count: int) -> None:
    """`count` customers, each with two contacts (one main), two orders of two lines, two
    contracts, a service level and a project."""
    projects = [Project(workgroup_id=workgroup.id, name=f"P{i}") for i in range(2)]
    session.add_all(projects)
    session.flush()
    for i in range(count):
        customer = Customer(
            workgroup_id=workgroup.id,
            company_name=f"{workgroup.name} {i:03d}",
            primary_domain=f"c{i}.{workgroup.name.lower()}.example",
        )
        session.add(customer)
        session.flush()
        session.add_all(
            Contact(
                workgroup_id=workgroup.id,
                customer_id=customer.id,
                first_name="F",
                last_name=f"L{n}",
                email=f"c{i}-{n}@x.example",
                is_main=n == 0,
            )
            for n in range(2)
        )
        orders = [
            CustomerOrder(workgroup_id=workgroup.id, customer_id=customer.id, catalog=catalog)
            for catalog in ("AZURE", "SOFTWARE")
        ]
        session.add_all(orders)
        session.flush()
        session.add_all(
            OrderLine(
                order_id=order.id,
                workgroup_id=workgroup.id,
                product=f"Product {n}",
                quantity=1,
            )
            for order in orders
            for n in range(2)
        )
        session.add_all(
            Contract(
                workgroup_id=workgroup.id, customer_id=customer.id, name=f"K{n}", type="HOURLY"
            )
            for n in range(2)
        )
        session.add(
            ServiceLevel(
                customer_id=customer.id,
                workgroup_id=workgroup.id,
                first_response_minutes=30,
                resolution_minutes=60,
                alert_profile="Gold",
            )
        )
        session.add(
            ProjectMember(
                project_id=projects[i % 2].id,
                customer_id=customer.id,
                workgroup_id=workgroup.id,
            )
        )
    session.commit()


def test_the_nested_overview_costs_the_same_for_3_and_30_customers(
    gql, engine, authorizer, session
):
    # Given an admin of a workgroup of 3 customers and one of a workgroup of 30, each customer
    # with contacts, orders with lines, contracts, a service level and a project
    small, large = make_workgroup(session, "Small"), make_workgroup(session, "Large")
    add_overview_customers(session, small, 3)
    add_overview_customers(session, large, 30)
    grant(session, "admin@small.example", "admin", small)
    grant(session, "admin@large.example", "admin", large)

    # When each reads the overview of every customer
    costs = {}
    for email in ("admin@small.example", "admin@large.example"):
        authorizer.clear_cache()
        evaluations = authorizer.evaluations
        with counting_statements(engine) as statements:
            body = gql(email, OVERVIEW)
        assert "errors" not in body, body["errors"]
        costs[email] = (len(statements), authorizer.evaluations - evaluations, body)

    # Then both cost the same SQL statements and Casbin evaluations
    small_cost, large_cost = costs["admin@small.example"], costs["admin@large.example"]
    assert small_cost[:2] == large_cost[:2]
    # and every customer came with all of its things
    nodes = [edge["node"] for edge in large_cost[2]["data"]["customers"]["edges"]]
    assert len(nodes) == 30
    for node in nodes:
        assert len(node["contacts"]) == 2
        assert node["mainContact"] == node["contacts"][0]
        assert sorted(o["catalog"] for o in node["orders"]) == ["AZURE", "SOFTWARE"]
        assert all(len(order["lines"]) == 2 for order in node["orders"])
        assert [c["name"] for c in node["contracts"]] == ["K0", "K1"]
        assert node["serviceLevel"] == {"alertProfile": "Gold"}
        assert len(node["projects"]) == 1
