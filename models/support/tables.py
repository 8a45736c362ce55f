"""Support cases, who they are shared with and which groups may see them: the tables."""

import datetime as dt

from sqlalchemy import (
    Column,
    Index,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from models.core.enums import CaseClassification, CaseStatus
from models.db import UTCDateTime, utcnow


class SupportCase(SQLModel, table=True):
    __tablename__ = "support_case"
    __table_args__ = (
        UniqueConstraint("workgroup_id", "number", name="uq_support_case_number"),
        Index("ix_support_case_workgroup_status", "workgroup_id", "status", "created_at"),
        Index("ix_support_case_workgroup_created", "workgroup_id", "created_at", "id"),
        Index("ix_support_case_primary_contact", "primary_contact_id", "workgroup_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workgroup_id: int = Field(foreign_key="workgroup.id")
    number: int
    title: str = Field(max_length=200)
    description: str | None = Field(default=None, sa_column=Column(Text))
    status: str = Field(default=CaseStatus.OPEN.value, max_length=16)
    severity: str = Field(max_length=16)
    classification: str = Field(default=CaseClassification.STANDARD.value, max_length=16)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    agreement_id: int | None = Field(default=None, foreign_key="agreement.id", index=True)
    package_id: int | None = Field(default=None, foreign_key="package.id")
    service_amount_id: int | None = Field(default=None, foreign_key="service_amount.id")
    primary_contact_id: int = Field(foreign_key="app_user.id")
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    closed_at: dt.datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class CaseShare(SQLModel, table=True):
    __tablename__ = "case_share"
    __table_args__ = (Index("ix_case_share_user_case", "user_id", "case_id"),)

    case_id: int = Field(foreign_key="support_case.id", primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    workgroup_id: int = Field(foreign_key="workgroup.id", index=True)


class CaseGroupAccess(SQLModel, table=True):
    __tablename__ = "case_group_access"
    __table_args__ = (Index("ix_case_group_access_group_case", "group_id", "case_id"),)

    case_id: int = Field(foreign_key="support_case.id", primary_key=True)
    group_id: int = Field(foreign_key="user_group.id", primary_key=True)
    workgroup_id: int = Field(foreign_key="workgroup.id", index=True)
