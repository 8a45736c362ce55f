"""Filtering or sorting a list by a field reveals that field: only viewers who may read it can."""

import pytest

from tests.conftest import World, make_customer

BY_TAG = 'query { customers(tag: "alpha") { totalCount } }'
BY_LOCATION = "query { customers(sort: LOCATION_ASC) { totalCount } }"
SEARCH = "query($q: String!) { customers(search: $q) { edges { node { companyName } } } }"


@pytest.mark.parametrize("role", ["customer_activity", "training_manager", "support_viewer"])
@pytest.mark.parametrize("query", [BY_TAG, BY_LOCATION], ids=["tag", "location"])
def test_roles_that_cannot_read_the_field_cannot_filter_or_sort_by_it(
    gql, world: World, role, query
):
    # When a role without list data filters by tag or sorts by location
    body = gql(World.email(role), query)

    # Then the list is refused with FORBIDDEN at its path, revealing nothing
    assert body["data"]["customers"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["errors"][0]["path"] == ["customers"]


@pytest.mark.parametrize("query", [BY_TAG, BY_LOCATION], ids=["tag", "location"])
def test_roles_that_read_the_field_filter_and_sort_by_it(gql, world: World, query):
    body = gql(World.email("sales_agent"), query)
    assert "errors" not in body
    assert body["data"]["customers"]["totalCount"] in (2, 3)  # alpha: customers 0 and 2


def test_search_matches_domains_only_for_viewers_who_may_read_them(gql, session, world: World):
    # Given a customer whose name does not contain the term but whose extra domain does
    make_customer(
        session, world.home, index="x1", company_name="Plain Name", domains=["secret-term.example"]
    )

    # When a sales agent and a customer-activity holder search for it
    sales = gql(World.email("sales_agent"), SEARCH, {"q": "secret-term"})
    activity = gql(World.email("customer_activity"), SEARCH, {"q": "secret-term"})

    # Then only the one who may read domains finds it
    assert [e["node"]["companyName"] for e in sales["data"]["customers"]["edges"]] == ["Plain Name"]
    assert activity["data"]["customers"]["edges"] == []
