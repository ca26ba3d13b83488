import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from backend import worker
from backend.config import ConfigError, load_config
from backend.extensions import utcnow
from backend.jobs import periodic_jobs
from backend.worker import LEASE, Job, JobLease, run_due_jobs
from tests.conftest import make_app

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture
def jobs(app):
    return periodic_jobs(app.config)


class TestRunDueJobs:
    def test_runs_each_job_once_per_interval(self, app, db, jobs):
        first = run_due_jobs(jobs)
        assert first["purge-expired-tokens"].isdigit()
        assert "purge-expired-tokens" not in run_due_jobs(jobs)
        later = utcnow() + timedelta(hours=1, seconds=1)
        assert "purge-expired-tokens" in run_due_jobs(jobs, now=later)

    def test_skips_a_job_another_worker_holds(self, app, db, jobs):
        run_due_jobs(jobs)
        db.session.execute(
            sa.update(JobLease).values(
                next_run_at=utcnow() - timedelta(minutes=1), leased_until=utcnow() + timedelta(minutes=5)
            )
        )
        db.session.commit()
        assert "purge-expired-tokens" not in run_due_jobs(jobs)

    def test_failed_job_is_reported_and_retried_next_interval(self, app, db):
        def explode():
            raise RuntimeError("boom")

        assert run_due_jobs({"explode": Job(name="explode", interval=timedelta(minutes=5), run=explode)}) == {
            "explode": "failed"
        }
        lease = db.session.get(JobLease, "explode")
        assert lease.leased_until is None
        assert lease.last_result == "failed"


class TestLeases:
    def test_no_job_holds_its_lease_longer_than_a_minute_without_a_heartbeat(self, app, jobs):
        assert {name: job.lease for name, job in jobs.items() if job.lease > LEASE} == {}

    def test_a_running_job_keeps_renewing_its_lease(self, app, db):
        seen = []

        def slow():
            deadline = time.monotonic() + 1.5
            while time.monotonic() < deadline:
                time.sleep(0.1)
                with db.engine.connect() as connection:  # what another worker would read
                    seen.append(connection.scalar(sa.select(JobLease.leased_until).filter_by(name="slow")))

        lease = timedelta(seconds=0.6)
        slow_job = Job(name="slow", interval=timedelta(hours=1), run=slow, lease=lease)
        assert run_due_jobs({"slow": slow_job})["slow"] == "ok"
        renewals = sorted({value for value in seen if value is not None})
        assert len(renewals) >= 3  # claimed once, then renewed every 0.2 s while it ran
        assert renewals[-1] > renewals[0] + timedelta(seconds=0.8)  # beyond the first lease: no takeover
        assert db.session.get(JobLease, "slow").leased_until is None


class TestDatabaseOutage:
    UNREACHABLE = "postgresql://nobody@127.0.0.1:1/none"

    def test_the_worker_loop_outlives_a_database_outage(self, tmp_path, monkeypatch):
        app = make_app(self.UNREACHABLE, tmp_path)
        rounds = []
        real = worker.run_due_jobs

        def counted(jobs):
            rounds.append(True)
            return real(jobs)

        monkeypatch.setattr(worker, "run_due_jobs", counted)
        jobs = periodic_jobs(app.config)
        worker.run_forever(app, jobs, interval=0.01, stop=lambda: len(rounds) >= 3)
        assert len(rounds) == 3  # every round failed on the database, and the loop went on

    def test_the_api_answers_503_with_retry_after_while_the_database_is_away(self, tmp_path):
        app = make_app(self.UNREACHABLE, tmp_path)
        response = app.test_client().get("/api/v1/merchant", headers={"Authorization": "Bearer abc"})
        assert response.status_code == 503
        assert response.get_json()["error"] == "database_unavailable"
        assert response.headers["Retry-After"] == "5"


class TestSchedule:
    def test_intervals_come_from_the_configuration(self, tmp_path):
        environ = {
            "CLAIMBRIDGE_RECONCILE_INTERVAL": "120",
            "CLAIMBRIDGE_HANDOVER_JOB_SECONDS": "5",
            "CLAIMBRIDGE_HANDOVER_LEASE_SECONDS": "20",
        }
        jobs = periodic_jobs(load_config(tmp_path, environ).to_flask())
        assert jobs["orders-reconcile"].interval == timedelta(minutes=2)
        assert jobs["handovers-submit"].interval == timedelta(seconds=5)
        assert jobs["handovers-submit"].lease == timedelta(seconds=20)

    def test_reconcile_interval_below_a_minute_stops_the_start(self, tmp_path):
        with pytest.raises(ConfigError, match="RECONCILE_INTERVAL='5': must be at least 60"):
            load_config(tmp_path, {"CLAIMBRIDGE_RECONCILE_INTERVAL": "5"})

    def test_every_duty_the_readme_lists_is_a_registered_job(self, jobs):
        section = (
            README.read_text(encoding="utf-8").split("### What the worker does", 1)[1].split("\n## ", 1)[0]
        )
        promised = re.findall(r"^\| `([a-z-]+)` \|", section, flags=re.MULTILINE)
        assert promised, "README lost its table of the worker's duties"
        assert sorted(promised) == sorted(jobs)

    def test_raw_checkout_data_is_purged_by_the_worker(self, app, db, jobs):
        from backend.risk.services import purge_raw_inputs

        assert jobs["risk-purge-raw-inputs"].run is purge_raw_inputs
        assert "risk-purge-raw-inputs" in run_due_jobs(jobs)
