"""Per-request batch loaders that run synchronously.

A list resolver announces the keys its rows will ask for (`want`); the first `get` loads every
announced key in one query. Nested fields stay plain synchronous resolvers, and the number of
statements does not grow with the rows.
"""

from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

from sqlalchemy import select
from sqlmodel import Session

from models.accounts import Workgroup
from models.customers import tags_by_customer

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BatchLoader(Generic[K, V]):
    def __init__(self, load: Callable[[list[K]], dict[K, V]], default: V):
        self._load = load
        self._default = default
        self._values: dict[K, V] = {}
        self._wanted: set[K] = set()

    def want(self, keys: Iterable[K]) -> None:
        self._wanted.update(key for key in keys if key not in self._values)

    def get(self, key: K) -> V:
        try:
            return self._values[key]
        except KeyError:
            pass
        batch = list(self._wanted | {key})
        found = self._load(batch)
        for batch_key in batch:
            self._values[batch_key] = found.get(batch_key, self._default)
        self._wanted.clear()
        return self._values[key]


class Loaders:
    def __init__(self, session: Session):
        self.workgroups: BatchLoader[int, Workgroup | None] = BatchLoader(
            lambda ids: {
                w.id: w
                for w in session.execute(select(Workgroup).where(Workgroup.id.in_(ids))).scalars()  # type: ignore[union-attr]
            },
            None,
        )
        self.customer_tags: BatchLoader[int, list[str]] = BatchLoader(
            lambda ids: tags_by_customer(session=session, customer_ids=ids), []
        )
