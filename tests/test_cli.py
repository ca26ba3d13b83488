import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo

from backend.cli import AREA_COMMANDS, main
from backend.handovers.models import Handover


class TestMerchantsAndClients:
    def test_create_merchant_then_client_then_token(self, run, client):
        created = run("merchants", "create", "Kaffee Rösterei", "--json")
        merchant_id = json.loads(created.output)["id"]
        listed = json.loads(run("merchants", "list", "--json").output)
        assert [m["name"] for m in listed] == ["Kaffee Rösterei"]

        result = run(
            "clients",
            "create",
            "--merchant",
            str(merchant_id),
            "--scopes",
            "risk:check orders:write",
            "--json",
        )
        creds = json.loads(result.output)
        response = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(creds["client_id"], creds["client_secret"]),
        )
        assert response.status_code == 200

        listing = run("clients", "list")
        assert creds["client_id"] in listing.output
        assert creds["client_secret"] not in listing.output

        assert run("clients", "revoke", creds["client_id"]).exit_code == 0
        again = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(creds["client_id"], creds["client_secret"]),
        )
        assert again.status_code == 401

    def test_unknown_scope_is_a_clear_error(self, run, merchant):
        result = run("clients", "create", "--merchant", str(merchant.id), "--scopes", "risk:check admin")
        assert result.exit_code != 0
        assert "unknown scope(s): admin" in result.output

    def test_unknown_merchant_is_a_clear_error(self, run):
        result = run("clients", "create", "--merchant", "999", "--scopes", "risk:check")
        assert result.exit_code != 0
        assert "merchant 999 does not exist" in result.output


class TestDemo:
    def test_demo_prints_working_credentials_and_curl(self, run, client):
        result = run("demo")
        assert "curl" in result.output
        data = json.loads(run("demo", "--json").output)
        token = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(data["client_id"], data["client_secret"]),
        ).get_json()["access_token"]
        body = client.get("/api/v1/connections", headers={"Authorization": f"Bearer {token}"}).get_json()
        assert body[0]["name"] == "Demo accounting export"

    def test_demo_ends_with_a_lawful_proposal_a_newcomer_can_approve(self, run, db):
        # Offline and without the current half-year's base rate: the proposal claims no interest for days
        # without a known rate (never a guessed one), no fee on e-mails or recorded notices, and approving
        # it hands it over.
        result = run("demo")
        (line,) = [line for line in result.output.splitlines() if "claimbridge handovers approve" in line]
        handover_id = line.split()[3]
        data = json.loads(run("demo", "--json").output)
        (proposed,) = [r for r in data["receivables"] if r["handover"] == "proposed"]
        assert proposed["number"] == "DEMO-1003" and "fees 0.00" in proposed["claim"]
        approved = run("handovers", "approve", handover_id, "--by", "newcomer@example.com")
        assert approved.exit_code == 0, approved.output
        submitted = run("handovers", "run")
        assert "1 submitted" in submitted.output
        frozen = db.session.get(Handover, int(handover_id)).breakdown
        assert Decimal(frozen["total"]) == Decimal(frozen["principal"]) + Decimal(frozen["interest"])


class TestWorkerCommand:
    def test_once_runs_due_jobs_and_exits(self, run):
        result = run("worker", "--once")
        assert result.exit_code == 0
        assert "purge-expired-tokens:" in result.output


class TestConfigCommand:
    def test_markdown_table_lists_every_setting(self, run):
        output = run("config", "--markdown").output
        assert "`CLAIMBRIDGE_DATABASE_URL`" in output
        assert "`CLAIMBRIDGE_ENCRYPTION_KEY`" in output

    def test_readme_shows_the_table_as_generated(self, run):
        table = run("config", "--markdown").output.strip()
        assert table in (Path(__file__).resolve().parents[1] / "README.md").read_text()


class TestCommandLoading:
    """``claimbridge`` builds its app from the environment: without views for its own commands."""

    @pytest.fixture
    def invoke(self, tmp_path, monkeypatch):
        monkeypatch.setenv("CLAIMBRIDGE_ENV", "testing")
        monkeypatch.setenv("CLAIMBRIDGE_DATABASE_URL", f"sqlite:///{tmp_path}/claimbridge.db")
        monkeypatch.setenv("CLAIMBRIDGE_INSTANCE_PATH", str(tmp_path))
        monkeypatch.setenv("CLAIMBRIDGE_SHOPWARE_APP_SECRET", "s" * 32)

        def invoke(*args):
            info = ScriptInfo(create_app=main.create_app)
            result = CliRunner().invoke(main, list(args), obj=info, catch_exceptions=False)
            assert result.exit_code == 0, result.output
            return result, info.load_app()

        return invoke

    def test_help_lists_every_command_with_its_help_in_the_whole_app(self, invoke):
        result, app = invoke("--help")
        listed = {
            line.split()[0]: line for line in result.output.partition("Commands:")[2].splitlines() if line
        }
        assert set(AREA_COMMANDS) | set(main.commands) | {"db", "openapi"} <= set(listed)
        assert "Bank statements (camt.053, MT940) that settle receivables." in listed["statements"]
        assert "Run the periodic jobs" in listed["worker"]
        assert "health" in app.blueprints

    @pytest.mark.parametrize("name", sorted(AREA_COMMANDS))
    def test_each_area_command_is_found_by_its_name(self, name):
        assert main.get_command(main.make_context("claimbridge", [name, "--help"]), name).name == name

    def test_an_own_command_runs_in_an_app_without_views(self, invoke):
        result, app = invoke("shopware", "manifest")
        assert "<registrationUrl>" in result.output
        assert "health" not in app.blueprints and "migrate" not in app.extensions

    def test_an_extension_command_gets_the_whole_app(self, invoke):
        result, app = invoke("openapi", "print")
        assert "/api/v1/risk-checks" in json.loads(result.output)["paths"]
        assert "health" in app.blueprints
