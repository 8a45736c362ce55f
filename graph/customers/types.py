"""The Customer type. Its source objects are the table rows themselves, so plain fields
resolve by attribute with no resolver of ours in the way."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from graph.core.types import Node
from graph.ids import encode_id
from graph.pagination import Connection, Page, connection
from models.core import enums
from models.customers.operations import CustomerSort as CustomerSortValues
from models.customers.tables import Customer as CustomerRow
from models.customers.tables import CustomerRecord

if TYPE_CHECKING:
    from graph.agreements.types import Agreement
    from graph.audit.types import ActivityRecord
    from graph.customers.overview import CustomerOverview
    from graph.partner.types import Contact, Contract, Order, Project, ServiceLevel
    from graph.support.types import CaseStatus, SupportCase
    from graph.workgroups.types import Workgroup

CustomerStatus = strawberry.enum(enums.CustomerStatus, name="CustomerStatus")
Industry = strawberry.enum(enums.Industry, name="Industry")
CompanySize = strawberry.enum(
    enums.CompanySize, name="CompanySize", description="Rough number of employees."
)
RenewalPolicy = strawberry.enum(enums.RenewalPolicy, name="RenewalPolicy")
Relationship = strawberry.enum(enums.Relationship, name="Relationship")
CustomerSort = strawberry.enum(CustomerSortValues, name="CustomerSort")


@strawberry.type(description="A company the provider serves. Customers are never deleted.")
class Customer(Node):
    company_name: str
    status: CustomerStatus
    primary_domain: str | None = strawberry.field(
        description='The primary e-mail domain, without "@".'
    )
    domains: list[str] | None = strawberry.field(description="Extra e-mail domains.")
    primary_location: str | None = strawberry.field(
        description="Country, as an ISO 3166-1 alpha-2 code."
    )
    city: str | None
    state: str | None
    address: str | None
    postal_code: str | None
    phone: str | None
    fax: str | None
    industry: Industry | None
    company_size: CompanySize | None
    rank: int | None = strawberry.field(description="Internal ranking; has no effect.")
    business_id: str | None = strawberry.field(description="Business or tax id.")
    renewal_policy: RenewalPolicy | None
    relationship: Relationship | None
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    version: int = strawberry.field(
        description="Changes with every update; pass it as `expectedVersion` to avoid lost updates."
    )

    @strawberry.field
    def id(self, root: CustomerRow) -> strawberry.ID:
        return strawberry.ID(encode_id("Customer", root.id))  # type: ignore[arg-type]

    @strawberry.field
    def tags(self, root: CustomerRow, info: Info) -> list[str] | None:
        return info.context.loaders.customer_tags.get(root.id)

    @strawberry.field
    def workgroup(
        self, root: CustomerRow, info: Info
    ) -> Annotated["Workgroup", strawberry.lazy("graph.workgroups.types")]:
        return info.context.loaders.workgroups.get(root.workgroup_id)

    @strawberry.field(description="The customer's support agreements, latest ending first.")
    def agreements(
        self, root: CustomerRow, info: Info, active: bool | None = None
    ) -> list[Annotated["Agreement", strawberry.lazy("graph.agreements.types")]] | None:
        from graph.agreements.queries import agreements_of_customer

        return agreements_of_customer(info, root.id, active)  # type: ignore[arg-type]

    @strawberry.field(description="This customer's activity records, newest first.")
    def feed(
        self, root: CustomerRow, info: Info, first: int = 20, after: str | None = None
    ) -> Connection[Annotated["ActivityRecord", strawberry.lazy("graph.audit.types")]] | None:
        from graph.audit.queries import customer_feed

        return customer_feed(info, root.id, first, after)  # type: ignore[arg-type]

    @strawberry.field(
        description="Whether e-mailed tickets are accepted only from the main contact."
    )
    def accept_tickets_from_main_contact_only(self, root: CustomerRow) -> bool | None:
        return root.accept_tickets_from_main_contact_only

    @strawberry.field
    def contacts(
        self, root: CustomerRow, info: Info
    ) -> list[Annotated["Contact", strawberry.lazy("graph.partner.types")]] | None:
        from graph.partner.types import partner_loaders

        return partner_loaders(info.context).contacts.get(root.id)

    @strawberry.field
    def main_contact(
        self, root: CustomerRow, info: Info
    ) -> Annotated["Contact", strawberry.lazy("graph.partner.types")] | None:
        from graph.partner.types import partner_loaders

        return next(
            (c for c in partner_loaders(info.context).contacts.get(root.id) if c.is_main), None
        )

    @strawberry.field(description="Orders, newest first.")
    def orders(
        self, root: CustomerRow, info: Info
    ) -> list[Annotated["Order", strawberry.lazy("graph.partner.types")]] | None:
        from graph.partner.types import partner_loaders

        return partner_loaders(info.context).orders.get(root.id)

    @strawberry.field
    def contracts(
        self, root: CustomerRow, info: Info
    ) -> list[Annotated["Contract", strawberry.lazy("graph.partner.types")]] | None:
        from graph.partner.types import partner_loaders

        return partner_loaders(info.context).contracts.get(root.id)

    @strawberry.field
    def service_level(
        self, root: CustomerRow, info: Info
    ) -> Annotated["ServiceLevel", strawberry.lazy("graph.partner.types")] | None:
        from graph.partner.types import partner_loaders

        return partner_loaders(info.context).service_levels.get(root.id)

    @strawberry.field(description="Projects this customer is a member of.")
    def projects(
        self, root: CustomerRow, info: Info
    ) -> list[Annotated["Project", strawberry.lazy("graph.partner.types")]] | None:
        from graph.partner.types import partner_loaders

        return [project for _, project in partner_loaders(info.context).projects.get(root.id)]

    @strawberry.field(description="This customer's support cases the viewer may see.")
    def support_cases(
        self,
        root: CustomerRow,
        info: Info,
        status: Annotated["CaseStatus", strawberry.lazy("graph.support.types")] | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[Annotated["SupportCase", strawberry.lazy("graph.support.types")]]:
        from graph.support.loaders import support_loaders

        page = Page.from_args(first, after, info.context.settings.max_page_size)
        rows, total = support_loaders(info.context).cases_by_customer.get(
            root.id, status, page.offset, page.limit + 1
        )
        return connection(rows, page, lambda: total)

    @strawberry.field(
        description="The customer at a glance: counts of contacts, open cases and active "
        "agreements, the most-used services and the packages."
    )
    def overview(
        self, root: CustomerRow
    ) -> Annotated["CustomerOverview", strawberry.lazy("graph.customers.overview")]:
        from graph.customers.overview import CustomerOverview

        return CustomerOverview(customer_id=root.id, workgroup_id=root.workgroup_id)  # type: ignore[return-value, arg-type]

    @classmethod
    def is_type_of(cls, obj, _info) -> bool:
        return isinstance(obj, (cls, CustomerRow, CustomerRecord))
