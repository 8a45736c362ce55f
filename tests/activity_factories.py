"""Builders for the customer-activity tests: agreements, packages, service amounts and
consumption records, made with the domain functions of models/agreements/operations.py.
Every date is
an explicit number of days from `today_utc()` (negative = in the past), computed when called.

`build_dashboard` lays out one fixed scenario (described in its docstring) whose totals the
tests state as literal numbers; `build_bulk` makes many agreements for the cost tests.
"""

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

from graph.app import create_app
from graph.ids import encode_id
from models.accounts.users import get_or_create_user
from models.agreements.operations import (
    add_agreement,
    add_package,
    add_service_amount,
    record_consumption,
    today_utc,
)
from models.agreements.tables import Agreement, ConsumptionRecord, Package, ServiceAmount
from models.core.enums import AmountKind, AmountUnit, PackageKind, PackageStatus, ServiceCategory
from models.customers.tables import Customer
from models.settings import Settings
from policies import Authorizer
from tests.conftest import (
    ROLES,
    TEST_SECRET,
    GraphQLClient,
    World,
    empty_tables,
    grant,
    make_customer,
    make_workgroup,
)

ENTERPRISE = PackageKind.ENTERPRISE
ADD_ON = PackageKind.ADD_ON
ACTIVE = PackageStatus.ACTIVE
INACTIVE = PackageStatus.INACTIVE

REACTIVE = ServiceCategory.REACTIVE_SUPPORT
ADVISORY = ServiceCategory.ADVISORY
PROACTIVE = ServiceCategory.PROACTIVE
CREDITS = ServiceCategory.PROACTIVE_CREDITS
EDUCATION = ServiceCategory.EDUCATION_ON_DEMAND
CONTACTS = ServiceCategory.CONTACTS


def day(offset: int) -> dt.date:
    """`offset` days from today (UTC)."""
    return today_utc() + dt.timedelta(days=offset)


def iso(offset: int) -> str:
    return day(offset).isoformat()


def gid(row: Agreement | Package | ServiceAmount | ConsumptionRecord) -> str:
    """The global id of a row, as the API names it."""
    return encode_id(type(row).__name__, row.id)  # type: ignore[arg-type]


def agreement(
    session: Session,
    customer: Customer,
    number: str,
    *,
    starts: int = -200,
    ends: int = 165,
    name: str | None = None,
) -> Agreement:
    return add_agreement(
        session=session,
        customer=customer,
        number=number,
        name=name or f"Agreement {number}",
        starts_on=day(starts),
        ends_on=day(ends),
    )


def package(
    session: Session,
    of: Agreement,
    name: str,
    *,
    kind: PackageKind = ENTERPRISE,
    status: PackageStatus = ACTIVE,
    starts: int | None = None,
    expires: int | None = None,
) -> Package:
    return add_package(
        session=session,
        agreement=of,
        name=name,
        kind=kind,
        status=status,
        starts_on=day(starts) if starts is not None else None,
        expires_on=day(expires) if expires is not None else None,
    )


def amount(
    session: Session,
    of: Package,
    category: ServiceCategory,
    purchased: Decimal | int | str,
    *,
    unit: AmountUnit = AmountUnit.HOURS,
    description: str | None = None,
    action_url: str | None = None,
) -> ServiceAmount:
    """A CONSUMABLE line."""
    return add_service_amount(
        session=session,
        package=of,
        category=category,
        kind=AmountKind.CONSUMABLE,
        unit=unit,
        purchased=Decimal(str(purchased)),
        description=description,
        action_url=action_url,
    )


def benefit(
    session: Session, of: Package, category: ServiceCategory, description: str | None = None
) -> ServiceAmount:
    """A BENEFIT line: listed, not tracked."""
    return add_service_amount(
        session=session,
        package=of,
        category=category,
        kind=AmountKind.BENEFIT,
        description=description,
    )


def consume(
    session: Session,
    of: ServiceAmount,
    on: int,
    quantity: Decimal | int | str,
    *,
    hours: Decimal | int | str | None = None,
    description: str | None = None,
) -> ConsumptionRecord:
    record = record_consumption(
        session=session,
        service_amount=of,
        on=day(on),
        quantity=Decimal(str(quantity)),
        hours_worked=Decimal(str(hours)) if hours is not None else None,
        description=description,
    )
    session.flush()
    return record


# ------------------------------------------------------------------ the dashboard scenario


@dataclass
class Dashboard:
    """Handles on the rows of `build_dashboard`, by role in the scenario."""

    current: Agreement  # H-100, active, ends in 165 days
    ends_today: Agreement  # H-200, ends today: still active
    expired: Agreement  # H-300, ended yesterday
    future: Agreement  # H-400, starts tomorrow
    away: Agreement  # W-100, Away's active agreement
    enterprise: Package  # "Enterprise core" of H-100
    extension: Package  # "Enterprise extension" of H-100
    suspended: Package  # INACTIVE enterprise package of H-100
    proactive_pack: Package  # ADD_ON, active, expires in 30 days
    training_pack: Package  # ADD_ON, active, expires in 10 days
    old_pack: Package  # ADD_ON, inactive, expired 5 days ago
    reactive: ServiceAmount  # REACTIVE_SUPPORT of "Enterprise core"
    education: ServiceAmount  # EDUCATION_ON_DEMAND of "Enterprise core"
    advisory: ServiceAmount  # ADVISORY of "Enterprise core"
    contacts: ServiceAmount  # CONTACTS benefit of "Enterprise core"
    away_reactive: ServiceAmount
    away_education: ServiceAmount
    reactive_records: list[ConsumptionRecord] = field(default_factory=list)
    advisory_records: list[ConsumptionRecord] = field(default_factory=list)
    education_records: list[ConsumptionRecord] = field(default_factory=list)
    away_education_record: ConsumptionRecord | None = None


ADVISORY_DESCRIPTION = "Advisory hours with a named architect"
ADVISORY_URL = "https://advisory.example/book"
ADVISORY_DAYS = (-3, -6, -9, -12, -15, -18)


def build_dashboard(session: Session, home: list[Customer], away: list[Customer]) -> Dashboard:
    """One scenario for the whole feature (quantities in hours unless noted):

    Home, customer 0 — H-100 (days -200..+165, active):
      Enterprise core (ENTERPRISE, ACTIVE)
        REACTIVE_SUPPORT 100, used 2.5 (-1) + 4 (-10) + 1.5 (-40) = 8
        EDUCATION_ON_DEMAND 40, used 3 (-2) + 1.5 (-20) = 4.5
        ADVISORY 20, used 1 on each of -3 -6 -9 -12 -15 -18 = 6 (description, action URL)
        CONTACTS benefit
      Enterprise extension (ENTERPRISE, ACTIVE): REACTIVE 50 used 2 (-5); EDUCATION 10 used 1 (-3)
      Enterprise suspended (ENTERPRISE, INACTIVE): REACTIVE 1000 used 500 (-4)
      Proactive pack (ADD_ON, ACTIVE, expires +30): PROACTIVE_CREDITS 30 credits used 7 (-7);
                                                    REACTIVE 200 used 9 (-8)
      Training pack (ADD_ON, ACTIVE, expires +10): EDUCATION 8 used 2 (-6)
      Old pack (ADD_ON, INACTIVE, expired -5): PROACTIVE 5 used 5 (-100)
    Home, customer 0 — H-200 (days -365..0, ends today, still active):
      Enterprise legacy (ENTERPRISE, ACTIVE): REACTIVE 10 used 1 (-30); EDUCATION 5 used 0.5 (-31)
    Home, customer 1 — H-300 (days -400..-1, expired yesterday):
      Enterprise old (ENTERPRISE, ACTIVE): REACTIVE 999 used 99 (-50); EDUCATION 77 used 7 (-60);
                                           ADVISORY 50 used 5 (-60)
    Home, customer 1 — H-400 (days +1..+366, not yet active):
      Enterprise next (ENTERPRISE, ACTIVE): REACTIVE 300
    Away, customer 0 — W-100 (days -10..+100, active):
      Away enterprise (ENTERPRISE, ACTIVE): REACTIVE 300 used 30 (-2); EDUCATION 60 used 6 (-2)
      Away pack (ADD_ON, ACTIVE): PROACTIVE_CREDITS 10 credits

    Enterprise totals of Home (active agreements H-100 and H-200, active ENTERPRISE packages):
      ADVISORY 20/6/14, CONTACTS benefit, EDUCATION 55/6/49, REACTIVE 160/11/149.
    """
    current = agreement(session, home[0], "H-100", starts=-200, ends=165, name="Current support")
    enterprise = package(session, current, "Enterprise core")
    reactive = amount(session, enterprise, REACTIVE, 100)
    education = amount(
        session,
        enterprise,
        EDUCATION,
        40,
        description="Workshops on demand",
        action_url="https://learn.example/book",
    )
    advisory = amount(
        session, enterprise, ADVISORY, 20, description=ADVISORY_DESCRIPTION, action_url=ADVISORY_URL
    )
    contacts = benefit(session, enterprise, CONTACTS, "Six named contacts")
    reactive_records = [
        consume(session, reactive, -40, "1.5", hours="1.5", description="Outage follow-up"),
        consume(session, reactive, -1, "2.5", hours="2.5", description="Mail flow issue"),
        consume(session, reactive, -10, 4, hours=4, description="Tenant migration"),
    ]
    education_records = [
        consume(session, education, -2, 3, hours=3, description="Azure basics"),
        consume(session, education, -20, "1.5", description="Security workshop"),
    ]
    advisory_records = [
        consume(session, advisory, on, 1, hours=1, description=f"Advisory session {on}")
        for on in ADVISORY_DAYS
    ]

    extension = package(session, current, "Enterprise extension")
    consume(session, amount(session, extension, REACTIVE, 50), -5, 2)
    education_records.append(
        consume(session, amount(session, extension, EDUCATION, 10), -3, 1, description="Labs")
    )

    suspended = package(session, current, "Enterprise suspended", status=INACTIVE)
    consume(session, amount(session, suspended, REACTIVE, 1000), -4, 500)

    proactive_pack = package(session, current, "Proactive pack", kind=ADD_ON, expires=30)
    consume(session, amount(session, proactive_pack, CREDITS, 30, unit=AmountUnit.CREDITS), -7, 7)
    consume(session, amount(session, proactive_pack, REACTIVE, 200), -8, 9)
    training_pack = package(session, current, "Training pack", kind=ADD_ON, expires=10)
    education_records.append(
        consume(session, amount(session, training_pack, EDUCATION, 8), -6, 2, description="Pack")
    )
    old_pack = package(
        session, current, "Old pack", kind=ADD_ON, status=INACTIVE, starts=-200, expires=-5
    )
    consume(session, amount(session, old_pack, PROACTIVE, 5), -100, 5)

    ends_today = agreement(session, home[0], "H-200", starts=-365, ends=0, name="Ends today")
    legacy = package(session, ends_today, "Enterprise legacy")
    consume(session, amount(session, legacy, REACTIVE, 10), -30, 1)
    education_records.append(
        consume(session, amount(session, legacy, EDUCATION, 5), -31, "0.5", description="Legacy")
    )

    expired = agreement(session, home[1], "H-300", starts=-400, ends=-1, name="Expired support")
    old = package(session, expired, "Enterprise old")
    consume(session, amount(session, old, REACTIVE, 999), -50, 99)
    education_records.append(
        consume(session, amount(session, old, EDUCATION, 77), -60, 7, description="Old course")
    )
    consume(session, amount(session, old, ADVISORY, 50), -60, 5)

    future = agreement(session, home[1], "H-400", starts=1, ends=366, name="Next year")
    amount(session, package(session, future, "Enterprise next"), REACTIVE, 300)

    away_agreement = agreement(session, away[0], "W-100", starts=-10, ends=100, name="Away deal")
    away_enterprise = package(session, away_agreement, "Away enterprise")
    away_reactive = amount(session, away_enterprise, REACTIVE, 300)
    consume(session, away_reactive, -2, 30)
    away_education = amount(session, away_enterprise, EDUCATION, 60)
    away_education_record = consume(
        session, away_education, -2, 6, hours=6, description="Away training"
    )
    away_pack = package(session, away_agreement, "Away pack", kind=ADD_ON)
    amount(session, away_pack, CREDITS, 10, unit=AmountUnit.CREDITS)
    session.commit()
    return Dashboard(
        current=current,
        ends_today=ends_today,
        expired=expired,
        future=future,
        away=away_agreement,
        enterprise=enterprise,
        extension=extension,
        suspended=suspended,
        proactive_pack=proactive_pack,
        training_pack=training_pack,
        old_pack=old_pack,
        reactive=reactive,
        education=education,
        advisory=advisory,
        contacts=contacts,
        away_reactive=away_reactive,
        away_education=away_education,
        reactive_records=reactive_records,
        advisory_records=advisory_records,
        education_records=education_records,
        away_education_record=away_education_record,
    )


# ------------------------------------------------------------------ many agreements


def build_bulk(
    session: Session,
    customer: Customer,
    *,
    agreements: int,
    records_per_line: int,
    prefix: str = "B",
) -> None:
    """`agreements` active agreements, each with an enterprise package (REACTIVE, EDUCATION,
    a CONTACTS benefit) and an add-on (PROACTIVE_CREDITS), `records_per_line` records on
    every consumable line."""
    for index in range(agreements):
        deal = agreement(session, customer, f"{prefix}-{index:03d}", starts=-100, ends=100 + index)
        core = package(session, deal, f"Core {index}")
        pack = package(session, deal, f"Pack {index}", kind=ADD_ON)
        lines = [
            amount(session, core, REACTIVE, 100),
            amount(session, core, EDUCATION, 40),
            amount(session, pack, CREDITS, 30, unit=AmountUnit.CREDITS),
        ]
        benefit(session, core, CONTACTS, "Named contacts")
        for line in lines:
            for n in range(records_per_line):
                record_consumption(
                    session=session, service_amount=line, on=day(-1 - n), quantity=Decimal(1)
                )
    session.commit()


# ------------------------------------------------------------------ a shared, read-only world


@dataclass
class Shared:
    """The world and the dashboard scenario, built once per module, with an app on them."""

    world: World
    dash: Dashboard
    gql: GraphQLClient
    authorizer: Authorizer
    extra: Any = None  # what `more` built

    @property
    def home(self) -> str:
        return encode_id("Workgroup", self.world.home.id)  # type: ignore[arg-type]

    @property
    def away(self) -> str:
        return encode_id("Workgroup", self.world.away.id)  # type: ignore[arg-type]

    def customer(self, index: int = 0) -> str:
        return encode_id("Customer", self.world.home_customers[index].id)  # type: ignore[arg-type]


def shared_world(
    engine: Engine, database_url: str, more: Callable[[Session, World], Any] | None = None
) -> Iterator[Shared]:
    """The body of a module-scoped fixture: `build_world`, `build_dashboard` and whatever
    `more` adds, an in-process app, and emptied tables when the module is done."""
    settings = Settings(database_url=database_url, jwt_secret=TEST_SECRET, env="development")
    authorizer = Authorizer.from_files()
    app = create_app(settings, engine=engine, authorizer=authorizer)
    try:
        with Session(engine, expire_on_commit=False) as session:
            world = build_world(session)
            dash = build_dashboard(session, world.home_customers, world.away_customers)
            extra = more(session, world) if more else None
        with TestClient(app) as http:
            yield Shared(world, dash, GraphQLClient(http, settings), authorizer, extra)
    finally:
        empty_tables(engine)


def build_world(session: Session) -> World:
    """The world of the `world` fixture (tests/conftest.py), for module-scoped fixtures."""
    home = make_workgroup(session, "Home")
    away = make_workgroup(session, "Away")
    for role in ROLES:
        grant(session, World.email(role), role, home)
    grant(session, World.ADMIN_AWAY, "admin", away)
    grant(session, World.GLOBAL_ADMIN, "admin", None)
    get_or_create_user(session=session, email=World.NOBODY)
    session.commit()
    home_customers = [
        make_customer(session, home, index=f"home{i}", company_name=f"Home Customer {i}")
        for i in range(3)
    ]
    away_customers = [
        make_customer(session, away, index=f"away{i}", company_name=f"Away Customer {i}")
        for i in range(2)
    ]
    return World(home, away, home_customers, away_customers)
