"""Role catalogue, who holds which role, and what a viewer may do — all read from the policy."""

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.access.types import (
    AccessExplanation,
    Capability,
    PolicyGrant,
    RoleAssignment,
    RoleDescription,
)
from graph.coordinates import action_of
from graph.errors import BadUserInput
from graph.ids import decode_pk
from graph.viewer.types import Role
from graph.workgroups.queries import visible_workgroup_pk
from models.accounts.emails import normalize_email
from models.accounts.tables import RoleAssignment as RoleAssignmentRow
from models.accounts.tables import User
from models.accounts.users import roles_of
from models.core.enums import Role as RoleValue
from policies.catalogue import ROLE_PURPOSES, capabilities_of
from policies.coordinates import deciding_workgroup
from policies.scope import AccessScope


def visible_workgroup(info: Info, global_id: str, argument: str = "workgroupId") -> int:
    pk = visible_workgroup_pk(info.context, global_id)
    if pk is None:
        raise BadUserInput("No workgroup with this id.", argument=argument)
    return pk


@strawberry.type
class AccessQueries:
    @strawberry.field(description="Every role, with what it is for and what it grants.")
    def roles(self, info: Info) -> list[RoleDescription]:
        authorizer = info.context.scope.authorizer
        return [
            RoleDescription(
                role=role,
                purpose=ROLE_PURPOSES[role],
                capabilities=[
                    Capability(
                        name=c.name,
                        grants=[
                            PolicyGrant(coordinate=g.coordinate, action=g.action) for g in c.grants
                        ],
                    )
                    for c in capabilities_of(authorizer, role)
                ],
            )
            for role in RoleValue
        ]

    @strawberry.field(description="Who holds which role in a workgroup (for its admins).")
    def role_assignments(self, info: Info, workgroup_id: strawberry.ID) -> list[RoleAssignment]:
        pk = decode_pk(workgroup_id, "Workgroup")
        if pk is None:
            return []
        rows = list(
            info.context.session.execute(
                select(RoleAssignmentRow)
                .join(User, User.id == RoleAssignmentRow.user_id)
                .where(
                    RoleAssignmentRow.workgroup_id == pk,
                )
                .order_by(User.email, RoleAssignmentRow.role)
            ).scalars()
        )
        info.context.loaders.users.want(row.user_id for row in rows)
        return rows  # type: ignore[return-value]

    @strawberry.field(
        description="Whether a user may use a coordinate in a workgroup, and the policy line "
        "that decides it. For the workgroup's admins."
    )
    def explain_access(
        self, info: Info, email: str, coordinate: str, workgroup_id: strawberry.ID
    ) -> AccessExplanation | None:
        context = info.context
        workgroup = visible_workgroup(info, workgroup_id)
        context.scope.require("Query.explainAccess", workgroup_id=workgroup, action="read")
        action = action_of(info.schema._schema, coordinate)
        if action is None:
            raise BadUserInput(
                f"{coordinate!r} is not a coordinate the policy decides.", argument="coordinate"
            )
        user = (
            context.session.execute(select(User).where(User.email == normalize_email(email)))
            .scalars()
            .first()
        )
        held = roles_of(session=context.session, user_id=user.id) if user else []  # type: ignore[arg-type]
        roles = AccessScope.build(
            authorizer=context.scope.authorizer,
            user_id=user.id if user else None,
            held=[(h.role.value, h.workgroup_id) for h in held],
        ).roles_in(deciding_workgroup(coordinate, workgroup))
        explanation = context.scope.authorizer.explain(roles, coordinate, action)
        return AccessExplanation(
            allowed=explanation.allowed,
            action=action,
            role=Role(explanation.role) if explanation.role in set(RoleValue) else None,  # type: ignore[operator]
            policy_line=", ".join(explanation.policy_line) if explanation.policy_line else None,
            denied_by=", ".join(explanation.deciding_denial)
            if explanation.deciding_denial
            else None,
        )
