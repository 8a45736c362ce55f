"""Every table that holds tenant data, declared once.

A *row type* is a table whose rows belong to a workgroup (its tenant key, `workgroup_id` on
every such table), exposed as the GraphQL object type of the same name and granted by the
policy object of that name ("Customer", read): the viewer sees its rows in the workgroups where
their roles grant it. Some row types are also granted through the viewer's relation to a row
(a support case's primary contact, shares, group access), or one category at a time (service
amounts and their consumption).

A *link table* (tags of a customer, members of a group, lines of an order…) is not granted on
its own: its rows are visible wherever rows of the type it belongs to may be (`visible_as`),
decided on its own tenant key, so reading one never needs a join.

The session restricts every read of any of these tables to what the request's viewer may see
(policies.restriction); the field rules of a row type's fields are decided in each row's own
workgroup (policies.scope).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, exists, select

from models.accounts.tables import GroupMember, RoleAssignment, UserGroup, Workgroup
from models.agreements.tables import Agreement, ConsumptionRecord, Package, ServiceAmount
from models.audit.activity import ActivityRecord
from models.customers.recent import CustomerView
from models.customers.tables import Customer, CustomerTag, Tag
from models.imports.jobs import ImportJob
from models.mail.outbox import OutboxMessage
from models.partner.tables import (
    Contact,
    Contract,
    CustomerOrder,
    OrderLine,
    Project,
    ProjectMember,
    ServiceLevel,
)
from models.support.operations import member_rule
from models.support.tables import CaseGroupAccess, CaseShare, SupportCase


@dataclass(frozen=True, slots=True)
class RowType:
    name: str  # the GraphQL object type, and the policy object that grants its rows
    table: type
    tenant_key: Any  # the column naming the row's workgroup
    customer_key: Any = None  # the column naming the customer the row belongs to, if any
    # Rows admitted by the viewer's own relation to them, granted by "<name>#related".
    related: Callable[[int | None], ColumnElement[bool]] | None = None
    # A relation role the viewer holds on one row, for its fields and mutations:
    # (pseudo-role in the policy, the row attribute that must name the viewer).
    relation_role: tuple[str, str] | None = None
    # Rows granted one category at a time ("<name>#<CATEGORY>"): the row's category, as an
    # expression of the row alone.
    category: Callable[[str], ColumnElement[bool]] | None = None


@dataclass(frozen=True, slots=True)
class LinkTable:
    table: type
    tenant_key: Any
    visible_as: str  # the row type whose rows' workgroups admit these rows


def _consumption_in(category: str) -> ColumnElement[bool]:
    # An alias of its own, so that a read joining the service amounts does not correlate it.
    amount = ServiceAmount.__table__.alias("amount_of_record")  # type: ignore[attr-defined]
    return exists(
        select(amount.c.id).where(
            amount.c.id == ConsumptionRecord.service_amount_id,
            amount.c.category == category,
        )
    )


ROW_TYPES: dict[str, RowType] = {
    row.name: row
    for row in (
        RowType("Workgroup", Workgroup, Workgroup.id),
        RowType("Customer", Customer, Customer.workgroup_id, Customer.id),
        RowType("Contact", Contact, Contact.workgroup_id, Contact.customer_id),
        RowType("Order", CustomerOrder, CustomerOrder.workgroup_id, CustomerOrder.customer_id),
        RowType("OrderLine", OrderLine, OrderLine.workgroup_id),
        RowType("Contract", Contract, Contract.workgroup_id, Contract.customer_id),
        RowType("ServiceLevel", ServiceLevel, ServiceLevel.workgroup_id, ServiceLevel.customer_id),
        RowType("Project", Project, Project.workgroup_id),
        RowType("Group", UserGroup, UserGroup.workgroup_id),
        RowType("Agreement", Agreement, Agreement.workgroup_id, Agreement.customer_id),
        RowType("Package", Package, Package.workgroup_id),
        RowType(
            "ServiceAmount",
            ServiceAmount,
            ServiceAmount.workgroup_id,
            category=lambda category: ServiceAmount.category == category,
        ),
        RowType(
            "ConsumptionRecord",
            ConsumptionRecord,
            ConsumptionRecord.workgroup_id,
            category=_consumption_in,
        ),
        RowType(
            "SupportCase",
            SupportCase,
            SupportCase.workgroup_id,
            SupportCase.customer_id,
            related=member_rule,
            relation_role=("primary_contact", "primary_contact_id"),
        ),
        RowType("ActivityRecord", ActivityRecord, ActivityRecord.workgroup_id),
        RowType("ImportJob", ImportJob, ImportJob.workgroup_id),
        RowType("Invitation", OutboxMessage, OutboxMessage.workgroup_id),
        RowType("RoleAssignment", RoleAssignment, RoleAssignment.workgroup_id),
    )
}

LINK_TABLES: tuple[LinkTable, ...] = (
    LinkTable(Tag, Tag.workgroup_id, "Customer"),
    LinkTable(CustomerTag, CustomerTag.workgroup_id, "Customer"),
    LinkTable(CustomerView, CustomerView.workgroup_id, "Customer"),
    LinkTable(ProjectMember, ProjectMember.workgroup_id, "Project"),
    LinkTable(GroupMember, GroupMember.workgroup_id, "Group"),
    LinkTable(CaseShare, CaseShare.workgroup_id, "SupportCase"),
    LinkTable(CaseGroupAccess, CaseGroupAccess.workgroup_id, "SupportCase"),
)

# Objects that are part of a row of another type, not rows of their own (e.g. a customer's
# overview): their fields are decided in the workgroup of the row they belong to, exactly like
# that row's own fields. The object carries the row's `workgroup_id`.
PART_OF_ROW = {"CustomerOverview": "Customer"}

RELATED = "related"


def tenant_tables() -> dict[str, str]:
    """Every table holding tenant data: its name, and the row type deciding its rows."""
    tables = {row.table.__tablename__: row.name for row in ROW_TYPES.values()}
    tables |= {link.table.__tablename__: link.visible_as for link in LINK_TABLES}
    return tables


def row_type_of_table(table: type) -> RowType | None:
    return next((row for row in ROW_TYPES.values() if row.table is table), None)
