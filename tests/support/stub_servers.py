"""Tiny real HTTP servers for tests that need a misbehaving upstream the sandbox cannot play:
one that records whatever reaches it, one that redirects, one that trickles its answer."""

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Reads as success to every client: Glance's, OnSync's and the SMS gateway's answer shapes.
SUCCESS = {"sessionKey": "999999", "invitationText": "captured", "session_id": "s_999", "id": "1"}


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class StubServer:
    url: str
    received: list[Received] = field(default_factory=list)


@contextmanager
def capture_server() -> Iterator[StubServer]:
    """Records every request and answers 200 with a body every client takes for success."""
    with _serve(lambda stub, request: (200, {}, json.dumps(SUCCESS).encode())) as stub:
        yield stub


@contextmanager
def redirect_server(location: str, status: int = 307) -> Iterator[StubServer]:
    """Answers every request with `status` and `Location: <location>`."""
    with _serve(lambda stub, request: (status, {"Location": location}, b"")) as stub:
        yield stub


@contextmanager
def _serve(answer) -> Iterator[StubServer]:
    stub = StubServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = Received(
                method=self.command,
                path=self.path,
                headers=dict(self.headers.items()),
                body=self.rfile.read(length),
            )
            stub.received.append(request)
            status, headers, body = answer(stub, request)
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _handle

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def trickle_server(answer: bytes, *, byte_delay: float, trickle_from: int = 0) -> Iterator[str]:
    """A one-connection server that reads the request, then writes `answer`: its first
    `trickle_from` bytes at once, the rest one byte every `byte_delay` seconds. Yields its URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    stop = threading.Event()

    def run() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return  # closed unused
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(answer[:trickle_from])
                for byte in answer[trickle_from:]:
                    if stop.wait(byte_delay):
                        break
                    conn.sendall(bytes([byte]))
                stop.wait(5)
            except OSError:
                pass  # the client cut the connection, as it should

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes an accept() still waiting
        listener.close()
        thread.join(5)


def http_answer(body: bytes, *, headers: bytes = b"") -> bytes:
    """A complete HTTP/1.1 200 answer with a JSON `body`."""
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + headers
        + b"Content-Length: %d\r\n\r\n" % len(body)
        + body
    )
