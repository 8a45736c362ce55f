from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from graph.coordinates import action_of, all_coordinates
from graph.ids import decode_pk, encode_id
from graph.workgroups.types import Workgroup
from models.accounts.tables import HeldRole
from models.core import enums
from policies.coordinates import deciding_workgroup

if TYPE_CHECKING:
    from graph.customers.types import Customer

Role = strawberry.enum(enums.Role, name="Role")


@strawberry.type(description="A role the viewer holds; a global role has no workgroup.")
class RoleGrant:
    role: Role
    workgroup_id: strawberry.Private[int | None]

    @strawberry.field
    def workgroup(self, info: Info) -> Workgroup | None:
        if self.workgroup_id is None:
            return None
        return info.context.loaders.workgroups.get(self.workgroup_id)


@dataclass
class ViewerSource:
    id: int
    email: str
    held: list[HeldRole]


@strawberry.type(description="The signed-in user.")
class Viewer:
    email: str

    @strawberry.field
    def id(self, root: ViewerSource) -> strawberry.ID:
        return strawberry.ID(encode_id("User", root.id))

    @strawberry.field(
        description="The coordinates (fields, mutations, input fields, exports, role grants) "
        "the viewer may use in a workgroup, so a client can hide what it cannot show."
    )
    def permissions(self, info: Info, workgroup_id: strawberry.ID) -> list[str]:
        scope = info.context.scope
        workgroup = decode_pk(workgroup_id, "Workgroup")
        if workgroup is None or not scope.sees_workgroup_rows("Workgroup", workgroup):
            return []
        return [
            coordinate
            for coordinate, action in all_coordinates(info.schema._schema)
            if scope.may(
                coordinate, workgroup_id=deciding_workgroup(coordinate, workgroup), action=action
            )
        ]

    @strawberry.field(description="Whether the viewer may use one coordinate in a workgroup.")
    def can(self, info: Info, coordinate: str, workgroup_id: strawberry.ID) -> bool:
        scope = info.context.scope
        workgroup = decode_pk(workgroup_id, "Workgroup")
        action = action_of(info.schema._schema, coordinate)
        if (
            workgroup is None
            or action is None
            or not scope.sees_workgroup_rows("Workgroup", workgroup)
        ):
            return False
        return scope.may(
            coordinate, workgroup_id=deciding_workgroup(coordinate, workgroup), action=action
        )

    @strawberry.field(
        description="The customers the viewer opened most recently (by `customer(id:)` or "
        "`node(id:)`), latest first, among those they may still see; archived ones included. "
        "The latest 20 are kept."
    )
    def recent_customers(
        self, info: Info, first: int = 10
    ) -> list[Annotated["Customer", strawberry.lazy("graph.customers.types")]]:
        from graph.customers.queries import recent_customer_list

        return recent_customer_list(info.context, first=first)

    @strawberry.field
    def roles(self, root: ViewerSource, info: Info) -> list[RoleGrant]:
        info.context.loaders.workgroups.want(
            h.workgroup_id for h in root.held if h.workgroup_id is not None
        )
        return [RoleGrant(role=h.role, workgroup_id=h.workgroup_id) for h in root.held]
