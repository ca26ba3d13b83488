"""Helpers for tests that run `claimbridge worker` processes against the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask

from backend.extensions import db

CLAIMBRIDGE = str(Path(sys.executable).with_name("claimbridge"))
DEADLINE = 90.0


def wait_for(condition: Callable[[], bool], what: str, deadline: float = DEADLINE) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        db.session.rollback()  # see other processes' commits
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@contextmanager
def worker_processes(app: Flask) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Yield a function that starts a `claimbridge worker` on the test database (leases of 4 s); stop them after."""
    environ = {
        **os.environ,
        "CLAIMBRIDGE_ENV": "testing",
        "CLAIMBRIDGE_DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "CLAIMBRIDGE_INSTANCE_PATH": app.instance_path,
        "CLAIMBRIDGE_ALLOW_PRIVATE_URLS": "true",
        "CLAIMBRIDGE_PUBLIC_URL": "http://127.0.0.1:5000",
        "CLAIMBRIDGE_HANDOVER_LEASE_SECONDS": "4",
        "CLAIMBRIDGE_HANDOVER_JOB_SECONDS": "1",
    }
    processes: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [CLAIMBRIDGE, "worker", "--interval", "0.2"],
            env=environ,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.append(process)
        return process

    try:
        yield start
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
