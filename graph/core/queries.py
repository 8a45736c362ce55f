import strawberry
from strawberry.types import Info

from graph.agreements.queries import (
    agreement_by_id,
    by_id,
    consumption_record_by_id,
    package_by_id,
    service_amount_by_id,
)
from graph.core.types import Node
from graph.customers.queries import open_customer
from graph.ids import decode_id
from graph.support.queries import case_by_id, group_by_id
from graph.workgroups.queries import workgroup_by_id
from models.accounts.tables import RoleAssignment as RoleAssignmentRow
from models.audit.activity import ActivityRecord as ActivityRecordRow

# How `node(id:)` fetches each type: through the same visibility as every other path.
_FETCHERS = {
    "Customer": lambda info, id: open_customer(info.context, id),
    "Workgroup": workgroup_by_id,
    "Agreement": agreement_by_id,
    "Package": package_by_id,
    "ServiceAmount": service_amount_by_id,
    "ConsumptionRecord": consumption_record_by_id,
    "RoleAssignment": by_id(RoleAssignmentRow, "RoleAssignment"),
    "ActivityRecord": by_id(ActivityRecordRow, "ActivityRecord"),
    "SupportCase": case_by_id,
    "Group": group_by_id,
}


@strawberry.type
class NodeQueries:
    @strawberry.field(description="Any object by its global id; null if absent or not visible.")
    def node(self, info: Info, id: strawberry.ID) -> Node | None:
        decoded = decode_id(id)
        fetch = _FETCHERS.get(decoded[0]) if decoded else None
        return fetch(info, id) if fetch else None
