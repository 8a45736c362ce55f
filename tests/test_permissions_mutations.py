"""The permission ladder for every mutation: anonymous, signed in without a role, a role in
another workgroup, each role of the workgroup input field by input field, a global admin, and
a user whose roles differ between workgroups (the spec is tests/permission_table).

A refused mutation answers FORBIDDEN and changes nothing: the row in the database and the
activity record are checked after every attempt. The world is shared by the module (see
`ladder`): a test that expects a change makes the customer it changes; refused attempts aim at
the world's customers, which no test may change.
"""

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from graph.ids import encode_id
from graph.schema import build_schema
from models.accounts.tables import Workgroup
from models.customers.operations import archive_customer
from models.customers.tables import Customer
from tests.conftest import ROLES, World, without_request_ids
from tests.permission_table import (
    CUSTOMER_VIEWERS,
    MIXED,
    MUTATION_WRITES,
    UPDATE_INPUT_FIELDS,
    UPDATE_INPUT_WRITES,
    Ladder,
    activity_count,
    column_of,
    errors_at,
    forbidden_paths,
    full_customer,
    granted_to,
    ladder_world,
    snapshot,
)

CREATE_WORKGROUP = """
mutation($name: String!) {
  createWorkgroup(name: $name) { workgroup { name } errors { field code } }
}
"""
ADD_CUSTOMER = """
mutation($input: AddCustomerInput!) {
  addCustomer(input: $input) { customer { companyName status } errors { field code } }
}
"""
UPDATE_CUSTOMER = """
mutation($id: ID!, $input: UpdateCustomerInput!) {
  updateCustomer(id: $id, input: $input) { customer { id version } errors { field code } }
}
"""
UPDATE_CUSTOMER_READING_RANK = """
mutation($id: ID!, $input: UpdateCustomerInput!) {
  updateCustomer(id: $id, input: $input) {
    customer { id companyName version rank } errors { field code }
  }
}
"""
ARCHIVE_CUSTOMER = """
mutation($id: ID!) { archiveCustomer(id: $id) { customer { id status } errors { field code } } }
"""
REACTIVATE_CUSTOMER = """
mutation($id: ID!) {
  reactivateCustomer(id: $id) { customer { id status } errors { field code } }
}
"""
STATUS_MUTATIONS = {
    "archiveCustomer": (ARCHIVE_CUSTOMER, "ACTIVE", "ARCHIVED"),
    "reactivateCustomer": (REACTIVATE_CUSTOMER, "ARCHIVED", "ACTIVE"),
}

# Who is signed in, by a short name used in test ids.
VIEWERS = {
    **{role: World.email(role) for role in ROLES},
    "nobody": World.NOBODY,
    "admin_away": World.ADMIN_AWAY,
    "global_admin": World.GLOBAL_ADMIN,
}
# (The global admin holds admin in every workgroup, so whatever admin may, they may.)
# Viewers for whom Home and its customers do not exist: their attempts must answer exactly
# like attempts on an id that names nothing.
OUTSIDERS = ("nobody", "admin_away")

# A value for each UpdateCustomerInput field, different from what `full_customer` sets.
UPDATE_VALUES: dict[str, Any] = {
    "companyName": "Renamed Ltd",
    "primaryDomain": "renamed.example",  # made unique per test: see `update_value`
    "domains": ["renamed-mail.example"],
    "primaryLocation": "FR",
    "city": "Paris",
    "state": "Ile-de-France",
    "address": "1 Rue de Rivoli",
    "postalCode": "75001",
    "phone": "+33 1 2345",
    "fax": "+33 1 6789",
    "industry": "HEALTHCARE",
    "companySize": "EMPLOYEES_501_1000",
    "rank": 42,
    "businessId": "FR-42",
    "renewalPolicy": "DO_NOT_AUTO_RENEW",
    "relationship": "CLOUD_RESELLER",
    "tags": ["gamma"],
}
# A new customer with every input field set.
ADD_VALUES: dict[str, Any] = {
    **UPDATE_VALUES,
    "companyName": "Added Ltd",
    "rank": 7,
}
MISSING_CUSTOMER = encode_id("Customer", 999999)
MISSING_WORKGROUP = encode_id("Workgroup", 999999)


@pytest.fixture(scope="module")
def ladder(engine, database_url) -> Iterator[Ladder]:
    yield from ladder_world(engine, database_url)


@pytest.fixture(autouse=True)
def _empty_tables() -> Iterator[None]:
    """Overrides the per-test emptying of conftest: `ladder` empties the tables once when the
    module is done; tests that write act on rows of their own."""
    yield


def unique() -> str:
    return uuid.uuid4().hex[:10]


def update_value(field: str, key: str) -> Any:
    if field == "primaryDomain":
        return f"renamed-{key}.example"
    return UPDATE_VALUES[field]


def new_customer(session: Session, ladder: Ladder, *, away: bool = False, archived=False):
    """A customer of Home (or Away) with every field set, for one test to act on."""
    workgroup = ladder.world.away if away else ladder.world.home
    customer = full_customer(session, workgroup, f"Target {unique()}", 7)
    if archived:
        archive_customer(session=session, customer=customer, expected_version=None, actor_id=None)
        session.commit()
    return customer


def shared_customer(ladder: Ladder, *, archived: bool = False) -> Customer:
    """A customer of the world (the archived one, if `archived`) for refused attempts."""
    return ladder.archived if archived else ladder.world.home_customers[0]


def gid(customer: Customer) -> str:
    return encode_id("Customer", customer.id)  # type: ignore[arg-type]


def assert_refused(body: dict[str, Any], mutation: str) -> None:
    """FORBIDDEN at the mutation's path, and no data for it."""
    assert body["data"] is None
    assert errors_at(body) == {(mutation,): "FORBIDDEN"}


def customers_with_domain(session: Session, domain: str) -> int:
    query = select(func.count()).select_from(Customer).where(Customer.primary_domain == domain)
    return session.execute(query).scalar_one()


# ------------------------------------------------------------------ the table


def test_the_ladder_has_a_row_for_every_customer_input_field():
    # given the schema's customer inputs
    types = build_schema()._schema.type_map
    update_fields = set(types["UpdateCustomerInput"].fields)  # type: ignore[union-attr]
    add_fields = set(types["AddCustomerInput"].fields)  # type: ignore[union-attr]

    # then the design's table decides every field of an update, and the ladder sets every
    # field of a new customer
    assert set(UPDATE_INPUT_FIELDS) == update_fields == set(UPDATE_VALUES)
    assert {*ADD_VALUES, "workgroupId"} == add_fields


# ------------------------------------------------------------------ anonymous

ANONYMOUS_ATTEMPTS = {
    "createWorkgroup": (CREATE_WORKGROUP, lambda c: {"name": "Anonymous"}),
    "addCustomer": (
        ADD_CUSTOMER,
        lambda c: {
            "input": {
                "workgroupId": encode_id("Workgroup", c.workgroup_id),
                "companyName": "Anonymous",
                "primaryDomain": "anonymous.example",
            }
        },
    ),
    "updateCustomer": (UPDATE_CUSTOMER, lambda c: {"id": gid(c), "input": {"rank": 1}}),
    "archiveCustomer": (ARCHIVE_CUSTOMER, lambda c: {"id": gid(c)}),
    "reactivateCustomer": (REACTIVATE_CUSTOMER, lambda c: {"id": gid(c)}),
}


@pytest.mark.parametrize("credentials", ["no token", "bad token"])
@pytest.mark.parametrize("mutation", list(ANONYMOUS_ATTEMPTS))
def test_anonymous_mutation_gets_401_and_changes_nothing(
    ladder: Ladder, session: Session, mutation: str, credentials: str
):
    # given a customer, and a request without a usable token
    customer = shared_customer(ladder, archived=mutation == "reactivateCustomer")
    before, activity = snapshot(session, customer.id), activity_count(session)
    workgroups = session.execute(select(func.count()).select_from(Workgroup)).scalar_one()
    headers = {} if credentials == "no token" else {"Authorization": "Bearer not.a.token"}
    query, variables = ANONYMOUS_ATTEMPTS[mutation]

    # when it runs the mutation
    response = ladder.gql.post(None, query, variables(customer), headers=headers)

    # then HTTP 401 UNAUTHENTICATED, and nothing changed
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert snapshot(session, customer.id) == before
    assert activity_count(session) == activity
    assert session.execute(select(func.count()).select_from(Workgroup)).scalar_one() == workgroups
    assert customers_with_domain(session, "anonymous.example") == 0


# ------------------------------------------------------------------ createWorkgroup


@pytest.mark.parametrize("viewer", [*VIEWERS, "mixed"])
def test_only_a_global_admin_creates_a_workgroup(ladder: Ladder, session: Session, viewer: str):
    # given a viewer; holding admin in some workgroup is not holding it in every workgroup
    email = MIXED if viewer == "mixed" else VIEWERS[viewer]
    allowed = viewer == "global_admin" or viewer in granted_to(MUTATION_WRITES, "createWorkgroup")
    name = f"New {unique()}"
    activity = activity_count(session)

    # when they create a workgroup
    body = ladder.gql(email, CREATE_WORKGROUP, {"name": name})

    # then only the global admin succeeds; anyone else gets FORBIDDEN and nothing is created
    created = session.execute(select(Workgroup).where(Workgroup.name == name)).scalars().all()
    if allowed:
        assert body == {"data": {"createWorkgroup": {"workgroup": {"name": name}, "errors": []}}}
        assert len(created) == 1
        assert activity_count(session) == activity + 1
    else:
        assert_refused(body, "createWorkgroup")
        assert created == []
        assert activity_count(session) == activity


# ------------------------------------------------------------------ addCustomer


def add_input(workgroup_id: str, key: str) -> dict[str, Any]:
    return {**ADD_VALUES, "workgroupId": workgroup_id, "primaryDomain": f"added-{key}.example"}


@pytest.mark.parametrize("viewer", list(VIEWERS))
def test_add_customer_ladder(ladder: Ladder, session: Session, viewer: str):
    # given a viewer, and a new customer for Home with every input field set
    key = unique()
    email = VIEWERS[viewer]
    allowed = viewer == "global_admin" or viewer in granted_to(MUTATION_WRITES, "addCustomer")
    activity = activity_count(session)

    # when they add it
    response = ladder.gql.post(email, ADD_CUSTOMER, {"input": add_input(ladder.home_id(), key)})

    # then admins add it with every field; anyone else gets FORBIDDEN, and those outside Home
    # the very answer for a workgroup that does not exist; a refusal adds nothing
    body = response.json()
    rows = session.execute(
        select(Customer.id).where(Customer.primary_domain == f"added-{key}.example")
    ).scalars()
    added = [snapshot(session, row_id) for row_id in rows]
    if allowed:
        assert body == {
            "data": {
                "addCustomer": {
                    "customer": {"companyName": "Added Ltd", "status": "ACTIVE"},
                    "errors": [],
                }
            }
        }
        assert len(added) == 1
        assert {column_of(f): added[0][column_of(f)] for f in ADD_VALUES} == {
            column_of(f): f"added-{key}.example" if f == "primaryDomain" else value
            for f, value in ADD_VALUES.items()
        }
        assert activity_count(session) == activity + 1
        return
    if viewer in OUTSIDERS:
        missing = ladder.once(email, ADD_CUSTOMER, {"input": add_input(MISSING_WORKGROUP, key)})
        assert without_request_ids(response.json()) == without_request_ids(missing.json())
    else:
        assert_refused(body, "addCustomer")
    assert added == []
    assert activity_count(session) == activity


@pytest.mark.parametrize("viewer", ["admin", "admin_agent", "admin_away", "global_admin"])
def test_add_customer_to_a_workgroup_that_does_not_exist_is_not_found(
    ladder: Ladder, session: Session, viewer: str
):
    # given a viewer who may add customers (somewhere), and a workgroup id that names nothing
    key = unique()
    activity = activity_count(session)

    # when they add a customer to it
    body = ladder.gql(VIEWERS[viewer], ADD_CUSTOMER, {"input": add_input(MISSING_WORKGROUP, key)})

    # then the answer is the NOT_FOUND user error (as for a workgroup they may not see), and
    # nothing is added
    assert body == {
        "data": {
            "addCustomer": {
                "customer": None,
                "errors": [{"field": "workgroupId", "code": "NOT_FOUND"}],
            }
        }
    }
    assert customers_with_domain(session, f"added-{key}.example") == 0
    assert activity_count(session) == activity


# ------------------------------------------------------------------ updateCustomer


def expected_update(role: str, field: str) -> bool:
    """§3: the role may run updateCustomer and set this input field."""
    return role in granted_to(MUTATION_WRITES, "updateCustomer") and role in granted_to(
        UPDATE_INPUT_WRITES, field
    )


def assert_changed(before: dict, after: dict, changes: dict[str, Any]) -> None:
    """`after` is `before` with exactly `changes` (GraphQL names) applied and a new version."""
    expected = dict(before)
    for field, value in changes.items():
        expected[column_of(field)] = value
    assert after["version"] == before["version"] + 1
    ignored = ("version", "updated_at")
    assert {k: v for k, v in after.items() if k not in ignored} == {
        k: v for k, v in expected.items() if k not in ignored
    }


@pytest.mark.parametrize("field", UPDATE_INPUT_FIELDS)
@pytest.mark.parametrize("role", ROLES)
def test_update_customer_ladder_field_by_field(
    ladder: Ladder, session: Session, role: str, field: str
):
    # given a Home customer (a new one when the change is to be made) and a role of Home
    # that sets one input field
    allowed = expected_update(role, field)
    customer = new_customer(session, ladder) if allowed else shared_customer(ladder)
    before, activity = snapshot(session, customer.id), activity_count(session)
    changes = {field: update_value(field, unique())}

    # when the role updates that field
    response = ladder.gql.post(
        World.email(role), UPDATE_CUSTOMER, {"id": gid(customer), "input": changes}
    )

    # then the field changes if §3 lets the role write it; else FORBIDDEN and nothing changes
    body = response.json()
    if allowed:
        assert body == {
            "data": {
                "updateCustomer": {
                    "customer": {"id": gid(customer), "version": before["version"] + 1},
                    "errors": [],
                }
            }
        }
        assert_changed(before, snapshot(session, customer.id), changes)
        assert activity_count(session) == activity + 1
        return
    assert_refused(body, "updateCustomer")
    assert snapshot(session, customer.id) == before
    assert activity_count(session) == activity
    if role not in CUSTOMER_VIEWERS:  # the row does not exist for this role
        missing = ladder.once(
            World.email(role), UPDATE_CUSTOMER, {"id": MISSING_CUSTOMER, "input": changes}
        )
        assert without_request_ids(response.json()) == without_request_ids(missing.json())


@pytest.mark.parametrize("field", ["companyName", "rank", "tags"])
@pytest.mark.parametrize("viewer", OUTSIDERS)
def test_update_from_outside_the_workgroup_answers_like_a_missing_id(
    ladder: Ladder, session: Session, viewer: str, field: str
):
    # given a Home customer, and a viewer with no role in Home
    customer = shared_customer(ladder)
    before, activity = snapshot(session, customer.id), activity_count(session)
    variables = {"id": gid(customer), "input": {field: update_value(field, unique())}}

    # when they update it, and update an id that names nothing
    response = ladder.gql.post(VIEWERS[viewer], UPDATE_CUSTOMER, variables)
    missing = ladder.once(VIEWERS[viewer], UPDATE_CUSTOMER, {**variables, "id": MISSING_CUSTOMER})

    # then both answers are the same, byte for byte, and nothing changed
    assert response.status_code == missing.status_code == 200
    assert without_request_ids(response.json()) == without_request_ids(missing.json())
    assert gid(customer) not in response.text
    assert snapshot(session, customer.id) == before
    assert activity_count(session) == activity


@pytest.mark.parametrize("viewer", ["admin", "admin_agent", "global_admin", "sales_agent"])
def test_update_every_field_at_once(ladder: Ladder, session: Session, viewer: str):
    # given a Home customer, and a change to every input field at once
    customer = new_customer(session, ladder)
    before, activity = snapshot(session, customer.id), activity_count(session)
    changes = {field: update_value(field, unique()) for field in UPDATE_INPUT_FIELDS}
    allowed = viewer == "global_admin" or all(expected_update(viewer, f) for f in changes)

    # when the viewer sends it
    body = ladder.gql(VIEWERS[viewer], UPDATE_CUSTOMER, {"id": gid(customer), "input": changes})

    # then all of it is applied, or (one field being forbidden) none of it
    if allowed:
        assert body["data"]["updateCustomer"]["errors"] == []
        assert_changed(before, snapshot(session, customer.id), changes)
        assert activity_count(session) == activity + 1
    else:
        assert_refused(body, "updateCustomer")
        assert snapshot(session, customer.id) == before
        assert activity_count(session) == activity


@pytest.mark.parametrize("rank", [42, None], ids=["a rank", "null"])
def test_sales_agent_sending_rank_is_refused_and_nothing_changes(
    ladder: Ladder, session: Session, rank: int | None
):
    # given a Home customer, and a change of its company name (allowed) with its rank
    customer = new_customer(session, ladder)
    before, activity = snapshot(session, customer.id), activity_count(session)
    changes = {"companyName": "Sneaky Ltd", "rank": rank}

    # when a sales agent sends it
    body = ladder.gql(
        World.email("sales_agent"), UPDATE_CUSTOMER, {"id": gid(customer), "input": changes}
    )

    # then FORBIDDEN, and neither the rank nor the company name changed
    assert_refused(body, "updateCustomer")
    assert snapshot(session, customer.id) == before
    assert activity_count(session) == activity


def test_sales_agent_update_payload_withholds_rank(ladder: Ladder, session: Session):
    # given a Home customer
    customer = new_customer(session, ladder)
    before = snapshot(session, customer.id)

    # when a sales agent changes its company name and reads rank back in the payload
    body = ladder.gql(
        World.email("sales_agent"),
        UPDATE_CUSTOMER_READING_RANK,
        {"id": gid(customer), "input": {"companyName": "Renamed Ltd"}},
    )

    # then the change is made and answered, with rank null and FORBIDDEN at its path
    assert body["data"] == {
        "updateCustomer": {
            "customer": {
                "id": gid(customer),
                "companyName": "Renamed Ltd",
                "version": before["version"] + 1,
                "rank": None,
            },
            "errors": [],
        }
    }
    assert errors_at(body) == {("updateCustomer", "customer", "rank"): "FORBIDDEN"}
    assert snapshot(session, customer.id)["company_name"] == "Renamed Ltd"


# ------------------------------------------------------------------ archive and reactivate


@pytest.mark.parametrize("viewer", list(VIEWERS))
@pytest.mark.parametrize("mutation", list(STATUS_MUTATIONS))
def test_archive_and_reactivate_ladder(
    ladder: Ladder, session: Session, mutation: str, viewer: str
):
    # given a Home customer that can undergo the mutation (archived, to be reactivated)
    query, status_before, status_after = STATUS_MUTATIONS[mutation]
    email = VIEWERS[viewer]
    allowed = viewer == "global_admin" or viewer in granted_to(MUTATION_WRITES, mutation)
    archived = status_before == "ARCHIVED"
    customer = (
        new_customer(session, ladder, archived=archived)
        if allowed
        else shared_customer(ladder, archived=archived)
    )
    before, activity = snapshot(session, customer.id), activity_count(session)
    assert before["status"] == status_before

    # when the viewer runs it, and runs it on an id that names nothing
    response = ladder.gql.post(email, query, {"id": gid(customer)})
    missing = ladder.once(email, query, {"id": MISSING_CUSTOMER})

    # then admins change the status; anyone else gets FORBIDDEN (outsiders: the answer for a
    # missing id) and the row is as it was
    body = response.json()
    if allowed:
        assert body == {
            "data": {
                mutation: {"customer": {"id": gid(customer), "status": status_after}, "errors": []}
            }
        }
        assert snapshot(session, customer.id)["status"] == status_after
        assert activity_count(session) == activity + 1
        return
    if viewer in OUTSIDERS or viewer not in CUSTOMER_VIEWERS:
        assert without_request_ids(response.json()) == without_request_ids(missing.json())
    if viewer not in OUTSIDERS:
        assert_refused(body, mutation)
    assert snapshot(session, customer.id) == before
    assert activity_count(session) == activity


# ------------------------------------------------------------------ roles that differ by workgroup

# Attempts of a user who is admin in Home and sales_agent in Away: the mutation, the input
# field set (if any) and the column it changes to what.
MIXED_ROLES = {"Home": "admin", "Away": "sales_agent"}
MIXED_ATTEMPTS: dict[str, tuple[str, str, dict[str, Any], str, Any]] = {
    "companyName": (
        UPDATE_CUSTOMER,
        "updateCustomer",
        {"input": {"companyName": "Mixed Ltd"}},
        "company_name",
        "Mixed Ltd",
    ),
    "rank": (UPDATE_CUSTOMER, "updateCustomer", {"input": {"rank": 99}}, "rank", 99),
    "archive": (ARCHIVE_CUSTOMER, "archiveCustomer", {}, "status", "ARCHIVED"),
}


@pytest.mark.parametrize("workgroup", ["Home", "Away"])
@pytest.mark.parametrize("attempt", list(MIXED_ATTEMPTS))
def test_mixed_roles_write_by_the_rows_workgroup(
    ladder: Ladder, session: Session, attempt: str, workgroup: str
):
    # given a user who is admin in Home and sales_agent in Away, and a customer of one of them
    customer = new_customer(session, ladder, away=workgroup == "Away")
    before, activity = snapshot(session, customer.id), activity_count(session)
    query, mutation, variables, column, value = MIXED_ATTEMPTS[attempt]
    role = MIXED_ROLES[workgroup]
    allowed = (
        expected_update(role, attempt)
        if mutation == "updateCustomer"
        else role in granted_to(MUTATION_WRITES, mutation)
    )

    # when they make the change
    body = ladder.gql(MIXED, query, {"id": gid(customer), **variables})

    # then the role held in the customer's workgroup decides
    if allowed:
        assert "errors" not in body
        assert body["data"][mutation]["errors"] == []
        assert snapshot(session, customer.id)[column] == value != before[column]
        assert activity_count(session) == activity + 1
    else:
        assert_refused(body, mutation)
        assert forbidden_paths(body) == {(mutation,)}
        assert snapshot(session, customer.id) == before
        assert activity_count(session) == activity
