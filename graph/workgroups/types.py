from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from graph.core.types import Node
from graph.customers.queries import customer_page
from graph.customers.types import Customer, CustomerSort, CustomerStatus
from graph.ids import encode_id
from graph.pagination import Connection
from models.accounts.tables import Workgroup as WorkgroupRow

if TYPE_CHECKING:
    from graph.agreements.types import Agreement
    from graph.partner.types import Project
    from graph.support.types import Group


@strawberry.type(description="A team of the provider that manages a set of customers.")
class Workgroup(Node):
    name: str

    @strawberry.field
    def id(self, root: WorkgroupRow) -> strawberry.ID:
        return strawberry.ID(encode_id("Workgroup", root.id))  # type: ignore[arg-type]

    @strawberry.field(description="This workgroup's customers that the viewer may see.")
    def customers(
        self,
        root: WorkgroupRow,
        info: Info,
        search: str | None = None,
        status: CustomerStatus | None = CustomerStatus.ACTIVE,
        sort: CustomerSort = CustomerSort.NAME_ASC,
        tag: str | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[Annotated[Customer, strawberry.lazy("graph.customers.types")]] | None:
        return customer_page(
            info.context,
            workgroup_id=root.id,
            search=search,
            status=status,
            sort=sort,
            tag=tag,
            first=first,
            after=after,
        )

    @strawberry.field(description="This workgroup's support agreements, latest ending first.")
    def agreements(
        self,
        root: WorkgroupRow,
        info: Info,
        active: bool | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[Annotated["Agreement", strawberry.lazy("graph.agreements.types")]] | None:
        from graph.agreements.queries import agreement_page

        return agreement_page(
            info,
            workgroup_ids=[root.id],  # type: ignore[list-item]
            customer_id=None,
            active=active,
            first=first,
            after=after,
        )

    @strawberry.field(description="The workgroup's projects, by name.")
    def projects(
        self, root: WorkgroupRow, info: Info
    ) -> list[Annotated["Project", strawberry.lazy("graph.partner.types")]] | None:
        from sqlalchemy import func, select

        from models.partner.tables import Project

        return list(  # type: ignore[return-value]
            info.context.session.execute(
                select(Project)
                .where(Project.workgroup_id == root.id)
                .order_by(func.lower(Project.name))
            ).scalars()
        )

    @strawberry.field(description="The workgroup's groups, by name.")
    def groups(
        self, root: WorkgroupRow, info: Info
    ) -> list[Annotated["Group", strawberry.lazy("graph.support.types")]] | None:
        from sqlalchemy import func, select

        from graph.support.loaders import support_loaders
        from models.accounts.tables import UserGroup

        rows = list(
            info.context.session.execute(
                select(UserGroup)
                .where(UserGroup.workgroup_id == root.id)
                .order_by(func.lower(UserGroup.name))
            ).scalars()
        )
        support_loaders(info.context).members.want(g.id for g in rows)
        return rows  # type: ignore[return-value]

    @classmethod
    def is_type_of(cls, obj, _info) -> bool:
        return isinstance(obj, (cls, WorkgroupRow))
