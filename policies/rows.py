"""Row rules: which rows of each table a viewer may see, as SQL conditions.

A row type is visible in a workgroup when the viewer's roles there grant `read` on the type's
name (e.g. "Customer"). The condition names the visible workgroups; it is compiled into the
WHERE clause of every query that returns such rows, so pagination and counts never lie.
"""

from sqlalchemy import ColumnElement, false, true

from models.accounts import Workgroup
from models.customers import Customer

# The column that says which workgroup a row of each guarded GraphQL type belongs to.
ROW_WORKGROUP_COLUMN = {
    "Workgroup": Workgroup.id,
    "Customer": Customer.workgroup_id,
}


def workgroup_condition(
    type_name: str, *, everywhere: bool, workgroup_ids: frozenset[int]
) -> ColumnElement[bool]:
    if everywhere:
        return true()
    if not workgroup_ids:
        return false()
    return ROW_WORKGROUP_COLUMN[type_name].in_(sorted(workgroup_ids))  # type: ignore[union-attr]
