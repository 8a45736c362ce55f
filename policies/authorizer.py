"""The one authorizer: Casbin decisions per (role set, coordinate, action), cached until the
policy changes. Nothing here looks at rows; the cost of a request does not grow with them."""

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import casbin

HERE = Path(__file__).parent
MODEL_PATH = HERE / "model.conf"
POLICY_PATH = HERE / "policy.csv"

AUTHENTICATED = "authenticated"
ANY_WORKGROUP = "*"
READ = "read"
WRITE = "write"
GRANT = "grant"  # action on "Role.<name>": may give or take that role


@dataclass(frozen=True, slots=True)
class Explanation:
    allowed: bool
    role: str | None  # the viewer's role that the allowing line applies to
    policy_line: list[str] | None  # the line that allowed it
    deciding_denial: list[str] | None  # when denied: the deny line that records the decision


class Authorizer:
    def __init__(self, enforcer: casbin.Enforcer, *, enabled: bool = True):
        self._enforcer = enforcer
        self._decisions: dict[tuple[frozenset[str], str, str], bool] = {}
        self._role_decisions: dict[tuple[str, str, str], bool] = {}
        self._strongest_roles: dict[frozenset[str], list[str]] = {}
        self._lock = threading.Lock()
        self.enabled = enabled
        self.evaluations = 0

    @classmethod
    def from_files(
        cls, model: Path = MODEL_PATH, policy: Path = POLICY_PATH, *, enabled: bool = True
    ) -> "Authorizer":
        return cls(casbin.Enforcer(str(model), str(policy)), enabled=enabled)

    def allows(self, roles: frozenset[str], coordinate: str, action: str = READ) -> bool:
        """Whether any of `roles` is granted `action` on `coordinate`."""
        if not self.enabled:
            return True
        key = (roles, coordinate, action)
        decision = self._decisions.get(key)
        if decision is None:
            decision = any(
                self._role_allows(role, coordinate, action) for role in self._strongest(roles)
            )
            self._decisions[key] = decision
        return decision

    def _role_allows(self, role: str, coordinate: str, action: str) -> bool:
        """One role's decision, shared by every role set that contains the role."""
        key = (role, coordinate, action)
        decision = self._role_decisions.get(key)
        if decision is None:
            decision = self._role_decisions[key] = self._enforce(role, coordinate, action)
        return decision

    def _strongest(self, roles: frozenset[str]) -> list[str]:
        """The roles of the set that no other role of the set inherits (the others add
        nothing: Casbin already grants a role what the roles it inherits are granted)."""
        found = self._strongest_roles.get(roles)
        if found is None:
            implied = {
                other for role in roles for other in self.implied_roles(role) if other != role
            }
            found = self._strongest_roles[roles] = sorted(roles - implied)
        return found

    def _enforce(self, role: str, coordinate: str, action: str) -> bool:
        with self._lock:  # pycasbin's enforcer is not documented as thread-safe
            self.evaluations += 1
            return self._enforcer.enforce(role, ANY_WORKGROUP, coordinate, action)

    def explain(self, roles: Iterable[str], coordinate: str, action: str = READ) -> Explanation:
        """Which policy line allowed this, or that none did (and which line denies it)."""
        # The viewer's own roles first: a line everyone has is credited to their role.
        roles = sorted(roles, key=lambda role: (role == AUTHENTICATED, role))
        for role in roles:
            with self._lock:
                self.evaluations += 1
                allowed, line = self._enforcer.enforce_ex(role, ANY_WORKGROUP, coordinate, action)
            if allowed:
                return Explanation(True, role, list(line), None)
        subjects = set().union(*(self.implied_roles(role) for role in roles)) if roles else set()
        denial = next(
            (
                line
                for line in self.policy_lines()
                if line[0] in subjects
                and line[3] == action
                and line[4] == "deny"
                and casbin.util.key_match(coordinate, line[2])
            ),
            None,
        )
        return Explanation(False, None, None, denial)

    def reload(self) -> None:
        """Re-reads the policy and forgets every cached decision."""
        with self._lock:
            self._enforcer.load_policy()
        self.clear_cache()

    def clear_cache(self) -> None:
        self._decisions.clear()
        self._role_decisions.clear()
        self._strongest_roles.clear()

    # -- introspection of the policy itself (for coverage checks and the role catalogue)

    def implied_roles(self, role: str) -> set[str]:
        """`role` and every role it inherits."""
        with self._lock:
            found = {role}
            found.update(self._enforcer.get_implicit_roles_for_user(role, ANY_WORKGROUP))
            return found

    def policy_lines(self) -> list[list[str]]:
        with self._lock:
            return [list(line) for line in self._enforcer.get_policy()]
