import strawberry
from sqlalchemy import func, select
from strawberry.types import Info

from graph.ids import decode_pk
from graph.pagination import Connection, Page, connection
from graph.workgroups.types import Workgroup
from models.accounts.tables import Workgroup as WorkgroupRow


def visible_workgroup_pk(context, global_id: str | None) -> int | None:
    """The key of a workgroup that exists and that the viewer may see, else None. Asked of the
    database, so that a global role does not make an unknown id look like a workgroup."""
    pk = decode_pk(global_id, "Workgroup")
    if pk is None or not context.scope.sees_workgroup_rows("Workgroup", pk):
        return None
    found = context.session.execute(select(WorkgroupRow.id).where(WorkgroupRow.id == pk)).first()
    return pk if found else None


def workgroup_by_id(info: Info, global_id: str) -> WorkgroupRow | None:
    pk = decode_pk(global_id, "Workgroup")
    if pk is None:
        return None
    return (
        info.context.session.execute(select(WorkgroupRow).where(WorkgroupRow.id == pk))
        .scalars()
        .first()
    )


@strawberry.type
class WorkgroupQueries:
    @strawberry.field(description="The workgroups the viewer holds a role in, by name.")
    def workgroups(
        self, info: Info, first: int = 100, after: str | None = None
    ) -> Connection[Workgroup]:
        context = info.context
        page = Page.from_args(first, after, context.settings.max_page_size)
        rows = list(
            context.session.execute(
                select(WorkgroupRow)
                .order_by(func.lower(WorkgroupRow.name), WorkgroupRow.id)
                .offset(page.offset)
                .limit(page.limit + 1)
            ).scalars()
        )
        return connection(
            rows,
            page,
            lambda: context.session.execute(
                select(func.count()).select_from(WorkgroupRow)
            ).scalar_one(),
        )

    @strawberry.field
    def workgroup(self, info: Info, id: strawberry.ID) -> Workgroup | None:
        return workgroup_by_id(info, id)
