"""How a batch of imported rows is checked against the database and written.

Each importer checks a batch (parse the mapped cells, validate with the same rules as the API,
match existing rows with one query per batch) into a plan, and writes a plan with a few
executemany statements. Nothing here commits: the runner decides whether the whole run stands.
"""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ARRAY,
    String,
    bindparam,
    cast,
    exists,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from engine.among import among
from models.accounts.emails import normalize_email
from models.core.enums import CustomerStatus
from models.core.errors import FieldError
from models.core.validation import check_domain, normalize_domain
from models.customers.operations import validate_customer
from models.customers.tables import Customer, CustomerTag, Tag
from models.customers.tags import tags_by_customer
from models.db import utcnow
from models.imports.jobs import CellError, ImportJob, fields_of, neutralised
from models.partner.operations import contact_errors
from models.partner.tables import Contact

IN_CHUNK = 500  # values per IN (...) list, well below every database's parameter limit
CUSTOMER_DEFAULTS = {
    "domains": [],
    "primary_location": None,
    "city": None,
    "state": None,
    "address": None,
    "postal_code": None,
    "phone": None,
    "fax": None,
    "industry": None,
    "company_size": None,
    "rank": None,
    "business_id": None,
    "renewal_policy": None,
    "relationship": None,
}


class ImportConflict(Exception):
    """Rows changed by someone else while the import ran; the run must be repeated."""


@dataclass(frozen=True)
class RowError:
    row: int
    column: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class Plan:
    creates: list[dict[str, Any]] = field(default_factory=list)
    updates: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)  # (row, changes)
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)


def _chunks(values: list, size: int = IN_CHUNK):
    for start in range(0, len(values), size):
        yield values[start : start + size]


class RowImporter:
    TABLES: tuple[str, ...] = ()

    def __init__(self, session: Session, job: ImportJob):
        self.session = session
        self.workgroup_id = job.workgroup_id
        self.fields = fields_of(job.kind)
        mapping: dict[str, str] = job.mapping or {}
        positions = {column: n for n, column in enumerate(job.columns)}
        self.columns = [
            (positions[column], column, self.fields[f]) for column, f in mapping.items()
        ]
        self.column_of = {f: column for column, f in mapping.items()}
        self.width = len(job.columns)
        self.seen: dict[str, int] = {}  # the key of each row so far -> its row number

    def parse(self, number: int, cells: list[str]) -> tuple[dict[str, Any] | None, list[RowError]]:
        """The mapped values of a row by model attribute (without those that could not be
        read), and the row's errors; no values for a row of the wrong shape."""
        if len(cells) > self.width:
            return None, [
                RowError(
                    number, None, f"The row has {len(cells)} cells; the header names {self.width}."
                )
            ]
        values: dict[str, Any] = {}
        errors = []
        for position, column, spec in self.columns:
            cell = neutralised(cells[position]) if position < len(cells) else ""
            try:
                values[spec.model_name] = spec.parse(cell)
            except CellError as error:
                errors.append(RowError(number, column, str(error)))
        return values, errors

    def row_errors(self, number: int, problems: list[FieldError]) -> list[RowError]:
        return [
            RowError(number, self.column_of.get(problem.field or ""), problem.message)
            for problem in problems
        ]

    def first_seen(self, number: int, key: str, field_name: str, what: str) -> RowError | None:
        earlier = self.seen.setdefault(key, number)
        if earlier == number:
            return None
        return RowError(
            number, self.column_of.get(field_name), f"The {what} {key} is also in row {earlier}."
        )

    @property
    def on_postgresql(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    def insert(self):
        return postgresql_insert if self.on_postgresql else sqlite_insert

    def refresh_statistics(self) -> None:
        """ANALYZE the tables the look-ups read (PostgreSQL; it sees this run's own rows)."""
        for table in self.TABLES:
            self.session.execute(text(f"ANALYZE {table}"))


# ---------------------------------------------------------------- customers


class CustomerImporter(RowImporter):
    """Matches on primary domain within the workgroup; only mapped fields are compared and set."""

    TABLES = ("customer", "customer_tag")

    def check(self, batch: list[tuple[int, list[str]]]) -> Plan:
        plan = Plan()
        parsed = []
        for number, cells in batch:
            values, errors = self.parse(number, cells)
            if values is not None:
                parsed.append((number, values, errors))
            else:
                plan.errors += errors
        domains = [
            normalize_domain(v["primary_domain"]) for _, v, _ in parsed if v.get("primary_domain")
        ]
        existing: dict[str, Customer] = {}
        for chunk in _chunks(domains):
            for customer in self.session.execute(
                select(Customer).where(
                    Customer.workgroup_id == self.workgroup_id,
                    among(Customer.primary_domain, chunk),
                )
            ).scalars():
                existing[customer.primary_domain] = customer
        tags: dict[int, list[str]] = {}
        if "tags" in self.column_of and existing:
            tags = tags_by_customer(
                session=self.session, customer_ids=[c.id for c in existing.values()]
            )
        for number, values, unreadable in parsed:
            domain = normalize_domain(values["primary_domain"] or "")
            customer = existing.get(domain)
            clean, problems = validate_customer(values, creating=customer is None)
            if problems or unreadable:
                plan.errors += unreadable + self.row_errors(number, problems)
                continue
            duplicate = self.first_seen(number, domain, "primaryDomain", "primary domain")
            if duplicate:
                plan.errors.append(duplicate)
                continue
            if customer is None:
                plan.creates.append(clean)
                continue
            changes = {
                name: value
                for name, value in clean.items()
                if not _same(name, value, customer, tags.get(customer.id, []))  # type: ignore[arg-type]
            }
            if not changes:
                plan.unchanged += 1
            elif customer.status == CustomerStatus.ARCHIVED.value:
                plan.errors.append(
                    RowError(
                        number,
                        self.column_of.get("primaryDomain"),
                        f"The customer {domain} is archived; reactivate it before changing it.",
                    )
                )
            else:
                plan.updates.append((customer, changes))
        return plan

    def write(self, plan: Plan) -> None:
        now = utcnow()
        tagged: dict[int, list[str]] = {}
        if plan.creates:
            rows = []
            for clean in plan.creates:
                values = {k: v for k, v in clean.items() if k != "tags"}
                rows.append(
                    CUSTOMER_DEFAULTS
                    | values
                    | {
                        "workgroup_id": self.workgroup_id,
                        "status": CustomerStatus.ACTIVE.value,
                        "version": 1,
                        "created_at": now,
                        "updated_at": now,
                        "accept_tickets_from_main_contact_only": False,
                    }
                )
            table = Customer.__table__  # type: ignore[attr-defined]
            # executemany without RETURNING: the driver pipelines it; the new ids are then
            # read back in one statement.
            self.session.execute(table.insert(), rows)
            created = [row["primary_domain"] for row in rows]
            ids = dict(
                self.session.execute(
                    select(Customer.primary_domain, Customer.id).where(
                        Customer.workgroup_id == self.workgroup_id,
                        among(Customer.primary_domain, created),
                    )
                ).all()
            )
            for clean in plan.creates:
                if clean.get("tags"):
                    tagged[ids[clean["primary_domain"]]] = clean["tags"]
        groups: dict[frozenset[str], list[dict[str, Any]]] = {}
        for customer, changes in plan.updates:
            columns = frozenset(name for name in changes if name != "tags")
            groups.setdefault(columns, []).append(
                {f"v_{name}": changes[name] for name in columns}
                | {
                    "b_id": customer.id,
                    "b_version": customer.version,
                    "b_next": customer.version + 1,
                    "b_at": now,
                }
            )
            if "tags" in changes:
                tagged[customer.id] = changes["tags"]
        table = Customer.__table__  # type: ignore[attr-defined]
        for columns, params in groups.items():
            statement = (
                table.update()
                .where(table.c.id == bindparam("b_id"), table.c.version == bindparam("b_version"))
                .values(
                    {name: bindparam(f"v_{name}") for name in columns}
                    | {"version": bindparam("b_next"), "updated_at": bindparam("b_at")}
                )
            )
            changed = self.session.execute(statement, params).rowcount  # type: ignore[attr-defined]
            if changed != len(params):  # an edit made meanwhile: its version moved on
                raise ImportConflict(
                    "Some customers were changed while the import ran; run it again."
                )
        if tagged:
            self.set_tags(tagged)

    def set_tags(self, tagged: dict[int, list[str]]) -> None:
        keys = {name.lower(): name for names in tagged.values() for name in names}
        key_list = list(keys)
        for chunk in _chunks(key_list):
            self.session.execute(
                self.insert()(Tag)
                .values(
                    [
                        {"workgroup_id": self.workgroup_id, "name": keys[key], "name_key": key}
                        for key in chunk
                    ]
                )
                .on_conflict_do_nothing(index_elements=["workgroup_id", "name_key"])
            )
        tag_ids: dict[str, int] = {}
        for chunk in _chunks(key_list):
            tag_ids.update(
                self.session.execute(
                    select(Tag.name_key, Tag.id).where(
                        Tag.workgroup_id == self.workgroup_id,
                        among(Tag.name_key, chunk),
                    )
                ).all()
            )
        link = CustomerTag.__table__  # type: ignore[attr-defined]
        for chunk in _chunks(list(tagged)):
            self.session.execute(link.delete().where(among(link.c.customer_id, chunk)))
        pairs = [
            (customer_id, tag_ids[name.lower()])
            for customer_id, names in tagged.items()
            for name in dict.fromkeys(names)
        ]
        if self.on_postgresql:  # two array parameters instead of a row per pair
            self.session.execute(
                text(
                    "INSERT INTO customer_tag (customer_id, tag_id, workgroup_id) "
                    "SELECT c, t, :workgroup FROM unnest("
                    "CAST(:customers AS integer[]), CAST(:tags AS integer[])) AS pair(c, t)"
                ),
                {
                    "customers": [c for c, _ in pairs],
                    "tags": [t for _, t in pairs],
                    "workgroup": self.workgroup_id,
                },
            )
        else:
            self.session.execute(
                link.insert(),
                [
                    {"customer_id": c, "tag_id": t, "workgroup_id": self.workgroup_id}
                    for c, t in pairs
                ],
            )


def _same(name: str, value: Any, customer: Customer, tags: list[str]) -> bool:
    if name == "tags":
        return {t.lower() for t in value or []} == {t.lower() for t in tags}
    if name == "domains":
        return set(value or []) == set(customer.domains or [])
    current = getattr(customer, name)
    return current == (value.value if hasattr(value, "value") else value)


# ---------------------------------------------------------------- contacts


class ContactImporter(RowImporter):
    """Matches on e-mail within the workgroup; attaches contacts to the customer whose domain is
    the e-mail's domain (or to the one named in a customer-domain column)."""

    TABLES = ("contact",)

    def check(self, batch: list[tuple[int, list[str]]]) -> Plan:
        plan = Plan()
        parsed = []
        for number, cells in batch:
            values, errors = self.parse(number, cells)
            plan.errors += errors  # contact fields are text: only a row's shape can fail here
            if values is not None and not errors:
                parsed.append((number, values))
        emails = [normalize_email(v["email"]) for _, v in parsed if v.get("email")]
        existing: dict[str, Contact] = {}
        placed: set[tuple[str, int | None]] = set()  # (e-mail, customer) of those contacts
        for chunk in _chunks(emails):
            for contact in self.session.execute(
                select(Contact)
                .where(
                    Contact.workgroup_id == self.workgroup_id,
                    among(Contact.email, chunk),
                )
                .order_by(Contact.id.desc())  # type: ignore[union-attr]
            ).scalars():
                existing[contact.email] = contact  # the oldest contact with the address wins
                placed.add((contact.email, contact.customer_id))
        wanted = {e.rpartition("@")[2] for e in emails} | {
            normalize_domain(v["customer_domain"]) for _, v in parsed if v.get("customer_domain")
        }
        by_primary, by_extra = self._customers_by_domain(sorted(wanted))
        current_ids = {c.customer_id for c in existing.values() if c.customer_id is not None}
        archived = self._archived(current_ids)
        for number, values in parsed:
            problems = contact_errors(
                {k: values.get(k) for k in ("first_name", "last_name", "email")}
                | {k: values[k] for k in ("phone", "job_title") if k in values}
            )
            if problems:
                plan.errors += self.row_errors(number, problems)
                continue
            email = normalize_email(values["email"])
            duplicate = self.first_seen(number, email, "email", "e-mail address")
            if duplicate:
                plan.errors.append(duplicate)
                continue
            target, error = self._customer_for(number, values, email, by_primary, by_extra)
            if error:
                plan.errors.append(error)
                continue
            clean = {
                "email": email,
                "first_name": values["first_name"].strip(),
                "last_name": values["last_name"].strip(),
            } | {
                k: (values[k].strip() if values[k] else None)
                for k in ("phone", "job_title")
                if k in values
            }
            contact = existing.get(email)
            if contact is None:
                plan.creates.append(clean | {"customer_id": target[0] if target else None})
                continue
            changes = {k: v for k, v in clean.items() if getattr(contact, k) != v}
            explicit = values.get("customer_domain") is not None
            if (
                target
                and contact.customer_id != target[0]
                and (explicit or contact.customer_id is None)
            ):
                changes["customer_id"] = target[0]
                if (email, target[0]) in placed:  # one contact per address at a customer
                    plan.errors.append(
                        RowError(
                            number,
                            self.column_of.get("customerDomain") or self.column_of.get("email"),
                            f"The customer already has another contact with the e-mail address "
                            f"{email}.",
                        )
                    )
                    continue
            if not changes:
                plan.unchanged += 1
            elif contact.customer_id in archived:
                plan.errors.append(
                    RowError(
                        number,
                        self.column_of.get("email"),
                        f"The contact {email} belongs to an archived customer; reactivate it "
                        "before changing the contact.",
                    )
                )
            else:
                plan.updates.append((contact, changes))
        return plan

    def _customer_for(self, number, values, email, by_primary, by_extra):
        """((customer id, archived), None), (None, None) for no customer, or (None, error)."""
        named = values.get("customer_domain")
        if named is not None:
            column = self.column_of.get("customerDomain")
            problem = check_domain("customerDomain", named, required=True)
            if problem:
                return None, RowError(number, column, problem[0].message)
            found = by_primary.get(normalize_domain(named))
            if found is None:
                return None, RowError(
                    number,
                    column,
                    f"No customer of this workgroup has the primary domain "
                    f"{normalize_domain(named)}.",
                )
            if found[1]:
                return None, RowError(
                    number, column, f"The customer {normalize_domain(named)} is archived."
                )
            return found, None
        domain = email.rpartition("@")[2]
        found = by_primary.get(domain) or by_extra.get(domain)
        # An archived customer keeps its contacts as they were: none are added to it.
        return (found if found and not found[1] else None), None

    def _customers_by_domain(self, domains: list[str]):
        by_primary: dict[str, tuple[int, bool]] = {}
        by_extra: dict[str, tuple[int, bool]] = {}
        if not domains:
            return by_primary, by_extra
        for chunk in _chunks(domains):
            rows = self.session.execute(
                select(Customer.id, Customer.primary_domain, Customer.domains, Customer.status)
                .where(
                    Customer.workgroup_id == self.workgroup_id,
                    or_(
                        among(Customer.primary_domain, chunk),
                        self._extra_domain_in(chunk),
                    ),
                )
                .order_by(Customer.id)
            ).all()
            wanted = set(chunk)
            for customer_id, primary, extra, status in rows:
                entry = (customer_id, status == CustomerStatus.ARCHIVED.value)
                if primary in wanted:
                    by_primary.setdefault(primary, entry)
                for domain in extra or []:
                    if domain in wanted:
                        by_extra.setdefault(domain, entry)
        return by_primary, by_extra

    def _extra_domain_in(self, domains: list[str]):
        if self.on_postgresql:
            as_jsonb = cast(Customer.domains, JSONB)
            return as_jsonb.has_any(bindparam(None, domains, type_=ARRAY(String)))
        entries = func.json_each(Customer.domains).table_valued("value")
        return exists(
            select(literal_column("1")).select_from(entries).where(entries.c.value.in_(domains))
        )

    def _archived(self, customer_ids: set[int]) -> set[int]:
        found: set[int] = set()
        for chunk in _chunks(sorted(customer_ids)):
            found.update(
                self.session.execute(
                    select(Customer.id).where(
                        among(Customer.id, chunk),
                        Customer.status == CustomerStatus.ARCHIVED.value,
                    )
                ).scalars()
            )
        return found

    def write(self, plan: Plan) -> None:
        table = Contact.__table__  # type: ignore[attr-defined]
        now = utcnow()
        if plan.creates:
            self.session.execute(
                table.insert(),
                [
                    {"phone": None, "job_title": None}
                    | clean
                    | {"workgroup_id": self.workgroup_id, "is_main": False, "created_at": now}
                    for clean in plan.creates
                ],
            )
        groups: dict[frozenset[str], list[dict[str, Any]]] = {}
        for contact, changes in plan.updates:
            groups.setdefault(frozenset(changes), []).append(
                {f"v_{k}": v for k, v in changes.items()} | {"b_id": contact.id}
            )
        for columns, params in groups.items():
            self.session.execute(
                table.update()
                .where(table.c.id == bindparam("b_id"))
                .values({name: bindparam(f"v_{name}") for name in columns}),
                params,
            )


IMPORTERS = {"CUSTOMERS": CustomerImporter, "CONTACTS": ContactImporter}
