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
``send(message)`` fills in what an ``EmailMessage`` lacks (From, Message-ID) and delivers ``flat_message(message)``:
its envelope and ``flatten`` bytes. ``compose(...)`` writes the bytes of ``flatten(build_message(...))`` without
building the message, and ``deliver`` hands such a ``FlatMessage`` to the server as it is, so a caller that keeps
a proof of what it sent hashes exactly what the server received. ``deliver_when(message, ready)`` sends the
envelope and the data and asks ``ready()`` before the data's end, the moment the server accepts the message; a
``False`` closes the connection unfinished. Errors are ``MailError`` subclasses that also
fit the ``connectors.errors`` tree. Neither the password nor the URL ever appears in a log line, an exception or
a ``repr``; recipients are not logged either.
"""

from __future__ import annotations

import abc
import binascii
import contextlib
import copy
import functools
import io
import logging
import re
import secrets
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import contentmanager, headerregistry, policy, quoprimime
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


class MailWithheldError(MailError):
    """The caller withheld the message before its hand-over (``deliver_when``); the server did not accept it."""

    should_retry = True


class MailConnectionError(MailError, errors.ConnectionError):
    """No SMTP conversation completed (refused, reset, timed out, TLS failed).

    ``should_retry`` is True when the failure happened before the message was handed over; False when the
    connection broke during the transaction and the server may have accepted it.
    """


@dataclass(frozen=True)
class FlatMessage:
    """A finished message as the server receives it: Message-ID, envelope sender and recipients, bytes (CRLF)."""

    message_id: str
    sender: str
    recipients: tuple[str, ...]
    content: bytes

    @property
    def international(self) -> bool:
        """Say whether an envelope address is not ASCII (the server must offer SMTPUTF8)."""
        return not _ascii(self.sender, *self.recipients)


class Mailer(abc.ABC):
    """Sends e-mail messages."""

    @abc.abstractmethod
    def deliver(self, message: FlatMessage) -> str:
        """Hand the finished ``message`` to the server as it is; return its Message-ID; raise ``MailError``."""

    def deliver_when(self, message: FlatMessage, ready: Callable[[], bool]) -> str:
        """``deliver``, handing ``message`` over only once ``ready()`` says it may go (it may block until then).

        When ``ready()`` says no, raise ``MailWithheldError``: the server did not accept the message. A mailer
        that can prepare the delivery first asks at the last moment (SMTP: before the end of the data); this one
        asks before it starts.
        """
        if not ready():
            raise MailWithheldError(f"message {message.message_id} withheld before it was handed over")
        return self.deliver(message)

    def send(self, message: EmailMessage) -> str:
        """Send ``message`` (``finish`` fills in what it lacks) and return its Message-ID; raise ``MailError``."""
        return self.deliver(flat_message(self.finish(message)))

    def finish(self, message: EmailMessage) -> EmailMessage:
        """Return ``message`` with the headers a send needs filled in; a plain mailer adds nothing."""
        return message

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


def _envelope(message: EmailMessage) -> tuple[str, tuple[str, ...]]:
    """Return the envelope sender and the recipients of ``message`` (as smtplib finds them)."""
    sender = parseaddr(str(message["Sender"] or message["From"] or ""))[1]
    recipients = tuple(
        address
        for _name, address in getaddresses(
            [str(v) for k in ("To", "Cc", "Bcc") for v in message.get_all(k, [])]
        )
        if address
    )
    return sender, recipients


def flatten(message: EmailMessage) -> bytes:
    """Return the bytes ``SmtpMailer.send`` hands to the server for ``message``: CRLF line ends, no Bcc header.

    The same flattening as ``smtplib.SMTP.send_message``; the server receives exactly these bytes.
    """
    sender, recipients = _envelope(message)
    return _flattened(message, international=not _ascii(sender, *recipients))


def flat_message(message: EmailMessage) -> FlatMessage:
    """Return ``message`` finished for the server: its Message-ID, envelope and ``flatten`` bytes."""
    if message["Message-ID"] is None:
        raise ValueError("a message handed to the server must have its Message-ID")
    sender, recipients = _envelope(message)
    if not recipients:
        raise ValueError("message has no recipients")
    content = _flattened(message, international=not _ascii(sender, *recipients))
    return FlatMessage(str(message["Message-ID"]), sender, recipients, content)


def _ascii(*addresses: str) -> bool:
    return all(address.isascii() for address in addresses)


def _flattened(message: EmailMessage, *, international: bool) -> bytes:
    if message["Bcc"] is not None or message["Resent-Bcc"] is not None:
        message = copy.copy(message)
        del message["Bcc"]
        del message["Resent-Bcc"]
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


def compose(
    *,
    to: Sequence[str],
    subject: str,
    text: str,
    sender: str,
    message_id: str,
    html: str | None = None,
    reply_to: str | None = None,
    inline_images: Mapping[str, bytes] | None = None,
) -> FlatMessage:
    """Return ``flat_message(build_message(...))`` of the same arguments, without building the message.

    The bytes are the email package's own (tests compare them with the multipart boundaries and the Date
    set alike): each header folded by ``MESSAGE_POLICY``, each body encoded by its content manager, put
    together as its generator does. Building and flattening the ``EmailMessage`` parsed every header twice
    and compiled a regular expression per boundary, most of the cost of sending a notice.
    """
    if not to:
        raise ValueError("a message needs at least one recipient")
    if html is None and inline_images:
        raise ValueError("inline images need an HTML part")
    envelope = _envelope_sender(sender)
    if all(_BARE_ADDRESS.fullmatch(address) for address in to):  # what the parser would return
        recipients = tuple(to)
    else:
        recipients = tuple(address for _name, address in getaddresses([", ".join(to)]) if address)
    wire = _WIRE if _ascii(envelope, *recipients) else _WIRE_UTF8
    head = [
        _fold(wire, "Subject", subject),
        _fold(wire, "To", ", ".join(to)),
        _fold(wire, "From", sender),
        *([_fold(wire, "Reply-To", reply_to)] if reply_to else []),
        _fold(wire, "Date", format_datetime(datetime.now(UTC))),
        _fold(wire, "Message-ID", message_id),
    ]
    text_headers, text_body = _text_part("plain", text)
    if html is None:
        content = b"".join([*head, text_headers, _MIME_VERSION, b"\r\n", text_body])
    else:
        html_headers, html_body = _text_part("html", html)
        if inline_images:
            html_part = _multipart(
                "related",
                [
                    html_headers + b"\r\n" + html_body,
                    *(_image_part(cid, png) for cid, png in inline_images.items()),
                ],
                before=_MIME_VERSION,
            )
        else:
            html_part = html_headers + _MIME_VERSION + b"\r\n" + html_body
        content = b"".join(head) + _multipart(
            "alternative", [text_headers + b"\r\n" + text_body, html_part], before=_MIME_VERSION
        )
    return FlatMessage(message_id, envelope, recipients, content)


# How ``flatten`` writes headers: CRLF line ends, and UTF-8 headers for a message to an international address.
_WIRE = MESSAGE_POLICY.clone(linesep="\r\n")
_WIRE_UTF8 = MESSAGE_POLICY.clone(linesep="\r\n", utf8=True)
_MIME_VERSION = b"MIME-Version: 1.0\r\n"
# The email package's boundaries: 15 "=", 19 random digits, "==". Ours have its shape, so they fold alike.
_BOUNDARY_DIGITS = 19
_BOUNDARY_PLACEHOLDER = "=" * 15 + "0" * _BOUNDARY_DIGITS + "=="


# Header values that parse and fold to themselves, as ``name: value`` on one line when that fits: printable ASCII
# words between single spaces without an encoded word ("=?"), a message id as ``message_id_for`` makes it, a bare
# address. Those skip the email package's parser (tests compare both for generated values).
_WORDS = re.compile(r"[!-~]+(?: [!-~]+)*")
_BARE_ADDRESS = re.compile(r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
_VERBATIM = {
    "subject": _WORDS,
    "content-id": _WORDS,
    "message-id": re.compile(r"<[A-Za-z0-9._-]+@[A-Za-z0-9.-]+>"),
    "to": _BARE_ADDRESS,
}


@functools.lru_cache(maxsize=256)
def _envelope_sender(sender: str) -> str:
    """Return the address of a From header value. Cached: a run's messages come from a few senders."""
    return parseaddr(sender)[1]


def _fold(wire: policy.EmailPolicy, name: str, value: str) -> bytes:
    """Return the header as ``flatten`` writes it: parsed and folded by the policy (line breaks refused)."""
    verbatim = _VERBATIM.get(name.lower())
    if (
        verbatim is not None
        and len(name) + 2 + len(value) <= wire.max_line_length
        and verbatim.fullmatch(value)
        and "=?" not in value
    ):
        return f"{name}: {value}{wire.linesep}".encode("ascii")
    return _parsed_fold(wire, name, value)


@functools.lru_cache(maxsize=256)
def _parsed_fold(wire: policy.EmailPolicy, name: str, value: str) -> bytes:
    """Return ``_fold`` by the email package's parser. Cached: most headers are the same in every message of a
    batch (a part's Content-Type, the merchant's From, the Date of this second), and parsing one costs as much
    as the rest of composing the message.
    """
    return wire.fold_binary(name, MESSAGE_POLICY.header_store_parse(name, value)[1])


def _text_part(subtype: str, text: str) -> tuple[bytes, bytes]:
    """Return the headers and the body of a text part as ``set_content`` encodes it (UTF-8, its choice of CTE)."""
    cte, payload = _encoded_text(text)
    headers = _fold(_WIRE, "Content-Type", f'text/{subtype}; charset="utf-8"') + _fold(
        _WIRE, "Content-Transfer-Encoding", cte
    )
    return headers, payload.encode("ascii", "surrogateescape").replace(b"\n", b"\r\n")


def _encoded_text(text: str) -> tuple[str, str]:
    """Return the CTE and the body ``set_content`` chooses and writes for ``text`` in UTF-8.

    ``contentmanager._encode_text``, except that quoted-printable is written a line at a time from
    ``_quoted_printable_line``: the email package encodes each line on its own, and encoded the first ten lines
    and then the whole text again, twice per notice, where most lines are the same in every notice.
    """
    lines = text.encode("utf-8").splitlines()
    if max((len(line) for line in lines), default=0) <= MESSAGE_POLICY.max_line_length:
        return contentmanager._encode_text(
            text, "utf-8", None, MESSAGE_POLICY
        )  # 7bit or 8bit: nothing to quote
    quoted = [_quoted_printable_line(line) + "\n" for line in lines]
    # The email package's choice: base64 when the first ten lines come out shorter in it (lines end in "\n").
    if len("".join(quoted[:10])) > len(binascii.b2a_base64(b"".join(line + b"\n" for line in lines[:10]))):
        return contentmanager._encode_text(text, "utf-8", "base64", MESSAGE_POLICY)
    return "quoted-printable", "".join(quoted)


@functools.lru_cache(maxsize=4096)
def _quoted_printable_line(line: bytes) -> str:
    """Return one line (without its end) quoted-printable as ``set_content`` writes it, soft breaks included."""
    return quoprimime.body_encode(line.decode("latin-1"), MESSAGE_POLICY.max_line_length)


def _image_part(content_id: str, png: bytes) -> bytes:
    """Return a PNG part as ``add_related`` makes it: base64, its Content-ID, shown inline."""
    body = contentmanager._encode_base64(png, MESSAGE_POLICY.max_line_length)  # what set_content calls
    return b"".join(
        [
            _fold(_WIRE, "Content-Type", "image/png"),
            _fold(_WIRE, "Content-Transfer-Encoding", "base64"),
            _fold(_WIRE, "Content-ID", f"<{content_id}>"),
            _MIME_VERSION,
            _fold(_WIRE, "Content-Disposition", "inline"),
            b"\r\n",
            body.encode("ascii").replace(b"\n", b"\r\n"),
        ]
    )


def _multipart(subtype: str, parts: list[bytes], *, before: bytes) -> bytes:
    """Return a multipart of ``parts`` (each headers and body) as the generator writes it, ``before`` its headers."""
    while True:
        boundary = f"{'=' * 15}{secrets.randbelow(10**_BOUNDARY_DIGITS):0{_BOUNDARY_DIGITS}d}=="
        if not any(boundary.encode() in part for part in parts):
            break
    content_type = _fold(
        _WIRE, "Content-Type", f'multipart/{subtype}; boundary="{_BOUNDARY_PLACEHOLDER}"'
    ).replace(_BOUNDARY_PLACEHOLDER.encode(), boundary.encode())
    delimiter = b"--" + boundary.encode()
    return b"".join(
        [
            before,
            content_type,
            b"\r\n",
            delimiter,
            b"\r\n",
            (b"\r\n" + delimiter + b"\r\n").join(parts),
            b"\r\n",
            delimiter,
            b"--\r\n",
        ]
    )


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
_LINE_STARTING_WITH_DOT = re.compile(rb"(?m)^\.")


def _ready() -> bool:
    return True


class _Client(smtplib.SMTP):
    """smtplib's client, asking ``ready()`` before it sends the end of a message's data."""

    ready: Callable[[], bool] = staticmethod(_ready)

    def data(self, msg: bytes) -> tuple[int, bytes]:  # type: ignore[override]  # sendmail passes bytes
        """``smtplib.SMTP.data``, with the data's end sent only when ``ready()``; else raise."""
        self.putcmd("data")
        code, reply = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        quoted = _LINE_STARTING_WITH_DOT.sub(b"..", msg)  # RFC 5321 section 4.5.2, as smtplib quotes
        self.send(quoted if quoted.endswith(b"\r\n") else quoted + b"\r\n")
        if not self.ready():
            raise MailWithheldError("message withheld before the end of its data")
        self.send(b".\r\n")
        return self.getreply()


class _TlsClient(_Client, smtplib.SMTP_SSL):
    """``_Client`` over implicit TLS."""


class SmtpMailer(Mailer):
    """Delivers messages to one SMTP server: one connection per message, or per batch in ``connection()``."""

    def __init__(self, settings: SmtpSettings, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self._ssl_context = ssl_context
        self._keeping = False
        self._kept: _Client | None = None
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

    def finish(self, message: EmailMessage) -> EmailMessage:
        """Fill in From (the SMTP URL's ``from``) and a Message-ID when ``message`` lacks them."""
        if message["From"] is None:
            if not self.settings.sender:
                raise ValueError("message has no From and the SMTP URL sets no 'from'")
            message["From"] = self.settings.sender
        if message["Message-ID"] is None:
            message["Message-ID"] = make_msgid(domain=_domain_of(message["From"]))
        return message

    def deliver(self, message: FlatMessage) -> str:
        """Hand ``message`` to the server over the kept connection or a new one; return its Message-ID."""
        return self.deliver_when(message, _ready)

    def deliver_when(self, message: FlatMessage, ready: Callable[[], bool]) -> str:
        """``deliver``, asking ``ready()`` after the envelope and the data went out and before the data's end.

        A server takes a message at the end of its data and not before, so the conversation runs ahead while the
        caller decides (a worker commits the notice's attempt meanwhile). A withheld message closes the
        connection unfinished, and the server drops its transaction (RFC 5321 section 4.1.1.4).
        """
        if not message.recipients:
            raise ValueError("message has no recipients")
        international = message.international
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
            client.ready = ready
            refused = client.sendmail(message.sender, list(message.recipients), message.content, mail_options)
        except (smtplib.SMTPException, OSError) as exc:
            self._drop(client)
            raise _error_from(exc, where, in_transaction=True) from None
        except BaseException:
            self._close(client)  # withheld (or interrupted) inside the data, where QUIT would be data
            raise
        if self._kept is client:
            self._kept_used_at = time.monotonic()
        else:
            self._drop(client)
        if refused:
            raise MailRejectedError(
                f"{where} accepted message {message.message_id} for only some recipients",
                refused={address: (code, _text(reply)) for address, (code, reply) in refused.items()},
            )
        logger.info(
            "mail %s sent via %s to %d recipient(s)", message.message_id, where, len(message.recipients)
        )
        return message.message_id

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

    def _client(self) -> _Client:
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

    def _close(self, client: smtplib.SMTP) -> None:
        if self._kept is client:
            self._kept = None
        client.close()

    def _tls_context(self) -> ssl.SSLContext:
        """Return the TLS context: the one given, else the system's defaults, made on the first TLS connection.

        Loading the system's CA certificates took a tenth of a second, paid by every ``send_queued_notices`` run
        that builds a mailer, also for plain SMTP.
        """
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _connect(self) -> _Client:
        s = self.settings
        client: _Client
        if s.security == "tls":
            client = _TlsClient(s.host, s.port, timeout=s.timeout, context=self._tls_context())
        else:
            client = _Client(s.host, s.port, timeout=s.timeout)
        try:
            # The data's end goes out alone (``_Client.data``): without this it waited for the server's
            # acknowledgement of the data before it (Nagle's algorithm against a delayed ACK).
            client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if s.security == "starttls":
                client.starttls(context=self._tls_context())
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
