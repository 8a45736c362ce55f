"""The deterministic demo data set behind `clientele seed --demo`."""

import random

from sqlalchemy import select
from sqlmodel import Session

from models.accounts import Workgroup, create_workgroup, grant_role
from models.customers import add_customer, archive_customer
from models.enums import CompanySize, Industry, Relationship, RenewalPolicy, Role

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
    return True
