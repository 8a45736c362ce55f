"""Adding, changing, archiving and reactivating customers. There is no delete."""

import strawberry
from strawberry.types import Info

from graph.core.mutations import (
    authorize_mutation,
    not_found,
    provided_fields,
    run_in_transaction,
)
from graph.core.types import UserError
from graph.customers.inputs import AddCustomerInput, UpdateCustomerInput
from graph.customers.queries import customer_by_id
from graph.customers.types import Customer
from graph.workgroups.queries import visible_workgroup_pk
from models.customers import operations as domain


@strawberry.type
class CustomerPayload:
    customer: Customer | None
    errors: list[UserError]


@strawberry.type
class CustomerMutations:
    @strawberry.mutation
    def add_customer(self, info: Info, input: AddCustomerInput) -> CustomerPayload:
        context = info.context
        workgroup_id = visible_workgroup_pk(context, input.workgroup_id)
        if workgroup_id is None:
            return CustomerPayload(customer=None, errors=not_found("workgroupId", "workgroup"))
        authorize_mutation(info, workgroup_id=workgroup_id, inputs=input)
        values = provided_fields(input)
        del values["workgroup_id"]
        customer, errors = run_in_transaction(
            info,
            lambda: domain.add_customer(
                session=context.session,
                workgroup_id=workgroup_id,
                values=values,
                actor_id=context.viewer.id,
            ),
        )
        return CustomerPayload(customer=customer, errors=errors)

    @strawberry.mutation
    def update_customer(
        self,
        info: Info,
        id: strawberry.ID,
        input: UpdateCustomerInput,
        expected_version: int | None = None,
    ) -> CustomerPayload:
        context = info.context
        customer = customer_by_id(context, id)
        if customer is None:
            return CustomerPayload(customer=None, errors=not_found("id", "customer"))
        authorize_mutation(info, workgroup_id=customer.workgroup_id, inputs=input)
        updated, errors = run_in_transaction(
            info,
            lambda: domain.update_customer(
                session=context.session,
                customer=customer,
                changes=provided_fields(input),
                expected_version=expected_version,
                actor_id=context.viewer.id,
            ),
        )
        return CustomerPayload(customer=updated, errors=errors)

    @strawberry.mutation(description="Archives a customer; it leaves the default list.")
    def archive_customer(
        self, info: Info, id: strawberry.ID, expected_version: int | None = None
    ) -> CustomerPayload:
        return _change_status(info, id, expected_version, domain.archive_customer)

    @strawberry.mutation(description="Brings an archived customer back with all it had.")
    def reactivate_customer(
        self, info: Info, id: strawberry.ID, expected_version: int | None = None
    ) -> CustomerPayload:
        return _change_status(info, id, expected_version, domain.reactivate_customer)


def _change_status(info: Info, id: str, expected_version: int | None, operation) -> CustomerPayload:
    context = info.context
    customer = customer_by_id(context, id)
    if customer is None:
        return CustomerPayload(customer=None, errors=not_found("id", "customer"))
    authorize_mutation(info, workgroup_id=customer.workgroup_id)
    changed, errors = run_in_transaction(
        info,
        lambda: operation(
            session=context.session,
            customer=customer,
            expected_version=expected_version,
            actor_id=context.viewer.id,
        ),
    )
    return CustomerPayload(customer=changed, errors=errors)
