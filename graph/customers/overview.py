"""`Customer.overview`: a customer at a glance. Every number is one grouped statement for all
the customers a list announced, whatever their number.

The overview is part of its customer: its fields are decided in the customer's workgroup like
the customer's own (policies/rows.py PART_OF_ROW), so a viewer with different roles in two
workgroups sees each customer's numbers by their roles there.
"""

import datetime as dt

import strawberry
from strawberry.types import Info

from graph.agreements.types import AmountUnit, PackageKind, PackageStatus, ServiceCategory
from graph.errors import BadUserInput
from graph.ids import encode_id
from graph.loaders import BatchLoader
from models.agreements.operations import today_utc
from models.customers import overview as domain


class OverviewLoaders:
    def __init__(self, context):
        session = context.session
        self.today = today_utc()
        self.contacts = BatchLoader(
            lambda ids: domain.contact_counts(session=session, customer_ids=ids), int
        )
        self.open_cases = BatchLoader(
            lambda ids: domain.open_case_counts(session=session, customer_ids=ids),
            int,
        )
        self.active_agreements = BatchLoader(
            lambda ids: domain.active_agreement_counts(
                session=session,
                customer_ids=ids,
                today=self.today,
            ),
            int,
        )
        self.services = BatchLoader(
            lambda ids: domain.service_usage(
                session=session,
                customer_ids=ids,
            ),
            list,
        )
        self.packages = BatchLoader(
            lambda ids: domain.package_lines(
                session=session,
                customer_ids=ids,
            ),
            list,
        )
        for loader in (
            self.contacts,
            self.open_cases,
            self.active_agreements,
            self.services,
            self.packages,
        ):
            context.loaders.listen("Customer", loader.want)


def overview_loaders(context) -> OverviewLoaders:
    return context.loaders.family("overview", lambda: OverviewLoaders(context))


@strawberry.type(
    description="Consumption of one service category (in one unit), summed over the "
    "customer's agreements the viewer may see."
)
class ServiceUsage:
    category: ServiceCategory
    unit: AmountUnit | None
    used: float


@strawberry.type(description="One package of the customer's agreements, with its status.")
class PackageSummary:
    package_id: strawberry.ID = strawberry.field(description="The package's global id.")
    name: str
    agreement_number: str
    kind: PackageKind
    status: PackageStatus
    starts_on: dt.date
    expires_on: dt.date


@strawberry.type(
    description="A customer at a glance. Counts and sums include only the rows the viewer may "
    "see in the corresponding lists."
)
class CustomerOverview:
    customer_id: strawberry.Private[int]
    workgroup_id: strawberry.Private[int]  # the workgroup its fields are decided in

    @strawberry.field(description="How many contacts the customer has.")
    def contact_count(self, info: Info) -> int | None:
        return overview_loaders(info.context).contacts.get(self.customer_id)

    @strawberry.field(description="The customer's OPEN support cases that the viewer may see.")
    def open_case_count(self, info: Info) -> int:
        return overview_loaders(info.context).open_cases.get(self.customer_id)

    @strawberry.field(description="The customer's agreements active today (UTC).")
    def active_agreement_count(self, info: Info) -> int | None:
        return overview_loaders(info.context).active_agreements.get(self.customer_id)

    @strawberry.field(
        description="The most-used services: consumption per category and unit over all the "
        "customer's agreements (active or not), most used first."
    )
    def top_services(self, info: Info, first: int = 5) -> list[ServiceUsage] | None:
        if first < 0:
            raise BadUserInput("`first` must not be negative.", argument="first")
        return overview_loaders(info.context).services.get(self.customer_id)[:first]  # type: ignore[return-value]

    @strawberry.field(description="Every package of the customer's agreements, by expiry.")
    def packages(self, info: Info) -> list[PackageSummary] | None:
        return [
            PackageSummary(
                package_id=strawberry.ID(encode_id("Package", line.package.id)),  # type: ignore[arg-type]
                name=line.package.name,
                agreement_number=line.agreement_number,
                kind=line.package.kind,  # type: ignore[arg-type]
                status=line.package.status,  # type: ignore[arg-type]
                starts_on=line.package.starts_on,
                expires_on=line.package.expires_on,
            )
            for line in overview_loaders(info.context).packages.get(self.customer_id)
        ]
