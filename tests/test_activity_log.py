"""The activity log: who may read it, its order and filters, the customer feed, one record
per successful mutation (none for a failed one), no way to change it, and its CSV export."""

import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from graphql import get_named_type
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from graph.ids import encode_id
from graph.schema import build_schema
from models.accounts.tables import User, UserGroup, Workgroup
from models.accounts.users import get_or_create_user
from models.audit.activity import ActivityRecord
from models.core.enums import CaseClassification, CaseSeverity
from models.customers.operations import archive_customer
from models.partner import operations as partner
from models.support.operations import (
    close_case,
    create_group,
    open_case,
    set_group_access,
    set_group_member,
    share_case,
)
from models.support.tables import SupportCase
from tests.conftest import ROLES, World, token_for

SCHEMA = build_schema()._schema
READERS = {"admin", "admin_agent"}
CSV_HEADER = "at,actor,action,target_type,target_id,before,after"

ACTIVITY = """
query Activity(
  $workgroupId: ID, $customerId: ID, $actorEmail: String, $from: DateTime, $to: DateTime,
  $first: Int! = 50, $after: String
) {
  activity(
    workgroupId: $workgroupId, customerId: $customerId, actorEmail: $actorEmail,
    from: $from, to: $to, first: $first, after: $after
  ) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node { id at action targetType targetId actorEmail before after workgroup { id } }
    }
  }
}
"""

FEED = """
query Feed($id: ID!, $first: Int! = 20, $after: String) {
  customer(id: $id) {
    companyName
    feed(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { id at action targetType targetId actorEmail before after } }
    }
  }
}
"""

UPDATE_NAME = """
mutation Rename($id: ID!, $name: String!) {
  updateCustomer(id: $id, input: {companyName: $name}) {
    customer { companyName }
    errors { field code }
  }
}
"""

UPDATE_CITY = """
mutation Move($id: ID!, $city: String) {
  updateCustomer(id: $id, input: {city: $city}) { errors { code } }
}
"""

GRANT_ROLE = """
mutation Grant($email: String!, $role: Role!, $workgroupId: ID!) {
  grantRole(email: $email, role: $role, workgroupId: $workgroupId) { errors { code } }
}
"""

REVOKE_ROLE = """
mutation Revoke($email: String!, $role: Role!, $workgroupId: ID!) {
  revokeRole(email: $email, role: $role, workgroupId: $workgroupId) { errors { code } }
}
"""

# Every mutation of the schema, each with a document whose payload is `m { errors { code } }`.
CREATE_WORKGROUP = (
    "mutation($name: String!) { m: createWorkgroup(name: $name) { errors { code } } }"
)
ADD_CUSTOMER = """
mutation($wg: ID!, $domain: String!) {
  m: addCustomer(input: {workgroupId: $wg, companyName: "Newco", primaryDomain: $domain}) {
    errors { code }
  }
}
"""
UPDATE_CUSTOMER = """
mutation($id: ID!, $version: Int) {
  m: updateCustomer(id: $id, input: {companyName: "Renamed"}, expectedVersion: $version) {
    errors { code }
  }
}
"""
ARCHIVE_CUSTOMER = "mutation($id: ID!) { m: archiveCustomer(id: $id) { errors { code } } }"
REACTIVATE_CUSTOMER = "mutation($id: ID!) { m: reactivateCustomer(id: $id) { errors { code } } }"
GRANT = """
mutation($email: String!, $role: Role!, $wg: ID!) {
  m: grantRole(email: $email, role: $role, workgroupId: $wg) { errors { code } }
}
"""
REVOKE = GRANT.replace("grantRole", "revokeRole")
OPEN_CASE = """
mutation($wg: ID!, $title: String!) {
  m: openSupportCase(input: {workgroupId: $wg, title: $title, severity: LOW}) { errors { code } }
}
"""
CLOSE_CASE = "mutation($case: ID!) { m: closeSupportCase(caseId: $case) { errors { code } } }"
SHARE_CASE = """
mutation($case: ID!, $email: String!) {
  m: shareSupportCase(caseId: $case, email: $email) { errors { code } }
}
"""
UNSHARE_CASE = SHARE_CASE.replace("shareSupportCase", "unshareSupportCase")
GRANT_GROUP_ACCESS = """
mutation($case: ID!, $group: ID!) {
  m: grantGroupAccess(caseId: $case, groupId: $group) { errors { code } }
}
"""
REVOKE_GROUP_ACCESS = GRANT_GROUP_ACCESS.replace("grantGroupAccess", "revokeGroupAccess")
CREATE_GROUP = """
mutation($wg: ID!, $name: String!) {
  m: createGroup(workgroupId: $wg, name: $name) { errors { code } }
}
"""
ADD_GROUP_MEMBER = """
mutation($group: ID!, $email: String!) {
  m: addGroupMember(groupId: $group, email: $email) { errors { code } }
}
"""
REMOVE_GROUP_MEMBER = ADD_GROUP_MEMBER.replace("addGroupMember", "removeGroupMember")


# ---------------------------------------------------------------- helpers


def gid(type_name: str, pk: int | None) -> str:
    return encode_id(type_name, pk)  # type: ignore[arg-type]


def codes(body: dict) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


def nodes(body: dict, field: str = "activity") -> list[dict]:
    """The nodes of the connection at `field` of a response (or of an object)."""
    data = body.get("data", body)
    return [edge["node"] for edge in data[field]["edges"]]


def at(node: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(node["at"])


def records(engine: Engine) -> list[tuple]:
    """Every activity record, by id, read fresh from the database."""
    with engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                select(
                    ActivityRecord.id,
                    ActivityRecord.actor_id,
                    ActivityRecord.workgroup_id,
                    ActivityRecord.action,
                    ActivityRecord.target_type,
                    ActivityRecord.target_id,
                ).order_by(ActivityRecord.id)
            ).all()
        ]


def user_id(engine: Engine, email: str) -> int | None:
    with engine.connect() as connection:
        return connection.execute(select(User.id).where(User.email == email)).scalar()


def home_log(gql, world: World, **variables: Any) -> dict:
    """The activity log as Home's admin reads it."""
    return gql(
        World.email("admin"),
        ACTIVITY,
        {"workgroupId": gid("Workgroup", world.home.id), **variables},
    )


@dataclass
class Scene:
    """Home objects every mutation can act on."""

    open_case: SupportCase  # opened by the admin, shared with the sales agent
    closed_case: SupportCase
    group: UserGroup  # "Tier 2": the sales agent is a member; it has access to open_case
    empty_group: UserGroup  # "Tier 3": no members, no access
    archived: int  # a Home customer's id, archived
    contact: int  # a contact of the first Home customer
    project: int  # "Rollout": the second Home customer is a member

    def ids(self, world: World) -> dict[str, str]:
        return {
            "home": gid("Workgroup", world.home.id),
            "customer": gid("Customer", world.home_customers[0].id),
            "archived": gid("Customer", self.archived),
            "open_case": gid("SupportCase", self.open_case.id),
            "closed_case": gid("SupportCase", self.closed_case.id),
            "group": gid("Group", self.group.id),
            "empty_group": gid("Group", self.empty_group.id),
            "contact": gid("Contact", self.contact),
            "project": gid("Project", self.project),
            "member_customer": gid("Customer", world.home_customers[1].id),
        }


@pytest.fixture
def scene(session: Session, world: World) -> Scene:
    admin = get_or_create_user(session=session, email=World.email("admin"))
    home: int = world.home.id  # type: ignore[assignment]

    def new_case(title: str) -> SupportCase:
        return open_case(
            session=session,
            workgroup_id=home,
            opener=admin,
            title=title,
            description=None,
            severity=CaseSeverity.LOW,
            classification=CaseClassification.STANDARD,
            customer_id=None,
            agreement_id=None,
            package_id=None,
            service_amount_id=None,
            primary_contact_email=None,
        )

    opened = new_case("Open case")
    closed = new_case("Closed case")
    close_case(session=session, support_case=closed, actor_id=admin.id)  # type: ignore[arg-type]
    share_case(
        session=session,
        support_case=opened,
        email=World.email("sales_agent"),
        actor_id=admin.id,  # type: ignore[arg-type]
        share=True,
    )
    group = create_group(session=session, workgroup_id=home, name="Tier 2", actor_id=admin.id)  # type: ignore[arg-type]
    empty = create_group(session=session, workgroup_id=home, name="Tier 3", actor_id=admin.id)  # type: ignore[arg-type]
    set_group_member(
        session=session,
        group=group,
        email=World.email("sales_agent"),
        actor_id=admin.id,  # type: ignore[arg-type]
        member=True,
    )
    set_group_access(
        session=session,
        support_case=opened,
        group=group,
        actor_id=admin.id,  # type: ignore[arg-type]
        grant=True,
    )
    archived = world.home_customers[2]
    archive_customer(session=session, customer=archived, expected_version=None, actor_id=None)
    contact = partner.add_contact(
        session=session,
        workgroup_id=home,
        customer=world.home_customers[0],
        values={"first_name": "Ada", "last_name": "Lind", "email": "ada@home.example"},
        actor_id=admin.id,  # type: ignore[arg-type]
    )
    project = partner.create_project(
        session=session,
        workgroup_id=home,
        name="Rollout",
        actor_id=admin.id,  # type: ignore[arg-type]
    )
    partner.set_project_member(
        session=session,
        project=project,
        customer=world.home_customers[1],
        member=True,
        actor_id=admin.id,  # type: ignore[arg-type]
    )
    session.commit()
    return Scene(opened, closed, group, empty, archived.id, contact.id, project.id)  # type: ignore[arg-type]


# ---------------------------------------------------------------- who may read it


# What an admin agent may not see of Home: who holds which role, who is in which group (both
# admins' business), and cases, which it sees only by the member rule.
HIDDEN_FROM_AGENTS = ("role.", "group.member.", "case.")


@pytest.mark.parametrize("role", ROLES)
def test_only_admins_and_admin_agents_read_the_activity_log(gql, engine, world, role):
    # Given a role of Home, and Home's log
    home_records = [r for r in records(engine) if r[2] == world.home.id]
    customer = world.home_customers[0]

    # When they read the log and a customer's feed
    body = gql(World.email(role), ACTIVITY, {"workgroupId": gid("Workgroup", world.home.id)})
    feed = gql(World.email(role), FEED, {"id": gid("Customer", customer.id)})

    # Then admins get every Home record and admin agents those about what they may see (no
    # role grants, group memberships or cases outside the member rule); others are forbidden
    if role in READERS:
        if role == "admin_agent":
            home_records = [r for r in home_records if not r[3].startswith(HIDDEN_FROM_AGENTS)]
        assert "errors" not in body
        assert body["data"]["activity"]["totalCount"] == len(home_records)
        assert {n["id"] for n in nodes(body)} == {gid("ActivityRecord", r[0]) for r in home_records}
        assert "errors" not in feed
        assert feed["data"]["customer"]["feed"]["totalCount"] == 1
    else:
        assert body["data"] == {"activity": None}
        assert codes(body) == ["FORBIDDEN"]
        if role == "member":  # sees no customer at all
            assert feed == {"data": {"customer": None}}
        else:
            assert feed["data"]["customer"]["companyName"] == customer.company_name
            assert feed["data"]["customer"]["feed"] is None
            assert codes(feed) == ["FORBIDDEN"]
            assert feed["errors"][0]["path"] == ["customer", "feed"]


@pytest.mark.parametrize("viewer", [World.NOBODY, World.ADMIN_AWAY])
def test_viewers_without_a_reading_role_in_home_see_nothing_of_it(gql, world, viewer):
    # Given a user without roles, and the admin of Away
    # When they ask for Home's log
    body = gql(viewer, ACTIVITY, {"workgroupId": gid("Workgroup", world.home.id)})

    # Then the user without roles is forbidden; Away's admin sees none of Home's records
    if viewer == World.NOBODY:
        assert codes(body) == ["FORBIDDEN"]
    else:
        assert body["data"]["activity"]["totalCount"] == 0
        assert body["data"]["activity"]["edges"] == []


# ---------------------------------------------------------------- records, order, filters


def test_records_are_newest_first_with_who_when_what_and_values(gql, engine, world):
    # Given the admin renames a customer, and the admin agent moves it
    customer = world.home_customers[0]
    customer_id = gid("Customer", customer.id)
    renamed = gql(World.email("admin"), UPDATE_NAME, {"id": customer_id, "name": "Renamed Co"})
    assert renamed["data"]["updateCustomer"]["errors"] == []
    moved = gql(World.email("admin_agent"), UPDATE_CITY, {"id": customer_id, "city": "Hamburg"})
    assert moved["data"]["updateCustomer"]["errors"] == []

    # When the admin reads Home's log
    body = home_log(gql, world)

    # Then the newest record comes first, each record says who, when, what and the values
    listed = nodes(body)
    assert [at(n) for n in listed] == sorted((at(n) for n in listed), reverse=True)
    assert listed[0] == {
        "id": listed[0]["id"],
        "at": listed[0]["at"],
        "action": "customer.update",
        "targetType": "Customer",
        "targetId": customer_id,
        "actorEmail": World.email("admin_agent"),
        "before": {"city": "Berlin"},
        "after": {"city": "Hamburg"},
        "workgroup": {"id": gid("Workgroup", world.home.id)},
    }
    assert listed[1]["actorEmail"] == World.email("admin")
    assert (listed[1]["before"], listed[1]["after"]) == (
        {"companyName": customer.company_name},
        {"companyName": "Renamed Co"},
    )
    assert at(listed[0]).tzinfo is not None
    assert abs(at(listed[0]) - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    # records written by the system (the world's set-up) have no actor
    assert listed[-1]["action"] == "workgroup.create"
    assert listed[-1]["actorEmail"] is None
    assert listed[-1]["after"] == {"name": "Home"}
    # and ids of equal records are listed newest first as well
    ids = [r[0] for r in records(engine) if r[2] == world.home.id]
    assert [n["id"] for n in listed] == [gid("ActivityRecord", i) for i in reversed(ids)]


def test_role_grants_and_revocations_are_recorded(gql, engine, world):
    # Given the admin grants a new user a role and then revokes it
    home = gid("Workgroup", world.home.id)
    variables = {"email": "Temp@Home.Example", "role": "SUPPORT_VIEWER", "workgroupId": home}
    assert gql(World.email("admin"), GRANT_ROLE, variables)["data"]["grantRole"]["errors"] == []
    assert gql(World.email("admin"), REVOKE_ROLE, variables)["data"]["revokeRole"]["errors"] == []

    # When the admin and the admin agent read the log
    body = gql(World.email("admin"), ACTIVITY, {"workgroupId": home, "first": 2})
    agents = gql(World.email("admin_agent"), ACTIVITY, {"workgroupId": home, "first": 1000})

    # Then both are there, newest first, naming the user, the role and who did it
    target = gid("User", user_id(engine, "temp@home.example"))
    assert [
        (n["action"], n["targetType"], n["targetId"], n["actorEmail"], n["before"], n["after"])
        for n in nodes(body)
    ] == [
        (
            "role.revoke",
            "User",
            target,
            World.email("admin"),
            {"email": "temp@home.example", "role": "SUPPORT_VIEWER"},
            None,
        ),
        (
            "role.grant",
            "User",
            target,
            World.email("admin"),
            None,
            {"email": "temp@home.example", "role": "SUPPORT_VIEWER"},
        ),
    ]
    # and the admin agent, who may not see who holds which role, sees neither
    assert not [n for n in nodes(agents) if n["action"].startswith("role.")]


def test_filter_by_workgroup(gql, engine, world):
    # Given records in Home and in Away, read by the global admin
    by_workgroup = {world.home.id: 0, world.away.id: 0}
    for record in records(engine):
        if record[2] in by_workgroup:
            by_workgroup[record[2]] += 1

    for workgroup in (world.home, world.away):
        # When they filter by each workgroup
        body = gql(World.GLOBAL_ADMIN, ACTIVITY, {"workgroupId": gid("Workgroup", workgroup.id)})

        # Then only that workgroup's records are listed
        assert body["data"]["activity"]["totalCount"] == by_workgroup[workgroup.id]
        assert {n["workgroup"]["id"] for n in nodes(body)} == {gid("Workgroup", workgroup.id)}
    everything = gql(World.GLOBAL_ADMIN, ACTIVITY)
    assert everything["data"]["activity"]["totalCount"] == len(records(engine))


def test_filter_by_customer(gql, world):
    # Given two updates of one customer and one of another
    first, second = world.home_customers[0], world.home_customers[1]
    for customer, name in ((first, "One"), (first, "Two"), (second, "Other")):
        body = gql(
            World.email("admin"), UPDATE_NAME, {"id": gid("Customer", customer.id), "name": name}
        )
        assert body["data"]["updateCustomer"]["errors"] == []

    # When the admin filters the log by the first customer
    body = home_log(gql, world, customerId=gid("Customer", first.id))

    # Then only its records are listed, newest first
    assert [(n["action"], n["after"]) for n in nodes(body)] == [
        ("customer.update", {"companyName": "Two"}),
        ("customer.update", {"companyName": "One"}),
        ("customer.add", nodes(body)[-1]["after"]),
    ]
    assert {n["targetId"] for n in nodes(body)} == {gid("Customer", first.id)}
    assert nodes(body)[-1]["after"]["companyName"] == first.company_name


def test_filter_by_actor(gql, world):
    # Given changes by the admin and by the admin agent
    customer_id = gid("Customer", world.home_customers[0].id)
    gql(World.email("admin"), UPDATE_CITY, {"id": customer_id, "city": "Bonn"})
    gql(World.email("admin_agent"), UPDATE_CITY, {"id": customer_id, "city": "Köln"})
    gql(World.email("admin_agent"), UPDATE_CITY, {"id": customer_id, "city": "Kiel"})

    # When the admin filters by each actor (however the address is spelled)
    agent = home_log(gql, world, actorEmail="  Admin_Agent@HOME.example ")
    admin = home_log(gql, world, actorEmail=World.email("admin"))
    nobody = home_log(gql, world, actorEmail="ghost@home.example")

    # Then only that actor's records are listed
    assert [n["after"] for n in nodes(agent)] == [{"city": "Kiel"}, {"city": "Köln"}]
    assert {n["actorEmail"] for n in nodes(agent)} == {World.email("admin_agent")}
    assert [n["after"] for n in nodes(admin)] == [{"city": "Bonn"}]
    assert nobody["data"]["activity"] == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "edges": [],
    }


def test_filter_by_time(gql, world):
    # Given Home's log
    everything = nodes(home_log(gql, world))
    assert len(everything) >= 5
    middle = everything[len(everything) // 2]

    # When the admin reads from, and up to, the moment of a record in the middle
    since = nodes(home_log(gql, world, **{"from": middle["at"]}))
    until = nodes(home_log(gql, world, to=middle["at"]))
    only = nodes(home_log(gql, world, **{"from": middle["at"], "to": middle["at"]}))

    # Then both bounds are inclusive and split the log at that moment
    assert since == [n for n in everything if at(n) >= at(middle)]
    assert until == [n for n in everything if at(n) <= at(middle)]
    assert middle in only and all(at(n) == at(middle) for n in only)
    assert len(since) + len(until) == len(everything) + len(only)
    # a bound given in another offset means the same moment
    offset = at(middle).astimezone(dt.timezone(dt.timedelta(hours=5))).isoformat()
    assert nodes(home_log(gql, world, **{"from": offset})) == since
    # and a future window is empty
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    assert home_log(gql, world, **{"from": future})["data"]["activity"]["totalCount"] == 0


def test_from_after_to_is_bad_user_input(gql, world):
    # Given the admin of Home
    # When the window ends before it starts
    body = home_log(gql, world, **{"from": "2030-01-02T00:00:00Z", "to": "2030-01-01T00:00:00Z"})

    # Then it is BAD_USER_INPUT
    assert body["data"] == {"activity": None}
    assert codes(body) == ["BAD_USER_INPUT"]


def test_pages_cover_the_log_once(gql, world):
    # Given Home's log
    everything = [n["id"] for n in nodes(home_log(gql, world))]
    assert len(everything) > 4

    # When the admin reads it two records at a time
    seen, after = [], None
    while True:
        body = home_log(gql, world, first=2, after=after)
        page = body["data"]["activity"]
        assert page["totalCount"] == len(everything)
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    # Then the pages hold every record once, in the same order
    assert seen == everything


def test_a_customer_feed_shows_only_that_customers_records(gql, world):
    # Given changes to two customers
    first, second = world.home_customers[0], world.home_customers[1]
    gql(World.email("admin"), UPDATE_CITY, {"id": gid("Customer", first.id), "city": "Ulm"})
    gql(World.email("admin"), UPDATE_CITY, {"id": gid("Customer", second.id), "city": "Jena"})
    gql(World.email("admin_agent"), UPDATE_CITY, {"id": gid("Customer", first.id), "city": "Gera"})

    # When the admin agent opens the first customer's feed
    body = gql(World.email("admin_agent"), FEED, {"id": gid("Customer", first.id)})

    # Then it lists the first customer's records, newest first, the same as the filtered log
    feed = nodes(body["data"]["customer"], "feed")
    assert [(n["action"], n["after"]) for n in feed[:2]] == [
        ("customer.update", {"city": "Gera"}),
        ("customer.update", {"city": "Ulm"}),
    ]
    assert [n["action"] for n in feed] == ["customer.update", "customer.update", "customer.add"]
    assert {n["targetId"] for n in feed} == {gid("Customer", first.id)}
    filtered = nodes(home_log(gql, world, customerId=gid("Customer", first.id)))
    assert [n["id"] for n in feed] == [n["id"] for n in filtered]

    # And it pages
    one = gql(World.email("admin_agent"), FEED, {"id": gid("Customer", first.id), "first": 1})
    page = one["data"]["customer"]["feed"]
    assert page["totalCount"] == 3
    assert page["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["id"] for e in page["edges"]] == [feed[0]["id"]]


def test_another_workgroups_records_never_appear(gql, session, world):
    # Given activity in Away, by its admin
    away_customer = world.away_customers[0]
    body = gql(
        World.ADMIN_AWAY, UPDATE_CITY, {"id": gid("Customer", away_customer.id), "city": "Oslo"}
    )
    assert body["data"]["updateCustomer"]["errors"] == []
    away = gid("Workgroup", world.away.id)

    for reader in (World.email("admin"), World.email("admin_agent")):
        # When Home's readers read the log, unfiltered and aimed at Away
        unfiltered = gql(reader, ACTIVITY)
        by_workgroup = gql(reader, ACTIVITY, {"workgroupId": away})
        by_customer = gql(reader, ACTIVITY, {"customerId": gid("Customer", away_customer.id)})
        by_actor = gql(reader, ACTIVITY, {"actorEmail": World.ADMIN_AWAY})
        feed = gql(reader, FEED, {"id": gid("Customer", away_customer.id)})

        # Then no Away record appears anywhere
        assert {n["workgroup"]["id"] for n in nodes(unfiltered)} == {
            gid("Workgroup", world.home.id)
        }
        for filtered in (by_workgroup, by_customer, by_actor):
            assert filtered["data"]["activity"]["totalCount"] == 0
            assert filtered["data"]["activity"]["edges"] == []
        assert feed == {"data": {"customer": None}}

    # (while the global admin sees the Away change)
    root = gql(World.GLOBAL_ADMIN, ACTIVITY, {"workgroupId": away, "first": 1})
    assert nodes(root)[0]["after"] == {"city": "Oslo"}


def test_garbage_ids_in_filters_match_nothing(gql, world):
    # Given the global admin, who sees every record
    # When they filter by ids that name no workgroup or customer
    for variables in (
        {"workgroupId": "garbage"},
        {"workgroupId": gid("Customer", world.home_customers[0].id)},
        {"customerId": gid("Workgroup", world.home.id)},
        {"customerId": gid("Customer", 987654)},
    ):
        body = gql(World.GLOBAL_ADMIN, ACTIVITY, variables)

        # Then nothing matches (and nothing fails)
        assert body["data"]["activity"]["totalCount"] == 0, variables


def test_an_update_that_changes_nothing_records_nothing(gql, engine, world):
    # Given a Home customer in Berlin
    before = records(engine)

    # When the admin sets its city to Berlin again
    body = gql(
        World.email("admin"),
        UPDATE_CITY,
        {"id": gid("Customer", world.home_customers[0].id), "city": "Berlin"},
    )

    # Then it succeeds, and no record is written
    assert body["data"]["updateCustomer"]["errors"] == []
    assert records(engine) == before


# ---------------------------------------------------------------- one record per mutation


Variables = Callable[[dict[str, str]], dict[str, Any]]


@dataclass(frozen=True)
class Attempt:
    actor: str
    variables: Variables


@dataclass(frozen=True)
class MutationCase:
    """A mutation tried three ways: refused (FORBIDDEN), failing with a user error, and
    succeeding with the action it must record."""

    document: str
    forbidden: Attempt
    user_error: Attempt
    error_code: str
    success: Attempt
    action: str
    target_type: str


ADMIN = World.email("admin")
AGENT = World.email("admin_agent")
SALES = World.email("sales_agent")
MEMBER = World.email("member")

MUTATIONS: dict[str, MutationCase] = {
    "createWorkgroup": MutationCase(
        CREATE_WORKGROUP,
        forbidden=Attempt(ADMIN, lambda t: {"name": "Fresh"}),  # decided on global roles
        user_error=Attempt(World.GLOBAL_ADMIN, lambda t: {"name": "home"}),
        error_code="DUPLICATE",
        success=Attempt(World.GLOBAL_ADMIN, lambda t: {"name": "Fresh"}),
        action="workgroup.create",
        target_type="Workgroup",
    ),
    "addCustomer": MutationCase(
        ADD_CUSTOMER,
        forbidden=Attempt(SALES, lambda t: {"wg": t["home"], "domain": "newco.example"}),
        user_error=Attempt(ADMIN, lambda t: {"wg": t["home"], "domain": "company-home0.example"}),
        error_code="DUPLICATE",
        success=Attempt(ADMIN, lambda t: {"wg": t["home"], "domain": "newco.example"}),
        action="customer.add",
        target_type="Customer",
    ),
    "updateCustomer": MutationCase(
        UPDATE_CUSTOMER,
        forbidden=Attempt(World.email("customer_activity"), lambda t: {"id": t["customer"]}),
        user_error=Attempt(ADMIN, lambda t: {"id": t["customer"], "version": 999}),
        error_code="CONFLICT",
        success=Attempt(ADMIN, lambda t: {"id": t["customer"]}),
        action="customer.update",
        target_type="Customer",
    ),
    "archiveCustomer": MutationCase(
        ARCHIVE_CUSTOMER,
        forbidden=Attempt(SALES, lambda t: {"id": t["customer"]}),
        user_error=Attempt(ADMIN, lambda t: {"id": t["archived"]}),
        error_code="ARCHIVED",
        success=Attempt(ADMIN, lambda t: {"id": t["customer"]}),
        action="customer.archive",
        target_type="Customer",
    ),
    "reactivateCustomer": MutationCase(
        REACTIVATE_CUSTOMER,
        forbidden=Attempt(SALES, lambda t: {"id": t["archived"]}),
        user_error=Attempt(ADMIN, lambda t: {"id": t["customer"]}),
        error_code="NOT_ARCHIVED",
        success=Attempt(ADMIN, lambda t: {"id": t["archived"]}),
        action="customer.reactivate",
        target_type="Customer",
    ),
    "grantRole": MutationCase(
        GRANT,
        forbidden=Attempt(
            AGENT, lambda t: {"email": "new@home.example", "role": "MEMBER", "wg": t["home"]}
        ),
        user_error=Attempt(
            ADMIN, lambda t: {"email": SALES, "role": "SALES_AGENT", "wg": t["home"]}
        ),
        error_code="DUPLICATE",
        success=Attempt(
            ADMIN, lambda t: {"email": "new@home.example", "role": "MEMBER", "wg": t["home"]}
        ),
        action="role.grant",
        target_type="User",
    ),
    "revokeRole": MutationCase(
        REVOKE,
        forbidden=Attempt(
            AGENT, lambda t: {"email": SALES, "role": "SALES_AGENT", "wg": t["home"]}
        ),
        user_error=Attempt(ADMIN, lambda t: {"email": ADMIN, "role": "ADMIN", "wg": t["home"]}),
        error_code="LAST_ADMIN",
        success=Attempt(ADMIN, lambda t: {"email": SALES, "role": "SALES_AGENT", "wg": t["home"]}),
        action="role.revoke",
        target_type="User",
    ),
    "openSupportCase": MutationCase(
        OPEN_CASE,
        forbidden=Attempt(World.NOBODY, lambda t: {"wg": t["home"], "title": "Help"}),
        user_error=Attempt(MEMBER, lambda t: {"wg": t["home"], "title": "  "}),
        error_code="REQUIRED",
        success=Attempt(MEMBER, lambda t: {"wg": t["home"], "title": "Help"}),
        action="case.open",
        target_type="SupportCase",
    ),
    "closeSupportCase": MutationCase(
        CLOSE_CASE,
        forbidden=Attempt(SALES, lambda t: {"case": t["open_case"]}),
        user_error=Attempt(ADMIN, lambda t: {"case": t["closed_case"]}),
        error_code="INVALID",
        success=Attempt(ADMIN, lambda t: {"case": t["open_case"]}),
        action="case.close",
        target_type="SupportCase",
    ),
    "shareSupportCase": MutationCase(
        SHARE_CASE,
        forbidden=Attempt(SALES, lambda t: {"case": t["open_case"], "email": MEMBER}),
        user_error=Attempt(ADMIN, lambda t: {"case": t["open_case"], "email": SALES}),
        error_code="DUPLICATE",
        success=Attempt(ADMIN, lambda t: {"case": t["open_case"], "email": MEMBER}),
        action="case.share",
        target_type="SupportCase",
    ),
    "unshareSupportCase": MutationCase(
        UNSHARE_CASE,
        forbidden=Attempt(SALES, lambda t: {"case": t["open_case"], "email": SALES}),
        user_error=Attempt(ADMIN, lambda t: {"case": t["open_case"], "email": MEMBER}),
        error_code="NOT_FOUND",
        success=Attempt(ADMIN, lambda t: {"case": t["open_case"], "email": SALES}),
        action="case.unshare",
        target_type="SupportCase",
    ),
    "grantGroupAccess": MutationCase(
        GRANT_GROUP_ACCESS,
        forbidden=Attempt(SALES, lambda t: {"case": t["open_case"], "group": t["empty_group"]}),
        user_error=Attempt(ADMIN, lambda t: {"case": t["open_case"], "group": t["group"]}),
        error_code="DUPLICATE",
        success=Attempt(ADMIN, lambda t: {"case": t["open_case"], "group": t["empty_group"]}),
        action="case.group_access.grant",
        target_type="SupportCase",
    ),
    "revokeGroupAccess": MutationCase(
        REVOKE_GROUP_ACCESS,
        forbidden=Attempt(SALES, lambda t: {"case": t["open_case"], "group": t["group"]}),
        user_error=Attempt(ADMIN, lambda t: {"case": t["open_case"], "group": t["empty_group"]}),
        error_code="NOT_FOUND",
        success=Attempt(ADMIN, lambda t: {"case": t["open_case"], "group": t["group"]}),
        action="case.group_access.revoke",
        target_type="SupportCase",
    ),
    "createGroup": MutationCase(
        CREATE_GROUP,
        forbidden=Attempt(AGENT, lambda t: {"wg": t["home"], "name": "Tier 4"}),
        user_error=Attempt(ADMIN, lambda t: {"wg": t["home"], "name": "tier 2"}),
        error_code="DUPLICATE",
        success=Attempt(ADMIN, lambda t: {"wg": t["home"], "name": "Tier 4"}),
        action="group.create",
        target_type="Group",
    ),
    "addGroupMember": MutationCase(
        ADD_GROUP_MEMBER,
        forbidden=Attempt(AGENT, lambda t: {"group": t["empty_group"], "email": MEMBER}),
        user_error=Attempt(ADMIN, lambda t: {"group": t["group"], "email": SALES}),
        error_code="DUPLICATE",
        success=Attempt(ADMIN, lambda t: {"group": t["empty_group"], "email": MEMBER}),
        action="group.member.add",
        target_type="Group",
    ),
    "removeGroupMember": MutationCase(
        REMOVE_GROUP_MEMBER,
        forbidden=Attempt(AGENT, lambda t: {"group": t["group"], "email": SALES}),
        user_error=Attempt(ADMIN, lambda t: {"group": t["empty_group"], "email": MEMBER}),
        error_code="NOT_FOUND",
        success=Attempt(ADMIN, lambda t: {"group": t["group"], "email": SALES}),
        action="group.member.remove",
        target_type="Group",
    ),
}


# Partner operations.
ADD_CONTACT = """
mutation($wg: ID!, $email: String!) {
  m: addContact(input: {workgroupId: $wg, firstName: "New", lastName: "Person", email: $email}) {
    errors { code }
  }
}
"""
UPDATE_CONTACT = """
mutation($id: ID!, $email: String!) {
  m: updateContact(id: $id, input: {email: $email}) { errors { code } }
}
"""
MOVE_CONTACT = """
mutation($id: ID!, $c: ID) { m: moveContact(id: $id, customerId: $c) { errors { code } } }
"""
INVITE_CONTACT = "mutation($id: ID!) { m: inviteContact(id: $id) { errors { code } } }"
SET_MAIN_CONTACT = """
mutation($c: ID!, $id: ID!) {
  m: setMainContact(customerId: $c, contactId: $id) { errors { code } }
}
"""
SET_TICKET_POLICY = """
mutation($c: ID!) { m: setTicketPolicy(customerId: $c, mainContactOnly: true) { errors { code } } }
"""
ADD_TAGS = """
mutation($c: ID!, $t: [String!]!) { m: addTags(customerId: $c, tags: $t) { errors { code } } }
"""
REMOVE_TAGS = """
mutation($c: ID!, $t: [String!]!) { m: removeTags(customerId: $c, tags: $t) { errors { code } } }
"""
CREATE_ORDER = """
mutation($c: ID!, $lines: [OrderLineInput!]!) {
  m: createOrder(customerId: $c, catalog: AZURE, lines: $lines) { errors { code } }
}
"""
ADD_CONTRACT = """
mutation($c: ID!, $name: String!) {
  m: addContract(customerId: $c, input: {name: $name, type: HOURLY}) { errors { code } }
}
"""
SET_SERVICE_LEVEL = """
mutation($c: ID!, $r: Int!) {
  m: setServiceLevel(customerId: $c, firstResponseMinutes: 60, resolutionMinutes: $r,
                     alertProfile: "Standard") { errors { code } }
}
"""
CREATE_PROJECT = """
mutation($wg: ID!, $name: String!) {
  m: createProject(workgroupId: $wg, name: $name) { errors { code } }
}
"""
ADD_PROJECT_MEMBER = """
mutation($p: ID!, $c: ID!) {
  m: addProjectMember(projectId: $p, customerId: $c) { errors { code } }
}
"""
REMOVE_PROJECT_MEMBER = ADD_PROJECT_MEMBER.replace("addProjectMember", "removeProjectMember")
ACTIVITY_HOLDER = World.email("customer_activity")

PARTNER_MUTATIONS: dict[str, MutationCase] = {
    "addContact": MutationCase(
        ADD_CONTACT,
        forbidden=Attempt(SALES, lambda t: {"wg": t["home"], "email": "n@home.example"}),
        user_error=Attempt(ADMIN, lambda t: {"wg": t["home"], "email": "not-an-email"}),
        error_code="INVALID",
        success=Attempt(ADMIN, lambda t: {"wg": t["home"], "email": "n@home.example"}),
        action="contact.add",
        target_type="Contact",
    ),
    "updateContact": MutationCase(
        UPDATE_CONTACT,
        forbidden=Attempt(SALES, lambda t: {"id": t["contact"], "email": "x@home.example"}),
        user_error=Attempt(ADMIN, lambda t: {"id": t["contact"], "email": "bad"}),
        error_code="INVALID",
        success=Attempt(ADMIN, lambda t: {"id": t["contact"], "email": "x@home.example"}),
        action="contact.update",
        target_type="Contact",
    ),
    "moveContact": MutationCase(
        MOVE_CONTACT,
        forbidden=Attempt(SALES, lambda t: {"id": t["contact"], "c": None}),
        user_error=Attempt(ADMIN, lambda t: {"id": t["contact"], "c": t["archived"]}),
        error_code="ARCHIVED",
        success=Attempt(ADMIN, lambda t: {"id": t["contact"], "c": None}),
        action="contact.move",
        target_type="Contact",
    ),
    "inviteContact": MutationCase(
        INVITE_CONTACT,
        forbidden=Attempt(SALES, lambda t: {"id": t["contact"]}),
        user_error=Attempt(ADMIN, lambda t: {"id": gid("Contact", 987654)}),
        error_code="NOT_FOUND",
        success=Attempt(ADMIN, lambda t: {"id": t["contact"]}),
        action="contact.invite",
        target_type="Contact",
    ),
    "setMainContact": MutationCase(
        SET_MAIN_CONTACT,
        forbidden=Attempt(SALES, lambda t: {"c": t["customer"], "id": t["contact"]}),
        user_error=Attempt(ADMIN, lambda t: {"c": t["member_customer"], "id": t["contact"]}),
        error_code="INVALID",
        success=Attempt(ADMIN, lambda t: {"c": t["customer"], "id": t["contact"]}),
        action="contact.set_main",
        target_type="Customer",
    ),
    "setTicketPolicy": MutationCase(
        SET_TICKET_POLICY,
        forbidden=Attempt(SALES, lambda t: {"c": t["customer"]}),
        user_error=Attempt(ADMIN, lambda t: {"c": t["archived"]}),
        error_code="ARCHIVED",
        success=Attempt(ADMIN, lambda t: {"c": t["customer"]}),
        action="customer.ticket_policy",
        target_type="Customer",
    ),
    "addTags": MutationCase(
        ADD_TAGS,
        forbidden=Attempt(ACTIVITY_HOLDER, lambda t: {"c": t["customer"], "t": ["fresh"]}),
        user_error=Attempt(SALES, lambda t: {"c": t["customer"], "t": [" "]}),
        error_code="REQUIRED",
        success=Attempt(SALES, lambda t: {"c": t["customer"], "t": ["fresh"]}),
        action="customer.tags",
        target_type="Customer",
    ),
    "removeTags": MutationCase(
        REMOVE_TAGS,
        forbidden=Attempt(ACTIVITY_HOLDER, lambda t: {"c": t["customer"], "t": ["alpha"]}),
        user_error=Attempt(SALES, lambda t: {"c": t["archived"], "t": ["alpha"]}),
        error_code="ARCHIVED",
        success=Attempt(SALES, lambda t: {"c": t["customer"], "t": ["alpha"]}),
        action="customer.tags",
        target_type="Customer",
    ),
    "createOrder": MutationCase(
        CREATE_ORDER,
        forbidden=Attempt(
            ACTIVITY_HOLDER,
            lambda t: {"c": t["customer"], "lines": [{"product": "X", "quantity": 1}]},
        ),
        user_error=Attempt(SALES, lambda t: {"c": t["customer"], "lines": []}),
        error_code="REQUIRED",
        success=Attempt(
            SALES, lambda t: {"c": t["customer"], "lines": [{"product": "X", "quantity": 1}]}
        ),
        action="order.create",
        target_type="Customer",
    ),
    "addContract": MutationCase(
        ADD_CONTRACT,
        forbidden=Attempt(SALES, lambda t: {"c": t["customer"], "name": "Support"}),
        user_error=Attempt(ADMIN, lambda t: {"c": t["customer"], "name": " "}),
        error_code="REQUIRED",
        success=Attempt(ADMIN, lambda t: {"c": t["customer"], "name": "Support"}),
        action="contract.add",
        target_type="Customer",
    ),
    "setServiceLevel": MutationCase(
        SET_SERVICE_LEVEL,
        forbidden=Attempt(SALES, lambda t: {"c": t["customer"], "r": 480}),
        user_error=Attempt(ADMIN, lambda t: {"c": t["customer"], "r": 30}),
        error_code="INVALID",
        success=Attempt(ADMIN, lambda t: {"c": t["customer"], "r": 480}),
        action="customer.service_level",
        target_type="Customer",
    ),
    "createProject": MutationCase(
        CREATE_PROJECT,
        forbidden=Attempt(SALES, lambda t: {"wg": t["home"], "name": "Fresh project"}),
        user_error=Attempt(ADMIN, lambda t: {"wg": t["home"], "name": "rollout"}),
        error_code="DUPLICATE",
        success=Attempt(ADMIN, lambda t: {"wg": t["home"], "name": "Fresh project"}),
        action="project.create",
        target_type="Project",
    ),
    "addProjectMember": MutationCase(
        ADD_PROJECT_MEMBER,
        forbidden=Attempt(SALES, lambda t: {"p": t["project"], "c": t["customer"]}),
        user_error=Attempt(ADMIN, lambda t: {"p": t["project"], "c": t["member_customer"]}),
        error_code="DUPLICATE",
        success=Attempt(ADMIN, lambda t: {"p": t["project"], "c": t["customer"]}),
        action="project.member.add",
        target_type="Project",
    ),
    "removeProjectMember": MutationCase(
        REMOVE_PROJECT_MEMBER,
        forbidden=Attempt(SALES, lambda t: {"p": t["project"], "c": t["member_customer"]}),
        user_error=Attempt(ADMIN, lambda t: {"p": t["project"], "c": t["customer"]}),
        error_code="NOT_FOUND",
        success=Attempt(ADMIN, lambda t: {"p": t["project"], "c": t["member_customer"]}),
        action="project.member.remove",
        target_type="Project",
    ),
}
MUTATIONS.update(PARTNER_MUTATIONS)
# Mutations whose record is written later than the mutation itself, and where that is tested.
RECORDED_ELSEWHERE = {
    # A dry run changes nothing; a run records one "import.<kind>" when it commits, in the
    # background (tests/test_customer_import.py, one bad row in ten thousand).
    "startImport",
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_every_mutation_records_once_when_it_succeeds_and_never_when_it_fails(
    gql, engine, world, scene, name
):
    # Given Home's objects, and the log as it stands
    case = MUTATIONS[name]
    ids = scene.ids(world)
    log = records(engine)

    # When the mutation is refused for lack of permission
    refused = gql(case.forbidden.actor, case.document, case.forbidden.variables(ids))

    # Then it is FORBIDDEN and nothing is recorded
    assert refused["data"] is None, refused
    assert codes(refused) == ["FORBIDDEN"]
    assert records(engine) == log

    # When it fails with a user error
    failed = gql(case.user_error.actor, case.document, case.user_error.variables(ids))

    # Then that is the error, and nothing is recorded
    assert "errors" not in failed, failed
    assert [e["code"] for e in failed["data"]["m"]["errors"]] == [case.error_code]
    assert records(engine) == log

    # When it succeeds
    done = gql(case.success.actor, case.document, case.success.variables(ids))

    # Then exactly one record is added: this action, by this actor, in the right workgroup
    assert done == {"data": {"m": {"errors": []}}}
    after = records(engine)
    assert after[: len(log)] == log
    assert len(after) == len(log) + 1
    _, actor, workgroup, action, target_type, target = after[-1]
    assert (action, target_type, actor) == (
        case.action,
        case.target_type,
        user_id(engine, case.success.actor),
    )
    assert target is not None
    if name == "createWorkgroup":
        with engine.connect() as connection:
            fresh = connection.execute(
                select(Workgroup.id).where(Workgroup.name == "Fresh")
            ).scalar()
        assert (workgroup, target) == (fresh, fresh)
    else:
        assert workgroup == world.home.id
        # and Home's admin finds it at the top of the log
        newest = nodes(home_log(gql, world, first=1))[0]
        assert (newest["action"], newest["actorEmail"], newest["targetType"]) == (
            case.action,
            case.success.actor,
            case.target_type,
        )
        assert newest["targetId"] == gid(case.target_type, target)


def test_the_table_covers_every_mutation_of_the_schema():
    # Given the mutations of the schema
    in_schema = set(SCHEMA.mutation_type.fields)  # type: ignore[union-attr]

    # Then each one is in the table above (a new mutation must say what it records), and the
    # table names no mutation the schema lacks
    assert sorted(in_schema - set(MUTATIONS) - RECORDED_ELSEWHERE) == [], "add these to MUTATIONS"
    assert sorted((set(MUTATIONS) | RECORDED_ELSEWHERE) - in_schema) == []


def _input_mentions_activity(graphql_type, seen: set[str]) -> bool:
    """Whether an argument of this type could name an activity record, at any depth."""
    named = get_named_type(graphql_type)
    if named.name in seen:
        return False
    seen.add(named.name)
    if "activity" in named.name.lower():
        return True
    fields = getattr(named, "fields", None) or {}
    return any(
        "activity" in name.lower() or "record" in name.lower()
        or _input_mentions_activity(field.type, seen)
        for name, field in fields.items()
    )  # fmt: skip


def test_no_mutation_can_change_or_delete_an_activity_record():
    # Given every mutation of the schema
    mutations = SCHEMA.mutation_type.fields  # type: ignore[union-attr]
    assert mutations

    # Then none is about activity records by name, takes an argument that could name one,
    # or hands one back in its payload to be acted on
    problems = []
    for name, field in mutations.items():
        if any(word in name.lower() for word in ("activity", "audit", "record", "log")):
            problems.append(name)
        for argument_name, argument in field.args.items():
            if (
                "activity" in argument_name.lower()
                or "record" in argument_name.lower()
                or _input_mentions_activity(argument.type, set())
            ):
                problems.append(f"{name}({argument_name})")
        payload = get_named_type(field.type)
        for field_name, payload_field in payload.fields.items():  # type: ignore[union-attr]
            if get_named_type(payload_field.type).name.startswith("ActivityRecord"):
                problems.append(f"{name} -> {field_name}")
    assert problems == []
    # (the check does recognize an argument type that could name one)
    assert _input_mentions_activity(SCHEMA.type_map["ActivityRecord"], set())


# ---------------------------------------------------------------- the CSV export


def export(client, settings, email: str | None, workgroup_id: str | None):
    headers = {"Authorization": f"Bearer {token_for(email, settings)}"} if email else {}
    params = {"workgroupId": workgroup_id} if workgroup_id is not None else {}
    return client.get("/exports/activity.csv", params=params, headers=headers)


@pytest.mark.parametrize("role", ROLES)
def test_the_csv_export_is_for_admins_and_admin_agents(client, settings, gql, world, role):
    # Given a change in Home and one in Away
    gql(ADMIN, UPDATE_CITY, {"id": gid("Customer", world.home_customers[0].id), "city": "Ulm"})
    gql(
        World.ADMIN_AWAY,
        UPDATE_CITY,
        {"id": gid("Customer", world.away_customers[0].id), "city": "Oslo"},
    )

    # When a role of Home downloads Home's log
    response = export(client, settings, World.email(role), gid("Workgroup", world.home.id))

    # Then admins and admin agents get it; other roles are forbidden
    if role not in READERS:
        assert response.status_code == 403
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        return
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    lines = response.text.splitlines()
    assert lines[0] == CSV_HEADER

    # And it holds exactly Home's records, newest first, as the API lists them
    rows = list(csv.DictReader(io.StringIO(response.text)))
    listed = nodes(
        gql(
            World.email(role),
            ACTIVITY,
            {"workgroupId": gid("Workgroup", world.home.id), "first": 1000},
        )
    )
    assert len(rows) == len(listed)
    for row, node in zip(rows, listed, strict=True):
        assert row["at"] == node["at"]
        assert row["actor"] == (node["actorEmail"] or "")
        assert (row["action"], row["target_type"], row["target_id"]) == (
            node["action"],
            node["targetType"],
            node["targetId"] or "",
        )
        assert (json.loads(row["before"]) if row["before"] else None) == node["before"]
        assert (json.loads(row["after"]) if row["after"] else None) == node["after"]
    assert "Oslo" not in response.text
    assert rows[0]["after"] == '{"city":"Ulm"}'


def test_the_csv_export_for_another_workgroup_is_not_found(client, settings, world):
    # Given the admin of Home
    # When they download Away's log, a workgroup that does not exist, or no workgroup at all
    away = export(client, settings, ADMIN, gid("Workgroup", world.away.id))
    missing = export(client, settings, ADMIN, gid("Workgroup", 987654))
    unnamed = export(client, settings, ADMIN, None)

    # Then each is 404
    for response in (away, missing, unnamed):
        assert response.status_code == 404
        assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_the_csv_export_needs_a_valid_token(client, world):
    # Given no token, and a token that is not ours
    home = gid("Workgroup", world.home.id)
    anonymous = client.get("/exports/activity.csv", params={"workgroupId": home})
    forged = client.get(
        "/exports/activity.csv",
        params={"workgroupId": home},
        headers={"Authorization": "Bearer not.a.token"},
    )

    # Then both are 401 with a Bearer challenge
    for response in (anonymous, forged):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_the_global_admin_exports_any_workgroup(client, settings, gql, world):
    # Given a change in Away
    gql(
        World.ADMIN_AWAY,
        UPDATE_CITY,
        {"id": gid("Customer", world.away_customers[0].id), "city": "Oslo"},
    )

    # When the global admin downloads Away's log
    response = export(client, settings, World.GLOBAL_ADMIN, gid("Workgroup", world.away.id))

    # Then it is Away's, and only Away's
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows[0]["after"] == '{"city":"Oslo"}'
    assert rows[0]["actor"] == World.ADMIN_AWAY
    assert "Home" not in response.text
    assert [r["action"] for r in rows][-1] == "workgroup.create"
