import strawberry
from strawberry.types import Info

from graph.viewer.types import Viewer, ViewerSource


@strawberry.type
class ViewerQueries:
    @strawberry.field(description="The signed-in user, with the roles they hold.")
    def me(self, info: Info) -> Viewer:
        viewer = info.context.viewer
        held = sorted(info.context.held, key=lambda h: (h.workgroup_id or 0, h.role.value))
        return ViewerSource(id=viewer.id, email=viewer.email, held=held)  # type: ignore[return-value]
