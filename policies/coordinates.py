"""Coordinates the policy decides that are not fields of the GraphQL schema."""

from policies.authorizer import READ, WRITE
from policies.rows import qualified_row_coordinates

EDUCATION_EXPORT = "Export.educationReport"
ACTIVITY_EXPORT = "Export.activityLog"
CUSTOMER_EXPORT = "Export.customers"
IMPORT_COORDINATES = {"CUSTOMERS": "Import.customers", "CONTACTS": "Import.contacts"}

# HTTP exports, each decided in the workgroup it exports from.
EXPORTS = [(EDUCATION_EXPORT, WRITE), (ACTIVITY_EXPORT, WRITE), (CUSTOMER_EXPORT, WRITE)]


# Decided on the roles held in every workgroup (global roles), not in one workgroup.
GLOBAL_COORDINATES = frozenset({"Mutation.createWorkgroup"})


def deciding_workgroup(coordinate: str, workgroup_id: int | None) -> int | None:
    return None if coordinate in GLOBAL_COORDINATES else workgroup_id


def non_schema_coordinates() -> list[tuple[str, str]]:
    return [
        *((c, READ) for c in qualified_row_coordinates()),
        *EXPORTS,
        *((c, WRITE) for c in IMPORT_COORDINATES.values()),
    ]
