import strawberry
from strawberry import UNSET

from graph.support.types import CaseClassification, CaseSeverity


@strawberry.input(
    description="A new support case. The opener is its primary contact unless "
    "`primaryContactEmail` names another user of the workgroup."
)
class OpenSupportCaseInput:
    workgroup_id: strawberry.ID
    title: str
    severity: CaseSeverity
    description: str | None = UNSET
    classification: CaseClassification | None = UNSET
    customer_id: strawberry.ID | None = UNSET
    agreement_id: strawberry.ID | None = UNSET
    package_id: strawberry.ID | None = UNSET
    service_amount_id: strawberry.ID | None = UNSET
    primary_contact_email: str | None = UNSET
