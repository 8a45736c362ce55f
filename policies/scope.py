"""A viewer's access for one request: the roles they hold per workgroup, and every decision
derived from them — row conditions, field rules for a selection, write checks."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, exists, or_, select, true
from sqlalchemy.orm import with_loader_criteria
from sqlalchemy.sql.elements import True_
from sqlalchemy.sql.util import find_tables

from models.audit.activity import ActivityRecord
from policies.activity_subjects import ACTIVITY_SUBJECTS
from policies.authorizer import AUTHENTICATED, READ, WRITE, Authorizer
from policies.errors import Forbidden
from policies.row_types import LINK_TABLES, PART_OF_ROW, RELATED, LinkTable, RowType
from policies.row_types import ROW_TYPES as DECLARED
from policies.rows import (
    CATEGORIES,
    any_of,
    category_coordinate,
    workgroup_condition,
)

ROW_TYPES = frozenset(DECLARED)
ROW_TYPE_TABLES = frozenset(row.table.__tablename__ for row in DECLARED.values())
# Every tenant table by name: its row type, or its link table declaration.
TENANT_TABLES: dict[str, RowType | LinkTable] = {
    **{row.table.__tablename__: row for row in DECLARED.values()},
    **{link.table.__tablename__: link for link in LINK_TABLES},
}
RELATION_ROLES = frozenset(
    row.relation_role[0] for row in DECLARED.values() if row.relation_role is not None
)
MUTATION_ROOT = "Mutation"  # its fields are writes; every other coordinate is read
ACTIVITY_RECORD = "ActivityRecord"


def tables_named(clause) -> frozenset[str]:
    """The names of the tables `clause` reads, in subqueries and EXISTS too."""
    return frozenset(
        table.name
        for table in find_tables(clause, check_columns=True, include_aliases=True)
        if isinstance(table, Table)
    )


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
    _conditions: dict[str, ColumnElement[bool]] = field(default_factory=dict)
    _criteria: dict[str, tuple[Any, frozenset[str]] | None] = field(default_factory=dict)

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
        cached = self._conditions.get(type_name)
        if cached is None:
            cached = self._conditions[type_name] = self._condition(type_name)
        return cached

    def _condition(self, type_name: str) -> ColumnElement[bool]:
        row = DECLARED[type_name]
        everywhere, listed = self.visible_in(type_name)
        whole = workgroup_condition(row.tenant_key, everywhere=everywhere, workgroup_ids=listed)
        if type_name == ACTIVITY_RECORD:
            return self._activity_condition(whole)
        if everywhere:
            return whole
        parts = [whole]
        if row.related is not None:
            in_everywhere, in_listed = self.visible_in(f"{type_name}#{RELATED}")
            if in_everywhere or in_listed - listed:
                parts.append(
                    and_(
                        row.related(self.user_id),
                        workgroup_condition(
                            row.tenant_key,
                            everywhere=in_everywhere,
                            workgroup_ids=in_listed - listed,
                        ),
                    )
                )
        if row.category is not None:
            for category in CATEGORIES:
                in_everywhere, in_listed = self.visible_in(category_coordinate(type_name, category))
                if in_everywhere or in_listed - listed:
                    parts.append(
                        and_(
                            row.category(category),
                            workgroup_condition(
                                row.tenant_key,
                                everywhere=in_everywhere,
                                workgroup_ids=in_listed - listed,
                            ),
                        )
                    )
        return any_of(parts)

    def _activity_condition(self, readable: ColumnElement[bool]) -> ColumnElement[bool]:
        """Records of workgroups whose log the viewer may read, about subjects they may see
        now (policies.activity_subjects): the target row through its own restriction."""
        if not isinstance(readable, True_) and not self.visible_in(ACTIVITY_RECORD)[1]:
            return readable  # false: no log to read anywhere
        groups: dict[tuple, list[str]] = {}
        for action, subject in ACTIVITY_SUBJECTS.items():
            groups.setdefault((subject.target, subject.rows, subject.about), []).append(action)
        parts = []
        for (target, rows, about), actions in groups.items():
            conditions = [ActivityRecord.action.in_(actions)]  # type: ignore[attr-defined]
            if target is not None:
                conditions.append(ActivityRecord.target_type == target)
                if not isinstance(self.visible(target), True_):
                    table = DECLARED[target].table
                    conditions.append(
                        exists(select(table.id).where(table.id == ActivityRecord.target_id))
                    )
            if rows is not None:
                everywhere, listed = self.visible_in(rows)
                conditions.append(
                    workgroup_condition(
                        ActivityRecord.workgroup_id, everywhere=everywhere, workgroup_ids=listed
                    )
                )
            if about is not None:
                everywhere, listed = self.readable_in(about)
                conditions.append(
                    workgroup_condition(
                        ActivityRecord.workgroup_id, everywhere=everywhere, workgroup_ids=listed
                    )
                )
            parts.append(and_(*conditions))
        # A record concerning a customer (its feed) is also only for who may see that customer.
        customer = DECLARED["Customer"].table
        concerned = (
            true()
            if isinstance(self.visible("Customer"), True_)
            else or_(
                ActivityRecord.customer_id.is_(None),  # type: ignore[union-attr]
                exists(select(customer.id).where(customer.id == ActivityRecord.customer_id)),
            )
        )
        return and_(readable, any_of(parts), concerned)

    def masked_values(
        self, action: str, workgroup_id: int | None, values: dict[str, Any] | None
    ) -> tuple[dict[str, Any] | None, list[str]]:
        """An activity record's recorded values as this viewer may read them in the record's
        workgroup: each value whose field they may not read becomes None. Also returns the
        coordinates that were masked."""
        if not values:
            return values, []
        subject = ACTIVITY_SUBJECTS.get(action)
        masked: dict[str, Any] = {}
        denied: list[str] = []
        for key, value in values.items():
            coordinate = subject.coordinate(key) if subject else f"{ACTIVITY_RECORD}.{key}"
            if subject and self.may(coordinate, workgroup_id=workgroup_id, action=READ):
                masked[key] = value
            else:
                masked[key] = None
                denied.append(coordinate)
        return masked, denied

    def readable_rows(self, type_name: str, coordinates: tuple[str, ...]) -> ColumnElement[bool]:
        """The rows of `type_name` in whose workgroup every one of `coordinates` is readable."""
        everywhere, listed = self.row_workgroups(type_name)
        allows = self.authorizer.allows
        everywhere = everywhere and all(allows(self.global_roles, c, READ) for c in coordinates)
        readable = frozenset(
            wg
            for wg in listed
            if all(allows(self.workgroup_roles[wg], c, READ) for c in coordinates)
        )
        tenant_key = DECLARED[type_name].tenant_key
        return workgroup_condition(tenant_key, everywhere=everywhere, workgroup_ids=readable)

    def readable_in(self, coordinate: str) -> tuple[bool, frozenset[int]]:
        """(every workgroup?, else the workgroups) where the viewer may read `coordinate`."""
        allows = self.authorizer.allows
        return (
            allows(self.global_roles, coordinate, READ),
            frozenset(
                wg for wg, roles in self.workgroup_roles.items() if allows(roles, coordinate, READ)
            ),
        )

    def link_visible(self, link) -> ColumnElement[bool]:
        """Rows of a link table: those of the workgroups where its row type may be seen."""
        everywhere, listed = self.row_workgroups(link.visible_as)
        return workgroup_condition(link.tenant_key, everywhere=everywhere, workgroup_ids=listed)

    def loader_criteria(self, table_name: str) -> tuple[Any, frozenset[str]] | None:
        """The restriction of one tenant table for this viewer: the ORM loader criteria, and
        the row types' tables the condition itself reads (whose restriction must come along:
        an activity record is visible through its target's). Link tables a condition reads
        are the viewer's own relations (the member rule's shares and groups) and need none.
        None for a table that is not a tenant table or that the viewer sees whole. Built when
        a statement first reads the table, then kept for the request. Added by the session to
        every read (policies.restriction)."""
        if table_name in self._criteria:
            return self._criteria[table_name]
        declared = TENANT_TABLES.get(table_name)
        found = None
        if declared is not None:
            condition = (
                self.visible(declared.name)
                if isinstance(declared, RowType)
                else self.link_visible(declared)
            )
            if not isinstance(condition, True_):
                found = (
                    with_loader_criteria(declared.table, condition, include_aliases=True),
                    # Only an activity record's condition reads other row types (its subject's).
                    tables_named(condition) & ROW_TYPE_TABLES
                    if getattr(declared, "name", None) == ACTIVITY_RECORD
                    else frozenset(),
                )
        self._criteria[table_name] = found
        return found

    def row_workgroups(self, type_name: str) -> tuple[bool, frozenset[int]]:
        """Where any row of `type_name` may be visible, whole or by category."""
        row = DECLARED[type_name]
        everywhere, listed = self.visible_in(type_name)
        if row.related is not None:
            in_everywhere, in_listed = self.visible_in(f"{type_name}#{RELATED}")
            everywhere, listed = everywhere or in_everywhere, listed | in_listed
        if row.category is not None:
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
            relation = DECLARED[type_name].relation_role if type_name in DECLARED else None
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
