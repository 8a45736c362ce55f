"""Customer activity adds up: a drill-down covers exactly the lines its tiles count (ACTIVE
packages of active agreements: the enterprise tile's ENTERPRISE ones, the add-on tiles' ADD_ON
ones), a consumption record names its support case only to who may see the case, at a cost
that does not grow with the records, and the demo data never uses more than was bought.

Tests build their rows in conftest's `world` (emptied after each test).
"""

import os
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from graph.cli import main
from models.agreements.operations import record_consumption
from models.agreements.tables import Agreement, ConsumptionRecord, Package, ServiceAmount
from models.core.enums import AmountKind, AmountUnit, PackageKind, ServiceCategory
from models.settings import get_settings
from models.support.tables import SupportCase
from policies import Authorizer
from policies.authorizer import AUTHENTICATED, READ
from tests.activity_factories import (
    ADD_ON,
    ADVISORY,
    CONTACTS,
    CREDITS,
    EDUCATION,
    INACTIVE,
    PROACTIVE,
    REACTIVE,
    agreement,
    amount,
    benefit,
    consume,
    day,
    gid,
    package,
)
from tests.conftest import ROLES, TEST_SECRET, World, grant, make_customer, make_workgroup
from tests.support_factories import gid as case_gid
from tests.support_factories import new_case, share
from tests.test_cost import measure

ADMIN = World.email("admin")
ACTIVITY = World.email("customer_activity")
TRAINER = World.email("training_manager")

TILES = """
query Tiles($agreementId: ID) {
  customerActivity(agreementId: $agreementId) {
    agreements { id number }
    enterprise { category kind unit purchased used available }
  }
}
"""
ADD_ON_TILE = """
query AddOnTile($agreementId: ID!) {
  customerActivity {
    addOnPackages(agreementId: $agreementId, status: ACTIVE) {
      serviceAmounts { category kind unit purchased used }
    }
  }
}
"""
# The lines behind the tiles, with their records: a tile's lines are those of its packages.
TILE_LINES = """
query TileLines($agreementId: ID) {
  customerActivity(agreementId: $agreementId) {
    agreements {
      packages(status: ACTIVE) { kind serviceAmounts { category
        consumption(first: 1000) { edges { node { id } } } } }
    }
  }
}
"""
EVERY_PACKAGE = """
query { customerActivity { agreements { packages {
  kind status serviceAmounts { category used } } } } }
"""
DRILL_DOWN = """
query DrillDown($category: DrillDownCategory!, $agreementId: ID) {
  customerActivity {
    drillDown(category: $category, agreementId: $agreementId) {
      unit purchased used available
      records(first: 1000) { totalCount edges { node { id quantity } } }
    }
  }
}
"""
RECORD_CASES = """
query RecordCases($category: DrillDownCategory!, $line: ID!, $record: ID!) {
  customerActivity {
    drillDown(category: $category) {
      records { edges { node { id supportCase { id number title } } } }
    }
  }
  line: node(id: $line) {
    ... on ServiceAmount {
      consumption { edges { node { id supportCase { id number title } } } }
    }
  }
  record: node(id: $record) {
    ... on ConsumptionRecord { id supportCase { id number title } }
  }
}
"""
COST_TREE = """
query {
  customerActivity {
    drillDown(category: REACTIVE_SUPPORT) {
      records(first: 100) { totalCount edges { node {
        quantity supportCase { id title customer { companyName } primaryContact { email } }
      } } }
    }
    agreements { packages { serviceAmounts {
      consumption(first: 100) { edges { node { supportCase { number } } } }
    } } }
  }
}
"""
DEMO_CASE_RECORDS = """
query {
  customerActivity {
    drillDown(category: REACTIVE_SUPPORT) {
      records(first: 1000) { edges { node { supportCase { title } } } }
    }
  }
}
"""

CONSUMABLE_CATEGORIES = [REACTIVE, ADVISORY, PROACTIVE, CREDITS, EDUCATION, CONTACTS]


def no_errors(body: dict) -> dict:
    assert "errors" not in body, body["errors"]
    return body["data"]


# ------------------------------------------------------------------ drill-downs and tiles


@dataclass
class Counted:
    current: Agreement  # C-100
    second: Agreement  # C-200


def build_counted(session: Session, world: World) -> Counted:
    """Home (quantities in hours unless noted):

    C-100 (customer 0, days -100..+100, active):
      Core (ENTERPRISE, ACTIVE): REACTIVE 100 used 4+6; ADVISORY 20 used 1+1; PROACTIVE 60
        used 6; EDUCATION 40 used 4; CONTACTS 6 (count) used 1; ASSESSMENTS benefit
      Suspended (ENTERPRISE, INACTIVE): REACTIVE 1000 used 500; ADVISORY 500 used 7;
        PROACTIVE 50 used 5; EDUCATION 30 used 3; CONTACTS 4 (count) used 2
      Pack (ADD_ON, ACTIVE, expires +30): PROACTIVE_CREDITS 30 used 7; EDUCATION 8 used 2;
        REACTIVE 20 used 3
      Retired (ADD_ON, INACTIVE, expired -5): PROACTIVE_CREDITS 200 used 12; EDUCATION 10 used 1
    C-200 (customer 1, days -50..+50, active):
      Core 2 (ENTERPRISE, ACTIVE): REACTIVE 50 used 5; EDUCATION 10 used 1
      Pack 2 (ADD_ON, ACTIVE): PROACTIVE_CREDITS 10 used 1
      Retired 2 (ADD_ON, INACTIVE, expired -1): PROACTIVE_CREDITS 100 used 50
    C-300 (customer 2, days -400..-1, expired): Old core (ENTERPRISE, ACTIVE): ADVISORY 50 used
      5; Old pack (ADD_ON, ACTIVE): PROACTIVE_CREDITS 40 used 4
    Away W-1 (active): Away core (ENTERPRISE, ACTIVE): ADVISORY 70 used 7
    """
    home = world.home_customers
    current = agreement(session, home[0], "C-100", starts=-100, ends=100)
    core = package(session, current, "Core")
    reactive = amount(session, core, REACTIVE, 100)
    consume(session, reactive, -1, 4)
    consume(session, reactive, -2, 6)
    advisory = amount(session, core, ADVISORY, 20)
    consume(session, advisory, -3, 1)
    consume(session, advisory, -4, 1)
    consume(session, amount(session, core, PROACTIVE, 60), -5, 6)
    consume(session, amount(session, core, EDUCATION, 40), -6, 4)
    consume(session, amount(session, core, CONTACTS, 6, unit=AmountUnit.COUNT), -7, 1)
    benefit(session, core, ServiceCategory.ASSESSMENTS_ON_DEMAND, "Assessments")

    suspended = package(session, current, "Suspended", status=INACTIVE)
    consume(session, amount(session, suspended, REACTIVE, 1000), -8, 500)
    consume(session, amount(session, suspended, ADVISORY, 500), -9, 7)
    consume(session, amount(session, suspended, PROACTIVE, 50), -10, 5)
    consume(session, amount(session, suspended, EDUCATION, 30), -11, 3)
    consume(session, amount(session, suspended, CONTACTS, 4, unit=AmountUnit.COUNT), -12, 2)

    pack = package(session, current, "Pack", kind=ADD_ON, expires=30)
    consume(session, amount(session, pack, CREDITS, 30, unit=AmountUnit.CREDITS), -13, 7)
    consume(session, amount(session, pack, EDUCATION, 8), -14, 2)
    consume(session, amount(session, pack, REACTIVE, 20), -15, 3)
    retired = package(
        session, current, "Retired", kind=ADD_ON, status=INACTIVE, starts=-100, expires=-5
    )
    consume(session, amount(session, retired, CREDITS, 200, unit=AmountUnit.CREDITS), -16, 12)
    consume(session, amount(session, retired, EDUCATION, 10), -17, 1)

    second = agreement(session, home[1], "C-200", starts=-50, ends=50)
    core2 = package(session, second, "Core 2")
    consume(session, amount(session, core2, REACTIVE, 50), -18, 5)
    consume(session, amount(session, core2, EDUCATION, 10), -19, 1)
    pack2 = package(session, second, "Pack 2", kind=ADD_ON)
    consume(session, amount(session, pack2, CREDITS, 10, unit=AmountUnit.CREDITS), -20, 1)
    retired2 = package(
        session, second, "Retired 2", kind=ADD_ON, status=INACTIVE, starts=-50, expires=-1
    )
    consume(session, amount(session, retired2, CREDITS, 100, unit=AmountUnit.CREDITS), -21, 50)

    expired = agreement(session, home[2], "C-300", starts=-400, ends=-1)
    consume(session, amount(session, package(session, expired, "Old core"), ADVISORY, 50), -30, 5)
    old_pack = package(session, expired, "Old pack", kind=ADD_ON)
    consume(session, amount(session, old_pack, CREDITS, 40, unit=AmountUnit.CREDITS), -31, 4)

    away = agreement(session, world.away_customers[0], "W-1", starts=-10, ends=10)
    consume(session, amount(session, package(session, away, "Away core"), ADVISORY, 70), -2, 7)
    session.commit()
    return Counted(current=current, second=second)


def tile_totals(gql, email: str, category: str, agreement_id: str | None) -> tuple:
    """(purchased, used) of a category as the tiles show it: the enterprise tile's total plus
    the lines of the ACTIVE add-on packages listed for each agreement of the dashboard."""
    tiles = no_errors(gql(email, TILES, {"agreementId": agreement_id}))["customerActivity"]
    purchased = used = Decimal(0)
    for total in tiles["enterprise"]:
        if total["category"] == category and total["kind"] == "CONSUMABLE":
            purchased += Decimal(str(total["purchased"]))
            used += Decimal(str(total["used"]))
    for agreement_ in tiles["agreements"]:
        body = no_errors(gql(email, ADD_ON_TILE, {"agreementId": agreement_["id"]}))
        for pack in body["customerActivity"]["addOnPackages"]:
            for line in pack["serviceAmounts"]:
                if line["category"] == category and line["kind"] == "CONSUMABLE":
                    purchased += Decimal(str(line["purchased"]))
                    used += Decimal(str(line["used"]))
    return purchased, used


def tile_record_ids(gql, email: str, category: str, agreement_id: str | None) -> set[str]:
    body = no_errors(gql(email, TILE_LINES, {"agreementId": agreement_id}))
    return {
        edge["node"]["id"]
        for agreement_ in body["customerActivity"]["agreements"]
        for pack in agreement_["packages"]
        for line in pack["serviceAmounts"]
        if line["category"] == category
        for edge in line["consumption"]["edges"]
    }


@pytest.mark.parametrize("scope", ["every active agreement", "C-100"])
@pytest.mark.parametrize("category", [c.value for c in CONSUMABLE_CATEGORIES])
def test_a_drill_down_totals_what_its_tiles_count(gql, world, session, category, scope):
    # Given active agreements whose categories also sit in an INACTIVE enterprise package or a
    # retired add-on (with consumption), an expired agreement and another workgroup's
    counted = build_counted(session, world)
    agreement_id = gid(counted.current) if scope == "C-100" else None
    packages = no_errors(gql(ADMIN, EVERY_PACKAGE))["customerActivity"]["agreements"]
    inactive_use = [
        line["used"]
        for agreement_ in packages
        for pack in agreement_["packages"]
        if pack["status"] == "INACTIVE"
        for line in pack["serviceAmounts"]
        if line["category"] == category
    ]
    assert inactive_use and all(used > 0 for used in inactive_use), "the scenario's premise"

    # When the admin reads the tiles and drills down into the category
    purchased, used = tile_totals(gql, ADMIN, category, agreement_id)
    drill = no_errors(gql(ADMIN, DRILL_DOWN, {"category": category, "agreementId": agreement_id}))
    drill = drill["customerActivity"]["drillDown"]

    # Then the drill-down's totals are the tiles' totals
    numbers = tuple(Decimal(str(drill[k])) for k in ("purchased", "used", "available"))
    assert numbers == (purchased, used, purchased - used)
    # and its grid holds exactly the records of the lines the tiles count, summing to `used`
    grid = drill["records"]
    ids = [edge["node"]["id"] for edge in grid["edges"]]
    assert set(ids) == tile_record_ids(gql, ADMIN, category, agreement_id)
    assert grid["totalCount"] == len(ids)
    assert sum(Decimal(str(edge["node"]["quantity"])) for edge in grid["edges"]) == used


EXPECTED = {
    # category: (purchased, used, available), counting neither INACTIVE packages, nor the
    # expired C-300, nor Away
    "ADVISORY": (20, 2, 18),  # not 520 / 9 / 511 with the suspended package
    "PROACTIVE_CREDITS": (40, 8, 32),  # not 340 / 70 / 270 with the retired add-ons
    "REACTIVE_SUPPORT": (170, 18, 152),
    "EDUCATION_ON_DEMAND": (58, 7, 51),
    "PROACTIVE": (60, 6, 54),
    "CONTACTS": (6, 1, 5),
}


@pytest.mark.parametrize(("category", "expected"), EXPECTED.items(), ids=EXPECTED)
def test_drill_down_totals_leave_out_inactive_packages_and_retired_add_ons(
    gql, world, session, category, expected
):
    # Given the scenario of build_counted
    build_counted(session, world)

    # When the admin drills down without naming an agreement
    drill = no_errors(gql(ADMIN, DRILL_DOWN, {"category": category}))
    drill = drill["customerActivity"]["drillDown"]

    # Then only the ACTIVE packages of the active agreements count
    assert (drill["purchased"], drill["used"], drill["available"]) == expected


# ------------------------------------------------------------------ ConsumptionRecord.supportCase


@dataclass
class CaseRecords:
    reactive: ServiceAmount
    seen: SupportCase  # shared with the customer_activity holder
    hidden: SupportCase  # nobody but its opener (the admin) and overseers
    for_seen: ConsumptionRecord
    for_hidden: ConsumptionRecord
    without_case: ConsumptionRecord
    education_for_hidden: ConsumptionRecord


def build_case_records(session: Session, world: World) -> CaseRecords:
    customer = world.home_customers[0]
    deal = agreement(session, customer, "S-1", starts=-30, ends=30)
    core = package(session, deal, "Core")
    reactive = amount(session, core, REACTIVE, 100)
    education = amount(session, core, EDUCATION, 40)
    session.commit()
    seen = new_case(session, world.home, "Seen by the activity holder", customer=customer)
    share(session, seen, ACTIVITY)
    hidden = new_case(session, world.home, "Hidden from the activity holder", customer=customer)

    def record(line: ServiceAmount, on: int, case: SupportCase | None) -> ConsumptionRecord:
        found = record_consumption(
            session=session,
            service_amount=line,
            on=day(on),
            quantity=1,
            description="Case work",
            case_id=case.id if case else None,
        )
        session.flush()
        return found

    records = CaseRecords(
        reactive=reactive,
        seen=seen,
        hidden=hidden,
        for_seen=record(reactive, -1, seen),
        for_hidden=record(reactive, -2, hidden),
        without_case=record(reactive, -3, None),
        education_for_hidden=record(education, -4, hidden),
    )
    session.commit()
    return records


def cases_by_record(body: dict) -> dict[str, tuple[dict | None, ...]]:
    """Record id -> the supportCase it shows in the drill-down, under its line and by id."""
    data = body["data"]
    grid = {
        e["node"]["id"]: e["node"]["supportCase"]
        for e in data["customerActivity"]["drillDown"]["records"]["edges"]
    }
    line = {e["node"]["id"]: e["node"]["supportCase"] for e in data["line"]["consumption"]["edges"]}
    assert set(grid) == set(line)
    found = {rid: (grid[rid], line[rid]) for rid in grid}
    record = data["record"]
    found[record["id"]] = (*found.get(record["id"], ()), record["supportCase"])
    return found


def shown(case: SupportCase) -> dict:
    return {"id": case_gid(case), "number": case.number, "title": case.title}


def test_a_record_shows_its_case_to_who_may_see_it(gql, world, session):
    # Given records for a case shared with the customer_activity holder, for a case they are
    # not related to, and for no case
    built = build_case_records(session, world)
    variables = {"category": "REACTIVE_SUPPORT", "line": gid(built.reactive)}

    # When the admin (who oversees every case) reads them in the grid, under the line, by id
    body = gql(ADMIN, RECORD_CASES, {**variables, "record": gid(built.for_hidden)})

    # Then every record names its case, everywhere
    assert "errors" not in body
    assert cases_by_record(body) == {
        gid(built.for_seen): (shown(built.seen),) * 2,
        gid(built.for_hidden): (shown(built.hidden),) * 3,
        gid(built.without_case): (None, None),
    }


def test_a_case_outside_the_member_rule_is_null_without_error_or_trace(gql, world, session):
    # Given the same records; the customer_activity holder reads every record, and cases by
    # the member rule only (the first case is shared with them, the second is not)
    built = build_case_records(session, world)
    variables = {"category": "REACTIVE_SUPPORT", "line": gid(built.reactive)}

    # When they read the records in the grid, under the line, and the hidden case's by id
    response = gql.post(ACTIVITY, RECORD_CASES, {**variables, "record": gid(built.for_hidden)})
    body = response.json()

    # Then the shared case shows, the other is null, with no error
    assert "errors" not in body
    assert cases_by_record(body) == {
        gid(built.for_seen): (shown(built.seen),) * 2,
        gid(built.for_hidden): (None,) * 3,
        gid(built.without_case): (None, None),
    }
    # and nothing in the response names the hidden case
    assert case_gid(built.hidden) not in response.text
    assert built.hidden.title not in response.text


def test_a_training_manager_sees_no_case_outside_the_member_rule(gql, world, session):
    # Given an EDUCATION record for a case the training manager is not related to
    built = build_case_records(session, world)

    # When they read the EDUCATION grid and the record by id
    body = gql(
        TRAINER,
        RECORD_CASES,
        {
            "category": "EDUCATION_ON_DEMAND",
            "line": gid(built.reactive),  # not theirs to read: null
            "record": gid(built.education_for_hidden),
        },
    )

    # Then the record is there and its case is null, without an error
    assert "errors" not in body
    grid = body["data"]["customerActivity"]["drillDown"]["records"]["edges"]
    assert [(e["node"]["id"], e["node"]["supportCase"]) for e in grid] == [
        (gid(built.education_for_hidden), None)
    ]
    assert body["data"]["record"] == {"id": gid(built.education_for_hidden), "supportCase": None}
    assert body["data"]["line"] is None


def test_support_case_of_a_record_is_readable_by_the_readers_of_consumption_records():
    # Given the policy
    authorizer = Authorizer.from_files()

    # When it decides ConsumptionRecord.supportCase and a field every record reader reads
    def readers(coordinate: str) -> set[str]:
        return {
            role
            for role in ROLES
            if authorizer.allows(frozenset({role, AUTHENTICATED}), coordinate, READ)
        }

    # Then the same roles may read both, and nobody else
    assert readers("ConsumptionRecord.supportCase") == readers("ConsumptionRecord.quantity")
    assert readers("ConsumptionRecord.supportCase") == {
        "admin",
        "customer_activity",
        "training_manager",
    }


# ------------------------------------------------------------------ cost


def workgroup_with_case_records(session: Session, name: str, records: int) -> tuple[str, str]:
    """A workgroup whose one active agreement has `records` REACTIVE records, each for a case
    of its own (shared with its activity holder); returns (admin, activity holder)."""
    workgroup = make_workgroup(session, name)
    admin, holder = f"admin@{name.lower()}.example", f"activity@{name.lower()}.example"
    grant(session, admin, "admin", workgroup)
    grant(session, holder, "customer_activity", workgroup)
    customer = make_customer(session, workgroup)
    line = amount(
        session, package(session, agreement(session, customer, "K-1"), "Core"), REACTIVE, 500
    )
    session.commit()
    for n in range(records):
        case = new_case(session, workgroup, f"Case {n}", by=admin, customer=customer)
        share(session, case, holder)
        record_consumption(
            session=session,
            service_amount=line,
            on=day(-1 - n % 60),
            quantity=1,
            case_id=case.id,
        )
    session.commit()
    return admin, holder


@pytest.mark.parametrize("viewer", ["admin", "activity holder"])
def test_record_cases_cost_the_same_for_5_and_50_records(gql, engine, authorizer, session, viewer):
    # Given a workgroup with 5 records and one with 50, each record for a case of its own
    small = workgroup_with_case_records(session, "Small", 5)
    large = workgroup_with_case_records(session, "Large", 50)
    pick = 0 if viewer == "admin" else 1

    # When the viewer of each reads the records with their cases, in the grid and under lines
    small_cost = measure(gql, engine, authorizer, small[pick], COST_TREE)
    large_cost = measure(gql, engine, authorizer, large[pick], COST_TREE)

    # Then both cost the same SQL statements and Casbin evaluations
    assert small_cost[:2] == large_cost[:2]
    # and the large one really shows 50 records, each with its case, both ways
    body = no_errors(large_cost[2])["customerActivity"]
    grid = body["drillDown"]["records"]
    assert grid["totalCount"] == len(grid["edges"]) == 50
    titles = {e["node"]["supportCase"]["title"] for e in grid["edges"]}
    assert titles == {f"Case {n}" for n in range(50)}
    assert all(e["node"]["supportCase"]["customer"] is not None for e in grid["edges"])
    lines = [
        e["node"]["supportCase"]["number"]
        for a in body["agreements"]
        for p in a["packages"]
        for line in p["serviceAmounts"]
        for e in line["consumption"]["edges"]
    ]
    assert len(lines) == 50 and None not in lines


# ------------------------------------------------------------------ the demo data


@pytest.fixture
def demo(monkeypatch, tmp_path, database_url, engine):
    """The demo data, loaded by `clientele seed --demo` into the (empty) test database."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("CLIENTELE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CLIENTELE_JWT_SECRET", TEST_SECRET)
    monkeypatch.setenv("CLIENTELE_DATABASE_URL", database_url)
    get_settings.cache_clear()
    assert main(["seed", "--demo"]) == 0
    yield
    get_settings.cache_clear()


# Lines of the demo documented as used beyond what was bought: none.
DOCUMENTED_OVERRUNS: set[tuple[str, str, str]] = set()


def demo_problems(session: Session) -> dict[str, list]:
    """What would make the demo data meaningless, by rule; the lines it checked, by kind."""
    used = func.coalesce(func.sum(ConsumptionRecord.quantity), 0)
    lines = session.execute(
        select(
            Agreement.number, Package.name, ServiceAmount.category, ServiceAmount.purchased, used
        )
        .select_from(ServiceAmount)
        .join(Package, Package.id == ServiceAmount.package_id)
        .join(Agreement, Agreement.id == Package.agreement_id)
        .outerjoin(ConsumptionRecord, ConsumptionRecord.service_amount_id == ServiceAmount.id)
        .where(ServiceAmount.kind == AmountKind.CONSUMABLE.value)
        .group_by(
            ServiceAmount.id,
            Agreement.number,
            Package.name,
            ServiceAmount.category,
            ServiceAmount.purchased,
        )
    ).all()
    per_category: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 2)
    for number, _name, category, purchased, total in lines:
        per_category[(number, category)][0] += Decimal(purchased)
        per_category[(number, category)][1] += Decimal(total)
    add_ons = session.execute(
        select(Agreement.number, Package.name, Package.expires_on, Agreement.ends_on)
        .join(Agreement, Agreement.id == Package.agreement_id)
        .where(Package.kind == PackageKind.ADD_ON.value)
    ).all()
    records = session.execute(
        select(Package.name, Package.starts_on, Package.expires_on, ConsumptionRecord.date)
        .join(ServiceAmount, ServiceAmount.id == ConsumptionRecord.service_amount_id)
        .join(Package, Package.id == ServiceAmount.package_id)
    ).all()
    return {
        "checked lines": lines,
        "checked add-ons": add_ons,
        "checked records": records,
        "used beyond purchased": [
            (number, name, category, purchased, total)
            for number, name, category, purchased, total in lines
            if total > purchased and (number, name, category) not in DOCUMENTED_OVERRUNS
        ],
        "category used beyond purchased": [
            (key, totals) for key, totals in per_category.items() if totals[1] > totals[0]
        ],
        "add-on outliving its agreement": [row for row in add_ons if row[2] > row[3]],
        "record outside its package's dates": [
            row for row in records if not row[1] <= row[3] <= row[2]
        ],
    }


def test_the_demo_uses_no_more_than_was_bought_and_no_add_on_outlives_its_agreement(demo, session):
    # Given the demo data
    # When every consumable line, add-on package and record is checked
    problems = demo_problems(session)

    # Then there was something to check, of every kind
    assert len(problems.pop("checked lines")) >= 20
    assert len(problems.pop("checked add-ons")) >= 4
    assert problems.pop("checked records")
    # and no line or category is used beyond what was bought, no add-on expires after its
    # agreement ends, and no record falls outside its package's dates
    assert problems == {
        "used beyond purchased": [],
        "category used beyond purchased": [],
        "add-on outliving its agreement": [],
        "record outside its package's dates": [],
    }


def test_the_demo_shows_record_cases_by_the_member_rule(demo, gql):
    # Given the demo's hours worked on cases (README: activity@northwind.example sees only the
    # health check shared with them)
    # When the admin and the activity holder of Northwind read the REACTIVE_SUPPORT grid
    def titles(email: str) -> list:
        body = no_errors(gql(email, DEMO_CASE_RECORDS))
        edges = body["customerActivity"]["drillDown"]["records"]["edges"]
        return sorted(e["node"]["supportCase"]["title"] for e in edges if e["node"]["supportCase"])

    # Then the admin sees every case worked on, the activity holder only the shared one
    assert titles("admin@northwind.example") == [
        "Executive escalation (not visible to member)",
        "Mail flow delayed (via Tier 2)",
        "Quarterly health check (not visible to member)",
        "VPN drops every hour (shared)",
    ]
    assert titles("activity@northwind.example") == [
        "Quarterly health check (not visible to member)"
    ]


def test_the_demo_keeps_inactive_packages_out_of_its_drill_downs(demo, gql):
    # Given the demo's retired add-ons, which hold PROACTIVE_CREDITS with consumption
    # When the activity holder reads the add-on tiles and the PROACTIVE_CREDITS drill-down
    email = "activity@northwind.example"
    purchased, used = tile_totals(gql, email, "PROACTIVE_CREDITS", None)
    drill = no_errors(gql(email, DRILL_DOWN, {"category": "PROACTIVE_CREDITS"}))
    drill = drill["customerActivity"]["drillDown"]

    # Then the drill-down totals the ACTIVE add-ons only: 200 credits on each of 4 agreements
    assert purchased == 800
    assert (Decimal(str(drill["purchased"])), Decimal(str(drill["used"]))) == (purchased, used)
