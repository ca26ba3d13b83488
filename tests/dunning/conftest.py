"""Fixtures for the dunning tests: a real local SMTP server wired into the app's configuration."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.fakes.smtp import FakeSmtpServer

MAIL_FROM = "mahnwesen@claimbridge.example"


@pytest.fixture
def smtp_server(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSmtpServer]:
    """A real SMTP server on 127.0.0.1 that the dunning worker sends to."""
    with FakeSmtpServer() as server:
        monkeypatch.setitem(app.config, "CLAIMBRIDGE_SMTP_URL", server.url())
        monkeypatch.setitem(app.config, "CLAIMBRIDGE_MAIL_FROM", f"ClaimBridge <{MAIL_FROM}>")
        yield server
