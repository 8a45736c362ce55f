"""Opening, closing and sharing support cases; groups and their members."""

import strawberry
from sqlalchemy import select, true
from strawberry import UNSET
from strawberry.types import Info

from graph.core.mutations import authorize_mutation, not_found, run_in_transaction
from graph.core.types import UserError
from graph.ids import decode_pk
from graph.rows import row_by_id
from graph.support.inputs import OpenSupportCaseInput
from graph.support.queries import case_by_id
from graph.support.types import Group, SupportCase
from graph.workgroups.queries import visible_workgroup_pk
from models.agreements.tables import Agreement, Package, ServiceAmount
from models.core.enums import CaseClassification
from models.core.errors import DomainError, ErrorCode, FieldError
from models.customers.tables import Customer
from models.support import operations as domain
from policies.row_types import ROW_TYPES

PRIMARY_CONTACT = ROW_TYPES["SupportCase"].relation_role[0]  # type: ignore[index]


@strawberry.type
class SupportCasePayload:
    support_case: SupportCase | None
    errors: list[UserError]


@strawberry.type
class GroupPayload:
    group: Group | None
    errors: list[UserError]


def _relations(info: Info, support_case) -> tuple[str, ...]:
    """The relation roles the viewer holds on this case."""
    return (PRIMARY_CONTACT,) if support_case.primary_contact_id == info.context.viewer.id else ()


def _linked(info: Info, workgroup_id: int, data: OpenSupportCaseInput) -> dict:
    """The ids the case links to, each visible to the viewer and of the case's workgroup."""
    session = info.context.session
    links = {}
    for field, table, type_name in (
        ("customer_id", Customer, "Customer"),
        ("agreement_id", Agreement, "Agreement"),
        ("package_id", Package, "Package"),
        ("service_amount_id", ServiceAmount, "ServiceAmount"),
    ):
        value = getattr(data, field)
        if value is UNSET or value is None:
            links[field] = None
            continue
        pk = decode_pk(value, type_name)
        found = (
            pk is not None
            and session.execute(
                select(table.id).where(
                    table.id == pk,
                    # the customer is the case's workgroup's; an agreement may be another's
                    table.workgroup_id == workgroup_id if table is Customer else true(),
                )
            ).first()
        )
        if not found:
            name = field.replace("_id", "").replace("_", " ")
            api = "".join(p if i == 0 else p.title() for i, p in enumerate(field.split("_")))
            raise DomainError([FieldError(api, f"No {name} with this id.", ErrorCode.NOT_FOUND)])
        links[field] = pk
    return links


@strawberry.type
class SupportMutations:
    @strawberry.mutation(description="Opens a case; any role in the workgroup may.")
    def open_support_case(self, info: Info, input: OpenSupportCaseInput) -> SupportCasePayload:
        context = info.context
        workgroup = visible_workgroup_pk(context, input.workgroup_id)
        if workgroup is None:
            return SupportCasePayload(
                support_case=None, errors=not_found("workgroupId", "workgroup")
            )
        authorize_mutation(info, workgroup_id=workgroup, inputs=input)

        def work():
            links = _linked(info, workgroup, input)
            return domain.open_case(
                session=context.session,
                workgroup_id=workgroup,
                opener=context.viewer,
                title=input.title,
                description=None if input.description is UNSET else input.description,
                severity=input.severity,
                classification=input.classification or CaseClassification.STANDARD,
                primary_contact_email=input.primary_contact_email or None,
                **links,
            )

        created, errors = run_in_transaction(info, work)
        return SupportCasePayload(support_case=created, errors=errors)

    @strawberry.mutation
    def close_support_case(self, info: Info, case_id: strawberry.ID) -> SupportCasePayload:
        return _on_case(
            info,
            case_id,
            lambda case: domain.close_case(
                session=info.context.session, support_case=case, actor_id=info.context.viewer.id
            ),
        )

    @strawberry.mutation(description="Shares a case with a user of its workgroup.")
    def share_support_case(
        self, info: Info, case_id: strawberry.ID, email: str
    ) -> SupportCasePayload:
        return _on_case(info, case_id, _share(info, email, share=True))

    @strawberry.mutation
    def unshare_support_case(
        self, info: Info, case_id: strawberry.ID, email: str
    ) -> SupportCasePayload:
        return _on_case(info, case_id, _share(info, email, share=False))

    @strawberry.mutation(description="Lets every member of a group see the case.")
    def grant_group_access(
        self, info: Info, case_id: strawberry.ID, group_id: strawberry.ID
    ) -> SupportCasePayload:
        return _on_case(info, case_id, _group_access(info, group_id, grant=True))

    @strawberry.mutation
    def revoke_group_access(
        self, info: Info, case_id: strawberry.ID, group_id: strawberry.ID
    ) -> SupportCasePayload:
        return _on_case(info, case_id, _group_access(info, group_id, grant=False))

    @strawberry.mutation
    def create_group(self, info: Info, workgroup_id: strawberry.ID, name: str) -> GroupPayload:
        context = info.context
        workgroup = visible_workgroup_pk(context, workgroup_id)
        if workgroup is None:
            return GroupPayload(group=None, errors=not_found("workgroupId", "workgroup"))
        authorize_mutation(info, workgroup_id=workgroup)
        group, errors = run_in_transaction(
            info,
            lambda: domain.create_group(
                session=context.session,
                workgroup_id=workgroup,
                name=name,
                actor_id=context.viewer.id,
            ),
        )
        return GroupPayload(group=group, errors=errors)

    @strawberry.mutation
    def add_group_member(self, info: Info, group_id: strawberry.ID, email: str) -> GroupPayload:
        return _on_group(info, group_id, email, member=True)

    @strawberry.mutation
    def remove_group_member(self, info: Info, group_id: strawberry.ID, email: str) -> GroupPayload:
        return _on_group(info, group_id, email, member=False)


def _on_case(info: Info, case_id: str, change) -> SupportCasePayload:
    support_case = case_by_id(info, case_id)
    if support_case is None:
        return SupportCasePayload(support_case=None, errors=not_found("caseId", "support case"))
    authorize_mutation(
        info, workgroup_id=support_case.workgroup_id, relations=_relations(info, support_case)
    )
    changed, errors = run_in_transaction(info, lambda: change(support_case))
    return SupportCasePayload(support_case=changed, errors=errors)


def _share(info: Info, email: str, *, share: bool):
    return lambda case: domain.share_case(
        session=info.context.session,
        support_case=case,
        email=email,
        actor_id=info.context.viewer.id,
        share=share,
    )


def _group_access(info: Info, group_id: str, *, grant: bool):
    def change(case):
        group = row_by_id(info.context, "Group", group_id)
        if group is None or group.workgroup_id != case.workgroup_id:
            raise DomainError(
                [
                    FieldError(
                        "groupId",
                        "No group with this id in the case's workgroup.",
                        ErrorCode.NOT_FOUND,
                    )
                ]
            )
        return domain.set_group_access(
            session=info.context.session,
            support_case=case,
            group=group,
            actor_id=info.context.viewer.id,
            grant=grant,
        )

    return change


def _on_group(info: Info, group_id: str, email: str, *, member: bool) -> GroupPayload:
    context = info.context
    group = row_by_id(context, "Group", group_id)
    if group is None:
        return GroupPayload(group=None, errors=not_found("groupId", "group"))
    authorize_mutation(info, workgroup_id=group.workgroup_id)
    changed, errors = run_in_transaction(
        info,
        lambda: domain.set_group_member(
            session=context.session,
            group=group,
            email=email,
            actor_id=context.viewer.id,
            member=member,
        ),
    )
    return GroupPayload(group=changed, errors=errors)
