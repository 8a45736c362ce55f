"""Row conditions: which rows of each row type (policies.row_types) a viewer may see, as SQL.

A row type is visible in a workgroup when the viewer's roles there grant `read` on the type's
name (e.g. "Customer"). Some types can also be granted one category at a time
("ServiceAmount#EDUCATION_ON_DEMAND") or through the viewer's relation to a row
("SupportCase#related"). The condition names the visible workgroups; the session adds it to
every read of the type's table (policies.restriction), so pagination, counts and totals never
include what the viewer may not see.
"""

from sqlalchemy import ColumnElement, false, or_, true
from sqlalchemy.sql.elements import False_

from models.core.enums import ServiceCategory
from policies.row_types import RELATED, ROW_TYPES

CATEGORIES = tuple(category.value for category in ServiceCategory)


def category_coordinate(type_name: str, category: str) -> str:
    return f"{type_name}#{category}"


def qualified_row_coordinates() -> list[str]:
    return [
        category_coordinate(row.name, category)
        for row in ROW_TYPES.values()
        if row.category is not None
        for category in CATEGORIES
    ] + [f"{row.name}#{RELATED}" for row in ROW_TYPES.values() if row.related is not None]


def workgroup_condition(
    tenant_key, *, everywhere: bool, workgroup_ids: frozenset[int]
) -> ColumnElement[bool]:
    if everywhere:
        return true()
    if not workgroup_ids:
        return false()
    if len(workgroup_ids) == 1:
        return tenant_key == next(iter(workgroup_ids))
    return tenant_key.in_(sorted(workgroup_ids))


def any_of(conditions: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    conditions = [c for c in conditions if not isinstance(c, False_)]
    if not conditions:
        return false()
    return conditions[0] if len(conditions) == 1 else or_(*conditions)
