"""Tests for the SMTP mailer against a real local SMTP server (tests/fakes/smtp.py)."""

from __future__ import annotations

import email.policy
import logging
import re
import ssl
from collections.abc import Iterator
from email import contentmanager
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors import errors, mail
from connectors.mail import (
    MailAuthError,
    MailConnectionError,
    Mailer,
    MailError,
    MailRejectedError,
    MailTemporaryError,
    MailWithheldError,
    SmtpMailer,
    SmtpSettings,
    build_message,
    compose,
    flat_message,
    flatten,
    message_id_for,
)
from tests.fakes.smtp import FakeSmtpServer

USER = "notices@shop.example"
PASSWORD = "s3cret:p@ss/word"
SENDER = "Beispiel Shop <billing@shop.example>"


@pytest.fixture
def smtp_server() -> Iterator[FakeSmtpServer]:
    with FakeSmtpServer(users={USER: PASSWORD}) as server:
        yield server


def mailer_for(
    server: FakeSmtpServer, *, password: str | None = PASSWORD, user: str | None = USER
) -> SmtpMailer:
    context = server.client_ssl_context() if server.tls else None
    return SmtpMailer.from_url(server.url(user=user, password=password, sender=SENDER), ssl_context=context)


def message(**overrides: object) -> EmailMessage:
    values: dict[str, object] = {
        "to": ["Erika Mustermann <erika@example.org>"],
        "subject": "Zahlungserinnerung: Rechnung RE-1",
        "text": "Bitte zahlen Sie 1.234,56\u00a0€.",
        "html": "<p>Bitte zahlen Sie <strong>1.234,56\u00a0€</strong>.</p>",
        "message_id": message_id_for("notice-42", "claimbridge.example"),
    }
    values.update(overrides)
    return build_message(**values)  # type: ignore[arg-type]


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 3
LONG_TEXT = (
    "Guten Tag Erika Mustermann,\n\n"
    + "zu unserer Rechnung RE-1 vom 02.06.2025, fällig am 16.06.2025, " * 3
    + "\n" * 12
)


class TestCompose:
    """``compose`` writes the bytes ``flatten(build_message(...))`` writes, without building the message."""

    @pytest.mark.parametrize(
        "overrides",
        [
            {"html": None},
            {},
            {"inline_images": {"girocode-1@claimbridge.example": PNG}},
            {"inline_images": {"a@claimbridge.example": PNG, "b@claimbridge.example": b"\x89PNG"}},
            {
                "text": LONG_TEXT,
                "html": f"<p>{LONG_TEXT}</p>",
                "reply_to": "Mahnwesen Bäckerei <b@shop.example>",
            },
            {
                "subject": "Letzte Mahnung vor Übergabe an ein Inkassounternehmen: Rechnung RE-2025-000123 "
                * 2
            },
            {"sender": "Bäckerei Müller & Söhne GmbH <billing@shop.example>", "text": "short ascii\n"},
            {"to": ["jürgen@bäckerei.example"], "sender": "Bäckerei <billing@bäckerei.example>"},
            {"to": ["a@example.org", "Erika Mustermann <b@example.org>"], "text": "", "html": None},
            {"text": "x" * 200 + "\n" + "€" * 100 + "\n", "html": None},
        ],
    )
    def test_writes_the_bytes_of_the_email_package(self, overrides: dict[str, object]) -> None:
        values: dict[str, object] = {
            "to": ["erika@example.org"],
            "subject": "Zahlungserinnerung: Rechnung RE-1",
            "text": "Bitte zahlen Sie 1.234,56\u00a0€.",
            "html": '<p>Bitte zahlen Sie <strong>1.234,56\u00a0€</strong>.<img src="cid:qr"></p>',
            "sender": SENDER,
            "message_id": message_id_for("notice-42", "claimbridge.example"),
            **overrides,
        }
        composed = compose(**values)  # type: ignore[arg-type]

        built = build_message(**values)  # type: ignore[arg-type]
        built.replace_header("Date", re.search(rb"^Date: (.*?)\r$", composed.content, re.M)[1].decode())
        boundaries = re.findall(rb'boundary="([^"]+)"', composed.content)
        multiparts = [part for part in built.walk() if part.is_multipart()]
        assert len(boundaries) == len(multiparts)
        for boundary, part in zip(boundaries, multiparts, strict=True):
            part.set_boundary(boundary.decode())
        assert composed == flat_message(built)

    def test_refuses_header_injection_and_images_without_html(self) -> None:
        values = {
            "to": ["erika@example.org"],
            "text": "x",
            "sender": SENDER,
            "message_id": "<n-1@shop.example>",
        }
        with pytest.raises(ValueError):
            compose(subject="Hello\r\nBcc: victim@example.org", **values)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="HTML"):
            compose(subject="Hello", inline_images={"qr@x": b"png"}, **values)  # type: ignore[arg-type]

    def test_boundaries_differ_from_message_to_message_and_from_the_content(self) -> None:
        values = {"to": ["erika@example.org"], "subject": "Hi", "text": "x", "html": "<p>x</p>"}
        first, second = (compose(sender=SENDER, message_id=f"<n-{n}@shop.example>", **values) for n in (1, 2))  # type: ignore[arg-type]
        (one,), (two,) = (re.findall(rb'boundary="([^"]+)"', m.content) for m in (first, second))
        assert one != two


class TestHeaderFolding:
    """Values ``compose`` writes without the email package's parser come out as the parser writes them."""

    @settings(max_examples=300, deadline=None)
    @given(
        name=st.sampled_from(["Subject", "Content-ID", "Message-ID", "To"]),
        data=st.data(),
        international=st.booleans(),
    )
    def test_verbatim_values_fold_as_parsed(
        self, name: str, data: st.DataObject, international: bool
    ) -> None:
        value = data.draw(
            st.from_regex(mail._VERBATIM[name.lower()], fullmatch=True).filter(lambda v: len(v) < 90)
        )
        wire = mail._WIRE_UTF8 if international else mail._WIRE
        assert mail._fold(wire, name, value) == mail._parsed_fold.__wrapped__(wire, name, value)


class TestTextEncoding:
    """Text parts are encoded as ``set_content`` encodes them, a quoted-printable line at a time."""

    @settings(max_examples=500, deadline=None)
    @given(
        lines=st.lists(
            st.one_of(
                st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=200),
                st.text(st.sampled_from("Rechnung 1.234,56 =\t.ä€"), min_size=60, max_size=200),
                st.sampled_from(["", " ", "x" * 77 + " ", "a" * 75 + "=\t", "€" * 30, "."]),
            ),
            max_size=14,
        ),
        end=st.sampled_from(["", "\n", "\r\n", "\r"]),
    )
    def test_writes_what_the_email_package_writes(self, lines: list[str], end: str) -> None:
        text = end.join(lines) + end

        assert mail._encoded_text(text) == contentmanager._encode_text(
            text, "utf-8", None, mail.MESSAGE_POLICY
        )


class TestSmtpSettings:
    @pytest.mark.parametrize(
        ("url", "security", "port"),
        [
            ("smtp://relay.example", "plain", 25),
            ("smtp+starttls://relay.example", "starttls", 587),
            ("smtps://relay.example", "tls", 465),
            ("SMTPS://relay.example:2465", "tls", 2465),
        ],
    )
    def test_reads_scheme_and_default_port(self, url: str, security: str, port: int) -> None:
        settings = SmtpSettings.from_url(url)
        assert (settings.host, settings.security, settings.port) == ("relay.example", security, port)
        assert settings.username is None and settings.password is None

    def test_decodes_credentials_and_options(self) -> None:
        settings = SmtpSettings.from_url(
            "smtp+starttls://user%40shop.example:pa%3Ass%2Fw%40rd@mail.example:2525"
            "?from=Shop%20%3Cbilling%40shop.example%3E&timeout=5"
        )
        assert settings.username == "user@shop.example"
        assert settings.password == "pa:ss/w@rd"
        assert settings.sender == "Shop <billing@shop.example>"
        assert settings.timeout == 5.0

    @pytest.mark.parametrize(
        ("url", "message"),
        [
            ("http://user:hunter2@relay.example", "scheme"),
            ("smtp://user:hunter2@", "no host"),
            ("smtp://user:hunter2@relay.example:99999", "port"),
            ("smtp://user:hunter2@relay.example?form=a%40b.example", "unknown options: form"),
            ("smtp://user:hunter2@relay.example?from=nobody", "'from'"),
            ("smtp://user:hunter2@relay.example?timeout=soon", "timeout"),
            ("smtp://user:hunter2@relay.example/path", "path"),
        ],
    )
    def test_rejects_bad_urls_without_repeating_the_password(self, url: str, message: str) -> None:
        with pytest.raises(ValueError, match=message) as excinfo:
            SmtpSettings.from_url(url)
        assert "hunter2" not in str(excinfo.value)

    def test_repr_hides_the_password(self) -> None:
        mailer = SmtpMailer.from_url("smtps://user:hunter2@relay.example")
        assert "hunter2" not in repr(mailer)
        assert "hunter2" not in repr(mailer.settings)


class TestBuildMessage:
    def test_has_text_and_html_parts_and_the_given_message_id(self) -> None:
        built = message()
        assert built["Message-ID"] == "<notice-42@claimbridge.example>"
        assert built.get_body(("plain",)).get_content().strip() == "Bitte zahlen Sie 1.234,56\u00a0€."  # type: ignore[union-attr]
        assert "<strong>" in built.get_body(("html",)).get_content()  # type: ignore[union-attr]

    def test_inline_images_go_next_to_the_html_with_their_content_id(self) -> None:
        png = b"\x89PNG\r\n\x1a\nfake"
        built = message(
            html='<p><img src="cid:qr-1@claimbridge.example"></p>',
            inline_images={"qr-1@claimbridge.example": png},
        )

        related = built.get_payload()[-1]
        assert related.get_content_type() == "multipart/related"
        html, image = related.get_payload()
        assert html.get_content_type() == "text/html"
        assert (image.get_content_type(), image["Content-ID"]) == ("image/png", "<qr-1@claimbridge.example>")
        assert image.get_content() == png
        assert built.get_body(("plain",)) is not None

    def test_inline_images_need_html(self) -> None:
        with pytest.raises(ValueError, match="HTML"):
            message(html=None, inline_images={"qr@x": b"png"})

    def test_rejects_header_injection(self) -> None:
        with pytest.raises(ValueError):
            message(subject="Hello\r\nBcc: victim@example.org")

    def test_reusing_header_classes_changes_no_byte(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def flattened(**overrides: object) -> bytes:
            built = message(sender=SENDER, reply_to="Mahnwesen <billing@shop.example>", **overrides)
            built.replace_header("Date", "Sat, 05 Dec 2026 10:00:00 +0000")
            for boundary, part in enumerate(p for p in built.walk() if p.is_multipart()):
                part.set_boundary(f"boundary-{boundary}")
            return flatten(built)

        ours = flattened(inline_images={"qr-1@claimbridge.example": b"\x89PNG\r\n\x1a\nfake"})
        monkeypatch.setattr(mail, "MESSAGE_POLICY", email.policy.default)
        stock = flattened(inline_images={"qr-1@claimbridge.example": b"\x89PNG\r\n\x1a\nfake"})

        assert ours == stock

    @pytest.mark.parametrize(("key", "domain"), [("notice 42", "claimbridge.example"), ("n-1", "bad domain")])
    def test_message_id_for_rejects_unsafe_parts(self, key: str, domain: str) -> None:
        with pytest.raises(ValueError):
            message_id_for(key, domain)


class _Recorder(Mailer):
    """A mailer without connections: it records what it delivers."""

    def __init__(self) -> None:
        self.delivered: list[str] = []

    def deliver(self, message: mail.FlatMessage) -> str:
        self.delivered.append(message.message_id)
        return message.message_id


class TestMailer:
    def test_a_mailer_that_cannot_prepare_asks_before_it_delivers(self) -> None:
        mailer, finished = _Recorder(), flat_message(message(sender=SENDER))
        with pytest.raises(MailWithheldError):
            mailer.deliver_when(finished, lambda: False)
        assert mailer.delivered == []
        assert mailer.deliver_when(finished, lambda: True) == "<notice-42@claimbridge.example>"
        assert mailer.delivered == ["<notice-42@claimbridge.example>"]


class TestSmtpMailer:
    def test_delivers_text_and_html_with_login(self, smtp_server: FakeSmtpServer) -> None:
        message_id = mailer_for(smtp_server).send(message())

        (received,) = smtp_server.messages
        assert message_id == "<notice-42@claimbridge.example>"
        assert received.message["Message-ID"] == message_id
        assert received.login == USER
        assert received.mail_from == "billing@shop.example"
        assert received.rcpt_tos == ("erika@example.org",)
        assert received.message["From"] == SENDER
        assert received.message["Subject"] == "Zahlungserinnerung: Rechnung RE-1"
        assert "1.234,56\u00a0€" in received.text
        assert "<strong>1.234,56\u00a0€</strong>" in received.html

    @pytest.mark.parametrize("tls", ["starttls", "implicit"])
    def test_delivers_over_tls(self, tls: str) -> None:
        with FakeSmtpServer(users={USER: PASSWORD}, tls=tls) as server:  # type: ignore[arg-type]
            mailer_for(server).send(message())
            assert [m.login for m in server.messages] == [USER]

    def test_refuses_a_server_certificate_it_does_not_trust(self) -> None:
        with FakeSmtpServer(tls="implicit") as server:
            mailer = SmtpMailer.from_url(server.url(sender=SENDER), ssl_context=ssl.create_default_context())
            with pytest.raises(MailConnectionError):
                mailer.send(message())
            assert server.messages == []

    def test_a_batch_shares_one_connection_and_a_failure_drops_it(self, smtp_server: FakeSmtpServer) -> None:
        mailer = mailer_for(smtp_server)
        with mailer.connection():
            mailer.send(message())
            mailer.send(message())
            smtp_server.defer_data = True
            with pytest.raises(MailError):
                mailer.send(message())
            smtp_server.defer_data = False
            mailer.send(message())
        mailer.send(message())
        mailer.send(message())
        assert [m.connection for m in smtp_server.messages] == [1, 1, 2, 3, 4]

    def test_fills_in_message_id_when_none_is_given(self, smtp_server: FakeSmtpServer) -> None:
        built = message()
        del built["Message-ID"]
        message_id = mailer_for(smtp_server).send(built)
        assert message_id.endswith("@shop.example>")
        assert smtp_server.messages[0].message["Message-ID"] == message_id

    def test_needs_a_sender(self, smtp_server: FakeSmtpServer) -> None:
        mailer = SmtpMailer.from_url(smtp_server.url(user=USER, password=PASSWORD))
        with pytest.raises(ValueError, match="From"):
            mailer.send(message())

    def test_delivers_to_bcc_without_showing_it(self, smtp_server: FakeSmtpServer) -> None:
        built = message()
        built["Bcc"] = "archive@shop.example"
        mailer_for(smtp_server).send(built)
        (received,) = smtp_server.messages
        assert set(received.rcpt_tos) == {"erika@example.org", "archive@shop.example"}
        assert received.message["Bcc"] is None

    def test_delivers_the_flattened_bytes_as_they_are(self, smtp_server: FakeSmtpServer) -> None:
        finished = flat_message(message(sender=SENDER))

        assert mailer_for(smtp_server).deliver(finished) == "<notice-42@claimbridge.example>"

        (received,) = smtp_server.messages
        assert received.raw == finished.content  # a hash of the content is a hash of what the server received
        assert b"\r\n" in finished.content and b"\n" not in finished.content.replace(b"\r\n", b"")
        assert received.message["Message-ID"] == "<notice-42@claimbridge.example>"
        assert (received.mail_from, received.rcpt_tos) == ("billing@shop.example", ("erika@example.org",))

    def test_flattens_as_it_would_itself(self, smtp_server: FakeSmtpServer) -> None:
        built = message(sender=SENDER)
        mailer_for(smtp_server).send(built)
        assert smtp_server.messages[0].raw == flatten(built)

    def test_asks_whether_a_message_may_go_once_the_server_has_all_but_its_end(
        self, smtp_server: FakeSmtpServer
    ) -> None:
        mailer = mailer_for(smtp_server)
        asked: list[int] = []

        def ready() -> bool:
            asked.append(len(smtp_server.messages))
            return True

        with mailer.connection():
            mailer.deliver_when(flat_message(message(sender=SENDER)), ready)
        assert asked == [0]
        assert len(smtp_server.messages) == 1

    def test_a_withheld_message_is_dropped_unfinished_and_the_next_one_goes(
        self, smtp_server: FakeSmtpServer
    ) -> None:
        mailer = mailer_for(smtp_server)
        finished = flat_message(message(sender=SENDER))
        with mailer.connection():
            with pytest.raises(MailWithheldError) as excinfo:
                mailer.deliver_when(finished, lambda: False)
            assert excinfo.value.should_retry
            assert smtp_server.messages == []  # the server dropped the transaction with the connection
            mailer.deliver(finished)
            mailer.deliver(finished)
        assert [m.raw for m in smtp_server.messages] == [finished.content] * 2
        assert [m.connection for m in smtp_server.messages] == [1, 1]

    def test_lines_beginning_with_a_dot_arrive_as_they_are(self, smtp_server: FakeSmtpServer) -> None:
        finished = flat_message(message(sender=SENDER, text=".\n..two\n. three\n", html=None))
        assert b"\r\n.\r\n..two\r\n. three\r\n" in finished.content
        mailer_for(smtp_server).deliver(finished)
        assert smtp_server.messages[0].raw == finished.content

    def test_a_finished_message_needs_its_message_id(self) -> None:
        built = message(sender=SENDER)
        del built["Message-ID"]
        with pytest.raises(ValueError, match="Message-ID"):
            flat_message(built)

    def test_delivers_to_an_internationalised_address_over_smtputf8(
        self, smtp_server: FakeSmtpServer
    ) -> None:
        built = message(to=["jürgen@bäckerei.example"], sender=SENDER)
        mailer_for(smtp_server).send(built)
        (received,) = smtp_server.messages
        assert received.rcpt_tos == ("jürgen@bäckerei.example",)
        assert received.raw == flatten(built) and "jürgen@bäckerei.example".encode() in received.raw

    def test_wrong_password_is_an_auth_error(self, smtp_server: FakeSmtpServer) -> None:
        with pytest.raises(MailAuthError) as excinfo:
            mailer_for(smtp_server, password="wrong").send(message())
        assert excinfo.value.status == 535
        assert isinstance(excinfo.value, errors.AuthError)
        assert not excinfo.value.should_retry

    def test_missing_login_is_an_auth_error(self, smtp_server: FakeSmtpServer) -> None:
        with pytest.raises(MailAuthError) as excinfo:
            mailer_for(smtp_server, user=None, password=None).send(message())
        assert excinfo.value.status == 530
        assert smtp_server.messages == []

    def test_refused_recipient_is_a_permanent_rejection(self) -> None:
        with FakeSmtpServer(reject_recipients={"erika@example.org"}) as server:
            mailer = SmtpMailer.from_url(server.url(sender=SENDER))
            with pytest.raises(MailRejectedError) as excinfo:
                mailer.send(message())
        assert excinfo.value.refused["erika@example.org"][0] == 550
        assert not excinfo.value.should_retry

    def test_partly_refused_recipients_are_reported_after_delivery(self) -> None:
        with FakeSmtpServer(reject_recipients={"gone@example.org"}) as server:
            mailer = SmtpMailer.from_url(server.url(sender=SENDER))
            with pytest.raises(MailRejectedError) as excinfo:
                mailer.send(message(to=["erika@example.org", "gone@example.org"]))
            assert [m.rcpt_tos for m in server.messages] == [("erika@example.org",)]
        assert list(excinfo.value.refused) == ["gone@example.org"]

    def test_deferred_message_may_be_retried(self, smtp_server: FakeSmtpServer) -> None:
        smtp_server.defer_data = True
        with pytest.raises(MailTemporaryError) as excinfo:
            mailer_for(smtp_server).send(message())
        assert excinfo.value.status == 451
        assert excinfo.value.should_retry
        assert smtp_server.messages == []

    def test_unreachable_server_may_be_retried(self) -> None:
        with FakeSmtpServer() as server:
            url = server.url(sender=SENDER)
        with pytest.raises(MailConnectionError) as excinfo:
            SmtpMailer.from_url(url).send(message())
        assert excinfo.value.should_retry
        assert isinstance(excinfo.value, errors.ConnectionError)
        assert isinstance(excinfo.value, MailError)

    def test_never_logs_the_password(
        self, smtp_server: FakeSmtpServer, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        mailer_for(smtp_server).send(message())
        with pytest.raises(MailAuthError) as excinfo:
            mailer_for(smtp_server, password=PASSWORD + "x").send(message())
        assert "mail <notice-42@claimbridge.example> sent" in caplog.text
        assert PASSWORD not in caplog.text
        assert PASSWORD not in str(excinfo.value)
