"""Contacts, tags, orders, contracts and service levels, projects."""

from decimal import Decimal

import strawberry
from strawberry.types import Info

from graph.core.mutations import (
    authorize_mutation,
    camel,
    not_found,
    provided_fields,
    run_in_transaction,
)
from graph.core.types import UserError
from graph.customers.queries import customer_by_id
from graph.customers.types import Customer
from graph.partner.inputs import (
    AddContactInput,
    AddContractInput,
    OrderLineInput,
    UpdateContactInput,
)
from graph.partner.types import Catalog, Contact, Contract, Order, Project, ServiceLevel
from graph.rows import row_by_id
from graph.workgroups.queries import visible_workgroup_pk
from models.partner import operations as domain
from models.partner import tables as domain_tables
from models.partner.tables import Contact as ContactRow


@strawberry.type
class ContactPayload:
    contact: Contact | None
    errors: list[UserError]


@strawberry.type
class OrderPayload:
    order: Order | None
    errors: list[UserError]


@strawberry.type
class ContractPayload:
    contract: Contract | None
    errors: list[UserError]


@strawberry.type
class ServiceLevelPayload:
    service_level: ServiceLevel | None
    errors: list[UserError]


@strawberry.type
class ProjectPayload:
    project: Project | None
    errors: list[UserError]


def _visible_contact(info: Info, contact_id: str) -> ContactRow | None:
    return row_by_id(info.context, "Contact", contact_id)


def _visible_project(info: Info, project_id: str) -> domain_tables.Project | None:
    return row_by_id(info.context, "Project", project_id)


def _customer_or_none(info: Info, customer_id) -> tuple[object | None, bool]:
    """(customer, found): an absent id is (None, True); an invisible one (None, False)."""
    if customer_id is None or customer_id is strawberry.UNSET:
        return None, True
    customer = customer_by_id(info.context, customer_id)
    return customer, customer is not None


@strawberry.type
class PartnerMutations:
    @strawberry.mutation(description="Adds a contact, to a customer or to none yet.")
    def add_contact(self, info: Info, input: AddContactInput) -> ContactPayload:
        context = info.context
        workgroup = visible_workgroup_pk(context, input.workgroup_id)
        if workgroup is None:
            return ContactPayload(contact=None, errors=not_found("workgroupId", "workgroup"))
        customer, found = _customer_or_none(info, input.customer_id)
        if not found or (customer is not None and customer.workgroup_id != workgroup):
            return ContactPayload(contact=None, errors=not_found("customerId", "customer"))
        authorize_mutation(info, workgroup_id=workgroup, inputs=input)
        values = {
            k: v
            for k, v in provided_fields(input).items()
            if k not in ("workgroup_id", "customer_id", "send_invitation")
        }
        contact, errors = run_in_transaction(
            info,
            lambda: domain.add_contact(
                session=context.session,
                workgroup_id=workgroup,
                customer=customer,
                values=values,
                actor_id=context.viewer.id,
                send_invitation=input.send_invitation,
            ),
        )
        return ContactPayload(contact=contact, errors=errors)

    @strawberry.mutation(description="Queues a fresh invitation e-mail to a contact.")
    def invite_contact(self, info: Info, id: strawberry.ID) -> ContactPayload:
        contact = _visible_contact(info, id)
        if contact is None:
            return ContactPayload(contact=None, errors=not_found("id", "contact"))
        authorize_mutation(info, workgroup_id=contact.workgroup_id)
        invited, errors = run_in_transaction(
            info,
            lambda: domain.invite_contact(
                session=info.context.session, contact=contact, actor_id=info.context.viewer.id
            ),
        )
        return ContactPayload(contact=invited, errors=errors)

    @strawberry.mutation
    def update_contact(
        self, info: Info, id: strawberry.ID, input: UpdateContactInput
    ) -> ContactPayload:
        contact = _visible_contact(info, id)
        if contact is None:
            return ContactPayload(contact=None, errors=not_found("id", "contact"))
        authorize_mutation(info, workgroup_id=contact.workgroup_id, inputs=input)
        updated, errors = run_in_transaction(
            info,
            lambda: domain.update_contact(
                session=info.context.session,
                contact=contact,
                values=provided_fields(input),
                actor_id=info.context.viewer.id,
            ),
        )
        return ContactPayload(contact=updated, errors=errors)

    @strawberry.mutation(description="Moves a contact to another customer, or to none.")
    def move_contact(
        self, info: Info, id: strawberry.ID, customer_id: strawberry.ID | None = None
    ) -> ContactPayload:
        contact = _visible_contact(info, id)
        if contact is None:
            return ContactPayload(contact=None, errors=not_found("id", "contact"))
        customer, found = _customer_or_none(info, customer_id)
        if not found:
            return ContactPayload(contact=None, errors=not_found("customerId", "customer"))
        authorize_mutation(info, workgroup_id=contact.workgroup_id)
        moved, errors = run_in_transaction(
            info,
            lambda: domain.move_contact(
                session=info.context.session,
                contact=contact,
                customer=customer,
                actor_id=info.context.viewer.id,
            ),
        )
        return ContactPayload(contact=moved, errors=errors)

    @strawberry.mutation
    def set_main_contact(
        self, info: Info, customer_id: strawberry.ID, contact_id: strawberry.ID
    ) -> ContactPayload:
        customer = customer_by_id(info.context, customer_id)
        contact = _visible_contact(info, contact_id)
        if customer is None:
            return ContactPayload(contact=None, errors=not_found("customerId", "customer"))
        if contact is None:
            return ContactPayload(contact=None, errors=not_found("contactId", "contact"))
        authorize_mutation(info, workgroup_id=customer.workgroup_id)
        main, errors = run_in_transaction(
            info,
            lambda: domain.set_main_contact(
                session=info.context.session,
                customer=customer,
                contact=contact,
                actor_id=info.context.viewer.id,
            ),
        )
        return ContactPayload(contact=main, errors=errors)

    @strawberry.mutation(
        description="Accept e-mailed tickets only from the main contact, or from anyone."
    )
    def set_ticket_policy(
        self, info: Info, customer_id: strawberry.ID, main_contact_only: bool
    ) -> "CustomerChangePayload":
        return _on_customer(
            info,
            customer_id,
            lambda customer: domain.set_ticket_policy(
                session=info.context.session,
                customer=customer,
                main_contact_only=main_contact_only,
                actor_id=info.context.viewer.id,
            ),
        )

    @strawberry.mutation
    def add_tags(
        self, info: Info, customer_id: strawberry.ID, tags: list[str]
    ) -> "CustomerChangePayload":
        return _on_customer(info, customer_id, _tags(info, add=tags, remove=[]))

    @strawberry.mutation
    def remove_tags(
        self, info: Info, customer_id: strawberry.ID, tags: list[str]
    ) -> "CustomerChangePayload":
        return _on_customer(info, customer_id, _tags(info, add=[], remove=tags))

    @strawberry.mutation
    def create_order(
        self, info: Info, customer_id: strawberry.ID, catalog: Catalog, lines: list[OrderLineInput]
    ) -> OrderPayload:
        customer = customer_by_id(info.context, customer_id)
        if customer is None:
            return OrderPayload(order=None, errors=not_found("customerId", "customer"))
        authorize_mutation(info, workgroup_id=customer.workgroup_id)
        for line in lines:
            authorize_mutation_inputs(info, customer.workgroup_id, line)
        order, errors = run_in_transaction(
            info,
            lambda: domain.create_order(
                session=info.context.session,
                customer=customer,
                catalog=catalog,
                lines=[(line.product, line.quantity) for line in lines],
                actor_id=info.context.viewer.id,
            ),
        )
        return OrderPayload(order=order, errors=errors)

    @strawberry.mutation
    def add_contract(
        self, info: Info, customer_id: strawberry.ID, input: AddContractInput
    ) -> ContractPayload:
        customer = customer_by_id(info.context, customer_id)
        if customer is None:
            return ContractPayload(contract=None, errors=not_found("customerId", "customer"))
        authorize_mutation(info, workgroup_id=customer.workgroup_id, inputs=input)
        values = provided_fields(input)
        for money in ("rate", "amount"):
            if values.get(money) is not None:
                values[money] = Decimal(str(values[money]))
        contract, errors = run_in_transaction(
            info,
            lambda: domain.add_contract(
                session=info.context.session,
                customer=customer,
                values=values,
                actor_id=info.context.viewer.id,
            ),
        )
        return ContractPayload(contract=contract, errors=errors)

    @strawberry.mutation(description="Sets the customer's SLA targets and alert-threshold profile.")
    def set_service_level(
        self,
        info: Info,
        customer_id: strawberry.ID,
        first_response_minutes: int,
        resolution_minutes: int,
        alert_profile: str,
    ) -> ServiceLevelPayload:
        customer = customer_by_id(info.context, customer_id)
        if customer is None:
            return ServiceLevelPayload(
                service_level=None, errors=not_found("customerId", "customer")
            )
        authorize_mutation(info, workgroup_id=customer.workgroup_id)
        level, errors = run_in_transaction(
            info,
            lambda: domain.set_service_level(
                session=info.context.session,
                customer=customer,
                first_response_minutes=first_response_minutes,
                resolution_minutes=resolution_minutes,
                alert_profile=alert_profile,
                actor_id=info.context.viewer.id,
            ),
        )
        return ServiceLevelPayload(service_level=level, errors=errors)

    @strawberry.mutation
    def create_project(self, info: Info, workgroup_id: strawberry.ID, name: str) -> ProjectPayload:
        workgroup = visible_workgroup_pk(info.context, workgroup_id)
        if workgroup is None:
            return ProjectPayload(project=None, errors=not_found("workgroupId", "workgroup"))
        authorize_mutation(info, workgroup_id=workgroup)
        project, errors = run_in_transaction(
            info,
            lambda: domain.create_project(
                session=info.context.session,
                workgroup_id=workgroup,
                name=name,
                actor_id=info.context.viewer.id,
            ),
        )
        return ProjectPayload(project=project, errors=errors)

    @strawberry.mutation
    def add_project_member(
        self, info: Info, project_id: strawberry.ID, customer_id: strawberry.ID
    ) -> ProjectPayload:
        return _membership(info, project_id, customer_id, member=True)

    @strawberry.mutation
    def remove_project_member(
        self, info: Info, project_id: strawberry.ID, customer_id: strawberry.ID
    ) -> ProjectPayload:
        return _membership(info, project_id, customer_id, member=False)


@strawberry.type
class CustomerChangePayload:
    customer: Customer | None
    errors: list[UserError]


def authorize_mutation_inputs(info: Info, workgroup_id: int, data) -> None:
    for name in provided_fields(data):
        info.context.scope.require(
            f"{type(data).__strawberry_definition__.name}.{camel(name)}", workgroup_id=workgroup_id
        )


def _on_customer(info: Info, customer_id: str, change) -> CustomerChangePayload:
    customer = customer_by_id(info.context, customer_id)
    if customer is None:
        return CustomerChangePayload(customer=None, errors=not_found("customerId", "customer"))
    authorize_mutation(info, workgroup_id=customer.workgroup_id)
    changed, errors = run_in_transaction(info, lambda: change(customer))
    return CustomerChangePayload(customer=changed, errors=errors)


def _tags(info: Info, *, add: list[str], remove: list[str]):
    return lambda customer: domain.change_tags(
        session=info.context.session,
        customer=customer,
        add=add,
        remove=remove,
        actor_id=info.context.viewer.id,
    )


def _membership(info: Info, project_id: str, customer_id: str, *, member: bool) -> ProjectPayload:
    project = _visible_project(info, project_id)
    if project is None:
        return ProjectPayload(project=None, errors=not_found("projectId", "project"))
    customer = customer_by_id(info.context, customer_id)
    if customer is None or customer.workgroup_id != project.workgroup_id:
        return ProjectPayload(project=None, errors=not_found("customerId", "customer"))
    authorize_mutation(info, workgroup_id=project.workgroup_id)
    changed, errors = run_in_transaction(
        info,
        lambda: domain.set_project_member(
            session=info.context.session,
            project=project,
            customer=customer,
            member=member,
            actor_id=info.context.viewer.id,
        ),
    )
    return ProjectPayload(project=changed, errors=errors)
