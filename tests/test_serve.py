"""End to end through the real production path: CLI subprocesses and `claimbridge serve` (gunicorn) over HTTP."""

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cli(env, *args) -> str:
    result = subprocess.run(
        [str(BIN / "claimbridge"), *args], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    return result.stdout


def _wait_until_up(url: str, process: subprocess.Popen, log: Path, deadline: float = 240.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if process.poll() is not None:
            raise AssertionError(f"server exited early with {process.returncode}:\n{log.read_text()}")
        try:
            requests.get(url, timeout=5)
            return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.1)
    raise AssertionError("server did not come up")


@contextmanager
def serving(
    tmp_path: Path,
    merchant_name: str,
    *serve_args: str,
    scopes: str = "risk:check",
    settings: Mapping[str, str] | None = None,
) -> Iterator[tuple[str, int, dict[str, str]]]:
    """Migrate a fresh SQLite database, create a client with ``scopes`` and run `claimbridge serve` on it.

    ``settings`` are extra ``CLAIMBRIDGE_*`` environment variables for every process.
    """
    env = {
        **os.environ,
        "CLAIMBRIDGE_INSTANCE_PATH": str(tmp_path),
        "CLAIMBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path}/serve.db",
        **(settings or {}),
    }
    _cli(env, "db", "upgrade")
    merchant = json.loads(_cli(env, "merchants", "create", merchant_name, "--json"))
    creds = json.loads(
        _cli(env, "clients", "create", "--merchant", str(merchant["id"]), "--scopes", scopes, "--json")
    )
    port = _free_port()
    log = tmp_path / "gunicorn.log"
    with log.open("w") as log_file:
        server = subprocess.Popen(
            [str(BIN / "claimbridge"), "serve", "--port", str(port), *serve_args],
            env=env,
            cwd=ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(base + "/healthz", server, log)
            token = requests.post(
                base + "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(creds["client_id"], creds["client_secret"]),
                timeout=5,
            ).json()["access_token"]
            yield base, port, {"Authorization": f"Bearer {token}"}
        finally:
            server.terminate()
            server.wait(timeout=30)


def test_claimbridge_serve_runs_gunicorn_with_the_token_flow_on_a_fresh_database(tmp_path):
    with serving(tmp_path, "Gunicorn GmbH", "--workers", "1") as (base, _, headers):
        assert requests.get(base + "/healthz", timeout=5).json()["database"] == "ok"
        me = requests.get(base + "/api/v1/merchant", headers=headers, timeout=5)
        assert me.json()["name"] == "Gunicorn GmbH"
        assert requests.get(base + "/api/v1/merchant", timeout=5).status_code == 401


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A fresh database, a risk:check client and `claimbridge serve` with its default two workers."""
    with serving(tmp_path_factory.mktemp("served"), "Langsam GmbH") as running:
        yield running


CHECK = {
    "amount": "49.90",
    "currency": "EUR",
    "payment_methods": ["invoice", "paypal"],
    "buyer": {"email": "anna.schmidt@web.de", "first_name": "Anna", "last_name": "Schmidt"},
    "billing_address": {
        "street": "Unter den Linden",
        "house_number": "5",
        "postal_code": "10117",
        "city": "Berlin",
        "country": "DE",
    },
}


def test_slow_clients_holding_half_a_header_do_not_stop_checkouts(served):
    """Many more slow sockets than workers (issue 18.1: three stopped both sync workers for 30 s)."""
    base, port, headers = served
    slow = []
    try:
        for _ in range(50):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"POST /api/v1/risk-checks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl")
            slow.append(sock)
        time.sleep(0.5)  # let the workers pick the slow connections up
        started = time.monotonic()
        for _ in range(5):
            response = requests.post(base + "/api/v1/risk-checks", json=CHECK, headers=headers, timeout=5)
            assert response.status_code == 201, response.text
        assert time.monotonic() - started < 5
    finally:
        for sock in slow:
            sock.close()


def _chunked(port: int, headers: dict[str, str], chunks: list[bytes]) -> tuple[int, bytes]:
    """POST a chunked JSON body over a raw socket (requests cannot send a body of known content chunked)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        head = (
            "POST /api/v1/risk-checks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Authorization: {headers['Authorization']}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(head.encode())
        try:
            for chunk in chunks:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before the whole body is sent
        answer = b""
        while data := sock.recv(65536):
            answer += data
    status = int(answer.split(b" ", 2)[1])
    return status, answer.partition(b"\r\n\r\n")[2]


def test_chunked_bodies_over_the_limit_are_413_and_never_cut_to_fit(served):
    _, port, headers = served
    body = json.dumps(CHECK).encode()
    assert _chunked(port, headers, [body[:20], body[20:]])[0] == 201
    # Valid JSON, then spaces up to just over 1 MiB, then garbage: was cut at 1 MiB and accepted (201).
    # (Just over, so the server has read everything when it answers, and the answer is not lost to a reset.)
    spaces = b" " * (1024 * 1024 - len(body))
    assert _chunked(port, headers, [body, spaces[:500_000], spaces[500_000:], b"garbage"])[0] == 413
    # Under the limit, trailing garbage is malformed JSON.
    assert _chunked(port, headers, [body, b" garbage"])[0] == 400


def _risk_checks_counted(base: str) -> float:
    """Scrape /metrics on a new connection and return how many risk checks were answered 201."""
    from prometheus_client.parser import text_string_to_metric_families

    text = requests.get(base + "/metrics", headers={"Connection": "close"}, timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "claimbridge_http_request_duration_seconds_count"
        and sample.labels == {"endpoint": "risk.create_risk_check", "method": "POST", "status": "201"}
    )


def test_metrics_add_up_every_gunicorn_worker(served):
    base, _, headers = served
    before = _risk_checks_counted(base)
    for _ in range(20):  # each on its own connection, so both workers answer some
        response = requests.post(
            base + "/api/v1/risk-checks", json=CHECK, headers={**headers, "Connection": "close"}, timeout=10
        )
        assert response.status_code == 201
    # Whichever worker answers a scrape, it reports the checks both workers answered.
    assert [_risk_checks_counted(base) - before for _ in range(6)] == [20] * 6
