"""Batch loaders for agreements and everything under them. Each level announces the keys of
the rows it loaded to the level below, so a nested dashboard query costs one statement per
level, whatever the number of rows."""

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import select

from engine.among import among
from graph.loaders import BatchLoader, LoaderFamily
from graph.support.loaders import support_loaders
from models.agreements import operations as domain
from models.agreements.tables import Agreement, ConsumptionRecord, Package, ServiceAmount
from models.core.enums import PackageKind, PackageStatus
from models.core.paging import pages_by_parent
from models.customers.tables import Customer
from models.support.tables import SupportCase


def _grouped(rows, key) -> dict:
    found: dict = defaultdict(list)
    for row in rows:
        found[key(row)].append(row)
    return found


class AgreementLoaders:
    def __init__(self, context):
        self.context = context
        self.session = context.session
        self.scope = context.scope
        self.today = domain.today_utc()
        session = self.session

        def agreements_by_customer(ids: list[int]) -> dict:
            rows = domain.list_agreements(
                session=session,
                customer_ids=ids,
                today=self.today,
            )
            self.announce_agreements(rows)
            return _grouped(rows, lambda a: a.customer_id)

        def packages_by_agreement(kind: PackageKind | None, status: PackageStatus | None):
            def load(ids: list[int]) -> dict:
                rows = domain.packages_of(
                    session=session,
                    agreement_ids=ids,
                    kind=kind,
                    status=status,
                )
                self.announce_packages(rows)
                return _grouped(rows, lambda p: p.agreement_id)

            return load

        def amounts_by_package(ids: list[int]) -> dict:
            rows = domain.service_amounts_of(session=session, package_ids=ids)
            self.announce_amounts(rows)
            return _grouped(rows, lambda s: s.package_id)

        def consumption_by_amount(offset: int, limit: int, date_from, date_to):
            return lambda ids: self._consumption_pages(ids, offset, limit, date_from, date_to)

        def customers_by_id(ids: list[int]) -> dict:
            rows = session.execute(select(Customer).where(among(Customer.id, ids))).scalars()
            return {c.id: c for c in rows}

        self.agreements_by_customer = BatchLoader(agreements_by_customer, list)
        self.packages = LoaderFamily(packages_by_agreement, list)
        self.service_amounts = BatchLoader(amounts_by_package, list)
        self.used = BatchLoader(
            lambda ids: domain.used_by_amount(session=session, service_amount_ids=ids),
            lambda: Decimal(0),
        )
        self.consumption = LoaderFamily(consumption_by_amount, lambda: ([], 0))

        def cases_by_id(ids: list[int]) -> dict:
            # Through the request's session: a case the viewer may not see is not found.
            rows = list(
                session.execute(select(SupportCase).where(among(SupportCase.id, ids))).scalars()
            )
            support_loaders(context).announce_cases(rows)
            return {c.id: c for c in rows}

        self.customers = BatchLoader(customers_by_id, lambda: None)
        self.cases = BatchLoader(cases_by_id, lambda: None)
        context.loaders.listen("Customer", self.agreements_by_customer.want)

    # -- announcing what the next level will ask for

    def announce_agreements(self, rows: list[Agreement]) -> None:
        self.packages.want(a.id for a in rows)
        self.customers.want(a.customer_id for a in rows)
        self.context.loaders.workgroups.want(a.workgroup_id for a in rows)

    def announce_packages(self, rows: list[Package]) -> None:
        self.service_amounts.want(p.id for p in rows)

    def announce_amounts(self, rows: list[ServiceAmount]) -> None:
        ids = [s.id for s in rows]
        self.used.want(ids)
        self.consumption.want(ids)

    def announce_records(self, rows: list[ConsumptionRecord]) -> None:
        self.cases.want(r.case_id for r in rows if r.case_id is not None)

    # -- one page of consumption for each of many service amounts, in two statements

    def _consumption_pages(
        self,
        ids: list[int],
        offset: int,
        limit: int,
        date_from: dt.date | None,
        date_to: dt.date | None,
    ) -> dict[int, tuple[list[ConsumptionRecord], int]]:
        query = domain.consumption_query(
            date_from=date_from,
            date_to=date_to,
        )
        pages = pages_by_parent(
            session=self.session,
            query=query,
            entity=ConsumptionRecord,
            parent_column=ConsumptionRecord.service_amount_id,
            order_by=(ConsumptionRecord.date.desc(), ConsumptionRecord.id.desc()),  # type: ignore[attr-defined]
            parent_ids=ids,
            offset=offset,
            limit=limit,
        )
        self.announce_records([row for rows, _ in pages.values() for row in rows])
        return pages


def agreement_loaders(context) -> AgreementLoaders:
    return context.loaders.family("agreements", lambda: AgreementLoaders(context))
