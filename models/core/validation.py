"""Field rules shared by domain operations. Each returns FieldErrors; none raises."""

import re

from models.core.countries import COUNTRY_CODES
from models.core.errors import ErrorCode, FieldError

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TLD = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")


def domain_problem(value: str) -> str | None:
    """Why `value` is not a host name fit to be an e-mail domain, or None."""
    if "@" in value:
        return 'Enter the domain without "@", e.g. example.com.'
    if any(ch.isspace() for ch in value):
        return "A domain has no spaces."
    if len(value) > 253:
        return "A domain has at most 253 characters."
    labels = value.split(".")
    if len(labels) < 2:
        return "A domain has at least two labels, e.g. example.com."
    for label in labels:
        if not _LABEL.match(label):
            return (
                f"{label!r} is not a valid domain label: letters, digits and inner hyphens, "
                "1 to 63 characters."
            )
    if not _TLD.match(labels[-1]):
        return f"{labels[-1]!r} is not a valid top-level domain."
    return None


def normalize_domain(value: str) -> str:
    return value.strip().lower().rstrip(".")


def check_text(
    field: str, value: str | None, *, max_length: int, required: bool = False
) -> list[FieldError]:
    if value is None or not value.strip():
        if required:
            return [FieldError(field, "This field is required.", ErrorCode.REQUIRED)]
        return []
    if len(value) > max_length:
        return [
            FieldError(field, f"At most {max_length} characters are allowed.", ErrorCode.TOO_LONG)
        ]
    if has_control_characters(value):
        return [FieldError(field, "Control characters are not allowed.", ErrorCode.INVALID)]
    return []


def has_control_characters(value: str) -> bool:
    """True if `value` holds a control character other than newline and tab."""
    return any(ord(ch) < 32 and ch not in "\n\t" for ch in value)


def check_domain(field: str, value: str | None, *, required: bool = False) -> list[FieldError]:
    if value is None or not value.strip():
        return (
            [FieldError(field, "This field is required.", ErrorCode.REQUIRED)] if required else []
        )
    problem = domain_problem(normalize_domain(value))
    return [FieldError(field, problem, ErrorCode.INVALID)] if problem else []


def check_country(field: str, value: str | None) -> list[FieldError]:
    if value is None or value == "":
        return []
    if value.strip().upper() not in COUNTRY_CODES:
        return [
            FieldError(
                field,
                f"{value!r} is not an ISO 3166-1 alpha-2 country code (e.g. DE, JP, US).",
                ErrorCode.INVALID,
            )
        ]
    return []


def normalize_tag(value: str) -> str:
    return " ".join(value.split())


TAG_SEPARATOR = ","


def check_tag_separator(field: str, tags: list[str]) -> list[FieldError]:
    """Tags are comma-separated in one cell of the customer CSV export and import, so a tag
    holding a comma would come back as two tags: none may be written."""
    if any(TAG_SEPARATOR in tag for tag in tags):
        return [
            FieldError(
                field,
                "A tag cannot contain a comma: tags are comma-separated in CSV files.",
                ErrorCode.INVALID,
            )
        ]
    return []
