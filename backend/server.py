"""Run the app under gunicorn from the ``claimbridge serve`` command."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


class _GunicornApp(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        from pathlib import Path

        conf = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"
        if conf.exists():
            self.load_config_from_file(str(conf))
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from backend import create_app

        return create_app()


def run_gunicorn(*, bind: str, workers: int) -> None:
    """Serve the app with gunicorn in the foreground."""
    _GunicornApp({"bind": bind, "workers": workers}).run()
