"""Reading support cases: every path applies the same row rule (policies: SupportCase)."""

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.errors import BadUserInput
from graph.ids import decode_pk
from graph.pagination import Connection, Page, connection
from graph.rows import row_by_id
from graph.support.loaders import support_loaders
from graph.support.types import AdditionalCase, CaseClassification, CaseStatus, SupportCase
from models.agreements.operations import count_rows, today_utc
from models.support import operations as domain
from models.support import tables as domain_tables

NOTHING = -1
SEARCH_MAX = 200


def case_page(
    info: Info,
    *,
    workgroup_ids: list[int] | None = None,
    customer_id: int | None = None,
    status=None,
    classification=None,
    search: str | None = None,
    first: int,
    after: str | None,
) -> Connection:
    context = info.context
    if search is not None and len(search) > SEARCH_MAX:
        raise BadUserInput(f"`search` has at most {SEARCH_MAX} characters.", argument="search")
    page = Page.from_args(first, after, context.settings.max_page_size)
    query = domain.case_query(
        workgroup_ids=workgroup_ids,
        customer_id=customer_id,
        status=status,
        classification=classification,
        search=search,
    )
    rows = list(
        context.session.execute(
            query.order_by(*domain.CASE_ORDER).offset(page.offset).limit(page.limit + 1)
        ).scalars()
    )
    support_loaders(context).announce_cases(rows)
    return connection(rows, page, lambda: count_rows(session=context.session, query=query))


def additional_case_page(
    info: Info, *, workgroup_ids: list[int] | None, first: int, after: str | None
) -> Connection:
    context = info.context
    page = Page.from_args(first, after, context.settings.max_page_size)
    query = domain.additional_cases_query(
        workgroup_ids=workgroup_ids,
        today=today_utc(),
    )
    rows = context.session.execute(
        query.order_by(*domain.CASE_ORDER).offset(page.offset).limit(page.limit + 1)
    ).all()
    support_loaders(context).announce_cases([row[0] for row in rows])
    items = [AdditionalCase(case=row[0], reason=row[1]) for row in rows]
    return connection(items, page, lambda: count_rows(session=context.session, query=query))


def case_by_id(info: Info, global_id: str):
    pk = decode_pk(global_id, "SupportCase")
    if pk is None:
        return None
    return (
        info.context.session.execute(
            select(domain_tables.SupportCase).where(domain_tables.SupportCase.id == pk)
        )
        .scalars()
        .first()
    )


def group_by_id(info: Info, global_id: str):
    """A group the viewer may see; else None, as for no group."""
    return row_by_id(info.context, "Group", global_id)


@strawberry.type
class SupportQueries:
    @strawberry.field(description="Support cases the viewer may see, newest first.")
    def support_cases(
        self,
        info: Info,
        workgroup_id: strawberry.ID | None = None,
        status: CaseStatus | None = None,
        classification: CaseClassification | None = None,
        search: str | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[SupportCase]:
        workgroups = None
        if workgroup_id is not None:
            workgroups = [decode_pk(workgroup_id, "Workgroup") or NOTHING]
        return case_page(
            info,
            workgroup_ids=workgroups,
            status=status,
            classification=classification,
            search=search,
            first=first,
            after=after,
        )

    @strawberry.field
    def support_case(self, info: Info, id: strawberry.ID) -> SupportCase | None:
        return case_by_id(info, id)
