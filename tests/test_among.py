"""`among(column, values)`: the rows `column IN values` selects, for any number of values,
with one statement text whatever their number (so one cache entry, one server-side plan)."""

import pytest
from sqlalchemy import select
from sqlmodel import SQLModel

from engine.among import among
from models.accounts.tables import Workgroup
from models.customers.tables import Customer
from models.db import make_engine
from tests.conftest import make_customer, make_workgroup


@pytest.fixture
def customers(session) -> list[Customer]:
    workgroup = make_workgroup(session, "Among")
    return [make_customer(session, workgroup, index=f"among{i}") for i in range(5)]


def ids_of(session, condition) -> list[int]:
    return list(
        session.execute(select(Customer.id).where(condition).order_by(Customer.id)).scalars()
    )


@pytest.mark.parametrize("pick", [[], [0], [1, 3], [0, 1, 2, 3, 4]])
def test_selects_what_in_selects(session, customers, pick):
    # given some of the customers' ids, and ids of no row
    wanted = [customers[i].id for i in pick] + [10**6, 10**6 + 1]

    # when selecting with among, and with IN
    found = ids_of(session, among(Customer.id, wanted))

    # then both find the same rows
    assert found == ids_of(session, Customer.id.in_(wanted))
    assert found == sorted(customers[i].id for i in pick)


def test_thousands_of_values_and_text_columns(session, customers):
    # given 5,000 ids (more than SQLite's old limit of 999 parameters) and some domains
    many = [*range(10**6, 10**6 + 5000), customers[2].id]
    domains = [customers[4].primary_domain, "nowhere.example"]

    # then among finds exactly the customers named
    assert ids_of(session, among(Customer.id, many)) == [customers[2].id]
    assert ids_of(session, among(Customer.primary_domain, domains)) == [customers[4].id]


def test_the_statement_text_does_not_depend_on_the_number_of_values(engine):
    def text(values: list[int]) -> str:
        return str(select(Customer.id).where(among(Customer.id, values)).compile(engine))

    assert text([1]) == text(list(range(3000)))
    assert text([1]) != str(
        select(Customer.id).where(Customer.id.in_(list(range(3)))).compile(engine)
    )


def test_on_sqlite_the_condition_is_served_by_an_index(tmp_path):
    # given an indexed column in a SQLite database (no native booleans: a condition compared
    # with 1, as SQLAlchemy does for boolean expressions it does not know, defeats the index)
    engine = make_engine(f"sqlite:///{tmp_path}/among.db")
    SQLModel.metadata.create_all(engine, tables=[Customer.__table__, Workgroup.__table__])

    # when the plan for an among condition on it is asked for
    statement = select(Customer.id).where(among(Customer.workgroup_id, [1, 2]))
    sql = str(statement.compile(engine))
    with engine.connect() as connection:
        plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", ("[1, 2]",)).all()

    # then the rows are searched through the index, not scanned
    assert sql.rstrip().endswith("IN (SELECT value FROM json_each(?))")
    steps = [step[-1] for step in plan]
    assert any(step.startswith("SEARCH customer USING") for step in steps), steps
    assert not any(step.startswith("SCAN customer") for step in steps), steps
