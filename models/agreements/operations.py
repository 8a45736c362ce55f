"""Support agreements, their packages and service amounts, and the consumption recorded
against them. `used` and `available` are derived from the records, never stored."""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import (
    ColumnElement,
    and_,
    func,
    select,
)
from sqlmodel import Session

from engine.among import among
from models.agreements.tables import (
    Agreement,
    AgreementRecord,
    ConsumptionRecord,
    Package,
    PackageRecord,
    ServiceAmount,
    ServiceAmountRecord,
)
from models.core.enums import AmountKind, AmountUnit, PackageKind, PackageStatus, ServiceCategory
from models.core.records import load_records


def today_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


# ---------------------------------------------------------------- reading


def active_condition(today: dt.date) -> ColumnElement[bool]:
    return and_(Agreement.starts_on <= today, Agreement.ends_on >= today)


# The package kinds the dashboard's tiles count: the enterprise tile ENTERPRISE packages, the
# add-on tiles ADD_ON packages. A drill-down covers every tile of its category.
TILE_KINDS = (PackageKind.ENTERPRISE, PackageKind.ADD_ON)


def counted_condition(today: dt.date, kind: PackageKind | None = None) -> ColumnElement[bool]:
    """The service amounts the dashboard counts (a condition on the package and agreement of a
    line): the lines of ACTIVE packages of agreements active on `today` — of `kind` (one
    tile), or of every tile kind (a drill-down). INACTIVE packages (a suspended enterprise
    package, a retired add-on) are listed but never counted. The one definition behind
    `enterprise` and `drillDown` totals and the drill-down's records, so they cannot diverge."""
    kinds = TILE_KINDS if kind is None else (kind,)
    return and_(
        active_condition(today),
        Package.status == PackageStatus.ACTIVE.value,
        Package.kind.in_([k.value for k in kinds]),  # type: ignore[attr-defined]
    )


def agreement_query(
    *,
    workgroup_ids: Iterable[int] | None = None,
    customer_ids: Iterable[int] | None = None,
    agreement_id: int | None = None,
    active: bool | None = None,
    today: dt.date,
):
    query = select(Agreement)
    if workgroup_ids is not None:
        query = query.where(Agreement.workgroup_id.in_(list(workgroup_ids)))  # type: ignore[attr-defined]
    if customer_ids is not None:
        query = query.where(among(Agreement.customer_id, list(customer_ids)))
    if agreement_id is not None:
        query = query.where(Agreement.id == agreement_id)
    if active is True:
        query = query.where(active_condition(today))
    elif active is False:
        query = query.where(~active_condition(today))
    return query


AGREEMENT_ORDER = (Agreement.ends_on.desc(), Agreement.id)  # type: ignore[attr-defined]


def list_agreements(
    *,
    session: Session,
    workgroup_ids: Iterable[int] | None = None,
    customer_ids: Iterable[int] | None = None,
    active: bool | None = None,
    today: dt.date,
    offset: int = 0,
    limit: int | None = None,
) -> list[AgreementRecord]:
    query = agreement_query(
        workgroup_ids=workgroup_ids,
        customer_ids=customer_ids,
        active=active,
        today=today,
    ).order_by(*AGREEMENT_ORDER)
    if offset or limit is not None:
        query = query.offset(offset).limit(limit)
    return load_records(session, query, AgreementRecord)


def count_rows(*, session: Session, query) -> int:
    return session.execute(select(func.count()).select_from(query.subquery())).scalar_one()


def packages_of(
    *,
    session: Session,
    agreement_ids: list[int],
    kind: PackageKind | None = None,
    status: PackageStatus | None = None,
    package_id: int | None = None,
) -> list[PackageRecord]:
    query = select(Package).where(among(Package.agreement_id, agreement_ids))
    if kind is not None:
        query = query.where(Package.kind == kind.value)
    if status is not None:
        query = query.where(Package.status == status.value)
    if package_id is not None:
        query = query.where(Package.id == package_id)
    query = query.order_by(Package.expires_on, Package.id)
    return load_records(session, query, PackageRecord)


def service_amounts_of(*, session: Session, package_ids: list[int]) -> list[ServiceAmountRecord]:
    query = (
        select(ServiceAmount)
        .where(among(ServiceAmount.package_id, package_ids))
        .order_by(ServiceAmount.category, ServiceAmount.id)
    )
    return load_records(session, query, ServiceAmountRecord)


def used_by_amount(*, session: Session, service_amount_ids: list[int]) -> dict[int, Decimal]:
    """Sum of recorded consumption per service amount (0 where nothing was recorded)."""
    found = dict.fromkeys(service_amount_ids, Decimal(0))
    if not service_amount_ids:
        return found
    rows = session.execute(
        select(ConsumptionRecord.service_amount_id, func.sum(ConsumptionRecord.quantity))
        .where(among(ConsumptionRecord.service_amount_id, service_amount_ids))
        .group_by(ConsumptionRecord.service_amount_id)
    ).all()
    for amount_id, used in rows:
        found[amount_id] = Decimal(used or 0)
    return found


def consumption_query(
    *,
    service_amounts: ColumnElement[bool] | None = None,
    date_from: dt.date | None,
    date_to: dt.date | None,
):
    """Consumption of the service amounts `service_amounts` admits (a condition that may name
    the service amount, its package and its agreement), or of every one."""
    query = (
        select(ConsumptionRecord)
        .join(ServiceAmount, ServiceAmount.id == ConsumptionRecord.service_amount_id)
        .join(Package, Package.id == ServiceAmount.package_id)
        .join(Agreement, Agreement.id == Package.agreement_id)
    )
    if service_amounts is not None:
        query = query.where(service_amounts)
    if date_from is not None:
        query = query.where(ConsumptionRecord.date >= date_from)
    if date_to is not None:
        query = query.where(ConsumptionRecord.date <= date_to)
    return query


def consumption_page(
    *, session: Session, query, offset: int, limit: int
) -> list[ConsumptionRecord]:
    ordered = query.order_by(ConsumptionRecord.date.desc(), ConsumptionRecord.id.desc())  # type: ignore[attr-defined]
    return list(session.execute(ordered.offset(offset).limit(limit)).scalars())


@dataclass(frozen=True, slots=True)
class CategoryTotal:
    category: ServiceCategory
    kind: AmountKind
    unit: AmountUnit | None
    purchased: Decimal | None
    used: Decimal | None
    description: str | None
    action_url: str | None

    @property
    def available(self) -> Decimal | None:
        if self.purchased is None or self.used is None:
            return None
        return self.purchased - self.used


def category_totals(*, session: Session, amounts: ColumnElement[bool]) -> list[CategoryTotal]:
    """Totals per (category, kind, unit) over the service amounts `amounts` admits (a
    condition that may name the service amount, its package and its agreement), in two
    statements whatever the number of lines: the lines' columns, then their consumption summed
    per line through the consumption index (a join grouped by category lets SQLite start from
    the lines of the whole workgroup). BENEFIT lines are listed without numbers. Groups come in
    the order of their categories, then of their first line; a group's description and action
    link are those of its first line that has one."""
    lines = session.execute(
        select(
            ServiceAmount.id,
            ServiceAmount.category,
            ServiceAmount.kind,
            ServiceAmount.unit,
            ServiceAmount.purchased,
            ServiceAmount.description,
            ServiceAmount.action_url,
        )
        .join(Package, Package.id == ServiceAmount.package_id)
        .join(Agreement, Agreement.id == Package.agreement_id)
        .where(amounts)
        .order_by(ServiceAmount.category, ServiceAmount.id)
    ).all()
    used = used_by_amount(session=session, service_amount_ids=[line.id for line in lines])
    groups: dict[tuple[str, str, str | None], list] = {}
    for line in lines:
        groups.setdefault((line.category, line.kind, line.unit), []).append(line)
    totals = []
    for (category, kind, unit), members in groups.items():
        consumable = kind == AmountKind.CONSUMABLE.value
        totals.append(
            CategoryTotal(
                category=ServiceCategory(category),
                kind=AmountKind(kind),
                unit=AmountUnit(unit) if unit else None,
                purchased=sum((m.purchased or Decimal(0) for m in members), Decimal(0))
                if consumable
                else None,
                used=sum((used[m.id] for m in members), Decimal(0)) if consumable else None,
                description=next((m.description for m in members if m.description), None),
                action_url=next((m.action_url for m in members if m.action_url), None),
            )
        )
    return totals


def sum_totals(totals: list[CategoryTotal]) -> tuple[Decimal, Decimal]:
    """(purchased, used) over consumable totals."""
    purchased = sum((t.purchased or Decimal(0) for t in totals), Decimal(0))
    used = sum((t.used or Decimal(0) for t in totals), Decimal(0))
    return purchased, used


# ---------------------------------------------------------------- recording (data loading)


def add_agreement(
    *, session: Session, customer, number: str, name: str, starts_on: dt.date, ends_on: dt.date
) -> Agreement:
    if ends_on < starts_on:
        raise ValueError("an agreement cannot end before it starts")
    agreement = Agreement(
        workgroup_id=customer.workgroup_id,
        customer_id=customer.id,
        number=number,
        name=name,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    session.add(agreement)
    session.flush()
    return agreement


def add_package(
    *,
    session: Session,
    agreement: Agreement,
    name: str,
    kind: PackageKind,
    status: PackageStatus = PackageStatus.ACTIVE,
    starts_on: dt.date | None = None,
    expires_on: dt.date | None = None,
) -> Package:
    package = Package(
        workgroup_id=agreement.workgroup_id,
        agreement_id=agreement.id,
        name=name,
        kind=kind.value,
        status=status.value,
        starts_on=starts_on or agreement.starts_on,
        expires_on=expires_on or agreement.ends_on,
    )
    session.add(package)
    session.flush()
    return package


def add_service_amount(
    *,
    session: Session,
    package: Package,
    category: ServiceCategory,
    kind: AmountKind,
    unit: AmountUnit | None = None,
    purchased: Decimal | int | None = None,
    description: str | None = None,
    action_url: str | None = None,
) -> ServiceAmount:
    """A BENEFIT line is listed, not tracked: it carries no unit or quantity."""
    if kind is AmountKind.BENEFIT:
        unit, purchased = None, None
    elif unit is None or purchased is None:
        raise ValueError("a CONSUMABLE line needs a unit and a purchased quantity")
    amount = ServiceAmount(
        workgroup_id=package.workgroup_id,
        package_id=package.id,
        category=category.value,
        kind=kind.value,
        unit=unit.value if unit else None,
        purchased=Decimal(purchased) if purchased is not None else None,
        description=description,
        action_url=action_url,
    )
    session.add(amount)
    session.flush()
    return amount


def record_consumption(
    *,
    session: Session,
    service_amount: ServiceAmount,
    on: dt.date,
    quantity: Decimal | int | float,
    hours_worked: Decimal | int | float | None = None,
    description: str | None = None,
    case_id: int | None = None,
) -> ConsumptionRecord:
    if service_amount.kind != AmountKind.CONSUMABLE.value:
        raise ValueError("consumption is recorded only against CONSUMABLE lines")
    record = ConsumptionRecord(
        workgroup_id=service_amount.workgroup_id,
        service_amount_id=service_amount.id,
        date=on,
        quantity=Decimal(str(quantity)),
        hours_worked=Decimal(str(hours_worked)) if hours_worked is not None else None,
        description=description,
        case_id=case_id,
    )
    session.add(record)
    return record
