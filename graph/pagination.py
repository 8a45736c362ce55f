"""Relay connections over offset cursors, with `first` capped by settings."""

import base64
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import strawberry

from graph.errors import BadUserInput

T = TypeVar("T")
_PREFIX = "offset:"
_OFFSET = re.compile(r"offset:([0-9]{1,9})")  # ASCII digits only; far below any database limit


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{offset}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raw = ""
    match = _OFFSET.fullmatch(raw)
    if match is None:
        raise BadUserInput("`after` is not a cursor this list returned.", argument="after")
    return int(match.group(1))


@dataclass(frozen=True, slots=True)
class Page:
    offset: int
    limit: int

    @classmethod
    def from_args(cls, first: int, after: str | None, max_size: int) -> "Page":
        if first < 0 or first > max_size:
            raise BadUserInput(f"`first` must be between 0 and {max_size}.", argument="first")
        offset = decode_cursor(after) + 1 if after else 0
        return cls(offset=offset, limit=first)


@strawberry.type(description="Where a page of a list stands.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], int]]

    @strawberry.field(description="How many items the whole list has, across all pages.")
    def total_count(self) -> int:
        return self.count()


def connection(rows: Sequence, page: Page, count: Callable[[], int]) -> Connection:
    """Builds a connection from up to `page.limit + 1` rows (the extra one tells of a next page)."""
    has_next = len(rows) > page.limit
    rows = rows[: page.limit]
    start = page.offset
    edges = [Edge(cursor=encode_cursor(start + i), node=row) for i, row in enumerate(rows)]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=start > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        count=count,
    )
