"""`clientele serve` answers kept-alive requests without waiting on Nagle's algorithm, also
with several workers, where uvicorn binds the listening socket itself."""

import asyncio
import socket

import uvicorn

from graph.http_protocol import NoDelayH11Protocol

SERVED_PROTOCOL = "graph.http_protocol:NoDelayH11Protocol"  # as graph/cli.py names it


async def _ok(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def nodelay_of_an_accepted_connection(http: str) -> int:
    """Serves on a socket bound the way uvicorn binds it for several workers, opens a
    connection, and reads TCP_NODELAY on the server's side of it."""
    config = uvicorn.Config(_ok, host="127.0.0.1", port=0, http=http, lifespan="off")
    server = uvicorn.Server(config)
    listener = config.bind_socket()
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        reader, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        writer.write(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")
        (connection,) = server.server_state.connections
        accepted = connection.transport.get_extra_info("socket")
        value = accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        writer.close()
        await writer.wait_closed()
        return value
    finally:
        server.should_exit = True
        await serving
        listener.close()


def test_the_served_protocol_is_the_one_with_nagle_off():
    config = uvicorn.Config(_ok, http=SERVED_PROTOCOL)
    config.load()
    assert config.http_protocol_class is NoDelayH11Protocol


def test_connections_on_a_socket_uvicorn_bound_have_nagle_off():
    # when a connection is accepted on a listening socket uvicorn bound itself (as it does for
    # --workers 2 and more; asyncio then leaves TCP_NODELAY alone)
    value = asyncio.run(nodelay_of_an_accepted_connection(SERVED_PROTOCOL))

    # then the served protocol turned Nagle's algorithm off on it
    assert value != 0
