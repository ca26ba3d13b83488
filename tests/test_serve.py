"""End to end through the real production path: CLI subprocesses and `claimbridge serve` (gunicorn) over HTTP."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def env(tmp_path):
    return {
        **os.environ,
        "CLAIMBRIDGE_INSTANCE_PATH": str(tmp_path),
        "CLAIMBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path}/serve.db",
    }


def _cli(env, *args) -> str:
    result = subprocess.run(
        [str(BIN / "claimbridge"), *args], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    return result.stdout


def _wait_until_up(url: str, process: subprocess.Popen, log: Path, deadline: float = 30.0) -> None:
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


def test_claimbridge_serve_runs_gunicorn_with_the_token_flow_on_a_fresh_database(env, tmp_path):
    _cli(env, "db", "upgrade")
    merchant = json.loads(_cli(env, "merchants", "create", "Gunicorn GmbH", "--json"))
    creds = json.loads(
        _cli(env, "clients", "create", "--merchant", str(merchant["id"]), "--scopes", "risk:check", "--json")
    )
    port = _free_port()
    log = tmp_path / "gunicorn.log"
    log_file = log.open("w")
    server = subprocess.Popen(
        [str(BIN / "claimbridge"), "serve", "--port", str(port), "--workers", "1"],
        env=env,
        cwd=ROOT,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base + "/healthz", server, log)
        assert requests.get(base + "/healthz", timeout=5).json()["database"] == "ok"
        token = requests.post(
            base + "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(creds["client_id"], creds["client_secret"]),
            timeout=5,
        ).json()["access_token"]
        me = requests.get(base + "/api/v1/merchant", headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert me.json()["name"] == "Gunicorn GmbH"
        assert requests.get(base + "/api/v1/merchant", timeout=5).status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=20)
        log_file.close()
