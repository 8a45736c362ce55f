"""Support agreements, their packages and service amounts, and the consumption recorded
against them: the tables."""

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    Column,
    Date,
    Index,
    Numeric,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from models.core.records import record_of

QUANTITY = Numeric(12, 2)


def active_on(agreement, today: dt.date) -> bool:
    """Active from its first through its last day (UTC), both included."""
    return agreement.starts_on <= today <= agreement.ends_on


class Agreement(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("workgroup_id", "number", name="uq_agreement_number"),
        Index("ix_agreement_workgroup_dates", "workgroup_id", "ends_on", "starts_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workgroup_id: int = Field(foreign_key="workgroup.id")
    customer_id: int = Field(foreign_key="customer.id", index=True)
    number: str = Field(max_length=50)
    name: str = Field(max_length=200)
    starts_on: dt.date = Field(sa_column=Column(Date, nullable=False))
    ends_on: dt.date = Field(sa_column=Column(Date, nullable=False))

    def is_active(self, today: dt.date) -> bool:
        return active_on(self, today)


class Package(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    workgroup_id: int = Field(foreign_key="workgroup.id", index=True)
    agreement_id: int = Field(foreign_key="agreement.id", index=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=16)
    status: str = Field(max_length=16)
    starts_on: dt.date = Field(sa_column=Column(Date, nullable=False))
    expires_on: dt.date = Field(sa_column=Column(Date, nullable=False))


class ServiceAmount(SQLModel, table=True):
    __tablename__ = "service_amount"
    __table_args__ = (Index("ix_service_amount_workgroup_category", "workgroup_id", "category"),)

    id: int | None = Field(default=None, primary_key=True)
    workgroup_id: int = Field(foreign_key="workgroup.id")
    package_id: int = Field(foreign_key="package.id", index=True)
    category: str = Field(max_length=40)
    kind: str = Field(max_length=16)
    unit: str | None = Field(default=None, max_length=16)
    purchased: Decimal | None = Field(default=None, sa_column=Column(QUANTITY))
    description: str | None = Field(default=None, max_length=1000)
    action_url: str | None = Field(default=None, max_length=500)


class ConsumptionRecord(SQLModel, table=True):
    __tablename__ = "consumption_record"
    __table_args__ = (Index("ix_consumption_amount_date", "service_amount_id", "date"),)

    id: int | None = Field(default=None, primary_key=True)
    workgroup_id: int = Field(foreign_key="workgroup.id", index=True)
    service_amount_id: int = Field(foreign_key="service_amount.id")
    date: dt.date = Field(sa_column=Column(Date, nullable=False))
    quantity: Decimal = Field(sa_column=Column(QUANTITY, nullable=False))
    hours_worked: Decimal | None = Field(default=None, sa_column=Column(QUANTITY))
    description: str | None = Field(default=None, max_length=1000)
    case_id: int | None = Field(default=None, foreign_key="support_case.id", index=True)


# Agreements and what they hold, as listed under customer pages (models.core.records).


class AgreementRecord(record_of(Agreement, "AgreementRecord")):  # type: ignore[misc]
    __slots__ = ()

    def is_active(self, today: dt.date) -> bool:
        return active_on(self, today)


class PackageRecord(record_of(Package, "PackageRecord")):  # type: ignore[misc]
    __slots__ = ()


class ServiceAmountRecord(record_of(ServiceAmount, "ServiceAmountRecord")):  # type: ignore[misc]
    __slots__ = ()
