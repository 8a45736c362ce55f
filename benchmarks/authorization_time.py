"""The authorizer's own time in a request: building the viewer's access scope, collecting the
coordinates the operation selects, deciding their rules and building the row conditions.

On/off ratios compare two whole requests, so on a machine whose speed drifts they scatter by
more than what authorization costs; this measures that cost directly, by timing those steps
(wrapped for the duration of a benchmark only)."""

import time
from contextlib import contextmanager

import graph.execution as execution
from policies.scope import AccessScope

_spent = [0.0]


def _timed(function):
    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            _spent[0] += time.perf_counter() - started

    return timed


@contextmanager
def measuring():
    """While active, `spent()` accumulates the time of every authorization step."""
    saved = (
        AccessScope.__dict__["build"],
        AccessScope.field_rules,
        AccessScope.visible,
        execution.selected_coordinates,
    )
    AccessScope.build = classmethod(_timed(saved[0].__func__))  # type: ignore[method-assign]
    AccessScope.field_rules = _timed(saved[1])  # type: ignore[method-assign]
    AccessScope.visible = _timed(saved[2])  # type: ignore[method-assign]
    execution.selected_coordinates = _timed(saved[3])
    try:
        yield
    finally:
        AccessScope.build, AccessScope.field_rules, AccessScope.visible = saved[:3]  # type: ignore[method-assign]
        execution.selected_coordinates = saved[3]


def reset() -> None:
    _spent[0] = 0.0


def spent() -> float:
    return _spent[0]
