"""The audit trail says exactly what changed.

Each activity record holds the changed fields in API terms (GraphQL field names of the type
policies/activity_subjects.py declares, references as global ids): an update the old and the
new value of exactly the changed fields, a creation `after` only, a removal `before` only.
A customer's feed (and `activity(customerId:)`) lists the changes to it and to its contacts,
contracts, service level, tags, orders and project memberships, and no other customer's, in
two statements however many customers a page lists. A customer has one contact per e-mail
address (compared case-insensitively), and no tag holds a comma (the CSV cell separator).
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from graphql import get_named_type
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from graph.ids import decode_id, encode_id
from graph.schema import build_schema
from models.audit.activity import ActivityRecord
from models.customers.tables import Customer
from models.customers.tags import set_tags, tags_by_customer
from models.partner import operations as partner
from policies.activity_subjects import ACTIVITY_SUBJECTS
from tests.conftest import World, table_rows
from tests.import_support import csv_text, run, uploaded_job

SCHEMA = build_schema()._schema
ADMIN = World.email("admin")

ERRORS = "errors { field code }"
ADD_CUSTOMER = f"""
mutation($input: AddCustomerInput!) {{
  addCustomer(input: $input) {{ customer {{ id }} {ERRORS} }}
}}
"""
UPDATE_CUSTOMER = f"""
mutation($id: ID!, $input: UpdateCustomerInput!) {{
  updateCustomer(id: $id, input: $input) {{ customer {{ id }} {ERRORS} }}
}}
"""
ARCHIVE_CUSTOMER = f"mutation($id: ID!) {{ archiveCustomer(id: $id) {{ {ERRORS} }} }}"
REACTIVATE_CUSTOMER = f"mutation($id: ID!) {{ reactivateCustomer(id: $id) {{ {ERRORS} }} }}"
ADD_CONTACT = f"""
mutation($input: AddContactInput!) {{
  addContact(input: $input) {{ contact {{ id email }} {ERRORS} }}
}}
"""
UPDATE_CONTACT = f"""
mutation($id: ID!, $input: UpdateContactInput!) {{
  updateContact(id: $id, input: $input) {{ contact {{ id email }} {ERRORS} }}
}}
"""
MOVE_CONTACT = f"""
mutation($id: ID!, $customerId: ID) {{
  moveContact(id: $id, customerId: $customerId) {{ contact {{ id }} {ERRORS} }}
}}
"""
SET_MAIN_CONTACT = f"""
mutation($customerId: ID!, $contactId: ID!) {{
  setMainContact(customerId: $customerId, contactId: $contactId) {{ contact {{ id }} {ERRORS} }}
}}
"""
SET_TICKET_POLICY = f"""
mutation($customerId: ID!, $only: Boolean!) {{
  setTicketPolicy(customerId: $customerId, mainContactOnly: $only) {{ {ERRORS} }}
}}
"""
ADD_TAGS = f"""
mutation($customerId: ID!, $tags: [String!]!) {{
  addTags(customerId: $customerId, tags: $tags) {{ customer {{ tags }} {ERRORS} }}
}}
"""
REMOVE_TAGS = ADD_TAGS.replace("addTags", "removeTags")
CREATE_ORDER = f"""
mutation($customerId: ID!, $lines: [OrderLineInput!]!) {{
  createOrder(customerId: $customerId, catalog: AZURE, lines: $lines) {{ order {{ id }} {ERRORS} }}
}}
"""
ADD_CONTRACT = f"""
mutation($customerId: ID!, $input: AddContractInput!) {{
  addContract(customerId: $customerId, input: $input) {{ contract {{ id }} {ERRORS} }}
}}
"""
SET_SERVICE_LEVEL = f"""
mutation($customerId: ID!, $first: Int!, $resolution: Int!, $profile: String!) {{
  setServiceLevel(
    customerId: $customerId, firstResponseMinutes: $first, resolutionMinutes: $resolution,
    alertProfile: $profile
  ) {{ {ERRORS} }}
}}
"""
CREATE_PROJECT = f"""
mutation($workgroupId: ID!, $name: String!) {{
  createProject(workgroupId: $workgroupId, name: $name) {{ project {{ id }} {ERRORS} }}
}}
"""
ADD_PROJECT_MEMBER = f"""
mutation($projectId: ID!, $customerId: ID!) {{
  addProjectMember(projectId: $projectId, customerId: $customerId) {{ {ERRORS} }}
}}
"""
REMOVE_PROJECT_MEMBER = ADD_PROJECT_MEMBER.replace("addProjectMember", "removeProjectMember")
FEED = """
query($id: ID!) {
  customer(id: $id) {
    feed(first: 100) {
      totalCount
      edges { node { id action targetType targetId before after } }
    }
  }
}
"""
CUSTOMER_ACTIVITY = """
query($customerId: ID!) {
  activity(customerId: $customerId, first: 100) { totalCount edges { node { id } } }
}
"""
FEEDS = """
query($first: Int!) {
  customers(first: $first) {
    edges { node { id feed(first: 3) { totalCount edges { node { id action } } } } }
  }
}
"""
WORKGROUP_ACTIVITY = """
query($workgroupId: ID!) {
  activity(workgroupId: $workgroupId, first: 1000) {
    edges { node { id action before after } }
  }
}
"""


# ---------------------------------------------------------------- helpers


def gid(type_name: str, pk: int | None) -> str:
    return encode_id(type_name, pk)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Record:
    id: int
    action: str
    target_type: str
    target_id: int | None
    customer_id: int | None
    before: dict | None
    after: dict | None


def all_records(engine: Engine) -> list[Record]:
    """Every activity record, oldest first, read fresh from the database."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                ActivityRecord.id,
                ActivityRecord.action,
                ActivityRecord.target_type,
                ActivityRecord.target_id,
                ActivityRecord.customer_id,
                ActivityRecord.before,
                ActivityRecord.after,
            ).order_by(ActivityRecord.id)
        ).all()
    return [Record(*row) for row in rows]


def _global_id(value: Any) -> bool:
    return isinstance(value, str) and decode_id(value) is not None


def records_since(engine: Engine, known: list[Record]) -> list[Record]:
    last = known[-1].id if known else 0
    return [r for r in all_records(engine) if r.id > last]


def done(body: dict, field: str) -> dict:
    """The payload of a mutation that succeeded."""
    assert "errors" not in body, body
    payload = body["data"][field]
    assert payload["errors"] == [], payload
    return payload


def refused(body: dict, field: str) -> list[tuple[str, str]]:
    assert "errors" not in body, body
    return [(e["field"], e["code"]) for e in body["data"][field]["errors"]]


def one_change(gql, engine, document: str, variables: dict, field: str) -> Record:
    """Runs a mutation that must succeed and write exactly one record; returns that record."""
    known = all_records(engine)
    done(gql(ADMIN, document, variables), field)
    written = records_since(engine, known)
    assert len(written) == 1, written
    return written[0]


def no_change(gql, engine, document: str, variables: dict, field: str) -> None:
    """Runs a mutation that must succeed without writing a record (it changes nothing)."""
    known = all_records(engine)
    done(gql(ADMIN, document, variables), field)
    assert all_records(engine) == known


def contact_input(world: World, customer: Customer | None, email: str, **extra: Any) -> dict:
    return {
        "input": {
            "workgroupId": gid("Workgroup", world.home.id),
            "customerId": gid("Customer", customer.id) if customer else None,
            "firstName": "Ann",
            "lastName": "Archer",
            "email": email,
            **extra,
        }
    }


def add_contact(gql, world: World, customer: Customer | None, email: str, **extra: Any) -> str:
    payload = done(
        gql(ADMIN, ADD_CONTACT, contact_input(world, customer, email, **extra)), "addContact"
    )
    return payload["contact"]["id"]


# ---------------------------------------------------------------- values, per mutation family


def test_customer_changes_record_exactly_the_changed_fields(gql, engine, world):
    customer = world.home_customers[0]
    customer_id = gid("Customer", customer.id)

    # When a customer is added, updated (one field to the same value, two to new ones),
    # archived and reactivated
    added = one_change(
        gql,
        engine,
        ADD_CUSTOMER,
        {
            "input": {
                "workgroupId": gid("Workgroup", world.home.id),
                "companyName": "Newco",
                "primaryDomain": "newco.example",
                "primaryLocation": "de",
                "tags": ["VIP"],
            }
        },
        "addCustomer",
    )
    updated = one_change(
        gql,
        engine,
        UPDATE_CUSTOMER,
        {"id": customer_id, "input": {"city": "Berlin", "rank": 7, "businessId": "H-7"}},
        "updateCustomer",
    )
    archived = one_change(gql, engine, ARCHIVE_CUSTOMER, {"id": customer_id}, "archiveCustomer")
    reactivated = one_change(
        gql, engine, REACTIVATE_CUSTOMER, {"id": customer_id}, "reactivateCustomer"
    )

    # Then the creation holds the new values only, camelCase; the update the old and new
    # value of exactly the two changed fields; archiving and reactivating both sides of the
    # status and archivedAt; each concerns its customer
    assert (added.before, added.after) == (
        None,
        {
            "companyName": "Newco",
            "primaryDomain": "newco.example",
            "primaryLocation": "DE",
            "tags": ["VIP"],
        },
    )
    assert added.customer_id == added.target_id
    assert (updated.before, updated.after) == (
        {"rank": 0, "businessId": "H-0"},
        {"rank": 7, "businessId": "H-7"},
    )
    assert archived.before == {"status": "ACTIVE", "archivedAt": None}
    assert archived.after["status"] == "ARCHIVED"  # type: ignore[index]
    archived_at = dt.datetime.fromisoformat(archived.after["archivedAt"])  # type: ignore[index]
    assert abs(archived_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    assert (reactivated.before, reactivated.after) == (
        archived.after,
        {"status": "ACTIVE", "archivedAt": None},
    )
    assert {r.customer_id for r in (updated, archived, reactivated)} == {customer.id}


def test_contact_changes_record_camel_case_fields_and_global_ids(gql, engine, world):
    first, second = world.home_customers[0], world.home_customers[1]

    # When a contact is added to a customer, updated (its first name to the same value, its
    # job title and phone to new ones), made main contact, and moved to another customer
    known = all_records(engine)
    ann = add_contact(gql, world, first, "Ann@X.example", jobTitle="CTO")
    (added,) = records_since(engine, known)
    updated = one_change(
        gql,
        engine,
        UPDATE_CONTACT,
        {"id": ann, "input": {"firstName": " Ann ", "jobTitle": "CEO", "phone": "+49 1"}},
        "updateContact",
    )
    main = one_change(
        gql,
        engine,
        SET_MAIN_CONTACT,
        {"customerId": gid("Customer", first.id), "contactId": ann},
        "setMainContact",
    )
    moved = one_change(
        gql,
        engine,
        MOVE_CONTACT,
        {"id": ann, "customerId": gid("Customer", second.id)},
        "moveContact",
    )
    left = one_change(gql, engine, MOVE_CONTACT, {"id": ann, "customerId": None}, "moveContact")

    # Then the values are the API's: camelCase names, the customer as a global id
    assert (added.action, added.before, added.after) == (
        "contact.add",
        None,
        {
            "firstName": "Ann",
            "lastName": "Archer",
            "email": "ann@x.example",
            "jobTitle": "CTO",
            "customerId": gid("Customer", first.id),
        },
    )
    assert (updated.before, updated.after) == (
        {"jobTitle": "CTO", "phone": None},
        {"jobTitle": "CEO", "phone": "+49 1"},
    )
    assert (main.action, main.target_type, main.before, main.after) == (
        "contact.set_main",
        "Customer",
        {"mainContact": None},
        {"mainContact": "ann@x.example"},
    )
    assert (moved.before, moved.after) == (
        {"customerId": gid("Customer", first.id), "isMain": True},
        {"customerId": gid("Customer", second.id), "isMain": False},
    )
    assert (left.before, left.after) == (
        {"customerId": gid("Customer", second.id)},
        {"customerId": None},
    )
    # and each concerns the customer the contact was at (joined, or left for none)
    assert [r.customer_id for r in (added, updated, main, moved, left)] == [
        first.id,
        first.id,
        first.id,
        second.id,
        second.id,
    ]

    # When the same values are set again, nothing changed, and nothing is recorded
    no_change(
        gql, engine, UPDATE_CONTACT, {"id": ann, "input": {"jobTitle": "CEO"}}, "updateContact"
    )
    no_change(gql, engine, MOVE_CONTACT, {"id": ann, "customerId": None}, "moveContact")


def test_ticket_policy_and_tag_changes_record_both_sides(gql, engine, world):
    customer_id = gid("Customer", world.home_customers[0].id)  # tagged "alpha"

    # When the ticket policy changes, tags are added and removed, and a tag it has is added
    policy = one_change(
        gql, engine, SET_TICKET_POLICY, {"customerId": customer_id, "only": True}, "setTicketPolicy"
    )
    added = one_change(
        gql, engine, ADD_TAGS, {"customerId": customer_id, "tags": ["Fresh", "beta"]}, "addTags"
    )
    removed = one_change(
        gql, engine, REMOVE_TAGS, {"customerId": customer_id, "tags": ["ALPHA"]}, "removeTags"
    )

    # Then each records the value before and after
    assert (policy.before, policy.after) == (
        {"acceptTicketsFromMainContactOnly": False},
        {"acceptTicketsFromMainContactOnly": True},
    )
    assert (added.before, added.after) == (
        {"tags": ["alpha"]},
        {"tags": ["alpha", "beta", "Fresh"]},
    )
    assert (removed.before, removed.after) == (
        {"tags": ["alpha", "beta", "Fresh"]},
        {"tags": ["beta", "Fresh"]},
    )
    # and a change to what is there already records nothing
    no_change(gql, engine, ADD_TAGS, {"customerId": customer_id, "tags": ["fresh"]}, "addTags")
    no_change(gql, engine, REMOVE_TAGS, {"customerId": customer_id, "tags": ["gone"]}, "removeTags")
    no_change(
        gql, engine, SET_TICKET_POLICY, {"customerId": customer_id, "only": True}, "setTicketPolicy"
    )


def test_orders_contracts_and_service_levels_record_what_they_created_or_changed(
    gql, engine, world
):
    customer = world.home_customers[0]
    customer_id = gid("Customer", customer.id)

    # When an order and a contract are created, and a service level set, then changed
    known = all_records(engine)
    order = done(
        gql(
            ADMIN,
            CREATE_ORDER,
            {"customerId": customer_id, "lines": [{"product": " Seats ", "quantity": 3}]},
        ),
        "createOrder",
    )["order"]["id"]
    contract = done(
        gql(
            ADMIN,
            ADD_CONTRACT,
            {
                "customerId": customer_id,
                "input": {
                    "name": "Support",
                    "type": "HOURLY",
                    "rate": 95.5,
                    "startsOn": "2026-01-01",
                },
            },
        ),
        "addContract",
    )["contract"]["id"]
    ordered, contracted = records_since(engine, known)
    level = {"customerId": customer_id, "first": 60, "resolution": 480, "profile": "Standard"}
    first_level = one_change(gql, engine, SET_SERVICE_LEVEL, level, "setServiceLevel")
    changed_level = one_change(
        gql, engine, SET_SERVICE_LEVEL, {**level, "resolution": 240}, "setServiceLevel"
    )

    # Then creations hold what was created, with its global id; the change the one field
    assert (ordered.action, ordered.before, ordered.after) == (
        "order.create",
        None,
        {"id": order, "catalog": "AZURE", "lines": [{"product": "Seats", "quantity": 3}]},
    )
    assert (contracted.action, contracted.before, contracted.after) == (
        "contract.add",
        None,
        {
            "id": contract,
            "name": "Support",
            "type": "HOURLY",
            "rate": 95.5,
            "startsOn": "2026-01-01",
        },
    )
    assert (first_level.before, first_level.after) == (
        None,
        {"firstResponseMinutes": 60, "resolutionMinutes": 480, "alertProfile": "Standard"},
    )
    assert (changed_level.before, changed_level.after) == (
        {"resolutionMinutes": 480},
        {"resolutionMinutes": 240},
    )
    assert {r.customer_id for r in (ordered, contracted, first_level, changed_level)} == {
        customer.id
    }
    # and setting the same targets again records nothing
    no_change(gql, engine, SET_SERVICE_LEVEL, {**level, "resolution": 240}, "setServiceLevel")


def test_project_memberships_record_the_customer_as_a_global_id(gql, engine, world):
    customer = world.home_customers[0]
    project = done(
        gql(
            ADMIN,
            CREATE_PROJECT,
            {"workgroupId": gid("Workgroup", world.home.id), "name": "Rollout"},
        ),
        "createProject",
    )["project"]["id"]
    membership = {"projectId": project, "customerId": gid("Customer", customer.id)}

    # When the customer joins the project and leaves it again
    joined = one_change(gql, engine, ADD_PROJECT_MEMBER, membership, "addProjectMember")
    left = one_change(gql, engine, REMOVE_PROJECT_MEMBER, membership, "removeProjectMember")

    # Then joining is recorded after, leaving before, both naming the customer by global id
    assert (joined.before, joined.after) == (None, {"customerId": gid("Customer", customer.id)})
    assert (left.before, left.after) == ({"customerId": gid("Customer", customer.id)}, None)
    assert (joined.customer_id, left.customer_id) == (customer.id, customer.id)
    assert gid("Project", joined.target_id) == project


# ---------------------------------------------------------------- a tour of every partner change


@dataclass
class Tour:
    first: Customer
    second: Customer
    first_records: set[int]  # the ids of the records about the first customer
    second_records: set[int]


@pytest.fixture
def tour(gql, engine, world) -> Tour:
    """The admin changes the first and the second Home customer in every partner way."""
    first, second = world.home_customers[0], world.home_customers[1]
    project = done(
        gql(ADMIN, CREATE_PROJECT, {"workgroupId": gid("Workgroup", world.home.id), "name": "P"}),
        "createProject",
    )["project"]["id"]
    written: dict[int, set[int]] = {}
    for customer, email in ((first, "ann@x.example"), (second, "ann@x.example")):
        known = all_records(engine)
        customer_id = gid("Customer", customer.id)
        contact = add_contact(gql, world, customer, email)
        calls = [
            (UPDATE_CONTACT, {"id": contact, "input": {"jobTitle": "CTO"}}, "updateContact"),
            (SET_MAIN_CONTACT, {"customerId": customer_id, "contactId": contact}, "setMainContact"),
            (SET_TICKET_POLICY, {"customerId": customer_id, "only": True}, "setTicketPolicy"),
            (ADD_TAGS, {"customerId": customer_id, "tags": ["fresh"]}, "addTags"),
            (
                CREATE_ORDER,
                {"customerId": customer_id, "lines": [{"product": "X", "quantity": 1}]},
                "createOrder",
            ),
            (
                ADD_CONTRACT,
                {"customerId": customer_id, "input": {"name": "C", "type": "HOURLY"}},
                "addContract",
            ),
            (
                SET_SERVICE_LEVEL,
                {"customerId": customer_id, "first": 60, "resolution": 480, "profile": "S"},
                "setServiceLevel",
            ),
            (
                ADD_PROJECT_MEMBER,
                {"projectId": project, "customerId": customer_id},
                "addProjectMember",
            ),
            (
                REMOVE_PROJECT_MEMBER,
                {"projectId": project, "customerId": customer_id},
                "removeProjectMember",
            ),
        ]
        for document, variables, field in calls:
            done(gql(ADMIN, document, variables), field)
        written[customer.id] = {r.id for r in records_since(engine, known)}  # type: ignore[index]
        assert len(written[customer.id]) == len(calls) + 1  # type: ignore[index]
    return Tour(first, second, written[first.id], written[second.id])  # type: ignore[index]


TOUR_ACTIONS = [  # newest first
    "project.member.remove",
    "project.member.add",
    "customer.service_level",
    "contract.add",
    "order.create",
    "customer.tags",
    "customer.ticket_policy",
    "contact.set_main",
    "contact.update",
    "contact.add",
    "customer.add",
]


def test_a_customers_feed_lists_the_changes_to_everything_it_has_and_no_other_customers(
    gql, engine, tour
):
    for customer, own, other in (
        (tour.first, tour.first_records, tour.second_records),
        (tour.second, tour.second_records, tour.first_records),
    ):
        # When the admin reads the customer's feed, and the log filtered by the customer
        customer_id = gid("Customer", customer.id)
        feed = gql(ADMIN, FEED, {"id": customer_id})
        filtered = gql(ADMIN, CUSTOMER_ACTIVITY, {"customerId": customer_id})
        assert "errors" not in feed and "errors" not in filtered, (feed, filtered)

        # Then both list its own changes, its contact's and its project membership's among
        # them, newest first, and none of the other customer's
        nodes = [edge["node"] for edge in feed["data"]["customer"]["feed"]["edges"]]
        assert [n["action"] for n in nodes] == TOUR_ACTIONS
        ids = {decode_id(n["id"], "ActivityRecord")[1] for n in nodes}  # type: ignore[index]
        assert own <= ids
        assert ids.isdisjoint(other)
        assert {n["targetType"] for n in nodes} == {"Customer", "Contact", "Project"}
        assert feed["data"]["customer"]["feed"]["totalCount"] == len(TOUR_ACTIONS)
        assert [e["node"]["id"] for e in filtered["data"]["activity"]["edges"]] == [
            n["id"] for n in nodes
        ]


def test_every_recorded_value_is_a_readable_field_of_its_type_with_global_ids(
    gql, engine, world, tour
):
    # Given the log after every kind of partner change
    records = all_records(engine)
    assert {r.action for r in records} >= set(TOUR_ACTIONS)

    # Then each recorded key names a field of the type its action declares, and a value of an
    # ID field is a global id (never an internal number)
    problems = []
    for record in records:
        subject = ACTIVITY_SUBJECTS[record.action]
        for values in (record.before, record.after):
            for key, value in (values or {}).items():
                type_name, field_name = subject.coordinate(key).split(".")
                field = SCHEMA.type_map[type_name].fields.get(field_name)  # type: ignore[union-attr]
                if field is None:
                    problems.append(f"{record.action}: {key} is no field of {type_name}")
                    continue
                is_id = get_named_type(field.type).name == "ID"
                if is_id and value is not None and not _global_id(value):
                    problems.append(f"{record.action}: {key}={value!r} is no global id")
    assert problems == []

    # And the admin reads every value as recorded: nothing is masked
    body = gql(ADMIN, WORKGROUP_ACTIVITY, {"workgroupId": gid("Workgroup", world.home.id)})
    assert "errors" not in body, body["errors"]
    read = {
        decode_id(e["node"]["id"])[1]: (e["node"]["before"], e["node"]["after"])  # type: ignore[index]
        for e in body["data"]["activity"]["edges"]
    }
    home = {r.id: (r.before, r.after) for r in records if r.id in read}
    assert read == home and tour.first_records <= set(read)


def test_the_feeds_of_a_page_of_customers_are_read_in_two_statements(gql, engine, tour):
    # Given customers with changes of every kind
    def statements_for(first: int) -> tuple[list[str], dict]:
        executed: list[str] = []

        def count(_conn, _cursor, statement, *_args):
            if "activity_record" in statement:
                executed.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            body = gql(ADMIN, FEEDS, {"first": first})
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return executed, body

    # When the admin lists one customer, and three, each with its feed
    one, _ = statements_for(1)
    three, body = statements_for(3)

    # Then each list reads the log in two statements (the pages, and their totals)
    assert len(one) == len(three) == 2
    feeds = {e["node"]["id"]: e["node"]["feed"] for e in body["data"]["customers"]["edges"]}
    first = feeds[gid("Customer", tour.first.id)]
    assert first["totalCount"] == len(TOUR_ACTIONS)
    assert [e["node"]["action"] for e in first["edges"]] == TOUR_ACTIONS[:3]


# ---------------------------------------------------------------- one contact per address


@dataclass
class Contacts:
    ann: str  # ann@x.example at the first customer
    bob: str  # bob@x.example at the first customer
    twin: str  # ann@x.example at the second customer


@pytest.fixture
def contacts(gql, world) -> Contacts:
    first, second = world.home_customers[0], world.home_customers[1]
    return Contacts(
        ann=add_contact(gql, world, first, "ann@x.example"),
        bob=add_contact(gql, world, first, "bob@x.example"),
        twin=add_contact(gql, world, second, "ann@x.example"),
    )


DUPLICATES = {
    "add": (
        ADD_CONTACT,
        "addContact",
        lambda w, c: contact_input(w, w.home_customers[0], "ann@x.example"),
    ),
    "add-other-case": (
        ADD_CONTACT,
        "addContact",
        lambda w, c: contact_input(w, w.home_customers[0], "ANN@X.Example"),
    ),
    "update": (
        UPDATE_CONTACT,
        "updateContact",
        lambda w, c: {"id": c.bob, "input": {"email": "Ann@x.example"}},
    ),
    "move": (
        MOVE_CONTACT,
        "moveContact",
        lambda w, c: {"id": c.twin, "customerId": gid("Customer", w.home_customers[0].id)},
    ),
}


@pytest.mark.parametrize("checked", [True, False], ids=["checked", "concurrent"])
@pytest.mark.parametrize("case", list(DUPLICATES))
def test_a_customer_has_one_contact_per_address(
    gql, engine, world, contacts, monkeypatch, case, checked
):
    # Given a customer with ann@x.example and bob@x.example, and another with ann@x.example
    document, field, variables = DUPLICATES[case]
    before = table_rows(engine, ("contact", "activity_record"))
    if not checked:
        # (a concurrent transaction adds the address between the check and the write: only
        # the unique index sees it)
        monkeypatch.setattr(partner, "_require_email_free", lambda *_args: None)

    # When a contact of the first customer would get Ann's address (in any case)
    body = gql(ADMIN, document, variables(world, contacts))

    # Then it is DUPLICATE on email, and nothing changed
    assert refused(body, field) == [("email", "DUPLICATE")]
    assert table_rows(engine, ("contact", "activity_record")) == before


def test_the_same_address_is_fine_at_another_customer_or_none(gql, engine, world, contacts):
    # Given Ann at the first customer and her twin at the second
    # When the address is given to a contact at no customer, and Bob keeps his own in any case
    loose = add_contact(gql, world, None, "ann@x.example")
    done(
        gql(ADMIN, UPDATE_CONTACT, {"id": contacts.bob, "input": {"email": "BOB@x.example"}}),
        "updateContact",
    )
    done(gql(ADMIN, MOVE_CONTACT, {"id": contacts.ann, "customerId": None}), "moveContact")

    # Then each succeeds (the rule is per customer, and a contact does not clash with itself)
    assert decode_id(loose, "Contact") is not None


def test_a_contact_import_does_not_move_a_contact_to_a_customer_with_its_address(
    client, settings, gql, engine, world, contacts
):
    # Given Ann at the first customer, her twin at the second (the import matches the oldest)
    before = table_rows(engine, ("contact", "activity_record"))
    second = world.home_customers[1]
    rows = [
        ["email", "first name", "last name", "customer domain"],
        ["ann@x.example", "Ann", "Archer", second.primary_domain],
    ]

    # When a file moves Ann to the second customer
    job = uploaded_job(client, settings, ADMIN, "contacts", world.home, csv_text(rows))
    finished = run(gql, ADMIN, job["id"], dry_run=False)

    # Then the row is named, and nothing is written
    assert (finished["status"], finished["errorCount"]) == ("FAILED", 1)
    assert finished["errors"] == [
        {
            "row": 2,
            "column": "customer domain",
            "message": "The customer already has another contact with the e-mail address "
            "ann@x.example.",
        }
    ]
    assert table_rows(engine, ("contact", "activity_record")) == before


# ---------------------------------------------------------------- no comma in a tag

TAG_TABLES = ("customer", "tag", "customer_tag", "activity_record")
COMMA_TAGS = {
    "addTags": (
        ADD_TAGS,
        lambda w: {"customerId": gid("Customer", w.home_customers[0].id), "tags": ["ok", "a,b"]},
    ),
    "addCustomer": (
        ADD_CUSTOMER,
        lambda w: {
            "input": {
                "workgroupId": gid("Workgroup", w.home.id),
                "companyName": "Newco",
                "primaryDomain": "newco.example",
                "tags": ["ok", "Smith, Jones"],
            }
        },
    ),
    "updateCustomer": (
        UPDATE_CUSTOMER,
        lambda w: {
            "id": gid("Customer", w.home_customers[0].id),
            "input": {"city": "Bonn", "tags": ["alpha", ","]},
        },
    ),
}


@pytest.mark.parametrize("mutation", list(COMMA_TAGS))
def test_a_tag_with_a_comma_is_refused_and_changes_nothing(gql, engine, world, mutation):
    # Given Home's customers
    document, variables = COMMA_TAGS[mutation]
    before = table_rows(engine, TAG_TABLES)

    # When a tag holding a comma would be written
    body = gql(ADMIN, document, variables(world))

    # Then it is INVALID on tags, and nothing changed
    assert refused(body, mutation) == [("tags", "INVALID")]
    assert table_rows(engine, TAG_TABLES) == before


def test_an_imported_tags_cell_is_split_at_its_commas(client, settings, gql, session, world):
    # Given a file whose tags cell holds two tags
    rows = [
        ["company name", "primary domain", "tags"],
        ["Newco", "newco.example", "Smith, Jones"],
    ]

    # When it is imported
    job = uploaded_job(client, settings, ADMIN, "customers", world.home, csv_text(rows))
    finished = run(gql, ADMIN, job["id"], dry_run=False)

    # Then the customer has both tags, neither holding a comma
    assert (finished["status"], finished["created"]) == ("SUCCEEDED", 1)
    newco = session.execute(select(Customer).where(Customer.primary_domain == "newco.example"))
    customer = newco.scalar_one()
    assert tags_by_customer(session=session, customer_ids=[customer.id])[customer.id] == [
        "Jones",
        "Smith",
    ]


def test_a_tag_with_a_comma_written_before_the_rule_can_still_be_removed(gql, session, world):
    # Given a customer with a tag holding a comma, written before tags could not hold one
    customer = world.home_customers[0]
    set_tags(session, customer, ["alpha", "a,b"])
    session.commit()

    # When it is removed
    body = gql(ADMIN, REMOVE_TAGS, {"customerId": gid("Customer", customer.id), "tags": ["a,b"]})

    # Then it is gone
    assert done(body, "removeTags")["customer"]["tags"] == ["alpha"]
