"""The cost of a request does not grow with the rows it returns: the same number of SQL
statements and of Casbin evaluations for 10 customers as for 500."""

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from models.customers.tables import Customer, CustomerTag, Tag
from tests.conftest import World, grant, make_workgroup

CUSTOMERS_NESTED = """
query {
  customers(first: 1000) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id companyName primaryDomain rank businessId tags workgroup { id name }
    } }
  }
}
"""
WORKGROUP_CUSTOMERS = """
query {
  workgroups { edges { node { name customers(first: 1000) { totalCount edges { node {
    companyName tags workgroup { name } } } } } } }
}
"""


@contextmanager
def counting_statements(engine):
    executed: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        executed.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield executed
    finally:
        event.remove(engine, "before_cursor_execute", count)


def add_customers(session, workgroup, count: int, prefix: str) -> None:
    tags = [
        Tag(workgroup_id=workgroup.id, name=f"{prefix}-t{i}", name_key=f"{prefix}-t{i}")
        for i in range(3)
    ]
    session.add_all(tags)
    session.flush()
    rows = [
        Customer(
            workgroup_id=workgroup.id,
            company_name=f"{prefix} customer {i:04d}",
            primary_domain=f"{prefix}-{i}.example",
            rank=i,
        )
        for i in range(count)
    ]
    session.add_all(rows)
    session.flush()
    session.add_all(
        CustomerTag(customer_id=row.id, tag_id=tags[i % 3].id, workgroup_id=row.workgroup_id)
        for i, row in enumerate(rows)
    )
    session.commit()


def measure(gql, engine, authorizer, email: str, query: str) -> tuple[int, int, dict]:
    authorizer.clear_cache()
    evaluations_before = authorizer.evaluations
    with counting_statements(engine) as statements:
        body = gql(email, query)
    return len(statements), authorizer.evaluations - evaluations_before, body


MIXED = "mixed@home.example"


@pytest.fixture
def two_sizes(session):
    """Workgroup `small` with 10 customers and `large` with 500; the same users in both."""
    small = make_workgroup(session, "Small")
    large = make_workgroup(session, "Large")
    add_customers(session, small, 10, "small")
    add_customers(session, large, 500, "large")
    return small, large


@pytest.mark.parametrize("role", ["admin", "sales_agent", "customer_activity"])
@pytest.mark.parametrize("query", [CUSTOMERS_NESTED, WORKGROUP_CUSTOMERS], ids=["root", "nested"])
def test_statements_and_evaluations_do_not_grow_with_rows(
    gql, engine, authorizer, session, two_sizes, role, query
):
    # Given the same role in a workgroup of 10 customers and, for another user, one of 500
    small, large = two_sizes
    grant(session, f"{role}@small.example", role, small)
    grant(session, f"{role}@large.example", role, large)

    # When each lists every customer with nested workgroup and tags
    small_cost = measure(gql, engine, authorizer, f"{role}@small.example", query)
    large_cost = measure(gql, engine, authorizer, f"{role}@large.example", query)

    # Then both requests cost the same statements and Casbin evaluations
    assert small_cost[:2] == large_cost[:2]
    assert large_cost[1] > 0, "the authorizer was consulted"
    edges = _customer_edges(large_cost[2])
    assert len(edges) == 500


def test_mixed_roles_decide_per_workgroup_without_per_row_evaluations(
    gql, engine, authorizer, session, two_sizes
):
    # Given a user who is admin in `small` and sales agent in `large`
    small, large = two_sizes
    grant(session, MIXED, "admin", small)
    grant(session, MIXED, "sales_agent", large)

    # When they list all 510 customers with `rank`
    statements, evaluations, body = measure(gql, engine, authorizer, MIXED, CUSTOMERS_NESTED)

    # Then rank is shown where they are admin and forbidden where they are sales agent
    nodes = [edge["node"] for edge in body["data"]["customers"]["edges"]]
    assert len(nodes) == 510
    assert all((n["rank"] is None) == n["companyName"].startswith("large") for n in nodes)
    forbidden = [e for e in body["errors"] if e["extensions"]["code"] == "FORBIDDEN"]
    assert len(forbidden) == 1000  # rank and businessId of each `large` row
    # and the evaluations are a handful per coordinate and role (the selected fields, and the
    # row grant of every tenant table for the session's restriction), not one per row
    assert evaluations < 200
    assert statements <= 8


def test_warm_cache_needs_no_casbin_evaluations(gql, engine, authorizer, world: World):
    # Given a request that filled the decision cache
    gql(World.email("sales_agent"), CUSTOMERS_NESTED)
    before = authorizer.evaluations

    # When the same kind of request comes again
    gql(World.email("sales_agent"), CUSTOMERS_NESTED)

    # Then Casbin is not consulted at all
    assert authorizer.evaluations == before


def _customer_edges(body: dict) -> list:
    data = body["data"]
    if "customers" in data:
        return data["customers"]["edges"]
    return [
        edge
        for workgroup in data["workgroups"]["edges"]
        for edge in workgroup["node"]["customers"]["edges"]
    ]


CUSTOMERS_WITH_AGREEMENTS = """
query($first: Int!) {
  customers(first: $first) { edges { node { id companyName
    agreements { id number packages { id kind serviceAmounts {
      id category purchased used available
      consumption(first: 3) { totalCount edges { node { date } } }
    } } }
    supportCases(first: 3) { totalCount edges { node { title } } }
    feed(first: 2) { totalCount edges { node { action actorEmail } } }
  } } }
}
"""


def add_agreements(session, workgroup, customers: int) -> None:
    """`customers` customers, each with an agreement, two packages and consumption."""
    import datetime as dt

    from models.agreements.operations import (
        add_agreement,
        add_package,
        add_service_amount,
        record_consumption,
        today_utc,
    )
    from models.core.enums import AmountKind, AmountUnit, PackageKind, ServiceCategory

    today = today_utc()
    for i in range(customers):
        customer = Customer(
            workgroup_id=workgroup.id, company_name=f"C{i:04d}", primary_domain=f"c{i}.example"
        )
        session.add(customer)
        session.flush()
        agreement = add_agreement(
            session=session,
            customer=customer,
            number=f"A{i}",
            name="Agreement",
            starts_on=today - dt.timedelta(days=100),
            ends_on=today + dt.timedelta(days=100),
        )
        for kind in (PackageKind.ENTERPRISE, PackageKind.ADD_ON):
            package = add_package(session=session, agreement=agreement, name=kind.value, kind=kind)
            amount = add_service_amount(
                session=session,
                package=package,
                category=ServiceCategory.ADVISORY,
                kind=AmountKind.CONSUMABLE,
                unit=AmountUnit.HOURS,
                purchased=10,
            )
            for day in range(4):
                record_consumption(
                    session=session,
                    service_amount=amount,
                    on=today - dt.timedelta(days=day),
                    quantity=1,
                )
    session.commit()


def test_nested_customer_dashboard_costs_the_same_for_3_and_30_customers(
    gql, engine, authorizer, session
):
    # Given an admin of a workgroup with 3 customers and another of one with 30, each customer
    # with an agreement, packages, service amounts and consumption
    small, large = make_workgroup(session, "Small"), make_workgroup(session, "Large")
    add_agreements(session, small, 3)
    add_agreements(session, large, 30)
    grant(session, "admin@small.example", "admin", small)
    grant(session, "admin@large.example", "admin", large)

    # When each asks for customers → agreements → packages → amounts → consumption, and cases
    small_cost = measure_with(gql, engine, authorizer, "admin@small.example")
    large_cost = measure_with(gql, engine, authorizer, "admin@large.example")

    # Then both cost the same statements and evaluations
    assert small_cost[:2] == large_cost[:2]
    edges = large_cost[2]["data"]["customers"]["edges"]
    assert len(edges) == 30
    amounts = edges[0]["node"]["agreements"][0]["packages"][0]["serviceAmounts"]
    assert amounts[0]["used"] == 4.0 and amounts[0]["available"] == 6.0
    assert amounts[0]["consumption"]["totalCount"] == 4
    assert len(amounts[0]["consumption"]["edges"]) == 3


def measure_with(gql, engine, authorizer, email):
    authorizer.clear_cache()
    before = authorizer.evaluations
    with counting_statements(engine) as statements:
        body = gql(email, CUSTOMERS_WITH_AGREEMENTS, {"first": 100})
    assert "errors" not in body, body.get("errors")
    return len(statements), authorizer.evaluations - before, body
