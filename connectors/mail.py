"""Outbound e-mail: the ``Mailer`` interface and ``SmtpMailer``, configured by one URL.

``CLAIMBRIDGE_SMTP_URL`` forms (user and password percent-encoded; default ports in brackets):

- ``smtp://user:pass@host:port`` plain SMTP [25], for a trusted local relay only;
- ``smtp+starttls://user:pass@host:port`` upgraded with STARTTLS before logging in [587];
- ``smtps://user:pass@host:port`` implicit TLS [465].

Query options: ``from`` (default sender, e.g. ``from=Shop%20GmbH%20%3Cbilling%40shop.example%3E``) and
``timeout`` (seconds, default 30). Anything else is rejected, so a typo does not silently change behaviour.

``send`` opens one connection per message, so a worker that dies mid-run holds nothing open; inside
``with mailer.connection():`` (a worker's batch) one connection carries every message, checked with NOOP before
it is reused after a pause and dropped after any failure. Give each
notice a deterministic Message-ID (``message_id_for("notice-123", domain)``): a retried send after an unclear
failure then carries the same ID and the duplicate can be recognised by the receiving side and in our logs.
``flatten(message)`` returns the bytes ``send`` hands to the server; a caller that keeps a proof of what it sent
hashes them and passes them on (``send(message, content)``), so the message is flattened once and the proof is of
exactly what the server received. Errors are ``MailError`` subclasses that also fit the ``connectors.errors`` tree. Neither the password nor
the URL ever appears in a log line, an exception or a ``repr``; recipients are not logged either.
"""

from __future__ import annotations

import abc
import contextlib
import copy
import io
import logging
import re
import smtplib
import ssl
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import headerregistry, policy
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from connectors import errors

logger = logging.getLogger(__name__)

Security = Literal["plain", "starttls", "tls"]
_SCHEMES: dict[str, tuple[Security, int]] = {
    "smtp": ("plain", 25),
    "smtp+starttls": ("starttls", 587),
    "smtps": ("tls", 465),
}
DEFAULT_TIMEOUT = 30.0
_MESSAGE_ID_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_DOMAIN = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*")


class MailError(errors.ConnectorError):
    """Sending an e-mail failed; ``status`` is the SMTP reply code when the server gave one."""

    should_retry: bool = False


class MailAuthError(MailError, errors.AuthError):
    """The server rejected our credentials or requires authentication we did not configure."""


class MailRejectedError(MailError, errors.ClientError):
    """The server permanently refused the sender, a recipient or the message (5xx).

    ``refused`` maps each refused recipient to its (code, reply). When only some recipients were refused
    the others did receive the message, so it must not be sent again.
    """

    def __init__(
        self, message: str, *, status: int | None = None, refused: dict[str, tuple[int, str]] | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.refused = refused or {}


class MailTemporaryError(MailError, errors.ServerError):
    """The server refused for now (4xx); the message was not accepted and may be sent again later."""

    should_retry = True


class MailConnectionError(MailError, errors.ConnectionError):
    """No SMTP conversation completed (refused, reset, timed out, TLS failed).

    ``should_retry`` is True when the failure happened before the message was handed over; False when the
    connection broke during the transaction and the server may have accepted it.
    """


class Mailer(abc.ABC):
    """Sends e-mail messages."""

    @abc.abstractmethod
    def send(self, message: EmailMessage, content: bytes | None = None) -> str:
        """Send ``message`` and return its Message-ID; raise ``MailError`` on failure.

        ``content`` is ``flatten(message)`` when the caller already has it; it goes out as it is.
        """

    @contextlib.contextmanager
    def connection(self) -> Iterator[None]:
        """Keep what sending needs open for the sends inside the block; a mailer without connections keeps nothing."""
        yield


class _ReusingHeaderRegistry(headerregistry.HeaderRegistry):
    """The standard header classes, each built once: the stock registry builds a new class for every header set.

    That class creation was most of the cost of building and flattening a notice's e-mail; the classes and so
    the headers and bytes are the same.
    """

    def __init__(self) -> None:
        super().__init__()
        self._built: dict[str, type[headerregistry.BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[headerregistry.BaseHeader]:
        key = name.lower()
        built = self._built.get(key)
        if built is None:
            built = self._built[key] = super().__getitem__(name)
        return built


# ``email.policy.default`` with the reusing header registry; messages built here use it.
MESSAGE_POLICY = policy.default.clone(header_factory=_ReusingHeaderRegistry())


def message_id_for(key: str, domain: str) -> str:
    """Return a deterministic Message-ID ``<key@domain>`` for an outgoing message identified by ``key``."""
    if not _MESSAGE_ID_KEY.fullmatch(key):
        raise ValueError(f"message id key {key!r} may only contain letters, digits, '.', '_' and '-'")
    if not _DOMAIN.fullmatch(domain):
        raise ValueError(f"message id domain {domain!r} is not a host name")
    return f"<{key}@{domain}>"


def _envelope(message: EmailMessage) -> tuple[str, list[str], bool]:
    """Return the envelope sender, the recipients and whether an address needs SMTPUTF8 (as smtplib decides)."""
    sender = parseaddr(str(message["Sender"] or message["From"] or ""))[1]
    recipients = [
        address
        for _name, address in getaddresses(
            [str(v) for k in ("To", "Cc", "Bcc") for v in message.get_all(k, [])]
        )
        if address
    ]
    return sender, recipients, not all(address.isascii() for address in (sender, *recipients))


def flatten(message: EmailMessage) -> bytes:
    """Return the bytes ``SmtpMailer.send`` hands to the server for ``message``: CRLF line ends, no Bcc header.

    The same flattening as ``smtplib.SMTP.send_message``; the server receives exactly these bytes.
    """
    if message["Bcc"] is not None or message["Resent-Bcc"] is not None:
        message = copy.copy(message)
        del message["Bcc"]
        del message["Resent-Bcc"]
    international = _envelope(message)[2]
    buffer = io.BytesIO()
    generator = BytesGenerator(buffer, policy=message.policy.clone(utf8=True) if international else None)
    generator.flatten(message, linesep="\r\n")
    return buffer.getvalue()


def build_message(
    *,
    to: Sequence[str],
    subject: str,
    text: str,
    html: str | None = None,
    sender: str | None = None,
    reply_to: str | None = None,
    message_id: str | None = None,
    inline_images: Mapping[str, bytes] | None = None,
) -> EmailMessage:
    """Build a message with a plain-text part and, when given, an HTML alternative.

    ``inline_images`` maps content ids to PNG images the HTML shows as ``<img src="cid:...">``; they go into
    a multipart/related part with the HTML, where mail clients display them without fetching anything.
    """
    if not to:
        raise ValueError("a message needs at least one recipient")
    message = EmailMessage(policy=MESSAGE_POLICY)
    message["Subject"] = subject
    message["To"] = ", ".join(to)
    if sender:
        message["From"] = sender
    if reply_to:
        message["Reply-To"] = reply_to
    message["Date"] = format_datetime(datetime.now(UTC))
    if message_id:
        message["Message-ID"] = message_id
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
        html_part = message.get_payload()[-1]
        for content_id, png in (inline_images or {}).items():
            html_part.add_related(png, maintype="image", subtype="png", cid=f"<{content_id}>")
    elif inline_images:
        raise ValueError("inline images need an HTML part")
    return message


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to deliver: parsed from the SMTP URL; the password is kept out of ``repr``."""

    host: str
    port: int
    security: Security
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        """Parse an SMTP URL (see the module docstring); errors never repeat the URL or the password."""
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in _SCHEMES:
            raise ValueError(f"SMTP URL scheme must be one of {', '.join(_SCHEMES)}, not {scheme!r}")
        security, default_port = _SCHEMES[scheme]
        if not parts.hostname:
            raise ValueError("SMTP URL has no host")
        try:
            port = parts.port or default_port
        except ValueError:
            raise ValueError("SMTP URL has an invalid port") from None
        if parts.path not in ("", "/") or parts.fragment:
            raise ValueError("SMTP URL must not have a path or fragment")
        options = dict(parse_qsl(parts.query, keep_blank_values=True))
        unknown = sorted(set(options) - {"from", "timeout"})
        if unknown:
            raise ValueError(f"SMTP URL has unknown options: {', '.join(unknown)}")
        sender = options.get("from") or None
        if sender is not None and "@" not in parseaddr(sender)[1]:
            raise ValueError(f"SMTP URL 'from' is not an e-mail address: {sender!r}")
        try:
            timeout = float(options.get("timeout", DEFAULT_TIMEOUT))
        except ValueError:
            raise ValueError("SMTP URL 'timeout' must be a number of seconds") from None
        if timeout <= 0:
            raise ValueError("SMTP URL 'timeout' must be positive")
        return cls(
            host=parts.hostname,
            port=port,
            security=security,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
            sender=sender,
            timeout=timeout,
        )


# A kept connection idle longer than this is checked with NOOP before the next message goes over it.
KEPT_CONNECTION_CHECK_AFTER = 1.0


class SmtpMailer(Mailer):
    """Delivers messages to one SMTP server: one connection per message, or per batch in ``connection()``."""

    def __init__(self, settings: SmtpSettings, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self._ssl_context = ssl_context or ssl.create_default_context()
        self._keeping = False
        self._kept: smtplib.SMTP | None = None
        self._kept_used_at = 0.0

    @classmethod
    def from_url(cls, url: str, *, ssl_context: ssl.SSLContext | None = None) -> SmtpMailer:
        """Build a mailer from ``CLAIMBRIDGE_SMTP_URL``."""
        return cls(SmtpSettings.from_url(url), ssl_context=ssl_context)

    def __repr__(self) -> str:
        s = self.settings
        return f"SmtpMailer({s.security} {s.host}:{s.port}, user={s.username!r}, sender={s.sender!r})"

    @property
    def sender(self) -> str | None:
        """Return the default From address."""
        return self.settings.sender

    def send(self, message: EmailMessage, content: bytes | None = None) -> str:
        """Send ``message`` (as ``content`` when given), filling in From and Message-ID when missing.

        Return its Message-ID. ``content`` must be ``flatten(message)`` of the finished message.
        """
        if message["From"] is None:
            if not self.settings.sender:
                raise ValueError("message has no From and the SMTP URL sets no 'from'")
            if content is not None:
                raise ValueError("a message sent as flattened content must have its From")
            message["From"] = self.settings.sender
        if message["Message-ID"] is None:
            if content is not None:
                raise ValueError("a message sent as flattened content must have its Message-ID")
            message["Message-ID"] = make_msgid(domain=_domain_of(message["From"]))
        message_id = str(message["Message-ID"])
        sender, recipients, international = _envelope(message)
        if not recipients:
            raise ValueError("message has no recipients")
        content = flatten(message) if content is None else content
        mail_options = ("SMTPUTF8", "BODY=8BITMIME") if international else ()
        where = f"{self.settings.host}:{self.settings.port}"

        try:
            client = self._client()
        except (smtplib.SMTPException, OSError) as exc:
            raise _error_from(exc, where, in_transaction=False) from None
        try:
            if international:
                client.ehlo_or_helo_if_needed()
                if not client.has_extn("smtputf8"):
                    raise smtplib.SMTPNotSupportedError("the server does not offer SMTPUTF8")
            refused = client.sendmail(sender, recipients, content, mail_options)
        except (smtplib.SMTPException, OSError) as exc:
            self._drop(client)
            raise _error_from(exc, where, in_transaction=True) from None
        if self._kept is client:
            self._kept_used_at = time.monotonic()
        else:
            self._drop(client)
        if refused:
            raise MailRejectedError(
                f"{where} accepted message {message_id} for only some recipients",
                refused={address: (code, _text(reply)) for address, (code, reply) in refused.items()},
            )
        logger.info("mail %s sent via %s to %d recipient(s)", message_id, where, len(recipients))
        return message_id

    def check(self) -> None:
        """Connect, secure and log in as a send would, then quit without sending; raise the typed error."""
        where = f"{self.settings.host}:{self.settings.port}"
        try:
            client = self._connect()
        except (smtplib.SMTPException, OSError) as exc:
            raise _error_from(exc, where, in_transaction=False) from None
        with client:
            try:
                client.noop()
            except (smtplib.SMTPException, OSError) as exc:
                raise _error_from(exc, where, in_transaction=False) from None

    @contextlib.contextmanager
    def connection(self) -> Iterator[None]:
        """Send every message inside the block over one SMTP connection, opened at the first send."""
        self._keeping = True
        try:
            yield
        finally:
            self._keeping = False
            if self._kept is not None:
                self._drop(self._kept)

    def _client(self) -> smtplib.SMTP:
        """Return the kept connection if it still answers, else a new one (kept inside ``connection()``)."""
        kept = self._kept
        if kept is not None and time.monotonic() - self._kept_used_at > KEPT_CONNECTION_CHECK_AFTER:
            try:
                kept.noop()
            except (smtplib.SMTPException, OSError):
                # The server closed the idle connection; nothing was sent on it since, so open another.
                self._drop(kept)
                kept = None
        if kept is not None:
            return kept
        client = self._connect()
        if self._keeping:
            self._kept, self._kept_used_at = client, time.monotonic()
        return client

    def _drop(self, client: smtplib.SMTP) -> None:
        if self._kept is client:
            self._kept = None
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        client: smtplib.SMTP
        if s.security == "tls":
            client = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self._ssl_context)
        else:
            client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        try:
            if s.security == "starttls":
                client.starttls(context=self._ssl_context)
            if s.username:
                client.login(s.username, s.password or "")
        except BaseException:
            client.close()
            raise
        return client


def _domain_of(address: str) -> str | None:
    mailbox = parseaddr(address)[1]
    return mailbox.rpartition("@")[2] or None


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _error_from(exc: BaseException, where: str, *, in_transaction: bool) -> MailError:
    """Build the typed error for an SMTP failure talking to ``where``."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return MailAuthError(
            f"{where} rejected the login: {exc.smtp_code} {_text(exc.smtp_error)}", status=exc.smtp_code
        )
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = {address: (code, _text(reply)) for address, (code, reply) in exc.recipients.items()}
        if all(400 <= code < 500 for code, _ in refused.values()):
            return MailTemporaryError(
                f"{where} deferred all recipients", status=min(c for c, _ in refused.values())
            )
        return MailRejectedError(f"{where} refused all recipients", refused=refused)
    if isinstance(exc, smtplib.SMTPResponseException):
        message = f"{where} refused the message: {exc.smtp_code} {_text(exc.smtp_error)}"
        if exc.smtp_code in (530, 535):
            return MailAuthError(message, status=exc.smtp_code)
        if 400 <= exc.smtp_code < 500:
            return MailTemporaryError(message, status=exc.smtp_code)
        return MailRejectedError(message, status=exc.smtp_code)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return MailError(f"{where} does not support what the SMTP URL asks for: {exc}")
    # Disconnects, timeouts, refused connections and TLS failures.
    return MailConnectionError(
        f"{where} connection failed: {exc.__class__.__name__}: {exc}", should_retry=not in_transaction
    )
