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

    def test_an_unhashable_callable_is_answered_without_being_remembered(self, app):
        class Hook:
            __hash__ = None  # as a dataclass with eq=True makes it

            def __call__(self) -> None:
                return None

        hook = Hook()
        assert app.ensure_sync(hook) is Flask.ensure_sync(app, hook) is hook
        assert all(function is not hook for function in app._synced)

    def test_a_coroutine_function_is_wrapped_once(self, app, monkeypatch):
        wrapped = []
        monkeypatch.setattr(app, "async_to_sync", lambda func: wrapped.append(func) or (lambda: "done"))

        async def view() -> str:
            return "done"

        first, second = app.ensure_sync(view), app.ensure_sync(view)
        assert first is second and first() == "done"
        assert wrapped == [view]

    def test_functions_past_the_limit_are_answered_but_not_remembered(self, app, monkeypatch):
        monkeypatch.setattr(app, "_synced", {})
        monkeypatch.setattr(ClaimBridgeFlask, "_SYNCED_LIMIT", 2)
        functions = [functools.partial(int, n) for n in range(3)]
        assert [app.ensure_sync(function) for function in functions] == functions
        assert list(app._synced) == functions[:2]

    def test_requests_run_their_hooks_and_views_through_it(self, client, app):
        assert client.get("/healthz").status_code == 200
        assert app.view_functions["health.healthz"] in app._synced
