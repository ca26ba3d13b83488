"""Run the app under gunicorn from the ``claimbridge serve`` command, exactly as the Procfile does."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# A file path, not ``python:backend.gunicorn_conf``: importing the module would import the backend package (and
# ssl with it) in the master before the gevent workers monkey-patch.
GUNICORN_CONFIG = str(Path(__file__).with_name("gunicorn_conf.py"))


def gunicorn_command(*, bind: str, workers: int) -> list[str]:
    """Return the gunicorn command line serving ``backend:create_app()``."""
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    return [
        gunicorn,
        "--config",
        GUNICORN_CONFIG,
        "--bind",
        bind,
        "--workers",
        str(workers),
        "backend:create_app()",
    ]


def run_gunicorn(*, bind: str, workers: int) -> None:
    """Replace this process with gunicorn serving the app."""
    command = gunicorn_command(bind=bind, workers=workers)
    os.execv(command[0], command)  # noqa: S606 - a fixed argument list, no shell involved
