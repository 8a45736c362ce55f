"""The HTTP/1.1 protocol `clientele serve` runs under uvicorn: h11's, with Nagle's algorithm
off on every connection.

With more than one worker uvicorn binds the listening socket itself, without IPPROTO_TCP, and
asyncio then leaves TCP_NODELAY off on the connections it accepts (uvicorn issue #3149): the
body of each response waited for the client's delayed ACK of its headers, ~40 ms per request
on a kept-alive connection (measured here: 52 ms per customer by id with 2 workers, 8 ms with
1). Setting it on each connection serves both paths.
"""

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        connection = transport.get_extra_info("socket")
        if connection is not None and connection.family in (socket.AF_INET, socket.AF_INET6):
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
