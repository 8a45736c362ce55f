"""A viewer's access for one request: the roles they hold per workgroup, and every decision
derived from them — row conditions, field rules for a selection, write checks."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_

from policies.authorizer import AUTHENTICATED, READ, WRITE, Authorizer
from policies.errors import Forbidden
from policies.rows import (
    CATEGORIES,
    CATEGORY_COLUMN,
    PART_OF_ROW,
    RELATED,
    RELATED_ROWS,
    ROW_RELATIONS,
    ROW_WORKGROUP_COLUMN,
    any_of,
    category_condition,
    category_coordinate,
    workgroup_condition,
)

ROW_TYPES = frozenset(ROW_WORKGROUP_COLUMN)
RELATION_ROLES = frozenset(role for role, _ in ROW_RELATIONS.values())
MUTATION_ROOT = "Mutation"  # its fields are writes; every other coordinate is read


class Denied:
    """A field denied wherever the viewer could meet it."""

    __slots__ = ()


DENIED = Denied()


@dataclass(frozen=True, slots=True)
class PerWorkgroup:
    """A field allowed in some workgroups of the request and denied in others — and, where a
    relation to the row grants it (e.g. being a case's primary contact), on related rows."""

    allowed: frozenset[int]
    elsewhere: bool  # the decision where the viewer holds only global roles
    listed: frozenset[int]  # workgroups where the viewer holds roles of their own
    related: frozenset[int] = frozenset()  # where the relation grants it
    related_elsewhere: bool = False
    relation_attribute: str | None = None  # the row attribute naming the related user
    user_id: int | None = None

    def allows(self, row: Any) -> bool:
        workgroup_id = row.workgroup_id
        if workgroup_id in self.allowed:
            return True
        own = workgroup_id in self.listed
        if not own and self.elsewhere:
            return True
        if self.relation_attribute and (
            workgroup_id in self.related or (not own and self.related_elsewhere)
        ):
            return getattr(row, self.relation_attribute) == self.user_id
        return False


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
        if everywhere:
            return whole
        parts = [whole]
        if type_name in RELATED_ROWS:
            in_everywhere, in_listed = self.visible_in(f"{type_name}#{RELATED}")
            if in_everywhere or in_listed - listed:
                parts.append(
                    and_(
                        RELATED_ROWS[type_name](self.user_id),
                        workgroup_condition(
                            type_name, everywhere=in_everywhere, workgroup_ids=in_listed - listed
                        ),
                    )
                )
        if type_name not in CATEGORY_COLUMN:
            return any_of(parts)
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
        if type_name in RELATED_ROWS:
            in_everywhere, in_listed = self.visible_in(f"{type_name}#{RELATED}")
            everywhere, listed = everywhere or in_everywhere, listed | in_listed
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

        Fields of row types (and of objects that are part of a row, PART_OF_ROW) are decided
        per workgroup in which the row type is visible; all other fields (roots, the viewer,
        connections, payloads) on every role the viewer holds anywhere. An empty result means
        nothing needs checking while executing.
        """
        allows = self.authorizer.allows
        every_role = self.all_roles
        rules: dict[tuple[str, str], FieldRule] = {}
        for type_name, field_name in coordinates:
            coordinate = f"{type_name}.{field_name}"
            row_type = PART_OF_ROW.get(type_name, type_name)
            if row_type not in ROW_TYPES:
                # Mutations acting on a row may be granted through a relation to it; the
                # resolver decides on the row, so here a relation counts as possibly held.
                action = WRITE if type_name == MUTATION_ROOT else READ
                roles = every_role | RELATION_ROLES if type_name == MUTATION_ROOT else every_role
                if not allows(roles, coordinate, action):
                    rules[(type_name, field_name)] = DENIED
                continue
            everywhere, listed = self.row_workgroups(row_type)
            elsewhere = everywhere and allows(self.global_roles, coordinate, READ)
            allowed = frozenset(
                wg for wg in listed if allows(self.workgroup_roles[wg], coordinate, READ)
            )
            if allowed == listed and (elsewhere or not everywhere):
                continue
            related: frozenset[int] = frozenset()
            related_elsewhere = False
            relation = ROW_RELATIONS.get(type_name)
            if relation is not None:
                role, _ = relation
                related = frozenset(
                    wg
                    for wg in listed - allowed
                    if allows(self.workgroup_roles[wg] | {role}, coordinate, READ)
                )
                related_elsewhere = (
                    everywhere
                    and not elsewhere
                    and allows(self.global_roles | {role}, coordinate, READ)
                )
            if not (allowed or elsewhere or related or related_elsewhere):
                rules[(type_name, field_name)] = DENIED
            else:
                rules[(type_name, field_name)] = PerWorkgroup(
                    allowed,
                    elsewhere,
                    listed,
                    related,
                    related_elsewhere,
                    relation[1] if relation else None,
                    self.user_id,
                )
        return rules

    def may_read_everywhere(self, type_name: str, coordinate: str) -> bool:
        """Whether `coordinate` is readable in every workgroup where rows of `type_name` are
        visible: the test for filtering or sorting a list by that field."""
        allows = self.authorizer.allows
        everywhere, listed = self.row_workgroups(type_name)
        if everywhere and not allows(self.global_roles, coordinate, READ):
            return False
        return all(allows(self.workgroup_roles[wg], coordinate, READ) for wg in listed)

    # ------------------------------------------------------------ writes

    def may(
        self,
        coordinate: str,
        *,
        workgroup_id: int | None,
        action: str = WRITE,
        relations: Iterable[str] = (),
    ) -> bool:
        """`relations` are the relation roles the viewer holds on the row at hand
        (e.g. "primary_contact" of a support case)."""
        roles = self.roles_in(workgroup_id)
        if relations:
            roles = roles | frozenset(relations)
        return self.authorizer.allows(roles, coordinate, action)

    def require(
        self,
        coordinate: str,
        *,
        workgroup_id: int | None,
        action: str = WRITE,
        relations: Iterable[str] = (),
    ) -> None:
        if not self.may(coordinate, workgroup_id=workgroup_id, action=action, relations=relations):
            raise Forbidden(coordinate)
