"""Per-request batch loaders that run synchronously.

A list resolver announces the keys its rows will ask for (`want`); the first `get` loads every
announced key in one query. Nested fields stay plain synchronous resolvers, and the number of
statements does not grow with the rows. A `LoaderFamily` holds one loader per argument set
(e.g. `packages(kind:, status:)`), each told about every key announced to the family.
"""

from collections.abc import Callable, Hashable, Iterable
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlmodel import Session

from engine.among import among
from models.accounts.tables import User, Workgroup
from models.customers.tags import tags_by_customer

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BatchLoader(Generic[K, V]):
    def __init__(self, load: Callable[[list[K]], dict[K, V]], default: Callable[[], V]):
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
            self._values[batch_key] = found[batch_key] if batch_key in found else self._default()
        self._wanted.clear()
        return self._values[key]


class LoaderFamily(Generic[K, V]):
    def __init__(
        self, make: Callable[..., Callable[[list[K]], dict[K, V]]], default: Callable[[], V]
    ):
        self._make = make
        self._default = default
        self._known: set[K] = set()
        self._loaders: dict[tuple[Any, ...], BatchLoader[K, V]] = {}

    def want(self, keys: Iterable[K]) -> None:
        keys = set(keys)
        self._known |= keys
        for loader in self._loaders.values():
            loader.want(keys)

    def get(self, key: K, *args: Any) -> V:
        loader = self._loaders.get(args)
        if loader is None:
            loader = self._loaders[args] = BatchLoader(self._make(*args), self._default)
            loader.want(self._known)
        return loader.get(key)


class Loaders:
    def __init__(self, session: Session):
        self.session = session
        self.workgroups: BatchLoader[int, Workgroup | None] = BatchLoader(
            lambda ids: {
                w.id: w
                for w in session.execute(
                    select(Workgroup).where(among(Workgroup.id, ids))
                ).scalars()
            },
            lambda: None,
        )
        self.customer_tags: BatchLoader[int, list[str]] = BatchLoader(
            lambda ids: tags_by_customer(session=session, customer_ids=ids), list
        )
        self.users: BatchLoader[int, User | None] = BatchLoader(
            lambda ids: {
                u.id: u for u in session.execute(select(User).where(among(User.id, ids))).scalars()
            },
            lambda: None,
        )
        self._extra: dict[str, Any] = {}
        self._announced: dict[str, set[Any]] = {}
        self._listeners: dict[str, list[Callable[[Iterable[Any]], None]]] = {}

    def announce(self, type_name: str, keys: Iterable[Any]) -> None:
        """Tells every loader keyed by rows of `type_name` (now or later) which keys to batch."""
        keys = set(keys)
        self._announced.setdefault(type_name, set()).update(keys)
        for listener in self._listeners.get(type_name, []):
            listener(keys)

    def listen(self, type_name: str, want: Callable[[Iterable[Any]], None]) -> None:
        """`want` gets every key of `type_name` announced so far and from now on."""
        self._listeners.setdefault(type_name, []).append(want)
        want(self._announced.get(type_name, set()))

    def family(self, name: str, build: Callable[[], Any]) -> Any:
        """A loader (or family) other domains register once per request under `name`."""
        found = self._extra.get(name)
        if found is None:
            found = self._extra[name] = build()
        return found
