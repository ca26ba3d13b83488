"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, for asserting on delivered mail.

Use it as a context manager (``with FakeSmtpServer() as server: ...``) or through the ``smtp_server`` fixture
defined where it is needed. It listens on a free port chosen by the operating system and can:

- require a login (``users={"name": "password"}``: AUTH PLAIN/LOGIN; MAIL before AUTH gets 530 and a wrong
  password 535, as RFC 4954 section 6 specifies; aiosmtpd implements both);
- speak STARTTLS (``tls="starttls"``) or implicit TLS (``tls="implicit"``) with a throw-away self-signed
  certificate for 127.0.0.1; ``client_ssl_context()`` trusts exactly that certificate;
- refuse recipients (``reject_recipients``, 550 "mailbox unavailable") or defer every message (``defer_data``,
  451 "local error in processing"), the reply codes of RFC 5321 section 4.2.3.

Each message is kept as the bytes the client sent (``raw``) and parsed when a test first reads ``message``, so
the server costs little CPU beside the clients it serves (``benchmarks/notice_sending.py`` runs it on the same
cores as its workers).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import tempfile
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "127.0.0.1"


@dataclass
class ReceivedMail:
    """One message as the server received it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    login: str | None
    raw: bytes  # the message's bytes as the client sent them (after the SMTP dot-unstuffing)
    connection: int  # which SMTP connection carried it, numbered as connections deliver their first message

    @cached_property
    def message(self) -> EmailMessage:
        """Return the message parsed from ``raw``."""
        return BytesParser(policy=policy.default).parsebytes(self.raw)  # type: ignore[return-value]

    def part(self, content_type: str) -> str:
        """Return the decoded body part of ``content_type`` (``text/plain`` or ``text/html``)."""
        for part in self.message.walk():
            if part.get_content_type() == content_type and not part.is_multipart():
                return part.get_content()
        raise AssertionError(f"message has no {content_type} part")

    @property
    def text(self) -> str:
        """Return the plain-text body."""
        return self.part("text/plain")

    @property
    def html(self) -> str:
        """Return the HTML body."""
        return self.part("text/html")


class _Handler:
    def __init__(self, server: FakeSmtpServer) -> None:
        self.server = server

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list
    ) -> str:
        if self.server.users and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list
    ) -> str:
        if address in self.server.reject_recipients:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.server.defer_data:
            return "451 4.3.0 Try again later"
        with self.server._lock:
            if not hasattr(session, "connection_number"):
                self.server._connections += 1
                session.connection_number = self.server._connections
            received = ReceivedMail(
                envelope.mail_from,
                tuple(envelope.rcpt_tos),
                session.auth_data,
                envelope.original_content,
                session.connection_number,
            )
            self.server._received.append(received)
        return "250 Message accepted for delivery"


class _FreePortController(Controller):
    """Controller bound to port 0; learns the real port before aiosmtpd's readiness probe connects."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class FakeSmtpServer:
    """A local SMTP server that records every accepted message."""

    def __init__(
        self,
        *,
        users: Mapping[str, str] | None = None,
        tls: Literal["starttls", "implicit"] | None = None,
        reject_recipients: Iterable[str] = (),
    ) -> None:
        self.users = dict(users or {})
        self.tls = tls
        self.reject_recipients = set(reject_recipients)
        self.defer_data = False
        self._received: list[ReceivedMail] = []
        self._connections = 0
        self._lock = threading.Lock()
        self._tempdir = tempfile.TemporaryDirectory(prefix="fake-smtp-")
        self._cert_pem = b""
        self._controller: _FreePortController | None = None

    @property
    def host(self) -> str:
        """Return the address the server listens on."""
        return HOST

    @property
    def port(self) -> int:
        """Return the port the server listens on."""
        assert self._controller is not None, "server not started"
        return self._controller.port

    @property
    def messages(self) -> list[ReceivedMail]:
        """Return the messages received so far, oldest first."""
        with self._lock:
            return list(self._received)

    def url(self, *, user: str | None = None, password: str | None = None, sender: str | None = None) -> str:
        """Return an SMTP URL for this server in the scheme matching its TLS mode."""
        scheme = {None: "smtp", "starttls": "smtp+starttls", "implicit": "smtps"}[self.tls]
        auth = ""
        if user is not None:
            auth = (
                quote(user, safe="") + (f":{quote(password, safe='')}" if password is not None else "") + "@"
            )
        query = f"?from={quote(sender, safe='')}" if sender else ""
        return f"{scheme}://{auth}{self.host}:{self.port}{query}"

    def client_ssl_context(self) -> ssl.SSLContext:
        """Return a client context that trusts this server's certificate (and nothing else)."""
        assert self._cert_pem, "server runs without TLS"
        return ssl.create_default_context(cadata=self._cert_pem.decode("ascii"))

    def start(self) -> None:
        """Start listening."""
        kwargs: dict[str, Any] = {"server_hostname": "fake-smtp.test"}
        if self.users:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=False)
        if self.tls == "starttls":
            kwargs.update(tls_context=self._server_ssl_context(), require_starttls=True)
        elif self.tls == "implicit":
            kwargs.update(ssl_context=self._server_ssl_context())
        self._controller = _FreePortController(_Handler(self), hostname=HOST, port=0, **kwargs)
        self._controller.start()

    def stop(self) -> None:
        """Stop listening and remove the certificate files."""
        if self._controller is not None:
            self._controller.stop()
        self._tempdir.cleanup()

    def __enter__(self) -> FakeSmtpServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode()
            if login in self.users and self.users[login] == auth_data.password.decode():
                return AuthResult(success=True, auth_data=login)
        return AuthResult(success=False, handled=False)

    def _server_ssl_context(self) -> ssl.SSLContext:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-smtp.test")])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        self._cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        cert_file = Path(self._tempdir.name, "cert.pem")
        key_file = Path(self._tempdir.name, "key.pem")
        cert_file.write_bytes(self._cert_pem)
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_file, key_file)
        return context
