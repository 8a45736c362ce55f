"""Records (models.core.records) hold what the ORM rows hold: the same attribute names and values
for every column, and the same answers from the methods resolvers call."""

import pytest
from sqlalchemy import select
from sqlmodel import Session

from models.agreements.tables import (
    Agreement,
    AgreementRecord,
    Package,
    PackageRecord,
    ServiceAmount,
    ServiceAmountRecord,
)
from models.core.enums import ServiceCategory
from models.core.records import load_records
from models.customers.tables import Customer, CustomerRecord
from tests.activity_factories import agreement, amount, day, package
from tests.conftest import make_customer, make_workgroup

PAIRS = [
    (Customer, CustomerRecord),
    (Agreement, AgreementRecord),
    (Package, PackageRecord),
    (ServiceAmount, ServiceAmountRecord),
]


@pytest.fixture
def rows(session: Session) -> None:
    workgroup = make_workgroup(session, "Records")
    customer = make_customer(
        session, workgroup, index="rec", tags=["alpha"], domains=["rec-extra.example"]
    )
    current = agreement(session, customer, "R-1", starts=-10, ends=10)
    expired = agreement(session, customer, "R-2", starts=-30, ends=-1)
    core = package(session, current, "Core", expires=30)
    amount(session, core, ServiceCategory.ADVISORY, "12.50", description="Book an architect")
    package(session, expired, "Old", expires=-1)
    session.commit()


@pytest.mark.parametrize(("model", "record"), PAIRS, ids=[m.__name__ for m, _ in PAIRS])
def test_a_record_holds_every_column_of_its_row(session, rows, model, record):
    # when the same rows are loaded as ORM instances and as records
    query = select(model).order_by(model.id)
    instances = list(session.execute(query).scalars())
    records = load_records(session, query, record)

    # then each record has every column, by the same name, with the same value
    columns = [column.key for column in model.__table__.columns]
    assert records and len(records) == len(instances)
    for instance, loaded in zip(instances, records, strict=True):
        assert list(loaded._fields) == columns
        assert {name: getattr(instance, name) for name in columns} == loaded._asdict()


def test_agreement_records_know_when_they_are_active(session, rows):
    query = select(Agreement).order_by(Agreement.id)
    instances = list(session.execute(query).scalars())
    records = load_records(session, query, AgreementRecord)

    for today in (day(-20), day(0), day(10), day(11)):
        assert [r.is_active(today) for r in records] == [i.is_active(today) for i in instances]
    assert [r.is_active(day(0)) for r in records] == [True, False]
