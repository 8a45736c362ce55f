"""The customer-activity dashboard: active agreements, enterprise totals, add-on packages and
drill-downs per category. Totals are computed in SQL over the rows the viewer may see."""

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy import and_, true
from strawberry.types import Info

from graph.agreements.loaders import agreement_loaders
from graph.agreements.types import (
    Agreement,
    AmountKind,
    AmountUnit,
    ConsumptionRecord,
    Package,
    PackageStatus,
    ServiceCategory,
    check_date_range,
)
from graph.errors import BadUserInput
from graph.ids import decode_pk
from graph.pagination import Connection, Page, connection
from models.agreements import operations as domain
from models.agreements.tables import Agreement as AgreementRow
from models.agreements.tables import ServiceAmount as ServiceAmountRow
from models.core import enums

if TYPE_CHECKING:
    from graph.support.types import AdditionalCase

DrillDownCategory = strawberry.enum(enums.DrillDownCategory, name="DrillDownCategory")


@strawberry.type(description="Purchased, used and available of one category; null for benefits.")
class CategoryTotal:
    category: ServiceCategory
    kind: AmountKind
    unit: AmountUnit | None
    purchased: float | None
    used: float | None
    available: float | None
    description: str | None
    action_url: str | None


@strawberry.type(description="The detail of one category: totals and the consumption grid.")
class DrillDown:
    category: DrillDownCategory
    unit: AmountUnit | None
    purchased: float | None
    used: float | None
    available: float | None
    description: str | None
    action_url: str | None
    amounts: strawberry.Private[object]
    workgroup_ids: strawberry.Private[list[int] | None]

    @strawberry.field(description="Consumption records of the category, newest first.")
    def records(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        from_: Annotated[dt.date | None, strawberry.argument(name="from")] = None,
        to: dt.date | None = None,
    ) -> Connection[ConsumptionRecord]:
        check_date_range(from_, to)
        page = Page.from_args(first, after, info.context.settings.max_page_size)
        session = info.context.session
        query = domain.consumption_query(
            service_amounts=self.amounts,
            date_from=from_,
            date_to=to,
        )
        rows = domain.consumption_page(
            session=session, query=query, offset=page.offset, limit=page.limit + 1
        )
        agreement_loaders(info.context).announce_records(rows)
        return connection(rows, page, lambda: domain.count_rows(session=session, query=query))

    @strawberry.field(
        description="For ADDITIONAL_CASES: the visible cases that do not count against a "
        "current agreement of the selected workgroups, each with the reason; else null."
    )
    def additional_cases(
        self, info: Info, first: int = 50, after: str | None = None
    ) -> Connection[Annotated["AdditionalCase", strawberry.lazy("graph.support.types")]] | None:
        if self.category is not enums.DrillDownCategory.ADDITIONAL_CASES:
            return None
        from graph.support.queries import additional_case_page

        return additional_case_page(
            info, workgroup_ids=self.workgroup_ids, first=first, after=after
        )


def _total(total: domain.CategoryTotal) -> CategoryTotal:
    return CategoryTotal(
        category=total.category,
        kind=total.kind,
        unit=total.unit,
        purchased=total.purchased,  # type: ignore[arg-type]
        used=total.used,  # type: ignore[arg-type]
        available=total.available,  # type: ignore[arg-type]
        description=total.description,
        action_url=total.action_url,
    )


@strawberry.type(description="What was bought under the viewer's support agreements, and used.")
class CustomerActivity:
    workgroup_ids: strawberry.Private[list[int] | None]
    agreement_id: strawberry.Private[int | None]

    def _counted(self, info: Info, agreement_id: int | None, kind: enums.PackageKind | None = None):
        """The service amounts the tiles count (domain.counted_condition: ACTIVE packages of
        `kind`, or of every tile kind, in active agreements), in the selected workgroups (or
        the agreement asked for)."""
        loaders = agreement_loaders(info.context)
        return and_(
            domain.counted_condition(loaders.today, kind),
            AgreementRow.workgroup_id.in_(self.workgroup_ids)  # type: ignore[attr-defined]
            if self.workgroup_ids is not None
            else true(),
            AgreementRow.id == agreement_id if agreement_id is not None else true(),
        )

    @strawberry.field(description="The active agreements, with their dates.")
    def agreements(self, info: Info) -> list[Agreement]:
        loaders = agreement_loaders(info.context)
        rows = list(
            info.context.session.execute(
                domain.agreement_query(
                    workgroup_ids=self.workgroup_ids,
                    agreement_id=self.agreement_id,
                    active=True,
                    today=loaders.today,
                ).order_by(*domain.AGREEMENT_ORDER)
            ).scalars()
        )
        loaders.announce_agreements(rows)
        return rows  # type: ignore[return-value]

    @strawberry.field(
        description="One total per category over the active ENTERPRISE packages; "
        "BENEFIT lines are listed without numbers."
    )
    def enterprise(self, info: Info) -> list[CategoryTotal]:
        amounts = self._counted(info, self.agreement_id, enums.PackageKind.ENTERPRISE)
        return [
            _total(t) for t in domain.category_totals(session=info.context.session, amounts=amounts)
        ]

    @strawberry.field(description="The add-on packages of one agreement, by expiry.")
    def add_on_packages(
        self,
        info: Info,
        agreement_id: strawberry.ID,
        package_id: strawberry.ID | None = None,
        status: PackageStatus | None = None,
    ) -> list[Package]:
        agreement = self._visible_agreement(info, agreement_id)
        package_pk = None
        if package_id is not None:
            package_pk = decode_pk(package_id, "Package")
            if package_pk is None:
                raise BadUserInput("No package with this id.", argument="packageId")
        rows = domain.packages_of(
            session=info.context.session,
            agreement_ids=[agreement.id],  # type: ignore[list-item]
            kind=enums.PackageKind.ADD_ON,
            status=enums.PackageStatus(status.value) if status else None,
            package_id=package_pk,
        )
        agreement_loaders(info.context).announce_packages(rows)
        return rows  # type: ignore[return-value]

    @strawberry.field(
        description="Totals, description, action link and records of one category, over "
        "exactly the lines the tiles count: ACTIVE enterprise and add-on packages of the "
        "active agreements."
    )
    def drill_down(
        self, info: Info, category: DrillDownCategory, agreement_id: strawberry.ID | None = None
    ) -> DrillDown:
        chosen = self.agreement_id
        if agreement_id is not None:
            chosen = self._visible_agreement(info, agreement_id).id
        amounts = and_(
            self._counted(info, chosen),
            ServiceAmountRow.category == category.value,
        )
        totals = domain.category_totals(session=info.context.session, amounts=amounts)
        consumable = [t for t in totals if t.kind is enums.AmountKind.CONSUMABLE]
        first = consumable[0] if consumable else (totals[0] if totals else None)
        # Quantities of different units (hours and seats) never add up to one total.
        one_unit = len({t.unit for t in consumable}) == 1
        summed = domain.sum_totals(consumable) if one_unit else None
        return DrillDown(
            category=category,
            unit=first.unit if first and (one_unit or not consumable) else None,
            purchased=summed[0] if summed else None,  # type: ignore[arg-type]
            used=summed[1] if summed else None,  # type: ignore[arg-type]
            available=summed[0] - summed[1] if summed else None,  # type: ignore[arg-type]
            description=first.description if first else None,
            action_url=first.action_url if first else None,
            amounts=amounts,
            workgroup_ids=self.workgroup_ids,
        )

    def _visible_agreement(self, info: Info, agreement_id: str) -> AgreementRow:
        pk = decode_pk(agreement_id, "Agreement")
        row = None
        if pk is not None:
            row = (
                info.context.session.execute(
                    domain.agreement_query(
                        workgroup_ids=self.workgroup_ids,
                        agreement_id=pk,
                        today=agreement_loaders(info.context).today,
                    )
                )
                .scalars()
                .first()
            )
        if row is None:
            raise BadUserInput("No agreement with this id.", argument="agreementId")
        return row
