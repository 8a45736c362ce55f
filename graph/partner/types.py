"""Contacts, orders, contracts, service levels and projects of a customer."""

import datetime as dt

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from engine.among import among
from graph.ids import encode_id
from graph.loaders import BatchLoader
from models.core import enums
from models.mail.outbox import OutboxMessage
from models.partner import operations as domain_operations
from models.partner import tables as domain
from models.partner.invitations import InvitationStatus as InvitationStatusValues
from models.partner.invitations import invitation_status, invitations_by_contact
from models.partner.tables import Contact as ContactRow

Catalog = strawberry.enum(enums.Catalog, name="Catalog")
ContractType = strawberry.enum(enums.ContractType, name="ContractType")
InvitationStatus = strawberry.enum(
    InvitationStatusValues,
    name="InvitationStatus",
    description="QUEUED until delivered (SENT); FAILED when delivery was given up.",
)


@strawberry.type(description="An invitation e-mailed to a contact, queued until it is delivered.")
class Invitation:
    recipient: str
    created_at: dt.datetime
    sent_at: dt.datetime | None
    attempts: int = strawberry.field(description="Delivery attempts so far.")
    last_error: str | None = strawberry.field(description="Why the last attempt failed.")

    @strawberry.field
    def id(self, root: OutboxMessage) -> strawberry.ID:
        return strawberry.ID(encode_id("Invitation", root.id))  # type: ignore[arg-type]

    @strawberry.field
    def status(self, root: OutboxMessage) -> InvitationStatus:
        return invitation_status(root)


@strawberry.type(description="A person at a customer.")
class Contact:
    first_name: str
    last_name: str
    email: str
    phone: str | None
    job_title: str | None
    is_main: bool = strawberry.field(description="Whether this is the customer's main contact.")

    @strawberry.field
    def id(self, root: ContactRow) -> strawberry.ID:
        return strawberry.ID(encode_id("Contact", root.id))  # type: ignore[arg-type]

    @strawberry.field(description="Invitations e-mailed (or queued) to this contact, newest first.")
    def invitations(self, root: ContactRow, info: Info) -> list[Invitation]:
        return partner_loaders(info.context).invitations.get(root.id)


@strawberry.type
class OrderLine:
    product: str
    quantity: int


@strawberry.type(description="A purchase for a customer from a catalogue.")
class Order:
    catalog: Catalog
    created_at: dt.datetime

    @strawberry.field
    def id(self, root: domain.CustomerOrder) -> strawberry.ID:
        return strawberry.ID(encode_id("Order", root.id))  # type: ignore[arg-type]

    @strawberry.field
    def lines(self, root: domain.CustomerOrder, info: Info) -> list[OrderLine]:
        return partner_loaders(info.context).order_lines.get(root.id)


@strawberry.type(description="How a customer is billed.")
class Contract:
    name: str
    type: ContractType
    rate: float | None
    amount: float | None
    starts_on: dt.date | None
    ends_on: dt.date | None

    @strawberry.field
    def id(self, root: domain.Contract) -> strawberry.ID:
        return strawberry.ID(encode_id("Contract", root.id))  # type: ignore[arg-type]


@strawberry.type(description="A customer's SLA targets and alert-threshold profile.")
class ServiceLevel:
    first_response_minutes: int
    resolution_minutes: int
    alert_profile: str


@strawberry.type(description="Work done for customers, who are its members.")
class Project:
    name: str

    @strawberry.field
    def id(self, root: domain.Project) -> strawberry.ID:
        return strawberry.ID(encode_id("Project", root.id))  # type: ignore[arg-type]


def _grouped(rows, key) -> dict:
    found: dict = {}
    for row in rows:
        found.setdefault(key(row), []).append(row)
    return found


class PartnerLoaders:
    """One statement per kind of thing, for every customer a list announced."""

    def __init__(self, context):
        session = context.session

        def by_customer(table, order_by):
            def load(ids: list[int]) -> dict:
                rows = session.execute(
                    select(table).where(among(table.customer_id, ids)).order_by(*order_by)
                ).scalars()
                return _grouped(rows, lambda r: r.customer_id)

            return load

        def contacts_by_customer(ids: list[int]) -> dict:
            found = domain_operations.contacts_by_customer(session=session, customer_ids=ids)
            self.invitations.want(c.id for contacts in found.values() for c in contacts)
            return found

        self.contacts = BatchLoader(contacts_by_customer, list)
        self.invitations = BatchLoader(
            lambda ids: invitations_by_contact(session=session, contact_ids=ids), list
        )
        load_orders = by_customer(domain.CustomerOrder, (domain.CustomerOrder.created_at.desc(),))  # type: ignore[attr-defined]

        def orders_by_customer(ids: list[int]) -> dict:
            found = load_orders(ids)
            self.order_lines.want(order.id for orders in found.values() for order in orders)
            return found

        self.orders = BatchLoader(orders_by_customer, list)
        self.contracts = BatchLoader(by_customer(domain.Contract, (domain.Contract.id,)), list)
        self.service_levels = BatchLoader(
            lambda ids: {
                level.customer_id: level
                for level in session.execute(
                    select(domain.ServiceLevel).where(among(domain.ServiceLevel.customer_id, ids))
                ).scalars()
            },
            lambda: None,
        )
        self.projects = BatchLoader(
            lambda ids: _grouped(
                session.execute(
                    select(domain.ProjectMember.customer_id, domain.Project)
                    .join(domain.Project, domain.Project.id == domain.ProjectMember.project_id)
                    .where(among(domain.ProjectMember.customer_id, ids))
                    .order_by(domain.Project.name)
                ).all(),
                lambda row: row[0],
            ),
            list,
        )
        self.order_lines = BatchLoader(
            lambda ids: _grouped(
                session.execute(
                    select(domain.OrderLine)
                    .where(among(domain.OrderLine.order_id, ids))
                    .order_by(domain.OrderLine.id)
                ).scalars(),
                lambda line: line.order_id,
            ),
            list,
        )
        for loader in (
            self.contacts,
            self.orders,
            self.contracts,
            self.service_levels,
            self.projects,
        ):
            context.loaders.listen("Customer", loader.want)


def partner_loaders(context) -> PartnerLoaders:
    return context.loaders.family("partner", lambda: PartnerLoaders(context))
