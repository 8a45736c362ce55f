"""The leak matrix: nothing outside a viewer's roles comes back, through any path.

Two workgroups, A ("Northwind") and B ("Fabrikam"), each with customers (one archived),
contacts with invitations, an order with lines, a contract, a service level, a project with a
member customer, groups with members, agreements with packages, service amounts (an
EDUCATION_ON_DEMAND line and a REACTIVE_SUPPORT one) and consumption, support cases reached by
every way of the member rule, an import job, role assignments and the activity records that real
changes (domain functions and mutations) wrote. The scenario is written out below as literal
tables (`ROWS`, `CASES`, `GROUP_MEMBERS`, ...); `build_scene` makes exactly that.

The viewers hold roles that differ between the two workgroups (`VIEWERS`). What each may see is
derived from the scenario and the role table of docs/permissions.md, typed in below (`ROLE_ROWS`,
`READERS`, the member-rule relations in `CASES`) — never from the API's answers:

- every root field and every nested path to every row type, lists with `totalCount`
  (`PATHS`: the rows expected are walked through the scenario step by step, each step's field
  decided by the viewer's role in the parent row's workgroup);
- every row by id: `node(id:)` with inline and named fragments and each root field taking an id,
  an invisible row answering byte for byte like an id that names nothing;
- fields decided per workgroup (`Customer.rank`, `Customer.businessId`, `Invitation.lastError`,
  `Group.members`, `SupportCase.sharedWith`/`groupsWithAccess`), counts and totals (overview
  numbers, drill-down purchased/used/available), `me`, the three CSV exports;
- the activity log (`activity(...)`, `Customer.feed`, `node(id:)`, `GET /exports/activity.csv`)
  with its masking of recorded values.
"""

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

from graph.app import create_app
from graph.ids import decode_pk, encode_id
from models.accounts.tables import RoleAssignment, User
from models.accounts.users import get_or_create_user
from models.audit.activity import ActivityRecord
from models.core.enums import CaseClassification, Catalog
from models.customers.operations import archive_customer
from models.customers.tables import Customer
from models.imports.jobs import create_upload
from models.mail.outbox import OutboxMessage
from models.partner.operations import (
    add_contact,
    add_contract,
    create_order,
    create_project,
    set_main_contact,
    set_project_member,
    set_service_level,
    update_contact,
)
from models.settings import Settings
from models.support.operations import close_case
from models.support.tables import SupportCase
from policies import Authorizer
from policies.authorizer import MODEL_PATH, POLICY_PATH
from tests.activity_factories import (
    ADD_ON,
    EDUCATION,
    REACTIVE,
    agreement,
    amount,
    consume,
    package,
)
from tests.conftest import (
    TEST_SECRET,
    GraphQLClient,
    empty_tables,
    grant,
    make_customer,
    make_workgroup,
    token_for,
    without_request_ids,
)
from tests.support_factories import give_access, new_case, new_group, share

# ------------------------------------------------------------------ people

ADMIN_A = "admin@northwind.example"
ADMIN_B = "admin@fabrikam.example"
SUPPORT = "support@northwind.example"  # support_viewer in A, admin in B
SALES = "sales@northwind.example"  # sales_agent in A, admin in B
AGENT = "agent@northwind.example"  # admin_agent in A
MEMBER = "member@northwind.example"  # member in A
ACTIVITY = "activity@northwind.example"  # customer_activity in A, training_manager in B
NOBODY = "nobody@northwind.example"  # signed in, no role anywhere
COLLEAGUE = "colleague@northwind.example"  # member in A: the other user of shares and groups
TEMP = "temp@northwind.example"  # given a role and losing it again, in each workgroup

WORKGROUP_NAMES = {"A": "Northwind", "B": "Fabrikam"}
# (e-mail, role, workgroup): every role held at the end.
GRANTS = (
    (ADMIN_A, "admin", "A"),
    (ADMIN_B, "admin", "B"),
    (SUPPORT, "support_viewer", "A"),
    (SUPPORT, "admin", "B"),
    (SALES, "sales_agent", "A"),
    (SALES, "admin", "B"),
    (AGENT, "admin_agent", "A"),
    (MEMBER, "member", "A"),
    (ACTIVITY, "customer_activity", "A"),
    (ACTIVITY, "training_manager", "B"),
    (COLLEAGUE, "member", "A"),
)


@dataclass(frozen=True)
class Viewer:
    email: str
    roles: dict[str, str]  # workgroup ("A"/"B") -> the role held there


VIEWERS = {
    "admin_a": Viewer(ADMIN_A, {"A": "admin"}),
    "support_viewer_a+admin_b": Viewer(SUPPORT, {"A": "support_viewer", "B": "admin"}),
    "sales_agent_a+admin_b": Viewer(SALES, {"A": "sales_agent", "B": "admin"}),
    "admin_agent_a": Viewer(AGENT, {"A": "admin_agent"}),
    "member_a": Viewer(MEMBER, {"A": "member"}),
    "customer_activity_a+training_manager_b": Viewer(
        ACTIVITY, {"A": "customer_activity", "B": "training_manager"}
    ),
    "no_roles": Viewer(NOBODY, {}),
    "admin_b": Viewer(ADMIN_B, {"B": "admin"}),
}

# ------------------------------------------------------------------ the role table
# docs/permissions.md, typed in: the row types each role sees whole in its workgroup. Support
# cases follow the member rule for roles without case oversight; a training manager sees the
# education lines only; activity records follow `sees_record`.

EVERY_ROLE = frozenset(
    {
        "admin",
        "admin_agent",
        "sales_agent",
        "customer_activity",
        "training_manager",
        "support_viewer",
        "member",
    }
)
ANYONE = EVERY_ROLE | {"authenticated"}
CUSTOMER_ROLES = EVERY_ROLE - {"member"}
PARTNER = frozenset({"admin", "admin_agent", "sales_agent"})  # contacts, orders, ... (read)
PARTNER_EDITORS = frozenset({"admin", "admin_agent"})
INTERNAL = frozenset({"admin", "admin_agent"})  # rank, businessId
AGREEMENT_READERS = frozenset({"admin", "customer_activity", "training_manager"})
LOG_READERS = frozenset({"admin", "admin_agent"})
OVERSIGHT = frozenset({"admin", "support_viewer"})  # every case; who else has access
IMPORTERS = frozenset({"admin", "admin_agent"})
ADMINS = frozenset({"admin"})  # role assignments, group members
CUSTOMER_EXPORTERS = frozenset({"admin", "admin_agent", "sales_agent"})
EDUCATION_EXPORTERS = frozenset({"admin", "training_manager"})

_BASE = {"Workgroup", "Group"}
_PARTNER_ROWS = {
    "Contact",
    "Invitation",
    "Order",
    "OrderLine",
    "Contract",
    "ServiceLevel",
    "Project",
}
_AGREEMENT_ROWS = {"Agreement", "Package", "ServiceAmount", "ConsumptionRecord"}
ROLE_ROWS: dict[str, set[str]] = {
    "admin": _BASE
    | {"Customer", "SupportCase", "ImportJob", "RoleAssignment"}
    | _PARTNER_ROWS
    | _AGREEMENT_ROWS,
    "admin_agent": _BASE | {"Customer", "ImportJob"} | _PARTNER_ROWS,
    "sales_agent": _BASE | {"Customer"} | _PARTNER_ROWS,
    "customer_activity": _BASE | {"Customer"} | _AGREEMENT_ROWS,
    "training_manager": _BASE | {"Customer"} | _AGREEMENT_ROWS,  # amounts: education only
    "support_viewer": _BASE | {"Customer", "SupportCase"},
    "member": set(_BASE),
}

# Who may read each field a path goes through: root fields (and fields of objects that are not
# rows) on every role the viewer holds anywhere, fields of rows in the row's own workgroup.
READERS: dict[str, frozenset[str]] = {
    "Query.me": ANYONE,
    "Query.node": ANYONE,
    "Query.workgroups": ANYONE,
    "Query.workgroup": ANYONE,
    "Query.customers": ANYONE,
    "Query.customer": ANYONE,
    "Query.supportCases": ANYONE,
    "Query.supportCase": ANYONE,
    "Query.roleAssignments": ANYONE,
    "Query.agreements": AGREEMENT_READERS,
    "Query.customerActivity": AGREEMENT_READERS,
    "Query.activity": LOG_READERS,
    "Query.importJob": IMPORTERS,
    "CustomerActivity.agreements": AGREEMENT_READERS,
    "CustomerActivity.drillDown": AGREEMENT_READERS,
    "DrillDown.records": AGREEMENT_READERS,
    "DrillDown.additionalCases": AGREEMENT_READERS,
    "Workgroup.customers": EVERY_ROLE,
    "Workgroup.groups": OVERSIGHT,
    "Workgroup.projects": PARTNER,
    "Workgroup.agreements": AGREEMENT_READERS,
    "Customer.workgroup": CUSTOMER_ROLES,
    "Customer.contacts": PARTNER,
    "Customer.mainContact": PARTNER,
    "Contact.invitations": PARTNER,
    "Customer.orders": PARTNER,
    "Order.lines": PARTNER,
    "Customer.contracts": PARTNER,
    "Customer.serviceLevel": PARTNER,
    "Customer.projects": PARTNER,
    "Customer.agreements": AGREEMENT_READERS,
    "Agreement.customer": AGREEMENT_READERS,
    "Agreement.packages": AGREEMENT_READERS,
    "Package.serviceAmounts": AGREEMENT_READERS,
    "ServiceAmount.consumption": AGREEMENT_READERS,
    "Customer.supportCases": EVERY_ROLE,
    "Customer.feed": LOG_READERS,
    "Customer.overview": CUSTOMER_ROLES,
    "CustomerOverview.packages": AGREEMENT_READERS,
    "SupportCase.customer": EVERY_ROLE,
    "SupportCase.agreement": EVERY_ROLE,
    "Agreement.workgroup": AGREEMENT_READERS,
    "ActivityRecord.workgroup": LOG_READERS,
    "RoleAssignment.workgroup": ADMINS,
    "Customer.primaryDomain": PARTNER,  # customer list data: the roles that read orders too
    "Customer.primaryLocation": PARTNER,
    "Customer.tags": PARTNER,
}

# ------------------------------------------------------------------ the scenario


@dataclass(frozen=True)
class Row:
    name: str
    type: str
    side: str  # "A" or "B"
    parent: str | None = None  # the row it belongs to
    label: Any = None  # the value of its type's name field (LABEL_FIELDS)
    key: Any = None  # what a path reads to name it, when it has no id
    category: str | None = None  # service amounts and their consumption
    quantity: int = 0  # purchased (service amounts) or used (consumption)
    kind: str | None = None  # packages
    archived: bool = False  # customers
    action: str | None = None  # activity records: what happened, ...
    target: str | None = None  # ... to which row, ...
    concerns: str | None = None  # ... and which customer it concerns (Customer.feed)


def R(name: str, type_: str, side: str, parent: str | None = None, **values: Any) -> Row:
    return Row(name, type_, side, parent, **values)


@dataclass(frozen=True)
class Case:
    """A support case and who reaches it: its primary contact, shares, groups with access."""

    name: str
    side: str
    customer: str
    title: str
    contact: str
    shares: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    agreement: tuple[str, str, str] | None = None  # agreement, package, service amount
    classification: CaseClassification = CaseClassification.STANDARD
    closed: bool = False
    reason: str | None = "NO_AGREEMENT"  # why it is an additional case (None: it is not)


CASES = {
    case.name: case
    for case in (
        Case(
            "A1",
            "A",
            "a0",
            "Printer jam",
            MEMBER,
            groups=("a.tier3",),
            agreement=("a.agreement", "a.core", "a.reactive"),
            reason=None,
        ),
        Case("A2", "A", "a0", "VPN down", ADMIN_A, shares=(MEMBER,), closed=True),
        Case(
            "A3",
            "A",
            "a1",
            "Mail delay",
            ACTIVITY,
            groups=("a.tier2",),
            classification=CaseClassification.SU,
            reason="CLASSIFICATION",
        ),
        Case("A4", "A", "a0", "Payroll outage", ADMIN_A, (COLLEAGUE,), ("a.tier4",)),
        Case("A5", "A", "a1", "Agent question", AGENT),  # opened by the agent, via the API
        Case("B1", "B", "b0", "Lab outage", ACTIVITY, groups=("b.desk",)),
        Case(
            "B2",
            "B",
            "b0",
            "Lab billing",
            ADMIN_B,
            agreement=("b.agreement", "b.core", "b.reactive"),
            reason=None,
        ),
        Case("B3", "B", "b0", "Lab audit", ADMIN_B),
    )
}
# Who is in each group (by the end).
GROUP_MEMBERS = {
    "a.tier2": (MEMBER, COLLEAGUE),
    "a.tier3": (ACTIVITY,),  # added through addGroupMember
    "a.tier4": (COLLEAGUE,),
    "b.desk": (ADMIN_B, ACTIVITY),  # ACTIVITY added through addGroupMember
}
_GROUP_LABELS = {"a.tier2": "Tier 2", "a.tier3": "Tier 3", "a.tier4": "Tier 4", "b.desk": "Desk"}


def related_cases(email: str) -> set[str]:
    """The cases a user reaches by the member rule: primary contact, shared, or via a group."""
    return {
        case.name
        for case in CASES.values()
        if case.contact == email
        or email in case.shares
        or any(email in GROUP_MEMBERS[group] for group in case.groups)
    }


# name -> (workgroup, company name, domain, rank at the end, business id, city at the end, tags)
CUSTOMERS = {
    "a0": ("A", "Northwind Traders", "traders.example", 6, "NW-0005", "Portland", ["gold", "vip"]),
    "a1": ("A", "Northwind Foods", "foods.example", 7, "NW-0007", "Tacoma", ["silver"]),
    "a2": ("A", "Northwind Outlet", "outlet.example", 9, "NW-0009", "Spokane", []),
    "b0": ("B", "Fabrikam Labs", "labs.example", 12, "FB-0011", "Bergen", ["gold"]),
    "b1": ("B", "Fabrikam Depot", "depot.example", 13, "FB-0013", "Narvik", []),
}
ARCHIVED = {"a2", "b1"}
# The change each admin makes to its first customer through updateCustomer: (before, after).
RANK_CHANGES = {
    "a0": ({"rank": 5, "city": "Seattle"}, {"rank": 6, "city": "Portland"}),
    "b0": ({"rank": 11, "city": "Oslo"}, {"rank": 12, "city": "Bergen"}),
}
CONTACTS = {  # name -> (customer, first name, last name, e-mail, job title, last error)
    "a.contact": ("a0", "Ada", "Lind", "ada@traders.example", "Buyer", "550 mailbox unavailable"),
    "b.contact": ("b0", "Bo", "Berg", "bo@labs.example", "Chemist", "421 try again later"),
}
ORDER_LINES = {"a.order": (("NW seat", 3), ("NW licence", 1)), "b.order": (("FB seat", 2),)}
# (name, agreement number) per workgroup; packages; service amounts; consumption (day, quantity)
AGREEMENTS = {"a.agreement": ("a0", "NW-100"), "b.agreement": ("b0", "FB-100")}
PACKAGES = {
    "a.core": ("a.agreement", "NW core", "ENTERPRISE"),
    "a.pack": ("a.agreement", "NW training pack", "ADD_ON"),
    "b.core": ("b.agreement", "FB core", "ENTERPRISE"),
}
AMOUNTS = {
    "a.reactive": ("a.core", REACTIVE, 100),
    "a.education": ("a.core", EDUCATION, 40),
    "a.pack_education": ("a.pack", EDUCATION, 8),
    "b.reactive": ("b.core", REACTIVE, 300),
    "b.education": ("b.core", EDUCATION, 60),
}
CONSUMPTION = {
    "a.r1": ("a.reactive", -5, 10),
    "a.r2": ("a.reactive", -15, 5),
    "a.e1": ("a.education", -3, 4),
    "a.e2": ("a.pack_education", -4, 2),
    "b.r1": ("b.reactive", -2, 30),
    "b.e1": ("b.education", -2, 6),
    "b.e2": ("b.education", -6, 3),
}
# Activity records asked for by id: (workgroup, action, target row, e-mail in `after` or None).
NAMED_RECORDS = {
    "a.log.rank": ("A", "customer.update", "a0", None),
    "a.log.contact_add": ("A", "contact.add", "a.contact", None),
    "a.log.contact_update": ("A", "contact.update", "a.contact", None),
    "a.log.group_create": ("A", "group.create", "a.tier2", None),
    "a.log.member_add": ("A", "group.member.add", "a.tier3", ACTIVITY),
    "a.log.grant": ("A", "role.grant", None, TEMP),
    "a.log.revoke": ("A", "role.revoke", None, TEMP),
    "a.log.open_A1": ("A", "case.open", "A1", None),
    "a.log.open_A5": ("A", "case.open", "A5", None),
    "a.log.share_A2": ("A", "case.share", "A2", None),
    "b.log.rank": ("B", "customer.update", "b0", None),
    "b.log.member_add": ("B", "group.member.add", "b.desk", ACTIVITY),
    "b.log.grant": ("B", "role.grant", None, TEMP),
    "b.log.open_B1": ("B", "case.open", "B1", None),
}


def _scenario_rows() -> list[Row]:
    rows = [R(side, "Workgroup", side, label=name) for side, name in WORKGROUP_NAMES.items()]
    for name, (side, company, *_rest) in CUSTOMERS.items():
        rows.append(R(name, "Customer", side, label=company, archived=name in ARCHIVED))
    for name, (customer, *_rest) in CONTACTS.items():
        side = CUSTOMERS[customer][0]
        rows.append(R(name, "Contact", side, customer))
        rows.append(R(f"{name[0]}.invitation", "Invitation", side, name))
    for order, lines in ORDER_LINES.items():
        side = order[0].upper()
        rows.append(R(order, "Order", side, f"{order[0]}0"))
        rows += [R(f"{order}:{p}", "OrderLine", side, order, key=p) for p, _ in lines]
    for side, profile, retainer, project in (
        ("A", "NW gold", "NW retainer", "NW migration"),
        ("B", "FB silver", "FB retainer", "FB rollout"),
    ):
        prefix, customer = side.lower(), f"{side.lower()}0"
        rows.append(R(f"{prefix}.contract", "Contract", side, customer, label=retainer))
        rows.append(R(f"{prefix}.sla", "ServiceLevel", side, customer, key=profile))
        rows.append(R(f"{prefix}.project", "Project", side, customer, label=project))
        rows.append(R(f"{prefix}.import", "ImportJob", side, label=f"{prefix}-customers.csv"))
    rows += [
        R(group, "Group", group[0].upper(), label=_GROUP_LABELS[group]) for group in GROUP_MEMBERS
    ]
    for name, (customer, number) in AGREEMENTS.items():
        rows.append(R(name, "Agreement", name[0].upper(), customer, label=number))
    for name, (of, label, kind) in PACKAGES.items():
        rows.append(R(name, "Package", name[0].upper(), of, label=label, kind=kind))
    for name, (of, category, purchased) in AMOUNTS.items():
        rows.append(
            R(
                name,
                "ServiceAmount",
                name[0].upper(),
                of,
                label=category.value,
                category=category.value,
                quantity=purchased,
            )
        )
    for name, (of, _day, quantity) in CONSUMPTION.items():
        category = AMOUNTS[of][1].value
        rows.append(
            R(
                name,
                "ConsumptionRecord",
                name[0].upper(),
                of,
                label=float(quantity),
                category=category,
                quantity=quantity,
            )
        )
    rows += [
        R(case.name, "SupportCase", case.side, case.customer, label=case.title)
        for case in CASES.values()
    ]
    for email, role, side in GRANTS:
        rows.append(R(f"ra:{email}:{side}", "RoleAssignment", side, label=role.upper()))
    for name, (side, action, target, _email) in NAMED_RECORDS.items():
        rows.append(R(name, "ActivityRecord", side, label=action, action=action, target=target))
    return rows


ROWS = {row.name: row for row in _scenario_rows()}
# The field `node(id:)` and the root fields taking an id read to name a row of each type.
LABEL_FIELDS = {
    "Customer": "companyName",
    "Workgroup": "name",
    "Group": "name",
    "SupportCase": "title",
    "Agreement": "number",
    "Package": "name",
    "ServiceAmount": "category",
    "ConsumptionRecord": "quantity",
    "ActivityRecord": "action",
    "RoleAssignment": "role",
}
NODE_TYPES = set(LABEL_FIELDS)
BY_ID_ROWS = [name for name, row in ROWS.items() if row.key is None]  # rows with an id

# ------------------------------------------------------------------ queries

_OTHER_LABELS = """
    ... on Workgroup { name }
    ... on Group { ...GroupLabel }
    ... on SupportCase { ...CaseLabel }
    ... on Agreement { number }
    ... on Package { name }
    ... on ServiceAmount { category }
    ... on ConsumptionRecord { quantity }
    ... on ActivityRecord { action }
    ... on RoleAssignment { role }
"""
_LABELS = "... on Customer { companyName }" + _OTHER_LABELS
BY_ID = f"""
query ById($id: ID!) {{
  node(id: $id) {{ __typename id {_LABELS} }}
  named: node(id: $id) {{ ...NodeLabel }}
  customer(id: $id) {{ id companyName }}
  workgroup(id: $id) {{ id name }}
  supportCase(id: $id) {{ id title }}
  importJob(id: $id) {{ id fileName }}
}}
fragment GroupLabel on Group {{ name }}
fragment CaseLabel on SupportCase {{ title }}
fragment NodeLabel on Node {{ __typename id ...CustomerLabel ...OtherLabels }}
fragment CustomerLabel on Customer {{ companyName }}
fragment OtherLabels on Node {{ {_OTHER_LABELS} }}
"""

ME = "query { me { email roles { role workgroup { id } } } }"
OPEN_CUSTOMERS = """
query Open($a0: ID!, $a1: ID!, $a2: ID!, $b0: ID!, $b1: ID!) {
  a0: customer(id: $a0) { id }
  a1: customer(id: $a1) { id }
  a2: node(id: $a2) { id }
  b0: customer(id: $b0) { id }
  b1: node(id: $b1) { id }
}
"""
RECENT = "query { me { recentCustomers(first: 20) { id } } }"

GROUP_MEMBERS_QUERY = """
query Groups($workgroupId: ID!, $groupId: ID!) {
  workgroup(id: $workgroupId) { groups { id name members { email } } }
  node(id: $groupId) { ... on Group { id name ...Members } }
}
fragment Members on Group { members { email } }
"""
CUSTOMER_SECRETS = """
query Secrets($workgroupId: ID!, $id: ID!) {
  customers(workgroupId: $workgroupId, status: null) {
    edges { node { id rank businessId contacts { email invitations { id lastError } } } }
  }
  customer(id: $id) { id ...Secrets }
  node(id: $id) { ...Secrets }
}
fragment Secrets on Customer {
  id rank businessId contacts { email invitations { id lastError } }
}
"""
CASE_LINKS = """
query CaseLinks($id: ID!) {
  supportCase(id: $id) {
    id
    customer { id }
    agreement { id }
    primaryContact { email }
    sharedWith { email }
    groupsWithAccess { id members { email } }
  }
}
"""
OVERVIEW = """
query Overview($id: ID!) {
  customer(id: $id) {
    id
    overview { contactCount openCaseCount activeAgreementCount topServices { category used } }
  }
}
"""
DRILL_DOWN_TOTALS = """
query Totals($category: DrillDownCategory!) {
  customerActivity {
    enterprise { category purchased used available }
    drillDown(category: $category) { purchased used available }
  }
}
"""
ADD_ON_PACKAGES = """
query AddOns($agreementId: ID!) {
  customerActivity { addOnPackages(agreementId: $agreementId) { id name } }
}
"""
RECORD_VALUES = """
query Values($id: ID!) {
  node(id: $id) { ... on ActivityRecord { id action before after } }
}
"""
LOG_VALUES = """
query LogValues($workgroupId: ID!, $customerId: ID!) {
  activity(workgroupId: $workgroupId, first: 1000) {
    edges { node { id action targetId before after } }
  }
  customer(id: $customerId) { feed(first: 100) { edges { node { id before after } } } }
}
"""

WORKGROUP_ARGUMENTS = """
query Arguments($workgroupId: ID!) {
  workgroup(id: $workgroupId) { id }
  customers(workgroupId: $workgroupId, status: null) { totalCount edges { node { id } } }
  supportCases(workgroupId: $workgroupId) { totalCount edges { node { id } } }
  roleAssignments(workgroupId: $workgroupId) { id }
  me {
    permissions(workgroupId: $workgroupId)
    can(coordinate: "Customer.rank", workgroupId: $workgroupId)
  }
}
"""
EXPLAIN = """
query Explain($workgroupId: ID!) {
  explainAccess(email: "sales@northwind.example", coordinate: "Customer.rank",
                workgroupId: $workgroupId) { allowed }
}
"""
BOTH_WORKGROUPS = """
query Both {
  customers(status: null) { edges { node { id rank businessId } } }
  workgroups { edges { node { id groups { id members { email } } } } }
}
"""

# Mutations the scenario is built with.
ADD_CONTACT = """
mutation($input: AddContactInput!) {
  addContact(input: $input) { contact { id } errors { code } }
}
"""
UPDATE_CONTACT = """
mutation($id: ID!) { updateContact(id: $id, input: {jobTitle: "Buyer"}) { errors { code } } }
"""
SET_MAIN_CONTACT = """
mutation($customerId: ID!, $contactId: ID!) {
  setMainContact(customerId: $customerId, contactId: $contactId) { errors { code } }
}
"""
ADD_GROUP_MEMBER = """
mutation($groupId: ID!, $email: String!) {
  addGroupMember(groupId: $groupId, email: $email) { errors { code } }
}
"""
OPEN_CASE = """
mutation($workgroupId: ID!, $customerId: ID!) {
  openSupportCase(input: {workgroupId: $workgroupId, title: "Agent question", severity: LOW,
                          customerId: $customerId}) {
    supportCase { id } errors { code }
  }
}
"""
GRANT_ROLE = """
mutation($workgroupId: ID!) {
  grantRole(email: "temp@northwind.example", role: SUPPORT_VIEWER, workgroupId: $workgroupId) {
    errors { code }
  }
}
"""
REVOKE_ROLE = GRANT_ROLE.replace("grantRole", "revokeRole")
UPDATE_CUSTOMER = """
mutation($id: ID!, $rank: Int!, $city: String!) {
  updateCustomer(id: $id, input: {rank: $rank, city: $city}) { errors { code } }
}
"""

# ------------------------------------------------------------------ the scene


@dataclass(frozen=True)
class Record:
    """An activity record as the database holds it."""

    pk: int
    side: str
    action: str
    target_type: str
    target_pk: int | None
    customer: str | None  # the customer it concerns (what Customer.feed selects on)


@dataclass
class Scene:
    gql: GraphQLClient
    http: TestClient
    settings: Settings
    ids: dict[str, str]  # row name -> global id
    records: list[Record]
    rows: dict[str, Row] = field(default_factory=dict)  # ROWS and every activity record
    names: dict[str, str] = field(default_factory=dict)  # global id -> row name

    def gid(self, name: str) -> str:
        return self.ids[name]

    def key(self, name: str) -> Any:
        row = self.rows[name]
        return row.key if row.key is not None else self.ids[name]

    def of_type(self, type_: str) -> list[str]:
        return [name for name, row in self.rows.items() if row.type == type_]

    def ancestors(self, name: str) -> list[str]:
        found, row = [], self.rows[name]
        while row.parent is not None:
            found.append(row.parent)
            row = self.rows[row.parent]
        return found

    # -------------------------------------------------------------- what a viewer sees

    def sees(self, viewer: Viewer, name: str) -> bool:
        row = self.rows[name]
        role = viewer.roles.get(row.side)
        if role is None:
            return False
        if row.type == "SupportCase":
            return role in OVERSIGHT or name in related_cases(viewer.email)
        if row.type == "ActivityRecord":
            return self.sees_record(viewer, row)
        if row.category is not None and role == "training_manager":
            return row.category == EDUCATION.value
        return row.type in ROLE_ROWS[role]

    def sees_record(
        self, viewer: Viewer, row: Row, log_readers: frozenset[str] = LOG_READERS
    ) -> bool:
        """docs/permissions.md, "The activity log": a reader of the workgroup's log sees a
        record when they may see what it is about now — its target row (a case's records only
        by the member rule), role grants as role assignments, group memberships as
        Group.members, who else was given a case as SupportCase.sharedWith/groupsWithAccess,
        and a customer's tags, main contact, orders, ... as those fields of the customer."""
        role = viewer.roles.get(row.side)
        if role not in log_readers:
            return False
        action = row.action or ""
        if action.startswith("role."):
            return "RoleAssignment" in ROLE_ROWS[role]
        if action.startswith("group.member."):
            return role in ADMINS and self.sees(viewer, row.target)  # type: ignore[arg-type]
        if action.startswith(("case.share", "case.unshare", "case.group_access.")):
            return role in OVERSIGHT and self.sees(viewer, row.target)  # type: ignore[arg-type]
        about = RECORDS_ABOUT.get(action)
        if about is not None and role not in READERS[about]:
            return False
        assert row.target is not None, row
        return self.sees(viewer, row.target)

    def children(self, parent: str, type_: str) -> list[str]:
        """Rows of `type_` a field of `parent` leads to, whoever looks."""
        if parent == QUERY:
            return self.of_type(type_)
        row = self.rows[parent]
        if type_ == "Workgroup":
            return [row.side]
        if row.type == "Workgroup":
            return [n for n in self.of_type(type_) if self.rows[n].side == row.side]
        if type_ == "ActivityRecord":
            return [n for n in self.of_type(type_) if self.rows[n].concerns == parent]
        if row.type == "SupportCase" and type_ == "Agreement":
            linked = CASES[parent].agreement
            return [linked[0]] if linked else []
        above = [a for a in self.ancestors(parent) if self.rows[a].type == type_]
        if above:
            return above[:1]
        return [n for n in self.of_type(type_) if parent in self.ancestors(n)]

    def role_set(self, viewer: Viewer, at: str) -> set[str]:
        if at == QUERY:
            return {"authenticated", *viewer.roles.values()}
        role = viewer.roles.get(self.rows[at].side)
        return {"authenticated", role} if role else {"authenticated"}

    def may_reveal(self, viewer: Viewer, type_: str, coordinate: str) -> bool:
        """Whether `coordinate` is readable wherever the viewer sees rows of `type_`."""
        return all(
            role in READERS[coordinate]
            for role in viewer.roles.values()
            if type_ in ROLE_ROWS[role]
        )

    def may_read(self, viewer: Viewer, at: str, coordinate: str | None) -> bool:
        return coordinate is None or bool(self.role_set(viewer, at) & READERS[coordinate])


QUERY = "<query>"  # the root: what root fields hang from
# Records about a field of their target (policies/activity_subjects.py `about`, typed in).
RECORDS_ABOUT = {
    "customer.tags": "Customer.tags",
    "contact.set_main": "Customer.mainContact",
    "order.create": "Customer.orders",
    "contract.add": "Customer.contracts",
    "customer.service_level": "Customer.serviceLevel",
    "project.member.add": "Customer.projects",
    "project.member.remove": "Customer.projects",
}


def build_scene(session: Session, gql: GraphQLClient) -> Scene:
    """The scenario of the tables above, made with the domain functions and (for the changes
    marked so) the API as the people who may make them; then every activity record written."""
    ids: dict[str, str] = {}
    workgroups = {side: make_workgroup(session, name) for side, name in WORKGROUP_NAMES.items()}
    for side, workgroup in workgroups.items():
        ids[side] = encode_id("Workgroup", workgroup.id)  # type: ignore[arg-type]
    for email, role, side in GRANTS:
        grant(session, email, role, workgroups[side])
    get_or_create_user(session=session, email=NOBODY)
    session.commit()
    actor = {
        side: get_or_create_user(session=session, email=email).id
        for side, email in (("A", ADMIN_A), ("B", ADMIN_B))
    }

    # Customers: tags, ranks and business ids set when added; one archived in each workgroup.
    customers: dict[str, Customer] = {}
    for name, (side, company, domain, rank, business_id, city, tags) in CUSTOMERS.items():
        before = RANK_CHANGES.get(name, ({"rank": rank, "city": city}, None))[0]
        customers[name] = make_customer(
            session,
            workgroups[side],
            index=name,
            company_name=company,
            primary_domain=domain,
            primary_location="US" if side == "A" else "NO",
            city=before["city"],
            rank=before["rank"],
            business_id=business_id,
            tags=tags,
        )
        ids[name] = encode_id("Customer", customers[name].id)  # type: ignore[arg-type]
    for name in ARCHIVED:
        archive_customer(
            session=session,
            customer=customers[name],
            expected_version=None,
            actor_id=actor[CUSTOMERS[name][0]],
        )
    session.commit()

    # Groups (Tier 3 and Desk get a member through the API below).
    groups = {
        group: new_group(
            session,
            workgroups[group[0].upper()],
            _GROUP_LABELS[group],
            tuple(m for m in members if m != ACTIVITY),
        )
        for group, members in GROUP_MEMBERS.items()
    }
    for group, row in groups.items():
        ids[group] = encode_id("Group", row.id)  # type: ignore[arg-type]

    # Agreements, packages, service amounts and consumption.
    made: dict[str, Any] = {}
    for name, (customer, number) in AGREEMENTS.items():
        made[name] = agreement(session, customers[customer], number, starts=-100, ends=200)
    for name, (of, label, kind) in PACKAGES.items():
        made[name] = package(
            session,
            made[of],
            label,
            **({"kind": ADD_ON, "expires": 30} if kind == "ADD_ON" else {}),
        )
    for name, (of, category, purchased) in AMOUNTS.items():
        made[name] = amount(session, made[of], category, purchased)
    for name, (of, day, quantity) in CONSUMPTION.items():
        made[name] = consume(session, made[of], day, quantity, description=name)
    session.commit()
    for name, row in made.items():
        ids[name] = encode_id(type(row).__name__, row.id)

    # Partner data of B through the domain functions (A's contact comes through the API).
    b0, b_actor = customers["b0"], actor["B"]
    _, first, last, email, job, _ = CONTACTS["b.contact"]
    contact = add_contact(
        session=session,
        workgroup_id=workgroups["B"].id,  # type: ignore[arg-type]
        customer=b0,
        values={"first_name": first, "last_name": last, "email": email},
        actor_id=b_actor,  # type: ignore[arg-type]
        send_invitation=True,
    )
    update_contact(session=session, contact=contact, values={"job_title": job}, actor_id=b_actor)  # type: ignore[arg-type]
    set_main_contact(session=session, customer=b0, contact=contact, actor_id=b_actor)  # type: ignore[arg-type]
    ids["b.contact"] = encode_id("Contact", contact.id)  # type: ignore[arg-type]
    session.commit()
    for side, profile, retainer, project_name in (
        ("A", "NW gold", "NW retainer", "NW migration"),
        ("B", "FB silver", "FB retainer", "FB rollout"),
    ):
        prefix = side.lower()
        customer, by = customers[f"{prefix}0"], actor[side]
        order = create_order(
            session=session,
            customer=customer,
            catalog=Catalog.SOFTWARE,
            lines=list(ORDER_LINES[f"{prefix}.order"]),
            actor_id=by,  # type: ignore[arg-type]
        )
        contract = add_contract(
            session=session,
            customer=customer,
            values={"name": retainer, "type": "RETAINER_FLAT_FEE"},
            actor_id=by,  # type: ignore[arg-type]
        )
        set_service_level(
            session=session,
            customer=customer,
            first_response_minutes=30,
            resolution_minutes=240,
            alert_profile=profile,
            actor_id=by,  # type: ignore[arg-type]
        )
        project = create_project(
            session=session,
            workgroup_id=workgroups[side].id,  # type: ignore[arg-type]
            name=project_name,
            actor_id=by,  # type: ignore[arg-type]
        )
        set_project_member(
            session=session,
            project=project,
            customer=customer,
            member=True,
            actor_id=by,  # type: ignore[arg-type]
        )
        upload = create_upload(
            session=session,
            workgroup_id=workgroups[side].id,  # type: ignore[arg-type]
            kind="CUSTOMERS",
            file_name=f"{prefix}-customers.csv",
            raw=b"company name,primary domain\r\nPlanted,planted.example\r\n",
            max_rows=10,
            actor_id=by,  # type: ignore[arg-type]
        )
        session.commit()
        ids[f"{prefix}.order"] = encode_id("Order", order.id)  # type: ignore[arg-type]
        ids[f"{prefix}.contract"] = encode_id("Contract", contract.id)  # type: ignore[arg-type]
        ids[f"{prefix}.project"] = encode_id("Project", project.id)  # type: ignore[arg-type]
        ids[f"{prefix}.import"] = encode_id("ImportJob", upload.id)  # type: ignore[arg-type]

    # Support cases (all but A5, which the agent opens through the API).
    cases: dict[str, SupportCase] = {}
    for case in CASES.values():
        if case.name == "A5":
            continue
        linked = {}
        if case.agreement:
            linked = dict(zip(("agreement", "package", "service_amount"),
                              (made[n] for n in case.agreement), strict=True))  # fmt: skip
        opener = ADMIN_A if case.side == "A" else ADMIN_B
        cases[case.name] = new_case(
            session,
            workgroups[case.side],
            case.title,
            by=opener,
            contact=case.contact if case.contact != opener else None,
            classification=case.classification,
            customer=customers[case.customer],
            **linked,
        )
        for email in case.shares:
            share(session, cases[case.name], email)
        for group in case.groups:
            give_access(session, cases[case.name], groups[group])
        if case.closed:
            close_case(session=session, support_case=cases[case.name], actor_id=actor[case.side])  # type: ignore[arg-type]
            session.commit()
        ids[case.name] = encode_id("SupportCase", cases[case.name].id)  # type: ignore[arg-type]

    # Changes through the API, as the people who may make them.
    def done(email: str, query: str, variables: dict) -> dict:
        body = gql(email, query, variables)
        assert "errors" not in body, body
        payload = next(iter(body["data"].values()))
        assert payload["errors"] == [], body
        return payload

    _, first, last, email, job, _ = CONTACTS["a.contact"]
    added = done(
        ADMIN_A,
        ADD_CONTACT,
        {
            "input": {
                "workgroupId": ids["A"],
                "customerId": ids["a0"],
                "firstName": first,
                "lastName": last,
                "email": email,
                "sendInvitation": True,
            }
        },
    )
    ids["a.contact"] = added["contact"]["id"]
    done(ADMIN_A, UPDATE_CONTACT, {"id": ids["a.contact"]})
    done(ADMIN_A, SET_MAIN_CONTACT, {"customerId": ids["a0"], "contactId": ids["a.contact"]})
    done(ADMIN_A, ADD_GROUP_MEMBER, {"groupId": ids["a.tier3"], "email": ACTIVITY})
    done(ADMIN_B, ADD_GROUP_MEMBER, {"groupId": ids["b.desk"], "email": ACTIVITY})
    opened = done(AGENT, OPEN_CASE, {"workgroupId": ids["A"], "customerId": ids["a1"]})
    ids["A5"] = opened["supportCase"]["id"]
    for side, admin in (("A", ADMIN_A), ("B", ADMIN_B)):
        done(admin, GRANT_ROLE, {"workgroupId": ids[side]})
        done(admin, REVOKE_ROLE, {"workgroupId": ids[side]})
    for name, (_before, after) in RANK_CHANGES.items():
        admin = ADMIN_A if name == "a0" else ADMIN_B
        done(admin, UPDATE_CUSTOMER, {"id": ids[name], **after})

    # Each invitation failed once (the sender is not running here): its last error is set.
    for name, (_customer, *_, error) in CONTACTS.items():
        contact_pk = decode_pk(ids[name], "Contact")
        message = session.execute(
            select(OutboxMessage).where(OutboxMessage.contact_id == contact_pk)
        ).scalar_one()
        message.attempts, message.last_error = 1, error
        ids[f"{name[0]}.invitation"] = encode_id("Invitation", message.id)  # type: ignore[arg-type]
    session.commit()

    # Role assignments and activity records, as the database holds them.
    side_of = {workgroups[side].id: side for side in workgroups}
    for pk, email, workgroup_id in session.execute(
        select(RoleAssignment.id, User.email, RoleAssignment.workgroup_id).join(
            User, User.id == RoleAssignment.user_id
        )
    ).all():
        name = f"ra:{email}:{side_of[workgroup_id]}"
        if name in ROWS:
            ids[name] = encode_id("RoleAssignment", pk)
    names = {gid: name for name, gid in ids.items()}
    rows = dict(ROWS)
    records = []
    for record in session.execute(
        select(ActivityRecord).where(ActivityRecord.workgroup_id.in_(list(side_of)))  # type: ignore[attr-defined]
    ).scalars():
        target = (
            names.get(encode_id(record.target_type, record.target_id))
            if record.target_id is not None
            else None
        )
        customer = (
            names.get(encode_id("Customer", record.customer_id))
            if record.customer_id is not None
            else None
        )
        side = side_of[record.workgroup_id]
        records.append(
            Record(record.id, side, record.action, record.target_type, record.target_id, customer)  # type: ignore[arg-type]
        )
        named = next(
            (
                name
                for name, (s, action, t, email) in NAMED_RECORDS.items()
                if (s, action) == (side, record.action)
                and t == target
                and (email is None or (record.after or record.before or {}).get("email") == email)
            ),
            None,
        )
        name = named or f"log#{record.id}"
        ids[name] = encode_id("ActivityRecord", record.id)  # type: ignore[arg-type]
        rows[name] = R(
            name,
            "ActivityRecord",
            side,
            label=record.action,
            action=record.action,
            target=target,
            concerns=customer,
        )
    missing = sorted(name for name in ROWS if name not in ids and ROWS[name].key is None)
    assert not missing, f"the scenario did not make: {missing}"
    scene = Scene(gql, gql.http, gql.settings, ids, records, rows)
    scene.names = {gid: name for name, gid in ids.items()}
    return scene


@pytest.fixture(scope="module")
def scene(engine: Engine, database_url: str) -> Iterator[Scene]:
    """The scenario, built once for the module (its tests only read), with an app on it."""
    settings = Settings(database_url=database_url, jwt_secret=TEST_SECRET, env="development")
    app = create_app(settings, engine=engine, authorizer=Authorizer.from_files())
    try:
        with TestClient(app) as http:
            gql = GraphQLClient(http, settings)
            with Session(engine, expire_on_commit=False) as session:
                built = build_scene(session, gql)
            yield built
    finally:
        empty_tables(engine)


@pytest.fixture(autouse=True)
def _empty_tables() -> Iterator[None]:
    """Overrides the per-test emptying of conftest: the scene is emptied once, at the end."""
    yield


@pytest.fixture(params=list(VIEWERS))
def viewer(request) -> Viewer:
    """Each viewer of the matrix in turn."""
    return VIEWERS[request.param]


# ------------------------------------------------------------------ reading answers


def walk(value: Any, keys: tuple[str, ...]) -> list[Any]:
    """The values at `keys` below `value`, lists flattened, nulls skipped."""
    if value is None:
        return []
    if isinstance(value, list):
        return [found for item in value for found in walk(item, keys)]
    if not keys:
        return [value]
    return walk(value.get(keys[0]), keys[1:])


def forbidden(body: dict) -> set[str]:
    """The coordinates of the FORBIDDEN errors of an answer (asserting there are no others)."""
    errors = body.get("errors", [])
    others = [e for e in errors if (e.get("extensions") or {}).get("code") != "FORBIDDEN"]
    assert others == [], others
    return {e["extensions"]["coordinate"] for e in errors}


def same_names(found: list[Any], expected: list[Any]) -> bool:
    return sorted(map(repr, found)) == sorted(map(repr, expected))


# ------------------------------------------------------------------ paths


@dataclass(frozen=True)
class Step:
    """One field of a path: who may read it (READERS), and the row type it leads to (None for
    an object that is not a row), keeping the rows `keep` admits."""

    coordinate: str | None
    type: str | None = None
    keep: Callable[[Row], bool] | None = None
    # An argument of the field that reveals a field of the rows it lists (policies/arguments.py):
    # (row type, coordinate), allowed only where the coordinate is readable in every workgroup
    # whose rows of that type the viewer sees; else the field is refused naming it.
    reveals: tuple[str, str] | None = None
    # A search matching a field: only rows whose field the viewer may read in their workgroup.
    matches: str | None = None


@dataclass(frozen=True)
class Path:
    name: str
    query: str
    leaves: tuple[str, ...]  # keys to the values naming the rows found
    steps: Callable[[str], list[Step]]  # for a workgroup ("A"/"B", or "-" for none)
    variables: Callable[[Scene, str], dict] = lambda scene, side: {}
    totals: tuple[str, ...] | None = None  # keys to the totalCount(s) of the rows' connection(s)
    sided: bool = True

    def expected(self, scene: Scene, viewer: Viewer, side: str) -> tuple[list[str], set[str]]:
        """The rows the viewer must get through this path, and the fields they must be refused
        (FORBIDDEN), walking the scenario one step at a time."""
        level, refused = [QUERY], set()
        for step in self.steps(side):
            following = []
            for at in level:
                if not scene.may_read(viewer, at, step.coordinate):
                    refused.add(step.coordinate)
                    continue
                if step.reveals is not None and not scene.may_reveal(viewer, *step.reveals):
                    refused.add(step.reveals[1])
                    continue
                if step.type is None:
                    following.append(at)
                    continue
                following += [
                    child
                    for child in scene.children(at, step.type)
                    if (step.keep is None or step.keep(scene.rows[child]))
                    and scene.sees(viewer, child)
                    and (step.matches is None or scene.may_read(viewer, child, step.matches))
                ]
            level = following
        return level, refused


def in_side(side: str) -> Callable[[Row], bool]:
    return lambda row: row.side == side


def named(name: str) -> Callable[[Row], bool]:
    return lambda row: row.name == name


def active(row: Row) -> bool:
    return not row.archived


def of_category(category: str) -> Callable[[Row], bool]:
    return lambda row: row.category == category


def first_customer(scene: Scene, side: str) -> dict:
    return {"id": scene.gid(f"{side.lower()}0")}


def workgroup_of(scene: Scene, side: str) -> dict:
    return {"workgroupId": scene.gid(side)}


CONNECTION = ("edges", "node")

# Selections below a customer: (selection, keys to the leaves, keys to totals, steps).
CUSTOMER_SELECTIONS: dict[str, tuple[str, tuple, tuple | None, list[Step]]] = {
    "contacts": (
        "contacts { id }",
        ("contacts", "id"),
        None,
        [Step("Customer.contacts", "Contact")],
    ),
    "mainContact": (
        "mainContact { id }",
        ("mainContact", "id"),
        None,
        [Step("Customer.mainContact", "Contact")],
    ),
    "contacts.invitations": (
        "contacts { invitations { id } }",
        ("contacts", "invitations", "id"),
        None,
        [Step("Customer.contacts", "Contact"), Step("Contact.invitations", "Invitation")],
    ),
    "orders": ("orders { id }", ("orders", "id"), None, [Step("Customer.orders", "Order")]),
    "orders.lines": (
        "orders { lines { product } }",
        ("orders", "lines", "product"),
        None,
        [Step("Customer.orders", "Order"), Step("Order.lines", "OrderLine")],
    ),
    "contracts": (
        "contracts { id }",
        ("contracts", "id"),
        None,
        [Step("Customer.contracts", "Contract")],
    ),
    "serviceLevel": (
        "serviceLevel { alertProfile }",
        ("serviceLevel", "alertProfile"),
        None,
        [Step("Customer.serviceLevel", "ServiceLevel")],
    ),
    "projects": (
        "projects { id }",
        ("projects", "id"),
        None,
        [Step("Customer.projects", "Project")],
    ),
    "agreements": (
        "agreements { id }",
        ("agreements", "id"),
        None,
        [Step("Customer.agreements", "Agreement")],
    ),
    "agreements.packages": (
        "agreements { packages { id } }",
        ("agreements", "packages", "id"),
        None,
        [Step("Customer.agreements", "Agreement"), Step("Agreement.packages", "Package")],
    ),
    "agreements.packages.serviceAmounts": (
        "agreements { packages { serviceAmounts { id } } }",
        ("agreements", "packages", "serviceAmounts", "id"),
        None,
        [
            Step("Customer.agreements", "Agreement"),
            Step("Agreement.packages", "Package"),
            Step("Package.serviceAmounts", "ServiceAmount"),
        ],
    ),
    "agreements.packages.serviceAmounts.consumption": (
        "agreements { packages { serviceAmounts {"
        " consumption { totalCount edges { node { id } } } } } }",
        ("agreements", "packages", "serviceAmounts", "consumption", *CONNECTION, "id"),
        ("agreements", "packages", "serviceAmounts", "consumption", "totalCount"),
        [
            Step("Customer.agreements", "Agreement"),
            Step("Agreement.packages", "Package"),
            Step("Package.serviceAmounts", "ServiceAmount"),
            Step("ServiceAmount.consumption", "ConsumptionRecord"),
        ],
    ),
    "supportCases": (
        "supportCases { totalCount edges { node { id } } }",
        ("supportCases", *CONNECTION, "id"),
        ("supportCases", "totalCount"),
        [Step("Customer.supportCases", "SupportCase")],
    ),
    "feed": (
        "feed(first: 100) { totalCount edges { node { id } } }",
        ("feed", *CONNECTION, "id"),
        ("feed", "totalCount"),
        [Step("Customer.feed", "ActivityRecord")],
    ),
    "workgroup": (
        "workgroup { id }",
        ("workgroup", "id"),
        None,
        [Step("Customer.workgroup", "Workgroup")],
    ),
    "overview.packages": (
        "overview { packages { packageId } }",
        ("overview", "packages", "packageId"),
        None,
        [Step("Customer.overview"), Step("CustomerOverview.packages", "Package")],
    ),
}

# How a path reaches customers: (query around the selection, keys to the customers, steps).
CUSTOMER_REACHES: dict[str, tuple[str, tuple, Callable[[str], list[Step]], Callable]] = {
    "customer(id:)": (
        "query($id: ID!) {{ customer(id: $id) {{ id {selection} }} }}",
        ("customer",),
        lambda side: [Step("Query.customer", "Customer", named(f"{side.lower()}0"))],
        first_customer,
    ),
    "node(id:)...fragment": (
        "query($id: ID!) {{ node(id: $id) {{ ...Selection }} }}"
        " fragment Selection on Customer {{ id {selection} }}",
        ("node",),
        lambda side: [Step("Query.node", "Customer", named(f"{side.lower()}0"))],
        first_customer,
    ),
    "customers(workgroupId:)": (
        "query($workgroupId: ID) {{ customers(workgroupId: $workgroupId, status: null) {{"
        " edges {{ node {{ id {selection} }} }} }} }}",
        ("customers", *CONNECTION),
        lambda side: [Step("Query.customers", "Customer", in_side(side))],
        workgroup_of,
    ),
}


def _customer_path(reach: str, selection: str) -> Path:
    around, at, reach_steps, variables = CUSTOMER_REACHES[reach]
    text, leaves, totals, steps = CUSTOMER_SELECTIONS[selection]
    return Path(
        f"{reach} {{ {selection} }}",
        around.format(selection=text),
        (*at, *leaves),
        lambda side: [*reach_steps(side), *steps],
        variables,
        (*at, *totals) if totals else None,
    )


def _workgroup_path(name: str, selection: str, leaves: tuple, steps: list[Step], totals=None):
    return [
        Path(
            f"workgroup(id:) {{ {name} }}",
            f"query($workgroupId: ID!) {{ workgroup(id: $workgroupId) {{ {selection} }} }}",
            ("workgroup", *leaves),
            lambda side: [Step("Query.workgroup", "Workgroup", named(side)), *steps],
            workgroup_of,
            ("workgroup", *totals) if totals else None,
        ),
        Path(
            f"node(id:) {{ ... on Workgroup {{ {name} }} }}",
            f"query($workgroupId: ID!) {{ node(id: $workgroupId) {{"
            f" ... on Workgroup {{ {selection} }} }} }}",
            ("node", *leaves),
            lambda side: [Step("Query.node", "Workgroup", named(side)), *steps],
            workgroup_of,
            ("node", *totals) if totals else None,
        ),
    ]


def _root(name, query, leaves, steps, totals=None) -> Path:
    return Path(name, query, leaves, lambda side: steps, totals=totals, sided=False)


PAGE = "totalCount edges { node { id } }"
PATHS: list[Path] = [
    # ---------------------------------------------------------------- customers and workgroups
    _root(
        "customers",
        f"query {{ customers {{ {PAGE} }} }}",
        ("customers", *CONNECTION, "id"),
        [Step("Query.customers", "Customer", active)],
        ("customers", "totalCount"),
    ),
    _root(
        "customers(status: ARCHIVED)",
        f"query {{ customers(status: ARCHIVED) {{ {PAGE} }} }}",
        ("customers", *CONNECTION, "id"),
        [Step("Query.customers", "Customer", lambda row: row.archived)],
        ("customers", "totalCount"),
    ),
    Path(
        "customers(workgroupId:, status: null)",
        "query($workgroupId: ID) { customers(workgroupId: $workgroupId, status: null) {"
        f" {PAGE} }} }}",
        ("customers", *CONNECTION, "id"),
        lambda side: [Step("Query.customers", "Customer", in_side(side))],
        workgroup_of,
        ("customers", "totalCount"),
    ),
    Path(
        "customers(projectId:)",
        f"query($projectId: ID) {{ customers(projectId: $projectId) {{ {PAGE} }} }}",
        ("customers", *CONNECTION, "id"),
        lambda side: [
            Step(
                "Query.customers",
                "Project",
                named(f"{side.lower()}.project"),
                reveals=("Customer", "Customer.projects"),
            ),
            Step(None, "Customer"),
        ],
        lambda scene, side: {"projectId": scene.gid(f"{side.lower()}.project")},
        ("customers", "totalCount"),
    ),
    _root(
        'customers(search: "example")',
        f'query {{ customers(search: "example") {{ {PAGE} }} }}',
        ("customers", *CONNECTION, "id"),
        # every domain ends in ".example" and no company name has it: it matches domains only
        [Step("Query.customers", "Customer", active, matches="Customer.primaryDomain")],
        ("customers", "totalCount"),
    ),
    _root(
        'customers(tag: "gold")',
        f'query {{ customers(tag: "gold") {{ {PAGE} }} }}',
        ("customers", *CONNECTION, "id"),
        [
            Step(
                "Query.customers",
                "Customer",
                lambda row: active(row) and "gold" in CUSTOMERS[row.name][6],
                reveals=("Customer", "Customer.tags"),
            )
        ],
        ("customers", "totalCount"),
    ),
    _root(
        "customers(sort: LOCATION_ASC)",
        f"query {{ customers(sort: LOCATION_ASC) {{ {PAGE} }} }}",
        ("customers", *CONNECTION, "id"),
        [
            Step(
                "Query.customers",
                "Customer",
                active,
                reveals=("Customer", "Customer.primaryLocation"),
            )
        ],
        ("customers", "totalCount"),
    ),
    _root(
        "workgroups",
        f"query {{ workgroups {{ {PAGE} }} }}",
        ("workgroups", *CONNECTION, "id"),
        [Step("Query.workgroups", "Workgroup")],
        ("workgroups", "totalCount"),
    ),
    _root(
        "workgroups { customers }",
        f"query {{ workgroups {{ edges {{ node {{ customers(status: null) {{ {PAGE} }} }} }} }} }}",
        ("workgroups", *CONNECTION, "customers", *CONNECTION, "id"),
        [Step("Query.workgroups", "Workgroup"), Step("Workgroup.customers", "Customer")],
        ("workgroups", *CONNECTION, "customers", "totalCount"),
    ),
    *_workgroup_path(
        "customers",
        f"customers(status: null) {{ {PAGE} }}",
        ("customers", *CONNECTION, "id"),
        [Step("Workgroup.customers", "Customer")],
        ("customers", "totalCount"),
    ),
    *_workgroup_path(
        'customers(tag: "gold")',
        f'customers(tag: "gold") {{ {PAGE} }}',
        ("customers", *CONNECTION, "id"),
        [
            Step(
                "Workgroup.customers",
                "Customer",
                lambda row: active(row) and "gold" in CUSTOMERS[row.name][6],
                reveals=("Customer", "Customer.tags"),
            )
        ],
        ("customers", "totalCount"),
    ),
    *_workgroup_path(
        "groups", "groups { id }", ("groups", "id"), [Step("Workgroup.groups", "Group")]
    ),
    *_workgroup_path(
        "projects", "projects { id }", ("projects", "id"), [Step("Workgroup.projects", "Project")]
    ),
    *_workgroup_path(
        "agreements",
        f"agreements {{ {PAGE} }}",
        ("agreements", *CONNECTION, "id"),
        [Step("Workgroup.agreements", "Agreement")],
        ("agreements", "totalCount"),
    ),
    # ---------------------------------------------------------------- agreements
    _root(
        "agreements",
        f"query {{ agreements {{ {PAGE} }} }}",
        ("agreements", *CONNECTION, "id"),
        [Step("Query.agreements", "Agreement")],
        ("agreements", "totalCount"),
    ),
    Path(
        "agreements(workgroupIds:)",
        f"query($workgroupId: ID!) {{ agreements(workgroupIds: [$workgroupId]) {{ {PAGE} }} }}",
        ("agreements", *CONNECTION, "id"),
        lambda side: [Step("Query.agreements", "Agreement", in_side(side))],
        workgroup_of,
        ("agreements", "totalCount"),
    ),
    Path(
        "agreements(customerId:)",
        f"query($id: ID) {{ agreements(customerId: $id) {{ {PAGE} }} }}",
        ("agreements", *CONNECTION, "id"),
        lambda side: [
            Step("Query.agreements", "Agreement", lambda row: row.parent == f"{side.lower()}0")
        ],
        first_customer,
        ("agreements", "totalCount"),
    ),
    _root(
        "agreements { customer }",
        "query { agreements { edges { node { customer { id } } } } }",
        ("agreements", *CONNECTION, "customer", "id"),
        [Step("Query.agreements", "Agreement"), Step("Agreement.customer", "Customer")],
    ),
    _root(
        "agreements { workgroup }",
        "query { agreements { edges { node { workgroup { id } } } } }",
        ("agreements", *CONNECTION, "workgroup", "id"),
        [Step("Query.agreements", "Agreement"), Step("Agreement.workgroup", "Workgroup")],
    ),
    _root(
        "agreements { packages { serviceAmounts { consumption } } }",
        "query { agreements { edges { node { packages { serviceAmounts {"
        " consumption { totalCount edges { node { id } } } } } } } } }",
        ("agreements", *CONNECTION, "packages", "serviceAmounts", "consumption", *CONNECTION, "id"),
        [
            Step("Query.agreements", "Agreement"),
            Step("Agreement.packages", "Package"),
            Step("Package.serviceAmounts", "ServiceAmount"),
            Step("ServiceAmount.consumption", "ConsumptionRecord"),
        ],
        ("agreements", *CONNECTION, "packages", "serviceAmounts", "consumption", "totalCount"),
    ),
    _root(
        "customerActivity { agreements }",
        "query { customerActivity { agreements { id } } }",
        ("customerActivity", "agreements", "id"),
        [
            Step("Query.customerActivity"),
            Step("CustomerActivity.agreements", "Agreement"),
        ],
    ),
    Path(
        "customerActivity(workgroupIds:) { agreements }",
        "query($workgroupId: ID!) { customerActivity(workgroupIds: [$workgroupId]) {"
        " agreements { id } } }",
        ("customerActivity", "agreements", "id"),
        lambda side: [
            Step("Query.customerActivity"),
            Step("CustomerActivity.agreements", "Agreement", in_side(side)),
        ],
        workgroup_of,
    ),
    *[
        _root(
            f"customerActivity {{ drillDown({category}) {{ records }} }}",
            f"query {{ customerActivity {{ drillDown(category: {category}) {{"
            f" records {{ {PAGE} }} }} }} }}",
            ("customerActivity", "drillDown", "records", *CONNECTION, "id"),
            [
                Step("Query.customerActivity"),
                Step("CustomerActivity.drillDown"),
                Step("DrillDown.records", "ConsumptionRecord", of_category(category)),
            ],
            ("customerActivity", "drillDown", "records", "totalCount"),
        )
        for category in (REACTIVE.value, EDUCATION.value)
    ],
    _root(
        "customerActivity { drillDown(ADDITIONAL_CASES) { additionalCases { case } } }",
        "query { customerActivity { drillDown(category: ADDITIONAL_CASES) {"
        " additionalCases { totalCount edges { node { reason case { id } } } } } } }",
        ("customerActivity", "drillDown", "additionalCases", *CONNECTION, "case", "id"),
        [
            Step("Query.customerActivity"),
            Step("CustomerActivity.drillDown"),
            Step(
                "DrillDown.additionalCases",
                "SupportCase",
                lambda row: CASES[row.name].reason is not None,
            ),
        ],
        ("customerActivity", "drillDown", "additionalCases", "totalCount"),
    ),
    # ---------------------------------------------------------------- support cases
    _root(
        "supportCases",
        f"query {{ supportCases {{ {PAGE} }} }}",
        ("supportCases", *CONNECTION, "id"),
        [Step("Query.supportCases", "SupportCase")],
        ("supportCases", "totalCount"),
    ),
    _root(
        "supportCases(status: OPEN)",
        f"query {{ supportCases(status: OPEN) {{ {PAGE} }} }}",
        ("supportCases", *CONNECTION, "id"),
        [Step("Query.supportCases", "SupportCase", lambda row: not CASES[row.name].closed)],
        ("supportCases", "totalCount"),
    ),
    Path(
        "supportCases(workgroupId:)",
        f"query($workgroupId: ID) {{ supportCases(workgroupId: $workgroupId) {{ {PAGE} }} }}",
        ("supportCases", *CONNECTION, "id"),
        lambda side: [Step("Query.supportCases", "SupportCase", in_side(side))],
        workgroup_of,
        ("supportCases", "totalCount"),
    ),
    _root(
        'supportCases(search: "outage")',
        f'query {{ supportCases(search: "outage") {{ {PAGE} }} }}',
        ("supportCases", *CONNECTION, "id"),
        [Step("Query.supportCases", "SupportCase", lambda row: "outage" in row.label.lower())],
        ("supportCases", "totalCount"),
    ),
    _root(
        "supportCases { customer }",
        "query { supportCases { edges { node { customer { id } } } } }",
        ("supportCases", *CONNECTION, "customer", "id"),
        [Step("Query.supportCases", "SupportCase"), Step("SupportCase.customer", "Customer")],
    ),
    _root(
        "supportCases { agreement }",
        "query { supportCases { edges { node { agreement { id } } } } }",
        ("supportCases", *CONNECTION, "agreement", "id"),
        [Step("Query.supportCases", "SupportCase"), Step("SupportCase.agreement", "Agreement")],
    ),
    # ---------------------------------------------------------------- the log, roles
    _root(
        "activity",
        "query { activity(first: 1000) { totalCount edges { node { id } } } }",
        ("activity", *CONNECTION, "id"),
        [Step("Query.activity", "ActivityRecord")],
        ("activity", "totalCount"),
    ),
    Path(
        "activity(workgroupId:)",
        "query($workgroupId: ID) { activity(workgroupId: $workgroupId, first: 1000) {"
        " totalCount edges { node { id } } } }",
        ("activity", *CONNECTION, "id"),
        lambda side: [Step("Query.activity", "ActivityRecord", in_side(side))],
        workgroup_of,
        ("activity", "totalCount"),
    ),
    _root(
        "activity { workgroup }",
        "query { activity(first: 1000) { edges { node { workgroup { id } } } } }",
        ("activity", *CONNECTION, "workgroup", "id"),
        [Step("Query.activity", "ActivityRecord"), Step("ActivityRecord.workgroup", "Workgroup")],
    ),
    Path(
        "activity(customerId:)",
        "query($id: ID) { activity(customerId: $id, first: 1000) {"
        " totalCount edges { node { id } } } }",
        ("activity", *CONNECTION, "id"),
        lambda side: [
            Step(
                "Query.activity",
                "ActivityRecord",
                lambda row: row.concerns == f"{side.lower()}0",
            )
        ],
        first_customer,
        ("activity", "totalCount"),
    ),
    Path(
        "roleAssignments(workgroupId:)",
        "query($workgroupId: ID!) { roleAssignments(workgroupId: $workgroupId) { id } }",
        ("roleAssignments", "id"),
        lambda side: [Step("Query.roleAssignments", "RoleAssignment", in_side(side))],
        workgroup_of,
    ),
    Path(
        "roleAssignments(workgroupId:) { workgroup }",
        "query($workgroupId: ID!) { roleAssignments(workgroupId: $workgroupId) {"
        " workgroup { id } } }",
        ("roleAssignments", "workgroup", "id"),
        lambda side: [
            Step("Query.roleAssignments", "RoleAssignment", in_side(side)),
            Step("RoleAssignment.workgroup", "Workgroup"),
        ],
        workgroup_of,
    ),
    # ---------------------------------------------------------------- below a customer
    *[
        _customer_path(reach, selection)
        for reach in CUSTOMER_REACHES
        for selection in CUSTOMER_SELECTIONS
    ],
]
PATHS_BY_NAME = {path.name: path for path in PATHS}
assert len(PATHS_BY_NAME) == len(PATHS), "two paths share a name"
PATH_CASES = [
    pytest.param(path.name, side, id=f"{path.name}@{side}")
    for path in PATHS
    for side in (("A", "B") if path.sided else ("-",))
]


def readable_names(scene: Scene, values: list[Any]) -> list[Any]:
    """Global ids in an answer, as the scenario's row names (for failure messages)."""
    return sorted(scene.names.get(v, v) if isinstance(v, str) else v for v in values)


def holds_anywhere(viewer: Viewer, roles: frozenset[str]) -> bool:
    return bool(set(viewer.roles.values()) & roles)


# ------------------------------------------------------------------ every path


@pytest.mark.parametrize(("path_name", "side"), PATH_CASES)
def test_every_path_returns_exactly_the_rows_the_viewers_roles_show(
    scene: Scene, viewer: Viewer, path_name: str, side: str
):
    # Given a viewer, a path to rows of some type (in one workgroup, for paths that name one),
    # and the rows the scenario puts there for this viewer's roles
    path = PATHS_BY_NAME[path_name]
    expected, refused = path.expected(scene, viewer, side)

    # When the viewer follows the path
    body = scene.gql(viewer.email, path.query, path.variables(scene, side))

    # Then exactly those rows come back (nothing of a workgroup or row type their roles there
    # do not grant), the list's totalCount counts exactly them, and each field their role does
    # not grant in the parent row's workgroup is null with FORBIDDEN naming it
    found = walk(body["data"], path.leaves)
    wanted = [scene.key(name) for name in expected]
    assert same_names(found, wanted), (readable_names(scene, found), sorted(expected))
    if path.totals is not None:
        assert sum(walk(body["data"], path.totals)) == len(expected)
    assert forbidden(body) == refused


# ------------------------------------------------------------------ every row by id


ROOT_BY_ID = {
    "Customer": ("customer", "companyName"),
    "Workgroup": ("workgroup", "name"),
    "SupportCase": ("supportCase", "title"),
    "ImportJob": ("importJob", "fileName"),
}
ABSENT_PK = 987_654_321


@pytest.mark.parametrize("row_name", BY_ID_ROWS)
def test_every_row_by_id_is_there_only_when_visible_and_else_like_an_id_of_nothing(
    scene: Scene, viewer: Viewer, row_name: str
):
    # Given a row of the scenario and whether the viewer's roles let them see it
    row = scene.rows[row_name]
    global_id = scene.gid(row_name)
    visible = scene.sees(viewer, row_name)

    # When they ask for its id through node(id:) (inline and named fragments) and every root
    # field that takes an id
    body = scene.gql(viewer.email, BY_ID, {"id": global_id})

    # Then the root field of its type (and node, for Node types) has it when visible, every
    # other field is null, and the only error is importJob's for viewers who may not import
    expected: dict[str, Any] = dict.fromkeys(
        ("node", "named", "customer", "workgroup", "supportCase", "importJob")
    )
    if visible and row.type in NODE_TYPES:
        shown = {"__typename": row.type, "id": global_id, LABEL_FIELDS[row.type]: row.label}
        expected["node"] = expected["named"] = shown
    if visible and row.type in ROOT_BY_ID:
        field_name, label_field = ROOT_BY_ID[row.type]
        expected[field_name] = {"id": global_id, label_field: row.label}
    assert body["data"] == expected
    importers = holds_anywhere(viewer, IMPORTERS)
    assert forbidden(body) == (set() if importers else {"Query.importJob"})

    # and an invisible row answers exactly like an id of its type that names nothing
    if not visible:
        absent = scene.gql(viewer.email, BY_ID, {"id": encode_id(row.type, ABSENT_PK)})
        assert without_request_ids(body) == without_request_ids(absent)


# ------------------------------------------------------------------ me


def test_me_lists_the_viewers_own_roles_and_only_visible_recent_customers(
    scene: Scene, viewer: Viewer
):
    # Given a viewer, who opens every customer of both workgroups by id
    opened = scene.gql(viewer.email, OPEN_CUSTOMERS, {name: scene.gid(name) for name in CUSTOMERS})
    visible = sorted(name for name in CUSTOMERS if scene.sees(viewer, name))

    # When they ask who they are and what they opened lately
    me = scene.gql(viewer.email, ME)
    recent = scene.gql(viewer.email, RECENT)

    # Then only the visible customers opened at all, and only those are remembered; their
    # roles are exactly the ones they hold, each with its workgroup
    assert "errors" not in opened
    assert sorted(k for k, v in opened["data"].items() if v is not None) == visible
    assert "errors" not in me
    assert me["data"]["me"]["email"] == viewer.email
    assert sorted((r["role"], r["workgroup"]["id"]) for r in me["data"]["me"]["roles"]) == sorted(
        (role.upper(), scene.gid(side)) for side, role in viewer.roles.items()
    )
    assert "errors" not in recent
    remembered = [c["id"] for c in recent["data"]["me"]["recentCustomers"]]
    assert sorted(remembered) == sorted(scene.gid(name) for name in visible)


# ------------------------------------------------------------------ fields decided per workgroup


@pytest.mark.parametrize("side", ["A", "B"])
def test_group_members_are_read_only_where_the_viewer_is_admin(
    scene: Scene, viewer: Viewer, side: str
):
    # Given a workgroup's groups (a support viewer of A who is admin of B reads B's members,
    # not A's)
    role = viewer.roles.get(side)
    groups = sorted((g for g in GROUP_MEMBERS if g[0].upper() == side), key=_GROUP_LABELS.get)
    asked = groups[0]

    def group(name: str) -> dict:
        members = [{"email": e} for e in sorted(GROUP_MEMBERS[name])] if role == "admin" else None
        return {"id": scene.gid(name), "name": _GROUP_LABELS[name], "members": members}

    # When the viewer lists them in their workgroup and asks for one by id
    body = scene.gql(
        viewer.email,
        GROUP_MEMBERS_QUERY,
        {"workgroupId": scene.gid(side), "groupId": scene.gid(asked)},
    )

    # Then the groups are there for every role of the workgroup (listed for overseers), with
    # their members only for its admins: null with FORBIDDEN for everyone else
    if role is None:
        assert body["data"] == {"workgroup": None, "node": None}
        assert forbidden(body) == set()
        return
    listed = [group(g) for g in groups] if role in OVERSIGHT else None
    assert body["data"] == {"workgroup": {"groups": listed}, "node": group(asked)}
    refused = set() if role in OVERSIGHT else {"Workgroup.groups"}
    if role != "admin":
        refused.add("Group.members")
    assert forbidden(body) == refused


@pytest.mark.parametrize("side", ["A", "B"])
def test_rank_business_id_and_invitation_errors_are_decided_in_the_customers_workgroup(
    scene: Scene, viewer: Viewer, side: str
):
    # Given the customers of a workgroup (a sales agent of A who is admin of B reads B's rank,
    # business id and invitation errors, not A's)
    role = viewer.roles.get(side)
    first = f"{side.lower()}0"

    def secrets(name: str) -> dict:
        contacts = None
        if role in PARTNER:
            contacts = [
                {
                    "email": email,
                    "invitations": [
                        {
                            "id": scene.gid(f"{contact[0]}.invitation"),
                            "lastError": error if role in PARTNER_EDITORS else None,
                        }
                    ],
                }
                for contact, (owner, _f, _l, email, _j, error) in CONTACTS.items()
                if owner == name
            ]
        _, _, _, rank, business_id, _, _ = CUSTOMERS[name]
        return {
            "id": scene.gid(name),
            "rank": rank if role in INTERNAL else None,
            "businessId": business_id if role in INTERNAL else None,
            "contacts": contacts,
        }

    # When the viewer reads them in the list, by id and through node(id:)
    body = scene.gql(
        viewer.email, CUSTOMER_SECRETS, {"workgroupId": scene.gid(side), "id": scene.gid(first)}
    )

    # Then each value is there where their role there grants it, else null with FORBIDDEN
    data = body["data"]
    if role not in CUSTOMER_ROLES:
        assert data == {"customers": {"edges": []}, "customer": None, "node": None}
        assert forbidden(body) == set()
        return
    listed = sorted((e["node"] for e in data["customers"]["edges"]), key=lambda n: n["id"])
    names = sorted((n for n in CUSTOMERS if CUSTOMERS[n][0] == side), key=scene.gid)
    assert listed == [secrets(n) for n in names]
    assert data["customer"] == data["node"] == secrets(first)
    refused = set()
    if role not in INTERNAL:
        refused |= {"Customer.rank", "Customer.businessId"}
    if role not in PARTNER:
        refused.add("Customer.contacts")
    elif role not in PARTNER_EDITORS:
        refused.add("Invitation.lastError")
    assert forbidden(body) == refused


@pytest.mark.parametrize("case_name", list(CASES))
def test_a_case_shows_its_links_only_as_far_as_the_viewer_may_see_them(
    scene: Scene, viewer: Viewer, case_name: str
):
    # Given a support case, and how the viewer relates to it
    case = CASES[case_name]
    role = viewer.roles.get(case.side)
    visible = scene.sees(viewer, case_name)

    # When they open it with its customer, agreement and who else has access
    body = scene.gql(viewer.email, CASE_LINKS, {"id": scene.gid(case_name)})

    # Then it is there only by the member rule (or for overseers); its customer and agreement
    # only when those rows are visible to them; who else has access only for overseers and
    # its primary contact; group members only for admins
    if not visible:
        assert body == {"data": {"supportCase": None}}
        return
    oversees = role in OVERSIGHT or viewer.email == case.contact
    linked = case.agreement[0] if case.agreement else None
    groups = sorted(case.groups, key=_GROUP_LABELS.get)
    members = {
        g: [{"email": e} for e in sorted(GROUP_MEMBERS[g])] if role == "admin" else None
        for g in groups
    }
    assert body["data"]["supportCase"] == {
        "id": scene.gid(case_name),
        "customer": {"id": scene.gid(case.customer)} if scene.sees(viewer, case.customer) else None,
        "agreement": {"id": scene.gid(linked)} if linked and scene.sees(viewer, linked) else None,
        "primaryContact": {"email": case.contact},
        "sharedWith": [{"email": e} for e in sorted(case.shares)] if oversees else None,
        "groupsWithAccess": [{"id": scene.gid(g), "members": members[g]} for g in groups]
        if oversees
        else None,
    }
    refused = set()
    if not oversees:
        refused |= {"SupportCase.sharedWith", "SupportCase.groupsWithAccess"}
    elif groups and role != "admin":
        refused.add("Group.members")
    assert forbidden(body) == refused


def error_paths(body: dict) -> dict[tuple, str]:
    """Path of each error -> the coordinate it names."""
    return {tuple(e["path"]): e["extensions"]["coordinate"] for e in body.get("errors", [])}


def test_one_answer_decides_each_row_in_its_own_workgroup(scene: Scene, viewer: Viewer):
    # Given the customers and groups of both workgroups in one answer (a viewer whose roles
    # differ between the workgroups reads rank, business id and group members only where
    # their role grants them)
    # When the viewer lists them all at once
    body = scene.gql(viewer.email, BOTH_WORKGROUPS)

    # Then each row shows the values its own workgroup's role grants, and each refused value
    # has its FORBIDDEN error at exactly its path
    data, refused = body["data"], {}
    assert sorted(e["node"]["id"] for e in data["customers"]["edges"]) == sorted(
        scene.gid(n) for n in CUSTOMERS if scene.sees(viewer, n)
    )
    assert sorted(scene.names[e["node"]["id"]] for e in data["workgroups"]["edges"]) == sorted(
        viewer.roles
    )
    for i, edge in enumerate(data["customers"]["edges"]):
        node, name = edge["node"], scene.names[edge["node"]["id"]]
        role = viewer.roles[CUSTOMERS[name][0]]
        _, _, _, rank, business_id, _, _ = CUSTOMERS[name]
        shown = role in INTERNAL
        assert (node["rank"], node["businessId"]) == (
            (rank, business_id) if shown else (None, None)
        )
        if not shown:
            refused[("customers", "edges", i, "node", "rank")] = "Customer.rank"
            refused[("customers", "edges", i, "node", "businessId")] = "Customer.businessId"
    for w, edge in enumerate(data["workgroups"]["edges"]):
        side = scene.names[edge["node"]["id"]]
        role = viewer.roles[side]
        groups = edge["node"]["groups"]
        if role not in OVERSIGHT:
            assert groups is None
            refused[("workgroups", "edges", w, "node", "groups")] = "Workgroup.groups"
            continue
        names = sorted((g for g in GROUP_MEMBERS if g[0].upper() == side), key=_GROUP_LABELS.get)
        assert [g["id"] for g in groups] == [scene.gid(g) for g in names]
        for g, (group, name) in enumerate(zip(groups, names, strict=True)):
            if role == "admin":
                assert group["members"] == [{"email": e} for e in sorted(GROUP_MEMBERS[name])]
            else:
                assert group["members"] is None
                path = ("workgroups", "edges", w, "node", "groups", g, "members")
                refused[path] = "Group.members"
    assert error_paths(body) == refused
    assert forbidden(body) == set(refused.values())


@pytest.mark.parametrize("side", ["A", "B"])
def test_a_workgroup_the_viewer_holds_no_role_in_answers_like_one_that_does_not_exist(
    scene: Scene, viewer: Viewer, side: str
):
    # Given a workgroup, by id
    role = viewer.roles.get(side)
    absent = encode_id("Workgroup", ABSENT_PK)

    # When the viewer passes its id to every argument that takes a workgroup
    body = scene.gql(viewer.email, WORKGROUP_ARGUMENTS, {"workgroupId": scene.gid(side)})
    explained = scene.gql(viewer.email, EXPLAIN, {"workgroupId": scene.gid(side)})

    # Then, where they hold no role, every answer is exactly that for a workgroup that does
    # not exist; where they do, rank is theirs to read exactly when their role there grants it
    # and only an admin there is told what the policy decides for another user
    if role is None:
        missing = scene.gql(viewer.email, WORKGROUP_ARGUMENTS, {"workgroupId": absent})
        assert without_request_ids(body) == without_request_ids(missing)
        assert body["data"]["workgroup"] is None
        assert body["data"]["customers"] == {"totalCount": 0, "edges": []}
        assert body["data"]["supportCases"] == {"totalCount": 0, "edges": []}
        assert body["data"]["roleAssignments"] == []
        assert body["data"]["me"] == {"permissions": [], "can": False}
        missing = scene.gql(viewer.email, EXPLAIN, {"workgroupId": absent})
        assert without_request_ids(explained) == without_request_ids(missing)
        assert explained["data"] == {"explainAccess": None}
        return
    assert "errors" not in body
    assert body["data"]["workgroup"] == {"id": scene.gid(side)}
    assert body["data"]["me"]["can"] is (role in INTERNAL)
    assert ("Customer.rank" in body["data"]["me"]["permissions"]) is (role in INTERNAL)
    if role == "admin":
        sales_role = VIEWERS["sales_agent_a+admin_b"].roles[side]
        assert explained == {"data": {"explainAccess": {"allowed": sales_role in INTERNAL}}}
    else:
        assert explained["data"] == {"explainAccess": None}
        assert [e["extensions"]["code"] for e in explained["errors"]] == ["FORBIDDEN"]


# ------------------------------------------------------------------ counts and totals


@pytest.mark.parametrize("customer", ["a0", "a1", "b0"])
def test_overview_numbers_count_only_visible_rows(scene: Scene, viewer: Viewer, customer: str):
    # Given a customer and the rows around it the viewer may see
    role = viewer.roles.get(CUSTOMERS[customer][0])

    def visible(type_: str) -> list[str]:
        return [n for n in scene.children(customer, type_) if scene.sees(viewer, n)]

    # When they read its overview
    body = scene.gql(viewer.email, OVERVIEW, {"id": scene.gid(customer)})

    # Then each number counts exactly the visible rows, and the numbers their role there does
    # not grant are null with FORBIDDEN
    if not scene.sees(viewer, customer):
        assert body == {"data": {"customer": None}}
        return
    used: dict[str, float] = {}
    for record in visible("ConsumptionRecord"):
        row = scene.rows[record]
        used[row.category] = used.get(row.category, 0.0) + row.quantity  # type: ignore[index]
    open_cases = [c for c in visible("SupportCase") if not CASES[c].closed]
    reads_agreements = role in AGREEMENT_READERS
    expected = {
        "contactCount": len(visible("Contact")) if role in PARTNER else None,
        "openCaseCount": len(open_cases),
        "activeAgreementCount": len(visible("Agreement")) if reads_agreements else None,
        "topServices": used if reads_agreements else None,
    }
    overview = body["data"]["customer"]["overview"]
    top = overview["topServices"]
    overview["topServices"] = None if top is None else {t["category"]: t["used"] for t in top}
    assert overview == expected
    refused = set()
    if role not in PARTNER:
        refused.add("CustomerOverview.contactCount")
    if not reads_agreements:
        refused |= {"CustomerOverview.activeAgreementCount", "CustomerOverview.topServices"}
    assert forbidden(body) == refused


def category_totals(
    scene: Scene, viewer: Viewer, category: str, *, enterprise: bool = False
) -> dict | None:
    """Purchased, used and available of the visible lines of a category (over the visible
    records), as the scenario has them; None when the viewer sees no such line."""
    lines = [
        n
        for n in scene.of_type("ServiceAmount")
        if scene.rows[n].category == category
        and scene.sees(viewer, n)
        and (not enterprise or scene.rows[scene.rows[n].parent].kind == "ENTERPRISE")  # type: ignore[index]
    ]
    if not lines:
        return None
    purchased = sum(scene.rows[n].quantity for n in lines)
    used = sum(
        scene.rows[r].quantity
        for r in scene.of_type("ConsumptionRecord")
        if scene.rows[r].parent in lines and scene.sees(viewer, r)
    )
    return {
        "purchased": float(purchased),
        "used": float(used),
        "available": float(purchased - used),
    }


@pytest.mark.parametrize("category", [REACTIVE.value, EDUCATION.value])
def test_drill_down_and_enterprise_totals_sum_only_visible_lines(
    scene: Scene, viewer: Viewer, category: str
):
    # Given a category (a customer_activity holder of A who is training manager of B sums A's
    # lines of every category, and B's education lines only)
    # When the viewer reads the dashboard's totals
    body = scene.gql(viewer.email, DRILL_DOWN_TOTALS, {"category": category})

    # Then purchased, used and available add up exactly the lines and records they may see
    if not holds_anywhere(viewer, AGREEMENT_READERS):
        assert body["data"] == {"customerActivity": None}
        assert forbidden(body) == {"Query.customerActivity"}
        return
    assert forbidden(body) == set()
    activity = body["data"]["customerActivity"]
    drill = category_totals(scene, viewer, category)
    assert activity["drillDown"] == (drill or dict.fromkeys(("purchased", "used", "available")))
    enterprise = {
        c: totals
        for c in (REACTIVE.value, EDUCATION.value)
        if (totals := category_totals(scene, viewer, c, enterprise=True)) is not None
    }
    assert {
        t["category"]: {k: t[k] for k in ("purchased", "used", "available")}
        for t in activity["enterprise"]
    } == enterprise


@pytest.mark.parametrize("side", ["A", "B"])
def test_add_on_packages_of_an_invisible_agreement_answer_like_a_missing_one(
    scene: Scene, viewer: Viewer, side: str
):
    # Given a workgroup's agreement (A's has an add-on package, B's none)
    agreement_name = f"{side.lower()}.agreement"

    # When the viewer asks for its add-on packages
    body = scene.gql(viewer.email, ADD_ON_PACKAGES, {"agreementId": scene.gid(agreement_name)})

    # Then they get them if they see the agreement; otherwise the answer is exactly that for
    # an agreement that does not exist
    if not holds_anywhere(viewer, AGREEMENT_READERS):
        assert body["data"] == {"customerActivity": None}
        assert forbidden(body) == {"Query.customerActivity"}
        return
    if scene.sees(viewer, agreement_name):
        add_ons = [
            {"id": scene.gid(p), "name": scene.rows[p].label}
            for p in scene.children(agreement_name, "Package")
            if scene.rows[p].kind == "ADD_ON"
        ]
        assert body == {"data": {"customerActivity": {"addOnPackages": add_ons}}}
        return
    absent = scene.gql(
        viewer.email, ADD_ON_PACKAGES, {"agreementId": encode_id("Agreement", ABSENT_PK)}
    )
    assert body["data"] == {"customerActivity": None}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    assert without_request_ids(body) == without_request_ids(absent)


# ------------------------------------------------------------------ exports


def download(scene: Scene, http: TestClient, email: str, export: str, side: str):
    return http.get(
        f"/exports/{export}.csv",
        params={"workgroupId": scene.gid(side)},
        headers={"Authorization": f"Bearer {token_for(email, scene.settings)}"},
    )


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def record_target(record: Record) -> str:
    if record.target_pk is None:
        return ""
    return encode_id(record.target_type, record.target_pk)


EXPORTERS = {
    "customers": CUSTOMER_EXPORTERS,
    "activity": LOG_READERS,
    "education": EDUCATION_EXPORTERS,
}


@pytest.mark.parametrize("side", ["A", "B"])
@pytest.mark.parametrize("export", list(EXPORTERS))
def test_csv_exports_hold_only_visible_rows(scene: Scene, viewer: Viewer, export: str, side: str):
    # Given a workgroup and one of its CSV exports
    role = viewer.roles.get(side)

    # When the viewer downloads it
    response = download(scene, scene.http, viewer.email, export, side)

    # Then a workgroup they hold no role in is not found, an export their role there does not
    # grant is forbidden, and otherwise it holds exactly the rows they may see there
    if role is None:
        assert response.status_code == 404
        assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        return
    if role not in EXPORTERS[export]:
        assert response.status_code == 403
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        return
    assert response.status_code == 200, response.text
    rows = csv_rows(response.text)
    if export == "customers":
        expected = [
            scene.gid(n) for n in CUSTOMERS if CUSTOMERS[n][0] == side and scene.sees(viewer, n)
        ]
        assert sorted(r["id"] for r in rows) == sorted(expected)
        assert "rank" not in rows[0] and "business id" not in rows[0]
    elif export == "education":
        expected = [
            n
            for n in scene.of_type("ConsumptionRecord")
            if scene.rows[n].side == side
            and scene.rows[n].category == EDUCATION.value
            and scene.sees(viewer, n)
        ]
        assert sorted(r["description"] for r in rows) == sorted(expected)
    else:
        expected_records = [
            r
            for r in scene.records
            if r.side == side and scene.sees(viewer, scene.names[encode_id("ActivityRecord", r.pk)])
        ]
        assert sorted((r["action"], r["target_id"]) for r in rows) == sorted(
            (r.action, record_target(r)) for r in expected_records
        )
    other = "B" if side == "A" else "A"
    assert WORKGROUP_NAMES[other] not in response.text


@pytest.mark.parametrize("agreement_side", ["A", "B"])
@pytest.mark.parametrize("side", ["A", "B"])
def test_the_education_export_of_one_agreement_holds_only_its_visible_lines(
    scene: Scene, viewer: Viewer, side: str, agreement_side: str
):
    # Given a workgroup's education export narrowed to one agreement (of that workgroup, or of
    # the other)
    role = viewer.roles.get(side)
    agreement_name = f"{agreement_side.lower()}.agreement"

    # When the viewer downloads it
    response = scene.http.get(
        "/exports/education.csv",
        params={"workgroupId": scene.gid(side), "agreementId": scene.gid(agreement_name)},
        headers={"Authorization": f"Bearer {token_for(viewer.email, scene.settings)}"},
    )

    # Then it is not found for a workgroup without a role or another workgroup's agreement,
    # forbidden to roles without the export, and otherwise lists the agreement's visible
    # education records
    if role is not None and role not in EDUCATION_EXPORTERS:
        assert response.status_code == 403
        return
    if role is None or agreement_side != side:
        assert response.status_code == 404
        assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        return
    assert response.status_code == 200, response.text
    expected = [
        n
        for n in scene.children(agreement_name, "ConsumptionRecord")
        if scene.rows[n].category == EDUCATION.value and scene.sees(viewer, n)
    ]
    assert expected
    assert sorted(r["description"] for r in csv_rows(response.text)) == sorted(expected)


# ------------------------------------------------------------------ the activity log


def test_admin_agents_log_leaves_out_roles_group_members_and_cases_it_does_not_reach(scene: Scene):
    # Given A's log: role grants and revocations, group memberships and the records of cases
    # the admin agent does not reach by the member rule are in it, besides what it may see
    agent = VIEWERS["admin_agent_a"]
    log = [r for r in scene.records if r.side == "A"]
    a5 = decode_pk(scene.gid("A5"), "SupportCase")
    hidden = {
        encode_id("ActivityRecord", r.pk)
        for r in log
        if r.action.startswith(("role.", "group.member."))
        or (r.action.startswith("case.") and r.target_pk != a5)
    }
    actions_hidden = {scene.rows[scene.names[h]].action for h in hidden}
    assert {"role.grant", "role.revoke", "group.member.add", "case.open", "case.share"} <= (
        actions_hidden
    )
    assert {"case.group_access.grant", "case.close"} <= actions_hidden

    # When the agent reads A's log, the feeds of A's customers and the log's CSV export
    listed = scene.gql(
        agent.email, PATHS_BY_NAME["activity(workgroupId:)"].query, {"workgroupId": scene.gid("A")}
    )
    feeds = [
        scene.gql(agent.email, PATHS_BY_NAME["customer(id:) { feed }"].query, {"id": scene.gid(c)})
        for c in ("a0", "a1", "a2")
    ]
    exported = csv_rows(download(scene, scene.http, agent.email, "activity", "A").text)

    # Then none of those records is anywhere; the rest of A's log is (its customer update and
    # the case it opened itself among them), in the list, its count and the export alike
    seen = set(walk(listed["data"], ("activity", *CONNECTION, "id")))
    assert seen == {encode_id("ActivityRecord", r.pk) for r in log} - hidden
    assert listed["data"]["activity"]["totalCount"] == len(log) - len(hidden)
    assert {scene.gid("a.log.rank"), scene.gid("a.log.open_A5")} <= seen
    in_feeds = {
        i for feed in feeds for i in walk(feed["data"], ("customer", "feed", *CONNECTION, "id"))
    }
    assert in_feeds and not in_feeds & hidden
    assert (
        in_feeds
        == {encode_id("ActivityRecord", r.pk) for r in log if r.customer in ("a0", "a1", "a2")}
        - hidden
    )
    assert len(exported) == len(seen)
    assert not {row["action"] for row in exported} & {
        "role.grant",
        "role.revoke",
        "group.member.add",
    }
    assert {row["target_id"] for row in exported if row["action"].startswith("case.")} == {
        scene.gid("A5")
    }


SALES_READ_THE_LOG = "g, sales_agent, activity_log_reading, *"


@pytest.fixture(scope="module")
def sales_read_the_log(scene: Scene, engine: Engine, tmp_path_factory) -> Iterator[TestClient]:
    """An app over the same scene whose policy also lets sales agents read the log. The
    shipped policy gives the log only to admins and admin agents, who may both read
    Customer.rank; this is the policy under which a log reader may not, so that the masking of
    recorded values can be seen at work."""
    policy = tmp_path_factory.mktemp("policy") / "policy.csv"
    policy.write_text(POLICY_PATH.read_text() + f"\n{SALES_READ_THE_LOG}\n")
    app = create_app(
        scene.settings, engine=engine, authorizer=Authorizer.from_files(MODEL_PATH, policy)
    )
    with TestClient(app) as http:
        yield http


# (viewer, policy, workgroup of the customer.update changing rank, whether it is masked)
MASKING = [
    ("admin_a", "shipped", "A", False),
    ("admin_agent_a", "shipped", "A", False),
    ("support_viewer_a+admin_b", "shipped", "B", False),
    ("sales_agent_a+admin_b", "sales read the log", "A", True),
    ("sales_agent_a+admin_b", "sales read the log", "B", False),
]


@pytest.mark.parametrize(("viewer_name", "policy", "side", "masked"), MASKING)
def test_a_rank_change_in_the_log_shows_rank_only_to_who_may_read_it_there(
    scene: Scene, sales_read_the_log: TestClient, viewer_name, policy, side, masked
):
    # Given a customer.update record changing rank (and city), and a reader of the log of its
    # workgroup who may, or may not, read Customer.rank there
    viewer = VIEWERS[viewer_name]
    http = scene.http if policy == "shipped" else sales_read_the_log
    gql = GraphQLClient(http, scene.settings)
    customer = f"{side.lower()}0"
    record = scene.gid(f"{side.lower()}.log.rank")
    before, after = RANK_CHANGES[customer]
    if masked:
        before, after = {**before, "rank": None}, {**after, "rank": None}

    # When they read it by id, in the workgroup's log, in the customer's feed and in the export
    by_id = gql(viewer.email, RECORD_VALUES, {"id": record})
    logged = gql(
        viewer.email,
        LOG_VALUES,
        {"workgroupId": scene.gid(side), "customerId": scene.gid(customer)},
    )
    exported = csv_rows(download(scene, http, viewer.email, "activity", side).text)

    # Then rank is its value for those who may read it, and null with one FORBIDDEN error
    # naming Customer.rank for the others, while city is there for both
    assert by_id["data"]["node"] == {
        "id": record,
        "action": "customer.update",
        "before": before,
        "after": after,
    }
    in_log = [n for n in walk(logged["data"], ("activity", *CONNECTION)) if n["id"] == record]
    in_feed = [
        n for n in walk(logged["data"], ("customer", "feed", *CONNECTION)) if n["id"] == record
    ]
    assert [(n["before"], n["after"]) for n in in_log + in_feed] == [(before, after)] * 2
    row = next(
        r
        for r in exported
        if r["action"] == "customer.update" and r["target_id"] == scene.gid(customer)
    )
    assert (json.loads(row["before"]), json.loads(row["after"])) == (before, after)
    if masked:
        (error,) = by_id["errors"]
        assert error["extensions"]["code"] == "FORBIDDEN"
        assert error["extensions"]["coordinate"] == "Customer.rank"
        assert error["extensions"]["occurrences"] == 2
        assert error["path"][0] == "node"
        # (in the log, the business ids of the customers added are masked the same way)
        assert forbidden(logged) == {"Customer.rank", "Customer.businessId"}
    else:
        assert "errors" not in by_id
        assert "errors" not in logged


def test_a_log_reader_without_case_oversight_or_role_administration_sees_only_its_subjects(
    scene: Scene, sales_read_the_log: TestClient
):
    # Given a policy that also gives sales agents the log, and the sales agent of A (admin of
    # B), who sees no case of A, no role assignment and no group member there
    viewer = VIEWERS["sales_agent_a+admin_b"]
    readers = LOG_READERS | {"sales_agent"}
    gql = GraphQLClient(sales_read_the_log, scene.settings)
    log = {name: row for name, row in scene.rows.items() if row.type == "ActivityRecord"}
    expected = {
        side: {
            scene.gid(n)
            for n, row in log.items()
            if row.side == side and scene.sees_record(viewer, row, readers)
        }
        for side in ("A", "B")
    }
    hidden_actions = {log[n].action for n in log if log[n].side == "A"} - {
        log[scene.names[i]].action for i in expected["A"]
    }
    assert {"role.grant", "group.member.add", "case.open", "case.share"} <= hidden_actions

    for side in ("A", "B"):
        # When they read each workgroup's log, its first customer's feed and the export
        listed = gql(
            viewer.email, PATHS_BY_NAME["activity(workgroupId:)"].query, workgroup_of(scene, side)
        )
        feed = gql(
            viewer.email, PATHS_BY_NAME["customer(id:) { feed }"].query, first_customer(scene, side)
        )
        exported = csv_rows(
            download(scene, sales_read_the_log, viewer.email, "activity", side).text
        )

        # Then they get exactly the records about what they may see there, everywhere
        assert set(walk(listed["data"], ("activity", *CONNECTION, "id"))) == expected[side]
        assert listed["data"]["activity"]["totalCount"] == len(expected[side])
        assert set(walk(feed["data"], ("customer", "feed", *CONNECTION, "id"))) == {
            i for i in expected[side] if log[scene.names[i]].concerns == f"{side.lower()}0"
        }
        assert len(exported) == len(expected[side])
        assert sorted(r["action"] for r in exported) == sorted(
            log[scene.names[i]].action for i in expected[side]
        )


def test_without_the_log_the_rank_change_is_nowhere(scene: Scene):
    # Given the sales agent of A (admin of B) under the shipped policy, which gives them no log
    # of A
    viewer = VIEWERS["sales_agent_a+admin_b"]

    # When they ask for A's rank change by id, in A's log and in the customer's feed
    by_id = scene.gql(viewer.email, RECORD_VALUES, {"id": scene.gid("a.log.rank")})
    logged = scene.gql(
        viewer.email, LOG_VALUES, {"workgroupId": scene.gid("A"), "customerId": scene.gid("a0")}
    )

    # Then it is nowhere: null by id, an empty log, the feed refused
    assert by_id == {"data": {"node": None}}
    assert logged["data"]["activity"] == {"edges": []}
    assert logged["data"]["customer"] == {"feed": None}
    assert forbidden(logged) == {"Customer.feed"}


# ------------------------------------------------------------------ spot checks


# (viewer, path, workgroup, the rows by name): what the brief says, written out by hand, so that
# the derivation above cannot drift along with the API.
SPOT_CHECKS = [
    ("member_a", "supportCases", "-", {"A1", "A2", "A3"}),
    ("member_a", "supportCases(status: OPEN)", "-", {"A1", "A3"}),
    ("member_a", "customers", "-", set()),
    ("admin_agent_a", "supportCases", "-", {"A5"}),
    ("sales_agent_a+admin_b", "supportCases", "-", {"B1", "B2", "B3"}),
    (
        "support_viewer_a+admin_b",
        "supportCases",
        "-",
        {"A1", "A2", "A3", "A4", "A5", "B1", "B2", "B3"},
    ),
    ("customer_activity_a+training_manager_b", "supportCases", "-", {"A1", "A3", "B1"}),
    ("customer_activity_a+training_manager_b", "customer(id:) { supportCases }", "A", {"A1"}),
    (
        "customer_activity_a+training_manager_b",
        "customerActivity { drillDown(ADDITIONAL_CASES) { additionalCases { case } } }",
        "-",
        {"A3", "B1"},
    ),
    (
        "customer_activity_a+training_manager_b",
        "customerActivity { drillDown(EDUCATION_ON_DEMAND) { records } }",
        "-",
        {"a.e1", "a.e2", "b.e1", "b.e2"},
    ),
    (
        "customer_activity_a+training_manager_b",
        "customerActivity { drillDown(REACTIVE_SUPPORT) { records } }",
        "-",
        {"a.r1", "a.r2"},
    ),
    (
        "customer_activity_a+training_manager_b",
        "customer(id:) { agreements.packages.serviceAmounts }",
        "B",
        {"b.education"},
    ),
    ("customer_activity_a+training_manager_b", "customer(id:) { contacts }", "A", set()),
    (
        "support_viewer_a+admin_b",
        "workgroup(id:) { groups }",
        "A",
        {"a.tier2", "a.tier3", "a.tier4"},
    ),
    ("sales_agent_a+admin_b", "customer(id:) { contacts.invitations }", "A", {"a.invitation"}),
    ("sales_agent_a+admin_b", "customer(id:) { agreements }", "A", set()),
    ("sales_agent_a+admin_b", "customer(id:) { agreements }", "B", {"b.agreement"}),
    ("no_roles", "customers(workgroupId:, status: null)", "A", set()),
    ("admin_b", "customers(workgroupId:, status: null)", "A", set()),
    ("admin_b", "customers(workgroupId:, status: null)", "B", {"b0", "b1"}),
    ("admin_b", "roleAssignments(workgroupId:)", "A", set()),
    ("admin_a", "customers(projectId:)", "A", {"a0"}),
    ("sales_agent_a+admin_b", "roleAssignments(workgroupId:)", "A", set()),
]


@pytest.mark.parametrize(("viewer_name", "path_name", "side", "names"), SPOT_CHECKS)
def test_spot_checks_written_out_by_hand(scene: Scene, viewer_name, path_name, side, names):
    # Given a viewer, a path and the rows the brief says they get there
    viewer, path = VIEWERS[viewer_name], PATHS_BY_NAME[path_name]

    # When they follow it
    body = scene.gql(viewer.email, path.query, path.variables(scene, side))

    # Then they get those rows, and the matrix's derivation agrees
    found = walk(body["data"], path.leaves)
    assert sorted(found) == sorted(scene.key(name) for name in names)
    assert set(path.expected(scene, viewer, side)[0]) == names
