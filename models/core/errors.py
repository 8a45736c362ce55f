"""Expected failures of domain operations: data for the caller, never a crash."""

from dataclasses import dataclass
from enum import StrEnum


class ErrorCode(StrEnum):
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    DUPLICATE = "DUPLICATE"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    ARCHIVED = "ARCHIVED"
    NOT_ARCHIVED = "NOT_ARCHIVED"
    LAST_ADMIN = "LAST_ADMIN"


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str | None
    message: str
    code: ErrorCode


class DomainError(Exception):
    """Raised by a domain operation to abandon its transaction with user-facing errors."""

    def __init__(self, errors: list[FieldError]):
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors
