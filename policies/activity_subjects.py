"""What each kind of activity record is about, so that a record is visible exactly to whoever
may see its subject now, with each recorded value masked by the subject's field rules.

A record is visible when its reader may read the activity log in the record's workgroup, and
- its target row is visible to them (the target's own restriction, member rule included), or,
  for records without a target row of their own, the rows named by `rows` are;
- and `about`, when set, is readable in the record's workgroup (a membership change of a group
  is as visible as `Group.members`).
Each key of `before`/`after` names a field of the type `values` (or `names` maps it to one);
a value whose field the reader may not read in the record's workgroup is masked. An action
that is not declared here is visible to nobody.

Values are recorded in API terms (models.audit.activity.record_activity): the GraphQL field names,
enum values as the API spells them, references as global ids (models.global_ids); an update
records both sides of exactly the changed fields, a creation `after`, a removal `before`. A
key that is no field of `values` would be masked for everyone (tests/test_audit_trail.py).
"""

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ActivitySubject:
    values: str  # the type whose fields the recorded values are
    target: str | None = None  # the row type of the record's target row
    rows: str | None = None  # without a target row: the row type visible in the workgroup
    about: str | None = None  # a coordinate that must be readable in the record's workgroup
    names: dict[str, str] = field(default_factory=dict)  # value key -> field of `values`

    def coordinate(self, key: str) -> str:
        return f"{self.values}.{self.names.get(key, key)}"


def _on_customer(about: str, values: str = "Customer", **names: str) -> ActivitySubject:
    return ActivitySubject(values, target="Customer", about=f"Customer.{about}", names=names)


CUSTOMER = ActivitySubject("Customer", target="Customer")
CONTACT = ActivitySubject(
    "Contact", target="Contact", names={"invitation": "invitations", "customerId": "id"}
)
SUPPORT_CASE = ActivitySubject("SupportCase", target="SupportCase")
ROLE = ActivitySubject("RoleAssignment", rows="RoleAssignment")
IMPORT = ActivitySubject("ImportJob", target="ImportJob")
PROJECT_MEMBERSHIP = ActivitySubject(
    "Customer", target="Project", about="Customer.projects", names={"customerId": "id"}
)
CASE_SHARE = ActivitySubject(
    "SupportCase",
    target="SupportCase",
    about="SupportCase.sharedWith",
    names={"email": "sharedWith"},
)
CASE_GROUP_ACCESS = ActivitySubject(
    "SupportCase",
    target="SupportCase",
    about="SupportCase.groupsWithAccess",
    names={"group": "groupsWithAccess"},
)
GROUP_MEMBERSHIP = ActivitySubject(
    "Group", target="Group", about="Group.members", names={"email": "members"}
)

ACTIVITY_SUBJECTS: dict[str, ActivitySubject] = {
    "workgroup.create": ActivitySubject("Workgroup", target="Workgroup"),
    "role.grant": ROLE,
    "role.revoke": ROLE,
    "customer.add": CUSTOMER,
    "customer.update": CUSTOMER,
    "customer.archive": CUSTOMER,
    "customer.reactivate": CUSTOMER,
    "customer.tags": _on_customer("tags"),
    "customer.ticket_policy": _on_customer("acceptTicketsFromMainContactOnly"),
    "contact.set_main": _on_customer("mainContact"),
    "order.create": _on_customer("orders", "Order"),
    "contract.add": _on_customer("contracts", "Contract"),
    "customer.service_level": _on_customer("serviceLevel", "ServiceLevel"),
    "contact.add": CONTACT,
    "contact.update": CONTACT,
    "contact.invite": CONTACT,
    "contact.move": CONTACT,
    "project.create": ActivitySubject("Project", target="Project"),
    "project.member.add": PROJECT_MEMBERSHIP,
    "project.member.remove": PROJECT_MEMBERSHIP,
    "case.open": SUPPORT_CASE,
    "case.close": SUPPORT_CASE,
    "case.share": CASE_SHARE,
    "case.unshare": CASE_SHARE,
    "case.group_access.grant": CASE_GROUP_ACCESS,
    "case.group_access.revoke": CASE_GROUP_ACCESS,
    "group.create": ActivitySubject("Group", target="Group"),
    "group.member.add": GROUP_MEMBERSHIP,
    "group.member.remove": GROUP_MEMBERSHIP,
    "import.customers": IMPORT,
    "import.contacts": IMPORT,
}
