"""CSV imports of customers and contacts: the uploaded file, the fields its columns may map to,
and the job that checks (dry run) or runs the import.

A run is all-or-nothing: every batch is written in one transaction that commits only when no
row had an error, so a failed or interrupted run leaves the database as it was, and running the
same file again is safe (rows match existing customers on primary domain, contacts on e-mail).
"""

import csv
import io
import os
import re
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Index, Text, update
from sqlmodel import Field, Session, SQLModel

from models.core.enums import CompanySize, Industry, Relationship, RenewalPolicy
from models.core.errors import DomainError, ErrorCode, FieldError
from models.db import UTCDateTime, utcnow

ERRORS_KEPT = 1000  # row errors stored per run; error_count counts them all
MAX_COLUMNS = 1000  # columns of an uploaded file (the widest template has 17)
# Identifies this process among the runners of import jobs (a pid alone may be reused).
RUNNER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class ImportKind(StrEnum):
    CUSTOMERS = "CUSTOMERS"
    CONTACTS = "CONTACTS"


class ImportStatus(StrEnum):
    UPLOADED = "UPLOADED"  # columns known, not started
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"  # a dry run that finished (errors or not), or a run that committed
    FAILED = "FAILED"  # a run with row errors (nothing written), or one that was interrupted


STARTABLE = (ImportStatus.UPLOADED, ImportStatus.SUCCEEDED, ImportStatus.FAILED)


class ImportJob(SQLModel, table=True):
    __tablename__ = "import_job"
    __table_args__ = (Index("ix_import_job_workgroup_created", "workgroup_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    workgroup_id: int = Field(foreign_key="workgroup.id")
    kind: str = Field(max_length=16)
    file_name: str = Field(max_length=200)
    content: str = Field(sa_column=Column(Text, nullable=False))
    columns: list[str] = Field(sa_column=Column(JSON, nullable=False))
    total: int = 0
    status: str = Field(max_length=16)
    dry_run: bool | None = Field(default=None, sa_column=Column(Boolean))
    mapping: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    processed: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    error_count: int = 0
    errors: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    message: str | None = Field(default=None, max_length=500)
    runner: str | None = Field(default=None, max_length=200)  # RUNNER of the process running it
    created_by: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    started_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


# ---------------------------------------------------------------- fields a column can fill


class CellError(ValueError):
    """A cell that cannot become a value of its field."""


def _text(cell: str) -> str | None:
    return cell if cell.strip() else None


def neutralised(cell: str) -> str:
    """Undoes the quote our exports put before formula-like text ("'=x" → "=x")."""
    if len(cell) > 1 and cell[0] == "'" and cell[1] in "=+-@\t\r":
        return cell[1:]
    return cell


def _list(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(",") if part.strip()]


def _enum(enum: type[StrEnum]) -> Callable[[str], StrEnum | None]:
    by_key = {re.sub(r"[^a-z0-9]", "", member.value.lower()): member for member in enum}

    def parse(cell: str) -> StrEnum | None:
        if not cell.strip():
            return None
        member = by_key.get(re.sub(r"[^a-z0-9]", "", cell.lower()))
        if member is None:
            raise CellError(f"{cell.strip()!r} is not one of {', '.join(m.value for m in enum)}.")
        return member

    return parse


def _integer(cell: str) -> int | None:
    if not cell.strip():
        return None
    try:
        return int(cell.strip())
    except ValueError:
        raise CellError(f"{cell.strip()!r} is not a whole number.") from None


@dataclass(frozen=True)
class ImportField:
    name: str  # as the API calls it
    label: str  # the column header of the template (and of the export)
    required: bool = False
    parse: Callable[[str], Any] = _text
    model_name: str = ""  # the model attribute; by default the snake-case name

    def __post_init__(self) -> None:
        if not self.model_name:
            snake = re.sub(r"(?<!^)([A-Z])", r"_\1", self.name).lower()
            object.__setattr__(self, "model_name", snake)


CUSTOMER_FIELDS = [
    ImportField("companyName", "company name", required=True),
    ImportField("primaryDomain", "primary domain", required=True),
    ImportField("relationship", "relationship", parse=_enum(Relationship)),
    ImportField("tags", "tags", parse=_list),
    ImportField("primaryLocation", "country"),
    ImportField("city", "city"),
    ImportField("domains", "domains", parse=_list),
    ImportField("state", "state"),
    ImportField("address", "address"),
    ImportField("postalCode", "postal code"),
    ImportField("phone", "phone"),
    ImportField("fax", "fax"),
    ImportField("industry", "industry", parse=_enum(Industry)),
    ImportField("companySize", "company size", parse=_enum(CompanySize)),
    ImportField("renewalPolicy", "renewal policy", parse=_enum(RenewalPolicy)),
    ImportField("rank", "rank", parse=_integer),
    ImportField("businessId", "business id"),
]
CONTACT_FIELDS = [
    ImportField("email", "e-mail", required=True),
    ImportField("firstName", "first name", required=True),
    ImportField("lastName", "last name", required=True),
    ImportField("phone", "phone"),
    ImportField("jobTitle", "job title"),
    # Attaches the contact to the customer with this primary domain; without it, to the
    # customer whose domain is the e-mail's domain, if there is one.
    ImportField("customerDomain", "customer domain"),
]
FIELDS = {ImportKind.CUSTOMERS: CUSTOMER_FIELDS, ImportKind.CONTACTS: CONTACT_FIELDS}


def fields_of(kind: str) -> dict[str, ImportField]:
    return {field.name: field for field in FIELDS[ImportKind(kind)]}


def template(kind: str) -> str:
    """The header row of the kind's template (the customer export's columns come first)."""
    return _csv_line([field.label for field in FIELDS[ImportKind(kind)]])


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def suggested_mapping(kind: str, columns: list[str]) -> dict[str, str]:
    """Column → field for the columns whose header names a field (by label or API name)."""
    by_key: dict[str, str] = {}
    for field in FIELDS[ImportKind(kind)]:
        by_key.setdefault(_key(field.label), field.name)
        by_key.setdefault(_key(field.name), field.name)
    mapping: dict[str, str] = {}
    for column in columns:
        field = by_key.get(_key(column))
        if field is not None and field not in mapping.values():
            mapping[column] = field
    return mapping


# ---------------------------------------------------------------- the uploaded file


class UploadProblem(ValueError):
    """Why an uploaded file cannot be imported at all."""


def _csv_line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()


def records(content: str) -> Iterator[tuple[int, list[str]]]:
    """(spreadsheet row number, cells) of each data row; the header is row 1."""
    reader = csv.reader(io.StringIO(content, newline=""), strict=True)
    next(reader, None)
    for number, cells in enumerate(reader, start=2):
        if any(cell.strip() for cell in cells):
            yield number, cells


_QUOTED_CELL = re.compile(r'"[^"]*(?:""[^"]*)*"')
_CELL_END = re.compile(r"[,\r\n]")


def _header_width(content: str, limit: int) -> int:
    """How many cells the first row has, counted up to `limit + 1` without splitting it (a
    header of a million cells is refused before a list of them is made). Reads cells as the csv
    module does: a quote opens a quoted cell only at the start of a cell."""
    position, cells = 0, 1
    if content.startswith("\ufeff"):
        position = 1
    while cells <= limit:
        if content.startswith('"', position):
            quoted = _QUOTED_CELL.match(content, position)
            if quoted is None:
                return cells  # an unterminated quote: the csv module reports it
            position = quoted.end()
        end = _CELL_END.search(content, position)
        if end is None or content[end.start()] != ",":
            return cells
        position = end.end()
        cells += 1
    return cells


def _repeated(values: list[str]) -> set[str]:
    """The values that occur more than once, in linear time."""
    seen: set[str] = set()
    return {value for value in values if value in seen or seen.add(value)}


def read_upload(raw: bytes, *, max_rows: int) -> tuple[str, list[str], int]:
    """(text, columns, data rows) of an uploaded CSV file, or UploadProblem."""
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UploadProblem(
            f"The file is not UTF-8 text (byte {error.start + 1}); save it as CSV UTF-8."
        ) from None
    if "\x00" in content:
        raise UploadProblem("The file holds NUL characters; it is not a CSV text file.")
    if _header_width(content, MAX_COLUMNS) > MAX_COLUMNS:
        raise UploadProblem(f"The file has more than {MAX_COLUMNS} columns.")
    reader = csv.reader(io.StringIO(content, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise UploadProblem("The file is empty: the first row must name the columns.")
        columns = [cell.strip() for cell in header]
        if len(columns) > MAX_COLUMNS:
            raise UploadProblem(f"The file has more than {MAX_COLUMNS} columns.")
        if any(not column for column in columns):
            raise UploadProblem("Every column needs a name in the first row.")
        duplicates = sorted(_repeated(columns))
        if duplicates:
            raise UploadProblem(f"Column names must differ: {', '.join(duplicates)}.")
        rows = 0
        for cells in reader:
            if any(cell.strip() for cell in cells):
                rows += 1
                if rows > max_rows:
                    raise UploadProblem(f"The file has more than {max_rows} rows.")
    except csv.Error as error:
        raise UploadProblem(
            f"The file is not valid CSV near line {reader.line_num}: {error}."
        ) from None
    return content, columns, rows


def create_upload(
    *,
    session: Session,
    workgroup_id: int,
    kind: str,
    file_name: str,
    raw: bytes,
    max_rows: int,
    actor_id: int,
) -> ImportJob:
    content, columns, rows = read_upload(raw, max_rows=max_rows)
    job = ImportJob(
        workgroup_id=workgroup_id,
        kind=ImportKind(kind).value,
        file_name=(file_name.strip() or "import.csv")[:200],
        content=content,
        columns=columns,
        total=rows,
        status=ImportStatus.UPLOADED.value,
        created_by=actor_id,
    )
    session.add(job)
    session.flush()
    return job


# ---------------------------------------------------------------- starting a run


def check_mapping(kind: str, columns: list[str], pairs: list[tuple[str, str]]) -> list[FieldError]:
    """Problems of a (column, field) mapping: unknown columns or fields, a column or field used
    twice, required fields left out."""
    fields = fields_of(kind)
    errors = []
    known_columns = set(columns)
    for column, field in pairs:
        if column not in known_columns:
            errors.append(
                FieldError("mapping", f"The file has no column {column!r}.", ErrorCode.INVALID)
            )
        if field not in fields:
            errors.append(
                FieldError(
                    "mapping",
                    f"{field!r} is not a field of this import; use one of {', '.join(fields)}.",
                    ErrorCode.INVALID,
                )
            )
    for column in sorted(_repeated([column for column, _ in pairs])):
        errors.append(
            FieldError("mapping", f"The column {column!r} is mapped twice.", ErrorCode.INVALID)
        )
    mapped = [field for _, field in pairs]
    for field in sorted(_repeated(mapped)):
        errors.append(
            FieldError("mapping", f"Only one column can fill {field}.", ErrorCode.INVALID)
        )
    missing = [f.name for f in fields.values() if f.required and f.name not in mapped]
    if missing:
        errors.append(
            FieldError(
                "mapping",
                f"Map a column to each required field: {', '.join(missing)}.",
                ErrorCode.REQUIRED,
            )
        )
    return errors


# What an import of each kind does, as the mutations and input fields that do it one by one:
# the viewer must hold all of them in the workgroup (see graph/imports/mutations.py).
_MUTATIONS = {
    ImportKind.CUSTOMERS: ["Mutation.addCustomer", "Mutation.updateCustomer"],
    ImportKind.CONTACTS: ["Mutation.addContact", "Mutation.updateContact"],
}
_INPUTS = {
    ImportKind.CUSTOMERS: ["AddCustomerInput", "UpdateCustomerInput"],
    ImportKind.CONTACTS: ["AddContactInput", "UpdateContactInput"],
}
_INPUT_FIELD = {"customerDomain": ["AddContactInput.customerId", "Mutation.moveContact"]}


def required_coordinates(kind: str, fields: list[str]) -> list[str]:
    """The coordinates an import of `kind` filling `fields` needs (unknown fields need none:
    the mapping check refuses them)."""
    known = fields_of(kind)
    coordinates = list(_MUTATIONS[ImportKind(kind)])
    for field in fields:
        if field not in known:
            continue
        if field in _INPUT_FIELD:
            coordinates += _INPUT_FIELD[field]
        else:
            coordinates += [f"{name}.{field}" for name in _INPUTS[ImportKind(kind)]]
    return coordinates


def start_import(
    *, session: Session, job: ImportJob, mapping: list[tuple[str, str]] | None, dry_run: bool
) -> ImportJob:
    """Queues a dry run or a run of the uploaded file; the caller starts the runner."""
    pairs = list(suggested_mapping(job.kind, job.columns).items()) if mapping is None else mapping
    errors = check_mapping(job.kind, job.columns, pairs)
    if errors:
        raise DomainError(errors)
    chosen = dict(pairs)
    queued = session.execute(
        update(ImportJob)
        .where(
            ImportJob.id == job.id,
            ImportJob.status.in_([s.value for s in STARTABLE]),  # type: ignore[attr-defined]
        )
        .values(
            status=ImportStatus.QUEUED.value,
            mapping=chosen,
            dry_run=dry_run,
            processed=0,
            created=0,
            updated=0,
            unchanged=0,
            error_count=0,
            errors=None,
            message=None,
            runner=RUNNER,
            started_at=None,
            finished_at=None,
        )
    )
    if queued.rowcount != 1:  # type: ignore[attr-defined]
        raise DomainError(
            [FieldError("importJobId", "This import is already running.", ErrorCode.CONFLICT)]
        )
    session.flush()
    session.refresh(job)
    return job
