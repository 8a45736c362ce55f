"""Builders for the support-case tests, made with the domain functions of
models/support/operations.py.

`build_reach` lays out the visibility scenario for one viewer (described in its docstring):
one case for each way in (group, share, primary contact) and one for each way that must not
let them in. `snapshot` reads every support table straight from the database, so a test can
check that a refused mutation changed nothing.
"""

import json
from dataclasses import dataclass, field

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from graph.ids import encode_id
from models.access.roles import revoke_role
from models.accounts.tables import User, UserGroup, Workgroup
from models.accounts.users import get_or_create_user
from models.agreements.tables import Agreement, Package, ServiceAmount
from models.audit.activity import ActivityRecord
from models.core.enums import CaseClassification, CaseSeverity, Role
from models.customers.tables import Customer
from models.support.operations import (
    create_group,
    open_case,
    set_group_access,
    set_group_member,
    share_case,
)
from models.support.tables import SupportCase
from tests.conftest import World, grant

# A member of Home with no relation to the viewer's cases: the other user of shares and groups.
COLLEAGUE = "colleague@home.example"
# The user who opens the scenario's cases (their primary contact unless named otherwise).
OPENER = World.email("admin")

ID_TYPES = {SupportCase: "SupportCase", UserGroup: "Group", User: "User", Workgroup: "Workgroup"}


def gid(row: SupportCase | UserGroup | User | Workgroup | Customer) -> str:
    """The global id of a row, as the API names it."""
    type_name = ID_TYPES.get(type(row), type(row).__name__)
    return encode_id(type_name, row.id)  # type: ignore[arg-type]


def user(session: Session, email: str) -> User:
    found = get_or_create_user(session=session, email=email)
    session.commit()
    return found


def new_case(
    session: Session,
    workgroup: Workgroup,
    title: str,
    *,
    by: str = OPENER,
    contact: str | None = None,
    severity: CaseSeverity = CaseSeverity.MODERATE,
    classification: CaseClassification = CaseClassification.STANDARD,
    customer: Customer | None = None,
    agreement: Agreement | None = None,
    package: Package | None = None,
    service_amount: ServiceAmount | None = None,
) -> SupportCase:
    """A case opened by `by` (a user holding a role in the workgroup); `contact` names another
    primary contact."""
    created = open_case(
        session=session,
        workgroup_id=workgroup.id,  # type: ignore[arg-type]
        opener=user(session, by),
        title=title,
        description=f"About {title}",
        severity=severity,
        classification=classification,
        customer_id=customer.id if customer else None,
        agreement_id=agreement.id if agreement else None,
        package_id=package.id if package else None,
        service_amount_id=service_amount.id if service_amount else None,
        primary_contact_email=contact,
    )
    session.commit()
    return created


def share(session: Session, case: SupportCase, email: str) -> None:
    share_case(session=session, support_case=case, email=email, actor_id=None, share=True)
    session.commit()


def new_group(
    session: Session, workgroup: Workgroup, name: str, members: tuple[str, ...] = ()
) -> UserGroup:
    group = create_group(
        session=session,
        workgroup_id=workgroup.id,  # type: ignore[arg-type]
        name=name,
        actor_id=None,
    )
    for email in members:
        set_group_member(session=session, group=group, email=email, actor_id=None, member=True)
    session.commit()
    return group


def give_access(session: Session, case: SupportCase, group: UserGroup) -> None:
    set_group_access(session=session, support_case=case, group=group, actor_id=None, grant=True)
    session.commit()


# ------------------------------------------------------------------ the visibility scenario


@dataclass
class Reach:
    """Handles on the cases of `build_reach`, by how the viewer relates to them."""

    viewer: str
    tier2: UserGroup  # Home group with the viewer in it
    tier3: UserGroup  # Home group without the viewer
    away_group: UserGroup  # Away group the viewer was put in while they held a role in Away
    via_group: SupportCase
    via_share: SupportCase
    as_contact: SupportCase
    unrelated: SupportCase
    other_group: SupportCase
    shared_with_other: SupportCase
    away_via_group: SupportCase
    away_via_share: SupportCase
    away_as_contact: SupportCase
    away_unrelated: SupportCase
    cases: dict[str, SupportCase] = field(default_factory=dict)

    @property
    def reached(self) -> set[str]:
        """Titles of the cases the viewer reaches personally in Home: the member rule."""
        return {"via group", "via share", "as contact"}

    @property
    def home(self) -> set[str]:
        return {"via group", "via share", "as contact", "unrelated", "other group", "other share"}

    @property
    def away(self) -> set[str]:
        return {"away via group", "away via share", "away as contact", "away unrelated"}

    def titled(self, title: str) -> SupportCase:
        return self.cases[title]


def build_reach(session: Session, world: World, viewer: str) -> Reach:
    """The cases around `viewer`, a user holding a role in Home (all opened by Home's admin,
    none linked to an agreement, so every one of them is also an additional case):

    Home, customer 0: "via group" (access for Tier 2, which the viewer is in), "via share"
      (shared with the viewer), "unrelated" (nothing), "other group" (access for Tier 3, which
      only the colleague is in), "other share" (shared with the colleague).
    Home, customer 1: "as contact" (the viewer is its primary contact; it is also shared with
      the colleague and Tier 3 has access, so who-else-has-access fields are not empty).
    Away, customer 0: "away via group", "away via share", "away as contact", "away unrelated":
      the viewer was given `member` in Away, put in its group "Away team", shared the case and
      named primary contact — then the Away role was revoked, so none of these may show.
    """
    grant(session, COLLEAGUE, "member", world.home)
    home0, home1 = world.home_customers[0], world.home_customers[1]
    tier2 = new_group(session, world.home, "Tier 2", (viewer, COLLEAGUE))
    tier3 = new_group(session, world.home, "Tier 3", (COLLEAGUE,))

    via_group = new_case(session, world.home, "via group", customer=home0)
    give_access(session, via_group, tier2)
    via_share = new_case(session, world.home, "via share", customer=home0)
    share(session, via_share, viewer)
    as_contact = new_case(session, world.home, "as contact", contact=viewer, customer=home1)
    share(session, as_contact, COLLEAGUE)
    give_access(session, as_contact, tier3)
    unrelated = new_case(session, world.home, "unrelated", customer=home0)
    other_group = new_case(session, world.home, "other group", customer=home0)
    give_access(session, other_group, tier3)
    shared_with_other = new_case(session, world.home, "other share", customer=home0)
    share(session, shared_with_other, COLLEAGUE)

    # The viewer holds a role in Away for a while, and is related to Away's cases meanwhile.
    grant(session, viewer, "member", world.away)
    away0 = world.away_customers[0]
    away_group = new_group(session, world.away, "Away team", (viewer,))
    away_via_group = new_case(
        session, world.away, "away via group", by=World.ADMIN_AWAY, customer=away0
    )
    give_access(session, away_via_group, away_group)
    away_via_share = new_case(
        session, world.away, "away via share", by=World.ADMIN_AWAY, customer=away0
    )
    share(session, away_via_share, viewer)
    away_as_contact = new_case(
        session, world.away, "away as contact", by=World.ADMIN_AWAY, contact=viewer, customer=away0
    )
    away_unrelated = new_case(
        session, world.away, "away unrelated", by=World.ADMIN_AWAY, customer=away0
    )
    revoke_role(
        session=session,
        email=viewer,
        role=Role.MEMBER,
        workgroup_id=world.away.id,  # type: ignore[arg-type]
        actor_id=None,
    )
    session.commit()

    reach = Reach(
        viewer=viewer,
        tier2=tier2,
        tier3=tier3,
        away_group=away_group,
        via_group=via_group,
        via_share=via_share,
        as_contact=as_contact,
        unrelated=unrelated,
        other_group=other_group,
        shared_with_other=shared_with_other,
        away_via_group=away_via_group,
        away_via_share=away_via_share,
        away_as_contact=away_as_contact,
        away_unrelated=away_unrelated,
    )
    reach.cases = {
        case.title: case
        for case in (
            via_group,
            via_share,
            as_contact,
            unrelated,
            other_group,
            shared_with_other,
            away_via_group,
            away_via_share,
            away_as_contact,
            away_unrelated,
        )
    }
    return reach


# ------------------------------------------------------------------ reading the tables


@dataclass(frozen=True)
class Snapshot:
    cases: tuple
    shares: tuple
    group_access: tuple
    groups: tuple
    members: tuple
    activity: int


def snapshot(engine: Engine) -> Snapshot:
    """Every row of the support tables (and the number of activity records), read on a
    connection of its own so nothing cached in a session hides a change."""
    with engine.connect() as connection:

        def rows(sql: str) -> tuple:
            return tuple(tuple(row) for row in connection.execute(text(sql)).all())

        return Snapshot(
            cases=rows(
                "SELECT id, workgroup_id, number, title, status, primary_contact_id, closed_at"
                " FROM support_case ORDER BY id"
            ),
            shares=rows("SELECT case_id, user_id FROM case_share ORDER BY 1, 2"),
            group_access=rows("SELECT case_id, group_id FROM case_group_access ORDER BY 1, 2"),
            groups=rows("SELECT id, workgroup_id, name FROM user_group ORDER BY id"),
            members=rows("SELECT group_id, user_id FROM group_member ORDER BY 1, 2"),
            activity=connection.execute(
                select(func.count()).select_from(ActivityRecord)
            ).scalar_one(),
        )


def activity_since(engine: Engine, last_id: int) -> list[tuple]:
    """(action, target type, target id, actor e-mail, workgroup id, before, after) of each
    activity record written after `last_id`, oldest first."""
    with engine.connect() as connection:
        return [
            (*row[:5], *(json.loads(v) if isinstance(v, str) else v for v in row[5:]))
            for row in connection.execute(
                text(
                    "SELECT a.action, a.target_type, a.target_id, u.email, a.workgroup_id,"
                    " a.before, a.after"
                    " FROM activity_record a LEFT JOIN app_user u ON u.id = a.actor_id"
                    " WHERE a.id > :last ORDER BY a.id"
                ),
                {"last": last_id},
            ).all()
        ]


def last_activity_id(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(
            select(func.coalesce(func.max(ActivityRecord.id), 0))
        ).scalar_one()
