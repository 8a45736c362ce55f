"""Adding and changing customers: bad input is refused with user errors and changes nothing;
good input is normalized, versioned and recorded in the activity log."""

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from graph.ids import encode_id
from models.accounts.tables import User
from models.audit.activity import ActivityRecord
from models.customers.tables import Customer, CustomerTag, Tag
from tests.conftest import World, make_customer

ADMIN = World.email("admin")

CUSTOMER_FIELDS = """
  id companyName status primaryDomain domains primaryLocation city state address postalCode
  phone fax industry companySize rank businessId renewalPolicy relationship tags version
  archivedAt
"""
ADD = f"""
mutation($input: AddCustomerInput!) {{
  addCustomer(input: $input) {{ customer {{ {CUSTOMER_FIELDS} }} errors {{ field code message }} }}
}}
"""
UPDATE = f"""
mutation($id: ID!, $input: UpdateCustomerInput!, $expectedVersion: Int) {{
  updateCustomer(id: $id, input: $input, expectedVersion: $expectedVersion) {{
    customer {{ {CUSTOMER_FIELDS} }}
    errors {{ field code message }}
  }}
}}
"""
CUSTOMER = f"query($id: ID!) {{ customer(id: $id) {{ {CUSTOMER_FIELDS} }} }}"
ADD_WITH_LITERAL_INDUSTRY = """
mutation($wg: ID!) {
  addCustomer(input: {workgroupId: $wg, companyName: "Enum Co", primaryDomain: "enum.example",
                      industry: SPACE_MINING}) { customer { id } errors { code } }
}
"""
UPDATE_WITH_STRING_INDUSTRY = """
mutation($id: ID!) {
  updateCustomer(id: $id, input: {industry: "MANUFACTURING"}) { customer { id } errors { code } }
}
"""

LONG_LABEL = "a" * 64
FULL_INPUT: dict[str, Any] = {
    "companyName": "  Acme Corporation ",
    "primaryDomain": " Acme.EXAMPLE ",
    "domains": ["Mail.Acme.Example", "acme-mail.example", "MAIL.acme.example."],
    "primaryLocation": "de",
    "city": "Berlin",
    "state": "Berlin",
    "address": "Unter den Linden 1",
    "postalCode": "10117",
    "phone": "+49 30 123456",
    "fax": "+49 30 123457",
    "industry": "MANUFACTURING",
    "companySize": "EMPLOYEES_51_200",
    "rank": 42,
    "businessId": "DE123456789",
    "renewalPolicy": "AUTO_RENEW",
    "relationship": "CLOUD_RESELLER",
    "tags": [" VIP ", "vip", "Key   Account"],
}
FULL_EXPECTED: dict[str, Any] = {
    "companyName": "Acme Corporation",
    "status": "ACTIVE",
    "primaryDomain": "acme.example",
    "domains": ["mail.acme.example", "acme-mail.example"],
    "primaryLocation": "DE",
    "city": "Berlin",
    "state": "Berlin",
    "address": "Unter den Linden 1",
    "postalCode": "10117",
    "phone": "+49 30 123456",
    "fax": "+49 30 123457",
    "industry": "MANUFACTURING",
    "companySize": "EMPLOYEES_51_200",
    "rank": 42,
    "businessId": "DE123456789",
    "renewalPolicy": "AUTO_RENEW",
    "relationship": "CLOUD_RESELLER",
    "tags": ["Key Account", "VIP"],
    "version": 1,
    "archivedAt": None,
}

# (input field, bad value, field named in the error, code). Each applies to add and update.
BAD_INPUTS = [
    pytest.param("companyName", "", "companyName", "REQUIRED", id="blank-name"),
    pytest.param("companyName", "   ", "companyName", "REQUIRED", id="spaces-name"),
    pytest.param("companyName", "a" * 201, "companyName", "TOO_LONG", id="name-201"),
    pytest.param("companyName", "Bell\x07 Inc", "companyName", "INVALID", id="name-control"),
    pytest.param("primaryDomain", "", "primaryDomain", "REQUIRED", id="blank-domain"),
    pytest.param("primaryDomain", "@x.com", "primaryDomain", "INVALID", id="at-domain"),
    pytest.param("primaryDomain", "sales@x.com", "primaryDomain", "INVALID", id="email"),
    pytest.param("primaryDomain", "exa mple.com", "primaryDomain", "INVALID", id="space"),
    pytest.param("primaryDomain", "-bad.com", "primaryDomain", "INVALID", id="lead-hyphen"),
    pytest.param("primaryDomain", "bad-.com", "primaryDomain", "INVALID", id="trail-hyphen"),
    pytest.param("primaryDomain", "a..b.com", "primaryDomain", "INVALID", id="empty-label"),
    pytest.param("primaryDomain", "nodot", "primaryDomain", "INVALID", id="one-label"),
    pytest.param("primaryDomain", f"{LONG_LABEL}.com", "primaryDomain", "INVALID", id="label-64"),
    pytest.param("primaryDomain", "under_score.com", "primaryDomain", "INVALID", id="underscore"),
    pytest.param("primaryDomain", "https://x.com", "primaryDomain", "INVALID", id="url"),
    pytest.param("domains", ["ok.example", "bad domain.com"], "domains", "INVALID", id="extra"),
    pytest.param("domains", ["@x.com"], "domains", "INVALID", id="extra-at"),
    pytest.param("primaryLocation", "XX", "primaryLocation", "INVALID", id="country-xx"),
    pytest.param("primaryLocation", "DEU", "primaryLocation", "INVALID", id="country-alpha3"),
    pytest.param("city", "c" * 101, "city", "TOO_LONG", id="city-101"),
    pytest.param("rank", -1, "rank", "INVALID", id="rank-negative"),
    pytest.param("rank", 10_000, "rank", "INVALID", id="rank-10000"),
    pytest.param("tags", ["ok", "  "], "tags", "REQUIRED", id="blank-tag"),
    pytest.param("tags", ["t" * 51], "tags", "TOO_LONG", id="tag-51"),
    pytest.param("tags", [f"t{i}" for i in range(51)], "tags", "TOO_LONG", id="tags-51"),
]

# (input field, value at the limit, value stored): accepted on add.
EDGE_VALUES = [
    pytest.param("companyName", "n" * 200, "n" * 200, id="name-200"),
    pytest.param("city", "c" * 100, "c" * 100, id="city-100"),
    pytest.param("rank", 0, 0, id="rank-0"),
    pytest.param("rank", 9999, 9999, id="rank-9999"),
    pytest.param("primaryDomain", f"{'a' * 63}.com", f"{'a' * 63}.com", id="label-63"),
    pytest.param("primaryDomain", "xn--bcher-kva.example", "xn--bcher-kva.example", id="idna"),
    pytest.param("primaryDomain", "x.example.", "x.example", id="trailing-dot"),
    pytest.param("city", "   ", None, id="blank-city-is-none"),
]


def db_state(engine: Engine) -> dict[str, Any]:
    """Every customer row, every tag and tag link, and the number of activity records,
    read in a fresh session."""
    with Session(engine) as session:
        return {
            "customers": [
                c.model_dump()
                for c in session.execute(select(Customer).order_by(Customer.id)).scalars()
            ],
            "tags": sorted(session.execute(select(Tag.workgroup_id, Tag.name)).all()),
            "links": sorted(
                session.execute(select(CustomerTag.customer_id, CustomerTag.tag_id)).all()
            ),
            "activity": session.execute(
                select(func.count()).select_from(ActivityRecord)
            ).scalar_one(),
        }


def activity_records(engine: Engine, customer_id: int) -> list[ActivityRecord]:
    with Session(engine) as session:
        return list(
            session.execute(
                select(ActivityRecord)
                .where(ActivityRecord.target_type == "Customer")
                .where(ActivityRecord.target_id == customer_id)
                .order_by(ActivityRecord.id)
            ).scalars()
        )


def user_id(engine: Engine, email: str) -> int:
    with Session(engine) as session:
        return session.execute(select(User.id).where(User.email == email)).scalar_one()


def new_customer(world: World, **values: Any) -> dict[str, Any]:
    return {
        "workgroupId": encode_id("Workgroup", world.home.id),
        "companyName": "Fresh Co",
        "primaryDomain": "fresh.example",
        **values,
    }


def customer_gid(customer: Customer) -> str:
    return encode_id("Customer", customer.id)  # type: ignore[arg-type]


def codes(errors: list[dict]) -> list[tuple[str | None, str]]:
    return sorted((e["field"], e["code"]) for e in errors)


def assert_refused(payload: dict, field: str, code: str) -> None:
    assert payload["customer"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(field, code)]
    assert all(e["message"] for e in payload["errors"])


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(("name", "value", "field", "code"), BAD_INPUTS)
def test_bad_input_is_refused_and_changes_nothing(gql, world, engine, name, value, field, code):
    # given: an existing customer with tags, and the database as the world left it
    customer = world.home_customers[0]
    before = db_state(engine)

    # when: an admin adds a customer with one bad value, and sets that value on the existing one
    added = gql(ADMIN, ADD, {"input": new_customer(world, **{name: value})})
    updated = gql(ADMIN, UPDATE, {"id": customer_gid(customer), "input": {name: value}})

    # then: each gets one user error naming the field; no row, tag or activity record changed
    assert "errors" not in added
    assert "errors" not in updated
    assert_refused(added["data"]["addCustomer"], field, code)
    assert_refused(updated["data"]["updateCustomer"], field, code)
    assert db_state(engine) == before


def test_a_nul_character_in_a_tag_is_refused_and_changes_nothing(gql, world, engine):
    # given: an existing customer, and the database as the world left it
    customer = world.home_customers[0]
    before = db_state(engine)

    # when: an admin adds a customer with a NUL in a tag, and sets such a tag on the existing one
    added = gql.post(ADMIN, ADD, {"input": new_customer(world, tags=["nul\x00tag"])})
    updated = gql.post(ADMIN, UPDATE, {"id": customer_gid(customer), "input": {"tags": ["a\x00"]}})

    # then: both are refused before they run (no stored text may hold NUL); nothing changed
    for response in (added, updated):
        assert response.status_code == 400
        assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["BAD_USER_INPUT"]
    assert db_state(engine) == before


@pytest.mark.parametrize("name", ["companyName", "primaryDomain"])
def test_update_cannot_clear_a_required_field(gql, world, engine, name):
    # given: an existing customer
    customer = world.home_customers[1]
    before = db_state(engine)

    # when: a required field is set to null
    body = gql(ADMIN, UPDATE, {"id": customer_gid(customer), "input": {name: None}})

    # then: REQUIRED, nothing changed
    assert_refused(body["data"]["updateCustomer"], name, "REQUIRED")
    assert db_state(engine) == before


def test_several_problems_are_reported_together(gql, world, engine):
    # given: input with five independent problems
    values = new_customer(
        world,
        companyName=" ",
        primaryDomain="@bad",
        primaryLocation="XX",
        city="c" * 101,
        rank=-5,
    )
    before = db_state(engine)

    # when: it is added
    body = gql(ADMIN, ADD, {"input": values})

    # then: all five are reported in one response, and nothing was written
    assert codes(body["data"]["addCustomer"]["errors"]) == [
        ("city", "TOO_LONG"),
        ("companyName", "REQUIRED"),
        ("primaryDomain", "INVALID"),
        ("primaryLocation", "INVALID"),
        ("rank", "INVALID"),
    ]
    assert body["data"]["addCustomer"]["customer"] is None
    assert db_state(engine) == before


def test_every_overlong_text_is_reported(gql, world, engine):
    # given: every length-limited text one character over its limit
    values = new_customer(
        world,
        companyName="n" * 201,
        city="c" * 101,
        state="s" * 101,
        address="a" * 501,
        postalCode="1" * 21,
        phone="2" * 41,
        fax="3" * 41,
        businessId="B" * 65,
    )
    before = db_state(engine)

    # when: it is added
    body = gql(ADMIN, ADD, {"input": values})

    # then: TOO_LONG for each of them, and nothing was written
    assert codes(body["data"]["addCustomer"]["errors"]) == [
        (field, "TOO_LONG")
        for field in sorted(
            ["address", "businessId", "city", "companyName", "fax", "phone", "postalCode", "state"]
        )
    ]
    assert db_state(engine) == before


def test_a_duplicate_domain_is_reported_with_the_other_problems(gql, world, engine):
    # given: a home customer already has this primary domain
    taken = world.home_customers[0].primary_domain
    before = db_state(engine)

    # when: a new customer reuses it and also has a blank name
    body = gql(ADMIN, ADD, {"input": new_customer(world, companyName="", primaryDomain=taken)})

    # then: both problems come back at once
    assert codes(body["data"]["addCustomer"]["errors"]) == [
        ("companyName", "REQUIRED"),
        ("primaryDomain", "DUPLICATE"),
    ]
    assert db_state(engine) == before


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param(lambda d: d, id="same"),
        pytest.param(lambda d: d.upper(), id="upper-case"),
        pytest.param(lambda d: f"  {d}. ", id="padded-trailing-dot"),
    ],
)
def test_add_refuses_a_primary_domain_taken_in_the_workgroup(gql, world, engine, spelling):
    # given: a home customer's primary domain, spelled differently
    domain = spelling(world.home_customers[0].primary_domain)
    before = db_state(engine)

    # when: another home customer is added with it
    body = gql(ADMIN, ADD, {"input": new_customer(world, primaryDomain=domain)})

    # then: DUPLICATE on primaryDomain, nothing written
    assert_refused(body["data"]["addCustomer"], "primaryDomain", "DUPLICATE")
    assert db_state(engine) == before


def test_the_same_primary_domain_is_fine_in_another_workgroup(gql, world, engine):
    # given: a domain used by a customer of the away workgroup
    domain = world.away_customers[0].primary_domain

    # when: the home admin adds a home customer with it
    body = gql(ADMIN, ADD, {"input": new_customer(world, primaryDomain=domain)})

    # then: it is added, and both workgroups now have a customer with that domain
    payload = body["data"]["addCustomer"]
    assert payload["errors"] == []
    assert payload["customer"]["primaryDomain"] == domain
    owners = {
        c["workgroup_id"] for c in db_state(engine)["customers"] if c["primary_domain"] == domain
    }
    assert owners == {world.home.id, world.away.id}


def test_update_refuses_another_customers_primary_domain(gql, world, engine):
    # given: two home customers
    first, second = world.home_customers[:2]
    before = db_state(engine)

    # when: the second is given the first's domain
    body = gql(
        ADMIN,
        UPDATE,
        {"id": customer_gid(second), "input": {"primaryDomain": first.primary_domain.upper()}},
    )

    # then: DUPLICATE, nothing changed
    assert_refused(body["data"]["updateCustomer"], "primaryDomain", "DUPLICATE")
    assert db_state(engine) == before


def test_update_may_restate_its_own_primary_domain(gql, world):
    # given: a customer
    customer = world.home_customers[0]

    # when: its own domain is sent again, with a name change
    body = gql(
        ADMIN,
        UPDATE,
        {
            "id": customer_gid(customer),
            "input": {"primaryDomain": customer.primary_domain, "companyName": "Renamed"},
        },
    )

    # then: that is not a duplicate of itself
    payload = body["data"]["updateCustomer"]
    assert payload["errors"] == []
    assert payload["customer"]["companyName"] == "Renamed"


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        pytest.param(ADD_WITH_LITERAL_INDUSTRY, None, id="add-literal"),
        pytest.param(ADD, {"industry": "SPACE_MINING"}, id="add-variable"),
        pytest.param(ADD, {"industry": "manufacturing"}, id="add-lower-case"),
        pytest.param(UPDATE, {"renewalPolicy": "SOMETIMES"}, id="update-variable"),
        pytest.param(UPDATE_WITH_STRING_INDUSTRY, None, id="update-string-literal"),
    ],
)
def test_an_unknown_enum_value_is_a_graphql_error(gql, world, engine, query, variables):
    # given: the database as it is
    before = db_state(engine)
    customer_id = customer_gid(world.home_customers[0])
    if query is ADD:
        variables = {"input": new_customer(world, **variables)}
    elif query is UPDATE:
        variables = {"id": customer_id, "input": variables}
    else:
        variables = {"wg": encode_id("Workgroup", world.home.id), "id": customer_id}

    # when: a value outside the enum is sent
    response = gql.post(ADMIN, query, variables)

    # then: the document is refused before execution (400, never 500), and nothing changed
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["GRAPHQL_VALIDATION_FAILED"] * len(
        body["errors"]
    )
    assert db_state(engine) == before


# ---------------------------------------------------------------- good input


def test_add_round_trips_every_field_normalized(gql, world, engine):
    # given: every field, in untidy spelling
    values = new_customer(world, **FULL_INPUT)

    # when: an admin adds it and then reads it back in a new request
    body = gql(ADMIN, ADD, {"input": values})
    payload = body["data"]["addCustomer"]
    read = gql(ADMIN, CUSTOMER, {"id": payload["customer"]["id"]})

    # then: the payload and the read-back both hold the normalized values, at version 1
    assert payload["errors"] == []
    created = {k: v for k, v in payload["customer"].items() if k != "id"}
    assert created == FULL_EXPECTED
    assert read["data"]["customer"] == payload["customer"]


def test_add_writes_an_activity_record_with_the_values(gql, world, engine):
    # given: no activity for new customers yet
    before = db_state(engine)["activity"]

    # when: a customer is added
    body = gql(ADMIN, ADD, {"input": new_customer(world, **FULL_INPUT)})

    # then: exactly one record, by the admin, in the workgroup, with the stored values
    customer = db_state(engine)["customers"][-1]
    assert customer["company_name"] == "Acme Corporation"
    assert body["data"]["addCustomer"]["customer"]["id"] == encode_id("Customer", customer["id"])
    assert db_state(engine)["activity"] == before + 1
    (record,) = activity_records(engine, customer["id"])
    assert record.action == "customer.add"
    assert record.actor_id == user_id(engine, ADMIN)
    assert record.workgroup_id == world.home.id
    assert record.before is None
    assert record.after is not None
    assert record.after["primaryDomain"] == "acme.example"
    assert record.after["domains"] == ["mail.acme.example", "acme-mail.example"]
    assert record.after["primaryLocation"] == "DE"
    assert record.after["rank"] == 42
    assert sorted(record.after["tags"], key=str.lower) == ["Key Account", "VIP"]


@pytest.mark.parametrize(("name", "value", "stored"), EDGE_VALUES)
def test_add_accepts_values_at_the_limits(gql, world, name, value, stored):
    # given: a value exactly at a limit (or one that normalizes to an allowed value)
    values = new_customer(world, **{name: value})

    # when: it is added
    body = gql(ADMIN, ADD, {"input": values})

    # then: it is stored as expected
    payload = body["data"]["addCustomer"]
    assert payload["errors"] == []
    assert payload["customer"][name] == stored


def test_each_update_increments_the_version_and_is_recorded(gql, world, engine):
    # given: a customer at version 1 with one activity record (its creation)
    customer = world.home_customers[0]
    gid = customer_gid(customer)
    assert customer.version == 1
    assert [r.action for r in activity_records(engine, customer.id)] == ["customer.add"]  # type: ignore[arg-type]

    # when: it is changed twice
    first = gql(ADMIN, UPDATE, {"id": gid, "input": {"companyName": "Renamed", "city": "Bonn"}})
    second = gql(ADMIN, UPDATE, {"id": gid, "input": {"city": None, "tags": ["gamma"]}})

    # then: version 2, then 3; each change is recorded with its before and after values
    assert first["data"]["updateCustomer"]["customer"]["version"] == 2
    assert second["data"]["updateCustomer"]["customer"]["version"] == 3
    assert second["data"]["updateCustomer"]["customer"]["city"] is None
    assert second["data"]["updateCustomer"]["customer"]["tags"] == ["gamma"]
    records = activity_records(engine, customer.id)  # type: ignore[arg-type]
    assert [r.action for r in records] == ["customer.add", "customer.update", "customer.update"]
    assert records[1].before == {"companyName": "Home Customer 0", "city": "Berlin"}
    assert records[1].after == {"companyName": "Renamed", "city": "Bonn"}
    assert records[2].before == {"city": "Bonn", "tags": ["alpha"]}
    assert records[2].after == {"city": None, "tags": ["gamma"]}
    assert records[2].actor_id == user_id(engine, ADMIN)


@pytest.mark.parametrize(
    "same",
    [
        pytest.param({}, id="empty-input"),
        pytest.param({"companyName": "  Home Customer 0 "}, id="same-name-padded"),
        pytest.param({"primaryLocation": "de", "city": "Berlin"}, id="same-location"),
        pytest.param({"primaryDomain": "COMPANY-HOME0.example"}, id="same-domain-upper"),
        pytest.param({"rank": 0, "businessId": "H-0"}, id="same-internal"),
        pytest.param({"tags": ["alpha"]}, id="same-tags"),
        pytest.param({"tags": [" ALPHA ", "alpha"]}, id="same-tags-other-case"),
    ],
)
def test_an_update_that_changes_nothing_keeps_the_version(gql, world, engine, same):
    # given: a customer at version 1
    customer = world.home_customers[0]
    before = db_state(engine)

    # when: an update restates its current values
    body = gql(ADMIN, UPDATE, {"id": customer_gid(customer), "input": same})

    # then: no error, still version 1, no row change and no activity record
    payload = body["data"]["updateCustomer"]
    assert payload["errors"] == []
    assert payload["customer"]["version"] == 1
    assert db_state(engine) == before


def test_reordering_tags_changes_nothing(gql, world, session, engine):
    # given: a customer with two tags
    customer = make_customer(session, world.home, index="tags", tags=["beta", "alpha"])
    before = db_state(engine)

    # when: the same tags are sent in another order and case
    body = gql(ADMIN, UPDATE, {"id": customer_gid(customer), "input": {"tags": ["Beta", "ALPHA"]}})

    # then: the set is the same, so nothing changed
    payload = body["data"]["updateCustomer"]
    assert payload["errors"] == []
    assert (payload["customer"]["tags"], payload["customer"]["version"]) == (["alpha", "beta"], 1)
    assert db_state(engine) == before


def test_tags_are_shared_case_insensitively_within_a_workgroup(gql, world, engine):
    # given: home already has the tag "alpha"
    # when: a customer is added with " ALPHA " and a new tag
    body = gql(ADMIN, ADD, {"input": new_customer(world, tags=[" ALPHA ", "New  Tag"])})

    # then: it gets the existing tag's spelling, and only the new tag was created
    assert body["data"]["addCustomer"]["customer"]["tags"] == ["alpha", "New Tag"]
    home_tags = [name for wg, name in db_state(engine)["tags"] if wg == world.home.id]
    assert sorted(home_tags, key=str.lower) == ["alpha", "beta", "New Tag"]
