"""Batch loaders for what hangs off support cases; every list of cases announces its rows."""

from sqlalchemy import select

from engine.among import among
from graph.loaders import BatchLoader, LoaderFamily
from models.agreements.tables import Agreement
from models.core.paging import pages_by_parent
from models.customers.tables import Customer
from models.support import operations as domain
from models.support.tables import SupportCase


class SupportLoaders:
    def __init__(self, context):
        session = context.session
        self.context = context

        def visible_by_id(table):
            def load(ids: list[int]) -> dict:
                rows = session.execute(select(table).where(among(table.id, ids))).scalars()
                return {row.id: row for row in rows}

            return load

        self.customers = BatchLoader(visible_by_id(Customer), lambda: None)
        self.agreements = BatchLoader(visible_by_id(Agreement), lambda: None)
        self.shared_with = BatchLoader(
            lambda ids: domain.shared_with(session=session, case_ids=ids), list
        )
        self.groups = BatchLoader(
            lambda ids: domain.groups_with_access(session=session, case_ids=ids), list
        )
        self.members = BatchLoader(
            lambda ids: domain.group_members(session=session, group_ids=ids), list
        )

        def cases_by_customer(status, offset: int, limit: int):
            def load(ids: list[int]) -> dict:
                pages = pages_by_parent(
                    session=session,
                    query=domain.case_query(status=status),
                    entity=SupportCase,
                    parent_column=SupportCase.customer_id,
                    order_by=domain.CASE_ORDER,
                    parent_ids=ids,
                    offset=offset,
                    limit=limit,
                )
                self.announce_cases([case for rows, _ in pages.values() for case in rows])
                return pages

            return load

        self.cases_by_customer = LoaderFamily(cases_by_customer, lambda: ([], 0))
        context.loaders.listen("Customer", self.cases_by_customer.want)

    def announce_cases(self, rows) -> None:
        self.customers.want(r.customer_id for r in rows if r.customer_id is not None)
        self.agreements.want(r.agreement_id for r in rows if r.agreement_id is not None)
        self.shared_with.want(r.id for r in rows)
        self.groups.want(r.id for r in rows)
        self.context.loaders.users.want(r.primary_contact_id for r in rows)


def support_loaders(context) -> SupportLoaders:
    return context.loaders.family("support", lambda: SupportLoaders(context))
