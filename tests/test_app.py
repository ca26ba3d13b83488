"""The application class: Flask's behaviour, with per-request work done once."""

from __future__ import annotations

import functools

import pytest
from flask import Flask

from backend.app import ClaimBridgeFlask


class TestEnsureSync:
    """``ensure_sync`` answers as Flask's does and remembers its answer for each function."""

    def test_a_plain_function_is_returned_as_is_and_remembered(self, app):
        def hook() -> None:
            return None

        wrapped = functools.wraps(hook)(lambda: None)
        partial = functools.partial(hook)
        for function in (hook, wrapped, partial):
            assert app.ensure_sync(function) is function
            assert app.ensure_sync(function) is Flask.ensure_sync(app, function)
            assert app._synced[function] is function

    def test_a_coroutine_function_goes_through_flasks_async_to_sync(self, app):
        async def view() -> str:
            return "done"

        try:
            expected = Flask.ensure_sync(app, view)
        except RuntimeError as refused:  # Flask without its "async" extra (asgiref) refuses async views
            for _ in range(2):
                with pytest.raises(RuntimeError, match=str(refused)):
                    app.ensure_sync(view)
            return
        assert app.ensure_sync(view)() == expected() == "done"

    def test_functions_past_the_limit_are_answered_but_not_remembered(self, app, monkeypatch):
        monkeypatch.setattr(app, "_synced", {})
        monkeypatch.setattr(ClaimBridgeFlask, "_SYNCED_LIMIT", 2)
        functions = [functools.partial(int, n) for n in range(3)]
        assert [app.ensure_sync(function) for function in functions] == functions
        assert list(app._synced) == functions[:2]

    def test_requests_run_their_hooks_and_views_through_it(self, client, app):
        assert client.get("/healthz").status_code == 200
        assert app.view_functions["health.healthz"] in app._synced
