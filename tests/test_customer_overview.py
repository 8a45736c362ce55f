"""`Customer.overview`: counts of contacts, open cases and active agreements, the most-used
services and the packages of a customer — each number over the rows the viewer may see, each
field decided by the viewer's roles in the customer's workgroup (docs/permissions.md), and the whole
overview of a page of customers in a constant number of statements.

Training managers read the agreement numbers too; the category row rule narrows their
consumption to the EDUCATION_ON_DEMAND lines, as on the activity dashboard.
"""

from dataclasses import dataclass

import pytest
from sqlmodel import Session

from graph.ids import encode_id
from models.accounts.users import get_or_create_user
from models.agreements.tables import Agreement, ConsumptionRecord, Package, ServiceAmount
from models.core.enums import AmountUnit, CaseStatus
from models.customers.tables import Customer
from models.partner.tables import Contact
from models.support.operations import close_case
from models.support.tables import SupportCase
from tests.activity_factories import (
    ADD_ON,
    ADVISORY,
    CREDITS,
    EDUCATION,
    INACTIVE,
    REACTIVE,
    agreement,
    amount,
    consume,
    iso,
    package,
)
from tests.conftest import World, grant, make_workgroup
from tests.permission_table import errors_at, forbidden_paths
from tests.support_factories import give_access, new_case, new_group, share
from tests.test_cost import counting_statements

OVERVIEW = """
query($id: ID!) {
  customer(id: $id) {
    companyName
    overview {
      contactCount openCaseCount activeAgreementCount
      topServices { category unit used }
      packages { packageId name agreementNumber kind status startsOn expiresOn }
    }
  }
}
"""
TOP_SERVICES = """
query($id: ID!, $first: Int!) {
  customer(id: $id) { overview { topServices(first: $first) { category unit used } } }
}
"""
NUMBERS = """
query($home: ID!, $away: ID!) {
  home: customer(id: $home) { overview { contactCount activeAgreementCount } }
  away: customer(id: $away) { overview { contactCount activeAgreementCount } }
}
"""
PAGE = """
query($workgroupId: ID!) {
  customers(workgroupId: $workgroupId, first: 100) {
    edges { node {
      id
      overview {
        contactCount openCaseCount activeAgreementCount
        topServices { category unit used }
        packages { packageId name agreementNumber kind status startsOn expiresOn }
      }
    } }
  }
}
"""

FIELDS = ("contactCount", "openCaseCount", "activeAgreementCount", "topServices", "packages")
# Who reads each field of the overview, by the rows of the role table: contacts for contact
# readers; cases for every role that sees the customer; agreements, packages and consumption
# for agreement readers (training managers: education consumption only).
# fmt: off
READERS = {
    "contactCount":         {"admin", "admin_agent", "sales_agent"},
    "openCaseCount":        {"admin", "admin_agent", "sales_agent", "customer_activity",
                             "training_manager", "support_viewer"},
    "activeAgreementCount": {"admin", "customer_activity", "training_manager"},
    "topServices":          {"admin", "customer_activity", "training_manager"},
    "packages":             {"admin", "customer_activity", "training_manager"},
}
# The OPEN cases of customer 0 each role sees: overseers all four; the others by the member
# rule — the sales agent through a share, the admin agent through a group, the activity
# reader as primary contact, the training manager none.
OPEN_CASES = {
    "admin": 4, "support_viewer": 4, "sales_agent": 1, "admin_agent": 1,
    "customer_activity": 1, "training_manager": 0,
}
# fmt: on
ALL_SERVICES = [
    {"category": "REACTIVE_SUPPORT", "unit": "HOURS", "used": 13.0},
    {"category": "PROACTIVE_CREDITS", "unit": "CREDITS", "used": 9.0},
    {"category": "EDUCATION_ON_DEMAND", "unit": "HOURS", "used": 5.0},
    {"category": "ADVISORY", "unit": "HOURS", "used": 2.0},
]
EDUCATION_ONLY = [{"category": "EDUCATION_ON_DEMAND", "unit": "HOURS", "used": 5.0}]

MIXED = "activity-and-sales@mixed.example"  # customer_activity in Home, sales_agent in Away


def gid(row) -> str:
    return encode_id(type(row).__name__, row.id)


def add_contacts(session: Session, customer: Customer, count: int) -> None:
    session.add_all(
        Contact(
            workgroup_id=customer.workgroup_id,
            customer_id=customer.id,
            first_name=f"First {i}",
            last_name=f"Last {i}",
            email=f"contact{i}@{customer.primary_domain}",
        )
        for i in range(count)
    )
    session.commit()


@dataclass
class Scene:
    world: World
    current: Agreement
    expired: Agreement
    future: Agreement
    core: Package
    pack: Package
    old_core: Package
    next_core: Package

    def customer(self, index: int = 0) -> str:
        return gid(self.world.home_customers[index])

    def packages(self) -> list[dict]:
        """Customer 0's packages as the overview lists them: by expiry."""

        def line(row: Package, number: str, kind: str, status: str, starts: int, expires: int):
            return {
                "packageId": gid(row),
                "name": row.name,
                "agreementNumber": number,
                "kind": kind,
                "status": status,
                "startsOn": iso(starts),
                "expiresOn": iso(expires),
            }

        return [
            line(self.old_core, "H-2", "ENTERPRISE", "INACTIVE", -400, -1),
            line(self.pack, "H-1", "ADD_ON", "ACTIVE", -100, 30),
            line(self.core, "H-1", "ENTERPRISE", "ACTIVE", -100, 100),
            line(self.next_core, "H-3", "ENTERPRISE", "ACTIVE", 1, 300),
        ]


def build_scene(session: Session, world: World) -> Scene:
    """Home, customer 0:
      contacts: 3
      cases: "open shared" (shared with the sales agent), "closed shared" (the same, closed),
        "open unrelated", "open via group" (Tier 2: the admin agent), "open as contact"
        (primary contact: the activity reader) — 4 open
      H-1 (days -100..+100, active): Core (ENTERPRISE) REACTIVE used 3 + 4, EDUCATION used 5,
        ADVISORY used 2; Credits pack (ADD_ON, expires +30) PROACTIVE_CREDITS used 9 credits
      H-2 (days -400..-1, expired): Old core (ENTERPRISE, INACTIVE) REACTIVE used 6
      H-3 (days +1..+300, not yet active): Next core (ENTERPRISE), nothing used
    Home, customer 1: 1 contact, an open case shared with the sales agent, an active agreement.
    Away, customer 0: 2 contacts, an active agreement.
    """
    home0, home1 = world.home_customers[0], world.home_customers[1]
    add_contacts(session, home0, 3)
    add_contacts(session, home1, 1)
    add_contacts(session, world.away_customers[0], 2)

    sales = World.email("sales_agent")
    shared = new_case(session, world.home, "open shared", customer=home0)
    share(session, shared, sales)
    closed = new_case(session, world.home, "closed shared", customer=home0)
    share(session, closed, sales)
    close_case(session=session, support_case=closed, actor_id=None)  # type: ignore[arg-type]
    session.commit()
    new_case(session, world.home, "open unrelated", customer=home0)
    tier2 = new_group(session, world.home, "Tier 2", (World.email("admin_agent"),))
    give_access(session, new_case(session, world.home, "open via group", customer=home0), tier2)
    new_case(
        session,
        world.home,
        "open as contact",
        customer=home0,
        contact=World.email("customer_activity"),
    )
    share(session, new_case(session, world.home, "other customer", customer=home1), sales)

    current = agreement(session, home0, "H-1", starts=-100, ends=100)
    core = package(session, current, "Core")
    reactive = amount(session, core, REACTIVE, 100)
    consume(session, reactive, -1, 3)
    consume(session, reactive, -2, 4)
    consume(session, amount(session, core, EDUCATION, 40), -3, 5)
    consume(session, amount(session, core, ADVISORY, 20), -4, 2)
    pack = package(session, current, "Credits pack", kind=ADD_ON, expires=30)
    consume(session, amount(session, pack, CREDITS, 30, unit=AmountUnit.CREDITS), -5, 9)

    expired = agreement(session, home0, "H-2", starts=-400, ends=-1)
    old_core = package(session, expired, "Old core", status=INACTIVE)
    consume(session, amount(session, old_core, REACTIVE, 50), -200, 6)

    future = agreement(session, home0, "H-3", starts=1, ends=300)
    next_core = package(session, future, "Next core")
    amount(session, next_core, REACTIVE, 10)

    agreement(session, home1, "H-10", starts=-10, ends=10)
    agreement(session, world.away_customers[0], "W-1", starts=-10, ends=10)
    session.commit()
    return Scene(world, current, expired, future, core, pack, old_core, next_core)


@pytest.fixture
def scene(session: Session, world: World) -> Scene:
    return build_scene(session, world)


# ------------------------------------------------------------------ the numbers


def test_an_admin_sees_every_number_of_the_customer(gql, scene: Scene):
    # Given customer 0 of the scene, and Home's admin
    # When they open its overview
    body = gql(World.email("admin"), OVERVIEW, {"id": scene.customer()})

    # Then every number is there: closed cases and the expired and future agreements are not
    # counted, consumption of every agreement is summed per category, most used first
    assert "errors" not in body, body
    assert body["data"]["customer"]["overview"] == {
        "contactCount": 3,
        "openCaseCount": 4,
        "activeAgreementCount": 1,
        "topServices": ALL_SERVICES,
        "packages": scene.packages(),
    }


def test_another_customer_has_its_own_numbers(gql, scene: Scene):
    # When Home's admin opens customer 1's overview
    body = gql(World.email("admin"), OVERVIEW, {"id": scene.customer(1)})

    # Then its own contact, case and agreement are counted, nothing of customer 0
    assert body["data"]["customer"]["overview"] == {
        "contactCount": 1,
        "openCaseCount": 1,
        "activeAgreementCount": 1,
        "topServices": [],
        "packages": [],
    }


@pytest.mark.parametrize("role", sorted(OPEN_CASES))
def test_only_the_open_cases_the_viewer_may_see_are_counted(gql, scene: Scene, role):
    # When each role of Home counts customer 0's open cases
    body = gql(
        World.email(role),
        "query($id: ID!) { customer(id: $id) { overview { openCaseCount } } }",
        {"id": scene.customer()},
    )

    # Then overseers count all of them, everyone else those the member rule lets them see
    assert body["data"]["customer"]["overview"]["openCaseCount"] == OPEN_CASES[role]


def test_the_count_matches_the_list_of_open_cases(gql, scene: Scene):
    # Given the customer's case list filtered to OPEN, for a sales agent who sees one by a share
    query = """
    query($id: ID!) { customer(id: $id) {
      supportCases(status: OPEN) { totalCount } overview { openCaseCount } } }
    """
    # When they read both
    customer = gql(World.email("sales_agent"), query, {"id": scene.customer()})["data"]["customer"]

    # Then the count is the list's total
    assert customer["overview"]["openCaseCount"] == customer["supportCases"]["totalCount"] == 1


def test_top_services_are_cut_to_first(gql, scene: Scene):
    # When the admin asks for the two most-used services, and for none
    two = gql(World.email("admin"), TOP_SERVICES, {"id": scene.customer(), "first": 2})
    none = gql(World.email("admin"), TOP_SERVICES, {"id": scene.customer(), "first": 0})

    # Then the two most used come, and none
    assert two["data"]["customer"]["overview"]["topServices"] == ALL_SERVICES[:2]
    assert none["data"]["customer"]["overview"]["topServices"] == []


def test_a_negative_first_is_bad_user_input(gql, scene: Scene):
    body = gql(World.email("admin"), TOP_SERVICES, {"id": scene.customer(), "first": -1})
    assert errors_at(body) == {("customer", "overview", "topServices"): "BAD_USER_INPUT"}


def test_a_training_manager_sees_the_education_consumption_only(gql, scene: Scene):
    # When Home's training manager opens customer 0's overview
    body = gql(World.email("training_manager"), OVERVIEW, {"id": scene.customer()})

    # Then the agreements and packages are theirs to read, the consumption only of education
    overview = body["data"]["customer"]["overview"]
    assert overview["activeAgreementCount"] == 1
    assert overview["packages"] == scene.packages()
    assert overview["topServices"] == EDUCATION_ONLY


# ------------------------------------------------------------------ who reads what

ROLES_OF_HOME = ["admin", "admin_agent", "sales_agent", "customer_activity", "training_manager"]


@pytest.mark.parametrize("role", [*ROLES_OF_HOME, "support_viewer"])
def test_each_role_reads_the_fields_of_its_row_of_the_table(gql, scene: Scene, role):
    # When each role of Home opens customer 0's overview with every field
    body = gql(World.email(role), OVERVIEW, {"id": scene.customer()})

    # Then the fields of the role's rows are there and the others are FORBIDDEN, each at its
    # own path, with the rest of the customer intact
    customer = body["data"]["customer"]
    assert customer["companyName"] == "Home Customer 0"
    denied = {name for name in FIELDS if role not in READERS[name]}
    assert forbidden_paths(body) == {("customer", "overview", name) for name in denied}
    overview = customer["overview"]
    assert {name for name in FIELDS if overview[name] is None} == denied
    if "contactCount" not in denied:
        assert overview["contactCount"] == 3


@pytest.mark.parametrize("email", [World.email("member"), World.NOBODY, World.ADMIN_AWAY])
def test_who_does_not_see_the_customer_gets_null_and_no_error(gql, scene: Scene, email):
    body = gql(email, OVERVIEW, {"id": scene.customer()})
    assert body == {"data": {"customer": None}}


def test_a_global_admin_reads_everything(gql, scene: Scene):
    body = gql(World.GLOBAL_ADMIN, OVERVIEW, {"id": scene.customer()})
    assert "errors" not in body
    assert body["data"]["customer"]["overview"]["contactCount"] == 3


def test_fields_are_decided_by_the_roles_in_the_customers_workgroup(
    gql, session: Session, scene: Scene
):
    # Given a user who reads agreements in Home and contacts in Away
    grant(session, MIXED, "customer_activity", scene.world.home)
    grant(session, MIXED, "sales_agent", scene.world.away)

    # When they read both numbers of a customer of each workgroup in one request
    body = gql(
        MIXED, NUMBERS, {"home": scene.customer(), "away": gid(scene.world.away_customers[0])}
    )

    # Then each customer shows what their roles there allow, and nothing else
    assert body["data"] == {
        "home": {"overview": {"contactCount": None, "activeAgreementCount": 1}},
        "away": {"overview": {"contactCount": 2, "activeAgreementCount": None}},
    }
    assert forbidden_paths(body) == {
        ("home", "overview", "contactCount"),
        ("away", "overview", "activeAgreementCount"),
    }


# ------------------------------------------------------------------ cost


def add_page(session: Session, workgroup, count: int) -> None:
    """`count` customers, each with two contacts, an open and a closed case, an active and an
    expired agreement, two packages, two consumable lines with consumption."""
    opener = get_or_create_user(session=session, email=World.email("admin"))
    session.commit()
    for i in range(count):
        customer = Customer(
            workgroup_id=workgroup.id,
            company_name=f"{workgroup.name} {i:03d}",
            primary_domain=f"{workgroup.name.lower()}-{i}.example",
        )
        session.add(customer)
        session.flush()
        session.add_all(
            Contact(
                workgroup_id=workgroup.id,
                customer_id=customer.id,
                first_name="A",
                last_name=f"B{n}",
                email=f"c{n}@{customer.primary_domain}",
            )
            for n in range(2)
        )
        for n, status in enumerate((CaseStatus.OPEN, CaseStatus.CLOSED)):
            session.add(
                SupportCase(
                    workgroup_id=workgroup.id,
                    number=2 * i + n + 1,
                    title=f"Case {i}/{n}",
                    severity="LOW",
                    status=status.value,
                    customer_id=customer.id,
                    primary_contact_id=opener.id,  # type: ignore[arg-type]
                )
            )
        for number, starts, ends in ((f"A-{i}", -10, 10), (f"X-{i}", -100, -50)):
            deal = agreement(session, customer, number, starts=starts, ends=ends)
            for name, kind in (("Core", "ENTERPRISE"), ("Pack", "ADD_ON")):
                row = Package(
                    workgroup_id=workgroup.id,
                    agreement_id=deal.id,  # type: ignore[arg-type]
                    name=name,
                    kind=kind,
                    status="ACTIVE",
                    starts_on=deal.starts_on,
                    expires_on=deal.ends_on,
                )
                session.add(row)
                session.flush()
                for category in ("REACTIVE_SUPPORT", "EDUCATION_ON_DEMAND"):
                    line = ServiceAmount(
                        workgroup_id=workgroup.id,
                        package_id=row.id,  # type: ignore[arg-type]
                        category=category,
                        kind="CONSUMABLE",
                        unit="HOURS",
                        purchased=10,  # type: ignore[arg-type]
                    )
                    session.add(line)
                    session.flush()
                    session.add(
                        ConsumptionRecord(
                            workgroup_id=workgroup.id,
                            service_amount_id=line.id,  # type: ignore[arg-type]
                            date=deal.starts_on,
                            quantity=1,  # type: ignore[arg-type]
                        )
                    )
    session.commit()


@pytest.mark.parametrize("role", ["admin", "sales_agent", "training_manager"])
def test_a_page_of_overviews_costs_the_same_for_5_customers_as_for_50(
    gql, engine, authorizer, session: Session, role
):
    # Given the same role in a workgroup of 5 customers and, for another user, one of 50,
    # every customer with contacts, cases, agreements, packages and consumption
    small = make_workgroup(session, "Small")
    large = make_workgroup(session, "Large")
    add_page(session, small, 5)
    add_page(session, large, 50)
    grant(session, f"{role}@small.example", role, small)
    grant(session, f"{role}@large.example", role, large)

    # When each lists its customers with every field of the overview
    costs = {}
    for email, workgroup in ((f"{role}@small.example", small), (f"{role}@large.example", large)):
        authorizer.clear_cache()
        evaluations = authorizer.evaluations
        with counting_statements(engine) as statements:
            body = gql(email, PAGE, {"workgroupId": gid(workgroup)})
        costs[email] = (len(statements), authorizer.evaluations - evaluations, body)

    # Then both cost the same statements and Casbin evaluations
    small_cost, large_cost = costs[f"{role}@small.example"], costs[f"{role}@large.example"]
    assert small_cost[:2] == large_cost[:2]
    nodes = [edge["node"] for edge in large_cost[2]["data"]["customers"]["edges"]]
    assert len(nodes) == 50
    # and every customer got its numbers (as far as the role reads them)
    for node in nodes:
        overview = node["overview"]
        assert overview["openCaseCount"] == (1 if role == "admin" else 0)
        if role in READERS["activeAgreementCount"]:
            assert overview["activeAgreementCount"] == 1
            assert len(overview["packages"]) == 4
            categories = (
                ["EDUCATION_ON_DEMAND"]
                if role == "training_manager"
                else ["EDUCATION_ON_DEMAND", "REACTIVE_SUPPORT"]
            )
            assert overview["topServices"] == [
                {"category": category, "unit": "HOURS", "used": 4.0} for category in categories
            ]
        if role in READERS["contactCount"]:
            assert overview["contactCount"] == 2
