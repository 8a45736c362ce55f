"""Row rules: which rows of each table a viewer may see, as SQL conditions.

A row type is visible in a workgroup when the viewer's roles there grant `read` on the type's
name (e.g. "Customer"). Some types can also be granted one category at a time
("ServiceAmount#EDUCATION_ON_DEMAND"). The condition names the visible workgroups; it is
compiled into the WHERE clause of every query that returns such rows, so pagination, counts
and totals never include what the viewer may not see.
"""

from sqlalchemy import ColumnElement, and_, false, or_, true
from sqlalchemy.sql.elements import False_

from models.accounts import RoleAssignment, Workgroup
from models.activity import ActivityRecord
from models.agreements import Agreement, ConsumptionRecord, Package, ServiceAmount
from models.customers import Customer
from models.enums import ServiceCategory
from models.imports import ImportJob
from models.support import SupportCase, member_rule

# The column that says which workgroup a row of each guarded GraphQL type belongs to.
ROW_WORKGROUP_COLUMN = {
    "Workgroup": Workgroup.id,
    "Customer": Customer.workgroup_id,
    "Agreement": Agreement.workgroup_id,
    "Package": Package.workgroup_id,
    "ServiceAmount": ServiceAmount.workgroup_id,
    "ConsumptionRecord": ConsumptionRecord.workgroup_id,
    "RoleAssignment": RoleAssignment.workgroup_id,
    "ActivityRecord": ActivityRecord.workgroup_id,
    "SupportCase": SupportCase.workgroup_id,
    "ImportJob": ImportJob.workgroup_id,
}

# Objects that are part of a row of another type, not rows of their own (e.g. a customer's
# overview): their fields are decided in the workgroup of the row they belong to, exactly like
# that row's own fields. The object carries the row's `workgroup_id`.
PART_OF_ROW = {"CustomerOverview": "Customer"}

# Types whose rows may be granted through the viewer's own relation to them: the coordinate
# "<Type>#related" grants, in a workgroup, the rows that this condition admits for the viewer
# (for cases: the member rule — primary contact, shared with them, or in a group with access).
RELATED_ROWS = {"SupportCase": member_rule}
RELATED = "related"

# Relation roles the viewer holds on single rows, for field and mutation decisions:
# (pseudo-role in the policy, the row attribute that must name the viewer).
ROW_RELATIONS = {"SupportCase": ("primary_contact", "primary_contact_id")}

# Types whose rows may be granted per category: the column holding it (consumption is always
# read joined to its service amount) and the categories.
CATEGORY_COLUMN = {
    "ServiceAmount": ServiceAmount.category,
    "ConsumptionRecord": ServiceAmount.category,
}
CATEGORIES = tuple(category.value for category in ServiceCategory)


def category_coordinate(type_name: str, category: str) -> str:
    return f"{type_name}#{category}"


def qualified_row_coordinates() -> list[str]:
    return [
        category_coordinate(type_name, category)
        for type_name in CATEGORY_COLUMN
        for category in CATEGORIES
    ] + [f"{type_name}#{RELATED}" for type_name in RELATED_ROWS]


def workgroup_condition(
    type_name: str, *, everywhere: bool, workgroup_ids: frozenset[int]
) -> ColumnElement[bool]:
    if everywhere:
        return true()
    if not workgroup_ids:
        return false()
    return ROW_WORKGROUP_COLUMN[type_name].in_(sorted(workgroup_ids))  # type: ignore[union-attr]


def category_condition(
    type_name: str, category: str, *, everywhere: bool, workgroup_ids: frozenset[int]
) -> ColumnElement[bool]:
    return and_(
        CATEGORY_COLUMN[type_name] == category,
        workgroup_condition(type_name, everywhere=everywhere, workgroup_ids=workgroup_ids),
    )


def any_of(conditions: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    conditions = [c for c in conditions if not isinstance(c, False_)]
    if not conditions:
        return false()
    return conditions[0] if len(conditions) == 1 else or_(*conditions)
