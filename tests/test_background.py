"""BackgroundJob: one job at a time in a thread of its own, or at once where not threaded."""

from __future__ import annotations

import threading
import time

import pytest

from backend.background import BackgroundJob


def _where() -> int:
    return threading.get_ident()


def test_threaded_a_job_runs_in_another_thread_while_the_caller_goes_on() -> None:
    started = threading.Event()
    release = threading.Event()

    def job() -> int:
        started.set()
        release.wait(5)
        return threading.get_ident()

    with BackgroundJob[int](threaded=True, name="test-job") as background:
        background.start(job)
        assert started.wait(5)  # the caller is here while the job still runs
        release.set()
        ran_in = background.wait()

    assert ran_in is not None and ran_in != threading.get_ident()


def test_not_threaded_a_job_runs_at_start_in_the_caller() -> None:
    with BackgroundJob[int](threaded=False, name="test-job") as background:
        background.start(_where)
        assert background.wait() == threading.get_ident()
        assert background.wait() is None  # nothing started since


def test_a_job_is_started_only_after_the_one_before_was_waited_for() -> None:
    with BackgroundJob[int](threaded=True, name="test-job") as background:
        background.start(_where)
        with pytest.raises(RuntimeError, match="still running"):
            background.start(_where)
        background.wait()
        background.start(_where)
        assert background.wait() is not None


def _failing() -> int:
    raise ValueError("job failed")


def test_threaded_a_jobs_error_reaches_the_caller_at_wait() -> None:
    with BackgroundJob[int](threaded=True, name="test-job") as background:
        background.start(_failing)
        with pytest.raises(ValueError, match="job failed"):
            background.wait()


def test_not_threaded_a_jobs_error_reaches_the_caller_at_start() -> None:
    with BackgroundJob[int](threaded=False, name="test-job") as background:
        with pytest.raises(ValueError, match="job failed"):
            background.start(_failing)
        assert background.wait() is None


def test_leaving_on_an_error_waits_for_the_running_job_and_leaves_no_thread() -> None:
    finished = []

    def slow() -> int:
        time.sleep(0.2)  # still running when the caller fails: leaving must wait for it, not drop it
        finished.append(True)
        return 1

    with pytest.raises(KeyError), BackgroundJob[int](threaded=True, name="test-job-exit") as background:
        background.start(slow)
        raise KeyError("the caller failed")

    assert finished == [True]
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("test-job-exit")]
