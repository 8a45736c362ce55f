"""The customer tables: customers, their tags and the links between them, with the limits
their columns keep."""

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Index,
    String,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from models.core.enums import CustomerStatus
from models.core.records import record_of
from models.db import UTCDateTime, utcnow

TEXT_LIMITS = {
    "company_name": 200,
    "city": 100,
    "state": 100,
    "address": 500,
    "postal_code": 20,
    "phone": 40,
    "fax": 40,
    "business_id": 64,
}
TAG_MAX = 50
TAGS_PER_CUSTOMER_MAX = 50
DOMAINS_PER_CUSTOMER_MAX = 20
RANK_RANGE = (0, 9999)


class Customer(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("workgroup_id", "primary_domain", name="uq_customer_primary_domain"),
        Index("ix_customer_workgroup_status_name", "workgroup_id", "status", "company_name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workgroup_id: int = Field(foreign_key="workgroup.id")
    company_name: str = Field(max_length=200)
    primary_domain: str = Field(max_length=253)
    domains: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    primary_location: str | None = Field(default=None, max_length=2)
    city: str | None = Field(default=None, max_length=100)
    state: str | None = Field(default=None, max_length=100)
    address: str | None = Field(default=None, max_length=500)
    postal_code: str | None = Field(default=None, max_length=20)
    phone: str | None = Field(default=None, max_length=40)
    fax: str | None = Field(default=None, max_length=40)
    industry: str | None = Field(default=None, max_length=40)
    company_size: str | None = Field(default=None, max_length=40)
    rank: int | None = None
    business_id: str | None = Field(default=None, max_length=64)
    renewal_policy: str | None = Field(default=None, max_length=40)
    relationship: str | None = Field(default=None, max_length=40)
    status: str = Field(default=CustomerStatus.ACTIVE.value, max_length=16)
    accept_tickets_from_main_contact_only: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default="0")
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    archived_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    version: int = Field(default=1)


class CustomerRecord(record_of(Customer, "CustomerRecord")):  # type: ignore[misc]
    """A customer as listed in pages of customers (models.core.records)."""

    __slots__ = ()


class Tag(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("workgroup_id", "name_key", name="uq_tag_name"),)

    id: int | None = Field(default=None, primary_key=True)
    workgroup_id: int = Field(foreign_key="workgroup.id")
    name: str = Field(max_length=TAG_MAX)
    name_key: str = Field(sa_column=Column(String(TAG_MAX), nullable=False))


class CustomerTag(SQLModel, table=True):
    __tablename__ = "customer_tag"

    customer_id: int = Field(foreign_key="customer.id", primary_key=True)
    tag_id: int = Field(foreign_key="tag.id", primary_key=True, index=True)
    workgroup_id: int = Field(foreign_key="workgroup.id", index=True)
