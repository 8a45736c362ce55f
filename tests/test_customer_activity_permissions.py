"""Who sees what of customer activity (docs/permissions.md, row "Agreements, packages, service
amounts, consumption, drill-downs"): admin and customer_activity read all of it in their
workgroups, training_manager only the EDUCATION_ON_DEMAND lines and their consumption, every
other role is FORBIDDEN at the entry points; a role in another workgroup sees nothing of
Home; rows the viewer may not see are null by id, exactly like ids that do not exist; totals
and counts cover only what the viewer may see.

The tests of this module only read; they share one world built once (see `shared`).
"""

from collections.abc import Iterator

import pytest
from sqlmodel import Session

from graph.ids import encode_id
from tests.activity_factories import Shared, gid, shared_world
from tests.conftest import World, grant

# A training manager in Home who is admin in Away, and a sales agent in Home who holds the
# customer_activity role in Away.
TRAINER_AND_ADMIN = "trainer-admin@mixed.example"
SALES_AND_ACTIVITY = "sales-activity@mixed.example"

ACTIVITY = """
query Activity($workgroupIds: [ID!]) {
  customerActivity(workgroupIds: $workgroupIds) {
    agreements { number packages { name serviceAmounts { category used
      consumption { totalCount edges { node { quantity } } } } } }
    enterprise { category purchased used available }
    drillDown(category: REACTIVE_SUPPORT) { purchased used records { totalCount } }
  }
}
"""
EVERY_FIELD = """
query Everything($workgroupIds: [ID!], $agreementId: ID!) {
  customerActivity(workgroupIds: $workgroupIds) {
    agreements {
      id number name startsOn endsOn isActive customer { companyName } workgroup { name }
      packages {
        id name kind status startsOn expiresOn daysToExpiry
        serviceAmounts {
          id category kind unit description actionUrl purchased used available
          consumption { totalCount pageInfo { hasNextPage } edges { cursor node {
            id date quantity hoursWorked description
          } } }
        }
      }
    }
    enterprise { category kind unit purchased used available description actionUrl }
    addOnPackages(agreementId: $agreementId) { id name serviceAmounts { category } }
    drillDown(category: EDUCATION_ON_DEMAND) {
      category unit purchased used available description actionUrl
      records { totalCount edges { node { id date quantity hoursWorked description } } }
    }
  }
}
"""
AGREEMENTS = """
query($workgroupIds: [ID!], $customerId: ID) {
  agreements(workgroupIds: $workgroupIds, customerId: $customerId) {
    totalCount edges { node { number packages { serviceAmounts { category used } } } }
  }
}
"""
CUSTOMER_AGREEMENTS = """
query($id: ID!) { customer(id: $id) { companyName agreements { number } } }
"""
WORKGROUP_AGREEMENTS = """
query($id: ID!) { workgroup(id: $id) { name agreements { totalCount } } }
"""
NODE = """
query($id: ID!) {
  node(id: $id) {
    id
    ... on Agreement { number }
    ... on Package { name }
    ... on ServiceAmount { category used }
    ... on ConsumptionRecord { date quantity }
  }
}
"""
ENTERPRISE = """
query($workgroupIds: [ID!]) {
  customerActivity(workgroupIds: $workgroupIds) { enterprise { category purchased used } }
}
"""
DRILL_DOWN = """
query($category: DrillDownCategory!, $agreementId: ID) {
  customerActivity {
    drillDown(category: $category, agreementId: $agreementId) {
      purchased used available description actionUrl
      records { totalCount edges { node { quantity description } } }
    }
  }
}
"""
ADD_ONS = """
query($agreementId: ID!) {
  customerActivity {
    addOnPackages(agreementId: $agreementId) { name serviceAmounts { category used } }
  }
}
"""
EVERY_CUSTOMER_AGREEMENTS = """
query { customers { edges { node { companyName agreements { number } } } } }
"""
EVERY_WORKGROUP_AGREEMENTS = """
query { workgroups { edges { node { name agreements { totalCount } } } } }
"""

CATEGORIES = [
    "REACTIVE_SUPPORT",
    "ADVISORY",
    "PROACTIVE",
    "PROACTIVE_CREDITS",
    "EDUCATION_ON_DEMAND",
    "ASSESSMENTS_ON_DEMAND",
    "CONTACTS",
]


def mixed_roles(session: Session, world: World) -> None:
    grant(session, TRAINER_AND_ADMIN, "training_manager", world.home)
    grant(session, TRAINER_AND_ADMIN, "admin", world.away)
    grant(session, SALES_AND_ACTIVITY, "sales_agent", world.home)
    grant(session, SALES_AND_ACTIVITY, "customer_activity", world.away)


@pytest.fixture(scope="module")
def shared(engine, database_url) -> Iterator[Shared]:
    yield from shared_world(engine, database_url, mixed_roles)


@pytest.fixture(autouse=True)
def _empty_tables() -> Iterator[None]:
    """Overrides the per-test emptying of conftest: this module only reads, and `shared`
    empties the tables once when the module is done."""
    yield


# ------------------------------------------------------------------ reading responses


def errors_at(body: dict) -> dict[tuple, str]:
    return {
        tuple(error.get("path") or ()): error["extensions"]["code"]
        for error in body.get("errors", [])
    }


def categories_in(activity: dict) -> set[str]:
    return {
        line["category"]
        for agreement in activity["agreements"]
        for package in agreement["packages"]
        for line in package["serviceAmounts"]
    }


def by_category(totals: list[dict]) -> dict[str, tuple]:
    return {t["category"]: (t["purchased"], t["used"]) for t in totals}


# ------------------------------------------------------------------ the role matrix

ALL = "all"  # everything of Home
EDU = "education"  # the education lines only
FORBIDDEN = "forbidden"  # null at the path, extensions.code FORBIDDEN
NOTHING = "nothing"  # no data of Home, and no error
SEEN, NULL = "seen", "null"  # a row by id

VIEWERS = {
    "admin": World.email("admin"),
    "customer_activity": World.email("customer_activity"),
    "training_manager": World.email("training_manager"),
    "admin_agent": World.email("admin_agent"),
    "sales_agent": World.email("sales_agent"),
    "support_viewer": World.email("support_viewer"),
    "member": World.email("member"),
    "nobody": World.NOBODY,
    "admin_away": World.ADMIN_AWAY,
    "global_admin": World.GLOBAL_ADMIN,
}

# The specification, typed in from docs/permissions.md (never derived from the policy).
# Query.customerActivity and Query.agreements are asked for Home; Customer.agreements and
# Workgroup.agreements through `customer(id:)` and `workgroup(id:)` of Home. A member or a user
# without roles cannot reach a customer (and the latter no workgroup): that path is NOTHING.
# fmt: off
FIELDS = ("Query.customerActivity", "Query.agreements", "Customer.agreements",
          "Workgroup.agreements")
LIST_MATRIX = {
    #                    customerActivity agreements Customer.agr. Workgroup.agr.
    "admin":             (ALL,            ALL,       ALL,          ALL),
    "customer_activity": (ALL,            ALL,       ALL,          ALL),
    "training_manager":  (EDU,            ALL,       ALL,          ALL),
    "admin_agent":       (FORBIDDEN,      FORBIDDEN, FORBIDDEN,    FORBIDDEN),
    "sales_agent":       (FORBIDDEN,      FORBIDDEN, FORBIDDEN,    FORBIDDEN),
    "support_viewer":    (FORBIDDEN,      FORBIDDEN, FORBIDDEN,    FORBIDDEN),
    "member":            (FORBIDDEN,      FORBIDDEN, NOTHING,      FORBIDDEN),
    "nobody":            (FORBIDDEN,      FORBIDDEN, NOTHING,      NOTHING),
    "admin_away":        (NOTHING,        NOTHING,   NOTHING,      NOTHING),
    "global_admin":      (ALL,            ALL,       ALL,          ALL),
}
ROWS = ("agreement", "package", "reactive amount", "education amount", "reactive record",
        "education record")
NODE_MATRIX = {
    #                    agreement package reactive education reactive education
    #                                      amount   amount    record   record
    "admin":             (SEEN,     SEEN,  SEEN,    SEEN,     SEEN,    SEEN),
    "customer_activity": (SEEN,     SEEN,  SEEN,    SEEN,     SEEN,    SEEN),
    "training_manager":  (SEEN,     SEEN,  NULL,    SEEN,     NULL,    SEEN),
    "admin_agent":       (NULL,     NULL,  NULL,    NULL,     NULL,    NULL),
    "sales_agent":       (NULL,     NULL,  NULL,    NULL,     NULL,    NULL),
    "support_viewer":    (NULL,     NULL,  NULL,    NULL,     NULL,    NULL),
    "member":            (NULL,     NULL,  NULL,    NULL,     NULL,    NULL),
    "nobody":            (NULL,     NULL,  NULL,    NULL,     NULL,    NULL),
    "admin_away":        (NULL,     NULL,  NULL,    NULL,     NULL,    NULL),
    "global_admin":      (SEEN,     SEEN,  SEEN,    SEEN,     SEEN,    SEEN),
}
# fmt: on

# What NOTHING looks like at each entry point.
NOTHING_VALUES = {
    "Query.customerActivity": {
        "agreements": [],
        "enterprise": [],
        "drillDown": {"purchased": None, "used": None, "records": {"totalCount": 0}},
    },
    "Query.agreements": {"totalCount": 0, "edges": []},
    "Customer.agreements": None,  # the customer itself is not visible
    "Workgroup.agreements": None,  # the workgroup itself is not visible
}

LIST_CASES = [
    pytest.param(viewer, field, outcome, id=f"{viewer}-{field}")
    for viewer, outcomes in LIST_MATRIX.items()
    for field, outcome in zip(FIELDS, outcomes, strict=True)
]
NODE_CASES = [
    pytest.param(viewer, row, outcome, id=f"{viewer}-{row}")
    for viewer, outcomes in NODE_MATRIX.items()
    for row, outcome in zip(ROWS, outcomes, strict=True)
]


def ask(shared: Shared, viewer: str, field: str) -> tuple[dict, dict, tuple[str, ...]]:
    """(response body, the value at the field's path, the path) for one field of the matrix."""
    email = VIEWERS[viewer]
    if field == "Query.customerActivity":
        body = shared.gql(email, ACTIVITY, {"workgroupIds": [shared.home]})
        return body, body["data"]["customerActivity"], ("customerActivity",)
    if field == "Query.agreements":
        body = shared.gql(email, AGREEMENTS, {"workgroupIds": [shared.home]})
        return body, body["data"]["agreements"], ("agreements",)
    if field == "Customer.agreements":
        body = shared.gql(email, CUSTOMER_AGREEMENTS, {"id": shared.customer(0)})
        return body, body["data"]["customer"], ("customer", "agreements")
    body = shared.gql(email, WORKGROUP_AGREEMENTS, {"id": shared.home})
    return body, body["data"]["workgroup"], ("workgroup", "agreements")


@pytest.mark.parametrize(("viewer", "field", "outcome"), LIST_CASES)
def test_role_matrix_of_the_entry_points(shared: Shared, viewer, field, outcome):
    # Given the dashboard scenario and a viewer holding one role (or none)
    # When the viewer asks for Home's agreements through one entry point
    body, value, path = ask(shared, viewer, field)

    # Then the answer is what docs/permissions.md says for that role
    if outcome == FORBIDDEN:
        assert errors_at(body) == {path: "FORBIDDEN"}
        if len(path) == 1:
            assert value is None
        else:
            assert value[path[1]] is None
            assert value.get("companyName") or value.get("name"), "the rest is intact"
        return
    assert "errors" not in body, body
    if outcome == NOTHING:
        assert value == NOTHING_VALUES[field]
        return
    if field == "Query.customerActivity":
        assert [a["number"] for a in value["agreements"]] == ["H-100", "H-200"]
        expected = (
            {"EDUCATION_ON_DEMAND"}
            if outcome == EDU
            else set(CATEGORIES) - {"ASSESSMENTS_ON_DEMAND"}
        )
        assert categories_in(value) == expected
        assert {t["category"] for t in value["enterprise"]} <= expected
        assert (value["drillDown"]["records"]["totalCount"] > 0) == (outcome == ALL)
    elif field == "Query.agreements":
        assert value["totalCount"] == 4
    elif field == "Customer.agreements":
        assert [a["number"] for a in value["agreements"]] == ["H-100", "H-200"]
    else:
        assert value["agreements"]["totalCount"] == 4


@pytest.mark.parametrize(("viewer", "row", "outcome"), NODE_CASES)
def test_role_matrix_of_rows_by_id(shared: Shared, viewer, row, outcome):
    # Given one row of each kind in Home
    dash = shared.dash
    rows = {
        "agreement": dash.current,
        "package": dash.enterprise,
        "reactive amount": dash.reactive,
        "education amount": dash.education,
        "reactive record": dash.reactive_records[0],
        "education record": dash.education_records[0],
    }
    row_id = gid(rows[row])  # type: ignore[arg-type]

    # When the viewer fetches it by id, and an id of the same type that names no row
    body = shared.gql(VIEWERS[viewer], NODE, {"id": row_id})
    unknown = shared.gql(VIEWERS[viewer], NODE, {"id": encode_id(type(rows[row]).__name__, 99999)})

    # Then a visible row comes back; an invisible one is exactly like a row that does not exist
    assert unknown == {"data": {"node": None}}
    if outcome == SEEN:
        assert body["data"]["node"]["id"] == row_id
        assert "errors" not in body
    else:
        assert body == unknown


@pytest.mark.parametrize(
    "viewer", ["admin", "customer_activity", "training_manager", "global_admin"]
)
def test_readers_get_every_field_without_an_error(shared: Shared, viewer):
    # Given a viewer allowed to read customer activity in Home
    variables = {"workgroupIds": [shared.home], "agreementId": gid(shared.dash.current)}

    # When they select every field of the dashboard
    body = shared.gql(VIEWERS[viewer], EVERY_FIELD, variables)

    # Then nothing is forbidden
    assert "errors" not in body, body["errors"]
    activity = body["data"]["customerActivity"]
    assert len(activity["agreements"]) == 2
    assert activity["drillDown"]["category"] == "EDUCATION_ON_DEMAND"


@pytest.mark.parametrize("viewer", ["admin_agent", "sales_agent", "support_viewer", "member"])
def test_other_roles_see_no_totals(shared: Shared, viewer):
    # Given a role without access to customer activity
    variables = {"workgroupIds": [shared.home], "agreementId": gid(shared.dash.current)}

    # When it selects every field of the dashboard
    response = shared.gql.post(VIEWERS[viewer], EVERY_FIELD, variables)

    # Then the whole dashboard is null with one FORBIDDEN error, and no number leaks
    body = response.json()
    assert body["data"] == {"customerActivity": None}
    assert errors_at(body) == {("customerActivity",): "FORBIDDEN"}
    assert body["errors"][0]["extensions"]["coordinate"] == "Query.customerActivity"
    for leak in ("H-100", "Enterprise core", "Workshops", "EDUCATION"):
        assert leak not in response.text


# ------------------------------------------------------------------ training managers


TRAINER = World.email("training_manager")


def test_training_manager_totals_are_education_only(shared: Shared):
    # Given Home's enterprise EDUCATION lines (55 purchased, 6 used) among other categories
    # When the training manager reads the enterprise totals
    body = shared.gql(TRAINER, ENTERPRISE, {"workgroupIds": [shared.home]})

    # Then only education is totalled, with the admin's numbers for it
    assert body["data"]["customerActivity"]["enterprise"] == [
        {"category": "EDUCATION_ON_DEMAND", "purchased": 55, "used": 6}
    ]


def test_training_manager_lists_education_lines_and_records_only(shared: Shared):
    # Given agreements whose packages hold lines of many categories
    # When the training manager reads them through the dashboard and the agreement list
    activity = shared.gql(TRAINER, ACTIVITY, {"workgroupIds": [shared.home]})
    listed = shared.gql(TRAINER, AGREEMENTS, {"workgroupIds": [shared.home]})

    # Then every line listed is an education line, with only education consumption
    assert categories_in(activity["data"]["customerActivity"]) == {"EDUCATION_ON_DEMAND"}
    lines = [
        line
        for edge in listed["data"]["agreements"]["edges"]
        for package in edge["node"]["packages"]
        for line in package["serviceAmounts"]
    ]
    assert {line["category"] for line in lines} == {"EDUCATION_ON_DEMAND"}
    # and the education lines are all there: 40 + 10 + 8 + 5 in active, 77 in expired H-300
    assert sorted(line["used"] for line in lines) == [0.5, 1, 2, 4.5, 7]


@pytest.mark.parametrize("category", [c for c in CATEGORIES if c != "EDUCATION_ON_DEMAND"])
def test_training_manager_drill_downs_of_other_categories_are_empty(shared: Shared, category):
    # Given consumption in several categories of H-100
    # When the training manager drills down into a category other than education
    body = shared.gql(
        TRAINER, DRILL_DOWN, {"category": category, "agreementId": gid(shared.dash.current)}
    )

    # Then it holds no totals and no records
    drill = body["data"]["customerActivity"]["drillDown"]
    assert drill == {
        "purchased": None,
        "used": None,
        "available": None,
        "description": None,
        "actionUrl": None,
        "records": {"totalCount": 0, "edges": []},
    }


def test_training_manager_education_drill_down_equals_the_admins(shared: Shared):
    # Given H-100's education lines
    variables = {"category": "EDUCATION_ON_DEMAND", "agreementId": gid(shared.dash.current)}

    # When the training manager and the admin drill down into education
    trainer = shared.gql(TRAINER, DRILL_DOWN, variables)
    admin = shared.gql(VIEWERS["admin"], DRILL_DOWN, variables)

    # Then both see the same totals and records
    assert trainer == admin
    assert trainer["data"]["customerActivity"]["drillDown"]["records"]["totalCount"] == 4


def test_training_manager_add_on_packages_hold_education_lines_only(shared: Shared):
    # Given H-100's add-ons: a proactive pack, a training pack and an old pack
    # When the training manager lists them
    body = shared.gql(TRAINER, ADD_ONS, {"agreementId": gid(shared.dash.current)})

    # Then the packages are listed, but only education lines inside them
    packages = {
        p["name"]: [line["category"] for line in p["serviceAmounts"]]
        for p in body["data"]["customerActivity"]["addOnPackages"]
    }
    assert packages == {
        "Old pack": [],
        "Training pack": ["EDUCATION_ON_DEMAND"],
        "Proactive pack": [],
    }


# ------------------------------------------------------------------ other workgroups


ADMIN_AWAY = World.ADMIN_AWAY


def test_an_admin_of_another_workgroup_sees_only_their_own_activity(shared: Shared):
    # Given Away's admin, and both workgroups with active agreements
    # When they read the dashboard without choosing workgroups
    body = shared.gql(ADMIN_AWAY, ACTIVITY)

    # Then it is Away's alone
    activity = body["data"]["customerActivity"]
    assert [a["number"] for a in activity["agreements"]] == ["W-100"]
    assert by_category(activity["enterprise"]) == {
        "EDUCATION_ON_DEMAND": (60, 6),
        "REACTIVE_SUPPORT": (300, 30),
    }
    assert activity["drillDown"]["used"] == 30


@pytest.mark.parametrize("query", [ADD_ONS, DRILL_DOWN], ids=["addOnPackages", "drillDown"])
def test_an_admin_of_another_workgroup_cannot_name_a_home_agreement(shared: Shared, query):
    # Given Home's H-100
    variables = {"agreementId": gid(shared.dash.current), "category": "REACTIVE_SUPPORT"}

    # When Away's admin names it
    response = shared.gql.post(ADMIN_AWAY, query, variables)

    # Then it is bad input, and nothing of Home comes back
    body = response.json()
    assert errors_at(body) == {
        ("customerActivity", "addOnPackages" if query is ADD_ONS else "drillDown"): (
            "BAD_USER_INPUT"
        )
    }
    assert body["data"]["customerActivity"] is None
    for leak in ("H-100", "Training pack", "Proactive pack"):
        assert leak not in response.text


def test_an_admin_of_another_workgroup_finds_no_home_agreements_by_customer(shared: Shared):
    # Given Home's customer 0 with two agreements
    # When Away's admin lists agreements of that customer
    body = shared.gql(ADMIN_AWAY, AGREEMENTS, {"customerId": shared.customer(0)})

    # Then there are none
    assert body["data"]["agreements"] == {"totalCount": 0, "edges": []}


def test_a_global_admin_sees_every_workgroup_and_can_choose(shared: Shared):
    # Given both workgroups
    # When the global admin reads the enterprise totals across all, and for Home only
    every = shared.gql(World.GLOBAL_ADMIN, ENTERPRISE)
    home = shared.gql(World.GLOBAL_ADMIN, ENTERPRISE, {"workgroupIds": [shared.home]})
    home_admin = shared.gql(VIEWERS["admin"], ENTERPRISE)

    # Then the totals cover both, or Home alone exactly as Home's admin sees it
    totals = by_category(every["data"]["customerActivity"]["enterprise"])
    assert totals["REACTIVE_SUPPORT"] == (160 + 300, 11 + 30)
    assert totals["EDUCATION_ON_DEMAND"] == (55 + 60, 6 + 6)
    assert home == home_admin


# ------------------------------------------------------------------ different roles per workgroup


def test_totals_cover_what_each_workgroup_allows(shared: Shared):
    # Given a training manager in Home who is admin in Away
    # When they read the enterprise totals across both
    body = shared.gql(TRAINER_AND_ADMIN, ENTERPRISE)

    # Then Home adds only education, Away everything
    assert by_category(body["data"]["customerActivity"]["enterprise"]) == {
        "EDUCATION_ON_DEMAND": (55 + 60, 6 + 6),
        "REACTIVE_SUPPORT": (300, 30),
    }


def test_customer_agreements_are_forbidden_only_where_the_role_lacks_them(shared: Shared):
    # Given a sales agent in Home who holds customer_activity in Away
    # When they list every customer with its agreements, and every workgroup's agreements
    customers = shared.gql(SALES_AND_ACTIVITY, EVERY_CUSTOMER_AGREEMENTS)
    workgroups = shared.gql(SALES_AND_ACTIVITY, EVERY_WORKGROUP_AGREEMENTS)

    # Then Away's rows carry agreements and Home's are FORBIDDEN, row by row
    nodes = [e["node"] for e in customers["data"]["customers"]["edges"]]
    assert {n["companyName"]: n["agreements"] for n in nodes} == {
        "Away Customer 0": [{"number": "W-100"}],
        "Away Customer 1": [],
        "Home Customer 0": None,
        "Home Customer 1": None,
        "Home Customer 2": None,
    }
    assert set(errors_at(customers).values()) == {"FORBIDDEN"}
    assert len(customers["errors"]) == 3
    by_name = {
        e["node"]["name"]: e["node"]["agreements"]
        for e in workgroups["data"]["workgroups"]["edges"]
    }
    assert by_name == {"Away": {"totalCount": 1}, "Home": None}
    assert set(errors_at(workgroups).values()) == {"FORBIDDEN"}
