"""Runs GraphQL requests in-process (sign-in, execution, JSON encoding — as the endpoint does)
with the authorizer on and off, counts SQL statements and Casbin evaluations, and times them
beside a floor, in interleaved runs."""

import statistics
import time
from contextlib import contextmanager

import orjson
from sqlalchemy import event
from starlette.requests import Request

from benchmarks import authorization_time
from graph.app import QUERIES_ONLY, GraphQLEndpoint
from graph.auth import mint_token
from graph.exports import CustomerExport
from graph.ids import encode_id
from graph.schema import build_schema
from models.settings import Settings
from policies import Authorizer


@contextmanager
def counting(engine):
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


class Harness:
    def __init__(self, url: str, engine):
        self.engine = engine
        self.settings = Settings(database_url=url, max_page_size=1000)
        schema = build_schema(self.settings)
        self.on = GraphQLEndpoint(
            schema=schema, engine=engine, authorizer=Authorizer.from_files(), settings=self.settings
        )
        self.off = GraphQLEndpoint(
            schema=schema,
            engine=engine,
            authorizer=Authorizer.from_files(enabled=False),
            settings=self.settings,
        )

    def request(self, endpoint: GraphQLEndpoint, email: str, query: str, variables: dict):
        started = time.perf_counter()
        status, body = endpoint.execute(
            email=email,
            params={"query": query, "variables": variables},
            allowed=QUERIES_ONLY,
            request_id="bench",
        )
        orjson.dumps(body)
        elapsed = time.perf_counter() - started
        if status != 200 or body.get("data") is None:
            raise RuntimeError(f"benchmark query failed: {body}")
        return elapsed, body

    def cost(self, email: str, query: str, variables: dict) -> tuple[int, int]:
        authorizer = self.on.authorizer
        authorizer.clear_cache()
        before = authorizer.evaluations
        with counting(self.engine) as statements:
            self.request(self.on, email, query, variables)
        return len(statements), authorizer.evaluations - before

    def compare(self, name, email, query, variables, floor, runs: int) -> dict:
        statements, evaluations = self.cost(email, query, variables)
        for _ in range(2):  # warm caches (parser, validation, decisions) on every side
            self.request(self.on, email, query, variables)
            self.request(self.off, email, query, variables)
            floor()
        samples: dict[str, list[float]] = {"on": [], "off": [], "floor": [], "authz": []}

        def authorized() -> float:
            authorization_time.reset()
            with authorization_time.measuring():
                elapsed = self.request(self.on, email, query, variables)[0]
            samples["authz"].append(authorization_time.spent())
            return elapsed

        sides = [
            ("on", authorized),
            ("off", lambda: self.request(self.off, email, query, variables)[0]),
            ("floor", floor),
        ]
        for run in range(runs):
            for side, action in sides[run % 3 :] + sides[: run % 3]:
                samples[side].append(action())
        return self._row(name, samples, statements, evaluations)

    def compare_export(self, name, email, workgroup_id, floor, runs: int) -> dict:
        token = mint_token(email, self.settings)
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/exports/customers.csv",
            "query_string": f"workgroupId={encode_id('Workgroup', workgroup_id)}".encode(),
            "headers": [(b"authorization", f"Bearer {token}".encode())],
            "state": {"request_id": "bench"},
        }

        def export(authorizer) -> float:
            exporter = CustomerExport(
                engine=self.engine, authorizer=authorizer, settings=self.settings
            )
            started = time.perf_counter()
            plan = exporter._authorized_plan(Request(scope), token)
            size = sum(len(chunk) for chunk in exporter._lines(plan))
            assert size > 0
            return time.perf_counter() - started

        on, off = self.on.authorizer, self.off.authorizer
        on.clear_cache()
        before = on.evaluations
        with counting(self.engine) as statements:
            export(on)
        evaluations = on.evaluations - before
        samples: dict[str, list[float]] = {"on": [], "off": [], "floor": []}
        for _ in range(runs):
            samples["on"].append(export(on))
            samples["off"].append(export(off))
            samples["floor"].append(floor())
        return self._row(name, samples, len(statements), evaluations)

    def growth(self, name, email, query, variable, values) -> dict:
        steps = []
        for value in values:
            variables = {} if variable is None else {variable: value}
            statements, evaluations = self.cost(email, query, variables)
            steps.append(
                {"rows": value or "all", "statements": statements, "evaluations": evaluations}
            )
        return {"name": name, "steps": steps}

    @staticmethod
    def _row(name, samples, statements, evaluations) -> dict:
        on, off, floor = (statistics.median(samples[k]) for k in ("on", "off", "floor"))
        ordered = sorted(samples["on"])
        return {
            "name": name,
            "on_ms": _ms(on),
            "on_p95_ms": _ms(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]),
            "off_ms": _ms(off),
            "floor_ms": _ms(floor),
            "graphql_over_floor": round(on / floor, 2),
            "on_over_off": round(on / off, 3),
            "authorization_ms": round(statistics.median(samples["authz"]) * 1000, 3)
            if samples.get("authz")
            else None,
            "statements": statements,
            "evaluations": evaluations,
        }
