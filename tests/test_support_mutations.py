"""Changing support cases and groups (docs/permissions.md): opening (any role in the workgroup),
closing and sharing (admins, support viewers, the primary contact), group access to a case
(admins, support viewers), groups and their members (admins).

A refused mutation answers FORBIDDEN and changes nothing: every support table and the activity
log are compared before and after. A case or group the actor may not see answers exactly like
an id that names nothing. Every successful mutation writes exactly one activity record.
"""

import datetime as dt
import threading
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from graph.ids import encode_id
from models.access.roles import revoke_role
from models.core.enums import CaseClassification, CaseSeverity, Role
from models.support.operations import open_case
from tests.conftest import ROLES, GraphQLClient, World, without_request_ids
from tests.support_factories import (
    COLLEAGUE,
    Reach,
    activity_since,
    build_reach,
    gid,
    last_activity_id,
    share,
    snapshot,
    user,
)

OPEN = """
mutation($input: OpenSupportCaseInput!) {
  openSupportCase(input: $input) {
    supportCase {
      id number title status severity classification primaryContact { email }
      customer { companyName }
    }
    errors { field code }
  }
}
"""
CLOSE = """
mutation($caseId: ID!) {
  closeSupportCase(caseId: $caseId) {
    supportCase { id title status closedAt } errors { field code }
  }
}
"""
SHARE = """
mutation($caseId: ID!, $email: String!) {
  shareSupportCase(caseId: $caseId, email: $email) {
    supportCase { id title sharedWith { email } } errors { field code }
  }
}
"""
UNSHARE = """
mutation($caseId: ID!, $email: String!) {
  unshareSupportCase(caseId: $caseId, email: $email) {
    supportCase { id title sharedWith { email } } errors { field code }
  }
}
"""
GRANT_GROUP_ACCESS = """
mutation($caseId: ID!, $groupId: ID!) {
  grantGroupAccess(caseId: $caseId, groupId: $groupId) {
    supportCase { id title groupsWithAccess { name } } errors { field code }
  }
}
"""
REVOKE_GROUP_ACCESS = """
mutation($caseId: ID!, $groupId: ID!) {
  revokeGroupAccess(caseId: $caseId, groupId: $groupId) {
    supportCase { id title groupsWithAccess { name } } errors { field code }
  }
}
"""
CREATE_GROUP = """
mutation($workgroupId: ID!, $name: String!) {
  createGroup(workgroupId: $workgroupId, name: $name) { group { id name } errors { field code } }
}
"""
ADD_MEMBER = """
mutation($groupId: ID!, $email: String!) {
  addGroupMember(groupId: $groupId, email: $email) {
    group { id name members { email } } errors { field code }
  }
}
"""
REMOVE_MEMBER = """
mutation($groupId: ID!, $email: String!) {
  removeGroupMember(groupId: $groupId, email: $email) {
    group { id name members { email } } errors { field code }
  }
}
"""
CASE_TITLES = """
query { supportCases(first: 100) { totalCount edges { node { title } } } }
"""

ADMIN = World.email("admin")
MEMBER = World.email("member")
SALES = World.email("sales_agent")
NON_OVERSEERS = ["member", "admin_agent", "sales_agent", "customer_activity", "training_manager"]
NOT_ADMINS = [role for role in ROLES if role != "admin"]
MISSING_CASE = encode_id("SupportCase", 999999)
MISSING_GROUP = encode_id("Group", 999999)
MISSING_WORKGROUP = encode_id("Workgroup", 999999)
NOT_AN_ID = "not-an-id"
# Who acts, by a short name used in test ids; "primary_contact" is the member of `reach`, on
# the case "as contact".
ACTORS = {
    "admin": ADMIN,
    "support_viewer": World.email("support_viewer"),
    "global_admin": World.GLOBAL_ADMIN,
    "primary_contact": MEMBER,
}
# E-mail addresses that name no user holding a role in Home.
STRANGERS = {
    "unknown": "stranger@nowhere.example",
    "no role": World.NOBODY,
    "role elsewhere": World.ADMIN_AWAY,
}


@pytest.fixture
def reach(session: Session, world: World) -> Reach:
    """The scenario of tests/support_factories.build_reach around Home's member."""
    return build_reach(session, world, MEMBER)


def errors_at(body: dict[str, Any]) -> dict[tuple, str | None]:
    return {
        tuple(error.get("path") or ()): (error.get("extensions") or {}).get("code")
        for error in body.get("errors", [])
    }


def payload(body: dict[str, Any], mutation: str) -> dict[str, Any]:
    """The payload of a mutation that ran without GraphQL errors."""
    assert "errors" not in body, body["errors"]
    return body["data"][mutation]


def succeeded(body: dict[str, Any], mutation: str) -> dict[str, Any]:
    found = payload(body, mutation)
    assert found["errors"] == []
    return found


def assert_refused(body: dict[str, Any], mutation: str) -> None:
    """FORBIDDEN at the mutation's path, and no data for it."""
    assert body["data"] is None
    assert errors_at(body) == {(mutation,): "FORBIDDEN"}


def assert_user_error(body: dict[str, Any], mutation: str, field: str, code: str) -> None:
    found = payload(body, mutation)
    assert found["errors"] == [{"field": field, "code": code}]
    assert all(value is None for key, value in found.items() if key != "errors")


def assert_one_record(
    engine: Engine,
    since: int,
    action: str,
    target_type: str,
    target_id: int,
    actor: str,
    wg: int,
    values: str = "after",
) -> dict:
    """Exactly one activity record was written since `since`, and it is this one; returns its
    `after` values, or with values="before" those of a removal, which has no `after`."""
    records = activity_since(engine, since)
    assert [record[:5] for record in records] == [(action, target_type, target_id, actor, wg)]
    before, after = records[0][5:]
    if values == "before":
        assert after is None
        return before
    return after


def titles_seen(gql: GraphQLClient, email: str) -> set[str]:
    data = payload(gql(email, CASE_TITLES), "supportCases")
    return {edge["node"]["title"] for edge in data["edges"]}


def open_input(world: World, **values: Any) -> dict[str, Any]:
    return {"input": {"workgroupId": gid(world.home), "title": "Printer on fire", **values}}


# ------------------------------------------------------------------ opening


@pytest.mark.parametrize("email", [World.email(r) for r in ROLES] + [World.GLOBAL_ADMIN])
def test_any_role_of_the_workgroup_opens_a_case_as_its_primary_contact(
    gql, engine, world: World, email: str
):
    # Given a user holding a role in Home (or a global admin)
    before = last_activity_id(engine)

    # When they open a case there
    body = gql(email, OPEN, open_input(world, severity="HIGH", description="Smoke"))

    # Then it is case 1 of Home, open, standard, with the opener as its primary contact
    case = succeeded(body, "openSupportCase")["supportCase"]
    assert case["number"] == 1
    assert (case["title"], case["status"], case["severity"]) == ("Printer on fire", "OPEN", "HIGH")
    assert case["classification"] == "STANDARD"
    assert case["primaryContact"] == {"email": email}
    assert [row[2:4] for row in snapshot(engine).cases] == [(1, "Printer on fire")]
    # and one activity record tells who opened it
    case_id = snapshot(engine).cases[0][0]
    after = assert_one_record(engine, before, "case.open", "SupportCase", case_id, email, 1)
    assert after == {"number": 1, "title": "Printer on fire", "primaryContact": email}
    # and the opener sees it from now on
    assert titles_seen(gql, email) == {"Printer on fire"}


def test_case_numbers_count_up_per_workgroup(gql, world: World):
    # Given nothing opened yet
    def open_in(email: str, workgroup) -> int:
        variables = {"input": {"workgroupId": gid(workgroup), "title": "T", "severity": "LOW"}}
        return succeeded(gql(email, OPEN, variables), "openSupportCase")["supportCase"]["number"]

    # When cases are opened in Home and Away, by different users, interleaved
    numbers = [
        open_in(ADMIN, world.home),
        open_in(MEMBER, world.home),
        open_in(World.ADMIN_AWAY, world.away),
        open_in(World.GLOBAL_ADMIN, world.home),
        open_in(World.GLOBAL_ADMIN, world.away),
    ]

    # Then each workgroup counts its own cases from 1
    assert numbers == [1, 2, 1, 3, 2]


def test_the_opener_names_another_user_of_the_workgroup_as_primary_contact(
    gql, engine, world: World
):
    # Given a member and a sales agent of Home
    before = last_activity_id(engine)

    # When the member opens a case naming the sales agent (spelled loosely) as primary contact
    variables = open_input(world, severity="LOW", primaryContactEmail="  Sales_Agent@HOME.example ")
    body = gql(MEMBER, OPEN, variables)

    # Then the sales agent is its primary contact, and the record names the member as actor
    case = succeeded(body, "openSupportCase")["supportCase"]
    assert case["primaryContact"] == {"email": SALES}
    case_id = snapshot(engine).cases[0][0]
    after = assert_one_record(engine, before, "case.open", "SupportCase", case_id, MEMBER, 1)
    assert after["primaryContact"] == SALES
    # and by the member rule the sales agent sees it, the member (no longer involved) does not
    assert titles_seen(gql, SALES) == {"Printer on fire"}
    assert titles_seen(gql, MEMBER) == set()


@pytest.mark.parametrize("stranger", list(STRANGERS))
def test_the_primary_contact_must_hold_a_role_in_the_workgroup(
    gql, engine, world: World, stranger: str
):
    # Given the tables as they are
    before = snapshot(engine)

    # When the admin opens a case naming someone who holds no role in Home
    body = gql(
        ADMIN, OPEN, open_input(world, severity="LOW", primaryContactEmail=STRANGERS[stranger])
    )

    # Then a NOT_FOUND user error on primaryContactEmail, and nothing changed
    assert_user_error(body, "openSupportCase", "primaryContactEmail", "NOT_FOUND")
    assert snapshot(engine) == before


@pytest.mark.parametrize("email", [World.NOBODY, World.ADMIN_AWAY], ids=["nobody", "admin_away"])
def test_outsiders_open_nothing_in_home_as_if_it_did_not_exist(
    gql, engine, world: World, email: str
):
    # Given the tables as they are
    before = snapshot(engine)

    # When a user without a role in Home opens a case there, and in a workgroup that is not
    body = gql(email, OPEN, open_input(world, severity="LOW"))
    elsewhere = open_input(world, severity="LOW")
    elsewhere["input"]["workgroupId"] = MISSING_WORKGROUP
    missing = gql(email, OPEN, elsewhere)

    # Then the answers are the same — FORBIDDEN for one who may open cases nowhere, else a
    # NOT_FOUND user error on workgroupId — and nothing changed
    assert without_request_ids(body) == without_request_ids(missing)
    if "errors" in body:
        assert_refused(body, "openSupportCase")
    else:
        assert_user_error(body, "openSupportCase", "workgroupId", "NOT_FOUND")
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    ("values", "field"),
    [({"title": "   "}, "title"), ({"title": "x" * 201}, "title")],
    ids=["blank title", "long title"],
)
def test_an_invalid_case_is_a_user_error_and_changes_nothing(
    gql, engine, world: World, values: dict, field: str
):
    # Given the tables as they are
    before = snapshot(engine)

    # When the admin opens a case with a bad title
    body = gql(ADMIN, OPEN, {"input": {**open_input(world)["input"], "severity": "LOW", **values}})

    # Then a user error on the field, and nothing changed
    found = payload(body, "openSupportCase")
    assert found["supportCase"] is None
    assert [error["field"] for error in found["errors"]] == [field]
    assert snapshot(engine) == before


def test_a_case_links_a_visible_customer_of_its_workgroup(gql, engine, world: World):
    # Given a customer of Home
    customer = world.home_customers[0]

    # When the admin opens a case for it
    body = gql(ADMIN, OPEN, open_input(world, severity="LOW", customerId=gid(customer)))

    # Then the case names the customer
    case = succeeded(body, "openSupportCase")["supportCase"]
    assert case["customer"] == {"companyName": customer.company_name}


@pytest.mark.parametrize(
    ("email", "customer"),
    [(MEMBER, "home"), (ADMIN, "away"), (World.GLOBAL_ADMIN, "away")],
    ids=["member-home-customer", "admin-away-customer", "global-admin-away-customer"],
)
def test_a_case_cannot_link_a_customer_invisible_or_of_another_workgroup(
    gql, engine, world: World, email: str, customer: str
):
    # Given a customer the opener may not see, or one of another workgroup than the case's
    target = world.home_customers[0] if customer == "home" else world.away_customers[0]
    before = snapshot(engine)

    # When they open a case in Home linked to it
    body = gql(email, OPEN, open_input(world, severity="LOW", customerId=gid(target)))

    # Then a NOT_FOUND user error on customerId, and nothing changed
    assert_user_error(body, "openSupportCase", "customerId", "NOT_FOUND")
    assert snapshot(engine) == before


# ------------------------------------------------------------------ closing


@pytest.mark.parametrize("actor", list(ACTORS))
def test_admins_support_viewers_and_the_primary_contact_close_a_case(
    gql, engine, reach: Reach, world: World, actor: str
):
    # Given the case "as contact", whose primary contact is the member
    before = last_activity_id(engine)

    # When one allowed closes it
    body = gql(ACTORS[actor], CLOSE, {"caseId": gid(reach.as_contact)})

    # Then it is closed, with a time, in the answer and in the table
    case = succeeded(body, "closeSupportCase")["supportCase"]
    assert (case["title"], case["status"]) == ("as contact", "CLOSED")
    assert case["closedAt"] is not None
    row = next(row for row in snapshot(engine).cases if row[0] == reach.as_contact.id)
    assert row[4] == "CLOSED" and row[6] is not None
    # and one activity record says so
    after = assert_one_record(
        engine,
        before,
        "case.close",
        "SupportCase",
        reach.as_contact.id,  # type: ignore[arg-type]
        ACTORS[actor],
        world.home.id,  # type: ignore[arg-type]
    )
    assert after["status"] == "CLOSED"
    assert after == {"status": "CLOSED", "closedAt": after["closedAt"]}
    assert dt.datetime.fromisoformat(after["closedAt"]) == dt.datetime.fromisoformat(
        case["closedAt"]
    )


@pytest.mark.parametrize("way", ["via share", "via group"])
@pytest.mark.parametrize("role", NON_OVERSEERS)
def test_a_user_who_only_sees_a_case_may_not_close_it(
    gql, engine, session, world: World, role: str, way: str
):
    # Given a user of Home who sees a case through a share or a group, not as primary contact
    viewer = World.email(role)
    reach = build_reach(session, world, viewer)
    before = snapshot(engine)

    # When they close it
    body = gql(viewer, CLOSE, {"caseId": gid(reach.titled(way))})

    # Then FORBIDDEN, and nothing changed
    assert_refused(body, "closeSupportCase")
    assert snapshot(engine) == before


def test_closing_a_closed_case_is_a_user_error(gql, engine, reach: Reach):
    # Given a case closed once
    succeeded(gql(ADMIN, CLOSE, {"caseId": gid(reach.unrelated)}), "closeSupportCase")
    before = snapshot(engine)

    # When it is closed again
    body = gql(ADMIN, CLOSE, {"caseId": gid(reach.unrelated)})

    # Then an INVALID user error, and nothing changed (no second record either)
    found = payload(body, "closeSupportCase")
    assert found["supportCase"] is None
    assert [error["code"] for error in found["errors"]] == ["INVALID"]
    assert snapshot(engine) == before


# ------------------------------------------------------------------ ids that name nothing visible

# mutation name -> (document, variables for a case id, given the scenario)
ON_A_CASE = {
    "closeSupportCase": (CLOSE, lambda r, case_id: {"caseId": case_id}),
    "shareSupportCase": (SHARE, lambda r, case_id: {"caseId": case_id, "email": SALES}),
    "unshareSupportCase": (UNSHARE, lambda r, case_id: {"caseId": case_id, "email": COLLEAGUE}),
    "grantGroupAccess": (
        GRANT_GROUP_ACCESS,
        lambda r, case_id: {"caseId": case_id, "groupId": gid(r.tier2)},
    ),
    "revokeGroupAccess": (
        REVOKE_GROUP_ACCESS,
        lambda r, case_id: {"caseId": case_id, "groupId": gid(r.tier3)},
    ),
}


@pytest.mark.parametrize("mutation", list(ON_A_CASE))
@pytest.mark.parametrize(
    ("email", "title"),
    [
        (MEMBER, "other share"),  # a case of Home the member has no way into
        (World.ADMIN_AWAY, "other share"),  # a case of a workgroup they hold no role in
        (World.NOBODY, "other share"),
        (ADMIN, "away via share"),  # a case of Away, for Home's admin
    ],
    ids=["member", "admin_away", "nobody", "admin-on-away"],
)
def test_an_invisible_case_answers_like_a_missing_one(
    gql, engine, reach: Reach, mutation: str, email: str, title: str
):
    # Given a case the actor may not see, and the tables as they are
    document, variables = ON_A_CASE[mutation]
    before = snapshot(engine)

    # When they act on it, on an id of no case, and on a string that is no id
    invisible = gql(email, document, variables(reach, gid(reach.titled(title))))
    missing = gql(email, document, variables(reach, MISSING_CASE))
    garbage = gql(email, document, variables(reach, NOT_AN_ID))

    # Then the three answers are the same — FORBIDDEN where the actor may do this nowhere,
    # else a NOT_FOUND user error on caseId — and nothing changed
    assert (
        without_request_ids(invisible)
        == without_request_ids(missing)
        == without_request_ids(garbage)
    )
    if "errors" in invisible:
        assert_refused(invisible, mutation)
    else:
        assert_user_error(invisible, mutation, "caseId", "NOT_FOUND")
    assert snapshot(engine) == before


# ------------------------------------------------------------------ sharing


@pytest.mark.parametrize("actor", list(ACTORS))
def test_admins_support_viewers_and_the_primary_contact_share_and_unshare(
    gql, engine, session, reach: Reach, world: World, actor: str
):
    # Given the case "as contact" (shared with the colleague), and a sales agent not on it
    case_id = reach.as_contact.id
    sales = user(session, SALES)
    before = last_activity_id(engine)

    # When one allowed shares it with the sales agent
    body = gql(ACTORS[actor], SHARE, {"caseId": gid(reach.as_contact), "email": SALES})

    # Then the case is shared with both, in the answer and in the table, with one record
    case = succeeded(body, "shareSupportCase")["supportCase"]
    assert case["sharedWith"] == [{"email": COLLEAGUE}, {"email": SALES}]
    assert (case_id, sales.id) in snapshot(engine).shares
    wg = world.home.id
    after = assert_one_record(
        engine, before, "case.share", "SupportCase", case_id, ACTORS[actor], wg
    )
    assert after == {"email": SALES}
    assert "as contact" in titles_seen(gql, SALES)

    # When they take the share back
    before = last_activity_id(engine)
    body = gql(ACTORS[actor], UNSHARE, {"caseId": gid(reach.as_contact), "email": SALES})

    # Then only the colleague is left, with one more record, and the sales agent lost the case
    case = succeeded(body, "unshareSupportCase")["supportCase"]
    assert case["sharedWith"] == [{"email": COLLEAGUE}]
    assert (case_id, sales.id) not in snapshot(engine).shares
    removed = assert_one_record(
        engine, before, "case.unshare", "SupportCase", case_id, ACTORS[actor], wg, "before"
    )
    assert removed == {"email": SALES}
    assert "as contact" not in titles_seen(gql, SALES)


@pytest.mark.parametrize("mutation", ["shareSupportCase", "unshareSupportCase"])
@pytest.mark.parametrize("way", ["via share", "via group"])
@pytest.mark.parametrize("role", NON_OVERSEERS)
def test_a_user_who_only_sees_a_case_may_not_share_it(
    gql, engine, session, world: World, role: str, way: str, mutation: str
):
    # Given a user of Home who sees a case through a share or a group, and the colleague
    # shared that case too
    viewer = World.email(role)
    reach = build_reach(session, world, viewer)
    share(session, reach.titled(way), COLLEAGUE)
    before = snapshot(engine)

    # When they share it with the sales agent, or take the colleague's share away
    document = SHARE if mutation == "shareSupportCase" else UNSHARE
    email = SALES if mutation == "shareSupportCase" else COLLEAGUE
    body = gql(viewer, document, {"caseId": gid(reach.titled(way)), "email": email})

    # Then FORBIDDEN, and nothing changed
    assert_refused(body, mutation)
    assert snapshot(engine) == before


@pytest.mark.parametrize("mutation", ["shareSupportCase", "unshareSupportCase"])
@pytest.mark.parametrize("stranger", list(STRANGERS))
def test_sharing_with_someone_outside_the_workgroup_is_a_user_error(
    gql, engine, reach: Reach, stranger: str, mutation: str
):
    # Given the tables as they are
    before = snapshot(engine)

    # When the admin shares a case with, or unshares it from, an address that names no user
    # holding a role in Home
    document = SHARE if mutation == "shareSupportCase" else UNSHARE
    body = gql(ADMIN, document, {"caseId": gid(reach.unrelated), "email": STRANGERS[stranger]})

    # Then a NOT_FOUND user error on email, and nothing changed
    assert_user_error(body, mutation, "email", "NOT_FOUND")
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    ("mutation", "title", "email", "code"),
    [
        ("shareSupportCase", "via share", MEMBER, "DUPLICATE"),
        ("unshareSupportCase", "unrelated", MEMBER, "NOT_FOUND"),
    ],
    ids=["share twice", "unshare what is not shared"],
)
def test_sharing_twice_or_unsharing_nothing_is_a_user_error(
    gql, engine, reach: Reach, mutation: str, title: str, email: str, code: str
):
    # Given the tables as they are
    before = snapshot(engine)

    # When the admin shares a case again, or takes back a share that does not exist
    document = SHARE if mutation == "shareSupportCase" else UNSHARE
    body = gql(ADMIN, document, {"caseId": gid(reach.titled(title)), "email": email})

    # Then a user error on email, and nothing changed
    assert_user_error(body, mutation, "email", code)
    assert snapshot(engine) == before


def test_a_share_of_a_user_who_left_the_workgroup_can_be_taken_back(
    gql, engine, session, reach: Reach, world: World
):
    # Given a case shared with the member, who then lost their (only) role in Home
    share(session, reach.unrelated, MEMBER)
    revoke_role(
        session=session,
        email=MEMBER,
        role=Role.MEMBER,
        workgroup_id=world.home.id,  # type: ignore[arg-type]
        actor_id=None,
    )
    session.commit()
    member_id = user(session, MEMBER).id

    # When the admin takes the share back
    body = gql(ADMIN, UNSHARE, {"caseId": gid(reach.unrelated), "email": MEMBER})

    # Then it is gone — else it would silently come back should they rejoin the workgroup
    assert payload(body, "unshareSupportCase")["errors"] == []
    assert (reach.unrelated.id, member_id) not in snapshot(engine).shares


# ------------------------------------------------------------------ group access to a case


@pytest.mark.parametrize("actor", ["admin", "support_viewer", "global_admin"])
def test_admins_and_support_viewers_grant_and_revoke_group_access(
    gql, engine, reach: Reach, world: World, actor: str
):
    # Given a case no group has access to, and Tier 3 (the colleague's group)
    email, case_id, wg = ACTORS[actor], reach.unrelated.id, world.home.id
    before = last_activity_id(engine)

    # When one allowed gives Tier 3 access
    variables = {"caseId": gid(reach.unrelated), "groupId": gid(reach.tier3)}
    body = gql(email, GRANT_GROUP_ACCESS, variables)

    # Then the case lists the group, the table holds it, one record says so, and the colleague
    # sees the case
    case = succeeded(body, "grantGroupAccess")["supportCase"]
    assert case["groupsWithAccess"] == [{"name": "Tier 3"}]
    assert (case_id, reach.tier3.id) in snapshot(engine).group_access
    after = assert_one_record(
        engine, before, "case.group_access.grant", "SupportCase", case_id, email, wg
    )
    assert after == {"group": "Tier 3"}
    assert "unrelated" in titles_seen(gql, COLLEAGUE)

    # When they revoke it
    before = last_activity_id(engine)
    body = gql(email, REVOKE_GROUP_ACCESS, variables)

    # Then it is gone everywhere, with one more record
    case = succeeded(body, "revokeGroupAccess")["supportCase"]
    assert case["groupsWithAccess"] == []
    assert (case_id, reach.tier3.id) not in snapshot(engine).group_access
    removed = assert_one_record(
        engine, before, "case.group_access.revoke", "SupportCase", case_id, email, wg, "before"
    )
    assert removed == {"group": "Tier 3"}
    assert "unrelated" not in titles_seen(gql, COLLEAGUE)


@pytest.mark.parametrize("mutation", ["grantGroupAccess", "revokeGroupAccess"])
@pytest.mark.parametrize(
    ("role", "title"),
    [("member", "as contact")] + [(role, "via share") for role in NON_OVERSEERS],
    ids=["primary contact"] + [f"{role}-via share" for role in NON_OVERSEERS],
)
def test_nobody_else_changes_group_access(
    gql, engine, session, world: World, role: str, title: str, mutation: str
):
    # Given a user of Home who sees a case — even as its primary contact
    viewer = World.email(role)
    reach = build_reach(session, world, viewer)
    before = snapshot(engine)

    # When they give Tier 2 access to it, or take Tier 3's away
    document = GRANT_GROUP_ACCESS if mutation == "grantGroupAccess" else REVOKE_GROUP_ACCESS
    group = reach.tier2 if mutation == "grantGroupAccess" else reach.tier3
    body = gql(viewer, document, {"caseId": gid(reach.titled(title)), "groupId": gid(group)})

    # Then FORBIDDEN, and nothing changed
    assert_refused(body, mutation)
    assert snapshot(engine) == before


@pytest.mark.parametrize("mutation", ["grantGroupAccess", "revokeGroupAccess"])
@pytest.mark.parametrize("email", [ADMIN, World.GLOBAL_ADMIN], ids=["admin", "global_admin"])
def test_a_group_of_another_workgroup_answers_like_a_missing_group(
    gql, engine, reach: Reach, email: str, mutation: str
):
    # Given a case of Home, and the tables as they are
    document = GRANT_GROUP_ACCESS if mutation == "grantGroupAccess" else REVOKE_GROUP_ACCESS
    before = snapshot(engine)

    # When an overseer gives (or takes) access to it for a group of Away, for no group, and
    # for a string that is no id
    answers = [
        gql(email, document, {"caseId": gid(reach.unrelated), "groupId": group_id})
        for group_id in (gid(reach.away_group), MISSING_GROUP, NOT_AN_ID)
    ]

    # Then a NOT_FOUND user error on groupId each time, alike, and nothing changed
    assert_user_error(answers[0], mutation, "groupId", "NOT_FOUND")
    assert answers[0] == answers[1] == answers[2]
    assert snapshot(engine) == before


def test_giving_a_group_access_twice_is_a_user_error(gql, engine, reach: Reach):
    # Given Tier 2 with access to "via group"
    before = snapshot(engine)

    # When the admin gives it access again
    variables = {"caseId": gid(reach.via_group), "groupId": gid(reach.tier2)}
    body = gql(ADMIN, GRANT_GROUP_ACCESS, variables)

    # Then a DUPLICATE user error on groupId, and nothing changed
    assert_user_error(body, "grantGroupAccess", "groupId", "DUPLICATE")
    assert snapshot(engine) == before


# ------------------------------------------------------------------ groups and members


@pytest.mark.parametrize("email", [ADMIN, World.GLOBAL_ADMIN], ids=["admin", "global_admin"])
def test_admins_create_groups_with_unique_names(gql, engine, world: World, email: str):
    # Given no group yet
    before = last_activity_id(engine)

    # When an admin creates one
    body = gql(email, CREATE_GROUP, {"workgroupId": gid(world.home), "name": " Night shift "})

    # Then it exists in Home, named without the spaces, with one record
    group = succeeded(body, "createGroup")["group"]
    assert group["name"] == "Night shift"
    rows = snapshot(engine).groups
    assert [(row[1], row[2]) for row in rows] == [(world.home.id, "Night shift")]
    assert group["id"] == encode_id("Group", rows[0][0])
    after = assert_one_record(
        engine,
        before,
        "group.create",
        "Group",
        rows[0][0],
        email,
        world.home.id,  # type: ignore[arg-type]
    )
    assert after == {"name": "Night shift"}

    # When they create it again, in other letter case
    before_again = snapshot(engine)
    again = gql(email, CREATE_GROUP, {"workgroupId": gid(world.home), "name": "NIGHT SHIFT"})

    # Then a DUPLICATE user error on name, and nothing changed
    assert_user_error(again, "createGroup", "name", "DUPLICATE")
    assert snapshot(engine) == before_again


@pytest.mark.parametrize("role", NOT_ADMINS)
def test_only_admins_create_groups(gql, engine, world: World, role: str):
    # Given the tables as they are
    before = snapshot(engine)

    # When another role of Home creates a group
    body = gql(World.email(role), CREATE_GROUP, {"workgroupId": gid(world.home), "name": "Mine"})

    # Then FORBIDDEN, and nothing changed
    assert_refused(body, "createGroup")
    assert snapshot(engine) == before


@pytest.mark.parametrize("email", [World.NOBODY, World.ADMIN_AWAY], ids=["nobody", "admin_away"])
def test_outsiders_create_no_group_in_home_as_if_it_did_not_exist(
    gql, engine, world: World, email: str
):
    # Given the tables as they are
    before = snapshot(engine)

    # When a user without a role in Home creates a group there, and in no workgroup
    body = gql(email, CREATE_GROUP, {"workgroupId": gid(world.home), "name": "Mine"})
    missing = gql(email, CREATE_GROUP, {"workgroupId": MISSING_WORKGROUP, "name": "Mine"})

    # Then the answers are the same — FORBIDDEN for one who may do this nowhere, else a
    # NOT_FOUND user error — and nothing changed
    assert without_request_ids(body) == without_request_ids(missing)
    if "errors" in body:
        assert_refused(body, "createGroup")
    else:
        assert_user_error(body, "createGroup", "workgroupId", "NOT_FOUND")
    assert snapshot(engine) == before


@pytest.mark.parametrize("email", [ADMIN, World.GLOBAL_ADMIN], ids=["admin", "global_admin"])
def test_admins_add_and_remove_group_members(
    gql, engine, session, reach: Reach, world: World, email: str
):
    # Given Tier 3 with only the colleague in it
    group_id, wg = reach.tier3.id, world.home.id
    before = last_activity_id(engine)

    # When an admin adds the sales agent
    body = gql(email, ADD_MEMBER, {"groupId": gid(reach.tier3), "email": SALES})

    # Then the group lists both, the table holds it, with one record; and the sales agent now
    # sees the group's cases
    group = succeeded(body, "addGroupMember")["group"]
    assert group["members"] == [{"email": COLLEAGUE}, {"email": SALES}]
    sales_id = user(session, SALES).id
    assert (group_id, sales_id) in snapshot(engine).members
    after = assert_one_record(engine, before, "group.member.add", "Group", group_id, email, wg)
    assert after == {"email": SALES}
    assert titles_seen(gql, SALES) == {"other group", "as contact"}

    # When the admin removes them again
    before = last_activity_id(engine)
    body = gql(email, REMOVE_MEMBER, {"groupId": gid(reach.tier3), "email": SALES})

    # Then only the colleague is left, with one more record, and the cases are gone for them
    group = succeeded(body, "removeGroupMember")["group"]
    assert group["members"] == [{"email": COLLEAGUE}]
    assert (group_id, sales_id) not in snapshot(engine).members
    removed = assert_one_record(
        engine, before, "group.member.remove", "Group", group_id, email, wg, "before"
    )
    assert removed == {"email": SALES}
    assert titles_seen(gql, SALES) == set()


@pytest.mark.parametrize("mutation", ["addGroupMember", "removeGroupMember"])
@pytest.mark.parametrize("role", NOT_ADMINS)
def test_only_admins_change_group_members(gql, engine, reach: Reach, role: str, mutation: str):
    # Given Tier 2 (the member and the colleague), and the tables as they are
    before = snapshot(engine)

    # When another role of Home adds the sales agent or removes the colleague
    document = ADD_MEMBER if mutation == "addGroupMember" else REMOVE_MEMBER
    email = SALES if mutation == "addGroupMember" else COLLEAGUE
    body = gql(World.email(role), document, {"groupId": gid(reach.tier2), "email": email})

    # Then FORBIDDEN, and nothing changed
    assert_refused(body, mutation)
    assert snapshot(engine) == before


@pytest.mark.parametrize("mutation", ["addGroupMember", "removeGroupMember"])
@pytest.mark.parametrize("email", [World.NOBODY, World.ADMIN_AWAY], ids=["nobody", "admin_away"])
def test_outsiders_change_no_group_of_home_as_if_it_did_not_exist(
    gql, engine, reach: Reach, email: str, mutation: str
):
    # Given a group of Home, and the tables as they are
    document = ADD_MEMBER if mutation == "addGroupMember" else REMOVE_MEMBER
    before = snapshot(engine)

    # When a user without a role in Home changes its members, and those of no group
    body = gql(email, document, {"groupId": gid(reach.tier2), "email": COLLEAGUE})
    missing = gql(email, document, {"groupId": MISSING_GROUP, "email": COLLEAGUE})

    # Then the answers are the same — FORBIDDEN for one who may do this nowhere, else a
    # NOT_FOUND user error — and nothing changed
    assert without_request_ids(body) == without_request_ids(missing)
    if "errors" in body:
        assert_refused(body, mutation)
    else:
        assert_user_error(body, mutation, "groupId", "NOT_FOUND")
    assert snapshot(engine) == before


@pytest.mark.parametrize("stranger", list(STRANGERS))
def test_a_group_member_must_hold_a_role_in_the_workgroup(gql, engine, reach: Reach, stranger: str):
    # Given the tables as they are
    before = snapshot(engine)

    # When the admin adds someone holding no role in Home to Tier 2
    body = gql(ADMIN, ADD_MEMBER, {"groupId": gid(reach.tier2), "email": STRANGERS[stranger]})

    # Then a NOT_FOUND user error on email, and nothing changed
    assert_user_error(body, "addGroupMember", "email", "NOT_FOUND")
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    ("mutation", "email", "code"),
    [("addGroupMember", MEMBER, "DUPLICATE"), ("removeGroupMember", SALES, "NOT_FOUND")],
    ids=["add twice", "remove a non-member"],
)
def test_adding_twice_or_removing_a_non_member_is_a_user_error(
    gql, engine, reach: Reach, mutation: str, email: str, code: str
):
    # Given Tier 2 (the member and the colleague)
    document = ADD_MEMBER if mutation == "addGroupMember" else REMOVE_MEMBER
    before = snapshot(engine)

    # When the admin adds the member again, or removes the sales agent who is not in it
    body = gql(ADMIN, document, {"groupId": gid(reach.tier2), "email": email})

    # Then a user error on email, and nothing changed
    assert_user_error(body, mutation, "email", code)
    assert snapshot(engine) == before


# ------------------------------------------------------------------ numbering under concurrency


def test_cases_opened_at_the_same_moment_get_consecutive_numbers(
    request, engine, session, world: World
):
    if request.config.getoption("--db") != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serializes whole transactions)")
    # Given two app processes, each opening a case in Home in its own transaction: the first
    # has inserted its case and not yet committed
    opener = user(session, ADMIN)

    def open_one(on: Session, title: str):
        return open_case(
            session=on,
            workgroup_id=world.home.id,  # type: ignore[arg-type]
            opener=opener,
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

    first, second = Session(engine), Session(engine)
    failures: list[BaseException] = []

    def other_process() -> None:
        try:
            open_one(second, "second")
            second.commit()
        except BaseException as error:  # the outcome under test
            failures.append(error)
            second.rollback()

    try:
        open_one(first, "first")
        racer = threading.Thread(target=other_process)

        # When the second one opens its case meanwhile, and then the first commits
        racer.start()
        racer.join(timeout=1)  # it waits for the first, or fails, or is done
        first.commit()
        racer.join(timeout=10)
    finally:
        first.close()
        second.close()

    # Then both cases exist, numbered 1 and 2 — not a database error for the second opener
    assert not racer.is_alive()
    assert failures == []
    assert sorted((row[2], row[3]) for row in snapshot(engine).cases) == [
        (1, "first"),
        (2, "second"),
    ]
