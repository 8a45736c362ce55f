"""The customer-activity feature as an admin reads it (docs/domain.md: Agreement, Package, Service
amount, Consumption record, Drill-down): derived totals, active dates, filters, the paginated
consumption grids, lists of agreements, `node(id:)`, bad input, and the cost of a request.
Who sees what is in test_customer_activity_permissions.py.

The scenario and its numbers are described in tests/activity_factories.build_dashboard; it is
built once for the module (`shared`), and stands in for conftest's `world`. Tests that add rows
add them to a `fresh` workgroup of their own, so the shared scenario never changes.
"""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlmodel import Session

from graph.ids import encode_id
from models.accounts.tables import Workgroup
from models.core.enums import AmountUnit
from models.customers.tables import Customer
from policies import Authorizer
from tests.activity_factories import (
    ACTIVE,
    ADD_ON,
    ADVISORY,
    ADVISORY_DAYS,
    ADVISORY_DESCRIPTION,
    ADVISORY_URL,
    EDUCATION,
    ENTERPRISE,
    INACTIVE,
    REACTIVE,
    Dashboard,
    Shared,
    agreement,
    amount,
    benefit,
    build_bulk,
    consume,
    gid,
    iso,
    package,
    shared_world,
)
from tests.conftest import GraphQLClient, World, grant, make_customer, make_workgroup
from tests.test_cost import measure

ADMIN = World.email("admin")

ACTIVITY_TREE = """
query Activity($workgroupIds: [ID!], $agreementId: ID) {
  customerActivity(workgroupIds: $workgroupIds, agreementId: $agreementId) {
    agreements {
      id number isActive startsOn endsOn
      packages {
        id name kind status daysToExpiry
        serviceAmounts {
          id category kind unit purchased used available description actionUrl
          consumption(first: 100) {
            totalCount
            edges { node { id date quantity hoursWorked description } }
          }
        }
      }
    }
    enterprise { category kind unit purchased used available description actionUrl }
  }
}
"""
ENTERPRISE_TOTALS = """
query Enterprise($workgroupIds: [ID!]) {
  customerActivity(workgroupIds: $workgroupIds) {
    enterprise { category kind unit purchased used available }
  }
}
"""
ACTIVE_AGREEMENTS = "query { customerActivity { agreements { number isActive } } }"
ADD_ON_PACKAGES = """
query AddOns($agreementId: ID!, $packageId: ID, $status: PackageStatus) {
  customerActivity {
    addOnPackages(agreementId: $agreementId, packageId: $packageId, status: $status) {
      id name kind status expiresOn daysToExpiry
    }
  }
}
"""
ALL_PACKAGES = """
query($id: ID!) {
  node(id: $id) { ... on Agreement { packages { name expiresOn daysToExpiry } } }
}
"""
DRILL_DOWN = """
query DrillDown(
  $category: DrillDownCategory!, $agreementId: ID,
  $first: Int! = 50, $after: String, $from: Date, $to: Date
) {
  customerActivity {
    drillDown(category: $category, agreementId: $agreementId) {
      category unit purchased used available description actionUrl
      records(first: $first, after: $after, from: $from, to: $to) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage endCursor }
        edges { node { id date quantity hoursWorked description } }
      }
    }
  }
}
"""
CHOSEN_DRILL_DOWN = """
query($agreementId: ID) {
  customerActivity(agreementId: $agreementId) {
    drillDown(category: REACTIVE_SUPPORT) { purchased used records { totalCount } }
  }
}
"""
CONSUMPTION = """
query Consumption($id: ID!, $first: Int! = 50, $after: String, $from: Date, $to: Date) {
  node(id: $id) {
    ... on ServiceAmount {
      used
      consumption(first: $first, after: $after, from: $from, to: $to) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage endCursor }
        edges { node { date quantity } }
      }
    }
  }
}
"""
AGREEMENTS = """
query Agreements($workgroupIds: [ID!], $customerId: ID, $active: Boolean, $first: Int! = 50) {
  agreements(workgroupIds: $workgroupIds, customerId: $customerId, active: $active, first: $first) {
    totalCount
    edges { node { number isActive customer { companyName } workgroup { name } } }
  }
}
"""
CUSTOMER_AGREEMENTS = """
query($id: ID!, $active: Boolean) {
  customer(id: $id) { agreements(active: $active) { number isActive } }
}
"""
WORKGROUP_AGREEMENTS = """
query($id: ID!, $active: Boolean, $first: Int! = 50) {
  workgroup(id: $id) {
    agreements(active: $active, first: $first) { totalCount edges { node { number } } }
  }
}
"""
NODE = """
query($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Agreement { number }
    ... on Package { name }
    ... on ServiceAmount { category purchased }
    ... on ConsumptionRecord { date quantity }
  }
}
"""
COST_TREE = """
query {
  customerActivity {
    agreements { packages { serviceAmounts {
      used available
      consumption(first: 5) { totalCount edges { node { date } } }
    } } }
    enterprise { category used }
  }
}
"""
CUSTOMER_AGREEMENTS_TREE = """
query {
  customers(first: 100) { edges { node {
    companyName
    agreements(active: true) { number packages { serviceAmounts { used } } }
  } } }
}
"""
CATEGORY_VARIABLE = """
query($c: DrillDownCategory!) { customerActivity { drillDown(category: $c) { used } } }
"""
UNKNOWN_CATEGORY = "query { customerActivity { drillDown(category: GOLF_LESSONS) { used } } }"
DRILL_DOWN_RECORDS_PAGE = """
query($first: Int!) {
  customerActivity { drillDown(category: ADVISORY) { records(first: $first) { totalCount } } }
}
"""
FOREIGN_AGREEMENT_QUERIES = {
    "customerActivity": """
        query($a: ID!) { customerActivity(agreementId: $a) { agreements { number } } }
    """,
    "addOnPackages": """
        query($a: ID!) { customerActivity { addOnPackages(agreementId: $a) { name } } }
    """,
    "drillDown": """
        query($a: ID!) {
          customerActivity {
            drillDown(category: REACTIVE_SUPPORT, agreementId: $a) {
              purchased used records { totalCount edges { node { quantity } } }
            }
          }
        }
    """,
}


@pytest.fixture(scope="module")
def shared(engine, database_url) -> Iterator[Shared]:
    yield from shared_world(engine, database_url)


@pytest.fixture(autouse=True)
def _empty_tables() -> Iterator[None]:
    """Overrides the per-test emptying of conftest: `shared` empties the tables once when the
    module is done. Tests that add rows add them in a `fresh` workgroup of their own."""
    yield


# The module's world stands in for conftest's `world`, and its app for `gql` and `authorizer`.
@pytest.fixture
def world(shared: Shared) -> World:
    return shared.world


@pytest.fixture
def dash(shared: Shared) -> Dashboard:
    return shared.dash


@pytest.fixture
def gql(shared: Shared) -> GraphQLClient:
    return shared.gql


@pytest.fixture
def authorizer(shared: Shared) -> Authorizer:
    return shared.authorizer


@dataclass
class Fresh:
    session: Session
    workgroup: Workgroup
    customer: Customer
    admin: str  # the e-mail of its admin, who holds no role elsewhere


@pytest.fixture
def fresh(shared: Shared, session: Session) -> Fresh:
    """A workgroup of its own, with an admin and a customer, for a test that adds rows."""
    tag = uuid.uuid4().hex[:10]
    workgroup = make_workgroup(session, f"Fresh {tag}")
    admin = f"admin-{tag}@fresh.example"
    grant(session, admin, "admin", workgroup)
    return Fresh(session, workgroup, make_customer(session, workgroup), admin)


# ------------------------------------------------------------------ helpers


def by_category(totals: list[dict]) -> dict[str, dict]:
    found = {total.pop("category"): total for total in totals}
    assert len(found) == len(totals), "one total per category"
    return found


def service_amounts(body: dict) -> list[dict]:
    return [
        line
        for agreement_ in body["data"]["customerActivity"]["agreements"]
        for package_ in agreement_["packages"]
        for line in package_["serviceAmounts"]
    ]


def dates(connection: dict) -> list[str]:
    return [edge["node"]["date"] for edge in connection["edges"]]


def codes(body: dict) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


def wid(workgroup) -> str:
    return encode_id("Workgroup", workgroup.id)


# ------------------------------------------------------------------ totals


def test_used_is_the_sum_of_the_records_and_available_the_rest(gql, dash):
    # Given the dashboard scenario
    # When the admin reads every service amount of the active agreements with its records
    body = gql(ADMIN, ACTIVITY_TREE)

    # Then each consumable line's `used` is the sum of its records, `available` the rest
    lines = [line for line in service_amounts(body) if line["kind"] == "CONSUMABLE"]
    assert len(lines) == 12
    for line in lines:
        records = line["consumption"]
        assert records["totalCount"] == len(records["edges"])
        recorded = sum(Decimal(str(e["node"]["quantity"])) for e in records["edges"])
        assert Decimal(str(line["used"])) == recorded, line
        assert line["available"] == line["purchased"] - line["used"], line
    # and the enterprise REACTIVE_SUPPORT line of "Enterprise core" reads 100 / 8 / 92
    reactive = next(line for line in lines if line["id"] == gid(dash.reactive))
    assert (reactive["purchased"], reactive["used"], reactive["available"]) == (100, 8, 92)
    assert reactive["unit"] == "HOURS"


def test_a_line_without_records_has_used_nothing(gql, fresh: Fresh):
    # Given an active agreement with one consumable line and no records
    deal = agreement(fresh.session, fresh.customer, "E-1", starts=-1, ends=1)
    line = amount(fresh.session, package(fresh.session, deal, "Core"), REACTIVE, 12)
    fresh.session.commit()

    # When the admin reads it by id
    body = gql(fresh.admin, CONSUMPTION, {"id": gid(line)})

    # Then used is 0 and the consumption list is empty, not missing
    found = body["data"]["node"]
    assert found["used"] == 0
    assert found["consumption"] == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "hasPreviousPage": False, "endCursor": None},
        "edges": [],
    }


def test_benefit_lines_carry_no_numbers(gql, dash):
    # Given the CONTACTS benefit of "Enterprise core"
    # When the admin reads the dashboard
    body = gql(ADMIN, ACTIVITY_TREE)

    # Then the line is listed with its description and without unit or quantities
    contacts = next(line for line in service_amounts(body) if line["id"] == gid(dash.contacts))
    assert contacts["kind"] == "BENEFIT"
    assert contacts["description"] == "Six named contacts"
    assert [contacts[k] for k in ("unit", "purchased", "used", "available")] == [None] * 4
    assert contacts["consumption"]["totalCount"] == 0
    # and so is its enterprise total
    totals = by_category(body["data"]["customerActivity"]["enterprise"])
    assert totals["CONTACTS"]["kind"] == "BENEFIT"
    assert [totals["CONTACTS"][k] for k in ("unit", "purchased", "used", "available")] == [None] * 4


def test_enterprise_totals_add_up_over_the_active_enterprise_packages(gql, dash):
    # Given Home's active ENTERPRISE packages in H-100 (two) and H-200 (ends today)
    # When the admin reads the enterprise totals
    body = gql(ADMIN, ENTERPRISE_TOTALS)

    # Then each category adds up over them only (not the add-ons, the INACTIVE package, the
    # expired H-300, the future H-400 or Away)
    totals = by_category(body["data"]["customerActivity"]["enterprise"])
    hours = {"kind": "CONSUMABLE", "unit": "HOURS"}
    assert totals == {
        "ADVISORY": {**hours, "purchased": 20, "used": 6, "available": 14},
        "CONTACTS": NO_NUMBERS,
        "EDUCATION_ON_DEMAND": {**hours, "purchased": 55, "used": 6, "available": 49},
        "REACTIVE_SUPPORT": {**hours, "purchased": 160, "used": 11, "available": 149},
    }


NO_NUMBERS = {"kind": "BENEFIT", "unit": None, "purchased": None, "used": None, "available": None}

# What adding one REACTIVE_SUPPORT line (purchased 7, used 3) does to the enterprise total of
# REACTIVE_SUPPORT, by where the line is: (agreement days, package kind, package status).
# fmt: off
TOTAL_CHANGES = {
    "active enterprise package":       ((-10, 10), ENTERPRISE, ACTIVE,   (7, 3)),
    "agreement ending today":          ((-10, 0),  ENTERPRISE, ACTIVE,   (7, 3)),
    "agreement starting today":        ((0, 10),   ENTERPRISE, ACTIVE,   (7, 3)),
    "add-on package":                  ((-10, 10), ADD_ON,     ACTIVE,   (0, 0)),
    "inactive enterprise package":     ((-10, 10), ENTERPRISE, INACTIVE, (0, 0)),
    "agreement ended yesterday":       ((-10, -1), ENTERPRISE, ACTIVE,   (0, 0)),
    "agreement starting tomorrow":     ((1, 10),   ENTERPRISE, ACTIVE,   (0, 0)),
}
# fmt: on


@pytest.mark.parametrize(
    ("days", "kind", "status", "change"), TOTAL_CHANGES.values(), ids=TOTAL_CHANGES.keys()
)
def test_what_counts_in_the_enterprise_totals(gql, fresh: Fresh, days, kind, status, change):
    # Given an active enterprise REACTIVE_SUPPORT line of 10 hours with 1 used
    session = fresh.session
    base = agreement(session, fresh.customer, "BASE", starts=-30, ends=30)
    consume(session, amount(session, package(session, base, "Base"), REACTIVE, 10), -1, 1)
    session.commit()
    before = reactive_total(gql(fresh.admin, ENTERPRISE_TOTALS))
    assert before == {"kind": "CONSUMABLE", "unit": "HOURS", "purchased": 10, "used": 1,
                      "available": 9}  # fmt: skip

    # When one more line of 7 hours with 3 used is added there
    deal = agreement(session, fresh.customer, "X-1", starts=days[0], ends=days[1])
    line = amount(session, package(session, deal, "Extra", kind=kind, status=status), REACTIVE, 7)
    consume(session, line, min(days[0], 0), 3)
    session.commit()
    after = reactive_total(gql(fresh.admin, ENTERPRISE_TOTALS))

    # Then the total grows by exactly that line, or not at all
    assert (after["purchased"] - 10, after["used"] - 1) == change
    assert after["available"] == 9 + change[0] - change[1]


def reactive_total(body: dict) -> dict:
    return by_category(body["data"]["customerActivity"]["enterprise"])["REACTIVE_SUPPORT"]


def test_choosing_an_agreement_narrows_the_whole_dashboard(gql, dash):
    # Given H-100 and H-200, both active
    # When the admin opens the dashboard of H-200 alone
    body = gql(ADMIN, ACTIVITY_TREE, {"agreementId": gid(dash.ends_today)})

    # Then its agreement list, enterprise totals and drill-downs are H-200's
    activity = body["data"]["customerActivity"]
    assert [a["number"] for a in activity["agreements"]] == ["H-200"]
    totals = by_category(activity["enterprise"])
    assert {c: (t["purchased"], t["used"]) for c, t in totals.items()} == {
        "EDUCATION_ON_DEMAND": (5, 0.5),
        "REACTIVE_SUPPORT": (10, 1),
    }
    drill = gql(ADMIN, CHOSEN_DRILL_DOWN, {"agreementId": gid(dash.ends_today)})
    assert drill["data"]["customerActivity"]["drillDown"] == {
        "purchased": 10,
        "used": 1,
        "records": {"totalCount": 1},
    }


def test_an_agreement_ending_today_is_active_and_one_ended_yesterday_is_not(gql, dash, world):
    # Given H-200 ending today, H-300 ended yesterday and H-400 starting tomorrow (UTC)
    # When the admin lists the dashboard's agreements and every agreement
    activity = gql(ADMIN, ACTIVE_AGREEMENTS)["data"]["customerActivity"]["agreements"]
    listed = gql(ADMIN, AGREEMENTS, {"workgroupIds": [wid(world.home)]})["data"]["agreements"]

    # Then the dashboard shows the active ones, latest ending first
    assert activity == [
        {"number": "H-100", "isActive": True},
        {"number": "H-200", "isActive": True},
    ]
    # and isActive says so for each agreement
    active = {e["node"]["number"]: e["node"]["isActive"] for e in listed["edges"]}
    assert active == {"H-100": True, "H-200": True, "H-300": False, "H-400": False}


def test_days_to_expiry_counts_from_today(gql, dash):
    # Given packages expiring in 165, 30, 10 and 0 days, and one expired 5 days ago
    # When the admin reads the packages of H-100 and H-200
    current = gql(ADMIN, ALL_PACKAGES, {"id": gid(dash.current)})["data"]["node"]["packages"]
    today = gql(ADMIN, ALL_PACKAGES, {"id": gid(dash.ends_today)})["data"]["node"]["packages"]

    # Then daysToExpiry is the signed number of days to the expiry date
    days = {p["name"]: (p["expiresOn"], p["daysToExpiry"]) for p in current + today}
    assert days == {
        "Old pack": (iso(-5), -5),
        "Training pack": (iso(10), 10),
        "Proactive pack": (iso(30), 30),
        "Enterprise core": (iso(165), 165),
        "Enterprise extension": (iso(165), 165),
        "Enterprise suspended": (iso(165), 165),
        "Enterprise legacy": (iso(0), 0),
    }


# ------------------------------------------------------------------ add-on packages


ADD_ON_FILTERS = {
    "all": ({}, ["Old pack", "Training pack", "Proactive pack"]),
    "active": ({"status": "ACTIVE"}, ["Training pack", "Proactive pack"]),
    "inactive": ({"status": "INACTIVE"}, ["Old pack"]),
    "one package": ({"packageId": "proactive_pack"}, ["Proactive pack"]),
    "one package, other status": (
        {"packageId": "proactive_pack", "status": "INACTIVE"},
        [],
    ),
    "an enterprise package": ({"packageId": "enterprise"}, []),
}


@pytest.mark.parametrize(("filters", "expected"), ADD_ON_FILTERS.values(), ids=ADD_ON_FILTERS)
def test_add_on_packages_filter_by_package_and_status(gql, dash, filters, expected):
    # Given H-100 with three add-on packages (one inactive) and three enterprise packages
    variables = {"agreementId": gid(dash.current), **filters}
    if "packageId" in filters:
        variables["packageId"] = gid(getattr(dash, filters["packageId"]))

    # When the admin asks for its add-on packages
    body = gql(ADMIN, ADD_ON_PACKAGES, variables)

    # Then only add-ons that match are listed, by expiry
    packages = body["data"]["customerActivity"]["addOnPackages"]
    assert [p["name"] for p in packages] == expected
    assert all(p["kind"] == "ADD_ON" for p in packages)
    if "status" in filters:
        assert {p["status"] for p in packages} <= {filters["status"]}


def test_add_on_packages_of_another_agreement_are_not_listed(gql, dash):
    # Given an add-on package of H-100
    # When the admin asks for it under H-200
    body = gql(
        ADMIN,
        ADD_ON_PACKAGES,
        {"agreementId": gid(dash.ends_today), "packageId": gid(dash.proactive_pack)},
    )

    # Then nothing is listed
    assert body["data"]["customerActivity"]["addOnPackages"] == []


# ------------------------------------------------------------------ drill-downs


def test_drill_down_gives_totals_description_and_action_link(gql, dash):
    # Given the ADVISORY line of H-100 (20 hours, 6 used in six records)
    # When the admin drills down into ADVISORY for H-100
    body = gql(ADMIN, DRILL_DOWN, {"category": "ADVISORY", "agreementId": gid(dash.current)})

    # Then the totals, description and action link are the line's
    drill = body["data"]["customerActivity"]["drillDown"]
    records = drill.pop("records")
    assert drill == {
        "category": "ADVISORY",
        "unit": "HOURS",
        "purchased": 20,
        "used": 6,
        "available": 14,
        "description": ADVISORY_DESCRIPTION,
        "actionUrl": ADVISORY_URL,
    }
    # and the grid holds its six records
    assert records["totalCount"] == 6
    assert dates(records) == [iso(d) for d in ADVISORY_DAYS]


def test_drill_down_without_an_agreement_spans_the_active_agreements(gql, dash):
    # Given ADVISORY in H-100 (active, 6 used) and H-300 (expired, 5 used), and EDUCATION
    # records in active and expired agreements of Home and in Away
    # When the admin drills down without naming an agreement
    advisory = gql(ADMIN, DRILL_DOWN, {"category": "ADVISORY"})
    education = gql(ADMIN, DRILL_DOWN, {"category": "EDUCATION_ON_DEMAND"})

    # Then only the active agreements of the admin's workgroup count
    drill = advisory["data"]["customerActivity"]["drillDown"]
    assert (drill["purchased"], drill["used"], drill["records"]["totalCount"]) == (20, 6, 6)
    grid = education["data"]["customerActivity"]["drillDown"]
    assert iso(-60) not in dates(grid["records"]), "the expired H-300's record"
    assert grid["records"]["totalCount"] == len(grid["records"]["edges"]) > 0
    # and the used total is the sum of the grid
    assert grid["used"] == sum(e["node"]["quantity"] for e in grid["records"]["edges"])
    assert "Away training" not in {e["node"]["description"] for e in grid["records"]["edges"]}


def test_drill_down_records_are_paginated_newest_first(gql, dash):
    # Given six ADVISORY records on days -3, -6, …, -18
    variables = {"category": "ADVISORY", "agreementId": gid(dash.current), "first": 4}

    # When the admin reads the grid four rows at a time
    first = gql(ADMIN, DRILL_DOWN, variables)["data"]["customerActivity"]["drillDown"]["records"]
    after = first["pageInfo"]["endCursor"]
    second = gql(ADMIN, DRILL_DOWN, {**variables, "after": after})["data"]["customerActivity"][
        "drillDown"
    ]["records"]

    # Then the pages hold the records newest first, without gaps or repeats
    assert dates(first) == [iso(d) for d in ADVISORY_DAYS[:4]]
    assert dates(second) == [iso(d) for d in ADVISORY_DAYS[4:]]
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    assert second["pageInfo"]["hasNextPage"] is False
    assert second["pageInfo"]["hasPreviousPage"] is True
    # and both pages count the whole grid
    assert first["totalCount"] == second["totalCount"] == 6


def test_drill_down_orders_records_of_one_day_newest_first(gql, fresh: Fresh):
    # Given three ADVISORY records on one day, recorded one after the other, and one older
    session = fresh.session
    deal = agreement(session, fresh.customer, "D-1", starts=-30, ends=30)
    line = amount(session, package(session, deal, "Core"), ADVISORY, 20)
    older = consume(session, line, -5, 1, description="older day")
    same_day = [consume(session, line, -2, 1, description=f"entry {n}") for n in range(3)]
    session.commit()

    # When the admin reads the grid
    body = gql(fresh.admin, DRILL_DOWN, {"category": "ADVISORY", "agreementId": gid(deal)})

    # Then the day's records come latest recorded first, then the older day
    records = body["data"]["customerActivity"]["drillDown"]["records"]
    ids = [e["node"]["id"] for e in records["edges"]]
    assert ids == [gid(r) for r in [*reversed(same_day), older]]
    assert records["totalCount"] == 4


def test_a_drill_down_never_adds_quantities_of_different_units(gql, fresh: Fresh):
    # Given EDUCATION_ON_DEMAND bought as 40 hours (4 used) and as 10 seats (2 used)
    session = fresh.session
    deal = agreement(session, fresh.customer, "U-1", starts=-30, ends=30)
    hours = amount(session, package(session, deal, "Hours"), EDUCATION, 40)
    seats = amount(session, package(session, deal, "Seats"), EDUCATION, 10, unit=AmountUnit.SEATS)
    consume(session, hours, -1, 4)
    consume(session, seats, -2, 2)
    session.commit()
    per_unit = {"HOURS": (40, 4, 36), "SEATS": (10, 2, 8)}

    # When the admin reads the enterprise totals and drills down into education
    totals = gql(fresh.admin, ENTERPRISE_TOTALS)["data"]["customerActivity"]["enterprise"]
    drill = gql(fresh.admin, DRILL_DOWN, {"category": "EDUCATION_ON_DEMAND"})
    drill = drill["data"]["customerActivity"]["drillDown"]

    # Then the enterprise totals keep one line per unit
    assert {t["unit"]: (t["purchased"], t["used"], t["available"]) for t in totals} == per_unit
    # and the drill-down's numbers are those of the unit it names, never hours plus seats
    numbers = (drill["purchased"], drill["used"], drill["available"])
    if drill["unit"] is None:
        assert numbers == (None, None, None)
    else:
        assert numbers == per_unit[drill["unit"]], f"{numbers} {drill['unit']}"
    # and its grid still lists both records
    assert drill["records"]["totalCount"] == 2


DATE_FILTERS = {
    "both bounds, inclusive": ({"from": -12, "to": -6}, [-6, -9, -12]),
    "one day": ({"from": -9, "to": -9}, [-9]),
    "from only": ({"from": -6}, [-3, -6]),
    "to only": ({"to": -15}, [-15, -18]),
    "nothing in range": ({"from": -2, "to": 0}, []),
}


@pytest.mark.parametrize(("bounds", "expected"), DATE_FILTERS.values(), ids=DATE_FILTERS)
def test_drill_down_records_filter_by_date_inclusively(gql, dash, bounds, expected):
    # Given six ADVISORY records on days -3, -6, …, -18
    variables = {"category": "ADVISORY", "agreementId": gid(dash.current)}
    variables |= {name: iso(offset) for name, offset in bounds.items()}

    # When the admin filters the grid by date
    body = gql(ADMIN, DRILL_DOWN, variables)

    # Then the records on the bounds are included, and totalCount counts the filtered grid
    records = body["data"]["customerActivity"]["drillDown"]["records"]
    assert dates(records) == [iso(d) for d in expected]
    assert records["totalCount"] == len(expected)


def test_service_amount_consumption_is_paginated_and_filtered(gql, dash):
    # Given three REACTIVE_SUPPORT records of "Enterprise core" on days -1, -10 and -40
    line = gid(dash.reactive)

    # When the admin pages through them two at a time, and filters them by date
    first = gql(ADMIN, CONSUMPTION, {"id": line, "first": 2})["data"]["node"]["consumption"]
    rest = gql(ADMIN, CONSUMPTION, {"id": line, "after": first["pageInfo"]["endCursor"]})
    filtered = gql(ADMIN, CONSUMPTION, {"id": line, "from": iso(-10), "to": iso(-1)})
    older = gql(ADMIN, CONSUMPTION, {"id": line, "to": iso(-10)})

    # Then records come newest first, pages count everything, filters include their bounds
    assert dates(first) == [iso(-1), iso(-10)]
    assert first["totalCount"] == 3
    assert first["pageInfo"]["hasNextPage"] is True
    second = rest["data"]["node"]["consumption"]
    assert dates(second) == [iso(-40)]
    assert second["pageInfo"]["hasNextPage"] is False
    in_range = filtered["data"]["node"]["consumption"]
    assert (dates(in_range), in_range["totalCount"]) == ([iso(-1), iso(-10)], 2)
    assert dates(older["data"]["node"]["consumption"]) == [iso(-10), iso(-40)]
    # and the date filter narrows the page, never `used`
    assert filtered["data"]["node"]["used"] == 8


def test_consumption_of_nested_lines_is_paged_per_line(gql, dash):
    # Given lines with 6, 3 and 2 records in "Enterprise core"
    query = ACTIVITY_TREE.replace("consumption(first: 100)", "consumption(first: 2)")

    # When the admin reads two records of every line in one request
    body = gql(ADMIN, query)

    # Then each line shows its own two newest records and its own count
    lines = {line["id"]: line["consumption"] for line in service_amounts(body)}
    advisory = lines[gid(dash.advisory)]
    assert (dates(advisory), advisory["totalCount"]) == ([iso(-3), iso(-6)], 6)
    reactive = lines[gid(dash.reactive)]
    assert (dates(reactive), reactive["totalCount"]) == ([iso(-1), iso(-10)], 3)
    education = lines[gid(dash.education)]
    assert (dates(education), education["totalCount"]) == ([iso(-2), iso(-20)], 2)


# ------------------------------------------------------------------ lists of agreements and ids


AGREEMENT_FILTERS = {
    "home": ({"workgroupIds": ["home"]}, ["H-400", "H-100", "H-200", "H-300"]),
    "home, active": ({"workgroupIds": ["home"], "active": True}, ["H-100", "H-200"]),
    "home, inactive": ({"workgroupIds": ["home"], "active": False}, ["H-400", "H-300"]),
    "customer 0": ({"customerId": 0}, ["H-100", "H-200"]),
    "customer 1, active": ({"customerId": 1, "active": True}, []),
    "customer 1, inactive": ({"customerId": 1, "active": False}, ["H-400", "H-300"]),
    "no filter": ({}, ["H-400", "H-100", "H-200", "H-300"]),
    "away (not the admin's)": ({"workgroupIds": ["away"]}, []),
    "an id of no workgroup": ({"workgroupIds": ["customer"]}, []),
}


@pytest.mark.parametrize(("filters", "expected"), AGREEMENT_FILTERS.values(), ids=AGREEMENT_FILTERS)
def test_query_agreements_filters(gql, dash, world, filters, expected):
    # Given four Home agreements (two active) and one of Away
    ids = {
        "home": wid(world.home),
        "away": wid(world.away),
        "customer": encode_id("Customer", world.home_customers[0].id),  # type: ignore[arg-type]
    }
    variables = dict(filters)
    if "workgroupIds" in filters:
        variables["workgroupIds"] = [ids[name] for name in filters["workgroupIds"]]
    if "customerId" in filters:
        variables["customerId"] = encode_id(
            "Customer",
            world.home_customers[filters["customerId"]].id,  # type: ignore[arg-type]
        )

    # When the Home admin lists agreements with these filters
    body = gql(ADMIN, AGREEMENTS, variables)

    # Then the matching ones come, latest ending first, and totalCount counts them
    connection = body["data"]["agreements"]
    assert [e["node"]["number"] for e in connection["edges"]] == expected
    assert connection["totalCount"] == len(expected)
    assert {e["node"]["workgroup"]["name"] for e in connection["edges"]} <= {"Home"}


def test_query_agreements_pages_keep_the_total(gql, dash, world):
    # Given four Home agreements
    # When the admin asks for the first two
    body = gql(ADMIN, AGREEMENTS, {"first": 2})

    # Then two come, with the customer of each, and the total is four
    connection = body["data"]["agreements"]
    assert [e["node"]["number"] for e in connection["edges"]] == ["H-400", "H-100"]
    assert [e["node"]["customer"]["companyName"] for e in connection["edges"]] == [
        "Home Customer 1",
        "Home Customer 0",
    ]
    assert connection["totalCount"] == 4


@pytest.mark.parametrize(
    ("customer", "active", "expected"),
    [
        (0, None, ["H-100", "H-200"]),
        (0, True, ["H-100", "H-200"]),
        (0, False, []),
        (1, None, ["H-400", "H-300"]),
        (1, True, []),
        (1, False, ["H-400", "H-300"]),
        (2, None, []),
    ],
)
def test_customer_agreements_filter_by_active(gql, dash, world, customer, active, expected):
    # Given customer 0 with two active agreements and customer 1 with an expired and a
    # future one
    customer_id = encode_id("Customer", world.home_customers[customer].id)  # type: ignore[arg-type]

    # When the admin reads a customer's agreements
    body = gql(ADMIN, CUSTOMER_AGREEMENTS, {"id": customer_id, "active": active})

    # Then they are those of that customer, latest ending first
    assert [a["number"] for a in body["data"]["customer"]["agreements"]] == expected


@pytest.mark.parametrize(
    ("active", "expected"),
    [(None, ["H-400", "H-100", "H-200", "H-300"]), (True, ["H-100", "H-200"])],
)
def test_workgroup_agreements(gql, dash, world, active, expected):
    # Given four Home agreements and one of Away
    # When the admin reads Home's agreements
    body = gql(ADMIN, WORKGROUP_AGREEMENTS, {"id": wid(world.home), "active": active})

    # Then they are Home's only
    connection = body["data"]["workgroup"]["agreements"]
    assert [e["node"]["number"] for e in connection["edges"]] == expected
    assert connection["totalCount"] == len(expected)


def test_node_fetches_agreements_packages_service_amounts_and_records(gql, dash):
    # Given a row of each type
    rows = {
        "Agreement": (dash.current, {"number": "H-100"}),
        "Package": (dash.training_pack, {"name": "Training pack"}),
        "ServiceAmount": (dash.reactive, {"category": "REACTIVE_SUPPORT", "purchased": 100}),
        "ConsumptionRecord": (
            dash.reactive_records[1],
            {"date": iso(-1), "quantity": 2.5},
        ),
    }
    for type_name, (row, values) in rows.items():
        # When the admin fetches it by its global id
        body = gql(ADMIN, NODE, {"id": gid(row)})

        # Then it comes back as that type with its values
        assert body["data"]["node"] == {"__typename": type_name, "id": gid(row), **values}
        assert "errors" not in body


NODE_TYPES = ["Agreement", "Package", "ServiceAmount", "ConsumptionRecord"]


@pytest.mark.parametrize("type_name", NODE_TYPES)
def test_node_of_an_unknown_id_is_null(gql, dash, type_name):
    # Given an id of each type that names no row
    # When the admin fetches it
    body = gql(ADMIN, NODE, {"id": encode_id(type_name, 987654)})

    # Then it is null, without an error
    assert body == {"data": {"node": None}}


# ------------------------------------------------------------------ bad input


def test_an_unknown_category_is_a_validation_error(gql, dash):
    # Given a drill-down category that is not in the enum
    # When the admin asks for it
    response = gql.post(ADMIN, UNKNOWN_CATEGORY)

    # Then the document is refused before execution with HTTP 400, not a server error
    assert response.status_code == 400
    body = response.json()
    assert body["data"] is None
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "GOLF_LESSONS" in body["errors"][0]["message"]


def test_an_unknown_category_as_a_variable_is_refused(gql, dash):
    # Given the category passed as a variable
    query = CATEGORY_VARIABLE

    # When the value is not in the enum
    response = gql.post(ADMIN, query, {"c": "GOLF_LESSONS"})

    # Then it is refused as bad input, never a 500
    assert response.status_code in (200, 400)
    body = response.json()
    assert body["data"] is None
    assert codes(body) and set(codes(body)) <= {"BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"}


@pytest.mark.parametrize("field", FOREIGN_AGREEMENT_QUERIES)
def test_an_agreement_of_another_workgroup_is_bad_input(gql, dash, field):
    # Given Away's agreement W-100, which the Home admin may not see
    query = FOREIGN_AGREEMENT_QUERIES[field]

    # When the Home admin names it
    response = gql.post(ADMIN, query, {"a": gid(dash.away)})

    # Then the answer is a BAD_USER_INPUT error naming the argument, and none of Away's data
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["customerActivity"] is None
    assert codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"].get("argument") == "agreementId"
    assert "W-100" not in response.text and "Away" not in response.text


@pytest.mark.parametrize("field", FOREIGN_AGREEMENT_QUERIES)
@pytest.mark.parametrize(
    "bad_id", ["not-an-id", encode_id("Agreement", 987654), encode_id("Package", 1)]
)
def test_an_agreement_id_that_names_no_agreement_is_bad_input(gql, dash, field, bad_id):
    # Given an id that is garbage, names no agreement, or names another type
    # When the admin passes it as agreementId
    body = gql(ADMIN, FOREIGN_AGREEMENT_QUERIES[field], {"a": bad_id})

    # Then it is the same BAD_USER_INPUT as an invisible agreement
    assert body["data"]["customerActivity"] is None
    assert codes(body) == ["BAD_USER_INPUT"]


def test_an_agreement_outside_the_selected_workgroups_is_bad_input(gql, dash, world):
    # Given the global admin, who sees both workgroups, and Home's H-100
    query = """
    query($w: [ID!], $a: ID!) { customerActivity(workgroupIds: $w) { addOnPackages(agreementId: $a) { name } } }
    """  # noqa: E501

    # When they ask for H-100's add-ons while selecting only Away
    body = gql(World.GLOBAL_ADMIN, query, {"w": [wid(world.away)], "a": gid(dash.current)})

    # Then H-100 is not found in that selection
    assert codes(body) == ["BAD_USER_INPUT"]
    assert body["data"]["customerActivity"] is None


def test_an_invalid_package_id_is_bad_input(gql, dash):
    # Given a packageId that is no package's id
    variables = {"agreementId": gid(dash.current), "packageId": gid(dash.current)}

    # When the admin filters add-ons by it
    body = gql(ADMIN, ADD_ON_PACKAGES, variables)

    # Then it is refused as bad input
    assert codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"].get("argument") == "packageId"


def test_an_inverted_date_range_is_bad_input(gql, dash):
    # Given a range whose start is after its end
    bounds = {"from": iso(-1), "to": iso(-10)}

    # When the admin filters the drill-down grid and a line's consumption with it
    drill = gql(ADMIN, DRILL_DOWN, {"category": "ADVISORY", **bounds})
    line = gql(ADMIN, CONSUMPTION, {"id": gid(dash.reactive), **bounds})

    # Then both are refused as BAD_USER_INPUT naming `from`, with no records
    for body in (drill, line):
        assert codes(body) == ["BAD_USER_INPUT"]
        assert body["errors"][0]["extensions"].get("argument") == "from"
    assert drill["data"]["customerActivity"] is None
    assert line["data"]["node"] is None


# Every paginated list of the feature: a query that sets its `first`, and what else it needs.
PAGED_LISTS = {
    "DrillDown.records": (DRILL_DOWN_RECORDS_PAGE, None),
    "ServiceAmount.consumption": (CONSUMPTION, "reactive"),
    "Query.agreements": (AGREEMENTS, None),
    "Workgroup.agreements": (WORKGROUP_AGREEMENTS, "home"),
}


@pytest.mark.parametrize("first", [1001, -1])
@pytest.mark.parametrize("field", PAGED_LISTS)
def test_first_beyond_the_cap_or_negative_is_bad_input(gql, dash, world, field, first):
    # Given a page size over the cap (1000) or below zero
    query, needs = PAGED_LISTS[field]
    ids = {"reactive": gid(dash.reactive), "home": wid(world.home), None: None}
    variables = {"first": first, "id": ids[needs]}

    # When the admin asks for such a page
    body = gql(ADMIN, query, variables)

    # Then it is refused as BAD_USER_INPUT naming `first`, with no rows
    assert codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"].get("argument") == "first"
    assert "edges" not in str(body["data"])


def test_first_at_the_cap_is_accepted(gql, dash):
    # Given a page size of exactly the cap
    # When the admin asks for it
    body = gql(ADMIN, DRILL_DOWN_RECORDS_PAGE, {"first": 1000})

    # Then the page comes without errors
    assert "errors" not in body
    assert body["data"]["customerActivity"]["drillDown"]["records"]["totalCount"] == 6


def test_a_cursor_this_list_never_returned_is_bad_input(gql, dash):
    # Given a cursor that is not one
    # When the admin pages the drill-down grid with it
    body = gql(ADMIN, DRILL_DOWN, {"category": "ADVISORY", "after": "bm90LWEtY3Vyc29y"})

    # Then it is refused as bad input
    assert codes(body) == ["BAD_USER_INPUT"]


# ------------------------------------------------------------------ cost


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def two_dashboards(shared: Shared, session: Session):
    """Workgroup `small` with 2 agreements of 1 record per line, `large` with 20 of 8."""
    small = make_workgroup(session, unique("Small"))
    large = make_workgroup(session, unique("Large"))
    build_bulk(session, make_customer(session, small), agreements=2, records_per_line=1)
    build_bulk(session, make_customer(session, large), agreements=20, records_per_line=8)
    return small, large


@pytest.mark.parametrize("role", ["admin", "customer_activity", "training_manager"])
def test_the_dashboard_costs_the_same_for_2_and_20_agreements(
    gql, engine, authorizer, session, two_dashboards, role
):
    # Given the same role in a workgroup with 2 agreements and, for another user, one with 20
    small, large = two_dashboards
    small_user, large_user = unique(role) + "@small.example", unique(role) + "@large.example"
    grant(session, small_user, role, small)
    grant(session, large_user, role, large)

    # When each reads the nested dashboard with five records per line
    small_cost = measure(gql, engine, authorizer, small_user, COST_TREE)
    large_cost = measure(gql, engine, authorizer, large_user, COST_TREE)

    # Then both cost the same SQL statements and Casbin evaluations
    assert small_cost[:2] == large_cost[:2]
    assert large_cost[1] > 0, "the authorizer was consulted"
    # and the large one really returned 20 agreements with five of eight records per line
    body = large_cost[2]
    assert "errors" not in body
    agreements = body["data"]["customerActivity"]["agreements"]
    assert len(agreements) == 20
    lines = [line for a in agreements for p in a["packages"] for line in p["serviceAmounts"]]
    consumable = [line for line in lines if line["used"] is not None]
    assert consumable and all(line["used"] == 8 for line in consumable)
    assert all(len(line["consumption"]["edges"]) == 5 for line in consumable)
    assert all(line["consumption"]["totalCount"] == 8 for line in consumable)


def test_customer_agreements_cost_the_same_for_2_and_12_customers(
    gql, engine, authorizer, session: Session
):
    # Given a workgroup of 2 customers and one of 12, each customer with an agreement
    small = make_workgroup(session, unique("Small"))
    large = make_workgroup(session, unique("Large"))
    for workgroup, count in ((small, 2), (large, 12)):
        for index in range(count):
            customer = make_customer(session, workgroup)
            build_bulk(session, customer, agreements=1, records_per_line=2, prefix=f"C{index}")
    small_admin, large_admin = unique("admin") + "@small.example", unique("admin") + "@large.ex"
    grant(session, small_admin, "admin", small)
    grant(session, large_admin, "admin", large)

    # When each admin lists the customers with their agreements nested
    small_cost = measure(gql, engine, authorizer, small_admin, CUSTOMER_AGREEMENTS_TREE)
    large_cost = measure(gql, engine, authorizer, large_admin, CUSTOMER_AGREEMENTS_TREE)

    # Then both cost the same SQL statements (no query per customer)
    customers = large_cost[2]["data"]["customers"]["edges"]
    assert len(customers) == 12
    assert all(len(edge["node"]["agreements"]) == 1 for edge in customers)
    assert small_cost[:2] == large_cost[:2]


def test_totals_ignore_a_benefit_next_to_consumables_of_the_category(gql, fresh: Fresh):
    # Given an active enterprise package with a CONSUMABLE and a BENEFIT line of EDUCATION
    session = fresh.session
    deal = agreement(session, fresh.customer, "M-1", starts=-5, ends=5)
    core = package(session, deal, "Core")
    consume(session, amount(session, core, EDUCATION, 10), -1, 4)
    benefit(session, core, EDUCATION, "Free webinars")
    session.commit()

    # When the admin reads the enterprise totals and the EDUCATION drill-down
    totals = gql(fresh.admin, ENTERPRISE_TOTALS)["data"]["customerActivity"]["enterprise"]
    drill = gql(fresh.admin, DRILL_DOWN, {"category": "EDUCATION_ON_DEMAND"})
    drill = drill["data"]["customerActivity"]["drillDown"]

    # Then the consumable line keeps its numbers; the benefit adds none
    education = [t for t in totals if t["category"] == "EDUCATION_ON_DEMAND"]
    consumable = [t for t in education if t["kind"] == "CONSUMABLE"]
    assert [(t["purchased"], t["used"], t["available"]) for t in consumable] == [(10, 4, 6)]
    assert all(t["purchased"] is None for t in education if t["kind"] == "BENEFIT")
    assert (drill["purchased"], drill["used"], drill["available"]) == (10, 4, 6)
