"""Contacts of a customer: adding one (to a customer or to none), changing it field by field,
moving it between the customers of a workgroup, the one main contact, the customer's ticket
policy, archived customers, what each role may read and do, and one activity record per
successful change (none for a failed or refused one)."""

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from graph.ids import encode_id
from models.customers.operations import archive_customer
from models.customers.tables import Customer
from models.partner.operations import add_contact, set_main_contact
from models.partner.tables import Contact
from tests.conftest import ROLES, World, grant, make_customer, table_rows

ADMIN = World.email("admin")
EDITORS = {"admin", "admin_agent"}
READERS = {"admin", "admin_agent", "sales_agent"}
# Roles that see the customer's identity but none of its contacts.
IDENTITY_ONLY = {"customer_activity", "training_manager", "support_viewer"}

CONTACT = "id firstName lastName email phone jobTitle isMain"
CONTACT_PAYLOAD = f"contact {{ {CONTACT} }} errors {{ field code }}"
ADD_CONTACT = f"""
mutation($input: AddContactInput!) {{ addContact(input: $input) {{ {CONTACT_PAYLOAD} }} }}
"""
UPDATE_CONTACT = f"""
mutation($id: ID!, $input: UpdateContactInput!) {{
  updateContact(id: $id, input: $input) {{ {CONTACT_PAYLOAD} }}
}}
"""
MOVE_CONTACT = f"""
mutation($id: ID!, $customerId: ID) {{
  moveContact(id: $id, customerId: $customerId) {{ {CONTACT_PAYLOAD} }}
}}
"""
SET_MAIN_CONTACT = f"""
mutation($customerId: ID!, $contactId: ID!) {{
  setMainContact(customerId: $customerId, contactId: $contactId) {{ {CONTACT_PAYLOAD} }}
}}
"""
SET_TICKET_POLICY = """
mutation($customerId: ID!, $mainContactOnly: Boolean!) {
  setTicketPolicy(customerId: $customerId, mainContactOnly: $mainContactOnly) {
    customer { id acceptTicketsFromMainContactOnly } errors { field code }
  }
}
"""
CUSTOMER_CONTACTS = f"""
query($id: ID!) {{
  customer(id: $id) {{
    id acceptTicketsFromMainContactOnly contacts {{ {CONTACT} }} mainContact {{ {CONTACT} }}
  }}
}}
"""

# Every table a contact operation could touch, compared whole before and after.
TABLES = ("customer", "contact", "activity_record")


# ---------------------------------------------------------------- helpers


def gid(kind: str, pk: int | None) -> str:
    return encode_id(kind, pk)  # type: ignore[arg-type]


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    return table_rows(engine, TABLES)


def activity_count(engine: Engine) -> int:
    return len(snapshot(engine)["activity_record"])


def stored_contact(engine: Engine, pk: int) -> Contact:
    with Session(engine) as session:
        return session.get_one(Contact, pk)


def errors_at(body: dict) -> dict[tuple, str]:
    return {tuple(e["path"]): e["extensions"]["code"] for e in body.get("errors", [])}


def codes(payload: dict) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in payload["errors"]]


def contacts_of(gql, customer: Customer, email: str = ADMIN) -> dict[str, Any]:
    body = gql(email, CUSTOMER_CONTACTS, {"id": gid("Customer", customer.id)})
    assert "errors" not in body, body["errors"]
    return body["data"]["customer"]


def emails(contacts: list[dict]) -> list[str]:
    return [c["email"] for c in contacts]


@dataclass
class Scene:
    world: World
    first: Customer  # with Ann (main) and Bob
    second: Customer  # without contacts
    ann: Contact
    bob: Contact
    loner: Contact  # at no customer yet
    away_contact: Contact  # at a customer of the other workgroup


def new_contact(session: Session, workgroup_id: int, customer, first: str, last: str) -> Contact:
    contact = add_contact(
        session=session,
        workgroup_id=workgroup_id,
        customer=customer,
        values={"first_name": first, "last_name": last, "email": f"{first.lower()}@x.example"},
        actor_id=None,  # type: ignore[arg-type]
    )
    session.commit()
    return contact


@pytest.fixture
def scene(session, world: World) -> Scene:
    first, second = world.home_customers[0], world.home_customers[1]
    ann = new_contact(session, world.home.id, first, "Ann", "Archer")
    bob = new_contact(session, world.home.id, first, "Bob", "Baker")
    set_main_contact(session=session, customer=first, contact=ann, actor_id=None)  # type: ignore[arg-type]
    session.commit()
    loner = new_contact(session, world.home.id, None, "Lou", "Loner")
    away = world.away_customers[0]
    away_contact = new_contact(session, world.away.id, away, "Ava", "Away")
    return Scene(world, first, second, ann, bob, loner, away_contact)


def new_contact_input(scene: Scene, **overrides: Any) -> dict[str, Any]:
    return {
        "workgroupId": gid("Workgroup", scene.world.home.id),
        "customerId": gid("Customer", scene.first.id),
        "firstName": "Cleo",
        "lastName": "Clark",
        "email": "cleo@x.example",
        **overrides,
    }


# ---------------------------------------------------------------- adding


def test_adding_a_contact_to_a_customer_lists_it_among_its_contacts(gql, engine, scene: Scene):
    # Given a customer with Ann (main) and Bob
    before = activity_count(engine)

    # When an admin adds Cleo with every field, spaces and capitals around the e-mail
    body = gql(
        ADMIN,
        ADD_CONTACT,
        {
            "input": new_contact_input(
                scene,
                firstName=" Cleo ",
                email="  Cleo.Clark@X.Example ",
                phone="+49 30 1234",
                jobTitle="Buyer",
            )
        },
    )

    # Then the payload has the new contact, trimmed, not main
    payload = body["data"]["addContact"]
    assert payload["errors"] == []
    cleo = payload["contact"]
    assert cleo["id"]
    assert (cleo["firstName"], cleo["lastName"], cleo["email"]) == (
        "Cleo",
        "Clark",
        "cleo.clark@x.example",
    )
    assert (cleo["phone"], cleo["jobTitle"], cleo["isMain"]) == ("+49 30 1234", "Buyer", False)
    # and the customer lists it (by last name) while Ann stays its main contact
    customer = contacts_of(gql, scene.first)
    assert emails(customer["contacts"]) == ["ann@x.example", "bob@x.example", cleo["email"]]
    assert customer["contacts"][2] == cleo
    assert customer["mainContact"]["email"] == "ann@x.example"
    # and exactly one activity record was written
    assert activity_count(engine) == before + 1


def test_a_contact_added_without_a_customer_can_be_moved_to_one_later(gql, engine, scene: Scene):
    # Given a contact added to no customer
    added = gql(ADMIN, ADD_CONTACT, {"input": new_contact_input(scene, customerId=None)})
    payload = added["data"]["addContact"]
    assert payload["errors"] == []
    contact = payload["contact"]
    # which no customer lists
    assert contact["email"] not in emails(contacts_of(gql, scene.first)["contacts"])
    assert contacts_of(gql, scene.second)["contacts"] == []

    # When it is moved to the second customer
    moved = gql(
        ADMIN, MOVE_CONTACT, {"id": contact["id"], "customerId": gid("Customer", scene.second.id)}
    )

    # Then the second customer lists it, without making it its main contact
    assert moved["data"]["moveContact"]["errors"] == []
    second = contacts_of(gql, scene.second)
    assert second["contacts"] == [contact]
    assert second["mainContact"] is None


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param({"firstName": ""}, [("firstName", "REQUIRED")], id="blank-first-name"),
        pytest.param({"lastName": "   "}, [("lastName", "REQUIRED")], id="blank-last-name"),
        pytest.param({"email": ""}, [("email", "INVALID")], id="blank-email"),
        pytest.param({"email": "cleo.example"}, [("email", "INVALID")], id="no-at"),
        pytest.param({"email": "cleo@localhost"}, [("email", "INVALID")], id="no-dot"),
        pytest.param({"email": "cleo clark@x.example"}, [("email", "INVALID")], id="space"),
        pytest.param(
            {"firstName": "", "lastName": "", "email": "x"},
            [("firstName", "REQUIRED"), ("lastName", "REQUIRED"), ("email", "INVALID")],
            id="all-three",
        ),
        pytest.param({"firstName": "C" * 101}, [("firstName", "TOO_LONG")], id="long-name"),
        pytest.param(
            {"customerId": None, "lastName": "", "email": "@x.example"},
            [("lastName", "REQUIRED"), ("email", "INVALID")],
            id="at-no-customer",
        ),
    ],
)
def test_adding_a_contact_needs_names_and_a_valid_email(
    gql, engine, scene: Scene, overrides, expected
):
    # Given the tables as they are
    before = snapshot(engine)
    values = new_contact_input(scene, **overrides)

    # When an admin adds a contact with a missing name or a bad e-mail
    body = gql(ADMIN, ADD_CONTACT, {"input": values})

    # Then user errors name every problem, and nothing was written
    payload = body["data"]["addContact"]
    assert payload["contact"] is None
    assert codes(payload) == expected
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("workgroupId", lambda s: gid("Workgroup", s.world.away.id), id="away-wg"),
        pytest.param("customerId", lambda s: gid("Customer", s.world.away_customers[0].id)),
        pytest.param("customerId", lambda s: gid("Customer", 99999), id="missing-customer"),
        pytest.param("customerId", lambda s: gid("Contact", s.first.id), id="other-type"),
    ],
)
def test_adding_a_contact_elsewhere_is_not_found(gql, engine, scene: Scene, field, value):
    # Given the tables as they are
    before = snapshot(engine)

    # When a home admin adds a contact to the other workgroup, to one of its customers or to
    # a customer that does not exist
    body = gql(ADMIN, ADD_CONTACT, {"input": new_contact_input(scene, **{field: value(scene)})})

    # Then NOT_FOUND, and nothing was written
    payload = body["data"]["addContact"]
    assert (payload["contact"], codes(payload)) == (None, [(field, "NOT_FOUND")])
    assert snapshot(engine) == before


# ---------------------------------------------------------------- changing


def test_updating_a_contact_changes_only_the_fields_given(gql, engine, scene: Scene):
    # Given Bob with a phone and a job title
    gql(
        ADMIN,
        UPDATE_CONTACT,
        {"id": gid("Contact", scene.bob.id), "input": {"phone": "+1 555", "jobTitle": "CFO"}},
    )
    before = activity_count(engine)

    # When only his job title changes
    body = gql(
        ADMIN, UPDATE_CONTACT, {"id": gid("Contact", scene.bob.id), "input": {"jobTitle": "CEO"}}
    )

    # Then every other field keeps its value
    payload = body["data"]["updateContact"]
    assert payload["errors"] == []
    assert payload["contact"] == {
        "id": gid("Contact", scene.bob.id),
        "firstName": "Bob",
        "lastName": "Baker",
        "email": "bob@x.example",
        "phone": "+1 555",
        "jobTitle": "CEO",
        "isMain": False,
    }
    # and the customer's list reads the same, with one activity record for the change
    assert contacts_of(gql, scene.first)["contacts"][1] == payload["contact"]
    assert activity_count(engine) == before + 1


def test_updating_a_contact_with_null_clears_an_optional_field(gql, engine, scene: Scene):
    # Given Bob with a phone and a job title
    gql(
        ADMIN,
        UPDATE_CONTACT,
        {"id": gid("Contact", scene.bob.id), "input": {"phone": "+1 555", "jobTitle": "CFO"}},
    )

    # When his phone is set to null and his e-mail changed
    body = gql(
        ADMIN,
        UPDATE_CONTACT,
        {
            "id": gid("Contact", scene.bob.id),
            "input": {"phone": None, "email": " Robert@X.Example "},
        },
    )

    # Then the phone is gone, the e-mail normalized, the job title kept
    contact = body["data"]["updateContact"]["contact"]
    assert (contact["phone"], contact["email"], contact["jobTitle"]) == (
        None,
        "robert@x.example",
        "CFO",
    )
    stored = stored_contact(engine, scene.bob.id)  # type: ignore[arg-type]
    assert (stored.phone, stored.email, stored.job_title) == (None, "robert@x.example", "CFO")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"firstName": None}, [("firstName", "REQUIRED")], id="null-first-name"),
        pytest.param({"lastName": " "}, [("lastName", "REQUIRED")], id="blank-last-name"),
        pytest.param({"email": "bob"}, [("email", "INVALID")], id="bad-email"),
        pytest.param({"email": None}, [("email", "INVALID")], id="null-email"),
        pytest.param(
            {"jobTitle": "Boss", "email": "bob@"}, [("email", "INVALID")], id="one-bad-of-two"
        ),
    ],
)
def test_an_invalid_update_changes_nothing(gql, engine, scene: Scene, changes, expected):
    # Given the tables as they are
    before = snapshot(engine)

    # When Bob's required fields are blanked or his e-mail made invalid
    body = gql(ADMIN, UPDATE_CONTACT, {"id": gid("Contact", scene.bob.id), "input": changes})

    # Then user errors, and nothing changed — not even the valid part of the input
    payload = body["data"]["updateContact"]
    assert (payload["contact"], codes(payload)) == (None, expected)
    assert snapshot(engine) == before


# ---------------------------------------------------------------- moving


def test_moving_a_contact_takes_it_from_one_customer_to_another(gql, engine, scene: Scene):
    # Given Bob at the first customer
    before = activity_count(engine)

    # When he is moved to the second
    body = gql(
        ADMIN,
        MOVE_CONTACT,
        {"id": gid("Contact", scene.bob.id), "customerId": gid("Customer", scene.second.id)},
    )

    # Then the first lists only Ann, the second only Bob
    assert body["data"]["moveContact"]["errors"] == []
    assert emails(contacts_of(gql, scene.first)["contacts"]) == ["ann@x.example"]
    assert emails(contacts_of(gql, scene.second)["contacts"]) == ["bob@x.example"]
    assert activity_count(engine) == before + 1


def test_moving_the_main_contact_clears_its_main_flag(gql, engine, scene: Scene):
    # Given Ann, the first customer's main contact
    assert contacts_of(gql, scene.first)["mainContact"]["email"] == "ann@x.example"

    # When she is moved to the second customer
    body = gql(
        ADMIN,
        MOVE_CONTACT,
        {"id": gid("Contact", scene.ann.id), "customerId": gid("Customer", scene.second.id)},
    )

    # Then she is not main anywhere: neither customer has a main contact
    assert body["data"]["moveContact"]["contact"]["isMain"] is False
    assert contacts_of(gql, scene.first)["mainContact"] is None
    second = contacts_of(gql, scene.second)
    assert second["mainContact"] is None
    assert [c["isMain"] for c in second["contacts"]] == [False]


def test_moving_a_contact_to_no_customer_removes_it_from_the_list(gql, engine, scene: Scene):
    # Given Ann, main contact of the first customer
    before = activity_count(engine)

    # When she is moved to no customer
    body = gql(ADMIN, MOVE_CONTACT, {"id": gid("Contact", scene.ann.id), "customerId": None})

    # Then she still exists, not main, and the customer lists only Bob and has no main contact
    payload = body["data"]["moveContact"]
    assert payload["errors"] == []
    assert (payload["contact"]["email"], payload["contact"]["isMain"]) == ("ann@x.example", False)
    first = contacts_of(gql, scene.first)
    assert emails(first["contacts"]) == ["bob@x.example"]
    assert first["mainContact"] is None
    stored = stored_contact(engine, scene.ann.id)  # type: ignore[arg-type]
    assert (stored.customer_id, stored.is_main) == (None, False)
    assert activity_count(engine) == before + 1


@pytest.mark.parametrize("email", [ADMIN, World.GLOBAL_ADMIN], ids=["home-admin", "global-admin"])
def test_moving_a_contact_to_a_customer_of_another_workgroup_is_not_found(
    gql, engine, scene: Scene, email
):
    # Given the tables as they are
    before = snapshot(engine)

    # When Bob is moved to a customer of the other workgroup — by an admin who cannot see it
    # and by a global admin who can
    body = gql(
        email,
        MOVE_CONTACT,
        {
            "id": gid("Contact", scene.bob.id),
            "customerId": gid("Customer", scene.world.away_customers[0].id),
        },
    )

    # Then NOT_FOUND on customerId, and nothing changed
    payload = body["data"]["moveContact"]
    assert (payload["contact"], codes(payload)) == (None, [("customerId", "NOT_FOUND")])
    assert snapshot(engine) == before


# ---------------------------------------------------------------- the main contact


def test_a_customer_has_one_main_contact_at_a_time(gql, engine, scene: Scene):
    # Given Ann, the main contact
    before = activity_count(engine)

    # When Bob is made the main contact
    body = gql(
        ADMIN,
        SET_MAIN_CONTACT,
        {"customerId": gid("Customer", scene.first.id), "contactId": gid("Contact", scene.bob.id)},
    )

    # Then Bob is main and Ann no longer is
    payload = body["data"]["setMainContact"]
    assert payload["errors"] == []
    assert (payload["contact"]["email"], payload["contact"]["isMain"]) == ("bob@x.example", True)
    first = contacts_of(gql, scene.first)
    assert first["mainContact"]["email"] == "bob@x.example"
    assert [(c["email"], c["isMain"]) for c in first["contacts"]] == [
        ("ann@x.example", False),
        ("bob@x.example", True),
    ]
    assert activity_count(engine) == before + 1


def test_setting_the_main_contact_again_keeps_one(gql, engine, scene: Scene):
    # Given Ann, the main contact
    variables = {
        "customerId": gid("Customer", scene.first.id),
        "contactId": gid("Contact", scene.ann.id),
    }

    # When she is made main again, twice
    first_body = gql(ADMIN, SET_MAIN_CONTACT, variables)
    second_body = gql(ADMIN, SET_MAIN_CONTACT, variables)

    # Then both succeed and she is the one main contact
    assert first_body["data"]["setMainContact"]["errors"] == []
    assert second_body["data"]["setMainContact"]["errors"] == []
    first = contacts_of(gql, scene.first)
    assert [c["isMain"] for c in first["contacts"]] == [True, False]


@pytest.mark.parametrize(
    "contact",
    [
        pytest.param(lambda s: (s.second, s.bob), id="contact-of-another-customer"),
        pytest.param(lambda s: (s.first, s.loner), id="contact-of-no-customer"),
    ],
)
def test_only_a_contact_of_the_customer_can_be_its_main_contact(gql, engine, scene: Scene, contact):
    # Given the tables as they are
    customer, other = contact(scene)
    before = snapshot(engine)

    # When a contact that is not the customer's is made its main contact
    body = gql(
        ADMIN,
        SET_MAIN_CONTACT,
        {"customerId": gid("Customer", customer.id), "contactId": gid("Contact", other.id)},
    )

    # Then INVALID on contactId, and nothing changed
    payload = body["data"]["setMainContact"]
    assert (payload["contact"], codes(payload)) == (None, [("contactId", "INVALID")])
    assert snapshot(engine) == before


def test_a_contact_of_another_workgroup_is_not_found(gql, engine, scene: Scene):
    # Given the tables as they are
    before = snapshot(engine)

    # When a home admin makes a contact of the other workgroup main, changes or moves it
    contact = gid("Contact", scene.away_contact.id)
    set_main = gql(
        ADMIN,
        SET_MAIN_CONTACT,
        {"customerId": gid("Customer", scene.first.id), "contactId": contact},
    )
    update = gql(ADMIN, UPDATE_CONTACT, {"id": contact, "input": {"jobTitle": "Spy"}})
    move = gql(ADMIN, MOVE_CONTACT, {"id": contact, "customerId": None})

    # Then each is NOT_FOUND, and nothing changed
    assert codes(set_main["data"]["setMainContact"]) == [("contactId", "NOT_FOUND")]
    assert codes(update["data"]["updateContact"]) == [("id", "NOT_FOUND")]
    assert codes(move["data"]["moveContact"]) == [("id", "NOT_FOUND")]
    assert snapshot(engine) == before


# ---------------------------------------------------------------- the ticket policy


def test_the_ticket_policy_is_a_flag_of_the_customer(gql, engine, scene: Scene):
    # Given a customer accepting tickets from anyone
    assert contacts_of(gql, scene.first)["acceptTicketsFromMainContactOnly"] is False
    before = activity_count(engine)
    customer_id = gid("Customer", scene.first.id)

    # When it accepts them from its main contact only
    only = gql(ADMIN, SET_TICKET_POLICY, {"customerId": customer_id, "mainContactOnly": True})

    # Then the payload and a later read say so, with one activity record
    assert only["data"]["setTicketPolicy"] == {
        "customer": {"id": customer_id, "acceptTicketsFromMainContactOnly": True},
        "errors": [],
    }
    assert contacts_of(gql, scene.first)["acceptTicketsFromMainContactOnly"] is True
    assert contacts_of(gql, scene.second)["acceptTicketsFromMainContactOnly"] is False
    assert activity_count(engine) == before + 1

    # When it goes back to anyone
    anyone = gql(ADMIN, SET_TICKET_POLICY, {"customerId": customer_id, "mainContactOnly": False})

    # Then the flag is off again
    assert anyone["data"]["setTicketPolicy"]["errors"] == []
    assert contacts_of(gql, scene.first)["acceptTicketsFromMainContactOnly"] is False
    assert activity_count(engine) == before + 2


# ---------------------------------------------------------------- archived customers


@pytest.fixture
def archived(session, scene: Scene) -> Customer:
    """An archived home customer that had Ada as its main contact before it was archived."""
    customer = make_customer(session, scene.world.home, index="gone", company_name="Gone Ltd")
    ada = new_contact(session, scene.world.home.id, customer, "Ada", "Archived")
    set_main_contact(session=session, customer=customer, contact=ada, actor_id=None)  # type: ignore[arg-type]
    archive_customer(session=session, customer=customer, expected_version=None, actor_id=None)
    session.commit()
    return customer


def only_contact(session: Session, customer: Customer) -> Contact:
    return session.execute(select(Contact).where(Contact.customer_id == customer.id)).scalar_one()


ON_ARCHIVED = {
    "addContact": lambda s, gone, ada: (
        ADD_CONTACT,
        {"input": new_contact_input(s, customerId=gid("Customer", gone.id))},
    ),
    "moveContact": lambda s, gone, ada: (
        MOVE_CONTACT,
        {"id": gid("Contact", s.loner.id), "customerId": gid("Customer", gone.id)},
    ),
    "setMainContact": lambda s, gone, ada: (
        SET_MAIN_CONTACT,
        {"customerId": gid("Customer", gone.id), "contactId": gid("Contact", ada.id)},
    ),
    "setTicketPolicy": lambda s, gone, ada: (
        SET_TICKET_POLICY,
        {"customerId": gid("Customer", gone.id), "mainContactOnly": True},
    ),
}


@pytest.mark.parametrize("mutation", list(ON_ARCHIVED))
def test_the_contacts_of_an_archived_customer_cannot_change(
    gql, engine, session, scene: Scene, archived: Customer, mutation
):
    # Given an archived customer
    document, variables = ON_ARCHIVED[mutation](scene, archived, only_contact(session, archived))
    before = snapshot(engine)

    # When a contact is added or moved to it, its main contact or ticket policy set
    body = gql(ADMIN, document, variables)

    # Then ARCHIVED on customerId, and nothing changed
    payload = body["data"][mutation]
    assert codes(payload) == [("customerId", "ARCHIVED")]
    assert snapshot(engine) == before


def test_a_contact_of_an_archived_customer_cannot_be_changed(
    gql, engine, session, scene: Scene, archived: Customer
):
    # Given Ada, the main contact of an archived customer
    ada = only_contact(session, archived)
    before = snapshot(engine)

    # When her details are changed
    body = gql(ADMIN, UPDATE_CONTACT, {"id": gid("Contact", ada.id), "input": {"lastName": "X"}})

    # Then ARCHIVED, and nothing changed: the archived customer is frozen as a whole
    payload = body["data"]["updateContact"]
    assert [code for _, code in codes(payload)] == ["ARCHIVED"]
    assert snapshot(engine) == before


@pytest.mark.parametrize("target", ["none", "active-customer"])
def test_a_contact_cannot_be_moved_away_from_an_archived_customer(
    gql, engine, session, scene: Scene, archived: Customer, target
):
    # Given Ada, the main contact of an archived customer
    ada = only_contact(session, archived)
    customer_id = None if target == "none" else gid("Customer", scene.second.id)
    before = snapshot(engine)

    # When she is moved away from it
    body = gql(ADMIN, MOVE_CONTACT, {"id": gid("Contact", ada.id), "customerId": customer_id})

    # Then ARCHIVED and nothing changed: reactivation must bring her back as its main contact
    payload = body["data"]["moveContact"]
    assert [code for _, code in codes(payload)] == ["ARCHIVED"]
    assert snapshot(engine) == before


# ---------------------------------------------------------------- who may do what


MUTATIONS = {
    "addContact": lambda s: (ADD_CONTACT, {"input": new_contact_input(s)}),
    "updateContact": lambda s: (
        UPDATE_CONTACT,
        {"id": gid("Contact", s.bob.id), "input": {"jobTitle": "Owner"}},
    ),
    "moveContact": lambda s: (
        MOVE_CONTACT,
        {"id": gid("Contact", s.loner.id), "customerId": gid("Customer", s.second.id)},
    ),
    "setMainContact": lambda s: (
        SET_MAIN_CONTACT,
        {"customerId": gid("Customer", s.first.id), "contactId": gid("Contact", s.bob.id)},
    ),
    "setTicketPolicy": lambda s: (
        SET_TICKET_POLICY,
        {"customerId": gid("Customer", s.first.id), "mainContactOnly": True},
    ),
}


def attempt(gql, engine, email: str, mutation: str, scene: Scene) -> tuple[str, int, bool]:
    """(outcome, activity records written, whether anything else changed)."""
    document, variables = MUTATIONS[mutation](scene)
    before = snapshot(engine)
    body = gql(email, document, variables)
    after = snapshot(engine)
    written = len(after.pop("activity_record")) - len(before.pop("activity_record"))
    if "errors" in body:
        assert body["data"] is None, body
        return "/".join(sorted(set(errors_at(body).values()))), written, before != after
    payload = body["data"][mutation]
    return ("ok" if payload["errors"] == [] else str(codes(payload))), written, before != after


@pytest.mark.parametrize("role", ROLES)
def test_contact_mutations_by_role(gql, engine, scene: Scene, role):
    # Given a user holding `role` in the home workgroup
    email = World.email(role)

    # When they try every contact mutation
    outcomes = {name: attempt(gql, engine, email, name, scene) for name in MUTATIONS}

    # Then admins and admin agents succeed, each with one activity record; everyone else is
    # FORBIDDEN, with nothing changed and nothing recorded
    allowed = role in EDITORS
    expected = ("ok", 1, True) if allowed else ("FORBIDDEN", 0, False)
    assert outcomes == dict.fromkeys(MUTATIONS, expected)


NOT_FOUND_AWAY = {
    "addContact": "workgroupId",
    "updateContact": "id",
    "moveContact": "id",
    "setMainContact": "customerId",
    "setTicketPolicy": "customerId",
}


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_an_admin_of_another_workgroup_finds_nothing_to_change(gql, engine, scene: Scene, mutation):
    # Given an admin of the other workgroup only

    # When they try a contact mutation on home contacts and customers
    outcome = attempt(gql, engine, World.ADMIN_AWAY, mutation, scene)

    # Then the workgroup, contact or customer is not found, like one that does not exist, and
    # nothing changed
    assert outcome == (str([(NOT_FOUND_AWAY[mutation], "NOT_FOUND")]), 0, False)


def test_a_sales_agent_who_is_admin_elsewhere_may_not_change_contacts_here(
    gql, engine, session, scene: Scene
):
    # Given a user who is sales agent at home and admin of the other workgroup
    mixed = "mixed@home.example"
    grant(session, mixed, "sales_agent", scene.world.home)
    grant(session, mixed, "admin", scene.world.away)

    # When they try every contact mutation at home
    outcomes = {name: attempt(gql, engine, mixed, name, scene) for name in MUTATIONS}

    # Then each is FORBIDDEN, with nothing changed
    assert outcomes == dict.fromkeys(MUTATIONS, ("FORBIDDEN", 0, False))


READ_FIELDS = ("contacts", "mainContact", "acceptTicketsFromMainContactOnly")


@pytest.mark.parametrize("role", ROLES)
def test_contact_fields_by_role(gql, engine, scene: Scene, role):
    # Given a customer with contacts Ann (main) and Bob, accepting tickets from anyone

    # When a user holding `role` at home reads them
    body = gql(World.email(role), CUSTOMER_CONTACTS, {"id": gid("Customer", scene.first.id)})

    # Then readers see them, roles that see only the customer's identity get null and
    # FORBIDDEN for each field, and a member does not see the customer at all
    customer = body["data"]["customer"]
    errors = errors_at(body)
    if role in READERS:
        assert "errors" not in body
        assert emails(customer["contacts"]) == ["ann@x.example", "bob@x.example"]
        assert customer["mainContact"] == customer["contacts"][0]
        assert customer["acceptTicketsFromMainContactOnly"] is False
    elif role in IDENTITY_ONLY:
        assert customer["id"] == gid("Customer", scene.first.id)
        assert {field: customer[field] for field in READ_FIELDS} == dict.fromkeys(READ_FIELDS)
        assert errors == {("customer", field): "FORBIDDEN" for field in READ_FIELDS}
    else:
        assert (customer, errors) == (None, {})
