"""Invitations to contacts: queued in the outbox in the transaction that adds (or invites) the
contact and rolled back with it, visible on the contact, delivered over SMTP by a background
sender to a real local SMTP server — each exactly once, also when senders stop, restart or run
side by side — kept queued while the server is down, given up after the last attempt; and who
may ask for them."""

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

from graph.app import create_app
from graph.ids import decode_pk, encode_id
from models.customers.operations import archive_customer
from models.db import make_engine, utcnow
from models.mail.outbox import OutboxMessage
from models.mail.sender import MailSender, backoff, deliver_pending
from models.partner.operations import add_contact
from models.partner.tables import Contact
from models.settings import Settings
from tests.conftest import ROLES, TEST_SECRET, World, make_customer, table_rows, token_for
from tests.servers import free_port, running_server

ADMIN = World.email("admin")
SALES = World.email("sales_agent")
EDITORS = {"admin", "admin_agent"}
READERS = {"admin", "admin_agent", "sales_agent"}

INVITATION = "id recipient status createdAt sentAt attempts lastError"
ADD_CONTACT = f"""
mutation($input: AddContactInput!) {{
  addContact(input: $input) {{
    contact {{ id email invitations {{ {INVITATION} }} }}
    errors {{ field code }}
  }}
}}
"""
INVITE_CONTACT = f"""
mutation($id: ID!) {{
  inviteContact(id: $id) {{
    contact {{ id email invitations {{ {INVITATION} }} }}
    errors {{ field code }}
  }}
}}
"""
CONTACT_INVITATIONS = f"""
query($id: ID!) {{
  customer(id: $id) {{ contacts {{ email invitations {{ {INVITATION} }} }} }}
}}
"""
INVITATIONS_WITHOUT_ERRORS = """
query($id: ID!) {
  customer(id: $id) { contacts { email invitations { id status attempts } } }
}
"""
EVERY_CUSTOMERS_INVITATIONS = """
{ customers(first: 50) { edges { node { contacts { email invitations { id status } } } } } }
"""

# Every table an invitation could touch, compared whole before and after.
TABLES = ("contact", "outbox_message", "activity_record")


# ---------------------------------------------------------------- a local SMTP server


@dataclass
class Received:
    recipients: tuple[str, ...]
    message: EmailMessage


@dataclass
class Handler:
    """aiosmtpd handler keeping every message it accepts."""

    received: list[Received] = field(default_factory=list)
    delay: float = 0.0  # seconds to take over each message
    refuse_recipients: bool = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_recipients:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.received.append(Received(tuple(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


@dataclass
class MailServer:
    port: int
    handler: Handler = field(default_factory=Handler)
    controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def message_ids(self) -> list[str]:
        return [r.message["Message-ID"] for r in self.received]

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    """A running SMTP server on 127.0.0.1 that keeps what it receives."""
    server = MailServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------- helpers


def gid(kind: str, pk: int | None) -> str:
    return encode_id(kind, pk)  # type: ignore[arg-type]


def mail_settings(settings: Settings, url: str, **overrides: Any) -> Settings:
    """The test settings with SMTP configured, polling often and retrying at once."""
    return settings.model_copy(
        update={
            "smtp_url": url,
            "smtp_poll_seconds": 0.05,
            "smtp_retry_seconds": 0.0,
            "smtp_timeout_seconds": 5.0,
            **overrides,
        }
    )


def outbox(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(
            session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars()  # type: ignore[arg-type]
        )


def sent_count(engine: Engine) -> int:
    return sum(1 for message in outbox(engine) if message.sent_at is not None)


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    return table_rows(engine, TABLES)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def contact_input(world: World, email: str = "cleo@x.example", **overrides: Any) -> dict:
    return {
        "workgroupId": gid("Workgroup", world.home.id),
        "customerId": gid("Customer", world.home_customers[0].id),
        "firstName": "Cleo",
        "lastName": "Clark",
        "email": email,
        **overrides,
    }


def new_contact(session: Session, world: World, index: int, *, invite: bool) -> Contact:
    contact = add_contact(
        session=session,
        workgroup_id=world.home.id,  # type: ignore[arg-type]
        customer=world.home_customers[0],
        values={"first_name": f"Guest{index}", "last_name": "Doe", "email": f"g{index}@x.example"},
        actor_id=None,  # type: ignore[arg-type]
        send_invitation=invite,
    )
    session.commit()
    return contact


def queue_invitations(session: Session, world: World, count: int) -> list[Contact]:
    return [new_contact(session, world, index, invite=True) for index in range(count)]


def invitations_of(gql, world: World, email: str = ADMIN) -> dict[str, list[dict]]:
    """Contact e-mail -> invitations, as `email` reads them on Home's first customer."""
    body = gql(email, CONTACT_INVITATIONS, {"id": gid("Customer", world.home_customers[0].id)})
    assert "errors" not in body, body["errors"]
    return {c["email"]: c["invitations"] for c in body["data"]["customer"]["contacts"]}


def errors_at(body: dict) -> dict[tuple, str]:
    return {tuple(e["path"]): e["extensions"]["code"] for e in body.get("errors", [])}


# ---------------------------------------------------------------- queueing


def test_adding_a_contact_with_an_invitation_queues_one_and_sends_nothing_without_smtp(
    gql, engine, world, smtp, app
):
    # Given an app without SMTP configured (and a mail server that would accept anything)
    assert app.state.background == []

    # When an admin adds a contact asking for an invitation
    body = gql(ADMIN, ADD_CONTACT, {"input": contact_input(world, sendInvitation=True)})

    # Then the payload's contact shows one queued invitation to its e-mail
    payload = body["data"]["addContact"]
    assert payload["errors"] == []
    [invitation] = payload["contact"]["invitations"]
    assert invitation["id"]
    assert invitation["createdAt"]
    assert {
        k: invitation[k] for k in ("recipient", "status", "sentAt", "attempts", "lastError")
    } == {
        "recipient": "cleo@x.example",
        "status": "QUEUED",
        "sentAt": None,
        "attempts": 0,
        "lastError": None,
    }
    # and the customer's contact list shows the same
    assert invitations_of(gql, world)["cleo@x.example"] == [invitation]
    # and the outbox holds exactly that one message, naming the workgroup and the customer
    [message] = outbox(engine)
    assert (message.kind, message.recipient, message.contact_id) == (
        "invitation",
        "cleo@x.example",
        decode_pk(payload["contact"]["id"], "Contact"),
    )
    assert "Home" in message.subject
    assert "Home Customer 0" in message.body
    # and nothing is sent while it stays queued
    time.sleep(0.3)
    assert smtp.received == []
    assert outbox(engine)[0].sent_at is None


def test_adding_a_contact_without_an_invitation_queues_nothing(gql, engine, world):
    # When an admin adds a contact without asking for an invitation
    body = gql(ADMIN, ADD_CONTACT, {"input": contact_input(world)})

    # Then the contact has no invitations and the outbox is empty
    assert body["data"]["addContact"]["contact"]["invitations"] == []
    assert outbox(engine) == []


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"email": "not-an-email"}, id="bad-email"),
        pytest.param({"firstName": " "}, id="blank-name"),
    ],
)
def test_a_contact_that_fails_validation_queues_no_invitation(gql, engine, world, overrides):
    # Given the tables as they are
    before = snapshot(engine)

    # When an admin adds an invalid contact asking for an invitation
    body = gql(
        ADMIN, ADD_CONTACT, {"input": contact_input(world, sendInvitation=True, **overrides)}
    )

    # Then a user error, and no contact, no invitation, no activity record
    payload = body["data"]["addContact"]
    assert payload["contact"] is None
    assert payload["errors"]
    assert snapshot(engine) == before


def test_an_invitation_is_rolled_back_with_its_contact(engine, session, world):
    # Given a contact with an invitation added in a transaction that has not committed
    add_contact(
        session=session,
        workgroup_id=world.home.id,  # type: ignore[arg-type]
        customer=world.home_customers[0],
        values={"first_name": "Ray", "last_name": "Back", "email": "ray@x.example"},
        actor_id=None,  # type: ignore[arg-type]
        send_invitation=True,
    )
    assert len(session.execute(select(OutboxMessage)).all()) == 1

    # When the transaction rolls back
    session.rollback()

    # Then neither the contact nor its invitation exists
    assert outbox(engine) == []
    assert snapshot(engine)["contact"] == []


def test_inviting_a_contact_queues_a_fresh_invitation_each_time(gql, engine, session, world):
    # Given a contact with an invitation already sent
    contact = new_contact(session, world, 1, invite=True)
    [first] = outbox(engine)
    with Session(engine) as other:
        stored = other.get_one(OutboxMessage, first.id)
        stored.sent_at = utcnow()
        other.commit()
    records_before = len(snapshot(engine)["activity_record"])

    # When an admin invites the contact again
    body = gql(ADMIN, INVITE_CONTACT, {"id": gid("Contact", contact.id)})

    # Then a new queued invitation comes first, the sent one after it
    payload = body["data"]["inviteContact"]
    assert payload["errors"] == []
    assert [(i["status"], i["recipient"]) for i in payload["contact"]["invitations"]] == [
        ("QUEUED", "g1@x.example"),
        ("SENT", "g1@x.example"),
    ]
    assert len(outbox(engine)) == 2
    # and one activity record says so
    activity = snapshot(engine)["activity_record"]
    assert len(activity) == records_before + 1
    assert "contact.invite" in activity[-1]


def test_inviting_a_contact_of_an_archived_customer_is_archived_and_queues_nothing(
    gql, engine, session, world
):
    # Given a contact of a customer that was archived afterwards
    customer = make_customer(session, world.home, index="gone", company_name="Gone Ltd")
    contact = add_contact(
        session=session,
        workgroup_id=world.home.id,  # type: ignore[arg-type]
        customer=customer,
        values={"first_name": "Ada", "last_name": "Gone", "email": "ada@gone.example"},
        actor_id=None,  # type: ignore[arg-type]
    )
    archive_customer(session=session, customer=customer, expected_version=None, actor_id=None)
    session.commit()
    before = snapshot(engine)

    # When an admin invites the contact, and adds another to the archived customer with one
    invited = gql(ADMIN, INVITE_CONTACT, {"id": gid("Contact", contact.id)})
    added = gql(
        ADMIN,
        ADD_CONTACT,
        {
            "input": contact_input(
                world, customerId=gid("Customer", customer.id), sendInvitation=True
            )
        },
    )

    # Then both are ARCHIVED user errors, and nothing was written
    for payload in (invited["data"]["inviteContact"], added["data"]["addContact"]):
        assert payload["contact"] is None
        assert [e["code"] for e in payload["errors"]] == ["ARCHIVED"]
    assert snapshot(engine) == before


def test_inviting_a_contact_that_does_not_exist_is_not_found(gql, engine, world):
    # When an admin invites an unknown contact, or names a customer instead
    for contact_id in (gid("Contact", 987654), gid("Customer", world.home_customers[0].id)):
        body = gql(ADMIN, INVITE_CONTACT, {"id": contact_id})

        # Then NOT_FOUND on id, and nothing queued
        payload = body["data"]["inviteContact"]
        assert payload == {"contact": None, "errors": [{"field": "id", "code": "NOT_FOUND"}]}
    assert outbox(engine) == []


# ---------------------------------------------------------------- who may do and see what


@pytest.mark.parametrize("role", [*ROLES, "nobody"])
def test_only_contact_editors_may_ask_for_invitations(gql, engine, session, world, role):
    # Given a contact at home, and a user holding `role` at home (or nothing)
    contact = new_contact(session, world, 1, invite=False)
    email = World.NOBODY if role == "nobody" else World.email(role)
    before = snapshot(engine)

    # When they add a contact with an invitation, and invite the existing one
    added = gql(email, ADD_CONTACT, {"input": contact_input(world, sendInvitation=True)})
    invited = gql(email, INVITE_CONTACT, {"id": gid("Contact", contact.id)})

    # Then admins and admin agents queue one invitation each; everyone else is FORBIDDEN and
    # nothing changed
    if role in EDITORS:
        assert added["data"]["addContact"]["errors"] == []
        assert invited["data"]["inviteContact"]["errors"] == []
        assert [m.recipient for m in outbox(engine)] == ["cleo@x.example", "g1@x.example"]
    else:
        for body in (added, invited):
            assert body["data"] is None
            assert set(errors_at(body).values()) == {"FORBIDDEN"}
        assert snapshot(engine) == before


def test_an_admin_of_another_workgroup_cannot_invite_a_contact_here(gql, engine, session, world):
    # Given a home contact
    contact = new_contact(session, world, 1, invite=False)
    before = snapshot(engine)

    # When the admin of the other workgroup invites it
    body = gql(World.ADMIN_AWAY, INVITE_CONTACT, {"id": gid("Contact", contact.id)})

    # Then it is not found, like a contact that does not exist, and nothing changed
    assert body["data"]["inviteContact"]["errors"] == [{"field": "id", "code": "NOT_FOUND"}]
    assert snapshot(engine) == before


@pytest.mark.parametrize("role", ROLES)
def test_invitations_by_role(gql, engine, session, world, role):
    # Given a contact whose invitation failed once
    new_contact(session, world, 1, invite=True)
    with Session(engine) as other:
        message = other.execute(select(OutboxMessage)).scalar_one()
        message.attempts, message.last_error = 1, "SMTPServerDisconnected: gone"
        other.commit()

    # When a user holding `role` at home reads the contact's invitations
    customer = gid("Customer", world.home_customers[0].id)
    body = gql(World.email(role), CONTACT_INVITATIONS, {"id": customer})

    # Then editors see everything; sales agents all but the error (FORBIDDEN there); roles
    # that see only the customer's identity do not see its contacts; members see no customer
    errors = errors_at(body)
    data = body["data"]["customer"]
    if role in EDITORS:
        assert errors == {}
        [invitation] = data["contacts"][0]["invitations"]
        assert (invitation["status"], invitation["attempts"], invitation["lastError"]) == (
            "QUEUED",
            1,
            "SMTPServerDisconnected: gone",
        )
    elif role in READERS:
        [invitation] = data["contacts"][0]["invitations"]
        assert (invitation["status"], invitation["lastError"]) == ("QUEUED", None)
        assert errors == {("customer", "contacts", 0, "invitations", 0, "lastError"): "FORBIDDEN"}
        plain = gql(World.email(role), INVITATIONS_WITHOUT_ERRORS, {"id": customer})
        assert "errors" not in plain
    elif data is not None:
        assert data["contacts"] is None
        assert errors == {("customer", "contacts"): "FORBIDDEN"}
    else:
        assert errors == {}


def test_invitations_of_a_page_of_customers_are_read_in_one_statement(gql, engine, session, world):
    # Given three customers with two invited contacts each
    for number, customer in enumerate(world.home_customers):
        for index in range(2):
            add_contact(
                session=session,
                workgroup_id=world.home.id,  # type: ignore[arg-type]
                customer=customer,
                values={
                    "first_name": "Guest",
                    "last_name": f"{number}-{index}",
                    "email": f"g{number}-{index}@x.example",
                },
                actor_id=None,  # type: ignore[arg-type]
                send_invitation=True,
            )
    session.commit()
    statements: list[str] = []

    def remember(_conn, _cursor, statement, *_args) -> None:
        if "outbox_message" in statement:
            statements.append(statement)

    # When an admin reads every customer's contacts with their invitations
    event.listen(engine, "before_cursor_execute", remember)
    try:
        body = gql(ADMIN, EVERY_CUSTOMERS_INVITATIONS)
    finally:
        event.remove(engine, "before_cursor_execute", remember)

    # Then all six invitations come back, read with one statement
    assert "errors" not in body
    nodes = [edge["node"] for edge in body["data"]["customers"]["edges"]]
    invitations = [i for n in nodes for c in n["contacts"] for i in c["invitations"]]
    assert len(invitations) == 6
    assert len(statements) == 1


# ---------------------------------------------------------------- delivering


def test_delivery_sends_each_queued_invitation_once(gql, engine, session, world, smtp, settings):
    # Given three queued invitations
    contacts = queue_invitations(session, world, 3)
    mail = mail_settings(settings, smtp.url, smtp_from="Home Team <team@home.example>")

    # When the outbox is delivered, and delivered again
    first = deliver_pending(engine=engine, settings=mail)
    second = deliver_pending(engine=engine, settings=mail)

    # Then the server received each invitation once, addressed to its contact, with a
    # Message-ID naming its outbox row; the second round had nothing left to send
    assert (first, second) == (3, 0)
    messages = outbox(engine)
    assert sorted(smtp.message_ids()) == sorted(f"<outbox-{m.id}@clientele>" for m in messages)
    assert sorted(r.recipients for r in smtp.received) == sorted((c.email,) for c in contacts)
    received = smtp.received[0].message
    assert received["From"] == "Home Team <team@home.example>"
    assert received["To"] == received["To"].lower() == smtp.received[0].recipients[0]
    assert "Home" in received["Subject"]
    assert "Home Customer 0" in received.get_content()
    # and every invitation reads SENT, after one attempt
    for invitations in invitations_of(gql, world).values():
        [invitation] = invitations
        assert (invitation["status"], invitation["attempts"]) == ("SENT", 1)
        assert invitation["sentAt"] >= invitation["createdAt"]


def test_nothing_is_delivered_without_smtp_configured(engine, session, world, settings):
    # Given a queued invitation and no SMTP URL
    queue_invitations(session, world, 1)

    # When the outbox is delivered
    # Then nothing is sent, and the invitation stays queued and untouched
    assert deliver_pending(engine=engine, settings=settings) == 0
    [message] = outbox(engine)
    assert (message.sent_at, message.attempts) == (None, 0)


def test_senders_stopped_restarted_and_side_by_side_deliver_every_invitation_once(
    engine, database_url, session, world, smtp, settings
):
    # Given thirty queued invitations and a server that takes a moment over each
    queue_invitations(session, world, 30)
    smtp.handler.delay = 0.02
    mail = mail_settings(settings, smtp.url)

    # When a sender starts and is stopped part-way through
    first = MailSender(engine=engine, settings=mail)
    first.start()
    try:
        wait_until(lambda: len(smtp.received) >= 5, "the first sender to deliver some")
    finally:
        first.stop(timeout=10)
    assert not first.running
    by_first = len(smtp.received)
    assert by_first < 30

    # and two new senders run side by side, one of them through an engine of its own
    other_engine = make_engine(database_url)
    second = MailSender(engine=engine, settings=mail)
    third = MailSender(engine=other_engine, settings=mail)
    second.start()
    third.start()
    try:
        wait_until(lambda: sent_count(engine) == 30, "every invitation to be sent", timeout=60)
    finally:
        second.stop(timeout=10)
        third.stop(timeout=10)
        other_engine.dispose()

    # Then every invitation reached the server exactly once
    messages = outbox(engine)
    ids = smtp.message_ids()
    assert len(ids) == len(set(ids)) == 30
    assert sorted(ids) == sorted(f"<outbox-{m.id}@clientele>" for m in messages)
    assert sorted(r.recipients[0] for r in smtp.received) == sorted(m.recipient for m in messages)
    assert all(m.attempts == 1 and m.last_error is None for m in messages)


def test_concurrent_delivery_rounds_never_send_a_message_twice(
    engine, database_url, session, world, smtp, settings
):
    # Given twenty queued invitations
    queue_invitations(session, world, 20)
    smtp.handler.delay = 0.01
    mail = mail_settings(settings, smtp.url)
    engines = [engine, make_engine(database_url), make_engine(database_url)]
    counts: list[int] = []

    # When three delivery rounds run at the same time, each with its own engine
    def deliver(on: Engine) -> None:
        counts.append(deliver_pending(engine=on, settings=mail))

    threads = [threading.Thread(target=deliver, args=(on,)) for on in engines]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        for other in engines[1:]:
            other.dispose()

    # Then together they sent each message once
    assert sum(counts) == 20
    assert sent_count(engine) == 20
    ids = smtp.message_ids()
    assert len(ids) == len(set(ids)) == 20


def test_while_the_smtp_server_is_down_an_invitation_stays_queued_until_it_is_back(
    gql, engine, session, world, settings
):
    # Given a queued invitation and an SMTP server that is not running
    queue_invitations(session, world, 1)
    server = MailServer(free_port())
    mail = mail_settings(settings, server.url)

    # When delivery is tried
    assert deliver_pending(engine=engine, settings=mail) == 0

    # Then the invitation is still queued, with the attempt and its error
    [invitation] = invitations_of(gql, world)["g0@x.example"]
    assert (invitation["status"], invitation["attempts"], invitation["sentAt"]) == (
        "QUEUED",
        1,
        None,
    )
    assert "Connection" in invitation["lastError"]

    # When the server is back and delivery is tried again, twice
    server.start()
    try:
        delivered = [deliver_pending(engine=engine, settings=mail) for _ in range(2)]
    finally:
        server.stop()

    # Then it was delivered exactly once
    assert delivered == [1, 0]
    assert len(server.received) == 1
    [invitation] = invitations_of(gql, world)["g0@x.example"]
    assert (invitation["status"], invitation["attempts"]) == ("SENT", 2)


def test_a_failed_attempt_is_retried_only_after_its_backoff(engine, session, world, settings):
    # Given a queued invitation, an SMTP server that is down, and a backoff of a minute
    queue_invitations(session, world, 1)
    server = MailServer(free_port())
    mail = mail_settings(settings, server.url, smtp_retry_seconds=60.0)

    # When delivery fails once, and is tried again with the server back
    before = utcnow()
    deliver_pending(engine=engine, settings=mail)
    server.start()
    try:
        again = deliver_pending(engine=engine, settings=mail)
    finally:
        server.stop()

    # Then the second try did not touch it: it is due a minute after the failure
    [message] = outbox(engine)
    assert again == 0
    assert server.received == []
    assert message.attempts == 1
    assert message.next_attempt_at is not None
    assert 55 <= (message.next_attempt_at - before).total_seconds() <= 65
    # and each further failure waits twice as long, up to an hour
    assert [backoff(n, mail).total_seconds() for n in (1, 2, 3, 10)] == [60, 120, 240, 3600]


def test_an_invitation_the_server_keeps_refusing_fails_after_the_last_attempt(
    gql, engine, session, world, smtp, settings
):
    # Given a queued invitation, a server that refuses its recipient, and two attempts allowed
    contact = queue_invitations(session, world, 1)[0]
    smtp.handler.refuse_recipients = True
    mail = mail_settings(settings, smtp.url, smtp_max_attempts=2)

    # When delivery is tried three times
    rounds = [deliver_pending(engine=engine, settings=mail) for _ in range(3)]

    # Then nothing was sent, and after the second attempt it was given up: FAILED, with the
    # server's answer as its error, and no third attempt
    assert rounds == [0, 0, 0]
    assert smtp.received == []
    [invitation] = invitations_of(gql, world)["g0@x.example"]
    assert (invitation["status"], invitation["attempts"]) == ("FAILED", 2)
    assert "550" in invitation["lastError"]

    # When the contact is invited again and the server accepts it now
    smtp.handler.refuse_recipients = False
    gql(ADMIN, INVITE_CONTACT, {"id": gid("Contact", contact.id)})
    assert deliver_pending(engine=engine, settings=mail) == 1

    # Then the fresh invitation is sent, and the failed one stays failed
    statuses = [i["status"] for i in invitations_of(gql, world)["g0@x.example"]]
    assert statuses == ["SENT", "FAILED"]
    assert len(smtp.received) == 1


def test_a_message_that_cannot_be_rendered_does_not_hold_up_the_others(
    engine, session, world, smtp, settings
):
    # Given an outbox row whose recipient would inject a header, queued before a good one
    session.add(
        OutboxMessage(
            workgroup_id=world.home.id,  # type: ignore[arg-type]
            kind="invitation",
            recipient="eve@x.example\r\nBcc: all@x.example",
            subject="Injected",
            body="-",
            next_attempt_at=utcnow(),
        )
    )
    session.commit()
    queue_invitations(session, world, 1)

    # When the outbox is delivered
    sent = deliver_pending(engine=engine, settings=mail_settings(settings, smtp.url))

    # Then the good one is sent; the bad one is kept with an attempt and its error, unsent
    bad, good = outbox(engine)
    assert sent == 1
    assert [r.recipients for r in smtp.received] == [(good.recipient,)]
    assert (bad.sent_at, bad.attempts) == (None, 1)
    assert bad.last_error and "ValueError" in bad.last_error


def test_a_login_the_server_refuses_is_recorded_without_the_password(
    gql, engine, session, world, smtp, settings
):
    # Given a queued invitation and an SMTP URL with credentials the server will not take
    queue_invitations(session, world, 1)
    url = f"smtp://mailer:Sup3r-s3cret@127.0.0.1:{smtp.port}"

    # When delivery is tried
    assert deliver_pending(engine=engine, settings=mail_settings(settings, url)) == 0

    # Then the attempt is recorded with an error that does not contain the password
    [invitation] = invitations_of(gql, world)["g0@x.example"]
    assert (invitation["status"], invitation["attempts"]) == ("QUEUED", 1)
    assert invitation["lastError"]
    assert "Sup3r-s3cret" not in invitation["lastError"]
    assert smtp.received == []


def test_a_running_sender_delivers_right_after_the_commit_that_queued_mail(
    gql, engine, world, smtp, settings
):
    # Given a sender that would otherwise look only once a minute, idle after its first round
    sender = MailSender(
        engine=engine, settings=mail_settings(settings, smtp.url, smtp_poll_seconds=60)
    )
    sender.start()
    try:
        time.sleep(0.3)

        # When an admin adds a contact with an invitation
        body = gql(ADMIN, ADD_CONTACT, {"input": contact_input(world, sendInvitation=True)})
        assert body["data"]["addContact"]["errors"] == []

        # Then the invitation arrives within seconds
        wait_until(lambda: len(smtp.received) == 1, "the invitation", timeout=5)
        wait_until(lambda: sent_count(engine) == 1, "the invitation to read SENT", timeout=5)
    finally:
        sender.stop(timeout=10)
    assert [r.recipients for r in smtp.received] == [("cleo@x.example",)]


# ---------------------------------------------------------------- the app and its settings


def test_the_app_runs_a_sender_only_while_it_runs_and_only_with_smtp_configured(
    settings, engine, authorizer, smtp
):
    # Given an app with SMTP configured
    app = create_app(mail_settings(settings, smtp.url), engine=engine, authorizer=authorizer)
    [sender] = app.state.background

    # When it starts and stops
    with TestClient(app):
        running = sender.running

    # Then its sender ran in between and is stopped now
    assert (running, sender.running) == (True, False)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        pytest.param("smtp://mail.example:587", None, id="plain"),
        pytest.param("smtps://user:p%40ss@mail.example", None, id="tls-with-login"),
        pytest.param("smtp+starttls://mail.example", None, id="starttls"),
        pytest.param("http://mail.example", "scheme", id="http"),
        pytest.param("smtp://", "host", id="no-host"),
        pytest.param("smtp://mail.example:99999", "port", id="bad-port"),
        pytest.param("smtp://mail.example/inbox", "path", id="path"),
    ],
)
def test_the_smtp_url_is_checked_at_start_up(settings, url, problem):
    # When the settings name this SMTP URL
    problems = settings.model_copy(update={"smtp_url": url}).problems()

    # Then a bad one is reported, naming what is wrong
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1
        assert "CLIENTELE_SMTP_URL" in problems[0]
        assert problem in problems[0]


def test_production_refuses_to_send_a_password_unencrypted(settings):
    # Given production settings
    production = settings.model_copy(update={"env": "production"})

    # Then a password over plain SMTP to another host is refused; TLS, STARTTLS or the local
    # machine are fine
    assert production.model_copy(update={"smtp_url": "smtp://u:p@mail.example"}).problems()
    for url in (
        "smtps://u:p@mail.example",
        "smtp+starttls://u:p@mail.example",
        "smtp://u:p@localhost",
    ):
        assert production.model_copy(update={"smtp_url": url}).problems() == []


def test_an_unset_smtp_url_sends_nothing_and_needs_nothing(monkeypatch):
    # Given CLIENTELE_SMTP_URL set to nothing
    monkeypatch.setenv("CLIENTELE_SMTP_URL", "")

    # Then mail is off, and that is no problem
    loaded = Settings(jwt_secret=TEST_SECRET)
    assert loaded.smtp_url is None
    assert loaded.problems() == []


# ---------------------------------------------------------------- a real server process


@pytest.mark.e2e
def test_a_served_app_with_smtp_configured_delivers_an_invitation(
    database_url, engine, world, smtp, settings
):
    # Given `clientele serve` with CLIENTELE_SMTP_URL pointing at the local SMTP server
    token = token_for(ADMIN, settings)
    with running_server(
        database_url,
        TEST_SECRET,
        CLIENTELE_SMTP_URL=smtp.url,
        CLIENTELE_SMTP_POLL_SECONDS="0.2",
    ) as server:
        # When an admin adds a contact with an invitation over HTTP
        response = server.graphql(
            token, ADD_CONTACT, {"input": contact_input(world, sendInvitation=True)}
        )
        payload = response.json()["data"]["addContact"]
        assert payload["errors"] == []

        # Then the server's sender delivers it, and the contact's invitation reads SENT
        wait_until(lambda: len(smtp.received) == 1, "the invitation to arrive")

        def sent() -> bool:
            body = server.graphql(
                token, CONTACT_INVITATIONS, {"id": gid("Customer", world.home_customers[0].id)}
            ).json()
            contacts = body["data"]["customer"]["contacts"]
            return contacts[0]["invitations"][0]["status"] == "SENT"

        wait_until(sent, "the invitation to read SENT")

    # and it arrived once, to the contact
    assert [r.recipients for r in smtp.received] == [("cleo@x.example",)]
    [message] = outbox(engine)
    assert smtp.message_ids() == [f"<outbox-{message.id}@clientele>"]
