"""The console's static files: the vendored htmx is the published file, and nothing loads from elsewhere."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "backend" / "console" / "static"


def test_vendored_files_are_the_files_their_notes_name():
    note = (STATIC / "VENDORED.txt").read_text(encoding="utf-8")
    recorded = dict(re.findall(r"^(\S+\.js) — .*?File sha256: ([0-9a-f]{64})", note, flags=re.M | re.S))
    assert set(recorded) == {"htmx.min.js", "meteor-admin-sdk.js"}
    for name, digest in recorded.items():
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == digest, name


def test_static_files_are_served_with_the_console(client):
    for name in ("htmx.min.js", "meteor-admin-sdk.js", "console.js", "console.css"):
        response = client.get(f"/console/static/{name}")
        assert response.status_code == 200, name
        response.close()


def test_pages_load_nothing_from_other_hosts():
    templates = Path(__file__).resolve().parents[2] / "backend" / "templates" / "console"
    for template in templates.glob("*.html"):
        assert not re.search(r"""(src|href)=["']https?://""", template.read_text(encoding="utf-8")), template
