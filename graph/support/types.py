"""Support cases, the users they involve, and groups."""

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from graph.core.types import Node
from graph.ids import encode_id
from graph.support.loaders import support_loaders
from models.accounts.tables import User as UserRow
from models.accounts.tables import UserGroup as GroupRow
from models.core import enums
from models.support.tables import SupportCase as SupportCaseRow

if TYPE_CHECKING:
    from graph.agreements.types import Agreement
    from graph.customers.types import Customer

CaseStatus = strawberry.enum(enums.CaseStatus, name="CaseStatus")
CaseSeverity = strawberry.enum(enums.CaseSeverity, name="CaseSeverity")
CaseClassification = strawberry.enum(enums.CaseClassification, name="CaseClassification")
AdditionalCaseReason = strawberry.enum(
    enums.AdditionalCaseReason,
    name="AdditionalCaseReason",
    description="Why a case does not count against a current agreement.",
)


@strawberry.type(description="A person who signs in.")
class User(Node):
    email: str

    @strawberry.field
    def id(self, root: UserRow) -> strawberry.ID:
        return strawberry.ID(encode_id("User", root.id))  # type: ignore[arg-type]

    @classmethod
    def is_type_of(cls, obj, _info) -> bool:
        return isinstance(obj, (cls, UserRow))


@strawberry.type(description='A named set of users in a workgroup, e.g. "Tier 2".')
class Group(Node):
    name: str

    @strawberry.field
    def id(self, root: GroupRow) -> strawberry.ID:
        return strawberry.ID(encode_id("Group", root.id))  # type: ignore[arg-type]

    @strawberry.field
    def members(self, root: GroupRow, info: Info) -> list[User] | None:
        return support_loaders(info.context).members.get(root.id)

    @classmethod
    def is_type_of(cls, obj, _info) -> bool:
        return isinstance(obj, (cls, GroupRow))


@strawberry.type(description="A support request.")
class SupportCase(Node):
    number: int = strawberry.field(description="Unique within the case's workgroup.")
    title: str
    description: str | None
    status: CaseStatus
    severity: CaseSeverity
    classification: CaseClassification
    created_at: dt.datetime
    closed_at: dt.datetime | None

    @strawberry.field
    def id(self, root: SupportCaseRow) -> strawberry.ID:
        return strawberry.ID(encode_id("SupportCase", root.id))  # type: ignore[arg-type]

    @strawberry.field(description="Null when there is none or the viewer may not see it.")
    def customer(
        self, root: SupportCaseRow, info: Info
    ) -> Annotated["Customer", strawberry.lazy("graph.customers.types")] | None:
        if root.customer_id is None:
            return None
        return support_loaders(info.context).customers.get(root.customer_id)

    @strawberry.field(description="Null when there is none or the viewer may not see it.")
    def agreement(
        self, root: SupportCaseRow, info: Info
    ) -> Annotated["Agreement", strawberry.lazy("graph.agreements.types")] | None:
        if root.agreement_id is None:
            return None
        return support_loaders(info.context).agreements.get(root.agreement_id)

    @strawberry.field
    def primary_contact(self, root: SupportCaseRow, info: Info) -> User:
        return info.context.loaders.users.get(root.primary_contact_id)

    @strawberry.field
    def shared_with(self, root: SupportCaseRow, info: Info) -> list[User] | None:
        return support_loaders(info.context).shared_with.get(root.id)

    @strawberry.field
    def groups_with_access(self, root: SupportCaseRow, info: Info) -> list[Group] | None:
        return support_loaders(info.context).groups.get(root.id)

    @classmethod
    def is_type_of(cls, obj, _info) -> bool:
        return isinstance(obj, (cls, SupportCaseRow))


@strawberry.type(description="A case that does not count against a current agreement, and why.")
class AdditionalCase:
    case: SupportCase
    reason: AdditionalCaseReason
