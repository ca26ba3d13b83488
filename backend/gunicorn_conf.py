"""gunicorn settings for `web:` in the Procfile and `claimbridge serve` (`--config backend/gunicorn_conf.py`).

Workers are gevent workers: each connection is a greenlet, so clients that send their request slowly (or
never finish their headers) cost a few kilobytes each instead of a whole worker. With the sync worker, three
connections sending half a header stopped every checkout until the 30 s timeout. A waiting outbound call (a
credit bureau, a shop's Admin API) no longer blocks the worker either. No buffering proxy is needed in front.
"""

import gc
import os
import tempfile
from pathlib import Path
from typing import Any

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:" + os.environ.get("PORT", "5000"))
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
worker_class = "gevent"
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "1000"))
timeout = 30
graceful_timeout = 20
keepalive = 5
# Bound what one slow request may hold: header lines and fields as gunicorn's defaults, stated here.
limit_request_line = 8190
limit_request_fields = 100
accesslog = None  # the app logs one line per request itself, with request id and merchant
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn 25+ opens a control socket at one fixed path per user ($HOME/.gunicorn/gunicorn.ctl): every
# gunicorn on the machine (other deployments, tests running side by side) would fight over it. Nothing here uses
# gunicornc, so it is off.
control_socket_disable = True

# /metrics adds up every worker's counters through files in one directory (prometheus_client's multiprocess
# mode). It must be named before a worker imports prometheus_client, so here, in the master; a directory the
# operator names is emptied at start, since counts of an earlier run would be added to this one's.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="claimbridge-metrics-")


def on_starting(server: object) -> None:
    """Empty the metrics directory before the first worker starts."""
    for stale in Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
        stale.unlink()


def post_worker_init(worker: Any) -> None:
    """Move the loaded app's objects out of the garbage collector's way (``gc.freeze``).

    The app holds some 225,000 long-lived objects (modules, the postcode and e-mail tables, SQLAlchemy's
    metadata); each full collection walked them all again, about 120 ms of CPU in which the worker answered
    nothing. Frozen, they are never collected (they live as long as the worker anyway); full collections then
    walk only what requests created since. First the worker's SQLite checkpoints leave its requests' commits
    (backend/sqlite_checkpoints.py).
    """
    from backend.sqlite_checkpoints import checkpoint_in_background

    checkpoint_in_background(worker.wsgi)
    gc.collect()
    gc.freeze()
