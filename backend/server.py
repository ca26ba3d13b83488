"""Run the app under gunicorn from the ``claimbridge serve`` command, exactly as the Procfile does."""

from __future__ import annotations

import os
import sys
from pathlib import Path

GUNICORN_CONFIG = "python:backend.gunicorn_conf"


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
