"""The role catalogue: what each role is for, and what it grants — read from the policy."""

from dataclasses import dataclass

from models.core.enums import Role
from policies.authorizer import AUTHENTICATED, Authorizer

ROLE_PURPOSES = {
    Role.ADMIN: "Runs the workgroup: customers, activity, support, roles and groups.",
    Role.ADMIN_AGENT: "Manages customers and their data on the provider's behalf.",
    Role.SALES_AGENT: "Works the customer list: billing data, tags, orders, exports.",
    Role.CUSTOMER_ACTIVITY: "Reads agreements, packages, consumption and drill-downs.",
    Role.TRAINING_MANAGER: "Reads education-on-demand consumption and exports its report.",
    Role.SUPPORT_VIEWER: "Sees every support case of the workgroup.",
    Role.MEMBER: "Signs in, sees the workgroup's name and the cases shared with them.",
}


@dataclass(frozen=True, slots=True)
class Grant:
    coordinate: str
    action: str


@dataclass(frozen=True, slots=True)
class Capability:
    name: str
    grants: tuple[Grant, ...]


def capabilities_of(authorizer: Authorizer, role: Role) -> list[Capability]:
    """The policy subjects `role` holds (itself and every role it inherits), with their grants."""
    lines = authorizer.policy_lines()
    found = []
    for subject in sorted(authorizer.implied_roles(role.value)):
        grants = tuple(
            Grant(coordinate=line[2], action=line[3])
            for line in lines
            if line[0] == subject and line[4] == "allow"
        )
        if grants:
            name = "every signed-in user" if subject == AUTHENTICATED else subject
            found.append(Capability(name=name, grants=grants))
    return found
