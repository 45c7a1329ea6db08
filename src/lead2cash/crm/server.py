"""Serving one CRM app on plain HTTP and HTTPS at once, from the CLI or in-process for tests.

Both listeners share one application (one org, one limiter, one token key). Sockets are bound before
the servers start, so callers may ask for port 0 and learn the real port without a race. Signal handling
is done once here (Ctrl-C / SIGTERM stop both listeners) instead of by each uvicorn server.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):  # signals are handled by CrmServer for both listeners
        yield


def bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it a response's header and body writes wait on the
    # client's delayed ACK (~40 ms per request on keep-alive connections).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


@dataclass
class CrmServer:
    """HTTP on ``http_port`` and, when a certificate is given, HTTPS on ``https_port`` (0 = any free port)."""

    app: object
    host: str = "127.0.0.1"
    http_port: int | None = 0
    https_port: int | None = 0
    certfile: Path | None = None
    keyfile: Path | None = None
    log_level: str = "warning"
    _servers: list[_Server] = field(default_factory=list)
    _sockets: list[socket.socket] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)
    _thread: threading.Thread | None = None

    def prepare(self) -> None:
        listeners = []
        if self.http_port is not None:
            listeners.append(("http", self.http_port, {}))
        if self.https_port is not None and self.certfile is not None:
            tls = {"ssl_certfile": str(self.certfile), "ssl_keyfile": str(self.keyfile)}
            listeners.append(("https", self.https_port, tls))
        for scheme, port, extra in listeners:
            sock = bind(self.host, port)
            self._sockets.append(sock)
            self.ports[scheme] = sock.getsockname()[1]
            config = uvicorn.Config(self.app, log_level=self.log_level, lifespan="off", **extra)
            self._servers.append(_Server(config))

    def url(self, scheme: str = "https") -> str:
        return f"{scheme}://{self.host}:{self.ports[scheme]}"

    async def serve(self) -> None:
        if not self._servers:
            self.prepare()
        loop = asyncio.get_running_loop()
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.stop)
        await asyncio.gather(*(s.serve(sockets=[sock]) for s, sock in zip(self._servers, self._sockets, strict=True)))

    def run(self) -> None:
        """Serve until stopped, on uvicorn's preferred event loop (uvloop when installed)."""
        if not self._servers:
            self.prepare()
        with asyncio.Runner(loop_factory=self._servers[0].config.get_loop_factory()) as runner:
            runner.run(self.serve())

    def stop(self) -> None:
        for server in self._servers:
            server.should_exit = True

    # ---- in a background thread (tests, benchmarks) ----

    def start_in_thread(self, timeout: float = 10.0) -> CrmServer:
        self.prepare()
        self._thread = threading.Thread(target=self.run, daemon=True, name="crm-server")
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not all(s.started for s in self._servers):
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the CRM server did not start")
            time.sleep(0.02)
        return self

    def stop_thread(self, timeout: float = 10.0) -> None:
        self.stop()
        if self._thread is not None:
            self._thread.join(timeout)
        for sock in self._sockets:
            sock.close()
