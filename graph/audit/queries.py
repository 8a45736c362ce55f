"""Reading the activity log: newest first, filtered, only of workgroups the viewer may audit."""

import datetime as dt
from typing import Annotated

import strawberry
from strawberry.types import Info

from graph.audit.types import ActivityRecord
from graph.errors import BadUserInput
from graph.ids import decode_pk
from graph.loaders import LoaderFamily
from graph.pagination import Connection, Page, connection
from models.agreements.operations import count_rows
from models.audit import activity as domain
from models.core.paging import pages_by_parent

NOTHING = -1


def activity_page(
    info: Info,
    *,
    workgroup_id: int | None = None,
    customer_id: int | None = None,
    actor_email: str | None = None,
    at_from: dt.datetime | None = None,
    at_to: dt.datetime | None = None,
    first: int,
    after: str | None,
) -> Connection:
    at_from, at_to = _utc(at_from, "from"), _utc(at_to, "to")
    if at_from is not None and at_to is not None and at_from > at_to:
        raise BadUserInput("`from` must not be after `to`.", argument="from")
    context = info.context
    page = Page.from_args(first, after, context.settings.max_page_size)
    query = domain.activity_query(
        workgroup_id=workgroup_id,
        customer_id=customer_id,
        actor_email=actor_email,
        at_from=at_from,
        at_to=at_to,
    )
    rows = list(
        context.session.execute(
            query.order_by(*domain.ACTIVITY_ORDER).offset(page.offset).limit(page.limit + 1)
        ).scalars()
    )
    context.loaders.users.want(r.actor_id for r in rows if r.actor_id is not None)
    context.loaders.workgroups.want(r.workgroup_id for r in rows if r.workgroup_id is not None)
    return connection(rows, page, lambda: count_rows(session=context.session, query=query))


class FeedLoaders:
    """One page of the activity log for each customer a list announced, in two statements:
    the records concerning the customer (its own changes and those of its contacts, contracts,
    service level, tags, orders, project memberships and cases)."""

    def __init__(self, context):
        def load_pages(offset: int, limit: int):
            def load(ids: list[int]) -> dict:
                pages = pages_by_parent(
                    session=context.session,
                    query=domain.activity_query(),
                    entity=domain.ActivityRecord,
                    parent_column=domain.ActivityRecord.customer_id,
                    order_by=domain.ACTIVITY_ORDER,
                    parent_ids=ids,
                    offset=offset,
                    limit=limit,
                )
                records = [r for rows, _ in pages.values() for r in rows]
                context.loaders.users.want(r.actor_id for r in records if r.actor_id is not None)
                return pages

            return load

        self.by_customer = LoaderFamily(load_pages, lambda: ([], 0))
        context.loaders.listen("Customer", self.by_customer.want)


def customer_feed(info: Info, customer_id: int, first: int, after: str | None) -> Connection:
    context = info.context
    page = Page.from_args(first, after, context.settings.max_page_size)
    loaders = context.loaders.family("feed", lambda: FeedLoaders(context))
    rows, total = loaders.by_customer.get(customer_id, page.offset, page.limit + 1)
    return connection(rows, page, lambda: total)


def _utc(moment: dt.datetime | None, argument: str) -> dt.datetime | None:
    """The moment in UTC (a moment without an offset is taken as UTC); a moment whose UTC time
    falls outside the years 1-9999 (`0001-01-01T00:00:00+14:00`) is a bad argument."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:
        raise BadUserInput(
            f"`{argument}` is outside the years 1 to 9999 once converted to UTC.",
            argument=argument,
        ) from None


@strawberry.type
class AuditQueries:
    @strawberry.field(description="The activity log, newest first.")
    def activity(
        self,
        info: Info,
        workgroup_id: strawberry.ID | None = None,
        customer_id: strawberry.ID | None = None,
        actor_email: str | None = None,
        from_: Annotated[dt.datetime | None, strawberry.argument(name="from")] = None,
        to: dt.datetime | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[ActivityRecord] | None:
        workgroup = None
        if workgroup_id is not None:
            workgroup = decode_pk(workgroup_id, "Workgroup") or NOTHING
        customer = None
        if customer_id is not None:
            customer = decode_pk(customer_id, "Customer") or NOTHING
        return activity_page(
            info,
            workgroup_id=workgroup,
            customer_id=customer,
            actor_email=actor_email,
            at_from=from_,
            at_to=to,
            first=first,
            after=after,
        )
