"""`me.recentCustomers`: the customers the viewer opened last — by `customer(id:)` or
`node(id:)`, never by a list — latest first, the latest 20 kept per user, and only those the
viewer may still see (archived ones included)."""

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from graph.customers import queries
from graph.ids import encode_id
from models.access.roles import revoke_role
from models.accounts.tables import User
from models.core.enums import Role
from models.customers.operations import archive_customer
from models.customers.recent import KEPT_PER_USER, CustomerView
from tests.activity_factories import agreement
from tests.conftest import World, grant, make_customer
from tests.test_cost import counting_statements

OPEN = "query($id: ID!) { customer(id: $id) { id } }"
OPEN_AS_NODE = "query($id: ID!) { node(id: $id) { id } }"
OPEN_TWO = "query($a: ID!, $b: ID!) { a: customer(id: $a) { id } b: customer(id: $b) { id } }"
RECENT = "query { me { recentCustomers { id companyName status } } }"
RECENT_FIRST = "query($first: Int!) { me { recentCustomers(first: $first) { id } } }"
LISTS = """
query($workgroupId: ID!) {
  customers(status: null) { edges { node { id } } }
  workgroup(id: $workgroupId) { customers { edges { node { id } } } }
  agreements { edges { node { customer { id } } } }
}
"""
RECENT_NESTED = """
query { me { recentCustomers(first: 20) {
  id companyName tags workgroup { name } overview { openCaseCount contactCount }
} } }
"""

ADMIN = World.email("admin")
BOTH = "both@home.example"  # admin in Home and in Away


def gid(row) -> str:
    return encode_id(type(row).__name__, row.id)


def recent(gql, email: str) -> list[str]:
    body = gql(email, RECENT)
    assert "errors" not in body, body
    return [customer["id"] for customer in body["data"]["me"]["recentCustomers"]]


def views(session: Session, email: str | None = None) -> list[tuple[int, int]]:
    """(user id, customer id) of every view recorded (of `email`'s, if given)."""
    session.expire_all()
    query = select(CustomerView.user_id, CustomerView.customer_id)
    if email is not None:
        query = query.join(User, User.id == CustomerView.user_id).where(User.email == email)
    return [tuple(row) for row in session.execute(query).all()]  # type: ignore[misc]


def test_opened_customers_come_latest_first(gql, world: World):
    # Given Home's admin opened customers 0, 1 and 2, then 0 again
    c0, c1, c2 = (gid(c) for c in world.home_customers)
    for customer in (c0, c1, c2, c0):
        gql(ADMIN, OPEN, {"id": customer})

    # When they ask for their recent customers
    # Then the latest opened comes first, each customer once
    assert recent(gql, ADMIN) == [c0, c2, c1]


def test_node_by_id_opens_a_customer_too(gql, world: World):
    # Given Home's admin opened customer 1 by `node(id:)` after customer 0 by `customer(id:)`
    c0, c1 = gid(world.home_customers[0]), gid(world.home_customers[1])
    gql(ADMIN, OPEN, {"id": c0})
    gql(ADMIN, OPEN_AS_NODE, {"id": c1})

    # Then both are recent, the node one latest
    assert recent(gql, ADMIN) == [c1, c0]


def test_two_customers_opened_in_one_request_keep_their_order(gql, world: World):
    # When one request opens customer 2, then customer 1
    c1, c2 = gid(world.home_customers[1]), gid(world.home_customers[2])
    gql(ADMIN, OPEN_TWO, {"a": c2, "b": c1})

    # Then the one resolved last is the most recent
    assert recent(gql, ADMIN) == [c1, c2]


def test_lists_do_not_open_customers(gql, session: Session, world: World):
    # Given an agreement, so that a customer is reached through it too
    agreement(session, world.home_customers[0], "H-1")
    session.commit()

    # When Home's admin lists customers every way a list reaches them
    body = gql(ADMIN, LISTS, {"workgroupId": gid(world.home)})

    # Then nothing was opened
    assert "errors" not in body, body
    assert body["data"]["customers"]["edges"]
    assert recent(gql, ADMIN) == []
    assert views(session) == []


def test_a_customer_the_viewer_may_not_see_is_not_opened(gql, session: Session, world: World):
    # When Home's admin asks for a customer of Away, and the member of Home for one of Home
    away = gid(world.away_customers[0])
    assert gql(ADMIN, OPEN, {"id": away}) == {"data": {"customer": None}}
    member = World.email("member")
    assert gql(member, OPEN, {"id": gid(world.home_customers[0])}) == {"data": {"customer": None}}

    # Then nothing was recorded for either
    assert views(session) == []
    assert recent(gql, ADMIN) == []
    assert recent(gql, member) == []


def test_each_viewer_has_a_list_of_their_own(gql, world: World):
    # Given Home's admin opened customer 0 and its sales agent customer 1
    c0, c1 = gid(world.home_customers[0]), gid(world.home_customers[1])
    gql(ADMIN, OPEN, {"id": c0})
    gql(World.email("sales_agent"), OPEN, {"id": c1})

    # Then each sees only what they opened
    assert recent(gql, ADMIN) == [c0]
    assert recent(gql, World.email("sales_agent")) == [c1]


def test_the_latest_20_are_kept_and_first_cuts_the_list(gql, session: Session, world: World):
    # Given Home's admin opened 25 customers, one after the other
    more = [make_customer(session, world.home, company_name=f"More {i:02d}") for i in range(22)]
    customers = [gid(c) for c in [*world.home_customers, *more]]
    assert len(customers) == 25
    for customer in customers:
        gql(ADMIN, OPEN, {"id": customer})

    # Then only the latest 20 are kept in the database
    assert len(views(session, ADMIN)) == KEPT_PER_USER == 20
    newest_first = list(reversed(customers))
    # and the list gives 10 by default, up to 20 when asked
    assert recent(gql, ADMIN) == newest_first[:10]
    body = gql(ADMIN, RECENT_FIRST, {"first": 20})
    assert [c["id"] for c in body["data"]["me"]["recentCustomers"]] == newest_first[:20]
    body = gql(ADMIN, RECENT_FIRST, {"first": 3})
    assert [c["id"] for c in body["data"]["me"]["recentCustomers"]] == newest_first[:3]


@pytest.mark.parametrize("first", [-1, 21])
def test_first_beyond_what_is_kept_is_bad_user_input(gql, world: World, first):
    body = gql(ADMIN, RECENT_FIRST, {"first": first})
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["path"] == ["me", "recentCustomers"]


def test_a_revoked_role_hides_the_customers_of_its_workgroup(gql, session: Session, world: World):
    # Given a user who is admin in Home and in Away opened a customer of each
    grant(session, BOTH, "admin", world.home)
    grant(session, BOTH, "admin", world.away)
    home, away = gid(world.home_customers[0]), gid(world.away_customers[0])
    gql(BOTH, OPEN, {"id": home})
    gql(BOTH, OPEN, {"id": away})
    assert recent(gql, BOTH) == [away, home]

    # When their role in Away is revoked
    revoke_role(
        session=session,
        email=BOTH,
        role=Role.ADMIN,
        workgroup_id=world.away.id,  # type: ignore[arg-type]
        actor_id=None,
    )
    session.commit()

    # Then Away's customer is no longer among their recent customers
    assert recent(gql, BOTH) == [home]
    # and comes back if the role does
    grant(session, BOTH, "admin", world.away)
    assert recent(gql, BOTH) == [away, home]


def test_an_archived_customer_stays_among_the_recent_ones(gql, session: Session, world: World):
    # Given Home's admin opened customer 0, which was archived afterwards
    customer = world.home_customers[0]
    gql(ADMIN, OPEN, {"id": gid(customer)})
    archive_customer(session=session, customer=customer, expected_version=None, actor_id=None)
    session.commit()

    # Then it is still listed, with its status
    body = gql(ADMIN, RECENT)
    assert body["data"]["me"]["recentCustomers"] == [
        {"id": gid(customer), "companyName": customer.company_name, "status": "ARCHIVED"}
    ]


def test_fields_of_recent_customers_follow_the_viewers_roles(gql, world: World):
    # Given Home's customer-activity reader opened customer 0
    reader = World.email("customer_activity")
    gql(reader, OPEN, {"id": gid(world.home_customers[0])})

    # When they read fields of it through the recent list that their role does not grant
    body = gql(reader, "query { me { recentCustomers { companyName rank } } }")

    # Then those are FORBIDDEN at their path, like everywhere else
    assert body["data"]["me"]["recentCustomers"] == [
        {"companyName": "Home Customer 0", "rank": None}
    ]
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
        (["me", "recentCustomers", 0, "rank"], "FORBIDDEN")
    ]


def test_a_failure_to_record_does_not_fail_the_query(
    gql, session: Session, world: World, monkeypatch
):
    # Given the database refuses to record views
    def refuse(**_kwargs):
        raise OperationalError("INSERT INTO customer_view", {}, Exception("disk full"))

    monkeypatch.setattr(queries, "record_views", refuse)

    # When Home's admin opens a customer
    customer = gid(world.home_customers[0])
    body = gql(ADMIN, OPEN, {"id": customer})

    # Then they get it all the same, and nothing was recorded
    assert body == {"data": {"customer": {"id": customer}}}
    assert views(session) == []


def test_the_recent_list_costs_the_same_for_2_customers_as_for_20(
    gql, engine, session: Session, world: World
):
    # Given two users who opened 2 and 20 customers of Home
    more = [make_customer(session, world.home, company_name=f"More {i:02d}") for i in range(17)]
    everyone = [*world.home_customers, *more]
    few, many = World.email("admin"), "many@home.example"
    grant(session, many, "admin", world.home)
    for email, customers in ((few, everyone[:2]), (many, everyone)):
        for customer in customers:
            gql(email, OPEN, {"id": gid(customer)})

    # When each reads the list with nested fields
    costs = []
    for email in (few, many):
        with counting_statements(engine) as statements:
            body = gql(email, RECENT_NESTED)
        assert "errors" not in body, body
        costs.append((len(statements), len(body["data"]["me"]["recentCustomers"])))

    # Then both cost the same number of statements
    assert costs[0][0] == costs[1][0]
    assert [count for _, count in costs] == [2, 20]


def test_opening_the_same_customer_again_at_once_writes_nothing(gql, session, engine, world):
    # Given a customer the admin just opened
    first, second = world.home_customers[0], world.home_customers[1]
    gql(ADMIN, OPEN, {"id": gid(first)})
    opened_at = session.execute(select(CustomerView.viewed_at)).scalar_one()

    # When the page refetches it right away
    with counting_statements(engine) as statements:
        gql(ADMIN, OPEN, {"id": gid(first)})

    # Then nothing is written again
    session.expire_all()
    assert session.execute(select(CustomerView.viewed_at)).scalar_one() == opened_at
    assert not [s for s in statements if "customer_view" in s.lower()]

    # But opening another one and then the first again puts the first on top
    gql(ADMIN, OPEN, {"id": gid(second)})
    gql(ADMIN, OPEN, {"id": gid(first)})
    assert recent(gql, ADMIN) == [gid(first), gid(second)]
