"""The provider's day-to-day work on a customer: contacts, tags, orders, contracts with their
service level, and projects customers belong to."""

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    Column,
    Date,
    Index,
    Numeric,
    UniqueConstraint,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel

from models.accounts import normalize_email
from models.activity import record_activity
from models.among import among
from models.customers import Contact, Customer, CustomerStatus, _set_tags, tags_by_customer
from models.db import UTCDateTime, utcnow
from models.enums import Catalog, ContractType
from models.errors import DomainError, ErrorCode, FieldError
from models.invitations import queue_invitation
from models.validation import check_text, normalize_tag

MONEY = Numeric(12, 2)
LINES_MAX = 100
QUANTITY_MAX = 1_000_000


class CustomerOrder(SQLModel, table=True):
    __tablename__ = "customer_order"

    id: int | None = Field(default=None, primary_key=True)
    workgroup_id: int = Field(foreign_key="workgroup.id")
    customer_id: int = Field(foreign_key="customer.id", index=True)
    catalog: str = Field(max_length=32)
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    created_by: int | None = Field(default=None, foreign_key="app_user.id")


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_line"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="customer_order.id", index=True)
    workgroup_id: int = Field(foreign_key="workgroup.id", index=True)
    product: str = Field(max_length=200)
    quantity: int


class Contract(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    workgroup_id: int = Field(foreign_key="workgroup.id")
    customer_id: int = Field(foreign_key="customer.id", index=True)
    name: str = Field(max_length=200)
    type: str = Field(max_length=32)
    rate: Decimal | None = Field(default=None, sa_column=Column(MONEY))
    amount: Decimal | None = Field(default=None, sa_column=Column(MONEY))
    starts_on: dt.date | None = Field(default=None, sa_column=Column(Date))
    ends_on: dt.date | None = Field(default=None, sa_column=Column(Date))


class ServiceLevel(SQLModel, table=True):
    """A customer's SLA targets and alert-threshold profile; one per customer."""

    __tablename__ = "service_level"

    customer_id: int = Field(foreign_key="customer.id", primary_key=True)
    workgroup_id: int = Field(foreign_key="workgroup.id")
    first_response_minutes: int
    resolution_minutes: int
    alert_profile: str = Field(max_length=100)


class Project(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("workgroup_id", "name", name="uq_project_name"),
        # Names are unique case-insensitively, also between concurrent transactions.
        Index("uq_project_name_key", "workgroup_id", text("lower(name)"), unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    workgroup_id: int = Field(foreign_key="workgroup.id")
    name: str = Field(max_length=200)


class ProjectMember(SQLModel, table=True):
    __tablename__ = "project_member"

    project_id: int = Field(foreign_key="project.id", primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", primary_key=True, index=True)
    workgroup_id: int = Field(foreign_key="workgroup.id", index=True)


def _record(session, actor_id, customer_or_workgroup, action, target_type, target_id, after):
    record_activity(
        session=session,
        actor_id=actor_id,
        workgroup_id=customer_or_workgroup,
        action=action,
        target_type=target_type,
        target_id=target_id,
        after=after,
    )


def _require_active(customer: Customer) -> None:
    if customer.status == CustomerStatus.ARCHIVED.value:
        raise DomainError(
            [
                FieldError(
                    "customerId",
                    "The customer is archived; reactivate it first.",
                    ErrorCode.ARCHIVED,
                )
            ]
        )


# ---------------------------------------------------------------- contacts


def _contact_errors(values: dict) -> list[FieldError]:
    from models.accounts import email_problem

    errors = []
    for name, api, limit, required in (
        ("first_name", "firstName", 100, True),
        ("last_name", "lastName", 100, True),
        ("phone", "phone", 40, False),
        ("job_title", "jobTitle", 100, False),
    ):
        if name in values:
            errors += check_text(api, values[name], max_length=limit, required=required)
    if "email" in values:
        problem = email_problem(values["email"] or "")
        if problem:
            errors.append(FieldError("email", problem, ErrorCode.INVALID))
    return errors


def add_contact(
    *,
    session: Session,
    workgroup_id: int,
    customer: Customer | None,
    values: dict,
    actor_id: int,
    send_invitation: bool = False,
) -> Contact:
    """Adds a contact; with `send_invitation`, an invitation is queued in the same transaction."""
    errors = _contact_errors({"first_name": None, "last_name": None, "email": None, **values})
    if errors:
        raise DomainError(errors)
    if customer is not None:
        _require_active(customer)
    contact = Contact(
        workgroup_id=workgroup_id,
        customer_id=customer.id if customer else None,
        first_name=values["first_name"].strip(),
        last_name=values["last_name"].strip(),
        email=normalize_email(values["email"]),
        phone=values.get("phone"),
        job_title=values.get("job_title"),
    )
    session.add(contact)
    session.flush()
    after: dict = {"email": contact.email, "customerId": contact.customer_id}
    if send_invitation:
        queue_invitation(session=session, contact=contact)
        after["invitation"] = True
    _record(session, actor_id, workgroup_id, "contact.add", "Contact", contact.id, after)
    return contact


def invite_contact(*, session: Session, contact: Contact, actor_id: int) -> Contact:
    """Queues a fresh invitation for an existing contact."""
    _require_current_customer_active(session, contact)
    queue_invitation(session=session, contact=contact)
    _record(
        session,
        actor_id,
        contact.workgroup_id,
        "contact.invite",
        "Contact",
        contact.id,
        {"email": contact.email},
    )
    return contact


def _require_current_customer_active(session: Session, contact: Contact) -> None:
    """A contact of an archived customer is frozen with it, like everything attached to it."""
    if contact.customer_id is not None:
        _require_active(session.get_one(Customer, contact.customer_id))


def update_contact(*, session: Session, contact: Contact, values: dict, actor_id: int) -> Contact:
    _require_current_customer_active(session, contact)
    errors = _contact_errors(values)
    if errors:
        raise DomainError(errors)
    for name, value in values.items():
        if name == "email":
            value = normalize_email(value)
        elif isinstance(value, str):
            value = value.strip() or None
        setattr(contact, name, value)
    session.add(contact)
    session.flush()
    _record(
        session,
        actor_id,
        contact.workgroup_id,
        "contact.update",
        "Contact",
        contact.id,
        {k: v for k, v in values.items()},
    )
    return contact


def move_contact(
    *, session: Session, contact: Contact, customer: Customer | None, actor_id: int
) -> Contact:
    """Moves a contact to another customer of its workgroup, or leaves it without one."""
    _require_current_customer_active(session, contact)
    if customer is not None:
        _require_active(customer)
        if customer.workgroup_id != contact.workgroup_id:
            raise DomainError(
                [FieldError("customerId", "No customer with this id.", ErrorCode.NOT_FOUND)]
            )
    contact.customer_id = customer.id if customer else None
    contact.is_main = False  # the main contact of one customer is not that of another
    session.add(contact)
    session.flush()
    _record(
        session,
        actor_id,
        contact.workgroup_id,
        "contact.move",
        "Contact",
        contact.id,
        {"customerId": contact.customer_id},
    )
    return contact


def set_main_contact(
    *, session: Session, customer: Customer, contact: Contact, actor_id: int
) -> Contact:
    _require_active(customer)
    if contact.customer_id != customer.id:
        raise DomainError(
            [
                FieldError(
                    "contactId", "The contact does not belong to this customer.", ErrorCode.INVALID
                )
            ]
        )
    session.execute(update(Contact).where(Contact.customer_id == customer.id).values(is_main=False))
    session.flush()
    session.execute(update(Contact).where(Contact.id == contact.id).values(is_main=True))
    session.refresh(contact)
    _record(
        session,
        actor_id,
        customer.workgroup_id,
        "contact.set_main",
        "Customer",
        customer.id,
        {"mainContact": contact.email},
    )
    return contact


def set_ticket_policy(
    *, session: Session, customer: Customer, main_contact_only: bool, actor_id: int
) -> Customer:
    _require_active(customer)
    customer.accept_tickets_from_main_contact_only = main_contact_only
    session.add(customer)
    session.flush()
    _record(
        session,
        actor_id,
        customer.workgroup_id,
        "customer.ticket_policy",
        "Customer",
        customer.id,
        {"acceptTicketsFromMainContactOnly": main_contact_only},
    )
    return customer


def contacts_by_customer(*, session: Session, customer_ids: list[int]) -> dict[int, list[Contact]]:
    found: dict[int, list[Contact]] = {cid: [] for cid in customer_ids}
    for contact in session.execute(
        select(Contact)
        .where(among(Contact.customer_id, customer_ids))
        .order_by(Contact.last_name, Contact.id)  # type: ignore[union-attr]
    ).scalars():
        found[contact.customer_id].append(contact)  # type: ignore[index]
    return found


# ---------------------------------------------------------------- tags


def change_tags(
    *, session: Session, customer: Customer, add: list[str], remove: list[str], actor_id: int
) -> Customer:
    from models.customers import TAG_MAX, TAGS_PER_CUSTOMER_MAX

    _require_active(customer)
    current = tags_by_customer(session=session, customer_ids=[customer.id])[customer.id]  # type: ignore[index]
    wanted = {t.lower(): t for t in current}
    for tag in add:
        tag = normalize_tag(tag)
        errors = check_text("tags", tag, max_length=TAG_MAX, required=True)
        if errors:
            raise DomainError(errors)
        wanted.setdefault(tag.lower(), tag)
    for tag in remove:
        wanted.pop(normalize_tag(tag).lower(), None)
    if len(wanted) > TAGS_PER_CUSTOMER_MAX:
        raise DomainError(
            [FieldError("tags", f"At most {TAGS_PER_CUSTOMER_MAX} tags.", ErrorCode.TOO_LONG)]
        )
    _set_tags(session, customer, list(wanted.values()))
    _record(
        session,
        actor_id,
        customer.workgroup_id,
        "customer.tags",
        "Customer",
        customer.id,
        {"tags": sorted(wanted.values(), key=str.lower)},
    )
    return customer


# ---------------------------------------------------------------- orders


def create_order(
    *,
    session: Session,
    customer: Customer,
    catalog: Catalog,
    lines: list[tuple[str, int]],
    actor_id: int,
) -> CustomerOrder:
    _require_active(customer)
    errors: list[FieldError] = []
    if not lines:
        errors.append(FieldError("lines", "An order needs at least one line.", ErrorCode.REQUIRED))
    if len(lines) > LINES_MAX:
        errors.append(FieldError("lines", f"At most {LINES_MAX} lines.", ErrorCode.TOO_LONG))
    for index, (product, quantity) in enumerate(lines):
        errors += check_text(f"lines.{index}.product", product, max_length=200, required=True)
        if not 1 <= quantity <= QUANTITY_MAX:
            errors.append(
                FieldError(
                    f"lines.{index}.quantity",
                    f"A quantity is 1 to {QUANTITY_MAX}.",
                    ErrorCode.INVALID,
                )
            )
    if errors:
        raise DomainError(errors)
    order = CustomerOrder(
        workgroup_id=customer.workgroup_id,
        customer_id=customer.id,
        catalog=catalog.value,
        created_by=actor_id,
    )
    session.add(order)
    session.flush()
    session.add_all(
        OrderLine(
            order_id=order.id, workgroup_id=order.workgroup_id, product=p.strip(), quantity=q
        )
        for p, q in lines
    )
    session.flush()
    _record(
        session,
        actor_id,
        customer.workgroup_id,
        "order.create",
        "Customer",
        customer.id,
        {"catalog": catalog.value, "lines": [{"product": p, "quantity": q} for p, q in lines]},
    )
    return order


# ---------------------------------------------------------------- contracts and service level


def add_contract(*, session: Session, customer: Customer, values: dict, actor_id: int) -> Contract:
    _require_active(customer)
    errors = check_text("name", values.get("name"), max_length=200, required=True)
    for money in ("rate", "amount"):
        value = values.get(money)
        if value is not None and (value < 0 or value > Decimal("9999999999.99")):
            errors.append(
                FieldError(money, "Enter an amount from 0 to 9,999,999,999.99.", ErrorCode.INVALID)
            )
        elif value is not None and value != value.quantize(Decimal("0.01")):
            errors.append(FieldError(money, "Enter whole cents.", ErrorCode.INVALID))
    starts, ends = values.get("starts_on"), values.get("ends_on")
    if starts and ends and ends < starts:
        errors.append(
            FieldError("endsOn", "A contract cannot end before it starts.", ErrorCode.INVALID)
        )
    if errors:
        raise DomainError(errors)
    contract = Contract(
        workgroup_id=customer.workgroup_id,
        customer_id=customer.id,
        name=values["name"].strip(),
        type=ContractType(values["type"]).value,
        rate=values.get("rate"),
        amount=values.get("amount"),
        starts_on=starts,
        ends_on=ends,
    )
    session.add(contract)
    session.flush()
    _record(
        session,
        actor_id,
        customer.workgroup_id,
        "contract.add",
        "Customer",
        customer.id,
        {"name": contract.name, "type": contract.type},
    )
    return contract


def set_service_level(
    *,
    session: Session,
    customer: Customer,
    first_response_minutes: int,
    resolution_minutes: int,
    alert_profile: str,
    actor_id: int,
) -> ServiceLevel:
    _require_active(customer)
    errors = check_text("alertProfile", alert_profile, max_length=100, required=True)
    if not 1 <= first_response_minutes <= 525_600:
        errors.append(
            FieldError("firstResponseMinutes", "From 1 minute to a year.", ErrorCode.INVALID)
        )
    if not 1 <= resolution_minutes <= 525_600:
        errors.append(
            FieldError("resolutionMinutes", "From 1 minute to a year.", ErrorCode.INVALID)
        )
    if not errors and resolution_minutes < first_response_minutes:
        errors.append(
            FieldError(
                "resolutionMinutes",
                "Resolution cannot come before the first response.",
                ErrorCode.INVALID,
            )
        )
    if errors:
        raise DomainError(errors)
    level = session.get(ServiceLevel, customer.id) or ServiceLevel(
        customer_id=customer.id,
        workgroup_id=customer.workgroup_id,
        first_response_minutes=0,
        resolution_minutes=0,
        alert_profile="",
    )
    level.first_response_minutes = first_response_minutes
    level.resolution_minutes = resolution_minutes
    level.alert_profile = alert_profile.strip()
    session.add(level)
    session.flush()
    _record(
        session,
        actor_id,
        customer.workgroup_id,
        "customer.service_level",
        "Customer",
        customer.id,
        {
            "firstResponseMinutes": first_response_minutes,
            "resolutionMinutes": resolution_minutes,
            "alertProfile": level.alert_profile,
        },
    )
    return level


# ---------------------------------------------------------------- projects


def create_project(*, session: Session, workgroup_id: int, name: str, actor_id: int) -> Project:
    errors = check_text("name", name, max_length=200, required=True)
    if errors:
        raise DomainError(errors)
    name = name.strip()
    if session.execute(
        select(Project.id).where(
            Project.workgroup_id == workgroup_id, func.lower(Project.name) == name.lower()
        )
    ).first():
        raise DomainError(
            [FieldError("name", "A project with this name exists.", ErrorCode.DUPLICATE)]
        )
    project = Project(workgroup_id=workgroup_id, name=name)
    session.add(project)
    try:
        session.flush()
    except IntegrityError as failure:  # a concurrent transaction took the name meanwhile
        raise DomainError(
            [FieldError("name", "A project with this name exists.", ErrorCode.DUPLICATE)]
        ) from failure
    _record(
        session, actor_id, workgroup_id, "project.create", "Project", project.id, {"name": name}
    )
    return project


def set_project_member(
    *, session: Session, project: Project, customer: Customer, member: bool, actor_id: int
) -> Project:
    _require_active(customer)
    if customer.workgroup_id != project.workgroup_id:
        raise DomainError(
            [FieldError("customerId", "No customer with this id.", ErrorCode.NOT_FOUND)]
        )
    existing = session.get(ProjectMember, (project.id, customer.id))
    if member and existing is not None:
        raise DomainError([FieldError("customerId", "Already a member.", ErrorCode.DUPLICATE)])
    if not member and existing is None:
        raise DomainError([FieldError("customerId", "Not a member.", ErrorCode.NOT_FOUND)])
    if member:
        session.add(
            ProjectMember(
                project_id=project.id,  # type: ignore[arg-type]
                customer_id=customer.id,  # type: ignore[arg-type]
                workgroup_id=project.workgroup_id,
            )
        )
        try:
            session.flush()
        except IntegrityError as failure:  # added by a concurrent transaction meanwhile
            raise DomainError(
                [FieldError("customerId", "Already a member.", ErrorCode.DUPLICATE)]
            ) from failure
    else:
        removed = session.execute(
            delete(ProjectMember).where(
                ProjectMember.project_id == project.id,
                ProjectMember.customer_id == customer.id,
            )
        ).rowcount
        if not removed:  # removed by a concurrent transaction meanwhile
            raise DomainError([FieldError("customerId", "Not a member.", ErrorCode.NOT_FOUND)])
    _record(
        session,
        actor_id,
        project.workgroup_id,
        "project.member.add" if member else "project.member.remove",
        "Project",
        project.id,
        {"customerId": customer.id},
    )
    return project
