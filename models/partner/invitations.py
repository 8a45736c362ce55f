"""Invitations to contacts: e-mails written to the outbox in the transaction of the change that
asks for them, so they commit or roll back with it, and delivered later by models.mail.sender.

An invitation's state is in its outbox row: SENT once `sent_at` is set; FAILED when the sender
gave up (no `sent_at` and no `next_attempt_at`); otherwise QUEUED, due at `next_attempt_at`.
"""

from enum import StrEnum

from sqlalchemy import select
from sqlmodel import Session

from engine.among import among
from models.accounts.tables import Workgroup
from models.customers.tables import Customer
from models.mail.outbox import OutboxMessage
from models.mail.sender import note_queued
from models.partner.tables import Contact

INVITATION = "invitation"
SUBJECT_MAX = 200


class InvitationStatus(StrEnum):
    QUEUED = "QUEUED"
    SENT = "SENT"
    FAILED = "FAILED"


def invitation_status(message: OutboxMessage) -> InvitationStatus:
    if message.sent_at is not None:
        return InvitationStatus.SENT
    if message.next_attempt_at is None:
        return InvitationStatus.FAILED
    return InvitationStatus.QUEUED


def _one_line(text: str) -> str:
    return " ".join(text.split())


def queue_invitation(*, session: Session, contact: Contact) -> OutboxMessage:
    """Adds an invitation for `contact` to the caller's transaction, due at once."""
    workgroup = session.get_one(Workgroup, contact.workgroup_id)
    customer = session.get(Customer, contact.customer_id) if contact.customer_id else None
    team = _one_line(workgroup.name)
    subject = f"{team} invites you to Clientele"[:SUBJECT_MAX]
    on_behalf = f" as a contact of {_one_line(customer.company_name)}" if customer else ""
    body = (
        f"Hello {_one_line(contact.first_name)},\n\n"
        f"{team} has added you{on_behalf} and invites you to work with them in Clientele.\n\n"
        "If you did not expect this message, you can ignore it.\n"
    )
    message = OutboxMessage(
        workgroup_id=contact.workgroup_id,
        contact_id=contact.id,
        kind=INVITATION,
        recipient=contact.email,
        subject=subject,
        body=body,
    )
    message.next_attempt_at = message.created_at
    session.add(message)
    session.flush()
    note_queued(session)
    return message


def invitations_by_contact(
    *, session: Session, contact_ids: list[int]
) -> dict[int, list[OutboxMessage]]:
    """Every contact's invitations, newest first, in one statement."""
    found: dict[int, list[OutboxMessage]] = {cid: [] for cid in contact_ids}
    for message in session.execute(
        select(OutboxMessage)
        .where(
            among(OutboxMessage.contact_id, contact_ids),
            OutboxMessage.kind == INVITATION,
        )
        .order_by(OutboxMessage.id.desc())  # type: ignore[union-attr]
    ).scalars():
        found[message.contact_id].append(message)  # type: ignore[index]
    return found
