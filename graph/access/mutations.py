"""Granting and revoking roles. Who may give which role is itself in the policy
("Role.<name>" with the action `grant`)."""

import strawberry
from strawberry.types import Info

from graph.access.types import RoleAssignmentPayload
from graph.core.mutations import authorize_mutation, not_found, run_in_transaction
from graph.viewer.types import Role
from graph.workgroups.queries import visible_workgroup_pk
from models.access import roles as accounts
from policies.authorizer import GRANT


def _target_workgroup(info: Info, workgroup_id: str) -> int | None:
    pk = visible_workgroup_pk(info.context, workgroup_id)
    if pk is None:
        return None
    return pk


def _change_role(info: Info, email: str, role, workgroup_id: str, change) -> RoleAssignmentPayload:
    """Who may give or take `role` in the workgroup is the policy's `grant` on "Role.<name>"."""
    workgroup = _target_workgroup(info, workgroup_id)
    if workgroup is None:
        return RoleAssignmentPayload(assignment=None, errors=not_found("workgroupId", "workgroup"))
    authorize_mutation(info, workgroup_id=workgroup)
    info.context.scope.require(f"Role.{role.value}", workgroup_id=workgroup, action=GRANT)
    assignment, errors = run_in_transaction(
        info,
        lambda: change(
            session=info.context.session,
            email=email,
            role=role,
            workgroup_id=workgroup,
            actor_id=info.context.viewer.id,
        ),
    )
    return RoleAssignmentPayload(assignment=assignment, errors=errors)


@strawberry.type
class AccessMutations:
    @strawberry.mutation(description="Gives a role; an unknown e-mail gets it on first sign-in.")
    def grant_role(
        self, info: Info, email: str, role: Role, workgroup_id: strawberry.ID
    ) -> RoleAssignmentPayload:
        return _change_role(info, email, role, workgroup_id, accounts.grant_role)

    @strawberry.mutation(description="Takes a role away; the last admin of a workgroup stays.")
    def revoke_role(
        self, info: Info, email: str, role: Role, workgroup_id: strawberry.ID
    ) -> RoleAssignmentPayload:
        return _change_role(info, email, role, workgroup_id, accounts.revoke_role)
