"""The credit bureau hangs at checkout: the risk check answers within its budget with the merchant's fail mode.

Two kinds of hang against the real ``POST /api/v1/risk-checks`` (bureau budget ``CLAIMBRIDGE_BUREAU_TIMEOUT``
0.6 s): a PAYONE that holds the request and says nothing, and one that sends its (green) answer one byte at a
time, each byte well within a read timeout but the whole long past the budget.

What must hold afterwards:
- the check is answered (201) and decided by the fail mode: ``hide_invoice`` hides invoice with the reason
  ``bureau_unavailable``; ``allow_up_to`` keeps invoice for an amount within the limit;
- a late answer is not used: the trickled green light neither accepts the check nor is cached as a report;
- the check is stored once;
- under `claimbridge serve` (gevent workers), more hanging checks at once than bureau calls may be in flight
  are all answered by the fail mode.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from werkzeug.test import Client

from backend.risk.bureau import BUREAU_CALLS
from backend.risk.models import CreditReport, RiskCheck
from tests.fakes.payone import PATH, FakePayone
from tests.fakes.server import FakeServer
from tests.risk.test_api import CLEAN_BUYER
from tests.test_serve import serving

BUDGET = 0.6
HANG = 3.0


class TricklingPayone:
    """PAYONE's answer (from ``FakePayone``) sent one byte every ``pause`` seconds, as a congested link might."""

    def __init__(self, pause: float = 0.05) -> None:
        self.pause = pause
        self.payone = Client(FakePayone())
        self.answered = 0
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        """Return the base URL."""
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> TricklingPayone:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._listener.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            with connection:
                self._answer(connection)

    def _answer(self, connection: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            request += connection.recv(65536)
        head, _, body = request.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(body) < length:
            body += connection.recv(65536)
        answer = self.payone.post(PATH, data=body, content_type="application/x-www-form-urlencoded")
        payload = answer.get_data()
        raw = (
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\n"
            + f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
            + payload
        )
        for byte in raw:
            if self._stop.wait(self.pause):
                return
            try:
                connection.sendall(bytes([byte]))
            except OSError:
                return
        self.answered += 1


@pytest.fixture
def headers(merchant: Any, auth_headers: Any) -> dict[str, str]:
    return auth_headers(merchant, "risk:check settings:write")


@pytest.fixture
def enable_bureau(app: Any, client: Any, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Return a function that points the merchant's policy at a PAYONE on ``url`` with a 0.6 s budget."""

    def enable(url: str, **policy: Any) -> None:
        monkeypatch.setitem(app.config, "CLAIMBRIDGE_PAYONE_URL", url + PATH)
        monkeypatch.setitem(app.config, "CLAIMBRIDGE_BUREAU_TIMEOUT", BUDGET)
        _put_policy(client, headers, policy)

    return enable


def _put_policy(client: Any, headers: dict[str, str], policy: dict[str, Any]) -> None:
    body = {
        "bureau": {"enabled": True, "min_amount": "100.00"},
        "bureau_account": FakePayone().policy_account(),
        **policy,
    }
    response = client.put("/api/v1/policy", json=body, headers=headers)
    assert response.status_code == 200, response.get_json()


def _check(client: Any, headers: dict[str, str], reference: str) -> dict[str, Any]:
    body = {**CLEAN_BUYER, "reference": reference, "selected_payment_method": "invoice"}
    response = client.post("/api/v1/risk-checks", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def silent_payone() -> Iterator[FakeServer]:
    with FakeServer(FakePayone()) as server:
        server.delay_next(100, seconds=HANG, path=PATH)
        yield server


@pytest.fixture
def trickling_payone() -> Iterator[TricklingPayone]:
    with TricklingPayone() as server:
        yield server


class TestSilentBureau:
    def test_hide_invoice_hides_it(
        self, client, db, headers, enable_bureau, silent_payone: FakeServer
    ) -> None:
        enable_bureau(silent_payone.url, fail_mode="hide_invoice")
        answer = _check(client, headers, "cart-silent")
        assert "invoice" in answer["payment_methods"]["hidden"]
        assert answer["rule"] == "bureau_unavailable"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RiskCheck)) == 1

    def test_allow_up_to_keeps_invoice_within_the_limit(
        self, client, headers, enable_bureau, silent_payone: FakeServer
    ) -> None:
        enable_bureau(silent_payone.url, fail_mode="allow_up_to", bureau_fail_max_amount="400.00")
        answer = _check(client, headers, "cart-silent-allowed")
        assert "invoice" not in answer["payment_methods"]["hidden"]
        assert answer["decision"] == "accept"


class TestTricklingBureau:
    def test_a_green_light_that_arrives_too_late_is_not_used(
        self, client, db, headers, enable_bureau, trickling_payone: TricklingPayone
    ) -> None:
        enable_bureau(trickling_payone.url, fail_mode="hide_invoice")
        answer = _check(client, headers, "cart-trickle")
        assert "invoice" in answer["payment_methods"]["hidden"]
        assert answer["rule"] == "bureau_unavailable"
        assert trickling_payone.answered == 0  # decided before the bureau had finished its answer
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CreditReport)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RiskCheck)) == 1


@pytest.mark.slow
def test_served_checkouts_outnumbering_the_bureau_calls_all_get_the_fail_mode(
    tmp_path: Path, trickling_payone: TricklingPayone
) -> None:
    settings = {
        "CLAIMBRIDGE_PAYONE_URL": trickling_payone.url + PATH,
        "CLAIMBRIDGE_BUREAU_TIMEOUT": str(BUDGET),
        "CLAIMBRIDGE_ALLOW_PRIVATE_URLS": "true",
    }
    with serving(
        tmp_path, "Trickle GmbH", "--workers", "1", scopes="risk:check settings:write", settings=settings
    ) as (base, _, headers):
        policy = {
            "fail_mode": "hide_invoice",
            "bureau": {"enabled": True, "min_amount": "100.00"},
            "bureau_account": FakePayone().policy_account(),
        }
        assert requests.put(f"{base}/api/v1/policy", json=policy, headers=headers, timeout=10).ok

        def check(number: int) -> dict[str, Any]:
            body = {**CLEAN_BUYER, "reference": f"cart-{number}", "selected_payment_method": "invoice"}
            response = requests.post(f"{base}/api/v1/risk-checks", json=body, headers=headers, timeout=30)
            assert response.status_code == 201, response.text
            return response.json()

        with ThreadPoolExecutor(BUREAU_CALLS + 4) as pool:
            answers = list(pool.map(check, range(BUREAU_CALLS + 4)))

    assert {answer["rule"] for answer in answers} == {"bureau_unavailable"}
    assert all("invoice" in answer["payment_methods"]["hidden"] for answer in answers)
