"""Reading the activity log: newest first, filtered, only of workgroups the viewer may audit."""

import datetime as dt
from typing import Annotated

import strawberry
from strawberry.types import Info

from graph.audit.types import ActivityRecord
from graph.errors import BadUserInput
from graph.ids import decode_pk
from graph.pagination import Connection, Page, connection
from models import activity as domain
from models.agreements import count_rows

NOTHING = -1


def activity_page(
    info: Info,
    *,
    workgroup_id: int | None = None,
    target: tuple[str, int] | None = None,
    actor_email: str | None = None,
    at_from: dt.datetime | None = None,
    at_to: dt.datetime | None = None,
    first: int,
    after: str | None,
) -> Connection:
    if at_from is not None and at_to is not None and at_from > at_to:
        raise BadUserInput("`from` must not be after `to`.", argument="from")
    context = info.context
    page = Page.from_args(first, after, context.settings.max_page_size)
    query = domain.activity_query(
        visible=context.scope.visible("ActivityRecord"),
        workgroup_id=workgroup_id,
        target=target,
        actor_email=actor_email,
        at_from=_utc(at_from),
        at_to=_utc(at_to),
    )
    rows = list(
        context.session.execute(
            query.order_by(*domain.ACTIVITY_ORDER).offset(page.offset).limit(page.limit + 1)
        ).scalars()
    )
    context.loaders.users.want(r.actor_id for r in rows if r.actor_id is not None)
    context.loaders.workgroups.want(r.workgroup_id for r in rows if r.workgroup_id is not None)
    return connection(rows, page, lambda: count_rows(session=context.session, query=query))


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


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
        target = None
        if customer_id is not None:
            target = ("Customer", decode_pk(customer_id, "Customer") or NOTHING)
        return activity_page(
            info,
            workgroup_id=workgroup,
            target=target,
            actor_email=actor_email,
            at_from=from_,
            at_to=to,
            first=first,
            after=after,
        )
