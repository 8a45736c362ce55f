"""The deterministic demo data set behind `clientele seed --demo`."""

import datetime as dt
import random
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import Session

from models.access.roles import grant_role
from models.accounts.tables import User, Workgroup
from models.agreements.operations import (
    add_agreement,
    add_package,
    add_service_amount,
    record_consumption,
    today_utc,
)
from models.agreements.tables import Agreement, Package, ServiceAmount
from models.core.enums import (
    AmountKind,
    AmountUnit,
    CaseClassification,
    CaseSeverity,
    Catalog,
    CompanySize,
    ContractType,
    Industry,
    PackageKind,
    PackageStatus,
    Relationship,
    RenewalPolicy,
    Role,
    ServiceCategory,
)
from models.customers.operations import add_customer, archive_customer
from models.customers.tables import Customer
from models.partner import operations as partner
from models.support.operations import (
    create_group,
    open_case,
    set_group_access,
    set_group_member,
    share_case,
)
from models.workgroups.operations import create_workgroup

DEMO_USERS = [
    ("admin@northwind.example", Role.ADMIN, "Northwind"),
    ("agent@northwind.example", Role.ADMIN_AGENT, "Northwind"),
    ("sales@northwind.example", Role.SALES_AGENT, "Northwind"),
    ("activity@northwind.example", Role.CUSTOMER_ACTIVITY, "Northwind"),
    ("trainer@northwind.example", Role.TRAINING_MANAGER, "Northwind"),
    ("viewer@northwind.example", Role.SUPPORT_VIEWER, "Northwind"),
    ("member@northwind.example", Role.MEMBER, "Northwind"),
    ("admin@fabrikam.example", Role.ADMIN, "Fabrikam"),
    ("root@clientele.example", Role.ADMIN, None),
]

PLACES = [
    ("US", "Seattle", "WA"),
    ("US", "Austin", "TX"),
    ("US", "Boston", "MA"),
    ("DE", "Berlin", None),
    ("DE", "München", "BY"),
    ("JP", "東京", None),
    ("JP", "Osaka", None),
    ("PL", "Kraków", None),
    ("NO", "Oslo", None),
    ("GB", "London", None),
    ("FR", "Lyon", None),
    ("BR", "São Paulo", "SP"),
    ("AU", "Sydney", "NSW"),
    ("CA", "Toronto", "ON"),
    ("IN", "Bengaluru", "KA"),
]
STEMS = [
    "Alpine",
    "Blue Harbor",
    "Cedar",
    "Delta",
    "Evergreen",
    "Falcon",
    "Granite",
    "Harbor",
    "Iris",
    "Juniper",
    "Kestrel",
    "Lumen",
    "Maple",
    "Nimbus",
    "Orchid",
    "Pioneer",
    "Quartz",
    "Redwood",
    "Summit",
    "Tidewater",
    "Umber",
    "Vertex",
    "Willow",
    "Xenon",
    "Yarrow",
    "Zephyr",
]
SUFFIXES = ["Labs", "Logistics", "Health", "Foods", "Systems", "Partners", "Energy", "Media"]
TAGS = ["priority", "renewal-q1", "renewal-q3", "cloud-first", "onboarding", "vip", "at-risk"]


def seed_demo(*, session: Session) -> bool:
    """Loads the demo set; returns False (changing nothing) if it is already there."""
    if session.execute(select(Workgroup.id).where(Workgroup.name == "Northwind")).first():
        return False
    rng = random.Random(20261122)
    workgroups = {
        name: create_workgroup(session=session, name=name, actor_id=None)
        for name in ("Northwind", "Fabrikam")
    }
    for email, role, workgroup in DEMO_USERS:
        grant_role(
            session=session,
            email=email,
            role=role,
            workgroup_id=workgroups[workgroup].id if workgroup else None,
            actor_id=None,
        )
    for workgroup_name, count in (("Northwind", 30), ("Fabrikam", 14)):
        workgroup = workgroups[workgroup_name]
        for index in range(count):
            stem = STEMS[(index * 7 + len(workgroup_name)) % len(STEMS)]
            suffix = SUFFIXES[index % len(SUFFIXES)]
            name = f"{stem} {suffix}"
            domain = f"{stem.lower().replace(' ', '')}-{suffix.lower()}{index}.example"
            country, city, state = PLACES[rng.randrange(len(PLACES))]
            customer = add_customer(
                session=session,
                workgroup_id=workgroup.id,  # type: ignore[arg-type]
                values={
                    "company_name": name,
                    "primary_domain": domain,
                    "domains": [f"mail.{domain}"] if index % 4 == 0 else [],
                    "primary_location": country,
                    "city": city,
                    "state": state,
                    "address": f"{rng.randrange(1, 999)} {stem} Street",
                    "postal_code": f"{rng.randrange(10000, 99999)}",
                    "phone": f"+1 555 {rng.randrange(1000, 9999)}",
                    "industry": rng.choice(list(Industry)),
                    "company_size": rng.choice(list(CompanySize)),
                    "rank": rng.randrange(1, 100),
                    "business_id": f"BID-{workgroup.id}-{index:04d}",
                    "renewal_policy": rng.choice(list(RenewalPolicy)),
                    "relationship": rng.choice(list(Relationship)),
                    "tags": rng.sample(TAGS, k=rng.randrange(0, 3)),
                },
                actor_id=None,
            )
            if index % 9 == 4:
                archive_customer(
                    session=session, customer=customer, expected_version=None, actor_id=None
                )
            elif index < 4:
                seed_agreements(session=session, customer=customer, rng=rng, index=index)
    seed_cases(session=session, workgroup=workgroups["Northwind"], other=workgroups["Fabrikam"])
    seed_partner_work(session=session, workgroup=workgroups["Northwind"])
    return True


def seed_partner_work(*, session: Session, workgroup: Workgroup) -> None:
    """Contacts (one main contact each), an order, a contract with its service level, and a
    project, on the first Northwind customers."""
    customers = list(
        session.execute(
            select(Customer)
            .where(Customer.workgroup_id == workgroup.id, Customer.status == "ACTIVE")
            .order_by(Customer.id)
            .limit(5)
        ).scalars()
    )
    project = partner.create_project(
        session=session, workgroup_id=workgroup.id, name="Cloud migration", actor_id=None
    )
    for index, customer in enumerate(customers):
        domain = customer.primary_domain
        contacts = [
            partner.add_contact(
                session=session,
                workgroup_id=workgroup.id,
                customer=customer,
                values={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{first.lower()}@{domain}",
                    "job_title": title,
                },
                actor_id=None,
            )
            for first, last, title in (("Ada", "Lind", "IT manager"), ("Ravi", "Mehta", "CFO"))
        ]
        partner.set_main_contact(
            session=session, customer=customer, contact=contacts[0], actor_id=None
        )
        partner.create_order(
            session=session,
            customer=customer,
            catalog=list(Catalog)[index % 4],
            lines=[("Microsoft 365 E3", 25 + index), ("Defender for Endpoint", 10)],
            actor_id=None,
        )
        partner.add_contract(
            session=session,
            customer=customer,
            values={
                "name": "Managed services",
                "type": list(ContractType)[index % 8],
                "rate": Decimal("95.00"),
                "amount": Decimal("1200.00"),
            },
            actor_id=None,
        )
        partner.set_service_level(
            session=session,
            customer=customer,
            first_response_minutes=60,
            resolution_minutes=480,
            alert_profile="Standard servers",
            actor_id=None,
        )
        if index < 3:
            partner.set_project_member(
                session=session, project=project, customer=customer, member=True, actor_id=None
            )


def seed_cases(*, session: Session, workgroup: Workgroup, other: Workgroup) -> None:
    """Cases that show every way into a case for member@northwind.example (group "Tier 2",
    shared, primary contact), several it cannot see, and additional cases of every reason."""

    def user(email: str) -> User:
        return session.execute(select(User).where(User.email == email)).scalars().one()

    admin, member, viewer = (
        user("admin@northwind.example"),
        user("member@northwind.example"),
        user("viewer@northwind.example"),
    )
    current = (
        session.execute(
            select(Agreement).where(
                Agreement.workgroup_id == workgroup.id, Agreement.number.like("%-000")
            )
        )
        .scalars()
        .one()
    )
    expired = (
        session.execute(
            select(Agreement).where(
                Agreement.workgroup_id == workgroup.id, Agreement.number.like("%-OLD")
            )
        )
        .scalars()
        .one()
    )
    package = (
        session.execute(
            select(Package).where(
                Package.agreement_id == current.id, Package.kind == PackageKind.ENTERPRISE.value
            )
        )
        .scalars()
        .one()
    )
    amount = (
        session.execute(
            select(ServiceAmount).where(
                ServiceAmount.package_id == package.id,
                ServiceAmount.category == ServiceCategory.REACTIVE_SUPPORT.value,
            )
        )
        .scalars()
        .one()
    )
    counted = {"agreement_id": current.id, "package_id": package.id, "service_amount_id": amount.id}
    none = {"agreement_id": None, "package_id": None, "service_amount_id": None}

    def case(
        title,
        opener,
        classification=CaseClassification.STANDARD,
        links=counted,
        severity=CaseSeverity.MODERATE,
    ):
        return open_case(
            session=session,
            workgroup_id=workgroup.id,
            opener=opener,
            title=title,
            description=f"{title}.",
            severity=severity,
            classification=classification,
            customer_id=current.customer_id,
            primary_contact_email=None,
            **links,
        )

    tier2 = create_group(
        session=session, workgroup_id=workgroup.id, name="Tier 2", actor_id=admin.id
    )
    set_group_member(
        session=session, group=tier2, email=member.email, actor_id=admin.id, member=True
    )
    via_group = case("Mail flow delayed (via Tier 2)", admin, severity=CaseSeverity.HIGH)
    set_group_access(
        session=session, support_case=via_group, group=tier2, actor_id=admin.id, grant=True
    )
    shared = case("VPN drops every hour (shared)", viewer)
    share_case(
        session=session, support_case=shared, email=member.email, actor_id=viewer.id, share=True
    )
    case("Printer queue stuck (member is primary contact)", member, severity=CaseSeverity.LOW)
    health_check = case("Quarterly health check (not visible to member)", admin)
    case("Licence audit (not visible to member)", viewer)
    escalation = case(
        "Executive escalation (not visible to member)", admin, severity=CaseSeverity.CRITICAL
    )
    # Hours worked on cases, recorded against the REACTIVE_SUPPORT line they count against:
    # a record names its case (ConsumptionRecord.supportCase) to whoever may see the case.
    # activity@northwind.example sees the health check only (shared with them), and null for
    # the others. The descriptions name no case.
    share_case(
        session=session,
        support_case=health_check,
        email="activity@northwind.example",
        actor_id=admin.id,
        share=True,
    )
    for days_ago, (worked, hours) in enumerate(
        ((via_group, 2), (shared, 1), (health_check, 3), (escalation, 4)), start=1
    ):
        record_consumption(
            session=session,
            service_amount=amount,
            on=today_utc() - dt.timedelta(days=days_ago),
            quantity=hours,
            hours_worked=hours,
            description="Case work",
            case_id=worked.id,
        )
    # Additional cases: one per reason.
    case("Support assistance request", admin, classification=CaseClassification.SU)
    case("Developer support question", admin, classification=CaseClassification.DSA)
    case("Case with no agreement", admin, links=none)
    case(
        "Case on the expired agreement",
        admin,
        links={
            **none,
            "agreement_id": expired.id,
            "package_id": package.id,
            "service_amount_id": amount.id,
        },
    )
    foreign = (
        session.execute(select(Agreement).where(Agreement.workgroup_id == other.id))
        .scalars()
        .first()
    )
    if foreign is not None:
        case(
            "Case on another workgroup's agreement",
            admin,
            links={**counted, "agreement_id": foreign.id},
        )


ENTERPRISE_LINES = [
    (ServiceCategory.REACTIVE_SUPPORT, AmountKind.CONSUMABLE, AmountUnit.HOURS, 120),
    (ServiceCategory.ADVISORY, AmountKind.CONSUMABLE, AmountUnit.HOURS, 40),
    (ServiceCategory.PROACTIVE, AmountKind.CONSUMABLE, AmountUnit.HOURS, 60),
    (ServiceCategory.EDUCATION_ON_DEMAND, AmountKind.CONSUMABLE, AmountUnit.SEATS, 25),
    (ServiceCategory.CONTACTS, AmountKind.CONSUMABLE, AmountUnit.COUNT, 6),
    (ServiceCategory.ASSESSMENTS_ON_DEMAND, AmountKind.BENEFIT, None, None),
]
ADD_ON_LINES = [
    (ServiceCategory.PROACTIVE_CREDITS, AmountKind.CONSUMABLE, AmountUnit.CREDITS, 200),
    (ServiceCategory.EDUCATION_ON_DEMAND, AmountKind.CONSUMABLE, AmountUnit.SEATS, 10),
]


def label(category: ServiceCategory) -> str:
    return category.value.replace("_", " ").capitalize()


def seed_agreements(*, session: Session, customer: Customer, rng: random.Random, index: int):
    """Per customer: a current agreement (the second customer's expires within 30 days) with an
    enterprise and an add-on package and a year of consumption; the first also has an expired
    one. Each line is consumed only while its package runs (up to today), oldest month first,
    and never beyond what was bought; no add-on outlives its agreement."""
    today = today_utc()
    ends = today + dt.timedelta(days=20 if index == 1 else 200)
    agreement = add_agreement(
        session=session,
        customer=customer,
        number=f"AGR-{customer.workgroup_id}-{index:03d}",
        name=f"{customer.company_name} Unified Support",
        starts_on=ends - dt.timedelta(days=365),
        ends_on=ends,
    )
    packages = [
        (
            add_package(
                session=session, agreement=agreement, name="Enterprise", kind=PackageKind.ENTERPRISE
            ),
            ENTERPRISE_LINES,
        ),
        (
            add_package(
                session=session,
                agreement=agreement,
                name="Proactive add-on",
                kind=PackageKind.ADD_ON,
                expires_on=min(today + dt.timedelta(days=45), agreement.ends_on),
            ),
            ADD_ON_LINES,
        ),
        (
            add_package(
                session=session,
                agreement=agreement,
                name="Retired add-on",
                kind=PackageKind.ADD_ON,
                status=PackageStatus.INACTIVE,
                expires_on=today - dt.timedelta(days=10),
            ),
            ADD_ON_LINES[:1],
        ),
    ]
    for package, lines in packages:
        for category, kind, unit, purchased in lines:
            amount = add_service_amount(
                session=session,
                package=package,
                category=category,
                kind=kind,
                unit=unit,
                purchased=purchased,
                description=f"{label(category)} under {package.name}",
                action_url=f"https://support.example/{category.value.lower()}",
            )
            if kind is AmountKind.CONSUMABLE:
                # The draws stay those of every month (the customers seeded after these keep
                # their values); what is recorded fits the package's dates and its quantity.
                drawn = []
                for month in range(12):
                    on = today - dt.timedelta(days=30 * month + rng.randrange(0, 28))
                    if on < agreement.starts_on:
                        continue
                    quantity = rng.randrange(1, 4)
                    hours = rng.randrange(1, 9) if unit is AmountUnit.HOURS else None
                    drawn.append((month, on, quantity, hours))
                used = 0
                for month, on, quantity, hours in reversed(drawn):
                    running = package.starts_on <= on <= min(package.expires_on, today)
                    if not running or used + quantity > purchased:
                        continue
                    used += quantity
                    record_consumption(
                        session=session,
                        service_amount=amount,
                        on=on,
                        quantity=quantity,
                        hours_worked=hours,
                        description=f"{label(category)} session {month + 1}",
                    )
    if index == 0:
        expired = add_agreement(
            session=session,
            customer=customer,
            number=f"AGR-{customer.workgroup_id}-OLD",
            name=f"{customer.company_name} Premier (expired)",
            starts_on=today - dt.timedelta(days=800),
            ends_on=today - dt.timedelta(days=30),
        )
        add_package(
            session=session,
            agreement=expired,
            name="Enterprise",
            kind=PackageKind.ENTERPRISE,
            status=PackageStatus.INACTIVE,
        )
