"""The floor for each benchmark query: handwritten SQL for the same rows and columns, shaped
into the same nesting and encoded with orjson. Each returns the seconds it took."""

import csv
import io
import time
from collections import defaultdict

import orjson
from sqlalchemy import and_, exists, func, or_, select

from engine.among import among
from models.accounts.tables import GroupMember, User, Workgroup
from models.agreements.operations import today_utc
from models.agreements.tables import Agreement, ConsumptionRecord, Package, ServiceAmount
from models.customers.tables import Customer, CustomerTag, Tag
from models.support.tables import CaseGroupAccess, CaseShare, SupportCase


def _timed(work) -> float:
    started = time.perf_counter()
    orjson.dumps(work())
    return time.perf_counter() - started


def _tags(connection, ids):
    found = defaultdict(list)
    for cid, name in connection.execute(
        select(CustomerTag.customer_id, Tag.name)
        .join(Tag, Tag.id == CustomerTag.tag_id)
        .where(among(CustomerTag.customer_id, ids))
    ):
        found[cid].append(name)
    return found


def _page(workgroup_id, first):
    return (
        select(Customer)
        .where(Customer.workgroup_id == workgroup_id, Customer.status == "ACTIVE")
        .order_by(func.lower(Customer.company_name), Customer.id)
        .limit(first)
    )


def q1(engine, customer_id) -> float:
    def work():
        with engine.connect() as c:
            row = c.execute(
                select(Customer, Workgroup.name.label("wg"))
                .join(Workgroup, Workgroup.id == Customer.workgroup_id)
                .where(Customer.id == customer_id)
            ).one()
            return {
                "id": row.id,
                "companyName": row.company_name,
                "primaryDomain": row.primary_domain,
                "primaryLocation": row.primary_location,
                "city": row.city,
                "industry": row.industry,
                "companySize": row.company_size,
                "rank": row.rank,
                "businessId": row.business_id,
                "status": row.status,
                "tags": _tags(c, [customer_id])[customer_id],
                "workgroup": {"name": row.wg},
            }

    return _timed(work)


def q2(engine, workgroup_id, first) -> float:
    def work():
        with engine.connect() as c:
            customers = c.execute(_page(workgroup_id, first)).all()
            ids = [r.id for r in customers]
            agreements = c.execute(select(Agreement).where(among(Agreement.customer_id, ids))).all()
            packages = c.execute(
                select(Package).where(among(Package.agreement_id, [a.id for a in agreements]))
            ).all()
            amounts = c.execute(
                select(ServiceAmount).where(
                    among(ServiceAmount.package_id, [p.id for p in packages])
                )
            ).all()
            used = dict(
                c.execute(
                    select(
                        ConsumptionRecord.service_amount_id, func.sum(ConsumptionRecord.quantity)
                    )
                    .where(among(ConsumptionRecord.service_amount_id, [a.id for a in amounts]))
                    .group_by(ConsumptionRecord.service_amount_id)
                ).all()
            )
        by_package = defaultdict(list)
        for a in amounts:
            consumable = a.kind == "CONSUMABLE"
            spent = float(used.get(a.id) or 0)
            by_package[a.package_id].append(
                {
                    "id": a.id,
                    "category": a.category,
                    "kind": a.kind,
                    "unit": a.unit,
                    "purchased": float(a.purchased) if consumable else None,
                    "used": spent if consumable else None,
                    "available": float(a.purchased) - spent if consumable else None,
                }
            )
        by_agreement = defaultdict(list)
        for p in packages:
            by_agreement[p.agreement_id].append(
                {"id": p.id, "name": p.name, "kind": p.kind, "serviceAmounts": by_package[p.id]}
            )
        by_customer = defaultdict(list)
        for a in agreements:
            by_customer[a.customer_id].append(
                {
                    "id": a.id,
                    "number": a.number,
                    "endsOn": a.ends_on.isoformat(),
                    "packages": by_agreement[a.id],
                }
            )
        return [
            {"id": r.id, "companyName": r.company_name, "agreements": by_customer[r.id]}
            for r in customers
        ]

    return _timed(work)


def q2_restricted(engine, workgroup_id, first) -> float:
    def work():
        with engine.connect() as c:
            rows = c.execute(_page(workgroup_id, first)).all()
        return [{"id": r.id, "companyName": r.company_name, "agreements": None} for r in rows]

    return _timed(work)


def q3(engine, workgroup_id, first) -> float:
    def work():
        with engine.connect() as c:
            rows = c.execute(_page(workgroup_id, first)).all()
            total = c.execute(
                select(func.count())
                .select_from(Customer)
                .where(Customer.workgroup_id == workgroup_id, Customer.status == "ACTIVE")
            ).scalar_one()
            tags = _tags(c, [r.id for r in rows])
            name = c.execute(
                select(Workgroup.name).where(Workgroup.id == workgroup_id)
            ).scalar_one()
        return {
            "totalCount": total,
            "edges": [
                {
                    "node": {
                        "id": r.id,
                        "companyName": r.company_name,
                        "primaryDomain": r.primary_domain,
                        "domains": r.domains,
                        "primaryLocation": r.primary_location,
                        "city": r.city,
                        "state": r.state,
                        "address": r.address,
                        "postalCode": r.postal_code,
                        "phone": r.phone,
                        "fax": r.fax,
                        "industry": r.industry,
                        "companySize": r.company_size,
                        "rank": r.rank,
                        "businessId": r.business_id,
                        "renewalPolicy": r.renewal_policy,
                        "relationship": r.relationship,
                        "status": r.status,
                        "tags": tags[r.id],
                        "workgroup": {"id": r.workgroup_id, "name": name},
                        "createdAt": r.created_at.isoformat(),
                        "updatedAt": r.updated_at.isoformat(),
                        "archivedAt": None,
                        "version": r.version,
                    }
                }
                for r in rows
            ],
        }

    return _timed(work)


def q5(engine, email, first) -> float:
    def work():
        with engine.connect() as c:
            uid = c.execute(select(User.id).where(User.email == email)).scalar_one()
            mine = or_(
                SupportCase.primary_contact_id == uid,
                exists().where(CaseShare.case_id == SupportCase.id, CaseShare.user_id == uid),
                exists().where(
                    CaseGroupAccess.case_id == SupportCase.id,
                    GroupMember.group_id == CaseGroupAccess.group_id,
                    GroupMember.user_id == uid,
                ),
            )
            rows = c.execute(
                select(SupportCase, User.email.label("contact"))
                .join(User, User.id == SupportCase.primary_contact_id)
                .where(mine)
                .order_by(SupportCase.created_at.desc(), SupportCase.id.desc())
                .limit(first)
            ).all()
            total = c.execute(
                select(func.count()).select_from(SupportCase).where(mine)
            ).scalar_one()
        return {
            "totalCount": total,
            "edges": [
                {
                    "node": {
                        "id": r.id,
                        "number": r.number,
                        "title": r.title,
                        "status": r.status,
                        "severity": r.severity,
                        "classification": r.classification,
                        "createdAt": r.created_at.isoformat(),
                        "primaryContact": {"email": r.contact},
                    }
                }
                for r in rows
            ],
        }

    return _timed(work)


def q6(engine, workgroup_id) -> float:
    def work():
        today = today_utc()
        active = and_(
            Agreement.workgroup_id == workgroup_id,
            Agreement.starts_on <= today,
            Agreement.ends_on >= today,
        )
        with engine.connect() as c:
            agreements = c.execute(
                select(Agreement.id, Agreement.number, Agreement.ends_on).where(active)
            ).all()
            lines = c.execute(
                select(
                    ServiceAmount.category,
                    ServiceAmount.kind,
                    ServiceAmount.unit,
                    func.sum(ServiceAmount.purchased),
                )
                .join(Package, Package.id == ServiceAmount.package_id)
                .join(Agreement, Agreement.id == Package.agreement_id)
                .where(active, Package.kind == "ENTERPRISE", Package.status == "ACTIVE")
                .group_by(ServiceAmount.category, ServiceAmount.kind, ServiceAmount.unit)
            ).all()
            used = dict(
                c.execute(
                    select(ServiceAmount.category, func.sum(ConsumptionRecord.quantity))
                    .join(ServiceAmount, ServiceAmount.id == ConsumptionRecord.service_amount_id)
                    .join(Package, Package.id == ServiceAmount.package_id)
                    .join(Agreement, Agreement.id == Package.agreement_id)
                    .where(active, Package.kind == "ENTERPRISE", Package.status == "ACTIVE")
                    .group_by(ServiceAmount.category)
                ).all()
            )
        return {
            "agreements": [
                {"id": a.id, "number": a.number, "endsOn": a.ends_on.isoformat()}
                for a in agreements
            ],
            "enterprise": [
                {
                    "category": cat,
                    "kind": kind,
                    "unit": unit,
                    "purchased": float(p) if p is not None else None,
                    "used": float(used.get(cat) or 0) if p is not None else None,
                }
                for cat, kind, unit, p in lines
            ],
        }

    return _timed(work)


def q7(engine, workgroup_id) -> float:
    started = time.perf_counter()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(
        [
            "id",
            "company name",
            "primary domain",
            "relationship",
            "tags",
            "status",
            "country",
            "city",
        ]
    )
    with engine.connect() as c:
        rows = c.execute(
            select(Customer)
            .where(Customer.workgroup_id == workgroup_id)
            .order_by(Customer.company_name, Customer.id)
        ).all()
        tags = _tags(c, [r.id for r in rows])
    for r in rows:
        writer.writerow(
            [
                r.id,
                r.company_name,
                r.primary_domain,
                r.relationship,
                ", ".join(tags[r.id]),
                r.status,
                r.primary_location,
                r.city,
            ]
        )
    buffer.getvalue()
    return time.perf_counter() - started
