import strawberry
from strawberry.types import Info

from graph.core.mutations import authorize_mutation, run_in_transaction
from graph.core.types import UserError
from graph.workgroups.types import Workgroup
from models.workgroups.operations import create_workgroup


@strawberry.type
class CreateWorkgroupPayload:
    workgroup: Workgroup | None
    errors: list[UserError]


@strawberry.type
class WorkgroupMutations:
    @strawberry.mutation(description="Creates a workgroup. Global admins only.")
    def create_workgroup(self, info: Info, name: str) -> CreateWorkgroupPayload:
        authorize_mutation(info, workgroup_id=None)
        workgroup, errors = run_in_transaction(
            info,
            lambda: create_workgroup(
                session=info.context.session, name=name, actor_id=info.context.viewer.id
            ),
        )
        return CreateWorkgroupPayload(workgroup=workgroup, errors=errors)
