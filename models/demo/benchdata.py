"""A large, deterministic data set for benchmarks: `clientele bench-data --customers N`.

3 workgroups; N customers; about 2.5 agreements per customer, 2 packages per agreement and 6
service amounts per package (one a BENEFIT line); a year of monthly consumption on every
consumable line; `cases` support cases with shares and group grants; users holding every role.
Rows go in with multi-row INSERTs in batches, on SQLite or PostgreSQL alike.
"""

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import insert, select, text
from sqlalchemy.engine import Engine

from models.accounts.tables import GroupMember, RoleAssignment, User, UserGroup, Workgroup
from models.agreements.operations import today_utc
from models.agreements.tables import Agreement, ConsumptionRecord, Package, ServiceAmount
from models.core.enums import (
    AmountKind,
    AmountUnit,
    CaseClassification,
    CaseSeverity,
    CaseStatus,
    PackageKind,
    PackageStatus,
    Role,
    ServiceCategory,
)
from models.customers.tables import Customer, CustomerTag, Tag
from models.db import utcnow
from models.support.tables import CaseGroupAccess, CaseShare, SupportCase

BATCH = 5000
WORKGROUPS = ("Bench North", "Bench South", "Bench West")
LINES = [
    (ServiceCategory.REACTIVE_SUPPORT, AmountUnit.HOURS, 100),
    (ServiceCategory.ADVISORY, AmountUnit.HOURS, 40),
    (ServiceCategory.PROACTIVE, AmountUnit.HOURS, 60),
    (ServiceCategory.EDUCATION_ON_DEMAND, AmountUnit.SEATS, 20),
    (ServiceCategory.PROACTIVE_CREDITS, AmountUnit.CREDITS, 200),
]


@dataclass(frozen=True)
class BenchUsers:
    """Who to sign in as: one user per role in the first workgroup, and a member with cases."""

    @staticmethod
    def email(role: str) -> str:
        return f"{role}@bench.example"

    MEMBER_WITH_CASES = "member0@bench.example"
    # Admin in every workgroup: sees exactly what the authorizer switched off shows, so the
    # two can be compared on the same rows.
    GLOBAL_ADMIN = "root@bench.example"


def _batches(rows: Iterator[dict], size: int = BATCH) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert(connection, table, rows: Iterator[dict]) -> int:
    count = 0
    for batch in _batches(rows):
        connection.execute(insert(table.__table__), batch)
        count += len(batch)
    return count


def build(
    engine: Engine, *, customers: int = 10_000, cases: int = 100_000, users: int = 1000
) -> dict:
    rng = random.Random(7)
    today = today_utc()
    now = utcnow()
    counts: dict[str, int] = {}
    with engine.begin() as connection:
        if connection.execute(select(Workgroup.id).where(Workgroup.name == WORKGROUPS[0])).first():
            raise ValueError("bench data is already loaded in this database")
        workgroup_ids = []
        for name in WORKGROUPS:
            workgroup_ids.append(
                connection.execute(
                    insert(Workgroup.__table__)
                    .values(name=name, created_at=now)
                    .returning(Workgroup.__table__.c.id)
                ).scalar_one()
            )
        first = workgroup_ids[0]

        # Users: one per role in the first workgroup, then `users` members spread over all.
        emails = (
            [BenchUsers.GLOBAL_ADMIN]
            + [BenchUsers.email(role.value) for role in Role]
            + [f"member{i}@bench.example" for i in range(users)]
        )
        connection.execute(
            insert(User.__table__), [{"email": e, "created_at": now} for e in emails]
        )
        user_ids = dict(
            connection.execute(
                select(User.email, User.id).where(User.email.like("%@bench.example"))  # type: ignore[attr-defined]
            ).all()
        )
        grants = (
            [
                {
                    "user_id": user_ids[BenchUsers.GLOBAL_ADMIN],
                    "workgroup_id": None,
                    "role": Role.ADMIN.value,
                    "created_at": now,
                }
            ]
            + [
                {
                    "user_id": user_ids[BenchUsers.email(r.value)],
                    "workgroup_id": first,
                    "role": r.value,
                    "created_at": now,
                }
                for r in Role
            ]
            + [
                {
                    "user_id": user_ids[f"member{i}@bench.example"],
                    "workgroup_id": workgroup_ids[i % 3],
                    "role": Role.MEMBER.value,
                    "created_at": now,
                }
                for i in range(users)
            ]
        )
        counts["role_assignment"] = _insert(connection, RoleAssignment, iter(grants))

        # Customers and tags.
        tag_rows = [
            {"workgroup_id": wg, "name": f"tag-{i}", "name_key": f"tag-{i}"}
            for wg in workgroup_ids
            for i in range(10)
        ]
        connection.execute(insert(Tag.__table__), tag_rows)
        tags = connection.execute(select(Tag.id, Tag.workgroup_id)).all()
        tags_by_wg: dict[int, list[int]] = {}
        for tag_id, wg in tags:
            tags_by_wg.setdefault(wg, []).append(tag_id)
        countries = ["US", "DE", "JP", "PL", "NO", "GB", "FR", "BR", "AU", "CA"]

        def customer_rows():
            for i in range(customers):
                yield {
                    "workgroup_id": workgroup_ids[i % 3],
                    "company_name": f"Customer {i:06d}",
                    "primary_domain": f"customer{i}.example",
                    "domains": [f"mail.customer{i}.example"],
                    "primary_location": countries[i % 10],
                    "city": f"City {i % 50}",
                    "state": None,
                    "address": f"{i} Main Street",
                    "postal_code": f"{10000 + i % 90000}",
                    "phone": "+1 555 0100",
                    "fax": None,
                    "industry": "RETAIL",
                    "company_size": "EMPLOYEES_11_50",
                    "rank": i % 100,
                    "business_id": f"B{i}",
                    "renewal_policy": "AUTO_RENEW",
                    "relationship": "DIRECT",
                    "status": "ACTIVE" if i % 20 else "ARCHIVED",
                    "accept_tickets_from_main_contact_only": False,
                    "created_at": now,
                    "updated_at": now,
                    "archived_at": None if i % 20 else now,
                    "version": 1,
                }

        counts["customer"] = _insert(connection, Customer, customer_rows())
        customer_rows_ = connection.execute(
            select(Customer.id, Customer.workgroup_id).order_by(Customer.id)
        ).all()
        counts["customer_tag"] = _insert(
            connection,
            CustomerTag,
            (
                {"customer_id": cid, "tag_id": tags_by_wg[wg][(cid + k) % 10], "workgroup_id": wg}
                for cid, wg in customer_rows_
                for k in range(cid % 3)
            ),
        )

        # Agreements: 2 or 3 per customer (one of them expired for every other customer).
        def agreement_rows():
            for cid, wg in customer_rows_:
                for k in range(2 + cid % 2):
                    expired = k == 2
                    ends = (
                        today - dt.timedelta(days=30)
                        if expired
                        else today + dt.timedelta(days=60 + k * 90)
                    )
                    yield {
                        "workgroup_id": wg,
                        "customer_id": cid,
                        "number": f"A{cid}-{k}",
                        "name": f"Agreement {cid}-{k}",
                        "starts_on": ends - dt.timedelta(days=365),
                        "ends_on": ends,
                    }

        counts["agreement"] = _insert(connection, Agreement, agreement_rows())
        agreements = connection.execute(
            select(Agreement.id, Agreement.workgroup_id, Agreement.starts_on, Agreement.ends_on)
        ).all()

        def package_rows():
            for aid, wg, starts, ends in agreements:
                for kind in (PackageKind.ENTERPRISE, PackageKind.ADD_ON):
                    yield {
                        "workgroup_id": wg,
                        "agreement_id": aid,
                        "name": kind.value.title(),
                        "kind": kind.value,
                        "status": PackageStatus.ACTIVE.value,
                        "starts_on": starts,
                        "expires_on": ends,
                    }

        counts["package"] = _insert(connection, Package, package_rows())
        packages = connection.execute(
            select(Package.id, Package.workgroup_id, Package.starts_on)
        ).all()

        def amount_rows():
            for pid, wg, _starts in packages:
                for category, unit, purchased in LINES:
                    yield {
                        "workgroup_id": wg,
                        "package_id": pid,
                        "category": category.value,
                        "kind": AmountKind.CONSUMABLE.value,
                        "unit": unit.value,
                        "purchased": purchased,
                        "description": f"{category.value} line",
                        "action_url": "https://support.example/act",
                    }
                yield {
                    "workgroup_id": wg,
                    "package_id": pid,
                    "category": ServiceCategory.CONTACTS.value,
                    "kind": AmountKind.BENEFIT.value,
                    "unit": None,
                    "purchased": None,
                    "description": "Named contacts",
                    "action_url": None,
                }

        counts["service_amount"] = _insert(connection, ServiceAmount, amount_rows())
        starts_by_package = {pid: starts for pid, _wg, starts in packages}
        amounts = connection.execute(
            select(ServiceAmount.id, ServiceAmount.workgroup_id, ServiceAmount.package_id).where(
                ServiceAmount.kind == AmountKind.CONSUMABLE.value
            )
        ).all()

        def consumption_rows():
            for sid, wg, pid in amounts:
                starts = starts_by_package[pid]
                for month in range(12):
                    yield {
                        "workgroup_id": wg,
                        "service_amount_id": sid,
                        "date": starts + dt.timedelta(days=30 * month + sid % 28),
                        "quantity": 1 + (sid + month) % 3,
                        "hours_worked": 1 + (sid + month) % 8,
                        "description": f"Session {month + 1}",
                        "case_id": None,
                    }

        counts["consumption_record"] = _insert(connection, ConsumptionRecord, consumption_rows())

        # Groups: 5 per workgroup with 20 members each (members of that workgroup).
        members_by_wg: dict[int, list[int]] = {wg: [] for wg in workgroup_ids}
        for i in range(users):
            members_by_wg[workgroup_ids[i % 3]].append(user_ids[f"member{i}@bench.example"])
        connection.execute(
            insert(UserGroup.__table__),
            [{"workgroup_id": wg, "name": f"Group {g}"} for wg in workgroup_ids for g in range(5)],
        )
        groups = connection.execute(select(UserGroup.id, UserGroup.workgroup_id)).all()
        groups_by_wg: dict[int, list[int]] = {}
        memberships = []
        for gid, wg in groups:
            groups_by_wg.setdefault(wg, []).append(gid)
            for uid in rng.sample(members_by_wg[wg], min(20, len(members_by_wg[wg]))):
                memberships.append({"group_id": gid, "user_id": uid, "workgroup_id": wg})
        counts["group_member"] = _insert(connection, GroupMember, iter(memberships))

        # Support cases: primary contacts among the workgroup's members; a share on every
        # fourth case and a group grant on every tenth.
        customers_by_wg: dict[int, list[int]] = {}
        for cid, wg in customer_rows_:
            customers_by_wg.setdefault(wg, []).append(cid)
        classifications = [c.value for c in CaseClassification]

        def case_rows():
            for i in range(cases):
                wg = workgroup_ids[i % 3]
                yield {
                    "workgroup_id": wg,
                    "number": i // 3 + 1,
                    "title": f"Case {i}",
                    "description": "Something broke.",
                    "status": CaseStatus.OPEN.value if i % 4 else CaseStatus.CLOSED.value,
                    "severity": CaseSeverity.MODERATE.value,
                    "classification": classifications[i % 17 % 5] if i % 17 < 5 else "STANDARD",
                    "customer_id": customers_by_wg[wg][i % len(customers_by_wg[wg])],
                    "agreement_id": None,
                    "package_id": None,
                    "service_amount_id": None,
                    "primary_contact_id": members_by_wg[wg][i % len(members_by_wg[wg])],
                    "created_at": now - dt.timedelta(minutes=i),
                    "closed_at": None,
                }

        counts["support_case"] = _insert(connection, SupportCase, case_rows())
        case_ids = connection.execute(
            select(SupportCase.id, SupportCase.workgroup_id).order_by(SupportCase.id)
        ).all()
        counts["case_share"] = _insert(
            connection,
            CaseShare,
            (
                {
                    "case_id": cid,
                    "user_id": members_by_wg[wg][(cid * 7) % len(members_by_wg[wg])],
                    "workgroup_id": wg,
                }
                for cid, wg in case_ids
                if cid % 4 == 0
            ),
        )
        counts["case_group_access"] = _insert(
            connection,
            CaseGroupAccess,
            (
                {"case_id": cid, "group_id": groups_by_wg[wg][cid % 5], "workgroup_id": wg}
                for cid, wg in case_ids
                if cid % 10 == 0
            ),
        )
    with engine.connect() as connection:
        # Fresh statistics, or the planner takes the new tables for empty ones and the first
        # benchmark runs measure sequential scans (Q2's floor: 130 ms before, 53 ms after).
        connection.execute(text("ANALYZE"))
        connection.commit()
    return counts
