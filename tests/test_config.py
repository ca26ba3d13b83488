import ast
import re
from pathlib import Path

import pytest

from backend.config import ENV_PREFIX, SETTINGS, ConfigError, load_config
from backend.sqlite_writers import QueuedWriterConnection


class TestLoadConfig:
    def test_development_generates_and_keeps_secrets(self, tmp_path):
        first = load_config(tmp_path, {})
        second = load_config(tmp_path, {})
        assert first.secret_key == second.secret_key
        assert first.encryption_keys == second.encryption_keys
        assert (tmp_path / "encryption_key").stat().st_mode & 0o077 == 0
        assert first.database_url == f"sqlite:///{tmp_path.as_posix()}/claimbridge.db"

    def test_production_requires_secrets_and_https(self, tmp_path):
        with pytest.raises(ConfigError) as error:
            load_config(
                tmp_path, {"CLAIMBRIDGE_ENV": "production", "CLAIMBRIDGE_PUBLIC_URL": "http://x.example"}
            )
        problems = "\n".join(error.value.problems)
        assert "CLAIMBRIDGE_SECRET_KEY is required" in problems
        assert "CLAIMBRIDGE_ENCRYPTION_KEY is required" in problems
        assert "CLAIMBRIDGE_IDENTITY_KEY is required" in problems
        assert "must use https" in problems
        assert not (tmp_path / "secret_key").exists()

    @pytest.mark.parametrize("years", ["1", "7"])
    def test_bank_transactions_are_kept_at_least_the_voucher_period(self, tmp_path, years):
        with pytest.raises(ConfigError) as error:
            load_config(tmp_path, {"CLAIMBRIDGE_BANK_TRANSACTION_RETENTION_YEARS": years})
        assert error.value.problems == [
            f"CLAIMBRIDGE_BANK_TRANSACTION_RETENTION_YEARS={years!r}: must be at least 8 (bank transactions are "
            "booking vouchers, kept 8 full years after the year booked, § 147(3) AO)"
        ]
        assert load_config(tmp_path, {"CLAIMBRIDGE_BANK_TRANSACTION_RETENTION_YEARS": "10"})

    def test_reports_every_bad_value_at_once(self, tmp_path):
        with pytest.raises(ConfigError) as error:
            load_config(
                tmp_path,
                {
                    "CLAIMBRIDGE_ENCRYPTION_KEY": "short",
                    "CLAIMBRIDGE_ALLOW_PRIVATE_URLS": "maybe",
                    "CLAIMBRIDGE_TOKEN_LIFETIME": "ten",
                    "CLAIMBRIDGE_DATABASE_URL": "mysql://x",
                    "CLAIMBRIDGE_LOG_FORMAT": "xml",
                    "CLAIMBRIDGE_PROXY_COUNT": "-1",
                },
            )
        assert len(error.value.problems) == 6

    def test_normalises_postgres_urls_to_psycopg3(self, tmp_path):
        config = load_config(tmp_path, {"CLAIMBRIDGE_DATABASE_URL": "postgres://u@db/claims"})
        assert config.database_url == "postgresql+psycopg://u@db/claims"

    def test_postgresql_keeps_a_pool_as_large_as_a_worker_serves_at_once(self, tmp_path):
        postgres = {"CLAIMBRIDGE_DATABASE_URL": "postgresql://u@db/claims"}
        options = load_config(tmp_path, postgres).to_flask()["SQLALCHEMY_ENGINE_OPTIONS"]
        assert options == {"pool_size": 20}  # SQLAlchemy's 5 made a gevent worker reconnect per request
        sized = load_config(tmp_path, {**postgres, "CLAIMBRIDGE_DATABASE_POOL_SIZE": "8"}).to_flask()
        assert sized["SQLALCHEMY_ENGINE_OPTIONS"]["pool_size"] == 8
        with pytest.raises(ConfigError) as error:
            load_config(tmp_path, {**postgres, "CLAIMBRIDGE_DATABASE_POOL_SIZE": "0"})
        assert error.value.problems == ["CLAIMBRIDGE_DATABASE_POOL_SIZE='0': must be at least 1"]

    def test_sqlite_keeps_a_pool_as_large_as_a_worker_serves_at_once(self, tmp_path):
        options = load_config(tmp_path, {}).to_flask()["SQLALCHEMY_ENGINE_OPTIONS"]
        # SQLAlchemy's 5: connections opened per request met SQLITE_BUSY and slept in SQLite's busy handler.
        assert options["pool_size"] == 20
        assert options["connect_args"]["factory"] is QueuedWriterConnection

    def test_accepts_rotated_encryption_keys(self, tmp_path):
        from cryptography.fernet import Fernet

        keys = [Fernet.generate_key().decode() for _ in range(2)]
        config = load_config(tmp_path, {"CLAIMBRIDGE_ENCRYPTION_KEY": ",".join(keys)})
        assert config.encryption_keys == keys


class TestSettingsLiveInConfig:
    """Every ``CLAIMBRIDGE_*`` variable the product reads is validated by ``backend/config.py`` and documented."""

    ROOT = Path(__file__).resolve().parent.parent

    def environment_reads(self) -> list[tuple[str, str]]:
        """Return (file, variable) for each literal ``CLAIMBRIDGE_*`` name read from the environment."""
        reads = []
        for path in sorted(
            [*(self.ROOT / "backend").rglob("*.py"), *(self.ROOT / "connectors").rglob("*.py")]
        ):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and _reads_environment(node.func) and node.args:
                    key = node.args[0]
                elif isinstance(node, ast.Subscript) and _is_environ(node.value):
                    key = node.slice
                else:
                    continue
                if isinstance(key, ast.Constant) and str(key.value).startswith(ENV_PREFIX):
                    reads.append((path.relative_to(self.ROOT).as_posix(), key.value))
        return reads

    def test_only_config_reads_the_environment(self):
        outside = [(path, name) for path, name in self.environment_reads() if path != "backend/config.py"]
        assert outside == []

    def test_the_check_sees_a_stray_read(self):
        tree = ast.parse('import os\nos.environ.get("CLAIMBRIDGE_X", "1")\nos.getenv("CLAIMBRIDGE_Y")')
        calls = [
            node for node in ast.walk(tree) if isinstance(node, ast.Call) and _reads_environment(node.func)
        ]
        assert [call.args[0].value for call in calls] == ["CLAIMBRIDGE_X", "CLAIMBRIDGE_Y"]

    def test_every_setting_read_is_in_the_readme_table(self):
        readme = (self.ROOT / "README.md").read_text(encoding="utf-8")
        documented = set(re.findall(r"^\| `(CLAIMBRIDGE_[A-Z0-9_]+)` \|", readme, flags=re.MULTILINE))
        listed = {ENV_PREFIX + setting.name for setting in SETTINGS}
        read = {name for _, name in self.environment_reads()}
        assert listed <= documented
        assert read <= listed


def _is_environ(node: ast.expr) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id in ("environ", "env_vars")
    )


def _reads_environment(func: ast.expr) -> bool:
    if isinstance(func, ast.Attribute) and func.attr == "getenv":
        return True
    return (
        isinstance(func, ast.Attribute)
        and func.attr in ("get", "pop", "setdefault")
        and _is_environ(func.value)
    )
