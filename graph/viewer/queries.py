import strawberry
from strawberry.types import Info

from graph.viewer.types import Viewer, ViewerSource
from models.accounts import roles_of


@strawberry.type
class ViewerQueries:
    @strawberry.field(description="The signed-in user, with the roles they hold.")
    def me(self, info: Info) -> Viewer:
        viewer = info.context.viewer
        held = sorted(
            roles_of(session=info.context.session, user_id=viewer.id),
            key=lambda h: (h.workgroup_id or 0, h.role.value),
        )
        return ViewerSource(id=viewer.id, email=viewer.email, held=held)  # type: ignore[return-value]
