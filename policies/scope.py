"""A viewer's access for one request: the roles they hold per workgroup, and every decision
derived from them — row conditions, field rules for a selection, write checks."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement

from policies.authorizer import AUTHENTICATED, READ, WRITE, Authorizer
from policies.errors import Forbidden
from policies.rows import (
    CATEGORIES,
    CATEGORY_COLUMN,
    ROW_WORKGROUP_COLUMN,
    any_of,
    category_condition,
    category_coordinate,
    workgroup_condition,
)

ROW_TYPES = frozenset(ROW_WORKGROUP_COLUMN)
MUTATION_ROOT = "Mutation"  # its fields are writes; every other coordinate is read


class Denied:
    """A field denied wherever the viewer could meet it."""

    __slots__ = ()


DENIED = Denied()


@dataclass(frozen=True, slots=True)
class PerWorkgroup:
    """A field allowed in some workgroups of the request and denied in others."""

    allowed: frozenset[int]
    elsewhere: bool  # the decision where the viewer holds only global roles
    listed: frozenset[int]  # workgroups where the viewer holds roles of their own

    def allows(self, workgroup_id: int) -> bool:
        if workgroup_id in self.allowed:
            return True
        return self.elsewhere and workgroup_id not in self.listed


FieldRule = Denied | PerWorkgroup


@dataclass
class AccessScope:
    authorizer: Authorizer
    user_id: int | None
    global_roles: frozenset[str]
    workgroup_roles: Mapping[int, frozenset[str]]
    _visible_in: dict[str, tuple[bool, frozenset[int]]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        *,
        authorizer: Authorizer,
        user_id: int | None,
        held: Iterable[tuple[str, int | None]],
    ) -> "AccessScope":
        """`held` are (role, workgroup id or None for every workgroup) pairs."""
        global_roles = {AUTHENTICATED} | {role for role, wg in held if wg is None}
        per_workgroup: dict[int, set[str]] = {}
        for role, workgroup_id in held:
            if workgroup_id is not None:
                per_workgroup.setdefault(workgroup_id, set(global_roles)).add(role)
        return cls(
            authorizer=authorizer,
            user_id=user_id,
            global_roles=frozenset(global_roles),
            workgroup_roles={wg: frozenset(roles) for wg, roles in per_workgroup.items()},
        )

    # ------------------------------------------------------------ roles

    def roles_in(self, workgroup_id: int | None) -> frozenset[str]:
        if workgroup_id is None:
            return self.global_roles
        return self.workgroup_roles.get(workgroup_id, self.global_roles)

    @property
    def all_roles(self) -> frozenset[str]:
        roles = set(self.global_roles)
        for held in self.workgroup_roles.values():
            roles |= held
        return frozenset(roles)

    @property
    def is_global(self) -> bool:
        return self.global_roles != {AUTHENTICATED}

    # ------------------------------------------------------------ rows

    def visible_in(self, type_name: str) -> tuple[bool, frozenset[int]]:
        """(every workgroup?, else the workgroups) where rows of `type_name` are visible."""
        cached = self._visible_in.get(type_name)
        if cached is None:
            allows = self.authorizer.allows
            everywhere = allows(self.global_roles, type_name, READ)
            listed = frozenset(
                wg for wg, roles in self.workgroup_roles.items() if allows(roles, type_name, READ)
            )
            cached = self._visible_in[type_name] = (everywhere, listed)
        return cached

    def visible(self, type_name: str) -> ColumnElement[bool]:
        """The SQL condition admitting exactly the rows of `type_name` this viewer may see."""
        everywhere, listed = self.visible_in(type_name)
        whole = workgroup_condition(type_name, everywhere=everywhere, workgroup_ids=listed)
        if type_name not in CATEGORY_COLUMN or everywhere:
            return whole
        parts = [whole]
        for category in CATEGORIES:
            in_everywhere, in_listed = self.visible_in(category_coordinate(type_name, category))
            if in_everywhere or in_listed - listed:
                parts.append(
                    category_condition(
                        type_name,
                        category,
                        everywhere=in_everywhere,
                        workgroup_ids=in_listed - listed,
                    )
                )
        return any_of(parts)

    def row_workgroups(self, type_name: str) -> tuple[bool, frozenset[int]]:
        """Where any row of `type_name` may be visible, whole or by category."""
        everywhere, listed = self.visible_in(type_name)
        if type_name in CATEGORY_COLUMN:
            for category in CATEGORIES:
                in_everywhere, in_listed = self.visible_in(category_coordinate(type_name, category))
                everywhere, listed = everywhere or in_everywhere, listed | in_listed
        return everywhere, listed

    def sees_workgroup_rows(self, type_name: str, workgroup_id: int) -> bool:
        everywhere, listed = self.visible_in(type_name)
        return everywhere or workgroup_id in listed

    # ------------------------------------------------------------ fields

    def field_rules(
        self, coordinates: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], FieldRule]:
        """Rules for the selected coordinates that are not allowed wherever they can be met.

        Fields of row types are decided per workgroup in which the row type is visible;
        all other fields (roots, the viewer, connections, payloads) on every role the viewer
        holds anywhere. An empty result means nothing needs checking while executing.
        """
        allows = self.authorizer.allows
        every_role = self.all_roles
        rules: dict[tuple[str, str], FieldRule] = {}
        for type_name, field_name in coordinates:
            coordinate = f"{type_name}.{field_name}"
            if type_name not in ROW_TYPES:
                action = WRITE if type_name == MUTATION_ROOT else READ
                if not allows(every_role, coordinate, action):
                    rules[(type_name, field_name)] = DENIED
                continue
            everywhere, listed = self.row_workgroups(type_name)
            elsewhere = everywhere and allows(self.global_roles, coordinate, READ)
            allowed = frozenset(
                wg for wg in listed if allows(self.workgroup_roles[wg], coordinate, READ)
            )
            if allowed == listed and (elsewhere or not everywhere):
                continue
            if not allowed and not elsewhere:
                rules[(type_name, field_name)] = DENIED
            else:
                rules[(type_name, field_name)] = PerWorkgroup(allowed, elsewhere, listed)
        return rules

    # ------------------------------------------------------------ writes

    def may(self, coordinate: str, *, workgroup_id: int | None, action: str = WRITE) -> bool:
        return self.authorizer.allows(self.roles_in(workgroup_id), coordinate, action)

    def require(self, coordinate: str, *, workgroup_id: int | None, action: str = WRITE) -> None:
        if not self.may(coordinate, workgroup_id=workgroup_id, action=action):
            raise Forbidden(coordinate)

    def require_inputs(
        self, input_type: str, field_names: Iterable[str], *, workgroup_id: int | None
    ) -> None:
        """Every input field the client set must be writable by the viewer in that workgroup."""
        for name in field_names:
            self.require(f"{input_type}.{name}", workgroup_id=workgroup_id)
