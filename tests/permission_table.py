"""The permission ladder: the role table written out as literal tables, and the world the ladder
is climbed in.

The tables are the specification. They are typed in from the design (and the issue that
refines it), never computed from policies/policy.csv: the ladder tests check the policy
against the design, so deriving one from the other would prove nothing.

The world is shared by every test of a module (building it per test would make a ladder of a
few hundred rungs slow): two workgroups, one user per role in Home, an admin of Away, a
global admin, a user without roles and a user with different roles in the two workgroups.
Every customer has every field set, so an allowed field is told apart from a denied one by
its value as well as by the absence of an error.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from httpx import Response
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

from graph.app import create_app
from graph.ids import encode_id
from models.accounts.tables import Workgroup
from models.accounts.users import get_or_create_user
from models.audit.activity import ActivityRecord
from models.customers.operations import archive_customer
from models.customers.tables import Customer
from models.customers.tags import tags_by_customer
from models.partner.tables import Contact
from models.settings import Settings
from policies import Authorizer
from tests.conftest import (
    ROLES,
    TEST_SECRET,
    GraphQLClient,
    World,
    empty_tables,
    grant,
    make_customer,
    make_workgroup,
)

# ------------------------------------------------------------------ the specification

# The columns of the role table in docs/permissions.md, in its order.
ROLE_COLUMNS = (
    "admin",
    "admin_agent",
    "sales_agent",
    "customer_activity",
    "training_manager",
    "support_viewer",
    "member",
)

# Who may read each field of a Customer, by the row of the §3 table that names it: "Customer
# identity" (with workgroup, createdAt, updatedAt, archivedAt and version, which the policy
# files with it), "Customer list data", "Customer internal data", and the later capabilities
# that hang off a customer. Every field of the schema's Customer type has a row here.
# fmt: off
CUSTOMER_READS: dict[str, tuple[str, ...]] = {
    #                                     admin agent sales activ train viewer member
    # identity
    "id":                               ("R", "R", "R", "R", "R", "R", "-"),
    "companyName":                      ("R", "R", "R", "R", "R", "R", "-"),
    "status":                           ("R", "R", "R", "R", "R", "R", "-"),
    "workgroup":                        ("R", "R", "R", "R", "R", "R", "-"),
    "createdAt":                        ("R", "R", "R", "R", "R", "R", "-"),
    "updatedAt":                        ("R", "R", "R", "R", "R", "R", "-"),
    "archivedAt":                       ("R", "R", "R", "R", "R", "R", "-"),
    "version":                          ("R", "R", "R", "R", "R", "R", "-"),
    # list data
    "primaryDomain":                    ("R", "R", "R", "-", "-", "-", "-"),
    "domains":                          ("R", "R", "R", "-", "-", "-", "-"),
    "primaryLocation":                  ("R", "R", "R", "-", "-", "-", "-"),
    "city":                             ("R", "R", "R", "-", "-", "-", "-"),
    "state":                            ("R", "R", "R", "-", "-", "-", "-"),
    "address":                          ("R", "R", "R", "-", "-", "-", "-"),
    "postalCode":                       ("R", "R", "R", "-", "-", "-", "-"),
    "phone":                            ("R", "R", "R", "-", "-", "-", "-"),
    "fax":                              ("R", "R", "R", "-", "-", "-", "-"),
    "industry":                         ("R", "R", "R", "-", "-", "-", "-"),
    "companySize":                      ("R", "R", "R", "-", "-", "-", "-"),
    "renewalPolicy":                    ("R", "R", "R", "-", "-", "-", "-"),
    "relationship":                     ("R", "R", "R", "-", "-", "-", "-"),
    "tags":                             ("R", "R", "R", "-", "-", "-", "-"),
    # internal data
    "rank":                             ("R", "R", "-", "-", "-", "-", "-"),
    "businessId":                       ("R", "R", "-", "-", "-", "-", "-"),
    # the rows of later capabilities that reach a customer: "Agreements, packages, ..."
    # (training_manager: education only), "Activity log", "Support cases" (the field is open
    # to every role; which cases it lists is the member rule's business)
    "agreements":                       ("R", "-", "-", "R", "R", "-", "-"),
    "feed":                             ("R", "R", "-", "-", "-", "-", "-"),
    "supportCases":                     ("R", "R", "R", "R", "R", "R", "R"),
    # "Contacts, contracts, SLAs, projects" (the main contact and the tickets-from-main-
    # contact-only flag go with the contacts), and "Tags, orders, ..."
    "contacts":                         ("R", "R", "R", "-", "-", "-", "-"),
    "mainContact":                      ("R", "R", "R", "-", "-", "-", "-"),
    "acceptTicketsFromMainContactOnly": ("R", "R", "R", "-", "-", "-", "-"),
    "contracts":                        ("R", "R", "R", "-", "-", "-", "-"),
    "serviceLevel":                     ("R", "R", "R", "-", "-", "-", "-"),
    "projects":                         ("R", "R", "R", "-", "-", "-", "-"),
    "orders":                           ("R", "R", "R", "-", "-", "-", "-"),
    # the overview is open to every role that sees the customer; which of its numbers each
    # role reads is in tests/test_customer_overview.py
    "overview":                         ("R", "R", "R", "R", "R", "R", "-"),
}

# Who may run each customer mutation in a workgroup ("Add, archive, reactivate customers";
# updateCustomer is open to whoever may change some input field of it).
MUTATION_WRITES: dict[str, tuple[str, ...]] = {
    #                       admin agent sales activ train viewer member
    "addCustomer":        ("W", "W", "-", "-", "-", "-", "-"),
    "updateCustomer":     ("W", "W", "W", "-", "-", "-", "-"),
    "archiveCustomer":    ("W", "W", "-", "-", "-", "-", "-"),
    "reactivateCustomer": ("W", "W", "-", "-", "-", "-", "-"),
    # Only a global admin: holding admin in one workgroup is not enough.
    "createWorkgroup":    ("-", "-", "-", "-", "-", "-", "-"),
}

# Who may set each field of UpdateCustomerInput ("change domains, rank, businessId,
# renewalPolicy" and, per the issue, primaryDomain and relationship; "Change billing data",
# with industry and companySize per the issue; "Tags").
UPDATE_INPUT_WRITES: dict[str, tuple[str, ...]] = {
    #                    admin agent sales activ train viewer member
    "companyName":     ("W", "W", "W", "-", "-", "-", "-"),
    "primaryDomain":   ("W", "W", "-", "-", "-", "-", "-"),
    "domains":         ("W", "W", "-", "-", "-", "-", "-"),
    "primaryLocation": ("W", "W", "W", "-", "-", "-", "-"),
    "city":            ("W", "W", "W", "-", "-", "-", "-"),
    "state":           ("W", "W", "W", "-", "-", "-", "-"),
    "address":         ("W", "W", "W", "-", "-", "-", "-"),
    "postalCode":      ("W", "W", "W", "-", "-", "-", "-"),
    "phone":           ("W", "W", "W", "-", "-", "-", "-"),
    "fax":             ("W", "W", "W", "-", "-", "-", "-"),
    "industry":        ("W", "W", "W", "-", "-", "-", "-"),
    "companySize":     ("W", "W", "W", "-", "-", "-", "-"),
    "rank":            ("W", "W", "-", "-", "-", "-", "-"),
    "businessId":      ("W", "W", "-", "-", "-", "-", "-"),
    "renewalPolicy":   ("W", "W", "-", "-", "-", "-", "-"),
    "relationship":    ("W", "W", "-", "-", "-", "-", "-"),
    "tags":            ("W", "W", "W", "-", "-", "-", "-"),
}
# fmt: on


def granted_to(table: dict[str, tuple[str, ...]], name: str) -> frozenset[str]:
    """The roles a row of one of the tables above grants."""
    row = table[name]
    assert len(row) == len(ROLE_COLUMNS), f"{name}: one cell per role column"
    return frozenset(role for role, cell in zip(ROLE_COLUMNS, row, strict=True) if cell != "-")


CUSTOMER_FIELDS = list(CUSTOMER_READS)
UPDATE_INPUT_FIELDS = list(UPDATE_INPUT_WRITES)
# The roles that see a workgroup's customers at all: those granted the customer identity.
CUSTOMER_VIEWERS = granted_to(CUSTOMER_READS, "id")

# The selection for each field in a query (object fields need a sub-selection).
SELECTION = {
    "workgroup": "workgroup { name }",
    "agreements": "agreements { id }",
    "feed": "feed { totalCount }",
    "supportCases": "supportCases { totalCount }",
    "overview": "overview { openCaseCount }",
    **{
        name: f"{name} {{ __typename }}"
        for name in ("contacts", "mainContact", "contracts", "serviceLevel", "projects", "orders")
    },
}


def select_field(name: str) -> str:
    return SELECTION.get(name, name)


# ------------------------------------------------------------------ the world

MIXED = "mixed@home.example"  # admin in Home, sales_agent in Away

# Values every customer of the world has; the ones that differ per customer are set in
# `build_world`. An update in the mutation ladder changes each field to a value that differs.
COMMON_VALUES: dict[str, Any] = {
    "primary_location": "DE",
    "city": "Berlin",
    "state": "Berlin",
    "address": "Unter den Linden 1",
    "postal_code": "10117",
    "phone": "+49 30 1234",
    "fax": "+49 30 5678",
    "industry": "RETAIL",
    "company_size": "EMPLOYEES_11_50",
    "renewal_policy": "AUTO_RENEW",
    "relationship": "DIRECT",
}


def full_customer(session: Session, workgroup: Workgroup, name: str, number: int) -> Customer:
    """A customer with every field set, and a main contact."""
    key = name.lower().replace(" ", "-")
    customer = make_customer(
        session,
        workgroup,
        company_name=name,
        primary_domain=f"{key}.example",
        domains=[f"{key}-mail.example"],
        rank=number,
        business_id=f"BID-{number}",
        tags=[f"tag-{number}"],
        **COMMON_VALUES,
    )
    customer.accept_tickets_from_main_contact_only = True
    session.add(
        Contact(
            workgroup_id=workgroup.id,  # type: ignore[arg-type]
            customer_id=customer.id,
            first_name="Main",
            last_name=name,
            email=f"main@{key}.example",
            is_main=True,
        )
    )
    session.commit()
    return customer


def graphql_values(session: Session, customer: Customer, workgroup_name: str) -> dict[str, Any]:
    """What each Customer field answers for `customer` when the viewer may read it."""
    session.refresh(customer)
    tags = tags_by_customer(session=session, customer_ids=[customer.id])[customer.id]  # type: ignore[index, list-item]

    def iso(value):
        return None if value is None else value.isoformat()

    return {
        "id": encode_id("Customer", customer.id),  # type: ignore[arg-type]
        "companyName": customer.company_name,
        "status": customer.status,
        "workgroup": {"name": workgroup_name},
        "createdAt": iso(customer.created_at),
        "updatedAt": iso(customer.updated_at),
        "archivedAt": iso(customer.archived_at),
        "version": customer.version,
        "primaryDomain": customer.primary_domain,
        "domains": customer.domains,
        "primaryLocation": customer.primary_location,
        "city": customer.city,
        "state": customer.state,
        "address": customer.address,
        "postalCode": customer.postal_code,
        "phone": customer.phone,
        "fax": customer.fax,
        "industry": customer.industry,
        "companySize": customer.company_size,
        "renewalPolicy": customer.renewal_policy,
        "relationship": customer.relationship,
        "tags": tags,
        "rank": customer.rank,
        "businessId": customer.business_id,
        "agreements": [],  # the world has none
        "feed": {"totalCount": activity_count(session, target=customer)},
        "supportCases": {"totalCount": 0},  # nor cases
        "contacts": [{"__typename": "Contact"}],  # one: the main contact
        "mainContact": {"__typename": "Contact"},
        "acceptTicketsFromMainContactOnly": customer.accept_tickets_from_main_contact_only,
        "contracts": [],
        "serviceLevel": None,
        "projects": [],
        "orders": [],
        "overview": {"openCaseCount": 0},  # no cases
    }


@dataclass
class Ladder:
    world: World
    gql: GraphQLClient
    # Customer global id -> the value of every field, as an allowed viewer reads it.
    values: dict[str, dict[str, Any]]
    _answers: dict[tuple[str, str, str], Response] = field(default_factory=dict)

    def once(self, email: str, query: str, variables: dict[str, Any]) -> Response:
        """The response to a request that reads (or names nothing); the world being fixed,
        the same request always gets the same answer, so it is sent once per module."""
        key = (email, query, json.dumps(variables, sort_keys=True))
        if key not in self._answers:
            self._answers[key] = self.gql.post(email, query, variables)
        return self._answers[key]

    def home_id(self) -> str:
        return encode_id("Workgroup", self.world.home.id)  # type: ignore[arg-type]

    def away_id(self) -> str:
        return encode_id("Workgroup", self.world.away.id)  # type: ignore[arg-type]

    @property
    def archived(self) -> Customer:
        """The one archived customer (of Home)."""
        return self.world.home_customers[-1]


def build_world(session: Session) -> tuple[World, dict[str, dict[str, Any]]]:
    home = make_workgroup(session, "Home")
    away = make_workgroup(session, "Away")
    for role in ROLES:
        grant(session, World.email(role), role, home)
    grant(session, World.ADMIN_AWAY, "admin", away)
    grant(session, World.GLOBAL_ADMIN, "admin", None)
    grant(session, MIXED, "admin", home)
    grant(session, MIXED, "sales_agent", away)
    get_or_create_user(session=session, email=World.NOBODY)
    session.commit()
    home_customers = [full_customer(session, home, f"Home Customer {i}", i) for i in range(3)]
    away_customers = [full_customer(session, away, f"Away Customer {i}", 10 + i) for i in range(2)]
    archive_customer(
        session=session, customer=home_customers[-1], expected_version=None, actor_id=None
    )
    session.commit()
    values = {}
    for customers, name in ((home_customers, "Home"), (away_customers, "Away")):
        for customer in customers:
            found = graphql_values(session, customer, name)
            values[found["id"]] = found
    return World(home, away, home_customers, away_customers), values


def ladder_world(engine: Engine, database_url: str) -> Iterator[Ladder]:
    """The body of a module-scoped fixture: the world, a client, and emptied tables after."""
    settings = Settings(database_url=database_url, jwt_secret=TEST_SECRET, env="development")
    app = create_app(settings, engine=engine, authorizer=Authorizer.from_files())
    try:
        with Session(engine, expire_on_commit=False) as session:
            world, values = build_world(session)
        with TestClient(app) as http:
            yield Ladder(world=world, gql=GraphQLClient(http, settings), values=values)
    finally:
        empty_tables(engine)


# ------------------------------------------------------------------ reading responses


def errors_at(body: dict[str, Any]) -> dict[tuple, str | None]:
    """Path of each error -> its extensions.code."""
    return {
        tuple(error.get("path") or ()): (error.get("extensions") or {}).get("code")
        for error in body.get("errors", [])
    }


def forbidden_paths(body: dict[str, Any]) -> set[tuple]:
    return {path for path, code in errors_at(body).items() if code == "FORBIDDEN"}


def activity_count(session: Session, *, target: Customer | None = None) -> int:
    """How many activity records there are (about `target`, if given)."""
    query = select(func.count()).select_from(ActivityRecord)
    if target is not None:
        query = query.where(
            ActivityRecord.target_type == "Customer", ActivityRecord.target_id == target.id
        )
    return session.execute(query).scalar_one()


def snapshot(session: Session, customer_id: int) -> dict[str, Any]:
    """Every column of a customer row, and its tags, as the database holds them now."""
    session.expire_all()
    row = session.get(Customer, customer_id)
    assert row is not None
    values = row.model_dump()
    values["tags"] = tags_by_customer(session=session, customer_ids=[customer_id])[customer_id]
    return values


def column_of(field: str) -> str:
    """The table column behind a GraphQL field name: "postalCode" -> "postal_code"."""
    return "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in field)
