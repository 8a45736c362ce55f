"""A customer's overview in numbers: how many contacts, open cases and active agreements it
has, which services it used most, and its packages.

Each function answers for many customers at once, in one statement grouped by customer, over
the rows the session lets its viewer see (policies.restriction): the same rows as the lists, so
no count includes a row the viewer could not see in them.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlmodel import Session

from engine.among import among
from models.agreements.operations import active_condition
from models.agreements.tables import Agreement, ConsumptionRecord, Package, ServiceAmount
from models.core.enums import AmountUnit, CaseStatus, ServiceCategory
from models.partner.tables import Contact
from models.support.tables import SupportCase


def _counts(session: Session, query, customer_ids: list[int]) -> dict[int, int]:
    found = dict.fromkeys(customer_ids, 0)
    found.update(dict(session.execute(query).all()))  # type: ignore[arg-type]
    return found


def contact_counts(*, session: Session, customer_ids: list[int]) -> dict[int, int]:
    """Contacts of each customer (every contact `Customer.contacts` lists)."""
    return _counts(
        session,
        select(Contact.customer_id, func.count())
        .where(among(Contact.customer_id, customer_ids))
        .group_by(Contact.customer_id),
        customer_ids,
    )


def open_case_counts(*, session: Session, customer_ids: list[int]) -> dict[int, int]:
    """OPEN support cases of each customer."""
    return _counts(
        session,
        select(SupportCase.customer_id, func.count())
        .where(
            SupportCase.status == CaseStatus.OPEN.value,
            among(SupportCase.customer_id, customer_ids),
        )
        .group_by(SupportCase.customer_id),
        customer_ids,
    )


def active_agreement_counts(
    *, session: Session, customer_ids: list[int], today: dt.date
) -> dict[int, int]:
    """Agreements of each customer active on `today`."""
    return _counts(
        session,
        select(Agreement.customer_id, func.count())
        .where(
            active_condition(today),
            among(Agreement.customer_id, customer_ids),
        )
        .group_by(Agreement.customer_id),
        customer_ids,
    )


@dataclass(frozen=True, slots=True)
class ServiceUsage:
    category: ServiceCategory
    unit: AmountUnit | None
    used: Decimal


def service_usage(*, session: Session, customer_ids: list[int]) -> dict[int, list[ServiceUsage]]:
    """Consumption of each customer summed per category (and unit: hours and credits never
    add up), most used first, over every agreement of the customer — active or not."""
    used = func.sum(ConsumptionRecord.quantity)
    rows = session.execute(
        select(Agreement.customer_id, ServiceAmount.category, ServiceAmount.unit, used)
        .select_from(ConsumptionRecord)
        .join(ServiceAmount, ServiceAmount.id == ConsumptionRecord.service_amount_id)
        .join(Package, Package.id == ServiceAmount.package_id)
        .join(Agreement, Agreement.id == Package.agreement_id)
        .where(among(Agreement.customer_id, customer_ids))
        .group_by(Agreement.customer_id, ServiceAmount.category, ServiceAmount.unit)
        .order_by(Agreement.customer_id, used.desc(), ServiceAmount.category, ServiceAmount.unit)
    ).all()
    found: dict[int, list[ServiceUsage]] = {cid: [] for cid in customer_ids}
    for customer_id, category, unit, total in rows:
        found[customer_id].append(
            ServiceUsage(
                category=ServiceCategory(category),
                unit=AmountUnit(unit) if unit else None,
                used=Decimal(total or 0),
            )
        )
    return found


@dataclass(frozen=True, slots=True)
class PackageLine:
    package: Package
    agreement_number: str


def package_lines(*, session: Session, customer_ids: list[int]) -> dict[int, list[PackageLine]]:
    """The packages of each customer's agreements, by expiry."""
    rows = session.execute(
        select(Agreement.customer_id, Agreement.number, Package)
        .join(Agreement, Agreement.id == Package.agreement_id)
        .where(among(Agreement.customer_id, customer_ids))
        .order_by(Agreement.customer_id, Package.expires_on, Package.id)
    ).all()
    found: dict[int, list[PackageLine]] = {cid: [] for cid in customer_ids}
    for customer_id, number, package in rows:
        found[customer_id].append(PackageLine(package=package, agreement_number=number))
    return found
