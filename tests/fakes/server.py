"""Serve a WSGI app on 127.0.0.1 in a background thread, with request recording and fault injection.

Usage::

    with FakeServer(app) as server:
        server.fail_next(2, status=503)               # next two matching requests answer 503
        server.fail_next(1, status=429, retry_after=7)  # then one 429 with Retry-After: 7
        server.delay_next(1, seconds=2.0)               # then one slow response
        requests.get(server.url + "/path")
        assert server.requests[-1].path == "/path"

Faults are consumed in the order they were added, only by requests whose path starts with the fault's
``path`` prefix (default: every request) and, when a fault names one, whose ``method`` matches.
``tls=True`` serves HTTPS with a throw-away self-signed certificate for 127.0.0.1; point clients at
``server.ca_path`` (``session.verify = server.ca_path``).
"""

from __future__ import annotations

import datetime as dt
import io
import ipaddress
import json
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

WSGIApp = Callable[..., Iterable[bytes]]


class _QuietRequestHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Skip access logs: they would carry query-string signatures into test output."""


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    query_string: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """Return the body decoded as JSON."""
        return json.loads(self.body)


@dataclass
class Fault:
    """A canned misbehaviour for the next ``remaining`` matching requests."""

    remaining: int
    path: str = "/"
    status: int | None = None
    retry_after: str | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    method: str | None = None

    def matches(self, method: str, path: str) -> bool:
        """Tell whether a request is one this fault is for."""
        return path.startswith(self.path) and self.method in (None, method)


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    faults: list[Fault] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)


class FakeServer:
    """A real HTTP server for one WSGI app on a free loopback port."""

    def __init__(self, app: WSGIApp, *, host: str = "127.0.0.1", tls: bool = False) -> None:
        self.app = app
        self.host = host
        self.tls = tls
        self.ca_path: str | None = None
        self._state = _State()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def port(self) -> int:
        """Return the port the server listens on."""
        if self._server is None:
            raise RuntimeError("server not started")
        return self._server.server_port

    @property
    def url(self) -> str:
        """Return the base URL, e.g. ``http://127.0.0.1:54321``."""
        if self._server is None:
            raise RuntimeError("server not started")
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self._server.server_port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Return a snapshot of every request received so far."""
        with self._state.lock:
            return list(self._state.requests)

    def requests_to(self, path_prefix: str) -> list[RecordedRequest]:
        """Return the recorded requests whose path starts with ``path_prefix``."""
        return [r for r in self.requests if r.path.startswith(path_prefix)]

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        with self._state.lock:
            self._state.requests.clear()

    def fail_next(
        self,
        count: int,
        *,
        status: int = 500,
        retry_after: float | str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        path: str = "/",
        method: str | None = None,
    ) -> None:
        """Answer the next ``count`` requests under ``path`` with ``status`` instead of the app's answer."""
        self._add(
            Fault(
                remaining=count,
                path=path,
                method=method,
                status=status,
                retry_after=None if retry_after is None else str(retry_after),
                body=body if body is not None else {"error": f"injected {status}"},
                headers=dict(headers or {}),
            )
        )

    def delay_next(self, count: int, *, seconds: float, path: str = "/", method: str | None = None) -> None:
        """Hold the next ``count`` requests under ``path`` for ``seconds`` before the app answers."""
        self._add(Fault(remaining=count, path=path, method=method, delay=seconds))

    def clear_faults(self) -> None:
        """Drop every pending fault."""
        with self._state.lock:
            self._state.faults.clear()

    def _add(self, fault: Fault) -> None:
        with self._state.lock:
            self._state.faults.append(fault)

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._state.lock:
            for fault in self._state.faults:
                if fault.matches(method, path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._state.faults.remove(fault)
                    return fault
        return None

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        body = request.get_data(cache=True)
        # The app reads the body again from the environ, so hand it a fresh stream.
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            query_string=request.query_string.decode("latin-1"),
            headers=dict(request.headers.items()),
            body=body,
        )
        with self._state.lock:
            self._state.requests.append(recorded)
        fault = self._take_fault(request.method, request.path)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.status is not None:
            response = Response(json.dumps(fault.body), status=fault.status, mimetype="application/json")
            if fault.retry_after is not None:
                response.headers["Retry-After"] = fault.retry_after
            response.headers.extend(fault.headers)
            return response(environ, start_response)
        return self.app(environ, start_response)

    def start(self) -> FakeServer:
        """Start serving in a daemon thread."""
        ssl_context = self._make_tls_context() if self.tls else None
        self._server = make_server(
            self.host,
            0,
            self._wsgi,
            threaded=True,
            ssl_context=ssl_context,
            request_handler=_QuietRequestHandler,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},  # shutdown() waits up to one poll interval
            name="fake-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
        self._server = self._thread = self._tmpdir = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _make_tls_context(self) -> ssl.SSLContext:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.host)])
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(self.host))]), critical=False
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        self._tmpdir = tempfile.TemporaryDirectory(prefix="fake-server-tls-")
        cert_path = Path(self._tmpdir.name, "cert.pem")
        key_path = Path(self._tmpdir.name, "key.pem")
        cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        self.ca_path = str(cert_path)
        return context


@contextmanager
def serve(app: WSGIApp, *, tls: bool = False) -> Iterator[FakeServer]:
    """Serve ``app`` for the duration of the ``with`` block."""
    server = FakeServer(app, tls=tls)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class FakeClock:
    """A clock for fakes that moves only when a test says so (token expiry, timestamp windows)."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._now = start or dt.datetime.now(dt.UTC).replace(microsecond=0)
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        """Return the current fake time (aware, UTC)."""
        with self._lock:
            return self._now

    def timestamp(self) -> float:
        """Return the current fake time as a Unix timestamp."""
        return self.now().timestamp()

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        with self._lock:
            self._now += dt.timedelta(seconds=seconds)
