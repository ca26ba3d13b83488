from datetime import timedelta

import sqlalchemy as sa

from backend.extensions import utcnow
from backend.worker import JOBS, Job, JobLease, run_due_jobs


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
