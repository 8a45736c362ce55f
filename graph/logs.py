"""Request ids in the log.

RequestIdMiddleware sets REQUEST_ID for the request; the context travels into the worker thread
that executes the operation (the context is copied). Every log record then carries
`record.request_id` (a record factory, so it holds whichever handler or formatter the host uses),
and configure_logging() gives `clientele serve` a handler that prints it on every line.
"""

import logging
import sys
from contextvars import ContextVar

REQUEST_ID: ContextVar[str] = ContextVar("clientele_request_id", default="-")
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"

_previous_factory = logging.getLogRecordFactory()


def _record_with_request_id(*args, **kwargs) -> logging.LogRecord:
    record = _previous_factory(*args, **kwargs)
    record.request_id = REQUEST_ID.get()
    return record


_record_with_request_id.clientele = True  # type: ignore[attr-defined]


def install_record_factory() -> None:
    """Every record made from now on carries `request_id` (idempotent)."""
    global _previous_factory
    current = logging.getLogRecordFactory()
    if not getattr(current, "clientele", False):
        _previous_factory = current
        logging.setLogRecordFactory(_record_with_request_id)


class RequestIdFilter(logging.Filter):
    """For handlers fed by records made before install_record_factory(): fills the gap."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def handler(stream=None) -> logging.Handler:
    """A handler that prints the request id on every line."""
    made = StderrHandler() if stream is None else logging.StreamHandler(stream)
    made.addFilter(RequestIdFilter())
    made.setFormatter(logging.Formatter(FORMAT))
    made.clientele = True  # type: ignore[attr-defined]
    return made


def configure_logging(level: str = "INFO") -> None:
    """Request ids on every record, and the `clientele` loggers at `level`.

    When nothing else configured logging (no handler on the root logger, as under `clientele
    serve`: uvicorn configures only its own loggers), the `clientele` logger also gets a stderr
    handler printing the request id on each line. A host that configured the root logger keeps
    its handlers, and may print `%(request_id)s` with them.
    """
    install_record_factory()
    logger = logging.getLogger("clientele")
    logger.setLevel(level.upper())
    ours = any(getattr(h, "clientele", False) for h in logger.handlers)
    if not ours and not logging.getLogger().handlers:
        logger.addHandler(handler())
