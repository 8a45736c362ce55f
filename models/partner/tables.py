"""The tables of the provider's day-to-day work on a customer: contacts, orders and their
lines, contracts with their service level, projects and the customers that belong to them."""

import datetime as dt
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Index,
    Numeric,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from models.db import UTCDateTime, utcnow


class Contact(SQLModel, table=True):
    """A person at a customer; may exist without a customer and be moved to one later."""

    __table_args__ = (
        Index(
            "uq_contact_main_per_customer",
            "customer_id",
            unique=True,
            sqlite_where=text("is_main"),
            postgresql_where=text("is_main"),
        ),
        # One contact per e-mail address at a customer, also between concurrent transactions.
        Index(
            "uq_contact_email_per_customer",
            "customer_id",
            text("lower(email)"),
            unique=True,
            sqlite_where=text("customer_id IS NOT NULL"),
            postgresql_where=text("customer_id IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    workgroup_id: int = Field(foreign_key="workgroup.id", index=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    email: str = Field(max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    job_title: str | None = Field(default=None, max_length=100)
    is_main: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


MONEY = Numeric(12, 2)
LINES_MAX = 100
QUANTITY_MAX = 1_000_000


class CustomerOrder(SQLModel, table=True):
    __tablename__ = "customer_order"

    id: int | None = Field(default=None, primary_key=True)
    workgroup_id: int = Field(foreign_key="workgroup.id")
    customer_id: int = Field(foreign_key="customer.id", index=True)
    catalog: str = Field(max_length=32)
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    created_by: int | None = Field(default=None, foreign_key="app_user.id")


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_line"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="customer_order.id", index=True)
    workgroup_id: int = Field(foreign_key="workgroup.id", index=True)
    product: str = Field(max_length=200)
    quantity: int


class Contract(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    workgroup_id: int = Field(foreign_key="workgroup.id")
    customer_id: int = Field(foreign_key="customer.id", index=True)
    name: str = Field(max_length=200)
    type: str = Field(max_length=32)
    rate: Decimal | None = Field(default=None, sa_column=Column(MONEY))
    amount: Decimal | None = Field(default=None, sa_column=Column(MONEY))
    starts_on: dt.date | None = Field(default=None, sa_column=Column(Date))
    ends_on: dt.date | None = Field(default=None, sa_column=Column(Date))


class ServiceLevel(SQLModel, table=True):
    """A customer's SLA targets and alert-threshold profile; one per customer."""

    __tablename__ = "service_level"

    customer_id: int = Field(foreign_key="customer.id", primary_key=True)
    workgroup_id: int = Field(foreign_key="workgroup.id")
    first_response_minutes: int
    resolution_minutes: int
    alert_profile: str = Field(max_length=100)


class Project(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("workgroup_id", "name", name="uq_project_name"),
        # Names are unique case-insensitively, also between concurrent transactions.
        Index("uq_project_name_key", "workgroup_id", text("lower(name)"), unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    workgroup_id: int = Field(foreign_key="workgroup.id")
    name: str = Field(max_length=200)


class ProjectMember(SQLModel, table=True):
    __tablename__ = "project_member"

    project_id: int = Field(foreign_key="project.id", primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", primary_key=True, index=True)
    workgroup_id: int = Field(foreign_key="workgroup.id", index=True)
