"""Reading customers: the list with its filters, one by id, and the ones opened lately."""

import contextlib
import logging
import threading
import time
from collections import OrderedDict

import strawberry
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from strawberry.types import Info

from graph.context import Context
from graph.customers.types import Customer
from graph.customers.types import CustomerSort as CustomerSortType
from graph.customers.types import CustomerStatus as CustomerStatusType
from graph.errors import BadUserInput
from graph.ids import decode_pk
from graph.pagination import Connection, Page, connection
from models.core.enums import CustomerStatus
from models.customers.operations import (
    CustomerFilter,
    CustomerSort,
    count_customers,
    get_customer,
    list_customers,
)
from models.customers.recent import KEPT_PER_USER, recent_customers, record_views
from models.db import utcnow
from policies.arguments import SEARCHED_FIELDS

log = logging.getLogger("clientele.graphql")

SEARCH_MAX = 200
TAG_MAX = 100


def customer_page(
    context: Context,
    *,
    workgroup_id: int | None,
    search: str | None,
    status: CustomerStatus | None,
    sort: CustomerSort,
    tag: str | None,
    first: int,
    after: str | None,
    project_id: int | None = None,
) -> Connection:
    page = Page.from_args(first, after, context.settings.max_page_size)
    if search is not None and len(search) > SEARCH_MAX:
        raise BadUserInput(f"`search` has at most {SEARCH_MAX} characters.", argument="search")
    if tag is not None and len(tag) > TAG_MAX:
        raise BadUserInput(f"`tag` has at most {TAG_MAX} characters.", argument="tag")
    # Filtering and sorting by a field were decided before execution (policies.arguments); a
    # search matches domains only on the rows whose domains the viewer may read.
    spec = CustomerFilter(
        search_domains=context.scope.readable_rows("Customer", SEARCHED_FIELDS["Customer"]),
        workgroup_id=workgroup_id,
        search=search,
        status=CustomerStatus(status.value) if status is not None else None,
        tag=tag,
        project_id=project_id,
    )
    session: Session = context.session
    rows = list_customers(
        session=session,
        spec=spec,
        sort=CustomerSort(sort.value),
        offset=page.offset,
        limit=page.limit + 1,
    )
    context.loaders.workgroups.want(row.workgroup_id for row in rows)
    context.loaders.customer_tags.want(row.id for row in rows)
    context.loaders.announce("Customer", (row.id for row in rows))
    return connection(rows, page, lambda: count_customers(session=session, spec=spec))


def customer_by_id(context: Context, global_id: str):
    pk = decode_pk(global_id, "Customer")
    if pk is None:
        return None
    return get_customer(session=context.session, customer_id=pk)


def open_customer(context: Context, global_id: str):
    """`customer(id:)` and `node(id:)`: the customer, noted as opened by the viewer when they
    may see it (recorded once the request is done, see `remember_opened_customers`)."""
    row = customer_by_id(context, global_id)
    if row is not None:
        context.opened_customers.append((row.id, row.workgroup_id))
    return row


# The customers each user opened last, as this process recorded them: opening the same ones
# again within REPEAT_SECONDS (a page refetching what it shows) writes nothing.
REPEAT_SECONDS = 10.0
_last_recorded: "OrderedDict[int, tuple[tuple[int, ...], float]]" = OrderedDict()
_last_recorded_lock = threading.Lock()


def _repeated(user_id: int, opened: tuple[int, ...]) -> bool:
    now = time.monotonic()
    with _last_recorded_lock:
        last = _last_recorded.get(user_id)
        if last is not None and last[0] == opened and now - last[1] < REPEAT_SECONDS:
            return True
        _last_recorded[user_id] = (opened, now)
        _last_recorded.move_to_end(user_id)
        while len(_last_recorded) > 10_000:
            _last_recorded.popitem(last=False)
    return False


def forget_recorded_views() -> None:
    """Forgets what this process recorded (for a database whose views were removed)."""
    with _last_recorded_lock:
        _last_recorded.clear()


def remember_opened_customers(context: Context) -> None:
    """Records the customers the request opened, in a transaction of its own: the request's
    was rolled back. A failure to record is logged and never fails the request."""
    if not context.opened_customers:
        return
    # The request's rollback expired the viewer row; its id is kept in the scope.
    viewer_id: int = context.scope.user_id  # type: ignore[assignment]
    if _repeated(viewer_id, tuple(context.opened_customers)):
        return
    session = context.session
    try:
        record_views(
            session=session,
            user_id=viewer_id,
            customers=context.opened_customers,
            at=utcnow(),
        )
        session.commit()
    except SQLAlchemyError:
        log.warning(
            "request %s: the customers opened were not recorded", context.request_id, exc_info=True
        )
        with contextlib.suppress(SQLAlchemyError):
            session.rollback()
        with _last_recorded_lock:
            _last_recorded.pop(viewer_id, None)


def recent_customer_list(context: Context, *, first: int) -> list:
    if first < 0 or first > KEPT_PER_USER:
        raise BadUserInput(f"`first` must be between 0 and {KEPT_PER_USER}.", argument="first")
    rows = recent_customers(
        session=context.session,
        user_id=context.viewer.id,  # type: ignore[arg-type]
        limit=first,
    )
    context.loaders.workgroups.want(row.workgroup_id for row in rows)
    context.loaders.customer_tags.want(row.id for row in rows)
    context.loaders.announce("Customer", (row.id for row in rows))
    return rows


# An id that does not decode to a workgroup matches no workgroup, like any unknown id.
NO_WORKGROUP = -1


def workgroup_filter(global_id: str | None) -> int | None:
    if global_id is None:
        return None
    pk = decode_pk(global_id, "Workgroup")
    return NO_WORKGROUP if pk is None else pk


@strawberry.type
class CustomerQueries:
    @strawberry.field(
        description="Customers the viewer may see; without `workgroupId`, across all their "
        "workgroups. `search` matches company name or domain, case-insensitively."
    )
    def customers(
        self,
        info: Info,
        workgroup_id: strawberry.ID | None = None,
        search: str | None = None,
        status: CustomerStatusType | None = CustomerStatusType.ACTIVE,
        sort: CustomerSortType = CustomerSortType.NAME_ASC,
        tag: str | None = None,
        first: int = 50,
        after: str | None = None,
        project_id: strawberry.ID | None = None,
    ) -> Connection[Customer] | None:
        project = None
        if project_id is not None:
            project = decode_pk(project_id, "Project")
            project = NO_WORKGROUP if project is None else project
        return customer_page(
            info.context,
            project_id=project,
            workgroup_id=workgroup_filter(workgroup_id),
            search=search,
            status=status,
            sort=sort,
            tag=tag,
            first=first,
            after=after,
        )

    @strawberry.field(description="One customer; opening it puts it in `me.recentCustomers`.")
    def customer(self, info: Info, id: strawberry.ID) -> Customer | None:
        return open_customer(info.context, id)
