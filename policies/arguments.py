"""What filtering, sorting or searching a list by an argument reveals.

Filtering customers by tag tells which customers carry the tag, exactly like reading
`Customer.tags`. An argument listed here is allowed only where the viewer may read the fields
it reveals in every workgroup whose rows the list may return; elsewhere the list is FORBIDDEN
(null with the error naming the field), decided before execution like every field
(graph.execution). A search instead narrows itself: it matches a field only on the rows of the
workgroups where that field is readable (`AccessScope.readable_rows`).
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reveals:
    row_type: str  # the rows the list returns
    fields: tuple[str, ...]  # the coordinates the argument reveals
    values: frozenset[str] | None = None  # only these values reveal them (sort keys); None: any


_TAG = Reveals("Customer", ("Customer.tags",))
_LOCATION = Reveals(
    "Customer",
    ("Customer.primaryLocation", "Customer.city"),
    frozenset({"LOCATION_ASC", "LOCATION_DESC"}),
)

# (coordinate of the list field, argument) -> what a non-null value of it reveals
ARGUMENT_REVEALS: dict[tuple[str, str], Reveals] = {
    ("Query.customers", "tag"): _TAG,
    ("Query.customers", "sort"): _LOCATION,
    ("Query.customers", "projectId"): Reveals("Customer", ("Customer.projects",)),
    ("Workgroup.customers", "tag"): _TAG,
    ("Workgroup.customers", "sort"): _LOCATION,
}

# What a list's `search` matches besides what every viewer of its rows reads, per field.
SEARCHED_FIELDS = {"Customer": ("Customer.primaryDomain", "Customer.domains")}
