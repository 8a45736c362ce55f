import datetime as dt

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from graph.core.types import Node
from graph.ids import encode_id
from graph.workgroups.types import Workgroup
from models.audit.activity import ActivityRecord as ActivityRecordRow


def _readable(record: ActivityRecordRow, values: dict | None, info: Info) -> dict | None:
    context = info.context
    masked, denied = context.scope.masked_values(record.action, record.workgroup_id, values)
    if denied:
        # Reading the path needs graphql-core's full Info (only when something is masked).
        context.report_masked(denied, info.path.as_list())
    return masked


@strawberry.type(
    description="An append-only audit entry: who changed what, when, from what to what."
)
class ActivityRecord(Node):
    at: dt.datetime
    action: str = strawberry.field(description='What happened, e.g. "customer.update".')
    target_type: str

    @strawberry.field(
        description="The changed values before; a value whose field the viewer may not read "
        "is null (with a FORBIDDEN error naming the field)."
    )
    def before(self, root: ActivityRecordRow, info: Info) -> JSON | None:
        return _readable(root, root.before, info)

    @strawberry.field(description="The changed values after, masked like `before`.")
    def after(self, root: ActivityRecordRow, info: Info) -> JSON | None:
        return _readable(root, root.after, info)

    @strawberry.field
    def id(self, root: ActivityRecordRow) -> strawberry.ID:
        return strawberry.ID(encode_id("ActivityRecord", root.id))  # type: ignore[arg-type]

    @strawberry.field(description="The global id of the changed object.")
    def target_id(self, root: ActivityRecordRow) -> strawberry.ID | None:
        if root.target_id is None:
            return None
        return strawberry.ID(encode_id(root.target_type, root.target_id))

    @strawberry.field(description="Who made the change; null for the system.")
    def actor_email(self, root: ActivityRecordRow, info: Info) -> str | None:
        if root.actor_id is None:
            return None
        user = info.context.loaders.users.get(root.actor_id)
        return user.email if user else None

    @strawberry.field
    def workgroup(self, root: ActivityRecordRow, info: Info) -> Workgroup | None:
        if root.workgroup_id is None:
            return None
        return info.context.loaders.workgroups.get(root.workgroup_id)

    @classmethod
    def is_type_of(cls, obj, _info) -> bool:
        return isinstance(obj, (cls, ActivityRecordRow))
