"""Reading agreements: the lists, one by id, and the customer-activity dashboard."""

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from graph.agreements.activity import CustomerActivity
from graph.agreements.loaders import agreement_loaders
from graph.agreements.types import Agreement
from graph.ids import decode_pk
from graph.pagination import Connection, Page, connection
from models.agreements import operations as domain
from models.agreements.tables import Agreement as AgreementRow
from models.agreements.tables import ConsumptionRecord as ConsumptionRecordRow
from models.agreements.tables import Package as PackageRow
from models.agreements.tables import ServiceAmount as ServiceAmountRow

NO_WORKGROUP = -1


def workgroup_pks(ids: list[strawberry.ID] | None) -> list[int] | None:
    """Workgroup filter from global ids; an id that is no workgroup's matches nothing."""
    if ids is None:
        return None
    return [pk if (pk := decode_pk(i, "Workgroup")) is not None else NO_WORKGROUP for i in ids]


def agreement_page(
    info: Info,
    *,
    workgroup_ids: list[int] | None,
    customer_id: int | None,
    active: bool | None,
    first: int,
    after: str | None,
) -> Connection:
    context = info.context
    page = Page.from_args(first, after, context.settings.max_page_size)
    loaders = agreement_loaders(context)
    query = domain.agreement_query(
        workgroup_ids=workgroup_ids,
        customer_ids=None if customer_id is None else [customer_id],
        active=active,
        today=loaders.today,
    )
    rows = list(
        context.session.execute(
            query.order_by(*domain.AGREEMENT_ORDER).offset(page.offset).limit(page.limit + 1)
        ).scalars()
    )
    loaders.announce_agreements(rows)
    return connection(rows, page, lambda: domain.count_rows(session=context.session, query=query))


def agreements_of_customer(info: Info, customer_id: int, active: bool | None) -> list:
    rows = agreement_loaders(info.context).agreements_by_customer.get(customer_id)
    if active is None:
        return rows
    today = agreement_loaders(info.context).today
    return [row for row in rows if row.is_active(today) is active]


def by_id(table, type_name: str):
    """A fetcher of one row of `table` by global id, through the type's row rule."""

    def fetch(info: Info, global_id: str):
        pk = decode_pk(global_id, type_name)
        if pk is None:
            return None
        return info.context.session.execute(select(table).where(table.id == pk)).scalars().first()

    return fetch


agreement_by_id = by_id(AgreementRow, "Agreement")
package_by_id = by_id(PackageRow, "Package")
service_amount_by_id = by_id(ServiceAmountRow, "ServiceAmount")


def consumption_record_by_id(info: Info, global_id: str):
    pk = decode_pk(global_id, "ConsumptionRecord")
    if pk is None:
        return None
    return (
        info.context.session.execute(
            select(ConsumptionRecordRow)
            .join(ServiceAmountRow, ServiceAmountRow.id == ConsumptionRecordRow.service_amount_id)
            .where(ConsumptionRecordRow.id == pk)
        )
        .scalars()
        .first()
    )


@strawberry.type
class AgreementQueries:
    @strawberry.field(description="Support agreements the viewer may see, latest ending first.")
    def agreements(
        self,
        info: Info,
        workgroup_ids: list[strawberry.ID] | None = None,
        customer_id: strawberry.ID | None = None,
        active: bool | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[Agreement] | None:
        customer_pk = None
        if customer_id is not None:
            customer_pk = decode_pk(customer_id, "Customer")
            if customer_pk is None:
                customer_pk = NO_WORKGROUP
        return agreement_page(
            info,
            workgroup_ids=workgroup_pks(workgroup_ids),
            customer_id=customer_pk,
            active=active,
            first=first,
            after=after,
        )

    @strawberry.field(
        description="The activity dashboard; without `workgroupIds`, across every workgroup "
        "the viewer can see."
    )
    def customer_activity(
        self,
        info: Info,
        workgroup_ids: list[strawberry.ID] | None = None,
        agreement_id: strawberry.ID | None = None,
    ) -> CustomerActivity | None:
        activity = CustomerActivity(workgroup_ids=workgroup_pks(workgroup_ids), agreement_id=None)
        if agreement_id is not None:
            activity.agreement_id = activity._visible_agreement(info, agreement_id).id
        return activity
