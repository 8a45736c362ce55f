from dataclasses import dataclass

import strawberry
from strawberry.types import Info

from graph.ids import encode_id
from graph.workgroups.types import Workgroup
from models import enums
from models.accounts import HeldRole

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

    @strawberry.field
    def roles(self, root: ViewerSource, info: Info) -> list[RoleGrant]:
        info.context.loaders.workgroups.want(
            h.workgroup_id for h in root.held if h.workgroup_id is not None
        )
        return [RoleGrant(role=h.role, workgroup_id=h.workgroup_id) for h in root.held]
