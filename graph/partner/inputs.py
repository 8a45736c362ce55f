import datetime as dt

import strawberry
from strawberry import UNSET

from graph.partner.types import ContractType


@strawberry.input
class AddContactInput:
    workgroup_id: strawberry.ID
    first_name: str
    last_name: str
    email: str
    customer_id: strawberry.ID | None = UNSET
    phone: str | None = UNSET
    job_title: str | None = UNSET
    send_invitation: bool = strawberry.field(
        default=False, description="Queue an invitation e-mail to the new contact."
    )


@strawberry.input(description="Only the fields given change.")
class UpdateContactInput:
    first_name: str | None = UNSET
    last_name: str | None = UNSET
    email: str | None = UNSET
    phone: str | None = UNSET
    job_title: str | None = UNSET


@strawberry.input
class OrderLineInput:
    product: str
    quantity: int


@strawberry.input
class AddContractInput:
    name: str
    type: ContractType
    rate: float | None = UNSET
    amount: float | None = UNSET
    starts_on: dt.date | None = UNSET
    ends_on: dt.date | None = UNSET
