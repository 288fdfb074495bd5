"""Running the app with uvicorn: in the foreground (``tdxverify serve``) or in a background thread (tests)."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

from .app import create_app
from .clock import Clock
from .config import ServiceConfig
from .service import Service

__all__ = ["BackgroundServer", "bind", "uvicorn_config"]


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``port`` 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio sets TCP_NODELAY on accepted connections only then, and without it
    # every keep-alive answer waits ~40 ms for the client's delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def uvicorn_config(app: Any, config: ServiceConfig, *, log_level: str = "warning") -> uvicorn.Config:
    """uvicorn settings the service relies on: h11 (pure Python), its own lifespan, bounded keep-alive."""
    return uvicorn.Config(
        app,
        http="h11",
        loop="asyncio",
        lifespan="on",
        log_level=log_level,
        access_log=False,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=10,
        # Header blocks beyond this are refused by h11 (the body limit is the app's).
        h11_max_incomplete_event_size=64 * 1024,
        server_header=False,
    )


class BackgroundServer:
    """The service on ``127.0.0.1`` (by default) in a daemon thread, for tests and embedding.

    ``with BackgroundServer(config, clock) as srv: urlopen(srv.url + "/healthz")``.
    """

    def __init__(self, config: ServiceConfig, clock: Clock | None = None, *, host: str = "127.0.0.1") -> None:
        self.service = Service(config, clock)
        self.app = create_app(config, service=self.service)
        self.sock = bind(host, 0)
        self.host = host
        self.port: int = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn_config(self.app, config))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> BackgroundServer:
        """Start serving (once; later calls return at once) and wait until the service answers."""
        if not self.thread.is_alive() and self.thread.ident is None:
            self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the service did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 20.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        self.sock.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
