"""The provider's day-to-day work on a customer: contacts, tags, orders, contracts with their
service level, and projects customers belong to."""

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from sqlalchemy import (
    delete,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session

from engine.among import among
from models.accounts.emails import email_problem, normalize_email
from models.audit.activity import changed_values, record_activity
from models.core.enums import Catalog, ContractType, CustomerStatus
from models.core.errors import DomainError, ErrorCode, FieldError
from models.core.global_ids import global_id
from models.core.validation import check_tag_separator, check_text, normalize_tag
from models.customers.tables import TAG_MAX, TAGS_PER_CUSTOMER_MAX, Customer
from models.customers.tags import set_tags, tags_by_customer
from models.partner.invitations import queue_invitation
from models.partner.tables import (
    LINES_MAX,
    QUANTITY_MAX,
    Contact,
    Contract,
    CustomerOrder,
    OrderLine,
    Project,
    ProjectMember,
    ServiceLevel,
)


def _record(
    session,
    actor_id,
    workgroup_id,
    action,
    target_type,
    target_id,
    *,
    before=None,
    after=None,
    customer_id=None,
):
    """An activity record of the change (models.audit.activity.record_activity: values in API terms,
    `customer_id` the customer the change concerns)."""
    record_activity(
        session=session,
        actor_id=actor_id,
        workgroup_id=workgroup_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        before=before,
        after=after,
        customer_id=customer_id,
    )


def _set(values: dict) -> dict:
    """The values a new row was given (what its creation record shows): none left unset."""
    return {key: value for key, value in values.items() if value is not None and value is not False}


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


def contact_errors(values: dict) -> list[FieldError]:

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


# Contact attributes, as the API's Contact type names them in activity records.
CONTACT_FIELDS = {
    "first_name": "firstName",
    "last_name": "lastName",
    "email": "email",
    "phone": "phone",
    "job_title": "jobTitle",
    "is_main": "isMain",
}
EMAIL_INDEX = "uq_contact_email_per_customer"


def _contact_values(contact: Contact) -> dict:
    """The contact as its activity records show it, with its customer's global id."""
    values = {api: getattr(contact, name) for name, api in CONTACT_FIELDS.items()}
    values["customerId"] = global_id("Customer", contact.customer_id)
    return values


def _duplicate_email() -> DomainError:
    return DomainError(
        [
            FieldError(
                "email",
                "The customer has a contact with this e-mail address.",
                ErrorCode.DUPLICATE,
            )
        ]
    )


def _require_email_free(
    session: Session, customer_id: int | None, email: str, contact_id: int | None
) -> None:
    """A customer has one contact per e-mail address, compared case-insensitively as the
    unique index uq_contact_email_per_customer compares them."""
    if customer_id is None:
        return
    query = select(Contact.id).where(
        Contact.customer_id == customer_id, func.lower(Contact.email) == func.lower(email)
    )
    if contact_id is not None:
        query = query.where(Contact.id != contact_id)
    if session.execute(query).first() is not None:
        raise _duplicate_email()


@contextmanager
def _email_taken_meanwhile() -> Iterator[None]:
    """A concurrent transaction gave the customer a contact with the address after it was
    checked: the unique index refuses the write, the same DUPLICATE the check would give."""
    try:
        yield
    except IntegrityError as failure:
        if EMAIL_INDEX not in str(failure.orig):
            raise
        raise _duplicate_email() from failure


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
    errors = contact_errors({"first_name": None, "last_name": None, "email": None, **values})
    if errors:
        raise DomainError(errors)
    if customer is not None:
        _require_active(customer)
        _require_email_free(session, customer.id, normalize_email(values["email"]), None)
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
    with _email_taken_meanwhile():
        session.flush()
    after = _set(_contact_values(contact))
    if send_invitation:
        queue_invitation(session=session, contact=contact)
        after["invitation"] = True
    _record(
        session,
        actor_id,
        workgroup_id,
        "contact.add",
        "Contact",
        contact.id,
        after=after,
        customer_id=contact.customer_id,
    )
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
        after={"email": contact.email},
        customer_id=contact.customer_id,
    )
    return contact


def _require_current_customer_active(session: Session, contact: Contact) -> None:
    """A contact of an archived customer is frozen with it, like everything attached to it."""
    if contact.customer_id is not None:
        _require_active(session.get_one(Customer, contact.customer_id))


def update_contact(*, session: Session, contact: Contact, values: dict, actor_id: int) -> Contact:
    _require_current_customer_active(session, contact)
    errors = contact_errors(values)
    if errors:
        raise DomainError(errors)
    clean = {}
    for name, value in values.items():
        if name == "email":
            value = normalize_email(value)
        elif isinstance(value, str):
            value = value.strip() or None
        clean[name] = value
    if "email" in clean:
        _require_email_free(session, contact.customer_id, clean["email"], contact.id)
    before = _contact_values(contact)
    for name, value in clean.items():
        setattr(contact, name, value)
    session.add(contact)
    with _email_taken_meanwhile():
        session.flush()
    old, new = changed_values(before, _contact_values(contact))
    if new:  # setting the values it has already changes nothing
        _record(
            session,
            actor_id,
            contact.workgroup_id,
            "contact.update",
            "Contact",
            contact.id,
            before=old,
            after=new,
            customer_id=contact.customer_id,
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
        if customer.id != contact.customer_id:
            _require_email_free(session, customer.id, contact.email, contact.id)
    left = contact.customer_id
    before = _contact_values(contact)
    contact.customer_id = customer.id if customer else None
    contact.is_main = False  # the main contact of one customer is not that of another
    # Written even when it was read False: a concurrent transaction may have made the contact
    # its customer's main contact meanwhile.
    flag_modified(contact, "is_main")
    session.add(contact)
    with _email_taken_meanwhile():
        session.flush()
    old, new = changed_values(before, _contact_values(contact))
    if new:
        # One record, in the feed of the customer the contact joins (moved to none: of the one
        # it left); its `before` names the customer it left.
        _record(
            session,
            actor_id,
            contact.workgroup_id,
            "contact.move",
            "Contact",
            contact.id,
            before=old,
            after=new,
            customer_id=contact.customer_id if contact.customer_id is not None else left,
        )
    return contact


def _contact_moved() -> FieldError:
    return FieldError(
        "contactId",
        "The contact or the customer's main contact was changed by someone else; reload and "
        "try again.",
        ErrorCode.CONFLICT,
    )


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
    previous = session.execute(
        select(Contact.email).where(Contact.customer_id == customer.id, Contact.is_main)
    ).scalar()
    session.execute(update(Contact).where(Contact.customer_id == customer.id).values(is_main=False))
    session.flush()
    # Only while the contact is still this customer's: moved to another one meanwhile (by a
    # concurrent transaction), it must not become that one's main contact.
    try:
        made_main = session.execute(
            update(Contact)
            .where(Contact.id == contact.id, Contact.customer_id == customer.id)
            .values(is_main=True)
        ).rowcount  # type: ignore[attr-defined]
    except IntegrityError as failure:  # another main contact was set meanwhile
        raise DomainError([_contact_moved()]) from failure
    if made_main != 1:
        raise DomainError([_contact_moved()])
    session.refresh(contact)
    if previous != contact.email:  # making the main contact main again changes nothing
        _record(
            session,
            actor_id,
            customer.workgroup_id,
            "contact.set_main",
            "Customer",
            customer.id,
            before={"mainContact": previous},
            after={"mainContact": contact.email},
        )
    return contact


def set_ticket_policy(
    *, session: Session, customer: Customer, main_contact_only: bool, actor_id: int
) -> Customer:
    _require_active(customer)
    previous = customer.accept_tickets_from_main_contact_only
    customer.accept_tickets_from_main_contact_only = main_contact_only
    session.add(customer)
    session.flush()
    if previous != main_contact_only:
        _record(
            session,
            actor_id,
            customer.workgroup_id,
            "customer.ticket_policy",
            "Customer",
            customer.id,
            before={"acceptTicketsFromMainContactOnly": previous},
            after={"acceptTicketsFromMainContactOnly": main_contact_only},
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


def _lock_customer(session: Session, customer: Customer) -> None:
    """Holds the customer's row until the transaction ends and reloads it: PostgreSQL locks the
    row (SELECT ... FOR NO KEY UPDATE, which a concurrent lock or update of it waits for);
    SQLite, which has no row locks, takes its write lock, which every other writer waits for,
    with a write that changes nothing."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            update(Customer)
            .where(Customer.id == customer.id)
            .values(version=Customer.version)
            .execution_options(synchronize_session=False)
        )
    session.refresh(customer, with_for_update={"key_share": True})


def change_tags(
    *, session: Session, customer: Customer, add: list[str], remove: list[str], actor_id: int
) -> Customer:

    _require_active(customer)
    for tag in add:
        errors = check_text(
            "tags", normalize_tag(tag), max_length=TAG_MAX, required=True
        ) or check_tag_separator("tags", [tag])
        if errors:
            raise DomainError(errors)
    # One change of this customer's tags at a time, each on the tags the one before left:
    # two agents adding tags at once both keep theirs.
    _lock_customer(session, customer)
    _require_active(customer)  # as it is now, not as it was read before the lock
    current = tags_by_customer(session=session, customer_ids=[customer.id])[customer.id]  # type: ignore[index]
    wanted = {t.lower(): t for t in current}
    for tag in add:
        tag = normalize_tag(tag)
        wanted.setdefault(tag.lower(), tag)
    for tag in remove:
        wanted.pop(normalize_tag(tag).lower(), None)
    if len(wanted) > TAGS_PER_CUSTOMER_MAX:
        raise DomainError(
            [FieldError("tags", f"At most {TAGS_PER_CUSTOMER_MAX} tags.", ErrorCode.TOO_LONG)]
        )
    if list(wanted) == [t.lower() for t in current]:
        return customer  # adding tags it has, or removing tags it lacks, changes nothing
    set_tags(session, customer, list(wanted.values()))
    _record(
        session,
        actor_id,
        customer.workgroup_id,
        "customer.tags",
        "Customer",
        customer.id,
        before={"tags": current},
        after={"tags": sorted(wanted.values(), key=str.lower)},
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
        OrderLine(order_id=order.id, workgroup_id=order.workgroup_id, product=p.strip(), quantity=q)
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
        after={
            "id": global_id("Order", order.id),
            "catalog": catalog.value,
            "lines": [{"product": p.strip(), "quantity": q} for p, q in lines],
        },
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
        after=_set(
            {
                "id": global_id("Contract", contract.id),
                "name": contract.name,
                "type": contract.type,
                "rate": None if contract.rate is None else float(contract.rate),
                "amount": None if contract.amount is None else float(contract.amount),
                "startsOn": contract.starts_on.isoformat() if contract.starts_on else None,
                "endsOn": contract.ends_on.isoformat() if contract.ends_on else None,
            }
        ),
    )
    return contract


# Service level attributes, as the API's ServiceLevel type names them in activity records.
SERVICE_LEVEL_FIELDS = {
    "first_response_minutes": "firstResponseMinutes",
    "resolution_minutes": "resolutionMinutes",
    "alert_profile": "alertProfile",
}


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
    # The level it replaces, as it is: a concurrent setting of it waits until this one ends.
    _lock_customer(session, customer)
    _require_active(customer)  # as it is now, not as it was read before the lock
    existing = session.execute(
        select(*(getattr(ServiceLevel, name) for name in SERVICE_LEVEL_FIELDS)).where(
            ServiceLevel.customer_id == customer.id
        )
    ).first()
    level = ServiceLevel(
        customer_id=customer.id,  # type: ignore[arg-type]
        workgroup_id=customer.workgroup_id,
        first_response_minutes=first_response_minutes,
        resolution_minutes=resolution_minutes,
        alert_profile=alert_profile.strip(),
    )
    # One statement that inserts the customer's service level or updates the one there: two
    # first settings at once are one insert and one update (on PostgreSQL the second waits for
    # the first; on SQLite for its write lock), never a duplicate key. `level` is what it wrote.
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(ServiceLevel).values(
        customer_id=level.customer_id,
        workgroup_id=level.workgroup_id,
        first_response_minutes=level.first_response_minutes,
        resolution_minutes=level.resolution_minutes,
        alert_profile=level.alert_profile,
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["customer_id"],
            set_={
                name: statement.excluded[name]
                for name in ("first_response_minutes", "resolution_minutes", "alert_profile")
            },
        )
    )
    values = {api: getattr(level, name) for name, api in SERVICE_LEVEL_FIELDS.items()}
    if existing is None:
        before, after = None, values
    else:
        before, after = changed_values(dict(zip(values, existing, strict=True)), values)
        if not after:
            return level  # the targets it has already: nothing changed
    _record(
        session,
        actor_id,
        customer.workgroup_id,
        "customer.service_level",
        "Customer",
        customer.id,
        before=before,
        after=after,
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
        session,
        actor_id,
        workgroup_id,
        "project.create",
        "Project",
        project.id,
        after={"name": name},
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
        before=None if member else {"customerId": global_id("Customer", customer.id)},
        after={"customerId": global_id("Customer", customer.id)} if member else None,
        customer_id=customer.id,
    )
    return project
