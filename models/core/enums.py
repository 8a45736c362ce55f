"""Closed vocabularies of the domain; names equal values, alike in SQL and GraphQL."""

from enum import StrEnum


class CustomerStatus(StrEnum):
    ACTIVE = "ACTIVE"
    ARCHIVED = "ARCHIVED"


class Industry(StrEnum):
    AGRICULTURE = "AGRICULTURE"
    CONSTRUCTION = "CONSTRUCTION"
    EDUCATION = "EDUCATION"
    ENERGY = "ENERGY"
    FINANCIAL_SERVICES = "FINANCIAL_SERVICES"
    GOVERNMENT = "GOVERNMENT"
    HEALTHCARE = "HEALTHCARE"
    HOSPITALITY = "HOSPITALITY"
    INFORMATION_TECHNOLOGY = "INFORMATION_TECHNOLOGY"
    LEGAL = "LEGAL"
    MANUFACTURING = "MANUFACTURING"
    MEDIA = "MEDIA"
    NON_PROFIT = "NON_PROFIT"
    PROFESSIONAL_SERVICES = "PROFESSIONAL_SERVICES"
    REAL_ESTATE = "REAL_ESTATE"
    RETAIL = "RETAIL"
    TELECOMMUNICATIONS = "TELECOMMUNICATIONS"
    TRANSPORTATION = "TRANSPORTATION"
    OTHER = "OTHER"


class CompanySize(StrEnum):
    """Rough head count ranges."""

    EMPLOYEES_1_10 = "EMPLOYEES_1_10"
    EMPLOYEES_11_50 = "EMPLOYEES_11_50"
    EMPLOYEES_51_200 = "EMPLOYEES_51_200"
    EMPLOYEES_201_500 = "EMPLOYEES_201_500"
    EMPLOYEES_501_1000 = "EMPLOYEES_501_1000"
    EMPLOYEES_1001_5000 = "EMPLOYEES_1001_5000"
    EMPLOYEES_5001_PLUS = "EMPLOYEES_5001_PLUS"


class RenewalPolicy(StrEnum):
    AUTO_RENEW = "AUTO_RENEW"
    DO_NOT_AUTO_RENEW = "DO_NOT_AUTO_RENEW"


class Relationship(StrEnum):
    DIRECT = "DIRECT"
    CLOUD_RESELLER = "CLOUD_RESELLER"
    INDIRECT_RESELLER = "INDIRECT_RESELLER"


class Role(StrEnum):
    """Roles held in a workgroup. Their grants live in policies/policy.csv."""

    ADMIN = "admin"
    ADMIN_AGENT = "admin_agent"
    SALES_AGENT = "sales_agent"
    CUSTOMER_ACTIVITY = "customer_activity"
    TRAINING_MANAGER = "training_manager"
    SUPPORT_VIEWER = "support_viewer"
    MEMBER = "member"


class PackageKind(StrEnum):
    ENTERPRISE = "ENTERPRISE"
    ADD_ON = "ADD_ON"


class PackageStatus(StrEnum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"


class ServiceCategory(StrEnum):
    REACTIVE_SUPPORT = "REACTIVE_SUPPORT"
    ADVISORY = "ADVISORY"
    PROACTIVE = "PROACTIVE"
    PROACTIVE_CREDITS = "PROACTIVE_CREDITS"
    EDUCATION_ON_DEMAND = "EDUCATION_ON_DEMAND"
    ASSESSMENTS_ON_DEMAND = "ASSESSMENTS_ON_DEMAND"
    CONTACTS = "CONTACTS"


class AmountKind(StrEnum):
    CONSUMABLE = "CONSUMABLE"
    BENEFIT = "BENEFIT"


class AmountUnit(StrEnum):
    HOURS = "HOURS"
    CREDITS = "CREDITS"
    SEATS = "SEATS"
    COUNT = "COUNT"


# Every service category, and the cases that count against no current agreement.
DrillDownCategory = StrEnum(
    "DrillDownCategory",
    {category.value: category.value for category in ServiceCategory}
    | {"ADDITIONAL_CASES": "ADDITIONAL_CASES"},
)


class CaseStatus(StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


class CaseSeverity(StrEnum):
    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MODERATE = "MODERATE"
    LOW = "LOW"


class CaseClassification(StrEnum):
    STANDARD = "STANDARD"
    SU = "SU"
    DSA = "DSA"
    X85 = "X85"
    REC = "REC"


class AdditionalCaseReason(StrEnum):
    """Why a case does not count against a current agreement."""

    CLASSIFICATION = "CLASSIFICATION"
    NO_AGREEMENT = "NO_AGREEMENT"
    OTHER_WORKGROUP = "OTHER_WORKGROUP"
    EXPIRED_AGREEMENT = "EXPIRED_AGREEMENT"


class Catalog(StrEnum):
    AZURE = "AZURE"
    MARKETPLACE = "MARKETPLACE"
    SOFTWARE = "SOFTWARE"
    ONLINE_SERVICES = "ONLINE_SERVICES"


class ContractType(StrEnum):
    RETAINER_FLAT_FEE = "RETAINER_FLAT_FEE"
    HOURLY = "HOURLY"
    BLOCK_HOURS = "BLOCK_HOURS"
    BLOCK_MONEY = "BLOCK_MONEY"
    REMOTE_MONITORING = "REMOTE_MONITORING"
    ONLINE_BACKUP = "ONLINE_BACKUP"
    PROJECT_ONE_TIME_FEE = "PROJECT_ONE_TIME_FEE"
    PROJECT_HOURLY_RATE = "PROJECT_HOURLY_RATE"
