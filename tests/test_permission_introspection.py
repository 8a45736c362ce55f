"""Permission introspection: `me.permissions`, `me.can` and `explainAccess` say what the API
really does. Expectations come from the same policy (the authorizer over policies/policy.csv)
and are checked against real requests."""

import json
from pathlib import Path

import pytest
from casbin.util import key_match
from graphql import GraphQLObjectType, get_named_type
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from graph.coordinates import action_of, all_coordinates
from graph.ids import decode_pk, encode_id
from graph.schema import build_schema
from models.accounts.tables import RoleAssignment, UserGroup
from models.accounts.users import get_or_create_user
from models.audit.activity import ActivityRecord
from models.core.enums import CaseClassification, CaseSeverity
from models.support.operations import close_case, create_group, open_case, share_case
from models.support.tables import SupportCase
from policies import Authorizer
from policies.authorizer import AUTHENTICATED
from tests.conftest import ROLES, World, grant, token_for

SCHEMA = build_schema()._schema
COORDINATES = all_coordinates(SCHEMA)
POLICY_LINES = {
    line.strip()
    for line in Path("policies/policy.csv").read_text().splitlines()
    if line.startswith("p,")
}
MAX_ALIASES = 30

PERMISSIONS = """
query Permissions($workgroupId: ID!) {
  me { permissions(workgroupId: $workgroupId) }
}
"""

CAN = """
query Can($coordinate: String!, $workgroupId: ID!) {
  me { can(coordinate: $coordinate, workgroupId: $workgroupId) }
}
"""

# One `can` per alias, filled in by `can_many` (at most MAX_ALIASES per document).
CAN_ALIAS = "c{index}: can(coordinate: {coordinate}, workgroupId: $workgroupId)"
CAN_MANY = "query CanMany($workgroupId: ID!) {{ me {{ {aliases} }} }}"

EXPLAIN = """
query Explain($email: String!, $coordinate: String!, $workgroupId: ID!) {
  explainAccess(email: $email, coordinate: $coordinate, workgroupId: $workgroupId) {
    allowed action role policyLine deniedBy
  }
}
"""

EXPLAIN_ALIAS = (
    "e{index}: explainAccess(email: $email, coordinate: {coordinate}, workgroupId: $workgroupId)"
    " {{ allowed action role policyLine deniedBy }}"
)
EXPLAIN_MANY = "query ExplainMany($email: String!, $workgroupId: ID!) {{ {aliases} }}"

# Every field of Customer, selected from the schema itself (an object is selected by its
# __typename only, so that only the Customer field's own decision is at stake).
ONE_CUSTOMER = "query OneCustomer($id: ID!) {{ customer(id: $id) {{ {selection} }} }}"
CUSTOMER_FIELD_NAMES = list(SCHEMA.type_map["Customer"].fields)  # type: ignore[union-attr]
CUSTOMER_FIELDS = ONE_CUSTOMER.format(
    selection=" ".join(
        f"{name} {{ __typename }}"
        if isinstance(get_named_type(field.type), GraphQLObjectType)
        else name
        for name, field in SCHEMA.type_map["Customer"].fields.items()  # type: ignore[union-attr]
    )
)
# Fields every customer of the world has a value for (other fields may come back empty).
FILLED_FIELDS = {
    "id", "companyName", "status", "primaryDomain", "primaryLocation", "city", "rank",
    "businessId", "createdAt", "updatedAt", "version", "tags", "workgroup", "agreements",
    "feed", "supportCases",
}  # fmt: skip

# One request per mutation, aimed at a real Home object, that a viewer allowed to make it gets
# past authorization and then fails on purpose with a user error — so nothing changes.
MUTATION_PROBES = {
    "createWorkgroup": (
        'mutation { m: createWorkgroup(name: "Home") { errors { code } } }',
        lambda t: {},
    ),
    "addCustomer": (
        "mutation($wg: ID!, $domain: String!) { m: addCustomer(input: {workgroupId: $wg,"
        ' companyName: "Dup", primaryDomain: $domain}) { errors { code } } }',
        lambda t: {"wg": t["home"], "domain": t["domain"]},
    ),
    "updateCustomer": (
        'mutation($id: ID!) { m: updateCustomer(id: $id, input: {companyName: "X"},'
        " expectedVersion: 999) { errors { code } } }",
        lambda t: {"id": t["customer"]},
    ),
    "archiveCustomer": (
        "mutation($id: ID!) { m: archiveCustomer(id: $id, expectedVersion: 999)"
        " { errors { code } } }",
        lambda t: {"id": t["customer"]},
    ),
    "reactivateCustomer": (
        "mutation($id: ID!) { m: reactivateCustomer(id: $id) { errors { code } } }",
        lambda t: {"id": t["customer"]},
    ),
    "grantRole": (
        'mutation($wg: ID!) { m: grantRole(email: "not-an-email", role: MEMBER,'
        " workgroupId: $wg) { errors { code } } }",
        lambda t: {"wg": t["home"]},
    ),
    "revokeRole": (
        'mutation($wg: ID!) { m: revokeRole(email: "ghost@home.example", role: MEMBER,'
        " workgroupId: $wg) { errors { code } } }",
        lambda t: {"wg": t["home"]},
    ),
    "openSupportCase": (
        'mutation($wg: ID!) { m: openSupportCase(input: {workgroupId: $wg, title: " ",'
        " severity: LOW}) { errors { code } } }",
        lambda t: {"wg": t["home"]},
    ),
    "closeSupportCase": (
        "mutation($case: ID!) { m: closeSupportCase(caseId: $case) { errors { code } } }",
        lambda t: {"case": t["case"]},
    ),
    "shareSupportCase": (
        "mutation($case: ID!, $email: String!) { m: shareSupportCase(caseId: $case,"
        " email: $email) { errors { code } } }",
        lambda t: {"case": t["case"], "email": World.NOBODY},
    ),
    "unshareSupportCase": (
        "mutation($case: ID!, $email: String!) { m: unshareSupportCase(caseId: $case,"
        " email: $email) { errors { code } } }",
        lambda t: {"case": t["case"], "email": World.NOBODY},
    ),
    "grantGroupAccess": (
        "mutation($case: ID!, $group: ID!) { m: grantGroupAccess(caseId: $case,"
        " groupId: $group) { errors { code } } }",
        lambda t: {"case": t["case"], "group": t["missing_group"]},
    ),
    "revokeGroupAccess": (
        "mutation($case: ID!, $group: ID!) { m: revokeGroupAccess(caseId: $case,"
        " groupId: $group) { errors { code } } }",
        lambda t: {"case": t["case"], "group": t["missing_group"]},
    ),
    "createGroup": (
        'mutation($wg: ID!) { m: createGroup(workgroupId: $wg, name: "Tier 2")'
        " { errors { code } } }",
        lambda t: {"wg": t["home"]},
    ),
    "addGroupMember": (
        "mutation($group: ID!, $email: String!) { m: addGroupMember(groupId: $group,"
        " email: $email) { errors { code } } }",
        lambda t: {"group": t["group"], "email": World.NOBODY},
    ),
    "removeGroupMember": (
        "mutation($group: ID!, $email: String!) { m: removeGroupMember(groupId: $group,"
        " email: $email) { errors { code } } }",
        lambda t: {"group": t["group"], "email": World.NOBODY},
    ),
}

# Giving each role: a grant with an invalid address, refused before anything changes.
GRANT_PROBE = """
mutation($wg: ID!, $role: Role!) {
  m: grantRole(email: "not-an-email", role: $role, workgroupId: $wg) { errors { code } }
}
"""

VIEWERS = [World.email(role) for role in ROLES] + [World.GLOBAL_ADMIN]

# Creating a workgroup acts on no workgroup: the API decides it on the roles the viewer holds
# in every workgroup (graph/workgroups/mutations.py: authorize_mutation(workgroup_id=None)),
# so that is what `permissions` and `can` must say too, whichever workgroup is asked about.
GLOBALLY_DECIDED = {"Mutation.createWorkgroup"}

# Coordinates of every kind whose explanations are checked for every role.
EXPLAINED = {
    "Customer", "Customer.companyName", "Customer.primaryDomain", "Customer.rank",
    "Customer.feed", "Customer.agreements", "Customer.supportCases", "Query.activity",
    "Query.customerActivity", "Query.me", "Mutation.addCustomer", "Mutation.updateCustomer",
    "Mutation.grantRole", "Mutation.openSupportCase", "Mutation.closeSupportCase",
    "Mutation.createGroup", "UpdateCustomerInput.tags", "UpdateCustomerInput.rank",
    "Role.member", "Export.activityLog", "Export.educationReport",
    "ServiceAmount#EDUCATION_ON_DEMAND", "SupportCase#related", "ActivityRecord.before",
}  # fmt: skip


# ---------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def authorizer() -> Authorizer:
    """One authorizer (app and expectations) for this module. Its decisions depend only on
    policies/policy.csv, and each cold one costs a Casbin evaluation over every policy line:
    sharing the cache keeps the every-role, every-coordinate sweeps affordable."""
    return Authorizer.from_files()


def gid(type_name: str, pk: int | None) -> str:
    return encode_id(type_name, pk)  # type: ignore[arg-type]


def codes(body: dict) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


def roles_of_viewer(email: str) -> frozenset[str]:
    """The role set the policy decides on for `email` in Home."""
    if email == World.GLOBAL_ADMIN:
        return frozenset({AUTHENTICATED, "admin"})
    return frozenset({AUTHENTICATED, email.split("@")[0]})


def global_roles_of_viewer(email: str) -> frozenset[str]:
    """The roles `email` holds in every workgroup."""
    return roles_of_viewer(email) if email == World.GLOBAL_ADMIN else frozenset({AUTHENTICATED})


def expected_decision(authorizer, viewer: str, coordinate: str, action: str) -> bool:
    """What the API does for `viewer` in Home: a coordinate acting on no workgroup is decided
    on their global roles, every other one on their roles in Home."""
    if coordinate in GLOBALLY_DECIDED:
        return authorizer.allows(global_roles_of_viewer(viewer), coordinate, action)
    return authorizer.allows(roles_of_viewer(viewer), coordinate, action)


def expected_permissions(authorizer, viewer: str) -> list[str]:
    return [c for c, action in COORDINATES if expected_decision(authorizer, viewer, c, action)]


def chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def can_many(gql, email: str, workgroup_id: str, coordinates: list[str]) -> dict[str, bool]:
    """`me.can` for every coordinate, in as few requests as the alias limit allows."""
    answers: dict[str, bool] = {}
    for part in chunks(coordinates, MAX_ALIASES):
        aliases = " ".join(
            CAN_ALIAS.format(index=i, coordinate=json.dumps(c)) for i, c in enumerate(part)
        )
        body = gql(email, CAN_MANY.format(aliases=aliases), {"workgroupId": workgroup_id})
        assert "errors" not in body, body
        answers.update({c: body["data"]["me"][f"c{i}"] for i, c in enumerate(part)})
    return answers


def explain_many(gql, actor: str, email: str, workgroup_id: str, coordinates: list[str]) -> dict:
    answers = {}
    for part in chunks(coordinates, MAX_ALIASES):
        aliases = " ".join(
            EXPLAIN_ALIAS.format(index=i, coordinate=json.dumps(c)) for i, c in enumerate(part)
        )
        body = gql(
            actor,
            EXPLAIN_MANY.format(aliases=aliases),
            {"email": email, "workgroupId": workgroup_id},
        )
        assert "errors" not in body, body
        answers.update({c: body["data"][f"e{i}"] for i, c in enumerate(part)})
    return answers


def activity_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(ActivityRecord)).scalar_one()


def assignment_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(RoleAssignment)).scalar_one()


@pytest.fixture
def targets(session: Session, world: World) -> dict[str, str]:
    """Real Home objects for the mutation probes: a customer, a closed case shared with every
    role of Home (so the member rule lets each of them see it), and a group."""
    admin = get_or_create_user(session=session, email=World.email("admin"))
    case = open_case(
        session=session,
        workgroup_id=world.home.id,  # type: ignore[arg-type]
        opener=admin,
        title="Printer on fire",
        description=None,
        severity=CaseSeverity.LOW,
        classification=CaseClassification.STANDARD,
        customer_id=None,
        agreement_id=None,
        package_id=None,
        service_amount_id=None,
        primary_contact_email=None,
    )
    close_case(session=session, support_case=case, actor_id=admin.id)  # type: ignore[arg-type]
    for role in ROLES:
        if role != "admin":
            share_case(
                session=session,
                support_case=case,
                email=World.email(role),
                actor_id=admin.id,  # type: ignore[arg-type]
                share=True,
            )
    group = create_group(
        session=session,
        workgroup_id=world.home.id,  # type: ignore[arg-type]
        name="Tier 2",
        actor_id=admin.id,  # type: ignore[arg-type]
    )
    session.commit()
    return {
        "home": gid("Workgroup", world.home.id),
        "customer": gid("Customer", world.home_customers[0].id),
        "domain": world.home_customers[0].primary_domain,
        "case": gid("SupportCase", case.id),
        "group": gid("Group", group.id),
        "missing_group": gid("Group", 987654),
    }


# ---------------------------------------------------------------- permissions


@pytest.mark.parametrize("viewer", VIEWERS)
def test_permissions_and_can_are_exactly_what_the_policy_grants_the_viewers_roles(
    gql, authorizer, world, viewer
):
    # Given a viewer holding one role in Home (or the global admin), and every coordinate
    # the policy decides
    home = gid("Workgroup", world.home.id)

    # When they ask what they may use in Home, and `can` for each coordinate
    body = gql(viewer, PERMISSIONS, {"workgroupId": home})
    answers = can_many(gql, viewer, home, [c for c, _ in COORDINATES])

    # Then both are the policy's decisions for their roles, and nothing else
    assert "errors" not in body
    assert body["data"]["me"]["permissions"] == expected_permissions(authorizer, viewer)
    wrong = [
        c
        for c, action in COORDINATES
        if answers[c] != expected_decision(authorizer, viewer, c, action)
    ]
    assert wrong == []
    assert sorted(c for c, allowed in answers.items() if allowed) == sorted(
        body["data"]["me"]["permissions"]
    )


def test_permissions_differ_between_roles_as_the_role_table_says(gql, world):
    # Given the sales agent and the admin agent of Home
    home = {"workgroupId": gid("Workgroup", world.home.id)}
    sales = set(gql(World.email("sales_agent"), PERMISSIONS, home)["data"]["me"]["permissions"])
    agent = set(gql(World.email("admin_agent"), PERMISSIONS, home)["data"]["me"]["permissions"])
    member = set(gql(World.email("member"), PERMISSIONS, home)["data"]["me"]["permissions"])

    # Then the admin agent has the internal data and the activity log, the sales agent not;
    # the member sees no customer at all
    assert {"Customer.rank", "Customer.businessId", "Query.activity"} <= agent - sales
    assert {"Customer.companyName", "UpdateCustomerInput.companyName"} <= sales
    assert "Customer" not in member and "Customer.companyName" not in member
    assert "Workgroup.name" in member


def test_an_invisible_workgroup_has_no_permissions(gql, world):
    # Given workgroup ids the viewer cannot see, or that name no workgroup
    home, away = gid("Workgroup", world.home.id), gid("Workgroup", world.away.id)
    cases = [
        (World.email("admin"), away),
        (World.ADMIN_AWAY, home),
        (World.NOBODY, home),
        (World.email("admin"), gid("Workgroup", 987654)),
        (World.email("admin"), "%%%"),
        (World.email("admin"), gid("Customer", world.home_customers[0].id)),
    ]
    for viewer, workgroup_id in cases:
        # When they ask for permissions and for one coordinate every role has where it is held
        permissions = gql(viewer, PERMISSIONS, {"workgroupId": workgroup_id})
        can = gql(viewer, CAN, {"coordinate": "Workgroup.name", "workgroupId": workgroup_id})

        # Then there are none, and `can` is false
        assert permissions == {"data": {"me": {"permissions": []}}}, (viewer, workgroup_id)
        assert can == {"data": {"me": {"can": False}}}, (viewer, workgroup_id)
    # (while a member of Home, asking about Home, is answered yes)
    member = gql(World.email("member"), CAN, {"coordinate": "Workgroup.name", "workgroupId": home})
    assert member == {"data": {"me": {"can": True}}}


def test_the_global_admin_has_admin_permissions_in_every_workgroup(gql, authorizer, world):
    # Given the global admin
    expected = expected_permissions(authorizer, World.GLOBAL_ADMIN)

    # When they ask for the permissions in Away
    body = gql(World.GLOBAL_ADMIN, PERMISSIONS, {"workgroupId": gid("Workgroup", world.away.id)})

    # Then they are an admin's
    assert body["data"]["me"]["permissions"] == expected


# ---------------------------------------------------------------- can


def test_can_is_false_for_what_the_policy_does_not_know(gql, world):
    # Given the global admin, who may use every coordinate the policy knows
    home = gid("Workgroup", world.home.id)
    unknown = ["Customer.nothing", "Nothing.id", "customer.rank", "Customer.*", "", "Role.root"]
    assert all(action_of(SCHEMA, c) is None for c in unknown)

    # When they ask about coordinates the policy does not know, and about the row type
    answers = can_many(gql, World.GLOBAL_ADMIN, home, [*unknown, "Customer"])

    # Then only the known one is true
    assert answers == {**dict.fromkeys(unknown, False), "Customer": True}


@pytest.mark.parametrize("role", ROLES)
def test_can_matches_what_a_customer_query_really_returns(gql, world, role):
    # Given a viewer of Home and a Home customer
    viewer = World.email(role)
    home = gid("Workgroup", world.home.id)
    customer = world.home_customers[1]
    selected = CUSTOMER_FIELD_NAMES
    assert set(selected) >= FILLED_FIELDS
    can = can_many(gql, viewer, home, ["Customer", *(f"Customer.{f}" for f in selected)])

    # When they read every field of it
    body = gql(viewer, CUSTOMER_FIELDS, {"id": gid("Customer", customer.id)})

    # Then a viewer who may not see customers gets null, and otherwise each field `can`
    # allows comes back, and each it denies is null with FORBIDDEN at its path
    if not can["Customer"]:
        assert body == {"data": {"customer": None}}
        return
    node = body["data"]["customer"]
    forbidden = {
        e["path"][1] for e in body.get("errors", []) if e["extensions"]["code"] == "FORBIDDEN"
    }
    assert codes(body) == ["FORBIDDEN"] * len(forbidden)
    for field in selected:
        if can[f"Customer.{field}"]:
            assert field not in forbidden, field
            if field in FILLED_FIELDS:
                assert node[field] is not None, field
        else:
            assert field in forbidden, field
            assert node[field] is None, field
    assert node["companyName"] == customer.company_name
    assert can["Customer.companyName"]


@pytest.mark.parametrize("viewer", VIEWERS)
def test_can_matches_what_each_mutation_and_export_really_does(
    gql, client, settings, engine, world, targets, viewer
):
    # Given a viewer of Home and real Home objects for every mutation
    home = targets["home"]
    can = can_many(
        gql,
        viewer,
        home,
        [
            *(f"Mutation.{m}" for m in MUTATION_PROBES),
            *(f"Role.{r}" for r in ROLES),
            "Export.activityLog",
            "Export.educationReport",
        ],
    )
    records, held = activity_count(engine), assignment_count(engine)

    # When they try each mutation (each fails on purpose once past authorization)
    mismatches = []
    for mutation, (document, variables) in MUTATION_PROBES.items():
        body = gql(viewer, document, variables(targets))
        refused = codes(body) == ["FORBIDDEN"] and body["data"] is None
        passed = "errors" not in body and body["data"]["m"]["errors"] != []
        allowed = can[f"Mutation.{mutation}"]
        if not (passed if allowed else refused):
            mismatches.append(f"{mutation}: can={allowed}, got {body}")
    for role in ROLES:
        body = gql(viewer, GRANT_PROBE, {"wg": home, "role": role.upper()})
        allowed = can[f"Role.{role}"] and can["Mutation.grantRole"]
        refused = codes(body) == ["FORBIDDEN"]
        if refused == allowed:
            mismatches.append(f"grantRole {role}: can={allowed}, got {body}")

    headers = {"Authorization": f"Bearer {token_for(viewer, settings)}"}
    for export, path in (
        ("Export.activityLog", "/exports/activity.csv"),
        ("Export.educationReport", "/exports/education.csv"),
    ):
        response = client.get(path, params={"workgroupId": home}, headers=headers)
        if response.status_code != (200 if can[export] else 403):
            mismatches.append(f"{export}: can={can[export]}, got {response.status_code}")

    # Then every mutation and export `can` allows got past authorization, every other one
    # was FORBIDDEN, and nothing changed
    assert mismatches == []
    assert activity_count(engine) == records
    assert assignment_count(engine) == held


def test_can_follows_a_grant_on_the_next_request(gql, world):
    # Given the member of Home may not read the activity log
    home = gid("Workgroup", world.home.id)
    variables = {"coordinate": "Query.activity", "workgroupId": home}
    assert gql(World.email("member"), CAN, variables)["data"]["me"]["can"] is False

    # When the admin makes them an admin agent
    granted = gql(
        World.email("admin"),
        'mutation($wg: ID!) { grantRole(email: "member@home.example", role: ADMIN_AGENT,'
        " workgroupId: $wg) { errors { code } } }",
        {"wg": home},
    )
    assert granted["data"]["grantRole"]["errors"] == []

    # Then `can` says yes, and the log is readable
    assert gql(World.email("member"), CAN, variables)["data"]["me"]["can"] is True
    log = gql(World.email("member"), "query { activity(first: 1) { totalCount } }")
    assert "errors" not in log
    assert log["data"]["activity"]["totalCount"] > 0


# ---------------------------------------------------------------- explainAccess


def policy_line(text: str | None) -> list[str]:
    """A line of the API's explanation as the fields of a `p` line of policy.csv."""
    assert text is not None
    assert f"p, {text}" in POLICY_LINES, f"not a line of policies/policy.csv: p, {text}"
    return [part.strip() for part in text.split(",")]


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_only_admins_may_explain_access(gql, world, role):
    # Given a non-admin role of Home
    # When they ask why the sales agent may read a company name
    body = gql(
        World.email(role),
        EXPLAIN,
        {
            "email": World.email("sales_agent"),
            "coordinate": "Customer.companyName",
            "workgroupId": gid("Workgroup", world.home.id),
        },
    )

    # Then it is forbidden
    assert body["data"] == {"explainAccess": None}
    assert codes(body) == ["FORBIDDEN"]


def test_an_admin_cannot_explain_access_in_a_workgroup_they_cannot_see(gql, world):
    # Given the admin of Home
    variables = {"email": World.ADMIN_AWAY, "coordinate": "Customer.rank"}

    # When they ask about Away, and about a workgroup id that names nothing
    away = gql(
        World.email("admin"), EXPLAIN, {**variables, "workgroupId": gid("Workgroup", world.away.id)}
    )
    missing = gql(
        World.email("admin"), EXPLAIN, {**variables, "workgroupId": gid("Workgroup", 987654)}
    )

    # Then both are refused alike, without an answer
    assert away["data"] == {"explainAccess": None}
    assert codes(away) == ["BAD_USER_INPUT"]
    assert [e["message"] for e in away["errors"]] == [e["message"] for e in missing["errors"]]


def test_an_allowed_decision_names_the_allowing_policy_line(gql, world):
    # Given the admin of Home
    # When they ask why the sales agent may read a company name
    body = gql(
        World.email("admin"),
        EXPLAIN,
        {
            "email": World.email("sales_agent"),
            "coordinate": "Customer.companyName",
            "workgroupId": gid("Workgroup", world.home.id),
        },
    )

    # Then it is allowed for the sales agent by the customer-identity line
    assert body == {
        "data": {
            "explainAccess": {
                "allowed": True,
                "action": "read",
                "role": "SALES_AGENT",
                "policyLine": "customer_identity, *, Customer.companyName, read, allow",
                "deniedBy": None,
            }
        }
    }
    policy_line(body["data"]["explainAccess"]["policyLine"])


def test_a_denied_decision_names_the_deny_line(gql, world):
    # Given the admin of Home
    # When they ask whether the sales agent may read the rank
    body = gql(
        World.email("admin"),
        EXPLAIN,
        {
            "email": World.email("sales_agent"),
            "coordinate": "Customer.rank",
            "workgroupId": gid("Workgroup", world.home.id),
        },
    )

    # Then it is denied, by the line that records the decision
    assert body == {
        "data": {
            "explainAccess": {
                "allowed": False,
                "action": "read",
                "role": None,
                "policyLine": None,
                "deniedBy": "authenticated, *, Customer.rank, read, deny",
            }
        }
    }
    policy_line(body["data"]["explainAccess"]["deniedBy"])


def test_a_role_grant_is_explained_with_the_grant_action(gql, world):
    # Given the admin of Home
    home = gid("Workgroup", world.home.id)
    variables = {"coordinate": "Role.admin", "workgroupId": home}

    # When they ask whether they themselves, and the admin agent, may give the admin role
    own = gql(World.email("admin"), EXPLAIN, {**variables, "email": World.email("admin")})
    agent = gql(World.email("admin"), EXPLAIN, {**variables, "email": World.email("admin_agent")})

    # Then the admin may, by the role-administration line; the admin agent may not
    assert own["data"]["explainAccess"] == {
        "allowed": True,
        "action": "grant",
        "role": "ADMIN",
        "policyLine": "role_administration, *, Role.*, grant, allow",
        "deniedBy": None,
    }
    assert agent["data"]["explainAccess"]["allowed"] is False
    assert agent["data"]["explainAccess"]["deniedBy"] == "authenticated, *, Role.admin, grant, deny"


def test_an_unknown_coordinate_is_bad_user_input(gql, world):
    # Given the admin of Home
    for coordinate in ["Customer.nothing", "Nope", "", "customer.rank", "Customer.*"]:
        # When they ask about something the policy does not decide
        body = gql(
            World.email("admin"),
            EXPLAIN,
            {
                "email": World.email("sales_agent"),
                "coordinate": coordinate,
                "workgroupId": gid("Workgroup", world.home.id),
            },
        )

        # Then it is BAD_USER_INPUT on `coordinate`, without an answer
        assert body["data"] == {"explainAccess": None}, coordinate
        assert codes(body) == ["BAD_USER_INPUT"], coordinate
        assert body["errors"][0]["extensions"]["argument"] == "coordinate"


def test_a_user_without_roles_is_explained_as_any_signed_in_user(gql, world):
    # Given an address that holds no role (it has never signed in)
    home = gid("Workgroup", world.home.id)
    variables = {"email": "stranger@example.com", "workgroupId": home}

    # When the admin asks about their profile and about a company name
    me = gql(World.email("admin"), EXPLAIN, {**variables, "coordinate": "Query.me"})
    name = gql(World.email("admin"), EXPLAIN, {**variables, "coordinate": "Customer.companyName"})

    # Then the profile is allowed to every signed-in user, the company name is denied
    assert me["data"]["explainAccess"] == {
        "allowed": True,
        "action": "read",
        "role": None,
        "policyLine": "authenticated, *, Query.me, read, allow",
        "deniedBy": None,
    }
    assert name["data"]["explainAccess"]["allowed"] is False
    assert name["data"]["explainAccess"]["deniedBy"] == (
        "authenticated, *, Customer.companyName, read, deny"
    )


def test_explanations_use_the_roles_held_in_that_workgroup(gql, session, world):
    # Given a user who is admin agent in Away and only a member in Home
    email = "split@example.com"
    grant(session, email, "admin_agent", world.away)
    grant(session, email, "member", world.home)
    variables = {"email": email, "coordinate": "Customer.rank"}

    # When the global admin asks about each workgroup
    home = gql(
        World.GLOBAL_ADMIN, EXPLAIN, {**variables, "workgroupId": gid("Workgroup", world.home.id)}
    )
    away = gql(
        World.GLOBAL_ADMIN, EXPLAIN, {**variables, "workgroupId": gid("Workgroup", world.away.id)}
    )

    # Then the rank is denied in Home and allowed in Away, for the admin agent
    assert home["data"]["explainAccess"]["allowed"] is False
    assert away["data"]["explainAccess"]["allowed"] is True
    assert away["data"]["explainAccess"]["role"] == "ADMIN_AGENT"


@pytest.mark.parametrize("role", ROLES)
def test_every_explanation_agrees_with_the_policy(gql, authorizer, world, role):
    # Given a role of Home and a sample of coordinates of every kind
    coordinates = [(c, a) for c, a in COORDINATES if c in EXPLAINED]
    assert len(coordinates) == len(EXPLAINED)
    roles = frozenset({AUTHENTICATED, role})
    subjects = set().union(*(authorizer.implied_roles(r) for r in roles))

    # When the admin asks for the explanation of each
    answers = explain_many(
        gql,
        World.email("admin"),
        World.email(role),
        gid("Workgroup", world.home.id),
        [c for c, _ in coordinates],
    )

    # Then each says what the policy decides, and names a line of policy.csv that decides it
    # for one of the role's subjects
    for coordinate, action in coordinates:
        answer = answers[coordinate]
        assert answer["action"] == action
        assert answer["allowed"] is authorizer.allows(roles, coordinate, action), coordinate
        if answer["allowed"]:
            line = policy_line(answer["policyLine"])
            assert answer["deniedBy"] is None
            # (attributed to the role itself; the role-attribution test below pins down the
            # lines every signed-in user has)
            assert answer["role"] == role.upper() or (
                answer["role"] is None and line[0] == AUTHENTICATED
            )
            assert line[3:] == [action, "allow"] and key_match(coordinate, line[2])
            assert line[0] in authorizer.implied_roles(role)
        else:
            line = policy_line(answer["deniedBy"])
            assert answer["policyLine"] is None and answer["role"] is None
            assert line[3:] == [action, "deny"] and key_match(coordinate, line[2])
            assert line[0] in subjects


def test_a_line_every_signed_in_user_has_is_attributed_to_the_users_role(gql, world):
    # Given every role of Home, each of which includes what every signed-in user may do
    home = gid("Workgroup", world.home.id)
    attributed = {}
    for role in ROLES:
        # When the admin asks why the role holder may read their own profile
        body = gql(
            World.email("admin"),
            EXPLAIN,
            {"email": World.email(role), "coordinate": "Query.me", "workgroupId": home},
        )
        answer = body["data"]["explainAccess"]
        assert answer["allowed"] is True
        assert answer["policyLine"] == "authenticated, *, Query.me, read, allow"
        attributed[role] = answer["role"]

    # Then the allowing role is the user's own role, for every role alike (it must not
    # depend on how a role's name sorts against "authenticated")
    assert attributed == {role: role.upper() for role in ROLES}


def test_policy_lines_in_this_module_are_read_from_the_file():
    # Given the policy file as this module reads it
    # Then it holds allow and deny lines, the raw material of every explanation checked here
    assert "p, authenticated, *, Query.me, read, allow" in POLICY_LINES
    assert any(line.endswith(", deny") for line in POLICY_LINES)


def test_the_probes_target_real_objects(session, targets):
    # Given the probes' group and case
    # Then they exist (the case closed), so a probe that passes authorization fails on its
    # arguments only
    assert session.get(UserGroup, decode_pk(targets["group"], "Group")) is not None
    case = session.get(SupportCase, decode_pk(targets["case"], "SupportCase"))
    assert case is not None and case.status == "CLOSED"
