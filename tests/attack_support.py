"""Shared pieces of the attack tests (fuzzing, IDOR, concurrency, outages).

- `build_attack_world`: Home and Away with a row of every kind the API can return — customers
  (one archived), agreements, packages, service amounts, consumption, support cases (reached by
  every member-rule path, one linked across workgroups), groups, contacts, contracts, orders,
  service levels, projects, role assignments and activity records. Away's rows that have a
  name carry the marker "away" in it; no text of Home does.
- `global_ids` / `workgroup_of`: every global id of a seeded row, and the workgroup a global id
  belongs to, read straight from the database.
- `dump_tables`: every row of every table, to prove that a request changed nothing.
- `ServerProcess`: a real `clientele serve` whose output goes to a file (a pipe that nobody reads
  would block the server once it logs a few tracebacks), which a test can SIGKILL and restart.
- `TcpProxy`: a small TCP forwarder on 127.0.0.1 that a test can stop and start again, to take
  the database away from a server and give it back.
"""

import os
import random
import select as select_module
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

import models
from graph.ids import decode_id, encode_id
from models.accounts.tables import GroupMember, RoleAssignment, User, UserGroup, Workgroup
from models.accounts.users import get_or_create_user
from models.agreements.tables import Agreement, ConsumptionRecord, Package, ServiceAmount
from models.audit.activity import ActivityRecord
from models.core.enums import CaseClassification, CaseSeverity, Catalog
from models.customers.operations import archive_customer
from models.customers.tables import Customer
from models.imports.jobs import ImportJob, create_upload
from models.mail.outbox import OutboxMessage
from models.partner.operations import (
    add_contact,
    add_contract,
    create_order,
    create_project,
    set_main_contact,
    set_project_member,
    set_service_level,
)
from models.partner.tables import Contact, Contract, CustomerOrder, Project
from models.support.operations import (
    create_group,
    open_case,
    set_group_access,
    set_group_member,
    share_case,
)
from models.support.tables import SupportCase
from tests.activity_factories import Dashboard, build_dashboard, build_world
from tests.conftest import World, grant
from tests.servers import START_TIMEOUT

CLIENTELE = Path(sys.executable).with_name("clientele")
AWAY_MARKER = "away"

# Global id type -> (table, the column naming the row's workgroup, or None for none).
ID_TABLES: dict[str, tuple[Any, Any]] = {
    "Workgroup": (Workgroup, Workgroup.id),
    "Customer": (Customer, Customer.workgroup_id),
    "Agreement": (Agreement, Agreement.workgroup_id),
    "Package": (Package, Package.workgroup_id),
    "ServiceAmount": (ServiceAmount, ServiceAmount.workgroup_id),
    "ConsumptionRecord": (ConsumptionRecord, ConsumptionRecord.workgroup_id),
    "RoleAssignment": (RoleAssignment, RoleAssignment.workgroup_id),
    "ActivityRecord": (ActivityRecord, ActivityRecord.workgroup_id),
    "SupportCase": (SupportCase, SupportCase.workgroup_id),
    "Group": (UserGroup, UserGroup.workgroup_id),
    "Contact": (Contact, Contact.workgroup_id),
    "Contract": (Contract, Contract.workgroup_id),
    "Order": (CustomerOrder, CustomerOrder.workgroup_id),
    "Project": (Project, Project.workgroup_id),
    "Invitation": (OutboxMessage, OutboxMessage.workgroup_id),
    "ImportJob": (ImportJob, ImportJob.workgroup_id),
    "User": (User, None),
}
# The types `node(id:)` can be asked for: every implementation of the Node interface.
NODE_TYPES = (
    "ActivityRecord",
    "Agreement",
    "ConsumptionRecord",
    "Customer",
    "Group",
    "Package",
    "RoleAssignment",
    "ServiceAmount",
    "SupportCase",
    "User",
    "Workgroup",
)
ABSENT_PK = 987_654_321  # far beyond any seeded row


def absent_id(type_name: str, salt: int = 0) -> str:
    """A well-formed global id of `type_name` that names no row."""
    return encode_id(type_name, ABSENT_PK + salt)


# ------------------------------------------------------------------ the world


@dataclass
class AttackWorld:
    world: World
    dash: Dashboard
    home_case: SupportCase  # member@home is its primary contact; shared; Tier 2 has access
    cross_case: SupportCase  # a Home case linked to Away's agreement and customer
    away_case: SupportCase
    home_group: UserGroup
    away_group: UserGroup
    home_contact: Contact  # main contact of Home customer 0
    home_loose_contact: Contact  # a Home contact of no customer
    away_contact: Contact
    home_project: Project
    away_project: Project
    ids: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # type -> side -> ids

    @property
    def home_id(self) -> str:
        return encode_id("Workgroup", self.world.home.id)  # type: ignore[arg-type]

    @property
    def away_id(self) -> str:
        return encode_id("Workgroup", self.world.away.id)  # type: ignore[arg-type]


def new_case(session: Session, workgroup: Workgroup, title: str, by: str, **links: Any):
    """A case opened by `by` (a user holding a role in `workgroup`), committed."""
    opener = get_or_create_user(session=session, email=by)
    created = open_case(
        session=session,
        workgroup_id=workgroup.id,  # type: ignore[arg-type]
        opener=opener,
        title=title,
        description=f"About {title}",
        severity=links.pop("severity", CaseSeverity.MODERATE),
        classification=links.pop("classification", CaseClassification.STANDARD),
        customer_id=links.pop("customer_id", None),
        agreement_id=links.pop("agreement_id", None),
        package_id=links.pop("package_id", None),
        service_amount_id=links.pop("service_amount_id", None),
        primary_contact_email=links.pop("contact", None),
    )
    session.commit()
    return created


def build_attack_world(session: Session) -> AttackWorld:
    world = build_world(session)
    dash = build_dashboard(session, world.home_customers, world.away_customers)
    home, away = world.home, world.away
    home0, home1, home2 = world.home_customers  # home2 ends archived, and so does Away's second
    away0 = world.away_customers[0]
    admin = get_or_create_user(session=session, email=World.email("admin")).id
    away_admin = get_or_create_user(session=session, email=World.ADMIN_AWAY).id
    grant(session, "colleague@home.example", "member", home)
    grant(session, "helper@away.example", "member", away)

    # Support: a group in each workgroup; cases reached by each path of the member rule.
    home_group = create_group(session=session, workgroup_id=home.id, name="Tier 2", actor_id=admin)  # type: ignore[arg-type]
    for email in (World.email("member"), World.email("sales_agent")):
        set_group_member(
            session=session, group=home_group, email=email, actor_id=admin, member=True
        )
    away_group = create_group(
        session=session,
        workgroup_id=away.id,  # type: ignore[arg-type]
        name="Away desk",
        actor_id=away_admin,
    )
    set_group_member(
        session=session,
        group=away_group,
        email="helper@away.example",
        actor_id=away_admin,
        member=True,
    )
    session.commit()
    home_case = new_case(
        session,
        home,
        "Printer jam",
        World.email("admin"),
        customer_id=home0.id,
        agreement_id=dash.current.id,
        contact=World.email("member"),
    )
    share_case(
        session=session,
        support_case=home_case,
        email=World.email("customer_activity"),
        actor_id=admin,
        share=True,
    )
    set_group_access(
        session=session, support_case=home_case, group=home_group, actor_id=admin, grant=True
    )
    new_case(
        session,
        home,
        "Login failure",
        World.email("admin"),
        customer_id=home0.id,
        agreement_id=dash.expired.id,
        contact=World.email("training_manager"),
        severity=CaseSeverity.HIGH,
    )
    new_case(
        session,
        home,
        "Licence question",
        World.email("sales_agent"),
        classification=CaseClassification.SU,
    )
    new_case(session, home, "Unrelated outage", World.email("admin"), customer_id=home1.id)
    # Linked across workgroups (the domain allows it): Home viewers must not see the far side.
    cross_case = new_case(
        session,
        home,
        "Cross link",
        World.email("admin"),
        customer_id=away0.id,
        agreement_id=dash.away.id,
        contact=World.email("support_viewer"),
    )
    share_case(
        session=session,
        support_case=cross_case,
        email=World.email("member"),
        actor_id=admin,
        share=True,
    )
    away_case = new_case(
        session,
        away,
        "Away outage",
        World.ADMIN_AWAY,
        customer_id=away0.id,
        agreement_id=dash.away.id,
    )
    set_group_access(
        session=session, support_case=away_case, group=away_group, actor_id=away_admin, grant=True
    )
    share_case(
        session=session,
        support_case=away_case,
        email="helper@away.example",
        actor_id=away_admin,
        share=True,
    )
    session.commit()

    # Partner data on both sides.
    home_contact = add_contact(
        session=session,
        workgroup_id=home.id,  # type: ignore[arg-type]
        customer=home0,
        values={"first_name": "Hanna", "last_name": "Hausmann", "email": "hanna@home0.example"},
        actor_id=admin,  # type: ignore[arg-type]
        send_invitation=True,
    )
    set_main_contact(session=session, customer=home0, contact=home_contact, actor_id=admin)  # type: ignore[arg-type]
    home_loose_contact = add_contact(
        session=session,
        workgroup_id=home.id,  # type: ignore[arg-type]
        customer=None,
        values={"first_name": "Lose", "last_name": "Kontakt", "email": "lose@home.example"},
        actor_id=admin,  # type: ignore[arg-type]
    )
    away_contact = add_contact(
        session=session,
        workgroup_id=away.id,  # type: ignore[arg-type]
        customer=away0,
        values={"first_name": "Away", "last_name": "Person", "email": "person@away0.example"},
        actor_id=away_admin,  # type: ignore[arg-type]
        send_invitation=True,
    )
    set_main_contact(session=session, customer=away0, contact=away_contact, actor_id=away_admin)  # type: ignore[arg-type]
    for customer, actor, name in ((home0, admin, "Retainer"), (away0, away_admin, "Away retainer")):
        add_contract(
            session=session,
            customer=customer,
            values={"name": name, "type": "RETAINER_FLAT_FEE"},
            actor_id=actor,  # type: ignore[arg-type]
        )
        set_service_level(
            session=session,
            customer=customer,
            first_response_minutes=30,
            resolution_minutes=240,
            alert_profile=f"{name} profile",
            actor_id=actor,  # type: ignore[arg-type]
        )
        create_order(
            session=session,
            customer=customer,
            catalog=Catalog.SOFTWARE,
            lines=[(f"{name} seat", 3), (f"{name} licence", 1)],
            actor_id=actor,  # type: ignore[arg-type]
        )
    home_project = create_project(
        session=session,
        workgroup_id=home.id,  # type: ignore[arg-type]
        name="Migration",
        actor_id=admin,  # type: ignore[arg-type]
    )
    set_project_member(
        session=session,
        project=home_project,
        customer=home0,
        member=True,
        actor_id=admin,  # type: ignore[arg-type]
    )
    away_project = create_project(
        session=session,
        workgroup_id=away.id,  # type: ignore[arg-type]
        name="Away rollout",
        actor_id=away_admin,  # type: ignore[arg-type]
    )
    set_project_member(
        session=session,
        project=away_project,
        customer=away0,
        member=True,
        actor_id=away_admin,  # type: ignore[arg-type]
    )
    for workgroup, uploader in ((home, admin), (away, away_admin)):
        planted = create_upload(
            session=session,
            workgroup_id=workgroup.id,  # type: ignore[arg-type]
            kind="CUSTOMERS",
            file_name="customers.csv",
            raw=b"company name,primary domain\r\nPlanted,planted.example\r\n",
            max_rows=10,
            actor_id=uploader,  # type: ignore[arg-type]
        )
        # As a finished dry run that found a bad row, so that its row errors can be read.
        planted.status, planted.dry_run, planted.error_count = "SUCCEEDED", True, 1
        planted.errors = [{"row": 2, "column": "primary domain", "message": "Planted."}]
    session.commit()
    archive_customer(session=session, customer=home2, expected_version=None, actor_id=admin)
    archive_customer(
        session=session,
        customer=world.away_customers[1],
        expected_version=None,
        actor_id=away_admin,
    )
    session.commit()

    attack = AttackWorld(
        world=world,
        dash=dash,
        home_case=home_case,
        cross_case=cross_case,
        away_case=away_case,
        home_group=home_group,
        away_group=away_group,
        home_contact=home_contact,
        home_loose_contact=home_loose_contact,
        away_contact=away_contact,
        home_project=home_project,
        away_project=away_project,
    )
    attack.ids = global_ids(session, home.id, away.id)  # type: ignore[arg-type]
    return attack


def global_ids(session: Session, home_id: int, away_id: int) -> dict[str, dict[str, list[str]]]:
    """Every seeded row's global id, by type and by side ("home", "away", "none")."""
    found: dict[str, dict[str, list[str]]] = {}
    for type_name, (table, column) in ID_TABLES.items():
        sides: dict[str, list[str]] = {"home": [], "away": [], "none": []}
        if column is None:
            rows = session.execute(select(table.id)).all()
            sides["none"] = [encode_id(type_name, pk) for (pk,) in rows]
        else:
            for pk, workgroup_id in session.execute(select(table.id, column)).all():
                side = {home_id: "home", away_id: "away"}.get(workgroup_id, "none")
                sides[side].append(encode_id(type_name, pk))
        found[type_name] = sides
    return found


def workgroup_of(session: Session, global_id: str) -> tuple[bool, int | None]:
    """(whether `global_id` names a row of a known type, that row's workgroup id)."""
    decoded = decode_id(global_id)
    if decoded is None or decoded[0] not in ID_TABLES:
        return False, None
    table, column = ID_TABLES[decoded[0]]
    if column is None:
        return session.get(table, decoded[1]) is not None, None
    row = session.execute(select(column).where(table.id == decoded[1])).first()
    return (row is not None, row[0] if row else None)


def primary_contact_of(session: Session, case_global_id: str) -> int | None:
    pk = decode_id(case_global_id, "SupportCase")
    if pk is None:
        return None
    case = session.get(SupportCase, pk[1])
    return case.primary_contact_id if case else None


def user_id(session: Session, email: str) -> int:
    return session.execute(select(User.id).where(User.email == email)).scalar_one()


def group_members(session: Session, group: UserGroup) -> set[int]:
    return set(
        session.execute(select(GroupMember.user_id).where(GroupMember.group_id == group.id))
        .scalars()
        .all()
    )


# ------------------------------------------------------------------ the database, whole


def dump_tables(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order, read on a connection of its own."""
    dumped: dict[str, list[tuple]] = {}
    with engine.connect() as connection:
        for table in models.metadata.sorted_tables:
            rows = connection.execute(select(table)).all()
            dumped[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return dumped


def table_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: connection.execute(text(f"SELECT COUNT(*) FROM {table.name}")).scalar_one()
            for table in models.metadata.sorted_tables
        }


# ------------------------------------------------------------------ a real server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerProcess:
    """`clientele serve` on a fixed port, its output in `log_path`; start, kill, start again."""

    def __init__(self, database_url: str, secret: str, log_path: Path, **env: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CLIENTELE_")},
            "CLIENTELE_DATABASE_URL": database_url,
            "CLIENTELE_JWT_SECRET": secret,
            **env,
        }
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = START_TIMEOUT) -> "ServerProcess":
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [str(CLIENTELE), "serve", "--port", str(self.port)],
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.log_path.parent,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited early:\n{self.log()}")
            with suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"the server did not answer {self.url}/healthz with 200 within {timeout:g} s"
                    f" (CLIENTELE_TEST_SERVER_START_SECONDS); its output:\n{self.log()}"
                )
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no rollback, no flush of anything."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def post(
        self,
        token: str,
        query: str,
        variables: dict | None = None,
        *,
        timeout: float = 30.0,
        client: httpx.Client | None = None,
    ) -> httpx.Response:
        send = client.post if client is not None else httpx.post
        return send(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )


@contextmanager
def serving(database_url: str, secret: str, log_path: Path, **env: str) -> Iterator[ServerProcess]:
    server = ServerProcess(database_url, secret, log_path, **env).start()
    try:
        yield server
    finally:
        server.stop()


# ------------------------------------------------------------------ a TCP proxy


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target`. `stop()` closes the listener and every forwarded
    connection, as if the database host went away; `start()` listens on the same port again."""

    def __init__(self, target: tuple[str, int], port: int | None = None):
        self.target = target
        self.port = port or free_port()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._running = False
        self._threads: list[threading.Thread] = []

    def start(self) -> "TcpProxy":
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = time.monotonic() + 10
        while True:
            try:
                listener.bind(("127.0.0.1", self.port))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        listener.listen(64)
        listener.settimeout(0.2)
        self._listener = listener
        self._running = True
        thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        thread.start()
        self._threads = [thread]
        return self

    def stop(self) -> None:
        self._running = False
        with self._lock:
            doomed = list(self._sockets)
            self._sockets.clear()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        for sock in doomed:
            with suppress(OSError):
                sock.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
            with suppress(OSError):
                sock.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _accept(self, listener: socket.socket) -> None:
        while self._running:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                if not self._running:
                    client.close()
                    upstream.close()
                    return
                self._sockets.update((client, upstream))
            pump = threading.Thread(target=self._pump, args=(client, upstream), daemon=True)
            pump.start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            while self._running:
                try:
                    readable, _, _ = select_module.select([a, b], [], [], 0.2)
                except (OSError, ValueError):
                    return
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except OSError:
            return
        finally:
            with self._lock:
                self._sockets.discard(a)
                self._sockets.discard(b)
            for sock in (a, b):
                with suppress(OSError):
                    sock.close()


def jitter(low: float, high: float, rng: random.Random) -> float:
    return low + (high - low) * rng.random()
