"""Reading and changing customers: filters and pages, validation, adding, updating, archiving
and reactivating."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    exists,
    false,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from models.audit.activity import record_activity
from models.core.enums import CompanySize, CustomerStatus, Industry, Relationship, RenewalPolicy
from models.core.errors import DomainError, ErrorCode, FieldError
from models.core.records import load_records
from models.core.validation import (
    check_country,
    check_domain,
    check_tag_separator,
    check_text,
    has_control_characters,
    normalize_domain,
    normalize_tag,
)
from models.customers.tables import (
    DOMAINS_PER_CUSTOMER_MAX,
    RANK_RANGE,
    TAG_MAX,
    TAGS_PER_CUSTOMER_MAX,
    TEXT_LIMITS,
    Customer,
    CustomerRecord,
    CustomerTag,
    Tag,
)
from models.customers.tags import set_tags, tag_keys, tags_by_customer
from models.db import utcnow
from models.partner.tables import ProjectMember


class CustomerSort(StrEnum):
    NAME_ASC = "NAME_ASC"
    NAME_DESC = "NAME_DESC"
    LOCATION_ASC = "LOCATION_ASC"
    LOCATION_DESC = "LOCATION_DESC"


ENUM_FIELDS: dict[str, type[Enum]] = {
    "industry": Industry,
    "company_size": CompanySize,
    "renewal_policy": RenewalPolicy,
    "relationship": Relationship,
}
EDITABLE_FIELDS = (
    "company_name",
    "primary_domain",
    "domains",
    "primary_location",
    "city",
    "state",
    "address",
    "postal_code",
    "phone",
    "fax",
    "industry",
    "company_size",
    "rank",
    "business_id",
    "renewal_policy",
    "relationship",
    "tags",
)
REQUIRED_FIELDS = ("company_name", "primary_domain")


# ---------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class CustomerFilter:
    workgroup_id: int | None = None
    search: str | None = None
    status: CustomerStatus | None = CustomerStatus.ACTIVE
    tag: str | None = None
    project_id: int | None = None
    # The rows on which `search` may match domains: those whose domains the viewer may read.
    search_domains: ColumnElement[bool] = dataclass_field(default_factory=true)


def _filter_conditions(spec: CustomerFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if spec.workgroup_id is not None:
        conditions.append(Customer.workgroup_id == spec.workgroup_id)
    if spec.status is not None:
        conditions.append(Customer.status == spec.status.value)
    if spec.search and spec.search.strip():
        term = spec.search.strip().lower()
        pattern = f"%{_escape_like(term)}%"
        matches = [func.lower(Customer.company_name).like(pattern, escape="\\")]
        domains = [Customer.primary_domain.like(pattern, escape="\\")]  # type: ignore[union-attr]
        # Extra domains are searched in their JSON text: only a term of host-name characters
        # cannot match the brackets, quotes and commas around and between them.
        if _HOST_NAME_CHARACTERS.fullmatch(term):
            domains.append(func.lower(Customer.domains.cast(String)).like(pattern, escape="\\"))  # type: ignore[union-attr]
        matches.append(and_(spec.search_domains, or_(*domains)))
        # No stored text holds NUL (PostgreSQL refuses it even as a parameter).
        conditions.append(false() if "\x00" in term else or_(*matches))
    if spec.tag is not None:
        key = normalize_tag(spec.tag).lower()
        conditions.append(
            false()
            if "\x00" in key
            else exists().where(
                CustomerTag.customer_id == Customer.id,
                Tag.id == CustomerTag.tag_id,
                Tag.name_key == key,
            )
        )
    if spec.project_id is not None:
        conditions.append(
            exists().where(
                ProjectMember.customer_id == Customer.id,
                ProjectMember.project_id == spec.project_id,
            )
        )
    return conditions


_HOST_NAME_CHARACTERS = re.compile(r"[a-z0-9.-]+")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _order_by(sort: CustomerSort) -> list[Any]:
    name = func.lower(Customer.company_name)
    if sort is CustomerSort.NAME_DESC:
        return [name.desc(), Customer.id.desc()]  # type: ignore[union-attr]
    if sort is CustomerSort.LOCATION_ASC:
        return [
            Customer.primary_location.asc().nulls_last(),  # type: ignore[union-attr]
            func.lower(Customer.city).asc().nulls_last(),
            name.asc(),
            Customer.id.asc(),  # type: ignore[union-attr]
        ]
    if sort is CustomerSort.LOCATION_DESC:
        return [
            Customer.primary_location.desc().nulls_last(),  # type: ignore[union-attr]
            func.lower(Customer.city).desc().nulls_last(),
            name.asc(),
            Customer.id.asc(),  # type: ignore[union-attr]
        ]
    return [name.asc(), Customer.id.asc()]  # type: ignore[union-attr]


def list_customers(
    *,
    session: Session,
    spec: CustomerFilter,
    sort: CustomerSort,
    offset: int,
    limit: int,
) -> list[CustomerRecord]:
    """One page of the customers the session lets its viewer see (policies.restriction)."""
    query = (
        select(Customer)
        .where(*_filter_conditions(spec))
        .order_by(*_order_by(sort))
        .offset(offset)
        .limit(limit)
    )
    return load_records(session, query, CustomerRecord)


def count_customers(*, session: Session, spec: CustomerFilter) -> int:
    query = select(func.count()).select_from(Customer).where(*_filter_conditions(spec))
    return session.execute(query).scalar_one()


def get_customer(*, session: Session, customer_id: int) -> Customer | None:
    return session.execute(select(Customer).where(Customer.id == customer_id)).scalars().first()


# ---------------------------------------------------------------- validation


def validate_customer(
    changes: dict[str, Any], *, creating: bool
) -> tuple[dict[str, Any], list[FieldError]]:
    """Checks and normalizes `changes`; returns the clean values and every problem found."""
    clean: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name in REQUIRED_FIELDS:
        if (creating or name in changes) and (
            changes.get(name) is None or not str(changes.get(name)).strip()
        ):
            errors.append(
                FieldError(_api_name(name), "This field is required.", ErrorCode.REQUIRED)
            )
    for name, value in changes.items():
        field = _api_name(name)
        if name in REQUIRED_FIELDS and (value is None or not str(value).strip()):
            continue
        if name in TEXT_LIMITS:
            problems = check_text(field, value, max_length=TEXT_LIMITS[name])
            errors += problems
            if not problems:
                clean[name] = value.strip() if value and value.strip() else None
        elif name == "primary_domain":
            problems = check_domain(field, value, required=True)
            errors += problems
            if not problems:
                clean[name] = normalize_domain(value)
        elif name == "domains":
            values = [normalize_domain(v) for v in value or []]
            if len(values) > DOMAINS_PER_CUSTOMER_MAX:
                errors.append(
                    FieldError(
                        field,
                        f"At most {DOMAINS_PER_CUSTOMER_MAX} extra domains are allowed.",
                        ErrorCode.TOO_LONG,
                    )
                )
                continue
            problems = [p for v in values for p in check_domain(field, v, required=True)]
            errors += problems
            if not problems:
                clean[name] = list(dict.fromkeys(values))
        elif name == "primary_location":
            problems = check_country(field, value)
            errors += problems
            if not problems:
                clean[name] = value.strip().upper() if value else None
        elif name in ENUM_FIELDS:
            clean[name] = None if value is None else ENUM_FIELDS[name](value).value
        elif name == "rank":
            low, high = RANK_RANGE
            if value is not None and not low <= value <= high:
                errors.append(
                    FieldError(field, f"Rank is a number from {low} to {high}.", ErrorCode.INVALID)
                )
            else:
                clean[name] = value
        elif name == "tags":
            tags = [normalize_tag(t) for t in value or []]
            if len(tags) > TAGS_PER_CUSTOMER_MAX:
                errors.append(
                    FieldError(field, f"At most {TAGS_PER_CUSTOMER_MAX} tags.", ErrorCode.TOO_LONG)
                )
            elif any(not t for t in tags):
                errors.append(FieldError(field, "A tag cannot be blank.", ErrorCode.REQUIRED))
            elif any(len(t) > TAG_MAX for t in tags):
                errors.append(
                    FieldError(
                        field, f"A tag has at most {TAG_MAX} characters.", ErrorCode.TOO_LONG
                    )
                )
            elif any(has_control_characters(t) for t in tags):
                errors.append(
                    FieldError(field, "Control characters are not allowed.", ErrorCode.INVALID)
                )
            elif problems := check_tag_separator(field, tags):
                errors += problems
            else:
                unique = {t.lower(): t for t in reversed(tags)}
                clean[name] = [unique[k] for k in dict.fromkeys(t.lower() for t in tags)]
        else:
            raise ValueError(f"{name} is not an editable customer field")
    return clean, errors


def _api_name(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _snapshot(customer: Customer, names: list[str], tags: list[str] | None) -> dict[str, Any]:
    """The named values as the API calls them, for the activity record."""
    values = {_api_name(name): getattr(customer, name) for name in names if name != "tags"}
    if tags is not None:
        values["tags"] = tags
    return values


def _primary_domain_taken(
    session: Session, workgroup_id: int, domain: str, except_id: int | None
) -> bool:
    query = select(Customer.id).where(
        Customer.workgroup_id == workgroup_id, Customer.primary_domain == domain
    )
    if except_id is not None:
        query = query.where(Customer.id != except_id)
    return session.execute(query).first() is not None


def _duplicate_domain_error() -> FieldError:
    return FieldError(
        "primaryDomain",
        "Another customer of this workgroup has this primary domain.",
        ErrorCode.DUPLICATE,
    )


@contextmanager
def _domain_taken_meanwhile() -> Iterator[None]:
    """A concurrent transaction took the primary domain after it was checked: the unique
    constraint refuses the write, which is the same DUPLICATE the check would have given."""
    try:
        yield
    except IntegrityError as failure:
        if "primary_domain" not in str(failure.orig):
            raise
        raise DomainError([_duplicate_domain_error()]) from failure


# ---------------------------------------------------------------- changing


def add_customer(
    *, session: Session, workgroup_id: int, values: dict[str, Any], actor_id: int | None
) -> Customer:
    clean, errors = validate_customer(values, creating=True)
    if "primary_domain" in clean and _primary_domain_taken(
        session, workgroup_id, clean["primary_domain"], None
    ):
        errors.append(_duplicate_domain_error())
    if errors:
        raise DomainError(errors)
    tags = clean.pop("tags", None)
    customer = Customer(workgroup_id=workgroup_id, **clean)
    session.add(customer)
    with _domain_taken_meanwhile():
        session.flush()
    if tags:
        set_tags(session, customer, tags)
    record_activity(
        session=session,
        actor_id=actor_id,
        workgroup_id=workgroup_id,
        action="customer.add",
        target_type="Customer",
        target_id=customer.id,
        after=_jsonable(_snapshot(customer, list(clean), tags)),
    )
    return customer


def update_customer(
    *,
    session: Session,
    customer: Customer,
    changes: dict[str, Any],
    expected_version: int | None,
    actor_id: int | None,
) -> Customer:
    """Applies `changes` atomically; a stale `expected_version` changes nothing."""
    if customer.status == CustomerStatus.ARCHIVED.value:
        raise DomainError(
            [
                FieldError(
                    None,
                    "An archived customer cannot be changed; reactivate it first.",
                    ErrorCode.ARCHIVED,
                )
            ]
        )
    _check_version(customer, expected_version)
    clean, errors = validate_customer(changes, creating=False)
    if "primary_domain" in clean and _primary_domain_taken(
        session, customer.workgroup_id, clean["primary_domain"], customer.id
    ):
        errors.append(_duplicate_domain_error())
    if errors:
        raise DomainError(errors)
    tags = clean.pop("tags", None)
    old_tags = (
        tags_by_customer(session=session, customer_ids=[customer.id])[customer.id]  # type: ignore[index, list-item]
        if tags is not None
        else None
    )
    changed = [name for name, value in clean.items() if getattr(customer, name) != value]
    tags_changed = tags is not None and tag_keys(tags) != tag_keys(old_tags or [])
    if not changed and not tags_changed:
        return customer
    before = _snapshot(customer, changed, old_tags if tags_changed else None)
    with _domain_taken_meanwhile():
        _bump(session, customer, expected_version, {name: clean[name] for name in changed})
    if tags_changed:
        set_tags(session, customer, tags)  # type: ignore[arg-type]
    record_activity(
        session=session,
        actor_id=actor_id,
        workgroup_id=customer.workgroup_id,
        action="customer.update",
        target_type="Customer",
        target_id=customer.id,
        before=_jsonable(before),
        after=_jsonable(_snapshot(customer, changed, tags if tags_changed else None)),
    )
    return customer


def archive_customer(
    *, session: Session, customer: Customer, expected_version: int | None, actor_id: int | None
) -> Customer:
    if customer.status == CustomerStatus.ARCHIVED.value:
        raise DomainError(
            [FieldError(None, "The customer is already archived.", ErrorCode.ARCHIVED)]
        )
    _check_version(customer, expected_version)
    before = _status_values(customer)
    _bump(
        session,
        customer,
        expected_version,
        {"status": CustomerStatus.ARCHIVED.value, "archived_at": utcnow()},
    )
    _record_status(session, customer, "customer.archive", actor_id, before)
    return customer


def reactivate_customer(
    *, session: Session, customer: Customer, expected_version: int | None, actor_id: int | None
) -> Customer:
    """Brings an archived customer back; nothing attached to it was ever removed."""
    if customer.status != CustomerStatus.ARCHIVED.value:
        raise DomainError(
            [FieldError(None, "The customer is not archived.", ErrorCode.NOT_ARCHIVED)]
        )
    _check_version(customer, expected_version)
    before = _status_values(customer)
    _bump(
        session,
        customer,
        expected_version,
        {"status": CustomerStatus.ACTIVE.value, "archived_at": None},
    )
    _record_status(session, customer, "customer.reactivate", actor_id, before)
    return customer


def _check_version(customer: Customer, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != customer.version:
        raise DomainError([_conflict(customer)])


def _conflict(customer: Customer) -> FieldError:
    return FieldError(
        "expectedVersion",
        "The customer was changed by someone else; reload it and try again.",
        ErrorCode.CONFLICT,
    )


def _bump(
    session: Session, customer: Customer, expected_version: int | None, values: dict[str, Any]
) -> None:
    """Writes `values` only if the row still has the version this change was based on."""
    base_version = customer.version if expected_version is None else expected_version
    now = utcnow()
    result = session.execute(
        update(Customer)
        .where(and_(Customer.id == customer.id, Customer.version == base_version))
        .values(**values, updated_at=now, version=base_version + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise DomainError([_conflict(customer)])
    # The row now holds these values; record them as loaded so the ORM has nothing to flush.
    for name, value in {**values, "updated_at": now, "version": base_version + 1}.items():
        set_committed_value(customer, name, value)


def _status_values(customer: Customer) -> dict[str, Any]:
    return _jsonable({"status": customer.status, "archivedAt": customer.archived_at})


def _record_status(
    session: Session, customer: Customer, action: str, actor_id: int | None, before: dict
) -> None:
    record_activity(
        session=session,
        actor_id=actor_id,
        workgroup_id=customer.workgroup_id,
        action=action,
        target_type="Customer",
        target_id=customer.id,
        before=before,
        after=_status_values(customer),
    )


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in values.items()
    }
