"""The ADDITIONAL_CASES drill-down (docs/domain.md: "Additional cases"): the visible cases that do
not count against a current agreement — classified SU, DSA, X85 or REC; linked to no
agreement, package or service amount; to an agreement of another workgroup; to an agreement
that is not current — each with its reason. A case counted against a current agreement of its
own workgroup is not one of them, and the member rule decides which cases appear at all.
"""

from dataclasses import dataclass

import pytest
from sqlmodel import Session

from models.core.enums import CaseClassification
from models.support.tables import SupportCase
from tests.activity_factories import REACTIVE, agreement, amount, package
from tests.conftest import World
from tests.support_factories import gid, new_case, share

ADDITIONAL_CASES = """
query($workgroupIds: [ID!], $first: Int!, $after: String) {
  customerActivity(workgroupIds: $workgroupIds) {
    drillDown(category: ADDITIONAL_CASES) {
      category
      additionalCases(first: $first, after: $after) {
        totalCount
        pageInfo { hasNextPage endCursor }
        edges { node { reason case { id title classification } } }
      }
    }
  }
}
"""
OTHER_DRILL_DOWN = """
query { customerActivity { drillDown(category: REACTIVE_SUPPORT) { additionalCases {
  totalCount } } } }
"""

ADMIN = World.email("admin")
ACTIVITY = World.email("customer_activity")

# Every case of the scenario, by title: the reason it is additional, or None if it counts.
REASONS: dict[str, str | None] = {
    "counted": None,
    "counted on the last day": None,
    "classified SU": "CLASSIFICATION",
    "classified DSA": "CLASSIFICATION",
    "classified X85": "CLASSIFICATION",
    "classified REC": "CLASSIFICATION",
    "SU without agreement": "CLASSIFICATION",
    "no agreement": "NO_AGREEMENT",
    "no package": "NO_AGREEMENT",
    "no service amount": "NO_AGREEMENT",
    "agreement of Away": "OTHER_WORKGROUP",
    "expired agreement": "EXPIRED_AGREEMENT",
    "agreement not yet started": "EXPIRED_AGREEMENT",
}
ADDITIONAL_IN_HOME = {title: reason for title, reason in REASONS.items() if reason is not None}


@dataclass
class Cases:
    by_title: dict[str, SupportCase]


def build_cases(session: Session, world: World) -> Cases:
    """Home's agreements: H-100 current, H-200 ending today (still current), H-300 ended
    yesterday, H-400 starting tomorrow; Away's W-100 current. Each has a package "Core" with a
    REACTIVE_SUPPORT line. Home's cases (see REASONS) link to them; Away has one SU case."""
    home0, home1 = world.home_customers[0], world.home_customers[1]

    def deal(customer, number: str, starts: int, ends: int):
        made = agreement(session, customer, number, starts=starts, ends=ends)
        core = package(session, made, "Core")
        return made, core, amount(session, core, REACTIVE, 10)

    current = deal(home0, "H-100", -200, 165)
    last_day = deal(home0, "H-200", -365, 0)
    expired = deal(home1, "H-300", -400, -1)
    future = deal(home1, "H-400", 1, 366)
    away = deal(world.away_customers[0], "W-100", -10, 100)
    session.commit()

    def linked(title: str, links=(), classification=CaseClassification.STANDARD) -> SupportCase:
        keys = ("agreement", "package", "service_amount")
        return new_case(
            session,
            world.home,
            title,
            customer=home0,
            classification=classification,
            **dict(zip(keys, links, strict=False)),
        )

    cases = [
        linked("counted", current),
        linked("counted on the last day", last_day),
        *(
            linked(f"classified {c.value}", current, classification=c)
            for c in (
                CaseClassification.SU,
                CaseClassification.DSA,
                CaseClassification.X85,
                CaseClassification.REC,
            )
        ),
        linked("SU without agreement", classification=CaseClassification.SU),
        linked("no agreement"),
        linked("no package", current[:1]),
        linked("no service amount", current[:2]),
        linked("agreement of Away", away),
        linked("expired agreement", expired),
        linked("agreement not yet started", future),
        new_case(
            session,
            world.away,
            "Away SU",
            by=World.ADMIN_AWAY,
            classification=CaseClassification.SU,
        ),
    ]
    return Cases({case.title: case for case in cases})


def additional(gql, email: str, *, workgroups=None, first: int = 100, after=None) -> dict:
    variables = {
        "workgroupIds": [gid(w) for w in workgroups] if workgroups else None,
        "first": first,
        "after": after,
    }
    body = gql(email, ADDITIONAL_CASES, variables)
    assert "errors" not in body, body["errors"]
    drill_down = body["data"]["customerActivity"]["drillDown"]
    assert drill_down["category"] == "ADDITIONAL_CASES"
    return drill_down["additionalCases"]


def reasons_of(connection: dict, cases: Cases) -> dict[str, str]:
    """title -> reason of every edge, after checking ids and that no case is listed twice."""
    found = {}
    for edge in connection["edges"]:
        case = edge["node"]["case"]
        assert case["title"] not in found, f"listed twice: {case['title']}"
        assert case["id"] == gid(cases.by_title[case["title"]])
        found[case["title"]] = edge["node"]["reason"]
    return found


@pytest.mark.parametrize(("title", "reason"), list(REASONS.items()), ids=list(REASONS))
def test_each_case_appears_with_its_reason_or_not_at_all(
    gql, session, world: World, title: str, reason: str | None
):
    # Given Home's cases, one per way of (not) counting against a current agreement
    cases = build_cases(session, world)

    # When Home's admin opens the ADDITIONAL_CASES drill-down
    found = reasons_of(additional(gql, ADMIN), cases)

    # Then the case is listed with its reason — or, counted against a current agreement of
    # its own workgroup, it is not listed
    assert found.get(title) == reason


@pytest.mark.parametrize("email", [ADMIN, World.GLOBAL_ADMIN], ids=["admin", "global_admin"])
def test_the_list_and_its_count_cover_exactly_the_additional_cases(gql, session, world, email):
    # Given Home's cases and Away's SU case
    cases = build_cases(session, world)

    # When an admin of Home (or the global admin, for Home only) reads the drill-down
    connection = additional(gql, email, workgroups=[world.home])

    # Then it lists Home's additional cases, no other, and counts them
    assert reasons_of(connection, cases) == ADDITIONAL_IN_HOME
    assert connection["totalCount"] == len(ADDITIONAL_IN_HOME) == 11


def test_across_workgroups_each_viewer_gets_the_cases_they_see(gql, session, world: World):
    # Given Home's cases and Away's SU case
    cases = build_cases(session, world)

    # When the global admin reads every workgroup, and Away's admin theirs
    everywhere = additional(gql, World.GLOBAL_ADMIN)
    away_only = additional(gql, World.GLOBAL_ADMIN, workgroups=[world.away])
    away_admin = additional(gql, World.ADMIN_AWAY)

    # Then the global admin gets both workgroups' (or Away's alone when asked), and Away's
    # admin nothing of Home
    assert reasons_of(everywhere, cases) == {**ADDITIONAL_IN_HOME, "Away SU": "CLASSIFICATION"}
    assert everywhere["totalCount"] == 12
    assert reasons_of(away_only, cases) == {"Away SU": "CLASSIFICATION"}
    assert reasons_of(away_admin, cases) == {"Away SU": "CLASSIFICATION"}
    assert away_admin["totalCount"] == 1


def test_a_customer_activity_holder_gets_only_the_cases_the_member_rule_shows(
    gql, session, world: World
):
    # Given Home's cases, of which the customer_activity holder was shared an SU case, the
    # expired one and a counted one, and is primary contact of one without agreement
    cases = build_cases(session, world)
    for title in ("classified SU", "expired agreement", "counted"):
        share(session, cases.by_title[title], ACTIVITY)
    own = new_case(session, world.home, "own, no agreement", contact=ACTIVITY)
    cases.by_title[own.title] = own

    # When they read the drill-down
    connection = additional(gql, ACTIVITY)

    # Then they get the additional cases among those they see, and the count says so
    assert reasons_of(connection, cases) == {
        "classified SU": "CLASSIFICATION",
        "expired agreement": "EXPIRED_AGREEMENT",
        "own, no agreement": "NO_AGREEMENT",
    }
    assert connection["totalCount"] == 3


def test_pages_of_additional_cases_add_up(gql, session, world: World):
    # Given Home's 11 additional cases
    cases = build_cases(session, world)

    # When Home's admin reads them four at a time
    found: dict[str, str] = {}
    counts, after, pages = set(), None, 0
    while True:
        connection = additional(gql, ADMIN, first=4, after=after)
        pages += 1
        counts.add(connection["totalCount"])
        page = reasons_of(connection, cases)
        assert not set(page) & set(found), "a case on two pages"
        found |= page
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]

    # Then three pages hold all 11, each stating the same total
    assert pages == 3
    assert found == ADDITIONAL_IN_HOME
    assert counts == {11}


def test_other_drill_downs_have_no_additional_cases(gql, session, world: World):
    # Given Home's cases
    build_cases(session, world)

    # When Home's admin opens another drill-down and asks for additional cases
    body = gql(ADMIN, OTHER_DRILL_DOWN)

    # Then there are none: the field is null, without an error
    assert "errors" not in body
    assert body["data"]["customerActivity"]["drillDown"]["additionalCases"] is None
