"""Agreements, packages, service amounts and consumption. Sources are table rows."""

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from graph.agreements.loaders import agreement_loaders
from graph.core.types import Node
from graph.errors import BadUserInput
from graph.ids import encode_id
from graph.pagination import Connection, Page, connection
from models.agreements.tables import Agreement as AgreementRow
from models.agreements.tables import AgreementRecord, PackageRecord, ServiceAmountRecord
from models.agreements.tables import ConsumptionRecord as ConsumptionRecordRow
from models.agreements.tables import Package as PackageRow
from models.agreements.tables import ServiceAmount as ServiceAmountRow
from models.core import enums

if TYPE_CHECKING:
    from graph.customers.types import Customer
    from graph.support.types import SupportCase
    from graph.workgroups.types import Workgroup

PackageKind = strawberry.enum(enums.PackageKind, name="PackageKind")
PackageStatus = strawberry.enum(enums.PackageStatus, name="PackageStatus")
ServiceCategory = strawberry.enum(enums.ServiceCategory, name="ServiceCategory")
AmountKind = strawberry.enum(
    enums.AmountKind,
    name="AmountKind",
    description="CONSUMABLE lines are tracked (purchased, used, available); BENEFIT lines are not.",
)
AmountUnit = strawberry.enum(enums.AmountUnit, name="AmountUnit")


def check_date_range(date_from: dt.date | None, date_to: dt.date | None) -> None:
    if date_from is not None and date_to is not None and date_from > date_to:
        raise BadUserInput("`from` must not be after `to`.", argument="from")


@strawberry.type(description="One use of a service amount.")
class ConsumptionRecord(Node):
    date: dt.date
    quantity: float
    hours_worked: float | None
    description: str | None

    @strawberry.field
    def id(self, root: ConsumptionRecordRow) -> strawberry.ID:
        return strawberry.ID(encode_id("ConsumptionRecord", root.id))  # type: ignore[arg-type]

    @strawberry.field(
        description="The support case it was recorded for; null when there is none or the "
        "viewer may not see it."
    )
    def support_case(
        self, root: ConsumptionRecordRow, info: Info
    ) -> Annotated["SupportCase", strawberry.lazy("graph.support.types")] | None:
        if root.case_id is None:
            return None
        return agreement_loaders(info.context).cases.get(root.case_id)

    @classmethod
    def is_type_of(cls, obj, _info) -> bool:
        return isinstance(obj, (cls, ConsumptionRecordRow))


def _consumable(root: ServiceAmountRow) -> bool:
    return root.kind == enums.AmountKind.CONSUMABLE.value


@strawberry.type(description="One line of a package, in a category.")
class ServiceAmount(Node):
    category: ServiceCategory
    kind: AmountKind
    unit: AmountUnit | None
    description: str | None
    action_url: str | None

    @strawberry.field
    def id(self, root: ServiceAmountRow) -> strawberry.ID:
        return strawberry.ID(encode_id("ServiceAmount", root.id))  # type: ignore[arg-type]

    @strawberry.field(description="Null for BENEFIT lines.")
    def purchased(self, root: ServiceAmountRow) -> float | None:
        return root.purchased if _consumable(root) else None  # type: ignore[return-value]

    @strawberry.field(description="The sum of the consumption records. Null for BENEFIT lines.")
    def used(self, root: ServiceAmountRow, info: Info) -> float | None:
        if not _consumable(root):
            return None
        return agreement_loaders(info.context).used.get(root.id)  # type: ignore[return-value]

    @strawberry.field(description="Purchased minus used. Null for BENEFIT lines.")
    def available(self, root: ServiceAmountRow, info: Info) -> float | None:
        if not _consumable(root):
            return None
        used = agreement_loaders(info.context).used.get(root.id)
        return (root.purchased or Decimal(0)) - used  # type: ignore[return-value]

    @strawberry.field(description="Consumption records, newest first.")
    def consumption(
        self,
        root: ServiceAmountRow,
        info: Info,
        first: int = 50,
        after: str | None = None,
        from_: Annotated[dt.date | None, strawberry.argument(name="from")] = None,
        to: dt.date | None = None,
    ) -> Connection[ConsumptionRecord]:
        check_date_range(from_, to)
        page = Page.from_args(first, after, info.context.settings.max_page_size)
        rows, total = agreement_loaders(info.context).consumption.get(
            root.id, page.offset, page.limit + 1, from_, to
        )
        return connection(rows, page, lambda: total)

    @classmethod
    def is_type_of(cls, obj, _info) -> bool:
        return isinstance(obj, (cls, ServiceAmountRow, ServiceAmountRecord))


@strawberry.type(description="A bundle of services in an agreement.")
class Package(Node):
    name: str
    kind: PackageKind
    status: PackageStatus
    starts_on: dt.date
    expires_on: dt.date

    @strawberry.field
    def id(self, root: PackageRow) -> strawberry.ID:
        return strawberry.ID(encode_id("Package", root.id))  # type: ignore[arg-type]

    @strawberry.field(
        description="Days from today (UTC) to the expiry date; negative once expired."
    )
    def days_to_expiry(self, root: PackageRow, info: Info) -> int:
        return (root.expires_on - agreement_loaders(info.context).today).days

    @strawberry.field
    def service_amounts(self, root: PackageRow, info: Info) -> list[ServiceAmount]:
        return agreement_loaders(info.context).service_amounts.get(root.id)

    @classmethod
    def is_type_of(cls, obj, _info) -> bool:
        return isinstance(obj, (cls, PackageRow, PackageRecord))


@strawberry.type(description="A support agreement with a customer.")
class Agreement(Node):
    number: str
    name: str
    starts_on: dt.date
    ends_on: dt.date

    @strawberry.field
    def id(self, root: AgreementRow) -> strawberry.ID:
        return strawberry.ID(encode_id("Agreement", root.id))  # type: ignore[arg-type]

    @strawberry.field(description="Whether today (UTC) is within its dates, both included.")
    def is_active(self, root: AgreementRow, info: Info) -> bool:
        return root.is_active(agreement_loaders(info.context).today)

    @strawberry.field
    def customer(
        self, root: AgreementRow, info: Info
    ) -> Annotated["Customer", strawberry.lazy("graph.customers.types")] | None:
        return agreement_loaders(info.context).customers.get(root.customer_id)

    @strawberry.field
    def workgroup(
        self, root: AgreementRow, info: Info
    ) -> Annotated["Workgroup", strawberry.lazy("graph.workgroups.types")]:
        return info.context.loaders.workgroups.get(root.workgroup_id)

    @strawberry.field
    def packages(
        self,
        root: AgreementRow,
        info: Info,
        kind: PackageKind | None = None,
        status: PackageStatus | None = None,
    ) -> list[Package]:
        return agreement_loaders(info.context).packages.get(root.id, kind, status)

    @classmethod
    def is_type_of(cls, obj, _info) -> bool:
        return isinstance(obj, (cls, AgreementRow, AgreementRecord))
