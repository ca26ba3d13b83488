"""PostgreSQL stopped and started under a running `claimbridge serve` (two gevent workers) and `claimbridge worker`.

What must hold afterwards:
- while the database is away, the API answers 503 with Retry-After (never 500, never a hang) and stores nothing;
- the worker process survives the outage and runs its jobs again once the database is back;
- every check answered 201 is stored exactly once, none answered 503 is stored, nothing is duplicated.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import requests

from tests.faults.private_postgres import PrivatePostgres, free_port
from tests.risk.conftest import CLEAN_PAYLOAD

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    server.start()
    yield server
    server.destroy()


def _cli(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [str(BIN / "claimbridge"), *args], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def _check(base: str, headers: dict[str, str], reference: str) -> requests.Response:
    payload = copy.deepcopy(CLEAN_PAYLOAD)
    payload["reference"] = reference
    return requests.post(f"{base}/api/v1/risk-checks", json=payload, headers=headers, timeout=15)


def _wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_database_restart_under_running_web_and_worker(postgres, tmp_path):
    env = {
        **os.environ,
        "CLAIMBRIDGE_INSTANCE_PATH": str(tmp_path),
        "CLAIMBRIDGE_DATABASE_URL": postgres.sqlalchemy_url,
        "CLAIMBRIDGE_WORKER_INTERVAL": "1",
    }
    _cli(env, "db", "upgrade")
    merchant = json.loads(_cli(env, "merchants", "create", "Ausfall GmbH", "--json"))
    creds = json.loads(
        _cli(env, "clients", "create", "--merchant", str(merchant["id"]), "--scopes", "risk:check", "--json")
    )
    port = free_port()
    log = (tmp_path / "processes.log").open("w")
    web = subprocess.Popen(
        [str(BIN / "claimbridge"), "serve", "--port", str(port)], env=env, cwd=ROOT, stdout=log, stderr=log
    )
    worker = subprocess.Popen([str(BIN / "claimbridge"), "worker"], env=env, cwd=ROOT, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: _healthy(base), 240, "the web server")
        token = requests.post(
            f"{base}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(creds["client_id"], creds["client_secret"]),
            timeout=10,
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        before = [_check(base, headers, f"before-{n}").status_code for n in range(5)]
        assert before == [201] * 5

        postgres.stop()
        during = [_check(base, headers, f"during-{n}") for n in range(5)]
        assert [r.status_code for r in during] == [503] * 5
        assert all(r.json()["error"] == "database_unavailable" and r.headers["Retry-After"] for r in during)
        assert requests.get(f"{base}/healthz", timeout=10).status_code == 503
        time.sleep(3)  # several worker rounds against a database that is not there
        assert worker.poll() is None, "the worker died with the database"

        restarted_at = datetime.now(UTC)
        postgres.start()
        _wait_for(lambda: _healthy(base), 60, "the API to answer again")
        after = [_check(base, headers, f"after-{n}").status_code for n in range(5)]
        assert after == [201] * 5
        _wait_for(
            lambda: _jobs_finished_since(postgres.url, restarted_at), 90, "the worker to run jobs again"
        )
        assert worker.poll() is None

        with psycopg.connect(postgres.url) as connection:
            stored = dict(
                connection.execute(
                    "SELECT reference, count(*) FROM risk_checks GROUP BY reference"
                ).fetchall()
            )
        assert stored == {**{f"before-{n}": 1 for n in range(5)}, **{f"after-{n}": 1 for n in range(5)}}
    finally:
        for process in (web, worker):
            process.terminate()
            process.wait(timeout=30)
        log.close()


def _healthy(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def _jobs_finished_since(url: str, moment: datetime) -> bool:
    try:
        with psycopg.connect(url) as connection:
            return bool(
                connection.execute(
                    "SELECT count(*) FROM job_leases WHERE last_finished_at > %s", (moment,)
                ).fetchone()[0]
            )
    except psycopg.OperationalError:
        return False
