"""An import job as clients see it: its file's columns, the mapping, progress and row errors."""

import datetime as dt

import strawberry

from graph.ids import encode_id
from models.imports import jobs as domain
from models.imports import runner as import_runner

ImportKind = strawberry.enum(domain.ImportKind, name="ImportKind")
ImportStatus = strawberry.enum(domain.ImportStatus, name="ImportStatus")


@strawberry.type(description="A field a column of the file can fill.")
class ImportField:
    name: str
    label: str = strawberry.field(description="The column header of the template.")
    required: bool


@strawberry.type(description="Which field a column of the file fills.")
class ColumnMapping:
    column: str
    field: str


@strawberry.type(description="A row that cannot be imported, and why.")
class ImportRowError:
    row: int = strawberry.field(description="The row in the file; the header is row 1.")
    column: str | None = strawberry.field(description="The file's column at fault, if one is.")
    message: str


def _mapping(pairs: dict[str, str] | None) -> list[ColumnMapping]:
    return [ColumnMapping(column=c, field=f) for c, f in (pairs or {}).items()]


@strawberry.type(
    description="An uploaded CSV file and its latest dry run or run. Poll it for progress."
)
class ImportJob:
    kind: ImportKind
    file_name: str
    columns: list[str] = strawberry.field(description="The file's column headers, in order.")
    total: int = strawberry.field(description="Data rows in the file.")
    dry_run: bool | None = strawberry.field(description="Whether the latest run was a dry run.")
    created: int = strawberry.field(description="Rows that created (or would create) a record.")
    updated: int
    unchanged: int
    error_count: int
    message: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @strawberry.field
    def id(self, root: domain.ImportJob) -> strawberry.ID:
        return strawberry.ID(encode_id("ImportJob", root.id))  # type: ignore[arg-type]

    @strawberry.field
    def status(self, root: domain.ImportJob) -> ImportStatus:
        return domain.ImportStatus(root.status)

    @strawberry.field(description="Rows checked so far by the latest run.")
    def processed(self, root: domain.ImportJob) -> int:
        running = root.status == domain.ImportStatus.RUNNING.value
        live = import_runner.progress_of(root.id) if running else None  # type: ignore[arg-type]
        return root.processed if live is None else max(live, root.processed)

    @strawberry.field(description="The mapping of the latest run.")
    def mapping(self, root: domain.ImportJob) -> list[ColumnMapping]:
        return _mapping(root.mapping)

    @strawberry.field(description="Columns whose header names a field.")
    def suggested_mapping(self, root: domain.ImportJob) -> list[ColumnMapping]:
        return _mapping(domain.suggested_mapping(root.kind, root.columns))

    @strawberry.field(description="The fields this kind of import can fill.")
    def fields(self, root: domain.ImportJob) -> list[ImportField]:
        return [
            ImportField(name=f.name, label=f.label, required=f.required)
            for f in domain.FIELDS[domain.ImportKind(root.kind)]
        ]

    @strawberry.field(description="The first row errors of the latest run (errorCount has all).")
    def errors(self, root: domain.ImportJob, first: int = 100) -> list[ImportRowError]:
        kept = (root.errors or [])[: max(0, first)]
        return [ImportRowError(**error) for error in kept]
