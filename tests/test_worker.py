import time
from datetime import timedelta

import sqlalchemy as sa

from backend import worker
from backend.extensions import utcnow
from backend.worker import JOBS, LEASE, Job, JobLease, run_due_jobs
from tests.conftest import make_app


class TestRunDueJobs:
    def test_runs_each_job_once_per_interval(self, app, db):
        first = run_due_jobs()
        assert first["purge-expired-tokens"].isdigit()
        assert "purge-expired-tokens" not in run_due_jobs()
        later = utcnow() + timedelta(hours=1, seconds=1)
        assert "purge-expired-tokens" in run_due_jobs(now=later)

    def test_skips_a_job_another_worker_holds(self, app, db):
        run_due_jobs()
        db.session.execute(
            sa.update(JobLease).values(
                next_run_at=utcnow() - timedelta(minutes=1), leased_until=utcnow() + timedelta(minutes=5)
            )
        )
        db.session.commit()
        assert "purge-expired-tokens" not in run_due_jobs()

    def test_failed_job_is_reported_and_retried_next_interval(self, app, db, monkeypatch):
        def explode():
            raise RuntimeError("boom")

        monkeypatch.setitem(JOBS, "explode", Job(name="explode", interval=timedelta(minutes=5), run=explode))
        assert run_due_jobs()["explode"] == "failed"
        lease = db.session.get(JobLease, "explode")
        assert lease.leased_until is None
        assert lease.last_result == "failed"


class TestLeases:
    def test_no_job_holds_its_lease_longer_than_a_minute_without_a_heartbeat(self, app):
        import backend.jobs  # noqa: F401  (registers every area's jobs)

        assert {name: job.lease for name, job in JOBS.items() if job.lease > LEASE} == {}

    def test_a_running_job_keeps_renewing_its_lease(self, app, db, monkeypatch):
        seen = []

        def slow():
            deadline = time.monotonic() + 1.5
            while time.monotonic() < deadline:
                time.sleep(0.1)
                with db.engine.connect() as connection:  # what another worker would read
                    seen.append(connection.scalar(sa.select(JobLease.leased_until).filter_by(name="slow")))

        lease = timedelta(seconds=0.6)
        monkeypatch.setitem(
            JOBS, "slow", Job(name="slow", interval=timedelta(hours=1), run=slow, lease=lease)
        )
        assert run_due_jobs()["slow"] == "ok"
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

        def counted():
            rounds.append(True)
            return real()

        monkeypatch.setattr(worker, "run_due_jobs", counted)
        worker.run_forever(app, interval=0.01, stop=lambda: len(rounds) >= 3)
        assert len(rounds) == 3  # every round failed on the database, and the loop went on

    def test_the_api_answers_503_with_retry_after_while_the_database_is_away(self, tmp_path):
        app = make_app(self.UNREACHABLE, tmp_path)
        response = app.test_client().get("/api/v1/merchant", headers={"Authorization": "Bearer abc"})
        assert response.status_code == 503
        assert response.get_json()["error"] == "database_unavailable"
        assert response.headers["Retry-After"] == "5"
