import strawberry
from strawberry import UNSET

from graph.customers.types import CompanySize, Industry, Relationship, RenewalPolicy


@strawberry.input(description="A new customer. Company name and primary domain are required.")
class AddCustomerInput:
    workgroup_id: strawberry.ID
    company_name: str
    primary_domain: str = strawberry.field(description='E.g. "example.com", without "@".')
    domains: list[str] | None = UNSET
    primary_location: str | None = strawberry.field(
        default=UNSET, description="ISO 3166-1 alpha-2 country code."
    )
    city: str | None = UNSET
    state: str | None = UNSET
    address: str | None = UNSET
    postal_code: str | None = UNSET
    phone: str | None = UNSET
    fax: str | None = UNSET
    industry: Industry | None = UNSET
    company_size: CompanySize | None = UNSET
    rank: int | None = UNSET
    business_id: str | None = UNSET
    renewal_policy: RenewalPolicy | None = UNSET
    relationship: Relationship | None = UNSET
    tags: list[str] | None = UNSET


@strawberry.input(
    description="Changes to a customer: only the fields given are changed; null clears."
)
class UpdateCustomerInput:
    company_name: str | None = UNSET
    primary_domain: str | None = UNSET
    domains: list[str] | None = UNSET
    primary_location: str | None = UNSET
    city: str | None = UNSET
    state: str | None = UNSET
    address: str | None = UNSET
    postal_code: str | None = UNSET
    phone: str | None = UNSET
    fax: str | None = UNSET
    industry: Industry | None = UNSET
    company_size: CompanySize | None = UNSET
    rank: int | None = UNSET
    business_id: str | None = UNSET
    renewal_policy: RenewalPolicy | None = UNSET
    relationship: Relationship | None = UNSET
    tags: list[str] | None = UNSET
