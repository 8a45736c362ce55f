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
