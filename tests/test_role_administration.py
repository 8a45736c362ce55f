"""Role administration: who may grant and revoke which role where, the last-admin rule,
grants to new and invalid e-mail addresses, the role catalogue, and who holds what."""

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from graph.ids import encode_id
from models.access.roles import grant_role, revoke_role
from models.accounts.tables import RoleAssignment, User, Workgroup
from models.agreements.operations import add_agreement, today_utc
from models.audit.activity import ActivityRecord
from models.core.enums import Role
from models.core.errors import DomainError, ErrorCode
from policies.authorizer import AUTHENTICATED
from policies.catalogue import ROLE_PURPOSES, capabilities_of
from tests.conftest import ROLES, World, grant

GRANT_ROLE = """
mutation Grant($email: String!, $role: Role!, $workgroupId: ID!) {
  grantRole(email: $email, role: $role, workgroupId: $workgroupId) {
    assignment { id email role grantedAt workgroup { id name } }
    errors { field code message }
  }
}
"""

REVOKE_ROLE = """
mutation Revoke($email: String!, $role: Role!, $workgroupId: ID!) {
  revokeRole(email: $email, role: $role, workgroupId: $workgroupId) {
    assignment { id }
    errors { field code message }
  }
}
"""

GRANT_UNKNOWN_ROLE_LITERAL = """
mutation($workgroupId: ID!) {
  grantRole(email: "someone@home.example", role: SUPERUSER, workgroupId: $workgroupId) {
    errors { code }
  }
}
"""

ROLES_QUERY = """
query {
  roles { role purpose capabilities { name grants { coordinate action } } }
}
"""

ROLE_ASSIGNMENTS = """
query Holders($workgroupId: ID!) {
  roleAssignments(workgroupId: $workgroupId) { id email role grantedAt workgroup { id } }
}
"""

MY_ROLES = "query { me { email roles { role workgroup { id } } } }"

CUSTOMERS = "query { customers { totalCount edges { node { companyName primaryDomain } } } }"

DASHBOARD = "query { customerActivity { agreements { number } } }"

DELEGATE = "delegate@home.example"


# ---------------------------------------------------------------- helpers


def gid(type_name: str, pk: int | None) -> str:
    return encode_id(type_name, pk)  # type: ignore[arg-type]


def codes(body: dict) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


def assignments(engine: Engine) -> set[tuple[str, int | None, str]]:
    """Every (e-mail, workgroup id, role) held, read fresh from the database."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(User.email, RoleAssignment.workgroup_id, RoleAssignment.role).join(
                User, User.id == RoleAssignment.user_id
            )
        ).all()
    return {(email, workgroup, role) for email, workgroup, role in rows}


def activity_rows(engine: Engine) -> list[tuple[str, int | None, int | None, dict | None]]:
    """(action, actor id, workgroup id, before or after) of every activity record, by id."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                ActivityRecord.action,
                ActivityRecord.actor_id,
                ActivityRecord.workgroup_id,
                ActivityRecord.before,
                ActivityRecord.after,
            ).order_by(ActivityRecord.id)
        ).all()
    return [(action, actor, wg, before or after) for action, actor, wg, before, after in rows]


def user_id(engine: Engine, email: str) -> int | None:
    with engine.connect() as connection:
        return connection.execute(select(User.id).where(User.email == email)).scalar()


def user_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(User)).scalar_one()


def role_name(role: str) -> str:
    """The GraphQL enum value of a role."""
    return Role(role).name


@pytest.fixture
def holders(session: Session, world: World) -> dict[tuple[str, str], str]:
    """In both workgroups, one extra holder of every role, to be revoked:
    {(workgroup label, role): e-mail}."""
    found = {}
    for label, workgroup in (("home", world.home), ("away", world.away)):
        for role in ROLES:
            email = f"held-{role}@{label}.example"
            grant(session, email, role, workgroup)
            found[(label, role)] = email
    return found


# ---------------------------------------------------------------- the grant/revoke matrix

OK, FORBIDDEN, NOT_FOUND = "ok", "forbidden", "not found"

# (actor, workgroup label) -> outcome. A workgroup the actor cannot see is answered exactly
# like a workgroup id that does not exist (docs/permissions.md: a row the viewer may not see is
# "null by id, exactly like an id that names nothing"); roles that may not grant anywhere are
# refused before execution.
MATRIX_ACTORS = [World.email(role) for role in ROLES] + [World.GLOBAL_ADMIN, World.ADMIN_AWAY]


def expected_outcome(actor: str, label: str) -> str:
    if actor == World.GLOBAL_ADMIN:
        return OK
    if actor == World.ADMIN_AWAY:
        return OK if label == "away" else NOT_FOUND
    if actor == World.email("admin"):
        return OK if label == "home" else NOT_FOUND
    return FORBIDDEN


@pytest.mark.parametrize("actor", MATRIX_ACTORS)
def test_grant_and_revoke_every_role_in_both_workgroups(gql, engine, world, holders, actor):
    # Given one holder of every role in Home and in Away (to be revoked), and new addresses
    # (to be granted)
    workgroups = {"home": world.home, "away": world.away}
    actor_id = user_id(engine, actor)
    failures = []
    for label, workgroup in workgroups.items():
        outcome = expected_outcome(actor, label)
        for role in ROLES:
            for mutation, document, email in (
                ("grantRole", GRANT_ROLE, f"new-{role}@{label}.example"),
                ("revokeRole", REVOKE_ROLE, holders[(label, role)]),
            ):
                held_before = assignments(engine)
                log_before = activity_rows(engine)
                # When the actor grants or revokes the role in that workgroup
                body = gql(
                    actor,
                    document,
                    {
                        "email": email,
                        "role": role_name(role),
                        "workgroupId": gid("Workgroup", workgroup.id),
                    },
                )
                held_after = assignments(engine)
                log_after = activity_rows(engine)
                change = (email, workgroup.id, role)
                case = f"{mutation} {role} in {label}"
                # Then only the admins of the workgroup succeed, and exactly this changes
                if outcome == OK:
                    payload = body["data"][mutation]
                    expected_held = (
                        held_before | {change}
                        if mutation == "grantRole"
                        else held_before - {change}
                    )
                    action = "role.grant" if mutation == "grantRole" else "role.revoke"
                    checks = [
                        payload["errors"] == [],
                        held_after == expected_held,
                        log_after[:-1] == log_before,
                        log_after[-1:]
                        == [
                            (
                                action,
                                actor_id,
                                workgroup.id,
                                {"email": email, "role": role_name(role)},
                            )
                        ],
                    ]
                    if mutation == "grantRole":
                        assignment = payload["assignment"]
                        checks.append(
                            (assignment["email"], assignment["role"], assignment["workgroup"]["id"])
                            == (email, role_name(role), gid("Workgroup", workgroup.id))
                        )
                    if not all(checks):
                        failures.append(f"{case}: expected success, got {body}")
                    continue
                if outcome == FORBIDDEN:
                    refused = body["data"] is None and codes(body) == ["FORBIDDEN"]
                else:
                    refused = body["data"][mutation]["errors"] == [
                        {
                            "field": "workgroupId",
                            "code": "NOT_FOUND",
                            "message": "No workgroup with this id.",
                        }
                    ]
                if not refused or held_after != held_before or log_after != log_before:
                    failures.append(f"{case}: expected {outcome} and no change, got {body}")
    assert failures == []


def test_an_invisible_workgroup_is_answered_like_one_that_does_not_exist(gql, engine, world):
    # Given the admin of Home, who holds nothing in Away
    before = assignments(engine)
    variables = {"email": "x@away.example", "role": "MEMBER"}

    # When they grant in Away, and in a workgroup id that names nothing
    away = gql(
        World.email("admin"),
        GRANT_ROLE,
        {**variables, "workgroupId": gid("Workgroup", world.away.id)},
    )
    missing = gql(
        World.email("admin"), GRANT_ROLE, {**variables, "workgroupId": gid("Workgroup", 987654)}
    )

    # Then both answers are the same, and nothing changed
    assert away == missing
    assert away["data"]["grantRole"]["errors"][0]["code"] == "NOT_FOUND"
    assert assignments(engine) == before


def test_an_admin_elsewhere_cannot_grant_where_they_hold_a_lesser_role(gql, session, engine, world):
    # Given an admin of Away who is only a sales agent in Home
    email = "two-hats@away.example"
    grant(session, email, "admin", world.away)
    grant(session, email, "sales_agent", world.home)
    before = assignments(engine)
    log = activity_rows(engine)

    # When they grant and revoke in Home
    granted = gql(
        email,
        GRANT_ROLE,
        {
            "email": "x@home.example",
            "role": "MEMBER",
            "workgroupId": gid("Workgroup", world.home.id),
        },
    )
    revoked = gql(
        email,
        REVOKE_ROLE,
        {
            "email": World.email("member"),
            "role": "MEMBER",
            "workgroupId": gid("Workgroup", world.home.id),
        },
    )

    # Then both are forbidden, and nothing changed
    assert codes(granted) == ["FORBIDDEN"]
    assert granted["errors"][0]["path"] == ["grantRole"]
    assert codes(revoked) == ["FORBIDDEN"]
    assert assignments(engine) == before
    assert activity_rows(engine) == log


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(GRANT_UNKNOWN_ROLE_LITERAL, id="literal"),
        pytest.param(GRANT_ROLE, id="variable"),
    ],
)
def test_a_role_that_does_not_exist_is_a_validation_error(gql, engine, world, document):
    # Given the admin of Home
    before = assignments(engine)
    variables = {
        "email": "someone@home.example",
        "role": "SUPERUSER",
        "workgroupId": gid("Workgroup", world.home.id),
    }

    # When they grant a role the schema does not have
    response = gql.post(World.email("admin"), document, variables)

    # Then the document is refused before execution: HTTP 400, no data, nothing changed
    assert response.status_code == 400
    body = response.json()
    assert body["data"] is None
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "SUPERUSER" in body["errors"][0]["message"]
    assert assignments(engine) == before
    assert user_id(engine, "someone@home.example") is None


# ---------------------------------------------------------------- the last admin


def test_the_last_admin_of_a_workgroup_cannot_be_revoked(gql, engine, world):
    # Given Home has exactly one admin
    home = gid("Workgroup", world.home.id)
    admin = World.email("admin")
    before = assignments(engine)
    log = activity_rows(engine)
    assert [a for a in before if a[1] == world.home.id and a[2] == "admin"] == [
        (admin, world.home.id, "admin")
    ]

    # When that admin, and then the global admin, revoke it
    by_self = gql(admin, REVOKE_ROLE, {"email": admin, "role": "ADMIN", "workgroupId": home})
    by_root = gql(
        World.GLOBAL_ADMIN, REVOKE_ROLE, {"email": admin, "role": "ADMIN", "workgroupId": home}
    )

    # Then both get LAST_ADMIN, the admin keeps the role, and nothing is recorded
    for body in (by_self, by_root):
        errors = body["data"]["revokeRole"]["errors"]
        assert [(e["field"], e["code"]) for e in errors] == [("role", "LAST_ADMIN")]
    assert assignments(engine) == before
    assert activity_rows(engine) == log


def test_with_a_second_admin_one_may_step_down_and_the_other_is_then_last(gql, engine, world):
    # Given a second admin in Home
    home = gid("Workgroup", world.home.id)
    admin = World.email("admin")
    second = "second-admin@home.example"
    granted = gql(admin, GRANT_ROLE, {"email": second, "role": "ADMIN", "workgroupId": home})
    assert granted["data"]["grantRole"]["errors"] == []

    # When the first admin revokes their own admin role
    stepped_down = gql(admin, REVOKE_ROLE, {"email": admin, "role": "ADMIN", "workgroupId": home})

    # Then it is gone, they may no longer grant, and the second admin is now the last one
    assert stepped_down["data"]["revokeRole"]["errors"] == []
    assert (admin, world.home.id, "admin") not in assignments(engine)
    again = gql(
        admin, GRANT_ROLE, {"email": "x@home.example", "role": "MEMBER", "workgroupId": home}
    )
    assert codes(again) == ["FORBIDDEN"]
    last = gql(second, REVOKE_ROLE, {"email": second, "role": "ADMIN", "workgroupId": home})
    assert [e["code"] for e in last["data"]["revokeRole"]["errors"]] == ["LAST_ADMIN"]
    assert (second, world.home.id, "admin") in assignments(engine)


def test_two_admins_revoking_each_other_at_once_leave_one_admin(engine, session, world):
    # Given Away has two admins
    other = "other-admin@away.example"
    grant(session, other, "admin", world.away)
    first = Session(engine, expire_on_commit=False)
    outcome: dict[str, object] = {}

    def revoke_other() -> None:
        with Session(engine, expire_on_commit=False) as second:
            try:
                revoke_role(
                    session=second,
                    email=other,
                    role=Role.ADMIN,
                    workgroup_id=world.away.id,  # type: ignore[arg-type]
                    actor_id=None,
                )
                second.commit()
                outcome["second"] = "revoked"
            except DomainError as error:
                second.rollback()
                outcome["second"] = error.errors[0].code
            except Exception as error:  # a database that serializes writers refuses it
                second.rollback()
                outcome["second"] = type(error).__name__

    try:
        # When one admin's revocation is under way (not yet committed) and the other one's
        # runs at the same time
        revoke_role(
            session=first,
            email=World.ADMIN_AWAY,
            role=Role.ADMIN,
            workgroup_id=world.away.id,  # type: ignore[arg-type]
            actor_id=None,
        )
        thread = threading.Thread(target=revoke_other)
        thread.start()
        thread.join(timeout=0.5)
        first.commit()
        thread.join(timeout=30)
    finally:
        first.close()

    # Then the workgroup still has an admin: the second revocation was refused
    admins = [a for a in assignments(engine) if a[1] == world.away.id and a[2] == "admin"]
    assert len(admins) == 1, f"admins left in Away: {admins}; second revocation: {outcome}"
    assert outcome["second"] != "revoked"


def test_two_admins_granting_the_same_role_at_once_get_a_duplicate_not_a_crash(
    engine, session, world
):
    # Given a user who is a member of Home
    email = World.email("member")
    first = Session(engine, expire_on_commit=False)
    outcome: dict[str, object] = {}

    def grant_again() -> None:
        with Session(engine, expire_on_commit=False) as second:
            try:
                grant_role(
                    session=second,
                    email=email,
                    role=Role.SALES_AGENT,
                    workgroup_id=world.home.id,
                    actor_id=None,
                )
                second.commit()
                outcome["second"] = "granted"
            except DomainError as error:
                second.rollback()
                outcome["second"] = error.errors[0].code
            except Exception as error:
                second.rollback()
                outcome["second"] = type(error).__name__

    try:
        # When two admins grant them sales_agent at the same moment
        grant_role(
            session=first,
            email=email,
            role=Role.SALES_AGENT,
            workgroup_id=world.home.id,
            actor_id=None,
        )
        thread = threading.Thread(target=grant_again)
        thread.start()
        thread.join(timeout=0.5)
        first.commit()
        thread.join(timeout=30)
    finally:
        first.close()

    # Then the role is held once, and the second grant is the DUPLICATE user error the API
    # reports for a sequential second grant (not a database error, which the API turns
    # into INTERNAL_SERVER_ERROR)
    held = [a for a in assignments(engine) if a[0] == email and a[2] == "sales_agent"]
    assert held == [(email, world.home.id, "sales_agent")]
    assert outcome["second"] == ErrorCode.DUPLICATE


# ---------------------------------------------------------------- whom a role is granted to


def test_granting_to_an_unknown_address_creates_the_user_who_gets_access_on_sign_in(
    gql, engine, world
):
    # Given an address nobody has signed in with
    home = gid("Workgroup", world.home.id)
    assert user_id(engine, "new.person@example.com") is None

    # When the admin grants it sales_agent in Home (in mixed case, with spaces)
    body = gql(
        World.email("admin"),
        GRANT_ROLE,
        {"email": "  New.Person@Example.COM ", "role": "SALES_AGENT", "workgroupId": home},
    )

    # Then the user exists (normalized), holds the role, and is listed as a holder
    payload = body["data"]["grantRole"]
    assert payload["errors"] == []
    assert payload["assignment"]["email"] == "new.person@example.com"
    assert user_id(engine, "new.person@example.com") is not None
    assert ("new.person@example.com", world.home.id, "sales_agent") in assignments(engine)
    holders = gql(World.email("admin"), ROLE_ASSIGNMENTS, {"workgroupId": home})
    assert {"email": "new.person@example.com", "role": "SALES_AGENT"} in [
        {"email": h["email"], "role": h["role"]} for h in holders["data"]["roleAssignments"]
    ]

    # And on first sign-in they have the access of a sales agent in Home
    me = gql("new.person@example.com", MY_ROLES)
    assert me["data"]["me"]["roles"] == [{"role": "SALES_AGENT", "workgroup": {"id": home}}]
    customers = gql("new.person@example.com", CUSTOMERS)
    assert "errors" not in customers
    assert customers["data"]["customers"]["totalCount"] == len(world.home_customers)
    assert {e["node"]["primaryDomain"] for e in customers["data"]["customers"]["edges"]} == {
        c.primary_domain for c in world.home_customers
    }


@pytest.mark.parametrize(
    "email",
    ["not-an-email", "", "   ", "two@@home.example", "no-dot@home", "spa ce@home.example", "a@b."],
)
def test_an_invalid_address_is_an_invalid_user_error(gql, engine, world, email):
    # Given the admin of Home
    before, users, log = assignments(engine), user_count(engine), activity_rows(engine)

    # When they grant a role to something that is no e-mail address
    body = gql(
        World.email("admin"),
        GRANT_ROLE,
        {"email": email, "role": "MEMBER", "workgroupId": gid("Workgroup", world.home.id)},
    )

    # Then it is an INVALID user error on `email`, and no user or role was created
    payload = body["data"]["grantRole"]
    assert payload["assignment"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("email", "INVALID")]
    assert assignments(engine) == before
    assert user_count(engine) == users
    assert activity_rows(engine) == log


@pytest.mark.parametrize("email", [World.email("sales_agent"), "  SALES_AGENT@Home.Example"])
def test_granting_a_role_already_held_is_a_duplicate(gql, engine, world, email):
    # Given the sales agent of Home
    before, log = assignments(engine), activity_rows(engine)

    # When the admin grants them sales_agent again (however the address is spelled)
    body = gql(
        World.email("admin"),
        GRANT_ROLE,
        {"email": email, "role": "SALES_AGENT", "workgroupId": gid("Workgroup", world.home.id)},
    )

    # Then it is a DUPLICATE user error, and nothing changed
    payload = body["data"]["grantRole"]
    assert payload["assignment"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("role", "DUPLICATE")]
    assert assignments(engine) == before
    assert activity_rows(engine) == log


def test_a_second_role_for_the_same_user_is_not_a_duplicate(gql, engine, world):
    # Given the sales agent of Home
    # When the admin also grants them support_viewer
    body = gql(
        World.email("admin"),
        GRANT_ROLE,
        {
            "email": World.email("sales_agent"),
            "role": "SUPPORT_VIEWER",
            "workgroupId": gid("Workgroup", world.home.id),
        },
    )

    # Then they hold both
    assert body["data"]["grantRole"]["errors"] == []
    held = {a[2] for a in assignments(engine) if a[0] == World.email("sales_agent")}
    assert held == {"sales_agent", "support_viewer"}


def test_revoking_a_role_that_is_not_held_is_not_found(gql, engine, world):
    # Given the member of Home, who is no sales agent, and an address nobody uses
    before, log = assignments(engine), activity_rows(engine)
    home = gid("Workgroup", world.home.id)

    # When the admin revokes sales_agent from them
    bodies = [
        gql(
            World.email("admin"),
            REVOKE_ROLE,
            {"email": email, "role": "SALES_AGENT", "workgroupId": home},
        )
        for email in (World.email("member"), "ghost@home.example")
    ]

    # Then each is a NOT_FOUND user error, and nothing changed
    for body in bodies:
        assert [e["code"] for e in body["data"]["revokeRole"]["errors"]] == ["NOT_FOUND"]
    assert assignments(engine) == before
    assert activity_rows(engine) == log
    assert user_id(engine, "ghost@home.example") is None


# ---------------------------------------------------------------- grants take effect at once


@pytest.fixture
def agreement(session: Session, world: World):
    """An active agreement of a Home customer, so the dashboard has something to show."""
    today = today_utc()
    made = add_agreement(
        session=session,
        customer=world.home_customers[0],
        number="AG-1",
        name="Support",
        starts_on=today - dt.timedelta(days=30),
        ends_on=today + dt.timedelta(days=300),
    )
    session.commit()
    return made


def test_a_newly_granted_delegate_sees_the_dashboard_on_the_next_request(gql, world, agreement):
    # Given a user without roles is refused the customer-activity dashboard
    home = gid("Workgroup", world.home.id)
    refused = gql(DELEGATE, DASHBOARD)
    assert refused["data"]["customerActivity"] is None
    assert codes(refused) == ["FORBIDDEN"]

    # When the admin grants them customer_activity in Home
    granted = gql(
        World.email("admin"),
        GRANT_ROLE,
        {"email": DELEGATE, "role": "CUSTOMER_ACTIVITY", "workgroupId": home},
    )
    assert granted["data"]["grantRole"]["errors"] == []

    # Then their next request returns the data
    allowed = gql(DELEGATE, DASHBOARD)
    assert "errors" not in allowed
    assert allowed["data"]["customerActivity"]["agreements"] == [{"number": "AG-1"}]


def test_a_revoked_delegate_is_refused_the_dashboard_on_the_next_request(gql, world, agreement):
    # Given the customer_activity holder of Home sees the dashboard
    holder = World.email("customer_activity")
    home = gid("Workgroup", world.home.id)
    assert gql(holder, DASHBOARD)["data"]["customerActivity"]["agreements"] == [{"number": "AG-1"}]

    # When the admin revokes the role
    revoked = gql(
        World.email("admin"),
        REVOKE_ROLE,
        {"email": holder, "role": "CUSTOMER_ACTIVITY", "workgroupId": home},
    )
    assert revoked["data"]["revokeRole"]["errors"] == []

    # Then their next request is forbidden
    refused = gql(holder, DASHBOARD)
    assert refused["data"]["customerActivity"] is None
    assert codes(refused) == ["FORBIDDEN"]
    assert refused["errors"][0]["path"] == ["customerActivity"]


# ---------------------------------------------------------------- the role catalogue


def expected_catalogue(authorizer) -> dict[str, list[dict]]:
    """Each role's capabilities as policies.catalogue derives them from the policy."""
    return {
        role.name: [
            {
                "name": capability.name,
                "grants": [
                    {"coordinate": g.coordinate, "action": g.action} for g in capability.grants
                ],
            }
            for capability in capabilities_of(authorizer, role)
        ]
        for role in Role
    }


def policy_file_allows(authorizer, role: Role) -> set[tuple[str, str]]:
    """(coordinate, action) of every allow line in policy.csv for `role` and what it inherits."""
    subjects = authorizer.implied_roles(role.value)
    found = set()
    with open("policies/policy.csv") as policy:
        for raw in policy:
            if raw.lstrip().startswith("#"):
                continue
            parts = [p.strip() for p in raw.split(",")]
            if len(parts) == 6 and parts[0] == "p" and parts[1] in subjects and parts[5] == "allow":
                found.add((parts[3], parts[4]))
    return found


def test_roles_lists_every_role_with_purpose_and_capabilities_from_the_policy(
    gql, authorizer, world
):
    # Given any signed-in user
    # When they read the role catalogue
    body = gql(World.email("member"), ROLES_QUERY)

    # Then every role is there once, with its purpose and the capabilities the policy gives it
    assert "errors" not in body
    listed = {entry["role"]: entry for entry in body["data"]["roles"]}
    assert len(body["data"]["roles"]) == len(Role)
    assert set(listed) == {role.name for role in Role}
    catalogue = expected_catalogue(authorizer)
    for role in Role:
        entry = listed[role.name]
        assert entry["purpose"] == ROLE_PURPOSES[role]
        assert entry["purpose"].strip()
        assert entry["capabilities"] == catalogue[role.name]
        granted = {
            (g["coordinate"], g["action"]) for c in entry["capabilities"] for g in c["grants"]
        }
        assert granted == policy_file_allows(authorizer, role), role
    assert len({entry["purpose"] for entry in listed.values()}) == len(Role)


def test_the_catalogue_reflects_the_policy_grants_that_matter(gql, world):
    # Given the role catalogue
    body = gql(World.NOBODY, ROLES_QUERY)
    grants = {
        entry["role"]: {
            (g["coordinate"], g["action"]) for c in entry["capabilities"] for g in c["grants"]
        }
        for entry in body["data"]["roles"]
    }
    names = {
        entry["role"]: [c["name"] for c in entry["capabilities"]] for entry in body["data"]["roles"]
    }

    # Then only admins may grant roles; the activity log is read by admins and admin agents;
    # and every role includes what every signed-in user may do
    assert [r for r, g in grants.items() if ("Role.*", "grant") in g] == ["ADMIN"]
    assert sorted(r for r, g in grants.items() if ("Query.activity", "read") in g) == [
        "ADMIN",
        "ADMIN_AGENT",
    ]
    assert all("every signed-in user" in n for n in names.values())
    assert all(AUTHENTICATED not in n for n in names.values())


# ---------------------------------------------------------------- who holds what


def home_holders(engine: Engine, workgroup: Workgroup) -> list[tuple[str, str]]:
    return sorted(
        (email, Role(role).name) for email, wg, role in assignments(engine) if wg == workgroup.id
    )


def test_admins_see_who_holds_which_role_in_their_workgroup(gql, engine, world):
    # Given Home with one holder per role
    # When its admin lists the holders
    body = gql(
        World.email("admin"), ROLE_ASSIGNMENTS, {"workgroupId": gid("Workgroup", world.home.id)}
    )

    # Then every holder of Home is listed (and only those), ordered by e-mail
    assert "errors" not in body
    listed = body["data"]["roleAssignments"]
    assert [(a["email"], a["role"]) for a in listed] == home_holders(engine, world.home)
    assert len(listed) == len(ROLES)
    assert {a["workgroup"]["id"] for a in listed} == {gid("Workgroup", world.home.id)}
    assert all(a["id"] and a["grantedAt"] for a in listed)


def test_the_global_admin_sees_the_holders_of_any_workgroup(gql, engine, world):
    # When the global admin lists the holders of Away
    body = gql(
        World.GLOBAL_ADMIN, ROLE_ASSIGNMENTS, {"workgroupId": gid("Workgroup", world.away.id)}
    )

    # Then Away's admin is listed
    assert [(a["email"], a["role"]) for a in body["data"]["roleAssignments"]] == home_holders(
        engine, world.away
    )
    assert [a["email"] for a in body["data"]["roleAssignments"]] == [World.ADMIN_AWAY]


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_other_roles_see_no_holders(gql, world, role):
    # Given a non-admin role of Home
    # When they list the holders of Home
    body = gql(
        World.email(role), ROLE_ASSIGNMENTS, {"workgroupId": gid("Workgroup", world.home.id)}
    )

    # Then the list is empty (not an error)
    assert body == {"data": {"roleAssignments": []}}


@pytest.mark.parametrize("which", ["away", "missing", "garbage", "customer id"])
def test_an_admin_sees_no_holders_of_another_workgroup(gql, world, which):
    # Given the admin of Home, and a workgroup id that is not theirs
    workgroup_id = {
        "away": gid("Workgroup", world.away.id),
        "missing": gid("Workgroup", 987654),
        "garbage": "not-an-id",
        "customer id": gid("Customer", world.home_customers[0].id),
    }[which]

    # When they list its holders
    body = gql(World.email("admin"), ROLE_ASSIGNMENTS, {"workgroupId": workgroup_id})

    # Then the list is empty
    assert body == {"data": {"roleAssignments": []}}


def test_a_revoked_role_disappears_from_the_holders(gql, world):
    # Given the admin revokes the training manager's role
    home = gid("Workgroup", world.home.id)
    revoked = gql(
        World.email("admin"),
        REVOKE_ROLE,
        {"email": World.email("training_manager"), "role": "TRAINING_MANAGER", "workgroupId": home},
    )
    assert revoked["data"]["revokeRole"]["errors"] == []

    # When the holders are listed
    body = gql(World.email("admin"), ROLE_ASSIGNMENTS, {"workgroupId": home})

    # Then the training manager is no longer among them
    listed = [(a["email"], a["role"]) for a in body["data"]["roleAssignments"]]
    assert (World.email("training_manager"), "TRAINING_MANAGER") not in listed
    assert len(listed) == len(ROLES) - 1


def test_revoke_does_not_touch_the_same_role_in_another_workgroup(gql, session, engine, world):
    # Given a user who is a member of both Home and Away
    email = "both@example.com"
    grant(session, email, "member", world.home)
    grant(session, email, "member", world.away)

    # When the global admin revokes member in Home
    body = gql(
        World.GLOBAL_ADMIN,
        REVOKE_ROLE,
        {"email": email, "role": "MEMBER", "workgroupId": gid("Workgroup", world.home.id)},
    )

    # Then only the Home membership is gone
    assert body["data"]["revokeRole"]["errors"] == []
    held = {a for a in assignments(engine) if a[0] == email}
    assert held == {(email, world.away.id, "member")}
