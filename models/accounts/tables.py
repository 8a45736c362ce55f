"""Workgroups, users, the roles users hold in workgroups, and user groups: the tables."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.core.enums import Role
from models.db import UTCDateTime, utcnow

WORKGROUP_NAME_MAX = 100
EMAIL_MAX = 254


class Workgroup(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=WORKGROUP_NAME_MAX, unique=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )

    @property
    def workgroup_id(self) -> int | None:
        """A workgroup is its own permission domain."""
        return self.id


class User(SQLModel, table=True):
    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=EMAIL_MAX, unique=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class RoleAssignment(SQLModel, table=True):
    """A role held by a user in a workgroup; no workgroup means in every workgroup."""

    __tablename__ = "role_assignment"
    __table_args__ = (
        UniqueConstraint("user_id", "workgroup_id", "role", name="uq_role_assignment"),
        Index("ix_role_assignment_workgroup", "workgroup_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    workgroup_id: int | None = Field(default=None, foreign_key="workgroup.id")
    role: str = Field(max_length=32)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class UserGroup(SQLModel, table=True):
    """A named set of users inside a workgroup (e.g. "Tier 2")."""

    __tablename__ = "user_group"
    __table_args__ = (UniqueConstraint("workgroup_id", "name", name="uq_user_group_name"),)

    id: int | None = Field(default=None, primary_key=True)
    workgroup_id: int = Field(foreign_key="workgroup.id")
    name: str = Field(max_length=100)


class GroupMember(SQLModel, table=True):
    __tablename__ = "group_member"
    __table_args__ = (Index("ix_group_member_user", "user_id", "group_id"),)

    group_id: int = Field(foreign_key="user_group.id", primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    workgroup_id: int = Field(foreign_key="workgroup.id", index=True)


@dataclass(frozen=True, slots=True)
class HeldRole:
    role: Role
    workgroup_id: int | None
