"""Who sees which support case (docs/permissions.md, the member rule), on every path that returns
cases: `supportCases`, `supportCase(id:)`, `node(id:)`, `Customer.supportCases` and the
ADDITIONAL_CASES drill-down — with counts that match the visible rows; who reads who else has
access to a case (`sharedWith`, `groupsWithAccess`); the cost of a case list; and, on
PostgreSQL, the plan of the member's case list on 100,000 cases.

Admins and support viewers see every case of their workgroups. Anyone else holding a role there
sees a case only through a group given access, a share, or as its primary contact.
"""

import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from graph.context import open_viewer
from graph.ids import encode_id
from models.accounts.tables import UserGroup, Workgroup
from models.support.operations import CASE_ORDER, case_query
from tests.conftest import ROLES, GraphQLClient, World, grant, make_workgroup
from tests.support_factories import (
    COLLEAGUE,
    Reach,
    build_reach,
    gid,
    give_access,
    new_case,
    new_group,
    share,
)
from tests.test_cost import counting_statements

SUPPORT_CASES = """
query($first: Int!, $after: String, $workgroupId: ID, $status: CaseStatus, $search: String) {
  supportCases(first: $first, after: $after, workgroupId: $workgroupId, status: $status,
               search: $search) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id title } }
  }
}
"""
SUPPORT_CASE = """
query($id: ID!) { supportCase(id: $id) { id title } }
"""
NODE = """
query($id: ID!) { node(id: $id) { id ... on SupportCase { title } } }
"""
CUSTOMER_CASES = """
query($id: ID!) {
  customer(id: $id) { supportCases(first: 100) { totalCount edges { node { id title } } } }
}
"""
CUSTOMERS_CASES = """
query($first: Int!) {
  customers(first: 100) { edges { node { id
    supportCases(first: $first) { totalCount edges { node { id title } } }
  } } }
}
"""
ADDITIONAL_CASES = """
query {
  customerActivity {
    drillDown(category: ADDITIONAL_CASES) {
      additionalCases(first: 100) { totalCount edges { node { reason case { id title } } } }
    }
  }
}
"""
WHO_ELSE = """
query {
  supportCases(first: 100) {
    edges { node { title sharedWith { email } groupsWithAccess { name } } }
  }
}
"""
WHO_ELSE_BY_ID = """
query($id: ID!) {
  supportCase(id: $id) { title sharedWith { email } groupsWithAccess { name } }
  node(id: $id) { ... on SupportCase { title sharedWith { email } groupsWithAccess { name } } }
}
"""
UNSHARE = """
mutation($caseId: ID!, $email: String!) {
  unshareSupportCase(caseId: $caseId, email: $email) { errors { field code } }
}
"""
SHARE = """
mutation($caseId: ID!, $email: String!) {
  shareSupportCase(caseId: $caseId, email: $email) { errors { field code } }
}
"""
REMOVE_MEMBER = """
mutation($groupId: ID!, $email: String!) {
  removeGroupMember(groupId: $groupId, email: $email) { errors { field code } }
}
"""
ADD_MEMBER = """
mutation($groupId: ID!, $email: String!) {
  addGroupMember(groupId: $groupId, email: $email) { errors { field code } }
}
"""
REVOKE_GROUP_ACCESS = """
mutation($caseId: ID!, $groupId: ID!) {
  revokeGroupAccess(caseId: $caseId, groupId: $groupId) { errors { field code } }
}
"""
GRANT_GROUP_ACCESS = """
mutation($caseId: ID!, $groupId: ID!) {
  grantGroupAccess(caseId: $caseId, groupId: $groupId) { errors { field code } }
}
"""
REVOKE_ROLE = """
mutation($email: String!, $role: Role!, $workgroupId: ID!) {
  revokeRole(email: $email, role: $role, workgroupId: $workgroupId) { errors { field code } }
}
"""
CLOSE = """
mutation($caseId: ID!) { closeSupportCase(caseId: $caseId) { errors { field code } } }
"""
MEMBER_CASE_LIST = """
query {
  supportCases(first: 200) {
    edges { node {
      title primaryContact { email } customer { companyName }
      sharedWith { email } groupsWithAccess { name }
    } }
  }
}
"""

ADMIN = World.email("admin")
MEMBER = World.email("member")
# Every role that is neither admin nor support viewer: the member rule applies to them.
NON_OVERSEERS = ["member", "admin_agent", "sales_agent", "customer_activity", "training_manager"]
OVERSEERS = ["admin", "support_viewer"]
# Roles that see Home's customers (and so reach cases through Customer.supportCases).
CUSTOMER_READERS = set(ROLES) - {"member"}
# Roles that open the customer-activity dashboard (and so its ADDITIONAL_CASES drill-down).
ACTIVITY_READERS = {"admin", "customer_activity"}


# ------------------------------------------------------------------ reading every path

Seen = tuple[set[str], int]  # titles of the cases returned, and the count the API states


def errors_at(body: dict[str, Any]) -> dict[tuple, str | None]:
    """Path of each error -> its extensions.code."""
    return {
        tuple(error.get("path") or ()): (error.get("extensions") or {}).get("code")
        for error in body.get("errors", [])
    }


def _checked(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body["errors"]
    return body["data"]


def _titles(edges: list[dict], reach: Reach, node=lambda edge: edge["node"]) -> set[str]:
    """The titles of the edges, after checking each id is the one of the case so titled."""
    titles = [node(edge)["title"] for edge in edges]
    assert len(titles) == len(set(titles)), f"a case listed twice: {titles}"
    for edge in edges:
        assert node(edge)["id"] == gid(reach.titled(node(edge)["title"]))
    return set(titles)


def seen_in_list(gql: GraphQLClient, email: str, reach: Reach, world: World) -> Seen:
    connection = _checked(gql(email, SUPPORT_CASES, {"first": 100}))["supportCases"]
    return _titles(connection["edges"], reach), connection["totalCount"]


def _seen_by_id(query: str, field: str) -> Callable[..., Seen]:
    def seen(gql: GraphQLClient, email: str, reach: Reach, world: World) -> Seen:
        titles = set()
        for case in reach.cases.values():
            found = _checked(gql(email, query, {"id": gid(case)}))[field]
            if found is not None:
                assert found == {"id": gid(case), "title": case.title}
                titles.add(case.title)
        return titles, len(titles)

    return seen


def seen_through_customers(gql: GraphQLClient, email: str, reach: Reach, world: World) -> Seen:
    titles: set[str] = set()
    total = 0
    for customer in world.home_customers + world.away_customers:
        found = _checked(gql(email, CUSTOMER_CASES, {"id": gid(customer)}))["customer"]
        if found is None:
            continue
        connection = found["supportCases"]
        listed = _titles(connection["edges"], reach)
        assert connection["totalCount"] == len(listed)
        assert all(reach.titled(t).customer_id == customer.id for t in listed)
        titles |= listed
        total += connection["totalCount"]
    return titles, total


def seen_through_customer_list(gql: GraphQLClient, email: str, reach: Reach, world: World) -> Seen:
    """Cases of every listed customer at once (one batch for all customers)."""
    data = _checked(gql(email, CUSTOMERS_CASES, {"first": 100}))["customers"]
    titles: set[str] = set()
    total = 0
    for edge in data["edges"]:
        connection = edge["node"]["supportCases"]
        listed = _titles(connection["edges"], reach)
        assert connection["totalCount"] == len(listed)
        assert all(gid_of_customer(reach, t) == edge["node"]["id"] for t in listed)
        titles |= listed
        total += connection["totalCount"]
    return titles, total


def gid_of_customer(reach: Reach, title: str) -> str:
    return encode_id("Customer", reach.titled(title).customer_id)  # type: ignore[arg-type]


def seen_as_additional(gql: GraphQLClient, email: str, reach: Reach, world: World) -> Seen:
    data = _checked(gql(email, ADDITIONAL_CASES))
    connection = data["customerActivity"]["drillDown"]["additionalCases"]
    # None of the scenario's cases is linked to an agreement.
    assert {edge["node"]["reason"] for edge in connection["edges"]} <= {"NO_AGREEMENT"}
    return _titles(connection["edges"], reach, lambda e: e["node"]["case"]), connection[
        "totalCount"
    ]


PATHS: dict[str, Callable[..., Seen]] = {
    "supportCases": seen_in_list,
    "supportCase": _seen_by_id(SUPPORT_CASE, "supportCase"),
    "node": _seen_by_id(NODE, "node"),
    "Customer.supportCases": seen_through_customers,
    "customers.supportCases": seen_through_customer_list,
    "additionalCases": seen_as_additional,
}


def assert_sees(seen: Seen, expected: set[str]) -> None:
    titles, count = seen
    assert titles == expected
    assert count == len(expected)


# ------------------------------------------------------------------ the member rule


@pytest.mark.parametrize(
    ("role", "path"),
    [
        (role, path)
        for role in NON_OVERSEERS
        for path in PATHS
        if path != "additionalCases" or role in ACTIVITY_READERS
    ],
)
def test_member_rule_grants_exactly_group_share_and_primary_contact(
    gql, session, world: World, role: str, path: str
):
    # Given a user holding `role` in Home, in a group given access to one case, shared another,
    # primary contact of a third; and cases reached only by others, or only in Away
    viewer = World.email(role)
    reach = build_reach(session, world, viewer)

    # When they read cases through `path`
    seen = PATHS[path](gql, viewer, reach, world)

    # Then they see exactly the three cases they reach, and the count says three
    # (a member sees no customers, so no case through one)
    through_customers = path in ("Customer.supportCases", "customers.supportCases")
    expected = reach.reached if not through_customers or role in CUSTOMER_READERS else set()
    assert_sees(seen, expected)


@pytest.mark.parametrize(
    ("role", "path"),
    [
        (role, path)
        for role in OVERSEERS
        for path in PATHS
        if path != "additionalCases" or role in ACTIVITY_READERS
    ],
)
def test_admins_and_support_viewers_see_every_case_of_their_workgroup(
    gql, session, world: World, role: str, path: str
):
    # Given the scenario around a member of Home (cases in Home and in Away)
    reach = build_reach(session, world, MEMBER)

    # When an admin or a support viewer of Home reads cases through `path`
    seen = PATHS[path](gql, World.email(role), reach, world)

    # Then they see every case of Home, whoever it involves, and none of Away
    assert_sees(seen, reach.home)


@pytest.mark.parametrize("path", list(PATHS))
def test_a_role_in_another_workgroup_sees_nothing_of_home(gql, session, world: World, path: str):
    # Given the scenario, and an admin of Away
    reach = build_reach(session, world, MEMBER)

    # When the admin of Away reads cases through `path`
    seen = PATHS[path](gql, World.ADMIN_AWAY, reach, world)

    # Then they see Away's cases only: none of Home's
    assert_sees(seen, reach.away)


@pytest.mark.parametrize("path", ["supportCases", "supportCase", "node"])
def test_global_admin_sees_every_case_and_a_user_without_roles_none(
    gql, session, world: World, path: str
):
    # Given the scenario
    reach = build_reach(session, world, MEMBER)

    # When the global admin and a signed-in user without roles read cases through `path`
    everything = PATHS[path](gql, World.GLOBAL_ADMIN, reach, world)
    nothing = PATHS[path](gql, World.NOBODY, reach, world)

    # Then the global admin sees every case of every workgroup, the other user none
    assert_sees(everything, reach.home | reach.away)
    assert_sees(nothing, set())


def test_a_share_or_a_group_of_another_user_lets_nobody_else_in(gql, session, world: World):
    # Given the scenario around the member, where the colleague is shared "other share" and is
    # the only one in Tier 3, which has access to "other group"
    reach = build_reach(session, world, MEMBER)

    # When the colleague lists cases
    seen = seen_in_list(gql, COLLEAGUE, reach, world)

    # Then they see their share, their group's cases, and Tier 2's case (they are in it too) —
    # and the member, who was in none of these, sees neither of the colleague's
    assert_sees(seen, {"other share", "other group", "as contact", "via group"})
    member_titles, _ = seen_in_list(gql, MEMBER, reach, world)
    assert not member_titles & {"other share", "other group"}


@pytest.mark.parametrize("role", NON_OVERSEERS)
def test_each_way_in_alone_reaches_only_its_case(gql, session, world: World, role: str):
    # Given a user of Home with one case each way: through a group, a share, as primary contact
    viewer = World.email(role)
    grant(session, COLLEAGUE, "member", world.home)
    group = new_group(session, world.home, "Solo", (viewer,))
    by_group = new_case(session, world.home, "by group")
    give_access(session, by_group, group)
    by_share = new_case(session, world.home, "by share")
    share(session, by_share, viewer)
    new_case(session, world.home, "by contact", contact=viewer)
    new_case(session, world.home, "by nobody", by=COLLEAGUE)

    # When they list cases
    body = _checked(gql(viewer, SUPPORT_CASES, {"first": 100}))

    # Then each way in brought its own case, and the one they have no way into is absent
    titles = {edge["node"]["title"] for edge in body["supportCases"]["edges"]}
    assert titles == {"by group", "by share", "by contact"}
    assert body["supportCases"]["totalCount"] == 3


def test_a_case_reached_several_ways_is_listed_once(gql, session, world: World):
    # Given a case the member reaches through two groups, a share and as its primary contact
    group_a = new_group(session, world.home, "A", (MEMBER,))
    group_b = new_group(session, world.home, "B", (MEMBER,))
    case = new_case(session, world.home, "every way", contact=MEMBER)
    give_access(session, case, group_a)
    give_access(session, case, group_b)
    share(session, case, World.email("sales_agent"))
    share(session, case, MEMBER)

    # When they list cases
    connection = _checked(gql(MEMBER, SUPPORT_CASES, {"first": 100}))["supportCases"]

    # Then it is there once, and counted once
    assert [edge["node"]["title"] for edge in connection["edges"]] == ["every way"]
    assert connection["totalCount"] == 1


def test_each_customers_first_page_counts_all_its_visible_cases(gql, session, world: World):
    # Given a sales agent of Home who reaches two cases of customer 0 and one of customer 1
    viewer = World.email("sales_agent")
    reach = build_reach(session, world, viewer)

    # When they list customers with the first case of each
    data = _checked(gql(viewer, CUSTOMERS_CASES, {"first": 1}))["customers"]

    # Then each customer shows its newest case and counts all it has for them: 2, 1 and 0
    pages = {
        edge["node"]["id"]: (
            [case["node"]["title"] for case in edge["node"]["supportCases"]["edges"]],
            edge["node"]["supportCases"]["totalCount"],
        )
        for edge in data["edges"]
    }
    home0, home1, home2 = (gid(c) for c in world.home_customers)
    assert set(pages) == {home0, home1, home2}
    assert pages[home0] == (["via share"], 2)  # opened after "via group"
    assert pages[home1] == ([reach.as_contact.title], 1)
    assert pages[home2] == ([], 0)


# ------------------------------------------------------------------ losing and gaining access

LOSSES = {
    # name: (mutation, variables from the scenario, the titles the viewer loses)
    "unshareSupportCase": (
        UNSHARE,
        lambda r: {"caseId": gid(r.via_share), "email": r.viewer},
        {"via share"},
    ),
    "removeGroupMember": (
        REMOVE_MEMBER,
        lambda r: {"groupId": gid(r.tier2), "email": r.viewer},
        {"via group"},
    ),
    "revokeGroupAccess": (
        REVOKE_GROUP_ACCESS,
        lambda r: {"caseId": gid(r.via_group), "groupId": gid(r.tier2)},
        {"via group"},
    ),
}


@pytest.mark.parametrize("role", ["member", "sales_agent"])
@pytest.mark.parametrize("loss", list(LOSSES))
def test_losing_access_takes_effect_on_the_next_request(
    gql, session, world: World, loss: str, role: str
):
    # Given a user who sees the three cases they reach (read once, so anything cached is warm)
    viewer = World.email(role)
    reach = build_reach(session, world, viewer)
    assert_sees(seen_in_list(gql, viewer, reach, world), reach.reached)
    mutation, variables, lost = LOSSES[loss]

    # When an admin takes one way in away
    body = gql(ADMIN, mutation, variables(reach))
    assert _checked(body)[loss]["errors"] == []

    # Then the very next request of the viewer no longer shows the case, on any path
    remaining = reach.reached - lost
    assert_sees(seen_in_list(gql, viewer, reach, world), remaining)
    assert_sees(PATHS["supportCase"](gql, viewer, reach, world), remaining)
    assert_sees(PATHS["node"](gql, viewer, reach, world), remaining)


def test_losing_the_role_in_the_workgroup_hides_even_own_cases(gql, session, world: World):
    # Given a sales agent of Home who reaches three cases, one as primary contact
    viewer = World.email("sales_agent")
    reach = build_reach(session, world, viewer)
    assert_sees(seen_in_list(gql, viewer, reach, world), reach.reached)

    # When the admin revokes their role in Home
    body = gql(
        ADMIN,
        REVOKE_ROLE,
        {"email": viewer, "role": "SALES_AGENT", "workgroupId": gid(world.home)},
    )
    assert _checked(body)["revokeRole"]["errors"] == []

    # Then the next request shows them no case at all, not even the one they are contact of
    assert_sees(seen_in_list(gql, viewer, reach, world), set())
    assert_sees(PATHS["node"](gql, viewer, reach, world), set())


GAINS = {
    "shareSupportCase": (SHARE, lambda r: {"caseId": gid(r.unrelated), "email": r.viewer}),
    "addGroupMember": (ADD_MEMBER, lambda r: {"groupId": gid(r.tier3), "email": r.viewer}),
    "grantGroupAccess": (
        GRANT_GROUP_ACCESS,
        lambda r: {"caseId": gid(r.unrelated), "groupId": gid(r.tier2)},
    ),
}
GAINED = {
    "shareSupportCase": {"unrelated"},
    "addGroupMember": {"other group"},  # Tier 3 also has "as contact", reached already
    "grantGroupAccess": {"unrelated"},
}


@pytest.mark.parametrize("gain", list(GAINS))
def test_gaining_access_takes_effect_on_the_next_request(gql, session, world: World, gain: str):
    # Given a member who sees the three cases they reach
    reach = build_reach(session, world, MEMBER)
    assert_sees(seen_in_list(gql, MEMBER, reach, world), reach.reached)
    mutation, variables = GAINS[gain]

    # When an admin opens one more way in
    assert _checked(gql(ADMIN, mutation, variables(reach)))[gain]["errors"] == []

    # Then the next request shows the case too
    assert_sees(seen_in_list(gql, MEMBER, reach, world), reach.reached | GAINED[gain])


# ------------------------------------------------------------------ counts, pages, filters


def test_pages_of_a_members_list_cover_exactly_the_visible_cases(gql, session, world: World):
    # Given the scenario around the member
    reach = build_reach(session, world, MEMBER)

    # When they read their cases one per page
    titles, counts, after = [], set(), None
    for _ in range(10):
        connection = _checked(gql(MEMBER, SUPPORT_CASES, {"first": 1, "after": after}))[
            "supportCases"
        ]
        titles += [edge["node"]["title"] for edge in connection["edges"]]
        counts.add(connection["totalCount"])
        after = connection["pageInfo"]["endCursor"]
        if not connection["pageInfo"]["hasNextPage"]:
            break

    # Then three pages hold the three visible cases, and every page states a total of three
    assert sorted(titles) == sorted(reach.reached)
    assert counts == {3}


@pytest.mark.parametrize(
    ("email", "variables", "expected"),
    [
        (MEMBER, {"search": "group"}, {"via group"}),
        (ADMIN, {"search": "group"}, {"via group", "other group"}),
        (World.email("sales_agent"), {"search": "share"}, {"via share"}),
        (MEMBER, {"status": "CLOSED"}, {"via share"}),
        (ADMIN, {"status": "CLOSED"}, {"via share", "unrelated"}),
        (MEMBER, {"workgroupId": "away"}, set()),
        (MEMBER, {"workgroupId": "home"}, {"via group", "via share", "as contact"}),
        (World.GLOBAL_ADMIN, {"workgroupId": "away"}, "away"),
    ],
    ids=[
        "member-search",
        "admin-search",
        "sales-search",
        "member-closed",
        "admin-closed",
        "member-away",
        "member-home",
        "global-away",
    ],
)
def test_filters_narrow_within_the_visible_cases(
    gql, session, world: World, email: str, variables: dict, expected
):
    # Given the scenario (the viewer being `email` where that is a non-overseer), with
    # "via share" and "unrelated" closed
    viewer = email if email not in (ADMIN, World.GLOBAL_ADMIN) else MEMBER
    reach = build_reach(session, world, viewer)
    for case in (reach.via_share, reach.unrelated):
        assert (
            _checked(gql(ADMIN, CLOSE, {"caseId": gid(case)}))["closeSupportCase"]["errors"] == []
        )
    if "workgroupId" in variables:
        named = world.home if variables["workgroupId"] == "home" else world.away
        variables = {"workgroupId": gid(named)}

    # When they list cases with the filter
    connection = _checked(gql(email, SUPPORT_CASES, {"first": 100, **variables}))["supportCases"]

    # Then the filter applies within what they may see, and the count follows
    titles = {edge["node"]["title"] for edge in connection["edges"]}
    wanted = reach.away if expected == "away" else expected
    assert titles == wanted
    assert connection["totalCount"] == len(wanted)


# ------------------------------------------------------------------ who else has access


def _who_else(node: dict) -> tuple[list[str] | None, list[str] | None]:
    shared = node["sharedWith"]
    groups = node["groupsWithAccess"]
    return (
        None if shared is None else [u["email"] for u in shared],
        None if groups is None else [g["name"] for g in groups],
    )


@pytest.mark.parametrize("role", NON_OVERSEERS)
def test_who_else_has_access_is_forbidden_on_cases_reached_but_not_owned(
    gql, session, world: World, role: str
):
    # Given a user of Home who reaches three cases, being primary contact of one
    viewer = World.email(role)
    reach = build_reach(session, world, viewer)

    # When they list the cases with who else has access
    body = gql(viewer, WHO_ELSE)

    # Then on their own case they read it; on the others both fields are null, each with a
    # FORBIDDEN error at its path, and the titles are intact
    edges = body["data"]["supportCases"]["edges"]
    by_title = {edge["node"]["title"]: (i, edge["node"]) for i, edge in enumerate(edges)}
    assert set(by_title) == reach.reached
    assert _who_else(by_title["as contact"][1]) == ([COLLEAGUE], ["Tier 3"])
    expected_errors = {}
    for title in ("via group", "via share"):
        index, node = by_title[title]
        assert _who_else(node) == (None, None)
        for field in ("sharedWith", "groupsWithAccess"):
            expected_errors[("supportCases", "edges", index, "node", field)] = "FORBIDDEN"
    assert errors_at(body) == expected_errors


@pytest.mark.parametrize("role", OVERSEERS)
def test_admins_and_support_viewers_read_who_else_has_access(gql, session, world: World, role: str):
    # Given the scenario around the member
    reach = build_reach(session, world, MEMBER)

    # When an admin or support viewer lists Home's cases with who else has access
    body = gql(World.email(role), WHO_ELSE)

    # Then every case tells who it is shared with and which groups have access
    found = {
        edge["node"]["title"]: _who_else(edge["node"])
        for edge in _checked(body)["supportCases"]["edges"]
    }
    assert found == {
        "via group": ([], ["Tier 2"]),
        "via share": ([MEMBER], []),
        "as contact": ([COLLEAGUE], ["Tier 3"]),
        "unrelated": ([], []),
        "other group": ([], ["Tier 3"]),
        "other share": ([COLLEAGUE], []),
    }
    assert set(found) == reach.home


@pytest.mark.parametrize(
    ("title", "readable"), [("as contact", True), ("via share", False), ("via group", False)]
)
def test_who_else_has_access_by_id_follows_the_primary_contact(
    gql, session, world: World, title: str, readable: bool
):
    # Given a member of Home who reaches three cases, primary contact of "as contact"
    reach = build_reach(session, world, MEMBER)

    # When they read one case by id, through supportCase and node
    body = gql(MEMBER, WHO_ELSE_BY_ID, {"id": gid(reach.titled(title))})

    # Then who else has access is theirs to read only on their own case; elsewhere it is null
    # with FORBIDDEN at each path, and the title is still there
    for root in ("supportCase", "node"):
        node = body["data"][root]
        assert node["title"] == title
        if readable:
            assert _who_else(node) == ([COLLEAGUE], ["Tier 3"])
        else:
            assert _who_else(node) == (None, None)
    expected = (
        {}
        if readable
        else {
            (root, field): "FORBIDDEN"
            for root in ("supportCase", "node")
            for field in ("sharedWith", "groupsWithAccess")
        }
    )
    assert errors_at(body) == expected


def test_roles_that_differ_between_workgroups_decide_per_case(gql, session, world: World):
    # Given the admin of Away who is also a plain member of Home, shared one Home case and
    # primary contact of another
    reach = build_reach(session, world, MEMBER)
    grant(session, World.ADMIN_AWAY, "member", world.home)
    share(session, reach.unrelated, World.ADMIN_AWAY)
    new_case(session, world.home, "mixed contact", contact=World.ADMIN_AWAY)

    # When they list cases with who else has access
    body = gql(World.ADMIN_AWAY, WHO_ELSE)

    # Then they see all of Away and the two Home cases; who else has access is readable on
    # Away's cases (admin there) and on their own Home case, forbidden on the shared one
    edges = body["data"]["supportCases"]["edges"]
    titles = [edge["node"]["title"] for edge in edges]
    assert set(titles) == reach.away | {"unrelated", "mixed contact"}
    forbidden_rows = {path[2] for path, code in errors_at(body).items() if code == "FORBIDDEN"}
    assert {titles[i] for i in forbidden_rows} == {"unrelated"}
    assert len(errors_at(body)) == 2
    assert _who_else(edges[titles.index("away via share")]["node"]) == (["member@home.example"], [])
    assert _who_else(edges[titles.index("mixed contact")]["node"]) == ([], [])


# ------------------------------------------------------------------ groups by id

GROUP_NODE = """
query($id: ID!) { node(id: $id) { id ... on Group { name } } }
"""


@pytest.mark.parametrize(
    ("email", "visible"),
    [(ADMIN, True), (World.GLOBAL_ADMIN, True), (World.ADMIN_AWAY, False), (World.NOBODY, False)],
    ids=["admin", "global_admin", "admin_away", "nobody"],
)
def test_a_group_is_a_node_its_workgroup_admins_fetch_by_id(
    gql, session, world: World, email: str, visible: bool
):
    # Given a group of Home (Group implements Node: "fetchable by node(id:)")
    group = new_group(session, world.home, "Tier 2", (MEMBER,))

    # When a user asks for it by its global id
    body = gql(email, GROUP_NODE, {"id": gid(group)})

    # Then Home's admins get it; a user of no role in Home gets null, like for no group
    assert "errors" not in body
    expected = {"id": gid(group), "name": "Tier 2"} if visible else None
    assert body["data"]["node"] == expected


# ------------------------------------------------------------------ cost


def add_member_cases(
    session: Session, world: World, team: UserGroup, viewer: str, titles: range
) -> None:
    """Cases of Home the viewer reaches, in turn as primary contact, through a share and through
    `team`; each also shared with the colleague and linked to one of Home's customers."""
    customers = world.home_customers
    for index in titles:
        way = index % 3
        case = new_case(
            session,
            world.home,
            f"cost {index}",
            contact=viewer if way == 0 else None,
            customer=customers[index % len(customers)],
        )
        share(session, case, COLLEAGUE)
        if way == 1:
            share(session, case, viewer)
        if way == 2:
            give_access(session, case, team)


def measure(gql: GraphQLClient, engine: Engine, authorizer, email: str) -> tuple[int, int, dict]:
    authorizer.clear_cache()
    evaluations_before = authorizer.evaluations
    with counting_statements(engine) as statements:
        body = gql(email, MEMBER_CASE_LIST)
    return len(statements), authorizer.evaluations - evaluations_before, body


def test_a_members_case_list_costs_the_same_for_5_cases_as_for_150(
    gql, engine, authorizer, session, world: World
):
    # Given a member of Home who reaches 5 cases (each way in, with customers and shares)
    grant(session, COLLEAGUE, "member", world.home)
    team = new_group(session, world.home, "Cost team", (MEMBER,))
    add_member_cases(session, world, team, MEMBER, range(0, 5))

    # When they list them with contact, customer, shares and groups
    small = measure(gql, engine, authorizer, MEMBER)

    # and again once they reach 150
    add_member_cases(session, world, team, MEMBER, range(5, 150))
    large = measure(gql, engine, authorizer, MEMBER)

    # Then both requests cost the same SQL statements and Casbin evaluations
    assert len(small[2]["data"]["supportCases"]["edges"]) == 5
    assert len(large[2]["data"]["supportCases"]["edges"]) == 150
    assert small[:2] == large[:2]
    # and the answer is complete: a member reads no customer, but every contact and, on their
    # own cases, who else has access
    nodes = [edge["node"] for edge in large[2]["data"]["supportCases"]["edges"]]
    assert all(node["customer"] is None for node in nodes)
    own = [n for n in nodes if n["primaryContact"]["email"] == MEMBER]
    assert len(own) == 50
    assert all(n["sharedWith"] == [{"email": COLLEAGUE}] for n in own)


# ------------------------------------------------------------------ the plan on PostgreSQL

BULK_CASES = 100_000
BULK_USERS = 1_000
BULK_GROUPS = 50
EXISTS_TABLES = {"case_share", "case_group_access", "group_member"}


def _plan_nodes(plan: dict, inside_subplan: str | None = None):
    """(node, name of the innermost enclosing sub-plan or None) for every node of the plan."""
    name = plan.get("Subplan Name") if plan.get("Parent Relationship") == "SubPlan" else None
    enclosing = name or inside_subplan
    yield plan, enclosing
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child, enclosing)


def hashed_subplans(plan: Any) -> set[str]:
    """Names of the sub-plans the plan's expressions probe as hash tables ("hashed SubPlan 2"
    in a Filter): such a sub-plan runs once per query, not once per row."""
    if isinstance(plan, dict):
        return set().union(*(hashed_subplans(value) for value in plan.values()))
    if isinstance(plan, list):
        return set().union(*(hashed_subplans(value) for value in plan))
    if isinstance(plan, str):
        return set(re.findall(r"hashed (SubPlan \d+)", plan))
    return set()


def per_case_scans(plan: dict) -> list[tuple[str, str, str | None, int]]:
    """Sequential scans of the member rule's tables that run once per case: inside a sub-plan
    that is not hashed, or looped more often than parallel workers would."""
    hashed = hashed_subplans(plan)
    found = []
    for node, subplan in _plan_nodes(plan):
        if node.get("Relation Name") not in EXISTS_TABLES or node["Node Type"] != "Seq Scan":
            continue
        correlated = subplan is not None and subplan not in hashed
        correlated = correlated and not subplan.startswith("hashed")
        loops = node.get("Actual Loops", 1)
        if correlated or loops > 4:
            found.append((node["Node Type"], node["Relation Name"], subplan, loops))
    return found


def bulk_load(session: Session, home: Workgroup, away: Workgroup) -> None:
    """1,000 users, all members of Home; 50 groups of 20; 100,000 cases (a tenth in Away), each
    with a primary contact, two shares and one group given access."""
    statements = [
        "INSERT INTO app_user (email, created_at)"
        " SELECT 'bulk' || g || '@bulk.example', now() FROM generate_series(1, :users) g",
        "INSERT INTO role_assignment (user_id, workgroup_id, role, created_at)"
        " SELECT id, :home, 'member', now() FROM app_user WHERE email LIKE '%@bulk.example'",
        "INSERT INTO user_group (workgroup_id, name)"
        " SELECT :home, 'Bulk ' || g FROM generate_series(1, :groups) g",
        "INSERT INTO group_member (group_id, user_id, workgroup_id)"
        " SELECT gr.id, u.id, gr.workgroup_id FROM app_user u JOIN user_group gr"
        "   ON gr.name = 'Bulk ' || (1 + u.id % :groups)"
        " WHERE u.email LIKE '%@bulk.example'",
        "INSERT INTO support_case (workgroup_id, number, title, status, severity, classification,"
        "   primary_contact_id, created_at)"
        " SELECT CASE WHEN g % 10 = 0 THEN :away ELSE :home END, g, 'Bulk case ' || g,"
        "   CASE WHEN g % 4 = 0 THEN 'CLOSED' ELSE 'OPEN' END, 'MODERATE', 'STANDARD',"
        "   :first_user + g % :users,"
        "   now() - g * interval '1 minute'"
        " FROM generate_series(1, :cases) g",
        "INSERT INTO case_share (case_id, user_id, workgroup_id)"
        " SELECT c.id, :first_user + (c.id * 7) % (:users / 2), c.workgroup_id"
        " FROM support_case c"
        " UNION ALL"
        " SELECT c.id, :first_user + :users / 2 + (c.id * 13) % (:users / 2), c.workgroup_id"
        " FROM support_case c",
        "INSERT INTO case_group_access (case_id, group_id, workgroup_id)"
        " SELECT c.id, :first_group + c.id % :groups, c.workgroup_id FROM support_case c",
    ]
    values = {
        "users": BULK_USERS,
        "groups": BULK_GROUPS,
        "cases": BULK_CASES,
        "home": home.id,
        "away": away.id,
    }
    # The rows are consistent by construction: skip the per-row foreign-key triggers while
    # loading, where allowed (this transaction only; it takes a superuser).
    if session.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar():
        session.execute(text("SET LOCAL session_replication_role = replica"))
    for statement in statements:
        if ":first_user" in statement:
            values["first_user"] = session.execute(
                text("SELECT min(id) FROM app_user WHERE email LIKE '%@bulk.example'")
            ).scalar_one()
        if ":first_group" in statement:
            values["first_group"] = session.execute(
                text("SELECT min(id) FROM user_group WHERE name LIKE 'Bulk %'")
            ).scalar_one()
        session.execute(text(statement), values)
    session.commit()
    for table in ("app_user", "role_assignment", "user_group", "group_member", "support_case"):
        session.execute(text(f"ANALYZE {table}"))
    session.execute(text("ANALYZE case_share"))
    session.execute(text("ANALYZE case_group_access"))
    session.commit()


REACHED_BY_UNION = """
SELECT count(*) FROM (
  SELECT id FROM support_case WHERE primary_contact_id = :user AND workgroup_id = :home
  UNION SELECT s.case_id FROM case_share s JOIN support_case c ON c.id = s.case_id
    WHERE s.user_id = :user AND c.workgroup_id = :home
  UNION SELECT a.case_id FROM case_group_access a
    JOIN group_member m ON m.group_id = a.group_id
    JOIN support_case c ON c.id = a.case_id
    WHERE m.user_id = :user AND c.workgroup_id = :home
) reached
"""


def best_time(session: Session, statement, *, jit: bool) -> float:
    """Seconds of the fastest of three runs, with PostgreSQL's JIT compilation on or off."""
    best = float("inf")
    session.execute(text(f"SET LOCAL jit = {'on' if jit else 'off'}"))
    for _ in range(3):
        begun = time.perf_counter()
        session.execute(statement).all()
        best = min(best, time.perf_counter() - begun)
    session.rollback()
    return best


def executed_sql(engine, session, statement) -> tuple[str, Any]:
    """The SQL and parameters `session` sends for `statement` (its restriction included)."""
    sent: list[tuple[str, Any]] = []

    def keep(_conn, _cursor, sql, parameters, _context, _executemany):
        sent.append((sql, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        session.execute(statement).all()
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    return sent[-1]


def test_member_case_list_plan_on_100k_cases_probes_indexes_not_scans(
    request, engine, session, authorizer
):
    if request.config.getoption("--db") != "postgresql":
        pytest.skip("EXPLAIN (FORMAT JSON) plans are PostgreSQL's; run with --db postgresql")
    # Given 100,000 cases and 1,000 users, and one member of Home among them
    started = time.perf_counter()
    home = make_workgroup(session, "Bulk home")
    away = make_workgroup(session, "Bulk away")
    bulk_load(session, home, away)
    loaded = time.perf_counter() - started

    # When the member's case list is built as the app builds it (a session restricted to the
    # viewer adds the row rule; order, page) and the SQL it runs is explained
    viewer, _, _scope = open_viewer(session, "bulk7@bulk.example", authorizer)
    query = case_query()
    page = query.order_by(*CASE_ORDER).offset(0).limit(51)
    count = select(func.count()).select_from(query.subquery())
    plans = {}
    for name, statement in (("page", page), ("count", count)):
        sql, parameters = executed_sql(engine, session, statement)
        plans[name] = (
            session.connection()
            .exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, parameters)
            .scalar_one()
        )
        if isinstance(plans[name], str):
            plans[name] = json.loads(plans[name])

    # and timed as the app runs it (warm: best of three), with the server's JIT setting and off
    timings = {
        name: (best_time(session, statement, jit=True), best_time(session, statement, jit=False))
        for name, statement in (("page", page), ("count", count))
    }
    visible = session.execute(count).scalar_one()
    reached = session.execute(
        text(REACHED_BY_UNION), {"user": viewer.id, "home": home.id}
    ).scalar_one()

    # Then neither plan scans case_share, case_group_access or group_member once per case: the
    # EXISTS sub-plans are index probes or hashed sub-plans run once
    report = []
    for name, explained in plans.items():
        root = explained[0]["Plan"]
        nodes = [node for node, _ in _plan_nodes(root)]
        touched = {n.get("Relation Name") for n in nodes} & EXISTS_TABLES
        assert touched == EXISTS_TABLES, f"{name}: the member rule is not in the plan"
        assert per_case_scans(root) == [], json.dumps(explained, indent=1)
        report.append(
            f"{name}: cost {root['Total Cost']:.0f}, estimated {root['Plan Rows']} rows;"
            f" {explained[0]['Execution Time']:.1f} ms in EXPLAIN ANALYZE"
            f" (JIT {explained[0].get('JIT', {}).get('Timing', {}).get('Total', 0):.1f} ms);"
            f" through SQLAlchemy {timings[name][0] * 1000:.1f} ms,"
            f" {timings[name][1] * 1000:.1f} ms with jit=off; scans: "
            + ", ".join(
                sorted(
                    {
                        f"{n['Node Type']} on {n['Relation Name']}"
                        + (f" [{s}]" if s else "")
                        + f" x{n.get('Actual Loops', 1)}"
                        for n, s in _plan_nodes(root)
                        if "Relation Name" in n
                    }
                )
            )
        )
    # and the rule admits exactly what it reaches, counted independently
    assert visible == reached
    assert 0 < visible < BULK_CASES // 10
    print(f"\nbulk load {loaded:.1f} s; member sees {visible} of {BULK_CASES} cases")
    print("\n".join(report))
    request.node.user_properties.append(("plan", report))
