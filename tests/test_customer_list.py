"""The customer list: search, tag filter, sorts, Relay pagination and its argument checks, and
`Workgroup.customers` as the same list seen from a workgroup."""

import base64
from typing import Any

import pytest

from graph.ids import encode_id
from models.accounts.tables import Workgroup
from tests.conftest import World, grant, make_customer, make_workgroup

ADMIN = World.email("admin")

CONNECTION = """
  totalCount
  pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  edges { cursor node { id companyName primaryLocation city tags } }
"""
ARGUMENTS = """
  $search: String, $status: CustomerStatus, $sort: CustomerSort! = NAME_ASC, $tag: String,
  $first: Int! = 50, $after: String
"""
PASSED = "search: $search, status: $status, sort: $sort, tag: $tag, first: $first, after: $after"
LIST = f"""
query($wg: ID, {ARGUMENTS}) {{ customers(workgroupId: $wg, {PASSED}) {{ {CONNECTION} }} }}
"""
WORKGROUP_LIST = f"""
query($wg: ID!, {ARGUMENTS}) {{ workgroup(id: $wg) {{ customers({PASSED}) {{ {CONNECTION} }} }} }}
"""
ARCHIVE = "mutation($id: ID!) { archiveCustomer(id: $id) { errors { code } } }"

# The customers of the "Atlas" workgroup: name, primary domain, extra domains, country, city, tags.
ATLAS = [
    ("Northwind Traders", "northwind.example", ["nw-mail.example"], "US", "Seattle", ["VIP"]),
    ("Tailspin Toys", "tailspin.example", [], "US", "seattle", ["Retail"]),
    ("Contoso 100% Cotton", "contoso.example", [], "DE", "berlin", ["vip", "Retail"]),
    ("alpha co", "alpha.example", [], "DE", "Aachen", []),
    ("Under_Score Ltd", "underscore.example", [], "DE", None, []),
    (
        "Fabrikam",
        "fabrikam.example",
        ["FABRIKAM-Mail.example", "fab.example.org"],
        "AT",
        "Wien",
        [],
    ),
    ("Legacy [Old] Holdings", "legacy.example", [], None, None, []),
]
NAMES_ASC = [
    "alpha co",
    "Contoso 100% Cotton",
    "Fabrikam",
    "Legacy [Old] Holdings",
    "Northwind Traders",
    "Tailspin Toys",
    "Under_Score Ltd",
]
NAMES_DESC = list(reversed(NAMES_ASC))
# Country, then city (case-insensitively), absent values last; then name.
LOCATION_ASC = [
    "Fabrikam",  # AT Wien
    "alpha co",  # DE Aachen
    "Contoso 100% Cotton",  # DE berlin
    "Under_Score Ltd",  # DE -
    "Northwind Traders",  # US Seattle
    "Tailspin Toys",  # US seattle: same place, so by name
    "Legacy [Old] Holdings",  # - -
]
LOCATION_DESC = [
    "Northwind Traders",  # US Seattle
    "Tailspin Toys",  # US seattle: same place, so by name
    "Contoso 100% Cotton",  # DE berlin
    "alpha co",  # DE Aachen
    "Under_Score Ltd",  # DE -
    "Fabrikam",  # AT Wien
    "Legacy [Old] Holdings",  # - -
]


def cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.fixture
def atlas(session) -> Workgroup:
    """A workgroup of seven customers, administered by the home admin (World.email("admin"))."""
    workgroup = make_workgroup(session, "Atlas")
    grant(session, ADMIN, "admin", workgroup)
    for name, domain, domains, country, city, tags in ATLAS:
        make_customer(
            session,
            workgroup,
            company_name=name,
            primary_domain=domain,
            domains=domains,
            primary_location=country,
            city=city,
            tags=tags,
        )
    return workgroup


def atlas_list(gql, atlas: Workgroup, **arguments: Any) -> dict[str, Any]:
    body = gql(ADMIN, LIST, {"wg": encode_id("Workgroup", atlas.id), **arguments})  # type: ignore[arg-type]
    assert "errors" not in body, body
    return body["data"]["customers"]


def names(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["companyName"] for edge in connection["edges"]]


def refusal(response) -> tuple[int, list[str | None]]:
    """The status and error codes of a refused list request."""
    body = response.json()
    return response.status_code, [e.get("extensions", {}).get("code") for e in body["errors"]]


# ---------------------------------------------------------------- search and tags


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        pytest.param("northwind", ["Northwind Traders"], id="name"),
        pytest.param("TRADERS", ["Northwind Traders"], id="name-upper-case"),
        pytest.param("  alpha CO  ", ["alpha co"], id="name-padded"),
        pytest.param("CONTOSO.example", ["Contoso 100% Cotton"], id="primary-domain"),
        pytest.param("nw-mail", ["Northwind Traders"], id="extra-domain"),
        pytest.param("FABRIKAM-MAIL.EXAMPLE", ["Fabrikam"], id="extra-domain-upper-case"),
        pytest.param(".example", NAMES_ASC, id="every-domain"),
        pytest.param("%", ["Contoso 100% Cotton"], id="percent-is-literal"),
        pytest.param("% c", ["Contoso 100% Cotton"], id="percent-in-term"),
        pytest.param("_", ["Under_Score Ltd"], id="underscore-is-literal"),
        pytest.param("r_", ["Under_Score Ltd"], id="underscore-in-term"),
        pytest.param("\\", [], id="backslash"),
        pytest.param("[", ["Legacy [Old] Holdings"], id="bracket-in-name-only"),
        pytest.param('"', [], id="quote"),
        pytest.param('example", "fab', [], id="across-extra-domains"),
        pytest.param("   ", NAMES_ASC, id="blank-is-no-filter"),
    ],
)
def test_search_matches_name_and_domains_case_insensitively(gql, atlas, search, expected):
    # given: the seven Atlas customers
    # when: the list is searched
    connection = atlas_list(gql, atlas, search=search)

    # then: exactly the matching ones, by name, and totalCount agrees
    assert names(connection) == expected
    assert connection["totalCount"] == len(expected)


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        pytest.param("vip", ["Contoso 100% Cotton", "Northwind Traders"], id="lower-case"),
        pytest.param("  VIP ", ["Contoso 100% Cotton", "Northwind Traders"], id="padded"),
        pytest.param("Retail", ["Contoso 100% Cotton", "Tailspin Toys"], id="other-tag"),
        pytest.param("vi", [], id="no-prefix-match"),
        pytest.param("unknown", [], id="unknown"),
    ],
)
def test_tag_filter_matches_whole_tags_case_insensitively(gql, atlas, tag, expected):
    # given: "VIP" on Northwind and Contoso (as "vip"), "Retail" on Tailspin and Contoso
    # when: the list is filtered by tag
    connection = atlas_list(gql, atlas, tag=tag)

    # then: exactly the tagged ones
    assert names(connection) == expected
    assert connection["totalCount"] == len(expected)


@pytest.mark.parametrize("argument", ["search", "tag"])
def test_a_nul_character_in_a_filter_is_bad_user_input(gql, atlas, argument):
    # given: the Atlas customers
    # when: the list is searched or filtered with a NUL character (no stored text holds one)
    response = gql.post(
        ADMIN,
        LIST,
        {"wg": encode_id("Workgroup", atlas.id), argument: "vip\x00"},  # type: ignore[arg-type]
    )

    # then: the request is refused before it runs, on every database alike
    assert refusal(response) == (400, ["BAD_USER_INPUT"])


def test_search_tag_and_status_combine(gql, atlas):
    # given: Contoso is archived
    contoso = next(
        edge["node"]["id"]
        for edge in atlas_list(gql, atlas)["edges"]
        if edge["node"]["companyName"].startswith("Contoso")
    )
    assert gql(ADMIN, ARCHIVE, {"id": contoso})["data"]["archiveCustomer"]["errors"] == []

    # when: the VIP customers are listed by status
    active = atlas_list(gql, atlas, tag="vip")
    archived = atlas_list(gql, atlas, tag="vip", status="ARCHIVED")
    every = atlas_list(gql, atlas, tag="vip", status=None)
    searched = atlas_list(gql, atlas, tag="vip", search="contoso", status=None)

    # then: each filter narrows the others
    assert names(active) == ["Northwind Traders"]
    assert names(archived) == ["Contoso 100% Cotton"]
    assert names(every) == ["Contoso 100% Cotton", "Northwind Traders"]
    assert names(searched) == ["Contoso 100% Cotton"]


# ---------------------------------------------------------------- sorting


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        pytest.param("NAME_ASC", NAMES_ASC, id="name-asc"),
        pytest.param("NAME_DESC", NAMES_DESC, id="name-desc"),
        pytest.param("LOCATION_ASC", LOCATION_ASC, id="location-asc"),
        pytest.param("LOCATION_DESC", LOCATION_DESC, id="location-desc"),
    ],
)
def test_sorts(gql, atlas, sort, expected):
    # given: customers in three countries, one without a country, one without a city
    # when: the list is sorted
    connection = atlas_list(gql, atlas, sort=sort)

    # then: the expected order (names case-insensitively; absent locations last)
    assert names(connection) == expected


@pytest.mark.parametrize("sort", ["NAME_ASC", "NAME_DESC", "LOCATION_ASC", "LOCATION_DESC"])
def test_pages_follow_the_sort(gql, atlas, sort):
    # given: the whole list in one page
    whole = names(atlas_list(gql, atlas, sort=sort))

    # when: it is read two at a time
    seen: list[str] = []
    after = None
    while True:
        page = atlas_list(gql, atlas, sort=sort, first=2, after=after)
        seen += names(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    # then: the pages put together are the whole list in the same order
    assert seen == whole


# ---------------------------------------------------------------- pagination


@pytest.mark.parametrize(
    ("first", "search", "expected"),
    [
        pytest.param(1, None, NAMES_ASC, id="one-by-one"),
        pytest.param(3, None, NAMES_ASC, id="by-three"),
        pytest.param(7, None, NAMES_ASC, id="exactly-all"),
        pytest.param(1000, None, NAMES_ASC, id="the-cap"),
        pytest.param(2, "example", NAMES_ASC, id="filtered-all"),
        pytest.param(
            2,
            "IN",
            ["Legacy [Old] Holdings", "Northwind Traders", "Tailspin Toys"],
            id="filtered-some",
        ),
    ],
)
def test_pagination_walks_every_row_exactly_once(gql, atlas, first, search, expected):
    # given: the Atlas customers
    pages: list[dict[str, Any]] = []
    after = None

    # when: the list is walked with `first`/`after` until hasNextPage is false
    while True:
        page = atlas_list(gql, atlas, first=first, after=after, search=search)
        pages.append(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert len(pages) <= len(expected), "the walk does not end"

    # then: every row came once, in order; each page but the last was full and said so;
    # totalCount was the filtered count on every page; cursors match the edges
    assert [name for page in pages for name in names(page)] == expected
    assert len(pages) == max(1, -(-len(expected) // first))
    assert [len(page["edges"]) for page in pages[:-1]] == [first] * (len(pages) - 1)
    assert {page["totalCount"] for page in pages} == {len(expected)}
    assert [page["pageInfo"]["hasPreviousPage"] for page in pages] == [False] + [True] * (
        len(pages) - 1
    )
    for page in pages:
        assert page["pageInfo"]["startCursor"] == page["edges"][0]["cursor"]
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
    cursors = [edge["cursor"] for page in pages for edge in page["edges"]]
    assert len(set(cursors)) == len(cursors)


def test_first_zero_returns_no_rows_but_counts_them(gql, atlas):
    # given: seven customers
    # when: zero are asked for
    connection = atlas_list(gql, atlas, first=0)

    # then: no edges, but the count and the promise of more
    assert connection["edges"] == []
    assert connection["totalCount"] == 7
    assert connection["pageInfo"]["hasNextPage"] is True
    assert connection["pageInfo"]["endCursor"] is None


def test_after_the_last_cursor_there_is_nothing(gql, atlas):
    # given: the cursor of the last row
    last = atlas_list(gql, atlas)["pageInfo"]["endCursor"]

    # when: the page after it is asked for
    connection = atlas_list(gql, atlas, after=last)

    # then: an empty page that still counts every row
    assert connection["edges"] == []
    assert connection["pageInfo"]["hasNextPage"] is False
    assert connection["totalCount"] == 7


@pytest.mark.parametrize(
    ("arguments", "argument"),
    [
        pytest.param({"first": 1001}, "first", id="first-over-cap"),
        pytest.param({"first": 2_000_000_000}, "first", id="first-huge"),
        pytest.param({"first": -1}, "first", id="first-negative"),
        pytest.param({"after": "garbage"}, "after", id="after-garbage"),
        pytest.param({"after": cursor("offset:-1")}, "after", id="after-negative"),
        pytest.param({"after": cursor("offset:1.5")}, "after", id="after-fraction"),
        pytest.param({"after": encode_id("Customer", 1)}, "after", id="after-an-id"),
        pytest.param({"after": cursor("offset:\u00b2")}, "after", id="after-superscript-digit"),
        pytest.param({"after": cursor(f"offset:{10**20}")}, "after", id="after-huge-offset"),
        pytest.param({"search": "s" * 201}, "search", id="search-too-long"),
    ],
)
def test_bad_list_arguments_are_bad_user_input(gql, atlas, arguments, argument):
    # given: the Atlas workgroup
    variables = {"wg": encode_id("Workgroup", atlas.id), **arguments}  # type: ignore[arg-type]

    # when: the list is asked for with a bad argument
    response = gql.post(ADMIN, LIST, variables)

    # then: a GraphQL error BAD_USER_INPUT naming the argument, no list, never a 500
    status, codes = refusal(response)
    assert status == 200, response.text
    assert codes == ["BAD_USER_INPUT"], response.text
    body = response.json()
    assert body["errors"][0]["path"] == ["customers"]
    assert body["errors"][0]["extensions"].get("argument") == argument
    assert body["data"] == {"customers": None}


# ---------------------------------------------------------------- Workgroup.customers


@pytest.mark.parametrize(
    "arguments",
    [
        pytest.param({}, id="defaults"),
        pytest.param({"search": "example", "first": 3}, id="search-first-page"),
        pytest.param({"sort": "LOCATION_DESC", "first": 2, "after": cursor("offset:1")}, id="page"),
        pytest.param({"tag": "VIP", "sort": "NAME_DESC"}, id="tag"),
        pytest.param({"status": None}, id="every-status"),
        pytest.param({"status": "ARCHIVED"}, id="archived"),
    ],
)
def test_workgroup_customers_is_the_same_list(gql, world, atlas, arguments):
    # given: one archived Atlas customer, and home customers outside Atlas
    legacy = next(
        e for e in atlas_list(gql, atlas)["edges"] if "Legacy" in e["node"]["companyName"]
    )
    gql(ADMIN, ARCHIVE, {"id": legacy["node"]["id"]})
    variables = {"wg": encode_id("Workgroup", atlas.id), **arguments}  # type: ignore[arg-type]

    # when: the list is read through customers(workgroupId:) and through Workgroup.customers
    direct = gql(ADMIN, LIST, variables)
    nested = gql(ADMIN, WORKGROUP_LIST, variables)

    # then: both give the same edges, cursors, page info and count, and only Atlas customers
    assert "errors" not in direct
    assert "errors" not in nested
    assert nested["data"]["workgroup"]["customers"] == direct["data"]["customers"]
    atlas_names = {row[0] for row in ATLAS}
    assert set(names(direct["data"]["customers"])) <= atlas_names


@pytest.mark.parametrize(
    ("arguments", "argument"),
    [
        pytest.param({"first": 1001}, "first", id="first-over-cap"),
        pytest.param({"first": -5}, "first", id="first-negative"),
        pytest.param({"after": "garbage"}, "after", id="after-garbage"),
    ],
)
def test_workgroup_customers_refuses_bad_arguments_alike(gql, atlas, arguments, argument):
    # given: the Atlas workgroup
    variables = {"wg": encode_id("Workgroup", atlas.id), **arguments}  # type: ignore[arg-type]

    # when: its customers are asked for with a bad argument
    response = gql.post(ADMIN, WORKGROUP_LIST, variables)

    # then: the same BAD_USER_INPUT error at workgroup.customers; the workgroup is null
    status, codes = refusal(response)
    assert (status, codes) == (200, ["BAD_USER_INPUT"]), response.text
    body = response.json()
    assert body["errors"][0]["path"] == ["workgroup", "customers"]
    assert body["errors"][0]["extensions"]["argument"] == argument
    assert body["data"] == {"workgroup": {"customers": None}}
