"""Fields read directly from their source (graph.direct_fields) answer exactly as graphql-core's
own field execution would: the same values, errors, nulls and key order, for every role."""

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import strawberry
from strawberry.types import Info

from graph.direct_fields import FieldReader
from graph.execution import GuardedExecutionContext
from tests.activity_factories import Shared, shared_world
from tests.conftest import ROLES, World, without_request_ids

DASHBOARD = """
query($withRank: Boolean!, $hideTags: Boolean!) {
  customers(first: 50) { totalCount edges { cursor node {
    __typename id companyName status
    rank @include(if: $withRank)
    tags @skip(if: $hideTags)
    ...Names
    name: companyName
    agreements { id number endsOn isActive startsOn
      packages { id name kind status daysToExpiry expiresOn
        serviceAmounts { id category kind unit purchased used available description actionUrl }
      }
    }
    workgroup { id name }
    createdAt version
  } } }
}
fragment Names on Customer { companyName primaryDomain city }
"""


@pytest.fixture(scope="module")
def shared(engine, database_url) -> Iterator[Shared]:
    yield from shared_world(engine, database_url)


@pytest.fixture(autouse=True)
def _empty_tables() -> Iterator[None]:
    """The module's world is emptied once, when the module is done."""
    yield


@pytest.fixture
def read_directly(monkeypatch) -> list[int]:
    """Counts the fields answered by the direct path."""
    calls = [0]
    value = FieldReader.value

    def counted(self, source, info):
        calls[0] += 1
        return value(self, source, info)

    monkeypatch.setattr(FieldReader, "value", counted)
    return calls


def graphql_core_only(monkeypatch) -> None:
    monkeypatch.setattr(GuardedExecutionContext, "reads_directly", False)


@pytest.mark.parametrize("email", [World.email(r) for r in ROLES] + [World.GLOBAL_ADMIN])
def test_dashboard_answers_as_graphql_core_does(shared, monkeypatch, read_directly, email):
    # given a dashboard query mixing columns, derived fields, fragments, aliases and directives
    variables = {"withRank": True, "hideTags": False}

    # when it runs with the direct path, then with graphql-core's per-field execution only
    direct = without_request_ids(shared.gql(email, DASHBOARD, variables))
    fields_read_directly = read_directly[0]
    graphql_core_only(monkeypatch)
    reference = without_request_ids(shared.gql(email, DASHBOARD, variables))

    # then the answers are identical, and the direct path did answer fields
    assert direct == reference
    assert fields_read_directly > 0
    assert read_directly[0] == fields_read_directly


def test_keys_keep_the_order_of_the_selection(shared, read_directly):
    # given a selection interleaving direct fields with nested and meta fields
    body = shared.gql(World.GLOBAL_ADMIN, DASHBOARD, {"withRank": False, "hideTags": True})

    # then every customer's keys are in the order asked, without the skipped fields
    node = body["data"]["customers"]["edges"][0]["node"]
    assert list(node) == [
        "__typename",
        "id",
        "companyName",
        "status",
        "primaryDomain",
        "city",
        "name",
        "agreements",
        "workgroup",
        "createdAt",
        "version",
    ]
    assert read_directly[0] > 0


# ------------------------------------------------------- what the direct path hands back


@dataclass
class Box:
    label: str | None


@strawberry.type
class Item:
    label: str | None

    @strawberry.field
    def label_upper(self, root: Box) -> str:
        return root.label.upper()  # type: ignore[union-attr]

    @strawberry.field
    def required(self, root: Box) -> str:
        return root.label  # type: ignore[return-value]

    @strawberry.field
    def depth(self, info: Info) -> int:
        return len(info.path.as_list())

    @strawberry.field
    def suffix(self, info: Info) -> str:
        return info.context.suffix

    @strawberry.field
    def broken(self, info: Info) -> str | None:
        info.context.calls.append("broken")
        raise RuntimeError("the connection went away")

    @strawberry.field
    def number(self) -> int:
        return "not a number"  # type: ignore[return-value]

    @classmethod
    def is_type_of(cls, obj, _info) -> bool:
        return isinstance(obj, Box)


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return [Box("a"), Box(None)]  # type: ignore[list-item]

    @strawberry.field
    def mixed(self) -> list[Item | None]:
        return [Box("a"), None, Box(None), "not a box"]  # type: ignore[list-item]

    @strawberry.field
    def strict(self) -> list[Item] | None:
        return [Box("a"), Box(None)]  # type: ignore[list-item]


@dataclass
class Context:
    suffix: str
    calls: list[str] = field(default_factory=list)


def run(query: str, monkeypatch=None) -> dict:
    schema = strawberry.Schema(query=Query, execution_context_class=GuardedExecutionContext)
    if monkeypatch is not None:
        graphql_core_only(monkeypatch)
    result = schema.execute_sync(query, context_value=Context(suffix="!"))
    return {
        "data": result.data,
        "errors": sorted((e.message, tuple(e.path or ())) for e in result.errors or []),
    }


@pytest.mark.parametrize(
    ("fields", "failing"),
    [
        ("label labelUpper suffix", [("items", 1, "labelUpper")]),  # raises
        ("label required suffix", [("items", 1, "required")]),  # null for a non-null type
        ("label number suffix", [("items", 0, "number"), ("items", 1, "number")]),  # not an Int
    ],
)
def test_failures_are_reported_by_graphql_core_at_their_path(
    monkeypatch, read_directly, fields, failing
):
    # when a field fails on some items
    query = "{ items { " + fields + " } }"
    direct = run(query)

    # then the answer is graphql-core's own: errors at their paths, those items null
    assert direct == run(query, monkeypatch)
    assert [path for _message, path in direct["errors"]] == failing
    assert [item is None for item in direct["data"]["items"]] == [
        any(path[1] == i for path in failing) for i in range(2)
    ]
    assert read_directly[0] > 0


def test_resolvers_reading_more_than_the_context_get_a_full_info():
    # given a resolver that reads the path from its info
    schema = strawberry.Schema(query=Query, execution_context_class=GuardedExecutionContext)

    # when it is selected beside context-only fields
    result = schema.execute_sync("{ items { depth suffix } }", context_value=Context("?"))

    # then it sees its real path, and the context-only one its context
    assert result.errors is None
    assert result.data == {"items": [{"depth": 3, "suffix": "?"}, {"depth": 3, "suffix": "?"}]}


@pytest.mark.parametrize(
    ("query", "data", "failing"),
    [
        (
            "{ mixed { label labelUpper } }",
            {"mixed": [{"label": "a", "labelUpper": "A"}, None, None, None]},
            [("mixed", 2, "labelUpper"), ("mixed", 3)],
        ),
        ("{ strict { label required } }", {"strict": None}, [("strict", 1, "required")]),
        (
            "{ strict { label } items { label } }",
            {
                "strict": [{"label": "a"}, {"label": None}],
                "items": [{"label": "a"}, {"label": None}],
            },
            [],
        ),
    ],
)
def test_list_items_null_refused_or_failing_complete_as_graphql_core_does(
    monkeypatch, query, data, failing
):
    # when a list holds nulls, values its item type refuses, or items whose fields fail
    direct = run(query)

    # then nulls, errors and their paths are graphql-core's own
    assert direct == run(query, monkeypatch)
    assert direct["data"] == data
    assert sorted(path for _message, path in direct["errors"]) == failing


def test_a_resolver_that_raises_is_run_once_and_its_own_error_reported():
    # given a leaf resolver that fails (as one does when the database goes away mid-request:
    # run again, it would fail differently)
    schema = strawberry.Schema(query=Query, execution_context_class=GuardedExecutionContext)
    context = Context("!")

    # when it is selected on two items
    result = schema.execute_sync("{ items { label broken } }", context_value=context)

    # then it ran once per item, and its own error is reported at each path
    assert context.calls == ["broken", "broken"]
    assert result.data == {
        "items": [{"label": "a", "broken": None}, {"label": None, "broken": None}]
    }
    assert [(e.message, e.path) for e in result.errors] == [
        ("the connection went away", ["items", 0, "broken"]),
        ("the connection went away", ["items", 1, "broken"]),
    ]
