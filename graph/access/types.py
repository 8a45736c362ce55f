import datetime as dt

import strawberry
from strawberry.types import Info

from graph.core.types import Node, UserError
from graph.ids import encode_id
from graph.viewer.types import Role
from graph.workgroups.types import Workgroup
from models.accounts.tables import RoleAssignment as RoleAssignmentRow


@strawberry.type(description="One coordinate a capability grants, and for which action.")
class PolicyGrant:
    coordinate: str
    action: str


@strawberry.type(description="A named set of grants in the policy that roles inherit.")
class Capability:
    name: str
    grants: list[PolicyGrant]


@strawberry.type(description="A role of the catalogue and what it grants.")
class RoleDescription:
    role: Role
    purpose: str
    capabilities: list[Capability]


@strawberry.type(description="A user holding a role in a workgroup.")
class RoleAssignment(Node):
    role: Role

    @strawberry.field
    def granted_at(self, root: RoleAssignmentRow) -> dt.datetime:
        return root.created_at

    @strawberry.field(description="The holder's e-mail address.")
    def email(self, root: RoleAssignmentRow, info: Info) -> str:
        return info.context.loaders.users.get(root.user_id).email

    @strawberry.field
    def id(self, root: RoleAssignmentRow) -> strawberry.ID:
        return strawberry.ID(encode_id("RoleAssignment", root.id))  # type: ignore[arg-type]

    @strawberry.field
    def workgroup(self, root: RoleAssignmentRow, info: Info) -> Workgroup:
        return info.context.loaders.workgroups.get(root.workgroup_id)

    @classmethod
    def is_type_of(cls, obj, _info) -> bool:
        return isinstance(obj, (cls, RoleAssignmentRow))


@strawberry.type
class RoleAssignmentPayload:
    assignment: RoleAssignment | None
    errors: list[UserError]


@strawberry.type(description="Why a user may or may not use a coordinate in a workgroup.")
class AccessExplanation:
    allowed: bool
    action: str
    role: Role | None = strawberry.field(
        description="The user's role the allowing line applies to."
    )
    policy_line: str | None = strawberry.field(description="The policy line that allowed it.")
    denied_by: str | None = strawberry.field(
        description="When not allowed: the policy line recording that decision, if any."
    )
